/*
 * impcore - worker: JSON request bodies as a flat token array.
 *
 * jansson's json_loadb builds a tree with a json_t per number and a hash
 * table per object; for batch bodies that was most of a worker's CPU.
 * jtok_parse() makes one pass over the text: a recursive descent that
 * checks it against jansson's rules as it cuts it into tokens in one
 * reusable array, and converts each number as it checks it: exact
 * literals, RFC 8259 numbers, integers within long long, reals that do not
 * overflow, strings with valid escapes and UTF-8 and no control characters
 * or \u0000, depth at most 2048, only whitespace after the root, an object
 * or an array at the root.  A text is accepted exactly when
 * json_loadb(text, len, 0) accepts it (tests/test-jtok-fuzz checks both
 * directions and every value).  It replaced jsmn plus a second checking
 * pass over jsmn's tokens, at a third of their time (tools/bench-parse).
 *
 * Tokens are ints (0 is the root); a value's members and elements follow it
 * in text order, and jtok_next() skips a whole subtree in O(1).  Nothing
 * here is allocated per value: strings are unescaped into an arena that
 * lives until the next jtok_parse().
 */
#ifndef IMP_WRK_JTOK_H
#define IMP_WRK_JTOK_H

#include <stddef.h>

/* value types, as jansson tells them apart (json_is_integer vs json_is_real) */
enum jt_type {
	JT_OBJECT = 1,
	JT_ARRAY,
	JT_STRING,
	JT_INTEGER,
	JT_REAL,
	JT_TRUE,
	JT_FALSE,
	JT_NULL
};

/* jansson's JSON_PARSER_MAX_DEPTH: values nested deeper are refused */
#define JT_MAX_DEPTH	2048

struct jtok;

struct jtok *jtok_new(void);
void jtok_free(struct jtok *jt);
/*
 * Tokenize and check text[0..len) (it needs no NUL).  0: token 0 is the
 * root; -1: json_loadb(text, len, 0) refuses the text (ask it why).  The
 * tokens point into text (or a copy), which must outlive them.
 */
int jtok_parse(struct jtok *jt, const char *text, size_t len);
/* Give back memory kept from a large body (call between requests). */
void jtok_trim(struct jtok *jt);
/* Number of tokens of the last successful parse. */
int jtok_count(const struct jtok *jt);

enum jt_type jtok_type(const struct jtok *jt, int t);
/* Members of an object, elements of an array, 0 for the rest. */
int jtok_len(const struct jtok *jt, int t);
/*
 * First element of an array, or first key of an object (its value is
 * key + 1); -1 when empty.  jtok_next() gives the token after t and its
 * subtree: the next element, or the next key when t is a key.  Iterate
 * jtok_len() times.
 */
int jtok_first(const struct jtok *jt, int t);
int jtok_next(const struct jtok *jt, int t);
/* Value of member key of object obj, -1 when absent; the last one wins for
 * duplicate keys, as in jansson. */
int jtok_get(const struct jtok *jt, int obj, const char *key);
/* Does string token t (a key or a value) unescape to key? */
int jtok_streq(const struct jtok *jt, int t, const char *key);
/* String token t unescaped, NUL-terminated (\u0000 is refused, so it holds
 * no NUL); valid until the next jtok_parse(). */
const char *jtok_str(struct jtok *jt, int t);
/* JT_INTEGER or JT_REAL as json_number_value() gives it. */
double jtok_num(const struct jtok *jt, int t);
/* JT_INTEGER as json_integer_value() gives it. */
long long jtok_int(const struct jtok *jt, int t);

#endif /* IMP_WRK_JTOK_H */
