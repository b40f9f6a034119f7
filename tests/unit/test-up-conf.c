/*
 * test-up-conf.c: `hangar up`'s last good configuration (cli/up-conf.c).
 * A configuration with an include in a subdirectory, relative paths in
 * both files and values that need quoting is flattened into another
 * directory; loaded from there it must give the same lab.
 */
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "buf.h"
#include "cli.h"
#include "labconf.h"
#include "tmpfiles.h"
#include "banned.h"


static const char main_conf[] =
	"[lab]\n"
	"\tstate = state\n"
	"\tidentity = keys/id_ed25519   ; a comment\n"
	"\ttftp = /srv/tftp\n"
	"[include]\n"
	"\tpath = sub/hosts.conf\n"
	"[tree \"local\"]\n"
	"\turl = trees/local.git\n"
	"[tree \"scp\"]\n"
	"\turl = git@example.org:scp.git\n"
	"[tree \"https\"]\n"
	"\turl = https://example.org/https.git\n"
	"[branch \"b\"]\n"
	"\ttree = local\n"
	"\tjobs = j\n"
	"[recipe \"r\"]\n"
	"\tstep = run one echo \"a \\\"b\\\" \\\\ c\" ; not a comment\n"
	"\tstep = run two true\n"
	"[job \"j\"]\n"
	"\trecipe = r\n"
	"\tarch = x86_64\n"
	"\trunvar = x=\"#not; a comment\\tTAB\"\n"
	"\trunvar = y=  spaced  \n"
	"[requirements]\n"
	"\ttree = local\n"
	"\tfile = docs/REQUIREMENTS\n"      /* a path in the tree: kept */
	"[evidence]\n"
	"\tkey = keys/evidence_ed25519\n";  /* made absolute */

/* relative paths here are relative to the main file, as labconf says */
static const char hosts_conf[] =
	"[host \"ruby\"]\n"
	"\tarch = x86_64\n"
	"\taddress = 10.0.0.1\n"
	"\tpxe-install = tpl/install.cfg\n";

static void assert_same_lab(const struct lab *a, const struct lab *b)
{
	assert_string_equal(a->state, b->state);
	assert_string_equal(a->identity, b->identity);
	assert_string_equal(a->tftp, b->tftp);
	assert_int_equal(a->nhosts, b->nhosts);
	assert_string_equal(a->hosts[0].pxe_install, b->hosts[0].pxe_install);
	assert_int_equal(a->ntrees, b->ntrees);
	for (size_t i = 0; i < a->ntrees; i++) {
		assert_string_equal(a->trees[i].name, b->trees[i].name);
		assert_string_equal(a->trees[i].url, b->trees[i].url);
	}
	assert_string_equal(a->requirements.file, b->requirements.file);
	assert_string_equal(a->requirements.file, "docs/REQUIREMENTS");
	assert_string_equal(a->evidence.key, b->evidence.key);
	assert_int_equal(a->jobs[0].runvars.n, b->jobs[0].runvars.n);
	for (size_t i = 0; i < a->jobs[0].runvars.n; i++)
		assert_string_equal(a->jobs[0].runvars.v[i],
				    b->jobs[0].runvars.v[i]);
	assert_int_equal(a->recipes[0].nsteps, b->recipes[0].nsteps);
	for (size_t i = 0; i < a->recipes[0].nsteps; i++)
		assert_string_equal(a->recipes[0].steps[i].command,
				    b->recipes[0].steps[i].command);
}

static void test_snapshot_loads_the_same(void **state)
{
	char *conf = path_of("etc/hangar.conf");
	char *snap = path_of("up/hangar.conf");
	struct err err = ERR_INIT;
	struct conf_diag diag;
	struct lab orig, copy;
	struct buf text = BUF_INIT;

	(void)state;
	write_file("etc/hangar.conf", main_conf);
	write_file("etc/sub/hosts.conf", hosts_conf);
	write_file("etc/tpl/install.cfg", "kernel vmlinuz\n");
	conf_diag_init(&diag);
	assert_int_equal(labconf_load(conf, &orig, &diag), 0);

	assert_int_equal(up_conf_snapshot(conf, snap, &err), 0);
	assert_int_equal(labconf_load(snap, &copy, &diag), 0);
	assert_same_lab(&orig, &copy);
	assert_string_equal(orig.trees[1].url, "git@example.org:scp.git");

	assert_int_equal(buf_read_file(&text, snap), 0);
	assert_null(strstr(text.buf, "[include"));
	assert_null(strstr(text.buf, "sub/hosts.conf"));

	buf_release(&text);
	labconf_release(&copy);
	labconf_release(&orig);
	conf_diag_release(&diag);
	free(snap);
	free(conf);
}

static void test_snapshot_of_broken_file_keeps_the_old(void **state)
{
	char *conf = path_of("etc/hangar.conf");
	char *snap = path_of("up/hangar.conf");
	struct err err = ERR_INIT;
	struct buf before = BUF_INIT, after = BUF_INIT;

	(void)state;
	assert_int_equal(buf_read_file(&before, snap), 0);
	write_file("etc/hangar.conf", "[lab\n");
	assert_true(up_conf_snapshot(conf, snap, &err) < 0);
	assert_non_null(strstr(err.msg, "hangar.conf:1"));
	assert_int_equal(buf_read_file(&after, snap), 0);
	assert_string_equal(before.buf, after.buf);
	buf_release(&before);
	buf_release(&after);
	free(snap);
	free(conf);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup_tmp(void **state)
{
	char templ[] = "/tmp/hangar-test-up-conf.XXXXXX";
	static const char *const dirs[] = { "etc", "etc/sub", "etc/tpl", "up" };

	(void)state;
	if (!mkdtemp(templ) || !realpath(templ, tmpdir))
		return -1;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *d = path_of(dirs[i]);
		int rc = mkdir(d, 0755);

		free(d);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int teardown_tmp(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_loads_the_same),
		cmocka_unit_test(test_snapshot_of_broken_file_keeps_the_old),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
