// The reach report: who watched, when and for how long, for the event and each agenda session.
import { ApiError, api, config, el, errorText, formatTime, renderList } from './common.js';
import { locale, t } from './i18n.js';

const $ = (id) => document.getElementById(id);
const slug = config.event_slug;
const REFRESH_SECONDS = 15;
const LIVE_MARGIN_MS = 60 * 60 * 1000; // an hour either side of the agenda counts as "on"
const SVG_NS = 'http://www.w3.org/2000/svg';
const NICE_STEPS = [1, 2, 5];
const TICK_SECONDS = [10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

const number = new Intl.NumberFormat(locale);
const percent = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 0 });
const clock = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const regions = 'DisplayNames' in Intl ? new Intl.DisplayNames(locale, { type: 'region' }) : null;
// The server's watch-time bands (server/domain/attendance.py), as the reader writes them.
const BUCKETS = {
  '<1 min': t('<1 min'),
  '1–5 min': t('1–5 min'),
  '5–15 min': t('5–15 min'),
  '15–30 min': t('15–30 min'),
  '30–60 min': t('30–60 min'),
  '1–2 h': t('1–2 h'),
  '2 h+': t('2 h+'),
};
const bucketName = (label) => BUCKETS[label] || label;

// --- formatting ----------------------------------------------------------------------------

function duration(seconds) {
  if (seconds < 60) return t('%(seconds)s s', { seconds: Math.round(seconds) });
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return t('%(minutes)s min', { minutes });
  const hours = Math.floor(minutes / 60);
  return t('%(hours)s h %(minutes)s min', { hours, minutes: String(minutes % 60).padStart(2, '0') });
}

function countryName(code) {
  if (!code || code === 'unknown') return t('Unknown');
  try {
    return regions ? regions.of(code.toUpperCase()) : code;
  } catch {
    return code;
  }
}

const share = (part, whole) => (whole ? percent.format(part / whole) : '–');

/** SVG's counterpart of `el`: attributes, and `text` for the text content. */
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, String(value));
  }
  node.append(...children);
  return node;
}

/** The smallest 1, 2 or 5 × 10^n step that splits `max` into at most `ticks` parts. */
function niceStep(max, ticks) {
  for (let power = 1; ; power *= 10) {
    for (const base of NICE_STEPS) {
      if (base * power * ticks >= max) return base * power;
    }
  }
}

// --- charts --------------------------------------------------------------------------------
// Charts are drawn for the width they have, so their text stays legible on a phone; every
// chart keeps its data so it can be drawn again when that width changes.

const drawers = new WeakMap();

function chartCanvas(draw) {
  const canvas = el('div', { class: 'chart__canvas' });
  drawers.set(canvas, draw);
  return canvas;
}

/** Draw every chart whose width changed since it was last drawn (or never drawn). */
function drawCharts() {
  for (const canvas of document.querySelectorAll('.chart__canvas')) {
    const width = Math.floor(canvas.clientWidth);
    if (!width || Number(canvas.dataset.width) === width) continue;
    canvas.dataset.width = String(width);
    canvas.replaceChildren(drawers.get(canvas)(Math.max(width, 240)));
  }
}

let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(drawCharts, 150);
});

function chartSvg(id, width, height, title, description) {
  return svg('svg', {
    class: 'chart__svg', viewBox: `0 0 ${width} ${height}`, width, height,
    role: 'img', 'aria-labelledby': `${id}-title ${id}-desc`,
  }, svg('title', { id: `${id}-title`, text: title }), svg('desc', { id: `${id}-desc`, text: description }));
}

/** A data table only screen readers see: the chart's content, cell by cell. */
function hiddenTable(caption, headings, rows) {
  // A table is never narrower than its content, so the wrapper is what gets hidden.
  return el('div', { class: 'visually-hidden' }, el('table', {},
    el('caption', { text: caption }),
    el('thead', {}, el('tr', {}, headings.map((text) => el('th', { scope: 'col', text })))),
    el('tbody', {}, rows.map(([head, ...cells]) => el('tr', {}, el('th', { scope: 'row', text: head }), cells.map((text) => el('td', { text })))))));
}

/** X-axis ticks at round local times (every 5 min, 15 min, 1 h ...) across [start, end]. */
function timeTicks(start, end, count) {
  const span = (end - start) / 1000;
  const step = (TICK_SECONDS.find((s) => s * count >= span) || TICK_SECONDS.at(-1)) * 1000;
  const offset = new Date(start).getTimezoneOffset() * -60000;
  const ticks = [];
  for (let t = Math.ceil((start + offset) / step) * step - offset; t <= end; t += step) ticks.push(t);
  return { ticks, withSeconds: step < 60000 };
}

function lineChart(id, series, { height, label }) {
  const points = series.map((p) => ({ t: Date.parse(p.at), n: p.viewers }));
  const peak = points.reduce((best, p) => (p.n > best.n ? p : best), points[0]);
  const first = points[0].t;
  const last = Math.max(points.at(-1).t, first + 60000);
  const title = t('%(label)s: viewers watching at once, %(from)s to %(to)s', { label, from: formatTime(first), to: formatTime(last) });
  const description = t('Peak of %(peak)s at %(time)s. The same figures follow as a table.', { peak: peak.n, time: formatTime(peak.t) });

  const draw = (width) => {
    const m = { top: 14, right: 14, bottom: 30, left: 40 };
    const w = width - m.left - m.right;
    const h = height - m.top - m.bottom;
    const yStep = niceStep(Math.max(peak.n, 1), height > 200 ? 5 : 3);
    const yMax = Math.max(yStep, Math.ceil(peak.n / yStep) * yStep);
    const x = (t) => m.left + ((t - first) / (last - first)) * w;
    const y = (n) => m.top + h - (n / yMax) * h;
    const chart = chartSvg(id, width, height, title, description);

    const grid = svg('g', { class: 'chart__grid', 'aria-hidden': 'true' });
    for (let n = 0; n <= yMax; n += yStep) {
      grid.append(
        svg('line', { x1: m.left, x2: m.left + w, y1: y(n), y2: y(n) }),
        svg('text', { class: 'chart__label', x: m.left - 6, y: y(n), dy: '0.32em', 'text-anchor': 'end', text: number.format(n) }),
      );
    }
    const { ticks, withSeconds } = timeTicks(first, last, Math.max(3, Math.floor(w / 80)));
    for (const t of ticks) {
      grid.append(
        svg('line', { class: 'chart__tick', x1: x(t), x2: x(t), y1: m.top + h, y2: m.top + h + 5 }),
        svg('text', { class: 'chart__label', x: x(t), y: m.top + h + 19, 'text-anchor': 'middle', text: withSeconds ? clock.format(t) : formatTime(t) }),
      );
    }
    const line = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.n).toFixed(1)}`).join('');
    chart.append(
      grid,
      svg('path', { class: 'chart__area', d: `${line}L${x(points.at(-1).t).toFixed(1)},${y(0)}L${x(first).toFixed(1)},${y(0)}Z`, 'aria-hidden': 'true' }),
      svg('path', { class: 'chart__line', d: line, 'aria-hidden': 'true' }),
      svg('line', { class: 'chart__axis', x1: m.left, x2: m.left + w, y1: y(0), y2: y(0), 'aria-hidden': 'true' }),
      svg('circle', { class: 'chart__peak', cx: x(peak.t), cy: y(peak.n), r: 4, 'aria-hidden': 'true' }),
    );
    return chart;
  };

  return el('figure', { class: `chart chart--line${height > 200 ? '' : ' chart--small'}` },
    el('figcaption', { class: 'chart__caption' }, t('Viewers watching at once'), el('span', { class: 'muted', text: ' · ' + t('times in %(zone)s', { zone: timeZone }) })),
    chartCanvas(draw),
    hiddenTable(title, [t('Time'), t('Viewers watching')], points.map((p) => [formatTime(p.t), number.format(p.n)])));
}

function barChart(id, distribution, label) {
  const total = distribution.reduce((sum, d) => sum + d.viewers, 0);
  const top = distribution.reduce((best, d) => (d.viewers > best.viewers ? d : best), distribution[0]);
  const title = t('%(label)s: how long viewers watched', { label });
  const description = t('The most viewers, %(count)s, watched for %(band)s. The same figures follow as a table.', { count: top.viewers, band: bucketName(top.bucket) });
  const row = 30;

  const draw = (width) => {
    const m = { left: 80, right: 44 };
    const height = distribution.length * row + 4;
    const w = width - m.left - m.right;
    const max = Math.max(top.viewers, 1);
    const chart = chartSvg(id, width, height, title, description);
    distribution.forEach((d, i) => {
      const middle = i * row + row / 2 + 2;
      const length = d.viewers ? Math.max(2, (d.viewers / max) * w) : 0;
      chart.append(svg('g', { 'aria-hidden': 'true' },
        svg('text', { class: 'chart__label', x: m.left - 8, y: middle, dy: '0.32em', 'text-anchor': 'end', text: bucketName(d.bucket) }),
        svg('rect', { class: 'chart__bar', x: m.left, y: middle - 9, width: length.toFixed(1), height: 18, rx: 3 }),
        svg('text', { class: 'chart__value', x: m.left + length + 6, y: middle, dy: '0.32em', text: number.format(d.viewers) })));
    });
    return chart;
  };

  return el('figure', { class: 'chart chart--bars' },
    el('figcaption', { class: 'chart__caption', text: t('Watch time per viewer') }),
    chartCanvas(draw),
    hiddenTable(title, [t('Watched for'), t('Viewers'), t('Share')], distribution.map((d) => [bucketName(d.bucket), number.format(d.viewers), share(d.viewers, total)])));
}

// --- report blocks -------------------------------------------------------------------------

function figure(label, value, note) {
  return el('div', { class: 'figure' },
    el('dt', { text: label }),
    el('dd', {}, el('span', { class: 'figure__value', text: value }), note ? el('span', { class: 'figure__note', text: note }) : null));
}

function audienceFigures(report) {
  const watchers = report.remote_viewers + report.in_room_viewers;
  return el('dl', { class: 'figures' },
    figure(t('Unique viewers'), number.format(report.unique_viewers)),
    figure(t('Most watching at once'), number.format(report.peak_concurrent), report.peak_at ? t('at %(time)s', { time: formatTime(report.peak_at) }) : null),
    figure(t('Total watch time'), duration(report.total_watch_time_seconds)),
    figure(t('Median watch time'), duration(report.median_watch_time_seconds), t('per viewer')),
    figure(t('Watching remotely'), number.format(report.remote_viewers), share(report.remote_viewers, watchers)),
    figure(t('Watching from the room'), number.format(report.in_room_viewers), share(report.in_room_viewers, watchers)),
    figure(t('Checked in at the venue'), number.format(report.in_room_check_ins), t('scanned the room’s QR code')));
}

function questionFigures(questions) {
  return el('dl', { class: 'figures figures--compact' },
    figure(t('Questions asked'), number.format(questions.asked)),
    figure(t('Approved'), number.format(questions.approved)),
    figure(t('Answered'), number.format(questions.answered)),
    figure(t('Votes'), number.format(questions.votes)));
}

function countriesTable(id, countries) {
  const total = countries.reduce((sum, c) => sum + c.viewers, 0);
  return el('div', { class: 'table-wrap report-table', tabindex: '0', role: 'region', 'aria-labelledby': `${id}-countries`, dataset: { focus: `${id}-countries` } },
    el('table', { class: 'table' },
      el('caption', { class: 'visually-hidden', text: t('Viewers by country') }),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: t('Country') }), el('th', { scope: 'col', class: 'num', text: t('Viewers') }), el('th', { scope: 'col', class: 'num', text: t('Share') }))),
      el('tbody', {}, countries.map((c) => el('tr', {},
        el('th', { scope: 'row', text: countryName(c.country) }),
        el('td', { class: 'num', text: number.format(c.viewers) }),
        el('td', { class: 'num', text: share(c.viewers, total) }))))));
}

/** One scope of the report (the whole event, or a session): figures, charts, tables. */
function reportBody(id, label, report, series, { heading, small, startsAt }) {
  const sub = heading + 1;
  const h = (suffix, text) => el(`h${sub}`, { id: `${id}-${suffix}`, class: 'report__subhead', text });
  const questions = [h('questions', t('Questions and answers')), questionFigures(report.questions)];
  if (startsAt && Date.parse(startsAt) > Date.now() && !report.unique_viewers) {
    return [el('p', { class: 'empty', text: t('Starts at %(time)s: its audience figures appear once it begins.', { time: formatTime(startsAt) }) }), ...questions];
  }
  const watched = report.unique_viewers > 0 && series.length > 0;
  return [
    h('audience', t('Audience')),
    audienceFigures(report),
    watched
      ? el('div', { class: 'report__charts' },
        el('section', { class: 'report__wide', 'aria-labelledby': `${id}-time` }, h('time', t('Watching over time')), lineChart(`${id}-line`, series, { height: small ? 170 : 260, label })),
        el('section', { 'aria-labelledby': `${id}-watch` }, h('watch', t('How long people watched')), barChart(`${id}-bars`, report.watch_time_distribution, label)),
        el('section', { 'aria-labelledby': `${id}-countries` }, h('countries', t('Where viewers are')), countriesTable(id, report.countries)))
      : el('p', { class: 'empty', text: t('No one has watched the webcast yet.') }),
    ...questions,
  ];
}

function eventBlock(data) {
  return el('section', { class: 'card report-scope', 'aria-labelledby': 'event-report-title' },
    el('h2', { id: 'event-report-title', class: 'report-scope__title', text: t('Whole event') }),
    reportBody('event', t('Whole event'), data.report, data.series, { heading: 2, small: false }));
}

function sessionBlock(session) {
  const id = `session-${session.id}`;
  return el('section', { class: 'card report-scope report-scope--session', 'aria-labelledby': `${id}-title` },
    el('h3', { id: `${id}-title`, class: 'report-scope__title', text: session.title }),
    el('p', { class: 'report-scope__when muted' },
      el('time', { datetime: session.starts_at, text: formatTime(session.starts_at) }), '–',
      el('time', { datetime: session.ends_at, text: formatTime(session.ends_at) }),
      ` · ${session.room || t('All rooms')}`),
    reportBody(id, session.title, session.report, session.series, { heading: 3, small: true, startsAt: session.starts_at }));
}

function render(data) {
  $('report-generated').textContent = t('Figures as of %(time)s, times in %(zone)s.', { time: formatTime(data.generated_at), zone: timeZone });
  renderList($('report-event'), [data], {
    key: () => 'event',
    build: eventBlock,
    signature: (d) => JSON.stringify([d.report, d.series]),
  });
  renderList($('report-sessions'), data.sessions, {
    key: (s) => s.id,
    build: sessionBlock,
    signature: (s) => JSON.stringify([s, Date.parse(s.starts_at) > Date.now()]),
  });
  $('report-sessions').hidden = data.sessions.length === 0;
  $('sessions-title').hidden = data.sessions.length === 0;
  drawCharts();
}

// --- staying live --------------------------------------------------------------------------

const live = { on: null, chosen: false, timer: null, loading: false, updatedAt: null, stopped: false };

function eventIsOn(sessions) {
  if (!sessions.length) return true;
  const now = Date.now();
  const start = Math.min(...sessions.map((s) => Date.parse(s.starts_at)));
  const end = Math.max(...sessions.map((s) => Date.parse(s.ends_at)));
  return now >= start - LIVE_MARGIN_MS && now <= end + LIVE_MARGIN_MS;
}

function showLive(state, text) {
  $('report-live').dataset.state = state;
  $('report-live-text').textContent = text;
}

function showUpdated() {
  const at = clock.format(live.updatedAt);
  if (live.on) showLive('live', t('Live — updated %(time)s', { time: at }));
  else showLive('paused', t('Paused — updated %(time)s', { time: at }));
  $('report-live-toggle').setAttribute('aria-pressed', String(live.on));
}

async function load() {
  if (live.loading) return;
  live.loading = true;
  clearTimeout(live.timer);
  try {
    const data = await api('GET', `/events/${encodeURIComponent(slug)}/reports`);
    if (!live.chosen) live.on = eventIsOn(data.sessions);
    live.updatedAt = new Date();
    $('report-error').hidden = true;
    render(data);
    showUpdated();
  } catch (error) {
    if (error instanceof ApiError && ['not_authenticated', 'forbidden'].includes(error.code)) {
      live.stopped = true;
      live.on = false;
      showLive('error', t('Stopped'));
      $('report-error').textContent = t('Your login has ended, so the report cannot be updated. Log in again and reload this page.');
      $('report-error').hidden = false;
      return;
    }
    const now = clock.format(new Date());
    showLive('error', live.on ? t('Could not update at %(time)s — trying again', { time: now }) : t('Could not update at %(time)s', { time: now }));
    if (!live.updatedAt) {
      $('report-error').textContent = errorText(error);
      $('report-error').hidden = false;
    }
  } finally {
    live.loading = false;
    schedule();
  }
}

function schedule() {
  clearTimeout(live.timer);
  if (live.on && !live.stopped && !document.hidden) live.timer = setTimeout(load, REFRESH_SECONDS * 1000);
}

$('report-live-toggle').addEventListener('click', () => {
  live.chosen = true;
  live.on = !live.on;
  if (live.on) load();
  else schedule();
  if (live.updatedAt) showUpdated();
});

$('report-refresh').addEventListener('click', load);
$('report-print').addEventListener('click', () => window.print());

// A hidden tab does not poll; it catches up as soon as it is shown again.
document.addEventListener('visibilitychange', () => {
  if (document.hidden) clearTimeout(live.timer);
  else if (live.on && !live.stopped) load();
});

load();
