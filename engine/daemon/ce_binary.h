/*
 * ce_binary.h — CloudEvents' HTTP protocol binding, binary content mode
 * (http-protocol-binding.md §3.1): an event whose attributes travel as
 * ce-* headers and whose data is the body, turned into the structured-mode
 * JSON text of the same event, which then goes through the same decode,
 * validation and journal as any structured event (the journal and replay
 * see a normal CloudEvent).
 *
 * Mapping: a header ce-NAME is attribute NAME (NAME lower-case letters and
 * digits, §3.1.3.1), its value percent-decoded (§3.1.3.2) and required to
 * be UTF-8 without NUL; Content-Type is datacontenttype. A JSON body
 * (decode_media_is_json) becomes data as sent; another body becomes
 * data_base64 (which a catalogue type with a data schema refuses: it needs
 * JSON data); an empty body, no data.
 *
 * Pure functions; any thread.
 */
#ifndef OBLIGO_CE_BINARY_H
#define OBLIGO_CE_BINARY_H

#include <stddef.h>

#include "transport_http.h"

/* 1 when a request to POST /v1/events is a binary-mode event: it has a
 * ce-specversion header and its media type (lower-case, no parameters) is
 * not one of the structured, batch or NDJSON types (with which the body is
 * the event and the headers are ignored, §3.1). */
int ce_binary_is(const http_header *headers, int n, const char *media_type);

/* The structured JSON text of the binary-mode event (headers, the raw
 * Content-Type value or "" and the body). Returns 0 with *json (caller
 * frees, *json_len bytes), OBLIGO_EINVAL with *field (the header, or "data"
 * for the body) and *reason (caller frees both), or OBLIGO_ENOMEM. */
int ce_binary_to_json(const http_header *headers, int n, const char *content_type_raw,
                      const char *body, size_t body_len, char **json, size_t *json_len,
                      char **field, char **reason);

/* The header that carried a field of the structured event, for an error
 * about a binary-mode event: "id" -> "ce-id", "datacontenttype" ->
 * "content-type", "data_base64" -> "data" (the body); "data..." and ""
 * stay. Caller frees; NULL when memory ran out or field is NULL. */
char *ce_binary_field(const char *field);

/* What is kept in `rejected` for a binary-mode request refused before its
 * structured text could be built: its ce-* and Content-Type header lines
 * ("name: value\r\n" as received), a blank line, the body. Caller frees
 * (*len bytes); NULL when memory ran out. */
char *ce_binary_message(const http_header *headers, int n, const char *body, size_t body_len,
                        size_t *len);

#endif
