/*
 * ssh-int.h: what ssh.c shares with rshell.c, the long-lived remote shell
 * that runs a connection's commands: the connection, the waits and one
 * channel advanced step by step. Not for other files.
 */
#ifndef HANGAR_SSH_INT_H
#define HANGAR_SSH_INT_H

#include <libssh2.h>
#include <libssh2_sftp.h>
#include <signal.h>

#include "err.h"
#include "ssh.h"

#define SSH_POLL_MS 100            /* longest sleep between checks */
#define SSH_GRACE_MS 2000          /* finishing a step after a timeout */
#define SSH_KILL_WAIT_MS 2000      /* from TERM to KILL */

struct rshell;

struct ssh_conn {
	LIBSSH2_SESSION *session;
	LIBSSH2_SFTP *sftp;               /* NULL until the first transfer */
	int sock;
	int up;                           /* handshake done: say goodbye */
	int broken;                       /* an earlier error left it unusable */
	char *where;                      /* "HOST:PORT", for messages */
	char *host_key;                   /* "TYPE BASE64" */
	const volatile sig_atomic_t *cancel;  /* the target's, for SFTP */
	struct rshell *shell;             /* NULL until the first command */
	int no_shell;                     /* exec channels only (rshell.c) */
};

enum ssh_phase { SSH_OPEN, SSH_EXEC, SSH_EOF, SSH_READ, SSH_CLOSE,
		 SSH_WAIT_CLOSED, SSH_DONE };

/* One command on its channel, advanced step by step. */
struct ssh_run {
	LIBSSH2_CHANNEL *ch;
	const char *command;
	enum ssh_phase phase;
	int started;             /* the exec request went out */
	ssh_output_fn output;    /* NULL: discard */
	void *arg;
};

int ssh_cancelled(const volatile sig_atomic_t *cancel);
long long ssh_after(int ms);
/* See ssh.c: the one translation of libssh2's errors; sets c->broken
 * when the transport failed. */
int ssh_err_from_session(struct ssh_conn *c, struct err *err, int code,
			 const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Waits for the socket after EAGAIN, at most SSH_POLL_MS; ERR_TIMEOUT past
 * deadline (0: none), ERR_CANCELLED once *cancel is set. */
int ssh_wait(struct ssh_conn *c, long long deadline,
	     const volatile sig_atomic_t *cancel, struct err *err);
/* The end of a wait loop's turn, after a step that gave rc (1 progress,
 * 0 must wait): ERR_CANCELLED, ERR_TIMEOUT past deadline, else the wait
 * for the socket when it must; 0 to go on. */
int ssh_step_done(struct ssh_conn *c, int rc, long long deadline,
		  const volatile sig_atomic_t *cancel, struct err *err);
/* Tries r's current phase once: 1 progress, 0 must wait, or an error. */
int ssh_run_step(struct ssh_conn *c, struct ssh_run *r, struct err *err);
int ssh_run_until(struct ssh_conn *c, struct ssh_run *r, enum ssh_phase until,
		  long long deadline, const volatile sig_atomic_t *cancel,
		  struct err *err);
/* Sees through what a step left half sent, within SSH_GRACE_MS. */
int ssh_run_settle(struct ssh_conn *c, struct ssh_run *r, struct err *err);
void ssh_run_free(struct ssh_conn *c, struct ssh_run *r);
/* The status of a channel's command that ended: 128+N for signal N. */
int ssh_run_status(struct ssh_conn *c, struct ssh_run *r);
/* Runs a helper command on a channel of its own, output discarded. */
int ssh_run_quiet(struct ssh_conn *c, const char *command, int ms,
		  int *status, struct err *err);

/*
 * rshell.c. rshell_exec() runs command through the connection's remote
 * shell, starting it on first use. It returns 1 (nothing done) when no
 * shell can run there (c->no_shell is then set: use exec channels), else
 * ssh_exec()'s result; on ERR_TIMEOUT / ERR_CANCELLED *what says how the
 * command was stopped and *by_output whether the output handler asked.
 */
int rshell_exec(struct ssh_conn *c, const char *command,
		const struct ssh_exec_opts *opts, int *exit_status,
		const char **what, int *by_output, struct err *err);
/* Ends the remote shell (its stdin closed) and frees it; NULL is fine. */
void rshell_free(struct ssh_conn *c);

#endif
