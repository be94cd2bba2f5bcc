// The viewer page's Watch section: one room's webcast, its status slate, captions, now & next.
import { api, command, config, el, formatTime } from './common.js';
import { trackAttendance } from './attendance.js';
import { t } from './i18n.js';
import { Player, choosePlayer } from './player.js';

const STATUS_TEXT = {
  scheduled: t('Not started yet'),
  starting_soon: t('Starting soon'),
  live: t('Live'),
  paused: t('Paused'),
  ended: t('Ended'),
};
const PLAYING = new Set(['live', 'paused']);
const KEEP_LINES = 30;
const PREFS = 'podium.captions';
const ROOM_KEY = `podium.watch.${config.event_slug}.room`;

const $ = (id) => document.getElementById(id);
const sessionText = (s) => `${formatTime(s.starts_at)}–${formatTime(s.ends_at)} · ${s.title}`;

/**
 * Feed it room views (`setRooms`, `updateRoom`) and the socket it should follow (`follow`).
 * A `/viewer` socket is told which room is watched (`watch_room`); a `/stage` socket names
 * the room in its auth, so changing room reconnects it.
 */
export class Watch {
  constructor({ onNowPlaying = () => {}, viewerToken = () => null } = {}) {
    this.root = $('watch');
    this.onNowPlaying = onNowPlaying;
    this.viewerToken = viewerToken; // WebRTC (WHEP) needs the viewer's token
    this.rooms = {};
    this.order = this.root ? JSON.parse($('watch-rooms').textContent) : [];
    const saved = localStorage.getItem(ROOM_KEY);
    this.roomId = this.order.some((r) => String(r.id) === saved) ? saved : String(this.order[0]?.id ?? '');
    this.socket = null;
    this.mode = null;
    this.lines = [];
    this.lastSeq = null;
    this.audioOnly = false;
    this.sign = false;
    this.captionsOn = localStorage.getItem(`${PREFS}.on`) !== 'off';
    this.captionSize = localStorage.getItem(`${PREFS}.size`) || 'medium';
    if (!this.root) return;
    const onProblem = (text) => { $('player-problem').textContent = text || ''; $('player-problem').hidden = !text; };
    this.player = new Player($('player'), { name: t('Webcast'), onProblem });
    this.signPlayer = new Player($('sign-player'), { name: t('Sign language interpreter'), muted: true });
    this.wireControls();
    this.renderTabs();
    this.render();
  }

  get room() {
    return this.rooms[this.roomId] || null;
  }

  /** Take captions and the watched room from `socket` (mode 'viewer' or 'stage'). */
  follow(socket, mode) {
    if (!this.root) return;
    if (this.stopTracking) this.stopTracking();
    this.stopTracking = mode === 'viewer' ? trackAttendance(socket) : null;
    this.socket = socket;
    this.mode = mode;
    this.lastSeq = null;
    socket.on('connect', () => this.refreshCaptions());
    socket.on('caption', (line) => { if (this.socket === socket) this.caption(line); });
  }

  setEvent(detail) {
    if (!this.root) return;
    this.order = detail.rooms;
    if (!this.order.some((r) => String(r.id) === this.roomId)) this.roomId = String(this.order[0]?.id ?? '');
    this.renderTabs();
    this.render();
  }

  setRooms(rooms) {
    this.rooms = { ...rooms };
    this.render();
  }

  updateRoom(view) {
    this.rooms[String(view.id)] = view;
    if (String(view.id) === this.roomId) this.render();
  }

  selectRoom(roomId) {
    if (roomId === this.roomId) return;
    this.roomId = roomId;
    localStorage.setItem(ROOM_KEY, roomId);
    this.lines = [];
    this.lastSeq = null;
    this.renderTabs();
    this.render();
    if (this.mode === 'stage' && this.socket) this.socket.disconnect().connect(); // new auth, new captions
    else this.refreshCaptions();
  }

  // --- captions ----------------------------------------------------------------------------

  /** Fetch the watched room's recent lines (and, on /viewer, start counting as watching). */
  async refreshCaptions() {
    const roomId = this.roomId;
    if (!this.socket || !roomId) return;
    try {
      if (this.mode === 'viewer') {
        const watched = await command(this.socket, 'watch_room', { room_id: Number(roomId) });
        if (roomId !== this.roomId) return;
        if (watched.room) this.updateRoom(watched.room);
        this.setLines(watched.captions);
      } else {
        const lines = await api('GET', `/events/${encodeURIComponent(config.event_slug)}/rooms/${roomId}/captions`);
        if (roomId === this.roomId) this.setLines(lines);
      }
    } catch {
      // Captions are extra: the next line or reconnect tries again.
    }
  }

  setLines(lines) {
    this.lines = lines.slice(-KEEP_LINES);
    this.lastSeq = lines.length ? lines[lines.length - 1].seq : null;
    $('captions').replaceChildren(...this.lines.map(captionLine));
    this.scrollCaptions();
  }

  caption(line) {
    if (String(line.room_id) !== this.roomId) return;
    if (this.lastSeq !== null && line.seq <= this.lastSeq) return;
    if (this.lastSeq !== null && line.seq > this.lastSeq + 1) {
      this.refreshCaptions(); // missed some: the recent lines fill the gap
      return;
    }
    this.lastSeq = line.seq;
    const box = $('captions');
    box.append(captionLine(line));
    while (box.childElementCount > KEEP_LINES) box.firstElementChild.remove();
    this.scrollCaptions();
  }

  scrollCaptions() {
    const box = $('captions');
    box.scrollTop = box.scrollHeight;
  }

  // --- controls ----------------------------------------------------------------------------

  wireControls() {
    const tabs = $('room-tabs');
    tabs.addEventListener('click', (event) => {
      const tab = event.target.closest('[role="tab"]');
      if (tab) this.selectRoom(tab.dataset.room);
    });
    tabs.addEventListener('keydown', (event) => {
      const all = [...tabs.querySelectorAll('[role="tab"]')];
      const index = all.indexOf(event.target);
      const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: all.length - 1 }[event.key];
      if (index < 0 || next === undefined) return;
      event.preventDefault();
      const target = all[(next + all.length) % all.length];
      this.selectRoom(target.dataset.room);
      tabs.querySelector(`[data-room="${target.dataset.room}"]`).focus();
    });
    const toggle = (id, apply) => $(id).addEventListener('click', () => {
      const on = $(id).getAttribute('aria-pressed') !== 'true';
      apply(on);
      this.render();
    });
    toggle('audio-only', (on) => { this.audioOnly = on; });
    toggle('sign-toggle', (on) => { this.sign = on; });
    toggle('captions-toggle', (on) => {
      this.captionsOn = on;
      localStorage.setItem(`${PREFS}.on`, on ? 'on' : 'off');
    });
    for (const radio of document.querySelectorAll('input[name="caption-size"]')) {
      radio.checked = radio.value === this.captionSize;
      radio.addEventListener('change', () => {
        this.captionSize = radio.value;
        localStorage.setItem(`${PREFS}.size`, radio.value);
        this.render();
      });
    }
  }

  renderTabs() {
    const tabs = $('room-tabs');
    tabs.hidden = this.order.length < 2;
    const focused = tabs.contains(document.activeElement);
    tabs.replaceChildren(...this.order.map((r) => {
      const selected = String(r.id) === this.roomId;
      return el('button', {
        type: 'button', role: 'tab', id: `room-tab-${r.id}`, 'aria-controls': 'watch-panel',
        'aria-selected': String(selected), tabindex: selected ? null : '-1', dataset: { room: String(r.id) },
      }, r.name, el('span', { class: 'tab__status', dataset: { status: '' } }));
    }));
    if (focused) tabs.querySelector('[aria-selected="true"]')?.focus();
    $('watch-panel').setAttribute('aria-labelledby', `room-tab-${this.roomId}`);
  }

  // --- rendering ---------------------------------------------------------------------------

  render() {
    if (!this.root) return;
    const room = this.room;
    const status = room ? room.status : null;
    for (const tab of $('room-tabs').querySelectorAll('[role="tab"]')) {
      const other = this.rooms[tab.dataset.room];
      const mark = tab.querySelector('.tab__status');
      mark.dataset.status = other ? other.status : '';
      mark.textContent = other && other.status === 'live' ? ` · ${t('Live')}` : '';
    }
    const name = (this.order.find((r) => String(r.id) === this.roomId) || {}).name || '';
    $('watch-status').textContent = status ? `${name}: ${STATUS_TEXT[status]}` : '';
    $('watch-status').dataset.status = status || '';

    const playing = Boolean(room && PLAYING.has(status) && (room.source || room.webrtc));
    this.player.show(playing ? this.choose(room) : null);
    this.renderSlate(room, playing);

    const canAudio = playing && (room.audio || room.source?.type === 'hls');
    setToggle('audio-only', canAudio, this.audioOnly);
    const canSign = playing && Boolean(room.interpreter) && !this.audioOnly;
    setToggle('sign-toggle', canSign, this.sign);
    this.signPlayer.show(canSign && this.sign ? room.interpreter : null);
    $('sign-box').hidden = !(canSign && this.sign);
    $('screen').dataset.sign = canSign && this.sign ? 'on' : 'off';
    $('screen').dataset.mode = playing && this.audioOnly ? 'audio' : 'video';

    const captions = Boolean(room && room.captions.available);
    setToggle('captions-toggle', captions, this.captionsOn);
    $('caption-size').hidden = !captions || !this.captionsOn;
    $('captions').hidden = !captions || !this.captionsOn;
    $('captions').dataset.size = this.captionSize;

    this.renderNowNext(room);
  }

  /** Where the organiser allows it, the low-delay WebRTC picture first, the regular player as its fallback. */
  choose(room) {
    const regular = choosePlayer(room, { audioOnly: this.audioOnly });
    const token = this.viewerToken();
    if (!room.webrtc || this.audioOnly || !token) return regular;
    return { ...room.webrtc, headers: { Authorization: `Bearer ${token}` }, fallback: regular };
  }

  renderSlate(room, playing) {
    const slate = $('slate');
    const extra = $('slate-extra');
    let heading = '';
    let message = '';
    extra.replaceChildren();
    if (!room) {
      heading = t('No webcast for this room yet');
    } else if (room.status === 'paused') {
      heading = t('Paused');
      message = room.slate_message || t('Technical difficulties… We will be back shortly.');
    } else if (room.status === 'ended') {
      heading = t('This session has ended');
      message = room.slate_message || '';
      if (room.recording_url) extra.append(el('a', { class: 'button', href: room.recording_url, rel: 'noopener', target: '_blank' }, t('Watch the recording'), el('span', { class: 'visually-hidden', text: ` ${t('(opens in a new tab)')}` })));
    } else if (room.status === 'live' && !room.source) {
      heading = t('Live');
      message = room.slate_message || t('The stream will appear here in a moment.');
    } else if (!playing) {
      heading = STATUS_TEXT[room.status];
      message = room.slate_message || '';
      const next = room.now_playing || room.next_up;
      if (next) extra.append(room.now_playing ? t('Now: %(session)s', { session: sessionText(next) }) : t('Next: %(session)s', { session: sessionText(next) }));
    }
    const shown = Boolean(heading) && !(playing && room.status === 'live');
    slate.hidden = !shown;
    slate.classList.toggle('slate--over', playing);
    slate.dataset.status = room ? room.status : '';
    $('slate-status').textContent = heading;
    $('slate-message').textContent = message;
    $('slate-message').hidden = !message;
    extra.hidden = !extra.childNodes.length;
  }

  renderNowNext(room) {
    const now = room && room.now_playing;
    const next = room && room.next_up;
    $('now-next').hidden = !now && !next;
    $('now-item').hidden = !now;
    $('next-item').hidden = !next;
    $('now-playing').replaceChildren(...(now ? sessionLine(now) : []));
    $('next-up').replaceChildren(...(next ? sessionLine(next) : []));
    this.onNowPlaying(now || null);
  }
}

function setToggle(id, available, pressed) {
  const button = $(id);
  button.hidden = !available;
  button.setAttribute('aria-pressed', String(Boolean(pressed)));
}

function sessionLine(s) {
  return [
    el('span', { class: 'now-next__title', text: s.title }),
    el('span', { class: 'now-next__time' },
      el('time', { datetime: s.starts_at, text: formatTime(s.starts_at) }), '–',
      el('time', { datetime: s.ends_at, text: formatTime(s.ends_at) })),
  ];
}

function captionLine(line) {
  return el('p', { class: 'captions__line', dataset: { seq: String(line.seq) }, text: line.text });
}
