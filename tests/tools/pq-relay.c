/*
 * pq-relay: the integration tests' `q` without a process per query.
 *
 * A test's `q SQL` was `psql -X -q -At -v ON_ERROR_STOP=1 "$CONN" -c SQL`:
 * a psql process and a server backend, some 30-70 ms of CPU, for what is
 * mostly a poll in wait_for. This serves the same answer from one process
 * per test: bash opens /dev/tcp to it (no fork), sends "CONNINFO\0SQL\0",
 * and reads "STDOUT\0STDERR\0STATUS\0", then the relay closes.
 *
 * What psql -c does, it does: the whole string is one query (one implicit
 * transaction), every result's rows are printed unaligned with tuples
 * only, notices and errors go to stderr in psql's words, and the status
 * is 0, 1 (an SQL error) or 2 (no connection). Each client has a thread,
 * so a query that waits for a lock holds up no other. Connections are
 * kept for the next query, but as a session of its own each time:
 * DISCARD ALL after every query, and a connection the server closed
 * while idle (a restart, pg_terminate_backend) is replaced first.
 * Its sessions say application_name 'hangar test q'.
 *
 * Usage: pq-relay    (prints its port, then serves until killed or its
 *                     parent dies)
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "buf.h"
#include "xalloc.h"
#include "banned.h"

#define REQUEST_MAX (16 << 20)

struct idle {
	char *conninfo;
	PGconn *conn;
	struct idle *next;
};

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static struct idle *idle_list;

/*
 * An idle connection the server has not closed meanwhile. An idle session
 * (no LISTEN: DISCARD ALL ended those) has nothing to say but its end, a
 * FATAL message before the close: anything to read, and it is not used.
 */
static int still_open(PGconn *conn)
{
	struct pollfd pfd = { PQsocket(conn), POLLIN, 0 };

	return PQstatus(conn) == CONNECTION_OK && poll(&pfd, 1, 0) == 0;
}

static PGconn *conn_take(const char *conninfo)
{
	for (;;) {
		struct idle **p, *found = NULL;
		PGconn *conn;

		pthread_mutex_lock(&idle_lock);
		for (p = &idle_list; *p; p = &(*p)->next)
			if (!strcmp((*p)->conninfo, conninfo)) {
				found = *p;
				*p = found->next;
				break;
			}
		pthread_mutex_unlock(&idle_lock);
		if (!found)
			return NULL;
		conn = found->conn;
		free(found->conninfo);
		free(found);
		if (still_open(conn))
			return conn;
		PQfinish(conn);
	}
}

static void conn_give_back(const char *conninfo, PGconn *conn)
{
	struct idle *i;
	PGresult *res;

	/* the next query gets a session as fresh as psql's */
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
	res = PQexec(conn, "DISCARD ALL");
	if (PQresultStatus(res) != PGRES_COMMAND_OK ||
	    PQstatus(conn) != CONNECTION_OK) {
		PQclear(res);
		PQfinish(conn);
		return;
	}
	PQclear(res);
	i = xcalloc(1, sizeof(*i));
	i->conninfo = xstrdup(conninfo);
	i->conn = conn;
	pthread_mutex_lock(&idle_lock);
	i->next = idle_list;
	idle_list = i;
	pthread_mutex_unlock(&idle_lock);
}

static void on_notice(void *arg, const char *message)
{
	buf_addstr(arg, message);
}

static void add_rows(struct buf *out, const PGresult *res)
{
	int rows = PQntuples(res), cols = PQnfields(res);

	for (int r = 0; r < rows; r++) {
		for (int c = 0; c < cols; c++) {
			if (c)
				buf_addch(out, '|');
			buf_addstr(out, PQgetvalue(res, r, c));
		}
		buf_addch(out, '\n');
	}
}

/* Runs sql as psql -c would; returns psql's exit status. */
static int run(const char *conninfo, const char *sql, struct buf *out,
	       struct buf *err)
{
	const char *keys[] = { "application_name", "dbname", NULL };
	const char *values[] = { "hangar test q", conninfo, NULL };
	PGconn *conn = conn_take(conninfo);
	PGresult *res;
	int status = 0;

	if (!conn)
		conn = PQconnectdbParams(keys, values, 1);
	if (PQstatus(conn) != CONNECTION_OK) {
		buf_addf(err, "psql: error: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return 2;
	}
	/* this query's notices; the next user of conn sets its own */
	PQsetNoticeProcessor(conn, on_notice, err);
	if (!PQsendQuery(conn, sql)) {
		buf_addstr(err, PQerrorMessage(conn));
		status = PQstatus(conn) == CONNECTION_OK ? 1 : 2;
	}
	while (!status && (res = PQgetResult(conn))) {
		switch (PQresultStatus(res)) {
		case PGRES_TUPLES_OK:
			add_rows(out, res);
			break;
		case PGRES_COMMAND_OK:
		case PGRES_EMPTY_QUERY:
			break;
		case PGRES_COPY_IN:
		case PGRES_COPY_OUT:
			buf_addstr(err, "pq-relay: COPY is psql's: use it\n");
			status = 1;
			break;
		default:
			buf_addstr(err, PQresultErrorMessage(res));
			status = PQstatus(conn) == CONNECTION_OK ? 1 : 2;
			break;
		}
		PQclear(res);
	}
	/* the rest of the results, if one ended it early */
	while (PQstatus(conn) == CONNECTION_OK && (res = PQgetResult(conn)))
		PQclear(res);
	if (PQstatus(conn) == CONNECTION_OK && !PQisBusy(conn))
		conn_give_back(conninfo, conn);
	else
		PQfinish(conn);
	return status;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static size_t nul_count(const struct buf *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->len; i++)
		n += b->buf[i] == '\0';
	return n;
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	struct buf req, out = BUF_INIT, err = BUF_INIT;
	char chunk[8192], *sql;
	int status;

	buf_init(&req, REQUEST_MAX);
	while (nul_count(&req) < 2) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || buf_add(&req, chunk, (size_t)n) < 0)
			goto out;
	}
	sql = req.buf + strlen(req.buf) + 1;
	status = run(req.buf, sql, &out, &err);
	buf_addch(&out, '\0');
	buf_addstr(&err, "");
	buf_addch(&err, '\0');
	buf_addf(&err, "%d", status);
	buf_addch(&err, '\0');
	if (write_all(fd, out.buf, out.len) == 0)
		write_all(fd, err.buf, err.len);
out:
	close(fd);
	buf_release(&req);
	buf_release(&out);
	buf_release(&err);
	return NULL;
}

int main(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	pthread_attr_t attr;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	signal(SIGPIPE, SIG_IGN);
	/* a test killed at its time limit runs no cleanup: go with it */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		return 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len) < 0) {
		perror("pq-relay");
		return 1;
	}
	printf("%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t t;

		if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			poll(NULL, 0, 10);   /* out of files: a moment */
			continue;
		}
		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0) {
			perror("pq-relay: accept");
			return 1;
		}
		if (pthread_create(&t, &attr, serve, (void *)(long)fd) != 0)
			close(fd);
	}
}
