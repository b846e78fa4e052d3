// i18n.js — every user-visible string of the console, in Dutch (the
// default) and English. The choice is kept in localStorage; t(key, vars)
// looks a string up and fills {name} placeholders.

export const strings = {
  nl: {
    'skip': 'Naar de inhoud',
    'brand.sub': 'console van de functionaris gegevensbescherming',
    'nav.label': 'Hoofdmenu',
    'nav.termijnen': 'Termijnen',
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

export function t(lang, key, vars = {}) {
  const s = strings[lang]?.[key] ?? strings.nl[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}
