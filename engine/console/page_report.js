// page_report.js — Datalek melden (#melden): the practice's breach scheme
// (Actieschema "Wat te doen bij datalekken?") as a guided form in its four
// steps. Each step is validated before the next (the error next to its
// field) and records its catalogue event through POST
// /console/api/v1/events with the session's source, so every step is in
// the journal and judged by the rules like any other source's:
//   1 Is het een datalek?            nl.avg.breach.reported (opens the 72 hours)
//   2 Melden bij de AP binnen 72 uur? nl.avg.breach.assessed, nl.avg.breach.notified
//   3 Betrokkenen informeren?        nl.avg.breach.subjects_informed
//   4 Registreren                    the register as it is now; nl.avg.breach.closed
// #melden starts a new breach; #melden/KEY/N takes breach KEY up at step N
// (the breach page links there for the scheme's next step). The logic
// without a page is in breach_form.js.
import { $, state, api, h, tr, now, href, definePage } from './core.js';
import { addStrings } from './i18n.js';
import { amsterdam } from './format.js';
import {
  amsInput, amsLocal, breachId, messageTemplate, messageElements, MESSAGE_ELEMENTS, validateReport,
  validateAssess, validateInform, validateClose, reportedData, assessedData, notifiedData, informedData,
  closedData, valuesFrom,
} from './breach_form.js';
import {
  word, fetchBreach, recordEvent, deadlineLine, field, choice, checkbox, readForm, refreshShown, showErrors, clearError,
} from './breach_common.js';

addStrings({
  nl: {
    'nav.melden': 'Datalek melden',
    'report.title': 'Datalek melden',
    'report.lead': 'Volg de vier stappen van het actieschema "Wat te doen bij datalekken?". Elke stap wordt vastgelegd in het journaal van Obligo; na stap 1 loopt de termijn van 72 uur voor de melding bij de Autoriteit Persoonsgegevens (AP).',
    'report.steps': 'Stappen',
    'report.stepof': 'Stap {n} van 4',
    'step.1': 'Is het een datalek?',
    'step.2': 'Melden bij de AP binnen 72 uur?',
    'step.3': 'Betrokkenen informeren?',
    'step.4': 'Registreren',
    'step.done': 'gedaan',
    'step.current': 'huidige stap',
    'btn.back': 'Vorige stap',
    'btn.next1': 'Vastleggen en verder',
    'btn.next': 'Vastleggen en verder',
    'btn.skip3': 'Niet nodig, verder',
    'btn.close': 'Datalek afsluiten',
    'btn.new': 'Nog een datalek melden',
    'saving': 'Bezig met vastleggen…',
    'f.time.echo': 'Vastgelegd als {at}',
    'banner.recorded': 'Datalek {key} is geregistreerd. Noteer dit nummer: u hebt het nodig bij de melding en bij vragen.',
    'banner.nodata': 'Geen meldplicht bij de AP: er zijn volgens deze melding geen persoonsgegevens bij betrokken. Het datalek staat wel in het register.',
    'banner.page': 'Naar de pagina van dit datalek',
    'banner.apform': 'AP-meldformulier (afdrukken)',
    's1.intro': 'Er is sprake van een datalek als door een inbreuk op de beveiliging persoonsgegevens verloren kunnen zijn gegaan, of als niet is uit te sluiten dat onbevoegden ze hebben ingezien of verwerkt — binnen of buiten de beschermde omgeving van de praktijk. Ook een mogelijk datalek legt u hier vast.',
    's1.next': 'Na "Vastleggen en verder" staat het datalek in het register en begint de termijn van 72 uur voor de melding bij de AP (gerekend vanaf het moment dat u het wist).',
    'f.description': 'Wat is er gebeurd?',
    'f.description.hint': 'Beschrijf in eigen woorden wat er is gebeurd en welke gegevens het betreft.',
    'f.aware_at': 'Sinds wanneer weet de praktijk het? (Amsterdamse tijd)',
    'f.aware_at.hint': 'Vanaf dit moment lopen de 72 uur. Staat vooringevuld op nu.',
    'f.aware_at.ambiguous': 'Let op: deze tijd kwam die nacht twee keer voor (de klok ging terug). Obligo neemt de eerste (zomertijd), zodat de termijn niet te laat eindigt.',
    'f.cause': 'Wat is de oorzaak?',
    'f.cause.hint': 'De voorbeelden uit het actieschema; kies wat het best past.',
    'f.processor': 'Welke zorgpartij of verwerker?',
    'f.personal_data': 'Zijn er persoonsgegevens bij betrokken?',
    'f.personal_data.hint': 'Bij twijfel: kies "Weet ik (nog) niet". Dat telt als ja: de termijn loopt.',
    'f.personal_data.no': 'Zonder persoonsgegevens is het geen datalek dat u bij de AP meldt. Leg het toch vast: het register is ook het overzicht van mogelijke datalekken en het uitgangspunt voor verbeteringen.',
    'f.categories': 'Welke soorten persoonsgegevens?',
    'f.persons_affected': 'Aantal betrokken personen (ongeveer)',
    'f.records_affected': 'Aantal dossiers of records (ongeveer)',
    'f.groups': 'Om wie gaat het?',
    'f.started_at': 'Begin van het datalek (Amsterdamse tijd), als bekend',
    'f.ended_at': 'Einde van het datalek (Amsterdamse tijd), als bekend',
    'f.ongoing': 'Het datalek is nog gaande',
    'f.unintelligible': 'Waren de gegevens versleuteld (onleesbaar voor anderen)?',
    'f.measures_taken': 'Wat is er al gedaan?',
    'f.measures_taken.hint': 'Bijv. de UZI-pas laten blokkeren, wachtwoorden gewijzigd, de ontvanger gevraagd de e-mail te verwijderen.',
    'f.reporter': 'Contactpersoon voor de AP',
    'f.reporter_name': 'Naam',
    'f.reporter_role': 'Functie',
    'f.reporter_phone': 'Telefoonnummer',
    'f.reporter_email': 'E-mailadres',
    's2.intro': 'Als er cliëntgegevens zijn gelekt, is de praktijk verplicht dit binnen 72 uur na het bekend worden te melden bij de AP (AVG art. 33). Alleen als het datalek waarschijnlijk geen risico oplevert voor de betrokkenen, hoeft dat niet.',
    's2.doubt': 'Twijfel je? Meld dan. Een melding kan altijd later worden ingetrokken — beter het zekere voor het onzekere; ten onrechte niet melden kan tot hoge boetes leiden.',
    's2.loket': 'U meldt via het Meldloket Datalekken van de AP. Het AP-meldformulier in Obligo zet alle antwoorden op een rij om over te nemen.',
    's2.loket.link': 'Meldloket Datalekken (website van de AP)',
    's2.apform': 'AP-meldformulier van dit datalek',
    'f.risk': 'Hoe groot is het risico voor de betrokkenen?',
    'f.rationale': 'Waarom? (motivering)',
    'f.rationale.hint': 'Bijv. "gezondheidsgegevens van 40 cliënten, niet versleuteld". Deze motivering komt in het register.',
    'f.consequences': 'Wat zijn de waarschijnlijke gevolgen voor de betrokkenen?',
    'f.consequences_note': 'Toelichting op de gevolgen',
    'f.measures_planned': 'Welke maatregelen zijn nog gepland?',
    'f.cross_border': 'Gaat het ook om personen of verwerkingen in andere EU-landen?',
    'f.countries': 'Welke landen?',
    'f.countries.hint': 'Gescheiden door komma\'s.',
    'f.notify': 'De melding bij de AP',
    'f.notify.now': 'Ik heb het datalek gemeld bij de AP (ik heb een meldnummer)',
    'f.notify.later': 'Later melden — de termijn blijft lopen en staat bij Termijnen',
    'f.reference': 'Meldnummer of kenmerk van de AP',
    'f.notified_at': 'Gemeld op (Amsterdamse tijd)',
    'f.phase': 'Soort melding',
    'f.phase.hint': 'Weet u nog niet alles? Doe een eerste melding en vul die later aan (AVG art. 33 lid 4).',
    'f.delay_reasons': 'Reden waarom later dan 72 uur is gemeld',
    'f.delay_reasons.hint': 'Verplicht bij een melding na de termijn (AVG art. 33 lid 1).',
    's2.unlikely': 'Bij "waarschijnlijk geen risico" vervalt de meldplicht; uw motivering blijft in het register.',
    's3.intro': 'Bij een hoog risico informeert de praktijk de betrokkenen zo snel mogelijk, en in ieder geval direct na de melding bij de AP, zodat ook zij maatregelen kunnen nemen om zich te beschermen (AVG art. 34).',
    's3.exceptions': 'Dat hoeft niet als een uitzondering van art. 34 lid 3 geldt: de gegevens waren versleuteld, maatregelen achteraf maken het hoge risico onwaarschijnlijk, of iedereen apart informeren kost onevenredig veel moeite (dan een openbare mededeling). Leg de uitzondering vast met een motivering.',
    's3.required': 'Het risico is hoog: informeren is verplicht (of leg de uitzondering vast).',
    's3.optional': 'Het risico is niet hoog beoordeeld: informeren is niet verplicht, maar mag altijd.',
    'f.inform': 'Wat legt u vast?',
    'f.inform.informed': 'De betrokkenen zijn geïnformeerd',
    'f.inform.exception': 'Niet informeren: er geldt een uitzondering',
    'f.inform.skip': 'Niet informeren (niet verplicht bij dit risico)',
    'f.message': 'Het bericht aan de betrokkenen',
    'f.message.hint': 'Volgens het actieschema en AVG art. 34 lid 2 moet het bericht deze onderdelen hebben (elk als kopje met een dubbele punt, daaronder uw tekst). Beschrijf het datalek in algemene zin.',
    'f.message.template': 'Voorbeeldtekst invullen',
    'f.message.replace': 'De tekst die er nu staat vervangen door de voorbeeldtekst?',
    'f.message.check': 'Onderdelen in het bericht',
    'msg.present': 'aanwezig',
    'msg.missing': 'ontbreekt',
    'msg.from.scheme': 'actieschema',
    'msg.from.art34': 'AVG art. 34 lid 2',
    'f.channel': 'Hoe geïnformeerd?',
    'ch.letter': 'Brief', 'ch.email': 'E-mail', 'ch.phone': 'Telefonisch', 'ch.in_person': 'Persoonlijk gesprek', 'ch.public': 'Algemene voorlichting (website, wachtkamer)',
    'f.count': 'Aantal geïnformeerde personen',
    'f.informed_at': 'Geïnformeerd op (Amsterdamse tijd)',
    'f.exception': 'Welke uitzondering?',
    'f.exception_rationale': 'Motivering van de uitzondering',
    's4.intro': 'Elk (mogelijk) datalek staat in het datalekkenregister van de praktijk (AVG art. 33 lid 5). Het register is het overzicht van datalekken en het uitgangspunt voor verbeteringen in het omgaan met persoonsgegevens. Dit staat er nu in:',
    's4.close': 'Afsluiten',
    's4.close.intro': 'Is alles afgehandeld? Sluit het datalek af met de maatregelen die zijn genomen om herhaling te voorkomen. Dat mag ook later, vanaf de pagina van het datalek.',
    'f.measures': 'Genomen maatregelen (om herhaling te voorkomen)',
    's4.closed': 'Het datalek is afgesloten.',
    'sum.status': 'Status',
    'sum.aware': 'Bekend sinds',
    'sum.description': 'Omschrijving',
    'sum.risk': 'Risico',
    'sum.notified': 'Melding bij de AP',
    'sum.notified.none': 'nog niet gemeld',
    'sum.subjects': 'Betrokkenen',
    'sum.subjects.yes': 'geïnformeerd op {at}',
    'sum.subjects.exception': 'niet geïnformeerd: uitzondering ({exception})',
    'sum.subjects.no': 'niet geïnformeerd',
    'sum.versions': 'Versies in het register',
    'sum.deadlines': 'Termijnen',
    'sum.breach': 'Pagina van het datalek (tijdlijn, termijnen, versies)',
    'sum.apform': 'AP-meldformulier (afdrukken of exporteren)',
    'sum.unavailable': 'Het register kon nog niet worden gelezen ({status}).',
  },
  en: {
    'nav.melden': 'Report a breach',
    'report.title': 'Report a breach',
    'report.lead': 'Follow the four steps of the practice\'s breach scheme ("What to do about data breaches?"). Each step is recorded in Obligo\'s journal; after step 1 the 72 hours to notify the Dutch DPA (Autoriteit Persoonsgegevens, AP) run.',
    'report.steps': 'Steps',
    'report.stepof': 'Step {n} of 4',
    'step.1': 'Is it a data breach?',
    'step.2': 'Notify the AP within 72 hours?',
    'step.3': 'Inform the people affected?',
    'step.4': 'Register',
    'step.done': 'done',
    'step.current': 'current step',
    'btn.back': 'Previous step',
    'btn.next1': 'Record and continue',
    'btn.next': 'Record and continue',
    'btn.skip3': 'Not needed, continue',
    'btn.close': 'Close the breach',
    'btn.new': 'Report another breach',
    'saving': 'Recording…',
    'f.time.echo': 'Recorded as {at}',
    'banner.recorded': 'Breach {key} is registered. Note this number: you need it for the notification and for questions.',
    'banner.nodata': 'No duty to notify the AP: according to this report no personal data are involved. The breach is in the register all the same.',
    'banner.page': 'To this breach\'s page',
    'banner.apform': 'AP form (print)',
    's1.intro': 'A data breach is a breach of security by which personal data may have been lost, or by which it cannot be ruled out that unauthorised people saw or processed them — inside or outside the practice\'s protected environment. Record a possible breach here too.',
    's1.next': 'After "Record and continue" the breach is in the register and the 72 hours to notify the AP run (counted from the moment you knew).',
    'f.description': 'What happened?',
    'f.description.hint': 'Describe in your own words what happened and which data are involved.',
    'f.aware_at': 'Since when has the practice known? (Amsterdam time)',
    'f.aware_at.hint': 'The 72 hours run from this moment. Filled in with now.',
    'f.aware_at.ambiguous': 'Note: this time came twice that night (the clock went back). Obligo takes the first (summer time), so the deadline does not end too late.',
    'f.cause': 'What is the cause?',
    'f.cause.hint': 'The examples of the breach scheme; choose what fits best.',
    'f.processor': 'Which care provider or processor?',
    'f.personal_data': 'Are personal data involved?',
    'f.personal_data.hint': 'When in doubt, choose "Not known (yet)". That counts as yes: the deadline runs.',
    'f.personal_data.no': 'Without personal data it is not a breach you notify to the AP. Record it all the same: the register is also the overview of possible breaches and the basis for improvements.',
    'f.categories': 'Which kinds of personal data?',
    'f.persons_affected': 'Number of people affected (about)',
    'f.records_affected': 'Number of records (about)',
    'f.groups': 'Who is affected?',
    'f.started_at': 'Start of the breach (Amsterdam time), if known',
    'f.ended_at': 'End of the breach (Amsterdam time), if known',
    'f.ongoing': 'The breach is still ongoing',
    'f.unintelligible': 'Were the data encrypted (unreadable to others)?',
    'f.measures_taken': 'What has been done already?',
    'f.measures_taken.hint': 'E.g. the UZI pass blocked, passwords changed, the recipient asked to delete the e-mail.',
    'f.reporter': 'Contact person for the AP',
    'f.reporter_name': 'Name',
    'f.reporter_role': 'Role',
    'f.reporter_phone': 'Phone number',
    'f.reporter_email': 'E-mail address',
    's2.intro': 'When clients\' data leaked, the practice must notify the AP within 72 hours of becoming aware (GDPR art. 33). Only when the breach is unlikely to be a risk to the people affected is there no need.',
    's2.doubt': 'In doubt? Notify. A notification can always be withdrawn later — better safe than sorry; not notifying when you should can lead to high fines.',
    's2.loket': 'You notify through the AP\'s Meldloket Datalekken. Obligo\'s AP form lists every answer to copy there.',
    's2.loket.link': 'Meldloket Datalekken (the AP\'s website)',
    's2.apform': 'This breach\'s AP form',
    'f.risk': 'How high is the risk to the people affected?',
    'f.rationale': 'Why? (rationale)',
    'f.rationale.hint': 'E.g. "health data of 40 clients, not encrypted". This rationale goes into the register.',
    'f.consequences': 'What are the likely consequences for the people affected?',
    'f.consequences_note': 'About the consequences',
    'f.measures_planned': 'Which measures are still planned?',
    'f.cross_border': 'Are people or processing in other EU countries involved?',
    'f.countries': 'Which countries?',
    'f.countries.hint': 'Separated by commas.',
    'f.notify': 'The notification to the AP',
    'f.notify.now': 'I have notified the AP (I have a reference number)',
    'f.notify.later': 'Notify later — the deadline keeps running and is listed under Deadlines',
    'f.reference': 'The AP\'s reference number',
    'f.notified_at': 'Notified at (Amsterdam time)',
    'f.phase': 'Kind of notification',
    'f.phase.hint': 'Not everything known yet? Make an initial notification and supplement it later (GDPR art. 33(4)).',
    'f.delay_reasons': 'Why the notification came after 72 hours',
    'f.delay_reasons.hint': 'Required for a notification after the deadline (GDPR art. 33(1)).',
    's2.unlikely': 'With "unlikely to be a risk" the duty to notify lapses; your rationale stays in the register.',
    's3.intro': 'At a high risk the practice informs the people affected as soon as possible, and at the latest right after notifying the AP, so they too can protect themselves (GDPR art. 34).',
    's3.exceptions': 'Not needed when an exception of art. 34(3) applies: the data were encrypted, measures taken since make the high risk unlikely, or informing each person would take disproportionate effort (then a public communication). Record the exception with a rationale.',
    's3.required': 'The risk is high: informing is required (or record the exception).',
    's3.optional': 'The risk was not assessed as high: informing is not required, but always allowed.',
    'f.inform': 'What do you record?',
    'f.inform.informed': 'The people affected have been informed',
    'f.inform.exception': 'Not informing: an exception applies',
    'f.inform.skip': 'Not informing (not required at this risk)',
    'f.message': 'The message to the people affected',
    'f.message.hint': 'The breach scheme and GDPR art. 34(2) ask for these parts (each as a heading with a colon, your text under it). Describe the breach in general terms.',
    'f.message.template': 'Fill in the example text',
    'f.message.replace': 'Replace the text there now with the example text?',
    'f.message.check': 'Parts in the message',
    'msg.present': 'present',
    'msg.missing': 'missing',
    'msg.from.scheme': 'breach scheme',
    'msg.from.art34': 'GDPR art. 34(2)',
    'f.channel': 'How informed?',
    'ch.letter': 'Letter', 'ch.email': 'E-mail', 'ch.phone': 'By phone', 'ch.in_person': 'In person', 'ch.public': 'General information (website, waiting room)',
    'f.count': 'Number of people informed',
    'f.informed_at': 'Informed at (Amsterdam time)',
    'f.exception': 'Which exception?',
    'f.exception_rationale': 'Rationale of the exception',
    's4.intro': 'Every (possible) breach is in the practice\'s breach register (GDPR art. 33(5)). The register is the overview of breaches and the basis for improving how personal data are handled. This is what it holds now:',
    's4.close': 'Close',
    's4.close.intro': 'Is everything dealt with? Close the breach with the measures taken to prevent it happening again. You can also do this later, from the breach\'s page.',
    'f.measures': 'Measures taken (to prevent it happening again)',
    's4.closed': 'The breach is closed.',
    'sum.status': 'Status',
    'sum.aware': 'Known since',
    'sum.description': 'Description',
    'sum.risk': 'Risk',
    'sum.notified': 'Notification to the AP',
    'sum.notified.none': 'not notified yet',
    'sum.subjects': 'People affected',
    'sum.subjects.yes': 'informed at {at}',
    'sum.subjects.exception': 'not informed: exception ({exception})',
    'sum.subjects.no': 'not informed',
    'sum.versions': 'Versions in the register',
    'sum.deadlines': 'Deadlines',
    'sum.breach': 'The breach\'s page (timeline, deadlines, versions)',
    'sum.apform': 'AP form (print or export)',
    'sum.unavailable': 'The register could not be read yet ({status}).',
  },
});

const CAUSES = ['lost_device', 'hacking', 'theft', 'employee_error', 'processor', 'misdirected', 'malware', 'other'];
const CATEGORIES = ['health', 'bsn', 'contact', 'financial', 'login', 'id_copy', 'other'];
const GROUPS = ['clients', 'employees', 'minors', 'vulnerable', 'relatives', 'other'];
const CONSEQUENCES = ['stigmatisation_exclusion', 'damage_to_health', 'identity_fraud', 'spam_phishing', 'financial_loss', 'reputational_damage', 'other'];
// the channel as the register keeps it: in Dutch words, as the AP form shows it
const CHANNELS = [['brief', 'ch.letter'], ['e-mail', 'ch.email'], ['telefonisch', 'ch.phone'],
  ['persoonlijk gesprek', 'ch.in_person'], ['algemene voorlichting', 'ch.public']];
const YNU = ['yes', 'no', 'unknown'];
const opts = (prefix, values) => values.map((v) => [v, word(prefix, v)]);

// key: the breach once step 1 recorded it; values: every step's fields as
// last entered; breach: GET /console/api/v1/breaches/KEY's answer (or
// null); duties: the breach's obligations.
const wiz = { key: null, step: 1, values: {}, breach: null, duties: [], lang: null };

function build(s) {
  s.append(
    h('h2', { id: 'melden-title', tabindex: -1, 'data-i18n': 'report.title' }, tr('report.title')),
    h('p', { class: 'lead', 'data-i18n': 'report.lead' }, tr('report.lead')),
    h('nav', { 'aria-label': tr('report.steps'), id: 'report-steps-nav' }, h('ol', { class: 'stepper', id: 'report-steps' })),
    h('div', { id: 'report-banner', class: 'report-banner', 'aria-live': 'polite' }),
    h('div', { id: 'report-step', class: 'report-step card' }),
  );
}

// ---- the stepper and the banner ----

function renderStepper() {
  const ol = $('report-steps');
  ol.replaceChildren(...[1, 2, 3, 4].map((n) => {
    const mark = n < wiz.step ? 'done' : n === wiz.step ? 'current' : 'todo';
    return h('li', { class: `step ${mark}`, 'aria-current': n === wiz.step ? 'step' : null },
      h('span', { class: 'step-n', 'aria-hidden': 'true' }, String(n)),
      h('span', { class: 'step-name' }, tr('step.' + n)),
      mark === 'done' ? h('span', { class: 'visually-hidden' }, ` (${tr('step.done')})`) : null);
  }));
  $('report-steps-nav').setAttribute('aria-label', tr('report.steps'));
}

function renderBanner() {
  const box = $('report-banner');
  box.replaceChildren();
  if (!wiz.key) return;
  const ap = [...wiz.duties].filter((o) => o.kind === 'avg.notify_ap').pop();
  box.append(
    h('p', { class: 'banner-key' }, tr('banner.recorded', { key: wiz.key })),
    h('p', { class: 'banner-links' }, h('a', { href: href('datalek', wiz.key), id: 'report-banner-page' }, tr('banner.page')),
      ' · ', h('a', { href: href('apform', wiz.key), id: 'report-banner-apform' }, tr('banner.apform'))),
    ...wiz.duties.filter((o) => o.status === 'open' || o.status === 'overdue').map((o) => deadlineLine(o)));
  if (!ap && (wiz.breach?.current?.personal_data === 'no' || wiz.values.personal_data === 'no')) box.append(h('p', {}, tr('banner.nodata')));
}

// the breach and its deadlines as the engine has them now
async function refresh() {
  const [b, ob] = await Promise.all([
    fetchBreach(wiz.key),
    api(`/console/api/v1/obligations?subject=${encodeURIComponent(wiz.key)}&limit=100`),
  ]);
  wiz.breach = b.status === 200 ? b.body : null;
  wiz.breachStatus = b.status;
  const rows = b.status === 200 && Array.isArray(b.body.obligations) ? b.body.obligations : ob.status === 200 ? ob.body : [];
  wiz.duties = [...rows].sort((x, y) => x.id - y.id);
}

// ---- the steps ----

function stepShell(n, ...body) {
  const form = h('form', { id: `report-form-${n}`, novalidate: true, 'aria-labelledby': 'report-step-title' },
    ...body,
    h('p', { class: 'error error-summary', role: 'alert' }),
    h('p', { class: 'saving', 'aria-live': 'polite' }),
    h('div', { class: 'step-buttons' },
      n > 1 ? h('button', { type: 'button', class: 'secondary', onclick: () => go(n - 1) }, tr('btn.back')) : null,
      n === 3 ? h('button', { type: 'button', class: 'secondary', id: 'report-skip3', 'data-show-when': 'inform=skip' }, tr('btn.skip3')) : null,
      n < 4 ? h('button', { type: 'submit', class: 'primary', id: `report-next-${n}` }, tr(n === 1 ? 'btn.next1' : 'btn.next')) : null));
  return form;
}

const val = (name, dflt) => wiz.values[name] ?? dflt;

function step1() {
  const v = (n) => val(n);
  return stepShell(1,
    h('p', {}, tr('s1.intro')),
    field({ kind: 'textarea', name: 'description', label: tr('f.description'), hint: tr('f.description.hint'), required: true, value: v('description') }),
    field({ name: 'aware_at', type: 'datetime-local', label: tr('f.aware_at'), hint: tr('f.aware_at.hint'), required: true, value: val('aware_at', amsInput(now())) }),
    h('p', { class: 'hint note', id: 'aware-ambiguous', hidden: true }, tr('f.aware_at.ambiguous')),
    choice({ kind: 'radio', name: 'cause', legend: tr('f.cause'), hint: tr('f.cause.hint'), required: true, options: opts('cause', CAUSES), value: v('cause') }),
    field({ name: 'processor', label: tr('f.processor'), value: v('processor'), showWhen: 'cause=processor' }),
    choice({ kind: 'radio', name: 'personal_data', legend: tr('f.personal_data'), hint: tr('f.personal_data.hint'), required: true, options: opts('yn', YNU), value: v('personal_data') }),
    h('p', { class: 'note', 'data-show-when': 'personal_data=no' }, tr('f.personal_data.no')),
    choice({ kind: 'checkbox', name: 'categories', legend: tr('f.categories'), options: opts('cat', CATEGORIES), value: v('categories') }),
    h('div', { class: 'field-row' },
      field({ name: 'persons_affected', type: 'number', label: tr('f.persons_affected'), value: v('persons_affected'), attrs: { min: 0, step: 1, inputmode: 'numeric' } }),
      field({ name: 'records_affected', type: 'number', label: tr('f.records_affected'), value: v('records_affected'), attrs: { min: 0, step: 1, inputmode: 'numeric' } })),
    choice({ kind: 'checkbox', name: 'groups', legend: tr('f.groups'), options: opts('group', GROUPS), value: v('groups') }),
    h('div', { class: 'field-row' },
      field({ name: 'started_at', type: 'datetime-local', label: tr('f.started_at'), value: v('started_at') }),
      field({ name: 'ended_at', type: 'datetime-local', label: tr('f.ended_at'), value: v('ended_at') })),
    checkbox({ name: 'ongoing', label: tr('f.ongoing'), value: v('ongoing') }),
    choice({ kind: 'radio', name: 'unintelligible', legend: tr('f.unintelligible'), options: opts('yn', YNU), value: v('unintelligible') }),
    field({ kind: 'textarea', name: 'measures_taken', label: tr('f.measures_taken'), hint: tr('f.measures_taken.hint'), rows: 3, value: v('measures_taken') }),
    h('fieldset', { class: 'group' }, h('legend', {}, tr('f.reporter')),
      h('div', { class: 'field-row' },
        field({ name: 'reporter_name', label: tr('f.reporter_name'), required: true, value: v('reporter_name'), attrs: { autocomplete: 'name' } }),
        field({ name: 'reporter_role', label: tr('f.reporter_role'), value: v('reporter_role'), attrs: { autocomplete: 'organization-title' } })),
      h('div', { class: 'field-row' },
        field({ name: 'reporter_phone', type: 'tel', label: tr('f.reporter_phone'), value: v('reporter_phone'), attrs: { autocomplete: 'tel' } }),
        field({ name: 'reporter_email', type: 'email', label: tr('f.reporter_email'), value: v('reporter_email'), attrs: { autocomplete: 'email' } }))),
    h('p', { class: 'next-note' }, tr('s1.next')));
}

function apDue() {
  const ap = [...wiz.duties].filter((o) => o.kind === 'avg.notify_ap').pop();
  return ap ? Date.parse(ap.due_at) : null;
}

function step2() {
  const v = (n) => val(n);
  const notified = (wiz.breach?.notifications || []).length > 0 || wiz.breach?.current?.notified_at;
  const phases = notified ? ['supplement', 'complete'] : ['initial', 'complete'];
  return stepShell(2,
    h('p', {}, tr('s2.intro')),
    h('p', { class: 'doubt', role: 'note' }, h('strong', {}, tr('s2.doubt'))),
    choice({ kind: 'radio', name: 'risk', legend: tr('f.risk'), required: true, options: opts('risk', ['unlikely', 'risk', 'high']), value: v('risk') }),
    h('p', { class: 'note', 'data-show-when': 'risk=unlikely' }, tr('s2.unlikely')),
    field({ kind: 'textarea', name: 'rationale', label: tr('f.rationale'), hint: tr('f.rationale.hint'), required: true, rows: 3, value: v('rationale') }),
    choice({ kind: 'checkbox', name: 'consequences', legend: tr('f.consequences'), options: opts('cons', CONSEQUENCES), value: v('consequences') }),
    field({ kind: 'textarea', name: 'consequences_note', label: tr('f.consequences_note'), rows: 2, value: v('consequences_note') }),
    field({ kind: 'textarea', name: 'measures_planned', label: tr('f.measures_planned'), rows: 2, value: v('measures_planned') }),
    choice({ kind: 'radio', name: 'cross_border', legend: tr('f.cross_border'), options: opts('yn', YNU), value: v('cross_border') }),
    field({ name: 'countries', label: tr('f.countries'), hint: tr('f.countries.hint'), value: v('countries'), showWhen: 'cross_border=yes' }),
    h('div', { 'data-show-when': 'risk=risk|high', class: 'subform' },
      h('p', {}, tr('s2.loket'), ' ',
        h('a', { href: 'https://datalekken.autoriteitpersoonsgegevens.nl/', rel: 'noopener noreferrer', target: '_blank' }, tr('s2.loket.link')),
        ' · ', h('a', { href: href('apform', wiz.key) }, tr('s2.apform'))),
      choice({ kind: 'radio', name: 'notify', legend: tr('f.notify'), required: true, options: [['now', tr('f.notify.now')], ['later', tr('f.notify.later')]], value: v('notify') }),
      h('div', { 'data-show-when': 'notify=now' },
        h('div', { class: 'field-row' },
          field({ name: 'reference', label: tr('f.reference'), required: true, value: v('reference') }),
          field({ name: 'notified_at', type: 'datetime-local', label: tr('f.notified_at'), required: true, value: val('notified_at', amsInput(now())) })),
        choice({ kind: 'radio', name: 'phase', legend: tr('f.phase'), hint: tr('f.phase.hint'), required: true, options: opts('phase', phases), value: v('phase') }),
        field({ kind: 'textarea', name: 'delay_reasons', label: tr('f.delay_reasons'), hint: tr('f.delay_reasons.hint'), rows: 2, value: v('delay_reasons') }))));
}

function mustInform() {
  return wiz.breach?.current?.risk === 'high' || wiz.values.risk === 'high' ||
    wiz.duties.some((o) => o.kind === 'avg.inform_subjects' && (o.status === 'open' || o.status === 'overdue'));
}

function messageCheck() {
  const found = messageElements($('f-message')?.value || '');
  const list = $('message-check');
  list.replaceChildren(...MESSAGE_ELEMENTS.map((e, i) => {
    const ok = found[i].present;
    return h('li', { class: ok ? 'present' : 'missing' },
      h('span', { class: `badge ${ok ? 'ok' : 'missing'}` }, tr(ok ? 'msg.present' : 'msg.missing')), ' ',
      state.lang === 'en' ? e.en : e.nl, h('span', { class: 'elem-source' }, ` (${tr('msg.from.' + e.from)})`));
  }));
}

function step3() {
  const v = (n) => val(n);
  const must = mustInform();
  const facts = {
    description: wiz.breach?.current?.description || wiz.values.description,
    measures: wiz.breach?.current?.measures_taken || wiz.values.measures_taken,
  };
  const choices = [['informed', tr('f.inform.informed')], ['exception', tr('f.inform.exception')]];
  if (!must) choices.push(['skip', tr('f.inform.skip')]);
  const form = stepShell(3,
    h('p', {}, tr('s3.intro')),
    h('p', {}, tr('s3.exceptions')),
    h('p', { class: must ? 'doubt' : 'note' }, h('strong', {}, tr(must ? 's3.required' : 's3.optional'))),
    choice({ kind: 'radio', name: 'inform', legend: tr('f.inform'), required: true, options: choices, value: v('inform') }),
    h('div', { 'data-show-when': 'inform=informed', class: 'subform' },
      field({ kind: 'textarea', name: 'message', label: tr('f.message'), hint: tr('f.message.hint'), required: true, rows: 14, value: v('message') }),
      h('button', { type: 'button', class: 'secondary', id: 'message-template', onclick: () => {
        const ta = $('f-message');
        if (ta.value.trim() && !window.confirm(tr('f.message.replace'))) return;
        ta.value = messageTemplate(state.lang, facts);
        messageCheck();
        ta.focus();
      } }, tr('f.message.template')),
      h('h4', { id: 'message-check-title' }, tr('f.message.check')),
      h('ul', { id: 'message-check', class: 'message-check', 'aria-labelledby': 'message-check-title', 'aria-live': 'polite' }),
      h('div', { class: 'field-row' },
        field({ kind: 'select', name: 'channel', label: tr('f.channel'), required: true, options: CHANNELS.map(([v, k]) => [v, tr(k)]), value: v('channel') }),
        field({ name: 'count', type: 'number', label: tr('f.count'), value: v('count'), attrs: { min: 0, step: 1, inputmode: 'numeric' } }),
        field({ name: 'informed_at', type: 'datetime-local', label: tr('f.informed_at'), required: true, value: val('informed_at', amsInput(now())) }))),
    h('div', { 'data-show-when': 'inform=exception', class: 'subform' },
      choice({ kind: 'radio', name: 'exception', legend: tr('f.exception'), required: true, options: opts('exc', ['unintelligible', 'risk_mitigated', 'public_communication']), value: v('exception') }),
      field({ kind: 'textarea', name: 'exception_rationale', label: tr('f.exception_rationale'), required: true, rows: 3, value: v('exception_rationale') })));
  form.querySelector('#f-message').addEventListener('input', messageCheck);
  form.querySelector('#report-skip3').addEventListener('click', () => submit(3, true));
  return form;
}

function summaryList(b) {
  const c = b.current || {};
  const notes = b.notifications || [];
  const row = (k, ...v) => [h('dt', {}, tr(k)), h('dd', {}, ...v)];
  const subj = c.subjects_informed ? tr('sum.subjects.yes', { at: amsterdam(state.lang, c.subjects_informed_at) })
    : c.subjects_exception ? tr('sum.subjects.exception', { exception: word('exc', c.subjects_exception) }) : tr('sum.subjects.no');
  return h('dl', { class: 'summary-list', id: 'report-summary' },
    ...row('sum.status', word('breach', c.status || b.status)),
    ...row('sum.aware', amsterdam(state.lang, c.aware_at)),
    ...row('sum.description', c.description || tr('none')),
    ...row('sum.risk', c.risk ? word('risk', c.risk) : tr('none')),
    ...row('sum.notified', notes.length ? notes.map((n) => `${word('phase', n.phase)} · ${amsterdam(state.lang, n.notified_at)} · ${n.reference}`).join('; ') : tr('sum.notified.none')),
    ...row('sum.subjects', subj),
    ...row('sum.versions', String((b.versions || []).length)),
    ...row('sum.deadlines', ...(b.obligations || []).map((o) => deadlineLine(o, 'span'))));
}

function step4() {
  const b = wiz.breach;
  const closed = b?.current?.status === 'closed';
  const form = stepShell(4,
    h('p', {}, tr('s4.intro')),
    b ? summaryList(b) : h('p', { class: 'error' }, tr('sum.unavailable', { status: wiz.breachStatus })),
    h('ul', { class: 'links' },
      h('li', {}, h('a', { href: href('datalek', wiz.key), id: 'report-to-breach' }, tr('sum.breach'))),
      h('li', {}, h('a', { href: href('apform', wiz.key), id: 'report-to-apform' }, tr('sum.apform')))),
    h('h4', {}, tr('s4.close')),
    closed ? h('p', { class: 'ok-note' }, tr('s4.closed')) : h('div', {},
      h('p', {}, tr('s4.close.intro')),
      field({ kind: 'textarea', name: 'measures', label: tr('f.measures'), required: true, rows: 3, value: val('measures') }),
      h('button', { type: 'submit', class: 'primary', id: 'report-close' }, tr('btn.close'))),
    h('p', {}, h('a', { href: '#melden', class: 'button-link', id: 'report-new' }, tr('btn.new'))));
  return form;
}

const STEPS = { 1: step1, 2: step2, 3: step3, 4: step4 };

// Shows step n: its heading "Stap n van 4 — …" takes the focus.
function render(n, focus = true) {
  wiz.step = n;
  renderStepper();
  renderBanner();
  const box = $('report-step');
  const form = STEPS[n]();
  box.replaceChildren(
    h('h3', { id: 'report-step-title', tabindex: -1 }, h('span', { class: 'step-of' }, tr('report.stepof', { n })), ' ', tr('step.' + n)),
    form);
  form.addEventListener('submit', (ev) => { ev.preventDefault(); submit(n, false); });
  form.addEventListener('change', (ev) => { refreshShown(form); ambiguity(form); clearError(form, ev.target); });
  form.addEventListener('input', (ev) => { ambiguity(form); clearError(form, ev.target); });
  refreshShown(form);
  ambiguity(form);
  if (n === 3) messageCheck();
  if (focus) $('report-step-title').focus();
}

// each time field says the instant it was read as, in Amsterdam time with
// its zone (CET or CEST), and the aware time whether it came twice
function ambiguity(form) {
  const note = form.querySelector('#aware-ambiguous');
  if (note) note.hidden = !amsLocal(form.querySelector('#f-aware_at').value).ambiguous;
  for (const input of form.querySelectorAll('input[type="datetime-local"]')) {
    const t = amsLocal(input.value);
    $(`${input.id}-echo`).textContent = input.value && !t.error ? tr('f.time.echo', { at: amsterdam(state.lang, t.iso) }) : '';
  }
}

// the address of the step, without a reload of the page (the shell's
// route sees the same page and arguments)
function setAddress() {
  state.args = wiz.key ? [wiz.key, String(wiz.step)] : [];
  history.replaceState(null, '', wiz.key ? href('melden', wiz.key, wiz.step) : '#melden');
}

async function go(n) {
  const form = $('report-step').querySelector('form');
  if (form) Object.assign(wiz.values, readForm(form));
  if (wiz.key) await refresh();
  render(n);
  setAddress();
}

// a fresh readable id no breach has yet
async function freshId() {
  for (;;) {
    const id = breachId(now(), crypto.getRandomValues(new Uint8Array(4)));
    const r = await fetchBreach(id);
    if (r.status !== 200) return id; // 404: no breach has it
  }
}

// Records the step's events in order; the first refusal stops and is shown.
async function record(form, events) {
  const busy = form.querySelector('.saving');
  busy.textContent = tr('saving');
  for (const btn of form.querySelectorAll('button')) btn.disabled = true;
  try {
    for (const [type, data] of events) {
      const r = await recordEvent(type, data);
      if (!r.ok) {
        form.querySelector('.error-summary').textContent = r.message;
        return false;
      }
    }
    return true;
  } finally {
    busy.textContent = '';
    for (const btn of form.querySelectorAll('button')) btn.disabled = false;
  }
}

async function submit(n, skip) {
  const form = $('report-step').querySelector('form');
  const v = readForm(form);
  Object.assign(wiz.values, v);
  const t = now();
  let errors = {}, vars = {}, events = [];
  if (n === 1) {
    errors = validateReport(v, t);
    if (!Object.keys(errors).length) {
      wiz.key ??= await freshId();
      events = [['nl.avg.breach.reported', reportedData(wiz.key, v)]];
    }
  } else if (n === 2) {
    errors = validateAssess(v, t, apDue());
    if (!Object.keys(errors).length) {
      events = [['nl.avg.breach.assessed', assessedData(wiz.key, v)]];
      const notified = notifiedData(wiz.key, v);
      if (notified) events.push(['nl.avg.breach.notified', notified]);
    }
  } else if (n === 3) {
    if (skip) v.inform = 'skip';
    errors = validateInform(v, t, mustInform());
    if (errors.message === 'err.message_elements') {
      const missing = messageElements(v.message).filter((x) => !x.present)
        .map((x) => MESSAGE_ELEMENTS.find((e) => e.id === x.id)[state.lang === 'en' ? 'en' : 'nl']);
      vars.message = { missing: missing.join(', ') };
    }
    const data = Object.keys(errors).length ? null : informedData(wiz.key, v);
    if (data) events = [['nl.avg.breach.subjects_informed', data]];
  } else {
    errors = validateClose(v);
    if (!Object.keys(errors).length) events = [['nl.avg.breach.closed', closedData(wiz.key, v)]];
  }
  if (showErrors(form, errors, vars)) return;
  if (events.length && !(await record(form, events))) return;
  await go(n < 4 ? n + 1 : 4);
}

async function load(args) {
  const [key, step] = args;
  // what is typed stays when the language changes (load renders anew)
  const typed = $('report-step')?.querySelector('form');
  if (typed) Object.assign(wiz.values, readForm(typed));
  if (!key) {
    // a new breach; a draft not yet recorded is kept
    if (wiz.key) Object.assign(wiz, { key: null, values: {}, breach: null, duties: [] });
    render(1, false);
    setAddress();
    return;
  }
  const fresh = wiz.key !== key;
  if (fresh) Object.assign(wiz, { key, values: {}, breach: null, duties: [] });
  await refresh();
  if (fresh && wiz.breach) wiz.values = valuesFrom(wiz.breach.current);
  const n = Math.min(4, Math.max(1, Number(step) || 2));
  render(n, false);
  if (!wiz.breach && wiz.breachStatus !== 200) {
    $('report-banner').append(h('p', { class: 'error', role: 'alert' }, tr('breach.failed', { status: wiz.breachStatus })));
  }
  if (wiz.lang && wiz.lang !== state.lang) $('report-step-title').focus();
  wiz.lang = state.lang;
}

definePage({ name: 'melden', title: 'report.title', nav: true, load, build });

