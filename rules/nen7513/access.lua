-- Logging van toegang tot cliëntdossiers (NEN 7513, Besluit elektronische
-- gegevensverwerking door zorgaanbieders). De HAGA-boete ging over precies
-- dit: medewerkers zonder behandelrelatie in een dossier, geen
-- tweefactorauthenticatie, en niemand die de logging controleerde.

local function who(e)
  local u = e.data.user
  return u.id .. (u.role and (" (" .. u.role .. ")") or "")
end

rule "nen7513.no_treatment_relation" {
  title  = "Dossier geopend zonder behandelrelatie",
  source = "NEN 7513; Wabvpz art. 15d; AVG art. 9",
  on     = "nl.nen7513.access",
  run    = function(e, act)
    local d = e.data
    if d.treatment_relation == false and d.emergency ~= true and d.outcome ~= "failure" then
      act.alert("nen7513.no_treatment_relation", d.client_id, {
        severity = "warning",
        message  = "Gebruiker " .. who(e) .. " opende op " .. fmt(e.time) .. " het dossier van " ..
                   "cliënt " .. d.client_id .. " (" .. d.action .. ") zonder behandelrelatie. " ..
                   "Vraag de gebruiker naar de reden en leg de uitkomst vast.",
      })
    end
  end,
}

rule "nen7513.emergency_without_reason" {
  title  = "Noodtoegang (break-the-glass) zonder opgegeven reden",
  source = "NEN 7513; NEN 7510 9.4",
  on     = "nl.nen7513.access",
  run    = function(e, act)
    local d = e.data
    if d.emergency == true and (d.reason == nil or d.reason:match("^%s*$")) then
      act.alert("nen7513.emergency_without_reason", d.client_id, {
        severity = "warning",
        message  = "Noodtoegang door " .. who(e) .. " tot het dossier van cliënt " .. d.client_id ..
                   " op " .. fmt(e.time) .. " zonder reden. Laat de reden alsnog vastleggen " ..
                   "en beoordeel of de toegang gerechtvaardigd was.",
      })
    end
  end,
}

rule "nen7513.weak_authentication" {
  title  = "Toegang tot een dossier met alleen een wachtwoord",
  source = "NEN 7510 9.4.2; Besluit elektronische gegevensverwerking art. 3",
  on     = "nl.nen7513.access",
  run    = function(e, act)
    local d = e.data
    if d.authentication == "password" then
      act.alert("nen7513.weak_authentication", d.client_id, {
        severity = "warning",
        message  = "Gebruiker " .. who(e) .. " opende het dossier van cliënt " .. d.client_id ..
                   " in " .. d.system .. " met alleen een wachtwoord. Dwing " ..
                   "tweefactorauthenticatie af voor dit systeem.",
      })
    end
  end,
}

-- Veel verschillende gebruikers in één VIP-dossier binnen korte tijd.
rule "nen7513.vip_burst" {
  title  = "Veel gebruikers in één VIP-dossier binnen korte tijd",
  source = "NEN 7513; AP-boete HAGA (2019)",
  on     = "nl.nen7513.access",
  run    = function(e, act, state)
    local d = e.data
    if d.vip ~= true then return end
    local window = policy("nen7513.vip_burst.window_hours", 2) * 3600
    local threshold = policy("nen7513.vip_burst.users", 5)
    local now = time(e.time)
    local seen = state.get("nen7513.vip", d.client_id) or { users = {}, alerted_until = 0 }
    local users, distinct = {}, 0
    for user, t in pairs(seen.users) do
      if now - t < window then users[user] = t end
    end
    users[d.user.id] = now
    for _ in pairs(users) do distinct = distinct + 1 end
    local alerted_until = seen.alerted_until or 0
    if distinct >= threshold and now >= alerted_until then
      act.alert("nen7513.vip_burst", d.client_id, {
        severity = "critical",
        message  = distinct .. " verschillende gebruikers openden binnen " ..
                   (window // 3600) .. " uur het VIP-dossier van cliënt " .. d.client_id ..
                   ". Controleer direct of elke toegang nodig was.",
        data     = { users = distinct },
      })
      alerted_until = now + window
    end
    act.set("nen7513.vip", d.client_id, { users = users, alerted_until = alerted_until })
  end,
}

rule "nen7513.purge_blocked" {
  title  = "Logregels jonger dan vijf jaar mogen niet worden verwijderd",
  source = "NEN 7513 (bewaartermijn logging: ten minste 5 jaar)",
  on     = "nl.nen7513.purge",
  run    = function(e, act)
    local d = e.data
    local keep = policy("nen7513.log_retention_years", 5)
    -- Elke regel van vóór written_before moet minstens `keep` jaar oud zijn,
    -- dus written_before mag niet later liggen dan nu min de bewaartermijn.
    local youngest_allowed = back(e.time, years(keep))
    if time(d.written_before) > youngest_allowed then
      local system = d.system or "onbekend"
      act.alert("nen7513.purge_blocked", system, {
        severity = "critical",
        message  = "Verzoek om logregels van " .. system .. " van vóór " .. d.written_before ..
                   " te verwijderen is geblokkeerd: een deel is jonger dan " .. keep ..
                   " jaar. Verwijder alleen regels van vóór " .. fmt(youngest_allowed) .. ".",
      })
    end
  end,
}

-- Controle van de logging: elke periode wordt beoordeeld; de volgende
-- beoordeling is een maand na het einde van de beoordeelde periode
-- verschuldigd. De plicht begint bij de eerste vastgelegde beoordeling.
obligation "nen7513.review_logs" {
  title  = "Toegangslogging periodiek controleren",
  source = "NEN 7513; Besluit elektronische gegevensverwerking door zorgaanbieders art. 3",
  due    = months(policy("nen7513.review_logs.months", 1)),
  remind = { before(days(7)) },
}

rule "nen7513.review" {
  title  = "Een vastgelegde controle van de logging zet de volgende termijn",
  source = "NEN 7513",
  on     = "nl.nen7513.review",
  run    = function(e, act)
    -- de controle sluit de lopende termijn (op tijd, of te laat) en zet de
    -- volgende; zonder lopende termijn zet zij alleen de volgende
    act.fulfil("nen7513.review_logs", "toegangslogging", { at = e.time })
    act.open("nen7513.review_logs", "toegangslogging", { from = e.data.period_end,
      data = { reviewer = e.data.reviewer } })
  end,
}
