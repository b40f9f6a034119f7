/*
 * test-classify.c: the pure core of the gate's judgement (flights/
 * classify.h, report.h): OSSTest's priority table, the allow-list
 * patterns, the outcome summary and the immediate-retest limits of
 * reference §4.3 (scenario 15).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "classify.h"
#include "report.h"
#include "xalloc.h"
#include "banned.h"

static struct cl_failure failure(const char *status, const struct cl_obs *obs,
				 size_t nobs)
{
	struct cl_failure f;

	memset(&f, 0, sizeof(f));
	f.job = "test-amd64-xl";
	f.step = "guest-start";
	f.status = status;
	f.stepno = 3;
	f.ever_passed = 1;
	f.have_baseline = 1;
	f.obs = obs;
	f.nobs = nobs;
	return f;
}

static void test_priority_table(void **state)
{
	static const struct cl_obs pass_fail[] = { { 120, "pass" }, { 118, "fail" } };
	static const struct cl_obs pass_only[] = { { 120, "pass" }, { 119, NULL } };
	static const struct cl_obs fail_only[] = { { 120, "fail" } };
	static const struct cl_obs broken_only[] = { { 120, "broken" } };
	struct cl_failure f;

	(void)state;
	f = failure("fail", pass_fail, 2);
	classify_failure(&f, NULL);
	assert_int_equal(f.cls, FC_LIKE);
	assert_string_equal(f.text, "like 118");
	assert_null(f.blocker);

	f = failure("fail", pass_fail, 2);
	f.build = 1;
	classify_failure(&f, NULL);
	assert_int_equal(f.cls, FC_REGRESSION);
	assert_string_equal(f.text, "REGR. vs. 120");
	assert_string_equal(f.blocker, "regression");

	f = failure("fail", pass_only, 2);
	classify_failure(&f, NULL);
	assert_int_equal(f.cls, FC_REGRESSION);
	assert_int_equal(f.vs, 120);

	f = failure("broken", pass_only, 2);
	classify_failure(&f, NULL);
	assert_int_equal(f.cls, FC_BROKEN);
	assert_string_equal(f.blocker, "broken");
	assert_string_equal(f.text, "REGR. vs. 120");

	f = failure("broken", fail_only, 1);
	classify_failure(&f, NULL);
	assert_int_equal(f.cls, FC_BROKEN);
	assert_null(f.blocker);
	assert_string_equal(f.text, "failed in 120");

	f = failure("fail", broken_only, 1);
	classify_failure(&f, NULL);
	assert_int_equal(f.cls, FC_LIKE);
	assert_string_equal(f.text, "broken in 120");

	f = failure("fail", NULL, 0);
	classify_failure(&f, NULL);
	assert_int_equal(f.cls, FC_UNTESTED);
	assert_string_equal(f.text, "baseline untested");

	f = failure("fail", pass_only, 2);
	f.ever_passed = 0;
	classify_failure(&f, NULL);
	assert_int_equal(f.cls, FC_NEVER_PASS);

	/* a heisenbug only for test jobs: a build's pass is priority 600 */
	f = failure("fail", pass_only, 2);
	f.pass_in = 130;
	classify_failure(&f, NULL);
	assert_int_equal(f.cls, FC_HEISENBUG);
	assert_string_equal(f.text, "pass in 130");
	assert_null(f.blocker);
	f.build = 1;
	classify_failure(&f, NULL);
	assert_int_equal(f.cls, FC_REGRESSION);

	f = failure("running", pass_only, 2);
	classify_failure(&f, NULL);
	assert_string_equal(f.blocker, "unfinished");
	f = failure("cancelled", pass_only, 2);
	classify_failure(&f, NULL);
	assert_string_equal(f.text, "[st=cancelled!]");
	assert_string_equal(f.blocker, "broken");
}

static void test_allow(void **state)
{
	struct allow_list a;
	struct err err = ERR_INIT;

	(void)state;
	assert_true(allow_pattern_match("test-@@-rtds@@", "test-amd64-amd64-xl-rtds"));
	assert_true(allow_pattern_match("test-*-rtds*", "test-amd64-amd64-xl-rtds"));
	assert_false(allow_pattern_match("test-@-rtds", "test-amd64-amd64-rtds"));
	assert_true(allow_pattern_match("test-@-rtds", "test-amd64-rtds"));
	assert_false(allow_pattern_match("@@", "a b"));
	assert_true(allow_pattern_match("build-?64", "build-x64"));
	assert_false(allow_pattern_match("build", "build-amd64"));

	allow_init(&a);
	assert_int_equal(allow_add(&a, "test-@@-rtds@@", &err), 0);
	assert_int_equal(allow_add(&a, "build-@@ logs-capture@@", &err), 0);
	assert_int_equal(allow_add(&a, "test-@@-credit2  # a comment", &err), 0);
	assert_int_equal(allow_add(&a, "# only a comment", &err), 0);
	assert_true(allow_match(&a, "test-amd64-xl-credit2", "guest-start"));
	assert_int_equal(allow_add(&a, "!test-@@-credit2", &err), 0);
	assert_false(allow_match(&a, "test-amd64-xl-credit2", "guest-start"));
	assert_int_equal(allow_add(&a, "test-@@-qemuu-@@ guest-localmigrate", &err), 0);
	assert_true(allow_match(&a, "test-amd64-qemuu-x", "guest-localmigrate"));
	assert_int_equal(allow_add(&a, "! test-@@-qemuu-@@ guest-localmigrate", &err), 0);
	assert_false(allow_match(&a, "test-amd64-qemuu-x", "guest-localmigrate"));
	assert_true(allow_match(&a, "test-x-rtds", "anything"));
	assert_true(allow_match(&a, "build-amd64", "logs-capture"));
	assert_false(allow_match(&a, "build-amd64", "build"));
	assert_int_equal(a.jobpat.n, 2);
	assert_null(a.jobpat.v[2]);
	assert_int_equal(allow_add(&a, "a b c", &err), ERR_USAGE);
	allow_release(&a);

	{
		static const struct cl_obs pass[] = { { 120, "pass" } };
		struct cl_failure f = failure("fail", pass, 1);

		allow_init(&a);
		allow_add(&a, "test-*-xl", &err);
		classify_failure(&f, &a);
		assert_int_equal(f.cls, FC_ALLOWED);
		assert_null(f.blocker);
		assert_string_equal(f.text, "REGR. vs. 120");
		allow_release(&a);
	}
}

static void test_outcome(void **state)
{
	static const char *const all_pass[] = { "pass", "pass" };
	static const char *const all_fail[] = { "fail" };
	static const char *const fail[] = { "pass", "blocked", "fail", "pass" };
	static const char *const trouble[] = { "pass", "broken", "fail" };
	char out[64];

	(void)state;
	flight_outcome(all_pass, 2, out, sizeof(out));
	assert_string_equal(out, "all pass");
	flight_outcome(all_fail, 1, out, sizeof(out));
	assert_string_equal(out, "ALL FAIL");
	flight_outcome(fail, 4, out, sizeof(out));
	assert_string_equal(out, "FAIL");
	flight_outcome(trouble, 3, out, sizeof(out));
	assert_string_equal(out, "trouble: broken/fail/pass");
}

/* A report of njobs jobs, nregr of the test jobs regressed. */
static void make_report(struct report *r, size_t njobs, size_t nregr,
			int build_regressed)
{
	report_init(r);
	r->jobs = xcalloc(njobs, sizeof(*r->jobs));
	r->fails = xcalloc(nregr + 1, sizeof(*r->fails));
	for (size_t i = 0; i < njobs; i++) {
		char name[32];

		snprintf(name, sizeof(name), i ? "test-%zu" : "build-amd64", i);
		r->jobs[i].job = xstrdup(name);
		r->jobs[i].status = xstrdup("pass");
		r->jobs[i].build = i == 0;
		r->njobs++;
	}
	for (size_t i = 0; i < nregr + (build_regressed ? 1 : 0); i++) {
		struct cl_failure *f = &r->fails[r->nfails++];

		f->job = r->jobs[i < nregr ? i + 1 : 0].job;
		f->step = "guest-start";
		f->cls = FC_REGRESSION;
		f->blocker = "regression";
	}
}

static void test_retest_limits(void **state)
{
	struct report r;
	struct vec jobs = VEC_INIT;
	const char *why;

	(void)state;
	make_report(&r, 100, 3, 0);
	assert_int_equal(report_retest_jobs(&r, &jobs, &why), 3);
	assert_null(why);
	assert_string_equal(jobs.v[0], "test-1");
	vec_clear(&jobs);
	report_release(&r);

	make_report(&r, 100, 10, 0);
	assert_int_equal(report_retest_jobs(&r, &jobs, &why), 10);
	vec_clear(&jobs);
	report_release(&r);

	make_report(&r, 100, 15, 0);
	assert_int_equal(report_retest_jobs(&r, &jobs, &why), 0);
	assert_string_equal(why, "too many regressions");
	assert_int_equal(jobs.n, 0);
	report_release(&r);

	make_report(&r, 100, 3, 1);
	assert_int_equal(report_retest_jobs(&r, &jobs, &why), 0);
	assert_string_equal(why, "other blockers");
	report_release(&r);

	/* one regression in a small flight is still retested */
	make_report(&r, 4, 1, 0);
	assert_int_equal(report_retest_jobs(&r, &jobs, &why), 1);
	vec_clear(&jobs);
	report_release(&r);
}

/* ---- heisen flights (item 1 and 3 of issue 17) ---- */

/* A failing step of flight r: fails after obs, passed in pass_in. */
static void add_fail(struct report *r, const char *step, int stepno,
		     const char *base_status, long pass_in)
{
	struct cl_failure *f;
	struct cl_obs *o = xcalloc(1, sizeof(*o));

	o->flight = 100;
	o->status = base_status;
	r->fails = xrealloc(r->fails, (r->nfails + 1) * sizeof(*r->fails));
	f = &r->fails[r->nfails++];
	*f = failure("fail", o, 1);
	f->job = "test-seq";
	f->step = step;
	f->stepno = stepno;
	f->ever_passed = base_status != NULL;
	f->pass_in = pass_in;
}

static void heisen_report(struct report *r, long flight)
{
	report_init(r);
	r->flight = flight;
	r->branch = xstrdup("xen-unstable");
	r->intent = xstrdup("gate");
	r->status = xstrdup("finished");
	r->verdict = xstrdup("pending");
	r->tree = xstrdup("xen");
	r->that = xstrdup("aaaa");
}

static struct report *add_sub(struct report *r, long flight)
{
	r->subs = xrealloc(r->subs, (r->nsubs + 1) * sizeof(*r->subs));
	heisen_report(&r->subs[r->nsubs], flight);
	return &r->subs[r->nsubs++];
}

static void test_heisen_flight_blocks(void **state)
{
	struct report r;
	struct buf mail = BUF_INIT;
	struct report_mail m = { NULL, NULL, NULL, NULL, "test" };

	(void)state;
	/* 108 fails boot, which passed in 107; 107 regressed migrate */
	heisen_report(&r, 108);
	add_fail(&r, "boot", 1, "pass", 107);
	add_fail(add_sub(&r, 107), "migrate", 2, "pass", 0);
	report_classify(&r);
	assert_int_equal(r.fails[0].cls, FC_HEISENBUG);
	assert_true(r.subs[0].heisen_flight);
	assert_int_equal(r.subs[0].fails[0].cls, FC_REGRESSION);
	assert_int_equal(r.vk, VK_REGRESSIONS);
	assert_false(verdict_pushable(r.vk));
	report_text(&r, &m, &mail);
	assert_non_null(strstr(mail.buf, "Regressions :-(\n"));
	assert_non_null(strstr(mail.buf, "including tests which could not be run:\n"
				   " test-seq                      2 migrate              fail in 107 REGR. vs. 100\n"));
	assert_non_null(strstr(mail.buf, "xen-unstable:test-seq:migrate:fail:regression"));
	buf_release(&mail);
	report_release(&r);

	/* the same, 107's later failure like the baseline's: tolerable */
	heisen_report(&r, 110);
	add_fail(&r, "boot", 1, "pass", 109);
	add_fail(add_sub(&r, 109), "migrate", 2, "fail", 0);
	report_classify(&r);
	assert_int_equal(r.subs[0].fails[0].cls, FC_LIKE);
	assert_int_equal(r.vk, VK_TOLERABLE);
	report_release(&r);

	/* a flight where a failure passed that was no heisenbug (it was
	 * "like" anyway) brings nothing */
	heisen_report(&r, 120);
	add_fail(&r, "boot", 1, "fail", 119);
	add_fail(add_sub(&r, 119), "migrate", 2, "pass", 0);
	report_classify(&r);
	assert_int_equal(r.fails[0].cls, FC_LIKE);
	assert_false(r.subs[0].heisen_flight);
	assert_int_equal(r.vk, VK_TOLERABLE);
	report_text(&r, &m, &mail);
	assert_null(strstr(mail.buf, "in 119"));
	buf_release(&mail);
	report_release(&r);
}

static void test_heisen_recursion(void **state)
{
	struct report r;
	struct buf mail = BUF_INIT;
	struct report_mail m = { NULL, NULL, NULL, NULL, "test" };

	(void)state;
	/* 113 boot passed in 112; 112 migrate passed in 111; 111 reboot
	 * never passed; 111's boot passed in 113 itself */
	heisen_report(&r, 113);
	add_fail(&r, "boot", 1, "pass", 112);
	add_fail(add_sub(&r, 112), "migrate", 2, "pass", 111);
	add_fail(add_sub(&r, 111), "reboot", 3, NULL, 0);
	add_fail(&r.subs[1], "boot", 1, "pass", 113);
	report_classify(&r);
	assert_true(r.subs[0].heisen_flight && r.subs[1].heisen_flight);
	assert_int_equal(r.subs[0].fails[0].cls, FC_HEISENBUG);
	assert_int_equal(r.subs[1].fails[0].cls, FC_NEVER_PASS);
	assert_int_equal(r.vk, VK_TOLERABLE);
	report_text(&r, &m, &mail);
	assert_non_null(strstr(mail.buf, "fail in 112 pass in 111\n"));
	assert_non_null(strstr(mail.buf, "fail in 111 never pass\n"));
	/* 111's boot is listed as a heisenbug already, as 113's own */
	assert_null(strstr(mail.buf, "fail in 111 pass in 113\n"));
	buf_release(&mail);

	/* without 111, 112's migrate is a regression that blocks 113 */
	report_release(&r.subs[1]);
	r.nsubs = 1;
	report_classify(&r);
	assert_int_equal(r.subs[0].fails[0].cls, FC_REGRESSION);
	assert_int_equal(r.vk, VK_REGRESSIONS);
	report_release(&r);
}

/* Starved jobs block unless the branch pushes with them (item 4). */
static void test_starved(void **state)
{
	struct cl_failure f;

	(void)state;
	f = failure("starved", NULL, 0);
	f.job_level = 1;
	f.starved_blocks = 1;
	f.reason = "starved: no usable host for arm64 in 4h 00m";
	classify_failure(&f, NULL);
	assert_int_equal(f.cls, FC_STARVED);
	assert_string_equal(f.blocker, "starved");
	assert_string_equal(f.text, "starved: no usable host for arm64 in 4h 00m");
	assert_int_equal(classify_verdict(&f, 1), VK_PROBLEMS);

	f = failure("starved", NULL, 0);
	f.job_level = 1;
	classify_failure(&f, NULL);
	assert_null(f.blocker);
	assert_string_equal(f.text, "n/a");
	assert_int_equal(classify_verdict(&f, 1), VK_TOLERABLE);
}

/* A decision against today's judgement (item 2). */
static void test_differences(void **state)
{
	json_t *then = json_loads(
		"{\"flight\": 9, \"verdict\": \"no-push\", \"judgement\": \"regressions\","
		" \"failures\": ["
		"{\"job\": \"t\", \"step\": \"s\", \"class\": \"regression\","
		" \"blocking\": true, \"text\": \"REGR. vs. 5\", \"flight\": 9},"
		"{\"job\": \"t\", \"step\": \"u\", \"class\": \"never-pass\","
		" \"blocking\": false, \"text\": \"never pass\", \"flight\": 9}]}", 0, NULL);
	json_t *now = json_loads(
		"{\"flight\": 9, \"verdict\": \"no-push\", \"judgement\": \"tolerable\","
		" \"failures\": ["
		"{\"job\": \"t\", \"step\": \"s\", \"class\": \"heisenbug\","
		" \"blocking\": false, \"text\": \"pass in 12\", \"flight\": 9},"
		"{\"job\": \"t\", \"step\": \"u\", \"class\": \"never-pass\","
		" \"blocking\": false, \"text\": \"never pass\", \"flight\": 9},"
		"{\"job\": \"t\", \"step\": \"v\", \"class\": \"fail-like-baseline\","
		" \"blocking\": false, \"text\": \"like 5\", \"flight\": 12}]}", 0, NULL);
	/* stored before "judgement" was kept: judged by its failures */
	json_t *old = json_loads(
		"{\"flight\": 9, \"verdict\": \"push\", \"failures\": ["
		"{\"job\": \"t\", \"step\": \"u\", \"class\": \"never-pass\","
		" \"blocking\": false, \"text\": \"never pass\"}]}", 0, NULL);
	struct vec d = VEC_INIT;

	(void)state;
	assert_non_null(then);
	assert_non_null(now);
	assert_non_null(old);
	report_json_differences(then, now, &d);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.v[0], "the verdict: regressions when decided (no-push), "
				    "tolerable now");
	assert_string_equal(d.v[1], "t s: regression (blocking) REGR. vs. 5 when decided, "
				    "heisenbug pass in 12 now");
	assert_string_equal(d.v[2], "t v in 12: not a failure when decided, "
				    "fail-like-baseline like 5 now");
	vec_clear(&d);

	report_json_differences(now, now, &d);
	assert_int_equal(d.n, 0);
	assert_string_equal(report_json_judgement(old), "tolerable");
	/* "flight" missing (stored before it was kept) is the flight's own */
	report_json_differences(old, then, &d);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.v[0], "the verdict: tolerable when decided (push), "
				    "regressions now");
	vec_clear(&d);
	json_decref(then);
	json_decref(now);
	json_decref(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_priority_table),
		cmocka_unit_test(test_allow),
		cmocka_unit_test(test_outcome),
		cmocka_unit_test(test_retest_limits),
		cmocka_unit_test(test_heisen_flight_blocks),
		cmocka_unit_test(test_heisen_recursion),
		cmocka_unit_test(test_starved),
		cmocka_unit_test(test_differences),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
