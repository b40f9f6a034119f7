/*
 * buf.h: growable strings with Git strbuf's invariants (buf is never NULL
 * and always NUL-terminated) plus an optional cap. Text that comes from
 * outside (HTTP bodies, command output, console streams) goes into a
 * capped buf: growing past the cap fails instead of exhausting memory.
 */
#ifndef HANGAR_BUF_H
#define HANGAR_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t cap;       /* 0: unbounded (for sizes we control) */
	int overflowed;   /* an append was refused by the cap */
};

extern char buf_slopbuf[];
#define BUF_INIT { buf_slopbuf, 0, 0, 0, 0 }

void buf_init(struct buf *b, size_t cap);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
/* Returns the string, which the caller owns and frees; b is reset. */
char *buf_detach(struct buf *b);

/* Appends; return 0, or -1 (and sets overflowed) when over the cap. */
int buf_add(struct buf *b, const void *data, size_t len);
int buf_addstr(struct buf *b, const char *s);
int buf_addch(struct buf *b, int c);
int buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void buf_setlen(struct buf *b, size_t len);
/* Removes trailing whitespace. */
void buf_rtrim(struct buf *b);

/* Appends s in single quotes for sh ('it'\''s'). */
void buf_add_shell_quoted(struct buf *b, const char *s);

/* Reads a whole file (at most cap bytes if cap != 0); -1 with errno. */
int buf_read_file(struct buf *b, const char *path);

#endif
