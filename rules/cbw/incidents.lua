-- Significante incidenten melden bij Z-CERT (NIS2 art. 23,
-- Cyberbeveiligingswet): vroege waarschuwing binnen 24 uur, melding binnen
-- 72 uur, eindrapport binnen een maand na de melding. Alleen voor
-- organisaties binnen de reikwijdte (beleid: vanaf 50 medewerkers; bij een
-- onbekend aantal gaat Obligo uit van binnen de reikwijdte).

obligation "cbw.early_warning" {
  title = "Vroege waarschuwing aan Z-CERT", source = "NIS2 art. 23 lid 4 sub a; Cbw",
  due = hours(24), remind = { before(hours(6)) }, once = true,
  fulfilled_by = { on = "nl.cbw.incident.reported", subject = "data.incident_id", at = "data.reported_at" },
}

obligation "cbw.notification" {
  title = "Incidentmelding aan Z-CERT", source = "NIS2 art. 23 lid 4 sub b; Cbw",
  due = hours(72), remind = { before(hours(24)) }, once = true,
}

obligation "cbw.final_report" {
  title = "Eindrapport aan Z-CERT", source = "NIS2 art. 23 lid 4 sub d; Cbw",
  due = months(1), remind = { before(days(7)) }, once = true,
}

local function in_scope()
  return policy("cbw.staff", 50) >= policy("cbw.min_staff", 50)
end

rule "cbw.incident.detected" {
  title  = "Een significant incident opent de meldtermijnen",
  source = "NIS2 art. 23; Cbw",
  on     = "nl.cbw.incident.detected",
  run    = function(e, act)
    local d = e.data
    if d.significant == true and in_scope() then
      act.open("cbw.early_warning", d.incident_id, { from = d.aware_at })
      act.open("cbw.notification", d.incident_id, { from = d.aware_at })
    end
  end,
}

rule "cbw.incident.reported" {
  title  = "Meldingen aan Z-CERT vastleggen; de melding opent het eindrapport",
  source = "NIS2 art. 23; Cbw",
  on     = "nl.cbw.incident.reported",
  run    = function(e, act)
    local d = e.data
    if d.stage == "notification" then
      act.fulfil("cbw.early_warning", d.incident_id, { at = d.reported_at })
      act.fulfil("cbw.notification", d.incident_id, { at = d.reported_at })
      act.open("cbw.final_report", d.incident_id, { from = d.reported_at })
    elseif d.stage == "final" then
      act.fulfil("cbw.final_report", d.incident_id, { at = d.reported_at })
    end
  end,
}
