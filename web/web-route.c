/*
 * web-route.c: URL patterns, form parsing, log names and cookies.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "db-sched.h"
#include "request.h"
#include "strnum.h"
#include "web-route.h"
#include "banned.h"

const struct web_route_def web_routes[R_COUNT] = {
	{ "GET", "/static/style.css", NEED_NOBODY, R_STYLE },
	{ "GET", "/static/hangar.js", NEED_NOBODY, R_SCRIPT },
	{ "GET", "/", NEED_READ, R_OVERVIEW },
	{ "GET", "/flights", NEED_READ, R_FLIGHTS_PAGE },
	{ "GET", "/flights/{}", NEED_READ, R_FLIGHT_PAGE },
	{ "GET", "/flights/{}/jobs/{}", NEED_READ, R_JOB_PAGE },
	{ "GET", "/flights/{}/jobs/{}/logs/{}", NEED_READ, R_LOG_PAGE },
	{ "GET", "/jobs/{}", NEED_READ, R_JOB_HISTORY_PAGE },
	{ "GET", "/hosts", NEED_READ, R_HOSTS_PAGE },
	{ "GET", "/hosts/{}", NEED_READ, R_HOST_PAGE },
	{ "GET", "/plan", NEED_READ, R_PLAN_PAGE },
	{ "GET", "/branches/{}", NEED_READ, R_BRANCH_PAGE },
	{ "GET", "/bisections", NEED_READ, R_BISECTIONS_PAGE },
	{ "GET", "/bisections/{}", NEED_READ, R_BISECTION_PAGE },
	{ "GET", "/request", NEED_DEVELOPER, R_REQUEST_PAGE },
	{ "GET", "/login", NEED_NOBODY, R_LOGIN_PAGE },
	{ "GET", "/logs/{}/{}/{}", NEED_READ, R_LOG_FILE },
	{ "GET", "/metrics", NEED_READ, R_METRICS },
	{ "GET", "/api/v1/flights", NEED_READ, R_FLIGHTS_API },
	{ "GET", "/api/v1/flights/{}", NEED_READ, R_FLIGHT_API },
	{ "GET", "/api/v1/flights/{}/report", NEED_READ, R_REPORT_API },
	{ "GET", "/api/v1/flights/{}/jobs/{}", NEED_READ, R_JOB_API },
	{ "GET", "/api/v1/jobs/{}", NEED_READ, R_JOB_HISTORY_API },
	{ "GET", "/api/v1/hosts", NEED_READ, R_HOSTS_API },
	{ "GET", "/api/v1/hosts/{}", NEED_READ, R_HOST_API },
	{ "GET", "/api/v1/plan", NEED_READ, R_PLAN_API },
	{ "GET", "/api/v1/branches", NEED_READ, R_BRANCHES_API },
	{ "GET", "/api/v1/branches/{}", NEED_READ, R_BRANCH_API },
	{ "GET", "/api/v1/reservations", NEED_READ, R_RESERVATIONS_API },
	{ "GET", "/api/v1/reservations/{}", NEED_READ, R_RESERVATION_API },
	{ "GET", "/api/v1/bisections", NEED_READ, R_BISECTIONS_API },
	{ "GET", "/api/v1/bisections/{}", NEED_READ, R_BISECTION_API },
	{ "GET", "/api/v1/whoami", NEED_NOBODY, R_WHOAMI_API },
	/* installers report with whatever they have: wget, curl -X POST */
	{ "GET", "/api/v1/install/{}", NEED_NOBODY, R_INSTALL_GET },
	{ "POST", "/api/v1/install/{}", NEED_NOBODY, R_INSTALL_POST },
	{ "POST", "/api/v1/requests", NEED_DEVELOPER, R_REQUEST_POST },
	{ "DELETE", "/api/v1/requests/{}", NEED_DEVELOPER, R_REQUEST_DELETE },
	{ "POST", "/api/v1/reservations", NEED_DEVELOPER, R_RESERVE_POST },
	{ "DELETE", "/api/v1/reservations/{}", NEED_DEVELOPER, R_RESERVE_DELETE },
	{ "POST", "/api/v1/flights/{}/cancel", NEED_DEVELOPER, R_CANCEL_POST },
	{ "POST", "/api/v1/hosts/{}/maintenance", NEED_ADMIN, R_MAINTENANCE_POST },
	{ "POST", "/api/v1/branches/{}/block", NEED_ADMIN, R_BLOCK_POST },
	{ "POST", "/api/v1/branches/{}/unblock", NEED_ADMIN, R_UNBLOCK_POST },
	{ "POST", "/api/v1/branches/{}/force-push", NEED_ADMIN, R_FORCE_POST },
	{ "POST", "/login", NEED_NOBODY, R_LOGIN_POST },
	{ "POST", "/logout", NEED_NOBODY, R_LOGOUT_POST },
	{ "POST", "/request", NEED_DEVELOPER, R_REQUEST_FORM_POST },
	{ "POST", "/flights/{}/cancel", NEED_DEVELOPER, R_CANCEL_FORM_POST },
	/* the worker protocol (docs/api.md section 7): worker tokens only */
	{ "POST", "/api/v1/worker/claim", NEED_WORKER, R_WORKER_CLAIM },
	{ "POST", "/api/v1/worker/heartbeat", NEED_WORKER, R_WORKER_HEARTBEAT },
	{ "POST", "/api/v1/worker/jobs/{}/{}/records", NEED_WORKER,
	  R_WORKER_RECORDS },
	{ "POST", "/api/v1/worker/jobs/{}/{}/finish", NEED_WORKER,
	  R_WORKER_FINISH },
	{ "POST", "/api/v1/worker/jobs/{}/{}/hostkey", NEED_WORKER,
	  R_WORKER_HOSTKEY },
	{ "GET", "/api/v1/worker/install/{}", NEED_WORKER, R_WORKER_INSTALL },
	{ "GET", "/api/v1/worker/jobs/{}/{}/artifacts", NEED_WORKER,
	  R_WORKER_ARTIFACTS },
	{ "GET", "/api/v1/worker/blobs/{}", NEED_WORKER, R_WORKER_BLOB_GET },
	{ "PUT", "/api/v1/worker/blobs/{}", NEED_WORKER, R_WORKER_BLOB_PUT },
	{ "PUT", "/api/v1/worker/jobs/{}/{}/logs/{}", NEED_WORKER,
	  R_WORKER_LOG_PUT },
	{ "GET", "/api/v1/worker/jobs/{}/{}/trees/{}", NEED_WORKER,
	  R_WORKER_TREE },
	/* the evidence records (docs/evidence.md) */
	{ "GET", "/static/evidence.css", NEED_NOBODY, R_EVIDENCE_STYLE },
	{ "GET", "/evidence/{}", NEED_READ, R_EVIDENCE_PAGE },
	{ "GET", "/api/v1/evidence/{}", NEED_READ, R_EVIDENCE_API },
	{ "GET", "/api/v1/evidence/{}/signature", NEED_READ,
	  R_EVIDENCE_SIGNATURE },
	{ "GET", "/api/v1/evidence/{}/allowed_signers", NEED_READ,
	  R_EVIDENCE_SIGNERS },
	{ "GET", "/api/v1/flights/{}/evidence", NEED_READ,
	  R_FLIGHT_EVIDENCE_API },
};

int web_route_raw(enum web_route_id id)
{
	return id == R_WORKER_BLOB_PUT || id == R_WORKER_LOG_PUT;
}

int web_route_find(const char *method, const char *url,
		   char args[WEB_MAX_ARGS][WEB_ARG_MAX])
{
	int other_method = 0;
	char scratch[WEB_MAX_ARGS][WEB_ARG_MAX];

	if (!strcmp(method, "HEAD"))
		method = "GET";
	for (int i = 0; i < R_COUNT; i++) {
		if (strcmp(web_routes[i].method, method)) {
			other_method |= web_match(web_routes[i].pattern, url,
						  scratch) >= 0;
			continue;
		}
		if (web_match(web_routes[i].pattern, url, args) >= 0)
			return i;
	}
	return other_method ? -2 : -1;
}

/* A JSON object body (an empty body is {}); NULL with why set. */
static json_t *body_object(const char *body, size_t len, char *why, size_t whylen)
{
	json_error_t e;
	json_t *root;

	if (!len)
		return json_object();
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (!root) {
		snprintf(why, whylen, "malformed JSON at line %d: %s", e.line,
			 e.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(why, whylen, "the body must be a JSON object");
		return NULL;
	}
	return root;
}

/* Optional string member key of o into *out; -1 when of another type. */
static int opt_string(json_t *o, const char *key, const char **out, char *why,
		      size_t whylen)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || !json_string_value(v)[0] ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(why, whylen, "\"%s\" must be a non-empty string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int web_parse_request(const char *body, size_t len, struct request *rq,
		      json_t **root, char *why, size_t whylen)
{
	json_t *o = body_object(body, len, why, whylen), *v, *x;
	const char *key;
	size_t i;

	*root = o;
	if (!o)
		return -1;
	json_object_foreach(o, key, v)
		if (strcmp(key, "branch") && strcmp(key, "revisions") &&
		    strcmp(key, "jobs") && strcmp(key, "host") &&
		    strcmp(key, "runvars") && strcmp(key, "reuse")) {
			snprintf(why, whylen, "unknown member \"%s\"", key);
			return -1;
		}
	if (opt_string(o, "branch", &rq->branch, why, whylen) < 0 ||
	    opt_string(o, "host", &rq->host, why, whylen) < 0)
		return -1;
	v = json_object_get(o, "revisions");
	if (v && !json_is_object(v)) {
		snprintf(why, whylen, "%s must be an object {TREE: REV}", "\"revisions\"");
		return -1;
	}
	json_object_foreach(v, key, x) {
		if (!json_is_string(x) || !json_string_value(x)[0] || !key[0] ||
		    strchr(key, '=')) {
			snprintf(why, whylen, "revision of tree \"%s\" must be a string", key);
			return -1;
		}
		vec_pushf(&rq->revs, "%s=%s", key, json_string_value(x));
	}
	v = json_object_get(o, "jobs");
	if (v && !json_is_array(v)) {
		snprintf(why, whylen, "%s must be an array of job names", "\"jobs\"");
		return -1;
	}
	json_array_foreach(v, i, x) {
		if (!json_is_string(x) || !json_string_value(x)[0]) {
			snprintf(why, whylen, "%s must be an array of job names", "\"jobs\"");
			return -1;
		}
		vec_push(&rq->jobs, json_string_value(x));
	}
	v = json_object_get(o, "runvars");
	if (v && !json_is_object(v)) {
		snprintf(why, whylen, "%s must be an object {NAME: VALUE}", "\"runvars\"");
		return -1;
	}
	json_object_foreach(v, key, x) {
		if (!json_is_string(x) || !key[0] || strchr(key, '=')) {
			snprintf(why, whylen, "runvar \"%s\" must be a string", key);
			return -1;
		}
		vec_pushf(&rq->runvars, "%s=%s", key, json_string_value(x));
	}
	v = json_object_get(o, "reuse");
	if (v && !json_is_boolean(v)) {
		snprintf(why, whylen, "%s must be true or false", "\"reuse\"");
		return -1;
	}
	rq->no_reuse = v && json_is_false(v);
	if (!rq->branch && !rq->revs.n) {
		snprintf(why, whylen, "%s", "give \"branch\" or \"revisions\"");
		return -1;
	}
	return 0;
}

int web_parse_reservation(const char *body, size_t len, struct sched_reserve *rs,
			  json_t **root, char *why, size_t whylen)
{
	json_t *o = body_object(body, len, why, whylen), *v;
	const char *key, *dur = NULL;
	char num[32];

	*root = o;
	if (!o)
		return -1;
	json_object_foreach(o, key, v)
		if (strcmp(key, "host") && strcmp(key, "arch") &&
		    strcmp(key, "flags") && strcmp(key, "count") &&
		    strcmp(key, "duration") && strcmp(key, "reason")) {
			snprintf(why, whylen, "unknown member \"%s\"", key);
			return -1;
		}
	if (opt_string(o, "host", &rs->host, why, whylen) < 0 ||
	    opt_string(o, "arch", &rs->arch, why, whylen) < 0 ||
	    opt_string(o, "flags", &rs->flags, why, whylen) < 0 ||
	    opt_string(o, "reason", &rs->reason, why, whylen) < 0)
		return -1;
	rs->nhosts = 1;
	v = json_object_get(o, "count");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 ||
		  json_integer_value(v) > 64 || rs->host)) {
		snprintf(why, whylen, "%s", "\"count\" is 1 to 64, with \"arch\"");
		return -1;
	}
	if (v)
		rs->nhosts = (int)json_integer_value(v);
	v = json_object_get(o, "duration");
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		dur = num;
	} else if (json_is_string(v)) {
		dur = json_string_value(v);
	}
	if (!dur || strnum_duration(dur, 60, 30 * 86400, &rs->duration) < 0) {
		snprintf(why, whylen, "%s",
			"\"duration\" is from 1m to 30d, e.g. \"2h\" or 7200");
		return -1;
	}
	if (!rs->host == !rs->arch) {
		snprintf(why, whylen, "%s", "give \"host\" or \"arch\"");
		return -1;
	}
	return 0;
}

int web_match(const char *pattern, const char *url,
	      char args[WEB_MAX_ARGS][WEB_ARG_MAX])
{
	int n = 0;

	while (*pattern) {
		if (pattern[0] == '{' && pattern[1] == '}') {
			size_t len = strcspn(url, "/");

			if (!len || len >= WEB_ARG_MAX || n == WEB_MAX_ARGS)
				return -1;
			memcpy(args[n], url, len);
			args[n][len] = '\0';
			n++;
			url += len;
			pattern += 2;
			continue;
		}
		if (*pattern++ != *url++)
			return -1;
	}
	return *url ? -1 : n;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..len) onto b; -1 on a bad escape or a NUL. */
static int form_decode(struct buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (i + 2 >= len || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c == 0)
			return -1;
		buf_addch(b, c);
	}
	return 0;
}

int web_form_parse(const char *body, size_t len, struct vec *out)
{
	size_t i = 0;

	while (i < len) {
		size_t end = i, eq;
		struct buf name = BUF_INIT, value = BUF_INIT;
		int rc;

		while (end < len && body[end] != '&')
			end++;
		for (eq = i; eq < end && body[eq] != '='; eq++)
			;
		rc = form_decode(&name, body + i, eq - i);
		if (!rc && eq < end)
			rc = form_decode(&value, body + eq + 1, end - eq - 1);
		if (!rc && name.len) {
			vec_push(out, name.buf);
			vec_push(out, value.buf);
		}
		buf_release(&name);
		buf_release(&value);
		if (rc)
			return -1;
		i = end + 1;
	}
	return 0;
}

const char *web_form_get(const struct vec *form, const char *name)
{
	for (size_t i = 0; i + 1 < form->n; i += 2)
		if (!strcmp(form->v[i], name))
			return form->v[i + 1];
	return NULL;
}

int web_log_name_ok(const char *s)
{
	size_t n = 0;

	if (!s || !*s || *s == '.')
		return 0;
	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("._-+@=,", c)))
			return 0;
	}
	return n <= 255;
}

int web_utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, min, n;

		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, min = 0x80, c &= 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, min = 0x800, c &= 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, min = 0x10000, c &= 0x07;
		else
			return 0;
		for (unsigned k = 1; k <= n; k++) {
			if ((p[k] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[k] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		p += n + 1;
	}
	return 1;
}

int web_cookie_get(const char *header, const char *name, char *out,
		   size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = header;

	while (p && *p) {
		while (*p == ' ' || *p == ';')
			p++;
		if (!strncmp(p, name, nlen) && p[nlen] == '=') {
			size_t vlen = strcspn(p + nlen + 1, ";");

			if (vlen >= outlen)
				return -1;
			memcpy(out, p + nlen + 1, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p = strchr(p, ';');
	}
	return -1;
}
