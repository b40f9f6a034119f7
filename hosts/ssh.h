/*
 * ssh.h: SSH to lab hosts with libssh2: one authenticated session per host
 * for a job, its commands run by one long-lived remote shell (or an exec
 * channel each where no shell can run; output streamed to a callback, a
 * time limit, cancellation that kills the remote command), SFTP uploads
 * and downloads, keepalives, and host keys checked against a pin.
 *
 * Not thread-safe per connection: one thread uses a struct ssh_conn at a
 * time (different connections in different threads are fine; libssh2 is
 * initialized once, on the first ssh_connect()). Every wait is a poll() of
 * at most 100 ms, so time limits and cancellation are honoured within
 * about that everywhere.
 */
#ifndef HANGAR_SSH_H
#define HANGAR_SSH_H

#include <signal.h>
#include <stddef.h>

#include "err.h"

struct ssh_target {
	const char *host;          /* address or name */
	int port;
	const char *user;
	const char *identity;      /* private key file (public: identity.pub) */
	/*
	 * The pinned host key, "TYPE BASE64" as in known_hosts ("ssh-ed25519
	 * AAAA..."), or NULL to accept any key (first use: the caller pins
	 * ssh_host_key() afterwards).
	 */
	const char *pinned_key;
	int connect_timeout_ms;    /* TCP connect + handshake + auth; 0: 30 s */
	int keepalive_s;           /* 0: 15 s */
	/*
	 * Set non-zero (from anywhere, e.g. a signal handler) to abandon
	 * connecting, and later SFTP transfers on the connection (ERR_CANCELLED);
	 * NULL: never. Commands have their own (ssh_exec_opts.cancel).
	 */
	const volatile sig_atomic_t *cancel;
};

struct ssh_conn;

/*
 * Connects, checks the host key and authenticates with the identity.
 * ERR_HOSTKEY when the key differs from the pin (the message shows both
 * fingerprints, "host key of HOST:PORT changed: pinned ..., presented
 * ..."), ERR_TIMEOUT when the host did not answer in time, ERR_CANCELLED,
 * ERR_FAIL for anything else. *ret is the caller's: ssh_close() it.
 * Messages start with "ssh HOST:PORT: ".
 */
int ssh_connect(const struct ssh_target *t, struct ssh_conn **ret,
		struct err *err);
/* The host key the server presented, "TYPE BASE64"; owned by c. */
const char *ssh_host_key(const struct ssh_conn *c);
/*
 * The SHA256 fingerprint of key ("TYPE BASE64 [COMMENT]") as OpenSSH
 * prints it, "SHA256:" and unpadded base64, into out (SSH_FINGERPRINT_MAX
 * bytes suffice). 0, or -1 when key is not of that form.
 */
#define SSH_FINGERPRINT_MAX 56
int ssh_key_fingerprint(const char *key, char *out, size_t outlen);
/* Says goodbye to the server (at most ~2 s) and frees c; NULL is fine. */
void ssh_close(struct ssh_conn *c);

/* Output of a remote command as it comes; stream 1 stdout, 2 stderr.
 * A non-zero return stops the command (as a cancellation). */
typedef int (*ssh_output_fn)(void *arg, int stream, const char *data,
			     size_t len);

struct ssh_exec_opts {
	int timeout_ms;                  /* 0: none */
	const volatile sig_atomic_t *cancel; /* set non-zero from anywhere */
	ssh_output_fn output;            /* NULL: output discarded */
	void *arg;
};

/*
 * Runs command with the remote sh (`sh -c COMMAND`, its stdin empty, in
 * the login directory, with the login environment). On a normal end
 * *exit_status is its status (0-255; 128+N when a signal N ended it) and
 * the return is 0. When the time limit passes or cancel is set (or output
 * returns non-zero), the remote command and everything it started (its
 * process group) is killed (TERM, then KILL 2 s later) and the return is
 * ERR_TIMEOUT or ERR_CANCELLED. SSH trouble (connection lost, channel
 * refused) is ERR_FAIL: the connection is then unusable (every later call
 * fails).
 *
 * How (hosts/rshell.c): the first command starts one remote shell loop on
 * a channel of the connection (bash if the host has it, else sh: busybox
 * ash will do) and every command is a request to it, run in a session of
 * its own (so a process group to kill, from a second channel) with its
 * output framed by a random nonce; sshd's set-up of a session per command,
 * most of an exec channel's cost, is paid once. A remote shell that dies
 * during a command ends it with the shell's status (128+N for a signal),
 * and the next command starts another. Where no shell starts (a forced
 * command, no sh; within 10 s) the connection falls back to an exec
 * channel per command, whose shell writes its pid to ${TMPDIR:-/tmp}/
 * hangar-exec-RANDOM.pid to be killed by (a host that dies during a
 * command leaves that file behind). HANGAR_SSH_SHELL=0 in the environment
 * makes every connection use exec channels (benchmarks, tests). Unlike
 * an exec channel, the shell does not wait for processes a command leaves
 * in the background with its stdout or stderr open: what they write later
 * is dropped while the shell is idle, and otherwise joins the output of
 * the command then running.
 */
int ssh_exec(struct ssh_conn *c, const char *command,
	     const struct ssh_exec_opts *opts, int *exit_status,
	     struct err *err);

/*
 * SFTP: one SFTP session per connection, opened on first use. A transfer
 * that makes no progress for 60 s is ERR_TIMEOUT; cancelling (the
 * target's cancel) is ERR_CANCELLED; after either the connection is
 * unusable. Relative remote paths are relative to the login directory.
 */

/* Creates remote directory path and its parents (SFTP), like mkdir -p. */
int ssh_mkdir_p(struct ssh_conn *c, const char *path, struct err *err);
/*
 * Uploads local file to remote path (SFTP) with mode, creating parent
 * directories; the remote file is written as REMOTE.hangar-tmp and
 * renamed, so a reader never sees half a file. (SFTP v3 servers such as
 * OpenSSH's cannot rename over a file: an existing one is removed first,
 * so a reader may briefly find none.)
 */
int ssh_upload(struct ssh_conn *c, const char *local, const char *remote,
	       int mode, struct err *err);
/*
 * Downloads remote path into local file (created 0644, written as
 * LOCAL.tmp and renamed), at most max_bytes (0: no limit; over it:
 * ERR_FAIL, nothing left behind). *size gets the bytes written when not
 * NULL.
 */
int ssh_download(struct ssh_conn *c, const char *remote, const char *local,
		 long long max_bytes, long long *size, struct err *err);

#endif
