/*
 * console.h: a host's serial console, as a live stream: "tcp:HOST:PORT"
 * (a ser2net-style port) or "command:CMD" (a program printing it), or
 * "none". Captured with a UTC timestamp on every line into a job's log for
 * as long as the job holds the host.
 */
#ifndef HANGAR_CONSOLE_H
#define HANGAR_CONSOLE_H

#include <signal.h>

#include "err.h"

/* Checks a console spec; ERR_USAGE with the reason if it is not one. */
int console_spec_check(const char *spec, struct err *err);

struct console_capture;

/*
 * Starts a thread that appends the stream of spec to logpath, each line
 * as "YYYY-MM-DDTHH:MM:SS.mmmZ text" (UTC, the arrival of its first byte)
 * in one write(), so the file can be tailed live; lines longer than 4 KiB
 * are cut, and a line left unfinished for 300 ms (a prompt) is written
 * as it is, what follows it then making a line of its own. It reconnects (tcp, every second) or restarts (command, run as
 * `sh -c CMD` in its own process group, stdout and stderr captured) while
 * the stream drops, and says so in "[hangar] console SPEC: ..." lines.
 * "none" captures nothing but is not an error. *ret is the caller's (NULL
 * on failure: ERR_USAGE for a bad spec, ERR_FAIL when the log cannot be
 * opened). The thread blocks every signal.
 */
int console_capture_start(const char *spec, const char *logpath,
			  struct console_capture **ret, struct err *err);
/*
 * Stops the capture within a fraction of a second (a command gets
 * SIGTERM, then SIGKILL, with its whole process group), writes a partial
 * last line, closes the log and frees c (NULL ok).
 */
void console_capture_stop(struct console_capture *c);

/*
 * Sends data to the host through the capture's connection (a tcp console
 * only: ERR_USAGE otherwise; ERR_FAIL while it is not connected). Safe
 * while the capture's thread runs.
 */
int console_capture_send(struct console_capture *c, const char *data,
			 size_t len, struct err *err);

/*
 * Copies the stream to fd, timestamped like a capture, until duration_ms
 * passed (0: until *stop is set, stop may be NULL, or the stream ends for
 * good: a command exited; tcp reconnects). ERR_USAGE for "none" or a bad
 * spec, ERR_FAIL when writing to fd failed.
 */
int console_stream(const char *spec, int fd, long duration_ms,
		   const volatile sig_atomic_t *stop, struct err *err);

#endif
