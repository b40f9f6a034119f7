/*
 * net.h: TCP client sockets for the lab's own protocols (SSH, console
 * servers, pdudaemon's HTTP), with a time limit and cancellation.
 */
#ifndef HANGAR_NET_H
#define HANGAR_NET_H

#include <signal.h>

#include "err.h"

/*
 * Connects to host:port (each address getaddrinfo gives, in turn) within
 * timeout_ms in all, waiting in 100 ms slices and giving up with
 * ERR_CANCELLED as soon as *cancel is non-zero (cancel may be NULL) or
 * wake_fd is readable (a self-pipe; -1: none).
 * Returns the socket (non-blocking, close-on-exec), or ERR_TIMEOUT when
 * nothing answered in time, ERR_FAIL for any other failure; messages
 * read "connect: Connection refused", "connect: no answer within 5000
 * ms", "resolve HOST: ...", for the caller to prefix.
 */
int net_connect(const char *host, const char *port, int timeout_ms,
		const volatile sig_atomic_t *cancel, int wake_fd,
		struct err *err);

/* write() all of p to fd (blocking), retrying on EINTR; -1 with errno. */
int net_write_all(int fd, const void *p, size_t n);

#endif
