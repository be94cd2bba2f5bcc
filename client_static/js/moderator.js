// The moderator console: every question live, with approve, reject, edit, star, merge, block.
import { FLAG_TEXT, REJECT_REASONS, announce, el, notify, renderList, tryCommand } from './common.js';
import { t } from './i18n.js';
import { StaffState, forwardControl, panelsKey, questionHead, shorten } from './staff.js';
import { StaffRoomWatch } from './whep.js';

const TABS = {
  pending: (q) => q.state === 'pending',
  approved: (q) => ['approved', 'queued', 'on_stage'].includes(q.state),
  rejected: (q) => q.state === 'rejected',
  all: () => true,
};
const OPEN = new Set(['pending', 'approved', 'queued']);
const MERGE_TARGETS = new Set(['pending', 'approved', 'queued', 'on_stage', 'answered']);

const $ = (id) => document.getElementById(id);
const ui = {
  tab: 'pending',
  editing: new Map(), // question id -> draft text
  reasons: new Map(), // question id -> chosen reject reason
  mergeInto: new Map(), // question id -> chosen target id
};

const store = new StaffState('/moderator', (entry) => {
  if (entry === null) fillSessionFilter();
  if (entry && entry.type === 'question' && entry.causes && entry.causes.includes('QuestionSubmitted')) {
    announce(entry.question.author
      ? t('New question to moderate from %(author)s: %(text)s', { author: entry.question.author, text: entry.question.text })
      : t('New question to moderate from an anonymous viewer: %(text)s', { text: entry.question.text }));
  }
  render();
  roomWatch.update(store.event, store.rooms);
});
const roomWatch = new StaffRoomWatch($('room-watch'));
const socket = store.socket;

function fillSessionFilter() {
  const select = $('filter-session');
  const chosen = select.value;
  select.replaceChildren(
    el('option', { value: '', text: t('All sessions') }),
    el('option', { value: 'none', text: t('No session') }),
    ...store.event.sessions.filter((s) => s.kind !== 'break').map((s) => el('option', { value: String(s.id), text: s.title })),
  );
  select.value = chosen;
}

function passesFilters(q) {
  const session = $('filter-session').value;
  if (session === 'none' && q.session_id !== null) return false;
  if (session && session !== 'none' && String(q.session_id) !== session) return false;
  const channel = $('filter-channel').value;
  if (channel && q.channel !== channel) return false;
  if ($('filter-flagged').checked && !(q.flags && q.flags.length)) return false;
  return true;
}

function render() {
  const all = [...store.questions.values()].filter(passesFilters);
  for (const [name, test] of Object.entries(TABS)) {
    document.querySelector(`[data-count="${name}"]`).textContent = all.filter(test).length;
  }
  const oldestFirst = ui.tab === 'pending';
  const items = all.filter(TABS[ui.tab]).sort((a, b) => {
    const order = a.created_at.localeCompare(b.created_at) || a.id - b.id;
    return oldestFirst ? order : -order;
  });
  const targets = [...store.questions.values()].filter((q) => MERGE_TARGETS.has(q.state));
  const targetSig = targets.map((q) => `${q.id}:${q.version}`).join(',');
  $('mod-empty').hidden = items.length > 0;
  renderList($('mod-list'), items, {
    key: (q) => q.id,
    signature: (q) => JSON.stringify([q.version, q.votes, q.state, ui.editing.has(q.id), store.blocked.has(q.viewer_id), OPEN.has(q.state) ? targetSig : '', panelsKey(store)]),
    build: (q) => card(q, targets),
  });
}

function card(q, targets) {
  const editing = ui.editing.has(q.id);
  return el('li', { class: `card staff-question staff-question--${q.state}${q.starred ? ' staff-question--starred' : ''}` },
    questionHead(store, q),
    editing ? editForm(q) : el('p', { class: 'staff-question__text', text: q.text }),
    q.original_text && q.original_text !== q.text
      ? el('p', { class: 'original' }, `${t('Edited. Original:')} `, el('q', { text: q.original_text }))
      : null,
    q.flags && q.flags.length
      ? el('ul', { class: 'flags', 'aria-label': t('Flags') }, q.flags.map((flag) => el('li', { class: 'badge badge--flag', text: FLAG_TEXT[flag] || flag })))
      : null,
    editing ? null : actions(q, targets));
}

function actions(q, targets) {
  const id = q.id;
  const row = el('div', { class: 'actions' });
  const describe = t('question %(id)s', { id });
  if (q.state === 'pending' || q.state === 'rejected') {
    row.append(el('button', {
      type: 'button', class: 'button button--primary button--small', dataset: { focus: `approve-${id}` },
      onclick: () => act('approve_question', { question_id: id }, t('Approved.')),
    }, t('Approve'), el('span', { class: 'visually-hidden', text: ` ${describe}` })));
  }
  if (q.state === 'pending' || q.state === 'approved') {
    const select = el('select', {
      id: `reason-${id}`, dataset: { focus: `reason-${id}` },
      onchange: (event) => ui.reasons.set(id, event.target.value),
    }, el('option', { value: '', text: t('No reason given') }),
    Object.entries(REJECT_REASONS).map(([code, label]) => el('option', { value: code, text: label, selected: ui.reasons.get(id) === code })));
    row.append(el('span', { class: 'inline-select' },
      el('label', { class: 'visually-hidden', for: `reason-${id}`, text: t('Reason for rejecting %(question)s', { question: describe }) }),
      select,
      el('button', {
        type: 'button', class: 'button button--danger button--small', dataset: { focus: `reject-${id}` },
        onclick: () => act('reject_question', { question_id: id, reason: ui.reasons.get(id) || null }, t('Rejected.')),
      }, t('Reject'), el('span', { class: 'visually-hidden', text: ` ${describe}` }))));
  }
  if (OPEN.has(q.state)) {
    row.append(
      el('button', {
        type: 'button', class: 'button button--small', dataset: { focus: `edit-${id}` },
        onclick: () => { ui.editing.set(id, q.text); render(); focusLater(`edit-text-${id}`); },
      }, t('Edit'), el('span', { class: 'visually-hidden', text: ` ${describe}` })),
      el('button', {
        type: 'button', class: 'button button--small', 'aria-pressed': String(Boolean(q.starred)), dataset: { focus: `star-${id}` },
        onclick: () => act('star_question', { question_id: id, starred: !q.starred }, q.starred ? t('Star removed.') : t('Starred for the chair.')),
      }, q.starred ? `★ ${t('Starred')}` : `☆ ${t('Star')}`, el('span', { class: 'visually-hidden', text: ` ${describe}` })),
    );
    const options = targets.filter((t) => t.id !== id);
    if (options.length) {
      const select = el('select', {
        id: `merge-${id}`, dataset: { focus: `merge-${id}` },
        onchange: (event) => ui.mergeInto.set(id, event.target.value),
      }, el('option', { value: '', text: t('Merge into…') }),
      options.map((t) => el('option', { value: String(t.id), text: `#${t.id} ${shorten(t.text, 50)}`, selected: ui.mergeInto.get(id) === String(t.id) })));
      row.append(el('span', { class: 'inline-select' },
        el('label', { class: 'visually-hidden', for: `merge-${id}`, text: t('Question to merge %(question)s into', { question: describe }) }),
        select,
        el('button', {
          type: 'button', class: 'button button--small', dataset: { focus: `merge-go-${id}` },
          onclick: () => {
            const target = ui.mergeInto.get(id);
            if (!target) {
              notify(t('Choose the question to merge this one into first.'), 'error');
              document.getElementById(`merge-${id}`).focus();
              return;
            }
            act('merge_question', { question_id: id, into_question_id: Number(target) }, t('Merged into #%(id)s.', { id: target }));
          },
        }, t('Merge'), el('span', { class: 'visually-hidden', text: ` ${describe}` }))));
    }
  }
  const forward = forwardControl(store, q);
  if (forward) row.append(forward);
  if (q.viewer_id) {
    const blocked = store.blocked.has(q.viewer_id);
    row.append(el('button', {
      type: 'button', class: 'button button--quiet button--small', dataset: { focus: `block-${id}` },
      onclick: () => block(q.viewer_id, !blocked),
    }, blocked ? t('Unblock author') : t('Block author'), el('span', { class: 'visually-hidden', text: ' ' + t('of %(question)s', { question: describe }) })));
  }
  return row;
}

function editForm(q) {
  const id = q.id;
  const area = el('textarea', {
    id: `edit-text-${id}`, rows: 3, dataset: { focus: `edit-text-${id}` },
    oninput: (event) => ui.editing.set(id, event.target.value),
  });
  area.value = ui.editing.get(id);
  const cancel = () => { ui.editing.delete(id); render(); focusLater(`edit-${id}`); };
  return el('form', {
    class: 'edit-form',
    onsubmit: async (event) => {
      event.preventDefault();
      const text = ui.editing.get(id).trim();
      if (!text) { notify(t('The question cannot be empty.'), 'error'); return; }
      const result = await tryCommand(socket, 'edit_question', { question_id: id, text });
      if (result) {
        ui.editing.delete(id);
        store.upsert(result);
        render();
        focusLater(`edit-${id}`);
        announce(t('Saved.'));
      }
    },
    onkeydown: (event) => { if (event.key === 'Escape') cancel(); },
  },
  el('label', { for: area.id, text: t('Edit the wording of question %(id)s', { id }) }),
  area,
  el('div', { class: 'actions' },
    el('button', { type: 'submit', class: 'button button--primary button--small', dataset: { focus: `save-${id}` } }, t('Save')),
    el('button', { type: 'button', class: 'button button--small', onclick: cancel, dataset: { focus: `cancel-${id}` } }, t('Cancel'))));
}

function focusLater(focusKey) {
  requestAnimationFrame(() => document.querySelector(`[data-focus="${focusKey}"]`)?.focus());
}

async function act(name, payload, done) {
  const result = await tryCommand(socket, name, payload);
  if (!result) return;
  if (result.id && result.version !== undefined) store.upsert(result);
  render();
  announce(done);
}

async function block(viewerId, blocked) {
  const result = await tryCommand(socket, 'block_viewer', { viewer_id: viewerId, blocked });
  if (result === undefined) return;
  if (blocked) store.blocked.add(viewerId);
  else store.blocked.delete(viewerId);
  render();
  announce(blocked ? t('Author blocked: they can no longer ask questions.') : t('Author unblocked.'));
}

// --- tabs (WAI-ARIA tabs pattern: arrow keys move between tabs) -------------------------------

const tabs = [...document.querySelectorAll('#mod-tabs [role="tab"]')];
function selectTab(tab, focus) {
  for (const other of tabs) {
    const selected = other === tab;
    other.setAttribute('aria-selected', String(selected));
    other.tabIndex = selected ? 0 : -1;
  }
  ui.tab = tab.dataset.tab;
  $('mod-panel').setAttribute('aria-labelledby', tab.id);
  if (focus) tab.focus();
  render();
}
for (const tab of tabs) {
  tab.addEventListener('click', () => selectTab(tab, false));
  tab.addEventListener('keydown', (event) => {
    const index = tabs.indexOf(tab);
    const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    selectTab(tabs[(next + tabs.length) % tabs.length], true);
  });
}
for (const id of ['filter-session', 'filter-channel', 'filter-flagged']) $(id).addEventListener('change', render);
$('mod-filters').addEventListener('submit', (event) => event.preventDefault());
