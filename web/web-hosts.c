/*
 * web-hosts.c: the overview, hosts list and host pages, and their JSON
 * API (/api/v1/hosts, /api/v1/hosts/NAME).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-host.h"
#include "db-worker.h"
#include "labconf.h"
#include "web-internal.h"
#include "banned.h"


static void hosts_table(struct buf *b, const struct host *hosts, size_t n)
{
	buf_addstr(b, "<table><tr><th>Host</th><th>Arch</th><th>Site</th>"
		      "<th>State</th><th>Job</th><th>Flags</th></tr>\n");
	for (size_t i = 0; i < n; i++) {
		const struct host *h = &hosts[i];

		buf_addstr(b, "<tr><td><a href=\"/hosts/");
		html_escape(b, h->name);
		buf_addstr(b, "\">");
		html_escape(b, h->name);
		buf_addstr(b, "</a></td><td>");
		html_escape(b, h->arch);
		buf_addstr(b, "</td><td>");
		html_escape(b, h->site);
		buf_addstr(b, "</td><td class=\"state-");
		html_escape(b, h->state);
		buf_addstr(b, "\">");
		html_escape(b, h->state);
		if (h->state_reason) {
			buf_addstr(b, " <span class=\"muted\">(");
			html_escape(b, h->state_reason);
			buf_addstr(b, ")</span>");
		}
		buf_addstr(b, "</td><td>");
		if (h->job_flight) {
			buf_addf(b, "<a href=\"/flights/%ld/jobs/", h->job_flight);
			html_escape(b, h->job);
			buf_addf(b, "\">%ld.", h->job_flight);
			html_escape(b, h->job);
			buf_addstr(b, "</a>");
		}
		buf_addstr(b, "</td><td>");
		for (size_t k = 0; k < h->flags.n; k++) {
			if (k)
				buf_addch(b, ' ');
			html_escape(b, h->flags.v[k]);
		}
		buf_addstr(b, "</td></tr>\n");
	}
	buf_addstr(b, "</table>\n");
}

static void health_table(struct buf *b, const struct host *hosts, size_t n);

/*
 * Each site's hosts and remote workers (issue 22): when was each worker
 * last heard from, what it runs, what it still has to send. Shown when
 * the lab has more than one site or a remote worker.
 */
static void sites_table(struct buf *b, const struct host *hosts, size_t n,
			json_t *workers)
{
	struct vec sites = VEC_INIT;
	json_t *w;
	size_t i;

	for (i = 0; i < n; i++)
		if (vec_find(&sites, hosts[i].site) < 0)
			vec_push(&sites, hosts[i].site);
	json_array_foreach(workers, i, w)
		if (vec_find(&sites, web_jstr(w, "site")) < 0)
			vec_push(&sites, web_jstr(w, "site"));
	if (sites.n < 2 && !json_array_size(workers)) {
		vec_clear(&sites);
		return;
	}
	vec_sort(&sites);
	buf_addstr(b, "<h1>Sites</h1>\n<table><tr><th>Site</th><th>Hosts</th>"
		      "<th>Broken</th><th>Worker</th><th>Last seen</th>"
		      "<th>Jobs running</th><th>Spool backlog</th></tr>\n");
	for (size_t s = 0; s < sites.n; s++) {
		int nh = 0, broken = 0, nw = 0;

		for (i = 0; i < n; i++) {
			if (strcmp(hosts[i].site, sites.v[s]) ||
			    !strcmp(hosts[i].state, "retired"))
				continue;
			nh++;
			broken += !strcmp(hosts[i].state, "broken");
		}
		json_array_foreach(workers, i, w) {
			if (strcmp(web_jstr(w, "site"), sites.v[s]))
				continue;
			buf_addstr(b, "<tr><td>");
			if (!nw++) {
				html_escape(b, sites.v[s]);
				buf_addf(b, "</td><td>%d</td><td>%d", nh, broken);
			} else {
				buf_addstr(b, "</td><td></td><td>");
			}
			buf_addstr(b, "</td><td>");
			html_escape(b, web_jstr(w, "name"));
			buf_addstr(b, "</td><td>");
			html_escape(b, web_jstr(w, "last_seen"));
			buf_addf(b, " <span class=\"muted\">(%llds ago)</span>"
				    "</td><td>%lld</td><td>%lld bytes in %lld files"
				    "</td></tr>\n",
				 (long long)json_integer_value(json_object_get(w, "seconds_ago")),
				 (long long)json_integer_value(json_object_get(w, "running")),
				 (long long)json_integer_value(json_object_get(w, "spool_bytes")),
				 (long long)json_integer_value(json_object_get(w, "spool_files")));
		}
		if (!nw) {
			buf_addstr(b, "<tr><td>");
			html_escape(b, sites.v[s]);
			buf_addf(b, "</td><td>%d</td><td>%d</td><td colspan=\"4\" "
				    "class=\"muted\">no remote worker heard from "
				    "(a worker beside the database shows in its "
				    "jobs' leases)</td></tr>\n", nh, broken);
		}
	}
	buf_addstr(b, "</table>\n");
	vec_clear(&sites);
}

/* The overview (lab health and hosts) or the hosts page (hosts only). */
static enum MHD_Result hosts_page(struct web_req *r, int overview)
{
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	struct host *hosts;
	json_t *workers;
	size_t n;

	if (db_host_list(r->db, &hosts, &n, &err) < 0)
		return web_db_error(r, &err);
	if (db_worker_list_json(r->db, &workers, &err) < 0) {
		db_host_list_free(hosts, n);
		return web_db_error(r, &err);
	}
	html_page_begin_for(&b, overview ? "Overview" : "Hosts", r->user);
	if (overview)
		web_overview_branches(r, &b);
	health_table(&b, hosts, n);
	sites_table(&b, hosts, n, workers);
	json_decref(workers);
	buf_addstr(&b, "<h1>Hosts</h1>\n");
	hosts_table(&b, hosts, n);
	html_page_end(&b);
	db_host_list_free(hosts, n);
	return web_html(r, MHD_HTTP_OK, &b);
}

enum MHD_Result web_overview_page(struct web_req *r)
{
	return hosts_page(r, 1);
}

enum MHD_Result web_hosts_page(struct web_req *r)
{
	return hosts_page(r, 0);
}

/* Per arch: how many hosts, and how many in each state. */
static void health_table(struct buf *b, const struct host *hosts, size_t n)
{
	buf_addstr(b, "<h1>Lab health</h1>\n<table><tr><th>Arch</th>"
		      "<th>Hosts</th><th>Free</th><th>Allocated</th>"
		      "<th>Maintenance</th><th>Broken</th></tr>\n");
	for (const char *const *a = labconf_archs; *a; a++) {
		int count[5] = { 0 };
		static const char *const states[] = { "free", "allocated",
						      "maintenance", "broken",
						      NULL };

		for (size_t i = 0; i < n; i++) {
			if (strcmp(hosts[i].arch, *a) ||
			    !strcmp(hosts[i].state, "retired"))
				continue;
			count[4]++;
			for (int s = 0; states[s]; s++)
				count[s] += !strcmp(hosts[i].state, states[s]);
		}
		buf_addf(b, "<tr><td>%s</td><td>%d</td><td>%d</td><td>%d</td>"
			    "<td>%d</td><td>%d</td></tr>\n",
			 *a, count[4], count[0], count[1], count[2], count[3]);
	}
	buf_addstr(b, "</table>\n");
}



static void html_row(struct buf *b, const char *key, const char *value)
{
	buf_addstr(b, "<tr><th>");
	html_escape(b, key);
	buf_addstr(b, "</th><td>");
	html_escape(b, value);
	buf_addstr(b, "</td></tr>\n");
}

static void host_jobs_table(struct buf *b, json_t *jobs)
{
	json_t *x;
	size_t i;

	if (!json_array_size(jobs))
		return;   /* a new host: no empty table */
	buf_addstr(b, "<h2>Jobs</h2>\n<table><tr><th>Job</th><th>Status</th>"
		      "<th>Allocated</th><th>Released</th></tr>\n");
	json_array_foreach(jobs, i, x) {
		long long fl = json_integer_value(json_object_get(x, "flight"));

		buf_addf(b, "<tr><td><a href=\"/flights/%lld/jobs/", fl);
		html_escape(b, web_jstr(x, "job"));
		buf_addf(b, "\">%lld.", fl);
		html_escape(b, web_jstr(x, "job"));
		buf_addf(b, "</a></td><td class=\"st-%s\">", web_jstr(x, "status"));
		html_escape(b, web_jstr(x, "status"));
		buf_addstr(b, "</td><td>");
		html_escape(b, web_jstr(x, "allocated"));
		buf_addstr(b, "</td><td>");
		html_escape(b, web_jstr(x, "released"));
		buf_addstr(b, "</td></tr>\n");
	}
	buf_addstr(b, "</table>\n");
}

enum MHD_Result web_host_page(struct web_req *r)
{
	const char *name = r->args[0];
	json_t *jobs = NULL;
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	struct host_event *ev = NULL;
	struct host h;
	size_t n = 0;
	char port[16], timeout[16];

	memset(&h, 0, sizeof(h));
	if (db_host_get(r->db, name, &h, &err) < 0 ||
	    db_host_events(r->db, name, 50, &ev, &n, &err) < 0 ||
	    db_host_jobs_json(r->db, name, 50, &jobs, &err) < 0) {
		host_release(&h);
		db_host_events_free(ev, n);
		return web_db_error(r, &err);
	}
	snprintf(port, sizeof(port), "%d", h.port);
	snprintf(timeout, sizeof(timeout), "%ds", h.boot_timeout);
	html_page_begin_for(&b, h.name, r->user);
	buf_addstr(&b, "<h1>Host ");
	html_escape(&b, h.name);
	buf_addstr(&b, "</h1>\n<table>\n");
	html_row(&b, "arch", h.arch);
	html_row(&b, "site", h.site);
	html_row(&b, "state", h.state);
	if (h.state_reason)
		html_row(&b, "reason", h.state_reason);
	html_row(&b, "since", h.state_since);
	html_row(&b, "address", h.address);
	html_row(&b, "port", port);
	html_row(&b, "workdir", h.workdir);
	html_row(&b, "power", h.power);
	html_row(&b, "console", h.console);
	html_row(&b, "boot timeout", timeout);
	buf_addstr(&b, "</table>\n");
	host_jobs_table(&b, jobs);
	json_decref(jobs);
	if (n)
		buf_addstr(&b, "<h2>Events: power, state, maintenance</h2>\n"
			       "<table><tr><th>When</th><th>What</th><th>Who</th>"
			       "<th>Detail</th></tr>\n");
	for (size_t i = 0; i < n; i++) {
		buf_addstr(&b, "<tr><td>");
		html_escape(&b, ev[i].at);
		buf_addstr(&b, "</td><td>");
		html_escape(&b, ev[i].kind);
		buf_addstr(&b, "</td><td>");
		html_escape(&b, ev[i].actor);
		buf_addstr(&b, "</td><td class=\"muted\">");
		html_escape(&b, ev[i].detail);
		buf_addstr(&b, "</td></tr>\n");
	}
	if (n)
		buf_addstr(&b, "</table>\n");
	html_page_end(&b);
	db_host_events_free(ev, n);
	host_release(&h);
	return web_html(r, MHD_HTTP_OK, &b);
}

enum MHD_Result web_hosts_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct host *hosts;
	json_t *arr;
	size_t n;

	if (db_host_list(r->db, &hosts, &n, &err) < 0)
		return web_db_error(r, &err);
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, host_to_json(&hosts[i], 0));
	db_host_list_free(hosts, n);
	return web_json(r, MHD_HTTP_OK, arr);
}

enum MHD_Result web_host_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct host h;
	json_t *o, *jobs;

	if (db_host_get(r->db, r->args[0], &h, &err) < 0)
		return web_db_error(r, &err);
	o = host_to_json(&h, 1);
	host_release(&h);
	if (db_host_jobs_json(r->db, r->args[0], 50, &jobs, &err) < 0) {
		json_decref(o);
		return web_db_error(r, &err);
	}
	json_object_set_new(o, "jobs", jobs);
	return web_json(r, MHD_HTTP_OK, o);
}
