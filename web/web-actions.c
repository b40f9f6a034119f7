/*
 * web-actions.c: what changes things: ad-hoc requests and reservations,
 * cancels, host maintenance and branch controls (JSON API, with a bearer
 * token), and the browser's login, logout, request and cancel forms (the
 * session cookie and a CSRF token). Every change is recorded under the
 * token's user (db_set_actor in web.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-flight.h"
#include "db-gate.h"
#include "db-host.h"
#include "db-reserve.h"
#include "db-sched.h"
#include "gitx.h"
#include "request.h"
#include "strnum.h"
#include "web-internal.h"
#include "xalloc.h"
#include "banned.h"

#define SESSION_MAX_AGE (30 * 86400)

static enum MHD_Result bad_request(struct web_req *r, const char *why)
{
	return web_error(r, MHD_HTTP_BAD_REQUEST, "bad request", why);
}

/* The JSON object body of an action (empty: {}); NULL after a 400. */
static json_t *action_body(struct web_req *r, enum MHD_Result *ret)
{
	json_error_t e;
	json_t *o;

	if (!r->body_len)
		return json_object();
	o = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!o || !json_is_object(o)) {
		char why[256];

		if (o)
			snprintf(why, sizeof(why), "the body must be a JSON object");
		else
			snprintf(why, sizeof(why), "malformed JSON at line %d: %s",
				 e.line, e.text);
		json_decref(o);
		*ret = bad_request(r, why);
		return NULL;
	}
	return o;
}

/* A string member, or NULL; -1 when present and not a string. */
static int body_string(json_t *o, const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	*out = json_string_value(v);
	return 0;
}

/* ---- requests ---- */

static int create_request(struct web_req *r, struct request *rq, long *id,
			  struct err *err)
{
	int rc;

	/* two fetches into one cache take turns: gitx locks each cache */
	rq->requested_by = r->user;
	rc = request_create(r->db, r->state, rq, id, err);
	return rc;
}

enum MHD_Result web_request_post(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct request rq;
	enum MHD_Result ret;
	json_t *root = NULL;
	char why[256];
	long id;

	request_init(&rq);
	if (web_parse_request(r->body, r->body_len, &rq, &root, why, sizeof(why)) < 0)
		ret = bad_request(r, why);
	else if (create_request(r, &rq, &id, &err) < 0)
		ret = web_db_error(r, &err);
	else
		ret = web_json(r, MHD_HTTP_CREATED,
			       json_pack("{s:I, s:o}", "flight", (json_int_t)id, "url",
					 json_sprintf("/flights/%ld", id)));
	request_release(&rq);
	json_decref(root);
	return ret;
}

/*
 * Whether the asker may cancel flight id: admins any, developers their own
 * requests. 0, or an answer already queued (in *ret).
 */
static int may_cancel(struct web_req *r, long id, int adhoc_only,
		      enum MHD_Result *ret)
{
	struct err err = ERR_INIT;
	json_t *f;
	int ok;

	if (db_flight_json(r->db, id, &f, &err) < 0) {
		*ret = web_db_error(r, &err);
		return -1;
	}
	ok = (!adhoc_only || !strcmp(web_jstr(f, "intent"), "adhoc")) &&
	     (r->role >= ROLE_ADMIN || !strcmp(web_jstr(f, "requested_by"), r->user));
	json_decref(f);
	if (!ok) {
		*ret = web_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
				 r->role >= ROLE_ADMIN
					 ? "this is not an ad-hoc request: cancel the flight "
					   "(POST /api/v1/flights/F/cancel)"
					 : "only its requester or an admin may cancel it");
		return -1;
	}
	return 0;
}

static enum MHD_Result cancel(struct web_req *r, int adhoc_only)
{
	struct err err = ERR_INIT;
	enum MHD_Result ret;
	long id = web_arg_flight(r, 0);
	int jobs;

	if (!id)
		return web_not_found(r, r->url);
	if (may_cancel(r, id, adhoc_only, &ret) < 0)
		return ret;
	if (db_flight_cancel(r->db, id, &jobs, &err) < 0)
		return web_db_error(r, &err);
	return web_json(r, MHD_HTTP_OK, json_pack("{s:I, s:s, s:i}", "flight",
						  (json_int_t)id, "status", "cancelled",
						  "jobs", jobs));
}

enum MHD_Result web_request_delete(struct web_req *r)
{
	return cancel(r, 1);
}

enum MHD_Result web_cancel_post(struct web_req *r)
{
	return cancel(r, 0);
}

/* ---- reservations ---- */

enum MHD_Result web_reserve_post(struct web_req *r)
{
	struct sched_reserve rs;
	struct err err = ERR_INIT;
	enum MHD_Result ret;
	json_t *root = NULL;
	char why[256];
	long id;

	memset(&rs, 0, sizeof(rs));
	if (web_parse_reservation(r->body, r->body_len, &rs, &root, why,
				  sizeof(why)) < 0) {
		ret = bad_request(r, why);
	} else {
		rs.owner = r->user;
		if (db_sched_reserve(r->db, &rs, &id, &err) < 0)
			ret = web_db_error(r, &err);
		else
			ret = web_json(r, MHD_HTTP_CREATED,
				       json_pack("{s:I, s:s, s:o}", "reservation",
						 (json_int_t)id, "status", "waiting",
						 "url",
						 json_sprintf("/api/v1/reservations/%ld", id)));
	}
	json_decref(root);
	return ret;
}

enum MHD_Result web_reservations_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	/* GET /api/v1/reservations or /api/v1/reservations/R */
	int one_of = r->args[0][0] != '\0';
	long id = one_of ? web_arg_flight(r, 0) : 0;
	json_t *list, *one;

	if (one_of && !id)
		return web_not_found(r, "no such reservation");
	if (db_reserve_list_json(r->db, id, &list, &err) < 0)
		return web_db_error(r, &err);
	if (!one_of)
		return web_json(r, MHD_HTTP_OK, list);
	one = json_incref(json_array_get(list, 0));
	json_decref(list);
	return one ? web_json(r, MHD_HTTP_OK, one)
		   : web_not_found(r, "no live reservation of that number");
}

enum MHD_Result web_reserve_delete(struct web_req *r)
{
	struct err err = ERR_INIT;
	long id = web_arg_flight(r, 0);
	char *owner;
	int own;

	if (!id)
		return web_not_found(r, r->url);
	if (db_reserve_owner(r->db, id, &owner, &err) < 0)
		return web_db_error(r, &err);
	own = !strcmp(owner, r->user);
	free(owner);
	if (!own && r->role < ROLE_ADMIN)
		return web_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
				 "only its owner or an admin may release a reservation");
	if (db_sched_release(r->db, id, &err) < 0)
		return web_db_error(r, &err);
	return web_json(r, MHD_HTTP_OK, json_pack("{s:I, s:s}", "reservation",
						  (json_int_t)id, "status", "released"));
}

/* ---- administration ---- */

enum MHD_Result web_maintenance_post(struct web_req *r)
{
	struct err err = ERR_INIT;
	enum MHD_Result ret;
	json_t *o = action_body(r, &ret), *on;
	const char *reason;
	struct host h;
	int want;

	if (!o)
		return ret;
	on = json_object_get(o, "on");
	if (!json_is_boolean(on) || body_string(o, "reason", &reason) < 0) {
		json_decref(o);
		return bad_request(r, "give {\"on\": true|false, \"reason\": TEXT}");
	}
	want = json_is_true(on);
	memset(&h, 0, sizeof(h));
	if (db_host_get(r->db, r->args[0], &h, &err) < 0) {
		json_decref(o);
		return web_db_error(r, &err);
	}
	if (!strcmp(h.state, "retired"))
		err_set(&err, ERR_EXISTS, "host %s is retired", h.name);
	else if (!want && strcmp(h.state, "maintenance") && strcmp(h.state, "broken"))
		err_set(&err, ERR_EXISTS, "host %s is %s, not in maintenance", h.name,
			h.state);
	else if (!(want && !strcmp(h.state, "maintenance")))
		db_host_set_state(r->db, h.name, want ? "maintenance" : "free", reason,
				  want ? "host.maintenance" : "host.free", &err);
	if (err.code)
		ret = web_db_error(r, &err);
	else
		ret = web_json(r, MHD_HTTP_OK, json_pack("{s:s, s:s}", "host", h.name,
							 "state", want ? "maintenance"
								       : "free"));
	host_release(&h);
	json_decref(o);
	return ret;
}

static enum MHD_Result block(struct web_req *r, int on)
{
	struct err err = ERR_INIT;
	enum MHD_Result ret;
	json_t *o = action_body(r, &ret);
	const char *reason;

	if (!o)
		return ret;
	if (body_string(o, "reason", &reason) < 0)
		ret = bad_request(r, "\"reason\" must be a string");
	else if (db_branch_block(r->db, r->args[0], on, reason, &err) < 0)
		ret = web_db_error(r, &err);
	else
		ret = web_json(r, MHD_HTTP_OK, json_pack("{s:s, s:b}", "branch",
							 r->args[0], "blocked", on));
	json_decref(o);
	return ret;
}

enum MHD_Result web_block_post(struct web_req *r)
{
	return block(r, strcmp(strrchr(r->url, '/'), "/unblock") != 0);
}

enum MHD_Result web_force_post(struct web_req *r)
{
	struct err err = ERR_INIT;
	enum MHD_Result ret;
	json_t *o = action_body(r, &ret);
	const char *rev, *reason;
	struct gate_branch b;
	char sha[41], *cache;
	int rc;

	if (!o)
		return ret;
	if (body_string(o, "revision", &rev) < 0 || body_string(o, "reason", &reason) < 0) {
		json_decref(o);
		return bad_request(r, "give {\"revision\": REV, \"reason\": TEXT}, "
				      "or {\"revision\": null} to clear");
	}
	if (db_gate_branch(r->db, r->args[0], &b, &err) < 0) {
		json_decref(o);
		return web_db_error(r, &err);
	}
	rc = 0;
	if (rev) {
		cache = xasprintf("%s/git/%s.git", r->state, b.tree);
		rc = gitx_resolve(cache, b.url, rev, sha, &err);
		free(cache);
		if (rc < 0 && err.code == ERR_NOTFOUND)
			err.code = ERR_USAGE;
	}
	if (rc == 0)
		rc = db_branch_force(r->db, r->args[0], rev ? sha : NULL, reason, &err);
	ret = rc < 0 ? web_db_error(r, &err)
		     : web_json(r, MHD_HTTP_OK,
				json_pack("{s:s, s:s?}", "branch", r->args[0],
					  "force_revision", rev ? sha : NULL));
	gate_branch_release(&b);
	json_decref(o);
	return ret;
}

/* ---- the browser's forms ---- */

/* The form body; -1 (and a 400 queued) when it does not parse. */
static int form_body(struct web_req *r, struct vec *form, enum MHD_Result *ret)
{
	int ok = web_form_parse(r->body ? r->body : "", r->body_len, form) == 0;

	for (size_t i = 0; ok && i < form->n; i++)
		ok = web_utf8_ok(form->v[i]);
	if (!ok) {
		*ret = web_error(r, MHD_HTTP_BAD_REQUEST, "bad request",
				 "the form's encoding is broken");
		return -1;
	}
	return 0;
}

/* Where to go after logging in: a path of this site only. */
static const char *safe_next(const char *next)
{
	if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\')
		return "/";
	/* browsers drop tabs and newlines: "/\t/evil" would be "//evil" */
	for (const unsigned char *p = (const unsigned char *)next; *p; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '\\')
			return "/";
	return next;
}

static void login_form(struct buf *b, const char *next, const char *problem)
{
	buf_addstr(b, "<h1>Log in</h1>\n");
	if (problem) {
		buf_addstr(b, "<p class=\"problem\">");
		html_escape(b, problem);
		buf_addstr(b, "</p>\n");
	}
	buf_addstr(b, "<form method=\"post\" action=\"/login\" class=\"stack\">"
		      "<label>Token <input type=\"password\" name=\"token\" "
		      "autocomplete=\"current-password\" required size=\"70\"></label>"
		      "<input type=\"hidden\" name=\"next\" value=\"");
	html_escape(b, safe_next(next));
	buf_addstr(b, "\"><button type=\"submit\">Log in</button></form>\n"
		      "<p class=\"muted\">A token comes from <code>hangar token create "
		      "--user U --role developer</code>.</p>\n");
}

enum MHD_Result web_login_page(struct web_req *r)
{
	struct buf b = BUF_INIT;

	html_page_begin_for(&b, "Log in", r->user);
	if (r->session) {
		char csrf[33];

		web_csrf_token(r->session, csrf);
		buf_addstr(&b, "<p>Logged in as <strong>");
		html_escape(&b, r->user);
		buf_addf(&b, "</strong> (%s).</p><form method=\"post\" action=\"/logout\">"
			     "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
			     "<button type=\"submit\">Log out</button></form>\n",
			 role_name(r->role), csrf);
	}
	login_form(&b, web_query(r, "next"), NULL);
	html_page_end(&b);
	return web_html(r, MHD_HTTP_OK, &b);
}

enum MHD_Result web_login_post(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct vec form = VEC_INIT;
	struct buf b = BUF_INIT;
	enum MHD_Result ret;
	const char *token;
	char *user = NULL, *cookie;
	enum role role;

	if (form_body(r, &form, &ret) < 0)
		goto out;
	token = web_form_get(&form, "token");
	if (token && strlen(token) < 128 && !strpbrk(token, "; \t\r\n,") &&
	    db_token_lookup(r->db, token, &user, &role, NULL, &err) == 0 &&
	    role != ROLE_WORKER) {
		cookie = xasprintf("hangar_session=%s; Path=/; HttpOnly; "
				   "SameSite=Strict; Max-Age=%d",
				   token, SESSION_MAX_AGE);
		ret = web_redirect(r, safe_next(web_form_get(&form, "next")), cookie);
		free(cookie);
		free(user);
		goto out;
	}
	if (err.code && err.code != ERR_NOTFOUND) {
		ret = web_db_error(r, &err);
		goto out;
	}
	html_page_begin_for(&b, "Log in", NULL);
	login_form(&b, web_form_get(&form, "next"), "That token is unknown or revoked.");
	html_page_end(&b);
	ret = web_html(r, MHD_HTTP_UNAUTHORIZED, &b);
out:
	vec_clear(&form);
	return ret;
}

enum MHD_Result web_logout_post(struct web_req *r)
{
	struct vec form = VEC_INIT;
	enum MHD_Result ret;

	if (form_body(r, &form, &ret) == 0)
		ret = r->session && !web_csrf_ok(r, &form)
			      ? web_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
					  "the form is stale: reload the page")
			      : web_redirect(r, "/",
					     "hangar_session=; Path=/; HttpOnly; "
					     "SameSite=Strict; Max-Age=0");
	vec_clear(&form);
	return ret;
}

static void request_form(struct web_req *r, struct buf *b, const struct vec *form,
			 const char *problem)
{
	struct err err = ERR_INIT;
	const char *want = form ? web_form_get(form, "branch") : web_query(r, "branch");
	json_t *list = NULL, *br;
	char csrf[33];
	size_t i;

	web_csrf_token(r->session ? r->session : "", csrf);
	buf_addstr(b, "<h1>Request an ad-hoc flight</h1>\n");
	if (problem) {
		buf_addstr(b, "<p class=\"problem\">");
		html_escape(b, problem);
		buf_addstr(b, "</p>\n");
	}
	buf_addf(b, "<form id=\"request-form\" method=\"post\" action=\"/request\" "
		    "class=\"stack\"><input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		    "<label>Branch <select name=\"branch\"><option value=\"\">(none: "
		    "give every tree's revision)</option>", csrf);
	if (db_branch_list_json(r->db, &list, &err) == 0)
		json_array_foreach(list, i, br) {
			buf_addf(b, "<option%s>",
				 want && !strcmp(want, web_jstr(br, "name")) ? " selected"
				 : !want && i == 0 ? " selected" : "");
			html_escape(b, web_jstr(br, "name"));
			buf_addstr(b, "</option>");
		}
	json_decref(list);
#define FIELD(label, name, hint)                                               \
	do {                                                                   \
		buf_addstr(b, "<label>" label " <input name=\"" name "\" value=\""); \
		html_escape(b, form ? web_form_get(form, name) : NULL);        \
		buf_addstr(b, "\" size=\"60\" placeholder=\"" hint "\"></label>"); \
	} while (0)
	buf_addstr(b, "</select></label>");
	FIELD("Jobs", "jobs", "job names, space separated (empty: the branch's jobs)");
	FIELD("Revisions", "revs", "TREE=REV ... (empty: the branch's staging)");
	FIELD("Host", "host", "pin the jobs to this host (optional)");
#undef FIELD
	buf_addstr(b, "<label>Runvars <textarea name=\"runvars\" rows=\"3\" cols=\"60\" "
		      "placeholder=\"NAME=VALUE, one per line\">");
	html_escape(b, form ? web_form_get(form, "runvars") : NULL);
	buf_addstr(b, "</textarea></label><button type=\"submit\">Request</button>"
		      "</form>\n");
}

enum MHD_Result web_request_page(struct web_req *r)
{
	struct buf b = BUF_INIT;

	if (!r->session)   /* a bearer token: use the API */
		return web_error(r, MHD_HTTP_BAD_REQUEST, "bad request",
				 "the form is for browsers; POST /api/v1/requests");
	html_page_begin_for(&b, "Request", r->user);
	request_form(r, &b, NULL, NULL);
	html_page_end(&b);
	return web_html(r, MHD_HTTP_OK, &b);
}

enum MHD_Result web_request_form_post(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct vec form = VEC_INIT, lines = VEC_INIT;
	struct buf b = BUF_INIT;
	struct request rq;
	enum MHD_Result ret;
	const char *v;
	char *loc;
	long id;

	request_init(&rq);
	if (form_body(r, &form, &ret) < 0)
		goto out;
	if (!web_csrf_ok(r, &form)) {
		ret = web_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
				"the form is stale or foreign: reload the page");
		goto out;
	}
	if ((v = web_form_get(&form, "branch")) && *v)
		rq.branch = v;
	if ((v = web_form_get(&form, "host")) && *v)
		rq.host = v;
	vec_split(&rq.jobs, web_form_get(&form, "jobs") ? web_form_get(&form, "jobs") : "");
	vec_split(&rq.revs, web_form_get(&form, "revs") ? web_form_get(&form, "revs") : "");
	if ((v = web_form_get(&form, "runvars"))) {
		/* one NAME=VALUE per line; values may hold spaces */
		for (const char *p = v; *p;) {
			size_t n = strcspn(p, "\r\n");
			char *line = xstrndup(p, n);

			if (*line)
				vec_push_take(&rq.runvars, line);
			else
				free(line);
			p += n;
			p += strspn(p, "\r\n");
		}
	}
	if (create_request(r, &rq, &id, &err) < 0) {
		if (err.code != ERR_USAGE && err.code != ERR_NOTFOUND) {
			ret = web_db_error(r, &err);
			goto out;
		}
		html_page_begin_for(&b, "Request", r->user);
		request_form(r, &b, &form, err.msg);
		html_page_end(&b);
		ret = web_html(r, MHD_HTTP_BAD_REQUEST, &b);
		goto out;
	}
	loc = xasprintf("/flights/%ld", id);
	ret = web_redirect(r, loc, NULL);
	free(loc);
out:
	request_release(&rq);
	vec_clear(&form);
	vec_clear(&lines);
	return ret;
}

enum MHD_Result web_cancel_form_post(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct vec form = VEC_INIT;
	enum MHD_Result ret;
	long id = web_arg_flight(r, 0);
	int jobs;

	if (form_body(r, &form, &ret) < 0)
		goto out;
	if (!id) {
		ret = web_not_found(r, r->url);
	} else if (!web_csrf_ok(r, &form)) {
		ret = web_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
				"the form is stale or foreign: reload the page");
	} else if (may_cancel(r, id, 0, &ret) == 0) {
		char *loc = xasprintf("/flights/%ld", id);

		ret = db_flight_cancel(r->db, id, &jobs, &err) < 0
			      ? web_db_error(r, &err)
			      : web_redirect(r, loc, NULL);
		free(loc);
	}
out:
	vec_clear(&form);
	return ret;
}
