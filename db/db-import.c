/*
 * db-import.c: the SQL of `hangar import osstest` (see db-import.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "db-import.h"
#include "log.h"
#include "strmap.h"
#include "xalloc.h"
#include "banned.h"

static double ms_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

void import_plan_release(struct import_plan *p)
{
	vec_clear(&p->flights);
	vec_clear(&p->unfinished);
	memset(p, 0, sizeof(*p));
}

/* The source's tables and columns the import reads. */
static const char *const source_tables[] = {
	"flights", "jobs", "steps", "runvars", "resources", "hostflags",
	"resource_properties", NULL,
};

/* Where the source's rows land in hangar's database, batch by batch. */
static const char *const temp_tables[] = {
	"os_list (flight bigint, blessing text, branch text)",
	"os_fp (flight bigint, fp text)",
	"os_flights (flight bigint, started bigint, blessing text, branch text, "
	"fin bigint, jn bigint, js bigint, sn bigint, ss bigint, vn bigint, vs bigint)",
	"os_jobs (flight bigint, job text, recipe text, status text, s bigint, "
	"f bigint)",
	"os_passes (branch text, job text, step text, first bigint, last bigint)",
	"os_runvars (flight bigint, job text, name text, val text, synth boolean)",
	"os_xbuilt (flight bigint, job text, name text, val text)",
	"os_hosts (name text)",
	"os_hostflags (host text, flag text)",
	"os_hostprops (host text, name text, val text)",
	NULL,
};

int db_import_begin(struct db *src, struct db *db, struct err *err)
{
	PGresult *res;

	/*
	 * Never a write there; and short transactions only: OSSTest's
	 * writers lock whole tables (reference §2.3), so a snapshot held
	 * for the whole import would stall its lab. The plan and each batch
	 * are one snapshot each.
	 */
	if (db_exec(src, err, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
		    0, NULL) < 0)
		return err->code;
	/*
	 * Steps come with their times as text: one unambiguous form. Every
	 * query here takes a batch of flights by their keys; a source never
	 * analyzed (restored or just filled, and read only to us) would have
	 * them read whole, a batch after another.
	 */
	if (db_exec(src, err, "SET DateStyle = 'ISO, YMD'", 0, NULL) < 0 ||
	    db_exec(src, err, "SET TimeZone = 'UTC'", 0, NULL) < 0 ||
	    db_exec(src, err, "SET enable_seqscan = off", 0, NULL) < 0)
		return err->code;
	/*
	 * No JIT compilation, on either side (these sessions only): a batch's
	 * statements are costed far above what they do (each LATERAL lookup
	 * by key is guessed at hundreds of rows, more as the tables grow), so
	 * the revisions' statement was compiled for every batch past a few,
	 * 37 ms of its 72 (bench/b0600-import.sh), and once past
	 * jit_optimize_above_cost compiled and optimized for 600 ms, a batch
	 * after another.
	 */
	if (db_exec(src, err, "SET jit = off", 0, NULL) < 0 ||
	    db_exec(db, err, "SET jit = off", 0, NULL) < 0)
		return err->code;
	for (size_t i = 0; source_tables[i]; i++) {
		res = db_query(src, err, "SELECT to_regclass($1) IS NOT NULL", 1,
			       (const char *[]){ source_tables[i] });
		if (!res)
			return err->code;
		if (strcmp(PQgetvalue(res, 0, 0), "t")) {
			PQclear(res);
			return err_set(err, ERR_USAGE, "not an OSSTest database: it "
				       "has no table '%s'", source_tables[i]);
		}
		PQclear(res);
	}
	for (size_t i = 0; temp_tables[i]; i++) {
		char *sql = xasprintf("CREATE TEMP TABLE IF NOT EXISTS %s", temp_tables[i]);
		int rc = db_exec(db, err, sql, 0, NULL);

		free(sql);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int source_begin(struct db *src, struct err *err)
{
	return db_exec(src, err, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
		       0, NULL);
}

static int source_end(struct db *src, int rc, struct err *err)
{
	if (rc < 0) {
		db_rollback(src);
		return rc;
	}
	return db_commit(src, err);
}

/* COPY the rows of a query on src into a temporary table of db. */
static int copy_rows(struct db *src, struct db *db, const char *select,
		     const char *table, long *rows, struct err *err)
{
	char *out = xasprintf("COPY (%s) TO STDOUT", select);
	char *in = xasprintf("COPY %s FROM STDIN", table);
	long n = 0;
	double t0 = ms_now();
	int rc = db_copy_between(src, out, db, in, &n, err);

	log_debug("import: %ld rows into %s in %.0f ms", n, table, ms_now() - t0);
	free(out);
	free(in);
	if (rows)
		*rows = n;
	return rc;
}

/* OSSTest's arch flag (arch-amd64) as hangar's arch, the others kept. */
#define ARCH_OF_FLAG(f) \
	"CASE substr(" f ", 6) WHEN 'amd64' THEN 'x86_64' WHEN 'arm64' THEN 'arm64' " \
	"WHEN 'riscv64' THEN 'riscv64' ELSE substr(" f ", 6) END"

int db_import_hosts(struct db *src, struct db *db, long *n, struct err *err)
{
	PGresult *res;

	int rc = source_begin(src, err);

	if (rc == 0)
		rc = db_exec(db, err, "TRUNCATE os_hosts, os_hostflags, os_hostprops",
			     0, NULL);
	if (rc == 0)
		rc = copy_rows(src, db, "SELECT DISTINCT resname FROM resources "
			       "WHERE restype = 'host'", "os_hosts", n, err);
	if (rc == 0)
		rc = copy_rows(src, db, "SELECT hostname, hostflag FROM hostflags",
			       "os_hostflags", NULL, err);
	if (rc == 0)
		rc = copy_rows(src, db, "SELECT resname, name, val FROM "
			       "resource_properties WHERE restype = 'host'",
			       "os_hostprops", NULL, err);
	if ((rc = source_end(src, rc, err)) < 0)
		return rc;
	/*
	 * A host of the lab configuration (it has an address) keeps its
	 * configured arch, flags and properties, and gains OSSTest's other
	 * properties; any other is retired, with OSSTest's arch (amd64 before
	 * i386 on hosts that have both), flags and properties.
	 */
	if (db_begin(db, err) < 0)
		return err->code;
	res = db_query(db, err,
		       "WITH arch AS (SELECT DISTINCT ON (host) host, " ARCH_OF_FLAG("flag")
		       " AS arch FROM os_hostflags WHERE flag LIKE 'arch-%' "
		       "ORDER BY host, flag NOT IN ('arch-amd64', 'arch-arm64', "
		       "'arch-riscv64'), flag), "
		       "props AS (SELECT host, jsonb_object_agg(name, val) p "
		       "FROM os_hostprops GROUP BY host) "
		       "INSERT INTO hosts AS h (name, arch, address, workdir, state, "
		       "state_reason, properties) "
		       "SELECT o.name, coalesce(a.arch, 'unknown'), '', '', 'retired', "
		       "'imported from OSSTest: not in the lab configuration', "
		       "coalesce(p.p, '{}') FROM os_hosts o "
		       "LEFT JOIN arch a ON a.host = o.name LEFT JOIN props p ON p.host = o.name "
		       "ON CONFLICT (name) DO UPDATE SET properties = CASE WHEN h.address = '' "
		       "THEN EXCLUDED.properties ELSE EXCLUDED.properties || h.properties END, "
		       "arch = CASE WHEN h.address = '' THEN EXCLUDED.arch ELSE h.arch END",
		       0, NULL);
	if (res) {
		PQclear(res);
		res = db_query(db, err,
			       "DELETE FROM host_flags f USING hosts h, os_hosts o "
			       "WHERE f.host = h.name AND h.name = o.name AND h.address = ''",
			       0, NULL);
	}
	if (res) {
		PQclear(res);
		res = db_query(db, err,
			       "INSERT INTO host_flags (host, flag) SELECT DISTINCT f.host, "
			       "f.flag FROM os_hostflags f JOIN hosts h ON h.name = f.host "
			       "AND h.address = '' JOIN os_hosts o ON o.name = f.host "
			       "ON CONFLICT DO NOTHING",
			       0, NULL);
	}
	if (!res) {
		db_rollback(db);
		return err->code;
	}
	PQclear(res);
	return db_commit(db, err);
}

/* "{1,2,3}" of a vector of numbers. */
static char *int_array(const struct vec *v, size_t from, size_t n)
{
	struct buf b = BUF_INIT;

	buf_addch(&b, '{');
	for (size_t i = from; i < from + n && i < v->n; i++)
		buf_addf(&b, "%s%s", i > from ? "," : "", v->v[i]);
	buf_addch(&b, '}');
	return buf_detach(&b);
}

/*
 * A flight's fingerprint on the source: its blessing, and a count and an
 * order-free sum of hashes of its jobs (status), steps (status, testid,
 * end) and runvars (value). An imported flight whose fingerprint changed
 * is read again. Summed hashes need no sort: the fingerprints of a batch
 * cost a tenth of reading it.
 */
#define FINGERPRINT \
	"md5(coalesce(f.blessing, '') || '|' || (SELECT count(*) || ':' || coalesce(sum(hashtext(" \
	"j.job || '=' || j.status)), 0) FROM jobs j WHERE j.flight = f.flight) " \
	"|| '|' || (SELECT count(*) || ':' || coalesce(sum(hashtext(s.job || '/' || " \
	"s.stepno || '=' || s.status || '/' || coalesce(s.testid, '') || '@' || " \
	"coalesce(s.finished, -1))), 0) FROM steps s WHERE s.flight = f.flight) " \
	"|| '|' || (SELECT count(*) || ':' || coalesce(sum(hashtext(v.job || '/' || " \
	"v.name || '=' || v.val)), 0) FROM runvars v WHERE v.flight = f.flight))"

int db_import_plan(struct db *src, struct db *db, const struct import_select *sel,
		   struct import_plan *plan, struct err *err)
{
	struct buf q = BUF_INIT;
	struct vec recheck = VEC_INIT;
	char since[24], recheck_n[24];
	PGresult *res;
	int rc;

	memset(plan, 0, sizeof(*plan));
	snprintf(since, sizeof(since), "%ld", sel->since);
	snprintf(recheck_n, sizeof(recheck_n), "%ld", sel->recheck);
	buf_addf(&q, "SELECT flight, blessing, branch FROM flights WHERE flight >= %ld",
		 sel->since);
	if (sel->branches && sel->branches->n) {
		buf_addstr(&q, " AND branch IN (");
		for (size_t i = 0; i < sel->branches->n; i++) {
			char *lit = PQescapeLiteral(src->conn, sel->branches->v[i],
						    strlen(sel->branches->v[i]));

			buf_addf(&q, "%s%s", i ? ", " : "", lit ? lit : "''");
			PQfreemem(lit);
		}
		buf_addch(&q, ')');
	}
	if ((rc = source_begin(src, err)) < 0)
		goto out;
	if ((rc = db_exec(db, err, "TRUNCATE os_list, os_fp", 0, NULL)) < 0 ||
	    (rc = copy_rows(src, db, q.buf, "os_list", NULL, err)) < 0)
		goto out;
	/* every flight number there, filtered or not, even unfinished */
	res = db_query_one(src, err, "the source's flights",
			   "SELECT coalesce(max(flight), 0) FROM flights", 0, NULL);
	if (!res) {
		rc = err->code;
		goto out;
	}
	plan->highest = db_long(res, 0, 0);
	PQclear(res);
	/* numbers hangar gave its own flights (or another source's) */
	res = db_query(db, err,
		       "SELECT string_agg(l.flight::text, ', ' ORDER BY l.flight), count(*) "
		       "FROM os_list l JOIN flights f ON f.id = l.flight "
		       "WHERE f.imported_from IS DISTINCT FROM $1 "
		       "AND coalesce(l.blessing, '') NOT IN ('constructing', 'running')",
		       1, (const char *[]){ sel->source });
	if (!res) {
		rc = err->code;
		goto out;
	}
	if (db_long(res, 0, 1) > 0) {
		rc = err_set(err, ERR_EXISTS,
			     "%ld flight number(s) of the source are taken in hangar "
			     "by flights not imported from %s: %.200s", db_long(res, 0, 1),
			     sel->source, PQgetvalue(res, 0, 0));
		PQclear(res);
		goto out;
	}
	PQclear(res);
	res = db_query(db, err,
		       "SELECT flight FROM os_list WHERE blessing IN ('constructing', "
		       "'running') ORDER BY flight",
		       0, NULL);
	if (!res) {
		rc = err->code;
		goto out;
	}
	for (int i = 0; i < PQntuples(res); i++)
		vec_push(&plan->unfinished, PQgetvalue(res, i, 0));
	PQclear(res);
	/* the newest imported flights again: did any change since? */
	res = db_query(db, err,
		       "SELECT id FROM (SELECT f.id FROM flights f JOIN os_list l "
		       "ON l.flight = f.id "
		       "AND coalesce(l.blessing, '') NOT IN ('constructing', 'running') "
		       "WHERE f.imported_from = $1 ORDER BY f.id DESC LIMIT $2::bigint) x "
		       "ORDER BY id",
		       2, (const char *[]){ sel->source, recheck_n });
	if (!res) {
		rc = err->code;
		goto out;
	}
	for (int i = 0; i < PQntuples(res); i++)
		vec_push(&recheck, PQgetvalue(res, i, 0));
	PQclear(res);
	for (size_t at = 0; at < recheck.n; at += 500) {
		char *ids = int_array(&recheck, at, 500);
		char *sql = xasprintf("SELECT f.flight, " FINGERPRINT " FROM flights f "
				      "WHERE f.flight = ANY('%s'::int[])", ids);

		rc = copy_rows(src, db, sql, "os_fp", NULL, err);
		free(sql);
		free(ids);
		if (rc < 0)
			goto out;
	}
	/* the new ones and the changed ones, in order */
	res = db_query(db, err,
		       "SELECT l.flight, f.id IS NULL FROM os_list l "
		       "LEFT JOIN flights f ON f.id = l.flight "
		       "LEFT JOIN os_fp p ON p.flight = l.flight "
		       "WHERE coalesce(l.blessing, '') NOT IN ('constructing', 'running') "
		       "AND (f.id IS NULL OR (p.flight IS NOT NULL "
		       "AND f.import_fingerprint IS DISTINCT FROM p.fp)) "
		       "ORDER BY l.flight",
		       0, NULL);
	if (!res) {
		rc = err->code;
		goto out;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		vec_push(&plan->flights, PQgetvalue(res, i, 0));
		if (!strcmp(PQgetvalue(res, i, 1), "t"))
			plan->fresh++;
		else
			plan->changed++;
	}
	PQclear(res);
	rc = 0;
out:
	rc = source_end(src, rc, err);
	buf_release(&q);
	vec_clear(&recheck);
	return rc;
}

/* hangar's names for OSSTest's statuses */
#define JOB_STATUS(s) \
	"CASE WHEN " s " IN ('pass', 'fail', 'broken', 'blocked', 'starved') THEN " s \
	" WHEN " s " = 'aborted' THEN 'cancelled' ELSE 'broken' END"
#define STEP_STATUS(s) \
	"CASE WHEN " s " IN ('pass', 'fail', 'broken', 'blocked', 'starved', 'skip', " \
	"'running') THEN " s " ELSE 'broken' END"

/* A step's name in hangar: its testid, else SCRIPT#STEPNO. */
#define STEP_NAME(s) \
	"CASE WHEN " s ".testid IS NULL OR " s ".testid IN ('', 'STARTING') " \
	"THEN coalesce(" s ".step, 'step') || '#' || " s ".stepno ELSE " s ".testid END"

void import_data_init(struct import_data *d)
{
	memset(d, 0, sizeof(*d));
	vec_init(&d->flights);
	buf_init(&d->flights_rows, 0);
	buf_init(&d->jobs, 0);
	buf_init(&d->steps, 0);
	buf_init(&d->runvars, 0);
	buf_init(&d->xbuilt, 0);
	buf_init(&d->passes, 0);
}

void import_data_release(struct import_data *d)
{
	vec_clear(&d->flights);
	buf_release(&d->flights_rows);
	buf_release(&d->jobs);
	buf_release(&d->steps);
	buf_release(&d->runvars);
	buf_release(&d->xbuilt);
	buf_release(&d->passes);
}

/* libpq's message without its final newline, into err. */
static int pg_fail(struct err *err, const char *what, const char *msg)
{
	size_t n = strlen(msg);

	while (n && msg[n - 1] == '\n')
		n--;
	return err_set(err, ERR_DB, "%s: %.*s", what, (int)n, msg);
}

/* COPY text into a table of db (copy_in: "COPY t (...) FROM STDIN"). */
static int copy_in(struct db *db, const char *copy_in, const struct buf *in,
		   struct err *err)
{
	double t0 = ms_now();
	PGresult *res = PQexec(db->conn, copy_in);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COPY_IN) {
		rc = pg_fail(err, "database", PQresultErrorMessage(res));
		PQclear(res);
		while ((res = PQgetResult(db->conn)))
			PQclear(res);
		return rc;
	}
	PQclear(res);
	/* in pieces: libpq would otherwise grow its buffer to the whole */
	for (size_t at = 0; at < in->len && !rc; at += 1 << 18) {
		size_t n = in->len - at < (1 << 18) ? in->len - at : 1 << 18;

		if (PQputCopyData(db->conn, in->buf + at, (int)n) != 1)
			rc = pg_fail(err, "database: COPY", PQerrorMessage(db->conn));
	}
	if (PQputCopyEnd(db->conn, rc ? "the import failed" : NULL) != 1 && !rc)
		rc = pg_fail(err, "database: COPY", PQerrorMessage(db->conn));
	while ((res = PQgetResult(db->conn))) {
		if (!rc && PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = pg_fail(err, "database", PQresultErrorMessage(res));
		PQclear(res);
	}
	log_debug("import: %zu bytes in %.0f ms: %.40s", in->len, ms_now() - t0,
		  copy_in);
	return rc;
}

/*
 * What a batch's rows tell beyond themselves, gathered on the client as
 * they come (each row is read once, where the source used to read the
 * steps of a batch four times): the parts of each flight's fingerprint
 * (FINGERPRINT, from a hash the source adds to each row: the same numbers
 * without reading the rows again), when its last step ended, when each
 * job's steps started and ended, the steps that passed (step_passes), and
 * whether any runvar names a build of another flight (os_xbuilt).
 * Fields are compared as COPY text: a string has one escaped form.
 */
enum { FP_JOBS, FP_STEPS, FP_RUNVARS };
struct fp_part {
	long n;
	long long sum;      /* of int4 hashes, as PostgreSQL's sum(int4) */
};
struct read_flight {
	struct fp_part parts[3];
	long long fin;      /* max(steps.finished), with 0; has_fin: not NULL */
	int has_fin;
	int real;           /* blessed real or real-bisect: its passes count */
	char *branch;       /* as COPY text */
	size_t branch_len;
	long id;
};
struct read_job {
	long long s, f;     /* min(nullif(started, 0)), max(nullif(finished, 0)) */
	int has_s, has_f;
};
struct read_pass {
	long first, last;
	int set;
};
struct read_state {
	struct strmap index;        /* flight number (text) to its place */
	struct read_flight *fl;
	struct strmap jobs;         /* "FLIGHT\tJOB" to its place in job */
	struct read_job *job;
	size_t job_cap;
	struct strmap passes;       /* "BRANCH\tJOB\tNAME" to its place */
	struct read_pass *pass;
	size_t pass_cap;
	struct buf key;
	char last[24];              /* the flight of the row before, and its place */
	long last_at;
	int xbuilt;                 /* a *buildjob runvar names FLIGHT.JOB */
	struct buf *out;
};

/* The fields of a COPY text line (its newline excluded): up to max. */
static size_t split_fields(const char *line, size_t len, const char **f,
			   size_t *flen, size_t max)
{
	size_t n = 0;
	const char *p = line, *end = line + len, *tab;

	while (n < max) {
		tab = memchr(p, '\t', (size_t)(end - p));
		f[n] = p;
		flen[n] = (size_t)((tab ? tab : end) - p);
		n++;
		if (!tab)
			break;
		p = tab + 1;
	}
	return n;
}

static int field_is(const char *f, size_t len, const char *s)
{
	return len == strlen(s) && !memcmp(f, s, len);
}

/* A COPY text integer; 0 for \N, with *null set. */
static long long field_ll(const char *f, size_t len, int *null)
{
	char num[32];

	*null = len == 2 && f[0] == '\\' && f[1] == 'N';
	if (*null)
		return 0;
	ASSERT(len < sizeof(num));
	memcpy(num, f, len);
	num[len] = '\0';
	return strtoll(num, NULL, 10);
}

/* The place of the flight that field f names (rows come by flight, the
 * one before is kept). */
static long read_flight_at(struct read_state *st, const char *f, size_t len)
{
	ASSERT(len < sizeof(st->last));
	if (st->last_at >= 0 && !memcmp(st->last, f, len) && !st->last[len])
		return st->last_at;
	memcpy(st->last, f, len);
	st->last[len] = '\0';
	st->last_at = strmap_get(&st->index, st->last);
	ASSERT(st->last_at >= 0);
	return st->last_at;
}

static void read_fp(struct read_state *st, long at, int part, const char *f,
		    size_t len)
{
	int null;

	st->fl[at].parts[part].n++;
	st->fl[at].parts[part].sum += field_ll(f, len, &null);
}

/* The place of key in map, the array arr of *cap elements of size size
 * grown to hold it. */
static long read_intern(struct strmap *map, const char *key, void **arr,
			size_t *cap, size_t size)
{
	long at = strmap_intern(map, key);

	if ((size_t)at >= *cap) {
		size_t old = *cap;

		*cap = *cap ? *cap * 2 : 256;
		*arr = xrealloc(*arr, *cap * size);
		memset((char *)*arr + old * size, 0, (*cap - old) * size);
	}
	return at;
}

/* flight, started, blessing, branch: kept for the flights' rows */
static int read_flight_row(struct read_state *st, const char *line, size_t len)
{
	const char *f[4];
	size_t fl[4];
	long at;
	char key[24];
	int null;

	ASSERT(split_fields(line, len - 1, f, fl, 4) == 4 && fl[0] < sizeof(key));
	memcpy(key, f[0], fl[0]);
	key[fl[0]] = '\0';
	at = strmap_get(&st->index, key);
	ASSERT(at >= 0);
	st->fl[at].id = (long)field_ll(f[0], fl[0], &null);
	st->fl[at].real = field_is(f[2], fl[2], "real") ||
			  field_is(f[2], fl[2], "real-bisect");
	free(st->fl[at].branch);
	st->fl[at].branch = xmalloc(fl[3] + 1);
	memcpy(st->fl[at].branch, f[3], fl[3]);
	st->fl[at].branch[fl[3]] = '\0';
	st->fl[at].branch_len = fl[3];
	buf_add(st->out, line, len);
	return 1;
}

/*
 * A step: FLIGHT JOB STEPNO KIND NAME STATUS STARTED_AT FINISHED_AT
 * LOGFILE as hangar's steps has them, then OSSTest's started and
 * finished, the row's hash and whether its job is there (t/f: f, a step
 * without its job, counted but not kept). Kept ones go to out without
 * the last four.
 */
static int read_step_row(struct read_state *st, const char *line, size_t len)
{
	const char *f[13];
	size_t fl[13];
	struct read_flight *fp;
	long long started, finished;
	int keep, s_null, f_null;

	ASSERT(split_fields(line, len - 1, f, fl, 13) == 13);
	fp = &st->fl[read_flight_at(st, f[0], fl[0])];
	keep = field_is(f[12], fl[12], "t");
	started = field_ll(f[9], fl[9], &s_null);
	finished = field_ll(f[10], fl[10], &f_null);
	read_fp(st, fp - st->fl, FP_STEPS, f[11], fl[11]);
	if (!f_null && (!fp->has_fin || finished > fp->fin)) {
		fp->fin = finished;
		fp->has_fin = 1;
	}
	if (fp->real && field_is(f[5], fl[5], "pass")) {
		struct read_pass *p;
		long at;

		buf_reset(&st->key);
		buf_add(&st->key, fp->branch, fp->branch_len);
		buf_addch(&st->key, '\t');
		buf_add(&st->key, f[1], fl[1]);
		buf_addch(&st->key, '\t');
		buf_add(&st->key, f[4], fl[4]);
		at = read_intern(&st->passes, st->key.buf, (void **)&st->pass,
				 &st->pass_cap, sizeof(*st->pass));
		p = &st->pass[at];
		if (!p->set || fp->id < p->first)
			p->first = fp->id;
		if (!p->set || fp->id > p->last)
			p->last = fp->id;
		p->set = 1;
	}
	if (!keep)
		return 0;
	{
		struct read_job *j;
		long at;

		buf_reset(&st->key);
		buf_add(&st->key, f[0], (size_t)(f[1] + fl[1] - f[0]));
		at = read_intern(&st->jobs, st->key.buf, (void **)&st->job,
				 &st->job_cap, sizeof(*st->job));
		j = &st->job[at];
		if (!s_null && started != 0 && (!j->has_s || started < j->s)) {
			j->s = started;
			j->has_s = 1;
		}
		if (!f_null && finished != 0 && (!j->has_f || finished > j->f)) {
			j->f = finished;
			j->has_f = 1;
		}
	}
	buf_add(st->out, line, (size_t)(f[9] - 1 - line));
	buf_addch(st->out, '\n');
	return 1;
}

/* A job: FLIGHT JOB RECIPE STATUS HASH; to out with when its steps
 * started and ended in place of the hash. */
static int read_job_row(struct read_state *st, const char *line, size_t len)
{
	const char *f[5];
	size_t fl[5];
	long at;

	ASSERT(split_fields(line, len - 1, f, fl, 5) == 5);
	read_fp(st, read_flight_at(st, f[0], fl[0]), FP_JOBS, f[4], fl[4]);
	buf_add(st->out, line, (size_t)(f[4] - line));
	buf_reset(&st->key);
	buf_add(&st->key, f[0], (size_t)(f[1] + fl[1] - f[0]));
	at = strmap_get(&st->jobs, st->key.buf);
	if (at >= 0 && st->job[at].has_s)
		buf_addf(st->out, "%lld\t", st->job[at].s);
	else
		buf_addstr(st->out, "\\N\t");
	if (at >= 0 && st->job[at].has_f)
		buf_addf(st->out, "%lld\n", st->job[at].f);
	else
		buf_addstr(st->out, "\\N\n");
	return 1;
}

/* A runvar: FLIGHT JOB NAME VAL SYNTH HASH; to out without the hash. */
static int read_runvar_row(struct read_state *st, const char *line, size_t len)
{
	const char *f[6];
	size_t fl[6];

	ASSERT(split_fields(line, len - 1, f, fl, 6) == 6);
	read_fp(st, read_flight_at(st, f[0], fl[0]), FP_RUNVARS, f[5], fl[5]);
	/* name LIKE '%buildjob' AND val ~ '^[0-9]+\.' */
	if (!st->xbuilt && fl[2] >= 8 && !memcmp(f[2] + fl[2] - 8, "buildjob", 8)) {
		size_t i = 0;

		while (i < fl[3] && f[3][i] >= '0' && f[3][i] <= '9')
			i++;
		st->xbuilt = i > 0 && i < fl[3] && f[3][i] == '.';
	}
	buf_add(st->out, line, (size_t)(f[5] - 1 - line));
	buf_addch(st->out, '\n');
	return 1;
}

/* The rows of a query on src, each given to row (which says whether it
 * counts) or, without, appended to out as COPY text. */
static int copy_out(struct db *src, const char *select, struct buf *out,
		    long *rows, struct read_state *st,
		    int (*row)(struct read_state *, const char *, size_t),
		    struct err *err)
{
	double t0 = ms_now();
	char *sql = xasprintf("COPY (%s) TO STDOUT", select);
	PGresult *res = PQexec(src->conn, sql);
	char *line;
	long n = 0;
	int len, rc = 0;

	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		rc = pg_fail(err, "the OSSTest database", PQresultErrorMessage(res));
		PQclear(res);
		goto out;
	}
	PQclear(res);
	if (st)
		st->out = out;
	while ((len = PQgetCopyData(src->conn, &line, 0)) > 0) {
		if (!row)
			buf_add(out, line, (size_t)len);
		if (!row || row(st, line, (size_t)len))
			n++;
		PQfreemem(line);
	}
	if (len == -2)
		rc = pg_fail(err, "the OSSTest database: COPY", PQerrorMessage(src->conn));
	while ((res = PQgetResult(src->conn))) {
		if (!rc && PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = pg_fail(err, "the OSSTest database", PQresultErrorMessage(res));
		PQclear(res);
	}
	log_debug("import: read %ld rows (%zu bytes) in %.0f ms: %.60s", n,
		  out->len, ms_now() - t0, select);
out:
	free(sql);
	if (rows)
		*rows = n;
	return rc;
}

static void read_state_release(struct read_state *st, size_t nflights)
{
	for (size_t i = 0; st->fl && i < nflights; i++)
		free(st->fl[i].branch);
	free(st->fl);
	free(st->job);
	free(st->pass);
	strmap_clear(&st->index);
	strmap_clear(&st->jobs);
	strmap_clear(&st->passes);
	buf_release(&st->key);
}

int db_import_read(struct db *src, const struct vec *flights,
		   struct import_data *d, struct err *err)
{
	char *ids = int_array(flights, 0, flights->n), *sql = NULL;
	const char *logfile = "NULL";
	struct read_state st;
	struct buf rows = BUF_INIT;
	PGresult *res;
	int rc;

	memset(&st, 0, sizeof(st));
	buf_init(&st.key, 0);
	st.last_at = -1;
	vec_clear(&d->flights);
	st.fl = xcalloc(flights->n + 1, sizeof(*st.fl));
	for (size_t i = 0; i < flights->n; i++) {
		vec_push(&d->flights, flights->v[i]);
		strmap_put(&st.index, flights->v[i], (long)i);
	}
	buf_reset(&d->flights_rows);
	buf_reset(&d->jobs);
	buf_reset(&d->steps);
	buf_reset(&d->runvars);
	buf_reset(&d->xbuilt);
	buf_reset(&d->passes);
	memset(&d->c, 0, sizeof(d->c));
	d->c.flights = (long)flights->n;
	if ((rc = source_begin(src, err)) < 0)
		goto out;
	/* steps.logfile came in 2021 */
	res = db_query(src, err,
		       "SELECT count(*) FROM pg_attribute WHERE attrelid = "
		       "'steps'::regclass AND attname = 'logfile' AND NOT attisdropped",
		       0, NULL);
	if (!res) {
		rc = err->code;
		goto out;
	}
	if (db_long(res, 0, 0))
		logfile = "s.logfile";
	PQclear(res);
	sql = xasprintf("SELECT f.flight, f.started, f.blessing, f.branch FROM flights f "
			"WHERE f.flight = ANY('%s'::int[])", ids);
	rc = copy_out(src, sql, &rows, NULL, &st, read_flight_row, err);
	free(sql);
	if (rc < 0)
		goto out;
	/*
	 * Steps as rows of hangar's steps, mapped here: they go straight
	 * into it, never through a table of their own (the testid is the
	 * step's name, unique in a job there too; a step without one gets
	 * SCRIPT#STEPNO). Times as ISO text in UTC (db_import_begin). In key
	 * order: the cheapest for hangar's indexes when kept, and a job's
	 * steps together.
	 */
	sql = xasprintf("SELECT s.flight, s.job, s.stepno, coalesce(s.step, ''), "
			STEP_NAME("s") ", " STEP_STATUS("s.status") ", "
			"to_timestamp(nullif(s.started, 0)), "
			"to_timestamp(nullif(s.finished, 0)), "
			"coalesce(%s, s.stepno || '.' || s.step || '.log'), "
			"s.started, s.finished, "
			"hashtext(s.job || '/' || s.stepno || '=' || s.status || '/' || "
			"coalesce(s.testid, '') || '@' || coalesce(s.finished, -1)), "
			"j.job IS NOT NULL FROM steps s "
			"LEFT JOIN jobs j ON j.flight = s.flight AND j.job = s.job "
			"WHERE s.flight = ANY('%s'::int[]) "
			"ORDER BY s.flight, s.job, s.stepno", logfile, ids);
	rc = copy_out(src, sql, &d->steps, &d->c.steps, &st, read_step_row, err);
	free(sql);
	if (rc < 0)
		goto out;
	/* with when their steps started and ended (read_step_row()) */
	sql = xasprintf("SELECT j.flight, j.job, j.recipe, j.status, "
			"hashtext(j.job || '=' || j.status) FROM jobs j "
			"WHERE j.flight = ANY('%s'::int[])", ids);
	rc = copy_out(src, sql, &d->jobs, &d->c.jobs, &st, read_job_row, err);
	free(sql);
	if (rc < 0)
		goto out;
	sql = xasprintf("SELECT flight, job, name, val, synth, "
			"hashtext(job || '/' || name || '=' || val) FROM runvars "
			"WHERE flight = ANY('%s'::int[])", ids);
	rc = copy_out(src, sql, &d->runvars, &d->c.runvars, &st, read_runvar_row, err);
	free(sql);
	if (rc < 0)
		goto out;
	/* each flight with when its last step ended and its fingerprint's
	 * parts */
	for (const char *line = rows.buf, *nl; *line; line = nl + 1) {
		struct read_flight *fp;
		const char *tab = strchr(line, '\t');
		char key[24];
		long at;

		nl = strchr(line, '\n');
		ASSERT(nl && tab && tab < nl && tab - line < (long)sizeof(key));
		memcpy(key, line, (size_t)(tab - line));
		key[tab - line] = '\0';
		at = strmap_get(&st.index, key);
		ASSERT(at >= 0);
		fp = &st.fl[at];
		buf_add(&d->flights_rows, line, (size_t)(nl - line));
		if (fp->has_fin)
			buf_addf(&d->flights_rows, "\t%lld", fp->fin);
		else
			buf_addstr(&d->flights_rows, "\t\\N");
		for (int k = 0; k < 3; k++)
			buf_addf(&d->flights_rows, "\t%ld\t%lld", fp->parts[k].n,
				 fp->parts[k].sum);
		buf_addch(&d->flights_rows, '\n');
	}
	/* "did it ever pass", for step_passes (the row trigger is off) */
	for (size_t i = 0; i < st.passes.cap; i++) {
		const struct strmap_slot *s = &st.passes.slots[i];

		if (s->key)
			buf_addf(&d->passes, "%s\t%ld\t%ld\n", s->key,
				 st.pass[s->value].first, st.pass[s->value].last);
	}
	/* what the builds of other flights that these use (FLIGHT.JOB)
	 * built: such a flight may not be imported (another branch, before
	 * --since) */
	if (st.xbuilt) {
		sql = xasprintf("SELECT v.flight, v.job, v.name, v.val FROM runvars v "
				"JOIN (SELECT DISTINCT split_part(r.val, '.', 1)::int AS f, "
				"substr(r.val, strpos(r.val, '.') + 1) AS j FROM runvars r "
				"WHERE r.flight = ANY('%s'::int[]) AND r.name LIKE '%%buildjob' "
				"AND r.val ~ '^[0-9]+\\.') x ON v.flight = x.f AND v.job = x.j "
				"WHERE v.name LIKE 'built\\_revision\\_%%'", ids);
		rc = copy_out(src, sql, &d->xbuilt, NULL, NULL, NULL, err);
		free(sql);
	}
out:
	free(ids);
	read_state_release(&st, flights->n);
	buf_release(&rows);
	return source_end(src, rc, err);
}

/*
 * A batch's jobs: with ON CONFLICT only when the batch has flights read
 * again (their jobs are there, updated in place): for new ones, each row's
 * speculative insertion cost half as much again (54-65 ms for a batch's
 * 8,000 jobs, 39 without).
 */
#define JOBS_INSERT \
	"INSERT INTO jobs AS j (flight, job, recipe, arch, status, created_at, " \
	"started_at, finished_at) " \
	"SELECT o.flight, o.job, coalesce(o.recipe, ''), coalesce(CASE a.val " \
	"WHEN 'amd64' THEN 'x86_64' ELSE a.val END, 'unknown'), " JOB_STATUS("o.status") \
	", coalesce(to_timestamp(coalesce(o.s, o.f, nullif(fl.started, 0))), now()), " \
	"to_timestamp(o.s), to_timestamp(o.f) " \
	"FROM os_jobs o JOIN os_flights fl ON fl.flight = o.flight " \
	"LEFT JOIN os_runvars a ON a.flight = o.flight " \
	"AND a.job = o.job AND a.name = 'arch' "
static const char jobs_upsert[] = JOBS_INSERT
	"ON CONFLICT (flight, job) DO UPDATE SET recipe = EXCLUDED.recipe, "
	"arch = EXCLUDED.arch, status = EXCLUDED.status, "
	"started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at";

/* The statements of a batch before its steps, in order. */
static const char *const batch_before_steps[] = {
	"SET LOCAL hangar.import = 'on'",
	/*
	 * As a superuser (the private cluster's), without triggers: no
	 * foreign key checked row by row (every row below is joined with its
	 * parent), no wake-up per row. Else (a configured database) the same
	 * statements, slower.
	 */
	"SELECT CASE WHEN current_setting('is_superuser') = 'on' THEN "
	"set_config('session_replication_role', 'replica', true) END",
	/* the trees and branches hangar has no configuration for: retired.
	 * A branch's tree: the one named like it (xen-unstable: xen; the
	 * qemu-upstream branches: qemuu), else the one that changed most. */
	"WITH t AS (SELECT substr(name, 6) AS tree, min(val) AS url FROM os_runvars "
	"WHERE name LIKE 'tree\\_%' GROUP BY 1) "
	"INSERT INTO trees (name, url, retired) SELECT tree, url, true FROM t "
	"ON CONFLICT (name) DO NOTHING",
	"WITH revs AS (SELECT o.branch, substr(v.name, 10) AS tree, "
	"count(DISTINCT v.val) AS n FROM os_runvars v JOIN os_flights o "
	"ON o.flight = v.flight WHERE v.name LIKE 'revision\\_%' GROUP BY 1, 2), "
	"pick AS (SELECT DISTINCT ON (b.branch) b.branch, r.tree FROM "
	"(SELECT DISTINCT branch FROM os_flights WHERE branch NOT IN "
	"(SELECT name FROM branches)) b "
	"LEFT JOIN revs r ON r.branch = b.branch "
	"ORDER BY b.branch, r.tree = CASE WHEN b.branch LIKE 'qemu-upstream-%' "
	"OR b.branch = 'qemu-mainline' THEN 'qemuu' ELSE split_part(b.branch, '-', 1) "
	"END DESC NULLS LAST, r.n DESC NULLS LAST, r.tree), "
	"t AS (INSERT INTO trees (name, url, retired) SELECT DISTINCT "
	"coalesce(tree, branch), 'osstest:' || coalesce(tree, branch), true FROM pick "
	"ON CONFLICT (name) DO NOTHING) "
	"INSERT INTO branches (name, tree, retired) SELECT branch, "
	"coalesce(tree, branch), true FROM pick ON CONFLICT (name) DO NOTHING",
	/* flights: their numbers kept; a changed one updated in place */
	"INSERT INTO flights AS f (id, branch, intent, label, status, verdict, "
	"requested_by, queued_at, created_at, started_at, finished_at, "
	"imported_from, import_fingerprint) "
	"SELECT o.flight, o.branch, CASE o.blessing WHEN 'real' THEN 'gate' "
	"WHEN 'real-bisect' THEN 'bisect' WHEN 'real-retest' THEN 'retest' "
	"ELSE 'adhoc' END, o.blessing, 'finished', 'none', 'osstest', "
	"to_timestamp(o.started), to_timestamp(o.started), "
	"to_timestamp(nullif(o.started, 0)), "
	"coalesce(to_timestamp(o.fin), to_timestamp(nullif(o.started, 0))), $1, "
	/* FINGERPRINT, of the parts summed as the rows came */
	"md5(coalesce(o.blessing, '') || '|' || o.jn || ':' || o.js || '|' || o.sn "
	"|| ':' || o.ss || '|' || o.vn || ':' || o.vs) "
	"FROM os_flights o "
	"ON CONFLICT (id) DO UPDATE SET branch = EXCLUDED.branch, "
	"intent = EXCLUDED.intent, label = EXCLUDED.label, "
	"started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at, "
	"import_fingerprint = EXCLUDED.import_fingerprint "
	"WHERE f.imported_from = EXCLUDED.imported_from",
	/* JOBS_INSERT alone when no flight of the batch is read again */
	jobs_upsert,
	NULL,
};

/* What a changed flight had, read again: the flights of $1 only, so that
 * new ones (known new) cost nothing here. */
static const char *const batch_forget[] = {
	"DELETE FROM steps WHERE flight = ANY($1::bigint[])",
	"DELETE FROM runvars WHERE flight = ANY($1::bigint[])",
	"DELETE FROM allocations WHERE flight = ANY($1::bigint[])",
	"DELETE FROM job_deps WHERE flight = ANY($1::bigint[])",
	"DELETE FROM flight_revisions WHERE flight = ANY($1::bigint[])",
	NULL,
};

/*
 * The statements after the steps, sent at once (no parameters). Each
 * looks up the jobs, job_deps and runvars of the batch's rows (os_*) by
 * key, in a LATERAL subquery that OFFSET 0 keeps the planner from
 * flattening: with statistics from before the import (none can be
 * gathered inside its transaction) it would rather hash a scan of the
 * whole table, and each batch would cost as much as all the ones before.
 */
/* The batch's jobs in hangar (columns cols of jobs j): a range of the
 * key per flight, where a join by job would descend it for every row. */
#define BATCH_JOBS(cols) \
	"SELECT o.flight, " cols " FROM os_flights o JOIN LATERAL (SELECT " cols \
	" FROM jobs j WHERE j.flight = o.flight OFFSET 0) j ON true"

/* *buildjob: JOB (this flight) or FLIGHT.JOB; with ON CONFLICT only when
 * the batch has flights read again, as JOBS_INSERT (a batch's 7,200 rows:
 * 47 ms with it, 33 without, on a copy of job_deps) */
#define JOB_DEPS_INSERT \
	"INSERT INTO job_deps (flight, job, dep_flight, dep_job) " \
	"SELECT DISTINCT v.flight, v.job, d.flight, d.job FROM os_runvars v " \
	"JOIN LATERAL (SELECT d.flight, d.job FROM jobs d " \
	"WHERE d.flight = CASE WHEN v.val ~ '^[0-9]+\\.' " \
	"THEN split_part(v.val, '.', 1)::bigint ELSE v.flight END " \
	"AND d.job = CASE WHEN v.val ~ '^[0-9]+\\.' " \
	"THEN substr(v.val, strpos(v.val, '.') + 1) ELSE v.val END OFFSET 0) d ON true " \
	"WHERE v.name LIKE '%buildjob'"
static const char job_deps_upsert[] = JOB_DEPS_INSERT " ON CONFLICT DO NOTHING";

static const char *const batch_after_steps[] = {
	"INSERT INTO step_passes AS p (branch, job, step, first_flight, last_flight) "
	"SELECT branch, job, step, min(first), max(last) FROM os_passes "
	"GROUP BY 1, 2, 3 ON CONFLICT (branch, job, step) DO UPDATE "
	"SET first_flight = least(p.first_flight, EXCLUDED.first_flight), "
	"last_flight = greatest(p.last_flight, EXCLUDED.last_flight)",
	/* every runvar, and the job status OSSTest had when hangar has no
	 * such status (aborted, truncated, an unfinished job) */
	"INSERT INTO runvars (flight, job, name, val, synth) "
	"SELECT v.flight, v.job, v.name, coalesce(v.val, ''), v.synth FROM os_runvars v "
	"JOIN (" BATCH_JOBS("j.job") ") j ON j.flight = v.flight AND j.job = v.job "
	"UNION ALL SELECT o.flight, o.job, 'osstest_status', o.status, true "
	"FROM os_jobs o WHERE o.status IS DISTINCT FROM (" JOB_STATUS("o.status") ")",
	/* JOB_DEPS_INSERT alone when no flight of the batch is read again */
	job_deps_upsert,
	/* host runvars (host, src_host, ...): the job's allocations */
	"INSERT INTO hosts (name, arch, address, workdir, state, state_reason) "
	"SELECT DISTINCT v.val, 'unknown', '', '', 'retired', "
	"'seen in OSSTest flights only' FROM os_runvars v "
	"WHERE (v.name = 'host' OR v.name LIKE '%\\_host') AND v.val <> '' "
	"ON CONFLICT (name) DO NOTHING",
	"INSERT INTO allocations (host, flight, job, ident, allocated_at, released_at) "
	"SELECT v.val, v.flight, v.job, v.name, coalesce(j.started_at, f.started_at, now()), "
	"coalesce(j.finished_at, j.started_at, f.finished_at, now()) FROM os_runvars v "
	"JOIN (" BATCH_JOBS("j.job, j.started_at, j.finished_at") ") j "
	"ON j.flight = v.flight AND j.job = v.job "
	"JOIN flights f ON f.id = v.flight "
	"WHERE (v.name = 'host' OR v.name LIKE '%\\_host') AND v.val <> ''",
	/*
	 * The revisions each flight tested, per tree: the built_revision_* of
	 * its jobs and of the builds they use (through *buildjob, in this
	 * flight or an earlier one) over revision_*, as OSSTest's baseline
	 * search; build-*-prev jobs do not count (reference §4.2).
	 */
	"WITH src AS (SELECT o.flight AS f, o.flight AS vf, j.job AS vj FROM os_flights o "
	"JOIN LATERAL (SELECT j.job FROM jobs j WHERE j.flight = o.flight OFFSET 0) j "
	"ON true UNION SELECT o.flight, d.dep_flight, d.dep_job FROM os_flights o "
	"JOIN LATERAL (SELECT d.dep_flight, d.dep_job FROM job_deps d "
	"WHERE d.flight = o.flight OFFSET 0) d ON true), "
	/* the runvars of this batch's flights as they came (those in
	 * runvars now, the old ones of a flight read again deleted): a
	 * scan of the batch, where runvars grows with every one; runvars
	 * for the builds of flights before */
	"rv AS (SELECT flight, job, name, val FROM os_runvars "
	"UNION ALL SELECT v.flight, v.job, v.name, v.val FROM (SELECT DISTINCT vf, vj "
	"FROM src WHERE vf NOT IN (SELECT flight FROM os_flights)) o "
	"JOIN LATERAL (SELECT v.flight, v.job, v.name, v.val FROM runvars v "
	"WHERE v.flight = o.vf AND v.job = o.vj OFFSET 0) v ON true), "
	"vals AS (SELECT s.f, CASE WHEN v.name LIKE 'built\\_revision\\_%' "
	"THEN substr(v.name, 16) ELSE substr(v.name, 10) END AS tree, v.val, "
	"v.name LIKE 'built\\_revision\\_%' AS built FROM src s "
	"JOIN rv v ON v.flight = s.vf AND v.job = s.vj "
	"WHERE (v.name LIKE 'built\\_revision\\_%' OR v.name LIKE 'revision\\_%') "
	"AND s.vj NOT LIKE 'build-%-prev' AND v.val <> '' "
	"UNION ALL SELECT r.flight, substr(x.name, 16), x.val, true FROM os_runvars r "
	"JOIN os_xbuilt x ON x.flight = split_part(r.val, '.', 1)::bigint "
	"AND x.job = substr(r.val, strpos(r.val, '.') + 1) "
	"WHERE r.name LIKE '%buildjob' AND r.val ~ '^[0-9]+\\.' "
	"AND x.job NOT LIKE 'build-%-prev' AND x.val <> ''), "
	/* builds of one tree that disagree: no revision of it, so never a
	 * baseline (OSSTest rejects such a flight) */
	"agg AS (SELECT f, tree, bool_or(built) AS any_built, "
	"count(DISTINCT val) FILTER (WHERE built) AS nbuilt FROM vals GROUP BY f, tree) "
	"INSERT INTO flight_revisions (flight, tree, revision) "
	"SELECT DISTINCT ON (v.f, v.tree) v.f, v.tree, v.val FROM vals v "
	"JOIN agg a ON a.f = v.f AND a.tree = v.tree "
	"WHERE NOT a.any_built OR (v.built AND a.nbuilt = 1) "
	"GROUP BY v.f, v.tree, v.val, v.built "
	"ORDER BY v.f, v.tree, v.built DESC, count(*) DESC, v.val",
	/* a branch whose tree was not known when it came (a placeholder
	 * named like it): the tree its flights tested, chosen as above */
	"INSERT INTO trees (name, url, retired) SELECT DISTINCT r.tree, "
	"'osstest:' || r.tree, true FROM flight_revisions r "
	"WHERE r.flight IN (SELECT flight FROM os_flights) ON CONFLICT (name) DO NOTHING",
	"UPDATE branches b SET tree = p.tree FROM (SELECT DISTINCT ON (o.branch) "
	"o.branch, r.tree FROM os_flights o JOIN flight_revisions r ON r.flight = o.flight "
	"GROUP BY o.branch, r.tree ORDER BY o.branch, r.tree = CASE WHEN o.branch "
	"LIKE 'qemu-upstream-%' OR o.branch = 'qemu-mainline' THEN 'qemuu' "
	"ELSE split_part(o.branch, '-', 1) END DESC, count(DISTINCT r.revision) DESC, "
	"r.tree) p WHERE b.name = p.branch AND b.retired AND b.tree = b.name "
	"AND b.tree <> p.tree",
	/* a retest (real-retest) belongs to the newest gate flight before it
	 * that tested the same revision of the branch's tree */
	"UPDATE flights r SET retest_of = o.id FROM (SELECT DISTINCT ON (x.id) "
	"x.id AS rid, g.id FROM flights x JOIN branches b ON b.name = x.branch "
	"JOIN flight_revisions xr ON xr.flight = x.id AND xr.tree = b.tree "
	"JOIN flight_revisions gr ON gr.tree = xr.tree AND gr.revision = xr.revision "
	"AND gr.flight < x.id JOIN flights g ON g.id = gr.flight "
	"AND g.branch = x.branch AND g.intent = 'gate' "
	"WHERE x.id IN (SELECT flight FROM os_flights) AND x.intent = 'retest' "
	"ORDER BY x.id, g.id DESC) o WHERE r.id = o.rid",
	/* what the triggers would have said: the dashboard forgets what it
	 * kept of a flight read again, the scheduler and gate look */
	"SELECT pg_notify('hangar_flight', flight::text) FROM os_flights",
	"SELECT pg_notify('hangar_sched', ''), pg_notify('hangar_gate', '')",
	NULL,
};

int db_import_write(struct db *db, const char *source, struct import_data *d,
		    int in_tx, struct err *err)
{
	static const struct {
		const char *copy;
		size_t off;
	} temps[] = {
		{ "COPY os_flights FROM STDIN", offsetof(struct import_data, flights_rows) },
		{ "COPY os_jobs FROM STDIN", offsetof(struct import_data, jobs) },
		{ "COPY os_runvars FROM STDIN", offsetof(struct import_data, runvars) },
		{ "COPY os_xbuilt FROM STDIN", offsetof(struct import_data, xbuilt) },
		{ "COPY os_passes FROM STDIN", offsetof(struct import_data, passes) },
	};
	struct buf after = BUF_INIT;
	char *changed = NULL;
	PGresult *res;
	int rc;

	if (!in_tx && (rc = db_begin(db, err)) < 0)
		return rc;
	if ((rc = db_exec(db, err, "TRUNCATE os_flights, os_jobs, os_runvars, "
			  "os_xbuilt, os_passes", 0, NULL)) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(temps) / sizeof(temps[0]); i++) {
		const struct buf *b = (const struct buf *)((const char *)d + temps[i].off);

		if ((rc = copy_in(db, temps[i].copy, b, err)) < 0)
			goto out;
	}
	/*
	 * The planner's view of what just came (temporary tables have none):
	 * their sizes and the spread of their keys, which a sample of 3,000
	 * rows (a target of 10) tells as well as the default 30,000, at a
	 * sixth of the cost. Only ANALYZE reads the setting; local to the
	 * transaction.
	 */
	if ((rc = db_exec(db, err, "SET LOCAL default_statistics_target = 10",
			  0, NULL)) < 0 ||
	    (rc = db_exec(db, err, "ANALYZE os_flights, os_jobs, os_runvars, "
			  "os_xbuilt, os_passes", 0, NULL)) < 0)
		goto out;
	/* a number taken meanwhile by a flight of hangar's own: stop; the
	 * ones imported before are changed ones, whose rows go first */
	res = db_query(db, err,
		       "SELECT string_agg(o.flight::text, ', ') FILTER (WHERE "
		       "f.imported_from IS DISTINCT FROM $1), array_agg(o.flight) "
		       "FILTER (WHERE f.imported_from = $1) FROM os_flights o "
		       "JOIN flights f ON f.id = o.flight",
		       1, (const char *[]){ source });
	if (!res) {
		rc = err->code;
		goto out;
	}
	if (!PQgetisnull(res, 0, 0)) {
		rc = err_set(err, ERR_EXISTS, "flight(s) %.200s: taken in hangar by "
			     "flights not imported from %s", PQgetvalue(res, 0, 0),
			     source);
		PQclear(res);
		goto out;
	}
	changed = db_dup(res, 0, 1);
	PQclear(res);
	for (size_t i = 0; batch_before_steps[i]; i++) {
		const char *sql = batch_before_steps[i] == jobs_upsert && !changed ?
				  JOBS_INSERT : batch_before_steps[i];
		int uses_source = strstr(sql, "$1") != NULL;
		double t0 = ms_now();

		if ((rc = db_exec(db, err, sql, uses_source ? 1 : 0,
				  uses_source ? (const char *[]){ source } : NULL)) < 0)
			goto out;
		log_debug("import: %.40s: %.0f ms", sql, ms_now() - t0);
	}
	for (size_t i = 0; changed && batch_forget[i]; i++)
		if ((rc = db_exec(db, err, batch_forget[i], 1,
				  (const char *[]){ changed })) < 0)
			goto out;
	if ((rc = copy_in(db, "COPY steps (flight, job, stepno, kind, name, status, "
			  "started_at, finished_at, logfile) FROM STDIN", &d->steps,
			  err)) < 0)
		goto out;
	/* the rest runs while the caller reads the next batch */
	for (size_t i = 0; batch_after_steps[i]; i++)
		buf_addf(&after, "%s;\n", batch_after_steps[i] == job_deps_upsert &&
			 !changed ? JOB_DEPS_INSERT : batch_after_steps[i]);
	if (!PQsendQuery(db->conn, after.buf))
		rc = pg_fail(err, "database", PQerrorMessage(db->conn));
out:
	free(changed);
	buf_release(&after);
	if (rc < 0 && !in_tx)
		db_rollback(db);
	return rc;
}

int db_import_write_wait(struct db *db, int in_tx, struct err *err)
{
	PGresult *res;
	int rc = 0;
	double t0 = ms_now();

	/* nothing pending after a failed db_import_write(): no result */
	while ((res = PQgetResult(db->conn))) {
		ExecStatusType st = PQresultStatus(res);

		if (!rc && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
			rc = pg_fail(err, "database", PQresultErrorMessage(res));
		PQclear(res);
	}
	log_debug("import: the statements after the steps: %.0f ms", ms_now() - t0);
	if (in_tx)
		return rc;
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
}

int db_import_bulk_wanted(struct db *src, struct db *db, size_t nflights,
			  int *yes, struct err *err)
{
	PGresult *res;
	double there, flights, here;

	*yes = 0;
	if (!nflights)
		return 0;
	/* the statistics, else a count (a table never analyzed is new) */
	res = db_query(src, err,
		       "SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples "
		       "ELSE (SELECT count(*) FROM steps) END, "
		       "greatest((SELECT count(*) FROM flights), 1) "
		       "FROM pg_class c WHERE c.oid = 'steps'::regclass",
		       0, NULL);
	if (!res)
		return err->code;
	there = strtod(PQgetvalue(res, 0, 0), NULL);
	flights = strtod(PQgetvalue(res, 0, 1), NULL);
	PQclear(res);
	res = db_query(db, err,
		       "SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples "
		       "ELSE (SELECT count(*) FROM steps) END "
		       "FROM pg_class c WHERE c.oid = 'steps'::regclass",
		       0, NULL);
	if (!res)
		return err->code;
	here = strtod(PQgetvalue(res, 0, 0), NULL);
	PQclear(res);
	there = there * (double)nflights / flights;
	/* a row costs several descents of each index (a few times more as
	 * they outgrow the cache), a build a sort of them all: it pays from
	 * about a quarter (measured with bench/b0600-import.sh) */
	*yes = there > 0 && there * 4 >= here;
	log_debug("import: about %.0f steps to import, %.0f there: %s", there, here,
		  *yes ? "indexes built again at the end" : "indexes kept");
	return 0;
}

int db_import_bulk_begin(struct db *db, struct vec *defs, struct err *err)
{
	PGresult *res;
	int rc;

	if ((rc = db_begin(db, err)) < 0)
		return rc;
	/*
	 * Their indexes, those of keys too (no foreign key points at steps;
	 * runvars keeps its key, which the statements of a batch use): each
	 * row costs a descent of every index, where a build at the end sorts
	 * once. Built again from their definitions as they are now.
	 */
	res = db_query(db, err,
		       "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', "
		       "c.conrelid::regclass, c.conname), format('ALTER TABLE %s ADD "
		       "CONSTRAINT %I %s', c.conrelid::regclass, c.conname, "
		       "pg_get_constraintdef(c.oid)), 1 FROM pg_constraint c "
		       "WHERE c.conrelid = 'steps'::regclass AND c.contype IN ('p', 'u') "
		       "UNION ALL SELECT format('DROP INDEX %s', i.indexrelid::regclass), "
		       "pg_get_indexdef(i.indexrelid), 2 FROM pg_index i "
		       "WHERE i.indrelid IN ('steps'::regclass, 'runvars'::regclass) "
		       "AND NOT i.indisunique AND NOT i.indisprimary ORDER BY 3, 2",
		       0, NULL);
	if (!res) {
		rc = err->code;
		goto out;
	}
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		rc = db_exec(db, err, PQgetvalue(res, i, 0), 0, NULL);
		vec_push(defs, PQgetvalue(res, i, 1));
	}
	log_debug("import: one transaction, %zu indexes dropped", defs->n);
	PQclear(res);
out:
	if (rc < 0)
		db_rollback(db);
	return rc;
}

int db_import_bulk_end(struct db *db, const struct vec *defs, struct err *err)
{
	int rc;

	/* a sort in memory rather than on disk */
	rc = db_exec(db, err, "SET LOCAL maintenance_work_mem = '256MB'", 0, NULL);
	for (size_t i = 0; rc == 0 && i < defs->n; i++) {
		double t0 = ms_now();

		rc = db_exec(db, err, defs->v[i], 0, NULL);
		log_debug("import: %s: %.0f ms", defs->v[i], ms_now() - t0);
	}
	if (rc < 0) {
		db_rollback(db);
		return rc;
	}
	return db_commit(db, err);
}

int db_import_reserve(struct db *db, long highest, struct err *err)
{
	char num[24];

	snprintf(num, sizeof(num), "%ld", highest);
	return db_exec(db, err,
		       "SELECT setval('flights_id_seq', greatest($1::bigint, (SELECT "
		       "max(id) FROM flights), (SELECT last_value FROM flights_id_seq)))",
		       1, (const char *[]){ num });
}

void db_import_source_name(struct db *src, char *buf, size_t size)
{
	const char *host = PQhost(src->conn);

	snprintf(buf, size, "%s@%s", PQdb(src->conn),
		 host && host[0] ? host : "localhost");
}

int db_import_branches(struct db *db, const char *source, long from,
		       struct import_branch **branches, size_t *n,
		       struct err *err)
{
	char num[24];
	PGresult *res;

	*branches = NULL;
	*n = 0;
	snprintf(num, sizeof(num), "%ld", from);
	res = db_query(db, err,
		       "SELECT f.branch, min(f.id) FROM flights f "
		       "JOIN branches b ON b.name = f.branch "
		       "WHERE f.imported_from = $1 AND f.intent = 'gate' "
		       "AND (f.id >= $2::bigint OR (f.target_revision IS NULL AND EXISTS "
		       "(SELECT 1 FROM flight_revisions r WHERE r.flight = f.id "
		       "AND r.tree = b.tree))) "
		       "GROUP BY f.branch ORDER BY f.branch",
		       2, (const char *[]){ source, num });
	if (!res)
		return err->code;
	*n = (size_t)PQntuples(res);
	*branches = xcalloc(*n + 1, sizeof(**branches));
	for (size_t i = 0; i < *n; i++) {
		(*branches)[i].name = xstrdup(PQgetvalue(res, (int)i, 0));
		(*branches)[i].first = db_long(res, (int)i, 1);
	}
	PQclear(res);
	return 0;
}

void db_import_branches_free(struct import_branch *branches, size_t n)
{
	for (size_t i = 0; branches && i < n; i++)
		free(branches[i].name);
	free(branches);
}

int db_import_gate_flights(struct db *db, const char *source, const char *branch,
			   long from, struct import_gate_flight **flights,
			   size_t *n, struct err *err)
{
	char num[24];
	PGresult *res;

	*flights = NULL;
	*n = 0;
	snprintf(num, sizeof(num), "%ld", from);
	res = db_query(db, err,
		       "WITH g AS (SELECT f.id, f.target_revision, f.pushed FROM flights f "
		       "WHERE f.imported_from = $1 AND f.branch = $2 AND f.intent = 'gate' "
		       "AND f.id >= coalesce((SELECT max(p.id) FROM flights p "
		       "JOIN branches pb ON pb.name = p.branch "
		       "JOIN flight_revisions pr ON pr.flight = p.id AND pr.tree = pb.tree "
		       "WHERE p.imported_from = $1 AND p.branch = $2 AND p.intent = 'gate' "
		       "AND p.target_revision IS NOT NULL AND p.id < $3::bigint), $3::bigint)) "
		       "SELECT g.id, coalesce(r.revision, ''), coalesce(g.target_revision, ''), "
		       "g.pushed "
		       "FROM g JOIN branches b ON b.name = $2 "
		       "LEFT JOIN flight_revisions r ON r.flight = g.id AND r.tree = b.tree "
		       "ORDER BY g.id",
		       3, (const char *[]){ source, branch, num });
	if (!res)
		return err->code;
	*n = (size_t)PQntuples(res);
	*flights = xcalloc(*n + 1, sizeof(**flights));
	for (size_t i = 0; i < *n; i++) {
		struct import_gate_flight *f = &(*flights)[i];

		f->id = db_long(res, (int)i, 0);
		f->revision = xstrdup(PQgetvalue(res, (int)i, 1));
		f->target = xstrdup(PQgetvalue(res, (int)i, 2));
		f->pushed = !strcmp(PQgetvalue(res, (int)i, 3), "t");
	}
	PQclear(res);
	return 0;
}

void db_import_gate_flights_free(struct import_gate_flight *flights, size_t n)
{
	for (size_t i = 0; flights && i < n; i++) {
		free(flights[i].revision);
		free(flights[i].target);
	}
	free(flights);
}

int db_import_set_target(struct db *db, long flight, const char *target,
			 int baseline_test, int pushed, struct err *err)
{
	char num[24];

	snprintf(num, sizeof(num), "%ld", flight);
	return db_exec(db, err,
		       "UPDATE flights SET target_revision = nullif($2, ''), "
		       "baseline_test = $3::boolean, pushed = $4::boolean, "
		       "verdict = CASE WHEN $4::boolean THEN 'push' ELSE 'no-push' END, "
		       "decided_at = coalesce(decided_at, finished_at) "
		       "WHERE id = $1::bigint "
		       "AND (target_revision IS DISTINCT FROM nullif($2, '') "
		       "OR baseline_test <> $3::boolean OR pushed <> $4::boolean "
		       "OR verdict = 'none')",
		       4, (const char *[]){ num, target, baseline_test ? "t" : "f",
					    pushed ? "t" : "f" });
}

int db_import_set_report(struct db *db, long flight, const char *json,
			 const char *text, const char *push_log,
			 struct err *err)
{
	char num[24];

	snprintf(num, sizeof(num), "%ld", flight);
	return db_exec(db, err,
		       "UPDATE flights SET report = $2::jsonb, report_text = $3, "
		       "push_log = $4 WHERE id = $1::bigint "
		       "AND (report IS DISTINCT FROM $2::jsonb "
		       "OR report_text IS DISTINCT FROM $3)",
		       4, (const char *[]){ num, json, text, push_log });
}
