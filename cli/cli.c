/*
 * cli.c: helpers shared by the subcommands.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gitx.h"
#include "log.h"
#include "fsutil.h"
#include "xalloc.h"
#include "banned.h"

int cli_getopt(int argc, char **argv, const struct option *opts,
	       const char *usage)
{
	struct option all[32];
	size_t n = 0;
	char shortopts[64] = "h";
	int c;

	for (; opts && opts[n].name && n < 30; n++)
		all[n] = opts[n];
	all[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	all[n] = (struct option){ NULL, 0, NULL, 0 };
	opterr = 0;
	c = getopt_long(argc, argv, shortopts, all, NULL);
	if (c == 'h') {
		fputs(usage, stdout);
		exit(0);
	}
	if (c == '?') {
		if (optopt)
			fprintf(stderr, "hangar: unknown option '-%c'\n", optopt);
		else
			fprintf(stderr, "hangar: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
		fprintf(stderr, "usage: %.*s", (int)strcspn(usage, "\n") + 1,
			usage);
		exit(2);
	}
	return c;
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("hangar: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fprintf(stderr, "usage: %.*s", (int)strcspn(usage, "\n") + 1, usage);
	return 2;
}

int cli_fail(const struct err *err)
{
	fprintf(stderr, "hangar: %s\n", err->msg);
	return err_exit_status(err->code);
}

const char *cli_config_path(const struct cli *cli)
{
	const char *env = getenv("HANGAR_CONFIG");

	if (cli->config)
		return cli->config;
	if (env && *env)
		return env;
	return CLI_DEFAULT_CONFIG;
}

int cli_load_lab(struct cli *cli, const char *path)
{
	struct conf_diag diag;
	int rc;

	if (cli->lab_loaded)
		return 0;
	if (!path)
		path = cli_config_path(cli);
	conf_diag_init(&diag);
	rc = labconf_load(path, &cli->lab, &diag);
	for (size_t i = 0; i < diag.msgs.n; i++)
		fprintf(stderr, "hangar: %s\n", diag.msgs.v[i]);
	if (rc < 0 && path == cli_config_path(cli) && !cli->config &&
	    !getenv("HANGAR_CONFIG"))
		fprintf(stderr,
			"hangar: (give a configuration with --config FILE or HANGAR_CONFIG)\n");
	conf_diag_release(&diag);
	if (rc < 0)
		return 2;
	if (cli->state) {
		free(cli->lab.state);
		cli->lab.state = fs_absolute(cli->state);
	}
	/* every fetch and push of an ssh:// tree logs in with the lab's key */
	gitx_set_identity(cli->lab.identity);
	cli->lab_loaded = 1;
	return 0;
}

int cli_reload_lab(struct cli *cli, const char *path)
{
	struct lab fresh;
	struct conf_diag diag;
	int rc;

	if (!path)
		path = cli_config_path(cli);
	conf_diag_init(&diag);
	rc = labconf_load(path, &fresh, &diag);
	for (size_t i = 0; i < diag.msgs.n; i++)
		log_warnx("%s", diag.msgs.v[i]);
	if (rc == 0) {
		labconf_release(&cli->lab);
		cli->lab = fresh;
		if (cli->state) {
			free(cli->lab.state);
			cli->lab.state = fs_absolute(cli->state);
		}
		gitx_set_identity(cli->lab.identity);
		log_info("re-read %s", path);
	} else {
		log_warnx("%s has errors: keeping the old settings", path);
	}
	conf_diag_release(&diag);
	return rc < 0 ? -1 : 0;
}

struct db_target cli_db_target(const struct cli *cli)
{
	struct db_target t = {
		.database = cli->lab.database,
		.state = cli->lab.state,
		.cluster = { cli->lab.db_listen, cli->lab.db_sync_standby },
	};

	return t;
}

int cli_open_db(struct cli *cli, struct db **db)
{
	struct db_target t;
	struct err err = ERR_INIT;
	int rc = cli_load_lab(cli, NULL);

	if (rc)
		return rc;
	t = cli_db_target(cli);
	if (db_open(&t, db, &err) < 0)
		return cli_fail(&err);
	return 0;
}

void cli_print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(j);
}
