/*
 * cmd_apform.c — `obligo register datalekken --ap-form KEY`: the
 * Autoriteit Persoonsgegevens' notification form of a breach (apform.h,
 * which the daemon's GET /v1/breaches/{key}/ap-form shares), as text,
 * --json or --csv.
 */
#include <stdio.h>

#include "apform.h"
#include "breach.h"
#include "cli_common.h"

int cli_ap_form(const cli_opts *o, store *st, const char *key)
{
    int err = 0;
    cJSON *form = apform_build(st, key, &err);
    if (!form && err == BREACH_NOT_FOUND) {
        fprintf(stderr, "obligo register: no breach '%s' in the register datalekken\n", key);
        return 1;
    }
    if (!form) {
        fprintf(stderr, "obligo register: cannot read the events of breach '%s': %s\n", key,
                sqlite3_errmsg(st->db));
        return 2;
    }
    if (o->json) {
        char *text = cJSON_PrintUnformatted(form);
        if (text)
            puts(text);
        cJSON_free(text);
    } else if (o->csv) {
        apform_print_csv(form, stdout, o->bom);
    } else {
        apform_print_text(form, stdout);
    }
    cJSON_Delete(form);
    return 0;
}
