// "Go live from this laptop": a camera or the screen, with a microphone, published to the
// room over WHIP with the organiser's session (docs/webcast.md §6).
import { announce, config, el } from './common.js';
import { t } from './i18n.js';
import { endSession, negotiate, staffHeaders } from './whep.js';

const $ = (id) => document.getElementById(id);
const form = $('golive-form');
const preview = $('preview-video');
const STATES = {
  idle: () => t('Not live.'),
  preview: () => t('Preview only: the room does not receive this yet.'),
  connecting: () => t('Connecting to Podium…'),
  live: () => t('Live: the room receives this laptop’s picture and sound.'),
  unstable: () => t('The connection is unstable; trying to recover…'),
  stopped: () => t('Stopped. The room no longer receives this laptop.'),
};

let stream = null; // what the camera/screen and microphone give now
let pc = null;
let location = null; // the WHIP session to DELETE

function setState(state, message = STATES[state]()) {
  const status = $('golive-status');
  status.dataset.state = state;
  status.textContent = message;
  const publishing = pc !== null;
  $('go-live').disabled = publishing;
  $('stop').disabled = !publishing && !stream;
}

/** The camera (or screen) and microphone chosen in the form, as one stream. */
async function capture() {
  const picture = form.elements.picture.value;
  const camera = form.elements.camera.value;
  const microphone = form.elements.microphone.value;
  const audio = microphone === 'none' ? false : (microphone ? { deviceId: { exact: microphone } } : true);
  if (picture === 'screen') {
    const screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const sound = audio ? await navigator.mediaDevices.getUserMedia({ audio }) : null;
    const both = new MediaStream([...screen.getVideoTracks(), ...(sound ? sound.getAudioTracks() : [])]);
    // The browser's own "Stop sharing" button ends the screen track: stop with it.
    screen.getVideoTracks()[0].addEventListener('ended', () => { if (stream === both) stop(t('Screen sharing ended.')); });
    return both;
  }
  const video = camera ? { deviceId: { exact: camera } } : { width: { ideal: 1280 }, height: { ideal: 720 } };
  return navigator.mediaDevices.getUserMedia({ video, audio });
}

function captureError(error) {
  return {
    NotAllowedError: t('The browser may not use the camera, microphone or screen. Allow it (the icon in the address bar), then try again.'),
    NotFoundError: t('No such camera or microphone was found. Check that it is plugged in.'),
    NotReadableError: t('The camera or microphone is busy: another program may be using it.'),
    OverconstrainedError: t('That camera or microphone is no longer available. Choose another.'),
  }[error.name] || t('Could not start the camera, microphone or screen.');
}

/** Use the form's choice: a new preview, and, while live, the new tracks for the room. */
async function applyChoice() {
  let fresh;
  try {
    fresh = await capture();
  } catch (error) {
    setState(pc ? $('golive-status').dataset.state : 'idle', captureError(error));
    return false;
  }
  const old = stream;
  stream = fresh;
  preview.srcObject = fresh;
  preview.hidden = false;
  $('preview-empty').hidden = true;
  if (pc) {
    for (const sender of pc.getSenders()) {
      const kind = sender.track ? sender.track.kind : sender.kind;
      const track = fresh.getTracks().find((candidate) => candidate.kind === kind) || null;
      await sender.replaceTrack(track);
    }
  }
  old?.getTracks().forEach((track) => track.stop());
  await listDevices();
  return true;
}

async function goLive() {
  if (!stream && !(await applyChoice())) return;
  pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
  const mine = pc;
  mine.addEventListener('connectionstatechange', () => {
    if (pc !== mine) return;
    if (mine.connectionState === 'connected') setState('live');
    else if (mine.connectionState === 'disconnected') setState('unstable');
    else if (mine.connectionState === 'failed') stop(t('The connection to Podium was lost. Go live again to retry.'), 'failed');
  });
  setState('connecting');
  try {
    location = await negotiate(mine, `/whip/rooms/${config.room_id}`, staffHeaders());
  } catch (error) {
    if (pc === mine) stop(publishError(error), 'failed');
  }
}

function publishError(error) {
  if (error.status === 409) return t('Someone is already publishing to this room (OBS or another laptop). Stop them first.');
  if (error.status === 401 || error.code === 'csrf_failed') return t('Your session has ended. Please log in again.');
  if (error.status === 403) return t('Only organisers can go live.');
  if (error.status === 0) return error.message;
  return t('Podium refused the stream: %(reason)s', { reason: error.message });
}

/** Stop publishing (the room's WebRTC source goes) and release the camera and microphone. */
function stop(message = STATES.stopped(), state = 'stopped') {
  endSession(location, staffHeaders());
  location = null;
  pc?.close();
  pc = null;
  stream?.getTracks().forEach((track) => track.stop());
  stream = null;
  preview.srcObject = null;
  preview.hidden = true;
  $('preview-empty').hidden = false;
  setState(state, message);
  if (state === 'failed') announce(message);
}

/** Fill the camera and microphone lists (names appear once the browser was allowed to use them). */
async function listDevices() {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const devices = await navigator.mediaDevices.enumerateDevices();
  const fill = (select, kind, fixed) => {
    const chosen = select.value;
    const found = devices.filter((d) => d.kind === kind && d.deviceId && d.deviceId !== 'default');
    select.replaceChildren(...fixed, ...found.map((d, i) => el('option', { value: d.deviceId, text: d.label || t('Device %(num)s', { num: i + 1 }) })));
    if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
  };
  fill(form.elements.camera, 'videoinput', [el('option', { value: '', text: t('The default camera') })]);
  fill(form.elements.microphone, 'audioinput', [el('option', { value: '', text: t('The default microphone') }), el('option', { value: 'none', text: t('No sound') })]);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!pc) goLive();
});
$('preview').addEventListener('click', async () => {
  if (await applyChoice()) setState(pc ? $('golive-status').dataset.state : 'preview');
});
$('stop').addEventListener('click', () => (pc ? stop() : stop(STATES.idle(), 'idle')));
form.addEventListener('change', (event) => {
  if (event.target.name === 'picture') $('camera-field').hidden = form.elements.picture.value === 'screen';
  if (stream) applyChoice(); // a new choice while previewing or live takes effect at once
});
// Leaving the page stops the stream, so the room does not keep a frozen picture.
window.addEventListener('pagehide', () => { if (pc || stream) stop(); });

if (!window.RTCPeerConnection || !navigator.mediaDevices) {
  setState('failed', t('This browser cannot send video. Use a recent Firefox, Chrome, Edge or Safari, over HTTPS.'));
  $('go-live').disabled = true;
  $('preview').disabled = true;
} else {
  listDevices().catch(() => {});
}
