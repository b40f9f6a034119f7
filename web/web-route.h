/*
 * web-route.h: the pure parts of request handling, apart so that a fuzzer
 * can drive them: URL patterns, form bodies, query numbers and the names
 * allowed in log paths. No I/O, no libmicrohttpd.
 */
#ifndef HANGAR_WEB_ROUTE_H
#define HANGAR_WEB_ROUTE_H

#include <jansson.h>
#include <stddef.h>

#include "vec.h"

struct request;
struct sched_reserve;

#define WEB_MAX_ARGS 3
#define WEB_ARG_MAX 256          /* longest path segment taken as an id */

/*
 * Matches url against pattern, where "{}" stands for one non-empty path
 * segment (no '/', shorter than WEB_ARG_MAX). On a match copies the
 * segments into args (NUL-terminated) and returns their number; -1 when
 * it does not match.
 */
int web_match(const char *pattern, const char *url,
	      char args[WEB_MAX_ARGS][WEB_ARG_MAX]);

/* Who may use a route. */
enum web_need {
	NEED_NOBODY,     /* open always: the stylesheet, logging in, installers */
	NEED_READ,       /* open, or a viewer with [web] read-role = viewer */
	NEED_DEVELOPER,
	NEED_ADMIN,
	NEED_WORKER,     /* a worker token (and only it): /api/v1/worker/ */
};

enum web_route_id {
	R_STYLE, R_SCRIPT, R_OVERVIEW, R_FLIGHTS_PAGE, R_FLIGHT_PAGE,
	R_JOB_PAGE, R_LOG_PAGE, R_JOB_HISTORY_PAGE, R_HOSTS_PAGE, R_HOST_PAGE,
	R_PLAN_PAGE, R_BRANCH_PAGE, R_BISECTIONS_PAGE, R_BISECTION_PAGE,
	R_REQUEST_PAGE, R_LOGIN_PAGE, R_LOG_FILE, R_METRICS,
	R_FLIGHTS_API, R_FLIGHT_API, R_REPORT_API, R_JOB_API, R_JOB_HISTORY_API,
	R_HOSTS_API, R_HOST_API, R_PLAN_API, R_BRANCHES_API, R_BRANCH_API,
	R_RESERVATIONS_API, R_RESERVATION_API, R_BISECTIONS_API, R_BISECTION_API, R_WHOAMI_API,
	R_INSTALL_GET, R_INSTALL_POST,
	R_REQUEST_POST, R_REQUEST_DELETE, R_RESERVE_POST, R_RESERVE_DELETE,
	R_CANCEL_POST, R_MAINTENANCE_POST, R_BLOCK_POST, R_UNBLOCK_POST,
	R_FORCE_POST,
	R_LOGIN_POST, R_LOGOUT_POST, R_REQUEST_FORM_POST, R_CANCEL_FORM_POST,
	R_WORKER_CLAIM, R_WORKER_HEARTBEAT, R_WORKER_RECORDS, R_WORKER_FINISH,
	R_WORKER_HOSTKEY, R_WORKER_INSTALL, R_WORKER_ARTIFACTS,
	R_WORKER_BLOB_GET, R_WORKER_BLOB_PUT, R_WORKER_LOG_PUT, R_WORKER_TREE,
	R_EVIDENCE_STYLE, R_EVIDENCE_PAGE, R_EVIDENCE_API, R_EVIDENCE_SIGNATURE,
	R_EVIDENCE_SIGNERS, R_FLIGHT_EVIDENCE_API,
	R_COUNT
};

struct web_route_def {
	const char *method;      /* "GET" also answers HEAD */
	const char *pattern;     /* for web_match */
	enum web_need need;
	enum web_route_id id;
};

/* Whether route id takes a raw body (PUT), streamed to the handler's
 * upload rather than read into memory first. */
int web_route_raw(enum web_route_id id);

/* Every route, in the order they are tried. */
extern const struct web_route_def web_routes[R_COUNT];

/*
 * The route for method and url: its index in web_routes with its
 * arguments in args; -1 when no route has that path, -2 when some do but
 * not for this method (405).
 */
int web_route_find(const char *method, const char *url,
		   char args[WEB_MAX_ARGS][WEB_ARG_MAX]);

/*
 * Bodies of POST /api/v1/requests and /api/v1/reservations, from JSON.
 * Strings in rq/rs point into *root (the caller keeps it, then
 * json_decref). 0, or -1 with why (a sentence for a 400) filled in.
 */
int web_parse_request(const char *body, size_t len, struct request *rq,
		      json_t **root, char *why, size_t whylen);
/* {"host": H} or {"arch": A, "flags": "F G", "count": N}, with
 * "duration": "2h" (or seconds) and "reason". */
int web_parse_reservation(const char *body, size_t len, struct sched_reserve *rs,
			  json_t **root, char *why, size_t whylen);

/*
 * Parses an application/x-www-form-urlencoded body (or a query string)
 * into names and values, decoded ('+' and %XX), pushed in turn onto out:
 * name, value, name, value... A '%' not followed by two hex digits, or a
 * decoded NUL, makes it fail (-1; out then holds what came before).
 */
int web_form_parse(const char *body, size_t len, struct vec *out);
/* The first value of name in a vec from web_form_parse, or NULL. */
const char *web_form_get(const struct vec *form, const char *name);

/*
 * Whether s may name a file or directory under the logs: letters,
 * digits and "._-+@=,", not starting with '.', at most 255 bytes. So
 * "..", "/", NUL and hidden files never reach the file system.
 */
int web_log_name_ok(const char *s);

/* Whether s is valid UTF-8 (no overlong forms, surrogates or code points
 * past U+10FFFF): what may reach the database and the JSON answers. */
int web_utf8_ok(const char *s);

/*
 * A cookie's value from a Cookie header ("a=1; hangar_session=x"), copied
 * into out (outlen bytes); 0, or -1 when absent or too long.
 */
int web_cookie_get(const char *header, const char *name, char *out,
		   size_t outlen);

#endif
