// format.js — the console's own logic that needs no page: the countdown
// text and times in Europe/Amsterdam. Pure functions, tested with
// `node --test` (tests/clients/console_format.test.mjs). The countdown is
// computed against the server's engine time (the caller passes it), never
// the browser's clock or time zone.
import { t } from './i18n.js';

const MINUTE = 60 * 1000, HOUR = 60 * MINUTE, DAY = 24 * HOUR;

// "2 dagen 4 uur": the two largest units of a positive span (ms).
export function span(lang, ms) {
  const d = Math.floor(ms / DAY), h = Math.floor((ms % DAY) / HOUR),
    m = Math.floor((ms % HOUR) / MINUTE);
  const unit = (n, one, many) => t(lang, n === 1 ? one : many, { n });
  if (d > 0) return h > 0 ? `${unit(d, 'day', 'days')} ${unit(h, 'hour', 'hours')}` : unit(d, 'day', 'days');
  if (h > 0) return m > 0 ? `${unit(h, 'hour', 'hours')} ${unit(m, 'minute', 'minutes')}` : unit(h, 'hour', 'hours');
  return unit(m, 'minute', 'minutes');
}

// {text, late}: "nog 2 dagen 4 uur", or "2 dagen te laat" once past due.
export function countdown(lang, dueIso, nowMs) {
  const left = Date.parse(dueIso) - nowMs;
  if (left >= 0) return { text: t(lang, 'left', { span: span(lang, left) }), late: false };
  return { text: t(lang, 'late', { span: span(lang, -left) }), late: true };
}

const formats = new Map();

// "zo 25 okt 2026 02:30 CET": an instant in Amsterdam time, the zone named
// (so the hour that comes twice on the last Sunday of October is clear).
export function amsterdam(lang, iso) {
  if (!iso) return '';
  if (!formats.has(lang)) {
    formats.set(lang, new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'nl-NL', {
      timeZone: 'Europe/Amsterdam', weekday: 'short', day: 'numeric', month: 'short',
      year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
    }));
  }
  return formats.get(lang).format(new Date(iso));
}
