// Drives the web console in Debian's headless Chromium (playwright-core,
// never a downloaded browser) against a real `obligo serve` started by
// tests/e2e/test_console.c, whose database holds one known deadline, two
// alerts and two breaches:
//   node console_check.mjs BASE SHOTS_DIR
// with OBLIGO_TOKENS={"ingest","officer"} and OBLIGO_EXPECT={"title",
// "source","countdown","countdown_en","due","alert","late_alert","breach",
// "late_breach"}. Prints each check, then "all
// checks passed"; exits 1 at the first failure.
import { run } from './console_browser.mjs';

const [base, shots] = process.argv.slice(2);
const tokens = JSON.parse(process.env.OBLIGO_TOKENS);
const expect = JSON.parse(process.env.OBLIGO_EXPECT);

await run(base, shots, async ({ page, check, axe, shot }) => {
  // the filters ask the server again: wait until the page has its answer
  const settled = (id) => page.waitForSelector(`#${id}[aria-busy="false"]`, { state: 'attached' });
  const res = await page.goto(`${base}/console/`);
  check(res.status() === 200, 'GET /console/ answers 200');
  check((res.headers()['content-security-policy'] || '').includes("script-src 'self'"), 'a strict CSP on the page');
  await page.waitForSelector('body.ready');
  check(await page.isVisible('#signin'), 'the sign-in form is shown');
  check((await page.textContent('#signin-title')) === 'Inloggen', 'Dutch by default');
  await shot('inloggen');
  await axe(page, 'Inloggen');

  await page.fill('#token', tokens.ingest);
  await page.press('#token', 'Enter');
  await page.waitForFunction(() => document.querySelector('#signin-error').textContent !== '');
  check((await page.textContent('#signin-error')).includes('ingest-token kan niet inloggen'), 'an ingest token is refused, in Dutch');
  check(await page.isVisible('#signin'), 'still signed out');

  // keyboard only: focus the token field, type, Enter
  await page.focus('#token');
  await page.keyboard.type(tokens.officer);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#deadlines tbody tr');
  const row = page.locator('#deadlines tbody tr', { hasText: expect.title });
  check(await row.count() === 1, `the known deadline is listed with its Dutch title "${expect.title}"`);
  check((await row.locator('.source').textContent()).includes(expect.source), `with its legal source "${expect.source}"`);
  const cd = (await row.locator('td.countdown').textContent()).trim();
  check(cd === expect.countdown, `its countdown reads "${expect.countdown}" (was "${cd}")`);
  check((await row.textContent()).includes(expect.due), `due_at shown in Amsterdam time "${expect.due}"`);
  check(!(await page.context().cookies()).some((c) => !c.httpOnly), 'the session cookie is HttpOnly');
  check(await page.evaluate(() => document.cookie) === '', 'no script can read the session cookie');
  await shot('termijnen');
  await axe(page, 'Termijnen');

  // filters
  await page.fill('#f-within', '1');
  await settled('termijnen');
  check(await page.locator('#deadlines tbody tr').count() === 0, 'within 1 day: the deadline (in 2 days) is filtered out');
  await page.fill('#f-within', '3');
  await settled('termijnen');
  check(await row.count() === 1, 'within 3 days: it is back');
  await page.selectOption('#f-status', 'overdue');
  await settled('termijnen');
  check(await row.count() === 0, 'status overdue: not listed');
  await page.selectOption('#f-status', 'open,overdue');
  await settled('termijnen');
  await page.selectOption('#f-duty', expect.kind);
  await settled('termijnen');
  check(await row.count() === 1, 'filtered by its duty: listed');
  await page.fill('#f-within', '');
  await settled('termijnen');

  // Signalen, reached by keyboard from the navigation: newest first
  await page.focus('#nav-signalen');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#alerts tbody tr');
  check(await page.isVisible('#signalen') && !(await page.isVisible('#termijnen')), 'Signalen opened by keyboard from the navigation');
  check(await page.evaluate(() => document.activeElement?.id) === 'signalen-title', 'focus moves to the page heading');
  check((await page.getAttribute('#nav-signalen', 'aria-current')) === 'page', 'the navigation marks Signalen as the current page');
  check((await page.title()) === 'Obligo — Signalen', 'the document title names the page');
  const alerts = page.locator('#alerts tbody tr');
  check(await alerts.count() === 6, `all six alerts are listed (${await alerts.count()})`);
  const al = expect.alert, la = expect.late_alert;
  check((await alerts.nth(0).locator('td.subject').textContent()) === al.subject, `newest first: ${al.subject} before ${la.subject}`);
  const arow = alerts.nth(0);
  check((await arow.locator('.severity').textContent()) === al.severity, `its severity in words: "${al.severity}"`);
  check((await arow.locator('td.kind').textContent()) === al.kind, `its kind "${al.kind}"`);
  check((await arow.locator('td.at').textContent()) === al.at, `its time in Amsterdam time "${al.at}"`);
  check((await arow.locator('td.message').textContent()).includes('zonder behandelrelatie'), 'its message');
  const lrow = page.locator('#alerts tbody tr', { hasText: la.kind });
  check((await lrow.locator('.severity').textContent()) === la.severity && (await lrow.locator('td.kind').textContent()) === la.kind,
    `the late notification: "${la.severity}", ${la.kind}`);
  const kinds = await page.$$eval('#f-kind option', (os) => os.map((o) => o.value));
  check(JSON.stringify(kinds) === JSON.stringify(['', la.kind, al.kind, 'obligo.obligation_overdue', 'obligo.obligation_reminder']),
    `the kind filter offers the kinds present (${kinds.join(', ')})`);
  await shot('signalen');
  await axe(page, 'Signalen');
  await page.selectOption('#f-severity', 'critical');
  await settled('signalen');
  const sevs = await alerts.locator('.severity').allTextContents();
  check(sevs.length === 2 && sevs.every((x) => x === la.severity) && await lrow.count() === 1,
    `severity ${la.severity}: the late notification and the overdue deadline (${sevs.join(', ')})`);
  await page.selectOption('#f-severity', '');
  await settled('signalen');
  await page.selectOption('#f-kind', al.kind);
  await settled('signalen');
  check(await alerts.count() === 1 && (await alerts.nth(0).locator('td.subject').textContent()) === al.subject,
    `kind ${al.kind}: only that alert`);
  await page.selectOption('#f-severity', 'info');
  await settled('signalen');
  check(await alerts.count() === 0 && (await page.textContent('#alerts-summary')).includes('Geen signalen'), 'no info alerts: said so');
  await page.selectOption('#f-severity', '');
  await settled('signalen');
  await page.selectOption('#f-kind', '');
  await settled('signalen');

  // Datalekken: the register with each breach's AP deadline
  await page.click('#nav-datalekken');
  await page.waitForSelector('#breaches tbody tr');
  check((await page.textContent('#datalekken-title')) === 'Datalekkenregister', 'Datalekken opened: the Datalekkenregister');
  const br = expect.breach, lb = expect.late_breach;
  const breaches = page.locator('#breaches tbody tr');
  check(await breaches.count() === 2, 'both breaches are listed');
  const brow = page.locator('#breaches tbody tr', { hasText: br.key });
  check((await breaches.nth(0).locator('th .title').textContent()) === br.key, `the one changed last first: ${br.key}`);
  check((await brow.locator('td.breach-status').textContent()) === br.status, `its status "${br.status}"`);
  check((await brow.textContent()).includes(br.aware), `aware_at in Amsterdam time "${br.aware}"`);
  const bcd = (await brow.locator('td.countdown').textContent()).trim();
  check(bcd === br.countdown, `its AP deadline counts down: "${br.countdown}" (was "${bcd}")`);
  const lrow2 = page.locator('#breaches tbody tr', { hasText: lb.key });
  check((await lrow2.locator('td.breach-status').textContent()) === lb.status, `${lb.key}: status "${lb.status}"`);
  check((await lrow2.locator('td.ap').textContent()) === lb.ap, `${lb.key}: "${lb.ap}", no countdown`);
  check((await page.textContent('#breaches-summary')).includes('waarvan 1 nog te melden'), 'the summary counts the one still to notify');
  await shot('datalekken');
  await axe(page, 'Datalekken');
  await page.setViewportSize({ width: 700, height: 1000 });
  await shot('datalekken-tablet');
  await axe(page, 'Datalekken (narrow)');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.click('#nav-termijnen');
  await page.waitForSelector('#termijnen:not([hidden]) #deadlines tbody tr');

  // a state-changing request without the CSRF token is refused
  const noCsrf = await page.evaluate(async () => (await fetch('/console/session', { method: 'DELETE' })).status);
  check(noCsrf === 403, 'DELETE /console/session without X-CSRF-Token: 403');
  const post = await page.evaluate(async () => (await fetch('/console/api/v1/events', {
    method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: '{}\n' })).status);
  check(post === 403, 'POST /console/api/v1/events without X-CSRF-Token: 403');

  // English, kept across a reload
  await page.selectOption('#lang', 'en');
  await page.waitForFunction((t) => document.querySelector('#termijnen-title').textContent === t, 'Deadlines');
  await page.reload();
  await page.waitForSelector('#deadlines tbody tr');
  check((await page.textContent('#termijnen-title')) === 'Deadlines', 'English chosen and kept after a reload');
  const cdEn = (await row.locator('td.countdown').textContent()).trim();
  check(cdEn === expect.countdown_en, `the countdown in English: "${expect.countdown_en}" (was "${cdEn}")`);
  await page.selectOption('#lang', 'nl');
  await page.waitForFunction(() => document.querySelector('#termijnen-title').textContent === 'Termijnen');

  // a tablet in portrait: rows become cards
  await page.setViewportSize({ width: 768, height: 1024 });
  await shot('termijnen-tablet');
  await page.setViewportSize({ width: 700, height: 1000 });
  await axe(page, 'Termijnen (narrow)');
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.click('#signout');
  await page.waitForSelector('#signin:not([hidden])');
  const after = await page.evaluate(async () => (await fetch('/console/api/v1/obligations')).status);
  check(after === 401, 'signed out: the API under /console/api/ answers 401');
});
