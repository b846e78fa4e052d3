obligation "f.n" { title = "t", source = "s", due = hours(math.huge) }
obligation "f.m" { title = "t", source = "s", due = months(0/0) }
obligation "f.o" { title = "t", source = "s", due = hours(math.mininteger) }
