/*
 * error.h — the one table of error codes used across the engine.
 *
 * Every function that can fail returns 0 or one of the negative codes below
 * (the libuv convention). Details for a person travel separately, as a
 * message string the caller frees with obligo_free().
 *
 * libuv's own codes (UV_E*, negative errno values) are a different space
 * that overlaps this one (UV_EPERM is -1, like OBLIGO_ENOMEM), so a libuv
 * result is turned into one of these codes with error_from_uv right where
 * the libuv call is made and never travels further as it is. Codes are only
 * ever added at the end: their numbers are part of what callers compare.
 */
#ifndef OBLIGO_ERROR_H
#define OBLIGO_ERROR_H

#define OBLIGO_ERRORS(X)                                                                           \
    X(OK, 0, "ok")                                                                                 \
    X(ENOMEM, -1, "out of memory")                                                                 \
    X(EINVAL, -2, "invalid input")                                                                 \
    X(EIO, -3, "input/output error")                                                               \
    X(EDB, -4, "database error")                                                                   \
    X(ERULE, -5, "rule error")                                                                     \
    X(ENOTFOUND, -6, "not found")                                                                  \
    X(EBUSY, -7, "busy")                                                                           \
    X(ELIMIT, -8, "limit exceeded")                                                                \
    X(EFULL, -9, "storage full or read-only")                                                      \
    X(EUSAGE, -10, "usage error")                                                                  \
    X(EADDRINUSE, -11, "address already in use")                                                   \
    X(EACCES, -12, "permission denied")                                                            \
    X(EADDRNOTAVAIL, -13, "address not available on this machine")                                 \
    X(ESYS, -14, "operating system error")

enum obligo_error {
#define OBLIGO_ERROR_ENUM(name, code, text) OBLIGO_##name = (code),
    OBLIGO_ERRORS(OBLIGO_ERROR_ENUM)
#undef OBLIGO_ERROR_ENUM
};

/* Returns a static, human-readable text for an error code. Any thread. */
const char *obligo_strerror(int code);

/* Maps the result of a libuv call to this table: 0 and positive results (a
 * byte count, for example) are returned unchanged, a UV_E* code becomes the
 * OBLIGO_* code that means the same to a caller, and one with no closer
 * meaning becomes OBLIGO_ESYS. The mapping loses libuv's exact words, so a
 * message for a person should carry uv_strerror of the original code as
 * well. Only for values a libuv function returned: an OBLIGO_* code passed
 * in would be taken for a libuv one. Any thread. */
int error_from_uv(int uv_rc);

#endif
