// Shared helpers for every page: config, DOM building, announcements, HTTP and socket calls.
import { locale, t, tn } from './i18n.js';

export { locale, t, tn };

export const config = JSON.parse(document.getElementById('podium-config').textContent);

/** Build an element: el('p', {class: 'x', text: 'hi'}, child, ...). Never parses HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'text') node.textContent = value;
    else if (name === 'class') node.className = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else if (name in node && typeof value !== 'string') node[name] = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const announcer = document.getElementById('announcer');
let announceTimer;

/** Say something to screen-reader users through the polite live region. */
export function announce(message) {
  clearTimeout(announceTimer);
  announcer.textContent = '';
  // A fresh text node after a tick makes repeated identical messages be read again.
  announceTimer = setTimeout(() => { announcer.textContent = message; }, 50);
}

const toast = document.getElementById('toast');
let toastTimer;

/** Show a short visible message (and announce it). kind: 'error' | 'info'. */
export function notify(message, kind = 'info') {
  toast.textContent = message;
  toast.dataset.kind = kind;
  toast.hidden = false;
  announce(message);
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toast.hidden = true; }, kind === 'error' ? 8000 : 4000);
}

export class ApiError extends Error {
  constructor({ code = 'internal', message = t('Something went wrong.'), fields = {}, retry_after } = {}) {
    super(message);
    this.code = code;
    this.fields = fields || {};
    this.retryAfter = retry_after;
  }
}

const CODE_TEXT = {
  viewer_blocked: () => t('The moderators have paused your ability to ask questions at this event.'),
};

/** A sentence a person can act on, from an error of the API or the network. */
export function errorText(error) {
  if (!(error instanceof ApiError)) return t('Could not reach the server. Check your connection and try again.');
  if (error.code === 'rate_limited') {
    if (!error.retryAfter) return t("You're going a little fast.");
    const seconds = Math.ceil(error.retryAfter);
    return tn("You're going a little fast. Try again in %(num)s second.", "You're going a little fast. Try again in %(num)s seconds.", seconds);
  }
  // The API speaks English; the errors a person meets most often are said in their language.
  if (CODE_TEXT[error.code]) return CODE_TEXT[error.code]();
  const message = error.message || t('Something went wrong.');
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** JSON over HTTP with the staff session cookie and CSRF header. Throws ApiError. */
export function api(method, path, body) {
  return request(method, path, body === undefined ? undefined : JSON.stringify(body), 'application/json');
}

/** Send a text file's contents as the raw body (an agenda import); answers JSON like `api`. */
export function apiText(method, path, text, type = 'text/plain') {
  return request(method, path, text, `${type}; charset=utf-8`);
}

async function request(method, path, body, type) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = type;
  if (config.csrf_token && method !== 'GET') headers['X-CSRF-Token'] = config.csrf_token;
  let response;
  try {
    response = await fetch(`${config.api}${path}`, { method, headers, credentials: 'same-origin', body });
  } catch {
    throw new Error('network');
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(data.error || { message: t('The server answered %(status)s.', { status: response.status }) });
  return data;
}

// After a server restart every viewer reconnects at once: a short first wait brings them
// back soon, and the random ±50 % and the low cap spread them over the next seconds rather
// than in waves (socket.io-client's defaults, 1 s doubling to 5 s, leave the last for ~8 s).
// bench/ reconnects its viewers with the same values: keep them in step.
const RECONNECT = { reconnectionDelay: 500, reconnectionDelayMax: 2000, randomizationFactor: 0.5 };

/** Connect to a Socket.IO namespace (the vendored client defines the global `io`). */
export function connect(namespace, auth) {
  return window.io(namespace, { auth, transports: ['websocket', 'polling'], ...RECONNECT });
}

/** Emit a command and resolve with its `data`, or reject with an ApiError. */
export function command(socket, name, payload) {
  return new Promise((resolve, reject) => {
    if (!socket.connected) {
      reject(new ApiError({ code: 'offline', message: t('Not connected right now. Please wait a moment and try again.') }));
      return;
    }
    socket.timeout(15000).emit(name, payload, (timeoutError, ack) => {
      if (timeoutError) reject(new ApiError({ code: 'timeout', message: t('The server did not answer in time. Please try again.') }));
      else if (ack && ack.ok) resolve(ack.data);
      else reject(new ApiError(ack && ack.error));
    });
  });
}

/** Run a socket command and report a failure in the toast; resolves to data or undefined. */
export async function tryCommand(socket, name, payload) {
  try {
    return await command(socket, name, payload);
  } catch (error) {
    notify(errorText(error), 'error');
    return undefined;
  }
}

/** Keep the little "Live / Reconnecting" indicator in step with the socket. */
export function showConnection(socket, node) {
  if (!node) return;
  const text = node.querySelector('.connection__text');
  node.hidden = false;
  const set = (state, label) => { node.dataset.state = state; text.textContent = label; };
  socket.on('connect', () => set('live', t('Live')));
  socket.on('disconnect', () => set('offline', t('Reconnecting…')));
  socket.io.on('reconnect_attempt', () => set('offline', t('Reconnecting…')));
  socket.on('connect_error', () => set('offline', t('Connection problem, retrying…')));
}

// In the page's language, in the reader's own time zone.
const timeFormat = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });

export const formatTime = (iso) => timeFormat.format(new Date(iso));
export const formatDateTime = (iso) => dateTimeFormat.format(new Date(iso));

/** Replace every <time data-local> the server rendered in UTC with the reader's local time. */
export function localiseTimes(root = document) {
  for (const node of root.querySelectorAll('time[data-local]')) {
    const iso = node.getAttribute('datetime');
    node.textContent = node.dataset.local === 'time' ? formatTime(iso) : formatDateTime(iso);
  }
}

export const REJECT_REASONS = {
  off_topic: t('Off topic'),
  duplicate: t('Duplicate'),
  inappropriate: t('Inappropriate'),
  personal_data: t('Contains personal data'),
  answered: t('Already answered'),
  other: t('Other'),
};

export const FLAG_TEXT = {
  profanity: t('Contains profanity'),
  email: t('Contains an e-mail address'),
  phone: t('Contains a phone number'),
};

/** The badge (label, modifier) a question's state shows in lists, or null for none. */
export function stateBadge(state) {
  return {
    pending: [t('Pending'), 'pending'],
    approved: [t('Approved'), 'approved'],
    queued: [t('In running order'), 'queued'],
    on_stage: [t('On stage now'), 'live'],
    answered: [t('Answered'), 'answered'],
    rejected: [t('Rejected'), 'rejected'],
    withdrawn: [t('Withdrawn'), 'muted'],
    merged: [t('Merged'), 'muted'],
  }[state] || null;
}

export function badge(state) {
  const found = stateBadge(state);
  return found ? el('span', { class: `badge badge--${found[1]}`, text: found[0] }) : null;
}

export const authorName = (question) => question.author || t('Anonymous');

/**
 * Put `child` right after `previous` in `list` (first, if `previous` is null), moving it only
 * when it is not there already: a move takes the focus out of whatever inside it has it.
 */
export function placeAfter(list, previous, child) {
  const expectedPlace = previous ? previous.nextElementSibling : list.firstElementChild;
  if (expectedPlace === child) return;
  if (previous) previous.after(child);
  else list.prepend(child);
}

/**
 * Make `list` show `items` in order, one child per item keyed by `key(item)`.
 * A child is rebuilt with `build(item)` only when `signature(item)` changed; moved
 * otherwise. Focus inside the list survives rebuilds and moves through `data-focus` keys.
 */
export function renderList(list, items, { key, build, signature }) {
  const active = document.activeElement;
  const focusKey = list.contains(active) ? active.dataset.focus : undefined;
  const selection = focusKey && 'selectionStart' in active ? [active.selectionStart, active.selectionEnd] : null;
  const existing = new Map();
  for (const child of list.children) existing.set(child.dataset.key, child);
  const wanted = new Set();
  let previous = null;
  for (const item of items) {
    const id = String(key(item));
    const sig = signature(item);
    wanted.add(id);
    let child = existing.get(id);
    if (!child || child.dataset.sig !== sig) {
      const fresh = build(item);
      fresh.dataset.key = id;
      fresh.dataset.sig = sig;
      if (child) child.replaceWith(fresh);
      child = fresh;
    }
    placeAfter(list, previous, child);
    previous = child;
  }
  for (const [id, child] of existing) if (!wanted.has(id)) child.remove();
  if (focusKey && document.activeElement !== active) {
    const target = list.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`);
    if (target) {
      target.focus({ preventScroll: true });
      if (selection && 'setSelectionRange' in target) {
        try { target.setSelectionRange(...selection); } catch { /* not a text control */ }
      }
    }
  }
}

/** Show field errors from an ApiError next to the named controls of a form. */
export function showFieldErrors(form, error, summary) {
  clearFieldErrors(form);
  const fields = (error instanceof ApiError && error.fields) || {};
  let first = null;
  for (const [name, message] of Object.entries(fields)) {
    const control = form.elements.namedItem(name.split('.')[0]);
    if (!control || !control.id) continue;
    const note = el('p', { class: 'field-error', id: `${control.id}-error`, text: message });
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', [control.getAttribute('aria-describedby'), note.id].filter(Boolean).join(' '));
    control.closest('.field')?.append(note);
    first = first || control;
  }
  const text = errorText(error);
  if (summary) {
    summary.textContent = text;
    summary.hidden = false;
    summary.tabIndex = -1;
  }
  announce(text);
  (first || summary)?.focus?.();
}

/** Submit a form's data with `send`; show field errors in place; resolve to the answer. */
export function handleForm(form, send) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await send(form);
    } catch (error) {
      let summary = form.querySelector('.form-error');
      if (!summary) {
        summary = el('p', { class: 'form-error', hidden: true });
        button.before(summary);
      }
      showFieldErrors(form, error, summary);
    } finally {
      button.disabled = false;
    }
  });
}

export function clearFieldErrors(form) {
  for (const note of form.querySelectorAll('.field-error')) {
    const control = form.querySelector(`[aria-describedby~="${note.id}"]`);
    if (control) {
      control.removeAttribute('aria-invalid');
      const rest = control.getAttribute('aria-describedby').split(' ').filter((id) => id !== note.id);
      if (rest.length) control.setAttribute('aria-describedby', rest.join(' '));
      else control.removeAttribute('aria-describedby');
    }
    note.remove();
  }
  for (const summary of form.querySelectorAll('.form-error')) summary.hidden = true;
}
