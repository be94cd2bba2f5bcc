// The organiser page: events, their settings, rooms, agenda, staff, statistics and audit log.
import { ApiError, REJECT_REASONS, api, el, errorText, formatDateTime, formatTime, handleForm, notify } from './common.js';
import { t } from './i18n.js';

const $ = (id) => document.getElementById(id);
let current = null; // the event detail being managed

const ROLES = { admin: t('Organiser (admin)'), moderator: t('Moderator'), chair: t('Panel chair') };
const KINDS = { keynote: t('Keynote'), workshop: t('Workshop'), panel: t('Panel'), unconference: t('Unconference'), break: t('Break'), other: t('Other') };
const STAT_LABELS = {
  received: t('Received'), pending: t('Pending'), approved: t('Approved'), answered: t('Answered'),
  rejected: t('Rejected'), withdrawn: t('Withdrawn'), merged: t('Merged'),
};
const path = (slug) => `/events/${encodeURIComponent(slug)}`;

const text = (form, name) => form.elements[name].value.trim();
const optional = (value) => (value === '' ? null : value);

// --- events -----------------------------------------------------------------------------

function renderEventList(events) {
  const list = $('admin-events');
  list.replaceChildren(...(events.length ? events.map((e) => el('li', {},
    el('button', { type: 'button', class: 'link-button', dataset: { event: e.slug }, text: e.title, 'aria-current': current && current.slug === e.slug ? 'true' : null }),
    ' ', el('span', { class: 'muted', text: `/${e.slug}` }))) : [el('li', { class: 'empty', text: t('No events yet.') })]));
}

$('admin-events').addEventListener('click', (event) => {
  const button = event.target.closest('button[data-event]');
  if (button) openEvent(button.dataset.event, true);
});

async function refreshEvents() {
  renderEventList(await api('GET', '/events'));
}

async function openEvent(slug, focus) {
  try {
    current = await api('GET', path(slug));
  } catch (error) {
    notify(errorText(error), 'error');
    return;
  }
  for (const button of document.querySelectorAll('#admin-events button')) {
    if (button.dataset.event === slug) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
  }
  $('event-placeholder').hidden = true;
  $('event-manage').hidden = false;
  renderEvent();
  refreshInsights();
  if (focus) {
    $('manage-title').tabIndex = -1;
    $('manage-title').focus();
  }
}

/** The QR code and short link people use to open the viewer page (server/http/join_links.py). */
async function renderJoinCard(e) {
  let link;
  try {
    const response = await fetch(`/e/${encodeURIComponent(e.slug)}/join-link.json`, { credentials: 'same-origin' });
    if (!response.ok) throw new Error(String(response.status));
    link = await response.json();
  } catch {
    $('join-card').hidden = true;
    return;
  }
  if (current !== e) return; // another event was opened meanwhile
  $('join-qr').src = link.qr;
  $('join-qr').alt = t('QR code that opens the viewer page of %(event)s: %(url)s', { event: e.title, url: link.viewer_url });
  $('join-url').href = link.url;
  $('join-url').textContent = link.display;
  $('join-copied').textContent = '';
  $('join-card').hidden = false;
}

$('join-copy').addEventListener('click', async () => {
  const link = $('join-url');
  try {
    await navigator.clipboard.writeText(link.href);
    $('join-copied').textContent = t('Copied: %(url)s', { url: link.textContent });
  } catch {
    // No clipboard (a page served over plain HTTP): select the link text to copy by hand.
    window.getSelection().selectAllChildren(link);
    $('join-copied').textContent = t('Press Ctrl+C (or ⌘+C) to copy the selected link.');
  }
});

function renderEvent() {
  const e = current;
  $('manage-title').textContent = e.title;
  const base = `/e/${e.slug}`;
  $('event-links').replaceChildren(
    el('li', {}, el('a', { href: base, text: t('Viewer page') })),
    el('li', {}, el('a', { href: `${base}/moderate`, text: t('Moderate') })),
    el('li', {}, el('a', { href: `${base}/chair`, text: t('Chair') })),
    el('li', {}, el('a', { href: `${base}/webcast`, text: t('Webcast console') })),
    el('li', {}, el('a', { href: `${base}/reports`, text: t('Reach report') })),
    el('li', {}, el('a', { href: `${base}/privacy`, text: t('Viewers’ privacy page') })),
    ...e.rooms.flatMap((r) => [
      el('li', {}, el('a', { href: `${base}/stage/${r.id}`, text: t('Stage: %(room)s', { room: r.name }) })),
      el('li', {}, el('a', { href: `${base}/overlay/${r.id}`, text: t('Overlay: %(room)s', { room: r.name }) })),
    ]),
  );
  renderJoinCard(e);
  const form = $('settings-form');
  form.elements.title.value = e.title;
  form.elements.description.value = e.description || '';
  form.elements.timezone.value = e.timezone || '';
  form.elements.max_question_length.value = e.max_question_length;
  form.elements.auto_approve.checked = Boolean(e.auto_approve);
  form.elements.allow_anonymous.checked = Boolean(e.allow_anonymous);

  $('room-list').replaceChildren(...(e.rooms.length
    ? e.rooms.map((r) => el('li', {}, el('strong', { text: r.name }), ' ', el('span', { class: 'muted', text: `(${r.slug}, id ${r.id})` })))
    : [el('li', { class: 'empty', text: t('No rooms yet. Add the stages questions will be put on.') })]));
  const roomSelect = $('ss-room');
  roomSelect.replaceChildren(el('option', { value: '', text: t('No room') }), ...e.rooms.map((r) => el('option', { value: String(r.id), text: r.name })));

  const roomName = (id) => (e.rooms.find((r) => r.id === id) || {}).name;
  $('session-list').replaceChildren(...(e.sessions.length
    ? e.sessions.map((s) => el('li', { class: `agenda__item agenda__item--${s.kind}` },
      el('p', { class: 'agenda__time' }, el('time', { datetime: s.starts_at, text: formatDateTime(s.starts_at) }), '–', el('time', { datetime: s.ends_at, text: formatTime(s.ends_at) })),
      el('p', { class: 'agenda__title', text: s.title }),
      el('p', { class: 'agenda__room', text: [KINDS[s.kind] || s.kind, roomName(s.room_id)].filter(Boolean).join(' · ') })))
    : [el('li', { class: 'empty', text: t('No sessions yet.') })]));
}

handleForm($('create-event-form'), async (form) => {
  const body = { slug: text(form, 'slug'), title: text(form, 'title') };
  if (text(form, 'description')) body.description = text(form, 'description');
  if (text(form, 'timezone')) body.timezone = text(form, 'timezone');
  const created = await api('POST', '/events', body);
  form.reset();
  notify(t('Event “%(title)s” created.', { title: created.title }));
  await refreshEvents();
  openEvent(created.slug, true);
});

handleForm($('settings-form'), async (form) => {
  const body = {
    title: text(form, 'title'),
    description: text(form, 'description'),
    auto_approve: form.elements.auto_approve.checked,
    allow_anonymous: form.elements.allow_anonymous.checked,
  };
  if (text(form, 'timezone')) body.timezone = text(form, 'timezone');
  if (text(form, 'max_question_length')) body.max_question_length = Number(text(form, 'max_question_length'));
  current = await api('PATCH', path(current.slug), body);
  renderEvent();
  refreshEvents();
  refreshInsights();
  notify(t('Settings saved.'));
});

handleForm($('room-form'), async (form) => {
  const room = await api('POST', `${path(current.slug)}/rooms`, { slug: text(form, 'slug'), name: text(form, 'name') });
  form.reset();
  notify(t('Room “%(room)s” added.', { room: room.name }));
  await openEvent(current.slug, false);
});

/** Suggest an address name from a title until the organiser types one themselves. */
function suggestSlug(source, target) {
  source.addEventListener('input', () => {
    if (target.dataset.touched) return;
    target.value = source.value.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 64);
  });
  target.addEventListener('input', () => { target.dataset.touched = 'yes'; });
  target.form.addEventListener('reset', () => { delete target.dataset.touched; });
}
suggestSlug($('rm-name'), $('rm-slug'));
suggestSlug($('ce-title'), $('ce-slug'));

handleForm($('session-form'), async (form) => {
  const startValue = form.elements.starts_at.value;
  const endValue = form.elements.ends_at.value;
  const body = {
    title: text(form, 'title'),
    kind: form.elements.kind.value,
    room_id: optional(form.elements.room_id.value) && Number(form.elements.room_id.value),
    // datetime-local is the organiser's local time; toISOString() states it in UTC.
    starts_at: startValue ? new Date(startValue).toISOString() : '',
    ends_at: endValue ? new Date(endValue).toISOString() : '',
  };
  await api('POST', `${path(current.slug)}/sessions`, body);
  form.reset();
  notify(t('Session added to the agenda.'));
  await openEvent(current.slug, false);
});

// --- statistics and audit ---------------------------------------------------------------

async function refreshInsights() {
  const slug = current.slug;
  try {
    const [stats, audit] = await Promise.all([api('GET', `${path(slug)}/stats`), api('GET', `${path(slug)}/audit?limit=100`)]);
    if (!current || current.slug !== slug) return;
    renderStats(stats);
    renderAudit(audit);
  } catch (error) {
    notify(errorText(error), 'error');
  }
}

function renderStats(stats) {
  const entries = Object.entries(STAT_LABELS).map(([key, label]) => el('div', {}, el('dt', { text: label }), el('dd', { text: stats[key] ?? 0 })));
  for (const [reason, count] of Object.entries(stats.rejected_by_reason || {})) {
    entries.push(el('div', {}, el('dt', { text: t('Rejected: %(reason)s', { reason: (REJECT_REASONS[reason] || reason).toLowerCase() }) }), el('dd', { text: count })));
  }
  $('stats').replaceChildren(...entries);
}

function renderAudit(entries) {
  const body = $('audit-body');
  if (!entries.length) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: '5', class: 'muted', text: t('Nothing has happened yet.') })));
    return;
  }
  body.replaceChildren(...entries.map((entry) => el('tr', {},
    el('td', {}, el('time', { datetime: entry.at, text: formatDateTime(entry.at) })),
    el('td', { text: entry.actor ? (entry.actor.name || entry.actor.kind) : '' }),
    el('td', { text: entry.action.replace(/([a-z])([A-Z])/g, '$1 $2') }),
    el('td', { text: entry.question_id ? `#${entry.question_id}` : '' }),
    el('td', { text: [entry.reason ? (REJECT_REASONS[entry.reason] || entry.reason) : '', entry.details ? describeDetails(entry.details) : ''].filter(Boolean).join(' · ') }))));
}

function describeDetails(details) {
  if (typeof details === 'string') return details;
  return Object.entries(details).map(([key, value]) => `${key.replace(/_/g, ' ')}: ${typeof value === 'object' ? JSON.stringify(value) : value}`).join(', ');
}

$('refresh-stats').addEventListener('click', () => {
  refreshInsights();
  notify(t('Statistics and audit log refreshed.'));
});

// --- staff ------------------------------------------------------------------------------

async function refreshStaff() {
  try {
    const staff = await api('GET', '/staff');
    $('staff-list').replaceChildren(...staff.map((s) => el('li', {},
      el('span', {}, el('strong', { text: s.display_name || s.username }), ' ', el('span', { class: 'muted', text: `(${s.username})` })),
      el('span', { class: 'badge badge--muted', text: ROLES[s.role] || s.role }))));
  } catch (error) {
    notify(errorText(error), 'error');
  }
}

handleForm($('staff-form'), async (form) => {
  const password = form.elements.password.value;
  if (password.length < 10) {
    throw new ApiError({ code: 'invalid_input', message: t('The password needs at least 10 characters.'), fields: { password: t('at least 10 characters') } });
  }
  const created = await api('POST', '/staff', {
    username: text(form, 'username'),
    password,
    role: form.elements.role.value,
    display_name: optional(text(form, 'display_name')),
  });
  form.reset();
  notify(t('Account “%(username)s” created.', { username: created.username }));
  refreshStaff();
});

refreshStaff();
const first = document.querySelector('#admin-events button[data-event]');
if (first) openEvent(first.dataset.event, false);
