/*
 * text.c — edit distance for suggestions, hexadecimal digits and comma
 * lists of known words (text.h).
 * Depends on libc only.
 */
#include "text.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

unsigned text_distance(const char *a, const char *b)
{
    enum { MAX = 64 };
    size_t n = strlen(a), m = strlen(b);
    if (n >= MAX || m >= MAX)
        return UINT_MAX;
    unsigned char d[MAX + 1][MAX + 1]; /* every distance is at most MAX */
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (unsigned char)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (unsigned char)j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            unsigned best = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1u < best)
                best = d[i - 1][j] + 1u;
            if (d[i][j - 1] + 1u < best)
                best = d[i][j - 1] + 1u;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1u < best)
                best = d[i - 2][j - 2] + 1u;
            d[i][j] = (unsigned char)best;
        }
    }
    return d[n][m];
}

int text_hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int text_word_mask(const char *list, const char *const *words, int n, unsigned *mask)
{
    unsigned m = 0;
    int bad = !list || !*list || n > 32;
    for (const char *p = list; !bad && p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int found = -1;
        for (int i = 0; i < n && found < 0; i++)
            if (strlen(words[i]) == len && strncmp(p, words[i], len) == 0)
                found = i;
        bad = found < 0;
        m |= bad ? 0 : 1u << found;
        p = comma ? comma + 1 : NULL;
    }
    if (mask)
        *mask = bad ? 0 : m;
    return bad ? -1 : 0;
}
