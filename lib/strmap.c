/*
 * strmap.c: FNV-1a hashing, linear probing, load kept under 1/2.
 */
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "xalloc.h"
#include "banned.h"

static size_t strmap_hash(const char *s)
{
	size_t h = (size_t)14695981039346656037ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * (size_t)1099511628211ULL;
	return h;
}

void strmap_clear(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static struct strmap_slot *strmap_find(const struct strmap *m,
				       const char *key, size_t h)
{
	size_t i = h & (m->cap - 1);

	while (m->slots[i].key &&
	       (m->slots[i].hash != h || strcmp(m->slots[i].key, key)))
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

static void strmap_grow(struct strmap *m)
{
	struct strmap old = *m;

	m->cap = old.cap ? old.cap * 2 : 16;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key)
			*strmap_find(m, old.slots[i].key, old.slots[i].hash) =
				old.slots[i];
	free(old.slots);
}

long strmap_get(const struct strmap *m, const char *key)
{
	const struct strmap_slot *s;

	if (!m->cap)
		return -1;
	s = strmap_find(m, key, strmap_hash(key));
	return s->key ? s->value : -1;
}

static struct strmap_slot *strmap_slot_for(struct strmap *m, const char *key,
					   int *created)
{
	size_t h = strmap_hash(key);
	struct strmap_slot *s;

	if ((m->n + 1) * 2 > m->cap)
		strmap_grow(m);
	s = strmap_find(m, key, h);
	*created = !s->key;
	if (!s->key) {
		s->key = xstrdup(key);
		s->hash = h;
		m->n++;
	}
	return s;
}

void strmap_put(struct strmap *m, const char *key, long value)
{
	int created;

	strmap_slot_for(m, key, &created)->value = value;
}

long strmap_intern(struct strmap *m, const char *key)
{
	int created;
	struct strmap_slot *s = strmap_slot_for(m, key, &created);

	if (created)
		s->value = (long)m->n - 1;
	return s->value;
}
