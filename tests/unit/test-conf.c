/*
 * test-conf.c: lib/conf.c's parser reads git-config files as libgit2 does.
 * Each file, fixed or random, is read by both; the entries (names, values,
 * order, includes followed) must be the same, and where libgit2 refuses a
 * file conf_parse must refuse it too. The random files are built from
 * pieces chosen to hit the corners: quotes, escapes, comments, continued
 * values, headers followed by keys, CR LF. The seed is printed.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "xalloc.h"
#include "tmpfiles.h"
#include "banned.h"


/* "name=value\n", a newline in the value shown as <NL>. */
static void add_entry(struct buf *b, const char *name, const char *value)
{
	buf_addf(b, "%s=", name);
	for (const char *v = value; *v; v++)
		if (*v == '\n')
			buf_addstr(b, "<NL>");
		else
			buf_addch(b, *v);
	buf_addch(b, '\n');
}

static int collect_git(const git_config_entry *e, void *payload)
{
	add_entry(payload, e->name, e->value ? e->value : "");
	return 0;
}

/* libgit2's entries as "name=value\n" lines; -1 when it refuses. */
static int read_git(const char *path, struct buf *out)
{
	git_config *cfg = NULL;
	int rc = -1;

	if (git_config_open_ondisk(&cfg, path) == 0 &&
	    git_config_foreach(cfg, collect_git, out) == 0)
		rc = 0;
	git_config_free(cfg);
	return rc;
}

static int read_ours(const char *path, struct buf *out, struct buf *why)
{
	struct conf conf;
	struct conf_diag diag;
	int rc;

	conf_diag_init(&diag);
	rc = conf_parse(path, &conf, &diag);
	for (size_t i = 0; i < conf.n; i++) {
		const struct conf_entry *e = &conf.entries[i];
		char *name = e->sub ? xasprintf("%s.%s.%s", e->section, e->sub,
						e->key)
				    : xasprintf("%s.%s", e->section, e->key);

		add_entry(out, name, e->value);
		free(name);
	}
	for (size_t i = 0; i < diag.msgs.n; i++)
		buf_addf(why, "%s\n", diag.msgs.v[i]);
	conf_diag_release(&diag);
	conf_release(&conf);
	return rc;
}

/* A key before any section: libgit2 keeps it without a section (and
 * hangar ignored it); conf_parse calls it an error. */
static int has_sectionless(const char *entries)
{
	for (const char *l = entries; *l;) {
		const char *eq = strchr(l, '=');

		if (eq && !memchr(l, '.', (size_t)(eq - l)))
			return 1;
		eq = strchr(l, '\n');
		l = eq ? eq + 1 : l + strlen(l);
	}
	return 0;
}

static void compare(const char *name, const char *text)
{
	char *path = path_of(name);
	struct buf theirs = BUF_INIT, ours = BUF_INIT, why = BUF_INIT;
	int rc_git, rc_ours;

	write_file(name, text);
	rc_git = read_git(path, &theirs);
	rc_ours = read_ours(path, &ours, &why);
	if (rc_git == 0 && has_sectionless(theirs.buf)) {
		if (rc_ours == 0)
			fail_msg("a key before any section was accepted:\n%s",
				 text);
	} else if (rc_git != rc_ours) {
		const git_error *e = git_error_last();

		fail_msg("libgit2 %s, conf_parse %s, for:\n---\n%s\n---\n"
			 "libgit2: %s\nours: %s",
			 rc_git ? "refuses" : "accepts",
			 rc_ours ? "refuses" : "accepts", text,
			 rc_git && e ? e->message : theirs.buf, why.buf);
	} else if (rc_git == 0 && strcmp(theirs.buf, ours.buf)) {
		fail_msg("entries differ for:\n---\n%s\n---\nlibgit2:\n%s"
			 "ours:\n%s", text, theirs.buf, ours.buf);
	}
	buf_release(&theirs);
	buf_release(&ours);
	buf_release(&why);
	free(path);
}

static const char *const fixed[] = {
	"",
	"\xef\xbb\xbf[a]\nk = v\n",
	"[a]\nk = v\nk = w\n[a]\nk = x\n",
	"[A]\nKey = Value\n",
	"[a \"Sub Sec\"]\nk = v\n",
	"[a.Sub]\nk = v\n",
	"[a.b \"c\"]\nk = v\n",
	"[a \"x\\\"y\\\\z\\q\"]\nk = v\n",
	"[a] k = v\n",
	"[a] [b] k = v\n",
	"[a]\nflag\nflag2 ; comment\n",
	"[a]\nk =\nk2 = \"\"\n",
	"[a]\nk = \"  spaced  \"   \n",
	"[a]\nk = a   b\t\tc\n",
	"[a]\nk = a ; comment\nk2 = a # comment\nk3 = \"a ; b\" ; c\n",
	"[a]\nk = a\\\"b \\\\ \\n \\t \\b\n",
	"[a]\nk = line one \\\n  line two\n",
	"[a]\nk = \"quoted \\\n  ; not a comment\"\n",
	"[a]\nk = one\\\n\n; comment\ntwo\n",
	"[a]\nk = end\\",
	"[a]\nk = \"unclosed\n",
	"[a]\r\nk = v\r\n",
	"[a]\nk = v",
	"[a]\n1k = v\n-k = w\n",
	"[a-b]\nk = v\n",
	"[a]\nk = \\x\n",
	"[a]\nk v\n",
	"[a]\n= v\n",
	"[a]\n_k = v\n",
	"[]\n",
	"[a\n",
	"[a \"x]\n",
	"[a \"x\" ]\n",
	"[a x]\n",
	"[a_b]\n",
	"[a] # c\n\tk = v\n",
	"  \t\n; only\n# comments\n",
	"k = v\n",
	"[a]\nk = a\\;b\n",
	"[a]\nk = \"a\\\" ; b\"\n",
	"[a]\n\v\n", "[a]\n\f\n", "[a]\n \v\n", "[a]\n\r\n", "[a]\n\vk = v\n",
	"[a] \v\n",
};

static void test_fixed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++)
		compare("fixed.conf", fixed[i]);
}

static const char *const heads[] = {
	"[a]", "[A]", "[a \"x\"]", "[a \"X y\"]", "[a.b]", "[a.B]",
	"[a \"x\\\"y\"]", "[a\"x\"]", "[]", "[a", "[a \"x]", "[a-b]",
	"[a_b]", "[ a]", "[a] ", "[b \"\"]", "[a \"x\\\\\"]",
};
static const char *const keys[] = {
	"k", "K2", "k-x", "1k", "-k", "_k", "kéy", "k.x",
};
static const char *const seps[] = {
	" = ", "=", " =", "= ", "", " ", "\t=\t", " == ",
};
static const char *const vals[] = {
	"v", "v w", "\"q w\"", "\" lead\"", "a\\\"b", "a\\\\b", "a\\nb",
	"a\\tb", "a\\xb", "a ; c", "a # c", "\"a ; b\"", "a\\", "\"unclosed",
	"a \\", "\"a\\", "", "\"\"", "a\"b\"c", "\\", "a\\\\", "\"a\\\"\" ; x",
	"tab\there", "a;b", "\"#\"",
};
static const char *const leads[] = { " ", "\t", "  \t", "\v", "\f" };
static const char *const tails[] = { "", " ", "\t", " # c", " ; c", "\r" };
static const char *const eols[] = { "\n", "\n", "\n", "\r\n" };

#define PICK(a) (a)[(size_t)rand() % (sizeof(a) / sizeof(*(a)))]

static void random_line(struct buf *b)
{
	int kind = rand() % 10;

	if (rand() % 4 == 0)
		buf_addstr(b, PICK(leads));
	if (kind == 0) {
		buf_addstr(b, PICK(heads));
		if (rand() % 3 == 0) {
			buf_addstr(b, " ");
			buf_addstr(b, PICK(keys));
			buf_addstr(b, " = ");
			buf_addstr(b, PICK(vals));
		}
	} else if (kind == 1) {
		buf_addstr(b, rand() % 2 ? "# comment" : "");
	} else {
		buf_addstr(b, PICK(keys));
		buf_addstr(b, PICK(seps));
		if (rand() % 5)
			buf_addstr(b, PICK(vals));
		if (rand() % 3 == 0)
			buf_addstr(b, PICK(vals));
	}
	buf_addstr(b, PICK(tails));
}

static void test_random(void **state)
{
	const char *env = getenv("TEST_CONF_SEED");
	unsigned seed = env ? (unsigned)strtoul(env, NULL, 10)
			    : (unsigned)time(NULL);
	int files = 4000;

	(void)state;
	printf("# TEST_CONF_SEED=%u\n", seed);
	srand(seed);
	for (int i = 0; i < files; i++) {
		struct buf b = BUF_INIT;
		int lines = 1 + rand() % 8;

		if (rand() % 10)
			buf_addstr(&b, "[s]\n");
		for (int l = 0; l < lines; l++) {
			random_line(&b);
			if (l < lines - 1 || rand() % 4)
				buf_addstr(&b, PICK(eols));
		}
		compare("random.conf", b.buf);
		buf_release(&b);
	}
}

static void test_includes(void **state)
{
	(void)state;
	assert_int_equal(system("mkdir -p \"$TEST_CONF_DIR\"/sub"), 0);
	write_file("sub/inc.conf",
		   "k = before-a-section\n[b]\n\tk = inc\n[include]\n"
		   "\tpath = deeper.conf\n");
	write_file("sub/deeper.conf", "[c \"d\"]\n\tk = deep\n");
	/* relative to the including file; a missing one is skipped; the
	 * including file's section goes on after the include */
	compare("main.conf",
		"[a]\n\tk = 1\n[include]\n\tpath = sub/missing.conf\n"
		"\tpath = sub/inc2.conf\n[a]\n\tk = 2\n");
	write_file("sub/inc2.conf", "[b]\n\tk = inc2\n");
	compare("main.conf",
		"[a]\n\tk = 1\n[Include]\n\tPath = sub/inc2.conf\n\tk = 3\n"
		"[a]\n\tk = 2\n");
	compare("main.conf", "[include]\n\tpath = sub/inc.conf\n");
	/* an include of itself is a loop: both refuse it */
	compare("loop.conf", "[a]\n\tk = 1\n[include]\n\tpath = loop.conf\n");
	/* a syntax error in an included file fails the whole */
	write_file("sub/bad.conf", "[b\n");
	compare("main.conf", "[include]\n\tpath = sub/bad.conf\n");
}

static void test_lines(void **state)
{
	char *path;
	struct conf conf;
	struct conf_diag diag;

	(void)state;
	write_file("lines.conf",
		   "# top\n[a]\n\tk = one \\\n\t  two\n\n[b \"x\"] j = 1\n"
		   "\tl\n");
	path = path_of("lines.conf");
	conf_diag_init(&diag);
	assert_int_equal(conf_parse(path, &conf, &diag), 0);
	assert_int_equal(conf.n, 3);
	assert_string_equal(conf.entries[0].value, "one \t  two");
	assert_int_equal(conf.entries[0].line, 3);
	assert_int_equal(conf.entries[1].line, 6);
	assert_string_equal(conf.entries[1].sub, "x");
	assert_int_equal(conf.entries[2].line, 7);
	assert_int_equal(conf.nsections, 2);
	assert_int_equal(conf.sections[1].line, 6);
	conf_release(&conf);
	conf_diag_release(&diag);

	write_file("lines.conf", "[a]\n\tk = 1\n\n\tk = \"\\q\"\n");
	conf_diag_init(&diag);
	assert_int_equal(conf_parse(path, &conf, &diag), -1);
	assert_int_equal(diag.msgs.n, 1);
	assert_non_null(strstr(diag.msgs.v[0], "lines.conf:4: syntax error"));
	conf_release(&conf);
	conf_diag_release(&diag);
	free(path);
}

static void test_bool(void **state)
{
	static const struct { const char *v; int rc, b; } cases[] = {
		{ "true", 0, 1 }, { "Yes", 0, 1 }, { "ON", 0, 1 },
		{ "false", 0, 0 }, { "no", 0, 0 }, { "off", 0, 0 },
		{ "", 0, 0 }, { "1", 0, 1 }, { "0", 0, 0 }, { "-3", 0, 1 },
		{ "0x10", 0, 1 }, { "1k", 0, 1 }, { "0k", 0, 0 },
		{ "maybe", -1, 0 }, { "1x", -1, 0 }, { "9999999999", -1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int ours = -1, theirs = -1;
		int rc = conf_parse_bool(cases[i].v, &ours);

		assert_int_equal(rc, cases[i].rc);
		assert_int_equal(git_config_parse_bool(&theirs, cases[i].v),
				 rc);
		if (rc == 0) {
			assert_int_equal(ours, cases[i].b);
			assert_int_equal(theirs, ours);
		}
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/hangar-test-conf.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	setenv("TEST_CONF_DIR", tmpdir, 1);
	git_libgit2_init();
	return 0;
}

static int teardown(void **state)
{
	char *cmd;

	(void)state;
	git_libgit2_shutdown();
	if (asprintf(&cmd, "rm -rf '%s'", tmpdir) < 0)
		return -1;
	if (system(cmd) != 0)
		return -1;
	free(cmd);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_includes),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
