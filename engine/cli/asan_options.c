/*
 * asan_options.c — linked into the binaries of a sanitizer build
 * (OBLIGO_SANITIZE=ON) only: defaults for AddressSanitizer, which
 * ASAN_OPTIONS still overrides.
 *
 * intercept_tls_get_addr=0: the libasan of GCC 12 on glibc 2.36 guesses the
 * bounds of the dynamic TLS blocks of the libraries a plugin's dlopen brings
 * in from the bytes before each block ("glibc >= 2.19 suspected" at
 * verbosity 2), and where malloc happens to have put such a block it reads
 * a size of terabytes; LeakSanitizer's tracer then faults while scanning it
 * at exit ("Tracer caught signal 11", "LeakSanitizer has encountered a
 * fatal error") and the process exits 1 although nothing leaked. Which
 * layouts do it changes with unrelated allocations: schema migration 6 (five
 * more indexes parsed at every open) was enough to make `obligo ingest` of
 * tests/e2e/test_console.c fail so, for every database path longer than a
 * few characters. Without the interception LeakSanitizer does not scan
 * those blocks; none of them holds the only pointer to memory of ours (the
 * whole suite finds no leak with it off).
 */
const char *__asan_default_options(void); /* NOLINT(bugprone-reserved-identifier) */

const char *__asan_default_options(void) /* NOLINT(bugprone-reserved-identifier) */
{
    return "intercept_tls_get_addr=0";
}
