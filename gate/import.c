/*
 * import.c: `hangar import osstest` (see import.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify.h"
#include "db-import.h"
#include "report-load.h"
#include "import.h"
#include "log.h"
#include "mail.h"
#include "report.h"
#include "strnum.h"
#include "xalloc.h"
#include "banned.h"

void import_result_release(struct import_result *r)
{
	vec_clear(&r->unfinished);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * Whether OSSTest pushed after flight: its report then (only the flights
 * before it known) had no blocker. Unless decide is 0 (a baseline test,
 * or the revision pushed already), then no push. The report as judged
 * then is kept with the flight, as the gate keeps its own.
 */
static int judge_flight(struct db *db, long flight, int decide,
			struct err *err)
{
	struct report r;
	struct report_mail m = { NULL, NULL, NULL, NULL, mail_hostname() };
	struct buf text = BUF_INIT;
	char *json = NULL;
	json_t *j;
	int rc, pushed = 0;

	report_init(&r);
	if ((rc = report_load_before(db, flight, &r, err)) < 0)
		goto out;
	/* OSSTest pushed with starved jobs (n/a): so did its history */
	for (long k = -1; k < (long)r.nsubs; k++) {
		struct report *s = k < 0 ? &r : &r.subs[k];

		for (size_t i = 0; i < s->nfails; i++)
			s->fails[i].starved_blocks = 0;
	}
	report_classify(&r);
	pushed = decide && verdict_pushable(r.vk);
	free(r.verdict);
	r.verdict = xstrdup(pushed ? "push" : "no-push");
	r.pushed = pushed;
	free(r.push_log);
	r.push_log = xstrdup(r.baseline_test ? "Push not applicable.\n" :
			     !decide ? "Published tested tree is already up to date.\n" :
			     pushed ? "Pushed (replayed from OSSTest's history).\n" :
			     "Not pushing.\n");
	j = report_json(&r);
	json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	report_text(&r, &m, &text);
	rc = db_import_set_report(db, flight, json, text.buf ? text.buf : "",
				  r.push_log, err);
out:
	free(json);
	buf_release(&text);
	report_release(&r);
	return rc < 0 ? rc : pushed;
}

/*
 * The baseline of each gate flight of branch from `from` on: the
 * revision of the branch's tree that OSSTest had pushed before it,
 * replaying its gate (reference §1.4, §4.1): the first flight tests its
 * own revision (a baseline test); a later one pushes its revision when
 * that is new and its report, as of then, had no blocker.
 */
static int judge_branch(struct db *db, const struct import_opts *o,
			const char *source, const char *branch, long from,
			long *judged, struct err *err)
{
	struct import_gate_flight *g;
	char *tested = NULL;
	size_t n, first = 0;
	int rc;

	if ((rc = db_import_gate_flights(db, source, branch, from, &g, &n, err)) < 0)
		return rc;
	if (n && g[0].id < from) {
		/* the one before, judged already: what it left pushed */
		tested = xstrdup(g[0].pushed ? g[0].revision : g[0].target);
		first = 1;
	}
	for (size_t i = first; i < n; i++) {
		long flight = g[i].id;
		const char *rev = g[i].revision;
		int baseline_test = !tested, pushed = 0;

		if (!rev[0])
			continue;   /* it did not test the branch's tree */
		/* its baseline first: the report judges against it */
		if ((rc = db_import_set_target(db, flight, tested ? tested : rev,
					       baseline_test, 0, err)) < 0)
			goto out;
		pushed = judge_flight(db, flight, tested && strcmp(tested, rev), err);
		if (pushed < 0 ||
		    (pushed && (rc = db_import_set_target(db, flight, tested, 0, 1,
							  err)) < 0)) {
			rc = pushed < 0 ? pushed : rc;
			goto out;
		}
		if (++*judged % 100 == 0 && o->progress)
			o->progress(o->progress_arg, "baselines", *judged, 0, 0, 0);
		if (!tested || pushed) {
			free(tested);
			tested = xstrdup(rev);
		}
	}
	rc = 0;
out:
	free(tested);
	db_import_gate_flights_free(g, n);
	return rc;
}

static int judge_all(struct db *db, const struct import_opts *o,
		     const char *source, long from, long *judged, struct err *err)
{
	struct import_branch *b;
	size_t n;
	int rc = db_import_branches(db, source, from, &b, &n, err);

	if (rc < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = judge_branch(db, o, source, b[i].name, b[i].first, judged, err);
	db_import_branches_free(b, n);
	if (rc == 0 && o->progress && *judged)
		o->progress(o->progress_arg, "baselines", *judged, 0, 0, 1);
	return rc;
}

/* The flights of part [at, at + n) of the plan, into part. */
static void plan_part(const struct import_plan *plan, size_t at, size_t n,
		      struct vec *part)
{
	vec_clear(part);
	for (size_t i = at; i < at + n && i < plan->flights.n; i++)
		vec_push(part, plan->flights.v[i]);
}

/*
 * A batch read in a thread of its own, on the source's connection (which
 * no other thread touches meanwhile), while the caller writes the one
 * before on hangar's: two servers and the client at work at once, where
 * one connection's statements would wait for the other's.
 */
struct reader {
	pthread_t thread;
	struct db *src;
	struct vec part;
	struct import_data *d;
	struct err err;
	int rc, running;
};

static void *reader_run(void *arg)
{
	struct reader *r = arg;

	r->rc = db_import_read(r->src, &r->part, r->d, &r->err);
	return NULL;
}

static void reader_start(struct reader *r, const struct import_plan *plan,
			 size_t at, size_t n, struct import_data *d)
{
	int e;

	plan_part(plan, at, n, &r->part);
	r->d = d;
	r->err = (struct err)ERR_INIT;
	r->rc = 0;
	if ((e = pthread_create(&r->thread, NULL, reader_run, r))) {
		errno = e;
		fatal("pthread_create");
	}
	r->running = 1;
}

/* Waits for the batch being read: reader_start()'s result, r->err. */
static int reader_join(struct reader *r)
{
	int e;

	if (!r->running)
		return 0;
	if ((e = pthread_join(r->thread, NULL))) {
		errno = e;
		fatal("pthread_join");
	}
	r->running = 0;
	return r->rc;
}

/*
 * The planned flights, a batch at a time: the next batch is read from the
 * source (reader_start()) while hangar writes the one before. A large
 * import is one transaction of hangar's, with the indexes of steps (and
 * the secondary ones of runvars) dropped and built again at the end; else
 * one transaction per batch.
 */
static int import_flights(struct db *src, struct db *db,
			  const struct import_opts *o, struct import_result *r,
			  const struct import_plan *plan, struct err *err)
{
	size_t batch = o->batch > 0 ? (size_t)o->batch : 100, n = plan->flights.n;
	struct import_data d[2];
	struct reader rd = { .src = src, .part = VEC_INIT };
	struct vec defs = VEC_INIT;
	double t0 = now_s();
	int bulk = o->rebuild_indexes == IMPORT_REBUILD_ALWAYS, rc = 0, cur = 0;

	if (!n)
		return 0;
	if (o->rebuild_indexes == IMPORT_REBUILD_AUTO &&
	    (rc = db_import_bulk_wanted(src, db, n, &bulk, err)) < 0)
		return rc;
	import_data_init(&d[0]);
	import_data_init(&d[1]);
	if (bulk && (rc = db_import_bulk_begin(db, &defs, err)) < 0)
		goto out;
	reader_start(&rd, plan, 0, batch, &d[cur]);
	for (size_t at = 0; at < n; at += batch, cur = !cur) {
		struct import_data *w = &d[cur];
		const char *first, *last;

		if ((rc = reader_join(&rd)) < 0) {
			*err = rd.err;
			err_prefix(err, "flights %s to %s", rd.part.v[0],
				   rd.part.v[rd.part.n - 1]);
			goto fail;
		}
		if (at + batch < n)
			reader_start(&rd, plan, at + batch, batch, &d[!cur]);
		first = w->flights.v[0];
		last = w->flights.v[w->flights.n - 1];
		rc = db_import_write(db, r->source, w, bulk, err);
		/* what was sent must be waited for, even after an error */
		{
			struct err ignored = ERR_INIT;
			int wrc = db_import_write_wait(db, bulk, rc < 0 ? &ignored : err);

			if (rc == 0)
				rc = wrc;
		}
		if (rc < 0) {
			err_prefix(err, "flights %s to %s", first, last);
			goto fail;
		}
		r->flights += w->c.flights;
		r->jobs += w->c.jobs;
		r->steps += w->c.steps;
		r->runvars += w->c.runvars;
		if (o->progress)
			o->progress(o->progress_arg, "flights", r->flights, (long)n,
				    (double)r->steps / (now_s() - t0), 0);
	}
	if (bulk) {
		if (o->progress)
			o->progress(o->progress_arg, "indexes", 0, 0, 0, 0);
		rc = db_import_bulk_end(db, &defs, err);
		if (rc < 0)
			err_prefix(err, "building the indexes again");
	}
	if (rc == 0 && o->progress)
		o->progress(o->progress_arg, "flights", r->flights, (long)n,
			    (double)r->steps / (now_s() - t0), 1);
	goto out;
fail:
	/* the source's connection is the thread's until it is done */
	reader_join(&rd);
	if (bulk)
		db_rollback(db);
out:
	import_data_release(&d[0]);
	import_data_release(&d[1]);
	vec_clear(&rd.part);
	vec_clear(&defs);
	return rc;
}

int import_osstest(struct db *db, const struct import_opts *o,
		   struct import_result *r, struct err *err)
{
	struct db_target target = { .database = o->dsn };
	struct db *src = NULL;
	struct import_plan plan;
	struct import_select sel;
	double t0 = now_s();
	int rc;

	memset(r, 0, sizeof(*r));
	memset(&plan, 0, sizeof(plan));
	if ((rc = db_open_raw(&target, &src, err)) < 0)
		return err_prefix(err, "the OSSTest database");
	if (o->source)
		snprintf(r->source, sizeof(r->source), "%s", o->source);
	else
		db_import_source_name(src, r->source, sizeof(r->source));
	sel = (struct import_select){ r->source, o->branches, o->since,
				      o->recheck > 0 ? o->recheck : 1000 };
	if ((rc = db_import_begin(src, db, err)) < 0 ||
	    (rc = db_import_plan(src, db, &sel, &plan, err)) < 0)
		goto out;
	r->fresh = plan.fresh;
	r->changed = plan.changed;
	r->highest = plan.highest;
	for (size_t i = 0; i < plan.unfinished.n; i++)
		vec_push(&r->unfinished, plan.unfinished.v[i]);
	if (o->dry_run)
		goto out;
	/* hangar's own flights from now on get numbers above the source's */
	if ((rc = db_import_reserve(db, plan.highest, err)) < 0 ||
	    (rc = db_import_hosts(src, db, &r->hosts, err)) < 0)
		goto out;
	if ((rc = import_flights(src, db, o, r, &plan, err)) < 0)
		goto out;
	r->seconds = now_s() - t0;
	/* done with the source: what follows is hangar's alone */
	db_close(src);
	src = NULL;
	{
		long from = 1L << 62;
		double t1 = now_s();

		if (plan.flights.n)
			strnum_long(plan.flights.v[0], 1, 1L << 62, &from);
		if ((rc = judge_all(db, o, r->source, from, &r->judged, err)) < 0) {
			err_prefix(err, "the baselines of the imported gate flights");
			goto out;
		}
		r->judge_seconds = now_s() - t1;
	}
	rc = 0;
out:
	if (!r->seconds)
		r->seconds = now_s() - t0;
	import_plan_release(&plan);
	db_close(src);
	return rc;
}
