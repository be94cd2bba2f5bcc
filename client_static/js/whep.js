// WebRTC over HTTP (WHIP to publish, WHEP to watch; docs/webcast.md §6) and a small low-delay
// player. Podium's endpoints are not trickle-ICE: every candidate goes in the one offer.
import { config, el } from './common.js';
import { t } from './i18n.js';

const SDP = 'application/sdp';
const ICE_WAIT_MS = 5000; // on a LAN gathering takes milliseconds; never hang on a slow STUN

/** A refused WHIP/WHEP request: `status`, the error `code`, and the room's `fallback` player. */
export class WebRtcError extends Error {
  constructor(status, body = {}) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || (status ? 'http_error' : 'network');
    this.fallback = body.fallback || null;
  }
}

/** Headers a staff page sends: its session's CSRF token (the cookie goes by itself). */
export function staffHeaders() {
  return config.csrf_token ? { 'X-CSRF-Token': config.csrf_token } : {};
}

function iceGathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== 'complete') return;
      pc.removeEventListener('icegatheringstatechange', done);
      resolve();
    };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, ICE_WAIT_MS);
  });
}

/** Offer, wait for ICE, POST, apply the answer; resolves to the session URL (for DELETE). */
export async function negotiate(pc, url, headers = {}) {
  await pc.setLocalDescription(await pc.createOffer());
  await iceGathered(pc);
  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': SDP, Accept: `${SDP}, application/json`, ...headers },
      body: pc.localDescription.sdp,
    });
  } catch {
    throw new WebRtcError(0, { message: t('Could not reach the server. Check your connection and try again.') });
  }
  if (response.status !== 201) {
    const data = await response.json().catch(() => ({}));
    throw new WebRtcError(response.status, data.error);
  }
  const location = response.headers.get('Location');
  await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
  return location;
}

/** End a session; `keepalive` lets it leave with the page (pagehide). */
export function endSession(location, headers = {}) {
  if (!location) return;
  fetch(location, { method: 'DELETE', credentials: 'same-origin', headers, keepalive: true }).catch(() => {});
}

/**
 * Watch a room over WHEP. Resolves to `{ stream, stop(tellServer = true) }` once the answer is applied;
 * `onLost()` runs if the connection later fails (the server went away, the ingest stopped).
 */
export async function watch(whepUrl, { headers = {}, onLost = () => {} } = {}) {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  const stream = new MediaStream();
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.addEventListener('track', (event) => stream.addTrack(event.track));
  let location = null;
  let stopped = false;
  const leave = () => stop();
  function stop(tellServer = true) { // the server needs no DELETE for a session it ended
    if (stopped) return;
    stopped = true;
    window.removeEventListener('pagehide', leave);
    pc.close();
    if (tellServer) endSession(location, headers);
  }
  pc.addEventListener('connectionstatechange', () => {
    if (!stopped && ['failed', 'closed'].includes(pc.connectionState)) {
      stop(false);
      onLost();
    }
  });
  window.addEventListener('pagehide', leave);
  try {
    location = await negotiate(pc, whepUrl, headers);
  } catch (error) {
    stop();
    throw error;
  }
  return { stream, stop };
}

/** What to tell a person when WebRTC is refused or fails. */
export function refusalText(error) {
  if (error.code === 'webrtc_full') return t('The low-delay view is full right now.');
  if (error.code === 'webrtc_not_allowed') return t('The low-delay view is for staff only in this room.');
  if (error.status === 404) return t('Nobody is sending the room’s picture right now.');
  if (error.status === 401 || error.code === 'csrf_failed') return t('Your session has ended. Please log in again.');
  return t('The low-delay view could not connect.');
}

/**
 * A low-delay picture in `box`: a muted, autoplaying <video> (browsers allow no sound
 * without a click) and a button to turn the sound on. `stop()` ends the WHEP session.
 */
export class LowDelayView {
  constructor(box, { name, headers = staffHeaders(), onLost = () => {} } = {}) {
    this.box = box;
    this.name = name;
    this.headers = headers;
    this.onLost = onLost;
    this.session = null;
    this.video = null;
    this.attempt = null;
  }

  /** Connect and show the picture; rejects with a WebRtcError (nothing is left in the box). */
  async start(whepUrl) {
    this.stop();
    const attempt = {}; // tells this connection from a later one
    this.attempt = attempt;
    const lost = () => {
      if (this.attempt !== attempt) return;
      this.stop({ ended: true });
      this.onLost();
    };
    const session = await watch(whepUrl, { headers: this.headers, onLost: lost });
    if (this.attempt !== attempt) { // stopped (or restarted) while connecting
      session.stop();
      return;
    }
    this.session = session;
    const video = el('video', { class: 'low-delay__video', playsinline: true, autoplay: true, 'aria-label': this.name });
    video.muted = true;
    video.srcObject = session.stream;
    const sound = el('button', { type: 'button', class: 'button button--small low-delay__sound' }, t('Turn sound on'));
    sound.addEventListener('click', () => {
      video.muted = !video.muted;
      sound.textContent = video.muted ? t('Turn sound on') : t('Turn sound off');
      video.play().catch(() => {});
    });
    this.video = video;
    this.box.replaceChildren(el('div', { class: 'low-delay' }, video, sound));
    video.play().catch(() => {}); // muted autoplay is allowed; the sound button plays too
  }

  /** Stop showing; `ended`: the server ended the session already (no DELETE to send). */
  stop({ ended = false } = {}) {
    this.attempt = null;
    this.session?.stop(!ended);
    this.session = null;
    if (this.video) this.video.srcObject = null;
    this.video = null;
    this.box.replaceChildren();
  }
}

/**
 * The staff consoles' "Watch the room live (low delay)" panel, built in `container` (a
 * section labelled by its heading). Feed it the event and staff room views with `update`.
 */
export class StaffRoomWatch {
  constructor(container) {
    this.container = container;
    this.rooms = [];
    this.watching = null; // the room id being watched (string), or null
    const heading = el('h2', { id: 'room-watch-title', text: t('Room picture (low delay)') });
    this.select = el('select', { id: 'room-watch-room' });
    this.field = el('div', { class: 'field' }, el('label', { for: 'room-watch-room', text: t('Room') }), this.select);
    this.toggle = el('button', { type: 'button', class: 'button', 'aria-pressed': 'false' }, t('Watch the room live (low delay)'));
    this.status = el('p', { class: 'hint room-watch__status', role: 'status' });
    const box = el('div', { class: 'room-watch__box' });
    this.view = new LowDelayView(box, { name: t('Room picture'), onLost: () => this.ended(t('The room’s picture stopped.'), true) });
    container.setAttribute('aria-labelledby', 'room-watch-title');
    container.replaceChildren(heading, el('div', { class: 'form form--row' }, this.field, this.toggle), this.status, box);
    this.toggle.addEventListener('click', () => (this.watching ? this.ended(t('Stopped watching.')) : this.start()));
    this.select.addEventListener('change', () => { if (this.watching) this.start(); });
  }

  /** The rooms now (staff views carry `webrtc` while someone publishes). */
  update(event, roomViews) {
    if (!event) return;
    this.rooms = event.rooms.map((r) => roomViews[r.id]).filter((room) => room && room.webrtc);
    const chosen = this.watching || this.select.value;
    this.select.replaceChildren(...this.rooms.map((room) => el('option', { value: String(room.id), text: room.name })));
    if (this.rooms.some((room) => String(room.id) === chosen)) this.select.value = chosen;
    this.field.hidden = this.rooms.length < 2;
    this.toggle.disabled = !this.rooms.length && !this.watching;
    this.container.hidden = false;
    if (this.watching && !this.rooms.some((room) => String(room.id) === this.watching)) {
      this.ended(t('The room stopped sending its picture.'), true); // its watchers went with it
    } else if (!this.watching && !this.status.textContent) {
      this.idle();
    }
  }

  idle() {
    this.status.textContent = this.rooms.length ? '' : t('No room is sending a low-delay picture right now.');
  }

  async start() {
    const room = this.rooms.find((r) => String(r.id) === this.select.value) || this.rooms[0];
    if (!room) return;
    this.watching = String(room.id);
    this.toggle.setAttribute('aria-pressed', 'true');
    this.status.textContent = t('Connecting…');
    try {
      await this.view.start(room.webrtc.whep);
      if (this.watching === String(room.id)) this.status.textContent = t('Watching %(room)s live.', { room: room.name });
    } catch (error) {
      if (this.watching === String(room.id)) this.ended(refusalText(error));
    }
  }

  ended(message, byServer = false) {
    this.watching = null;
    this.view.stop({ ended: byServer });
    this.toggle.setAttribute('aria-pressed', 'false');
    this.toggle.disabled = !this.rooms.length;
    this.status.textContent = message;
  }
}
