/*
 * cmd-sched.c: `hangar scheduler`, `hangar plan`, `hangar reserve`,
 * `hangar release` and `hangar host block`.
 */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "db-sched.h"
#include "db-sched-view.h"
#include "log.h"
#include "proc.h"
#include "scheduler.h"
#include "strnum.h"
#include "xalloc.h"
#include "banned.h"

const char cmd_scheduler_usage[] =
	"hangar scheduler [--once [--json] | --bench N | --check-steps]\n"
	"\n"
	"The planner daemon: allocates hosts to every runnable job and keeps\n"
	"the plan of bookings ahead in the database. It wakes on every change\n"
	"(LISTEN/NOTIFY), when a lease or a reservation ends, when a job\n"
	"pinned to an unusable host has waited [scheduler] pinned-wait (it\n"
	"then ends broken), and at least every [scheduler] interval. Several\n"
	"may run against one database: one leads (an advisory lock), the\n"
	"others stand by. SIGHUP re-reads [scheduler] (a file with errors\n"
	"keeps the old); SIGINT/SIGTERM stop it. It keeps hosts, the queue\n"
	"and the plan in memory and reads only the rows that changed; it\n"
	"reads everything at start, after a lost connection, on becoming the\n"
	"leader, and every [scheduler] full-read-interval as a check. A\n"
	"waiting job none of whose inputs or hosts changed since the last\n"
	"plan keeps its booking without a search.\n"
	"\n"
	"  --once     one planning pass, then exit (prints its figures)\n"
	"  --bench N  N rounds of: a bare read of the hosts and the queue (the\n"
	"             floor), a pass that reads everything, one job of b0100's\n"
	"             fake worker ending, a pass that reads what changed, and\n"
	"             the same a second later (a new clock); prints medians\n"
	"  --check-steps  testing: one pass per line read from stdin, each\n"
	"             also reading everything and planning from both copies;\n"
	"             prints \"ok\" or \"differs: WHERE\" per line\n";

const char cmd_plan_usage[] =
	"hangar plan [--json]\n"
	"\n"
	"The current plan: per host what holds it now and the bookings ahead,\n"
	"and every waiting job and reservation with its estimated start and\n"
	"why it waits. --json: {\"computed_at\", \"scheduler\", \"pass_ms\",\n"
	"\"hosts\": [{\"name\", \"arch\", \"state\", \"now\": [...], \"next\": [...]}],\n"
	"\"waiting\": [{\"kind\", \"flight\", \"job\", \"reservation\", \"start\",\n"
	"\"end\", \"hosts\", \"reason\"}]} with times in seconds since the epoch.\n";

const char cmd_reserve_usage[] =
	"hangar reserve [--host H | --arch A [--flags F] [--count N]] --for DURATION\n"
	"               [--reason TEXT] [--no-wait] [--json]\n"
	"\n"
	"Borrows hosts: queues a reservation ahead of every job (priority\n"
	"[scheduler] priority-reservation), waits until the scheduler gives\n"
	"it hosts, prints them and the reservation number. The hosts are\n"
	"yours until DURATION (e.g. 2h) has passed or `hangar release R`.\n"
	"--no-wait returns at once with the number.\n";

const char cmd_release_usage[] =
	"hangar release R\n"
	"\n"
	"Ends reservation or blockage R and gives its hosts back.\n";

const char cmd_host_block_usage[] =
	"hangar host block [--host H | --arch A] [--flags F] --from T --to T\n"
	"                  [--reason TEXT]\n"
	"\n"
	"Books a maintenance window on every matching host: the plan keeps\n"
	"them free for it and no job starts there if it would still run at T.\n"
	"T: now, +DURATION (+2h), or any timestamp PostgreSQL reads\n"
	"('2026-12-01 08:00 UTC').\n";

static volatile sig_atomic_t sched_stop, sched_reload;

static void sched_on_signal(int sig)
{
	if (sig == SIGHUP)
		sched_reload = 1;
	else
		sched_stop = 1;
	proc_wake();   /* its loop may be about to wait */
}

static char *sched_name(void)
{
	char host[256];

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	return xasprintf("scheduler %ld@%s", (long)getpid(), host);
}

static json_t *again_json(const struct plan_again_stats *a)
{
	return json_pack("{s:b, s:I, s:I, s:I, s:I}", "whole", a->whole,
			 "kept", (json_int_t)a->kept, "compared",
			 (json_int_t)a->compared, "searched",
			 (json_int_t)a->searched, "changed_hosts",
			 (json_int_t)a->changed_hosts);
}

static json_t *stats_json(const struct sched_stats *st)
{
	return json_pack("{s:f, s:f, s:f, s:f, s:i, s:i, s:i, s:i, s:i, s:i, s:o}",
			 "read_ms", st->read_ms, "plan_ms", st->plan_ms,
			 "write_ms", st->write_ms, "total_ms", st->total_ms,
			 "waiting", st->queued, "hosts", st->hosts,
			 "allocated", st->allocated, "ended", st->ended,
			 "reclaimed", st->reclaimed, "plan_rows",
			 st->rows_written, "planned", again_json(&st->again));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double ms_since(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 +
	       (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return v[n / 2];
}

/* Floor reads, full passes and passes after a job ended, side by side,
 * so machine noise hits all three. */
static int sched_bench(struct scheduler *s, int n, struct err *err)
{
	double *pass = xcalloc((size_t)n, sizeof(double));
	double *plan = xcalloc((size_t)n, sizeof(double));
	double *floor = xcalloc((size_t)n, sizeof(double));
	double *inc = xcalloc((size_t)n, sizeof(double));
	double *inc_plan = xcalloc((size_t)n, sizeof(double));
	double *inc_read = xcalloc((size_t)n, sizeof(double));
	double *later = xcalloc((size_t)n, sizeof(double));
	double *inc_input = xcalloc((size_t)n, sizeof(double));
	double *inc_write = xcalloc((size_t)n, sizeof(double));
	struct sched_stats st = { 0 }, first, st_later = { 0 };
	struct timespec a;
	int rc = scheduler_pass(s, &first, err);   /* allocates, writes all */
	int ended = 0;

	for (int i = 0; !rc && i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		rc = db_sched_state_read_floor(s->db, err);
		floor[i] = ms_since(&a);
		db_sched_state_invalidate(s->state);   /* a full pass */
		if (!rc)
			rc = scheduler_pass(s, &st, err);
		pass[i] = st.total_ms;
		plan[i] = st.plan_ms;
		if (!rc)
			rc = db_sched_bench_end_job(s->db, err);
		if (rc > 0)
			ended++;
		if (rc >= 0)
			rc = scheduler_pass(s, &st, err);
		inc[i] = st.total_ms;
		inc_plan[i] = st.plan_ms;
		inc_read[i] = st.read_ms;
		inc_input[i] = st.input_ms;
		inc_write[i] = st.write_ms;
		/* and one a second later: the plan's clock moved */
		if (!rc) {
			sleep(1);
			rc = db_sched_bench_end_job(s->db, err);
		}
		if (rc > 0)
			ended++;
		if (rc >= 0)
			rc = scheduler_pass(s, &st_later, err);
		later[i] = st_later.total_ms;
	}
	if (!rc) {
		double f = median(floor, n), p = median(pass, n);

		cli_print_json(json_pack(
			"{s:i, s:i, s:f, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:i, s:o, s:f, s:f, s:i, s:f, s:o}",
			"waiting", st.queued, "hosts", st.hosts,
			"first_pass_ms", first.total_ms, "first_allocated",
			first.allocated, "pass_ms", p, "plan_ms",
			median(plan, n), "floor_ms", f, "ratio",
			f > 0 ? p / f : 0.0, "inc_pass_ms", median(inc, n),
			"inc_plan_ms", median(inc_plan, n), "inc_read_ms",
			median(inc_read, n), "jobs_ended", ended,
			"inc_planned", again_json(&st.again), "inc_input_ms",
			median(inc_input, n), "inc_write_ms", median(inc_write, n),
			"inc_plan_rows", st.rows_written, "later_pass_ms",
			median(later, n), "later_planned",
			again_json(&st_later.again)));
	}
	free(pass);
	free(plan);
	free(floor);
	free(inc);
	free(inc_plan);
	free(inc_read);
	free(later);
	free(inc_input);
	free(inc_write);
	return rc;
}

/* Testing: a pass per line of stdin, each checked against a full read. */
static int sched_check_steps(struct scheduler *s, struct err *err)
{
	char line[256];
	long steps = 0;

	s->verify = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		struct sched_stats st;

		steps++;
		if (scheduler_pass(s, &st, err) < 0) {
			if (err->code != ERR_FAIL)
				return err->code;
			printf("differs: %s\n", err->msg);
			err_clear(err);
			continue;
		}
		printf("ok %ld: %s read, %d waiting, %d allocated, %d ended, %d reclaimed, ",
		       steps, st.full ? "full" : "changes", st.queued,
		       st.allocated, st.ended, st.reclaimed);
		if (st.again.whole)
			printf("planned whole\n");
		else
			printf("planned again: %zu kept, %zu compared, %zu searched\n",
			       st.again.kept, st.again.compared,
			       st.again.searched);
	}
	return 0;
}

int cmd_scheduler(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "bench", required_argument, NULL, 'b' },
		{ "check-steps", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	struct scheduler s;
	int bench = 0, check_steps = 0;
	struct sigaction sa;
	int c, once = 0, json = 0, rc;
	char *name;
	struct db *db;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_scheduler_usage)) != -1) {
		if (c == 'o')
			once = 1;
		else if (c == 'j')
			json = 1;
		else if (c == 'c')
			check_steps = 1;
		else if (c == 'b' && strnum_int(optarg, 1, 1000, &bench) < 0)
			return cli_usage_error(cmd_scheduler_usage,
					       "scheduler: --bench takes 1 to 1000");
	}
	if (optind != argc)
		return cli_usage_error(cmd_scheduler_usage,
				       "scheduler: too many arguments");
	log_init("scheduler", cli->verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
		 !once);
	rc = cli_open_db(cli, &db);
	if (rc)
		return rc;
	name = sched_name();
	db_set_actor(name);   /* events say which scheduler acted */
	scheduler_init(&s, db, &cli->lab.sched, name);
	/* testing only: several schedulers acting at once, to prove that the
	 * row locks alone never double-allocate */
	s.no_leader = getenv("HANGAR_SCHED_NO_LEADER") != NULL;
	if (bench) {
		rc = sched_bench(&s, bench, &err);
	} else if (check_steps) {
		rc = sched_check_steps(&s, &err);
	} else if (once) {
		struct sched_stats st;

		rc = scheduler_pass(&s, &st, &err);
		if (!rc && json)
			cli_print_json(stats_json(&st));
		else if (!rc)
			printf("pass %.1f ms (read %.1f, plan %.1f, write %.1f): %d waiting, %d hosts, %d allocated, %d ended, %d reclaimed\n",
			       st.total_ms, st.read_ms, st.plan_ms, st.write_ms,
			       st.queued, st.hosts, st.allocated, st.ended,
			       st.reclaimed);
	} else {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = sched_on_signal;
		proc_wake_init();
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		log_info("%s: planning %s", name, db->where);
		for (;;) {
			rc = scheduler_loop(&s, &sched_stop, &sched_reload, &err);
			if (rc < 0 || sched_stop)
				break;
			/* re-read the file; a broken one keeps the old */
			sched_reload = 0;
			if (cli_reload_lab(cli, NULL) == 0) {
				scheduler_set_config(&s, &cli->lab.sched);
				log_info("[scheduler] settings reloaded");
			}
		}
		log_info("%s: stopped", name);
	}
	if (rc < 0)
		cli_fail(&err);
	scheduler_release(&s);
	free(name);
	db_close(db);
	return rc < 0 ? err_exit_status(rc) : 0;
}

/* ---- hangar plan ---- */

static void fmt_rel(char *buf, size_t len, int64_t t, int64_t now)
{
	int64_t d = t - now;
	const char *sign = d < 0 ? "-" : "in ";

	if (!t) {
		snprintf(buf, len, "-");
		return;
	}
	if (d < 0)
		d = -d;
	if (d < 60)
		snprintf(buf, len, "%s", t <= now ? "now" : "in <1m");
	else if (d < 3600)
		snprintf(buf, len, "%s%lldm", sign, (long long)(d / 60));
	else if (d < 86400)
		snprintf(buf, len, "%s%lldh%02lldm", sign, (long long)(d / 3600),
			 (long long)(d % 3600 / 60));
	else
		snprintf(buf, len, "%s%lldd%02lldh", sign, (long long)(d / 86400),
			 (long long)(d % 86400 / 3600));
}

static void plan_text(const struct sched_view *v)
{
	const struct sched_plan_state *s = v->state;
	char t1[32], t2[32];

	if (s)
		printf("plan computed %llds ago by %s in %.1f ms: %d waiting, %d hosts\n\n",
		       (long long)s->age, s->scheduler, s->pass_ms, s->queued,
		       s->hosts);
	else
		printf("no plan yet: is `hangar scheduler` running?\n\n");
	printf("%-14s %-8s %-32s %-9s %s\n", "HOST", "ARCH", "NOW", "UNTIL",
	       "NEXT");
	for (size_t r = 0; r < v->nhosts; r++) {
		const struct sched_hold_row *h = &v->hosts[r];
		char *what = db_sched_view_holder_what(h), *next = NULL;
		int first = !r || strcmp(h->name, v->hosts[r - 1].name);

		for (size_t k = 0; first && k < v->nwaiting && !next; k++) {
			const struct sched_wait_row *w = &v->waiting[k];
			char *n;

			if (!db_sched_view_in_hosts(w->hosts, h->name))
				continue;
			n = db_sched_view_waiting_what(w);
			fmt_rel(t2, sizeof(t2), w->start, v->now);
			next = xasprintf("%s %s", n, t2);
			free(n);
		}
		fmt_rel(t1, sizeof(t1), h->until, v->now);
		printf("%-14s %-8s %-32s %-9s %s\n", first ? h->name : "",
		       first ? h->arch : "", what ? what : h->state,
		       what ? t1 : "", next ? next : "");
		free(what);
		free(next);
	}
	printf("\n%-28s %-10s %-20s %s\n", "WAITING", "START", "HOSTS", "WHY");
	if (!v->nwaiting)
		printf("(nothing waits)\n");
	for (size_t k = 0; k < v->nwaiting; k++) {
		const struct sched_wait_row *w = &v->waiting[k];
		char *what = db_sched_view_waiting_what(w);

		fmt_rel(t1, sizeof(t1), w->start, v->now);
		printf("%-28s %-10s %-20s %s\n", what, w->start ? t1 : "never",
		       w->hosts && *w->hosts ? w->hosts : "-",
		       w->reason ? w->reason : "not planned yet");
		free(what);
	}
}

int cmd_plan(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	struct sched_view v;
	struct db *db;
	int c, json = 0, rc;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_plan_usage)) != -1)
		if (c == 'j')
			json = 1;
	if (optind != argc)
		return cli_usage_error(cmd_plan_usage, "plan: too many arguments");
	rc = cli_open_db(cli, &db);
	if (rc)
		return rc;
	if (db_sched_view(db, &v, &err) < 0) {
		db_close(db);
		return cli_fail(&err);
	}
	if (json)
		cli_print_json(db_sched_view_json(&v));
	else
		plan_text(&v);
	db_sched_view_release(&v);
	db_close(db);
	return 0;
}

/* ---- reserve, release, block ---- */

static const char *owner_name(void)
{
	const char *u = getenv("SUDO_USER");

	if (!u || !*u)
		u = getenv("USER");
	return u && *u ? u : "root";
}

/* Waits for reservation id to become active; prints its hosts. */
static int reserve_wait(struct db *db, long id, int json, struct err *err)
{
	int waited = 0;

	if (db_listen(db, "hangar_sched", err) < 0)
		return err->code;
	for (;;) {
		struct sched_res_state rs;

		if (db_sched_res_state(db, id, &rs, err) < 0)
			return err->code;
		if (!strcmp(rs.status, "active")) {
			if (json)
				cli_print_json(json_pack(
					"{s:I, s:s, s:s, s:s}", "reservation",
					(json_int_t)id, "status", rs.status,
					"hosts", rs.hosts, "until", rs.until));
			else
				printf("reservation %ld: %s until %s\n", id,
				       rs.hosts, rs.until);
			db_sched_res_state_release(&rs);
			return 0;
		}
		if (strcmp(rs.status, "waiting")) {
			err_set(err, ERR_FAIL, "reservation %ld ended (%s)", id,
				rs.status);
			db_sched_res_state_release(&rs);
			return err->code;
		}
		if (!json && waited % 30 == 0)
			fprintf(stderr, "reservation %ld waits: %s\n", id,
				rs.wait_reason ? rs.wait_reason
					       : "not planned yet");
		db_sched_res_state_release(&rs);
		if (db_wait_notify(db, 1000, err) < 0)
			return err->code;
		waited++;
	}
}

int cmd_reserve(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "arch", required_argument, NULL, 'a' },
		{ "flags", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "for", required_argument, NULL, 'd' },
		{ "reason", required_argument, NULL, 'r' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct sched_reserve r = { .owner = owner_name(), .nhosts = 1 };
	struct err err = ERR_INIT;
	int c, json = 0, nowait = 0, rc;
	struct db *db;
	long id;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_reserve_usage)) != -1) {
		switch (c) {
		case 'H': r.host = optarg; break;
		case 'a': r.arch = optarg; break;
		case 'f': r.flags = optarg; break;
		case 'r': r.reason = optarg; break;
		case 'W': nowait = 1; break;
		case 'j': json = 1; break;
		case 'n':
			if (strnum_int(optarg, 1, 64, &r.nhosts) < 0)
				return cli_usage_error(cmd_reserve_usage,
						       "reserve: --count takes 1 to 64");
			break;
		case 'd':
			if (strnum_duration(optarg, 60, 30 * 86400, &r.duration) < 0)
				return cli_usage_error(cmd_reserve_usage,
						       "reserve: --for takes a duration from 1m to 30d (e.g. 2h)");
			break;
		}
	}
	if (optind != argc)
		return cli_usage_error(cmd_reserve_usage,
				       "reserve: too many arguments");
	if (!r.duration)
		return cli_usage_error(cmd_reserve_usage, "reserve: --for is required");
	if (!r.host == !r.arch)
		return cli_usage_error(cmd_reserve_usage,
				       "reserve: give --host or --arch");
	if (r.host && r.nhosts != 1)
		return cli_usage_error(cmd_reserve_usage,
				       "reserve: --count goes with --arch");
	rc = cli_open_db(cli, &db);
	if (rc)
		return rc;
	rc = db_sched_reserve(db, &r, &id, &err);
	if (!rc && nowait) {
		if (json)
			cli_print_json(json_pack("{s:I, s:s}", "reservation",
						 (json_int_t)id, "status",
						 "waiting"));
		else
			printf("reservation %ld queued\n", id);
	} else if (!rc) {
		rc = reserve_wait(db, id, json, &err);
	}
	db_close(db);
	return rc ? cli_fail(&err) : 0;
}

int cmd_release(struct cli *cli, int argc, char **argv)
{
	struct err err = ERR_INIT;
	struct db *db;
	long id;
	int rc;

	optind = 0;
	while (cli_getopt(argc, argv, (const struct option[]){ { 0 } },
			  cmd_release_usage) != -1)
		;
	if (argc - optind != 1 || strnum_long(argv[optind], 1, LONG_MAX, &id) < 0)
		return cli_usage_error(cmd_release_usage,
				       "release: give one reservation number");
	rc = cli_open_db(cli, &db);
	if (rc)
		return rc;
	rc = db_sched_release(db, id, &err);
	db_close(db);
	if (rc)
		return cli_fail(&err);
	printf("released %ld\n", id);
	return 0;
}

/* "now", "+2h" or a timestamp: the SQL expression's text argument. */
static char *block_time(const char *t)
{
	long secs;

	if (!strcmp(t, "now"))
		return xstrdup("now");
	if (t[0] == '+' && strnum_duration(t + 1, 0, 365 * 86400, &secs) == 0)
		return xasprintf("+%ld", secs);   /* seconds from now */
	return xstrdup(t);
}

int cmd_host_block(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "arch", required_argument, NULL, 'a' },
		{ "flags", required_argument, NULL, 'f' },
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'T' },
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct sched_reserve r = { .owner = owner_name(), .nhosts = 1 };
	struct err err = ERR_INIT;
	char *from = NULL, *to = NULL;
	struct db *db;
	int c, rc;
	long id;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_host_block_usage)) != -1) {
		switch (c) {
		case 'H': r.host = optarg; break;
		case 'a': r.arch = optarg; break;
		case 'f': r.flags = optarg; break;
		case 'r': r.reason = optarg; break;
		case 'F': free(from); from = block_time(optarg); break;
		case 'T': free(to); to = block_time(optarg); break;
		}
	}
	if (optind != argc || !from || !to || (!r.host && !r.arch && !r.flags)) {
		free(from);
		free(to);
		return cli_usage_error(cmd_host_block_usage,
				       "host block: give --from, --to and --host, --arch or --flags");
	}
	rc = cli_open_db(cli, &db);
	if (!rc) {
		rc = db_sched_block(db, &r, from, to, &id, &err);
		db_close(db);
		if (rc)
			rc = cli_fail(&err);
		else
			printf("blockage %ld booked\n", id);
	}
	free(from);
	free(to);
	return rc;
}
