/*
 * test_apform.c — the AP notification form (engine/apply/apform.c) and the
 * breach's phases and events it reads (engine/apply/breach.c), on a real
 * database file whose journal and register entry the test writes itself,
 * as the rules in rules/avg would: every question answered from an entry
 * that has every field, each in its Dutch words; the phases from the
 * entry's notifications, or from its versions for an entry written before
 * that list; the events of the breach and of the reports merged into it
 * and of no other; an unknown breach; the CSV with its BOM and a
 * neutralised cell.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apform.h"
#include "breach.h"
#include "engine.h"
#include "journal.h"
#include "registers.h"
#include "store.h"
#include "support.h"

#define T0 1772438400 /* 2026-03-02T08:00:00Z */

typedef struct fixture {
    char *dir;
    store st;
    int64_t seq; /* the last event journaled */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = support_store_fresh(&f->st);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    support_store_done(&f->st, f->dir);
    free(f);
    return 0;
}

/* Journals an event of type with data (JSON text). */
static void event(fixture *f, const char *id, const char *type, const char *time, const char *data)
{
    char raw[2048];
    snprintf(raw, sizeof raw,
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"urn:test\",\"type\":\"%s\","
             "\"time\":\"%s\",\"data\":%s}",
             id, type, time, data);
    cJSON *ev = cJSON_Parse(raw);
    assert_non_null(ev);
    int dup = 0;
    assert_int_equal(journal_append(&f->st, ev, raw, strlen(raw), "r", T0, &f->seq, &dup), 0);
    cJSON_Delete(ev);
}

static void version(fixture *f, const char *key, const char *fields_json, obligo_time at)
{
    cJSON *fields = cJSON_Parse(fields_json);
    assert_non_null(fields);
    assert_int_equal(registers_append(&f->st, BREACH_REGISTER, key, fields, at, f->seq), 0);
    cJSON_Delete(fields);
}

static const cJSON *question(const cJSON *form, const char *id)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(form, "sections"))
    {
        const cJSON *q;
        cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(s, "questions"))
        {
            if (strcmp(support_str(q, "id"), id) == 0)
                return q;
        }
    }
    fail_msg("no question %s", id);
    return NULL;
}

static const char *answer(const cJSON *form, const char *id)
{
    return support_str(question(form, id), "text");
}

static double number(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

/* An entry with every field the form asks about, as the rules write it
 * after a report, a notification in two phases, informing the people and
 * closing. */
static void full_breach(fixture *f)
{
    event(f, "r1", "nl.avg.breach.reported", "2026-03-02T09:00:00+01:00",
          "{\"breach_id\":\"B-1\",\"aware_at\":\"2026-03-02T09:00:00+01:00\"}");
    version(f, "B-1",
            "{\"status\":\"reported\",\"aware_at\":\"2026-03-02T09:00:00+01:00\","
            "\"description\":\"USB-stick kwijt\",\"cause\":\"lost_device\","
            "\"personal_data\":\"yes\",\"categories\":[\"health\",\"contact\"],"
            "\"persons_affected\":120,\"records_affected\":340,\"unintelligible\":false,"
            "\"processor\":\"Koeriers BV\",\"reports\":[\"B-1\"],"
            "\"reporter\":{\"name\":\"A. Jansen\",\"role\":\"FG\",\"phone\":\"+31 20 1234567\","
            "\"email\":\"fg@praktijk.nl\"},"
            "\"started_at\":\"2026-03-01T22:00:00+01:00\",\"ongoing\":true,"
            "\"groups\":[\"clients\",\"minors\"],"
            "\"consequences\":[\"damage_to_health\",\"identity_fraud\"],"
            "\"consequences_note\":\"jeugddossiers\",\"measures_taken\":\"stick gewist\","
            "\"measures_planned\":\"alleen versleutelde sticks\",\"cross_border\":\"yes\","
            "\"countries\":[\"BE\",\"DE\"],\"subjects_informed\":false}",
            T0);
    event(f, "a1", "nl.avg.breach.assessed", "2026-03-02T12:00:00+01:00",
          "{\"breach_id\":\"B-1\",\"risk\":\"high\",\"rationale\":\"onversleuteld\"}");
    version(f, "B-1", "{\"status\":\"assessed\",\"risk\":\"high\",\"rationale\":\"onversleuteld\"}",
            T0 + 10800);
    event(f, "n1", "nl.avg.breach.notified", "2026-03-03T10:00:00+01:00",
          "{\"breach_id\":\"B-1\",\"reference\":\"AP-1\"}");
    version(f, "B-1",
            "{\"status\":\"notified\",\"ap_reference\":\"AP-1\","
            "\"notified_at\":\"2026-03-03T10:00:00+01:00\",\"notification_phase\":\"initial\","
            "\"notifications\":[{\"phase\":\"initial\",\"notified_at\":"
            "\"2026-03-03T10:00:00+01:00\",\"reference\":\"AP-1\"}]}",
            T0 + 90000);
    event(f, "n2", "nl.avg.breach.notified", "2026-03-05T10:00:00+01:00",
          "{\"breach_id\":\"B-1\",\"reference\":\"AP-1\"}");
    version(f, "B-1",
            "{\"notified_at\":\"2026-03-05T10:00:00+01:00\",\"notification_phase\":\"complete\","
            "\"delay_reasons\":\"onderzoek\",\"notifications\":[{\"phase\":\"initial\","
            "\"notified_at\":\"2026-03-03T10:00:00+01:00\",\"reference\":\"AP-1\"},"
            "{\"phase\":\"complete\",\"notified_at\":\"2026-03-05T10:00:00+01:00\","
            "\"reference\":\"AP-1\",\"delay_reasons\":\"onderzoek\"}]}",
            T0 + 262800);
    event(f, "s1", "nl.avg.breach.subjects_informed", "2026-03-04T12:00:00+01:00",
          "{\"breach_id\":\"B-1\"}");
    version(f, "B-1",
            "{\"subjects_informed\":true,\"subjects_informed_at\":\"2026-03-04T12:00:00+01:00\","
            "\"subjects_channel\":\"brief\",\"subjects_count\":118,"
            "\"subjects_message\":\"Uw gegevens stonden op een verloren USB-stick.\"}",
            T0 + 183600);
    event(f, "c1", "nl.avg.breach.closed", "2026-03-10T12:00:00+01:00",
          "{\"breach_id\":\"B-1\",\"measures\":\"training\"}");
    version(f, "B-1", "{\"status\":\"closed\",\"measures\":\"training en versleuteling\"}",
            T0 + 702000);
}

static void every_question_answered_from_a_full_entry(void **state)
{
    fixture *f = *state;
    full_breach(f);
    int err = -1;
    cJSON *form = apform_build(&f->st, "B-1", &err);
    assert_non_null(form);
    assert_int_equal(err, 0);
    assert_string_equal(support_str(form, "breach"), "B-1");
    assert_string_equal(support_str(form, "status"), "closed");
    assert_int_equal((int)number(form, "register_versions"), 6);
    assert_int_equal((int)number(form, "questions"), 30);
    assert_int_equal((int)number(form, "answered"), 30);
    assert_int_equal((int)number(form, "not_in_catalogue"), 0);
    /* the questions that had no field before */
    assert_string_equal(answer(form, "contact.email"), "fg@praktijk.nl");
    assert_string_equal(answer(form, "timeline.start"), "2026-03-01 22:00 (Amsterdam)");
    assert_string_equal(answer(form, "timeline.end"), "nog gaande");
    assert_string_equal(answer(form, "groups.kinds"), "cliënten, minderjarigen");
    assert_string_equal(answer(form, "consequences.likely"),
                        "schade aan de gezondheid, blootstelling aan (identiteits)fraude: "
                        "jeugddossiers");
    assert_string_equal(answer(form, "subjects.message"),
                        "Uw gegevens stonden op een verloren USB-stick.");
    assert_string_equal(answer(form, "measures.planned"), "alleen versleutelde sticks");
    assert_string_equal(answer(form, "cross_border.other_countries"), "ja (BE, DE)");
    /* closing's measures answer what was taken, over those reported */
    assert_string_equal(answer(form, "measures.taken"), "training en versleuteling");
    /* both phases, from notifications */
    assert_string_equal(answer(form, "timeline.notified"),
                        "eerste melding op 2026-03-03 10:00 (Amsterdam), kenmerk AP-1; "
                        "afgeronde melding op 2026-03-05 10:00 (Amsterdam), kenmerk AP-1");
    assert_string_equal(answer(form, "timeline.delay_reasons"), "onderzoek");
    assert_string_equal(answer(form, "data.categories"), "gezondheidsgegevens, contactgegevens");
    assert_string_equal(answer(form, "data.bsn"),
                        "nee (niet bij de soorten persoonsgegevens genoemd)");
    assert_string_equal(answer(form, "subjects.count"), "118");
    /* the events, journal order */
    const cJSON *evs = cJSON_GetObjectItemCaseSensitive(form, "events");
    assert_int_equal(cJSON_GetArraySize(evs), 6);
    assert_string_equal(support_str(cJSON_GetArrayItem(evs, 0), "id"), "r1");
    assert_string_equal(support_str(cJSON_GetArrayItem(evs, 0), "time"), "2026-03-02T08:00:00Z");
    assert_string_equal(support_str(cJSON_GetArrayItem(evs, 5), "type"), "nl.avg.breach.closed");
    cJSON_Delete(form);
}

/* An end instant answers the end; ongoing false without one says so; an
 * entry without the new fields leaves them unanswered, but known. */
static void end_and_unanswered_fields(void **state)
{
    fixture *f = *state;
    event(f, "r1", "nl.avg.breach.reported", "2026-03-02T09:00:00+01:00", "{\"breach_id\":\"E\"}");
    version(f, "E", "{\"status\":\"reported\",\"ended_at\":\"2026-03-02T07:45:00Z\"}", T0);
    version(f, "F", "{\"status\":\"reported\",\"ongoing\":false}", T0);
    version(f, "G", "{\"status\":\"reported\"}", T0);
    int err = 0;
    cJSON *form = apform_build(&f->st, "E", &err);
    assert_string_equal(answer(form, "timeline.end"), "2026-03-02 08:45 (Amsterdam)");
    cJSON_Delete(form);
    form = apform_build(&f->st, "F", &err);
    assert_string_equal(answer(form, "timeline.end"), "beëindigd (tijdstip niet opgegeven)");
    cJSON_Delete(form);
    form = apform_build(&f->st, "G", &err);
    static const char *const ids[] = {
        "contact.email",  "timeline.start",      "timeline.end",
        "groups.kinds",   "consequences.likely", "subjects.message",
        "measures.taken", "measures.planned",    "cross_border.other_countries"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const cJSON *q = question(form, ids[i]);
        assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(q, "answered")));
        assert_null(cJSON_GetObjectItemCaseSensitive(q, "in_catalogue"));
        assert_string_equal(support_str(q, "text"), "niet beantwoord");
    }
    assert_int_equal((int)number(form, "answered"), 0);
    cJSON_Delete(form);
}

/* An entry written before notifications existed: its phases are in its
 * versions, each once. */
static void phases_from_versions_without_notifications(void **state)
{
    fixture *f = *state;
    event(f, "r1", "nl.avg.breach.reported", "2026-03-02T09:00:00+01:00",
          "{\"breach_id\":\"OLD\"}");
    version(f, "OLD", "{\"status\":\"reported\"}", T0);
    version(f, "OLD",
            "{\"status\":\"notified\",\"notified_at\":\"2026-03-03T10:00:00+01:00\","
            "\"ap_reference\":\"AP-9\",\"notification_phase\":\"initial\"}",
            T0 + 1);
    version(f, "OLD", "{\"risk\":\"high\"}", T0 + 2); /* repeats the initial notification */
    version(f, "OLD",
            "{\"notified_at\":\"2026-03-04T10:00:00+01:00\",\"notification_phase\":\"supplement\","
            "\"delay_reasons\":\"wachten op verwerker\"}",
            T0 + 3);
    int err = 0;
    cJSON *form = apform_build(&f->st, "OLD", &err);
    assert_string_equal(answer(form, "timeline.notified"),
                        "eerste melding op 2026-03-03 10:00 (Amsterdam), kenmerk AP-9; "
                        "aanvulling op 2026-03-04 10:00 (Amsterdam), kenmerk AP-9");
    const cJSON *phases =
        cJSON_GetObjectItemCaseSensitive(question(form, "timeline.notified"), "value");
    assert_int_equal(cJSON_GetArraySize(phases), 2);
    assert_string_equal(support_str(cJSON_GetArrayItem(phases, 1), "delay_reasons"),
                        "wachten op verwerker");
    cJSON_Delete(form);
}

/* The events of the key and of a report merged into it, none of another
 * breach's or of another kind. */
static void events_of_the_breach_and_its_reports(void **state)
{
    fixture *f = *state;
    event(f, "r1", "nl.avg.breach.reported", "2026-03-02T09:00:00+01:00", "{\"breach_id\":\"K\"}");
    event(f, "x1", "nl.avg.breach.reported", "2026-03-02T09:01:00+01:00",
          "{\"breach_id\":\"OTHER\"}");
    event(f, "r2", "nl.avg.breach.reported", "2026-03-02T09:02:00+01:00",
          "{\"breach_id\":\"K-b\"}");
    event(f, "w1", "nl.wgbo.record.changed", "2026-03-02T09:03:00+01:00", "{\"breach_id\":\"K\"}");
    version(f, "K", "{\"status\":\"reported\",\"reports\":[\"K\",\"K-b\"]}", T0);
    cJSON *data = registers_current(&f->st, BREACH_REGISTER, "K");
    support_trace_sql(f->st.db, "SELECT seq, type");
    cJSON *evs = breach_events(&f->st, "K", data, 1);
    /* looked up by breach_id (migration 7), not by reading every breach
     * event's JSON; the few rows found are then put in journal order */
    char *plan = support_last_plan(f->st.db);
    support_trace_sql(f->st.db, NULL);
    if (!strstr(plan, "USING INDEX events_by_breach"))
        fail_msg("the breach's events are not looked up by events_by_breach: %s", plan);
    free(plan);
    assert_non_null(evs);
    assert_int_equal(cJSON_GetArraySize(evs), 2);
    assert_string_equal(support_str(cJSON_GetArrayItem(evs, 0), "id"), "r1");
    assert_string_equal(support_str(cJSON_GetArrayItem(evs, 1), "id"), "r2");
    assert_string_equal(support_str(cJSON_GetArrayItem(evs, 1), "source"), "urn:test");
    assert_true(
        cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(evs, 1), "decisions")));
    cJSON_Delete(evs);
    cJSON_Delete(data);
}

static void unknown_breach(void **state)
{
    fixture *f = *state;
    int err = 0;
    assert_null(apform_build(&f->st, "NOPE", &err));
    assert_int_equal(err, BREACH_NOT_FOUND);
    err = 0;
    assert_null(breach_read(&f->st, "NOPE", &err));
    assert_int_equal(err, BREACH_NOT_FOUND);
}

static void csv_with_bom_and_neutralised_cells(void **state)
{
    fixture *f = *state;
    full_breach(f);
    int err = 0;
    cJSON *form = apform_build(&f->st, "B-1", &err);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    apform_print_csv(form, mem, 1);
    fclose(mem);
    assert_memory_equal(text, "\xEF\xBB\xBFsection,id,question,answered,answer\r\n", 38);
    assert_non_null(
        strstr(text, "\r\nContactpersoon,contact.phone,Telefoonnummer,true,'+31 20 1234567\r\n"));
    assert_non_null(strstr(text, "\r\nGroepen betrokkenen,groups.kinds,Om welke groepen personen "
                                 "gaat het,true,\"cli\xC3\xABnten, minderjarigen\"\r\n"));
    free(text);
    cJSON_Delete(form);
}

int main(void)
{
    engine_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_question_answered_from_a_full_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(end_and_unanswered_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(phases_from_versions_without_notifications, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(events_of_the_breach_and_its_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_breach, setup, teardown),
        cmocka_unit_test_setup_teardown(csv_with_bom_and_neutralised_cells, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
