/*
 * db-host.c: host rows, with their state as users see it: a free host
 * that a job or a person holds is "allocated".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-host.h"
#include "xalloc.h"
#include "banned.h"

#define HOST_COLUMNS \
	"h.name, h.arch, " \
	"CASE WHEN h.state = 'free' AND a.host IS NOT NULL THEN 'allocated' " \
	"ELSE h.state END, h.state_reason, " \
	"to_char(h.state_since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), " \
	"h.address, h.port, h.username, h.workdir, h.power, h.console, " \
	"h.boot_timeout, " \
	"array_to_string(ARRAY(SELECT flag FROM host_flags f " \
	"WHERE f.host = h.name ORDER BY flag), ' '), " \
	"a.flight, a.job, a.reservation "

#define HOST_FROM \
	"FROM hosts h LEFT JOIN LATERAL (" \
	"SELECT host, flight, job, reservation FROM allocations " \
	"WHERE host = h.name AND released_at IS NULL " \
	"ORDER BY shareix LIMIT 1) a ON true "

static char *db_host_str(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL
					  : xstrdup(PQgetvalue(res, row, col));
}

static long db_host_long(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col)
		       ? 0
		       : strtol(PQgetvalue(res, row, col), NULL, 10);
}

static void db_host_from_row(PGresult *res, int row, struct host *h)
{
	memset(h, 0, sizeof(*h));
	h->name = db_host_str(res, row, 0);
	h->arch = db_host_str(res, row, 1);
	h->state = db_host_str(res, row, 2);
	h->state_reason = db_host_str(res, row, 3);
	h->state_since = db_host_str(res, row, 4);
	h->address = db_host_str(res, row, 5);
	h->port = (int)db_host_long(res, row, 6);
	h->user = db_host_str(res, row, 7);
	h->workdir = db_host_str(res, row, 8);
	h->power = db_host_str(res, row, 9);
	h->console = db_host_str(res, row, 10);
	h->boot_timeout = (int)db_host_long(res, row, 11);
	vec_split(&h->flags, PQgetvalue(res, row, 12));
	h->job_flight = db_host_long(res, row, 13);
	h->job = db_host_str(res, row, 14);
	h->reservation = db_host_long(res, row, 15);
}

int db_host_list(struct db *db, struct host **hosts, size_t *n,
		 struct err *err)
{
	PGresult *res = db_query(db, err,
				 "SELECT " HOST_COLUMNS HOST_FROM
				 "ORDER BY h.name",
				 0, NULL);

	if (!res)
		return err->code;
	*n = (size_t)PQntuples(res);
	*hosts = xcalloc(*n + 1, sizeof(**hosts));
	for (size_t i = 0; i < *n; i++)
		db_host_from_row(res, (int)i, &(*hosts)[i]);
	PQclear(res);
	return 0;
}

void db_host_list_free(struct host *hosts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		host_release(&hosts[i]);
	free(hosts);
}

int db_host_get(struct db *db, const char *name, struct host *h,
		struct err *err)
{
	const char *params[1] = { name };
	PGresult *res = db_query(db, err,
				 "SELECT " HOST_COLUMNS HOST_FROM
				 "WHERE h.name = $1",
				 1, params);

	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return err_set(err, ERR_NOTFOUND, "no host '%s'", name);
	}
	db_host_from_row(res, 0, h);
	PQclear(res);
	return 0;
}

int db_host_events(struct db *db, const char *name, int limit,
		   struct host_event **events, size_t *n, struct err *err)
{
	char lim[16];
	const char *params[2] = { name, lim };
	PGresult *res;

	snprintf(lim, sizeof(lim), "%d", limit);
	res = db_query(db, err,
		       "SELECT id, to_char(at AT TIME ZONE 'UTC', "
		       "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), actor, kind, detail::text "
		       "FROM events WHERE host = $1 ORDER BY id DESC LIMIT $2",
		       2, params);
	if (!res)
		return err->code;
	*n = (size_t)PQntuples(res);
	*events = xcalloc(*n + 1, sizeof(**events));
	for (size_t i = 0; i < *n; i++) {
		struct host_event *e = &(*events)[i];

		e->id = db_host_long(res, (int)i, 0);
		e->at = db_host_str(res, (int)i, 1);
		e->actor = db_host_str(res, (int)i, 2);
		e->kind = db_host_str(res, (int)i, 3);
		e->detail = db_host_str(res, (int)i, 4);
	}
	PQclear(res);
	return 0;
}

void db_host_events_free(struct host_event *events, size_t n)
{
	for (size_t i = 0; i < n; i++)
		host_event_release(&events[i]);
	free(events);
}
