/*
 * wlink-http.c: the link of a remote worker (see wlink.h): the
 * controller's /api/v1/worker/ routes (docs/api.md, section 7) over HTTPS
 * with libcurl, the certificate verified (against [worker] ca when set),
 * a bearer token of the worker's site. No database connection, no shared
 * STATE: the worker's own [lab] state is its spool.
 *
 * - Records go as JSON (wire.c) one POST each; an artifact record only
 *   after its blob is on the controller (HEAD, else PUT), a step-end or
 *   the job's end only after the job's logs were shipped to where they
 *   are.
 * - Log files of the running job (STATE/logs/F/J/: step logs, fetched
 *   files, console captures) are shipped by offset as they grow, by one
 *   thread per job at least every second (a resend writes the same bytes
 *   again, so nothing is lost or doubled by a drop).
 * - When the controller does not answer (a transport error, a 502, 503
 *   or 504), the call fails with ERR_DB and the link is down: jobrec.c
 *   holds what the job records until a call gets through again, exactly
 *   as through a database outage.
 * - Once a job has ended, its log files whose every byte was
 *   acknowledged are deleted, and so are the blobs it uploaded or
 *   fetched, unless another job of this worker still uses them.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact.h"
#include "buf.h"
#include "fsutil.h"
#include "job-run.h"
#include "log.h"
#include "proc.h"
#include "spool.h"
#include "strnum.h"
#include "strmap.h"
#include "wire.h"
#include "version.h"
#include "wlink.h"
#include "xalloc.h"
#include "banned.h"

/* How long a claim waits on the controller for work (it allows 60). */
#define CLAIM_WAIT_S 30
/* The most of one log PUT (the controller takes 1 MiB). */
#define LOG_CHUNK (1 << 20)
/* The most of a JSON answer (a claimed job with its runvars). */
#define ANSWER_MAX (16 << 20)
/* A link that drops silently (a cut cable, netem) answers nothing: the
 * job's thread must not wait long on it. A JSON request is small and
 * answered in milliseconds; a transfer may be long, but not stalled. */
#define CONNECT_TIMEOUT_S 10
#define REQUEST_TIMEOUT_S 20
#define STALL_S 20

struct ship;

struct wlink_http {
	struct wlink l;
	const struct worker_conf *conf;
	const volatile sig_atomic_t *stop;
	CURL *curl;
	struct curl_slist *hdr_json, *hdr_raw;
	int ok;                 /* the last call reached the controller */
	int down, lost_new, back_new;
	long long retry_ms;     /* monotonic: keep() tries again then */
	int backoff_ms;
	long long claim_done_ms, claim_took_ms;
	char why[1024];         /* the last failure to reach it */
	struct ship *ship;      /* the running job's, or NULL */
	struct vec blobs;       /* the running job's blobs (uses counted) */
};

#define LH(l) ((struct wlink_http *)(l))

/* ---- one request ---- */

struct hreq {
	const char *method;     /* GET POST PUT HEAD */
	const char *path;       /* below /api/v1/worker/, query included */
	json_t *body;           /* POST: sent as JSON */
	const char *data;       /* PUT from memory, len bytes */
	size_t len;
	FILE *upload;           /* PUT from a file, upload_len bytes */
	long long upload_len;
	FILE *download;         /* GET into a file */
	int abortable;          /* cut short when the worker stops */
	long timeout_s;
};

struct hanswer {
	long status;
	struct buf body;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	return buf_add(b, p, size * n) < 0 ? 0 : size * n;
}

static size_t on_file(char *p, size_t size, size_t n, void *arg)
{
	return fwrite(p, size, n, arg) * size;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
		       curl_off_t d)
{
	const volatile sig_atomic_t *stop = arg;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return stop && *stop;
}

static int backoff_max_ms(const struct wlink_http *h)
{
	long ms = h->l.lease * 1000 / 4;

	return ms < 30000 ? (int)ms : 30000;
}

/* The controller answered (anything but a gateway's 5xx). */
static void link_reached(struct wlink_http *h)
{
	h->ok = 1;
	if (h->down) {
		h->down = 0;
		h->back_new = 1;
	}
	h->backoff_ms = 0;
}

static void link_failed(struct wlink_http *h)
{
	h->ok = 0;
	if (!h->down) {
		h->down = 1;
		h->lost_new = 1;
		h->backoff_ms = 0;
	}
	h->backoff_ms = spool_backoff_next(h->backoff_ms, backoff_max_ms(h));
	h->retry_ms = proc_now_ms() + h->backoff_ms;
}

/*
 * Runs q. 0 with a->status set whenever the controller answered (any
 * status: the caller judges it); ERR_DB when it could not be reached
 * (the link is down), ERR_CANCELLED when the worker stops.
 */
static int hx(struct wlink_http *h, const struct hreq *q, struct hanswer *a,
	      struct err *err)
{
	CURL *c = h->curl;
	char *url = xasprintf("%s/api/v1/worker/%s", h->conf->controller, q->path);
	char *json = NULL;
	CURLcode rc;
	int ret = 0;

	a->status = 0;
	buf_init(&a->body, ANSWER_MAX);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->conf->ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->conf->ca);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT,
			 q->timeout_s ? q->timeout_s : (long)REQUEST_TIMEOUT_S);
	if (q->upload || q->download || q->data) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)STALL_S);
	}
	curl_easy_setopt(c, CURLOPT_USERAGENT, "hangar-worker/" HANGAR_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, q->download ? on_file : on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA,
			 q->download ? (void *)q->download : (void *)&a->body);
	if (q->abortable) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)h->stop);
	}
	if (!strcmp(q->method, "POST")) {
		json = json_dumps(q->body, JSON_COMPACT);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdr_json);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(json));
	} else if (!strcmp(q->method, "PUT") && q->upload) {
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdr_raw);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READDATA, q->upload);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)q->upload_len);
	} else if (!strcmp(q->method, "PUT")) {
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdr_raw);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->data ? q->data : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)q->len);
	} else if (!strcmp(q->method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdr_raw);
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdr_raw);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		ret = err_set(err, ERR_CANCELLED, "%s %s: the worker stops",
			      q->method, q->path);
	} else if (rc == CURLE_WRITE_ERROR && !q->download) {
		link_reached(h);
		ret = err_set(err, ERR_FAIL, "%s %s: the answer is over %d bytes",
			      q->method, q->path, ANSWER_MAX);
	} else if (rc == CURLE_WRITE_ERROR || rc == CURLE_READ_ERROR) {
		/* this side's disk, not the link: waiting would not help */
		link_reached(h);
		ret = err_set(err, ERR_FAIL, "%s %s: %s here", q->method, q->path,
			      rc == CURLE_WRITE_ERROR ? "could not write what came"
			      : "could not read what was to go");
	} else if (rc == CURLE_SSL_CACERT || rc == CURLE_PEER_FAILED_VERIFICATION ||
		   rc == CURLE_SSL_CACERT_BADFILE) {
		/* never talked past: the link is as good as down, and the log
		 * says why */
		link_failed(h);
		ret = err_set(err, ERR_DB, "%s: %s", h->conf->controller,
			      curl_easy_strerror(rc));
	} else if (rc != CURLE_OK || a->status == 502 || a->status == 503 ||
		   a->status == 504) {
		link_failed(h);
		ret = err_set(err, ERR_DB, "the controller %s: %s",
			      h->conf->controller,
			      rc != CURLE_OK ? curl_easy_strerror(rc)
			      : a->status == 503 ? "503 (its database is unavailable)"
			      : "a gateway error");
	} else {
		link_reached(h);
	}
	if (!h->ok)
		memcpy(h->why, err->msg, sizeof(h->why));
	free(json);
	free(url);
	return ret;
}

static void hanswer_release(struct hanswer *a)
{
	buf_release(&a->body);
}

/* The answer's JSON (a new reference), or NULL. */
static json_t *hanswer_json(const struct hanswer *a)
{
	return a->body.len ? json_loadb(a->body.buf, a->body.len, 0, NULL) : NULL;
}

/* A status the caller did not expect, as an error: 409 is ERR_EXISTS
 * (the lease is lost), 404 ERR_NOTFOUND, 401 and 403 ERR_USAGE (the
 * token: only a person fixes that), the rest ERR_FAIL. */
static int status_err(const struct hreq *q, const struct hanswer *a,
		      struct err *err)
{
	json_t *o = hanswer_json(a);
	const char *detail = json_string_value(json_object_get(o, "detail"));
	int code = a->status == 409 ? ERR_EXISTS
		   : a->status == 404 ? ERR_NOTFOUND
		   : a->status == 401 || a->status == 403 ? ERR_USAGE : ERR_FAIL;

	err_set(err, code, "%s %s: %ld%s%s", q->method, q->path, a->status,
		detail ? ": " : "", detail ? detail : "");
	json_decref(o);
	return code;
}

/* POST body to path, expecting 200 (or 201); *ret (may be NULL) the
 * answer's JSON, the caller's. */
static int post(struct wlink_http *h, const char *path, json_t *body,
		int abortable, long timeout_s, json_t **ret, struct err *err)
{
	struct hreq q = { .method = "POST", .path = path, .body = body,
			  .abortable = abortable, .timeout_s = timeout_s };
	struct hanswer a;
	int rc = hx(h, &q, &a, err);

	if (ret)
		*ret = NULL;
	if (rc == 0 && a.status != 200 && a.status != 201)
		rc = status_err(&q, &a, err);
	if (rc == 0 && ret) {
		*ret = hanswer_json(&a);
		if (!*ret)
			rc = err_set(err, ERR_FAIL, "POST %s: the answer is not "
				     "JSON", path);
	}
	hanswer_release(&a);
	json_decref(body);
	return rc;
}

static int get_json(struct wlink_http *h, const char *path, json_t **ret,
		    struct err *err)
{
	struct hreq q = { .method = "GET", .path = path };
	struct hanswer a;
	int rc = hx(h, &q, &a, err);

	*ret = NULL;
	if (rc == 0 && a.status != 200)
		rc = status_err(&q, &a, err);
	if (rc == 0 && !(*ret = hanswer_json(&a)))
		rc = err_set(err, ERR_FAIL, "GET %s: the answer is not JSON", path);
	hanswer_release(&a);
	return rc;
}

/* "jobs/F/J" with J escaped (caller frees). */
static char *job_path(struct wlink_http *h, const struct wjob *j)
{
	char *e = curl_easy_escape(h->curl, j->job, 0);
	char *p = xasprintf("jobs/%ld/%s", j->flight, e);

	curl_free(e);
	return p;
}

/* {"worker": NAME, "attempt": A} for a write of job j. */
static json_t *job_body(struct wlink_http *h, const struct wjob *j)
{
	return json_pack("{s:s, s:i}", "worker", h->conf->name, "attempt",
			 j->attempt);
}

/* ---- the spool: shipping a job's logs ---- */

struct ship_file {
	char *name;
	long long acked;        /* bytes the controller has */
	long long size;         /* at the last look */
	int refused;            /* a name the controller does not take */
};

struct ship {
	pthread_mutex_t lock;   /* files; one shipping at a time */
	pthread_cond_t cond;
	pthread_t thread;
	int quit;
	struct wlink_http *th;  /* the thread's own link */
	char *dir;              /* STATE/logs/F/J */
	struct wjob job;        /* flight, job, attempt only */
	struct ship_file *files;
	size_t n;
	long long pending;      /* bytes not acknowledged, files with some */
	long pending_files;
	struct ship *next;
};

/* Every job's ship, for the spool's size in claims and heartbeats; and
 * the blobs the running jobs use (sha256 -> jobs). */
static pthread_mutex_t spool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ship *ships;
static struct strmap blob_uses = STRMAP_INIT;

static void spool_size(long long *bytes, long *files)
{
	*bytes = 0;
	*files = 0;
	pthread_mutex_lock(&spool_lock);
	for (struct ship *s = ships; s; s = s->next) {
		*bytes += s->pending;
		*files += s->pending_files;
	}
	pthread_mutex_unlock(&spool_lock);
}

static json_t *spool_json(void)
{
	long long bytes;
	long files;

	spool_size(&bytes, &files);
	return json_pack("{s:I, s:I}", "bytes", (json_int_t)bytes, "files",
			 (json_int_t)files);
}

static struct ship_file *ship_file(struct ship *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->files[i].name, name))
			return &s->files[i];
	s->files = xrealloc(s->files, (s->n + 1) * sizeof(*s->files));
	memset(&s->files[s->n], 0, sizeof(*s->files));
	s->files[s->n].name = xstrdup(name);
	return &s->files[s->n++];
}

/* Ships bytes acked.. of f through h. 0 when all of it is acknowledged. */
static int ship_one(struct ship *s, struct wlink_http *h, struct ship_file *f,
		    struct err *err)
{
	char *path = xasprintf("%s/%s", s->dir, f->name);
	char *jp = job_path(h, &s->job);
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = err_set(err, ERR_FAIL, "%s: %s", path, strerror(errno));
		goto out;
	}
	f->size = st.st_size;
	buf = xmalloc(LOG_CHUNK);
	while (f->acked < f->size) {
		long long want = f->size - f->acked;
		ssize_t got = pread(fd, buf, want > LOG_CHUNK ? (size_t)LOG_CHUNK
					       : (size_t)want, (off_t)f->acked);
		char *qp;
		struct hreq q = { .method = "PUT" };
		struct hanswer a;
		json_t *o;
		long long size, acked;

		if (got <= 0) {
			f->size = f->acked;   /* truncated under us: no more */
			break;
		}
		qp = xasprintf("%s/logs/%s?worker=%s&attempt=%d&offset=%lld", jp,
			       f->name, h->conf->name, s->job.attempt, f->acked);
		q.path = qp;
		q.data = buf;
		q.len = (size_t)got;
		q.timeout_s = 300;
		rc = hx(h, &q, &a, err);
		o = rc == 0 ? hanswer_json(&a) : NULL;
		size = json_is_integer(json_object_get(o, "size"))
		       ? json_integer_value(json_object_get(o, "size")) : -1;
		acked = rc == 0 ? spool_log_ack(f->acked, (size_t)got, a.status,
						size) : -1;
		if (acked >= 0) {
			f->acked = acked;   /* a 409: it has less, sent again */
		} else if (rc == 0 && (a.status == 400 || a.status == 404)) {
			f->refused = 1;
			rc = status_err(&q, &a, err);
		} else if (rc == 0) {
			rc = status_err(&q, &a, err);
		}
		json_decref(o);
		hanswer_release(&a);
		free(qp);
		if (rc < 0)
			break;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(jp);
	free(path);
	return rc;
}

/* Ships what every log file of the job has beyond what was acknowledged,
 * through h (the caller's thread's link). The caller holds s->lock. */
static int ship_scan(struct ship *s, struct wlink_http *h, struct err *err)
{
	DIR *d = opendir(s->dir);
	struct dirent *e;
	long long pending = 0;
	long pending_files = 0;
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : err_set(err, ERR_FAIL, "%s: %s",
						     s->dir, strerror(errno));
	while ((e = readdir(d))) {
		struct ship_file *f;
		struct stat st;
		char *path;

		if (e->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", s->dir, e->d_name);
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		free(path);
		f = ship_file(s, e->d_name);
		if (!f->refused && !spool_log_name_ok(f->name)) {
			f->refused = 1;
			log_warnx("flight=%ld job=%s: log %s: a name the controller "
				  "does not take; kept here only", s->job.flight,
				  s->job.job, f->name);
		}
		if (f->refused)
			continue;
		if (rc == 0 && st.st_size > f->acked) {
			struct err e2 = ERR_INIT;

			if (ship_one(s, h, f, &e2) < 0) {
				if (e2.code == ERR_DB || !f->refused)
					rc = -1;
				if (f->refused)
					log_warnx("flight=%ld job=%s: log %s: %s",
						  s->job.flight, s->job.job, f->name,
						  e2.msg);
				*err = e2;
			}
		}
		if (f->size < st.st_size)
			f->size = st.st_size;
		if (f->size > f->acked) {
			pending += f->size - f->acked;
			pending_files++;
		}
	}
	closedir(d);
	pthread_mutex_lock(&spool_lock);
	s->pending = pending;
	s->pending_files = pending_files;
	pthread_mutex_unlock(&spool_lock);
	return rc;
}

static struct wlink_http *lh_new(const struct worker_conf *conf,
				 const volatile sig_atomic_t *stop);
static void lh_free(struct wlink *l);

static void *ship_main(void *arg)
{
	struct ship *s = arg;

	pthread_mutex_lock(&s->lock);
	while (!s->quit) {
		struct timespec until;
		struct err err = ERR_INIT;

		/* while the controller is away, ship_scan fails at once:
		 * its back-off keeps this from hammering it */
		if (!s->th->down || proc_now_ms() >= s->th->retry_ms)
			ship_scan(s, s->th, &err);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&s->cond, &s->lock, &until);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static struct ship *ship_start(struct wlink_http *h, const struct wjob *j)
{
	struct ship *s = xcalloc(1, sizeof(*s));

	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->th = lh_new(h->conf, NULL);
	s->th->l.lease = h->l.lease;
	s->dir = xasprintf("%s/logs/%ld/%s", h->conf->state, j->flight, j->job);
	s->job.flight = j->flight;
	s->job.job = xstrdup(j->job);
	s->job.attempt = j->attempt;
	pthread_mutex_lock(&spool_lock);
	s->next = ships;
	ships = s;
	pthread_mutex_unlock(&spool_lock);
	if (pthread_create(&s->thread, NULL, ship_main, s) != 0)
		fatalx("worker: cannot start a log shipping thread");
	return s;
}

/* Stops s's thread (once: the rest is the caller's to ship). */
static void ship_stop(struct ship *s)
{
	pthread_mutex_lock(&s->lock);
	s->quit = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
}

static void ship_free(struct ship *s)
{
	struct ship **p;

	if (!s)
		return;
	pthread_mutex_lock(&spool_lock);
	for (p = &ships; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	pthread_mutex_unlock(&spool_lock);
	for (size_t i = 0; i < s->n; i++)
		free(s->files[i].name);
	free(s->files);
	free(s->dir);
	free(s->job.job);
	lh_free(&s->th->l);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Before a record that ends a step or the job: every log byte so far. */
static int ship_flush(struct wlink_http *h, struct err *err)
{
	int rc;

	if (!h->ship)
		return 0;
	pthread_mutex_lock(&h->ship->lock);
	rc = ship_scan(h->ship, h, err);
	pthread_mutex_unlock(&h->ship->lock);
	return rc;
}

/* Deletes the log files every byte of which the controller has, then
 * the directory if that empties it. */
static void ship_delete_acked(struct ship *s)
{
	size_t kept = 0;

	for (size_t i = 0; i < s->n; i++) {
		struct ship_file *f = &s->files[i];
		char *path = xasprintf("%s/%s", s->dir, f->name);
		struct stat st;

		if (!f->refused && stat(path, &st) == 0 && st.st_size == f->acked)
			unlink(path);
		else
			kept++;
		free(path);
	}
	if (!kept) {
		char *mark = xasprintf("%s/.attempt", s->dir);

		unlink(mark);
		free(mark);
	}
	if (!kept && rmdir(s->dir) == 0) {
		char *up = xstrndup(s->dir, (size_t)(strrchr(s->dir, '/') - s->dir));

		rmdir(up);   /* the flight's, when no other job of it is here */
		free(up);
	} else if (kept) {
		log_warnx("flight=%ld job=%s: %zu log file(s) not all delivered: "
			  "kept in %s", s->job.flight, s->job.job, kept, s->dir);
	}
}

/* ---- blobs ---- */

static void blob_use(struct wlink_http *h, const char *sha)
{
	if (vec_find(&h->blobs, sha) >= 0)
		return;
	vec_push(&h->blobs, sha);
	pthread_mutex_lock(&spool_lock);
	strmap_put(&blob_uses, sha, (strmap_get(&blob_uses, sha) > 0
				     ? strmap_get(&blob_uses, sha) : 0) + 1);
	pthread_mutex_unlock(&spool_lock);
}

/* The job is over: its blobs no other job here uses leave the store
 * (the controller has them; a later job fetches them again). */
static void blobs_release(struct wlink_http *h)
{
	for (size_t i = 0; i < h->blobs.n; i++) {
		const char *sha = h->blobs.v[i];
		long n;

		pthread_mutex_lock(&spool_lock);
		n = strmap_get(&blob_uses, sha) - 1;
		strmap_put(&blob_uses, sha, n);
		if (n <= 0) {
			char *path = artifact_path(h->conf->state, sha);

			unlink(path);
			free(path);
		}
		pthread_mutex_unlock(&spool_lock);
	}
	vec_clear(&h->blobs);
}

/* Makes sure the controller has blob sha (HEAD, else PUT). */
static int blob_put(struct wlink_http *h, const char *sha, struct err *err)
{
	char *path = xasprintf("blobs/%s", sha);
	char *local = artifact_path(h->conf->state, sha);
	struct hreq q = { .method = "HEAD", .path = path };
	struct hanswer a;
	struct stat st;
	FILE *f = NULL;
	int rc = hx(h, &q, &a, err);

	hanswer_release(&a);
	if (rc < 0 || a.status == 200)
		goto out;
	if (a.status != 404) {
		rc = status_err(&q, &a, err);
		goto out;
	}
	f = fopen(local, "rb");
	if (!f || fstat(fileno(f), &st) < 0) {
		rc = err_set(err, ERR_FAIL, "artifact %s: %s", local,
			     strerror(errno));
		goto out;
	}
	q = (struct hreq){ .method = "PUT", .path = path, .upload = f,
			   .upload_len = st.st_size,
			   .timeout_s = 600 + st.st_size / (256LL * 1024) };
	rc = hx(h, &q, &a, err);
	if (rc == 0 && a.status != 200 && a.status != 201)
		rc = status_err(&q, &a, err);
	hanswer_release(&a);
out:
	if (f)
		fclose(f);
	if (rc == 0)
		blob_use(h, sha);
	free(local);
	free(path);
	return rc;
}

/* ---- the ops ---- */

static int lh_ok(struct wlink *l)
{
	return LH(l)->ok;
}

static enum wlink_state lh_keep(struct wlink *l, struct err *err)
{
	struct wlink_http *h = LH(l);

	if (!h->down) {
		if (h->back_new) {
			h->back_new = 0;
			return WLINK_BACK;
		}
		return WLINK_UP;
	}
	if (proc_now_ms() >= h->retry_ms) {
		/* any answer proves the link: a blob nobody has */
		struct hreq q = { .method = "HEAD", .path =
			"blobs/0000000000000000000000000000000000000000000000000000000000000000",
			.abortable = 1, .timeout_s = 15 };
		struct hanswer a;

		hx(h, &q, &a, err);
		hanswer_release(&a);
		if (!h->down) {
			h->back_new = 0;
			h->lost_new = 0;
			return WLINK_BACK;
		}
	}
	if (h->lost_new) {
		h->lost_new = 0;
		return WLINK_LOST;
	}
	return WLINK_DOWN;
}

static int lh_down(struct wlink *l)
{
	return LH(l)->down;
}

static int lh_wait_ms(struct wlink *l)
{
	long long left = LH(l)->retry_ms - proc_now_ms();

	return !LH(l)->down || left < 0 ? 0 : (int)left;
}

static void lh_log_state(struct wlink *l, enum wlink_state st,
			 const struct err *err)
{
	if (st == WLINK_LOST)
		log_warnx("the controller %s is away (%s); trying again",
			  LH(l)->conf->controller,
			  err->msg[0] ? err->msg : LH(l)->why);
	else if (st == WLINK_BACK)
		log_info("the controller %s is back", LH(l)->conf->controller);
}

static int lh_claim(struct wlink *l, int health, struct wjob *j,
		    struct err *err)
{
	struct wlink_http *h = LH(l);
	/* version: the harness that runs what it claims (jobs.harness) */
	json_t *body = json_pack("{s:s, s:i, s:b, s:o, s:s}", "worker",
				 h->conf->name, "wait", CLAIM_WAIT_S,
				 "health_check", health, "spool", spool_json(),
				 "version", HANGAR_VERSION);
	json_t *ans = NULL, *job;
	long long t0 = proc_now_ms();
	int rc;

	rc = post(h, "claim", body, 1, CLAIM_WAIT_S + 30, &ans, err);
	h->claim_done_ms = proc_now_ms();
	h->claim_took_ms = h->claim_done_ms - t0;
	if (rc < 0)
		return err->code == ERR_CANCELLED ? 0 : rc;
	if (json_is_integer(json_object_get(ans, "lease")))
		l->lease = (long)json_integer_value(json_object_get(ans, "lease"));
	if (json_is_integer(json_object_get(ans, "heartbeat")))
		l->heartbeat = (long)json_integer_value(json_object_get(ans,
									"heartbeat"));
	if (l->heartbeat < 1)
		l->heartbeat = 1;
	job = json_object_get(ans, "job");
	if (!job || json_is_null(job)) {
		json_decref(ans);
		return 0;
	}
	rc = wire_wjob_from_json(job, j, err);
	json_decref(ans);
	if (rc < 0)
		return err_prefix(err, "claim: the job");
	return 1;
}

/* The claim waited on the controller already; one that came back at once
 * with nothing (woken for work another worker took) waits a little here,
 * so that no worker spins. */
static int lh_wait_work(struct wlink *l, int ms, struct err *err)
{
	struct wlink_http *h = LH(l);
	long long until = h->claim_done_ms + (h->claim_took_ms < 1000 ? 1000 : 0);

	(void)ms;
	(void)err;
	while (proc_now_ms() < until && !(h->stop && *h->stop))
		proc_nap_ms(100);
	return 0;
}

/* complete: the list is every job the worker runs (the controller ends
 * the leases of others it holds); else a question about a few. */
static int heartbeat_post(struct wlink *l, const long *flights,
			  const char *const *jobs, const int *attempts, size_t n,
			  int complete, struct vec *held, struct vec *cancelled,
			  struct err *err)
{
	struct wlink_http *h = LH(l);
	json_t *list = json_array(), *ans = NULL;
	int rc;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:I, s:s, s:i}", "flight",
						      (json_int_t)flights[i], "job",
						      jobs[i], "attempt",
						      attempts[i]));
	rc = post(h, "heartbeat", json_pack("{s:s, s:o, s:o, s:b}", "worker",
					    h->conf->name, "jobs", list, "spool",
					    spool_json(), "complete", complete),
		  0, 0, &ans, err);
	for (int k = 0; rc == 0 && k < 2; k++) {
		json_t *a = json_object_get(ans, k ? "cancelled" : "held");
		struct vec *out = k ? cancelled : held;
		size_t i;
		json_t *x;

		json_array_foreach(a, i, x)
			vec_pushf(out, "%ld.%s",
				  (long)json_integer_value(json_object_get(x, "flight")),
				  json_string_value(json_object_get(x, "job"))
				  ? json_string_value(json_object_get(x, "job"))
				  : "");
	}
	json_decref(ans);
	return rc;
}

static int lh_heartbeat(struct wlink *l, const long *flights,
			const char *const *jobs, const int *attempts, size_t n,
			struct vec *held, struct vec *cancelled,
			struct err *err)
{
	return heartbeat_post(l, flights, jobs, attempts, n, 1, held, cancelled,
			      err);
}

static int lh_holds(struct wlink *l, const struct wjob *j, struct err *err)
{
	struct vec held = VEC_INIT, cancelled = VEC_INIT;
	const char *job = j->job;
	char key[160];
	int rc;

	rc = heartbeat_post(l, &j->flight, &job, &j->attempt, 1, 0, &held,
			    &cancelled, err);
	snprintf(key, sizeof(key), "%ld.%s", j->flight, j->job);
	if (rc == 0)
		rc = vec_find(&held, key) >= 0;
	vec_clear(&held);
	vec_clear(&cancelled);
	return rc;
}

/* POSTs one record (at replacing r->at) to the job's records. */
static int post_record(struct wlink_http *h, const struct wjob *j,
		       const struct wrec *r, double at, struct err *err)
{
	char *jp = job_path(h, j), *path = xasprintf("%s/records", jp);
	struct wrec copy = *r;
	json_t *body = job_body(h, j), *ans = NULL;
	int rc;

	copy.at = at;
	json_object_set_new(body, "records",
			    json_pack("[o]", wire_rec_to_json(&copy)));
	rc = post(h, path, body, 0, 0, &ans, err);
	json_decref(ans);
	free(path);
	free(jp);
	return rc;
}

static int lh_record(struct wlink *l, const struct wjob *j,
		     const struct wrec *r, double at, struct err *err)
{
	struct wlink_http *h = LH(l);

	if (r->type == WREC_ARTIFACT && blob_put(h, r->sha256, err) < 0)
		return err_prefix(err, "artifact %s", r->path);
	if (r->type == WREC_STEP_END && ship_flush(h, err) < 0 &&
	    err->code == ERR_DB)
		return -1;
	/* as through the database: a record sent at once takes the
	 * controller's time, a held one its own */
	return post_record(h, j, r, at, err);
}

/* A record of a job no longer held: the controller answers 409 and keeps
 * it as a late record. */
static int lh_evidence(struct wlink *l, const struct wjob *j,
		       const struct wrec *r, struct err *err)
{
	int rc = post_record(LH(l), j, r, r->at, err);

	if (rc < 0 && err->code == ERR_EXISTS) {
		err_clear(err);
		rc = 0;
	}
	return rc;
}

static int lh_finish(struct wlink *l, const struct wjob *j, const char *status,
		     const char *reason, int requeue, int lab_retry,
		     struct err *err)
{
	struct wlink_http *h = LH(l);
	char *jp, *path;
	json_t *body, *ans = NULL;
	int rc;

	if (ship_flush(h, err) < 0 && err->code == ERR_DB)
		return -1;
	jp = job_path(h, j);
	path = xasprintf("%s/finish", jp);
	body = job_body(h, j);
	json_object_set_new(body, "status", json_string(status));
	json_object_set_new(body, "reason", reason ? json_string(reason)
						   : json_null());
	json_object_set_new(body, "requeue", json_boolean(requeue));
	json_object_set_new(body, "lab_retry", json_boolean(lab_retry));
	rc = post(h, path, body, 0, 0, &ans, err);
	json_decref(ans);
	free(path);
	free(jp);
	return rc;
}

static int lh_hostkey_pin(struct wlink *l, const struct wjob *j,
			  const char *host, const char *key, struct err *err)
{
	struct wlink_http *h = LH(l);
	char *jp = job_path(h, j), *path = xasprintf("%s/hostkey", jp);
	json_t *body = job_body(h, j), *ans = NULL;
	const char *pinned;
	int rc;

	json_object_set_new(body, "host", json_string(host));
	json_object_set_new(body, "key", json_string(key));
	rc = post(h, path, body, 0, 0, &ans, err);
	pinned = json_string_value(json_object_get(ans, "key"));
	if (rc == 0 && (!pinned || strcmp(pinned, key) != 0))
		rc = err_set(err, ERR_HOSTKEY, "host %s: its SSH key is not the "
			     "one pinned (%.40s...)", host, pinned ? pinned : "?");
	json_decref(ans);
	free(path);
	free(jp);
	return rc;
}

/* One record of a host-install step, written at once (the step waits). */
static int host_record(struct wlink *l, const struct wjob *j,
		       enum wrec_type type, const char *host, const char *reason,
		       const char *token, struct err *err)
{
	struct wrec r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.host = xstrdup(host);
	r.reason = reason ? xstrdup(reason) : NULL;
	r.token = token ? xstrdup(token) : NULL;
	rc = post_record(LH(l), j, &r, 0, err);
	wrec_release(&r);
	return rc;
}

static int lh_hostkey_clear(struct wlink *l, const struct wjob *j,
			    const char *host, const char *why, struct err *err)
{
	return host_record(l, j, WREC_HOSTKEY_CLEAR, host, why, NULL, err);
}

static int lh_install_begin(struct wlink *l, const struct wjob *j,
			    const char *host, const char *token,
			    struct err *err)
{
	return host_record(l, j, WREC_INSTALL_BEGIN, host, NULL, token, err);
}

static int lh_host_installed(struct wlink *l, const struct wjob *j,
			     const char *host, struct err *err)
{
	return host_record(l, j, WREC_HOST_INSTALLED, host, NULL, NULL, err);
}

static int lh_install_reported(struct wlink *l, const struct wjob *j,
			       const char *token, int *reported,
			       struct err *err)
{
	struct wlink_http *h = LH(l);
	char *path = xasprintf("install/%s?worker=%s", token, h->conf->name);
	json_t *ans = NULL;
	int rc = get_json(h, path, &ans, err);

	(void)j;
	if (rc == 0)
		*reported = json_is_true(json_object_get(ans, "reported"));
	json_decref(ans);
	free(path);
	return rc;
}

static int lh_dep_artifacts(struct wlink *l, const struct wjob *j, long flight,
			    const char *job, struct wartifact **a, size_t *n,
			    struct err *err)
{
	struct wlink_http *h = LH(l);
	char *jp = job_path(h, j), *e = curl_easy_escape(h->curl, job, 0);
	char *path = xasprintf("%s/artifacts?worker=%s&attempt=%d&flight=%ld&job=%s",
			       jp, h->conf->name, j->attempt, flight, e);
	json_t *ans = NULL, *x;
	size_t i;
	int rc = get_json(h, path, &ans, err);

	*a = NULL;
	*n = 0;
	if (rc == 0 && !json_is_array(ans))
		rc = err_set(err, ERR_FAIL, "GET %s: not a list", path);
	if (rc == 0) {
		*a = xcalloc(json_array_size(ans) + 1, sizeof(**a));
		json_array_foreach(ans, i, x) {
			const char *p = json_string_value(json_object_get(x, "path"));
			const char *sha = json_string_value(json_object_get(x, "sha256"));

			if (!p || !sha || strlen(sha) != 64 ||
			    strspn(sha, "0123456789abcdef") != 64) {
				rc = err_set(err, ERR_FAIL, "GET %s: a malformed "
					     "artifact", path);
				break;
			}
			(*a)[*n].path = xstrdup(p);
			(*a)[*n].sha256 = xstrdup(sha);
			(*a)[*n].size = json_integer_value(json_object_get(x, "size"));
			(*n)++;
		}
		if (rc < 0) {
			db_worker_artifacts_free(*a, *n);
			*a = NULL;
			*n = 0;
		}
	}
	json_decref(ans);
	curl_free(e);
	free(path);
	free(jp);
	return rc;
}

/* GETs path into a temporary file of the store (the caller unlinks and
 * frees *tmp). */
static int get_file(struct wlink_http *h, const char *path, char **tmp,
		    long timeout_s, struct err *err)
{
	struct hreq q = { .method = "GET", .path = path, .timeout_s = timeout_s };
	struct hanswer a;
	FILE *f;
	int rc;

	*tmp = artifact_tmp_path(h->conf->state, err);
	if (!*tmp)
		return -1;
	f = fopen(*tmp, "wb");
	if (!f)
		return err_set(err, ERR_FAIL, "%s: %s", *tmp, strerror(errno));
	q.download = f;
	rc = hx(h, &q, &a, err);
	if (fclose(f) != 0 && rc == 0)
		rc = err_set(err, ERR_FAIL, "%s: %s", *tmp, strerror(errno));
	if (rc == 0 && a.status != 200)
		rc = status_err(&q, &a, err);
	hanswer_release(&a);
	return rc;
}

static int lh_blob_fetch(struct wlink *l, const struct wjob *j,
			 const char *sha256, long long size, struct err *err)
{
	struct wlink_http *h = LH(l);
	char *local = artifact_path(h->conf->state, sha256);
	char *path = NULL, *tmp = NULL;
	char got[65];
	long long got_size = 0;
	int rc = 0;

	(void)j;
	/* used from now on: no other job's end removes it under us */
	blob_use(h, sha256);
	if (fs_exists(local))
		goto out;
	path = xasprintf("blobs/%s?worker=%s", sha256, h->conf->name);
	rc = get_file(h, path, &tmp, 600 + size / (256LL * 1024), err);
	if (rc == 0 && artifact_store(h->conf->state, tmp, got, &got_size,
				      err) < 0)
		rc = -1;
	else if (rc == 0 && strcmp(got, sha256) != 0)
		rc = err_set(err, ERR_FAIL, "blob %.12s: the controller sent "
			     "%.12s", sha256, got);
out:
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	free(local);
	return rc;
}

static int lh_tree_tar(struct wlink *l, const struct wjob *j,
		       const struct wjob_tree *tr, const char *tar_path,
		       long *files, struct err *err)
{
	struct wlink_http *h = LH(l);
	char *jp = job_path(h, j), *e = curl_easy_escape(h->curl, tr->name, 0);
	char *path = xasprintf("%s/trees/%s.tar?worker=%s&attempt=%d", jp, e,
			       h->conf->name, j->attempt);
	char *tmp = NULL;
	int rc = get_file(h, path, &tmp, 3600, err);

	if (rc == 0 && rename(tmp, tar_path) < 0)
		rc = err_set(err, ERR_FAIL, "%s: %s", tar_path, strerror(errno));
	*files = -1;
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	curl_free(e);
	free(jp);
	return rc < 0 ? err_prefix(err, "from the controller") : 0;
}

/* The job's spool directory says which attempt its files are of, for a
 * worker that finds them after this one stopped without shipping them
 * (wlink_http_start). */
static void lh_job_begin(struct wlink *l, const struct wjob *j)
{
	struct wlink_http *h = LH(l);
	char *dir = xasprintf("%s/logs/%ld/%s", h->conf->state, j->flight, j->job);
	char *mark = xasprintf("%s/.attempt", dir), *text;
	struct err err = ERR_INIT;

	text = xasprintf("%d\n", j->attempt);
	if (fs_mkdir_p(dir, 0755, &err) < 0 ||
	    fs_write_file(mark, text, strlen(text), 0644, &err) < 0)
		log_warnx("flight=%ld job=%s: %s", j->flight, j->job, err.msg);
	free(text);
	free(mark);
	free(dir);
	h->ship = ship_start(h, j);
}

static void lh_job_end(struct wlink *l, const struct wjob *j)
{
	struct wlink_http *h = LH(l);
	struct err err = ERR_INIT;

	if (!h->ship)
		return;
	/* what the consoles said after the last step: a few tries */
	ship_stop(h->ship);
	for (int i = 0; i < 5; i++) {
		err_clear(&err);
		if (ship_flush(h, &err) == 0)
			break;
		if (h->stop && *h->stop)
			break;
		proc_nap_ms(1000);
	}
	if (err.code)
		log_warnx("flight=%ld job=%s: logs: %s", j->flight, j->job, err.msg);
	ship_delete_acked(h->ship);
	ship_free(h->ship);
	h->ship = NULL;
	blobs_release(h);
}

static void lh_free(struct wlink *l)
{
	struct wlink_http *h = LH(l);

	if (!l)
		return;
	curl_slist_free_all(h->hdr_json);
	curl_slist_free_all(h->hdr_raw);
	curl_easy_cleanup(h->curl);
	vec_clear(&h->blobs);
	free(h);
}

static const struct wlink_ops wlink_http_ops = {
	.ok = lh_ok,
	.keep = lh_keep,
	.down = lh_down,
	.wait_ms = lh_wait_ms,
	.log_state = lh_log_state,
	.claim = lh_claim,
	.wait_work = lh_wait_work,
	.heartbeat = lh_heartbeat,
	.holds = lh_holds,
	.record = lh_record,
	.evidence = lh_evidence,
	.finish = lh_finish,
	.hostkey_pin = lh_hostkey_pin,
	.hostkey_clear = lh_hostkey_clear,
	.install_begin = lh_install_begin,
	.install_reported = lh_install_reported,
	.host_installed = lh_host_installed,
	.dep_artifacts = lh_dep_artifacts,
	.blob_fetch = lh_blob_fetch,
	.tree_tar = lh_tree_tar,
	.job_begin = lh_job_begin,
	.job_end = lh_job_end,
	.free = lh_free,
};

/* ---- what a worker that stopped left behind ---- */

/* Removes the regular files of dir (not recursing). */
static void remove_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char *path;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			unlink(path);
		free(path);
	}
	if (d)
		closedir(d);
}

/* Blobs and temporary files: none is in use before the first job, and
 * the controller has what it was sent (a job's artifact record comes
 * after its blob; one never recorded belongs to a job recovery ended). */
static void spool_clean_store(const struct worker_conf *conf)
{
	char *sha = xasprintf("%s/artifacts/sha256", conf->state);
	char *tmp = xasprintf("%s/artifacts/tmp", conf->state);
	DIR *d = opendir(sha);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char *sub;

		if (e->d_name[0] == '.')
			continue;
		sub = xasprintf("%s/%s", sha, e->d_name);
		remove_files(sub);
		rmdir(sub);
		free(sub);
	}
	if (d)
		closedir(d);
	remove_files(tmp);
	free(tmp);
	free(sha);
}

/*
 * Ships the logs of the job in dir (STATE/logs/F/J) that an earlier
 * worker left with its attempt (.attempt), then deletes what was
 * acknowledged: the controller files them in place while the attempt
 * still holds the job, else as late-A/ evidence. -1 when the controller
 * does not answer (the rest waits for the next start).
 */
static int spool_recover_job(struct wlink_http *h, const char *dir, long flight,
			     const char *job)
{
	char *mark = xasprintf("%s/.attempt", dir);
	struct buf b = BUF_INIT;
	struct err err = ERR_INIT;
	struct ship s;
	long attempt;
	int rc = 0;

	buf_init(&b, 64);
	if (buf_read_file(&b, mark) == 0)
		buf_rtrim(&b);
	else
		buf_reset(&b);
	if (strnum_long(b.buf, 1, 1000000, &attempt) < 0) {
		buf_release(&b);
		free(mark);
		return 0;   /* not a job's spool: left alone */
	}
	buf_release(&b);
	free(mark);
	memset(&s, 0, sizeof(s));
	s.dir = xstrdup(dir);
	s.job.flight = flight;
	s.job.job = xstrdup(job);
	s.job.attempt = (int)attempt;
	if (ship_scan(&s, h, &err) < 0) {
		log_warnx("flight=%ld job=%s: logs a stopped worker left: %s; kept "
			  "for the next start", flight, job, err.msg);
		rc = err.code == ERR_DB ? -1 : 0;
	} else {
		log_info("flight=%ld job=%s: the logs a stopped worker left "
			 "(attempt %ld) are delivered", flight, job, attempt);
		ship_delete_acked(&s);
	}
	for (size_t i = 0; i < s.n; i++)
		free(s.files[i].name);
	free(s.files);
	free(s.dir);
	free(s.job.job);
	return rc;
}

static void spool_recover_logs(struct wlink_http *h)
{
	char *logs = xasprintf("%s/logs", h->conf->state);
	DIR *d = opendir(logs);
	struct dirent *e;
	int down = 0;

	while (!down && d && (e = readdir(d))) {
		char *fdir;
		DIR *fd;
		struct dirent *je;
		long flight;

		if (strnum_long(e->d_name, 1, 1L << 62, &flight) < 0)
			continue;
		fdir = xasprintf("%s/%s", logs, e->d_name);
		fd = opendir(fdir);
		while (!down && fd && (je = readdir(fd))) {
			char *jdir;

			if (je->d_name[0] == '.')
				continue;
			jdir = xasprintf("%s/%s", fdir, je->d_name);
			down = spool_recover_job(h, jdir, flight, je->d_name) < 0;
			free(jdir);
		}
		if (fd)
			closedir(fd);
		free(fdir);
	}
	if (d)
		closedir(d);
	free(logs);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_start(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("worker: libcurl does not start");
}

static struct wlink_http *lh_new(const struct worker_conf *conf,
				 const volatile sig_atomic_t *stop)
{
	struct wlink_http *h = xcalloc(1, sizeof(*h));
	char *auth = xasprintf("Authorization: Bearer %s", conf->token);

	pthread_once(&curl_once, curl_start);
	h->l.ops = &wlink_http_ops;
	h->l.peer = "the controller";
	h->l.lease = conf->lease;
	h->l.heartbeat = conf->heartbeat;
	h->conf = conf;
	h->stop = stop;
	h->ok = 1;
	h->curl = curl_easy_init();
	if (!h->curl)
		fatalx("worker: libcurl: no handle");
	h->hdr_json = curl_slist_append(NULL, auth);
	h->hdr_json = curl_slist_append(h->hdr_json,
					"Content-Type: application/json");
	h->hdr_raw = curl_slist_append(NULL, auth);
	h->hdr_raw = curl_slist_append(h->hdr_raw,
				       "Content-Type: application/octet-stream");
	free(auth);
	return h;
}

/* Held for the life of the process: one remote worker per state. */
static int spool_lock_fd = -1;

int wlink_http_start(const struct worker_conf *conf,
		     const volatile sig_atomic_t *stop, struct err *err)
{
	char *lock = xasprintf("%s/spool.lock", conf->state);
	struct wlink_http *h;
	int fd;

	if (fs_mkdir_p(conf->state, 0755, err) < 0) {
		free(lock);
		return -1;
	}
	fd = fs_lock(lock, 1, err);
	free(lock);
	if (fd == ERR_EXISTS)
		return err_set(err, ERR_USAGE, "%s: another remote worker spools "
			       "there (one a state directory: more [worker] slots "
			       "instead)", conf->state);
	if (fd < 0)
		return -1;
	spool_lock_fd = fd;
	spool_clean_store(conf);
	h = lh_new(conf, stop);
	spool_recover_logs(h);
	lh_free(&h->l);
	return 0;
}

int wlink_http_open(const struct worker_conf *conf,
		    const volatile sig_atomic_t *stop, struct wlink **ret,
		    struct err *err)
{
	if (!conf->token || !*conf->token)
		return err_set(err, ERR_USAGE, "a remote worker needs its site's "
			       "worker token ([worker] token-file)");
	*ret = &lh_new(conf, stop)->l;
	return 0;
}
