/*
 * report.c: judging a loaded report and writing it as JSON and as OSSTest's
 * mail (reference §4.4). The mail keeps OSSTest's layout, section
 * headings and words, which people and scripts grep for, with hangar's
 * header names (X-Hangar-*).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "xalloc.h"
#include "banned.h"

void report_init(struct report *r)
{
	memset(r, 0, sizeof(*r));
	vec_init(&r->trees);
	vec_init(&r->revs);
	vec_init(&r->pool);
	allow_init(&r->allow);
}

static void rep_age_release(struct rep_age *a)
{
	free(a->started);
}

void report_release(struct report *r)
{
	free(r->branch);
	free(r->intent);
	free(r->status);
	free(r->verdict);
	free(r->tree);
	free(r->that);
	free(r->push_log);
	vec_clear(&r->trees);
	vec_clear(&r->revs);
	for (size_t i = 0; i < r->njobs; i++) {
		free(r->jobs[i].job);
		free(r->jobs[i].status);
		free(r->jobs[i].hosts);
	}
	free(r->jobs);
	for (size_t i = 0; i < r->nfails; i++)
		free((void *)r->fails[i].obs);
	free(r->fails);
	for (size_t i = 0; i < r->nsubs; i++)
		report_release(&r->subs[i]);
	free(r->subs);
	allow_release(&r->allow);
	rep_age_release(&r->basis);
	rep_age_release(&r->failing_since);
	rep_age_release(&r->same_since);
	vec_clear(&r->pool);
	memset(r, 0, sizeof(*r));
}

const char *report_str(struct report *r, const char *s)
{
	vec_push(&r->pool, s);
	return r->pool.v[r->pool.n - 1];
}

static struct report *rep_sub(const struct report *r, long flight)
{
	for (size_t i = 0; i < r->nsubs; i++)
		if (r->subs[i].flight == flight)
			return &r->subs[i];
	return NULL;
}

/* Marks the subs that a heisenbug of f[] passed in; returns how many
 * were new. */
static size_t rep_mark_heisen(const struct report *r,
			      const struct cl_failure *f, size_t n)
{
	size_t marked = 0;

	for (size_t i = 0; i < n; i++) {
		struct report *s = f[i].heisen ? rep_sub(r, f[i].pass_in) : NULL;

		if (s && !s->heisen_flight) {
			s->heisen_flight = 1;
			marked++;
		}
	}
	return marked;
}

/* One flight's failures and its own verdict and outcome. */
static void rep_judge(struct report *s)
{
	const char **st = xcalloc(s->njobs + 1, sizeof(*st));

	for (size_t i = 0; i < s->nfails; i++)
		classify_failure(&s->fails[i], &s->allow);
	s->vk = classify_verdict(s->fails, s->nfails);
	for (size_t i = 0; i < s->njobs; i++)
		st[i] = s->jobs[i].status;
	flight_outcome(st, s->njobs, s->outcome, sizeof(s->outcome));
	free(st);
}

void report_classify(struct report *r)
{
	size_t marked;

	/* a pass in a flight whose own failures are not at hand, or not all
	 * known (the reported flight still running), justifies nothing */
	for (long k = -1; k < (long)r->nsubs; k++) {
		struct report *s = k < 0 ? r : &r->subs[k];

		for (size_t i = 0; i < s->nfails; i++) {
			long in = s->fails[i].pass_in;

			if (in && (in == r->flight
					   ? !r->status || strcmp(r->status, "finished")
					   : !rep_sub(r, in)))
				s->fails[i].pass_in = 0;
		}
	}
	rep_judge(r);
	for (size_t i = 0; i < r->nsubs; i++) {
		rep_judge(&r->subs[i]);
		r->subs[i].heisen_flight = 0;
	}
	/* the flights that justified a heisenbug, and theirs in turn */
	marked = rep_mark_heisen(r, r->fails, r->nfails);
	while (marked) {
		marked = 0;
		for (size_t i = 0; i < r->nsubs; i++)
			if (r->subs[i].heisen_flight)
				marked += rep_mark_heisen(r, r->subs[i].fails,
							  r->subs[i].nfails);
	}
	for (size_t i = 0; i < r->nsubs; i++)
		if (r->subs[i].heisen_flight)
			r->vk = verdict_worse(r->vk, r->subs[i].vk);
}

static int rep_job_is_build(const struct report *r, const char *job)
{
	for (size_t i = 0; i < r->njobs; i++)
		if (!strcmp(r->jobs[i].job, job))
			return r->jobs[i].build;
	return 0;
}

size_t report_retest_jobs(const struct report *r, struct vec *jobs,
			  const char **why)
{
	size_t blocking_jobs = 0;
	struct vec seen = VEC_INIT;

	/*
	 * OSSTest compares the regressed test jobs with its "nblockers"; we
	 * count jobs with a blocking failure, so any blocker that a retest
	 * of those jobs cannot clear (a build, a broken host, a heisen
	 * flight's own) stops it.
	 */
	for (size_t i = 0; i < r->nsubs; i++)
		for (size_t j = 0; r->subs[i].heisen_flight && j < r->subs[i].nfails; j++)
			blocking_jobs += r->subs[i].fails[j].blocker != NULL;
	for (size_t i = 0; i < r->nfails; i++) {
		const struct cl_failure *f = &r->fails[i];

		if (!f->blocker || vec_find(&seen, f->job) >= 0)
			continue;
		vec_push(&seen, f->job);
		blocking_jobs++;
		if (f->cls == FC_REGRESSION && !rep_job_is_build(r, f->job) &&
		    vec_find(jobs, f->job) < 0)
			vec_push(jobs, f->job);
	}
	vec_clear(&seen);
	*why = NULL;
	if (!jobs->n)
		*why = "no regressions";
	else if (jobs->n < blocking_jobs)
		*why = "other blockers";
	else if (jobs->n > 1 && jobs->n * 10 > r->njobs)
		*why = "too many regressions";
	if (*why) {
		vec_clear(jobs);
		return 0;
	}
	return jobs->n;
}

/* ---- JSON ---- */

static json_t *rep_revs_json(const struct vec *trees, const struct vec *revs)
{
	json_t *o = json_object();

	for (size_t i = 0; i < trees->n; i++)
		json_object_set_new(o, trees->v[i], json_string(revs->v[i]));
	return o;
}

static json_t *rep_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The failures of flight (r itself or a heisen flight of top) into the
 * report's arrays. */
static void rep_failures_json(const struct report *r, json_t *regr,
			      json_t *fails)
{
	for (size_t i = 0; i < r->nfails; i++) {
		const struct cl_failure *f = &r->fails[i];

		if (f->cls == FC_REGRESSION)
			json_array_append_new(
				regr, json_pack("{s:s, s:s, s:I, s:I}", "job", f->job,
						"step", f->step, "baseline_flight",
						(json_int_t)f->vs, "flight",
						(json_int_t)r->flight));
		json_array_append_new(
			fails,
			json_pack("{s:s, s:s, s:I, s:s, s:s, s:b, s:s, s:I}", "job",
				  f->job, "step", f->step, "stepno",
				  (json_int_t)f->stepno, "status", f->status,
				  "class", fail_class_name(f->cls), "blocking",
				  f->blocker != NULL, "text", f->text, "flight",
				  (json_int_t)r->flight));
	}
}

json_t *report_json(const struct report *r)
{
	json_t *o, *regr = json_array(), *fails = json_array(), *base;

	/* the heisen flights' failures follow the flight's own: they
	 * decide too (each says which flight it is of) */
	rep_failures_json(r, regr, fails);
	for (size_t i = 0; i < r->nsubs; i++)
		if (r->subs[i].heisen_flight)
			rep_failures_json(&r->subs[i], regr, fails);
	if (r->that && r->tree)
		base = json_pack("{s:o, s:{s:s}}", "flight",
				 r->baseline_flight ? json_integer(r->baseline_flight)
						    : json_null(),
				 "revisions", r->tree, r->that);
	else
		base = json_null();
	o = json_pack("{s:I, s:o, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:b, "
		      "s:b, s:s, s:s, s:o}",
		      "flight", (json_int_t)r->flight, "branch",
		      rep_str_or_null(r->branch), "intent", r->intent, "status",
		      r->status, "verdict", r->verdict, "tested",
		      rep_revs_json(&r->trees, &r->revs), "baseline", base,
		      "regressions", regr, "failures", fails, "pushed", r->pushed,
		      "baseline_test", r->baseline_test, "outcome", r->outcome,
		      "judgement", verdict_kind_name(r->vk),
		      "retest_flight",
		      r->retest_flight ? json_integer(r->retest_flight) : json_null());
	return o;
}

/* ---- a decision against today's judgement ---- */

const char *report_json_judgement(json_t *rep)
{
	const char *j = json_string_value(json_object_get(rep, "judgement"));
	json_t *f;
	size_t i, n = 0, blocking = 0;

	if (j)
		return j;
	json_array_foreach(json_object_get(rep, "failures"), i, f) {
		n++;
		blocking += json_is_true(json_object_get(f, "blocking"));
	}
	return blocking ? "not tolerable" : n ? "tolerable" : "perfect";
}

static int rep_pushable_word(const char *j)
{
	return !strcmp(j, "perfect") || !strcmp(j, "tolerable");
}

static void rep_failure_key(json_t *rep, json_t *f, char *out, size_t size)
{
	json_int_t fl = json_integer_value(json_object_get(f, "flight"));
	json_int_t own = json_integer_value(json_object_get(rep, "flight"));

	if (fl && fl != own)
		snprintf(out, size, "%s %s in %lld",
			 json_string_value(json_object_get(f, "job")),
			 json_string_value(json_object_get(f, "step")), (long long)fl);
	else
		snprintf(out, size, "%s %s",
			 json_string_value(json_object_get(f, "job")),
			 json_string_value(json_object_get(f, "step")));
}

static json_t *rep_failure_find(json_t *rep, const char *key)
{
	json_t *f;
	size_t i;
	char k[256];

	json_array_foreach(json_object_get(rep, "failures"), i, f) {
		rep_failure_key(rep, f, k, sizeof(k));
		if (!strcmp(k, key))
			return f;
	}
	return NULL;
}

static void rep_failure_desc(json_t *f, char *out, size_t size)
{
	const char *text = json_string_value(json_object_get(f, "text"));

	if (!f)
		snprintf(out, size, "not a failure");
	else
		snprintf(out, size, "%s%s%s%s",
			 json_string_value(json_object_get(f, "class")),
			 json_is_true(json_object_get(f, "blocking")) ? " (blocking)" : "",
			 text && *text ? " " : "", text ? text : "");
}

/* The failures of a that b judges otherwise or lacks; a_is_decided
 * says which of the two is the decision. */
static void rep_differences_of(json_t *a, json_t *b, int a_is_decided,
			       struct vec *seen, struct vec *out)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(a, "failures"), i, f) {
		char key[256], da[192], db[192];
		json_t *g;

		rep_failure_key(a, f, key, sizeof(key));
		if (vec_find(seen, key) >= 0)
			continue;
		vec_push(seen, key);
		g = rep_failure_find(b, key);
		rep_failure_desc(f, da, sizeof(da));
		rep_failure_desc(g, db, sizeof(db));
		if (!strcmp(da, db))
			continue;
		vec_pushf(out, "%s: %s when decided, %s now", key,
			  a_is_decided ? da : db, a_is_decided ? db : da);
	}
}

void report_json_differences(json_t *decided, json_t *now, struct vec *out)
{
	const char *then = report_json_judgement(decided), *today = report_json_judgement(now);
	struct vec seen = VEC_INIT;

	if (rep_pushable_word(then) != rep_pushable_word(today))
		vec_pushf(out, "the verdict: %s when decided (%s), %s now",
			  then, json_string_value(json_object_get(decided, "verdict")),
			  today);
	rep_differences_of(decided, now, 1, &seen, out);
	rep_differences_of(now, decided, 0, &seen, out);
	vec_clear(&seen);
}

/* ---- the mail ---- */

/* OSSTest's categories, in mail order. */
enum rep_cat { CAT_BLOCKING, CAT_HEISEN, CAT_ALLOWABLE, CAT_NONBLOCKING };

static enum rep_cat rep_cat_of(const struct cl_failure *f)
{
	if (f->blocker)
		return CAT_BLOCKING;
	if (f->heisen)
		return CAT_HEISEN;
	if (f->allowable)
		return CAT_ALLOWABLE;
	return CAT_NONBLOCKING;
}

static const char *rep_word(const struct report *r, const struct cl_failure *f)
{
	static const char *const words[] = { "regression", "heisenbug",
					     "allowable", "nonblocking" };
	enum rep_cat c = rep_cat_of(f);

	return c == CAT_BLOCKING && !r->that ? "fail" : words[c];
}

/* A flight number as OSSTest shows it: a retest is "N-retest". */
static void rep_flightnum(const struct report *r, long flight, char *out,
			  size_t size)
{
	const char *suffix = "";

	if (flight == r->retest_flight && flight)
		suffix = "-retest";
	for (size_t i = 0; i < r->nsubs; i++)
		if (r->subs[i].flight == flight &&
		    !strcmp(r->subs[i].intent, "retest"))
			suffix = "-retest";
	snprintf(out, size, "%ld%s", flight, suffix);
}

struct rep_line {
	const struct cl_failure *f;
	long in_flight;       /* a heisen flight's failure: that flight */
	enum rep_cat cat;
};

static int rep_line_cmp(const void *a, const void *b)
{
	const struct rep_line *x = a, *y = b;
	int c;

	if (x->cat != y->cat)
		return x->cat < y->cat ? -1 : 1;
	if ((c = strcmp(x->f->status, y->f->status)))
		return c;
	if (x->in_flight != y->in_flight)
		return x->in_flight < y->in_flight ? -1 : 1;
	if ((c = strcmp(x->f->text, y->f->text)))
		return c;
	if ((c = strcmp(x->f->job, y->f->job)))
		return c;
	return x->f->stepno - y->f->stepno;
}

/* OSSTest squeezes a line's padding, rightmost first, until it fits 79
 * columns. */
static void rep_squeeze(char *s)
{
	while (strlen(s) > 79) {
		char *dbl = NULL;

		for (char *p = strstr(s, "  "); p; p = strstr(p + 1, "  "))
			dbl = p;
		if (!dbl)
			break;
		memmove(dbl, dbl + 1, strlen(dbl));
	}
}

static void rep_failure_line(const struct report *r, const struct rep_line *l,
			     struct buf *out)
{
	char no[16] = "", in[48] = "", core[128], line[512];

	if (l->f->stepno)
		snprintf(no, sizeof(no), "%d", l->f->stepno);
	if (l->in_flight) {
		char fl[32];

		rep_flightnum(r, l->in_flight, fl, sizeof(fl));
		snprintf(in, sizeof(in), "in %s ", fl);
	}
	if (l->f->heisen) {
		char fl[32];

		rep_flightnum(r, l->f->pass_in, fl, sizeof(fl));
		snprintf(core, sizeof(core), "pass in %s", fl);
	} else {
		snprintf(core, sizeof(core), "%s", l->f->text);
	}
	snprintf(line, sizeof(line), " %-28s %2s %-28s %-8s %s%s", l->f->job, no,
		 l->f->step, l->f->status, in, core);
	rep_squeeze(line);
	buf_addstr(out, line);
	buf_rtrim(out);
	buf_addch(out, '\n');
}

/* Whether job/step is listed already in a category as grave as cat. */
static int rep_listed(const struct rep_line *lines, size_t n,
		      const struct cl_failure *f, enum rep_cat cat)
{
	for (size_t i = 0; i < n; i++)
		if (lines[i].cat <= cat && !strcmp(lines[i].f->job, f->job) &&
		    !strcmp(lines[i].f->step, f->step))
			return 1;
	return 0;
}

/*
 * The mail's failure lines, in its order: the flight's own, then those of
 * the flights that justified its heisenbugs ("in N ..."), each in its own
 * category, as OSSTest lists them; a heisen flight's line is left out
 * when the same job and step is listed already as gravely.
 */
static struct rep_line *rep_lines(const struct report *r, size_t *n)
{
	size_t total = r->nfails, k = 0;
	struct rep_line *lines;

	for (size_t i = 0; i < r->nsubs; i++)
		total += r->subs[i].nfails;
	lines = xcalloc(total ? total : 1, sizeof(*lines));
	for (size_t i = 0; i < r->nfails; i++)
		lines[k++] = (struct rep_line){ &r->fails[i], 0,
						rep_cat_of(&r->fails[i]) };
	for (size_t i = 0; i < r->nsubs; i++) {
		const struct report *s = &r->subs[i];

		for (size_t j = 0; s->heisen_flight && j < s->nfails; j++) {
			enum rep_cat cat = rep_cat_of(&s->fails[j]);

			if (!rep_listed(lines, k, &s->fails[j], cat))
				lines[k++] = (struct rep_line){ &s->fails[j],
								s->flight, cat };
		}
	}
	qsort(lines, k, sizeof(*lines), rep_line_cmp);
	*n = k;
	return lines;
}

static void rep_failure_sections(const struct report *r,
				 const struct rep_line *lines, size_t n,
				 struct buf *out)
{
	static const char *const heads[] = {
		[CAT_BLOCKING] = "Tests which did not succeed and are blocking,\n"
				 "including tests which could not be run:\n",
		[CAT_HEISEN] = "Tests which are failing intermittently (not blocking):\n",
		[CAT_ALLOWABLE] = "Regressions which are regarded as allowable (not blocking):\n",
		[CAT_NONBLOCKING] = "Tests which did not succeed, but are not blocking:\n",
	};
	int cat = -1;

	for (size_t i = 0; i < n; i++) {
		if ((int)lines[i].cat != cat) {
			cat = (int)lines[i].cat;
			buf_addch(out, '\n');
			buf_addstr(out, cat == CAT_BLOCKING && !r->that
					       ? "Tests which did not succeed, including "
						 "tests which could not be run:\n"
					       : heads[cat]);
		}
		rep_failure_line(r, &lines[i], out);
	}
}

void report_subject(const struct report *r, struct buf *out)
{
	const char *branch = r->branch ? r->branch : "adhoc";

	if (r->baseline_test)
		buf_addf(out, "[%s baseline test] ", branch);
	else
		buf_addf(out, "[%s %s] ", branch,
			 !strcmp(r->intent, "gate") ? "test" : r->intent);
	buf_addf(out, "%ld: %s%s%s", r->flight,
		 r->vk == VK_REGRESSIONS ? "regressions - " :
		 r->vk == VK_TOLERABLE ? "tolerable " : "",
		 r->outcome, r->pushed ? " - PUSHED" : "");
}

static void rep_age_line(const char *what, const struct rep_age *a,
			 int attempts, struct buf *out)
{
	if (!a->flight)
		return;
	buf_addf(out, "%-20s %6ld  %s %4ld days", what, a->flight,
		 a->started ? a->started : "(not started)", a->age_days);
	if (attempts)
		buf_addf(out, " %4ld attempts", a->attempts);
	buf_addch(out, '\n');
}

static void rep_headers(const struct report *r, const struct report_mail *m,
			const struct rep_line *lines, size_t n, struct buf *out)
{
	const char *branch = r->branch ? r->branch : "adhoc";

	if (m->from)
		buf_addf(out, "From: %s\n", m->from);
	if (m->to)
		buf_addf(out, "To: %s\n", m->to);
	buf_addf(out, "Message-ID: <hangar-%ld-mainreport@%s>\n", r->flight,
		 m->hostname ? m->hostname : "hangar");
	buf_addstr(out, "Subject: ");
	report_subject(r, out);
	buf_addstr(out, "\nX-Hangar-Failures:");
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "\n    %s:%s:%s:%s:%s", branch, lines[i].f->job,
			 lines[i].f->step, lines[i].f->status,
			 rep_word(r, lines[i].f));
	buf_addstr(out, n ? "\n" : " none\n");
	buf_addstr(out, "X-Hangar-Versions-This:\n");
	for (size_t i = 0; i < r->trees.n; i++)
		buf_addf(out, "    %s=%s\n", r->trees.v[i], r->revs.v[i]);
	if (r->that && r->tree)
		buf_addf(out, "X-Hangar-Versions-That:\n    %s=%s\n", r->tree,
			 r->that);
	buf_addch(out, '\n');
}

static void rep_flight_heading(const struct report *r,
			       const struct report_mail *m, struct buf *out)
{
	const char *branch = r->branch ? r->branch : "adhoc";

	buf_addf(out, "flight %ld %s %s\n", r->flight, branch, r->intent);
	if (r->retest_flight)
		buf_addf(out, "flight %ld %s retest\n", r->retest_flight, branch);
	if (m->url) {
		buf_addf(out, "%s/flights/%ld\n", m->url, r->flight);
		if (r->retest_flight)
			buf_addf(out, "%s/flights/%ld\n", m->url, r->retest_flight);
	}
	if (r->baseline_test)
		buf_addf(out, "\nThis is a baseline test of %s: the revision the "
			      "branch's target has,\nwhich had not been tested on "
			      "this branch. It is never pushed; the next\n"
			      "flights are compared with it.\n",
			 r->tree ? r->tree : "the tree");
	buf_addch(out, '\n');
	switch (r->vk) {
	case VK_PERFECT:
		buf_addstr(out, "Perfect :-)\nAll tests in this flight passed "
				"as required\n");
		break;
	case VK_TOLERABLE:
		buf_addstr(out, "Failures :-/ but no regressions.\n");
		break;
	case VK_REGRESSIONS:
		buf_addstr(out, "Regressions :-(\n");
		break;
	case VK_PROBLEMS:
		buf_addstr(out, "Failures and problems with tests :-(\n");
		break;
	}
}

static void rep_versions(const struct report *r, struct buf *out)
{
	buf_addstr(out, "\nversion targeted for testing:\n");
	for (size_t i = 0; i < r->trees.n; i++)
		buf_addf(out, " %-20s %s\n", r->trees.v[i], r->revs.v[i]);
	if (r->that && r->tree)
		buf_addf(out, "baseline version:\n %-20s %s\n", r->tree, r->that);
	buf_addch(out, '\n');
	rep_age_line("Last test of basis", &r->basis, 0, out);
	if (r->failing_since.flight &&
	    r->failing_since.flight != r->same_since.flight)
		rep_age_line("Failing since", &r->failing_since, 1, out);
	rep_age_line("Testing same since", &r->same_since, 1, out);
}

#define REP_RULE "------------------------------------------------------------\n"

void report_text(const struct report *r, const struct report_mail *m,
		 struct buf *out)
{
	size_t n;
	struct rep_line *lines = rep_lines(r, &n);

	rep_headers(r, m, lines, n, out);
	rep_flight_heading(r, m, out);
	rep_failure_sections(r, lines, n, out);
	free(lines);
	rep_versions(r, out);
	buf_addstr(out, "\n" REP_RULE "jobs:\n");
	for (size_t i = 0; i < r->njobs; i++)
		buf_addf(out, " %-60s %s\n", r->jobs[i].job, r->jobs[i].status);
	buf_addstr(out, "\n" REP_RULE);
	if (m->url)
		buf_addf(out, "hangar report at %s/flights/%ld\n", m->url,
			 r->flight);
	buf_addch(out, '\n');
	buf_addstr(out, r->push_log ? r->push_log : "Push not decided yet.");
	buf_rtrim(out);
	buf_addstr(out, "\n" REP_RULE);
	if (m->revlog && *m->revlog) {
		buf_addstr(out, m->revlog);
		buf_rtrim(out);
		buf_addch(out, '\n');
	}
}
