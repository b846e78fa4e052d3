obligation "f.k" { title = "t", source = "s", due = months(1), remind = { before(days(3)) }, once = true,
  opened_by = { on = "nl.avg.breach.reported", subject = "data.breach_id", at = "data.aware_at" },
  fulfilled_by = { { on = "nl.avg.breach.notified", subject = "data.breach_id" } } }
rule "f.r" { title = "t", source = "s", on = "nl.avg.breach.reported",
  run = function(e, act, state)
    local o = state.obligation("f.k", e.data.breach_id)
    local s = state.get("ns", "k")
    local r = state.register("datalekken", "B-1")
    act.open("f.k", e.data.breach_id, { from = e.time })
    act.fulfil("f.k", e.data.breach_id, { at = e.time })
    act.alert("f.alert", e.subject, { severity = "info", message = tostring(o and o.status) })
    act.set("ns", "k", { n = (s and s.count or 0) + 1, t = { 1, 2, { x = true } } })
    act.register("datalekken", e.data.breach_id, { status = "x", list = {} })
    local t = time(e.data.aware_at)
    local d = due(t, hours(policy("f.hours", 2)))
    act.extend("f.k", e.data.breach_id, { by = days(30), reason = fmt(back(d, days(1))) })
    act.cancel("f.k", e.data.breach_id)
  end }
