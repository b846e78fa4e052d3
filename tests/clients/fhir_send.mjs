// fhir_send.mjs BASE_URL — drives `obligo serve`'s FHIR API (BASE_URL is
// http://HOST:PORT/v1/fhir) with fhir-kit-client, as an integrator's FHIR
// client would, with its default settings: capabilityStatement(), a create
// without an id (twice: a retry), creates with Prefer: return=minimal and
// return=OperationOutcome, a batch (with one bad entry), a transaction, and
// a transaction with one bad entry. A bearer token is taken from
// OBLIGO_TOKEN when set. Prints one JSON object on stdout: per step its
// HTTP status, Location and body. Exits 0 when every step got an answer
// (whatever its status), 2 on a usage or network error. Used by
// tests/e2e/test_fhir_rest.c, which checks the answers and what the
// server journaled.
import { Client, RESPONSE_KEY } from "fhir-kit-client";

const baseUrl = process.argv[2];
if (!baseUrl) {
  console.error("usage: node fhir_send.mjs BASE_URL");
  process.exit(2);
}
const client = new Client({ baseUrl, bearerToken: process.env.OBLIGO_TOKEN || undefined });

const X = "https://obligo.nl/fhir/StructureDefinition/";
const ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

// An AuditEvent without an id: user `user` read the record of `patient`.
function access(user, patient, minute, { agentExtensions = [], entityExtensions = [], purpose } = {}) {
  const r = {
    resourceType: "AuditEvent",
    type: { system: "http://dicom.nema.org/resources/ontology/DCM", code: "110110" },
    action: "R",
    recorded: `2026-12-01T10:${String(minute).padStart(2, "0")}:00+01:00`,
    outcome: "0",
    agent: [
      {
        who: { reference: `Practitioner/${user}` },
        requestor: true,
        ...(agentExtensions.length ? { extension: agentExtensions } : {}),
      },
    ],
    source: { observer: { reference: "Device/ecd-fhirkit" } },
    entity: [
      {
        what: { reference: `Patient/${patient}` },
        ...(entityExtensions.length ? { extension: entityExtensions } : {}),
      },
    ],
  };
  if (purpose) r.purposeOfEvent = [{ coding: [{ system: ACT_REASON, code: purpose }] }];
  return r;
}

const entry = (resource, n) => ({
  fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
  resource,
  request: { method: "POST", url: "AuditEvent" },
});

// The answer of one call: status, Location and body, also for an error.
async function step(call) {
  try {
    const body = await call();
    const response = body[RESPONSE_KEY];
    return {
      status: response.status,
      location: response.headers.get("location"),
      contentType: response.headers.get("content-type"),
      body,
    };
  } catch (err) {
    if (!err.response) throw err;
    return {
      status: err.response.status,
      location: null,
      contentType: err.config?.headers?.get?.("content-type") ?? null,
      body: err.response.data,
    };
  }
}

const weak = access("u-fk-1", "c-fk-1", 1, {
  agentExtensions: [
    { url: `${X}treatment-relation`, valueBoolean: false },
    { url: `${X}authentication`, valueCode: "password" },
  ],
});
const vip = { url: `${X}vip`, valueBoolean: true };
const noPatient = access("u-fk-9", "c-fk-9", 9);
noPatient.entity = [{ what: { reference: "Device/ecd-fhirkit" } }];

try {
  const out = {};
  out.capability = await step(() => client.capabilityStatement());
  out.create = await step(() => client.create({ resourceType: "AuditEvent", body: weak }));
  out.retry = await step(() => client.create({ resourceType: "AuditEvent", body: weak }));
  out.minimal = await step(() =>
    client.create({
      resourceType: "AuditEvent",
      body: access("u-fk-2", "c-fk-2", 2),
      options: { headers: { prefer: "return=minimal" } },
    }),
  );
  out.outcome = await step(() =>
    client.create({
      resourceType: "AuditEvent",
      body: access("u-fk-3", "c-fk-3", 3),
      options: { headers: { prefer: "return=OperationOutcome" } },
    }),
  );
  // five users in one VIP record within the hour, break-the-glass without
  // a reason, and one entry that names no Patient
  const batch = [1, 2, 3, 4, 5].map((u) =>
    entry(access(`u-vip-${u}`, "c-vip", 10 + u, { entityExtensions: [vip] }), u),
  );
  batch.push(entry(noPatient, 6));
  batch.push(entry(access("u-btg", "c-btg", 20, { purpose: "BTG" }), 7));
  out.batch = await step(() =>
    client.batch({ body: { resourceType: "Bundle", type: "batch", entry: batch } }),
  );
  out.transaction = await step(() =>
    client.transaction({
      body: {
        resourceType: "Bundle",
        type: "transaction",
        entry: [entry(access("u-tx", "c-tx-1", 30), 1), entry(access("u-tx", "c-tx-2", 31), 2)],
      },
    }),
  );
  out.badTransaction = await step(() =>
    client.transaction({
      body: {
        resourceType: "Bundle",
        type: "transaction",
        entry: [entry(access("u-bad", "c-bad-1", 40), 1), entry(noPatient, 2)],
      },
    }),
  );
  console.log(JSON.stringify(out));
} catch (err) {
  console.error(`fhir_send: ${err.stack || err}`);
  process.exit(2);
}
