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
	"[lab] listen (default 127.0.0.1:8080) until SIGINT or SIGTERM;\n"
	"with [web] tls-cert and tls-key, over HTTPS only. Also answers\n"
	"`hangar flight report` on STATE/web.sock (the daemon's user only).\n"
	"SIGHUP re-reads [web] read-role (the other settings need a restart;\n"
	"a file with errors keeps the old).\n"
	"Reading is open unless [web] read-role = viewer; requests and\n"
	"reservations need a developer token, host and branch administration\n"
	"an admin token (`hangar token create`). It never reads SSH keys.\n";

/*
 * SIGHUP: [web] read-role again. The other [web] settings and the listen
 * address are taken at start; a file with errors changes nothing. The
 * lab in force stays as it is: the server's threads use its strings.
 */
static void web_reload(struct web_opts *wo, void *arg)
{
	struct cli *cli = arg;
	const char *path = cli_config_path(cli);
	struct conf_diag diag;
	struct lab fresh;

	conf_diag_init(&diag);
	if (labconf_load(path, &fresh, &diag) < 0) {
		for (size_t i = 0; i < diag.msgs.n; i++)
			log_warnx("%s", diag.msgs.v[i]);
		log_warnx("%s has errors: keeping the old settings", path);
	} else {
		if (wo->read_viewer != fresh.web.read_viewer)
			log_info("[web] read-role is now %s",
				 fresh.web.read_viewer ? "viewer" : "none");
		else
			log_info("re-read %s: [web] read-role unchanged", path);
		wo->read_viewer = fresh.web.read_viewer;
		labconf_release(&fresh);
	}
	conf_diag_release(&diag);
}

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
	wo.tls_cert = cli->lab.web.tls_cert;
	wo.tls_key = cli->lab.web.tls_key;
	wo.max_upload = cli->lab.web.max_upload;
	wo.lab = &cli->lab;
	wo.reload = web_reload;
	wo.reload_arg = cli;
	if (web_run(&wo, &err) < 0) {
		log_warnx("%s", err.msg);
		return err_exit_status(err.code);
	}
	return 0;
}
