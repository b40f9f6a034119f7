/*
 * db-cluster.h: the private PostgreSQL cluster, hangar's embedded default
 * when no database is configured: initdb into STATE/pg once, postgres
 * listening only on a Unix socket inside STATE/pg, shared by every hangar
 * process of that state directory. PostgreSQL refuses to run as root, so
 * as root the cluster runs as the system user "hangar" (made by
 * `make deps`; HANGAR_PG_USER names another).
 */
#ifndef HANGAR_DB_CLUSTER_H
#define HANGAR_DB_CLUSTER_H

#include <sys/types.h>

#include "err.h"

/* How the private cluster runs, from [lab]: */
struct db_cluster_conf {
	/* PostgreSQL's listen_addresses ([lab] db-listen); NULL or "":
	 * none, the Unix socket in STATE/pg only */
	const char *listen;
	/* its synchronous_standby_names ([lab] db-synchronous-standby);
	 * NULL or "": none. Set, every commit waits until a standby named
	 * there applied it (synchronous_commit = remote_apply) */
	const char *sync_standby;
};

/* Creates the cluster if needed, starts it (as conf says; NULL: the
 * defaults) if it is not running, and creates the database "hangar".
 * Safe to call from many processes at once. */
int db_cluster_ensure(const char *state, const struct db_cluster_conf *conf,
		      struct err *err);

/*
 * Makes STATE/pg a streaming replica of the server at conninfo from
 * (pg_basebackup -X stream -R, as the cluster user) and starts it. STATE
 * must hold no cluster yet (ERR_EXISTS). The primary must accept a
 * replication connection from the cluster user.
 */
int db_cluster_standby(const char *state, const struct db_cluster_conf *conf,
		       const char *from, struct err *err);
/* The same for a server hangar does not run: the copy goes into dir
 * (empty or absent), as the calling user, and is not started. */
int db_basebackup_standby(const char *from, const char *dir, struct err *err);


/* Stops it (fast shutdown) if it runs. */
int db_cluster_stop(const char *state, struct err *err);

/* The postmaster's pid if it runs, 0 if not, ERR_NOTFOUND if no cluster. */
int db_cluster_pid(const char *state, pid_t *pid);

/*
 * Whether the cluster runs, was stopped or died, from STATE/pg/postmaster.pid
 * alone (cheap enough to ask every second): postgres removes the file when
 * it stops, whatever the pg_ctl stop mode, and leaves it behind when it is
 * killed. A file being written (no pid yet) counts as running.
 */
enum db_cluster_state {
	DB_CLUSTER_NONE,      /* no cluster: never created */
	DB_CLUSTER_RUNNING,   /* *pid is the postmaster (0 while it starts) */
	DB_CLUSTER_STOPPED,   /* no postmaster.pid: stopped on purpose */
	DB_CLUSTER_DEAD,      /* a postmaster.pid whose process is gone */
};
enum db_cluster_state db_cluster_state(const char *state, pid_t *pid);

#endif
