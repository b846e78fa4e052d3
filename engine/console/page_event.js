// page_event.js — Gebeurtenis (#gebeurtenis/SOURCE/ID): one journaled
// event in words (its type in Dutch where the console knows it, its time,
// source, when Obligo received it, its data as a definition list) and
// every decision it caused, from GET /console/api/v1/events?source=&id=
// (by query: a source may hold '/'). Reached from the Termijnen page; no
// menu item.
import { $, state, api, tr, h, failed, href, definePage } from './core.js';
import { addStrings } from './i18n.js';
import { amsterdam } from './format.js';
import { eventPath, typeName } from './officer.js';


const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const page = { titles: new Map() };
const OPS = ['open', 'fulfil', 'cancel', 'extend', 'overdue', 'alert', 'register', 'set'];

addStrings({
  nl: {
    'event.title': 'Gebeurtenis',
    'event.lead': 'Een gebeurtenis zoals Obligo haar ontving, en alles wat de regels daarop besloten. Tijden in Amsterdamse tijd.',
    'event.back': 'Terug naar Termijnen',
    'event.type': 'Soort gebeurtenis',
    'event.time': 'Tijdstip',
    'event.received': 'Ontvangen door Obligo',
    'event.source': 'Bron',
    'event.id': 'Kenmerk',
    'event.ruleset': 'Regelset (revisie)',
    'event.data': 'Gegevens',
    'event.nodata': 'Deze gebeurtenis heeft geen gegevens.',
    'event.decisions': 'Besluiten van de regels',
    'event.nodecisions': 'De regels besloten niets op deze gebeurtenis.',
    'event.json': 'De gebeurtenis als JSON (voor de beheerder)',
    'event.failed': 'De gebeurtenis kon niet worden geladen ({status}).',
    'event.rule': 'regel {rule}',
    'op.open': 'Termijn geopend: {kind} voor {subject}',
    'op.fulfil': 'Termijn voldaan: {kind} voor {subject}',
    'op.cancel': 'Termijn vervallen: {kind} voor {subject}',
    'op.extend': 'Termijn verlengd: {kind} voor {subject}',
    'op.overdue': 'Termijn verlopen: {kind} voor {subject}',
    'op.alert': 'Signaal gegeven: {kind} over {subject}',
    'op.register': 'Vastgelegd in register {register}: {key}',
    'op.set': 'Stand van een regel bijgehouden ({ns}: {key})',
    'op.other': 'Besluit {op}',
    'op.due': 'uiterlijk {at}',
    'op.legal': 'wettelijke grens {at}',
    'event.yes': 'ja',
    'event.no': 'nee',
  },
  en: {
    'event.title': 'Event',
    'event.lead': 'An event as Obligo received it, and everything the rules decided on it. Times in Amsterdam time.',
    'event.back': 'Back to Deadlines',
    'event.type': 'Kind of event',
    'event.time': 'Time',
    'event.received': 'Received by Obligo',
    'event.source': 'Source',
    'event.id': 'Identifier',
    'event.ruleset': 'Rule set (revision)',
    'event.data': 'Data',
    'event.nodata': 'This event has no data.',
    'event.decisions': 'Decisions of the rules',
    'event.nodecisions': 'The rules decided nothing on this event.',
    'event.json': 'The event as JSON (for the administrator)',
    'event.failed': 'The event could not be loaded ({status}).',
    'event.rule': 'rule {rule}',
    'op.open': 'Deadline opened: {kind} for {subject}',
    'op.fulfil': 'Deadline met: {kind} for {subject}',
    'op.cancel': 'Deadline cancelled: {kind} for {subject}',
    'op.extend': 'Deadline extended: {kind} for {subject}',
    'op.overdue': 'Deadline passed: {kind} for {subject}',
    'op.alert': 'Alert raised: {kind} about {subject}',
    'op.register': 'Recorded in register {register}: {key}',
    'op.set': 'A rule\'s state kept ({ns}: {key})',
    'op.other': 'Decision {op}',
    'op.due': 'due {at}',
    'op.legal': 'legal limit {at}',
    'event.yes': 'yes',
    'event.no': 'no',
  },
});

// a value of the event's data as text: nested objects as their own list
function value(v) {
  if (v === null || v === undefined) return tr('none');
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x !== 'object' || x === null)) return v.join(', ');
    return h('ul', {}, v.map((x) => h('li', {}, value(x))));
  }
  if (typeof v === 'object') return definitions(v);
  if (typeof v === 'boolean') return tr(v ? 'event.yes' : 'event.no');
  // an instant (not a plain date) in Amsterdam time, as everywhere
  if (typeof v === 'string' && INSTANT.test(v) && !Number.isNaN(Date.parse(v))) return amsterdam(state.lang, v);
  return String(v);
}

function definitions(obj) {
  return h('dl', { class: 'facts' }, Object.entries(obj).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, value(v))]));
}

function decision(d) {
  const lang = state.lang, vars = { ...d, op: d.op };
  if (d.op !== 'alert' && page.titles.has(d.kind)) vars.kind = `“${page.titles.get(d.kind)}” (${d.kind})`;
  const item = h('li', {}, h('span', { class: 'title' }, tr(OPS.includes(d.op) ? `op.${d.op}` : 'op.other', vars)));
  const extra = [];
  if (d.due_at) extra.push(tr('op.due', { at: amsterdam(lang, d.due_at) }));
  if (d.legal_limit) extra.push(tr('op.legal', { at: amsterdam(lang, d.legal_limit) }));
  if (d.message) extra.push(d.message);
  if (d.rule) extra.push(tr('event.rule', { rule: d.rule }));
  item.append(h('span', { class: 'source' }, extra.join(' · ')));
  return item;
}

function render(body) {
  const lang = state.lang, e = body.event || {}, out = $('event-body');
  out.replaceChildren(
    definitions({}),
    h('h3', {}, tr('event.data')),
    e.data && typeof e.data === 'object' && Object.keys(e.data).length ? definitions(e.data) : h('p', {}, tr('event.nodata')),
    h('h3', {}, tr('event.decisions')),
    body.decisions?.length ? h('ol', { class: 'event-decisions' }, body.decisions.map(decision)) : h('p', {}, tr('event.nodecisions')),
    h('details', { class: 'json' }, h('summary', {}, tr('event.json')), h('pre', {}, JSON.stringify(e, null, 2))),
  );
  const facts = out.firstChild;
  const rows = [['event.type', `${typeName(lang, e.type)} (${e.type})`], ['event.time', amsterdam(lang, e.time)],
    ['event.received', amsterdam(lang, body.received_at)], ['event.source', e.source], ['event.id', e.id],
    ['event.ruleset', body.ruleset]];
  for (const [k, v] of rows) facts.append(h('dt', {}, tr(k)), h('dd', {}, v || tr('none')));
}

async function load(args) {
  const [source, id] = args;
  $('event-error').textContent = '';
  $('event-body').replaceChildren();
  if (!source || !id) { $('event-error').textContent = tr('event.failed', { status: 404 }); return; }
  const [r, duties] = await Promise.all([api(eventPath(source, id)), api('/console/api/v1/duties')]);
  if (failed([r], 'event-error', 'event.failed')) return;
  if (duties.status === 200) page.titles = new Map(duties.body.duties.map((d) => [d.name, d.title]));
  render(r.body);
}

function build(section) {
  section.append(
    h('p', { class: 'crumbs' }, h('a', { href: href('termijnen'), 'data-i18n': 'event.back' }, tr('event.back'))),
    h('h2', { id: 'gebeurtenis-title', tabindex: '-1', 'data-i18n': 'event.title' }, tr('event.title')),
    h('p', { class: 'lead', 'data-i18n': 'event.lead' }, tr('event.lead')),
    h('div', { id: 'event-body', class: 'card', 'aria-live': 'polite' }),
    h('p', { id: 'event-error', class: 'error', role: 'alert' }));
}

definePage({ name: 'gebeurtenis', title: 'event.title', load, build });
