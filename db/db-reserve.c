/*
 * db-reserve.c: reading reservations and blockages for the web API, one
 * statement per question.
 */
#include <stdio.h>

#include "db-reserve.h"
#include "banned.h"

static const char reserve_list_sql[] =
	"SELECT coalesce(json_agg(json_build_object('id', r.id, 'kind', r.kind, "
	"'owner', r.owner, 'status', r.status, 'host', r.host, 'arch', r.arch, "
	"'flags', r.flags, 'count', r.nhosts, 'reason', r.reason, 'start', "
	"hangar_iso(r.start_at), 'end', hangar_iso(r.end_at), 'planned_start', "
	"hangar_iso(r.planned_start), "
	"'hosts', (SELECT coalesce(json_agg(a.host ORDER BY a.host), '[]') "
	"FROM allocations a WHERE a.reservation = r.id AND a.released_at IS NULL), "
	"'wait_reason', r.wait_reason) ORDER BY r.id), '[]')::text "
	"FROM reservations r WHERE r.status IN ('waiting', 'active') "
	"AND ($1::bigint IS NULL OR r.id = $1::bigint)";

int db_reserve_list_json(struct db *db, long id, json_t **ret,
			 struct err *err)
{
	char num[24];

	snprintf(num, sizeof(num), "%ld", id);
	return db_query_json(db, err, "reservations", ret, reserve_list_sql, 1,
			     (const char *[]){ id ? num : NULL });
}

int db_reserve_owner(struct db *db, long id, char **owner, struct err *err)
{
	char num[24];
	PGresult *res;

	snprintf(num, sizeof(num), "%ld", id);
	res = db_query_one(db, err, "live reservation",
			   "SELECT owner FROM reservations WHERE id = $1::bigint "
			   "AND status IN ('waiting', 'active')",
			   1, (const char *[]){ num });
	if (!res)
		return err->code;
	*owner = db_dup(res, 0, 0);
	PQclear(res);
	return 0;
}
