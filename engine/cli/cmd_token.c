/*
 * cmd_token.c — `obligo token create|list|revoke` (cli.h), the command-line
 * face of tokens.c.
 *
 * These commands open the database directly (store.h) rather than through
 * cli_open: managing tokens needs no rule set, and `create` and `revoke`
 * must migrate an older database so that its tokens table exists. `list`
 * opens it read-only, like the other reading commands.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "cli_common.h"
#include "clock.h"
#include "error.h"
#include "store.h"
#include "tokens.h"

static const char token_usage[] =
    "usage: obligo token create --role ingest|officer|admin [--note TEXT] [--config F] [--db F]\n"
    "       obligo token list [--config F] [--db F] [--json]\n"
    "       obligo token revoke ID [--config F] [--db F]\n"
    "API tokens for the HTTP API: ingest may post events, officer may read, admin may do\n"
    "both. A new token is printed once; only its hash is stored.\n";

/* Loads the configuration and opens its database. 0, or 2 after printing
 * why; on success the caller closes st and frees cfg. */
static int token_open(const cli_opts *o, config *cfg, store *st, int read_only)
{
    if (cli_config(o, cfg))
        return 2;
    char *err = NULL;
    int rc = store_open(st, cfg->db_path, read_only, &err);
    if (rc) {
        fprintf(stderr, "obligo token: %s\n", err ? err : obligo_strerror(rc));
        obligo_free(err);
        config_free(cfg);
        return 2;
    }
    return 0;
}

static int token_create(const cli_opts *o)
{
    if (!o->role) {
        fprintf(stderr, "obligo token create: name the role with --role ingest, officer or "
                        "admin\n");
        return 2;
    }
    /* Every role may do something, so a role that may do nothing is not one;
     * checked before the database is opened (or created) for nothing. */
    if (!tokens_allows(o->role, 0) && !tokens_allows(o->role, 1)) {
        fprintf(stderr, "obligo token create: --role must be ingest, officer or admin, not '%s'\n",
                o->role);
        return 2;
    }
    config cfg;
    store st;
    if (token_open(o, &cfg, &st, 0))
        return 2;
    char *token = NULL, *id = NULL;
    int rc = tokens_create(&st, o->role, o->note, &token, &id);
    if (rc) {
        fprintf(stderr, "obligo token create: could not store the token in %s: %s\n", cfg.db_path,
                obligo_strerror(rc));
    } else {
        printf("%s\n", token);
        printf("token %s (role %s) created; store it now, it will not be shown again\n", id,
               o->role);
        fflush(stdout);
    }
    /* The text is on its way to the user; do not leave it in the heap. */
    if (token)
        explicit_bzero(token, strlen(token));
    obligo_free(token);
    obligo_free(id);
    store_close(&st);
    config_free(&cfg);
    return rc ? 2 : 0;
}

static const char *token_s(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "2026-02-05T08:15:00Z" -> "2026-02-05 09:15" Amsterdam, as the other
 * tables show times; "-" when absent. */
static void token_local(const char *utc, char *buf, size_t n)
{
    obligo_time t;
    civil c;
    if (!utc || clock_parse_rfc3339(utc, &t)) {
        snprintf(buf, n, "-");
        return;
    }
    clock_to_ams(t, &c);
    snprintf(buf, n, "%04d-%02d-%02d %02d:%02d", c.year, c.month, c.day, c.hour, c.min);
}

static int token_list(const cli_opts *o)
{
    config cfg;
    store st;
    if (token_open(o, &cfg, &st, 1))
        return 2;
    cJSON *rows = tokens_list(&st);
    int rc = 0;
    if (!rows) {
        fprintf(stderr, "obligo token list: cannot read the tokens in %s: %s\n", cfg.db_path,
                sqlite3_errmsg(st.db));
        rc = 2;
    } else if (o->json) {
        char *text = cJSON_PrintUnformatted(rows);
        if (text)
            puts(text);
        else
            rc = 2;
        cJSON_free(text);
    } else {
        printf("%-12s %-8s %-17s %-17s %s\n", "ID", "ROLE", "CREATED (AMS)", "REVOKED (AMS)",
               "NOTE");
        for (const cJSON *r = rows->child; r; r = r->next) {
            char created[32], revoked[32];
            token_local(token_s(r, "created_at"), created, sizeof created);
            token_local(token_s(r, "revoked_at"), revoked, sizeof revoked);
            const char *note = token_s(r, "note"), *id = token_s(r, "id");
            const char *role = token_s(r, "role");
            printf("%-12s %-8s %-17s %-17s %s\n", id ? id : "?", role ? role : "?", created,
                   revoked, note ? note : "");
        }
    }
    cJSON_Delete(rows);
    store_close(&st);
    config_free(&cfg);
    return rc;
}

static int token_revoke(const cli_opts *o)
{
    if (o->nargs != 2) {
        fprintf(stderr, "obligo token revoke: name one token id, e.g. tok_0123abcd\n%s",
                token_usage);
        return 2;
    }
    const char *id = o->args[1];
    config cfg;
    store st;
    if (token_open(o, &cfg, &st, 0))
        return 2;
    int rc = tokens_revoke(&st, id);
    int exit_code = 0;
    if (rc == OBLIGO_ENOTFOUND) {
        fprintf(stderr,
                "obligo token revoke: no active token '%s' in %s; 'obligo token list' shows "
                "them\n",
                id, cfg.db_path);
        exit_code = 1;
    } else if (rc) {
        fprintf(stderr, "obligo token revoke: could not revoke '%s' in %s: %s\n", id, cfg.db_path,
                obligo_strerror(rc));
        exit_code = 2;
    } else {
        printf("token %s revoked\n", id);
    }
    store_close(&st);
    config_free(&cfg);
    return exit_code;
}

int cli_token(int argc, char **argv)
{
    cli_opts o;
    /* getopt permutes argv, so the action and the id are the positional
     * arguments wherever the options stand. */
    int prc = cli_parse(argc, argv, &o, token_usage);
    if (prc)
        return prc > 0 ? 0 : 2;
    if (o.nargs < 1) {
        fprintf(stderr, "obligo token: say create, list or revoke\n%s", token_usage);
        return 2;
    }
    const char *action = o.args[0];
    if (strcmp(action, "revoke") == 0)
        return token_revoke(&o);
    if (o.nargs != 1) {
        fprintf(stderr, "obligo token %s: unexpected argument '%s'\n%s", action, o.args[1],
                token_usage);
        return 2;
    }
    if (strcmp(action, "create") == 0)
        return token_create(&o);
    if (strcmp(action, "list") == 0)
        return token_list(&o);
    fprintf(stderr, "obligo token: unknown action '%s'; say create, list or revoke\n%s", action,
            token_usage);
    return 2;
}
