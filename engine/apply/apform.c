/*
 * apform.c — the AP notification form of a breach (apform.h): each
 * question of the Autoriteit Persoonsgegevens' form answered from the
 * breach's register entry, every notification phase from its
 * `notifications` (or its versions, for an entry older than that list),
 * and the breach's events with their instants.
 *
 * Questions the events did not answer are "niet beantwoord", so the
 * officer sees what the form still needs.
 */
#include "apform.h"

#include <string.h>

#include "breach.h"
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
        {"clients", "cliënten"},
        {"employees", "medewerkers"},
        {"minors", "minderjarigen"},
        {"vulnerable", "kwetsbare groepen"},
        {"relatives", "familie of vertegenwoordigers"},
        {"stigmatisation_exclusion", "stigmatisering of uitsluiting"},
        {"damage_to_health", "schade aan de gezondheid"},
        {"identity_fraud", "blootstelling aan (identiteits)fraude"},
        {"spam_phishing", "blootstelling aan spam of phishing"},
        {"financial_loss", "financiële schade"},
        {"reputational_damage", "reputatieschade"},
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

/* The Dutch words of a list of catalogue values, ", " between them, into
 * buf; returns its length (0 for an empty or absent list). */
static size_t ap_join(const cJSON *list, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    const cJSON *c;
    cJSON_ArrayForEach(c, list)
    {
        if (cJSON_IsString(c) && len < n)
            len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? ", " : "",
                                    ap_word(c->valuestring));
    }
    return len < n ? len : n - 1;
}

static void ap_list(ap_form *f, const char *id, const char *question, const char *name)
{
    const cJSON *list = ap_get(f->data, name);
    char buf[512];
    ap_ask(f, id, question, list, ap_join(list, buf, sizeof buf) ? buf : NULL, 1);
}

/* The likely consequences: the ticked ones, then the note (either may be
 * missing). */
static void ap_consequences(ap_form *f)
{
    const cJSON *list = ap_get(f->data, "consequences");
    const cJSON *note = ap_get(f->data, "consequences_note");
    char buf[1024];
    size_t len = ap_join(list, buf, sizeof buf);
    if (cJSON_IsString(note) && *note->valuestring)
        snprintf(buf + len, sizeof buf - len, "%s%s", len ? ": " : "", note->valuestring);
    ap_ask(f, "consequences.likely", "Waarschijnlijke gevolgen voor de betrokkenen",
           list ? list : note, *buf ? buf : NULL, 1);
}

/* The end: an instant, or still going on (ongoing). */
static void ap_end(ap_form *f)
{
    const cJSON *end = ap_get(f->data, "ended_at"), *ongoing = ap_get(f->data, "ongoing");
    char buf[64];
    const char *text = cJSON_IsString(end)      ? ap_time(end->valuestring, buf, sizeof buf)
                       : cJSON_IsTrue(ongoing)  ? "nog gaande"
                       : cJSON_IsFalse(ongoing) ? "beëindigd (tijdstip niet opgegeven)"
                                                : NULL;
    ap_ask(f, "timeline.end", "Einde van het datalek, of nog gaande",
           cJSON_IsString(end) ? end : ongoing, text, 1);
}

/* The measures taken: those the breach was closed with, else those
 * reported. */
static void ap_measures_taken(ap_form *f)
{
    const cJSON *closed = ap_get(f->data, "measures");
    ap_text(f, "measures.taken", "Genomen maatregelen", f->data,
            cJSON_IsString(closed) && *closed->valuestring ? "measures" : "measures_taken");
}

/* Other EU countries: yes, no or unknown, with the countries named. */
static void ap_cross_border(ap_form *f)
{
    const cJSON *cb = ap_get(f->data, "cross_border");
    char list[256], buf[512];
    size_t n = ap_join(ap_get(f->data, "countries"), list, sizeof list);
    if (cJSON_IsString(cb))
        snprintf(buf, sizeof buf, "%s%s%s%s", ap_word(cb->valuestring), n ? " (" : "", list,
                 n ? ")" : "");
    ap_ask(f, "cross_border.other_countries",
           "Betreft het personen of een verwerking in andere EU-landen", cb,
           cJSON_IsString(cb) ? buf : NULL, 1);
}

static void ap_build(ap_form *f, const cJSON *phases)
{
    const cJSON *reporter = ap_get(f->data, "reporter");
    char buf[1024];

    ap_section(f, "contact", "Contactpersoon");
    ap_text(f, "contact.name", "Naam", reporter, "name");
    ap_text(f, "contact.role", "Functie", reporter, "role");
    ap_text(f, "contact.phone", "Telefoonnummer", reporter, "phone");
    ap_text(f, "contact.email", "E-mailadres", reporter, "email");

    ap_section(f, "timeline", "Tijdlijn");
    ap_instant(f, "timeline.start", "Begin van het datalek", "started_at");
    ap_end(f);
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
    ap_list(f, "data.categories", "Soorten persoonsgegevens", "categories");
    ap_category(f, "data.special", "Bijzondere persoonsgegevens (gezondheid)", "health");
    ap_category(f, "data.bsn", "Burgerservicenummer (BSN)", "bsn");

    ap_section(f, "numbers", "Omvang");
    ap_number(f, "numbers.records", "Aantal records (bij benadering)", "records_affected");
    ap_number(f, "numbers.persons", "Aantal betrokken personen (bij benadering)",
              "persons_affected");

    ap_section(f, "groups", "Groepen betrokkenen");
    ap_list(f, "groups.kinds", "Om welke groepen personen gaat het", "groups");

    ap_section(f, "encryption", "Versleuteling");
    const cJSON *unint = ap_get(f->data, "unintelligible");
    ap_ask(f, "encryption.unintelligible", "Waren de gegevens versleuteld of anders onbegrijpelijk",
           unint,
           cJSON_IsTrue(unint)   ? "ja"
           : cJSON_IsBool(unint) ? "nee (niet als onbegrijpelijk gemeld)"
                                 : NULL,
           1);

    ap_section(f, "consequences", "Gevolgen");
    ap_consequences(f);
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
    ap_text(f, "subjects.message", "Inhoud van het bericht aan de betrokkenen", f->data,
            "subjects_message");

    ap_section(f, "measures", "Maatregelen");
    ap_measures_taken(f);
    ap_text(f, "measures.planned", "Voorgenomen maatregelen", f->data, "measures_planned");

    ap_section(f, "cross_border", "Grensoverschrijdende verwerking");
    ap_cross_border(f);
}

/* The number of questions, those answered and those the catalogue has no
 * field for, into the form. */
static void ap_count(cJSON *form, const cJSON *sections)
{
    int questions = 0, answered = 0, unknown = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, sections)
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
}

cJSON *apform_build(store *st, const char *key, int *err)
{
    *err = 0;
    cJSON *data = registers_current(st, BREACH_REGISTER, key);
    if (!data) {
        *err = BREACH_NOT_FOUND;
        return NULL;
    }
    /* the form does not judge the chain: GET /v1/breaches/{key} does */
    cJSON *versions = registers_entry_versions(st, BREACH_REGISTER, key, NULL);
    cJSON *events = versions ? breach_events(st, key, data, 0) : NULL;
    if (!events) {
        cJSON_Delete(versions);
        cJSON_Delete(data);
        *err = BREACH_EDB;
        return NULL;
    }
    cJSON *phases = breach_phases(data, versions);
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
    ap_count(form, f.sections);
    cJSON_AddItemToObject(form, "events", events);
    cJSON_Delete(phases);
    cJSON_Delete(versions);
    cJSON_Delete(data);
    return form;
}

void apform_print_text(const cJSON *form, FILE *out)
{
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(form, "status");
    fprintf(out, "Meldformulier datalekken (Autoriteit Persoonsgegevens): datalek %s, status %s\n",
            cJSON_GetObjectItemCaseSensitive(form, "breach")->valuestring,
            cJSON_IsString(status) ? status->valuestring : "-");
    int n = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(form, "sections"))
    {
        fprintf(out, "\n%d. %s\n", ++n, cJSON_GetObjectItemCaseSensitive(s, "title")->valuestring);
        const cJSON *q;
        cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(s, "questions"))
        {
            fprintf(out, "   %s: %s\n",
                    cJSON_GetObjectItemCaseSensitive(q, "question")->valuestring,
                    cJSON_GetObjectItemCaseSensitive(q, "text")->valuestring);
        }
    }
    fprintf(out, "\nGebeurtenissen\n");
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(form, "events"))
    {
        char at[64];
        fprintf(out, "   %s  %s  (%s)\n",
                ap_time(cJSON_GetObjectItemCaseSensitive(e, "time")->valuestring, at, sizeof at),
                cJSON_GetObjectItemCaseSensitive(e, "type")->valuestring,
                cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring);
    }
    fprintf(out, "\n%d van de %d vragen beantwoord; %d vragen kent Obligo nog niet.\n",
            (int)cJSON_GetObjectItemCaseSensitive(form, "answered")->valuedouble,
            (int)cJSON_GetObjectItemCaseSensitive(form, "questions")->valuedouble,
            (int)cJSON_GetObjectItemCaseSensitive(form, "not_in_catalogue")->valuedouble);
}

void apform_print_csv(const cJSON *form, FILE *out, int bom)
{
    cli_csv w;
    cli_csv_init(&w, out, bom);
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
