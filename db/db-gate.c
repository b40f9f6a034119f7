/*
 * db-gate.c: the gate's rows (see db-gate.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-gate.h"
#include "xalloc.h"
#include "banned.h"

/* The advisory lock space of the gate (the flights' is 1751606898). */
#define GATE_LOCK "1751606899"

void gate_branch_release(struct gate_branch *b)
{
	free(b->name);
	free(b->tree);
	free(b->url);
	free(b->staging);
	free(b->target);
	vec_clear(&b->pins);
	vec_clear(&b->jobs);
	free(b->block_reason);
	free(b->force_rev);
	memset(b, 0, sizeof(*b));
}

int db_gate_branch(struct db *db, const char *name, struct gate_branch *b,
		   struct err *err)
{
	PGresult *res;
	char *what;

	memset(b, 0, sizeof(*b));
	what = xasprintf("branch '%s'", name);
	res = db_query_one(db, err, what,
		       "SELECT b.name, b.tree, t.url, b.staging_ref, b.target_ref, "
		       "array_to_string(b.pins, ' '), array_to_string(b.jobs, ' '), "
		       "b.blocked, b.block_reason, b.force_rev "
		       "FROM branches b JOIN trees t ON t.name = b.tree "
		       "WHERE b.name = $1 AND NOT b.retired",
		       1, (const char *[]){ name });
	free(what);
	if (!res)
		return err->code;
	b->name = db_dup(res, 0, 0);
	b->tree = db_dup(res, 0, 1);
	b->url = db_dup(res, 0, 2);
	b->staging = db_dup(res, 0, 3);
	b->target = db_dup(res, 0, 4);
	vec_split(&b->pins, PQgetvalue(res, 0, 5));
	vec_split(&b->jobs, PQgetvalue(res, 0, 6));
	b->blocked = !strcmp(PQgetvalue(res, 0, 7), "t");
	b->block_reason = db_dup(res, 0, 8);
	b->force_rev = db_dup(res, 0, 9);
	PQclear(res);
	return 0;
}

static int db_gate_strings(struct db *db, struct vec *out, struct err *err,
			   const char *sql, int n, const char *const *params)
{
	PGresult *res = db_query(db, err, sql, n, params);

	if (!res)
		return err->code;
	for (int i = 0; i < PQntuples(res); i++)
		vec_push(out, PQgetvalue(res, i, 0));
	PQclear(res);
	return 0;
}

int db_gate_poke(struct db *db, struct err *err)
{
	return db_exec(db, err, "NOTIFY hangar_gate", 0, NULL);
}

int db_gate_tree_url(struct db *db, const char *tree, int retired_too,
		     char **url, struct err *err)
{
	PGresult *res = db_query(db, err,
				 "SELECT url FROM trees WHERE name = $1 "
				 "AND ($2::boolean OR NOT retired)",
				 2, (const char *[]){ tree, retired_too ? "t" : "f" });

	if (!res)
		return err->code;
	*url = PQntuples(res) ? db_dup(res, 0, 0) : NULL;
	PQclear(res);
	return *url ? 0 : err_set(err, ERR_USAGE, "no tree '%s'", tree);
}

int db_gate_tree_target(struct db *db, const char *tree, char **ref,
			struct err *err)
{
	PGresult *res = db_query(db, err,
				 "SELECT target_ref FROM branches WHERE tree = $1 "
				 "AND NOT retired ORDER BY priority DESC, name LIMIT 1",
				 1, (const char *[]){ tree });

	if (!res)
		return err->code;
	*ref = PQntuples(res) ? db_dup(res, 0, 0) : NULL;
	PQclear(res);
	return 0;
}

int db_gate_branches(struct db *db, struct vec *names, struct err *err)
{
	return db_gate_strings(db, names, err,
			       "SELECT name FROM branches WHERE NOT retired "
			       "ORDER BY priority DESC, name",
			       0, NULL);
}

int db_gate_lock(struct db *db, const char *branch, struct err *err)
{
	return db_exec(db, err,
		       "SELECT pg_advisory_lock(" GATE_LOCK ", hashtext($1))", 1,
		       (const char *[]){ branch });
}

void db_gate_unlock(struct db *db, const char *branch)
{
	struct err err = ERR_INIT;

	db_exec(db, &err, "SELECT pg_advisory_unlock(" GATE_LOCK ", hashtext($1))",
		1, (const char *[]){ branch });
}

int db_gate_to_decide(struct db *db, const char *branch, struct vec *ids,
		      struct err *err)
{
	return db_gate_strings(db, ids, err,
			       "SELECT id FROM flights WHERE branch = $1 "
			       "AND intent IN ('gate', 'retest') AND verdict = 'pending' "
			       "AND status IN ('finished', 'cancelled') ORDER BY id",
			       1, (const char *[]){ branch });
}

static int db_gate_long(struct db *db, long *out, struct err *err,
			const char *sql, int n, const char *const *params)
{
	PGresult *res = db_query(db, err, sql, n, params);

	if (!res)
		return err->code;
	*out = PQntuples(res) ? db_long(res, 0, 0) : 0;
	PQclear(res);
	return 0;
}

int db_gate_open_flight(struct db *db, const char *branch, long *id,
			struct err *err)
{
	return db_gate_long(db, id, err,
			    "SELECT id FROM flights WHERE branch = $1 "
			    "AND intent = 'gate' AND verdict = 'pending' "
			    "ORDER BY id LIMIT 1",
			    1, (const char *[]){ branch });
}

int db_gate_flight_state(struct db *db, long id, char **status,
			 char **verdict, long *retest, struct err *err)
{
	char fl[32];
	PGresult *res;

	snprintf(fl, sizeof(fl), "flight %ld", id);
	res = db_query_one(db, err, fl,
			   "SELECT status, verdict, coalesce((SELECT max(r.id) FROM "
			   "flights r WHERE r.retest_of = f.id), 0) FROM flights f "
			   "WHERE id = $1",
			   1, (const char *[]){ fl + strlen("flight ") });
	if (!res)
		return err->code;
	if (status)
		*status = db_dup(res, 0, 0);
	if (verdict)
		*verdict = db_dup(res, 0, 1);
	if (retest)
		*retest = db_long(res, 0, 2);
	PQclear(res);
	return 0;
}

int db_gate_stored_report(struct db *db, long id, char **json, char **text,
			  struct err *err)
{
	char fl[32];
	PGresult *res;

	snprintf(fl, sizeof(fl), "flight %ld", id);
	res = db_query_one(db, err, fl,
			   "SELECT report::text, report_text FROM flights WHERE id = $1",
			   1, (const char *[]){ fl + strlen("flight ") });
	if (!res)
		return err->code;
	*json = db_dup(res, 0, 0);
	*text = db_dup(res, 0, 1);
	PQclear(res);
	return 0;
}

int db_branch_list_json(struct db *db, json_t **ret, struct err *err)
{
	return db_query_json(db, err, "branch list", ret,
		       "SELECT coalesce(jsonb_agg(x ORDER BY x.name), '[]')::text FROM ("
		       "SELECT b.name, b.tree, b.staging_ref AS staging, "
		       "b.target_ref AS target, b.blocked, b.block_reason, "
		       "b.force_rev, b.force_reason, b.force_by, "
		       "to_jsonb(b.jobs) AS jobs, to_jsonb(b.pins) AS pins, "
		       "(SELECT jsonb_build_object('flight', f.id, 'status', f.status, "
		       "'verdict', f.verdict, 'pushed', f.pushed, "
		       "'baseline_test', f.baseline_test) FROM flights f "
		       "WHERE f.branch = b.name AND f.intent = 'gate' "
		       "ORDER BY f.id DESC LIMIT 1) AS last_flight, "
		       "b.staging_seen AS staging_revision, "
		       "b.target_seen AS target_revision, hangar_iso(b.seen_at) AS seen_at, "
		       /* the newest decided gate flight: the last verdict */
		       "(SELECT jsonb_build_object('flight', f.id, 'verdict', f.verdict, "
		       "'pushed', f.pushed, 'baseline_test', f.baseline_test, "
		       "'decided', hangar_iso(f.decided_at)) FROM flights f "
		       "WHERE f.branch = b.name AND f.intent = 'gate' AND f.verdict <> "
		       "'pending' ORDER BY f.id DESC LIMIT 1) AS last_verdict, "
		       /* the unfinished flight, its progress and when the plan
		        * expects its last job to end */
		       "(SELECT jsonb_build_object('flight', f.id, 'status', f.status, "
		       "'jobs', (SELECT count(*) FROM jobs j WHERE j.flight = f.id), "
		       "'done', (SELECT count(*) FROM jobs j WHERE j.flight = f.id AND "
		       "j.status NOT IN ('queued', 'preparing', 'running')), "
		       "'eta', (SELECT hangar_iso(max(coalesce(j.planned_end, (SELECT max(a.planned_end) "
		       "FROM allocations a WHERE a.flight = j.flight AND a.job = j.job "
		       "AND a.released_at IS NULL)))) FROM jobs j "
		       "WHERE j.flight = f.id AND j.status IN ('queued', 'preparing', "
		       "'running'))) FROM flights f WHERE f.branch = b.name AND f.status IN "
		       "('constructing', 'queued', 'running') AND f.intent IN ('gate', "
		       "'retest') ORDER BY f.id DESC LIMIT 1) AS running "
		       "FROM branches b WHERE NOT b.retired) x",
		       0, NULL);
}

int db_gate_tested(struct db *db, const char *branch, const char *tree,
		   const char *rev, const char *target, long *flight,
		   char **verdict, long *age, struct err *err)
{
	PGresult *res;

	res = db_query(db, err,
		       "SELECT f.id, f.verdict, extract(epoch FROM now() - "
		       "coalesce(f.decided_at, f.created_at))::bigint "
		       "FROM flight_revisions fr "
		       "JOIN flights f ON f.id = fr.flight "
		       "WHERE fr.tree = $1 AND fr.revision = $2 AND f.branch = $3 "
		       "AND f.intent = 'gate' AND f.status <> 'cancelled' "
		       "AND ($4::text IS NULL OR f.target_revision = $4 "
		       "OR f.baseline_test) "
		       "ORDER BY f.id DESC LIMIT 1",
		       4, (const char *[]){ tree, rev, branch, target });
	if (!res)
		return err->code;
	*flight = PQntuples(res) ? db_long(res, 0, 0) : 0;
	if (verdict)
		*verdict = PQntuples(res) ? db_dup(res, 0, 1) : NULL;
	if (age)
		*age = PQntuples(res) ? db_long(res, 0, 2) : 0;
	PQclear(res);
	return 0;
}

int db_gate_last_rev(struct db *db, const char *branch, const char *tree,
		     int pushed_only, char **rev, struct err *err)
{
	PGresult *res;

	/* the predicates literal, so that the planner can use the partial
	 * index of pushed flights */
	res = db_query(db, err,
		       pushed_only
			       ? "SELECT fr.revision FROM flights f "
				 "JOIN flight_revisions fr ON fr.flight = f.id AND fr.tree = $2 "
				 "WHERE f.branch = $1 AND f.pushed AND f.intent = 'gate' "
				 "ORDER BY f.id DESC LIMIT 1"
			       : "SELECT fr.revision FROM flights f "
				 "JOIN flight_revisions fr ON fr.flight = f.id AND fr.tree = $2 "
				 "WHERE f.branch = $1 AND f.intent = 'gate' "
				 "AND f.status <> 'cancelled' ORDER BY f.id DESC LIMIT 1",
		       2, (const char *[]){ branch, tree });
	if (!res)
		return err->code;
	*rev = PQntuples(res) ? db_dup(res, 0, 0) : NULL;
	PQclear(res);
	return 0;
}

int db_gate_record(struct db *db, const struct gate_decision *d,
		   struct err *err)
{
	char fl[32], base[32];
	json_t *detail = json_object();
	struct db_event ev = { .kind = d->pushed ? "branch.pushed" : "flight.decided",
			       .flight = d->flight, .branch = d->branch,
			       .detail = detail };
	int rc = 0;

	snprintf(fl, sizeof(fl), "%ld", d->flight);
	snprintf(base, sizeof(base), "%ld", d->baseline_flight);
	db_detail_set(detail, "verdict", d->verdict);
	json_object_set_new(detail, "revision",
			    d->pushed_rev ? json_string(d->pushed_rev) : json_null());
	if (db_begin(db, err) < 0) {
		json_decref(detail);
		return err->code;
	}
	if (db_exec(db, err,
		    "UPDATE flights SET verdict = $2, pushed = $3, "
		    "baseline_flight = nullif($4, '0')::bigint, report = $5::jsonb, "
		    "report_text = $6, push_log = $7, decided_at = now() "
		    "WHERE id = $1",
		    7, (const char *[]){ fl, d->verdict, d->pushed ? "t" : "f", base,
					 d->report_json, d->report_text,
					 d->push_log }) < 0 ||
	    db_event(db, &ev, err) < 0 ||
	    (d->clear_force &&
	     db_exec(db, err,
		     "UPDATE branches SET force_rev = NULL, force_reason = NULL, "
		     "force_by = NULL WHERE name = $1",
		     1, (const char *[]){ d->branch }) < 0) ||
	    db_commit(db, err) < 0) {
		db_rollback(db);
		rc = err->code;
	}
	json_decref(detail);
	return rc;
}

int db_gate_reopen(struct db *db, const char *branch, const char *tree,
		   const char *rev, long *flight, struct err *err)
{
	return db_gate_long(db, flight, err,
			    "UPDATE flights SET verdict = 'pending' WHERE id = ("
			    "SELECT f.id FROM flight_revisions fr "
			    "JOIN flights f ON f.id = fr.flight "
			    "WHERE fr.tree = $2 AND fr.revision = $3 AND f.branch = $1 "
			    "AND f.intent = 'gate' AND NOT f.baseline_test "
			    "AND f.status = 'finished' AND f.verdict = 'no-push' "
			    "AND NOT f.pushed ORDER BY f.id DESC LIMIT 1) RETURNING id",
			    3, (const char *[]){ branch, tree, rev });
}

static int db_branch_update(struct db *db, const char *branch,
			    const char *sql, const char *kind,
			    const char *value, const char *reason,
			    struct err *err)
{
	json_t *detail = json_object();
	struct db_event ev = { .kind = kind, .branch = branch, .detail = detail };
	PGresult *res;
	int found;

	if (!strncmp(kind, "branch.force", strlen("branch.force")))
		db_detail_set(detail, "revision", value);
	db_detail_set(detail, "reason", reason);
	if (db_begin(db, err) < 0) {
		json_decref(detail);
		return err->code;
	}
	res = db_query(db, err, sql, 4,
		       (const char *[]){ branch, value, reason, db_actor() });
	if (!res)
		goto fail;
	found = PQntuples(res) == 1;
	PQclear(res);
	if (!found) {
		err_set(err, ERR_NOTFOUND, "no branch '%s'", branch);
		goto fail;
	}
	if (db_event(db, &ev, err) < 0 || db_commit(db, err) < 0)
		goto fail;
	json_decref(detail);
	return 0;
fail:
	db_rollback(db);
	json_decref(detail);
	return err->code;
}

int db_branch_block(struct db *db, const char *branch, int on,
		    const char *reason, struct err *err)
{
	return db_branch_update(db, branch,
				"UPDATE branches SET blocked = $2::boolean, "
				"block_reason = CASE WHEN $2::boolean THEN "
				"coalesce($3::text, '') || ' (' || $4::text || ')' END "
				"WHERE name = $1 AND NOT retired RETURNING name",
				on ? "branch.blocked" : "branch.unblocked",
				on ? "t" : "f", reason, err);
}

int db_branch_force(struct db *db, const char *branch, const char *rev,
		    const char *reason, struct err *err)
{
	return db_branch_update(db, branch,
				"UPDATE branches SET force_rev = $2::text, "
				"force_reason = $3::text, "
				"force_by = CASE WHEN $2 IS NOT NULL THEN $4 END "
				"WHERE name = $1 AND NOT retired RETURNING name",
				rev ? "branch.force-push" : "branch.force-cleared", rev,
				reason, err);
}

int db_gate_seen(struct db *db, const char *branch, const char *staging,
		 const char *target, struct err *err)
{
	return db_exec(db, err,
		       "UPDATE branches SET staging_seen = $2, target_seen = $3, "
		       "seen_at = now() WHERE name = $1 AND (staging_seen, target_seen) "
		       "IS DISTINCT FROM ($2, $3)",
		       3, (const char *[]){ branch, staging, target });
}

int db_branch_events_json(struct db *db, const char *branch, int limit,
			  json_t **ret, struct err *err)
{
	char lim[16];
	int rc;

	snprintf(lim, sizeof(lim), "%d", limit);
	rc = db_query_json(db, err, "branch events", ret,
		       "SELECT coalesce(json_agg(json_build_object('at', hangar_iso(at), "
		       "'actor', actor, "
		       "'kind', kind, 'flight', flight, 'detail', detail) ORDER BY id DESC), "
		       "'[]')::text FROM (SELECT * FROM events WHERE branch = $1 "
		       "ORDER BY id DESC LIMIT $2::int) e",
		       2, (const char *[]){ branch, lim });
	return rc;
}
