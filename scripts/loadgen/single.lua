-- wrk script: one CloudEvent per POST /v1/events (application/cloudevents+json),
-- unique per request. Used by scripts/bench-http, phase "single".
--
--   wrk -t2 -c64 -d10s -s scripts/loadgen/single.lua http://127.0.0.1:PORT
--
-- Events per second = 202 answers per second (one event each). done() prints
-- a RESULT line with the counts, the rate and latency percentiles.

-- Load the shared generator from this script's own directory, so wrk can be
-- started from any working directory.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local ev = dofile(dir .. "events.lua")

local threads = {}
local next_id = 1

-- setup() runs in the main Lua state once per thread: number the threads
-- (the number goes into every event id) and remember them for done().
function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local headers = { ["Content-Type"] = "application/cloudevents+json" }
local n = 0

function request()
  n = n + 1
  return wrk.format("POST", "/v1/events", headers, ev.event(tid, n))
end

-- Globals read by done() through thread:get(); ev.counts is a table the
-- thread keeps updating, so pointing the global at it once is enough.
counts = ev.counts
function response(status, hdrs, body)
  ev.response(status, hdrs, body)
  accepted, duplicates = ev.accepted, ev.duplicates
end

function done(summary, latency, requests)
  ev.done(threads, summary, latency, 1)
end
