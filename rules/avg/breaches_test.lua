-- Tests voor de datalekregels (AVG art. 33-34). Tijden met offset; de
-- verwachte termijnen zijn met de hand uitgerekend (72 uur verstreken tijd,
-- de uiterste grens vanaf het volgende hele uur).

local function reported(id, at, extra)
  local data = { breach_id = id, aware_at = at, description = "test", personal_data = "yes" }
  for k, v in pairs(extra or {}) do data[k] = v end
  return { type = "nl.avg.breach.reported", time = at, data = data }
end

test "melding binnen 72 uur, met de wettelijke uiterste grens" {
  events = { reported("B-1", "2026-02-02T09:15:00+01:00") },
  at = "2026-02-03T12:00:00+01:00",
  obligations = { { kind = "avg.notify_ap", subject = "B-1", status = "open",
                    due_at = "2026-02-05T08:15:00Z", legal_limit = "2026-02-05T09:00:00Z" } },
  register = { datalekken = { { key = "B-1", data = { status = "reported" } } } },
}

test "72 uur lopen door het weekend; daarna te laat met signaal" {
  events = { reported("B-2", "2026-01-16T21:40:00+01:00", { personal_data = "unknown" }) },
  at = "2026-01-20T00:00:00+01:00",
  obligations = { { kind = "avg.notify_ap", subject = "B-2", status = "overdue",
                    due_at = "2026-01-19T20:40:00Z" } },
  alerts = { { kind = "obligo.obligation_overdue", subject = "B-2", count = 1 } },
}

test "wintertijd: 72 uur na vrijdag 18:00 CEST is maandag 17:00 CET; melding 17:30 is te laat" {
  events = {
    reported("B-3", "2025-10-24T18:00:00+02:00"),
    { type = "nl.avg.breach.notified", time = "2025-10-27T17:30:00+01:00",
      data = { breach_id = "B-3", reference = "AP-3", notified_at = "2025-10-27T17:30:00+01:00" } },
  },
  at = "2025-10-28T12:00:00+01:00",
  obligations = { { kind = "avg.notify_ap", subject = "B-3", status = "late",
                    due_at = "2025-10-27T16:00:00Z" } },
  alerts = { { kind = "avg.late_notification", subject = "B-3", severity = "critical" } },
}

test "gefaseerde melding: de eerste opent het aanvullen (14 dagen), de volledige sluit het" {
  events = {
    reported("B-5", "2026-05-04T11:00:00+02:00"),
    { type = "nl.avg.breach.notified", time = "2026-05-05T10:00:00+02:00",
      data = { breach_id = "B-5", reference = "AP-5", notified_at = "2026-05-05T10:00:00+02:00",
               phase = "initial" } },
    { type = "nl.avg.breach.notified", time = "2026-05-08T15:00:00+02:00",
      data = { breach_id = "B-5", reference = "AP-5", notified_at = "2026-05-08T15:00:00+02:00",
               phase = "complete" } },
  },
  at = "2026-06-01T00:00:00+02:00",
  obligations = {
    { kind = "avg.notify_ap", subject = "B-5", status = "fulfilled" },
    { kind = "avg.complete_notification", subject = "B-5", status = "fulfilled",
      due_at = "2026-05-19T08:00:00Z" },
  },
}

test "hoog risico, gemeld, ingetrokken: informeren vervalt, de registratie blijft" {
  events = {
    reported("B-6", "2026-03-03T09:00:00+01:00"),
    { type = "nl.avg.breach.assessed", time = "2026-03-03T12:00:00+01:00",
      data = { breach_id = "B-6", risk = "high", rationale = "gezondheidsgegevens" } },
    { type = "nl.avg.breach.notified", time = "2026-03-04T10:00:00+01:00",
      data = { breach_id = "B-6", reference = "AP-6", notified_at = "2026-03-04T10:00:00+01:00" } },
    { type = "nl.avg.breach.withdrawn", time = "2026-03-05T19:00:00+01:00",
      data = { breach_id = "B-6", rationale = "versleuteld, sleutel veilig" } },
  },
  at = "2026-03-20T00:00:00+01:00",
  obligations = {
    { kind = "avg.notify_ap", subject = "B-6", status = "fulfilled" },
    { kind = "avg.inform_subjects", subject = "B-6", status = "cancelled" },
  },
  absent_alerts = { { kind = "obligo.obligation_overdue" } },
  register = { datalekken = { { key = "B-6", data = { status = "withdrawn", risk = "high" } } } },
}

test "betrokkenen geïnformeerd op tijd; daarna afgesloten met maatregelen" {
  events = {
    reported("B-9", "2026-03-03T09:00:00+01:00"),
    { type = "nl.avg.breach.assessed", time = "2026-03-03T12:00:00+01:00",
      data = { breach_id = "B-9", risk = "high", rationale = "bsn" } },
    { type = "nl.avg.breach.subjects_informed", time = "2026-03-04T12:00:00+01:00",
      data = { breach_id = "B-9", informed_at = "2026-03-04T12:00:00+01:00", channel = "brief" } },
    { type = "nl.avg.breach.closed", time = "2026-03-10T12:00:00+01:00",
      data = { breach_id = "B-9", measures = "training" } },
  },
  at = "2026-03-04T13:00:00+01:00",
  obligations = { { kind = "avg.inform_subjects", subject = "B-9", status = "fulfilled" } },
  register = { datalekken = { { key = "B-9", data = { subjects_informed = true } } } },
}

test "geen persoonsgegevens: wel in het register, geen meldplicht" {
  events = { reported("B-7", "2026-04-01T08:00:00+02:00", { personal_data = "no" }) },
  at = "2026-04-10T00:00:00+02:00",
  absent_obligations = { { kind = "avg.notify_ap", subject = "B-7" } },
  register = { datalekken = { { key = "B-7" } } },
}

test "waarschijnlijk geen risico: de meldplicht vervalt met motivering" {
  events = {
    reported("B-8", "2026-04-02T08:00:00+02:00", { cause = "lost_device", unintelligible = true }),
    { type = "nl.avg.breach.assessed", time = "2026-04-02T11:00:00+02:00",
      data = { breach_id = "B-8", risk = "unlikely", rationale = "volledige schijfversleuteling" } },
  },
  at = "2026-04-10T00:00:00+02:00",
  obligations = { { kind = "avg.notify_ap", subject = "B-8", status = "cancelled" } },
  register = { datalekken = { { key = "B-8", data = { risk = "unlikely" } } } },
}

test "dezelfde melding twee keer verandert niets; een tweede melding met dezelfde dedup_key hoort bij het eerste lek" {
  events = {
    reported("B-18", "2026-06-01T10:02:00+02:00", { dedup_key = "msg-778" }),
    { id = "test-1", type = "nl.avg.breach.reported", time = "2026-06-01T10:02:00+02:00",
      data = { breach_id = "B-18", aware_at = "2026-06-01T10:02:00+02:00", description = "test",
               personal_data = "yes", dedup_key = "msg-778" } },
    reported("B-18b", "2026-06-01T10:05:00+02:00", { dedup_key = "msg-778" }),
  },
  at = "2026-06-02T00:00:00+02:00",
  obligations = { { kind = "avg.notify_ap", subject = "B-18", due_at = "2026-06-04T08:02:00Z" } },
  absent_obligations = { { kind = "avg.notify_ap", subject = "B-18b" } },
}

-- Wat het meldformulier van de AP vraagt, bewaard in het register.

test "een melding met de velden van het meldformulier: het register houdt ze alle" {
  events = {
    reported("B-20", "2026-03-02T09:00:00+01:00", {
      started_at = "2026-03-01T22:00:00+01:00", ended_at = "2026-03-02T08:30:00+01:00",
      ongoing = false, groups = { "clients", "minors" },
      consequences = { "damage_to_health", "identity_fraud" },
      consequences_note = "dossiers van jeugdcliënten", measures_taken = "stick op afstand gewist",
      measures_planned = "alleen versleutelde sticks", cross_border = "no", countries = { "BE" },
      subjects_message = "brief over het verlies",
      reporter = { name = "A. Jansen", email = "fg@praktijk.nl" },
    }),
  },
  at = "2026-03-02T10:00:00+01:00",
  register = { datalekken = { { key = "B-20", data = {
    started_at = "2026-03-01T22:00:00+01:00", ended_at = "2026-03-02T08:30:00+01:00",
    ongoing = false, groups = { "clients", "minors" },
    consequences = { "damage_to_health", "identity_fraud" },
    consequences_note = "dossiers van jeugdcliënten", measures_taken = "stick op afstand gewist",
    measures_planned = "alleen versleutelde sticks", cross_border = "no", countries = { "BE" },
    subjects_message = "brief over het verlies",
    reporter = { name = "A. Jansen", email = "fg@praktijk.nl" },
  } } } },
}

test "een latere beoordeling werkt de velden van het formulier bij; wat ze niet noemt blijft" {
  events = {
    reported("B-21", "2026-03-02T09:00:00+01:00", {
      groups = { "clients" }, cross_border = "unknown", measures_taken = "wachtwoorden gewijzigd",
      ongoing = true,
    }),
    { type = "nl.avg.breach.assessed", time = "2026-03-02T15:00:00+01:00",
      data = { breach_id = "B-21", risk = "high", rationale = "inloggegevens",
               records_affected = 800, groups = { "clients", "employees" },
               consequences = { "financial_loss", "other" }, consequences_note = "phishing",
               measures_planned = "tweestapsverificatie", cross_border = "yes",
               countries = { "DE", "BE" } } },
  },
  at = "2026-03-02T16:00:00+01:00",
  register = { datalekken = { { key = "B-21", data = {
    status = "assessed", records_affected = 800, groups = { "clients", "employees" },
    consequences = { "financial_loss", "other" }, consequences_note = "phishing",
    measures_planned = "tweestapsverificatie", cross_border = "yes", countries = { "DE", "BE" },
    measures_taken = "wachtwoorden gewijzigd", ongoing = true,
  } } } },
}

test "gefaseerde melding: elke fase blijft in notifications, de laatste ook in notified_at" {
  events = {
    reported("B-22", "2026-05-04T11:00:00+02:00"),
    { type = "nl.avg.breach.notified", time = "2026-05-05T10:00:00+02:00",
      data = { breach_id = "B-22", reference = "AP-22", notified_at = "2026-05-05T10:00:00+02:00",
               phase = "initial" } },
    { type = "nl.avg.breach.notified", time = "2026-05-08T15:00:00+02:00",
      data = { breach_id = "B-22", reference = "AP-22b", notified_at = "2026-05-08T15:00:00+02:00",
               phase = "supplement", delay_reasons = "onderzoek verwerker" } },
  },
  at = "2026-05-09T00:00:00+02:00",
  register = { datalekken = { { key = "B-22", data = {
    notified_at = "2026-05-08T15:00:00+02:00", ap_reference = "AP-22b",
    notification_phase = "supplement",
    notifications = {
      { phase = "initial", notified_at = "2026-05-05T10:00:00+02:00", reference = "AP-22" },
      { phase = "supplement", notified_at = "2026-05-08T15:00:00+02:00", reference = "AP-22b",
        delay_reasons = "onderzoek verwerker" },
    },
  } } } },
}

test "een melding zonder fase telt als volledig, ook in notifications" {
  events = {
    reported("B-23", "2026-05-04T11:00:00+02:00"),
    { type = "nl.avg.breach.notified", time = "2026-05-05T10:00:00+02:00",
      data = { breach_id = "B-23", reference = "AP-23", notified_at = "2026-05-05T10:00:00+02:00" } },
  },
  at = "2026-05-06T00:00:00+02:00",
  register = { datalekken = { { key = "B-23", data = {
    notifications = { { phase = "complete", notified_at = "2026-05-05T10:00:00+02:00",
                        reference = "AP-23" } },
  } } } },
}

test "het bericht aan de betrokkenen komt in het register" {
  events = {
    reported("B-24", "2026-03-03T09:00:00+01:00"),
    { type = "nl.avg.breach.subjects_informed", time = "2026-03-04T12:00:00+01:00",
      data = { breach_id = "B-24", informed_at = "2026-03-04T12:00:00+01:00", channel = "e-mail",
               count = 40, message = "Uw gegevens stonden op een verloren USB-stick." } },
  },
  at = "2026-03-04T13:00:00+01:00",
  register = { datalekken = { { key = "B-24", data = {
    subjects_informed = true, subjects_channel = "e-mail", subjects_count = 40,
    subjects_message = "Uw gegevens stonden op een verloren USB-stick.",
  } } } },
}
