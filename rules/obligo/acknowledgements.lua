-- Wat de privacy officer zelf doet: een signaal afhandelen. Een afhandeling
-- is een gebeurtenis (nl.obligo.alert.acknowledged, vaak vanuit de console),
-- zodat het journaal laat zien wie welk signaal bekeek, wanneer en waarom.
--
-- Elke afhandeling komt in het register `signalen`, met als sleutel de id
-- van het signaal zoals GET /v1/alerts die geeft. Wordt hetzelfde signaal
-- nog eens afgehandeld (een aanvulling, een andere collega), dan krijgt de
-- regel een nieuwe versie: de eerdere blijven in de geschiedenis staan.

rule "obligo.alert.acknowledged" {
  title  = "Een afgehandeld signaal vastleggen: wie, wanneer en waarom",
  source = "AVG art. 5 lid 2 (verantwoordingsplicht); NEN 7513",
  on     = "nl.obligo.alert.acknowledged",
  run    = function(e, act)
    act.register("signalen", e.data.alert_id, {
      alert_id        = e.data.alert_id,
      kind            = e.data.kind,
      subject         = e.data.subject,
      by              = e.data.by,
      note            = e.data.note,
      acknowledged_at = e.time,
    })
  end,
}
