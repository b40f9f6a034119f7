/*
 * db-reserve.h: reservations and blockages as the web API shows them. The
 * scheduler's side (queueing, allocating, releasing) is db-sched.h's.
 */
#ifndef HANGAR_DB_RESERVE_H
#define HANGAR_DB_RESERVE_H

#include <jansson.h>

#include "db.h"

/*
 * The live (waiting or active) reservations and blockages, by id, as GET
 * /api/v1/reservations gives them: [{"id", "kind", "owner", "status",
 * "host", "arch", "flags", "count", "reason", "start", "end",
 * "planned_start", "hosts" (held now), "wait_reason"}]; only reservation
 * id unless id is 0 (an empty array when it is not live). *ret is a new
 * reference, the caller's.
 */
int db_reserve_list_json(struct db *db, long id, json_t **ret,
			 struct err *err);
/*
 * Who owns live reservation (or blockage) id: *owner is a new string, the
 * caller's (free). ERR_NOTFOUND "no live reservation" when it is not live.
 */
int db_reserve_owner(struct db *db, long id, char **owner, struct err *err);

#endif
