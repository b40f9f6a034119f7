/*
 * test-runvar.c: runvars (lib/runvar.h): which names are valid, parsing
 * "name=value", the HANGAR_<NAME> environment name, the names reserved for
 * hangar, and the shell assignment that carries a value through `sh -c`,
 * checked by running it through a real shell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "buf.h"
#include "runvar.h"
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define NAME64 \
	"a123456789012345678901234567890123456789012345678901234567890123"
#define NAME65 NAME64 "4"

static void test_name_valid(void **state)
{
	static const struct {
		const char *name;
		int valid;
	} cases[] = {
		{ "a", 1 },
		{ "make_flags", 1 },
		{ "x86_64", 1 },
		{ "revision_xen", 1 },
		{ "a_", 1 },
		{ "a1_2_3", 1 },
		{ NAME64, 1 },
		{ NAME65, 0 },
		{ "", 0 },
		{ "_a", 0 },
		{ "1a", 0 },
		{ "A", 0 },
		{ "make_Flags", 0 },
		{ "MAKE_FLAGS", 0 },
		{ "make-flags", 0 },
		{ "make.flags", 0 },
		{ "make flags", 0 },
		{ "a=b", 0 },
		{ "a\n", 0 },
		{ "caf\xc3\xa9", 0 },
	};

	(void)state;
	assert_int_equal(strlen(NAME64), 64);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (!runvar_name_valid(cases[i].name) != !cases[i].valid)
			fail_msg("runvar_name_valid(\"%s\") should be %d",
				 cases[i].name, cases[i].valid);
}

static void test_parse(void **state)
{
	static const struct {
		const char *text;
		const char *name, *value; /* NULL name: an error */
		const char *why;          /* substring of the reason */
	} cases[] = {
		{ "a=1", "a", "1", NULL },
		{ "make_flags=-j2", "make_flags", "-j2", NULL },
		{ "empty=", "empty", "", NULL },
		{ "opts=a=b c=d", "opts", "a=b c=d", NULL },
		{ "eq==", "eq", "=", NULL },
		{ "sp= lead and trail ", "sp", " lead and trail ", NULL },
		{ "q='x' \"y\" $z", "q", "'x' \"y\" $z", NULL },
		{ "nl=line1\nline2", "nl", "line1\nline2", NULL },
		{ "noequals", NULL, NULL, "expected NAME=VALUE" },
		{ "", NULL, NULL, "expected NAME=VALUE" },
		{ "=value", NULL, NULL, "lower-case letters, digits and _" },
		{ "Make=1", NULL, NULL, "lower-case letters, digits and _" },
		{ "MAKE_FLAGS=-j2", NULL, NULL, "lower-case letters" },
		{ "a b=1", NULL, NULL, "runvar names are" },
		{ "a =1", NULL, NULL, "runvar names are" },
		{ "1a=1", NULL, NULL, "starting with a letter" },
		{ NAME65 "=1", NULL, NULL, "runvar names are" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *name = NULL, *value = NULL;
		const char *why = NULL;
		int rc = runvar_parse(cases[i].text, &name, &value, &why);

		if (cases[i].name) {
			if (rc != 0)
				fail_msg("runvar_parse(\"%s\") failed: %s",
					 cases[i].text, why);
			assert_string_equal(name, cases[i].name);
			assert_string_equal(value, cases[i].value);
			free(name);
			free(value);
		} else {
			if (rc != -1)
				fail_msg("runvar_parse(\"%s\") should fail",
					 cases[i].text);
			assert_null(name);
			assert_null(value);
			assert_non_null(why);
			if (!strstr(why, cases[i].why))
				fail_msg("runvar_parse(\"%s\"): '%s' lacks "
					 "'%s'", cases[i].text, why, cases[i].why);
		}
	}
}

static void test_env_name(void **state)
{
	static const struct {
		const char *name, *env;
	} cases[] = {
		{ "a", "HANGAR_A" },
		{ "make_flags", "HANGAR_MAKE_FLAGS" },
		{ "x86_64", "HANGAR_X86_64" },
		{ "revision_xen", "HANGAR_REVISION_XEN" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *env = runvar_env_name(cases[i].name);

		assert_string_equal(env, cases[i].env);
		free(env);
	}
}

static void test_reserved(void **state)
{
	static const struct {
		const char *name;
		int reserved;
	} cases[] = {
		{ "arch", 1 },
		{ "flight", 1 },
		{ "job", 1 },
		{ "host", 1 },
		{ "revision_xen", 1 },
		{ "revision_qemu_upstream", 1 },
		{ "built_revision_xen", 1 },
		{ "built_revision_linux", 1 },
		{ "arch2", 0 },
		{ "archs", 0 },
		{ "jobs", 0 },
		{ "hosts", 0 },
		{ "hostname", 0 },
		{ "flights", 0 },
		{ "revision", 0 },
		{ "revisionxen", 0 },
		{ "built_revision", 0 },
		{ "built_xen", 0 },
		{ "my_revision_xen", 0 },
		{ "make_flags", 0 },
		{ "ar", 0 },
		{ "", 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (!runvar_reserved(cases[i].name) != !cases[i].reserved)
			fail_msg("runvar_reserved(\"%s\") should be %d",
				 cases[i].name, cases[i].reserved);
}

static void test_shell_assign_text(void **state)
{
	static const struct {
		const char *name, *value, *want;
	} cases[] = {
		{ "x", "", "HANGAR_X='' " },
		{ "x", "plain", "HANGAR_X='plain' " },
		{ "make_flags", "-j2 V=1", "HANGAR_MAKE_FLAGS='-j2 V=1' " },
		{ "x", "it's", "HANGAR_X='it'\\''s' " },
		{ "x", "''", "HANGAR_X=''\\'''\\''' " },
		{ "x", "$HOME `id` \\", "HANGAR_X='$HOME `id` \\' " },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf b = BUF_INIT;

		buf_addstr(&b, "env ");
		runvar_shell_assign(&b, cases[i].name, cases[i].value);
		assert_memory_equal(b.buf, "env ", 4);
		assert_string_equal(b.buf + 4, cases[i].want);
		buf_release(&b);
	}
}

/*
 * Runs `sh -c 'PREFIX printenv HANGAR_X'` where PREFIX is what
 * runvar_shell_assign produced, and returns what printenv printed without
 * its final newline.
 */
static char *shell_roundtrip(const char *value)
{
	struct buf inner = BUF_INIT, cmd = BUF_INIT, out = BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *p;
	int status;

	runvar_shell_assign(&inner, "x", value);
	buf_addstr(&inner, "printenv HANGAR_X");
	/* the outer popen shell sees sh -c '<inner>', quoted the same way */
	buf_addstr(&cmd, "sh -c '");
	for (const char *c = inner.buf; *c; c++) {
		if (*c == '\'')
			buf_addstr(&cmd, "'\\''");
		else
			buf_addch(&cmd, *c);
	}
	buf_addstr(&cmd, "'");
	p = popen(cmd.buf, "r");
	assert_non_null(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		buf_add(&out, chunk, n);
	status = pclose(p);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("'%s' failed (status %d)", cmd.buf, status);
	assert_true(out.len > 0);
	assert_int_equal(out.buf[out.len - 1], '\n');
	buf_setlen(&out, out.len - 1);
	buf_release(&inner);
	buf_release(&cmd);
	return buf_detach(&out);
}

static void test_shell_assign_roundtrip(void **state)
{
	static const char *const values[] = {
		"",
		"plain",
		"with spaces  and\ttabs",
		" leading and trailing ",
		"it's",
		"'",
		"''",
		"'quoted' and \"double\"",
		"$HOME ${PATH} $(id) `id`",
		"back\\slash \\n \\\\ \\'",
		"line1\nline2\n",
		"\n",
		"semi; rm -rf /nonexistent; echo",
		"glob * ? [a-z] ~",
		"a=b c=d",
		"!history #comment &bg |pipe <in >out",
		"caf\xc3\xa9",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		char *got = shell_roundtrip(values[i]);

		if (strcmp(got, values[i]))
			fail_msg("value %zu: sent '%s', the shell saw '%s'", i,
				 values[i], got);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_env_name),
		cmocka_unit_test(test_reserved),
		cmocka_unit_test(test_shell_assign_text),
		cmocka_unit_test(test_shell_assign_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
