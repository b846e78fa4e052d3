/*
 * text.h — small text measures shared by the parts that suggest what a
 * person probably meant: a configuration key, an event type; and a comma
 * list of known words.
 */
#ifndef OBLIGO_TEXT_H
#define OBLIGO_TEXT_H

/* The edit distance of a and b (insertions, deletions, substitutions and
 * swaps of two neighbours), ignoring ASCII case, or UINT_MAX when either is
 * 64 bytes or longer. Only used to suggest a name for a misspelt one. */
unsigned text_distance(const char *a, const char *b);

/* The value of a hexadecimal digit (either case), or -1: for %-escapes. */
int text_hex_value(char ch);

/* Reads list, one word or several separated by commas, each one of the n
 * words (at most 32): returns 0 and sets *mask (may be NULL) to the bits
 * 1 << i of the words it holds, or -1 (and *mask 0) when it is empty,
 * holds an empty item or another word. For a query parameter such as
 * status=open,overdue. */
int text_word_mask(const char *list, const char *const *words, int n, unsigned *mask);

#endif
