/*
 * ict.c — the practice ICT regulation plugin: the event types of the
 * practice's own information security (software, devices, messaging, cloud
 * services, web forms, back-ups, wifi and the periodic checklist), with the
 * schemas their data must satisfy before the engine journals them.
 *
 * No single law lists these duties; they follow from AVG art. 32 (security
 * appropriate to the risk), art. 28 and 44-46 (processors and transfers
 * outside the EU), NEN 7510 (information security in healthcare, made
 * binding by the Besluit elektronische gegevensverwerking door
 * zorgaanbieders art. 3), NTA 7516 (secure e-mail and chat in care) and the
 * practice's own policy. The rules beside this plugin, rules/ict, hold the
 * judgements and cite the clause of each; this file only says what a
 * well-formed event looks like, so that the rules can trust their input.
 *
 * Built as a shared object against obligo/plugin.h alone: the schemas are
 * static data the engine borrows for as long as the plugin is loaded, and
 * init only registers them.
 */
#include "../regulation.h"

#include <stddef.h>
#include <string.h>

/* Type shorthands for the tables below (the field shorthands are in
 * regulation.h). */
/* clang-format off */

#define S OBLIGO_FIELD_STRING
#define B OBLIGO_FIELD_BOOL
#define T OBLIGO_FIELD_TIME
#define A OBLIGO_FIELD_ANY

/* ---- enums ---- */

static const char *const enum_device_kind[] = {"laptop",  "desktop", "phone", "tablet", "printer",
                                               "scanner", "storage", "other", NULL};
static const char *const enum_wipe[] = {"overwrite",    "crypto_erase", "format", "destroyed",
                                        "delete_files", "none",         NULL};
static const char *const enum_channel[] = {"zorgmail", "siilo",    "zorgdomein", "email",
                                           "sms",      "whatsapp", "other",      NULL};

/* ---- the practice's ICT ---- */

static const obligo_field fields_software_installed[] = {
    REQ("device_id", S),
    REQ("software", S),
    REQ("installed_by", S),
    REQ("approved", B),
    END,
};
static const obligo_schema schema_software_installed = SCHEMA(fields_software_installed);

static const obligo_field fields_device_decommissioned[] = {
    REQ("device_id", S),
    REQ_ENUM("kind", enum_device_kind),
    REQ_ENUM("wipe", enum_wipe),
    END,
};
static const obligo_schema schema_device_decommissioned = SCHEMA(fields_device_decommissioned);

static const obligo_field fields_message_sent[] = {
    REQ_ENUM("channel", enum_channel),
    REQ("personal_data", B),
    OPT("recipient", S),
    END,
};
static const obligo_schema schema_message_sent = SCHEMA(fields_message_sent);

/* region is "ISO country code or EU"; it is kept a plain string so that a
 * sender's spelling ("nl", "EU/EEA") reaches the rules rather than being
 * rejected here. */
static const obligo_field fields_cloud_used[] = {
    REQ("service", S),
    REQ("provider", S),
    REQ("region", S),
    REQ("processing_agreement", B),
    OPT("personal_data", B),
    END,
};
static const obligo_schema schema_cloud_used = SCHEMA(fields_cloud_used);

static const obligo_field fields_webform_checked[] = {
    REQ("url", S),
    REQ("tls", B),
    OPT("personal_data", B),
    END,
};
static const obligo_schema schema_webform_checked = SCHEMA(fields_webform_checked);

static const obligo_field fields_backup_completed[] = {
    REQ("system", S),
    REQ("completed_at", T),
    END,
};
static const obligo_schema schema_backup_completed = SCHEMA(fields_backup_completed);

static const obligo_field fields_wifi_checked[] = {
    REQ("network", S),
    REQ("guest", B),
    REQ("reaches_internal", B),
    END,
};
static const obligo_schema schema_wifi_checked = SCHEMA(fields_wifi_checked);

static const obligo_field fields_checklist_reviewed[] = {
    REQ("meeting_at", T),
    OPT("attendees", A),
    END,
};
static const obligo_schema schema_checklist_reviewed = SCHEMA(fields_checklist_reviewed);

/* ---- the types (DESIGN §3) ---- */

static const obligo_event_type ict_types[] = {
    TYPE("nl.ict.software.installed", schema_software_installed,
         "Software was installed on a device, approved or not (NEN 7510 12.6.2)"),
    TYPE("nl.ict.device.decommissioned", schema_device_decommissioned,
         "A device left use, and how its storage was wiped (NEN 7510 7.14, 8.3.2)"),
    TYPE("nl.ict.message.sent", schema_message_sent,
         "A message left the practice over a channel (NTA 7516; AVG art. 32)"),
    TYPE("nl.ict.cloud.used", schema_cloud_used,
         "A cloud service is in use, where and under which agreement (AVG art. 28, 44-46)"),
    TYPE("nl.ict.webform.checked", schema_webform_checked,
         "A web form of the practice was checked for TLS (AVG art. 32; NEN 7510 13.1)"),
    TYPE("nl.ict.backup.completed", schema_backup_completed,
         "A back-up of a system completed (NEN 7510 12.3.1)"),
    TYPE("nl.ict.wifi.checked", schema_wifi_checked,
         "A wifi network was checked for reaching internal systems (NEN 7510 13.1.3)"),
    TYPE("nl.ict.checklist.reviewed", schema_checklist_reviewed,
         "The practice's ICT checklist was reviewed in a meeting"),
};

#undef S
#undef B
#undef T
#undef A

/* clang-format on */

REGULATION_PLUGIN(ict, "ict", "Practice ICT security: AVG art. 32, NEN 7510 and NTA 7516")
