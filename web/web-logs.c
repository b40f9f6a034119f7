/*
 * web-logs.c: /logs/F/J/FILE, the raw logs of STATE/logs (step logs,
 * fetched files, console captures), from an offset for a live tail; and
 * the page that shows one and follows it while its job runs.
 *
 * Only names web_log_name_ok() accepts are looked up, one directory at a
 * time with O_NOFOLLOW, so nothing outside STATE/logs can be reached.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db-flight.h"
#include "strnum.h"
#include "web-internal.h"
#include "xalloc.h"
#include "banned.h"

#define LOG_PAGE_TAIL (256 << 10)   /* what a page shows of a long log */

/* Opens STATE/logs/F/J/NAME for reading; -1 when it is not a file there. */
static int log_open(struct web_req *r, long flight, const char *job,
		    const char *name, struct stat *st)
{
	char *logs = xasprintf("%s/logs", r->state), num[24];
	int dir, sub, fd = -1;

	snprintf(num, sizeof(num), "%ld", flight);
	dir = open(logs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(logs);
	if (dir < 0)
		return -1;
	sub = openat(dir, num, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(dir);
	if (sub < 0)
		return -1;
	dir = openat(sub, job, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(sub);
	if (dir < 0)
		return -1;
	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	close(dir);
	if (fd >= 0 && (fstat(fd, st) < 0 || !S_ISREG(st->st_mode))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The checked arguments of a log route; 0, or -1 (answer 404). */
static int log_args(struct web_req *r, int job_arg, long *flight)
{
	*flight = web_arg_flight(r, 0);
	return *flight && web_log_name_ok(r->args[job_arg]) &&
			       web_log_name_ok(r->args[job_arg + 1])
		       ? 0 : -1;
}

enum MHD_Result web_log_file(struct web_req *r)
{
	const char *off = web_query(r, "offset");
	struct MHD_Response *resp;
	struct stat st;
	char size[24];
	long offset = 0, flight;
	int fd;

	if (log_args(r, 1, &flight) < 0 ||
	    (fd = log_open(r, flight, r->args[1], r->args[2], &st)) < 0)
		return web_not_found(r, "no such log");
	if (off && strnum_long(off, 0, 1L << 62, &offset) < 0) {
		close(fd);
		return web_error(r, MHD_HTTP_BAD_REQUEST, "bad request",
				 "offset: give a byte offset");
	}
	if (offset > st.st_size)
		offset = st.st_size;
	/* a log still being written: send what is there now */
	resp = MHD_create_response_from_fd_at_offset64(
		(uint64_t)(st.st_size - offset), fd, (uint64_t)offset);
	if (!resp) {
		close(fd);
		return web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot send log",
				 strerror(errno));
	}
	snprintf(size, sizeof(size), "%lld", (long long)st.st_size);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(resp, "X-Log-Size", size);
	return web_queue(r, MHD_HTTP_OK, resp);
}

/* Whether job of flight is still running (its log may grow). */
static int job_running(struct web_req *r, long flight, const char *job)
{
	struct err err = ERR_INIT;
	struct vec lines = VEC_INIT;
	char *status = NULL, *want = xasprintf("%s ", job);
	int running = 0;

	if (db_flight_progress(r->db, flight, &status, &lines, &err) == 0)
		for (size_t i = 0; i < lines.n; i++)
			if (!strncmp(lines.v[i], want, strlen(want)))
				running = !strncmp(lines.v[i] + strlen(want), "running", 7) ||
					  !strncmp(lines.v[i] + strlen(want), "preparing", 9);
	free(status);
	free(want);
	vec_clear(&lines);
	return running;
}

enum MHD_Result web_log_page(struct web_req *r)
{
	struct buf b = BUF_INIT, text = BUF_INIT;
	struct stat st;
	char title[2 * WEB_ARG_MAX + 40];
	long flight, from = 0;
	int fd, live;

	if (log_args(r, 1, &flight) < 0 ||
	    (fd = log_open(r, flight, r->args[1], r->args[2], &st)) < 0)
		return web_not_found(r, "no such log");
	if (st.st_size > LOG_PAGE_TAIL)
		from = (long)st.st_size - LOG_PAGE_TAIL;
	buf_init(&text, 0);
	for (long at = from; at < st.st_size;) {
		char chunk[16384];
		ssize_t n = pread(fd, chunk, sizeof(chunk), at);

		if (n <= 0)
			break;
		buf_add(&text, chunk, (size_t)n);
		at += n;
	}
	close(fd);
	live = job_running(r, flight, r->args[1]);
	snprintf(title, sizeof(title), "%ld.%s %s", flight, r->args[1], r->args[2]);
	html_page_begin_for(&b, title, r->user);
	buf_addf(&b, "<h1><a href=\"/flights/%ld\">%ld</a>.<a href=\"/flights/%ld/jobs/",
		 flight, flight, flight);
	html_escape(&b, r->args[1]);
	buf_addstr(&b, "\">");
	html_escape(&b, r->args[1]);
	buf_addstr(&b, "</a> ");
	html_escape(&b, r->args[2]);
	buf_addf(&b, "</h1>\n<p class=\"muted\">%lld bytes%s &middot; <a href=\"/logs/%ld/",
		 (long long)st.st_size, from ? ", the last 256 KiB shown" : "", flight);
	html_escape(&b, r->args[1]);
	buf_addch(&b, '/');
	html_escape(&b, r->args[2]);
	buf_addf(&b, "\">raw</a>%s</p>\n", live ? " &middot; following the running job" : "");
	buf_addstr(&b, "<pre class=\"log\" id=\"log\" data-src=\"/logs/");
	buf_addf(&b, "%ld/", flight);
	html_escape(&b, r->args[1]);
	buf_addch(&b, '/');
	html_escape(&b, r->args[2]);
	buf_addf(&b, "\" data-offset=\"%lld\"%s>", (long long)st.st_size,
		 live ? " data-live=\"1\"" : "");
	html_escape(&b, text.buf);
	buf_addstr(&b, "</pre>\n<script src=\"/static/hangar.js\" defer></script>\n");
	html_page_end(&b);
	buf_release(&text);
	return web_html(r, MHD_HTTP_OK, &b);
}
