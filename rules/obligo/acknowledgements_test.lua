-- Tests voor het vastleggen van afgehandelde signalen.

local function acknowledged(alert, time, by, note, kind, subject)
  return { type = "nl.obligo.alert.acknowledged", time = time,
           data = { alert_id = alert, kind = kind, subject = subject, by = by, note = note } }
end

test "een afgehandeld signaal staat in het register signalen, met wie, wanneer en waarom" {
  events = {
    acknowledged("alr_7", "2026-06-09T10:15:00+02:00", "A. Jansen (FG)",
                 "Navraag gedaan: de verpleegkundige verving een collega.",
                 "nen7513.no_treatment_relation", "C-42"),
  },
  register = { signalen = { { key = "alr_7", data = {
    alert_id = "alr_7", kind = "nen7513.no_treatment_relation", subject = "C-42",
    by = "A. Jansen (FG)", note = "Navraag gedaan: de verpleegkundige verving een collega.",
    acknowledged_at = "2026-06-09T10:15:00+02:00" } } } },
}

test "een tweede afhandeling van hetzelfde signaal is een nieuwe versie; soort en onderwerp blijven" {
  events = {
    acknowledged("alr_8", "2026-06-09T10:15:00+02:00", "A. Jansen (FG)", "Bekeken.",
                 "ict.backup_missing", "ecd"),
    acknowledged("alr_8", "2026-06-10T08:00:00+02:00", "B. de Vries", "Back-up hersteld."),
    acknowledged("alr_9", "2026-06-10T08:05:00+02:00", "B. de Vries", "Geen actie nodig."),
  },
  register = { signalen = {
    { key = "alr_8", data = { by = "B. de Vries", note = "Back-up hersteld.",
                              acknowledged_at = "2026-06-10T08:00:00+02:00",
                              kind = "ict.backup_missing", subject = "ecd" } },
    { key = "alr_9", data = { alert_id = "alr_9", by = "B. de Vries" } },
  } },
}
