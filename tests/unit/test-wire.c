/*
 * test-wire.c: the worker protocol's wire format (workers/wire.h): a full
 * claimed job and every kind of record go to JSON text and back field for
 * field; what a decoder must refuse (a missing or mistyped field, a bad
 * SHA-256 or token, an unknown type, a NUL inside a string) is refused
 * and named; a string that is not UTF-8 still goes, lossily.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "wire.h"
#include "xalloc.h"
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Through JSON text, as over the wire. */
static json_t *through_text(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	json_error_t e;
	json_t *back;

	assert_non_null(s);
	back = json_loads(s, 0, &e);
	if (!back)
		fail_msg("json_loads: %s in %s", e.text, s);
	free(s);
	json_decref(o);
	return back;
}

static void full_job(struct wjob *j)
{
	memset(j, 0, sizeof(*j));
	j->flight = 4242;
	j->job = xstrdup("test-amd64-pair");
	j->recipe = xstrdup("pair");
	j->arch = xstrdup("x86_64");
	j->intent = xstrdup("gate");
	j->branch = xstrdup("xen-unstable");
	j->primary_tree = xstrdup("xen");
	j->attempt = 3;
	j->lab_retries = 1;
	j->last_step = 17;
	j->health_check = 1;
	vec_push(&j->runvars, "build_flags=-j4 V=1");
	vec_push(&j->runvars, "empty=");
	vec_push(&j->runvars, "revision_xen=abc=def");
	j->nhosts = 2;
	j->hosts = xcalloc(3, sizeof(*j->hosts));
	j->hosts[0] = (struct wjob_host){
		xstrdup("host"), xstrdup("ruby"), xstrdup("x86_64"),
		xstrdup("169.254.2.10"), xstrdup("root"), xstrdup("/srv/work"),
		xstrdup("ipmi"), xstrdup("ipmi"), xstrdup("ssh-ed25519 AAAAC3"),
		2222, 300, 7, json_pack("{s:s, s:i, s:[s,s]}", "bmc", "10.0.0.1",
					  "cycle_time", 7, "extra", "a", "b"),
	};
	j->hosts[1] = (struct wjob_host){
		xstrdup("host2"), xstrdup("opal"), xstrdup("x86_64"), NULL,
		NULL, NULL, xstrdup("none"), NULL, NULL, 22, 120, 5, json_object(),
	};
	j->nsteps = 3;
	j->steps = xcalloc(4, sizeof(*j->steps));
	j->steps[0] = (struct wjob_step){ STEP_HOST_INSTALL, xstrdup("install"),
					  NULL, 0, NULL };
	j->steps[1] = (struct wjob_step){ STEP_RUN, xstrdup("smoke"),
					  xstrdup("make check \"a b\""), 600,
					  xstrdup("tap") };
	j->steps[2] = (struct wjob_step){ STEP_EXPECT, xstrdup("expect.2"),
					  xstrdup("login:"), 30, NULL };
	vec_push(&j->artifacts, "dist/*.tar.gz");
	vec_push(&j->artifacts, "xen/xen.gz");
	j->ntrees = 2;
	j->trees = xcalloc(3, sizeof(*j->trees));
	j->trees[0] = (struct wjob_tree){ xstrdup("linux"), xstrdup("1234"),
					  NULL };
	j->trees[1] = (struct wjob_tree){ xstrdup("xen"), xstrdup("abcd"),
					  xstrdup("https://xenbits.example/xen.git") };
	j->ndeps = 1;
	j->deps = xcalloc(2, sizeof(*j->deps));
	j->deps[0] = (struct wjob_dep){ 4241, xstrdup("build-amd64"),
					xstrdup("pass") };
}

static void assert_str_or_null(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void test_wjob_round_trip(void **state)
{
	struct wjob a, b;
	struct err err = ERR_INIT;
	json_t *o, *again;

	(void)state;
	full_job(&a);
	o = through_text(wire_wjob_to_json(&a));
	assert_int_equal(wire_wjob_from_json(o, &b, &err), 0);

	assert_int_equal(b.flight, a.flight);
	assert_string_equal(b.job, a.job);
	assert_string_equal(b.recipe, a.recipe);
	assert_string_equal(b.arch, a.arch);
	assert_string_equal(b.intent, a.intent);
	assert_string_equal(b.branch, a.branch);
	assert_string_equal(b.primary_tree, a.primary_tree);
	assert_int_equal(b.attempt, 3);
	assert_int_equal(b.lab_retries, 1);
	assert_int_equal(b.last_step, 17);
	assert_int_equal(b.health_check, 1);
	assert_int_equal(b.runvars.n, a.runvars.n);
	for (size_t i = 0; i < a.runvars.n; i++)
		assert_string_equal(b.runvars.v[i], a.runvars.v[i]);
	assert_string_equal(wjob_runvar(&b, "revision_xen"), "abc=def");
	assert_string_equal(wjob_runvar(&b, "empty"), "");

	assert_int_equal(b.nhosts, 2);
	for (size_t i = 0; i < a.nhosts; i++) {
		const struct wjob_host *x = &a.hosts[i], *y = &b.hosts[i];

		assert_string_equal(y->ident, x->ident);
		assert_string_equal(y->name, x->name);
		assert_str_or_null(y->arch, x->arch);
		assert_str_or_null(y->address, x->address);
		assert_str_or_null(y->user, x->user);
		assert_str_or_null(y->workdir, x->workdir);
		assert_str_or_null(y->power, x->power);
		assert_str_or_null(y->console, x->console);
		assert_str_or_null(y->ssh_host_key, x->ssh_host_key);
		assert_int_equal(y->port, x->port);
		assert_int_equal(y->boot_timeout, x->boot_timeout);
		assert_int_equal(y->cycle_time, x->cycle_time);
		assert_true(json_equal(y->power_config, x->power_config));
		assert_ptr_not_equal(y->power_config, x->power_config);
	}

	assert_int_equal(b.nsteps, 3);
	for (size_t i = 0; i < a.nsteps; i++) {
		assert_int_equal(b.steps[i].kind, a.steps[i].kind);
		assert_string_equal(b.steps[i].name, a.steps[i].name);
		assert_str_or_null(b.steps[i].command, a.steps[i].command);
		assert_int_equal(b.steps[i].timeout, a.steps[i].timeout);
		assert_str_or_null(b.steps[i].cases, a.steps[i].cases);
	}
	assert_int_equal(b.artifacts.n, 2);
	assert_string_equal(b.artifacts.v[0], "dist/*.tar.gz");
	assert_string_equal(b.artifacts.v[1], "xen/xen.gz");
	assert_int_equal(b.ntrees, 2);
	for (size_t i = 0; i < a.ntrees; i++) {
		assert_string_equal(b.trees[i].name, a.trees[i].name);
		assert_str_or_null(b.trees[i].revision, a.trees[i].revision);
		assert_str_or_null(b.trees[i].url, a.trees[i].url);
	}
	assert_int_equal(b.ndeps, 1);
	assert_int_equal(b.deps[0].flight, 4241);
	assert_string_equal(b.deps[0].job, "build-amd64");
	assert_string_equal(b.deps[0].status, "pass");

	/* and the decoded job encodes to the same JSON */
	again = wire_wjob_to_json(&b);
	assert_true(json_equal(again, o));
	json_decref(again);
	json_decref(o);
	wjob_release(&a);
	wjob_release(&b);
}

/* An empty job (no hosts, steps, runvars ...) goes too. */
static void test_wjob_empty(void **state)
{
	struct wjob a = { 0 }, b;
	struct err err = ERR_INIT;
	json_t *o;

	(void)state;
	a.flight = 1;
	a.job = xstrdup("build");
	o = through_text(wire_wjob_to_json(&a));
	assert_int_equal(wire_wjob_from_json(o, &b, &err), 0);
	assert_string_equal(b.job, "build");
	assert_null(b.recipe);
	assert_int_equal(b.nhosts + b.nsteps + b.ntrees + b.ndeps, 0);
	assert_int_equal(b.runvars.n + b.artifacts.n, 0);
	json_decref(o);
	wjob_release(&a);
	wjob_release(&b);
}

/* Each change to a good job's JSON must be refused, naming the field. */
static void test_wjob_refused(void **state)
{
	static const struct {
		const char *pointer;  /* "hosts.1.port": where */
		const char *json;     /* the new value; NULL: removed */
		const char *says;
	} cases[] = {
		{ "flight", NULL, "\"flight\": missing" },
		{ "flight", "\"12\"", "\"flight\": not an integer" },
		{ "flight", "0", "\"flight\": 0 out of range" },
		{ "job", "null", "\"job\": not a string" },
		{ "job", "\"a\\u0000b\"", "\"job\": holds a NUL" },
		{ "attempt", "-1", "\"attempt\": -1 out of range" },
		{ "health_check", "1", "\"health_check\": not a boolean" },
		{ "runvars", "[]", "\"runvars\": not an object" },
		{ "runvars.x", "3", "runvar x: not a string" },
		{ "hosts", "{}", "\"hosts\": not an array" },
		{ "hosts.1.name", NULL, "hosts[1]: \"name\": missing" },
		{ "hosts.0.port", "\"22\"", "hosts[0]: \"port\": not an integer" },
		{ "hosts.0.power_config", "null",
		  "hosts[0]: \"power_config\": not an object" },
		{ "steps.1.kind", "\"dance\"", "steps[1]: unknown step kind 'dance'" },
		{ "steps.2.timeout", "-5", "steps[2]: \"timeout\": -5 out of range" },
		{ "artifacts", NULL, "\"artifacts\": missing" },
		{ "trees.0.name", NULL, "trees[0]: \"name\": missing" },
		{ "deps.0.flight", "0", "deps[0]: \"flight\": 0 out of range" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct wjob a, b;
		struct err err = ERR_INIT;
		json_t *o, *at;
		char *path = xstrdup(cases[i].pointer), *key, *dot;

		full_job(&a);
		o = wire_wjob_to_json(&a);
		wjob_release(&a);
		at = o;
		key = path;
		while ((dot = strchr(key, '.'))) {
			*dot = '\0';
			at = json_is_array(at) ? json_array_get(at, strtoul(key, NULL, 10))
					       : json_object_get(at, key);
			assert_non_null(at);
			key = dot + 1;
		}
		if (json_is_array(at)) {
			fail_msg("case %zu: an array at the end", i);
		} else if (cases[i].json) {
			json_error_t e;
			json_t *v = json_loads(cases[i].json, JSON_DECODE_ANY |
					       JSON_ALLOW_NUL, &e);

			assert_non_null(v);
			json_object_set_new(at, key, v);
		} else {
			json_object_del(at, key);
		}
		if (wire_wjob_from_json(o, &b, &err) == 0)
			fail_msg("case %zu (%s) was taken", i, cases[i].pointer);
		assert_int_equal(err.code, ERR_USAGE);
		if (!strstr(err.msg, cases[i].says))
			fail_msg("case %zu: '%s' does not say '%s'", i, err.msg,
				 cases[i].says);
		assert_null(b.job);
		assert_null(b.hosts);
		json_decref(o);
		free(path);
	}
}

static struct wrec rec(enum wrec_type t)
{
	struct wrec r = { .type = t };

	return r;
}

/* One record of each type, every field it uses filled. */
static void every_record(struct wrec *r)
{
	r[WREC_STEP_BEGIN] = rec(WREC_STEP_BEGIN);
	r[WREC_STEP_BEGIN].step = 3;
	r[WREC_STEP_BEGIN].kind = xstrdup("run");
	r[WREC_STEP_BEGIN].name = xstrdup("smoke");
	r[WREC_STEP_BEGIN].at = 1765000000.5;

	r[WREC_STEP_END] = rec(WREC_STEP_END);
	r[WREC_STEP_END].step = 3;
	r[WREC_STEP_END].status = xstrdup("fail");
	r[WREC_STEP_END].detail = xstrdup("exit status 2");
	r[WREC_STEP_END].at = 1765000010.25;

	r[WREC_CASES] = rec(WREC_CASES);
	r[WREC_CASES].name = xstrdup("smoke");
	r[WREC_CASES].step = 3;
	r[WREC_CASES].first = 4;
	vec_push(&r[WREC_CASES].names, "a");
	vec_push(&r[WREC_CASES].statuses, "pass");
	vec_push(&r[WREC_CASES].details, "");
	vec_push(&r[WREC_CASES].names, "b/c d");
	vec_push(&r[WREC_CASES].statuses, "fail");
	vec_push(&r[WREC_CASES].details, "expected 1, got 2");
	r[WREC_CASES].at = 1765000011;

	r[WREC_RUNVAR] = rec(WREC_RUNVAR);
	r[WREC_RUNVAR].name = xstrdup("built_revision_xen");
	r[WREC_RUNVAR].value = xstrdup("0123abcd");

	r[WREC_ARTIFACT] = rec(WREC_ARTIFACT);
	r[WREC_ARTIFACT].path = xstrdup("dist/x.tar.gz");
	r[WREC_ARTIFACT].sha256 = xstrdup(SHA);
	r[WREC_ARTIFACT].size = 5000000000LL;

	r[WREC_POWER] = rec(WREC_POWER);
	r[WREC_POWER].host = xstrdup("ruby");
	r[WREC_POWER].action = xstrdup("cycle");
	r[WREC_POWER].state = xstrdup("unknown");
	r[WREC_POWER].attempts = 3;
	r[WREC_POWER].ms = 12345;
	r[WREC_POWER].detail = xstrdup("sent 'ipmitool power on' 3 times");
	r[WREC_POWER].error = xstrdup("ipmitool: timeout");
	r[WREC_POWER].at = 1765000001;

	r[WREC_HOST_BROKEN] = rec(WREC_HOST_BROKEN);
	r[WREC_HOST_BROKEN].host = xstrdup("ruby");
	r[WREC_HOST_BROKEN].reason = xstrdup("no ssh after boot");

	r[WREC_HOST_HEALTHY] = rec(WREC_HOST_HEALTHY);
	r[WREC_HOST_HEALTHY].host = xstrdup("ruby");

	r[WREC_HOST_INSTALLED] = rec(WREC_HOST_INSTALLED);
	r[WREC_HOST_INSTALLED].host = xstrdup("opal");

	r[WREC_HOSTKEY_CLEAR] = rec(WREC_HOSTKEY_CLEAR);
	r[WREC_HOSTKEY_CLEAR].host = xstrdup("opal");
	r[WREC_HOSTKEY_CLEAR].reason = xstrdup("reinstalled by host-install");

	r[WREC_INSTALL_BEGIN] = rec(WREC_INSTALL_BEGIN);
	r[WREC_INSTALL_BEGIN].host = xstrdup("opal");
	r[WREC_INSTALL_BEGIN].token = xstrdup("0123456789abcdef0123456789abcdef");

	r[WREC_FIRMWARE] = rec(WREC_FIRMWARE);
	r[WREC_FIRMWARE].host = xstrdup("br");
	r[WREC_FIRMWARE].value = xstrdup("OpenSBI v1.3, U-Boot 2023.01+dfsg-2");
}

static void assert_vec_equal(const struct vec *a, const struct vec *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_string_equal(a->v[i], b->v[i]);
}

static void assert_rec_equal(const struct wrec *a, const struct wrec *b)
{
	assert_int_equal(a->type, b->type);
	assert_true(a->at == b->at);
	assert_int_equal(a->step, b->step);
	assert_int_equal(a->first, b->first);
	assert_str_or_null(a->kind, b->kind);
	assert_str_or_null(a->name, b->name);
	assert_str_or_null(a->status, b->status);
	assert_str_or_null(a->detail, b->detail);
	assert_str_or_null(a->value, b->value);
	assert_str_or_null(a->path, b->path);
	assert_str_or_null(a->sha256, b->sha256);
	assert_true(a->size == b->size);
	assert_str_or_null(a->host, b->host);
	assert_str_or_null(a->reason, b->reason);
	assert_str_or_null(a->token, b->token);
	assert_str_or_null(a->action, b->action);
	assert_str_or_null(a->state, b->state);
	assert_str_or_null(a->error, b->error);
	assert_int_equal(a->attempts, b->attempts);
	assert_int_equal(a->ms, b->ms);
	assert_vec_equal(&a->names, &b->names);
	assert_vec_equal(&a->statuses, &b->statuses);
	assert_vec_equal(&a->details, &b->details);
}

static void test_rec_round_trip(void **state)
{
	struct wrec r[WREC_TYPE_LAST + 1];

	(void)state;
	every_record(r);
	for (int t = 0; t <= WREC_TYPE_LAST; t++) {
		struct wrec back;
		struct err err = ERR_INIT;
		json_t *o = through_text(wire_rec_to_json(&r[t]));

		assert_string_equal(json_string_value(json_object_get(o, "type")),
				    wrec_type_str((enum wrec_type)t));
		assert_int_equal(wrec_type_parse(wrec_type_str((enum wrec_type)t)), t);
		if (wire_rec_from_json(o, &back, &err) < 0)
			fail_msg("%s: %s", wrec_type_str((enum wrec_type)t), err.msg);
		assert_rec_equal(&back, &r[t]);
		wrec_release(&back);
		json_decref(o);
		wrec_release(&r[t]);
	}
	assert_int_equal(wrec_type_parse("step-start"), -1);
	assert_int_equal(wrec_type_parse(NULL), -1);
}

/* The optional fields as null: a step without detail, a power action
 * that worked, a record without a time. */
static void test_rec_nulls(void **state)
{
	struct wrec r[WREC_TYPE_LAST + 1];
	static const enum wrec_type types[] = { WREC_STEP_END, WREC_POWER,
						WREC_HOSTKEY_CLEAR };

	(void)state;
	every_record(r);
	free(r[WREC_STEP_END].detail);
	r[WREC_STEP_END].detail = NULL;
	r[WREC_STEP_END].at = 0;
	free(r[WREC_POWER].error);
	r[WREC_POWER].error = NULL;
	free(r[WREC_POWER].detail);
	r[WREC_POWER].detail = NULL;
	free(r[WREC_HOSTKEY_CLEAR].reason);
	r[WREC_HOSTKEY_CLEAR].reason = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		struct wrec back;
		struct err err = ERR_INIT;
		json_t *o = through_text(wire_rec_to_json(&r[types[i]]));

		assert_int_equal(wire_rec_from_json(o, &back, &err), 0);
		assert_rec_equal(&back, &r[types[i]]);
		wrec_release(&back);
		json_decref(o);
	}
	for (int t = 0; t <= WREC_TYPE_LAST; t++)
		wrec_release(&r[t]);
}

static void test_rec_refused(void **state)
{
	static const struct {
		const char *json;
		const char *says;
	} cases[] = {
		{ "[]", "record: not an object" },
		{ "{}", "record: \"type\": missing" },
		{ "{\"type\": \"dance\"}", "record: unknown type 'dance'" },
		{ "{\"type\": \"step-begin\", \"step\": 0, \"kind\": \"run\", "
		  "\"name\": \"x\"}", "record step-begin: \"step\": 0 out of range" },
		{ "{\"type\": \"step-begin\", \"step\": 1, \"kind\": \"jog\", "
		  "\"name\": \"x\"}", "unknown step kind 'jog'" },
		{ "{\"type\": \"step-begin\", \"step\": 1, \"kind\": \"run\", "
		  "\"name\": \"x\", \"at\": \"now\"}", "\"at\": not a time" },
		{ "{\"type\": \"step-end\", \"step\": 1}", "\"status\": missing" },
		{ "{\"type\": \"cases\", \"parent\": \"p\", \"parent_step\": 1, "
		  "\"first\": 2, \"cases\": [{\"name\": \"a\"}]}",
		  "cases[0]: \"status\": missing" },
		{ "{\"type\": \"runvar\", \"name\": \"a\", \"value\": 1}",
		  "\"value\": not a string" },
		{ "{\"type\": \"artifact\", \"path\": \"p\", \"sha256\": \"ABC\", "
		  "\"size\": 1}", "\"sha256\": not 64" },
		{ "{\"type\": \"artifact\", \"path\": \"p\", \"sha256\": \"" SHA
		  "\", \"size\": -1}", "\"size\": -1 out of range" },
		{ "{\"type\": \"power\", \"host\": \"h\", \"action\": \"on\", "
		  "\"state\": \"on\", \"attempts\": 1}", "\"ms\": missing" },
		{ "{\"type\": \"host-broken\", \"host\": \"h\"}",
		  "\"reason\": missing" },
		{ "{\"type\": \"host-healthy\", \"host\": \"h\\u0000i\"}",
		  "\"host\": holds a NUL" },
		{ "{\"type\": \"install-begin\", \"host\": \"h\", \"token\": "
		  "\"0123\"}", "\"token\": not 32" },
		{ "{\"type\": \"firmware\", \"host\": \"h\"}",
		  "record firmware: \"firmware\": missing" },
		{ "{\"type\": \"firmware\", \"host\": \"h\", \"firmware\": \"\"}",
		  "\"firmware\": 1 to 200 bytes" },
		{ "{\"type\": \"firmware\", \"host\": \"h\", \"firmware\": "
		  "\"SeaBIOS 1.16\\u001b[2J\\nPASS\"}",
		  "\"firmware\": a control character" },
		{ "{\"type\": \"firmware\", \"host\": \"h\", \"firmware\": \""
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "0123456789012345678901234567890123456789012345678901234567890123456789"
		  "\"}", "\"firmware\": 1 to 200 bytes" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct wrec r;
		struct err err = ERR_INIT;
		json_error_t e;
		json_t *o = json_loads(cases[i].json, JSON_ALLOW_NUL, &e);

		if (!o)
			fail_msg("case %zu: %s", i, e.text);
		if (wire_rec_from_json(o, &r, &err) == 0)
			fail_msg("case %zu (%s) was taken", i, cases[i].json);
		assert_int_equal(err.code, ERR_USAGE);
		if (!strstr(err.msg, cases[i].says))
			fail_msg("case %zu: '%s' does not say '%s'", i, err.msg,
				 cases[i].says);
		assert_null(r.host);
		assert_null(r.name);
		json_decref(o);
	}
}

/* A detail that is not UTF-8 (a step's output) is carried lossily. */
static void test_not_utf8(void **state)
{
	struct wrec r = { .type = WREC_STEP_END, .step = 1 }, back;
	struct err err = ERR_INIT;
	json_t *o;

	(void)state;
	r.status = xstrdup("fail");
	r.detail = xstrdup("caf\xe9 \xc3\xa9t\xc3");
	o = wire_rec_to_json(&r);
	assert_string_equal(json_string_value(json_object_get(o, "detail")),
			    "caf\xef\xbf\xbd \xc3\xa9t\xef\xbf\xbd");
	o = through_text(o);
	assert_int_equal(wire_rec_from_json(o, &back, &err), 0);
	assert_string_equal(back.detail, "caf\xef\xbf\xbd \xc3\xa9t\xef\xbf\xbd");
	json_decref(o);
	wrec_release(&back);
	wrec_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wjob_round_trip),
		cmocka_unit_test(test_wjob_empty),
		cmocka_unit_test(test_wjob_refused),
		cmocka_unit_test(test_rec_round_trip),
		cmocka_unit_test(test_rec_nulls),
		cmocka_unit_test(test_rec_refused),
		cmocka_unit_test(test_not_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
