rule "f.shared" { title = "x", source = "y", on = "nl.avg.breach.reported",
  run = function(e, act)
    local t = {}
    for i = 1, 30 do t = { t, t, x = ("y"):rep(100) } end
    local c = {} c[1] = c
    pcall(act.set, "f", "t", t)
    pcall(act.register, "r", "k", { c = c })
    local s = ("x"):rep(60000)
    pcall(function() return s .. s end)
    pcall(string.pack, "c15000000", "")
    local keys = {}
    for k in pairs(e.data) do keys[#keys + 1] = k end
    act.set("f", "keys", table.concat(keys, ","))
  end }
