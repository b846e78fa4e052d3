/*
 * obligations.h — obligations and their timers (DESIGN §2, §5).
 *
 * Status moves open -> fulfilled | late | cancelled, or open -> overdue ->
 * late | cancelled. At most one obligation per kind and subject is active
 * (open or overdue). Every active obligation has timer rows: one for its due
 * instant ("overdue") and one per reminder; the engine arms one libuv timer
 * for the earliest row. Timer rows are deleted in the same transaction that
 * turns them into an engine event, so each fires once.
 * All functions run on the store's thread inside the caller's transaction.
 */
#ifndef OBLIGO_OBLIGATIONS_H
#define OBLIGO_OBLIGATIONS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "decision.h"

/* {"op":"open","kind","subject","from","due_at","legal_limit"?,"remind"?,
 * "once"?,"latest"?,"data"?} (d is borrowed). With nothing active a new
 * open obligation starts at `from`. An open one is re-armed from the new
 * `from`, later or earlier (act.open: an earlier report of the same breach
 * moves the deadline earlier). An overdue one stays as it is for a "once"
 * kind and otherwise closes "late" while a new period opens. With "latest"
 * (every open decision of a declarative trigger, rules.c) the duty runs
 * from the latest event: a `from` not later than the active obligation's
 * starts_at changes nothing, neither the row nor its timers. Returns 0 or a
 * negative code. */
int obligations_open(action_ctx *ctx, const cJSON *d);
int obligations_fulfil(action_ctx *ctx, const cJSON *d);
int obligations_cancel(action_ctx *ctx, const cJSON *d);
int obligations_extend(action_ctx *ctx, const cJSON *d);
/* {"op":"overdue","obligation":id}: open -> overdue. */
int obligations_overdue(action_ctx *ctx, const cJSON *d);

/* One obligation as output JSON (DESIGN §2); by id or the latest of
 * kind+subject. Caller frees; NULL when none. */
cJSON *obligations_get(store *st, int64_t id);
cJSON *obligations_latest(store *st, const char *kind, const char *subject);

typedef struct obligations_filter {
    const char *status; /* one status or a comma list (open,overdue); NULL: any */
    const char *kind, *subject;
    obligo_time due_before; /* 0: no bound */
    int64_t after_id;       /* paging by id: rows with id > after_id */
    int limit;              /* 0: no limit */
    int order_due;          /* 1: by (due_at, id) ascending instead of by id */
    int has_after_due;      /* order_due: only rows strictly after (after_due, after_id) */
    obligo_time after_due;
} obligations_filter;

/* Output rows as a JSON array, ordered by id or, with order_due, by
 * (due_at, id). A status the engine does not know matches no row. Ordered
 * by due and asking only for active statuses (open, overdue), the query
 * walks an index in the answer's order and stops at the limit, whatever
 * the table's size (store.c, migration 6). The borrowed strings stay the
 * caller's. Caller frees; NULL on a database error. */
cJSON *obligations_list(store *st, const obligations_filter *f);

/* 0 when list is one status or a comma list of them, each one of open,
 * fulfilled, overdue, late, cancelled; -1 otherwise. Fills *mask (may be
 * NULL) with bit i set for the i-th status of that order. */
int obligations_statuses(const char *list, unsigned *mask);

/* The earliest timer: returns 1 and fills the fields, 0 when none, or a
 * negative code. */
typedef struct obligations_timer {
    int64_t obligation;
    obligo_time fire_at;
    char what[16]; /* "overdue" or "reminder" */
} obligations_timer;

int obligations_next_timer(store *st, obligations_timer *t);
int obligations_delete_timer(store *st, const obligations_timer *t);

/* Counts by status (for /metrics and the CLI summary): fills counts in the
 * order open, fulfilled, overdue, late, cancelled. */
int obligations_count_by_status(store *st, long counts[5]);

/* Running counts by status for /metrics: obligations_counts_start counts
 * once (a scan) and installs triggers on this connection that keep the
 * counts as it writes, inside its transactions; obligations_counts then
 * reads them (five rows) in the order above. The writer's connection, on
 * its thread, outside a transaction for _start. Return 0 or a negative
 * code. */
int obligations_counts_start(store *st);
int obligations_counts(store *st, long counts[5]);

#endif
