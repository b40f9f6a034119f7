/*
 * scheduler.c: one planning pass, and the daemon loop.
 *
 * A pass: read a snapshot, with the runs that finished since the last
 * pass; give back what dead owners hold, if the snapshot has any (and
 * read what that changed); plan; then act on the plan with
 * short transactions (allocate what starts now, end jobs that are blocked
 * or starved) and store the rows of the plan that changed. Allocation
 * re-checks everything under row locks, so a pass that raced another
 * scheduler or a person only loses that allocation, never doubles it.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db-sched.h"
#include "log.h"
#include "proc.h"
#include "scheduler.h"
#include "strmap.h"
#include "vec.h"
#include "xalloc.h"
#include "banned.h"

/* A stored plan time this close to the new one is not rewritten. */
#define PLAN_SLACK 60
/* Runs may commit out of finished_at order: look back this far. */
#define RUNS_OVERLAP 600
#define MAX_HIST 64

struct pass_keep;
static void pass_keep_free(struct pass_keep *k);

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void scheduler_init(struct scheduler *s, struct db *db,
		    const struct lab_sched *cfg, const char *name)
{
	memset(s, 0, sizeof(*s));
	s->db = db;
	s->cfg = *cfg;
	s->name = name;
	est_init(&s->est, cfg->estimate_window, cfg->default_duration);
	/*
	 * A pass allocates the same few megabytes as the last (the plan's
	 * results, the copy's arrays) and frees them: kept in the heap,
	 * not given back to the kernel by munmap or a trim, they are not
	 * faulted in again page by page every pass.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

void scheduler_release(struct scheduler *s)
{
	est_release(&s->est);
	pass_keep_free(s->keep[0]);
	pass_keep_free(s->keep[1]);
	db_sched_state_free(s->state);
	db_sched_state_free(s->check);
	plan_memo_free(s->memo);
}

void scheduler_set_config(struct scheduler *s, const struct lab_sched *cfg)
{
	s->cfg = *cfg;
	s->est.window = cfg->estimate_window;
	s->est.default_dur = cfg->default_duration;
}

/* ---- building the planner's input from a snapshot ---- */

/* Split flag lists, shared by every row with the same text; and arch
 * names, likewise (the planner caches its host classes by the arch and
 * flags pointers of a request). */
struct flagsets {
	struct strmap ix;
	struct vec *v;
	size_t n, alloc;
	struct strmap arch_ix;
	struct vec archs;
};

static const char *arch_shared(struct flagsets *fs, const char *arch)
{
	long ix;

	if (!arch)
		return NULL;
	ix = strmap_get(&fs->arch_ix, arch);
	if (ix < 0) {
		vec_push(&fs->archs, arch);
		ix = (long)fs->archs.n - 1;
		strmap_put(&fs->arch_ix, arch, ix);
	}
	return fs->archs.v[ix];
}

static const char *const *flagset(struct flagsets *fs, const char *text)
{
	long ix = strmap_get(&fs->ix, text ? text : "");

	if (ix < 0) {
		XGROW(fs->v, fs->alloc, fs->n + 1);
		vec_init(&fs->v[fs->n]);
		if (text)
			vec_split(&fs->v[fs->n], text);
		ix = (long)fs->n++;
		strmap_put(&fs->ix, text ? text : "", ix);
	}
	return (const char *const *)vec_argv(&fs->v[ix]);
}

static void flagsets_release(struct flagsets *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		vec_clear(&fs->v[i]);
	free(fs->v);
	strmap_clear(&fs->ix);
	strmap_clear(&fs->arch_ix);
	vec_clear(&fs->archs);
}

/*
 * What the passes of a scheduler build the planner's input in, kept from
 * one to the next: the buffers, so that a pass neither faults in nor
 * zeroes megabytes of fresh memory; and the grouping of the dependencies,
 * which depends only on the keys of the jobs and deps rows, while those
 * stay (snap.job_keys).
 */
struct pass_keep {
	int in_use;              /* a pass builds in it */
	uint64_t job_keys;       /* of the grouping below; 0: none */
	size_t *dep_first;
	int *dep_rows, *dep_target;
	size_t dep_first_alloc, dep_rows_alloc, dep_target_alloc;
	struct plan_host *hosts;
	struct plan_busy *busy;
	struct plan_request *reqs;
	int *req_row, *row_req;
	struct plan_flight *flights;
	size_t *deps;
	struct plan_history *hist;
	plan_time *row_end;
	size_t hosts_alloc, busy_alloc, reqs_alloc, req_row_alloc;
	size_t row_req_alloc, flights_alloc, deps_alloc, hist_alloc;
	size_t row_end_alloc;
	/* per jobs row, also of its keys alone, found the first time a
	 * pass needs them: its what, its job name's number in names; so
	 * that a pass need not read the job names, which lie scattered in
	 * the results they were read into */
	size_t *row_what;        /* where in row_pool, or NO_WHAT */
	char *row_pool;
	size_t pool_used;
	int *row_name;           /* or -1 */
	struct strmap names;
	size_t row_what_alloc, row_pool_alloc, row_name_alloc;
};

#define NO_WHAT ((size_t)-1)
#define DEP_UNKNOWN (-2)

/* An array of n of p's field: its kept buffer, grown but not zeroed (the
 * caller sets every element it uses), or a new zeroed one. */
#define PASS_ARRAY(p, field, n) \
	((p)->keep ? (XGROW((p)->keep->field, (p)->keep->field##_alloc, (n)), \
		      (p)->keep->field) \
		   : xcalloc((n), sizeof(*(p)->keep->field)))

static void pass_keep_free(struct pass_keep *k)
{
	if (!k)
		return;
	free(k->dep_first);
	free(k->dep_rows);
	free(k->dep_target);
	free(k->hosts);
	free(k->busy);
	free(k->reqs);
	free(k->req_row);
	free(k->row_req);
	free(k->flights);
	free(k->deps);
	free(k->hist);
	free(k->row_end);
	free(k->row_what);
	free(k->row_pool);
	free(k->row_name);
	strmap_clear(&k->names);
	free(k);
}

struct pass {
	struct scheduler *s;
	struct pass_keep *keep;  /* its buffers are these, or NULL: its own
				  * (a check's pass, planned beside the
				  * pass that uses them) */
	struct sched_snapshot snap;
	struct plan_input in;
	struct plan_output out;
	struct flagsets flags;
	struct plan_host *hosts;
	struct plan_busy *busy;
	struct plan_request *reqs;
	struct plan_flight *flights;
	size_t nflights;
	size_t *dep_first;       /* jobs row -> its deps in dep_rows, from */
	int *dep_rows;           /* deps rows grouped by their job's row */
	int *dep_target;         /* dep_rows[m]'s dependency's jobs row, or
				  * -1, or DEP_UNKNOWN: not searched yet */
	int *req_row;            /* request -> jobs row, or -1 - res row */
	int *row_req;            /* jobs row -> request, or -1 */
	plan_time *row_end;      /* jobs row -> expected end if running */
	size_t *deps;            /* pool of dependency indices */
	struct plan_history *hist;  /* pool */
	size_t hist_alloc;
	char **whats;            /* reservations' what by res row, owned */
	size_t *row_what;        /* jobs row -> its what in row_pool, or
				  * NO_WHAT: not written yet */
	char *row_pool;          /* jobs rows' whats, one after another */
	size_t pool_used, pool_alloc;
	int *row_name;           /* jobs row -> its number in names, or -1 */
	struct strmap *names;    /* the keep's, or names_own */
	struct strmap names_own;
	/* jobs to end: blocked by a dependency */
	long *end_flight;
	const char **end_job, **end_reason;
	size_t nend, end_alloc;
	struct vec reasons;      /* owned strings for end_reason */
};

static int job_cmp(const struct pass *p, int row, int64_t flight,
		   const char *job)
{
	const struct sched_job_row *j = &p->snap.jobs[row];

	if (j->flight != flight)
		return j->flight < flight ? -1 : 1;
	return strcmp(j->job, job);
}

/* The jobs row of (flight, job) among rows [lo, hi), or -1: rows are in
 * (flight, job) order. */
static int job_row_in(const struct pass *p, int lo, int hi, int64_t flight,
		      const char *job)
{
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2, c = job_cmp(p, mid, flight, job);

		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int job_row(const struct pass *p, int64_t flight, const char *job)
{
	return job_row_in(p, 0, (int)p->snap.njobs, flight, job);
}

/* The rows [*lo, *hi) of the flight of row i. */
static void flight_rows(const struct pass *p, int i, int *lo, int *hi)
{
	int64_t flight = p->snap.jobs[i].flight;
	int a = 0, b = i;

	while (a < b) {   /* the first row of the flight */
		int mid = a + (b - a) / 2;

		if (p->snap.jobs[mid].flight < flight)
			a = mid + 1;
		else
			b = mid;
	}
	*lo = a;
	a = i;
	b = (int)p->snap.njobs;
	while (a < b) {   /* the first row after it */
		int mid = a + (b - a) / 2;

		if (p->snap.jobs[mid].flight <= flight)
			a = mid + 1;
		else
			b = mid;
	}
	*hi = a;
}

/* Writes "FLIGHT.JOB" and its NUL at buf (room enough): a job's what,
 * without printf, as there is one per waiting job and pass; len is
 * strlen(job). Returns the bytes used. */
static size_t what_text(char *buf, long flight, const char *job, size_t len)
{
	char num[24];
	size_t n = 0, at = 0;
	unsigned long v = flight < 0 ? 0UL - (unsigned long)flight
				     : (unsigned long)flight;

	do {
		num[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (flight < 0)
		buf[at++] = '-';
	while (n)
		buf[at++] = num[--n];
	buf[at++] = '.';
	memcpy(buf + at, job, len + 1);
	return at + len + 1;
}

static int dep_cmp(const struct sched_dep_row *d, int a, int b)
{
	if (d[a].dep_flight != d[b].dep_flight)
		return d[a].dep_flight < d[b].dep_flight ? -1 : 1;
	return strcmp(d[a].dep_job, d[b].dep_job);
}

/*
 * Groups the dependency rows by the row of their job, each group in
 * (dependency flight, job) order: the order dependencies are planned in,
 * so the plan does not depend on the order PostgreSQL returned them in.
 * That, the row each dependency names and each row's what and name
 * number (pass_jobs() finds those as it needs them) depend only on the
 * keys of the rows: a pass keeps what the last ones found while they
 * stay.
 */
static void pass_index(struct pass *p)
{
	const struct sched_dep_row *d = p->snap.deps;
	size_t nrows = p->snap.njobs, nd = p->snap.ndeps;
	struct pass_keep *k = p->keep;
	int *owner;
	size_t *fill;

	if (k && k->job_keys == p->snap.job_keys) {
		p->dep_first = k->dep_first;
		p->dep_rows = k->dep_rows;
		p->dep_target = k->dep_target;
		p->row_what = k->row_what;
		p->row_name = k->row_name;
		p->names = &k->names;
		p->row_pool = k->row_pool;
		p->pool_alloc = k->row_pool_alloc;
		p->pool_used = k->pool_used;
		return;
	}
	if (k) {
		k->job_keys = 0;   /* until it is complete */
		strmap_clear(&k->names);
		p->names = &k->names;
		p->row_pool = k->row_pool;
		p->pool_alloc = k->row_pool_alloc;
	} else {
		p->names = &p->names_own;
	}
	p->pool_used = 0;
	owner = xcalloc(nd + 1, sizeof(int));
	p->dep_first = PASS_ARRAY(p, dep_first, nrows + 2);
	p->dep_rows = PASS_ARRAY(p, dep_rows, nd + 1);
	p->dep_target = PASS_ARRAY(p, dep_target, nd + 1);
	p->row_what = PASS_ARRAY(p, row_what, nrows + 1);
	p->row_name = PASS_ARRAY(p, row_name, nrows + 1);
	memset(p->dep_first, 0, (nrows + 2) * sizeof(size_t));
	for (size_t i = 0; i < nrows; i++) {
		p->row_what[i] = NO_WHAT;
		p->row_name[i] = -1;
	}
	for (size_t m = 0; m < nd; m++)
		p->dep_target[m] = DEP_UNKNOWN;
	/* both tables are in (flight, job) order: walk them together, with
	 * a search where a row is out of that order */
	for (size_t x = 0, r = 0; x < nd; x++) {
		int c = -1;

		while (r < nrows &&
		       (c = job_cmp(p, (int)r, d[x].flight, d[x].job)) < 0)
			r++;
		owner[x] = r < nrows && !c ? (int)r
					   : job_row(p, d[x].flight, d[x].job);
		if (owner[x] >= 0)
			p->dep_first[owner[x] + 1]++;
	}
	for (size_t i = 0; i < nrows; i++)
		p->dep_first[i + 1] += p->dep_first[i];
	fill = xcalloc(nrows + 1, sizeof(size_t));
	memcpy(fill, p->dep_first, nrows * sizeof(size_t));
	for (size_t x = 0; x < nd; x++) {
		size_t at;

		if (owner[x] < 0)
			continue;
		at = fill[owner[x]]++;
		/* insertion sort: a job has a few dependencies */
		while (at > p->dep_first[owner[x]] &&
		       dep_cmp(d, p->dep_rows[at - 1], (int)x) > 0) {
			p->dep_rows[at] = p->dep_rows[at - 1];
			at--;
		}
		p->dep_rows[at] = (int)x;
	}
	free(fill);
	free(owner);
	if (k)
		k->job_keys = p->snap.job_keys;
}

static int same_text(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* queued, preparing or running: not over */
static int status_waiting(enum sched_status st)
{
	return st == SCHED_ST_QUEUED || st == SCHED_ST_PREPARING ||
	       st == SCHED_ST_RUNNING;
}

static int intent_priority(const struct lab_sched *c, enum sched_intent intent)
{
	switch (intent) {
	case SCHED_INTENT_GATE: return c->prio_gate;
	case SCHED_INTENT_BISECT: return c->prio_bisect;
	case SCHED_INTENT_RETEST: return c->prio_retest;
	default: return c->prio_adhoc;
	}
}

static void pass_hosts(struct pass *p)
{
	size_t n = p->snap.nhosts;

	p->hosts = PASS_ARRAY(p, hosts, n + 1);
	for (size_t i = 0; i < n; i++) {
		const struct sched_host_row *h = &p->snap.hosts[i];
		struct plan_host *ph = &p->hosts[i];

		memset(ph, 0, sizeof(*ph));
		ph->name = h->name;
		ph->arch = h->arch;
		ph->flags = flagset(&p->flags, h->flags);
		ph->state = h->state;
		ph->usable = !strcmp(ph->state, "free");
		ph->state_reason = h->state_reason;
		ph->unusable_since = h->unusable_since;
		ph->share_slots = h->share_max_tasks;
		ph->site = h->site;
		ph->share_worn = h->share_type &&
				 h->share_wear >= h->share_max_wear;
	}
	p->in.hosts = p->hosts;
	p->in.nhosts = n;
}

static long host_index(const struct pass *p, const char *name)
{
	size_t lo = 0, hi = p->in.nhosts;

	while (lo < hi) {   /* hosts come ordered by name (C collation) */
		size_t mid = (lo + hi) / 2;
		int c = strcmp(p->hosts[mid].name, name);

		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = 0; i < p->in.nhosts; i++)   /* other collations */
		if (!strcmp(p->hosts[i].name, name))
			return (long)i;
	return -1;
}

/* Allocations: what holds each host, and when running jobs should end. */
static void pass_busy(struct pass *p)
{
	size_t n = p->snap.nallocs, nb = 0;
	plan_time now = p->snap.now;

	p->busy = PASS_ARRAY(p, busy, n + 1);
	for (size_t i = 0; i < n; i++) {
		const struct sched_alloc_row *a = &p->snap.allocs[i];
		long h = host_index(p, a->host);
		plan_time since = a->since;
		plan_time end = a->planned_end;
		int shareix = a->shareix;
		struct plan_busy *b;

		if (h < 0)
			continue;   /* a host the snapshot has not */
		if (!a->job) {   /* a reservation's */
			end = a->res_end;
		} else if (end <= now) {
			/* overdue: OSSTest's guess, the error squared */
			plan_time planned = end > since ? end - since : 60;
			plan_time sofar = now - since;

			end = since + (plan_time)((double)sofar * (double)sofar /
						  (double)planned) + 1;
			if (end <= now)
				end = now + 60;
		}
		if (a->job) {
			int row = job_row(p, a->flight, a->job);

			if (row >= 0 && end > p->row_end[row])
				p->row_end[row] = end;
		}
		b = &p->busy[nb++];
		memset(b, 0, sizeof(*b));
		b->host = (size_t)h;
		b->slot = shareix > 0 ? shareix - 1 : -1;
		b->start = since;
		b->end = end;
		b->what = a->job ? a->job : "reservation";
	}
	p->in.busy = p->busy;
	p->in.nbusy = nb;
}

static void end_job(struct pass *p, int row, char *reason)
{
	XGROW(p->end_flight, p->end_alloc, p->nend + 1);
	p->end_job = xrealloc(p->end_job, p->end_alloc * sizeof(*p->end_job));
	p->end_reason = xrealloc(p->end_reason,
				 p->end_alloc * sizeof(*p->end_reason));
	p->end_flight[p->nend] = (long)p->snap.jobs[row].flight;
	p->end_job[p->nend] = p->snap.jobs[row].job;
	vec_push_take(&p->reasons, reason);
	p->end_reason[p->nend++] = p->reasons.v[p->reasons.n - 1];
}

static struct plan_flight *pass_flight(struct pass *p, long flight)
{
	struct plan_flight *f;

	if (p->nflights && p->flights[p->nflights - 1].flight == flight)
		return &p->flights[p->nflights - 1];
	f = &p->flights[p->nflights++];
	memset(f, 0, sizeof(*f));
	f->flight = flight;
	return f;
}

static void pass_jobs(struct pass *p)
{
	const struct sched_job_row *j = p->snap.jobs;
	const struct sched_dep_row *d = p->snap.deps;
	const struct sched_pin_row *pins = p->snap.pins;
	size_t nrows = p->snap.njobs, nres = p->snap.nres, npins = p->snap.npins;
	size_t ndeps = p->snap.ndeps, nreq = 0, pk = 0, hk = 0;
	size_t ndep_pool = 0;
	const struct lab_sched *cfg = &p->s->cfg;
	long *hostmap;
	size_t nmap = p->s->est.hostnames.n;
	struct hist_memo {
		size_t off, n;
		plan_time dur;
		/* the arch and flags of the job's last row, interned: the
		 * jobs of one name mostly ask the same */
		const char *arch_text, *flags_text, *arch;
		const char *const *flags;
	} *memo = NULL;
	size_t nmemo = 0, memo_alloc = 0, *req_memo, need = 0;
	long *memo_ix = NULL;    /* by name number: memo's, or -1 */
	size_t nmemo_ix = 0, memo_ix_alloc = 0;
	int fl_lo = 0, fl_hi = 0;   /* the rows of the current row's flight */

	p->reqs = PASS_ARRAY(p, reqs, nrows + nres + 1);
	p->req_row = PASS_ARRAY(p, req_row, nrows + nres + 1);
	p->row_req = PASS_ARRAY(p, row_req, nrows + 1);
	p->flights = PASS_ARRAY(p, flights, nrows + 1);
	p->deps = PASS_ARRAY(p, deps, ndeps + 1);
	p->whats = xcalloc(nres + 1, sizeof(char *));
	if (p->keep) {   /* grown as the requests' histories are added */
		p->hist = p->keep->hist;
		p->hist_alloc = p->keep->hist_alloc;
	}
	req_memo = xcalloc(nrows + 1, sizeof(size_t));
	hostmap = xcalloc(nmap + 1, sizeof(long));
	for (size_t i = 0; i < nmap; i++)
		hostmap[i] = -1;
	for (size_t i = 0; i < p->in.nhosts; i++) {
		long id = strmap_get(&p->s->est.hostnames, p->hosts[i].name);

		if (id >= 0 && (size_t)id < nmap)
			hostmap[id] = (long)i;
	}

	/* first: which rows are requests, and the flights' counts */
	for (size_t i = 0; i < nrows; i++) {
		enum sched_status st = j[i].status_kind;
		struct plan_flight *f = pass_flight(p, (long)j[i].flight);

		p->row_req[i] = -1;
		if (st == SCHED_ST_PASS || st == SCHED_ST_FAIL)
			f->done++;
		else if (status_waiting(st))
			f->waiting++;
		if (st == SCHED_ST_QUEUED) {
			p->row_req[i] = (int)nreq++;
			if (p->row_what[i] == NO_WHAT)
				need += j[i].job_len + 24;
		}
	}
	/* room for the whats no pass wrote yet: q->what points into it */
	XGROW(p->row_pool, p->pool_alloc, p->pool_used + need + 1);
	/* then the requests, with dependencies, pins and history */
	for (size_t i = 0; i < nrows; i++) {
		int r = (int)i, blocked = 0;
		long flight = (long)j[i].flight;
		const char *job = j[i].job;
		struct plan_request *q;
		char *why = NULL;
		plan_time dur;
		long mi;

		if (p->row_req[i] < 0)
			continue;
		q = &p->reqs[p->row_req[i]];
		memset(q, 0, sizeof(*q));
		p->req_row[p->row_req[i]] = r;
		q->kind = PLAN_JOB;
		if (p->row_what[i] == NO_WHAT) {
			p->row_what[i] = p->pool_used;
			p->pool_used += what_text(p->row_pool + p->pool_used,
						  flight, job, j[i].job_len);
		}
		q->what = p->row_pool + p->row_what[i];
		q->priority = intent_priority(cfg, j[i].intent_kind) +
			      j[i].branch_prio;
		q->queued_at = j[i].queued_at;
		q->is_build = j[i].is_build;
		q->flight = flight;
		/* estimates and history, mapped to this pass's hosts: once
		 * per job name (a queue of flights repeats the same jobs) */
		if (p->row_name[i] < 0)
			p->row_name[i] = (int)strmap_intern(p->names, job);
		while (nmemo_ix <= (size_t)p->row_name[i]) {
			XGROW(memo_ix, memo_ix_alloc, nmemo_ix + 1);
			memo_ix[nmemo_ix++] = -1;
		}
		mi = memo_ix[p->row_name[i]];
		if (mi < 0) {
			struct plan_history h[MAX_HIST];
			size_t nh = est_lookup(&p->s->est, job, p->snap.now,
					       &dur, h, MAX_HIST);

			XGROW(memo, memo_alloc, nmemo + 1);
			memset(&memo[nmemo], 0, sizeof(memo[nmemo]));
			memo[nmemo].off = hk;
			memo[nmemo].dur = dur;
			for (size_t k = 0; k < nh; k++) {
				if (h[k].host >= nmap || hostmap[h[k].host] < 0)
					continue;
				XGROW(p->hist, p->hist_alloc, hk + 1);
				p->hist[hk] = h[k];
				p->hist[hk++].host = (size_t)hostmap[h[k].host];
			}
			memo[nmemo].n = hk - memo[nmemo].off;
			mi = (long)nmemo++;
			memo_ix[p->row_name[i]] = mi;
		}
		q->duration = memo[mi].dur;
		req_memo[p->row_req[i]] = (size_t)mi;
		if (!memo[mi].flags || !same_text(memo[mi].arch_text, j[i].arch)) {
			memo[mi].arch_text = j[i].arch;
			memo[mi].arch = arch_shared(&p->flags, j[i].arch);
		}
		if (!memo[mi].flags ||
		    !same_text(memo[mi].flags_text, j[i].flags)) {
			memo[mi].flags_text = j[i].flags;
			memo[mi].flags = flagset(&p->flags, j[i].flags);
		}
		q->arch = memo[mi].arch;
		q->flags = memo[mi].flags;
		q->nhosts = j[i].nhosts;
		if (q->nhosts < 1)
			q->nhosts = 1;
		/* dependencies */
		q->deps = &p->deps[ndep_pool];
		for (size_t m = p->dep_first[i]; m < p->dep_first[i + 1]; m++) {
			const struct sched_dep_row *dep = &d[p->dep_rows[m]];
			int dr = p->dep_target[m];
			enum sched_status dst;

			if (dr == DEP_UNKNOWN) {
				/* mostly a job of its own flight */
				if (r >= fl_hi)
					flight_rows(p, r, &fl_lo, &fl_hi);
				dr = dep->dep_flight == flight
					? job_row_in(p, fl_lo, fl_hi, flight,
						     dep->dep_job) : -1;
				if (dr < 0)
					dr = job_row(p, dep->dep_flight,
						     dep->dep_job);
				p->dep_target[m] = dr;
			}
			dst = dr >= 0 ? j[dr].status_kind
				      : dep->dep_status_kind;

			if (dst == SCHED_ST_PASS)
				continue;
			if (!status_waiting(dst)) {
				if (!why)
					why = xasprintf("%s %s", dep->dep_job,
						dr >= 0 ? j[dr].status
						: dep->dep_status
						? dep->dep_status : "missing");
				blocked = 1;
				continue;
			}
			q->deps_pending = 1;
			if (dr >= 0 && p->row_req[dr] >= 0)
				p->deps[ndep_pool++] = (size_t)p->row_req[dr];
			else if (dr >= 0 && p->row_end[dr] > q->deps_end) {
				q->deps_end = p->row_end[dr];
				q->deps_what = dep->dep_job;
			}
			else if (dr < 0 && q->deps_end < p->snap.now)
				q->deps_end = p->snap.now; /* another flight's */
		}
		q->ndeps = (size_t)(&p->deps[ndep_pool] - q->deps);
		if (blocked)
			end_job(p, r, why);
		/* pins and the starvation runvar */
		while (pk < npins &&
		       job_cmp(p, r, pins[pk].flight, pins[pk].job) > 0)
			pk++;
		for (; pk < npins &&
		       !job_cmp(p, r, pins[pk].flight, pins[pk].job);
		     pk++) {
			const char *name = pins[pk].name;
			const char *val = pins[pk].val;
			long ix = !strcmp(name, "host") ? 0 : strtol(name + 4, NULL, 10) - 1;

			if (!strcmp(name, "starvation")) {
				q->never_starve = !strcmp(val, "never");
				continue;
			}
			if (ix < 0 || ix >= q->nhosts)
				continue;   /* hostN beyond its hosts: no pin */
			if (!q->pinned)
				q->pinned = xcalloc((size_t)q->nhosts + 1,
						    sizeof(char *));
			((const char **)q->pinned)[ix] = val;
		}
	}
	/* the pool has stopped growing: point into it */
	for (size_t k = 0; k < nreq; k++) {
		p->reqs[k].history = hk ? &p->hist[memo[req_memo[k]].off]
					: NULL;
		p->reqs[k].nhistory = memo[req_memo[k]].n;
	}
	if (p->keep) {
		p->keep->hist = p->hist;
		p->keep->hist_alloc = p->hist_alloc;
		p->keep->row_pool = p->row_pool;
		p->keep->row_pool_alloc = p->pool_alloc;
		p->keep->pool_used = p->pool_used;
	}
	free(memo);
	free(req_memo);
	free(memo_ix);
	free(hostmap);
	p->in.reqs = p->reqs;
	p->in.nreqs = nreq;
	p->in.flights = p->flights;
	p->in.nflights = p->nflights;
}

/* Waiting reservations are requests; blockages are windows. */
static void pass_reservations(struct pass *p)
{
	for (size_t r = 0; r < p->snap.nres; r++) {
		const struct sched_res_row *v = &p->snap.res[r];
		size_t qi = p->in.nreqs;
		struct plan_request *q = &p->reqs[qi];

		if (!strcmp(v->kind, "reservation") && strcmp(v->status, "waiting"))
			continue;   /* active: its allocations are busy entries */
		memset(q, 0, sizeof(*q));
		p->req_row[qi] = -1 - (int)r;
		p->whats[r] = xasprintf("%s %lld", v->kind, (long long)v->id);
		q->what = p->whats[r];
		q->arch = arch_shared(&p->flags, v->arch);
		q->flags = flagset(&p->flags, v->flags);
		q->nhosts = v->nhosts;
		q->queued_at = v->created;
		if (v->host) {
			q->pinned = xcalloc(2, sizeof(char *));
			((const char **)q->pinned)[0] = v->host;
			q->nhosts = 1;
		}
		if (!strcmp(v->kind, "blockage")) {
			q->kind = PLAN_BLOCKAGE;
			q->not_before = v->start;
			q->duration = v->end - q->not_before;
		} else {
			q->kind = PLAN_RESERVATION;
			q->priority = p->s->cfg.prio_reservation;
			q->duration = v->duration;
		}
		p->in.nreqs++;
	}
}

/* ---- acting on the plan ---- */

static char *hosts_text(const struct pass *p, const struct plan_result *res)
{
	struct vec v = VEC_INIT;
	char *s;

	for (size_t k = 0; k < res->nbooked; k++)
		vec_push(&v, p->hosts[res->hosts[k].host].name);
	s = v.n ? vec_join(&v, " ") : NULL;
	vec_clear(&v);
	return s;
}

/* Whether text (hosts_text's, or NULL for none) names res's hosts:
 * without building the text, as most rows of a pass did not change. */
static int hosts_same(const struct pass *p, const struct plan_result *res,
		      const char *text)
{
	const char *t = text ? text : "";

	for (size_t k = 0; k < res->nbooked; k++) {
		const char *name = p->hosts[res->hosts[k].host].name;
		size_t len = strlen(name);

		if (k && *t++ != ' ')
			return 0;
		if (strncmp(t, name, len))
			return 0;
		t += len;
	}
	return !*t;
}

/* The share type a job takes a slot of on host h: its share-* flag. */
static const char *share_flag(const struct plan_request *q)
{
	for (const char *const *f = q->flags; f && *f; f++)
		if (!strncmp(*f, "share-", 6))
			return *f;
	return NULL;
}

static int pass_allocate(struct pass *p, size_t qi, struct sched_stats *st,
			 struct err *err)
{
	const struct plan_request *q = &p->reqs[qi];
	const struct plan_result *res = &p->out.results[qi];
	struct sched_pick picks[64];
	size_t n = res->nbooked < 64 ? res->nbooked : 64;
	int rc;

	for (size_t k = 0; k < n; k++) {
		picks[k].host = p->hosts[res->hosts[k].host].name;
		picks[k].shareix = res->hosts[k].slot >= 0
					   ? res->hosts[k].slot + 1 : 0;
		picks[k].share_type = share_flag(q);
		picks[k].end = res->end;
	}
	if (q->kind == PLAN_JOB) {
		int row = p->req_row[qi];

		rc = db_sched_allocate_job(
			p->s->db, (long)p->snap.jobs[row].flight,
			p->snap.jobs[row].job, picks, n,
			(int)p->s->cfg.claim_timeout, err);
	} else {
		rc = db_sched_allocate_reservation(
			p->s->db, (long)p->snap.res[-1 - p->req_row[qi]].id,
			picks, n, err);
	}
	if (rc == ERR_EXISTS) {
		log_info("%s: %s; next pass", q->what, err->msg);
		err_clear(err);
		return 0;
	}
	if (rc < 0)
		return rc;
	st->allocated++;
	log_info("%s allocated %s%s", q->what, picks[0].host,
		 n > 1 ? " and more" : "");
	return 0;
}

static int pass_blockage(struct pass *p, size_t qi, struct sched_stats *st,
			 struct err *err)
{
	const struct plan_result *res = &p->out.results[qi];
	long id = (long)p->snap.res[-1 - p->req_row[qi]].id;

	if (res->start > p->snap.now)
		return 0;
	for (size_t k = 0; k < res->nbooked; k++) {
		const struct plan_host *h = &p->hosts[res->hosts[k].host];
		int rc;

		if (!h->usable)
			continue;
		rc = db_sched_allocate_blockage(p->s->db, id, h->name, err);
		if (rc == ERR_EXISTS) {
			err_clear(err);   /* still busy: taken when it frees */
			continue;
		}
		if (rc < 0)
			return rc;
		st->allocated++;
	}
	return 0;
}

/*
 * Whether request qi's plan row is as it was when the last pass
 * compared it (stored: that pass's snap.read_no, see plan_stored): the
 * same result, and a job row not read again since. That pass wrote it,
 * or found it close enough: so would this one.
 */
static int pass_row_kept(const struct pass *p, size_t qi, uint64_t stored)
{
	int row = p->req_row[qi];

	return stored && p->out.same_result && p->out.same_result[qi] &&
	       row >= 0 && p->snap.jobs[row].read_no <= stored;
}

/* Stores the plan rows of waiting jobs and reservations that changed. */
static int pass_write_plan(struct pass *p, uint64_t stored,
			   struct sched_stats *st, struct err *err)
{
	struct sched_planned *rows = NULL;
	char **texts = NULL;
	size_t n = 0, alloc = 0, texts_alloc = 0;
	int rc;

	for (size_t qi = 0; qi < p->in.nreqs; qi++) {
		const struct plan_result *res = &p->out.results[qi];
		int row = p->req_row[qi];
		int64_t start = res->start >= PLAN_NEVER ? 0 : res->start;
		int64_t end = res->end >= PLAN_NEVER ? 0 : res->end;
		int64_t old_start, old_end;
		const char *old_hosts, *old_reason, *job = NULL;
		long flight = 0, reservation = 0;
		char *hosts;

		int kept = pass_row_kept(p, qi, stored);

		if (kept && !p->s->verify)
			continue;
		/* the stored texts lie scattered in the results they were
		 * read into (the rows are sorted after the read): ask for
		 * those of a few rows ahead while these are compared */
		if (qi + 8 < p->in.nreqs && p->req_row[qi + 8] >= 0) {
			const struct sched_job_row *a =
				&p->snap.jobs[p->req_row[qi + 8]];

			__builtin_prefetch(a->planned_hosts);
			__builtin_prefetch(a->wait_reason);
		}
		if (res->outcome == PLAN_START || res->outcome == PLAN_STARVED ||
		    res->outcome == PLAN_HOST_GONE)
			continue;   /* written by their own transactions */
		if (row >= 0) {
			const struct sched_job_row *j = &p->snap.jobs[row];

			old_start = j->planned_start;
			old_end = j->planned_end;
			old_hosts = j->planned_hosts;
			old_reason = j->wait_reason;
			flight = (long)j->flight;
			job = j->job;
		} else {
			const struct sched_res_row *v = &p->snap.res[-1 - row];

			old_start = v->planned_start;
			old_end = end;   /* a reservation stores no planned end */
			old_hosts = v->planned_hosts;
			old_reason = v->wait_reason;
			reservation = (long)v->id;
		}
		if (llabs(start - old_start) < PLAN_SLACK &&
		    llabs(end - old_end) < PLAN_SLACK &&
		    hosts_same(p, res, old_hosts) &&
		    !strcmp(res->reason, old_reason ? old_reason : ""))
			continue;
		if (kept)   /* testing: what it skips needs no write */
			BUG("the plan row of %s was skipped as unchanged, and changed",
			    p->reqs[qi].what);
		hosts = hosts_text(p, res);
		XGROW(rows, alloc, n + 1);
		XGROW(texts, texts_alloc, n + 1);
		texts[n] = hosts;
		rows[n].flight = flight;
		rows[n].job = job;
		rows[n].reservation = reservation;
		rows[n].start = start;
		rows[n].end = end;
		rows[n].hosts = hosts;
		rows[n].reason = res->reason;
		n++;
	}
	rc = db_sched_write_plan(p->s->db, rows, n, err);
	if (!rc)   /* those writes are not logged: the copy takes them */
		db_sched_state_note_plan(p->s->state, rows, n);
	st->rows_written = (int)n;
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	free(rows);
	return rc;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

static int pass_act(struct pass *p, struct sched_stats *st, struct err *err)
{
	size_t nreqs = p->in.nreqs, nact = 0, act_alloc = 0;
	size_t *pos = xcalloc(nreqs + 1, sizeof(size_t)), *act = NULL;
	long *sf, *gf;
	const char **sj, **sr, **gj, **gh, **gr;
	size_t nstarved = 0, ngone = 0;
	int rc = 0, ended;

	if (db_sched_end_jobs(p->s->db, p->end_flight, p->end_job,
			      p->end_reason, p->nend, "blocked", err) < 0)
		rc = -1;
	st->ended += (int)p->nend;
	/* the few requests to act on, by their place in the queue: found
	 * walking the results in their order, as a walk in queue order
	 * jumps about all of them */
	for (size_t k = 0; k < nreqs; k++)
		pos[p->out.order[k]] = k;
	for (size_t qi = 0; qi < nreqs; qi++) {
		enum plan_outcome o = p->out.results[qi].outcome;

		if (o == PLAN_START || o == PLAN_BLOCKED_WINDOW ||
		    o == PLAN_STARVED || o == PLAN_HOST_GONE) {
			XGROW(act, act_alloc, nact + 1);
			act[nact++] = pos[qi];
		}
	}
	if (nact > 1)
		qsort(act, nact, sizeof(*act), cmp_size);
	sf = xcalloc(nact + 1, sizeof(long));
	sj = xcalloc(nact + 1, sizeof(char *));
	sr = xcalloc(nact + 1, sizeof(char *));
	gf = xcalloc(nact + 1, sizeof(long));
	gj = xcalloc(nact + 1, sizeof(char *));
	gh = xcalloc(nact + 1, sizeof(char *));
	gr = xcalloc(nact + 1, sizeof(char *));
	/* in queue order: what comes first gets its hosts first */
	for (size_t k = 0; k < nact && !rc; k++) {
		size_t qi = p->out.order[act[k]];
		const struct plan_result *res = &p->out.results[qi];
		int row = p->req_row[qi];

		if (res->outcome == PLAN_START)
			rc = pass_allocate(p, qi, st, err);
		else if (res->outcome == PLAN_BLOCKED_WINDOW)
			rc = pass_blockage(p, qi, st, err);
		else if (res->outcome == PLAN_STARVED && row >= 0) {
			sf[nstarved] = (long)p->snap.jobs[row].flight;
			sj[nstarved] = p->snap.jobs[row].job;
			sr[nstarved++] = res->reason;
		} else if (res->outcome == PLAN_HOST_GONE && row >= 0) {
			gf[ngone] = (long)p->snap.jobs[row].flight;
			gj[ngone] = p->snap.jobs[row].job;
			gh[ngone] = p->hosts[res->gone_host].name;
			gr[ngone++] = res->reason;
		}
	}
	if (!rc && db_sched_end_jobs(p->s->db, sf, sj, sr, nstarved,
				     "starved", err) < 0)
		rc = -1;
	st->ended += (int)nstarved;
	ended = rc ? 0 : db_sched_end_pinned(p->s->db, gf, gj, gh, gr, ngone,
					     err);
	if (ended < 0)
		rc = -1;
	for (size_t k = 0; ended == (int)ngone && k < ngone; k++)
		log_info("flight=%ld job=%s host=%s: ends broken: %s", gf[k],
			 gj[k], gh[k], gr[k]);
	st->ended += ended > 0 ? ended : 0;
	free(pos);
	free(act);
	free(sf);
	free(sj);
	free(sr);
	free(gf);
	free(gj);
	free(gh);
	free(gr);
	return rc;
}

static void pass_release(struct pass *p)
{
	for (size_t i = 0; i < p->in.nreqs; i++)
		free((void *)p->reqs[i].pinned);
	for (size_t r = 0; p->whats && r < p->snap.nres; r++)
		free(p->whats[r]);
	plan_output_release(&p->in, &p->out);
	flagsets_release(&p->flags);
	if (p->keep) {   /* the scheduler's, for the next pass */
		p->keep->in_use = 0;
	} else {
		free(p->hosts);
		free(p->busy);
		free(p->reqs);
		free(p->flights);
		free(p->req_row);
		free(p->row_req);
		free(p->row_end);
		free(p->dep_first);
		free(p->dep_rows);
		free(p->dep_target);
		free(p->deps);
		free(p->hist);
		free(p->row_what);
		free(p->row_pool);
		free(p->row_name);
		strmap_clear(&p->names_own);
	}
	free(p->whats);
	free(p->end_flight);
	free(p->end_job);
	free(p->end_reason);
	vec_clear(&p->reasons);
}

/* Learns the runs that finished since the last pass (the read brought
 * them: runs), and releases them. */
static void pass_learn(struct scheduler *s, struct sched_runs *runs)
{
	for (size_t i = 0; i < runs->n; i++) {
		const struct sched_run *r = &runs->v[i];

		est_add(&s->est, r->flight, r->job, r->host, r->failed,
			r->started, r->finished);
		if (r->finished > s->watermark)
			s->watermark = r->finished;
	}
	db_sched_runs_release(runs);
}

/*
 * A pass_keep of s for a pass to build in: one not in use that was last
 * built from keys, else one not in use, else NULL (the pass builds in
 * its own). Two: a check's pass (verify) plans the full read's copy
 * beside the kept copy's pass, and the next pass plans from that copy.
 */
static struct pass_keep *pass_keep_take(struct scheduler *s, uint64_t keys)
{
	struct pass_keep **slot = NULL;

	for (int i = 0; i < 2 && !slot; i++)
		if (s->keep[i] && !s->keep[i]->in_use &&
		    s->keep[i]->job_keys == keys)
			slot = &s->keep[i];
	for (int i = 0; i < 2 && !slot; i++)
		if (s->keep[i] && !s->keep[i]->in_use)
			slot = &s->keep[i];
	for (int i = 0; i < 2 && !slot; i++)
		if (!s->keep[i])
			slot = &s->keep[i];
	if (!slot)
		return NULL;
	if (!*slot)
		*slot = xcalloc(1, sizeof(**slot));
	(*slot)->in_use = 1;
	return *slot;
}

/* Builds the planner's input from snap into p: in buffers the scheduler
 * keeps, with what they kept from the last pass, if keep. */
static void pass_input(struct pass *p, struct scheduler *s,
		       const struct sched_snapshot *snap, int keep)
{
	p->s = s;
	p->snap = *snap;   /* a view: the state keeps the rows */
	p->in.now = p->snap.now;
	plan_config_default(&p->in.cfg);
	p->in.cfg.prevfail_bonus = s->cfg.prefer_failed_host;
	p->in.cfg.variation_max = s->cfg.spread_bonus;
	p->in.cfg.starvation = s->cfg.starvation;
	p->in.cfg.starve_wait = s->cfg.starvation_wait;
	p->in.cfg.starve_estimates = s->cfg.starvation_estimates;
	p->in.cfg.pinned_wait = s->cfg.pinned_wait;
	p->in.no_timeline = 1;   /* nothing here draws the plan */
	p->keep = keep ? pass_keep_take(s, snap->job_keys) : NULL;
	p->row_end = PASS_ARRAY(p, row_end, p->snap.njobs + 1);
	memset(p->row_end, 0, (p->snap.njobs + 1) * sizeof(*p->row_end));
	pass_index(p);
	pass_hosts(p);
	pass_busy(p);
	pass_jobs(p);
	pass_reservations(p);
}

static int text_differs(const char *a, const char *b)
{
	return !same_text(a, b);
}

/* Whether NULL-terminated lists a and b (or NULL) hold the same texts. */
static int list_differs(const char *const *a, const char *const *b)
{
	if (!a || !b)
		return a != b;
	for (; *a && *b; a++, b++)
		if (strcmp(*a, *b))
			return 1;
	return *a || *b;
}

/*
 * The first field in which the inputs of a and b differ, into what;
 * returns 0 when they are the same, field for field: texts and lists
 * by their contents, in the same order.
 */
static int pass_input_differs(const struct pass *a, const struct pass *b,
			      char *what, size_t len)
{
	const struct plan_input *x = &a->in, *y = &b->in;

	if (x->nhosts != y->nhosts || x->nbusy != y->nbusy ||
	    x->nreqs != y->nreqs || x->nflights != y->nflights ||
	    a->nend != b->nend || x->now != y->now) {
		snprintf(what, len, "counts: %zu/%zu hosts, %zu/%zu busy, %zu/%zu requests, %zu/%zu flights, %zu/%zu blocked",
			 x->nhosts, y->nhosts, x->nbusy, y->nbusy, x->nreqs,
			 y->nreqs, x->nflights, y->nflights, a->nend, b->nend);
		return 1;
	}
	for (size_t i = 0; i < x->nhosts; i++) {
		const struct plan_host *g = &x->hosts[i], *h = &y->hosts[i];

		if (text_differs(g->name, h->name) ||
		    text_differs(g->arch, h->arch) ||
		    list_differs(g->flags, h->flags) || g->usable != h->usable ||
		    text_differs(g->state, h->state) ||
		    text_differs(g->state_reason, h->state_reason) ||
		    g->unusable_since != h->unusable_since ||
		    g->share_slots != h->share_slots ||
		    g->share_worn != h->share_worn ||
		    text_differs(g->site, h->site)) {
			snprintf(what, len, "host %zu (%s)", i, g->name);
			return 1;
		}
	}
	for (size_t i = 0; i < x->nbusy; i++) {
		const struct plan_busy *g = &x->busy[i], *h = &y->busy[i];

		if (g->host != h->host || g->slot != h->slot ||
		    g->start != h->start || g->end != h->end ||
		    text_differs(g->what, h->what)) {
			snprintf(what, len, "busy %zu (%s)", i, g->what);
			return 1;
		}
	}
	for (size_t i = 0; i < x->nflights; i++) {
		const struct plan_flight *g = &x->flights[i], *h = &y->flights[i];

		if (g->flight != h->flight || g->done != h->done ||
		    g->waiting != h->waiting) {
			snprintf(what, len, "flight %ld", g->flight);
			return 1;
		}
	}
	for (size_t i = 0; i < x->nreqs; i++) {
		const struct plan_request *g = &x->reqs[i], *h = &y->reqs[i];
		int d = g->kind != h->kind || text_differs(g->what, h->what) ||
			g->priority != h->priority ||
			g->queued_at != h->queued_at ||
			g->is_build != h->is_build || g->flight != h->flight ||
			text_differs(g->arch, h->arch) ||
			list_differs(g->flags, h->flags) ||
			g->nhosts != h->nhosts || !g->pinned != !h->pinned ||
			g->duration != h->duration ||
			g->nhistory != h->nhistory || !g->history != !h->history ||
			g->not_before != h->not_before || g->ndeps != h->ndeps ||
			g->deps_end != h->deps_end ||
			text_differs(g->deps_what, h->deps_what) ||
			g->deps_pending != h->deps_pending ||
			g->never_starve != h->never_starve;

		for (int k = 0; !d && g->pinned && k < g->nhosts; k++)
			d = text_differs(g->pinned[k], h->pinned[k]);
		for (size_t k = 0; !d && k < g->nhistory; k++)
			d = g->history[k].host != h->history[k].host ||
			    g->history[k].duration != h->history[k].duration ||
			    g->history[k].last_run != h->history[k].last_run ||
			    g->history[k].last_failed !=
				    h->history[k].last_failed;
		for (size_t k = 0; !d && k < g->ndeps; k++)
			d = g->deps[k] != h->deps[k];
		if (d) {
			snprintf(what, len, "request %zu (%s)", i, g->what);
			return 1;
		}
	}
	for (size_t k = 0; k < a->nend; k++)
		if (a->end_flight[k] != b->end_flight[k] ||
		    strcmp(a->end_job[k], b->end_job[k]) ||
		    strcmp(a->end_reason[k], b->end_reason[k])) {
			snprintf(what, len, "blocked %ld.%s", a->end_flight[k],
				 a->end_job[k]);
			return 1;
		}
	return 0;
}

/* Builds the planner's input from snap and plans: again from the last
 * plan if st (which gets the figures), else from scratch (a check's plan
 * to compare with). */
static int pass_plan(struct pass *p, struct scheduler *s,
		     const struct sched_snapshot *snap, struct sched_stats *st)
{
	double t0 = now_ms();

	pass_input(p, s, snap, 1);
	if (s->verify) {
		/* testing: what it kept from the last pass changes nothing */
		struct pass r;
		char what[300];

		memset(&r, 0, sizeof(r));
		pass_input(&r, s, snap, 0);
		if (pass_input_differs(p, &r, what, sizeof(what)))
			BUG("the planner's input built with what the last pass kept differs from one built from scratch: %s",
			    what);
		pass_release(&r);
	}
	if (!st)
		return plan_compute(&p->in, &p->out);
	st->input_ms = now_ms() - t0;
	if (!s->memo)
		s->memo = plan_memo_new();
	return plan_compute_again(&p->in, &p->out, s->memo, &st->again);
}

/*
 * Whether two passes planned the same: every request, outcome, time,
 * host and reason, and the jobs they end. The first difference goes to
 * what.
 */
static int pass_same(const struct pass *a, const struct pass *b, char *what,
		     size_t len)
{
	if (a->in.nreqs != b->in.nreqs || a->in.nhosts != b->in.nhosts ||
	    a->nend != b->nend) {
		snprintf(what, len, "%zu/%zu requests, %zu/%zu hosts, %zu/%zu blocked",
			 a->in.nreqs, b->in.nreqs, a->in.nhosts, b->in.nhosts,
			 a->nend, b->nend);
		return 0;
	}
	for (size_t q = 0; q < a->in.nreqs; q++) {
		const struct plan_result *x = &a->out.results[q];
		const struct plan_result *y = &b->out.results[q];
		int same = !strcmp(a->reqs[q].what, b->reqs[q].what) &&
			   a->out.order[q] == b->out.order[q] &&
			   x->outcome == y->outcome && x->start == y->start &&
			   x->end == y->end && x->nbooked == y->nbooked &&
			   !strcmp(x->reason, y->reason);

		for (size_t k = 0; same && k < x->nbooked; k++)
			same = x->hosts[k].slot == y->hosts[k].slot &&
			       !strcmp(a->hosts[x->hosts[k].host].name,
				       b->hosts[y->hosts[k].host].name);
		if (!same) {
			snprintf(what, len,
				 "%s: %s %lld-%lld (%s) against %s %s %lld-%lld (%s)",
				 a->reqs[q].what, plan_outcome_str(x->outcome),
				 (long long)x->start, (long long)x->end,
				 x->reason, b->reqs[q].what,
				 plan_outcome_str(y->outcome),
				 (long long)y->start, (long long)y->end,
				 y->reason);
			return 0;
		}
	}
	for (size_t k = 0; k < a->nend; k++)
		if (a->end_flight[k] != b->end_flight[k] ||
		    strcmp(a->end_job[k], b->end_job[k])) {
			snprintf(what, len, "blocked %ld.%s against %ld.%s",
				 a->end_flight[k], a->end_job[k],
				 b->end_flight[k], b->end_job[k]);
			return 0;
		}
	return 1;
}

/* A read older than this may have lost log entries another scheduler
 * trimmed (they are kept CHANGES_KEEP): read everything instead. */
#define CHANGES_KEEP 900
#define CHANGES_STALE 300

/*
 * Brings s->state up to date: all of it, or what changed, or (a check)
 * both in one snapshot, comparing them. *checked: it also has the full
 * read in s->check (the copy's plan is to be compared with its); a read
 * again in the same pass (*checked as the first left it) checks again
 * if the first did, as the check's copy is to be the truth after it.
 * more: as db_sched_state_read(), or NULL.
 */
static int pass_read(struct scheduler *s, struct sched_stats *st,
		     int *checked, struct sched_read_more *more,
		     int again, struct err *err)
{
	double t = now_ms();
	int all = 0, check, rc;

	if (!s->state)
		s->state = db_sched_state_new();
	if (s->last_read_ms && t - s->last_read_ms > CHANGES_STALE * 1e3)
		db_sched_state_invalidate(s->state);
	check = db_sched_state_valid(s->state) &&
		(s->verify || (again && *checked) ||
		 t - s->last_full_ms >= (double)s->cfg.full_read_interval * 1e3);
	*checked = 0;
	if (check && !s->check) {
		s->check = db_sched_state_new();
	} else if (!check && s->check) {
		/* the copy a check replaced: the pass that used it is over */
		db_sched_state_free(s->check);
		s->check = NULL;
	}
	rc = db_sched_state_read(s->db, s->state, check ? s->check : NULL, &all,
				 more, err);
	if (rc < 0)
		return rc;
	s->last_read_ms = t;
	if (check) {
		char what[512];
		long n = db_sched_state_diff(s->state, s->check, what,
					     sizeof(what));

		/* a read again finds the same rows wrong: counted once */
		if (n && !st->differences) {
			log_warnx("CHECK FAILED: the full read found %ld rows the kept copy had wrong (first: %s); planning from the full read",
				  n, what);
			s->differences += n;
			st->differences = n;
		}
		*checked = 1;
	}
	st->full |= all;   /* the kept copy was read whole */
	if (all || check) {
		s->last_full_ms = t;
		/* the leader trims the log it has read; a test's schedulers
		 * without the lock leave it (another may not have read it) */
		if (s->leader && !s->no_leader &&
		    db_sched_state_trim(s->db, check ? s->check : s->state,
					  CHANGES_KEEP, err) < 0)
			return err->code;
	}
	return 0;
}

int scheduler_pass(struct scheduler *s, struct sched_stats *st,
		   struct err *err)
{
	struct pass p, q;
	struct sched_runs runs = { 0 };
	struct sched_read_more more = { .runs = &runs };
	uint64_t stored;
	double t0 = now_ms(), t1, t2;
	int rc, checked = 0, due;

	memset(st, 0, sizeof(*st));
	memset(&p, 0, sizeof(p));
	memset(&q, 0, sizeof(q));
	/* the plan rows as the last pass left them, if it got that far:
	 * this pass plans again (the memo moves) before it writes */
	stored = s->plan_stored;
	s->plan_stored = 0;
	s->expiry_known = 0;
	if (!s->watermark)
		s->watermark = (plan_time)time(NULL) - s->cfg.estimate_window;
	more.runs_since = s->watermark - RUNS_OVERLAP;
	more.verify = s->verify;
	if (pass_read(s, st, &checked, &more, 0, err) < 0) {
		db_sched_runs_release(&runs);   /* the trim failed: again */
		goto fail;
	}
	pass_learn(s, &runs);
	/*
	 * Give back what dead owners hold: only when the snapshot just read
	 * has something to give back (its copy is exact, and the log names
	 * every other change), then read what that changed, so this pass
	 * plans with it as if given back first. A reclaim that runs first,
	 * every pass, cost five statements over every lease and allocation.
	 */
	due = db_sched_reclaim_due(db_sched_state_snapshot(checked ? s->check
								  : s->state),
				   more.expired);
	if (s->verify && more.held && !due) {
		err_set(err, ERR_FAIL, "the copy has nothing to reclaim, the database has");
		goto fail;
	}
	if (due) {
		rc = db_sched_reclaim(s->db, err);
		if (rc < 0)
			goto fail;
		st->reclaimed = rc;
		if (rc > 0 && pass_read(s, st, &checked, NULL, 1, err) < 0)
			goto fail;
	}
	t1 = now_ms();
	rc = pass_plan(&p, s, db_sched_state_snapshot(s->state), st);
	if (checked && s->verify) {
		char what[600];

		pass_plan(&q, s, db_sched_state_snapshot(s->check), NULL);
		if (!pass_same(&p, &q, what, sizeof(what)) || st->differences) {
			err_set(err, ERR_FAIL, "the kept copy plans otherwise than a full read: %s",
				st->differences ? "its rows differ" : what);
			pass_release(&q);
			pass_release(&p);
			goto fail;
		}
		pass_release(&q);
	}
	if (checked) {   /* the full read is the truth from now on */
		struct sched_state *x = s->state;

		s->state = s->check;
		s->check = x;
		/* p's rows are the kept copy's, still alive in s->check
		 * until the next check; when they differ, plan again */
		if (st->differences) {
			pass_release(&p);
			memset(&p, 0, sizeof(p));
			rc = pass_plan(&p, s, db_sched_state_snapshot(s->state),
				       st);
		}
	}
	t2 = now_ms();
	/* the snapshot's clock is whole seconds, rounded to the nearest:
	 * waking this long after it (and a little more, in the loop) finds
	 * the change due */
	s->next_change_ms = p.out.next_change < PLAN_NEVER
		? t1 + (double)(p.out.next_change - p.snap.now) * 1e3 : 0;
	if (rc < 0)
		log_warnx("the snapshot names hosts it does not have");
	st->queued = (int)p.in.nreqs;
	st->hosts = (int)p.in.nhosts;
	rc = pass_act(&p, st, err);
	if (!rc)
		rc = pass_write_plan(&p, stored, st, err);
	if (!rc)
		s->plan_stored = p.snap.read_no;
	st->read_ms = t1 - t0;
	st->plan_ms = t2 - t1;
	st->write_ms = now_ms() - t2;
	st->total_ms = now_ms() - t0;
	/* with the next expiry for the loop: one round trip, not two */
	if (!rc)
		rc = db_sched_write_state(s->db, s->name, st->total_ms,
					  st->queued, st->hosts, st->allocated,
					  st->differences, &s->next_expiry, err);
	s->expiry_known = !rc;
	pass_release(&p);
	if (rc < 0)   /* a lost connection, say: read all again */
		db_sched_state_invalidate(s->state);
	return rc < 0 ? err->code : 0;
fail:
	db_sched_state_invalidate(s->state);
	return err->code;
}

/* ---- the daemon ---- */

int scheduler_loop(struct scheduler *s, volatile sig_atomic_t *stop,
		   volatile sig_atomic_t *hup, struct err *err)
{
	static const char *const channels[] = { "hangar_sched", "hangar_lab", NULL };
	struct db_keep keep = { .channels = channels };
	int again = 0;
	int *leader = &s->leader;

	if (db_listen(s->db, "hangar_sched", err) < 0 ||
	    db_listen(s->db, "hangar_lab", err) < 0)
		return err->code;
	while (!*stop && !*hup) {
		struct sched_stats st;
		int wait_ms, rc = 0;

		if (db_keep_log(db_keep(s->db, &keep, err), err) == DB_KEEP_LOST) {
			*leader = 0;   /* the lock went with the session */
			/* notifications and our snapshot's place in the log
			 * may be lost with it: read everything again */
			db_sched_state_invalidate(s->state);
		}
		err_clear(err);
		if (keep.down) {
			proc_nap_ms(db_keep_wait_ms(&keep));
			continue;
		}
		if (!*leader && !s->no_leader) {
			rc = db_sched_try_leader(s->db, err);
			if (rc == 1) {
				log_info("%s leads", s->name);
				/* what another leader did while this one stood
				 * by: read everything */
				db_sched_state_invalidate(s->state);
			}
			*leader = rc == 1;
		}
		again = 0;
		if (rc >= 0 && (*leader || s->no_leader)) {
			rc = scheduler_pass(s, &st, err);
			if (!rc && (st.allocated || st.ended || st.reclaimed))
				log_info("pass %.1f ms: %d waiting, %d allocated, %d ended, %d reclaimed",
					 st.total_ms, st.queued, st.allocated,
					 st.ended, st.reclaimed);
			/* jobs it ended or took back change what others wait
			 * for; its own writes do not wake it, so look again */
			again = !rc && (st.ended || st.reclaimed);
		}
		if (rc < 0 && !db_connection_ok(s->db)) {
			err_clear(err);   /* said once, by db_keep() */
			continue;
		} else if (rc < 0) {
			log_warnx("%s", err->msg);
			err_clear(err);
			wait_ms = 1000;
		} else {
			long next;

			/* a standby asks for the lock every few seconds */
			wait_ms = (int)(*leader || s->no_leader ? s->cfg.interval
							        : 5) * 1000;
			if (!*leader && !s->no_leader && s->cfg.interval < 5)
				wait_ms = (int)s->cfg.interval * 1000;
			/* a dead worker's hosts come back when its lease
			 * ends, not up to an interval later (the pass asked
			 * when, as it wrote its figures) */
			next = !*leader && !s->no_leader ? -1
			       : s->expiry_known ? s->next_expiry
			       : db_sched_next_expiry(s->db, err);
			s->expiry_known = 0;
			if (next < -1) {
				log_warnx("%s", err->msg);
				err_clear(err);
			} else if (next >= 0 && next + 100 < wait_ms) {
				wait_ms = (int)next + 100;
			}
			/* and a pinned job gives up on its host on time */
			if ((*leader || s->no_leader) && s->next_change_ms > 0) {
				double left = s->next_change_ms - now_ms();

				left = left > 0 ? left : 0;
				if (left + 100 < wait_ms)
					wait_ms = (int)left + 100;
			}
		}
		rc = db_wait_notify(s->db, again ? 0 : wait_ms, err);
		if (rc < 0) {
			if (db_connection_ok(s->db))
				log_warnx("%s", err->msg);
			err_clear(err);
			continue;
		}
		/* a burst of changes (a flight of jobs) is one pass */
		if (rc == 1)
			while (!*stop && db_wait_notify(s->db, 50, err) == 1)
				;
	}
	return 0;
}
