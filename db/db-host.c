/*
 * db-host.c: host rows, with their state as users see it (a free host
 * that a job or a person holds is "allocated"), and their JSON form.
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
	"a.flight, a.job, a.reservation, h.site "

#define HOST_FROM \
	"FROM hosts h LEFT JOIN LATERAL (" \
	"SELECT host, flight, job, reservation FROM allocations " \
	"WHERE host = h.name AND released_at IS NULL " \
	"ORDER BY shareix LIMIT 1) a ON true "

void host_release(struct host *h)
{
	free(h->name);
	free(h->arch);
	free(h->site);
	free(h->state);
	free(h->state_reason);
	free(h->state_since);
	free(h->address);
	free(h->user);
	free(h->workdir);
	free(h->power);
	free(h->console);
	free(h->job);
	vec_clear(&h->flags);
	memset(h, 0, sizeof(*h));
}

void host_event_release(struct host_event *e)
{
	free(e->at);
	free(e->actor);
	free(e->kind);
	free(e->detail);
	memset(e, 0, sizeof(*e));
}

static json_t *host_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *host_to_json(const struct host *h, int detail)
{
	json_t *o = json_object();
	json_t *flags = json_array();

	for (size_t i = 0; i < h->flags.n; i++)
		json_array_append_new(flags, json_string(h->flags.v[i]));
	json_object_set_new(o, "name", json_string(h->name));
	json_object_set_new(o, "arch", json_string(h->arch));
	json_object_set_new(o, "site", json_string(h->site ? h->site : "local"));
	json_object_set_new(o, "state", json_string(h->state));
	json_object_set_new(o, "flags", flags);
	if (h->job_flight)
		json_object_set_new(o, "job",
				    json_pack("{s:I,s:s}", "flight",
					      (json_int_t)h->job_flight, "name",
					      h->job));
	else
		json_object_set_new(o, "job", json_null());
	if (!detail)
		return o;
	json_object_set_new(o, "state_reason", host_str_or_null(h->state_reason));
	json_object_set_new(o, "state_since", host_str_or_null(h->state_since));
	json_object_set_new(o, "address", json_string(h->address));
	json_object_set_new(o, "port", json_integer(h->port));
	json_object_set_new(o, "user", json_string(h->user));
	json_object_set_new(o, "workdir", json_string(h->workdir));
	json_object_set_new(o, "power", json_string(h->power));
	json_object_set_new(o, "console", json_string(h->console));
	json_object_set_new(o, "boot_timeout", json_integer(h->boot_timeout));
	json_object_set_new(o, "reservation",
			    h->reservation ? json_integer(h->reservation)
					   : json_null());
	return o;
}

json_t *host_event_to_json(const struct host_event *e)
{
	json_t *detail = json_loads(e->detail ? e->detail : "{}", 0, NULL);

	return json_pack("{s:I,s:s,s:s,s:s,s:o}", "id", (json_int_t)e->id, "at",
			 e->at, "actor", e->actor, "kind", e->kind, "detail",
			 detail ? detail : json_object());
}

static void db_host_from_row(PGresult *res, int row, struct host *h)
{
	memset(h, 0, sizeof(*h));
	h->name = db_dup(res, row, 0);
	h->arch = db_dup(res, row, 1);
	h->state = db_dup(res, row, 2);
	h->state_reason = db_dup(res, row, 3);
	h->state_since = db_dup(res, row, 4);
	h->address = db_dup(res, row, 5);
	h->port = (int)db_long(res, row, 6);
	h->user = db_dup(res, row, 7);
	h->workdir = db_dup(res, row, 8);
	h->power = db_dup(res, row, 9);
	h->console = db_dup(res, row, 10);
	h->boot_timeout = (int)db_long(res, row, 11);
	vec_split(&h->flags, PQgetvalue(res, row, 12));
	h->job_flight = db_long(res, row, 13);
	h->job = db_dup(res, row, 14);
	h->reservation = db_long(res, row, 15);
	h->site = db_dup(res, row, 16);
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

		e->id = db_long(res, (int)i, 0);
		e->at = db_dup(res, (int)i, 1);
		e->actor = db_dup(res, (int)i, 2);
		e->kind = db_dup(res, (int)i, 3);
		e->detail = db_dup(res, (int)i, 4);
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

int db_host_power_get(struct db *db, const char *name, char **method,
		      json_t **config, struct err *err)
{
	const char *params[1] = { name };
	json_error_t jerr;
	PGresult *res = db_query(db, err,
				 "SELECT power, power_config::text FROM hosts "
				 "WHERE name = $1",
				 1, params);

	*method = NULL;
	*config = NULL;
	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return err_set(err, ERR_NOTFOUND, "no host '%s'", name);
	}
	*config = json_loads(PQgetvalue(res, 0, 1), 0, &jerr);
	if (!json_is_object(*config)) {
		json_decref(*config);
		*config = NULL;
		PQclear(res);
		return err_set(err, ERR_DB, "host '%s': power_config: %s", name,
			       jerr.text);
	}
	*method = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* The event kinds, "power." and an action in power.h's words. */
static const char *const db_host_power_kinds[] = {
	"power.on", "power.off", "power.cycle", "power.status", NULL,
};

int db_host_power_record(struct db *db, const char *host,
			 const struct db_host_power *p,
			 const struct err *failure, long flight, const char *job,
			 struct err *err)
{
	struct db_event ev = { 0 };
	json_t *detail;
	int rc;
	size_t a;

	for (a = 0; db_host_power_kinds[a]; a++)
		if (!strcmp(p->action, db_host_power_kinds[a] + strlen("power.")))
			break;
	if (!db_host_power_kinds[a])
		return err_set(err, ERR_USAGE, "unknown power action '%s'",
			       p->action);
	detail = json_pack("{s:s, s:s, s:i, s:I, s:s, s:o}", "result",
			   failure ? "failed" : "ok", "state", p->state,
			   "attempts", p->attempts, "ms", (json_int_t)p->ms,
			   "detail", p->detail, "error",
			   failure ? json_string(failure->msg) : json_null());
	if (!detail)   /* only when a message is not UTF-8 */
		detail = json_pack("{s:s, s:s, s:i, s:I, s:s}", "result",
				   failure ? "failed" : "ok", "state", p->state,
				   "attempts", p->attempts, "ms", (json_int_t)p->ms,
				   "error", failure ? "(not UTF-8)" : "");
	ev.kind = db_host_power_kinds[a];
	ev.flight = flight;
	ev.job = flight ? job : NULL;
	ev.host = host;
	ev.detail = detail;
	rc = db_event(db, &ev, err);
	json_decref(detail);
	return rc;
}

int db_host_set_state(struct db *db, const char *host, const char *state,
		      const char *reason, const char *event_kind,
		      struct err *err)
{
	const char *params[4] = { host, state, NULL, NULL };
	char *from = NULL;
	json_t *detail;
	PGresult *res;
	int rc;

	if (strcmp(state, "free") && strcmp(state, "maintenance") &&
	    strcmp(state, "broken"))
		return err_set(err, ERR_USAGE,
			       "host state '%s' is not free, maintenance or broken",
			       state);
	if (db_begin(db, err) < 0)
		return err->code;
	res = db_query(db, err,
		       "SELECT state FROM hosts WHERE name = $1 FOR UPDATE", 1,
		       params);
	if (!res)
		goto rollback;
	if (PQntuples(res) != 1) {
		PQclear(res);
		err_set(err, ERR_NOTFOUND, "no host '%s'", host);
		goto rollback;
	}
	from = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (!strcmp(from, "retired")) {
		err_set(err, ERR_FAIL,
			"host '%s' is retired (no longer in the configuration)",
			host);
		goto rollback;
	}
	params[2] = strcmp(state, "free") ? reason : NULL;
	if (db_exec(db, err,
		    "UPDATE hosts SET state = $2, state_reason = $3, "
		    "state_since = now(), updated_at = now() WHERE name = $1",
		    3, params) < 0)
		goto rollback;
	detail = json_pack("{s:o, s:s, s:s}", "reason",
			   reason ? json_string(reason) : json_null(), "from",
			   from, "to", state);
	if (!detail) {
		err_set(err, ERR_USAGE, "the reason is not UTF-8 text");
		goto rollback;
	}
	rc = db_event(db, &(struct db_event){ .kind = event_kind, .host = host,
					      .detail = detail }, err);
	json_decref(detail);
	if (rc < 0 || db_commit(db, err) < 0)
		goto rollback;
	free(from);
	return 0;
rollback:
	db_rollback(db);
	free(from);
	return err->code;
}

int db_host_holder_get(struct db *db, const char *host,
		       struct db_host_holder *h, struct err *err)
{
	const char *params[1] = { host };
	PGresult *res = db_query(db, err,
				 "SELECT a.flight, a.job, a.reservation, r.owner "
				 "FROM allocations a LEFT JOIN reservations r "
				 "ON r.id = a.reservation "
				 "WHERE a.host = $1 AND a.released_at IS NULL "
				 "ORDER BY a.flight IS NULL, a.shareix LIMIT 1",
				 1, params);

	memset(h, 0, sizeof(*h));
	if (!res)
		return err->code;
	if (PQntuples(res) == 1) {
		h->flight = db_long(res, 0, 0);
		h->job = db_dup(res, 0, 1);
		h->reservation = db_long(res, 0, 2);
		h->owner = db_dup(res, 0, 3);
	}
	PQclear(res);
	return 0;
}

void db_host_holder_release(struct db_host_holder *h)
{
	free(h->job);
	free(h->owner);
	memset(h, 0, sizeof(*h));
}

int db_host_install_report(struct db *db, const char *token, const char *from,
			   char **host, struct err *err)
{
	PGresult *res;

	*host = NULL;
	if (strlen(token) != 32 || strspn(token, "0123456789abcdef") != 32)
		return err_set(err, ERR_NOTFOUND, "no installation '%.40s'", token);
	res = db_query(db, err,
		       "WITH i AS (SELECT token, host, reported_at IS NULL AS first "
		       "FROM host_installs WHERE token = $1 FOR UPDATE), "
		       "u AS (UPDATE host_installs h SET reported_at = now(), "
		       "reported_by = $2 FROM i WHERE h.token = i.token AND i.first), "
		       "e AS (INSERT INTO events (actor, kind, host, detail) "
		       "SELECT 'installer@' || coalesce($2, '?'), "
		       "'host.install-reported', host, "
		       "jsonb_build_object('from', $2::text) FROM i WHERE i.first) "
		       "SELECT host FROM i",
		       2, (const char *[]){ token, from });
	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return err_set(err, ERR_NOTFOUND, "no installation '%s'", token);
	}
	*host = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int db_host_jobs_json(struct db *db, const char *name, int limit,
		      json_t **ret, struct err *err)
{
	char lim[16];
	int rc;

	snprintf(lim, sizeof(lim), "%d", limit);
	/* allocations_host_idx: (host, flight DESC) for job allocations */
	rc = db_query_json(db, err, "host jobs", ret,
		       "SELECT coalesce(json_agg(json_build_object('flight', a.flight, "
		       "'job', a.job, 'status', j.status, 'allocated', "
		       "hangar_iso(a.allocated_at), 'released', hangar_iso(a.released_at)) "
		       "ORDER BY a.flight DESC, a.id DESC), "
		       "'[]')::text FROM (SELECT * FROM allocations WHERE host = $1 AND "
		       "flight IS NOT NULL ORDER BY flight DESC, id DESC LIMIT $2::int) a "
		       "JOIN jobs j ON j.flight = a.flight AND j.job = a.job",
		       2, (const char *[]){ name, lim });
	return rc;
}
