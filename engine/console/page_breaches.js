// page_breaches.js — Datalekken: every breach in the register, the one
// changed last first (paged by the server, 50 at a time), with its status, awareness and the state of its
// notification to the AP (a countdown while it is due). Its section is in
// index.html; each breach's key links to its own page (page_breach.js),
// and a button above the register starts the guided form (page_report.js).
import { $, state, api, now, tr, h, href, cell, failed, setEngineTime, definePage } from './core.js';
import { countdown, amsterdam } from './format.js';
import { PAGE } from './officer.js';
import { pagedList } from './paging.js';

const BREACH_STATUSES = ['reported', 'assessed', 'notified', 'withdrawn', 'closed'];

// The AP notification duty of each breach on a page: the latest
// avg.notify_ap obligation on its key, asked per key (the subject index
// answers each at once, however many obligations there are).
async function notifyDuties(entries) {
  const answers = await Promise.all(entries.map((e) =>
    api(`/console/api/v1/obligations?kind=avg.notify_ap&subject=${encodeURIComponent(e.key)}`)));
  const bad = answers.find((r) => r.status !== 200);
  if (bad) return bad;
  const duty = new Map();
  for (const r of answers) for (const o of [...r.body].sort((x, y) => x.id - y.id)) duty.set(o.subject, o);
  return { status: 200, body: duty };
}

const page = { duty: new Map() };

// a page of the register, the entry changed last first, with the duties of its breaches
async function fetchPage(next) {
  const before = next && list.rows.length ? `&before=${list.rows[list.rows.length - 1].seq}` : '';
  const r = await api(`/console/api/v1/registers/datalekken?order=newest&limit=${PAGE}${before}`);
  if (r.status !== 200) return r;
  const duties = await notifyDuties(r.body);
  if (duties.status !== 200) return duties;
  for (const [k, o] of duties.body) page.duty.set(k, o);
  return r;
}

const list = pagedList({
  sectionId: 'datalekken', errorId: 'breaches-error', errorKey: 'breaches.failed', fetchPage, key: (e) => e.key,
  focusId: (e) => `breach-${e.key}`, shown: () => render(),
});

async function load() {
  $('breaches-error').textContent = '';
  const session = await api('/console/session');
  if (failed([session], 'breaches-error', 'breaches.failed')) return;
  setEngineTime(session.body.now);
  await list.query(false);
}

function render() {
  const lang = state.lang, tbody = $('breaches').tBodies[0];
  tbody.replaceChildren();
  let pending = 0;
  for (const e of list.rows) {
    const d = e.data || {}, o = page.duty.get(e.key);
    const row = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.dataset.label = tr('col.breach');
    th.append(h('a', { class: 'title', href: href('datalek', e.key), id: `breach-${e.key}` }, e.key));
    if (d.description) th.append(h('span', { class: 'source' }, d.description));
    row.append(th);
    cell(row, BREACH_STATUSES.includes(d.status) ? tr(`breach.${d.status}`) : d.status || tr('none'),
      `breach-status ${d.status || ''}`, tr('col.status'));
    cell(row, d.aware_at ? amsterdam(lang, d.aware_at) : tr('none'), null, tr('col.aware'));
    let ap;
    if (o && (o.status === 'open' || o.status === 'overdue')) {
      pending++;
      const c = countdown(lang, o.due_at, now());
      ap = cell(row, c.text, c.late ? 'countdown late' : 'countdown');
      ap.dataset.due = o.due_at;
    } else if (o && ['fulfilled', 'late', 'cancelled'].includes(o.status)) {
      ap = cell(row, tr(`ap.${o.status}`), `ap ${o.status}`);
    } else {
      ap = cell(row, o ? o.status : tr('ap.none'), 'ap');
    }
    ap.dataset.label = tr('col.ap');
    cell(row, o ? amsterdam(lang, o.due_at) : tr('none'), null, tr('col.due'));
    tbody.append(row);
  }
  const n = list.rows.length;
  $('breaches-summary').textContent = !n ? tr('breaches.summary.none')
    : list.more ? tr('breaches.summary.more', { n, open: pending })
      : tr(n === 1 ? 'breaches.summary.one' : 'breaches.summary', { n, open: pending });
  $('breaches-more').hidden = !list.more;
}

$('breaches-more').addEventListener('click', () => list.query(true));

// "Datalek melden", the first thing on the page
$('datalekken-title').nextElementSibling.after(h('p', { class: 'report-cta' },
  h('a', { href: '#melden', class: 'button-link primary', id: 'breaches-report', 'data-i18n': 'nav.melden' }, tr('nav.melden'))));

definePage({ name: 'datalekken', title: 'breaches.title', nav: true, load });
