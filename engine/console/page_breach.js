// page_breach.js — a breach's own page (#datalek/KEY), from GET
// /console/api/v1/breaches/KEY: its status and the AP countdown, the
// deadlines of this breach, every notification phase (kept, not
// overwritten), the timeline of its events with the decisions each caused
// in plain words, and the register's versions with the hash chain shown
// verified or its break named. Links to the AP form and to the scheme's
// next step in the guided form (page_report.js).
import { $, state, h, tr, href, cell, definePage, setEngineTime, api, now } from './core.js';
import { addStrings } from './i18n.js';
import { amsterdam, countdown } from './format.js';
import { word, fetchBreach } from './breach_common.js';
import { nextStep, chainBreak } from './breach_form.js';

addStrings({
  nl: {
    'bp.title': 'Datalek {key}',
    'bp.title.none': 'Datalek',
    'bp.lead': 'Alles wat Obligo over dit datalek weet: de termijnen, de meldingen bij de AP, elke gebeurtenis met wat de regels daarop besloten, en elke versie in het register. Tijden in Amsterdamse tijd.',
    'bp.back': 'Terug naar het datalekkenregister',
    'bp.status': 'Status',
    'bp.aware': 'Bekend sinds',
    'bp.description': 'Omschrijving',
    'bp.ap': 'Melden bij de AP (72 uur)',
    'bp.ap.none': 'Geen meldplicht geopend',
    'bp.actions': 'Verder met dit datalek',
    'bp.apform': 'AP-meldformulier',
    'next.notify': 'Meld bij de AP (stap 2)',
    'next.assess': 'Beoordeel het risico (stap 2)',
    'next.complete': 'Vul de melding bij de AP aan (stap 2)',
    'next.inform': 'Informeer de betrokkenen (stap 3)',
    'next.register': 'Bekijk de registratie of sluit af (stap 4)',
    'bp.deadlines': 'Termijnen van dit datalek',
    'bp.deadlines.caption': 'Termijnen van dit datalek',
    'bp.deadlines.none': 'Er zijn (nog) geen termijnen voor dit datalek.',
    'bp.notifications': 'Meldingen bij de AP',
    'bp.notifications.none': 'Nog niet gemeld bij de AP.',
    'bp.phase': '{phase} op {at}, kenmerk {reference}',
    'bp.delay': 'Reden van vertraging: {reasons}',
    'bp.timeline': 'Tijdlijn',
    'bp.timeline.none': 'Geen gebeurtenissen gevonden.',
    'bp.event.from': 'Bron {source}, id {id}; ontvangen {received}',
    'bp.decisions.none': 'Geen besluiten.',
    'dec.open': 'Termijn geopend: {duty}, uiterlijk {due}',
    'dec.fulfil': 'Termijn gesloten (gedaan): {duty}, op {at}',
    'dec.cancel': 'Termijn vervallen: {duty}{why}',
    'dec.extend': 'Termijn verlengd: {duty}, nu uiterlijk {due}',
    'dec.overdue': 'Termijn verlopen',
    'dec.alert': 'Signaal ({severity}): {message}',
    'dec.register': 'Register {register} bijgewerkt ({key}): {fields}',
    'dec.set': 'Interne stand van de regels bijgewerkt ({ns})',
    'dec.other': 'Besluit {op}',
    'bp.versions': 'Versies in het register',
    'bp.chain.ok': 'Keten van hashes klopt ({n} versies)',
    'bp.chain.ok.one': 'Keten van hashes klopt (1 versie)',
    'bp.chain.broken': 'De keten van hashes is verbroken: {what}',
    'bp.break': 'versie {version} (registervolgnummer {seq}): {reason}',
    'bp.break.altered': 'de hash klopt niet met de inhoud; deze versie is achteraf veranderd',
    'bp.break.relinked': 'de verwijzing naar de vorige versie klopt niet; er is een versie weggehaald, ingevoegd of veranderd',
    'bp.chain.explain': 'Elke versie draagt de hash van haar inhoud en van de vorige versie. Verandert iemand achteraf iets in het register, dan klopt de keten niet meer.',
    'bp.versions.caption': 'Versies van dit datalek in het register',
    'col.version': 'Versie',
    'col.when': 'Tijd',
    'col.event': 'Gebeurtenis',
    'col.hash': 'Hash',
    'col.check': 'Controle',
    'col.data': 'Inhoud',
    'bp.verified': 'klopt',
    'bp.version': 'Versie {n}',
    'bp.console': 'de console ({name})',
    'bp.unverified': 'klopt niet',
    'bp.data': 'Inhoud van deze versie (JSON)',
    'bp.json': 'Het hele antwoord van de API (JSON)',
    'fieldname.status': 'status', 'fieldname.aware_at': 'bekend sinds', 'fieldname.description': 'omschrijving',
    'fieldname.cause': 'oorzaak', 'fieldname.personal_data': 'persoonsgegevens',
    'fieldname.categories': 'soorten gegevens', 'fieldname.persons_affected': 'aantal personen',
    'fieldname.records_affected': 'aantal records', 'fieldname.unintelligible': 'versleuteld',
    'fieldname.processor': 'verwerker', 'fieldname.reporter': 'contactpersoon',
    'fieldname.dedup_key': 'ontdubbelsleutel', 'fieldname.reports': 'meldingen',
    'fieldname.subjects_informed': 'betrokkenen geïnformeerd', 'fieldname.started_at': 'begin',
    'fieldname.ended_at': 'einde', 'fieldname.ongoing': 'nog gaande', 'fieldname.groups': 'groepen',
    'fieldname.consequences': 'gevolgen', 'fieldname.consequences_note': 'toelichting gevolgen',
    'fieldname.measures_taken': 'genomen maatregelen', 'fieldname.measures_planned': 'geplande maatregelen',
    'fieldname.cross_border': 'grensoverschrijdend', 'fieldname.countries': 'landen',
    'fieldname.subjects_message': 'bericht aan betrokkenen', 'fieldname.risk': 'risico',
    'fieldname.rationale': 'motivering', 'fieldname.ap_reference': 'kenmerk AP', 'fieldname.notified_at': 'gemeld op',
    'fieldname.notification_phase': 'soort melding', 'fieldname.delay_reasons': 'reden vertraging',
    'fieldname.notifications': 'meldingen bij de AP', 'fieldname.subjects_exception': 'uitzondering',
    'fieldname.subjects_rationale': 'motivering uitzondering', 'fieldname.subjects_informed_at': 'geïnformeerd op',
    'fieldname.subjects_channel': 'kanaal', 'fieldname.subjects_count': 'aantal geïnformeerd',
    'fieldname.measures': 'maatregelen',
  },
  en: {
    'bp.title': 'Breach {key}',
    'bp.title.none': 'Breach',
    'bp.lead': 'Everything Obligo knows about this breach: the deadlines, the notifications to the AP, every event with what the rules decided on it, and every version in the register. Times in Amsterdam time.',
    'bp.back': 'Back to the breach register',
    'bp.status': 'Status',
    'bp.aware': 'Known since',
    'bp.description': 'Description',
    'bp.ap': 'Notify the AP (72 hours)',
    'bp.ap.none': 'No duty to notify opened',
    'bp.actions': 'Next with this breach',
    'bp.apform': 'AP form',
    'next.notify': 'Notify the AP (step 2)',
    'next.assess': 'Assess the risk (step 2)',
    'next.complete': 'Supplement the notification to the AP (step 2)',
    'next.inform': 'Inform the people affected (step 3)',
    'next.register': 'See the registration or close (step 4)',
    'bp.deadlines': 'This breach\'s deadlines',
    'bp.deadlines.caption': 'This breach\'s deadlines',
    'bp.deadlines.none': 'There are no deadlines for this breach (yet).',
    'bp.notifications': 'Notifications to the AP',
    'bp.notifications.none': 'Not notified to the AP yet.',
    'bp.phase': '{phase} at {at}, reference {reference}',
    'bp.delay': 'Reason for the delay: {reasons}',
    'bp.timeline': 'Timeline',
    'bp.timeline.none': 'No events found.',
    'bp.event.from': 'Source {source}, id {id}; received {received}',
    'bp.decisions.none': 'No decisions.',
    'dec.open': 'Deadline opened: {duty}, due {due}',
    'dec.fulfil': 'Deadline closed (done): {duty}, at {at}',
    'dec.cancel': 'Deadline lapsed: {duty}{why}',
    'dec.extend': 'Deadline extended: {duty}, now due {due}',
    'dec.overdue': 'Deadline passed',
    'dec.alert': 'Alert ({severity}): {message}',
    'dec.register': 'Register {register} updated ({key}): {fields}',
    'dec.set': 'The rules\' own state updated ({ns})',
    'dec.other': 'Decision {op}',
    'bp.versions': 'Versions in the register',
    'bp.chain.ok': 'Hash chain verified ({n} versions)',
    'bp.chain.ok.one': 'Hash chain verified (1 version)',
    'bp.chain.broken': 'The hash chain is broken: {what}',
    'bp.break': 'version {version} (register sequence {seq}): {reason}',
    'bp.break.altered': 'its hash does not match its content; this version was changed afterwards',
    'bp.break.relinked': 'its link to the version before does not match; a version was removed, inserted or changed',
    'bp.chain.explain': 'Each version carries the hash of its content and of the version before. Should anyone change the register afterwards, the chain no longer holds.',
    'bp.versions.caption': 'This breach\'s versions in the register',
    'col.version': 'Version',
    'col.when': 'Time',
    'col.event': 'Event',
    'col.hash': 'Hash',
    'col.check': 'Check',
    'col.data': 'Content',
    'bp.verified': 'verified',
    'bp.version': 'Version {n}',
    'bp.console': 'the console ({name})',
    'bp.unverified': 'does not verify',
    'bp.data': 'Content of this version (JSON)',
    'bp.json': 'The API\'s whole answer (JSON)',
    'fieldname.status': 'status', 'fieldname.aware_at': 'known since', 'fieldname.description': 'description',
    'fieldname.cause': 'cause', 'fieldname.personal_data': 'personal data', 'fieldname.categories': 'kinds of data',
    'fieldname.persons_affected': 'number of people', 'fieldname.records_affected': 'number of records',
    'fieldname.unintelligible': 'encrypted', 'fieldname.processor': 'processor',
    'fieldname.reporter': 'contact person', 'fieldname.dedup_key': 'deduplication key',
    'fieldname.reports': 'reports', 'fieldname.subjects_informed': 'people informed', 'fieldname.started_at': 'start',
    'fieldname.ended_at': 'end', 'fieldname.ongoing': 'ongoing', 'fieldname.groups': 'groups',
    'fieldname.consequences': 'consequences', 'fieldname.consequences_note': 'about the consequences',
    'fieldname.measures_taken': 'measures taken', 'fieldname.measures_planned': 'measures planned',
    'fieldname.cross_border': 'cross-border', 'fieldname.countries': 'countries',
    'fieldname.subjects_message': 'message to the people', 'fieldname.risk': 'risk',
    'fieldname.rationale': 'rationale', 'fieldname.ap_reference': 'AP reference',
    'fieldname.notified_at': 'notified at', 'fieldname.notification_phase': 'kind of notification',
    'fieldname.delay_reasons': 'reason for delay', 'fieldname.notifications': 'notifications to the AP',
    'fieldname.subjects_exception': 'exception', 'fieldname.subjects_rationale': 'rationale of the exception',
    'fieldname.subjects_informed_at': 'informed at', 'fieldname.subjects_channel': 'channel',
    'fieldname.subjects_count': 'number informed', 'fieldname.measures': 'measures',
  },
});

function build(s) {
  s.append(
    h('p', { class: 'crumb' }, h('a', { href: '#datalekken', 'data-i18n': 'bp.back' }, tr('bp.back'))),
    h('h2', { id: 'datalek-title', tabindex: -1 }, tr('bp.title.none')),
    h('p', { class: 'lead', 'data-i18n': 'bp.lead' }, tr('bp.lead')),
    h('p', { id: 'datalek-error', class: 'error', role: 'alert' }),
    h('div', { id: 'datalek-body' }));
}

// "de console (A. de Vries)" for the console's own source, else the source
const CONSOLE = 'urn:obligo:console:';
function who(source) {
  if (typeof source !== 'string' || !source.startsWith(CONSOLE)) return source;
  let name = source.slice(CONSOLE.length);
  try { name = decodeURIComponent(name); } catch { /* shown as it is */ }
  return tr('bp.console', { name });
}

const short = (hash) => (typeof hash === 'string' && hash.length > 16 ? `${hash.slice(0, 12)}…` : hash || tr('none'));

// a decision in plain words
function decisionText(d) {
  const at = (x) => (x ? amsterdam(state.lang, x) : tr('none'));
  switch (d.op) {
  case 'open': return tr('dec.open', { duty: word('duty', d.kind), due: at(d.due_at) });
  case 'fulfil': return tr('dec.fulfil', { duty: word('duty', d.kind), at: at(d.at) });
  case 'cancel': return tr('dec.cancel', { duty: word('duty', d.kind), why: d.rationale ? ` — ${d.rationale}` : '' });
  case 'extend': return tr('dec.extend', { duty: word('duty', d.kind), due: at(d.due_at) });
  case 'overdue': return tr('dec.overdue');
  case 'alert': return tr('dec.alert', { severity: word('severity', d.severity), message: d.message || d.kind });
  case 'register': return tr('dec.register', { register: d.register, key: d.key, fields: Object.keys(d.data || {}).map((f) => word('fieldname', f)).join(', ') });
  case 'set': return tr('dec.set', { ns: d.ns });
  default: return tr('dec.other', { op: d.op });
  }
}

function header(b) {
  const c = b.current || {};
  const ap = (b.obligations || []).filter((o) => o.kind === 'avg.notify_ap').pop();
  let apText;
  if (ap && (ap.status === 'open' || ap.status === 'overdue')) {
    const cd = countdown(state.lang, ap.due_at, now());
    apText = h('span', { class: `countdown big${cd.late ? ' late' : ''}`, 'data-due': ap.due_at, id: 'datalek-countdown' }, cd.text);
  } else {
    apText = h('span', { class: `ob-status ${ap?.status || ''}`, id: 'datalek-countdown' }, ap ? word('ap', ap.status) : tr('bp.ap.none'));
  }
  const step = nextStep(c, b.obligations);
  return h('div', { class: 'card breach-head' },
    h('dl', { class: 'summary-list' },
      h('dt', {}, tr('bp.status')), h('dd', {}, h('span', { class: `breach-status ${c.status || ''}`, id: 'datalek-status' }, word('breach', c.status || b.status))),
      h('dt', {}, tr('bp.aware')), h('dd', {}, amsterdam(state.lang, c.aware_at)),
      h('dt', {}, tr('bp.description')), h('dd', {}, c.description || tr('none')),
      h('dt', {}, tr('bp.ap')), h('dd', {}, apText, ap ? h('span', { class: 'source' }, tr('deadline.due', { due: amsterdam(state.lang, ap.due_at) })) : null)),
    h('nav', { 'aria-label': tr('bp.actions'), class: 'actions' },
      step ? h('a', { href: href('melden', b.key, step.step), class: 'button-link primary', id: 'datalek-next' }, tr(step.key)) : null,
      h('a', { href: href('apform', b.key), class: 'button-link', id: 'datalek-apform' }, tr('bp.apform'))));
}

function deadlines(b) {
  const rows = b.obligations || [];
  if (!rows.length) return [h('h3', {}, tr('bp.deadlines')), h('p', {}, tr('bp.deadlines.none'))];
  const tbody = h('tbody');
  for (const o of rows) {
    const tr_ = h('tr');
    const th = h('th', { scope: 'row', 'data-label': tr('col.duty') }, h('span', { class: 'title' }, word('duty', o.kind)), h('span', { class: 'source' }, o.kind));
    tr_.append(th);
    const live = o.status === 'open' || o.status === 'overdue';
    cell(tr_, word('ob', o.status), `status ${o.status}`, tr('col.status'));
    if (live) {
      const c = countdown(state.lang, o.due_at, now());
      cell(tr_, c.text, c.late ? 'countdown late' : 'countdown', tr('col.left')).dataset.due = o.due_at;
    } else cell(tr_, tr('none'), null, tr('col.left'));
    cell(tr_, amsterdam(state.lang, o.due_at), null, tr('col.due'));
    cell(tr_, o.legal_limit ? amsterdam(state.lang, o.legal_limit) : tr('none'), null, tr('col.limit'));
    tbody.append(tr_);
  }
  return [h('h3', {}, tr('bp.deadlines')), h('div', { class: 'table-wrap' }, h('table', { id: 'breach-deadlines' },
    h('caption', { class: 'visually-hidden' }, tr('bp.deadlines.caption')),
    h('thead', {}, h('tr', {}, ...['col.duty', 'col.status', 'col.left', 'col.due', 'col.limit'].map((k) => h('th', { scope: 'col' }, tr(k))))),
    tbody))];
}

function notifications(b) {
  const list = b.notifications || [];
  return [h('h3', {}, tr('bp.notifications')),
    list.length ? h('ol', { class: 'phases', id: 'breach-phases' }, ...list.map((n) => h('li', {},
      tr('bp.phase', { phase: word('phase', n.phase), at: amsterdam(state.lang, n.notified_at), reference: n.reference || tr('none') }),
      n.delay_reasons ? h('span', { class: 'source' }, tr('bp.delay', { reasons: n.delay_reasons })) : null)))
      : h('p', { id: 'breach-phases' }, tr('bp.notifications.none'))];
}

function timeline(b) {
  const events = b.timeline || [];
  return [h('h3', {}, tr('bp.timeline')),
    events.length ? h('ol', { class: 'timeline', id: 'breach-timeline' }, ...events.map((e) => h('li', { 'data-type': e.type },
      h('p', { class: 'tl-head' }, h('span', { class: 'tl-time' }, amsterdam(state.lang, e.time)), ' ',
        h('span', { class: 'tl-type' }, word('type', e.type))),
      h('p', { class: 'source' }, tr('bp.event.from', { source: who(e.source), id: e.id, received: amsterdam(state.lang, e.received_at) })),
      (e.decisions || []).length
        ? h('ul', { class: 'decisions' }, ...e.decisions.map((d) => h('li', { 'data-op': d.op }, decisionText(d))))
        : h('p', { class: 'source' }, tr('bp.decisions.none')))))
      : h('p', {}, tr('bp.timeline.none'))];
}

// the break in words: which version, and what is wrong with it
function breakText(text) {
  const b = chainBreak(text);
  if (!b) return text || tr('none');
  return tr('bp.break', { version: b.version, seq: b.seq, reason: b.reason ? tr(`bp.break.${b.reason}`) : b.text });
}

function versions(b) {
  const list = b.versions || [], chain = b.chain || {};
  const ok = chain.verified === true;
  const verdict = ok
    ? h('p', { class: 'chain ok', role: 'status', id: 'breach-chain' }, h('span', { class: 'badge ok' }, '✓'), ' ',
      tr(list.length === 1 ? 'bp.chain.ok.one' : 'bp.chain.ok', { n: list.length }))
    : h('p', { class: 'chain broken', role: 'alert', id: 'breach-chain' }, h('span', { class: 'badge missing' }, '✗'), ' ',
      tr('bp.chain.broken', { what: breakText(chain.break) }));
  const tbody = h('tbody');
  for (const v of list) {
    const row = h('tr');
    row.append(h('th', { scope: 'row' }, tr('bp.version', { n: v.version })));
    cell(row, amsterdam(state.lang, v.at), null, tr('col.when'));
    cell(row, v.event ? `${v.event.source} · ${v.event.id}` : tr('none'), 'event-ref', tr('col.event'));
    const hashes = cell(row, '', 'hash', tr('col.hash'));
    hashes.append(h('code', { title: v.hash }, short(v.hash)), ' ← ', h('code', { title: v.prev_hash || '' }, short(v.prev_hash)));
    cell(row, tr(v.verified ? 'bp.verified' : 'bp.unverified'), v.verified ? 'check ok' : 'check broken', tr('col.check'));
    const more = cell(row, '', 'data', tr('col.data'));
    more.append(h('details', {}, h('summary', {}, tr('bp.data')), h('pre', {}, JSON.stringify(v.data, null, 2))));
    tbody.append(row);
  }
  return [h('h3', {}, tr('bp.versions')), verdict, h('p', { class: 'source' }, tr('bp.chain.explain')),
    h('div', { class: 'table-wrap' }, h('table', { id: 'breach-versions' },
      h('caption', { class: 'visually-hidden' }, tr('bp.versions.caption')),
      h('thead', {}, h('tr', {}, ...['col.version', 'col.when', 'col.event', 'col.hash', 'col.check', 'col.data'].map((k) => h('th', { scope: 'col' }, tr(k))))),
      tbody))];
}

async function load([key]) {
  $('datalek-error').textContent = '';
  const body = $('datalek-body');
  body.replaceChildren();
  $('datalek-title').textContent = key ? tr('bp.title', { key }) : tr('bp.title.none');
  if (!key) return;
  const [session, r] = await Promise.all([api('/console/session'), fetchBreach(key)]);
  if (session.status === 200) setEngineTime(session.body.now);
  if (r.status !== 200) {
    const msg = r.body && typeof r.body === 'object' && r.body.error ? ` ${r.body.error}` : '';
    $('datalek-error').textContent = tr('breach.failed', { status: r.status }) + msg;
    return;
  }
  const b = r.body;
  body.append(header(b), ...deadlines(b), ...notifications(b), ...timeline(b), ...versions(b),
    h('details', { class: 'raw' }, h('summary', {}, tr('bp.json')), h('pre', {}, JSON.stringify(b, null, 2))));
}

definePage({ name: 'datalek', title: 'bp.title.none', load, build });

