// Walks the practice's breach scheme through the console as an officer
// would, in Debian's headless Chromium, against the real `obligo serve`
// of tests/e2e/test_console.c (engine time started at Tue 2026-06-09
// 06:50 Amsterdam):
//   node console_breach_check.mjs BASE SHOTS_DIR [broken]
// with OBLIGO_TOKENS={"ingest","officer"} and OBLIGO_EXPECT={"countdown","due",
// "complete_countdown","title"} worked out by hand in the C test; with
// "broken", OBLIGO_EXPECT={"key","chain"}: a breach whose register version
// the C test altered, and the words its page must name the break in.
// The guided form's four steps (validation errors next to their fields,
// focus on each step's heading), the breach id and the 72-hour countdown
// at once, the countdown on the breach's page and on Termijnen, each
// step's event in the journal with the session's source and the decisions
// it caused, the chain verified, every question of the AP form, its print
// rendering, the JSON and CSV downloads; axe-core on every page and step.
import { readFileSync } from 'node:fs';
import { run, signIn } from './console_browser.mjs';

const [base, shots, mode] = process.argv.slice(2);
const tokens = JSON.parse(process.env.OBLIGO_TOKENS);
const expect = JSON.parse(process.env.OBLIGO_EXPECT);
const T = { timeout: 20000 };

// RFC 4180 rows (quoted cells may hold commas, quotes and line breaks)
function csvRows(text) {
  const rows = [];
  let row = [], cell = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

const get = (page, path) => page.evaluate(async (p) => {
  const r = await fetch(p, { headers: { Accept: 'application/json' } });
  return { status: r.status, body: await r.json().catch(() => null) };
}, path);

const MESSAGE = [
  'Wat is er gebeurd:', 'Een USB-stick met gegevens van cliënten is kwijtgeraakt.',
  'Wat dit voor u kan betekenen:', 'Anderen kunnen uw gezondheidsgegevens hebben gezien.',
  'Wat wij hebben gedaan:', 'Wij hebben de Autoriteit Persoonsgegevens ingelicht.',
  'Wat wij u aanraden:', 'Wees alert op e-mails die om uw gegevens vragen.',
  'Waar u meer informatie krijgt:', 'autoriteitpersoonsgegevens.nl',
].join('\n');

// the breach page of a register altered after the fact
async function brokenChain({ page, check, axe, shot }) {
  await signIn(page, base, tokens.officer);
  await page.goto(`${base}/console/#datalek/${encodeURIComponent(expect.key)}`);
  await page.waitForSelector('#datalek:not([hidden]) #breach-chain', T);
  const chain = await page.textContent('#breach-chain');
  check(chain.includes(expect.chain), `the break named: "${chain.trim()}"`);
  check((await page.getAttribute('#breach-chain', 'role')) === 'alert', 'as an alert (role=alert)');
  check(!chain.includes('klopt ('), 'not said to be verified');
  check((await page.textContent('#datalek-next')) === 'Bekijk de registratie of sluit af (stap 4)', 'notified late, nothing open: the next step is to register');
  const bad = page.locator('#breach-versions tbody tr', { hasText: 'klopt niet' });
  check(await bad.count() === 1, 'the altered version is the one marked "klopt niet"');
  await shot('datalek-keten-verbroken');
  await axe(page, 'Datalek met verbroken keten');
}

await run(base, shots, async (ctx) => (mode === 'broken' ? brokenChain(ctx) : walk(ctx)));

async function walk({ page, check, axe, shot }) {
  await signIn(page, base, tokens.officer);
  const session = (await get(page, '/console/session')).body;
  check(typeof session.source === 'string' && session.source.startsWith('urn:obligo:console:'), `the session names its source (${session.source})`);

  // from the register: the prominent "Datalek melden"
  await page.click('#nav-datalekken');
  await page.waitForSelector('#breaches tbody tr');
  check(await page.isVisible('#breaches-report'), 'the register offers "Datalek melden" at the top');
  check((await page.textContent('#breaches-report')) === 'Datalek melden', 'in Dutch');
  check((await page.getAttribute('#breaches tbody tr th a', 'href')).startsWith('#datalek/'), "each breach's key links to its page");
  await page.click('#breaches-report');
  await page.waitForSelector('#melden:not([hidden]) #report-form-1', T);
  check((await page.textContent('#report-step-title')).includes('Stap 1 van 4'), 'the stepper says "Stap 1 van 4"');
  check((await page.textContent('#report-step-title')).includes('Is het een datalek?'), 'step 1 is the scheme\'s "Is het een datalek?"');
  check((await page.$$eval('#report-steps li', (ls) => ls.map((l) => l.textContent))).join('|').includes('Registreren'), 'the four steps are shown');
  const causes = await page.$$eval('#f-cause label', (ls) => ls.map((l) => l.textContent).join(' | '));
  for (const ex of ['UZI-pas met pincode', 'hacker', 'Diefstal van dossiers', 'Fout van een medewerker', 'gegevensverwerker']) {
    check(causes.includes(ex), `the scheme's example "${ex}" is a cause to choose`);
  }
  check(/^2026-06-09T0[67]:\d\d$/.test(await page.inputValue('#f-aware_at')), `aware_at defaults to now on Amsterdam's clock (${await page.inputValue('#f-aware_at')})`);
  // English, what is typed kept
  await page.fill('#f-description', 'USB-stick');
  await page.selectOption('#lang', 'en');
  await page.waitForFunction(() => document.querySelector('#report-step-title').textContent.includes('Step 1 of 4'));
  check((await page.textContent('#report-step-title')).includes('Is it a data breach?'), 'in English: "Step 1 of 4 Is it a data breach?"');
  check((await page.textContent('#f-cause')).includes('UZI pass lost with its PIN'), 'the causes in English');
  check(await page.inputValue('#f-description') === 'USB-stick', 'what was typed is kept across the change of language');
  await page.selectOption('#lang', 'nl');
  await page.waitForFunction(() => document.querySelector('#report-step-title').textContent.includes('Stap 1 van 4'));
  await page.fill('#f-description', '');
  await shot('melden-stap1');
  await axe(page, 'Datalek melden, stap 1');
  await page.setViewportSize({ width: 768, height: 1024 });
  await shot('melden-tablet');
  await axe(page, 'Datalek melden (tablet)');
  await page.setViewportSize({ width: 1280, height: 800 });

  // an empty required field: the error next to it, announced, focused
  await page.fill('#f-aware_at', '');
  await page.click('#report-next-1');
  await page.waitForFunction(() => document.querySelector('#f-description-error').textContent !== '');
  check((await page.textContent('#f-description-error')) === 'Vul dit in.', 'an empty description: "Vul dit in." next to the field');
  check((await page.getAttribute('#f-description', 'aria-invalid')) === 'true', 'the field is marked invalid');
  check((await page.getAttribute('#f-description', 'aria-describedby')).includes('f-description-error'), 'and described by its error');
  check((await page.textContent('#f-aware_at-error')) === 'Vul dit in.', 'an empty aware_at: its error');
  check((await page.textContent('#report-form-1 .error-summary')).includes('Nog niet alles is goed ingevuld'), 'a summary in a role=alert');
  check(await page.evaluate(() => document.activeElement.id) === 'f-description', 'the first invalid field has the focus');
  check(await page.isVisible('#report-form-1'), 'still at step 1: nothing recorded');
  await shot('melden-fouten');
  await axe(page, 'Datalek melden, fouten');

  // step 1, filled in
  await page.fill('#f-description', 'USB-stick met cliëntgegevens kwijt in de trein');
  await page.fill('#f-aware_at', '2026-06-09T06:30');
  check((await page.textContent('#f-aware_at-echo')) === 'Vastgelegd als di 9 jun 2026, 06:30 CEST',
    'the time typed is read as Amsterdam time in a browser in New York ("Vastgelegd als di 9 jun 2026, 06:30 CEST")');
  await page.check('#f-cause input[value="lost_device"]');
  await page.check('#f-personal_data input[value="no"]');
  check(await page.isVisible('text=Zonder persoonsgegevens is het geen datalek dat u bij de AP meldt'), '"no personal data": explained it is no breach to notify, still to register');
  await page.check('#f-personal_data input[value="yes"]');
  await page.check('#f-categories input[value="health"]');
  await page.check('#f-categories input[value="bsn"]');
  await page.fill('#f-persons_affected', '40');
  await page.fill('#f-records_affected', '55');
  await page.check('#f-groups input[value="clients"]');
  await page.fill('#f-started_at', '2026-06-08T17:00');
  await page.fill('#f-ended_at', '2026-06-08T17:30');
  await page.check('#f-unintelligible input[value="no"]');
  await page.fill('#f-measures_taken', 'NS gebeld; wachtwoorden gewijzigd');
  await page.fill('#f-reporter_name', 'A. de Vries');
  await page.fill('#f-reporter_role', 'Functionaris gegevensbescherming');
  await page.fill('#f-reporter_phone', '020 123 4567');
  await page.fill('#f-reporter_email', 'fg@praktijk.example');
  await page.click('#report-next-1');
  await page.waitForSelector('#report-form-2', T);
  check((await page.textContent('#report-step-title')).includes('Stap 2 van 4'), 'step 1 recorded: "Stap 2 van 4"');
  check(await page.evaluate(() => document.activeElement.id) === 'report-step-title', 'focus moved to the step heading');
  const banner = await page.textContent('#report-banner');
  const key = (/DL-2026-[A-Z2-9]{4}/.exec(banner) || [])[0];
  check(!!key, `the breach's readable id is shown to the officer (${key})`);
  const cd = (await page.textContent('#report-banner .countdown')).trim();
  check(cd === expect.countdown, `the 72-hour countdown at once: "${expect.countdown}" (was "${cd}")`);
  check(banner.includes(expect.due), `with its due time "${expect.due}"`);
  check((await page.evaluate(() => location.hash)) === `#melden/${key}/2`, 'the address names the breach and the step');

  // the deadline on the breach's page and on Termijnen, then back by the next-step link
  check(await page.isVisible('#report-banner-apform'), 'the AP form is one click away');
  await page.click('#report-banner-page');
  await page.waitForSelector('#datalek:not([hidden]) #breach-timeline', T);
  check((await page.textContent('#datalek-title')) === `Datalek ${key}`, "the breach's own page");
  check((await page.textContent('#datalek-countdown')).trim() === expect.countdown, `its AP countdown "${expect.countdown}"`);
  check((await page.textContent('#breach-deadlines')).includes('Melden bij de AP'), 'its deadlines list avg.notify_ap');
  check((await page.textContent('#datalek-next')) === 'Meld bij de AP (stap 2)', 'the next step of the scheme: "Meld bij de AP"');
  await page.click('#nav-termijnen');
  await page.waitForSelector('#termijnen:not([hidden]) #deadlines tbody tr');
  const trow = page.locator('#deadlines tbody tr', { hasText: key });
  check(await trow.count() === 1, `Termijnen lists the new deadline of ${key}`);
  check((await trow.locator('td.countdown').textContent()).trim() === expect.countdown, `with its countdown "${expect.countdown}"`);
  check((await trow.locator('.title').textContent()) === expect.title, `and the duty's title "${expect.title}"`);
  await page.goto(`${base}/console/#datalek/${encodeURIComponent(key)}`);
  await page.waitForSelector('#datalek-next', T);
  await page.click('#datalek-next');
  await page.waitForSelector('#report-form-2', T);
  check((await page.textContent('#report-step-title')).includes('Stap 2 van 4'), 'the next-step link takes the form up at step 2');

  // step 2: when in doubt, report
  check((await page.textContent('#report-form-2')).includes('Twijfel je? Meld dan.'), 'the scheme\'s "Twijfel je? Meld dan." is shown');
  await shot('melden-stap2');
  await axe(page, 'Datalek melden, stap 2');
  await page.click('#report-next-2');
  await page.waitForFunction(() => document.querySelector('#f-risk-error').textContent !== '');
  check((await page.textContent('#f-rationale-error')) === 'Vul dit in.', 'step 2: the rationale is required');
  await page.check('#f-risk input[value="high"]');
  await page.fill('#f-rationale', 'Gezondheidsgegevens en BSN van 40 cliënten, niet versleuteld');
  await page.check('#f-consequences input[value="damage_to_health"]');
  await page.check('#f-consequences input[value="identity_fraud"]');
  await page.fill('#f-consequences_note', 'Misbruik van het BSN is mogelijk');
  await page.fill('#f-measures_planned', 'USB-sticks alleen nog versleuteld');
  await page.check('#f-cross_border input[value="no"]');
  await page.check('#f-notify input[value="now"]');
  await page.fill('#f-reference', 'AP-2026-0042');
  await page.fill('#f-notified_at', '2026-06-09T06:45');
  await page.check('#f-phase input[value="initial"]');
  await shot('melden-stap2-melding');
  await axe(page, 'Datalek melden, stap 2 ingevuld');
  await page.click('#report-next-2');
  await page.waitForSelector('#report-form-3', T);
  check((await page.textContent('#report-step-title')).includes('Stap 3 van 4'), 'step 2 recorded: "Stap 3 van 4"');
  check((await page.textContent('#report-form-3')).includes('hoog: informeren is verplicht'), 'high risk: informing is required');
  check(await page.locator('#f-inform input[value="skip"]').count() === 0, 'and cannot be skipped');

  // step 3: the message with what the scheme asks
  await page.check('#f-inform input[value="informed"]');
  await page.click('#message-template');
  check((await page.inputValue('#f-message')).includes('Waar u meer informatie krijgt:'), 'the template holds the scheme\'s elements');
  await page.fill('#f-message', MESSAGE);
  await page.selectOption('#f-channel', 'brief');
  await page.fill('#f-count', '40');
  await page.fill('#f-informed_at', '2026-06-09T06:48');
  await page.click('#report-next-3');
  await page.waitForFunction(() => document.querySelector('#f-message-error').textContent !== '');
  check((await page.textContent('#f-message-error')).includes('Contact met ons'), 'a message without our contact details: the missing element named');
  check((await page.textContent('#message-check')).includes('ontbreekt'), 'the checklist marks it "ontbreekt" in words');
  await shot('melden-stap3');
  await axe(page, 'Datalek melden, stap 3');
  await page.fill('#f-message', `${MESSAGE}\nContact met ons:\nPraktijk De Linde, 020 123 4567, privacy@praktijk.example`);
  await page.click('#report-next-3');
  await page.waitForSelector('#report-form-4', T);
  check((await page.textContent('#report-step-title')).includes('Stap 4 van 4'), 'step 3 recorded: "Stap 4 van 4"');
  const summary = await page.textContent('#report-summary');
  check(summary.includes('AP-2026-0042'), 'step 4 shows the register now: the AP reference');
  check(summary.includes('geïnformeerd op'), 'and that the people were informed');
  await shot('melden-stap4');
  await axe(page, 'Datalek melden, stap 4');
  await page.click('#report-close');
  await page.waitForFunction(() => document.querySelector('#f-measures-error')?.textContent !== '');
  check((await page.textContent('#f-measures-error')) === 'Vul dit in.', 'closing needs the measures');
  await page.fill('#f-measures', 'Alleen versleutelde USB-sticks; medewerkers opnieuw voorgelicht');
  await page.click('#report-close');
  await page.waitForSelector('#report-form-4 .ok-note', T);
  check((await page.textContent('#report-summary')).includes('Afgesloten'), 'closed: the register says "Afgesloten"');

  // the journal: every step's event with the session's source, and what it caused
  const b = (await get(page, `/console/api/v1/breaches/${encodeURIComponent(key)}`)).body;
  const types = b.timeline.map((e) => e.type);
  check(JSON.stringify(types) === JSON.stringify(['nl.avg.breach.reported', 'nl.avg.breach.assessed', 'nl.avg.breach.notified',
    'nl.avg.breach.subjects_informed', 'nl.avg.breach.closed']), `each step's event is journaled, in order (${types.join(', ')})`);
  check(b.timeline.every((e) => e.source === session.source), 'each with the session\'s source');
  const first = b.timeline[0];
  const ev = (await get(page, `/console/api/v1/events/${encodeURIComponent(first.source)}/${encodeURIComponent(first.id)}`)).body;
  check(ev.event.data.breach_id === key && ev.event.data.aware_at === '2026-06-09T06:30:00+02:00', 'GET /v1/events/SOURCE/ID: the report, aware_at in Amsterdam time');
  check(ev.event.data.reporter.email === 'fg@praktijk.example' && ev.event.data.categories.join() === 'health,bsn', 'with the contact and the kinds of data entered');
  check(ev.decisions.some((d) => d.op === 'open' && d.kind === 'avg.notify_ap' && d.due_at === '2026-06-12T04:30:00Z'), 'it opened avg.notify_ap, due 72 hours after aware_at');

  // the breach's page after all four steps
  await page.click('#report-to-breach');
  await page.waitForSelector('#datalek:not([hidden]) #breach-chain', T);
  check((await page.textContent('#breach-chain')).includes('Keten van hashes klopt (5 versies)'), 'the chain verified: "Keten van hashes klopt (5 versies)"');
  check((await page.getAttribute('#breach-chain', 'role')) === 'status', 'a verified chain is a status, not an alert');
  check(await page.locator('#breach-timeline > li').count() === 5, 'the timeline has the five events');
  const tl = await page.textContent('#breach-timeline');
  for (const w of ['Datalek gemeld', 'Risico beoordeeld', 'Gemeld bij de Autoriteit Persoonsgegevens', 'Betrokkenen geïnformeerd', 'Datalek afgesloten']) {
    check(tl.includes(w), `the timeline in words: "${w}"`);
  }
  check(tl.includes('Termijn geopend: Melden bij de AP') && tl.includes('Termijn gesloten (gedaan): Melden bij de AP'), 'decisions in plain words: the deadline opened and closed');
  check(tl.includes('Register datalekken bijgewerkt'), 'and the register change');
  check((await page.textContent('#breach-phases')).includes('AP-2026-0042'), 'the notification phase with its reference');
  check((await page.textContent('#breach-deadlines')).includes(expect.complete_countdown), `the initial notification opened its completion: "${expect.complete_countdown}"`);
  await shot('datalek');
  await axe(page, 'Datalek (pagina)');
  await page.setViewportSize({ width: 768, height: 1024 });
  await shot('datalek-tablet');
  await axe(page, 'Datalek (tablet)');
  await page.setViewportSize({ width: 1280, height: 800 });

  // the AP form: every section, every question
  await page.click('#datalek-apform');
  await page.waitForSelector('#apform:not([hidden]) .ap-section', T);
  const form = (await get(page, `/console/api/v1/breaches/${encodeURIComponent(key)}/ap-form`)).body;
  const shown = await page.$$eval('.ap-section[data-section]', (ss) => ss.map((s) => s.dataset.section));
  check(JSON.stringify(shown) === JSON.stringify(form.sections.map((s) => s.id)), `every section of the form, in order (${shown.length})`);
  for (const s of form.sections) {
    for (const q of s.questions) {
      const dt = page.locator(`dt[data-question="${q.id}"]`);
      const dd = page.locator(`dt[data-question="${q.id}"] + dd`);
      if (await dt.count() !== 1 || (await dt.textContent()) !== q.question) throw new Error(`FAILED: question ${q.id} "${q.question}" is on the page`);
      const text = await dd.textContent();
      if (q.answered ? text !== q.text : !text.includes('Niet beantwoord')) throw new Error(`FAILED: ${q.id}: "${text}"`);
    }
  }
  check(true, `all ${form.questions} questions are shown, answered ones with the answer, the others "Niet beantwoord"`);
  const answer = async (id) => page.textContent(`dt[data-question="${id}"] + dd`);
  check((await answer('contact.name')) === 'A. de Vries' && (await answer('contact.email')) === 'fg@praktijk.example', 'the contact entered in step 1');
  check((await answer('nature.description')) === 'USB-stick met cliëntgegevens kwijt in de trein', 'the description entered');
  check((await answer('numbers.persons')) === '40' && (await answer('numbers.records')) === '55', 'the numbers entered');
  check((await answer('subjects.message')).includes('Praktijk De Linde'), 'the message to the people');
  check((await answer('timeline.notified')).includes('AP-2026-0042'), 'the notification with its reference');
  const count = await page.textContent('#apform-count');
  check(count === `${form.answered} van ${form.questions} vragen beantwoord` || count === `Alle ${form.questions} vragen beantwoord`, `the count: "${count}"`);
  await shot('apform');
  await axe(page, 'AP-meldformulier');

  await page.emulateMedia({ media: 'print' });
  check(!(await page.isVisible('.top')) && !(await page.isVisible('#apform-tools')), 'print: no menu, no buttons');
  check((await page.textContent('#apform-print-heading')).includes(key) && await page.isVisible('#apform-print-heading'), 'print: the breach in the heading');
  check(await page.isVisible('#apform-printed') && (await page.textContent('#apform-printed')).startsWith('Afgedrukt op di 9 jun 2026'), 'print: the print date');
  const bg = await page.$eval('.ap-section', (s) => getComputedStyle(s).backgroundColor);
  check(bg === 'rgb(255, 255, 255)', `print: white sections (${bg})`);
  await shot('apform-print');
  await page.emulateMedia({ media: 'screen' });

  const [json] = await Promise.all([page.waitForEvent('download'), page.click('#apform-json')]);
  check(json.suggestedFilename() === `ap-melding-${key}.json`, `JSON export named ${json.suggestedFilename()}`);
  const exported = JSON.parse(readFileSync(await json.path(), 'utf8'));
  check(exported.breach === key && exported.questions === form.questions, 'the JSON is the form');
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#apform-csv')]);
  const bytes = readFileSync(await csv.path());
  check(bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf, 'the CSV starts with the UTF-8 BOM');
  const rows = csvRows(bytes.toString('utf8').slice(1)).filter((r) => r.length > 1);
  check(rows.length === form.questions + 1, `a row per question and a header (${rows.length})`);
  const ids = form.sections.flatMap((s) => s.questions.map((q) => q.id));
  check(JSON.stringify(rows.slice(1).map((r) => r[1])) === JSON.stringify(ids), 'every question id in the CSV, in order');
  check(rows.some((r) => r.includes('A. de Vries')), 'with the answers');
}
