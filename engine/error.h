/*
 * error.h — the one table of error codes used across the engine.
 *
 * Every function that can fail returns 0 or one of the negative codes below
 * (the libuv convention). Details for a person travel separately, as a
 * message string the caller frees with obligo_free().
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
    X(EUSAGE, -10, "usage error")

enum obligo_error {
#define OBLIGO_ERROR_ENUM(name, code, text) OBLIGO_##name = code,
    OBLIGO_ERRORS(OBLIGO_ERROR_ENUM)
#undef OBLIGO_ERROR_ENUM
};

/* Returns a static, human-readable text for an error code. Any thread. */
const char *obligo_strerror(int code);

#endif
