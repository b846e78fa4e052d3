-- Tests voor de toegangslogging (NEN 7513).

local function access(id, client, time, data)
  local d = { user = { id = id, role = "verpleegkundige" }, client_id = client, action = "read",
              system = "ecd", authentication = "2fa" }
  for k, v in pairs(data or {}) do d[k] = v end
  return { type = "nl.nen7513.access", time = time, data = d }
end

test "dossier geopend zonder behandelrelatie; met behandelrelatie geen signaal" {
  events = {
    access("U1", "C9", "2026-04-14T13:22:00+02:00", { treatment_relation = false }),
    access("U2", "C10", "2026-04-14T13:25:00+02:00", { treatment_relation = true }),
  },
  alerts = { { kind = "nen7513.no_treatment_relation", subject = "C9", count = 1 } },
  absent_alerts = { { kind = "nen7513.no_treatment_relation", subject = "C10" } },
}

test "noodtoegang zonder reden; met reden geen signaal" {
  events = {
    access("U3", "C20", "2026-04-18T02:10:00+02:00", { emergency = true }),
    access("U4", "C21", "2026-04-18T02:30:00+02:00", { emergency = true, reason = "spoed" }),
  },
  alerts = { { kind = "nen7513.emergency_without_reason", subject = "C20", count = 1 } },
  absent_alerts = { { kind = "nen7513.emergency_without_reason", subject = "C21" } },
}

test "alleen een wachtwoord" {
  events = { access("U5", "C30", "2026-04-18T09:00:00+02:00", { authentication = "password" }) },
  alerts = { { kind = "nen7513.weak_authentication", subject = "C30", count = 1 } },
}

test "vijf gebruikers in twee uur in een VIP-dossier: één signaal" {
  events = {
    access("U1", "VIP", "2026-05-01T11:00:00+02:00", { vip = true }),
    access("U2", "VIP", "2026-05-01T11:10:00+02:00", { vip = true }),
    access("U3", "VIP", "2026-05-01T11:20:00+02:00", { vip = true }),
    access("U4", "VIP", "2026-05-01T11:30:00+02:00", { vip = true }),
    access("U5", "VIP", "2026-05-01T11:40:00+02:00", { vip = true }),
    access("U6", "VIP", "2026-05-01T11:50:00+02:00", { vip = true }),
  },
  alerts = { { kind = "nen7513.vip_burst", subject = "VIP", count = 1, severity = "critical" } },
}

-- Een test met een eigen beleid: zo bewijst de FG dat een lagere drempel
-- doet wat zij verwacht, los van de standaard van het pakket.
test "met beleid drie gebruikers: drie in één uur geven een signaal, twee niet" {
  policy = { ["nen7513.vip_burst.users"] = 3, ["nen7513.vip_burst.window_hours"] = 1 },
  events = {
    access("U1", "VIP2", "2026-05-02T11:00:00+02:00", { vip = true }),
    access("U2", "VIP2", "2026-05-02T11:20:00+02:00", { vip = true }),
    access("U1", "VIP3", "2026-05-02T12:00:00+02:00", { vip = true }),
    access("U2", "VIP3", "2026-05-02T12:30:00+02:00", { vip = true }),
    access("U3", "VIP3", "2026-05-02T12:50:00+02:00", { vip = true }),
  },
  alerts = { { kind = "nen7513.vip_burst", subject = "VIP3", count = 1, severity = "critical" } },
  absent_alerts = { { kind = "nen7513.vip_burst", subject = "VIP2" } },
}

test "logregels jonger dan vijf jaar verwijderen is geblokkeerd" {
  events = {
    { type = "nl.nen7513.purge", time = "2026-10-01T09:00:00+02:00",
      data = { written_before = "2022-03-01", system = "ecd" } },
    { type = "nl.nen7513.purge", time = "2026-10-01T09:05:00+02:00",
      data = { written_before = "2021-06-01", system = "archief" } },
  },
  alerts = { { kind = "nen7513.purge_blocked", subject = "ecd", count = 1 } },
  absent_alerts = { { kind = "nen7513.purge_blocked", subject = "archief" } },
}

test "een controle van de logging zet de volgende een maand na de gecontroleerde periode" {
  events = {
    { type = "nl.nen7513.review", time = "2026-04-03T10:00:00+02:00",
      data = { period_start = "2026-03-01", period_end = "2026-03-31", reviewer = "FG" } },
  },
  at = "2026-04-04T00:00:00+02:00",
  -- 31 maart 00:00 + een maand: 30 april 23:59:59 CEST (de 31e bestaat niet)
  obligations = { { kind = "nen7513.review_logs", subject = "toegangslogging", status = "open",
                    due_at = "2026-04-30T21:59:59Z" } },
}

test "de volgende controle sluit de lopende termijn op tijd en zet een nieuwe" {
  events = {
    { type = "nl.nen7513.review", time = "2026-04-03T10:00:00+02:00",
      data = { period_start = "2026-03-01", period_end = "2026-03-31", reviewer = "FG" } },
    { type = "nl.nen7513.review", time = "2026-04-28T16:00:00+02:00",
      data = { period_start = "2026-04-01", period_end = "2026-04-28", reviewer = "FG" } },
  },
  at = "2026-04-29T00:00:00+02:00",
  obligations = {
    { kind = "nen7513.review_logs", subject = "toegangslogging", status = "fulfilled",
      closed_at = "2026-04-28T14:00:00Z" },
    { kind = "nen7513.review_logs", subject = "toegangslogging", status = "open",
      due_at = "2026-05-28T21:59:59Z" },
  },
}

test "een controle na het verlopen van de termijn sluit die als te laat" {
  events = {
    { type = "nl.nen7513.review", time = "2026-04-03T10:00:00+02:00",
      data = { period_start = "2026-03-01", period_end = "2026-03-31", reviewer = "FG" } },
    { type = "nl.nen7513.review", time = "2026-05-06T09:00:00+02:00",
      data = { period_start = "2026-04-01", period_end = "2026-04-30", reviewer = "FG" } },
  },
  at = "2026-05-07T00:00:00+02:00",
  obligations = {
    { kind = "nen7513.review_logs", subject = "toegangslogging", status = "late",
      closed_at = "2026-05-06T07:00:00Z" },
    { kind = "nen7513.review_logs", subject = "toegangslogging", status = "open" },
  },
  alerts = { { kind = "obligo.obligation_overdue", subject = "toegangslogging", count = 1 } },
}
