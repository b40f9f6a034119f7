/*
 * gate.c: one gate cycle of a branch (see gate.h). The decision follows
 * OSSTest's cr-daily-branch: push when the report is tolerable (or the
 * revision is forced) unless the branch is blocked; a baseline test never
 * pushes; regressed test jobs get one immediate retest first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "db-bisect.h"
#include "db-evidence.h"
#include "db-flight.h"
#include "db-gate.h"
#include "report-load.h"
#include "fsutil.h"
#include "evidence.h"
#include "evidence-diff.h"
#include "gate.h"
#include "gitx.h"
#include "log.h"
#include "mail.h"
#include "report.h"
#include "strnum.h"
#include "xalloc.h"
#include "banned.h"

#define REVLOG_MAX_LINES 300   /* OSSTest drops longer revision logs */

struct cycle {
	struct db *db;
	const struct gate_conf *c;
	struct gate_branch b;
	char *cache;
	struct gate_result *res;
	struct err *err;
};

static char *gate_cache(const struct gate_conf *c, const char *tree)
{
	return xasprintf("%s/git/%s.git", c->state, tree);
}

static const char *gate_tested_rev(const struct report *r)
{
	for (size_t i = 0; r->tree && i < r->trees.n; i++)
		if (!strcmp(r->trees.v[i], r->tree))
			return r->revs.v[i];
	return NULL;
}

/*
 * The revision log of the mail; NULL when it cannot be had. url NULL:
 * from the tree's cache alone (it has both commits once they were tested).
 */
static char *gate_revlog(const struct gate_conf *c, const struct report *r,
			 const char *url)
{
	const char *new_rev = gate_tested_rev(r);
	struct err err = ERR_INIT;
	struct buf log = BUF_INIT;
	char *cache;
	int truncated = 0;

	if (!r->tree || !r->that || !new_rev || !strcmp(r->that, new_rev))
		return NULL;
	cache = gate_cache(c, r->tree);
	if (gitx_log(cache, url, r->that, new_rev,
		     REVLOG_MAX_LINES, &log, &truncated, &err) < 0) {
		log_debug("revision log of %s: %s", r->tree, err.msg);
		buf_release(&log);
	} else if (truncated) {
		buf_reset(&log);
		buf_addf(&log, "(the revision log is longer than %d lines: "
			       "not shown)\n", REVLOG_MAX_LINES);
	}
	free(cache);
	return log.len ? buf_detach(&log) : (buf_release(&log), NULL);
}

static void gate_mail_of(const struct gate_conf *c, struct report_mail *m)
{
	memset(m, 0, sizeof(*m));
	m->from = c->mail_from;
	m->to = c->mail_to;
	m->url = c->url;
	m->hostname = mail_hostname();
}

int gate_report(struct db *db, const struct gate_conf *c, long flight,
		json_t **json, struct buf *text, struct err *err)
{
	struct report r;
	int rc;

	report_init(&r);
	rc = report_load(db, flight, &r, err);
	if (rc == 0) {
		report_classify(&r);
		if (json)
			*json = report_json(&r);
		if (text) {
			struct report_mail m;
			char *revlog = gate_revlog(c, &r, NULL);

			gate_mail_of(c, &m);
			m.revlog = revlog;
			report_text(&r, &m, text);
			free(revlog);
		}
	}
	report_release(&r);
	return rc;
}

int gate_report_view(struct db *db, const struct gate_conf *c, long flight,
		     int now, json_t **json, struct buf *text, struct vec *diff,
		     int *stored_out, struct err *err)
{
	char *stored = NULL, *stored_text = NULL;
	json_t *decided = NULL, *today = NULL;
	struct vec lines = VEC_INIT;
	int rc;

	*json = NULL;
	if ((rc = db_gate_stored_report(db, flight, &stored, &stored_text, err)) < 0)
		return rc;
	/* both are stored together; without the mail, judge it now */
	if (stored && (stored_text || !text))
		decided = json_loads(stored, 0, NULL);
	if ((!decided || now || diff) &&
	    (rc = gate_report(db, c, flight, &today,
			      !decided || now ? text : NULL, err)) < 0)
		goto out;
	if (decided && today)
		report_json_differences(decided, today, &lines);
	if (stored_out)
		*stored_out = decided && !now;
	if (decided && !now) {
		if (text)
			buf_addstr(text, stored_text ? stored_text : "");
		*json = decided;
		decided = NULL;
	} else {
		if (decided) {
			json_t *d = json_array();

			for (size_t i = 0; i < lines.n; i++)
				json_array_append_new(d, json_string(lines.v[i]));
			json_object_set_new(today, "differences", d);
			json_object_set_new(
				today, "decided",
				json_pack("{s:O?, s:O?, s:s}", "verdict",
					  json_object_get(decided, "verdict"), "pushed",
					  json_object_get(decided, "pushed"), "judgement",
					  report_json_judgement(decided)));
		}
		*json = today;
		today = NULL;
	}
	for (size_t i = 0; diff && i < lines.n; i++)
		vec_push(diff, lines.v[i]);
out:
	vec_clear(&lines);
	json_decref(decided);
	json_decref(today);
	free(stored);
	free(stored_text);
	return rc;
}

static void gate_evidence_conf(const struct gate_conf *c,
			       struct evidence_conf *ec)
{
	memset(ec, 0, sizeof(*ec));
	ec->state = c->state;
	ec->requirements = c->requirements;
	ec->key = c->evidence_key;
	ec->signer = c->evidence_signer;
}

/*
 * The evidence record of a pushed flight. A failure is logged and the
 * next cycle tries again (gate_evidence_missing): the verdict is recorded
 * already and never depends on it.
 */
static void gate_evidence(const struct cycle *y, long flight)
{
	struct evidence_conf ec;
	struct err err = ERR_INIT;
	int inserted = 0;

	gate_evidence_conf(y->c, &ec);
	if (evidence_record(y->db, &ec, flight, &inserted, &err) < 0)
		log_warnx("branch=%s flight=%ld: no evidence record yet (the "
			  "next cycle tries again): %s", y->b.name, flight,
			  err.msg);
	else if (inserted)
		log_info("branch=%s flight=%ld: evidence record stored%s",
			 y->b.name, flight, ec.key ? " and signed" : " (unsigned)");
}

/*
 * The mail's "Requirements" section: what this flight verifies against
 * the branch's last pushed record (docs/evidence.md, change tracking).
 * Nothing when the lab has no requirements; a record that cannot be
 * built is said in one line, the decision never waits on it.
 */
static void gate_evidence_changes(const struct cycle *y, long flight,
				  struct buf *text)
{
	struct evidence_conf ec;
	struct evidence last;
	struct err err = ERR_INIT;
	json_t *now = NULL, *before = NULL, *diff;
	int rc;

	memset(&last, 0, sizeof(last));
	gate_evidence_conf(y->c, &ec);
	if (!ec.requirements || !ec.requirements->set)
		return;
	/* this runs between the push and its record: no log hashed */
	ec.statuses_only = 1;
	if (evidence_build(y->db, &ec, flight, &now, &err) < 0) {
		buf_addf(text, "\nRequirements:\n not read: %s\n", err.msg);
		return;
	}
	rc = db_evidence_pushed_before(y->db, y->b.name, flight, &last, &err);
	if (rc == 0)
		before = json_loads(last.record, 0, NULL);
	else if (rc != ERR_NOTFOUND)
		log_warnx("branch=%s flight=%ld: the last pushed record: %s",
			  y->b.name, flight, err.msg);
	diff = evidence_diff(before, now);
	buf_addch(text, '\n');
	evidence_diff_text(text, diff, before, now);
	json_decref(diff);
	json_decref(before);
	json_decref(now);
	db_evidence_release(&last);
}

/*
 * A pushed flight of the branch without a record: a gate stopped between
 * a push and its record, or a record that failed. One a cycle, taking
 * turns, so that a lasting failure (a key gone) costs one build a cycle
 * and does not keep the others waiting behind the first.
 */
static void gate_evidence_missing(const struct cycle *y)
{
	struct err err = ERR_INIT;
	long *ids = NULL;
	size_t n = 0;

	if (db_evidence_missing(y->db, y->b.name, &ids, &n, &err) < 0)
		log_warnx("branch=%s: pushes without evidence: %s", y->b.name,
			  err.msg);
	if (n)
		gate_evidence(y, ids[(size_t)time(NULL) % n]);
	free(ids);
}

/* Writes the mail next to the flight's logs and hands it to sendmail. */
static void gate_send_mail(const struct cycle *y, long flight,
			   const struct buf *text)
{
	struct err err = ERR_INIT;
	char *dir = xasprintf("%s/logs/%ld", y->c->state, flight);
	char *path = xasprintf("%s/report.txt", dir);

	if (fs_mkdir_p(dir, 0755, &err) < 0 ||
	    fs_write_file(path, text->buf, text->len, 0644, &err) < 0) {
		log_warnx("flight %ld: report: %s", flight, err.msg);
	} else if (y->c->sendmail && mail_send(y->c->sendmail, path, &err) < 0) {
		log_warnx("flight %ld: %s", flight, err.msg);
	}
	free(dir);
	free(path);
}

/* The push of a decided flight; *pushed, and what happened in log. */
static int gate_push(struct cycle *y, const struct report *r, int forced,
		     int *pushed, struct buf *log)
{
	const char *rev = gate_tested_rev(r);
	struct buf out = BUF_INIT;
	int rc;

	*pushed = 0;
	if (y->b.blocked) {
		buf_addf(log, "Not pushing: the branch is blocked%s%s.\n",
			 y->b.block_reason ? ": " : "",
			 y->b.block_reason ? y->b.block_reason : "");
		return 0;
	}
	/* a forced revision goes onto whatever the target is now */
	rc = gitx_push_ff(y->cache, y->b.url, y->b.target, forced ? NULL : r->that,
			  rev, y->c->identity, &out, y->err);
	if (rc == 0) {
		*pushed = 1;
		buf_addf(log, "Pushing revision %s:\n\n%s", rev, out.buf ? out.buf : "");
	} else if (rc == ERR_EXISTS) {
		buf_addf(log, "Not pushing: %s moved meanwhile (%s); the next "
			      "cycle tests staging against it.\n",
			 y->b.target, y->err->msg);
		err_clear(y->err);
		rc = 0;
	} else if (rc == ERR_RETRY) {
		/* unreachable: the flight stays undecided, the next cycle retries */
		err_prefix(y->err, "push of %.12s to %s", rev, y->b.target);
	} else if (rc == ERR_FAIL || rc == ERR_NOTFOUND || rc == ERR_USAGE) {
		buf_addf(log, "Not pushing: %s\n", y->err->msg);
		err_clear(y->err);
		rc = 0;
	}
	buf_release(&out);
	return rc;
}

static int gate_start_retest(struct cycle *y, const struct report *r,
			     const struct vec *jobs, long *retest)
{
	struct flight_spec s;
	int rc;

	flight_spec_init(&s);
	s.branch = r->branch;
	s.intent = "retest";
	s.requested_by = y->c->actor;
	for (size_t i = 0; i < r->trees.n; i++) {
		vec_push(&s.trees, r->trees.v[i]);
		vec_push(&s.revs, r->revs.v[i]);
	}
	for (size_t i = 0; i < jobs->n; i++)
		vec_push(&s.jobs, jobs->v[i]);
	s.reuse_builds = 1;
	s.reuse_from = r->flight;
	s.target_revision = r->that;
	s.retest_of = r->flight;
	rc = db_flight_create(y->db, &s, retest, y->err);
	flight_spec_release(&s);
	return rc;
}

/*
 * Whether the target has the flight's revision already: pushed by a gate
 * that died before recording it. 1 (log says so), 0, or an error.
 */
static int gate_pushed_already(struct cycle *y, const struct report *r,
			       struct buf *log)
{
	const char *rev = gate_tested_rev(r);
	char target[41];

	if (r->baseline_test || !rev || strcmp(r->status, "finished") ||
	    strcmp(r->intent, "gate"))
		return 0;
	if (gitx_ref(y->cache, y->b.url, y->b.target, target, y->err) < 0)
		return err_prefix(y->err, "branch %s", y->b.name);
	if (strcmp(target, rev))
		return 0;
	buf_addf(log, "Pushing revision %s:\n\n%s is there already (pushed by "
		      "an earlier cycle that did not record it).\n",
		 rev, y->b.target);
	return 1;
}

/*
 * Decides one ended flight: a retest flight is only recorded (its
 * original is decided with it); a gate flight may first get a retest.
 */
/* A bisection of each regression of a decided flight (reference §4.5),
 * unless one runs for it already. */
/* A bisection of each regression of flight r (of top or one of the heisen
 * flights that blocked it: the failure is in that flight). */
static void gate_bisect_flight(struct cycle *y, const struct report *top,
			       const struct report *r)
{
	for (size_t i = 0; i < r->nfails; i++) {
		const struct cl_failure *f = &r->fails[i];
		struct err err = ERR_INIT;
		long id;

		if (f->cls != FC_REGRESSION || f->job_level || !f->vs)
			continue;
		if (db_bisect_start(y->db, top->branch, f->job, f->step, f->vs,
				    r->flight, y->c->actor, &id, &err) == 0)
			log_info("flight %ld: bisection %ld of %s %s in %ld (vs. %ld)",
				 top->flight, id, f->job, f->step, r->flight, f->vs);
		else if (err.code != ERR_EXISTS)
			log_warnx("flight %ld: no bisection of %s %s: %s", top->flight,
				  f->job, f->step, err.msg);
	}
}

static void gate_start_bisections(struct cycle *y, const struct report *r)
{
	gate_bisect_flight(y, r, r);
	for (size_t i = 0; i < r->nsubs; i++)
		if (r->subs[i].heisen_flight)
			gate_bisect_flight(y, r, &r->subs[i]);
}

static int gate_decide(struct cycle *y, long flight)
{
	struct report r;
	struct buf log = BUF_INIT, text = BUF_INIT;
	struct gate_decision d;
	int rc, pushed = 0, forced = 0;
	char *json = NULL, *retest_status = NULL;
	const char *verdict;

	report_init(&r);
	if ((rc = report_load(y->db, flight, &r, y->err)) < 0)
		goto out;
	report_classify(&r);
	memset(&d, 0, sizeof(d));
	if (!strcmp(r.intent, "retest")) {
		verdict = "none";
		buf_addf(&log, "A retest of flight %ld: decided with it.\n", r.retest_of);
		goto record;
	}
	if ((rc = gate_pushed_already(y, &r, &log)) != 0) {
		if (rc < 0)
			goto out;
		verdict = "push";
		pushed = 1;
		goto record;
	}
	if (r.retest_flight) {
		if ((rc = db_gate_flight_state(y->db, r.retest_flight, &retest_status,
					       NULL, NULL, y->err)) < 0)
			goto out;
		if (strcmp(retest_status, "finished") && strcmp(retest_status, "cancelled"))
			goto out;    /* decided when its retest ends */
	} else if (!verdict_pushable(r.vk) && !r.baseline_test && y->c->retest &&
		   !strcmp(r.status, "finished")) {
		struct vec jobs = VEC_INIT;
		const char *why;
		long retest = 0;

		if (report_retest_jobs(&r, &jobs, &why)) {
			rc = gate_start_retest(y, &r, &jobs, &retest);
			if (rc == 0)
				snprintf(y->res->what, sizeof(y->res->what),
					 "flight %ld: regressions in %zu test job%s: "
					 "retest flight %ld", flight, jobs.n,
					 jobs.n == 1 ? "" : "s", retest);
			vec_clear(&jobs);
			goto out;
		}
		log_info("flight %ld: no retest (%s)", flight, why);
	}
	forced = y->b.force_rev && gate_tested_rev(&r) &&
		 !strcmp(y->b.force_rev, gate_tested_rev(&r)) && !r.baseline_test;
	if (!strcmp(r.status, "cancelled")) {
		verdict = "no-push";
		buf_addstr(&log, "The flight was cancelled: not pushing.\n");
	} else if (r.baseline_test) {
		verdict = "no-push";
		buf_addstr(&log, "Push not applicable.\n");
	} else if (verdict_pushable(r.vk) || forced) {
		verdict = "push";
		if (forced && !verdict_pushable(r.vk))
			buf_addf(&log, "Pushing although it is not tolerable: "
				       "%s was forced.\n", y->b.force_rev);
		if ((rc = gate_push(y, &r, forced, &pushed, &log)) < 0)
			goto out;    /* lab trouble (network): decided next cycle */
		if (!pushed)
			verdict = "no-push";
	} else {
		verdict = "no-push";
		buf_addstr(&log, "Not pushing.\n");
	}
record:
	free(r.verdict);
	r.verdict = xstrdup(verdict);
	r.pushed = pushed;
	free(r.push_log);
	r.push_log = buf_detach(&log);
	{
		json_t *j = report_json(&r);
		struct report_mail m;
		char *revlog = gate_revlog(y->c, &r, y->b.url);

		json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(j);
		gate_mail_of(y->c, &m);
		m.revlog = revlog;
		report_text(&r, &m, &text);
		if (!strcmp(r.intent, "gate"))
			gate_evidence_changes(y, flight, &text);
		free(revlog);
	}
	d.flight = flight;
	d.branch = r.branch;
	d.verdict = verdict;
	d.pushed = pushed;
	d.baseline_flight = r.baseline_flight;
	d.report_json = json;
	d.report_text = text.buf ? text.buf : "";
	d.push_log = r.push_log;
	d.pushed_rev = pushed ? gate_tested_rev(&r) : NULL;
	/* a force is used once (a blocked branch keeps it for later) */
	d.clear_force = forced && !y->b.blocked;
	if ((rc = db_gate_record(y->db, &d, y->err)) < 0)
		goto out;
	y->res->decided++;
	if (pushed)
		gate_evidence(y, flight);
	if (strcmp(r.intent, "retest")) {
		struct buf subject = BUF_INIT;

		report_subject(&r, &subject);
		snprintf(y->res->what, sizeof(y->res->what), "%s", subject.buf);
		log_info("%s", subject.buf);
		buf_release(&subject);
		gate_send_mail(y, flight, &text);
		if (y->c->bisect && !pushed && !r.baseline_test &&
		    !strcmp(r.intent, "gate"))
			gate_start_bisections(y, &r);
	}
out:
	free(retest_status);
	free(json);
	buf_release(&log);
	buf_release(&text);
	report_release(&r);
	return rc;
}

/*
 * The revision a pinned tree is tested at, what it last passed with: the
 * target of a branch gating that tree (its tested output, as OSSTest's
 * ap-fetch-version-baseline), else its revision in this branch's last
 * pushed flight, else its HEAD.
 */
static int gate_pin_rev(struct cycle *y, const char *tree, char sha[41])
{
	struct err *err = y->err;
	char *rev = NULL, *url = NULL, *target = NULL, *cache;
	int rc;

	if ((rc = db_gate_tree_url(y->db, tree, 1, &url, err)) < 0 ||
	    (rc = db_gate_tree_target(y->db, tree, &target, err)) < 0 ||
	    (!target &&
	     (rc = db_gate_last_rev(y->db, y->b.name, tree, 1, &rev, err)) < 0))
		goto out;
	if (rev) {
		snprintf(sha, 41, "%s", rev);
		goto out;
	}
	cache = gate_cache(y->c, tree);
	rc = target ? gitx_ref(cache, url, target, sha, err)
		    : gitx_resolve(cache, url, "HEAD", sha, err);
	free(cache);
	if (rc < 0)
		err_prefix(err, "pinned tree %s", tree);
out:
	free(rev);
	free(url);
	free(target);
	return rc;
}

static int gate_new_flight(struct cycle *y, const char *rev, const char *that,
			   int baseline_test)
{
	struct flight_spec s;
	char pin[41];
	int rc = 0;

	flight_spec_init(&s);
	s.branch = y->b.name;
	s.intent = "gate";
	s.requested_by = y->c->actor;
	vec_push(&s.trees, y->b.tree);
	vec_push(&s.revs, rev);
	for (size_t i = 0; rc == 0 && i < y->b.pins.n; i++) {
		if (!strcmp(y->b.pins.v[i], y->b.tree))
			continue;
		if ((rc = gate_pin_rev(y, y->b.pins.v[i], pin)) == 0) {
			vec_push(&s.trees, y->b.pins.v[i]);
			vec_push(&s.revs, pin);
		}
	}
	for (size_t i = 0; i < y->b.jobs.n; i++)
		vec_push(&s.jobs, y->b.jobs.v[i]);
	s.target_revision = that;
	s.baseline_test = baseline_test;
	if (rc == 0)
		rc = db_flight_create(y->db, &s, &y->res->flight, y->err);
	flight_spec_release(&s);
	if (rc == 0) {
		y->res->created = 1;
		snprintf(y->res->what, sizeof(y->res->what), "flight %ld: %s %.12s%s",
			 y->res->flight, baseline_test ? "baseline test of" : "testing",
			 rev, baseline_test ? " (the target, never tested here)" : "");
		log_info("%s %s", y->b.name, y->res->what);
	}
	return rc;
}

/* After the decisions: start the branch's next flight, if any is due. */
static int gate_next(struct cycle *y)
{
	char target[41], staging[41];
	char *verdict = NULL, *prev = NULL;
	long open = 0, tested = 0, age = 0;
	int rc;

	if ((rc = db_gate_open_flight(y->db, y->b.name, &open, y->err)) < 0)
		return rc;
	if (open) {
		y->res->flight = open;
		if (!y->res->what[0])
			snprintf(y->res->what, sizeof(y->res->what),
				 "flight %ld still running", open);
		return 0;
	}
	if ((rc = gitx_ref(y->cache, y->b.url, y->b.target, target, y->err)) < 0 ||
	    (rc = gitx_ref(y->cache, y->b.url, y->b.staging, staging, y->err)) < 0)
		return err_prefix(y->err, "branch %s", y->b.name);
	/* for the dashboard: staging against the target, as last seen */
	if ((rc = db_gate_seen(y->db, y->b.name, staging, target, y->err)) < 0)
		return rc;
	if ((rc = db_gate_tested(y->db, y->b.name, y->b.tree, target, NULL,
				 &tested, NULL, NULL, y->err)) < 0)
		return rc;
	if (!tested) {
		/* compared with the newest revision tested here, if any */
		if ((rc = db_gate_last_rev(y->db, y->b.name, y->b.tree, 0, &prev,
					   y->err)) < 0)
			return rc;
		rc = gate_new_flight(y, target, prev, 1);
		free(prev);
		return rc;
	}
	if (!strcmp(target, staging)) {
		snprintf(y->res->what, sizeof(y->res->what),
			 "up to date (%s and %s at %.12s)", y->b.staging, y->b.target,
			 target);
		return 0;
	}
	if ((rc = db_gate_tested(y->db, y->b.name, y->b.tree, staging, target,
				 &tested, &verdict, &age, y->err)) < 0)
		return rc;
	/*
	 * OSSTest tests the tip again on every run; the daemon does after a
	 * while (a heisenbug or lab trouble may not come back), `gate run`
	 * whenever it is asked (unless it just decided that tip).
	 */
	if (tested && ((y->c->always && !y->res->decided) ||
		       (y->c->again && age >= y->c->again))) {
		free(verdict);
		return gate_new_flight(y, staging, target, 0);
	}
	if (tested) {
		y->res->flight = tested;
		if (!y->res->what[0])
			snprintf(y->res->what, sizeof(y->res->what),
				 "staging %.12s was tested in flight %ld (%s): "
				 "waiting for a new staging tip",
				 staging, tested, verdict ? verdict : "?");
		free(verdict);
		return 0;
	}
	return gate_new_flight(y, staging, target, 0);
}

int gate_cycle(struct db *db, const struct gate_conf *c, const char *branch,
	       struct gate_result *res, struct err *err)
{
	struct cycle y = { db, c, { 0 }, NULL, res, err };
	struct vec ids = VEC_INIT;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = db_gate_lock(db, branch, err)) < 0)
		return rc;
	if ((rc = db_gate_branch(db, branch, &y.b, err)) < 0)
		goto out;
	y.cache = gate_cache(c, y.b.tree);
	/* a forced revision that was tested already is decided again */
	if (y.b.force_rev && !y.b.blocked) {
		long reopened = 0;

		if ((rc = db_gate_reopen(db, branch, y.b.tree, y.b.force_rev,
					 &reopened, err)) < 0)
			goto out;
		if (reopened)
			log_info("%s: flight %ld decided again: %.12s is forced",
				 branch, reopened, y.b.force_rev);
	}
	gate_evidence_missing(&y);
	rc = db_gate_to_decide(db, branch, &ids, err);
	for (size_t i = 0; rc == 0 && i < ids.n; i++) {
		long id = 0;

		if (strnum_long(ids.v[i], 1, 1L << 62, &id) == 0)
			rc = gate_decide(&y, id);
	}
	if (rc == 0 && !c->decide_only)
		rc = gate_next(&y);
out:
	db_gate_unlock(db, branch);
	vec_clear(&ids);
	free(y.cache);
	gate_branch_release(&y.b);
	return rc;
}
