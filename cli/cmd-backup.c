/*
 * cmd-backup.c: `hangar backup DIR` and `hangar restore DIR`, a lab
 * moved to another machine with its history, baselines and bisections:
 * the database (pg_dump), the logs and the artifacts.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <dirent.h>
#include <errno.h>

#include "cli.h"
#include "db-backup.h"
#include "db-lab.h"
#include "db-migrate.h"
#include "fsutil.h"
#include "version.h"
#include "xalloc.h"
#include "banned.h"


const char cmd_backup_usage[] =
	"hangar backup DIR\n"
	"\n"
	"A copy of the lab in DIR (new, or empty): its database in\n"
	"DIR/database.dump (pg_dump, custom format), STATE/logs and\n"
	"STATE/artifacts, and DIR/backup.json, written last (a DIR without it\n"
	"is no backup). It may be taken while flights run: the database is\n"
	"dumped first, from one snapshot; the files after it, and a log or\n"
	"artifact is never changed once the database names it, so every one\n"
	"the dump names is in the copy (logs still growing are copied as they\n"
	"stand). 'hangar restore DIR' brings it back.\n";

const char cmd_restore_usage[] =
	"hangar restore DIR [--no-apply]\n"
	"\n"
	"Restores a backup of 'hangar backup' into this configuration's lab:\n"
	"the database ([lab] database, which must hold no lab yet, or a new\n"
	"private cluster under [lab] state), the logs and the artifacts (the\n"
	"state directory must have none), then applies the migrations this\n"
	"hangar carries, and the lab configuration as 'hangar lab apply' does\n"
	"(the hosts, trees and branches of the new machine), unless\n"
	"--no-apply. Then start the daemons ('hangar up'): flights that were\n"
	"running when the backup was taken are recovered as after a crash.\n";

/* Whether dir has anything in it (absent: no). */
static int dir_has_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int any = 0;

	while (d && !any && (e = readdir(d)) != NULL)
		any = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (d)
		closedir(d);
	return any;
}

static int backup_copy(const char *from, const char *to, const char *what,
		       long *n, struct err *err)
{
	int rc = fs_copy_tree(from, to, n, err);

	if (rc < 0)
		return err_set(err, rc, "copying the %s: %s", what, err->msg);
	return 0;
}

int cmd_backup(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	struct err err = ERR_INIT;
	struct db_target t;
	char *dump = NULL, *from = NULL, *to = NULL, *manifest = NULL;
	char *text = NULL, when[32];
	long nlogs = 0, nartifacts = 0;
	time_t now = time(NULL);
	struct tm tm;
	const char *dir;
	json_t *j;
	int rc;

	optind = 0;
	while (cli_getopt(argc, argv, opts, cmd_backup_usage) != -1)
		;
	if (optind + 1 != argc)
		return cli_usage_error(cmd_backup_usage, "backup: which DIR?");
	dir = argv[optind];
	rc = cli_load_lab(cli, NULL);
	if (rc)
		return rc;
	t = cli_db_target(cli);
	if (dir_has_files(dir))
		return cli_usage_error(cmd_backup_usage,
				       "backup: %s is not empty", dir);
	if (fs_mkdir_p(dir, 0700, &err) < 0)
		return cli_fail(&err);
	gmtime_r(&now, &tm);
	if (strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		when[0] = '\0';
	/* the database first: the files it names are there by then */
	dump = xasprintf("%s/database.dump", dir);
	rc = db_backup_dump(&t, dump, &err);
	if (rc < 0)
		goto out;
	free(from);
	free(to);
	from = xasprintf("%s/logs", t.state);
	to = xasprintf("%s/logs", dir);
	rc = backup_copy(from, to, "logs", &nlogs, &err);
	if (rc < 0)
		goto out;
	free(from);
	free(to);
	from = xasprintf("%s/artifacts", t.state);
	to = xasprintf("%s/artifacts", dir);
	rc = backup_copy(from, to, "artifacts", &nartifacts, &err);
	if (rc < 0)
		goto out;
	j = json_pack("{s:s,s:s,s:s,s:i,s:s,s:I,s:I}", "hangar", HANGAR_VERSION,
		      "taken_at", when, "state", t.state, "schema",
		      db_migrate_latest(), "database", "database.dump", "logs",
		      (json_int_t)nlogs, "artifacts", (json_int_t)nartifacts);
	text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	manifest = xasprintf("%s/backup.json", dir);
	rc = fs_write_file(manifest, text, strlen(text), 0600, &err);
	if (rc < 0)
		goto out;
	printf("backup of %s in %s: the database, %ld log file(s), %ld artifact(s)\n",
	       t.state, dir, nlogs, nartifacts);
out:
	free(text);
	free(manifest);
	free(from);
	free(to);
	free(dump);
	return rc < 0 ? cli_fail(&err) : 0;
}

int cmd_restore(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-apply", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct lab_apply_result result;
	struct err err = ERR_INIT;
	struct db_target t;
	struct db *db = NULL;
	char *manifest, *dump = NULL, *from = NULL, *to = NULL;
	long nlogs = 0, nartifacts = 0;
	json_t *j;
	json_error_t jerr;
	const char *dir;
	int apply = 1, c, rc;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_restore_usage)) != -1)
		if (c == 'n')
			apply = 0;
	if (optind + 1 != argc)
		return cli_usage_error(cmd_restore_usage, "restore: which DIR?");
	dir = argv[optind];
	rc = cli_load_lab(cli, NULL);
	if (rc)
		return rc;
	t = cli_db_target(cli);
	manifest = xasprintf("%s/backup.json", dir);
	j = json_load_file(manifest, 0, &jerr);
	if (!j || !json_is_object(j)) {
		rc = err_set(&err, ERR_FAIL,
			     "%s: no backup here (%s): an interrupted 'hangar backup' writes none",
			     dir, jerr.text);
		goto out;
	}
	/* into a new state directory: nothing of another lab is mixed in */
	from = xasprintf("%s/logs", t.state);
	to = xasprintf("%s/artifacts", t.state);
	if (dir_has_files(from) || dir_has_files(to)) {
		rc = err_set(&err, ERR_EXISTS,
			     "%s has logs or artifacts already: restore into a new state directory",
			     t.state);
		goto out;
	}
	dump = xasprintf("%s/database.dump", dir);
	rc = db_backup_restore(&t, dump, &err);
	if (rc < 0)
		goto out;
	rc = db_open_raw(&t, &db, &err);
	if (rc == 0)
		rc = db_migrate(db, NULL, &err);
	if (rc < 0)
		goto out;
	free(from);
	free(to);
	from = xasprintf("%s/logs", dir);
	to = xasprintf("%s/logs", t.state);
	rc = backup_copy(from, to, "logs", &nlogs, &err);
	if (rc < 0)
		goto out;
	free(from);
	free(to);
	from = xasprintf("%s/artifacts", dir);
	to = xasprintf("%s/artifacts", t.state);
	rc = backup_copy(from, to, "artifacts", &nartifacts, &err);
	if (rc < 0)
		goto out;
	printf("restored %s (taken %s) into %s: the database, %ld log file(s), %ld artifact(s)\n",
	       dir, json_string_value(json_object_get(j, "taken_at")),
	       db->where, nlogs, nartifacts);
	if (apply) {
		rc = db_lab_apply(db, &cli->lab, 0, &result, &err);
		if (rc == 0) {
			printf("the lab configuration %s applied:\n", cli->lab.path);
			for (size_t i = 0; i < result.lines.n; i++)
				printf("  %s\n", result.lines.v[i]);
			if (!result.lines.n)
				printf("  no changes\n");
		}
		lab_apply_result_release(&result);
	}
out:
	json_decref(j);
	db_close(db);
	free(manifest);
	free(dump);
	free(from);
	free(to);
	return rc < 0 ? cli_fail(&err) : 0;
}
