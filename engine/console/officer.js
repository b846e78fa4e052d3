// officer.js — the officer's acts and the paged lists, without a page:
// the queries of the server's paging (Signalen newest first by seq,
// Termijnen by due time with a keyset), merging a next page without
// duplicates, checking the acknowledgement and log-review forms, the
// CloudEvents the console records for them, the default review period
// (last month in Amsterdam), a rule directory as a replay body, and a
// replay's differences in plain words. Pure functions, tested with
// `node --test` (tests/clients/console_officer.test.mjs).
import { t, addStrings } from './i18n.js';

export const PAGE = 50;

// ---- paging ---------------------------------------------------------------

// GET /v1/alerts, newest first; before = the seq of the last row shown
export function alertsQuery({ severity = '', kind = '', acknowledged = '', before = null, limit = PAGE } = {}) {
  const p = new URLSearchParams({ order: 'newest', limit: String(limit) });
  if (severity) p.set('severity', severity);
  if (kind) p.set('kind', kind);
  if (acknowledged === '0' || acknowledged === '1') p.set('acknowledged', acknowledged);
  if (before !== null && before !== undefined) p.set('before', String(before));
  return `/console/api/v1/alerts?${p}`;
}

// GET /v1/obligations by due time; after = {due, id} of the last row shown
export function deadlinesQuery({ status = 'open,overdue', kind = '', dueBefore = null, after = null, limit = PAGE } = {}) {
  const p = new URLSearchParams({ order: 'due', status, limit: String(limit) });
  if (kind) p.set('kind', kind);
  if (dueBefore) p.set('due_before', dueBefore);
  if (after) {
    p.set('after_due', after.due);
    p.set('after', String(after.id));
  }
  return `/console/api/v1/obligations?${p}`;
}

// "within N days" as the instant it ends, or null for no limit
export function withinDays(text, nowMs) {
  if (text === '' || text === null || text === undefined) return null;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) return null;
  return new Date(nowMs + n * 86400000).toISOString();
}

export function alertCursor(rows) {
  return rows.length ? rows[rows.length - 1].seq : null;
}

export function deadlineCursor(rows) {
  const last = rows[rows.length - 1];
  return last ? { due: last.due_at, id: last.id } : null;
}

// the rows of more that list does not hold yet (by key), in their order
export function unseen(list, more, key) {
  const seen = new Set(list.map(key));
  return more.filter((r) => !seen.has(key(r)));
}

// ---- the forms ------------------------------------------------------------

const DATE = /^\d{4}-\d{2}-\d{2}$/;

// {field: i18n key} for each problem; an empty object when all is well
export function checkAck({ note }) {
  const e = {};
  if (!note || !note.trim()) e.note = 'ack.err.note';
  else if (note.trim().length > 2000) e.note = 'ack.err.long';
  return e;
}

export function checkReview({ start, end, reviewer }) {
  const e = {};
  if (!DATE.test(start || '') || Number.isNaN(Date.parse(start))) e.start = 'review.err.date';
  if (!DATE.test(end || '') || Number.isNaN(Date.parse(end))) e.end = 'review.err.date';
  if (!e.start && !e.end && end < start) e.end = 'review.err.order';
  if (!reviewer || !reviewer.trim()) e.reviewer = 'review.err.reviewer';
  return e;
}

// the non-empty lines of the findings text
export function findingLines(text) {
  return (text || '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
}

// The calendar month before the engine's today in Amsterdam, as two dates.
export function lastMonth(nowMs) {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Amsterdam', year: 'numeric', month: '2-digit' })
    .formatToParts(new Date(nowMs));
  const y = Number(parts.find((p) => p.type === 'year').value), m = Number(parts.find((p) => p.type === 'month').value);
  const py = m === 1 ? y - 1 : y, pm = m === 1 ? 12 : m - 1;
  const days = new Date(Date.UTC(py, pm, 0)).getUTCDate();
  const mm = String(pm).padStart(2, '0');
  return { start: `${py}-${mm}-01`, end: `${py}-${mm}-${String(days).padStart(2, '0')}` };
}

// "1 mei 2026": a plain date (YYYY-MM-DD) as a day, in no zone
export function plainDate(lang, date) {
  if (!DATE.test(date || '')) return date || '';
  return new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'nl-NL', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })
    .format(new Date(`${date}T00:00:00Z`));
}

// ---- the events the console records -----------------------------------------

function cloudEvent(type, data, { source, id, time }) {
  return { specversion: '1.0', id, source, type, time, datacontenttype: 'application/json', data };
}

// env: {source, id, time} — the session's source, a fresh UUID, engine time
export function ackEvent(alert, by, note, env) {
  const data = { alert_id: String(alert.id), by, note: note.trim() };
  if (alert.kind) data.kind = alert.kind;
  if (alert.subject) data.subject = alert.subject;
  return cloudEvent('nl.obligo.alert.acknowledged', data, env);
}

export function reviewEvent({ start, end, reviewer, findings }, env) {
  const data = { period_start: start, period_end: end, reviewer: reviewer.trim() };
  const lines = findingLines(findings);
  if (lines.length) data.findings = lines;
  return cloudEvent('nl.nen7513.review', data, env);
}

// the event page's API path: by query, since a source may hold '/'
export function eventPath(source, id) {
  return `/console/api/v1/events?${new URLSearchParams({ source, id })}`;
}

// ---- the catalogue's types in words -------------------------------------------------

// [Dutch, English] for the types an officer meets most
const TYPES = {
  'nl.avg.breach.reported': ['Datalek ontdekt en intern gemeld', 'Breach discovered and reported internally'],
  'nl.avg.breach.assessed': ['Datalek beoordeeld', 'Breach assessed'],
  'nl.avg.breach.notified': ['Datalek gemeld bij de AP', 'Breach notified to the AP'],
  'nl.avg.breach.withdrawn': ['Datalekmelding ingetrokken', 'Breach report withdrawn'],
  'nl.avg.breach.subjects_informed': ['Betrokkenen over het datalek geïnformeerd', 'Data subjects informed of the breach'],
  'nl.avg.breach.closed': ['Datalek afgesloten', 'Breach closed'],
  'nl.avg.request.received': ['Verzoek van een betrokkene ontvangen', 'Data subject request received'],
  'nl.avg.request.extended': ['Termijn van een verzoek verlengd', 'Data subject request extended'],
  'nl.avg.request.completed': ['Verzoek van een betrokkene afgehandeld', 'Data subject request completed'],
  'nl.nen7513.access': ['Inzage in een dossier (logregel)', 'Access to a record (log line)'],
  'nl.nen7513.review': ['Controle van de toegangslogging', 'Review of the access log'],
  'nl.nen7513.purge': ['Oude logregels verwijderd', 'Old log lines purged'],
  'nl.obligo.alert.acknowledged': ['Signaal afgehandeld', 'Alert acknowledged'],
  'nl.wgbo.record.changed': ['Dossier gewijzigd', 'Record changed'],
  'nl.wgbo.record.destroyed': ['Dossier vernietigd', 'Record destroyed'],
  'nl.ict.backup.completed': ['Back-up gemaakt', 'Backup completed'],
};

export function typeName(lang, type) {
  const names = TYPES[type];
  return names ? names[lang === 'en' ? 1 : 0] : type;
}

// ---- replay ------------------------------------------------------------------

// A file chosen with webkitdirectory is named from the chosen folder:
// "rules/nen7513/access.lua" is the replay's "nen7513/access.lua". null for
// what a rule directory read skips: not .lua, hidden.
export function rulePath(relative) {
  const parts = relative.split('/').slice(1);
  if (!parts.length || parts.some((p) => p === '' || p.startsWith('.'))) return null;
  const path = parts.join('/');
  return path.endsWith('.lua') ? path : null;
}

addStrings({
  nl: {
    'list.more': 'Meer tonen',
    'diff.obligation_opened': 'Plicht {kind} voor {subject} zou worden geopend',
    'diff.obligation_not_opened': 'Plicht {kind} voor {subject} zou niet worden geopend',
    'diff.obligation_status': 'Plicht {kind} voor {subject} krijgt een andere status',
    'diff.obligation_due': 'Plicht {kind} voor {subject} krijgt een andere termijn',
    'diff.alert_raised': 'Signaal {kind} over {subject} zou worden gegeven',
    'diff.alert_not_raised': 'Signaal {kind} over {subject} zou niet worden gegeven',
    'diff.alert_count': 'Signaal {kind} over {subject} zou een ander aantal keren worden gegeven',
    'diff.register_added': 'Register {register}: {key} zou worden toegevoegd',
    'diff.register_missing': 'Register {register}: {key} zou ontbreken',
    'diff.register_data': 'Register {register}: {key} zou andere gegevens krijgen',
    'diff.other': 'Verschil {change} bij {kind} {subject}',
    'diff.now': 'nu: {v}',
    'diff.then': 'met de wijziging: {v}',
    'diff.cause': 'veroorzaakt door {type} ({source} / {id})',
    'diff.none': 'geen',
    'diff.times': '{n} keer gegeven',
    'count.obligation_opened': '{n} × een termijn die zou worden geopend',
    'count.obligation_not_opened': '{n} × een termijn die niet zou worden geopend',
    'count.obligation_status': '{n} × een termijn met een andere status',
    'count.obligation_due': '{n} × een termijn met een andere uiterste datum',
    'count.alert_raised': '{n} × een signaal dat zou worden gegeven',
    'count.alert_not_raised': '{n} × een signaal dat niet zou worden gegeven',
    'count.alert_count': '{n} × een signaal dat een ander aantal keren zou worden gegeven',
    'count.register_added': '{n} × een registerregel die erbij zou komen',
    'count.register_missing': '{n} × een registerregel die zou ontbreken',
    'count.register_data': '{n} × een registerregel met andere gegevens',
  },
  en: {
    'list.more': 'Show more',
    'diff.obligation_opened': 'Duty {kind} for {subject} would be opened',
    'diff.obligation_not_opened': 'Duty {kind} for {subject} would not be opened',
    'diff.obligation_status': 'Duty {kind} for {subject} gets another status',
    'diff.obligation_due': 'Duty {kind} for {subject} gets another deadline',
    'diff.alert_raised': 'Alert {kind} about {subject} would be raised',
    'diff.alert_not_raised': 'Alert {kind} about {subject} would not be raised',
    'diff.alert_count': 'Alert {kind} about {subject} would be raised another number of times',
    'diff.register_added': 'Register {register}: {key} would be added',
    'diff.register_missing': 'Register {register}: {key} would be missing',
    'diff.register_data': 'Register {register}: {key} would get other data',
    'diff.other': 'Difference {change} for {kind} {subject}',
    'diff.now': 'now: {v}',
    'diff.then': 'with the change: {v}',
    'diff.cause': 'caused by {type} ({source} / {id})',
    'diff.none': 'none',
    'diff.times': 'raised {n} times',
    'count.obligation_opened': '{n} × a deadline that would be opened',
    'count.obligation_not_opened': '{n} × a deadline that would not be opened',
    'count.obligation_status': '{n} × a deadline with another status',
    'count.obligation_due': '{n} × a deadline with another due date',
    'count.alert_raised': '{n} × an alert that would be raised',
    'count.alert_not_raised': '{n} × an alert that would not be raised',
    'count.alert_count': '{n} × an alert raised another number of times',
    'count.register_added': '{n} × a register entry that would be added',
    'count.register_missing': '{n} × a register entry that would be missing',
    'count.register_data': '{n} × a register entry with other data',
  },
});

// one side of a difference in words: "open, due 2026-06-11T03:30:00Z"
function side(lang, v) {
  if (v === null || v === undefined) return t(lang, 'diff.none');
  if (typeof v !== 'object') return String(v);
  if ('count' in v && Object.keys(v).length === 1) return t(lang, 'diff.times', { n: v.count });
  return Object.entries(v).map(([k, x]) => `${k}: ${typeof x === 'object' ? JSON.stringify(x) : x}`).join(', ');
}

// "2 signalen die zouden worden gegeven, 1 termijn met een andere status"
export function countsText(lang, counts) {
  return Object.entries(counts).map(([k, n]) => t(lang, `count.${k}`, { n }).replace(/^count\./, `${n} × `)).join(', ');
}

// {title, now, then, cause} in words for one difference of a replay
export function diffText(lang, d) {
  const known = ['obligation_opened', 'obligation_not_opened', 'obligation_status', 'obligation_due',
    'alert_raised', 'alert_not_raised', 'alert_count', 'register_added', 'register_missing', 'register_data'];
  const vars = { kind: d.kind ?? '', subject: d.subject ?? '', register: d.register ?? '', key: d.key ?? '', change: d.change };
  return {
    title: t(lang, known.includes(d.change) ? `diff.${d.change}` : 'diff.other', vars),
    now: t(lang, 'diff.now', { v: side(lang, d.recorded) }),
    then: t(lang, 'diff.then', { v: side(lang, d.candidate) }),
    cause: d.cause ? t(lang, 'diff.cause', { ...d.cause, type: typeName(lang, d.cause.type) }) : '',
  };
}
