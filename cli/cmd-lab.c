/*
 * cmd-lab.c: `hangar lab apply|check FILE`.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "db-lab.h"
#include "banned.h"

const char cmd_lab_usage[] =
	"hangar lab apply FILE [--dry-run] [--json] | check FILE\n"
	"\n"
	"  apply   load hosts, trees, branches, jobs and recipes from the lab\n"
	"          configuration FILE into the database (and the database\n"
	"          settings from its [lab] section). Idempotent: only what\n"
	"          changed is written. A host, tree or branch no longer in the\n"
	"          file is retired, keeping its history.\n"
	"  check   only validate FILE\n"
	"\n"
	"  --dry-run   say what apply would change, change nothing\n"
	"  --json      the changes as JSON\n"
	"\n"
	"Errors name the file and line and exit with status 2. The keys are\n"
	"listed by 'hangar help config' and in etc/hangar.conf.example.\n";

static json_t *lab_result_json(const struct lab_apply_result *r, int dry_run)
{
	json_t *o = json_object();
	json_t *lines = json_array();

	for (int k = 0; k < LAB_KINDS; k++)
		json_object_set_new(o, lab_kind_names[k],
				    json_pack("{s:i,s:i,s:i}", "added",
					      r->added[k], "changed",
					      r->changed[k], "removed",
					      r->removed[k]));
	for (size_t i = 0; i < r->lines.n; i++)
		json_array_append_new(lines, json_string(r->lines.v[i]));
	json_object_set_new(o, "changes", lines);
	json_object_set_new(o, "dry_run", json_boolean(dry_run));
	return o;
}

static void lab_result_print(const struct lab_apply_result *r, int dry_run)
{
	if (!r->lines.n) {
		printf("no changes\n");
		return;
	}
	for (size_t i = 0; i < r->lines.n; i++)
		printf("%s\n", r->lines.v[i]);
	for (int k = 0; k < LAB_KINDS; k++)
		if (r->added[k] || r->changed[k] || r->removed[k])
			printf("%s: %d added, %d changed, %d %s\n",
			       lab_kind_names[k], r->added[k], r->changed[k],
			       r->removed[k],
			       k == LAB_JOBS || k == LAB_RECIPES ? "deleted"
								 : "retired");
	if (dry_run)
		printf("(dry run: nothing was changed)\n");
}

int cmd_lab(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct lab_apply_result result;
	struct err err = ERR_INIT;
	const char *sub, *file;
	struct db *db;
	int dry_run = 0, json = 0, c, rc;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_lab_usage)) != -1) {
		if (c == 'n')
			dry_run = 1;
		else if (c == 'j')
			json = 1;
	}
	if (optind + 2 != argc)
		return cli_usage_error(cmd_lab_usage,
				       "lab: expected an action and a FILE");
	sub = argv[optind];
	file = argv[optind + 1];
	if (strcmp(sub, "apply") && strcmp(sub, "check"))
		return cli_usage_error(cmd_lab_usage, "lab: unknown action '%s'",
				       sub);
	rc = cli_load_lab(cli, file);
	if (rc)
		return rc;
	if (!strcmp(sub, "check")) {
		printf("%s: ok (%zu hosts, %zu trees, %zu branches, %zu jobs, %zu recipes)\n",
		       file, cli->lab.nhosts, cli->lab.ntrees,
		       cli->lab.nbranches, cli->lab.njobs, cli->lab.nrecipes);
		return 0;
	}
	rc = cli_open_db(cli, &db);
	if (rc)
		return rc;
	rc = db_lab_apply(db, &cli->lab, dry_run, &result, &err);
	db_close(db);
	if (rc < 0) {
		lab_apply_result_release(&result);
		return cli_fail(&err);
	}
	if (json)
		cli_print_json(lab_result_json(&result, dry_run));
	else
		lab_result_print(&result, dry_run);
	lab_apply_result_release(&result);
	return 0;
}
