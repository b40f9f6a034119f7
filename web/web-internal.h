/*
 * web-internal.h: what the page families of web/ share: the request, the
 * response helpers and HTML escaping.
 */
#ifndef HANGAR_WEB_INTERNAL_H
#define HANGAR_WEB_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>

#include "buf.h"
#include "db.h"

struct web_req {
	struct MHD_Connection *conn;
	const char *url;
	const char *method;
	struct db *db;           /* from the pool, for this request */
};

/* Response helpers: each queues a response and returns MHD's result. */
enum MHD_Result web_html(struct web_req *r, unsigned status, struct buf *body);
enum MHD_Result web_json(struct web_req *r, unsigned status, json_t *j);
enum MHD_Result web_error(struct web_req *r, unsigned status,
			  const char *error, const char *detail);
/* A JSON error under /api/, an HTML page elsewhere. */
enum MHD_Result web_not_found(struct web_req *r, const char *what);
/* A database error: 404 for ERR_NOTFOUND, else 500. */
enum MHD_Result web_db_error(struct web_req *r, const struct err *err);

/* HTML: escaped text, and the page frame around a body. */
void html_escape(struct buf *b, const char *s);
void html_page_begin(struct buf *b, const char *title);
void html_page_end(struct buf *b);

/* Page families. */
enum MHD_Result web_hosts_page(struct web_req *r);
enum MHD_Result web_host_page(struct web_req *r, const char *name);
enum MHD_Result web_hosts_api(struct web_req *r);
enum MHD_Result web_host_api(struct web_req *r, const char *name);
enum MHD_Result web_overview_page(struct web_req *r);
enum MHD_Result web_install_report(struct web_req *r, const char *token);
enum MHD_Result web_flights_api(struct web_req *r);
/* rest: "F" or "F/report" */
enum MHD_Result web_flight_api(struct web_req *r, const char *rest);
enum MHD_Result web_branches_api(struct web_req *r);
enum MHD_Result web_flights_page(struct web_req *r);
enum MHD_Result web_flight_page(struct web_req *r, const char *num);

extern const char web_stylesheet[];

#endif
