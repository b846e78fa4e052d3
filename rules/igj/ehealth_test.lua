-- Tests voor e-health (IGJ Toetsingskader).

test "een onvoldoende thema opent herstel; live zonder beoordeling wordt gesignaleerd" {
  events = {
    { type = "nl.igj.ehealth.assessed", time = "2026-05-10T10:00:00+02:00",
      data = { application = "beeldbellen",
               themes = { governance = "pass", information_security = "fail", client_participation = "partial" } } },
    { type = "nl.igj.ehealth.live", time = "2026-05-11T10:00:00+02:00", data = { application = "thuismeten" } },
  },
  at = "2026-05-12T00:00:00+02:00",
  obligations = { { kind = "igj.ehealth_remediate", subject = "beeldbellen/information_security",
                    status = "open", due_at = "2026-08-08T08:00:00Z" } },
  absent_obligations = { { kind = "igj.ehealth_remediate", subject = "beeldbellen/governance" } },
  alerts = { { kind = "igj.live_without_assessment", subject = "thuismeten", count = 1 } },
}
