// page_rules.js — Regels (#regels): the rule set in force from GET
// /console/api/v1/rules (its revision, when it was loaded, the last reload
// and its result, how much of it is tested), every duty with its Dutch
// title, legal source (a link to the law where one is known), severity and
// whether a test covers it, every rule with its file:line and the event
// types it reacts to; a file's source read-only (#regels/bron/FILE/LINE,
// from GET /console/api/v1/rules/source, as text with line numbers, the
// rule's line marked); and for an admin "Wat zou deze wijziging hebben
// gedaan?": a chosen rule directory replayed against the journal (POST
// /console/api/v1/replay, {"rules": {path: source}}), its differences in
// words. An officer sees why that part is not for them.
import { $, state, api, tr, h, cell, failed, href, definePage } from './core.js';
import { addStrings } from './i18n.js';
import { amsterdam } from './format.js';
import { rulePath, diffText, countsText } from './officer.js';

addStrings({
  nl: {
    'nav.regels': 'Regels',
    'rules.title': 'Regels',
    'rules.lead': 'De regels die Obligo nu toepast: welke plichten zij opleggen, op grond van welke wet, en of er een test voor is. Tijden in Amsterdamse tijd.',
    'rules.set': 'Regelset in gebruik',
    'rules.revision': 'Revisie',
    'rules.loaded': 'Geladen op',
    'rules.reload': 'Laatste herlaadpoging',
    'rules.reload.none': 'Sinds het starten niet opnieuw geladen.',
    'rules.reload.ok': 'Gelukt op {at}.',
    'rules.reload.bad': 'Geweigerd op {at}: {error}. De vorige regels bleven in gebruik.',
    'rules.reload.where': 'in {file}, regel {line}',
    'rules.coverage': 'Getest',
    'rules.coverage.text': '{rt} van {r} regels getest, {dt} van {d} plichten getest',
    'rules.duties': 'Plichten',
    'rules.duties.caption': 'Plichten van de regelset',
    'rules.rules': 'Regels',
    'rules.rules.caption': 'Regels van de regelset',
    'col.title': 'Plicht',
    'col.law': 'Wettelijke grondslag',
    'col.sev': 'Ernst',
    'col.tested': 'Getest',
    'col.where': 'Bron',
    'col.rule': 'Regel',
    'col.types': 'Reageert op',
    'tested.yes': 'Getest',
    'tested.no': 'Niet getest',
        'rules.failed': 'De regels konden niet worden geladen ({status}).',
    'source.title': 'Bron: {file}',
    'source.lead': 'De tekst van dit bestand zoals het in de regelset van revisie {revision} staat; alleen lezen.',
    'source.back': 'Terug naar de regels',
    'source.label': 'Broncode van {file}',
    'source.failed': 'Het bestand kon niet worden geladen ({status}).',
    'whatif.title': 'Wat zou deze wijziging hebben gedaan?',
    'whatif.lead': 'Kies een map met gewijzigde regels (de hele regelmap, met de .lua-bestanden). Obligo beoordeelt dan alle vastgelegde gebeurtenissen '
      + 'opnieuw met die regels, zonder iets te wijzigen, en laat zien wat er anders zou zijn geweest: termijnen, signalen en registers.',
    'whatif.dir': 'Map met regels',
    'whatif.submit': 'Vergelijken',
    'whatif.officer': 'Alleen een beheerder (een token met de rol admin) kan een wijziging van de regels uitproberen. '
      + 'Vraag uw beheerder om dat te doen als u wilt weten wat een wijziging zou betekenen.',
    'whatif.nofiles': 'Deze map bevat geen regelbestanden (.lua).',
    'whatif.busy': 'Bezig met vergelijken van {n} bestanden…',
    'whatif.failed': 'Het vergelijken is niet gelukt ({status}).',
    'whatif.summary': '{events} gebeurtenissen opnieuw beoordeeld, van {from} tot {to}: {n} verschillen.',
    'whatif.summary.one': '{events} gebeurtenissen opnieuw beoordeeld, van {from} tot {to}: 1 verschil.',
    'whatif.same': '{events} gebeurtenissen opnieuw beoordeeld, van {from} tot {to}: de wijziging had niets anders gedaan.',
    'whatif.counts': 'Per soort: {counts}',
    'whatif.revisions': 'Revisie nu {recorded}, met de wijziging {candidate}.',
    'whatif.json': 'Het resultaat als JSON (voor de beheerder)',
  },
  en: {
    'nav.regels': 'Rules',
    'rules.title': 'Rules',
    'rules.lead': 'The rules Obligo applies now: which duties they impose, on what legal ground, and whether a test covers them. Times in Amsterdam time.',
    'rules.set': 'Rule set in force',
    'rules.revision': 'Revision',
    'rules.loaded': 'Loaded at',
    'rules.reload': 'Last reload',
    'rules.reload.none': 'Not reloaded since the start.',
    'rules.reload.ok': 'Succeeded at {at}.',
    'rules.reload.bad': 'Refused at {at}: {error}. The previous rules stayed in force.',
    'rules.reload.where': 'in {file}, line {line}',
    'rules.coverage': 'Tested',
    'rules.coverage.text': '{rt} of {r} rules tested, {dt} of {d} duties tested',
    'rules.duties': 'Duties',
    'rules.duties.caption': 'Duties of the rule set',
    'rules.rules': 'Rules',
    'rules.rules.caption': 'Rules of the rule set',
    'col.title': 'Duty',
    'col.law': 'Legal source',
    'col.sev': 'Severity',
    'col.tested': 'Tested',
    'col.where': 'Source',
    'col.rule': 'Rule',
    'col.types': 'Reacts to',
    'tested.yes': 'Tested',
    'tested.no': 'Not tested',
        'rules.failed': 'The rules could not be loaded ({status}).',
    'source.title': 'Source: {file}',
    'source.lead': 'The text of this file as it is in the rule set of revision {revision}; read-only.',
    'source.back': 'Back to the rules',
    'source.label': 'Source code of {file}',
    'source.failed': 'The file could not be loaded ({status}).',
    'whatif.title': 'What would this change have done?',
    'whatif.lead': 'Choose a folder of changed rules (the whole rule folder, with its .lua files). Obligo then judges every recorded event '
      + 'again with those rules, changing nothing, and shows what would have been different: deadlines, alerts and registers.',
    'whatif.dir': 'Folder of rules',
    'whatif.submit': 'Compare',
    'whatif.officer': 'Only an administrator (a token of role admin) can try out a change of the rules. '
      + 'Ask your administrator to do so if you want to know what a change would mean.',
    'whatif.nofiles': 'This folder holds no rule files (.lua).',
    'whatif.busy': 'Comparing {n} files…',
    'whatif.failed': 'The comparison failed ({status}).',
    'whatif.summary': '{events} events judged again, from {from} to {to}: {n} differences.',
    'whatif.summary.one': '{events} events judged again, from {from} to {to}: 1 difference.',
    'whatif.same': '{events} events judged again, from {from} to {to}: the change would have done nothing else.',
    'whatif.counts': 'By kind: {counts}',
    'whatif.revisions': 'Revision now {recorded}, with the change {candidate}.',
    'whatif.json': 'The result as JSON (for the administrator)',
  },
});

const SEVERITIES = ['critical', 'warning', 'info'];

function severity(s) {
  if (!s) return tr('none');
  return h('span', { class: `severity ${SEVERITIES.includes(s) ? s : 'info'}` }, SEVERITIES.includes(s) ? tr(`severity.${s}`) : s);
}

function tested(ok) {
  return h('span', { class: ok ? 'tested yes' : 'tested no' }, tr(ok ? 'tested.yes' : 'tested.no'));
}

function sourceLink(file, line) {
  return h('a', { href: href('regels', 'bron', file, line) }, `${file}:${line}`);
}

function table(id, captionKey, cols) {
  return h('div', { class: 'table-wrap' }, h('table', { id },
    h('caption', { class: 'visually-hidden' }, tr(captionKey)),
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, tr(c))))), h('tbody')));
}

function dutyRow(d) {
  const row = h('tr');
  row.append(h('th', { scope: 'row', 'data-label': tr('col.title') }, h('span', { class: 'title' }, d.title || d.name),
    h('span', { class: 'source kind' }, d.name)));
  const law = cell(row, '', 'law', tr('col.law'));
  law.append(d.source_url ? h('a', { href: d.source_url, rel: 'noopener noreferrer', target: '_blank' }, d.source || d.source_url)
    : (d.source || tr('none')));
  cell(row, '', null, tr('col.sev')).append(severity(d.severity));
  cell(row, '', null, tr('col.tested')).append(tested(d.tested));
  cell(row, '', 'where', tr('col.where')).append(sourceLink(d.file, d.line));
  return row;
}

function ruleRow(r) {
  const row = h('tr');
  row.append(h('th', { scope: 'row', 'data-label': tr('col.rule') }, h('span', { class: 'title' }, r.title || r.name),
    h('span', { class: 'source kind' }, r.name)));
  cell(row, r.source || tr('none'), 'law', tr('col.law'));
  cell(row, (r.types || []).join(', ') || tr('none'), 'kind types', tr('col.types'));
  cell(row, '', null, tr('col.sev')).append(severity(r.severity));
  cell(row, '', null, tr('col.tested')).append(tested(r.tested));
  cell(row, '', 'where', tr('col.where')).append(sourceLink(r.file, r.line));
  return row;
}

function reloadText(lr) {
  const lang = state.lang;
  if (!lr) return tr('rules.reload.none');
  if (lr.ok) return tr('rules.reload.ok', { at: amsterdam(lang, lr.at) });
  const where = lr.file ? ` (${tr('rules.reload.where', { file: lr.file, line: lr.line ?? '?' })})` : '';
  return tr('rules.reload.bad', { at: amsterdam(lang, lr.at), error: `${lr.error || ''}${where}` });
}

function renderOverview(b) {
  const lang = state.lang, c = b.coverage || {};
  const lr = b.last_reload;
  $('rules-overview').replaceChildren(
    h('section', { class: 'card', 'aria-labelledby': 'rules-set-title' },
      h('h3', { id: 'rules-set-title' }, tr('rules.set')),
      h('dl', { class: 'facts' },
        h('dt', {}, tr('rules.revision')), h('dd', { class: 'kind', id: 'rules-revision' }, b.revision || tr('none')),
        h('dt', {}, tr('rules.loaded')), h('dd', {}, amsterdam(lang, b.loaded_at) || tr('none')),
        h('dt', {}, tr('rules.reload')), h('dd', { id: 'rules-reload', class: lr && !lr.ok ? 'error' : null }, reloadText(lr)),
        h('dt', {}, tr('rules.coverage')), h('dd', { id: 'rules-coverage' },
          tr('rules.coverage.text', { rt: c.rules_tested ?? 0, r: c.rules ?? 0, dt: c.duties_tested ?? 0, d: c.duties ?? 0 })))),
    h('h3', { id: 'rules-duties-title' }, tr('rules.duties')),
    table('rules-duties', 'rules.duties.caption', ['col.title', 'col.law', 'col.sev', 'col.tested', 'col.where']),
    h('h3', { id: 'rules-rules-title' }, tr('rules.rules')),
    table('rules-rules', 'rules.rules.caption', ['col.rule', 'col.law', 'col.types', 'col.sev', 'col.tested', 'col.where']),
    whatIf());
  $('rules-duties').tBodies[0].append(...(b.duties || []).map(dutyRow));
  $('rules-rules').tBodies[0].append(...(b.rules || []).map(ruleRow));
}

// ---- what if -------------------------------------------------------------------

function whatIf() {
  const admin = state.session?.role === 'admin';
  const box = h('section', { class: 'card whatif', 'aria-labelledby': 'whatif-title' },
    h('h3', { id: 'whatif-title' }, tr('whatif.title')));
  if (!admin) {
    box.append(h('p', { id: 'whatif-officer' }, tr('whatif.officer')));
    return box;
  }
  box.append(
    h('p', { class: 'lead' }, tr('whatif.lead')),
    h('form', { id: 'whatif-form', class: 'form', novalidate: true, onsubmit: replay },
      h('div', { class: 'field' }, h('label', { for: 'whatif-dir' }, tr('whatif.dir')),
        h('input', { id: 'whatif-dir', type: 'file', webkitdirectory: true, multiple: true })),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, tr('whatif.submit')))),
    h('p', { id: 'whatif-status', role: 'status' }),
    h('p', { id: 'whatif-error', class: 'error', role: 'alert' }),
    h('div', { id: 'whatif-result' }));
  return box;
}

async function replay(ev) {
  ev.preventDefault();
  $('whatif-error').textContent = '';
  $('whatif-result').replaceChildren();
  const files = [...$('whatif-dir').files].map((f) => [rulePath(f.webkitRelativePath || f.name), f]).filter(([p]) => p);
  if (!files.length) { $('whatif-error').textContent = tr('whatif.nofiles'); $('whatif-dir').focus(); return; }
  $('whatif-status').textContent = tr('whatif.busy', { n: files.length });
  const rules = {};
  for (const [p, f] of files) rules[p] = await f.text();
  const r = await api('/console/api/v1/replay', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ rules }),
  });
  $('whatif-status').textContent = '';
  if (failed([r], 'whatif-error', 'whatif.failed')) return;
  showReplay(r.body);
}

function showReplay(b) {
  const lang = state.lang, diffs = b.differences || [];
  const vars = { events: b.events ?? 0, from: amsterdam(lang, b.from), to: amsterdam(lang, b.to), n: diffs.length };
  $('whatif-result').replaceChildren(
    h('p', { id: 'whatif-summary', class: 'summary-strong' }, tr(diffs.length === 1 ? 'whatif.summary.one' : diffs.length ? 'whatif.summary' : 'whatif.same', vars)),
    diffs.length ? h('p', { id: 'whatif-counts' }, tr('whatif.counts', { counts: countsText(lang, b.counts || {}) })) : null,
    b.revisions ? h('p', { class: 'source' }, tr('whatif.revisions', {
      recorded: (b.revisions.recorded || []).join(', '), candidate: b.revisions.candidate })) : null,
    diffs.length ? h('ol', { id: 'whatif-diffs', class: 'event-decisions' }, diffs.map((d) => {
      const t = diffText(lang, d);
      return h('li', {}, h('span', { class: 'title' }, t.title), h('span', {}, t.now), h('span', {}, t.then),
        t.cause ? h('a', { class: 'source', href: href('gebeurtenis', d.cause.source, d.cause.id) }, t.cause) : null);
    })) : null,
    h('details', { class: 'json' }, h('summary', {}, tr('whatif.json')), h('pre', {}, JSON.stringify(b, null, 2))));
}

// ---- a file's source ------------------------------------------------------------

async function showSource(file, line) {
  const r = await api(`/console/api/v1/rules/source?${new URLSearchParams({ file })}`);
  if (failed([r], 'rules-error', 'source.failed')) return;
  const want = Number(line) || 0;
  const lines = String(r.body.text ?? '').split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const code = h('code', {}, lines.map((text, i) => h('span', { class: i + 1 === want ? 'line hl' : 'line', id: `src-L${i + 1}` },
    h('span', { class: 'ln', 'aria-hidden': 'true' }, String(i + 1)), `${text}\n`)));
  $('rules-source').replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: href('regels') }, tr('source.back'))),
    h('h3', { id: 'source-title' }, tr('source.title', { file: r.body.file || file })),
    h('p', { class: 'lead' }, tr('source.lead', { revision: r.body.revision || '' })),
    h('pre', { class: 'code', tabindex: '0', 'aria-label': tr('source.label', { file }) }, code));
  $(`src-L${want}`)?.scrollIntoView({ block: 'center' });
}

async function load(args) {
  $('rules-error').textContent = '';
  const source = args[0] === 'bron' && args[1];
  $('rules-overview').hidden = !!source;
  $('rules-source').hidden = !source;
  if (source) { await showSource(args[1], args[2]); return; }
  const r = await api('/console/api/v1/rules');
  if (failed([r], 'rules-error', 'rules.failed')) return;
  renderOverview(r.body);
}

function build(section) {
  section.append(
    h('h2', { id: 'regels-title', tabindex: '-1', 'data-i18n': 'rules.title' }, tr('rules.title')),
    h('p', { class: 'lead', 'data-i18n': 'rules.lead' }, tr('rules.lead')),
    h('p', { id: 'rules-error', class: 'error', role: 'alert' }),
    h('div', { id: 'rules-overview' }),
    h('div', { id: 'rules-source', hidden: true }));
}

definePage({ name: 'regels', title: 'rules.title', nav: true, load, build });
