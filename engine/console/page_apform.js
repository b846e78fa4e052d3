// page_apform.js — the AP form of a breach (#apform/KEY), from GET
// /console/api/v1/breaches/KEY/ap-form: everything the Autoriteit
// Persoonsgegevens' notification form asks, grouped as the form is, each
// question with its answer or marked "Niet beantwoord" (a badge in words,
// not colour alone), and how many are answered. Printable (the print
// rules at the end of style.css leave only the form, in black on white,
// with the breach and the print date in its heading), exportable as JSON
// (made here) and CSV (the server's own ?format=csv, with its BOM, as an
// <a download> so the bytes are the server's).
import { $, state, h, tr, href, definePage, api, now } from './core.js';
import { addStrings } from './i18n.js';
import { amsterdam } from './format.js';
import { word } from './breach_common.js';

addStrings({
  nl: {
    'af.title': 'AP-meldformulier — datalek {key}',
    'af.title.none': 'AP-meldformulier',
    'af.heading': 'Meldformulier datalekken (Autoriteit Persoonsgegevens)',
    'af.lead': 'Alles wat het Meldloket Datalekken van de AP vraagt, ingevuld met wat er over dit datalek is vastgelegd. Neem de antwoorden over in het meldloket, of druk het formulier af voor het dossier.',
    'af.stamp': 'Datalek {key} · stand van {at}',
    'af.printed': 'Afgedrukt op {at}',
    'af.count': '{answered} van {questions} vragen beantwoord',
    'af.count.all': 'Alle {questions} vragen beantwoord',
    'af.unanswered': 'Niet beantwoord',
    'af.unknown': 'Obligo kent dit veld nog niet',
    'af.print': 'Afdrukken / PDF',
    'af.json': 'Exporteer JSON',
    'af.csv': 'Exporteer CSV',
    'af.tools': 'Afdrukken en exporteren',
    'af.back': 'Terug naar het datalek',
    'af.complete': 'Vul de ontbrekende antwoorden aan via de stappen van "Datalek melden".',
    'af.complete.link': 'Verder met dit datalek',
    'af.events': 'Vastgelegde gebeurtenissen',
    'af.failed': 'Het AP-meldformulier kon niet worden geladen ({status}).',
  },
  en: {
    'af.title': 'AP form — breach {key}',
    'af.title.none': 'AP form',
    'af.heading': 'Data breach notification form (Autoriteit Persoonsgegevens)',
    'af.lead': 'Everything the AP\'s Meldloket Datalekken asks, filled in with what was recorded about this breach. Copy the answers into the Meldloket, or print the form for the file. The AP\'s questions are in Dutch, as on its form.',
    'af.stamp': 'Breach {key} · as of {at}',
    'af.printed': 'Printed on {at}',
    'af.count': '{answered} of {questions} questions answered',
    'af.count.all': 'All {questions} questions answered',
    'af.unanswered': 'Not answered',
    'af.unknown': 'Obligo does not know this field yet',
    'af.print': 'Print / PDF',
    'af.json': 'Export JSON',
    'af.csv': 'Export CSV',
    'af.tools': 'Print and export',
    'af.back': 'Back to the breach',
    'af.complete': 'Add the missing answers through the steps of "Report a breach".',
    'af.complete.link': 'Continue with this breach',
    'af.events': 'Recorded events',
    'af.failed': 'The AP form could not be loaded ({status}).',
  },
});

const page = { key: null, form: null };

// the key as a file name: [A-Za-z0-9._-] only, as the server names the CSV
const fileKey = (key) => String(key).replace(/[^A-Za-z0-9._-]/g, '_');

function build(s) {
  s.append(
    h('p', { class: 'crumb no-print' }, h('a', { href: '#datalekken', id: 'apform-back' }, tr('af.back'))),
    h('h2', { id: 'apform-title', tabindex: -1 }, tr('af.title.none')),
    h('p', { class: 'print-only af-heading', id: 'apform-print-heading' }),
    h('p', { class: 'af-stamp', id: 'apform-stamp' }),
    h('p', { class: 'af-stamp print-only', id: 'apform-printed' }),
    h('p', { class: 'lead no-print', 'data-i18n': 'af.lead' }, tr('af.lead')),
    h('div', { class: 'toolbar no-print', role: 'group', 'aria-label': tr('af.tools'), id: 'apform-tools' },
      h('button', { type: 'button', class: 'primary', id: 'apform-print', onclick: () => window.print(), 'data-i18n': 'af.print' }, tr('af.print')),
      h('button', { type: 'button', id: 'apform-json', onclick: exportJson, 'data-i18n': 'af.json' }, tr('af.json')),
      h('a', { class: 'button-link', id: 'apform-csv', download: '', 'data-i18n': 'af.csv' }, tr('af.csv'))),
    h('p', { id: 'apform-count', class: 'af-count', 'aria-live': 'polite' }),
    h('p', { id: 'apform-error', class: 'error', role: 'alert' }),
    h('div', { id: 'apform-body', class: 'apform' }));
}

const engineNow = () => amsterdam(state.lang, new Date(now()).toISOString());

// the print date, set again when the browser prints
function stampPrint() {
  $('apform-printed').textContent = tr('af.printed', { at: engineNow() });
}
window.addEventListener('beforeprint', () => { if (page.form) stampPrint(); });

function exportJson() {
  if (!page.form) return;
  const blob = new Blob([JSON.stringify(page.form, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: `ap-melding-${fileKey(page.key)}.json`, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

function answer(q) {
  if (q.answered) return h('dd', { class: 'answered' }, q.text);
  return h('dd', { class: 'unanswered' },
    h('span', { class: 'badge missing' }, tr('af.unanswered')),
    q.in_catalogue === false ? h('span', { class: 'source' }, ` ${tr('af.unknown')}`) : null);
}

function sections(form) {
  return (form.sections || []).map((s, i) => h('section', { class: 'ap-section', 'data-section': s.id, 'aria-labelledby': `ap-s-${s.id}` },
    h('h3', { id: `ap-s-${s.id}` }, `${i + 1}. ${s.title}`),
    h('dl', { class: 'ap-questions' }, ...(s.questions || []).flatMap((q) => [
      h('dt', { 'data-question': q.id }, q.question), answer(q)]))));
}

function events(form) {
  const list = form.events || [];
  if (!list.length) return [];
  return [h('section', { class: 'ap-section', 'aria-labelledby': 'ap-s-events' },
    h('h3', { id: 'ap-s-events' }, tr('af.events')),
    h('ul', { class: 'ap-events' }, ...list.map((e) => h('li', {}, `${amsterdam(state.lang, e.time)} — ${word('type', e.type)}`))))];
}

async function load([key]) {
  page.key = key;
  page.form = null;
  $('apform-error').textContent = '';
  $('apform-body').replaceChildren();
  $('apform-count').textContent = '';
  $('apform-title').textContent = key ? tr('af.title', { key }) : tr('af.title.none');
  $('apform-back').setAttribute('href', key ? href('datalek', key) : '#datalekken');
  $('apform-tools').setAttribute('aria-label', tr('af.tools'));
  if (!key) return;
  const path = `/console/api/v1/breaches/${encodeURIComponent(key)}/ap-form`;
  $('apform-csv').setAttribute('href', `${path}?format=csv`);
  $('apform-csv').setAttribute('download', `ap-melding-${fileKey(key)}.csv`);
  const r = await api(path);
  if (r.status !== 200 || typeof r.body !== 'object') {
    const msg = r.body && typeof r.body === 'object' && r.body.error ? ` ${r.body.error}` : '';
    $('apform-error').textContent = tr('af.failed', { status: r.status }) + msg;
    return;
  }
  const form = r.body;
  page.form = form;
  $('apform-print-heading').textContent = `${tr('af.heading')} — ${key}`;
  $('apform-stamp').textContent = tr('af.stamp', { key, at: engineNow() });
  stampPrint();
  const all = form.answered === form.questions;
  $('apform-count').textContent = tr(all ? 'af.count.all' : 'af.count', { answered: form.answered, questions: form.questions });
  $('apform-body').append(...sections(form), ...events(form),
    all ? '' : h('p', { class: 'no-print' }, tr('af.complete'), ' ', h('a', { href: href('datalek', key) }, tr('af.complete.link'))));
}

definePage({ name: 'apform', title: 'af.title.none', load, build });
