/*
 * web-branches.c: the branches: the overview's gate table, the branch
 * page (gate history: flights, pushes, regressions, blocks and forces),
 * /api/v1/branches[/B], and the bisections (filled in by bisection).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-bisect.h"
#include "db-flight.h"
#include "db-gate.h"
#include "web-internal.h"
#include "xalloc.h"
#include "banned.h"

static json_t *branch_named(json_t *list, const char *name)
{
	json_t *b;
	size_t i;

	json_array_foreach(list, i, b)
		if (!strcmp(web_jstr(b, "name"), name))
			return b;
	return NULL;
}

static void short_rev(struct buf *b, const char *rev)
{
	buf_addstr(b, "<span class=\"mono\">");
	char short12[13];

	snprintf(short12, sizeof(short12), "%s", rev ? rev : "?");
	html_escape(b, short12);
	buf_addstr(b, "</span>");
}

/* One row of the overview: branch, staging vs target, verdict, progress. */
static void branch_row(struct buf *b, json_t *br)
{
	json_t *last = json_object_get(br, "last_verdict");
	json_t *run = json_object_get(br, "running");
	const char *st = json_string_value(json_object_get(br, "staging_revision"));
	const char *tg = json_string_value(json_object_get(br, "target_revision"));

	buf_addstr(b, "<tr><td>");
	html_link(b, "/branches/", web_jstr(br, "name"), web_jstr(br, "name"));
	if (json_is_true(json_object_get(br, "blocked"))) {
		buf_addstr(b, " <span class=\"pill st-fail\">blocked</span>");
	}
	buf_addstr(b, "</td><td>");
	html_escape(b, web_jstr(br, "staging"));
	buf_addstr(b, " ");
	short_rev(b, st);
	buf_addstr(b, "<br>");
	html_escape(b, web_jstr(br, "target"));
	buf_addstr(b, " ");
	short_rev(b, tg);
	if (st && tg)
		buf_addstr(b, !strcmp(st, tg) ? " <span class=\"muted\">(up to date)</span>"
					      : " <span class=\"muted\">(staging ahead)</span>");
	buf_addstr(b, "</td>");
	if (json_is_object(last)) {
		long long fl = json_integer_value(json_object_get(last, "flight"));
		const char *v = web_jstr(last, "verdict");

		/* a baseline test pushes nothing and fails nothing */
		int baseline = json_is_true(json_object_get(last, "baseline_test"));

		buf_addf(b, "<td class=\"verdict-%s\"><a href=\"/flights/%lld\">%lld</a> ",
			 baseline ? "other" : !strcmp(v, "push") ? "push"
			 : !strcmp(v, "no-push") ? "nopush" : "other", fl, fl);
		buf_addstr(b, baseline ? "baseline test" : !strcmp(v, "push") ? "PUSH"
			      : !strcmp(v, "no-push") ? "NO PUSH" : v);
		if (json_is_true(json_object_get(last, "pushed")))
			buf_addstr(b, " (pushed)");
		buf_addstr(b, "</td>");
	} else {
		buf_addstr(b, "<td class=\"muted\">none yet</td>");
	}
	if (json_is_object(run)) {
		long long fl = json_integer_value(json_object_get(run, "flight"));
		const char *eta = json_string_value(json_object_get(run, "eta"));

		buf_addf(b, "<td><a href=\"/flights/%lld\">%lld</a> ", fl, fl);
		html_escape(b, web_jstr(run, "status"));
		buf_addf(b, ": %lld of %lld jobs done",
			 (long long)json_integer_value(json_object_get(run, "done")),
			 (long long)json_integer_value(json_object_get(run, "jobs")));
		if (eta) {
			buf_addstr(b, "<br><span class=\"muted\">verdict expected by ");
			html_escape(b, eta);
			buf_addstr(b, "</span>");
		}
		buf_addstr(b, "</td>");
	} else {
		buf_addstr(b, "<td class=\"muted\">idle</td>");
	}
	buf_addstr(b, "</tr>\n");
}

void web_overview_branches(struct web_req *r, struct buf *b)
{
	struct err err = ERR_INIT;
	json_t *list, *br;
	size_t i;

	buf_addstr(b, "<h1>Branches</h1>\n");
	if (db_branch_list_json(r->db, &list, &err) < 0) {
		buf_addstr(b, "<p class=\"muted\">");
		html_escape(b, err.msg);
		buf_addstr(b, "</p>\n");
		return;
	}
	buf_addstr(b, "<table class=\"branches\"><tr><th>Branch</th>"
		      "<th>Staging / target</th><th>Last verdict</th>"
		      "<th>Now</th></tr>\n");
	json_array_foreach(list, i, br)
		branch_row(b, br);
	buf_addstr(b, "</table>\n");
	if (!json_array_size(list))
		buf_addstr(b, "<p class=\"muted\">No branches: add some with "
			      "<code>hangar lab apply</code>.</p>\n");
	json_decref(list);
}

enum MHD_Result web_branches_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	json_t *list;

	if (db_branch_list_json(r->db, &list, &err) < 0)
		return web_db_error(r, &err);
	return web_json(r, MHD_HTTP_OK, list);
}

/* The branch with its newest flights and events; NULL with err. */
static json_t *branch_detail(struct web_req *r, const char *name, struct err *err)
{
	struct flight_filter ff = { .branch = name, .limit = 50 };
	json_t *list, *br, *flights, *events;

	if (db_branch_list_json(r->db, &list, err) < 0)
		return NULL;
	if (!(br = branch_named(list, name))) {
		json_decref(list);
		err_set(err, ERR_NOTFOUND, "no branch '%s'", name);
		return NULL;
	}
	json_incref(br);
	json_decref(list);
	if (db_flight_list_json(r->db, &ff, &flights, err) < 0) {
		json_decref(br);
		return NULL;
	}
	if (db_branch_events_json(r->db, name, 50, &events, err) < 0) {
		json_decref(flights);
		json_decref(br);
		return NULL;
	}
	json_object_set_new(br, "flights", flights);
	json_object_set_new(br, "events", events);
	return br;
}

enum MHD_Result web_branch_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	json_t *br = branch_detail(r, r->args[0], &err);

	return br ? web_json(r, MHD_HTTP_OK, br) : web_db_error(r, &err);
}

enum MHD_Result web_branch_page(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	json_t *br = branch_detail(r, r->args[0], &err), *e;
	size_t i;

	if (!br)
		return web_db_error(r, &err);
	html_page_begin_for(&b, r->args[0], r->user);
	buf_addstr(&b, "<h1>Branch ");
	html_escape(&b, r->args[0]);
	buf_addstr(&b, "</h1>\n<table class=\"branches\"><tr><th>Branch</th>"
		       "<th>Staging / target</th><th>Last verdict</th><th>Now</th></tr>\n");
	branch_row(&b, br);
	buf_addstr(&b, "</table>\n<p>Tree ");
	html_escape(&b, web_jstr(br, "tree"));
	if (json_is_true(json_object_get(br, "blocked"))) {
		buf_addstr(&b, " &middot; <strong>blocked</strong>: ");
		html_escape(&b, web_jstr(br, "block_reason"));
	}
	if (*web_jstr(br, "force_rev")) {
		buf_addstr(&b, " &middot; force-push of ");
		short_rev(&b, web_jstr(br, "force_rev"));
		buf_addstr(&b, " by ");
		html_escape(&b, web_jstr(br, "force_by"));
		buf_addstr(&b, ": ");
		html_escape(&b, web_jstr(br, "force_reason"));
	}
	buf_addstr(&b, "</p>\n");
	web_branch_evidence(r, &b, r->args[0]);
	buf_addstr(&b, "<h2>Flights</h2>\n");
	web_flights_table(&b, json_object_get(br, "flights"));
	buf_addstr(&b, "<p><a href=\"/flights?branch=");
	html_url_encode(&b, r->args[0]);
	buf_addstr(&b, "\">All flights of this branch</a></p>\n<h2>Gate history</h2>\n"
		       "<table><tr><th>When</th><th>What</th><th>Who</th><th>Flight</th>"
		       "<th>Detail</th></tr>\n");
	json_array_foreach(json_object_get(br, "events"), i, e) {
		json_t *fl = json_object_get(e, "flight");
		char *detail = json_dumps(json_object_get(e, "detail"), JSON_COMPACT);

		buf_addstr(&b, "<tr><td>");
		html_escape(&b, web_jstr(e, "at"));
		buf_addstr(&b, "</td><td>");
		html_escape(&b, web_jstr(e, "kind"));
		buf_addstr(&b, "</td><td>");
		html_escape(&b, web_jstr(e, "actor"));
		buf_addstr(&b, "</td><td>");
		if (json_is_integer(fl))
			buf_addf(&b, "<a href=\"/flights/%lld\">%lld</a>",
				 (long long)json_integer_value(fl),
				 (long long)json_integer_value(fl));
		buf_addstr(&b, "</td><td class=\"muted mono\">");
		html_escape(&b, detail);
		buf_addstr(&b, "</td></tr>\n");
		free(detail);
	}
	buf_addstr(&b, "</table>\n");
	html_page_end(&b);
	json_decref(br);
	return web_html(r, MHD_HTTP_OK, &b);
}

/* ---- bisections ---- */

static int bisections_json(struct web_req *r, const char *id, json_t **ret,
			   struct err *err)
{
	return db_bisect_json(r->db, id, ret, err);
}

/* The bisection in args[0] as an object; NULL with err. */
static json_t *bisection_one(struct web_req *r, struct err *err)
{
	json_t *list, *one;
	long id;

	if (!(id = web_arg_flight(r, 0))) {
		err_set(err, ERR_NOTFOUND, "no bisection '%s'", r->args[0]);
		return NULL;
	}
	if (bisections_json(r, r->args[0], &list, err) < 0)
		return NULL;
	one = json_array_get(list, 0);
	json_incref(one);
	json_decref(list);
	if (!one)
		err_set(err, ERR_NOTFOUND, "no bisection %ld", id);
	return one;
}

enum MHD_Result web_bisections_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	json_t *list;

	if (bisections_json(r, NULL, &list, &err) < 0)
		return web_db_error(r, &err);
	return web_json(r, MHD_HTTP_OK, list);
}

enum MHD_Result web_bisection_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	json_t *one = bisection_one(r, &err);

	return one ? web_json(r, MHD_HTTP_OK, one) : web_db_error(r, &err);
}

static void bisection_row(struct buf *b, json_t *x)
{
	json_t *c = json_object_get(x, "culprit");
	long long id = json_integer_value(json_object_get(x, "id"));

	buf_addf(b, "<tr><td><a href=\"/bisections/%lld\">%lld</a></td><td>", id, id);
	html_escape(b, web_jstr(x, "branch"));
	buf_addstr(b, "</td><td>");
	html_escape(b, web_jstr(x, "job"));
	buf_addstr(b, "</td><td>");
	html_escape(b, web_jstr(x, "step"));
	buf_addstr(b, "</td><td>");
	html_escape(b, web_jstr(x, "status"));
	buf_addstr(b, "</td><td class=\"mono\">");
	if (json_is_object(c)) {
		html_escape(b, web_jstr(c, "tree"));
		buf_addch(b, ' ');
		html_escape(b, web_jstr(c, "commit"));
	}
	buf_addstr(b, "</td></tr>\n");
}

static const char bisection_head[] =
	"<table><tr><th>Bisection</th><th>Branch</th><th>Job</th><th>Step</th>"
	"<th>Status</th><th>Culprit</th></tr>\n";

enum MHD_Result web_bisections_page(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	json_t *list, *x;
	size_t i;

	if (bisections_json(r, NULL, &list, &err) < 0)
		return web_db_error(r, &err);
	html_page_begin_for(&b, "Bisections", r->user);
	buf_addstr(&b, "<h1>Bisections</h1>\n");
	buf_addstr(&b, bisection_head);
	json_array_foreach(list, i, x)
		bisection_row(&b, x);
	buf_addstr(&b, "</table>\n");
	if (!json_array_size(list))
		buf_addstr(&b, "<p class=\"muted\">No bisection has run yet.</p>\n");
	html_page_end(&b);
	json_decref(list);
	return web_html(r, MHD_HTTP_OK, &b);
}

/* The tested graph the bisector drew (STATE/logs/bisect-N.svg), inline
 * so that its nodes link to their flights. */
static void bisection_graph(struct web_req *r, struct buf *b, long long id)
{
	struct buf svg = BUF_INIT;
	char *path = xasprintf("%s/logs/bisect-%lld.svg", r->state, id);
	const char *start;

	if (buf_read_file(&svg, path) == 0 && (start = strstr(svg.buf, "<svg"))) {
		buf_addstr(b, "<h2>Graph</h2>\n<div class=\"graph\">");
		buf_addstr(b, start);
		buf_addstr(b, "</div>\n");
	}
	buf_release(&svg);
	free(path);
}

enum MHD_Result web_bisection_page(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	json_t *one = bisection_one(r, &err);
	char *detail;

	if (!one)
		return web_db_error(r, &err);
	html_page_begin_for(&b, "Bisection", r->user);
	buf_addf(&b, "<h1>Bisection %lld</h1>\n",
		 (long long)json_integer_value(json_object_get(one, "id")));
	buf_addstr(&b, bisection_head);
	bisection_row(&b, one);
	buf_addstr(&b, "</table>\n<p>");
	if (json_is_integer(json_object_get(one, "basis_flight")))
		buf_addf(&b, "Basis flight <a href=\"/flights/%lld\">%lld</a>. ",
			 (long long)json_integer_value(json_object_get(one, "basis_flight")),
			 (long long)json_integer_value(json_object_get(one, "basis_flight")));
	if (json_is_integer(json_object_get(one, "failure_flight")))
		buf_addf(&b, "Failure flight <a href=\"/flights/%lld\">%lld</a>.",
			 (long long)json_integer_value(json_object_get(one, "failure_flight")),
			 (long long)json_integer_value(json_object_get(one, "failure_flight")));
	bisection_graph(r, &b, json_integer_value(json_object_get(one, "id")));
	detail = json_dumps(json_object_get(one, "detail"), JSON_INDENT(2));
	buf_addstr(&b, "</p>\n<h2>Detail</h2>\n<pre>");
	html_escape(&b, detail);
	buf_addstr(&b, "</pre>\n");
	free(detail);
	html_page_end(&b);
	json_decref(one);
	return web_html(r, MHD_HTTP_OK, &b);
}
