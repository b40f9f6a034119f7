/*
 * vec.c: struct vec, vectors of owned strings.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "vec.h"
#include "log.h"
#include "xalloc.h"
#include "banned.h"

static char *vec_empty[1];

void vec_init(struct vec *v)
{
	v->v = NULL;
	v->n = 0;
	v->alloc = 0;
}

void vec_clear(struct vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	vec_init(v);
}

void vec_push_take(struct vec *v, char *s)
{
	XGROW(v->v, v->alloc, v->n + 2);
	v->v[v->n++] = s;
	v->v[v->n] = NULL;
}

void vec_push(struct vec *v, const char *s)
{
	vec_push_take(v, xstrdup(s));
}

void vec_pushf(struct vec *v, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		fatalx("out of memory");
	vec_push_take(v, s);
}

void vec_split(struct vec *v, const char *s)
{
	while (*s) {
		size_t n;

		s += strspn(s, " \t");
		n = strcspn(s, " \t");
		if (n)
			vec_push_take(v, xstrndup(s, n));
		s += n;
	}
}

int vec_find(const struct vec *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], s))
			return (int)i;
	return -1;
}

char **vec_argv(struct vec *v)
{
	return v->v ? v->v : vec_empty;
}

char *vec_join(const struct vec *v, const char *sep)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < v->n; i++) {
		if (i)
			buf_addstr(&b, sep);
		buf_addstr(&b, v->v[i]);
	}
	return buf_detach(&b);
}

static int vec_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void vec_sort(struct vec *v)
{
	if (v->n > 1)
		qsort(v->v, v->n, sizeof(*v->v), vec_cmp);
}
