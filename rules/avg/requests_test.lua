-- Tests voor verzoeken van cliënten (AVG art. 12 lid 3): een maand volgens
-- Verordening 1182/71, verlenging tot drie maanden als die op tijd is gemeld.

local function received(id, kind, at)
  return { type = "nl.avg.request.received", time = at,
           data = { request_id = id, kind = kind, client_id = "C-" .. id, received_at = at } }
end

test "30 februari bestaat niet; zaterdag 28 februari schuift naar maandag 2 maart 23:59:59" {
  events = { received("R-13", "access", "2026-01-30T11:00:00+01:00") },
  at = "2026-02-15T00:00:00+01:00",
  obligations = { { kind = "avg.respond_request", subject = "R-13", status = "open",
                    due_at = "2026-03-02T22:59:59Z" } },
}

test "verlenging binnen de eerste maand: drie maanden vanaf ontvangst" {
  events = {
    received("R-14", "erasure", "2026-01-30T11:00:00+01:00"),
    { type = "nl.avg.request.extended", time = "2026-02-20T11:00:00+01:00",
      data = { request_id = "R-14", reason = "complex", notified_at = "2026-02-20T11:00:00+01:00" } },
    { type = "nl.avg.request.completed", time = "2026-04-01T11:00:00+02:00",
      data = { request_id = "R-14", completed_at = "2026-04-01T11:00:00+02:00", outcome = "granted" } },
  },
  at = "2026-05-01T00:00:00+02:00",
  obligations = { { kind = "avg.respond_request", subject = "R-14", status = "fulfilled",
                    due_at = "2026-04-30T21:59:59Z" } },
}

test "verlenging na de eerste maand is ongeldig en wordt gesignaleerd" {
  events = {
    received("R-15", "access", "2026-01-05T11:00:00+01:00"),
    { type = "nl.avg.request.extended", time = "2026-02-10T11:00:00+01:00",
      data = { request_id = "R-15", reason = "te laat", notified_at = "2026-02-10T11:00:00+01:00" } },
  },
  at = "2026-02-11T00:00:00+01:00",
  obligations = { { kind = "avg.respond_request", subject = "R-15", status = "overdue",
                    due_at = "2026-02-05T22:59:59Z" } },
  alerts = { { kind = "avg.late_extension", subject = "R-15", count = 1 } },
}
