/*
 * text.h — small text measures shared by the parts that suggest what a
 * person probably meant: a configuration key, an event type.
 */
#ifndef OBLIGO_TEXT_H
#define OBLIGO_TEXT_H

/* The edit distance of a and b (insertions, deletions, substitutions and
 * swaps of two neighbours), ignoring ASCII case, or UINT_MAX when either is
 * 64 bytes or longer. Only used to suggest a name for a misspelt one. */
unsigned text_distance(const char *a, const char *b);

/* The value of a hexadecimal digit (either case), or -1: for %-escapes. */
int text_hex_value(char ch);

#endif
