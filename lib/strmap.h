/*
 * strmap.h: a hash map from strings to a long, for interning names and
 * indexing rows by key. Keys are copied; open addressing, never shrinks.
 */
#ifndef HANGAR_STRMAP_H
#define HANGAR_STRMAP_H

#include <stddef.h>

struct strmap_slot {
	char *key;
	size_t hash;
	long value;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap;     /* a power of two, or 0 */
	size_t n;
};

#define STRMAP_INIT { NULL, 0, 0 }

void strmap_clear(struct strmap *m);
/* The value of key, or -1 when absent. */
long strmap_get(const struct strmap *m, const char *key);
/* Sets key to value (replacing any). */
void strmap_put(struct strmap *m, const char *key, long value);
/* The value of key; absent keys get next = m->n first (interning). */
long strmap_intern(struct strmap *m, const char *key);

#endif
