/*
 * db-request.c: a branch's defaults for an ad-hoc request (see
 * db-request.h).
 */
#include "db-request.h"
#include "banned.h"

int db_request_branch(struct db *db, const char *branch, struct vec *trees,
		      struct vec *refs, struct vec *jobs, struct err *err)
{
	PGresult *res = db_query(db, err,
				 "SELECT b.tree, b.staging_ref, 0 o, "
				 "array_to_string(b.jobs, ' ') FROM branches b "
				 "WHERE b.name = $1 AND NOT b.retired "
				 "UNION ALL SELECT p, 'HEAD', 1, '' "
				 "FROM branches b, unnest(b.pins) p "
				 "WHERE b.name = $1 AND NOT b.retired ORDER BY 3, 1",
				 1, (const char *[]){ branch });

	if (!res)
		return err->code;
	if (!PQntuples(res)) {
		PQclear(res);
		return err_set(err, ERR_NOTFOUND, "no branch '%s'", branch);
	}
	for (int i = 0; i < PQntuples(res); i++) {
		vec_push(trees, PQgetvalue(res, i, 0));
		vec_push(refs, PQgetvalue(res, i, 1));
		if (i == 0)
			vec_split(jobs, PQgetvalue(res, i, 3));
	}
	PQclear(res);
	return 0;
}
