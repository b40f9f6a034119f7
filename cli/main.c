/*
 * main.c: the `hangar` command: global options, then a git-style
 * subcommand from the table below. This is hangar-core.so's entry, which
 * the `hangar` executable (front.c) loads for every command it does not
 * answer itself.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "version.h"
#include "banned.h"


static const char main_usage[] =
	"hangar [--config FILE] [--state DIR] [-v] COMMAND [ARGS]\n"
	"\n"
	"A gating CI controller for a lab of real machines.\n"
	"\n"
	"Commands:\n"
	"  up [--demo]            everything in one process tree: database,\n"
	"                         migrations, the lab configuration, daemons\n"
	"  db migrate|status|start|stop|standby|promote\n"
	"                         the schema, the private database cluster, a\n"
	"                         streaming standby and its promotion\n"
	"  lab apply|check FILE   load (or only validate) a lab configuration\n"
	"  host list|show|power|console|maintenance|exec|block\n"
	"                         the lab's hosts\n"
	"  scheduler | worker     the planner and the job-running daemons\n"
	"  plan | reserve | release\n"
	"                         the plan of the lab; borrowing hosts\n"
	"  request                queue an ad-hoc flight of named jobs\n"
	"  flight list|show|report|log|cancel|rerun|wait\n"
	"                         flights, their jobs, steps, logs, artifacts,\n"
	"                         reports\n"
	"  gate [run BRANCH]      the push gate daemon, or one cycle of a branch\n"
	"  branch list|block|unblock|force-push\n"
	"                         the gated branches and their push controls\n"
	"  bisect list|show|start|run\n"
	"                         regressions bisected to their commit\n"
	"  evidence show|record|rebuild|verify\n"
	"                         signed records of what each pushed revision\n"
	"                         was tested on, with what result\n"
	"  web                    the web dashboard and JSON API daemon\n"
	"  token create|list|revoke\n"
	"                         API tokens for the dashboard and the API\n"
	"  import osstest         an OSSTest database's flights, hosts and baselines\n"
	"  backup DIR | restore DIR\n"
	"                         the lab (database, logs, artifacts) to a\n"
	"                         directory, and back on another machine\n"
	"  help [COMMAND|config]  help on a command, or on the configuration keys\n"
	"                         (help --man, help config --man: the manual\n"
	"                         pages hangar(1) and hangar.conf(5) in roff)\n"
	"  version                print the version\n"
	"\n"
	"Global options:\n"
	"  --config FILE   lab configuration (default: $HANGAR_CONFIG, else\n"
	"                  " CLI_DEFAULT_CONFIG ")\n"
	"  --state DIR     state directory, overriding [lab] state\n"
	"  -v, --verbose   more logging\n"
	"\n"
	"Exit status: 0 success, 1 the operation failed, 2 usage or\n"
	"configuration error.\n";

static const struct cmd commands[] = {
	{ "db", cmd_db, cmd_db_usage },
	{ "lab", cmd_lab, cmd_lab_usage },
	{ "host", cmd_host, cmd_host_usage },
	{ "up", cmd_up, cmd_up_usage },
	{ "web", cmd_web, cmd_web_usage },
	{ "scheduler", cmd_scheduler, cmd_scheduler_usage },
	{ "plan", cmd_plan, cmd_plan_usage },
	{ "reserve", cmd_reserve, cmd_reserve_usage },
	{ "release", cmd_release, cmd_release_usage },
	{ "worker", cmd_worker, cmd_worker_usage },
	{ "flight", cmd_flight, cmd_flight_usage },
	{ "request", cmd_request, cmd_request_usage },
	{ "gate", cmd_gate, cmd_gate_usage },
	{ "branch", cmd_branch, cmd_branch_usage },
	{ "token", cmd_token, cmd_token_usage },
	{ "bisect", cmd_bisect, cmd_bisect_usage },
	{ "evidence", cmd_evidence, cmd_evidence_usage },
	{ "import", cmd_import, cmd_import_usage },
	{ "backup", cmd_backup, cmd_backup_usage },
	{ "restore", cmd_restore, cmd_restore_usage },
	{ "demo-drive", cmd_demo_drive, cmd_demo_drive_usage },
	{ NULL, NULL, NULL },
};

static const struct cmd *find_command(const char *name)
{
	for (const struct cmd *c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	const struct cmd *c;

	if (argc < 2) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--man")) {
		man_hangar(stdout, HANGAR_VERSION, main_usage, commands);
		return 0;
	}
	if (!strcmp(argv[1], "config")) {
		if (argc > 2 && !strcmp(argv[2], "--man")) {
			man_hangar_conf(stdout, HANGAR_VERSION);
			return 0;
		}
		printf("Lab configuration keys (git-config syntax; see "
		       "etc/hangar.conf.example):\n\n");
		labconf_print_reference(stdout);
		return 0;
	}
	c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "hangar: no command '%s'\n", argv[1]);
		return 2;
	}
	fputs(c->usage, stdout);
	return 0;
}

__attribute__((visibility("default")))
int hangar_core_main(int argc, char **argv, unsigned flags)
{
	struct cli cli;
	const struct cmd *c;
	int i, rc;

	memset(&cli, 0, sizeof(cli));
	cli.argv0 = argv[0];
	cli.report_asked = !!(flags & CLI_CORE_REPORT_ASKED);
	signal(SIGPIPE, SIG_IGN);
	log_init("hangar", LOG_LEVEL_INFO, 0);
	switch (cli_global_options(&cli, argc, argv, &i)) {
	case CLI_GLOBAL_OK:
		break;
	case CLI_GLOBAL_HELP:
		fputs(main_usage, stdout);
		return 0;
	case CLI_GLOBAL_VERSION:
		printf("hangar %s\n", HANGAR_VERSION);
		return 0;
	case CLI_GLOBAL_NO_VALUE:
		fprintf(stderr, "hangar: %s needs a value\n", argv[i]);
		return 2;
	case CLI_GLOBAL_UNKNOWN:
		fprintf(stderr, "hangar: unknown option '%s'\n", argv[i]);
		fprintf(stderr, "usage: %.*s",
			(int)strcspn(main_usage, "\n") + 1, main_usage);
		return 2;
	}
	if (cli.verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	if (i >= argc) {
		fputs(main_usage, stderr);
		return 2;
	}
	if (!strcmp(argv[i], "help"))
		return cmd_help(argc - i, argv + i);
	if (!strcmp(argv[i], "version")) {
		printf("hangar %s\n", HANGAR_VERSION);
		return 0;
	}
	c = find_command(argv[i]);
	if (!c) {
		fprintf(stderr, "hangar: no command '%s' (see hangar --help)\n",
			argv[i]);
		return 2;
	}
	rc = c->run(&cli, argc - i, argv + i);
	if (cli.lab_loaded)
		labconf_release(&cli.lab);
	return rc;
}
