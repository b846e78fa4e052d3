/*
 * cli_csv.h — the one CSV writer of the reading commands (obligations,
 * alerts, rejected, register, the AP form) and of the daemon's CSV answers
 * (GET /v1/breaches/{key}/ap-form?format=csv): in engine/base so both the
 * command line and the daemon use it; the name stays the CLI's, where it
 * began.
 *
 * RFC 4180: rows end in CRLF; a cell holding a comma, a double quote, CR or
 * LF is quoted with its quotes doubled. Text cells that a spreadsheet would
 * take for a formula — starting with '=', '+', '-', '@', a tab or a
 * carriage return — get a single quote in front, as OWASP advises for CSV
 * injection. Numbers the engine writes itself (cli_csv_number) are never
 * neutralised: -3600 is a number to a spreadsheet, not a formula. Bytes
 * pass through unchanged, so UTF-8 stays UTF-8; cli_csv_bom writes the
 * UTF-8 byte order mark a spreadsheet needs to read it as such ("cliënten",
 * not "cliÃ«nten").
 */
#ifndef OBLIGO_CLI_CSV_H
#define OBLIGO_CLI_CSV_H

#include <cjson/cJSON.h>
#include <stdio.h>

typedef struct cli_csv {
    FILE *out;
    int cells; /* cells written in the current row */
} cli_csv;

void cli_csv_init(cli_csv *w, FILE *out, int bom);
/* One text cell (NULL: an empty cell). */
void cli_csv_cell(cli_csv *w, const char *text);
void cli_csv_number(cli_csv *w, double n);
/* A JSON value as a cell: a string as its text, a number as a number,
 * true/false, null or NULL as an empty cell, objects and arrays as their
 * JSON text (neutralised and quoted like any text). */
void cli_csv_json(cli_csv *w, const cJSON *v);
void cli_csv_end_row(cli_csv *w);
/* A header of the n column names, then one row per object of rows with each
 * column's value (cli_csv_json): the member of that name, or else a dotted
 * path into nested objects ("event.source"). */
void cli_csv_table(cli_csv *w, const cJSON *rows, const char *const *columns, int n);

#endif
