/*
 * db-worker.c: the worker's side of the jobs table. A job the scheduler
 * gave hosts to is 'preparing' with no lease owner; a worker claims it
 * under a row lock (SKIP LOCKED, so workers never wait on each other),
 * keeps its lease alive with heartbeats, records steps, and ends it. Every
 * write checks the lease owner, so a worker that lost its lease (it was
 * presumed dead) cannot overwrite what recovery decided.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db-worker.h"
#include "xalloc.h"
#include "banned.h"

void wjob_release(struct wjob *j)
{
	if (!j)
		return;
	free(j->job);
	free(j->recipe);
	free(j->arch);
	free(j->intent);
	free(j->branch);
	free(j->primary_tree);
	vec_clear(&j->runvars);
	for (size_t i = 0; i < j->nhosts; i++) {
		struct wjob_host *h = &j->hosts[i];

		free(h->ident);
		free(h->name);
		free(h->arch);
		free(h->address);
		free(h->user);
		free(h->workdir);
		free(h->power);
		free(h->console);
		free(h->ssh_host_key);
		json_decref(h->power_config);
	}
	free(j->hosts);
	for (size_t i = 0; i < j->nsteps; i++) {
		free(j->steps[i].name);
		free(j->steps[i].command);
		free(j->steps[i].cases);
	}
	free(j->steps);
	vec_clear(&j->artifacts);
	for (size_t i = 0; i < j->ntrees; i++) {
		free(j->trees[i].name);
		free(j->trees[i].revision);
		free(j->trees[i].url);
	}
	free(j->trees);
	for (size_t i = 0; i < j->ndeps; i++) {
		free(j->deps[i].job);
		free(j->deps[i].status);
	}
	free(j->deps);
	memset(j, 0, sizeof(*j));
}

const char *wjob_runvar(const struct wjob *j, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < j->runvars.n; i++) {
		const char *rv = j->runvars.v[i];

		if (!strncmp(rv, name, len) && rv[len] == '=')
			return rv + len + 1;
	}
	return NULL;
}

int db_worker_step_is_test(enum step_kind kind)
{
	return kind == STEP_BUILD || kind == STEP_INSTALL_BUILD ||
	       kind == STEP_RUN || kind == STEP_BOOT || kind == STEP_EXPECT;
}

/* Everything about (flight, job) a worker needs, into j. */
static int db_worker_load(struct db *db, long flight, const char *job,
			  struct wjob *j, struct err *err)
{
	char fl[32];
	const char *params[2] = { fl, job };
	PGresult *res;
	int rc = 0;

	snprintf(fl, sizeof(fl), "%ld", flight);
	j->flight = flight;
	j->job = xstrdup(job);
	res = db_query(db, err,
		       "SELECT j.recipe, j.arch, j.attempt, j.lab_retries, "
		       "f.intent, f.branch, b.tree, "
		       "coalesce(f.label = 'health-check', false), "
		       "array_to_string(r.artifacts, ' '), (SELECT "
		       "coalesce(max(s.stepno), 0) FROM steps s WHERE "
		       "s.flight = j.flight AND s.job = j.job) "
		       "FROM jobs j JOIN flights f ON f.id = j.flight "
		       "LEFT JOIN branches b ON b.name = f.branch "
		       "LEFT JOIN recipes r ON r.name = j.recipe "
		       "WHERE j.flight = $1 AND j.job = $2",
		       2, params);
	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return err_set(err, ERR_NOTFOUND, "no job %ld.%s", flight, job);
	}
	j->recipe = db_dup(res, 0, 0);
	j->arch = db_dup(res, 0, 1);
	j->attempt = (int)db_long(res, 0, 2);
	j->lab_retries = (int)db_long(res, 0, 3);
	j->intent = db_dup(res, 0, 4);
	j->branch = db_dup(res, 0, 5);
	j->primary_tree = db_dup(res, 0, 6);
	j->health_check = !strcmp(PQgetvalue(res, 0, 7), "t");
	if (!PQgetisnull(res, 0, 8))
		vec_split(&j->artifacts, PQgetvalue(res, 0, 8));
	j->last_step = (int)db_long(res, 0, 9);
	PQclear(res);

	res = db_query(db, err,
		       "SELECT name || '=' || val FROM runvars "
		       "WHERE flight = $1 AND job = $2 ORDER BY name",
		       2, params);
	if (!res)
		return err->code;
	for (int i = 0; i < PQntuples(res); i++)
		vec_push(&j->runvars, PQgetvalue(res, i, 0));
	PQclear(res);

	res = db_query(db, err,
		       "SELECT a.ident, h.name, h.arch, h.address, h.port, "
		       "h.username, h.workdir, h.power, h.power_config::text, "
		       "h.console, h.boot_timeout, h.ssh_host_key, a.shareix "
		       "FROM allocations a JOIN hosts h ON h.name = a.host "
		       "WHERE a.flight = $1 AND a.job = $2 "
		       "AND a.released_at IS NULL "
		       "ORDER BY length(a.ident), a.ident",
		       2, params);
	if (!res)
		return err->code;
	j->nhosts = (size_t)PQntuples(res);
	j->hosts = xcalloc(j->nhosts + 1, sizeof(*j->hosts));
	for (size_t i = 0; i < j->nhosts; i++) {
		struct wjob_host *h = &j->hosts[i];
		int r = (int)i;
		json_t *cycle;

		h->ident = db_dup(res, r, 0);
		h->name = db_dup(res, r, 1);
		h->arch = db_dup(res, r, 2);
		h->address = db_dup(res, r, 3);
		h->port = (int)db_long(res, r, 4);
		h->user = db_dup(res, r, 5);
		h->workdir = db_dup(res, r, 6);
		h->power = db_dup(res, r, 7);
		h->power_config = json_loads(PQgetvalue(res, r, 8), 0, NULL);
		if (!h->power_config)
			h->power_config = json_object();
		h->console = db_dup(res, r, 9);
		h->boot_timeout = (int)db_long(res, r, 10);
		h->ssh_host_key = db_dup(res, r, 11);
		if (db_long(res, r, 12) > 0) {
			/* jobs sharing a build host each get a directory */
			char *share = xasprintf("%s/share%ld", h->workdir,
						db_long(res, r, 12));

			free(h->workdir);
			h->workdir = share;
		}
		cycle = json_object_get(h->power_config, "cycle_time");
		h->cycle_time = json_is_integer(cycle)
					? (int)json_integer_value(cycle) : 5;
	}
	PQclear(res);

	res = db_query(db, err,
		       "SELECT kind, name, command, timeout, cases FROM recipe_steps "
		       "WHERE recipe = $1 ORDER BY idx",
		       1, (const char *[]){ j->recipe });
	if (!res)
		return err->code;
	j->nsteps = (size_t)PQntuples(res);
	j->steps = xcalloc(j->nsteps + 1, sizeof(*j->steps));
	for (size_t i = 0; i < j->nsteps; i++) {
		int kind = step_kind_parse(PQgetvalue(res, (int)i, 0));

		if (kind < 0) {
			rc = err_set(err, ERR_FAIL, "recipe %s: unknown step kind '%s'",
				     j->recipe, PQgetvalue(res, (int)i, 0));
			break;
		}
		j->steps[i].kind = (enum step_kind)kind;
		j->steps[i].name = db_dup(res, (int)i, 1);
		j->steps[i].command = db_dup(res, (int)i, 2);
		j->steps[i].timeout = db_long(res, (int)i, 3);
		j->steps[i].cases = db_dup(res, (int)i, 4);
	}
	PQclear(res);
	if (rc < 0)
		return rc;

	res = db_query(db, err,
		       "SELECT r.tree, r.revision, t.url FROM flight_revisions r "
		       "LEFT JOIN trees t ON t.name = r.tree "
		       "WHERE r.flight = $1 ORDER BY r.tree",
		       1, params);
	if (!res)
		return err->code;
	j->ntrees = (size_t)PQntuples(res);
	j->trees = xcalloc(j->ntrees + 1, sizeof(*j->trees));
	for (size_t i = 0; i < j->ntrees; i++) {
		j->trees[i].name = db_dup(res, (int)i, 0);
		j->trees[i].revision = db_dup(res, (int)i, 1);
		j->trees[i].url = db_dup(res, (int)i, 2);
	}
	PQclear(res);
	if (!j->primary_tree && j->ntrees)
		j->primary_tree = xstrdup(j->trees[0].name);

	res = db_query(db, err,
		       "SELECT d.dep_flight, d.dep_job, x.status FROM job_deps d "
		       "JOIN jobs x ON x.flight = d.dep_flight AND x.job = d.dep_job "
		       "WHERE d.flight = $1 AND d.job = $2 "
		       "ORDER BY d.dep_flight, d.dep_job",
		       2, params);
	if (!res)
		return err->code;
	j->ndeps = (size_t)PQntuples(res);
	j->deps = xcalloc(j->ndeps + 1, sizeof(*j->deps));
	for (size_t i = 0; i < j->ndeps; i++) {
		j->deps[i].flight = db_long(res, (int)i, 0);
		j->deps[i].job = db_dup(res, (int)i, 1);
		j->deps[i].status = db_dup(res, (int)i, 2);
	}
	PQclear(res);
	return 0;
}

int db_worker_claim(struct db *db, const char *owner, long lease_s,
		    const char *site, const char *harness, struct wjob *j,
		    struct err *err)
{
	char lease[32];
	const char *params[5] = { owner, lease, db_actor(), site, harness };
	PGresult *res;
	long flight;
	char *job;
	int rc;

	snprintf(lease, sizeof(lease), "%ld", lease_s);
	memset(j, 0, sizeof(*j));
	res = db_query(db, err,
		       "WITH c AS (SELECT flight, job FROM jobs x "
		       "WHERE status = 'preparing' AND lease_owner IS NULL "
		       /* the scheduler keeps a job's hosts in one site */
		       "AND ($4::text IS NULL OR NOT EXISTS (SELECT 1 FROM "
		       "allocations a JOIN hosts h ON h.name = a.host "
		       "WHERE a.flight = x.flight AND a.job = x.job "
		       "AND a.released_at IS NULL AND h.site <> $4)) "
		       "ORDER BY flight, job LIMIT 1 FOR UPDATE SKIP LOCKED), "
		       "u AS (UPDATE jobs j SET status = 'running', lease_owner = $1, "
		       "lease_until = now() + make_interval(secs => $2::int), "
		       "lease_secs = $2::int, harness = $5, "
		       "started_at = coalesce(j.started_at, now()) FROM c "
		       "WHERE j.flight = c.flight AND j.job = c.job "
		       "RETURNING j.flight, j.job), "
		       "e AS (INSERT INTO events (actor, kind, flight, job, detail) "
		       "SELECT $3, 'job.claimed', flight, job, "
		       "jsonb_build_object('worker', $1::text) FROM u) "
		       "SELECT flight, job FROM u",
		       5, params);
	if (!res)
		return err->code;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	flight = db_long(res, 0, 0);
	job = db_dup(res, 0, 1);
	PQclear(res);
	rc = db_worker_load(db, flight, job, j, err);
	free(job);
	if (rc < 0) {
		wjob_release(j);
		return rc;
	}
	return 1;
}

int db_worker_claim_health(struct db *db, const char *owner, long lease_s,
			   const char *site, const char *default_recipe,
			   long interval_s, const char *harness, struct wjob *j,
			   struct err *err)
{
	char lease[32], interval[32];
	PGresult *res;
	long flight;
	int rc;

	snprintf(lease, sizeof(lease), "%ld", lease_s);
	snprintf(interval, sizeof(interval), "%ld", interval_s);
	memset(j, 0, sizeof(*j));
	if (db_begin(db, err) < 0)
		return err->code;
	res = db_query(db, err,
		       "SELECT h.name, h.arch, r.name FROM hosts h "
		       "JOIN recipes r ON r.name = "
		       "coalesce(h.power_config->>'health_check', $1) "
		       "WHERE h.state = 'broken' "
		       "AND ($3::text IS NULL OR h.site = $3) AND NOT EXISTS (SELECT 1 "
		       "FROM allocations a WHERE a.host = h.name "
		       "AND a.released_at IS NULL) AND NOT EXISTS (SELECT 1 "
		       "FROM events e WHERE e.host = h.name "
		       "AND e.kind = 'host.health-check' "
		       "AND e.at > now() - make_interval(secs => $2::int)) "
		       "ORDER BY h.state_since LIMIT 1 FOR UPDATE OF h SKIP LOCKED",
		       3, (const char *[]){ default_recipe, interval, site });
	if (!res)
		goto rollback;
	if (PQntuples(res) == 0) {
		PQclear(res);
		db_rollback(db);
		return 0;
	}
	{
		char *host = db_dup(res, 0, 0), *arch = db_dup(res, 0, 1);
		char *recipe = db_dup(res, 0, 2);
		const char *p[8] = { owner, lease, host, arch, recipe,
				     db_actor(), harness, NULL };
		PGresult *f;

		PQclear(res);
		f = db_query(db, err,
			     "WITH f AS (INSERT INTO flights (intent, label, status, "
			     "verdict, requested_by, started_at) VALUES ('adhoc', "
			     "'health-check', 'running', 'none', $6, now()) "
			     "RETURNING id), "
			     "j AS (INSERT INTO jobs (flight, job, recipe, arch, status, "
			     "lease_owner, lease_until, lease_secs, started_at, "
			     "harness) "
			     "SELECT id, 'health-check', $5, $4, 'running', $1, "
			     "now() + make_interval(secs => $2::int), $2::int, now(), "
			     "$7 "
			     "FROM f "
			     "RETURNING flight, job), "
			     "r AS (INSERT INTO runvars (flight, job, name, val, synth) "
			     "SELECT flight, job, v.name, v.val, v.synth FROM j, "
			     "(VALUES ('arch', $4, false), ('job', 'health-check', false), "
			     "('host', $3, true)) v(name, val, synth) "
			     "UNION ALL SELECT flight, job, 'flight', flight::text, false "
			     "FROM j), "
			     "a AS (INSERT INTO allocations (host, flight, job, ident) "
			     "SELECT $3, flight, job, 'host' FROM j), "
			     "e AS (INSERT INTO events (actor, kind, flight, job, host, "
			     "detail) SELECT $6, 'host.health-check', flight, job, $3, "
			     "jsonb_build_object('recipe', $5::text, 'worker', $1::text) "
			     "FROM j) "
			     "SELECT flight FROM j",
			     7, p);
		free(host);
		free(arch);
		free(recipe);
		if (!f)
			goto rollback;
		flight = db_long(f, 0, 0);
		PQclear(f);
	}
	if (db_commit(db, err) < 0)
		goto rollback;
	rc = db_worker_load(db, flight, "health-check", j, err);
	if (rc < 0) {
		wjob_release(j);
		return rc;
	}
	return 1;
rollback:
	db_rollback(db);
	return err->code ? err->code : ERR_FAIL;
}

int db_worker_heartbeat(struct db *db, const char *owner, long lease_s,
			const long *flights, const char *const *jobs, size_t n,
			struct vec *held, struct vec *cancelled, struct err *err)
{
	return db_worker_renew(db, owner, lease_s, flights, jobs, NULL, n, held,
			       cancelled, err);
}

/* The arrays of n jobs as PostgreSQL literals: flights, names and
 * attempts (NULL each without attempts). */
static void job_arrays(const long *flights, const char *const *jobs,
		       const int *attempts, size_t n, struct buf *fl,
		       struct buf *jb, struct buf *at)
{
	buf_addch(fl, '{');
	buf_addch(jb, '{');
	buf_addch(at, '{');
	for (size_t i = 0; i < n; i++) {
		buf_addf(fl, "%s%ld", i ? "," : "", flights[i]);
		if (attempts)
			buf_addf(at, "%s%d", i ? "," : "", attempts[i]);
		else
			buf_addf(at, "%sNULL", i ? "," : "");
		buf_addstr(jb, i ? ",\"" : "\"");
		for (const char *p = jobs[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_addch(jb, '\\');
			buf_addch(jb, *p);
		}
		buf_addch(jb, '"');
	}
	buf_addch(fl, '}');
	buf_addch(jb, '}');
	buf_addch(at, '}');
}

int db_worker_renew(struct db *db, const char *owner, long lease_s,
		    const long *flights, const char *const *jobs,
		    const int *attempts, size_t n, struct vec *held,
		    struct vec *cancelled, struct err *err)
{
	struct buf fl = BUF_INIT, jb = BUF_INIT, at = BUF_INIT;
	char lease[32];
	PGresult *res;

	snprintf(lease, sizeof(lease), "%ld", lease_s);
	job_arrays(flights, jobs, attempts, n, &fl, &jb, &at);
	res = db_query(db, err,
		       "UPDATE jobs j SET lease_until = now() + "
		       "make_interval(secs => $2::int), lease_secs = $2::int "
		       "FROM unnest($3::bigint[], $4::text[], $5::int[]) "
		       "AS u(flight, job, attempt) "
		       "WHERE j.lease_owner = $1 "
		       "AND j.status IN ('preparing', 'running') "
		       "AND j.flight = u.flight AND j.job = u.job "
		       "AND (u.attempt IS NULL OR j.attempt = u.attempt) "
		       "RETURNING j.flight, j.job, j.cancel_requested",
		       5, (const char *[]){ owner, lease, fl.buf, jb.buf, at.buf });
	buf_release(&fl);
	buf_release(&jb);
	buf_release(&at);
	if (!res)
		return err->code;
	for (int i = 0; i < PQntuples(res); i++) {
		vec_pushf(held, "%s.%s", PQgetvalue(res, i, 0),
			  PQgetvalue(res, i, 1));
		if (!strcmp(PQgetvalue(res, i, 2), "t"))
			vec_pushf(cancelled, "%s.%s", PQgetvalue(res, i, 0),
				  PQgetvalue(res, i, 1));
	}
	PQclear(res);
	return 0;
}

int db_worker_drop_unlisted(struct db *db, const char *owner, long lease_s,
			    long grace_s, const long *flights,
			    const char *const *jobs, size_t n,
			    struct vec *dropped, struct err *err)
{
	struct buf fl = BUF_INIT, jb = BUF_INIT, at = BUF_INIT;
	char lease[32], grace[32];
	PGresult *res;

	snprintf(lease, sizeof(lease), "%ld", lease_s);
	snprintf(grace, sizeof(grace), "%ld", grace_s);
	job_arrays(flights, jobs, NULL, n, &fl, &jb, &at);
	/* lease_until is the last renewal (or the claim) plus the lease
	 * it was given: older than grace, the worker had time to list it.
	 * No lease is left for a database restart to count again: nobody
	 * runs the job to come back for it */
	res = db_query(db, err,
		       "UPDATE jobs j SET lease_until = now(), lease_secs = 0 "
		       "WHERE j.lease_owner = $1 "
		       "AND j.status IN ('preparing', 'running') "
		       "AND j.lease_until < now() + make_interval(secs => "
		       "coalesce(j.lease_secs, $2::int) - $3::int) "
		       "AND NOT EXISTS (SELECT 1 FROM unnest($4::bigint[], "
		       "$5::text[]) AS u(flight, job) "
		       "WHERE u.flight = j.flight AND u.job = j.job) "
		       "RETURNING j.flight, j.job",
		       5, (const char *[]){ owner, lease, grace, fl.buf, jb.buf });
	buf_release(&fl);
	buf_release(&jb);
	buf_release(&at);
	if (!res)
		return err->code;
	for (int i = 0; i < PQntuples(res); i++)
		vec_pushf(dropped, "%s.%s", PQgetvalue(res, i, 0),
			  PQgetvalue(res, i, 1));
	PQclear(res);
	return 0;
}

/* A step name as the file-name part of its log: safe characters only. */
static char *step_log_name(const char *name)
{
	struct buf b = BUF_INIT;

	for (const char *p = name; *p; p++)
		buf_addch(&b, (strchr("/\\ ", *p) || *p < ' ') ? '_' : *p);
	return buf_detach(&b);
}

char *db_worker_step_logfile(const struct wjob *j, int stepno,
			     const char *name)
{
	char *safe = step_log_name(name);
	char *path = xasprintf("%ld/%s/%d.%s.log", j->flight, j->job, stepno,
			       safe);

	free(safe);
	return path;
}

/* A time for a parameter: epoch seconds, or NULL for the database's now. */
static const char *at_param(double at, char *buf, size_t len)
{
	if (at <= 0)
		return NULL;
	snprintf(buf, len, "%.6f", at);
	return buf;
}

/* The job ($1 flight, $2 job) runs under the lease of owner (the
 * parameter named): the condition of every write of its steps. */
#define JOB_HELD(owner) \
	"SELECT 1 FROM jobs WHERE flight = $1 AND job = $2 " \
	"AND lease_owner = " owner " AND status = 'running'"

static int not_held(const struct wjob *j, struct err *err)
{
	return err_set(err, ERR_EXISTS,
		       "job %ld.%s: this worker no longer holds it (its lease "
		       "expired)", j->flight, j->job);
}

int db_worker_step_begin(struct db *db, const struct wjob *j,
			 const char *owner, int stepno, const char *kind,
			 const char *name, double at, struct err *err)
{
	char fl[32], sn[16], att[16], when[32];
	char *logfile = db_worker_step_logfile(j, stepno, name);
	PGresult *res;
	int held;

	snprintf(fl, sizeof(fl), "%ld", j->flight);
	snprintf(sn, sizeof(sn), "%d", stepno);
	snprintf(att, sizeof(att), "%d", j->attempt);
	/* written again after an outage: the first one stands */
	res = db_query(db, err,
		       "WITH held AS (" JOB_HELD("$9") "), "
		       "ins AS (INSERT INTO steps (flight, job, stepno, kind, name, "
		       "status, started_at, attempt, logfile) SELECT $1, $2, $3, "
		       "$4, $5, 'running', coalesce(to_timestamp($7::float8), "
		       "now()), $6, $8 FROM held "
		       "ON CONFLICT (flight, job, stepno) DO NOTHING) "
		       "SELECT count(*) FROM held",
		       9, (const char *[]){ fl, j->job, sn, kind, name, att,
					    at_param(at, when, sizeof(when)),
					    logfile, owner });
	free(logfile);
	if (!res)
		return err->code;
	held = db_long(res, 0, 0) > 0;
	PQclear(res);
	return held ? 0 : not_held(j, err);
}

int db_worker_step_end(struct db *db, const struct wjob *j,
		       const char *owner, int stepno, const char *status,
		       const char *detail, double at, struct err *err)
{
	char fl[32], sn[16], when[32];
	PGresult *res;
	long n;

	snprintf(fl, sizeof(fl), "%ld", j->flight);
	snprintf(sn, sizeof(sn), "%d", stepno);
	res = db_query(db, err,
		       "UPDATE steps SET status = $4, detail = $5, finished_at = "
		       "coalesce(to_timestamp($6::float8), now()) "
		       "WHERE flight = $1 AND job = $2 AND stepno = $3 "
		       "AND EXISTS (" JOB_HELD("$7") ")",
		       7, (const char *[]){ fl, j->job, sn, status, detail,
					    at_param(at, when, sizeof(when)),
					    owner });
	if (!res)
		return err->code;
	n = db_affected(res);
	PQclear(res);
	return n ? 0 : not_held(j, err);
}

int db_worker_cases_add(struct db *db, const struct wjob *j,
			const char *owner, const char *parent, int parent_no,
			int first, const struct vec *names,
			const struct vec *statuses, const struct vec *details,
			double at, struct err *err)
{
	char fl[32], sn[16], att[16], when[32];
	char *logfile = db_worker_step_logfile(j, parent_no, parent);
	char *n = db_array(names), *s = db_array(statuses), *d = db_array(details);
	PGresult *res;
	int held;

	snprintf(fl, sizeof(fl), "%ld", j->flight);
	snprintf(sn, sizeof(sn), "%d", first);
	snprintf(att, sizeof(att), "%d", j->attempt);
	res = db_query(db, err,
		       "WITH held AS (" JOB_HELD("$9") "), "
		       "ins AS (INSERT INTO steps (flight, job, stepno, kind, name, "
		       "status, started_at, finished_at, attempt, logfile, detail) "
		       "SELECT $1, $2, $3::int + u.i::int - 1, 'run', $4 || '/' || "
		       "u.name, u.status, t.at, t.at, $5, $6, nullif(u.detail, '') "
		       "FROM held, (SELECT coalesce(to_timestamp($10::float8), "
		       "now()) AS at) t, unnest($7::text[], $8::text[], "
		       "$11::text[]) WITH ORDINALITY AS u(name, status, detail, i) "
		       "ON CONFLICT DO NOTHING) "
		       "SELECT count(*) FROM held",
		       11, (const char *[]){ fl, j->job, sn, parent, att, logfile, n,
					     s, owner, at_param(at, when, sizeof(when)),
					     d });
	free(logfile);
	free(n);
	free(s);
	free(d);
	if (!res)
		return err->code;
	held = db_long(res, 0, 0) > 0;
	PQclear(res);
	return held ? 0 : not_held(j, err);
}

int db_worker_holds(struct db *db, const struct wjob *j, const char *owner,
		    long lease_s, struct err *err)
{
	char fl[32], lease[32];
	PGresult *res;
	int held;

	snprintf(fl, sizeof(fl), "%ld", j->flight);
	snprintf(lease, sizeof(lease), "%ld", lease_s);
	res = db_query(db, err,
		       "UPDATE jobs SET lease_until = now() + "
		       "make_interval(secs => $4::int), lease_secs = $4::int "
		       "WHERE flight = $1 AND job = $2 AND lease_owner = $3 "
		       "AND status = 'running' RETURNING 1",
		       4, (const char *[]){ fl, j->job, owner, lease });
	if (!res)
		return err->code;
	held = PQntuples(res) == 1;
	PQclear(res);
	return held;
}

int db_worker_runvar_set(struct db *db, const struct wjob *j,
			 const char *name, const char *value, struct err *err)
{
	char fl[32];

	snprintf(fl, sizeof(fl), "%ld", j->flight);
	return db_exec(db, err,
		       "INSERT INTO runvars (flight, job, name, val, synth) "
		       "VALUES ($1, $2, $3, $4, true) ON CONFLICT (flight, job, name) "
		       "DO UPDATE SET val = EXCLUDED.val, synth = true",
		       4, (const char *[]){ fl, j->job, name, value });
}

int db_worker_artifact_add(struct db *db, const struct wjob *j,
			   const char *path, const char *sha256,
			   long long size, struct err *err)
{
	char fl[32], sz[32];

	snprintf(fl, sizeof(fl), "%ld", j->flight);
	snprintf(sz, sizeof(sz), "%lld", size);
	return db_exec(db, err,
		       "INSERT INTO artifacts (flight, job, path, sha256, size) "
		       "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (flight, job, path) "
		       "DO UPDATE SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size, "
		       "created_at = now()",
		       5, (const char *[]){ fl, j->job, path, sha256, sz });
}

int db_worker_artifacts(struct db *db, long flight, const char *job,
			struct wartifact **a, size_t *n, struct err *err)
{
	char fl[32];
	PGresult *res;

	snprintf(fl, sizeof(fl), "%ld", flight);
	res = db_query(db, err,
		       "SELECT path, sha256, size FROM artifacts "
		       "WHERE flight = $1 AND job = $2 ORDER BY path",
		       2, (const char *[]){ fl, job });
	if (!res)
		return err->code;
	*n = (size_t)PQntuples(res);
	*a = xcalloc(*n + 1, sizeof(**a));
	for (size_t i = 0; i < *n; i++) {
		(*a)[i].path = db_dup(res, (int)i, 0);
		(*a)[i].sha256 = db_dup(res, (int)i, 1);
		(*a)[i].size = strtoll(PQgetvalue(res, (int)i, 2), NULL, 10);
	}
	PQclear(res);
	return 0;
}

void db_worker_artifacts_free(struct wartifact *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].path);
		free(a[i].sha256);
	}
	free(a);
}

static int db_worker_finish_at(struct db *db, const struct wjob *j,
			       const char *owner, int attempt,
			       const char *status, const char *reason,
			       int requeue, int lab_retry, struct err *err);

int db_worker_finish(struct db *db, const struct wjob *j, const char *owner,
		     const char *status, const char *reason, int requeue,
		     int lab_retry, struct err *err)
{
	return db_worker_finish_at(db, j, owner, -1, status, reason, requeue,
				   lab_retry, err);
}

int db_worker_finish_attempt(struct db *db, const struct wjob *j,
			     const char *owner, const char *status,
			     const char *reason, int requeue, int lab_retry,
			     struct err *err)
{
	return db_worker_finish_at(db, j, owner, j->attempt, status, reason,
				   requeue, lab_retry, err);
}

/* db_worker_finish at attempt (< 0: any). */
static int db_worker_finish_at(struct db *db, const struct wjob *j,
			       const char *owner, int attempt,
			       const char *status, const char *reason,
			       int requeue, int lab_retry, struct err *err)
{
	char fl[32], at[16];
	const char *params[6] = { fl, j->job, owner, status, reason, at };
	json_t *detail = json_object();
	PGresult *res;

	snprintf(fl, sizeof(fl), "%ld", j->flight);
	snprintf(at, sizeof(at), "%d", attempt);
	db_detail_set(detail, "status", status);
	db_detail_set(detail, "reason", reason);
	db_detail_set(detail, "worker", owner);
	if (db_begin(db, err) < 0)
		goto rollback;
	if (requeue)
		res = db_query(db, err,
			       "UPDATE jobs SET status = 'queued', lease_owner = NULL, "
			       "lease_until = NULL, planned_start = NULL, "
			       "planned_end = NULL, planned_hosts = NULL, "
			       "attempt = attempt + 1, "
			       "lab_retries = lab_retries + $4::int, "
			       "cancel_requested = false, broken_reason = NULL "
			       "WHERE flight = $1 AND job = $2 AND lease_owner = $3 "
			       "AND status = 'running' "
			       "AND ($5::int < 0 OR attempt = $5::int) RETURNING attempt",
			       5, (const char *[]){ fl, j->job, owner,
						    lab_retry ? "1" : "0", at });
	else
		res = db_query(db, err,
			       "UPDATE jobs SET status = $4, finished_at = now(), "
			       "lease_until = NULL, broken_reason = $5 "
			       "WHERE flight = $1 AND job = $2 AND lease_owner = $3 "
			       "AND status = 'running' "
			       "AND ($6::int < 0 OR attempt = $6::int) RETURNING attempt",
			       6, params);
	if (!res)
		goto rollback;
	if (PQntuples(res) != 1) {
		PQclear(res);
		err_set(err, ERR_EXISTS,
			"job %ld.%s: this worker no longer holds it (its lease expired)",
			j->flight, j->job);
		goto rollback;
	}
	PQclear(res);
	if (requeue &&
	    db_exec(db, err,
		    "DELETE FROM runvars WHERE flight = $1 AND job = $2 "
		    "AND synth AND name ~ '^host[0-9]*$'",
		    2, params) < 0)
		goto rollback;
	if (db_exec(db, err,
		    "UPDATE allocations SET released_at = now() WHERE flight = $1 "
		    "AND job = $2 AND released_at IS NULL",
		    2, params) < 0 ||
	    db_event(db, &(struct db_event){ .kind = requeue ? "job.requeued"
								   : "job.finished",
					     .flight = j->flight, .job = j->job,
					     .detail = detail }, err) < 0 ||
	    db_commit(db, err) < 0)
		goto rollback;
	json_decref(detail);
	return 0;
rollback:
	db_rollback(db);
	json_decref(detail);
	return err->code ? err->code : ERR_FAIL;
}

int db_worker_host_broken(struct db *db, const char *host, const char *reason,
			  const struct wjob *j, struct err *err)
{
	char fl[32];

	snprintf(fl, sizeof(fl), "%ld", j->flight);
	return db_exec(db, err,
		       "WITH h AS (UPDATE hosts SET state = 'broken', "
		       "state_reason = $2, state_since = now(), updated_at = now() "
		       "WHERE name = $1 AND state IN ('free', 'broken') "
		       "RETURNING name) "
		       "INSERT INTO events (actor, kind, flight, job, host, detail) "
		       "SELECT $5, 'host.broken', $3, $4, name, "
		       "jsonb_build_object('reason', $2::text) FROM h",
		       5, (const char *[]){ host, reason, fl, j->job, db_actor() });
}

int db_worker_host_healthy(struct db *db, const char *host,
			   const struct wjob *j, struct err *err)
{
	char fl[32];

	snprintf(fl, sizeof(fl), "%ld", j->flight);
	return db_exec(db, err,
		       "WITH h AS (UPDATE hosts SET state = 'free', "
		       "state_reason = NULL, state_since = now(), updated_at = now() "
		       "WHERE name = $1 AND state = 'broken' RETURNING name) "
		       "INSERT INTO events (actor, kind, flight, job, host, detail) "
		       "SELECT $4, 'host.healthy', $2, $3, name, "
		       "'{\"reason\": \"health check passed\"}' FROM h",
		       4, (const char *[]){ host, fl, j->job, db_actor() });
}

int db_worker_firmware(struct db *db, const struct wjob *j, const char *host,
		       const char *firmware, struct err *err)
{
	char fl[32];

	snprintf(fl, sizeof(fl), "%ld", j->flight);
	/* the newest: a lab retry may have had this host before */
	return db_exec(db, err,
		       "UPDATE allocations SET firmware = $4 WHERE id = "
		       "(SELECT max(id) FROM allocations WHERE flight = $1 "
		       "AND job = $2 AND host = $3)",
		       4, (const char *[]){ fl, j->job, host, firmware });
}

int db_worker_install_begin(struct db *db, const struct wjob *j,
			    const char *host, const char *token,
			    struct err *err)
{
	char fl[32];

	snprintf(fl, sizeof(fl), "%ld", j->flight);
	return db_exec(db, err,
		       "INSERT INTO host_installs (token, host, flight, job) "
		       "VALUES ($1, $2, $3, $4) ON CONFLICT (token) DO NOTHING",
		       4, (const char *[]){ token, host, fl, j->job });
}

int db_worker_install_reported(struct db *db, const char *token,
			       int *reported, struct err *err)
{
	PGresult *res = db_query(db, err,
				 "SELECT reported_at IS NOT NULL FROM host_installs "
				 "WHERE token = $1",
				 1, (const char *[]){ token });

	if (!res)
		return err->code;
	*reported = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	return 0;
}

int db_worker_host_installed(struct db *db, const char *host,
			     struct err *err)
{
	return db_exec(db, err,
		       "UPDATE hosts SET needs_reinstall = false WHERE name = $1 "
		       "AND needs_reinstall",
		       1, (const char *[]){ host });
}

/* ---- the controller's side of the worker protocol ---- */

/* A query of one boolean row: 1, 0, or an error. */
static int db_worker_yes(struct db *db, struct err *err, const char *sql,
			 int n, const char *const *params)
{
	PGresult *res = db_query(db, err, sql, n, params);
	int yes;

	if (!res)
		return err->code;
	yes = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	return yes;
}

int db_worker_job_of_site(struct db *db, long flight, const char *job,
			  const char *site, struct err *err)
{
	char fl[32];

	snprintf(fl, sizeof(fl), "%ld", flight);
	return db_worker_yes(db, err,
			     "SELECT count(*) > 0 AND count(*) FILTER (WHERE "
			     "h.site <> $3) = 0 FROM allocations a "
			     "JOIN hosts h ON h.name = a.host "
			     "WHERE a.flight = $1 AND a.job = $2",
			     3, (const char *[]){ fl, job, site });
}

int db_worker_lock_held(struct db *db, long flight, const char *job,
			const char *owner, int attempt, struct err *err)
{
	char fl[32], at[16];

	snprintf(fl, sizeof(fl), "%ld", flight);
	snprintf(at, sizeof(at), "%d", attempt);
	return db_worker_yes(db, err,
			     "SELECT true FROM jobs WHERE flight = $1 AND job = $2 "
			     "AND lease_owner = $3 AND attempt = $4::int "
			     "AND status = 'running' FOR UPDATE",
			     4, (const char *[]){ fl, job, owner, at });
}

int db_worker_job_has_host(struct db *db, long flight, const char *job,
			   const char *host, struct err *err)
{
	char fl[32];

	snprintf(fl, sizeof(fl), "%ld", flight);
	return db_worker_yes(db, err,
			     "SELECT EXISTS (SELECT 1 FROM allocations "
			     "WHERE flight = $1 AND job = $2 AND host = $3)",
			     3, (const char *[]){ fl, job, host });
}

int db_worker_job_has_dep(struct db *db, long flight, const char *job,
			  long dflight, const char *djob, struct err *err)
{
	char fl[32], dfl[32];

	snprintf(fl, sizeof(fl), "%ld", flight);
	snprintf(dfl, sizeof(dfl), "%ld", dflight);
	return db_worker_yes(db, err,
			     "SELECT EXISTS (SELECT 1 FROM job_deps WHERE "
			     "flight = $1 AND job = $2 AND dep_flight = $3 "
			     "AND dep_job = $4)",
			     4, (const char *[]){ fl, job, dfl, djob });
}

int db_worker_blob_named(struct db *db, const char *sha256, struct err *err)
{
	return db_worker_yes(db, err,
			     "SELECT EXISTS (SELECT 1 FROM artifacts "
			     "WHERE sha256 = $1)",
			     1, (const char *[]){ sha256 });
}

int db_worker_tree(struct db *db, long flight, const char *tree,
		   char **revision, char **url, struct err *err)
{
	char fl[32];
	PGresult *res;

	snprintf(fl, sizeof(fl), "%ld", flight);
	res = db_query(db, err,
		       "SELECT r.revision, t.url FROM flight_revisions r "
		       "JOIN trees t ON t.name = r.tree "
		       "WHERE r.flight = $1 AND r.tree = $2",
		       2, (const char *[]){ fl, tree });
	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return err_set(err, ERR_NOTFOUND, "flight %ld has no tree %s",
			       flight, tree);
	}
	*revision = db_dup(res, 0, 0);
	*url = db_dup(res, 0, 1);
	PQclear(res);
	return 0;
}

int db_worker_list_json(struct db *db, json_t **ret, struct err *err)
{
	return db_query_json(db, err, "workers", ret,
			     "SELECT coalesce(json_agg(json_build_object("
			     "'site', site, 'name', name, 'last_seen', "
			     "hangar_iso(last_seen), 'seconds_ago', "
			     "extract(epoch FROM now() - last_seen)::bigint, "
			     "'address', address, 'version', version, 'running', "
			     "running, 'spool_bytes', spool_bytes, 'spool_files', "
			     "spool_files) ORDER BY site, name), '[]') FROM workers",
			     0, NULL);
}

int db_worker_late_json(struct db *db, long flight, const char *job,
			json_t **ret, struct err *err)
{
	char fl[32];

	snprintf(fl, sizeof(fl), "%ld", flight);
	return db_query_json(db, err, "late records", ret,
			     "SELECT coalesce(json_agg(json_build_object("
			     "'received', hangar_iso(received_at), 'attempt', "
			     "attempt, 'owner', owner, 'record', record) "
			     "ORDER BY id), '[]') FROM late_records "
			     "WHERE flight = $1 AND job = $2",
			     2, (const char *[]){ fl, job });
}

int db_worker_late_add(struct db *db, long flight, const char *job,
		       int attempt, const char *owner, const char *record,
		       struct err *err)
{
	char fl[32], at[16];

	snprintf(fl, sizeof(fl), "%ld", flight);
	snprintf(at, sizeof(at), "%d", attempt);
	return db_exec(db, err,
		       "INSERT INTO late_records (flight, job, attempt, owner, "
		       "record) SELECT $1, $2, $3, $4, $5::jsonb "
		       /* a job that was deleted meanwhile keeps nothing */
		       "WHERE EXISTS (SELECT 1 FROM jobs WHERE flight = $1 "
		       "AND job = $2)",
		       5, (const char *[]){ fl, job, at, owner, record });
}

int db_worker_seen(struct db *db, const char *site, const char *name,
		   const char *address, const char *version, int running,
		   long long spool_bytes, long long spool_files,
		   struct err *err)
{
	char run[16], sb[32], sf[32];

	snprintf(run, sizeof(run), "%d", running);
	snprintf(sb, sizeof(sb), "%lld", spool_bytes);
	snprintf(sf, sizeof(sf), "%lld", spool_files);
	return db_exec(db, err,
		       "INSERT INTO workers AS w (site, name, address, version, "
		       "running, spool_bytes, spool_files) VALUES ($1, $2, $3, $4, "
		       "greatest($5::int, 0), greatest($6::bigint, 0), "
		       "greatest($7::bigint, 0)) "
		       "ON CONFLICT (site, name) DO UPDATE SET last_seen = now(), "
		       "address = coalesce(EXCLUDED.address, w.address), "
		       "version = coalesce(EXCLUDED.version, w.version), "
		       "running = CASE WHEN $5::int < 0 THEN w.running "
		       "ELSE EXCLUDED.running END, "
		       "spool_bytes = CASE WHEN $6::bigint < 0 THEN w.spool_bytes "
		       "ELSE EXCLUDED.spool_bytes END, "
		       "spool_files = CASE WHEN $7::bigint < 0 THEN w.spool_files "
		       "ELSE EXCLUDED.spool_files END",
		       7, (const char *[]){ site, name, address, version, run, sb,
					    sf });
}

int db_worker_install_reported_site(struct db *db, const char *token,
				    const char *site, int *reported,
				    struct err *err)
{
	PGresult *res = db_query(db, err,
				 "SELECT i.reported_at IS NOT NULL FROM "
				 "host_installs i JOIN hosts h ON h.name = i.host "
				 "WHERE i.token = $1 AND h.site = $2",
				 2, (const char *[]){ token, site });

	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return err_set(err, ERR_NOTFOUND, "no installation %s", token);
	}
	*reported = !strcmp(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	return 0;
}

int db_worker_notify_stopping(struct db *db, struct err *err)
{
	return db_exec(db, err, "SELECT pg_notify('hangar_work', 'worker stopping')",
		       0, NULL);
}
