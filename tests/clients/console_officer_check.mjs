// The officer's acts in the web console, in Debian's headless Chromium
// against a real `obligo serve` started by tests/e2e/test_console.c
// (chromium_drives_the_officers_acts) on its officer journal: more than 50
// open deadlines and alerts, a log review that left nen7513.review_logs
// open, the alert on C-42.
//   node console_officer_check.mjs BASE SHOTS_DIR RULES_DIR
// with OBLIGO_TOKENS={"noted" (an officer's, its note "FG Jansen"), "admin", ...}. What the
// pages must show is read from the server's own unpaged API, never from the
// console's code. Prints each check, then "all checks passed"; exits 1 at
// the first failure.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, signIn } from './console_browser.mjs';

const [base, shots, rules] = process.argv.slice(2);
const tokens = JSON.parse(process.env.OBLIGO_TOKENS);
const T = 20000;

await run(base, shots, async ({ page, check, axe, shot }) => {
  const get = (path) => page.evaluate(async (p) => {
    const r = await fetch(p);
    return { status: r.status, body: await r.json() };
  }, path);
  const settled = (id) => page.waitForSelector(`#${id}[aria-busy="false"]`, { state: 'attached', timeout: T });
  // clicks "Meer tonen" until it is gone; the ids of the rows shown
  async function all(table, more, prefix, section) {
    for (let i = 0; i < 100 && await page.isVisible(more); i++) {
      const before = await page.locator(`#${table} tbody tr`).count();
      await page.click(more);
      await settled(section);
      check(await page.locator(`#${table} tbody tr`).count() > before, `"Meer tonen" added rows to ${table}`);
    }
    return page.$$eval(`#${table} tbody th[id^="${prefix}"]`, (ths, p) => ths.map((th) => th.id.slice(p.length)), prefix);
  }

  const asked = [];
  page.on('request', (r) => { if (r.url().includes('/console/api/v1/')) asked.push(decodeURIComponent(r.url())); });
  await signIn(page, base, tokens.noted);
  const session = await get('/console/session');
  check(session.body.note === 'FG Jansen' && typeof session.body.source === 'string',
    `the session names its note and source (${session.body.source})`);

  // ---- Termijnen: 50 at a time, by due time, all of them without duplicates
  await page.waitForSelector('#deadlines tbody tr', { timeout: T });
  await settled('termijnen');
  check(await page.locator('#deadlines tbody tr').count() === 50, 'Termijnen: the first page holds 50 deadlines');
  check(await page.isVisible('#deadlines-more'), 'and offers "Meer tonen"');
  const [open, overdue] = [await get('/console/api/v1/obligations?status=open&limit=10000'),
    await get('/console/api/v1/obligations?status=overdue&limit=10000')];
  const want = [...open.body, ...overdue.body];
  const shown = await all('deadlines', '#deadlines-more', 'deadline-', 'termijnen');
  check(shown.length === want.length && new Set(shown).size === shown.length,
    `"Meer tonen" loads the rest: ${shown.length} of ${want.length}, no duplicates`);
  check(want.every((o) => shown.includes(String(o.id))), 'every open or overdue deadline is shown');
  const due = new Map(want.map((o) => [String(o.id), Date.parse(o.due_at)]));
  check(shown.every((id, i) => i === 0 || due.get(shown[i - 1]) <= due.get(id)), 'in the order of their due time');
  check(!(await page.isVisible('#deadlines-more')), 'then no more "Meer tonen"');
  check(asked.some((u) => u.includes('obligations?order=due&status=open,overdue&limit=50&after_due=')),
    'the server sorts and pages: order=due, then after_due and after');

  // ---- the event that opened a deadline, and its decisions
  const notify = want.find((o) => o.kind === 'avg.notify_ap' && o.subject === 'DL-2026-7');
  await page.click(`#deadline-${notify.id} ~ td.cause a`);
  await page.waitForSelector('#gebeurtenis:not([hidden]) #event-body dl', { timeout: T });
  check(page.url().includes('#gebeurtenis/urn%3Apraktijk/b1'), `the link opens #gebeurtenis/SOURCE/ID (${page.url()})`);
  const ev = await page.textContent('#event-body');
  check(ev.includes('Datalek ontdekt en intern gemeld'), 'the event\'s type in Dutch words');
  check(ev.includes('urn:praktijk') && ev.includes('DL-2026-7') && ev.includes('USB-stick kwijt'), 'its source and data');
  check(ev.includes('ma 8 jun 2026, 09:00 CEST'), 'its time in Amsterdam time');
  const decisions = await page.locator('#event-body .event-decisions li').allTextContents();
  check(decisions.some((d) => d.includes('Termijn geopend: “Datalek melden bij de Autoriteit Persoonsgegevens” (avg.notify_ap) voor DL-2026-7')),
    `the decisions it caused, in words (${decisions.length})`);
  check(await page.evaluate(() => document.activeElement?.id) === 'gebeurtenis-title', 'focus on the page heading');
  await shot('gebeurtenis');
  await axe(page, 'Gebeurtenis');
  await page.click('#gebeurtenis .crumbs a');
  await page.waitForSelector('#termijnen:not([hidden])', { timeout: T });

  // ---- Signalen: paged, then one acknowledged with a note
  await page.click('#nav-signalen');
  await page.waitForSelector('#signalen:not([hidden]) #alerts tbody tr', { timeout: T });
  await settled('signalen');
  check(await page.locator('#alerts tbody tr').count() === 50, 'Signalen: the first page holds 50 alerts');
  const alerts = (await get('/console/api/v1/alerts?limit=10000')).body;
  const ids = await all('alerts', '#alerts-more', 'alert-', 'signalen');
  check(ids.length === alerts.length && new Set(ids).size === ids.length && alerts.every((a) => ids.includes(String(a.id))),
    `"Meer tonen" loads every alert once (${ids.length} of ${alerts.length})`);
  check(asked.some((u) => u.includes('alerts?order=newest&limit=50&before=')), 'the server pages the alerts: order=newest, then before');
  const c42 = alerts.find((a) => a.subject === 'C-42');
  const button = `#ack-${c42.id}`;
  check((await page.textContent(`#alert-${c42.id} ~ td.ack`)).includes('Nog niet afgehandeld'), 'C-42: not acknowledged yet');
  await page.focus(button);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#ack-dialog[open]', { timeout: T });
  check(await page.evaluate(() => document.activeElement?.id) === 'ack-note', 'the dialog opens with the focus on the note');
  check((await page.getAttribute('#ack-dialog', 'aria-labelledby')) === 'ack-title', 'the dialog is labelled by its heading');
  check((await page.textContent('#ack-by')) === 'FG Jansen', 'it says who acknowledges: the token\'s note');
  // the viewport, not the whole page: the dialog over the list of 77 alerts
  await page.screenshot({ path: join(shots, 'console-signalen-afhandelen.png') });
  await axe(page, 'the dialog');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#ack-dialog:not([open])', { state: 'attached', timeout: T });
  check(await page.evaluate(() => document.activeElement?.id) === `ack-${c42.id}`, 'Escape closes it, focus back on its button');
  await page.click(button);
  await page.waitForSelector('#ack-dialog[open]', { timeout: T });
  await page.click('#ack-submit');
  await page.waitForFunction(() => document.querySelector('#ack-note-error').textContent !== '', null, { timeout: T });
  check((await page.textContent('#ack-note-error')).includes('Vul een toelichting in'), 'without a note: refused, said why');
  check((await page.getAttribute('#ack-note', 'aria-invalid')) === 'true', 'the note is marked invalid');
  await page.fill('#ack-note', 'Besproken met U7: waarneming voor collega, behandelrelatie alsnog vastgelegd.');
  const posted = page.waitForRequest((r) => r.url().endsWith('/console/api/v1/events') && r.method() === 'POST', { timeout: T });
  await page.click('#ack-submit');
  const sent = JSON.parse((await posted).postData());
  await page.waitForSelector('#ack-dialog:not([open])', { state: 'attached', timeout: T });
  const ackText = await page.textContent(`#alert-${c42.id} ~ td.ack`);
  check(/Afgehandeld door FG Jansen op .*2026/.test(ackText), `the row says so: "${ackText.trim().slice(0, 60)}…"`);
  check((await page.textContent('#alerts-status')).includes('Afhandeling vastgelegd'), 'and it is announced');
  const journaled = await get(`/console/api/v1/events?source=${encodeURIComponent(sent.source)}&id=${encodeURIComponent(sent.id)}`);
  const jd = journaled.body.event?.data || {};
  check(journaled.status === 200 && journaled.body.event.type === 'nl.obligo.alert.acknowledged' && jd.by === 'FG Jansen' &&
    jd.note.startsWith('Besproken met U7') && jd.alert_id === String(c42.id) && sent.source === session.body.source,
  'the journal holds the acknowledgement with by and note');
  check(journaled.body.decisions.some((d) => d.op === 'register' && d.register === 'signalen' && d.key === String(c42.id)),
    'and it was written to the register signalen');
  await page.reload();
  await page.waitForSelector('#signalen:not([hidden]) #alerts tbody tr', { timeout: T });
  await settled('signalen');
  await page.selectOption('#f-ack', '1');
  await settled('signalen');
  const acked = await page.locator('#alerts tbody tr').count();
  check(acked === 1 && (await page.textContent('#alerts tbody tr td.ack')).includes('FG Jansen'),
    'after a reload the server says it is acknowledged; the filter "Afgehandeld" shows just that one');
  await page.selectOption('#f-ack', '');
  await settled('signalen');

  // ---- the monthly log review closes nen7513.review_logs
  await page.click('#nav-logcontrole');
  await page.waitForSelector('#logcontrole:not([hidden]) #review-form', { timeout: T });
  await page.waitForFunction(() => document.querySelector('#review-open').textContent !== '', null, { timeout: T });
  check(await page.inputValue('#review-start') === '2026-05-01' && await page.inputValue('#review-end') === '2026-05-31',
    'the period defaults to last month (May 2026 on the engine\'s clock)');
  check(await page.inputValue('#review-reviewer') === 'FG Jansen', 'the reviewer defaults to the session\'s note');
  const running = await page.textContent('#review-open');
  // a month after 14 May is Sunday 14 June, which rolls to Monday (Algemene termijnenwet)
  check(running.includes('ma 15 jun 2026, 23:59 CEST'), `the running deadline is shown: "${running}"`);
  await axe(page, 'Logcontrole');
  await page.fill('#review-reviewer', '');
  await page.click('#review-form button[type="submit"]');
  await page.waitForFunction(() => document.querySelector('#review-reviewer-error').textContent !== '', null, { timeout: T });
  check(await page.evaluate(() => document.activeElement?.id) === 'review-reviewer', 'no reviewer: refused, the focus on that field');
  await page.fill('#review-reviewer', 'FG Jansen');
  await page.fill('#review-findings', 'Inzage C-42 zonder behandelrelatie besproken\nGeen verdere bijzonderheden');
  const reviewPosted = page.waitForRequest((r) => r.url().endsWith('/console/api/v1/events') && r.method() === 'POST', { timeout: T });
  await page.click('#review-form button[type="submit"]');
  const review = JSON.parse((await reviewPosted).postData());
  await page.waitForFunction(() => document.querySelector('#review-closed').textContent.includes('gesloten'), null, { timeout: T });
  check(review.type === 'nl.nen7513.review' && review.data.findings.length === 2, 'recorded as nl.nen7513.review with two findings');
  const duty = (await get('/console/api/v1/obligations?kind=nen7513.review_logs&limit=1000')).body;
  const closed = duty.find((o) => o.closed_by?.id === review.id);
  check(closed && closed.status === 'fulfilled' && duty.some((o) => o.status === 'open'),
    'the review closed nen7513.review_logs (fulfilled) and the next one is open');
  const said = await page.textContent('#review-closed');
  check(said.includes('1 mei 2026 tot en met 31 mei 2026') && said.includes('tot ma 15 jun 2026') && said.includes('op tijd voldaan'),
    'the page says the deadline of 15 June is closed, on time');
  check((await page.textContent('#review-open')).includes('di 30 jun 2026'), 'and the next one is due 30 June');
  await shot('logcontrole');
  await axe(page, 'Logcontrole (recorded)');

  // ---- Regels: duties with titles and sources, coverage, a rule's source
  await page.click('#nav-regels');
  await page.waitForSelector('#regels:not([hidden]) #rules-duties tbody tr', { timeout: T });
  const rulesApi = (await get('/console/api/v1/rules')).body;
  const cov = rulesApi.coverage;
  check((await page.textContent('#rules-coverage')).includes(`${cov.rules_tested} van ${cov.rules} regels getest`),
    `coverage "${cov.rules_tested} van ${cov.rules} regels getest"`);
  check((await page.textContent('#rules-revision')) === rulesApi.revision, 'the revision in force');
  check(await page.locator('#rules-duties tbody tr').count() === rulesApi.duties.length, `every duty (${rulesApi.duties.length})`);
  const ap = page.locator('#rules-duties tbody tr', { hasText: 'Datalek melden bij de Autoriteit Persoonsgegevens' });
  check(await ap.count() === 1, 'the duty by its Dutch title');
  const law = ap.locator('td.law a');
  const apDuty = rulesApi.duties.find((d) => d.name === 'avg.notify_ap');
  if (apDuty.source_url) {
    check((await law.getAttribute('href')) === apDuty.source_url && (await law.getAttribute('rel')) === 'noopener noreferrer',
      `its legal source links to the law (${apDuty.source_url})`);
  }
  check(await page.locator('#rules-rules tbody tr').count() === rulesApi.rules.length, `every rule (${rulesApi.rules.length})`);
  check(await page.isVisible('#whatif-officer') && await page.locator('#whatif-dir').count() === 0,
    'an officer sees why what-if is not for them, and no form');
  await shot('regels');
  await axe(page, 'Regels');
  await page.setViewportSize({ width: 768, height: 1024 });
  await axe(page, 'Regels (tablet)');
  await page.setViewportSize({ width: 1280, height: 800 });
  const rule = rulesApi.rules.find((r) => r.name === 'nen7513.review');
  await page.click(`#rules-rules a[href="#regels/bron/${encodeURIComponent(rule.file)}/${rule.line}"]`);
  await page.waitForSelector('#rules-source:not([hidden]) pre.code', { timeout: T });
  const hl = await page.textContent('pre.code .line.hl');
  check(hl.includes('rule "nen7513.review"'), `the rule's line ${rule.line} is marked: "${hl.trim()}"`);
  const text = (await get(`/console/api/v1/rules/source?file=${encodeURIComponent(rule.file)}`)).body.text;
  check(await page.locator('pre.code .line').count() === text.replace(/\n$/, '').split('\n').length, 'the whole file, line by line');
  await shot('regels-bron');
  await axe(page, 'Regels (bron)');

  // a state-changing request without the CSRF token is still refused
  const noCsrf = await page.evaluate(async () => (await fetch('/console/api/v1/events', {
    method: 'POST', headers: { 'Content-Type': 'application/cloudevents+json' }, body: '{}' })).status);
  check(noCsrf === 403, 'POST /console/api/v1/events without X-CSRF-Token: 403');

  await page.click('#signout');
  await page.waitForSelector('#signin:not([hidden])', { timeout: T });
  check((await get('/console/api/v1/rules')).status === 401, 'signed out: 401');

  // ---- what-if as admin: a changed rule directory
  const cand = mkdtempSync(join(tmpdir(), 'obligo-cand-'));
  try {
    const dir = join(cand, 'regels');
    cpSync(rules, dir, { recursive: true });
    const file = join(dir, 'nen7513', 'access.lua');
    const src = readFileSync(file, 'utf8');
    const changed = src.replace('d.treatment_relation == false and', 'd.treatment_relation == false and d.action ~= "read" and');
    check(changed !== src, 'the candidate: reading a record without a treatment relation no longer raises an alert');
    writeFileSync(file, changed);
    await signIn(page, base, tokens.admin);
    await page.goto(`${base}/console/#regels`);
    await page.waitForSelector('#regels:not([hidden]) #whatif-dir', { timeout: T });
    await page.setInputFiles('#whatif-dir', dir);
    await page.click('#whatif-form button[type="submit"]');
    await page.waitForSelector('#whatif-summary, #whatif-error:not(:empty)', { timeout: 60000 });
    const err = await page.textContent('#whatif-error');
    check(err === '', `the replay answered (${err})`);
    const diffs = await page.locator('#whatif-diffs li').allTextContents();
    check(diffs.some((d) => d.includes('Signaal nen7513.no_treatment_relation over C-42 zou niet worden gegeven')),
      `what-if shows ${diffs.length} difference(s), among them the alert on C-42 in words`);
    check((await page.textContent('#whatif-summary')).includes('gebeurtenissen opnieuw beoordeeld'), 'with a summary in words');
    // the what-if part only: it comes after every duty and rule
    await page.locator('.whatif').screenshot({ path: join(shots, 'console-regels-wat-als.png') });
    await axe(page, 'Regels (wat als)');
  } finally {
    rmSync(cand, { recursive: true, force: true });
  }
});
