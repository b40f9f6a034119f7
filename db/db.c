/*
 * db.c: connections and statement helpers. Every libpq error is turned
 * into a struct err here, once.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "db-cluster.h"
#include "db-migrate.h"
#include "log.h"
#include "proc.h"
#include "xalloc.h"
#include "banned.h"

static int db_err_from_pg(struct db *db, PGresult *res, struct err *err,
			  const char *sql)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
				: NULL;
	const char *msg = res ? PQresultErrorMessage(res)
			      : PQerrorMessage(db->conn);
	int code = ERR_DB;
	char first[64];
	size_t n;

	if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01")))
		code = ERR_RETRY;
	else if (state && !strcmp(state, "23505"))
		code = ERR_EXISTS;
	/* name the statement by its first words, without newlines */
	n = strcspn(sql, "\n(");
	if (n >= sizeof(first))
		n = sizeof(first) - 1;
	memcpy(first, sql, n);
	first[n] = '\0';
	err_set(err, code, "database: %s: %.*s", first,
		(int)strcspn(msg ? msg : "", "\n"), msg ? msg : "");
	return code;
}

char *db_private_conninfo(const char *state)
{
	return xasprintf("host=%s/pg dbname=hangar user=hangar "
			 "application_name=hangar connect_timeout=10",
			 state);
}

/*
 * The session's settings go in the startup packet, with the connection:
 * short statements only (a stuck lock must not hang a daemon), warnings
 * and worse, and a name that pg_stat_activity shows (which daemon a
 * session is). Set there they cost no round trip of their own, which is
 * a good part of a short command's time, and PQreset keeps them. Ours
 * come after any options the conninfo (or else PGOPTIONS, which an
 * explicit "options" would otherwise silence) gives, and so win, as the
 * SETs that did this after connecting did.
 */
static PGconn *db_connect_with_settings(const char *conninfo,
					const char *attrs)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	const char *theirs = getenv("PGOPTIONS");
	char name[64], *options;
	PGconn *conn;

	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, "options") && o->val)
			theirs = o->val;
	options = xasprintf("%s%s-c lock_timeout=30s -c client_min_messages=warning",
			    theirs ? theirs : "", theirs && *theirs ? " " : "");
	snprintf(name, sizeof(name), "hangar %.40s %ld", log_name(),
		 (long)getpid());
	/* expand_dbname: the conninfo first, then what overrides it */
	conn = PQconnectdbParams(
		(const char *const[]){ "dbname", "application_name", "options",
				       attrs ? "target_session_attrs" : NULL, NULL },
		(const char *const[]){ conninfo, name, options, attrs, NULL }, 1);
	PQconninfoFree(opts);
	free(options);
	return conn;
}

static int db_connect(const char *conninfo, const char *attrs,
		      const char *where, struct db **ret, struct err *err)
{
	struct db *db = xcalloc(1, sizeof(*db));

	db->conn = db_connect_with_settings(conninfo, attrs);
	db->where = xstrdup(where);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		err_set(err, ERR_DB, "database %s: %.*s", where,
			(int)strcspn(PQerrorMessage(db->conn), "\n"),
			PQerrorMessage(db->conn));
		db_close(db);
		return ERR_DB;
	}
	*ret = db;
	return 0;
}

/* A conninfo to name in messages: any password in it masked, in both
 * forms ("password=..." and "postgresql://user:...@"). */
static char *conninfo_shown(const char *conninfo)
{
	char *out = xstrdup(conninfo), *p;

	if ((p = strstr(out, "password=")) != NULL) {
		size_t val = strcspn(p + 9, " \t");
		char *rest = xstrdup(p + 9 + val);

		p[9] = '\0';
		p = xasprintf("%s***%s", out, rest);
		free(rest);
		free(out);
		out = p;
	}
	if ((p = strstr(out, "://")) != NULL) {
		char *at = strchr(p + 3, '@'), *colon = strchr(p + 3, ':');

		if (at && colon && colon < at) {
			char *masked;

			*colon = '\0';
			masked = xasprintf("%s:***%s", out, at);
			free(out);
			out = masked;
		}
	}
	return out;
}

int db_open_raw(const struct db_target *target, struct db **ret,
		struct err *err)
{
	return db_open_attrs(target, NULL, ret, err);
}

int db_open_attrs(const struct db_target *target, const char *attrs,
		  struct db **ret, struct err *err)
{
	char *conninfo, *where;
	int rc;

	if (target->database) {
		where = conninfo_shown(target->database);
		rc = db_connect(target->database, attrs, where, ret, err);
		free(where);
		return rc;
	}
	rc = db_cluster_ensure(target->state, &target->cluster, err);
	if (rc < 0)
		return rc;
	conninfo = db_private_conninfo(target->state);
	where = xasprintf("private cluster %s/pg", target->state);
	rc = db_connect(conninfo, NULL, where, ret, err);
	free(conninfo);
	free(where);
	return rc;
}

int db_open(const struct db_target *target, struct db **ret, struct err *err)
{
	struct db *db;
	int rc, pending;

	rc = db_open_raw(target, &db, err);
	if (rc < 0)
		return rc;
	rc = db_migrate_pending(db, &pending, err);
	if (rc == 0 && pending && !target->database) {
		/* the private cluster is ours to bring up to date (under a
		 * lock: the check above is only to spare every command it) */
		rc = db_migrate(db, NULL, err);
	} else if (rc == 0 && pending) {
		rc = err_set(err, ERR_FAIL,
			     "database %s: %d migration(s) pending: run 'hangar db migrate'",
			     db->where, pending);
	}
	if (rc < 0) {
		db_close(db);
		return rc;
	}
	*ret = db;
	return 0;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	strmap_clear(&db->prepared);
	PQfinish(db->conn);
	free(db->where);
	free(db);
}

static PGresult *db_query_plain(struct db *db, struct err *err,
				const char *sql, int n,
				const char *const *params)
{
	PGresult *res = PQexecParams(db->conn, sql, n, NULL, params, NULL, NULL,
				     0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	db_err_from_pg(db, res, err, sql);
	PQclear(res);
	return NULL;
}

/* Only what the extended protocol prepares as one plannable statement:
 * not SET, LISTEN, BEGIN and the like, whose text may vary. */
static int db_preparable(const char *sql)
{
	static const char *const verbs[] = { "SELECT", "WITH", "INSERT",
					     "UPDATE", "DELETE", "VALUES" };

	sql += strspn(sql, " \t\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		size_t len = strlen(verbs[i]);

		if (!strncasecmp(sql, verbs[i], len) &&
		    !isalnum((unsigned char)sql[len]))
			return 1;
	}
	return 0;
}

/* The server lost a prepared statement (26000), or a table under one
 * changed its columns (0A000, "cached plan must not change result
 * type"): prepared again, it works. */
static int db_prepared_stale(PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return state && (!strcmp(state, "26000") || !strcmp(state, "0A000"));
}

/* The number of sql's prepared statement on this session, preparing it
 * if it is new; -1 when it cannot be (then run it unprepared). */
static long db_prepare(struct db *db, const char *sql, int n,
		       struct err *err, int *failed)
{
	long id = strmap_get(&db->prepared, sql);
	char name[32];
	PGresult *res;

	*failed = 0;
	if (id >= 0)
		return id;
	if (db->prepared.n >= DB_PREPARED_MAX)
		return -1;
	id = (long)db->prepared.n;
	snprintf(name, sizeof(name), "hangar_%ld", id);
	res = PQprepare(db->conn, name, sql, n, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		/* a broken statement is an error of the statement itself */
		db_err_from_pg(db, res, err, sql);
		PQclear(res);
		*failed = 1;
		return -1;
	}
	PQclear(res);
	strmap_put(&db->prepared, sql, id);
	return id;
}

PGresult *db_query_prep(struct db *db, struct err *err, const char *sql, int n,
			const char *const *params)
{
	for (int again = 0;; again++) {
		char name[32];
		int failed;
		long id = db_prepare(db, sql, n, err, &failed);
		PGresult *res;
		ExecStatusType st;

		if (failed)
			return NULL;
		if (id < 0)
			return db_query_plain(db, err, sql, n, params);
		snprintf(name, sizeof(name), "hangar_%ld", id);
		res = PQexecPrepared(db->conn, name, n, params, NULL, NULL, 0);
		st = PQresultStatus(res);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
			return res;
		/* outside a transaction only: inside, the error aborted it */
		if (!again && db_prepared_stale(res) && db_idle(db)) {
			PQclear(res);
			PQclear(PQexec(db->conn, "DEALLOCATE ALL"));
			strmap_clear(&db->prepared);
			continue;
		}
		db_err_from_pg(db, res, err, sql);
		PQclear(res);
		return NULL;
	}
}

void db_batch_init(struct db_batch *b, struct db *db)
{
	memset(b, 0, sizeof(*b));
	b->db = db;
}

int db_batch_add(struct db_batch *b, const char *sql, int n,
		 const char *const *params)
{
	struct db_batch_stmt *s;

	if (b->n >= DB_BATCH_MAX)
		BUG("a batch of more than %d statements", DB_BATCH_MAX);
	s = &b->stmt[b->n];
	s->sql = sql;
	s->nparams = n;
	s->plain = 0;
	s->params = n ? xcalloc((size_t)n, sizeof(*s->params)) : NULL;
	for (int i = 0; i < n; i++)
		s->params[i] = xstrdup_or_null(params[i]);
	return b->n++;
}

int db_batch_add_plain(struct db_batch *b, const char *sql, int n,
		       const char *const *params)
{
	int i = db_batch_add(b, sql, n, params);

	b->stmt[i].plain = 1;
	return i;
}

static const char db_begin_read_sql[] =
	"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
static const char db_generic_sql[] =
	"SET LOCAL plan_cache_mode = force_generic_plan";

void db_batch_begin_read(struct db_batch *b, int generic)
{
	db_batch_add(b, db_begin_read_sql, 0, NULL);
	if (generic)
		db_batch_add(b, db_generic_sql, 0, NULL);
}

/* The next command's result in a pipeline, whatever else it gave
 * dropped; NULL when none came (the connection failed). */
static PGresult *db_batch_take(PGconn *conn)
{
	PGresult *res = PQgetResult(conn), *more;

	if (!res)
		return NULL;
	while ((more = PQgetResult(conn)))
		PQclear(more);
	return res;
}

/* Whether a pipeline's answer is a success (else the first failure, or
 * one skipped after it: PGRES_PIPELINE_ABORTED). */
static int db_batch_ok(PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

/*
 * Sends the batch in one pipeline and reads every answer. A statement new
 * to the session is prepared in the same pipeline, just before it runs
 * (the first of the same text, once). The server skips what follows a
 * failure, so the statements it prepared are the first ones: those are
 * remembered, numbered in order as db_prepare numbers them. *stale: it
 * met a statement the server lost.
 */
static int db_batch_once(struct db_batch *b, struct err *err, int *stale)
{
	struct db *db = b->db;
	PGconn *conn = db->conn;
	long id[DB_BATCH_MAX], next = (long)db->prepared.n;
	int fresh[DB_BATCH_MAX], sent = 0, prepared_ok = 1, rc = 0;
	PGresult *res;

	*stale = 0;
	if (!PQenterPipelineMode(conn))
		return err_set(err, ERR_DB, "database: pipeline: %.*s",
			       (int)strcspn(PQerrorMessage(conn), "\n"),
			       PQerrorMessage(conn));
	for (int i = 0; i < b->n; i++) {
		const struct db_batch_stmt *s = &b->stmt[i];
		const char *const *params = (const char *const *)s->params;
		char name[32];
		int ok = 1;

		fresh[i] = 0;
		id[i] = !s->plain && db_preparable(s->sql)
			? strmap_get(&db->prepared, s->sql) : -2;
		for (int k = 0; k < i && id[i] == -1; k++)
			if (fresh[k] && !strcmp(b->stmt[k].sql, s->sql))
				id[i] = id[k];
		if (id[i] == -1 && next < DB_PREPARED_MAX) {
			id[i] = next++;
			fresh[i] = 1;
		}
		snprintf(name, sizeof(name), "hangar_%ld", id[i]);
		if (fresh[i])
			ok = PQsendPrepare(conn, name, s->sql, s->nparams, NULL);
		if (ok && id[i] >= 0)
			ok = PQsendQueryPrepared(conn, name, s->nparams, params,
						 NULL, NULL, 0);
		else if (ok)
			ok = PQsendQueryParams(conn, s->sql, s->nparams, NULL,
					       params, NULL, NULL, 0);
		if (!ok)
			break;
		sent = i + 1;
	}
	/* a send fails only on a connection gone */
	if (sent < b->n || !PQpipelineSync(conn))
		goto lost;
	for (int i = 0; i < sent; i++) {
		const char *sql = b->stmt[i].sql;

		if (fresh[i]) {
			if (!(res = db_batch_take(conn)))
				goto lost;
			if (!db_batch_ok(res)) {
				/* a broken statement: an error of its own */
				if (!rc && PQresultStatus(res) != PGRES_PIPELINE_ABORTED)
					rc = db_err_from_pg(db, res, err, sql);
				prepared_ok = 0;
			} else if (prepared_ok) {
				strmap_put(&db->prepared, sql, id[i]);
			}
			PQclear(res);
		}
		if (!(res = db_batch_take(conn)))
			goto lost;
		if (db_batch_ok(res)) {
			b->res[i] = res;
			continue;
		}
		prepared_ok = 0;
		if (!rc && PQresultStatus(res) != PGRES_PIPELINE_ABORTED) {
			*stale = db_prepared_stale(res);
			rc = db_err_from_pg(db, res, err, sql);
		}
		PQclear(res);
	}
	/* the end of the pipeline: its Sync */
	res = PQgetResult(conn);
	if (!res || PQresultStatus(res) != PGRES_PIPELINE_SYNC) {
		PQclear(res);
		goto lost;
	}
	PQclear(res);
	PQexitPipelineMode(conn);
	return rc;
lost:
	if (!rc)
		rc = err_set(err, ERR_DB, "database: pipeline: %.*s",
			     (int)strcspn(PQerrorMessage(conn), "\n"),
			     PQerrorMessage(conn));
	PQexitPipelineMode(conn);
	return rc;
}

int db_batch_run(struct db_batch *b, struct err *err)
{
	for (int again = 0;; again++) {
		int idle = db_idle(b->db), stale, rc;

		rc = db_batch_once(b, err, &stale);
		if (rc == 0 || again || !stale || !idle)
			return rc;
		/* lost outside a transaction: all of it again, the
		 * transaction it began (if it did) undone first */
		for (int i = 0; i < b->n; i++) {
			PQclear(b->res[i]);
			b->res[i] = NULL;
		}
		if (!db_idle(b->db))
			db_rollback(b->db);
		PQclear(PQexec(b->db->conn, "DEALLOCATE ALL"));
		strmap_clear(&b->db->prepared);
		err_clear(err);
	}
}

void db_batch_release(struct db_batch *b)
{
	for (int i = 0; i < b->n; i++) {
		for (int k = 0; k < b->stmt[i].nparams; k++)
			free(b->stmt[i].params[k]);
		free(b->stmt[i].params);
		PQclear(b->res[i]);
	}
	b->n = 0;
}

void db_set_prepare(struct db *db, int on)
{
	db->prepare_all = on;
}

size_t db_prepared_count(const struct db *db)
{
	return db->prepared.n;
}

PGresult *db_query(struct db *db, struct err *err, const char *sql, int n,
		   const char *const *params)
{
	if (db->prepare_all && db_preparable(sql))
		return db_query_prep(db, err, sql, n, params);
	return db_query_plain(db, err, sql, n, params);
}

int db_exec(struct db *db, struct err *err, const char *sql, int n,
	    const char *const *params)
{
	PGresult *res = db_query(db, err, sql, n, params);

	if (!res)
		return err->code;
	PQclear(res);
	return 0;
}

long db_affected(PGresult *res)
{
	const char *n = PQcmdTuples(res);

	return n && *n ? strtol(n, NULL, 10) : 0;
}

/* The result of a COPY once its data ended; 0 or err set. */
static int db_copy_end(struct db *db, const char *sql, struct err *err)
{
	PGresult *res;
	int rc = 0;

	while ((res = PQgetResult(db->conn))) {
		if (!rc && PQresultStatus(res) != PGRES_COMMAND_OK)
			rc = db_err_from_pg(db, res, err, sql);
		PQclear(res);
	}
	return rc;
}

int db_copy_between(struct db *from, const char *copy_out, struct db *to,
		    const char *copy_in, long *rows, struct err *err)
{
	PGresult *res;
	char *line = NULL;
	int n, rc = 0;

	*rows = 0;
	res = PQexec(from->conn, copy_out);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		rc = db_err_from_pg(from, res, err, copy_out);
		PQclear(res);
		db_copy_end(from, copy_out, err);
		return rc;
	}
	PQclear(res);
	res = PQexec(to->conn, copy_in);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		rc = db_err_from_pg(to, res, err, copy_in);
		PQclear(res);
		/* drain the source so that its connection can be used again */
		while ((n = PQgetCopyData(from->conn, &line, 0)) > 0)
			PQfreemem(line);
		db_copy_end(from, copy_out, err);
		db_copy_end(to, copy_in, err);
		return rc;
	}
	PQclear(res);
	/* one row at a time; libpq buffers the sends */
	while ((n = PQgetCopyData(from->conn, &line, 0)) > 0) {
		if (!rc && PQputCopyData(to->conn, line, n) != 1)
			rc = err_set(err, ERR_DB, "database: COPY: %s",
				     PQerrorMessage(to->conn));
		PQfreemem(line);
		if (!rc)
			(*rows)++;
	}
	if (n == -2 && !rc)
		rc = err_set(err, ERR_DB, "database: COPY: %s",
			     PQerrorMessage(from->conn));
	if (db_copy_end(from, copy_out, err) < 0 && !rc)
		rc = err->code;
	if (PQputCopyEnd(to->conn, rc ? "the source failed" : NULL) != 1 && !rc)
		rc = err_set(err, ERR_DB, "database: COPY: %s",
			     PQerrorMessage(to->conn));
	if (rc) {
		struct err ignored = ERR_INIT;

		db_copy_end(to, copy_in, &ignored);
		return rc;
	}
	return db_copy_end(to, copy_in, err);
}

int db_begin(struct db *db, struct err *err)
{
	return db_exec(db, err, "BEGIN", 0, NULL);
}

int db_commit(struct db *db, struct err *err)
{
	return db_exec(db, err, "COMMIT", 0, NULL);
}

void db_rollback(struct db *db)
{
	PQclear(PQexec(db->conn, "ROLLBACK"));
}

static char db_actor_name[128];
/* a web request acts for its own user, in the thread serving it */
static _Thread_local char db_thread_actor[128];

void db_set_actor(const char *actor)
{
	snprintf(db_actor_name, sizeof(db_actor_name), "%s", actor);
}

void db_set_thread_actor(const char *actor)
{
	snprintf(db_thread_actor, sizeof(db_thread_actor), "%s", actor ? actor : "");
}

const char *db_actor(void)
{
	char *actor = db_actor_name;

	if (db_thread_actor[0])
		return db_thread_actor;
	if (!actor[0]) {
		struct passwd *pw = getpwuid(getuid());

		snprintf(actor, sizeof(db_actor_name), "%s@cli",
			 pw ? pw->pw_name : "unknown");
	}
	return actor;
}

int db_event(struct db *db, const struct db_event *e, struct err *err)
{
	char fl[32], *detail = NULL;
	int rc;

	snprintf(fl, sizeof(fl), "%ld", e->flight);
	if (e->detail && !(detail = json_dumps(e->detail, JSON_COMPACT)))
		return err_set(err, ERR_FAIL, "event %s: detail not JSON", e->kind);
	rc = db_exec(db, err,
		     "INSERT INTO events (actor, kind, flight, job, host, branch, detail) "
		     "VALUES ($1, $2, nullif($3, '0')::bigint, $4, $5, $6, "
		     "coalesce($7::jsonb, '{}'))",
		     7, (const char *[]){ e->actor ? e->actor : db_actor(), e->kind,
					  fl, e->job, e->host, e->branch, detail });
	free(detail);
	return rc;
}

void db_detail_set(json_t *detail, const char *key, const char *value)
{
	json_t *s;

	if (!value)
		return;
	s = json_string(value);
	json_object_set_new(detail, key, s ? s : json_string("(not UTF-8)"));
}

int db_listen(struct db *db, const char *channel, struct err *err)
{
	char *sql = xasprintf("LISTEN %s", channel);
	int rc = db_exec(db, err, sql, 0, NULL);

	free(sql);
	return rc;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int db_wait_notify_each(struct db *db, int timeout_ms,
			void (*each)(const char *channel, const char *payload,
				     void *arg),
			void *arg, struct err *err)
{
	int64_t deadline = monotonic_ms() + timeout_ms;

	for (;;) {
		PGnotify *n;
		struct pollfd pfd[2];
		int got = 0, rc, left;

		if (!PQconsumeInput(db->conn))
			return err_set(err, ERR_DB, "database connection: %s",
				       PQerrorMessage(db->conn));
		/* our own writes do not wake us: we knew of them */
		while ((n = PQnotifies(db->conn))) {
			if (n->be_pid != PQbackendPID(db->conn)) {
				got = 1;
				if (each)
					each(n->relname, n->extra, arg);
			}
			PQfreemem(n);
		}
		left = (int)(deadline - monotonic_ms());
		if (got || left <= 0)
			return got;
		pfd[0] = (struct pollfd){ PQsocket(db->conn), POLLIN, 0 };
		pfd[1] = (struct pollfd){ proc_wake_fd(), POLLIN, 0 };
		rc = poll(pfd, 2, left);
		if (rc < 0 && errno == EINTR)
			return 0;   /* a signal: let the caller look */
		if (rc < 0)
			return err_errno(err, ERR_FAIL, "poll");
		if (pfd[1].revents) {
			/* a signal before the poll (or one another thread
			 * took: the caller looks either way) */
			proc_wake_take();
			return 0;
		}
	}
}

int db_wait_notify(struct db *db, int timeout_ms, struct err *err)
{
	return db_wait_notify_each(db, timeout_ms, NULL, NULL, err);
}

int db_connection_ok(struct db *db)
{
	/*
	 * A server that went away (a restart) leaves the status OK until the
	 * socket is read: read what is there, its farewell and then its end
	 * (notifications wait in libpq for PQnotifies).
	 */
	for (int i = 0; i < 4 && PQstatus(db->conn) == CONNECTION_OK; i++) {
		struct pollfd pfd = { PQsocket(db->conn), POLLIN, 0 };

		if (poll(&pfd, 1, 0) <= 0 || !PQconsumeInput(db->conn))
			break;
	}
	/* a batch that could not leave pipeline mode left a session no
	 * plain statement can use: reconnect as if it were lost */
	return PQstatus(db->conn) == CONNECTION_OK &&
	       PQpipelineStatus(db->conn) == PQ_PIPELINE_OFF;
}

int db_idle(struct db *db)
{
	return PQtransactionStatus(db->conn) == PQTRANS_IDLE;
}

int db_reconnect(struct db *db, struct err *err)
{
	/* a new session: it has none of the old one's statements */
	strmap_clear(&db->prepared);
	PQreset(db->conn);
	if (PQstatus(db->conn) != CONNECTION_OK)
		return err_set(err, ERR_DB, "cannot reconnect to %s: %.*s",
			       db->where,
			       (int)strcspn(PQerrorMessage(db->conn), "\n"),
			       PQerrorMessage(db->conn));
	return 0;   /* with the settings of its startup packet */
}

/*
 * Counts a session back (db_reconnects, for GET /metrics) under the
 * daemon's name. Best effort: a database not migrated yet, or a standby
 * (a private cluster may be one), has nowhere to write it, and the
 * daemon carries on all the same.
 */
static void db_keep_count(struct db *db)
{
	struct err err = ERR_INIT;

	db_exec(db, &err,
		"INSERT INTO db_reconnects (daemon, count, last_at) "
		"VALUES ($1, 1, now()) ON CONFLICT (daemon) DO UPDATE "
		"SET count = db_reconnects.count + 1, last_at = now()",
		1, (const char *[]){ log_name() });
}

#define KEEP_MIN_MS 1000
#define KEEP_MAX_MS 30000

enum db_keep_state db_keep(struct db *db, struct db_keep *k, struct err *err)
{
	long long now = proc_now_ms();

	if (!k->down && db_connection_ok(db))
		return DB_KEEP_UP;
	if (!k->down) {
		/*
		 * Lost, even if a reconnect would succeed at once (a quick
		 * restart, a standby promoted before we looked): the session
		 * took its locks, LISTENs and prepared statements along, and
		 * the daemon must hear so (DB_KEEP_LOST) to drop what it
		 * built on them; the next call reconnects without waiting.
		 */
		err_set(err, ERR_DB, "%.*s",
			(int)strcspn(PQerrorMessage(db->conn), "\n"),
			*PQerrorMessage(db->conn) ? PQerrorMessage(db->conn)
						  : "connection lost");
		k->down = 1;
		k->backoff_ms = 0;
		k->retry_ms = now;
		return DB_KEEP_LOST;
	}
	if (now < k->retry_ms)
		return DB_KEEP_DOWN;
	if (db_reconnect(db, err) == 0) {
		for (const char *const *c = k->channels; c && *c; c++)
			if (db_listen(db, *c, err) < 0)
				goto failed;
		k->down = 0;
		k->backoff_ms = 0;
		db_keep_count(db);
		return DB_KEEP_BACK;
	}
failed:
	k->down = 1;
	k->backoff_ms = k->backoff_ms ? k->backoff_ms * 2 : KEEP_MIN_MS;
	if (k->backoff_ms > (k->max_backoff_ms ? k->max_backoff_ms : KEEP_MAX_MS))
		k->backoff_ms = k->max_backoff_ms ? k->max_backoff_ms : KEEP_MAX_MS;
	/* daemons that lost it together do not all come back at once */
	k->retry_ms = now + k->backoff_ms + rand() % (k->backoff_ms / 4 + 1);
	return DB_KEEP_DOWN;
}

enum db_keep_state db_keep_log(enum db_keep_state st, const struct err *err)
{
	if (st == DB_KEEP_LOST)
		log_warnx("lost the database (%s): waiting for it", err->msg);
	else if (st == DB_KEEP_BACK)
		log_info("the database is back");
	return st;
}

int db_keep_wait_ms(const struct db_keep *k)
{
	long long left = k->down ? k->retry_ms - proc_now_ms() : 0;

	return left > 0 ? (int)left : 0;
}

char *db_dup(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL
					  : xstrdup(PQgetvalue(res, row, col));
}

const char *db_str(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

long db_long(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col)
		       ? 0
		       : strtol(PQgetvalue(res, row, col), NULL, 10);
}

/* A PostgreSQL text[] literal: {"a","b"} with " and \ escaped. */
void db_array_add(struct buf *b, const char *v)
{
	buf_addch(b, b->len ? ',' : '{');
	if (!v) {
		buf_addstr(b, "NULL");
		return;
	}
	buf_addch(b, '"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			buf_addch(b, '\\');
		buf_addch(b, *v);
	}
	buf_addch(b, '"');
}

void db_array_end(struct buf *b)
{
	if (!b->len)
		buf_addch(b, '{');
	buf_addch(b, '}');
}

char *db_array(const struct vec *v)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < v->n; i++)
		db_array_add(&b, v->v[i]);
	db_array_end(&b);
	return buf_detach(&b);
}

int db_query_json(struct db *db, struct err *err, const char *what,
		  json_t **ret, const char *sql, int n, const char *const *params)
{
	PGresult *res = db_query(db, err, sql, n, params);

	if (!res)
		return err->code;
	*ret = PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL)
				   : NULL;
	PQclear(res);
	return *ret ? 0 : err_set(err, ERR_DB, "%s: bad JSON from the database", what);
}

PGresult *db_query_one(struct db *db, struct err *err, const char *what,
		       const char *sql, int n, const char *const *params)
{
	PGresult *res = db_query(db, err, sql, n, params);

	if (res && PQntuples(res) != 1) {
		PQclear(res);
		err_set(err, ERR_NOTFOUND, "no %s", what);
		return NULL;
	}
	return res;
}
