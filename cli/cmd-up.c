/*
 * cmd-up.c: `hangar up`, everything in one process tree: the database
 * (the private cluster when none is configured), migrations, the lab
 * configuration, and the daemons as child processes, restarted when they
 * exit unexpectedly. With --demo it first writes its own configuration,
 * simulated lab and demo tree under the state directory.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "db-cluster.h"
#include "db-gate.h"
#include "db-lab.h"
#include "db-token.h"
#include "fsutil.h"
#include "gitx.h"
#include "log.h"
#include "proc.h"
#include "strnum.h"
#include "vec.h"
#include "xalloc.h"
#include "banned.h"

#ifndef HANGAR_DATADIR
#define HANGAR_DATADIR "/usr/share/hangar"
#endif

#define UP_DEMO_STATE "/var/lib/hangar-demo"
#define UP_DEMO_NET "127.78.0"

const char cmd_up_usage[] =
	"hangar up [--config FILE] [--demo] [--listen HOST:PORT] [--lab-net 127.A.B]\n"
	"\n"
	"Runs everything in one process tree: the database (a private\n"
	"PostgreSQL cluster under the state directory when [lab] database is\n"
	"not set), its migrations, the lab configuration (as 'hangar lab\n"
	"apply'), and the daemons as child processes (scheduler, worker,\n"
	"gate, web), restarting any that exits unexpectedly. Ctrl-C (or SIGTERM)\n"
	"stops them all, and the private cluster. SIGHUP re-applies the\n"
	"configuration and passes it on to the daemons; a file with errors\n"
	"(each named with its file and line) keeps the old one everywhere: a\n"
	"daemon restarted meanwhile starts from the last good one, kept in\n"
	"STATE/up/hangar.conf (includes flattened, paths absolute).\n"
	"\n"
	"The private cluster: when it dies (its postmaster gone, postmaster.pid\n"
	"left behind) it is started again. When it is stopped on purpose\n"
	"('hangar db stop', pg_ctl stop) it stays stopped: the daemons wait\n"
	"for it and reconnect once 'hangar db start' started it; a daemon\n"
	"that exits meanwhile is restarted then.\n"
	"\n"
	"  --demo        write and use a demo setup under the state directory\n"
	"                (--state, default " UP_DEMO_STATE "): a simulated lab\n"
	"                of 7 hosts on 127.78.0.x, each with an ipmi_sim BMC: 4\n"
	"                real sshd hosts with console streams and 3 QEMU\n"
	"                machines (x86_64, arm64, riscv64) booting from TFTP;\n"
	"                the demo tree 'minivisor' and its branch\n"
	"  --listen      dashboard address (overrides [lab] listen)\n"
	"  --lab-net     the demo lab's loopback /24 (default " UP_DEMO_NET ")\n"
	"\n"
	"The demo needs root (sshd and the BMCs bind privileged ports).\n";

/* the daemons and the demo's developer */
#define UP_MAX_CHILDREN 8

/* The daemons of this release; later ones join this table. */
static const char *const up_daemons[] = { "scheduler", "worker", "gate", "web",
					   NULL };

struct up_child {
	const char *name;
	pid_t pid;
	long long started_ms;
	long long restart_at_ms;  /* 0: not waiting to restart */
	int backoff_ms;
	int held;                 /* its restart waits for the database */
};

/* The private cluster as the supervisor last saw it. */
enum up_db { UP_DB_UP, UP_DB_STOPPED, UP_DB_DIED };

struct up {
	struct cli *cli;
	const char *config;
	const char *listen;
	char *exe;
	int demo;
	char *lab_dir;            /* demo: the simulated lab */
	char *demo_token;         /* demo: logs the newcomer in */
	const char *state;        /* the state directory we hold the lock of */
	char *last_good;          /* STATE/up/hangar.conf, NULL: none */
	int conf_broken;          /* the last SIGHUP's file had errors */
	int private_db;
	enum up_db db;
	long long db_check_ms;    /* next look at the private cluster */
	long long db_restart_ms;  /* next try to start it after it died */
	int db_backoff_ms;
	int apply_pending;        /* a SIGHUP came while it was stopped */
	struct up_child children[UP_MAX_CHILDREN];
	size_t nchildren;
};

/*
 * Where lab/ is (the simulated lab and the demo tree): $HANGAR_DATADIR,
 * else ../share/hangar beside the running binary (an installed hangar,
 * wherever its PREFIX), else the one it was built with (the source
 * tree's hosts/).
 */
static const char *up_datadir(void)
{
	static char found[PATH_MAX];
	const char *d = getenv("HANGAR_DATADIR");
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (d && *d)
		return d;
	if (found[0])
		return found;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')))
			*slash = '\0';   /* PREFIX/bin */
		if ((slash = strrchr(exe, '/'))) {
			*slash = '\0';   /* PREFIX */
			char *share = xasprintf("%s/share/hangar", exe);

			if (strlen(share) < sizeof(found) && fs_exists(share))
				memcpy(found, share, strlen(share) + 1);
			free(share);
		}
	}
	return found[0] ? found : HANGAR_DATADIR;
}

static int up_run_script(const char *script, struct vec *args, struct err *err)
{
	struct vec argv = VEC_INIT;
	int rc;

	vec_push(&argv, "bash");
	vec_pushf(&argv, "%s/lab/%s", up_datadir(), script);
	for (size_t i = 0; i < args->n; i++)
		vec_push(&argv, args->v[i]);
	rc = proc_run(vec_argv(&argv), NULL, NULL, err);
	if (rc > 0)
		rc = err_set(err, ERR_FAIL, "%s %s failed (exit %d)", script,
			     args->n ? args->v[0] : "", rc);
	vec_clear(&argv);
	return rc < 0 ? rc : 0;
}

static int up_demo_config(const char *state, const char *listen, int xen,
			  struct err *err)
{
	struct buf b = BUF_INIT;
	char *path = xasprintf("%s/hangar.conf", state);
	int rc;

	buf_addf(&b,
		 "# Written by 'hangar up --demo'. Edit it freely: 'hangar up --demo'\n"
		 "# only writes it when it does not exist.\n"
		 "[lab]\n"
		 "\tstate = %s\n"
		 "\tlisten = %s\n"
		 "\tidentity = lab/id_ed25519\n"
		 "\ttftp = lab/tftp\n"
		 "\n"
		 "# The simulated hosts, written by hangar's lab.sh.\n"
		 "[include]\n"
		 "\tpath = lab/hosts.conf\n"
		 "\n"
		 "[tree \"minivisor\"]\n"
		 "\turl = trees/minivisor.git\n"
		 "\n"
		 "[branch \"minivisor\"]\n"
		 "\ttree = minivisor\n"
		 "\tstaging = staging\n"
		 "\ttarget = master\n"
		 "\tjobs = build-amd64 test-amd64 test-arm64 test-riscv64 "
		 "test-amd64-boot test-arm64-boot test-riscv64-boot\n"
		 "\n"
		 "[job \"build-amd64\"]\n"
		 "\trecipe = build\n"
		 "\tarch = x86_64\n"
		 "\tflags = build\n"
		 "\trunvar = make_flags=-j2\n"
		 "\n",
		 state, listen);
	/* test-ARCH on the sshd hosts, test-ARCH-boot on the QEMU ones */
	for (const char *const *a = (const char *const[]){ "amd64", "arm64",
							  "riscv64", NULL };
	     *a; a++)
		buf_addf(&b,
			 "[job \"test-%s\"]\n"
			 "\trecipe = test\n"
			 "\tarch = %s\n"
			 "\tflags = ssh\n"
			 "\tneeds = build-amd64\n"
			 "\n"
			 "[job \"test-%s-boot\"]\n"
			 "\trecipe = boot\n"
			 "\tarch = %s\n"
			 "\tflags = qemu\n"
			 "\tneeds = build-amd64\n"
			 "\n",
			 *a, !strcmp(*a, "amd64") ? "x86_64" : *a,
			 *a, !strcmp(*a, "amd64") ? "x86_64" : *a);
	/* Debian's Xen, when the lab has it (make deps): not gated, but
	 * there to request (hangar request --job test-amd64-xen) */
	if (xen)
		buf_addstr(&b,
			   "# Debian's Xen and a Debian dom0 on the x86_64 QEMU host\n"
			   "# (the lab's recipe qemu-xen): request it to see one boot.\n"
			   "[job \"test-amd64-xen\"]\n"
			   "\trecipe = qemu-xen\n"
			   "\tarch = x86_64\n"
			   "\tflags = qemu\n"
			   "\n");
	buf_addstr(&b,
		   "[recipe \"build\"]\n"
		   "\tstep = build make dist boot\n"
		   "\tartifacts = dist/*.tar.gz bin/boot-*.img\n"
		   "\n"
		   "[recipe \"test\"]\n"
		   "\tstep = host-power-cycle\n"
		   "\tstep = install-build mkdir -p installed && tar xzf dist/minivisor.tar.gz -C installed\n"
		   "\tstep = run boot ./installed/bin/check-boot\n"
		   "\tstep = run timeout=300 smoke ./installed/tests/smoke.sh\n"
		   "\tstep = logs-capture installed/tests/smoke.sh\n"
		   "\n"
		   "# minivisor-boot from the network, through the firmware, judged\n"
		   "# from the serial console: its self-tests are steps boot/NAME.\n"
		   "[recipe \"boot\"]\n"
		   "\tstep = boot timeout=120 cases=hangar kernel=boot-%arch%.img "
		   "started=minivisor-boot .*: started expect=: done, powering off "
		   "fail=PANIC\n"
		   "\n"
		   "# A broken host comes back when this passes on it.\n"
		   "[recipe \"health\"]\n"
		   "\tstep = host-power-cycle\n"
		   "\tstep = run alive true\n"
		   "\n"
		   "[worker]\n"
		   "\thealth-check = health\n"
		   "\n"
		   "# Safety evidence (docs/evidence.md): the demo tree's REQUIREMENTS,\n"
		   "# and the key that signs the record of each push.\n"
		   "[requirements]\n"
		   "\ttree = minivisor\n"
		   "\tfile = REQUIREMENTS\n"
		   "\tformat = hangar\n"
		   "\n"
		   "[evidence]\n"
		   "\tkey = lab/evidence_ed25519\n"
		   "\tsigner = evidence@minivisor-lab\n");
	rc = fs_write_file(path, b.buf, b.len, 0644, err);
	buf_release(&b);
	free(path);
	return rc;
}

/* Creates the demo's lab, tree and configuration once; starts the lab. */
static int up_demo_prepare(struct up *u, const char *state, const char *net,
			   struct err *err)
{
	struct vec args = VEC_INIT;
	char *conf = xasprintf("%s/hangar.conf", state);
	char *trees = xasprintf("%s/trees", state);
	int rc;

	if (geteuid() != 0) {
		rc = err_set(err, ERR_USAGE,
			     "--demo needs root: its simulated hosts run sshd and IPMI BMCs on privileged ports");
		goto out;
	}
	rc = fs_mkdir_p(state, 0755, err);
	if (rc < 0)
		goto out;
	u->lab_dir = xasprintf("%s/lab", state);
	if (!fs_exists(u->lab_dir)) {
		printf("demo: creating the simulated lab in %s (from %s/lab)\n",
		       u->lab_dir, up_datadir());
		vec_push(&args, "create");
		vec_push(&args, u->lab_dir);
		vec_push(&args, "--net");
		vec_push(&args, net);
		vec_push(&args, "ruby:x86_64:build,ssh");
		vec_push(&args, "garnet:x86_64:ssh");
		vec_push(&args, "opal:arm64:ssh");
		vec_push(&args, "jade:riscv64:ssh");
		vec_push(&args, "quartz:x86_64:qemu");
		vec_push(&args, "beryl:arm64:qemu");
		vec_push(&args, "topaz:riscv64:qemu");
		rc = up_run_script("lab.sh", &args, err);
		vec_clear(&args);
		if (rc < 0)
			goto out;
	}
	{
		/* the key that signs the evidence records, made once */
		char *key = xasprintf("%s/evidence_ed25519", u->lab_dir);

		if (!fs_exists(key)) {
			vec_push(&args, "ssh-keygen");
			vec_push(&args, "-q");
			vec_push(&args, "-t");
			vec_push(&args, "ed25519");
			vec_push(&args, "-N");
			vec_push(&args, "");
			vec_push(&args, "-C");
			vec_push(&args, "evidence@minivisor-lab");
			vec_push(&args, "-f");
			vec_push(&args, key);
			rc = proc_run(vec_argv(&args), &(struct proc_opts){
					.stdin_path = "/dev/null" }, NULL, err);
			vec_clear(&args);
			if (rc != 0) {
				rc = rc < 0 ? rc : err_set(err, ERR_FAIL,
							   "ssh-keygen -f %s failed",
							   key);
				free(key);
				goto out;
			}
			printf("demo: made the evidence signing key %s\n", key);
		}
		free(key);
	}
	if (!fs_exists(trees)) {
		printf("demo: creating the demo tree in %s\n", trees);
		vec_push(&args, "create");
		vec_push(&args, trees);
		rc = up_run_script("demo-tree.sh", &args, err);
		vec_clear(&args);
		if (rc < 0)
			goto out;
	}
	if (!fs_exists(conf)) {
		char *hosts = xasprintf("%s/hosts.conf", u->lab_dir);
		struct buf hb = BUF_INIT;
		int xen = buf_read_file(&hb, hosts) == 0 && hb.buf &&
			  strstr(hb.buf, "[recipe \"qemu-xen\"]");

		buf_release(&hb);
		free(hosts);
		rc = up_demo_config(state, u->listen ? u->listen : "127.0.0.1:8080",
				    xen, err);
		if (rc < 0)
			goto out;
		printf("demo: wrote %s\n", conf);
	}
	/* a previous run killed hard may have left lab processes behind */
	vec_push(&args, "stop");
	vec_push(&args, u->lab_dir);
	up_run_script("lab.sh", &args, err);
	vec_clear(&args);
	printf("demo: starting the simulated lab\n");
	vec_push(&args, "start");
	vec_push(&args, u->lab_dir);
	rc = up_run_script("lab.sh", &args, err);
	vec_clear(&args);
	u->config = conf;
	conf = NULL;
out:
	free(conf);
	free(trees);
	return rc;
}

static void up_demo_stop(struct up *u)
{
	struct err err = ERR_INIT;
	struct vec args = VEC_INIT;

	if (!u->lab_dir)
		return;
	vec_push(&args, "stop");
	vec_push(&args, u->lab_dir);
	if (up_run_script("lab.sh", &args, &err) < 0)
		log_warnx("%s", err.msg);
	vec_clear(&args);
}

static int up_apply(struct up *u, int quiet)
{
	struct lab_apply_result res;
	struct err err = ERR_INIT;
	struct db *db;
	int rc = cli_open_db(u->cli, &db);

	if (rc)
		return rc;
	rc = db_lab_apply(db, &u->cli->lab, 0, &res, &err);
	db_close(db);
	if (rc < 0)
		return cli_fail(&err);
	if (!quiet || res.lines.n)
		printf("lab: %zu change(s) applied from %s\n", res.lines.n,
		       u->cli->lab.path);
	lab_apply_result_release(&res);
	return 0;
}

/*
 * The demo's admin token, made once and kept in STATE/demo-token (0600),
 * so that the newcomer can log in and request jobs in the browser.
 */
static void up_demo_token(struct up *u, const char *state)
{
	char *path = xasprintf("%s/demo-token", state), *token = NULL;
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	struct db *db;
	long id;

	if (!fs_exists(path) && cli_open_db(u->cli, &db) == 0) {
		if (db_token_create(db, "demo", ROLE_ADMIN, NULL, "hangar up --demo", &id,
				    &token, &err) < 0 ||
		    fs_write_file(path, token, strlen(token), 0600, &err) < 0)
			log_warnx("demo token: %s", err.msg);
		free(token);
		db_close(db);
	}
	if (buf_read_file(&b, path) == 0) {
		buf_rtrim(&b);
		u->demo_token = buf_detach(&b);
	}
	buf_release(&b);
	free(path);
}

/* Keeps the configuration just loaded cleanly as the last good one. */
static void up_keep_good_conf(struct up *u)
{
	struct err err = ERR_INIT;
	char *dir = xasprintf("%s/up", u->state);

	free(u->last_good);
	u->last_good = xasprintf("%s/hangar.conf", dir);
	if (fs_mkdir_p(dir, 0755, &err) < 0 ||
	    up_conf_snapshot(u->cli->lab.path, u->last_good, &err) < 0) {
		/* an older one would restart a daemon on older settings */
		log_warnx("%s; restarted daemons read %s as it is then", err.msg,
			  u->cli->lab.path);
		unlink(u->last_good);
		free(u->last_good);
		u->last_good = NULL;
	}
	free(dir);
}

/* Whether path loads without errors (quietly: they were said already). */
static int up_conf_clean(const char *path)
{
	struct conf_diag diag;
	struct lab lab;
	int rc;

	conf_diag_init(&diag);
	rc = labconf_load(path, &lab, &diag);
	if (rc == 0)
		labconf_release(&lab);
	conf_diag_release(&diag);
	return rc == 0;
}

/*
 * The configuration a child starts with: the user's file, unless the last
 * SIGHUP found errors in it or a restart finds some (edited since): then
 * the last good one, the settings hangar up keeps. A child restarted on
 * the broken file would exit 2 at every try.
 */
static const char *up_child_config(struct up *u, const struct up_child *c)
{
	const char *path = u->cli->lab.path;
	const char *why;

	if (!u->last_good)
		return path;
	if (u->conf_broken)
		why = "had errors at the last SIGHUP";
	else if (c->restart_at_ms && !up_conf_clean(path))
		why = "has errors since it was last read";
	else
		return path;
	log_warnx("%s: %s %s: it starts with the last good configuration, %s",
		  c->name, path, why, u->last_good);
	return u->last_good;
}

static int up_spawn(struct up *u, struct up_child *c)
{
	struct vec argv = VEC_INIT;
	struct proc_opts opts = { 0 };
	struct err err = ERR_INIT;

	vec_push(&argv, u->exe);
	vec_push(&argv, "--config");
	vec_push(&argv, up_child_config(u, c));
	if (u->cli->state) {
		vec_push(&argv, "--state");
		vec_push(&argv, u->cli->lab.state);
	}
	if (u->cli->verbose)
		vec_push(&argv, "-v");
	vec_push(&argv, c->name);
	if (!strcmp(c->name, "web") && u->listen) {
		vec_push(&argv, "--listen");
		vec_push(&argv, u->listen);
	}
	/* own process group: Ctrl-C reaches us, and we stop them in order */
	opts.new_session = 1;
	opts.die_with_parent = 1;
	c->pid = proc_spawn(vec_argv(&argv), &opts, &err);
	vec_clear(&argv);
	if (c->pid < 0) {
		log_warnx("%s: %s", c->name, err.msg);
		c->pid = 0;
		return -1;
	}
	c->started_ms = proc_now_ms();
	c->restart_at_ms = 0;
	return 0;
}

/* Whether something accepts TCP connections at HOST:PORT. */
static int up_port_open(const char *listen)
{
	struct addrinfo hints, *ai = NULL;
	const char *colon = strrchr(listen, ':');
	char *host;
	int fd, ok = 0;

	if (!colon)
		return 0;
	host = xstrndup(listen, (size_t)(colon - listen));
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &ai) == 0) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ok = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
	}
	free(host);
	return ok;
}

static char *up_dashboard_url(const char *listen)
{
	if (!strncmp(listen, "0.0.0.0:", 8))
		return xasprintf("http://127.0.0.1:%s/", listen + 8);
	return xasprintf("http://%s/", listen);
}

static void up_reap(struct up *u, int stopping)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < u->nchildren; i++) {
			struct up_child *c = &u->children[i];
			long long ran;

			if (c->pid != pid)
				continue;
			c->pid = 0;
			if (stopping)
				break;
			ran = proc_now_ms() - c->started_ms;
			/* quick deaths back off, up to 30 s; a long run resets */
			c->backoff_ms = ran > 10000 ? 1000
				       : c->backoff_ms ? c->backoff_ms * 2 : 1000;
			if (c->backoff_ms > 30000)
				c->backoff_ms = 30000;
			c->restart_at_ms = proc_now_ms() + c->backoff_ms;
			if (WIFEXITED(status))
				log_warnx("%s exited with status %d; restarting in %ds",
					  c->name, WEXITSTATUS(status),
					  c->backoff_ms / 1000);
			else
				log_warnx("%s killed by signal %d; restarting in %ds",
					  c->name, WTERMSIG(status),
					  c->backoff_ms / 1000);
		}
	}
}

static int up_self_exe(struct up *u)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

	if (n <= 0) {
		u->exe = xstrdup(u->cli->argv0);
		return 0;
	}
	path[n] = '\0';
	u->exe = xstrdup(path);
	return 0;
}

#define UP_DB_CHECK_MS 1000
#define UP_DB_BACKOFF_MAX_MS 30000

/*
 * The private cluster's rule. hangar up starts it again when it died: its
 * postmaster.pid is left behind (kill -9, a crash, the OOM killer). It
 * leaves it stopped when someone stopped it (pg_ctl stop and 'hangar db
 * stop' remove the file), for maintenance: the daemons wait for it, and
 * so do the restarts of daemons that exit meanwhile (a daemon that starts
 * brings the cluster up). Looked at every second: a file read and a
 * kill(pid, 0).
 */
static void up_watch_db(struct up *u)
{
	struct err err = ERR_INIT;
	long long now = proc_now_ms();
	pid_t pid;

	if (!u->private_db || now < u->db_check_ms)
		return;
	u->db_check_ms = now + UP_DB_CHECK_MS;
	switch (db_cluster_state(u->state, &pid)) {
	case DB_CLUSTER_RUNNING:
		if (u->db == UP_DB_UP)
			break;
		log_info("the private database runs again (pid %ld)", (long)pid);
		u->db = UP_DB_UP;
		if (u->apply_pending) {
			u->apply_pending = 0;
			up_apply(u, 0);
		}
		break;
	case DB_CLUSTER_NONE:
	case DB_CLUSTER_STOPPED:
		if (u->db != UP_DB_STOPPED)
			log_warnx("the private database was stopped (pg_ctl stop): the daemons wait for it; 'hangar db start' starts it");
		u->db = UP_DB_STOPPED;
		break;
	case DB_CLUSTER_DEAD:
		if (u->db != UP_DB_DIED) {
			log_warnx("the private database died (stale postmaster.pid); starting it again");
			u->db = UP_DB_DIED;
			u->db_backoff_ms = 0;
			u->db_restart_ms = now;
		}
		if (now < u->db_restart_ms)
			break;
		struct db_cluster_conf cc = { u->cli->lab.db_listen,
					      u->cli->lab.db_sync_standby };

		if (db_cluster_ensure(u->state, &cc, &err) == 0) {
			u->db_check_ms = 0;   /* say at once that it runs */
			break;
		}
		/* its backends may still hold the old shared memory a moment */
		u->db_backoff_ms = u->db_backoff_ms ? u->db_backoff_ms * 2 : 1000;
		if (u->db_backoff_ms > UP_DB_BACKOFF_MAX_MS)
			u->db_backoff_ms = UP_DB_BACKOFF_MAX_MS;
		u->db_restart_ms = proc_now_ms() + u->db_backoff_ms;
		log_warnx("%s; trying again in %ds", err.msg,
			  u->db_backoff_ms / 1000);
		break;
	}
}

/* Restarts the children due, unless the database they need was stopped. */
static void up_restart_due(struct up *u)
{
	long long now = proc_now_ms();
	int due = 0;

	for (size_t i = 0; i < u->nchildren; i++)
		due |= !u->children[i].pid && u->children[i].restart_at_ms &&
		       now >= u->children[i].restart_at_ms;
	if (!due)
		return;
	/* a stop of a second ago must hold them too: look again */
	u->db_check_ms = 0;
	up_watch_db(u);
	for (size_t i = 0; i < u->nchildren; i++) {
		struct up_child *c = &u->children[i];

		if (c->pid || !c->restart_at_ms || now < c->restart_at_ms)
			continue;
		if (u->db == UP_DB_STOPPED) {
			if (!c->held)
				log_info("%s: not restarted while the private database is stopped (it would start it)",
					 c->name);
			c->held = 1;
			continue;
		}
		c->held = 0;
		up_spawn(u, c);
	}
}

#define UP_STOP_MS 10000

/* SIGTERM to every daemon at once; says which had to be killed. */
static void up_stop_children(struct up *u)
{
	pid_t pids[UP_MAX_CHILDREN];
	int killed[UP_MAX_CHILDREN];
	long long start = proc_now_ms();

	for (size_t i = 0; i < u->nchildren; i++)
		pids[i] = u->children[i].pid;
	proc_stop_all(pids, u->nchildren, UP_STOP_MS, killed);
	for (size_t i = 0; i < u->nchildren; i++) {
		if (killed[i])
			log_warnx("%s did not stop within %d s of SIGTERM: killed",
				  u->children[i].name, UP_STOP_MS / 1000);
		u->children[i].pid = 0;
	}
	log_info("the daemons stopped in %.1f s",
		 (double)(proc_now_ms() - start) / 1000);
}

static int up_supervise(struct up *u)
{
	struct err err = ERR_INIT;
	sigset_t set;
	int announced = 0;
	long long deadline = proc_now_ms() + 30000;
	const char *listen = u->listen ? u->listen : u->cli->lab.listen;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (const char *const *d = up_daemons; *d; d++) {
		struct up_child *c = &u->children[u->nchildren++];

		c->name = *d;
		up_spawn(u, c);
	}
	if (u->demo) {
		/* the demo's developer: commits to staging by itself */
		u->children[u->nchildren].name = "demo-drive";
		up_spawn(u, &u->children[u->nchildren++]);
	}
	for (;;) {
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		int sig = sigtimedwait(&set, NULL, &ts);

		if (sig == SIGINT || sig == SIGTERM) {
			printf("\nstopping (%s)\n", sig == SIGINT ? "interrupt"
							     : "terminate");
			break;
		}
		if (sig == SIGHUP) {
			/* a file with errors keeps the old settings, here and
			 * in the children, which are not told */
			log_info("SIGHUP: re-reading %s", u->cli->lab.path);
			if (cli_reload_lab(u->cli, u->config) < 0) {
				u->conf_broken = 1;
				continue;
			}
			u->conf_broken = 0;
			up_keep_good_conf(u);
			/* applying would start a cluster stopped on purpose */
			u->db_check_ms = 0;
			up_watch_db(u);
			if (u->db == UP_DB_STOPPED) {
				u->apply_pending = 1;
				log_info("the configuration goes to the database when it runs again");
			} else {
				up_apply(u, 0);
			}
			for (size_t i = 0; i < u->nchildren; i++)
				if (u->children[i].pid)
					kill(u->children[i].pid, SIGHUP);
			continue;
		}
		up_reap(u, 0);
		up_watch_db(u);
		up_restart_due(u);
		if (!announced && up_port_open(listen)) {
			char *url = up_dashboard_url(listen);

			printf("hangar is up: dashboard %s  (Ctrl-C stops it)\n",
			       url);
			if (u->demo_token)
				printf("demo: log in at %slogin as 'demo' (admin) with the "
				       "token %s\n", url, u->demo_token);
			fflush(stdout);
			free(url);
			announced = 1;
		} else if (!announced && proc_now_ms() > deadline) {
			log_warnx("the dashboard does not answer on %s yet", listen);
			deadline = LLONG_MAX;
		}
	}
	up_stop_children(u);
	up_reap(u, 1);
	(void)err;
	return 0;
}

/* Takes STATE/up.lock, held for the life of the process. */
static int up_lock(const char *state, struct err *err)
{
	char *path;
	int fd;

	if (fs_mkdir_p(state, 0755, err) < 0)
		return err->code;
	path = xasprintf("%s/up.lock", state);
	fd = fs_lock(path, 1, err);
	free(path);
	if (fd == ERR_EXISTS)
		return err_set(err, ERR_FAIL,
			       "another 'hangar up' runs with the state directory %s",
			       state);
	return fd;
}

int cmd_up(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "demo", no_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "lab-net", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	const char *net = UP_DEMO_NET;
	struct up u;
	char *state = NULL;
	int c, rc, lockfd = -1, private_db;

	memset(&u, 0, sizeof(u));
	u.cli = cli;
	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_up_usage)) != -1) {
		switch (c) {
		case 'c': cli->config = optarg; break;
		case 'd': u.demo = 1; break;
		case 'l': u.listen = optarg; break;
		case 'n': net = optarg; break;
		}
	}
	if (optind != argc)
		return cli_usage_error(cmd_up_usage, "up: too many arguments");
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("up", cli->verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, 1);
	up_self_exe(&u);
	if (u.demo) {
		state = fs_absolute(cli->state ? cli->state : UP_DEMO_STATE);
	} else {
		rc = cli_load_lab(cli, NULL);
		if (rc)
			goto out;
		state = xstrdup(cli->lab.state);
	}
	/* one supervisor per state directory, before touching anything */
	lockfd = up_lock(state, &err);
	if (lockfd < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (u.demo) {
		rc = up_demo_prepare(&u, state, net, &err);
		if (rc < 0) {
			rc = cli_fail(&err);
			goto out;
		}
		rc = cli_load_lab(cli, u.config);
		if (rc)
			goto out;
	}
	private_db = cli->lab.database == NULL;
	printf("database: %s\n", private_db ? "private cluster" : "configured");
	rc = up_apply(&u, 0);
	if (rc)
		goto stop_db;
	u.state = state;
	u.private_db = private_db;
	up_keep_good_conf(&u);
	if (u.demo)
		up_demo_token(&u, state);
	up_supervise(&u);
stop_db:
	if (private_db && db_cluster_stop(cli->lab.state, &err) < 0)
		log_warnx("%s", err.msg);
out:
	up_demo_stop(&u);
	free(u.demo_token);
	if (lockfd >= 0)
		close(lockfd);
	free(state);
	free(u.exe);
	free(u.lab_dir);
	free(u.last_good);
	if (u.config)
		free((char *)u.config);
	return rc;
}

/* ---- the demo's developer ---- */

const char cmd_demo_drive_usage[] =
	"hangar demo-drive [--branch B] [--pause S]\n"
	"\n"
	"What 'hangar up --demo' runs to bring the demo alive: a developer\n"
	"committing to the demo tree's staging by itself, one change at a\n"
	"time: a good commit, then one that breaks an arch's smoke test, then\n"
	"its fix (the arch changes each round). It waits for the gate to\n"
	"decide each commit, then for S (default: $HANGAR_DEMO_PAUSE, else\n"
	"30s), before the next.\n";

static volatile sig_atomic_t demo_stop;

static void demo_on_signal(int sig)
{
	(void)sig;
	demo_stop = 1;
}

/* Sleeps up to ms, waking early when told to stop. */
static void demo_nap_ms(long ms)
{
	for (long i = 0; i < (ms + 199) / 200 && !demo_stop; i++)
		usleep(200 * 1000);
}

static void demo_pause(long secs)
{
	demo_nap_ms(secs * 1000);
}

/*
 * Whether the database is away, reconnecting with the daemons' back-off
 * (db_keep): said once when lost, once when back.
 */
static int demo_db_down(struct db *db, struct db_keep *keep)
{
	struct err err = ERR_INIT;

	db_keep_log(db_keep(db, keep, &err), &err);
	return keep->down;
}

/* Waits until the gate decided rev (its newest flight of it). */
static int demo_wait_decided(struct db *db, struct db_keep *keep,
			     const struct gate_branch *b, const char *rev)
{
	while (!demo_stop) {
		struct err err = ERR_INIT;
		char *verdict = NULL;
		long flight = 0;

		if (demo_db_down(db, keep)) {
			demo_nap_ms(db_keep_wait_ms(keep));
			continue;
		}
		if (db_gate_tested(db, b->name, b->tree, rev, NULL, &flight, &verdict,
				   NULL, &err) < 0) {
			/* a lost database is said once, by demo_db_down() */
			if (db_connection_ok(db))
				log_warnx("%s", err.msg);
		} else if (flight && verdict && strcmp(verdict, "pending")) {
			printf("demo: flight %ld decided %s for %.12s\n", flight,
			       verdict, rev);
			free(verdict);
			return 0;
		}
		free(verdict);
		demo_pause(2);
	}
	return -1;
}

static int demo_commit(const char *trees, const char *what, const char *arch,
		       struct err *err)
{
	struct vec argv = VEC_INIT;
	struct buf out = BUF_INIT;
	int rc;

	vec_push(&argv, "bash");
	vec_pushf(&argv, "%s/lab/demo-tree.sh", up_datadir());
	vec_push(&argv, "commit");
	vec_push(&argv, trees);
	vec_push(&argv, what);
	if (arch)
		vec_push(&argv, arch);
	rc = proc_run(vec_argv(&argv), NULL, &out, err);
	if (rc > 0)
		rc = err_set(err, ERR_FAIL, "demo-tree.sh commit %s: %s", what,
			     out.buf ? out.buf : "failed");
	vec_clear(&argv);
	buf_release(&out);
	return rc < 0 ? rc : 0;
}

int cmd_demo_drive(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "branch", required_argument, NULL, 'b' },
		{ "pause", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const archs[] = { "arm64", "riscv64", "x86_64" };
	struct err err = ERR_INIT;
	struct db_keep keep = { .channels = NULL };
	const char *branch = "minivisor";
	struct gate_branch b;
	struct sigaction sa;
	struct db *db;
	long pause = 30;
	char *trees, *cache;
	int c, rc, round = 0;

	if (getenv("HANGAR_DEMO_PAUSE") &&
	    strnum_duration(getenv("HANGAR_DEMO_PAUSE"), 0, 86400, &pause) < 0)
		return cli_usage_error(cmd_demo_drive_usage,
				       "HANGAR_DEMO_PAUSE: a duration");
	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_demo_drive_usage)) != -1) {
		if (c == 'b')
			branch = optarg;
		else if (c == 'p' && strnum_duration(optarg, 0, 86400, &pause) < 0)
			return cli_usage_error(cmd_demo_drive_usage, "--pause: a duration");
	}
	log_init("demo", LOG_LEVEL_INFO, 1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((rc = cli_open_db(cli, &db)))
		return rc;
	if (db_gate_branch(db, branch, &b, &err) < 0) {
		db_close(db);
		return cli_fail(&err);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = demo_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGHUP, SIG_IGN);   /* hangar up's re-apply is not for us */
	trees = xasprintf("%s/trees", cli->lab.state);
	cache = xasprintf("%s/git/%s.git", cli->lab.state, b.tree);
	while (!demo_stop) {
		static const char *const steps[] = { "good", "break", "fix" };
		const char *step = steps[round % 3];
		const char *arch = round % 3 ? archs[(round / 3) % 3] : NULL;
		char staging[41];

		/* the tip of staging first: the gate must be done with it */
		if (gitx_ref(cache, b.url, b.staging, staging, &err) < 0 ||
		    demo_wait_decided(db, &keep, &b, staging) < 0)
			break;
		demo_pause(pause);
		if (demo_stop)
			break;
		if (demo_commit(trees, step, arch, &err) < 0)
			break;
		/* as a push hook would: the gate need not wait its interval */
		if (db_gate_poke(db, &err) < 0) {
			log_warnx("demo: %s", err.msg);
			err_clear(&err);
		}
		printf("demo: committed to %s: %s%s\n", b.staging,
		       !strcmp(step, "good") ? "a good change" :
		       !strcmp(step, "break") ? "a change that breaks the smoke test on " :
		       "the fix for ", arch ? arch : "");
		round++;
	}
	if (err.code)
		log_warnx("demo: %s", err.msg);
	free(trees);
	free(cache);
	gate_branch_release(&b);
	db_close(db);
	return err.code ? cli_fail(&err) : 0;
}
