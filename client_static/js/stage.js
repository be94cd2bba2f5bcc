// The stage screen and OBS overlay: shows the question on stage in one room, and its captions.
import { config, connect, el } from './common.js';
import { t } from './i18n.js';
import { LiveState } from './sync.js';

const roomId = String(config.room_id);
const card = document.getElementById('stage-card');
const idle = document.getElementById('stage-idle');
const text = document.getElementById('stage-text');
const author = document.getElementById('stage-author');
let shown = null;

function show(question) {
  const same = shown && question && shown.id === question.id && shown.text === question.text && shown.author === question.author;
  shown = question;
  if (same) return;
  card.hidden = !question;
  if (idle) idle.hidden = Boolean(question);
  if (!question) return;
  text.textContent = question.text;
  text.classList.toggle('stage__text--long', !config.overlay && question.text.length > 160);
  author.textContent = question.author ? `— ${question.author}` : t('Anonymous question');
  // Hide and show again so the entrance animation plays for the new question.
  card.hidden = true;
  void card.offsetWidth;
  card.hidden = false;
}

// --- captions (stage screen only): the last two lines, cleared after a quiet spell ---------

const captionBox = document.getElementById('stage-captions');
const CAPTION_LINES = 2;
const CAPTION_QUIET_MS = 15000;
let lastCaption = null;
let captionTimer;

function showCaption(line) {
  if (!captionBox || String(line.room_id) !== roomId) return;
  if (lastCaption !== null && line.seq <= lastCaption) return;
  lastCaption = line.seq;
  captionBox.append(el('p', { class: 'stage__caption', text: line.text }));
  while (captionBox.childElementCount > CAPTION_LINES) captionBox.firstElementChild.remove();
  captionBox.hidden = false;
  clearTimeout(captionTimer);
  captionTimer = setTimeout(() => {
    captionBox.hidden = true;
    captionBox.replaceChildren();
  }, CAPTION_QUIET_MS);
}

const socket = connect('/stage', { event: config.event_slug, room: config.room_id });
socket.on('caption', showCaption);
new LiveState(socket, {
  onSnapshot: (data) => show(data.stages[roomId] || null),
  onEntry: (entry) => {
    if (entry.type === 'stage' && String(entry.room_id) === roomId) show(entry.question);
    if (entry.type === 'question' && shown && entry.question.id === shown.id && entry.question.state === 'on_stage') {
      show(entry.question);
    }
  },
  onError: () => {},
});
