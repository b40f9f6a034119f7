/*
 * cmd-bisect.c: `hangar bisect list|show|start|run`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bisector.h"
#include "cli.h"
#include "db-bisect.h"
#include "strnum.h"
#include "banned.h"

const char cmd_bisect_usage[] =
	"hangar bisect list [--json]\n"
	"hangar bisect show N [--json]\n"
	"hangar bisect start --branch B --job J --step S [--basis F --failure F]\n"
	"hangar bisect run N [--json]\n"
	"\n"
	"Bisections find the commit that caused a regression (OSSTest's\n"
	"cs-bisection-step): between a flight where job J's step S passed (the\n"
	"basis) and one where it failed, on the host(s) of the failure, in the\n"
	"graph of commits of every tree that changed. A culprit is named only\n"
	"after the pass at its parent and the fail at it were seen three times\n"
	"each, and the basis pass and the failure twice. The gate starts one\n"
	"for each new regression ([gate] bisect) and its daemon runs them.\n"
	"\n"
	"  start  by hand; without --basis/--failure, the newest gate flight of\n"
	"         B where J/S failed and the newest one before where it passed\n"
	"  run    one step now, as the gate daemon does: queues the next\n"
	"         bisect flight, or records the outcome: its report in\n"
	"         STATE/logs/bisect-N.txt, mailed ([gate] sendmail), and the\n"
	"         graph in STATE/logs/bisect-N.svg\n"
	"\n"
	"Statuses: running, found, inconclusive, inconsistent (a node passed\n"
	"and failed), unreproducible (the basis failed or the failure passed),\n"
	"doubtful (an unusable graph, or flailing).\n";

static void print_bisection(json_t *b)
{
	json_t *c = json_object_get(b, "culprit");

	printf("bisection %lld  %s  %s %s on %s\n",
	       (long long)json_integer_value(json_object_get(b, "id")),
	       json_string_value(json_object_get(b, "status")),
	       json_string_value(json_object_get(b, "job")),
	       json_string_value(json_object_get(b, "step")),
	       json_string_value(json_object_get(b, "branch")));
	if (json_is_object(c))
		printf("  culprit %s %s (parent %s)\n",
		       json_string_value(json_object_get(c, "tree")),
		       json_string_value(json_object_get(c, "commit")),
		       json_string_value(json_object_get(c, "parent")));
}

int cmd_bisect(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "branch", required_argument, NULL, 'b' },
		{ "job", required_argument, NULL, 'J' },
		{ "step", required_argument, NULL, 's' },
		{ "basis", required_argument, NULL, 'B' },
		{ "failure", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	const char *branch = NULL, *job = NULL, *step = NULL, *sub;
	long basis = 0, failure = 0, id = 0;
	int c, json = 0, rc = 0;
	struct db *db;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_bisect_usage)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'b': branch = optarg; break;
		case 'J': job = optarg; break;
		case 's': step = optarg; break;
		case 'B':
		case 'F':
			if (strnum_long(optarg, 1, 1L << 62, c == 'B' ? &basis : &failure) < 0)
				return cli_usage_error(cmd_bisect_usage,
						       "bisect: bad flight '%s'", optarg);
			break;
		}
	}
	if (optind >= argc)
		return cli_usage_error(cmd_bisect_usage, "bisect: which action?");
	sub = argv[optind++];
	if (!strcmp(sub, "list") ? optind != argc :
	    !strcmp(sub, "show") || !strcmp(sub, "run")
		    ? optind + 1 != argc ||
		      strnum_long(argv[optind], 1, 1L << 62, &id) < 0 :
	    !strcmp(sub, "start") ? optind != argc || !branch || !job || !step ||
					    !basis != !failure :
	    1)
		return cli_usage_error(cmd_bisect_usage, "bisect %s: wrong arguments",
				       sub);
	if ((rc = cli_open_db(cli, &db)))
		return rc;
	if (!strcmp(sub, "list") || !strcmp(sub, "show")) {
		char num[24];
		json_t *list, *b;
		size_t i;

		snprintf(num, sizeof(num), "%ld", id);
		if (db_bisect_json(db, id ? num : NULL, &list, &err) < 0) {
			rc = cli_fail(&err);
		} else if (id && !json_array_size(list)) {
			err_set(&err, ERR_NOTFOUND, "no bisection %ld", id);
			rc = cli_fail(&err);
		} else if (json) {
			cli_print_json(id ? json_incref(json_array_get(list, 0))
					  : json_incref(list));
		} else {
			json_array_foreach(list, i, b)
				print_bisection(b);
		}
		json_decref(list);
	} else if (!strcmp(sub, "start")) {
		if ((basis || db_bisect_find_pair(db, branch, job, step, &basis, &failure,
						  &err) == 0) &&
		    db_bisect_start(db, branch, job, step, basis, failure, db_actor(),
				    &id, &err) == 0)
			printf("bisection %ld: %s %s on %s between flights %ld and %ld\n",
			       id, job, step, branch, basis, failure);
		else
			rc = cli_fail(&err);
	} else {
		struct bisector_conf bc = { .state = cli->lab.state, .url = cli->lab.url,
					    .actor = db_actor(),
					    .sendmail = cli->lab.gate.sendmail,
					    .mail_to = cli->lab.gate.mail_to,
					    .mail_from = cli->lab.gate.mail_from,
					    .max_commits = (size_t)cli->lab.gate.bisect_max_commits };
		struct bisector_result res;

		if (bisector_step(db, &bc, id, &res, &err) < 0)
			rc = cli_fail(&err);
		else if (json)
			cli_print_json(json_pack("{s:I, s:s, s:I, s:b, s:s}", "bisection",
						 (json_int_t)id, "status", res.status,
						 "flight", (json_int_t)res.flight,
						 "created", res.created, "what", res.what));
		else
			printf("%s\n", res.what);
	}
	db_close(db);
	return rc;
}
