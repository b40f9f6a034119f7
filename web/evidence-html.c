/*
 * evidence-html.c: an evidence record as a human, printable page
 * (evidence-html.h).
 */
#include <string.h>

#include "evidence-html.h"
#include "web-internal.h"
#include "banned.h"

/* Inline in a page the CLI writes, so that it stands alone; served as
 * /static/evidence.css by the web. The print rules make a PDF of it
 * readable: no colours lost, no row cut, no navigation. */
const char evidence_stylesheet[] =
	"body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\n"
	"h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em;"
	"border-bottom:1px solid #999}h3{font-size:1.05em;margin-bottom:.3em}\n"
	"table{border-collapse:collapse;margin:.4em 0}\n"
	"th,td{border:1px solid #bbb;padding:.2em .5em;text-align:left;"
	"vertical-align:top}\n"
	"th{background:#eee}\n"
	".mono,.sha{font-family:ui-monospace,monospace;font-size:.85em}\n"
	".sha{word-break:break-all}\n"
	".st-pass,.st-verified{background:#cfc}.st-fail,.st-failed{background:#f99}"
	".st-broken{background:#fc6}.st-unverified,.st-blocked,.st-skip,"
	".st-cancelled{background:#ddd}\n"
	".muted{color:#666}\n"
	".problem{background:#fdd;border:1px solid #e66;padding:.4em .8em}\n"
	"dl.facts{display:grid;grid-template-columns:max-content auto;"
	"gap:.15em 1em}dl.facts dt{font-weight:bold}dl.facts dd{margin:0}\n"
	"ul.by{margin:0;padding-left:1.1em}\n"
	"@media print{body{margin:0;font-size:10pt}nav{display:none}"
	"a{color:inherit;text-decoration:none}"
	"tr,li,dl{break-inside:avoid}h2,h3{break-after:avoid}"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n";

/* A string member, or NULL. */
static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Escaped text, "-" for none. */
static void text(struct buf *b, const char *s)
{
	html_escape(b, s ? s : "-");
}

/* A number member, or "-". */
static void num(struct buf *b, json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		buf_addf(b, "%lld", (long long)json_integer_value(v));
	else
		buf_addch(b, '-');
}

/* A status in its colour (class st-WORD for the words we know). */
static void status_cell(struct buf *b, const char *status)
{
	static const char *const known[] = {
		"pass", "fail", "broken", "blocked", "skip", "cancelled",
		"verified", "failed", "unverified",
	};
	const char *cls = "";

	for (size_t i = 0; status && i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(status, known[i]))
			cls = known[i];
	buf_addstr(b, "<td");
	if (*cls)
		buf_addf(b, " class=\"st-%s\"", cls);
	buf_addch(b, '>');
	text(b, status);
	buf_addstr(b, "</td>");
}

/* A path of several segments in a URL: each percent-encoded, the '/'
 * between them kept. */
static void url_path(struct buf *b, const char *path)
{
	while (*path) {
		const char *slash = strchr(path, '/');
		size_t n = slash ? (size_t)(slash - path) : strlen(path);
		char seg[512];

		if (n >= sizeof(seg))
			n = sizeof(seg) - 1;
		memcpy(seg, path, n);
		seg[n] = '\0';
		html_url_encode(b, seg);
		if (!slash)
			break;
		buf_addch(b, '/');
		path = slash + 1;
	}
}

/* <a href="URL PREFIX PATH">TEXT</a>, or TEXT alone without url. */
static void link_to(struct buf *b, const char *url, const char *prefix,
		    const char *path, const char *label)
{
	if (!url || !path) {
		text(b, label);
		return;
	}
	buf_addstr(b, "<a href=\"");
	html_escape(b, url);
	buf_addstr(b, prefix);
	url_path(b, path);
	buf_addstr(b, "\">");
	text(b, label);
	buf_addstr(b, "</a>");
}

/* A job's name, a link to its page in flight (when there is one). */
static void job_link(struct buf *b, const char *url, const char *flight,
		     const char *job)
{
	struct buf p = BUF_INIT;

	if (!flight || !job) {
		text(b, job);
		return;
	}
	buf_addf(&p, "%s/jobs/%s", flight, job);
	link_to(b, url, "/flights/", p.buf, job);
	buf_release(&p);
}

/* A file's cells: its path (a link to /logs/PATH when logs), SHA-256,
 * size. */
static void file_cells(struct buf *b, json_t *f, const char *url, int logs)
{
	const char *path = jstr(f, "path");

	buf_addstr(b, "<td class=\"mono\">");
	if (logs)
		link_to(b, url, "/logs/", path, path);
	else
		text(b, path);
	buf_addstr(b, "</td><td class=\"sha\">");
	text(b, jstr(f, "sha256"));
	buf_addstr(b, "</td><td>");
	num(b, f, "size");
	buf_addstr(b, "</td>");
}

/* A link to /api/v1/evidence/REV WHAT, of this record's branch (two
 * branches may have records of one revision). */
static void download(struct buf *b, const char *url, const char *rev,
		     const char *what, const char *branch, const char *label)
{
	buf_addstr(b, "<a href=\"");
	html_escape(b, url);
	buf_addstr(b, "/api/v1/evidence/");
	html_url_encode(b, rev);
	buf_addstr(b, what);
	if (branch) {
		buf_addstr(b, "?branch=");
		html_url_encode(b, branch);
	}
	buf_addstr(b, "\">");
	html_escape(b, label);
	buf_addstr(b, "</a>");
}

static void facts(struct buf *b, json_t *rec, const struct evidence *e,
		  const char *url)
{
	json_t *harness = json_object_get(rec, "harness"), *v;
	const char *rev = jstr(rec, "revision");
	size_t i;

	buf_addstr(b, "<dl class=\"facts\"><dt>Flight</dt><dd>");
	if (json_is_integer(json_object_get(rec, "flight"))) {
		char fl[32];

		snprintf(fl, sizeof(fl), "%lld",
			 (long long)json_integer_value(json_object_get(rec, "flight")));
		link_to(b, url, "/flights/", fl, fl);
	} else {
		buf_addch(b, '-');
	}
	buf_addstr(b, "</dd><dt>Branch</dt><dd>");
	text(b, jstr(rec, "branch"));
	buf_addstr(b, "</dd><dt>Tree</dt><dd>");
	text(b, jstr(rec, "tree"));
	buf_addstr(b, "</dd><dt>Revision</dt><dd class=\"mono\">");
	text(b, rev);
	buf_addstr(b, "</dd><dt>Intent</dt><dd>");
	text(b, jstr(rec, "intent"));
	buf_addstr(b, "</dd><dt>Status</dt><dd>");
	text(b, jstr(rec, "status"));
	buf_addstr(b, "</dd><dt>Verdict</dt><dd>");
	text(b, jstr(rec, "verdict"));
	buf_addstr(b, json_is_true(json_object_get(rec, "pushed")) ? " (pushed)"
								   : " (not pushed)");
	buf_addstr(b, "</dd><dt>Decided</dt><dd>");
	text(b, jstr(rec, "decided_at"));
	buf_addstr(b, "</dd><dt>Harness</dt><dd class=\"mono\">");
	if (!json_array_size(harness))
		buf_addstr(b, "unknown");
	json_array_foreach(harness, i, v) {
		if (i)
			buf_addstr(b, ", ");
		text(b, json_string_value(v));
	}
	buf_addstr(b, "</dd><dt>Schema</dt><dd>");
	text(b, jstr(rec, "schema"));
	buf_addstr(b, "</dd>");
	if (e) {
		buf_addstr(b, "<dt>Record SHA-256</dt><dd class=\"sha\">");
		text(b, e->sha256);
		buf_addstr(b, "</dd><dt>Written</dt><dd>");
		text(b, e->created_at);
		buf_addstr(b, "</dd><dt>Signature</dt><dd>");
		if (e->signature) {
			buf_addstr(b, "ssh-keygen -Y sign by ");
			text(b, e->signer);
			buf_addstr(b, ", namespace hangar-evidence<br><span class=\"sha\">");
			text(b, e->signer_key);
			buf_addstr(b, "</span>");
		} else {
			buf_addstr(b, "<strong>unsigned</strong> (the lab configures no "
				      "[evidence] key)");
		}
		buf_addstr(b, "</dd>");
		if (url && rev) {
			buf_addstr(b, "<dt>Downloads</dt><dd>");
			download(b, url, rev, "", e->branch, "record (JSON)");
			if (e->signature) {
				buf_addstr(b, " &middot; ");
				download(b, url, rev, "/signature", e->branch,
					 "signature");
				buf_addstr(b, " &middot; ");
				download(b, url, rev, "/allowed_signers", e->branch,
					 "allowed_signers");
			}
			buf_addstr(b, "</dd>");
		}
	}
	buf_addstr(b, "</dl>\n");
}

static void requirements(struct buf *b, json_t *rec, const char *url)
{
	json_t *src = json_object_get(rec, "requirements_source");
	json_t *reqs = json_object_get(rec, "requirements"), *q;
	const char *error = jstr(rec, "requirements_error");
	const char *flight = NULL;
	char fl[32];
	size_t i, counts[3] = { 0, 0, 0 };

	if (json_is_integer(json_object_get(rec, "flight"))) {
		snprintf(fl, sizeof(fl), "%lld",
			 (long long)json_integer_value(json_object_get(rec, "flight")));
		flight = fl;
	}
	buf_addstr(b, "<h2>Requirements</h2>\n");
	if (!json_is_object(src)) {
		buf_addstr(b, "<p class=\"muted\">No requirements are configured "
			      "([requirements] of the lab).</p>\n");
	} else {
		buf_addstr(b, "<p>Read from ");
		text(b, jstr(src, "file"));
		if (jstr(src, "tree")) {
			buf_addstr(b, " of tree ");
			text(b, jstr(src, "tree"));
		}
		if (jstr(src, "revision")) {
			buf_addstr(b, " at <span class=\"mono\">");
			text(b, jstr(src, "revision"));
			buf_addstr(b, "</span>");
		}
		buf_addstr(b, " (");
		text(b, jstr(src, "source"));
		buf_addstr(b, "), SHA-256 <span class=\"sha\">");
		text(b, jstr(src, "sha256"));
		buf_addstr(b, "</span>.</p>\n");
	}
	if (error) {
		buf_addstr(b, "<p class=\"problem\">The requirements could not be "
			      "read: ");
		text(b, error);
		buf_addstr(b, "</p>\n");
	}
	if (!json_array_size(reqs))
		return;
	json_array_foreach(reqs, i, q) {
		const char *s = jstr(q, "status");

		counts[s && !strcmp(s, "verified") ? 0
		       : s && !strcmp(s, "failed") ? 1 : 2]++;
	}
	buf_addf(b, "<p>%zu requirements: %zu verified, %zu failed, %zu "
		    "unverified.</p>\n", json_array_size(reqs), counts[0],
		 counts[1], counts[2]);
	buf_addstr(b, "<table class=\"requirements\"><tr><th>Id</th><th>Title</th>"
		      "<th>Status</th><th>Verified by</th><th>Test lines</th></tr>\n");
	json_array_foreach(reqs, i, q) {
		json_t *ev = json_object_get(q, "evidence");
		json_t *tests = json_object_get(q, "tests"), *x;
		size_t k;

		buf_addstr(b, "<tr><td class=\"mono\">");
		text(b, jstr(q, "id"));
		buf_addstr(b, "</td><td>");
		html_escape(b, jstr(q, "title"));
		buf_addstr(b, "</td>");
		status_cell(b, jstr(q, "status"));
		buf_addstr(b, "<td>");
		if (json_array_size(ev)) {
			buf_addstr(b, "<ul class=\"by\">");
			json_array_foreach(ev, k, x) {
				buf_addstr(b, "<li>");
				job_link(b, url, flight, jstr(x, "job"));
				buf_addstr(b, " <span class=\"mono\">");
				text(b, jstr(x, "step"));
				buf_addstr(b, "</span>: ");
				text(b, jstr(x, "status"));
				buf_addstr(b, "</li>");
			}
			buf_addstr(b, "</ul>");
		} else {
			buf_addstr(b, "<span class=\"muted\">no step</span>");
		}
		buf_addstr(b, "</td><td class=\"mono\">");
		json_array_foreach(tests, k, x) {
			if (k)
				buf_addstr(b, "<br>");
			text(b, jstr(x, "job"));
			buf_addch(b, ' ');
			text(b, jstr(x, "step"));
		}
		buf_addstr(b, "</td></tr>\n");
	}
	buf_addstr(b, "</table>\n");
}

static void revisions(struct buf *b, json_t *rec)
{
	json_t *revs = json_object_get(rec, "revisions"), *v;
	const char *tree;

	buf_addstr(b, "<h2>Revisions</h2>\n");
	if (!json_object_size(revs)) {
		buf_addstr(b, "<p class=\"muted\">None recorded.</p>\n");
		return;
	}
	buf_addstr(b, "<table><tr><th>Tree</th><th>Revision</th></tr>\n");
	json_object_foreach(revs, tree, v) {
		buf_addstr(b, "<tr><td>");
		text(b, tree);
		buf_addstr(b, "</td><td class=\"mono\">");
		text(b, json_string_value(v));
		buf_addstr(b, "</td></tr>\n");
	}
	buf_addstr(b, "</table>\n");
}

static void one_job(struct buf *b, json_t *j, const char *flight,
		    const char *url)
{
	json_t *x, *runvars = json_object_get(j, "runvars");
	const char *name;
	size_t i;

	buf_addstr(b, "<h3 id=\"job-");
	html_url_encode(b, jstr(j, "job") ? jstr(j, "job") : "");
	buf_addstr(b, "\">");
	job_link(b, url, flight, jstr(j, "job"));
	buf_addstr(b, ": ");
	text(b, jstr(j, "status"));
	buf_addstr(b, "</h3>\n<p>Recipe ");
	text(b, jstr(j, "recipe"));
	buf_addstr(b, ", arch ");
	text(b, jstr(j, "arch"));
	buf_addstr(b, ", attempt ");
	num(b, j, "attempt");
	buf_addstr(b, ", harness <span class=\"mono\">");
	text(b, jstr(j, "harness"));
	buf_addstr(b, "</span>, from ");
	text(b, jstr(j, "started_at"));
	buf_addstr(b, " to ");
	text(b, jstr(j, "finished_at"));
	buf_addstr(b, ".</p>\n");

	buf_addstr(b, "<table class=\"hosts\"><tr><th>Role</th><th>Host</th>"
		      "<th>Arch</th><th>Site</th><th>Firmware</th></tr>\n");
	json_array_foreach(json_object_get(j, "hosts"), i, x) {
		buf_addstr(b, "<tr><td>");
		text(b, jstr(x, "role"));
		buf_addstr(b, "</td><td>");
		link_to(b, url, "/hosts/", jstr(x, "name"), jstr(x, "name"));
		buf_addstr(b, "</td><td>");
		text(b, jstr(x, "arch"));
		buf_addstr(b, "</td><td>");
		text(b, jstr(x, "site"));
		buf_addstr(b, "</td><td>");
		if (jstr(x, "firmware"))
			html_escape(b, jstr(x, "firmware"));
		else
			buf_addstr(b, "<span class=\"muted\">not reported</span>");
		buf_addstr(b, "</td></tr>\n");
	}
	buf_addstr(b, "</table>\n");

	buf_addstr(b, "<table class=\"steps\"><tr><th>#</th><th>Step</th>"
		      "<th>Status</th><th>Started</th><th>Finished</th>"
		      "<th>Log</th><th>SHA-256</th><th>Bytes</th></tr>\n");
	json_array_foreach(json_object_get(j, "steps"), i, x) {
		json_t *log = json_object_get(x, "log");

		buf_addstr(b, "<tr><td>");
		num(b, x, "stepno");
		buf_addstr(b, "</td><td class=\"mono\">");
		text(b, jstr(x, "step"));
		buf_addstr(b, "</td>");
		status_cell(b, jstr(x, "status"));
		buf_addstr(b, "<td>");
		text(b, jstr(x, "started_at"));
		buf_addstr(b, "</td><td>");
		text(b, jstr(x, "finished_at"));
		buf_addstr(b, "</td>");
		if (json_is_object(log))
			file_cells(b, log, url, 1);
		else
			buf_addstr(b, "<td class=\"muted\">none</td><td></td><td></td>");
		buf_addstr(b, "</tr>\n");
	}
	buf_addstr(b, "</table>\n");

	if (json_array_size(json_object_get(j, "logs"))) {
		buf_addstr(b, "<table class=\"logs\"><tr><th>Log file</th>"
			      "<th>SHA-256</th><th>Bytes</th></tr>\n");
		json_array_foreach(json_object_get(j, "logs"), i, x) {
			buf_addstr(b, "<tr>");
			file_cells(b, x, url, 1);
			buf_addstr(b, "</tr>\n");
		}
		buf_addstr(b, "</table>\n");
	}
	if (json_array_size(json_object_get(j, "artifacts"))) {
		buf_addstr(b, "<table class=\"artifacts\"><tr><th>Artifact</th>"
			      "<th>SHA-256</th><th>Bytes</th></tr>\n");
		json_array_foreach(json_object_get(j, "artifacts"), i, x) {
			buf_addstr(b, "<tr>");
			file_cells(b, x, url, 0);
			buf_addstr(b, "</tr>\n");
		}
		buf_addstr(b, "</table>\n");
	}
	if (json_object_size(runvars)) {
		buf_addstr(b, "<p class=\"mono muted\">");
		json_object_foreach(runvars, name, x) {
			text(b, name);
			buf_addch(b, '=');
			html_escape(b, json_string_value(x));
			buf_addch(b, ' ');
		}
		buf_rtrim(b);
		buf_addstr(b, "</p>\n");
	}
}

void evidence_html(struct buf *b, json_t *record, const struct evidence *e,
		   const char *url)
{
	json_t *jobs = json_object_get(record, "jobs"), *j;
	const char *rev = jstr(record, "revision");
	char flight[32] = "";
	size_t i;

	if (json_is_integer(json_object_get(record, "flight")))
		snprintf(flight, sizeof(flight), "%lld",
			 (long long)json_integer_value(json_object_get(record,
								       "flight")));
	buf_addstr(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
		      "<meta charset=\"utf-8\">"
		      "<meta name=\"viewport\" content=\"width=device-width\">"
		      "<title>Evidence: ");
	text(b, jstr(record, "tree"));
	buf_addch(b, ' ');
	text(b, rev);
	buf_addstr(b, " - hangar</title>");
	if (url) {
		buf_addstr(b, "<link rel=\"stylesheet\" href=\"");
		html_escape(b, url);
		buf_addstr(b, "/static/evidence.css\">");
	} else {
		buf_addstr(b, "<style>");
		buf_addstr(b, evidence_stylesheet);
		buf_addstr(b, "</style>");
	}
	buf_addstr(b, "</head><body>\n");
	if (url) {
		buf_addstr(b, "<nav><a href=\"");
		html_escape(b, url);
		buf_addstr(b, "/\">hangar</a>");
		if (jstr(record, "branch")) {
			buf_addstr(b, " &middot; ");
			link_to(b, url, "/branches/", jstr(record, "branch"),
				jstr(record, "branch"));
		}
		buf_addstr(b, "</nav>\n");
	}
	buf_addstr(b, "<h1>Evidence of ");
	text(b, jstr(record, "tree"));
	buf_addstr(b, " <span class=\"mono\">");
	text(b, rev);
	buf_addstr(b, "</span></h1>\n");
	facts(b, record, e, url);
	requirements(b, record, url);
	revisions(b, record);
	buf_addf(b, "<h2>Jobs (%zu)</h2>\n", json_array_size(jobs));
	json_array_foreach(jobs, i, j)
		one_job(b, j, flight[0] ? flight : NULL, url);
	buf_addstr(b, "</body></html>\n");
}
