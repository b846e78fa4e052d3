// page_breaches.js — Datalekken: every breach in the register, the most
// recently known first, with its status, awareness and the state of its
// notification to the AP (a countdown while it is due). Its section is in
// index.html; each breach's key links to its own page (page_breach.js),
// and a button above the register starts the guided form (page_report.js).
import { $, state, api, now, tr, h, href, cell, failed, setEngineTime, definePage } from './core.js';
import { countdown, amsterdam } from './format.js';

const BREACH_STATUSES = ['reported', 'assessed', 'notified', 'withdrawn', 'closed'];

async function load() {
  $('breaches-error').textContent = '';
  const [session, register, notify] = await Promise.all([
    api('/console/session'),
    api('/console/api/v1/registers/datalekken'),
    api('/console/api/v1/obligations?kind=avg.notify_ap&limit=10000'),
  ]);
  if (failed([session, register, notify], 'breaches-error', 'breaches.failed')) return;
  setEngineTime(session.body.now);
  // each breach's AP notification: the latest obligation on its key
  const duty = new Map();
  for (const o of [...notify.body].sort((a, b) => a.id - b.id)) duty.set(o.subject, o);
  const entries = [...register.body].sort((a, b) =>
    (Date.parse(b.data?.aware_at) || 0) - (Date.parse(a.data?.aware_at) || 0) || a.key.localeCompare(b.key));
  const lang = state.lang, tbody = $('breaches').tBodies[0];
  tbody.replaceChildren();
  let pending = 0;
  for (const e of entries) {
    const d = e.data || {}, o = duty.get(e.key);
    const row = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.dataset.label = tr('col.breach');
    th.append(h('a', { class: 'title', href: href('datalek', e.key) }, e.key));
    if (d.description) {
      const desc = document.createElement('span');
      desc.className = 'source';
      desc.textContent = d.description;
      th.append(desc);
    }
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
  $('breaches-summary').textContent = entries.length
    ? tr(entries.length === 1 ? 'breaches.summary.one' : 'breaches.summary', { n: entries.length, open: pending })
    : tr('breaches.summary.none');
}

// "Datalek melden", the first thing on the page
$('datalekken-title').nextElementSibling.after(h('p', { class: 'report-cta' },
  h('a', { href: '#melden', class: 'button-link primary', id: 'breaches-report', 'data-i18n': 'nav.melden' }, tr('nav.melden'))));

definePage({ name: 'datalekken', title: 'breaches.title', nav: true, load });
