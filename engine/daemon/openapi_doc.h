/*
 * openapi_doc.h — engine/daemon/openapi.json, the OpenAPI 3.1 document of
 * the HTTP API, embedded into the binary at build time (cmake/embed.cmake
 * writes openapi_doc.c into the build tree). serve_contract.c serves it.
 */
#ifndef OBLIGO_OPENAPI_DOC_H
#define OBLIGO_OPENAPI_DOC_H

#include <stddef.h>

/* The document's bytes, NUL-terminated; obligo_openapi_json_len excludes
 * the NUL. */
extern const char obligo_openapi_json[];
extern const size_t obligo_openapi_json_len;

#endif
