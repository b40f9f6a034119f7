/*
 * cmd-host-power.c: `hangar host power`, `hangar host console` and
 * `hangar host maintenance`: what an operator does to one host by hand.
 * Every power action, a status read included, lands in the host's
 * history, as the workers' do.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "console.h"
#include "db-host.h"
#include "power.h"
#include "strnum.h"
#include "xalloc.h"
#include "banned.h"

/* the off..on pause of a cycle when --pause is not given (OSSTest's) */
#define HOST_POWER_PAUSE_DEFAULT 5

const char cmd_host_power_usage[] =
	"hangar host power HOST on|off|cycle|status [--json] [--force]\n"
	"                  [--pause SECONDS]\n"
	"\n"
	"Switches HOST with its power method (ipmi, pdudaemon, command; none\n"
	"cannot), or reads its state. on and off first read the state and do\n"
	"nothing if it is already right; then they resend until the state\n"
	"changes, where the method can tell it (ipmi: up to 30 s). pdudaemon\n"
	"reports no state: success means it accepted the request. cycle is off,\n"
	"a pause (--pause, default the host's power-cycle-time), on. Every\n"
	"action is in the host's history (hangar host show HOST).\n"
	"\n"
	"  --force   power off or cycle a host that a job or someone else's\n"
	"            reservation holds (refused otherwise)\n"
	"  --json    {\"host\", \"action\", \"result\": \"ok\"|\"failed\", \"state\",\n"
	"            \"attempts\", \"ms\", \"detail\", \"error\"}\n"
	"Exit status 1 when the power control failed.\n";

const char cmd_host_console_usage[] =
	"hangar host console HOST [--for SECONDS]\n"
	"\n"
	"Streams HOST's console (tcp:HOST:PORT or command:CMD) to standard\n"
	"output, one line at a time with its UTC arrival time, until Ctrl-C or\n"
	"for SECONDS (also 90s, 2m). A tcp console is reconnected every second\n"
	"while it is down.\n";

const char cmd_host_maintenance_usage[] =
	"hangar host maintenance HOST on|off [--reason TEXT]\n"
	"\n"
	"on takes HOST out of service (state maintenance): no new job starts\n"
	"on it; a job holding it now runs to its end. off puts a host in\n"
	"maintenance, or one that lab trouble marked broken, back in service\n"
	"(state free). The change and its reason are in the host's history.\n";

static volatile sig_atomic_t host_power_stop;

static void host_power_on_signal(int sig)
{
	(void)sig;
	host_power_stop = 1;
}

/* SIGINT and SIGTERM set the flag (and cut sleeps short: no SA_RESTART). */
static void host_power_catch(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = host_power_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static const char *host_power_user(void)
{
	const char *u = getenv("SUDO_USER");

	if (!u || !*u)
		u = getenv("USER");
	return u && *u ? u : "root";
}

/*
 * Powering off a host under a running job breaks the job; one under
 * someone else's reservation surprises them. 0 when nothing is in the way
 * (or force), else 1 with the reason printed; *note says what was forced.
 */
static int host_power_check_holder(struct db *db, const char *host, int force,
				   char *note, size_t notelen, int *rc)
{
	struct err err = ERR_INIT;
	struct db_host_holder hh;
	char who[256] = "";

	*rc = 0;
	if (db_host_holder_get(db, host, &hh, &err) < 0) {
		*rc = cli_fail(&err);
		return 1;
	}
	if (hh.flight)
		snprintf(who, sizeof(who), "job %ld.%s", hh.flight, hh.job);
	else if (hh.reservation && (!hh.owner || strcmp(hh.owner, host_power_user())))
		snprintf(who, sizeof(who), "reservation %ld of %s", hh.reservation,
			 hh.owner ? hh.owner : "someone");
	db_host_holder_release(&hh);
	if (!who[0])
		return 0;
	if (force) {
		snprintf(note, notelen, "forced while %.200s held it", who);
		return 0;
	}
	fprintf(stderr,
		"hangar: host '%s' is held by %s: not powering it off (--force does it anyway)\n",
		host, who);
	*rc = 1;
	return 1;
}

static void host_power_print(const char *host, enum power_action a,
			     const struct power_result *r, const struct err *failure,
			     int json)
{
	if (json) {
		cli_print_json(json_pack(
			"{s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:o}", "host", host,
			"action", power_action_str(a), "result",
			failure ? "failed" : "ok", "state", power_state_str(r->state),
			"attempts", r->attempts, "ms", (json_int_t)r->ms, "detail",
			r->detail, "error",
			failure ? json_string(failure->msg) : json_null()));
		if (failure)
			cli_fail(failure);
		return;
	}
	if (failure) {
		cli_fail(failure);
		return;
	}
	if (a == POWER_STATUS) {
		printf("%s: power is %s%s%s%s\n", host, power_state_str(r->state),
		       r->detail[0] ? " (" : "", r->detail,
		       r->detail[0] ? ")" : "");
		return;
	}
	printf("%s: power %s (%d attempt%s, %.1f s%s%s)\n", host,
	       power_action_str(a), r->attempts, r->attempts == 1 ? "" : "s",
	       (double)r->ms / 1000.0, r->detail[0] ? "; " : "", r->detail);
}

int cmd_host_power(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'f' },
		{ "pause", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct power_host ph = { .cycle_time_s = -1 };
	struct err err = ERR_INIT, rerr = ERR_INIT;
	struct power_result r;
	struct db_host_power rec;
	char *method = NULL, note[256] = "";
	json_t *config = NULL;
	int c, json = 0, force = 0, action, rc, prc;
	const char *host;
	struct db *db;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_host_power_usage)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'f')
			force = 1;
		else if (c == 'p' &&
			 strnum_int(optarg, 0, 3600, &ph.cycle_time_s) < 0)
			return cli_usage_error(cmd_host_power_usage,
					       "host power: --pause takes 0 to 3600 seconds");
	}
	if (argc - optind != 2)
		return cli_usage_error(cmd_host_power_usage,
				       "host power: give HOST and on|off|cycle|status");
	host = argv[optind];
	action = power_action_parse(argv[optind + 1]);
	if (action < 0)
		return cli_usage_error(cmd_host_power_usage,
				       "host power: '%s' is not on, off, cycle or status",
				       argv[optind + 1]);
	rc = cli_open_db(cli, &db);
	if (rc)
		return rc;
	if (db_host_power_get(db, host, &method, &config, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (ph.cycle_time_s < 0) {
		/* the host's power-cycle-time, as the workers use it */
		json_t *t = json_object_get(config, "cycle_time");

		ph.cycle_time_s = json_is_integer(t) ? (int)json_integer_value(t)
						      : HOST_POWER_PAUSE_DEFAULT;
	}
	if ((action == POWER_OFF || action == POWER_CYCLE) &&
	    host_power_check_holder(db, host, force, note, sizeof(note), &rc))
		goto out;
	ph.name = host;
	ph.method = method;
	ph.config = config;
	ph.state = cli->lab.state;
	host_power_catch();
	prc = power_run(&ph, (enum power_action)action, &host_power_stop, &r,
			&err);
	if (note[0]) {
		size_t l = strlen(r.detail);

		/* the note matters more than what the method said */
		if (l > sizeof(r.detail) - strlen(note) - 3)
			l = sizeof(r.detail) - strlen(note) - 3;
		snprintf(r.detail + l, sizeof(r.detail) - l, "%s%.*s",
			 l ? "; " : "", (int)(sizeof(r.detail) - l - 3), note);
	}
	rec = (struct db_host_power){ power_action_str((enum power_action)action),
				      power_state_str(r.state), r.attempts, r.ms,
				      r.detail };
	if (db_host_power_record(db, host, &rec, prc < 0 ? &err : NULL, 0, NULL,
				 &rerr) < 0) {
		host_power_print(host, (enum power_action)action, &r,
				 prc < 0 ? &err : NULL, json);
		err_prefix(&rerr, "host '%s': recording the power action",
			   host);
		cli_fail(&rerr);
		rc = 1;
		goto out;
	}
	host_power_print(host, (enum power_action)action, &r,
			 prc < 0 ? &err : NULL, json);
	/* a power failure is lab trouble, not a usage error: always 1 */
	rc = prc < 0 ? 1 : 0;
out:
	json_decref(config);
	free(method);
	db_close(db);
	return rc;
}

int cmd_host_console(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "for", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	long secs = 0;
	struct host h;
	struct db *db;
	char *spec;
	int c, rc;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_host_console_usage)) != -1)
		if (c == 'd' && strnum_duration(optarg, 1, 30 * 86400, &secs) < 0)
			return cli_usage_error(cmd_host_console_usage,
					       "host console: --for takes a duration (e.g. 30, 90s, 2m)");
	if (argc - optind != 1)
		return cli_usage_error(cmd_host_console_usage,
				       "host console: give one HOST");
	rc = cli_open_db(cli, &db);
	if (rc)
		return rc;
	rc = db_host_get(db, argv[optind], &h, &err);
	db_close(db);   /* not needed while streaming */
	if (rc < 0)
		return cli_fail(&err);
	spec = xstrdup(h.console);
	host_release(&h);
	if (isatty(2))
		fprintf(stderr, "hangar: %s: console %s (Ctrl-C to stop)\n",
			argv[optind], spec);
	host_power_catch();
	/* a reader that goes away (| head) ends the stream like Ctrl-C,
	 * rather than killing us before we stop a console command */
	signal(SIGPIPE, SIG_IGN);
	rc = console_stream(spec, 1, secs * 1000L, &host_power_stop, &err);
	free(spec);
	if (rc < 0 && errno == EPIPE)
		return 0;
	if (rc < 0) {
		err_prefix(&err, "host '%s'", argv[optind]);
		cli_fail(&err);
		return 1;
	}
	return 0;
}

int cmd_host_maintenance(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	const char *reason = NULL, *host, *to;
	struct host h;
	struct db *db;
	int c, on, rc;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_host_maintenance_usage)) != -1)
		if (c == 'r')
			reason = optarg;
	if (argc - optind != 2 ||
	    (strcmp(argv[optind + 1], "on") && strcmp(argv[optind + 1], "off")))
		return cli_usage_error(cmd_host_maintenance_usage,
				       "host maintenance: give HOST and on or off");
	host = argv[optind];
	on = !strcmp(argv[optind + 1], "on");
	to = on ? "maintenance" : "free";
	rc = cli_open_db(cli, &db);
	if (rc)
		return rc;
	if (db_host_get(db, host, &h, &err) < 0) {
		rc = cli_fail(&err);
		goto out_db;
	}
	if (on && !strcmp(h.state, "maintenance")) {
		printf("%s: maintenance (already%s%s)\n", host,
		       h.state_reason ? ": " : "",
		       h.state_reason ? h.state_reason : "");
		rc = 0;
		goto out;
	}
	if (!on && strcmp(h.state, "maintenance") && strcmp(h.state, "broken")) {
		fprintf(stderr,
			"hangar: host '%s' is not in maintenance or broken (it is %s)\n",
			host, h.state);
		rc = 1;
		goto out;
	}
	if (db_host_set_state(db, host, to, reason,
			      on ? "host.maintenance" : "host.free", &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	printf("%s: %s%s%s%s\n", host, to, on && reason ? " (" : "",
	       on && reason ? reason : "", on && reason ? ")" : "");
	if (on && h.job_flight)
		printf("%s: job %ld.%s still holds it until it ends\n", host,
		       h.job_flight, h.job);
	rc = 0;
out:
	host_release(&h);
out_db:
	db_close(db);
	return rc;
}
