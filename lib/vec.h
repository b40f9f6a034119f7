/*
 * vec.h: a NULL-terminated vector of owned strings, for argv, environment
 * and space-separated configuration lists.
 */
#ifndef HANGAR_VEC_H
#define HANGAR_VEC_H

#include <stddef.h>

struct vec {
	char **v;  /* NULL-terminated once anything was pushed; else NULL */
	size_t n;
	size_t alloc;
};

#define VEC_INIT { NULL, 0, 0 }

void vec_init(struct vec *v);
void vec_clear(struct vec *v);
void vec_push(struct vec *v, const char *s);
void vec_pushf(struct vec *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Takes ownership of s (which was malloc'ed). */
void vec_push_take(struct vec *v, char *s);
/* Pushes every word of s separated by blanks (spaces, tabs). */
void vec_split(struct vec *v, const char *s);
/* Sorts the strings in byte order. */
void vec_sort(struct vec *v);
/* Index of s in v, or -1. */
int vec_find(const struct vec *v, const char *s);
/* The vector's strings (never NULL, for loops and execv). */
char **vec_argv(struct vec *v);
/* Joins with sep into a new string the caller frees. */
char *vec_join(const struct vec *v, const char *sep);

#endif
