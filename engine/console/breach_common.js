// breach_common.js — what the breach pages (page_breach.js, page_apform.js,
// page_report.js) share: the Dutch and English words for the catalogue's
// values and event types, reading a breach from the API, recording an
// event through POST /console/api/v1/events with the session's source, and
// the labelled form controls of the guided form (each with its hint and
// its error next to it, tied by aria-describedby).
import { state, api, h, tr, now } from './core.js';
import { addStrings } from './i18n.js';
import { countdown, amsterdam } from './format.js';

addStrings({
  nl: {
    'cause.lost_device': 'Apparaat of pas kwijt of gestolen (bijv. UZI-pas met pincode kwijt, laptop, USB-stick)',
    'cause.hacking': 'Inbreuk door een hacker',
    'cause.theft': 'Diefstal van dossiers of papieren',
    'cause.employee_error': 'Fout van een medewerker',
    'cause.processor': 'Fout van een andere zorgpartij of gegevensverwerker',
    'cause.misdirected': 'Verkeerd verstuurd (e-mail, post of bericht aan de verkeerde ontvanger)',
    'cause.malware': 'Malware of ransomware',
    'cause.other': 'Anders',
    'yn.yes': 'Ja', 'yn.no': 'Nee', 'yn.unknown': 'Weet ik (nog) niet',
    'cat.health': 'Gezondheidsgegevens (bijzondere persoonsgegevens)',
    'cat.bsn': 'Burgerservicenummer (BSN)',
    'cat.contact': 'Contactgegevens (naam, adres, telefoon, e-mail)',
    'cat.financial': 'Financiële gegevens',
    'cat.login': 'Inloggegevens (gebruikersnamen, wachtwoorden)',
    'cat.id_copy': 'Kopie van een identiteitsbewijs',
    'cat.other': 'Andere gegevens',
    'group.clients': 'Cliënten of patiënten',
    'group.employees': 'Medewerkers',
    'group.minors': 'Kinderen (minderjarigen)',
    'group.vulnerable': 'Kwetsbare personen',
    'group.relatives': 'Familie, naasten of vertegenwoordigers',
    'group.other': 'Anderen',
    'risk.unlikely': 'Waarschijnlijk geen risico voor de betrokkenen',
    'risk.risk': 'Risico voor de betrokkenen',
    'risk.high': 'Hoog risico voor de betrokkenen',
    'cons.stigmatisation_exclusion': 'Stigmatisering of uitsluiting',
    'cons.damage_to_health': 'Schade aan de gezondheid',
    'cons.identity_fraud': 'Identiteitsfraude',
    'cons.spam_phishing': 'Spam of phishing',
    'cons.financial_loss': 'Financiële schade',
    'cons.reputational_damage': 'Reputatieschade',
    'cons.other': 'Anders',
    'phase.initial': 'Eerste melding (er volgt nog een aanvulling)',
    'phase.supplement': 'Aanvulling op een eerdere melding',
    'phase.complete': 'Volledige melding',
    'exc.unintelligible': 'De gegevens waren versleuteld of anders onbegrijpelijk voor anderen (art. 34 lid 3 a)',
    'exc.risk_mitigated': 'Maatregelen achteraf maken het hoge risico onwaarschijnlijk (art. 34 lid 3 b)',
    'exc.public_communication': 'Iedereen apart informeren kost onevenredig veel moeite; in plaats daarvan een openbare mededeling (art. 34 lid 3 c)',
    'type.nl.avg.breach.reported': 'Datalek gemeld',
    'type.nl.avg.breach.assessed': 'Risico beoordeeld',
    'type.nl.avg.breach.notified': 'Gemeld bij de Autoriteit Persoonsgegevens',
    'type.nl.avg.breach.subjects_informed': 'Betrokkenen geïnformeerd (of uitzondering)',
    'type.nl.avg.breach.withdrawn': 'Melding ingetrokken',
    'type.nl.avg.breach.closed': 'Datalek afgesloten',
    'duty.avg.notify_ap': 'Melden bij de AP',
    'duty.avg.complete_notification': 'Melding bij de AP aanvullen en afronden',
    'duty.avg.inform_subjects': 'Betrokkenen informeren',
    'ob.open': 'open', 'ob.overdue': 'te laat', 'ob.fulfilled': 'gedaan', 'ob.late': 'te laat gedaan', 'ob.cancelled': 'vervallen',
    'deadline.left': '{duty}: {countdown}',
    'deadline.due': 'uiterlijk {due}',
    'deadline.limit': 'wettelijke grens {limit}',
    'field.required': 'verplicht',
    'err.required': 'Vul dit in.',
    'err.count': 'Vul een heel getal in (0 of meer).',
    'err.future': 'Dit tijdstip ligt in de toekomst.',
    'err.time.invalid': 'Geen geldige datum en tijd.',
    'err.time.missing': 'Deze tijd bestaat niet in Amsterdam: de klok ging die nacht van 02:00 naar 03:00.',
    'err.start_after_aware': 'Het begin ligt na het moment dat het datalek bekend werd.',
    'err.end_before_start': 'Het einde ligt vóór het begin.',
    'err.ended_and_ongoing': 'Een einde en "nog gaande" kunnen niet allebei.',
    'err.phone_or_email': 'Vul een telefoonnummer of een e-mailadres in, zodat de AP contact kan opnemen.',
    'err.email': 'Dit is geen e-mailadres.',
    'err.inform_required': 'Bij een hoog risico moeten de betrokkenen worden geïnformeerd, of u legt de uitzondering vast.',
    'err.message_elements': 'Het bericht mist nog: {missing}.',
    'err.summary': 'Nog niet alles is goed ingevuld ({n}). Zie de meldingen bij de velden.',
    'err.summary.one': 'Nog niet alles is goed ingevuld (1). Zie de melding bij het veld.',
    'record.failed': 'De server weigerde de gebeurtenis ({status}):',
    'breach.failed': 'Het datalek kon niet worden geladen ({status}).',
  },
  en: {
    'cause.lost_device': 'Device or pass lost or stolen (e.g. UZI pass lost with its PIN, laptop, USB stick)',
    'cause.hacking': 'A hacker broke in',
    'cause.theft': 'Records or papers stolen',
    'cause.employee_error': 'An employee\'s mistake',
    'cause.processor': 'A mistake by another care provider or a processor',
    'cause.misdirected': 'Sent to the wrong recipient (e-mail, post or message)',
    'cause.malware': 'Malware or ransomware',
    'cause.other': 'Other',
    'yn.yes': 'Yes', 'yn.no': 'No', 'yn.unknown': 'Not known (yet)',
    'cat.health': 'Health data (special category)',
    'cat.bsn': 'Citizen service number (BSN)',
    'cat.contact': 'Contact details (name, address, phone, e-mail)',
    'cat.financial': 'Financial data',
    'cat.login': 'Login details (user names, passwords)',
    'cat.id_copy': 'Copy of an identity document',
    'cat.other': 'Other data',
    'group.clients': 'Clients or patients',
    'group.employees': 'Employees',
    'group.minors': 'Children (minors)',
    'group.vulnerable': 'Vulnerable people',
    'group.relatives': 'Family, relatives or representatives',
    'group.other': 'Others',
    'risk.unlikely': 'Unlikely to be a risk to the people affected',
    'risk.risk': 'A risk to the people affected',
    'risk.high': 'A high risk to the people affected',
    'cons.stigmatisation_exclusion': 'Stigmatisation or exclusion',
    'cons.damage_to_health': 'Damage to health',
    'cons.identity_fraud': 'Identity fraud',
    'cons.spam_phishing': 'Spam or phishing',
    'cons.financial_loss': 'Financial loss',
    'cons.reputational_damage': 'Damage to reputation',
    'cons.other': 'Other',
    'phase.initial': 'Initial notification (a supplement follows)',
    'phase.supplement': 'Supplement to an earlier notification',
    'phase.complete': 'Complete notification',
    'exc.unintelligible': 'The data were encrypted or otherwise unintelligible to others (art. 34(3)(a))',
    'exc.risk_mitigated': 'Measures taken since make the high risk unlikely (art. 34(3)(b))',
    'exc.public_communication': 'Informing each person would take disproportionate effort; a public communication instead (art. 34(3)(c))',
    'type.nl.avg.breach.reported': 'Breach reported',
    'type.nl.avg.breach.assessed': 'Risk assessed',
    'type.nl.avg.breach.notified': 'Notified to the Dutch DPA (AP)',
    'type.nl.avg.breach.subjects_informed': 'People affected informed (or exception)',
    'type.nl.avg.breach.withdrawn': 'Notification withdrawn',
    'type.nl.avg.breach.closed': 'Breach closed',
    'duty.avg.notify_ap': 'Notify the AP',
    'duty.avg.complete_notification': 'Complete the notification to the AP',
    'duty.avg.inform_subjects': 'Inform the people affected',
    'ob.open': 'open', 'ob.overdue': 'overdue', 'ob.fulfilled': 'done', 'ob.late': 'done late', 'ob.cancelled': 'lapsed',
    'deadline.left': '{duty}: {countdown}',
    'deadline.due': 'due {due}',
    'deadline.limit': 'legal limit {limit}',
    'field.required': 'required',
    'err.required': 'Please fill this in.',
    'err.count': 'Enter a whole number (0 or more).',
    'err.future': 'This time is in the future.',
    'err.time.invalid': 'Not a valid date and time.',
    'err.time.missing': 'This time does not exist in Amsterdam: the clock went from 02:00 to 03:00 that night.',
    'err.start_after_aware': 'The start is after the moment the breach became known.',
    'err.end_before_start': 'The end is before the start.',
    'err.ended_and_ongoing': 'An end and "still ongoing" cannot both be.',
    'err.phone_or_email': 'Enter a phone number or an e-mail address, so the AP can get in touch.',
    'err.email': 'This is not an e-mail address.',
    'err.inform_required': 'At a high risk the people affected must be informed, or you record the exception.',
    'err.message_elements': 'The message still lacks: {missing}.',
    'err.summary': 'Not everything is filled in correctly yet ({n}). See the messages at the fields.',
    'err.summary.one': 'Not everything is filled in correctly yet (1). See the message at the field.',
    'record.failed': 'The server refused the event ({status}):',
    'breach.failed': 'The breach could not be loaded ({status}).',
  },
});

// a catalogue value in words, or the value itself
export function word(prefix, value) {
  const key = `${prefix}.${value}`, text = tr(key);
  return text === key ? String(value) : text;
}

// GET /console/api/v1/breaches/KEY: {status, body}
export function fetchBreach(key) {
  return api(`/console/api/v1/breaches/${encodeURIComponent(key)}`);
}

// Records one event through the same pipeline as any source: {ok} or
// {ok: false, message} with the server's own words (400 names the field).
export async function recordEvent(type, data) {
  const event = {
    specversion: '1.0', id: crypto.randomUUID(), source: state.session?.source,
    type, time: new Date(now()).toISOString(), datacontenttype: 'application/json', data,
  };
  const r = await api('/console/api/v1/events', {
    method: 'POST', headers: { 'Content-Type': 'application/cloudevents+json' }, body: JSON.stringify(event),
  });
  if (r.status === 202) return { ok: true, event };
  const b = r.body && typeof r.body === 'object' ? r.body : {};
  const said = [b.error || (typeof r.body === 'string' ? r.body : ''), b.field ? `(${b.field})` : ''].filter(Boolean).join(' ');
  return { ok: false, status: r.status, message: `${tr('record.failed', { status: r.status })} ${said}`.trim() };
}

// A deadline as a line: "Melden bij de AP: nog 2 dagen 4 uur · uiterlijk …
// · wettelijke grens …", the countdown in a span the shell's tick updates
// while the duty is open.
export function deadlineLine(o, tag = 'p') {
  const live = o.status === 'open' || o.status === 'overdue';
  const c = countdown(state.lang, o.due_at, now());
  const cd = h('span', { class: live ? `countdown${c.late ? ' late' : ''}` : `ob-status ${o.status}`, 'data-due': live ? o.due_at : null },
    live ? c.text : word('ob', o.status));
  return h(tag, { class: 'deadline' },
    h('span', { class: 'deadline-duty' }, `${word('duty', o.kind)}: `), cd,
    h('span', { class: 'deadline-when' }, ` · ${tr('deadline.due', { due: amsterdam(state.lang, o.due_at) })}`,
      o.legal_limit ? ` · ${tr('deadline.limit', { limit: amsterdam(state.lang, o.legal_limit) })}` : ''));
}

// ---- form controls ----

const describedBy = (id, hint) => [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(' ');

function labelText(label, required) {
  return [label, required ? h('span', { class: 'req' }, ` (${tr('field.required')})`) : null];
}

// A labelled input, textarea or select: {kind, name, label, hint?,
// required?, type?, value?, options?: [[value, text]], rows?, attrs?}
export function field(f) {
  const id = `f-${f.name}`;
  const common = { id, name: f.name, 'aria-describedby': describedBy(id, f.hint), 'aria-required': f.required ? 'true' : null, ...(f.attrs || {}) };
  let control;
  if (f.kind === 'textarea') control = h('textarea', { rows: f.rows || 4, ...common });
  else if (f.kind === 'select') {
    control = h('select', common, h('option', { value: '' }, '—'), ...f.options.map(([v, t]) => h('option', { value: v }, t)));
  } else control = h('input', { type: f.type || 'text', ...common });
  if (f.value !== undefined) control.value = f.value;
  return h('div', { class: 'form-field', 'data-field': f.name, 'data-show-when': f.showWhen || null },
    h('label', { for: id }, ...labelText(f.label, f.required)),
    f.hint ? h('p', { class: 'hint', id: `${id}-hint` }, f.hint) : null,
    control,
    f.type === 'datetime-local' ? h('p', { class: 'hint time-echo', id: `${id}-echo`, 'aria-live': 'polite' }) : null,
    h('p', { class: 'field-error', id: `${id}-error` }));
}

// A group of radio buttons or check boxes in a fieldset with its legend:
// {kind: 'radio'|'checkbox', name, legend, hint?, required?, options:
// [[value, text]], value?}
export function choice(f) {
  const id = `f-${f.name}`;
  const values = Array.isArray(f.value) ? f.value : f.value ? [f.value] : [];
  return h('fieldset', { class: `form-field choice ${f.kind}`, 'data-field': f.name, 'data-show-when': f.showWhen || null, id,
    'aria-describedby': describedBy(id, f.hint), tabindex: -1 },
  h('legend', {}, ...labelText(f.legend, f.required)),
  f.hint ? h('p', { class: 'hint', id: `${id}-hint` }, f.hint) : null,
  ...f.options.map(([v, t], i) => h('div', { class: 'option' },
    h('input', { type: f.kind, name: f.name, id: `${id}-${i}`, value: v, checked: values.includes(v) }),
    h('label', { for: `${id}-${i}` }, t))),
  h('p', { class: 'field-error', id: `${id}-error` }));
}

// one check box with its label: {name, label, value?}
export function checkbox(f) {
  const id = `f-${f.name}`;
  return h('div', { class: 'form-field option single', 'data-field': f.name, 'data-show-when': f.showWhen || null },
    h('input', { type: 'checkbox', id, name: f.name, 'data-bool': '1', checked: !!f.value }),
    h('label', { for: id }, f.label),
    h('p', { class: 'field-error', id: `${id}-error` }));
}

// the form's values: text as typed, a radio group's chosen value (or ''),
// a check-box group's values, a lone check box true/false
export function readForm(form) {
  const v = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === 'radio') { v[el.name] ??= ''; if (el.checked) v[el.name] = el.value; }
    else if (el.type === 'checkbox' && el.dataset.bool) v[el.name] = el.checked;
    else if (el.type === 'checkbox') { v[el.name] ??= []; if (el.checked) v[el.name].push(el.value); }
    else v[el.name] = el.value;
  }
  return v;
}

// Shows each part whose data-show-when="name=value|value" matches the
// form's values (hidden parts keep their values, the builders ignore them).
export function refreshShown(form) {
  const v = readForm(form);
  for (const el of form.querySelectorAll('[data-show-when]')) {
    const [name, wanted] = el.dataset.showWhen.split('=');
    const have = v[name];
    el.hidden = !wanted.split('|').some((w) => (Array.isArray(have) ? have.includes(w) : String(have) === w));
  }
}

// The errors ({field: i18n key}) next to their fields, counted in the
// form's summary (role=alert); the first invalid control takes the focus.
// vars: extra placeholders per field. 1 when there were errors.
export function showErrors(form, errors, vars = {}) {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const names = Object.keys(errors).filter((n) => form.querySelector(`[data-field="${n}"]`));
  const summary = form.querySelector('.error-summary');
  summary.textContent = names.length ? tr(names.length === 1 ? 'err.summary.one' : 'err.summary', { n: names.length }) : '';
  for (const n of names) {
    const box = form.querySelector(`[data-field="${n}"]`);
    box.querySelector('.field-error').textContent = tr(errors[n], vars[n] || {});
    for (const c of box.querySelectorAll('input, textarea, select')) c.setAttribute('aria-invalid', 'true');
  }
  if (!names.length) return false;
  form.querySelector(`[data-field="${names[0]}"]`).querySelector('input, textarea, select').focus();
  return true;
}

// A field changed: its error goes (the others stay until the next try),
// and the summary with the last of them.
export function clearError(form, target) {
  const box = target.closest?.('[data-field]');
  const err = box?.querySelector('.field-error');
  if (!err || !err.textContent) return;
  err.textContent = '';
  for (const c of box.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  if (![...form.querySelectorAll('.field-error')].some((e) => e.textContent)) form.querySelector('.error-summary').textContent = '';
}
