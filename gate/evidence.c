/*
 * evidence.c: the evidence record of a flight (evidence.h). Everything in
 * a record comes from the database, from files that never change once the
 * flight ended (its logs, its artifacts) or from the requirements file at
 * a commit, and nothing from the clock: a rebuild gives the same bytes,
 * which is how `hangar evidence rebuild` shows the stored one is true.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "db-evidence.h"
#include "db-gate.h"
#include "evidence.h"
#include "fsutil.h"
#include "gitx.h"
#include "proc.h"
#include "requirements.h"
#include "secret.h"
#include "xalloc.h"
#include "banned.h"

/* A string for the record; bytes that are not UTF-8 (a file name written
 * by a host) become '?', so that the record can still be made. */
static json_t *ev_str(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = xstrdup(s);
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* The regular files under root/rel (recursively), as paths relative to
 * root, appended to out. Symbolic links are not followed. At the top (a
 * job's directory), late-A/ is left out: a remote worker that lost the
 * job may still write there after the flight ended (web-worker.c), so
 * its bytes would make a record that no rebuild or verify gives again. */
static void ev_walk(const char *root, const char *rel, int top,
		    struct vec *out)
{
	char *dir = xasprintf("%s/%s", root, rel);
	DIR *d = opendir(dir);
	struct dirent *e;

	free(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *path, *full;
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		path = xasprintf("%s/%s", rel, e->d_name);
		full = xasprintf("%s/%s", root, path);
		if (lstat(full, &st) == 0) {
			if (S_ISDIR(st.st_mode) &&
			    !(top && !strncmp(e->d_name, "late-", 5)))
				ev_walk(root, path, 0, out);
			else if (S_ISREG(st.st_mode))
				vec_push(out, path);
		}
		free(full);
		free(path);
	}
	closedir(d);
}

/* {"path", "sha256", "size"} of logs/path, or NULL when it cannot be read. */
static json_t *ev_file(const char *logs, const char *path)
{
	char *full = xasprintf("%s/%s", logs, path);
	char sha[65];
	long long size;
	json_t *j = NULL;

	if (secret_sha256_file(full, sha, &size) == 0)
		j = json_pack("{s:o, s:s, s:I}", "path", ev_str(path), "sha256",
			      sha, "size", (json_int_t)size);
	free(full);
	return j;
}

/* A job's "logs" (every file of its directory) and each step's "log". */
static void ev_job_logs(json_t *job, long flight, const char *logs)
{
	const char *name = json_string_value(json_object_get(job, "job"));
	json_t *list = json_array(), *steps = json_object_get(job, "steps");
	char *rel = xasprintf("%ld/%s", flight, name ? name : "");
	struct vec files = VEC_INIT;
	size_t i;
	json_t *s;

	ev_walk(logs, rel, 1, &files);
	vec_sort(&files);
	for (i = 0; i < files.n; i++) {
		json_t *f = ev_file(logs, files.v[i]);

		if (f)
			json_array_append_new(list, f);
	}
	json_array_foreach(steps, i, s) {
		const char *logfile = json_string_value(json_object_get(s, "logfile"));
		json_t *log = NULL, *f;
		size_t k;

		/* the same file as in "logs", hashed once */
		json_array_foreach(list, k, f)
			if (logfile && !strcmp(json_string_value(
					json_object_get(f, "path")), logfile))
				log = json_deep_copy(f);
		if (logfile && !log)
			log = ev_file(logs, logfile);
		json_object_set_new(s, "log", log ? log : json_null());
		json_object_del(s, "logfile");
	}
	json_object_set_new(job, "logs", list);
	vec_clear(&files);
	free(rel);
}

/*
 * The requirements file's bytes into text; *why set (and 0 returned) when
 * it is not there to read, which the record says; an error when it could
 * not be read now (a tree that cannot be fetched): tried again later.
 */
static int ev_req_text(struct db *db, const struct evidence_conf *c,
		       const json_t *rec, json_t *source, struct buf *text,
		       char **why, struct err *err)
{
	const struct lab_requirements *r = c->requirements;
	const char *rev;
	char *cache, *url = NULL;
	int rc;

	if (!r->tree) {
		if (buf_read_file(text, r->file) < 0)
			*why = xasprintf("%s: %s", r->file, text->overflowed
					 ? "over 1048576 bytes" : strerror(errno));
		return 0;
	}
	rev = json_string_value(json_object_get(json_object_get(rec, "revisions"),
						r->tree));
	json_object_set_new(source, "revision", rev ? json_string(rev) : json_null());
	if (!rev) {
		*why = xasprintf("%s: the flight tested no revision of tree '%s'",
				 r->file, r->tree);
		return 0;
	}
	if ((rc = db_gate_tree_url(db, r->tree, 1, &url, err)) < 0) {
		if (rc != ERR_NOTFOUND)
			return rc;
		err_clear(err);
	}
	cache = xasprintf("%s/git/%s.git", c->state, r->tree);
	rc = gitx_read_file(cache, url, rev, r->file, text, err);
	free(cache);
	free(url);
	if (rc == ERR_NOTFOUND || rc == ERR_USAGE) {
		*why = xasprintf("%s", err->msg);
		err_clear(err);
		rc = 0;
	}
	return rc;
}

/* The steps of the record's jobs, for the statuses: job order, then stepno. */
static struct req_step *ev_steps(const json_t *jobs, size_t *n)
{
	struct req_step *steps = NULL;
	size_t i, k;
	json_t *j, *s;

	*n = 0;
	json_array_foreach(jobs, i, j) {
		json_array_foreach(json_object_get(j, "steps"), k, s) {
			steps = xrealloc(steps, (*n + 1) * sizeof(*steps));
			steps[*n].job = json_string_value(json_object_get(j, "job"));
			steps[*n].step = json_string_value(json_object_get(s, "step"));
			steps[*n].status = json_string_value(json_object_get(s, "status"));
			(*n)++;
		}
	}
	return steps;
}

static json_t *ev_requirement(const struct requirements *r, size_t i,
			      const struct req_step *steps, size_t n)
{
	unsigned char *match = xcalloc(n + 1, 1);
	const char *status = requirements_status(r, i, steps, n, match);
	json_t *tests = json_array(), *ev = json_array();

	for (size_t t = 0; t < r->ntests; t++)
		if (vec_find(&r->tests[t].ids, r->reqs[i].id) >= 0)
			json_array_append_new(tests, json_pack(
				"{s:o, s:o}", "job", ev_str(r->tests[t].jobpat),
				"step", ev_str(r->tests[t].steppat)));
	for (size_t k = 0; k < n; k++)
		if (match[k])
			json_array_append_new(ev, json_pack(
				"{s:s, s:s, s:s}", "job", steps[k].job, "step",
				steps[k].step, "status", steps[k].status));
	free(match);
	return json_pack("{s:o, s:o, s:s, s:o, s:o}", "id", ev_str(r->reqs[i].id),
			 "title", ev_str(r->reqs[i].title), "status", status,
			 "tests", tests, "evidence", ev);
}

/* "requirements_source", "requirements_error" and "requirements". */
static int ev_requirements(struct db *db, const struct evidence_conf *c,
			   json_t *rec, struct err *err)
{
	const struct lab_requirements *r = c->requirements;
	json_t *source, *list = json_array();
	struct buf text = BUF_INIT;
	struct requirements reqs;
	char *why = NULL, msg[512], sha[65];
	int rc;

	json_object_set_new(rec, "requirements_error", json_null());
	json_object_set_new(rec, "requirements", list);
	if (!r || !r->set) {
		json_object_set_new(rec, "requirements_source", json_null());
		return 0;
	}
	source = json_pack("{s:s, s:o}", "source", r->tree ? "tree" : "file",
			   "file", ev_str(r->file));
	if (r->tree)
		json_object_set_new(source, "tree", json_string(r->tree));
	json_object_set_new(rec, "requirements_source", source);
	/* one byte over the bound, for the parser to say so */
	buf_init(&text, REQ_FILE_MAX + 1);
	if ((rc = ev_req_text(db, c, rec, source, &text, &why, err)) < 0)
		goto out;
	if (why) {
		json_object_set_new(source, "sha256", json_null());
		json_object_set_new(rec, "requirements_error", ev_str(why));
		goto out;
	}
	secret_sha256_hex(text.buf, text.len, sha);
	json_object_set_new(source, "sha256", json_string(sha));
	if (requirements_parse(r->file, text.buf, text.len, &reqs, msg,
			       sizeof(msg)) < 0) {
		json_object_set_new(rec, "requirements_error", ev_str(msg));
	} else {
		size_t n;
		struct req_step *steps = ev_steps(json_object_get(rec, "jobs"), &n);

		for (size_t i = 0; i < reqs.nreqs; i++)
			json_array_append_new(list, ev_requirement(&reqs, i, steps, n));
		free(steps);
		requirements_release(&reqs);
	}
out:
	free(why);
	buf_release(&text);
	return rc;
}

int evidence_build(struct db *db, const struct evidence_conf *c, long flight,
		   json_t **record, struct err *err)
{
	char *logs = xasprintf("%s/logs", c->state);
	json_t *rec, *job;
	size_t i;
	int rc;

	*record = NULL;
	if ((rc = db_evidence_flight(db, flight, &rec, err)) < 0)
		goto out;
	json_object_set_new(rec, "schema", json_string(EVIDENCE_SCHEMA));
	json_array_foreach(json_object_get(rec, "jobs"), i, job)
		if (!c->statuses_only)
			ev_job_logs(job, flight, logs);
	if ((rc = ev_requirements(db, c, rec, err)) < 0) {
		json_decref(rec);
		goto out;
	}
	*record = rec;
out:
	free(logs);
	return rc;
}

int evidence_rebuild(struct db *db, const char *state, long flight,
		     const char *stored, json_t **record, struct err *err)
{
	json_t *old = json_loads(stored, 0, NULL), *src;
	struct lab_requirements req;
	struct evidence_conf c;
	int rc;

	*record = NULL;
	if (!old)
		return err_set(err, ERR_FAIL, "flight %ld: the stored record is "
			       "not JSON", flight);
	memset(&req, 0, sizeof(req));
	memset(&c, 0, sizeof(c));
	src = json_object_get(old, "requirements_source");
	if (json_is_object(src)) {
		req.set = 1;
		req.tree = (char *)json_string_value(json_object_get(src, "tree"));
		req.file = (char *)json_string_value(json_object_get(src, "file"));
		req.format = (char *)"hangar";
		if (!req.file) {
			json_decref(old);
			return err_set(err, ERR_FAIL, "flight %ld: the stored "
				       "record names no requirements file",
				       flight);
		}
	}
	c.state = state;
	c.requirements = &req;
	rc = evidence_build(db, &c, flight, record, err);
	json_decref(old);
	return rc;
}

char *evidence_dump(const json_t *record)
{
	char *s = json_dumps(record, JSON_INDENT(1) | JSON_SORT_KEYS);
	char *out = xasprintf("%s\n", s ? s : "null");

	free(s);
	return out;
}

/* A private directory for ssh-keygen's files (caller removes). */
static char *ev_tmpdir(struct err *err)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/hangar-evidence.XXXXXX",
			      tmp && *tmp ? tmp : "/tmp");

	if (!mkdtemp(dir)) {
		err_errno(err, ERR_FAIL, "mkdtemp %s", dir);
		free(dir);
		return NULL;
	}
	return dir;
}

static void ev_rmdir(char *dir)
{
	static const char *const names[] = { "record.json", "record.json.sig",
					     "allowed_signers" };

	if (!dir)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *p = xasprintf("%s/%s", dir, names[i]);

		unlink(p);
		free(p);
	}
	rmdir(dir);
	free(dir);
}

/* Runs ssh-keygen with the arguments (NULL-terminated), its standard
 * input from in; its exit status (or a negative error). */
static int ev_keygen(const char *in, struct buf *out, struct err *err, ...)
{
	struct proc_opts opts = { .stdin_path = in };
	struct vec argv = VEC_INIT;
	const char *a;
	va_list ap;
	int rc;

	vec_push(&argv, "ssh-keygen");
	va_start(ap, err);
	while ((a = va_arg(ap, const char *)))
		vec_push(&argv, a);
	va_end(ap);
	rc = proc_run(vec_argv(&argv), &opts, out, err);
	vec_clear(&argv);
	return rc;
}

/* "TYPE BASE64" of a public key line (its comment dropped), or NULL. */
static char *ev_pubkey_line(const char *text)
{
	struct vec w = VEC_INIT;
	char *line = NULL;

	vec_split(&w, text);
	if (w.n >= 2 && !strncmp(w.v[0], "ssh-", 4))
		line = xasprintf("%s %s", w.v[0], w.v[1]);
	else if (w.n >= 2 && !strncmp(w.v[0], "ecdsa-", 6))
		line = xasprintf("%s %s", w.v[0], w.v[1]);
	vec_clear(&w);
	return line;
}

int evidence_public_key(const char *key, char **pubkey, struct err *err)
{
	char *pub = xasprintf("%s.pub", key);
	struct buf text = BUF_INIT;
	int rc = 0;

	buf_init(&text, 64 << 10);
	if (buf_read_file(&text, pub) < 0) {
		buf_reset(&text);
		if (ev_keygen("/dev/null", &text, err, "-y", "-f", key,
			      (char *)NULL) != 0) {
			rc = err_set(err, ERR_FAIL, "ssh-keygen -y -f %s: %s", key,
				     text.buf);
			goto out;
		}
	}
	if (!(*pubkey = ev_pubkey_line(text.buf)))
		rc = err_set(err, ERR_FAIL, "%s: not an SSH public key", pub);
out:
	buf_release(&text);
	free(pub);
	return rc;
}

int evidence_sign(const char *key, const char *bytes, size_t len,
		  char **signature, char **pubkey, struct err *err)
{
	char *dir = ev_tmpdir(err), *file = NULL, *sig = NULL;
	struct buf out = BUF_INIT, text = BUF_INIT;
	int rc;

	*signature = *pubkey = NULL;
	if (!dir)
		return err->code;
	file = xasprintf("%s/record.json", dir);
	sig = xasprintf("%s.sig", file);
	buf_init(&out, 64 << 10);
	if ((rc = fs_write_file(file, bytes, len, 0600, err)) < 0)
		goto out;
	rc = ev_keygen("/dev/null", &out, err, "-Y", "sign", "-f", key, "-n",
		       EVIDENCE_NAMESPACE, file, (char *)NULL);
	if (rc != 0) {
		buf_rtrim(&out);
		rc = rc < 0 ? rc : err_set(err, ERR_FAIL, "ssh-keygen -Y sign -f %s: %s",
					   key, out.buf);
		goto out;
	}
	buf_init(&text, 64 << 10);
	if (buf_read_file(&text, sig) < 0) {
		rc = err_errno(err, ERR_FAIL, "%s", sig);
		goto out;
	}
	if ((rc = evidence_public_key(key, pubkey, err)) < 0)
		goto out;
	*signature = buf_detach(&text);
out:
	buf_release(&out);
	buf_release(&text);
	free(file);
	free(sig);
	ev_rmdir(dir);
	return rc;
}

char *evidence_allowed_signers(const char *signer, const char *pubkey)
{
	return xasprintf("%s namespaces=\"%s\" %s\n", signer, EVIDENCE_NAMESPACE,
			 pubkey);
}

int evidence_record(struct db *db, const struct evidence_conf *c, long flight,
		    int *inserted, struct err *err)
{
	struct evidence e, old;
	json_t *rec = NULL;
	const char *status;
	char sha[65];
	int rc;

	*inserted = 0;
	memset(&e, 0, sizeof(e));
	rc = db_evidence_by_flight(db, flight, &old, err);
	db_evidence_release(&old);
	if (rc == 0)
		return 0;
	if (rc != ERR_NOTFOUND)
		return rc;
	err_clear(err);
	if ((rc = evidence_build(db, c, flight, &rec, err)) < 0)
		return rc;
	status = json_string_value(json_object_get(rec, "status"));
	if (!status || (strcmp(status, "finished") && strcmp(status, "cancelled"))) {
		rc = err_set(err, ERR_USAGE, "flight %ld is %s: a record is of a "
			     "flight that ended", flight, status ? status : "?");
		goto out;
	}
	e.flight = flight;
	e.branch = xstrdup_or_null(json_string_value(json_object_get(rec, "branch")));
	e.tree = xstrdup_or_null(json_string_value(json_object_get(rec, "tree")));
	e.revision = xstrdup_or_null(json_string_value(json_object_get(rec, "revision")));
	e.pushed = json_is_true(json_object_get(rec, "pushed"));
	e.record = evidence_dump(rec);
	secret_sha256_hex(e.record, strlen(e.record), sha);
	e.sha256 = xstrdup(sha);
	if (c->key) {
		if ((rc = evidence_sign(c->key, e.record, strlen(e.record),
					&e.signature, &e.signer_key, err)) < 0) {
			err_prefix(err, "flight %ld: evidence", flight);
			goto out;
		}
		e.signer = xstrdup(c->signer ? c->signer : "hangar");
	}
	rc = db_evidence_insert(db, &e, inserted, err);
out:
	json_decref(rec);
	db_evidence_release(&e);
	return rc;
}

int evidence_verify_signature(const char *data, size_t len,
			      const char *signature, const char *allowed,
			      struct err *err)
{
	char *dir = ev_tmpdir(err), *file = NULL, *sig = NULL, *as = NULL;
	struct buf out = BUF_INIT;
	char *principal = NULL;
	int rc;

	if (!dir)
		return err->code;
	file = xasprintf("%s/record.json", dir);
	sig = xasprintf("%s/record.json.sig", dir);
	as = xasprintf("%s/allowed_signers", dir);
	buf_init(&out, 64 << 10);
	if ((rc = fs_write_file(file, data, len, 0600, err)) < 0 ||
	    (rc = fs_write_file(sig, signature, strlen(signature), 0600, err)) < 0 ||
	    (rc = fs_write_file(as, allowed, strlen(allowed), 0600, err)) < 0)
		goto out;
	rc = ev_keygen("/dev/null", &out, err, "-Y", "find-principals", "-s", sig,
		       "-f", as, (char *)NULL);
	buf_rtrim(&out);
	if (rc != 0) {
		rc = rc < 0 ? rc : err_set(err, ERR_FAIL, "no allowed signer made "
					   "this signature: %s", out.buf);
		goto out;
	}
	principal = xstrndup(out.buf, strcspn(out.buf, "\n"));
	buf_reset(&out);
	rc = ev_keygen(file, &out, err, "-Y", "verify", "-f", as, "-I", principal,
		       "-n", EVIDENCE_NAMESPACE, "-s", sig, (char *)NULL);
	buf_rtrim(&out);
	if (rc != 0)
		rc = rc < 0 ? rc : err_set(err, ERR_FAIL, "bad signature: %s",
					   out.buf);
out:
	free(principal);
	buf_release(&out);
	free(file);
	free(sig);
	free(as);
	ev_rmdir(dir);
	return rc;
}

/* A path a record may name: relative, without "..". */
static int ev_path_ok(const char *p)
{
	return p && *p && p[0] != '/' && strcmp(p, "..") && strncmp(p, "../", 3) &&
	       !strstr(p, "/../") &&
	       !(strlen(p) >= 3 && !strcmp(p + strlen(p) - 3, "/.."));
}

/* Hashes root/path against f's sha256 and size; a difference into bad. */
static void ev_check(const char *what, const char *root, const char *path,
		     const json_t *f, struct vec *bad)
{
	const char *want = json_string_value(json_object_get(f, "sha256"));
	json_int_t size = json_integer_value(json_object_get(f, "size"));
	char sha[65], *full;
	long long got;

	if (!ev_path_ok(path) || !want) {
		vec_pushf(bad, "%s %s: not a path and hash a record may name",
			  what, path ? path : "(none)");
		return;
	}
	full = xasprintf("%s/%s", root, path);
	if (secret_sha256_file(full, sha, &got) < 0)
		vec_pushf(bad, "%s %s: %s", what, path,
			  errno == ELOOP || errno == EINVAL
			  ? "not a regular file" : strerror(errno));
	else if (strcmp(sha, want))
		vec_pushf(bad, "%s %s: sha256 %s, the record says %s", what, path,
			  sha, want);
	else if (got != size)
		vec_pushf(bad, "%s %s: %lld bytes, the record says %lld", what,
			  path, got, (long long)size);
	free(full);
}

long evidence_verify_files(const json_t *record, const char *logs_dir,
			   const char *state, struct vec *bad)
{
	long checked = 0;
	size_t i, k, m;
	json_t *job, *f, *s;

	json_array_foreach(json_object_get(record, "jobs"), i, job) {
		const json_t *logs = json_object_get(job, "logs");

		json_array_foreach(logs, k, f) {
			ev_check("log", logs_dir,
				 json_string_value(json_object_get(f, "path")), f,
				 bad);
			checked++;
		}
		/* a step log is in "logs" too, unless the record says otherwise */
		json_array_foreach(json_object_get(job, "steps"), k, s) {
			const json_t *log = json_object_get(s, "log");
			const char *path = json_string_value(json_object_get(log, "path"));
			int listed = 0;

			if (!json_is_object(log))
				continue;
			json_array_foreach(logs, m, f)
				if (path && json_equal(f, (json_t *)log))
					listed = 1;
			if (!listed) {
				ev_check("log", logs_dir, path, log, bad);
				checked++;
			}
		}
		if (!state)
			continue;
		json_array_foreach(json_object_get(job, "artifacts"), k, f) {
			const char *sha = json_string_value(json_object_get(f, "sha256"));
			const char *path = json_string_value(json_object_get(f, "path"));
			char *rel, *what;

			if (!sha || strlen(sha) != 64 ||
			    strspn(sha, "0123456789abcdef") != 64) {
				vec_pushf(bad, "artifact %s: a bad sha256",
					  path ? path : "(none)");
				continue;
			}
			rel = xasprintf("artifacts/sha256/%.2s/%s", sha, sha);
			what = xasprintf("artifact %s of %s as",
					 path ? path : "(none)",
					 json_string_value(json_object_get(job, "job")));
			ev_check(what, state, rel, f, bad);
			checked++;
			free(rel);
			free(what);
		}
	}
	return checked;
}
