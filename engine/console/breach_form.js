// breach_form.js — the logic of the guided breach form (page_report.js)
// that needs no page: Amsterdam wall-clock input to an instant and back
// (across the changes to and from summer time), the breach's readable id,
// the message to the people affected with the elements the practice's
// scheme and AVG art. 34 lid 2 ask for, each step's validation and the
// data of the catalogue event each step records (plugins/avg/avg.c names
// the fields). Pure functions, tested with `node --test`
// (tests/clients/console_breach.test.mjs); the page reads its controls into
// a plain object of strings (and arrays for check boxes) and hands it here.

const ZONE = 'Europe/Amsterdam';
const MINUTE = 60000;

let wall;
// {year, month, day, hour, minute} of the instant ms on Amsterdam's clock
function amsParts(ms) {
  wall ??= new Intl.DateTimeFormat('en-GB', {
    timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  });
  const p = Object.fromEntries(wall.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return { year: +p.year, month: +p.month, day: +p.day, hour: +p.hour, minute: +p.minute };
}

// Amsterdam's offset from UTC at the instant ms, in minutes (60 or 120)
export function amsOffset(ms) {
  const p = amsParts(ms);
  return Math.round((Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - Math.floor(ms / MINUTE) * MINUTE) / MINUTE);
}

const two = (n) => String(n).padStart(2, '0');

// "2026-06-09T06:50": the value of a datetime-local input showing the
// instant ms on Amsterdam's clock (whatever the browser's own zone).
export function amsInput(ms) {
  const p = amsParts(ms);
  return `${p.year}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}`;
}

// "2026-06-09T06:50:00+02:00": an instant with Amsterdam's offset, as the
// journal keeps the officer's own clock reading.
export function amsIso(ms) {
  const off = amsOffset(ms), sign = off < 0 ? '-' : '+', a = Math.abs(off);
  return `${amsInput(ms)}:00${sign}${two(Math.floor(a / 60))}:${two(a % 60)}`;
}

// A datetime-local value read as Amsterdam wall-clock time:
// {ms, iso, ambiguous} — ambiguous when the clock showed that minute twice
// (the last Sunday of October, 02:00-03:00), then the earlier (summer
// time) instant, so a deadline counted from it is never later than the
// law allows; {error: 'time.invalid'} for no such value, {error:
// 'time.missing'} for a minute the clock skipped (last Sunday of March,
// 02:00-03:00).
export function amsLocal(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(String(value || '').trim());
  if (!m) return { error: 'time.invalid' };
  const [y, mo, d, hh, mm] = m.slice(1, 6).map(Number);
  const asUtc = Date.UTC(y, mo - 1, d, hh, mm);
  const back = new Date(asUtc);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || hh > 23 || mm > 59) return { error: 'time.invalid' };
  // the instants with that reading: at most one for each offset Amsterdam uses
  const reading = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}`;
  const hits = [120, 60].map((off) => asUtc - off * MINUTE).filter((ms) => amsInput(ms) === reading);
  if (hits.length === 0) return { error: 'time.missing' };
  const ms = Math.min(...hits);
  return { ms, iso: amsIso(ms), ambiguous: hits.length > 1 };
}

// "DL-2026-K7QF": the breach's id, readable aloud and on the phone to the
// AP: the year on Amsterdam's clock and four characters of bytes (random,
// from the caller) from an alphabet without 0/O, 1/I/L.
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export function breachId(nowMs, bytes) {
  const tail = [...bytes].slice(0, 4).map((b) => ALPHABET[b % ALPHABET.length]).join('');
  return `DL-${amsParts(nowMs).year}-${tail}`;
}

// What the message to the people affected must hold: the practice's
// scheme (step 3: the nature of the breach in general terms, where to get
// more information, the measures we recommend, our contact details) and
// AVG art. 34 lid 2 with art. 33 lid 3 b-d (the likely consequences and
// the measures we took). Each element is a heading in the message.
export const MESSAGE_ELEMENTS = [
  { id: 'nature', from: 'scheme', nl: 'Wat is er gebeurd', en: 'What happened' },
  { id: 'consequences', from: 'art34', nl: 'Wat dit voor u kan betekenen', en: 'What this may mean for you' },
  { id: 'our_measures', from: 'art34', nl: 'Wat wij hebben gedaan', en: 'What we have done' },
  { id: 'advice', from: 'scheme', nl: 'Wat wij u aanraden', en: 'What we advise you to do' },
  { id: 'information', from: 'scheme', nl: 'Waar u meer informatie krijgt', en: 'Where to get more information' },
  { id: 'contact', from: 'scheme', nl: 'Contact met ons', en: 'How to contact us' },
];

const PLACEHOLDER = /^\[.*\]$/;

// The template: each element's heading with a hint to replace, the facts
// already known filled in where they fit.
export function messageTemplate(lang, facts = {}) {
  const en = lang === 'en';
  const hint = {
    nature: facts.description || (en ? '[in general terms: what happened and which of your data were involved]' : '[in algemene zin: wat er is gebeurd en om welke gegevens van u het gaat]'),
    consequences: en ? '[e.g. others may have seen your health data]' : '[bijv. dat anderen uw gezondheidsgegevens hebben kunnen inzien]',
    our_measures: facts.measures || (en ? '[what the practice did to stop the breach and limit its consequences]' : '[wat de praktijk heeft gedaan om het lek te stoppen en de gevolgen te beperken]'),
    advice: en ? '[e.g. change your user names and passwords; be alert to e-mails that ask for your details]' : '[bijv. verander uw gebruikersnamen en wachtwoorden; wees alert op e-mails die om uw gegevens vragen]',
    information: en ? '[e.g. our website, or the Autoriteit Persoonsgegevens: autoriteitpersoonsgegevens.nl]' : '[bijv. onze website, of de Autoriteit Persoonsgegevens: autoriteitpersoonsgegevens.nl]',
    contact: facts.contact || (en ? '[name, phone number and e-mail of the practice for questions about this breach]' : '[naam, telefoonnummer en e-mail van de praktijk voor vragen over dit datalek]'),
  };
  return MESSAGE_ELEMENTS.map((e) => `${en ? e.en : e.nl}:\n${hint[e.id]}`).join('\n\n');
}

const norm = (s) => s.toLowerCase().replace(/\s+/g, ' ').trim();

// [{id, present}]: whether the message has each element — its heading
// (Dutch or English, a colon after it) followed by text of its own, not
// the template's [hint].
export function messageElements(text) {
  const lines = String(text || '').split(/\r?\n/);
  const headings = MESSAGE_ELEMENTS.flatMap((e) => [norm(e.nl), norm(e.en)]);
  const isHeading = (line) => {
    const m = /^(.*?):(.*)$/.exec(line.trim());
    return m && headings.includes(norm(m[1].replace(/^#+\s*|\*+/g, ''))) ? m : null;
  };
  return MESSAGE_ELEMENTS.map((e) => {
    const i = lines.findIndex((l) => {
      const m = isHeading(l);
      return m && [norm(e.nl), norm(e.en)].includes(norm(m[1].replace(/^#+\s*|\*+/g, '')));
    });
    if (i < 0) return { id: e.id, present: false };
    const body = [isHeading(lines[i])[2]];
    for (let j = i + 1; j < lines.length && !isHeading(lines[j]); j++) body.push(lines[j]);
    const said = body.map((l) => l.trim()).filter((l) => l && !PLACEHOLDER.test(l));
    return { id: e.id, present: said.length > 0 };
  });
}

// ---- validation: {field: i18n key of the error}, empty when valid ----

const blank = (v) => v === undefined || v === null || String(v).trim() === '';
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function count(errors, v, field) {
  if (!blank(v) && !/^\d{1,9}$/.test(String(v).trim())) errors[field] = 'err.count';
}

// an instant field: required or not, never after the engine's now
function instant(errors, v, field, nowMs, required) {
  if (blank(v)) {
    if (required) errors[field] = 'err.required';
    return null;
  }
  const t = amsLocal(v);
  if (t.error) { errors[field] = `err.${t.error}`; return null; }
  if (t.ms > nowMs + MINUTE) { errors[field] = 'err.future'; return null; }
  return t;
}

function required(errors, v, field) {
  if (blank(v)) errors[field] = 'err.required';
}

// Step 1 "Is het een datalek?"
export function validateReport(v, nowMs) {
  const e = {};
  required(e, v.description, 'description');
  const aware = instant(e, v.aware_at, 'aware_at', nowMs, true);
  required(e, v.cause, 'cause');
  required(e, v.personal_data, 'personal_data');
  count(e, v.persons_affected, 'persons_affected');
  count(e, v.records_affected, 'records_affected');
  const start = instant(e, v.started_at, 'started_at', nowMs, false);
  const end = instant(e, v.ended_at, 'ended_at', nowMs, false);
  if (start && aware && start.ms > aware.ms) e.started_at = 'err.start_after_aware';
  if (start && end && end.ms < start.ms) e.ended_at = 'err.end_before_start';
  if (end && v.ongoing) e.ended_at = 'err.ended_and_ongoing';
  required(e, v.reporter_name, 'reporter_name');
  if (blank(v.reporter_phone) && blank(v.reporter_email)) e.reporter_phone = 'err.phone_or_email';
  if (!blank(v.reporter_email) && !EMAIL.test(v.reporter_email.trim())) e.reporter_email = 'err.email';
  return e;
}

// Step 2 "Melden bij de AP binnen 72 uur?"; dueMs: the avg.notify_ap
// deadline (a notification after it needs the reasons of the delay)
export function validateAssess(v, nowMs, dueMs) {
  const e = {};
  required(e, v.risk, 'risk');
  required(e, v.rationale, 'rationale');
  if (v.risk && v.risk !== 'unlikely') {
    required(e, v.notify, 'notify');
    if (v.notify === 'now') {
      required(e, v.reference, 'reference');
      const at = instant(e, v.notified_at, 'notified_at', nowMs, true);
      required(e, v.phase, 'phase');
      if (at && dueMs && at.ms > dueMs) required(e, v.delay_reasons, 'delay_reasons');
    }
  }
  return e;
}

// Step 3 "Betrokkenen informeren?"; mustInform: high risk (art. 34 lid 1)
export function validateInform(v, nowMs, mustInform) {
  const e = {};
  if (blank(v.inform) || (v.inform === 'skip' && mustInform)) {
    e.inform = mustInform ? 'err.inform_required' : 'err.required';
    return e;
  }
  if (v.inform === 'informed') {
    const missing = messageElements(v.message).filter((x) => !x.present);
    if (blank(v.message)) e.message = 'err.required';
    else if (missing.length) e.message = 'err.message_elements';
    required(e, v.channel, 'channel');
    count(e, v.count, 'count');
    instant(e, v.informed_at, 'informed_at', nowMs, true);
  } else if (v.inform === 'exception') {
    required(e, v.exception, 'exception');
    required(e, v.exception_rationale, 'exception_rationale');
  }
  return e;
}

// Step 4 "Registreren": closing needs the measures
export function validateClose(v) {
  const e = {};
  required(e, v.measures, 'measures');
  return e;
}

// ---- the events' data (only what was given; the rules keep the rest) ----

const text = (v) => (blank(v) ? undefined : String(v).trim());
const num = (v) => (blank(v) ? undefined : Number(v));
const list = (v) => (Array.isArray(v) && v.length ? [...v] : undefined);
const when = (v) => (blank(v) ? undefined : amsLocal(v).iso);

function given(o) {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined));
}

// nl.avg.breach.reported
export function reportedData(id, v) {
  const reporter = given({ name: text(v.reporter_name), role: text(v.reporter_role), phone: text(v.reporter_phone), email: text(v.reporter_email) });
  return given({
    breach_id: id,
    aware_at: when(v.aware_at),
    description: text(v.description),
    cause: text(v.cause),
    processor: v.cause === 'processor' ? text(v.processor) : undefined,
    personal_data: text(v.personal_data),
    categories: list(v.categories),
    persons_affected: num(v.persons_affected),
    records_affected: num(v.records_affected),
    groups: list(v.groups),
    started_at: when(v.started_at),
    ended_at: v.ongoing ? undefined : when(v.ended_at),
    ongoing: v.ongoing ? true : (blank(v.ended_at) ? undefined : false),
    unintelligible: v.unintelligible === 'yes' ? true : v.unintelligible === 'no' ? false : undefined,
    measures_taken: text(v.measures_taken),
    reporter: Object.keys(reporter).length ? reporter : undefined,
  });
}

// "Duitsland, België" -> ["Duitsland", "België"]
export function countries(v) {
  return list(String(v || '').split(/[,;\n]/).map((s) => s.trim()).filter(Boolean));
}

// nl.avg.breach.assessed
export function assessedData(id, v) {
  return given({
    breach_id: id,
    risk: v.risk,
    rationale: text(v.rationale),
    consequences: list(v.consequences),
    consequences_note: text(v.consequences_note),
    measures_planned: text(v.measures_planned),
    cross_border: text(v.cross_border),
    countries: v.cross_border === 'yes' ? countries(v.countries) : undefined,
  });
}

// nl.avg.breach.notified, or null when the officer notifies later
export function notifiedData(id, v) {
  if (v.risk === 'unlikely' || v.notify !== 'now') return null;
  return given({
    breach_id: id, reference: text(v.reference), notified_at: when(v.notified_at),
    phase: v.phase, delay_reasons: text(v.delay_reasons),
  });
}

// nl.avg.breach.subjects_informed, or null when skipped
export function informedData(id, v) {
  if (v.inform === 'informed') {
    return given({
      breach_id: id, informed_at: when(v.informed_at), channel: text(v.channel),
      count: num(v.count), message: text(v.message),
    });
  }
  if (v.inform === 'exception') {
    return given({ breach_id: id, exception: v.exception, rationale: text(v.exception_rationale) });
  }
  return null;
}

// nl.avg.breach.closed
export function closedData(id, v) {
  return { breach_id: id, measures: String(v.measures).trim() };
}

// The next step of the scheme for a breach as the register and its duties
// have it: {step (1-4), key (i18n)} — notify the AP while its duty is
// open, complete a phased notification, inform the people while theirs
// is open, assess a breach only reported, else register (close); null
// once closed or withdrawn.
export function nextStep(current, obligations) {
  const open = (kind) => (obligations || []).some((o) => o.kind === kind && (o.status === 'open' || o.status === 'overdue'));
  const status = current?.status;
  if (status === 'closed' || status === 'withdrawn') return null;
  if (open('avg.notify_ap')) return { step: 2, key: 'next.notify' };
  if (open('avg.complete_notification')) return { step: 2, key: 'next.complete' };
  if (open('avg.inform_subjects')) return { step: 3, key: 'next.inform' };
  if (status === 'reported') return { step: 2, key: 'next.assess' };
  return { step: 4, key: 'next.register' };
}

// The chain's break as the server names it ("version 3 (register seq
// 812): hash does not match its content"): {version, seq, reason} with
// reason 'altered', 'relinked' or null for words it does not know, or
// null for no such text.
export function chainBreak(text) {
  const m = /^version (\d+) \(register seq (\d+)\): (.*)$/.exec(String(text || ''));
  if (!m) return null;
  const reason = m[3].startsWith('hash does not match') ? 'altered'
    : m[3].startsWith('prev_hash does not match') ? 'relinked' : null;
  return { version: Number(m[1]), seq: Number(m[2]), reason, text: m[3] };
}

// The form's values from a breach's register entry (a breach taken up
// again at a later step): going back to an earlier step shows what the
// register holds, not an empty form.
export function valuesFrom(c = {}) {
  const local = (iso) => (iso && !Number.isNaN(Date.parse(iso)) ? amsInput(Date.parse(iso)) : undefined);
  const str = (n) => (n === undefined || n === null ? undefined : String(n));
  const r = c.reporter || {};
  const v = {
    description: c.description, aware_at: local(c.aware_at), cause: c.cause, processor: c.processor,
    personal_data: c.personal_data, categories: c.categories, persons_affected: str(c.persons_affected),
    records_affected: str(c.records_affected), groups: c.groups, started_at: local(c.started_at),
    ended_at: local(c.ended_at), ongoing: c.ongoing === true,
    unintelligible: c.unintelligible === true ? 'yes' : undefined,
    measures_taken: c.measures_taken, reporter_name: r.name, reporter_role: r.role,
    reporter_phone: r.phone, reporter_email: r.email,
    risk: c.risk, rationale: c.rationale, consequences: c.consequences, consequences_note: c.consequences_note,
    measures_planned: c.measures_planned, cross_border: c.cross_border,
    countries: Array.isArray(c.countries) ? c.countries.join(', ') : undefined,
  };
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && x !== null));
}
