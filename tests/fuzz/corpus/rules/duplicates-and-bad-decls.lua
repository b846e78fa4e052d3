obligation "f.d" { title = "t", source = "s", due = hours(-1) }
obligation "f.d" { title = "t", source = "s", due = days(1e300) }
rule "f.r" { on = 5 }
rule "f.r" { title = "t", source = "s", on = "x", run = 3 }
