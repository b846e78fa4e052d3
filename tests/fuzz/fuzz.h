/*
 * fuzz.h — what the fuzz harnesses (tests/fuzz/fuzz_<name>.c) share: the
 * libFuzzer entry points, a hard failure that names the broken property,
 * and a temporary directory.
 *
 * A harness is linked either with libFuzzer (OBLIGO_FUZZ=ON, clang) or with
 * replay.c, which runs the checked-in corpus as an ordinary test. Either way
 * a failed check aborts, so ASan/UBSan print the stack and the run fails.
 */
#ifndef OBLIGO_FUZZ_H
#define OBLIGO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property of the code under test does not hold: report it and abort. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz check failed: %s: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A new directory $TMPDIR/obligo-fuzz-TAG-XXXXXX (caller frees the path). */
static inline char *fuzz_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    size_t n = strlen(base) + strlen(tag) + 32;
    char *path = malloc(n);
    FUZZ_CHECK(path != NULL, "out of memory");
    snprintf(path, n, "%s/obligo-fuzz-%s-XXXXXX", base, tag);
    FUZZ_CHECK(mkdtemp(path) != NULL, "cannot create %s", path);
    return path;
}

#endif
