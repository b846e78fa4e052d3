/*
 * breach.h — a personal data breach as the register `datalekken` and the
 * journal know it, read in one place for the command line (the AP form,
 * apform.h) and the daemon (GET /v1/breaches/{key}): the breach's events,
 * its notification phases, and the whole record the officer reads.
 *
 * A breach is the register entry of its key; reports merged into it (the
 * same dedup_key, rules/avg/breaches.lua) are listed in the entry's
 * `reports`, and their events and obligations belong to the breach too.
 * Everything here only reads; it runs on whichever thread owns st.
 */
#ifndef OBLIGO_BREACH_H
#define OBLIGO_BREACH_H

#include <cjson/cJSON.h>

#include "store.h"

#define BREACH_REGISTER "datalekken"

/* Why a read found nothing to give (*err). */
enum { BREACH_NOT_FOUND = 1, BREACH_EDB = 2 };

/* The breach's events: every nl.avg.breach.* event whose data.breach_id is
 * key or one of data's `reports`, in journal order, as [{seq, type, time,
 * id}]; with full also received_at, source and the decisions each caused
 * (as GET /v1/events/{source}/{id} gives them). NULL on a database error. */
cJSON *breach_events(store *st, const char *key, const cJSON *data, int full);

/* Every notification phase, in the order recorded, as [{phase,
 * notified_at, reference, delay_reasons?}]: the entry's `notifications`
 * when it has them, else gathered from its versions (registers.h, oldest
 * first), which entries written before that list existed hold. */
cJSON *breach_phases(const cJSON *data, const cJSON *versions);

/* The whole record: {key, current, status, versions, chain: {verified,
 * break}, notifications, obligations, timeline} (README, "HTTP API"). NULL
 * with *err BREACH_NOT_FOUND for no such entry, BREACH_EDB on a database
 * error. */
cJSON *breach_read(store *st, const char *key, int *err);

#endif
