/*
 * test-spool.c: the rules of a remote worker's spool (workers/spool.h):
 * the log names the controller takes, how an answer to a chunk of a log
 * moves what is acknowledged (a resend is harmless, a controller that has
 * less gets the rest again, nothing else counts), and the back-off.
 */
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "spool.h"
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_log_names(void **state)
{
	static const struct {
		const char *name;
		int ok;
	} cases[] = {
		{ "1.build.log", 1 },
		{ "12.smoke.log", 1 },
		{ "console-opal.log", 1 },
		{ "opal--var-log-syslog", 1 },
		{ "a+b@c=d,e_f", 1 },
		{ "", 0 },
		{ ".hidden", 0 },
		{ "..", 0 },
		{ "a/b", 0 },
		{ "a b", 0 },
		{ "caf\xc3\xa9", 0 },
		{ "tab\there", 0 },
		{ "100%", 0 },
	};
	char long_name[300];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(spool_log_name_ok(cases[i].name), cases[i].ok);
	memset(long_name, 'x', 255);
	long_name[255] = '\0';
	assert_true(spool_log_name_ok(long_name));
	memset(long_name, 'x', 256);
	long_name[256] = '\0';
	assert_false(spool_log_name_ok(long_name));
}

static void test_log_ack(void **state)
{
	static const struct {
		long long offset;
		size_t len;
		long status;
		long long size, want;
	} cases[] = {
		{ 0, 100, 200, 100, 100 },         /* the chunk, written */
		{ 100, 50, 200, 150, 150 },
		{ 100, 50, 200, 400, 400 },        /* it had more: a resend */
		{ 100, 50, 200, 120, -1 },         /* short of the chunk: no */
		{ 100, 50, 200, -1, -1 },          /* no size */
		{ 100, 50, 409, 60, 60 },          /* it has less: from there */
		{ 100, 50, 409, 0, 0 },
		{ 100, 50, 409, 100, -1 },         /* not past its end after all */
		{ 100, 50, 409, -1, -1 },
		{ 100, 50, 400, 150, -1 },
		{ 100, 50, 404, 150, -1 },
		{ 100, 50, 413, 150, -1 },
		{ 100, 50, 503, 150, -1 },
		{ -1, 50, 200, 150, -1 },
		{ 0, 0, 200, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(spool_log_ack(cases[i].offset, cases[i].len,
					       cases[i].status, cases[i].size),
				 cases[i].want);
}

static void test_backoff(void **state)
{
	int ms = 0, seen[8];

	(void)state;
	for (int i = 0; i < 8; i++)
		seen[i] = ms = spool_backoff_next(ms, 7500);
	assert_int_equal(seen[0], 1000);
	assert_int_equal(seen[1], 2000);
	assert_int_equal(seen[2], 4000);
	assert_int_equal(seen[3], 7500);
	assert_int_equal(seen[7], 7500);
	/* a lease so short that a quarter of it is under a second */
	assert_int_equal(spool_backoff_next(0, 500), 1000);
	assert_int_equal(spool_backoff_next(1000, 500), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_names),
		cmocka_unit_test(test_log_ack),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests_name("tests", tests, NULL, NULL);
}
