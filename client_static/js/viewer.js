// The viewer page: watch, join, ask, upvote, and follow one's own questions and the stage live.
import {
  REJECT_REASONS, announce, api, authorName, badge, clearFieldErrors, command, config, connect, el,
  errorText, formatTime, localiseTimes, notify, renderList, showConnection, showFieldErrors,
} from './common.js';
import { t, tn } from './i18n.js';
import { LiveState } from './sync.js';
import { Watch } from './watch.js';

const slug = config.event_slug;
const TOKEN_KEY = `podium.viewer.${slug}`;
const CHANNEL_KEY = `${TOKEN_KEY}.channel`;
const PUBLIC_STATES = new Set(['approved', 'queued', 'on_stage', 'answered']);
const VOTABLE = new Set(['approved', 'queued', 'on_stage']);
const WITHDRAWABLE = new Set(['pending', 'approved', 'queued']);
const AUTH_ERRORS = new Set(['not_authenticated', 'not_found', 'forbidden', 'invalid_input']);

const MINE_STATES = {
  pending: t('Waiting for moderation'),
  approved: t('Approved'),
  queued: t("In the panel's running order"),
  on_stage: t('On stage now'),
  answered: t('Answered'),
  rejected: t('Not approved'),
  withdrawn: t('Withdrawn'),
  merged: t('Merged with a similar question'),
};

const $ = (id) => document.getElementById(id);
const state = {
  event: null,
  questions: new Map(),
  mine: new Map(),
  myVotes: new Set(),
  stages: {},
  viewer: null,
  sort: 'votes',
  voting: new Set(),
};
let socket = null;
let publicSocket = null; // before joining: the public stream, for the webcast and the stage
// A viewer who joined through the no-script form has the token in a cookie: the page hands it over.
let token = localStorage.getItem(TOKEN_KEY) || config.viewer_token || null;
let rejoined = false;
let draftClientId = null;
let sessionChosen = false;
const watch = new Watch({ onNowPlaying: suggestSession, viewerToken: () => token });

// --- joining ---------------------------------------------------------------------------

async function join(channel, displayName) {
  const joined = await api('POST', `/events/${encodeURIComponent(slug)}/viewers`, {
    display_name: displayName || null,
    channel,
    // Only the time zone's country is kept (for reach by country); never an address.
    time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone || null,
  });
  token = joined.token;
  localStorage.setItem(TOKEN_KEY, token);
  localStorage.setItem(CHANNEL_KEY, channel);
  state.viewer = joined.viewer;
  shareToken();
  return joined;
}

/** Put the token in the server's cookie too, so light mode and the no-script forms act as this viewer. */
function shareToken() {
  fetch(`/e/${encodeURIComponent(slug)}/viewer-cookie`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify({ token }),
  }).catch(() => { /* only light mode needs it; the next start tries again */ });
}

$('join-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  clearFieldErrors(form);
  const channel = form.elements.channel.value;
  const summary = $('join-error');
  if (!channel) {
    summary.textContent = t("Tell us whether you're in the room or watching remotely.");
    summary.hidden = false;
    form.querySelector('input[name="channel"]').focus();
    return;
  }
  const name = form.elements.display_name;
  if (name.required && !name.value.trim()) {
    summary.textContent = t('This event needs a name with each question. Please enter your name.');
    summary.hidden = false;
    name.focus();
    return;
  }
  try {
    await join(channel, name.value.trim());
    $('join-panel').hidden = true;
    showAskPanel();
    startSocket();
    $('question-text').focus();
  } catch (error) {
    showFieldErrors(form, error, summary);
  }
});

function showAskPanel() {
  $('ask-panel').hidden = false;
  $('mine-panel').hidden = false;
}

// --- the live connection -----------------------------------------------------------------

function startSocket() {
  if (socket) {
    socket.connect();
    return;
  }
  publicSocket?.disconnect();
  publicSocket = null;
  socket = connect('/viewer', (send) => send({ token }));
  showConnection(socket, $('connection'));
  watch.follow(socket, 'viewer');
  new LiveState(socket, { onSnapshot, onEntry, onSynced, onError: (error) => notify(errorText(error), 'error') });
  socket.on('mine', (message) => upsertMine(message.question, true));
  socket.on('connect_error', async (error) => {
    const code = error.data && error.data.code;
    if (!code || !AUTH_ERRORS.has(code)) return; // a network problem: the client retries by itself
    localStorage.removeItem(TOKEN_KEY);
    const channel = localStorage.getItem(CHANNEL_KEY);
    if (rejoined || !channel) {
      $('ask-panel').hidden = true;
      $('join-panel').hidden = false;
      return;
    }
    rejoined = true;
    try {
      await join(channel, state.viewer && state.viewer.display_name);
      socket.connect();
    } catch (joinError) {
      notify(errorText(joinError), 'error');
    }
  });
}

function onSnapshot(data) {
  state.event = data.event;
  state.questions = new Map(data.questions.map((q) => [q.id, q]));
  state.stages = data.stages;
  fillSessions();
  watch.setEvent(data.event);
  watch.setRooms(data.rooms || {});
  renderAll();
}

function onSynced(data) {
  if (data.mine) state.mine = new Map(data.mine.map((q) => [q.id, q]));
  if (data.my_votes) state.myVotes = new Set(data.my_votes);
  if (data.viewer) state.viewer = data.viewer;
  renderAll();
}

function onEntry(entry) {
  switch (entry.type) {
    case 'question': {
      const q = entry.question;
      const isNew = !state.questions.has(q.id);
      state.questions.set(q.id, q);
      if (isNew && PUBLIC_STATES.has(q.state) && !state.mine.has(q.id)) {
        announce(t('New question from %(author)s: %(text)s', { author: authorName(q), text: q.text }));
      }
      break;
    }
    case 'question_removed':
      state.questions.delete(entry.question_id);
      break;
    case 'stage': {
      state.stages[entry.room_id] = entry.question;
      if (entry.question) {
        state.questions.set(entry.question.id, entry.question);
        announce(t('On stage now: %(text)s', { text: entry.question.text }));
      }
      break;
    }
    case 'votes':
      for (const { id, votes } of entry.votes) {
        const q = state.questions.get(id);
        if (q) state.questions.set(id, { ...q, votes });
        const mine = state.mine.get(id);
        if (mine) state.mine.set(id, { ...mine, votes });
      }
      break;
    case 'event':
      state.event = entry.event;
      fillSessions();
      watch.setEvent(entry.event);
      break;
    case 'room':
      watch.updateRoom(entry.room);
      return;
    default:
      return;
  }
  renderAll();
}

function upsertMine(q, fromPush) {
  const before = state.mine.get(q.id);
  state.mine.set(q.id, q);
  if (fromPush && before && before.state !== q.state) {
    announce(t('Your question “%(text)s” is now: %(state)s.', { text: shorten(q.text), state: mineStateText(q) }));
  }
  renderAll();
}

// --- rendering ---------------------------------------------------------------------------

function renderAll() {
  renderStage();
  renderQuestions();
  renderMine();
  renderViewer();
}

function sessionTitle(id) {
  const found = state.event && state.event.sessions.find((s) => s.id === id);
  return found ? found.title : null;
}

function roomName(id) {
  const found = state.event && state.event.rooms.find((r) => String(r.id) === String(id));
  return found ? found.name : '';
}

function shorten(text, length = 60) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

function renderStage() {
  const live = Object.entries(state.stages).filter(([, q]) => q);
  $('stage-banner').hidden = live.length === 0;
  const manyRooms = state.event && state.event.rooms.length > 1;
  renderList($('stage-banner-list'), live, {
    key: ([roomId]) => roomId,
    signature: ([roomId, q]) => JSON.stringify([roomId, q.id, q.text, q.author, manyRooms]),
    build: ([roomId, q]) => el('li', { class: 'stage-banner__item' },
      manyRooms ? el('p', { class: 'stage-banner__room', text: roomName(roomId) }) : null,
      el('p', { class: 'stage-banner__text', text: q.text }),
      el('p', { class: 'stage-banner__author', text: q.author ? `— ${q.author}` : t('Anonymous question') })),
  });
}

function compareQuestions(a, b) {
  const doneA = a.state === 'answered';
  const doneB = b.state === 'answered';
  if (doneA !== doneB) return doneA ? 1 : -1;
  if (state.sort === 'votes' && a.votes !== b.votes) return b.votes - a.votes;
  return b.created_at.localeCompare(a.created_at) || b.id - a.id;
}

function renderQuestions() {
  const items = [...state.questions.values()].filter((q) => PUBLIC_STATES.has(q.state)).sort(compareQuestions);
  $('questions-empty').hidden = items.length > 0;
  $('questions-count').textContent = items.length ? `(${items.length})` : '';
  renderList($('question-list'), items, {
    key: (q) => q.id,
    signature: (q) => JSON.stringify([q.text, q.author, q.state, q.votes, q.session_id,
      state.myVotes.has(q.id), state.mine.has(q.id), state.voting.has(q.id), Boolean(socket)]),
    build: questionCard,
  });
}

/** "vote" or "votes" beside a count shown on its own (the plural form the count needs). */
function voteWord(n) {
  // Translators: the word after a number of votes shown in large type, e.g. 3 | votes.
  return tn('vote', 'votes', n);
}

function questionCard(q) {
  const own = state.mine.has(q.id);
  const voted = state.myVotes.has(q.id);
  const session = sessionTitle(q.session_id);
  const canVote = !own && VOTABLE.has(q.state) && socket;
  const votes = canVote
    ? el('button', {
      type: 'button',
      class: 'vote',
      'aria-pressed': String(voted),
      'aria-busy': state.voting.has(q.id) ? 'true' : null,
      dataset: { focus: `vote-${q.id}` },
      onclick: () => toggleVote(q.id),
    },
    el('span', { class: 'vote__arrow', 'aria-hidden': 'true', text: '▲' }),
    el('span', { class: 'visually-hidden', text: `${voted ? t('Upvoted') : t('Upvote')}, ` }),
    el('span', { class: 'vote__count', text: q.votes }),
    el('span', { class: 'visually-hidden', text: ` ${voteWord(q.votes)}` }))
    : el('p', { class: 'vote vote--static' },
      el('span', { class: 'vote__count', text: q.votes }),
      el('span', { class: 'vote__label', text: voteWord(q.votes) }));
  return el('li', { class: `question card${q.state === 'answered' ? ' question--done' : ''}${q.state === 'on_stage' ? ' question--live' : ''}` },
    votes,
    el('div', { class: 'question__body' },
      el('p', { class: 'question__text', text: q.text }),
      el('p', { class: 'question__meta' },
        el('span', { class: 'question__author', text: authorName(q) }),
        session ? el('span', { text: t('on %(session)s', { session }) }) : null,
        el('time', { datetime: q.created_at, text: formatTime(q.created_at) }),
        own ? el('span', { class: 'badge badge--muted', text: t('Your question') }) : null,
        q.state !== 'approved' ? badge(q.state) : null)));
}

async function toggleVote(id) {
  if (state.voting.has(id)) return;
  const voted = state.myVotes.has(id);
  state.voting.add(id);
  renderQuestions();
  try {
    const result = await command(socket, voted ? 'unvote' : 'vote', { question_id: id });
    if (result.voted) state.myVotes.add(result.question_id);
    else state.myVotes.delete(result.question_id);
    const q = state.questions.get(result.question_id);
    if (q) state.questions.set(q.id, { ...q, votes: result.votes });
    announce(result.voted
      ? tn('Upvoted. %(num)s vote.', 'Upvoted. %(num)s votes.', result.votes)
      : tn('Upvote removed. %(num)s vote.', 'Upvote removed. %(num)s votes.', result.votes));
  } catch (error) {
    notify(errorText(error), 'error');
  } finally {
    state.voting.delete(id);
    renderQuestions();
  }
}

function mineStateText(q) {
  let text = MINE_STATES[q.state] || q.state;
  if (q.state === 'rejected' && q.reject_reason) text = t('%(state)s: %(reason)s', { state: text, reason: REJECT_REASONS[q.reject_reason] || q.reject_reason });
  return text;
}

function renderMine() {
  const items = [...state.mine.values()].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
  renderList($('mine-list'), items, {
    key: (q) => q.id,
    signature: (q) => JSON.stringify([q.text, q.state, q.reject_reason, q.votes]),
    build: (q) => el('li', { class: `mine mine--${q.state}` },
      el('p', { class: 'mine__text', text: q.text }),
      el('p', { class: 'mine__state' },
        el('span', { class: `status-dot status-dot--${q.state}`, 'aria-hidden': 'true' }),
        el('span', { text: mineStateText(q) }),
        PUBLIC_STATES.has(q.state) ? el('span', { class: 'muted', text: ` · ${tn('%(num)s vote', '%(num)s votes', q.votes)}` }) : null),
      WITHDRAWABLE.has(q.state)
        ? el('button', {
          type: 'button',
          class: 'button button--quiet button--small',
          dataset: { focus: `withdraw-${q.id}` },
          onclick: () => withdraw(q),
        }, t('Withdraw'), el('span', { class: 'visually-hidden', text: `: ${shorten(q.text, 40)}` }))
        : null),
  });
  if (!items.length) {
    $('mine-list').replaceChildren(el('li', { class: 'empty', text: t('Questions you ask appear here, with what happened to them.') }));
  }
}

async function withdraw(q) {
  if (!window.confirm(t('Withdraw this question? It will no longer be shown or answered.'))) return;
  try {
    const result = await command(socket, 'withdraw_question', { question_id: q.id });
    upsertMine(result, false);
    notify(t('Your question was withdrawn.'));
  } catch (error) {
    notify(errorText(error), 'error');
  }
}

function renderViewer() {
  const viewer = state.viewer;
  if (!viewer) return;
  const anonymous = $('question-anonymous');
  const inRoom = viewer.channel === 'in_room';
  let asking = inRoom
    ? t("You're asking as %(name)s, in the room.", { name: viewer.display_name })
    : t("You're asking as %(name)s, remotely.", { name: viewer.display_name });
  if (!viewer.display_name) {
    asking = anonymous
      ? (inRoom
        ? t("You haven't given a name, so your questions are anonymous. You're taking part in the room.")
        : t("You haven't given a name, so your questions are anonymous. You're taking part remotely."))
      : t('Add your name below to ask a question.');
  }
  $('asking-as').textContent = asking;
  if (anonymous) anonymous.closest('.field').hidden = !viewer.display_name;
  const blocked = Boolean(viewer.blocked);
  $('blocked-note').hidden = !blocked;
  for (const control of $('ask-form').elements) control.disabled = blocked;
  const nameInput = $('display-name');
  if (document.activeElement !== nameInput) nameInput.value = viewer.display_name || '';
}

function fillSessions() {
  const select = $('question-session');
  const chosen = select.value;
  const options = state.event.sessions
    .filter((s) => s.kind !== 'break')
    .map((s) => el('option', { value: String(s.id), text: `${formatTime(s.starts_at)} · ${s.title}` }));
  select.replaceChildren(el('option', { value: '', text: t('No particular session') }), ...options);
  select.value = chosen;
  select.closest('.field').hidden = options.length === 0;
}

/** Until the viewer picks one, questions stem from the session playing in the watched room. */
function suggestSession(session) {
  const select = $('question-session');
  if (sessionChosen || !session || ![...select.options].some((o) => o.value === String(session.id))) return;
  select.value = String(session.id);
}
$('question-session').addEventListener('change', () => { sessionChosen = true; });

// --- asking ------------------------------------------------------------------------------

function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16)); // also works outside HTTPS
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const textArea = $('question-text');
const counter = $('question-count');
const maxLength = Number(textArea.getAttribute('maxlength'));

function updateCounter() {
  const used = textArea.value.length;
  counter.textContent = `${used} / ${maxLength}`;
  counter.dataset.level = used >= maxLength ? 'full' : used > maxLength * 0.9 ? 'near' : '';
}
textArea.addEventListener('input', updateCounter);

$('ask-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const summary = $('ask-error');
  clearFieldErrors(form);
  const text = textArea.value.trim();
  if (!text) {
    summary.textContent = t('Write your question first.');
    summary.hidden = false;
    textArea.focus();
    return;
  }
  const named = Boolean(state.viewer && state.viewer.display_name);
  const anonymous = $('question-anonymous');
  if (!named && !anonymous) {
    summary.textContent = t('This event needs a name with each question. Add your name below first.');
    summary.hidden = false;
    $('name-form').closest('details').open = true;
    $('display-name').focus();
    return;
  }
  draftClientId = draftClientId || newClientId(); // kept until acknowledged, so a retry is not a duplicate
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const question = await command(socket, 'submit_question', {
      client_id: draftClientId,
      text,
      session_id: form.elements.session_id.value ? Number(form.elements.session_id.value) : null,
      anonymous: !named || Boolean(anonymous && anonymous.checked),
    });
    draftClientId = null;
    textArea.value = '';
    updateCounter();
    upsertMine(question, false);
    if (question.duplicate) notify(t('We already have this question from you.'));
    else if (question.state === 'pending') notify(t('Thank you. Your question is waiting for a moderator.'));
    else notify(t('Thank you. Your question has been posted.'));
  } catch (error) {
    if (error.code === 'viewer_blocked' && state.viewer) {
      state.viewer = { ...state.viewer, blocked: true };
      renderViewer();
    }
    showFieldErrors(form, error, summary);
  } finally {
    button.disabled = Boolean(state.viewer && state.viewer.blocked);
  }
});

$('name-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const value = $('display-name').value.trim();
  try {
    state.viewer = await command(socket, 'set_display_name', { display_name: value || null });
    renderViewer();
    notify(value ? t('Your name is now %(name)s.', { name: value }) : t('Your name was cleared; new questions show as Anonymous.'));
    form.closest('details').open = false;
  } catch (error) {
    notify(errorText(error), 'error');
  }
});

for (const radio of document.querySelectorAll('input[name="sort"]')) {
  radio.addEventListener('change', () => {
    state.sort = radio.value;
    renderQuestions();
  });
}

// --- start -------------------------------------------------------------------------------

localiseTimes();
const zone = $('agenda-zone');
if (zone) zone.textContent = t('Times are shown in your time zone (%(zone)s).', { zone: Intl.DateTimeFormat().resolvedOptions().timeZone });
updateCounter();
if (token) {
  localStorage.setItem(TOKEN_KEY, token);
  if (token !== config.viewer_token) shareToken();
  $('join-panel').hidden = true; // the server showed it: it had no cookie for this viewer
  showAskPanel();
  startSocket();
} else {
  $('join-panel').hidden = false;
  startPublic();
}

/**
 * Before joining (the viewer stream needs a token), follow the public stream of the stage
 * screens: the webcast and what is on stage stay live; questions are fetched once.
 */
function startPublic() {
  publicSocket = connect('/stage', (send) => send({ event: slug, room: Number(watch.roomId) || null }));
  watch.follow(publicSocket, 'stage');
  new LiveState(publicSocket, {
    onSnapshot: (data) => {
      if (socket) return; // joined meanwhile: the viewer stream has taken over
      state.event = data.event;
      state.stages = data.stages;
      fillSessions();
      watch.setEvent(data.event);
      watch.setRooms(data.rooms || {});
      renderStage();
      renderQuestions();
    },
    onEntry: (entry) => {
      if (entry.type === 'room') watch.updateRoom(entry.room);
      if (entry.type === 'event') {
        state.event = entry.event;
        fillSessions();
        watch.setEvent(entry.event);
      }
      if (entry.type === 'stage') {
        state.stages[entry.room_id] = entry.question;
        renderStage();
      }
    },
  });
  api('GET', `/events/${encodeURIComponent(slug)}/questions?sort=votes`).then((questions) => {
    if (socket) return; // the live snapshot is newer
    state.questions = new Map(questions.map((q) => [q.id, q]));
    renderQuestions();
  }).catch(() => { /* the page still works: joining starts the live stream */ });
}
