/*
 * web-flights.c: the flights and branches under /api/v1/: the newest
 * flights, one flight with its jobs and steps, its report (DESIGN.md's
 * JSON: the one stored when the gate decided it, else judged now), and
 * the branches with their controls.
 */
#include <stdlib.h>
#include <string.h>

#include "db-flight.h"
#include "db-gate.h"
#include "db-report.h"
#include "report.h"
#include "strnum.h"
#include "web-internal.h"
#include "banned.h"

#define FLIGHTS_LIST_MAX 100

enum MHD_Result web_flights_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	json_t *list;

	if (db_flight_list_json(r->db, FLIGHTS_LIST_MAX, &list, &err) < 0)
		return web_db_error(r, &err);
	return web_json(r, MHD_HTTP_OK, list);
}

static json_t *web_report_of(struct web_req *r, long id, struct err *err);

static enum MHD_Result web_report_api(struct web_req *r, long id)
{
	struct err err = ERR_INIT;
	json_t *j = web_report_of(r, id, &err);

	return j ? web_json(r, MHD_HTTP_OK, j) : web_db_error(r, &err);
}

enum MHD_Result web_flight_api(struct web_req *r, const char *rest)
{
	struct err err = ERR_INIT;
	const char *slash = strchr(rest, '/');
	size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
	char num[24];
	json_t *f;
	long id;

	if (len >= sizeof(num))
		return web_not_found(r, r->url);
	memcpy(num, rest, len);
	num[len] = '\0';
	if (strnum_long(num, 1, 1L << 62, &id) < 0)
		return web_not_found(r, r->url);
	if (slash && !strcmp(slash, "/report"))
		return web_report_api(r, id);
	if (slash)
		return web_not_found(r, r->url);
	if (db_flight_json(r->db, id, &f, &err) < 0)
		return web_db_error(r, &err);
	return web_json(r, MHD_HTTP_OK, f);
}

enum MHD_Result web_branches_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	json_t *list;

	if (db_branch_list_json(r->db, &list, &err) < 0)
		return web_db_error(r, &err);
	return web_json(r, MHD_HTTP_OK, list);
}

/* ---- pages ---- */

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

enum MHD_Result web_flights_page(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	json_t *list, *f;
	size_t i;

	if (db_flight_list_json(r->db, FLIGHTS_LIST_MAX, &list, &err) < 0)
		return web_db_error(r, &err);
	html_page_begin(&b, "Flights");
	buf_addstr(&b, "<h1>Flights</h1>\n<table><tr><th>Flight</th><th>Branch</th>"
		       "<th>Intent</th><th>Status</th><th>Verdict</th>"
		       "<th>Created</th></tr>\n");
	json_array_foreach(list, i, f) {
		long long id = json_integer_value(json_object_get(f, "flight"));

		buf_addf(&b, "<tr><td><a href=\"/flights/%lld\">%lld</a></td><td>",
			 id, id);
		html_escape(&b, jstr(f, "branch"));
		buf_addstr(&b, "</td><td>");
		html_escape(&b, jstr(f, "intent"));
		buf_addstr(&b, "</td><td>");
		html_escape(&b, jstr(f, "status"));
		buf_addf(&b, "</td><td class=\"verdict-%s\">",
			 !strcmp(jstr(f, "verdict"), "push") ? "push" :
			 !strcmp(jstr(f, "verdict"), "no-push") ? "nopush" : "other");
		html_escape(&b, jstr(f, "verdict"));
		buf_addstr(&b, "</td><td>");
		html_escape(&b, jstr(f, "created"));
		buf_addstr(&b, "</td></tr>\n");
	}
	buf_addstr(&b, "</table>\n");
	html_page_end(&b);
	json_decref(list);
	return web_html(r, MHD_HTTP_OK, &b);
}

/* The report of flight id: the one stored when it was decided, else the
 * flight judged now; NULL with err set. */
static json_t *web_report_of(struct web_req *r, long id, struct err *err)
{
	char *stored = NULL, *text = NULL;
	struct report rep;
	json_t *j = NULL;

	if (db_gate_stored_report(r->db, id, &stored, &text, err) < 0)
		return NULL;
	if (stored)
		j = json_loads(stored, 0, NULL);
	free(stored);
	free(text);
	if (j)
		return j;
	report_init(&rep);
	if (db_report_load(r->db, id, &rep, err) == 0) {
		report_classify(&rep);
		j = report_json(&rep);
	}
	report_release(&rep);
	return j;
}

/* PUSH / NO PUSH and what blocks it. */
static void web_verdict_banner(struct buf *b, json_t *rep)
{
	const char *verdict = jstr(rep, "verdict");
	json_t *f;
	size_t i, nblock = 0;

	buf_addf(b, "<p class=\"banner verdict-%s\">",
		 !strcmp(verdict, "push") ? "push" :
		 !strcmp(verdict, "no-push") ? "nopush" : "other");
	buf_addstr(b, !strcmp(verdict, "push") ? "PUSH" :
		      !strcmp(verdict, "no-push") ? "NO PUSH" :
		      !strcmp(verdict, "pending") ? "verdict pending" : "no verdict");
	if (json_is_true(json_object_get(rep, "pushed")))
		buf_addstr(b, " (pushed)");
	buf_addstr(b, " &mdash; ");
	html_escape(b, jstr(rep, "outcome"));
	buf_addstr(b, "</p>\n");
	json_array_foreach(json_object_get(rep, "failures"), i, f)
		nblock += json_is_true(json_object_get(f, "blocking"));
	buf_addf(b, "<h2>Failures</h2>\n<table><tr><th>Job</th><th>Step</th>"
		    "<th>Status</th><th>Class</th><th></th></tr>\n");
	json_array_foreach(json_object_get(rep, "failures"), i, f) {
		int blocking = json_is_true(json_object_get(f, "blocking"));

		buf_addf(b, "<tr class=\"%s\"><td>", blocking ? "blocking" : "");
		html_escape(b, jstr(f, "job"));
		buf_addstr(b, "</td><td>");
		html_escape(b, jstr(f, "step"));
		buf_addf(b, "</td><td class=\"st-%s\">", jstr(f, "status"));
		html_escape(b, jstr(f, "status"));
		buf_addstr(b, "</td><td>");
		html_escape(b, jstr(f, "class"));
		buf_addstr(b, blocking ? " (blocking)" : "");
		buf_addstr(b, "</td><td>");
		html_escape(b, jstr(f, "text"));
		buf_addstr(b, "</td></tr>\n");
	}
	buf_addf(b, "</table>\n<p class=\"muted\">%zu blocking</p>\n", nblock);
}

/* Jobs and the steps of their last attempt, coloured by status. */
static void web_results_grid(struct buf *b, json_t *flight)
{
	json_t *j, *s;
	size_t i, k;

	buf_addstr(b, "<h2>Jobs</h2>\n<table>\n");
	json_array_foreach(json_object_get(flight, "jobs"), i, j) {
		json_int_t attempt = json_integer_value(json_object_get(j, "attempt"));

		buf_addstr(b, "<tr><th>");
		html_escape(b, jstr(j, "job"));
		buf_addf(b, "</th><td class=\"st-%s\">", jstr(j, "status"));
		html_escape(b, jstr(j, "status"));
		buf_addstr(b, "</td>");
		json_array_foreach(json_object_get(j, "steps"), k, s) {
			if (json_integer_value(json_object_get(s, "attempt")) != attempt)
				continue;
			buf_addf(b, "<td class=\"st-%s\">", jstr(s, "status"));
			html_escape(b, jstr(s, "step"));
			buf_addstr(b, "</td>");
		}
		buf_addstr(b, "</tr>\n");
	}
	buf_addstr(b, "</table>\n");
}

enum MHD_Result web_flight_page(struct web_req *r, const char *num)
{
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	json_t *flight, *rep, *base;
	const char *tree;
	json_t *rev;
	char title[48];
	long id;

	if (strnum_long(num, 1, 1L << 62, &id) < 0)
		return web_not_found(r, r->url);
	if (db_flight_json(r->db, id, &flight, &err) < 0)
		return web_db_error(r, &err);
	rep = web_report_of(r, id, &err);
	snprintf(title, sizeof(title), "Flight %ld", id);
	html_page_begin(&b, title);
	buf_addf(&b, "<h1>Flight %ld</h1>\n<p>", id);
	html_escape(&b, jstr(flight, "intent"));
	buf_addstr(&b, " flight of ");
	html_escape(&b, jstr(flight, "branch"));
	buf_addstr(&b, ", ");
	html_escape(&b, jstr(flight, "status"));
	buf_addstr(&b, "</p>\n");
	if (rep)
		web_verdict_banner(&b, rep);
	buf_addstr(&b, "<h2>Revisions</h2>\n<table><tr><th>Tree</th>"
		       "<th>Tested</th><th>Baseline</th></tr>\n");
	base = rep ? json_object_get(json_object_get(rep, "baseline"), "revisions")
		   : NULL;
	json_object_foreach(json_object_get(flight, "revisions"), tree, rev) {
		buf_addstr(&b, "<tr><td>");
		html_escape(&b, tree);
		buf_addstr(&b, "</td><td>");
		html_escape(&b, json_string_value(rev));
		buf_addstr(&b, "</td><td>");
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
	web_results_grid(&b, flight);
	html_page_end(&b);
	json_decref(rep);
	json_decref(flight);
	return web_html(r, MHD_HTTP_OK, &b);
}
