/*
 * rshell.c: a connection's commands through one long-lived remote shell.
 *
 * sshd sets up every session channel anew (a fork, the user's login shell
 * and its rc files, environment, accounting): that, not the connection,
 * is most of what an exec channel per command costs. So the first command
 * opens one channel running a small POSIX sh loop (busybox ash will do),
 * and every command after goes to it as a request: the loop runs each in
 * a process group of its own (bash's job control, else setsid), which a
 * timeout kills as a whole, with stdin from /dev/null, and waits for it.
 *
 * The command's stdout and stderr are the channel's, passed on as they
 * come; the loop marks where a command's output ends with frames that
 * start with "\036" and a random nonce of that command (which the command
 * never sees), so no output, binary or not, can end it early or be taken
 * for a frame:
 *
 *   request:  NONCE NLINES \n, then the command in NLINES lines
 *   stdout:   \036 NONCE P PGID \n   (started; its process group)
 *        or   \036 NONCE C PID \n    (started; the group its child leads)
 *             \036 NONCE X STATUS \n (ended, after all its output)
 *   stderr:   \036 NONCE E \n        (ended, after all its stderr)
 *
 * Where no shell can run (a forced command, no sh or setsid) the shell
 * does not start and the connection uses exec channels (ssh.c). A shell
 * that dies during a command ends that command as an exec channel's
 * wrapper dying would (status 128+N); the next command starts a new one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "buf.h"
#include "proc.h"
#include "ssh-int.h"
#include "xalloc.h"
#include "banned.h"

#define RSHELL_START_MS 10000     /* for the shell to say it is ready */
#define RSHELL_NONCE 32           /* hex digits */
#define RSHELL_MARK (1 + RSHELL_NONCE)
#define RSHELL_FRAME_MAX 40       /* a frame's text after its mark */

/*
 * The remote loop. A shell with job control without a terminal (bash)
 * runs each command in the background, in a process group of its own, for
 * the price of a fork: P gives the group. Others (dash, busybox ash) would
 * make a background command ignore SIGINT and SIGQUIT, so there the
 * command runs in the foreground under setsid (one more exec) and C gives
 * the loop's pid, whose one child leads the command's group. The loop's
 * own stderr (job notices) goes to /dev/null, the channel's stderr is fd
 * 3, which commands do not inherit. Variable names of its own: a variable
 * the login environment exports would stay exported when assigned.
 */
static const char rshell_driver[] =
	"set -m 2>/dev/null\n"
	"case $- in\n"
	"*m*) hangar_j=1 ;;\n"
	"*) command -v setsid >/dev/null 2>&1 || exit 97; hangar_j= ;;\n"
	"esac\n"
	"exec 3>&2 2>/dev/null\n"
	"printf '\\036hangar-rshell-ready\\n'\n"
	"while IFS=' ' read -r hangar_m hangar_n; do\n"
	"	hangar_c=\n"
	"	while [ \"$hangar_n\" -gt 0 ]; do\n"
	"		IFS= read -r hangar_l || exit 98\n"
	"		hangar_c=\"$hangar_c$hangar_l\n\"\n"
	"		hangar_n=$((hangar_n - 1))\n"
	"	done\n"
	"	if [ -n \"$hangar_j\" ]; then\n"
	"		sh -c \"$hangar_c\" </dev/null 2>&3 3>&- &\n"
	"		hangar_p=$!\n"
	"		printf '\\036%sP%s\\n' \"$hangar_m\" \"$hangar_p\"\n"
	"		wait \"$hangar_p\"\n"
	"	else\n"
	"		printf '\\036%sC%s\\n' \"$hangar_m\" \"$$\"\n"
	"		setsid sh -c \"$hangar_c\" </dev/null 2>&3 3>&-\n"
	"	fi\n"
	"	hangar_s=$?\n"
	"	printf '\\036%sE\\n' \"$hangar_m\" >&3\n"
	"	printf '\\036%sX%s\\n' \"$hangar_m\" \"$hangar_s\"\n"
	"done\n";

static const char rshell_ready[] = "\036hangar-rshell-ready\n";

struct rshell {
	struct ssh_run run;       /* the shell's channel, in SSH_READ */
	char mark[RSHELL_MARK + 1];   /* "\036" NONCE of the current command */
	struct buf st[2];         /* per stream: read, not yet passed on */
	long pgid;                /* 0 until the P or C frame */
	int parent;               /* C: pgid is the loop's, kill its child's */
	int status;               /* from the X frame */
	int done[2];              /* X (stdout), E (stderr) seen */
	int bad;                  /* a frame made no sense */
	ssh_output_fn output;     /* the caller's; NULL once stopped */
	void *arg;
	int stopped;              /* output returned non-zero */
};

/* --- frames --------------------------------------------------------------- */

static int rshell_emit(struct rshell *sh, int stream, const char *p,
		       size_t len)
{
	if (!len || !sh->output)
		return 0;
	if (sh->output(sh->arg, stream + 1, p, len)) {
		sh->output = NULL;
		sh->stopped = 1;
		return 1;
	}
	return 0;
}

/* A frame's text after the mark, up to its newline (excluded). */
static void rshell_frame(struct rshell *sh, int stream, const char *f,
			 size_t len)
{
	char num[RSHELL_FRAME_MAX + 1], *end;
	long v;

	if (len < 1 || len > RSHELL_FRAME_MAX) {
		sh->bad = 1;
		return;
	}
	memcpy(num, f + 1, len - 1);
	num[len - 1] = '\0';
	if (stream == 1) {
		if (f[0] == 'E' && len == 1)
			sh->done[1] = 1;
		else
			sh->bad = 1;
		return;
	}
	errno = 0;
	v = strtol(num, &end, 10);
	if (len < 2 || *end || errno || v < 0) {
		sh->bad = 1;
		return;
	}
	if ((f[0] == 'P' || f[0] == 'C') && !sh->pgid && v > 1) {
		sh->pgid = v;
		sh->parent = f[0] == 'C';
	} else if (f[0] == 'X' && v <= 255) {
		sh->status = (int)v;
		sh->done[0] = 1;
	} else {
		sh->bad = 1;
	}
}

/*
 * Output of the shell's channel (stream 1 stdout, 2 stderr): passes on
 * what is the command's, takes out the frames. Non-zero when the caller's
 * output function asked to stop (ssh_run_step makes that ERR_CANCELLED).
 */
static int rshell_feed(void *arg, int stream, const char *data, size_t len)
{
	struct rshell *sh = arg;
	struct buf *b = &sh->st[stream - 1];
	size_t at = 0, keep, i;
	int stop = 0;

	stream--;
	/* what stays in b between reads is a possible frame, a few bytes */
	buf_add(b, data, len);
	while (!sh->bad) {
		char *m = memmem(b->buf + at, b->len - at, sh->mark, RSHELL_MARK);
		char *nl;

		if (!m)
			break;
		stop |= rshell_emit(sh, stream, b->buf + at,
				    (size_t)(m - b->buf) - at);
		at = (size_t)(m - b->buf);
		nl = memchr(m + RSHELL_MARK, '\n', b->len - at - RSHELL_MARK);
		if (!nl) {
			if (b->len - at > RSHELL_MARK + RSHELL_FRAME_MAX)
				sh->bad = 1;   /* no frame is that long */
			goto keep;
		}
		rshell_frame(sh, stream, m + RSHELL_MARK,
			     (size_t)(nl - m) - RSHELL_MARK);
		at = (size_t)(nl + 1 - b->buf);
	}
	/* hold back the longest tail that may start a mark */
	keep = 0;
	for (i = b->len - at < RSHELL_MARK ? b->len - at : RSHELL_MARK - 1;
	     i > 0; i--)
		if (!memcmp(b->buf + b->len - i, sh->mark, i)) {
			keep = i;
			break;
		}
	stop |= rshell_emit(sh, stream, b->buf + at, b->len - at - keep);
	at = b->len - keep;
keep:
	memmove(b->buf, b->buf + at, b->len - at);
	buf_setlen(b, b->len - at);
	return stop;
}

/* The held-back text of both streams, as output (the shell ended). */
static void rshell_flush(struct rshell *sh)
{
	for (int i = 0; i < 2; i++) {
		rshell_emit(sh, i, sh->st[i].buf, sh->st[i].len);
		buf_reset(&sh->st[i]);
	}
}

/* --- the shell ------------------------------------------------------------ */

void rshell_free(struct ssh_conn *c)
{
	struct rshell *sh = c->shell;

	if (!sh)
		return;
	/* freeing the channel closes it: the loop reads EOF and exits */
	ssh_run_free(c, &sh->run);
	free((char *)sh->run.command);
	buf_release(&sh->st[0]);
	buf_release(&sh->st[1]);
	free(sh);
	c->shell = NULL;
}

/* Output before the ready line (the login shell's rc files) is dropped;
 * the ready line itself says the loop runs. */
static int rshell_wait_ready(void *arg, int stream, const char *data,
			     size_t len)
{
	struct buf *b = arg;

	if (stream != 1)
		return 0;
	if (b->len + len > 4096)   /* keep the end only */
		buf_reset(b);
	buf_add(b, data, len);
	return 0;
}

/*
 * Starts the shell: 0 when it runs, 1 when it cannot run there (c->no_shell
 * set), or an error (ERR_CANCELLED, or SSH trouble: c->broken).
 */
static int rshell_start(struct ssh_conn *c, const volatile sig_atomic_t *cancel,
			struct err *err)
{
	long long deadline = ssh_after(RSHELL_START_MS);
	struct buf cmd = BUF_INIT, seen = BUF_INIT;
	struct rshell *sh = xcalloc(1, sizeof(*sh));
	int rc;

	buf_init(&sh->st[0], 0);
	buf_init(&sh->st[1], 0);

	/* bash if there is one (see rshell_driver), else sh; never the
	 * login shell, whatever that is, nor rc files */
	buf_addstr(&cmd, "d=");
	buf_add_shell_quoted(&cmd, rshell_driver);
	buf_addstr(&cmd, "; command -v bash >/dev/null 2>&1 && "
			 "exec bash --norc --noprofile -c \"$d\" hangar-rshell; "
			 "exec sh -c \"$d\" hangar-rshell");
	sh->run.command = buf_detach(&cmd);
	sh->run.output = rshell_wait_ready;
	sh->run.arg = &seen;
	c->shell = sh;
	/* up to SSH_READ: the exec request, but no EOF on its stdin */
	rc = ssh_run_until(c, &sh->run, SSH_EOF, deadline, cancel, err);
	if (!rc)
		sh->run.phase = SSH_READ;   /* no EOF: it reads its requests */
	while (!rc && !strstr(seen.buf, rshell_ready)) {
		rc = ssh_run_step(c, &sh->run, err);
		if (rc < 0)
			break;
		if (sh->run.phase != SSH_READ) {
			rc = 1;   /* it ended: no sh, a forced command ... */
			break;
		}
		if (rc == 0)
			rc = ssh_wait(c, deadline, cancel, err);
		else
			rc = 0;
	}
	if (!rc) {
		sh->run.output = rshell_feed;
		sh->run.arg = sh;
	} else if (rc == ERR_CANCELLED && !c->broken) {
		rshell_free(c);
	} else if (c->broken) {
		rshell_free(c);
		rc = rc < 0 ? rc : ERR_FAIL;
	} else {
		/* refused, ended or no answer: this host gets exec channels */
		rshell_free(c);
		c->no_shell = 1;
		rc = 1;
	}
	buf_release(&seen);
	return rc;
}

/* A nonce no command can guess: from getrandom, else time and pid. */
static void rshell_nonce(char *mark)
{
	static unsigned long counter;
	unsigned char r[RSHELL_NONCE / 2];

	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		unsigned long long t = (unsigned long long)proc_now_ms() ^
				       (unsigned long long)getpid() << 32;

		for (size_t i = 0; i < sizeof(r); i++)
			r[i] = (unsigned char)(t >> (i % 8 * 8) ^ ++counter * 131);
	}
	mark[0] = '\036';
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(mark + 1 + 2 * i, 3, "%02x", r[i]);
}

/* Writes all of p to the shell's stdin. */
static int rshell_write(struct ssh_conn *c, struct rshell *sh, const char *p,
			size_t len, long long deadline,
			const volatile sig_atomic_t *cancel, struct err *err)
{
	while (len) {
		ssize_t n = libssh2_channel_write(sh->run.ch, p, len);
		int w;

		if (n == LIBSSH2_ERROR_EAGAIN) {
			w = ssh_wait(c, deadline, cancel, err);
			if (w)
				return w;
			continue;
		}
		if (n < 0)
			return ssh_err_from_session(c, err, ERR_FAIL,
						    "send a command to the remote shell");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The request for command: "NONCE NLINES\n" and its lines. */
static void rshell_request(struct buf *req, const char *mark,
			   const char *command)
{
	size_t len = strlen(command), lines = 0;

	for (const char *p = command; *p; p++)
		lines += *p == '\n';
	if (!len || command[len - 1] != '\n')
		lines++;
	buf_addf(req, "%s %zu\n", mark + 1, lines);
	buf_add(req, command, len);
	if (!len || command[len - 1] != '\n')
		buf_addch(req, '\n');
}

/*
 * Reads the shell's output until the command ended (both streams framed),
 * or until deadline / cancel. Returns 0 when it ended, 2 when the shell
 * itself ended (its channel is closed), or an error.
 */
static int rshell_pump(struct ssh_conn *c, struct rshell *sh, int need_pgid,
		       long long deadline, const volatile sig_atomic_t *cancel,
		       struct err *err)
{
	for (;;) {
		int rc;

		if (need_pgid ? sh->pgid != 0 : sh->done[0] && sh->done[1])
			return 0;
		rc = ssh_run_step(c, &sh->run, err);
		if (sh->bad)
			return err_set(err, ERR_FAIL,
				       "ssh %s: the remote shell sent a bad frame",
				       c->where);
		if (rc < 0)
			return rc;
		if (sh->run.phase > SSH_READ)
			return 2;
		if (need_pgid ? sh->pgid != 0 : sh->done[0] && sh->done[1])
			return 0;
		if ((rc = ssh_step_done(c, rc, deadline, cancel, err)) < 0)
			return rc;
	}
}

/* The shell ended while a command was being stopped: close it. */
static const char *rshell_ended(struct ssh_conn *c, struct rshell *sh,
				const char *what)
{
	struct err err = ERR_INIT;

	if (ssh_run_until(c, &sh->run, SSH_DONE, ssh_after(SSH_GRACE_MS), NULL,
			  &err) < 0)
		c->broken = 1;
	rshell_free(c);
	return what;
}

/*
 * The shell command that sends sig to the command's process group: the
 * group of P, or (C) the group each child of the loop leads, found in
 * /proc ("PID (COMM) STATE PPID ...", COMM may hold spaces).
 */
static void rshell_kill_cmd(const struct rshell *sh, const char *sig,
			    struct buf *cmd)
{
	if (!sh->parent) {
		buf_addf(cmd, "kill -%s -- -%ld 2>/dev/null", sig, sh->pgid);
		return;
	}
	buf_addf(cmd,
		 "for f in /proc/[0-9]*/stat; do "
		 "read -r l <\"$f\" 2>/dev/null || continue; "
		 "l=${l##*) }; set -- $l; [ \"$2\" = %ld ] || continue; "
		 "p=${f#/proc/}; kill -%s -- -${p%%/stat} 2>/dev/null; done; true",
		 sh->pgid, sig);
}

/*
 * The command timed out or was cancelled: TERM its process group, KILL it
 * SSH_KILL_WAIT_MS later if it has not ended, each from an exec channel of
 * its own (the shell waits for the command). What it did, for the message.
 */
static const char *rshell_kill(struct ssh_conn *c, struct rshell *sh)
{
	struct err err = ERR_INIT;
	struct buf cmd = BUF_INIT;
	const char *what;
	int status, rc;

	sh->output = NULL;
	sh->run.output = rshell_feed;   /* ssh_run_step drops it on a stop */
	/* the P frame follows the request at once, unless the host is stuck */
	rc = rshell_pump(c, sh, 1, ssh_after(SSH_GRACE_MS), NULL, &err);
	if (rc == 2)
		return rshell_ended(c, sh, "the remote shell ended");
	if (rc < 0 || ssh_run_settle(c, &sh->run, &err) < 0) {
		rshell_free(c);
		return "could not stop it: the remote shell does not answer";
	}
	rshell_kill_cmd(sh, "TERM", &cmd);
	rc = ssh_run_quiet(c, cmd.buf, SSH_GRACE_MS, &status, &err);
	buf_release(&cmd);
	if (rc < 0) {
		c->broken = 1;
		return "could not stop it: the kill channel failed";
	}
	rc = rshell_pump(c, sh, 0, ssh_after(SSH_KILL_WAIT_MS), NULL, &err);
	if (rc == 2)
		return rshell_ended(c, sh, "stopped with SIGTERM");
	if (rc == 0)
		return "stopped with SIGTERM";
	if (rc != ERR_TIMEOUT || ssh_run_settle(c, &sh->run, &err) < 0) {
		rshell_free(c);
		return "could not stop it: the remote shell does not answer";
	}
	rshell_kill_cmd(sh, "KILL", &cmd);
	rc = ssh_run_quiet(c, cmd.buf, SSH_GRACE_MS, &status, &err);
	buf_release(&cmd);
	if (rc < 0) {
		c->broken = 1;
		return "could not stop it: the kill channel failed";
	}
	rc = rshell_pump(c, sh, 0, ssh_after(SSH_GRACE_MS), NULL, &err);
	if (rc == 2)
		return rshell_ended(c, sh, "stopped with SIGKILL");
	if (rc != 0) {
		/* the loop's wait did not return: give the shell up */
		what = "stopped with SIGKILL, but the remote shell did not answer";
		if (ssh_run_settle(c, &sh->run, &err) < 0)
			c->broken = 1;
		rshell_free(c);
		return what;
	}
	return "stopped with SIGKILL";
}

/*
 * Before a request: reads what came while the shell was idle. A shell that
 * ended meanwhile (killed on the host) is closed, for another to start;
 * output a finished command left behind is dropped (nobody's to pass on).
 */
static int rshell_idle(struct ssh_conn *c, struct rshell *sh, struct err *err)
{
	int rc;

	sh->output = NULL;
	while ((rc = ssh_run_step(c, &sh->run, err)) > 0 &&
	       sh->run.phase == SSH_READ)
		;
	if (rc < 0) {
		c->broken = 1;
		return rc;
	}
	if (sh->run.phase == SSH_READ)
		return 0;
	if (ssh_run_until(c, &sh->run, SSH_DONE, ssh_after(SSH_GRACE_MS), NULL,
			  err) < 0) {
		c->broken = 1;
		return err->code;
	}
	rshell_free(c);
	return 0;
}

int rshell_exec(struct ssh_conn *c, const char *command,
		const struct ssh_exec_opts *opts, int *exit_status,
		const char **what, int *by_output, struct err *err)
{
	long long deadline = opts->timeout_ms > 0 ? ssh_after(opts->timeout_ms)
						  : 0;
	struct buf req = BUF_INIT;
	struct rshell *sh;
	int rc;

	if (!c->shell) {
		rc = rshell_start(c, opts->cancel, err);
		if (rc)
			return rc;
	}
	sh = c->shell;
	if (rshell_idle(c, sh, err) < 0)
		return err->code;
	if (!c->shell) {
		rc = rshell_start(c, opts->cancel, err);
		if (rc)
			return rc;
		sh = c->shell;
	}
	rshell_nonce(sh->mark);
	buf_reset(&sh->st[0]);
	buf_reset(&sh->st[1]);
	memset(sh->done, 0, sizeof(sh->done));
	sh->pgid = 0;
	sh->parent = 0;
	sh->status = 0;
	sh->output = opts->output;
	sh->arg = opts->arg;
	sh->stopped = 0;
	rshell_request(&req, sh->mark, command);
	rc = rshell_write(c, sh, req.buf, req.len, deadline, opts->cancel, err);
	buf_release(&req);
	if (rc == ERR_TIMEOUT || rc == ERR_CANCELLED) {
		/* a request half written: the loop cannot go on */
		if (ssh_run_settle(c, &sh->run, err) < 0)
			c->broken = 1;
		rshell_free(c);
		return rc;
	}
	if (!rc)
		rc = rshell_pump(c, sh, 0, deadline, opts->cancel, err);
	if (rc == 2) {
		/* the shell died: as an exec channel's wrapper dying would */
		rshell_flush(sh);
		rc = ssh_run_until(c, &sh->run, SSH_DONE, ssh_after(SSH_GRACE_MS),
				   NULL, err);
		if (!rc)
			*exit_status = ssh_run_status(c, &sh->run);
		else
			c->broken = 1;
		rshell_free(c);
		return rc;
	}
	if (rc == ERR_CANCELLED && sh->stopped)
		*by_output = 1;
	if (rc == ERR_TIMEOUT || rc == ERR_CANCELLED) {
		*what = rshell_kill(c, sh);
		return rc;
	}
	if (rc < 0) {
		c->broken = 1;
		return rc;
	}
	/* a tail held back that was no frame is output (no newline at end) */
	rshell_flush(sh);
	*exit_status = sh->status;
	return 0;
}
