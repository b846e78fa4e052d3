/*
 * fuzz_ndjson.c — how `obligo serve` splits the body of POST /v1/events into
 * raw events (serve_split in engine/daemon/serve_events.c, declared in serve.h): NDJSON
 * lines, one structured CloudEvent, or a batch (a JSON array whose elements
 * are printed again one by one).
 *
 * Every input is split as each of the three media types and as an unknown
 * one, the way the transport hands the body over: a NUL-terminated copy with
 * its length. Properties checked:
 *   - application/x-ndjson: the events are exactly the lines of the body
 *     (split at LF) with blanks (space, tab, CR) trimmed at both ends, empty
 *     lines dropped, in order; each is NUL-terminated at its length;
 *   - application/cloudevents+json: one event, the body byte for byte;
 *   - application/cloudevents-batch+json: a JSON array gives one event per
 *     element, each of which is JSON again; anything else is refused with a
 *     reason;
 *   - any other type is refused as unsupported (-2);
 *   - nothing leaks, whatever the outcome.
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "engine.h"
#include "fuzz.h"
#include "serve.h"
#include "transport_http.h"
#include "writer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    engine_global_init(); /* cJSON allocates through obligo_malloc, as in serve */
    return 0;
}

static int blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static void check_ndjson(const char *body, size_t len, const writer_job *j)
{
    const char *p = body, *end = body + len;
    int k = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *a = p, *b = eol ? eol : end;
        while (a < b && blank(*a))
            a++;
        while (b > a && blank(b[-1]))
            b--;
        if (b > a) {
            FUZZ_CHECK(k < j->n, "line %d is missing (%d events)", k + 1, j->n);
            FUZZ_CHECK(j->lens[k] == (size_t)(b - a) && memcmp(j->raws[k], a, j->lens[k]) == 0,
                       "event %d is not its line", k);
            FUZZ_CHECK(j->raws[k][j->lens[k]] == '\0', "event %d is not NUL-terminated", k);
            k++;
        }
        p = eol ? eol + 1 : end;
    }
    FUZZ_CHECK(k == j->n, "%d events from %d non-empty lines", j->n, k);
}

static void split_as(const char *type, const char *body, size_t len)
{
    http_request req = {.method = "POST",
                        .path = "/v1/events",
                        .query = "",
                        .content_type = type,
                        .authorization = "",
                        .body = body,
                        .body_len = len,
                        .peer = "fuzz"};
    writer_job *j = writer_job_new(WRITER_EVENTS, NULL);
    FUZZ_CHECK(j != NULL, "out of memory");
    const char *why = NULL;
    int n = serve_split(&req, j, &why);
    FUZZ_CHECK(n == -2 || n == -1 || n == j->n, "returned %d for %d events", n, j->n);
    if (strcmp(type, "application/x-ndjson") == 0) {
        FUZZ_CHECK(n >= 0, "NDJSON refused: %s", why ? why : "?");
        check_ndjson(body, len, j);
    } else if (strcmp(type, "application/cloudevents+json") == 0) {
        FUZZ_CHECK(n == 1 && j->lens[0] == len && memcmp(j->raws[0], body, len) == 0,
                   "a single event is not the body");
    } else if (strcmp(type, "application/cloudevents-batch+json") == 0) {
        cJSON *arr = cJSON_ParseWithLength(body, len);
        /* cJSON takes raw control characters, which JSON forbids, and
         * \u0000, which it cannot keep; the engine refuses both. A body
         * without a byte below 0x20 cannot be refused for the first, nor
         * one without the six characters \u0000 for the second. */
        int low = 0;
        for (size_t i = 0; i < len && !low; i++)
            low = (unsigned char)body[i] < 0x20;
        int nul = memmem(body, len, "\\u0000", 6) != NULL;
        if (cJSON_IsArray(arr) && n == -1) {
            FUZZ_CHECK(why && ((low && strstr(why, "control character")) ||
                               (nul && strstr(why, "U+0000"))),
                       "an array was refused: %s", why ? why : "?");
        } else if (cJSON_IsArray(arr)) {
            FUZZ_CHECK(n == cJSON_GetArraySize(arr), "%d events from an array of %d", n,
                       cJSON_GetArraySize(arr));
            for (int i = 0; i < n; i++) {
                cJSON *again = cJSON_ParseWithLength(j->raws[i], j->lens[i]);
                FUZZ_CHECK(again != NULL, "element %d printed as non-JSON: %s", i, j->raws[i]);
                cJSON_Delete(again);
            }
        } else {
            FUZZ_CHECK(n == -1 && why != NULL, "a batch that is not an array was taken (%d)", n);
        }
        cJSON_Delete(arr);
    } else {
        FUZZ_CHECK(n == -2, "an unsupported type was taken (%d)", n);
    }
    writer_job_free(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the transport's body: a NUL-terminated copy */
    char *body = malloc(size + 1);
    FUZZ_CHECK(body != NULL, "out of memory");
    memcpy(body, data, size);
    body[size] = '\0';
    split_as("application/x-ndjson", body, size);
    split_as("application/cloudevents+json", body, size);
    split_as("application/cloudevents-batch+json", body, size);
    split_as("application/json", body, size);
    free(body);
    return 0;
}
