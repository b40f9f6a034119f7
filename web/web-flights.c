/*
 * web-flights.c: flights, their jobs and reports: the JSON API
 * (/api/v1/flights..., /api/v1/jobs/J) and the pages (/flights,
 * /flights/F, /flights/F/jobs/J, /jobs/J). An ended flight's answers are
 * marked for the cache: they change only with the flight's row.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db-flight.h"
#include "db-gate.h"
#include "db-worker.h"
#include "gate.h"
#include "report.h"
#include "strnum.h"
#include "web.h"
#include "web-internal.h"
#include "xalloc.h"
#include "banned.h"

#define FLIGHTS_PAGE 50
#define FLIGHTS_LIMIT_MAX 500

const char *web_jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static int flight_ended(json_t *f)
{
	const char *st = web_jstr(f, "status");

	return !strcmp(st, "finished") || !strcmp(st, "cancelled");
}

/* Ended, and its last job too (a cancelled flight's running jobs end
 * later, without touching the flight's row until the last one). */
static int flight_settled(json_t *f)
{
	return flight_ended(f) && *web_jstr(f, "finished");
}

/* The filters of a flights list from the query; 0, or -1 with why. */
static int flights_filter(struct web_req *r, struct flight_filter *ff,
			  int deflimit, const char **why)
{
	const char *before = web_query(r, "before"), *limit = web_query(r, "limit");
	const char *rev = web_query(r, "revision");

	memset(ff, 0, sizeof(*ff));
	ff->limit = deflimit;
	ff->branch = web_query(r, "branch");
	ff->intent = web_query(r, "intent");
	ff->status = web_query(r, "status");
	/* an empty field of the filter form means "any" */
	if (ff->branch && !*ff->branch)
		ff->branch = NULL;
	if (ff->intent && !*ff->intent)
		ff->intent = NULL;
	if (ff->status && !*ff->status)
		ff->status = NULL;
	ff->revision = rev && *rev ? rev : NULL;
	if (ff->revision && strspn(ff->revision, "0123456789abcdefABCDEF") !=
				    strlen(ff->revision))
		return *why = "revision: give a hex commit id or a prefix of one", -1;
	if (before && *before && strnum_long(before, 1, 1L << 62, &ff->before) < 0)
		return *why = "before: give a flight number", -1;
	if (limit && *limit && strnum_int(limit, 1, FLIGHTS_LIMIT_MAX, &ff->limit) < 0)
		return *why = "limit: give a number from 1 to 500", -1;
	return 0;
}

enum MHD_Result web_flights_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct flight_filter ff;
	const char *why;
	json_t *list;

	if (flights_filter(r, &ff, 100, &why) < 0)
		return web_error(r, MHD_HTTP_BAD_REQUEST, "bad request", why);
	if (db_flight_list_json(r->db, &ff, &list, &err) < 0)
		return web_db_error(r, &err);
	return web_json(r, MHD_HTTP_OK, list);
}

/* ?now=1: today's judgement instead of the decision; -1: a bad value */
static int web_now(struct web_req *r)
{
	const char *v = web_query(r, "now");

	if (!v || !strcmp(v, "0") || !strcmp(v, "false"))
		return 0;
	return !*v || !strcmp(v, "1") || !strcmp(v, "true") ? 1 : -1;
}

/* The report of flight id: the one stored when it was decided (*stored
 * set), else (or with ?now=1) the flight judged now; NULL with err set. */
json_t *web_report_of(struct web_req *r, long id, int *stored_out,
		      struct err *err)
{
	json_t *j = NULL;

	if (gate_report_view(r->db, NULL, id, web_now(r) > 0, &j, NULL, NULL,
			     stored_out, err) < 0)
		return NULL;
	return j;
}

void web_report_mail(struct buf *out, const char *text,
		     const struct vec *diff, int now)
{
	buf_addstr(out, text ? text : "");
	if (!diff->n)
		return;
	buf_addf(out, "\n%s\n", now ? "Today's judgement differs from the "
					"decision made when the flight ended:"
				      : "Judged today, this flight would differ "
					"(hangar flight report --now):");
	for (size_t i = 0; i < diff->n; i++)
		buf_addf(out, "  %s\n", diff->v[i]);
}

/*
 * ?format=mail, on the control socket only: what `hangar flight report F`
 * prints, with the CLI's own mail settings (from, to, url: its
 * configuration's, so that the answer is the one it would make itself).
 */
static enum MHD_Result web_report_mail_api(struct web_req *r, long id)
{
	struct err err = ERR_INIT;
	struct gate_conf c;
	struct buf text = BUF_INIT, out = BUF_INIT;
	struct vec diff = VEC_INIT;
	int now = web_now(r) > 0;
	json_t *j = NULL;

	memset(&c, 0, sizeof(c));
	c.state = r->state;
	c.mail_from = web_query(r, "from");
	c.mail_to = web_query(r, "to");
	c.url = web_query(r, "url");
	if (gate_report_view(r->db, &c, id, now, &j, &text, &diff, NULL,
			     &err) < 0)
		return web_db_error(r, &err);
	json_decref(j);
	web_report_mail(&out, text.buf, &diff, now);
	buf_release(&text);
	vec_clear(&diff);
	return web_text(r, MHD_HTTP_OK, "text/plain; charset=utf-8", &out);
}

enum MHD_Result web_report_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	long id = web_arg_flight(r, 0);
	const char *format = web_query(r, "format");
	int stored;
	json_t *j;

	if (!id)
		return web_not_found(r, r->url);
	if (web_now(r) < 0)
		return web_error(r, MHD_HTTP_BAD_REQUEST, "bad request",
				 "now: 1 or 0");
	if (r->local && format && !strcmp(format, "mail"))
		return web_report_mail_api(r, id);
	if (!(j = web_report_of(r, id, &stored, &err)))
		return web_db_error(r, &err);
	/* a decided flight's report changes only with its row; one judged
	 * now also depends on other flights (its retest, the baseline) */
	if (stored)
		r->cache_flight = id;
	return web_json(r, MHD_HTTP_OK, j);
}

enum MHD_Result web_flight_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	long id = web_arg_flight(r, 0);
	json_t *f;

	if (!id)
		return web_not_found(r, r->url);
	if (db_flight_json(r->db, id, &f, &err) < 0)
		return web_db_error(r, &err);
	if (flight_settled(f))
		r->cache_flight = id;
	return web_json(r, MHD_HTTP_OK, f);
}

/* Files of STATE/logs/F/J, as {"name", "size", "url"}. */
static json_t *job_log_files(struct web_req *r, long id, const char *job)
{
	char *dir = xasprintf("%s/logs/%ld/%s", r->state, id, job);
	json_t *arr = json_array();
	struct vec names = VEC_INIT;
	DIR *d = web_log_name_ok(job) ? opendir(dir) : NULL;
	struct dirent *de;

	while (d && (de = readdir(d)))
		if (web_log_name_ok(de->d_name))
			vec_push(&names, de->d_name);
	if (d)
		closedir(d);
	vec_sort(&names);
	for (size_t i = 0; i < names.n; i++) {
		char *path = xasprintf("%s/%s", dir, names.v[i]);
		struct stat st;

		/* what /logs/ serves: files, not links */
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
			json_array_append_new(
				arr, json_pack("{s:s, s:I, s:o}", "name", names.v[i],
					       "size", (json_int_t)st.st_size, "url",
					       json_sprintf("/logs/%ld/%s/%s", id, job,
							    names.v[i])));
		free(path);
	}
	vec_clear(&names);
	free(dir);
	return arr;
}

/*
 * What a worker sent after it lost the job (issue 22): late records and
 * the log bytes of STATE/logs/F/J/late-A/, kept as evidence and never
 * judged, as {"records": [...], "logs": [{"attempt", "name", "size"}]}.
 */
static json_t *job_late(struct web_req *r, long id, const char *job,
			struct err *err)
{
	char *dir = xasprintf("%s/logs/%ld/%s", r->state, id, job);
	json_t *recs = NULL, *logs = json_array();
	DIR *d = web_log_name_ok(job) ? opendir(dir) : NULL;
	struct vec names = VEC_INIT;
	struct dirent *de;

	if (db_worker_late_json(r->db, id, job, &recs, err) < 0) {
		if (d)
			closedir(d);
		free(dir);
		json_decref(logs);
		return NULL;
	}
	while (d && (de = readdir(d))) {
		long attempt;
		char *sub;
		DIR *s;
		struct dirent *e;

		if (strncmp(de->d_name, "late-", 5) ||
		    strnum_long(de->d_name + 5, 0, 1L << 30, &attempt) < 0)
			continue;
		sub = xasprintf("%s/%s", dir, de->d_name);
		s = opendir(sub);
		while (s && (e = readdir(s))) {
			char *path = xasprintf("%s/%s", sub, e->d_name);
			struct stat st;

			if (web_log_name_ok(e->d_name) && lstat(path, &st) == 0 &&
			    S_ISREG(st.st_mode))
				vec_pushf(&names, "%s/%s %lld", de->d_name,
					  e->d_name, (long long)st.st_size);
			free(path);
		}
		if (s)
			closedir(s);
		free(sub);
	}
	if (d)
		closedir(d);
	vec_sort(&names);
	for (size_t i = 0; i < names.n; i++) {
		char *sp = strrchr(names.v[i], ' '), *slash = strchr(names.v[i], '/');
		long attempt = 0;

		*sp = *slash = '\0';
		strnum_long(names.v[i] + 5, 0, 1L << 30, &attempt);
		json_array_append_new(logs, json_pack("{s:i, s:s, s:I}", "attempt",
						      (int)attempt, "name", slash + 1,
						      "size", (json_int_t)strtoll(sp + 1, NULL, 10)));
	}
	vec_clear(&names);
	free(dir);
	return json_pack("{s:o, s:o}", "records", recs, "logs", logs);
}

/* The job named args[1] of flight f (borrowed), or NULL. */
static json_t *flight_job(json_t *f, const char *job)
{
	json_t *j;
	size_t i;

	json_array_foreach(json_object_get(f, "jobs"), i, j)
		if (!strcmp(web_jstr(j, "job"), job))
			return j;
	return NULL;
}

/* Flight id (*f, a new reference) and its job args[1] (*j, borrowed);
 * -1 with the 404 queued in *ret. */
static int load_job(struct web_req *r, long id, json_t **f, json_t **j,
		    enum MHD_Result *ret)
{
	struct err err = ERR_INIT;

	if (!id) {
		*ret = web_not_found(r, r->url);
		return -1;
	}
	if (db_flight_json(r->db, id, f, &err) < 0) {
		*ret = web_db_error(r, &err);
		return -1;
	}
	if (!(*j = flight_job(*f, r->args[1]))) {
		json_decref(*f);
		*ret = web_not_found(r, "no such job in this flight");
		return -1;
	}
	return 0;
}

enum MHD_Result web_job_api(struct web_req *r)
{
	long id = web_arg_flight(r, 0);
	enum MHD_Result ret;
	struct err err = ERR_INIT;
	json_t *f, *j, *late;

	if (load_job(r, id, &f, &j, &ret) < 0)
		return ret;
	if (!(late = job_late(r, id, r->args[1], &err))) {
		json_decref(f);
		return web_db_error(r, &err);
	}
	json_incref(j);
	json_object_set_new(j, "flight", json_integer(id));
	json_object_set_new(j, "logs", job_log_files(r, id, r->args[1]));
	json_object_set_new(j, "late", late);
	json_decref(f);
	return web_json(r, MHD_HTTP_OK, j);
}

enum MHD_Result web_job_history_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	json_t *list;
	const char *limit = web_query(r, "limit");
	int n = 50;

	if (limit && *limit && strnum_int(limit, 1, FLIGHTS_LIMIT_MAX, &n) < 0)
		return web_error(r, MHD_HTTP_BAD_REQUEST, "bad request",
				 "limit: give a number from 1 to 500");
	if (db_job_history_json(r->db, r->args[0], web_query(r, "branch"), n,
				&list, &err) < 0)
		return web_db_error(r, &err);
	return web_json(r, MHD_HTTP_OK, list);
}

/* ---- pages ---- */

static const char *verdict_class(const char *verdict)
{
	return !strcmp(verdict, "push") ? "push" :
	       !strcmp(verdict, "no-push") ? "nopush" : "other";
}

/* A <select> of the filter form. */
static void filter_select(struct buf *b, const char *name, const char *cur,
			  const char *const *choices)
{
	buf_addf(b, "<label>%s <select name=\"%s\"><option value=\"\">any</option>",
		 name, name);
	for (; *choices; choices++) {
		buf_addf(b, "<option%s>", cur && !strcmp(cur, *choices) ? " selected" : "");
		html_escape(b, *choices);
		buf_addstr(b, "</option>");
	}
	buf_addstr(b, "</select></label> ");
}

void web_flights_table(struct buf *b, json_t *list)
{
	json_t *f;
	size_t i;

	buf_addstr(b, "<table class=\"flights\"><tr><th>Flight</th><th>Branch</th>"
		      "<th>Intent</th><th>Status</th><th>Verdict</th><th>Jobs</th>"
		      "<th>Revisions</th><th>Created</th></tr>\n");
	json_array_foreach(list, i, f) {
		long long id = json_integer_value(json_object_get(f, "flight"));
		const char *tree, *st;
		json_t *rev, *n;

		buf_addf(b, "<tr><td><a href=\"/flights/%lld\">%lld</a></td><td>", id, id);
		if (*web_jstr(f, "branch"))
			html_link(b, "/branches/", web_jstr(f, "branch"),
				  web_jstr(f, "branch"));
		buf_addstr(b, "</td><td>");
		html_escape(b, web_jstr(f, "intent"));
		if (*web_jstr(f, "requested_by")) {
			buf_addstr(b, " <span class=\"muted\">by ");
			html_escape(b, web_jstr(f, "requested_by"));
			buf_addstr(b, "</span>");
		}
		buf_addf(b, "</td><td class=\"st-%s\">", web_jstr(f, "status"));
		html_escape(b, web_jstr(f, "status"));
		if (json_is_true(json_object_get(f, "baseline_test")) &&
		    strcmp(web_jstr(f, "verdict"), "pending")) {
			buf_addstr(b, "</td><td class=\"verdict-other\">baseline");
		} else {
			buf_addf(b, "</td><td class=\"verdict-%s\">",
				 verdict_class(web_jstr(f, "verdict")));
			html_escape(b, web_jstr(f, "verdict"));
		}
		if (json_is_true(json_object_get(f, "pushed")))
			buf_addstr(b, " (pushed)");
		buf_addstr(b, "</td><td>");
		json_object_foreach(json_object_get(f, "jobs"), st, n) {
			buf_addf(b, "<span class=\"st-%s pill\">", st);
			html_escape(b, st);
			buf_addf(b, " %lld</span> ", (long long)json_integer_value(n));
		}
		buf_addstr(b, "</td><td class=\"mono\">");
		json_object_foreach(json_object_get(f, "revisions"), tree, rev) {
			html_escape(b, tree);
			buf_addstr(b, " ");
			char short12[13];

			snprintf(short12, sizeof(short12), "%s", json_string_value(rev));
			html_escape(b, short12);
			buf_addstr(b, "<br>");
		}
		buf_addstr(b, "</td><td>");
		html_escape(b, web_jstr(f, "created"));
		buf_addstr(b, "</td></tr>\n");
	}
	buf_addstr(b, "</table>\n");
}

enum MHD_Result web_flights_page(struct web_req *r)
{
	static const char *const intents[] = { "gate", "adhoc", "bisect", "retest",
					       NULL };
	static const char *const statuses[] = { "constructing", "queued",
						"running", "finished",
						"cancelled", NULL };
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	struct flight_filter ff;
	const char *why;
	json_t *list, *last;

	if (flights_filter(r, &ff, FLIGHTS_PAGE, &why) < 0)
		return web_error(r, MHD_HTTP_BAD_REQUEST, "bad request", why);
	if (db_flight_list_json(r->db, &ff, &list, &err) < 0)
		return web_db_error(r, &err);
	html_page_begin_for(&b, "Flights", r->user);
	buf_addstr(&b, "<h1>Flights</h1>\n<form class=\"filters\" method=\"get\" "
		       "action=\"/flights\"><label>branch <input name=\"branch\" value=\"");
	html_escape(&b, ff.branch);
	buf_addstr(&b, "\" size=\"14\"></label> ");
	filter_select(&b, "intent", ff.intent, intents);
	filter_select(&b, "status", ff.status, statuses);
	buf_addstr(&b, "<label>revision <input name=\"revision\" value=\"");
	html_escape(&b, ff.revision);
	buf_addstr(&b, "\" size=\"12\"></label> <button type=\"submit\">Filter</button>"
		       "</form>\n");
	web_flights_table(&b, list);
	last = json_array_get(list, json_array_size(list) - 1);
	if (json_array_size(list) == (size_t)ff.limit && last) {
		/* the next page: the same filters, older flights */
		buf_addf(&b, "<p><a rel=\"next\" href=\"/flights?before=%lld",
			 (long long)json_integer_value(json_object_get(last, "flight")));
		html_query_param(&b, "branch", ff.branch);
		html_query_param(&b, "intent", ff.intent);
		html_query_param(&b, "status", ff.status);
		html_query_param(&b, "revision", ff.revision);
		if (ff.limit != FLIGHTS_PAGE)
			buf_addf(&b, "&amp;limit=%d", ff.limit);
		buf_addstr(&b, "\">Older flights &rarr;</a></p>\n");
	}
	html_page_end(&b);
	json_decref(list);
	return web_html(r, MHD_HTTP_OK, &b);
}

/* PUSH / NO PUSH and what blocks it. */
static void web_verdict_banner(struct buf *b, json_t *rep)
{
	const char *verdict = web_jstr(rep, "verdict");
	json_t *f;
	size_t i, nblock = 0;

	json_t *decided = json_object_get(rep, "decided");

	if (json_is_object(decided)) {
		/* judged today: what it would be, not what was done */
		const char *j = report_json_judgement(rep);
		int would = !strcmp(j, "perfect") || !strcmp(j, "tolerable");

		buf_addf(b, "<p class=\"banner verdict-%s\">%s (judged today)",
			 verdict_class(would ? "push" : "no-push"),
			 would ? "WOULD PUSH" : "WOULD NOT PUSH");
	} else if (json_is_true(json_object_get(rep, "baseline_test")) &&
		   strcmp(verdict, "pending")) {
		/* the target tested as it is: nothing to push, not a failure */
		buf_addstr(b, "<p class=\"banner verdict-other\">BASELINE TEST");
	} else {
		buf_addf(b, "<p class=\"banner verdict-%s\">", verdict_class(verdict));
		buf_addstr(b, !strcmp(verdict, "push") ? "PUSH" :
			      !strcmp(verdict, "no-push") ? "NO PUSH" :
			      !strcmp(verdict, "pending") ? "verdict pending" : "no verdict");
		if (json_is_true(json_object_get(rep, "pushed")))
			buf_addstr(b, " (pushed)");
	}
	buf_addstr(b, " &mdash; ");
	html_escape(b, web_jstr(rep, "outcome"));
	buf_addstr(b, "</p>\n");
	if (json_is_true(json_object_get(rep, "baseline_test")))
		buf_addstr(b, "<p class=\"muted\">A test of the target as it is, "
			      "which later flights are judged against: there is "
			      "nothing to push.</p>\n");
	if (!json_array_size(json_object_get(rep, "failures")))
		return;   /* no empty table */
	json_array_foreach(json_object_get(rep, "failures"), i, f)
		nblock += json_is_true(json_object_get(f, "blocking"));
	buf_addf(b, "<h2>Failures</h2>\n<table class=\"failures\"><tr><th>Job</th>"
		    "<th>Step</th><th>Status</th><th>Class</th><th></th></tr>\n");
	json_array_foreach(json_object_get(rep, "failures"), i, f) {
		int blocking = json_is_true(json_object_get(f, "blocking"));
		json_int_t in;

		buf_addf(b, "<tr class=\"%s\"><td>", blocking ? "blocking" : "");
		html_escape(b, web_jstr(f, "job"));
		buf_addstr(b, "</td><td>");
		html_escape(b, web_jstr(f, "step"));
		buf_addf(b, "</td><td class=\"st-%s\">", web_jstr(f, "status"));
		html_escape(b, web_jstr(f, "status"));
		buf_addstr(b, "</td><td>");
		html_escape(b, web_jstr(f, "class"));
		buf_addstr(b, blocking ? " (blocking)" : "");
		buf_addstr(b, "</td><td>");
		/* a heisen flight's (reports stored before issue 17 have
		 * no "flight": the flight's own) */
		in = json_integer_value(json_object_get(f, "flight"));
		if (in && in != json_integer_value(json_object_get(rep, "flight")))
			buf_addf(b, "in <a href=\"/flights/%lld\">%lld</a> ",
				 (long long)in, (long long)in);
		html_escape(b, web_jstr(f, "text"));
		buf_addstr(b, "</td></tr>\n");
	}
	buf_addf(b, "</table>\n<p class=\"muted\">%zu blocking</p>\n", nblock);
}

/* Which judgement the page shows, and where the other differs. */
static void web_judgement_note(struct buf *b, long id, json_t *rep, int stored)
{
	json_t *decided = json_object_get(rep, "decided"), *d;
	size_t i;

	if (stored) {
		buf_addf(b, "<p class=\"muted\">The decision made when the flight "
			    "ended. <a href=\"/flights/%ld?now=1\">Judge it today"
			    "</a></p>\n", id);
		return;
	}
	if (!json_is_object(decided))
		return;
	buf_addstr(b, "<p>Judged today. When the flight ended it was decided: ");
	html_escape(b, web_jstr(decided, "verdict"));
	buf_addstr(b, " (");
	html_escape(b, web_jstr(decided, "judgement"));
	buf_addf(b, "). <a href=\"/flights/%ld\">The decision</a></p>\n", id);
	if (!json_array_size(json_object_get(rep, "differences"))) {
		buf_addstr(b, "<p class=\"muted\">Today's judgement agrees with it."
			      "</p>\n");
		return;
	}
	buf_addstr(b, "<p>Where today's judgement differs:</p>\n<ul class=\"differences\">\n");
	json_array_foreach(json_object_get(rep, "differences"), i, d) {
		buf_addstr(b, "<li>");
		html_escape(b, json_string_value(d));
		buf_addstr(b, "</li>\n");
	}
	buf_addstr(b, "</ul>\n");
}

/*
 * Whether step s is a test case of parent (the last step that was not):
 * cases are recorded right after their step, named "PARENT/CASE".
 */
static int step_is_case(json_t *s, const char *parent)
{
	const char *name = web_jstr(s, "step");
	size_t n = parent ? strlen(parent) : 0;

	return n && !strncmp(name, parent, n) && name[n] == '/';
}

/* The test cases of steps[k] (those right after it): counts by status. */
struct case_counts {
	size_t n, pass, fail, skip, other;
};

static size_t case_counts(json_t *steps, size_t k, struct case_counts *c)
{
	const char *parent = web_jstr(json_array_get(steps, k), "step");
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = k + 1; i < json_array_size(steps); i++) {
		json_t *x = json_array_get(steps, i);
		const char *st = web_jstr(x, "status");

		if (!step_is_case(x, parent))
			break;
		c->n++;
		if (!strcmp(st, "pass"))
			c->pass++;
		else if (!strcmp(st, "fail"))
			c->fail++;
		else if (!strcmp(st, "skip"))
			c->skip++;
		else
			c->other++;
	}
	return i;
}

/* A step of the grid; one with test cases shows their count, coloured by
 * the worst of them (the cases are on the job's page). */
static void step_cell(struct buf *b, json_t *s, const struct case_counts *c)
{
	const char *log = web_jstr(s, "log");
	const char *status = web_jstr(s, "status");
	double secs = json_real_value(json_object_get(s, "seconds"));

	if (c && c->n && !strcmp(status, "pass") && c->fail)
		status = "fail";
	buf_addf(b, "<td class=\"st-%s\" title=\"%s %.0fs\">", status,
		 web_jstr(s, "status"), secs);
	if (*log) {
		buf_addstr(b, "<a href=\"/logs/");
		html_escape(b, log);
		buf_addstr(b, "\">");
	}
	html_escape(b, web_jstr(s, "step"));
	if (*log)
		buf_addstr(b, "</a>");
	if (c && c->n)
		buf_addf(b, " <span class=\"muted\">%zu/%zu</span>", c->pass,
			 c->n);
	buf_addstr(b, "</td>");
}

/* How long the steps of one attempt of job j took. */
static double attempt_seconds(json_t *j, json_int_t attempt)
{
	double sum = 0;
	json_t *s;
	size_t k;

	json_array_foreach(json_object_get(j, "steps"), k, s)
		if (json_integer_value(json_object_get(s, "attempt")) == attempt)
			sum += json_real_value(json_object_get(s, "seconds"));
	return sum;
}

/* Jobs (status, time, hosts) and the steps of their last attempt,
 * coloured by status, each linking to its log. */
static void web_results_grid(struct buf *b, long id, json_t *flight)
{
	json_t *j, *s, *h;
	size_t i, k;

	buf_addstr(b, "<h2>Jobs</h2>\n<table class=\"grid\">\n");
	json_array_foreach(json_object_get(flight, "jobs"), i, j) {
		json_int_t attempt = json_integer_value(json_object_get(j, "attempt"));

		buf_addf(b, "<tr><th><a href=\"/flights/%ld/jobs/", id);
		html_escape(b, web_jstr(j, "job"));
		buf_addstr(b, "\">");
		html_escape(b, web_jstr(j, "job"));
		buf_addf(b, "</a></th><td class=\"st-%s\">", web_jstr(j, "status"));
		html_escape(b, web_jstr(j, "status"));
		buf_addf(b, "</td><td class=\"muted\">%.0fs</td><td class=\"muted\">",
			 attempt_seconds(j, attempt));
		json_array_foreach(json_object_get(j, "hosts"), k, h) {
			html_link(b, "/hosts/", json_string_value(h),
				  json_string_value(h));
			buf_addch(b, ' ');
		}
		buf_addstr(b, "</td>");
		for (k = 0; k < json_array_size(json_object_get(j, "steps"));) {
			json_t *steps = json_object_get(j, "steps");
			struct case_counts c;
			size_t next = case_counts(steps, k, &c);

			s = json_array_get(steps, k);
			if (json_integer_value(json_object_get(s, "attempt")) == attempt)
				step_cell(b, s, &c);
			k = next;
		}
		buf_addstr(b, "</tr>\n");
	}
	buf_addstr(b, "</table>\n");
}

/* Refreshes an unfinished flight's page (hangar.js; without it, a link). */
static void live_marker(struct buf *b, json_t *f)
{
	if (flight_ended(f))
		return;
	buf_addstr(b, "<p class=\"muted\" data-refresh=\"5\">This flight is "
		      "running: the page refreshes itself. "
		      "<a href=\"\">Refresh now</a></p>\n"
		      "<script src=\"/static/hangar.js\" defer></script>\n");
}

static void cancel_form(struct web_req *r, struct buf *b, long id, json_t *f)
{
	char csrf[33];

	if (flight_ended(f) || !r->session || r->role < ROLE_DEVELOPER ||
	    (r->role < ROLE_ADMIN &&
	     strcmp(web_jstr(f, "requested_by"), r->user)))
		return;
	web_csrf_token(r->session, csrf);
	buf_addf(b, "<form method=\"post\" action=\"/flights/%ld/cancel\">"
		    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		    "<button type=\"submit\">Cancel this flight</button></form>\n",
		 id, csrf);
}

/* A row of the job page's steps. */
static void step_row(struct buf *b, struct web_req *r, long id, json_t *x)
{
	const char *log = web_jstr(x, "log");

	buf_addf(b, "<tr><td>%lld</td><td>",
		 (long long)json_integer_value(json_object_get(x, "stepno")));
	html_escape(b, web_jstr(x, "step"));
	buf_addf(b, "</td><td class=\"st-%s\">", web_jstr(x, "status"));
	html_escape(b, web_jstr(x, "status"));
	buf_addf(b, "</td><td>%lld</td><td>%.1f</td><td>",
		 (long long)json_integer_value(json_object_get(x, "attempt")),
		 json_real_value(json_object_get(x, "seconds")));
	if (*log) {
		const char *base = strrchr(log, '/');

		buf_addf(b, "<a href=\"/flights/%ld/jobs/", id);
		html_escape(b, r->args[1]);
		buf_addstr(b, "/logs/");
		html_escape(b, base ? base + 1 : log);
		buf_addstr(b, "\">view</a> <a href=\"/logs/");
		html_escape(b, log);
		buf_addstr(b, "\">raw</a>");
	}
	buf_addstr(b, "</td><td class=\"muted\">");
	html_escape(b, web_jstr(x, "detail"));
	buf_addstr(b, "</td></tr>\n");
}

/* Most test cases shown on a page: those that did not pass come first. */
#define CASES_SHOWN 1000

/*
 * The test cases of a step (steps[from..to)), folded: the counts, and
 * opened, the cases that did not pass, then those that did, up to
 * CASES_SHOWN (every one is in the API).
 */
static void case_rows(struct buf *b, struct web_req *r, long id,
		      json_t *steps, size_t from, size_t to,
		      const struct case_counts *c)
{
	size_t shown = 0;

	buf_addf(b, "<tr><td></td><td colspan=\"6\"><details%s><summary>%zu test "
		    "case%s: %zu pass, %zu fail, %zu skip%s</summary>\n<table>\n",
		 c->fail && c->fail <= 50 ? " open" : "", c->n,
		 c->n == 1 ? "" : "s", c->pass, c->fail, c->skip,
		 c->other ? ", others" : "");
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = from; k < to && shown < CASES_SHOWN; k++) {
			json_t *x = json_array_get(steps, k);

			if (!strcmp(web_jstr(x, "status"), "pass") != !pass)
				continue;
			step_row(b, r, id, x);
			shown++;
		}
	buf_addstr(b, "</table>\n");
	if (shown < c->n)
		buf_addf(b, "<p class=\"muted\">%zu more passed: every case is in "
			    "<a href=\"/api/v1/flights/%ld\">the API</a>.</p>\n",
			 c->n - shown, id);
	buf_addstr(b, "</details></td></tr>\n");
}

enum MHD_Result web_flight_page(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	long id = web_arg_flight(r, 0);
	json_t *flight, *rep, *base;
	const char *tree;
	json_t *rev;
	char title[48];
	int stored = 0;

	if (!id)
		return web_not_found(r, r->url);
	if (web_now(r) < 0)
		return web_error(r, MHD_HTTP_BAD_REQUEST, "bad request",
				 "now: 1 or 0");
	if (db_flight_json(r->db, id, &flight, &err) < 0)
		return web_db_error(r, &err);
	rep = web_report_of(r, id, &stored, &err);
	snprintf(title, sizeof(title), "Flight %ld", id);
	html_page_begin_for(&b, title, r->user);
	buf_addf(&b, "<h1>Flight %ld</h1>\n<p>", id);
	html_escape(&b, web_jstr(flight, "intent"));
	if (*web_jstr(flight, "branch")) {
		buf_addstr(&b, " flight of ");
		html_link(&b, "/branches/", web_jstr(flight, "branch"),
			  web_jstr(flight, "branch"));
	}
	buf_addf(&b, ", <span class=\"st-%s\">", web_jstr(flight, "status"));
	html_escape(&b, web_jstr(flight, "status"));
	buf_addstr(&b, "</span>");
	if (*web_jstr(flight, "requested_by")) {
		buf_addstr(&b, ", requested by ");
		html_escape(&b, web_jstr(flight, "requested_by"));
	}
	buf_addstr(&b, "<br><span class=\"muted\">created ");
	html_escape(&b, web_jstr(flight, "created"));
	if (*web_jstr(flight, "finished")) {
		buf_addstr(&b, ", finished ");
		html_escape(&b, web_jstr(flight, "finished"));
	}
	buf_addf(&b, "</span> &middot; <a href=\"/api/v1/flights/%ld/report\">report "
		     "JSON</a></p>\n", id);
	live_marker(&b, flight);
	cancel_form(r, &b, id, flight);
	if (rep) {
		web_verdict_banner(&b, rep);
		web_judgement_note(&b, id, rep, stored);
	}
	buf_addstr(&b, "<h2>Revisions</h2>\n<table><tr><th>Tree</th>"
		       "<th>Tested</th><th>Baseline</th></tr>\n");
	base = rep ? json_object_get(json_object_get(rep, "baseline"), "revisions")
		   : NULL;
	json_object_foreach(json_object_get(flight, "revisions"), tree, rev) {
		buf_addstr(&b, "<tr><td>");
		html_escape(&b, tree);
		buf_addstr(&b, "</td><td class=\"mono\">");
		html_escape(&b, json_string_value(rev));
		buf_addstr(&b, "</td><td class=\"mono\">");
		html_escape(&b, json_string_value(json_object_get(base, tree)));
		buf_addstr(&b, "</td></tr>\n");
	}
	buf_addstr(&b, "</table>\n");
	if (rep && json_is_integer(json_object_get(json_object_get(rep, "baseline"),
						   "flight"))) {
		long long bf = json_integer_value(
			json_object_get(json_object_get(rep, "baseline"), "flight"));

		buf_addf(&b, "<p>Baseline flight <a href=\"/flights/%lld\">%lld</a></p>\n",
			 bf, bf);
	}
	web_results_grid(&b, id, flight);
	html_page_end(&b);
	if (flight_settled(flight) && stored)
		r->cache_flight = id;
	json_decref(rep);
	json_decref(flight);
	return web_html(r, MHD_HTTP_OK, &b);
}

static void kv_row(struct buf *b, const char *k, const char *v)
{
	buf_addstr(b, "<tr><th>");
	html_escape(b, k);
	buf_addstr(b, "</th><td>");
	html_escape(b, v);
	buf_addstr(b, "</td></tr>\n");
}

/* What came after the lease was lost: shown, never judged. */
static void late_section(struct buf *b, json_t *late)
{
	json_t *recs = json_object_get(late, "records");
	json_t *logs = json_object_get(late, "logs"), *x;
	size_t i;

	if (!json_array_size(recs) && !json_array_size(logs))
		return;
	buf_addstr(b, "<h2>After the lease was lost</h2>\n<p class=\"muted\">"
		      "Sent by a worker that no longer held the job (recovery "
		      "had taken it, or an earlier attempt's message came "
		      "late): kept as evidence, never judged.</p>\n");
	if (json_array_size(recs))
		buf_addstr(b, "<table><tr><th>Received</th><th>Attempt</th>"
			      "<th>Worker</th><th>Record</th></tr>\n");
	json_array_foreach(recs, i, x) {
		char *text = json_dumps(json_object_get(x, "record"), JSON_COMPACT);

		buf_addstr(b, "<tr><td>");
		html_escape(b, web_jstr(x, "received"));
		buf_addf(b, "</td><td>%lld</td><td>",
			 (long long)json_integer_value(json_object_get(x, "attempt")));
		html_escape(b, web_jstr(x, "owner"));
		buf_addstr(b, "</td><td class=\"mono\">");
		html_escape(b, text ? text : "");
		buf_addstr(b, "</td></tr>\n");
		free(text);
	}
	if (json_array_size(recs))
		buf_addstr(b, "</table>\n");
	if (json_array_size(logs))
		buf_addstr(b, "<p>Late log bytes, on the controller under the "
			      "job's logs:</p>\n<ul>\n");
	json_array_foreach(logs, i, x) {
		buf_addf(b, "<li>late-%lld/",
			 (long long)json_integer_value(json_object_get(x, "attempt")));
		html_escape(b, web_jstr(x, "name"));
		buf_addf(b, " <span class=\"muted\">%lld bytes</span></li>\n",
			 (long long)json_integer_value(json_object_get(x, "size")));
	}
	if (json_array_size(logs))
		buf_addstr(b, "</ul>\n");
}

enum MHD_Result web_job_page(struct web_req *r)
{
	enum MHD_Result ret;
	struct buf b = BUF_INIT;
	long id = web_arg_flight(r, 0);
	json_t *f, *j, *v, *logs, *x, *steps, *late;
	struct err err = ERR_INIT;
	const char *key;
	char title[WEB_ARG_MAX + 32];
	size_t i;

	if (load_job(r, id, &f, &j, &ret) < 0)
		return ret;
	if (!(late = job_late(r, id, r->args[1], &err))) {
		json_decref(f);
		return web_db_error(r, &err);
	}
	snprintf(title, sizeof(title), "%ld.%s", id, r->args[1]);
	html_page_begin_for(&b, title, r->user);
	buf_addf(&b, "<h1><a href=\"/flights/%ld\">Flight %ld</a> job ", id, id);
	html_escape(&b, r->args[1]);
	buf_addf(&b, "</h1>\n<p><span class=\"st-%s\">", web_jstr(j, "status"));
	html_escape(&b, web_jstr(j, "status"));
	buf_addf(&b, "</span>, attempt %lld &middot; ",
		 (long long)json_integer_value(json_object_get(j, "attempt")));
	html_link(&b, "/jobs/", r->args[1], "history of this job");
	buf_addstr(&b, "</p>\n");
	live_marker(&b, f);
	buf_addstr(&b, "<table>\n");
	kv_row(&b, "recipe", web_jstr(j, "recipe"));
	kv_row(&b, "arch", web_jstr(j, "arch"));
	kv_row(&b, "started", web_jstr(j, "started"));
	kv_row(&b, "finished", web_jstr(j, "finished"));
	if (*web_jstr(j, "broken_reason"))
		kv_row(&b, "broken", web_jstr(j, "broken_reason"));
	if (*web_jstr(j, "wait_reason") && !strcmp(web_jstr(j, "status"), "queued"))
		kv_row(&b, "waiting", web_jstr(j, "wait_reason"));
	buf_addstr(&b, "<tr><th>hosts</th><td>");
	json_array_foreach(json_object_get(j, "hosts"), i, x) {
		html_link(&b, "/hosts/", json_string_value(x), json_string_value(x));
		buf_addch(&b, ' ');
	}
	buf_addstr(&b, "</td></tr>\n<tr><th>needs</th><td>");
	json_array_foreach(json_object_get(j, "needs"), i, x) {
		html_escape(&b, json_is_string(x) ? json_string_value(x) : "");
		buf_addch(&b, ' ');
	}
	buf_addstr(&b, "</td></tr>\n</table>\n");
	/* a section with nothing in it (a queued job's steps) is left out */
	steps = json_object_get(j, "steps");
	if (json_array_size(steps))
		buf_addstr(&b, "<h2>Steps</h2>\n<table><tr><th>#</th>"
			       "<th>Step</th><th>Status</th><th>Attempt</th>"
			       "<th>Seconds</th><th>Log</th><th>Detail</th></tr>\n");
	for (i = 0; i < json_array_size(steps);) {
		struct case_counts c;
		size_t next = case_counts(steps, i, &c);

		step_row(&b, r, id, json_array_get(steps, i));
		if (c.n)
			case_rows(&b, r, id, steps, i + 1, next, &c);
		i = next;
	}
	if (json_array_size(steps))
		buf_addstr(&b, "</table>\n");
	logs = job_log_files(r, id, r->args[1]);
	if (json_array_size(logs))
		buf_addstr(&b, "<h2>Logs and console</h2>\n<ul>\n");
	json_array_foreach(logs, i, x) {
		buf_addf(&b, "<li><a href=\"/flights/%ld/jobs/", id);
		html_escape(&b, r->args[1]);
		buf_addstr(&b, "/logs/");
		html_escape(&b, web_jstr(x, "name"));
		buf_addstr(&b, "\">");
		html_escape(&b, web_jstr(x, "name"));
		buf_addf(&b, "</a> <span class=\"muted\">%lld bytes</span></li>\n",
			 (long long)json_integer_value(json_object_get(x, "size")));
	}
	if (json_array_size(logs))
		buf_addstr(&b, "</ul>\n");
	json_decref(logs);
	if (json_array_size(json_object_get(j, "artifacts")))
		buf_addstr(&b, "<h2>Artifacts</h2>\n<table><tr><th>Path</th>"
			       "<th>Size</th><th>SHA-256</th></tr>\n");
	json_array_foreach(json_object_get(j, "artifacts"), i, x) {
		buf_addstr(&b, "<tr><td>");
		html_escape(&b, web_jstr(x, "path"));
		buf_addf(&b, "</td><td>%lld</td><td class=\"mono\">",
			 (long long)json_integer_value(json_object_get(x, "size")));
		html_escape(&b, web_jstr(x, "sha256"));
		buf_addstr(&b, "</td></tr>\n");
	}
	if (json_array_size(json_object_get(j, "artifacts")))
		buf_addstr(&b, "</table>\n");
	if (json_object_size(json_object_get(j, "runvars"))) {
		buf_addstr(&b, "<h2>Runvars</h2>\n<table>\n");
		json_object_foreach(json_object_get(j, "runvars"), key, v)
			kv_row(&b, key, json_is_string(v) ? json_string_value(v) : "");
		buf_addstr(&b, "</table>\n");
	}
	late_section(&b, late);
	json_decref(late);
	html_page_end(&b);
	json_decref(f);
	return web_html(r, MHD_HTTP_OK, &b);
}

enum MHD_Result web_job_history_page(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	json_t *list, *x;
	size_t i;

	if (db_job_history_json(r->db, r->args[0], NULL, 100, &list, &err) < 0)
		return web_db_error(r, &err);
	html_page_begin_for(&b, r->args[0], r->user);
	buf_addstr(&b, "<h1>Job ");
	html_escape(&b, r->args[0]);
	buf_addstr(&b, " across flights</h1>\n<table><tr><th>Flight</th><th>Branch</th>"
		       "<th>Intent</th><th>Status</th><th>First failure</th>"
		       "<th>Hosts</th><th>Started</th><th>Seconds</th></tr>\n");
	json_array_foreach(list, i, x) {
		long long fl = json_integer_value(json_object_get(x, "flight"));
		json_t *h;
		size_t k;

		buf_addf(&b, "<tr><td><a href=\"/flights/%lld/jobs/", fl);
		html_escape(&b, r->args[0]);
		buf_addf(&b, "\">%lld</a></td><td>", fl);
		html_escape(&b, web_jstr(x, "branch"));
		buf_addstr(&b, "</td><td>");
		html_escape(&b, web_jstr(x, "intent"));
		buf_addf(&b, "</td><td class=\"st-%s\">", web_jstr(x, "status"));
		html_escape(&b, web_jstr(x, "status"));
		buf_addstr(&b, "</td><td>");
		html_escape(&b, web_jstr(x, "failed_step"));
		buf_addstr(&b, "</td><td>");
		json_array_foreach(json_object_get(x, "hosts"), k, h) {
			html_link(&b, "/hosts/", json_string_value(h), json_string_value(h));
			buf_addch(&b, ' ');
		}
		buf_addstr(&b, "</td><td>");
		html_escape(&b, web_jstr(x, "started"));
		buf_addf(&b, "</td><td>%.0f</td></tr>\n",
			 json_number_value(json_object_get(x, "seconds")));
	}
	buf_addstr(&b, "</table>\n");
	html_page_end(&b);
	json_decref(list);
	return web_html(r, MHD_HTTP_OK, &b);
}
