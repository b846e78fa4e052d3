// console_browser.mjs — what every browser check of the console shares:
// Debian's headless Chromium through playwright-core (never a downloaded
// browser) with a fresh profile, check(), the axe-core accessibility
// check, and the run wrapper that prints "all checks passed" or the first
// failure and sets the exit code. Each console_*_check.mjs script is
//   run(base, async ({ page, check, axe, shot }) => { ... })
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export function check(ok, what) {
  if (!ok) throw new Error(`FAILED: ${what}`);
  console.log(`ok: ${what}`);
}

// no serious or critical WCAG 2.1 AA (or best-practice) violation on the page as it is now
export async function axe(page, name) {
  // evaluated through the DevTools protocol, which the page's CSP does not govern
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(axeSource);
  const result = await page.evaluate(async () => await globalThis.axe.run(document, {
    runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
  }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) console.log(`axe ${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`);
  check(bad.length === 0, `axe-core: no serious or critical violations on ${name} (${result.violations.length} minor)`);
}

// Signs in through the form with token and waits for the first page.
export async function signIn(page, base, token) {
  await page.goto(`${base}/console/`);
  await page.waitForSelector('body.ready');
  await page.fill('#token', token);
  await page.press('#token', 'Enter');
  await page.waitForSelector('#signin[hidden]', { state: 'attached' });
}

// Runs body({page, context, check, axe, shot, external, consoleErrors})
// in a fresh browser whose zone is not Amsterdam's (the console must show
// Amsterdam time whatever the browser's zone); exits 0 when every check
// passed, 1 at the first failure. Afterwards it checks that nothing was
// fetched from elsewhere and no CSP violation was reported.
export async function run(base, shots, body) {
  const userData = mkdtempSync(join(tmpdir(), 'obligo-chromium-'));
  const context = await chromium.launchPersistentContext(userData, {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
    timezoneId: 'America/New_York',
    acceptDownloads: true,
  });
  const external = [], consoleErrors = [];
  let failed = false;
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('request', (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    const shot = (name) => page.screenshot({ path: join(shots, `console-${name}.png`), fullPage: true });
    await body({ page, context, check, axe, shot, external, consoleErrors });
    check(external.length === 0, `nothing fetched from elsewhere (${external.join(', ')})`);
    check(!consoleErrors.some((e) => e.includes('Content Security Policy')), 'no CSP violations');
    console.log('all checks passed');
  } catch (e) {
    console.log(e.message);
    failed = true;
  } finally {
    await context.close();
    rmSync(userData, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}
