// The webcast console's WebRTC part of each room card: publish from OBS (the WHIP address and
// a publish token, shown once) or from this laptop (the go-live page), and whether viewers,
// not only staff, may watch over WebRTC.
import { api, config, el, errorText, notify } from './common.js';
import { t } from './i18n.js';

export class PublishPanels {
  constructor(base) {
    this.base = base; // "/events/<slug>"
    this.entries = {}; // room id -> the organiser API's WebRTC entry
    this.parts = new Map(); // room id -> { token, viewers, state, newToken }
    this.refresh();
  }

  async refresh() {
    try {
      const status = await api('GET', `${this.base}/webrtc`);
      for (const entry of status.rooms) this.set(entry);
    } catch (error) {
      notify(errorText(error), 'error');
    }
  }

  set(entry) {
    this.entries[entry.room_id] = entry;
    const parts = this.parts.get(entry.room_id);
    if (!parts) return;
    parts.token.textContent = entry.token_set ? t('A publish token is set.') : t('No publish token yet.');
    parts.revoke.hidden = !entry.token_set;
    parts.viewers.checked = entry.viewers_allowed;
  }

  /** The section for one room's card. */
  section(room) {
    const p = `r${room.id}-webrtc`;
    const url = el('input', { id: `${p}-url`, readonly: true, class: 'token-value', spellcheck: 'false', value: `${window.location.origin}/whip/rooms/${room.id}` });
    const parts = {
      state: el('span', { class: 'badge badge--muted' }),
      token: el('span', { class: 'hint' }),
      revoke: el('button', { type: 'button', class: 'button button--quiet button--small button--danger', onclick: () => this.revoke(room) }, t('Revoke publish token')),
      viewers: el('input', { type: 'checkbox', id: `${p}-viewers`, 'aria-describedby': `${p}-viewers-hint`, onchange: (event) => this.allowViewers(room, event.target) }),
      newToken: el('div'),
    };
    this.parts.set(room.id, parts);
    const section = el('div', { class: 'publish-panel' },
      el('h3', {}, t('WebRTC (low delay)'), ' ', parts.state),
      el('p', {}, el('a', { class: 'button button--small', href: `/e/${encodeURIComponent(config.event_slug)}/golive/${room.id}` }, t('Go live from this laptop'),
        el('span', { class: 'visually-hidden', text: ' ' + t('in %(room)s', { room: room.name }) }))),
      el('details', { class: 'name-details' },
        el('summary', { text: t('Publish from OBS Studio') }),
        el('ol', { class: 'publish-panel__steps' },
          el('li', {}, t('In OBS, Settings → Stream: choose the service WHIP.')),
          el('li', {}, el('div', { class: 'form form--inline' },
            el('div', { class: 'field' }, el('label', { for: url.id, text: t('Server') }), url),
            el('button', { type: 'button', class: 'button', onclick: () => copy(url, t('Address copied.')) }, t('Copy address')))),
          el('li', {}, t('Bearer token: the room’s publish token. Podium shows it only once, when you create it.'), ' ', parts.token)),
        parts.newToken,
        el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'button button--small', onclick: () => this.create(room) }, t('Create publish token')),
          parts.revoke)),
      el('div', { class: 'field field--check' }, parts.viewers, el('label', { for: parts.viewers.id, text: t('Viewers may watch with low delay') })),
      el('p', { class: 'hint', id: `${p}-viewers-hint`, text: t('Staff can always watch. Otherwise viewers watch the room’s regular stream; past the watcher limit they do anyway.') }));
    if (this.entries[room.id]) this.set(this.entries[room.id]);
    this.update(room);
    return section;
  }

  /** Follow a room view: staff views carry `webrtc` while someone publishes. */
  update(room) {
    const parts = this.parts.get(room.id);
    if (!parts) return;
    parts.state.textContent = room.webrtc ? t('Publishing') : t('Not publishing');
    parts.state.className = `badge badge--${room.webrtc ? 'live' : 'muted'}`;
  }

  async create(room) {
    const entry = this.entries[room.id];
    if (entry && entry.token_set && !window.confirm(t('Replace the publish token of %(room)s? OBS must then use the new one.', { room: room.name }))) return;
    try {
      const created = await api('POST', `${this.base}/rooms/${room.id}/publish-token`);
      this.set(created);
      this.showToken(room, created.token);
    } catch (error) {
      notify(errorText(error), 'error');
    }
  }

  async revoke(room) {
    if (!window.confirm(t('Revoke the publish token of %(room)s? A stream already running goes on until it stops.', { room: room.name }))) return;
    try {
      this.set(await api('DELETE', `${this.base}/rooms/${room.id}/publish-token`));
      this.parts.get(room.id).newToken.replaceChildren();
      notify(t('Publish token revoked.'));
    } catch (error) {
      notify(errorText(error), 'error');
    }
  }

  async allowViewers(room, box) {
    try {
      this.set(await api('PUT', `${this.base}/rooms/${room.id}/webrtc`, { viewers_allowed: box.checked }));
      notify(box.checked
        ? t('Viewers of %(room)s may now watch with low delay.', { room: room.name })
        : t('Viewers of %(room)s watch the regular stream.', { room: room.name }));
    } catch (error) {
      box.checked = !box.checked;
      notify(errorText(error), 'error');
    }
  }

  /** The new token, shown this once, ready to copy. */
  showToken(room, token) {
    const parts = this.parts.get(room.id);
    const input = el('input', { id: `r${room.id}-whip-token`, readonly: true, class: 'token-value', spellcheck: 'false', value: token });
    const box = el('div', { class: 'notice notice--warn new-token', role: 'status' },
      el('p', {}, el('strong', { text: `${t('Copy this token now.')} ` }), t('It is shown only once; paste it into OBS as the Bearer token.')),
      el('div', { class: 'form--inline form' },
        el('div', { class: 'field' }, el('label', { for: input.id, text: t('Publish token for %(room)s', { room: room.name }) }), input),
        el('button', { type: 'button', class: 'button', onclick: () => copy(input, t('Token copied.')) }, t('Copy token')),
        el('button', { type: 'button', class: 'button button--quiet', onclick: () => box.remove() }, t('Done'))));
    parts.newToken.replaceChildren(box);
    input.focus();
    input.select();
  }
}

async function copy(input, done) {
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select(); // without a secure context there is no clipboard API: let the keyboard copy
    if (!document.execCommand('copy')) {
      notify(t('Press Ctrl+C (or ⌘C) to copy the selected text.'));
      return;
    }
  }
  notify(done);
}
