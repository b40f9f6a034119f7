/*
 * web-internal.h: what the page families of web/ share: the request, the
 * response helpers, who is asking, and HTML escaping.
 */
#ifndef HANGAR_WEB_INTERNAL_H
#define HANGAR_WEB_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>

#include "buf.h"
#include "db.h"
#include "db-token.h"
#include "vec.h"
#include "web-route.h"

struct web_conn;

struct web_req {
	struct MHD_Connection *conn;
	const char *url;
	const char *method;
	struct db *db;           /* from the pool, for this request */
	char args[WEB_MAX_ARGS][WEB_ARG_MAX];   /* the route's {} segments */
	const char *body;        /* the request body (NUL-terminated), or NULL */
	size_t body_len;
	const char *state;       /* the lab's state directory */
	/* asked over the control socket (STATE/web.sock): the CLI, as the
	 * daemon's own user */
	int local;
	/* who asks: a token from Authorization: Bearer, or the session
	 * cookie of a browser (then session is that token) */
	char *user;              /* NULL: nobody logged in */
	enum role role;
	char *site;              /* a worker token's site, else NULL */
	const char *session;     /* the cookie's token, or NULL */
	/* set by a handler whose answer may be kept until the flight changes */
	long cache_flight;
	int cacheable;           /* an anonymous read: the cache may keep it */
	unsigned long long cache_gen;
	/* run by a database worker: the answer is kept there for
	 * libmicrohttpd's thread to send (NULL: send it now) */
	struct web_conn *deferred;
};

/* Queues resp as the answer (taking its reference): every answer goes
 * through here, so that a worker's is sent by libmicrohttpd's thread. */
enum MHD_Result web_queue(struct web_req *r, unsigned status,
			  struct MHD_Response *resp);

/* Response helpers: each queues a response and returns MHD's result. */
enum MHD_Result web_html(struct web_req *r, unsigned status, struct buf *body);
enum MHD_Result web_json(struct web_req *r, unsigned status, json_t *j);
enum MHD_Result web_text(struct web_req *r, unsigned status, const char *type,
			 struct buf *body);
enum MHD_Result web_error(struct web_req *r, unsigned status,
			  const char *error, const char *detail);
/* A JSON error under /api/, an HTML page elsewhere. */
enum MHD_Result web_not_found(struct web_req *r, const char *what);
/* A database error: 404 for ERR_NOTFOUND, 400 for ERR_USAGE, 409 for
 * ERR_EXISTS, else 500. */
enum MHD_Result web_db_error(struct web_req *r, const struct err *err);
/* 303 See Other to location, with an extra header line (or NULL). */
enum MHD_Result web_redirect(struct web_req *r, const char *location,
			     const char *cookie);
/* A query argument (?name=value), or NULL. */
const char *web_query(struct web_req *r, const char *name);
/* The flight number in args[i]: 0 when it is not one. */
long web_arg_flight(struct web_req *r, int i);

/* Sessions: the CSRF token of a session (33 bytes), checked on forms. */
void web_csrf_token(const char *session, char out[33]);
int web_csrf_ok(struct web_req *r, const struct vec *form);

/*
 * A raw request body (a route with raw set: PUT of logs and blobs),
 * streamed: the route's handler runs before the body is read and either
 * answers at once (the body is never read) or accepts it into an upload
 * of its own (web_upload_accept), whose write gets each chunk as it
 * comes and whose done makes the answer once it is all there.
 * libmicrohttpd's thread calls write and done: they touch files, never
 * the database.
 */
struct web_upload;
struct web_upload_ops {
	/* n more bytes; -1 when they cannot be kept (the rest is dropped) */
	int (*write)(struct web_upload *u, const char *data, size_t n);
	/* the body came (u->failed, u->too_large say how): the answer */
	enum MHD_Result (*done)(struct web_req *r, struct web_upload *u);
	/* frees u, whatever happened (a client gone midway too) */
	void (*release)(struct web_upload *u);
};
struct web_upload {
	const struct web_upload_ops *ops;
	long long cap;           /* most bytes taken */
	long long got;
	int failed, too_large;
};
/* The handler of a raw route takes the body into u (taken). */
void web_upload_accept(struct web_req *r, struct web_upload *u);
/* The request's Content-Length, -1 when absent or not a number. */
long long web_content_length(struct web_req *r);

/*
 * A long poll (the worker protocol's claim): the request waits,
 * suspended, holding neither a thread nor a database connection, and
 * runs its handler again once something may have changed (NOTIFY
 * hangar_work, heard by the server's listener) or when wait_s seconds
 * have passed since it first asked. gen is web_wake_gen() taken before
 * the handler looked: a notification since then runs it again at once.
 * The handler answers nothing when web_park returns 0; -1: answer now
 * (the time is up, or the server is stopping).
 */
unsigned long long web_wake_gen(void);
int web_park(struct web_req *r, unsigned long long gen, long wait_s);

/* The server's settings (web_run's). */
const struct web_opts *web_options(void);

/* HTML: escaped text, and the page frame around a body. */
void html_escape(struct buf *b, const char *s);
void html_page_begin(struct buf *b, const char *title);
/* The frame with the user's name (or "Log in") in the header. */
void html_page_begin_for(struct buf *b, const char *title, const char *user);
void html_page_end(struct buf *b);
/* "&amp;name=VALUE", VALUE percent-encoded, in an href; nothing for NULL. */
void html_query_param(struct buf *b, const char *name, const char *value);
/* value percent-encoded (safe in a URL and in an HTML attribute). */
void html_url_encode(struct buf *b, const char *value);
/* A link: <a href="PREFIX ESCAPED">TEXT</a>. */
void html_link(struct buf *b, const char *href_prefix, const char *href_rest,
	       const char *text);

/* A string member of a JSON object, "" when absent. */
const char *web_jstr(json_t *o, const char *key);
/* The report of flight id (stored, else judged now: *stored says which,
 * when not NULL); NULL with err. */
json_t *web_report_of(struct web_req *r, long id, int *stored, struct err *err);
/* The table of a flights list (db_flight_list_json's array). */
void web_flights_table(struct buf *b, json_t *list);

/* The branch page's evidence: its last pushed record against the one
 * before it (evidence-diff.h), with links to both; nothing without one. */
void web_branch_evidence(struct web_req *r, struct buf *b, const char *branch);

/* The overview's branches section (before the lab's health). */
void web_overview_branches(struct web_req *r, struct buf *b);

/* Page families. */
enum MHD_Result web_hosts_page(struct web_req *r);
enum MHD_Result web_host_page(struct web_req *r);
enum MHD_Result web_hosts_api(struct web_req *r);
enum MHD_Result web_host_api(struct web_req *r);
enum MHD_Result web_overview_page(struct web_req *r);
enum MHD_Result web_install_report(struct web_req *r);
enum MHD_Result web_flights_api(struct web_req *r);
enum MHD_Result web_flight_api(struct web_req *r);
enum MHD_Result web_report_api(struct web_req *r);
enum MHD_Result web_branches_api(struct web_req *r);
enum MHD_Result web_branch_api(struct web_req *r);
enum MHD_Result web_branch_page(struct web_req *r);
enum MHD_Result web_bisections_api(struct web_req *r);
enum MHD_Result web_bisection_api(struct web_req *r);
enum MHD_Result web_bisections_page(struct web_req *r);
enum MHD_Result web_bisection_page(struct web_req *r);
enum MHD_Result web_log_file(struct web_req *r);
enum MHD_Result web_log_page(struct web_req *r);
enum MHD_Result web_login_page(struct web_req *r);
enum MHD_Result web_login_post(struct web_req *r);
enum MHD_Result web_logout_post(struct web_req *r);
enum MHD_Result web_request_page(struct web_req *r);
enum MHD_Result web_request_form_post(struct web_req *r);
enum MHD_Result web_cancel_form_post(struct web_req *r);
enum MHD_Result web_request_post(struct web_req *r);
enum MHD_Result web_request_delete(struct web_req *r);
enum MHD_Result web_reserve_post(struct web_req *r);
enum MHD_Result web_reserve_delete(struct web_req *r);
enum MHD_Result web_reservations_api(struct web_req *r);
enum MHD_Result web_cancel_post(struct web_req *r);
enum MHD_Result web_maintenance_post(struct web_req *r);
enum MHD_Result web_block_post(struct web_req *r);
enum MHD_Result web_force_post(struct web_req *r);
enum MHD_Result web_flights_page(struct web_req *r);
enum MHD_Result web_job_api(struct web_req *r);
enum MHD_Result web_job_history_api(struct web_req *r);
enum MHD_Result web_job_page(struct web_req *r);
enum MHD_Result web_job_history_page(struct web_req *r);
enum MHD_Result web_flight_page(struct web_req *r);
enum MHD_Result web_plan_page(struct web_req *r);
enum MHD_Result web_plan_api(struct web_req *r);
enum MHD_Result web_metrics(struct web_req *r);
enum MHD_Result web_worker_claim(struct web_req *r);
enum MHD_Result web_worker_heartbeat(struct web_req *r);
enum MHD_Result web_worker_records(struct web_req *r);
enum MHD_Result web_worker_finish(struct web_req *r);
enum MHD_Result web_worker_hostkey(struct web_req *r);
enum MHD_Result web_worker_install(struct web_req *r);
enum MHD_Result web_worker_artifacts(struct web_req *r);
enum MHD_Result web_worker_blob_get(struct web_req *r);
enum MHD_Result web_worker_blob_put(struct web_req *r);
enum MHD_Result web_worker_log_put(struct web_req *r);
enum MHD_Result web_worker_tree(struct web_req *r);
enum MHD_Result web_evidence_style(struct web_req *r);
enum MHD_Result web_evidence_page(struct web_req *r);
enum MHD_Result web_evidence_api(struct web_req *r);
enum MHD_Result web_evidence_signature(struct web_req *r);
enum MHD_Result web_evidence_signers(struct web_req *r);
enum MHD_Result web_flight_evidence_api(struct web_req *r);

extern const char web_stylesheet[];
extern const char web_script[];

#endif
