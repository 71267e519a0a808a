/*
 * A quick reader of JSON text into a jansson tree, for bw_json_load.
 *
 * jansson's own reader takes about 13 ns a byte (a function call per
 * character, a string buffer per token): 9 us for the 660-byte body of a
 * typical assess request, a tenth of the gateway's CPU for it. This one
 * reads the same grammar with a pointer and builds the same tree (the same
 * values, keys in the same order), but it only ever accepts: for anything
 * it is not sure jansson takes as it is (a syntax error, a duplicate key,
 * an escaped NUL or lone surrogate, an integer of more than 18 digits, a
 * number that overflows, nesting deeper than 512), it returns NULL and the
 * caller asks jansson, which then accepts or gives its own error. So what
 * is accepted and every error text stay jansson's; the fuzz target
 * fuzz_json checks the two readers agree on every input.
 */
#ifndef BW_JSONTEXT_H
#define BW_JSONTEXT_H

#include <jansson.h>
#include <stddef.h>

/* The tree of text (len bytes, any value at the top, duplicate keys
 * refused) as json_loadb(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY) reads
 * it, or NULL when jansson should read it (see above; also out of memory).
 * The caller owns the tree. */
json_t *bw_json_read_quick(const char *text, size_t len);

/* Whether text (len bytes) holds more than max values, counted from its
 * structure without building anything: the top value, each member's and
 * each array element (nested ones included). A parser makes a node of some
 * 50-200 bytes for each, so a body of 8 MiB of "{}," would take about 70
 * times its size; this refuses it first. One pass, no allocation; text of
 * at most max bytes cannot exceed max and is not read. On text that is not
 * JSON the count means little, and the parser refuses the text anyway. */
int bw_json_values_over(const char *text, size_t len, size_t max);

#endif
