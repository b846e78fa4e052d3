/*
 * apform.h — the Autoriteit Persoonsgegevens' notification form for a
 * personal data breach, filled from the breach's register entry (breach.h),
 * for `obligo register datalekken --ap-form KEY` and GET
 * /v1/breaches/{key}/ap-form alike.
 *
 * The form is {breach, status, register_versions, sections: [{id, title,
 * questions: [{id, question, answered, value, text, in_catalogue?}]}],
 * questions, answered, not_in_catalogue, events}: grouped as the AP's form
 * is, each question answered in Dutch from the entry or marked "niet
 * beantwoord". A question the catalogue (plugins/avg) has no field for
 * would be marked "niet beantwoord (Obligo kent dit veld nog niet)" with
 * in_catalogue false; every question of the form has a field today, so
 * not_in_catalogue is 0, but the mark stays for a question added before
 * its field.
 */
#ifndef OBLIGO_APFORM_H
#define OBLIGO_APFORM_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include "store.h"

/* The form of breach key (caller frees), or NULL with *err
 * BREACH_NOT_FOUND or BREACH_EDB (breach.h). */
cJSON *apform_build(store *st, const char *key, int *err);

/* The form as text for a person: the sections with their answers, the
 * breach's events and how many questions were answered. */
void apform_print_text(const cJSON *form, FILE *out);

/* The form as CSV (cli_csv.h), one row per question: section, id,
 * question, answered, answer; bom writes the UTF-8 byte order mark. */
void apform_print_csv(const cJSON *form, FILE *out, int bom);

#endif
