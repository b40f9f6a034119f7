/*
 * power-pdu.c: power through LAVA's pdudaemon, over its HTTP listener:
 *
 *   GET /power/control/on|off|reboot?hostname=PDUNAME&port=N
 *
 * answers 200 "OK - accepted request" or 500 "Invalid request" (unknown
 * PDU, missing or bad parameters). hangar has no libcurl: a tiny HTTP/1.1
 * GET client lives here (connect timeout, bounded response, status line).
 *
 * What success means: pdudaemon accepted the request for a PDU it knows.
 * pdudaemon serializes the requests of each PDU in a queue and reports
 * nothing back about the outlet: the version in Debian 12 answers once
 * its driver has run, older ones as soon as the request was queued, and
 * neither says whether the driver managed (it retries, then only logs).
 * So the state is always POWER_STATE_UNKNOWN, and whoever needs the host
 * up waits for it to answer (the boot timeout), as OSSTest did with PDUs.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "net.h"
#include "power-backend.h"
#include "proc.h"
#include "strnum.h"
#include "vec.h"
#include "banned.h"

#define POWER_PDU_CONNECT_MS 5000
/* pdudaemon answers after its driver ran, retries included */
#define POWER_PDU_RESPONSE_MS 60000
#define POWER_PDU_RESPONSE_CAP 16384

int power_pdu_parse_spec(const char *spec, struct power_pdu_spec *s,
			 struct err *err)
{
	struct vec w = VEC_INIT;
	const char *url, *auth, *path, *hend, *colon = NULL;
	size_t hlen;
	int rc = ERR_USAGE;

	memset(s, 0, sizeof(*s));
	s->port = 80;
	vec_split(&w, spec ? spec : "");
	if (w.n != 3) {
		err_set(err, ERR_USAGE,
			"pdu '%s' is not 'http://HOST:PORT PDUNAME PORTNUMBER'",
			spec ? spec : "");
		goto out;
	}
	url = w.v[0];
	if (!strncmp(url, "https://", 8)) {
		err_set(err, ERR_USAGE,
			"pdu '%s': https is not supported (hangar has no TLS client): use http://",
			spec);
		goto out;
	}
	if (strncmp(url, "http://", 7)) {
		err_set(err, ERR_USAGE, "pdu '%s': the URL must start with http://",
			spec);
		goto out;
	}
	auth = url + 7;
	path = auth + strcspn(auth, "/?#");
	if (*path == '?' || *path == '#' || strchr(path, '?') || strchr(path, '#')) {
		err_set(err, ERR_USAGE, "pdu '%s': the URL may not have a query",
			spec);
		goto out;
	}
	if (*auth == '[') {
		const char *close = memchr(auth, ']', (size_t)(path - auth));

		if (!close || close == auth + 1 ||
		    (close + 1 != path && close[1] != ':'))
			goto bad_url;
		hend = close;
		auth++;
		if (close + 1 != path)
			colon = close + 1;
	} else {
		colon = memchr(auth, ':', (size_t)(path - auth));
		hend = colon ? colon : path;
		if (memchr(auth, '@', (size_t)(path - auth)))
			goto bad_url;
	}
	hlen = (size_t)(hend - auth);
	if (hlen == 0 || hlen >= sizeof(s->host))
		goto bad_url;
	memcpy(s->host, auth, hlen);
	s->host[hlen] = '\0';
	if (colon) {
		char port[8];
		size_t plen = (size_t)(path - colon - 1);

		if (plen == 0 || plen >= sizeof(port))
			goto bad_url;
		memcpy(port, colon + 1, plen);
		port[plen] = '\0';
		if (strnum_int(port, 1, 65535, &s->port) < 0)
			goto bad_url;
	}
	hlen = strlen(path);
	while (hlen && path[hlen - 1] == '/')
		hlen--;
	if (hlen >= sizeof(s->prefix))
		goto bad_url;
	memcpy(s->prefix, path, hlen);
	s->prefix[hlen] = '\0';
	for (const char *p = s->prefix; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			goto bad_url;
	if (strlen(w.v[1]) >= sizeof(s->pdu)) {
		err_set(err, ERR_USAGE, "pdu '%s': the PDU name is too long", spec);
		goto out;
	}
	memcpy(s->pdu, w.v[1], strlen(w.v[1]) + 1);
	if (strnum_int(w.v[2], 0, 65535, &s->outlet) < 0) {
		err_set(err, ERR_USAGE,
			"pdu '%s': the port number must be 0 to 65535", spec);
		goto out;
	}
	rc = 0;
	goto out;
bad_url:
	err_set(err, ERR_USAGE, "pdu '%s': '%s' is not http://HOST[:PORT][/PATH]",
		spec, url);
out:
	vec_clear(&w);
	return rc;
}

int power_pdu_target(const struct power_pdu_spec *s, const char *action,
		     char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char name[3 * sizeof(s->pdu)];
	size_t n = 0;
	int k;

	/* the PDU name goes into the query: percent-encode all but unreserved */
	for (const unsigned char *p = (const unsigned char *)s->pdu; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			name[n++] = (char)*p;
		} else {
			name[n++] = '%';
			name[n++] = hex[*p >> 4];
			name[n++] = hex[*p & 15];
		}
	}
	name[n] = '\0';
	k = snprintf(out, len, "%s/power/control/%s?hostname=%s&port=%d",
		     s->prefix, action, name, s->outlet);
	return k < 0 || (size_t)k >= len ? -1 : 0;
}

int power_pdu_parse_status_line(const char *line, size_t len)
{
	int code = 0;

	/* HTTP/1.D SP DDD [SP reason] */
	if (len < 12 || memcmp(line, "HTTP/1.", 7) ||
	    !isdigit((unsigned char)line[7]) || line[8] != ' ')
		return -1;
	for (size_t i = 9; i < 12; i++) {
		if (!isdigit((unsigned char)line[i]))
			return -1;
		code = code * 10 + (line[i] - '0');
	}
	if (len > 12 && line[12] != ' ' && line[12] != '\r' && line[12] != '\n')
		return -1;
	if (code < 100)
		return -1;
	return code;
}

/* Waits for events on fd until deadline (monotonic ms), minding cancel. */
static int power_pdu_wait(int fd, short events, long long deadline,
			  const volatile sig_atomic_t *cancel, const char *what,
			  struct err *err)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		long long left = deadline - proc_now_ms();
		int n;

		if (cancel && *cancel)
			return err_set(err, ERR_CANCELLED, "cancelled");
		if (left <= 0)
			return err_set(err, ERR_FAIL, "%s: timed out", what);
		n = poll(&pfd, 1, left > 100 ? 100 : (int)left);
		if (n < 0 && errno != EINTR)
			return err_errno(err, ERR_FAIL, "%s: poll", what);
		if (n > 0)
			return 0;
	}
}

static int power_pdu_connect(const struct power_pdu_spec *s,
			     const volatile sig_atomic_t *cancel, struct err *err)
{
	char port[16];
	int fd;

	snprintf(port, sizeof(port), "%d", s->port);
	fd = net_connect(s->host, port, POWER_PDU_CONNECT_MS, cancel, -1, err);
	if (fd < 0)
		err_prefix(err, "%s:%d", s->host, s->port);
	return fd;
}

static int power_pdu_send(int fd, const char *req, size_t len,
			  long long deadline,
			  const volatile sig_atomic_t *cancel, struct err *err)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (power_pdu_wait(fd, POLLOUT, deadline, cancel, "send",
					   err) < 0)
				return err->code;
			continue;
		}
		if (n < 0)
			return err_errno(err, ERR_FAIL, "send");
		off += (size_t)n;
	}
	return 0;
}

/* Where the header ends (index of the body), or 0 if not yet. */
static size_t power_pdu_header_end(const struct buf *b)
{
	const char *p = b->len ? strstr(b->buf, "\r\n\r\n") : NULL;

	return p ? (size_t)(p - b->buf) + 4 : 0;
}

/* Content-Length from the header block, or -1 if none. */
static long power_pdu_content_length(const char *hdr, size_t hlen)
{
	const char *p = hdr, *end = hdr + hlen;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t l = eol ? (size_t)(eol - p) : (size_t)(end - p);

		if (l > 15 && !strncasecmp(p, "Content-Length:", 15)) {
			char num[24];
			size_t k = 0;
			long v;

			for (const char *q = p + 15; q < p + l && k < sizeof(num) - 1; q++)
				if (!isspace((unsigned char)*q))
					num[k++] = *q;
			num[k] = '\0';
			if (strnum_long(num, 0, POWER_PDU_RESPONSE_CAP, &v) == 0)
				return v;
			return -1;
		}
		p += l + 1;
	}
	return -1;
}

/*
 * GET target from the listener; *status and the body (first line, for
 * messages) on return 0, whatever the status.
 */
static int power_pdu_get(const struct power_pdu_spec *s, const char *target,
			 const volatile sig_atomic_t *cancel, int *status,
			 char *body, size_t bodylen, struct err *err)
{
	struct buf req = BUF_INIT, resp;
	long long deadline;
	size_t hend = 0;
	long clen = -1;
	int fd, rc = 0;

	buf_init(&resp, POWER_PDU_RESPONSE_CAP);
	fd = power_pdu_connect(s, cancel, err);
	if (fd < 0)
		return fd;
	deadline = proc_now_ms() + POWER_PDU_RESPONSE_MS;
	buf_addf(&req,
		 "GET %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nUser-Agent: hangar\r\n"
		 "Accept: */*\r\nConnection: close\r\n\r\n",
		 target, strchr(s->host, ':') ? "[" : "", s->host,
		 strchr(s->host, ':') ? "]" : "", s->port);
	rc = power_pdu_send(fd, req.buf, req.len, deadline, cancel, err);
	while (rc == 0) {
		char chunk[4096];
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			rc = power_pdu_wait(fd, POLLIN, deadline, cancel,
					    "waiting for the answer", err);
			continue;
		}
		if (n < 0) {
			rc = err_errno(err, ERR_FAIL, "recv");
			break;
		}
		if (n == 0)
			break;
		if (buf_add(&resp, chunk, (size_t)n) < 0) {
			rc = err_set(err, ERR_FAIL, "the answer is over %d bytes",
				     POWER_PDU_RESPONSE_CAP);
			break;
		}
		if (!hend && (hend = power_pdu_header_end(&resp)))
			clen = power_pdu_content_length(resp.buf, hend);
		/* the server may keep the connection despite our close */
		if (hend && clen >= 0 && resp.len >= hend + (size_t)clen)
			break;
	}
	close(fd);
	if (rc == 0) {
		size_t l = strcspn(resp.buf, "\r\n");

		*status = power_pdu_parse_status_line(resp.buf, l);
		if (*status < 0) {
			rc = err_set(err, ERR_FAIL, "not an HTTP answer: '%.*s'",
				     (int)(l > 80 ? 80 : l), resp.buf);
		} else if (bodylen) {
			const char *b = hend ? resp.buf + hend : "";

			snprintf(body, bodylen, "%.*s", (int)strcspn(b, "\r\n"), b);
		}
	}
	buf_release(&req);
	buf_release(&resp);
	return rc;
}

static int power_pdu_request(const struct power_host *h, const char *action,
			     const volatile sig_atomic_t *cancel,
			     struct power_result *r, struct err *err)
{
	struct power_pdu_spec s;
	char target[1024], body[160];
	int status = 0, rc;

	r->state = POWER_STATE_UNKNOWN;
	if (power_pdu_parse_spec(power_config_str(h, "pdu"), &s, err) < 0)
		return err->code;
	if (power_pdu_target(&s, action, target, sizeof(target)) < 0)
		return err_set(err, ERR_USAGE, "pdu: the request is too long");
	if (cancel && *cancel)
		return err_set(err, ERR_CANCELLED, "cancelled");
	r->attempts = 1;
	rc = power_pdu_get(&s, target, cancel, &status, body, sizeof(body), err);
	if (rc < 0)
		return err_prefix(err, "pdudaemon http://%s:%d", s.host, s.port);
	if (status != 200)
		return err_set(err, ERR_FAIL,
			       "pdudaemon http://%s:%d%s: HTTP %d: %s", s.host,
			       s.port, target, status,
			       body[0] ? body : "(no message)");
	snprintf(r->detail, sizeof(r->detail),
		 "pdudaemon accepted '%s' for %s port %d; it reports no state",
		 action, s.pdu, s.outlet);
	return 0;
}

static int power_pdu_on(const struct power_host *h,
			const volatile sig_atomic_t *cancel,
			struct power_result *r, struct err *err)
{
	return power_pdu_request(h, "on", cancel, r, err);
}

static int power_pdu_off(const struct power_host *h,
			 const volatile sig_atomic_t *cancel,
			 struct power_result *r, struct err *err)
{
	return power_pdu_request(h, "off", cancel, r, err);
}

static int power_pdu_status(const struct power_host *h,
			    struct power_result *r, struct err *err)
{
	struct power_pdu_spec s;

	if (power_pdu_parse_spec(power_config_str(h, "pdu"), &s, err) < 0)
		return err->code;
	r->state = POWER_STATE_UNKNOWN;
	snprintf(r->detail, sizeof(r->detail),
		 "pdudaemon reports no power state");
	return 0;
}

const struct power_backend power_backend_pdu = {
	.name = "pdudaemon",
	.on = power_pdu_on,
	.off = power_pdu_off,
	.status = power_pdu_status,
};
