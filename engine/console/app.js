// app.js — the console's shell: sign-in and sign-out, the main menu, and
// choosing the page from the URL's fragment (#termijnen, #datalek/KEY).
// Each page is its own module (page_*.js, imported below) that registers
// itself with core.js; standard ES modules, no framework and no build step
// (README, "Console").
import { getLang, setLang, strings } from './i18n.js';
import { $, state, api, tr, h, hooks, pages, sectionOf, setEngineTime } from './core.js';
import { countdown } from './format.js';
import './page_deadlines.js';
import './page_alerts.js';
import './page_breaches.js';
import './page_report.js';
import './page_breach.js';
import './page_apform.js';
import './page_logreview.js';
import './page_rules.js';
import './page_event.js';

function translate() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = tr(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', tr(el.dataset.i18nAria));
  document.title = `Obligo — ${tr(pages.get(state.page).title)}`;
  $('lang').value = state.lang;
  if (state.session) $('who').textContent = tr('who', { role: state.session.role });
}

// the main menu: a link for every page with nav, those not in index.html added
function buildNav() {
  for (const p of pages.values()) {
    if (!p.nav || $(`nav-${p.name}`)) continue;
    $('nav').append(h('a', { href: `#${p.name}`, id: `nav-${p.name}`, 'data-i18n': `nav.${p.name}` }, tr(`nav.${p.name}`)));
  }
}

function show(signedIn) {
  $('signin').hidden = signedIn;
  for (const p of pages.values()) {
    const section = p.name === state.page && signedIn ? sectionOf(p) : $(p.name);
    if (section) section.hidden = !signedIn || p.name !== state.page;
    const link = $(`nav-${p.name}`);
    if (!link) continue;
    if (p.name === state.page) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  $('nav').hidden = !signedIn;
  $('signout').hidden = !signedIn;
  $('who').hidden = !signedIn;
}

function load() {
  pages.get(state.page).load(state.args);
}

function startSession(body) {
  state.session = body;
  setEngineTime(body.now);
  show(true);
  translate();
  load();
}

function signedOut() {
  state.session = null;
  show(false);
  translate();
}
hooks.onSignedOut = signedOut;

// #name/arg/... chooses the page; any other fragment (the skip link's
// #main) leaves the page as it is. 1 when the page or its arguments changed.
function route() {
  const [name, ...rest] = location.hash.slice(1).split('/');
  if (!pages.has(name)) return false;
  const args = rest.map((a) => decodeURIComponent(a));
  if (name === state.page && args.join('/') === state.args.join('/')) return false;
  state.page = name;
  state.args = args;
  return true;
}

function navigate() {
  if (!route() || !state.session) return;
  show(true);
  translate();
  load();
  $(`${state.page}-title`)?.focus();
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
  $('signin-error').textContent = tr(key, { status: r.status });
  $('token').focus();
}

async function signOut() {
  await api('/console/session', { method: 'DELETE' });
  signedOut();
  $('token').focus();
}

// every countdown on the page, recomputed against the engine's clock
function tick() {
  for (const td of document.querySelectorAll('.countdown[data-due]')) {
    const c = countdown(state.lang, td.dataset.due, Date.now() + state.offset);
    td.textContent = c.text;
    td.classList.toggle('late', c.late);
  }
}

async function main() {
  state.lang = getLang();
  if (!strings[state.lang]) state.lang = 'nl';
  buildNav();
  translate();
  $('lang').addEventListener('change', () => {
    state.lang = $('lang').value;
    setLang(state.lang);
    translate();
    if (state.session) load();
  });
  $('signin-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', signOut);
  route();
  window.addEventListener('hashchange', navigate);
  setInterval(tick, 30000);
  const r = await api('/console/session');
  if (r.status === 200) startSession(r.body);
  else { show(false); $('token').focus(); }
  document.body.classList.add('ready');
}

main();
