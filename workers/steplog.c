/*
 * steplog.c: step log files (see steplog.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "fsutil.h"
#include "steplog.h"
#include "xalloc.h"
#include "banned.h"

int steplog_open(struct steplog *l, const char *state, const char *rel,
		 long long max, struct err *err)
{
	char *path = xasprintf("%s/logs/%s", state, rel);
	char *dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	int rc = fs_mkdir_p(dir, 0755, err);

	memset(l, 0, sizeof(*l));
	l->max = max;
	l->at_line_start = 1;
	if (rc == 0) {
		l->f = fopen(path, "ae");
		if (!l->f)
			rc = err_errno(err, ERR_FAIL, "%s", path);
	}
	free(dir);
	free(path);
	return rc;
}

void steplog_write(struct steplog *l, const char *data, size_t len)
{
	size_t room;

	if (!l->f || !len)
		return;
	room = l->bytes >= l->max ? 0 : (size_t)(l->max - l->bytes);
	if (len > room) {
		l->dropped += (long long)(len - room);
		len = room;
	}
	if (len) {
		fwrite(data, 1, len, l->f);
		l->bytes += (long long)len;
		l->at_line_start = data[len - 1] == '\n';
		fflush(l->f);
	}
}

void steplog_say(struct steplog *l, const char *fmt, ...)
{
	struct timeval tv;
	struct tm tm;
	va_list ap;

	if (!l->f)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	if (!l->at_line_start)
		fputc('\n', l->f);
	fprintf(l->f, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ hangar: ",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
	va_start(ap, fmt);
	vfprintf(l->f, fmt, ap);
	va_end(ap);
	fputc('\n', l->f);
	l->at_line_start = 1;
	fflush(l->f);
}

void steplog_close(struct steplog *l)
{
	if (!l->f)
		return;
	if (l->dropped)
		steplog_say(l, "log capped at %lld bytes: %lld more dropped",
			    l->max, l->dropped);
	fclose(l->f);
	l->f = NULL;
}
