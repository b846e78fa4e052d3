local t = {}
for i = 1, 5000 do t = { t } end
deep = t
ok, why = pcall(setmetatable, {}, {})
rule "f.top" { title = "x", source = "y", on = "nl.avg.breach.reported",
  run = function(e, act) act.set("f", "why", tostring(ok) .. tostring(why)) end }
