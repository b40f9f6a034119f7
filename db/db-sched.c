/*
 * db-sched.c: the scheduler's SQL. Reads run in one repeatable-read
 * snapshot; every write is a short transaction that locks only the rows it
 * changes (the job with SKIP LOCKED, its hosts in name order), so several
 * schedulers, workers and the web can run at once without table locks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "vec.h"
#include "db-sched.h"
#include "xalloc.h"
#include "banned.h"

#define EPOCH(x) "extract(epoch FROM " x ")::bigint"

/* "hang" + "sche": a key no other hangar lock uses */
#define SCHED_LEADER_LOCK "7453608716455404645"

int db_sched_try_leader(struct db *db, struct err *err)
{
	PGresult *res = db_query(db, err,
				 "SELECT pg_try_advisory_lock(" SCHED_LEADER_LOCK ")",
				 0, NULL);
	int leader;

	if (!res)
		return err->code;
	leader = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return leader;
}

/*
 * The query results that typed rows point into: kept, instead of cleared
 * where they were got, so that a pass over 50,000 jobs copies no string.
 */
struct sched_results {
	PGresult *res[6];
};

static void results_free(struct sched_results *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < sizeof(k->res) / sizeof(k->res[0]); i++)
		PQclear(k->res[i]);
	free(k);
}

int db_sched_begin_read(struct db *db, int64_t *now, struct err *err)
{
	PGresult *res;

	if (db_exec(db, err,
		    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0,
		    NULL) < 0)
		return err->code;
	if (!(res = db_query(db, err, "SELECT " EPOCH("now()"), 0, NULL))) {
		db_rollback(db);
		return err->code;
	}
	*now = db_long(res, 0, 0);
	PQclear(res);
	return 0;
}

void db_sched_runs_take(PGresult *res, struct sched_runs *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->results = xcalloc(1, sizeof(*ret->results));
	ret->results->res[0] = res;
	ret->n = (size_t)PQntuples(res);
	ret->v = xcalloc(ret->n + 1, sizeof(*ret->v));
	for (int i = 0; i < (int)ret->n; i++) {
		struct sched_run *r = &ret->v[i];

		r->job = PQgetvalue(res, i, 0);
		r->host = PQgetvalue(res, i, 1);
		r->failed = PQgetvalue(res, i, 2)[0] == 't';
		r->started = db_long(res, i, 3);
		r->finished = db_long(res, i, 4);
		r->flight = db_long(res, i, 5);
	}
}

void db_sched_runs_release(struct sched_runs *r)
{
	results_free(r->results);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* The end of a claimed job's lease counted from the database's start. */
#define LEASE_FROM_START \
	"(pg_postmaster_start_time() + make_interval(secs => " \
	"coalesce(lease_secs, 0)))"

int db_sched_reclaim(struct db *db, struct err *err)
{
	static const char *const steps[] = {
		/* unclaimed jobs: back to the queue, hosts back to the pool */
		"WITH x AS (UPDATE jobs SET status = 'queued', lease_until = NULL, "
		"planned_hosts = NULL WHERE status = 'preparing' "
		"AND lease_owner IS NULL AND lease_until < now() "
		"RETURNING flight, job), "
		"d AS (DELETE FROM runvars r USING x WHERE r.flight = x.flight "
		"AND r.job = x.job AND r.synth AND r.name ~ '^host[0-9]*$'), "
		"a AS (UPDATE allocations al SET released_at = now() FROM x "
		"WHERE al.flight = x.flight AND al.job = x.job "
		"AND al.released_at IS NULL) "
		"INSERT INTO events (actor, kind, flight, job, detail) "
		"SELECT $1, 'job.unclaimed', flight, job, "
		"'{\"reason\": \"no worker claimed it in time\"}' FROM x "
		"RETURNING id",
		/* claimed jobs whose worker stopped heartbeating (it died): back
		 * to the queue once if no test step had started, else broken;
		 * not before a whole lease has passed since the database
		 * started, so that a worker that waited out a database restart
		 * gets back to its jobs first */
		"WITH x AS (SELECT j.flight, j.job, j.lease_owner, "
		"j.cancel_requested, (j.recoveries >= 1 OR EXISTS (SELECT 1 "
		"FROM steps s WHERE s.flight = j.flight AND s.job = j.job "
		"AND s.attempt = j.attempt AND s.kind IN ('build', "
		"'install-build', 'run', 'boot'))) AS final FROM jobs j "
		"WHERE j.status IN ('preparing', 'running') "
		"AND j.lease_owner IS NOT NULL AND j.lease_until < now() "
		"AND " LEASE_FROM_START " < now() "
		"FOR UPDATE OF j SKIP LOCKED), "
		"s AS (UPDATE steps st SET status = 'broken', finished_at = now(), "
		"detail = 'its worker stopped heartbeating' "
		"FROM x WHERE st.flight = x.flight AND st.job = x.job "
		"AND st.status = 'running'), "
		"rq AS (UPDATE jobs j SET status = 'queued', lease_owner = NULL, "
		"lease_until = NULL, planned_start = NULL, planned_end = NULL, "
		"planned_hosts = NULL, attempt = j.attempt + 1, "
		"recoveries = j.recoveries + 1 FROM x WHERE j.flight = x.flight "
		"AND j.job = x.job AND NOT x.final AND NOT x.cancel_requested "
		"RETURNING j.flight, j.job), "
		"br AS (UPDATE jobs j SET status = CASE WHEN x.cancel_requested "
		"THEN 'cancelled' ELSE 'broken' END, finished_at = now(), "
		"lease_until = NULL, broken_reason = 'its worker (' || "
		"x.lease_owner || ') stopped heartbeating' FROM x "
		"WHERE j.flight = x.flight AND j.job = x.job "
		"AND (x.final OR x.cancel_requested)), "
		"d AS (DELETE FROM runvars r USING rq WHERE r.flight = rq.flight "
		"AND r.job = rq.job AND r.synth AND r.name ~ '^host[0-9]*$'), "
		"a AS (UPDATE allocations al SET released_at = now() FROM x "
		"WHERE al.flight = x.flight AND al.job = x.job "
		"AND al.released_at IS NULL) "
		"INSERT INTO events (actor, kind, flight, job, detail) "
		"SELECT $1, CASE WHEN x.final OR x.cancel_requested "
		"THEN 'job.lease-expired' ELSE 'job.requeued' END, flight, job, "
		"jsonb_build_object('worker', lease_owner, 'reason', "
		"'its worker stopped heartbeating') FROM x RETURNING id",
		/* jobs that ended but still hold hosts */
		"WITH x AS (UPDATE allocations al SET released_at = now() "
		"WHERE al.released_at IS NULL AND al.flight IS NOT NULL "
		"AND (SELECT j.status FROM jobs j WHERE j.flight = al.flight "
		"AND j.job = al.job) NOT IN ('preparing', 'running') "
		"RETURNING al.host, al.flight, al.job) "
		"INSERT INTO events (actor, kind, flight, job, host) "
		"SELECT $1, 'host.released', flight, job, host FROM x RETURNING id",
		/* reservations and blockages past their end */
		"WITH x AS (UPDATE reservations SET status = 'expired' "
		"WHERE status IN ('waiting', 'active') AND end_at <= now() "
		"RETURNING id, kind, owner), "
		"a AS (UPDATE allocations al SET released_at = now() FROM x "
		"WHERE al.reservation = x.id AND al.released_at IS NULL) "
		"INSERT INTO events (actor, kind, detail) "
		"SELECT $1, x.kind || '.expired', "
		"jsonb_build_object('id', id, 'owner', owner) FROM x RETURNING id",
		/* empty shared hosts: a worn one is unshared for a reinstall */
		"UPDATE hosts h SET share_type = NULL, share_wear = 0, "
		"needs_reinstall = true WHERE share_type IS NOT NULL "
		"AND share_wear >= share_max_wear AND NOT EXISTS (SELECT 1 "
		"FROM allocations a WHERE a.host = h.name "
		"AND a.released_at IS NULL) RETURNING name",
	};
	const char *params[] = { db_actor() };
	size_t n = sizeof(steps) / sizeof(steps[0]);
	struct db_batch b;
	int changed = 0, rc;

	/* in one round trip and one transaction: a failure leaves all of
	 * it to the next pass ($1 is only the actor written: prepared) */
	db_batch_init(&b, db);
	for (size_t i = 0; i < n; i++)
		db_batch_add(&b, steps[i], i < 4 ? 1 : 0, params);
	rc = db_batch_run(&b, err);
	for (size_t i = 0; !rc && i < n; i++)
		changed += PQntuples(b.res[i]);
	db_batch_release(&b);
	return rc < 0 ? -1 : changed;
}

/*
 * Whether a lease or a reservation db_sched_reclaim() takes back by time
 * had ended by now: its first, second and fourth statements' conditions,
 * without the row locks (a locked row only makes it say yes in vain).
 * Through the lease index, which holds only the leases not yet cleared.
 */
const char db_sched_reclaim_due_sql[] =
	"SELECT EXISTS (SELECT 1 FROM jobs WHERE lease_until < now() "
	"AND status IN ('preparing', 'running') "
	"AND ((status = 'preparing' AND lease_owner IS NULL) "
	"OR (lease_owner IS NOT NULL AND " LEASE_FROM_START " < now()))) "
	"OR EXISTS (SELECT 1 FROM reservations "
	"WHERE status IN ('waiting', 'active') AND end_at <= now())";

/* The third and fifth statements' conditions, as they are: what
 * db_sched_reclaim_due() finds in a copy, for a test to compare. */
const char db_sched_reclaim_held_sql[] =
	"SELECT EXISTS (SELECT 1 FROM allocations al "
	"WHERE al.released_at IS NULL AND al.flight IS NOT NULL "
	"AND (SELECT j.status FROM jobs j WHERE j.flight = al.flight "
	"AND j.job = al.job) NOT IN ('preparing', 'running')) "
	"OR EXISTS (SELECT 1 FROM hosts h WHERE share_type IS NOT NULL "
	"AND share_wear >= share_max_wear AND NOT EXISTS (SELECT 1 "
	"FROM allocations a WHERE a.host = h.name "
	"AND a.released_at IS NULL))";

static int by_job(const void *key, const void *row)
{
	const struct sched_alloc_row *a = key;
	const struct sched_job_row *j = row;

	if (a->flight != j->flight)
		return a->flight < j->flight ? -1 : 1;
	return strcmp(a->job, j->job);
}

static int by_host(const void *key, const void *row)
{
	return strcmp(key, ((const struct sched_alloc_row *)row)->host);
}

int db_sched_reclaim_due(const struct sched_snapshot *snap, int expired)
{
	if (expired)
		return 1;
	/* the third statement's: a job's allocation, the job no longer
	 * preparing or running; a job the snapshot has not (its flight
	 * ended) may have, so that too */
	for (size_t i = 0; i < snap->nallocs; i++) {
		const struct sched_alloc_row *a = &snap->allocs[i];
		const struct sched_job_row *j;

		if (!a->flight || !a->job)
			continue;
		j = bsearch(a, snap->jobs, snap->njobs, sizeof(*snap->jobs),
			    by_job);
		if (!j || (strcmp(j->status, "preparing") != 0 &&
			   strcmp(j->status, "running") != 0))
			return 1;
	}
	/* the fifth's: a worn shared host without a live allocation */
	for (size_t i = 0; i < snap->nhosts; i++) {
		const struct sched_host_row *h = &snap->hosts[i];

		if (h->share_type && h->share_wear >= h->share_max_wear &&
		    !bsearch(h->name, snap->allocs, snap->nallocs,
			     sizeof(*snap->allocs), by_host))
			return 1;
	}
	return 0;
}

/* A job without a lease is never taken back (lease_until < now() is not
 * true): leaving it out lets the lease index answer, not a scan of every
 * job ever run. */
static const char next_expiry_sql[] =
	"SELECT greatest(0, ceil(extract(epoch FROM least("
	"(SELECT min(CASE WHEN lease_owner IS NULL "
	"THEN lease_until ELSE greatest(lease_until, "
	LEASE_FROM_START ") END) FROM jobs "
	"WHERE lease_until IS NOT NULL "
	"AND status IN ('preparing', 'running')), "
	"(SELECT min(end_at) FROM reservations "
	"WHERE status IN ('waiting', 'active'))) - now()) * 1000))::bigint";

static long next_expiry_of(PGresult *res)
{
	return PQgetisnull(res, 0, 0) ? -1 : db_long(res, 0, 0);
}

long db_sched_next_expiry(struct db *db, struct err *err)
{
	PGresult *res = db_query_prep(db, err, next_expiry_sql, 0, NULL);
	long ms;

	if (!res)
		return err->code;
	ms = next_expiry_of(res);
	PQclear(res);
	return ms;
}

static void array_add_int(struct buf *b, int64_t v, int null_if_zero)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", (long long)v);
	db_array_add(b, null_if_zero && !v ? NULL : num);
}

/* A space-separated list (or NULL) as an array literal. */
static void array_of_words(struct buf *b, const char *list)
{
	struct vec words = VEC_INIT;

	if (list)
		vec_split(&words, list);
	for (size_t i = 0; i < words.n; i++)
		db_array_add(b, words.v[i]);
	db_array_end(b);
	vec_clear(&words);
}

int db_sched_end_jobs(struct db *db, const long *flights, const char **jobs,
		      const char **reasons, size_t n, const char *status,
		      struct err *err)
{
	struct buf f = BUF_INIT, j = BUF_INIT, r = BUF_INIT;
	const char *params[5];
	int rc;

	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		array_add_int(&f, flights[i], 0);
		db_array_add(&j, jobs[i]);
		db_array_add(&r, reasons[i]);
	}
	db_array_end(&f);
	db_array_end(&j);
	db_array_end(&r);
	params[0] = f.buf;
	params[1] = j.buf;
	params[2] = r.buf;
	params[3] = status;
	params[4] = db_actor();
	rc = db_exec(db, err,
		     "WITH x AS (UPDATE jobs j SET status = $4, "
		     "finished_at = now(), wait_reason = u.r, planned_start = NULL, "
		     "planned_end = NULL, planned_hosts = NULL "
		     "FROM unnest($1::bigint[], $2::text[], $3::text[]) "
		     "AS u(f, j, r) WHERE j.flight = u.f AND j.job = u.j "
		     "AND j.status = 'queued' RETURNING j.flight, j.job, u.r) "
		     "INSERT INTO events (actor, kind, flight, job, detail) "
		     "SELECT $5, 'job.' || $4, flight, job, "
		     "jsonb_build_object('reason', r) FROM x",
		     5, params);
	buf_release(&f);
	buf_release(&j);
	buf_release(&r);
	return rc;
}

int db_sched_end_pinned(struct db *db, const long *flights,
			const char **jobs, const char **hosts,
			const char **reasons, size_t n, struct err *err)
{
	struct buf f = BUF_INIT, j = BUF_INIT, h = BUF_INIT, r = BUF_INIT;
	PGresult *res;
	int ended;

	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		array_add_int(&f, flights[i], 0);
		db_array_add(&j, jobs[i]);
		db_array_add(&h, hosts[i]);
		db_array_add(&r, reasons[i]);
	}
	db_array_end(&f);
	db_array_end(&j);
	db_array_end(&h);
	db_array_end(&r);
	/* still queued and its host still not free: a job allocated, or a
	 * host back, since the snapshot stays as it is; the event with it,
	 * so once */
	res = db_query(db, err,
		       "WITH x AS (UPDATE jobs j SET status = 'broken', "
		       "finished_at = now(), broken_reason = u.r, wait_reason = u.r, "
		       "planned_start = NULL, planned_end = NULL, planned_hosts = NULL "
		       "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) "
		       "AS u(f, j, h, r) WHERE j.flight = u.f AND j.job = u.j "
		       "AND j.status = 'queued' AND EXISTS (SELECT 1 FROM hosts ho "
		       "WHERE ho.name = u.h AND ho.state <> 'free') "
		       "RETURNING j.flight, j.job, u.h, u.r) "
		       "INSERT INTO events (actor, kind, flight, job, host, detail) "
		       "SELECT $5, 'job.broken', flight, job, h, "
		       "jsonb_build_object('reason', r, 'pinned', true) FROM x "
		       "RETURNING 1",
		       5, (const char *[]){ f.buf, j.buf, h.buf, r.buf, db_actor() });
	buf_release(&f);
	buf_release(&j);
	buf_release(&h);
	buf_release(&r);
	if (!res)
		return err->code;
	ended = PQntuples(res);
	PQclear(res);
	return ended;
}

/*
 * Locks the picked hosts (in name order: no deadlock between two
 * allocators) and checks each can take its pick now: usable, and free
 * (whole host) or with its share slot open. Updates the share state.
 */
static int lock_hosts(struct db *db, const struct sched_pick *picks,
		      size_t n, struct err *err)
{
	struct buf names = BUF_INIT;
	const char *params[1];
	PGresult *hosts = NULL, *live = NULL;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		db_array_add(&names, picks[i].host);
	db_array_end(&names);
	params[0] = names.buf;
	hosts = db_query(db, err,
			 "SELECT name, state, share_type, share_wear, "
			 "share_max_wear, share_max_tasks FROM hosts "
			 "WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE",
			 1, params);
	if (hosts)
		live = db_query(db, err,
				"SELECT host, shareix FROM allocations "
				"WHERE host = ANY($1::text[]) "
				"AND released_at IS NULL",
				1, params);
	if (!hosts || !live) {
		rc = -1;
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		const struct sched_pick *p = &picks[i];
		int row = -1, whole = 0, nlive = 0, same = 0;

		for (int k = 0; k < PQntuples(hosts); k++)
			if (!strcmp(PQgetvalue(hosts, k, 0), p->host))
				row = k;
		for (int k = 0; k < PQntuples(live); k++) {
			if (strcmp(PQgetvalue(live, k, 0), p->host))
				continue;
			nlive++;
			whole |= !strcmp(PQgetvalue(live, k, 1), "0");
			same |= (int)strtol(PQgetvalue(live, k, 1), NULL, 10) == p->shareix;
		}
		if (row < 0 || strcmp(PQgetvalue(hosts, row, 1), "free")) {
			rc = err_set(err, ERR_EXISTS, "host %s is not free",
				     p->host);
		} else if (p->shareix == 0) {
			if (nlive)
				rc = err_set(err, ERR_EXISTS,
					     "host %s is taken", p->host);
			else if (!PQgetisnull(hosts, row, 2))
				rc = db_exec(db, err,
					     "UPDATE hosts SET share_type = NULL, "
					     "share_wear = 0 WHERE name = $1",
					     1, &p->host);
		} else {
			const char *type = db_str(hosts, row, 2);
			int wear = (int)strtol(PQgetvalue(hosts, row, 3), NULL, 10);
			int max_wear = (int)strtol(PQgetvalue(hosts, row, 4), NULL, 10);
			int max_tasks = (int)strtol(PQgetvalue(hosts, row, 5), NULL, 10);
			const char *up[2] = { p->host, p->share_type };

			if (whole || same || p->shareix > max_tasks ||
			    (type && strcmp(type, p->share_type)) ||
			    (type && wear >= max_wear))
				rc = err_set(err, ERR_EXISTS,
					     "share %d of host %s is taken",
					     p->shareix, p->host);
			else
				rc = db_exec(db, err,
					     type ? "UPDATE hosts SET share_wear = share_wear + 1 WHERE name = $1"
						  : "UPDATE hosts SET share_type = $2, share_wear = 1, "
						    "needs_reinstall = false WHERE name = $1",
					     type ? 1 : 2, up);
		}
	}
out:
	PQclear(hosts);
	PQclear(live);
	buf_release(&names);
	return rc;
}

static int insert_allocations(struct db *db, const struct sched_pick *picks,
			      size_t n, long flight, const char *job,
			      long reservation, struct err *err)
{
	for (size_t i = 0; i < n; i++) {
		char fl[32], six[16], rs[32], end[32], ident[32];
		const char *params[7] = { picks[i].host, six,
					  flight ? fl : NULL, job,
					  reservation ? rs : NULL,
					  picks[i].end ? end : NULL,
					  job ? ident : NULL };

		snprintf(fl, sizeof(fl), "%ld", flight);
		snprintf(six, sizeof(six), "%d", picks[i].shareix);
		snprintf(rs, sizeof(rs), "%ld", reservation);
		snprintf(end, sizeof(end), "%lld", (long long)picks[i].end);
		if (i == 0)
			snprintf(ident, sizeof(ident), "host");
		else
			snprintf(ident, sizeof(ident), "host%zu", i + 1);
		if (db_exec(db, err,
			    "INSERT INTO allocations (host, shareix, flight, job, "
			    "reservation, planned_end, ident) VALUES ($1, $2, $3, "
			    "$4, $5, to_timestamp($6), $7)",
			    7, params) < 0)
			return -1;
		if (job && db_exec(db, err,
				   "INSERT INTO runvars (flight, job, name, val, synth) "
				   "VALUES ($1, $2, $3, $4, true) "
				   /* a pin (--host) stays a pin: re-queued, the job
				    * must keep it */
				   "ON CONFLICT (flight, job, name) DO UPDATE "
				   "SET val = EXCLUDED.val, synth = runvars.synth "
				   "OR runvars.val IS DISTINCT FROM EXCLUDED.val",
				   4, (const char *[]){ fl, job, ident,
							picks[i].host }) < 0)
			return -1;
	}
	return 0;
}

static int sched_allocated_event(struct db *db, long flight, const char *job,
				 const struct sched_pick *picks, size_t n,
				 struct err *err)
{
	json_t *detail = json_object(), *hosts = json_array();
	int rc;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(hosts, json_string(picks[i].host));
	json_object_set_new(detail, "hosts", hosts);
	rc = db_event(db, &(struct db_event){ .kind = "job.allocated",
					      .flight = flight, .job = job,
					      .host = n ? picks[0].host : NULL,
					      .detail = detail }, err);
	json_decref(detail);
	return rc;
}

int db_sched_allocate_job(struct db *db, long flight, const char *job,
			  const struct sched_pick *picks, size_t n,
			  int claim_timeout, struct err *err)
{
	char fl[32], lease[32];
	struct buf hosts = BUF_INIT;
	const char *params[5] = { fl, job, lease, NULL, db_actor() };
	PGresult *res;
	int64_t end = 0;

	snprintf(fl, sizeof(fl), "%ld", flight);
	snprintf(lease, sizeof(lease), "%d", claim_timeout);
	for (size_t i = 0; i < n; i++) {
		db_array_add(&hosts, picks[i].host);
		if (picks[i].end > end)
			end = picks[i].end;
	}
	db_array_end(&hosts);
	params[3] = hosts.buf;
	if (db_begin(db, err) < 0)
		goto fail;
	res = db_query(db, err,
		       "SELECT 1 FROM jobs WHERE flight = $1 AND job = $2 "
		       "AND status = 'queued' FOR UPDATE SKIP LOCKED",
		       2, params);
	if (!res)
		goto rollback;
	if (PQntuples(res) != 1) {
		PQclear(res);
		err_set(err, ERR_EXISTS, "job %ld.%s is no longer waiting",
			flight, job);
		goto rollback;
	}
	PQclear(res);
	if (lock_hosts(db, picks, n, err) < 0 ||
	    insert_allocations(db, picks, n, flight, job, 0, err) < 0)
		goto rollback;
	{
		char e[32];
		const char *up[5] = { fl, job, lease, hosts.buf, e };

		snprintf(e, sizeof(e), "%lld", (long long)end);
		if (db_exec(db, err,
			    "UPDATE jobs SET status = 'preparing', lease_owner = NULL, "
			    "lease_until = now() + make_interval(secs => $3::int), "
			    "planned_start = now(), planned_end = to_timestamp($5), "
			    "planned_hosts = $4::text[], wait_reason = NULL "
			    "WHERE flight = $1 AND job = $2",
			    5, up) < 0)
			goto rollback;
	}
	if (db_exec(db, err,
		    "UPDATE flights SET status = 'running', "
		    "started_at = coalesce(started_at, now()) "
		    "WHERE id = $1 AND status = 'queued'",
		    1, params) < 0 ||
	    sched_allocated_event(db, flight, job, picks, n, err) < 0 ||
	    db_commit(db, err) < 0)
		goto rollback;
	buf_release(&hosts);
	return 0;
rollback:
	db_rollback(db);
fail:
	buf_release(&hosts);
	return err->code ? err->code : ERR_FAIL;
}

int db_sched_allocate_reservation(struct db *db, long id,
				  const struct sched_pick *picks, size_t n,
				  struct err *err)
{
	char rid[32];
	const char *params[2] = { rid, db_actor() };
	PGresult *res;

	snprintf(rid, sizeof(rid), "%ld", id);
	if (db_begin(db, err) < 0)
		return err->code;
	res = db_query(db, err,
		       "SELECT duration FROM reservations WHERE id = $1 "
		       "AND status = 'waiting' FOR UPDATE SKIP LOCKED",
		       1, params);
	if (!res)
		goto rollback;
	if (PQntuples(res) != 1) {
		PQclear(res);
		err_set(err, ERR_EXISTS, "reservation %ld is no longer waiting",
			id);
		goto rollback;
	}
	PQclear(res);
	if (lock_hosts(db, picks, n, err) < 0 ||
	    insert_allocations(db, picks, n, 0, NULL, id, err) < 0 ||
	    db_exec(db, err,
		    "WITH x AS (UPDATE reservations SET status = 'active', "
		    "start_at = now(), "
		    "end_at = now() + make_interval(secs => duration), "
		    "planned_start = now(), wait_reason = NULL, "
		    "planned_hosts = ARRAY(SELECT host FROM allocations "
		    "WHERE reservation = $1 AND released_at IS NULL ORDER BY host) "
		    "WHERE id = $1 RETURNING id, owner, planned_hosts) "
		    "INSERT INTO events (actor, kind, host, detail) "
		    "SELECT $2, 'reservation.active', planned_hosts[1], "
		    "jsonb_build_object('id', id, 'owner', owner, "
		    "'hosts', planned_hosts) FROM x",
		    2, params) < 0 ||
	    db_commit(db, err) < 0)
		goto rollback;
	return 0;
rollback:
	db_rollback(db);
	return err->code ? err->code : ERR_FAIL;
}

int db_sched_allocate_blockage(struct db *db, long id, const char *host,
			       struct err *err)
{
	char rid[32];
	const char *params[3] = { rid, host, db_actor() };
	struct sched_pick pick = { host, 0, NULL, 0 };
	PGresult *res;

	snprintf(rid, sizeof(rid), "%ld", id);
	if (db_begin(db, err) < 0)
		return err->code;
	res = db_query(db, err,
		       "SELECT 1 FROM reservations WHERE id = $1 "
		       "AND status IN ('waiting', 'active') AND start_at <= now() "
		       "AND NOT EXISTS (SELECT 1 FROM allocations "
		       "WHERE reservation = $1 AND host = $2 "
		       "AND released_at IS NULL)",
		       2, params);
	if (!res)
		goto rollback;
	if (PQntuples(res) != 1) {
		PQclear(res);
		db_rollback(db);
		return 0;   /* over, or that host is held already */
	}
	PQclear(res);
	if (lock_hosts(db, &pick, 1, err) < 0 ||
	    insert_allocations(db, &pick, 1, 0, NULL, id, err) < 0 ||
	    db_exec(db, err,
		    "WITH x AS (UPDATE reservations SET status = 'active' "
		    "WHERE id = $1 RETURNING id) "
		    "INSERT INTO events (actor, kind, host, detail) "
		    "SELECT $3, 'blockage.active', $2, "
		    "jsonb_build_object('id', id) FROM x",
		    3, params) < 0 ||
	    db_commit(db, err) < 0)
		goto rollback;
	return 0;
rollback:
	db_rollback(db);
	return err->code ? err->code : ERR_FAIL;
}

int db_sched_write_plan(struct db *db, const struct sched_planned *rows,
			size_t n, struct err *err)
{
	struct buf f = BUF_INIT, j = BUF_INIT, r = BUF_INIT, s = BUF_INIT,
		   e = BUF_INIT, h = BUF_INIT, w = BUF_INIT;
	const char *params[7];
	struct db_batch b;
	int rc = 0;

	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		array_add_int(&f, rows[i].flight, 1);
		db_array_add(&j, rows[i].job);
		array_add_int(&r, rows[i].reservation, 1);
		array_add_int(&s, rows[i].start, 1);
		array_add_int(&e, rows[i].end, 1);
		db_array_add(&h, rows[i].hosts);
		db_array_add(&w, rows[i].reason);
	}
	db_array_end(&f);
	db_array_end(&j);
	db_array_end(&r);
	db_array_end(&s);
	db_array_end(&e);
	db_array_end(&h);
	db_array_end(&w);
	params[0] = f.buf;
	params[1] = j.buf;
	params[2] = r.buf;
	params[3] = s.buf;
	params[4] = e.buf;
	params[5] = h.buf;
	params[6] = w.buf;
	/* marked as the scheduler's own: its jobs rows are not logged (it
	 * updates its copy, db_sched_state_note_plan()); one round trip,
	 * one transaction. Prepared: planning the join anew took longer
	 * than running it for a hundred rows, and its generic plan (a
	 * loop over the arrays by the key) is the one for any size */
	db_batch_init(&b, db);
	db_batch_add_plain(&b, "BEGIN", 0, NULL);
	db_batch_add(&b, "SELECT set_config('hangar.sched_own_plan', 'on', true)",
		     0, NULL);
	db_batch_add(&b,
		    "UPDATE jobs j SET planned_start = to_timestamp(u.s), "
		    "planned_end = to_timestamp(u.e), "
		    "planned_hosts = string_to_array(u.h, ' '), wait_reason = u.w "
		    "FROM unnest($1::bigint[], $2::text[], $4::bigint[], "
		    "$5::bigint[], $6::text[], $7::text[]) AS u(f, j, s, e, h, w) "
		    "WHERE u.f IS NOT NULL AND j.flight = u.f AND j.job = u.j "
		    "AND j.status = 'queued' "
		    "AND $3::bigint[] IS NOT NULL",   /* typed, though unused */
		    7, params);
	db_batch_add(&b,
		    "UPDATE reservations r SET planned_start = to_timestamp(u.s), "
		    "planned_hosts = string_to_array(u.h, ' '), wait_reason = u.w "
		    "FROM unnest($3::bigint[], $4::bigint[], $6::text[], "
		    "$7::text[]) AS u(r, s, h, w) "
		    "WHERE u.r IS NOT NULL AND r.id = u.r "
		    "AND r.status IN ('waiting', 'active') AND $1::bigint[] "
		    "IS NOT NULL AND $2::text[] IS NOT NULL "
		    "AND $5::bigint[] IS NOT NULL",
		    7, params);
	db_batch_add_plain(&b, "COMMIT", 0, NULL);
	if (db_batch_run(&b, err) < 0) {
		if (!db_idle(db))   /* a failure aborted the transaction */
			db_rollback(db);
		rc = -1;
	}
	db_batch_release(&b);
	buf_release(&f);
	buf_release(&j);
	buf_release(&r);
	buf_release(&s);
	buf_release(&e);
	buf_release(&h);
	buf_release(&w);
	return rc;
}

int db_sched_write_state(struct db *db, const char *scheduler, double ms,
			 int queued, int hosts, int allocated,
			 long differences, long *next_ms, struct err *err)
{
	char m[32], q[16], h[16], a[16], d[32];
	const char *params[6] = { scheduler, m, q, h, a, d };
	struct db_batch b;
	int rc;

	snprintf(m, sizeof(m), "%.3f", ms);
	snprintf(q, sizeof(q), "%d", queued);
	snprintf(h, sizeof(h), "%d", hosts);
	snprintf(a, sizeof(a), "%d", allocated);
	snprintf(d, sizeof(d), "%ld", differences);
	db_batch_init(&b, db);
	db_batch_add(&b,
		     "INSERT INTO plan_state (id, computed_at, scheduler, "
		     "pass_ms, queued, hosts, allocated, check_differences) "
		     "VALUES (1, now(), $1, $2, $3, $4, $5, $6) "
		     "ON CONFLICT (id) DO UPDATE SET computed_at = now(), "
		     "scheduler = $1, pass_ms = $2, queued = $3, hosts = $4, "
		     "allocated = $5, check_differences = "
		     "plan_state.check_differences + $6",
		     6, params);
	if (next_ms)
		db_batch_add(&b, next_expiry_sql, 0, NULL);
	rc = db_batch_run(&b, err);
	if (!rc && next_ms)
		*next_ms = next_expiry_of(b.res[1]);
	db_batch_release(&b);
	return rc;
}

/* ---- people's requests ---- */

static int insert_reservation(struct db *db, const char *kind,
			      const struct sched_reserve *r, const char *from,
			      const char *to, long *id, struct err *err)
{
	char n[16], d[32];
	struct buf flags = BUF_INIT;
	const char *params[10] = { kind, r->owner, r->arch, NULL, r->host, n,
				   r->duration ? d : NULL, r->reason, from, to };
	PGresult *res;

	array_of_words(&flags, r->flags);
	params[3] = flags.buf;
	snprintf(n, sizeof(n), "%d", r->nhosts > 0 ? r->nhosts : 1);
	snprintf(d, sizeof(d), "%ld", r->duration);
	res = db_query(db, err,
		       "WITH x AS (INSERT INTO reservations (kind, owner, arch, "
		       "flags, host, nhosts, duration, reason, start_at, end_at) "
		       "VALUES ($1, $2, $3, $4::text[], $5, $6, $7, $8, "
		       "hangar_when($9), hangar_when($10)) RETURNING *) "
		       ", e AS (INSERT INTO events (actor, kind, host, detail) "
		       "SELECT owner, kind || '.requested', host, "
		       "jsonb_build_object('id', id, 'arch', arch, 'flags', flags, "
		       "'nhosts', nhosts, 'duration', duration, "
		       "'start', start_at, 'end', end_at) FROM x) "
		       "SELECT id FROM x",
		       10, params);
	buf_release(&flags);
	if (!res)
		return err->code;
	*id = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}

/* A host, arch or flag that matches nothing is a mistake worth naming. */
static int check_target(struct db *db, const struct sched_reserve *r,
			struct err *err)
{
	struct buf flags = BUF_INIT;
	const char *params[3];
	PGresult *res;
	long n;

	array_of_words(&flags, r->flags);
	params[0] = r->host;
	params[1] = r->arch;
	params[2] = flags.buf;
	res = db_query(db, err,
		       "SELECT count(*) FROM hosts h WHERE h.state <> 'retired' "
		       "AND ($1::text IS NULL OR h.name = $1) "
		       "AND ($2::text IS NULL OR h.arch = $2) "
		       "AND $3::text[] <@ ARRAY(SELECT flag FROM host_flags f "
		       "WHERE f.host = h.name)",
		       3, params);
	buf_release(&flags);
	if (!res)
		return err->code;
	n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (r->host && !n)
		return err_set(err, ERR_NOTFOUND,
			       "no host %s (or it lacks those flags)", r->host);
	if (n < (r->nhosts > 0 ? r->nhosts : 1))
		return err_set(err, ERR_NOTFOUND,
			       "only %ld host%s match%s %s%s%s", n,
			       n == 1 ? "" : "s", n == 1 ? "es" : "",
			       r->arch ? r->arch : "any arch",
			       r->flags ? " with " : "",
			       r->flags ? r->flags : "");
	return 0;
}

int db_sched_reserve(struct db *db, const struct sched_reserve *r, long *id,
		     struct err *err)
{
	if (check_target(db, r, err) < 0)
		return err->code;
	return insert_reservation(db, "reservation", r, NULL, NULL, id, err);
}

int db_sched_block(struct db *db, const struct sched_reserve *r,
		   const char *from, const char *to, long *id,
		   struct err *err)
{
	struct sched_reserve all = *r;

	all.nhosts = 1;
	if (check_target(db, &all, err) < 0)
		return err->code;
	return insert_reservation(db, "blockage", r, from, to, id, err);
}

int db_sched_release(struct db *db, long id, struct err *err)
{
	char rid[32];
	const char *params[2] = { rid, db_actor() };
	PGresult *res;
	int n;

	snprintf(rid, sizeof(rid), "%ld", id);
	res = db_query(db, err,
		       "WITH x AS (UPDATE reservations SET status = 'released', "
		       "released_at = now() WHERE id = $1 "
		       "AND status IN ('waiting', 'active') "
		       "RETURNING id, kind, owner), "
		       "a AS (UPDATE allocations al SET released_at = now() "
		       "FROM x WHERE al.reservation = x.id "
		       "AND al.released_at IS NULL RETURNING al.host), "
		       "e AS (INSERT INTO events (actor, kind, detail) "
		       "SELECT $2, x.kind || '.released', jsonb_build_object("
		       "'id', x.id, 'owner', x.owner, 'hosts', "
		       "(SELECT coalesce(jsonb_agg(host), '[]') FROM a)) FROM x) "
		       "SELECT count(*) FROM x",
		       2, params);
	if (!res)
		return err->code;
	n = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (!n)
		return err_set(err, ERR_NOTFOUND,
			       "no live reservation or blockage %ld", id);
	return 0;
}

int db_sched_res_state(struct db *db, long id, struct sched_res_state *ret,
		       struct err *err)
{
	char rid[32], what[48];
	const char *params[1] = { rid };
	PGresult *res;

	memset(ret, 0, sizeof(*ret));
	snprintf(rid, sizeof(rid), "%ld", id);
	snprintf(what, sizeof(what), "reservation %ld", id);
	res = db_query_one(db, err, what,
			   "SELECT status, array_to_string(planned_hosts, ' '), "
			   "to_char(end_at AT TIME ZONE 'UTC', "
			   "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), wait_reason "
			   "FROM reservations WHERE id = $1",
			   1, params);
	if (!res)
		return err->code;
	ret->status = xstrdup(PQgetvalue(res, 0, 0));
	ret->hosts = xstrdup(PQgetvalue(res, 0, 1));
	ret->until = xstrdup(PQgetvalue(res, 0, 2));
	ret->wait_reason = db_dup(res, 0, 3);
	PQclear(res);
	return 0;
}

void db_sched_res_state_release(struct sched_res_state *s)
{
	free(s->status);
	free(s->hosts);
	free(s->until);
	free(s->wait_reason);
	memset(s, 0, sizeof(*s));
}

int db_sched_bench_end_job(struct db *db, struct err *err)
{
	PGresult *res;
	int n;

	res = db_query(db, err,
		       "WITH j AS (SELECT flight, job FROM jobs "
		       "WHERE lease_owner = 'bench' AND status = 'running' "
		       "ORDER BY flight, job COLLATE \"C\" LIMIT 1 "
		       "FOR UPDATE SKIP LOCKED), "
		       "u AS (UPDATE jobs x SET status = 'pass', "
		       "finished_at = now(), lease_owner = NULL, lease_until = NULL "
		       "FROM j WHERE x.flight = j.flight AND x.job = j.job "
		       "RETURNING x.flight, x.job), "
		       "a AS (UPDATE allocations al SET released_at = now() FROM u "
		       "WHERE al.flight = u.flight AND al.job = u.job "
		       "AND al.released_at IS NULL) "
		       "SELECT count(*) FROM u",
		       0, NULL);
	if (!res)
		return err->code;
	n = (int)db_long(res, 0, 0);
	PQclear(res);
	return n > 0;
}
