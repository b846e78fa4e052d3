rule "f.decl" { title = "x", source = "y", on = "nl.avg.breach.reported",
  run = function(e, act)
    for i = 1, 50 do
      rule ("f.more" .. i) { title = "x", source = "y", on = "nl.avg.breach.reported", run = function() end }
    end
    obligation "f.late" { title = "x", source = "y", due = hours(1) }
  end }
