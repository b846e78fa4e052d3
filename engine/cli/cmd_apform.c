/*
 * cmd_apform.c — `obligo register datalekken --ap-form KEY`: what the
 * Autoriteit Persoonsgegevens' notification form for a personal data
 * breach asks, grouped as the form is, each question answered from the
 * breach's register entry (its current data and every version, so each
 * notification phase is shown, not only the latest) or marked unanswered.
 *
 * Questions the catalogue (plugins/avg) has no field for yet are marked
 * "niet beantwoord (Obligo kent dit veld nog niet)", so the officer sees
 * the gap; questions Obligo knows but the events did not answer are
 * "niet beantwoord". The breach's events (nl.avg.breach.*, of every report
 * merged into it) are listed with their instants.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "cli_common.h"
#include "cli_csv.h"
#include "clock.h"
#include "obligations.h"
#include "registers.h"

#define AP_UNANSWERED "niet beantwoord"
#define AP_UNKNOWN "niet beantwoord (Obligo kent dit veld nog niet)"

typedef struct ap_form {
    cJSON *sections;       /* [{id, title, questions: [{id, question, answered, value, text}]}] */
    cJSON *questions;      /* of the section being built */
    const cJSON *data;     /* the entry's current data */
    const char *ap_status; /* of the breach's avg.notify_ap obligation, or NULL */
} ap_form;

static void ap_section(ap_form *f, const char *id, const char *title)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "id", id);
    cJSON_AddStringToObject(s, "title", title);
    f->questions = cJSON_AddArrayToObject(s, "questions");
    cJSON_AddItemToArray(f->sections, s);
}

/* A question; value (borrowed, may be NULL) is copied; text NULL marks the
 * question unanswered, or unknown to the catalogue when known is 0. */
static void ap_ask(ap_form *f, const char *id, const char *question, const cJSON *value,
                   const char *text, int known)
{
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "id", id);
    cJSON_AddStringToObject(q, "question", question);
    cJSON_AddBoolToObject(q, "answered", text != NULL);
    if (!known)
        cJSON_AddBoolToObject(q, "in_catalogue", 0);
    cJSON_AddItemToObject(q, "value",
                          value && text ? cJSON_Duplicate(value, 1) : cJSON_CreateNull());
    cJSON_AddStringToObject(q, "text", text ? text : known ? AP_UNANSWERED : AP_UNKNOWN);
    cJSON_AddItemToArray(f->questions, q);
}

static void ap_gap(ap_form *f, const char *id, const char *question)
{
    ap_ask(f, id, question, NULL, NULL, 0);
}

static const cJSON *ap_get(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNull(v) ? NULL : v;
}

/* "2026-02-02T08:15:00Z" -> "2026-02-02 09:15 (Amsterdam)" into buf; the
 * text itself when it is no instant. */
static const char *ap_time(const char *utc, char *buf, size_t n)
{
    obligo_time t;
    civil c;
    if (clock_parse_rfc3339(utc, &t)) {
        snprintf(buf, n, "%s", utc);
        return buf;
    }
    clock_to_ams(t, &c);
    snprintf(buf, n, "%04d-%02d-%02d %02d:%02d (Amsterdam)", c.year, c.month, c.day, c.hour, c.min);
    return buf;
}

/* A question answered by the string field name of the current data. */
static void ap_text(ap_form *f, const char *id, const char *question, const cJSON *from,
                    const char *name)
{
    const cJSON *v = ap_get(from, name);
    ap_ask(f, id, question, v, cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL, 1);
}

static void ap_number(ap_form *f, const char *id, const char *question, const char *name)
{
    const cJSON *v = ap_get(f->data, name);
    char buf[32];
    if (cJSON_IsNumber(v))
        snprintf(buf, sizeof buf, "%.0f", v->valuedouble);
    ap_ask(f, id, question, v, cJSON_IsNumber(v) ? buf : NULL, 1);
}

static void ap_instant(ap_form *f, const char *id, const char *question, const char *name)
{
    const cJSON *v = ap_get(f->data, name);
    char buf[64];
    ap_ask(f, id, question, v, cJSON_IsString(v) ? ap_time(v->valuestring, buf, sizeof buf) : NULL,
           1);
}

/* The Dutch word for an enum value of the catalogue, or the value. */
static const char *ap_word(const char *v)
{
    static const char *const words[][2] = {
        {"lost_device", "verloren of gestolen apparaat of gegevensdrager"},
        {"theft", "diefstal"},
        {"hacking", "hacking"},
        {"malware", "malware"},
        {"misdirected", "verkeerd geadresseerd of verstuurd"},
        {"employee_error", "vergissing van een medewerker"},
        {"processor", "fout bij een verwerker"},
        {"other", "anders"},
        {"health", "gezondheidsgegevens"},
        {"bsn", "burgerservicenummer (BSN)"},
        {"contact", "contactgegevens"},
        {"financial", "financiële gegevens"},
        {"login", "inloggegevens"},
        {"id_copy", "kopie identiteitsbewijs"},
        {"yes", "ja"},
        {"no", "nee"},
        {"unknown", "onbekend"},
        {"unlikely", "waarschijnlijk geen risico"},
        {"risk", "risico"},
        {"high", "hoog risico"},
        {"initial", "eerste melding"},
        {"supplement", "aanvulling"},
        {"complete", "afgeronde melding"},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(words[i][0], v) == 0)
            return words[i][1];
    return v;
}

static void ap_enum(ap_form *f, const char *id, const char *question, const char *name)
{
    const cJSON *v = ap_get(f->data, name);
    ap_ask(f, id, question, v, cJSON_IsString(v) ? ap_word(v->valuestring) : NULL, 1);
}

static int ap_has(const cJSON *list, const char *what)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        if (cJSON_IsString(c) && strcmp(c->valuestring, what) == 0)
            return 1;
    }
    return 0;
}

/* Whether the categories name what: ja, nee (the kinds are known and it is
 * not among them), or unanswered when no kinds were given. */
static void ap_category(ap_form *f, const char *id, const char *question, const char *what)
{
    const cJSON *cats = ap_get(f->data, "categories");
    int n = cJSON_IsArray(cats) ? cJSON_GetArraySize(cats) : 0;
    ap_ask(f, id, question, cats,
           !n                   ? NULL
           : ap_has(cats, what) ? "ja"
                                : "nee (niet bij de soorten persoonsgegevens genoemd)",
           1);
}

static void ap_categories(ap_form *f)
{
    const cJSON *cats = ap_get(f->data, "categories");
    char buf[512] = "";
    size_t len = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cats)
    {
        if (cJSON_IsString(c) && len < sizeof buf)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", len ? ", " : "",
                                    ap_word(c->valuestring));
    }
    ap_ask(f, "data.categories", "Soorten persoonsgegevens", cats, len ? buf : NULL, 1);
}

/* Every notification phase the versions hold (the latest version of the
 * entry keeps only the latest): [{phase, notified_at, reference,
 * delay_reasons?}] in the order they were recorded. */
static cJSON *ap_phases(const cJSON *versions)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *v;
    cJSON_ArrayForEach(v, versions)
    {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(v, "data");
        const cJSON *at = ap_get(d, "notified_at");
        if (!cJSON_IsString(at))
            continue;
        const cJSON *ref = ap_get(d, "ap_reference"), *phase = ap_get(d, "notification_phase");
        int seen = 0;
        const cJSON *p;
        cJSON_ArrayForEach(p, out)
        {
            const cJSON *pat = cJSON_GetObjectItemCaseSensitive(p, "notified_at");
            const cJSON *pph = cJSON_GetObjectItemCaseSensitive(p, "phase");
            if (strcmp(pat->valuestring, at->valuestring) == 0 &&
                strcmp(cJSON_IsString(pph) ? pph->valuestring : "",
                       cJSON_IsString(phase) ? phase->valuestring : "") == 0)
                seen = 1;
        }
        if (seen)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "phase", cJSON_IsString(phase) ? phase->valuestring : "");
        cJSON_AddStringToObject(o, "notified_at", at->valuestring);
        cJSON_AddStringToObject(o, "reference", cJSON_IsString(ref) ? ref->valuestring : "");
        const cJSON *why = ap_get(d, "delay_reasons");
        if (cJSON_IsString(why))
            cJSON_AddStringToObject(o, "delay_reasons", why->valuestring);
        cJSON_AddItemToArray(out, o);
    }
    return out;
}

/* The breach's events: every nl.avg.breach.* event whose breach_id is one
 * of the reports merged into the entry (or the key), journal order:
 * [{seq, type, time, id}]. NULL on a database error. */
static cJSON *ap_events(store *st, const char *key, const cJSON *data)
{
    const cJSON *reports = ap_get(data, "reports");
    cJSON *ids = cJSON_IsArray(reports) ? cJSON_Duplicate(reports, 1) : cJSON_CreateArray();
    cJSON_AddItemToArray(ids, cJSON_CreateString(key));
    char *ids_text = cJSON_PrintUnformatted(ids);
    cJSON_Delete(ids);
    sqlite3_stmt *s = ids_text ? store_stmt(st, "SELECT seq, type, time, id FROM events "
                                                "WHERE type LIKE 'nl.avg.breach.%' AND "
                                                "(CASE WHEN json_valid(raw) THEN "
                                                "json_extract(raw, '$.data.breach_id') END) "
                                                "IN (SELECT value FROM json_each(?1)) "
                                                "ORDER BY seq")
                               : NULL;
    if (!s) {
        cJSON_free(ids_text);
        return NULL;
    }
    sqlite3_bind_text(s, 1, ids_text, -1, SQLITE_STATIC);
    cJSON *out = cJSON_CreateArray();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        char at[CLOCK_RFC3339_LEN];
        clock_format_utc(sqlite3_column_int64(s, 2), at);
        cJSON_AddNumberToObject(o, "seq", (double)sqlite3_column_int64(s, 0));
        cJSON_AddStringToObject(o, "type", (const char *)sqlite3_column_text(s, 1));
        cJSON_AddStringToObject(o, "time", at);
        cJSON_AddStringToObject(o, "id", (const char *)sqlite3_column_text(s, 3));
        cJSON_AddItemToArray(out, o);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    cJSON_free(ids_text);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

static void ap_build(ap_form *f, const cJSON *phases)
{
    const cJSON *reporter = ap_get(f->data, "reporter");
    char buf[1024];

    ap_section(f, "contact", "Contactpersoon");
    ap_text(f, "contact.name", "Naam", reporter, "name");
    ap_text(f, "contact.role", "Functie", reporter, "role");
    ap_text(f, "contact.phone", "Telefoonnummer", reporter, "phone");
    ap_gap(f, "contact.email", "E-mailadres");

    ap_section(f, "timeline", "Tijdlijn");
    ap_gap(f, "timeline.start", "Begin van het datalek");
    ap_gap(f, "timeline.end", "Einde van het datalek, of nog gaande");
    ap_instant(f, "timeline.discovered", "Ontdekt op (bewust van het datalek)", "aware_at");
    size_t len = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, phases)
    {
        char at[64];
        const char *ref = cJSON_GetObjectItemCaseSensitive(p, "reference")->valuestring;
        const char *phase = cJSON_GetObjectItemCaseSensitive(p, "phase")->valuestring;
        if (len < sizeof buf)
            len += (size_t)snprintf(
                buf + len, sizeof buf - len, "%s%s op %s%s%s", len ? "; " : "",
                *phase ? ap_word(phase) : "melding",
                ap_time(cJSON_GetObjectItemCaseSensitive(p, "notified_at")->valuestring, at,
                        sizeof at),
                *ref ? ", kenmerk " : "", ref);
    }
    ap_ask(f, "timeline.notified", "Gemeld bij de AP (elke fase)", phases, len ? buf : NULL, 1);
    const cJSON *why_late = ap_get(f->data, "delay_reasons");
    ap_ask(f, "timeline.delay_reasons", "Reden van een melding na 72 uur", why_late,
           cJSON_IsString(why_late) ? why_late->valuestring
           : f->ap_status && strcmp(f->ap_status, "fulfilled") == 0
               ? "niet van toepassing (binnen 72 uur gemeld)"
               : NULL,
           1);

    ap_section(f, "nature", "Aard van het datalek");
    ap_text(f, "nature.description", "Omschrijving", f->data, "description");
    ap_enum(f, "nature.cause", "Wat is er gebeurd (oorzaak)", "cause");
    ap_text(f, "nature.processor", "Betrokken verwerker", f->data, "processor");

    ap_section(f, "data", "Soort persoonsgegevens");
    ap_enum(f, "data.personal_data", "Zijn er persoonsgegevens betrokken", "personal_data");
    ap_categories(f);
    ap_category(f, "data.special", "Bijzondere persoonsgegevens (gezondheid)", "health");
    ap_category(f, "data.bsn", "Burgerservicenummer (BSN)", "bsn");

    ap_section(f, "numbers", "Omvang");
    ap_number(f, "numbers.records", "Aantal records (bij benadering)", "records_affected");
    ap_number(f, "numbers.persons", "Aantal betrokken personen (bij benadering)",
              "persons_affected");

    ap_section(f, "groups", "Groepen betrokkenen");
    ap_gap(f, "groups.kinds", "Om welke groepen personen gaat het");

    ap_section(f, "encryption", "Versleuteling");
    const cJSON *unint = ap_get(f->data, "unintelligible");
    ap_ask(f, "encryption.unintelligible", "Waren de gegevens versleuteld of anders onbegrijpelijk",
           unint,
           cJSON_IsTrue(unint)   ? "ja"
           : cJSON_IsBool(unint) ? "nee (niet als onbegrijpelijk gemeld)"
                                 : NULL,
           1);

    ap_section(f, "consequences", "Gevolgen");
    ap_gap(f, "consequences.likely", "Waarschijnlijke gevolgen voor de betrokkenen");
    const cJSON *risk = ap_get(f->data, "risk"), *why = ap_get(f->data, "rationale");
    if (cJSON_IsString(risk))
        snprintf(buf, sizeof buf, "%s%s%s", ap_word(risk->valuestring),
                 cJSON_IsString(why) ? ": " : "", cJSON_IsString(why) ? why->valuestring : "");
    ap_ask(f, "consequences.risk", "Risicobeoordeling", risk, cJSON_IsString(risk) ? buf : NULL, 1);

    ap_section(f, "subjects", "Betrokkenen informeren");
    const cJSON *informed = ap_get(f->data, "subjects_informed");
    const cJSON *exc = ap_get(f->data, "subjects_exception");
    const cJSON *exr = ap_get(f->data, "subjects_rationale");
    if (cJSON_IsTrue(informed))
        snprintf(buf, sizeof buf, "ja");
    else if (cJSON_IsString(exc))
        snprintf(buf, sizeof buf, "nee, uitzondering art. 34 lid 3 (%s)%s%s", exc->valuestring,
                 cJSON_IsString(exr) ? ": " : "", cJSON_IsString(exr) ? exr->valuestring : "");
    else
        snprintf(buf, sizeof buf, "nog niet");
    ap_ask(f, "subjects.informed", "Zijn de betrokkenen geïnformeerd", informed,
           cJSON_IsBool(informed) ? buf : NULL, 1);
    ap_instant(f, "subjects.informed_at", "Wanneer", "subjects_informed_at");
    ap_text(f, "subjects.channel", "Hoe (kanaal)", f->data, "subjects_channel");
    ap_number(f, "subjects.count", "Hoeveel personen", "subjects_count");
    ap_gap(f, "subjects.message", "Inhoud van het bericht aan de betrokkenen");

    ap_section(f, "measures", "Maatregelen");
    ap_text(f, "measures.taken", "Genomen maatregelen", f->data, "measures");
    ap_gap(f, "measures.planned", "Voorgenomen maatregelen");

    ap_section(f, "cross_border", "Grensoverschrijdende verwerking");
    ap_gap(f, "cross_border.other_countries",
           "Betreft het personen of een verwerking in andere EU-landen");
}

static void ap_print_text(const cJSON *form)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(form, "status");
    printf("Meldformulier datalekken (Autoriteit Persoonsgegevens): datalek %s, status %s\n",
           cJSON_GetObjectItemCaseSensitive(form, "breach")->valuestring,
           cJSON_IsString(status) ? status->valuestring : "-");
    int n = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(form, "sections"))
    {
        printf("\n%d. %s\n", ++n, cJSON_GetObjectItemCaseSensitive(s, "title")->valuestring);
        const cJSON *q;
        cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(s, "questions"))
        {
            printf("   %s: %s\n", cJSON_GetObjectItemCaseSensitive(q, "question")->valuestring,
                   cJSON_GetObjectItemCaseSensitive(q, "text")->valuestring);
        }
    }
    printf("\nGebeurtenissen\n");
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(form, "events"))
    {
        char at[64];
        printf("   %s  %s  (%s)\n",
               ap_time(cJSON_GetObjectItemCaseSensitive(e, "time")->valuestring, at, sizeof at),
               cJSON_GetObjectItemCaseSensitive(e, "type")->valuestring,
               cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring);
    }
    printf("\n%d van de %d vragen beantwoord; %d vragen kent Obligo nog niet.\n",
           (int)cJSON_GetObjectItemCaseSensitive(form, "answered")->valuedouble,
           (int)cJSON_GetObjectItemCaseSensitive(form, "questions")->valuedouble,
           (int)cJSON_GetObjectItemCaseSensitive(form, "not_in_catalogue")->valuedouble);
}

static void ap_print_csv(const cJSON *form, int bom)
{
    cli_csv w;
    cli_csv_init(&w, stdout, bom);
    static const char *const head[] = {"section", "id", "question", "answered", "answer"};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        cli_csv_cell(&w, head[i]);
    cli_csv_end_row(&w);
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(form, "sections"))
    {
        const cJSON *q;
        cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(s, "questions"))
        {
            cli_csv_json(&w, cJSON_GetObjectItemCaseSensitive(s, "title"));
            cli_csv_json(&w, cJSON_GetObjectItemCaseSensitive(q, "id"));
            cli_csv_json(&w, cJSON_GetObjectItemCaseSensitive(q, "question"));
            cli_csv_json(&w, cJSON_GetObjectItemCaseSensitive(q, "answered"));
            cli_csv_json(&w, cJSON_GetObjectItemCaseSensitive(q, "text"));
            cli_csv_end_row(&w);
        }
    }
}

int cli_ap_form(const cli_opts *o, store *st, const char *key)
{
    cJSON *data = registers_current(st, "datalekken", key);
    if (!data) {
        fprintf(stderr, "obligo register: no breach '%s' in the register datalekken\n", key);
        return 1;
    }
    cJSON *all = registers_list(st, "datalekken", 1);
    cJSON *versions = cJSON_CreateArray();
    const cJSON *v;
    cJSON_ArrayForEach(v, all)
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(v, "key");
        if (cJSON_IsString(k) && strcmp(k->valuestring, key) == 0)
            cJSON_AddItemToArray(versions, cJSON_Duplicate(v, 1));
    }
    cJSON_Delete(all);
    cJSON *events = ap_events(st, key, data);
    if (!events) {
        fprintf(stderr, "obligo register: cannot read the events of breach '%s': %s\n", key,
                sqlite3_errmsg(st->db));
        cJSON_Delete(versions);
        cJSON_Delete(data);
        return 2;
    }
    cJSON *phases = ap_phases(versions);
    cJSON *form = cJSON_CreateObject();
    cJSON_AddStringToObject(form, "breach", key);
    const cJSON *status = ap_get(data, "status");
    cJSON_AddItemToObject(form, "status", status ? cJSON_Duplicate(status, 1) : cJSON_CreateNull());
    cJSON_AddNumberToObject(form, "register_versions", cJSON_GetArraySize(versions));
    cJSON *duty = obligations_latest(st, "avg.notify_ap", key);
    const cJSON *duty_status = cJSON_GetObjectItemCaseSensitive(duty, "status");
    ap_form f = {.sections = cJSON_AddArrayToObject(form, "sections"),
                 .data = data,
                 .ap_status = cJSON_IsString(duty_status) ? duty_status->valuestring : NULL};
    ap_build(&f, phases);
    cJSON_Delete(duty);
    int questions = 0, answered = 0, unknown = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, f.sections)
    {
        const cJSON *q;
        cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(s, "questions"))
        {
            questions++;
            answered += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "answered"));
            unknown += cJSON_GetObjectItemCaseSensitive(q, "in_catalogue") != NULL;
        }
    }
    cJSON_AddNumberToObject(form, "questions", questions);
    cJSON_AddNumberToObject(form, "answered", answered);
    cJSON_AddNumberToObject(form, "not_in_catalogue", unknown);
    cJSON_AddItemToObject(form, "events", events);
    if (o->json) {
        char *text = cJSON_PrintUnformatted(form);
        if (text)
            puts(text);
        cJSON_free(text);
    } else if (o->csv) {
        ap_print_csv(form, o->bom);
    } else {
        ap_print_text(form);
    }
    cJSON_Delete(form);
    cJSON_Delete(phases);
    cJSON_Delete(versions);
    cJSON_Delete(data);
    return 0;
}
