// The chair console: pick approved questions into a room's running order, put one on stage.
import { announce, config, el, notify, renderList, tryCommand } from './common.js';
import { t } from './i18n.js';
import { StaffState, forwardControl, panelsKey, questionHead, shorten } from './staff.js';
import { StaffRoomWatch } from './whep.js';

const $ = (id) => document.getElementById(id);
const roomSelect = $('room-select');
let roomId = config.room_id && [...roomSelect.options].some((o) => o.value === String(config.room_id))
  ? String(config.room_id)
  : roomSelect.value;
roomSelect.value = roomId;
let dragging = null;

const store = new StaffState('/chair', (entry) => {
  if (entry && entry.type === 'stage' && String(entry.room_id) === roomId) {
    announce(entry.question ? t('On stage now: %(text)s', { text: entry.question.text }) : t('The stage is clear.'));
  }
  if (!dragging) render();
  roomWatch.update(store.event, store.rooms);
});
const roomWatch = new StaffRoomWatch($('room-watch'));
const socket = store.socket;

function updateLinks() {
  const base = `/e/${encodeURIComponent(config.event_slug)}`;
  $('stage-link').href = `${base}/stage/${roomId}`;
  $('overlay-link').href = `${base}/overlay/${roomId}`;
  $('stage-link').hidden = !roomId;
  $('overlay-link').hidden = !roomId;
}

roomSelect.addEventListener('change', () => {
  roomId = roomSelect.value;
  const url = new URL(window.location.href);
  url.searchParams.set('room', roomId);
  window.history.replaceState(null, '', url);
  updateLinks();
  render();
  announce(t('Showing %(room)s.', { room: store.roomName(roomId) }));
});

function render() {
  if (!store.event) return;
  renderStage();
  renderApproved();
  renderOrder();
}

function renderStage() {
  $('on-stage-room').textContent = store.roomName(roomId);
  const current = store.stages[roomId];
  const q = current ? (store.questions.get(current.id) || current) : null;
  const body = $('on-stage-body');
  const sig = q ? JSON.stringify([q.id, q.text, q.author, q.votes]) : '';
  if (body.dataset.sig === sig && body.childElementCount) return;
  body.dataset.sig = sig;
  if (!q) {
    body.replaceChildren(el('p', { class: 'empty', text: t('Nothing is on stage. Choose a question from the running order.') }));
    return;
  }
  const hadFocus = body.contains(document.activeElement) ? document.activeElement.dataset.focus : null;
  body.replaceChildren(
    el('p', { class: 'on-stage__text', text: q.text }),
    el('p', { class: 'muted', text: q.author ? `— ${q.author}` : t('Anonymous question') }),
    el('div', { class: 'actions' },
      el('button', {
        type: 'button', class: 'button button--primary', dataset: { focus: 'answered' },
        onclick: () => run('mark_answered', { question_id: q.id }, t('Marked answered.')),
      }, t('Mark answered')),
      el('button', {
        type: 'button', class: 'button', dataset: { focus: 'send-back' },
        onclick: () => run('send_back', { question_id: q.id }, t('Sent back to the running order.')),
      }, t('Send back'))));
  if (hadFocus) body.querySelector(`[data-focus="${hadFocus}"]`)?.focus();
}

function compareApproved(sort) {
  return (a, b) => {
    if (sort === 'starred' && a.starred !== b.starred) return a.starred ? -1 : 1;
    if (sort !== 'newest' && a.votes !== b.votes) return b.votes - a.votes;
    return b.created_at.localeCompare(a.created_at);
  };
}

function renderApproved() {
  const items = [...store.questions.values()].filter((q) => q.state === 'approved').sort(compareApproved($('approved-sort').value));
  $('approved-count').textContent = items.length;
  $('approved-empty').hidden = items.length > 0;
  renderList($('approved-list'), items, {
    key: (q) => q.id,
    signature: (q) => JSON.stringify([q.version, q.votes, roomId, panelsKey(store)]),
    build: (q) => el('li', { class: `card staff-question${q.starred ? ' staff-question--starred' : ''}` },
      questionHead(store, q, { showState: false }),
      el('p', { class: 'staff-question__text', text: q.text }),
      el('div', { class: 'actions' },
        el('button', {
          type: 'button', class: 'button button--primary button--small', dataset: { focus: `queue-${q.id}` },
          onclick: () => run('queue_question', { question_id: q.id, room_id: Number(roomId) }, t('Added to the running order.')),
        }, t('Add to running order'), el('span', { class: 'visually-hidden', text: `: ${shorten(q.text, 40)}` })),
        el('button', {
          type: 'button', class: 'button button--small', dataset: { focus: `stage-${q.id}` },
          onclick: () => run('put_on_stage', { question_id: q.id, room_id: Number(roomId) }, t('Put on stage.')),
        }, t('Put on stage now'), el('span', { class: 'visually-hidden', text: `: ${shorten(q.text, 40)}` })),
        forwardControl(store, q))),
  });
}

function orderIds() {
  return (store.runningOrders[roomId] || []).filter((id) => store.questions.has(id));
}

function renderOrder() {
  const ids = orderIds();
  $('order-count').textContent = ids.length;
  $('order-empty').hidden = ids.length > 0;
  renderList($('order-list'), ids.map((id, index) => ({ q: store.questions.get(id), index, last: index === ids.length - 1 })), {
    key: (item) => item.q.id,
    signature: ({ q, index, last }) => JSON.stringify([q.version, q.votes, index, last, panelsKey(store)]),
    build: orderItem,
  });
}

function orderItem({ q, index, last }) {
  const label = shorten(q.text, 40);
  const handle = el('span', { class: 'drag-handle', 'aria-hidden': 'true', title: t('Drag to reorder'), text: '⋮⋮' });
  handle.addEventListener('pointerdown', (event) => startDrag(event, q.id));
  return el('li', { class: 'card staff-question order-item' },
    handle,
    el('span', { class: 'order-item__pos', 'aria-hidden': 'true', text: index + 1 }),
    el('div', { class: 'order-item__main' },
      questionHead(store, q, { showState: false }),
      el('p', { class: 'staff-question__text', text: q.text }),
      el('div', { class: 'actions' },
        el('button', {
          type: 'button', class: 'button button--primary button--small', dataset: { focus: `stage-${q.id}` },
          onclick: () => run('put_on_stage', { question_id: q.id, room_id: Number(roomId) }, t('Put on stage.')),
        }, t('Put on stage'), el('span', { class: 'visually-hidden', text: `: ${label}` })),
        el('button', {
          type: 'button', class: 'button button--small', disabled: index === 0, dataset: { focus: `up-${q.id}` },
          onclick: () => move(q.id, index - 1),
        }, t('Move up'), el('span', { class: 'visually-hidden', text: `: ${label}` })),
        el('button', {
          type: 'button', class: 'button button--small', disabled: last, dataset: { focus: `down-${q.id}` },
          onclick: () => move(q.id, index + 1),
        }, t('Move down'), el('span', { class: 'visually-hidden', text: `: ${label}` })),
        el('button', {
          type: 'button', class: 'button button--quiet button--small', dataset: { focus: `remove-${q.id}` },
          onclick: () => run('unqueue_question', { question_id: q.id }, t('Removed from the running order.')),
        }, t('Remove'), el('span', { class: 'visually-hidden', text: `: ${label}` })),
        forwardControl(store, q))));
}

async function move(questionId, position) {
  const ids = orderIds();
  const from = ids.indexOf(questionId);
  if (position < 0 || position >= ids.length || from === position) return;
  // Show the move at once; the running_order push that follows confirms or corrects it.
  ids.splice(from, 1);
  ids.splice(position, 0, questionId);
  store.runningOrders[roomId] = ids;
  render();
  const button = document.querySelector(`[data-focus="${position === 0 ? 'down' : 'up'}-${questionId}"]`);
  if (document.activeElement === document.body || document.activeElement?.disabled) button?.focus();
  const ok = await tryCommand(socket, 'reorder_question', { room_id: Number(roomId), question_id: questionId, position });
  if (ok !== undefined) announce(t('Moved to position %(position)s of %(count)s.', { position: position + 1, count: ids.length }));
}

async function run(name, payload, done) {
  const result = await tryCommand(socket, name, payload);
  if (result === undefined) return;
  if (result && result.id && result.version !== undefined) store.upsert(result);
  render();
  announce(done);
}

// --- pointer drag-and-drop (keyboard users have Move up / Move down) --------------------------

function startDrag(event, questionId) {
  if (event.button !== 0) return;
  const list = $('order-list');
  const item = event.currentTarget.closest('li');
  event.preventDefault();
  event.currentTarget.setPointerCapture(event.pointerId);
  dragging = { questionId, item, startIndex: [...list.children].indexOf(item) };
  item.classList.add('is-dragging');
  list.classList.add('is-sorting');
  const handle = event.currentTarget;

  const onMove = (moveEvent) => {
    const siblings = [...list.children].filter((child) => child !== item);
    const before = siblings.find((child) => {
      const box = child.getBoundingClientRect();
      return moveEvent.clientY < box.top + box.height / 2;
    });
    if (before) {
      if (item.nextElementSibling !== before) list.insertBefore(item, before);
    } else if (list.lastElementChild !== item) {
      list.append(item);
    }
  };
  const onEnd = () => {
    handle.removeEventListener('pointermove', onMove);
    handle.removeEventListener('pointerup', onEnd);
    handle.removeEventListener('pointercancel', onEnd);
    item.classList.remove('is-dragging');
    list.classList.remove('is-sorting');
    const position = [...list.children].indexOf(item);
    const { startIndex } = dragging;
    dragging = null;
    if (position !== startIndex && position >= 0) move(questionId, position);
    else render();
  };
  handle.addEventListener('pointermove', onMove);
  handle.addEventListener('pointerup', onEnd);
  handle.addEventListener('pointercancel', onEnd);
}

$('approved-sort').addEventListener('change', renderApproved);
updateLinks();
if (!roomId) notify(t('This event has no rooms yet.'), 'error');
