/*
 * test-labconf.c: the lab configuration reader (lib/labconf.h on top of
 * lib/conf.h). Writes configuration files to a temporary directory and
 * checks that a full valid one gives the right struct lab (values,
 * defaults, paths made absolute, includes, repeated steps' testids), and
 * that each kind of mistake gives its message at the right file:line.
 *
 * In the tables of invalid files, the line an error must point at is
 * marked with a "#<" comment (git-config comments are ignored by the
 * reader), unless the case gives the line itself.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "conf.h"
#include "labconf.h"
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char tmpdir[PATH_MAX];

/* ---- helpers ---- */

static char *path_of(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", tmpdir, name) < 0)
		fail_msg("out of memory");
	return p;
}

static char *write_conf(const char *name, const char *text)
	__attribute__((warn_unused_result));

static char *write_conf(const char *name, const char *text)
{
	char *path = path_of(name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* Line of text holding the "#<" marker, or 0. */
static int marked_line(const char *text)
{
	const char *m = text ? strstr(text, "#<") : NULL;
	int line = 1;

	if (!m)
		return 0;
	for (const char *p = text; p < m; p++)
		if (*p == '\n')
			line++;
	return line;
}

/* s with every "{file}" replaced by file; caller frees. */
static char *expand(const char *s, const char *file)
{
	size_t n = 0;
	char *out, *o;

	for (const char *p = s; *p; p++)
		n += strncmp(p, "{file}", 6) ? 1 : strlen(file);
	out = o = malloc(n + 1);
	assert_non_null(out);
	while (*s) {
		if (!strncmp(s, "{file}", 6)) {
			memcpy(o, file, strlen(file));
			o += strlen(file);
			s += 6;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

static void print_msgs(const struct conf_diag *diag)
{
	if (!diag->msgs.n)
		print_error("    (no messages)\n");
	for (size_t i = 0; i < diag->msgs.n; i++)
		print_error("    %s\n", diag->msgs.v[i]);
}

/* Whether diag has a message "FILE:LINE: ...MSG..." ("FILE: ..." for 0). */
static int has_msg(const struct conf_diag *diag, const char *file, int line,
		   const char *msg)
{
	char prefix[PATH_MAX + 32];
	size_t plen;

	if (line > 0)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", file, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", file);
	plen = strlen(prefix);
	for (size_t i = 0; i < diag->msgs.n; i++)
		if (!strncmp(diag->msgs.v[i], prefix, plen) &&
		    strstr(diag->msgs.v[i] + plen, msg))
			return 1;
	return 0;
}

static int lab_is_empty(const struct lab *lab)
{
	return !lab->path && !lab->state && !lab->listen && !lab->hosts &&
	       !lab->nhosts && !lab->trees && !lab->jobs && !lab->recipes &&
	       !lab->branches;
}

/* Loads path, which must be valid; prints the messages if not. */
static void load_ok(const char *path, struct lab *lab)
{
	struct conf_diag diag;
	int rc;

	conf_diag_init(&diag);
	rc = labconf_load(path, lab, &diag);
	if (rc != 0 || diag.msgs.n) {
		print_msgs(&diag);
		conf_diag_release(&diag);
		fail_msg("%s: labconf_load returned %d", path, rc);
	}
	conf_diag_release(&diag);
}

struct bad_case {
	const char *what;
	const char *text;      /* bad.conf */
	const char *inc;       /* inc.conf, or NULL */
	int in_inc;            /* the error is in inc.conf */
	int line;              /* 0: the "#<" line; -1: no line */
	const char *msg;       /* substring; "{file}" is the file's path */
};

/*
 * Loads path, which must fail with msg at file:line (no line if line is
 * -1); returns 0, else prints why and returns -1. No cmocka assertions, so
 * that it can run in a child process.
 */
static int load_bad(const char *what, const char *path, const char *file,
		    int line, const char *msg)
{
	struct conf_diag diag;
	struct lab lab;
	int rc, ok = 1;

	conf_diag_init(&diag);
	memset(&lab, 0xa5, sizeof(lab));
	rc = labconf_load(path, &lab, &diag);
	if (rc != -1) {
		print_error("case '%s': labconf_load returned %d\n", what, rc);
		ok = 0;
		if (rc == 0)
			labconf_release(&lab);
	} else if (!lab_is_empty(&lab)) {
		print_error("case '%s': lab not released after -1\n", what);
		ok = 0;
	}
	if (ok && !has_msg(&diag, file, line > 0 ? line : 0, msg)) {
		print_error("case '%s': no message \"%s:%d: ...%s...\"; got:\n",
			    what, file, line > 0 ? line : 0, msg);
		print_msgs(&diag);
		ok = 0;
	}
	conf_diag_release(&diag);
	return ok ? 0 : -1;
}

/*
 * Writes and loads one invalid case (in a child process if isolated, so
 * that a crash fails the case and not the whole program); returns 0 when
 * labconf_load failed with the expected message, else -1.
 */
static int check_bad_in(const struct bad_case *c, int isolated)
{
	char *main_path = write_conf("bad.conf", c->text);
	char *inc_path = c->inc ? write_conf("inc.conf", c->inc) : NULL;
	const char *file = c->in_inc ? inc_path : main_path;
	const char *marked = c->in_inc ? c->inc : c->text;
	int line = c->line ? c->line : marked_line(marked);
	char *msg = expand(c->msg, main_path);
	int rc;

	if (line == 0)
		fail_msg("case '%s' has no #< marker", c->what);
	if (isolated) {
		pid_t pid;
		int status;

		fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			/* crash for real rather than into cmocka's handler */
			signal(SIGSEGV, SIG_DFL);
			signal(SIGBUS, SIG_DFL);
			signal(SIGFPE, SIG_DFL);
			signal(SIGILL, SIG_DFL);
			signal(SIGABRT, SIG_DFL);
			rc = load_bad(c->what, main_path, file, line, msg);
			fflush(NULL);
			_exit(rc < 0 ? 1 : 0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
		if (WIFSIGNALED(status))
			print_error("case '%s': labconf_load crashed "
				    "(signal %d)\n", c->what, WTERMSIG(status));
	} else {
		rc = load_bad(c->what, main_path, file, line, msg);
	}
	free(msg);
	unlink(main_path);
	free(main_path);
	if (inc_path)
		unlink(inc_path);
	free(inc_path);
	return rc;
}

static int check_bad(const struct bad_case *c)
{
	return check_bad_in(c, 0);
}

static void check_bad_table(const struct bad_case *cases, size_t n)
{
	size_t failed = 0;

	for (size_t i = 0; i < n; i++)
		if (check_bad(&cases[i]) < 0)
			failed++;
	if (failed)
		fail_msg("%zu of %zu cases failed", failed, n);
}

static const struct lab_host *find_host(const struct lab *lab, const char *n)
{
	for (size_t i = 0; i < lab->nhosts; i++)
		if (!strcmp(lab->hosts[i].name, n))
			return &lab->hosts[i];
	fail_msg("no host '%s'", n);
	return NULL;
}

static const struct lab_tree *find_tree(const struct lab *lab, const char *n)
{
	for (size_t i = 0; i < lab->ntrees; i++)
		if (!strcmp(lab->trees[i].name, n))
			return &lab->trees[i];
	fail_msg("no tree '%s'", n);
	return NULL;
}

static const struct lab_branch *find_branch(const struct lab *lab,
					    const char *n)
{
	for (size_t i = 0; i < lab->nbranches; i++)
		if (!strcmp(lab->branches[i].name, n))
			return &lab->branches[i];
	fail_msg("no branch '%s'", n);
	return NULL;
}

static const struct lab_job *find_job(const struct lab *lab, const char *n)
{
	for (size_t i = 0; i < lab->njobs; i++)
		if (!strcmp(lab->jobs[i].name, n))
			return &lab->jobs[i];
	fail_msg("no job '%s'", n);
	return NULL;
}

static const struct lab_recipe *find_recipe(const struct lab *lab,
					    const char *n)
{
	for (size_t i = 0; i < lab->nrecipes; i++)
		if (!strcmp(lab->recipes[i].name, n))
			return &lab->recipes[i];
	fail_msg("no recipe '%s'", n);
	return NULL;
}

/* v holds exactly the words of want (space-separated), in order. */
static void assert_vec(const struct vec *v, const char *want)
{
	char *copy = strdup(want), *save = NULL;
	size_t n = 0;

	assert_non_null(copy);
	for (char *w = strtok_r(copy, " ", &save); w;
	     w = strtok_r(NULL, " ", &save), n++) {
		if (n >= v->n)
			fail_msg("vec has %zu items, expected '%s'", v->n,
				 want);
		assert_string_equal(v->v[n], w);
	}
	free(copy);
	assert_int_equal(v->n, n);
}

static void assert_abs(const char *got, const char *rel)
{
	char *want = path_of(rel);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(want);
}

/* ---- setup ---- */

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
	char templ[] = "/tmp/hangar-test-labconf.XXXXXX";

	(void)state;
	if (!mkdtemp(templ))
		return -1;
	/* the real path, as getcwd() would give it */
	if (!realpath(templ, tmpdir))
		return -1;
	return 0;
}

static int teardown_tmp(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- a full valid configuration ---- */

static const char full_conf[] =
	"# a lab with one of everything\n"
	"[lab]\n"
	"\tstate = state\n"
	"\tidentity = keys/id_ed25519\n"
	"\tdatabase = postgresql:///hangar_test\n"
	"\tlisten = 127.0.0.1:9090\n"
	"\n"
	"[include]\n"
	"\tpath = hosts.conf\n"
	"\n"
	"[host \"ruby\"]\n"
	"\tarch = x86_64\n"
	"\taddress = 10.0.0.1\n"
	"\tport = 2222\n"
	"\tuser = ci\n"
	"\tworkdir = /srv/hangar\n"
	"\tflags = hvm iommu\tequiv-r\n"
	"\tpower = ipmi\n"
	"\tipmi = lanplus:10.0.1.1:6230\n"
	"\tipmi-user = operator\n"
	"\tipmi-password = s3cret\n"
	"\tipmi-cipher = 17\n"
	"\tconsole = tcp:10.0.2.1:7001\n"
	"\tboot-timeout = 600\n"
	"\n"
	"[host \"opal\"]\n"
	"\tarch = arm64\n"
	"\taddress = opal.lab\n"
	"\tpower = pdudaemon\n"
	"\tpdu = http://127.0.0.1:16421 pdu1 3\n"
	"\tconsole = command:ssh console@cs opal\n"
	"\n"
	"[host \"jade\"]\n"
	"\tarch = riscv64\n"
	"\taddress = 10.0.0.3\n"
	"\tpower = command\n"
	"\tpower-on = /usr/local/bin/pw on \\\n"
	"\t\tjade\n"
	"\tpower-off = /usr/local/bin/pw off jade\n"
	"\tpower-status = /usr/local/bin/pw status jade\n"
	"\tipmi = lanplus:10.0.1.3\n"
	"\n"
	"; every default; same address as ruby, other port\n"
	"[host \"onyx\"]\n"
	"\tarch = x86_64\n"
	"\taddress = 10.0.0.1\n"
	"\n"
	"[tree \"xen\"]\n"
	"\turl = repos/xen.git\n"
	"[tree \"qemu\"]\n"
	"\turl = https://example.org/qemu.git\n"
	"[tree \"linux\"]\n"
	"\turl = git@example.org:linux.git\n"
	"[tree \"seabios\"]\n"
	"\turl = /srv/git/seabios.git\n"
	"\n"
	"[branch \"xen-unstable\"]\n"
	"\ttree = xen\n"
	"\tstaging = staging-4.19\n"
	"\ttarget = stable-4.19\n"
	"\tpin = qemu linux\n"
	"\tjobs = build-amd64 build-arm64 test-amd64-xl test-pair\n"
	"\tallow = test-*-rtds *\n"
	"\tallow = test-pair\n"
	"\tpriority = -10\n"
	"[branch \"seabios\"]\n"
	"\ttree = seabios\n"
	"\tjobs = build-amd64\n"
	"\n"
	"[job \"build-amd64\"]\n"
	"\trecipe = build\n"
	"\tarch = x86_64\n"
	"\trunvar = make_flags=-j2 V=1\n"
	"\trunvar = config=a=b\n"
	"\trunvar = empty=\n"
	"[job \"build-arm64\"]\n"
	"\trecipe = build\n"
	"\tarch = arm64\n"
	"[job \"test-amd64-xl\"]\n"
	"\trecipe = test\n"
	"\tarch = x86_64\n"
	"\tneeds = build-amd64\n"
	"\tflags = hvm iommu\n"
	"\trunvar = toolstack=xl\n"
	"[job \"test-pair\"]\n"
	"\trecipe = test\n"
	"\tarch = x86_64\n"
	"\tneeds = build-amd64 build-arm64\n"
	"\thosts = 2\n"
	"\n"
	"[recipe \"build\"]\n"
	"\tstep = build timeout=2h make -j2 dist\n"
	"\tartifacts = dist/*.tar.gz xen/xen.gz\n"
	"[recipe \"test\"]\n"
	"\tstep = host-power-cycle\n"
	"\tstep = host-install timeout=45m\n"
	"\tstep = install-build tar -C / -xzf dist/*.tar.gz\n"
	"\tstep = reboot\n"
	"\tstep = run smoke ./installed/tests/smoke.sh  --quick\n"
	"\tstep = reboot timeout=10m\n"
	"\tstep = \"run guest-start xl create /etc/xen/g.cfg; sleep 1\"\n"
	"\tstep = reboot\n"
	"\tstep = logs-capture timeout=90 dmesg\n";

static const char hosts_conf[] =
	"# included from lab.conf\n"
	"[host \"pearl\"]\n"
	"\tarch = x86_64\n"
	"\taddress = pearl.lab\n"
	"\tflags = equiv-p\n";

static void test_full(void **state)
{
	char *path, *inc;
	struct lab lab;
	const struct lab_host *h;
	const struct lab_branch *b;
	const struct lab_job *j;
	const struct lab_recipe *r;
	size_t len;
	static const struct {
		enum step_kind kind;
		const char *name, *command;
		long timeout;
	} steps[] = {
		{ STEP_HOST_POWER_CYCLE, "host-power-cycle", NULL, 0 },
		{ STEP_HOST_INSTALL, "host-install", NULL, 2700 },
		{ STEP_INSTALL_BUILD, "install-build",
		  "tar -C / -xzf dist/*.tar.gz", 0 },
		{ STEP_REBOOT, "reboot", NULL, 0 },
		{ STEP_RUN, "smoke", "./installed/tests/smoke.sh  --quick", 0 },
		{ STEP_REBOOT, "reboot.2", NULL, 600 },
		{ STEP_RUN, "guest-start", "xl create /etc/xen/g.cfg; sleep 1",
		  0 },
		{ STEP_REBOOT, "reboot.3", NULL, 0 },
		{ STEP_LOGS_CAPTURE, "logs-capture", "dmesg", 90 },
	};

	(void)state;
	inc = write_conf("hosts.conf", hosts_conf);
	path = write_conf("lab.conf", full_conf);
	load_ok(path, &lab);

	assert_string_equal(lab.path, path);
	assert_abs(lab.state, "state");
	assert_abs(lab.identity, "keys/id_ed25519");
	assert_string_equal(lab.database, "postgresql:///hangar_test");
	assert_string_equal(lab.listen, "127.0.0.1:9090");

	assert_int_equal(lab.nhosts, 5);
	h = find_host(&lab, "ruby");
	assert_string_equal(h->arch, "x86_64");
	assert_string_equal(h->address, "10.0.0.1");
	assert_int_equal(h->port, 2222);
	assert_string_equal(h->user, "ci");
	assert_string_equal(h->workdir, "/srv/hangar");
	assert_vec(&h->flags, "hvm iommu equiv-r");
	assert_string_equal(h->power, "ipmi");
	assert_string_equal(h->ipmi, "lanplus:10.0.1.1:6230");
	assert_string_equal(h->ipmi_user, "operator");
	assert_string_equal(h->ipmi_password, "s3cret");
	assert_int_equal(h->ipmi_cipher, 17);
	assert_null(h->power_on);
	assert_null(h->pdu);
	assert_string_equal(h->console, "tcp:10.0.2.1:7001");
	assert_int_equal(h->boot_timeout, 600);

	h = find_host(&lab, "opal");
	assert_string_equal(h->arch, "arm64");
	assert_string_equal(h->address, "opal.lab");
	assert_string_equal(h->power, "pdudaemon");
	assert_string_equal(h->pdu, "http://127.0.0.1:16421 pdu1 3");
	assert_string_equal(h->console, "command:ssh console@cs opal");

	h = find_host(&lab, "jade");
	assert_string_equal(h->arch, "riscv64");
	assert_string_equal(h->power, "command");
	/* a continuation line joins the value (blanks kept as libgit2 does) */
	len = strlen(h->power_on);
	assert_true(len > 25);
	assert_memory_equal(h->power_on, "/usr/local/bin/pw on ", 21);
	assert_int_equal(strspn(h->power_on + 21, " \t"), len - 25);
	assert_string_equal(h->power_on + len - 4, "jade");
	assert_string_equal(h->power_off, "/usr/local/bin/pw off jade");
	assert_string_equal(h->power_status, "/usr/local/bin/pw status jade");
	assert_string_equal(h->ipmi, "lanplus:10.0.1.3");

	/* every default */
	h = find_host(&lab, "onyx");
	assert_string_equal(h->arch, "x86_64");
	assert_string_equal(h->address, "10.0.0.1");
	assert_int_equal(h->port, 22);
	assert_string_equal(h->user, "root");
	assert_string_equal(h->workdir, "/var/lib/hangar-host");
	assert_int_equal(h->flags.n, 0);
	assert_string_equal(h->power, "none");
	assert_null(h->ipmi);
	assert_string_equal(h->ipmi_user, "admin");
	assert_null(h->ipmi_password);
	assert_int_equal(h->ipmi_cipher, 3);
	assert_null(h->power_on);
	assert_null(h->power_off);
	assert_null(h->power_status);
	assert_null(h->pdu);
	assert_string_equal(h->console, "none");
	assert_int_equal(h->boot_timeout, 300);

	/* from the included file */
	h = find_host(&lab, "pearl");
	assert_string_equal(h->address, "pearl.lab");
	assert_vec(&h->flags, "equiv-p");

	assert_int_equal(lab.ntrees, 4);
	assert_abs(find_tree(&lab, "xen")->url, "repos/xen.git");
	assert_string_equal(find_tree(&lab, "qemu")->url,
			    "https://example.org/qemu.git");
	assert_string_equal(find_tree(&lab, "linux")->url,
			    "git@example.org:linux.git");
	assert_string_equal(find_tree(&lab, "seabios")->url,
			    "/srv/git/seabios.git");

	assert_int_equal(lab.nbranches, 2);
	b = find_branch(&lab, "xen-unstable");
	assert_string_equal(b->tree, "xen");
	assert_string_equal(b->staging, "staging-4.19");
	assert_string_equal(b->target, "stable-4.19");
	assert_vec(&b->pins, "qemu linux");
	assert_vec(&b->jobs, "build-amd64 build-arm64 test-amd64-xl test-pair");
	assert_int_equal(b->allow.n, 2);
	assert_string_equal(b->allow.v[0], "test-*-rtds *");
	assert_string_equal(b->allow.v[1], "test-pair");
	assert_int_equal(b->priority, -10);
	b = find_branch(&lab, "seabios");
	assert_string_equal(b->staging, "staging");
	assert_string_equal(b->target, "master");
	assert_int_equal(b->pins.n, 0);
	assert_int_equal(b->allow.n, 0);
	assert_int_equal(b->priority, 0);

	assert_int_equal(lab.njobs, 4);
	j = find_job(&lab, "build-amd64");
	assert_string_equal(j->recipe, "build");
	assert_string_equal(j->arch, "x86_64");
	assert_int_equal(j->runvars.n, 3);
	assert_string_equal(j->runvars.v[0], "make_flags=-j2 V=1");
	assert_string_equal(j->runvars.v[1], "config=a=b");
	assert_string_equal(j->runvars.v[2], "empty=");
	assert_int_equal(j->needs.n, 0);
	assert_int_equal(j->flags.n, 0);
	assert_int_equal(j->hosts, 1);
	j = find_job(&lab, "test-amd64-xl");
	assert_string_equal(j->recipe, "test");
	assert_vec(&j->needs, "build-amd64");
	assert_vec(&j->flags, "hvm iommu");
	assert_vec(&j->runvars, "toolstack=xl");
	j = find_job(&lab, "test-pair");
	assert_vec(&j->needs, "build-amd64 build-arm64");
	assert_int_equal(j->runvars.n, 0);
	assert_int_equal(j->hosts, 2);
	assert_string_equal(find_job(&lab, "build-arm64")->arch, "arm64");

	assert_int_equal(lab.nrecipes, 2);
	r = find_recipe(&lab, "build");
	assert_int_equal(r->nsteps, 1);
	assert_int_equal(r->steps[0].kind, STEP_BUILD);
	assert_string_equal(r->steps[0].name, "build");
	assert_string_equal(r->steps[0].command, "make -j2 dist");
	assert_int_equal(r->steps[0].timeout, 7200);
	assert_vec(&r->artifacts, "dist/*.tar.gz xen/xen.gz");
	r = find_recipe(&lab, "test");
	assert_int_equal(r->nsteps, ARRAY_SIZE(steps));
	assert_int_equal(r->artifacts.n, 0);
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		const struct lab_step *s = &r->steps[i];

		assert_int_equal(s->kind, steps[i].kind);
		assert_string_equal(s->name, steps[i].name);
		if (steps[i].command)
			assert_string_equal(s->command, steps[i].command);
		else
			assert_null(s->command);
		assert_int_equal(s->timeout, steps[i].timeout);
	}

	labconf_release(&lab);
	assert_true(lab_is_empty(&lab));
	unlink(path);
	unlink(inc);
	free(path);
	free(inc);
}

/* No [lab] section: the defaults. */
static void test_lab_defaults(void **state)
{
	char *path;
	struct lab lab;

	(void)state;
	path = write_conf("min.conf",
			  "[host \"h\"]\n\tarch = x86_64\n\taddress = h\n");
	load_ok(path, &lab);
	assert_string_equal(lab.path, path);
	assert_string_equal(lab.state, "/var/lib/hangar");
	assert_string_equal(lab.listen, "127.0.0.1:8080");
	assert_null(lab.database);
	assert_null(lab.identity);
	assert_int_equal(lab.nhosts, 1);
	assert_int_equal(lab.ntrees + lab.nbranches + lab.njobs + lab.nrecipes,
			 0);
	labconf_release(&lab);

	/* an empty [lab]: the same defaults */
	free(write_conf("min.conf", "[lab]\n"));
	load_ok(path, &lab);
	assert_string_equal(lab.state, "/var/lib/hangar");
	assert_string_equal(lab.listen, "127.0.0.1:8080");
	assert_null(lab.identity);
	labconf_release(&lab);

	/* an empty file is a valid, empty lab */
	free(write_conf("min.conf", ""));
	load_ok(path, &lab);
	assert_string_equal(lab.state, "/var/lib/hangar");
	assert_int_equal(lab.nhosts, 0);
	labconf_release(&lab);

	/* absolute paths stay as they are */
	free(write_conf("min.conf",
			"[lab]\n\tstate = /srv/st\n\tidentity = /k\n"));
	load_ok(path, &lab);
	assert_string_equal(lab.state, "/srv/st");
	assert_string_equal(lab.identity, "/k");
	labconf_release(&lab);
	unlink(path);
	free(path);
}

/*
 * Sites (issue 22): [lab] site (default local) is every host's unless it
 * names its own; [site] lease defaults to [worker] lease; a site is known
 * when [lab], a host or a [site] section names it; names are
 * [a-z0-9][a-z0-9-]*, at most 63 bytes.
 */
static void test_sites(void **state)
{
	static const struct {
		const char *name;
		int ok;
	} names[] = {
		{ "local", 1 }, { "b", 1 }, { "colo-2", 1 }, { "0", 1 },
		{ "a23456789012345678901234567890123456789012345678901234567890123", 1 },
		{ "a234567890123456789012345678901234567890123456789012345678901234", 0 },
		{ "", 0 }, { "-b", 0 }, { "B", 0 }, { "b_c", 0 }, { "b.c", 0 },
		{ "b/c", 0 }, { "b c", 0 },
	};
	char *path;
	struct lab lab;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!lab_site_name_valid(names[i].name) != !names[i].ok)
			fail_msg("lab_site_name_valid(\"%s\") should be %d",
				 names[i].name, names[i].ok);

	path = write_conf("sites.conf",
			  "[host \"h\"]\n\tarch = x86_64\n\taddress = h\n");
	load_ok(path, &lab);
	assert_string_equal(lab.site, "local");
	assert_string_equal(lab.hosts[0].site, "local");
	assert_int_equal(lab.nsites, 0);
	assert_int_equal(lab_site_lease(&lab, "local"), 60);
	assert_true(lab_site_known(&lab, "local"));
	assert_false(lab_site_known(&lab, "b"));
	assert_null(lab.web.tls_cert);
	assert_int_equal(lab.web.max_upload, 4L << 30);
	labconf_release(&lab);

	free(write_conf("sites.conf",
			"[host \"h\"]\n\tarch = x86_64\n\taddress = h\n"
			"[host \"r\"]\n\tarch = x86_64\n\taddress = r\n"
			"\tsite = colo-b\n"
			"[lab]\n\tsite = main\n"
			"[worker]\n\tlease = 90s\n"
			"[site \"colo-b\"]\n\tlease = 10m\n"
			"[site \"colo-c\"]\n"
			"[web]\n\ttls-cert = c.pem\n\ttls-key = /k.pem\n"
			"\tmax-upload = 1048576\n"));
	load_ok(path, &lab);
	/* [lab] after the host: still the host's site */
	assert_string_equal(lab.site, "main");
	assert_string_equal(lab.hosts[0].site, "main");
	assert_string_equal(lab.hosts[1].site, "colo-b");
	assert_int_equal(lab_site_lease(&lab, "colo-b"), 600);
	assert_int_equal(lab_site_lease(&lab, "colo-c"), 90);
	assert_int_equal(lab_site_lease(&lab, "main"), 90);
	assert_true(lab_site_known(&lab, "main"));
	assert_true(lab_site_known(&lab, "colo-b"));
	assert_true(lab_site_known(&lab, "colo-c"));
	assert_false(lab_site_known(&lab, "colo-d"));
	assert_abs(lab.web.tls_cert, "c.pem");
	assert_string_equal(lab.web.tls_key, "/k.pem");
	assert_int_equal(lab.web.max_upload, 1048576);
	labconf_release(&lab);
	unlink(path);
	free(path);
}

/* A relative configuration path: absolute from the working directory. */
static void test_relative_path(void **state)
{
	char cwd[PATH_MAX];
	char *path;
	struct lab lab;

	(void)state;
	path = write_conf("rel.conf",
			  "[lab]\n\tstate = st\n[tree \"t\"]\n\turl = r/t.git\n");
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpdir), 0);
	load_ok("rel.conf", &lab);
	assert_string_equal(lab.path, path);
	assert_abs(lab.state, "st");
	assert_abs(lab.trees[0].url, "r/t.git");
	labconf_release(&lab);
	load_ok("./rel.conf", &lab);
	assert_string_equal(lab.path, path);
	assert_abs(lab.state, "st");
	labconf_release(&lab);
	assert_int_equal(chdir(cwd), 0);
	unlink(path);
	free(path);
}

/* Netboot templates per arch ([arch "NAME"]), a host's own winning. */
static void test_arch_netboot(void **state)
{
	char *tmpl = write_conf("uboot.txt", "tftpboot ${kernel_addr_r} %kernel%\n");
	char *own = write_conf("own.txt", "#!ipxe\n");
	char *path;
	struct conf_diag diag;
	struct lab lab;

	(void)state;
	path = write_conf("arch.conf",
			  "[arch \"arm64\"]\n\tnetboot-file = %name%/boot.scr.uimg\n"
			  "\tnetboot = uboot.txt\n\tnetboot-dir = boards/%name%\n"
			  "[host \"a1\"]\n\tarch = arm64\n\taddress = 10.0.0.1\n"
			  "\tworkdir = /w\n"
			  "[host \"a2\"]\n\tarch = arm64\n\taddress = 10.0.0.2\n"
			  "\tworkdir = /w\n\tnetboot-file = %name%/boot.ipxe\n"
			  "\tnetboot = own.txt\n"
			  "[host \"x1\"]\n\tarch = x86_64\n\taddress = 10.0.0.3\n"
			  "\tworkdir = /w\n");
	load_ok(path, &lab);
	assert_string_equal(find_host(&lab, "a1")->netboot_file, "%name%/boot.scr.uimg");
	assert_string_equal(find_host(&lab, "a1")->netboot,
			    "tftpboot ${kernel_addr_r} %kernel%\n");
	assert_string_equal(find_host(&lab, "a1")->netboot_dir, "boards/%name%");
	assert_string_equal(find_host(&lab, "a2")->netboot_file, "%name%/boot.ipxe");
	assert_string_equal(find_host(&lab, "a2")->netboot, "#!ipxe\n");
	assert_null(find_host(&lab, "x1")->netboot);
	assert_null(find_host(&lab, "x1")->netboot_file);
	labconf_release(&lab);
	free(path);
	path = write_conf("arch-bad.conf", "[arch \"sparc\"]\n\tnetboot-dir = x\n");
	conf_diag_init(&diag);
	assert_int_not_equal(labconf_load(path, &lab, &diag), 0);
	assert_true(has_msg(&diag, path, 1, "unknown arch 'sparc' (x86_64, arm64 or riscv64)"));
	conf_diag_release(&diag);
	labconf_release(&lab);
	unlink(path);
	free(path);
	unlink(tmpl);
	unlink(own);
	free(tmpl);
	free(own);
}

/* Repeated steps get OSSTest testids; a run name may not repeat. */
static void test_repeated_steps(void **state)
{
	static const char *const names[] = {
		"reboot", "build", "reboot.2", "smoke", "build.2",
		"reboot.3", "smoke-2", "logs-capture", "logs-capture.2",
	};
	char *path;
	struct lab lab;
	const struct lab_recipe *r;

	(void)state;
	path = write_conf("steps.conf",
			  "[recipe \"r\"]\n"
			  "\tstep = reboot\n"
			  "\tstep = build make\n"
			  "\tstep = reboot\n"
			  "\tstep = run smoke ./a\n"
			  "\tstep = build make again\n"
			  "\tstep = reboot timeout=5\n"
			  "\tstep = run smoke-2 ./b\n"
			  "\tstep = logs-capture\n"
			  "\tstep = logs-capture tail log\n");
	load_ok(path, &lab);
	r = find_recipe(&lab, "r");
	assert_int_equal(r->nsteps, ARRAY_SIZE(names));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		assert_string_equal(r->steps[i].name, names[i]);
	assert_int_equal(r->steps[5].timeout, 5);
	assert_string_equal(r->steps[4].command, "make again");
	labconf_release(&lab);
	unlink(path);
	free(path);
}

/* ---- invalid configurations ---- */

#define RUBY "[host \"ruby\"]\n\tarch = x86_64\n\taddress = 10.0.0.1\n"
#define RECIPE "[recipe \"r\"]\n\tstep = reboot\n"
#define TREE_XEN "[tree \"xen\"]\n\turl = /git/xen.git\n"

static void test_bad_sections_keys(void **state)
{
	static const struct bad_case cases[] = {
		{ .what = "unknown section",
		  .text = "[widget] #<\n"
			  "\tsize = 3\n",
		  .msg = "unknown section [widget]" },
		{ .what = "unknown named section",
		  .text = RUBY "[widget \"w\"] #<\n",
		  .msg = "unknown section [widget]" },
		{ .what = "unknown key",
		  .text = RUBY "\tcolour = red #<\n",
		  .msg = "host 'ruby': colour: unknown key" },
		{ .what = "unknown key in [lab]",
		  .text = "[lab]\n"
			  "\tstate = /s\n"
			  "\tstat = /t #<\n",
		  .msg = "[lab]: stat: unknown key" },
		{ .what = "arch sparc",
		  .text = "[host \"ruby\"]\n"
			  "\tarch = sparc #<\n"
			  "\taddress = a\n",
		  .msg = "host 'ruby': arch: unknown value 'sparc' (expected x86_64, arm64 or riscv64)" },
		{ .what = "arch case",
		  .text = "[host \"ruby\"]\n"
			  "\taddress = a\n"
			  "\tarch = X86_64 #<\n",
		  .msg = "host 'ruby': arch: unknown value 'X86_64'" },
		{ .what = "power unknown",
		  .text = RUBY "\tpower = magic #<\n",
		  .msg = "host 'ruby': power: unknown value 'magic' (expected ipmi, pdudaemon, command or none)" },
		{ .what = "port too big",
		  .text = RUBY "\tport = 70000 #<\n",
		  .msg = "host 'ruby': port: 70000 is out of range (1 to 65535)" },
		{ .what = "port zero",
		  .text = RUBY "\tport = 0 #<\n",
		  .msg = "host 'ruby': port: 0 is out of range (1 to 65535)" },
		{ .what = "port negative",
		  .text = RUBY "\tport = -22 #<\n",
		  .msg = "host 'ruby': port: -22 is out of range (1 to 65535)" },
		{ .what = "boot-timeout zero",
		  .text = RUBY "\tboot-timeout = 0 #<\n",
		  .msg = "host 'ruby': boot-timeout: 0 is out of range (1 to 86400)" },
		{ .what = "ipmi-cipher",
		  .text = RUBY "\tipmi-cipher = 18 #<\n",
		  .msg = "host 'ruby': ipmi-cipher: 18 is out of range (0 to 17)" },
		{ .what = "port not a number",
		  .text = RUBY "\tport = 22x #<\n",
		  .msg = "host 'ruby': port: '22x' is not a number" },
		{ .what = "port words",
		  .text = RUBY "\tport = twenty #<\n",
		  .msg = "host 'ruby': port: 'twenty' is not a number" },
		{ .what = "port huge",
		  .text = RUBY "\tport = 99999999999999999999 #<\n",
		  .msg = "host 'ruby': port: '99999999999999999999' is not a number" },
		{ .what = "port empty",
		  .text = RUBY "\tport = #<\n",
		  .msg = "host 'ruby': port: '' is not a number" },
		{ .what = "empty string",
		  .text = "[host \"ruby\"]\n"
			  "\tarch = x86_64\n"
			  "\taddress = #<\n",
		  .msg = "host 'ruby': address: empty value" },
		{ .what = "hosts out of range",
		  .text = "[job \"a\"]\n"
			  "\trecipe = r\n"
			  "\tarch = x86_64\n"
			  "\thosts = 17 #<\n"
			  RECIPE,
		  .msg = "job 'a': hosts: 17 is out of range (1 to 16)" },
		{ .what = "key set twice",
		  .text = RUBY "\tport = 22\n"
			  "\tport = 23 #<\n",
		  .msg = "host 'ruby': port: set twice (first at line 4)" },
		{ .what = "key set twice, other case",
		  .text = RUBY "\tUser = a\n"
			  "\tuser = b #<\n",
		  .msg = "host 'ruby': user: set twice (first at line 4)" },
		{ .what = "duplicate host section",
		  .text = "[host \"ruby\"]\n"
			  "\tarch = x86_64\n"
			  "\n"
			  "[host \"ruby\"] #<\n"
			  "\taddress = a\n",
		  .msg = "duplicate host 'ruby' (first at {file}:1)" },
		{ .what = "missing required key at the header",
		  .text = "# hosts\n"
			  "[host \"ruby\"] #<\n"
			  "\taddress = a\n"
			  "\tport = 22\n",
		  .msg = "host 'ruby': missing key 'arch'" },
		{ .what = "missing required multivar",
		  .text = RUBY "[recipe \"r\"] #<\n"
			  "\tartifacts = a\n",
		  .msg = "recipe 'r': missing key 'step'" },
		{ .what = "[host] without a name",
		  .text = "[host] #<\n"
			  "\tarch = x86_64\n",
		  .msg = "[host] needs a name: [host \"NAME\"]" },
		{ .what = "[lab] with a name",
		  .text = "[lab \"x\"] #<\n"
			  "\tstate = /s\n",
		  .msg = "[lab] takes no name" },
		{ .what = "invalid section name: space",
		  .text = "[host \"bad name\"] #<\n"
			  "\tarch = x86_64\n"
			  "\taddress = a\n",
		  .msg = "host 'bad name': invalid name (letters, digits and ._-+, at most 64)" },
		{ .what = "invalid section name: leading dash",
		  .text = "[job \"-x\"] #<\n"
			  "\trecipe = r\n"
			  "\tarch = x86_64\n"
			  RECIPE,
		  .msg = "job '-x': invalid name" },
		{ .what = "invalid section name: too long",
		  .text = "[tree \"t12345678901234567890123456789012345678901234567890123456789012345\"] #<\n"
			  "\turl = /x\n",
		  .msg = "invalid name (letters, digits and ._-+, at most 64)" },
		{ .what = "list word twice",
		  .text = RUBY "\tflags = hvm iommu hvm #<\n",
		  .msg = "host 'ruby': flags: 'hvm' listed twice" },
		{ .what = "line after a continuation",
		  .text = RUBY "\tpower-on = echo \\\n"
			  "\t\ton\n"
			  "\tcolour = red #<\n",
		  .msg = "host 'ruby': colour: unknown key" },
		{ .what = "syntax error",
		  .text = RUBY "\n"
			  "[host \"opal\"\n"
			  "\tarch = x86_64\n",
		  .line = 5,
		  .msg = "missing ']' in section header" },
		{ .what = "syntax error: no key",
		  .text = RUBY "\t= 22 #<\n",
		  .msg = "syntax error: invalid configuration key" },
		{ .what = "syntax error: bad key",
		  .text = RUBY "\tport_x = 22 #<\n",
		  .msg = "invalid configuration key" },
	};
	size_t failed = 0;

	(void)state;
	/* the missing file: the message names it, without a line */
	{
		char *missing = path_of("missing.conf");
		struct conf_diag diag;
		struct lab lab;

		conf_diag_init(&diag);
		assert_int_equal(labconf_load(missing, &lab, &diag), -1);
		assert_true(lab_is_empty(&lab));
		if (!has_msg(&diag, missing, 0,
			     "cannot read: No such file or directory")) {
			print_msgs(&diag);
			failed++;
		}
		assert_int_equal(diag.msgs.n, 1);
		conf_diag_release(&diag);
		free(missing);
	}
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (check_bad(&cases[i]) < 0)
			failed++;
	if (failed)
		fail_msg("%zu cases failed", failed);
}

static void test_bad_hosts(void **state)
{
	static const struct bad_case cases[] = {
		{ .what = "ipmi without ipmi key",
		  .text = "[host \"ruby\"] #<\n"
			  "\tarch = x86_64\n"
			  "\taddress = a\n"
			  "\tpower = ipmi\n"
			  "\tipmi-password = p\n",
		  .msg = "host 'ruby': power = ipmi needs the key 'ipmi' (lanplus:HOST[:PORT])" },
		{ .what = "ipmi without password",
		  .text = "[host \"ruby\"] #<\n"
			  "\tarch = x86_64\n"
			  "\taddress = a\n"
			  "\tpower = ipmi\n"
			  "\tipmi = lanplus:b\n",
		  .msg = "host 'ruby': power = ipmi needs the key 'ipmi-password'" },
		{ .what = "ipmi not lanplus",
		  .text = RUBY "\tpower = ipmi\n"
			  "\tipmi = lan:10.0.1.1 #<\n"
			  "\tipmi-password = p\n",
		  .msg = "host 'ruby': ipmi: 'lan:10.0.1.1' is not lanplus:HOST[:PORT]" },
		{ .what = "ipmi no host",
		  .text = RUBY "\tpower = ipmi\n"
			  "\tipmi = lanplus: #<\n"
			  "\tipmi-password = p\n",
		  .msg = "ipmi: 'lanplus:' is not lanplus:HOST[:PORT]" },
		{ .what = "ipmi empty host",
		  .text = RUBY "\tpower = ipmi\n"
			  "\tipmi = lanplus::623 #<\n"
			  "\tipmi-password = p\n",
		  .msg = "ipmi: 'lanplus::623' is not lanplus:HOST[:PORT]" },
		{ .what = "ipmi port 0",
		  .text = RUBY "\tpower = ipmi\n"
			  "\tipmi = lanplus:b:0 #<\n"
			  "\tipmi-password = p\n",
		  .msg = "ipmi: 'lanplus:b:0' is not lanplus:HOST[:PORT]" },
		{ .what = "ipmi port too big",
		  .text = RUBY "\tpower = ipmi\n"
			  "\tipmi = lanplus:b:65536 #<\n"
			  "\tipmi-password = p\n",
		  .msg = "ipmi: 'lanplus:b:65536' is not lanplus:HOST[:PORT]" },
		{ .what = "ipmi port junk",
		  .text = RUBY "\tpower = ipmi\n"
			  "\tipmi = lanplus:b:62x #<\n"
			  "\tipmi-password = p\n",
		  .msg = "ipmi: 'lanplus:b:62x' is not lanplus:HOST[:PORT]" },
		{ .what = "command without power-on",
		  .text = RUBY "\tpower = command #<\n"
			  "\tpower-off = off\n",
		  .msg = "host 'ruby': power: power = command needs 'power-on' and 'power-off'" },
		{ .what = "command without power-off",
		  .text = RUBY "\tpower-on = on\n"
			  "\tpower = command #<\n",
		  .msg = "host 'ruby': power: power = command needs 'power-on' and 'power-off'" },
		{ .what = "pdudaemon without pdu",
		  .text = RUBY "\tpower = pdudaemon #<\n",
		  .msg = "host 'ruby': power: power = pdudaemon needs the key 'pdu' (URL NAME PORT)" },
		{ .what = "pdu not http",
		  .text = RUBY "\tpower = pdudaemon\n"
			  "\tpdu = ftp://p pdu1 3 #<\n",
		  .msg = "host 'ruby': pdu: 'ftp://p pdu1 3' is not 'http://HOST:PORT PDUNAME PORTNUMBER'" },
		{ .what = "pdu two words",
		  .text = RUBY "\tpower = pdudaemon\n"
			  "\tpdu = http://p:16421 pdu1 #<\n",
		  .msg = "pdu: 'http://p:16421 pdu1' is not 'http://HOST:PORT PDUNAME PORTNUMBER'" },
		{ .what = "pdu four words",
		  .text = RUBY "\tpower = pdudaemon\n"
			  "\tpdu = https://p pdu1 3 4 #<\n",
		  .msg = "pdu: 'https://p pdu1 3 4' is not" },
		{ .what = "pdu port not a number",
		  .text = RUBY "\tpower = pdudaemon\n"
			  "\tpdu = http://p pdu1 three #<\n",
		  .msg = "pdu: 'http://p pdu1 three' is not" },
		{ .what = "console unknown",
		  .text = RUBY "\tconsole = serial #<\n",
		  .msg = "host 'ruby': console: 'serial' is not tcp:HOST:PORT, command:CMD or none" },
		{ .what = "console tcp without port",
		  .text = RUBY "\tconsole = tcp:cs #<\n",
		  .msg = "console: 'tcp:cs' is not tcp:HOST:PORT, command:CMD or none" },
		{ .what = "console tcp bad port",
		  .text = RUBY "\tconsole = tcp:cs:70000 #<\n",
		  .msg = "console: 'tcp:cs:70000' is not" },
		{ .what = "console tcp no host",
		  .text = RUBY "\tconsole = tcp::7001 #<\n",
		  .msg = "console: 'tcp::7001' is not" },
		{ .what = "console empty command",
		  .text = RUBY "\tconsole = command: #<\n",
		  .msg = "console: 'command:' is not" },
		{ .what = "console None",
		  .text = RUBY "\tconsole = None #<\n",
		  .msg = "console: 'None' is not" },
		{ .what = "same address and port",
		  .text = RUBY "[host \"opal\"]\n"
			  "\tarch = arm64\n"
			  "\taddress = 10.0.0.1 #<\n"
			  "\tport = 22\n",
		  .msg = "host 'opal': address: 10.0.0.1 port 22 is already host 'ruby'" },
		{ .what = "same address and port, third host",
		  .text = RUBY "[host \"opal\"]\n"
			  "\tarch = arm64\n"
			  "\taddress = o\n"
			  "[host \"jade\"]\n"
			  "\tport = 2200\n"
			  "\tarch = arm64\n"
			  "\taddress = o\n"
			  "[host \"onyx\"]\n"
			  "\tarch = arm64\n"
			  "\taddress = o #<\n"
			  "\tport = 2200\n",
		  .msg = "host 'onyx': address: o port 2200 is already host 'jade'" },
		{ .what = "invalid flag",
		  .text = RUBY "\tflags = hvm HVM #<\n",
		  .msg = "host 'ruby': flags: invalid flag 'HVM' (lower-case letters, digits and ._-:)" },
		{ .what = "invalid flag character",
		  .text = RUBY "\tflags = a/b #<\n",
		  .msg = "host 'ruby': flags: invalid flag 'a/b'" },
		{ .what = "relative workdir",
		  .text = RUBY "\tworkdir = srv #<\n",
		  .msg = "host 'ruby': workdir: must be an absolute path" },
		{ .what = "error in an included file",
		  .text = "[lab]\n"
			  "\tstate = /s\n"
			  "[include]\n"
			  "\tpath = inc.conf\n"
			  RECIPE,
		  .inc = "# included\n"
			 "[host \"pearl\"]\n"
			 "\tarch = x86_64\n"
			 "\taddress = p\n"
			 "\tcolour = red #<\n",
		  .in_inc = 1,
		  .msg = "host 'pearl': colour: unknown key" },
		{ .what = "missing key in an included file's section",
		  .text = "[include]\n"
			  "\tpath = inc.conf\n",
		  .inc = "\n"
			 "\n"
			 "[host \"pearl\"] #<\n"
			 "\taddress = p\n",
		  .in_inc = 1,
		  .msg = "host 'pearl': missing key 'arch'" },
		{ .what = "error after an include is in the including file",
		  .text = "[include]\n"
			  "\tpath = inc.conf\n"
			  RUBY "\tport = x #<\n",
		  .inc = "[host \"pearl\"]\n"
			 "\tarch = x86_64\n"
			 "\taddress = p\n"
			 "\tport = 1\n",
		  .msg = "host 'ruby': port: 'x' is not a number" },
		{ .what = "a key set in two files names both",
		  .text = "[include]\n"
			  "\tpath = inc.conf\n"
			  "[host \"pearl\"]\n"
			  "\tarch = arm64 #<\n",
		  .inc = "[host \"pearl\"]\n"
			 "\taddress = p\n"
			 "\tarch = x86_64\n",
		  .msg = "host 'pearl': arch: set twice (first at " },
		{ .what = "a key set in two files names the other file",
		  .text = "[include]\n"
			  "\tpath = inc.conf\n"
			  "[host \"pearl\"]\n"
			  "\tarch = arm64 #<\n",
		  .inc = "[host \"pearl\"]\n"
			 "\taddress = p\n"
			 "\tarch = x86_64\n",
		  .msg = "inc.conf:3)" },
	};

	(void)state;
	check_bad_table(cases, ARRAY_SIZE(cases));
}

#define JOB_A "[job \"a\"]\n\trecipe = r\n\tarch = x86_64\n"

static void test_bad_sites(void **state)
{
	static const struct bad_case cases[] = {
		{ .what = "a bad [lab] site",
		  .text = "[lab]\n\tsite = Main #<\n",
		  .msg = "[lab]: site: 'Main' is not a site name" },
		{ .what = "a bad host site",
		  .text = RUBY "\tsite = colo_b #<\n",
		  .msg = "host 'ruby': site: 'colo_b' is not a site name" },
		{ .what = "a bad [site] name",
		  .text = "[site \"Colo.b\"] #<\n\tlease = 10m\n",
		  .msg = "site 'Colo.b': 'Colo.b' is not a site name" },
		{ .what = "a [site] lease too short",
		  .text = "[site \"b\"]\n\tlease = 1s #<\n",
		  .msg = "lease" },
		{ .what = "tls-cert without tls-key",
		  .text = "[web] #<\n\ttls-cert = c.pem\n",
		  .msg = "tls-cert and tls-key go together" },
		{ .what = "a site key elsewhere",
		  .text = "[worker]\n\tlease2 = 1m #<\n",
		  .msg = "lease2" },
	};

	(void)state;
	check_bad_table(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_bad_jobs(void **state)
{
	static const struct bad_case cases[] = {
		{ .what = "missing recipe",
		  .text = "[job \"a\"]\n"
			  "\trecipe = nope #<\n"
			  "\tarch = x86_64\n"
			  RECIPE,
		  .msg = "job 'a': recipe: no recipe 'nope'" },
		{ .what = "missing needed job",
		  .text = JOB_A "\tneeds = ghost #<\n"
			  RECIPE,
		  .msg = "job 'a': needs: no job 'ghost'" },
		{ .what = "dependency cycle",
		  .text = JOB_A "\tneeds = b #<\n"
			  "[job \"b\"]\n"
			  "\trecipe = r\n"
			  "\tarch = x86_64\n"
			  "\tneeds = a\n"
			  RECIPE,
		  .msg = "job 'a': needs: dependency cycle: a -> b -> a" },
		{ .what = "dependency cycle of three",
		  .text = "[job \"x\"]\n"
			  "\trecipe = r\n"
			  "\tarch = x86_64\n"
			  "\tneeds = a\n"
			  JOB_A "\tneeds = b #<\n"
			  "[job \"b\"]\n"
			  "\trecipe = r\n"
			  "\tarch = x86_64\n"
			  "\tneeds = c\n"
			  "[job \"c\"]\n"
			  "\trecipe = r\n"
			  "\tarch = x86_64\n"
			  "\tneeds = a\n"
			  RECIPE,
		  .msg = "job 'a': needs: dependency cycle: a -> b -> c -> a" },
		{ .what = "a job needing itself",
		  .text = JOB_A "\tneeds = a #<\n"
			  RECIPE,
		  .msg = "job 'a': needs: a job cannot need itself" },
		{ .what = "runvar without =",
		  .text = JOB_A "\trunvar = foo #<\n"
			  RECIPE,
		  .msg = "job 'a': runvar: 'foo': expected NAME=VALUE" },
		{ .what = "upper-case runvar",
		  .text = JOB_A "\trunvar = FOO=1 #<\n"
			  RECIPE,
		  .msg = "job 'a': runvar: 'FOO=1': runvar names are lower-case letters, digits and _, starting with a letter" },
		{ .what = "reserved runvar arch",
		  .text = JOB_A "\trunvar = arch=arm64 #<\n"
			  RECIPE,
		  .msg = "job 'a': runvar: 'arch' is set by hangar for every job" },
		{ .what = "reserved runvar revision",
		  .text = JOB_A "\trunvar = x=1\n"
			  "\trunvar = revision_xen=abc #<\n"
			  RECIPE,
		  .msg = "job 'a': runvar: 'revision_xen' is set by hangar for every job" },
		{ .what = "runvar set twice",
		  .text = JOB_A "\trunvar = x=1\n"
			  "\trunvar = y=2\n"
			  "\trunvar = x=3 #<\n"
			  RECIPE,
		  .msg = "job 'a': runvar: 'x' set twice" },
		{ .what = "invalid job flag",
		  .text = JOB_A "\tflags = Hvm #<\n"
			  RECIPE,
		  .msg = "job 'a': flags: invalid flag 'Hvm'" },
		{ .what = "job arch",
		  .text = "[job \"a\"]\n"
			  "\trecipe = r\n"
			  "\tarch = ppc #<\n"
			  RECIPE,
		  .msg = "job 'a': arch: unknown value 'ppc'" },
	};

	(void)state;
	check_bad_table(cases, ARRAY_SIZE(cases));
}

#define JOBS_BT \
	"[job \"build\"]\n\trecipe = r\n\tarch = x86_64\n" \
	"[job \"test\"]\n\trecipe = r\n\tarch = x86_64\n\tneeds = build\n" RECIPE

static void test_bad_branches(void **state)
{
	static const struct bad_case cases[] = {
		{ .what = "branch with a missing tree",
		  .text = "[branch \"main\"]\n"
			  "\ttree = linux #<\n"
			  "\tjobs = build\n"
			  TREE_XEN JOBS_BT,
		  .msg = "branch 'main': tree: no tree 'linux'" },
		{ .what = "pin of a missing tree",
		  .text = "[branch \"main\"]\n"
			  "\ttree = xen\n"
			  "\tpin = qemu #<\n"
			  "\tjobs = build\n"
			  TREE_XEN JOBS_BT,
		  .msg = "branch 'main': pin: no tree 'qemu'" },
		{ .what = "pin equal to its tree",
		  .text = "[branch \"main\"]\n"
			  "\ttree = xen\n"
			  "\tpin = xen #<\n"
			  "\tjobs = build\n"
			  TREE_XEN JOBS_BT,
		  .msg = "branch 'main': pin: 'xen' is the gated tree" },
		{ .what = "job list missing a needed job",
		  .text = "[branch \"main\"]\n"
			  "\ttree = xen\n"
			  "\tjobs = test #<\n"
			  TREE_XEN JOBS_BT,
		  .msg = "branch 'main': jobs: 'test' needs 'build', which is not in the list" },
		{ .what = "job list naming a missing job",
		  .text = "[branch \"main\"]\n"
			  "\ttree = xen\n"
			  "\tjobs = build ghost #<\n"
			  TREE_XEN JOBS_BT,
		  .msg = "branch 'main': jobs: no job 'ghost'" },
		{ .what = "allow with three words",
		  .text = "[branch \"main\"]\n"
			  "\ttree = xen\n"
			  "\tjobs = build\n"
			  "\tallow = a b c #<\n"
			  TREE_XEN JOBS_BT,
		  .msg = "branch 'main': allow: 'a b c' is not JOBPAT [STEPPAT]" },
		/* the bad one of several allow lines */
		{ .what = "allow: the line of the bad value",
		  .text = "[branch \"main\"]\n"
			  "\ttree = xen\n"
			  "\tjobs = build\n"
			  "\tallow = a b c #<\n"
			  "\tallow = test\n"
			  TREE_XEN JOBS_BT,
		  .msg = "branch 'main': allow: 'a b c' is not JOBPAT [STEPPAT]" },
		{ .what = "priority out of range",
		  .text = "[branch \"main\"]\n"
			  "\ttree = xen\n"
			  "\tjobs = build\n"
			  "\tpriority = 1000001 #<\n"
			  TREE_XEN JOBS_BT,
		  .msg = "branch 'main': priority: 1000001 is out of range (-1000000 to 1000000)" },
	};

	(void)state;
	check_bad_table(cases, ARRAY_SIZE(cases));
}

static void test_bad_recipes(void **state)
{
	static const struct bad_case cases[] = {
		{ .what = "unknown step kind",
		  .text = "[recipe \"r\"]\n"
			  "\tstep = reboot\n"
			  "\tstep = frob x #<\n"
			  "\tstep = reboot\n",
		  .msg = "recipe 'r': step: unknown step 'frob' (expected host-power-cycle, host-install, reboot, build, install-build, run, logs-capture, boot, console-send or expect)" },
		{ .what = "run without a name",
		  .text = "[recipe \"r\"]\n"
			  "\tstep = reboot\n"
			  "\tstep = run #<\n",
		  .msg = "recipe 'r': step: run needs a step name: run NAME COMMAND" },
		{ .what = "run without a command",
		  .text = "[recipe \"r\"]\n"
			  "\tstep = run smoke #<\n",
		  .msg = "recipe 'r': step: run needs a command" },
		{ .what = "build without a command",
		  .text = "[recipe \"r\"]\n"
			  "\tstep = build #<\n"
			  "\tstep = reboot\n",
		  .msg = "recipe 'r': step: build needs a command" },
		{ .what = "install-build without a command",
		  .text = "[recipe \"r\"]\n"
			  "\tstep = install-build timeout=5m #<\n",
		  .msg = "recipe 'r': step: install-build needs a command" },
		{ .what = "reboot with a command",
		  .text = "[recipe \"r\"]\n"
			  "\tstep = reboot now #<\n",
		  .msg = "recipe 'r': step: reboot takes no command" },
		{ .what = "host-install with a command",
		  .text = "[recipe \"r\"]\n"
			  "\tstep = host-install debian #<\n",
		  .msg = "recipe 'r': step: host-install takes no command" },
		{ .what = "bad timeout",
		  .text = "[recipe \"r\"]\n"
			  "\tstep = reboot timeout=5x #<\n",
		  .msg = "recipe 'r': step: bad timeout '5x' (seconds, or with s, m, h, d; at most 7d)" },
		{ .what = "timeout over 7 days",
		  .text = "[recipe \"r\"]\n"
			  "\tstep = reboot\n"
			  "\tstep = reboot timeout=8d #<\n",
		  .msg = "recipe 'r': step: bad timeout '8d'" },
		{ .what = "run name used twice",
		  .text = "[recipe \"r\"]\n"
			  "\tstep = run smoke ./a\n"
			  "\tstep = reboot\n"
			  "\tstep = run smoke ./b #<\n",
		  .msg = "recipe 'r': step: step name 'smoke' used twice" },
		{ .what = "run named like an earlier step",
		  .text = "[recipe \"r\"]\n"
			  "\tstep = reboot\n"
			  "\tstep = run reboot ./b #<\n",
		  .msg = "recipe 'r': step: step name 'reboot' used twice" },
	};

	(void)state;
	check_bad_table(cases, ARRAY_SIZE(cases));
}

/*
 * Sections missing a required key that the model needs. Each runs in a
 * child process so that a crash fails its case rather than the program.
 */
static void test_missing_required(void **state)
{
	static const struct bad_case cases[] = {
		{ .what = "host without arch",
		  .text = "[host \"ruby\"] #<\n"
			  "\taddress = a\n",
		  .msg = "host 'ruby': missing key 'arch'" },
		{ .what = "second host without address",
		  .text = RUBY "[host \"opal\"] #<\n"
			  "\tarch = x86_64\n",
		  .msg = "host 'opal': missing key 'address'" },
		{ .what = "first host without address",
		  .text = "[host \"ruby\"] #<\n"
			  "\tarch = x86_64\n"
			  "[host \"opal\"]\n"
			  "\tarch = x86_64\n"
			  "\taddress = o\n",
		  .msg = "host 'ruby': missing key 'address'" },
		{ .what = "tree without url",
		  .text = "[tree \"xen\"] #<\n",
		  .msg = "tree 'xen': missing key 'url'" },
		{ .what = "branch without tree",
		  .text = "[branch \"main\"] #<\n"
			  "\tjobs = build\n"
			  JOBS_BT,
		  .msg = "branch 'main': missing key 'tree'" },
		{ .what = "branch without jobs",
		  .text = "[branch \"main\"] #<\n"
			  "\ttree = xen\n"
			  TREE_XEN,
		  .msg = "branch 'main': missing key 'jobs'" },
		{ .what = "job without recipe",
		  .text = "[job \"a\"] #<\n"
			  "\tarch = x86_64\n",
		  .msg = "job 'a': missing key 'recipe'" },
		{ .what = "job without arch",
		  .text = "[job \"a\"] #<\n"
			  "\trecipe = r\n"
			  RECIPE,
		  .msg = "job 'a': missing key 'arch'" },
		{ .what = "recipe without steps",
		  .text = "[recipe \"r\"] #<\n",
		  .msg = "recipe 'r': missing key 'step'" },
	};
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (check_bad_in(&cases[i], 1) < 0)
			failed++;
	if (failed)
		fail_msg("%zu of %zu cases failed", failed, ARRAY_SIZE(cases));
}

/*
 * Entries that libgit2 accepts in the main file must be placed on their
 * line too: a key starting with a digit, an entry on its header's line.
 */
static void test_line_placement(void **state)
{
	static const struct bad_case cases[] = {
		{ .what = "upper-case key",
		  .text = RUBY "\tCOLOUR = red #<\n",
		  .msg = "host 'ruby': colour: unknown key" },
		{ .what = "dotted section header",
		  .text = "[host.ruby]\n"
			  "\tarch = sparc #<\n"
			  "\taddress = a\n",
		  .msg = "host 'ruby': arch: unknown value 'sparc'" },
		{ .what = "indented header and keys",
		  .text = "  [host \"ruby\"]\n"
			  "  arch = x86_64\n"
			  "  address = a\n"
			  "  colour = x #<\n",
		  .msg = "host 'ruby': colour: unknown key" },
		{ .what = "second of a multivar",
		  .text = "[recipe \"r\"]\n"
			  "\tstep = reboot\n"
			  "\tartifacts = a\n"
			  "\tstep = reboot x #<\n",
		  .msg = "recipe 'r': step: reboot takes no command" },
		{ .what = "same key in two sections",
		  .text = RUBY "\tcolour = red\n"
			  "[host \"opal\"]\n"
			  "\tarch = arm64\n"
			  "\taddress = o\n"
			  "\tcolour = red #<\n",
		  .msg = "host 'opal': colour: unknown key" },
		{ .what = "key starting with a digit",
		  .text = RUBY "\t9port = 22 #<\n",
		  .msg = "host 'ruby': 9port: unknown key" },
		{ .what = "entry on the header's line",
		  .text = "[host \"ruby\"] arch = sparc #<\n"
			  "\taddress = a\n",
		  .msg = "host 'ruby': arch: unknown value 'sparc'" },
	};

	(void)state;
	check_bad_table(cases, ARRAY_SIZE(cases));
}

/* diag collects every problem of a file, not only the first. */
static void test_all_problems(void **state)
{
	char *path;
	struct conf_diag diag;
	struct lab lab;

	(void)state;
	path = write_conf("many.conf",
			  "[widget]\n"
			  RUBY
			  "\tport = 0\n"
			  "\tcolour = red\n"
			  JOB_A
			  "\tneeds = ghost\n");
	conf_diag_init(&diag);
	/* messages already in diag are kept */
	conf_diag_add(&diag, "earlier", 1, "x");
	assert_int_equal(labconf_load(path, &lab, &diag), -1);
	if (diag.msgs.n != 6 || !has_msg(&diag, path, 1, "unknown section") ||
	    !has_msg(&diag, path, 5, "port: 0 is out of range") ||
	    !has_msg(&diag, path, 6, "colour: unknown key") ||
	    !has_msg(&diag, path, 10, "no job 'ghost'") ||
	    !has_msg(&diag, path, 8, "no recipe 'r'") ||
	    strcmp(diag.msgs.v[0], "earlier:1: x")) {
		print_msgs(&diag);
		fail_msg("unexpected messages");
	}
	conf_diag_release(&diag);
	unlink(path);
	free(path);
}

/* [requirements] and [evidence]: a file in a tree stays a path in it,
 * one on disk and the key are resolved beside the configuration. */
static void test_evidence_sections(void **state)
{
	static const struct bad_case cases[] = {
		{ .what = "requirements of an unknown tree",
		  .text = "[requirements]\n"
			  "\ttree = linux #<\n"
			  TREE_XEN,
		  .msg = "[requirements]: tree: no tree 'linux'" },
		{ .what = "requirements file outside its tree",
		  .text = "[requirements]\n"
			  "\ttree = xen\n"
			  "\tfile = ../REQUIREMENTS #<\n"
			  TREE_XEN,
		  .msg = "a path inside the tree" },
		{ .what = "requirements file absolute in a tree",
		  .text = "[requirements]\n"
			  "\ttree = xen\n"
			  "\tfile = /etc/REQUIREMENTS #<\n"
			  TREE_XEN,
		  .msg = "a path inside the tree" },
		{ .what = "evidence signer with a space",
		  .text = "[evidence]\n"
			  "\tsigner = evidence lab #<\n",
		  .msg = "a principal of letters" },
		{ .what = "evidence signer with a comma",
		  .text = "[evidence]\n"
			  "\tsigner = a@lab,b@lab #<\n",
		  .msg = "a principal of letters" },
		{ .what = "evidence signer a pattern",
		  .text = "[evidence]\n"
			  "\tsigner = *@lab #<\n",
		  .msg = "a principal of letters" },
		{ .what = "unknown requirements format",
		  .text = "[requirements]\n"
			  "\tformat = strictdoc #<\n",
		  .msg = "strictdoc" },
	};
	struct lab lab;
	char *path;

	(void)state;
	check_bad_table(cases, ARRAY_SIZE(cases));
	path = write_conf("ev.conf", "[requirements]\n\ttree = xen\n"
			  "\tfile = docs/REQS\n" TREE_XEN
			  "[evidence]\n\tkey = keys/ev\n");
	load_ok(path, &lab);
	assert_int_equal(lab.requirements.set, 1);
	assert_string_equal(lab.requirements.tree, "xen");
	assert_string_equal(lab.requirements.file, "docs/REQS");
	assert_string_equal(lab.requirements.format, "hangar");
	assert_abs(lab.evidence.key, "keys/ev");
	assert_string_equal(lab.evidence.signer, "hangar");
	labconf_release(&lab);
	unlink(path);
	free(path);
	path = write_conf("ev.conf", "[requirements]\n\tfile = REQS\n"
			  "[evidence]\n\tsigner = ev@lab\n");
	load_ok(path, &lab);
	assert_null(lab.requirements.tree);
	assert_abs(lab.requirements.file, "REQS");
	assert_null(lab.evidence.key);
	assert_string_equal(lab.evidence.signer, "ev@lab");
	labconf_release(&lab);
	unlink(path);
	free(path);
	path = write_conf("ev.conf", TREE_XEN);
	load_ok(path, &lab);
	assert_int_equal(lab.requirements.set, 0);
	assert_null(lab.requirements.file);
	labconf_release(&lab);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_lab_defaults),
		cmocka_unit_test(test_relative_path),
		cmocka_unit_test(test_sites),
		cmocka_unit_test(test_repeated_steps),
		cmocka_unit_test(test_arch_netboot),
		cmocka_unit_test(test_bad_sections_keys),
		cmocka_unit_test(test_bad_hosts),
		cmocka_unit_test(test_bad_sites),
		cmocka_unit_test(test_bad_jobs),
		cmocka_unit_test(test_bad_branches),
		cmocka_unit_test(test_bad_recipes),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_line_placement),
		cmocka_unit_test(test_all_problems),
		cmocka_unit_test(test_evidence_sections),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
