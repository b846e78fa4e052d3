// page_logreview.js — Logcontrole (#logcontrole): the monthly review of the
// NEN 7513 access log, recorded as nl.nen7513.review through POST
// /console/api/v1/events (period, reviewer, findings), after which the
// page shows the state of the duty nen7513.review_logs read back from the
// server: the running deadline closed by this review, and the next one.
// A page of its own (a menu item), not part of Signalen: the review is a
// monthly task with its own deadline, done whether or not an alert came.
import { $, state, api, now, tr, h, failed, definePage } from './core.js';
import { addStrings } from './i18n.js';
import { amsterdam, countdown } from './format.js';
import { checkReview, lastMonth, reviewEvent, findingLines, plainDate } from './officer.js';

const DUTY = 'nen7513.review_logs';

addStrings({
  nl: {
    'nav.logcontrole': 'Logcontrole',
    'review.title': 'Logcontrole vastleggen',
    'review.lead': 'Elke maand controleert u de toegangslogging (NEN 7513): wie heeft welke dossiers ingezien, en was dat terecht? '
      + 'Leg hier vast dat de controle is gedaan. Obligo sluit dan de lopende termijn en zet de volgende, een maand na het einde van de gecontroleerde periode.',
    'review.state': 'Stand van de termijn',
    'review.open': 'De volgende controle is uiterlijk {due} ({left}).',
    'review.none': 'Er loopt nog geen termijn: die begint bij de eerste vastgelegde controle.',
    'review.closed': 'De termijn die liep tot {due} is gesloten door deze controle: {status} op {at}.',
    'review.status.fulfilled': 'op tijd voldaan',
    'review.status.late': 'te laat voldaan',
    'review.form': 'De controle',
    'review.start': 'Begin van de gecontroleerde periode',
    'review.end': 'Einde van de gecontroleerde periode',
    'review.period.help': 'Standaard de vorige maand.',
    'review.reviewer': 'Gecontroleerd door',
    'review.findings': 'Bevindingen (optioneel, één per regel)',
    'review.findings.help': 'Bijvoorbeeld: "Inzage C-42 zonder behandelrelatie besproken met de medewerker". Geen bevindingen? Laat leeg.',
    'review.submit': 'Controle vastleggen',
    'review.err.date': 'Vul een datum in (dag, maand en jaar).',
    'review.err.order': 'Het einde ligt vóór het begin van de periode.',
    'review.err.reviewer': 'Vul in wie de controle heeft gedaan.',
    'review.err.form': 'Het formulier is nog niet goed ingevuld; zie de velden hierboven.',
    'review.failed': 'De controle is niet vastgelegd ({status}).',
    'review.saved': 'De controle van {start} tot en met {end} is vastgelegd ({n} bevindingen).',
    'review.load.failed': 'De stand van de termijn kon niet worden geladen ({status}).',
  },
  en: {
    'nav.logcontrole': 'Log review',
    'review.title': 'Record a log review',
    'review.lead': 'Every month you review the access log (NEN 7513): who opened which records, and was that justified? '
      + 'Record here that the review was done. Obligo then closes the running deadline and sets the next, a month after the end of the reviewed period.',
    'review.state': 'State of the deadline',
    'review.open': 'The next review is due {due} ({left}).',
    'review.none': 'No deadline is running yet: it starts with the first recorded review.',
    'review.closed': 'The deadline that ran until {due} is closed by this review: {status} on {at}.',
    'review.status.fulfilled': 'met on time',
    'review.status.late': 'met late',
    'review.form': 'The review',
    'review.start': 'Start of the reviewed period',
    'review.end': 'End of the reviewed period',
    'review.period.help': 'Last month by default.',
    'review.reviewer': 'Reviewed by',
    'review.findings': 'Findings (optional, one per line)',
    'review.findings.help': 'For example: "Access to C-42 without a treatment relation discussed with the employee". No findings? Leave empty.',
    'review.submit': 'Record review',
    'review.err.date': 'Enter a date (day, month and year).',
    'review.err.order': 'The end lies before the start of the period.',
    'review.err.reviewer': 'Enter who did the review.',
    'review.err.form': 'The form is not filled in correctly yet; see the fields above.',
    'review.failed': 'The review was not recorded ({status}).',
    'review.saved': 'The review from {start} to {end} is recorded ({n} findings).',
    'review.load.failed': 'The state of the deadline could not be loaded ({status}).',
  },
});

const FIELDS = { start: 'review-start', end: 'review-end', reviewer: 'review-reviewer' };
const page = { recorded: null };

function field(id, labelKey, input, helpKey) {
  const help = helpKey ? h('p', { id: `${id}-help`, class: 'hint', 'data-i18n': helpKey }, tr(helpKey)) : null;
  const described = [help && `${id}-help`, `${id}-error`].filter(Boolean).join(' ');
  input.setAttribute('aria-describedby', described);
  return h('div', { class: 'field' }, h('label', { for: id, 'data-i18n': labelKey }, tr(labelKey)), input, help,
    h('p', { id: `${id}-error`, class: 'error field-error' }));
}

function build(section) {
  section.append(
    h('h2', { id: 'logcontrole-title', tabindex: '-1', 'data-i18n': 'review.title' }, tr('review.title')),
    h('p', { class: 'lead', 'data-i18n': 'review.lead' }, tr('review.lead')),
    h('section', { class: 'card', 'aria-labelledby': 'review-state-title' },
      h('h3', { id: 'review-state-title', 'data-i18n': 'review.state' }, tr('review.state')),
      h('p', { id: 'review-closed', class: 'ok', role: 'status' }),
      h('p', { id: 'review-open' })),
    h('form', { id: 'review-form', class: 'card form', novalidate: true, 'aria-labelledby': 'review-form-title' },
      h('h3', { id: 'review-form-title', 'data-i18n': 'review.form' }, tr('review.form')),
      h('div', { class: 'row' },
        field('review-start', 'review.start', h('input', { id: 'review-start', type: 'date', required: true }), 'review.period.help'),
        field('review-end', 'review.end', h('input', { id: 'review-end', type: 'date', required: true }))),
      field('review-reviewer', 'review.reviewer', h('input', { id: 'review-reviewer', type: 'text', required: true, autocomplete: 'name' })),
      field('review-findings', 'review.findings', h('textarea', { id: 'review-findings', rows: '4' }), 'review.findings.help'),
      h('p', { id: 'review-error', class: 'error', role: 'alert' }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', 'data-i18n': 'review.submit' }, tr('review.submit')))));
  $('review-form').addEventListener('submit', submit);
}

// the duty's obligations: the one this review closed, and the running one
async function showState() {
  const r = await api(`/console/api/v1/obligations?kind=${DUTY}&limit=1000`);
  if (failed([r], 'review-error', 'review.load.failed')) return;
  const lang = state.lang, rows = r.body;
  const open = rows.filter((o) => o.status === 'open' || o.status === 'overdue').pop();
  $('review-open').textContent = open
    ? tr('review.open', { due: amsterdam(lang, open.due_at), left: countdown(lang, open.due_at, now()).text })
    : tr('review.none');
  const ev = page.recorded;
  const closed = ev && rows.find((o) => o.closed_by && o.closed_by.source === ev.source && o.closed_by.id === ev.id);
  $('review-closed').textContent = closed
    ? tr('review.closed', { due: amsterdam(lang, closed.due_at), at: amsterdam(lang, closed.closed_at),
      status: tr(closed.status === 'late' ? 'review.status.late' : 'review.status.fulfilled') })
    : '';
}

function values() {
  return { start: $('review-start').value, end: $('review-end').value, reviewer: $('review-reviewer').value,
    findings: $('review-findings').value };
}

function showErrors(errs) {
  for (const [k, id] of Object.entries(FIELDS)) {
    $(`${id}-error`).textContent = errs[k] ? tr(errs[k]) : '';
    if (errs[k]) $(id).setAttribute('aria-invalid', 'true');
    else $(id).removeAttribute('aria-invalid');
  }
}

async function submit(ev) {
  ev.preventDefault();
  const v = values(), errs = checkReview(v);
  showErrors(errs);
  $('review-error').textContent = '';
  const first = Object.keys(FIELDS).find((k) => errs[k]);
  if (first) {
    $('review-error').textContent = tr('review.err.form');
    $(FIELDS[first]).focus();
    return;
  }
  const event = reviewEvent(v, { source: state.session?.source, id: crypto.randomUUID(), time: new Date(now()).toISOString() });
  const r = await api('/console/api/v1/events', {
    method: 'POST', headers: { 'Content-Type': 'application/cloudevents+json' }, body: JSON.stringify(event),
  });
  if (failed([r], 'review-error', 'review.failed')) return;
  page.recorded = { source: event.source, id: event.id };
  $('review-findings').value = '';
  await showState();
  const saved = tr('review.saved', { start: plainDate(state.lang, v.start), end: plainDate(state.lang, v.end), n: findingLines(v.findings).length });
  $('review-closed').textContent = `${saved} ${$('review-closed').textContent}`.trim();
}

async function load() {
  // the defaults, unless the officer is filling the form in (the language changed)
  const m = lastMonth(now());
  if (!$('review-start').value) $('review-start').value = m.start;
  if (!$('review-end').value) $('review-end').value = m.end;
  if (!$('review-reviewer').value) $('review-reviewer').value = state.session?.note || '';
  $('review-closed').textContent = '';
  $('review-error').textContent = '';
  page.recorded = null;
  showErrors({});
  await showState();
}

definePage({ name: 'logcontrole', title: 'review.title', nav: true, load, build });
