// app.js — the console page: sign-in, the Termijnen (deadlines) page and
// sign-out. Standard ES modules, no framework and no build step (README,
// "Console"). Data goes into the page only as text (textContent), never as
// HTML. The API is called under /console/api/ with the session cookie;
// anything but a GET carries the CSRF token in X-CSRF-Token.
import { getLang, setLang, t, strings } from './i18n.js';
import { countdown, amsterdam } from './format.js';

const $ = (id) => document.getElementById(id);
const state = { lang: getLang(), session: null, offset: 0, duties: new Map(), rows: [] };

function now() { return Date.now() + state.offset; }

function translate() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(state.lang, el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(state.lang, el.dataset.i18nAria));
  document.title = `Obligo — ${t(state.lang, 'deadlines.title')}`;
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
  $('termijnen').hidden = !signedIn;
  $('nav').hidden = !signedIn;
  $('signout').hidden = !signedIn;
  $('who').hidden = !signedIn;
}

function startSession(body) {
  state.session = body;
  state.offset = Date.parse(body.now) - Date.now();
  show(true);
  translate();
  loadDeadlines();
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
  const bad = [duties, open, overdue].find((r) => r.status !== 200);
  if (bad) {
    if (bad.status === 401) { state.session = null; show(false); translate(); return; }
    $('load-error').textContent = t(state.lang, 'load.failed', { status: bad.status });
    return;
  }
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
    if (state.session) loadDeadlines();
  });
  $('signin-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', signOut);
  for (const id of ['f-duty', 'f-status']) $(id).addEventListener('change', render);
  $('f-within').addEventListener('input', render);
  $('filters').addEventListener('submit', (ev) => ev.preventDefault());
  setInterval(tick, 30000);
  const r = await api('/console/session');
  if (r.status === 200) startSession(r.body);
  else { show(false); $('token').focus(); }
  document.body.classList.add('ready');
}

main();
