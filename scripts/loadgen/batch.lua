-- wrk script: POST /v1/events with an NDJSON body of BATCH events
-- (application/x-ndjson; default 1,000), every event unique. Used by
-- scripts/bench-http, phase "batch".
--
--   OBLIGO_BENCH_BATCH=1000 wrk -t2 -c8 -d10s --timeout 30s \
--       -s scripts/loadgen/batch.lua http://127.0.0.1:PORT
--
-- Events per second = 202 answers per second x BATCH. done() prints a RESULT
-- line; its "accepted" sums the server's own counts, as a cross-check.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local ev = dofile(dir .. "events.lua")

local batch = tonumber(os.getenv("OBLIGO_BENCH_BATCH") or "1000")

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local headers = { ["Content-Type"] = "application/x-ndjson" }
local n = 0
local lines = {}

-- Building the body costs the client about a millisecond per 1,000 events;
-- it is done per request (not once) because every event must be new.
function request()
  for i = 1, batch do
    n = n + 1
    lines[i] = ev.event(tid, n)
  end
  return wrk.format("POST", "/v1/events", headers, table.concat(lines, "\n", 1, batch) .. "\n")
end

counts = ev.counts
function response(status, hdrs, body)
  ev.response(status, hdrs, body)
  accepted, duplicates = ev.accepted, ev.duplicates
end

function done(summary, latency, requests)
  ev.done(threads, summary, latency, batch)
end
