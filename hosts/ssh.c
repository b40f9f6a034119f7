/*
 * ssh.c: SSH to lab hosts on libssh2. The session is non-blocking: every
 * libssh2 call that says EAGAIN is retried after a poll() on the socket in
 * the directions libssh2 waits for, in slices of at most 100 ms, so that
 * time limits and cancellation are honoured everywhere (connect,
 * handshake, auth, commands, SFTP) and keepalives go out while we wait.
 *
 * Commands go to the connection's remote shell (rshell.c). Where none
 * runs, each has an exec channel and runs under a small shell wrapper that
 * records its pid (sshd makes that shell a session and process group
 * leader), so that a timeout or a cancel can kill the whole group from a
 * second channel. Output is passed on in chunks as it comes and never
 * accumulated.
 */
#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "net.h"
#include "proc.h"
#include "ssh.h"
#include "ssh-int.h"
#include "xalloc.h"
#include "banned.h"

#define SSH_CONNECT_MS 30000       /* default connect_timeout_ms */
#define SSH_KEEPALIVE_S 15         /* default keepalive_s */
#define SSH_STALL_MS 60000         /* SFTP / channel setup without progress */
#define SSH_CLOSE_MS 2000          /* saying goodbye in ssh_close */
#define SSH_READ_CHUNK 32768       /* channel reads */
#define SSH_SFTP_CHUNK ((size_t)256 * 1024) /* SFTP reads and writes */

static pthread_once_t ssh_once = PTHREAD_ONCE_INIT;
static int ssh_init_rc;

static void ssh_init_once(void)
{
	ssh_init_rc = libssh2_init(0);
}

/* --- errors --------------------------------------------------------------- */

/*
 * The one place libssh2's errors become ours: "ssh HOST:PORT: CONTEXT:
 * libssh2's message" (its protocol-level SFTP status when there is one).
 */
int ssh_err_from_session(struct ssh_conn *c, struct err *err, int code,
			 const char *fmt, ...)
{
	char ctx[512];
	char *msg = NULL;
	int errcode, len = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	errcode = libssh2_session_last_error(c->session, &msg, &len, 0);
	if (errcode == LIBSSH2_ERROR_SFTP_PROTOCOL && c->sftp) {
		static const char *const fx[] = {
			"ok", "end of file", "no such file", "permission denied",
			"failure", "bad message", "no connection",
			"connection lost", "operation unsupported",
			"invalid handle", "no such path", "file already exists",
			"write protected", "no media", "no space on file system",
			"quota exceeded", "unknown principal", "lock conflict",
			"directory not empty", "not a directory",
			"invalid file name", "link loop",
		};
		unsigned long st = libssh2_sftp_last_error(c->sftp);

		if (st < sizeof(fx) / sizeof(fx[0]))
			return err_set(err, code, "ssh %s: %s: %s", c->where, ctx,
				       fx[st]);
		return err_set(err, code, "ssh %s: %s: sftp status %lu",
			       c->where, ctx, st);
	}
	if (errcode != LIBSSH2_ERROR_SFTP_PROTOCOL &&
	    errcode != LIBSSH2_ERROR_CHANNEL_REQUEST_DENIED &&
	    errcode != LIBSSH2_ERROR_CHANNEL_FAILURE &&
	    errcode != LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED &&
	    errcode != LIBSSH2_ERROR_AUTHENTICATION_FAILED &&
	    errcode != LIBSSH2_ERROR_FILE)
		c->broken = 1;   /* the transport itself failed */
	if (errcode == LIBSSH2_ERROR_SOCKET_DISCONNECT ||
	    errcode == LIBSSH2_ERROR_SOCKET_RECV ||
	    errcode == LIBSSH2_ERROR_SOCKET_SEND)
		return err_set(err, code, "ssh %s: %s: connection lost (%s)",
			       c->where, ctx, msg && *msg ? msg : "socket");
	return err_set(err, code, "ssh %s: %s: %s", c->where, ctx,
		       msg && *msg ? msg : "unknown libssh2 error");
}

/* "CONTEXT: " before a message of ssh_wait (timed out, cancelled). */
static int ssh_err_wait(struct ssh_conn *c, struct err *err, const char *what)
{
	return err_prefix(err, "ssh %s: %s", c->where, what);
}

/* --- waiting -------------------------------------------------------------- */

int ssh_cancelled(const volatile sig_atomic_t *cancel)
{
	return cancel && *cancel;
}

int ssh_step_done(struct ssh_conn *c, int rc, long long deadline,
		  const volatile sig_atomic_t *cancel, struct err *err)
{
	if (ssh_cancelled(cancel))
		return err_set(err, ERR_CANCELLED, "cancelled");
	if (deadline && proc_now_ms() >= deadline)
		return err_set(err, ERR_TIMEOUT, "timed out");
	return rc == 0 ? ssh_wait(c, deadline, cancel, err) : 0;
}

/*
 * After a libssh2 call said EAGAIN: waits until the socket is ready the way
 * libssh2 wants it, at most SSH_POLL_MS; 0 to retry the call. ERR_TIMEOUT
 * once the deadline (proc_now_ms() value; 0: none) has passed,
 * ERR_CANCELLED once *cancel is set.
 */
int ssh_wait(struct ssh_conn *c, long long deadline,
	     const volatile sig_atomic_t *cancel, struct err *err)
{
	int dir = libssh2_session_block_directions(c->session);
	struct pollfd pfd = { .fd = c->sock, .events = 0, .revents = 0 };
	long long now = proc_now_ms();
	int ms = SSH_POLL_MS, next;

	if (ssh_cancelled(cancel))
		return err_set(err, ERR_CANCELLED, "cancelled");
	if (deadline && now >= deadline)
		return err_set(err, ERR_TIMEOUT, "timed out");
	if (deadline && deadline - now < ms)
		ms = (int)(deadline - now);
	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		pfd.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pfd.events |= POLLOUT;
	else if (c->up)
		/* Not while a packet is half sent: libssh2 refuses another
		 * one then. Sends only when the interval has passed. */
		libssh2_keepalive_send(c->session, &next);
	if (!pfd.events)
		pfd.events = POLLIN;
	if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
		return err_errno(err, ERR_FAIL, "poll");
	return 0;
}

/*
 * Calls CALL (a libssh2 call returning an int) until it says something
 * else than EAGAIN, waiting in between; rc gets its result. w gets 0, or
 * the ssh_wait() error that ended the wait (rc is then EAGAIN). The
 * deadline and cancel are evaluated once.
 */
#define SSH_RETRY(c, rc, w, call, deadline, cancel, err)                     \
	do {                                                                 \
		long long dl_ = (deadline);                                  \
		const volatile sig_atomic_t *cn_ = (cancel);                 \
		(w) = 0;                                                     \
		while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN &&            \
		       ((w) = ssh_wait((c), dl_, cn_, (err))) == 0)          \
			;                                                    \
	} while (0)

long long ssh_after(int ms)
{
	return proc_now_ms() + ms;
}

/* --- encodings ------------------------------------------------------------ */

static const char ssh_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void ssh_base64(struct buf *out, const unsigned char *p, size_t len,
		       int pad)
{
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
			     p[i + 2];

		buf_addch(out, ssh_b64[v >> 18 & 63]);
		buf_addch(out, ssh_b64[v >> 12 & 63]);
		buf_addch(out, ssh_b64[v >> 6 & 63]);
		buf_addch(out, ssh_b64[v & 63]);
	}
	if (i < len) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		buf_addch(out, ssh_b64[v >> 18 & 63]);
		buf_addch(out, ssh_b64[v >> 12 & 63]);
		if (i + 1 < len)
			buf_addch(out, ssh_b64[v >> 6 & 63]);
		else if (pad)
			buf_addch(out, '=');
		if (pad)
			buf_addch(out, '=');
	}
}

/* Decodes len characters of base64 (padding optional) into out, which has
 * room for len * 3 / 4 bytes; returns the length or -1. */
static long ssh_unbase64(const char *s, size_t len, unsigned char *out)
{
	uint32_t v = 0;
	size_t n = 0, bits = 0;

	while (len && s[len - 1] == '=')
		len--;
	for (size_t i = 0; i < len; i++) {
		const char *q = s[i] ? strchr(ssh_b64, s[i]) : NULL;

		if (!q)
			return -1;
		v = v << 6 | (uint32_t)(q - ssh_b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(v >> bits);
		}
	}
	return bits >= 6 ? -1 : (long)n;
}

/* SHA-256 of a key blob, for its fingerprint (OpenSSL, as libssh2 uses). */
static void ssh_sha256(const unsigned char *p, size_t len,
		       unsigned char out[32])
{
	unsigned int n = 32;

	EVP_Digest(p, len, out, &n, EVP_sha256(), NULL);
}

static void ssh_fingerprint_of(const unsigned char *hash, char *out,
			       size_t outlen)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, "SHA256:");
	ssh_base64(&b, hash, 32, 0);
	snprintf(out, outlen, "%s", b.buf);
	buf_release(&b);
}

static size_t ssh_get_u32(const unsigned char *p)
{
	return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	       p[3];
}

/*
 * Splits "TYPE BASE64 [COMMENT]" and decodes the key blob; *type and *blob
 * are the caller's to free. The blob starts with its type's name (RFC
 * 4253 6.6), which must be TYPE.
 */
static int ssh_key_parse(const char *key, char **type, unsigned char **blob,
			 size_t *bloblen)
{
	const char *t, *b;
	size_t tlen, blen;
	long n;

	t = key + strspn(key, " \t");
	tlen = strcspn(t, " \t");
	b = t + tlen + strspn(t + tlen, " \t");
	blen = strcspn(b, " \t\r\n");
	if (!tlen || !blen)
		return -1;
	*blob = xmalloc(blen * 3 / 4 + 3);
	n = ssh_unbase64(b, blen, *blob);
	if (n < 4 || ssh_get_u32(*blob) != tlen || (size_t)n - 4 < tlen ||
	    memcmp(*blob + 4, t, tlen) != 0) {
		free(*blob);
		*blob = NULL;
		return -1;
	}
	*type = xstrndup(t, tlen);
	*bloblen = (size_t)n;
	return 0;
}

int ssh_key_fingerprint(const char *key, char *out, size_t outlen)
{
	unsigned char hash[32], *blob;
	size_t len;
	char *type;

	if (ssh_key_parse(key, &type, &blob, &len) < 0)
		return -1;
	ssh_sha256(blob, len, hash);
	ssh_fingerprint_of(hash, out, outlen);
	free(type);
	free(blob);
	return 0;
}

/* --- connecting ----------------------------------------------------------- */

static int ssh_tcp_connect(struct ssh_conn *c, const struct ssh_target *t,
			   long long deadline, struct err *err)
{
	char port[16];
	int fd, one = 1;
	long long left = deadline - proc_now_ms();

	snprintf(port, sizeof(port), "%d", t->port);
	fd = net_connect(t->host, port, left > 0 ? (int)left : 1, t->cancel, -1,
			 err);
	if (fd < 0)
		return err_prefix(err, "ssh %s", c->where);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->sock = fd;
	return 0;
}

/* The presented key as "TYPE BASE64", the type read from the key blob. */
static int ssh_read_hostkey(struct ssh_conn *c, struct err *err)
{
	static const char *const types[] = {
		[LIBSSH2_HOSTKEY_TYPE_RSA] = "ssh-rsa",
		[LIBSSH2_HOSTKEY_TYPE_DSS] = "ssh-dss",
		[LIBSSH2_HOSTKEY_TYPE_ECDSA_256] = "ecdsa-sha2-nistp256",
		[LIBSSH2_HOSTKEY_TYPE_ECDSA_384] = "ecdsa-sha2-nistp384",
		[LIBSSH2_HOSTKEY_TYPE_ECDSA_521] = "ecdsa-sha2-nistp521",
		[LIBSSH2_HOSTKEY_TYPE_ED25519] = "ssh-ed25519",
	};
	const unsigned char *key;
	struct buf b = BUF_INIT;
	size_t len = 0, nlen, i;
	int type = 0;

	key = (const unsigned char *)libssh2_session_hostkey(c->session, &len,
							     &type);
	if (!key || len < 4)
		return err_set(err, ERR_FAIL, "ssh %s: the server sent no host key",
			       c->where);
	nlen = ssh_get_u32(key);
	for (i = 0; i < nlen && i + 4 < len && nlen <= 64; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-@.",
			    key[4 + i]) || !key[4 + i])
			break;
	if (nlen && i == nlen)
		buf_add(&b, key + 4, nlen);
	else if (type > 0 && (size_t)type < sizeof(types) / sizeof(types[0]) &&
		 types[type])
		buf_addstr(&b, types[type]);
	else
		return err_set(err, ERR_FAIL,
			       "ssh %s: host key of an unknown type %d",
			       c->where, type);
	buf_addch(&b, ' ');
	ssh_base64(&b, key, len, 1);
	c->host_key = buf_detach(&b);
	return 0;
}

static int ssh_check_hostkey(struct ssh_conn *c, const char *pinned,
			     struct err *err)
{
	const unsigned char *hash;
	char presented[SSH_FINGERPRINT_MAX], pinfp[SSH_FINGERPRINT_MAX];
	unsigned char *blob = NULL;
	const unsigned char *key;
	size_t len = 0, bloblen = 0;
	char *type = NULL, *ptype;
	int ktype, same;

	if (ssh_read_hostkey(c, err) < 0)
		return ERR_FAIL;
	if (!pinned)
		return 0;
	key = (const unsigned char *)libssh2_session_hostkey(c->session, &len,
							     &ktype);
	hash = (const unsigned char *)libssh2_hostkey_hash(
		c->session, LIBSSH2_HOSTKEY_HASH_SHA256);
	if (hash)
		ssh_fingerprint_of(hash, presented, sizeof(presented));
	else
		ssh_key_fingerprint(c->host_key, presented, sizeof(presented));
	ptype = xstrndup(c->host_key, strcspn(c->host_key, " "));
	if (ssh_key_parse(pinned, &type, &blob, &bloblen) < 0) {
		err_set(err, ERR_HOSTKEY,
			"host key of %s: the pinned key is not \"TYPE BASE64\" (presented %s %s)",
			c->where, ptype, presented);
		free(ptype);
		return ERR_HOSTKEY;
	}
	same = key && bloblen == len && memcmp(blob, key, len) == 0;
	if (!same) {
		ssh_key_fingerprint(pinned, pinfp, sizeof(pinfp));
		err_set(err, ERR_HOSTKEY,
			"host key of %s changed: pinned %s %s, presented %s %s",
			c->where, type, pinfp, ptype, presented);
	}
	free(ptype);
	free(type);
	free(blob);
	return same ? 0 : ERR_HOSTKEY;
}

static int ssh_auth(struct ssh_conn *c, const struct ssh_target *t,
		    long long deadline, struct err *err)
{
	const char *user = t->user ? t->user : "root";
	char *pub;
	int rc, w;

	if (!t->identity)
		return err_set(err, ERR_FAIL, "ssh %s: auth as %s: no identity",
			       c->where, user);
	if (access(t->identity, R_OK) < 0)
		return err_errno(err, ERR_FAIL, "ssh %s: auth as %s with %s",
				 c->where, user, t->identity);
	pub = xasprintf("%s.pub", t->identity);
	SSH_RETRY(c, rc, w,
		  libssh2_userauth_publickey_fromfile_ex(
			  c->session, user, (unsigned int)strlen(user),
			  access(pub, R_OK) == 0 ? pub : NULL, t->identity, NULL),
		  deadline, t->cancel, err);
	free(pub);
	if (w)
		return err_prefix(err, "ssh %s: auth as %s with %s", c->where,
				  user, t->identity);
	if (rc)
		return ssh_err_from_session(c, err, ERR_FAIL, "auth as %s with %s",
					    user, t->identity);
	return 0;
}

int ssh_connect(const struct ssh_target *t, struct ssh_conn **ret,
		struct err *err)
{
	int ms = t->connect_timeout_ms > 0 ? t->connect_timeout_ms
					   : SSH_CONNECT_MS;
	long long deadline = ssh_after(ms);
	struct ssh_conn *c;
	int rc, w;

	*ret = NULL;
	pthread_once(&ssh_once, ssh_init_once);
	if (ssh_init_rc)
		return err_set(err, ERR_FAIL, "ssh: libssh2_init failed (%d)",
			       ssh_init_rc);
	c = xcalloc(1, sizeof(*c));
	c->sock = -1;
	c->cancel = t->cancel;
	/* exec channels only, for benchmarks and tests (rshell.c) */
	c->no_shell = getenv("HANGAR_SSH_SHELL") &&
		      !strcmp(getenv("HANGAR_SSH_SHELL"), "0");
	c->where = strchr(t->host, ':') ? xasprintf("[%s]:%d", t->host, t->port)
					: xasprintf("%s:%d", t->host, t->port);
	rc = ssh_tcp_connect(c, t, deadline, err);
	if (rc)
		goto fail;
	c->session = libssh2_session_init();
	if (!c->session) {
		rc = err_set(err, ERR_FAIL, "ssh %s: cannot start a session",
			     c->where);
		goto fail;
	}
	libssh2_session_set_blocking(c->session, 0);
	SSH_RETRY(c, rc, w, libssh2_session_handshake(c->session, c->sock),
		  deadline, t->cancel, err);
	if (w) {
		if (w == ERR_TIMEOUT)
			err_set(err, w, "no answer within %d ms", ms);
		rc = ssh_err_wait(c, err, "handshake");
		goto fail;
	}
	if (rc) {
		rc = ssh_err_from_session(c, err, ERR_FAIL, "handshake");
		goto fail;
	}
	c->up = 1;
	rc = ssh_check_hostkey(c, t->pinned_key, err);
	if (rc)
		goto fail;
	rc = ssh_auth(c, t, deadline, err);
	if (rc) {
		if (rc == ERR_TIMEOUT)
			err_set(err, rc, "ssh %s: auth: no answer within %d ms",
				c->where, ms);
		goto fail;
	}
	libssh2_keepalive_config(c->session, 1,
				 (unsigned int)(t->keepalive_s > 0
							? t->keepalive_s
							: SSH_KEEPALIVE_S));
	*ret = c;
	return 0;
fail:
	ssh_close(c);
	return rc < 0 ? rc : ERR_FAIL;
}

const char *ssh_host_key(const struct ssh_conn *c)
{
	return c->host_key;
}

void ssh_close(struct ssh_conn *c)
{
	long long deadline = ssh_after(SSH_CLOSE_MS);
	int rc, w, cut = 0;

	if (!c)
		return;
	if (c->session) {
		rshell_free(c);
		if (c->sftp && !c->broken) {
			SSH_RETRY(c, rc, w, libssh2_sftp_shutdown(c->sftp),
				  deadline, NULL, NULL);
			if (w)
				c->broken = 1;
			c->sftp = NULL;   /* else freed with its channel */
		}
		if (c->up && !c->broken) {
			SSH_RETRY(c, rc, w,
				  libssh2_session_disconnect(c->session,
							     "hangar: done"),
				  deadline, NULL, NULL);
			(void)rc;
		}
		/*
		 * Freeing may still want to close channels; a server that does
		 * not answer gets its socket shut down, after which every send
		 * fails at once and libssh2 frees without waiting.
		 */
		while (libssh2_session_free(c->session) ==
		       LIBSSH2_ERROR_EAGAIN) {
			if (ssh_wait(c, deadline, NULL, NULL) < 0) {
				if (cut++ > 20)
					break;   /* give up: leak it */
				shutdown(c->sock, SHUT_RDWR);
			}
		}
	}
	if (c->sock >= 0)
		close(c->sock);
	free(c->where);
	free(c->host_key);
	free(c);
}

/* --- channels ------------------------------------------------------------- */

/*
 * Tries the current phase once. Returns 1 after progress, 0 when libssh2
 * must wait (EAGAIN), or an error. An output function asking to stop is
 * ERR_CANCELLED.
 */
int ssh_run_step(struct ssh_conn *c, struct ssh_run *r, struct err *err)
{
	char data[SSH_READ_CHUNK];
	int rc, progress = 0;

	switch (r->phase) {
	case SSH_OPEN:
		r->ch = libssh2_channel_open_session(c->session);
		if (!r->ch) {
			if (libssh2_session_last_errno(c->session) ==
			    LIBSSH2_ERROR_EAGAIN)
				return 0;
			return ssh_err_from_session(c, err, ERR_FAIL,
						    "open a channel");
		}
		r->phase = SSH_EXEC;
		return 1;
	case SSH_EXEC:
		r->started = 1;
		rc = libssh2_channel_exec(r->ch, r->command);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return 0;
		if (rc)
			return ssh_err_from_session(c, err, ERR_FAIL, "exec");
		r->phase = SSH_EOF;
		return 1;
	case SSH_EOF:
		rc = libssh2_channel_send_eof(r->ch);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return 0;
		if (rc)
			return ssh_err_from_session(c, err, ERR_FAIL,
						    "close the command's stdin");
		r->phase = SSH_READ;
		return 1;
	case SSH_READ:
		for (int stream = 0; stream < 2; stream++) {
			ssize_t n = libssh2_channel_read_ex(r->ch, stream, data,
							    sizeof(data));

			if (n == LIBSSH2_ERROR_EAGAIN || n == 0)
				continue;
			if (n < 0)
				return ssh_err_from_session(c, err, ERR_FAIL,
							    "read output");
			progress = 1;
			if (r->output &&
			    r->output(r->arg, stream + 1, data, (size_t)n)) {
				r->output = NULL;
				return err_set(err, ERR_CANCELLED,
					       "ssh %s: stopped by its output handler",
					       c->where);
			}
		}
		if (!progress && libssh2_channel_eof(r->ch)) {
			r->phase = SSH_CLOSE;
			return 1;
		}
		return progress;
	case SSH_CLOSE:
		rc = libssh2_channel_close(r->ch);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return 0;
		if (rc)
			return ssh_err_from_session(c, err, ERR_FAIL,
						    "close the channel");
		r->phase = SSH_WAIT_CLOSED;
		return 1;
	case SSH_WAIT_CLOSED:
		rc = libssh2_channel_wait_closed(r->ch);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return 0;
		if (rc)
			return ssh_err_from_session(c, err, ERR_FAIL,
						    "close the channel");
		r->phase = SSH_DONE;
		return 1;
	case SSH_DONE:
		break;
	}
	return 1;
}

/*
 * Advances r until phase until (or beyond), within deadline and cancel;
 * ERR_TIMEOUT / ERR_CANCELLED from the wait, or an SSH error.
 */
int ssh_run_until(struct ssh_conn *c, struct ssh_run *r, enum ssh_phase until,
		  long long deadline, const volatile sig_atomic_t *cancel,
		  struct err *err)
{
	while (r->phase < until) {
		int rc = ssh_run_step(c, r, err);

		if (rc < 0)
			return rc;
		if (r->phase >= until)
			break;
		if ((rc = ssh_step_done(c, rc, deadline, cancel, err)) < 0)
			return rc;
	}
	return 0;
}

/*
 * After a step gave up half way: re-enters it until nothing is left half
 * sent (libssh2 refuses to send anything else before), within grace.
 */
int ssh_run_settle(struct ssh_conn *c, struct ssh_run *r, struct err *err)
{
	long long deadline = ssh_after(SSH_GRACE_MS);

	/* libssh2 keeps a channel open or an exec request under way in the
	 * session: it must be seen through before any other channel opens */
	if (r->phase == SSH_OPEN)
		return ssh_run_until(c, r, SSH_EXEC, deadline, NULL, err);
	if (r->phase == SSH_EXEC && r->started)
		return ssh_run_until(c, r, SSH_EOF, deadline, NULL, err);
	while (r->phase != SSH_DONE &&
	       (libssh2_session_block_directions(c->session) &
		LIBSSH2_SESSION_BLOCK_OUTBOUND)) {
		int rc = ssh_run_step(c, r, err);

		if (rc < 0)
			return rc;
		if (rc == 0 && (rc = ssh_wait(c, deadline, NULL, err)) < 0)
			return rc;
	}
	return 0;
}

void ssh_run_free(struct ssh_conn *c, struct ssh_run *r)
{
	int rc, w;

	if (!r->ch)
		return;
	if (!c->broken) {
		SSH_RETRY(c, rc, w, libssh2_channel_free(r->ch),
			  ssh_after(SSH_GRACE_MS), NULL, NULL);
		if (w)
			c->broken = 1;   /* left to libssh2_session_free */
		(void)rc;
	}
	r->ch = NULL;
}

/* The status of a command that ended: 128+N for signal N. */
int ssh_run_status(struct ssh_conn *c, struct ssh_run *r)
{
	static const struct { const char *name; int signo; } sigs[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
		{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
		{ "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
		{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
		{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
		{ "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ }, { "SYS", SIGSYS },
	};
	char *sig = NULL;
	size_t len = 0;
	int status;

	libssh2_channel_get_exit_signal(r->ch, &sig, &len, NULL, NULL, NULL,
					NULL);
	if (!sig)
		return libssh2_channel_get_exit_status(r->ch) & 0xff;
	status = 255;   /* as OpenSSH's ssh for signals it cannot name */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (!strcmp(sig, sigs[i].name))
			status = 128 + sigs[i].signo;
	libssh2_free(c->session, sig);
	return status;
}

/* Runs a helper command to its end (output discarded) within ms. */
int ssh_run_quiet(struct ssh_conn *c, const char *command, int ms,
		  int *status, struct err *err)
{
	struct ssh_run r = { .command = command };
	int rc = ssh_run_until(c, &r, SSH_DONE, ssh_after(ms), NULL, err);

	if (!rc)
		*status = ssh_run_status(c, &r);
	else if (r.phase != SSH_DONE)
		c->broken = 1;   /* half way: the channel stays half open */
	ssh_run_free(c, &r);
	return rc;
}

/*
 * The command of r timed out or was cancelled: TERM its process group,
 * give it SSH_KILL_WAIT_MS to end, KILL what is left and remove the pid
 * file. Returns what it did for the message ("stopped with SIGTERM").
 */
static const char *ssh_kill(struct ssh_conn *c, struct ssh_run *r,
			    const char *pidfile)
{
	struct err err = ERR_INIT;
	struct buf cmd = BUF_INIT;
	const char *what = "stopped with SIGTERM";
	int status = 0;

	r->output = NULL;
	if (ssh_run_settle(c, r, &err) < 0) {
		c->broken = 1;
		return "could not stop it: the connection is stuck";
	}
	if (!r->started)
		return "it had not started";
	buf_addf(&cmd, "p=$(cat %s 2>/dev/null) && kill -TERM -- -$p", pidfile);
	if (ssh_run_quiet(c, cmd.buf, SSH_GRACE_MS, &status, &err) < 0) {
		buf_release(&cmd);
		c->broken = 1;
		return "could not stop it: the kill channel failed";
	}
	if (ssh_run_until(c, r, SSH_DONE, ssh_after(SSH_KILL_WAIT_MS), NULL,
			  &err) < 0 ||
	    r->phase != SSH_DONE)
		what = "stopped with SIGKILL";
	if (ssh_run_settle(c, r, &err) < 0) {
		buf_release(&cmd);
		c->broken = 1;
		return "could not stop it with SIGKILL: the connection is stuck";
	}
	buf_reset(&cmd);
	buf_addf(&cmd,
		 "p=$(cat %s 2>/dev/null) || exit 0; kill -KILL -- -$p 2>/dev/null; rm -f %s",
		 pidfile, pidfile);
	if (ssh_run_quiet(c, cmd.buf, SSH_GRACE_MS, &status, &err) < 0) {
		buf_release(&cmd);
		c->broken = 1;
		return "could not stop it: the kill channel failed";
	}
	buf_release(&cmd);
	if (r->phase != SSH_DONE &&
	    ssh_run_until(c, r, SSH_DONE, ssh_after(SSH_GRACE_MS), NULL, &err) < 0) {
		/* something outside its process group holds its output open */
		what = "stopped with SIGKILL, but its channel did not close";
		if (ssh_run_settle(c, r, &err) < 0)
			c->broken = 1;
	}
	return what;
}

/* A pid file name no other command of any hangar uses, as shell text:
 * in $TMPDIR on the host, or /tmp. */
static void ssh_pidfile(char *out, size_t len)
{
	static unsigned long counter;
	unsigned long long r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (unsigned long long)proc_now_ms() ^
		    (unsigned long long)getpid() << 32 ^ ++counter;
	snprintf(out, len, "\"${TMPDIR:-/tmp}/hangar-exec-%016llx.pid\"", r);
}

/*
 * One command on an exec channel of its own: the fallback when no remote
 * shell runs on the host (rshell.c), and HANGAR_SSH_SHELL=0.
 */
static int ssh_exec_channel(struct ssh_conn *c, const char *command,
			    const struct ssh_exec_opts *opts, int *exit_status,
			    const char **what, int *by_output, struct err *err)
{
	long long deadline;
	struct ssh_run r = { 0 };
	struct buf wrapped = BUF_INIT;
	char pidfile[80];
	int rc;

	deadline = opts->timeout_ms > 0 ? ssh_after(opts->timeout_ms) : 0;
	ssh_pidfile(pidfile, sizeof(pidfile));
	/*
	 * The shell sshd started leads the process group (sshd calls
	 * setsid() for a session without a pty): its pid names the group.
	 */
	buf_addf(&wrapped, "echo $$ >%s; sh -c ", pidfile);
	buf_add_shell_quoted(&wrapped, command);
	buf_addf(&wrapped, "; s=$?; rm -f %s; exit $s", pidfile);
	r.command = wrapped.buf;
	r.output = opts->output;
	r.arg = opts->arg;
	rc = ssh_run_until(c, &r, SSH_DONE, deadline, opts->cancel, err);
	if (rc == ERR_TIMEOUT || rc == ERR_CANCELLED) {
		*by_output = opts->output && !r.output;
		*what = ssh_kill(c, &r, pidfile);
	} else if (rc == 0) {
		*exit_status = ssh_run_status(c, &r);
	} else {
		c->broken = 1;
	}
	ssh_run_free(c, &r);
	buf_release(&wrapped);
	return rc;
}

int ssh_exec(struct ssh_conn *c, const char *command,
	     const struct ssh_exec_opts *opts, int *exit_status,
	     struct err *err)
{
	static const struct ssh_exec_opts none = { 0, NULL, NULL, NULL };
	const char *what = "it had not started";
	int rc = 1, by_output = 0;

	if (!opts)
		opts = &none;
	if (c->broken)
		return err_set(err, ERR_FAIL,
			       "ssh %s: the connection failed earlier", c->where);
	if (!c->no_shell)
		rc = rshell_exec(c, command, opts, exit_status, &what,
				 &by_output, err);
	if (rc == 1)
		rc = ssh_exec_channel(c, command, opts, exit_status, &what,
				      &by_output, err);
	if (rc == ERR_TIMEOUT || rc == ERR_CANCELLED) {
		if (rc == ERR_TIMEOUT && opts->timeout_ms % 1000 == 0)
			err_set(err, rc, "ssh %s: command timed out after %d s; %s",
				c->where, opts->timeout_ms / 1000, what);
		else if (rc == ERR_TIMEOUT)
			err_set(err, rc, "ssh %s: command timed out after %d ms; %s",
				c->where, opts->timeout_ms, what);
		else if (by_output)
			err_set(err, rc,
				"ssh %s: command stopped by its output handler; %s",
				c->where, what);
		else
			err_set(err, rc, "ssh %s: command cancelled; %s",
				c->where, what);
	}
	return rc;
}

/* --- SFTP ----------------------------------------------------------------- */

/*
 * SFTP helpers return 0 or a hangar error with err set. A refusal by the
 * server (no such file, permission denied ...) leaves the connection
 * usable (c->broken stays 0); libssh2_sftp_last_error() then says why.
 */

static int ssh_sftp(struct ssh_conn *c, struct err *err)
{
	long long deadline = ssh_after(SSH_STALL_MS);
	int w;

	if (c->broken)
		return err_set(err, ERR_FAIL,
			       "ssh %s: the connection failed earlier", c->where);
	while (!c->sftp) {
		c->sftp = libssh2_sftp_init(c->session);
		if (c->sftp)
			break;
		if (libssh2_session_last_errno(c->session) !=
		    LIBSSH2_ERROR_EAGAIN) {
			c->broken = 1;
			return ssh_err_from_session(c, err, ERR_FAIL,
						    "start sftp");
		}
		w = ssh_wait(c, deadline, c->cancel, err);
		if (w) {
			c->broken = 1;
			return ssh_err_wait(c, err, "start sftp");
		}
	}
	return 0;
}

/* The outcome of an SFTP call retried with SSH_RETRY, as a hangar code. */
static int ssh_sftp_result(struct ssh_conn *c, long rc, int w,
			   struct err *err, const char *what, const char *path)
{
	if (w) {
		/* libssh2 is left half way through a request */
		c->broken = 1;
		if (w == ERR_TIMEOUT)
			return err_set(err, w,
				       "ssh %s: %s %s: no progress for %d s",
				       c->where, what, path, SSH_STALL_MS / 1000);
		return err_prefix(err, "ssh %s: %s %s", c->where, what, path);
	}
	if (rc >= 0)
		return 0;
	if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL)
		c->broken = 1;
	return ssh_err_from_session(c, err, ERR_FAIL, "%s %s", what, path);
}

static int ssh_sftp_stat(struct ssh_conn *c, const char *path,
			 LIBSSH2_SFTP_ATTRIBUTES *st, struct err *err)
{
	int rc, w;

	SSH_RETRY(c, rc, w,
		  libssh2_sftp_stat_ex(c->sftp, path, (unsigned int)strlen(path),
				       LIBSSH2_SFTP_STAT, st),
		  ssh_after(SSH_STALL_MS), c->cancel, err);
	return ssh_sftp_result(c, rc, w, err, "stat", path);
}

static int ssh_is_dir(const LIBSSH2_SFTP_ATTRIBUTES *st)
{
	return (st->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
	       LIBSSH2_SFTP_S_ISDIR(st->permissions);
}

/* mkdir of one directory; one that is there already is fine. */
static int ssh_sftp_mkdir(struct ssh_conn *c, const char *path,
			  struct err *err)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	struct err serr = ERR_INIT;
	int rc, w;

	SSH_RETRY(c, rc, w,
		  libssh2_sftp_mkdir_ex(c->sftp, path,
					(unsigned int)strlen(path), 0755),
		  ssh_after(SSH_STALL_MS), c->cancel, err);
	rc = ssh_sftp_result(c, rc, w, err, "mkdir", path);
	if (!rc || c->broken)
		return rc;
	if (libssh2_sftp_last_error(c->sftp) == LIBSSH2_FX_FILE_ALREADY_EXISTS)
		return 0;
	/* SFTP v3 (OpenSSH) says only "failure" for EEXIST: look */
	if (ssh_sftp_stat(c, path, &st, &serr) == 0)
		return ssh_is_dir(&st) ? 0
				       : err_set(err, ERR_FAIL,
						 "ssh %s: mkdir %s: not a directory",
						 c->where, path);
	if (c->broken)
		*err = serr;
	return rc;
}

int ssh_mkdir_p(struct ssh_conn *c, const char *path, struct err *err)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	char *p;
	int rc;

	if (ssh_sftp(c, err) < 0)
		return err->code;
	/* most of the time it is there already: one round trip */
	rc = ssh_sftp_stat(c, path, &st, err);
	if (!rc && ssh_is_dir(&st))
		return 0;
	if (rc && c->broken)
		return rc;
	p = xstrdup(path);
	rc = 0;
	for (char *end = p + strspn(p, "/"); *end && !rc;
	     end += strspn(end, "/")) {
		char saved;

		end += strcspn(end, "/");
		saved = *end;
		*end = '\0';
		rc = ssh_sftp_mkdir(c, p, err);
		*end = saved;
	}
	free(p);
	return rc;
}

/* Opens path on the server; NULL with err set. */
static LIBSSH2_SFTP_HANDLE *ssh_sftp_open(struct ssh_conn *c, const char *path,
					  unsigned long flags, long mode,
					  struct err *err)
{
	long long deadline = ssh_after(SSH_STALL_MS);
	LIBSSH2_SFTP_HANDLE *h;
	int w;

	while (!(h = libssh2_sftp_open_ex(c->sftp, path,
					  (unsigned int)strlen(path), flags,
					  mode, LIBSSH2_SFTP_OPENFILE))) {
		int rc = libssh2_session_last_errno(c->session);

		if (rc != LIBSSH2_ERROR_EAGAIN) {
			ssh_sftp_result(c, rc, 0, err, "open", path);
			return NULL;
		}
		w = ssh_wait(c, deadline, c->cancel, err);
		if (w) {
			ssh_sftp_result(c, 0, w, err, "open", path);
			return NULL;
		}
	}
	return h;
}

static int ssh_sftp_close(struct ssh_conn *c, LIBSSH2_SFTP_HANDLE *h,
			  const char *path, struct err *err)
{
	int rc, w;

	if (c->broken)
		return ERR_FAIL;   /* libssh2 cannot free it any more */
	SSH_RETRY(c, rc, w, libssh2_sftp_close_handle(h),
		  ssh_after(SSH_STALL_MS), c->cancel, err);
	return ssh_sftp_result(c, rc, w, err, "close", path);
}

static int ssh_sftp_unlink(struct ssh_conn *c, const char *path,
			   struct err *err)
{
	int rc, w;

	SSH_RETRY(c, rc, w,
		  libssh2_sftp_unlink_ex(c->sftp, path,
					 (unsigned int)strlen(path)),
		  ssh_after(SSH_STALL_MS), c->cancel, err);
	return ssh_sftp_result(c, rc, w, err, "remove", path);
}

static int ssh_sftp_rename(struct ssh_conn *c, const char *from,
			   const char *to, struct err *err)
{
	int rc, w;

	SSH_RETRY(c, rc, w,
		  libssh2_sftp_rename_ex(c->sftp, from,
					 (unsigned int)strlen(from), to,
					 (unsigned int)strlen(to),
					 LIBSSH2_SFTP_RENAME_OVERWRITE |
						 LIBSSH2_SFTP_RENAME_ATOMIC |
						 LIBSSH2_SFTP_RENAME_NATIVE),
		  ssh_after(SSH_STALL_MS), c->cancel, err);
	return ssh_sftp_result(c, rc, w, err, "rename", from);
}

/* Writes all of fd into h. */
static int ssh_sftp_send(struct ssh_conn *c, int fd, const char *local,
			 LIBSSH2_SFTP_HANDLE *h, const char *remote,
			 struct err *err)
{
	char *data = xmalloc(SSH_SFTP_CHUNK);
	ssize_t n;
	int rc = 0, w;

	while (!rc && (n = read(fd, data, SSH_SFTP_CHUNK)) != 0) {
		const char *p = data;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = err_errno(err, ERR_FAIL, "read %s", local);
			break;
		}
		/* libssh2 pipelines the chunk's packets; after EAGAIN it
		 * wants the same buffer again; it returns what was acked */
		while (!rc && n > 0) {
			ssize_t sent;

			SSH_RETRY(c, sent, w,
				  libssh2_sftp_write(h, p, (size_t)n),
				  ssh_after(SSH_STALL_MS), c->cancel, err);
			rc = ssh_sftp_result(c, (long)sent, w, err, "write",
					     remote);
			if (!rc) {
				p += sent;
				n -= sent;
			}
		}
	}
	free(data);
	return rc;
}

/* Renames tmp over remote, which SFTP v3 cannot do in one go. */
static int ssh_sftp_replace(struct ssh_conn *c, const char *tmp,
			    const char *remote, struct err *err)
{
	unsigned long st;
	int rc = ssh_sftp_rename(c, tmp, remote, err);

	if (!rc || c->broken)
		return rc;
	/*
	 * OpenSSH renames with link(2) (flags need SFTP v5): "failure" when
	 * remote exists. Not atomic, but the best v3 offers: unlink, rename.
	 */
	st = libssh2_sftp_last_error(c->sftp);
	if (st != LIBSSH2_FX_FAILURE && st != LIBSSH2_FX_FILE_ALREADY_EXISTS)
		return rc;
	rc = ssh_sftp_unlink(c, remote, err);
	if (rc)
		return rc;
	return ssh_sftp_rename(c, tmp, remote, err);
}

int ssh_upload(struct ssh_conn *c, const char *local, const char *remote,
	       int mode, struct err *err)
{
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	LIBSSH2_SFTP_HANDLE *h = NULL;
	const char *slash = strrchr(remote, '/');
	char *tmp = NULL;
	int fd, rc, w;

	fd = open(local, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(err, ERR_FAIL, "upload %s", local);
	rc = ssh_sftp(c, err);
	if (!rc && slash && slash != remote) {
		char *dir = xstrndup(remote, (size_t)(slash - remote));

		rc = ssh_mkdir_p(c, dir, err);
		free(dir);
	}
	if (rc)
		goto out;
	tmp = xasprintf("%s.hangar-tmp", remote);
	h = ssh_sftp_open(c, tmp,
			  LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT |
				  LIBSSH2_FXF_TRUNC,
			  mode & 07777, err);
	if (!h) {
		rc = err->code;
		goto out;
	}
	rc = ssh_sftp_send(c, fd, local, h, tmp, err);
	if (rc)
		goto out;
	/* the mode asked for, whatever the server's umask */
	memset(&attrs, 0, sizeof(attrs));
	attrs.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
	attrs.permissions = (unsigned long)(mode & 07777);
	SSH_RETRY(c, rc, w, libssh2_sftp_fsetstat(h, &attrs),
		  ssh_after(SSH_STALL_MS), c->cancel, err);
	rc = ssh_sftp_result(c, rc, w, err, "chmod", tmp);
	if (rc)
		goto out;
	rc = ssh_sftp_close(c, h, tmp, err);
	h = NULL;
	if (!rc)
		rc = ssh_sftp_replace(c, tmp, remote, err);
out:
	if (h)
		ssh_sftp_close(c, h, tmp, NULL);
	if (rc && tmp && !c->broken)
		ssh_sftp_unlink(c, tmp, NULL);
	if (rc)
		err_prefix(err, "upload %s to %s", local, remote);
	free(tmp);
	close(fd);
	return rc;
}

int ssh_download(struct ssh_conn *c, const char *remote, const char *local,
		 long long max_bytes, long long *size, struct err *err)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	LIBSSH2_SFTP_HANDLE *h = NULL;
	char *tmp = xasprintf("%s.tmp", local);
	char *data = NULL;
	long long total = 0;
	int fd = -1, rc, w;

	rc = ssh_sftp(c, err);
	if (rc)
		goto out;
	h = ssh_sftp_open(c, remote, LIBSSH2_FXF_READ, 0, err);
	if (!h) {
		rc = err->code;
		goto out;
	}
	/* refuse what is too big already before reading it */
	SSH_RETRY(c, rc, w, libssh2_sftp_fstat(h, &st), ssh_after(SSH_STALL_MS),
		  c->cancel, err);
	rc = ssh_sftp_result(c, rc, w, err, "stat", remote);
	if (rc)
		goto out;
	if (max_bytes > 0 && (st.flags & LIBSSH2_SFTP_ATTR_SIZE) &&
	    st.filesize > (libssh2_uint64_t)max_bytes) {
		rc = err_set(err, ERR_FAIL, "%s is %llu bytes, more than %lld",
			     remote, (unsigned long long)st.filesize, max_bytes);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fchmod(fd, 0644) < 0) {
		rc = err_errno(err, ERR_FAIL, "%s", tmp);
		goto out;
	}
	data = xmalloc(SSH_SFTP_CHUNK);
	for (;;) {
		ssize_t n;

		SSH_RETRY(c, n, w, libssh2_sftp_read(h, data, SSH_SFTP_CHUNK),
			  ssh_after(SSH_STALL_MS), c->cancel, err);
		rc = ssh_sftp_result(c, (long)n, w, err, "read", remote);
		if (rc || n == 0)
			break;
		total += n;
		if (max_bytes > 0 && total > max_bytes) {
			rc = err_set(err, ERR_FAIL, "%s: more than %lld bytes",
				     remote, max_bytes);
			break;
		}
		if (net_write_all(fd, data, (size_t)n) < 0) {
			rc = err_errno(err, ERR_FAIL, "write %s", tmp);
			break;
		}
	}
	if (rc)
		goto out;
	rc = ssh_sftp_close(c, h, remote, err);
	h = NULL;
	if (rc)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		rc = err_errno(err, ERR_FAIL, "write %s", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, local) < 0) {
		rc = err_errno(err, ERR_FAIL, "rename %s", tmp);
		goto out;
	}
	if (size)
		*size = total;
out:
	if (h)
		ssh_sftp_close(c, h, remote, NULL);
	if (fd >= 0)
		close(fd);
	if (rc) {
		unlink(tmp);
		err_prefix(err, "download %s to %s", remote, local);
	}
	free(data);
	free(tmp);
	return rc;
}
