/*
 * test-estimate.c: duration estimates (scheduler/estimate.h): the longest
 * recent run anywhere and per host, the window, and the last lookup's
 * answer kept only while no run comes and the clock stays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "estimate.h"
#include "banned.h"

#define NOW 1800000000
#define DAY 86400

static long host_id(struct estimates *e, const char *name)
{
	return strmap_get(&e->hostnames, name);
}

/* The history entry of host name in h (n entries), or NULL. */
static const struct plan_history *entry(struct estimates *e,
					const struct plan_history *h, size_t n,
					const char *name)
{
	for (size_t i = 0; i < n; i++)
		if ((long)h[i].host == host_id(e, name))
			return &h[i];
	return NULL;
}

static void test_estimates(void **state)
{
	struct estimates e;
	struct plan_history h[8];
	plan_time dur;
	size_t n;

	(void)state;
	est_init(&e, 14 * DAY, 3600);
	assert_int_equal(est_lookup(&e, "build", NOW, &dur, h, 8), 0);
	assert_int_equal(dur, 3600);   /* never seen: the default */

	est_add(&e, 1, "build", "a", 0, NOW - 2 * DAY, NOW - 2 * DAY + 100);
	est_add(&e, 2, "build", "b", 1, NOW - DAY, NOW - DAY + 300);
	n = est_lookup(&e, "build", NOW, &dur, h, 8);
	assert_int_equal(n, 2);
	assert_int_equal(dur, 300);
	assert_int_equal(entry(&e, h, n, "a")->duration, 100);
	assert_int_equal(entry(&e, h, n, "a")->last_failed, 0);
	assert_int_equal(entry(&e, h, n, "b")->duration, 300);
	assert_int_equal(entry(&e, h, n, "b")->last_failed, 1);
	assert_int_equal(entry(&e, h, n, "b")->last_run, NOW - DAY);

	/* asked again at the same time: the same answer */
	memset(h, 0, sizeof(h));
	n = est_lookup(&e, "build", NOW, &dur, h, 8);
	assert_int_equal(n, 2);
	assert_int_equal(dur, 300);
	assert_int_equal(entry(&e, h, n, "a")->duration, 100);

	/* a run seen twice changes nothing; a new one is seen at once,
	 * at the same time */
	est_add(&e, 2, "build", "b", 1, NOW - DAY, NOW - DAY + 300);
	assert_int_equal(est_lookup(&e, "build", NOW, &dur, h, 8), 2);
	assert_int_equal(dur, 300);
	est_add(&e, 3, "build", "a", 0, NOW - 60, NOW - 60 + 900);
	n = est_lookup(&e, "build", NOW, &dur, h, 8);
	assert_int_equal(dur, 900);
	assert_int_equal(entry(&e, h, n, "a")->duration, 900);
	assert_int_equal(entry(&e, h, n, "a")->last_run, NOW - 60);
	est_add(&e, 4, "build", "c", 0, NOW - 30, NOW - 30 + 50);
	assert_int_equal(est_lookup(&e, "build", NOW, &dur, h, 8), 3);

	/* at most max entries */
	assert_int_equal(est_lookup(&e, "build", NOW, &dur, h, 2), 2);

	/* another clock, another window: a and b's runs of days ago are
	 * out of it 14 days on, a's last and c's still in */
	n = est_lookup(&e, "build", NOW + 14 * DAY - 3000, &dur, h, 8);
	assert_int_equal(n, 2);
	assert_null(entry(&e, h, n, "b"));
	assert_int_equal(entry(&e, h, n, "a")->duration, 900);
	assert_int_equal(dur, 900);
	n = est_lookup(&e, "build", NOW + 20 * DAY, &dur, h, 8);
	assert_int_equal(n, 0);
	assert_int_equal(dur, 3600);
	/* and back */
	assert_int_equal(est_lookup(&e, "build", NOW, &dur, h, 8), 3);
	assert_int_equal(dur, 900);
	est_release(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_estimates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
