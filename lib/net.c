/*
 * net.c: TCP connect with a time limit and cancellation (see net.h).
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "proc.h"
#include "banned.h"

#define NET_SLICE_MS 100

/* Waits for a non-blocking connect; 0 connected, else an error code. */
static int net_wait_connected(int fd, long long deadline, int timeout_ms,
			      const volatile sig_atomic_t *cancel, int wake_fd,
			      struct err *err)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	for (;;) {
		struct pollfd pfd[2] = { { fd, POLLOUT, 0 }, { wake_fd, POLLIN, 0 } };
		long long left = deadline - proc_now_ms();
		int r;

		if (cancel && *cancel)
			return err_set(err, ERR_CANCELLED, "connect: cancelled");
		if (left <= 0)
			return err_set(err, ERR_TIMEOUT,
				       "connect: no answer within %d ms", timeout_ms);
		r = poll(pfd, wake_fd >= 0 ? 2 : 1,
			 left < NET_SLICE_MS ? (int)left : NET_SLICE_MS);
		if (r < 0 && errno != EINTR)
			return err_errno(err, ERR_FAIL, "connect: poll");
		if (r > 0 && pfd[1].revents)
			return err_set(err, ERR_CANCELLED, "connect: cancelled");
		if (r > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr) {
		errno = soerr;
		return err_errno(err, ERR_FAIL, "connect");
	}
	return 0;
}

int net_connect(const char *host, const char *port, int timeout_ms,
		const volatile sig_atomic_t *cancel, int wake_fd,
		struct err *err)
{
	struct addrinfo hints, *res = NULL;
	long long deadline = proc_now_ms() + timeout_ms;
	int gai, rc = ERR_FAIL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai)
		return err_set(err, ERR_FAIL, "resolve %s: %s", host,
			       gai == EAI_SYSTEM ? strerror(errno)
						 : gai_strerror(gai));
	rc = err_set(err, ERR_FAIL, "connect: no address for %s", host);
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family,
				ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);

		if (fd < 0) {
			rc = err_errno(err, ERR_FAIL, "socket");
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			rc = 0;
		else if (errno == EINPROGRESS)
			rc = net_wait_connected(fd, deadline, timeout_ms, cancel,
						wake_fd, err);
		else
			rc = err_errno(err, ERR_FAIL, "connect");
		if (rc == 0) {
			freeaddrinfo(res);
			err_clear(err);
			return fd;
		}
		close(fd);
		if (rc == ERR_TIMEOUT || rc == ERR_CANCELLED)
			break;
	}
	freeaddrinfo(res);
	return rc;
}

int net_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}
