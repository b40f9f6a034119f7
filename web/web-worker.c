/*
 * web-worker.c: the controller's side of the worker protocol (docs/api.md
 * section 7), the routes under /api/v1/worker/: a remote site's worker
 * claims its site's jobs, renews their leases, records their steps and
 * ships their logs and artifacts, with a worker token bound to its site.
 *
 * Every route that names a job checks it on the controller: a job whose
 * hosts are not all of the token's site does not exist (404); a write
 * needs the running job held by SITE/WORKER at the attempt given, under
 * the job row's lock, so that recovery cannot take it midway. A write
 * that fails that check (the lease ran out and recovery took the job, a
 * late message of an earlier attempt) is kept as evidence (late_records,
 * a late-A/ log directory) and changes nothing else: 409 "lease lost".
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "artifact.h"
#include "db-host.h"
#include "db-hostkey.h"
#include "db-worker.h"
#include "fsutil.h"
#include "gitx.h"
#include "log.h"
#include "runvar.h"
#include "strnum.h"
#include "web.h"
#include "web-internal.h"
#include "wire.h"
#include "xalloc.h"
#include "banned.h"

#define WORKER_WAIT_MAX 60        /* seconds a claim may wait */
#define WORKER_LOG_MAX (1 << 20)  /* bytes of one log chunk */

/* ---- what every route shares ---- */

static enum MHD_Result bad_request(struct web_req *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static enum MHD_Result bad_request(struct web_req *r, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return web_error(r, MHD_HTTP_BAD_REQUEST, "bad request", why);
}

static enum MHD_Result lease_lost(struct web_req *r)
{
	return web_error(r, MHD_HTTP_CONFLICT, "conflict", "lease lost");
}

/* A worker's name: [A-Za-z0-9._-]{1,63}. */
static int worker_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n >= 1 && n <= 63 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-") == n;
}

/* The lease owner of a remote worker's jobs: SITE/WORKER, the site the
 * token's, never the request's (caller frees). */
static char *worker_owner(struct web_req *r, const char *name)
{
	return xasprintf("%s/%s", r->site, name);
}

/* The JSON object body; NULL after answering 400. */
static json_t *worker_body(struct web_req *r, enum MHD_Result *ret)
{
	json_error_t e;
	json_t *o = r->body ? json_loadb(r->body, r->body_len, 0, &e) : NULL;

	if (!json_is_object(o)) {
		json_decref(o);
		*ret = bad_request(r, "the body is not a JSON object%s%s",
				   r->body ? ": " : "", r->body ? e.text : "");
		return NULL;
	}
	return o;
}

/* The body's "worker", checked; NULL after answering 400. */
static const char *body_worker(struct web_req *r, json_t *o,
			       enum MHD_Result *ret)
{
	const char *w = json_string_value(json_object_get(o, "worker"));

	if (!worker_name_ok(w)) {
		*ret = bad_request(r, "\"worker\": a name of 1 to 63 letters, "
				   "digits, '.', '_' or '-'");
		return NULL;
	}
	return w;
}

static int body_int(json_t *o, const char *key, long long lo, long long hi,
		    long long def, long long *out)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		*out = def;
		return def >= lo ? 0 : -1;
	}
	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return *out >= lo && *out <= hi ? 0 : -1;
}

static int body_bool(json_t *o, const char *key, int *out)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v)) {
		*out = 0;
		return 0;
	}
	if (!json_is_boolean(v))
		return -1;
	*out = json_is_true(v);
	return 0;
}

/* A query argument as a number in [lo, hi]; -1 when absent or bad. */
static int query_long(struct web_req *r, const char *name, long lo, long hi,
		      long *out)
{
	const char *v = web_query(r, name);

	return v && strnum_long(v, lo, hi, out) == 0 ? 0 : -1;
}

/* The job F/J of the URL (args 0, 1) in j (flight, job; attempt 0): it
 * must be of the token's site. 0, or -1 after answering. */
static int worker_job(struct web_req *r, struct wjob *j, enum MHD_Result *ret)
{
	struct err err = ERR_INIT;
	int rc;

	memset(j, 0, sizeof(*j));
	j->flight = web_arg_flight(r, 0);
	j->job = r->args[1];
	if (!j->flight) {
		*ret = web_not_found(r, r->url);
		return -1;
	}
	rc = db_worker_job_of_site(r->db, j->flight, j->job, r->site, &err);
	if (rc < 0) {
		*ret = web_db_error(r, &err);
		return -1;
	}
	if (rc == 0) {
		/* another site's job is one that does not exist */
		char what[320];

		snprintf(what, sizeof(what), "no job %ld.%s", j->flight, j->job);
		*ret = web_error(r, MHD_HTTP_NOT_FOUND, "not found", what);
		return -1;
	}
	return 0;
}

/* The client's address, for the workers row (caller frees). */
static char *client_address(struct web_req *r)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char host[NI_MAXHOST];

	if (!ci || !ci->client_addr ||
	    getnameinfo(ci->client_addr,
			ci->client_addr->sa_family == AF_INET6
				? sizeof(struct sockaddr_in6)
				: sizeof(struct sockaddr_in),
			host, sizeof(host), NULL, 0, NI_NUMERICHOST))
		return NULL;
	return xstrdup(host);
}

/* The body's "spool": {"bytes": N, "files": N}, -1 each when absent. */
static void body_spool(json_t *o, long long *bytes, long long *files)
{
	json_t *s = json_object_get(o, "spool");

	if (body_int(s, "bytes", 0, 1LL << 62, -1, bytes) < 0)
		*bytes = -1;
	if (body_int(s, "files", 0, 1LL << 62, -1, files) < 0)
		*files = -1;
}

/* A worker was heard from; a failure is only logged (it is bookkeeping). */
static void worker_seen(struct web_req *r, const char *name, json_t *o,
			int running)
{
	struct err err = ERR_INIT;
	long long bytes, files;
	char *addr = client_address(r);
	const char *version = json_string_value(json_object_get(o, "version"));

	body_spool(o, &bytes, &files);
	if (db_worker_seen(r->db, r->site, name, addr, version, running, bytes,
			   files, &err) < 0)
		log_warnx("site=%s worker=%s: %s", r->site, name, err.msg);
	free(addr);
}

/* How often a worker renews a lease of lease seconds. */
static long lease_beat(long lease)
{
	return lease / 6 > 0 ? lease / 6 : 1;
}

static long site_lease(struct web_req *r)
{
	const struct web_opts *o = web_options();

	return o->lab ? lab_site_lease(o->lab, r->site) : 60;
}

/* ---- claim ---- */

/* The claim's "version" (the worker's `hangar --version`, what runs the
 * job it claims: jobs.harness): absent or null is NULL; 1 to 64 of
 * letters, digits and ._+~:- (git describe's words), else -1. */
static int body_version(json_t *o, const char **out)
{
	json_t *v = json_object_get(o, "version");
	const char *s;
	size_t len;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	s = json_string_value(v);
	if (!s || json_string_length(v) != strlen(s))
		return -1;
	len = strlen(s);
	if (len < 1 || len > 64)
		return -1;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._+~:-", *p))
			return -1;
	*out = s;
	return 0;
}

enum MHD_Result web_worker_claim(struct web_req *r)
{
	const struct web_opts *opts = web_options();
	struct err err = ERR_INIT;
	enum MHD_Result ret;
	unsigned long long gen = web_wake_gen();
	long long wait;
	long lease = site_lease(r), beat;
	const char *name, *version;
	char *owner;
	int health, rc;
	struct wjob j;
	json_t *o;

	if (!(o = worker_body(r, &ret)))
		return ret;
	if (!(name = body_worker(r, o, &ret)))
		goto out;
	if (body_int(o, "wait", 0, WORKER_WAIT_MAX, 0, &wait) < 0 ||
	    body_bool(o, "health_check", &health) < 0) {
		ret = bad_request(r, "\"wait\": 0 to %d seconds; \"health_check\": "
				  "a boolean", WORKER_WAIT_MAX);
		goto out;
	}
	if (body_version(o, &version) < 0) {
		ret = bad_request(r, "\"version\": 1 to 64 letters, digits or "
				  "._+~:-");
		goto out;
	}
	worker_seen(r, name, o, -1);
	owner = worker_owner(r, name);
	rc = db_worker_claim(r->db, owner, lease, r->site, version, &j, &err);
	if (rc == 0 && health && opts->lab)
		rc = db_worker_claim_health(r->db, owner, lease, r->site,
					    opts->lab->worker.health_check,
					    opts->lab->worker.health_check_interval,
					    version, &j, &err);
	free(owner);
	if (rc < 0) {
		ret = web_db_error(r, &err);
		goto out;
	}
	if (rc == 0 && wait > 0 && web_park(r, gen, (long)wait) == 0) {
		/* asked again when work may be claimable, or at the time */
		ret = MHD_YES;
		goto out;
	}
	beat = lease_beat(lease);
	ret = web_json(r, MHD_HTTP_OK,
		       json_pack("{s:o, s:I, s:I}", "job",
				 rc == 1 ? wire_wjob_to_json(&j) : json_null(),
				 "lease", (json_int_t)lease, "heartbeat",
				 (json_int_t)beat));
	if (rc == 1) {
		log_info("site=%s worker=%s: claimed flight=%ld job=%s attempt=%d",
			 r->site, name, j.flight, j.job, j.attempt);
		wjob_release(&j);
	}
out:
	json_decref(o);
	return ret;
}

/* ---- heartbeat ---- */

/* "F.J" (db_worker_renew's) as {"flight", "job"}. */
static json_t *flight_job_json(const char *fj)
{
	const char *dot = strchr(fj, '.');
	long flight = 0;
	char *fl;

	if (!dot)
		return json_null();
	fl = xstrndup(fj, (size_t)(dot - fj));
	strnum_long(fl, 1, 1L << 62, &flight);
	free(fl);
	return json_pack("{s:I, s:s}", "flight", (json_int_t)flight, "job",
			 dot + 1);
}

/*
 * How long a job a worker holds may go unlisted by its complete
 * heartbeats before it is taken for one it does not run: a heartbeat
 * built just before a claim's answer arrived, and sent after it, comes
 * at most one request time limit (the worker's, 20 s) late; two beats
 * more for good measure.
 */
static long unlisted_grace(long lease)
{
	return 2 * lease_beat(lease) + 30;
}

enum MHD_Result web_worker_heartbeat(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct vec held = VEC_INIT, cancelled = VEC_INIT, dropped = VEC_INIT;
	long lease = site_lease(r);
	int complete = 0;
	enum MHD_Result ret;
	const char *name;
	json_t *o, *jobs, *x, *h, *c;
	long *flights = NULL;
	const char **names = NULL;
	int *attempts = NULL;
	char *owner;
	size_t i, n;

	if (!(o = worker_body(r, &ret)))
		return ret;
	if (!(name = body_worker(r, o, &ret)))
		goto out;
	jobs = json_object_get(o, "jobs");
	if (!json_is_array(jobs) || json_array_size(jobs) > 4096) {
		ret = bad_request(r, "\"jobs\": an array of {\"flight\", \"job\", "
				  "\"attempt\"}");
		goto out;
	}
	n = json_array_size(jobs);
	flights = xcalloc(n + 1, sizeof(*flights));
	names = xcalloc(n + 1, sizeof(*names));
	attempts = xcalloc(n + 1, sizeof(*attempts));
	json_array_foreach(jobs, i, x) {
		long long fl, at;

		names[i] = json_string_value(json_object_get(x, "job"));
		if (body_int(x, "flight", 1, 1LL << 62, 0, &fl) < 0 ||
		    body_int(x, "attempt", 0, 0x7fffffff, -1, &at) < 0 ||
		    !names[i] || !*names[i]) {
			ret = bad_request(r, "jobs[%zu]: {\"flight\", \"job\", "
					  "\"attempt\"}", i);
			goto out;
		}
		flights[i] = (long)fl;
		attempts[i] = (int)at;
	}
	if (body_bool(o, "complete", &complete) < 0) {
		ret = bad_request(r, "\"complete\": a boolean");
		goto out;
	}
	owner = worker_owner(r, name);
	if (db_worker_renew(r->db, owner, lease, flights, names, attempts, n,
			    &held, &cancelled, &err) < 0 ||
	    (complete &&
	     db_worker_drop_unlisted(r->db, owner, lease, unlisted_grace(lease),
				     flights, names, n, &dropped, &err) < 0)) {
		free(owner);
		ret = web_db_error(r, &err);
		goto out;
	}
	for (i = 0; i < dropped.n; i++)
		log_warnx("site=%s worker=%s: job %s is not running there: its "
			  "lease ends now, recovery takes it", r->site, name,
			  dropped.v[i]);
	free(owner);
	worker_seen(r, name, o, (int)held.n);
	h = json_array();
	c = json_array();
	for (i = 0; i < held.n; i++)
		json_array_append_new(h, flight_job_json(held.v[i]));
	for (i = 0; i < cancelled.n; i++)
		json_array_append_new(c, flight_job_json(cancelled.v[i]));
	ret = web_json(r, MHD_HTTP_OK,
		       json_pack("{s:o, s:o}", "held", h, "cancelled", c));
out:
	vec_clear(&held);
	vec_clear(&cancelled);
	vec_clear(&dropped);
	free(flights);
	free(names);
	free(attempts);
	json_decref(o);
	return ret;
}

/* ---- records ---- */

/* The body's attempt; -1 after answering 400. */
static int body_attempt(struct web_req *r, json_t *o, int *attempt,
			enum MHD_Result *ret)
{
	long long at;

	if (body_int(o, "attempt", 0, 0x7fffffff, -1, &at) < 0) {
		*ret = bad_request(r, "\"attempt\": the job's attempt, a number");
		return -1;
	}
	*attempt = (int)at;
	return 0;
}

/* The host a record names must be one of the job's. */
static int rec_host_ok(struct web_req *r, const struct wjob *j,
		       const struct wrec *rec, struct err *err)
{
	int rc;

	if (!rec->host)
		return 0;
	rc = db_worker_job_has_host(r->db, j->flight, j->job, rec->host, err);
	if (rc == 0)
		return err_set(err, ERR_USAGE, "host %s is not one of job "
			       "%ld.%s's", rec->host, j->flight, j->job);
	return rc < 0 ? rc : 0;
}

/* Applies one record of the held job j (inside the records' transaction). */
static int rec_apply(struct web_req *r, const struct wjob *j,
		     const char *owner, const struct wrec *rec,
		     struct err *err)
{
	const struct web_opts *opts = web_options();
	int rc = rec_host_ok(r, j, rec, err);

	if (rc < 0)
		return rc;
	switch (rec->type) {
	case WREC_STEP_BEGIN:
		return db_worker_step_begin(r->db, j, owner, rec->step, rec->kind,
					    rec->name, rec->at, err);
	case WREC_STEP_END:
		rc = db_worker_step_end(r->db, j, owner, rec->step, rec->status,
					rec->detail, rec->at, err);
		/* held (checked under the lock): the step never began */
		if (rc == ERR_EXISTS)
			return err_set(err, ERR_USAGE, "step %d was not begun",
				       rec->step);
		return rc;
	case WREC_CASES:
		return db_worker_cases_add(r->db, j, owner, rec->name, rec->step,
					   rec->first, &rec->names,
					   &rec->statuses, &rec->details,
					   rec->at, err);
	case WREC_RUNVAR:
		/* an output of the job, never one of its inputs (what the
		 * configuration, the flight and the scheduler set) */
		if (!runvar_name_valid(rec->name) ||
		    (runvar_reserved(rec->name) &&
		     strncmp(rec->name, "built_revision_", 15) != 0) ||
		    (!strncmp(rec->name, "host", 4) &&
		     strspn(rec->name + 4, "0123456789") == strlen(rec->name + 4)))
			return err_set(err, ERR_USAGE, "runvar %s: not one a job "
				       "may set", rec->name);
		return db_worker_runvar_set(r->db, j, rec->name, rec->value, err);
	case WREC_ARTIFACT: {
		char *path = artifact_path(opts->state, rec->sha256);
		int there = fs_exists(path);

		free(path);
		if (!there)
			return err_set(err, ERR_USAGE, "artifact %s: blob %s is "
				       "not on the controller (PUT it first)",
				       rec->path, rec->sha256);
		return db_worker_artifact_add(r->db, j, rec->path, rec->sha256,
					      rec->size, err);
	}
	case WREC_POWER: {
		struct db_host_power p = { rec->action, rec->state, rec->attempts,
					   rec->ms, rec->detail };
		struct err failure = { ERR_FAIL, "" };

		if (rec->error)
			snprintf(failure.msg, sizeof(failure.msg), "%s",
				 rec->error);
		return db_host_power_record(r->db, rec->host, &p,
					    rec->error ? &failure : NULL,
					    j->flight, j->job, err);
	}
	case WREC_HOST_BROKEN:
		return db_worker_host_broken(r->db, rec->host, rec->reason, j, err);
	case WREC_HOST_HEALTHY:
		return db_worker_host_healthy(r->db, rec->host, j, err);
	case WREC_HOST_INSTALLED:
		return db_worker_host_installed(r->db, rec->host, err);
	case WREC_HOSTKEY_CLEAR:
		return db_hostkey_clear(r->db, rec->host,
					rec->reason ? rec->reason
						    : "reinstalled by host-install",
					err);
	case WREC_INSTALL_BEGIN:
		return db_worker_install_begin(r->db, j, rec->host, rec->token, err);
	case WREC_FIRMWARE:
		return db_worker_firmware(r->db, j, rec->host, rec->value, err);
	}
	return err_set(err, ERR_USAGE, "unknown record type");
}

/* Keeps what a worker sent for a job it no longer holds: each record, as
 * it came, in late_records. */
static int keep_late(struct web_req *r, const struct wjob *j,
		     const char *owner, json_t *recs, struct err *err)
{
	size_t i;
	json_t *x;

	json_array_foreach(recs, i, x) {
		char *text = json_dumps(x, JSON_COMPACT);
		int rc = db_worker_late_add(r->db, j->flight, j->job, j->attempt,
					    owner, text ? text : "null", err);

		free(text);
		if (rc < 0)
			return rc;
	}
	return 0;
}

enum MHD_Result web_worker_records(struct web_req *r)
{
	struct err err = ERR_INIT;
	enum MHD_Result ret;
	struct wjob j;
	struct wrec *recs = NULL;
	const char *name;
	char *owner = NULL;
	json_t *o, *arr, *x;
	size_t i, n = 0;
	int held;

	if (worker_job(r, &j, &ret) < 0)
		return ret;
	if (!(o = worker_body(r, &ret)))
		return ret;
	if (!(name = body_worker(r, o, &ret)) ||
	    body_attempt(r, o, &j.attempt, &ret) < 0)
		goto out;
	arr = json_object_get(o, "records");
	if (!json_is_array(arr)) {
		ret = bad_request(r, "\"records\": an array");
		goto out;
	}
	recs = xcalloc(json_array_size(arr) + 1, sizeof(*recs));
	json_array_foreach(arr, i, x) {
		if (wire_rec_from_json(x, &recs[i], &err) < 0) {
			ret = bad_request(r, "records[%zu]: %s", i, err.msg);
			goto out;
		}
		n = i + 1;
	}
	owner = worker_owner(r, name);
	if (db_begin(r->db, &err) < 0)
		goto db_error;
	held = db_worker_lock_held(r->db, j.flight, j.job, owner, j.attempt,
				   &err);
	if (held < 0)
		goto db_error;
	if (!held) {
		/* evidence only: it changes nothing else */
		db_rollback(r->db);
		if (keep_late(r, &j, owner, arr, &err) < 0)
			goto db_error;
		log_warnx("site=%s worker=%s flight=%ld job=%s attempt=%d: %zu "
			  "record(s) after the lease was lost, kept as evidence",
			  r->site, name, j.flight, j.job, j.attempt, n);
		ret = lease_lost(r);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (rec_apply(r, &j, owner, &recs[i], &err) < 0) {
			db_rollback(r->db);
			if (err.code == ERR_USAGE || err.code == ERR_NOTFOUND)
				ret = bad_request(r, "records[%zu] (%s): %s", i,
						  wrec_type_str(recs[i].type),
						  err.msg);
			else
				ret = web_db_error(r, &err);
			goto out;
		}
	if (db_commit(r->db, &err) < 0)
		goto db_error;
	ret = web_json(r, MHD_HTTP_OK,
		       json_pack("{s:I}", "applied", (json_int_t)n));
	goto out;
db_error:
	db_rollback(r->db);
	ret = web_db_error(r, &err);
out:
	for (i = 0; recs && i < n; i++)
		wrec_release(&recs[i]);
	free(recs);
	free(owner);
	json_decref(o);
	return ret;
}

/* ---- finish ---- */

enum MHD_Result web_worker_finish(struct web_req *r)
{
	static const char *const statuses[] = { "pass", "fail", "broken",
						"cancelled", NULL };
	struct err err = ERR_INIT;
	enum MHD_Result ret;
	struct wjob j;
	const char *name, *status, *reason;
	char *owner = NULL;
	int requeue, lab_retry, known = 0, rc;
	json_t *o;

	if (worker_job(r, &j, &ret) < 0)
		return ret;
	if (!(o = worker_body(r, &ret)))
		return ret;
	if (!(name = body_worker(r, o, &ret)) ||
	    body_attempt(r, o, &j.attempt, &ret) < 0)
		goto out;
	status = json_string_value(json_object_get(o, "status"));
	for (size_t i = 0; status && statuses[i]; i++)
		known |= !strcmp(status, statuses[i]);
	reason = json_string_value(json_object_get(o, "reason"));
	if (!known || body_bool(o, "requeue", &requeue) < 0 ||
	    body_bool(o, "lab_retry", &lab_retry) < 0 ||
	    (json_object_get(o, "reason") && !reason &&
	     !json_is_null(json_object_get(o, "reason")))) {
		ret = bad_request(r, "\"status\": pass, fail, broken or "
				  "cancelled; \"reason\": a string or null; "
				  "\"requeue\", \"lab_retry\": booleans");
		goto out;
	}
	owner = worker_owner(r, name);
	rc = db_worker_finish_attempt(r->db, &j, owner, status, reason, requeue,
				      lab_retry, &err);
	if (rc == ERR_EXISTS) {
		json_t *rec = json_pack("{s:s, s:s, s:s?, s:b, s:b}", "type",
					"finish", "status", status, "reason",
					reason, "requeue", requeue, "lab_retry",
					lab_retry);
		char *text = json_dumps(rec, JSON_COMPACT);

		err_clear(&err);
		rc = db_worker_late_add(r->db, j.flight, j.job, j.attempt, owner,
					text, &err);
		free(text);
		json_decref(rec);
		ret = rc < 0 ? web_db_error(r, &err) : lease_lost(r);
		goto out;
	}
	if (rc < 0) {
		ret = web_db_error(r, &err);
		goto out;
	}
	log_info("site=%s worker=%s: flight=%ld job=%s %s", r->site, name,
		 j.flight, j.job, requeue ? "re-queued" : status);
	ret = web_json(r, MHD_HTTP_OK, json_object());
out:
	free(owner);
	json_decref(o);
	return ret;
}

/* ---- host keys, installations ---- */

enum MHD_Result web_worker_hostkey(struct web_req *r)
{
	struct err err = ERR_INIT;
	enum MHD_Result ret;
	struct wjob j;
	const char *name, *host, *key;
	char *owner = NULL, *pinned = NULL;
	int rc;
	json_t *o;

	if (worker_job(r, &j, &ret) < 0)
		return ret;
	if (!(o = worker_body(r, &ret)))
		return ret;
	if (!(name = body_worker(r, o, &ret)) ||
	    body_attempt(r, o, &j.attempt, &ret) < 0)
		goto out;
	host = json_string_value(json_object_get(o, "host"));
	key = json_string_value(json_object_get(o, "key"));
	if (!host || !key || !*key || strlen(key) > 16384) {
		ret = bad_request(r, "\"host\" and \"key\": strings");
		goto out;
	}
	owner = worker_owner(r, name);
	rc = db_worker_lock_held(r->db, j.flight, j.job, owner, j.attempt, &err);
	if (rc == 0) {
		ret = lease_lost(r);
		goto out;
	}
	if (rc > 0) {
		rc = db_worker_job_has_host(r->db, j.flight, j.job, host, &err);
		if (rc == 0) {
			ret = bad_request(r, "host %s is not one of the job's", host);
			goto out;
		}
	}
	/* a key pinned meanwhile is the answer: the worker compares */
	if (rc > 0 && (rc = db_hostkey_pin(r->db, host, key, &err)) == ERR_HOSTKEY)
		rc = 0;
	if (rc >= 0)
		rc = db_hostkey_get(r->db, host, &pinned, &err);
	if (rc < 0) {
		ret = web_db_error(r, &err);
		goto out;
	}
	ret = web_json(r, MHD_HTTP_OK, json_pack("{s:s?}", "key", pinned));
out:
	free(pinned);
	free(owner);
	json_decref(o);
	return ret;
}

enum MHD_Result web_worker_install(struct web_req *r)
{
	struct err err = ERR_INIT;
	int reported = 0;

	if (!worker_name_ok(web_query(r, "worker")))
		return bad_request(r, "?worker=NAME");
	if (db_worker_install_reported_site(r->db, r->args[0], r->site,
					    &reported, &err) < 0)
		return web_db_error(r, &err);
	return web_json(r, MHD_HTTP_OK, json_pack("{s:b}", "reported", reported));
}

/* ---- reads of a held job: its deps' artifacts, its trees ---- */

/* ?worker=W&attempt=A of the URL's job, held; -1 after answering. */
static int query_held(struct web_req *r, struct wjob *j, enum MHD_Result *ret)
{
	struct err err = ERR_INIT;
	const char *name = web_query(r, "worker");
	long attempt;
	char *owner;
	int rc;

	if (worker_job(r, j, ret) < 0)
		return -1;
	if (!worker_name_ok(name) ||
	    query_long(r, "attempt", 0, 0x7fffffff, &attempt) < 0) {
		*ret = bad_request(r, "?worker=NAME&attempt=N");
		return -1;
	}
	j->attempt = (int)attempt;
	owner = worker_owner(r, name);
	rc = db_worker_lock_held(r->db, j->flight, j->job, owner, j->attempt,
				 &err);
	free(owner);
	if (rc <= 0) {
		*ret = rc < 0 ? web_db_error(r, &err) : lease_lost(r);
		return -1;
	}
	return 0;
}

enum MHD_Result web_worker_artifacts(struct web_req *r)
{
	struct err err = ERR_INIT;
	enum MHD_Result ret;
	struct wartifact *a = NULL;
	const char *djob = web_query(r, "job");
	long dflight;
	size_t n = 0;
	struct wjob j;
	json_t *arr;
	int rc;

	if (query_held(r, &j, &ret) < 0)
		return ret;
	if (query_long(r, "flight", 1, 1L << 62, &dflight) < 0 || !djob)
		return bad_request(r, "?flight=F&job=J: the job it needs");
	rc = db_worker_job_has_dep(r->db, j.flight, j.job, dflight, djob, &err);
	if (rc < 0)
		return web_db_error(r, &err);
	if (rc == 0)
		return web_error(r, MHD_HTTP_NOT_FOUND, "not found",
				 "not a job this one needs");
	if (db_worker_artifacts(r->db, dflight, djob, &a, &n, &err) < 0)
		return web_db_error(r, &err);
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "path",
						     a[i].path, "sha256",
						     a[i].sha256, "size",
						     (json_int_t)a[i].size));
	db_worker_artifacts_free(a, n);
	return web_json(r, MHD_HTTP_OK, arr);
}

/* A file's bytes as the answer (fd taken). */
static enum MHD_Result send_fd(struct web_req *r, int fd, const char *type)
{
	struct stat st;
	struct MHD_Response *resp;

	if (fstat(fd, &st) < 0) {
		close(fd);
		return web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "internal error", strerror(errno));
	}
	resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp) {
		close(fd);
		return web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "internal error", "cannot answer a file");
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	return web_queue(r, MHD_HTTP_OK, resp);
}

enum MHD_Result web_worker_tree(struct web_req *r)
{
	const struct web_opts *opts = web_options();
	struct err err = ERR_INIT;
	enum MHD_Result ret;
	size_t len = strlen(r->args[2]);
	char *tree, *rev = NULL, *url = NULL, *cache = NULL, *dir, *tar = NULL;
	struct wjob j;
	int fd = -1;

	if (query_held(r, &j, &ret) < 0)
		return ret;
	if (len <= 4 || strcmp(r->args[2] + len - 4, ".tar") != 0 ||
	    !web_log_name_ok(r->args[2]))
		return web_not_found(r, r->url);
	tree = xstrndup(r->args[2], len - 4);
	if (db_worker_tree(r->db, j.flight, tree, &rev, &url, &err) < 0) {
		free(tree);
		return web_db_error(r, &err);
	}
	/* the export the build step uploads today, from the controller's
	 * git cache: the remote worker needs no git access of its own */
	cache = xasprintf("%s/git/%s.git", opts->state, tree);
	dir = xasprintf("%s/tmp", opts->state);
	if (fs_mkdir_p(dir, 0755, &err) == 0) {
		tar = xasprintf("%s/worker.%ld.%s.%s.%lld.tar", dir, j.flight,
				j.job, tree, (long long)getpid() * 1000003 +
				(long long)(uintptr_t)r);
		if (gitx_export_tar(cache, url, rev, tar, NULL, &err) == 0) {
			fd = open(tar, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				err_errno(&err, ERR_FAIL, "%s", tar);
		}
		unlink(tar);   /* the open file stays for the answer */
	}
	if (fd < 0) {
		err_prefix(&err, "tree %s at %.12s", tree, rev);
		ret = web_db_error(r, &err);
	} else {
		ret = send_fd(r, fd, "application/x-tar");
	}
	free(tree);
	free(rev);
	free(url);
	free(cache);
	free(dir);
	free(tar);
	return ret;
}

/*
 * A refusal of a request whose body is on its way: the body is read and
 * dropped first (up to cap), then answer (taken) is sent with status.
 * Answered before the body came, the refusal would be cut off by the
 * reset of a client still sending it, which then sees no answer at all.
 */
struct refused_upload {
	struct web_upload u;
	unsigned status;
	json_t *answer;
};

static int refused_write(struct web_upload *u, const char *data, size_t n)
{
	(void)u;
	(void)data;
	(void)n;
	return 0;
}

static enum MHD_Result refused_done(struct web_req *r, struct web_upload *u)
{
	struct refused_upload *f = (struct refused_upload *)u;
	json_t *answer = f->answer;

	f->answer = NULL;
	return web_json(r, f->status, answer);
}

static void refused_release(struct web_upload *u)
{
	struct refused_upload *f = (struct refused_upload *)u;

	json_decref(f->answer);
	free(f);
}

static const struct web_upload_ops refused_ops = {
	refused_write, refused_done, refused_release,
};

static enum MHD_Result refuse_after_body(struct web_req *r, long long cap,
					 unsigned status, json_t *answer)
{
	struct refused_upload *f = xcalloc(1, sizeof(*f));

	f->u.ops = &refused_ops;
	f->u.cap = cap;
	f->status = status;
	f->answer = answer;
	web_upload_accept(r, &f->u);
	return MHD_YES;
}

static enum MHD_Result bad_upload(struct web_req *r, long long cap,
				  const char *detail)
{
	return refuse_after_body(r, cap, MHD_HTTP_BAD_REQUEST,
				 json_pack("{s:s, s:s}", "error", "bad request",
					   "detail", detail));
}

/* ---- blobs: the artifact store, by SHA-256 ---- */

static int sha256_ok(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

enum MHD_Result web_worker_blob_get(struct web_req *r)
{
	const struct web_opts *opts = web_options();
	struct err err = ERR_INIT;
	const char *sha = r->args[0];
	char *path;
	int rc, fd;

	if (!sha256_ok(sha))
		return bad_request(r, "not a SHA-256 (64 lower-case hex digits)");
	path = artifact_path(opts->state, sha);
	if (!strcmp(r->method, "HEAD")) {
		rc = fs_exists(path);
		free(path);
		return rc ? web_json(r, MHD_HTTP_OK, json_object())
			  : web_error(r, MHD_HTTP_NOT_FOUND, "not found",
				      "no such blob");
	}
	/* only what an artifact is: the store is not a file drop */
	rc = db_worker_blob_named(r->db, sha, &err);
	if (rc <= 0) {
		free(path);
		return rc < 0 ? web_db_error(r, &err)
			      : web_error(r, MHD_HTTP_NOT_FOUND, "not found",
					  "no artifact is that blob");
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return web_error(r, MHD_HTTP_NOT_FOUND, "not found",
				 "no such blob");
	return send_fd(r, fd, "application/octet-stream");
}

struct blob_upload {
	struct web_upload u;
	int have;                 /* the store has it: the body is dropped */
	int fd;
	char *tmp, *dest;
	char want[65];
	EVP_MD_CTX *md;
};

static int blob_write(struct web_upload *u, const char *data, size_t n)
{
	struct blob_upload *b = (struct blob_upload *)u;

	if (b->have)
		return 0;
	EVP_DigestUpdate(b->md, data, n);
	while (n) {
		ssize_t w = write(b->fd, data, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

static enum MHD_Result blob_done(struct web_req *r, struct web_upload *u)
{
	struct blob_upload *b = (struct blob_upload *)u;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char got[65], *dir;
	struct err err = ERR_INIT;

	if (u->too_large)
		return web_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "request too large",
				 "over [web] max-upload");
	if (b->have)
		return web_json(r, MHD_HTTP_OK, json_object());
	if (u->failed || fsync(b->fd) < 0)
		return web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "internal error", "the blob could not be written");
	EVP_DigestFinal_ex(b->md, md, &mdlen);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(got + 2 * (size_t)i, 3, "%02x", md[i]);
	got[64] = '\0';
	if (strcmp(got, b->want) != 0)
		return bad_request(r, "the body's SHA-256 is %s, not %s: not kept",
				   got, b->want);
	dir = xstrndup(b->dest, (size_t)(strrchr(b->dest, '/') - b->dest));
	if (fs_mkdir_p(dir, 0755, &err) < 0) {
		free(dir);
		return web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "internal error", err.msg);
	}
	free(dir);
	if (fs_exists(b->dest))
		return web_json(r, MHD_HTTP_OK, json_object());
	fchmod(b->fd, 0444);
	if (rename(b->tmp, b->dest) < 0)
		return web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "internal error", strerror(errno));
	free(b->tmp);
	b->tmp = NULL;   /* kept: release must not remove it */
	return web_json(r, MHD_HTTP_CREATED, json_object());
}

static void blob_release(struct web_upload *u)
{
	struct blob_upload *b = (struct blob_upload *)u;

	if (b->fd >= 0)
		close(b->fd);
	if (b->tmp)
		unlink(b->tmp);
	free(b->tmp);
	free(b->dest);
	EVP_MD_CTX_free(b->md);
	free(b);
}

static const struct web_upload_ops blob_ops = {
	blob_write, blob_done, blob_release,
};

enum MHD_Result web_worker_blob_put(struct web_req *r)
{
	const struct web_opts *opts = web_options();
	struct err err = ERR_INIT;
	const char *sha = r->args[0];
	long long cap = opts->max_upload > 0 ? opts->max_upload : 4LL << 30;
	long long len = web_content_length(r);
	struct blob_upload *b;
	char *dest;

	if (len > cap)
		return web_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "request too large",
				 "over [web] max-upload");
	if (!sha256_ok(sha))
		return bad_upload(r, cap, "not a SHA-256 (64 lower-case hex digits)");
	dest = artifact_path(opts->state, sha);
	b = xcalloc(1, sizeof(*b));
	b->u.ops = &blob_ops;
	b->u.cap = cap;
	b->fd = -1;
	b->dest = dest;
	if (fs_exists(dest)) {
		/* already there: the body is read and dropped, as answering
		 * before it came would reset a client still sending it */
		b->have = 1;
		web_upload_accept(r, &b->u);
		return MHD_YES;
	}
	memcpy(b->want, sha, 64);   /* sha256_ok: 64 digits */
	b->want[64] = '\0';
	b->md = EVP_MD_CTX_new();
	b->tmp = artifact_tmp_path(opts->state, &err);
	if (!b->md || EVP_DigestInit_ex(b->md, EVP_sha256(), NULL) != 1 ||
	    !b->tmp ||
	    (b->fd = open(b->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			  0644)) < 0) {
		if (!err.msg[0])
			err_errno(&err, ERR_FAIL, "%s", b->tmp ? b->tmp : "digest");
		blob_release(&b->u);
		return web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "internal error", err.msg);
	}
	web_upload_accept(r, &b->u);
	return MHD_YES;
}

/* ---- logs: bytes at an offset ---- */

struct log_upload {
	struct web_upload u;
	int fd;
	long long offset;
	int late;
};

static int log_write(struct web_upload *u, const char *data, size_t n)
{
	struct log_upload *l = (struct log_upload *)u;
	off_t at = (off_t)(l->offset + u->got);   /* got: the chunks before */

	while (n) {
		ssize_t w = pwrite(l->fd, data, n, at);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		data += w;
		n -= (size_t)w;
		at += w;
	}
	return 0;
}

static enum MHD_Result log_done(struct web_req *r, struct web_upload *u)
{
	struct log_upload *l = (struct log_upload *)u;
	struct stat st;

	if (u->too_large)
		return web_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "request too large",
				 "a log chunk is at most 1 MiB");
	if (u->failed || fstat(l->fd, &st) < 0)
		return web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "internal error", "the log could not be written");
	if (l->late)
		return web_json(r, MHD_HTTP_OK,
				json_pack("{s:I, s:b}", "size",
					  (json_int_t)st.st_size, "late", 1));
	return web_json(r, MHD_HTTP_OK,
			json_pack("{s:I}", "size", (json_int_t)st.st_size));
}

static void log_release(struct web_upload *u)
{
	struct log_upload *l = (struct log_upload *)u;

	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

static const struct web_upload_ops log_ops = {
	log_write, log_done, log_release,
};

enum MHD_Result web_worker_log_put(struct web_req *r)
{
	const struct web_opts *opts = web_options();
	struct err err = ERR_INIT;
	const char *name = web_query(r, "worker"), *file = r->args[2];
	long attempt, offset;
	long long len = web_content_length(r);
	struct log_upload *l;
	struct stat st;
	struct wjob j;
	enum MHD_Result ret;
	char *owner, *dir, *path;
	int held;

	if (worker_job(r, &j, &ret) < 0)
		return ret;
	if (!worker_name_ok(name) ||
	    query_long(r, "attempt", 0, 0x7fffffff, &attempt) < 0 ||
	    query_long(r, "offset", 0, 1L << 62, &offset) < 0)
		return bad_upload(r, WORKER_LOG_MAX,
				  "?worker=NAME&attempt=N&offset=N");
	if (!web_log_name_ok(file) || !strncmp(file, "late-", 5))
		return bad_upload(r, WORKER_LOG_MAX, "not a log file name");
	if (len > WORKER_LOG_MAX)
		return web_error(r, MHD_HTTP_CONTENT_TOO_LARGE, "request too large",
				 "a log chunk is at most 1 MiB");
	owner = worker_owner(r, name);
	held = db_worker_lock_held(r->db, j.flight, j.job, owner, (int)attempt,
				   &err);
	free(owner);
	if (held < 0)
		return web_db_error(r, &err);
	/* no longer held: the same bytes go beside, as evidence */
	if (held)
		dir = xasprintf("%s/logs/%ld/%s", opts->state, j.flight, j.job);
	else
		dir = xasprintf("%s/logs/%ld/%s/late-%ld", opts->state, j.flight,
				j.job, attempt);
	path = xasprintf("%s/%s", dir, file);
	if (stat(path, &st) < 0)
		st.st_size = 0;
	/* late bytes are kept at their offsets whatever came before them
	 * (the late file starts empty): evidence, not a log to follow */
	if (held && offset > st.st_size) {
		free(dir);
		free(path);
		return refuse_after_body(
			r, WORKER_LOG_MAX, MHD_HTTP_CONFLICT,
			json_pack("{s:s, s:s, s:I}", "error", "conflict",
				  "detail", "offset past the end", "size",
				  (json_int_t)st.st_size));
	}
	l = xcalloc(1, sizeof(*l));
	l->u.ops = &log_ops;
	l->u.cap = WORKER_LOG_MAX;
	l->offset = offset;
	l->late = !held;
	l->fd = -1;
	if (fs_mkdir_p(dir, 0755, &err) < 0 ||
	    (l->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		if (!err.msg[0])
			err_errno(&err, ERR_FAIL, "%s", path);
		free(dir);
		free(path);
		log_release(&l->u);
		return web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "internal error", err.msg);
	}
	free(dir);
	free(path);
	web_upload_accept(r, &l->u);
	return MHD_YES;
}
