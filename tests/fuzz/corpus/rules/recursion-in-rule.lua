rule "f.r" { title = "t", source = "s", on = "nl.avg.breach.reported",
  run = function(e, act, state)
    local function f(t) return f({t}) end
    f({})
  end }
