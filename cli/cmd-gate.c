/*
 * cmd-gate.c: `hangar gate` (the daemon: gate/gate-loop.c), `hangar gate
 * run BRANCH` (one cycle), and `hangar branch list|block|unblock|force-push`.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "bisector.h"
#include "cli.h"
#include "db-flight.h"
#include "db-gate.h"
#include "gate-loop.h"
#include "gitx.h"
#include "log.h"
#include "proc.h"
#include "strnum.h"
#include "web.h"
#include "xalloc.h"
#include "banned.h"

const char cmd_gate_usage[] =
	"hangar gate [--once] | gate run BRANCH [--wait [--timeout S]] [--json]\n"
	"\n"
	"The push gate. For each branch it decides the flights that ended\n"
	"(the report against the baseline, one immediate retest of regressed\n"
	"test jobs, the push of staging's tested revision to the target as a\n"
	"fast-forward, the report mail), then starts the next flight: a\n"
	"baseline test of the target when the target was never tested on the\n"
	"branch, else a flight of the staging tip when it moved (a tip that\n"
	"was not pushed is tested again after [gate] again). As a daemon it\n"
	"wakes when a flight ends and every [gate] interval; SIGHUP re-reads\n"
	"the configuration, SIGINT/SIGTERM stop it.\n"
	"\n"
	"  --once     one cycle of every branch, then exit\n"
	"  run B      one cycle of branch B: prints 'flight N' and what it did\n"
	"             ('up to date' when staging is the target); when it has\n"
	"             nothing to decide, the staging tip is tested even if it\n"
	"             was before\n"
	"  --wait     then follow the flight (and its retest) to its verdict\n"
	"             and print the report (--json: the report JSON); exit 0\n"
	"             when a verdict was reached, push or no-push\n"
	"  --timeout  stop waiting after S (exit 1)\n";

const char cmd_branch_usage[] =
	"hangar branch list [--json] | block B [--reason TEXT] | unblock B |\n"
	"              force-push B REV [--reason TEXT] | force-push B --clear\n"
	"\n"
	"  list        each branch: refs, controls, its last gate flight\n"
	"  block       no push from B until unblocked, whatever the results\n"
	"              (OSSTest's $branch.block)\n"
	"  unblock     pushes again\n"
	"  force-push  push REV (a revision of the gated tree) to the target\n"
	"              even with regressions, once a flight has tested it: at\n"
	"              once if one did (OSSTest's $branch.force-rev); still\n"
	"              only as a fast-forward, and never while blocked\n"
	"Every use is an event of the branch with who and why.\n";

static volatile sig_atomic_t gate_stop, gate_reload;

static void gate_on_signal(int sig)
{
	if (sig == SIGHUP)
		gate_reload = 1;
	else
		gate_stop = 1;
	proc_wake();   /* its loop may be about to wait */
}

static void gate_conf_of(struct cli *cli, struct gate_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->state = cli->lab.state;
	c->identity = cli->lab.identity;
	c->url = cli->lab.url;
	c->sendmail = cli->lab.gate.sendmail;
	c->mail_to = cli->lab.gate.mail_to;
	c->mail_from = cli->lab.gate.mail_from;
	c->retest = cli->lab.gate.retest;
	c->bisect = cli->lab.gate.bisect;
	c->again = cli->lab.gate.again;
	c->requirements = &cli->lab.requirements;
	c->evidence_key = cli->lab.evidence.key;
	c->evidence_signer = cli->lab.evidence.signer;
	c->actor = db_actor();
}

static void gate_loop_conf_of(struct cli *cli, struct gate_loop_conf *c)
{
	gate_conf_of(cli, &c->gate);
	c->bisect = (struct bisector_conf){
		.state = c->gate.state, .url = c->gate.url,
		.actor = c->gate.actor, .sendmail = c->gate.sendmail,
		.mail_to = c->gate.mail_to, .mail_from = c->gate.mail_from,
		.max_commits = (size_t)cli->lab.gate.bisect_max_commits,
	};
	c->interval_ms = cli->lab.gate.interval * 1000;
}

/* SIGHUP: the configuration again ([gate], [lab] url, identity,
 * [requirements], [evidence]). */
static void gate_reload_conf(void *arg, struct gate_loop_conf *c)
{
	struct cli *cli = arg;

	if (cli_reload_lab(cli, NULL) == 0)
		gate_loop_conf_of(cli, c);
}

static int gate_daemon(struct cli *cli, struct db *db, int once)
{
	struct gate_loop_conf c;
	struct err err = ERR_INIT;
	struct sigaction sa;
	int rc;

	gate_loop_conf_of(cli, &c);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = gate_on_signal;
	proc_wake_init();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	rc = gate_loop(db, &c, once, &gate_stop, &gate_reload, gate_reload_conf,
		       cli, &err);
	return rc < 0 ? cli_fail(&err) : rc;
}

/* "3 queued, 1 running (test-arm64 smoke), 2 done" for a flight. */
static int gate_progress(struct db *db, long id, struct buf *line,
			 struct err *err)
{
	struct vec lines = VEC_INIT;
	char *status = NULL;
	int queued = 0, running = 0, done = 0;
	struct buf now = BUF_INIT;

	if (db_flight_progress(db, id, &status, &lines, err) < 0)
		return err->code;
	for (size_t i = 0; i < lines.n; i++) {
		struct vec w = VEC_INIT;

		vec_split(&w, lines.v[i]);
		if (w.n >= 2 && (!strcmp(w.v[1], "queued") || !strcmp(w.v[1], "preparing")))
			queued++;
		else if (w.n >= 2 && !strcmp(w.v[1], "running")) {
			running++;
			buf_addf(&now, "%s%s%s%s", now.len ? ", " : "", w.v[0],
				 w.n > 2 ? " " : "", w.n > 2 ? w.v[2] : "");
		} else
			done++;
		vec_clear(&w);
	}
	buf_addf(line, "flight %ld %s: %d queued, %d running, %d done", id, status,
		 queued, running, done);
	if (now.len)
		buf_addf(line, " (%s)", now.buf);
	buf_release(&now);
	free(status);
	vec_clear(&lines);
	return 0;
}

/* Follows flight to its verdict, deciding it when it ends. */
static int gate_wait(struct cli *cli, struct db *db, const char *branch,
		     long flight, long timeout, int quiet)
{
	struct gate_conf c;
	struct err err = ERR_INIT;
	long long until = timeout ? (long long)time(NULL) + timeout : 0;
	struct buf last = BUF_INIT;
	struct sigaction sa;
	int rc = 1;

	gate_conf_of(cli, &c);
	c.decide_only = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = gate_on_signal;
	sigaction(SIGINT, &sa, NULL);
	for (;;) {
		struct gate_result res;
		char *verdict = NULL;
		long retest = 0;
		struct buf line = BUF_INIT;

		if (gate_cycle(db, &c, branch, &res, &err) < 0 ||
		    db_gate_flight_state(db, flight, NULL, &verdict, &retest, &err) < 0 ||
		    gate_progress(db, flight, &line, &err) < 0 ||
		    (retest && (buf_addstr(&line, "; retest "),
				gate_progress(db, retest, &line, &err) < 0))) {
			free(verdict);
			buf_release(&line);
			rc = cli_fail(&err);
			break;
		}
		if (!quiet && (!last.buf || strcmp(last.buf, line.buf))) {
			fprintf(stderr, "%s\n", line.buf);
			buf_reset(&last);
			buf_addstr(&last, line.buf);
		}
		buf_release(&line);
		if (strcmp(verdict, "pending")) {
			free(verdict);
			rc = 0;
			break;
		}
		free(verdict);
		if (gate_stop || (until && time(NULL) >= until)) {
			fprintf(stderr, "hangar: flight %ld: stopped waiting for its "
					"verdict\n", flight);
			break;
		}
		sleep(1);
	}
	buf_release(&last);
	return rc;
}

/*
 * Prints a flight's report (JSON or mail): a decided flight's as stored
 * when it was decided, or (now) judged today; the mail ends with where
 * today's judgement differs from the decision.
 */
static int gate_print_report(struct cli *cli, struct db *db, long flight,
			     int json, int now)
{
	struct err err = ERR_INIT;
	struct gate_conf c;
	struct buf text = BUF_INIT, out = BUF_INIT;
	struct vec diff = VEC_INIT;
	json_t *o = NULL;

	gate_conf_of(cli, &c);
	if (gate_report_view(db, &c, flight, now, &o, json ? NULL : &text,
			     json ? NULL : &diff, NULL, &err) < 0)
		return cli_fail(&err);
	if (json) {
		cli_print_json(o);
		return 0;
	}
	/* as the web daemon answers it on the control socket */
	web_report_mail(&out, text.buf, &diff, now);
	fwrite(out.buf, 1, out.len, stdout);
	json_decref(o);
	buf_release(&text);
	buf_release(&out);
	vec_clear(&diff);
	return 0;
}

int cli_flight_report(struct cli *cli, struct db *db, long flight, int json,
		      int now)
{
	return gate_print_report(cli, db, flight, json, now);
}

static long long bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int bench_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int cli_flight_report_bench(struct cli *cli, struct db *db, long flight, int n)
{
	struct gate_conf c;
	struct err err = ERR_INIT;
	double *ms = xcalloc((size_t)n, sizeof(*ms));
	size_t bytes = 0;

	gate_conf_of(cli, &c);
	for (int i = 0; i < n; i++) {
		struct buf text = BUF_INIT;
		long long t0 = bench_now_us();
		json_t *j = NULL;

		if (gate_report(db, &c, flight, &j, &text, &err) < 0) {
			free(ms);
			return cli_fail(&err);
		}
		ms[i] = (double)(bench_now_us() - t0) / 1000.0;
		bytes = text.len;
		json_decref(j);
		buf_release(&text);
	}
	qsort(ms, (size_t)n, sizeof(*ms), bench_cmp);
	printf("report of flight %ld: median %.2f ms, fastest %.2f ms (%d runs, "
	       "mail %zu bytes)\n", flight, ms[n / 2], ms[0], n, bytes);
	free(ms);
	return 0;
}

int cmd_gate(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "wait", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	int c, once = 0, wait = 0, json = 0, rc;
	long timeout = 0;
	struct db *db;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_gate_usage)) != -1) {
		if (c == 'o')
			once = 1;
		else if (c == 'w')
			wait = 1;
		else if (c == 'j')
			json = 1;
		else if (c == 't' && strnum_duration(optarg, 1, 30 * 86400, &timeout) < 0)
			return cli_usage_error(cmd_gate_usage, "--timeout: a duration");
	}
	if (optind < argc && strcmp(argv[optind], "run"))
		return cli_usage_error(cmd_gate_usage, "gate: unknown action '%s'",
				       argv[optind]);
	if (optind < argc && argc - optind != 2)
		return cli_usage_error(cmd_gate_usage, "gate run: which branch?");
	if (optind == argc && (wait || json))
		return cli_usage_error(cmd_gate_usage, "--wait and --json go with 'run'");
	log_init("gate", cli->verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
		 optind == argc && !once);
	if ((rc = cli_open_db(cli, &db)))
		return rc;
	if (optind == argc) {
		rc = gate_daemon(cli, db, once);
	} else {
		const char *branch = argv[optind + 1];
		struct gate_conf gc;
		struct gate_result res;

		gate_conf_of(cli, &gc);
		gc.always = 1;   /* asked for: staging is tested even if it was */
		if (gate_cycle(db, &gc, branch, &res, &err) < 0) {
			rc = cli_fail(&err);
		} else {
			if (res.flight)
				printf("flight %ld\n", res.flight);
			if (!json || !wait)
				printf("%s\n", res.what);
			fflush(stdout);
			if (wait && res.flight) {
				rc = gate_wait(cli, db, branch, res.flight, timeout, 0);
				if (rc == 0)
					rc = gate_print_report(cli, db, res.flight, json, 0);
			}
		}
	}
	db_close(db);
	return rc;
}

/* ---- branch ---- */

static int branch_list(struct db *db, int json)
{
	struct err err = ERR_INIT;
	json_t *list, *b;
	size_t i;

	if (db_branch_list_json(db, &list, &err) < 0)
		return cli_fail(&err);
	if (json) {
		cli_print_json(list);
		return 0;
	}
	printf("%-20s %-12s %-24s %-8s %s\n", "BRANCH", "TREE", "STAGING -> TARGET",
	       "CONTROL", "LAST FLIGHT");
	json_array_foreach(list, i, b) {
		json_t *last = json_object_get(b, "last_flight");
		char refs[128], lastf[128] = "-";

		snprintf(refs, sizeof(refs), "%s -> %s",
			 json_string_value(json_object_get(b, "staging")),
			 json_string_value(json_object_get(b, "target")));
		if (json_is_object(last))
			snprintf(lastf, sizeof(lastf), "%lld %s %s%s",
				 (long long)json_integer_value(json_object_get(last, "flight")),
				 json_string_value(json_object_get(last, "status")),
				 json_string_value(json_object_get(last, "verdict")),
				 json_is_true(json_object_get(last, "pushed")) ? " pushed" : "");
		printf("%-20s %-12s %-24s %-8s %s\n",
		       json_string_value(json_object_get(b, "name")),
		       json_string_value(json_object_get(b, "tree")), refs,
		       json_is_true(json_object_get(b, "blocked")) ? "blocked" :
		       json_is_string(json_object_get(b, "force_rev")) ? "forced" : "-",
		       lastf);
	}
	json_decref(list);
	return 0;
}

static int branch_force(struct cli *cli, struct db *db, const char *branch,
			const char *rev, const char *reason)
{
	struct err err = ERR_INIT;
	struct gate_branch b;
	char sha[41], *cache;
	int rc;

	if (!rev) {
		if (db_branch_force(db, branch, NULL, reason, &err) < 0)
			return cli_fail(&err);
		printf("branch %s: no forced revision\n", branch);
		return 0;
	}
	if (db_gate_branch(db, branch, &b, &err) < 0)
		return cli_fail(&err);
	cache = xasprintf("%s/git/%s.git", cli->lab.state, b.tree);
	rc = gitx_resolve(cache, b.url, rev, sha, &err);
	free(cache);
	if (rc == 0)
		rc = db_branch_force(db, branch, sha, reason, &err);
	if (rc == 0)
		printf("branch %s: %s %.12s will be pushed to %s once tested, "
		       "regressions or not (the gate's next cycle)\n",
		       branch, b.tree, sha, b.target);
	gate_branch_release(&b);
	return rc < 0 ? cli_fail(&err) : 0;
}

int cmd_branch(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "reason", required_argument, NULL, 'r' },
		{ "clear", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	const char *reason = NULL, *sub;
	int c, json = 0, clear = 0, rc, nargs;
	struct db *db;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_branch_usage)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'r')
			reason = optarg;
		else if (c == 'c')
			clear = 1;
	}
	if (optind >= argc)
		return cli_usage_error(cmd_branch_usage, "branch: which action?");
	sub = argv[optind++];
	nargs = argc - optind;
	if (!strcmp(sub, "list") ? nargs != 0 :
	    !strcmp(sub, "block") || !strcmp(sub, "unblock") ? nargs != 1 :
	    !strcmp(sub, "force-push") ? nargs != (clear ? 1 : 2) : 1)
		return cli_usage_error(cmd_branch_usage, "branch %s: wrong arguments",
				       sub);
	if ((rc = cli_open_db(cli, &db)))
		return rc;
	if (!strcmp(sub, "list")) {
		rc = branch_list(db, json);
	} else if (!strcmp(sub, "force-push")) {
		rc = branch_force(cli, db, argv[optind], clear ? NULL : argv[optind + 1],
				  reason);
	} else if (db_branch_block(db, argv[optind], !strcmp(sub, "block"), reason,
				   &err) < 0) {
		rc = cli_fail(&err);
	} else {
		printf("branch %s: %s\n", argv[optind],
		       !strcmp(sub, "block") ? "blocked: no push until unblocked"
					     : "unblocked");
	}
	db_close(db);
	return rc;
}
