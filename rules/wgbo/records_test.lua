-- Tests voor het medisch dossier (WGBO).

test "twintig jaar na de laatste wijziging; een latere wijziging verschuift de termijn" {
  events = {
    { type = "nl.wgbo.record.changed", time = "2026-03-15T10:00:00+01:00",
      data = { client_id = "C16", changed_at = "2026-03-15T10:00:00+01:00" } },
    { type = "nl.wgbo.record.changed", time = "2027-01-24T10:00:00+01:00",
      data = { client_id = "C16", changed_at = "2027-01-24T10:00:00+01:00" } },
  },
  at = "2027-02-01T00:00:00+01:00",
  obligations = { { kind = "wgbo.retention_review", subject = "C16", status = "open",
                    due_at = "2047-01-24T09:00:00Z" } },
}

test "een oudere wijziging die later binnenkomt, zet de termijn niet terug" {
  -- Eerst komt de wijziging van 24 januari 2027 binnen, daarna pas (uit een
  -- tweede systeem) een wijziging van tien jaar eerder. De twintig jaar tellen
  -- vanaf de laatste wijziging: 24 januari 2047, niet 15 maart 2037.
  events = {
    { type = "nl.wgbo.record.changed", time = "2027-01-24T10:00:00+01:00",
      data = { client_id = "C17", changed_at = "2027-01-24T10:00:00+01:00" } },
    { type = "nl.wgbo.record.changed", time = "2027-01-25T09:00:00+01:00",
      data = { client_id = "C17", changed_at = "2017-03-15T10:00:00+01:00" } },
  },
  at = "2027-02-01T00:00:00+01:00",
  obligations = { { kind = "wgbo.retention_review", subject = "C17", status = "open",
                    due_at = "2047-01-24T09:00:00Z" } },
}

test "twintig jaar later valt 02:30 in de nacht dat de wintertijd ingaat: de eerste 02:30" {
  -- Zondag 28 oktober 2046 komt 02:30 twee keer voor; de termijn eindigt de
  -- eerste keer, nog in zomertijd (+02:00).
  events = {
    { type = "nl.wgbo.record.changed", time = "2026-10-28T02:30:00+01:00",
      data = { client_id = "C18", changed_at = "2026-10-28T02:30:00+01:00" } },
  },
  at = "2026-11-01T00:00:00+01:00",
  obligations = { { kind = "wgbo.retention_review", subject = "C18", status = "open",
                    due_at = "2046-10-28T02:30:00+02:00" } },
}

test "twintig jaar later valt 02:30 in het uur dat de zomertijd overslaat: 03:30" {
  -- Zondag 25 maart 2046 springt de klok van 02:00 naar 03:00; 02:30 bestaat
  -- niet en schuift een uur op.
  events = {
    { type = "nl.wgbo.record.changed", time = "2026-03-25T02:30:00+01:00",
      data = { client_id = "C19", changed_at = "2026-03-25T02:30:00+01:00" } },
  },
  at = "2026-04-01T00:00:00+02:00",
  obligations = { { kind = "wgbo.retention_review", subject = "C19", status = "open",
                    due_at = "2046-03-25T03:30:00+02:00" } },
}

test "vernietiging op verzoek: drie maanden, vervuld door de vernietiging" {
  events = {
    { type = "nl.avg.request.received", time = "2026-02-26T10:00:00+01:00",
      data = { request_id = "R-D", kind = "record_destruction", client_id = "C40",
               received_at = "2026-02-26T10:00:00+01:00" } },
    { type = "nl.wgbo.record.destroyed", time = "2026-04-01T10:00:00+02:00",
      data = { client_id = "C40", destroyed_at = "2026-04-01T10:00:00+02:00", basis = "client_request" } },
  },
  at = "2026-06-01T00:00:00+02:00",
  obligations = { { kind = "wgbo.destroy_record", subject = "C40", status = "fulfilled",
                    due_at = "2026-05-26T21:59:59Z" } },
  absent_obligations = { { kind = "avg.respond_request", subject = "R-D" } },
}

test "afgewezen verzoek tot vernietiging sluit de termijn met de reden" {
  events = {
    { type = "nl.avg.request.received", time = "2026-02-26T10:00:00+01:00",
      data = { request_id = "R-E", kind = "record_destruction", client_id = "C41",
               received_at = "2026-02-26T10:00:00+01:00" } },
    { type = "nl.avg.request.completed", time = "2026-03-10T10:00:00+01:00",
      data = { request_id = "R-E", completed_at = "2026-03-10T10:00:00+01:00", outcome = "refused",
               rationale = "wettelijke bewaarplicht" } },
  },
  at = "2026-03-11T00:00:00+01:00",
  obligations = { { kind = "wgbo.destroy_record", subject = "C41", status = "cancelled" } },
}
