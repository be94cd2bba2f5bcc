// Light mode's only script (the page works without it): every so often it fetches the
// server-rendered question list, which costs a few hundred bytes when nothing changed (304),
// swaps it in and says how many questions are new. No socket, no player, no framework.
import { tn } from './i18n.js';

const EVERY_MS = 20000;
const config = JSON.parse(document.getElementById('podium-config').textContent);
const $ = (id) => document.getElementById(id);
let etag = null;

function sortOrder() {
  return new URLSearchParams(window.location.search).get('sort') === 'newest' ? 'newest' : 'votes';
}

async function refresh() {
  const current = $('question-list');
  // Never pull a button from under the reader's finger or focus; the next round catches up.
  if (document.hidden || !current || current.contains(document.activeElement)) return;
  let response;
  try {
    response = await fetch(`/e/${encodeURIComponent(config.event_slug)}/questions.html?sort=${sortOrder()}`, {
      headers: etag ? { 'If-None-Match': etag } : {},
      credentials: 'same-origin',
    });
  } catch {
    return; // offline for a moment: try again next round
  }
  if (response.status !== 200) return;
  etag = response.headers.get('ETag');
  const html = await response.text();
  // The server escaped every question when it rendered the fragment; parsing does not run scripts.
  const fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('question-list');
  if (!fresh || current.contains(document.activeElement)) return;
  const known = new Set([...current.children].map((item) => item.dataset.key));
  const added = [...fresh.children].filter((item) => !known.has(item.dataset.key)).length;
  current.replaceWith(document.adoptNode(fresh));
  const count = fresh.children.length;
  $('questions-empty').hidden = count > 0;
  $('questions-count').textContent = count ? `(${count})` : '';
  if (added) {
    const announcer = $('announcer');
    announcer.textContent = tn('%(num)s new question', '%(num)s new questions', added);
  }
}

// Without the live page's script, choosing an order reloads the page in that order.
for (const radio of document.querySelectorAll('.sort-form input[name="sort"]')) {
  radio.addEventListener('change', () => radio.form.submit());
}
setInterval(refresh, EVERY_MS);
document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
