/*
 * steplog.h: a step's log file under STATE/logs: the remote command's
 * output as it comes, and hangar's own lines about what it did
 * ("hangar: power cycle: ok"), with a size cap (the rest is counted and
 * dropped, said once at the end). Written and flushed as it goes, so the
 * dashboard and `tail -f` follow it live.
 */
#ifndef HANGAR_STEPLOG_H
#define HANGAR_STEPLOG_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

struct steplog {
	FILE *f;
	long long bytes, max, dropped;
	int at_line_start;
};

/* Opens STATE/logs/REL for appending (creating directories). */
int steplog_open(struct steplog *l, const char *state, const char *rel,
		 long long max, struct err *err);
/* Output of the thing under test (bytes as they came). */
void steplog_write(struct steplog *l, const char *data, size_t len);
/* One line of hangar's own, "hangar: ..." with a UTC time. */
void steplog_say(struct steplog *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void steplog_close(struct steplog *l);

#endif
