// The organiser's webcast console: per room its status, sources, switch, now playing, captions.
import { ApiError, announce, api, apiText, config, el, errorText, formatDateTime, formatTime, handleForm, notify, placeAfter } from './common.js';
import { t, tn } from './i18n.js';
import { PublishPanels } from './publish_panel.js';
import { StaffState } from './staff.js';
import { StaffRoomWatch } from './whep.js';

const STATUSES = {
  scheduled: t('Scheduled'),
  starting_soon: t('Starting soon'),
  live: t('Live'),
  // Translators: the badge shows this without the part in brackets.
  paused: t('Paused (technical difficulties)'),
  ended: t('Ended'),
};
const STATUS_BADGE = { scheduled: 'muted', starting_soon: 'pending', live: 'live', paused: 'pending', ended: 'answered' };
const ROLES = { primary: t('Primary'), backup: t('Backup'), audio: t('Audio only'), interpreter: t('Sign language') };
const KINDS = { hls: t('HLS stream (.m3u8)'), embed: t('YouTube or Vimeo'), audio: t('Audio stream'), webrtc: t('WebRTC (WHEP)') };
const HEALTH = { ok: [t('OK'), 'approved'], failing: [t('Failing'), 'rejected'], unknown: [t('Not checked'), 'muted'] };

const $ = (id) => document.getElementById(id);
const base = `/events/${encodeURIComponent(config.event_slug)}`;
const cards = new Map(); // room id -> card element
let tokens = [];

const store = new StaffState('/moderator', () => render());
const publishing = new PublishPanels(base);
const roomWatch = new StaffRoomWatch($('room-watch'));

function render() {
  if (!store.event) return;
  roomWatch.update(store.event, store.rooms);
  const list = $('room-cards');
  const wanted = store.event.rooms.map((r) => String(r.id));
  for (const [id, card] of cards) {
    if (!wanted.includes(id)) {
      card.remove();
      cards.delete(id);
    }
  }
  let previous = null;
  for (const id of wanted) {
    const room = store.rooms[id];
    if (!room) continue;
    if (!cards.has(id)) cards.set(id, buildCard(room));
    const card = cards.get(id);
    placeAfter(list, previous, card); // the agenda's room order; updates come every few seconds
    previous = card;
    updateCard(card, room);
  }
}

// --- one card per room: built once, its live parts updated in place ---------------------------

function field(id, label, control, hint) {
  control.id = id;
  return el('div', { class: 'field' }, el('label', { for: id, text: label }), control, hint ? el('p', { class: 'hint', id: `${id}-hint`, text: hint }) : null);
}

const options = (entries) => Object.entries(entries).map(([value, text]) => el('option', { value, text }));

function buildCard(room) {
  const id = room.id;
  const p = `r${id}`;
  const card = el('section', { class: 'card webcast-room', 'aria-labelledby': `${p}-title`, dataset: { room: String(id) } });
  const statusForm = el('form', { class: 'form', novalidate: true, dataset: { part: 'status' } },
    field(`${p}-status`, t('Stream status'), el('select', { name: 'status' }, options(STATUSES))),
    field(`${p}-slate`, t('Slate message (optional)'), el('input', { name: 'slate_message', maxlength: 300 }), t('Shown to viewers instead of (or over) the picture.')),
    field(`${p}-recording`, t('Recording address (optional)'), el('input', { name: 'recording_url', type: 'url', maxlength: 2000, spellcheck: 'false' }), t('Offered once the status is Ended.')),
    el('button', { type: 'submit', class: 'button button--primary' }, t('Apply'), el('span', { class: 'visually-hidden', text: ' ' + t('status for %(room)s', { room: room.name }) })));
  handleForm(statusForm, async (form) => {
    const view = await api('POST', `${base}/rooms/${id}/status`, {
      status: form.elements.status.value,
      slate_message: form.elements.slate_message.value.trim() || null,
      recording_url: form.elements.recording_url.value.trim() || null,
    });
    delete form.dataset.dirty;
    updateRoom(view);
    notify(t('%(room)s: %(status)s.', { room: room.name, status: STATUSES[view.status].toLowerCase() }));
  });

  const sourceForm = el('form', { class: 'form form--grid', novalidate: true, dataset: { part: 'source' } },
    field(`${p}-role`, t('Role'), el('select', { name: 'role' }, options(ROLES))),
    field(`${p}-kind`, t('Kind'), el('select', { name: 'kind' }, options(KINDS))),
    field(`${p}-url`, t('Stream address'), el('input', { name: 'url', type: 'url', required: true, maxlength: 2000, spellcheck: 'false', autocapitalize: 'none' })),
    field(`${p}-label`, t('Label (optional)'), el('input', { name: 'label', maxlength: 100 })),
    el('div', { class: 'field field--action' }, el('button', { type: 'submit', class: 'button' }, t('Save source'))));
  handleForm(sourceForm, async (form) => {
    const role = form.elements.role.value;
    const body = { role, kind: form.elements.kind.value, url: form.elements.url.value.trim() };
    if (form.elements.label.value.trim()) body.label = form.elements.label.value.trim();
    updateRoom(await api('PUT', `${base}/rooms/${id}/sources`, body));
    form.elements.url.value = '';
    form.elements.label.value = '';
    notify(t('%(role)s source saved for %(room)s.', { role: ROLES[role], room: room.name }));
  });

  const nowForm = el('form', { class: 'form', novalidate: true, dataset: { part: 'now' } },
    field(`${p}-now`, t('Session now playing'), el('select', { name: 'session_id' })),
    el('div', { class: 'field field--check' },
      el('input', { type: 'checkbox', id: `${p}-auto`, name: 'auto_advance' }),
      el('label', { for: `${p}-auto`, text: t('Follow the agenda automatically') })),
    el('button', { type: 'submit', class: 'button' }, t('Save'), el('span', { class: 'visually-hidden', text: ' ' + t('now playing in %(room)s', { room: room.name }) })));
  handleForm(nowForm, async (form) => {
    const view = await api('POST', `${base}/rooms/${id}/now-playing`, {
      session_id: form.elements.session_id.value ? Number(form.elements.session_id.value) : null,
      auto_advance: form.elements.auto_advance.checked,
    });
    delete form.dataset.dirty;
    updateRoom(view);
    notify(view.now_playing
      ? t('Now playing in %(room)s: %(session)s.', { room: room.name, session: view.now_playing.title })
      : t('Nothing marked as playing in %(room)s.', { room: room.name }));
  });

  const tokenForm = el('form', { class: 'form form--row', novalidate: true, dataset: { part: 'token' } },
    field(`${p}-token-label`, t('Captioner name'), el('input', { name: 'label', required: true, maxlength: 100 })),
    el('button', { type: 'submit', class: 'button' }, t('Create caption token')));
  handleForm(tokenForm, async (form) => {
    const label = form.elements.label.value.trim();
    if (!label) throw new ApiError({ code: 'invalid_input', message: t('Give the token a name, such as the captioner’s.'), fields: { label: t('required') } });
    const created = await api('POST', `${base}/rooms/${id}/caption-tokens`, { label });
    form.reset();
    showNewToken(card, created);
    await refreshTokens();
  });

  for (const form of [statusForm, nowForm]) form.addEventListener('input', () => { form.dataset.dirty = 'yes'; });

  card.append(
    el('div', { class: 'section-head' },
      el('h2', { id: `${p}-title`, text: room.name }),
      el('p', { class: 'webcast-room__meta' },
        el('span', { class: 'badge', dataset: { part: 'status-badge' } }),
        el('span', { class: 'webcast-room__viewers', dataset: { part: 'viewers' } }))),
    el('div', { class: 'webcast-room__grid' },
      el('div', { class: 'webcast-room__col' },
        el('h3', { text: t('Status') }), statusForm,
        el('h3', { text: t('Now playing') }), nowForm,
        el('p', { class: 'hint', dataset: { part: 'next' } })),
      el('div', { class: 'webcast-room__col' },
        el('h3', { id: `${p}-sources-title`, text: t('Sources') }),
        el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': `${p}-sources-title` },
          el('table', { class: 'table' },
            el('thead', {}, el('tr', {}, [t('Role'), t('Kind'), t('Address'), t('Label'), t('Health'), ''].map((h) => el('th', { scope: 'col' }, h || el('span', { class: 'visually-hidden', text: t('Actions') }))))),
            el('tbody', { dataset: { part: 'sources' } }))),
        el('div', { class: 'actions', role: 'group', 'aria-label': t('Source on air in %(room)s', { room: room.name }), dataset: { part: 'switch' } }),
        el('details', { class: 'name-details' }, el('summary', { text: t('Add or replace a source') }), sourceForm),
        el('h3', { text: t('Captions') }),
        el('div', { dataset: { part: 'new-token' } }),
        el('ul', { class: 'plain-list token-list', dataset: { part: 'tokens' } }),
        tokenForm,
        el('p', { class: 'webcast-room__download' }, el('a', { href: `/api/v1${base}/rooms/${id}/captions.vtt`, download: '' }, t('Download the captions'), el('span', { class: 'visually-hidden', text: ' ' + t('of %(room)s', { room: room.name }) }), ' (.vtt)')),
        publishing.section(room))));
  return card;
}

const part = (card, name) => card.querySelector(`[data-part="${name}"]`);
const editing = (form) => form.dataset.dirty || form.contains(document.activeElement);

function updateCard(card, room) {
  const status = part(card, 'status-badge');
  status.textContent = STATUSES[room.status].replace(/\s*\(.*\)$/, '');
  status.className = `badge badge--${STATUS_BADGE[room.status]}`;
  // Counts arrive every few seconds, and only once they change.
  const count = store.viewerCounts === null ? null : store.viewerCounts[String(room.id)] ?? 0;
  part(card, 'viewers').textContent = count === null ? t('Counting viewers…') : tn('%(num)s watching', '%(num)s watching', count);

  const statusForm = part(card, 'status');
  if (!editing(statusForm)) {
    statusForm.elements.status.value = room.status;
    statusForm.elements.slate_message.value = room.slate_message || '';
    statusForm.elements.recording_url.value = room.recording_url || '';
  }
  renderNowPlaying(part(card, 'now'), room);
  const next = part(card, 'next');
  next.textContent = room.next_up ? t('Next: %(session)s', { session: `${formatTime(room.next_up.starts_at)} · ${room.next_up.title}` }) : '';
  next.hidden = !room.next_up;
  renderSources(card, room);
  renderTokens(card, room);
  publishing.update(room);
}

function renderNowPlaying(form, room) {
  if (editing(form)) return;
  const sessions = store.event.sessions.filter((s) => s.kind !== 'break');
  const option = (s) => el('option', { value: String(s.id), text: `${formatTime(s.starts_at)} · ${s.title}` });
  const here = sessions.filter((s) => s.room_id === room.id);
  const elsewhere = sessions.filter((s) => s.room_id !== room.id);
  form.elements.session_id.replaceChildren(
    el('option', { value: '', text: t('Nothing (between sessions)') }),
    here.length ? el('optgroup', { label: t('In %(room)s', { room: room.name }) }, here.map(option)) : null,
    elsewhere.length ? el('optgroup', { label: t('Elsewhere') }, elsewhere.map(option)) : null,
  );
  form.elements.session_id.value = room.now_playing ? String(room.now_playing.id) : '';
  form.elements.auto_advance.checked = Boolean(room.auto_advance);
}

function renderSources(card, room) {
  const body = part(card, 'sources');
  const hadFocus = body.contains(document.activeElement) ? document.activeElement.dataset.focus : null;
  body.replaceChildren(...(room.sources.length ? room.sources.map((s) => {
    const [healthText, healthKind] = HEALTH[s.health] || [s.health, 'muted'];
    return el('tr', {},
      el('td', {}, ROLES[s.role] || s.role, room.active === s.role ? el('span', { class: 'badge badge--live webcast-room__air', text: t('On air') }) : null),
      el('td', { text: KINDS[s.kind] || s.kind }),
      el('td', { class: 'webcast-room__url', text: s.url }),
      el('td', { text: s.label || '' }),
      el('td', {},
        el('span', { class: `badge badge--${healthKind}`, text: healthText }),
        s.health_reason ? el('span', { class: 'hint webcast-room__reason', text: ` ${s.health_reason}` }) : null,
        s.checked_at ? el('span', { class: 'hint webcast-room__reason' }, ` · ${t('checked')} `, el('time', { datetime: s.checked_at, text: formatTime(s.checked_at) })) : null),
      el('td', {}, el('button', {
        type: 'button', class: 'button button--quiet button--small button--danger', dataset: { focus: `remove-${s.role}` },
        onclick: () => removeSource(room, s.role),
      }, t('Remove'), el('span', { class: 'visually-hidden', text: ' ' + t('%(role)s source', { role: ROLES[s.role] || s.role }) }))));
  }) : [el('tr', {}, el('td', { colspan: '6', class: 'muted', text: t('No sources yet. Add the stream below.') }))]));
  if (hadFocus) body.querySelector(`[data-focus="${hadFocus}"]`)?.focus();

  const roles = new Set(room.sources.map((s) => s.role));
  const group = part(card, 'switch');
  const focused = group.contains(document.activeElement) ? document.activeElement.dataset.focus : null;
  group.replaceChildren(el('span', { class: 'muted', text: t('On air:') }), ...['primary', 'backup'].map((role) => el('button', {
    type: 'button', class: 'button button--small', 'aria-pressed': String(room.active === role), disabled: !roles.has(role), dataset: { focus: `switch-${role}` },
    onclick: () => switchTo(room, role),
  }, role === 'primary' ? t('Play primary') : t('Play backup'))));
  if (focused) group.querySelector(`[data-focus="${focused}"]`)?.focus();
}

function renderTokens(card, room) {
  const mine = tokens.filter((token) => token.room_id === room.id && !token.revoked);
  part(card, 'tokens').replaceChildren(...(mine.length ? mine.map((token) => el('li', { class: 'token-list__item' },
    el('span', {}, el('strong', { text: token.label }), ' ', el('span', { class: 'muted' }, `${t('created')} `, el('time', { datetime: token.created_at, text: formatDateTime(token.created_at) }))),
    el('button', {
      type: 'button', class: 'button button--quiet button--small button--danger',
      onclick: () => revokeToken(token),
    }, t('Revoke'), el('span', { class: 'visually-hidden', text: ' ' + t('caption token %(label)s', { label: token.label }) })))) : [el('li', { class: 'muted', text: t('No caption tokens: captions are off for this room.') })]));
}

/** A new token's secret, shown this once, with a copy button. */
function showNewToken(card, created) {
  const input = el('input', { id: `token-${created.id}`, readonly: true, value: created.token, class: 'token-value', spellcheck: 'false' });
  const box = el('div', { class: 'notice notice--warn new-token', role: 'status' },
    el('p', {}, el('strong', { text: `${t('Copy this token now.')} ` }), t('It is shown only once; give it to the captioner for the captioner page.')),
    el('div', { class: 'form--inline form' },
      el('div', { class: 'field' }, el('label', { for: input.id, text: t('Caption token for %(label)s', { label: created.label }) }), input),
      el('button', { type: 'button', class: 'button', onclick: () => copy(input) }, t('Copy token')),
      el('button', { type: 'button', class: 'button button--quiet', onclick: () => box.remove() }, t('Done'))));
  part(card, 'new-token').replaceChildren(box);
  input.focus();
  input.select();
}

async function copy(input) {
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select(); // without a secure context the clipboard API is missing; let the keyboard copy
    if (!document.execCommand('copy')) {
      notify(t('Press Ctrl+C (or ⌘C) to copy the selected token.'));
      return;
    }
  }
  notify(t('Token copied.'));
}

// --- commands ------------------------------------------------------------------------------

function updateRoom(view) {
  store.rooms[String(view.id)] = view;
  render();
}

async function run(action, done) {
  try {
    const result = await action();
    if (result && result.sources) updateRoom(result);
    announce(done);
    return result;
  } catch (error) {
    notify(errorText(error), 'error');
    return undefined;
  }
}

function switchTo(room, role) {
  if (room.active === role) return;
  run(() => api('POST', `${base}/rooms/${room.id}/switch`, { active: role }), role === 'primary'
    ? t('%(room)s now plays its primary source.', { room: room.name })
    : t('%(room)s now plays its backup source.', { room: room.name }));
}

function removeSource(room, role) {
  if (!window.confirm(t('Remove the %(role)s source of %(room)s?', { role: ROLES[role].toLowerCase(), room: room.name }))) return;
  run(() => api('DELETE', `${base}/rooms/${room.id}/sources`, { role }), t('Source removed.'));
}

async function revokeToken(token) {
  if (!window.confirm(t('Revoke the caption token “%(label)s”? Its captioner is cut off at once.', { label: token.label }))) return;
  if (await run(() => api('DELETE', `${base}/caption-tokens/${token.id}`), t('Token revoked.'))) await refreshTokens();
}

async function refreshTokens() {
  try {
    tokens = await api('GET', `${base}/caption-tokens`);
    render();
  } catch (error) {
    notify(errorText(error), 'error');
  }
}

// --- agenda import -------------------------------------------------------------------------

function readFile(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.addEventListener('load', () => resolve(reader.result));
    reader.addEventListener('error', () => reject(reader.error));
    reader.readAsText(file);
  });
}

handleForm($('import-form'), async (form) => {
  const file = form.elements.body.files[0];
  if (!file) throw new ApiError({ code: 'invalid_input', message: t('Choose the schedule file first.'), fields: { body: t('no file chosen') } });
  const format = form.elements.format.value;
  const type = format === 'csv' ? 'text/csv' : 'application/json';
  const result = await apiText('POST', `${base}/agenda/import?format=${format}`, await readFile(file), type);
  form.reset();
  notify(tn('%(num)s session imported.', '%(num)s sessions imported.', result.imported));
});

refreshTokens();
