/*
 * cmd-db.c: `hangar db migrate|status|start|stop|standby|promote`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "cli.h"
#include "db-cluster.h"
#include "db-migrate.h"
#include "db-replica.h"
#include "banned.h"

const char cmd_db_usage[] =
	"hangar db migrate | status [--json] | start | stop\n"
	"       | standby --from CONNINFO [--pgdata DIR] | promote [--force]\n"
	"\n"
	"  migrate   apply the schema migrations this hangar carries, each in\n"
	"            its own transaction (also done automatically for the\n"
	"            private cluster)\n"
	"  status    where the database is, its role (primary or standby), a\n"
	"            standby's replication lag, the standbys a primary feeds,\n"
	"            and which migrations are applied\n"
	"  start     start the private cluster (STATE/pg) if it is not running\n"
	"  stop      stop the private cluster; it stays stopped, even under\n"
	"            'hangar up' (the daemons wait), until 'hangar db start'\n"
	"  standby   make a streaming replica of the primary at CONNINFO with\n"
	"            pg_basebackup (-X stream -R). Without [lab] database: as\n"
	"            the private cluster of this state directory, which must\n"
	"            have none yet, and start it. With [lab] database (a server\n"
	"            hangar does not run): into the empty directory --pgdata\n"
	"            DIR, as the calling user, for the server's owner to start\n"
	"            (pg_ctl -D DIR start, or the distribution's service)\n"
	"  promote   make the standby a primary and wait until it takes\n"
	"            writes (pg_promote(): a superuser, or EXECUTE granted on\n"
	"            it): the private cluster, or with [lab] database the\n"
	"            first standby among its hosts. Refused while the standby\n"
	"            still streams from a live primary, unless --force\n"
	"\n"
	"Without [lab] database, hangar uses a private PostgreSQL cluster under\n"
	"its state directory, created and started on first use and shared by\n"
	"every hangar process of that state directory. It listens on a Unix\n"
	"socket in STATE/pg only, unless [lab] db-listen names TCP addresses\n"
	"(for a standby on another machine).\n";

static json_t *db_replica_json(const struct db_replica_status *r)
{
	json_t *peers = json_array(), *j;

	for (size_t i = 0; i < r->npeers; i++) {
		const struct db_replica_peer *p = &r->peers[i];

		json_array_append_new(
			peers,
			json_pack("{s:s?,s:s?,s:s?,s:s?,s:I}", "name", p->name,
				  "client", p->client, "state", p->state,
				  "sync_state", p->sync_state, "lag_bytes",
				  (json_int_t)p->lag_bytes));
		if (p->lag_s >= 0)
			json_object_set_new(json_array_get(peers, i),
					    "lag_seconds", json_real(p->lag_s));
	}
	j = json_pack("{s:s,s:o}", "role", r->standby ? "standby" : "primary",
		      "standbys", peers);
	if (r->standby) {
		json_object_set_new(j, "primary",
				    r->primary ? json_string(r->primary)
					       : json_null());
		json_object_set_new(j, "receiver",
				    r->receiver ? json_string(r->receiver)
						: json_null());
		json_object_set_new(j, "lag_bytes",
				    json_integer((json_int_t)r->lag_bytes));
		json_object_set_new(j, "lag_seconds",
				    r->lag_s >= 0 ? json_real(r->lag_s)
						  : json_null());
	}
	json_object_set_new(j, "synchronous_standby_names",
			    json_string(r->sync_names ? r->sync_names : ""));
	return j;
}

static void db_replica_print(const struct db_replica_status *r)
{
	if (r->standby) {
		printf("role: standby of %s (receiver %s)\n",
		       r->primary ? r->primary : "?",
		       r->receiver ? r->receiver : "not running");
		if (r->lag_s >= 0)
			printf("lag: %lld bytes to replay, last commit replayed %.1fs ago\n",
			       r->lag_bytes, r->lag_s);
		else
			printf("lag: %lld bytes to replay, no commit replayed yet\n",
			       r->lag_bytes);
	} else {
		printf("role: primary\n");
	}
	if (r->sync_names && *r->sync_names)
		printf("synchronous standbys: %s\n", r->sync_names);
	for (size_t i = 0; i < r->npeers; i++) {
		const struct db_replica_peer *p = &r->peers[i];

		printf("standby: %s from %s, %s (%s), %lld bytes behind",
		       p->name ? p->name : "?", p->client, p->state,
		       p->sync_state, p->lag_bytes);
		if (p->lag_s >= 0)
			printf(", replay lag %.3fs", p->lag_s);
		printf("\n");
	}
}

static int db_status(struct cli *cli, int json)
{
	struct db_migration_state *list;
	struct db_replica_status rep;
	struct db_target t = cli_db_target(cli);
	struct err err = ERR_INIT;
	struct db *db;
	size_t n;
	int pending = 0;

	if (db_open_raw(&t, &db, &err) < 0)
		return cli_fail(&err);
	if (db_replica_status(db, &rep, &err) < 0) {
		db_close(db);
		return cli_fail(&err);
	}
	if (db_migrate_status(db, &list, &n, &err) < 0) {
		db_replica_status_release(&rep);
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
		cli_print_json(json_pack("{s:s,s:o,s:i,s:i,s:o}", "database",
					 db->where, "replication",
					 db_replica_json(&rep), "latest",
					 db_migrate_latest(), "pending", pending,
					 "migrations", arr));
	} else {
		printf("database: %s\n", db->where);
		db_replica_print(&rep);
		for (size_t i = 0; i < n; i++)
			printf("%04d-%-30s %s%s\n", list[i].version,
			       list[i].name,
			       list[i].applied_at ? list[i].applied_at
						  : "pending",
			       list[i].known ? "" : " (unknown to this hangar)");
		printf("%d pending\n", pending);
	}
	db_replica_status_release(&rep);
	db_migrate_status_free(list, n);
	db_close(db);
	return 0;
}

static int db_standby(const struct db_target *t, const char *from,
		      const char *pgdata)
{
	struct err err = ERR_INIT;

	if (!from)
		return cli_usage_error(cmd_db_usage,
				       "db standby: --from CONNINFO names the primary");
	if (t->database) {
		if (!pgdata)
			return cli_usage_error(cmd_db_usage,
					       "db standby: [lab] database names a server hangar does not run: --pgdata DIR says where its copy goes");
		if (db_basebackup_standby(from, pgdata, &err) < 0)
			return cli_fail(&err);
		printf("standby copied into %s; start it as that server's owner (pg_ctl -D %s start, or its service) and list it in [lab] database\n",
		       pgdata, pgdata);
		return 0;
	}
	if (pgdata)
		return cli_usage_error(cmd_db_usage,
				       "db standby: --pgdata is for [lab] database; the private cluster is STATE/pg");
	if (db_cluster_standby(t->state, &t->cluster, from, &err) < 0)
		return cli_fail(&err);
	printf("private database in %s/pg: a standby of %s, running\n",
	       t->state, from);
	return 0;
}

static int db_promote(const struct db_target *t, int force)
{
	struct err err = ERR_INIT;
	struct db *db;
	int rc;

	/* the conninfo may list the primary first: the standby is asked */
	if (db_open_attrs(t, "standby", &db, &err) < 0)
		return cli_fail(&err);
	rc = db_replica_promote(db, force, &err);
	if (rc == 0)
		printf("database %s promoted: it is a primary\n", db->where);
	db_close(db);
	return rc < 0 ? cli_fail(&err) : 0;
}

int cmd_db(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "from", required_argument, NULL, 'f' },
		{ "pgdata", required_argument, NULL, 'D' },
		{ "force", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	struct db_target t;
	const char *sub, *from = NULL, *pgdata = NULL;
	int json = 0, force = 0, c, rc;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_db_usage)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'f')
			from = optarg;
		else if (c == 'D')
			pgdata = optarg;
		else if (c == 'F')
			force = 1;
	}
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
	if (!strcmp(sub, "standby"))
		return db_standby(&t, from, pgdata);
	if (!strcmp(sub, "promote"))
		return db_promote(&t, force);
	if (!strcmp(sub, "start") || !strcmp(sub, "stop")) {
		pid_t pid;

		if (t.database)
			return cli_usage_error(cmd_db_usage,
					       "db %s: only for the private cluster, and [lab] database is set",
					       sub);
		if (!strcmp(sub, "start")) {
			if (db_cluster_ensure(t.state, &t.cluster, &err) < 0)
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
