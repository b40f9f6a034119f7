/*
 * db-lab.c: the lab configuration into the database. Each upsert only
 * touches a row whose values differ (ON CONFLICT ... WHERE ... IS DISTINCT
 * FROM), and RETURNING tells whether it was added or changed, so applying
 * the same file twice writes nothing and reports "no changes".
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db-lab.h"
#include "xalloc.h"
#include "banned.h"

const char *const lab_kind_names[LAB_KINDS] = { "hosts", "trees", "branches",
						"jobs", "recipes" };
static const char *const lab_kind_one[LAB_KINDS] = { "host", "tree", "branch",
						     "job", "recipe" };

struct lab_apply {
	struct db *db;
	struct err *err;
	struct lab_apply_result *res;
	const struct lab *lab;
};

static int lab_count(struct lab_apply *a, enum lab_kind kind, int added,
		     const char *name)
{
	if (added)
		a->res->added[kind]++;
	else
		a->res->changed[kind]++;
	vec_pushf(&a->res->lines, "%c %s %s", added ? '+' : '~',
		  lab_kind_one[kind], name);
	return 0;
}

static int lab_event(struct lab_apply *a, const char *kind, const char *host,
		     const char *branch)
{
	json_t *detail = json_object();
	int rc;

	db_detail_set(detail, "config", a->lab->path);
	rc = db_event(a->db, &(struct db_event){ .kind = kind, .host = host,
						 .branch = branch,
						 .detail = detail }, a->err);
	json_decref(detail);
	return rc;
}

/*
 * Runs an upsert whose RETURNING gives one row "inserted" (t/f) when it
 * wrote something; *what is 1 added, 0 changed, -1 nothing.
 */
static int lab_upsert(struct lab_apply *a, const char *sql, int n,
		      const char *const *params, int *what)
{
	PGresult *res = db_query(a->db, a->err, sql, n, params);

	if (!res)
		return a->err->code;
	*what = PQntuples(res) ? PQgetvalue(res, 0, 0)[0] == 't' : -1;
	PQclear(res);
	return 0;
}

/* Names in the database but not in names: retired (or deleted). */
static int lab_remove_missing(struct lab_apply *a, enum lab_kind kind,
			      const char *sql, const struct vec *names)
{
	char *arr = db_array(names);
	const char *params[1] = { arr };
	PGresult *res = db_query(a->db, a->err, sql, 1, params);
	int rc = 0;

	free(arr);
	if (!res)
		return a->err->code;
	for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
		const char *name = PQgetvalue(res, i, 0);

		a->res->removed[kind]++;
		vec_pushf(&a->res->lines, "- %s %s%s", lab_kind_one[kind], name,
			  kind == LAB_JOBS || kind == LAB_RECIPES ? ""
								  : " (retired)");
		if (kind == LAB_HOSTS)
			rc = lab_event(a, "host.retired", name, NULL);
		else if (kind == LAB_BRANCHES)
			rc = lab_event(a, "branch.retired", NULL, name);
	}
	PQclear(res);
	return rc;
}

static char *lab_power_config(const struct lab_host *h)
{
	json_t *o = json_object();
	char *text;

#define SET_STR(key, v) \
	do { \
		if (v) \
			json_object_set_new(o, key, json_string(v)); \
	} while (0)
	SET_STR("ipmi", h->ipmi);
	SET_STR("ipmi_user", h->ipmi_user);
	SET_STR("ipmi_password", h->ipmi_password);
	if (!strcmp(h->power, "ipmi"))
		json_object_set_new(o, "ipmi_cipher",
				    json_integer(h->ipmi_cipher));
	SET_STR("power_on", h->power_on);
	SET_STR("power_off", h->power_off);
	SET_STR("power_status", h->power_status);
	SET_STR("pdu", h->pdu);
	SET_STR("health_check", h->health_check);
	SET_STR("pxe_file", h->pxe_file);
	SET_STR("pxe_install", h->pxe_install);
	SET_STR("pxe_local", h->pxe_local);
	SET_STR("netboot_dir", h->netboot_dir);
	SET_STR("netboot_file", h->netboot_file);
	SET_STR("netboot", h->netboot);
	json_object_set_new(o, "install_timeout", json_integer(h->install_timeout));
	json_object_set_new(o, "cycle_time", json_integer(h->power_cycle_time));
#undef SET_STR
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

static int lab_apply_host(struct lab_apply *a, const struct lab_host *h)
{
	char port[16], timeout[16], tasks[16], wear[16];
	char *power_config = lab_power_config(h);
	char *flags = db_array(&h->flags);
	const char *params[13] = { h->name, h->arch, h->address, port, h->user,
				   h->workdir, h->power, power_config,
				   h->console, timeout, tasks, wear,
				   h->site ? h->site : "local" };
	int what, flags_changed = 0, rc;
	PGresult *res;

	snprintf(port, sizeof(port), "%d", h->port);
	snprintf(timeout, sizeof(timeout), "%d", h->boot_timeout);
	snprintf(tasks, sizeof(tasks), "%d", h->share_max_tasks);
	snprintf(wear, sizeof(wear), "%d", h->share_max_wear);
	rc = lab_upsert(a,
			"INSERT INTO hosts AS h (name, arch, address, port, username, "
			"workdir, power, power_config, console, boot_timeout, "
			"share_max_tasks, share_max_wear, site) "
			"VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, "
			"$11, $12, $13) "
			"ON CONFLICT (name) DO UPDATE SET arch = EXCLUDED.arch, "
			"address = EXCLUDED.address, port = EXCLUDED.port, "
			"username = EXCLUDED.username, workdir = EXCLUDED.workdir, "
			"power = EXCLUDED.power, power_config = EXCLUDED.power_config, "
			"console = EXCLUDED.console, "
			"boot_timeout = EXCLUDED.boot_timeout, "
			"share_max_tasks = EXCLUDED.share_max_tasks, "
			"share_max_wear = EXCLUDED.share_max_wear, "
			"site = EXCLUDED.site, updated_at = now(), "
			/* a host back in the file comes back from retirement */
			"state = CASE WHEN h.state = 'retired' THEN 'free' ELSE h.state END, "
			"state_reason = CASE WHEN h.state = 'retired' THEN NULL "
			"ELSE h.state_reason END, "
			"state_since = CASE WHEN h.state = 'retired' THEN now() "
			"ELSE h.state_since END "
			"WHERE (h.arch, h.address, h.port, h.username, h.workdir, "
			"h.power, h.power_config, h.console, h.boot_timeout, "
			"h.share_max_tasks, h.share_max_wear, h.site) "
			"IS DISTINCT FROM (EXCLUDED.arch, EXCLUDED.address, "
			"EXCLUDED.port, EXCLUDED.username, EXCLUDED.workdir, "
			"EXCLUDED.power, EXCLUDED.power_config, EXCLUDED.console, "
			"EXCLUDED.boot_timeout, EXCLUDED.share_max_tasks, "
			"EXCLUDED.share_max_wear, EXCLUDED.site) OR h.state = 'retired' "
			"RETURNING (xmax = 0)",
			13, params, &what);
	if (rc < 0)
		goto out;
	params[1] = flags;
	res = db_query(a->db, a->err,
		       "WITH del AS (DELETE FROM host_flags WHERE host = $1 AND "
		       "NOT (flag = ANY($2::text[])) RETURNING 1), "
		       "ins AS (INSERT INTO host_flags (host, flag) "
		       "SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING "
		       "RETURNING 1) "
		       "SELECT (SELECT count(*) FROM del) + (SELECT count(*) FROM ins)",
		       2, params);
	if (!res) {
		rc = a->err->code;
		goto out;
	}
	flags_changed = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
	PQclear(res);
	if (what < 0 && flags_changed)
		what = 0;
	if (what >= 0) {
		lab_count(a, LAB_HOSTS, what, h->name);
		rc = lab_event(a, what ? "host.added" : "host.changed", h->name,
			       NULL);
	}
out:
	free(power_config);
	free(flags);
	return rc;
}

static int lab_apply_tree(struct lab_apply *a, const struct lab_tree *t)
{
	const char *params[2] = { t->name, t->url };
	int what;
	int rc = lab_upsert(a,
			    "INSERT INTO trees AS t (name, url) VALUES ($1, $2) "
			    "ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url, "
			    "retired = false, updated_at = now() "
			    "WHERE t.url IS DISTINCT FROM EXCLUDED.url OR t.retired "
			    "RETURNING (xmax = 0)",
			    2, params, &what);

	if (rc == 0 && what >= 0)
		lab_count(a, LAB_TREES, what, t->name);
	return rc;
}

static int lab_apply_recipe(struct lab_apply *a, const struct lab_recipe *r)
{
	char *artifacts = db_array(&r->artifacts);
	const char *params[7] = { r->name, artifacts };
	int what, same, rc;
	PGresult *res;

	rc = lab_upsert(a,
			"INSERT INTO recipes AS r (name, artifacts) VALUES ($1, $2) "
			"ON CONFLICT (name) DO UPDATE SET artifacts = EXCLUDED.artifacts "
			"WHERE r.artifacts IS DISTINCT FROM EXCLUDED.artifacts "
			"RETURNING (xmax = 0)",
			2, params, &what);
	free(artifacts);
	if (rc < 0)
		return rc;
	res = db_query(a->db, a->err,
		       "SELECT kind, name, coalesce(command, ''), coalesce(timeout, 0), "
		       "coalesce(cases, '') FROM recipe_steps WHERE recipe = $1 "
		       "ORDER BY idx",
		       1, params);
	if (!res)
		return a->err->code;
	same = PQntuples(res) == (int)r->nsteps;
	for (size_t i = 0; same && i < r->nsteps; i++) {
		const struct lab_step *s = &r->steps[i];

		same = !strcmp(PQgetvalue(res, (int)i, 0), step_kind_str(s->kind)) &&
		       !strcmp(PQgetvalue(res, (int)i, 1), s->name) &&
		       !strcmp(PQgetvalue(res, (int)i, 2),
			       s->command ? s->command : "") &&
		       strtol(PQgetvalue(res, (int)i, 3), NULL, 10) == s->timeout &&
		       !strcmp(PQgetvalue(res, (int)i, 4), s->cases ? s->cases : "");
	}
	PQclear(res);
	if (!same) {
		rc = db_exec(a->db, a->err,
			     "DELETE FROM recipe_steps WHERE recipe = $1", 1, params);
		for (size_t i = 0; rc == 0 && i < r->nsteps; i++) {
			const struct lab_step *s = &r->steps[i];
			char idx[24], timeout[24];

			snprintf(idx, sizeof(idx), "%zu", i + 1);
			snprintf(timeout, sizeof(timeout), "%ld", s->timeout);
			params[1] = idx;
			params[2] = step_kind_str(s->kind);
			params[3] = s->name;
			params[4] = s->command;
			params[5] = s->timeout ? timeout : NULL;
			params[6] = s->cases;
			rc = db_exec(a->db, a->err,
				     "INSERT INTO recipe_steps (recipe, idx, kind, name, "
				     "command, timeout, cases) VALUES ($1, $2, $3, $4, $5, "
				     "$6, $7)",
				     7, params);
		}
		if (rc < 0)
			return rc;
		if (what < 0)
			what = 0;
	}
	if (what >= 0)
		lab_count(a, LAB_RECIPES, what, r->name);
	return 0;
}

static int lab_apply_job(struct lab_apply *a, const struct lab_job *j)
{
	char nhosts[16];
	char *flags = db_array(&j->flags);
	char *needs = db_array(&j->needs);
	char *runvars = db_array(&j->runvars);
	const char *params[7] = { j->name, j->recipe, j->arch, nhosts, flags,
				  needs, runvars };
	int what, rc;

	snprintf(nhosts, sizeof(nhosts), "%d", j->hosts);
	rc = lab_upsert(a,
			"INSERT INTO job_defs AS j (name, recipe, arch, nhosts, flags, "
			"needs, runvars) VALUES ($1, $2, $3, $4, $5, $6, $7) "
			"ON CONFLICT (name) DO UPDATE SET recipe = EXCLUDED.recipe, "
			"arch = EXCLUDED.arch, nhosts = EXCLUDED.nhosts, "
			"flags = EXCLUDED.flags, needs = EXCLUDED.needs, "
			"runvars = EXCLUDED.runvars "
			"WHERE (j.recipe, j.arch, j.nhosts, j.flags, j.needs, j.runvars) "
			"IS DISTINCT FROM (EXCLUDED.recipe, EXCLUDED.arch, "
			"EXCLUDED.nhosts, EXCLUDED.flags, EXCLUDED.needs, "
			"EXCLUDED.runvars) "
			"RETURNING (xmax = 0)",
			7, params, &what);
	if (rc == 0 && what >= 0)
		lab_count(a, LAB_JOBS, what, j->name);
	free(flags);
	free(needs);
	free(runvars);
	return rc;
}

static int lab_apply_branch(struct lab_apply *a, const struct lab_branch *b)
{
	char prio[16];
	char *pins = db_array(&b->pins);
	char *jobs = db_array(&b->jobs);
	char *allow = db_array(&b->allow);
	const char *params[9] = { b->name, b->tree, b->staging, b->target,
				  pins, jobs, allow, prio,
				  b->push_starved ? "t" : "f" };
	int what, rc;

	snprintf(prio, sizeof(prio), "%d", b->priority);
	rc = lab_upsert(a,
			"INSERT INTO branches AS b (name, tree, staging_ref, target_ref, "
			"pins, jobs, allow, priority, push_starved) "
			"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
			"ON CONFLICT (name) DO UPDATE SET tree = EXCLUDED.tree, "
			"staging_ref = EXCLUDED.staging_ref, "
			"target_ref = EXCLUDED.target_ref, pins = EXCLUDED.pins, "
			"jobs = EXCLUDED.jobs, allow = EXCLUDED.allow, "
			"priority = EXCLUDED.priority, "
			"push_starved = EXCLUDED.push_starved, retired = false, "
			"updated_at = now() "
			"WHERE (b.tree, b.staging_ref, b.target_ref, b.pins, b.jobs, "
			"b.allow, b.priority, b.push_starved, b.retired) "
			"IS DISTINCT FROM "
			"(EXCLUDED.tree, EXCLUDED.staging_ref, EXCLUDED.target_ref, "
			"EXCLUDED.pins, EXCLUDED.jobs, EXCLUDED.allow, "
			"EXCLUDED.priority, EXCLUDED.push_starved, false) "
			"RETURNING (xmax = 0)",
			9, params, &what);
	if (rc == 0 && what >= 0) {
		lab_count(a, LAB_BRANCHES, what, b->name);
		rc = lab_event(a, what ? "branch.added" : "branch.changed", NULL,
			       b->name);
	}
	free(pins);
	free(jobs);
	free(allow);
	return rc;
}

static int lab_apply_all(struct lab_apply *a)
{
	const struct lab *lab = a->lab;
	struct vec names = VEC_INIT;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < lab->nhosts; i++) {
		rc = lab_apply_host(a, &lab->hosts[i]);
		vec_push(&names, lab->hosts[i].name);
	}
	if (rc == 0)
		rc = lab_remove_missing(a, LAB_HOSTS,
					"UPDATE hosts SET state = 'retired', "
					"state_reason = 'removed from the lab configuration', "
					"state_since = now(), updated_at = now() "
					"WHERE state <> 'retired' AND NOT (name = ANY($1::text[])) "
					"RETURNING name",
					&names);
	vec_clear(&names);
	for (size_t i = 0; rc == 0 && i < lab->ntrees; i++) {
		rc = lab_apply_tree(a, &lab->trees[i]);
		vec_push(&names, lab->trees[i].name);
	}
	if (rc == 0)
		rc = lab_remove_missing(a, LAB_TREES,
					"UPDATE trees SET retired = true, updated_at = now() "
					"WHERE NOT retired AND NOT (name = ANY($1::text[])) "
					"RETURNING name",
					&names);
	vec_clear(&names);
	for (size_t i = 0; rc == 0 && i < lab->nrecipes; i++) {
		rc = lab_apply_recipe(a, &lab->recipes[i]);
		vec_push(&names, lab->recipes[i].name);
	}
	vec_clear(&names);
	for (size_t i = 0; rc == 0 && i < lab->njobs; i++) {
		rc = lab_apply_job(a, &lab->jobs[i]);
		vec_push(&names, lab->jobs[i].name);
	}
	if (rc == 0)
		rc = lab_remove_missing(a, LAB_JOBS,
					"DELETE FROM job_defs WHERE NOT (name = ANY($1::text[])) "
					"RETURNING name",
					&names);
	vec_clear(&names);
	for (size_t i = 0; i < lab->nrecipes; i++)
		vec_push(&names, lab->recipes[i].name);
	if (rc == 0)
		rc = lab_remove_missing(a, LAB_RECIPES,
					"DELETE FROM recipes WHERE NOT (name = ANY($1::text[])) "
					"RETURNING name",
					&names);
	vec_clear(&names);
	for (size_t i = 0; rc == 0 && i < lab->nbranches; i++) {
		rc = lab_apply_branch(a, &lab->branches[i]);
		vec_push(&names, lab->branches[i].name);
	}
	if (rc == 0)
		rc = lab_remove_missing(a, LAB_BRANCHES,
					"UPDATE branches SET retired = true, updated_at = now() "
					"WHERE NOT retired AND NOT (name = ANY($1::text[])) "
					"RETURNING name",
					&names);
	vec_clear(&names);
	return rc;
}

int db_lab_apply(struct db *db, const struct lab *lab, int dry_run,
		 struct lab_apply_result *result, struct err *err)
{
	struct lab_apply a = { db, err, result, lab };
	int rc;

	memset(result, 0, sizeof(*result));
	rc = db_begin(db, err);
	if (rc < 0)
		return rc;
	rc = lab_apply_all(&a);
	if (rc == 0 && !dry_run) {
		/* wake the daemons that plan with hosts and branches */
		rc = db_exec(db, err, "NOTIFY hangar_lab", 0, NULL);
		if (rc == 0)
			rc = db_commit(db, err);
	}
	if (rc < 0 || dry_run)
		db_rollback(db);
	if (rc < 0)
		err_prefix(err, "lab apply %s", lab->path);
	return rc;
}

void lab_apply_result_release(struct lab_apply_result *result)
{
	vec_clear(&result->lines);
}
