/*
 * cmd-web.c: `hangar web`, the dashboard daemon.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "log.h"
#include "web.h"
#include "banned.h"

const char cmd_web_usage[] =
	"hangar web [--listen HOST:PORT]\n"
	"\n"
	"Serves the dashboard and the JSON API (/api/v1/...) on the address of\n"
	"[lab] listen (default 127.0.0.1:8080) until SIGINT or SIGTERM.\n"
	"Reading is open unless [web] read-role = viewer; requests and\n"
	"reservations need a developer token, host and branch administration\n"
	"an admin token (`hangar token create`). It never reads SSH keys.\n";

int cmd_web(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct web_opts wo = { 0 };
	struct err err = ERR_INIT;
	const char *listen = NULL;
	struct db *db;
	int c, rc;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_web_usage)) != -1)
		if (c == 'l')
			listen = optarg;
	if (optind != argc)
		return cli_usage_error(cmd_web_usage, "web: too many arguments");
	log_init("web", cli->verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, 1);
	/* once, up front: the private cluster runs and the schema is current */
	rc = cli_open_db(cli, &db);
	if (rc)
		return rc;
	db_close(db);
	wo.listen = listen ? listen : cli->lab.listen;
	wo.db = cli_db_target(cli);
	wo.state = cli->lab.state;
	wo.threads = cli->lab.web.threads;
	wo.max_connections = cli->lab.web.max_connections;
	wo.timeout = cli->lab.web.timeout;
	wo.read_viewer = cli->lab.web.read_viewer;
	if (web_run(&wo, &err) < 0) {
		log_warnx("%s", err.msg);
		return err_exit_status(err.code);
	}
	return 0;
}
