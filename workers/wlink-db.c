/*
 * wlink-db.c: the link of a worker beside the database (see wlink.h): one
 * connection per thread, kept across outages with db_keep, and the
 * db_worker_* calls. Logs and artifacts are written straight into the
 * shared STATE, so there is nothing to ship; the trees come from the
 * local git cache.
 */
#include <stdio.h>
#include <stdlib.h>

#include "artifact.h"
#include "db-host.h"
#include "db-hostkey.h"
#include "fsutil.h"
#include "gitx.h"
#include "job-run.h"
#include "log.h"
#include "version.h"
#include "wlink.h"
#include "xalloc.h"
#include "banned.h"

struct wlink_db {
	struct wlink l;
	const struct worker_conf *conf;
	struct db *db;
	struct db_keep keep;
	int waits;
};

static const char *const work_channels[] = { "hangar_work", NULL };

#define LDB(l) ((struct wlink_db *)(l))

static int ldb_ok(struct wlink *l)
{
	return db_connection_ok(LDB(l)->db);
}

static enum wlink_state ldb_keep(struct wlink *l, struct err *err)
{
	switch (db_keep(LDB(l)->db, &LDB(l)->keep, err)) {
	case DB_KEEP_UP: return WLINK_UP;
	case DB_KEEP_LOST: return WLINK_LOST;
	case DB_KEEP_DOWN: return WLINK_DOWN;
	case DB_KEEP_BACK: return WLINK_BACK;
	}
	return WLINK_DOWN;
}

static int ldb_down(struct wlink *l)
{
	return LDB(l)->keep.down;
}

static int ldb_wait_ms(struct wlink *l)
{
	return db_keep_wait_ms(&LDB(l)->keep);
}

static void ldb_log_state(struct wlink *l, enum wlink_state st,
			  const struct err *err)
{
	static const enum db_keep_state map[] = {
		[WLINK_UP] = DB_KEEP_UP, [WLINK_LOST] = DB_KEEP_LOST,
		[WLINK_DOWN] = DB_KEEP_DOWN, [WLINK_BACK] = DB_KEEP_BACK,
	};

	(void)l;
	db_keep_log(map[st], err);
}

static int ldb_claim(struct wlink *l, int health, struct wjob *j,
		     struct err *err)
{
	const struct worker_conf *c = LDB(l)->conf;
	int rc = db_worker_claim(LDB(l)->db, c->owner, c->lease, c->site,
				 HANGAR_VERSION, j, err);

	if (rc == 0 && health)
		rc = db_worker_claim_health(LDB(l)->db, c->owner, c->lease,
					    c->site, c->health_check,
					    c->health_interval, HANGAR_VERSION,
					    j, err);
	return rc;
}

static int ldb_wait_work(struct wlink *l, int ms, struct err *err)
{
	return db_wait_notify(LDB(l)->db, ms, err);
}

static int ldb_heartbeat(struct wlink *l, const long *flights,
			 const char *const *jobs, const int *attempts, size_t n,
			 struct vec *held, struct vec *cancelled,
			 struct err *err)
{
	const struct worker_conf *c = LDB(l)->conf;

	(void)attempts;   /* one owner per worker process: its jobs are its */
	return db_worker_heartbeat(LDB(l)->db, c->owner, c->lease, flights,
				   jobs, n, held, cancelled, err);
}

static int ldb_holds(struct wlink *l, const struct wjob *j, struct err *err)
{
	const struct worker_conf *c = LDB(l)->conf;

	return db_worker_holds(LDB(l)->db, j, c->owner, c->lease, err);
}

static int ldb_record(struct wlink *l, const struct wjob *j,
		      const struct wrec *r, double at, struct err *err)
{
	struct db *db = LDB(l)->db;
	const char *owner = LDB(l)->conf->owner;

	switch (r->type) {
	case WREC_STEP_BEGIN:
		return db_worker_step_begin(db, j, owner, r->step, r->kind, r->name,
					    at, err);
	case WREC_STEP_END:
		return db_worker_step_end(db, j, owner, r->step, r->status,
					  r->detail, at, err);
	case WREC_RUNVAR:
		return db_worker_runvar_set(db, j, r->name, r->value, err);
	case WREC_ARTIFACT:
		return db_worker_artifact_add(db, j, r->path, r->sha256, r->size,
					      err);
	case WREC_POWER: {
		struct db_host_power p = { r->action, r->state, r->attempts, r->ms,
					   r->detail };
		struct err failure = { ERR_FAIL, "" };

		if (r->error)
			snprintf(failure.msg, sizeof(failure.msg), "%s", r->error);
		return db_host_power_record(db, r->host, &p,
					    r->error ? &failure : NULL,
					    j->flight, j->job, err);
	}
	case WREC_HOST_BROKEN:
		return db_worker_host_broken(db, r->host, r->reason, j, err);
	case WREC_HOST_HEALTHY:
		return db_worker_host_healthy(db, r->host, j, err);
	case WREC_FIRMWARE:
		return db_worker_firmware(db, j, r->host, r->value, err);
	case WREC_CASES:
		return db_worker_cases_add(db, j, owner, r->name, r->step, r->first,
					   &r->names, &r->statuses, &r->details,
					   at, err);
	default:
		break;
	}
	return err_set(err, ERR_FAIL, "a %s record is a call of its own",
		       wrec_type_str(r->type));
}

static int ldb_finish(struct wlink *l, const struct wjob *j,
		      const char *status, const char *reason, int requeue,
		      int lab_retry, struct err *err)
{
	return db_worker_finish(LDB(l)->db, j, LDB(l)->conf->owner, status,
				reason, requeue, lab_retry, err);
}

static int ldb_hostkey_pin(struct wlink *l, const struct wjob *j,
			   const char *host, const char *key, struct err *err)
{
	(void)j;
	return db_hostkey_pin(LDB(l)->db, host, key, err);
}

static int ldb_hostkey_clear(struct wlink *l, const struct wjob *j,
			     const char *host, const char *why, struct err *err)
{
	(void)j;
	return db_hostkey_clear(LDB(l)->db, host, why, err);
}

static int ldb_install_begin(struct wlink *l, const struct wjob *j,
			     const char *host, const char *token,
			     struct err *err)
{
	return db_worker_install_begin(LDB(l)->db, j, host, token, err);
}

static int ldb_install_reported(struct wlink *l, const struct wjob *j,
				const char *token, int *reported,
				struct err *err)
{
	(void)j;
	return db_worker_install_reported(LDB(l)->db, token, reported, err);
}

static int ldb_host_installed(struct wlink *l, const struct wjob *j,
			      const char *host, struct err *err)
{
	(void)j;
	return db_worker_host_installed(LDB(l)->db, host, err);
}

static int ldb_dep_artifacts(struct wlink *l, const struct wjob *j,
			     long flight, const char *job, struct wartifact **a,
			     size_t *n, struct err *err)
{
	(void)j;
	return db_worker_artifacts(LDB(l)->db, flight, job, a, n, err);
}

/* The store is the controller's own: the blob is there or lost. */
static int ldb_blob_fetch(struct wlink *l, const struct wjob *j,
			  const char *sha256, long long size, struct err *err)
{
	char *path = artifact_path(LDB(l)->conf->state, sha256);
	int rc = 0;

	(void)j;
	(void)size;
	if (!fs_exists(path))
		rc = err_set(err, ERR_NOTFOUND, "missing from the store (%s)",
			     path);
	free(path);
	return rc;
}

static int ldb_tree_tar(struct wlink *l, const struct wjob *j,
			const struct wjob_tree *tr, const char *tar_path,
			long *files, struct err *err)
{
	char *cache = xasprintf("%s/git/%s.git", LDB(l)->conf->state, tr->name);
	int rc;

	(void)j;
	rc = gitx_export_tar(cache, tr->url, tr->revision, tar_path, files, err);
	free(cache);
	return rc;
}

static void ldb_job_nothing(struct wlink *l, const struct wjob *j)
{
	(void)l;
	(void)j;
}

static void ldb_free(struct wlink *l)
{
	db_close(LDB(l)->db);
	free(l);
}

static const struct wlink_ops wlink_db_ops = {
	.ok = ldb_ok,
	.keep = ldb_keep,
	.down = ldb_down,
	.wait_ms = ldb_wait_ms,
	.log_state = ldb_log_state,
	.claim = ldb_claim,
	.wait_work = ldb_wait_work,
	.heartbeat = ldb_heartbeat,
	.holds = ldb_holds,
	.record = ldb_record,
	.finish = ldb_finish,
	.hostkey_pin = ldb_hostkey_pin,
	.hostkey_clear = ldb_hostkey_clear,
	.install_begin = ldb_install_begin,
	.install_reported = ldb_install_reported,
	.host_installed = ldb_host_installed,
	.dep_artifacts = ldb_dep_artifacts,
	.blob_fetch = ldb_blob_fetch,
	.tree_tar = ldb_tree_tar,
	.job_begin = ldb_job_nothing,
	.job_end = ldb_job_nothing,
	.free = ldb_free,
};

/* After an outage a worker must be back within its lease (counted from
 * the database's start, db_sched_reclaim): it tries at least 4 times. */
static int keep_max_backoff(const struct worker_conf *c)
{
	long ms = c->lease * 1000 / 4;

	return ms < 30000 ? (int)ms : 30000;
}

int wlink_db_open(const struct worker_conf *conf, int waits,
		  struct wlink **ret, struct err *err)
{
	struct wlink_db *d;
	struct db *db;

	if (db_open(&conf->target, &db, err) < 0)
		return -1;
	if (waits && db_listen(db, "hangar_work", err) < 0) {
		db_close(db);
		return -1;
	}
	d = xcalloc(1, sizeof(*d));
	d->l.ops = &wlink_db_ops;
	d->l.peer = "the database";
	d->l.lease = conf->lease;
	d->l.heartbeat = conf->heartbeat;
	d->conf = conf;
	d->db = db;
	d->waits = waits;
	d->keep.channels = waits ? work_channels : NULL;
	d->keep.max_backoff_ms = keep_max_backoff(conf);
	*ret = &d->l;
	return 0;
}

/* Idle slots sleep in LISTEN: a notification from another session wakes
 * them at once to see that the worker stops (others' wake and go back). */
void wlink_db_wake_all(const struct worker_conf *conf)
{
	struct err err = ERR_INIT;
	struct db *db;

	if (db_open(&conf->target, &db, &err) < 0)
		return;   /* they notice within their idle wait anyway */
	db_worker_notify_stopping(db, &err);
	db_close(db);
}
