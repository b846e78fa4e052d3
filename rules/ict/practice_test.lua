-- Tests voor het ICT-beleid van de praktijk.

local function ev(type, time, data) return { type = type, time = time, data = data } end

test "back-up dinsdag 23:30; 24 uur plus 6 uur speling: donderdag 05:30 te laat" {
  events = { ev("nl.ict.backup.completed", "2026-06-09T23:30:00+02:00",
                { system = "ecd", completed_at = "2026-06-09T23:30:00+02:00" }) },
  at = "2026-06-11T08:00:00+02:00",
  obligations = { { kind = "ict.daily_backup", subject = "ecd", status = "overdue",
                    due_at = "2026-06-11T03:30:00Z" } },
  alerts = { { kind = "obligo.obligation_overdue", subject = "ecd", count = 1 } },
}

test "een oudere back-up die later gemeld wordt, haalt de volgende termijn niet naar voren" {
  -- De back-up van woensdag 23:00 is al gemeld; daarna komt de melding van die
  -- van dinsdag 23:30 binnen. De termijn blijft 30 uur na woensdag 23:00:
  -- vrijdag 05:00 (zomertijd), niet donderdag 05:30.
  events = { ev("nl.ict.backup.completed", "2026-06-10T23:00:00+02:00",
                { system = "ecd", completed_at = "2026-06-10T23:00:00+02:00" }),
             ev("nl.ict.backup.completed", "2026-06-11T00:10:00+02:00",
                { system = "ecd", completed_at = "2026-06-09T23:30:00+02:00" }) },
  at = "2026-06-11T08:00:00+02:00",
  obligations = { { kind = "ict.daily_backup", subject = "ecd", status = "open",
                    due_at = "2026-06-12T03:00:00Z" } },
  absent_alerts = { { kind = "obligo.obligation_overdue", subject = "ecd" } },
}

test "verlopen termijn: de melding van een nog oudere back-up vervult de gemiste periode niet" {
  -- Na de back-up van dinsdag 23:30 blijft die van woensdag uit: donderdag
  -- 05:30 is de termijn verstreken. Dat daarna de back-up van maandag nog
  -- gemeld wordt, verandert daar niets aan: nog steeds één plicht, verlopen.
  events = { ev("nl.ict.backup.completed", "2026-06-09T23:30:00+02:00",
                { system = "ecd", completed_at = "2026-06-09T23:30:00+02:00" }),
             ev("nl.ict.backup.completed", "2026-06-11T07:00:00+02:00",
                { system = "ecd", completed_at = "2026-06-08T23:30:00+02:00" }) },
  at = "2026-06-11T08:00:00+02:00",
  obligations = { { kind = "ict.daily_backup", subject = "ecd", status = "overdue",
                    due_at = "2026-06-11T03:30:00Z" } },
  alerts = { { kind = "obligo.obligation_overdue", subject = "ecd", count = 1 } },
}

test "software zonder goedkeuring" {
  events = { ev("nl.ict.software.installed", "2026-06-03T09:00:00+02:00",
                { device_id = "LT-3", software = "dropbox", installed_by = "U9", approved = false }),
             ev("nl.ict.software.installed", "2026-06-03T09:10:00+02:00",
                { device_id = "LT-4", software = "ecd", installed_by = "beheer", approved = true }) },
  alerts = { { kind = "ict.unapproved_software", subject = "LT-3", count = 1 } },
  absent_alerts = { { kind = "ict.unapproved_software", subject = "LT-4" } },
}

test "printer afgevoerd met alleen bestanden gewist; laptop overschreven" {
  events = { ev("nl.ict.device.decommissioned", "2026-05-02T10:00:00+02:00",
                { device_id = "PRN-1", kind = "printer", wipe = "delete_files" }),
             ev("nl.ict.device.decommissioned", "2026-05-02T10:10:00+02:00",
                { device_id = "LT-7", kind = "laptop", wipe = "overwrite" }) },
  alerts = { { kind = "ict.insufficient_wipe", subject = "PRN-1", count = 1 } },
  absent_alerts = { { kind = "ict.insufficient_wipe", subject = "LT-7" } },
}

test "persoonsgegevens per e-mail; via Zorgmail niet" {
  events = { ev("nl.ict.message.sent", "2026-05-01T10:00:00+02:00",
                { channel = "email", personal_data = true, recipient = "x@example.org" }),
             ev("nl.ict.message.sent", "2026-05-01T10:05:00+02:00",
                { channel = "zorgmail", personal_data = true, recipient = "huisarts" }) },
  alerts = { { kind = "ict.insecure_channel", count = 1 } },
}

test "cloud buiten de EU, webformulier zonder TLS, gastwifi naar binnen" {
  events = { ev("nl.ict.cloud.used", "2026-05-01T10:00:00+02:00",
                { service = "notities", provider = "x", region = "US", processing_agreement = true,
                  personal_data = true }),
             ev("nl.ict.cloud.used", "2026-05-01T10:01:00+02:00",
                { service = "agenda", provider = "y", region = "NL", processing_agreement = true }),
             ev("nl.ict.webform.checked", "2026-05-01T10:02:00+02:00",
                { url = "http://praktijk.example/aanmelden", tls = false, personal_data = true }),
             ev("nl.ict.wifi.checked", "2026-05-01T10:03:00+02:00",
                { network = "gasten", guest = true, reaches_internal = true }) },
  alerts = { { kind = "ict.cloud_outside_eu", subject = "notities", count = 1 },
             { kind = "ict.webform_without_tls", count = 1 },
             { kind = "ict.guest_wifi_internal", subject = "gasten", count = 1 } },
  absent_alerts = { { kind = "ict.cloud_outside_eu", subject = "agenda" } },
}

test "de checklist besproken; de volgende bespreking is een maand later verschuldigd" {
  events = { ev("nl.ict.checklist.reviewed", "2026-05-12T12:00:00+02:00",
                { meeting_at = "2026-05-12T12:00:00+02:00", attendees = "team" }) },
  at = "2026-05-13T00:00:00+02:00",
  -- 12 juni 2026 is een vrijdag
  obligations = { { kind = "ict.checklist_review", subject = "praktijk", status = "open",
                    due_at = "2026-06-12T21:59:59Z" } },
}
