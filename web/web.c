/*
 * web.c: the libmicrohttpd daemon: listening, request bodies, routing,
 * who is asking, the database workers (each with its connection), the
 * cache of ended flights' answers and the response helpers.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "log.h"
#include "proc.h"
#include "secret.h"
#include "strnum.h"
#include "web.h"
#include "web-internal.h"
#include "xalloc.h"
#include "banned.h"

#define WEB_THREADS_MAX 64
#define WEB_MAX_BODY (64 << 10)   /* requests are small JSON or forms */
#define SESSION_COOKIE "hangar_session"

static const struct web_opts *web_conf;
/* this executable's build ID, "" if none: sent on the control socket */
static char web_build_id[129];
/* [web] read-role = viewer, which a SIGHUP may change under the handlers */
static int read_viewer;

static int web_read_viewer(void)
{
	return __atomic_load_n(&read_viewer, __ATOMIC_RELAXED);
}

/*
 * ---- the database workers ----
 *
 * libmicrohttpd's threads never wait on the database: a request that
 * needs it is suspended (MHD_suspend_connection) and queued to a small
 * pool of worker threads, each owning one connection; the worker makes
 * the answer and resumes the request, which libmicrohttpd's thread then
 * sends. So a cached answer, or a request on another connection, never
 * waits behind a slow query on the same thread.
 */
#define WEB_HTTP_THREADS 2   /* they only parse, look up the cache and send */

struct web_conn;

struct web_job {
	struct web_job *next;
	struct web_req r;            /* a copy: its strings live in the suspended
				      * connection until it is resumed */
	int route;
	struct web_conn *wc;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct db_target target;
	struct web_job *head, *tail;
	/* long polls waiting for NOTIFY hangar_work or their time (web_park) */
	struct web_job *parked;
	unsigned long long wake_gen; /* hangar_work notifications heard */
	int stopping;                /* no more jobs: answered 503 at once */
	int size;
	pthread_t threads[WEB_THREADS_MAX];
} work = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

/*
 * The worker's connection, (re)connected as needed. A connection the
 * server dropped (a restart) is noticed here, before a query fails on it;
 * it reconnects, never starting a cluster someone stopped, and prepares
 * its statements again as they come.
 */
static int web_worker_db(struct db **db, struct err *err)
{
	if (!*db) {
		if (db_open_raw(&work.target, db, err) < 0)
			return err->code;
		db_set_prepare(*db, 1);
		return 0;
	}
	if (!db_connection_ok(*db) && db_reconnect(*db, err) < 0)
		return err->code;
	return 0;
}

/*
 * ---- the cache: answers about ended flights, kept until the flight's row
 * changes (NOTIFY hangar_flight from migration 0007) ----
 *
 * A reader notes the generation before it reads the database and keeps
 * its answer only if no notification came meanwhile, so an answer read
 * before a change is never kept after it. While the listening connection
 * is down nothing is kept.
 */
#define CACHE_SLOTS 512
#define CACHE_MAX_BODY (512 << 10)   /* at most 256 MiB kept in all */

struct cache_slot {
	char *url;
	long flight;
	unsigned status;
	struct MHD_Response *resp;   /* one reference is the cache's */
};

static struct {
	pthread_mutex_t mu;
	struct cache_slot slot[CACHE_SLOTS];
	uint64_t gen;
	int live;                    /* the listener is listening */
	volatile int stop;
	pthread_t thread;
} cache = { .mu = PTHREAD_MUTEX_INITIALIZER };

static size_t cache_hash(const char *s)
{
	size_t h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h % CACHE_SLOTS;
}

static void cache_drop(struct cache_slot *s)
{
	if (s->resp)
		MHD_destroy_response(s->resp);
	free(s->url);
	memset(s, 0, sizeof(*s));
}

/* Forgets flight (or every flight for 0); call with cache.mu held. */
static void cache_forget(long flight)
{
	cache.gen++;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		if (cache.slot[i].url && (!flight || cache.slot[i].flight == flight))
			cache_drop(&cache.slot[i]);
}

static struct MHD_Response *cache_get(const char *url, unsigned *status)
{
	struct MHD_Response *resp = NULL;
	struct cache_slot *s;

	pthread_mutex_lock(&cache.mu);
	s = &cache.slot[cache_hash(url)];
	if (cache.live && s->url && !strcmp(s->url, url)) {
		resp = s->resp;
		*status = s->status;
		/* queued under the lock: a concurrent drop cannot free it first */
	}
	if (!resp)
		pthread_mutex_unlock(&cache.mu);
	return resp;
}

static void cache_put(const char *url, long flight, uint64_t gen,
		      unsigned status, struct MHD_Response *resp)
{
	struct cache_slot *s;

	pthread_mutex_lock(&cache.mu);
	if (cache.live && cache.gen == gen) {
		s = &cache.slot[cache_hash(url)];
		cache_drop(s);
		s->url = xstrdup(url);
		s->flight = flight;
		s->status = status;
		s->resp = resp;
		resp = NULL;
	}
	pthread_mutex_unlock(&cache.mu);
	if (resp)
		MHD_destroy_response(resp);
}

static void web_wake_parked(int all);

/* A flight's row changed (its number is the payload): forget it. Work
 * may be claimable (hangar_work): the long polls look again. */
static void cache_notified(const char *channel, const char *payload, void *arg)
{
	long flight = 0;

	(void)arg;
	if (!strcmp(channel, "hangar_work")) {
		web_wake_parked(1);
		return;
	}
	strnum_long(payload, 1, 1L << 62, &flight);
	pthread_mutex_lock(&cache.mu);
	cache_forget(flight);
	pthread_mutex_unlock(&cache.mu);
}

static void *cache_listener(void *arg)
{
	static const char *const channels[] = { "hangar_flight", "hangar_work",
						NULL };
	struct db_keep keep = { .channels = channels };
	struct db *db = NULL;

	(void)arg;
	while (!cache.stop) {
		struct err err = ERR_INIT;

		/* a server gone away is noticed by reading its socket */
		if (!db || !db_connection_ok(db)) {
			enum db_keep_state st;

			pthread_mutex_lock(&cache.mu);
			cache.live = 0;
			cache_forget(0);
			pthread_mutex_unlock(&cache.mu);
			/* the first connection may start the private cluster;
			 * later ones never do (someone may have stopped it) */
			if (!db && (db_open_raw(&work.target, &db, &err) < 0 ||
				    db_listen(db, "hangar_flight", &err) < 0 ||
				    db_listen(db, "hangar_work", &err) < 0)) {
				db_close(db);
				db = NULL;
				sleep(1);
				continue;
			}
			st = db_keep(db, &keep, &err);
			if (st == DB_KEEP_LOST)
				log_warnx("lost the database (%s): pages are read "
					  "from it, uncached, when it is back", err.msg);
			else if (st == DB_KEEP_BACK)
				log_info("the database is back");
			if (keep.down) {
				proc_nap_ms(db_keep_wait_ms(&keep) < 1000
						    ? db_keep_wait_ms(&keep) : 1000);
				continue;
			}
			/* readers that began before it listened keep nothing */
			pthread_mutex_lock(&cache.mu);
			cache.gen++;
			cache.live = 1;
			pthread_mutex_unlock(&cache.mu);
		}
		/* long polls whose time is up answer (also while the
		 * database is away: see above, it naps at most a second) */
		web_wake_parked(0);
		/* a failed connection (ERR_DB) is seen next turn */
		if (db_wait_notify_each(db, 500, cache_notified, NULL, &err) ==
		    ERR_FAIL)
			break;
	}
	pthread_mutex_lock(&cache.mu);
	cache.live = 0;
	cache_forget(0);
	pthread_mutex_unlock(&cache.mu);
	db_close(db);
	return NULL;
}

/* What one request carries between libmicrohttpd's calls. */
struct web_conn {
	struct buf body;
	int too_large;
	uint64_t gen;                /* cache generation when it started */
	/* a request handed to a worker: suspended until answered */
	int queued;
	enum MHD_Result ret;         /* the handler's, MHD_NO: close */
	unsigned status;
	struct MHD_Response *resp;   /* the answer to queue, or NULL */
	long cache_flight;
	int cacheable;
	/* a raw body: where it goes (web_upload_accept) */
	struct web_upload *up;
	/* a long poll (web_park): parked by its handler, until when */
	int parked;
	unsigned long long park_gen;
	long long park_deadline;     /* proc_now_ms(); 0: not parked yet */
};

/* ---- responses ---- */

/* Queues resp (one reference taken) on the connection, from
 * libmicrohttpd's thread, and lets the cache keep it. */
static enum MHD_Result web_send(struct MHD_Connection *conn, const char *url,
				unsigned status, struct MHD_Response *resp,
				long cache_flight, int cacheable, uint64_t gen)
{
	enum MHD_Result ret = MHD_queue_response(conn, status, resp);

	if (cache_flight && cacheable && status == MHD_HTTP_OK && ret == MHD_YES)
		cache_put(url, cache_flight, gen, status, resp);
	else
		MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result web_queue(struct web_req *r, unsigned status,
			  struct MHD_Response *resp)
{
	struct web_conn *wc = r->deferred;

	if (!wc)
		return web_send(r->conn, r->url, status, resp, r->cache_flight,
				r->cacheable, r->cache_gen);
	/* a worker: libmicrohttpd's thread sends it once resumed */
	if (wc->resp)
		MHD_destroy_response(wc->resp);
	wc->resp = resp;
	wc->status = status;
	wc->cache_flight = r->cache_flight;
	wc->cacheable = r->cacheable;
	return MHD_YES;
}

static enum MHD_Result web_respond(struct web_req *r, unsigned status,
				   const char *type, char *body, size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		len, body, MHD_RESPMEM_MUST_FREE);

	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (len > CACHE_MAX_BODY)
		r->cache_flight = 0;
	if (strncmp(r->url, "/static/", 8))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
					"no-cache");
	else
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
					"max-age=300");
	/* the CLI takes only its own build's answers (cli/ctl-client.c) */
	if (r->local && web_build_id[0])
		MHD_add_response_header(resp, "X-Hangar-Build", web_build_id);
	if (!strncmp(type, "text/html", 9))
		MHD_add_response_header(resp, "Content-Security-Policy",
					"default-src 'self'; style-src 'self'; "
					"img-src 'self' data:; frame-ancestors 'none'");
	return web_queue(r, status, resp);
}

enum MHD_Result web_html(struct web_req *r, unsigned status, struct buf *body)
{
	size_t len = body->len;

	return web_respond(r, status, "text/html; charset=utf-8",
			   buf_detach(body), len);
}

enum MHD_Result web_text(struct web_req *r, unsigned status, const char *type,
			 struct buf *body)
{
	size_t len = body->len;

	return web_respond(r, status, type, buf_detach(body), len);
}

enum MHD_Result web_json(struct web_req *r, unsigned status, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!text) {
		/* a value Jansson refused: a bug, never a crash */
		log_warnx("%s %s: an answer that is not JSON", r->method, r->url);
		r->cache_flight = 0;
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		text = xstrdup("{\"error\":\"internal error\",\"detail\":"
			       "\"the answer could not be encoded\"}");
	}
	return web_respond(r, status, "application/json", text, strlen(text));
}

/* detail as a JSON string: when it is not valid UTF-8 (a URL's %FF),
 * with every byte beyond ASCII shown as '?'. */
static json_t *json_detail(const char *detail)
{
	json_t *j = json_string(detail ? detail : "");
	char *ascii;

	if (j)
		return j;
	ascii = xstrdup(detail);
	for (unsigned char *p = (unsigned char *)ascii; *p; p++)
		if (*p >= 0x80)
			*p = '?';
	j = json_string(ascii);
	free(ascii);
	return j;
}

enum MHD_Result web_error(struct web_req *r, unsigned status,
			  const char *error, const char *detail)
{
	r->cache_flight = 0;
	return web_json(r, status, json_pack("{s:s,s:o}", "error", error,
					     "detail", json_detail(detail)));
}

/* Answered for programs (JSON errors), not people. */
static int web_is_api(const struct web_req *r)
{
	return !strncmp(r->url, "/api/", 5) || !strcmp(r->url, "/metrics");
}

static enum MHD_Result web_page_error(struct web_req *r, unsigned status,
				      const char *title, const char *what)
{
	struct buf b = BUF_INIT;

	r->cache_flight = 0;
	html_page_begin_for(&b, title, r->user);
	buf_addstr(&b, "<h1>");
	html_escape(&b, title);
	buf_addstr(&b, "</h1><p>");
	html_escape(&b, what);
	buf_addstr(&b, "</p>");
	html_page_end(&b);
	return web_html(r, status, &b);
}

enum MHD_Result web_not_found(struct web_req *r, const char *what)
{
	if (web_is_api(r))
		return web_error(r, MHD_HTTP_NOT_FOUND, "not found", what);
	return web_page_error(r, MHD_HTTP_NOT_FOUND, "Not found", what);
}

enum MHD_Result web_db_error(struct web_req *r, const struct err *err)
{
	unsigned status = err->code == ERR_NOTFOUND ? MHD_HTTP_NOT_FOUND
			: err->code == ERR_USAGE ? MHD_HTTP_BAD_REQUEST
			: err->code == ERR_EXISTS ? MHD_HTTP_CONFLICT
			: MHD_HTTP_INTERNAL_SERVER_ERROR;
	const char *what = status == MHD_HTTP_NOT_FOUND ? "not found"
			 : status == MHD_HTTP_BAD_REQUEST ? "bad request"
			 : status == MHD_HTTP_CONFLICT ? "conflict"
			 : "database error";

	/* the server went away under the query: said once by the listener */
	if (status == MHD_HTTP_INTERNAL_SERVER_ERROR && r->db &&
	    !db_connection_ok(r->db)) {
		status = MHD_HTTP_SERVICE_UNAVAILABLE;
		what = "database unavailable";
	}
	if (status == MHD_HTTP_INTERNAL_SERVER_ERROR)
		log_warnx("%s %s: %s", r->method, r->url, err->msg);
	if (web_is_api(r))
		return web_error(r, status, what, err->msg);
	return web_page_error(r, status, what, err->msg);
}

enum MHD_Result web_redirect(struct web_req *r, const char *location,
			     const char *cookie)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);

	r->cache_flight = 0;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	if (cookie)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	return web_queue(r, MHD_HTTP_SEE_OTHER, resp);
}

const char *web_query(struct web_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

long web_arg_flight(struct web_req *r, int i)
{
	long id;

	return strnum_long(r->args[i], 1, 1L << 62, &id) < 0 ? 0 : id;
}

/* ---- who is asking ---- */

void web_csrf_token(const char *session, char out[33])
{
	struct buf b = BUF_INIT;
	char hash[65];

	buf_addf(&b, "hangar csrf %s", session);
	secret_sha256_hex(b.buf, b.len, hash);
	buf_release(&b);
	memcpy(out, hash, 32);
	out[32] = '\0';
}

int web_csrf_ok(struct web_req *r, const struct vec *form)
{
	const char *got = web_form_get(form, "csrf");
	char want[33];

	if (!r->session || !got)
		return 0;
	web_csrf_token(r->session, want);
	return secret_equal(got, want);
}

/*
 * The token of the request: Authorization: Bearer, else (for pages and
 * forms, never for the API's actions, which a foreign page could make a
 * browser send) the session cookie.
 */
static const char *web_token(struct web_req *r, char *cookie, size_t len,
			     int *from_cookie)
{
	const char *auth = MHD_lookup_connection_value(
		r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *cookies = MHD_lookup_connection_value(
		r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);

	*from_cookie = 0;
	if (auth && !strncasecmp(auth, "Bearer ", 7)) {
		auth += 7;
		while (*auth == ' ')
			auth++;
		return auth;
	}
	if (auth)
		return "";   /* another scheme: a bad token, not anonymous */
	if (cookies && web_cookie_get(cookies, SESSION_COOKIE, cookie, len) == 0 &&
	    cookie[0] && (!web_is_api(r) || !strcmp(r->method, "GET") ||
			  !strcmp(r->method, "HEAD"))) {
		*from_cookie = 1;
		return cookie;
	}
	return NULL;
}

/*
 * Whether a form came from a page of ours (beside the CSRF token, and for
 * logging in, which has none): browsers say where with Sec-Fetch-Site and
 * Origin. Clients that send neither (curl) are not browsers.
 */
static int web_same_site(struct web_req *r)
{
	const char *site = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						       "Sec-Fetch-Site");
	const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
							 "Origin");
	const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_HOST);
	const char *o;

	if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
		return 0;
	if (!origin || !strcmp(origin, "null"))
		return !origin;
	o = strstr(origin, "://");
	return o && host && !strcmp(o + 3, host);
}

/* 401 or 403 (API), else the login page or a 403 page. */
static enum MHD_Result web_denied(struct web_req *r, enum role need)
{
	struct buf b = BUF_INIT;
	char *loc;
	enum MHD_Result ret;

	if (web_is_api(r)) {
		char *why = xasprintf("this needs a %s token", role_name(need));

		ret = r->user ? web_error(r, MHD_HTTP_FORBIDDEN, "forbidden", why)
			      : web_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized", why);
		free(why);
		return ret;
	}
	if (r->user || (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")))
		return web_page_error(r, r->user ? MHD_HTTP_FORBIDDEN
						 : MHD_HTTP_UNAUTHORIZED,
				      "Not allowed",
				      r->user ? "Your role does not allow this."
					      : "Log in first.");
	buf_addstr(&b, "/login?next=");
	for (const char *p = r->url; *p; p++)
		buf_addf(&b, isalnum((unsigned char)*p) || strchr("/-_.", *p)
				     ? "%c" : "%%%02X", (unsigned char)*p);
	loc = buf_detach(&b);
	ret = web_redirect(r, loc, NULL);
	free(loc);
	return ret;
}

/* ---- routing ---- */

static enum MHD_Result web_style(struct web_req *r)
{
	return web_respond(r, MHD_HTTP_OK, "text/css", xstrdup(web_stylesheet),
			   strlen(web_stylesheet));
}

static enum MHD_Result web_script_file(struct web_req *r)
{
	return web_respond(r, MHD_HTTP_OK, "text/javascript",
			   xstrdup(web_script), strlen(web_script));
}

static enum MHD_Result web_whoami(struct web_req *r)
{
	return web_json(r, MHD_HTTP_OK,
			json_pack("{s:s?, s:s}", "user", r->user, "role",
				  role_name(r->role)));
}

typedef enum MHD_Result (*web_handler_fn)(struct web_req *r);

static const web_handler_fn web_handlers[R_COUNT] = {
	[R_STYLE] = web_style,
	[R_SCRIPT] = web_script_file,
	[R_OVERVIEW] = web_overview_page,
	[R_FLIGHTS_PAGE] = web_flights_page,
	[R_FLIGHT_PAGE] = web_flight_page,
	[R_JOB_PAGE] = web_job_page,
	[R_LOG_PAGE] = web_log_page,
	[R_JOB_HISTORY_PAGE] = web_job_history_page,
	[R_HOSTS_PAGE] = web_hosts_page,
	[R_HOST_PAGE] = web_host_page,
	[R_PLAN_PAGE] = web_plan_page,
	[R_BRANCH_PAGE] = web_branch_page,
	[R_BISECTIONS_PAGE] = web_bisections_page,
	[R_BISECTION_PAGE] = web_bisection_page,
	[R_REQUEST_PAGE] = web_request_page,
	[R_LOGIN_PAGE] = web_login_page,
	[R_LOG_FILE] = web_log_file,
	[R_METRICS] = web_metrics,
	[R_FLIGHTS_API] = web_flights_api,
	[R_FLIGHT_API] = web_flight_api,
	[R_REPORT_API] = web_report_api,
	[R_JOB_API] = web_job_api,
	[R_JOB_HISTORY_API] = web_job_history_api,
	[R_HOSTS_API] = web_hosts_api,
	[R_HOST_API] = web_host_api,
	[R_PLAN_API] = web_plan_api,
	[R_BRANCHES_API] = web_branches_api,
	[R_BRANCH_API] = web_branch_api,
	[R_RESERVATIONS_API] = web_reservations_api,
	[R_RESERVATION_API] = web_reservations_api,
	[R_BISECTIONS_API] = web_bisections_api,
	[R_BISECTION_API] = web_bisection_api,
	[R_WHOAMI_API] = web_whoami,
	[R_INSTALL_GET] = web_install_report,
	[R_INSTALL_POST] = web_install_report,
	[R_REQUEST_POST] = web_request_post,
	[R_REQUEST_DELETE] = web_request_delete,
	[R_RESERVE_POST] = web_reserve_post,
	[R_RESERVE_DELETE] = web_reserve_delete,
	[R_CANCEL_POST] = web_cancel_post,
	[R_MAINTENANCE_POST] = web_maintenance_post,
	[R_BLOCK_POST] = web_block_post,
	[R_UNBLOCK_POST] = web_block_post,
	[R_FORCE_POST] = web_force_post,
	[R_LOGIN_POST] = web_login_post,
	[R_LOGOUT_POST] = web_logout_post,
	[R_REQUEST_FORM_POST] = web_request_form_post,
	[R_CANCEL_FORM_POST] = web_cancel_form_post,
	[R_WORKER_CLAIM] = web_worker_claim,
	[R_WORKER_HEARTBEAT] = web_worker_heartbeat,
	[R_WORKER_RECORDS] = web_worker_records,
	[R_WORKER_FINISH] = web_worker_finish,
	[R_WORKER_HOSTKEY] = web_worker_hostkey,
	[R_WORKER_INSTALL] = web_worker_install,
	[R_WORKER_ARTIFACTS] = web_worker_artifacts,
	[R_WORKER_BLOB_GET] = web_worker_blob_get,
	[R_WORKER_BLOB_PUT] = web_worker_blob_put,
	[R_WORKER_LOG_PUT] = web_worker_log_put,
	[R_WORKER_TREE] = web_worker_tree,
	[R_EVIDENCE_STYLE] = web_evidence_style,
	[R_EVIDENCE_PAGE] = web_evidence_page,
	[R_EVIDENCE_API] = web_evidence_api,
	[R_EVIDENCE_SIGNATURE] = web_evidence_signature,
	[R_EVIDENCE_SIGNERS] = web_evidence_signers,
	[R_FLIGHT_EVIDENCE_API] = web_flight_evidence_api,
};

static enum MHD_Result web_route(struct web_req *r, int route)
{
	const struct web_route_def *def = &web_routes[route];
	enum role need = def->need == NEED_ADMIN ? ROLE_ADMIN
		       : def->need == NEED_DEVELOPER ? ROLE_DEVELOPER
		       : def->need == NEED_READ && web_read_viewer() ? ROLE_VIEWER
		       : ROLE_NONE;
	char cookie[128], actor[160];
	const char *token;
	int from_cookie;

	token = web_token(r, cookie, sizeof(cookie), &from_cookie);
	if (token) {
		struct err err = ERR_INIT;

		if (db_token_lookup(r->db, token, &r->user, &r->role, &r->site,
				    &err) < 0) {
			if (err.code != ERR_NOTFOUND)
				return web_db_error(r, &err);
			if (!from_cookie && def->need != NEED_NOBODY)
				return web_error(r, MHD_HTTP_UNAUTHORIZED,
						 "unauthorized", err.msg);
		} else if (from_cookie) {
			r->session = token;
		}
	}
	/* a worker token is kept apart from the roles, which it must not
	 * be compared with: it may use the worker's routes, and only it,
	 * and only as a bearer token, not a browser's session */
	if (def->need == NEED_WORKER) {
		if (!r->user)
			return web_error(r, MHD_HTTP_UNAUTHORIZED, "unauthorized",
					 "this needs a worker token");
		if (r->role != ROLE_WORKER || from_cookie || !r->site)
			return web_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
					 "this needs a worker token");
	} else if (r->role == ROLE_WORKER) {
		return web_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
				 "a worker token is for /api/v1/worker/ only");
	} else if (r->role < need) {
		return web_denied(r, need);
	}
	if (!web_is_api(r) && strcmp(r->method, "GET") && strcmp(r->method, "HEAD") &&
	    !web_same_site(r))
		return web_page_error(r, MHD_HTTP_FORBIDDEN, "Not allowed",
				      "This form was sent from another site.");
	snprintf(actor, sizeof(actor), "%s@web", r->user ? r->user : "anonymous");
	db_set_thread_actor(actor);
	if (!web_handlers[def->id])
		return web_not_found(r, r->url);
	return web_handlers[def->id](r);
}

/* Query values reach the database: they must be UTF-8. */
static enum MHD_Result web_arg_check(void *cls, enum MHD_ValueKind kind,
				     const char *key, const char *value)
{
	int *bad = cls;

	(void)kind;
	if (!web_utf8_ok(key) || (value && !web_utf8_ok(value))) {
		*bad = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

static void web_completed(void *cls, struct MHD_Connection *conn,
			  void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct web_conn *wc = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (wc) {
		if (wc->up)
			wc->up->ops->release(wc->up);
		buf_release(&wc->body);
		if (wc->resp)   /* answered, but the client went away first */
			MHD_destroy_response(wc->resp);
		free(wc);
		*con_cls = NULL;
	}
}

/* ---- long polls (web_park) ---- */

unsigned long long web_wake_gen(void)
{
	unsigned long long gen;

	pthread_mutex_lock(&work.mu);
	gen = work.wake_gen;
	pthread_mutex_unlock(&work.mu);
	return gen;
}

int web_park(struct web_req *r, unsigned long long gen, long wait_s)
{
	struct web_conn *wc = r->deferred;
	long long now = proc_now_ms();
	int stopping;

	if (!wc)
		return -1;
	pthread_mutex_lock(&work.mu);
	stopping = work.stopping;
	pthread_mutex_unlock(&work.mu);
	if (!wc->park_deadline)
		wc->park_deadline = now + wait_s * 1000;
	if (stopping || now >= wc->park_deadline)
		return -1;
	wc->parked = 1;
	wc->park_gen = gen;
	return 0;
}

/* Queues job to run again; call with work.mu held. */
static void web_requeue_locked(struct web_job *job)
{
	job->next = NULL;
	if (work.tail)
		work.tail->next = job;
	else
		work.head = job;
	work.tail = job;
	pthread_cond_signal(&work.cv);
}

/* A worker's job whose handler parked it: it waits, suspended, unless
 * something happened since its handler looked (then it runs again). */
static void web_park_job(struct web_job *job)
{
	struct web_conn *wc = job->wc;

	pthread_mutex_lock(&work.mu);
	wc->parked = 0;
	if (work.stopping || work.wake_gen != wc->park_gen) {
		web_requeue_locked(job);
	} else {
		job->next = work.parked;
		work.parked = job;
	}
	pthread_mutex_unlock(&work.mu);
}

/* Runs the parked long polls again: all of them (a notification), or
 * those whose time is up. */
static void web_wake_parked(int all)
{
	long long now = proc_now_ms();
	struct web_job **p;

	pthread_mutex_lock(&work.mu);
	if (all)
		work.wake_gen++;
	for (p = &work.parked; *p;) {
		struct web_job *job = *p;

		if (all || now >= job->wc->park_deadline) {
			*p = job->next;
			web_requeue_locked(job);
		} else {
			p = &job->next;
		}
	}
	pthread_mutex_unlock(&work.mu);
}

/* ---- raw bodies ---- */

void web_upload_accept(struct web_req *r, struct web_upload *u)
{
	struct web_conn *wc = r->deferred;

	ASSERT(wc && !wc->up);
	wc->up = u;
}

long long web_content_length(struct web_req *r)
{
	const char *cl = MHD_lookup_connection_value(
		r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	long n;

	if (!cl || strnum_long(cl, 0, 1L << 62, &n) < 0)
		return -1;
	return n;
}

const struct web_opts *web_options(void)
{
	return web_conf;
}

static void *web_worker(void *arg)
{
	struct db *db = NULL;

	(void)arg;
	for (;;) {
		struct err err = ERR_INIT;
		struct web_job *job;
		struct web_conn *wc;

		pthread_mutex_lock(&work.mu);
		while (!work.head && !work.stopping)
			pthread_cond_wait(&work.cv, &work.mu);
		/* stopping: what was queued is still answered */
		job = work.head;
		if (job && !(work.head = job->next))
			work.tail = NULL;
		pthread_mutex_unlock(&work.mu);
		if (!job)
			break;
		wc = job->wc;
		if (web_worker_db(&db, &err) < 0) {
			log_warnx("request %s: %s", job->r.url, err.msg);
			wc->ret = web_error(&job->r, MHD_HTTP_SERVICE_UNAVAILABLE,
					    "database unavailable", err.msg);
		} else {
			job->r.db = db;
			wc->ret = web_route(&job->r, job->route);
			/* a handler that failed inside a transaction leaves
			 * none open */
			if (!db_idle(db))
				db_rollback(db);
		}
		free(job->r.user);
		free(job->r.site);
		job->r.user = job->r.site = NULL;
		if (wc->parked && !wc->resp) {
			web_park_job(job);
			continue;
		}
		/* wc is written before: resuming hands it back */
		MHD_resume_connection(job->r.conn);
		free(job);
	}
	db_close(db);
	return NULL;
}

/* Hands r to a worker and suspends its connection; 0, or -1 when the
 * server is stopping. */
static int web_enqueue(struct web_req *r, int route, struct web_conn *wc)
{
	struct web_job *job = xcalloc(1, sizeof(*job));

	job->r = *r;
	job->r.deferred = wc;
	job->route = route;
	job->wc = wc;
	pthread_mutex_lock(&work.mu);
	if (work.stopping) {
		pthread_mutex_unlock(&work.mu);
		free(job);
		return -1;
	}
	wc->queued = 1;
	/* suspended before a worker can see it, and so resume it */
	MHD_suspend_connection(r->conn);
	if (work.tail)
		work.tail->next = job;
	else
		work.head = job;
	work.tail = job;
	pthread_cond_signal(&work.cv);
	pthread_mutex_unlock(&work.mu);
	return 0;
}

/*
 * ---- the control socket ----
 *
 * `hangar flight report` asks here first (cli/ctl-client.c), as smtpctl
 * asks smtpd: this daemon's connections are warm (catalog cached,
 * statements prepared), where a new process pays some 10 ms for a fresh
 * backend's catalog and planning before its first answer. A
 * second libmicrohttpd daemon serves the same handler on an AF_UNIX
 * socket in the state directory, owner-only (made under umask 0177 before
 * any thread runs, mode 0600), and only the report route (web_handler).
 */
static struct {
	char *path;
	int fd;                      /* bound and listening, or -1 */
	struct MHD_Daemon *d;
} web_control = { .fd = -1 };

/*
 * Binds STATE/web.sock, replacing a stale file (a daemon killed -9); one
 * another daemon still answers on is left to it. Without the socket the
 * CLI reads the database itself, so problems are only logged.
 */
static void web_control_listen(const char *state)
{
	struct sockaddr_un sa;
	mode_t mask;
	int fd;

	web_control.path = xasprintf("%s/%s", state, WEB_CONTROL_SOCKET);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(web_control.path) >= sizeof(sa.sun_path)) {
		log_warnx("%s: path too long for a socket: the CLI reads the "
			  "database itself", web_control.path);
		goto fail;
	}
	memcpy(sa.sun_path, web_control.path, strlen(web_control.path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail_errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		log_warnx("%s: another hangar web answers there: left to it",
			  web_control.path);
		goto fail;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail_errno;
	if (unlink(web_control.path) < 0 && errno != ENOENT) {
		close(fd);
		goto fail_errno;
	}
	mask = umask(0177);   /* srw------- */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 64) < 0) {
		umask(mask);
		close(fd);
		goto fail_errno;
	}
	umask(mask);
	web_control.fd = fd;
	return;
fail_errno:
	log_warn("%s", web_control.path);
fail:
	free(web_control.path);
	web_control.path = NULL;
}

static enum MHD_Result web_handler(void *cls, struct MHD_Connection *conn,
				   const char *url, const char *method,
				   const char *version, const char *upload_data,
				   size_t *upload_data_size, void **con_cls)
{
	struct web_req r;
	struct web_conn *wc = *con_cls;
	struct MHD_Response *cached;
	enum MHD_Result ret;
	unsigned status;
	int route, bad_query = 0;

	(void)version;
	memset(&r, 0, sizeof(r));
	r.conn = conn;
	r.url = url;
	r.method = method;
	r.state = web_conf->state;
	r.local = cls == &web_control;
	if (wc && wc->queued) {
		/* resumed: a worker answered */
		struct MHD_Response *resp = wc->resp;

		wc->resp = NULL;
		if (resp)
			return web_send(conn, url, wc->status, resp,
					wc->cache_flight, wc->cacheable, wc->gen);
		if (!wc->up)
			return wc->ret;
		/* its handler took a raw body: now it may come (libmicrohttpd
		 * calls again as after the headers: that call is not the end) */
		wc->queued = 0;
		if (!*upload_data_size)
			return MHD_YES;
	}
	if (wc && wc->up) {
		struct web_upload *u = wc->up;

		if (*upload_data_size) {
			long long n = (long long)*upload_data_size;

			if (u->failed) {
				/* dropped */
			} else if (u->got + n > u->cap) {
				u->failed = u->too_large = 1;
			} else if (u->ops->write(u, upload_data, *upload_data_size) < 0) {
				u->failed = 1;
			} else {
				u->got += n;
			}
			*upload_data_size = 0;
			return MHD_YES;
		}
		return u->ops->done(&r, u);
	}
	if (!wc) {
		/* first call: headers only */
		const char *cl = MHD_lookup_connection_value(
			conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		long n;

		wc = xcalloc(1, sizeof(*wc));
		*con_cls = wc;
		pthread_mutex_lock(&cache.mu);
		wc->gen = cache.gen;
		pthread_mutex_unlock(&cache.mu);
		/* a raw body (logs, blobs: PUT only) is the handler's to take
		 * or refuse before it is read: to a worker at once */
		route = strcmp(method, "PUT") ? -1
					      : web_route_find(method, url, r.args);
		if (route >= 0 && web_route_raw(web_routes[route].id)) {
			if (r.local)   /* the report alone, as below */
				return web_not_found(&r, url);
			if (!web_utf8_ok(url))
				return web_not_found(&r, "not a UTF-8 path");
			MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND,
						  web_arg_check, &bad_query);
			if (bad_query)
				return web_error(&r, MHD_HTTP_BAD_REQUEST,
						 "bad request",
						 "a query value is not UTF-8");
			if (!cl)
				return web_error(&r, MHD_HTTP_LENGTH_REQUIRED,
						 "length required",
						 "a raw body needs Content-Length");
			if (web_enqueue(&r, route, wc) < 0)
				return web_error(&r, MHD_HTTP_SERVICE_UNAVAILABLE,
						 "shutting down",
						 "the server is stopping");
			return MHD_YES;
		}
		/* refused before the body is read: it is never read */
		if (cl && (strnum_long(cl, 0, 1L << 62, &n) < 0 || n > WEB_MAX_BODY))
			return web_error(&r, MHD_HTTP_CONTENT_TOO_LARGE,
					 "request too large",
					 "bodies are limited to 64 KiB");
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (wc->body.len + *upload_data_size > WEB_MAX_BODY)
			wc->too_large = 1;
		else
			buf_add(&wc->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (wc->too_large)
		return web_error(&r, MHD_HTTP_CONTENT_TOO_LARGE, "request too large",
				 "bodies are limited to 64 KiB");
	r.body = wc->body.len ? wc->body.buf : NULL;
	r.body_len = wc->body.len;
	r.cache_gen = wc->gen;
	route = web_route_find(method, url, r.args);
	if (route == -2)
		return web_error(&r, MHD_HTTP_METHOD_NOT_ALLOWED,
				 "method not allowed", method);
	if (route < 0 || !web_utf8_ok(url))
		return web_not_found(&r, route < 0 ? url : "not a UTF-8 path");
	/* the control socket is for `hangar flight report`, nothing else */
	if (r.local && web_routes[route].id != R_REPORT_API)
		return web_not_found(&r, url);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, web_arg_check,
				  &bad_query);
	if (bad_query)
		return web_error(&r, MHD_HTTP_BAD_REQUEST, "bad request",
				 "a query value is not UTF-8");
	/* anonymous reads of ended flights may come from the cache, which
	 * keeps answers by path: none with a query. Not the CLI's: its
	 * answer must be as fresh as its own query would be, and a change
	 * reaches the cache a moment after its commit (the notification) */
	r.cacheable = !r.local && web_routes[route].need == NEED_READ &&
		      !MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND,
						 NULL, NULL) &&
		      !web_read_viewer() &&
		      !strcmp(web_routes[route].method, "GET") &&
		      !MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						   MHD_HTTP_HEADER_AUTHORIZATION) &&
		      !MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						   MHD_HTTP_HEADER_COOKIE);
	if (r.cacheable && (cached = cache_get(url, &status))) {
		ret = MHD_queue_response(conn, status, cached);
		pthread_mutex_unlock(&cache.mu);
		return ret;
	}
	if (web_enqueue(&r, route, wc) < 0)
		return web_error(&r, MHD_HTTP_SERVICE_UNAVAILABLE,
				 "shutting down", "the server is stopping");
	return MHD_YES;
}

/* Stops the first n workers once they have answered what is queued. */
static void web_workers_stop(int n)
{
	pthread_mutex_lock(&work.mu);
	work.stopping = 1;
	/* the long polls answer now: none may stay suspended */
	while (work.parked) {
		struct web_job *job = work.parked;

		work.parked = job->next;
		web_requeue_locked(job);
	}
	pthread_cond_broadcast(&work.cv);
	pthread_mutex_unlock(&work.mu);
	for (int i = 0; i < n; i++)
		pthread_join(work.threads[i], NULL);
}

static int web_parse_listen(const char *listen, struct addrinfo **ai,
			    struct err *err)
{
	struct addrinfo hints;
	const char *colon = strrchr(listen, ':');
	char *host;
	int rc;

	if (!colon || colon == listen || !colon[1])
		return err_set(err, ERR_USAGE,
			       "listen address '%s' is not HOST:PORT", listen);
	host = xstrndup(listen, (size_t)(colon - listen));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host, colon + 1, &hints, ai);
	free(host);
	if (rc)
		return err_set(err, ERR_USAGE, "listen address '%s': %s", listen,
			       gai_strerror(rc));
	return 0;
}

/*
 * The PEM file of [web] key into *pem (caller frees), checked: a
 * certificate (tls-cert) or a private key (tls-key) OpenSSL can read, so
 * that a bad file is an error naming its key at start rather than every
 * handshake failing later. libmicrohttpd itself speaks TLS with GnuTLS.
 */
static int web_tls_read(const char *key, const char *path, char **pem,
			struct err *err)
{
	int is_cert = !strcmp(key, "tls-cert");
	struct buf b;
	BIO *bio;
	int ok;

	buf_init(&b, 1 << 20);
	if (buf_read_file(&b, path) < 0) {
		err_set(err, ERR_USAGE, "[web] %s: %s: %s", key, path,
			b.overflowed ? "over 1 MiB" : strerror(errno));
		buf_release(&b);
		return err->code;
	}
	bio = BIO_new_mem_buf(b.buf, (int)b.len);
	if (is_cert) {
		X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

		ok = x != NULL;
		X509_free(x);
	} else {
		EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);

		ok = k != NULL;
		EVP_PKEY_free(k);
	}
	BIO_free(bio);
	ERR_clear_error();
	if (!ok) {
		err_set(err, ERR_USAGE, "[web] %s: %s: not a PEM %s", key, path,
			is_cert ? "certificate" : "private key");
		buf_release(&b);
		return err->code;
	}
	*pem = buf_detach(&b);
	return 0;
}

static void web_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void web_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_warnx("httpd: %s", msg);
}

/* Stops serving the control socket and removes it (after the workers
 * stopped: a suspended request must be resumed first). */
static void web_control_stop(void)
{
	if (web_control.d)
		MHD_stop_daemon(web_control.d);
	web_control.d = NULL;
	if (web_control.fd >= 0) {
		close(web_control.fd);
		unlink(web_control.path);
	}
	web_control.fd = -1;
	free(web_control.path);
	web_control.path = NULL;
}

/* Serves the control socket bound by web_control_listen, if it is. */
static void web_control_start(void)
{
	if (web_control.fd < 0)
		return;
	web_control.d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
			MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME,
		0, NULL, NULL, web_handler, &web_control,
		MHD_OPTION_EXTERNAL_LOGGER, web_mhd_log, NULL,
		MHD_OPTION_NOTIFY_COMPLETED, web_completed, NULL,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)web_control.fd,
		MHD_OPTION_CONNECTION_LIMIT, 64u,
		MHD_OPTION_CONNECTION_TIMEOUT, 30u,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 << 10),
		MHD_OPTION_END);
	if (!web_control.d) {
		log_warnx("%s: cannot serve it: the CLI reads the database "
			  "itself", web_control.path);
		/* not closed: libmicrohttpd may have, and the workers run */
		web_control.fd = -1;
		unlink(web_control.path);
		web_control_stop();
		return;
	}
	log_info("control socket %s", web_control.path);
}

int web_run(struct web_opts *opts, struct err *err)
{
	struct MHD_Daemon *d;
	struct addrinfo *ai = NULL;
	sigset_t set;
	MHD_socket listen_fd;
	int sig, rc;
	unsigned maxconn = opts->max_connections > 0 ? (unsigned)opts->max_connections
						      : 512u;
	char *tls_cert = NULL, *tls_key = NULL;
	struct MHD_OptionItem tls[3] = { { MHD_OPTION_END, 0, NULL } };
	int use_tls = opts->tls_cert && opts->tls_key;

	if (use_tls) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return err_set(err, ERR_USAGE, "[web] tls-cert: this "
				       "libmicrohttpd has no TLS support");
		if (web_tls_read("tls-cert", opts->tls_cert, &tls_cert, err) < 0)
			return err->code;
		if (web_tls_read("tls-key", opts->tls_key, &tls_key, err) < 0) {
			free(tls_cert);
			return err->code;
		}
		tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
						  tls_cert };
		tls[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
						  tls_key };
		tls[2] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	}
	rc = web_parse_listen(opts->listen, &ai, err);
	if (rc < 0) {
		free(tls_cert);
		free(tls_key);
		return rc;
	}
	web_conf = opts;
	read_viewer = opts->read_viewer;
	work.target = opts->db;
	work.size = opts->threads > 0 && opts->threads <= WEB_THREADS_MAX
			    ? opts->threads
			    : 4;
	/* the signals are for this thread's sigwait, not the workers */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* before any thread: it sets the umask for a moment */
	web_control_listen(opts->state);
	if (proc_build_id(web_build_id, sizeof(web_build_id)) < 0)
		web_build_id[0] = '\0';
	if (pthread_create(&cache.thread, NULL, cache_listener, NULL)) {
		web_control_stop();
		freeaddrinfo(ai);
		return err_set(err, ERR_FAIL, "cannot start the cache listener");
	}
	for (int i = 0; i < work.size; i++)
		if (pthread_create(&work.threads[i], NULL, web_worker, NULL)) {
			web_control_stop();
			freeaddrinfo(ai);
			web_workers_stop(i);
			cache.stop = 1;
			pthread_join(cache.thread, NULL);
			return err_set(err, ERR_FAIL, "cannot start the workers");
		}
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
				     MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
				     (use_tls ? MHD_USE_TLS : 0) |
				     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, web_handler, NULL,
			     MHD_OPTION_EXTERNAL_LOGGER, web_mhd_log, NULL,
			     MHD_OPTION_NOTIFY_COMPLETED, web_completed, NULL,
			     MHD_OPTION_SOCK_ADDR, ai->ai_addr,
			     MHD_OPTION_THREAD_POOL_SIZE,
			     (unsigned)WEB_HTTP_THREADS,
			     MHD_OPTION_CONNECTION_LIMIT, maxconn,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, maxconn / 2,
			     MHD_OPTION_CONNECTION_TIMEOUT,
			     (unsigned)(opts->timeout > 0 ? opts->timeout : 30),
			     /* requests are small; libmicrohttpd clears this much
			      * per request on a kept-alive connection */
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 << 10),
			     MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
			     MHD_OPTION_ARRAY, tls,
			     MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!d) {
		web_control_stop();
		web_workers_stop(work.size);
		cache.stop = 1;
		pthread_join(cache.thread, NULL);
		free(tls_cert);
		free(tls_key);
		if (use_tls)   /* the reason went to the log (web_mhd_log) */
			return err_set(err, ERR_USAGE, "cannot listen on %s "
				       "with [web] tls-cert %s and tls-key %s "
				       "(do they match?)", opts->listen,
				       opts->tls_cert, opts->tls_key);
		return err_errno(err, ERR_FAIL, "cannot listen on %s",
				 opts->listen);
	}
	log_info("listening on %s://%s/", use_tls ? "https" : "http",
		 opts->listen);
	web_control_start();
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig == SIGHUP && opts->reload) {
			int was = web_read_viewer();

			opts->reload(opts, opts->reload_arg);
			__atomic_store_n(&read_viewer, opts->read_viewer,
					 __ATOMIC_RELAXED);
			if (was != web_read_viewer()) {
				/* cached answers were anonymous reads */
				pthread_mutex_lock(&cache.mu);
				cache_forget(0);
				pthread_mutex_unlock(&cache.mu);
			}
		}
	}
	log_info("stopping (signal %d)", sig);
	/* no new connections; the workers answer what is queued and resume
	 * it, as libmicrohttpd must not stop with a connection suspended */
	listen_fd = MHD_quiesce_daemon(d);
	if (web_control.d)
		MHD_quiesce_daemon(web_control.d);
	web_workers_stop(work.size);
	MHD_stop_daemon(d);
	if (listen_fd >= 0)
		close(listen_fd);
	web_control_stop();
	cache.stop = 1;
	pthread_join(cache.thread, NULL);
	pthread_mutex_lock(&cache.mu);
	cache_forget(0);
	pthread_mutex_unlock(&cache.mu);
	/* libmicrohttpd keeps pointers to them until it stops */
	free(tls_cert);
	free(tls_key);
	return 0;
}
