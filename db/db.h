/*
 * db.h: the libpq access layer. The only place (with the other db-*.c
 * files) where SQL lives. One struct db is one connection; it is not
 * thread-safe: a thread uses its own.
 */
#ifndef HANGAR_DB_H
#define HANGAR_DB_H

#include <jansson.h>
#include <libpq-fe.h>

#include "buf.h"
#include "db-cluster.h"
#include "err.h"
#include "strmap.h"
#include "vec.h"

struct db {
	PGconn *conn;
	char *where;     /* "private cluster STATE/pg" or the conninfo */
	/* statements prepared on this session: text -> number of its name;
	 * forgotten when the session is (a reconnect) */
	struct strmap prepared;
	int prepare_all; /* db_query prepares what it runs (db_set_prepare) */
};

/* How to reach the database of a lab: a conninfo, or the private cluster. */
struct db_target {
	const char *database;  /* NULL: the private cluster under state */
	const char *state;
	struct db_cluster_conf cluster;   /* how the private cluster runs */
};

/*
 * Connects to the lab's database. For the private cluster it first makes
 * sure the cluster exists and runs (initdb, pg_ctl start), and applies
 * pending migrations; a configured database must have been migrated with
 * `hangar db migrate` (ERR_FAIL says so otherwise). *ret is owned by the
 * caller: db_close() it.
 */
int db_open(const struct db_target *target, struct db **ret, struct err *err);
/* Connects without checking migrations (for `hangar db migrate|status`). */
int db_open_raw(const struct db_target *target, struct db **ret,
		struct err *err);
/*
 * As db_open_raw, choosing among a configured conninfo's hosts by attrs
 * (libpq's target_session_attrs: "standby", "any", ...) rather than by
 * what the conninfo says; the private cluster is the one server it is.
 */
int db_open_attrs(const struct db_target *target, const char *attrs,
		  struct db **ret, struct err *err);
void db_close(struct db *db);

/*
 * Runs sql with text parameters; returns the result (the caller PQclear()s
 * it) or NULL with err set. Serialization failures and deadlocks are
 * ERR_RETRY, everything else ERR_DB.
 */
PGresult *db_query(struct db *db, struct err *err, const char *sql, int n,
		   const char *const *params);
/*
 * As db_query, for a statement run again and again: it is prepared once
 * per session (PQprepare) and then only executed, so the server neither
 * parses nor (once it settles on a generic plan) plans it again. A
 * reconnect forgets what was prepared and the next call prepares it
 * anew; a statement the server lost for another reason is prepared again
 * once. At most DB_PREPARED_MAX statements a session: past that it runs
 * as db_query would.
 */
#define DB_PREPARED_MAX 256
PGresult *db_query_prep(struct db *db, struct err *err, const char *sql, int n,
			const char *const *params);
/*
 * Statements sent together and answered together: questions that do not
 * depend on each other's answers, in one round trip (libpq's pipeline
 * mode) rather than one each; a report asks a dozen. Each statement is
 * prepared once per session as db_query_prep does; what is not
 * preparable (BEGIN, SET) is sent as it is. They run in order, and one
 * that fails skips the rest (and aborts a transaction open). A batch run
 * outside a transaction that meets a statement the server lost is sent
 * again once, as db_query_prep does. Small statements only, a few: all
 * are written before any answer is read.
 */
#define DB_BATCH_MAX 24
struct db_batch {
	struct db *db;
	int n;
	struct db_batch_stmt {
		const char *sql;      /* borrowed: it must outlive the batch */
		int nparams;
		char **params;        /* the batch's copies */
		int plain;            /* never prepared */
	} stmt[DB_BATCH_MAX];
	PGresult *res[DB_BATCH_MAX];   /* each one's, after db_batch_run */
};
void db_batch_init(struct db_batch *b, struct db *db);
/* Adds a statement (params are copied); returns its index. */
int db_batch_add(struct db_batch *b, const char *sql, int n,
		 const char *const *params);
/* The same for a statement whose best plan depends on its parameters'
 * values: sent as it is, never prepared. */
int db_batch_add_plain(struct db_batch *b, const char *sql, int n,
		       const char *const *params);
/*
 * Adds the beginning of a read-only transaction that sees one snapshot
 * (repeatable read): the batch opens it. generic: its prepared statements
 * use their generic plan from the first execution on (plan_cache_mode),
 * for statements whose plan does not depend on their parameters' values
 * but which the server's cost estimates would plan again at each
 * execution. End it with db_commit or db_rollback.
 */
void db_batch_begin_read(struct db_batch *b, int generic);
/*
 * Sends them and reads every answer: 0, with each statement's result in
 * b->res[i] (owned by the batch), or the first error (ERR_RETRY, ERR_DB
 * as db_query).
 */
int db_batch_run(struct db_batch *b, struct err *err);
void db_batch_release(struct db_batch *b);

/*
 * Whether db_query (and so db_query_one, db_query_json, db_exec) prepares
 * every single statement it runs, as db_query_prep: for a daemon that
 * asks the same few questions all day (the web's pool). Off by default.
 */
void db_set_prepare(struct db *db, int on);
/* How many statements this session has prepared (for tests). */
size_t db_prepared_count(const struct db *db);

/*
 * As db_query for a statement that must give exactly one row: NULL with
 * ERR_NOTFOUND "no WHAT" when it gives none (what: "flight 12").
 */
PGresult *db_query_one(struct db *db, struct err *err, const char *what,
		       const char *sql, int n, const char *const *params);
/*
 * As db_query for a statement whose one row and column is JSON text (a
 * json_agg): *ret gets it parsed (a new reference). what names it in the
 * error of bad JSON.
 */
int db_query_json(struct db *db, struct err *err, const char *what,
		  json_t **ret, const char *sql, int n, const char *const *params);
/* As db_query for statements whose result is not needed. */
int db_exec(struct db *db, struct err *err, const char *sql, int n,
	    const char *const *params);

/* A field as a new string (NULL for SQL NULL), or as a number (0). */
char *db_dup(PGresult *res, int row, int col);
long db_long(PGresult *res, int row, int col);
/* A field as it stands in res, living as long as res (NULL for SQL NULL). */
const char *db_str(PGresult *res, int row, int col);

/* A PostgreSQL text[] literal of v ({"a","b"}), for a parameter. */
char *db_array(const struct vec *v);
/* The same built an element at a time into an empty b: v (NULL for a
 * NULL element), then db_array_end. */
void db_array_add(struct buf *b, const char *v);
void db_array_end(struct buf *b);

/* Rows changed by a command, from its result. */
long db_affected(PGresult *res);

/*
 * Streams rows from one database to another: copy_out ("COPY (SELECT
 * ...) TO STDOUT") on from, copy_in ("COPY t (...) FROM STDIN") on to,
 * chunk by chunk, so memory stays flat however many rows. *rows gets how
 * many went in. On error both sides are left usable.
 */
int db_copy_between(struct db *from, const char *copy_out, struct db *to,
		    const char *copy_in, long *rows, struct err *err);

int db_begin(struct db *db, struct err *err);
int db_commit(struct db *db, struct err *err);
/* Never fails visibly: it is used on error paths. */
void db_rollback(struct db *db);

/* LISTEN on channel. */
int db_listen(struct db *db, const char *channel, struct err *err);
/*
 * Waits up to timeout_ms for a notification on a channel listened to,
 * from another session (this one's own are consumed and ignored);
 * consumes every pending one. Returns 1 if any came, 0 on timeout, a
 * signal or a proc_wake(), or an error code.
 */
int db_wait_notify(struct db *db, int timeout_ms, struct err *err);
/*
 * As db_wait_notify, calling each(channel, payload, arg) for every
 * notification from another session, in the order they came (the strings
 * are only valid during the call). ERR_DB: the connection failed (look at
 * it with db_connection_ok); ERR_FAIL: waiting on its socket did.
 */
int db_wait_notify_each(struct db *db, int timeout_ms,
			void (*each)(const char *channel, const char *payload,
				     void *arg),
			void *arg, struct err *err);
/*
 * Whether the connection is still up (a server gone away is noticed by
 * reading what the socket has); reconnecting: the same conninfo and
 * session settings, never starting a private cluster.
 */
int db_connection_ok(struct db *db);
/* Whether no transaction is open (nor a command running) on it: false on
 * a broken connection too. It asks libpq only, never the server. */
int db_idle(struct db *db);
int db_reconnect(struct db *db, struct err *err);

/*
 * A daemon's connection across database outages. db_keep() returns
 * DB_KEEP_UP at once while the connection is up. When it is down, it
 * reconnects (the same conninfo: a private cluster someone stopped is not
 * started again; with several hosts, whichever the conninfo's
 * target_session_attrs accepts, the primary after a failover) at most
 * once per back-off, 1 s doubling to 30 s (or max_backoff_ms) with up to
 * a quarter more at random, and LISTENs again on k->channels; err says
 * why a try failed. The state it returns lets the daemon log once:
 * DB_KEEP_LOST when it finds the connection lost (err: how; always, even
 * when the server is back already: the session's locks and LISTENs went
 * with it), DB_KEEP_DOWN while tries fail (nothing new), DB_KEEP_BACK
 * when it is connected again (what was NOTIFYed meanwhile is lost: look
 * again), counted in db_reconnects under log_name().
 */
enum db_keep_state { DB_KEEP_UP, DB_KEEP_LOST, DB_KEEP_DOWN, DB_KEEP_BACK };
struct db_keep {
	const char *const *channels;   /* NULL-terminated, or NULL */
	int down;                      /* lost and not back yet */
	long long retry_ms;            /* monotonic ms of the next try */
	int backoff_ms;
	int max_backoff_ms;            /* 0: 30 s; a worker keeps it under
					* its lease */
};
enum db_keep_state db_keep(struct db *db, struct db_keep *k, struct err *err);
/* Milliseconds until the next try (0 while up). */
int db_keep_wait_ms(const struct db_keep *k);
/* Says DB_KEEP_LOST (with err, why) and DB_KEEP_BACK in the daemon's log,
 * in the same words everywhere; returns st. */
enum db_keep_state db_keep_log(enum db_keep_state st, const struct err *err);

/* The conninfo for a private cluster under state (caller frees). */
char *db_private_conninfo(const char *state);

/*
 * Who is acting, for events: "user@cli" from the login name unless a
 * daemon set its own name ("scheduler PID@HOST") with db_set_actor().
 */
const char *db_actor(void);
void db_set_actor(const char *actor);

/*
 * An event of the audit trail (the events table): what happened, to
 * which flight, job, host or branch. Statements that change a row and
 * say so in one go (a data-modifying WITH) keep their own INSERT; every
 * other event is written here.
 */
struct db_event {
	const char *actor;          /* NULL: db_actor() */
	const char *kind;           /* "host.broken", "flight.created", ... */
	long flight;                /* 0: none */
	const char *job, *host, *branch;   /* or NULL */
	json_t *detail;             /* an object, borrowed; NULL: {} */
};
int db_event(struct db *db, const struct db_event *e, struct err *err);
/* Sets key to value in an event's detail, unless value is NULL; text that
 * is not UTF-8 is said so rather than lost with the event. */
void db_detail_set(json_t *detail, const char *key, const char *value);
/* Overrides it in the calling thread only (NULL: no more). */
void db_set_thread_actor(const char *actor);

#endif
