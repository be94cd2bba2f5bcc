// The captioner page: a caption token, then one line per Enter, live to the room's viewers.
import { ApiError, command, connect, el, errorText, notify, showConnection } from './common.js';
import { t } from './i18n.js';
import { LowDelayView, refusalText } from './whep.js';

const TOKEN_KEY = 'podium.captioner.token';
const KEEP_SENT = 100;
const $ = (id) => document.getElementById(id);
const text = $('caption-text');
let socket = null;

function start() {
  socket = connect('/captioner', (send) => send({ token: sessionStorage.getItem(TOKEN_KEY) }));
  showConnection(socket, $('connection'));
  socket.on('connect', () => {
    $('token-panel').hidden = true;
    $('write-panel').hidden = false;
    text.focus();
    command(socket, 'room', {}).then(showRoomWatch, () => {});
  });
  socket.on('connect_error', (error) => {
    if (!error.data || !error.data.code) return; // a network problem: the client retries by itself
    stop();
    showTokenError(errorText(new ApiError(error.data)));
  });
}

// The captioner's token also lets them watch their room with sub-second delay, so the
// captions can keep up with the speakers rather than with the HLS delay.
let room = null;
const roomView = new LowDelayView($('room-watch-box'), {
  name: t('Room picture'),
  onLost: () => stopWatching(t('The room’s picture stopped.'), true),
});

function showRoomWatch(captioned) {
  room = captioned;
  $('room-watch').hidden = false;
}

async function startWatching() {
  $('room-watch-toggle').setAttribute('aria-pressed', 'true');
  $('room-watch-status').textContent = t('Connecting…');
  try {
    const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` };
    roomView.headers = headers;
    await roomView.start(room.whep);
    $('room-watch-status').textContent = t('Watching %(room)s live.', { room: room.name });
  } catch (error) {
    stopWatching(refusalText(error));
  }
}

function stopWatching(message, byServer = false) {
  roomView.stop({ ended: byServer });
  $('room-watch-toggle').setAttribute('aria-pressed', 'false');
  $('room-watch-status').textContent = message;
}

$('room-watch-toggle').addEventListener('click', () => {
  if ($('room-watch-toggle').getAttribute('aria-pressed') === 'true') stopWatching(t('Stopped watching.'));
  else startWatching();
});

function stop() {
  if (room) stopWatching('');
  room = null;
  $('room-watch').hidden = true;
  socket?.disconnect();
  socket = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $('connection').hidden = true;
  $('write-panel').hidden = true;
  $('token-panel').hidden = false;
}

function showTokenError(message) {
  const summary = $('token-error');
  summary.textContent = message;
  summary.hidden = false;
  $('token').setAttribute('aria-invalid', 'true');
  $('token').focus();
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('token').value.trim();
  $('token-error').hidden = true;
  $('token').removeAttribute('aria-invalid');
  if (!token.startsWith('cap_')) {
    showTokenError(t('A caption token starts with cap_. Paste the whole token the organiser gave you.'));
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $('token').value = '';
  start();
});

$('forget-token').addEventListener('click', () => {
  stop();
  $('token').focus();
});

async function send() {
  const line = text.value.trim();
  if (!line) return;
  text.value = ''; // ready for the next line straight away; the answer comes in the background
  try {
    const sent = await command(socket, 'caption', { text: line });
    record(el('li', {}, el('span', { class: 'sent-lines__seq', text: `#${sent.seq}` }), el('span', { text: sent.text })));
  } catch (error) {
    record(el('li', {}, el('span', { class: 'sent-lines__seq', text: t('Not sent') }),
      el('span', {}, el('span', { class: 'sent-lines__error', text: `${errorText(error)} ` }), line)));
    notify(errorText(error), 'error');
    if (!text.value) text.value = line; // give it back to retry, unless a new line is under way
  }
}

function record(item) {
  const list = $('sent-lines');
  list.prepend(item);
  while (list.childElementCount > KEEP_SENT) list.lastElementChild.remove();
  $('sent-empty').hidden = true;
}

text.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
  event.preventDefault();
  send();
});
$('caption-form').addEventListener('submit', (event) => {
  event.preventDefault();
  send();
});

if (sessionStorage.getItem(TOKEN_KEY)) start();
else $('token').focus();
