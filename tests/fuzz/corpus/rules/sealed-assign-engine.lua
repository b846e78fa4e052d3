rule "f.act" { title = "x", source = "y", on = "nl.avg.breach.reported",
  run = function(e, act, state)
    pcall(function() act.open = function() end end)
    pcall(function() state.get = nil end)
    pcall(function() hours = nil end)
    pcall(function() string.upper = nil end)
    pcall(function() e.data.personal_data = "no" end)
    pcall(function() e.data.user.id = "other" end)
    pcall(function() table.insert(e.data.categories, "x") end)
    act.open("avg.notify_ap", e.data.breach_id, { from = e.data.aware_at })
  end }
