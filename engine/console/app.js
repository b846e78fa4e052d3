// app.js — the console page: sign-in, the pages Termijnen (deadlines),
// Signalen (alerts) and Datalekken (the breach register), chosen by the
// URL's fragment (#termijnen, #signalen, #datalekken), and sign-out. Standard ES modules, no framework and no build step (README,
// "Console"). Data goes into the page only as text (textContent), never as
// HTML. The API is called under /console/api/ with the session cookie;
// anything but a GET carries the CSRF token in X-CSRF-Token.
import { getLang, setLang, t, strings } from './i18n.js';
import { countdown, amsterdam } from './format.js';

const $ = (id) => document.getElementById(id);
const state = { lang: getLang(), session: null, offset: 0, duties: new Map(), rows: [], alerts: [], page: 'termijnen' };

// each page: its section, heading's i18n key and loader
const pages = {
  termijnen: { title: 'deadlines.title', load: () => loadDeadlines() },
  signalen: { title: 'alerts.title', load: () => loadAlerts() },
  datalekken: { title: 'breaches.title', load: () => loadBreaches() },
};

function now() { return Date.now() + state.offset; }

function translate() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(state.lang, el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(state.lang, el.dataset.i18nAria));
  document.title = `Obligo — ${t(state.lang, pages[state.page].title)}`;
  $('lang').value = state.lang;
  if (state.session) $('who').textContent = t(state.lang, 'who', { role: state.session.role });
}

async function api(path, options = {}) {
  const headers = { Accept: 'application/json', ...(options.headers || {}) };
  if (options.method && options.method !== 'GET' && state.session) headers['X-CSRF-Token'] = state.session.csrf;
  const res = await fetch(path, { credentials: 'same-origin', ...options, headers });
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  return { status: res.status, body };
}

function show(signedIn) {
  $('signin').hidden = signedIn;
  for (const name of Object.keys(pages)) {
    $(name).hidden = !signedIn || name !== state.page;
    const link = $(`nav-${name}`);
    if (name === state.page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  $('nav').hidden = !signedIn;
  $('signout').hidden = !signedIn;
  $('who').hidden = !signedIn;
}

function startSession(body) {
  state.session = body;
  state.offset = Date.parse(body.now) - Date.now();
  show(true);
  translate();
  pages[state.page].load();
}

// #signalen and the like choose the page; any other fragment (the skip
// link's #main) leaves the page as it is.
function route() {
  const name = location.hash.slice(1);
  if (!pages[name] || name === state.page) return false;
  state.page = name;
  return true;
}

function navigate() {
  if (!route() || !state.session) return;
  show(true);
  translate();
  pages[state.page].load();
  $(`${state.page}-title`).focus();
}

// the answer's failure, shown in errorId; a lapsed session signs out
function failed(results, errorId, key) {
  const bad = results.find((r) => r.status !== 200);
  if (!bad) return false;
  if (bad.status === 401) { state.session = null; show(false); translate(); return true; }
  $(errorId).textContent = t(state.lang, key, { status: bad.status });
  return true;
}

async function signIn(ev) {
  ev.preventDefault();
  $('signin-error').textContent = '';
  const token = $('token').value.trim();
  const r = await api('/console/session', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }),
  });
  $('token').value = '';
  if (r.status === 200) { startSession(r.body); $('main').focus(); return; }
  const key = r.status === 401 ? 'signin.unknown' : r.status === 403 ? 'signin.ingest' : 'signin.failed';
  $('signin-error').textContent = t(state.lang, key, { status: r.status });
  $('token').focus();
}

async function signOut() {
  await api('/console/session', { method: 'DELETE' });
  state.session = null;
  state.rows = [];
  state.alerts = [];
  show(false);
  translate();
  $('token').focus();
}

async function loadDeadlines() {
  $('load-error').textContent = '';
  const [duties, open, overdue] = await Promise.all([
    api('/console/api/v1/duties'),
    api('/console/api/v1/obligations?status=open&limit=10000'),
    api('/console/api/v1/obligations?status=overdue&limit=10000'),
  ]);
  if (failed([duties, open, overdue], 'load-error', 'load.failed')) return;
  state.offset = Date.parse(duties.body.now) - Date.now();
  state.duties = new Map(duties.body.duties.map((d) => [d.name, d]));
  state.rows = [...open.body, ...overdue.body].sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at));
  const select = $('f-duty'), chosen = select.value;
  while (select.options.length > 1) select.remove(1);
  const kinds = [...new Set(state.rows.map((o) => o.kind))];
  for (const d of [...state.duties.values()].filter((d) => kinds.includes(d.name))) {
    const o = document.createElement('option');
    o.value = d.name;
    o.textContent = d.title || d.name;
    select.append(o);
  }
  select.value = kinds.includes(chosen) ? chosen : '';
  render();
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  if (cls) td.className = cls;
  td.textContent = text;
  tr.append(td);
  return td;
}

function render() {
  const lang = state.lang, duty = $('f-duty').value, statuses = $('f-status').value.split(',');
  const within = $('f-within').value === '' ? null : Number($('f-within').value);
  const until = within === null ? Infinity : now() + within * 86400000;
  const rows = state.rows.filter((o) => (!duty || o.kind === duty) && statuses.includes(o.status) &&
    Date.parse(o.due_at) <= until);
  const tbody = $('deadlines').tBodies[0];
  tbody.replaceChildren();
  let late = 0;
  for (const o of rows) {
    const d = state.duties.get(o.kind);
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.dataset.label = t(lang, 'col.duty');
    const title = document.createElement('span');
    title.className = 'title';
    title.textContent = d?.title || o.kind;
    const source = document.createElement('span');
    source.className = 'source';
    source.textContent = [d?.source, o.kind].filter(Boolean).join(' · ');
    th.append(title, source);
    tr.append(th);
    cell(tr, o.subject, 'subject').dataset.label = t(lang, 'col.subject');
    const st = cell(tr, t(lang, o.status === 'overdue' ? 'status.overdue' : 'status.open'), `status ${o.status}`);
    st.dataset.label = t(lang, 'col.status');
    const c = countdown(lang, o.due_at, now());
    if (c.late) late++;
    const cd = cell(tr, c.text, c.late ? 'countdown late' : 'countdown');
    cd.dataset.label = t(lang, 'col.left');
    cd.dataset.due = o.due_at;
    cell(tr, amsterdam(lang, o.due_at)).dataset.label = t(lang, 'col.due');
    cell(tr, o.legal_limit ? amsterdam(lang, o.legal_limit) : t(lang, 'none')).dataset.label = t(lang, 'col.limit');
    tbody.append(tr);
  }
  $('summary').textContent = rows.length ? t(lang, rows.length === 1 ? 'summary.one' : 'summary', { n: rows.length, late }) : t(lang, 'summary.none');
}

async function loadAlerts() {
  $('alerts-error').textContent = '';
  const r = await api('/console/api/v1/alerts?limit=10000');
  if (failed([r], 'alerts-error', 'alerts.failed')) return;
  // newest first; alerts raised at the same instant, the last raised first
  state.alerts = r.body.map((a, i) => ({ a, i }))
    .sort((x, y) => Date.parse(y.a.at) - Date.parse(x.a.at) || y.i - x.i).map((x) => x.a);
  const select = $('f-kind'), chosen = select.value;
  while (select.options.length > 1) select.remove(1);
  const kinds = [...new Set(state.alerts.map((a) => a.kind))].sort();
  for (const k of kinds) {
    const o = document.createElement('option');
    o.value = k;
    o.textContent = k;
    select.append(o);
  }
  select.value = kinds.includes(chosen) ? chosen : '';
  renderAlerts();
}

const SEVERITIES = ['critical', 'warning', 'info'];

function renderAlerts() {
  const lang = state.lang, severity = $('f-severity').value, kind = $('f-kind').value;
  const rows = state.alerts.filter((a) => (!severity || a.severity === severity) && (!kind || a.kind === kind));
  const tbody = $('alerts').tBodies[0];
  tbody.replaceChildren();
  for (const a of rows) {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.dataset.label = t(lang, 'col.severity');
    const sev = SEVERITIES.includes(a.severity) ? a.severity : 'info';
    const badge = document.createElement('span');
    badge.className = `severity ${sev}`;
    badge.textContent = SEVERITIES.includes(a.severity) ? t(lang, `severity.${sev}`) : a.severity;
    th.append(badge);
    tr.append(th);
    cell(tr, a.kind, 'kind').dataset.label = t(lang, 'col.kind');
    cell(tr, a.subject, 'subject').dataset.label = t(lang, 'col.subject');
    cell(tr, amsterdam(lang, a.at), 'at').dataset.label = t(lang, 'col.at');
    cell(tr, a.message || t(lang, 'none'), 'message').dataset.label = t(lang, 'col.message');
    tbody.append(tr);
  }
  $('alerts-summary').textContent = rows.length
    ? t(lang, rows.length === 1 ? 'alerts.summary.one' : 'alerts.summary', { n: rows.length })
    : t(lang, 'alerts.summary.none');
}

const BREACH_STATUSES = ['reported', 'assessed', 'notified', 'withdrawn', 'closed'];

async function loadBreaches() {
  $('breaches-error').textContent = '';
  const [session, register, notify] = await Promise.all([
    api('/console/session'),
    api('/console/api/v1/registers/datalekken'),
    api('/console/api/v1/obligations?kind=avg.notify_ap&limit=10000'),
  ]);
  if (failed([session, register, notify], 'breaches-error', 'breaches.failed')) return;
  state.offset = Date.parse(session.body.now) - Date.now();
  // each breach's AP notification: the latest obligation on its key
  const duty = new Map();
  for (const o of [...notify.body].sort((a, b) => a.id - b.id)) duty.set(o.subject, o);
  const entries = [...register.body].sort((a, b) =>
    (Date.parse(b.data?.aware_at) || 0) - (Date.parse(a.data?.aware_at) || 0) || a.key.localeCompare(b.key));
  const lang = state.lang, tbody = $('breaches').tBodies[0];
  tbody.replaceChildren();
  let pending = 0;
  for (const e of entries) {
    const d = e.data || {}, o = duty.get(e.key);
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.dataset.label = t(lang, 'col.breach');
    const key = document.createElement('span');
    key.className = 'title';
    key.textContent = e.key;
    th.append(key);
    if (d.description) {
      const desc = document.createElement('span');
      desc.className = 'source';
      desc.textContent = d.description;
      th.append(desc);
    }
    tr.append(th);
    const st = cell(tr, BREACH_STATUSES.includes(d.status) ? t(lang, `breach.${d.status}`) : d.status || t(lang, 'none'),
      `breach-status ${d.status || ''}`);
    st.dataset.label = t(lang, 'col.status');
    cell(tr, d.aware_at ? amsterdam(lang, d.aware_at) : t(lang, 'none')).dataset.label = t(lang, 'col.aware');
    let ap;
    if (o && (o.status === 'open' || o.status === 'overdue')) {
      pending++;
      const c = countdown(lang, o.due_at, now());
      ap = cell(tr, c.text, c.late ? 'countdown late' : 'countdown');
      ap.dataset.due = o.due_at;
    } else if (o && ['fulfilled', 'late', 'cancelled'].includes(o.status)) {
      ap = cell(tr, t(lang, `ap.${o.status}`), `ap ${o.status}`);
    } else {
      ap = cell(tr, o ? o.status : t(lang, 'ap.none'), 'ap');
    }
    ap.dataset.label = t(lang, 'col.ap');
    cell(tr, o ? amsterdam(lang, o.due_at) : t(lang, 'none')).dataset.label = t(lang, 'col.due');
    tbody.append(tr);
  }
  $('breaches-summary').textContent = entries.length
    ? t(lang, entries.length === 1 ? 'breaches.summary.one' : 'breaches.summary', { n: entries.length, open: pending })
    : t(lang, 'breaches.summary.none');
}

function tick() {
  for (const td of document.querySelectorAll('td.countdown')) {
    const c = countdown(state.lang, td.dataset.due, now());
    td.textContent = c.text;
    td.classList.toggle('late', c.late);
  }
}

async function main() {
  if (!strings[state.lang]) state.lang = 'nl';
  translate();
  $('lang').addEventListener('change', () => {
    state.lang = $('lang').value;
    setLang(state.lang);
    translate();
    if (state.session) pages[state.page].load();
  });
  $('signin-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', signOut);
  for (const id of ['f-duty', 'f-status']) $(id).addEventListener('change', render);
  $('f-within').addEventListener('input', render);
  for (const id of ['f-severity', 'f-kind']) $(id).addEventListener('change', renderAlerts);
  for (const id of ['filters', 'alert-filters']) $(id).addEventListener('submit', (ev) => ev.preventDefault());
  route();
  window.addEventListener('hashchange', navigate);
  setInterval(tick, 30000);
  const r = await api('/console/session');
  if (r.status === 200) startSession(r.body);
  else { show(false); $('token').focus(); }
  document.body.classList.add('ready');
}

main();
