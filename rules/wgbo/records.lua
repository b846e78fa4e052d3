-- Het medisch dossier (WGBO, BW 7:454 en 7:455): bewaren tot twintig jaar
-- na de laatste wijziging, en vernietigen op verzoek van de cliënt.

obligation "wgbo.retention_review" {
  title  = "Bewaartermijn dossier beoordelen (20 jaar na de laatste wijziging)",
  source = "BW 7:454 lid 3",
  due    = years(policy("wgbo.retention_years", 20)),
  -- elke wijziging zet de termijn opnieuw in
  opened_by    = { on = "nl.wgbo.record.changed", subject = "data.client_id", at = "data.changed_at" },
  fulfilled_by = { on = "nl.wgbo.record.destroyed", subject = "data.client_id", at = "data.destroyed_at" },
}

obligation "wgbo.destroy_record" {
  title  = "Dossier vernietigen op verzoek van de cliënt",
  source = "BW 7:455",
  due    = months(3),
  remind = { before(days(14)) },
  fulfilled_by = { on = "nl.wgbo.record.destroyed", subject = "data.client_id", at = "data.destroyed_at" },
}

rule "wgbo.destruction_requested" {
  title  = "Een verzoek tot vernietiging opent de termijn van drie maanden",
  source = "BW 7:455",
  on     = "nl.avg.request.received",
  run    = function(e, act)
    local d = e.data
    if d.kind == "record_destruction" then
      act.open("wgbo.destroy_record", d.client_id, {
        from = d.received_at, data = { request_id = d.request_id },
      })
    end
  end,
}

rule "wgbo.destruction_answered" {
  title  = "Een afgewezen verzoek tot vernietiging sluit de termijn (met redenen)",
  source = "BW 7:455 lid 2",
  on     = "nl.avg.request.completed",
  run    = function(e, act, state)
    local d = e.data
    if d.outcome == "refused" then
      -- de termijn loopt op het client_id; zoek het verzoek erbij
      local req = state.get("wgbo.destruction", d.request_id)
      if req then
        act.cancel("wgbo.destroy_record", req, {
          rationale = "Verzoek afgewezen: " .. (d.rationale or "geen reden opgegeven"),
        })
      end
    end
  end,
}

rule "wgbo.destruction_track" {
  title  = "Verzoek tot vernietiging koppelen aan de cliënt",
  source = "BW 7:455",
  on     = "nl.avg.request.received",
  run    = function(e, act)
    if e.data.kind == "record_destruction" then
      act.set("wgbo.destruction", e.data.request_id, e.data.client_id)
    end
  end,
}
