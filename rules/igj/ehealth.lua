-- E-health volgens het IGJ Toetsingskader: een risicobeoordeling op vijf
-- thema's vóór livegang, en herstel van thema's die niet voldoen.

obligation "igj.ehealth_remediate" {
  title  = "Tekortkoming uit de e-healthbeoordeling herstellen",
  source = "IGJ Toetsingskader e-health",
  due    = days(policy("igj.ehealth_remediate.days", 90)),
  remind = { before(days(14)) },
}

local themes = { "governance", "implementation", "client_participation",
                 "information_security", "chain_cooperation" }

rule "igj.ehealth.assessed" {
  title  = "Per thema dat niet voldoet een herstelplicht; een later voldoende thema sluit die",
  source = "IGJ Toetsingskader e-health",
  on     = "nl.igj.ehealth.assessed",
  run    = function(e, act)
    local d = e.data
    local failed = false
    for _, theme in ipairs(themes) do
      local score = d.themes[theme]
      local subject = d.application .. "/" .. theme
      if score == "fail" then
        failed = true
        act.open("igj.ehealth_remediate", subject, { from = e.time })
      elseif score == "pass" then
        act.fulfil("igj.ehealth_remediate", subject, { at = e.time })
      end
    end
    act.set("igj.assessment", d.application, { at = e.time, passed = not failed })
  end,
}

rule "igj.live_without_assessment" {
  title  = "E-healthtoepassing live zonder geslaagde risicobeoordeling",
  source = "IGJ Toetsingskader e-health",
  on     = "nl.igj.ehealth.live",
  run    = function(e, act, state)
    local app = e.data.application
    local a = state.get("igj.assessment", app)
    if not a or not a.passed then
      act.alert("igj.live_without_assessment", app, {
        severity = "critical",
        message  = "E-healthtoepassing " .. app .. " is live gegaan " ..
                   (a and "terwijl de risicobeoordeling thema's heeft die niet voldoen"
                      or "zonder risicobeoordeling") ..
                   ". Voer de beoordeling uit volgens het IGJ-toetsingskader.",
      })
    end
  end,
}
