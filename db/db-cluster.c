/*
 * db-cluster.c: initdb, pg_ctl start and stop of the private cluster. A
 * lock file (STATE/pg.lock) serialises processes that would create or
 * start it at the same time.
 */
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "db.h"
#include "db-cluster.h"
#include "fsutil.h"
#include "proc.h"
#include "strnum.h"
#include "vec.h"
#include "xalloc.h"
#include "banned.h"

#ifndef HANGAR_PG_BINDIR
#define HANGAR_PG_BINDIR "/usr/lib/postgresql/15/bin"
#endif

struct cluster {
	const char *state;
	char *datadir;
	char *bindir;
	const char *listen;   /* listen_addresses ([lab] db-listen); "": none */
	const char *sync;     /* synchronous_standby_names; "": none */
	const char *user;     /* run as this user (we are root), or NULL */
	struct passwd pw;
	char pwbuf[1024];
	int fast;             /* HANGAR_PG_FAST: no fsync, for tests */
};

static int cluster_init(struct cluster *c, const char *state,
			const struct db_cluster_conf *conf, struct err *err)
{
	const char *bindir = getenv("HANGAR_PG_BINDIR");
	struct passwd *res = NULL;

	memset(c, 0, sizeof(*c));
	c->state = state;
	c->datadir = xasprintf("%s/pg", state);
	c->bindir = xstrdup(bindir ? bindir : HANGAR_PG_BINDIR);
	c->fast = getenv("HANGAR_PG_FAST") != NULL;
	c->listen = conf && conf->listen ? conf->listen : "";
	c->sync = conf && conf->sync_standby ? conf->sync_standby : "";
	/* they go inside pg_ctl's -o, single-quoted: names, numbers, commas,
	 * brackets, no quotes */
	if (strspn(c->listen, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:,*-") !=
	    strlen(c->listen))
		return err_set(err, ERR_USAGE,
			       "[lab] db-listen '%s': addresses separated by commas, as PostgreSQL's listen_addresses",
			       c->listen);
	if (strspn(c->sync, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-,() *") !=
	    strlen(c->sync))
		return err_set(err, ERR_USAGE,
			       "[lab] db-synchronous-standby '%s': names of standbys (their application_name), as PostgreSQL's synchronous_standby_names",
			       c->sync);
	if (strpbrk(state, " \t\n'\"\\$`")) {
		return err_set(err, ERR_USAGE,
			       "state directory '%s': the private database needs a path without spaces or quotes",
			       state);
	}
	if (geteuid() == 0) {
		c->user = getenv("HANGAR_PG_USER");
		if (!c->user)
			c->user = "hangar";
		getpwnam_r(c->user, &c->pw, c->pwbuf, sizeof(c->pwbuf), &res);
		if (!res)
			return err_set(err, ERR_FAIL,
				       "PostgreSQL refuses to run as root and the user '%s' does not exist: run 'make deps' (it creates it)",
				       c->user);
	}
	return 0;
}

static void cluster_release(struct cluster *c)
{
	free(c->datadir);
	free(c->bindir);
}

/* Runs a PostgreSQL program as the cluster user; output into out. */
static int cluster_run(struct cluster *c, struct vec *args, struct buf *out,
		       int new_session, struct err *err)
{
	struct vec argv = VEC_INIT;
	struct proc_opts opts = { 0 };
	int rc;

	if (c->user) {
		vec_push(&argv, "runuser");
		vec_push(&argv, "-u");
		vec_push(&argv, c->user);
		vec_push(&argv, "--");
	}
	for (size_t i = 0; i < args->n; i++)
		vec_push(&argv, args->v[i]);
	opts.cwd = "/";
	opts.new_session = new_session;
	rc = proc_run(vec_argv(&argv), &opts, out, err);
	vec_clear(&argv);
	return rc;
}

/* The cluster user must reach STATE/pg through every parent directory. */
static int cluster_check_path(struct cluster *c, struct err *err)
{
	char *p = xstrdup(c->state);
	int rc = 0;

	if (!c->user)
		goto out;
	for (;;) {
		struct stat st;
		char *slash;

		if (stat(p, &st) == 0 && st.st_uid != c->pw.pw_uid &&
		    !(st.st_mode & S_IXOTH) &&
		    !(st.st_gid == c->pw.pw_gid && (st.st_mode & S_IXGRP))) {
			rc = err_set(err, ERR_FAIL,
				     "the private database runs as user '%s', who cannot reach %s (mode %03o): choose a state directory under /var/lib or /tmp, or chmod o+x %s",
				     c->user, p, st.st_mode & 0777, p);
			break;
		}
		slash = strrchr(p, '/');
		if (!slash || slash == p)
			break;
		*slash = '\0';
	}
out:
	free(p);
	return rc;
}

static int cluster_initdb(struct cluster *c, struct err *err)
{
	struct vec args = VEC_INIT;
	struct buf out;
	int rc;

	buf_init(&out, 64 << 10);
	rc = fs_mkdir_p(c->state, 0755, err);
	if (rc < 0)
		goto out;
	rc = cluster_check_path(c, err);
	if (rc < 0)
		goto out;
	if (mkdir(c->datadir, 0700) < 0 && errno != EEXIST) {
		rc = err_errno(err, ERR_FAIL, "mkdir %s", c->datadir);
		goto out;
	}
	if (c->user && chown(c->datadir, c->pw.pw_uid, c->pw.pw_gid) < 0) {
		rc = err_errno(err, ERR_FAIL, "chown %s", c->datadir);
		goto out;
	}
	vec_pushf(&args, "%s/initdb", c->bindir);
	vec_push(&args, "-D");
	vec_push(&args, c->datadir);
	vec_push(&args, "-U");
	vec_push(&args, "hangar");
	vec_push(&args, "--auth=trust");
	vec_push(&args, "--encoding=UTF8");
	vec_push(&args, "--locale=C");
	vec_push(&args, "--no-instructions");
	if (c->fast)
		vec_push(&args, "--no-sync");
	rc = cluster_run(c, &args, &out, 0, err);
	if (rc > 0) {
		buf_rtrim(&out);
		rc = err_set(err, ERR_FAIL, "initdb %s failed (exit %d): %s",
			     c->datadir, rc, out.buf);
	}
out:
	vec_clear(&args);
	buf_release(&out);
	return rc < 0 ? rc : 0;
}

enum db_cluster_state db_cluster_state(const char *state, pid_t *pid)
{
	char *path = xasprintf("%s/pg/postmaster.pid", state);
	char *version = xasprintf("%s/pg/PG_VERSION", state);
	enum db_cluster_state st;
	struct buf b;
	long v;

	buf_init(&b, 4096);
	*pid = 0;
	if (!fs_exists(version)) {
		st = DB_CLUSTER_NONE;
	} else if (buf_read_file(&b, path) < 0) {
		st = errno == ENOENT ? DB_CLUSTER_STOPPED : DB_CLUSTER_RUNNING;
	} else {
		b.buf[strcspn(b.buf, "\n")] = '\0';
		if (strnum_long(b.buf, 1, 1 << 30, &v) < 0) {
			st = DB_CLUSTER_RUNNING;   /* postgres is writing it */
		} else if (!proc_alive((pid_t)v)) {
			st = DB_CLUSTER_DEAD;
		} else {
			st = DB_CLUSTER_RUNNING;
			*pid = (pid_t)v;
		}
	}
	buf_release(&b);
	free(path);
	free(version);
	return st;
}

int db_cluster_pid(const char *state, pid_t *pid)
{
	return db_cluster_state(state, pid) == DB_CLUSTER_NONE ? ERR_NOTFOUND : 0;
}

static int cluster_start(struct cluster *c, struct err *err)
{
	struct vec args = VEC_INIT;
	struct buf out;
	int rc;

	buf_init(&out, 64 << 10);
	vec_pushf(&args, "%s/pg_ctl", c->bindir);
	vec_push(&args, "-D");
	vec_push(&args, c->datadir);
	vec_push(&args, "-l");
	vec_pushf(&args, "%s/server.log", c->datadir);
	vec_push(&args, "-w");
	vec_push(&args, "-t");
	vec_push(&args, "120");
	vec_push(&args, "-o");
	/* a synchronous standby is there for commits to wait for: the
	 * tests' speed-up (asynchronous commits) gives way to it */
	vec_pushf(&args,
		  "-k '%s' -c listen_addresses='%s' -c unix_socket_permissions=0700%s%s%s%s",
		  c->datadir, c->listen,
		  c->fast ? " -c fsync=off -c full_page_writes=off" : "",
		  *c->sync ? " -c synchronous_commit=remote_apply -c synchronous_standby_names='" : "",
		  c->sync,
		  *c->sync ? "'" : c->fast ? " -c synchronous_commit=off" : "");
	vec_push(&args, "start");
	/* its own session: a Ctrl-C meant for us must not reach postgres */
	rc = cluster_run(c, &args, &out, 1, err);
	if (rc > 0) {
		buf_rtrim(&out);
		rc = err_set(err, ERR_FAIL,
			     "starting the private database (%s) failed: %s; see %s/server.log",
			     c->datadir, out.buf, c->datadir);
	}
	vec_clear(&args);
	buf_release(&out);
	return rc < 0 ? rc : 0;
}

static int cluster_createdb(struct cluster *c, struct err *err)
{
	char *conninfo = xasprintf("host=%s dbname=postgres user=hangar",
				   c->datadir);
	PGconn *conn = PQconnectdb(conninfo);
	PGresult *res = NULL;
	int rc = 0;

	if (PQstatus(conn) != CONNECTION_OK) {
		rc = err_set(err, ERR_DB, "private database %s: %.*s",
			     c->datadir,
			     (int)strcspn(PQerrorMessage(conn), "\n"),
			     PQerrorMessage(conn));
		goto out;
	}
	res = PQexec(conn, "SELECT 1 FROM pg_database WHERE datname = 'hangar'");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		goto out;
	PQclear(res);
	res = PQexec(conn, "CREATE DATABASE hangar");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = err_set(err, ERR_DB, "create database hangar: %.*s",
			     (int)strcspn(PQresultErrorMessage(res), "\n"),
			     PQresultErrorMessage(res));
out:
	PQclear(res);
	PQfinish(conn);
	free(conninfo);
	return rc;
}

/* Takes STATE/pg.lock (made if needed); returns its descriptor. */
static int cluster_lock(struct cluster *c, struct err *err)
{
	char *lockpath;
	int rc, lockfd;

	rc = fs_mkdir_p(c->state, 0755, err);
	if (rc < 0)
		return rc;
	lockpath = xasprintf("%s/pg.lock", c->state);
	lockfd = fs_lock(lockpath, 0, err);
	/* root made it: the daemons, running as the cluster user (the
	 * systemd units), must still be able to take it */
	if (lockfd >= 0 && c->user &&
	    fchown(lockfd, c->pw.pw_uid, c->pw.pw_gid) < 0) {
		rc = err_errno(err, ERR_FAIL, "chown %s", lockpath);
		close(lockfd);
		lockfd = rc;
	}
	free(lockpath);
	return lockfd;
}

int db_cluster_ensure(const char *state, const struct db_cluster_conf *conf,
		      struct err *err)
{
	struct cluster c;
	int lockfd = -1, rc;
	pid_t pid;

	rc = cluster_init(&c, state, conf, err);
	if (rc < 0)
		goto out;
	lockfd = cluster_lock(&c, err);
	if (lockfd < 0) {
		rc = lockfd;
		goto out;
	}
	rc = db_cluster_pid(state, &pid);
	if (rc == ERR_NOTFOUND) {
		rc = cluster_initdb(&c, err);
		if (rc < 0)
			goto out;
	}
	if (pid)
		goto out;   /* running: whoever started it made the database */
	rc = cluster_check_path(&c, err);
	if (rc == 0)
		rc = cluster_start(&c, err);
	if (rc == 0)
		rc = cluster_createdb(&c, err);
out:
	if (lockfd >= 0)
		close(lockfd);
	cluster_release(&c);
	return rc;
}

/* Runs pg_basebackup from conninfo into dir, as whoever runs c's
 * programs (c NULL: as we are). */
static int cluster_basebackup(struct cluster *c, const char *bindir,
			      const char *from, const char *dir, int fast,
			      struct err *err)
{
	struct vec args = VEC_INIT;
	struct proc_opts opts = { .cwd = "/" };
	struct buf out;
	int rc;

	buf_init(&out, 64 << 10);
	vec_pushf(&args, "%s/pg_basebackup", bindir);
	vec_push(&args, "-D");
	vec_push(&args, dir);
	vec_push(&args, "-d");
	vec_push(&args, from);
	/* the WAL of the copy streamed beside it: it starts on its own;
	 * -R: standby.signal and primary_conninfo, a streaming replica */
	vec_push(&args, "-X");
	vec_push(&args, "stream");
	vec_push(&args, "-R");
	vec_push(&args, "-c");
	vec_push(&args, "fast");
	if (fast)
		vec_push(&args, "--no-sync");
	if (c)
		rc = cluster_run(c, &args, &out, 0, err);
	else
		rc = proc_run(vec_argv(&args), &opts, &out, err);
	if (rc > 0) {
		buf_rtrim(&out);
		rc = err_set(err, ERR_FAIL, "pg_basebackup into %s failed (exit %d): %s",
			     dir, rc, out.buf);
	}
	vec_clear(&args);
	buf_release(&out);
	return rc < 0 ? rc : 0;
}

/*
 * What pg_basebackup copied from a private cluster's directory that is
 * the primary's own, not data: the lock files of its socket (which is in
 * that directory, and would stop this copy starting: "lock file already
 * exists") and, for ours, its server log.
 */
static void cluster_drop_primary_files(const char *dir, int log)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		if (!strncmp(e->d_name, ".s.PGSQL.", 9) ||
		    (log && !strcmp(e->d_name, "server.log"))) {
			char *path = xasprintf("%s/%s", dir, e->d_name);

			unlink(path);
			free(path);
		}
	}
	if (d)
		closedir(d);
}

int db_cluster_standby(const char *state, const struct db_cluster_conf *conf,
		       const char *from, struct err *err)
{
	struct cluster c;
	int lockfd = -1, rc;
	pid_t pid;

	rc = cluster_init(&c, state, conf, err);
	if (rc < 0)
		goto out;
	lockfd = cluster_lock(&c, err);
	if (lockfd < 0) {
		rc = lockfd;
		goto out;
	}
	if (db_cluster_pid(state, &pid) == 0) {
		rc = err_set(err, ERR_EXISTS,
			     "%s already holds a cluster: a standby is made in a state directory without one",
			     c.datadir);
		goto out;
	}
	rc = cluster_check_path(&c, err);
	if (rc < 0)
		goto out;
	if (mkdir(c.datadir, 0700) < 0 && errno != EEXIST) {
		rc = err_errno(err, ERR_FAIL, "mkdir %s", c.datadir);
		goto out;
	}
	if (c.user && chown(c.datadir, c.pw.pw_uid, c.pw.pw_gid) < 0) {
		rc = err_errno(err, ERR_FAIL, "chown %s", c.datadir);
		goto out;
	}
	rc = cluster_basebackup(&c, c.bindir, from, c.datadir, c.fast, err);
	if (rc < 0)
		goto out;
	cluster_drop_primary_files(c.datadir, 1);
	rc = cluster_start(&c, err);
out:
	if (lockfd >= 0)
		close(lockfd);
	cluster_release(&c);
	return rc;
}

int db_basebackup_standby(const char *from, const char *dir, struct err *err)
{
	const char *bindir = getenv("HANGAR_PG_BINDIR");

	if (fs_exists(dir)) {
		DIR *d = opendir(dir);
		struct dirent *e;
		int empty = 1;

		while (d && (e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				empty = 0;
		if (d)
			closedir(d);
		if (!empty)
			return err_set(err, ERR_EXISTS,
				       "%s is not empty: pg_basebackup fills an empty directory",
				       dir);
	}
	if (cluster_basebackup(NULL, bindir ? bindir : HANGAR_PG_BINDIR, from,
			       dir, 0, err) < 0)
		return ERR_FAIL;
	cluster_drop_primary_files(dir, 0);
	return 0;
}

int db_cluster_stop(const char *state, struct err *err)
{
	struct vec args = VEC_INIT;
	struct cluster c;
	struct buf out;
	pid_t pid;
	int rc;

	buf_init(&out, 64 << 10);
	rc = cluster_init(&c, state, NULL, err);
	if (rc < 0 || db_cluster_pid(state, &pid) < 0 || !pid)
		goto out;
	vec_pushf(&args, "%s/pg_ctl", c.bindir);
	vec_push(&args, "-D");
	vec_push(&args, c.datadir);
	vec_push(&args, "-m");
	vec_push(&args, "fast");
	vec_push(&args, "-w");
	vec_push(&args, "-t");
	vec_push(&args, "60");
	vec_push(&args, "stop");
	rc = cluster_run(&c, &args, &out, 0, err);
	if (rc > 0) {
		buf_rtrim(&out);
		rc = err_set(err, ERR_FAIL, "stopping the private database: %s",
			     out.buf);
	}
out:
	vec_clear(&args);
	buf_release(&out);
	cluster_release(&c);
	return rc < 0 ? rc : 0;
}
