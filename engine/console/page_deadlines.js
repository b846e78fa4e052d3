// page_deadlines.js — Termijnen: open and overdue obligations, the next
// one due first, with the duty's Dutch title and legal source, a countdown
// against the engine's clock, and filters by duty, status and "within N
// days" that ask the server again (it sorts by due time and pages by the
// last row's (due_at, id), 50 at a time: "Meer tonen"). Each row links to
// the event that opened it (page_event.js). Its section is in index.html.
import { $, state, api, now, tr, h, cell, failed, href, setEngineTime, definePage } from './core.js';
import { addStrings } from './i18n.js';
import { countdown, amsterdam } from './format.js';
import { PAGE, deadlinesQuery, deadlineCursor, withinDays } from './officer.js';
import { pagedList } from './paging.js';

addStrings({
  nl: {
    'col.cause': 'Aanleiding',
    'cause.link': 'Gebeurtenis',
    'cause.label': 'Gebeurtenis die de termijn {title} voor {subject} opende',
    'summary.more': '{n} termijnen getoond, waarvan {late} te laat; er zijn er meer',
  },
  en: {
    'col.cause': 'Cause',
    'cause.link': 'Event',
    'cause.label': 'Event that opened the deadline {title} for {subject}',
    'summary.more': '{n} deadlines shown, {late} of them overdue; there are more',
  },
});

const page = { duties: new Map() };

function filters() {
  return {
    status: $('f-status').value, kind: $('f-duty').value,
    dueBefore: withinDays($('f-within').value, now()),
  };
}

async function fetchPage(next) {
  const params = { ...filters(), after: next ? deadlineCursor(list.rows) : null, limit: PAGE };
  return api(deadlinesQuery(params));
}

const list = pagedList({
  sectionId: 'termijnen', errorId: 'load-error', errorKey: 'load.failed', fetchPage, key: (o) => o.id,
  focusId: (o) => `deadline-${o.id}`, shown: () => render(),
});
const query = (next) => list.query(next);

async function load() {
  $('load-error').textContent = '';
  const duties = await api('/console/api/v1/duties');
  if (failed([duties], 'load-error', 'load.failed')) return;
  setEngineTime(duties.body.now);
  page.duties = new Map(duties.body.duties.map((d) => [d.name, d]));
  const select = $('f-duty'), chosen = select.value;
  while (select.options.length > 1) select.remove(1);
  const sorted = [...page.duties.values()].sort((a, b) => (a.title || a.name).localeCompare(b.title || b.name, 'nl'));
  for (const d of sorted) select.append(h('option', { value: d.name }, d.title || d.name));
  select.value = page.duties.has(chosen) ? chosen : '';
  await query(false);
}

function render() {
  const lang = state.lang, tbody = $('deadlines').tBodies[0];
  tbody.replaceChildren();
  let late = 0;
  for (const o of list.rows) {
    const d = page.duties.get(o.kind), title = d?.title || o.kind;
    const row = h('tr');
    row.append(h('th', { scope: 'row', 'data-label': tr('col.duty'), id: `deadline-${o.id}`, tabindex: '-1' },
      h('span', { class: 'title' }, title),
      h('span', { class: 'source' }, [d?.source, o.kind].filter(Boolean).join(' · '))));
    cell(row, o.subject, 'subject', tr('col.subject'));
    cell(row, tr(o.status === 'overdue' ? 'status.overdue' : 'status.open'), `status ${o.status}`, tr('col.status'));
    const c = countdown(lang, o.due_at, now());
    if (c.late) late++;
    cell(row, c.text, c.late ? 'countdown late' : 'countdown', tr('col.left')).dataset.due = o.due_at;
    cell(row, amsterdam(lang, o.due_at), null, tr('col.due'));
    cell(row, o.legal_limit ? amsterdam(lang, o.legal_limit) : tr('none'), null, tr('col.limit'));
    const cause = cell(row, '', 'cause', tr('col.cause'));
    if (o.source_event) {
      cause.append(h('a', {
        href: href('gebeurtenis', o.source_event.source, o.source_event.id),
        'aria-label': tr('cause.label', { title, subject: o.subject }),
      }, tr('cause.link')));
    } else cause.textContent = tr('none');
    tbody.append(row);
  }
  const n = list.rows.length;
  $('summary').textContent = !n ? tr('summary.none')
    : list.more ? tr('summary.more', { n, late })
      : tr(n === 1 ? 'summary.one' : 'summary', { n, late });
  $('deadlines-more').hidden = !list.more;
}

for (const id of ['f-duty', 'f-status']) $(id).addEventListener('change', () => query(false));
$('f-within').addEventListener('input', () => query(false));
$('filters').addEventListener('submit', (ev) => ev.preventDefault());
$('deadlines-more').addEventListener('click', () => query(true));

definePage({ name: 'termijnen', title: 'deadlines.title', nav: true, load });
