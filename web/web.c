/*
 * web.c: the libmicrohttpd daemon: listening, routing, the database
 * connection pool and the response helpers. Handlers only read; each takes
 * a pooled connection for the length of one request.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "web.h"
#include "web-internal.h"
#include "xalloc.h"
#include "banned.h"

#define WEB_THREADS 4

struct web_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct db_target target;
	struct db *conns[WEB_THREADS];
	int busy[WEB_THREADS];
	int size;
};

static struct web_pool pool = { .mu = PTHREAD_MUTEX_INITIALIZER,
				 .cv = PTHREAD_COND_INITIALIZER };

static int web_pool_get(struct db **ret, struct err *err)
{
	int i;

	pthread_mutex_lock(&pool.mu);
	for (;;) {
		for (i = 0; i < pool.size && pool.busy[i]; i++)
			;
		if (i < pool.size)
			break;
		pthread_cond_wait(&pool.cv, &pool.mu);
	}
	pool.busy[i] = 1;
	pthread_mutex_unlock(&pool.mu);
	/* (re)connect outside the lock: the slot is ours */
	if (pool.conns[i] && PQstatus(pool.conns[i]->conn) != CONNECTION_OK)
		PQreset(pool.conns[i]->conn);
	if (!pool.conns[i] && db_open_raw(&pool.target, &pool.conns[i], err) < 0) {
		pthread_mutex_lock(&pool.mu);
		pool.busy[i] = 0;
		pthread_cond_signal(&pool.cv);
		pthread_mutex_unlock(&pool.mu);
		return err->code;
	}
	*ret = pool.conns[i];
	return 0;
}

static void web_pool_put(struct db *db)
{
	pthread_mutex_lock(&pool.mu);
	for (int i = 0; i < pool.size; i++)
		if (pool.conns[i] == db)
			pool.busy[i] = 0;
	pthread_cond_signal(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
}

static void web_pool_close(void)
{
	for (int i = 0; i < pool.size; i++) {
		db_close(pool.conns[i]);
		pool.conns[i] = NULL;
	}
}

static enum MHD_Result web_respond(struct web_req *r, unsigned status,
				   const char *type, char *body, size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result web_html(struct web_req *r, unsigned status, struct buf *body)
{
	size_t len = body->len;

	return web_respond(r, status, "text/html; charset=utf-8",
			   buf_detach(body), len);
}

enum MHD_Result web_json(struct web_req *r, unsigned status, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	size_t len = strlen(text);

	json_decref(j);
	return web_respond(r, status, "application/json", text, len);
}

enum MHD_Result web_error(struct web_req *r, unsigned status,
			  const char *error, const char *detail)
{
	return web_json(r, status, json_pack("{s:s,s:s}", "error", error,
					     "detail", detail ? detail : ""));
}

enum MHD_Result web_not_found(struct web_req *r, const char *what)
{
	struct buf b = BUF_INIT;

	if (!strncmp(r->url, "/api/", 5))
		return web_error(r, MHD_HTTP_NOT_FOUND, "not found", what);
	html_page_begin(&b, "Not found");
	buf_addstr(&b, "<h1>Not found</h1><p>");
	html_escape(&b, what);
	buf_addstr(&b, "</p>");
	html_page_end(&b);
	return web_html(r, MHD_HTTP_NOT_FOUND, &b);
}

enum MHD_Result web_db_error(struct web_req *r, const struct err *err)
{
	if (err->code == ERR_NOTFOUND)
		return web_not_found(r, err->msg);
	return web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "database error",
			 err->msg);
}

/* "/hosts/NAME" -> "NAME" when rest has no further slash. */
static const char *web_tail(const char *url, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(url, prefix, n) || !url[n] || strchr(url + n, '/'))
		return NULL;
	return url + n;
}

static enum MHD_Result web_route(struct web_req *r)
{
	const char *name;

	if (!strcmp(r->url, "/static/style.css"))
		return web_respond(r, MHD_HTTP_OK, "text/css",
				   xstrdup(web_stylesheet), strlen(web_stylesheet));
	if (!strcmp(r->url, "/"))
		return web_overview_page(r);
	if (!strcmp(r->url, "/hosts"))
		return web_hosts_page(r);
	if ((name = web_tail(r->url, "/hosts/")))
		return web_host_page(r, name);
	if (!strcmp(r->url, "/flights"))
		return web_flights_page(r);
	if ((name = web_tail(r->url, "/flights/")))
		return web_flight_page(r, name);
	if (!strcmp(r->url, "/api/v1/hosts"))
		return web_hosts_api(r);
	if ((name = web_tail(r->url, "/api/v1/hosts/")))
		return web_host_api(r, name);
	if ((name = web_tail(r->url, "/api/v1/install/")))
		return web_install_report(r, name);
	if (!strcmp(r->url, "/api/v1/flights"))
		return web_flights_api(r);
	if (!strncmp(r->url, "/api/v1/flights/", 16))
		return web_flight_api(r, r->url + 16);
	if (!strcmp(r->url, "/api/v1/branches"))
		return web_branches_api(r);
	return web_not_found(r, r->url);
}

static enum MHD_Result web_handler(void *cls, struct MHD_Connection *conn,
				   const char *url, const char *method,
				   const char *version, const char *upload_data,
				   size_t *upload_data_size, void **con_cls)
{
	struct web_req r = { conn, url, method, NULL };
	struct err err = ERR_INIT;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	(void)upload_data;
	/* first call: headers only; answer once any body has arrived */
	if (!*con_cls) {
		*con_cls = conn;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;   /* no request bodies yet */
		return MHD_YES;
	}
	/* installers report back with whatever they have: wget, curl -X POST */
	if (strcmp(method, "GET") && strcmp(method, "HEAD") &&
	    !(!strcmp(method, "POST") && !strncmp(url, "/api/v1/install/", 16)))
		return web_error(&r, MHD_HTTP_METHOD_NOT_ALLOWED,
				 "method not allowed", method);
	if (web_pool_get(&r.db, &err) < 0) {
		log_warnx("request %s: %s", url, err.msg);
		return web_error(&r, MHD_HTTP_SERVICE_UNAVAILABLE,
				 "database unavailable", err.msg);
	}
	ret = web_route(&r);
	web_pool_put(r.db);
	return ret;
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

int web_run(const struct web_opts *opts, struct err *err)
{
	struct MHD_Daemon *d;
	struct addrinfo *ai = NULL;
	sigset_t set;
	int sig, rc;

	rc = web_parse_listen(opts->listen, &ai, err);
	if (rc < 0)
		return rc;
	pool.target = opts->db;
	pool.size = opts->threads > 0 && opts->threads <= WEB_THREADS
			    ? opts->threads
			    : WEB_THREADS;
	/* the signals are for this thread's sigwait, not the workers */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
				     (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, web_handler, NULL,
			     MHD_OPTION_EXTERNAL_LOGGER, web_mhd_log, NULL,
			     MHD_OPTION_SOCK_ADDR, ai->ai_addr,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)pool.size,
			     MHD_OPTION_CONNECTION_LIMIT, 512u,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, 128u,
			     MHD_OPTION_CONNECTION_TIMEOUT, 30u,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 << 10),
			     MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!d)
		return err_errno(err, ERR_FAIL, "cannot listen on %s",
				 opts->listen);
	log_info("listening on http://%s/", opts->listen);
	while (sigwait(&set, &sig) != 0 || (sig != SIGINT && sig != SIGTERM))
		;
	log_info("stopping (signal %d)", sig);
	MHD_stop_daemon(d);
	web_pool_close();
	return 0;
}
