/*
 * err.h: the error convention of hangar. A function that can fail returns
 * an int (0 success, negative failure) and fills a caller-provided
 * struct err with a lower-case message; callers add context with
 * err_prefix() as the error travels up ("host 'ruby': ssh connect: ...").
 */
#ifndef HANGAR_ERR_H
#define HANGAR_ERR_H

#include <stddef.h>

enum err_code {
	ERR_OK = 0,
	ERR_FAIL = -1,     /* the operation failed */
	ERR_NOTFOUND = -2, /* a flight, host, ... does not exist */
	ERR_USAGE = -3,    /* bad command line or configuration: exit 2 */
	ERR_DB = -4,       /* the database failed */
	ERR_RETRY = -5,    /* serialization failure or busy: try again */
	ERR_EXISTS = -6,   /* already there */
	ERR_TIMEOUT = -7,  /* a time limit passed (the action was stopped) */
	ERR_CANCELLED = -8,/* stopped because someone cancelled it */
	ERR_HOSTKEY = -9,  /* an SSH host key differs from the pinned one */
};

struct err {
	int code;
	char msg[1024];
};

#define ERR_INIT { 0, "" }

/* Sets err (if not NULL) and returns code, so: return err_set(...). */
int err_set(struct err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* As err_set, adding ": strerror(errno)". */
int err_errno(struct err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prepends "context: " to the message; returns err->code. */
int err_prefix(struct err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void err_clear(struct err *err);

/* The process exit status for an error code: 2 for ERR_USAGE, else 1. */
int err_exit_status(int code);

#endif
