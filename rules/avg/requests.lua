-- Verzoeken van cliënten over hun gegevens (AVG art. 12 lid 3, art. 15-22):
-- binnen één maand reageren, te verlengen met twee maanden als de cliënt
-- binnen de eerste maand, met redenen, over de verlenging is geïnformeerd.
-- Maanden tellen volgens Verordening 1182/71 (zie periods.h): de dag van
-- ontvangst telt niet mee, en een termijn die op een zaterdag, zondag of
-- feestdag eindigt, loopt door tot het einde van de volgende werkdag.

obligation "avg.respond_request" {
  title  = "Reageren op een verzoek van een cliënt over diens gegevens",
  source = "AVG art. 12 lid 3",
  due    = months(1),
  remind = { before(days(7)), before(days(2)) },
}

-- Vernietiging van het dossier valt onder de WGBO (eigen termijn); de overige
-- verzoeken onder de AVG.
local avg_kinds = {
  access = true, rectification = true, erasure = true, restriction = true,
  portability = true, objection = true, electronic_copy = true, log_overview = true,
}

rule "avg.request.received" {
  title  = "Een verzoek van een cliënt opent de reactietermijn van een maand",
  source = "AVG art. 12 lid 3",
  on     = "nl.avg.request.received",
  run    = function(e, act, state)
    local d = e.data
    if avg_kinds[d.kind] then
      act.open("avg.respond_request", d.request_id, {
        from = d.received_at,
        data = { kind = d.kind, client_id = d.client_id },
      })
    end
  end,
}

rule "avg.request.extended" {
  title  = "Verlenging met twee maanden, alleen als die binnen de eerste maand is gemeld",
  source = "AVG art. 12 lid 3",
  on     = "nl.avg.request.extended",
  run    = function(e, act, state)
    local d = e.data
    local ob = state.obligation("avg.respond_request", d.request_id)
    if not ob or (ob.status ~= "open" and ob.status ~= "overdue") then
      return
    end
    if time(d.notified_at) <= ob.due_at then
      act.extend("avg.respond_request", d.request_id, {
        from = ob.starts_at, due = months(3), reason = d.reason,
      })
    else
      act.alert("avg.late_extension", d.request_id, {
        severity = "warning",
        message  = "Verzoek " .. d.request_id .. ": de verlenging is op " .. fmt(d.notified_at) ..
                   " gemeld, na het einde van de eerste maand (" .. fmt(ob.due_at) ..
                   "). Een verlenging is dan niet meer geldig; reageer zo snel mogelijk.",
      })
    end
  end,
}

rule "avg.request.completed" {
  title  = "Afhandeling van een verzoek vastleggen",
  source = "AVG art. 12 lid 3",
  on     = "nl.avg.request.completed",
  run    = function(e, act, state)
    act.fulfil("avg.respond_request", e.data.request_id, { at = e.data.completed_at })
  end,
}
