/*
 * error.c — text for the error table of error.h, and the one translation
 * from libuv's error codes into it.
 *
 * Depends on libuv only for its UV_E* constants.
 */
#include "error.h"

#include <uv.h>

const char *obligo_strerror(int code)
{
    switch (code) {
#define OBLIGO_ERROR_CASE(name, c, text)                                                           \
    case c:                                                                                        \
        return text;
        OBLIGO_ERRORS(OBLIGO_ERROR_CASE)
#undef OBLIGO_ERROR_CASE
    }
    return "unknown error";
}

int error_from_uv(int uv_rc)
{
    if (uv_rc >= 0)
        return uv_rc;
    switch (uv_rc) {
    case UV_ENOMEM:
    case UV_ENOBUFS: /* the kernel's memory for sockets */
        return OBLIGO_ENOMEM;
    case UV_EINVAL:
        return OBLIGO_EINVAL;
    case UV_EIO:
        return OBLIGO_EIO;
    case UV_ENOENT:
        return OBLIGO_ENOTFOUND;
    case UV_EBUSY:
        return OBLIGO_EBUSY;
    /* A limit of the process or the system: threads (EAGAIN from
     * pthread_create) or descriptors. */
    case UV_EAGAIN:
    case UV_EMFILE:
    case UV_ENFILE:
        return OBLIGO_ELIMIT;
    case UV_ENOSPC:
    case UV_EROFS:
        return OBLIGO_EFULL;
    case UV_EADDRINUSE:
        return OBLIGO_EADDRINUSE;
    /* A port below 1024 without the privilege to bind it gives EACCES;
     * some sandboxes refuse with EPERM instead. The same to a caller. */
    case UV_EACCES:
    case UV_EPERM:
        return OBLIGO_EACCES;
    case UV_EADDRNOTAVAIL:
        return OBLIGO_EADDRNOTAVAIL;
    default:
        return OBLIGO_ESYS;
    }
}
