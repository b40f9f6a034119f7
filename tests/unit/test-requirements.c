/*
 * test-requirements.c: the "hangar" requirements format (flights/
 * requirements.h): its errors with FILE:LINE, its bounds, the globs of
 * test lines over steps and cases, the status rules and lab check's
 * findings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "buf.h"
#include "requirements.h"
#include "xalloc.h"
#include "banned.h"

static int parse(const char *text, struct requirements *r, char *why)
{
	return requirements_parse("REQUIREMENTS", text, strlen(text), r, why,
				  256);
}

static void test_parse_ok(void **state)
{
	static const char text[] =
		"# the minivisor's requirements\n"
		"\n"
		"requirement MV-BOOT-1   The hypervisor boots on every arch  \n"
		"requirement MV:smoke.2\n"
		"\ttest test-*-boot boot/* MV-BOOT-1\n"
		"test test-amd64 smoke MV:smoke.2 MV-BOOT-1\r\n";
	struct requirements r;
	char why[256] = "";

	(void)state;
	assert_int_equal(parse(text, &r, why), 0);
	assert_int_equal(r.nreqs, 2);
	assert_string_equal(r.reqs[0].id, "MV-BOOT-1");
	assert_string_equal(r.reqs[0].title, "The hypervisor boots on every arch");
	assert_int_equal(r.reqs[0].line, 3);
	assert_string_equal(r.reqs[1].title, "");
	assert_int_equal(r.ntests, 2);
	assert_string_equal(r.tests[0].jobpat, "test-*-boot");
	assert_string_equal(r.tests[0].steppat, "boot/*");
	assert_int_equal(r.tests[0].line, 5);
	assert_int_equal(r.tests[1].ids.n, 2);
	assert_string_equal(r.tests[1].ids.v[1], "MV-BOOT-1");
	assert_int_equal(requirements_find(&r, "MV:smoke.2"), 1);
	assert_int_equal(requirements_find(&r, "nope"), -1);
	requirements_release(&r);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *text, *why;
	} cases[] = {
		{ "requirement A\n\ntset x y A\n",
		  "REQUIREMENTS:3: unknown keyword 'tset' (requirement or test)" },
		{ "requirement\n", "REQUIREMENTS:1: requirement needs an id" },
		{ "requirement -A\n", "REQUIREMENTS:1: bad id '-A'" },
		{ "requirement A/B\n", "REQUIREMENTS:1: bad id 'A/B'" },
		{ "requirement A one\nrequirement A two\n",
		  "REQUIREMENTS:2: requirement 'A' again (line 1)" },
		{ "test job step\n", "REQUIREMENTS:1: test needs" },
		{ "test job\n", "REQUIREMENTS:1: test needs" },
		{ "requirement A\ntest j s A b@d\n", "REQUIREMENTS:2: bad id 'b@d'" },
		{ "requirement A\nrequirement B\x00\n", "REQUIREMENTS:2: a NUL byte" },
		{ "requirement A \x1b]0;owned\x07 title\n",
		  "REQUIREMENTS:1: a control character" },
		{ "requirement A\ntest j s\x1b[2J A\n",
		  "REQUIREMENTS:2: a control character" },
		{ "requirement A one\rrequirement B two\n",
		  "REQUIREMENTS:1: a control character" },
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct requirements r;
		size_t len = strlen(cases[i].text);

		if (strstr(cases[i].why, "NUL"))
			len += 2;   /* past the NUL and its newline */
		why[0] = '\0';
		assert_int_equal(requirements_parse("REQUIREMENTS", cases[i].text,
						    len, &r, why, sizeof(why)), -1);
		if (strncmp(why, cases[i].why, strlen(cases[i].why)))
			fail_msg("case %zu: '%s', expected '%s...'", i, why,
				 cases[i].why);
		assert_int_equal(r.nreqs, 0);
		assert_null(r.reqs);
	}
}

static void test_bounds(void **state)
{
	struct requirements r;
	struct buf b = BUF_INIT;
	char why[256];
	char id[REQ_ID_MAX + 2];

	(void)state;
	/* an id of 64 bytes is fine, 65 is not */
	memset(id, 'a', sizeof(id) - 1);
	id[REQ_ID_MAX] = '\0';
	buf_addf(&b, "requirement %s\n", id);
	assert_int_equal(parse(b.buf, &r, why), 0);
	requirements_release(&r);
	buf_reset(&b);
	id[REQ_ID_MAX] = 'a';
	id[REQ_ID_MAX + 1] = '\0';
	buf_addf(&b, "requirement %s\n", id);
	assert_int_equal(parse(b.buf, &r, why), -1);
	assert_non_null(strstr(why, ":1: bad id"));
	/* a title of 200 bytes, then 201 */
	buf_reset(&b);
	buf_addstr(&b, "requirement T ");
	for (int i = 0; i < REQ_TITLE_MAX; i++)
		buf_addch(&b, 't');
	assert_int_equal(parse(b.buf, &r, why), 0);
	requirements_release(&r);
	buf_addch(&b, 't');
	assert_int_equal(parse(b.buf, &r, why), -1);
	assert_string_equal(why, "REQUIREMENTS:1: title over 200 bytes");
	/* a line of 4 KiB (its newline included) */
	buf_reset(&b);
	buf_addstr(&b, "# ");
	while (b.len < REQ_LINE_MAX - 1)
		buf_addch(&b, 'x');
	buf_addstr(&b, "\nrequirement A\n");
	assert_int_equal(parse(b.buf, &r, why), 0);
	requirements_release(&r);
	buf_reset(&b);
	buf_addstr(&b, "requirement A\n# ");
	while (b.len < 14 + REQ_LINE_MAX)
		buf_addch(&b, 'x');
	buf_addch(&b, '\n');
	assert_int_equal(parse(b.buf, &r, why), -1);
	assert_string_equal(why, "REQUIREMENTS:2: line over 4096 bytes");
	/* 10,000 requirements, then one more */
	buf_reset(&b);
	for (int i = 0; i < REQ_MAX; i++)
		buf_addf(&b, "requirement R%d\n", i);
	assert_int_equal(parse(b.buf, &r, why), 0);
	assert_int_equal(r.nreqs, REQ_MAX);
	requirements_release(&r);
	buf_addstr(&b, "requirement last\n");
	assert_int_equal(parse(b.buf, &r, why), -1);
	assert_string_equal(why, "REQUIREMENTS:10001: more than 10000 requirements");
	/* 10,000 test lines, then one more */
	buf_reset(&b);
	for (int i = 0; i < REQ_TESTS_MAX; i++)
		buf_addstr(&b, "test j s A\n");
	assert_int_equal(parse(b.buf, &r, why), 0);
	requirements_release(&r);
	buf_addstr(&b, "test j s A\n");
	assert_int_equal(parse(b.buf, &r, why), -1);
	assert_string_equal(why, "REQUIREMENTS:10001: more than 10000 test lines");
	buf_release(&b);
	/* the whole file: 1 MiB */
	{
		size_t len = REQ_FILE_MAX + 1;
		char *big = xmalloc(len);

		memset(big, '\n', len);
		assert_int_equal(requirements_parse("R", big, len, &r, why,
						    sizeof(why)), -1);
		assert_string_equal(why, "R: over 1048576 bytes");
		assert_int_equal(requirements_parse("R", big, len - 1, &r, why,
						    sizeof(why)), 0);
		requirements_release(&r);
		free(big);
	}
}

static void test_globs(void **state)
{
	static const char text[] =
		"requirement A\n"
		"test test-*-boot boot/add A\n"     /* one case */
		"test test-* boot/* A\n"            /* every case of boot */
		"test test-amd64 boot A\n"          /* only the step itself */
		"test * */sub/* A\n";                /* * crosses / */
	static const struct {
		size_t test;
		const char *job, *step;
		int yes;
	} cases[] = {
		{ 0, "test-amd64-boot", "boot/add", 1 },
		{ 0, "test-amd64-boot", "boot/addx", 0 },
		{ 0, "test-amd64-boot", "boot", 0 },
		{ 0, "test-amd64", "boot/add", 0 },
		{ 1, "test-arm64-boot", "boot/add", 1 },
		{ 1, "test-arm64-boot", "boot/a/b", 1 },
		{ 1, "test-arm64-boot", "boot", 0 },
		{ 1, "build-amd64", "boot/add", 0 },
		{ 2, "test-amd64", "boot", 1 },
		{ 2, "test-amd64", "boot/add", 0 },
		{ 2, "test-amd64", "boot.2", 0 },
		{ 3, "x", "run/sub/case", 1 },
		{ 3, "x", "run/case", 0 },
	};
	struct requirements r;
	char why[256];

	(void)state;
	assert_int_equal(parse(text, &r, why), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (req_test_matches(&r.tests[cases[i].test], cases[i].job,
				     cases[i].step) != cases[i].yes)
			fail_msg("case %zu: %s %s", i, cases[i].job, cases[i].step);
	requirements_release(&r);
}

static void test_status(void **state)
{
	static const char text[] =
		"requirement BOOT\n"
		"requirement SMOKE\n"
		"requirement ADD\n"
		"requirement NONE\n"
		"test test-*-boot boot/* BOOT\n"
		"test test-* smoke SMOKE\n"
		"test test-*-boot boot/add ADD\n";
	struct req_step steps[] = {
		{ "build-amd64", "build", "pass" },
		{ "test-amd64", "smoke", "pass" },
		{ "test-amd64-boot", "boot", "pass" },
		{ "test-amd64-boot", "boot/add", "pass" },
		{ "test-amd64-boot", "boot/sub", "pass" },
		{ "test-arm64", "smoke", "broken" },
	};
	unsigned char match[6];
	struct requirements r;
	char why[256];

	(void)state;
	assert_int_equal(parse(text, &r, why), 0);
	assert_string_equal(requirements_status(&r, 0, steps, 6, match), "verified");
	assert_memory_equal(match, ((unsigned char[]){ 0, 0, 0, 1, 1, 0 }), 6);
	assert_string_equal(requirements_status(&r, 1, steps, 6, match), "verified");
	assert_memory_equal(match, ((unsigned char[]){ 0, 1, 0, 0, 0, 1 }), 6);
	assert_string_equal(requirements_status(&r, 3, steps, 6, NULL), "unverified");
	/* one failing match fails it, whatever passed */
	steps[4].status = "fail";
	assert_string_equal(requirements_status(&r, 0, steps, 6, NULL), "failed");
	assert_string_equal(requirements_status(&r, 2, steps, 6, NULL), "verified");
	/* lab trouble verifies nothing and fails nothing */
	steps[3].status = "broken";
	assert_string_equal(requirements_status(&r, 2, steps, 6, NULL), "unverified");
	steps[3].status = "skip";
	assert_string_equal(requirements_status(&r, 2, steps, 6, NULL), "unverified");
	steps[3].status = "blocked";
	assert_string_equal(requirements_status(&r, 2, steps, 6, NULL), "unverified");
	steps[1].status = "cancelled";
	assert_string_equal(requirements_status(&r, 1, steps, 6, NULL), "unverified");
	/* a removed case is no evidence any more */
	assert_string_equal(requirements_status(&r, 2, steps, 3, NULL), "unverified");
	requirements_release(&r);
}

static void test_findings(void **state)
{
	static const char text[] =
		"requirement BOOT\n"
		"requirement SMOKE\n"
		"requirement ORPHAN\n"
		"requirement ELSEWHERE\n"
		"test test-*-boot boot/* BOOT\n"
		"test test-amd64 smoke SMOKE TYPO\n"
		"test test-* nosuchstep ELSEWHERE\n"
		"test spare-* boot ELSEWHERE\n";
	static const char *const boot_steps[] = { "host-power-cycle", "boot" };
	static const char *const test_steps[] = { "host-power-cycle", "smoke" };
	const struct req_job jobs[] = {
		{ "test-amd64-boot", 1, boot_steps, 2 },
		{ "test-amd64", 1, test_steps, 2 },
		{ "spare-amd64", 0, boot_steps, 2 },
	};
	struct requirements r;
	struct req_finding *f;
	size_t n;
	char why[256];

	(void)state;
	assert_int_equal(parse(text, &r, why), 0);
	requirements_check(&r, jobs, 3, &f, &n);
	/* ELSEWHERE: line 7 names no step of any job, but spare-amd64 (a
	 * configured job, though no branch runs it) has line 8's boot step */
	assert_int_equal(n, 3);
	assert_int_equal(f[0].kind, REQ_UNVERIFIED);
	assert_string_equal(f[0].id, "ORPHAN");
	assert_string_equal(f[0].msg, "ORPHAN (line 3): not verified by any test "
			    "(no test line names it)");
	assert_int_equal(f[1].kind, REQ_UNKNOWN_ID);
	assert_string_equal(f[1].id, "TYPO");
	assert_int_equal(f[1].line, 6);
	assert_int_equal(f[2].kind, REQ_NO_JOB);
	assert_int_equal(f[2].line, 8);
	assert_string_equal(req_finding_kind_str(f[2].kind), "no-job");
	assert_string_equal(f[2].msg, "line 8: test 'spare-* boot' matches no "
			    "job of any branch");
	req_findings_free(f, n);
	requirements_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_globs),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_findings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
