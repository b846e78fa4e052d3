// i18n.js — the user-visible strings of the console, in Dutch (the
// default) and English: the shell's and the first pages' here, each later
// page's in its own module (addStrings). The choice is kept in localStorage; t(key, vars)
// looks a string up and fills {name} placeholders.

export const strings = {
  nl: {
    'skip': 'Naar de inhoud',
    'brand.sub': 'console van de functionaris gegevensbescherming',
    'nav.label': 'Hoofdmenu',
    'nav.termijnen': 'Termijnen',
    'nav.signalen': 'Signalen',
    'nav.datalekken': 'Datalekken',
    'alerts.title': 'Signalen',
    'alerts.lead': 'Signalen van de regels, de nieuwste bovenaan. Tijden in Amsterdamse tijd.',
    'alerts.caption': 'Signalen, de nieuwste bovenaan',
    'alerts.summary': '{n} signalen',
    'alerts.summary.one': '1 signaal',
    'alerts.summary.none': 'Geen signalen die aan de filters voldoen.',
    'alerts.failed': 'De signalen konden niet worden geladen ({status}).',
    'filters.severity': 'Ernst',
    'filters.kind': 'Soort',
    'severity.critical': 'Kritiek',
    'severity.warning': 'Waarschuwing',
    'severity.info': 'Informatie',
    'col.severity': 'Ernst',
    'col.kind': 'Soort',
    'col.at': 'Tijd',
    'col.message': 'Bericht',
    'breaches.title': 'Datalekkenregister',
    'breaches.lead': 'Elk datalek in het register, het laatst bijgewerkte bovenaan, met de stand van de melding bij de Autoriteit Persoonsgegevens. Tijden in Amsterdamse tijd.',
    'breaches.caption': 'Datalekkenregister, het laatst bijgewerkte datalek bovenaan',
    'breaches.summary.more': '{n} datalekken getoond, waarvan {open} nog te melden bij de AP; er zijn er meer',
    'breaches.summary': '{n} datalekken, waarvan {open} nog te melden bij de AP',
    'breaches.summary.one': '1 datalek, waarvan {open} nog te melden bij de AP',
    'breaches.summary.none': 'Het register is leeg.',
    'breaches.failed': 'Het datalekkenregister kon niet worden geladen ({status}).',
    'col.breach': 'Datalek',
    'col.aware': 'Bekend sinds',
    'col.ap': 'Melding AP',
    'breach.reported': 'Geregistreerd',
    'breach.assessed': 'Beoordeeld',
    'breach.notified': 'Gemeld bij de AP',
    'breach.withdrawn': 'Ingetrokken',
    'breach.closed': 'Afgesloten',
    'ap.fulfilled': 'Gemeld',
    'ap.late': 'Te laat gemeld',
    'ap.cancelled': 'Vervallen',
    'ap.none': 'Geen meldplicht',
    'lang.label': 'Taal',
    'signout': 'Uitloggen',
    'signin.title': 'Inloggen',
    'signin.help': 'Log in met een API-token met de rol officer of admin (obligo token create --role officer).',
    'signin.token': 'Token',
    'signin.submit': 'Inloggen',
    'signin.unknown': 'Dit token is onbekend of ingetrokken.',
    'signin.ingest': 'Een ingest-token kan niet inloggen op de console; gebruik een token met de rol officer of admin.',
    'signin.failed': 'Inloggen is niet gelukt ({status}).',
    'who': 'Ingelogd als {role}',
    'deadlines.title': 'Termijnen',
    'deadlines.lead': 'Open en verlopen plichten, de eerstvolgende bovenaan. Tijden in Amsterdamse tijd.',
    'deadlines.caption': 'Termijnen, gesorteerd op uiterste datum',
    'filters.label': 'Filters',
    'filters.duty': 'Plicht',
    'filters.all': 'Alle',
    'filters.status': 'Status',
    'filters.within': 'Binnen (dagen)',
    'status.both': 'Open en te laat',
    'status.open': 'Open',
    'status.overdue': 'Te laat',
    'col.duty': 'Plicht',
    'col.subject': 'Betreft',
    'col.status': 'Status',
    'col.left': 'Resterende tijd',
    'col.due': 'Uiterlijk',
    'col.limit': 'Wettelijke grens',
    'summary': '{n} termijnen, waarvan {late} te laat',
    'summary.one': '1 termijn, waarvan {late} te laat',
    'summary.none': 'Geen termijnen die aan de filters voldoen.',
    'load.failed': 'De termijnen konden niet worden geladen ({status}).',
    'none': '—',
    'left': 'nog {span}',
    'late': '{span} te laat',
    'day': '{n} dag', 'days': '{n} dagen',
    'hour': '{n} uur', 'hours': '{n} uur',
    'minute': '{n} minuut', 'minutes': '{n} minuten',
  },
  en: {
    'skip': 'Skip to content',
    'brand.sub': 'the data protection officer\'s console',
    'nav.label': 'Main menu',
    'nav.termijnen': 'Deadlines',
    'nav.signalen': 'Alerts',
    'nav.datalekken': 'Breaches',
    'alerts.title': 'Alerts',
    'alerts.lead': 'Alerts raised by the rules, the newest first. Times in Amsterdam time.',
    'alerts.caption': 'Alerts, the newest first',
    'alerts.summary': '{n} alerts',
    'alerts.summary.one': '1 alert',
    'alerts.summary.none': 'No alerts match the filters.',
    'alerts.failed': 'The alerts could not be loaded ({status}).',
    'filters.severity': 'Severity',
    'filters.kind': 'Kind',
    'severity.critical': 'Critical',
    'severity.warning': 'Warning',
    'severity.info': 'Information',
    'col.severity': 'Severity',
    'col.kind': 'Kind',
    'col.at': 'Time',
    'col.message': 'Message',
    'breaches.title': 'Breach register',
    'breaches.lead': 'Every breach in the register, the most recently updated first, with the state of its notification to the Dutch DPA (AP). Times in Amsterdam time.',
    'breaches.caption': 'Breach register, the most recently updated breach first',
    'breaches.summary.more': '{n} breaches shown, {open} of them still to be notified to the AP; there are more',
    'breaches.summary': '{n} breaches, {open} of them still to be notified to the AP',
    'breaches.summary.one': '1 breach, {open} of them still to be notified to the AP',
    'breaches.summary.none': 'The register is empty.',
    'breaches.failed': 'The breach register could not be loaded ({status}).',
    'col.breach': 'Breach',
    'col.aware': 'Aware since',
    'col.ap': 'AP notification',
    'breach.reported': 'Registered',
    'breach.assessed': 'Assessed',
    'breach.notified': 'Notified to the AP',
    'breach.withdrawn': 'Withdrawn',
    'breach.closed': 'Closed',
    'ap.fulfilled': 'Notified',
    'ap.late': 'Notified late',
    'ap.cancelled': 'Lapsed',
    'ap.none': 'No duty to notify',
    'lang.label': 'Language',
    'signout': 'Sign out',
    'signin.title': 'Sign in',
    'signin.help': 'Sign in with an API token of role officer or admin (obligo token create --role officer).',
    'signin.token': 'Token',
    'signin.submit': 'Sign in',
    'signin.unknown': 'This token is unknown or revoked.',
    'signin.ingest': 'An ingest token cannot sign in to the console; use a token of role officer or admin.',
    'signin.failed': 'Signing in failed ({status}).',
    'who': 'Signed in as {role}',
    'deadlines.title': 'Deadlines',
    'deadlines.lead': 'Open and overdue obligations, the next one first. Times in Amsterdam time.',
    'deadlines.caption': 'Deadlines, sorted by due time',
    'filters.label': 'Filters',
    'filters.duty': 'Duty',
    'filters.all': 'All',
    'filters.status': 'Status',
    'filters.within': 'Within (days)',
    'status.both': 'Open and overdue',
    'status.open': 'Open',
    'status.overdue': 'Overdue',
    'col.duty': 'Duty',
    'col.subject': 'Subject',
    'col.status': 'Status',
    'col.left': 'Time left',
    'col.due': 'Due',
    'col.limit': 'Legal limit',
    'summary': '{n} deadlines, {late} of them overdue',
    'summary.one': '1 deadline, {late} of them overdue',
    'summary.none': 'No deadlines match the filters.',
    'load.failed': 'The deadlines could not be loaded ({status}).',
    'none': '—',
    'left': '{span} left',
    'late': '{span} overdue',
    'day': '{n} day', 'days': '{n} days',
    'hour': '{n} hour', 'hours': '{n} hours',
    'minute': '{n} minute', 'minutes': '{n} minutes',
  },
};

const KEY = 'obligo.console.lang';

export function getLang() {
  try {
    const l = globalThis.localStorage?.getItem(KEY);
    if (l && strings[l]) return l;
  } catch { /* storage may be off */ }
  return 'nl';
}

export function setLang(lang) {
  if (!strings[lang]) return;
  try { globalThis.localStorage?.setItem(KEY, lang); } catch { /* storage may be off */ }
}

// A page module's own strings ({nl: {...}, en: {...}}), added to the
// tables; a key already defined is a mistake the console reports.
export function addStrings(more) {
  for (const [lang, table] of Object.entries(more)) {
    strings[lang] ??= {};
    for (const [k, v] of Object.entries(table)) {
      if (k in strings[lang]) console.error(`i18n: ${lang} ${k} defined twice`);
      strings[lang][k] = v;
    }
  }
}

export function t(lang, key, vars = {}) {
  const s = strings[lang]?.[key] ?? strings.nl[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}
