// webhook_receiver.mjs PORTFILE SECRET OUT — a webhook receiver as an
// integrator writes one: a Node HTTP server on 127.0.0.1 (an ephemeral port,
// written to PORTFILE) that checks each delivery with the Standard Webhooks
// library (`standardwebhooks`: the signature over webhook-id,
// webhook-timestamp and the body, and that the timestamp is recent) and
// reads it as a CloudEvent with the cloudevents SDK (HTTP.toEvent). For
// each delivery it appends one JSON line to OUT: {verified, id, type,
// source, subject, kind, replay_refused, tamper_refused}, where
// replay_refused says the same delivery with a timestamp an hour old is
// refused, and tamper_refused that a changed body is. Answers 204 when
// verified, 401 otherwise. Used by tests/e2e/test_webhook_receiver.c.
import { appendFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { HTTP } from "cloudevents";
import { Webhook } from "standardwebhooks";

const [portFile, secret, out] = process.argv.slice(2);
if (!portFile || !secret || !out) {
  console.error("usage: node webhook_receiver.mjs PORTFILE SECRET OUT");
  process.exit(2);
}
const wh = new Webhook(secret);

function refused(fn) {
  try {
    fn();
    return false;
  } catch {
    return true;
  }
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const headers = req.headers;
    const line = { verified: false };
    try {
      wh.verify(body, headers);
      line.verified = true;
      const ce = HTTP.toEvent({ headers, body });
      Object.assign(line, {
        id: ce.id,
        type: ce.type,
        source: ce.source,
        subject: ce.subject,
        kind: ce.data && ce.data.kind,
        content_type: headers["content-type"],
      });
      const old = String(Number(headers["webhook-timestamp"]) - 3600);
      line.replay_refused = refused(() =>
        wh.verify(body, { ...headers, "webhook-timestamp": old }),
      );
      line.tamper_refused = refused(() => wh.verify(body.replace("}", ', "x": 1}'), headers));
    } catch (e) {
      line.error = String(e && e.message ? e.message : e);
    }
    appendFileSync(out, JSON.stringify(line) + "\n");
    res.writeHead(line.verified ? 204 : 401);
    res.end();
  });
});
server.listen(0, "127.0.0.1", () => {
  writeFileSync(portFile, String(server.address().port));
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
