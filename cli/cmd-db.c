/*
 * cmd-db.c: `hangar db migrate|status|start|stop`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "cli.h"
#include "db-cluster.h"
#include "db-migrate.h"
#include "banned.h"

const char cmd_db_usage[] =
	"hangar db migrate | status [--json] | start | stop\n"
	"\n"
	"  migrate   apply the schema migrations this hangar carries, each in\n"
	"            its own transaction (also done automatically for the\n"
	"            private cluster)\n"
	"  status    which migrations are applied, and where the database is\n"
	"  start     start the private cluster (STATE/pg) if it is not running\n"
	"  stop      stop the private cluster; it stays stopped, even under\n"
	"            'hangar up' (the daemons wait), until 'hangar db start'\n"
	"\n"
	"Without [lab] database, hangar uses a private PostgreSQL cluster under\n"
	"its state directory, created and started on first use and shared by\n"
	"every hangar process of that state directory.\n";

static int db_status(struct cli *cli, int json)
{
	struct db_migration_state *list;
	struct db_target t = cli_db_target(cli);
	struct err err = ERR_INIT;
	struct db *db;
	size_t n;
	int pending = 0;

	if (db_open_raw(&t, &db, &err) < 0)
		return cli_fail(&err);
	if (db_migrate_status(db, &list, &n, &err) < 0) {
		db_close(db);
		return cli_fail(&err);
	}
	for (size_t i = 0; i < n; i++)
		pending += !list[i].applied_at;
	if (json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(
				arr, json_pack("{s:i,s:s,s:s?,s:b}", "version",
					       list[i].version, "name",
					       list[i].name, "applied_at",
					       list[i].applied_at, "known",
					       list[i].known));
		cli_print_json(json_pack("{s:s,s:i,s:i,s:o}", "database",
					 db->where, "latest",
					 db_migrate_latest(), "pending", pending,
					 "migrations", arr));
	} else {
		printf("database: %s\n", db->where);
		for (size_t i = 0; i < n; i++)
			printf("%04d-%-30s %s%s\n", list[i].version,
			       list[i].name,
			       list[i].applied_at ? list[i].applied_at
						  : "pending",
			       list[i].known ? "" : " (unknown to this hangar)");
		printf("%d pending\n", pending);
	}
	db_migrate_status_free(list, n);
	db_close(db);
	return 0;
}

int cmd_db(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	struct db_target t;
	const char *sub;
	int json = 0, c, rc;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_db_usage)) != -1)
		if (c == 'j')
			json = 1;
	if (optind >= argc)
		return cli_usage_error(cmd_db_usage, "db: which action?");
	sub = argv[optind];
	if (optind + 1 < argc)
		return cli_usage_error(cmd_db_usage, "db %s: too many arguments",
				       sub);
	rc = cli_load_lab(cli, NULL);
	if (rc)
		return rc;
	t = cli_db_target(cli);
	if (!strcmp(sub, "migrate")) {
		struct db *db;

		if (db_open_raw(&t, &db, &err) < 0)
			return cli_fail(&err);
		rc = db_migrate(db, stdout, &err);
		db_close(db);
		return rc < 0 ? cli_fail(&err) : 0;
	}
	if (!strcmp(sub, "status"))
		return db_status(cli, json);
	if (!strcmp(sub, "start") || !strcmp(sub, "stop")) {
		pid_t pid;

		if (t.database)
			return cli_usage_error(cmd_db_usage,
					       "db %s: only for the private cluster, and [lab] database is set",
					       sub);
		if (!strcmp(sub, "start")) {
			if (db_cluster_ensure(t.state, &err) < 0)
				return cli_fail(&err);
			db_cluster_pid(t.state, &pid);
			printf("private database running (pid %ld) in %s/pg\n",
			       (long)pid, t.state);
			return 0;
		}
		if (db_cluster_stop(t.state, &err) < 0)
			return cli_fail(&err);
		printf("private database stopped\n");
		return 0;
	}
	return cli_usage_error(cmd_db_usage, "db: unknown action '%s'", sub);
}
