/*
 * test-evidence-diff.c: change tracking between evidence records
 * (flights/evidence-diff.h): each status change in a table, the order of
 * the lists, a first record with nothing before it, records without
 * requirements or with junk in them, and the mail's text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "buf.h"
#include "evidence-diff.h"
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		fail_msg("bad test JSON: %s: %s", e.text, text);
	return j;
}

/* A record of flight with requirements "ID=STATUS ID=STATUS..." */
static json_t *record(long flight, const char *rev, const char *reqs)
{
	json_t *r = json_pack("{s:s, s:i, s:s, s:s, s:[], s:n}", "schema",
			      "hangar-evidence/1", "flight", (int)flight,
			      "tree", "minivisor", "revision", rev,
			      "requirements", "requirements_error");
	char *copy = strdup(reqs), *save = NULL;

	for (char *w = strtok_r(copy, " ", &save); w;
	     w = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(w, '=');

		*eq = '\0';
		json_array_append_new(json_object_get(r, "requirements"),
				      json_pack("{s:s, s:s, s:s, s:[], s:[]}",
						"id", w, "title", "title of it",
						"status", eq + 1, "tests",
						"evidence"));
	}
	free(copy);
	return r;
}

/* The ids of list key of diff, space separated. */
static char *ids(json_t *diff, const char *key)
{
	struct buf b = BUF_INIT;
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(diff, key), i, v)
		buf_addf(&b, "%s%s", i ? " " : "", json_string_value(v));
	return buf_detach(&b);
}

static void check(json_t *diff, const char *nv, const char *nf,
		  const char *nl, const char *added, const char *removed)
{
	const char *want[] = { nv, nf, nl, added, removed };
	const char *keys[] = { "newly_verified", "newly_failing",
			       "no_longer_verified", "added", "removed" };

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		char *got = ids(diff, keys[i]);

		if (strcmp(got, want[i]))
			fail_msg("%s: got '%s', want '%s'", keys[i], got, want[i]);
		free(got);
	}
}

static void test_statuses(void **state)
{
	/* every pair of statuses (and absence) in one id each */
	static const struct {
		const char *from, *to;     /* NULL: absent */
		int nv, nf, nl, added, removed;
	} cases[] = {
		{ "verified", "verified", 0, 0, 0, 0, 0 },
		{ "verified", "failed", 0, 1, 0, 0, 0 },
		{ "verified", "unverified", 0, 0, 1, 0, 0 },
		{ "verified", NULL, 0, 0, 1, 0, 1 },
		{ "failed", "verified", 1, 0, 0, 0, 0 },
		{ "failed", "failed", 0, 0, 0, 0, 0 },
		{ "failed", "unverified", 0, 0, 0, 0, 0 },
		{ "failed", NULL, 0, 0, 0, 0, 1 },
		{ "unverified", "verified", 1, 0, 0, 0, 0 },
		{ "unverified", "failed", 0, 1, 0, 0, 0 },
		{ "unverified", "unverified", 0, 0, 0, 0, 0 },
		{ "unverified", NULL, 0, 0, 0, 0, 1 },
		{ NULL, "verified", 1, 0, 0, 1, 0 },
		{ NULL, "failed", 0, 1, 0, 1, 0 },
		{ NULL, "unverified", 0, 0, 0, 1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char fa[64] = "", fb[64] = "";
		json_t *a, *b, *d;

		if (cases[i].from)
			snprintf(fa, sizeof(fa), "R=%s", cases[i].from);
		if (cases[i].to)
			snprintf(fb, sizeof(fb), "R=%s", cases[i].to);
		a = record(1, "aaaaaaaaaaaa", fa);
		b = record(2, "bbbbbbbbbbbb", fb);
		d = evidence_diff(a, b);
		check(d, cases[i].nv ? "R" : "", cases[i].nf ? "R" : "",
		      cases[i].nl ? "R" : "", cases[i].added ? "R" : "",
		      cases[i].removed ? "R" : "");
		json_decref(a);
		json_decref(b);
		json_decref(d);
	}
}

static void test_order_and_ends(void **state)
{
	json_t *a = record(7, "0123456789abcdef", "A=verified B=verified "
			   "C=unverified D=verified E=failed");
	json_t *b = record(9, "fedcba9876543210", "N2=verified E=verified "
			   "C=failed N1=failed A=unverified B=verified");
	json_t *d = evidence_diff(a, b), *want;

	(void)state;
	/* to's order for what it holds, from's for the rest */
	check(d, "N2 E", "C N1", "A D", "N2 N1", "D");
	want = load("{\"flight\": 7, \"revision\": \"0123456789abcdef\"}");
	assert_true(json_equal(json_object_get(d, "from"), want));
	json_decref(want);
	want = load("{\"flight\": 9, \"revision\": \"fedcba9876543210\"}");
	assert_true(json_equal(json_object_get(d, "to"), want));
	json_decref(want);
	assert_int_equal(json_object_size(d), 7);
	json_decref(d);

	/* nothing before: all new */
	d = evidence_diff(NULL, b);
	assert_true(json_is_null(json_object_get(d, "from")));
	check(d, "N2 E B", "C N1", "", "N2 E C N1 A B", "");
	json_decref(d);
	json_decref(a);
	json_decref(b);
}

static void test_junk(void **state)
{
	/* no requirements, a requirements_error, members of other types,
	 * a duplicate id, an id that is no string: no crash, no change */
	static const struct {
		const char *json, *added;   /* added: against nothing */
	} junk[] = {
		{ "{}", "" },
		{ "{\"requirements\": null, \"requirements_error\": \"R:1: bad\"}", "" },
		{ "{\"requirements\": {\"id\": \"A\"}}", "" },
		{ "{\"requirements\": [1, \"A\", [], {\"id\": 5}, {\"status\": "
		  "\"verified\"}]}", "" },
		/* a status that is no string is unverified */
		{ "{\"requirements\": [{\"id\": \"A\", \"status\": 3}]}", "A" },
		{ "[]", "" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
		json_t *j = load(junk[i].json), *d = evidence_diff(j, j);

		check(d, "", "", "", "", "");
		json_decref(d);
		d = evidence_diff(NULL, j);
		check(d, "", "", "", junk[i].added, "");
		json_decref(d);
		json_decref(j);
	}
	{
		json_t *a = load("{\"requirements\": [{\"id\": \"A\", \"status\": "
				 "\"verified\"}, {\"id\": \"A\", \"status\": "
				 "\"failed\"}]}");
		json_t *b = load("{\"requirements\": [{\"id\": \"A\", \"status\": "
				 "\"unverified\"}]}");
		json_t *d = evidence_diff(a, b);

		/* the first of a duplicate counts, once */
		check(d, "", "", "A", "", "");
		json_decref(d);
		json_decref(a);
		json_decref(b);
	}
}

static void test_text(void **state)
{
	json_t *a = record(7, "0123456789abcdef", "A=verified B=verified "
			   "OLD=verified");
	json_t *b = record(9, "fedcba9876543210", "A=failed B=verified "
			   "NEW=verified");
	json_t *d = evidence_diff(a, b);
	struct buf t = BUF_INIT;

	(void)state;
	evidence_diff_text(&t, d, a, b);
	assert_string_equal(t.buf,
		"Requirements:\n"
		" against the last pushed record: flight 7 (minivisor 0123456789ab)\n"
		" newly verified (1):\n"
		"  NEW                      verified   title of it\n"
		" newly failing (1):\n"
		"  A                        failed     title of it\n"
		" no longer verified (1):\n"
		"  OLD                      removed    title of it\n"
		" added (1): NEW\n"
		" removed (1): OLD\n");
	json_decref(d);

	buf_reset(&t);
	d = evidence_diff(b, b);
	evidence_diff_text(&t, d, b, b);
	assert_string_equal(t.buf, "Requirements:\n no change in 3 requirements\n");
	json_decref(d);

	buf_reset(&t);
	d = evidence_diff(NULL, b);
	evidence_diff_text(&t, d, NULL, b);
	assert_non_null(strstr(t.buf, "against the last pushed record: none\n"));
	assert_non_null(strstr(t.buf, " added (3): A B NEW\n"));
	json_decref(d);

	buf_reset(&t);
	json_object_set_new(b, "requirements_error",
			    json_string("REQUIREMENTS:7: unknown keyword 'tset'"));
	d = evidence_diff(a, b);
	evidence_diff_text(&t, d, a, b);
	assert_string_equal(t.buf, "Requirements:\n not read: REQUIREMENTS:7: "
			    "unknown keyword 'tset'\n");
	json_decref(d);
	buf_release(&t);
	json_decref(a);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_order_and_ends),
		cmocka_unit_test(test_junk),
		cmocka_unit_test(test_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
