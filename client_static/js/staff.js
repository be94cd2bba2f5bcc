// What the moderator and chair consoles share: the staff connection and the state it feeds.
import {
  ApiError, REJECT_REASONS, announce, authorName, badge, config, connect, el, errorText, formatTime, notify, showConnection, tryCommand,
} from './common.js';
import { t, tn } from './i18n.js';
import { LiveState } from './sync.js';

/**
 * The staff view of one event, kept live. `onChange(entry | null)` runs after a snapshot
 * (entry null) or after each applied entry.
 */
export class StaffState {
  constructor(namespace, onChange) {
    this.event = null;
    this.questions = new Map();
    this.runningOrders = {};
    this.stages = {};
    this.blocked = new Set();
    this.rooms = {}; // room id -> staff room view (webcast)
    this.viewerCounts = null; // room id -> viewers watching now (null: not reported yet)
    this.onChange = onChange;
    this.socket = connect(namespace, { event: config.event_slug });
    showConnection(this.socket, document.getElementById('connection'));
    this.socket.on('connect_error', (error) => {
      const code = error.data && error.data.code;
      if (code === 'not_authenticated') {
        notify(t('Your session has ended. Please log in again.'), 'error');
        setTimeout(() => window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`), 2500);
      } else if (code) {
        notify(errorText(new ApiError(error.data)), 'error');
      }
    });
    this.socket.on('viewer_counts', (data) => {
      this.viewerCounts = data.rooms || {};
      this.onChange({ type: 'viewer_counts' });
    });
    this.live = new LiveState(this.socket, {
      onSnapshot: (data) => this.snapshot(data),
      onEntry: (entry) => this.apply(entry),
      onError: (error) => {
        const reason = error.message || t('unknown error');
        notify(t('Could not catch up: %(reason)s', { reason }), 'error');
      },
    });
  }

  snapshot(data) {
    this.event = data.event;
    this.questions = new Map(data.questions.map((q) => [q.id, q]));
    this.runningOrders = data.running_orders || {};
    this.stages = data.stages || {};
    this.rooms = data.rooms || {};
    this.onChange(null);
  }

  apply(entry) {
    switch (entry.type) {
      case 'question':
        this.upsert(entry.question);
        break;
      case 'votes':
        for (const { id, votes } of entry.votes) {
          const q = this.questions.get(id);
          if (q) this.questions.set(id, { ...q, votes });
        }
        break;
      case 'stage':
        this.stages[entry.room_id] = entry.question;
        break;
      case 'running_order':
        this.runningOrders[entry.room_id] = entry.question_ids;
        break;
      case 'viewer':
        if (entry.blocked) this.blocked.add(entry.viewer_id);
        else this.blocked.delete(entry.viewer_id);
        break;
      case 'room':
        this.rooms[entry.room.id] = entry.room;
        break;
      case 'event':
        this.event = entry.event;
        break;
      default:
        break;
    }
    this.onChange(entry);
  }

  /** Keep the newer of two copies of a question (acks and pushes can cross). */
  upsert(question) {
    const known = this.questions.get(question.id);
    if (known && known.version > question.version) return;
    this.questions.set(question.id, question);
  }

  sessionTitle(id) {
    const found = this.event && this.event.sessions.find((s) => s.id === id);
    return found ? found.title : null;
  }

  roomName(id) {
    const found = this.event && this.event.rooms.find((r) => String(r.id) === String(id));
    return found ? found.name : t('Room %(id)s', { id });
  }
}

export const CHANNELS = { in_room: t('In the room'), remote: t('Remote') };

/** The line above a question's text: author, channel, session, time, votes, state. */
export function questionHead(store, q, { showState = true } = {}) {
  const session = store.sessionTitle(q.session_id);
  const from = q.forwarded_from_session_id ? store.sessionTitle(q.forwarded_from_session_id) : null;
  return el('p', { class: 'staff-question__head' },
    el('strong', { class: 'question__author', text: authorName(q) }),
    q.channel ? el('span', { text: CHANNELS[q.channel] || q.channel }) : null,
    session ? el('span', { text: session }) : null,
    from ? el('span', { class: 'badge badge--queued', text: t('from %(session)s', { session: from }) }) : null,
    el('time', { datetime: q.created_at, text: formatTime(q.created_at) }),
    el('span', { text: tn('%(num)s vote', '%(num)s votes', q.votes) }),
    `#${q.id}`,
    q.starred ? el('span', { class: 'badge badge--star', text: `★ ${t('Starred')}` }) : null,
    showState ? badge(q.state) : null,
    q.state === 'rejected' && q.reject_reason ? el('span', { text: REJECT_REASONS[q.reject_reason] || q.reject_reason }) : null,
    store.blocked.has(q.viewer_id) ? el('span', { class: 'badge badge--rejected', text: t('Author blocked') }) : null);
}

export function shorten(text, length = 60) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

const FORWARDABLE = new Set(['pending', 'approved', 'queued']);

/** The agenda's panel sessions, as a key for list signatures (cards rebuild when it changes). */
export function panelsKey(store) {
  return store.event ? store.event.sessions.filter((s) => s.kind === 'panel').map((s) => `${s.id}:${s.title}`).join(',') : '';
}

/** "Forward to…" a panel session, for an open question; null when there is no other panel. */
export function forwardControl(store, q) {
  const panels = store.event.sessions.filter((s) => s.kind === 'panel' && s.id !== q.session_id);
  if (!FORWARDABLE.has(q.state) || !panels.length) return null;
  const id = `forward-${q.id}`;
  const select = el('select', { id, dataset: { focus: id } },
    el('option', { value: '', text: t('Forward to…') }),
    panels.map((s) => el('option', { value: String(s.id), text: s.title })));
  return el('span', { class: 'inline-select' },
    el('label', { class: 'visually-hidden', for: id, text: t('Panel session to forward question %(id)s to', { id: q.id }) }),
    select,
    el('button', {
      type: 'button', class: 'button button--small', dataset: { focus: `forward-go-${q.id}` },
      onclick: async () => {
        if (!select.value) {
          notify(t('Choose the panel session to forward this question to first.'), 'error');
          select.focus();
          return;
        }
        const title = select.selectedOptions[0].textContent;
        const result = await tryCommand(store.socket, 'forward_question', { question_id: q.id, session_id: Number(select.value) });
        if (!result) return;
        store.upsert(result);
        store.onChange({ type: 'question', question: result });
        announce(t('Forwarded to %(session)s.', { session: title }));
      },
    }, t('Forward'), el('span', { class: 'visually-hidden', text: ' ' + t('question %(id)s', { id: q.id }) })));
}
