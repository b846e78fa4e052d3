/*
 * error.c — text for the error table of error.h.
 */
#include "error.h"

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
