-- ICT-beleid van de praktijk (NEN 7510, NTA 7516): software, afvoeren van
-- apparaten, veilig berichtenverkeer, cloud, webformulieren, wifi en back-ups.

obligation "ict.daily_backup" {
  title    = "Dagelijkse back-up per systeem",
  source   = "Praktijkbeleid; NEN 7510 12.3.1",
  -- elke 24 uur een back-up, met 6 uur speling
  due      = hours(policy("ict.daily_backup.hours", 24) + policy("ict.daily_backup.grace_hours", 6)),
  periodic = true,
  fulfilled_by = { on = "nl.ict.backup.completed", subject = "data.system", at = "data.completed_at" },
}

rule "ict.unapproved_software" {
  title  = "Software geïnstalleerd zonder goedkeuring",
  source = "Praktijkbeleid; NEN 7510 12.6.2",
  on     = "nl.ict.software.installed",
  run    = function(e, act)
    local d = e.data
    if d.approved == false then
      act.alert("ict.unapproved_software", d.device_id, {
        severity = "warning",
        message  = d.software .. " is door " .. d.installed_by .. " op " .. d.device_id ..
                   " geïnstalleerd zonder goedkeuring. Verwijder het of leg de goedkeuring vast.",
      })
    end
  end,
}

-- Overschrijven, crypto-erase, formatteren of vernietigen maakt gegevens
-- onleesbaar; alleen bestanden wissen niet.
local safe_wipe = { overwrite = true, crypto_erase = true, format = true, destroyed = true }

rule "ict.insufficient_wipe" {
  title  = "Apparaat afgevoerd zonder de opslag veilig te wissen",
  source = "Praktijkbeleid; NEN 7510 7.14 en 8.3.2",
  on     = "nl.ict.device.decommissioned",
  run    = function(e, act)
    local d = e.data
    if not safe_wipe[d.wipe] then
      act.alert("ict.insufficient_wipe", d.device_id, {
        severity = "critical",
        message  = "Apparaat " .. d.device_id .. " (" .. d.kind .. ") is afgevoerd met '" ..
                   d.wipe .. "': bestanden wissen is niet genoeg. Haal het terug en " ..
                   "overschrijf of vernietig de opslag; beoordeel of dit een datalek is.",
      })
    end
  end,
}

local secure_channels = { zorgmail = true, siilo = true, zorgdomein = true }

rule "ict.insecure_channel" {
  title  = "Persoonsgegevens verstuurd buiten een NTA 7516-kanaal",
  source = "NTA 7516; AVG art. 32",
  on     = "nl.ict.message.sent",
  run    = function(e, act)
    local d = e.data
    if d.personal_data == true and not secure_channels[d.channel] then
      act.alert("ict.insecure_channel", e.subject or d.recipient or d.channel, {
        severity = "warning",
        message  = "Persoonsgegevens zijn via " .. d.channel .. " verstuurd" ..
                   (d.recipient and (" naar " .. d.recipient) or "") ..
                   ". Gebruik Zorgmail, Siilo of ZorgDomein en beoordeel of dit een datalek is.",
      })
    end
  end,
}

rule "ict.cloud_outside_eu" {
  title  = "Persoonsgegevens in de cloud buiten de EU of zonder verwerkersovereenkomst",
  source = "AVG art. 28 en art. 44-46",
  on     = "nl.ict.cloud.used",
  run    = function(e, act)
    local d = e.data
    if d.personal_data == false then return end
    local eu = { EU = true, AT = true, BE = true, BG = true, CY = true, CZ = true, DE = true,
                 DK = true, EE = true, ES = true, FI = true, FR = true, GR = true, HR = true,
                 HU = true, IE = true, IT = true, LT = true, LU = true, LV = true, MT = true,
                 NL = true, PL = true, PT = true, RO = true, SE = true, SI = true, SK = true }
    local outside = not eu[string.upper(d.region)]
    if outside or d.processing_agreement ~= true then
      act.alert("ict.cloud_outside_eu", d.service, {
        severity = "warning",
        message  = d.service .. " (" .. d.provider .. ", " .. d.region .. ") bewaart " ..
                   "persoonsgegevens" .. (outside and " buiten de EU" or "") ..
                   (d.processing_agreement ~= true and " zonder verwerkersovereenkomst" or "") ..
                   ". Sluit een verwerkersovereenkomst of kies een dienst binnen de EU.",
      })
    end
  end,
}

rule "ict.webform_without_tls" {
  title  = "Webformulier met persoonsgegevens zonder TLS",
  source = "AVG art. 32; NEN 7510 13.1",
  on     = "nl.ict.webform.checked",
  run    = function(e, act)
    local d = e.data
    if d.tls == false and d.personal_data ~= false then
      act.alert("ict.webform_without_tls", d.url, {
        severity = "critical",
        message  = "Het formulier op " .. d.url .. " verstuurt persoonsgegevens zonder TLS. " ..
                   "Zet het offline tot het via https werkt.",
      })
    end
  end,
}

rule "ict.guest_wifi_internal" {
  title  = "Gastwifi bereikt het interne netwerk",
  source = "Praktijkbeleid; NEN 7510 13.1.3",
  on     = "nl.ict.wifi.checked",
  run    = function(e, act)
    local d = e.data
    if d.guest == true and d.reaches_internal == true then
      act.alert("ict.guest_wifi_internal", d.network, {
        severity = "critical",
        message  = "Het gastnetwerk " .. d.network .. " kan het interne netwerk bereiken. " ..
                   "Scheid het gastnetwerk (eigen VLAN of eigen verbinding).",
      })
    end
  end,
}

-- De ICT-checklist wordt elke maand in het werkoverleg besproken; de plicht
-- begint bij de eerste vastgelegde bespreking.
obligation "ict.checklist_review" {
  title  = "ICT-checklist bespreken in het werkoverleg",
  source = "Praktijkbeleid (ICT-beleid van de praktijk)",
  due    = months(policy("ict.checklist_review.months", 1)),
  remind = { before(days(7)) },
}

rule "ict.checklist.reviewed" {
  title  = "Een besproken checklist zet de volgende termijn",
  source = "Praktijkbeleid",
  on     = "nl.ict.checklist.reviewed",
  run    = function(e, act)
    act.open("ict.checklist_review", "praktijk", { from = e.data.meeting_at })
  end,
}
