/*
 * console.c: a host's serial console as timestamped lines. One loop
 * (console_pump) reads a tcp or command stream, cuts it into lines (at
 * most CONSOLE_LINE_MAX bytes: a stream without newlines cannot grow our
 * memory) and writes each with its UTC time of arrival in one write(), so
 * a log is always whole lines and can be tailed live. A capture runs that
 * loop in a thread of its own until console_capture_stop() wakes it
 * through a self-pipe; `hangar host console` runs it in its own thread
 * until a signal flag or a duration. What the loop notices about the
 * stream itself (connection lost, command exited) goes into the output
 * as "[hangar] ..." lines: that is where someone reading a console log
 * needs it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "net.h"
#include "proc.h"
#include "strnum.h"
#include "xalloc.h"
#include "banned.h"

#define CONSOLE_LINE_MAX 4096
#define CONSOLE_CONNECT_MS 2000
#define CONSOLE_RETRY_MS 1000
/* how long an unfinished line waits for its end before it is written */
#define CONSOLE_PROMPT_MS 300
/* how long a console command has between SIGTERM and SIGKILL at a stop */
#define CONSOLE_KILL_MS 300
/* "YYYY-MM-DDTHH:MM:SS.mmmZ " */
#define CONSOLE_STAMP_LEN 25

enum console_kind { CONSOLE_NONE, CONSOLE_TCP, CONSOLE_COMMAND };

struct console_spec {
	enum console_kind kind;
	char host[256];
	char port[8];
	const char *command;    /* points into the spec */
};

static int console_parse(const char *spec, struct console_spec *s,
			 struct err *err)
{
	memset(s, 0, sizeof(*s));
	if (!spec)
		spec = "";
	if (!strcmp(spec, "none")) {
		s->kind = CONSOLE_NONE;
		return 0;
	}
	if (!strncmp(spec, "command:", 8)) {
		if (!spec[8])
			return err_set(err, ERR_USAGE,
				       "console '%s': command: needs a command", spec);
		s->kind = CONSOLE_COMMAND;
		s->command = spec + 8;
		return 0;
	}
	if (!strncmp(spec, "tcp:", 4)) {
		const char *v = spec + 4, *colon = strrchr(v, ':');
		const char *h = v, *hend = colon;
		int port;

		if (colon && *v == '[' && colon > v && colon[-1] == ']') {
			h = v + 1;
			hend = colon - 1;
		}
		if (!colon || hend <= h ||
		    (size_t)(hend - h) >= sizeof(s->host) ||
		    strnum_int(colon + 1, 1, 65535, &port) < 0)
			return err_set(err, ERR_USAGE,
				       "console '%s' is not tcp:HOST:PORT", spec);
		s->kind = CONSOLE_TCP;
		memcpy(s->host, h, (size_t)(hend - h));
		s->host[hend - h] = '\0';
		snprintf(s->port, sizeof(s->port), "%d", port);
		return 0;
	}
	return err_set(err, ERR_USAGE,
		       "console '%s' is not tcp:HOST:PORT, command:CMD or none",
		       spec);
}

int console_spec_check(const char *spec, struct err *err)
{
	struct console_spec s;

	return console_parse(spec, &s, err);
}

/* ---- the pump: stream in, timestamped lines out ---- */

struct console_pump {
	const char *spec;
	struct console_spec s;
	int outfd;
	int stopfd;                         /* readable: stop (or -1) */
	const volatile sig_atomic_t *stop;  /* set: stop (or NULL) */
	long long deadline;                 /* monotonic ms, 0: none */
	int restart;                        /* rerun an exited command */
	int stopped;
	int write_errno;
	char line[CONSOLE_LINE_MAX];
	size_t len;
	int cut;                            /* the last line was cut at the limit */
	struct timespec line_t;             /* arrival of the line's first byte */
	/* the connected tcp stream, for console_capture_send (-1: none) */
	pthread_mutex_t conn_lock;
	int conn_fd;
};

static int console_stopping(struct console_pump *p)
{
	if (p->stopped)
		return 1;
	if ((p->stop && *p->stop) ||
	    (p->deadline && proc_now_ms() >= p->deadline))
		p->stopped = 1;
	return p->stopped;
}

/*
 * Waits up to timeout_ms (-1: no limit) for events on fd (-1: none, just
 * sleep). 1 when fd is ready, 0 on timeout, -1 when it is time to stop.
 */
static int console_wait(struct console_pump *p, int fd, short events,
			long timeout_ms)
{
	long long end = timeout_ms < 0 ? 0 : proc_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		long slice = 100;
		int r;

		if (console_stopping(p))
			return -1;
		if (end) {
			long long left = end - proc_now_ms();

			if (left <= 0)
				return 0;
			if (left < slice)
				slice = (long)left;
		}
		if (p->deadline) {
			long long left = p->deadline - proc_now_ms();

			if (left < slice)
				slice = left > 0 ? (long)left : 0;
		}
		if (fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = fd, .events = events };
		if (p->stopfd >= 0)
			pfd[n++] = (struct pollfd){ .fd = p->stopfd, .events = POLLIN };
		r = poll(pfd, n, (int)slice);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		if (p->stopfd >= 0 && pfd[n - 1].revents) {
			p->stopped = 1;
			return -1;
		}
		if (fd >= 0 && pfd[0].revents)
			return 1;
	}
}

static void console_write(struct console_pump *p, const char *data, size_t len)
{
	while (len && !p->write_errno) {
		ssize_t n = write(p->outfd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			p->write_errno = n < 0 ? errno : EIO;
			p->stopped = 1;
			return;
		}
		data += n;
		len -= (size_t)n;
	}
}

static void console_emit(struct console_pump *p, const struct timespec *t,
			 const char *text, size_t len)
{
	char out[CONSOLE_STAMP_LEN + CONSOLE_LINE_MAX + 2];
	struct tm tm;
	int k;

	gmtime_r(&t->tv_sec, &tm);
	k = snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, t->tv_nsec / 1000000);
	if (k != CONSOLE_STAMP_LEN)
		k = 0;
	if (len > CONSOLE_LINE_MAX)
		len = CONSOLE_LINE_MAX;
	memcpy(out + k, text, len);
	out[k + len] = '\n';
	/* one write per line: readers of the log never see half of one */
	console_write(p, out, (size_t)k + len + 1);
}

/* Writes the line so far, even an empty one. */
static void console_end_line(struct console_pump *p)
{
	size_t len = p->len;

	if (!len)
		clock_gettime(CLOCK_REALTIME, &p->line_t);
	if (len && p->line[len - 1] == '\r')
		len--;
	console_emit(p, &p->line_t, p->line, len);
	p->len = 0;
}

/* Writes a partial line, if there is one (the stream ended or stops). */
static void console_flush(struct console_pump *p)
{
	if (p->len)
		console_end_line(p);
}

static void console_note(struct console_pump *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void console_note(struct console_pump *p, const char *fmt, ...)
{
	char msg[512];
	struct timespec t;
	va_list ap;
	int k = snprintf(msg, sizeof(msg), "[hangar] console %s: ", p->spec);

	if (k < 0 || (size_t)k >= sizeof(msg))
		k = 0;
	va_start(ap, fmt);
	vsnprintf(msg + k, sizeof(msg) - (size_t)k, fmt, ap);
	va_end(ap);
	console_flush(p);
	clock_gettime(CLOCK_REALTIME, &t);
	console_emit(p, &t, msg, strlen(msg));
}

static void console_feed(struct console_pump *p, const char *data, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = data[i];

		if (c == '\n') {
			/* not an empty line after a line cut at the limit */
			if (p->len || !p->cut)
				console_end_line(p);
			p->cut = 0;
			continue;
		}
		if (c == '\0')
			continue;
		p->cut = 0;
		if (!p->len)
			clock_gettime(CLOCK_REALTIME, &p->line_t);
		p->line[p->len++] = c;
		if (p->len == CONSOLE_LINE_MAX) {
			console_end_line(p);   /* the rest follows as its own line */
			p->cut = 1;
		}
	}
}

/* Reads fd into lines until end of stream (0) or a stop (-1). */
static int console_read_all(struct console_pump *p, int fd)
{
	char chunk[4096];

	for (;;) {
		ssize_t n;
		/* a line left unfinished is a prompt ("=> ", "login: "): it
		 * must reach the log for someone to answer it */
		int r = console_wait(p, fd, POLLIN, p->len ? CONSOLE_PROMPT_MS : -1);

		if (r < 0)
			return -1;
		if (r == 0) {
			console_flush(p);
			continue;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return 0;
		console_feed(p, chunk, (size_t)n);
		if (p->write_errno)
			return -1;
	}
}

/* ---- tcp ---- */

static int console_tcp_connect(struct console_pump *p, struct err *err)
{
	long long left = p->deadline ? p->deadline - proc_now_ms()
				     : CONSOLE_CONNECT_MS;
	int fd, on = 1;

	if (left > CONSOLE_CONNECT_MS)
		left = CONSOLE_CONNECT_MS;
	fd = net_connect(p->s.host, p->s.port, left > 0 ? (int)left : 1, p->stop,
			 p->stopfd, err);
	if (fd == ERR_CANCELLED)
		p->stopped = 1;
	if (fd < 0)
		return fd;
	/* a console server that vanishes without a FIN is noticed */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	return fd;
}

static int console_pump_tcp(struct console_pump *p)
{
	int failing = 0, rc;

	while (!console_stopping(p)) {
		struct err e = ERR_INIT;
		int fd = console_tcp_connect(p, &e);

		if (fd < 0) {
			if (p->stopped)
				break;
			/* say it once per outage, not every second */
			if (!failing++)
				console_note(p, "%s (retrying every second)", e.msg);
			console_wait(p, -1, 0, CONSOLE_RETRY_MS);
			continue;
		}
		if (failing)
			console_note(p, "connected");
		failing = 0;
		pthread_mutex_lock(&p->conn_lock);
		p->conn_fd = fd;
		pthread_mutex_unlock(&p->conn_lock);
		rc = console_read_all(p, fd);
		pthread_mutex_lock(&p->conn_lock);
		p->conn_fd = -1;
		pthread_mutex_unlock(&p->conn_lock);
		if (rc == 0) {
			console_flush(p);
			if (!console_stopping(p)) {
				console_note(p, "connection closed (reconnecting)");
				failing = 1;
			}
		}
		close(fd);
		if (!p->stopped)
			console_wait(p, -1, 0, CONSOLE_RETRY_MS);
	}
	console_flush(p);
	return 0;
}

/* ---- command ---- */

/*
 * sh -c CMD in a process group of its own, stdin from /dev/null, stdout
 * and stderr into a pipe; *rfd gets the pipe's end. Everything the child
 * does between fork and exec is async-signal-safe (we may be one thread
 * of many).
 */
static pid_t console_spawn(const char *cmd, int *rfd, struct err *err)
{
	int fds[2], nullfd;
	sigset_t none;
	pid_t pid, parent;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return err_errno(err, ERR_FAIL, "pipe");
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nullfd < 0) {
		close(fds[0]);
		close(fds[1]);
		return err_errno(err, ERR_FAIL, "/dev/null");
	}
	sigemptyset(&none);
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		err_errno(err, ERR_FAIL, "fork");
		close(fds[0]);
		close(fds[1]);
		close(nullfd);
		return ERR_FAIL;
	}
	if (pid == 0) {
		setpgid(0, 0);
		/* a crashed hangar takes its console command along (only the
		 * forking thread's exit counts: it always reaps first) */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		dup2(nullfd, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close_range(3, ~0U, 0);
		/* a capture thread blocks every signal: exec keeps the mask */
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);   /* as the child does: whoever runs first */
	close(fds[1]);
	close(nullfd);
	*rfd = fds[0];
	return pid;
}

/* Whether pid exited (it is left unreaped: its pid stays taken). */
static int console_exited(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid == pid;
}

/*
 * Ends the command's process group (SIGTERM, then SIGKILL after
 * CONSOLE_KILL_MS) and reaps it; its exit status (or -1).
 */
static int console_reap(pid_t pid, int term)
{
	long long end = proc_now_ms() + CONSOLE_KILL_MS;
	int status;

	if (term) {
		kill(-pid, SIGTERM);
		while (!console_exited(pid) && proc_now_ms() < end)
			poll(NULL, 0, 10);
	}
	/* the leader is at most a zombie: its group id cannot be reused yet,
	 * so this reaches only what it left behind */
	kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int console_pump_command(struct console_pump *p)
{
	int failing = 0;

	while (!console_stopping(p)) {
		struct err e = ERR_INIT;
		int fd = -1, status;
		pid_t pid = console_spawn(p->s.command, &fd, &e);

		if (pid < 0) {
			if (!failing++)
				console_note(p, "%s", e.msg);
			if (!p->restart)
				break;
			console_wait(p, -1, 0, CONSOLE_RETRY_MS);
			continue;
		}
		failing = 0;
		if (console_read_all(p, fd) < 0) {
			close(fd);
			console_flush(p);
			console_reap(pid, 1);
			break;
		}
		close(fd);
		console_flush(p);
		/* its output ended: wait for it to exit, unless we stop first */
		while (!console_exited(pid) && console_wait(p, -1, 0, 100) == 0)
			;
		status = console_reap(pid, !console_exited(pid));
		if (p->stopped)
			break;
		if (!p->restart) {
			if (status)
				console_note(p, "command exited with status %d",
					     status);
			break;
		}
		console_note(p, "command exited with status %d (restarting)",
			     status);
		console_wait(p, -1, 0, CONSOLE_RETRY_MS);
	}
	console_flush(p);
	return 0;
}

static void console_pump_run(struct console_pump *p)
{
	if (p->s.kind == CONSOLE_TCP)
		console_pump_tcp(p);
	else if (p->s.kind == CONSOLE_COMMAND)
		console_pump_command(p);
}

/* ---- captures ---- */

struct console_capture {
	struct console_pump pump;
	char *spec;
	int logfd;
	int wake[2];            /* the self-pipe: a byte means stop */
	pthread_t thread;
	int running;
};

static void *console_capture_main(void *arg)
{
	struct console_capture *c = arg;

	console_pump_run(&c->pump);
	return NULL;
}

int console_capture_start(const char *spec, const char *logpath,
			  struct console_capture **ret, struct err *err)
{
	struct console_capture *c;
	struct console_spec s;
	sigset_t all, old;
	int rc;

	*ret = NULL;
	if (console_parse(spec, &s, err) < 0)
		return err->code;
	c = xcalloc(1, sizeof(*c));
	c->logfd = c->wake[0] = c->wake[1] = -1;
	pthread_mutex_init(&c->pump.conn_lock, NULL);
	c->pump.conn_fd = -1;
	if (s.kind == CONSOLE_NONE) {
		*ret = c;   /* nothing to capture; stop just frees it */
		return 0;
	}
	c->logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (c->logfd < 0) {
		err_errno(err, ERR_FAIL, "console log %s", logpath);
		goto fail;
	}
	if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		err_errno(err, ERR_FAIL, "pipe");
		goto fail;
	}
	c->spec = xstrdup(spec);
	c->pump.spec = c->spec;
	c->pump.s = s;
	if (s.kind == CONSOLE_COMMAND)
		c->pump.s.command = c->spec + 8;
	c->pump.outfd = c->logfd;
	c->pump.stopfd = c->wake[0];
	c->pump.restart = 1;
	/* signals are for the threads that wait for them, not for this one */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&c->thread, NULL, console_capture_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		errno = rc;
		err_errno(err, ERR_FAIL, "console capture thread");
		goto fail;
	}
	c->running = 1;
	*ret = c;
	return 0;
fail:
	console_capture_stop(c);
	return ERR_FAIL;
}

void console_capture_stop(struct console_capture *c)
{
	if (!c)
		return;
	if (c->running) {
		ssize_t n;

		do
			n = write(c->wake[1], "x", 1);
		while (n < 0 && errno == EINTR);
		pthread_join(c->thread, NULL);
	}
	/* every line went out with its own write(): nothing left to flush */
	if (c->logfd >= 0)
		close(c->logfd);
	if (c->wake[0] >= 0)
		close(c->wake[0]);
	if (c->wake[1] >= 0)
		close(c->wake[1]);
	pthread_mutex_destroy(&c->pump.conn_lock);
	free(c->spec);
	free(c);
}

int console_capture_send(struct console_capture *c, const char *data,
			 size_t len, struct err *err)
{
	struct console_pump *p = &c->pump;
	int rc = 0;

	if (p->s.kind != CONSOLE_TCP)
		return err_set(err, ERR_USAGE, "console %s takes no input (only "
			       "tcp:HOST:PORT consoles do)", c->spec ? c->spec : "none");
	pthread_mutex_lock(&p->conn_lock);
	if (p->conn_fd < 0)
		rc = err_set(err, ERR_FAIL, "console %s is not connected", c->spec);
	while (rc == 0 && len) {
		ssize_t n = send(p->conn_fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_errno(err, ERR_FAIL, "console %s", c->spec);
			break;
		}
		data += n;
		len -= (size_t)n;
	}
	pthread_mutex_unlock(&p->conn_lock);
	return rc;
}

int console_stream(const char *spec, int fd, long duration_ms,
		   const volatile sig_atomic_t *stop, struct err *err)
{
	struct console_pump *p;
	int rc = 0;

	p = xcalloc(1, sizeof(*p));
	if (console_parse(spec, &p->s, err) < 0) {
		rc = err->code;
		goto out;
	}
	if (p->s.kind == CONSOLE_NONE) {
		rc = err_set(err, ERR_USAGE, "no console (console = none)");
		goto out;
	}
	p->spec = spec;
	p->outfd = fd;
	p->stopfd = -1;
	pthread_mutex_init(&p->conn_lock, NULL);
	p->conn_fd = -1;
	p->stop = stop;
	p->deadline = duration_ms > 0 ? proc_now_ms() + duration_ms : 0;
	/* a stream ends with its command; tcp reconnects until stopped */
	p->restart = 0;
	console_pump_run(p);
	if (p->write_errno) {
		errno = p->write_errno;
		rc = err_errno(err, ERR_FAIL, "console %s: write", spec);
	}
out:
	free(p);
	return rc;
}
