// page_alerts.js — Signalen: the alerts the rules raised, the newest
// first, filtered by severity, kind and whether they were acknowledged, 50
// at a time from the server ("Meer tonen" asks for the next page). Each
// alert says whether it was acknowledged (by whom, when, why); "Afhandelen"
// opens a dialog asking why, and records nl.obligo.alert.acknowledged
// through POST /console/api/v1/events, so the journal shows who looked at
// what. Its section is in index.html; the dialog is made here.
import { $, state, api, now, tr, h, cell, failed, definePage } from './core.js';
import { addStrings } from './i18n.js';
import { amsterdam } from './format.js';
import { PAGE, alertsQuery, alertCursor, checkAck, ackEvent } from './officer.js';
import { pagedList } from './paging.js';

addStrings({
  nl: {
    'filters.ack': 'Afhandeling',
    'ack.filter.open': 'Nog niet afgehandeld',
    'ack.filter.done': 'Afgehandeld',
    'col.ack': 'Afhandeling',
    'ack.open': 'Nog niet afgehandeld',
    'ack.done': 'Afgehandeld door {by} op {at}',
    'ack.button': 'Afhandelen',
    'ack.button.label': 'Afhandelen: signaal {kind} over {subject}',
    'ack.again': 'Opnieuw afhandelen',
    'ack.again.label': 'Opnieuw afhandelen: signaal {kind} over {subject}',
    'ack.title': 'Signaal afhandelen',
    'ack.help': 'Leg vast waarom dit signaal is afgehandeld: wat u heeft bekeken en wat u heeft besloten. '
      + 'De afhandeling komt in het journaal, met uw naam en de tijd; zij is daarna niet meer te wijzigen.',
    'ack.alert': 'Signaal',
    'ack.by': 'Afgehandeld door',
    'ack.note': 'Toelichting (verplicht)',
    'ack.submit': 'Afhandeling vastleggen',
    'ack.cancel': 'Annuleren',
    'ack.err.note': 'Vul een toelichting in: waarom is dit signaal afgehandeld?',
    'ack.err.long': 'De toelichting is te lang (ten hoogste 2000 tekens).',
    'ack.err.nosource': 'Deze sessie kan niets vastleggen (de server geeft geen bron); log opnieuw in.',
    'ack.failed': 'De afhandeling is niet vastgelegd ({status}).',
    'ack.saved': 'Afhandeling vastgelegd: signaal {kind} over {subject}.',
    'alerts.more.none': 'Alle signalen die aan de filters voldoen worden getoond.',
    'alerts.summary.more': '{n} signalen getoond; er zijn er meer',
  },
  en: {
    'filters.ack': 'Acknowledgement',
    'ack.filter.open': 'Not acknowledged yet',
    'ack.filter.done': 'Acknowledged',
    'col.ack': 'Acknowledgement',
    'ack.open': 'Not acknowledged yet',
    'ack.done': 'Acknowledged by {by} on {at}',
    'ack.button': 'Acknowledge',
    'ack.button.label': 'Acknowledge: alert {kind} about {subject}',
    'ack.again': 'Acknowledge again',
    'ack.again.label': 'Acknowledge again: alert {kind} about {subject}',
    'ack.title': 'Acknowledge an alert',
    'ack.help': 'Record why this alert is dealt with: what you looked at and what you decided. '
      + 'The acknowledgement goes into the journal with your name and the time; it cannot be changed afterwards.',
    'ack.alert': 'Alert',
    'ack.by': 'Acknowledged by',
    'ack.note': 'Note (required)',
    'ack.submit': 'Record acknowledgement',
    'ack.cancel': 'Cancel',
    'ack.err.note': 'Enter a note: why is this alert dealt with?',
    'ack.err.long': 'The note is too long (2000 characters at most).',
    'ack.err.nosource': 'This session cannot record anything (the server gives no source); sign in again.',
    'ack.failed': 'The acknowledgement was not recorded ({status}).',
    'ack.saved': 'Acknowledgement recorded: alert {kind} about {subject}.',
    'alerts.more.none': 'Every alert that matches the filters is shown.',
    'alerts.summary.more': '{n} alerts shown; there are more',
  },
});

const SEVERITIES = ['critical', 'warning', 'info'];
const page = { kinds: new Set(), alert: null, opener: null };

function filters() {
  return { severity: $('f-severity').value, kind: $('f-kind').value, acknowledged: $('f-ack').value };
}

// the first page, or the next after the rows shown
async function fetchPage(next) {
  const params = { ...filters(), before: next ? alertCursor(list.rows) : null, limit: PAGE };
  return api(alertsQuery(params));
}

const list = pagedList({
  sectionId: 'signalen', errorId: 'alerts-error', errorKey: 'alerts.failed', fetchPage, key: (a) => a.id,
  focusId: (a) => `alert-${a.id}`,
  shown: (body) => {
    for (const a of body) page.kinds.add(a.kind);
    kindOptions();
    render();
  },
});
const query = (next) => list.query(next);

// the kinds seen so far (the server filters; the list only offers them)
function kindOptions() {
  const select = $('f-kind'), chosen = select.value;
  while (select.options.length > 1) select.remove(1);
  for (const k of [...page.kinds].sort()) select.append(h('option', { value: k }, k));
  select.value = chosen;
}

function ackCell(row, a) {
  const td = cell(row, '', 'ack', tr('col.ack'));
  const ack = a.acknowledged;
  td.append(h('span', { class: ack ? 'ack-done' : 'ack-open' },
    ack ? tr('ack.done', { by: ack.by, at: amsterdam(state.lang, ack.at) }) : tr('ack.open')));
  if (ack?.note) td.append(h('span', { class: 'source' }, `“${ack.note}”`));
  const vars = { kind: a.kind, subject: a.subject };
  td.append(h('button', {
    type: 'button', class: 'secondary small', id: `ack-${a.id}`,
    'aria-label': tr(ack ? 'ack.again.label' : 'ack.button.label', vars),
    onclick: (ev) => openDialog(a, ev.currentTarget),
  }, tr(ack ? 'ack.again' : 'ack.button')));
}

function render() {
  const lang = state.lang, tbody = $('alerts').tBodies[0];
  tbody.replaceChildren();
  for (const a of list.rows) {
    const row = h('tr');
    const sev = SEVERITIES.includes(a.severity) ? a.severity : 'info';
    row.append(h('th', { scope: 'row', 'data-label': tr('col.severity'), id: `alert-${a.id}`, tabindex: '-1' },
      h('span', { class: `severity ${sev}` }, SEVERITIES.includes(a.severity) ? tr(`severity.${sev}`) : a.severity)));
    cell(row, a.kind, 'kind', tr('col.kind'));
    cell(row, a.subject, 'subject', tr('col.subject'));
    cell(row, amsterdam(lang, a.at), 'at', tr('col.at'));
    cell(row, a.message || tr('none'), 'message', tr('col.message'));
    ackCell(row, a);
    tbody.append(row);
  }
  const n = list.rows.length;
  $('alerts-summary').textContent = !n ? tr('alerts.summary.none')
    : list.more ? tr('alerts.summary.more', { n })
      : tr(n === 1 ? 'alerts.summary.one' : 'alerts.summary', { n });
  $('alerts-more').hidden = !list.more;
}

// ---- the acknowledgement dialog ---------------------------------------------

function by() {
  return state.session?.note || state.session?.role || '';
}

function buildDialog() {
  const d = h('dialog', { id: 'ack-dialog', class: 'dialog', 'aria-labelledby': 'ack-title', 'aria-describedby': 'ack-help' },
    h('form', { id: 'ack-form', novalidate: true },
      h('h3', { id: 'ack-title' }, tr('ack.title')),
      h('p', { id: 'ack-help', class: 'lead' }, tr('ack.help')),
      h('dl', { class: 'facts' },
        h('dt', {}, tr('ack.alert')), h('dd', { id: 'ack-what' }),
        h('dt', {}, tr('ack.by')), h('dd', { id: 'ack-by' })),
      h('div', { class: 'field wide' },
        h('label', { for: 'ack-note' }, tr('ack.note')),
        h('textarea', { id: 'ack-note', rows: '4', required: true, 'aria-describedby': 'ack-note-error', maxlength: '2000' }),
        h('p', { id: 'ack-note-error', class: 'error', role: 'alert' })),
      h('p', { id: 'ack-error', class: 'error', role: 'alert' }),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary', id: 'ack-submit' }, tr('ack.submit')),
        h('button', { type: 'button', class: 'secondary', id: 'ack-cancel', onclick: () => d.close() }, tr('ack.cancel')))));
  d.addEventListener('close', () => { page.opener?.focus(); });
  d.querySelector('form').addEventListener('submit', submitAck);
  document.body.append(d);
  return d;
}

function openDialog(a, opener) {
  const d = $('ack-dialog') || buildDialog();
  page.alert = a;
  page.opener = opener;
  // the texts again, in the language chosen now
  $('ack-title').textContent = tr('ack.title');
  $('ack-help').textContent = tr('ack.help');
  $('ack-what').textContent = `${a.kind} · ${a.subject} · ${amsterdam(state.lang, a.at)}`;
  $('ack-by').textContent = by();
  d.querySelector('label[for="ack-note"]').textContent = tr('ack.note');
  $('ack-submit').textContent = tr('ack.submit');
  $('ack-cancel').textContent = tr('ack.cancel');
  $('ack-note').value = '';
  $('ack-note').removeAttribute('aria-invalid');
  $('ack-note-error').textContent = '';
  $('ack-error').textContent = '';
  d.showModal();
  $('ack-note').focus();
}

async function submitAck(ev) {
  ev.preventDefault();
  const a = page.alert, note = $('ack-note').value, errs = checkAck({ note });
  $('ack-note-error').textContent = errs.note ? tr(errs.note) : '';
  if (errs.note) {
    $('ack-note').setAttribute('aria-invalid', 'true');
    $('ack-note').focus();
    return;
  }
  $('ack-note').removeAttribute('aria-invalid');
  if (!state.session?.source) { $('ack-error').textContent = tr('ack.err.nosource'); return; }
  const time = new Date(now()).toISOString();
  const event = ackEvent(a, by(), note, { source: state.session.source, id: crypto.randomUUID(), time });
  $('ack-submit').disabled = true;
  const r = await api('/console/api/v1/events', {
    method: 'POST', headers: { 'Content-Type': 'application/cloudevents+json' }, body: JSON.stringify(event),
  });
  $('ack-submit').disabled = false;
  if (failed([r], 'ack-error', 'ack.failed')) return;
  // committed (202): the row says so at once; a reload reads it from the server
  a.acknowledged = { by: event.data.by, note: event.data.note, at: time, event: { source: event.source, id: event.id } };
  page.opener = null;
  $('ack-dialog').close();
  render();
  $('alerts-status').textContent = tr('ack.saved', { kind: a.kind, subject: a.subject });
  $(`ack-${a.id}`)?.focus();
}

function load() {
  $('alerts-status').textContent = '';
  return query(false);
}

for (const id of ['f-severity', 'f-kind', 'f-ack']) $(id).addEventListener('change', () => query(false));
$('alert-filters').addEventListener('submit', (ev) => ev.preventDefault());
$('alerts-more').addEventListener('click', () => query(true));
$('alerts-summary').after(h('p', { id: 'alerts-status', class: 'status-message', role: 'status' }));

definePage({ name: 'signalen', title: 'alerts.title', nav: true, load });
