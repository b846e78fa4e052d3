rule "f.r" { title = "t", source = "s", on = "nl.avg.breach.reported",
  run = function(e, act, state)
    while true do pcall(function() while true do end end) end
  end }
