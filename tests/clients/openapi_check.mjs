// openapi_check.mjs — the published contract checked with real tools
// against a running `obligo serve` (tests/e2e/test_openapi.c):
//
//   1. GET /v1/openapi.json is a valid OpenAPI 3.1 document
//      (@apidevtools/swagger-parser).
//   2. Every example in it is sent to the server, in the document's order:
//      each request body example of each media type, each parameter
//      example; the status must be one the document lists for the
//      operation, and the one the example names (x-obligo-status); an
//      answer with a documented schema must validate against it (ajv,
//      JSON Schema 2020-12 with formats).
//   3. GET /v1/schemas: every schema compiles (ajv 2020-12); for a few
//      pack types a valid event validates and invalid ones (a required
//      member missing, a wrong enum, a bad time, ...) do not, and the
//      engine agrees (202 / 400); data alone validates against
//      SCHEMA#/properties/data, the pointer a sender may give as
//      dataschema; the served document's CloudEvent (one of the types)
//      says the same.
//
// Usage: node openapi_check.mjs BASE_URL   (e.g. http://127.0.0.1:8787)
// with OBLIGO_TOKENS='{"ingest":"obl_…","officer":"obl_…","admin":"obl_…"}'.
// Prints one line per check; exits 1 when any failed.
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import zlib from 'node:zlib';

const base = process.argv[2];
const tokens = JSON.parse(process.env.OBLIGO_TOKENS || '{}');
let failures = 0;
const fail = (msg) => {
  failures++;
  console.log(`FAIL ${msg}`);
};
const ok = (msg) => console.log(`ok ${msg}`);

// The token for an operation's role (x-obligo-role): "any" is served to
// every role, so the least privileged one asks.
const tokenFor = (role) =>
  ({ none: null, any: tokens.ingest, ingest: tokens.ingest, officer: tokens.officer, admin: tokens.admin })[role];

async function get(path, token) {
  const res = await fetch(base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type') || '', text: await res.text() };
}

function newAjv() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv;
}

// ---- 1. the document -------------------------------------------------------

const got = await get('/v1/openapi.json', tokens.ingest);
if (got.status !== 200) {
  fail(`GET /v1/openapi.json: ${got.status} ${got.text}`);
  process.exit(1);
}
const doc = JSON.parse(got.text);
try {
  await SwaggerParser.validate(structuredClone(doc));
  ok(`swagger-parser: a valid OpenAPI ${doc.openapi} document, ${Object.keys(doc.paths).length} paths`);
} catch (e) {
  fail(`swagger-parser: ${e.message}`);
}
const deref = await SwaggerParser.dereference(structuredClone(doc));
const respAjv = newAjv();

// ---- 2. every example against the server ------------------------------------

// The cases of one operation: each body example with the parameters'
// first examples, then each further parameter example on its own.
function casesOf(op) {
  const params = (op.parameters || []).filter((p) => p.example !== undefined || p.examples);
  const first = (p) =>
    p.example !== undefined ? { value: p.example } : Object.values(p.examples)[0];
  const baseParams = params.map((p) => [p, first(p).value]);
  const cases = [];
  const content = op.requestBody?.content || {};
  for (const [media, m] of Object.entries(content))
    for (const [name, ex] of Object.entries(m.examples || {}))
      cases.push({ name: `${media} ${name}`, media, ex, params: baseParams, status: ex['x-obligo-status'] });
  if (!cases.length) {
    const named = op['x-obligo-examples']?.[0]?.['x-obligo-status'];
    const fromParam = params.map((p) => first(p)['x-obligo-status']).find((s) => s !== undefined);
    cases.push({ name: 'parameters', params: baseParams, status: named ?? fromParam });
  }
  for (const p of params) {
    const exs = Object.entries(p.examples || {});
    for (const [name, ex] of exs.slice(1))
      cases.push({
        name: `${p.name}=${name}`,
        params: baseParams.map(([q, v]) => [q, q === p ? ex.value : v]),
        status: ex['x-obligo-status'],
      });
  }
  return cases;
}

async function send(path, method, op, c) {
  let url = path;
  const query = new URLSearchParams();
  const headers = {};
  for (const [p, v] of c.params) {
    if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(v));
    else if (p.in === 'query') query.set(p.name, String(v));
    else if (p.in === 'header') headers[p.name] = String(v);
  }
  if (query.size) url += `?${query}`;
  const token = tokenFor(op['x-obligo-role']);
  if (token) headers.authorization = `Bearer ${token}`;
  let body;
  if (c.media) {
    headers['content-type'] = c.media;
    body = typeof c.ex.value === 'string' ? c.ex.value : JSON.stringify(c.ex.value);
    if (c.ex['x-obligo-content-encoding'] === 'gzip') {
      body = zlib.gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    Object.assign(headers, c.ex['x-obligo-headers'] || {});
  } else if (method === 'post') {
    body = '';
  }
  const res = await fetch(base + url, { method: method.toUpperCase(), headers, body });
  return { status: res.status, type: res.headers.get('content-type') || '', text: await res.text() };
}

let sent = 0;
for (const [path, item] of Object.entries(deref.paths)) {
  // in the document's order: POST /v1/events before GET /v1/events?source=&id=
  for (const [method, op] of Object.entries(item)) {
    if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue;
    for (const c of casesOf(op)) {
      const what = `${method.toUpperCase()} ${path} [${c.name}]`;
      const r = await send(path, method, op, c);
      sent++;
      const documented = op.responses[String(r.status)] || op.responses[`${String(r.status)[0]}XX`] || op.responses.default;
      if (!documented) {
        fail(`${what}: ${r.status} is not a status the document lists (${Object.keys(op.responses)}): ${r.text}`);
        continue;
      }
      if (c.status !== undefined && r.status !== c.status) {
        fail(`${what}: ${r.status}, the example says ${c.status}: ${r.text}`);
        continue;
      }
      const mediaType = r.type.split(';')[0].trim();
      const media = Object.entries(documented.content || {}).find(([m]) => m.split(';')[0].trim() === mediaType);
      if (documented.content && !media) {
        fail(`${what}: answered as ${r.type}, the document lists ${Object.keys(documented.content)}`);
        continue;
      }
      const schema = media?.[1].schema;
      if (schema && /json/.test(mediaType)) {
        const validate = respAjv.compile(schema);
        if (!validate(JSON.parse(r.text))) {
          fail(`${what}: the ${r.status} answer does not match its schema: ${respAjv.errorsText(validate.errors)}: ${r.text.slice(0, 400)}`);
          continue;
        }
      }
      ok(`${what}: ${r.status}`);
    }
  }
}
ok(`${sent} requests from the document's examples`);

// ---- 3. the schemas ----------------------------------------------------------

const index = await get('/v1/schemas', tokens.officer);
const list = JSON.parse(index.text).schemas;
const ajv = newAjv();
for (const entry of list) {
  const path = new URL(entry.schema).pathname;
  const s = await get(path, tokens.ingest);
  if (s.status !== 200 || !s.type.startsWith('application/schema+json')) {
    fail(`GET ${path}: ${s.status} ${s.type}`);
    continue;
  }
  const schema = JSON.parse(s.text);
  if (schema.$id !== entry.schema) fail(`${path}: $id ${schema.$id}, the index says ${entry.schema}`);
  if (!doc.components.schemas[entry.type]) fail(`${entry.type}: not in the document's components`);
  try {
    ajv.addSchema(schema);
    ajv.getSchema(schema.$id); // compiles it
  } catch (e) {
    fail(`${entry.type}: does not compile: ${e.message}`);
  }
}
ok(`${list.length} schemas compiled with ajv (JSON Schema 2020-12)`);

const at = '2026-11-30T10:00:00+01:00';
let n = 0;
const ev = (type, data, extra = {}) => ({
  specversion: '1.0',
  id: `schema-check-${++n}`,
  source: 'urn:openapi-check',
  type,
  time: at,
  data,
  ...extra,
});
const breach = { breach_id: 'S-1', aware_at: at, description: 'x', personal_data: 'yes' };
const access = { user: { id: 'u-1' }, client_id: 'c-1', action: 'read', system: 'ecd' };
const backup = { system: 'ecd', completed_at: at };
const cases = [
  ['breach reported', ev('nl.avg.breach.reported', breach), true],
  ['breach: aware_at missing', ev('nl.avg.breach.reported', { ...breach, aware_at: undefined }), false],
  ['breach: personal_data not an enum value', ev('nl.avg.breach.reported', { ...breach, personal_data: 'maybe' }), false],
  ['breach: categories with a value not in the enum', ev('nl.avg.breach.reported', { ...breach, categories: ['health', 'dna'] }), false],
  ['breach: persons_affected not whole', ev('nl.avg.breach.reported', { ...breach, persons_affected: 1.5 }), false],
  ['breach: description empty', ev('nl.avg.breach.reported', { ...breach, description: '' }), false],
  ['breach: an optional member null, an unknown member', ev('nl.avg.breach.reported', { ...breach, cause: null, extra: 1 }), true],
  ['access', ev('nl.nen7513.access', access), true],
  ['access: user.id missing', ev('nl.nen7513.access', { ...access, user: { role: 'nurse' } }), false],
  ['access: action not an enum value', ev('nl.nen7513.access', { ...access, action: 'peek' }), false],
  ['subjects informed by an exception', ev('nl.avg.breach.subjects_informed', { breach_id: 'S-1', exception: 'unintelligible' }), true],
  ['subjects informed: neither informed_at nor exception', ev('nl.avg.breach.subjects_informed', { breach_id: 'S-1' }), false],
  ['backup', ev('nl.ict.backup.completed', backup), true],
  ['backup: completed_at 30 February', ev('nl.ict.backup.completed', { ...backup, completed_at: '2026-02-30T10:00:00+01:00' }), false],
  ['backup: completed_at without an offset', ev('nl.ict.backup.completed', { ...backup, completed_at: '2026-11-30T10:00:00' }), false],
  ['backup: time with a space for T', { ...ev('nl.ict.backup.completed', backup), time: '2026-11-30 10:00:00+01:00' }, false],
  ['backup: data missing', { ...ev('nl.ict.backup.completed', backup), data: undefined }, false],
  ['backup: data and data_base64', { ...ev('nl.ict.backup.completed', backup), data_base64: 'e30=' }, false],
];
for (const [name, event, valid] of cases) {
  const event_ = JSON.parse(JSON.stringify(event)); // drops the undefined members
  const validate = ajv.getSchema(`${list.find((e) => e.type === event_.type).schema}`);
  const says = validate(event_);
  const res = await fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${tokens.ingest}` },
    body: JSON.stringify(event_),
  });
  const answer = await res.text();
  if (says !== valid) fail(`${name}: the schema says ${says ? 'valid' : 'invalid'}: ${ajv.errorsText(validate.errors)}`);
  else if (res.status !== (valid ? 202 : 400)) fail(`${name}: the engine answers ${res.status}: ${answer}`);
  else ok(`${name}: schema ${says ? 'valid' : 'invalid'}, engine ${res.status}`);
}

// dataschema: the data alone against SCHEMA#/properties/data
const breachUrl = list.find((e) => e.type === 'nl.avg.breach.reported').schema;
const dataOnly = ajv.getSchema(`${breachUrl}#/properties/data`);
if (!dataOnly || !dataOnly(breach) || dataOnly({ ...breach, personal_data: 'maybe' }))
  fail(`${breachUrl}#/properties/data does not say what data must be`);
else ok(`${breachUrl}#/properties/data validates data alone`);
const withSchema = ev('nl.avg.breach.reported', { ...breach, breach_id: 'S-2' }, { dataschema: `${breachUrl}#/properties/data` });
const res = await fetch(`${base}/v1/events`, {
  method: 'POST',
  headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${tokens.ingest}` },
  body: JSON.stringify(withSchema),
});
if (res.status !== 202) fail(`an event with dataschema: ${res.status} ${await res.text()}`);
else ok('an event with dataschema set to its schema: 202');

// the served document's CloudEvent: one of the catalogue's types, or another
const docAjv = newAjv();
const anyEvent = docAjv.compile(deref.components.schemas.CloudEvent);
for (const [name, event, valid] of [
  ['a catalogue event', ev('nl.ict.backup.completed', backup), true],
  ['a catalogue event without its required member', ev('nl.ict.backup.completed', { system: 'ecd' }), false],
  ['an event of the organisation\'s own type', ev('org.praktijk.koffie', { any: 'thing' }), true],
]) {
  if (anyEvent(event) !== valid) fail(`components CloudEvent, ${name}: ${docAjv.errorsText(anyEvent.errors)}`);
  else ok(`components CloudEvent, ${name}: ${valid ? 'valid' : 'invalid'}`);
}

console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);
