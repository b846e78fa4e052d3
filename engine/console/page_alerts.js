// page_alerts.js — Signalen: the alerts the rules raised, the newest
// first, by severity and kind. Its section is in index.html.
import { $, state, api, tr, cell, failed, definePage } from './core.js';
import { amsterdam } from './format.js';

const page = { alerts: [] };
const SEVERITIES = ['critical', 'warning', 'info'];

async function load() {
  $('alerts-error').textContent = '';
  const r = await api('/console/api/v1/alerts?limit=10000');
  if (failed([r], 'alerts-error', 'alerts.failed')) return;
  // newest first; alerts raised at the same instant, the last raised first
  page.alerts = r.body.map((a, i) => ({ a, i }))
    .sort((x, y) => Date.parse(y.a.at) - Date.parse(x.a.at) || y.i - x.i).map((x) => x.a);
  const select = $('f-kind'), chosen = select.value;
  while (select.options.length > 1) select.remove(1);
  const kinds = [...new Set(page.alerts.map((a) => a.kind))].sort();
  for (const k of kinds) {
    const o = document.createElement('option');
    o.value = k;
    o.textContent = k;
    select.append(o);
  }
  select.value = kinds.includes(chosen) ? chosen : '';
  render();
}

function render() {
  const lang = state.lang, severity = $('f-severity').value, kind = $('f-kind').value;
  const rows = page.alerts.filter((a) => (!severity || a.severity === severity) && (!kind || a.kind === kind));
  const tbody = $('alerts').tBodies[0];
  tbody.replaceChildren();
  for (const a of rows) {
    const row = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.dataset.label = tr('col.severity');
    const sev = SEVERITIES.includes(a.severity) ? a.severity : 'info';
    const badge = document.createElement('span');
    badge.className = `severity ${sev}`;
    badge.textContent = SEVERITIES.includes(a.severity) ? tr(`severity.${sev}`) : a.severity;
    th.append(badge);
    row.append(th);
    cell(row, a.kind, 'kind', tr('col.kind'));
    cell(row, a.subject, 'subject', tr('col.subject'));
    cell(row, amsterdam(lang, a.at), 'at', tr('col.at'));
    cell(row, a.message || tr('none'), 'message', tr('col.message'));
    tbody.append(row);
  }
  $('alerts-summary').textContent = rows.length
    ? tr(rows.length === 1 ? 'alerts.summary.one' : 'alerts.summary', { n: rows.length })
    : tr('alerts.summary.none');
}

for (const id of ['f-severity', 'f-kind']) $(id).addEventListener('change', render);
$('alert-filters').addEventListener('submit', (ev) => ev.preventDefault());

definePage({ name: 'signalen', title: 'alerts.title', nav: true, load });
