/*
 * test-gitx.c: lib/gitx.h against real repositories made with the git
 * command in a temporary directory: a bare origin.git with master at A,
 * staging at C (child of B, child of A), side at D (child of A) and
 * merged at M (C and D merged). Fast-forward pushes and their refusals,
 * the revision log (compared with git log's own output), ancestry, and a
 * branch's fresh value.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "gitx.h"
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct repos {
	char dir[64];
	char origin[128];   /* the bare "remote" */
	char cache[128];    /* gitx's cache of it */
	char a[41], b[41], c[41], d[41], m[41];
};

/* Runs a shell command made from fmt; its stdout into out if not NULL. */
static void sh(struct buf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sh(struct buf *out, const char *fmt, ...)
{
	struct buf cmd = BUF_INIT;
	char chunk[4096];
	va_list ap;
	size_t n;
	FILE *p;
	int status;

	va_start(ap, fmt);
	buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	p = popen(cmd.buf, "r");
	assert_non_null(p);
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		if (out)
			buf_add(out, chunk, n);
	status = pclose(p);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("'%s' failed (status %d)", cmd.buf, status);
	buf_release(&cmd);
}

/* The full id that rev names in git_dir, by git itself. */
static void rev_parse(const char *git_dir, const char *rev, char sha[41])
{
	struct buf out = BUF_INIT;

	sh(&out, "git --git-dir %s rev-parse --verify -q '%s'", git_dir, rev);
	buf_rtrim(&out);
	assert_int_equal(out.len, 40);
	memcpy(sha, out.buf, 41);
	buf_release(&out);
}

/* Commits in work/ with a fixed date (git's "@seconds zone" form). */
static void commit(struct repos *r, const char *msg, const char *date,
		   char sha[41])
{
	char work[128];

	snprintf(work, sizeof(work), "%s/work/.git", r->dir);
	sh(NULL, "cd %s/work && GIT_AUTHOR_DATE='%s' GIT_COMMITTER_DATE='%s' "
	   "git commit -q --allow-empty --cleanup=verbatim -F - <<'EOF'\n%s\nEOF", r->dir, date,
	   date, msg);
	rev_parse(work, "HEAD", sha);
}

static int setup(void **state)
{
	struct repos *r = calloc(1, sizeof(*r));
	char work[128];

	assert_non_null(r);
	snprintf(r->dir, sizeof(r->dir), "/tmp/test-gitx.XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(work, sizeof(work), "%s/work/.git", r->dir);
	snprintf(r->origin, sizeof(r->origin), "%s/origin.git", r->dir);
	snprintf(r->cache, sizeof(r->cache), "%s/cache/origin.git", r->dir);
	sh(NULL, "git init -q -b master %s/work", r->dir);
	commit(r, "A: the start", "@1704276000 +0000", r->a);
	sh(NULL, "cd %s/work && git checkout -q -b staging", r->dir);
	commit(r, "B: one", "@1704279600 +0100", r->b);
	commit(r, "C: two\n\nThe body,\tafter a tab.   \n\n\n  indented\n",
	       "@1704283200 -0530", r->c);
	sh(NULL, "cd %s/work && git checkout -q -b side master", r->dir);
	commit(r, "D: on the side", "@1704286800 +0000", r->d);
	sh(NULL, "cd %s/work && git checkout -q -b merged staging && "
	   "GIT_AUTHOR_DATE='@1704290400 +0000' "
	   "GIT_COMMITTER_DATE='@1704290400 +0000' "
	   "git merge -q --no-ff -m 'M: merge side' side", r->dir);
	rev_parse(work, "HEAD", r->m);
	sh(NULL, "git clone -q --bare %s/work %s && "
	   "git --git-dir %s update-ref refs/heads/master %s", r->dir,
	   r->origin, r->origin, r->a);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct repos *r = *state;

	sh(NULL, "rm -rf %s", r->dir);
	free(r);
	return 0;
}

static void assert_branch(struct repos *r, const char *branch,
			  const char *want)
{
	char ref[64], sha[41];

	snprintf(ref, sizeof(ref), "refs/heads/%s", branch);
	rev_parse(r->origin, ref, sha);
	assert_string_equal(sha, want);
}

static void test_push_ff(void **state)
{
	struct repos *r = *state;
	struct buf out = BUF_INIT, want = BUF_INIT, tmprefs = BUF_INIT;
	struct err err = ERR_INIT;
	char sha[41];

	assert_int_equal(gitx_push_ff(r->cache, r->origin, "master", r->a, r->c,
				      NULL, &out, &err), 0);
	assert_branch(r, "master", r->c);
	buf_addf(&want, "To %s\n   %.7s..%.7s  %s -> master\n", r->origin,
		 r->a, r->c, r->c);
	assert_string_equal(out.buf, want.buf);
	/* the cache saw it, and has no temporary ref left */
	rev_parse(r->cache, "refs/heads/master", sha);
	assert_string_equal(sha, r->c);
	sh(&tmprefs, "git --git-dir %s for-each-ref refs/hangar", r->cache);
	assert_string_equal(tmprefs.buf, "");
	/* a full ref name, no expect_old */
	buf_reset(&out);
	assert_int_equal(gitx_push_ff(r->cache, r->origin, "refs/heads/side",
				      NULL, r->m, NULL, &out, &err), 0);
	assert_branch(r, "side", r->m);
	assert_non_null(strstr(out.buf, " -> side\n"));
	buf_release(&out);
	buf_release(&want);
	buf_release(&tmprefs);
}

static void test_push_not_ff(void **state)
{
	struct repos *r = *state;
	struct buf out = BUF_INIT;
	struct err err = ERR_INIT;

	/* D is a child of A but not of C */
	assert_int_equal(gitx_push_ff(r->cache, r->origin, "staging", r->c,
				      r->d, NULL, &out, &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "not a fast-forward"));
	assert_branch(r, "staging", r->c);
	/* nor is going back */
	assert_int_equal(gitx_push_ff(r->cache, r->origin, "staging", NULL,
				      r->b, NULL, &out, &err), ERR_FAIL);
	assert_branch(r, "staging", r->c);
	assert_string_equal(out.buf, "");
	buf_release(&out);
}

static void test_push_moved(void **state)
{
	struct repos *r = *state;
	struct buf out = BUF_INIT, want = BUF_INIT;
	struct err err = ERR_INIT;

	assert_int_equal(gitx_push_ff(r->cache, r->origin, "master", r->b, r->c,
				      NULL, &out, &err), ERR_EXISTS);
	buf_addf(&want, "refs/heads/master moved: now %s, expected %s", r->a,
		 r->b);
	assert_non_null(strstr(err.msg, want.buf));
	assert_branch(r, "master", r->a);
	assert_string_equal(out.buf, "");
	buf_release(&out);
	buf_release(&want);
}

static void test_push_up_to_date(void **state)
{
	struct repos *r = *state;
	struct buf out = BUF_INIT;
	struct err err = ERR_INIT;

	assert_int_equal(gitx_push_ff(r->cache, r->origin, "master", r->a, r->c,
				      NULL, &out, &err), 0);
	buf_reset(&out);
	assert_int_equal(gitx_push_ff(r->cache, r->origin, "master", r->c, r->c,
				      NULL, &out, &err), 0);
	assert_string_equal(out.buf, "already up to date\n");
	assert_branch(r, "master", r->c);
	buf_release(&out);
}

static void test_push_errors(void **state)
{
	static const struct {
		const char *ref;
		int code;
	} cases[] = {
		{ "nosuch", ERR_NOTFOUND },     /* a push creates no branch */
		{ "refs/tags/v1", ERR_USAGE },
		{ "bad..name", ERR_USAGE },
		{ "", ERR_USAGE },
	};
	struct repos *r = *state;
	struct buf out = BUF_INIT;
	struct err err = ERR_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (gitx_push_ff(r->cache, r->origin, cases[i].ref, NULL, r->c,
				 NULL, &out, &err) != cases[i].code)
			fail_msg("push to '%s': want %d, got '%s'",
				 cases[i].ref, cases[i].code, err.msg);
	assert_int_equal(gitx_push_ff(r->cache, r->origin, "master", NULL, "C",
				      NULL, &out, &err), ERR_USAGE);
	assert_int_equal(gitx_push_ff(r->cache, r->origin, "master", NULL,
				      "0123456789012345678901234567890123456789",
				      NULL, &out, &err), ERR_NOTFOUND);
	assert_branch(r, "master", r->a);
	assert_string_equal(out.buf, "");
	buf_release(&out);
}

/* A refusal by the remote's side (a locked ref) comes back as ERR_FAIL. */
static void test_push_rejected(void **state)
{
	struct repos *r = *state;
	struct buf out = BUF_INIT;
	struct err err = ERR_INIT;

	sh(NULL, "touch %s/refs/heads/master.lock", r->origin);
	assert_int_equal(gitx_push_ff(r->cache, r->origin, "master", r->a, r->c,
				      NULL, &out, &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "rejected: "));
	assert_non_null(strstr(err.msg, "lock"));
	sh(NULL, "rm %s/refs/heads/master.lock", r->origin);
	assert_branch(r, "master", r->a);
	assert_string_equal(out.buf, "");
	buf_release(&out);
}

/* What `git log` prints for range in origin.git. */
static void git_log(struct repos *r, const char *range, struct buf *out)
{
	sh(out, "git --git-dir %s --no-pager log --no-color --topo-order %s",
	   r->origin, range);
}

static void test_log(void **state)
{
	struct repos *r = *state;
	struct buf out = BUF_INIT, want = BUF_INIT, git = BUF_INIT;
	struct err err = ERR_INIT;
	int truncated = -1;

	assert_int_equal(gitx_log(r->cache, r->origin, r->a, r->c, 0, &out,
				  &truncated, &err), 0);
	assert_int_equal(truncated, 0);
	buf_addf(&want,
		 "commit %s\n"
		 "Author: T Author <author@example.org>\n"
		 "Date:   Wed Jan 3 06:30:00 2024 -0530\n"
		 "\n"
		 "    C: two\n"
		 "    \n"
		 "    The body,       after a tab.\n"
		 "    \n"
		 "    \n"
		 "      indented\n"
		 "\n"
		 "commit %s\n"
		 "Author: T Author <author@example.org>\n"
		 "Date:   Wed Jan 3 12:00:00 2024 +0100\n"
		 "\n"
		 "    B: one\n", r->c, r->b);
	assert_string_equal(out.buf, want.buf);
	git_log(r, "master..staging", &git);
	assert_string_equal(out.buf, git.buf);
	buf_release(&out);
	buf_release(&want);
	buf_release(&git);
}

/* url NULL: the log from what the cache has, never fetching or making it */
static void test_log_cache_only(void **state)
{
	struct repos *r = *state;
	struct buf out = BUF_INIT, fetched = BUF_INIT;
	struct err err = ERR_INIT;
	char cmd[256];
	int truncated = -1;

	/* no cache yet: not found, and none made */
	assert_int_equal(gitx_log(r->cache, NULL, r->a, r->c, 0, &out,
				  &truncated, &err), ERR_NOTFOUND);
	snprintf(cmd, sizeof(cmd), "test ! -e %s", r->cache);
	assert_int_equal(system(cmd), 0);
	/* a cache that has A only (master): C is not fetched */
	err_clear(&err);
	sh(NULL, "git init -q --bare %s && git --git-dir %s fetch -q %s master",
	   r->cache, r->cache, r->origin);
	assert_int_equal(gitx_log(r->cache, NULL, r->a, r->c, 0, &out,
				  &truncated, &err), ERR_NOTFOUND);
	assert_int_equal(out.len, 0);
	/* once fetched, the same log as from the origin */
	err_clear(&err);
	assert_int_equal(gitx_log(r->cache, r->origin, r->a, r->c, 0,
				  &fetched, &truncated, &err), 0);
	assert_int_equal(gitx_log(r->cache, NULL, r->a, r->c, 0, &out,
				  &truncated, &err), 0);
	assert_true(out.len > 0);
	assert_string_equal(out.buf, fetched.buf);
	buf_release(&out);
	buf_release(&fetched);
}

static void test_log_truncated(void **state)
{
	struct repos *r = *state;
	struct buf out = BUF_INIT;
	struct err err = ERR_INIT;
	int truncated = -1;
	size_t lines = 0;

	assert_int_equal(gitx_log(r->cache, r->origin, r->a, r->c, 0, &out,
				  &truncated, &err), 0);
	for (size_t i = 0; i < out.len; i++)
		lines += out.buf[i] == '\n';
	assert_int_equal(lines, 16);
	/* exactly at the limit: all of it */
	buf_reset(&out);
	assert_int_equal(gitx_log(r->cache, r->origin, r->a, r->c, 16, &out,
				  &truncated, &err), 0);
	assert_int_equal(truncated, 0);
	assert_int_equal(out.len > 0, 1);
	/* one line over: nothing, and what out held stays */
	buf_reset(&out);
	buf_addstr(&out, "before\n");
	assert_int_equal(gitx_log(r->cache, r->origin, r->a, r->c, 15, &out,
				  &truncated, &err), 0);
	assert_int_equal(truncated, 1);
	assert_string_equal(out.buf, "before\n");
	/* over out's cap likewise */
	buf_release(&out);
	buf_init(&out, 100);
	assert_int_equal(gitx_log(r->cache, r->origin, r->a, r->c, 0, &out,
				  &truncated, &err), 0);
	assert_int_equal(truncated, 1);
	assert_string_equal(out.buf, "");
	buf_release(&out);
}

static void test_log_merge(void **state)
{
	struct repos *r = *state;
	struct buf out = BUF_INIT, merge = BUF_INIT, git = BUF_INIT;
	struct err err = ERR_INIT;
	int truncated;

	assert_int_equal(gitx_log(r->cache, r->origin, r->c, r->m, 0, &out,
				  &truncated, &err), 0);
	buf_addf(&merge, "commit %s\nMerge: %.7s %.7s\nAuthor: ", r->m, r->c,
		 r->d);
	assert_memory_equal(out.buf, merge.buf, merge.len);
	git_log(r, "staging..merged", &git);
	assert_string_equal(out.buf, git.buf);
	/* nothing between a commit and itself */
	buf_reset(&out);
	assert_int_equal(gitx_log(r->cache, r->origin, r->m, r->m, 0, &out,
				  &truncated, &err), 0);
	assert_string_equal(out.buf, "");
	assert_int_equal(truncated, 0);
	buf_release(&out);
	buf_release(&merge);
	buf_release(&git);
}

/* From A to M: M, C and D (by time), B, and A last; parents by index. */
static void test_history(void **state)
{
	struct repos *r = *state;
	struct err err = ERR_INIT;
	struct gitx_commit *c;
	size_t n, ix[5];
	const char *shas[5] = { r->m, r->c, r->d, r->b, r->a };

	assert_int_equal(gitx_history(r->cache, r->origin, r->a, r->m, 100, &c, &n,
				      &err), 0);
	assert_int_equal(n, 5);
	for (size_t k = 0; k < 5; k++) {
		ix[k] = n;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(c[i].sha, shas[k]))
				ix[k] = i;
		assert_true(ix[k] < n);
	}
	assert_int_equal(ix[0], 0);
	assert_int_equal(ix[4], 4);
	assert_int_equal(c[0].nparents, 2);
	assert_true((c[0].parents[0] == ix[1] && c[0].parents[1] == ix[2]) ||
		    (c[0].parents[0] == ix[2] && c[0].parents[1] == ix[1]));
	assert_int_equal(c[ix[1]].nparents, 1);
	assert_int_equal(c[ix[1]].parents[0], ix[3]);
	assert_int_equal(c[ix[3]].parents[0], 4);
	assert_int_equal(c[ix[2]].parents[0], 4);
	assert_int_equal(c[4].nparents, 0);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < c[i].nparents; k++)
			assert_true(c[i].parents[k] > i);
	assert_non_null(c[0].subject);
	gitx_history_free(c, n);
	/* a bound, and a basis and failure that are the same */
	assert_int_equal(gitx_history(r->cache, r->origin, r->a, r->m, 3, &c, &n,
				      &err), ERR_USAGE);
	assert_int_equal(gitx_history(r->cache, r->origin, r->c, r->c, 10, &c, &n,
				      &err), 0);
	assert_int_equal(n, 1);
	gitx_history_free(c, n);
}

static void test_is_ancestor(void **state)
{
	struct repos *r = *state;
	const struct {
		const char *ancestor, *descendant;
		int yes;
	} cases[] = {
		{ r->a, r->c, 1 },
		{ r->b, r->c, 1 },
		{ r->c, r->a, 0 },
		{ r->a, r->a, 1 },
		{ r->b, r->d, 0 },
		{ r->d, r->b, 0 },
		{ r->d, r->m, 1 },
		{ r->c, r->m, 1 },
		{ r->m, r->d, 0 },
		{ "master", "staging", 1 },
	};
	struct err err = ERR_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int yes = -1;

		if (gitx_is_ancestor(r->cache, r->origin, cases[i].ancestor,
				     cases[i].descendant, &yes, &err) < 0)
			fail_msg("case %zu: %s", i, err.msg);
		if (yes != cases[i].yes)
			fail_msg("case %zu: %.7s ancestor of %.7s: want %d, got %d",
				 i, cases[i].ancestor, cases[i].descendant,
				 cases[i].yes, yes);
	}
	assert_int_equal(gitx_is_ancestor(r->cache, r->origin,
					  "0123456789012345678901234567890123456789",
					  r->a, &(int){ 0 }, &err), ERR_NOTFOUND);
}

static void test_ref(void **state)
{
	struct repos *r = *state;
	struct err err = ERR_INIT;
	char sha[41];

	assert_int_equal(gitx_ref(r->cache, r->origin, "staging", sha, &err), 0);
	assert_string_equal(sha, r->c);
	assert_int_equal(gitx_ref(r->cache, r->origin, "refs/heads/master", sha,
				  &err), 0);
	assert_string_equal(sha, r->a);
	/* fresh: moved behind the cache's back */
	sh(NULL, "git --git-dir %s update-ref refs/heads/master %s", r->origin,
	   r->b);
	assert_int_equal(gitx_ref(r->cache, r->origin, "master", sha, &err), 0);
	assert_string_equal(sha, r->b);
	/* the branch, not a tag of the same name (which gitx_resolve takes) */
	sh(NULL, "git --git-dir %s tag staging %s", r->origin, r->a);
	assert_int_equal(gitx_ref(r->cache, r->origin, "staging", sha, &err), 0);
	assert_string_equal(sha, r->c);
	assert_int_equal(gitx_resolve(r->cache, r->origin, "staging", sha, &err),
			 0);
	assert_string_equal(sha, r->a);
	assert_int_equal(gitx_ref(r->cache, r->origin, "nosuch", sha, &err),
			 ERR_NOTFOUND);
	assert_int_equal(gitx_ref(r->cache, r->origin, "refs/tags/staging", sha,
				  &err), ERR_USAGE);
}

/* Peak resident set of this process, in KiB. */
static long peak_kib(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

/*
 * gitx_read_file: a file at a commit, bounded by the buffer's cap. The
 * requirements file comes from a tree anyone may commit to: 128 MiB of
 * zeros is a commit of a few hundred KiB, and the cap must refuse it
 * before the blob is inflated, not after (a gate holding it all in
 * memory, or killed for it between a push and its record).
 */
static void test_read_file(void **state)
{
	struct repos *r = *state;
	struct err err = ERR_INIT;
	struct buf text = BUF_INIT;
	char sha[41], work[128];
	long before;

	snprintf(work, sizeof(work), "%s/work/.git", r->dir);
	sh(NULL, "cd %s/work && printf 'requirement A one\\n' >REQS && "
	   "head -c 134217728 /dev/zero >BIG && git add REQS BIG && "
	   "git commit -q -m big && git init -q --bare %s && "
	   "git push -q %s HEAD:refs/heads/big", r->dir, r->cache, r->cache);
	rev_parse(work, "HEAD", sha);
	buf_init(&text, 1 << 20);
	assert_int_equal(gitx_read_file(r->cache, r->origin, sha, "REQS", &text,
					&err), 0);
	assert_string_equal(text.buf, "requirement A one\n");
	buf_reset(&text);
	assert_int_equal(gitx_read_file(r->cache, r->origin, sha, "NONE", &text,
					&err), ERR_NOTFOUND);
	before = peak_kib();
	assert_int_equal(gitx_read_file(r->cache, r->origin, sha, "BIG", &text,
					&err), ERR_USAGE);
	assert_non_null(strstr(err.msg, "over 1048576 bytes"));
	assert_int_equal(text.len, 0);
	if (peak_kib() - before > 32 * 1024)
		fail_msg("reading a 128 MiB file over a 1 MiB cap took %ld KiB",
			 peak_kib() - before);
	buf_release(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_push_ff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_not_ff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_up_to_date, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_push_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_rejected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_cache_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_log_truncated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_log_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_is_ancestor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_file, setup, teardown),
	};

	/* git's behaviour must not depend on who runs the test */
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "T Author", 1);
	setenv("GIT_AUTHOR_EMAIL", "author@example.org", 1);
	setenv("GIT_COMMITTER_NAME", "T Committer", 1);
	setenv("GIT_COMMITTER_EMAIL", "committer@example.org", 1);
	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
