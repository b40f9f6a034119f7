/*
 * db-sched-state.c: the scheduler's copy of hosts, the queue, allocations
 * and reservations, kept between passes and brought up to date with only
 * the rows that changed.
 *
 * The rows point into the PGresults they were read from; a result is kept
 * while any row points into it (a reference count per result), so neither
 * a full read nor an update copies a string. Each table is an array sorted
 * by its key; an update drops the rows of the keys that changed and merges
 * in their fresh rows, O(rows) memory moves and no query over the rest.
 *
 * What changed comes from sched_changes (migration 0017), written by row
 * triggers in the writers' transactions, and read by transaction id: the
 * entries of every transaction the last snapshot could not see (xid >=
 * its xmin), so an entry committed late, out of order, is still found.
 * Entries read twice only cost a re-read of their rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db-sched.h"
#include "strmap.h"
#include "vec.h"
#include "xalloc.h"
#include "banned.h"

#define EPOCH(x) "extract(epoch FROM " x ")::bigint"

/* keys: j<flight>/<job>, f<flight>, h<host>, a<host> (its allocations),
 * r<id>; d<flight>/<job> (its dependencies, and only those: found by the
 * dependency query, they must not drop the job's pins) */
#define KEY_MAX 600

/* ---- the queries: a full read, and the same rows for some keys ---- */

/* retired hosts too: a job pinned to one says so, and gives up */
enum { SH_NAME, SH_ARCH, SH_STATE, SH_FLAGS, SH_SHARE_TASKS, SH_SHARE_WEAR_MAX,
       SH_SHARE_TYPE, SH_SHARE_WEAR, SH_STATE_REASON, SH_UNUSABLE_SINCE,
       SH_SITE };
#define HOSTS_COLS \
	"SELECT h.name, h.arch, h.state, " \
	"coalesce(f.flags, ''), h.share_max_tasks, h.share_max_wear, " \
	"h.share_type, h.share_wear, h.state_reason, " \
	EPOCH("h.unusable_since") ", h.site "
/* no ORDER BY: rows_of sorts each table by its key (row_cmp, strcmp's
 * order, PostgreSQL's C collation), faster than the server does */
static const char hosts_sql[] =
	HOSTS_COLS
	"FROM hosts h LEFT JOIN (SELECT host, string_agg(flag, ' ' ORDER BY flag) "
	"AS flags FROM host_flags GROUP BY host) f ON f.host = h.name";
static const char hosts_some_sql[] =
	HOSTS_COLS
	"FROM hosts h LEFT JOIN LATERAL (SELECT string_agg(flag, ' ' "
	"ORDER BY flag) AS flags FROM host_flags WHERE host = h.name) f ON true "
	"WHERE h.name = ANY($1::text[])";

enum { SJ_FLIGHT, SJ_JOB, SJ_STATUS, SJ_ARCH, SJ_NHOSTS, SJ_FLAGS, SJ_RECIPE,
       SJ_INTENT, SJ_BRANCH_PRIO, SJ_QUEUED_AT,
       SJ_PLANNED_START, SJ_PLANNED_END, SJ_PLANNED_HOSTS, SJ_WAIT_REASON,
       SJ_IS_BUILD };
#define JOBS_COLS \
	"SELECT j.flight, j.job, j.status, j.arch, j.nhosts, " \
	"array_to_string(j.flags, ' '), j.recipe, f.intent, " \
	"coalesce(b.priority, 0), " EPOCH("f.queued_at") ", " \
	EPOCH("j.planned_start") ", " \
	EPOCH("j.planned_end") ", array_to_string(j.planned_hosts, ' '), " \
	"j.wait_reason, r.recipe IS NOT NULL "
#define JOBS_JOIN \
	"JOIN flights f ON f.id = j.flight " \
	"LEFT JOIN branches b ON b.name = f.branch " \
	"LEFT JOIN (SELECT DISTINCT recipe FROM recipe_steps " \
	"WHERE kind = 'build') r ON r.recipe = j.recipe " \
	"WHERE f.status IN ('queued', 'running') "
/* The jobs that changed, as a table k (flight, job) to join: $1 flights
 * all of whose jobs changed, $2 and $3 (flight, job) pairs. Joins, not
 * an OR in a WHERE, so each table is reached by its primary key.
 *
 * The queries of some keys are prepared and run with their generic plan
 * (db_sched_state_read): planned at each pass, they cost more than they
 * ran. A generic plan knows neither how many keys nor which, so each
 * query looks up the rows of one key at a time (a LATERAL subquery that
 * OFFSET 0 keeps whole), through the tables' keys, whatever it guesses:
 * a join it may plan otherwise, say as a walk of a whole index. */
#define KEYS \
	"(SELECT * FROM unnest($2::bigint[], $3::text[]) AS u(flight, job) " \
	"UNION SELECT flight, job FROM jobs WHERE flight = ANY($1::bigint[])) "
#define BY_KEY(t) \
	"AND " t ".flight = k.flight AND " t ".job = k.job OFFSET 0) x"
static const char jobs_sql[] = JOBS_COLS "FROM jobs j " JOBS_JOIN;
static const char jobs_some_sql[] =
	"SELECT x.* FROM " KEYS "k CROSS JOIN LATERAL (" JOBS_COLS
	"FROM jobs j " JOBS_JOIN BY_KEY("j");

/* every dependency of a job of an unfinished flight; a dependency's
 * status only when it is in another flight (the rest are in the jobs) */
enum { SD_FLIGHT, SD_JOB, SD_DEP_FLIGHT, SD_DEP_JOB, SD_DEP_STATUS };
#define DEPS_COLS \
	"SELECT d.flight, d.job, d.dep_flight, d.dep_job, " \
	"CASE WHEN d.dep_flight <> d.flight THEN (SELECT x.status FROM jobs x " \
	"WHERE x.flight = d.dep_flight AND x.job = d.dep_job) END "
#define DEPS_JOIN \
	"JOIN flights f ON f.id = d.flight " \
	"WHERE f.status IN ('queued', 'running') "
static const char deps_sql[] =
	DEPS_COLS "FROM job_deps d " DEPS_JOIN;
/* the dependencies of the jobs that changed, and all those of a job that
 * depends on one of them in another flight (they carry its status) */
static const char deps_some_sql[] =
	"WITH c AS " KEYS ", "
	"o AS (SELECT flight, job FROM c UNION SELECT e.flight, e.job "
	"FROM c CROSS JOIN LATERAL (SELECT e.flight, e.job FROM job_deps e "
	"WHERE e.dep_flight = c.flight AND e.dep_job = c.job "
	"AND e.dep_flight <> e.flight OFFSET 0) e) "
	"SELECT x.* FROM o k CROSS JOIN LATERAL (" DEPS_COLS
	"FROM job_deps d " DEPS_JOIN BY_KEY("d");

/* pins are what a request set (not synth): the scheduler's own host
 * runvars of an earlier allocation are synth and do not pin */
enum { SP_FLIGHT, SP_JOB, SP_NAME, SP_VAL };
#define PINS_COLS "SELECT r.flight, r.job, r.name, r.val "
#define PINS_JOIN \
	"JOIN jobs j ON j.flight = r.flight AND j.job = r.job " \
	"JOIN flights f ON f.id = r.flight " \
	"WHERE f.status IN ('queued', 'running') AND j.status = 'queued' " \
	"AND ((r.name ~ '^host[0-9]*$' AND NOT r.synth) OR r.name = 'starvation') "
static const char pins_sql[] =
	PINS_COLS "FROM runvars r " PINS_JOIN;
static const char pins_some_sql[] =
	"SELECT x.* FROM " KEYS "k CROSS JOIN LATERAL (" PINS_COLS
	"FROM runvars r " PINS_JOIN BY_KEY("r");

enum { SA_HOST, SA_SHAREIX, SA_FLIGHT, SA_JOB, SA_RESERVATION, SA_SINCE,
       SA_PLANNED_END, SA_RES_END };
#define ALLOCS_COLS \
	"SELECT a.host, a.shareix, a.flight, a.job, a.reservation, " \
	EPOCH("a.allocated_at") ", " EPOCH("a.planned_end") ", "
#define ALLOCS_FROM \
	ALLOCS_COLS EPOCH("r.end_at") " " \
	"FROM allocations a LEFT JOIN reservations r ON r.id = a.reservation " \
	"WHERE a.released_at IS NULL "
static const char allocs_sql[] = ALLOCS_FROM;
/* $1 hosts, $2 reservations (an allocation carries its reservation's
 * end); reservations change rarely, and looking them up costs a scan.
 * Prepared, the reservation is looked up by its key, not joined. */
static const char allocs_some_sql[] =
	ALLOCS_COLS EPOCH("(SELECT r.end_at FROM reservations r "
			  "WHERE r.id = a.reservation)") " "
	"FROM allocations a WHERE a.released_at IS NULL "
	"AND a.host = ANY($1::text[]) AND $2::bigint[] IS NOT NULL";
static const char allocs_some_res_sql[] =
	ALLOCS_FROM "AND a.host IN (SELECT unnest($1::text[]) UNION "
	"SELECT host FROM allocations WHERE reservation = ANY($2::bigint[]) "
	"AND released_at IS NULL)";

enum { SR_ID, SR_KIND, SR_OWNER, SR_ARCH, SR_FLAGS, SR_HOST, SR_NHOSTS,
       SR_DURATION, SR_START, SR_END, SR_CREATED, SR_STATUS,
       SR_PLANNED_START, SR_PLANNED_HOSTS, SR_WAIT_REASON };
#define RES_FROM \
	"SELECT id, kind, owner, arch, array_to_string(flags, ' '), host, " \
	"nhosts, duration, " EPOCH("start_at") ", " EPOCH("end_at") ", " \
	EPOCH("created_at") ", status, " EPOCH("planned_start") ", " \
	"array_to_string(planned_hosts, ' '), wait_reason " \
	"FROM reservations WHERE status IN ('waiting', 'active') "
static const char res_sql[] = RES_FROM;
static const char res_some_sql[] =
	RES_FROM "AND id = ANY($1::bigint[])";

/* Finished runs, for the estimates: those after $1 (seconds) at the
 * first read; after that those of the jobs that changed ($1 to $3 as
 * KEYS) after $4: a run that committed since the last read changed its
 * job; the others were read then. In the order they finished. Each
 * run's allocations by their index (OFFSET 0 keeps it a loop): a join
 * hashed every allocation ever made, as the planner guesses few recent
 * runs, and the history only grows. */
#define RUNS_COLS \
	"SELECT j.job, a.host, j.status = 'fail', " \
	EPOCH("j.started_at") ", " EPOCH("j.finished_at") ", j.flight, " \
	"j.finished_at AS at "
#define RUNS_FROM \
	"FROM jobs j CROSS JOIN LATERAL (SELECT a.host " \
	"FROM allocations a WHERE a.flight = j.flight " \
	"AND a.job = j.job OFFSET 0) a " \
	"WHERE j.status IN ('pass', 'fail') AND j.started_at IS NOT NULL "
static const char runs_sql[] =
	RUNS_COLS RUNS_FROM "AND j.finished_at > to_timestamp($1) "
	"ORDER BY j.finished_at, j.flight, j.job, a.host";
static const char runs_some_sql[] =
	"SELECT x.* FROM " KEYS "k CROSS JOIN LATERAL (" RUNS_COLS RUNS_FROM
	"AND j.finished_at > to_timestamp($4) " BY_KEY("j") " "
	"ORDER BY x.at, x.flight, x.job, x.host";

/* ---- kept results ---- */

struct chunk {
	PGresult *res;
	size_t refs;              /* rows pointing into it */
};

static struct chunk *chunk_new(PGresult *res)
{
	struct chunk *c = xcalloc(1, sizeof(*c));

	c->res = res;
	return c;
}

static void chunk_unref(struct chunk *c)
{
	if (c && !--c->refs) {
		PQclear(c->res);
		free(c);
	}
}

/* A chunk no row took. */
static void chunk_drop_unused(struct chunk *c)
{
	if (c && !c->refs) {
		PQclear(c->res);
		free(c);
	}
}

enum { T_HOSTS, T_JOBS, T_DEPS, T_PINS, T_ALLOCS, T_RES, NT };

struct sched_state {
	struct sched_snapshot snap;   /* arrays sorted by key: the view */
	struct chunk **chunks[NT];    /* per row, where its strings are */
	size_t alloc[NT];
	struct vec own;               /* plan strings it wrote itself, until
				       * the next full read */
	struct strmap texts_ix;       /* jobs' arch and flags texts: one */
	struct vec texts;             /* copy of each, until the next full
				       * read */
	char xmin[32];                /* of the snapshot last read */
	int64_t read_at;              /* its database time */
	int valid;
};

/* snap.job_keys: one count for every copy, so that two copies never
 * have the same (a caller that keeps what it made of one copy's keys
 * must not take another copy's for it) */
static uint64_t job_keys_last;

static void job_keys_move(struct sched_state *st)
{
	st->snap.job_keys = ++job_keys_last;
}

/* snap.read_no and the jobs' read_no: one count of reads, for every
 * copy */
static uint64_t reads_last;

struct sched_state *db_sched_state_new(void)
{
	struct sched_state *st = xcalloc(1, sizeof(struct sched_state));

	job_keys_move(st);
	return st;
}

static void **table_rows(struct sched_state *st, int t, size_t **n)
{
	struct sched_snapshot *s = &st->snap;

	switch (t) {
	case T_HOSTS: *n = &s->nhosts; return (void **)&s->hosts;
	case T_JOBS: *n = &s->njobs; return (void **)&s->jobs;
	case T_DEPS: *n = &s->ndeps; return (void **)&s->deps;
	case T_PINS: *n = &s->npins; return (void **)&s->pins;
	case T_ALLOCS: *n = &s->nallocs; return (void **)&s->allocs;
	default: *n = &s->nres; return (void **)&s->res;
	}
}

void db_sched_state_free(struct sched_state *st)
{
	if (!st)
		return;
	for (int t = 0; t < NT; t++) {
		size_t *n;
		void **rows = table_rows(st, t, &n);

		for (size_t i = 0; i < *n; i++)
			chunk_unref(st->chunks[t][i]);
		free(st->chunks[t]);
		free(*rows);
	}
	vec_clear(&st->own);
	strmap_clear(&st->texts_ix);
	vec_clear(&st->texts);
	free(st);
}

const struct sched_snapshot *db_sched_state_snapshot(
	const struct sched_state *st)
{
	return &st->snap;
}

int db_sched_state_valid(const struct sched_state *st)
{
	return st && st->valid;
}

void db_sched_state_invalidate(struct sched_state *st)
{
	if (st)
		st->valid = 0;
}

int64_t db_sched_state_read_at(const struct sched_state *st)
{
	return st ? st->read_at : 0;
}

/* ---- rows from results ---- */

static enum sched_status status_kind(const char *st)
{
	static const struct {
		const char *word;
		enum sched_status kind;
	} words[] = {
		{ "queued", SCHED_ST_QUEUED }, { "preparing", SCHED_ST_PREPARING },
		{ "running", SCHED_ST_RUNNING }, { "pass", SCHED_ST_PASS },
		{ "fail", SCHED_ST_FAIL },
	};

	if (!st)
		return SCHED_ST_NONE;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(st, words[i].word))
			return words[i].kind;
	return SCHED_ST_OTHER;
}

static enum sched_intent intent_kind(const char *intent)
{
	if (!strcmp(intent, "gate"))
		return SCHED_INTENT_GATE;
	if (!strcmp(intent, "bisect"))
		return SCHED_INTENT_BISECT;
	if (!strcmp(intent, "retest"))
		return SCHED_INTENT_RETEST;
	return SCHED_INTENT_OTHER;
}

static void read_hosts(struct sched_host_row *v, PGresult *res)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct sched_host_row *h = &v[r];

		h->name = PQgetvalue(res, r, SH_NAME);
		h->arch = PQgetvalue(res, r, SH_ARCH);
		h->state = PQgetvalue(res, r, SH_STATE);
		h->flags = PQgetvalue(res, r, SH_FLAGS);
		h->share_type = db_str(res, r, SH_SHARE_TYPE);
		h->state_reason = db_str(res, r, SH_STATE_REASON);
		h->share_max_tasks = (int)db_long(res, r, SH_SHARE_TASKS);
		h->share_max_wear = (int)db_long(res, r, SH_SHARE_WEAR_MAX);
		h->share_wear = (int)db_long(res, r, SH_SHARE_WEAR);
		h->unusable_since = db_long(res, r, SH_UNUSABLE_SINCE);
		h->site = PQgetvalue(res, r, SH_SITE);
	}
}

static void read_jobs(struct sched_job_row *v, PGresult *res)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct sched_job_row *j = &v[r];

		j->flight = db_long(res, r, SJ_FLIGHT);
		j->job = PQgetvalue(res, r, SJ_JOB);
		j->status = PQgetvalue(res, r, SJ_STATUS);
		j->arch = PQgetvalue(res, r, SJ_ARCH);
		j->recipe = PQgetvalue(res, r, SJ_RECIPE);
		j->intent = PQgetvalue(res, r, SJ_INTENT);
		j->flags = PQgetvalue(res, r, SJ_FLAGS);
		j->nhosts = (int)db_long(res, r, SJ_NHOSTS);
		j->branch_prio = (int)db_long(res, r, SJ_BRANCH_PRIO);
		j->is_build = PQgetvalue(res, r, SJ_IS_BUILD)[0] == 't';
		j->queued_at = db_long(res, r, SJ_QUEUED_AT);
		j->planned_start = db_long(res, r, SJ_PLANNED_START);
		j->planned_end = db_long(res, r, SJ_PLANNED_END);
		j->planned_hosts = db_str(res, r, SJ_PLANNED_HOSTS);
		j->wait_reason = db_str(res, r, SJ_WAIT_REASON);
		j->status_kind = status_kind(j->status);
		j->intent_kind = intent_kind(j->intent);
		j->job_len = (size_t)PQgetlength(res, r, SJ_JOB);
	}
}

static void read_deps(struct sched_dep_row *v, PGresult *res)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct sched_dep_row *d = &v[r];

		d->flight = db_long(res, r, SD_FLIGHT);
		d->job = PQgetvalue(res, r, SD_JOB);
		d->dep_flight = db_long(res, r, SD_DEP_FLIGHT);
		d->dep_job = PQgetvalue(res, r, SD_DEP_JOB);
		d->dep_status = db_str(res, r, SD_DEP_STATUS);
		d->dep_status_kind = status_kind(d->dep_status);
	}
}

static void read_pins(struct sched_pin_row *v, PGresult *res)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct sched_pin_row *p = &v[r];

		p->flight = db_long(res, r, SP_FLIGHT);
		p->job = PQgetvalue(res, r, SP_JOB);
		p->name = PQgetvalue(res, r, SP_NAME);
		p->val = PQgetvalue(res, r, SP_VAL);
	}
}

static void read_allocs(struct sched_alloc_row *v, PGresult *res)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct sched_alloc_row *a = &v[r];

		a->host = PQgetvalue(res, r, SA_HOST);
		a->shareix = (int)db_long(res, r, SA_SHAREIX);
		a->flight = db_long(res, r, SA_FLIGHT);
		a->job = db_str(res, r, SA_JOB);
		a->reservation = db_long(res, r, SA_RESERVATION);
		a->since = db_long(res, r, SA_SINCE);
		a->planned_end = db_long(res, r, SA_PLANNED_END);
		a->res_end = db_long(res, r, SA_RES_END);
	}
}

static void read_res(struct sched_res_row *v, PGresult *res)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct sched_res_row *x = &v[r];

		x->id = db_long(res, r, SR_ID);
		x->kind = PQgetvalue(res, r, SR_KIND);
		x->owner = PQgetvalue(res, r, SR_OWNER);
		x->status = PQgetvalue(res, r, SR_STATUS);
		x->arch = db_str(res, r, SR_ARCH);
		x->flags = PQgetvalue(res, r, SR_FLAGS);
		x->host = db_str(res, r, SR_HOST);
		x->nhosts = (int)db_long(res, r, SR_NHOSTS);
		x->duration = db_long(res, r, SR_DURATION);
		x->start = db_long(res, r, SR_START);
		x->end = db_long(res, r, SR_END);
		x->created = db_long(res, r, SR_CREATED);
		x->planned_start = db_long(res, r, SR_PLANNED_START);
		x->planned_hosts = db_str(res, r, SR_PLANNED_HOSTS);
		x->wait_reason = db_str(res, r, SR_WAIT_REASON);
	}
}

static const size_t row_size[NT] = {
	sizeof(struct sched_host_row), sizeof(struct sched_job_row),
	sizeof(struct sched_dep_row), sizeof(struct sched_pin_row),
	sizeof(struct sched_alloc_row), sizeof(struct sched_res_row),
};

static int row_cmp(int t, const void *x, const void *y);

/* for qsort */
static int cmp_hosts(const void *x, const void *y)
{
	return row_cmp(T_HOSTS, x, y);
}

static int cmp_jobs(const void *x, const void *y)
{
	return row_cmp(T_JOBS, x, y);
}

static int cmp_deps(const void *x, const void *y)
{
	return row_cmp(T_DEPS, x, y);
}

static int cmp_pins(const void *x, const void *y)
{
	return row_cmp(T_PINS, x, y);
}

static int cmp_allocs(const void *x, const void *y)
{
	return row_cmp(T_ALLOCS, x, y);
}

static int cmp_res(const void *x, const void *y)
{
	return row_cmp(T_RES, x, y);
}

/*
 * Typed rows of res for table t, in a new array sorted by their key: a
 * sort here costs a fraction of the server's (it sorts whole tuples, by
 * text compared through its collation code), and the queries say no
 * order.
 */
static void *rows_of(int t, PGresult *res)
{
	static int (*const cmp[NT])(const void *, const void *) = {
		cmp_hosts, cmp_jobs, cmp_deps, cmp_pins, cmp_allocs, cmp_res,
	};
	size_t n = (size_t)PQntuples(res);
	void *v = xcalloc(n + 1, row_size[t]);

	switch (t) {
	case T_HOSTS: read_hosts(v, res); break;
	case T_JOBS: read_jobs(v, res); break;
	case T_DEPS: read_deps(v, res); break;
	case T_PINS: read_pins(v, res); break;
	case T_ALLOCS: read_allocs(v, res); break;
	default: read_res(v, res); break;
	}
	if (n > 1)
		qsort(v, n, row_size[t], cmp[t]);
	return v;
}

/* ---- keys and order ---- */

static int cmp64(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

static int row_cmp(int t, const void *x, const void *y)
{
	int c;

	switch (t) {
	case T_HOSTS: {
		const struct sched_host_row *a = x, *b = y;

		return strcmp(a->name, b->name);
	}
	case T_JOBS: {
		const struct sched_job_row *a = x, *b = y;

		return (c = cmp64(a->flight, b->flight)) ? c
							 : strcmp(a->job, b->job);
	}
	case T_DEPS: {
		const struct sched_dep_row *a = x, *b = y;

		if ((c = cmp64(a->flight, b->flight)) ||
		    (c = strcmp(a->job, b->job)) ||
		    (c = cmp64(a->dep_flight, b->dep_flight)))
			return c;
		return strcmp(a->dep_job, b->dep_job);
	}
	case T_PINS: {
		const struct sched_pin_row *a = x, *b = y;

		if ((c = cmp64(a->flight, b->flight)) ||
		    (c = strcmp(a->job, b->job)))
			return c;
		return strcmp(a->name, b->name);
	}
	case T_ALLOCS: {
		const struct sched_alloc_row *a = x, *b = y;

		return (c = strcmp(a->host, b->host)) ? c
			: (a->shareix > b->shareix) - (a->shareix < b->shareix);
	}
	default: {
		const struct sched_res_row *a = x, *b = y;

		return cmp64(a->id, b->id);
	}
	}
}

static void job_key(char *k, int64_t flight, const char *job)
{
	snprintf(k, KEY_MAX, "j%lld/%s", (long long)flight, job);
}

static void flight_key(char *k, int64_t flight)
{
	snprintf(k, KEY_MAX, "f%lld", (long long)flight);
}

/* What changed: the keys whose rows are to be dropped and read again. */
struct changes {
	struct strmap keys;
	/* the flights of the job keys, sorted: most rows of a merge are of
	 * other flights, and this says so without building their keys */
	int64_t *flights_v;
	size_t nflights, flights_alloc;
	int flights_sorted;
	int all;                 /* every row may differ: read everything */
	/* the query parameters, as array literals */
	struct buf flights, jflights, jjobs, hosts, ahosts, res;
};

static void changes_init(struct changes *c)
{
	memset(c, 0, sizeof(*c));
	buf_init(&c->flights, 0);
	buf_init(&c->jflights, 0);
	buf_init(&c->jjobs, 0);
	buf_init(&c->hosts, 0);
	buf_init(&c->ahosts, 0);
	buf_init(&c->res, 0);
}

static void changes_release(struct changes *c)
{
	strmap_clear(&c->keys);
	free(c->flights_v);
	buf_release(&c->flights);
	buf_release(&c->jflights);
	buf_release(&c->jjobs);
	buf_release(&c->hosts);
	buf_release(&c->ahosts);
	buf_release(&c->res);
}


static void changes_flight(struct changes *c, int64_t flight)
{
	XGROW(c->flights_v, c->flights_alloc, c->nflights + 1);
	c->flights_v[c->nflights++] = flight;
	c->flights_sorted = 0;
}

static int cmp_i64(const void *a, const void *b)
{
	return cmp64(*(const int64_t *)a, *(const int64_t *)b);
}

/* Whether any key of flight changed (the list sorted first). */
static int flight_touched(struct changes *c, int64_t flight)
{
	if (!c->flights_sorted) {
		qsort(c->flights_v, c->nflights, sizeof(int64_t), cmp_i64);
		c->flights_sorted = 1;
	}
	return c->nflights && bsearch(&flight, c->flights_v, c->nflights,
				      sizeof(int64_t), cmp_i64) != NULL;
}

/* Adds a key; returns 1 if it is new. */
static int changes_key(struct changes *c, const char *key)
{
	if (strmap_get(&c->keys, key) >= 0)
		return 0;
	strmap_put(&c->keys, key, 1);
	return 1;
}

static int changed(const struct changes *c, const char *key)
{
	return strmap_get(&c->keys, key) >= 0;
}

/* Whether row i of table t is one of the keys that changed. */
static int row_changed(struct changes *c, int t, const void *row)
{
	char k[KEY_MAX];
	int64_t flight;
	const char *job;

	switch (t) {
	case T_HOSTS:
		snprintf(k, sizeof(k), "h%s",
			 ((const struct sched_host_row *)row)->name);
		return changed(c, k);
	case T_ALLOCS:
		snprintf(k, sizeof(k), "a%s",
			 ((const struct sched_alloc_row *)row)->host);
		return changed(c, k);
	case T_RES:
		snprintf(k, sizeof(k), "r%lld",
			 (long long)((const struct sched_res_row *)row)->id);
		return changed(c, k);
	case T_JOBS:
		flight = ((const struct sched_job_row *)row)->flight;
		job = ((const struct sched_job_row *)row)->job;
		break;
	case T_DEPS:
		flight = ((const struct sched_dep_row *)row)->flight;
		job = ((const struct sched_dep_row *)row)->job;
		if (!flight_touched(c, flight))
			return 0;
		job_key(k, flight, job);
		k[0] = 'd';
		if (changed(c, k))
			return 1;
		break;
	default:
		flight = ((const struct sched_pin_row *)row)->flight;
		job = ((const struct sched_pin_row *)row)->job;
		break;
	}
	if (!flight_touched(c, flight))
		return 0;
	flight_key(k, flight);
	if (changed(c, k))
		return 1;
	job_key(k, flight, job);
	return changed(c, k);
}

/* Fresh rows may name keys the log did not (a dependent of a changed job,
 * the allocations of a changed reservation): those rows go too. */
static void changes_from_rows(struct changes *c, int t, const void *rows,
			      size_t n)
{
	char k[KEY_MAX];

	for (size_t i = 0; i < n; i++) {
		const char *row = (const char *)rows + i * row_size[t];

		if (t == T_DEPS) {
			const struct sched_dep_row *d = (const void *)row;

			job_key(k, d->flight, d->job);
			k[0] = 'd';
			changes_flight(c, d->flight);
		} else if (t == T_ALLOCS) {
			snprintf(k, sizeof(k), "a%s",
				 ((const struct sched_alloc_row *)(const void *)row)->host);
		} else {
			continue;
		}
		changes_key(c, k);
	}
}

/*
 * The rows of table t whose keys changed, by index, into *drops (owned by
 * the caller). The tables of jobs, dependencies and pins are in flight
 * order, flight their first field: a walk along the sorted flights that
 * changed passes over the rows of the others with one comparison each.
 */
static size_t table_drops(struct sched_state *st, int t, struct changes *c,
			  size_t **drops)
{
	size_t *n, sz = row_size[t], nd = 0, alloc = 0, fi = 0;
	const char *old = *table_rows(st, t, &n);
	int by_flight = t == T_JOBS || t == T_DEPS || t == T_PINS;

	*drops = NULL;
	if (by_flight) {
		flight_touched(c, 0);   /* sorts the flights */
		if (!c->nflights)
			return 0;
	}
	for (size_t i = 0; i < *n; i++) {
		const void *row = old + i * sz;

		if (by_flight) {
			int64_t flight = *(const int64_t *)row;

			while (fi < c->nflights && c->flights_v[fi] < flight)
				fi++;
			if (fi == c->nflights)
				break;   /* no changed flight is further on */
			if (c->flights_v[fi] != flight)
				continue;
		}
		if (row_changed(c, t, row)) {
			XGROW(*drops, alloc, nd + 1);
			(*drops)[nd++] = i;
		}
	}
	return nd;
}

/*
 * Drops the rows of table t whose keys changed and merges in the fresh
 * rows (sorted, as the query gave them), which point into chunk c. When
 * each fresh row takes the place of a dropped one of the same key (a
 * job's status changed, say), they are written over them: no copy of
 * the table.
 */
static void table_merge(struct sched_state *st, int t, struct changes *c, void *fresh, size_t nfresh,
			struct chunk *ch)
{
	size_t *n, sz = row_size[t], i = 0, k = 0, m = 0, d = 0, *drops;
	size_t nd = table_drops(st, t, c, &drops);
	void **rows = table_rows(st, t, &n);
	char *old = *rows, *nu;
	struct chunk **oc = st->chunks[t], **nc;
	int same = nd == nfresh;

	for (size_t x = 0; same && x < nd; x++)
		same = !row_cmp(t, old + drops[x] * sz,
				(const char *)fresh + x * sz);
	if (same) {
		for (size_t x = 0; x < nd; x++) {
			chunk_unref(oc[drops[x]]);
			memcpy(old + drops[x] * sz, (const char *)fresh + x * sz,
			       sz);
			oc[drops[x]] = ch;
			ch->refs++;
		}
		free(drops);
		return;
	}
	if (t == T_JOBS || t == T_DEPS)
		job_keys_move(st);
	nu = xcalloc(*n + nfresh + 1, sz);
	nc = xcalloc(*n + nfresh + 1, sizeof(*nc));
	while (i < *n || k < nfresh) {
		const char *o = i < *n ? old + i * sz : NULL;
		const char *f = k < nfresh ? (const char *)fresh + k * sz : NULL;

		if (o && d < nd && drops[d] == i) {
			chunk_unref(oc[i++]);
			d++;
			continue;
		}
		if (o && (!f || row_cmp(t, o, f) <= 0)) {
			memcpy(nu + m * sz, o, sz);
			nc[m++] = oc[i++];
		} else {
			memcpy(nu + m * sz, f, sz);
			nc[m++] = ch;
			ch->refs++;
			k++;
		}
	}
	free(drops);
	free(old);
	free(oc);
	*rows = nu;
	*n = m;
	st->chunks[t] = nc;
}

/* ---- reading ---- */

static const char changes_sql[] =
	"SELECT kind, num, name FROM sched_changes WHERE xid >= $1::xid8";

/* the snapshot's time and xmin; and with the settings of a read of what
 * changed (the columns after those two are only for their effect) */
#define SNAP_COLS EPOCH("now()") ", pg_snapshot_xmin(pg_current_snapshot())::text"
static const char snap_sql[] = "SELECT " SNAP_COLS;
static const char snap_settings_sql[] =
	"SELECT " SNAP_COLS ", "
	"set_config('plan_cache_mode', 'force_generic_plan', true), "
	"set_config('jit', 'off', true)";

/* The keys the log's entries name (changes_sql's rows), into c. */
static void parse_changes(PGresult *res, struct changes *c)
{
	char k[KEY_MAX];

	for (int r = 0; r < PQntuples(res) && !c->all; r++) {
		const char *kind = PQgetvalue(res, r, 0);
		const char *name = db_str(res, r, 2);
		int64_t num = db_long(res, r, 1);

		if (!strcmp(kind, "job") && name) {
			job_key(k, num, name);
			if (changes_key(c, k)) {
				changes_flight(c, num);
				db_array_add(&c->jflights, PQgetvalue(res, r, 1));
				db_array_add(&c->jjobs, name);
			}
		} else if (!strcmp(kind, "flight")) {
			flight_key(k, num);
			if (changes_key(c, k)) {
				changes_flight(c, num);
				db_array_add(&c->flights, PQgetvalue(res, r, 1));
			}
		} else if (!strcmp(kind, "host") && name) {
			snprintf(k, sizeof(k), "h%s", name);
			if (changes_key(c, k))
				db_array_add(&c->hosts, name);
		} else if (!strcmp(kind, "alloc") && name) {
			snprintf(k, sizeof(k), "a%s", name);
			if (changes_key(c, k))
				db_array_add(&c->ahosts, name);
		} else if (!strcmp(kind, "res")) {
			snprintf(k, sizeof(k), "r%lld", (long long)num);
			if (changes_key(c, k))
				db_array_add(&c->res, PQgetvalue(res, r, 1));
		} else {
			c->all = 1;   /* 'all', or an entry this code does not know */
		}
	}
	db_array_end(&c->flights);
	db_array_end(&c->jflights);
	db_array_end(&c->jjobs);
	db_array_end(&c->hosts);
	db_array_end(&c->ahosts);
	db_array_end(&c->res);
}

/* One statement of a read, and its result after read_batch. */
struct read_q {
	const char *sql;
	int n;
	const char *const *params;
	int prepare;         /* its best plan does not depend on the values */
	PGresult *res;
};

/*
 * The queries of the rows of every changed key, at q (NT entries; a
 * table no key of its kind changed gets none: sql NULL). c's buffers
 * must outlive them.
 */
static void some_queries(struct changes *c, struct read_q *q,
			 const char **params)
{
	static const int nparams[NT] = { 1, 3, 3, 3, 2, 1 };
	const char *sql[NT] = { hosts_some_sql, jobs_some_sql, deps_some_sql,
				pins_some_sql, allocs_some_sql, res_some_sql };
	int jobs = strcmp(c->flights.buf, "{}") || strcmp(c->jjobs.buf, "{}");
	int some[NT];

	/* params: jobs (3), hosts (1), allocations (2), reservations (1) */
	params[0] = c->flights.buf;
	params[1] = c->jflights.buf;
	params[2] = c->jjobs.buf;
	params[3] = c->hosts.buf;
	params[4] = c->ahosts.buf;
	params[5] = params[6] = c->res.buf;
	some[T_HOSTS] = strcmp(c->hosts.buf, "{}") != 0;
	some[T_JOBS] = some[T_DEPS] = some[T_PINS] = jobs;
	some[T_ALLOCS] = strcmp(c->ahosts.buf, "{}") || strcmp(c->res.buf, "{}");
	some[T_RES] = strcmp(c->res.buf, "{}") != 0;
	if (some[T_RES])
		sql[T_ALLOCS] = allocs_some_res_sql;
	for (int t = 0; t < NT; t++) {
		q[t].sql = some[t] ? sql[t] : NULL;
		q[t].n = nparams[t];
		/* the rare read of a reservation's allocations scans them */
		q[t].prepare = sql[t] != allocs_some_res_sql;
		q[t].params = t == T_HOSTS ? &params[3]
			    : t == T_ALLOCS ? &params[4]
			    : t == T_RES ? &params[6] : &params[0];
	}
}

/* st's copy of text: the same pointer for the same text (until the next
 * full read). */
static const char *text_shared(struct sched_state *st, const char *text)
{
	long ix = strmap_get(&st->texts_ix, text);

	if (ix < 0) {
		vec_push(&st->texts, text);
		ix = (long)st->texts.n - 1;
		strmap_put(&st->texts_ix, text, ix);
	}
	return st->texts.v[ix];
}

/*
 * Fresh job rows: their arch and flags as st's shared copies (a pass
 * compares those of many rows, mostly the same texts, and finds them
 * the same by their pointers instead of reading texts scattered in the
 * results), and the read that brought them.
 */
static void jobs_fresh(struct sched_state *st, int t, void *rows, size_t n,
		       uint64_t read_no)
{
	struct sched_job_row *v = rows;

	if (t != T_JOBS)
		return;
	for (size_t i = 0; i < n; i++) {
		v[i].arch = text_shared(st, v[i].arch);
		v[i].flags = text_shared(st, v[i].flags);
		v[i].read_no = read_no;
	}
}

/* The rows of every changed key (some_queries' results), merged into st;
 * the results go to st (q's are NULL after). */
static void merge_some(struct sched_state *st, struct changes *c,
		       struct read_q *q, uint64_t read_no)
{
	for (int t = 0; t < NT; t++) {
		PGresult *res = q[t].res;
		struct chunk *ch;
		void *fresh;
		size_t n;

		if (!res)
			continue;
		q[t].res = NULL;
		n = (size_t)PQntuples(res);
		fresh = rows_of(t, res);
		jobs_fresh(st, t, fresh, n, read_no);
		ch = chunk_new(res);
		changes_from_rows(c, t, fresh, n);
		table_merge(st, t, c, fresh, n, ch);
		chunk_drop_unused(ch);
		free(fresh);
	}
}

/* The queries of everything, at q (NT entries). */
static void all_queries(struct read_q *q)
{
	static const char *const sql[NT] = { hosts_sql, jobs_sql, deps_sql,
					     pins_sql, allocs_sql, res_sql };

	for (int t = 0; t < NT; t++) {
		q[t].sql = sql[t];
		q[t].n = 0;
		q[t].params = NULL;
		q[t].prepare = 1;   /* no parameters: one plan */
	}
}

/* Everything (all_queries' results), into an empty state; the results
 * go to st (q's are NULL after). */
static void load_all(struct sched_state *st, struct read_q *q,
		     uint64_t read_no)
{
	for (int t = 0; t < NT; t++) {
		PGresult *res = q[t].res;
		size_t *n, nr;
		void **rows;
		struct chunk *ch;

		q[t].res = NULL;
		nr = (size_t)PQntuples(res);
		rows = table_rows(st, t, &n);
		*rows = rows_of(t, res);
		*n = nr;
		jobs_fresh(st, t, *rows, nr, read_no);
		ch = chunk_new(res);
		ch->refs = nr;
		st->chunks[t] = xcalloc(nr + 1, sizeof(struct chunk *));
		for (size_t i = 0; i < nr; i++)
			st->chunks[t][i] = ch;
		chunk_drop_unused(ch);
	}
}

static void state_clear(struct sched_state *st)
{
	for (int t = 0; t < NT; t++) {
		size_t *n;
		void **rows = table_rows(st, t, &n);

		for (size_t i = 0; i < *n; i++)
			chunk_unref(st->chunks[t][i]);
		free(st->chunks[t]);
		st->chunks[t] = NULL;
		free(*rows);
		*rows = NULL;
		*n = 0;
	}
	vec_clear(&st->own);
	strmap_clear(&st->texts_ix);
	vec_clear(&st->texts);
	st->valid = 0;
	job_keys_move(st);
}

static const char *own_str(struct sched_state *st, const char *s)
{
	if (!s)
		return NULL;
	vec_push(&st->own, s);
	return st->own.v[st->own.n - 1];
}

void db_sched_state_note_plan(struct sched_state *st,
			      const struct sched_planned *rows, size_t n)
{
	struct sched_job_row *v = st->snap.jobs;

	for (size_t i = 0; i < n; i++) {
		size_t lo = 0, hi = st->snap.njobs;

		if (!rows[i].flight)
			continue;   /* reservations' are logged, and read */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = v[mid].flight != rows[i].flight
				? (v[mid].flight < rows[i].flight ? -1 : 1)
				: strcmp(v[mid].job, rows[i].job);

			if (!c) {
				v[mid].planned_start = rows[i].start;
				v[mid].planned_end = rows[i].end;
				v[mid].planned_hosts = own_str(st, rows[i].hosts);
				v[mid].wait_reason = own_str(st, rows[i].reason);
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
}

/* The statements of a batch, as many as the most a read sends at once:
 * BEGIN, two settings, the snapshot, the runs, the expiry and its
 * test's, the log, everything twice, COMMIT. */
#define READ_MAX (8 + 2 * NT + 1)

/* q's statements in one round trip (db_batch); their results in q. */
static int read_batch(struct db *db, struct read_q *q, size_t n,
		      struct err *err)
{
	struct db_batch b;
	int rc;

	db_batch_init(&b, db);
	for (size_t i = 0; i < n; i++) {
		if (q[i].prepare)
			db_batch_add(&b, q[i].sql, q[i].n, q[i].params);
		else
			db_batch_add_plain(&b, q[i].sql, q[i].n, q[i].params);
	}
	rc = db_batch_run(&b, err);
	for (size_t i = 0; i < n; i++) {
		q[i].res = b.res[i];
		b.res[i] = NULL;
	}
	db_batch_release(&b);
	return rc;
}

static void batch_add(struct read_q *q, size_t *n, const char *sql,
		      int np, const char *const *params)
{
	q[*n].sql = sql;
	q[*n].n = np;
	q[*n].params = params;
	q[*n].prepare = 0;
	q[*n].res = NULL;
	(*n)++;
}

static void batch_clear(struct read_q *q, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		PQclear(q[i].res);
		q[i].res = NULL;
	}
}

/*
 * Two round trips at most (libpq's pipeline): BEGIN, the snapshot, the
 * log since the kept copy's last read and every full read wanted; then,
 * for the kept copy, the rows of what the log names (or everything, if
 * it says so), and COMMIT.
 */
int db_sched_state_read(struct db *db, struct sched_state *inc,
			struct sched_state *full, int *all,
			struct sched_read_more *more, struct err *err)
{
	struct read_q q[READ_MAX], some[NT];
	const char *xmin_param[1], *some_params[7], *since_param[1],
		   *runs_params[4];
	size_t n = 0, at_changes = 0, at_inc = 0, at_full = 0, at_runs = 0,
	       at_due = 0, at_held = 0, at_snap;
	int64_t now = 0;
	char xmin[32] = "", since[32];
	struct changes c;
	int rc, second = inc && inc->valid;
	uint64_t read_no = ++reads_last;

	*all = 0;
	if (more)
		memset(more->runs, 0, sizeof(*more->runs));
	changes_init(&c);
	batch_add(q, &n, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0,
		  NULL);
	/* the first query takes the snapshot; its xmin is where the next
	 * read of the log starts. A read of what changed also sets, for
	 * the rest of the transaction, the reads of some keys to their
	 * generic plans (some_queries), and no JIT: those plans guess
	 * thousands of keys, and compiling for them would cost more than
	 * the read. One prepared statement, not three parsed each time. */
	at_snap = n;
	batch_add(q, &n, second ? snap_settings_sql : snap_sql, 0, NULL);
	q[n - 1].prepare = 1;
	/* what the pass would otherwise ask in round trips of their own;
	 * prepared: the runs by the index of finished jobs whatever the
	 * time, the expiry by that of leases */
	if (more && more->runs_since) {
		snprintf(since, sizeof(since), "%lld",
			 (long long)more->runs_since);
		since_param[0] = since;
	}
	if (more && more->runs_since && !second) {
		at_runs = n;
		batch_add(q, &n, runs_sql, 1, since_param);
		q[n - 1].prepare = 1;
	}
	if (more) {
		at_due = n;
		batch_add(q, &n, db_sched_reclaim_due_sql, 0, NULL);
		q[n - 1].prepare = 1;
	}
	if (more && more->verify) {
		at_held = n;
		batch_add(q, &n, db_sched_reclaim_held_sql, 0, NULL);
	}
	if (second) {
		xmin_param[0] = inc->xmin;
		at_changes = n;
		batch_add(q, &n, changes_sql, 1, xmin_param);
	} else if (inc) {
		at_inc = n;
		all_queries(&q[n]);
		n += NT;
	}
	if (full) {
		at_full = n;
		all_queries(&q[n]);
		n += NT;
	}
	if (!second)
		batch_add(q, &n, "COMMIT", 0, NULL);
	rc = read_batch(db, q, n, err);
	if (!rc) {
		now = db_long(q[at_snap].res, 0, 0);
		snprintf(xmin, sizeof(xmin), "%s",
			 PQgetvalue(q[at_snap].res, 0, 1));
		if (inc && !second) {
			state_clear(inc);
			load_all(inc, &q[at_inc], read_no);
			*all = 1;
		}
		if (full) {
			state_clear(full);
			load_all(full, &q[at_full], read_no);
		}
		if (second)
			parse_changes(q[at_changes].res, &c);
		if (at_runs) {
			db_sched_runs_take(q[at_runs].res, more->runs);
			q[at_runs].res = NULL;
		}
		if (at_due)
			more->expired = PQgetvalue(q[at_due].res, 0, 0)[0] == 't';
		if (at_held)
			more->held = PQgetvalue(q[at_held].res, 0, 0)[0] == 't';
	}
	batch_clear(q, n);
	if (!rc && second) {
		n = 0;
		if (c.all) {   /* the caller wanted changes: read all */
			all_queries(some);
			for (int t = 0; t < NT; t++) {
				batch_add(q, &n, some[t].sql, 0, NULL);
				q[n - 1].prepare = 1;
			}
			if (more && more->runs_since) {
				at_runs = n;
				batch_add(q, &n, runs_sql, 1, since_param);
				q[n - 1].prepare = 1;
			}
		} else {
			some_queries(&c, some, some_params);
			for (int t = 0; t < NT; t++)
				if (some[t].sql) {
					batch_add(q, &n, some[t].sql, some[t].n,
						  some[t].params);
					q[n - 1].prepare = some[t].prepare;
				}
			if (more && more->runs_since && some[T_JOBS].sql) {
				runs_params[0] = some_params[0];
				runs_params[1] = some_params[1];
				runs_params[2] = some_params[2];
				runs_params[3] = since;
				at_runs = n;
				batch_add(q, &n, runs_some_sql, 4, runs_params);
				q[n - 1].prepare = 1;
			}
		}
		batch_add(q, &n, "COMMIT", 0, NULL);
		rc = read_batch(db, q, n, err);
		if (!rc && at_runs) {
			db_sched_runs_take(q[at_runs].res, more->runs);
			q[at_runs].res = NULL;
		}
		if (!rc && c.all) {
			*all = 1;
			state_clear(inc);
			load_all(inc, q, read_no);
		} else if (!rc) {
			size_t k = 0;

			for (int t = 0; t < NT; t++) {
				some[t].res = NULL;
				if (some[t].sql) {
					some[t].res = q[k].res;
					q[k++].res = NULL;
				}
			}
			merge_some(inc, &c, some, read_no);
		}
		batch_clear(q, n);
	}
	changes_release(&c);
	if (rc < 0) {
		if (more)
			db_sched_runs_release(more->runs);
		db_rollback(db);
		if (inc)
			inc->valid = 0;
		if (full)
			full->valid = 0;
		return err->code;
	}
	if (inc) {
		inc->valid = 1;
		inc->snap.read_no = read_no;
		inc->snap.now = now;
		inc->read_at = now;
		memcpy(inc->xmin, xmin, sizeof(xmin));
	}
	if (full) {
		full->valid = 1;
		full->snap.read_no = read_no;
		full->snap.now = now;
		full->read_at = now;
		memcpy(full->xmin, xmin, sizeof(xmin));
	}
	return 0;
}

int db_sched_state_trim(struct db *db, const struct sched_state *st,
			  long keep_s, struct err *err)
{
	char keep[32];
	const char *params[] = { st->xmin, keep };

	if (!st->valid)
		return 0;
	snprintf(keep, sizeof(keep), "%ld", keep_s);
	return db_exec(db, err,
		       "DELETE FROM sched_changes WHERE xid < $1::xid8 "
		       "AND at < now() - make_interval(secs => $2::int)",
		       2, params) < 0 ? err->code : 0;
}

int db_sched_state_read_floor(struct db *db, struct err *err)
{
	/* prepared, as the pass's full read runs them */
	PGresult *h = db_query_prep(db, err, hosts_sql, 0, NULL), *j = NULL;

	if (h)
		j = db_query_prep(db, err, jobs_sql, 0, NULL);
	PQclear(h);
	PQclear(j);
	return j ? 0 : err->code;
}

/* ---- comparing two copies ---- */

static int str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static int row_eq(int t, const void *x, const void *y)
{
	switch (t) {
	case T_HOSTS: {
		const struct sched_host_row *a = x, *b = y;

		return str_eq(a->name, b->name) && str_eq(a->arch, b->arch) &&
		       str_eq(a->state, b->state) && str_eq(a->flags, b->flags) &&
		       str_eq(a->share_type, b->share_type) &&
		       str_eq(a->state_reason, b->state_reason) &&
		       a->share_max_tasks == b->share_max_tasks &&
		       a->share_max_wear == b->share_max_wear &&
		       a->share_wear == b->share_wear &&
		       a->unusable_since == b->unusable_since &&
		       str_eq(a->site, b->site);
	}
	case T_JOBS: {
		const struct sched_job_row *a = x, *b = y;

		return a->flight == b->flight && str_eq(a->job, b->job) &&
		       str_eq(a->status, b->status) && str_eq(a->arch, b->arch) &&
		       str_eq(a->recipe, b->recipe) &&
		       str_eq(a->intent, b->intent) &&
		       str_eq(a->flags, b->flags) && a->nhosts == b->nhosts &&
		       a->branch_prio == b->branch_prio &&
		       a->is_build == b->is_build &&
		       a->queued_at == b->queued_at &&
		       a->planned_start == b->planned_start &&
		       a->planned_end == b->planned_end &&
		       str_eq(a->planned_hosts, b->planned_hosts) &&
		       str_eq(a->wait_reason, b->wait_reason);
	}
	case T_DEPS: {
		const struct sched_dep_row *a = x, *b = y;

		return !row_cmp(t, a, b) && str_eq(a->dep_status, b->dep_status);
	}
	case T_PINS: {
		const struct sched_pin_row *a = x, *b = y;

		return !row_cmp(t, a, b) && str_eq(a->val, b->val);
	}
	case T_ALLOCS: {
		const struct sched_alloc_row *a = x, *b = y;

		return !row_cmp(t, a, b) && a->flight == b->flight &&
		       str_eq(a->job, b->job) &&
		       a->reservation == b->reservation &&
		       a->since == b->since && a->planned_end == b->planned_end &&
		       a->res_end == b->res_end;
	}
	default: {
		const struct sched_res_row *a = x, *b = y;

		return a->id == b->id && str_eq(a->kind, b->kind) &&
		       str_eq(a->owner, b->owner) &&
		       str_eq(a->status, b->status) && str_eq(a->arch, b->arch) &&
		       str_eq(a->flags, b->flags) && str_eq(a->host, b->host) &&
		       a->nhosts == b->nhosts && a->duration == b->duration &&
		       a->start == b->start && a->end == b->end &&
		       a->created == b->created &&
		       a->planned_start == b->planned_start &&
		       str_eq(a->planned_hosts, b->planned_hosts) &&
		       str_eq(a->wait_reason, b->wait_reason);
	}
	}
}

static void row_describe(int t, const void *row, char *buf, size_t len)
{
	switch (t) {
	case T_HOSTS:
		snprintf(buf, len, "host %s",
			 ((const struct sched_host_row *)row)->name);
		break;
	case T_JOBS: {
		const struct sched_job_row *j = row;

		snprintf(buf, len, "job %lld.%s (%s)", (long long)j->flight,
			 j->job, j->status);
		break;
	}
	case T_DEPS: {
		const struct sched_dep_row *d = row;

		snprintf(buf, len, "dependency %lld.%s on %lld.%s",
			 (long long)d->flight, d->job, (long long)d->dep_flight,
			 d->dep_job);
		break;
	}
	case T_PINS: {
		const struct sched_pin_row *p = row;

		snprintf(buf, len, "runvar %lld.%s %s", (long long)p->flight,
			 p->job, p->name);
		break;
	}
	case T_ALLOCS: {
		const struct sched_alloc_row *a = row;

		snprintf(buf, len, "allocation of %s/%d", a->host, a->shareix);
		break;
	}
	default:
		snprintf(buf, len, "reservation %lld",
			 (long long)((const struct sched_res_row *)row)->id);
	}
}

long db_sched_state_diff(const struct sched_state *a,
			 const struct sched_state *b, char *what, size_t len)
{
	long ndiff = 0;

	if (len)
		what[0] = '\0';
	for (int t = 0; t < NT; t++) {
		size_t *na, *nb, i = 0, k = 0, sz = row_size[t];
		char *ra = *table_rows((struct sched_state *)a, t, &na);
		char *rb = *table_rows((struct sched_state *)b, t, &nb);

		/* a merge walk: a row only one side has is one difference */
		while (i < *na || k < *nb) {
			const char *x = i < *na ? ra + i * sz : NULL;
			const char *y = k < *nb ? rb + k * sz : NULL;
			int c = !x ? 1 : !y ? -1 : row_cmp(t, x, y);
			char desc[300];

			if (!c && row_eq(t, x, y)) {
				i++;
				k++;
				continue;
			}
			ndiff++;
			if (ndiff == 1 && len) {
				row_describe(t, c <= 0 ? x : y, desc,
					     sizeof(desc));
				snprintf(what, len, "%s: %s", desc,
					 c < 0 ? "kept but gone"
					 : c > 0 ? "missing" : "differs");
			}
			if (c <= 0)
				i++;
			if (c >= 0)
				k++;
		}
	}
	return ndiff;
}
