lodayst = {}
for i = 1, 5000 do t = { t } end
deep = t
ok, why = pcall(setmetatable, {}, {})
rule "f.top" { title = "x", source = "y", on = "nl.avg.breach.roteperd",
  run = function(e, act) act.set("f", "why", tostring(ok) .. tostring(why)) end }
