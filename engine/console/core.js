// core.js — what every page of the console shares: the state (language,
// session, the engine's clock), the API call, building elements, and the
// page registry. A page is a module that calls definePage once (see
// app.js for the list); its section is the one in index.html with the
// page's name as id, or one made here and filled by the page's build().
// Data goes into the page only as text (h() and cell() use textContent),
// never as HTML. The API is called under /console/api/ with the session
// cookie; anything but a GET carries the CSRF token in X-CSRF-Token.
import { t } from './i18n.js';

export const $ = (id) => document.getElementById(id);

// lang: 'nl' or 'en'; session: GET /console/session's answer, or null;
// offset: engine time minus browser time (ms); page and args: from the
// URL's fragment, #name/arg/arg (each arg percent-encoded).
export const state = { lang: 'nl', session: null, offset: 0, page: 'termijnen', args: [] };

// the engine's time now, in ms: countdowns count against it
export function now() { return Date.now() + state.offset; }

export function tr(key, vars) { return t(state.lang, key, vars); }

export function setEngineTime(iso) {
  const at = Date.parse(iso);
  if (!Number.isNaN(at)) state.offset = at - Date.now();
}

// {status, body}; body is the parsed JSON, or the text for other media
export async function api(path, options = {}) {
  const headers = { Accept: 'application/json', ...(options.headers || {}) };
  if (options.method && options.method !== 'GET' && state.session) headers['X-CSRF-Token'] = state.session.csrf;
  const res = await fetch(path, { credentials: 'same-origin', ...options, headers });
  const text = await res.text();
  let body = text;
  if ((res.headers.get('content-type') || '').includes('json')) {
    try { body = JSON.parse(text); } catch { /* not JSON after all */ }
  }
  return { status: res.status, body, headers: res.headers };
}

// h('p', {class: 'lead', 'data-i18n': 'x'}, 'text', child...): an element
// with attributes (on* functions become listeners) and children (strings
// become text nodes; null and false are skipped).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}

// a table cell with text, its label for the card layout below 900px
export function cell(row, text, cls, label) {
  const td = h('td', { class: cls }, text);
  if (label) td.dataset.label = label;
  row.append(td);
  return td;
}

// The answer's failure, shown in the element errorId; a lapsed session
// signs out (onSignedOut, set by app.js). Returns 1 when one failed.
export const hooks = { onSignedOut: () => {} };
export function failed(results, errorId, key) {
  const bad = results.find((r) => r.status < 200 || r.status > 299);
  if (!bad) return false;
  if (bad.status === 401) { hooks.onSignedOut(); return true; }
  const msg = bad.body && typeof bad.body === 'object' && bad.body.error ? ` ${bad.body.error}` : '';
  $(errorId).textContent = tr(key, { status: bad.status }) + msg;
  return true;
}

// '#datalek/' + encodeURIComponent(key): a link to a page with arguments
export function href(page, ...args) {
  return `#${[page, ...args.map((a) => encodeURIComponent(String(a)))].join('/')}`;
}

// name -> {name, title (i18n key), load(args), build?(section), nav}
export const pages = new Map();

// Registers a page. nav: a link in the main menu (its text is the i18n
// key nav.<name>); a page without one is reached by links (a breach's own
// page, the AP form).
export function definePage(page) {
  pages.set(page.name, { nav: false, ...page });
}

// The page's section, made and built once when index.html has none.
export function sectionOf(page) {
  let section = $(page.name);
  if (!section) {
    section = h('section', { id: page.name, class: 'page', hidden: true, 'aria-labelledby': `${page.name}-title` });
    $('main').append(section);
    if (page.build) page.build(section);
  }
  return section;
}
