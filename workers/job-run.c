/*
 * job-run.c: one job, from claim to result (see job-run.h). Each step
 * kind is a function returning a step outcome; the loop records the steps,
 * stops at the first one that does not pass (logs-capture still runs, as
 * OSSTest's capture-logs does), and decides what the job's result means
 * for the job and for its hosts.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "artifact.h"
#include "bootcfg.h"
#include "buf.h"
#include "console.h"
#include "firmware.h"
#include "fsutil.h"
#include "job-run.h"
#include "jobrec.h"
#include "log.h"
#include "power.h"
#include "proc.h"
#include "runvar.h"
#include "secret.h"
#include "ssh.h"
#include "steplog.h"
#include "xalloc.h"
#include "banned.h"

/* Default time limits of the step kinds, in seconds. */
#define BUILD_TIMEOUT (3 * 3600)
#define INSTALL_TIMEOUT 3600
#define RUN_TIMEOUT 3600
#define LOGS_TIMEOUT 600
#define ARTIFACT_MAX (4LL << 30)

enum outcome { OUT_PASS, OUT_FAIL, OUT_BROKEN, OUT_CANCELLED };

static const char *const outcome_words[] = { "pass", "fail", "broken",
					     "cancelled" };

struct job_state;

struct step_ctx {
	struct job_run *r;
	struct job_state *js;
	const struct wjob_step *step;
	struct steplog log;
	long long deadline_ms;
	char detail[512];
	int bad_host;            /* the host that caused lab trouble, or -1 */
	int stepno;
	int timed_out;           /* the command under test ran out of time */
	struct case_reader *cases;   /* reads test cases from the output */
};

struct job_state {
	struct job_run *r;
	struct ssh_conn **conns;
	struct console_capture **consoles;
	off_t *console_at;      /* per host: where expect reads on */
	char **dmi;             /* per host: its BIOS from DMI, or NULL */
	int *dmi_read;          /* per host: DMI was asked for */
	long long *up_by;       /* per host: powered on, SSH not seen yet:
				 * until when it may still be starting */
	struct jobrec *rec;
};

static int cancelled(const struct step_ctx *s)
{
	return *s->r->cancel != JOB_RUN_GO;
}

static enum outcome step_broken(struct step_ctx *s, int host, const char *fmt,
				...) __attribute__((format(printf, 3, 4)));

static enum outcome step_broken(struct step_ctx *s, int host, const char *fmt,
				...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	s->bad_host = host;
	steplog_say(&s->log, "broken: %s", s->detail);
	return cancelled(s) ? OUT_CANCELLED : OUT_BROKEN;
}

static enum outcome step_fail(struct step_ctx *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static enum outcome step_fail(struct step_ctx *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
	steplog_say(&s->log, "fail: %s", s->detail);
	return OUT_FAIL;
}

/* snprintf that may cut the text short, on purpose (details, reasons). */
static void textf(char *dst, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void textf(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

static long long remaining_ms(const struct step_ctx *s)
{
	long long left = s->deadline_ms - proc_now_ms();

	return left > 0 ? left : 1;
}

/* ---- SSH ---- */

static int log_output(void *arg, int stream, const char *data, size_t len)
{
	struct step_ctx *s = arg;

	(void)stream;
	steplog_write(&s->log, data, len);
	return 0;
}

/* Output collected into a capped buffer (file lists). */
static int collect_output(void *arg, int stream, const char *data, size_t len)
{
	struct buf *b = arg;

	if (stream == 1 && buf_add(b, data, len) < 0)
		return 1;
	return 0;
}

/*
 * Once per job and host, when it first answers SSH: the BIOS Linux read
 * from DMI, for the evidence records (job_firmware). A host without it
 * (no DMI, no /sys) says nothing, and nothing fails: it is bookkeeping.
 * A connection the command broke or left busy (a timeout) is closed.
 */
static void host_dmi(struct step_ctx *s, int i, struct ssh_conn *c)
{
	struct job_state *js = s->js;
	struct ssh_exec_opts o = {
		.timeout_ms = 10000,
		.cancel = s->r->cancel,
		.output = collect_output,
	};
	struct err err = ERR_INIT;
	char text[FIRMWARE_MAX + 1];
	struct buf out;
	int status = -1, rc;

	if (js->dmi_read[i])
		return;
	js->dmi_read[i] = 1;
	buf_init(&out, 1024);
	o.arg = &out;
	/* one line each, empty when unreadable */
	rc = ssh_exec(c, "for f in bios_vendor bios_version; do "
		      "head -c 256 /sys/class/dmi/id/$f 2>/dev/null | "
		      "tr -d '\\n'; echo; done", &o, &status, &err);
	if (rc < 0) {
		/* whatever broke, the steps must not inherit it: they get a
		 * new connection (and judge the host by it) */
		ssh_close(js->conns[i]);
		js->conns[i] = NULL;
	} else if (status == 0) {
		char *nl = strchr(out.buf, '\n');

		if (nl)
			*nl++ = '\0';
		if (firmware_dmi(out.buf, nl, text, sizeof(text)))
			js->dmi[i] = xstrdup(text);
	}
	buf_release(&out);
}

/* Connects to host i once (pinning its key on first use). */
static int host_connect_once(struct step_ctx *s, int i, int timeout_ms,
			     struct ssh_conn **ret, struct err *err)
{
	struct job_state *js = s->js;
	struct wjob_host *h = &s->r->job->hosts[i];
	struct ssh_target t = {
		.host = h->address, .port = h->port, .user = h->user,
		.identity = s->r->conf->identity, .pinned_key = h->ssh_host_key,
		.connect_timeout_ms = timeout_ms, .cancel = s->r->cancel,
	};
	int rc;

	if (js->conns[i]) {
		*ret = js->conns[i];
		return 0;
	}
	if (!t.identity)
		return err_set(err, ERR_USAGE,
			       "no SSH identity: set [lab] identity");
	rc = ssh_connect(&t, &js->conns[i], err);
	if (rc < 0)
		return err_prefix(err, "host %s", h->name);
	if (!h->ssh_host_key) {
		const char *key = ssh_host_key(js->conns[i]);

		/* the job cannot go on without it: through an outage too */
		do
			rc = s->r->link->ops->hostkey_pin(s->r->link, s->r->job,
							  h->name, key, err);
		while (rc < 0 && jobrec_retry(js->rec));
		if (rc < 0) {
			ssh_close(js->conns[i]);
			js->conns[i] = NULL;
			return err_prefix(err, "host %s", h->name);
		}
		h->ssh_host_key = xstrdup(key);
		steplog_say(&s->log, "%s: host key pinned on first use: %.40s...",
			    h->name, key);
	}
	host_dmi(s, i, js->conns[i]);
	if (!js->conns[i])    /* closed by it: connect again, once */
		return host_connect_once(s, i, timeout_ms, ret, err);
	*ret = js->conns[i];
	js->up_by[i] = 0;
	return 0;
}

/*
 * Connects to host i, trying again until `until` (proc_now_ms) while it
 * does not answer: it is booting. One try, whatever `until` says; each
 * waits up to per_ms. The tries made go to *tries.
 */
static int host_connect_until(struct step_ctx *s, int i, long long until,
			      int per_ms, int *tries, struct ssh_conn **ret,
			      struct err *err)
{
	for (*tries = 1;; ++*tries) {
		long long left = until - proc_now_ms();
		int per = left > 0 && left < per_ms ? (int)left : per_ms;

		if (host_connect_once(s, i, per, ret, err) == 0)
			return 0;
		if (err->code == ERR_HOSTKEY || err->code == ERR_USAGE ||
		    err->code == ERR_DB)
			return -1;
		/* a refused connection comes back at once: do not spin */
		for (int k = 0; k < 5 && !cancelled(s) && proc_now_ms() < until; k++)
			usleep(50 * 1000);
		if (cancelled(s) || proc_now_ms() >= until)
			return -1;
	}
}

static void say_ssh_up(struct step_ctx *s, int i, long long start, int tries)
{
	steplog_say(&s->log, "%s: ssh up after %.1f s (%d tr%s)",
		    s->r->job->hosts[i].name, (proc_now_ms() - start) / 1000.0,
		    tries, tries == 1 ? "y" : "ies");
}

/*
 * Connects to host i. Once it was powered on by this job (a boot step
 * judged from its console), its sshd may start after the console said
 * it booted: a refused connection is tried again until its boot time
 * is up.
 */
static int host_connect(struct step_ctx *s, int i, int timeout_ms,
			struct ssh_conn **ret, struct err *err)
{
	long long start = proc_now_ms();
	int tries;

	if (host_connect_until(s, i, s->js->up_by[i], timeout_ms, &tries,
			       ret, err) < 0)
		return -1;
	if (tries > 1)
		say_ssh_up(s, i, start, tries);
	return 0;
}

static void host_disconnect(struct step_ctx *s, int i)
{
	struct job_state *js = s->js;

	ssh_close(js->conns[i]);
	js->conns[i] = NULL;
}

/* Host i, unless the trouble is hangar's or the database's. */
static int host_at_fault(const struct err *err, int i)
{
	return err->code == ERR_USAGE || err->code == ERR_DB ? -1 : i;
}

/* Waits until host i answers SSH, up to timeout_s. */
static enum outcome wait_for_ssh(struct step_ctx *s, int i, int timeout_s)
{
	long long start = proc_now_ms();
	struct err err = ERR_INIT;
	struct ssh_conn *c;
	int tries;

	host_disconnect(s, i);
	if (host_connect_until(s, i, start + timeout_s * 1000LL, 5000, &tries,
			       &c, &err) == 0) {
		say_ssh_up(s, i, start, tries);
		return OUT_PASS;
	}
	if (cancelled(s))
		return OUT_CANCELLED;
	if (err.code == ERR_HOSTKEY || err.code == ERR_USAGE ||
	    err.code == ERR_DB)
		return step_broken(s, host_at_fault(&err, i), "%s", err.msg);
	return step_broken(s, i, "%s did not answer SSH within %d s (last: %s)",
			   s->r->job->hosts[i].name, timeout_s, err.msg);
}

/* The runvars as exported shell variables, then the command in dir. */
static char *remote_command(const struct wjob *j, const struct wjob_host *h,
			    const char *dir, const char *command)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, "mkdir -p ");
	buf_add_shell_quoted(&b, dir);
	buf_addstr(&b, " && cd ");
	buf_add_shell_quoted(&b, dir);
	buf_addstr(&b, " && export ");
	for (size_t i = 0; i < j->runvars.n; i++) {
		char *name, *value;
		const char *why;

		if (runvar_parse(j->runvars.v[i], &name, &value, &why) < 0)
			continue;
		runvar_shell_assign(&b, name, value);
		free(name);
		free(value);
	}
	buf_addstr(&b, "HANGAR_WORKDIR=");
	buf_add_shell_quoted(&b, h->workdir);
	buf_addstr(&b, " HANGAR_THIS_HOST=");
	buf_add_shell_quoted(&b, h->name);
	buf_addstr(&b, "; ");
	buf_addstr(&b, command);
	return buf_detach(&b);
}

/*
 * Runs command on host i in dir. The command under test (test = 1): a
 * non-zero exit or running out of time is fail. A lab action (test = 0):
 * both are broken.
 */
static enum outcome host_exec(struct step_ctx *s, int i, const char *dir,
			      const char *command, int test,
			      ssh_output_fn out, void *arg)
{
	struct wjob_host *h = &s->r->job->hosts[i];
	struct ssh_exec_opts o = {
		.timeout_ms = (int)remaining_ms(s),
		.cancel = s->r->cancel,
		.output = out ? out : log_output,
		.arg = out ? arg : s,
	};
	struct err err = ERR_INIT;
	struct ssh_conn *c;
	char *full;
	long long t0 = proc_now_ms();
	int status = -1, rc;

	if (host_connect(s, i, 30000, &c, &err) < 0)
		return step_broken(s, host_at_fault(&err, i), "%s", err.msg);
	full = remote_command(s->r->job, h, dir, command);
	steplog_say(&s->log, "%s: %s", h->name, command);
	rc = ssh_exec(c, full, &o, &status, &err);
	free(full);
	if (cancelled(s)) {
		steplog_say(&s->log, "%s: cancelled; the command was killed",
			    h->name);
		return OUT_CANCELLED;
	}
	if (rc == ERR_CANCELLED)   /* by out: more output than it takes */
		return step_broken(s, -1, "%s: too much output; the command was killed",
				   h->name);
	if (rc == ERR_TIMEOUT) {
		s->timed_out = test;
		if (test)
			return step_fail(s, "%s: timed out after %.0f s; killed",
					 h->name, (proc_now_ms() - t0) / 1000.0);
		return step_broken(s, i, "%s: lab action timed out after %.0f s",
				   h->name, (proc_now_ms() - t0) / 1000.0);
	}
	if (rc < 0) {
		host_disconnect(s, i);
		return step_broken(s, i, "%s: %s", h->name, err.msg);
	}
	steplog_say(&s->log, "%s: exit status %d (%.1f s)", h->name, status,
		    (proc_now_ms() - t0) / 1000.0);
	if (status != 0) {
		if (test)
			return step_fail(s, "%s: exit status %d", h->name, status);
		return step_broken(s, i, "%s: exit status %d", h->name, status);
	}
	return OUT_PASS;
}

/* ---- power ---- */

static enum outcome host_power(struct step_ctx *s, int i, enum power_action a)
{
	struct wjob_host *h = &s->r->job->hosts[i];
	struct power_host ph = { h->name, h->power, h->power_config,
				 h->cycle_time, s->r->conf->state };
	struct power_result res;
	struct err err = ERR_INIT;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = power_run(&ph, a, s->r->cancel, &res, &err);
	jobrec_power(s->js->rec, h->name, a, &res, rc < 0 ? &err : NULL);
	if (rc == ERR_CANCELLED)
		return OUT_CANCELLED;
	if (rc < 0)
		return step_broken(s, i, "%s", err.msg);
	if (a == POWER_CYCLE || a == POWER_ON)
		s->js->up_by[i] = proc_now_ms() + h->boot_timeout * 1000LL;
	steplog_say(&s->log, "%s: power %s: %s (%d attempt%s, %.1f s)%s%s",
		    h->name, power_action_str(a), power_state_str(res.state),
		    res.attempts, res.attempts == 1 ? "" : "s", res.ms / 1000.0,
		    res.detail[0] ? ": " : "", res.detail);
	return OUT_PASS;
}

static int has_power(const struct wjob_host *h)
{
	return h->power && strcmp(h->power, "none") != 0;
}

/* ---- the step kinds ---- */

static enum outcome step_power_cycle(struct step_ctx *s)
{
	for (size_t i = 0; i < s->r->job->nhosts; i++) {
		struct wjob_host *h = &s->r->job->hosts[i];
		enum outcome o;

		host_disconnect(s, (int)i);
		if (has_power(h)) {
			o = host_power(s, (int)i, POWER_CYCLE);
			if (o != OUT_PASS)
				return o;
		} else {
			steplog_say(&s->log, "%s: power = none: not power cycled",
				    h->name);
		}
		o = wait_for_ssh(s, (int)i, h->boot_timeout);
		if (o != OUT_PASS)
			return o;
	}
	return OUT_PASS;
}

static enum outcome step_reboot(struct step_ctx *s)
{
	for (size_t i = 0; i < s->r->job->nhosts; i++) {
		struct wjob_host *h = &s->r->job->hosts[i];
		enum outcome o;

		if (has_power(h)) {
			host_disconnect(s, (int)i);
			o = host_power(s, (int)i, POWER_CYCLE);
		} else {
			/* the connection drops under it: that is the point */
			o = host_exec(s, (int)i, h->workdir,
				      "(sleep 1; reboot) >/dev/null 2>&1 &", 0,
				      NULL, NULL);
			host_disconnect(s, (int)i);
			sleep(5);
		}
		if (o != OUT_PASS)
			return o;
		o = wait_for_ssh(s, (int)i, h->boot_timeout);
		if (o != OUT_PASS)
			return o;
	}
	return OUT_PASS;
}

/* Whether a remote path from a listing is a safe relative path. */
static int rel_path_ok(const char *p)
{
	if (!*p || *p == '/' || strstr(p, "\n"))
		return 0;
	for (const char *c = p; *c;) {
		size_t n = strcspn(c, "/");

		if ((n == 2 && !strncmp(c, "..", 2)) || n == 0)
			return 0;
		c += n;
		if (*c == '/')
			c++;
	}
	return 1;
}

/* A shell loop printing the regular files matching words (globs). */
static char *list_files_command(const struct vec *globs)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, "for f in");
	for (size_t i = 0; i < globs->n; i++) {
		buf_addch(&b, ' ');
		/* globs stay unquoted so the shell expands them */
		for (const char *p = globs->v[i]; *p; p++) {
			if (!strchr("*?[]", *p) && !(*p >= 'a' && *p <= 'z') &&
			    !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') &&
			    !strchr("/._-+", *p))
				buf_addch(&b, '\\');
			buf_addch(&b, *p);
		}
	}
	buf_addstr(&b, "; do [ -f \"$f\" ] && printf '%s\\n' \"$f\"; done; true");
	return buf_detach(&b);
}

static enum outcome upload_sources(struct step_ctx *s)
{
	struct wjob *j = s->r->job;
	struct wjob_host *h = &j->hosts[0];
	const char *state = s->r->conf->state;
	enum outcome o = OUT_PASS;

	for (size_t t = 0; t < j->ntrees && o == OUT_PASS; t++) {
		struct wjob_tree *tr = &j->trees[t];
		int primary = j->primary_tree && !strcmp(tr->name, j->primary_tree);
		char *dir = xasprintf("%s/tmp", state);
		char *tar = xasprintf("%s/%ld.%s.%s.tar", dir, j->flight, j->job,
				      tr->name);
		char *remote = xasprintf("%s/.hangar/%s.tar", h->workdir, tr->name);
		char *dest = primary ? xstrdup("src") : xasprintf("src-%s", tr->name);
		struct err err = ERR_INIT;
		struct ssh_conn *c;
		long files = 0;

		if (!tr->url) {
			o = step_broken(s, -1, "tree %s is not configured", tr->name);
		} else if (fs_mkdir_p(dir, 0755, &err) < 0 ||
			   s->r->link->ops->tree_tar(s->r->link, j, tr, tar, &files,
						     &err) < 0) {
			o = step_broken(s, -1, "tree %s at %.12s: %s", tr->name,
					tr->revision, err.msg);
		} else if (host_connect(s, 0, 30000, &c, &err) < 0 ||
			   ssh_upload(c, tar, remote, 0644, &err) < 0) {
			o = step_broken(s, 0, "upload of %s: %s", tr->name, err.msg);
		} else {
			char *cmd = xasprintf("rm -rf %s && mkdir %s && tar xf "
					      ".hangar/%s.tar -C %s && rm -f .hangar/%s.tar",
					      dest, dest, tr->name, dest, tr->name);

			if (files >= 0)
				steplog_say(&s->log, "%s at %s: %ld files uploaded to "
					    "%s/%s", tr->name, tr->revision, files,
					    h->workdir, dest);
			else
				steplog_say(&s->log, "%s at %s: uploaded to %s/%s",
					    tr->name, tr->revision, h->workdir, dest);
			o = host_exec(s, 0, h->workdir, cmd, 0, NULL, NULL);
			free(cmd);
			if (o == OUT_PASS) {
				char *name = xasprintf("built_revision_%s", tr->name);

				jobrec_runvar(s->js->rec, name, tr->revision);
				free(name);
			}
		}
		unlink(tar);
		free(dir);
		free(tar);
		free(remote);
		free(dest);
	}
	return o;
}

static enum outcome collect_artifacts(struct step_ctx *s, const char *srcdir)
{
	struct wjob *j = s->r->job;
	struct buf list = BUF_INIT;
	struct vec files = VEC_INIT;
	enum outcome o;
	char *cmd;

	if (!j->artifacts.n)
		return OUT_PASS;
	buf_init(&list, 1 << 20);
	cmd = list_files_command(&j->artifacts);
	o = host_exec(s, 0, srcdir, cmd, 0, collect_output, &list);
	free(cmd);
	if (o != OUT_PASS)
		goto out;
	if (list.overflowed) {
		o = step_broken(s, 0, "the artifact list is over 1 MiB");
		goto out;
	}
	vec_split(&files, "");
	for (char *line = list.buf, *nl; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';
		if (rel_path_ok(line) && vec_find(&files, line) < 0)
			vec_push(&files, line);
	}
	if (!files.n) {
		char *globs = vec_join(&j->artifacts, " ");

		o = step_fail(s, "no file matched the artifacts %s", globs);
		free(globs);
		goto out;
	}
	for (size_t i = 0; i < files.n && o == OUT_PASS; i++) {
		struct err err = ERR_INIT;
		char *remote = xasprintf("%s/%s", srcdir, files.v[i]);
		char *tmp = artifact_tmp_path(s->r->conf->state, &err);
		char sha[65];
		long long size = 0;
		struct ssh_conn *c;

		if (!tmp) {
			o = step_broken(s, -1, "artifact store: %s", err.msg);
		} else if (host_connect(s, 0, 30000, &c, &err) < 0 ||
			   ssh_download(c, remote, tmp, ARTIFACT_MAX, NULL, &err) < 0) {
			o = step_broken(s, 0, "download of %s: %s", files.v[i],
					err.msg);
		} else if (artifact_store(s->r->conf->state, tmp, sha, &size,
					  &err) < 0) {
			o = step_broken(s, -1, "artifact %s: %s", files.v[i], err.msg);
		} else {
			jobrec_artifact(s->js->rec, files.v[i], sha, size);
			steplog_say(&s->log, "artifact %s: %lld bytes, sha256 %s",
				    files.v[i], size, sha);
		}
		if (tmp)
			unlink(tmp);
		free(tmp);
		free(remote);
	}
out:
	vec_clear(&files);
	buf_release(&list);
	return o;
}

static enum outcome step_build(struct step_ctx *s)
{
	struct wjob_host *h = &s->r->job->hosts[0];
	char *src = xasprintf("%s/src", h->workdir);
	enum outcome o;

	o = upload_sources(s);
	if (o == OUT_PASS)
		o = host_exec(s, 0, src, s->step->command, 1, NULL, NULL);
	if (o == OUT_PASS)
		o = collect_artifacts(s, src);
	free(src);
	return o;
}

/* The artifacts of the d-th job this one needs, waiting out an outage of
 * the link as long as the job may. */
static int dep_artifacts(struct step_ctx *s, size_t d, struct wartifact **a,
			 size_t *n, struct err *err)
{
	const struct wjob *j = s->r->job;
	int rc;

	do
		rc = s->r->link->ops->dep_artifacts(s->r->link, j,
						    j->deps[d].flight,
						    j->deps[d].job, a, n, err);
	while (rc < 0 && jobrec_retry(s->js->rec));
	return rc;
}

/* Artifact a in the local store (a remote worker fetches it), waiting
 * out an outage of the link as long as the job may. */
static int blob_fetch(struct step_ctx *s, const struct wartifact *a,
		      struct err *err)
{
	int rc;

	do {
		err_clear(err);
		rc = s->r->link->ops->blob_fetch(s->r->link, s->r->job, a->sha256,
						 a->size, err);
	} while (rc < 0 && jobrec_retry(s->js->rec));
	return rc;
}

static enum outcome upload_artifacts(struct step_ctx *s, int i)
{
	struct wjob *j = s->r->job;
	struct wjob_host *h = &j->hosts[i];
	enum outcome o = OUT_PASS;

	for (size_t d = 0; d < j->ndeps && o == OUT_PASS; d++) {
		struct wartifact *a = NULL;
		struct err err = ERR_INIT;
		size_t n = 0;

		if (dep_artifacts(s, d, &a, &n, &err) < 0)
			return step_broken(s, -1, "%s", err.msg);
		for (size_t k = 0; k < n && o == OUT_PASS; k++) {
			char *local = artifact_path(s->r->conf->state, a[k].sha256);
			char *remote = xasprintf("%s/%s", h->workdir, a[k].path);
			struct ssh_conn *c;

			if (blob_fetch(s, &a[k], &err) < 0)
				o = step_broken(s, -1, "artifact %s of %ld.%s: %s",
						a[k].path, j->deps[d].flight,
						j->deps[d].job, err.msg);
			else if (host_connect(s, i, 30000, &c, &err) < 0 ||
				 ssh_upload(c, local, remote, 0644, &err) < 0)
				o = step_broken(s, i, "upload of %s: %s", a[k].path,
						err.msg);
			else
				steplog_say(&s->log,
					    "%s: %s of %ld.%s (%lld bytes, sha256 %.12s) uploaded",
					    h->name, a[k].path, j->deps[d].flight,
					    j->deps[d].job, a[k].size, a[k].sha256);
			free(local);
			free(remote);
		}
		db_worker_artifacts_free(a, n);
	}
	return o;
}

static enum outcome step_install_build(struct step_ctx *s)
{
	for (size_t i = 0; i < s->r->job->nhosts; i++) {
		enum outcome o = upload_artifacts(s, (int)i);

		if (o == OUT_PASS)
			o = host_exec(s, (int)i, s->r->job->hosts[i].workdir,
				      s->step->command, 1, NULL, NULL);
		if (o != OUT_PASS)
			return o;
	}
	return OUT_PASS;
}

/* The output of a step with test cases: to its log and to the reader. */
static int log_output_cases(void *arg, int stream, const char *data,
			    size_t len)
{
	struct step_ctx *s = arg;

	(void)stream;
	steplog_write(&s->log, data, len);
	case_reader_feed(s->cases, data, len);
	return 0;
}

#define JUNIT_MAX (64LL << 20)

/* The JUnit file the command left in host 0's work directory, parsed. */
static enum outcome junit_cases(struct step_ctx *s, const char *path,
				struct case_result **cases, size_t *n,
				char *why, size_t whylen)
{
	struct wjob_host *h = &s->r->job->hosts[0];
	struct err err = ERR_INIT;
	char *remote = xasprintf("%s/%s", h->workdir, path);
	char *tmp = artifact_tmp_path(s->r->conf->state, &err);
	struct buf b = BUF_INIT;
	struct ssh_conn *c;
	enum outcome o = OUT_PASS;

	if (!tmp) {
		o = step_broken(s, -1, "%s", err.msg);
	} else if (host_connect(s, 0, 30000, &c, &err) < 0) {
		o = step_broken(s, host_at_fault(&err, 0), "%s", err.msg);
	} else if (ssh_download(c, remote, tmp, JUNIT_MAX, NULL, &err) < 0) {
		/* the suite left no results: its failure, not the lab's */
		textf(why, whylen, "no JUnit file %s: %s", path, err.msg);
		o = OUT_FAIL;
	} else if (buf_read_file(&b, tmp) < 0) {
		o = step_broken(s, -1, "%s: %s", tmp, strerror(errno));
	} else if (case_junit_parse(b.buf ? b.buf : "", b.len, cases, n, why,
				    whylen) < 0) {
		o = OUT_FAIL;
	}
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(remote);
	buf_release(&b);
	return o;
}

/*
 * A run step with cases=: every test case its output gives becomes a step
 * of its own (PARENT/CASE), judged against the baseline one by one, as
 * OSSTest's substeps. The step itself passes when the cases were read
 * whole, whatever the command's exit status (a suite's runner exits
 * non-zero when a case fails: that case carries the failure); it fails
 * when they were not (no case, a short TAP plan, a bail out, no JUnit
 * file) or when the command ran out of time.
 */
static enum outcome step_run_cases(struct step_ctx *s)
{
	const char *spec = s->step->cases;
	struct case_result *cases = NULL;
	enum case_format f = CASES_HANGAR;
	size_t n = 0, counts[3] = { 0, 0, 0 };
	char why[256] = "";
	enum outcome o = OUT_PASS;
	int junit = !strncmp(spec, "junit:", 6), complete = 0;

	if (!junit && case_format_parse(spec, &f) < 0)
		return step_broken(s, -1, "unknown cases format '%s'", spec);
	if (!junit) {
		s->cases = case_reader_new(f);
	} else {
		/* no results from an earlier job: they would pass for these */
		char *rm = xasprintf("rm -f -- '%s'", spec + 6);

		o = host_exec(s, 0, s->r->job->hosts[0].workdir, rm, 0, NULL, NULL);
		free(rm);
	}
	for (size_t i = 0; i < s->r->job->nhosts && o != OUT_BROKEN &&
			   o != OUT_CANCELLED; i++) {
		enum outcome oi = host_exec(s, (int)i, s->r->job->hosts[i].workdir,
					    s->step->command, 1,
					    junit ? NULL : log_output_cases, s);

		if (oi != OUT_PASS)
			o = oi;
	}
	if (o == OUT_BROKEN || o == OUT_CANCELLED)
		goto out;
	if (junit) {
		enum outcome oj = junit_cases(s, spec + 6, &cases, &n, why,
					      sizeof(why));

		if (oj == OUT_BROKEN || oj == OUT_CANCELLED) {
			o = oj;
			goto out;
		}
		complete = oj == OUT_PASS;
	} else {
		complete = case_reader_finish(s->cases, &cases, &n, why,
					      sizeof(why)) == 0;
	}
	for (size_t i = 0; i < n; i++)
		counts[!strcmp(cases[i].status, "pass") ? 0
		       : !strcmp(cases[i].status, "fail") ? 1 : 2]++;
	steplog_say(&s->log, "%zu test case(s) (%s): %zu pass, %zu fail, %zu skip",
		    n, spec, counts[0], counts[1], counts[2]);
	jobrec_cases(s->js->rec, s->step->name, s->stepno, cases, n);
	if (s->timed_out) {
		o = OUT_FAIL;   /* its detail says so already */
	} else if (!complete) {
		o = step_fail(s, "test cases incomplete: %s", why);
	} else {
		if (o == OUT_FAIL)
			steplog_say(&s->log, "the exit status does not decide: "
				    "the cases do");
		s->detail[0] = '\0';
		o = OUT_PASS;
	}
out:
	case_results_free(cases, n);
	if (s->cases)
		case_reader_free(s->cases);
	s->cases = NULL;
	return o;
}

static enum outcome step_run(struct step_ctx *s)
{
	if (s->step->cases)
		return step_run_cases(s);
	for (size_t i = 0; i < s->r->job->nhosts; i++) {
		enum outcome o = host_exec(s, (int)i, s->r->job->hosts[i].workdir,
					   s->step->command, 1, NULL, NULL);

		if (o != OUT_PASS)
			return o;
	}
	return OUT_PASS;
}

/* "HOST--var-log-syslog": OSSTest's names for fetched files. */
static char *captured_name(const char *host, const char *path)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s--", host);
	/* only the bytes the dashboard serves a log name with (web-route.c's
	 * web_log_name_ok) and an evidence record can name as they are */
	for (const char *p = *path == '/' ? path + 1 : path; *p; p++) {
		char c = *p;

		if (c == '/')
			c = '-';
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || strchr("._-+@=,", c)))
			c = '_';
		buf_addch(&b, c);
	}
	return buf_detach(&b);
}

static enum outcome step_logs_capture(struct step_ctx *s)
{
	struct wjob *j = s->r->job;
	struct vec want = VEC_INIT;
	enum outcome o = OUT_PASS;

	if (s->step->command)
		vec_split(&want, s->step->command);
	else
		for (size_t i = 0; i < s->r->conf->logs->n; i++)
			vec_push(&want, s->r->conf->logs->v[i]);
	for (size_t i = 0; i < j->nhosts && o == OUT_PASS; i++) {
		struct wjob_host *h = &j->hosts[i];
		struct buf list = BUF_INIT;
		char *cmd = list_files_command(&want);
		int got = 0;

		buf_init(&list, 1 << 20);
		o = host_exec(s, (int)i, h->workdir, cmd, 0, collect_output, &list);
		free(cmd);
		for (char *line = list.buf, *nl; o == OUT_PASS && *line;
		     line = nl + 1) {
			struct err err = ERR_INIT;
			struct ssh_conn *c;
			char *name, *local, *remote;
			long long size = 0;

			nl = strchr(line, '\n');
			if (!nl)
				break;
			*nl = '\0';
			if (!*line || strstr(line, ".."))
				continue;
			name = captured_name(h->name, line);
			local = xasprintf("%s/logs/%ld/%s/%s", s->r->conf->state,
					  j->flight, j->job, name);
			remote = *line == '/' ? xstrdup(line)
					      : xasprintf("%s/%s", h->workdir, line);
			if (host_connect(s, (int)i, 30000, &c, &err) < 0) {
				o = step_broken(s, host_at_fault(&err, (int)i), "%s",
						err.msg);
			} else if (ssh_download(c, remote, local, s->r->conf->max_log,
						&size, &err) < 0) {
				/* one file that cannot be had is no lab trouble */
				steplog_say(&s->log, "%s: %s: not fetched: %s", h->name,
					    line, err.msg);
				if (err.code != ERR_FAIL)
					o = step_broken(s, (int)i, "%s", err.msg);
			} else {
				steplog_say(&s->log, "%s: %s: %lld bytes as %s", h->name,
					    line, size, name);
				got++;
			}
			free(name);
			free(local);
			free(remote);
		}
		if (o == OUT_PASS && !got)
			steplog_say(&s->log, "%s: none of the log files exists", h->name);
		buf_release(&list);
	}
	vec_clear(&want);
	return o;
}

static const char *host_setting(const struct wjob_host *h, const char *key)
{
	return json_string_value(json_object_get(h->power_config, key));
}

static int host_install_timeout(const struct wjob_host *h)
{
	json_t *t = json_object_get(h->power_config, "install_timeout");

	return json_is_integer(t) ? (int)json_integer_value(t) : 1800;
}

/* Writes host i's boot entry from template tmpl. */
static enum outcome write_boot_entry(struct step_ctx *s, int i,
				     const char *tmpl,
				     const struct bootcfg_vars *v,
				     const char *what)
{
	struct wjob_host *h = &s->r->job->hosts[i];
	const char *file = host_setting(h, "pxe_file");
	char *rel = bootcfg_expand(file ? file : "%name%/pxelinux.cfg", v);
	char *text = bootcfg_expand(tmpl, v);
	struct err err = ERR_INIT;
	enum outcome o = OUT_PASS;

	if (bootcfg_write(s->r->conf->tftp, rel, text, &err) < 0)
		o = step_broken(s, -1, "%s: boot entry %s: %s", h->name, rel,
				err.msg);
	else
		steplog_say(&s->log, "%s: boot entry %s/%s: %s", h->name,
			    s->r->conf->tftp, rel, what);
	free(rel);
	free(text);
	return o;
}

/*
 * host-install (OSSTest's ts-host-install): the host's boot entry in the
 * TFTP tree becomes the install template, the host is power cycled, its
 * installer reports back to the dashboard with a one-time token, the
 * entry goes back to local boot, and the installed system must answer
 * SSH. A reinstalled host has new SSH keys: its pin is cleared.
 */
static enum outcome step_host_install(struct step_ctx *s)
{
	const struct worker_conf *conf = s->r->conf;

	for (size_t n = 0; n < s->r->job->nhosts; n++) {
		int i = (int)n;
		struct wjob_host *h = &s->r->job->hosts[i];
		const char *install = host_setting(h, "pxe_install");
		const char *local = host_setting(h, "pxe_local");
		int timeout = host_install_timeout(h), reported = 0, rc;
		char token[33], *url;
		struct bootcfg_vars v;
		struct err err = ERR_INIT;
		long long t0, until;
		enum outcome o;

		if (!conf->tftp)
			return step_broken(s, -1, "host-install needs [lab] tftp");
		if (!install)
			return step_broken(s, -1, "%s has no pxe-install template",
					   h->name);
		if (!has_power(h))
			return step_broken(s, -1, "%s cannot be installed: power = none",
					   h->name);
		if (secret_random_hex(token, 16) < 0)
			return step_broken(s, -1, "no random token: %s", strerror(errno));
		url = xasprintf("%s/api/v1/install/%s", conf->url, token);
		v = (struct bootcfg_vars){ .name = h->name, .arch = h->arch,
					   .address = h->address, .report_url = url,
					   .token = token, .flight = s->r->job->flight,
					   .job = s->r->job->job };
		do
			rc = s->r->link->ops->install_begin(s->r->link, s->r->job,
							    h->name, token, &err);
		while (rc < 0 && jobrec_retry(s->js->rec));
		if (rc < 0) {
			free(url);
			return step_broken(s, -1, "%s", err.msg);
		}
		o = write_boot_entry(s, i, install, &v, "install");
		if (o == OUT_PASS) {
			steplog_say(&s->log, "%s: the installer reports to %s", h->name,
				    url);
			host_disconnect(s, i);
			o = host_power(s, i, POWER_CYCLE);
		}
		t0 = proc_now_ms();
		until = t0 + timeout * 1000LL;
		while (o == OUT_PASS && !reported) {
			if (cancelled(s)) {
				o = OUT_CANCELLED;
			} else if (s->r->link->ops->install_reported(s->r->link,
								     s->r->job, token,
								     &reported,
								     &err) < 0 &&
				   !jobrec_retry(s->js->rec)) {
				o = step_broken(s, -1, "%s", err.msg);
			} else if (!reported && proc_now_ms() >= until) {
				o = step_broken(s, i,
						"the installer of %s did not report back within %d s",
						h->name, timeout);
			} else if (!reported) {
				usleep(250 * 1000);
			}
		}
		free(url);
		/* whatever happened, the host must not install again by itself */
		if (write_boot_entry(s, i, local ? local : bootcfg_local_default, &v,
				     "local boot") != OUT_PASS && o == OUT_PASS)
			o = OUT_BROKEN;
		if (o != OUT_PASS)
			return o;
		steplog_say(&s->log, "%s: the installer reported after %.1f s",
			    h->name, (proc_now_ms() - t0) / 1000.0);
		do
			rc = s->r->link->ops->hostkey_clear(s->r->link, s->r->job,
							    h->name,
							    "reinstalled by host-install",
							    &err);
		while (rc < 0 && jobrec_retry(s->js->rec));
		if (rc < 0)
			return step_broken(s, -1, "%s", err.msg);
		free(h->ssh_host_key);
		h->ssh_host_key = NULL;
		o = wait_for_ssh(s, i, h->boot_timeout);
		if (o != OUT_PASS)
			return o;
		do
			rc = s->r->link->ops->host_installed(s->r->link, s->r->job,
							     h->name, &err);
		while (rc < 0 && jobrec_retry(s->js->rec));
		if (rc < 0)
			return step_broken(s, -1, "%s", err.msg);
	}
	return OUT_PASS;
}

/* ---- boot: judged from the console ---- */

/* The console capture of host h in this job (caller frees). */
static char *console_log_path(const struct step_ctx *s,
			      const struct wjob_host *h)
{
	return xasprintf("%s/logs/%ld/%s/console-%s.log", s->r->conf->state,
			 s->r->job->flight, s->r->job->job, h->name);
}

/*
 * Reads host i's console as the job's capture writes it, line by line,
 * from an offset in the capture: the text of each line (its timestamp
 * cut off), without the capture's own "[hangar]" notes.
 */
struct console_follow {
	char *path;
	off_t offset;          /* read up to here */
	struct buf pending;    /* read, not yet a whole line */
	int lines;             /* lines seen */
	char last[512];        /* the last of them */
};

static void console_follow_init(struct console_follow *f,
				const struct step_ctx *s, int i, int from_end)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->path = console_log_path(s, &s->r->job->hosts[i]);
	buf_init(&f->pending, 0);
	if (from_end && stat(f->path, &st) == 0)
		f->offset = st.st_size;
	else if (!from_end)
		f->offset = s->js->console_at[i];
}

/* Where the lines handed out so far end. */
static off_t console_follow_at(const struct console_follow *f)
{
	return f->offset - (off_t)f->pending.len;
}

static void console_follow_release(struct console_follow *f)
{
	buf_release(&f->pending);
	free(f->path);
}

/* The next line (caller frees), or NULL when there is none yet. */
static char *console_follow_line(struct console_follow *f)
{
	for (;;) {
		char *nl = f->pending.len ? memchr(f->pending.buf, '\n',
						   f->pending.len) : NULL;
		char chunk[8192], *line;
		const char *text;
		size_t len;
		ssize_t got = 0;
		int fd;

		if (!nl) {
			fd = open(f->path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				got = pread(fd, chunk, sizeof(chunk), f->offset);
				close(fd);
			}
			if (got <= 0)
				return NULL;
			f->offset += got;
			buf_add(&f->pending, chunk, (size_t)got);
			continue;
		}
		len = (size_t)(nl - f->pending.buf);
		line = xstrndup(f->pending.buf, len);
		memmove(f->pending.buf, nl + 1, f->pending.len - len - 1);
		f->pending.len -= len + 1;
		text = strchr(line, ' ');
		text = text ? text + 1 : line;
		if (!strncmp(text, "[hangar]", 8)) {
			free(line);
			continue;   /* the capture's own notes */
		}
		memmove(line, text, strlen(text) + 1);
		f->lines++;
		snprintf(f->last, sizeof(f->last), "%s", line);
		return line;
	}
}

struct boot_watch {
	regex_t expect, started;
	regex_t *fail;
	size_t nfail;
	int has_started;
	const char *started_text;   /* the started= pattern, for details */
};

static int boot_watch_init(struct boot_watch *w, const struct lab_boot *b)
{
	memset(w, 0, sizeof(*w));
	if (regcomp(&w->expect, b->expect, REG_EXTENDED | REG_NOSUB))
		return -1;
	w->has_started = b->started &&
			 !regcomp(&w->started, b->started, REG_EXTENDED | REG_NOSUB);
	w->started_text = b->started;
	w->fail = xcalloc(b->fail.n + 1, sizeof(*w->fail));
	for (; w->nfail < b->fail.n; w->nfail++)
		if (regcomp(&w->fail[w->nfail], b->fail.v[w->nfail],
			    REG_EXTENDED | REG_NOSUB))
			break;
	return 0;
}

static void boot_watch_release(struct boot_watch *w)
{
	regfree(&w->expect);
	if (w->has_started)
		regfree(&w->started);
	for (size_t i = 0; i < w->nfail; i++)
		regfree(&w->fail[i]);
	free(w->fail);
}

/*
 * The artifact of the jobs this one needs whose path (or its last part)
 * matches glob, or glob itself when it is an absolute path on the
 * controller: a new string, or NULL with the reason in why.
 */
static char *boot_file_source(struct step_ctx *s, const char *glob,
			      char *why, size_t whylen)
{
	struct wjob *j = s->r->job;
	char *found = NULL;

	if (glob[0] == '/') {
		if (fs_exists(glob))
			return xstrdup(glob);
		textf(why, whylen, "boot file %s: %s", glob, strerror(errno));
		return NULL;
	}
	for (size_t d = 0; d < j->ndeps && !found; d++) {
		struct wartifact *a = NULL;
		struct err err = ERR_INIT;
		size_t n = 0;

		if (dep_artifacts(s, d, &a, &n, &err) < 0) {
			textf(why, whylen, "%s", err.msg);
			return NULL;
		}
		for (size_t k = 0; k < n && !found; k++) {
			const char *base = strrchr(a[k].path, '/');

			if (fnmatch(glob, a[k].path, 0) &&
			    (!base || fnmatch(glob, base + 1, 0)))
				continue;
			if (blob_fetch(s, &a[k], &err) < 0) {
				textf(why, whylen, "artifact %s: %s", a[k].path,
				      err.msg);
				db_worker_artifacts_free(a, n);
				return NULL;
			}
			found = artifact_path(s->r->conf->state, a[k].sha256);
		}
		db_worker_artifacts_free(a, n);
	}
	if (!found)
		textf(why, whylen, "no artifact of the jobs it needs matches %s",
		      glob);
	return found;
}

/*
 * The files a boot places for host i under [lab] tftp: the boot files
 * in its netboot-dir, then its netboot entry. Removed after the boot.
 */
struct boot_files {
	struct vec placed;     /* paths, to remove */
};

static void boot_files_remove(struct step_ctx *s, struct boot_files *bf)
{
	for (size_t k = 0; k < bf->placed.n; k++)
		if (unlink(bf->placed.v[k]) < 0 && errno != ENOENT)
			steplog_say(&s->log, "could not remove %s: %s",
				    bf->placed.v[k], strerror(errno));
	vec_clear(&bf->placed);
}

static enum outcome boot_files_place(struct step_ctx *s, int i,
				     const struct lab_boot *boot,
				     struct boot_files *bf)
{
	struct wjob_host *h = &s->r->job->hosts[i];
	const char *tftp = s->r->conf->tftp;
	const char *tmpl = host_setting(h, "netboot");
	const char *entry = host_setting(h, "netboot_file");
	const char *dirt = host_setting(h, "netboot_dir");
	/* kernel, initrd, dtb, then the file= ones */
	const char *globs[3 + LAB_BOOT_FILES_MAX] = { boot->kernel, boot->initrd,
						      boot->dtb };
	const char *names[3 + LAB_BOOT_FILES_MAX] = { NULL };
	size_t nglobs = 3 + boot->files.n;
	struct buf own = BUF_INIT;
	struct bootcfg_vars v = { .name = h->name, .arch = h->arch,
				  .address = h->address,
				  .flight = s->r->job->flight,
				  .job = s->r->job->job };
	enum outcome o = OUT_PASS;
	char *dir, *rel = NULL, *text = NULL, why[512];
	struct err err = ERR_INIT;
	struct vec expanded = VEC_INIT;   /* owns what names[] points into */

	vec_init(&bf->placed);
	for (size_t k = 0; k < boot->files.n; k++)
		globs[3 + k] = boot->files.v[k];
	if (!boot->kernel && !boot->initrd && !boot->dtb && !boot->files.n)
		return OUT_PASS;   /* it boots what the lab gives it */
	if (!tftp)
		return step_broken(s, -1, "boot files need [lab] tftp");
	if (boot->entry) {
		/* the step's own entry template, for what the host's cannot
		 * say (a Xen and its dom0, say) */
		buf_init(&own, 1 << 20);
		if (buf_read_file(&own, boot->entry) < 0) {
			buf_release(&own);
			return step_broken(s, -1, "boot entry template %s: %s",
					   boot->entry, own.overflowed
					   ? "over 1 MiB" : strerror(errno));
		}
		tmpl = own.buf;
	}
	if (!tmpl || !entry) {
		buf_release(&own);
		return step_broken(s, -1, "%s has no netboot template and "
				   "netboot-file to boot files by", h->name);
	}
	dir = bootcfg_expand(dirt ? dirt : "%name%", &v);
	v.dir = dir;
	for (size_t k = 0; k < nglobs && o == OUT_PASS; k++) {
		char *src, *dst, *dst_rel, *glob;

		if (!globs[k])
			continue;
		/* "boot-%arch%.img": one recipe for every arch */
		glob = bootcfg_expand(globs[k], &v);
		src = boot_file_source(s, glob, why, sizeof(why));
		if (!src) {
			o = step_broken(s, -1, "%s", why);
			free(glob);
			break;
		}
		vec_push_take(&expanded, glob);
		names[k] = strrchr(glob, '/') ? strrchr(glob, '/') + 1 : glob;
		/* a glob names the file by its role */
		if (strpbrk(names[k], "*?[")) {
			char *role = k < 3 ? xstrdup(k == 0 ? "kernel" : k == 1
						   ? "initrd" : "dtb")
					   : xasprintf("file%zu", k - 2);

			vec_push_take(&expanded, role);
			names[k] = role;
		}
		dst_rel = xasprintf("%s/%s", dir, names[k]);
		dst = xasprintf("%s/%s", tftp, dst_rel);
		/* bootcfg_write_data checks the path and makes its directory */
		if (bootcfg_write_data(tftp, dst_rel, "", 0, &err) < 0 ||
		    fs_copy_file(src, dst, 0644, &err) < 0) {
			o = step_broken(s, -1, "%s: boot file %s: %s", h->name,
					dst, err.msg);
		} else {
			vec_push(&bf->placed, dst);
			steplog_say(&s->log, "%s: %s placed as %s", h->name,
				    glob, dst);
		}
		free(dst);
		free(dst_rel);
		free(src);
	}
	v.kernel = names[0];
	v.initrd = names[1];
	v.dtb = names[2];
	v.files = names + 3;
	v.nfiles = boot->files.n;
	if (o == OUT_PASS) {
		int rc;

		rel = bootcfg_expand(entry, &v);
		text = bootcfg_expand(tmpl, &v);
		if (bootcfg_is_uboot_script(rel)) {
			size_t len;
			unsigned char *img = bootcfg_uboot_script(text, h->arch, &len);

			rc = bootcfg_write_data(tftp, rel, img, len, &err);
			free(img);
		} else {
			rc = bootcfg_write(tftp, rel, text, &err);
		}
		if (rc < 0) {
			o = step_broken(s, -1, "%s: boot entry %s: %s", h->name, rel,
					err.msg);
		} else {
			char *path = xasprintf("%s/%s", tftp, rel);

			vec_push_take(&bf->placed, path);
			steplog_say(&s->log, "%s: boot entry %s/%s:\n%s", h->name,
				    tftp, rel, text);
		}
	}
	free(rel);
	free(text);
	free(dir);
	buf_release(&own);
	vec_clear(&expanded);
	if (o != OUT_PASS)
		boot_files_remove(s, bf);
	return o;
}

/* Records the test cases a boot's console gave (cases=). */
static enum outcome boot_cases(struct step_ctx *s, enum outcome o)
{
	struct case_result *cases = NULL;
	size_t n = 0, counts[3] = { 0, 0, 0 };
	char why[256] = "";
	int complete;

	complete = case_reader_finish(s->cases, &cases, &n, why,
				      sizeof(why)) == 0;
	for (size_t k = 0; k < n; k++)
		counts[!strcmp(cases[k].status, "pass") ? 0
		       : !strcmp(cases[k].status, "fail") ? 1 : 2]++;
	steplog_say(&s->log, "%zu test case(s) (%s): %zu pass, %zu fail, %zu skip",
		    n, s->step->cases, counts[0], counts[1], counts[2]);
	jobrec_cases(s->js->rec, s->step->name, s->stepno, cases, n);
	if (o == OUT_PASS && !complete)
		o = step_fail(s, "test cases incomplete: %s", why);
	case_results_free(cases, n);
	return o;
}

/*
 * Follows host i's console until a line matches expect (pass), a fail
 * pattern, or the deadline. started says whether the thing under test
 * has started (it does at a line matching w->started, or at any line
 * without one); before, trouble is the lab's (broken), after, the code's
 * (fail). what names the wait in details.
 */
static enum outcome console_watch(struct step_ctx *s, int i,
				  struct console_follow *f,
				  const struct boot_watch *w, int *started,
				  const char *what)
{
	const char *name = s->r->job->hosts[i].name;

	for (;;) {
		char *line;

		if (cancelled(s))
			return OUT_CANCELLED;
		while ((line = console_follow_line(f))) {
			if (s->cases) {
				case_reader_feed(s->cases, line, strlen(line));
				case_reader_feed(s->cases, "\n", 1);
			}
			if (!w->has_started ||
			    !regexec(&w->started, line, 0, NULL, 0))
				*started = 1;
			if (!regexec(&w->expect, line, 0, NULL, 0)) {
				steplog_say(&s->log, "%s: expected: %s", name, line);
				free(line);
				return OUT_PASS;
			}
			for (size_t k = 0; k < w->nfail; k++) {
				enum outcome o;

				if (regexec(&w->fail[k], line, 0, NULL, 0))
					continue;
				o = *started ? step_fail(s, "%s: %s", name, line)
					     : step_broken(s, i, "%s: %s (before it "
							   "started)", name, line);
				free(line);
				return o;
			}
			free(line);
		}
		if (proc_now_ms() >= s->deadline_ms) {
			if (!f->lines)
				return step_broken(s, i, "%s: no byte from its console "
						   "%s", name, what);
			if (!*started)
				return step_broken(s, i, "%s: never started (no line "
						   "matched started=%s); last: %s",
						   name, w->started_text ? w->started_text
						   : "", f->last);
			return step_fail(s, "%s: timed out waiting for %s; last: %s",
					 name, what, f->last);
		}
		usleep(50 * 1000);
	}
}

/*
 * boot: place the boot files and the host's netboot entry in the TFTP
 * tree, power host i on (a power cycle) and follow its console, as the
 * job's capture writes it, from power-on until a line matches expect=
 * (pass), a fail= pattern (the line is the detail), or the time limit.
 * Whose fault: before the thing under test started (a line matching
 * started=; without it, any line from the console), a failure is the
 * lab's: no byte from the firmware, a boot that never got its files,
 * are broken, the host with them. After it started, a fail= match or
 * running out of time is fail. With cases=, the console's test cases
 * become steps of their own, as a run step's do.
 */
static enum outcome step_boot(struct step_ctx *s)
{
	struct wjob *j = s->r->job;
	struct lab_boot boot;
	struct boot_watch w;
	char why[256];
	enum case_format cf = CASES_HANGAR;
	enum outcome o = OUT_PASS;

	if (lab_boot_parse(s->step->command, &boot, why, sizeof(why)) < 0)
		return step_broken(s, -1, "%s", why);
	if (s->step->cases && case_format_parse(s->step->cases, &cf) < 0) {
		lab_boot_release(&boot);
		return step_broken(s, -1, "unknown cases format '%s'",
				   s->step->cases);
	}
	if (boot_watch_init(&w, &boot) < 0) {
		lab_boot_release(&boot);
		return step_broken(s, -1, "boot: bad expect= pattern");
	}
	if (s->step->cases)
		s->cases = case_reader_new(cf);
	for (size_t n = 0; n < j->nhosts && o == OUT_PASS; n++) {
		int i = (int)n, started = 0;
		struct wjob_host *h = &j->hosts[i];
		struct console_follow f;
		struct boot_files bf;
		char *what;

		if (!h->console || !strcmp(h->console, "none")) {
			o = step_broken(s, -1, "%s has no console to boot by "
					"(console = none)", h->name);
			break;
		}
		o = boot_files_place(s, i, &boot, &bf);
		if (o != OUT_PASS)
			break;
		/* what the console says from now on */
		console_follow_init(&f, s, i, 1);
		host_disconnect(s, i);
		o = host_power(s, i, POWER_CYCLE);
		if (o == OUT_PASS) {
			steplog_say(&s->log, "%s: following its console for %s",
				    h->name, boot.expect);
			what = xasprintf("%s after power-on", boot.expect);
			o = console_watch(s, i, &f, &w, &started, what);
			free(what);
			s->js->console_at[i] = console_follow_at(&f);
		}
		boot_files_remove(s, &bf);
		console_follow_release(&f);
	}
	if (s->cases) {
		if (o == OUT_PASS || o == OUT_FAIL)
			o = boot_cases(s, o);
		case_reader_free(s->cases);
		s->cases = NULL;
	}
	boot_watch_release(&w);
	lab_boot_release(&boot);
	return o;
}

/*
 * console-send TEXT: types TEXT and a carriage return on each host's
 * console (a bootloader's or a shell's prompt). "\n", "\r", "\t" and
 * "\\" in TEXT are those characters; a TEXT ending in "\c" gets no
 * carriage return. A console that takes no input is the lab's trouble.
 */
static enum outcome step_console_send(struct step_ctx *s)
{
	struct buf text = BUF_INIT;
	int eol = 1;
	enum outcome o = OUT_PASS;

	for (const char *p = s->step->command; *p; p++) {
		if (*p != '\\' || !p[1]) {
			buf_addch(&text, *p);
			continue;
		}
		switch (*++p) {
		case 'n': buf_addch(&text, '\n'); break;
		case 'r': buf_addch(&text, '\r'); break;
		case 't': buf_addch(&text, '\t'); break;
		case 'c': eol = !!p[1]; break;
		default: buf_addch(&text, *p); break;
		}
	}
	if (eol)
		buf_addch(&text, '\r');
	for (size_t n = 0; n < s->r->job->nhosts && o == OUT_PASS; n++) {
		struct err err = ERR_INIT;
		const char *name = s->r->job->hosts[n].name;

		if (!s->js->consoles[n] ||
		    console_capture_send(s->js->consoles[n], text.buf, text.len,
					 &err) < 0)
			o = step_broken(s, (int)n, "%s: console: %s", name,
					s->js->consoles[n] ? err.msg
					: "no console (console = none)");
		else
			steplog_say(&s->log, "%s: sent %zu byte(s): %s", name,
				    text.len, s->step->command);
	}
	buf_release(&text);
	return o;
}

/*
 * expect PATTERN: waits for a console line matching PATTERN, from where
 * the last boot or expect step of the job left each host's console. The
 * thing under test is running by then: running out of time is fail.
 */
static enum outcome step_expect(struct step_ctx *s)
{
	struct boot_watch w;
	enum outcome o = OUT_PASS;

	memset(&w, 0, sizeof(w));
	if (regcomp(&w.expect, s->step->command, REG_EXTENDED | REG_NOSUB))
		return step_broken(s, -1, "expect: bad pattern");
	for (size_t n = 0; n < s->r->job->nhosts && o == OUT_PASS; n++) {
		int i = (int)n, started = 1;
		struct console_follow f;

		console_follow_init(&f, s, i, 0);
		steplog_say(&s->log, "%s: following its console for %s",
			    s->r->job->hosts[i].name, s->step->command);
		o = console_watch(s, i, &f, &w, &started, s->step->command);
		s->js->console_at[i] = console_follow_at(&f);
		console_follow_release(&f);
	}
	regfree(&w.expect);
	return o;
}

/* ---- the job ---- */

static long step_default_timeout(const struct wjob *j,
				 const struct wjob_step *st)
{
	long boot = 0;

	for (size_t i = 0; i < j->nhosts; i++)
		boot += j->hosts[i].boot_timeout + 2L * j->hosts[i].cycle_time + 60;
	switch (st->kind) {
	case STEP_HOST_POWER_CYCLE:
	case STEP_REBOOT:
		return boot;
	case STEP_HOST_INSTALL:
		for (size_t i = 0; i < j->nhosts; i++)
			boot += host_install_timeout(&j->hosts[i]);
		return boot;
	case STEP_BUILD:
		return BUILD_TIMEOUT;
	case STEP_INSTALL_BUILD:
		return INSTALL_TIMEOUT;
	case STEP_RUN:
		return RUN_TIMEOUT;
	case STEP_LOGS_CAPTURE:
		return LOGS_TIMEOUT;
	case STEP_BOOT:
		return boot;
	case STEP_CONSOLE_SEND:
		return 60;
	case STEP_EXPECT:
		return RUN_TIMEOUT;
	}
	return RUN_TIMEOUT;
}

static enum outcome run_step(struct job_state *js, const struct wjob_step *st,
			     int *bad_host, char *detail, size_t detail_len)
{
	struct job_run *r = js->r;
	struct err err = ERR_INIT;
	struct step_ctx s;
	char *logfile = NULL;
	int stepno;
	enum outcome o;
	long timeout = st->timeout ? st->timeout : step_default_timeout(r->job, st);

	memset(&s, 0, sizeof(s));
	s.r = r;
	s.js = js;
	s.step = st;
	s.bad_host = -1;
	stepno = jobrec_next_stepno(js->rec);
	s.stepno = stepno;
	logfile = db_worker_step_logfile(r->job, stepno, st->name);
	jobrec_step_begin(js->rec, stepno, step_kind_str(st->kind), st->name);
	if (steplog_open(&s.log, r->conf->state, logfile, r->conf->max_log,
			 &err) < 0)
		log_warnx("flight=%ld job=%s: %s", r->job->flight, r->job->job,
			  err.msg);
	steplog_say(&s.log, "step %d %s (%s) of %ld.%s attempt %d, time limit %ld s",
		    stepno, st->name, step_kind_str(st->kind), r->job->flight,
		    r->job->job, r->job->attempt, timeout);
	s.deadline_ms = proc_now_ms() + timeout * 1000LL;
	switch (st->kind) {
	case STEP_HOST_POWER_CYCLE: o = step_power_cycle(&s); break;
	case STEP_HOST_INSTALL: o = step_host_install(&s); break;
	case STEP_REBOOT: o = step_reboot(&s); break;
	case STEP_BUILD: o = step_build(&s); break;
	case STEP_INSTALL_BUILD: o = step_install_build(&s); break;
	case STEP_RUN: o = step_run(&s); break;
	case STEP_LOGS_CAPTURE: o = step_logs_capture(&s); break;
	case STEP_BOOT: o = step_boot(&s); break;
	case STEP_CONSOLE_SEND: o = step_console_send(&s); break;
	case STEP_EXPECT: o = step_expect(&s); break;
	default: o = step_broken(&s, -1, "unknown step kind"); break;
	}
	if (o == OUT_CANCELLED && !s.detail[0])
		snprintf(s.detail, sizeof(s.detail), "%s",
			 *r->cancel == JOB_RUN_STOP ? "the worker stopped"
			 : *r->cancel == JOB_RUN_LOST ? "taken over by recovery"
			 : "cancelled");
	steplog_say(&s.log, "step %s: %s%s%s", st->name, outcome_words[o],
		    s.detail[0] ? ": " : "", s.detail);
	steplog_close(&s.log);
	jobrec_step_end(js->rec, stepno, outcome_words[o],
			s.detail[0] ? s.detail : NULL);
	free(logfile);
	*bad_host = s.bad_host;
	textf(detail, detail_len, "%s", s.detail);
	return o;
}

static void consoles_start(struct job_state *js)
{
	struct wjob *j = js->r->job;

	for (size_t i = 0; i < j->nhosts; i++) {
		struct err err = ERR_INIT;
		char *path;

		if (!j->hosts[i].console || !strcmp(j->hosts[i].console, "none"))
			continue;
		path = xasprintf("%s/logs/%ld/%s/console-%s.log", js->r->conf->state,
				 j->flight, j->job, j->hosts[i].name);
		{
			char *dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));

			fs_mkdir_p(dir, 0755, &err);
			free(dir);
		}
		if (console_capture_start(j->hosts[i].console, path,
					  &js->consoles[i], &err) < 0)
			log_warnx("flight=%ld job=%s: console of %s: %s", j->flight,
				  j->job, j->hosts[i].name, err.msg);
		free(path);
	}
}

/* The most of a console capture read for firmware banners: they come at
 * each boot's start, and a capture is bounded by max_log anyway. */
#define FIRMWARE_SCAN_MAX (8LL << 20)

/*
 * What each host said its firmware was during the job, for the evidence
 * records: the banners its console printed (hosts/firmware.h), else the
 * BIOS it reported by DMI; nothing when it said nothing.
 */
static void job_firmware(struct job_state *js)
{
	struct wjob *j = js->r->job;

	for (size_t i = 0; i < j->nhosts; i++) {
		struct firmware_scan fs;
		char *path, line[4096];
		long long read = 0;
		FILE *f;

		firmware_scan_init(&fs);
		path = xasprintf("%s/logs/%ld/%s/console-%s.log",
				 js->r->conf->state, j->flight, j->job,
				 j->hosts[i].name);
		if ((f = fopen(path, "r"))) {
			/* a longer line comes in pieces: a banner is short */
			while (read < FIRMWARE_SCAN_MAX &&
			       fgets(line, sizeof(line), f)) {
				read += (long long)strlen(line);
				firmware_scan_line(&fs, line);
			}
			fclose(f);
		}
		free(path);
		if (fs.n)
			jobrec_firmware(js->rec, j->hosts[i].name, fs.text);
		else if (js->dmi[i])
			jobrec_firmware(js->rec, j->hosts[i].name, js->dmi[i]);
	}
}

static int deps_passed(const struct wjob *j, char *why, size_t len)
{
	for (size_t i = 0; i < j->ndeps; i++)
		if (strcmp(j->deps[i].status, "pass")) {
			snprintf(why, len, "%ld.%s is %s", j->deps[i].flight,
				 j->deps[i].job, j->deps[i].status);
			return 0;
		}
	return 1;
}

int job_run(struct job_run *r, struct err *err)
{
	struct wjob *j = r->job;
	struct job_state js = { .r = r };
	enum outcome result = OUT_PASS;
	char detail[512] = "", first_detail[512] = "";
	int bad_host = -1, requeue = 0, lab_retry = 0, rc;
	const char *status;

	js.conns = xcalloc(j->nhosts + 1, sizeof(*js.conns));
	js.consoles = xcalloc(j->nhosts + 1, sizeof(*js.consoles));
	js.console_at = xcalloc(j->nhosts + 1, sizeof(*js.console_at));
	js.dmi = xcalloc(j->nhosts + 1, sizeof(*js.dmi));
	js.dmi_read = xcalloc(j->nhosts + 1, sizeof(*js.dmi_read));
	js.up_by = xcalloc(j->nhosts + 1, sizeof(*js.up_by));
	js.rec = jobrec_new(r->link, j, r->cancel);
	r->link->ops->job_begin(r->link, j);

	if (!deps_passed(j, detail, sizeof(detail))) {
		/* the scheduler normally ends these before they get hosts */
		rc = jobrec_finish(js.rec, "blocked", detail, 0, 0, err);
		goto out;
	}
	if (!j->nhosts) {
		rc = jobrec_finish(js.rec, "broken", "the job holds no hosts", 0,
				   0, err);
		goto out;
	}
	consoles_start(&js);
	for (size_t i = 0; i < j->nsteps; i++) {
		const struct wjob_step *st = &j->steps[i];
		enum outcome o;
		int bh = -1;

		if (result != OUT_PASS &&
		    (st->kind != STEP_LOGS_CAPTURE || result == OUT_CANCELLED))
			continue;
		if (*r->cancel != JOB_RUN_GO || jobrec_lost(js.rec)) {
			result = OUT_CANCELLED;
			continue;
		}
		o = run_step(&js, st, &bh, detail, sizeof(detail));
		if (o == OUT_PASS || result != OUT_PASS)
			continue;   /* a late logs-capture does not change it */
		result = o;
		bad_host = bh;
		textf(first_detail, sizeof(first_detail), "%s: %s", st->name,
		      detail);
	}
	if (jobrec_lost(js.rec) || *r->cancel == JOB_RUN_LOST) {
		rc = err_set(err, ERR_EXISTS, "job %ld.%s: stopped: this worker "
			     "no longer holds it (recovery took it over)",
			     j->flight, j->job);
		goto out;
	}
	/* the console logs are whole before the job ends: an evidence
	 * record built once the flight ends hashes what will stay */
	for (size_t i = 0; i < j->nhosts; i++) {
		console_capture_stop(js.consoles[i]);
		js.consoles[i] = NULL;
	}
	job_firmware(&js);
	if (result == OUT_BROKEN && bad_host >= 0)
		jobrec_host_broken(js.rec, j->hosts[bad_host].name, first_detail);
	status = outcome_words[result];
	if (result == OUT_CANCELLED && *r->cancel == JOB_RUN_STOP &&
	    !j->health_check) {
		requeue = 1;       /* interrupted, not its fault nor the lab's */
	} else if (result == OUT_BROKEN && !j->health_check &&
		   j->lab_retries < 1) {
		requeue = 1;       /* once more, on other hosts */
		lab_retry = 1;
	}
	if (j->health_check && result == OUT_PASS)
		jobrec_host_healthy(js.rec, j->hosts[0].name);
	rc = jobrec_finish(js.rec, status, first_detail[0] ? first_detail : NULL,
			   requeue, lab_retry, err);
out:
	for (size_t i = 0; i < j->nhosts; i++) {
		console_capture_stop(js.consoles[i]);
		ssh_close(js.conns[i]);
		free(js.dmi[i]);
	}
	free(js.dmi);
	free(js.dmi_read);
	free(js.up_by);
	free(js.consoles);
	free(js.console_at);
	free(js.conns);
	jobrec_free(js.rec);
	r->link->ops->job_end(r->link, j);
	return rc;
}
