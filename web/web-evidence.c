/*
 * web-evidence.c: the evidence records (docs/evidence.md) over HTTP: the
 * stored bytes exactly as signed, the signature and the allowed_signers
 * line that `ssh-keygen -Y verify` takes, by revision or by flight, and
 * the human page (evidence-html.h). Read only: records are made by the
 * gate and `hangar evidence record`.
 */
#include <string.h>

#include "db-evidence.h"
#include "evidence-diff.h"
#include "evidence-html.h"
#include "web-internal.h"
#include "xalloc.h"
#include "banned.h"

/* The record of REV (args[0]; ?branch= narrows it): 0, or an answer
 * queued (*ret) when there is none. */
static int by_rev(struct web_req *r, struct evidence *e, enum MHD_Result *ret)
{
	struct err err = ERR_INIT;

	if (db_evidence_by_rev(r->db, r->args[0], web_query(r, "branch"), e,
			       &err) == 0)
		return 0;
	/* a prefix of several revisions names no record: ask for more */
	if (err.code == ERR_FAIL && db_connection_ok(r->db))
		err.code = ERR_USAGE;
	*ret = web_db_error(r, &err);
	return -1;
}

/* The stored bytes, untouched: what was signed and what verifies. */
static enum MHD_Result record_bytes(struct web_req *r, struct evidence *e)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, e->record);
	db_evidence_release(e);
	return web_text(r, MHD_HTTP_OK, "application/json", &b);
}

enum MHD_Result web_evidence_api(struct web_req *r)
{
	struct evidence e;
	enum MHD_Result ret;

	if (by_rev(r, &e, &ret) < 0)
		return ret;
	return record_bytes(r, &e);
}

enum MHD_Result web_flight_evidence_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	long id = web_arg_flight(r, 0);
	struct evidence e;

	if (!id)
		return web_error(r, MHD_HTTP_BAD_REQUEST, "bad request",
				 "not a flight number");
	if (db_evidence_by_flight(r->db, id, &e, &err) < 0)
		return web_db_error(r, &err);
	return record_bytes(r, &e);
}

/* An unsigned record has no signature to give: 404, saying so. */
static enum MHD_Result unsigned_record(struct web_req *r, struct evidence *e)
{
	char what[160];

	snprintf(what, sizeof(what), "the record of flight %ld is unsigned "
		 "(the lab configured no [evidence] key)", e->flight);
	db_evidence_release(e);
	return web_error(r, MHD_HTTP_NOT_FOUND, "unsigned", what);
}

enum MHD_Result web_evidence_signature(struct web_req *r)
{
	struct buf b = BUF_INIT;
	struct evidence e;
	enum MHD_Result ret;

	if (by_rev(r, &e, &ret) < 0)
		return ret;
	if (!e.signature)
		return unsigned_record(r, &e);
	buf_addstr(&b, e.signature);
	if (b.len && b.buf[b.len - 1] != '\n')
		buf_addch(&b, '\n');
	db_evidence_release(&e);
	return web_text(r, MHD_HTTP_OK, "text/plain; charset=utf-8", &b);
}

enum MHD_Result web_evidence_signers(struct web_req *r)
{
	struct buf b = BUF_INIT;
	struct evidence e;
	enum MHD_Result ret;

	if (by_rev(r, &e, &ret) < 0)
		return ret;
	if (!e.signature || !e.signer || !e.signer_key)
		return unsigned_record(r, &e);
	/* the line of ssh-keygen's ALLOWED SIGNERS format */
	buf_addf(&b, "%s namespaces=\"hangar-evidence\" %s\n", e.signer,
		 e.signer_key);
	db_evidence_release(&e);
	return web_text(r, MHD_HTTP_OK, "text/plain; charset=utf-8", &b);
}

/* The page's stylesheet: the server's pages take no inline style (its
 * Content-Security-Policy), a page written by the CLI has it inline. */
enum MHD_Result web_evidence_style(struct web_req *r)
{
	struct buf b = BUF_INIT;

	buf_addstr(&b, evidence_stylesheet);
	return web_text(r, MHD_HTTP_OK, "text/css", &b);
}

enum MHD_Result web_evidence_page(struct web_req *r)
{
	struct buf b = BUF_INIT;
	struct evidence e;
	enum MHD_Result ret;
	json_error_t je;
	json_t *rec;

	if (by_rev(r, &e, &ret) < 0)
		return ret;
	rec = json_loads(e.record, 0, &je);
	if (!rec) {
		char what[200];

		snprintf(what, sizeof(what), "the record of flight %ld is not "
			 "JSON: %s", e.flight, je.text);
		db_evidence_release(&e);
		return web_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "internal error", what);
	}
	evidence_html(&b, rec, &e, "");
	json_decref(rec);
	db_evidence_release(&e);
	return web_html(r, MHD_HTTP_OK, &b);
}

/* A link to the page of record e: by revision (on its branch), else the
 * JSON by flight. */
static void record_link(struct buf *b, const struct evidence *e)
{
	char label[64];

	snprintf(label, sizeof(label), "flight %ld", e->flight);
	if (e->revision) {
		buf_addstr(b, "<a href=\"/evidence/");
		html_url_encode(b, e->revision);
		if (e->branch) {
			buf_addstr(b, "?branch=");
			html_url_encode(b, e->branch);
		}
		buf_addstr(b, "\">");
		html_escape(b, label);
		buf_addstr(b, "</a> (<span class=\"mono\">");
		buf_addf(b, "%.12s", e->revision);
		buf_addstr(b, "</span>)");
	} else {
		buf_addf(b, "<a href=\"/api/v1/flights/%ld/evidence\">", e->flight);
		html_escape(b, label);
		buf_addstr(b, "</a>");
	}
}

/* The titles of the requirements of records to, then from, by id (a new
 * reference): one lookup each, whatever the number of requirements. */
static json_t *titles_of(json_t *from, json_t *to)
{
	json_t *t = json_object(), *recs[2] = { to, from }, *q;
	size_t i;

	for (int k = 0; k < 2; k++)
		json_array_foreach(json_object_get(recs[k], "requirements"), i, q) {
			const char *id = json_string_value(json_object_get(q, "id"));
			json_t *title = json_object_get(q, "title");

			if (id && json_is_string(title) && !json_object_get(t, id))
				json_object_set(t, id, title);
		}
	return t;
}

/* One change list of the branch page: each id with its title. */
static void change_list(struct buf *b, const char *what, json_t *ids,
			json_t *titles)
{
	json_t *v;
	size_t i;

	if (!json_array_size(ids))
		return;
	buf_addf(b, "<h3>%s (%zu)</h3>\n<ul class=\"changes\">", what,
		 json_array_size(ids));
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);

		buf_addstr(b, "<li><span class=\"mono\">");
		html_escape(b, id);
		buf_addstr(b, "</span> ");
		html_escape(b, id ? json_string_value(json_object_get(titles, id))
				  : NULL);
		buf_addstr(b, "</li>");
	}
	buf_addstr(b, "</ul>\n");
}

void web_branch_evidence(struct web_req *r, struct buf *b, const char *branch)
{
	struct evidence last, before;
	struct err err = ERR_INIT;
	json_t *to, *from = NULL, *diff, *titles;
	size_t changes = 0;
	int have_before;

	if (db_evidence_pushed_before(r->db, branch, 0, &last, &err) < 0) {
		if (err.code != ERR_NOTFOUND) {
			buf_addstr(b, "<h2>Evidence</h2>\n<p class=\"problem\">");
			html_escape(b, err.msg);
			buf_addstr(b, "</p>\n");
		}
		return;
	}
	err = (struct err)ERR_INIT;
	have_before = db_evidence_pushed_before(r->db, branch, last.flight,
						&before, &err) == 0;
	buf_addstr(b, "<h2>Evidence</h2>\n<p>Last pushed record: ");
	record_link(b, &last);
	buf_addstr(b, "; the one before it: ");
	if (have_before)
		record_link(b, &before);
	else
		buf_addstr(b, err.code == ERR_NOTFOUND ? "none" : "unreadable");
	buf_addstr(b, ".</p>\n");
	to = json_loads(last.record, 0, NULL);
	if (have_before)
		from = json_loads(before.record, 0, NULL);
	diff = evidence_diff(from, to);
	changes = json_array_size(json_object_get(diff, "newly_verified")) +
		  json_array_size(json_object_get(diff, "newly_failing")) +
		  json_array_size(json_object_get(diff, "no_longer_verified")) +
		  json_array_size(json_object_get(diff, "added")) +
		  json_array_size(json_object_get(diff, "removed"));
	if (!changes)
		buf_addf(b, "<p>No change in %zu requirements.</p>\n",
			 json_array_size(json_object_get(to, "requirements")));
	titles = titles_of(from, to);
	change_list(b, "Newly verified", json_object_get(diff, "newly_verified"),
		    titles);
	change_list(b, "Newly failing", json_object_get(diff, "newly_failing"),
		    titles);
	change_list(b, "No longer verified",
		    json_object_get(diff, "no_longer_verified"), titles);
	change_list(b, "Added", json_object_get(diff, "added"), titles);
	change_list(b, "Removed", json_object_get(diff, "removed"), titles);
	json_decref(titles);
	json_decref(diff);
	json_decref(from);
	json_decref(to);
	db_evidence_release(&last);
	if (have_before)
		db_evidence_release(&before);
}
