/*
 * spool.h: the rules of a remote worker's spool (wlink-http.c), apart
 * from its I/O so that they are tested alone: which log files the
 * controller takes, how its answer to a chunk of a log moves what is
 * acknowledged, and the back-off between tries of a lost link.
 */
#ifndef HANGAR_SPOOL_H
#define HANGAR_SPOOL_H

#include <stddef.h>

/* Whether the controller takes a log file of this name (the names
 * /logs/ serves, docs/api.md section 4). */
int spool_log_name_ok(const char *name);

/*
 * The answer to `PUT .../logs/FILE?offset=offset` of len bytes: status,
 * and size, the file's size on the controller it gave (-1: none). The
 * new acknowledged offset: on 200 the size (at least offset + len); on
 * 409 with a size short of offset, that size (the bytes from there are
 * sent again). -1 for any other answer: nothing is acknowledged.
 */
long long spool_log_ack(long long offset, size_t len, long status,
			long long size);

/* The back-off after another failed try: 1 s, doubling to max_ms (at
 * least 1 s). cur_ms 0: the first failure. */
int spool_backoff_next(int cur_ms, int max_ms);

#endif
