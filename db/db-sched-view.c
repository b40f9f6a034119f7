/*
 * db-sched-view.c: the plan as people see it. One read-only snapshot of
 * the last pass's figures, the hosts with what holds them and the
 * bookings ahead, each result converted once into typed rows; and the
 * words and the JSON that `hangar plan` and the web make of them.
 */
#include <stdlib.h>
#include <string.h>

#include "db-sched.h"
#include "db-sched-view.h"
#include "vec.h"
#include "xalloc.h"
#include "banned.h"

#define EPOCH(x) "extract(epoch FROM " x ")::bigint"

enum { PS_AT, PS_AGE, PS_SCHEDULER, PS_MS, PS_QUEUED, PS_HOSTS, PS_ALLOCATED };
static const char state_sql[] =
	"SELECT to_char(computed_at AT TIME ZONE 'UTC', "
	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	EPOCH("now() - computed_at") ", scheduler, pass_ms, "
	"queued, hosts, allocated FROM plan_state";

/* intent: the holding job's flight's */
enum { PH_NAME, PH_ARCH, PH_STATE, PH_FLIGHT, PH_JOB, PH_RESERVATION,
       PH_OWNER, PH_KIND, PH_SINCE, PH_UNTIL, PH_SHAREIX, PH_JOB_STATUS,
       PH_INTENT };
static const char hosts_sql[] =
	"SELECT h.name, h.arch, h.state, a.flight, a.job, "
	"a.reservation, r.owner, r.kind, "
	EPOCH("a.allocated_at") ", "
	EPOCH("coalesce(r.end_at, a.planned_end)") ", "
	"a.shareix, j.status, f.intent "
	"FROM hosts h LEFT JOIN allocations a ON a.host = h.name "
	"AND a.released_at IS NULL "
	"LEFT JOIN reservations r ON r.id = a.reservation "
	"LEFT JOIN jobs j ON j.flight = a.flight AND j.job = a.job "
	"LEFT JOIN flights f ON f.id = a.flight "
	"WHERE h.state <> 'retired' "
	"ORDER BY h.name COLLATE \"C\", a.shareix";

/* intent: a job's flight's */
enum { PW_KIND, PW_FLIGHT, PW_JOB, PW_RESERVATION, PW_START, PW_END,
       PW_HOSTS, PW_REASON, PW_OWNER, PW_INTENT };
static const char waiting_sql[] =
	"SELECT 'job', j.flight, j.job, NULL::bigint, "
	EPOCH("j.planned_start") ", " EPOCH("j.planned_end") ", "
	"array_to_string(j.planned_hosts, ' '), j.wait_reason, "
	"NULL, f.intent FROM jobs j JOIN flights f ON f.id = j.flight "
	"WHERE j.status = 'queued' "
	"AND f.status IN ('queued', 'running') "
	"UNION ALL "
	"SELECT kind, NULL, NULL, id, "
	EPOCH("coalesce(start_at, planned_start)") ", "
	EPOCH("coalesce(end_at, planned_start + "
	      "make_interval(secs => duration))") ", "
	"array_to_string(planned_hosts, ' '), wait_reason, "
	"owner, NULL FROM reservations WHERE status = 'waiting' "
	"OR (kind = 'blockage' AND status = 'active') "
	"ORDER BY 5 NULLS LAST, 2, 3, 4";

/* The results the rows' strings point into, kept with them. */
struct sched_view_results {
	PGresult *state, *hosts, *waiting;
	struct sched_plan_state st;
};

void db_sched_view_release(struct sched_view *v)
{
	if (v->results) {
		PQclear(v->results->state);
		PQclear(v->results->hosts);
		PQclear(v->results->waiting);
		free(v->results);
	}
	free(v->hosts);
	free(v->waiting);
	memset(v, 0, sizeof(*v));
}

static void read_state(struct sched_view *v, PGresult *res)
{
	struct sched_plan_state *s = &v->results->st;

	if (!PQntuples(res))
		return;   /* no pass yet */
	s->computed_at = PQgetvalue(res, 0, PS_AT);
	s->age = db_long(res, 0, PS_AGE);
	s->scheduler = PQgetvalue(res, 0, PS_SCHEDULER);
	s->pass_ms = strtod(PQgetvalue(res, 0, PS_MS), NULL);
	s->queued = (int)db_long(res, 0, PS_QUEUED);
	s->hosts = (int)db_long(res, 0, PS_HOSTS);
	s->allocated = (int)db_long(res, 0, PS_ALLOCATED);
	v->state = s;
}

static void read_holders(struct sched_view *v, PGresult *res)
{
	int n = PQntuples(res);

	v->hosts = xcalloc((size_t)n + 1, sizeof(*v->hosts));
	v->nhosts = (size_t)n;
	for (int r = 0; r < n; r++) {
		struct sched_hold_row *h = &v->hosts[r];

		h->name = PQgetvalue(res, r, PH_NAME);
		h->arch = PQgetvalue(res, r, PH_ARCH);
		h->state = PQgetvalue(res, r, PH_STATE);
		h->flight = db_long(res, r, PH_FLIGHT);
		h->job = db_str(res, r, PH_JOB);
		h->job_status = db_str(res, r, PH_JOB_STATUS);
		h->intent = db_str(res, r, PH_INTENT);
		h->reservation = db_long(res, r, PH_RESERVATION);
		h->kind = db_str(res, r, PH_KIND);
		h->owner = db_str(res, r, PH_OWNER);
		h->since = db_long(res, r, PH_SINCE);
		h->until = db_long(res, r, PH_UNTIL);
		h->shareix = (int)db_long(res, r, PH_SHAREIX);
	}
}

static void read_waiting(struct sched_view *v, PGresult *res)
{
	int n = PQntuples(res);

	v->waiting = xcalloc((size_t)n + 1, sizeof(*v->waiting));
	v->nwaiting = (size_t)n;
	for (int r = 0; r < n; r++) {
		struct sched_wait_row *w = &v->waiting[r];

		w->kind = PQgetvalue(res, r, PW_KIND);
		w->flight = db_long(res, r, PW_FLIGHT);
		w->job = db_str(res, r, PW_JOB);
		w->reservation = db_long(res, r, PW_RESERVATION);
		w->start = db_long(res, r, PW_START);
		w->end = db_long(res, r, PW_END);
		w->hosts = db_str(res, r, PW_HOSTS);
		w->reason = db_str(res, r, PW_REASON);
		w->owner = db_str(res, r, PW_OWNER);
		w->intent = db_str(res, r, PW_INTENT);
	}
}

int db_sched_view(struct db *db, struct sched_view *v, struct err *err)
{
	struct sched_view_results *k;

	memset(v, 0, sizeof(*v));
	if (db_sched_begin_read(db, &v->now, err) < 0)
		return err->code;
	k = v->results = xcalloc(1, sizeof(*k));
	if (!(k->state = db_query(db, err, state_sql, 0, NULL)) ||
	    !(k->hosts = db_query(db, err, hosts_sql, 0, NULL)) ||
	    !(k->waiting = db_query(db, err, waiting_sql, 0, NULL)) ||
	    db_commit(db, err) < 0)
		goto fail;
	read_state(v, k->state);
	read_holders(v, k->hosts);
	read_waiting(v, k->waiting);
	return 0;
fail:
	db_rollback(db);
	db_sched_view_release(v);
	return err->code;
}

char *db_sched_view_waiting_what(const struct sched_wait_row *w)
{
	if (!strcmp(w->kind, "job"))
		return xasprintf("%lld.%s", (long long)w->flight, w->job);
	return xasprintf("%s %lld (%s)", w->kind, (long long)w->reservation,
			 w->owner);
}

char *db_sched_view_holder_what(const struct sched_hold_row *h)
{
	if (h->flight)
		return xasprintf("%lld.%s%s%s%s", (long long)h->flight, h->job,
				 h->job_status ? " (" : "",
				 h->job_status ? h->job_status : "",
				 h->job_status ? ")" : "");
	if (h->reservation)
		return xasprintf("%s %lld (%s)", h->kind,
				 (long long)h->reservation, h->owner);
	return NULL;
}

int db_sched_view_in_hosts(const char *list, const char *host)
{
	size_t n = strlen(host);

	for (const char *p = list; p && (p = strstr(p, host)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
	return 0;
}

/* An id or a time, null for none. */
static json_t *json_time(int64_t t)
{
	return t ? json_integer(t) : json_null();
}

static json_t *json_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *db_sched_view_json(const struct sched_view *v)
{
	json_t *root = json_object(), *hosts = json_array(),
	       *waiting = json_array();
	const struct sched_plan_state *s = v->state;

	json_object_set_new(root, "now", json_integer(v->now));
	json_object_set_new(root, "computed_at",
			    s ? json_string(s->computed_at) : json_null());
	json_object_set_new(root, "scheduler",
			    s ? json_string(s->scheduler) : json_null());
	json_object_set_new(root, "pass_ms",
			    s ? json_real(s->pass_ms) : json_null());
	for (size_t r = 0; r < v->nhosts; r++) {
		const struct sched_hold_row *h = &v->hosts[r];
		json_t *host, *now, *next;

		if (r && !strcmp(h->name, v->hosts[r - 1].name)) {
			host = json_array_get(hosts, json_array_size(hosts) - 1);
		} else {
			host = json_pack("{s:s, s:s, s:s, s:[], s:[]}", "name",
					 h->name, "arch", h->arch, "state",
					 h->state, "now", "next");
			json_array_append_new(hosts, host);
			next = json_object_get(host, "next");
			for (size_t k = 0; k < v->nwaiting; k++) {
				const struct sched_wait_row *w = &v->waiting[k];
				char *what;

				if (!db_sched_view_in_hosts(w->hosts, h->name))
					continue;
				what = db_sched_view_waiting_what(w);
				json_array_append_new(next, json_pack(
					"{s:s, s:o, s:o}", "what", what, "start",
					json_time(w->start), "end",
					json_time(w->end)));
				free(what);
			}
		}
		now = json_object_get(host, "now");
		if (h->flight || h->reservation) {
			char *what = db_sched_view_holder_what(h);

			json_array_append_new(now, json_pack(
				"{s:s, s:o, s:o, s:o, s:o, s:o, s:I}", "what", what,
				"flight", json_time(h->flight), "job",
				json_str_or_null(h->job),
				"reservation", json_time(h->reservation),
				"since", json_time(h->since), "until",
				json_time(h->until), "share",
				(json_int_t)h->shareix));
			free(what);
		}
	}
	for (size_t k = 0; k < v->nwaiting; k++) {
		const struct sched_wait_row *w = &v->waiting[k];
		json_t *hl = json_array();
		struct vec words = VEC_INIT;

		if (w->hosts)
			vec_split(&words, w->hosts);
		for (size_t i = 0; i < words.n; i++)
			json_array_append_new(hl, json_string(words.v[i]));
		vec_clear(&words);
		json_array_append_new(waiting, json_pack(
			"{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "kind",
			w->kind, "flight", json_time(w->flight), "job",
			json_str_or_null(w->job), "reservation",
			json_time(w->reservation), "start", json_time(w->start),
			"end", json_time(w->end), "hosts", hl, "reason",
			json_str_or_null(w->reason)));
	}
	json_object_set_new(root, "hosts", hosts);
	json_object_set_new(root, "waiting", waiting);
	return root;
}
