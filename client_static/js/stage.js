// The stage screen and OBS overlay: shows the question on stage in one room, nothing else.
import { config, connect } from './common.js';
import { LiveState } from './sync.js';

const roomId = String(config.room_id);
const card = document.getElementById('stage-card');
const idle = document.getElementById('stage-idle');
const text = document.getElementById('stage-text');
const author = document.getElementById('stage-author');
const url = document.getElementById('stage-url');
let shown = null;

if (url) url.textContent = `${window.location.host}/e/${config.event_slug}`;

function show(question) {
  const same = shown && question && shown.id === question.id && shown.text === question.text && shown.author === question.author;
  shown = question;
  if (same) return;
  card.hidden = !question;
  if (idle) idle.hidden = Boolean(question);
  if (!question) return;
  text.textContent = question.text;
  text.classList.toggle('stage__text--long', !config.overlay && question.text.length > 160);
  author.textContent = question.author ? `— ${question.author}` : 'Anonymous question';
  // Hide and show again so the entrance animation plays for the new question.
  card.hidden = true;
  void card.offsetWidth;
  card.hidden = false;
}

const socket = connect('/stage', { event: config.event_slug });
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
