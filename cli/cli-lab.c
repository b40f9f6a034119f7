/*
 * cli-lab.c: what the subcommands share beyond the front's reach (it
 * links neither libgit2 nor libpq): loading the lab configuration and
 * opening its database.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "gitx.h"
#include "log.h"
#include "fsutil.h"
#include "banned.h"

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
