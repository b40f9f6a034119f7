/*
 * cmd-host.c: `hangar host list|show`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db-host.h"
#include "db-hostkey.h"
#include "xalloc.h"
#include "banned.h"

const char cmd_host_usage[] =
	"hangar host list [--json] | show HOST [--json] | power | console |\n"
	"            maintenance | exec | forget-key HOST | block ...\n"
	"\n"
	"  list         every host: name, arch, state, the job holding it, flags\n"
	"  show         one host's settings, state and recent history\n"
	"  power        HOST on|off|cycle|status (hangar host power --help)\n"
	"  console      HOST: its console stream (hangar host console --help)\n"
	"  maintenance  HOST on|off [--reason TEXT]: take it out, bring it back\n"
	"  exec         HOST CMD: run a command on it over SSH\n"
	"  forget-key   HOST: clear its pinned SSH host key (after a reinstall);\n"
	"               the next connection pins the key it presents\n"
	"  block        book a maintenance window (hangar host block --help)\n"
	"\n"
	"States: free, allocated (a job or a person holds it), maintenance,\n"
	"broken (lab trouble took it out), retired (no longer configured).\n"
	"--json gives an array of {\"name\", \"arch\", \"site\", \"state\", \"flags\",\n"
	"\"job\"} for list, an object with \"history\" for show.\n";

static char *host_job_text(const struct host *h)
{
	if (h->job_flight)
		return xasprintf("%ld.%s", h->job_flight, h->job);
	return NULL;
}

static int host_list(struct db *db, int json)
{
	struct err err = ERR_INIT;
	struct host *hosts;
	size_t n;

	if (db_host_list(db, &hosts, &n, &err) < 0)
		return cli_fail(&err);
	if (json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, host_to_json(&hosts[i], 0));
		cli_print_json(arr);
	} else {
		printf("%-16s %-8s %-12s %-24s %s\n", "NAME", "ARCH", "STATE",
		       "JOB", "FLAGS");
		for (size_t i = 0; i < n; i++) {
			char *flags = vec_join(&hosts[i].flags, " ");
			char *job = host_job_text(&hosts[i]);

			printf("%-16s %-8s %-12s %-24s %s\n", hosts[i].name,
			       hosts[i].arch, hosts[i].state, job ? job : "-",
			       flags);
			free(flags);
			free(job);
		}
	}
	db_host_list_free(hosts, n);
	return 0;
}

static int host_show(struct db *db, const char *name, int json)
{
	struct err err = ERR_INIT;
	struct host_event *events = NULL;
	struct host h;
	size_t n = 0;

	if (db_host_get(db, name, &h, &err) < 0)
		return cli_fail(&err);
	if (db_host_events(db, name, 20, &events, &n, &err) < 0) {
		host_release(&h);
		return cli_fail(&err);
	}
	if (json) {
		json_t *o = host_to_json(&h, 1);
		json_t *hist = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(hist, host_event_to_json(&events[i]));
		json_object_set_new(o, "history", hist);
		cli_print_json(o);
	} else {
		char *flags = vec_join(&h.flags, " ");
		char *job = host_job_text(&h);

		printf("name:         %s\n", h.name);
		printf("arch:         %s\n", h.arch);
		printf("site:         %s\n", h.site);
		printf("state:        %s%s%s%s (since %s)\n", h.state,
		       h.state_reason ? " (" : "",
		       h.state_reason ? h.state_reason : "",
		       h.state_reason ? ")" : "", h.state_since);
		printf("job:          %s\n", job ? job : "-");
		printf("address:      %s port %d, user %s\n", h.address, h.port,
		       h.user);
		printf("workdir:      %s\n", h.workdir);
		printf("flags:        %s\n", flags);
		printf("power:        %s\n", h.power);
		printf("console:      %s\n", h.console);
		printf("boot-timeout: %ds\n", h.boot_timeout);
		printf("history:\n");
		for (size_t i = 0; i < n; i++)
			printf("  %s  %-16s %s %s\n", events[i].at, events[i].kind,
			       events[i].actor, events[i].detail);
		free(flags);
		free(job);
	}
	db_host_events_free(events, n);
	host_release(&h);
	return 0;
}

static int host_forget_key(struct db *db, const char *name)
{
	struct err err = ERR_INIT;
	char *why = xasprintf("cleared by %s", db_actor());

	if (db_hostkey_clear(db, name, why, &err) < 0) {
		free(why);
		return cli_fail(&err);
	}
	free(why);
	printf("%s: SSH host key pin cleared; the next connection pins the key it presents\n",
	       name);
	return 0;
}

int cmd_host(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub;
	struct db *db;
	int json = 0, c, rc;

	/* these have options of their own */
	if (argc > 1 && !strcmp(argv[1], "block"))
		return cmd_host_block(cli, argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "power"))
		return cmd_host_power(cli, argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "console"))
		return cmd_host_console(cli, argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "maintenance"))
		return cmd_host_maintenance(cli, argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "exec"))
		return cmd_host_exec(cli, argc - 1, argv + 1);
	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_host_usage)) != -1)
		if (c == 'j')
			json = 1;
	if (optind >= argc)
		return cli_usage_error(cmd_host_usage, "host: which action?");
	sub = argv[optind];
	if (!strcmp(sub, "list")) {
		if (optind + 1 != argc)
			return cli_usage_error(cmd_host_usage,
					       "host list: too many arguments");
	} else if (!strcmp(sub, "show") || !strcmp(sub, "forget-key")) {
		if (optind + 2 != argc)
			return cli_usage_error(cmd_host_usage,
					       "host %s: expected one HOST", sub);
	} else {
		return cli_usage_error(cmd_host_usage,
				       "host: unknown action '%s'", sub);
	}
	rc = cli_open_db(cli, &db);
	if (rc)
		return rc;
	if (!strcmp(sub, "list"))
		rc = host_list(db, json);
	else if (!strcmp(sub, "forget-key"))
		rc = host_forget_key(db, argv[optind + 1]);
	else
		rc = host_show(db, argv[optind + 1], json);
	db_close(db);
	return rc;
}
