/*
 * xalloc.h: allocation that aborts on out-of-memory. Only for sizes we
 * chose; sizes that come from outside (HTTP bodies, SSH output) go through
 * bounded struct buf instead.
 */
#ifndef HANGAR_XALLOC_H
#define HANGAR_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grows *ptr (of *alloc elements of elsize bytes) to hold at least need. */
void xgrow(void **ptr, size_t *alloc, size_t need, size_t elsize);
char *xstrdup(const char *s);
/* xstrdup that passes NULL through. */
char *xstrdup_or_null(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define XGROW(ptr, alloc, need) \
	xgrow((void **)&(ptr), &(alloc), (need), sizeof(*(ptr)))

#endif
