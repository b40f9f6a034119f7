/*
 * test-plan.c: the planner's pure core (scheduler/plan.h). Each test builds
 * a small lab by hand (hosts, what holds them now, requests), runs
 * plan_compute and checks outcomes, start times and hosts: the queue
 * order, conservative backfill, matching (arch, flags, equivalence
 * classes, pins, unusable hosts), busy entries, share slots, reservations,
 * blockages, dependencies, starvation and OSSTest's host-choice weights.
 *
 * Three tests plan the same random small labs (fixed seed): every result
 * against the input (matching, times, slots, a timeline without overlaps);
 * the backfill guarantee (planning only the requests up to one in queue
 * order gives it the same booking, so nothing behind it delays it); and
 * determinism (the same input twice gives the same plan). A fourth plans
 * bigger random labs with and without the pruned host search and wants
 * the very same plan.
 *
 * Times are printed relative to "now" (NOW), in seconds.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "plan.h"
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MINUTE ((plan_time)60)
#define HOUR ((plan_time)3600)
#define DAY (24 * HOUR)
#define NOW ((plan_time)1700000000)

/*
 * A NULL-terminated flag list: FLAGS("hvm", "equiv-1"). A compound literal
 * lives until the end of its block: plan within that block.
 */
#define FLAGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
static const char *const no_flags[] = { NULL };
static const char *const share_s[] = { "share-s", NULL };
static const char *const pin_h[][2] = {
	{ "h0", NULL }, { "h1", NULL }, { "h2", NULL }, { "h3", NULL },
};

#define MAX_HOSTS 8
#define MAX_BUSY 16
#define MAX_REQS 16
#define MAX_FLIGHTS 4

#define ANY_HOST (-1L)

/* ---- the fixture: one plan input and its output ---- */

struct fx {
	struct plan_input in;
	struct plan_output out;
	int planned;
	struct plan_host hosts[MAX_HOSTS];
	struct plan_busy busy[MAX_BUSY];
	struct plan_request reqs[MAX_REQS];
	struct plan_flight flights[MAX_FLIGHTS];
};

/* Empty lab at NOW with the default configuration, no flights. */
static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->in.now = NOW;
	plan_config_default(&f->in.cfg);
	f->in.hosts = f->hosts;
	f->in.busy = f->busy;
	f->in.reqs = f->reqs;
	f->in.flights = f->flights;
}

/* Adds a usable host; returns its index. */
static size_t fx_host(struct fx *f, const char *name, const char *arch,
		      const char *const *flags)
{
	struct plan_host *h;

	assert_true(f->in.nhosts < MAX_HOSTS);
	h = &f->hosts[f->in.nhosts];
	h->name = name;
	h->arch = arch;
	h->flags = flags ? flags : no_flags;
	h->usable = 1;
	return f->in.nhosts++;
}

/* A share-T host with slots slots. */
static size_t fx_share_host(struct fx *f, const char *name,
			    const char *const *flags, int slots)
{
	size_t h = fx_host(f, name, "amd64", flags);

	f->hosts[h].share_slots = slots;
	return h;
}

/* Host h (slot, or -1 for all of it) is held over [start, end). */
static void fx_busy(struct fx *f, size_t host, int slot, plan_time start,
		    plan_time end)
{
	struct plan_busy *b;

	assert_true(f->in.nbusy < MAX_BUSY);
	b = &f->busy[f->in.nbusy++];
	b->host = host;
	b->slot = slot;
	b->start = start;
	b->end = end;
	b->what = "busy";
}

/* Adds a one-host job of flight 1, priority 0, queued at NOW - 1h. */
static struct plan_request *fx_job(struct fx *f, const char *what,
				   plan_time duration)
{
	struct plan_request *r;

	assert_true(f->in.nreqs < MAX_REQS);
	r = &f->reqs[f->in.nreqs++];
	r->kind = PLAN_JOB;
	r->what = what;
	r->queued_at = NOW - HOUR;
	r->flight = 1;
	r->flags = no_flags;
	r->nhosts = 1;
	r->duration = duration;
	return r;
}

/* A blockage of every matching host over [start, start + duration). */
static struct plan_request *fx_blockage(struct fx *f, const char *what,
					plan_time start, plan_time duration)
{
	struct plan_request *r = fx_job(f, what, duration);

	r->kind = PLAN_BLOCKAGE;
	r->flight = 0;
	r->not_before = start;
	return r;
}

static struct plan_flight *fx_flight(struct fx *f, long flight, int done,
				     int waiting)
{
	struct plan_flight *fl;

	assert_true(f->in.nflights < MAX_FLIGHTS);
	fl = &f->flights[f->in.nflights++];
	fl->flight = flight;
	fl->done = done;
	fl->waiting = waiting;
	return fl;
}

static void fx_plan(struct fx *f)
{
	int rc;

	memset(&f->out, 0, sizeof(f->out));
	rc = plan_compute(&f->in, &f->out);
	if (rc != 0)
		fail_msg("plan_compute returned %d", rc);
	f->planned = 1;
}

static void fx_release(struct fx *f)
{
	if (f->planned)
		plan_output_release(&f->in, &f->out);
	f->planned = 0;
}

static size_t req_index(const struct fx *f, const struct plan_request *r)
{
	return (size_t)(r - f->reqs);
}

static const struct plan_result *res(const struct fx *f,
				     const struct plan_request *r)
{
	return &f->out.results[req_index(f, r)];
}

/* "now+3600", "never" */
static const char *fmt_time(plan_time t, char *buf, size_t n)
{
	if (t == PLAN_NEVER)
		snprintf(buf, n, "never");
	else
		snprintf(buf, n, "now%+" PRId64, (int64_t)(t - NOW));
	return buf;
}

/* One result, for failure messages: "a: wait now+3600..now+7200 [1/-1]". */
static const char *describe(const struct fx *f, size_t i, char *buf, size_t n)
{
	const struct plan_result *r = &f->out.results[i];
	size_t nh = f->reqs[i].kind == PLAN_BLOCKAGE ? r->nbooked :
		    (r->outcome == PLAN_START || r->outcome == PLAN_WAIT) ?
		    (size_t)f->reqs[i].nhosts : 0;
	char s[32], e[32];
	int len;

	len = snprintf(buf, n, "%s: %s %s..%s [", f->reqs[i].what,
		       plan_outcome_str(r->outcome),
		       fmt_time(r->start, s, sizeof(s)),
		       fmt_time(r->end, e, sizeof(e)));
	for (size_t k = 0; k < nh && len > 0 && (size_t)len < n; k++)
		len += snprintf(buf + len, n - (size_t)len, "%s%zu/%d",
				k ? " " : "", r->hosts[k].host,
				r->hosts[k].slot);
	if (len > 0 && (size_t)len < n)
		snprintf(buf + len, n - (size_t)len, "] (%s)", r->reason);
	return buf;
}

static void print_plan(const struct fx *f)
{
	char buf[512];

	for (size_t i = 0; i < f->in.nreqs; i++)
		print_error("#   %s\n", describe(f, i, buf, sizeof(buf)));
}

/*
 * r has outcome and start, and (unless host is ANY_HOST) its first host
 * is host; prints the whole plan when not.
 */
static void expect(const struct fx *f, const struct plan_request *r,
		   enum plan_outcome outcome, plan_time start, long host)
{
	const struct plan_result *p = res(f, r);
	char want[32], buf[512];

	if (p->outcome == outcome && p->start == start &&
	    (host == ANY_HOST || (p->hosts && (long)p->hosts[0].host == host)))
		return;
	print_plan(f);
	fail_msg("%s: want %s at %s on host %ld, got %s", r->what,
		 plan_outcome_str(outcome), fmt_time(start, want, sizeof(want)),
		 host, describe(f, req_index(f, r), buf, sizeof(buf)));
}

static void expect_end(const struct fx *f, const struct plan_request *r,
		       plan_time end)
{
	char want[32], buf[512];

	if (res(f, r)->end == end)
		return;
	print_plan(f);
	fail_msg("%s: want end %s, got %s", r->what,
		 fmt_time(end, want, sizeof(want)),
		 describe(f, req_index(f, r), buf, sizeof(buf)));
}

static void expect_no_host(const struct fx *f, const struct plan_request *r)
{
	const struct plan_result *p = res(f, r);
	char buf[512];

	if (p->outcome == PLAN_NO_HOST && p->start == PLAN_NEVER &&
	    p->end == PLAN_NEVER)
		return;
	print_plan(f);
	fail_msg("%s: want no-host never..never, got %s", r->what,
		 describe(f, req_index(f, r), buf, sizeof(buf)));
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* r's hosts, as a set, are want[0..n). */
static void expect_hosts(const struct fx *f, const struct plan_request *r,
			 const size_t *want, size_t n)
{
	const struct plan_result *p = res(f, r);
	size_t got[MAX_HOSTS], w[MAX_HOSTS];
	size_t ngot = r->kind == PLAN_BLOCKAGE ? p->nbooked : (size_t)r->nhosts;
	char buf[512];

	assert_true(n <= MAX_HOSTS && ngot <= MAX_HOSTS);
	for (size_t k = 0; k < ngot; k++)
		got[k] = p->hosts[k].host;
	memcpy(w, want, n * sizeof(*w));
	qsort(got, ngot, sizeof(*got), cmp_size);
	qsort(w, n, sizeof(*w), cmp_size);
	if (ngot == n && !memcmp(got, w, n * sizeof(*w)))
		return;
	print_plan(f);
	fail_msg("%s: not on the expected %zu hosts: %s", r->what, n,
		 describe(f, req_index(f, r), buf, sizeof(buf)));
}

/* Whether request r has a booking on host h in the timeline. */
static int in_timeline(const struct fx *f, size_t h,
		       const struct plan_request *r)
{
	for (size_t k = 0; k < f->out.ntimeline[h]; k++)
		if (f->out.timeline[h][k].req == (long)req_index(f, r))
			return 1;
	return 0;
}

/* ---- the small things ---- */

static void test_config_default(void **state)
{
	struct plan_config cfg;

	(void)state;
	memset(&cfg, 0x5a, sizeof(cfg));
	plan_config_default(&cfg);
	assert_int_equal(cfg.prevfail_bonus, 7 * DAY);
	assert_int_equal(cfg.variation_max, 12 * HOUR);
	assert_int_equal(cfg.starvation, 1);
	assert_int_equal(cfg.starve_wait, 4 * HOUR);
	assert_int_equal(cfg.starve_estimates, 4);
	assert_int_equal(cfg.pinned_wait, HOUR);
}

static void test_outcome_str(void **state)
{
	static const struct {
		enum plan_outcome o;
		const char *s;
	} cases[] = {
		{ PLAN_START, "start" },
		{ PLAN_WAIT, "wait" },
		{ PLAN_NO_HOST, "no-host" },
		{ PLAN_STARVED, "starved" },
		{ PLAN_HOST_GONE, "host-gone" },
		{ PLAN_BLOCKED_WINDOW, "blockage" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_string_equal(plan_outcome_str(cases[i].o), cases[i].s);
}

static void test_empty(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_plan(&f);
	assert_int_equal(f.out.ntimeline[0], 0);
	fx_release(&f);

	/* no hosts at all: every job is no-host */
	fx_init(&f);
	fx_job(&f, "a", HOUR);
	fx_plan(&f);
	expect_no_host(&f, &f.reqs[0]);
	fx_release(&f);
}

static void test_inconsistent_input(void **state)
{
	struct plan_output out;
	struct fx f;
	int rc;

	(void)state;
	/* a busy entry naming no host */
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_busy(&f, 1, -1, NOW, NOW + HOUR);
	fx_job(&f, "a", HOUR);
	memset(&out, 0, sizeof(out));
	rc = plan_compute(&f.in, &out);
	/* out may be filled all the same: releasing it is always safe */
	plan_output_release(&f.in, &out);
	assert_int_equal(rc, -1);

	/* a pin naming no host: that request cannot run, the rest plans */
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_job(&f, "a", HOUR)->pinned = FLAGS("nosuch");
	memset(&out, 0, sizeof(out));
	rc = plan_compute(&f.in, &out);
	assert_int_equal(rc, 0);
	assert_int_equal(out.results[0].outcome, PLAN_NO_HOST);
	plan_output_release(&f.in, &out);
}

/* ---- queue order ---- */

struct order_req {
	int priority;
	plan_time queued_at; /* relative to NOW */
	long flight;
	int is_build;
};

/*
 * On one host, one-hour jobs run back to back in queue order, so the
 * order shows in out->order and in the start times.
 */
static void test_queue_order(void **state)
{
	static const struct {
		const char *what;
		struct order_req reqs[5];
		size_t n;
		size_t order[5];
	} cases[] = {
		{ "priority", { { 0, 0, 1, 0 }, { 5, 0, 1, 0 } }, 2, { 1, 0 } },
		{ "negative priority", { { -5, 0, 1, 0 }, { 0, 0, 1, 0 } }, 2,
		  { 1, 0 } },
		{ "fifo", { { 0, -100, 1, 0 }, { 0, -200, 1, 0 } }, 2,
		  { 1, 0 } },
		{ "flight", { { 0, -100, 7, 0 }, { 0, -100, 5, 0 } }, 2,
		  { 1, 0 } },
		{ "build first", { { 0, -100, 5, 0 }, { 0, -100, 5, 1 } }, 2,
		  { 1, 0 } },
		{ "input order", { { 0, -100, 5, 1 }, { 0, -100, 5, 1 } }, 2,
		  { 0, 1 } },
		{ "priority over fifo",
		  { { 0, -900, 1, 0 }, { 1, -100, 1, 0 } }, 2, { 1, 0 } },
		{ "fifo over flight",
		  { { 0, -100, 1, 0 }, { 0, -200, 9, 0 } }, 2, { 1, 0 } },
		{ "flight over build",
		  { { 0, -100, 2, 1 }, { 0, -100, 1, 0 } }, 2, { 1, 0 } },
		{ "all keys",
		  { { 0, -100, 3, 0 },	/* 3rd: flight 3 */
		    { 0, -100, 3, 1 },	/* 2nd: its build */
		    { 0, -50, 1, 1 },	/* 4th: queued later */
		    { 2, 0, 9, 0 },	/* 1st: priority */
		    { 0, -100, 3, 0 } },	/* 4th: input order */
		  5, { 3, 1, 0, 4, 2 } },
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct fx f;

		fx_init(&f);
		fx_host(&f, "h0", "amd64", NULL);
		for (size_t i = 0; i < cases[c].n; i++) {
			const struct order_req *o = &cases[c].reqs[i];
			struct plan_request *r = fx_job(&f, "job", HOUR);

			r->priority = o->priority;
			r->queued_at = NOW + o->queued_at;
			r->flight = o->flight;
			r->is_build = o->is_build;
		}
		fx_plan(&f);
		for (size_t k = 0; k < cases[c].n; k++) {
			size_t i = cases[c].order[k];
			const struct plan_result *p = &f.out.results[i];

			if (f.out.order[k] != i)
				fail_msg("case '%s': order[%zu] is %zu, want "
					 "%zu", cases[c].what, k,
					 f.out.order[k], i);
			if (p->outcome != (k ? PLAN_WAIT : PLAN_START) ||
			    p->start != NOW + (plan_time)k * HOUR) {
				print_plan(&f);
				fail_msg("case '%s': request %zu should start "
					 "at now+%zuh", cases[c].what, i, k);
			}
		}
		fx_release(&f);
	}
}

/* ---- backfill ---- */

/*
 * A high-priority job must wait an hour (not_before), leaving a one-hour
 * hole on the only host: a shorter job fills it, one that fits exactly
 * too, a longer one goes after the booking.
 */
static void test_backfill_hole(void **state)
{
	static const struct {
		plan_time duration;
		enum plan_outcome outcome;
		plan_time start;
	} cases[] = {
		{ 30 * MINUTE, PLAN_START, NOW },
		{ HOUR, PLAN_START, NOW },
		{ HOUR + 1, PLAN_WAIT, NOW + 2 * HOUR },
		{ 2 * HOUR, PLAN_WAIT, NOW + 2 * HOUR },
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct plan_request *big, *small;
		struct fx f;

		fx_init(&f);
		fx_host(&f, "h0", "amd64", NULL);
		big = fx_job(&f, "big", HOUR);
		big->priority = 10;
		big->not_before = NOW + HOUR;
		small = fx_job(&f, "small", cases[c].duration);
		fx_plan(&f);
		expect(&f, big, PLAN_WAIT, NOW + HOUR, 0);
		expect(&f, small, cases[c].outcome, cases[c].start, 0);
		expect_end(&f, small, cases[c].start + cases[c].duration);
		fx_release(&f);
	}
}

/*
 * The same with two hosts and a two-host job: h0 is busy for an hour, so
 * the big job waits for it and h1 has a one-hour hole. A short job takes
 * the hole on h1; a long one waits for the big job, and neither moves it.
 */
static void test_backfill_two_hosts(void **state)
{
	struct plan_request *big, *shortj, *longj;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	fx_busy(&f, 0, -1, NOW - HOUR, NOW + HOUR);
	big = fx_job(&f, "big", 2 * HOUR);
	big->priority = 10;
	big->nhosts = 2;
	longj = fx_job(&f, "long", 2 * HOUR);
	shortj = fx_job(&f, "short", 30 * MINUTE);
	fx_plan(&f);
	expect(&f, big, PLAN_WAIT, NOW + HOUR, ANY_HOST);
	expect_hosts(&f, big, (const size_t[]){ 0, 1 }, 2);
	expect(&f, shortj, PLAN_START, NOW, 1);
	expect(&f, longj, PLAN_WAIT, NOW + 3 * HOUR, ANY_HOST);
	fx_release(&f);
}

/* ---- matching ---- */

/*
 * As many identical one-hour jobs as hosts: the ones that start now take
 * exactly the hosts that match, one each; the others wait for them.
 */
static void test_match_arch_flags(void **state)
{
	const struct {
		const char *what;
		const char *arch;
		const char *const *flags;
		unsigned hosts; /* bit h: host h matches */
	} cases[] = {
		{ "any arch", NULL, no_flags, 0x1f },
		{ "amd64", "amd64", no_flags, 0x1e },
		{ "amd64 hvm", "amd64", FLAGS("hvm"), 0x0c },
		{ "hvm, any arch", NULL, FLAGS("hvm"), 0x0c },
		{ "two flags", NULL, FLAGS("hvm", "iommu"), 0x08 },
		{ "arm64", "arm64", no_flags, 0x01 },
		{ "arm64 hvm", "arm64", FLAGS("hvm"), 0 },
		{ "no such arch", "i386", no_flags, 0 },
		{ "no such flag", NULL, FLAGS("nosuch"), 0 },
		{ "equiv is not required", "amd64", FLAGS("equiv-1"), 0x1e },
		{ "another share class", NULL, FLAGS("share-b"), 0 },
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		unsigned got = 0;
		struct fx f;

		fx_init(&f);
		fx_host(&f, "h0", "arm64", NULL);
		fx_host(&f, "h1", "amd64", NULL);
		fx_host(&f, "h2", "amd64", FLAGS("hvm"));
		fx_host(&f, "h3", "amd64", FLAGS("iommu", "hvm"));
		fx_share_host(&f, "h4", FLAGS("share-a"), 2);
		/* in maintenance: matches everything but is never chosen */
		fx_host(&f, "h5", "arm64", FLAGS("hvm", "iommu"));
		f.hosts[5].usable = 0;
		for (size_t i = 0; i < 6; i++) {
			struct plan_request *r;

			r = fx_job(&f, cases[c].what, HOUR);
			r->arch = cases[c].arch;
			r->flags = cases[c].flags;
		}
		fx_plan(&f);
		for (size_t i = 0; i < 6; i++) {
			const struct plan_request *r = &f.reqs[i];
			const struct plan_result *p = res(&f, r);

			if (!cases[c].hosts) {
				expect_no_host(&f, r);
				continue;
			}
			if (p->outcome == PLAN_START &&
			    p->hosts[0].host < 8 &&
			    !(got & 1u << p->hosts[0].host)) {
				got |= 1u << p->hosts[0].host;
				continue;
			}
			/* the hosts are all taken: wait for one */
			if (p->outcome != PLAN_WAIT || p->start <= NOW ||
			    p->hosts[0].host >= 8 ||
			    !(cases[c].hosts & 1u << p->hosts[0].host)) {
				print_plan(&f);
				fail_msg("case '%s': job %zu should wait for "
					 "a matching host", cases[c].what, i);
			}
		}
		if (got != cases[c].hosts) {
			print_plan(&f);
			fail_msg("case '%s': started on hosts 0x%x, want 0x%x",
				 cases[c].what, got, cases[c].hosts);
		}
		fx_release(&f);
	}
}

/* Hosts in maintenance, broken or retired are never chosen. */
static void test_unusable_never_chosen(void **state)
{
	struct plan_request *a, *b;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	f.hosts[0].usable = 0;
	fx_busy(&f, 1, -1, NOW - HOUR, NOW + HOUR);
	a = fx_job(&f, "a", HOUR);
	b = fx_job(&f, "b", HOUR);
	fx_plan(&f);
	expect(&f, a, PLAN_WAIT, NOW + HOUR, 1);
	expect(&f, b, PLAN_WAIT, NOW + 2 * HOUR, 1);
	assert_int_equal(f.out.ntimeline[0], 0);
	fx_release(&f);

	/* none usable: no host, whatever the wait */
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	f.hosts[0].usable = 0;
	f.hosts[1].usable = 0;
	a = fx_job(&f, "a", HOUR);
	b = fx_job(&f, "b", HOUR);
	b->nhosts = 2;
	fx_plan(&f);
	expect_no_host(&f, a);
	expect_no_host(&f, b);
	assert_int_equal(f.out.ntimeline[0] + f.out.ntimeline[1], 0);
	fx_release(&f);
}

/* A no-host request takes nothing from the others. */
static void test_no_host_books_nothing(void **state)
{
	struct plan_request *a, *b;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	a = fx_job(&f, "a", HOUR);
	a->priority = 5;
	a->nhosts = 2;
	b = fx_job(&f, "b", HOUR);
	fx_plan(&f);
	expect_no_host(&f, a);
	expect(&f, b, PLAN_START, NOW, 0);
	assert_int_equal(f.out.ntimeline[0], 1);
	fx_release(&f);
}

/* ---- equivalence classes ---- */

static void test_equiv_same_class(void **state)
{
	struct plan_request *r;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", FLAGS("equiv-x"));
	fx_host(&f, "h2", "amd64", FLAGS("equiv-y"));
	fx_host(&f, "h3", "amd64", FLAGS("hvm", "equiv-x"));
	r = fx_job(&f, "pair", HOUR);
	r->nhosts = 2;
	r->flags = FLAGS("equiv-1");
	fx_plan(&f);
	expect(&f, r, PLAN_START, NOW, ANY_HOST);
	expect_hosts(&f, r, (const size_t[]){ 1, 3 }, 2);
	fx_release(&f);
}

/* The class whose hosts are free first wins. */
static void test_equiv_earliest_class(void **state)
{
	struct plan_request *r;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", FLAGS("equiv-x"));
	fx_host(&f, "h1", "amd64", FLAGS("equiv-x"));
	fx_host(&f, "h2", "amd64", FLAGS("equiv-y"));
	fx_host(&f, "h3", "amd64", FLAGS("equiv-y"));
	fx_busy(&f, 0, -1, NOW - HOUR, NOW + HOUR);
	r = fx_job(&f, "pair", HOUR);
	r->nhosts = 2;
	r->flags = FLAGS("equiv-1");
	fx_plan(&f);
	expect(&f, r, PLAN_START, NOW, ANY_HOST);
	expect_hosts(&f, r, (const size_t[]){ 2, 3 }, 2);
	fx_release(&f);

	/* every class busy: the one free first, even if not lowest */
	fx_init(&f);
	fx_host(&f, "h0", "amd64", FLAGS("equiv-x"));
	fx_host(&f, "h1", "amd64", FLAGS("equiv-x"));
	fx_host(&f, "h2", "amd64", FLAGS("equiv-y"));
	fx_host(&f, "h3", "amd64", FLAGS("equiv-y"));
	fx_busy(&f, 0, -1, NOW - HOUR, NOW + 2 * HOUR);
	fx_busy(&f, 3, -1, NOW - HOUR, NOW + HOUR);
	r = fx_job(&f, "pair", HOUR);
	r->nhosts = 2;
	r->flags = FLAGS("equiv-1");
	fx_plan(&f);
	expect(&f, r, PLAN_WAIT, NOW + HOUR, ANY_HOST);
	expect_hosts(&f, r, (const size_t[]){ 2, 3 }, 2);
	fx_release(&f);
}

static void test_equiv_no_class(void **state)
{
	struct plan_request *r, *any;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", FLAGS("equiv-x"));
	fx_host(&f, "h1", "amd64", FLAGS("equiv-y"));
	fx_host(&f, "h2", "amd64", NULL);
	fx_host(&f, "h3", "amd64", FLAGS("equiv-x"));
	f.hosts[3].usable = 0;
	r = fx_job(&f, "pair", HOUR);
	r->nhosts = 2;
	r->flags = FLAGS("equiv-1");
	/* without the equiv flag, any two hosts do */
	any = fx_job(&f, "any pair", HOUR);
	any->nhosts = 2;
	fx_plan(&f);
	expect_no_host(&f, r);
	expect(&f, any, PLAN_START, NOW, ANY_HOST);
	expect_hosts(&f, any, (const size_t[]){ 0, 1 }, 2);
	fx_release(&f);
}

/*
 * A job's hosts are all of one site: a pair never spans two, even when
 * the cheapest two free hosts are of two sites; a site with too few
 * hosts of the kind cannot take it at all; a one-host job goes anywhere,
 * and so does a person's reservation of several hosts.
 */
static void test_one_site(void **state)
{
	struct plan_request *pair, *one, *big, *pinned;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "a0", "amd64", NULL);
	fx_host(&f, "b0", "amd64", NULL);
	fx_host(&f, "b1", "amd64", FLAGS("equiv-x"));
	fx_host(&f, "a1", "amd64", FLAGS("equiv-x"));
	fx_host(&f, "b2", "amd64", NULL);
	f.hosts[0].site = "a";
	f.hosts[3].site = "a";
	f.hosts[1].site = f.hosts[2].site = f.hosts[4].site = "b";
	/* site a's second host is busy for an hour: the pair takes site
	 * b's at once rather than a0 with a b host */
	fx_busy(&f, 3, -1, NOW - HOUR, NOW + HOUR);
	pair = fx_job(&f, "pair", HOUR);
	pair->nhosts = 2;
	fx_plan(&f);
	expect(&f, pair, PLAN_START, NOW, ANY_HOST);
	expect_hosts(&f, pair, (const size_t[]){ 1, 2 }, 2);
	fx_release(&f);

	/* of one equiv class too: each site has one host of class x, so
	 * an equiv pair can never run */
	fx_init(&f);
	fx_host(&f, "a0", "amd64", FLAGS("equiv-x"));
	fx_host(&f, "b0", "amd64", FLAGS("equiv-x"));
	fx_host(&f, "b1", "amd64", FLAGS("equiv-y"));
	f.hosts[0].site = "a";
	f.hosts[1].site = f.hosts[2].site = "b";
	pair = fx_job(&f, "pair", HOUR);
	pair->nhosts = 2;
	pair->flags = FLAGS("equiv-1");
	/* three hosts: no site has them */
	big = fx_job(&f, "three", HOUR);
	big->nhosts = 3;
	one = fx_job(&f, "one", HOUR);
	fx_plan(&f);
	expect_no_host(&f, pair);
	expect_no_host(&f, big);
	expect(&f, one, PLAN_START, NOW, ANY_HOST);
	/* the reason says why, in a lab of several sites only */
	assert_non_null(strstr(f.out.results[pair - f.reqs].reason,
			       "of one site and equiv class"));
	assert_non_null(strstr(f.out.results[big - f.reqs].reason,
			       "no 3 usable hosts of one site for"));
	fx_release(&f);

	/* pinned to a host of site a: its partner is of site a, later */
	fx_init(&f);
	fx_host(&f, "a0", "amd64", NULL);
	fx_host(&f, "b0", "amd64", NULL);
	fx_host(&f, "a1", "amd64", NULL);
	f.hosts[0].site = f.hosts[2].site = "a";
	f.hosts[1].site = "b";
	fx_busy(&f, 2, -1, NOW - HOUR, NOW + HOUR);
	pinned = fx_job(&f, "pinned pair", HOUR);
	pinned->nhosts = 2;
	pinned->pinned = (const char *[]){ "a0", NULL };
	fx_plan(&f);
	expect(&f, pinned, PLAN_WAIT, NOW + HOUR, ANY_HOST);
	expect_hosts(&f, pinned, (const size_t[]){ 0, 2 }, 2);
	fx_release(&f);

	/* a person's reservation of two hosts is not a job: any two do */
	fx_init(&f);
	fx_host(&f, "a0", "amd64", NULL);
	fx_host(&f, "b0", "amd64", NULL);
	f.hosts[0].site = "a";
	f.hosts[1].site = "b";
	one = fx_job(&f, "reservation", HOUR);
	one->kind = PLAN_RESERVATION;
	one->flight = 0;
	one->nhosts = 2;
	pair = fx_job(&f, "pair", HOUR);
	pair->nhosts = 2;
	fx_plan(&f);
	expect(&f, one, PLAN_START, NOW, ANY_HOST);
	expect_hosts(&f, one, (const size_t[]){ 0, 1 }, 2);
	expect_no_host(&f, pair);
	fx_release(&f);
}

/* A multi-host request gets distinct hosts. */
static void test_distinct_hosts(void **state)
{
	struct plan_request *r;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	fx_host(&f, "h2", "amd64", NULL);
	fx_busy(&f, 1, -1, NOW - HOUR, NOW + HOUR);
	r = fx_job(&f, "trio", HOUR);
	r->nhosts = 3;
	fx_plan(&f);
	expect(&f, r, PLAN_WAIT, NOW + HOUR, ANY_HOST);
	expect_hosts(&f, r, (const size_t[]){ 0, 1, 2 }, 3);
	for (size_t h = 0; h < 3; h++)
		assert_true(in_timeline(&f, h, r));
	fx_release(&f);

	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	r = fx_job(&f, "trio", HOUR);
	r->nhosts = 3;
	fx_plan(&f);
	expect_no_host(&f, r);
	fx_release(&f);
}

/*
 * Two hosts free together only after each is free alone: h0 is free now
 * for an hour, then booked for an hour; h1 is busy for half an hour. A
 * two-host hour fits on both only from 2h.
 */
static void test_multi_host_common_time(void **state)
{
	struct plan_request *r;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	fx_busy(&f, 0, -1, NOW + HOUR, NOW + 2 * HOUR);
	fx_busy(&f, 1, -1, NOW - HOUR, NOW + 30 * MINUTE);
	r = fx_job(&f, "pair", HOUR);
	r->nhosts = 2;
	fx_plan(&f);
	expect(&f, r, PLAN_WAIT, NOW + 2 * HOUR, ANY_HOST);
	expect_hosts(&f, r, (const size_t[]){ 0, 1 }, 2);
	fx_release(&f);
}

/* ---- pinning ---- */

static void test_pinned(void **state)
{
	struct plan_request *r;
	struct fx f;

	(void)state;
	/* forced onto h1 although h0 is lower */
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	r = fx_job(&f, "a", HOUR);
	r->pinned = FLAGS("h1");
	fx_plan(&f);
	expect(&f, r, PLAN_START, NOW, 1);
	fx_release(&f);

	/* waits for its busy host although another is free */
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	fx_busy(&f, 0, -1, NOW - HOUR, NOW + HOUR);
	r = fx_job(&f, "a", HOUR);
	r->pinned = FLAGS("h0");
	fx_plan(&f);
	expect(&f, r, PLAN_WAIT, NOW + HOUR, 0);
	fx_release(&f);
}

static void test_pinned_multi(void **state)
{
	const char *const pins[] = { NULL, "h2" };
	const struct plan_result *p;
	struct plan_request *r;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	fx_host(&f, "h2", "amd64", NULL);
	r = fx_job(&f, "pair", HOUR);
	r->nhosts = 2;
	r->pinned = pins;
	fx_plan(&f);
	expect(&f, r, PLAN_START, NOW, ANY_HOST);
	p = res(&f, r);
	/* the pin is for the second host of the request */
	assert_int_equal(p->hosts[1].host, 2);
	assert_int_equal(p->hosts[0].host, 0);
	fx_release(&f);
}

/* host=h1 host2=h1: one host cannot be two of a job's hosts. */
static void test_pinned_twice(void **state)
{
	const char *const pins[] = { "h1", "h1" };
	struct plan_request *r;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	r = fx_job(&f, "pair", HOUR);
	r->nhosts = 2;
	r->pinned = pins;
	fx_plan(&f);
	expect_no_host(&f, r);
	assert_string_equal(res(&f, r)->reason, "pinned host h1 is named twice");
	fx_release(&f);
}

static void test_pinned_unusable_or_mismatch(void **state)
{
	const struct {
		const char *what;
		const char *arch;
		const char *const *flags;
		const char *pin;
	} cases[] = {
		{ "unusable", "amd64", no_flags, "h2" },
		{ "other arch", "arm64", no_flags, "h0" },
		{ "lacks a flag", "amd64", FLAGS("hvm"), "h2" },
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		const char *pin[1] = { cases[c].pin };
		struct plan_request *r, *ok;
		struct fx f;

		fx_init(&f);
		fx_host(&f, "h0", "amd64", FLAGS("hvm"));
		fx_host(&f, "h1", "arm64", NULL);
		fx_host(&f, "h2", "amd64", NULL);
		/* h2 is usable except in the first case, where it is
		 * broken: the job waits for it (test_pinned_gone) */
		f.hosts[2].usable = c != 0;
		r = fx_job(&f, cases[c].what, HOUR);
		r->queued_at = NOW;
		r->arch = cases[c].arch;
		r->flags = cases[c].flags;
		r->pinned = pin;
		/* the same request unpinned has a host */
		ok = fx_job(&f, "unpinned", HOUR);
		ok->arch = cases[c].arch;
		ok->flags = cases[c].flags;
		fx_plan(&f);
		expect_no_host(&f, r);
		expect(&f, ok, PLAN_START, NOW, ANY_HOST);
		fx_release(&f);
	}
}

/*
 * A job pinned to a host that is broken, in maintenance or retired waits
 * for it, saying why and until when, for pinned_wait (1h) from when the
 * host became unusable or from when the job was queued, if later; then
 * it gives up (host-gone). Times: NOW is 2023-11-14 22:13:20 UTC.
 */
static void test_pinned_gone(void **state)
{
	enum { JOB, RESERVATION, WAIT_OFF };
	static const struct {
		const char *what;
		const char *state, *reason;
		plan_time unusable, queued;   /* before NOW; unusable 0: unknown */
		int variant;
		enum plan_outcome outcome;
		plan_time change;             /* next_change after NOW; -1 none */
		const char *text;
	} cases[] = {
		{ "broken 30m", "broken", "ssh: refused", 30 * MINUTE, 2 * HOUR,
		  JOB, PLAN_NO_HOST, 30 * MINUTE,
		  "pinned host h0 is broken (ssh: refused) since 21:43 UTC; "
		  "ends broken at 22:43 UTC unless it comes back" },
		{ "broken 59m59s", "broken", "ssh: refused", HOUR - 1, 2 * HOUR,
		  JOB, PLAN_NO_HOST, 1, NULL },
		{ "broken 1h", "broken", "ssh: refused", HOUR, 2 * HOUR, JOB,
		  PLAN_HOST_GONE, -1, "pinned host h0 is broken: ssh: refused" },
		{ "broken for days, queued 30m ago", "broken", "ssh: refused",
		  3 * DAY, 30 * MINUTE, JOB, PLAN_NO_HOST, 30 * MINUTE,
		  "pinned host h0 is broken (ssh: refused) since 2023-11-11 "
		  "22:13 UTC; ends broken at 22:43 UTC unless it comes back" },
		{ "broken for days, queued 1h ago", "broken", "ssh: refused",
		  3 * DAY, HOUR, JOB, PLAN_HOST_GONE, -1, NULL },
		{ "maintenance", "maintenance", "new disk", 10 * MINUTE, HOUR,
		  JOB, PLAN_NO_HOST, 50 * MINUTE,
		  "pinned host h0 is in maintenance (new disk) since 22:03 UTC; "
		  "ends broken at 23:03 UTC unless it comes back" },
		{ "maintenance, no reason, over", "maintenance", NULL, 2 * HOUR,
		  2 * HOUR, JOB, PLAN_HOST_GONE, -1,
		  "pinned host h0 is in maintenance since 20:13 UTC" },
		{ "retired", "retired", "removed from the lab configuration",
		  2 * HOUR, 2 * HOUR, JOB, PLAN_HOST_GONE, -1,
		  "pinned host h0 is retired: removed from the lab configuration" },
		{ "since unknown: from its queueing", "broken", NULL, 0,
		  20 * MINUTE, JOB, PLAN_NO_HOST, 40 * MINUTE,
		  "pinned host h0 is broken; ends broken at 22:53 UTC unless "
		  "it comes back" },
		{ "pinned-wait off: waits", "broken", "ssh: refused", 100 * HOUR,
		  HOUR, WAIT_OFF, PLAN_NO_HOST, -1,
		  "pinned host h0 is broken (ssh: refused) since 2023-11-10 "
		  "18:13 UTC" },
		/* off, starvation decides, as for any job no host can take */
		{ "pinned-wait off: starves", "broken", "ssh: refused", 100 * HOUR,
		  100 * HOUR, WAIT_OFF, PLAN_STARVED, -1, NULL },
		{ "a reservation waits", "broken", "ssh: refused", 100 * HOUR,
		  100 * HOUR, RESERVATION, PLAN_NO_HOST, -1, NULL },
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		const struct plan_result *p;
		struct plan_request *j, *other;
		struct fx f;
		char want[32], got[32];

		fx_init(&f);
		fx_host(&f, "h0", "amd64", NULL);
		fx_host(&f, "h1", "amd64", NULL);
		f.hosts[0].usable = 0;
		f.hosts[0].state = cases[c].state;
		f.hosts[0].state_reason = cases[c].reason;
		f.hosts[0].unusable_since = cases[c].unusable
						    ? NOW - cases[c].unusable : 0;
		if (cases[c].variant == WAIT_OFF)
			f.in.cfg.pinned_wait = 0;
		/* a flight where it would starve but for its pin */
		fx_flight(&f, 1, 5, 1);
		j = fx_job(&f, cases[c].what, HOUR);
		j->pinned = pin_h[0];
		j->queued_at = NOW - cases[c].queued;
		if (cases[c].variant == RESERVATION)
			j->kind = PLAN_RESERVATION;
		other = fx_job(&f, "unpinned", HOUR);
		fx_plan(&f);
		p = res(&f, j);
		if (p->outcome != cases[c].outcome ||
		    (cases[c].text && strcmp(p->reason, cases[c].text))) {
			print_plan(&f);
			fail_msg("case '%s': want %s (%s)", j->what,
				 plan_outcome_str(cases[c].outcome),
				 cases[c].text ? cases[c].text : "");
		}
		assert_int_equal(p->start, PLAN_NEVER);
		if (cases[c].outcome == PLAN_HOST_GONE)
			assert_int_equal(p->gone_host, 0);
		if (cases[c].variant != JOB || cases[c].outcome == PLAN_HOST_GONE)
			assert_null(strstr(p->reason, "ends broken"));
		if (f.out.next_change != (cases[c].change < 0 ? PLAN_NEVER
						: NOW + cases[c].change))
			fail_msg("case '%s': next change %s, want %s", j->what,
				 fmt_time(f.out.next_change, got, sizeof(got)),
				 fmt_time(NOW + cases[c].change, want,
					  sizeof(want)));
		/* the other host serves everyone else */
		expect(&f, other, PLAN_START, NOW, 1);
		fx_release(&f);
	}
}

/* A pinned host that came back (free again) is used at once. */
static void test_pinned_host_back(void **state)
{
	struct plan_request *j;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	f.hosts[0].state = "free";
	f.hosts[0].unusable_since = NOW - 10 * HOUR;   /* stale: ignored */
	j = fx_job(&f, "pinned", HOUR);
	j->pinned = pin_h[0];
	j->queued_at = NOW - 10 * HOUR;
	fx_plan(&f);
	expect(&f, j, PLAN_START, NOW, 0);
	assert_int_equal(f.out.next_change, PLAN_NEVER);
	fx_release(&f);
}

/*
 * Unpinned jobs are unaffected: with every host of their arch broken for
 * days, they wait (no-host) and only starvation may end them.
 */
static void test_unpinned_not_gone(void **state)
{
	struct plan_request *j;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	f.hosts[0].usable = 0;
	f.hosts[0].state = "broken";
	f.hosts[0].state_reason = "ssh: refused";
	f.hosts[0].unusable_since = NOW - 3 * DAY;
	j = fx_job(&f, "unpinned", HOUR);
	j->arch = "amd64";
	j->queued_at = NOW - 3 * DAY;
	fx_plan(&f);
	expect_no_host(&f, j);
	assert_string_equal(res(&f, j)->reason, "no usable host for amd64");
	assert_int_equal(f.out.next_change, PLAN_NEVER);
	fx_release(&f);
}

/*
 * A pair pinned to two hosts, both broken: it gives up with the one that
 * was broken the longer; what depends on it cannot run; a pin to a host
 * of another arch is a mismatch, whatever its state.
 */
static void test_pinned_gone_pair(void **state)
{
	const char *const pins[] = { "h0", "h1" };
	const char *const bad[] = { "h0", "h2" };
	size_t dep;
	struct plan_request *j, *after, *k;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	fx_host(&f, "h2", "arm64", NULL);
	for (size_t h = 0; h < 3; h++) {
		f.hosts[h].usable = 0;
		f.hosts[h].state = "broken";
	}
	f.hosts[0].unusable_since = NOW - 30 * MINUTE;
	f.hosts[1].unusable_since = NOW - 2 * HOUR;
	f.hosts[1].state_reason = "power: no answer";
	j = fx_job(&f, "pair", HOUR);
	j->nhosts = 2;
	j->pinned = pins;
	j->queued_at = NOW - 3 * HOUR;
	dep = req_index(&f, j);
	after = fx_job(&f, "after", HOUR);
	after->deps = &dep;
	after->ndeps = 1;
	after->deps_pending = 1;
	k = fx_job(&f, "mismatch", HOUR);
	k->nhosts = 2;
	k->arch = "amd64";
	k->pinned = bad;
	k->queued_at = NOW - 3 * HOUR;
	fx_plan(&f);
	assert_int_equal(res(&f, j)->outcome, PLAN_HOST_GONE);
	assert_int_equal(res(&f, j)->gone_host, 1);
	assert_string_equal(res(&f, j)->reason,
			    "pinned host h1 is broken: power: no answer");
	expect_no_host(&f, after);
	assert_string_equal(res(&f, after)->reason,
			    "waits for pair, which cannot run");
	expect_no_host(&f, k);
	assert_string_equal(res(&f, k)->reason,
			    "pinned host h2 is not usable for amd64");
	fx_release(&f);
}

/* ---- busy entries and the timeline ---- */

static void test_busy_respected(void **state)
{
	struct plan_request *a, *b, *c;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	/* a booked window in the future (a reservation), a hole before */
	fx_busy(&f, 0, -1, NOW + HOUR, NOW + 2 * HOUR);
	a = fx_job(&f, "long", 2 * HOUR);
	a->priority = 1;
	b = fx_job(&f, "short", 30 * MINUTE);
	c = fx_job(&f, "exact", 30 * MINUTE);
	fx_plan(&f);
	expect(&f, a, PLAN_WAIT, NOW + 2 * HOUR, 0);
	expect_end(&f, a, NOW + 4 * HOUR);
	expect(&f, b, PLAN_START, NOW, 0);
	expect(&f, c, PLAN_WAIT, NOW + 30 * MINUTE, 0);
	fx_release(&f);
}

static void test_timeline(void **state)
{
	const struct plan_slot_entry *t;
	struct plan_request *a, *b;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	fx_busy(&f, 1, -1, NOW - HOUR, NOW + 3 * HOUR);
	fx_busy(&f, 0, -1, NOW - HOUR, NOW + HOUR);
	a = fx_job(&f, "a", HOUR);
	a->pinned = FLAGS("h0");
	b = fx_job(&f, "b", 2 * HOUR);
	b->pinned = FLAGS("h0");
	b->priority = 1;
	fx_plan(&f);
	expect(&f, b, PLAN_WAIT, NOW + HOUR, 0);
	expect(&f, a, PLAN_WAIT, NOW + 3 * HOUR, 0);

	assert_int_equal(f.out.ntimeline[0], 3);
	t = f.out.timeline[0];
	assert_int_equal(t[0].req, -1 - 1);
	assert_int_equal(t[0].start, NOW - HOUR);
	assert_int_equal(t[0].end, NOW + HOUR);
	assert_int_equal(t[0].slot, -1);
	assert_int_equal(t[1].req, 1);
	assert_int_equal(t[1].start, NOW + HOUR);
	assert_int_equal(t[1].end, NOW + 3 * HOUR);
	assert_int_equal(t[1].slot, -1);
	assert_int_equal(t[2].req, 0);
	assert_int_equal(t[2].start, NOW + 3 * HOUR);
	assert_int_equal(t[2].end, NOW + 4 * HOUR);

	assert_int_equal(f.out.ntimeline[1], 1);
	assert_int_equal(f.out.timeline[1][0].req, -1 - 0);
	fx_release(&f);
}

/* ---- durations and host choice ---- */

/* A history entry's duration is the estimate on that host only. */
static void test_history_duration(void **state)
{
	const struct plan_history hist[] = {
		{ .host = 0, .duration = 10 * MINUTE,
		  .last_run = NOW - 30 * DAY },
	};
	struct plan_request *a, *b;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	a = fx_job(&f, "on h0", HOUR);
	a->history = hist;
	a->nhistory = 1;
	a->pinned = FLAGS("h0");
	b = fx_job(&f, "on h1", HOUR);
	b->history = hist;
	b->nhistory = 1;
	b->pinned = FLAGS("h1");
	fx_plan(&f);
	expect(&f, a, PLAN_START, NOW, 0);
	expect_end(&f, a, NOW + 10 * MINUTE);
	expect(&f, b, PLAN_START, NOW, 1);
	expect_end(&f, b, NOW + HOUR);
	fx_release(&f);
}

/*
 * A test that failed last on h1 waits for h1 (busy an hour) rather than
 * take the free h0: the prevfail bonus (7 days) outweighs an hour. Not a
 * week, though.
 */
static void test_prevfail(void **state)
{
	const struct {
		plan_time busy;
		long host;
	} cases[] = {
		{ HOUR, 1 },
		{ 6 * DAY, 1 },
		{ 8 * DAY, 0 },
	};
	const struct plan_history hist[] = {
		{ .host = 1, .duration = HOUR, .last_run = NOW - 2 * HOUR,
		  .last_failed = 1 },
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct plan_request *r;
		struct fx f;

		fx_init(&f);
		fx_host(&f, "h0", "amd64", NULL);
		fx_host(&f, "h1", "amd64", NULL);
		fx_busy(&f, 1, -1, NOW - HOUR, NOW + cases[c].busy);
		r = fx_job(&f, "test", HOUR);
		r->history = hist;
		r->nhistory = 1;
		fx_plan(&f);
		if (cases[c].host == 1)
			expect(&f, r, PLAN_WAIT, NOW + cases[c].busy, 1);
		else
			expect(&f, r, PLAN_START, NOW, 0);
		fx_release(&f);
	}

	/* builds get the prevfail bonus too */
	{
		struct plan_request *r;
		struct fx f;

		fx_init(&f);
		fx_host(&f, "h0", "amd64", NULL);
		fx_host(&f, "h1", "amd64", NULL);
		fx_busy(&f, 1, -1, NOW - HOUR, NOW + HOUR);
		r = fx_job(&f, "build", HOUR);
		r->is_build = 1;
		r->history = hist;
		r->nhistory = 1;
		fx_plan(&f);
		expect(&f, r, PLAN_WAIT, NOW + HOUR, 1);
		fx_release(&f);
	}
}

/*
 * Tests spread over hosts: the bonus is min(2h ln(1 + age/1d),
 * variation_max), age 90 days for a host that never ran the test:
 * 2h ln 91 = 32478s. h0 ran it (passed) `age` ago, h1 never did; the
 * cost is start - bonus. E.g. a day ago gives 2h ln 2 = 4991s: h1 wins
 * while it is free in less than 27487s; 89 days gives 32399s, 79s less
 * than never.
 */
static void test_variation(void **state)
{
	static const struct {
		const char *what;
		plan_time age;          /* of h0's run */
		plan_time busy0, busy1; /* each host is busy for */
		plan_time max;          /* variation_max; 0: the default */
		long host;
	} cases[] = {
		{ "ran an hour ago", HOUR, 0, 0, 0, 1 },
		{ "a day ago, other busy 27000s", DAY, 0, 27000, 0, 1 },
		{ "a day ago, other busy 28000s", DAY, 0, 28000, 0, 0 },
		{ "89 days ago, other busy 40s", 89 * DAY, 0, 40, 0, 1 },
		{ "89 days ago, other busy 120s", 89 * DAY, 0, 120, 0, 0 },
		{ "180 days ago, busy 4000s", 180 * DAY, 4000, 0, 0, 0 },
		/* capped at 1h, both bonuses are equal: the lower host */
		{ "capped", DAY, 0, 0, HOUR, 0 },
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		const struct plan_history hist[] = {
			{ .host = 0, .duration = HOUR,
			  .last_run = NOW - cases[c].age },
		};
		plan_time start = NOW + (cases[c].host ? cases[c].busy1 :
							  cases[c].busy0);
		struct plan_request *r;
		struct fx f;

		fx_init(&f);
		if (cases[c].max)
			f.in.cfg.variation_max = cases[c].max;
		fx_host(&f, "h0", "amd64", NULL);
		fx_host(&f, "h1", "amd64", NULL);
		if (cases[c].busy0)
			fx_busy(&f, 0, -1, NOW - HOUR, NOW + cases[c].busy0);
		if (cases[c].busy1)
			fx_busy(&f, 1, -1, NOW - HOUR, NOW + cases[c].busy1);
		r = fx_job(&f, cases[c].what, HOUR);
		r->history = hist;
		r->nhistory = 1;
		fx_plan(&f);
		expect(&f, r, start == NOW ? PLAN_START : PLAN_WAIT, start,
		       cases[c].host);
		fx_release(&f);
	}
}

/*
 * A build goes where it finishes first (start + duration), with no
 * variation bonus: h0 has no history (2h), h1 builds it in 30 minutes.
 */
static void test_build_host_choice(void **state)
{
	static const struct {
		plan_time busy1; /* h1 busy for */
		long host;
		plan_time start;
	} cases[] = {
		{ 0, 1, NOW },
		{ HOUR, 1, NOW + HOUR },
		{ 89 * MINUTE, 1, NOW + 89 * MINUTE },
		{ 91 * MINUTE, 0, NOW },
		{ 2 * HOUR, 0, NOW },
	};
	const struct plan_history hist[] = {
		{ .host = 1, .duration = 30 * MINUTE, .last_run = NOW - HOUR },
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct plan_request *r;
		struct fx f;

		fx_init(&f);
		fx_host(&f, "h0", "amd64", NULL);
		fx_host(&f, "h1", "amd64", NULL);
		if (cases[c].busy1)
			fx_busy(&f, 1, -1, NOW - HOUR, NOW + cases[c].busy1);
		r = fx_job(&f, "build", 2 * HOUR);
		r->is_build = 1;
		r->history = hist;
		r->nhistory = 1;
		fx_plan(&f);
		expect(&f, r, cases[c].start == NOW ? PLAN_START : PLAN_WAIT,
		       cases[c].start, cases[c].host);
		expect_end(&f, r, cases[c].start +
				  (cases[c].host ? 30 * MINUTE : 2 * HOUR));
		fx_release(&f);
	}
}

/*
 * A build that ran on h0 a minute ago stays there (equal finish times, the
 * lower host): no spreading for builds. The same for a test moves it to
 * the host that never ran it.
 */
static void test_build_no_variation(void **state)
{
	const struct plan_history hist[] = {
		{ .host = 0, .duration = HOUR, .last_run = NOW - MINUTE },
	};

	(void)state;
	for (int is_build = 0; is_build <= 1; is_build++) {
		struct plan_request *r;
		struct fx f;

		fx_init(&f);
		fx_host(&f, "h0", "amd64", NULL);
		fx_host(&f, "h1", "amd64", NULL);
		r = fx_job(&f, is_build ? "build" : "test", HOUR);
		r->is_build = is_build;
		r->history = hist;
		r->nhistory = 1;
		fx_plan(&f);
		expect(&f, r, PLAN_START, NOW, is_build ? 0 : 1);
		fx_release(&f);
	}
}

/* ---- sharing ---- */

static void test_share_slots(void **state)
{
	struct plan_request *r[4];
	int seen[3] = { 0, 0, 0 };
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_share_host(&f, "h0", FLAGS("share-s"), 3);
	for (size_t i = 0; i < 4; i++) {
		r[i] = fx_job(&f, "sharer", HOUR);
		r[i]->flags = share_s;
	}
	fx_plan(&f);
	for (size_t i = 0; i < 3; i++) {
		int slot;

		expect(&f, r[i], PLAN_START, NOW, 0);
		slot = res(&f, r[i])->hosts[0].slot;
		assert_in_range(slot, 0, 2);
		assert_false(seen[slot]);
		seen[slot] = 1;
	}
	expect(&f, r[3], PLAN_WAIT, NOW + HOUR, 0);
	assert_in_range(res(&f, r[3])->hosts[0].slot, 0, 2);
	assert_int_equal(f.out.ntimeline[0], 4);
	fx_release(&f);
}

/* A job without the share flag needs every slot free. */
static void test_share_whole_host(void **state)
{
	struct plan_request *whole, *sharer, *late;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_share_host(&f, "h0", FLAGS("share-s"), 3);
	fx_busy(&f, 0, 0, NOW - HOUR, NOW + HOUR);
	fx_busy(&f, 0, 1, NOW - HOUR, NOW + 2 * HOUR);
	whole = fx_job(&f, "whole", HOUR);
	whole->priority = 1;
	sharer = fx_job(&f, "sharer", HOUR);
	sharer->flags = FLAGS("share-s");
	/* a sharer that would overlap the whole-host booking waits for it */
	late = fx_job(&f, "long sharer", 3 * HOUR);
	late->flags = FLAGS("share-s");
	fx_plan(&f);
	expect(&f, whole, PLAN_WAIT, NOW + 2 * HOUR, 0);
	assert_int_equal(res(&f, whole)->hosts[0].slot, -1);
	expect(&f, sharer, PLAN_START, NOW, 0);
	assert_int_equal(res(&f, sharer)->hosts[0].slot, 2);
	expect(&f, late, PLAN_WAIT, NOW + 3 * HOUR, 0);
	fx_release(&f);

	/* and a sharer waits for a whole-host busy entry */
	fx_init(&f);
	fx_share_host(&f, "h0", FLAGS("share-s"), 3);
	fx_busy(&f, 0, -1, NOW - HOUR, NOW + HOUR);
	sharer = fx_job(&f, "sharer", HOUR);
	sharer->flags = FLAGS("share-s");
	fx_plan(&f);
	expect(&f, sharer, PLAN_WAIT, NOW + HOUR, 0);
	fx_release(&f);
}

/* A worn host takes no new sharer until its current sharers are gone. */
static void test_share_worn(void **state)
{
	static const struct {
		int worn;
		plan_time start;
	} cases[] = {
		{ 0, NOW },
		{ 1, NOW + 2 * HOUR },
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct plan_request *a, *b;
		struct fx f;

		fx_init(&f);
		fx_share_host(&f, "h0", FLAGS("share-s"), 4);
		f.hosts[0].share_worn = cases[c].worn;
		fx_busy(&f, 0, 0, NOW - HOUR, NOW + HOUR);
		fx_busy(&f, 0, 1, NOW - HOUR, NOW + 2 * HOUR);
		a = fx_job(&f, "a", HOUR);
		a->flags = FLAGS("share-s");
		b = fx_job(&f, "b", HOUR);
		b->flags = FLAGS("share-s");
		fx_plan(&f);
		expect(&f, a, cases[c].start == NOW ? PLAN_START : PLAN_WAIT,
		       cases[c].start, 0);
		/* drained, the host shares again */
		expect(&f, b, cases[c].start == NOW ? PLAN_START : PLAN_WAIT,
		       cases[c].start, 0);
		assert_int_not_equal(res(&f, a)->hosts[0].slot,
				     res(&f, b)->hosts[0].slot);
		fx_release(&f);
	}
}

/*
 * Worn: only its current sharers count. A whole-host window booked later
 * (a reservation) does not keep new sharers, nor a whole-host job, out of
 * the time between.
 */
static void test_share_worn_only_sharers(void **state)
{
	struct plan_request *sharer, *whole;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_share_host(&f, "h0", FLAGS("share-s"), 3);
	f.hosts[0].share_worn = 1;
	fx_busy(&f, 0, 0, NOW - HOUR, NOW + HOUR);
	fx_busy(&f, 0, -1, NOW + 5 * HOUR, NOW + 6 * HOUR);
	sharer = fx_job(&f, "sharer", HOUR);
	sharer->flags = FLAGS("share-s");
	whole = fx_job(&f, "whole", HOUR);
	fx_plan(&f);
	expect(&f, sharer, PLAN_WAIT, NOW + HOUR, 0);
	expect(&f, whole, PLAN_WAIT, NOW + 2 * HOUR, 0);
	fx_release(&f);
}

/* A share host of one slot still takes sharers on its slot 0. */
static void test_share_one_slot(void **state)
{
	struct plan_request *a, *b;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_share_host(&f, "h0", FLAGS("share-s"), 1);
	a = fx_job(&f, "a", HOUR);
	a->flags = FLAGS("share-s");
	b = fx_job(&f, "b", HOUR);
	b->flags = FLAGS("share-s");
	fx_plan(&f);
	expect(&f, a, PLAN_START, NOW, 0);
	expect(&f, b, PLAN_WAIT, NOW + HOUR, 0);
	assert_int_equal(res(&f, a)->hosts[0].slot, 0);
	assert_int_equal(res(&f, b)->hosts[0].slot, 0);
	fx_release(&f);
}

/* ---- reservations ---- */

static void test_reservations(void **state)
{
	struct plan_request *a, *b, *j;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	a = fx_job(&f, "reservation 1", 2 * HOUR);
	a->kind = PLAN_RESERVATION;
	a->flight = 0;
	a->nhosts = 2;
	a->priority = 5;
	b = fx_job(&f, "reservation 2", HOUR);
	b->kind = PLAN_RESERVATION;
	b->flight = 0;
	b->priority = 5;
	b->not_before = NOW + 4 * HOUR;
	j = fx_job(&f, "job", HOUR);
	fx_plan(&f);
	expect(&f, a, PLAN_START, NOW, ANY_HOST);
	expect_hosts(&f, a, (const size_t[]){ 0, 1 }, 2);
	expect(&f, b, PLAN_WAIT, NOW + 4 * HOUR, 0);
	expect(&f, j, PLAN_WAIT, NOW + 2 * HOUR, 0);
	assert_true(in_timeline(&f, 0, a) && in_timeline(&f, 1, a));
	fx_release(&f);
}

/* ---- blockages ---- */

static void test_blockage_window(void **state)
{
	struct plan_request *blk, *longj, *shortj;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	/* lowest priority, last in the input: applied first all the same */
	longj = fx_job(&f, "long", 2 * HOUR);
	longj->priority = 10;
	longj->pinned = FLAGS("h0");
	shortj = fx_job(&f, "short", 30 * MINUTE);
	shortj->pinned = FLAGS("h1");
	blk = fx_blockage(&f, "maintenance", NOW + HOUR, HOUR);
	blk->priority = -100;
	fx_plan(&f);
	assert_int_equal(res(&f, blk)->outcome, PLAN_BLOCKED_WINDOW);
	assert_int_equal(res(&f, blk)->start, NOW + HOUR);
	assert_int_equal(res(&f, blk)->end, NOW + 2 * HOUR);
	expect_hosts(&f, blk, (const size_t[]){ 0, 1 }, 2);
	assert_true(in_timeline(&f, 0, blk) && in_timeline(&f, 1, blk));
	expect(&f, longj, PLAN_WAIT, NOW + 2 * HOUR, 0);
	expect(&f, shortj, PLAN_START, NOW, 1);
	fx_release(&f);
}

/* A blockage holds only the hosts it matches: arch, flags, pins. */
static void test_blockage_matching(void **state)
{
	const struct {
		const char *what;
		const char *arch;
		const char *const *flags;
		const char *const *pinned;
		size_t nhosts;
		size_t hosts[3];
	} cases[] = {
		{ "all", NULL, no_flags, NULL, 3, { 0, 1, 2 } },
		{ "arm64", "arm64", no_flags, NULL, 2, { 1, 2 } },
		{ "hvm", NULL, FLAGS("hvm"), NULL, 1, { 2 } },
		{ "pinned", NULL, no_flags, FLAGS("h1"), 1, { 1 } },
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct plan_request *blk, *j[3];
		struct fx f;

		fx_init(&f);
		fx_host(&f, "h0", "amd64", NULL);
		fx_host(&f, "h1", "arm64", NULL);
		fx_host(&f, "h2", "arm64", FLAGS("hvm"));
		blk = fx_blockage(&f, cases[c].what, NOW + HOUR, HOUR);
		blk->arch = cases[c].arch;
		blk->flags = cases[c].flags;
		blk->pinned = cases[c].pinned;
		for (size_t h = 0; h < 3; h++) {
			j[h] = fx_job(&f, "job", 2 * HOUR);
			j[h]->pinned = pin_h[h];
		}
		fx_plan(&f);
		assert_int_equal(res(&f, blk)->outcome, PLAN_BLOCKED_WINDOW);
		expect_hosts(&f, blk, cases[c].hosts, cases[c].nhosts);
		for (size_t h = 0; h < 3; h++) {
			int blocked = 0;

			for (size_t k = 0; k < cases[c].nhosts; k++)
				blocked |= cases[c].hosts[k] == h;
			expect(&f, j[h], blocked ? PLAN_WAIT : PLAN_START,
			       blocked ? NOW + 2 * HOUR : NOW, (long)h);
		}
		fx_release(&f);
	}
}

/* A window that began already holds the host until it ends. */
static void test_blockage_begun(void **state)
{
	struct plan_request *blk, *j;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	blk = fx_blockage(&f, "maintenance", NOW - 30 * MINUTE, HOUR);
	j = fx_job(&f, "job", 10 * MINUTE);
	j->priority = 100;
	fx_plan(&f);
	assert_int_equal(res(&f, blk)->outcome, PLAN_BLOCKED_WINDOW);
	expect(&f, j, PLAN_WAIT, NOW + 30 * MINUTE, 0);
	fx_release(&f);
}

/* ---- dependencies ---- */

static void test_deps(void **state)
{
	struct plan_request *build, *test, *late;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	fx_host(&f, "h2", "amd64", NULL);
	build = fx_job(&f, "build", HOUR);
	build->is_build = 1;
	build->pinned = FLAGS("h0");
	test = fx_job(&f, "test", HOUR);
	test->deps = (const size_t[]){ 0 };
	test->ndeps = 1;
	test->deps_pending = 1;
	test->pinned = FLAGS("h1");
	/* its dependencies running now end in 2h, after the build */
	late = fx_job(&f, "test 2", HOUR);
	late->deps = (const size_t[]){ 0 };
	late->ndeps = 1;
	late->deps_pending = 1;
	late->deps_end = NOW + 2 * HOUR;
	late->pinned = FLAGS("h2");
	fx_plan(&f);
	expect(&f, build, PLAN_START, NOW, 0);
	expect(&f, test, PLAN_WAIT, NOW + HOUR, 1);
	expect(&f, late, PLAN_WAIT, NOW + 2 * HOUR, 2);
	fx_release(&f);
}

/* Pending dependencies that end now still do not make it start now. */
static void test_deps_pending_never_start(void **state)
{
	struct plan_request *j;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	j = fx_job(&f, "test", HOUR);
	j->deps_pending = 1;
	j->deps_end = NOW;
	fx_plan(&f);
	assert_int_equal(res(&f, j)->outcome, PLAN_WAIT);
	assert_true(res(&f, j)->start >= NOW);
	fx_release(&f);

	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	j = fx_job(&f, "test", HOUR);
	j->deps_pending = 1;
	j->deps_end = NOW + 30 * MINUTE;
	fx_plan(&f);
	expect(&f, j, PLAN_WAIT, NOW + 30 * MINUTE, 0);
	fx_release(&f);
}

/* A dependency further back in the queue still comes first. */
static void test_deps_behind_in_queue(void **state)
{
	struct plan_request *build, *test;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_host(&f, "h1", "amd64", NULL);
	fx_busy(&f, 0, -1, NOW - HOUR, NOW + HOUR);
	test = fx_job(&f, "test", HOUR);
	test->priority = 10;
	test->deps = (const size_t[]){ 1 };
	test->ndeps = 1;
	test->deps_pending = 1;
	test->pinned = FLAGS("h1");
	build = fx_job(&f, "build", HOUR);
	build->is_build = 1;
	build->flight = 2;
	build->pinned = FLAGS("h0");
	fx_plan(&f);
	expect(&f, build, PLAN_WAIT, NOW + HOUR, 0);
	if (res(&f, test)->start < res(&f, build)->end ||
	    res(&f, test)->outcome != PLAN_WAIT) {
		print_plan(&f);
		fail_msg("test booked before the build it depends on ends");
	}
	fx_release(&f);
}

/* ---- starvation ---- */

/*
 * A job of flight 1 queued some hours ago, h0 its only host. It starves
 * only when h0 cannot take it at all (broken, in maintenance: not
 * usable), after 4h and 4 times its estimate, with D >= W; a host busy
 * for however long keeps it waiting (issue 17: a busy lab must not let
 * an untested revision through).
 */
static void test_starvation(void **state)
{
	enum { PLAIN, NEVER_STARVE, DEPS_PENDING, CFG_OFF, RESERVATION, BUSY };
	static const struct {
		const char *what;
		int done, waiting;
		plan_time waited, estimate;
		int starved;
		int variant;
	} cases[] = {
		{ "no host, long wait", 2, 2, 5 * HOUR, HOUR, 1, PLAIN },
		{ "no host, just 4h", 2, 2, 4 * HOUR, HOUR, 1, PLAIN },
		{ "no host, 4h less a second", 2, 2, 4 * HOUR - 1, HOUR, 0, PLAIN },
		{ "no host, not 4h yet", 2, 2, 3 * HOUR, HOUR, 0, PLAIN },
		{ "no host, not 4 estimates yet", 2, 2, 7 * HOUR, 2 * HOUR, 0, PLAIN },
		{ "no host, 4 estimates", 2, 2, 9 * HOUR, 2 * HOUR, 1, PLAIN },
		{ "no host, D=9W", 18, 2, 5 * HOUR, HOUR, 1, PLAIN },
		{ "D<W: never more than half", 1, 2, 100 * HOUR, HOUR, 0, PLAIN },
		{ "D<W: never more than half", 9, 10, 100 * HOUR, HOUR, 0, PLAIN },
		{ "D=0", 0, 0, 100 * HOUR, HOUR, 0, PLAIN },
		{ "never_starve", 2, 2, 100 * HOUR, HOUR, 0, NEVER_STARVE },
		{ "deps pending", 2, 2, 100 * HOUR, HOUR, 0, DEPS_PENDING },
		{ "starvation off", 2, 2, 100 * HOUR, HOUR, 0, CFG_OFF },
		{ "reservation", 2, 2, 100 * HOUR, HOUR, 0, RESERVATION },
		{ "host busy for days", 18, 2, 100 * HOUR, HOUR, 0, BUSY },
	};

	(void)state;
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		const struct plan_result *p;
		struct plan_request *j;
		size_t h0;
		struct fx f;

		fx_init(&f);
		h0 = fx_host(&f, "h0", "amd64", NULL);
		if (cases[c].variant == BUSY)
			fx_busy(&f, h0, -1, NOW - HOUR, NOW + 200 * HOUR);
		else
			f.hosts[h0].usable = 0;
		fx_flight(&f, 1, cases[c].done, cases[c].waiting);
		f.in.cfg.starvation = cases[c].variant != CFG_OFF;
		j = fx_job(&f, cases[c].what, cases[c].estimate);
		j->arch = "amd64";
		j->queued_at = NOW - cases[c].waited;
		j->never_starve = cases[c].variant == NEVER_STARVE;
		j->deps_pending = cases[c].variant == DEPS_PENDING;
		if (cases[c].variant == RESERVATION)
			j->kind = PLAN_RESERVATION;
		fx_plan(&f);
		p = res(&f, j);
		if (cases[c].starved) {
			if (p->outcome != PLAN_STARVED) {
				print_plan(&f);
				fail_msg("case '%s' should starve", j->what);
			}
			if (!strstr(p->reason, "starved: no usable host for amd64 in ") ||
			    strspn(p->reason + strlen("starved: no usable host for amd64 in "),
				   "0123456789h m") != strlen(p->reason) -
			    strlen("starved: no usable host for amd64 in "))
				fail_msg("case '%s': reason '%s'", j->what, p->reason);
		} else if (cases[c].variant == BUSY) {
			expect(&f, j, PLAN_WAIT, NOW + 200 * HOUR, 0);
		} else if (p->outcome != PLAN_NO_HOST) {
			print_plan(&f);
			fail_msg("case '%s' should wait for a host", j->what);
		}
		fx_release(&f);
	}
}

/* A starved job no longer waits: the next job of its flight is judged
 * with one waiting job less (D = 2, W = 2, then W = 1). */
static void test_starved_counts(void **state)
{
	struct plan_request *a, *b;
	struct fx f;

	(void)state;
	fx_init(&f);
	f.hosts[fx_host(&f, "h0", "amd64", NULL)].usable = 0;
	fx_flight(&f, 1, 2, 2);
	a = fx_job(&f, "a", HOUR);
	b = fx_job(&f, "b", HOUR);
	a->queued_at = b->queued_at = NOW - 10 * HOUR;
	fx_plan(&f);
	assert_int_equal(res(&f, a)->outcome, PLAN_STARVED);
	assert_int_equal(res(&f, b)->outcome, PLAN_STARVED);
	fx_release(&f);
}

/* A job that can start now does not starve, however long it waited. */
static void test_start_now_not_starved(void **state)
{
	struct plan_request *j;
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_host(&f, "h0", "amd64", NULL);
	fx_flight(&f, 1, 100, 1);
	j = fx_job(&f, "job", 100 * HOUR);
	j->queued_at = NOW - 1000 * HOUR;
	fx_plan(&f);
	expect(&f, j, PLAN_START, NOW, 0);
	fx_release(&f);
}

/* ---- randomized: invariants, backfill guarantee, determinism ---- */

static uint64_t rng;

static unsigned rnd(unsigned n)
{
	/* xorshift64*: the same sequence everywhere */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (unsigned)((rng * UINT64_C(2685821657736338717)) >> 33) % n;
}

/* A random small lab; the strings it points to live in it. */
struct rlab {
	struct fx f;
	const char *hflags[MAX_HOSTS][4];
	const char *rflags[MAX_REQS][4];
	const char *pins[MAX_REQS][1];
	struct plan_history hist[MAX_REQS][1];
};

static void rlab_gen(struct rlab *l)
{
	static const char *const names[MAX_HOSTS] = {
		"h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7",
	};
	static const char *const archs[] = { "amd64", "arm64" };
	static const char *const classes[] = { "equiv-x", "equiv-y" };
	static const char *const sites[] = { "a", "b" };
	size_t nh = 1 + rnd(4), nr = 1 + rnd(6);
	struct fx *f = &l->f;
	int multi_site = rnd(2);

	memset(l, 0, sizeof(*l));
	fx_init(f);
	f->in.cfg.starvation = 0;
	for (size_t h = 0; h < nh; h++) {
		int share = rnd(3) == 0;
		size_t k = 0;
		unsigned b;

		if (rnd(2))
			l->hflags[h][k++] = "hvm";
		if (rnd(3))
			l->hflags[h][k++] = classes[rnd(2)];
		if (share)
			l->hflags[h][k++] = "share-s";
		l->hflags[h][k] = NULL;
		fx_host(f, names[h], archs[rnd(2)], l->hflags[h]);
		f->hosts[h].usable = rnd(8) != 0;
		f->hosts[h].site = multi_site ? sites[rnd(2)] : NULL;
		if (share) {
			f->hosts[h].share_slots = 1 + (int)rnd(3);
			f->hosts[h].share_worn = rnd(3) == 0;
		}
		b = rnd(4);
		for (int s = 0; s < (b >= 2 && share ? 2 : b ? 1 : 0); s++) {
			plan_time start = NOW + 600 * ((plan_time)rnd(5) - 2);
			plan_time base = start > NOW ? start : NOW;
			int slot = share && b >= 2 ? s : -1;

			if (slot >= f->hosts[h].share_slots)
				break;
			fx_busy(f, h, slot, start,
				base + 600 * (1 + (plan_time)rnd(6)));
		}
	}
	for (size_t i = 0; i < nr; i++) {
		struct plan_request *r = fx_job(f, "r", 600 * (1 + rnd(4)));
		unsigned kind = rnd(10);
		size_t k = 0;

		r->priority = (int)rnd(3);
		r->queued_at = NOW - 600 * (plan_time)rnd(4);
		r->flight = 1 + rnd(3);
		r->arch = rnd(3) ? NULL : archs[rnd(2)];
		if (rnd(4) == 0)
			l->rflags[i][k++] = "hvm";
		if (kind == 0) {
			r->what = "blockage";
			r->kind = PLAN_BLOCKAGE;
			r->flight = 0;
			r->not_before = NOW + 600 * ((plan_time)rnd(6) - 1);
			r->duration = 600 * (1 + (plan_time)rnd(3));
			l->rflags[i][k] = NULL;
			r->flags = l->rflags[i];
			continue;
		}
		if (kind == 1) {
			r->what = "reservation";
			r->kind = PLAN_RESERVATION;
			r->flight = 0;
		} else {
			r->what = "job";
			r->is_build = (int)rnd(2);
		}
		if (rnd(3) == 0)
			l->rflags[i][k++] = "equiv-1";
		if (rnd(4) == 0)
			l->rflags[i][k++] = "share-s";
		l->rflags[i][k] = NULL;
		r->flags = l->rflags[i];
		r->nhosts = rnd(4) == 0 ? 2 : 1;
		if (rnd(4) == 0)
			r->not_before = NOW + 600 * (plan_time)rnd(6);
		if (rnd(3) == 0) {
			l->hist[i][0].host = rnd((unsigned)nh);
			l->hist[i][0].duration = 300 * (1 + (plan_time)rnd(8));
			l->hist[i][0].last_run =
				NOW - (plan_time)rnd((unsigned)(10 * DAY));
			l->hist[i][0].last_failed = rnd(5) == 0;
			r->history = l->hist[i];
			r->nhistory = 1;
		}
		if (r->nhosts == 1 && rnd(6) == 0) {
			l->pins[i][0] = names[rnd((unsigned)nh)];
			r->pinned = l->pins[i];
		}
	}
}

static void print_input(const struct fx *f)
{
	const struct plan_input *in = &f->in;
	char s[32], e[32];

	for (size_t h = 0; h < in->nhosts; h++) {
		const struct plan_host *ho = &in->hosts[h];

		print_error("#   host %zu %s %s site=%s usable=%d slots=%d "
			    "worn=%d:", h, ho->name, ho->arch,
			    ho->site ? ho->site : "-", ho->usable,
			    ho->share_slots, ho->share_worn);
		for (const char *const *fl = ho->flags; *fl; fl++)
			print_error(" %s", *fl);
		print_error("\n");
	}
	for (size_t b = 0; b < in->nbusy; b++)
		print_error("#   busy %zu: host %zu slot %d %s..%s\n", b,
			    in->busy[b].host, in->busy[b].slot,
			    fmt_time(in->busy[b].start, s, sizeof(s)),
			    fmt_time(in->busy[b].end, e, sizeof(e)));
	for (size_t i = 0; i < in->nreqs; i++) {
		const struct plan_request *r = &in->reqs[i];

		print_error("#   req %zu %s prio=%d q=%s flight=%ld build=%d "
			    "arch=%s nhosts=%d dur=%" PRId64 " nb=%s pin=%s",
			    i, r->what, r->priority,
			    fmt_time(r->queued_at, s, sizeof(s)), r->flight,
			    r->is_build, r->arch ? r->arch : "-", r->nhosts,
			    (int64_t)r->duration,
			    r->not_before ? fmt_time(r->not_before, e,
						     sizeof(e)) : "0",
			    r->pinned && r->pinned[0] ? r->pinned[0] : "-");
		for (const char *const *fl = r->flags; *fl; fl++)
			print_error(" %s", *fl);
		for (size_t k = 0; k < r->nhistory; k++)
			print_error(" hist(host %zu dur %" PRId64 " age %"
				    PRId64 " failed %d)", r->history[k].host,
				    (int64_t)r->history[k].duration,
				    (int64_t)(NOW - r->history[k].last_run),
				    r->history[k].last_failed);
		print_error("\n");
	}
}

static int has_flag(const char *const *flags, const char *flag)
{
	for (; flags && *flags; flags++)
		if (!strcmp(*flags, flag))
			return 1;
	return 0;
}

/* The host's equiv-* flag, or NULL. */
static const char *equiv_class(const struct plan_host *h)
{
	for (const char *const *fl = h->flags; *fl; fl++)
		if (!strncmp(*fl, "equiv-", 6))
			return *fl;
	return NULL;
}

/* Whether two hosts are of one site (NULL: the one site). */
static int same_site(const struct plan_host *a, const struct plan_host *b)
{
	return !strcmp(a->site ? a->site : "", b->site ? b->site : "");
}

static int req_has_equiv(const struct plan_request *r)
{
	for (const char *const *fl = r->flags; *fl; fl++)
		if (!strncmp(*fl, "equiv-", 6))
			return 1;
	return 0;
}

/* Host h could ever take r (ignoring time and the other hosts). */
static int matches(const struct plan_host *h, const struct plan_request *r)
{
	if (r->arch && strcmp(r->arch, h->arch))
		return 0;
	for (const char *const *fl = r->flags; *fl; fl++)
		if (strncmp(*fl, "equiv-", 6) && !has_flag(h->flags, *fl))
			return 0;
	return 1;
}

static int candidate(const struct fx *f, size_t h,
		     const struct plan_request *r)
{
	return f->hosts[h].usable && matches(&f->hosts[h], r) &&
	       (!r->pinned || !r->pinned[0] ||
		!strcmp(r->pinned[0], f->hosts[h].name));
}

/* Some set of usable hosts could ever take r (pins: one-host only). */
static int can_ever_take(const struct fx *f, const struct plan_request *r)
{
	size_t n = 0;
	int equiv = req_has_equiv(r);

	/* several hosts: of one class when asked, and a job's of one site */
	if (r->nhosts > 1) {
		for (size_t a = 0; a < f->in.nhosts; a++) {
			const char *cls = equiv_class(&f->hosts[a]);

			n = 0;
			for (size_t b = 0; (cls || !equiv) && b < f->in.nhosts;
			     b++) {
				const char *c2 = equiv_class(&f->hosts[b]);

				n += (!equiv || (c2 && !strcmp(cls, c2))) &&
				     (r->kind != PLAN_JOB ||
				      same_site(&f->hosts[a], &f->hosts[b])) &&
				     candidate(f, b, r);
			}
			if (n >= (size_t)r->nhosts)
				return 1;
		}
		return 0;
	}
	for (size_t h = 0; h < f->in.nhosts; h++)
		n += candidate(f, h, r);
	return n >= (size_t)r->nhosts;
}

static plan_time duration_on(const struct plan_request *r, size_t h)
{
	for (size_t k = 0; k < r->nhistory; k++)
		if (r->history[k].host == h)
			return r->history[k].duration;
	return r->duration;
}

/* Queue key comparison: < 0 when a goes before b. */
static int queue_cmp(const struct fx *f, size_t a, size_t b)
{
	const struct plan_request *x = &f->reqs[a], *y = &f->reqs[b];

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	if (x->queued_at != y->queued_at)
		return x->queued_at < y->queued_at ? -1 : 1;
	if (x->flight != y->flight)
		return x->flight < y->flight ? -1 : 1;
	if (x->is_build != y->is_build)
		return x->is_build ? -1 : 1;
	return a < b ? -1 : 1;
}

/* Fails, printing the lab, unless cond. */
#define CHECK(f, cond, ...)                                              \
	do {                                                             \
		if (!(cond)) {                                           \
			print_input(f);                                  \
			print_plan(f);                                   \
			fail_msg(__VA_ARGS__);                           \
		}                                                        \
	} while (0)

/* Checks one request's result against the input. */
static void check_result(const struct fx *f, size_t i)
{
	const struct plan_request *r = &f->reqs[i];
	const struct plan_result *p = &f->out.results[i];

	if (r->kind == PLAN_BLOCKAGE) {
		size_t usable = 0, matching = 0;

		CHECK(f, p->outcome == PLAN_BLOCKED_WINDOW,
		      "req %zu: blockage outcome", i);
		CHECK(f, p->start == r->not_before &&
			 p->end == r->not_before + r->duration,
		      "req %zu: blockage window", i);
		for (size_t h = 0; h < f->in.nhosts; h++) {
			matching += matches(&f->hosts[h], r);
			usable += candidate(f, h, r);
		}
		CHECK(f, p->nbooked >= usable && p->nbooked <= matching,
		      "req %zu: blockage on %zu hosts, %zu match", i,
		      p->nbooked, matching);
		for (size_t k = 0; k < p->nbooked; k++)
			CHECK(f, matches(&f->hosts[p->hosts[k].host], r),
			      "req %zu: blockage on a host it does not match",
			      i);
		return;
	}
	CHECK(f, p->outcome != PLAN_STARVED && p->outcome !=
		 PLAN_BLOCKED_WINDOW, "req %zu: outcome", i);
	if (!can_ever_take(f, r)) {
		CHECK(f, p->outcome == PLAN_NO_HOST && p->start == PLAN_NEVER &&
			 p->end == PLAN_NEVER,
		      "req %zu: no host can take it", i);
		return;
	}
	CHECK(f, p->outcome != PLAN_NO_HOST, "req %zu: a host can take it",
	      i);
	CHECK(f, p->start >= NOW && p->start >= r->not_before,
	      "req %zu: starts too early", i);
	CHECK(f, (p->outcome == PLAN_START) == (p->start == NOW),
	      "req %zu: start iff now", i);
	for (int k = 0; k < r->nhosts; k++) {
		size_t h = p->hosts[k].host;
		const struct plan_host *ho, *first;

		CHECK(f, h < f->in.nhosts, "req %zu: host %zu", i, h);
		ho = &f->hosts[h];
		CHECK(f, candidate(f, h, r), "req %zu: host %zu cannot take it",
		      i, h);
		for (int k2 = 0; k2 < k; k2++)
			CHECK(f, p->hosts[k2].host != h,
			      "req %zu: host %zu twice", i, h);
		first = &f->hosts[p->hosts[0].host];
		if (r->nhosts > 1 && req_has_equiv(r))
			CHECK(f, equiv_class(ho) && equiv_class(first) &&
				 !strcmp(equiv_class(ho), equiv_class(first)),
			      "req %zu: hosts of different classes", i);
		if (r->kind == PLAN_JOB)
			CHECK(f, same_site(ho, first), "req %zu: hosts of two sites",
			      i);
		if (has_flag(r->flags, "share-s"))
			CHECK(f, p->hosts[k].slot >= 0 &&
				 p->hosts[k].slot < ho->share_slots,
			      "req %zu: share slot %d", i, p->hosts[k].slot);
		else
			CHECK(f, p->hosts[k].slot == -1,
			      "req %zu: not a sharer, slot %d", i,
			      p->hosts[k].slot);
		if (ho->share_worn && p->hosts[k].slot >= 0)
			for (size_t b = 0; b < f->in.nbusy; b++) {
				const struct plan_busy *bu = &f->busy[b];

				if (bu->host == h && bu->slot >= 0)
					CHECK(f, p->start >= bu->end,
					      "req %zu: shares a worn host", i);
			}
	}
	CHECK(f, p->end > p->start, "req %zu: empty booking", i);
	if (r->nhosts == 1)
		CHECK(f, p->end == p->start + duration_on(r, p->hosts[0].host),
		      "req %zu: end is not start + duration there", i);
}

/* The timeline: sorted, complete, and nothing overlapping a booking. */
static void check_timeline(const struct fx *f)
{
	for (size_t h = 0; h < f->in.nhosts; h++) {
		const struct plan_slot_entry *t = f->out.timeline[h];
		size_t n = f->out.ntimeline[h], want = 0;

		for (size_t b = 0; b < f->in.nbusy; b++)
			want += f->busy[b].host == h;
		for (size_t i = 0; i < f->in.nreqs; i++) {
			const struct plan_result *p = &f->out.results[i];
			size_t nb = f->reqs[i].kind == PLAN_BLOCKAGE ?
				    p->nbooked :
				    p->outcome == PLAN_START ||
				    p->outcome == PLAN_WAIT ?
				    (size_t)f->reqs[i].nhosts : 0;

			for (size_t k = 0; k < nb; k++)
				want += p->hosts[k].host == h;
		}
		CHECK(f, n == want, "host %zu: %zu timeline entries, want %zu",
		      h, n, want);
		for (size_t a = 0; a < n; a++) {
			CHECK(f, !a || t[a - 1].start <= t[a].start,
			      "host %zu: timeline not sorted", h);
			if (t[a].req < 0 ||
			    f->reqs[t[a].req].kind == PLAN_BLOCKAGE)
				continue;
			CHECK(f, t[a].start == f->out.results[t[a].req].start,
			      "host %zu: entry %zu start", h, a);
			for (size_t b = 0; b < n; b++) {
				int shared = t[a].slot >= 0 &&
					     t[b].slot >= 0 &&
					     t[a].slot != t[b].slot;

				if (b == a || shared)
					continue;
				CHECK(f, t[b].end <= t[a].start ||
					 t[a].end <= t[b].start,
				      "host %zu: entries %zu and %zu overlap",
				      h, a, b);
			}
		}
	}
}

static void check_order(const struct fx *f)
{
	int seen[MAX_REQS] = { 0 };

	for (size_t k = 0; k < f->in.nreqs; k++) {
		size_t i = f->out.order[k];

		CHECK(f, i < f->in.nreqs && !seen[i], "order[%zu] = %zu", k,
		      i);
		seen[i] = 1;
	}
	for (size_t k = 1, prev = SIZE_MAX; k <= f->in.nreqs; k++) {
		size_t i = f->out.order[k - 1];

		if (f->reqs[i].kind == PLAN_BLOCKAGE)
			continue;
		CHECK(f, prev == SIZE_MAX || queue_cmp(f, prev, i) < 0,
		      "order: %zu before %zu", prev, i);
		prev = i;
	}
}

/* Results i of a and j of b are the same booking. */
static int same_result(const struct fx *a, size_t i, const struct fx *b,
		       size_t j)
{
	const struct plan_result *x = &a->out.results[i];
	const struct plan_result *y = &b->out.results[j];
	size_t n = x->outcome == PLAN_BLOCKED_WINDOW ? x->nbooked :
		   x->outcome == PLAN_START || x->outcome == PLAN_WAIT ?
		   (size_t)a->reqs[i].nhosts : 0;

	if (x->outcome != y->outcome || x->start != y->start ||
	    x->end != y->end)
		return 0;
	if (x->outcome == PLAN_BLOCKED_WINDOW && x->nbooked != y->nbooked)
		return 0;
	for (size_t k = 0; k < n; k++)
		if (x->hosts[k].host != y->hosts[k].host ||
		    x->hosts[k].slot != y->hosts[k].slot)
			return 0;
	return 1;
}

/* The same input planned twice gives the same plan. */
static void check_deterministic(struct fx *f)
{
	struct plan_output first = f->out;

	fx_plan(f);
	for (size_t i = 0; i < f->in.nreqs; i++) {
		const struct plan_result *x = &first.results[i];
		const struct plan_result *y = &f->out.results[i];

		CHECK(f, x->outcome == y->outcome && x->start == y->start &&
			 x->end == y->end && x->nbooked == y->nbooked &&
			 !strcmp(x->reason, y->reason) &&
			 first.order[i] == f->out.order[i],
		      "req %zu differs the second time", i);
		for (int k = 0; x->outcome != PLAN_NO_HOST &&
				k < (x->outcome == PLAN_BLOCKED_WINDOW ?
				     (int)x->nbooked : f->reqs[i].nhosts);
		     k++)
			CHECK(f, x->hosts[k].host == y->hosts[k].host &&
				 x->hosts[k].slot == y->hosts[k].slot,
			      "req %zu: hosts differ the second time", i);
	}
	for (size_t h = 0; h < f->in.nhosts; h++) {
		CHECK(f, first.ntimeline[h] == f->out.ntimeline[h],
		      "host %zu: timeline differs the second time", h);
		for (size_t k = 0; k < first.ntimeline[h]; k++) {
			const struct plan_slot_entry *x = &first.timeline[h][k];
			const struct plan_slot_entry *y =
				&f->out.timeline[h][k];

			CHECK(f, x->start == y->start && x->end == y->end &&
				 x->slot == y->slot && x->req == y->req,
			      "host %zu: timeline differs the second time", h);
		}
	}
	plan_output_release(&f->in, &first);
}

/*
 * The backfill guarantee: for each request, planning only the requests
 * up to it in queue order (and every blockage) books it the same way.
 */
static void check_prefixes(const struct fx *f)
{
	for (size_t k = 0; k < f->in.nreqs; k++) {
		size_t r = f->out.order[k], j = 0;
		int keep[MAX_REQS] = { 0 };
		struct fx sub;

		if (f->reqs[r].kind == PLAN_BLOCKAGE)
			continue;
		for (size_t q = 0; q <= k; q++)
			keep[f->out.order[q]] = 1;
		fx_init(&sub);
		sub.in.cfg = f->in.cfg;
		memcpy(sub.hosts, f->hosts, sizeof(sub.hosts));
		memcpy(sub.busy, f->busy, sizeof(sub.busy));
		memcpy(sub.flights, f->flights, sizeof(sub.flights));
		sub.in.nhosts = f->in.nhosts;
		sub.in.nbusy = f->in.nbusy;
		sub.in.nflights = f->in.nflights;
		for (size_t i = 0; i < f->in.nreqs; i++) {
			if (!keep[i] && f->reqs[i].kind != PLAN_BLOCKAGE)
				continue;
			if (i == r)
				j = sub.in.nreqs;
			sub.reqs[sub.in.nreqs++] = f->reqs[i];
		}
		fx_plan(&sub);
		if (!same_result(f, r, &sub, j)) {
			char a[512], b[512];

			print_input(f);
			print_plan(f);
			fail_msg("req %zu (%zu in queue) alone with those "
				 "before it: %s; with all: %s", r, k,
				 describe(&sub, j, a, sizeof(a)),
				 describe(f, r, b, sizeof(b)));
		}
		fx_release(&sub);
	}
}

#define RANDOM_LABS 1000
#define RANDOM_SEED UINT64_C(0x9e3779b97f4a7c15)

/* Plans RANDOM_LABS random labs and runs check on each. */
static void for_random_labs(void (*check)(struct fx *f))
{
	struct rlab *l = malloc(sizeof(*l));

	assert_non_null(l);
	rng = RANDOM_SEED;
	for (int n = 0; n < RANDOM_LABS; n++) {
		rlab_gen(l);
		fx_plan(&l->f);
		check(&l->f);
		fx_release(&l->f);
	}
	free(l);
}

static void check_invariants(struct fx *f)
{
	check_order(f);
	for (size_t i = 0; i < f->in.nreqs; i++)
		check_result(f, i);
	check_timeline(f);
}

static void check_prefixes_of(struct fx *f)
{
	check_prefixes(f);
}

/* Random labs: the order, matching, times, slots and the timeline. */
static void test_random_invariants(void **state)
{
	(void)state;
	for_random_labs(check_invariants);
}

/* Random labs: nothing behind a request in the queue delays it. */
static void test_random_backfill_guarantee(void **state)
{
	(void)state;
	for_random_labs(check_prefixes_of);
}

/* Random labs: the same input planned twice gives the same plan. */
static void test_random_deterministic(void **state)
{
	(void)state;
	for_random_labs(check_deterministic);
}

/* ---- the pruned search against the exhaustive one ---- */

#define BIG_HOSTS 120
#define BIG_REQS 300

/* A random lab big enough for several candidate blocks per class. */
struct biglab {
	struct plan_input in;
	struct plan_host hosts[BIG_HOSTS];
	const char *hflags[BIG_HOSTS][4];
	char hnames[BIG_HOSTS][24];
	struct plan_busy busy[BIG_HOSTS * 2];
	struct plan_request reqs[BIG_REQS];
	const char *rflags[BIG_REQS][4];
	const char *pins[BIG_REQS][2];
	struct plan_history hist[BIG_REQS][3];
	size_t deps[BIG_REQS][2];
};

/* Request i of a big lab of nh hosts (it may wait for one before it). */
static void bigreq_gen(struct biglab *l, size_t i, size_t nh)
{
	static const char *const archs[] = { "amd64", "arm64", "riscv64" };
	struct plan_request *r = &l->reqs[i];
	size_t k = 0;

	r->kind = rnd(30) == 0 ? PLAN_RESERVATION : PLAN_JOB;
	if (rnd(60) == 0)
		r->kind = PLAN_BLOCKAGE;
	r->what = "r";
	r->priority = (int)rnd(3);
	r->queued_at = NOW - 60 * (plan_time)rnd(30);
	r->flight = r->kind == PLAN_JOB ? 1 + (long)rnd(8) : 0;
	r->is_build = r->kind == PLAN_JOB && rnd(4) == 0;
	r->arch = rnd(6) ? archs[rnd(3)] : NULL;
	r->duration = 300 * (1 + (plan_time)rnd(16));
	if (rnd(3) == 0)
		l->rflags[i][k++] = "hvm";
	if (r->kind == PLAN_BLOCKAGE) {
		r->not_before = NOW + 600 * (plan_time)rnd(8);
		r->flags = l->rflags[i];
		return;
	}
	r->nhosts = rnd(8) == 0 ? 2 + (int)rnd(2) : 1;
	if (r->nhosts > 1 && rnd(2))
		l->rflags[i][k++] = "equiv-1";
	if (rnd(8) == 0)
		l->rflags[i][k++] = "share-s";
	r->flags = l->rflags[i];
	if (rnd(5) == 0)
		r->not_before = NOW + 300 * (plan_time)rnd(12);
	r->nhistory = rnd(3);
	for (size_t m = 0; m < r->nhistory; m++) {
		l->hist[i][m].host = rnd((unsigned)nh);
		l->hist[i][m].duration = 300 * (plan_time)rnd(10);
		l->hist[i][m].last_run = NOW - (plan_time)rnd((unsigned)(20 * DAY));
		l->hist[i][m].last_failed = rnd(6) == 0;
	}
	r->history = l->hist[i];
	if (rnd(12) == 0) {
		for (int m = 0; m < r->nhosts && m < 2; m++)
			l->pins[i][m] = rnd(2) ? l->hnames[rnd((unsigned)nh)] : NULL;
		if (r->nhosts <= 2)
			r->pinned = l->pins[i];
	}
	if (i && rnd(4) == 0) {
		l->deps[i][0] = rnd((unsigned)i);
		r->deps = l->deps[i];
		r->ndeps = 1;
	}
}

static void biglab_gen(struct biglab *l)
{
	static const char *const archs[] = { "amd64", "arm64", "riscv64" };
	static const char *const classes[] = { "equiv-x", "equiv-y", "equiv-z" };
	size_t nh = 20 + rnd(BIG_HOSTS - 20), nr = 50 + rnd(BIG_REQS - 50);

	memset(l, 0, sizeof(*l));
	plan_config_default(&l->in.cfg);
	l->in.cfg.starvation = 0;
	l->in.now = NOW;
	for (size_t h = 0; h < nh; h++) {
		int share = rnd(12) == 0;
		size_t k = 0;
		unsigned nb = rnd(3);

		snprintf(l->hnames[h], sizeof(l->hnames[h]), "h%zu", h);
		if (rnd(2))
			l->hflags[h][k++] = "hvm";
		if (rnd(2))
			l->hflags[h][k++] = classes[rnd(3)];
		if (share)
			l->hflags[h][k++] = "share-s";
		l->hosts[h].name = l->hnames[h];
		l->hosts[h].arch = archs[rnd(3)];
		l->hosts[h].flags = l->hflags[h];
		l->hosts[h].usable = rnd(20) != 0;
		if (share) {
			l->hosts[h].share_slots = 1 + (int)rnd(3);
			l->hosts[h].share_worn = rnd(4) == 0;
		}
		for (unsigned b = 0; b < nb; b++) {
			struct plan_busy *x = &l->busy[l->in.nbusy++];
			plan_time start = NOW + 300 * ((plan_time)rnd(20) - 4);

			x->host = h;
			x->slot = share && rnd(2) ? (int)rnd((unsigned)l->hosts[h].share_slots) : -1;
			x->start = start;
			x->end = (start > NOW ? start : NOW) + 300 * (1 + (plan_time)rnd(12));
			x->what = "busy";
		}
	}
	for (size_t i = 0; i < nr; i++)
		bigreq_gen(l, i, nh);
	l->in.hosts = l->hosts;
	l->in.nhosts = nh;
	l->in.busy = l->busy;
	l->in.reqs = l->reqs;
	l->in.nreqs = nr;
}

/* Big random labs: skipping hosts that cannot win changes no booking. */
static void test_random_pruning_exact(void **state)
{
	struct biglab *l = malloc(sizeof(*l));

	(void)state;
	assert_non_null(l);
	rng = RANDOM_SEED ^ 0x5bd1e995;
	for (int n = 0; n < 500; n++) {
		struct plan_output fast, slow;

		biglab_gen(l);
		assert_int_equal(plan_compute(&l->in, &fast), 0);
		l->in.cfg.exhaustive = 1;
		assert_int_equal(plan_compute(&l->in, &slow), 0);
		for (size_t i = 0; i < l->in.nreqs; i++) {
			const struct plan_result *x = &fast.results[i];
			const struct plan_result *y = &slow.results[i];
			size_t nb = x->outcome == PLAN_BLOCKED_WINDOW ? x->nbooked
				  : x->outcome <= PLAN_WAIT ? (size_t)l->reqs[i].nhosts : 0;

			if (x->outcome != y->outcome || x->start != y->start ||
			    x->end != y->end || x->nbooked != y->nbooked ||
			    strcmp(x->reason, y->reason))
				fail_msg("lab %d req %zu: pruned %s at %+" PRId64
					 " (%s), exhaustive %s at %+" PRId64 " (%s)",
					 n, i, plan_outcome_str(x->outcome),
					 (int64_t)(x->start - NOW), x->reason,
					 plan_outcome_str(y->outcome),
					 (int64_t)(y->start - NOW), y->reason);
			for (size_t k = 0; k < nb; k++)
				if (x->hosts[k].host != y->hosts[k].host ||
				    x->hosts[k].slot != y->hosts[k].slot)
					fail_msg("lab %d req %zu: host %zu: pruned %zu/%d, exhaustive %zu/%d",
						 n, i, k, x->hosts[k].host,
						 x->hosts[k].slot, y->hosts[k].host,
						 y->hosts[k].slot);
		}
		plan_output_release(&l->in, &fast);
		plan_output_release(&l->in, &slow);
	}
	free(l);
}

/* ---- planning again against planning from scratch ---- */

/* A big lab that changes a little at a time, as the scheduler sees it:
 * requests start, end, come and go, running jobs end, the clock moves. */
struct seqlab {
	struct biglab b;            /* the pool of requests, by slot */
	char names[BIG_REQS][16];
	int alive[BIG_REQS];
	size_t nslots;              /* slots ever used */
	size_t pos[BIG_REQS];       /* slot -> input index */
	size_t slot_of[BIG_REQS];   /* input index -> slot */
	struct plan_request reqs[BIG_REQS];
	size_t deps[BIG_REQS][2];
	struct plan_busy busy[BIG_HOSTS * 4];
	struct plan_input in;
	int named;                  /* names given so far */
};

static void seq_name(struct seqlab *l, size_t slot)
{
	snprintf(l->names[slot], sizeof(l->names[slot]), "r%d", l->named++);
	l->b.reqs[slot].what = l->names[slot];
}

static void seq_build(struct seqlab *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->nslots; i++)
		if (l->alive[i]) {
			l->pos[i] = n;
			l->slot_of[n++] = i;
		}
	for (size_t k = 0; k < n; k++) {
		const struct plan_request *src = &l->b.reqs[l->slot_of[k]];
		size_t m = 0;

		l->reqs[k] = *src;
		for (size_t d = 0; d < src->ndeps; d++)
			if (l->alive[src->deps[d]])
				l->deps[k][m++] = l->pos[src->deps[d]];
		l->reqs[k].deps = m ? l->deps[k] : NULL;
		l->reqs[k].ndeps = m;
	}
	l->in.reqs = l->reqs;
	l->in.nreqs = n;
	l->in.busy = l->busy;
}

static void seq_add_busy(struct seqlab *l, size_t host, int slot,
			 plan_time start, plan_time end)
{
	struct plan_busy *x;

	if (l->in.nbusy >= sizeof(l->busy) / sizeof(l->busy[0]))
		return;
	x = &l->busy[l->in.nbusy++];
	x->host = host;
	x->slot = slot;
	x->start = start;
	x->end = end;
	x->what = "started";
}

/* One change, as between two passes; scratch is the last full plan. */
static void seq_change(struct seqlab *l, const struct plan_output *scratch)
{
	size_t nh = l->in.nhosts, n = l->in.nreqs;
	unsigned what = rnd(20);
	size_t k;

	if (what < 5 && l->in.nbusy) {          /* a running job ends */
		k = rnd((unsigned)l->in.nbusy);
		l->busy[k] = l->busy[--l->in.nbusy];
	} else if (what < 10 && n) {             /* what starts now starts */
		for (size_t o = 0; o < n; o++) {
			size_t i = scratch->order[o];
			const struct plan_result *x = &scratch->results[i];

			if (x->outcome != PLAN_START)
				continue;
			for (size_t h = 0; h < x->nbooked; h++)
				seq_add_busy(l, x->hosts[h].host,
					     x->hosts[h].slot, x->start, x->end);
			l->alive[l->slot_of[i]] = 0;
			break;
		}
	} else if (what < 12 && n) {             /* an estimate changes */
		k = l->slot_of[rnd((unsigned)n)];
		l->b.reqs[k].duration = 300 * (1 + (plan_time)rnd(16));
	} else if (what < 14 && l->nslots < BIG_REQS) {   /* one more */
		k = l->nslots++;
		memset(&l->b.reqs[k], 0, sizeof(l->b.reqs[k]));
		memset(l->b.rflags[k], 0, sizeof(l->b.rflags[k]));
		memset(l->b.pins[k], 0, sizeof(l->b.pins[k]));
		bigreq_gen(&l->b, k, nh);
		seq_name(l, k);
		if (n && rnd(6) == 0)   /* the name of another */
			snprintf(l->names[k], sizeof(l->names[k]), "%s",
				 l->reqs[rnd((unsigned)n)].what);
		l->alive[k] = 1;
	} else if (what < 16 && n) {             /* one is cancelled */
		l->alive[l->slot_of[rnd((unsigned)n)]] = 0;
	} else if (what < 17) {                  /* the clock moves */
		l->in.now += 60;
	} else if (what < 18) {                  /* a host breaks or heals */
		k = rnd((unsigned)nh);
		l->b.hosts[k].usable = !l->b.hosts[k].usable;
	} else if (what < 19 && n) {             /* a priority changes */
		k = l->slot_of[rnd((unsigned)n)];
		l->b.reqs[k].priority = (int)rnd(3);
	}                                        /* else: nothing changed */
	seq_build(l);
}

static int same_output(const struct plan_input *in, const struct plan_output *x,
		       const struct plan_output *y, char *why, size_t len)
{
	if (x->next_change != y->next_change) {
		snprintf(why, len, "next_change");
		return 0;
	}
	for (size_t i = 0; i < in->nreqs; i++) {
		const struct plan_result *u = &x->results[i], *v = &y->results[i];

		if (x->order[i] != y->order[i]) {
			snprintf(why, len, "order at %zu", i);
			return 0;
		}
		if (u->outcome != v->outcome || u->start != v->start ||
		    u->end != v->end || u->nbooked != v->nbooked ||
		    strcmp(u->reason, v->reason)) {
			snprintf(why, len, "%s: %s at %+" PRId64 " (%.100s) against %s at %+" PRId64 " (%.100s)",
				 in->reqs[i].what, plan_outcome_str(u->outcome),
				 (int64_t)(u->start - NOW), u->reason,
				 plan_outcome_str(v->outcome),
				 (int64_t)(v->start - NOW), v->reason);
			return 0;
		}
		for (size_t k = 0; k < u->nbooked; k++)
			if (u->hosts[k].host != v->hosts[k].host ||
			    u->hosts[k].slot != v->hosts[k].slot) {
				snprintf(why, len, "%s: host %zu", in->reqs[i].what, k);
				return 0;
			}
	}
	for (size_t h = 0; h < in->nhosts; h++) {
		int same = x->ntimeline[h] == y->ntimeline[h];

		if (in->no_timeline) {   /* x's stay empty */
			if (x->ntimeline[h]) {
				snprintf(why, len, "a timeline of %s made unasked",
					 in->hosts[h].name);
				return 0;
			}
			continue;
		}

		for (size_t k = 0; same && k < x->ntimeline[h]; k++) {
			const struct plan_slot_entry *u = &x->timeline[h][k];
			const struct plan_slot_entry *v = &y->timeline[h][k];

			same = u->start == v->start && u->end == v->end &&
			       u->slot == v->slot && u->req == v->req;
		}
		if (!same) {
			snprintf(why, len, "timeline of %s", in->hosts[h].name);
			return 0;
		}
	}
	return 1;
}

/* Whether request i of out, said to have the last plan's result, has
 * it: a request of that name in last has the same. */
static int same_as_last(const struct plan_input *in,
			const struct plan_output *out, size_t i,
			const struct plan_output *last,
			char (*last_what)[16], size_t nlast)
{
	const struct plan_result *u = &out->results[i];

	for (size_t j = 0; j < nlast; j++) {
		const struct plan_result *v = &last->results[j];
		int same = !strcmp(last_what[j], in->reqs[i].what) &&
			   u->outcome == v->outcome && u->start == v->start &&
			   u->end == v->end && u->nbooked == v->nbooked &&
			   !strcmp(u->reason, v->reason);

		for (size_t k = 0; same && k < u->nbooked; k++)
			same = u->hosts[k].host == v->hosts[k].host &&
			       u->hosts[k].slot == v->hosts[k].slot;
		if (same)
			return 1;
	}
	return 0;
}

/* Long random runs: every plan made again is the plan from scratch, and
 * each way of making it (kept, compared, searched) is taken; a result
 * said to be the last plan's is. */
static void test_random_again_exact(void **state)
{
	struct seqlab *l = malloc(sizeof(*l));
	struct plan_again_stats total = { 0 };
	static char last_what[BIG_REQS][16];
	size_t same_results = 0;
	int whole = 0;

	(void)state;
	assert_non_null(l);
	rng = RANDOM_SEED ^ 0x2545f491;
	for (int lab = 0; lab < 60; lab++) {
		struct plan_memo *m = plan_memo_new();

		memset(l, 0, sizeof(*l));
		biglab_gen(&l->b);
		l->nslots = l->b.in.nreqs;
		for (size_t i = 0; i < l->nslots; i++) {
			seq_name(l, i);
			l->alive[i] = 1;
		}
		l->in = l->b.in;
		memcpy(l->busy, l->b.busy, l->b.in.nbusy * sizeof(l->busy[0]));
		seq_build(l);
		struct plan_output last = { 0 };
		size_t nlast = 0;

		for (int step = 0; step < 40; step++) {
			struct plan_output again, scratch;
			struct plan_again_stats st;
			struct plan_input asked = l->in;
			char why[300];

			/* half the labs as the scheduler plans: no timelines */
			asked.no_timeline = lab % 2;
			assert_int_equal(plan_compute_again(&asked, &again, m, &st), 0);
			assert_int_equal(plan_compute(&l->in, &scratch), 0);
			if (!same_output(&asked, &again, &scratch, why, sizeof(why)))
				fail_msg("lab %d step %d: planned again, %s", lab,
					 step, why);
			for (size_t i = 0; i < l->in.nreqs; i++) {
				if (!again.same_result[i])
					continue;
				if (!same_as_last(&l->in, &again, i, &last,
						  last_what, nlast))
					fail_msg("lab %d step %d: %s has not the last plan's result",
						 lab, step, l->in.reqs[i].what);
				same_results++;
			}
			whole += st.whole;
			total.kept += st.kept;
			total.compared += st.compared;
			total.searched += st.searched;
			total.changed_hosts += st.changed_hosts;
			plan_output_release(&l->in, &last);
			last = again;
			nlast = l->in.nreqs;
			for (size_t i = 0; i < nlast; i++)
				snprintf(last_what[i], sizeof(last_what[i]), "%s",
					 l->in.reqs[i].what);
			seq_change(l, &scratch);
			plan_output_release(&l->in, &scratch);
		}
		plan_output_release(&l->in, &last);
		plan_memo_free(m);
	}
	print_message("planned again: %d whole, %zu kept, %zu compared, %zu searched, %zu hosts changed, %zu results the same\n",
		      whole, total.kept, total.compared, total.searched,
		      total.changed_hosts, same_results);
	assert_true(whole >= 60 && whole < 60 * 40 / 2);
	assert_true(total.kept > 0 && total.compared > 0 && total.searched > 0);
	assert_true(same_results > 0);
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_default),
		cmocka_unit_test(test_outcome_str),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_inconsistent_input),
		cmocka_unit_test(test_queue_order),
		cmocka_unit_test(test_backfill_hole),
		cmocka_unit_test(test_backfill_two_hosts),
		cmocka_unit_test(test_match_arch_flags),
		cmocka_unit_test(test_unusable_never_chosen),
		cmocka_unit_test(test_no_host_books_nothing),
		cmocka_unit_test(test_equiv_same_class),
		cmocka_unit_test(test_equiv_earliest_class),
		cmocka_unit_test(test_equiv_no_class),
		cmocka_unit_test(test_one_site),
		cmocka_unit_test(test_distinct_hosts),
		cmocka_unit_test(test_multi_host_common_time),
		cmocka_unit_test(test_pinned),
		cmocka_unit_test(test_pinned_multi),
		cmocka_unit_test(test_pinned_twice),
		cmocka_unit_test(test_pinned_unusable_or_mismatch),
		cmocka_unit_test(test_pinned_gone),
		cmocka_unit_test(test_pinned_host_back),
		cmocka_unit_test(test_unpinned_not_gone),
		cmocka_unit_test(test_pinned_gone_pair),
		cmocka_unit_test(test_busy_respected),
		cmocka_unit_test(test_timeline),
		cmocka_unit_test(test_history_duration),
		cmocka_unit_test(test_prevfail),
		cmocka_unit_test(test_variation),
		cmocka_unit_test(test_build_host_choice),
		cmocka_unit_test(test_build_no_variation),
		cmocka_unit_test(test_share_slots),
		cmocka_unit_test(test_share_whole_host),
		cmocka_unit_test(test_share_worn),
		cmocka_unit_test(test_share_worn_only_sharers),
		cmocka_unit_test(test_share_one_slot),
		cmocka_unit_test(test_reservations),
		cmocka_unit_test(test_blockage_window),
		cmocka_unit_test(test_blockage_matching),
		cmocka_unit_test(test_blockage_begun),
		cmocka_unit_test(test_deps),
		cmocka_unit_test(test_deps_pending_never_start),
		cmocka_unit_test(test_deps_behind_in_queue),
		cmocka_unit_test(test_starvation),
		cmocka_unit_test(test_starved_counts),
		cmocka_unit_test(test_start_now_not_starved),
		cmocka_unit_test(test_random_invariants),
		cmocka_unit_test(test_random_backfill_guarantee),
		cmocka_unit_test(test_random_deterministic),
		cmocka_unit_test(test_random_pruning_exact),
		cmocka_unit_test(test_random_again_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
