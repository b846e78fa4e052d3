-- Event generator shared by the wrk scripts (single.lua, batch.lua).
--
-- Produces a realistic mix of CloudEvents for POST /v1/events: mostly NEN 7513
-- record-access log entries (what an ECD sends all day), with a few breach
-- reports, client requests and backup confirmations in between, so that the
-- rules which open obligations and write registers are exercised too.
--
-- Every event is unique by source + id: the source carries a per-run tag
-- (OBLIGO_BENCH_RUN, set by scripts/bench-http per phase) and the id carries
-- the wrk thread number and a per-thread counter. Duplicates would be
-- answered 202 too but not counted as accepted, which would flatter the
-- numbers.
--
-- Loaded with dofile() from the wrk scripts; wrk runs LuaJIT (Lua 5.1).

local M = {}

M.tag = os.getenv("OBLIGO_BENCH_RUN") or tostring(os.time())
M.source = "urn:ecd:bench:" .. M.tag

local roles = { "arts", "verpleegkundige", "doktersassistent", "praktijkondersteuner" }
local systems = { "ecd", "his", "fileserver" }

-- RFC 3339 with an offset, as the engine requires. Writing UTC shifted to a
-- fixed +01:00 is a valid representation of the instant whatever the season,
-- and staying close to the wall clock keeps the obligations the events open
-- from being overdue at once (which would add deadline work to the run).
local function rfc3339(t)
  return os.date("!%Y-%m-%dT%H:%M:%S", t + 3600) .. "+01:00"
end

local fmt = string.format

-- One event as a JSON object on a single line (so it also serves as an
-- NDJSON line). tid: wrk thread number; n: that thread's counter.
function M.event(tid, n)
  local now = os.time()
  local time = rfc3339(now)
  local id = fmt("%d-%d", tid, n)
  local head = fmt('{"specversion":"1.0","id":"%s","source":"%s","time":"%s",', id, M.source, time)
  local k = n % 50
  if k == 0 then
    -- 2 %: a breach report; opens avg.notify_ap and a datalekken register entry.
    return head .. fmt('"type":"nl.avg.breach.reported","data":{"breach_id":"B-%s-%s",' ..
      '"aware_at":"%s","description":"e-mail met diagnose naar verkeerde ontvanger",' ..
      '"cause":"misdirected","personal_data":"yes","categories":["health"],"persons_affected":1}}',
      M.tag, id, rfc3339(now - 600))
  elseif k == 1 then
    -- 2 %: a client's access request; opens avg.respond_request (one month).
    return head .. fmt('"type":"nl.avg.request.received","data":{"request_id":"R-%s-%s",' ..
      '"kind":"access","client_id":"c%d","received_at":"%s"}}',
      M.tag, id, (n * 7919) % 50000, time)
  elseif k == 2 then
    -- 2 %: a backup confirmation; fulfils the periodic ict.daily_backup duty.
    return head .. fmt('"type":"nl.ict.backup.completed","data":{"system":"%s","completed_at":"%s"}}',
      systems[n % #systems + 1], time)
  end
  -- 94 %: a record access with a treatment relation and 2FA (raises no alert).
  return head .. fmt('"type":"nl.nen7513.access","data":{"user":{"id":"u%d","role":"%s"},' ..
    '"client_id":"c%d","action":"read","system":"ecd","treatment_relation":true,' ..
    '"authentication":"2fa"}}',
    n % 200, roles[n % #roles + 1], (n * 7919) % 50000)
end

-- Status counting shared by both scripts. Each wrk thread has its own Lua
-- state, so these are per-thread globals that done() collects through
-- thread:get() (the pattern from wrk's scripts/setup.lua).
M.counts = {}   -- status -> responses
M.accepted = 0  -- sum of "accepted" in 202 answers
M.duplicates = 0

function M.response(status, headers, body)
  M.counts[status] = (M.counts[status] or 0) + 1
  if status == 202 then
    M.accepted = M.accepted + (tonumber(body:match('"accepted":(%d+)')) or 0)
    M.duplicates = M.duplicates + (tonumber(body:match('"duplicates":(%d+)')) or 0)
  end
end

-- Prints one machine-readable line for scripts/bench-http to parse, plus the
-- non-202 statuses so that a misbehaving server is visible in the log.
-- events_per_request converts requests into events for the report.
function M.done(threads, summary, latency, events_per_request)
  local counts, accepted, duplicates = {}, 0, 0
  for _, t in ipairs(threads) do
    for status, c in pairs(t:get("counts") or {}) do
      counts[status] = (counts[status] or 0) + c
    end
    accepted = accepted + (t:get("accepted") or 0)
    duplicates = duplicates + (t:get("duplicates") or 0)
  end
  local ok, other = counts[202] or 0, 0
  for status, c in pairs(counts) do
    if status ~= 202 then
      other = other + c
      io.write(fmt("status %d: %d responses\n", status, c))
    end
  end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(fmt("RESULT secs=%.3f requests=%d ok202=%d non202=%d accepted=%d duplicates=%d " ..
    "events_per_s=%.0f requests_per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f " ..
    "max_ms=%.3f connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
    secs, summary.requests, ok, other, accepted, duplicates,
    ok * events_per_request / secs, summary.requests / secs,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3, latency:percentile(99) / 1e3,
    latency:percentile(99.9) / 1e3, latency.max / 1e3,
    e.connect, e.read, e.write, e.timeout))
end

return M
