/*
 * web.h: the dashboard and JSON API daemon (`hangar web`), on
 * libmicrohttpd: two threads that parse, answer from the cache and send,
 * and a few database workers, each with its own connection.
 */
#ifndef HANGAR_WEB_H
#define HANGAR_WEB_H

#include "db.h"
#include "err.h"
#include "buf.h"
#include "labconf.h"
#include "vec.h"

/*
 * The control socket in the state directory, where `hangar web` also
 * answers GET /api/v1/flights/F/report (HTTP/1.0) for the CLI.
 */
#define WEB_CONTROL_SOCKET "web.sock"

struct web_opts {
	const char *listen;      /* "127.0.0.1:8080", "[::1]:8080" */
	const char *state;       /* the lab's state directory: logs, git caches */
	struct db_target db;
	int threads;             /* database workers; 0: default (4) */
	int max_connections;     /* 0: default */
	long timeout;            /* seconds; 0: default */
	int read_viewer;         /* reading needs a viewer token */
	/* HTTPS: the certificate chain and its key (PEM files), both or
	 * neither; with them the server speaks HTTPS only */
	const char *tls_cert, *tls_key;
	long max_upload;         /* bytes of one artifact upload; 0: 4 GiB */
	/* the lab at start, for the worker protocol: its sites' leases and
	 * [worker] health-check settings (borrowed) */
	const struct lab *lab;
	/* SIGHUP: may set a new read_viewer (NULL: SIGHUP is ignored) */
	void (*reload)(struct web_opts *opts, void *arg);
	void *reload_arg;
};

/*
 * Serves until SIGINT or SIGTERM; returns 0, or an error before serving.
 * On SIGHUP it calls opts->reload; the handlers see the new read_viewer
 * from then on.
 */
int web_run(struct web_opts *opts, struct err *err);

/*
 * What `hangar flight report F` prints: the mail text (NULL: none), then
 * the lines where the judgement made now differs (now: asked with --now)
 * and the one stored when the flight was decided; appended to out. The
 * CLI prints it, and the web daemon answers it on the control socket.
 */
void web_report_mail(struct buf *out, const char *text,
		     const struct vec *diff, int now);

#endif
