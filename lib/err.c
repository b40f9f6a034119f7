/*
 * err.c: filling and chaining struct err messages. Never allocates, so it
 * is safe on any error path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "banned.h"

static int err_vset(struct err *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static int err_vset(struct err *err, int code, const char *fmt, va_list ap)
{
	if (err) {
		err->code = code;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	}
	return code;
}

int err_set(struct err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int err_errno(struct err *err, int code, const char *fmt, ...)
{
	int saved = errno;
	size_t len;
	va_list ap;

	if (!err)
		return code;
	va_start(ap, fmt);
	err_vset(err, code, fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	if (snprintf(err->msg + len, sizeof(err->msg) - len, ": %s",
		     strerror(saved)) >= (int)(sizeof(err->msg) - len))
		err->msg[sizeof(err->msg) - 1] = '\0';
	errno = saved;
	return code;
}

int err_prefix(struct err *err, const char *fmt, ...)
{
	char prefix[sizeof(err->msg)];
	char old[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return ERR_FAIL;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* a long chain is cut at the end, which is the least useful part */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) >=
	    (int)sizeof(err->msg))
		err->msg[sizeof(err->msg) - 1] = '\0';
	return err->code;
}

void err_clear(struct err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

int err_exit_status(int code)
{
	return code == ERR_USAGE ? 2 : 1;
}
