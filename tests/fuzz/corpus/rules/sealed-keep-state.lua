local n = 0
local seen = {}
rule "f.keep" { title = "x", source = "y", on = "nl.avg.breach.reported",
  run = function(e, act)
    n = n + 1
    pcall(function() seen[#seen + 1] = e.id end)
    pcall(function() counter = (counter or 0) + 1 end)
    act.set("f", "n", n .. "/" .. #seen .. "/" .. tostring(counter))
  end }
rule "f.read" { title = "x", source = "y", on = "nl.avg.breach.reported",
  run = function(e, act) act.set("f", "read", n .. tostring({}) .. tostring(act)) end }
