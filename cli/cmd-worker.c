/*
 * cmd-worker.c: `hangar worker`, the daemon that runs jobs on the hosts
 * the scheduler allocated.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "strnum.h"
#include "worker.h"
#include "xalloc.h"
#include "banned.h"

const char cmd_worker_usage[] =
	"hangar worker [--slots N]\n"
	"\n"
	"The worker daemon: claims jobs whose hosts the scheduler allocated\n"
	"(any number of workers, on any machines that reach the database and\n"
	"the state directory), runs their recipes over SSH, records every step\n"
	"with its log under STATE/logs/FLIGHT/JOB/, captures the hosts'\n"
	"consoles, stores build artifacts under STATE/artifacts, and ends each\n"
	"job pass, fail (the code under test failed) or broken (the lab did;\n"
	"the job is first re-queued once on other hosts, the host that caused\n"
	"it leaves the pool until a health check or a person brings it back).\n"
	"Idle, it runs the health-check recipe on broken hosts.\n"
	"\n"
	"  --slots N   jobs at once (default [worker] slots)\n"
	"\n"
	"SIGTERM/SIGINT stop it: running jobs are interrupted (their remote\n"
	"commands killed) and handed back to the queue. SIGHUP changes nothing\n"
	"(its settings are read when it starts; running jobs go on).\n";

static char *worker_name(void)
{
	char host[256];

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	return xasprintf("worker %ld@%s", (long)getpid(), host);
}

int cmd_worker(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "slots", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	struct worker_conf conf;
	long slots = 0;
	char *name;
	int c, rc;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_worker_usage)) != -1) {
		if (c == 's' && strnum_long(optarg, 1, 64, &slots) < 0)
			return cli_usage_error(cmd_worker_usage,
					       "--slots: expected 1 to 64");
	}
	if (optind != argc)
		return cli_usage_error(cmd_worker_usage,
				       "worker: too many arguments");
	rc = cli_load_lab(cli, NULL);
	if (rc)
		return rc;
	log_init("worker", cli->verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, 1);
	name = worker_name();
	db_set_actor(name);
	memset(&conf, 0, sizeof(conf));
	conf.target = cli_db_target(cli);
	conf.state = cli->lab.state;
	conf.identity = cli->lab.identity;
	conf.tftp = cli->lab.tftp;
	conf.url = cli->lab.url;
	conf.owner = name;
	conf.slots = slots ? (int)slots : cli->lab.worker.slots;
	conf.heartbeat = cli->lab.worker.heartbeat;
	conf.site = cli->lab.site;
	conf.lease = lab_site_lease(&cli->lab, cli->lab.site);
	conf.health_check = cli->lab.worker.health_check;
	conf.health_interval = cli->lab.worker.health_check_interval;
	conf.logs = &cli->lab.worker.logs;
	conf.max_log = cli->lab.worker.max_log;
	if (!conf.identity)
		log_warnx("no [lab] identity: jobs will end broken until one is set");
	rc = worker_main(&conf, &err);
	free(name);
	if (rc < 0)
		return cli_fail(&err);
	return 0;
}
