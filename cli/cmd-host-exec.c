/*
 * cmd-host-exec.c: `hangar host exec`: a command on a lab host over SSH,
 * the way workers run their steps (hosts/ssh.c: the lab identity, the host
 * key pinned in the database on first use, the host's workdir, a time
 * limit that kills the remote command). --count repeats it on one session
 * and --ssh-command does the same with one OpenSSH ssh per command, which
 * is what the benchmark compares.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "net.h"
#include "db-host.h"
#include "db-hostkey.h"
#include "ssh.h"
#include "strnum.h"
#include "vec.h"
#include "xalloc.h"
#include "banned.h"

const char cmd_host_exec_usage[] =
	"hangar host exec HOST [--timeout SECONDS] [--count N] [--json]\n"
	"                 [--ssh-command] [--put LOCAL:REMOTE] [--get REMOTE:LOCAL]\n"
	"                 [--] CMD...\n"
	"\n"
	"Runs CMD (its words joined by spaces, for the remote shell) on HOST in\n"
	"the host's workdir (cd WORKDIR && CMD), over SSH as the host's user\n"
	"with the [lab] identity. Its stdout and stderr come out here as they\n"
	"are written. The host key is pinned in the database on first use; a\n"
	"different key later is refused. Put CMD after -- when it has options.\n"
	"\n"
	"  --timeout S    stop CMD after S seconds (also 90s, 2m): it is killed\n"
	"                 on the host with everything it started\n"
	"  --count N      run CMD N times on one session, stopping at the first\n"
	"                 failure, then print on stderr \"exec: N commands in T ms\n"
	"                 (per command X ms)\" (T: from connecting to the end)\n"
	"  --json         print {\"commands\", \"ms\", \"per_command_ms\",\n"
	"                 \"exit_status\"} on stdout instead; CMD's stdout then\n"
	"                 goes to stderr\n"
	"  --ssh-command  run each command with OpenSSH's ssh instead, one\n"
	"                 connection each and no host key check (for comparison;\n"
	"                 a timeout there leaves CMD running on the host)\n"
	"  --put L:R      first upload local file L to R (SFTP, written under a\n"
	"                 temporary name and renamed; directories created)\n"
	"  --get R:L      then download R into local file L\n"
	"                 (a relative R is in the workdir; each may be repeated;\n"
	"                 with them CMD may be left out)\n"
	"\n"
	"Exit status: CMD's (128+N when signal N ended it); 1 when hangar failed\n"
	"(connection, host key, time limit), 2 for usage errors.\n";

static volatile sig_atomic_t exec_cancel;

static void exec_on_signal(int sig)
{
	(void)sig;
	exec_cancel = 1;
}

struct exec_args {
	const char *host;
	char *command;        /* cd WORKDIR && CMD; NULL: none */
	struct vec puts;      /* "LOCAL:REMOTE" */
	struct vec gets;      /* "REMOTE:LOCAL" */
	int count;
	long timeout_s;
	int json;
	int ssh_command;
};

struct exec_result {
	int ran;              /* commands that ended */
	int status;           /* the last one's */
	double ms;
};

static double exec_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Remote output: stream 1 to *arg (stdout, or stderr with --json). */
static int exec_output(void *arg, int stream, const char *data, size_t len)
{
	int fd = stream == 2 ? 2 : *(const int *)arg;

	return net_write_all(fd, data, len);
}

/* A remote path relative to the workdir. */
static char *exec_remote_path(const struct host *h, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	return xasprintf("%s/%s", h->workdir, path);
}

static int exec_transfers(struct ssh_conn *c, const struct host *h,
			  const struct exec_args *a, struct err *err)
{
	int rc = 0;

	for (size_t i = 0; !rc && i < a->puts.n; i++) {
		const char *spec = a->puts.v[i];
		size_t n = strcspn(spec, ":");
		char *local = xstrndup(spec, n);
		char *remote = exec_remote_path(h, spec + n + 1);
		struct stat st;
		int mode = stat(local, &st) == 0 ? (int)(st.st_mode & 0777)
						 : 0644;

		rc = ssh_upload(c, local, remote, mode, err);
		free(local);
		free(remote);
	}
	for (size_t i = 0; !rc && i < a->gets.n; i++) {
		const char *spec = a->gets.v[i];
		size_t n = strcspn(spec, ":");
		char *remote_rel = xstrndup(spec, n);
		char *remote = exec_remote_path(h, remote_rel);

		rc = ssh_download(c, remote, spec + n + 1, 0, NULL, err);
		free(remote_rel);
		free(remote);
	}
	return rc;
}

static void exec_hostkey_hint(const struct host *h, const struct err *err)
{
	fprintf(stderr, "hangar: host '%s': %s\n", h->name, err->msg);
	fprintf(stderr,
		"hangar: if %s was reinstalled, check the new key, then clear the pin\n"
		"hangar: with: hangar host forget-key %s\n",
		h->name, h->name);
}

/* One session, a->count commands. Returns 0 or an exit status. */
static int exec_session(struct cli *cli, struct db *db, const struct host *h,
			const struct exec_args *a, struct exec_result *res)
{
	struct err err = ERR_INIT;
	struct ssh_conn *c = NULL;
	int outfd = a->json ? 2 : 1;
	struct ssh_exec_opts o = {
		.timeout_ms = (int)(a->timeout_s * 1000), .cancel = &exec_cancel,
		.output = exec_output, .arg = &outfd,
	};
	struct ssh_target t = {
		.host = h->address, .port = h->port, .user = h->user,
		.identity = cli->lab.identity, .cancel = &exec_cancel,
	};
	char *pin = NULL;
	double start;
	int rc;

	rc = db_hostkey_get(db, h->name, &pin, &err);
	if (rc)
		return cli_fail(&err);
	t.pinned_key = pin;
	if (a->timeout_s && a->timeout_s < 30)
		t.connect_timeout_ms = (int)(a->timeout_s * 1000);
	start = exec_now_ms();
	rc = ssh_connect(&t, &c, &err);
	if (rc == ERR_HOSTKEY) {
		exec_hostkey_hint(h, &err);
		rc = 1;
		goto out;
	}
	if (!rc && !pin) {
		char fp[SSH_FINGERPRINT_MAX] = "?";

		rc = db_hostkey_pin(db, h->name, ssh_host_key(c), &err);
		ssh_key_fingerprint(ssh_host_key(c), fp, sizeof(fp));
		if (!rc && cli->verbose)
			fprintf(stderr, "hangar: host '%s': pinned its host key %s\n",
				h->name, fp);
		if (rc == ERR_HOSTKEY) {
			exec_hostkey_hint(h, &err);
			rc = 1;
			goto out;
		}
	}
	if (!rc)
		rc = exec_transfers(c, h, a, &err);
	for (int i = 0; !rc && a->command && i < a->count; i++) {
		rc = ssh_exec(c, a->command, &o, &res->status, &err);
		if (!rc)
			res->ran++;
		if (!rc && res->status)
			break;
	}
	res->ms = exec_now_ms() - start;
	if (rc) {
		err_prefix(&err, "host '%s'", h->name);
		rc = cli_fail(&err);
	}
out:
	ssh_close(c);
	free(pin);
	return rc;
}

/* Waits for child pid, at most until deadline_ms (0: none), minding
 * cancel; kills it then. Returns its wait status or -1. */
static int exec_wait_child(pid_t pid, double deadline_ms, int *timed_out)
{
	int pfd = pidfd_open(pid, 0), status = 0, killed = 0;

	*timed_out = 0;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			status = -1;
			break;
		}
		if (!killed && (exec_cancel ||
				(deadline_ms && exec_now_ms() >= deadline_ms))) {
			*timed_out = !exec_cancel;
			kill(pid, SIGTERM);
			killed = 1;
		}
		if (pfd >= 0) {
			struct pollfd p = { pfd, POLLIN, 0 };

			poll(&p, 1, 100);
		} else {
			usleep(1000);
		}
	}
	if (pfd >= 0)
		close(pfd);
	return status;
}

/* a->count OpenSSH ssh processes, one after the other. */
static int exec_openssh(struct cli *cli, const struct host *h,
			const struct exec_args *a, struct exec_result *res)
{
	struct vec args = VEC_INIT;
	double start = exec_now_ms();
	int rc = 0;

	vec_push(&args, "ssh");
	vec_push(&args, "-n");
	vec_push(&args, "-T");
	vec_push(&args, "-o");
	vec_push(&args, "BatchMode=yes");
	vec_push(&args, "-o");
	vec_push(&args, "StrictHostKeyChecking=no");
	vec_push(&args, "-o");
	vec_push(&args, "UserKnownHostsFile=/dev/null");
	vec_push(&args, "-o");
	vec_push(&args, "LogLevel=ERROR");
	vec_push(&args, "-o");
	vec_push(&args, "IdentitiesOnly=yes");
	vec_push(&args, "-o");
	vec_push(&args, "ConnectTimeout=30");
	vec_push(&args, "-i");
	vec_push(&args, cli->lab.identity);
	vec_push(&args, "-p");
	vec_pushf(&args, "%d", h->port);
	vec_pushf(&args, "%s@%s", h->user, h->address);
	vec_push(&args, "--");
	vec_push(&args, a->command);
	for (int i = 0; i < a->count; i++) {
		double deadline = a->timeout_s
					  ? exec_now_ms() + (double)a->timeout_s * 1e3
					  : 0;
		int status, timed_out;
		pid_t pid = fork();

		if (pid < 0) {
			fprintf(stderr, "hangar: fork: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		if (pid == 0) {
			if (a->json)
				dup2(2, 1);
			signal(SIGINT, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			signal(SIGHUP, SIG_DFL);
			execvp("ssh", vec_argv(&args));
			fprintf(stderr, "hangar: ssh: %s\n", strerror(errno));
			_exit(127);
		}
		status = exec_wait_child(pid, deadline, &timed_out);
		if (timed_out || exec_cancel) {
			fprintf(stderr, "hangar: host '%s': ssh %s (the command may go on on the host)\n",
				h->name, timed_out ? "timed out" : "cancelled");
			rc = 1;
			break;
		}
		if (status < 0 || !WIFEXITED(status)) {
			fprintf(stderr, "hangar: host '%s': ssh ended abnormally\n",
				h->name);
			rc = 1;
			break;
		}
		res->ran++;
		res->status = WEXITSTATUS(status);
		if (res->status)
			break;
	}
	res->ms = exec_now_ms() - start;
	vec_clear(&args);
	return rc;
}

static int exec_parse(int argc, char **argv, struct exec_args *a, int *counted)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "ssh-command", no_argument, NULL, 's' },
		{ "put", required_argument, NULL, 'P' },
		{ "get", required_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	const char *u = cmd_host_exec_usage;
	int c;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, u)) != -1) {
		switch (c) {
		case 'c':
			if (strnum_int(optarg, 1, 1000000, &a->count) < 0)
				return cli_usage_error(u, "host exec: --count takes 1 to 1000000");
			*counted = 1;
			break;
		case 't':
			if (strnum_duration(optarg, 1, 7L * 86400, &a->timeout_s) < 0)
				return cli_usage_error(u, "host exec: --timeout takes 1 s to 7 days");
			break;
		case 'j':
			a->json = 1;
			break;
		case 's':
			a->ssh_command = 1;
			break;
		case 'P':
		case 'G':
			if (!strchr(optarg, ':') || optarg[0] == ':' ||
			    !optarg[strcspn(optarg, ":") + 1])
				return cli_usage_error(u, "host exec: --%s takes %s",
						       c == 'P' ? "put" : "get",
						       c == 'P' ? "LOCAL:REMOTE"
								: "REMOTE:LOCAL");
			vec_push(c == 'P' ? &a->puts : &a->gets, optarg);
			break;
		}
	}
	if (optind >= argc)
		return cli_usage_error(u, "host exec: which host?");
	a->host = argv[optind++];
	if (optind >= argc && !a->puts.n && !a->gets.n)
		return cli_usage_error(u, "host exec: no command");
	if (a->ssh_command && (a->puts.n || a->gets.n))
		return cli_usage_error(u, "host exec: --put and --get do not go with --ssh-command");
	if (a->ssh_command && optind >= argc)
		return cli_usage_error(u, "host exec: no command");
	return 0;
}

static char *exec_command(const struct host *h, int argc, char **argv)
{
	struct buf b = BUF_INIT;

	if (argc == 0)
		return NULL;
	buf_addstr(&b, "cd '");
	for (const char *p = h->workdir; *p; p++)
		if (*p == '\'')
			buf_addstr(&b, "'\\''");
		else
			buf_addch(&b, *p);
	buf_addstr(&b, "' && ");
	for (int i = 0; i < argc; i++)
		buf_addf(&b, "%s%s", i ? " " : "", argv[i]);
	return buf_detach(&b);
}

int cmd_host_exec(struct cli *cli, int argc, char **argv)
{
	struct exec_args a = { .count = 1 };
	struct exec_result res = { 0 };
	struct err err = ERR_INIT;
	struct sigaction sa;
	struct db *db = NULL;
	struct host h;
	int counted = 0, rc;

	rc = exec_parse(argc, argv, &a, &counted);
	if (rc)
		goto out;
	rc = cli_open_db(cli, &db);
	if (rc)
		goto out;
	if (!cli->lab.identity) {
		fprintf(stderr,
			"hangar: host exec: no SSH identity: set [lab] identity (the private key file) in %s\n",
			cli_config_path(cli));
		rc = 2;
		goto out;
	}
	if (db_host_get(db, a.host, &h, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	a.command = exec_command(&h, argc - optind, argv + optind);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = exec_on_signal;   /* no SA_RESTART: waits see it */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (a.ssh_command)
		rc = exec_openssh(cli, &h, &a, &res);
	else
		rc = exec_session(cli, db, &h, &a, &res);
	if (!rc && a.json) {
		cli_print_json(json_pack("{s:i, s:f, s:f, s:i}", "commands",
					 res.ran, "ms", res.ms, "per_command_ms",
					 res.ran ? res.ms / res.ran : 0.0,
					 "exit_status", res.status));
	} else if (!rc && (counted || a.ssh_command) && a.command) {
		fprintf(stderr, "exec: %d commands in %.1f ms (per command %.2f ms)\n",
			res.ran, res.ms, res.ran ? res.ms / res.ran : 0.0);
	}
	if (!rc)
		rc = res.status;
	host_release(&h);
out:
	free(a.command);
	vec_clear(&a.puts);
	vec_clear(&a.gets);
	db_close(db);
	return rc;
}
