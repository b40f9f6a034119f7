/*
 * ctl-client.c: the CLI's side of the web daemon's control socket
 * (STATE/web.sock, web/web.c), as smtpctl talks to smtpd: one HTTP/1.0
 * GET by hand over AF_UNIX, no libcurl (its initialisation would cost
 * more than the exchange). A command asks here first and, on any failure,
 * does the work itself, so nothing here is reported to the user.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "net.h"
#include "proc.h"
#include "strnum.h"
#include "web.h"
#include "xalloc.h"
#include "banned.h"

/* The answer is a report: bounded like any text from outside. */
#define CTL_MAX_ANSWER (64L << 20)

/* Appends "?name=value" (or "&..." after the first) to b, value
 * percent-encoded; nothing when value is NULL. */
static void ctl_client_query(struct buf *b, const char *name,
			     const char *value)
{
	static const char hex[] = "0123456789ABCDEF";

	if (!value)
		return;
	buf_addf(b, "%c%s=", strchr(b->buf, '?') ? '&' : '?', name);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
			buf_addch(b, *p);
		} else {
			buf_addch(b, '%');
			buf_addch(b, hex[*p >> 4]);
			buf_addch(b, hex[*p & 15]);
		}
	}
}

/* Reads what fd sends until it closes, by the deadline; 0 or -1. */
static int ctl_client_read(int fd, long long deadline, struct buf *in)
{
	char chunk[65536];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - proc_now_ms();
		ssize_t n;

		if (left <= 0)
			return -1;
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!p.revents)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (buf_add(in, chunk, (size_t)n) < 0)
			return -1;
	}
}

/*
 * The value of header name in head (the status line and headers, NUL-
 * terminated) into out; 0, or -1 when it is missing or longer than n.
 */
static int ctl_client_header(const char *head, const char *name, char *out,
			     size_t n)
{
	size_t len = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p, "\r\n")) {
		p += 2;
		if (!strncasecmp(p, name, len) && p[len] == ':') {
			size_t k;

			p += len + 1;
			p += strspn(p, " \t");
			k = strcspn(p, "\r");
			if (k >= n)
				return -1;
			memcpy(out, p, k);
			out[k] = '\0';
			return 0;
		}
	}
	return -1;
}

int ctl_client_get(const char *state, const char *build, const char *path,
		   const char *type, int timeout_ms, struct buf *body)
{
	long long deadline = proc_now_ms() + timeout_ms;
	struct sockaddr_un sa;
	struct buf req = BUF_INIT, in;
	char *head = NULL, value[160], own[129];
	const char *end;
	long status, len;
	int fd, rc = -1;

	/* without a build ID to compare, no answer could be taken */
	if (!build) {
		if (proc_build_id(own, sizeof(own)) < 0)
			return -1;
		build = own;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", state,
			     WEB_CONTROL_SOCKET) >= sizeof(sa.sun_path))
		return -1;
	/* a stale file (the daemon killed) refuses at once: ECONNREFUSED */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	{
		/* a full backlog (a daemon that stopped accepting) waits
		 * in connect() at most this long */
		struct timeval tv = { .tv_sec = timeout_ms / 1000,
				      .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000 };

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	buf_init(&in, (size_t)CTL_MAX_ANSWER);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	buf_addf(&req, "GET %s HTTP/1.0\r\n\r\n", path);
	if (net_write_all(fd, req.buf, req.len) < 0 ||
	    ctl_client_read(fd, deadline, &in) < 0)
		goto out;
	/* "HTTP/1.1 200 OK\r\n" headers "\r\n\r\n" body */
	end = strstr(in.buf, "\r\n\r\n");
	if (!end || strncmp(in.buf, "HTTP/1.", 7) != 0 || in.len < 12 ||
	    in.buf[8] != ' ' || in.buf[12] != ' ')
		goto out;
	{
		char code[4] = { in.buf[9], in.buf[10], in.buf[11], '\0' };

		if (strnum_long(code, 100, 599, &status) < 0 || status != 200)
			goto out;
	}
	head = xstrndup(in.buf, (size_t)(end - in.buf) + 2);
	end += 4;
	/* another build of hangar may judge or print otherwise (a daemon
	 * not restarted after an upgrade, or a developer's other tree):
	 * only the answer of this very executable will do */
	if (ctl_client_header(head, "X-Hangar-Build", value, sizeof(value)) < 0 ||
	    strcmp(value, build) != 0)
		goto out;
	if (ctl_client_header(head, "Content-Type", value, sizeof(value)) < 0 ||
	    strncmp(value, type, strlen(type)) != 0)
		goto out;
	/* an answer cut short (the daemon stopped) is no answer */
	if (ctl_client_header(head, "Content-Length", value, sizeof(value)) == 0 &&
	    (strnum_long(value, 0, CTL_MAX_ANSWER, &len) < 0 ||
	     (size_t)len != in.len - (size_t)(end - in.buf)))
		goto out;
	buf_add(body, end, in.len - (size_t)(end - in.buf));
	rc = 0;
out:
	close(fd);
	free(head);
	buf_release(&req);
	buf_release(&in);
	return rc;
}

/* How long the web daemon may take before the CLI asks the database. */
#define REPORT_ASK_TIMEOUT_MS 2000

int ctl_client_report(const struct lab *lab, const char *build, long id,
		      int json, int now)
{
	struct buf path = BUF_INIT, body = BUF_INIT;
	json_t *j;
	int rc = -1;

	buf_addf(&path, "/api/v1/flights/%ld/report", id);
	if (now)
		ctl_client_query(&path, "now", "1");
	if (!json) {
		ctl_client_query(&path, "format", "mail");
		ctl_client_query(&path, "from", lab->gate.mail_from);
		ctl_client_query(&path, "to", lab->gate.mail_to);
		ctl_client_query(&path, "url", lab->url);
	}
	if (ctl_client_get(lab->state, build, path.buf,
			   json ? "application/json" : "text/plain",
			   REPORT_ASK_TIMEOUT_MS, &body) < 0)
		goto out;
	if (!json) {
		fwrite(body.buf, 1, body.len, stdout);
		rc = 0;
	} else if ((j = json_loadb(body.buf, body.len, 0, NULL))) {
		cli_print_json(j);
		rc = 0;
	}
out:
	buf_release(&path);
	buf_release(&body);
	return rc;
}
