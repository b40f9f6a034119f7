/*
 * db-replica.h: PostgreSQL's streaming replication as hangar shows it:
 * whether the server is a primary or a standby, how far a standby is
 * behind, which standbys a primary feeds, and promoting one. The
 * replication itself is PostgreSQL's (pg_basebackup, walsender,
 * walreceiver); nothing here copies data.
 */
#ifndef HANGAR_DB_REPLICA_H
#define HANGAR_DB_REPLICA_H

#include "db.h"

/* A standby as its primary sees it (pg_stat_replication). */
struct db_replica_peer {
	char *name;          /* application_name: the cluster name it gave */
	char *client;        /* its address, or "local" (Unix socket) */
	char *state;         /* streaming, catchup, backup, ... */
	char *sync_state;    /* async, sync, potential, quorum */
	long long lag_bytes; /* WAL written here and not yet replayed there */
	double lag_s;        /* replay_lag in seconds; -1: none measured */
};

struct db_replica_status {
	int standby;          /* pg_is_in_recovery() */
	/* a standby's: */
	char *primary;        /* host of the primary it streams from, or NULL */
	char *receiver;       /* its walreceiver's status, NULL: none runs */
	long long lag_bytes;  /* received and not yet replayed */
	double lag_s;         /* now - last replayed commit; -1: none yet */
	/* a primary's: */
	struct db_replica_peer *peers;
	size_t npeers;
	char *sync_names;     /* synchronous_standby_names, "" if none */
};

/* Fills st (release it with db_replica_status_release). */
int db_replica_status(struct db *db, struct db_replica_status *st,
		      struct err *err);
void db_replica_status_release(struct db_replica_status *st);

/*
 * Promotes the server db is connected to, a standby, and waits (up to a
 * minute) until it accepts writes: pg_promote(), which needs a superuser
 * or a role granted EXECUTE on it. ERR_FAIL if it is no standby, or if it
 * still streams from its primary (two primaries would each take writes
 * the other never sees) unless force.
 */
int db_replica_promote(struct db *db, int force, struct err *err);

#endif
