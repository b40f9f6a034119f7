/*
 * db-replica.c: the replication views of PostgreSQL, read for `hangar db
 * status`, and pg_promote() for `hangar db promote`.
 */
#include <stdlib.h>
#include <string.h>

#include "db-replica.h"
#include "xalloc.h"
#include "banned.h"

static double replica_double(PGresult *res, int row, int col)
{
	const char *v = db_str(res, row, col);

	return v ? strtod(v, NULL) : -1;
}

int db_replica_status(struct db *db, struct db_replica_status *st,
		      struct err *err)
{
	struct db_batch b;
	int self, recv, peers, rc;

	memset(st, 0, sizeof(*st));
	st->lag_s = -1;
	db_batch_init(&b, db);
	/* the lag in time is since the last replayed commit: on a quiet
	 * primary it grows though nothing is missing, so the bytes say
	 * whether anything is */
	self = db_batch_add(&b,
		"SELECT pg_is_in_recovery(),"
		" pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint,"
		" extract(epoch FROM now() - pg_last_xact_replay_timestamp()),"
		" current_setting('synchronous_standby_names')", 0, NULL);
	recv = db_batch_add(&b,
		"SELECT sender_host, status FROM pg_stat_wal_receiver", 0, NULL);
	peers = db_batch_add(&b,
		"SELECT application_name, coalesce(host(client_addr), 'local'),"
		" state, sync_state,"
		" CASE WHEN pg_is_in_recovery() THEN NULL"
		"  ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint END,"
		" extract(epoch FROM replay_lag)"
		" FROM pg_stat_replication ORDER BY application_name, pid",
		0, NULL);
	rc = db_batch_run(&b, err);
	if (rc < 0)
		goto out;
	st->standby = !strcmp(db_str(b.res[self], 0, 0), "t");
	st->lag_bytes = db_long(b.res[self], 0, 1);
	st->lag_s = replica_double(b.res[self], 0, 2);
	st->sync_names = db_dup(b.res[self], 0, 3);
	if (PQntuples(b.res[recv]) > 0) {
		st->primary = db_dup(b.res[recv], 0, 0);
		st->receiver = db_dup(b.res[recv], 0, 1);
	}
	st->npeers = (size_t)PQntuples(b.res[peers]);
	st->peers = xcalloc(st->npeers + 1, sizeof(*st->peers));
	for (size_t i = 0; i < st->npeers; i++) {
		struct db_replica_peer *p = &st->peers[i];

		p->name = db_dup(b.res[peers], (int)i, 0);
		p->client = db_dup(b.res[peers], (int)i, 1);
		p->state = db_dup(b.res[peers], (int)i, 2);
		p->sync_state = db_dup(b.res[peers], (int)i, 3);
		p->lag_bytes = db_long(b.res[peers], (int)i, 4);
		p->lag_s = replica_double(b.res[peers], (int)i, 5);
	}
	if (!st->standby)
		st->lag_s = -1;   /* a primary replays nothing */
out:
	db_batch_release(&b);
	return rc;
}

void db_replica_status_release(struct db_replica_status *st)
{
	for (size_t i = 0; i < st->npeers; i++) {
		free(st->peers[i].name);
		free(st->peers[i].client);
		free(st->peers[i].state);
		free(st->peers[i].sync_state);
	}
	free(st->peers);
	free(st->primary);
	free(st->receiver);
	free(st->sync_names);
	memset(st, 0, sizeof(*st));
}

int db_replica_promote(struct db *db, int force, struct err *err)
{
	PGresult *res;
	int rc = 0;

	res = db_query(db, err,
		       "SELECT pg_is_in_recovery(), (SELECT sender_host FROM pg_stat_wal_receiver"
		       " WHERE status = 'streaming')", 0, NULL);
	if (!res)
		return ERR_DB;
	if (strcmp(db_str(res, 0, 0), "t") != 0)
		rc = err_set(err, ERR_FAIL, "database %s is no standby: it is a primary already",
			     db->where);
	else if (db_str(res, 0, 1) && !force)
		rc = err_set(err, ERR_FAIL,
			     "database %s still streams from its primary %s, which is alive: stop that one first (or --force)",
			     db->where, db_str(res, 0, 1));
	PQclear(res);
	if (rc < 0)
		return rc;
	res = db_query(db, err, "SELECT pg_promote(true, 60)", 0, NULL);
	if (!res)
		return ERR_DB;
	if (strcmp(db_str(res, 0, 0), "t") != 0)
		rc = err_set(err, ERR_FAIL,
			     "database %s: not promoted within a minute; see its server log",
			     db->where);
	PQclear(res);
	return rc;
}
