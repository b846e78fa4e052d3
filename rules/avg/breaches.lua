-- Datalekken (AVG art. 33 en 34): melden bij de Autoriteit Persoonsgegevens,
-- het datalekkenregister bijhouden en betrokkenen informeren.
--
-- Elke melding van een datalek komt in het register `datalekken`, ook als er
-- geen persoonsgegevens bij betrokken zijn. Meldingen met dezelfde
-- `dedup_key` zijn één datalek: het eerste `breach_id` blijft de sleutel en
-- het vroegste moment van ontdekken telt voor de termijn.

obligation "avg.notify_ap" {
  title  = "Datalek melden bij de Autoriteit Persoonsgegevens",
  source = "AVG art. 33 lid 1",
  due    = hours(72),
  remind = { before(hours(48)), before(hours(24)), before(hours(6)) },
  once   = true,
}

obligation "avg.complete_notification" {
  title  = "Gefaseerde melding bij de AP aanvullen en afronden",
  source = "AVG art. 33 lid 4",
  due    = days(policy("avg.complete_notification.days", 14)),
  remind = { before(days(3)) },
  once   = true,
}

obligation "avg.inform_subjects" {
  title  = "Betrokkenen informeren over het datalek",
  source = "AVG art. 34",
  due    = hours(policy("avg.inform_subjects.hours", 24)),
  remind = { before(hours(6)) },
  once   = true,
}

-- Het datalek waar een melding bij hoort: een later gemeld breach_id met
-- dezelfde dedup_key verwijst naar het eerste.
local function breach_of(state, id)
  return state.get("avg.breach_alias", id) or id
end

-- Wat het meldformulier van de AP verder vraagt: een melding of een latere
-- beoordeling vult deze velden in of werkt ze bij; wat een gebeurtenis niet
-- noemt, blijft zoals het was.
local FORM_FIELDS = {
  "started_at", "ended_at", "ongoing", "groups", "consequences", "consequences_note",
  "measures_taken", "measures_planned", "cross_border", "countries", "subjects_message",
}
local ASSESSED_FIELDS = {
  "records_affected", "groups", "consequences", "consequences_note", "measures_planned",
  "cross_border", "countries",
}

local function copy_given(fields, d, names)
  for _, k in ipairs(names) do
    if d[k] ~= nil then fields[k] = d[k] end
  end
  return fields
end

local function earliest(a, b)
  if a == nil then return b end
  if b == nil then return a end
  if time(a) <= time(b) then return a end
  return b
end

rule "avg.breach.reported" {
  title  = "Een gemeld datalek vastleggen en de meldplicht openen",
  source = "AVG art. 33 lid 1 en lid 5",
  on     = "nl.avg.breach.reported",
  run    = function(e, act, state)
    local d = e.data
    local id = breach_of(state, d.breach_id)
    if d.dedup_key then
      local first = state.get("avg.breach_dedup", d.dedup_key)
      if first and first ~= d.breach_id then
        id = first
        act.set("avg.breach_alias", d.breach_id, first)
      elseif not first then
        act.set("avg.breach_dedup", d.dedup_key, d.breach_id)
      end
    end

    local entry = state.register("datalekken", id) or {}
    local aware = earliest(entry.aware_at, d.aware_at)
    local reports = entry.reports or {}
    local seen = false
    for _, r in ipairs(reports) do
      if r == d.breach_id then seen = true end
    end
    if not seen then reports[#reports + 1] = d.breach_id end

    local personal = d.personal_data or "unknown"
    if entry.personal_data == "yes" or entry.personal_data == "unknown" and personal == "no" then
      personal = entry.personal_data -- een eerdere melding met (mogelijk) persoonsgegevens telt
    end

    act.register("datalekken", id, copy_given({
      status           = entry.status or "reported",
      aware_at         = aware,
      description      = entry.description or d.description,
      cause            = d.cause or entry.cause,
      personal_data    = personal,
      categories       = d.categories or entry.categories or {},
      persons_affected = d.persons_affected or entry.persons_affected,
      records_affected = d.records_affected or entry.records_affected,
      unintelligible   = d.unintelligible == true or entry.unintelligible == true,
      processor        = d.processor or entry.processor,
      reporter         = d.reporter or entry.reporter,
      dedup_key        = d.dedup_key or entry.dedup_key,
      reports          = reports,
      subjects_informed = entry.subjects_informed or false,
    }, d, FORM_FIELDS))

    -- Bij twijfel melden: "unknown" telt als "yes".
    if personal ~= "no" then
      act.open("avg.notify_ap", id, { from = aware })
    end
  end,
}

rule "avg.breach.assessed" {
  title  = "Risicobeoordeling vastleggen; geen risico sluit de meldplicht, hoog risico opent het informeren",
  source = "AVG art. 33 lid 1, art. 34 lid 1",
  on     = "nl.avg.breach.assessed",
  run    = function(e, act, state)
    local d = e.data
    local id = breach_of(state, d.breach_id)
    local fields = { status = "assessed", risk = d.risk, rationale = d.rationale }
    if d.personal_data then fields.personal_data = d.personal_data end
    if d.persons_affected then fields.persons_affected = d.persons_affected end
    copy_given(fields, d, ASSESSED_FIELDS)
    local entry = state.register("datalekken", id)
    if entry and entry.status ~= "reported" and entry.status ~= "assessed" then
      fields.status = entry.status -- een beoordeling na de melding verandert de status niet terug
    end
    act.register("datalekken", id, fields)

    if d.personal_data == "no" then
      act.cancel("avg.notify_ap", id,
        { rationale = "Geen persoonsgegevens betrokken: " .. d.rationale })
    elseif d.risk == "unlikely" then
      act.cancel("avg.notify_ap", id,
        { rationale = "Waarschijnlijk geen risico: " .. d.rationale })
    elseif d.risk == "high" then
      -- Betrokkenen informeren binnen de beleidstermijn na de meldtermijn
      -- bij de AP (de uiterste meldtijd), zodat melden en informeren samen
      -- gepland kunnen worden.
      local ap = state.obligation("avg.notify_ap", id)
      local from = (ap and ap.due_at) or (entry and entry.aware_at) or e.time
      act.open("avg.inform_subjects", id, { from = from })
    end
  end,
}

rule "avg.breach.notified" {
  title  = "Melding bij de AP vastleggen; een te late melding signaleren",
  source = "AVG art. 33 lid 1 en lid 4",
  on     = "nl.avg.breach.notified",
  run    = function(e, act, state)
    local d = e.data
    local id = breach_of(state, d.breach_id)
    local phase = d.phase or "complete"
    local ap = state.obligation("avg.notify_ap", id)

    if ap and (ap.status == "open" or ap.status == "overdue") and time(d.notified_at) > ap.due_at then
      local reasons = d.delay_reasons
      act.alert("avg.late_notification", id, {
        severity = reasons and "warning" or "critical",
        message  = "Datalek " .. id .. " is op " .. fmt(d.notified_at) ..
                   " bij de AP gemeld, na de termijn van 72 uur (uiterlijk " .. fmt(ap.due_at) .. "). " ..
                   (reasons and ("Opgegeven reden van de vertraging: " .. reasons .. ".")
                            or "Er is geen reden voor de vertraging opgegeven; de AVG eist die. " ..
                               "Vul de melding aan met de redenen."),
      })
    end

    act.fulfil("avg.notify_ap", id, { at = d.notified_at })
    if phase == "initial" then
      act.open("avg.complete_notification", id, { from = d.notified_at })
    elseif phase == "complete" then
      act.fulfil("avg.complete_notification", id, { at = d.notified_at })
    end
    -- Elke fase blijft bewaard (art. 33 lid 4: de melding mag in stappen);
    -- notified_at en de velden ernaast zijn die van de laatste. Een entry van
    -- voor deze lijst begint met de melding die ze al had.
    local entry = state.register("datalekken", id) or {}
    local notifications = entry.notifications
    if notifications == nil then
      notifications = {}
      if entry.notified_at then
        notifications[1] = { phase = entry.notification_phase, notified_at = entry.notified_at,
                             reference = entry.ap_reference, delay_reasons = entry.delay_reasons }
      end
    end
    notifications[#notifications + 1] = { phase = phase, notified_at = d.notified_at,
                                          reference = d.reference, delay_reasons = d.delay_reasons }
    act.register("datalekken", id, {
      status          = "notified",
      ap_reference    = d.reference,
      notified_at     = d.notified_at,
      notification_phase = phase,
      delay_reasons   = d.delay_reasons,
      notifications   = notifications,
    })
  end,
}

rule "avg.breach.withdrawn" {
  title  = "Ingetrokken melding: open plichten vervallen, de registratie blijft",
  source = "AVG art. 33 lid 5",
  on     = "nl.avg.breach.withdrawn",
  run    = function(e, act, state)
    local d = e.data
    local id = breach_of(state, d.breach_id)
    local why = "Ingetrokken: " .. d.rationale
    act.cancel("avg.notify_ap", id, { rationale = why })
    act.cancel("avg.complete_notification", id, { rationale = why })
    act.cancel("avg.inform_subjects", id, { rationale = why })
    act.register("datalekken", id, { status = "withdrawn", rationale = d.rationale })
  end,
}

rule "avg.breach.subjects_informed" {
  title  = "Informeren van betrokkenen vastleggen, of de uitzondering met motivering",
  source = "AVG art. 34 lid 1 en lid 3",
  on     = "nl.avg.breach.subjects_informed",
  run    = function(e, act, state)
    local d = e.data
    local id = breach_of(state, d.breach_id)
    if d.exception then
      act.cancel("avg.inform_subjects", id, {
        rationale = "Uitzondering art. 34 lid 3 (" .. d.exception .. ")" ..
                    (d.rationale and (": " .. d.rationale) or ""),
      })
      act.register("datalekken", id, {
        subjects_informed = false,
        subjects_exception = d.exception,
        subjects_rationale = d.rationale,
      })
    else
      act.fulfil("avg.inform_subjects", id, { at = d.informed_at })
      act.register("datalekken", id, {
        subjects_informed = true,
        subjects_informed_at = d.informed_at,
        subjects_channel = d.channel,
        subjects_count = d.count,
        subjects_message = d.message,
      })
    end
  end,
}

rule "avg.breach.closed" {
  title  = "Datalek afsluiten met de genomen maatregelen",
  source = "AVG art. 33 lid 5",
  on     = "nl.avg.breach.closed",
  run    = function(e, act, state)
    local d = e.data
    local id = breach_of(state, d.breach_id)
    act.register("datalekken", id, { status = "closed", measures = d.measures })
  end,
}
