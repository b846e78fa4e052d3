// page_deadlines.js — Termijnen: open and overdue obligations, the next
// one due first, with the duty's Dutch title and legal source, a countdown
// against the engine's clock, and filters by duty, status and "within N
// days". Its section is in index.html.
import { $, state, api, now, tr, cell, failed, setEngineTime, definePage } from './core.js';
import { countdown, amsterdam } from './format.js';

const page = { rows: [], duties: new Map() };

async function load() {
  $('load-error').textContent = '';
  const [duties, open, overdue] = await Promise.all([
    api('/console/api/v1/duties'),
    api('/console/api/v1/obligations?status=open&limit=10000'),
    api('/console/api/v1/obligations?status=overdue&limit=10000'),
  ]);
  if (failed([duties, open, overdue], 'load-error', 'load.failed')) return;
  setEngineTime(duties.body.now);
  page.duties = new Map(duties.body.duties.map((d) => [d.name, d]));
  page.rows = [...open.body, ...overdue.body].sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at));
  const select = $('f-duty'), chosen = select.value;
  while (select.options.length > 1) select.remove(1);
  const kinds = [...new Set(page.rows.map((o) => o.kind))];
  for (const d of [...page.duties.values()].filter((d) => kinds.includes(d.name))) {
    const o = document.createElement('option');
    o.value = d.name;
    o.textContent = d.title || d.name;
    select.append(o);
  }
  select.value = kinds.includes(chosen) ? chosen : '';
  render();
}

function render() {
  const lang = state.lang, duty = $('f-duty').value, statuses = $('f-status').value.split(',');
  const within = $('f-within').value === '' ? null : Number($('f-within').value);
  const until = within === null ? Infinity : now() + within * 86400000;
  const rows = page.rows.filter((o) => (!duty || o.kind === duty) && statuses.includes(o.status) &&
    Date.parse(o.due_at) <= until);
  const tbody = $('deadlines').tBodies[0];
  tbody.replaceChildren();
  let late = 0;
  for (const o of rows) {
    const d = page.duties.get(o.kind);
    const row = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.dataset.label = tr('col.duty');
    const title = document.createElement('span');
    title.className = 'title';
    title.textContent = d?.title || o.kind;
    const source = document.createElement('span');
    source.className = 'source';
    source.textContent = [d?.source, o.kind].filter(Boolean).join(' · ');
    th.append(title, source);
    row.append(th);
    cell(row, o.subject, 'subject', tr('col.subject'));
    cell(row, tr(o.status === 'overdue' ? 'status.overdue' : 'status.open'), `status ${o.status}`, tr('col.status'));
    const c = countdown(lang, o.due_at, now());
    if (c.late) late++;
    cell(row, c.text, c.late ? 'countdown late' : 'countdown', tr('col.left')).dataset.due = o.due_at;
    cell(row, amsterdam(lang, o.due_at), null, tr('col.due'));
    cell(row, o.legal_limit ? amsterdam(lang, o.legal_limit) : tr('none'), null, tr('col.limit'));
    tbody.append(row);
  }
  $('summary').textContent = rows.length ? tr(rows.length === 1 ? 'summary.one' : 'summary', { n: rows.length, late }) : tr('summary.none');
}

for (const id of ['f-duty', 'f-status']) $(id).addEventListener('change', render);
$('f-within').addEventListener('input', render);
$('filters').addEventListener('submit', (ev) => ev.preventDefault());

definePage({ name: 'termijnen', title: 'deadlines.title', nav: true, load });
