/*
 * proc.h: running other programs (initdb, pg_ctl, the lab scripts, the
 * daemons of `hangar up`) without a shell, and stopping them by pid.
 */
#ifndef HANGAR_PROC_H
#define HANGAR_PROC_H

#include <sys/types.h>

#include "buf.h"
#include "err.h"

struct proc_opts {
	const char *cwd;          /* NULL: inherit */
	char *const *env_add;     /* NULL-terminated "K=V" added to environ */
	int new_session;          /* setsid(): its own process group */
	int quiet;                /* stdout and stderr to /dev/null */
	int die_with_parent;      /* SIGTERM when the parent dies */
	const char *stdin_path;   /* its standard input (NULL: inherited) */
};

/*
 * Runs argv to completion. Output (stdout and stderr together) goes to out
 * when out is not NULL (bounded by out's cap; the rest is dropped). Returns
 * the exit status (0-255), or a negative error when it could not run or was
 * killed by a signal.
 */
int proc_run(char *const *argv, const struct proc_opts *opts,
	     struct buf *out, struct err *err);

/* Starts argv in the background; returns its pid or a negative error. */
pid_t proc_spawn(char *const *argv, const struct proc_opts *opts,
		 struct err *err);

/*
 * Sends SIGTERM to pid (and its process group if it leads one), waits up to
 * timeout_ms for it to exit, then SIGKILL. Reaps it if it is our child.
 * Returns 0 when gone.
 */
int proc_stop(pid_t pid, int timeout_ms);

/*
 * proc_stop for n processes at once, sharing one timeout; killed[i] (when
 * not NULL) says which of them needed SIGKILL. Pids <= 0 are skipped.
 */
int proc_stop_all(const pid_t *pids, size_t n, int timeout_ms, int *killed);

/* Whether a process with this pid exists. */
int proc_alive(pid_t pid);

/*
 * The GNU build ID (from its PT_NOTE, as `readelf -n` shows it) of the
 * object this code runs in, the executable or hangar-core.so, in hex
 * into out: what identifies this very program, so that two processes can
 * tell they run the same code. 0, or -1 when it has none (linked with
 * --build-id=none) or out is too small.
 */
int proc_build_id(char *out, size_t n);
/* The same of the ELF file at path, without loading it. */
int proc_build_id_file(const char *path, char *out, size_t n);

/* Milliseconds on the monotonic clock. */
long long proc_now_ms(void);
/* Sleeps ms milliseconds, or less when a signal comes or proc_wake(). */
void proc_nap_ms(int ms);

/*
 * A wake-up for a daemon whose signal handler only sets a flag. A flag set
 * just before a wait began would not end it, and the daemon would sleep
 * its whole interval (past its supervisor's patience) before it looked: so
 * the handler also calls proc_wake(), and proc_nap_ms() and
 * db_wait_notify() return at once. proc_wake_init() makes the pipe;
 * proc_wake() is async-signal-safe; proc_wake_take() empties the pipe and
 * says whether a wake was there; proc_wake_fd() is -1 before the init.
 */
void proc_wake_init(void);
void proc_wake(void);
int proc_wake_fd(void);
int proc_wake_take(void);

#endif
