local t = {}
t.self = t
obligation "f.cyc" { title = "t", source = "s", due = hours(1), data = t, remind = { t } }
rule "f.cyc" { title = t, source = "s", on = { "nl.avg.breach.reported", t }, run = function() end }
