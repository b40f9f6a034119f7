/*
 * cmd-worker.c: `hangar worker`, the daemon that runs jobs on the hosts
 * the scheduler allocated.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "log.h"
#include "strnum.h"
#include "worker.h"
#include "xalloc.h"
#include "banned.h"

const char cmd_worker_usage[] =
	"hangar worker [--slots N] [--site NAME]\n"
	"              [--controller URL [--token-file FILE] [--ca FILE] [--name NAME]]\n"
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
	"  --site NAME the site whose hosts' jobs it runs (default [worker] site,\n"
	"              else [lab] site): a worker serves one site\n"
	"\n"
	"A remote worker (a site away from the controller) reaches it over\n"
	"HTTPS only, with its site's worker token (`hangar token create --role\n"
	"worker --site NAME`): it needs no database and no shared state. It\n"
	"keeps logs, console captures and artifacts in its own [lab] state and\n"
	"ships them to the controller; through a lost link its jobs go on and\n"
	"what they record is held and delivered in order when it is back.\n"
	"\n"
	"  --controller URL  the controller (default [worker] controller)\n"
	"  --token-file FILE the worker token, alone in FILE (default\n"
	"                    [worker] token-file)\n"
	"  --ca FILE         the CA its certificate is checked against (default\n"
	"                    [worker] ca, else the system's)\n"
	"  --name NAME       its name in the site, [A-Za-z0-9._-] (default\n"
	"                    [worker] name, else the host name)\n"
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

/* A remote worker's default name: the host name's first label. */
static char *host_name(void)
{
	char host[256];

	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "worker");
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	if (!*host || strlen(host) > 63 ||
	    strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		   "0123456789_-") != strlen(host))
		snprintf(host, sizeof(host), "worker");
	return xstrdup(host);
}

static int name_ok(const char *s, const char *set, size_t max)
{
	size_t n = strlen(s);

	return n && n <= max && strspn(s, set) == n;
}

/* The token alone in path, surrounding white space cut off. */
static char *read_token(const char *path, struct err *err)
{
	struct buf b = BUF_INIT;
	char *t;

	buf_init(&b, 4096);
	if (buf_read_file(&b, path) < 0) {
		err_set(err, ERR_USAGE, "token file %s: %s", path,
			b.overflowed ? "over 4 KiB" : strerror(errno));
		buf_release(&b);
		return NULL;
	}
	buf_rtrim(&b);
	t = xstrdup(b.buf + strspn(b.buf, " \t\r\n"));
	buf_release(&b);
	if (!*t || strpbrk(t, " \t\r\n")) {
		err_set(err, ERR_USAGE, "token file %s: not one token", path);
		free(t);
		return NULL;
	}
	return t;
}

int cmd_worker(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "slots", required_argument, NULL, 's' },
		{ "site", required_argument, NULL, 'S' },
		{ "controller", required_argument, NULL, 'c' },
		{ "token-file", required_argument, NULL, 't' },
		{ "ca", required_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	struct worker_conf conf;
	const char *site = NULL, *controller = NULL, *token_file = NULL;
	const char *ca = NULL, *wname = NULL;
	char *token = NULL, *remote_name = NULL, *owner = NULL;
	long slots = 0;
	char *name;
	int c, rc;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_worker_usage)) != -1) {
		if (c == 's' && strnum_long(optarg, 1, 64, &slots) < 0)
			return cli_usage_error(cmd_worker_usage,
					       "--slots: expected 1 to 64");
		if (c == 'S')
			site = optarg;
		if (c == 'c')
			controller = optarg;
		if (c == 't')
			token_file = optarg;
		if (c == 'a')
			ca = optarg;
		if (c == 'n')
			wname = optarg;
	}
	if (optind != argc)
		return cli_usage_error(cmd_worker_usage,
				       "worker: too many arguments");
	rc = cli_load_lab(cli, NULL);
	if (rc)
		return rc;
	if (!site)
		site = cli->lab.worker.site;
	if (!controller)
		controller = cli->lab.worker.controller;
	if (!token_file)
		token_file = cli->lab.worker.token_file;
	if (!ca)
		ca = cli->lab.worker.ca;
	if (!wname)
		wname = cli->lab.worker.name;
	if (site && !lab_site_name_valid(site))
		return cli_usage_error(cmd_worker_usage, "--site: a site's name is "
				       "[a-z0-9][a-z0-9-]*, at most 63 bytes");
	if (!controller && (token_file || wname))
		return cli_usage_error(cmd_worker_usage, "--token-file and --name "
				       "are for a remote worker (--controller)");
	if (controller && strncmp(controller, "https://", 8) != 0 &&
	    strncmp(controller, "http://", 7) != 0)
		return cli_usage_error(cmd_worker_usage, "--controller: an "
				       "https:// (or http://) URL");
	if (controller && !site)
		return cli_usage_error(cmd_worker_usage, "a remote worker serves "
				       "one site: give --site or [worker] site");
	if (wname && !name_ok(wname, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
			      "qrstuvwxyz0123456789._-", 63))
		return cli_usage_error(cmd_worker_usage, "--name: 1 to 63 of "
				       "[A-Za-z0-9._-]");
	if (controller && !token_file)
		return cli_usage_error(cmd_worker_usage, "a remote worker needs "
				       "--token-file or [worker] token-file");
	if (controller && !(token = read_token(token_file, &err)))
		return cli_fail(&err);
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
	if (!site)
		site = cli->lab.site;
	conf.site = site;
	conf.lease = lab_site_lease(&cli->lab, site);
	conf.health_check = cli->lab.worker.health_check;
	conf.health_interval = cli->lab.worker.health_check_interval;
	conf.logs = &cli->lab.worker.logs;
	conf.max_log = cli->lab.worker.max_log;
	if (controller) {
		size_t n = strlen(controller);

		/* no database here: its lease owner is SITE/NAME, set by the
		 * controller from the token */
		remote_name = wname ? xstrdup(wname) : host_name();
		conf.controller = xstrndup(controller,
					   n && controller[n - 1] == '/' ? n - 1 : n);
		conf.name = remote_name;
		conf.token = token;
		conf.ca = ca;
		owner = xasprintf("%s/%s", site, remote_name);
		conf.owner = owner;
	}
	if (!conf.identity)
		log_warnx("no [lab] identity: jobs will end broken until one is set");
	rc = worker_main(&conf, &err);
	free(name);
	free(owner);
	free(remote_name);
	free((char *)conf.controller);
	if (token)
		memset(token, 0, strlen(token));
	free(token);
	if (rc < 0)
		return cli_fail(&err);
	return 0;
}
