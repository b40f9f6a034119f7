/*
 * cmd-import.c: `hangar import osstest`, an OSSTest database brought into
 * hangar (gate/import.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "import.h"
#include "strnum.h"
#include "banned.h"

const char cmd_import_usage[] =
	"hangar import osstest --dsn CONNINFO [--source NAME] [--branch B]...\n"
	"                      [--since FLIGHT] [--recheck N] [--batch N]\n"
	"                      [--rebuild-indexes auto|always|never] [--dry-run] [--json]\n"
	"\n"
	"Brings an OSSTest database into hangar's, so that a lab keeps its past\n"
	"when it moves: flights (their numbers kept; hangar's own continue\n"
	"above them) with their branch, start, and blessing (real: gate,\n"
	"real-bisect: bisect, real-retest: retest, any other: adhoc; the\n"
	"blessing is the flight's label), jobs with their recipe and status,\n"
	"every runvar (*buildjob references become job dependencies, host\n"
	"runvars the jobs' hosts), the revisions each flight tested\n"
	"(built_revision_* of the builds it used over revision_*), steps (the\n"
	"testid is the step's name) with their status, times and log file, and\n"
	"the hosts (OSSTest's arch-* flag as their arch; those not in the lab\n"
	"configuration are kept retired). Branches and trees hangar has no\n"
	"configuration for are kept retired. Each imported gate flight then\n"
	"gets the baseline OSSTest judged it against: the revision pushed\n"
	"before it, found by judging the flights before it in order.\n"
	"\n"
	"The OSSTest database is only read, in short read-only transactions\n"
	"(OSSTest's writers lock whole tables: a long one would stall its\n"
	"lab), a snapshot for the plan and one per batch. Running it again\n"
	"imports only what is new there, and reads again the newest --recheck\n"
	"imported flights (default 1000) if they changed since (a late step):\n"
	"never twice. Flights still constructing or running there are skipped\n"
	"and listed; the next run takes them. A flight number that hangar gave\n"
	"a flight of its own stops the import before it writes anything.\n"
	"\n"
	"  --dsn       the OSSTest database: \"dbname=osstest host=db.example\"\n"
	"  --source    the name its flights are recorded under (default\n"
	"              DBNAME@HOST as the DSN gives them: give the same one\n"
	"              each time if the DSN is spelt another way)\n"
	"  --branch    only that branch (repeat for more)\n"
	"  --since     only flights from that number on\n"
	"  --batch     flights per batch (default 100): the next batch is read\n"
	"              while hangar writes the one before, in memory\n"
	"  --rebuild-indexes\n"
	"              auto (default): when the import brings at least a\n"
	"              quarter as many steps as hangar has, it is one\n"
	"              transaction that drops the indexes of steps and runvars\n"
	"              (but runvars' key) and builds them again at the end\n"
	"              (faster; those tables are locked until it ends; stopped\n"
	"              or failed, it leaves nothing, the indexes there); else a\n"
	"              transaction per batch; always, never\n"
	"  --dry-run   read and count what would be imported; write nothing\n"
	"\n"
	"A progress line (flights done of all, steps per second) is shown on a\n"
	"terminal. See README.md, \"Moving from OSSTest\".\n";

static void on_progress(void *arg, const char *phase, long done, long total,
			double rate, int end)
{
	(void)arg;
	if (!isatty(2))
		return;
	if (!strcmp(phase, "flights"))
		fprintf(stderr, "\rimport: %ld/%ld flights, %.0f steps/s%s", done,
			total, rate, end ? "\n" : "");
	else if (!strcmp(phase, "indexes"))
		fprintf(stderr, "\rimport: building the indexes of steps and runvars");
	else
		fprintf(stderr, "\rbaselines: %ld gate flights judged%s", done,
			end ? "\n" : "");
	fflush(stderr);
}

static json_t *result_json(const struct import_result *r, int dry_run)
{
	json_t *unf = json_array();

	for (size_t i = 0; i < r->unfinished.n; i++) {
		long f = 0;

		strnum_long(r->unfinished.v[i], 0, 1L << 62, &f);
		json_array_append_new(unf, json_integer(f));
	}
	return json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, "
			 "s:I, s:f, s:f}",
			 "source", r->source, "dry_run", dry_run, "flights",
			 (json_int_t)(dry_run ? r->fresh + r->changed : r->flights),
			 "new", (json_int_t)r->fresh, "changed", (json_int_t)r->changed,
			 "jobs", (json_int_t)r->jobs, "steps", (json_int_t)r->steps,
			 "runvars", (json_int_t)r->runvars, "hosts", (json_int_t)r->hosts,
			 "judged", (json_int_t)r->judged, "unfinished", unf,
			 "highest", (json_int_t)r->highest, "seconds", r->seconds,
			 "judge_seconds", r->judge_seconds);
}

int cmd_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dsn", required_argument, NULL, 'd' },
		{ "source", required_argument, NULL, 'S' },
		{ "branch", required_argument, NULL, 'b' },
		{ "since", required_argument, NULL, 's' },
		{ "recheck", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'B' },
		{ "rebuild-indexes", required_argument, NULL, 'R' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	struct vec branches = VEC_INIT;
	struct import_opts o;
	struct import_result r;
	struct db *db;
	int c, json = 0, rc;

	memset(&o, 0, sizeof(o));
	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_import_usage)) != -1) {
		if (c == 'd') {
			o.dsn = optarg;
		} else if (c == 'S') {
			o.source = optarg;
		} else if (c == 'b') {
			vec_push(&branches, optarg);
		} else if (c == 's' || c == 'r' || c == 'B') {
			long *to = c == 's' ? &o.since : c == 'r' ? &o.recheck : &o.batch;

			if (strnum_long(optarg, c == 'r' ? 0 : 1, 1L << 40, to) < 0) {
				vec_clear(&branches);
				return cli_usage_error(cmd_import_usage, "import: bad number '%s'",
						       optarg);
			}
		} else if (c == 'R') {
			if (!strcmp(optarg, "auto")) {
				o.rebuild_indexes = IMPORT_REBUILD_AUTO;
			} else if (!strcmp(optarg, "always")) {
				o.rebuild_indexes = IMPORT_REBUILD_ALWAYS;
			} else if (!strcmp(optarg, "never")) {
				o.rebuild_indexes = IMPORT_REBUILD_NEVER;
			} else {
				vec_clear(&branches);
				return cli_usage_error(cmd_import_usage, "import: --rebuild-indexes: "
						       "auto, always or never, not '%s'", optarg);
			}
		} else if (c == 'n') {
			o.dry_run = 1;
		} else if (c == 'j') {
			json = 1;
		}
	}
	if (optind + 1 != argc || strcmp(argv[optind], "osstest") || !o.dsn) {
		vec_clear(&branches);
		return cli_usage_error(cmd_import_usage,
				       optind < argc && strcmp(argv[optind], "osstest")
					       ? "import: only 'osstest' can be imported"
					       : "import osstest: give --dsn");
	}
	o.branches = &branches;
	o.progress = json ? NULL : on_progress;
	if ((rc = cli_open_db(cli, &db))) {
		vec_clear(&branches);
		return rc;
	}
	rc = import_osstest(db, &o, &r, &err);
	if (rc < 0) {
		rc = cli_fail(&err);
	} else if (json) {
		cli_print_json(result_json(&r, o.dry_run));
	} else if (o.dry_run) {
		printf("%s: would import %ld flights (%ld new, %ld changed)\n", r.source,
		       r.fresh + r.changed, r.fresh, r.changed);
	} else {
		printf("%s: imported %ld flights (%ld new, %ld changed): %ld jobs, "
		       "%ld steps, %ld runvars, in %.1f s (%.0f steps/s); %ld hosts\n",
		       r.source, r.flights, r.fresh, r.changed, r.jobs, r.steps, r.runvars,
		       r.seconds, r.seconds > 0 ? (double)r.steps / r.seconds : 0.0,
		       r.hosts);
		printf("baselines: %ld gate flights judged in %.1f s\n", r.judged,
		       r.judge_seconds);
	}
	if (rc == 0 && !json && r.unfinished.n) {
		char *list = vec_join(&r.unfinished, " ");

		printf("skipped %zu unfinished flight%s (constructing or running): %s\n",
		       r.unfinished.n, r.unfinished.n == 1 ? "" : "s", list);
		free(list);
	}
	import_result_release(&r);
	vec_clear(&branches);
	db_close(db);
	return rc;
}
