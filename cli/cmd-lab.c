/*
 * cmd-lab.c: `hangar lab apply|check FILE`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "db-lab.h"
#include "gitx.h"
#include "requirements.h"
#include "xalloc.h"
#include "banned.h"

const char cmd_lab_usage[] =
	"hangar lab apply FILE [--dry-run] [--json] | check FILE [--json]\n"
	"\n"
	"  apply   load hosts, trees, branches, jobs and recipes from the lab\n"
	"          configuration FILE into the database (and the database\n"
	"          settings from its [lab] section). Idempotent: only what\n"
	"          changed is written. A host, tree or branch no longer in the\n"
	"          file is retired, keeping its history.\n"
	"  check   only validate FILE; with [requirements], read the requirements\n"
	"          file (in its tree: at the tip of the target of a branch gating\n"
	"          that tree, else HEAD) and report, as warnings, requirements no\n"
	"          test verifies, tests naming unknown ids and tests matching no\n"
	"          job of any branch (docs/evidence.md)\n"
	"\n"
	"  --dry-run   say what apply would change, change nothing\n"
	"  --json      the changes (check: the counts and findings) as JSON\n"
	"\n"
	"Errors name the file and line and exit with status 2, a requirements\n"
	"file that does not parse too. The keys are listed by 'hangar help\n"
	"config' and in etc/hangar.conf.example.\n";

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

/*
 * The requirements file's bytes; *where says where it was read. A file
 * that cannot be read is a warning (the tree may not be reachable from
 * here): -1 with the reason in why.
 */
static int lab_req_read(const struct lab *lab, struct buf *text, char **where,
			char *why, size_t whylen)
{
	const struct lab_requirements *r = &lab->requirements;
	const char *url = NULL, *target = NULL;
	struct err err = ERR_INIT;
	char sha[41], *cache;
	int rc;

	if (!r->tree) {
		*where = xstrdup(r->file);
		if (buf_read_file(text, r->file) == 0)
			return 0;
		snprintf(why, whylen, "%s: %s", r->file, text->overflowed
			 ? "over 1048576 bytes" : strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < lab->ntrees; i++)
		if (!strcmp(lab->trees[i].name, r->tree))
			url = lab->trees[i].url;
	for (size_t i = 0; i < lab->nbranches; i++)
		if (lab->branches[i].tree && !strcmp(lab->branches[i].tree, r->tree))
			target = lab->branches[i].target ? lab->branches[i].target
							 : "master";
	cache = xasprintf("%s/git/%s.git", lab->state, r->tree);
	rc = target ? gitx_ref(cache, url, target, sha, &err)
		    : gitx_resolve(cache, url, "HEAD", sha, &err);
	if (rc == 0)
		rc = gitx_read_file(cache, url, sha, r->file, text, &err);
	free(cache);
	*where = xasprintf("%s in %s at %.12s (%s)", r->file, r->tree, rc ? "?" : sha,
			   target ? target : "HEAD");
	if (rc < 0)
		snprintf(why, whylen, "%.100s: %.400s", r->file, err.msg);
	return rc < 0 ? -1 : 0;
}

/* check's part for [requirements]: 0, or 2 when the file does not parse. */
static int lab_check_requirements(const struct lab *lab, int json, json_t *out)
{
	struct buf text = BUF_INIT;
	struct requirements reqs;
	struct req_finding *f = NULL;
	struct req_job *jobs;
	char why[512], *where = NULL;
	json_t *o = json_object(), *list = json_array();
	size_t n = 0;
	int rc = 0;

	buf_init(&text, REQ_FILE_MAX + 1);
	if (lab_req_read(lab, &text, &where, why, sizeof(why)) < 0) {
		if (!json)
			printf("warning: requirements not read: %s\n", why);
		json_object_set_new(o, "warning", json_string(why));
		goto out;
	}
	if (requirements_parse(lab->requirements.tree ? lab->requirements.file
			       : where, text.buf, text.len, &reqs, why,
			       sizeof(why)) < 0) {
		fprintf(stderr, "hangar: %s\n", why);
		rc = 2;
		goto out;
	}
	jobs = xcalloc(lab->njobs + 1, sizeof(*jobs));
	for (size_t i = 0; i < lab->njobs; i++) {
		const struct lab_job *j = &lab->jobs[i];
		const char **steps = NULL;
		size_t ns = 0;

		jobs[i].name = j->name;
		for (size_t b = 0; b < lab->nbranches; b++)
			if (vec_find(&lab->branches[b].jobs, j->name) >= 0)
				jobs[i].in_branch = 1;
		for (size_t r = 0; r < lab->nrecipes; r++) {
			if (strcmp(lab->recipes[r].name, j->recipe))
				continue;
			ns = lab->recipes[r].nsteps;
			steps = xcalloc(ns + 1, sizeof(*steps));
			for (size_t k = 0; k < ns; k++)
				steps[k] = lab->recipes[r].steps[k].name;
		}
		jobs[i].steps = steps;
		jobs[i].nsteps = ns;
	}
	requirements_check(&reqs, jobs, lab->njobs, &f, &n);
	if (!json)
		printf("requirements: %s: %zu requirements, %zu test lines, %zu "
		       "warning%s\n", where, reqs.nreqs, reqs.ntests, n,
		       n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		if (!json)
			printf("warning: %s\n", f[i].msg);
		json_array_append_new(list, json_pack(
			"{s:s, s:i, s:s?, s:s}", "kind",
			req_finding_kind_str(f[i].kind), "line", f[i].line,
			"id", f[i].id, "message", f[i].msg));
	}
	json_object_set_new(o, "requirements", json_integer((json_int_t)reqs.nreqs));
	json_object_set_new(o, "tests", json_integer((json_int_t)reqs.ntests));
	for (size_t i = 0; i < lab->njobs; i++)
		free((void *)jobs[i].steps);
	free(jobs);
	req_findings_free(f, n);
	requirements_release(&reqs);
out:
	json_object_set_new(o, "source", where ? json_string(where) : json_null());
	json_object_set_new(o, "findings", list);
	json_object_set_new(out, "requirements", o);
	free(where);
	buf_release(&text);
	return rc;
}

static int lab_check(struct cli *cli, const char *file, int json)
{
	const struct lab *lab = &cli->lab;
	json_t *out = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:n}",
				"file", file, "hosts", (json_int_t)lab->nhosts,
				"trees", (json_int_t)lab->ntrees,
				"branches", (json_int_t)lab->nbranches,
				"jobs", (json_int_t)lab->njobs,
				"recipes", (json_int_t)lab->nrecipes,
				"requirements");
	int rc = 0;

	if (!json)
		printf("%s: ok (%zu hosts, %zu trees, %zu branches, %zu jobs, %zu recipes)\n",
		       file, lab->nhosts, lab->ntrees, lab->nbranches,
		       lab->njobs, lab->nrecipes);
	if (lab->requirements.set)
		rc = lab_check_requirements(lab, json, out);
	if (json && rc == 0)
		cli_print_json(out);
	else
		json_decref(out);
	return rc;
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
	if (!strcmp(sub, "check"))
		return lab_check(cli, file, json);
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
