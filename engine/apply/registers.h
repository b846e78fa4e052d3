/*
 * registers.h — named, append-only registers with full history and a hash
 * chain (DESIGN §2). The breach register `datalekken` is one of them.
 *
 * Every change is a new version of an entry; nothing is updated or deleted.
 * Each version's hash covers the hash of the register's previous version (of
 * any key), so removing or editing any version breaks the chain.
 * All functions run on the store's thread, inside the caller's transaction
 * where they write.
 */
#ifndef OBLIGO_REGISTERS_H
#define OBLIGO_REGISTERS_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "clock.h"
#include "digest.h"
#include "store.h"

/* Merges fields (an object, borrowed) into the entry's current data and
 * appends the result as a new version, unless nothing changed. */
int registers_append(store *st, const char *name, const char *key, const cJSON *fields,
                     obligo_time at, int64_t event_seq);

/* The current data of an entry, as a new object the caller frees, or NULL. */
cJSON *registers_current(store *st, const char *name, const char *key);

/* The entries as a JSON array of {register, key, version, at, data, hash,
 * prev_hash}: the latest version of each key, or every version when
 * history is set. Caller frees. */
cJSON *registers_list(store *st, const char *name, int history);

/* One page of the register's history in the order the versions were
 * appended (the chain's order), each row as registers_list has it plus its
 * "seq": the versions with seq > after_seq, at most limit of them (0: no
 * limit). Paging on with the last seq seen returns every version exactly
 * once, also while versions are being appended. Caller frees; NULL on a
 * database error. */
cJSON *registers_history(store *st, const char *name, int64_t after_seq, int limit);

/* Every version of one entry in the order appended, each as
 * registers_history has it plus "event" ({source, id} of the event that
 * wrote it, or null) and "verified": whether its hash matches its content,
 * its prev_hash is the hash of the register's version before it (of any
 * key: the chain is the register's) and its number follows the entry's
 * version before it. *first_break (may be NULL) gets a new string (obligo_free) naming
 * the first version that fails and why, "version 3 (register seq 812):
 * hash does not match its content", or NULL when all hold. Caller frees;
 * NULL on a database error. */
cJSON *registers_entry_versions(store *st, const char *name, const char *key, char **first_break);

/* Recomputes every chain; returns the number of broken links (or -1 on a
 * database error) and tells say (may be NULL) of each. */
long registers_verify(store *st, digest_finding say, void *ud);

#endif
