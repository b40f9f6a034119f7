/*
 * cmd-flight.c: `hangar flight list|show|log|cancel` and `hangar request`,
 * which queues an ad-hoc flight of named jobs at given revisions.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "db-flight.h"
#include "gitx.h"
#include "request.h"
#include "strnum.h"
#include "xalloc.h"
#include "banned.h"

const char cmd_flight_usage[] =
	"hangar flight list [--limit N] [--json] | show F [--json] |\n"
	"              report F [--json] [--now] [--direct] | log F JOB [STEP] |\n"
	"              cancel F | rerun F [JOB] [--wait] | wait F [--timeout S]\n"
	"\n"
	"  list    the newest flights: status, verdict, job counts\n"
	"  show    one flight: revisions, each job's status, hosts and attempt,\n"
	"          its steps (status, time, log file), artifacts with sha256,\n"
	"          console captures\n"
	"  report  the flight judged against its baseline: OSSTest's mail\n"
	"          (--json: the report JSON); a decided gate flight's is the\n"
	"          one stored (and mailed) when it was decided, followed by\n"
	"          where today's judgement would differ; --now: judged today,\n"
	"          with where that differs from the decision (JSON: the\n"
	"          members \"decided\" and \"differences\"); asked of `hangar\n"
	"          web` over STATE/web.sock when it runs (its connections are\n"
	"          warm), else of the database (--direct: always)\n"
	"          (--bench N: judge it N times, print the median time)\n"
	"  rerun   a new ad-hoc flight of the same revisions: every job, or\n"
	"          JOB (reusing the flight's passing builds); prints 'flight N'\n"
	"  log     print a step's log (the last step when STEP is left out),\n"
	"          or 'console' for the console capture of the job's host(s)\n"
	"  cancel  waiting jobs end cancelled; running ones are stopped, their\n"
	"          remote commands killed\n"
	"  wait    until the flight ends, printing each job's progress;\n"
	"          exit 0 when every job passed, 1 otherwise\n"
	"\n"
	"Logs live under STATE/logs/FLIGHT/JOB/: STEPNO.STEP.log per step,\n"
	"console-HOST.log, and HOST--path files from logs-capture.\n";

const char cmd_request_usage[] =
	"hangar request [--branch B] [--rev TREE=REV]... [--job NAME]...\n"
	"               [--host H] [--runvar K=V]... [--no-reuse] [--wait] [--json]\n"
	"\n"
	"Queues an ad-hoc flight of the named jobs (default: the branch's job\n"
	"set) and prints its number. Each tree is tested at REV (a commit, a\n"
	"branch, a tag; resolved now to its commit); with --branch, trees not\n"
	"given default to the gated tree's staging ref and the pinned trees'\n"
	"HEAD. Jobs a requested job needs (its build) come along, unless an\n"
	"earlier passing run built from the same revisions exists: its\n"
	"artifacts are used instead (--no-reuse builds again). --host pins the\n"
	"requested jobs to one host; --runvar sets a runvar of every job.\n"
	"--wait follows the flight to its end (exit 0 when every job passed).\n";

static int parse_flight(const char *s, long *id)
{
	return strnum_long(s, 1, 1L << 62, id);
}

static volatile sig_atomic_t wait_stop;

static void wait_on_signal(int sig)
{
	(void)sig;
	wait_stop = 1;
}

/* Follows a flight, printing job status changes; 0 all passed, 1 not. */
static int flight_wait(struct db *db, long id, long timeout_s, int quiet)
{
	struct vec last = VEC_INIT;
	long long until = timeout_s ? (long long)time(NULL) + timeout_s : 0;
	struct sigaction sa;
	int rc = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wait_on_signal;
	sigaction(SIGINT, &sa, NULL);
	for (;;) {
		struct err err = ERR_INIT;
		struct vec now = VEC_INIT;
		char *status = NULL;

		if (db_flight_progress(db, id, &status, &now, &err) < 0) {
			vec_clear(&last);
			return cli_fail(&err);
		}
		for (size_t i = 0; i < now.n; i++)
			if (!quiet && (i >= last.n || strcmp(now.v[i], last.v[i])))
				printf("flight %ld: %s\n", id, now.v[i]);
		fflush(stdout);
		vec_clear(&last);
		last = now;
		if (!strcmp(status, "finished") || !strcmp(status, "cancelled")) {
			rc = 0;
			for (size_t i = 0; i < last.n; i++) {
				const char *sp = strchr(last.v[i], ' ');

				if (!sp || strncmp(sp + 1, "pass", 4))
					rc = 1;
			}
			if (!quiet)
				printf("flight %ld: %s, %s\n", id, status,
				       rc ? "not every job passed" : "every job passed");
			free(status);
			break;
		}
		free(status);
		if (wait_stop || (until && time(NULL) >= until)) {
			fprintf(stderr, "hangar: flight %ld: stopped waiting\n", id);
			rc = 1;
			break;
		}
		usleep(500 * 1000);
	}
	vec_clear(&last);
	return rc;
}

static void print_flight(json_t *f, const char *state)
{
	json_t *jobs = json_object_get(f, "jobs"), *revs, *j;
	const char *tree;
	json_t *rev;
	size_t i;

	printf("flight %lld  %s  %s%s%s  verdict %s\n",
	       (long long)json_integer_value(json_object_get(f, "flight")),
	       json_string_value(json_object_get(f, "status")),
	       json_string_value(json_object_get(f, "intent")),
	       json_is_string(json_object_get(f, "branch")) ? " of " : "",
	       json_is_string(json_object_get(f, "branch"))
		       ? json_string_value(json_object_get(f, "branch")) : "",
	       json_string_value(json_object_get(f, "verdict")));
	revs = json_object_get(f, "revisions");
	json_object_foreach(revs, tree, rev)
		printf("  %s %s\n", tree, json_string_value(rev));
	json_array_foreach(jobs, i, j) {
		json_t *steps = json_object_get(j, "steps"), *s;
		json_t *arts = json_object_get(j, "artifacts"), *a;
		json_t *hosts = json_object_get(j, "hosts"), *h;
		size_t k;

		printf("\n%s  %s  (%s, attempt %lld)",
		       json_string_value(json_object_get(j, "job")),
		       json_string_value(json_object_get(j, "status")),
		       json_string_value(json_object_get(j, "arch")),
		       (long long)json_integer_value(json_object_get(j, "attempt")));
		json_array_foreach(hosts, k, h)
			printf("%s%s", k ? " " : "  on ", json_string_value(h));
		printf("\n");
		if (json_is_string(json_object_get(j, "broken_reason")))
			printf("  broken: %s\n",
			       json_string_value(json_object_get(j, "broken_reason")));
		if (json_is_string(json_object_get(j, "wait_reason")) &&
		    !strcmp(json_string_value(json_object_get(j, "status")), "queued"))
			printf("  waiting: %s\n",
			       json_string_value(json_object_get(j, "wait_reason")));
		json_array_foreach(steps, k, s) {
			const char *log = json_string_value(json_object_get(s, "log"));

			printf("  %3lld %-20s %-9s %6.1fs  %s/logs/%s\n",
			       (long long)json_integer_value(json_object_get(s, "stepno")),
			       json_string_value(json_object_get(s, "step")),
			       json_string_value(json_object_get(s, "status")),
			       json_real_value(json_object_get(s, "seconds")), state,
			       log ? log : "-");
			if (json_is_string(json_object_get(s, "detail")) &&
			    strcmp(json_string_value(json_object_get(s, "status")), "pass"))
				printf("      %s\n",
				       json_string_value(json_object_get(s, "detail")));
		}
		json_array_foreach(arts, k, a)
			printf("  artifact %s  %lld bytes  sha256 %s\n",
			       json_string_value(json_object_get(a, "path")),
			       (long long)json_integer_value(json_object_get(a, "size")),
			       json_string_value(json_object_get(a, "sha256")));
		json_array_foreach(hosts, k, h) {
			char *path = xasprintf("%s/logs/%lld/%s/console-%s.log", state,
					       (long long)json_integer_value(
						       json_object_get(f, "flight")),
					       json_string_value(json_object_get(j, "job")),
					       json_string_value(h));

			if (access(path, R_OK) == 0)
				printf("  console %s\n", path);
			free(path);
		}
	}
}

static int cat_file(const char *path)
{
	char chunk[65536];
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f) {
		fprintf(stderr, "hangar: %s: cannot read it\n", path);
		return 1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, stdout);
	fclose(f);
	return 0;
}

static int flight_log(struct cli *cli, json_t *f, const char *job,
		      const char *step)
{
	json_t *jobs = json_object_get(f, "jobs"), *j, *found = NULL;
	size_t i;

	json_array_foreach(jobs, i, j)
		if (!strcmp(json_string_value(json_object_get(j, "job")), job))
			found = j;
	if (!found) {
		fprintf(stderr, "hangar: flight %lld has no job '%s'\n",
			(long long)json_integer_value(json_object_get(f, "flight")),
			job);
		return 1;
	}
	if (step && !strcmp(step, "console")) {
		json_t *h;
		int rc = 0;

		json_array_foreach(json_object_get(found, "hosts"), i, h) {
			char *path = xasprintf("%s/logs/%lld/%s/console-%s.log",
					       cli->lab.state,
					       (long long)json_integer_value(
						       json_object_get(f, "flight")),
					       job, json_string_value(h));

			rc |= cat_file(path);
			free(path);
		}
		return rc;
	}
	{
		json_t *steps = json_object_get(found, "steps"), *s, *want = NULL;
		char *path;
		int rc;

		json_array_foreach(steps, i, s)
			if (!step || !strcmp(json_string_value(json_object_get(s, "step")),
					     step))
				want = s;
		if (!want || !json_is_string(json_object_get(want, "log"))) {
			fprintf(stderr, "hangar: job %s has no step %s\n", job,
				step ? step : "yet");
			return 1;
		}
		path = xasprintf("%s/logs/%s", cli->lab.state,
				 json_string_value(json_object_get(want, "log")));
		rc = cat_file(path);
		free(path);
		return rc;
	}
}

/* A new ad-hoc flight of f's revisions: all its jobs, or one. */
static int flight_rerun(struct db *db, json_t *f, const char *job, int json)
{
	struct err err = ERR_INIT;
	struct flight_spec s;
	json_t *revs = json_object_get(f, "revisions"), *v, *j;
	const char *tree;
	size_t i;
	long id;
	int rc;

	flight_spec_init(&s);
	s.branch = json_string_value(json_object_get(f, "branch"));
	s.intent = "adhoc";
	s.requested_by = db_actor();
	json_object_foreach(revs, tree, v) {
		vec_push(&s.trees, tree);
		vec_push(&s.revs, json_string_value(v));
	}
	json_array_foreach(json_object_get(f, "jobs"), i, j) {
		const char *name = json_string_value(json_object_get(j, "job"));

		if (!job || !strcmp(job, name))
			vec_push(&s.jobs, name);
	}
	if (job && !s.jobs.n) {
		flight_spec_release(&s);
		fprintf(stderr, "hangar: flight %lld has no job '%s'\n",
			(long long)json_integer_value(json_object_get(f, "flight")), job);
		return 1;
	}
	/* one job again: its builds are the flight's own */
	s.reuse_builds = job != NULL;
	s.reuse_from = json_integer_value(json_object_get(f, "flight"));
	rc = db_flight_create(db, &s, &id, &err);
	flight_spec_release(&s);
	if (rc < 0)
		return cli_fail(&err);
	if (json)
		cli_print_json(json_pack("{s:I}", "flight", (json_int_t)id));
	else
		printf("flight %ld\n", id);
	return 0;
}

int cmd_flight(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "limit", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 't' },
		{ "bench", required_argument, NULL, 'b' },
		{ "now", no_argument, NULL, 'n' },
		{ "direct", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	long id = 0, limit = 20, timeout = 0, bench = 0;
	const char *sub;
	struct db *db;
	json_t *f = NULL;
	int json = 0, now = 0, direct = 0, c, rc;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_flight_usage)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'n')
			now = 1;
		else if (c == 'd')
			direct = 1;
		else if (c == 'l' && strnum_long(optarg, 1, 100000, &limit) < 0)
			return cli_usage_error(cmd_flight_usage, "--limit: 1 to 100000");
		else if (c == 't' && strnum_duration(optarg, 1, 30 * 86400, &timeout) < 0)
			return cli_usage_error(cmd_flight_usage, "--timeout: a duration");
		else if (c == 'b' && strnum_long(optarg, 1, 100000, &bench) < 0)
			return cli_usage_error(cmd_flight_usage, "--bench: 1 to 100000");
	}
	if (optind >= argc)
		return cli_usage_error(cmd_flight_usage, "flight: which action?");
	sub = argv[optind++];
	if (strcmp(sub, "list")) {
		if (optind >= argc || parse_flight(argv[optind], &id) < 0)
			return cli_usage_error(cmd_flight_usage,
					       "flight %s: expected a flight number", sub);
		optind++;
	}
	if (!strcmp(sub, "log") ? (optind >= argc || argc - optind > 2) :
	    !strcmp(sub, "rerun") ? argc - optind > 1 : optind != argc)
		return cli_usage_error(cmd_flight_usage, "flight %s: wrong arguments",
				       sub);
	if (strcmp(sub, "list") && strcmp(sub, "show") && strcmp(sub, "log") &&
	    strcmp(sub, "cancel") && strcmp(sub, "wait") &&
	    strcmp(sub, "report") && strcmp(sub, "rerun"))
		return cli_usage_error(cmd_flight_usage,
				       "flight: unknown action '%s'", sub);
	/* the daemon first: a new backend alone costs more than its answer */
	if (!strcmp(sub, "report") && !bench && !direct) {
		if ((rc = cli_load_lab(cli, NULL)))
			return rc;
		if (!cli->report_asked &&
		    ctl_client_report(&cli->lab, NULL, id, json, now) == 0)
			return 0;
	}
	rc = cli_open_db(cli, &db);
	if (rc)
		return rc;
	if (!strcmp(sub, "list")) {
		struct flight_filter ff = { .limit = (int)limit };

		if (db_flight_list_json(db, &ff, &f, &err) < 0) {
			rc = cli_fail(&err);
		} else if (json) {
			cli_print_json(f);
			f = NULL;
		} else {
			json_t *x;
			size_t i;

			printf("%-8s %-16s %-7s %-10s %-8s %s\n", "FLIGHT", "BRANCH",
			       "INTENT", "STATUS", "VERDICT", "JOBS");
			json_array_foreach(f, i, x) {
				struct buf counts = BUF_INIT;
				const char *st, *verdict;
				json_t *n;

				/* "3 pass, 1 fail", statuses in order */
				json_object_foreach(json_object_get(x, "jobs"), st, n)
					buf_addf(&counts, "%s%lld %s", counts.len ? ", " : "",
						 (long long)json_integer_value(n), st);
				verdict = json_is_true(json_object_get(x, "baseline_test")) &&
					  strcmp(json_string_value(json_object_get(x, "verdict")),
						 "pending")
						  ? "baseline"
						  : json_string_value(json_object_get(x, "verdict"));
				printf("%-8lld %-16s %-7s %-10s %-8s %s\n",
				       (long long)json_integer_value(json_object_get(x, "flight")),
				       json_is_string(json_object_get(x, "branch"))
					       ? json_string_value(json_object_get(x, "branch"))
					       : "-",
				       json_string_value(json_object_get(x, "intent")),
				       json_string_value(json_object_get(x, "status")),
				       verdict, counts.len ? counts.buf : "no jobs");
				buf_release(&counts);
			}
		}
	} else if (!strcmp(sub, "cancel")) {
		int n = 0;

		if (db_flight_cancel(db, id, &n, &err) < 0)
			rc = cli_fail(&err);
		else
			printf("flight %ld: cancelled (%d job%s stopped or ended)\n", id,
			       n, n == 1 ? "" : "s");
	} else if (!strcmp(sub, "wait")) {
		rc = flight_wait(db, id, timeout, json);
	} else if (!strcmp(sub, "report") && bench) {
		rc = cli_flight_report_bench(cli, db, id, (int)bench);
	} else if (!strcmp(sub, "report")) {
		rc = cli_flight_report(cli, db, id, json, now);
	} else if (db_flight_json(db, id, &f, &err) < 0) {
		rc = cli_fail(&err);
	} else if (!strcmp(sub, "log")) {
		rc = flight_log(cli, f, argv[optind],
				optind + 1 < argc ? argv[optind + 1] : NULL);
	} else if (!strcmp(sub, "rerun")) {
		rc = flight_rerun(db, f, optind < argc ? argv[optind] : NULL, json);
	} else if (json) {
		cli_print_json(f);
		f = NULL;
	} else {
		print_flight(f, cli->lab.state);
	}
	json_decref(f);
	db_close(db);
	return rc;
}

/* ---- request ---- */

int cmd_request(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "branch", required_argument, NULL, 'b' },
		{ "rev", required_argument, NULL, 'r' },
		{ "job", required_argument, NULL, 'J' },
		{ "host", required_argument, NULL, 'H' },
		{ "runvar", required_argument, NULL, 'R' },
		{ "no-reuse", no_argument, NULL, 'N' },
		{ "wait", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	struct request rq;
	const char *user = getenv("SUDO_USER") ? getenv("SUDO_USER") : getenv("USER");
	struct db *db = NULL;
	long id = 0;
	int wait = 0, json = 0, c, rc = 0;

	request_init(&rq);
	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_request_usage)) != -1) {
		switch (c) {
		case 'b': rq.branch = optarg; break;
		case 'r': vec_push(&rq.revs, optarg); break;
		case 'J': vec_push(&rq.jobs, optarg); break;
		case 'H': rq.host = optarg; break;
		case 'R': vec_push(&rq.runvars, optarg); break;
		case 'N': rq.no_reuse = 1; break;
		case 'w': wait = 1; break;
		case 'j': json = 1; break;
		}
	}
	if (optind != argc) {
		rc = cli_usage_error(cmd_request_usage, "request: too many arguments");
		goto out;
	}
	if (!rq.branch && !rq.revs.n) {
		rc = cli_usage_error(cmd_request_usage,
				     "request: give --branch or --rev TREE=REV");
		goto out;
	}
	rq.requested_by = user ? user : "cli";
	rc = cli_open_db(cli, &db);
	if (rc)
		goto out;
	if (request_create(db, cli->lab.state, &rq, &id, &err) < 0) {
		/* an unknown branch is the asker's mistake, as an unknown
		 * tree or job is (the API answers it 404) */
		rc = err.code == ERR_USAGE || err.code == ERR_NOTFOUND
			     ? cli_usage_error(cmd_request_usage, "request: %s", err.msg)
			     : cli_fail(&err);
		goto out;
	}
	if (json && !wait)
		cli_print_json(json_pack("{s:I}", "flight", (json_int_t)id));
	else
		printf("flight %ld\n", id);
	fflush(stdout);
	if (wait) {
		json_t *f;

		rc = flight_wait(db, id, 0, json);
		if (json && db_flight_json(db, id, &f, &err) == 0)
			cli_print_json(f);
	}
out:
	db_close(db);
	request_release(&rq);
	return rc;
}
