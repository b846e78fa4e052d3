/*
 * cli_csv.c — the CSV writer (cli_csv.h).
 */
#include "cli_csv.h"

#include <string.h>

void cli_csv_init(cli_csv *w, FILE *out, int bom)
{
    w->out = out;
    w->cells = 0;
    if (bom)
        fputs("\xEF\xBB\xBF", out);
}

static void cli_csv_sep(cli_csv *w)
{
    if (w->cells++)
        fputc(',', w->out);
}

void cli_csv_cell(cli_csv *w, const char *text)
{
    cli_csv_sep(w);
    if (!text || !*text)
        return;
    int formula = strchr("=+-@\t\r", text[0]) != NULL;
    int quote = strpbrk(text, ",\"\r\n") != NULL;
    if (quote)
        fputc('"', w->out);
    if (formula)
        fputc('\'', w->out);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            fputc('"', w->out);
        fputc(*p, w->out);
    }
    if (quote)
        fputc('"', w->out);
}

void cli_csv_number(cli_csv *w, double n)
{
    cli_csv_sep(w);
    if (n == (double)(long long)n)
        fprintf(w->out, "%lld", (long long)n);
    else
        fprintf(w->out, "%.17g", n);
}

void cli_csv_json(cli_csv *w, const cJSON *v)
{
    if (!v || cJSON_IsNull(v)) {
        cli_csv_cell(w, NULL);
    } else if (cJSON_IsString(v)) {
        cli_csv_cell(w, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        cli_csv_number(w, v->valuedouble);
    } else if (cJSON_IsBool(v)) {
        cli_csv_cell(w, cJSON_IsTrue(v) ? "true" : "false");
    } else {
        char *text = cJSON_PrintUnformatted(v);
        cli_csv_cell(w, text);
        cJSON_free(text);
    }
}

void cli_csv_end_row(cli_csv *w)
{
    fputs("\r\n", w->out);
    w->cells = 0;
}

/* The column's value: the member of that name, or else a dotted path into
 * nested objects ("event.source"). */
static const cJSON *cli_csv_lookup(const cJSON *row, const char *column)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, column);
    if (v || !strchr(column, '.'))
        return v;
    char name[128];
    const char *p = column;
    v = row;
    for (;;) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof name)
            return NULL;
        memcpy(name, p, n);
        name[n] = 0;
        v = cJSON_GetObjectItemCaseSensitive(v, name);
        if (!v || !p[n])
            return v;
        p += n + 1;
    }
}

void cli_csv_table(cli_csv *w, const cJSON *rows, const char *const *columns, int n)
{
    for (int i = 0; i < n; i++)
        cli_csv_cell(w, columns[i]);
    cli_csv_end_row(w);
    const cJSON *r;
    cJSON_ArrayForEach(r, rows)
    {
        for (int i = 0; i < n; i++)
            cli_csv_json(w, cli_csv_lookup(r, columns[i]));
        cli_csv_end_row(w);
    }
}
