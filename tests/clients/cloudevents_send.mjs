// cloudevents_send.mjs URL [TIME] — sends one CloudEvent in binary content
// mode and one in structured content mode to URL (POST /v1/events of
// `obligo serve`) with the cloudevents SDK's HTTP binding, as an integrator
// would: HTTP.binary(ce) / HTTP.structured(ce) give the headers and body,
// Node's fetch sends them. Prints one line per event, "MODE STATUS BODY";
// exits 0 when both were answered (whatever the status), 2 on a usage or
// network error. Used by tests/e2e/test_cloudevents.c.
import { CloudEvent, HTTP } from "cloudevents";

const url = process.argv[2];
const time = process.argv[3] || "2026-12-01T10:00:00+01:00";
if (!url) {
  console.error("usage: node cloudevents_send.mjs URL [TIME]");
  process.exit(2);
}

function breach(mode) {
  return new CloudEvent({
    specversion: "1.0",
    id: `sdk-${mode}-1`,
    source: "urn:ecd:sdk-test",
    type: "nl.avg.breach.reported",
    time,
    subject: `B-SDK-${mode}`,
    obligotest: mode, // an extension attribute
    datacontenttype: "application/json",
    data: {
      breach_id: `B-SDK-${mode}`,
      aware_at: time,
      description: "e-mail met diagnose naar verkeerde ontvanger",
      personal_data: "yes",
    },
  });
}

try {
  for (const [mode, message] of [
    ["binary", HTTP.binary(breach("binary"))],
    ["structured", HTTP.structured(breach("structured"))],
  ]) {
    const res = await fetch(url, { method: "POST", headers: message.headers, body: message.body });
    console.log(`${mode} ${res.status} ${await res.text()}`);
  }
} catch (e) {
  console.error(`cloudevents_send: ${e.message}`);
  process.exit(2);
}
