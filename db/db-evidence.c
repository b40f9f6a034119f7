/*
 * db-evidence.c: the evidence records (db-evidence.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-evidence.h"
#include "xalloc.h"
#include "banned.h"

#define EVIDENCE_COLS \
	"flight, branch, tree, revision, pushed, record, sha256, signature, " \
	"signer, signer_key, hangar_iso(created_at)"

void db_evidence_release(struct evidence *e)
{
	if (!e)
		return;
	free(e->branch);
	free(e->tree);
	free(e->revision);
	free(e->record);
	free(e->sha256);
	free(e->signature);
	free(e->signer);
	free(e->signer_key);
	free(e->created_at);
	memset(e, 0, sizeof(*e));
}

static void evidence_from_row(PGresult *res, int row, struct evidence *e)
{
	e->flight = db_long(res, row, 0);
	e->branch = db_dup(res, row, 1);
	e->tree = db_dup(res, row, 2);
	e->revision = db_dup(res, row, 3);
	e->pushed = !strcmp(PQgetvalue(res, row, 4), "t");
	e->record = db_dup(res, row, 5);
	e->sha256 = db_dup(res, row, 6);
	e->signature = db_dup(res, row, 7);
	e->signer = db_dup(res, row, 8);
	e->signer_key = db_dup(res, row, 9);
	e->created_at = db_dup(res, row, 10);
}

/* The first row of res into e, or ERR_NOTFOUND saying what was missing. */
static int evidence_first(PGresult *res, struct evidence *e, const char *what,
			  struct err *err)
{
	int rc = 0;

	memset(e, 0, sizeof(*e));
	if (PQntuples(res) == 0)
		rc = err_set(err, ERR_NOTFOUND, "no evidence record of %s", what);
	else
		evidence_from_row(res, 0, e);
	PQclear(res);
	return rc;
}

int db_evidence_insert(struct db *db, const struct evidence *e, int *inserted,
		       struct err *err)
{
	char flight[24];
	PGresult *res;

	snprintf(flight, sizeof(flight), "%ld", e->flight);
	res = db_query(db, err,
		       "INSERT INTO evidence (flight, branch, tree, revision, "
		       "pushed, record, sha256, signature, signer, signer_key) "
		       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
		       "ON CONFLICT (flight) DO NOTHING",
		       10, (const char *[]){ flight, e->branch, e->tree,
					     e->revision, e->pushed ? "t" : "f",
					     e->record, e->sha256, e->signature,
					     e->signer, e->signer_key });
	if (!res)
		return err->code;
	*inserted = db_affected(res) == 1;
	PQclear(res);
	return 0;
}

int db_evidence_by_flight(struct db *db, long flight, struct evidence *e,
			  struct err *err)
{
	char num[24], what[48];
	PGresult *res;

	snprintf(num, sizeof(num), "%ld", flight);
	res = db_query(db, err,
		       "SELECT " EVIDENCE_COLS " FROM evidence WHERE flight = $1",
		       1, (const char *[]){ num });
	if (!res)
		return err->code;
	snprintf(what, sizeof(what), "flight %ld", flight);
	return evidence_first(res, e, what, err);
}

int db_evidence_by_rev(struct db *db, const char *rev, const char *branch,
		       struct evidence *e, struct err *err)
{
	size_t len = strlen(rev);
	PGresult *res;
	char *prefix;

	memset(e, 0, sizeof(*e));
	for (const char *p = rev; *p; p++)
		if (!isxdigit((unsigned char)*p))
			len = 0;
	if (len < 7 || len > 64)
		return err_set(err, ERR_USAGE,
			       "'%s' is not a revision (7 to 64 hex digits)", rev);
	prefix = xasprintf("%s%%", rev);
	for (char *p = prefix; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	res = db_query(db, err,
		       /* (PostgreSQL has no DISTINCT in a window function) */
		       "WITH m AS (SELECT * FROM evidence WHERE revision LIKE $1 "
		       "AND ($2::text IS NULL OR branch = $2)) "
		       "SELECT " EVIDENCE_COLS ", "
		       "(SELECT count(DISTINCT revision) FROM m) "
		       "FROM m ORDER BY pushed DESC, flight DESC LIMIT 1",
		       2, (const char *[]){ prefix, branch });
	free(prefix);
	if (!res)
		return err->code;
	if (PQntuples(res) > 0 && db_long(res, 0, 11) > 1) {
		PQclear(res);
		return err_set(err, ERR_FAIL,
			       "revision %s is ambiguous: records of several "
			       "revisions start with it", rev);
	}
	return evidence_first(res, e, rev, err);
}

int db_evidence_pushed_before(struct db *db, const char *branch, long flight,
			      struct evidence *e, struct err *err)
{
	char num[24], what[160];
	PGresult *res;

	snprintf(num, sizeof(num), "%ld", flight);
	res = db_query(db, err,
		       "SELECT " EVIDENCE_COLS " FROM evidence "
		       "WHERE branch = $1 AND pushed "
		       "AND ($2::bigint = 0 OR flight < $2) "
		       "ORDER BY flight DESC LIMIT 1",
		       2, (const char *[]){ branch, num });
	if (!res)
		return err->code;
	snprintf(what, sizeof(what), "a push of branch %s", branch);
	return evidence_first(res, e, what, err);
}

int db_evidence_missing(struct db *db, const char *branch, long **flights,
			size_t *n, struct err *err)
{
	PGresult *res;

	*flights = NULL;
	*n = 0;
	res = db_query(db, err,
		       "SELECT f.id FROM flights f WHERE f.branch = $1 "
		       "AND f.pushed AND f.imported_from IS NULL "
		       "AND f.decided_at >= (SELECT applied_at "
		       "FROM schema_migrations WHERE version = 22) "
		       "AND NOT EXISTS (SELECT 1 FROM evidence e "
		       "WHERE e.flight = f.id) ORDER BY f.id",
		       1, (const char *[]){ branch });
	if (!res)
		return err->code;
	*n = (size_t)PQntuples(res);
	*flights = xcalloc(*n + 1, sizeof(**flights));
	for (size_t i = 0; i < *n; i++)
		(*flights)[i] = db_long(res, (int)i, 0);
	PQclear(res);
	return 0;
}

/* Orders that a rebuild gives again whatever the database's collation:
 * byte order (COLLATE "C"). Timestamps through hangar_iso (UTC, seconds). */
int db_evidence_flight(struct db *db, long flight, json_t **ret,
		       struct err *err)
{
	char num[24], what[48];
	PGresult *res;
	int rc;

	*ret = NULL;
	snprintf(num, sizeof(num), "%ld", flight);
	snprintf(what, sizeof(what), "flight %ld", flight);
	/* db_query_json takes a row always; an unknown flight gives none */
	res = db_query_one(db, err, what, "SELECT 1 FROM flights WHERE id = $1",
			   1, (const char *[]){ num });
	if (!res)
		return err->code;
	PQclear(res);
	rc = db_query_json(db, err, what, ret,
		"SELECT json_build_object("
		" 'flight', f.id, 'branch', f.branch, 'intent', f.intent,"
		" 'status', f.status, 'verdict', f.verdict, 'pushed', f.pushed,"
		" 'decided_at', hangar_iso(f.decided_at), 'tree', b.tree,"
		" 'revision', (SELECT r.revision FROM flight_revisions r"
		"   WHERE r.flight = f.id AND r.tree = b.tree),"
		" 'revisions', coalesce((SELECT json_object_agg(r.tree, r.revision"
		"   ORDER BY r.tree COLLATE \"C\") FROM flight_revisions r"
		"   WHERE r.flight = f.id), '{}'),"
		" 'harness', coalesce((SELECT json_agg(DISTINCT j.harness"
		"   COLLATE \"C\" ORDER BY j.harness COLLATE \"C\") FROM jobs j"
		"   WHERE j.flight = f.id AND j.harness IS NOT NULL), '[]'),"
		" 'jobs', coalesce((SELECT json_agg(json_build_object("
		"   'job', j.job, 'status', j.status, 'recipe', j.recipe,"
		"   'arch', j.arch, 'attempt', j.attempt, 'harness', j.harness,"
		"   'started_at', hangar_iso(j.started_at),"
		"   'finished_at', hangar_iso(j.finished_at),"
		"   'runvars', coalesce((SELECT json_object_agg(v.name, v.val"
		"     ORDER BY v.name COLLATE \"C\") FROM runvars v"
		"     WHERE v.flight = j.flight AND v.job = j.job), '{}'),"
		/* each role's last allocation, as job_hosts() */
		"   'hosts', coalesce((SELECT json_agg(json_build_object("
		"     'role', l.role, 'name', l.host, 'arch', h.arch,"
		"     'site', h.site, 'firmware', l.firmware)"
		"     ORDER BY length(l.role), l.role COLLATE \"C\")"
		"     FROM (SELECT DISTINCT ON (coalesce(a.ident, 'host'))"
		"       coalesce(a.ident, 'host') AS role, a.host, a.firmware"
		"       FROM allocations a WHERE a.flight = j.flight"
		"       AND a.job = j.job"
		"       ORDER BY coalesce(a.ident, 'host'), a.id DESC) l"
		"     JOIN hosts h ON h.name = l.host), '[]'),"
		"   'steps', coalesce((SELECT json_agg(json_build_object("
		"     'stepno', s.stepno, 'step', s.name, 'status', s.status,"
		"     'started_at', hangar_iso(s.started_at),"
		"     'finished_at', hangar_iso(s.finished_at),"
		"     'logfile', s.logfile) ORDER BY s.stepno)"
		"     FROM steps s WHERE s.flight = j.flight AND s.job = j.job"
		"     AND s.attempt = j.attempt), '[]'),"
		"   'artifacts', coalesce((SELECT json_agg(json_build_object("
		"     'path', a.path, 'sha256', a.sha256, 'size', a.size)"
		"     ORDER BY a.path COLLATE \"C\") FROM artifacts a"
		"     WHERE a.flight = j.flight AND a.job = j.job), '[]'))"
		"   ORDER BY j.job COLLATE \"C\")"
		"   FROM jobs j WHERE j.flight = f.id), '[]'))"
		" FROM flights f LEFT JOIN branches b ON b.name = f.branch"
		" WHERE f.id = $1",
		1, (const char *[]){ num });
	return rc;
}
