-- Tests voor incidentmeldingen aan Z-CERT (Cyberbeveiligingswet, NIS2).

test "vroege waarschuwing te laat, melding op tijd, eindrapport een maand na de melding" {
  events = {
    { type = "nl.cbw.incident.detected", time = "2026-03-02T09:00:00+01:00",
      data = { incident_id = "I-1", aware_at = "2026-03-02T09:00:00+01:00", significant = true } },
    { type = "nl.cbw.incident.reported", time = "2026-03-04T09:00:00+01:00",
      data = { incident_id = "I-1", stage = "notification", reported_at = "2026-03-04T09:00:00+01:00" } },
  },
  at = "2026-03-05T00:00:00+01:00",
  -- 4 april is een zaterdag, 5 en 6 april zijn Pasen: dinsdag 7 april 23:59:59 CEST
  obligations = {
    { kind = "cbw.early_warning", subject = "I-1", status = "late", due_at = "2026-03-03T08:00:00Z" },
    { kind = "cbw.notification", subject = "I-1", status = "fulfilled", due_at = "2026-03-05T08:00:00Z" },
    { kind = "cbw.final_report", subject = "I-1", status = "open", due_at = "2026-04-07T21:59:59Z" },
  },
}
