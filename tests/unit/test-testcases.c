/*
 * test-testcases.c: per-test-case results (workers/testcases.h): TAP, XTF
 * console output, HANGAR-CASE lines and JUnit XML; every line format fed
 * whole, byte by byte and in odd chunks; CRLF, NUL bytes, invalid UTF-8
 * and over-long lines; incomplete outputs and their reasons; the naming
 * rules; a 10,000-case TAP output timed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "buf.h"
#include "testcases.h"
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct expect {
	const char *name;
	const char *status;
	const char *detail; /* NULL: none */
};

struct run {
	int rc;
	char why[256];
	struct case_result *c;
	size_t n;
};

static void run_reader(enum case_format f, const char *text, size_t len,
		       size_t chunk, struct run *out)
{
	struct case_reader *r = case_reader_new(f);

	assert_non_null(r);
	for (size_t i = 0; i < len; i += chunk)
		case_reader_feed(r, text + i, len - i < chunk ? len - i : chunk);
	out->rc = case_reader_finish(r, &out->c, &out->n, out->why,
				     sizeof(out->why));
	case_reader_free(r);
}

static void run_release(struct run *run)
{
	case_results_free(run->c, run->n);
	run->c = NULL;
	run->n = 0;
}

static void check_cases(const struct run *run, const struct expect *e,
			size_t n)
{
	if (run->n != n)
		print_error("got %zu cases, expected %zu (why: %s)\n", run->n,
			    n, run->why);
	assert_int_equal(run->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(run->c[i].name, e[i].name);
		assert_string_equal(run->c[i].status, e[i].status);
		if (e[i].detail)
			assert_string_equal(run->c[i].detail, e[i].detail);
		else
			assert_null(run->c[i].detail);
	}
}

/*
 * Runs text whole, one byte at a time and in chunks of 2, 7 and 4095
 * bytes: each must give the same cases, return code and reason.
 */
static void check_all_chunkings(enum case_format f, const char *text,
				size_t len, int rc, const char *why,
				const struct expect *e, size_t n)
{
	static const size_t chunks[] = { 0, 1, 2, 7, 4095 };

	for (size_t k = 0; k < ARRAY_SIZE(chunks); k++) {
		struct run run;

		run_reader(f, text, len, chunks[k] ? chunks[k] : len + 1, &run);
		assert_int_equal(run.rc, rc);
		assert_string_equal(run.why, why);
		check_cases(&run, e, n);
		run_release(&run);
	}
}

/* The same, with every \n made \r\n. */
static void check_crlf(enum case_format f, const char *text, int rc,
		       const char *why, const struct expect *e, size_t n)
{
	struct buf b = BUF_INIT;

	for (const char *p = text; *p; p++) {
		if (*p == '\n')
			buf_addch(&b, '\r');
		buf_addch(&b, *p);
	}
	check_all_chunkings(f, b.buf, b.len, rc, why, e, n);
	buf_release(&b);
}

static void test_format_words(void **state)
{
	static const char *const words[] = { "tap", "xtf", "hangar", "junit" };
	enum case_format f;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		assert_int_equal(case_format_parse(words[i], &f), 0);
		assert_int_equal(f, (enum case_format)i);
		assert_string_equal(case_format_str(f), words[i]);
	}
	assert_int_equal(case_format_parse("TAP", &f), -1);
	assert_int_equal(case_format_parse("", &f), -1);
	assert_int_equal(case_format_parse("junitx", &f), -1);
	assert_null(case_reader_new(CASES_JUNIT));
	case_reader_free(NULL);
	case_results_free(NULL, 0);
}

/* ---- tap ---- */

static const char tap_normal[] =
	"TAP version 13\n"
	"1..7\n"
	"ok 1 - first test\n"
	"not ok 2 - second test\n"
	"  ---\n"
	"  message: 'expected 3, got 4'\n"
	"  severity: fail\n"
	"  ...\n"
	"ok 3 # SKIP no network\n"
	"not ok 4 - flaky thing # TODO not fixed yet\n"
	"ok 5\n"
	"# a comment\n"
	"    # Subtest: inner\n"
	"    ok 1 - subtest ignored\n"
	"    1..1\n"
	"ok - unnumbered\n"
	"ok 7 skipped too # skipped: no disk\n";

static const struct expect tap_normal_cases[] = {
	{ "first_test", "pass", NULL },
	{ "second_test", "fail", "expected 3, got 4" },
	{ "3", "skip", "no network" },
	{ "flaky_thing", "pass", "TODO: not fixed yet" },
	{ "5", "pass", NULL },
	{ "unnumbered", "pass", NULL },
	{ "skipped_too", "skip", "no disk" },
};

static void test_tap_normal(void **state)
{
	(void)state;
	check_all_chunkings(CASES_TAP, tap_normal, strlen(tap_normal), 0, "",
			    tap_normal_cases, ARRAY_SIZE(tap_normal_cases));
	check_crlf(CASES_TAP, tap_normal, 0, "", tap_normal_cases,
		   ARRAY_SIZE(tap_normal_cases));
}

static void test_tap_plans(void **state)
{
	static const struct {
		const char *text;
		int rc;
		const char *why;
		size_t n;
	} cases[] = {
		/* plan at the end; no plan at all; the last line without \n */
		{ "ok 1 - a\nok 2 - b\n1..2\n", 0, "", 2 },
		{ "ok 1 - a\nnot ok 2 - b\n", 0, "", 2 },
		{ "1..2\nok 1 - a\nok 2 - b", 0, "", 2 },
		/* nothing to run, and said so */
		{ "1..0 # skip no tests here\n", 0, "", 0 },
		{ "1..0\n", 0, "", 0 },
		/* incomplete */
		{ "1..3\nok 1 - a\nok 2 - b\n", -1,
		  "plan 1..3 but 2 test cases ran", 2 },
		{ "1..1\n", -1, "plan 1..1 but 0 test cases ran", 0 },
		{ "1..2\nok 1 - a\nBail out! database gone\nok 2 - b\n", -1,
		  "bail out: database gone", 1 },
		{ "Bail out!\n", -1, "bail out", 0 },
		{ "", -1, "no test case in the output", 0 },
		{ "hello\nworld\n  ok 1 - indented\n", -1,
		  "no test case in the output", 0 },
		/* "okay" is not "ok", nor "not okay" */
		{ "okay 1\nnot okay 2\nok 3 - x\n", 0, "", 1 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run run;

		run_reader(CASES_TAP, cases[i].text, strlen(cases[i].text), 1,
			   &run);
		if (run.rc != cases[i].rc || strcmp(run.why, cases[i].why))
			print_error("case %zu: rc %d why '%s'\n", i, run.rc,
				    run.why);
		assert_int_equal(run.rc, cases[i].rc);
		assert_string_equal(run.why, cases[i].why);
		assert_int_equal(run.n, cases[i].n);
		if (!run.n)
			assert_null(run.c);
		run_release(&run);
	}
}

/* NUL bytes, invalid UTF-8, control characters, an escaped '#' */
static void test_tap_binary(void **state)
{
	static const char text[] =
		"ok 1 - a\0b\xff\xfe c # SKIP bad\xff\0reason \xc3\xa9t\xc3\xa9\n"
		"not ok 2 - x \\# y\n"
		"ok 3 - tab\there # TODO\n";
	static const struct expect e[] = {
		{ "a_b_c", "skip", "bad? reason \xc3\xa9t\xc3\xa9" },
		{ "x_y", "fail", NULL },
		{ "tab_here", "pass", "TODO" },
	};

	(void)state;
	check_all_chunkings(CASES_TAP, text, sizeof(text) - 1, 0, "", e,
			    ARRAY_SIZE(e));
}

/* a line past CASE_LINE_MAX is cut, and what follows it still read */
static void test_long_lines(void **state)
{
	struct buf b = BUF_INIT;
	char name[CASE_NAME_MAX + 1], yname[CASE_NAME_MAX + 1];
	struct expect e[3];
	size_t before;

	(void)state;
	buf_addstr(&b, "ok 1 - ");
	for (int i = 0; i < 10000; i++)
		buf_addch(&b, 'x');
	buf_addstr(&b, "\n");
	/* a marker beyond the cut is not seen */
	for (int i = 0; i < 5000; i++)
		buf_addch(&b, ' ');
	buf_addstr(&b, "ok 2 - hidden\n");
	buf_addstr(&b, "ok 3 - next\n");
	before = b.len;
	/* a long last line, without \n and then with it */
	buf_addstr(&b, "not ok 4 - ");
	for (int i = 0; i < 6000; i++)
		buf_addch(&b, 'y');
	memset(name, 'x', CASE_NAME_MAX);
	name[CASE_NAME_MAX] = '\0';
	memset(yname, 'y', CASE_NAME_MAX);
	yname[CASE_NAME_MAX] = '\0';
	e[0] = (struct expect){ name, "pass", NULL };
	e[1] = (struct expect){ "next", "pass", NULL };
	e[2] = (struct expect){ yname, "fail", NULL };
	check_all_chunkings(CASES_TAP, b.buf, before, 0, "", e, 2);
	check_all_chunkings(CASES_TAP, b.buf, b.len, 0, "", e, 3);
	buf_addstr(&b, "\n");
	check_all_chunkings(CASES_TAP, b.buf, b.len, 0, "", e, 3);
	buf_release(&b);
}

/* ---- naming ---- */

static void test_names(void **state)
{
	static const struct {
		const char *desc;
		const char *name;
	} cases[] = {
		{ "hello world", "hello_world" },
		{ "a   b\t\tc", "a_b_c" },
		{ "foo: bar/baz", "foo_bar/baz" },
		{ "__x__", "x" },
		{ "/abs/path/", "abs/path" },
		{ "a//b///c", "a/b/c" },
		{ "../../etc/passwd", "etc/passwd" },
		{ "a/./b/../c", "a/_/b/_/c" },
		{ "a/..", "a" },
		{ "b/._", "b" },
		{ "x/...y", "x/...y" },
		{ ".hidden", ".hidden" },
		{ "\xc3\xbcn\xc3\xaf" "code", "n_code" },
		{ "(x)+y-z.w", "(x)+y-z.w" },
		{ "[param=1]", "param_1" },
		{ "a_/_b", "a_/_b" },
		{ "~tilde~", "tilde" },
	};
	struct buf b = BUF_INIT;
	struct run run;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		buf_addf(&b, "ok %zu - %s\n", i + 1, cases[i].desc);
	run_reader(CASES_TAP, b.buf, b.len, b.len, &run);
	assert_int_equal(run.rc, 0);
	assert_int_equal(run.n, ARRAY_SIZE(cases));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (strcmp(run.c[i].name, cases[i].name))
			print_error("'%s' gave '%s'\n", cases[i].desc,
				    run.c[i].name);
		assert_string_equal(run.c[i].name, cases[i].name);
	}
	run_release(&run);
	buf_release(&b);
}

static void test_names_unique(void **state)
{
	char long_a[151], long_b[121], cut_a[101], dup_b[101], dup_b3[101];
	struct buf b = BUF_INIT;
	struct run run;

	(void)state;
	memset(long_a, 'a', 150);
	long_a[150] = '\0';
	memset(long_b, 'b', 120);
	long_b[120] = '\0';
	memset(cut_a, 'a', 100);
	cut_a[100] = '\0';
	memset(dup_b, 'b', 98);
	memcpy(dup_b + 98, "~2", 3);
	memset(dup_b3, 'b', 98);
	memcpy(dup_b3 + 98, "~3", 3);

	buf_addstr(&b, "HANGAR-CASE dup pass\n"
		       "HANGAR-CASE case-3 pass\n"  /* 2 */
		       "HANGAR-CASE !!! fail\n"     /* 3: empty -> case-3~2 */
		       "HANGAR-CASE dup fail\n"     /* 4 */
		       "HANGAR-CASE dup? skip\n"    /* 5: dup_ -> dup */
		       "HANGAR-CASE ... pass\n"     /* 6: dot-only -> case-6 */
		       "HANGAR-CASE ___ pass\n");   /* 7 */
	buf_addf(&b, "HANGAR-CASE %s pass\n", long_a);
	buf_addf(&b, "HANGAR-CASE %s pass\n", long_b);
	buf_addf(&b, "HANGAR-CASE %s pass\n", long_b);
	buf_addf(&b, "HANGAR-CASE %s_ pass\n", long_b);
	{
		const struct expect e[] = {
			{ "dup", "pass", NULL },
			{ "case-3", "pass", NULL },
			{ "case-3~2", "fail", NULL },
			{ "dup~2", "fail", NULL },
			{ "dup~3", "skip", NULL },
			{ "case-6", "pass", NULL },
			{ "case-7", "pass", NULL },
			{ cut_a, "pass", NULL },
			{ "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
			  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
			  "pass", NULL },
			{ dup_b, "pass", NULL },
			{ dup_b3, "pass", NULL },
		};

		run_reader(CASES_HANGAR, b.buf, b.len, 3, &run);
		assert_int_equal(run.rc, 0);
		check_cases(&run, e, ARRAY_SIZE(e));
		for (size_t i = 0; i < run.n; i++)
			assert_true(strlen(run.c[i].name) <= CASE_NAME_MAX);
		run_release(&run);
	}
	buf_release(&b);
}

/* ---- xtf ---- */

/*
 * As XTF's common/setup.c and common/report.c print it, through
 * xtf-runner (console mode) for the first test and Xen's or a serial
 * console's prefixes for the others.
 */
static const char xtf_normal[] =
	"Executing 'xl create -p tests/example/test-hvm64-example.cfg'\n"
	"Executing 'xl console test-hvm64-example'\n"
	"Executing 'xl unpause test-hvm64-example'\n"
	"--- Xen Test Framework ---\n"
	"Environment: HVM 64bit (Long mode 4 levels)\n"
	"Hello World\n"
	"Test result: SUCCESS\n"
	"\n"
	"(XEN) [   12.345] (d2) --- Xen Test Framework ---\n"
	"(XEN) [   12.346] (d2) Environment: PV 64bit (Long mode 4 levels)\n"
	"(XEN) [   12.347] (d2) XSA-123 PoC\n"
	"(XEN) [   12.348] (d2) Fail: Unexpected value 0x5\n"
	"(XEN) [   12.348] d2v0 unrelated hypervisor noise\n"
	"(XEN) [   12.349] (d2) Error: something else\n"
	"(XEN) [   12.350] (d2) Test result: FAILURE\n"
	"[    1.234] --- Xen Test Framework ---\n"
	"[    1.235] Environment: HVM 32bit (No paging)\n"
	"[    1.236] Test hvm32 skip\n"
	"[    1.237] Skip: feature not available\n"
	"[    1.238] Test result: SKIP\n"
	"--- Xen Test Framework ---\n"
	"Environment: PV 32bit (PAE 3 levels)\n"
	"Warnings test\n"
	"Test result: SUCCESS with warnings\n"
	"--- Xen Test Framework ---\n"
	"Environment: PV 32bit (PAE 3 levels)\n"
	"Quiet error\n"
	"Some output\n"
	"Last words\n"
	"Test result: ERROR\n"
	"Combined test results:\n"
	"test-hvm64-example                       SUCCESS\n";

static const struct expect xtf_normal_cases[] = {
	{ "test-hvm64-example", "pass", NULL },
	{ "XSA-123_PoC", "fail", "Fail: Unexpected value 0x5; Error: something else" },
	{ "Test_hvm32_skip", "skip", "Skip: feature not available" },
	{ "Warnings_test", "pass", "with warnings" },
	{ "Quiet_error", "fail", "Last words" },
};

static void test_xtf_normal(void **state)
{
	(void)state;
	check_all_chunkings(CASES_XTF, xtf_normal, strlen(xtf_normal), 0, "",
			    xtf_normal_cases, ARRAY_SIZE(xtf_normal_cases));
	check_crlf(CASES_XTF, xtf_normal, 0, "", xtf_normal_cases,
		   ARRAY_SIZE(xtf_normal_cases));
}

static void test_xtf_incomplete(void **state)
{
	static const char crashed_then_ok[] =
		"--- Xen Test Framework ---\n"
		"Environment: HVM 64bit (Long mode 4 levels)\n"
		"Crashy\n"
		"******************************\n"
		"--- Xen Test Framework ---\n"
		"Environment: HVM 64bit (Long mode 4 levels)\n"
		"Fine\n"
		"Test result: SUCCESS\n";
	static const struct expect e1[] = {
		{ "Crashy", "fail", "no test result (crashed or cut off)" },
		{ "Fine", "pass", NULL },
	};
	static const char cut_off[] =
		"--- Xen Test Framework ---\n"
		"Environment: HVM 64bit (Long mode 4 levels)\n"
		"Fine\n"
		"Test result: SUCCESS\n"
		"(d3) --- Xen Test Framework ---\n"
		"(d3) Environment: PV 64bit (Long mode 4 levels)\n"
		"(d3) Long running\n"
		"(d3) still going";
	static const struct expect e2[] = {
		{ "Fine", "pass", NULL },
		{ "Long_running", "fail",
		  "no test result (crashed or cut off)" },
	};
	static const char nothing[] = "Xen 4.19 booting\nno tests here\n";
	/* XTF before it printed its banner: a result alone is a case */
	static const char bare[] = "Test result: FAILURE\n";
	static const struct expect e3[] = { { "case-1", "fail", NULL } };
	static const char odd[] = "--- Xen Test Framework ---\n"
				  "Environment: PV\nT\nTest result: CRASH\n";
	static const struct expect e4[] = {
		{ "T", "fail", "unknown test result 'CRASH'" },
	};

	(void)state;
	check_all_chunkings(CASES_XTF, crashed_then_ok,
			    sizeof(crashed_then_ok) - 1, -1,
			    "test 'Crashy' started but reported no result", e1,
			    ARRAY_SIZE(e1));
	check_all_chunkings(CASES_XTF, cut_off, sizeof(cut_off) - 1, -1,
			    "test 'Long_running' started but reported no result",
			    e2, ARRAY_SIZE(e2));
	check_all_chunkings(CASES_XTF, nothing, sizeof(nothing) - 1, -1,
			    "no test case in the output", NULL, 0);
	check_all_chunkings(CASES_XTF, bare, sizeof(bare) - 1, 0, "", e3,
			    ARRAY_SIZE(e3));
	check_all_chunkings(CASES_XTF, odd, sizeof(odd) - 1, 0, "", e4,
			    ARRAY_SIZE(e4));
}

/* ---- hangar ---- */

static const char hangar_normal[] =
	"some noise\n"
	"[12:00:01] HANGAR-CASE boot pass\n"
	"HANGAR-CASE net/ping fail timeout after 5s  \n"
	"prefixHANGAR-CASE disk\tskip no disk here\n"
	"HANGAR-CASE bad maybe\n"
	"HANGAR-CASE lonely\n"
	"HANGAR-CASEX x pass\n"
	"junk HANGAR-CASEY HANGAR-CASE second-marker pass\n"
	"HANGAR-CASES 4\n";

static const struct expect hangar_normal_cases[] = {
	{ "boot", "pass", NULL },
	{ "net/ping", "fail", "timeout after 5s" },
	{ "disk", "skip", "no disk here" },
	{ "second-marker", "pass", NULL },
};

static void test_hangar(void **state)
{
	static const char short_plan[] =
		"HANGAR-CASES 3\nHANGAR-CASE a pass\nHANGAR-CASE b fail\n";
	static const struct expect e_short[] = {
		{ "a", "pass", NULL },
		{ "b", "fail", NULL },
	};
	static const char zero[] = "HANGAR-CASES 0\n";
	static const char none[] = "HANGAR-CASE\nHANGAR-CASES x\n";

	(void)state;
	check_all_chunkings(CASES_HANGAR, hangar_normal,
			    strlen(hangar_normal), 0, "", hangar_normal_cases,
			    ARRAY_SIZE(hangar_normal_cases));
	check_crlf(CASES_HANGAR, hangar_normal, 0, "", hangar_normal_cases,
		   ARRAY_SIZE(hangar_normal_cases));
	check_all_chunkings(CASES_HANGAR, short_plan, strlen(short_plan), -1,
			    "HANGAR-CASES 3 but 2 cases seen", e_short,
			    ARRAY_SIZE(e_short));
	check_all_chunkings(CASES_HANGAR, zero, strlen(zero), 0, "", NULL, 0);
	check_all_chunkings(CASES_HANGAR, none, strlen(none), -1,
			    "no test case in the output", NULL, 0);
}

/* CASES_MAX: the rest is dropped and counted */
static void test_too_many(void **state)
{
	struct buf b = BUF_INIT;
	struct run run;

	(void)state;
	for (int i = 0; i < CASES_MAX + 5; i++)
		buf_addf(&b, "HANGAR-CASE c%d pass\n", i);
	run_reader(CASES_HANGAR, b.buf, b.len, 65536, &run);
	assert_int_equal(run.rc, -1);
	assert_string_equal(run.why,
			    "more than 100000 test cases (5 dropped)");
	assert_int_equal(run.n, CASES_MAX);
	run_release(&run);
	buf_release(&b);
}

/* why is cut to whylen, and may be NULL */
static void test_why_buffer(void **state)
{
	struct case_reader *r = case_reader_new(CASES_TAP);
	struct case_result *c;
	size_t n;
	char why[8];

	(void)state;
	case_reader_feed(r, "1..2\nok\n", 8);
	assert_int_equal(case_reader_finish(r, &c, &n, why, sizeof(why)), -1);
	assert_string_equal(why, "plan 1.");
	assert_int_equal(n, 1);
	assert_string_equal(c[0].name, "1");
	case_results_free(c, n);
	/* feeding and finishing again after finish */
	case_reader_feed(r, "ok 2\n", 5);
	assert_int_equal(case_reader_finish(r, &c, &n, NULL, 0), -1);
	assert_int_equal(n, 0);
	assert_null(c);
	case_reader_free(r);
}

/* ---- junit ---- */

static const char junit_normal[] =
	"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<!-- generated by <something> -->\n"
	"<!DOCTYPE testsuites [ <!ENTITY x \"y>\"> ]>\n"
	"<testsuites name=\"all\">\n"
	"  <testsuite name=\"s1\" tests=\"3\">\n"
	"    <properties><property name=\"p\" value=\"v\"/></properties>\n"
	"    <testcase classname=\"pkg.Mod\" name=\"test_ok\" time=\"0.1\"/>\n"
	"    <testcase classname='pkg.Mod' name='test_fail' >\n"
	"      <failure message=\"assert 1 &lt; 0 &amp;&amp; &quot;x&quot; "
	"&apos;y&apos;\" type=\"AssertionError\">trace</failure>\n"
	"    </testcase>\n"
	"    <testsuite name=\"inner\">\n"
	"      <testcase name=\"err &#65;&#x42;&#x20AC;\">\n"
	"        <error><![CDATA[\n  Traceback <boom> & co\n"
	" second line]]></error>\n"
	"        <system-out>out</system-out>\n"
	"      </testcase>\n"
	"      <testcase name=\"skipped one\" classname=\"\">\n"
	"        <skipped message=\"not on this arch\"/>\n"
	"      </testcase>\n"
	"      <testcase\n name = \"text failure\"\n>\n"
	"        <failure>\n"
	"           first line of text &amp; more\n"
	"           second\n"
	"        </failure>\n"
	"        <failure message=\"second failure\"/>\n"
	"      </testcase>\n"
	"      <testcase name=\"skip then fail\">"
	"<skipped/><error message=\"boom\"/></testcase>\n"
	"      <x:testcase name=\"ns\"><x:skipped/></x:testcase>\n"
	"      <testcase name=\"test_ok\" classname=\"pkg.Mod\"></testcase>\n"
	"    </testsuite>\n"
	"  </testsuite>\n"
	"</testsuites>\n";

static const struct expect junit_normal_cases[] = {
	{ "pkg.Mod.test_ok", "pass", NULL },
	{ "pkg.Mod.test_fail", "fail", "assert 1 < 0 && \"x\" 'y'" },
	{ "err_AB", "fail", "Traceback <boom> & co" },
	{ "skipped_one", "skip", "not on this arch" },
	{ "text_failure", "fail", "first line of text & more" },
	{ "skip_then_fail", "fail", "boom" },
	{ "ns", "skip", NULL },
	{ "pkg.Mod.test_ok~2", "pass", NULL },
};

static void test_junit_normal(void **state)
{
	struct case_result *c;
	size_t n;
	char why[256];
	struct run run;

	(void)state;
	assert_int_equal(case_junit_parse(junit_normal,
					  sizeof(junit_normal) - 1, &c, &n, why,
					  sizeof(why)),
			 0);
	assert_string_equal(why, "");
	run.c = c;
	run.n = n;
	run.why[0] = '\0';
	check_cases(&run, junit_normal_cases, ARRAY_SIZE(junit_normal_cases));
	case_results_free(c, n);
}

static void test_junit_bad(void **state)
{
	static const struct {
		const char *xml;
		const char *why;
		size_t n; /* cases handed over anyway */
	} cases[] = {
		{ "", "not junit xml: no <testcase>", 0 },
		{ "not xml at all", "not junit xml: no <testcase>", 0 },
		{ "<testsuite name=\"x\" tests=\"0\"></testsuite>",
		  "not junit xml: no <testcase>", 0 },
		{ "<testsuite><testcase name='a'/><testcase name='b'>"
		  "</testsuite>",
		  "malformed junit xml at byte 50: mismatched end tag", 1 },
		{ "<testsuite><testcase name='a'/>",
		  "malformed junit xml: <testsuite> not closed at the end", 1 },
		{ "<testsuite><testcase name='a",
		  "malformed junit xml at byte 12: unterminated attribute value",
		  0 },
		{ "<testsuite><testcase name='a'",
		  "malformed junit xml at byte 12: unterminated tag", 0 },
		{ "<testsuite><!-- x </testsuite>",
		  "malformed junit xml at byte 11: unterminated comment", 0 },
		{ "<t><testcase name='a'><failure><![CDATA[x</failure>",
		  "malformed junit xml at byte 31: unterminated CDATA", 0 },
		{ "<t></t></t>",
		  "malformed junit xml at byte 7: an end tag with no element open",
		  0 },
		{ "<t><<testcase/></t>",
		  "malformed junit xml at byte 4: a '<' without an element name",
		  0 },
		{ "<t><?pi </t>", "malformed junit xml at byte 3: unterminated <?",
		  0 },
	};
	struct buf deep = BUF_INIT;
	struct case_result *c;
	size_t n;
	char why[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = case_junit_parse(cases[i].xml, strlen(cases[i].xml),
					  &c, &n, why, sizeof(why));

		if (strcmp(why, cases[i].why))
			print_error("case %zu: '%s'\n", i, why);
		assert_int_equal(rc, -1);
		assert_string_equal(why, cases[i].why);
		assert_int_equal(n, cases[i].n);
		case_results_free(c, n);
	}

	for (int i = 0; i < 300; i++)
		buf_addstr(&deep, "<testsuite>");
	assert_int_equal(case_junit_parse(deep.buf, deep.len, &c, &n, why,
					  sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "nested too deep"));
	assert_int_equal(n, 0);

	/* refused before reading a byte */
	assert_int_equal(case_junit_parse(deep.buf, CASE_JUNIT_MAX + 1u, &c,
					  &n, why, sizeof(why)),
			 -1);
	assert_string_equal(why,
			    "junit xml too big (67108865 bytes, at most 67108864)");
	buf_release(&deep);

	/* NULs and invalid UTF-8 in names and messages */
	{
		static const char xml[] =
			"<s><testcase name=\"a\0b\xff\"><failure message="
			"\"m\xff\0x&#0;&#xD800;&bogus;\"/></testcase></s>";

		assert_int_equal(case_junit_parse(xml, sizeof(xml) - 1, &c, &n,
						  why, sizeof(why)),
				 0);
		assert_int_equal(n, 1);
		assert_string_equal(c[0].name, "a_b");
		assert_string_equal(c[0].detail,
				    "m? x&#0;&#xD800;&bogus;");
		case_results_free(c, n);
	}
}

/* ---- performance ---- */

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_tap_10000(void **state)
{
	struct buf b = BUF_INIT, same = BUF_INIT;
	char long_p[99];
	struct timespec t0;
	struct run run;
	double s;

	(void)state;
	memset(long_p, 'p', 98);
	long_p[98] = '\0';
	buf_addstr(&b, "TAP version 13\n1..10000\n");
	for (int i = 1; i <= 10000; i++) {
		if (i % 100 == 0)
			buf_addf(&b, "not ok %d - suite/case number %d of the big one\n", i, i);
		else
			buf_addf(&b, "ok %d - suite/case number %d of the big one\n", i, i);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_reader(CASES_TAP, b.buf, b.len, 4096, &run);
	s = seconds_since(&t0);
	print_message("# 10000 tap cases (%zu bytes): %.1f ms\n", b.len,
		      s * 1000);
	assert_int_equal(run.rc, 0);
	assert_int_equal(run.n, 10000);
	assert_string_equal(run.c[9999].name, "suite/case_number_10000_of_the_big_one");
	assert_string_equal(run.c[99].status, "fail");
	assert_true(s < 1.0);
	run_release(&run);

	/* every name the same: the suffixes must not go quadratic */
	for (int i = 1; i <= 10000; i++)
		buf_addstr(&same, "ok - same\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_reader(CASES_TAP, same.buf, same.len, same.len, &run);
	s = seconds_since(&t0);
	print_message("# 10000 identical tap names: %.1f ms\n", s * 1000);
	assert_int_equal(run.n, 10000);
	assert_string_equal(run.c[0].name, "same");
	assert_string_equal(run.c[9999].name, "same~10000");
	assert_true(s < 1.0);
	run_release(&run);

	/*
	 * 100 names that differ only in their last two bytes (at the cut),
	 * each 200 times: their suffixed forms share one stem and its
	 * numbers, without probing past each other's suffixes.
	 */
	buf_reset(&same);
	for (int rep = 0; rep < 200; rep++)
		for (int i = 0; i < 100; i++)
			buf_addf(&same, "ok - %.98s%02d\n", long_p, i);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_reader(CASES_TAP, same.buf, same.len, same.len, &run);
	s = seconds_since(&t0);
	print_message("# 20000 tap names sharing a stem: %.1f ms\n", s * 1000);
	assert_int_equal(run.n, 20000);
	assert_int_equal(strlen(run.c[99].name), CASE_NAME_MAX);
	assert_string_equal(run.c[99].name + 98, "99");
	assert_string_equal(run.c[100].name + 98, "~2");
	assert_int_equal(strlen(run.c[19999].name), CASE_NAME_MAX);
	assert_string_equal(run.c[19999].name + 94, "~19901");
	assert_true(s < 1.0);
	run_release(&run);
	buf_release(&same);
	buf_release(&b);
}

/* a huge name whose stripping peels one component at a time */
static void test_junit_pathological_name(void **state)
{
	struct buf b = BUF_INIT;
	struct case_result *c;
	struct timespec t0;
	size_t n;
	char why[128];
	double s;

	(void)state;
	buf_addstr(&b, "<testsuite><testcase name=\"a");
	for (int i = 0; i < 1000000; i++)
		buf_addstr(&b, "/._");
	buf_addstr(&b, "\"/></testsuite>");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(case_junit_parse(b.buf, b.len, &c, &n, why,
					  sizeof(why)),
			 0);
	s = seconds_since(&t0);
	print_message("# a 3 MB junit name: %.1f ms\n", s * 1000);
	assert_int_equal(n, 1);
	assert_true(strlen(c[0].name) <= CASE_NAME_MAX);
	assert_true(s < 1.0);
	case_results_free(c, n);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_words),
		cmocka_unit_test(test_tap_normal),
		cmocka_unit_test(test_tap_plans),
		cmocka_unit_test(test_tap_binary),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_names_unique),
		cmocka_unit_test(test_xtf_normal),
		cmocka_unit_test(test_xtf_incomplete),
		cmocka_unit_test(test_hangar),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_why_buffer),
		cmocka_unit_test(test_junit_normal),
		cmocka_unit_test(test_junit_bad),
		cmocka_unit_test(test_tap_10000),
		cmocka_unit_test(test_junit_pathological_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
