/*
 * wire.c: struct wjob and a job's records to and from JSON (see wire.h).
 * The encoders never fail: a string that is not UTF-8 (a step's detail
 * taken from its output) goes with each bad byte as U+FFFD, since JSON
 * cannot carry it and the controller's database would refuse it anyway.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "firmware.h"
#include "labconf.h"
#include "wire.h"
#include "xalloc.h"
#include "banned.h"

/* ---- encoding ---- */

/* s as a JSON string (null for NULL), bad UTF-8 bytes as U+FFFD. */
static json_t *wire_str(const char *s)
{
	json_t *v;
	struct buf b;

	if (!s)
		return json_null();
	v = json_string(s);
	if (v)
		return v;
	buf_init(&b, 0);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 :
			   (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		json_t *one = NULL;
		size_t k = 0;

		/* a sequence is good when jansson takes it on its own */
		while (n && k < n && p[k])
			k++;
		if (n && k == n)
			one = json_stringn((const char *)p, n);
		if (one) {
			buf_add(&b, (const char *)p, n);
			json_decref(one);
			p += n;
		} else {
			buf_addstr(&b, "\xef\xbf\xbd");
			p++;
		}
	}
	v = json_string(b.buf);
	buf_release(&b);
	return v ? v : json_string("");
}

static void set(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

json_t *wire_wjob_to_json(const struct wjob *j)
{
	json_t *o = json_object(), *a, *rv = json_object();

	set(o, "flight", json_integer(j->flight));
	set(o, "job", wire_str(j->job));
	set(o, "recipe", wire_str(j->recipe));
	set(o, "arch", wire_str(j->arch));
	set(o, "intent", wire_str(j->intent));
	set(o, "branch", wire_str(j->branch));
	set(o, "primary_tree", wire_str(j->primary_tree));
	set(o, "attempt", json_integer(j->attempt));
	set(o, "lab_retries", json_integer(j->lab_retries));
	set(o, "last_step", json_integer(j->last_step));
	set(o, "health_check", json_boolean(j->health_check));
	for (size_t i = 0; i < j->runvars.n; i++) {
		const char *eq = strchr(j->runvars.v[i], '=');
		char *name;

		if (!eq)
			continue;
		name = xstrndup(j->runvars.v[i], (size_t)(eq - j->runvars.v[i]));
		set(rv, name, wire_str(eq + 1));
		free(name);
	}
	set(o, "runvars", rv);

	a = json_array();
	for (size_t i = 0; i < j->nhosts; i++) {
		const struct wjob_host *h = &j->hosts[i];
		json_t *x = json_object();

		set(x, "ident", wire_str(h->ident));
		set(x, "name", wire_str(h->name));
		set(x, "arch", wire_str(h->arch));
		set(x, "address", wire_str(h->address));
		set(x, "port", json_integer(h->port));
		set(x, "user", wire_str(h->user));
		set(x, "workdir", wire_str(h->workdir));
		set(x, "power", wire_str(h->power));
		set(x, "power_config", h->power_config ? json_deep_copy(h->power_config)
						      : json_object());
		set(x, "console", wire_str(h->console));
		set(x, "ssh_host_key", wire_str(h->ssh_host_key));
		set(x, "boot_timeout", json_integer(h->boot_timeout));
		set(x, "cycle_time", json_integer(h->cycle_time));
		json_array_append_new(a, x);
	}
	set(o, "hosts", a);

	a = json_array();
	for (size_t i = 0; i < j->nsteps; i++) {
		const struct wjob_step *s = &j->steps[i];
		json_t *x = json_object();

		set(x, "kind", json_string(step_kind_str(s->kind)));
		set(x, "name", wire_str(s->name));
		set(x, "command", wire_str(s->command));
		set(x, "timeout", json_integer(s->timeout));
		set(x, "cases", wire_str(s->cases));
		json_array_append_new(a, x);
	}
	set(o, "steps", a);

	a = json_array();
	for (size_t i = 0; i < j->artifacts.n; i++)
		json_array_append_new(a, wire_str(j->artifacts.v[i]));
	set(o, "artifacts", a);

	a = json_array();
	for (size_t i = 0; i < j->ntrees; i++) {
		json_t *x = json_object();

		set(x, "name", wire_str(j->trees[i].name));
		set(x, "revision", wire_str(j->trees[i].revision));
		set(x, "url", wire_str(j->trees[i].url));
		json_array_append_new(a, x);
	}
	set(o, "trees", a);

	a = json_array();
	for (size_t i = 0; i < j->ndeps; i++) {
		json_t *x = json_object();

		set(x, "flight", json_integer(j->deps[i].flight));
		set(x, "job", wire_str(j->deps[i].job));
		set(x, "status", wire_str(j->deps[i].status));
		json_array_append_new(a, x);
	}
	set(o, "deps", a);
	return o;
}

/* ---- decoding ---- */

enum { OPT = 0, REQ = 1 };   /* a string may be null / must be there */

/*
 * The string field key of o into *out (owned, NULL for a JSON null when
 * not req). what names the object in the error ("hosts[1]").
 */
static int get_str(json_t *o, const char *what, const char *key, int req,
		   char **out, struct err *err)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if ((!v || json_is_null(v)) && !req)
		return 0;
	if (!json_is_string(v))
		return err_set(err, ERR_USAGE, "%s%s\"%s\": %s", what,
			       *what ? ": " : "", key,
			       v ? "not a string" : "missing");
	if (strlen(json_string_value(v)) != json_string_length(v))
		return err_set(err, ERR_USAGE, "%s%s\"%s\": holds a NUL", what,
			       *what ? ": " : "", key);
	*out = xstrdup(json_string_value(v));
	return 0;
}

/* The integer field key of o, within [lo, hi]. */
static int get_int(json_t *o, const char *what, const char *key, long long lo,
		   long long hi, long long *out, struct err *err)
{
	json_t *v = json_object_get(o, key);

	*out = 0;
	if (!json_is_integer(v))
		return err_set(err, ERR_USAGE, "%s%s\"%s\": %s", what,
			       *what ? ": " : "", key,
			       v ? "not an integer" : "missing");
	*out = json_integer_value(v);
	if (*out < lo || *out > hi)
		return err_set(err, ERR_USAGE, "%s%s\"%s\": %lld out of range",
			       what, *what ? ": " : "", key, *out);
	return 0;
}

static int get_intv(json_t *o, const char *what, const char *key, int *out,
		    struct err *err)
{
	long long v;
	int rc = get_int(o, what, key, 0, 0x7fffffff, &v, err);

	*out = (int)v;
	return rc;
}

static int get_bool(json_t *o, const char *what, const char *key, int *out,
		    struct err *err)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_boolean(v))
		return err_set(err, ERR_USAGE, "%s%s\"%s\": %s", what,
			       *what ? ": " : "", key,
			       v ? "not a boolean" : "missing");
	*out = json_is_true(v);
	return 0;
}

/* The array field key of o (borrowed). */
static int get_array(json_t *o, const char *key, json_t **out, struct err *err)
{
	*out = json_object_get(o, key);
	if (!json_is_array(*out))
		return err_set(err, ERR_USAGE, "\"%s\": %s", key,
			       *out ? "not an array" : "missing");
	return 0;
}

static int get_object(json_t *o, const char *what, const char *key,
		      json_t **out, struct err *err)
{
	*out = json_object_get(o, key);
	if (!json_is_object(*out))
		return err_set(err, ERR_USAGE, "%s%s\"%s\": %s", what,
			       *what ? ": " : "", key,
			       *out ? "not an object" : "missing");
	return 0;
}

static int wjob_host_from_json(json_t *x, const char *what,
			       struct wjob_host *h, struct err *err)
{
	json_t *pc;

	if (!json_is_object(x))
		return err_set(err, ERR_USAGE, "%s: not an object", what);
	if (get_str(x, what, "ident", REQ, &h->ident, err) < 0 ||
	    get_str(x, what, "name", REQ, &h->name, err) < 0 ||
	    get_str(x, what, "arch", OPT, &h->arch, err) < 0 ||
	    get_str(x, what, "address", OPT, &h->address, err) < 0 ||
	    get_intv(x, what, "port", &h->port, err) < 0 ||
	    get_str(x, what, "user", OPT, &h->user, err) < 0 ||
	    get_str(x, what, "workdir", OPT, &h->workdir, err) < 0 ||
	    get_str(x, what, "power", OPT, &h->power, err) < 0 ||
	    get_object(x, what, "power_config", &pc, err) < 0 ||
	    get_str(x, what, "console", OPT, &h->console, err) < 0 ||
	    get_str(x, what, "ssh_host_key", OPT, &h->ssh_host_key, err) < 0 ||
	    get_intv(x, what, "boot_timeout", &h->boot_timeout, err) < 0 ||
	    get_intv(x, what, "cycle_time", &h->cycle_time, err) < 0)
		return err->code;
	h->power_config = json_deep_copy(pc);
	return 0;
}

static int wjob_step_from_json(json_t *x, const char *what,
			       struct wjob_step *s, struct err *err)
{
	char *kind = NULL;
	long long timeout;
	int k;

	if (!json_is_object(x))
		return err_set(err, ERR_USAGE, "%s: not an object", what);
	if (get_str(x, what, "kind", REQ, &kind, err) < 0)
		return err->code;
	k = step_kind_parse(kind);
	if (k < 0) {
		err_set(err, ERR_USAGE, "%s: unknown step kind '%s'", what, kind);
		free(kind);
		return err->code;
	}
	free(kind);
	s->kind = (enum step_kind)k;
	if (get_str(x, what, "name", REQ, &s->name, err) < 0 ||
	    get_str(x, what, "command", OPT, &s->command, err) < 0 ||
	    get_int(x, what, "timeout", 0, 0x7fffffff, &timeout, err) < 0 ||
	    get_str(x, what, "cases", OPT, &s->cases, err) < 0)
		return err->code;
	s->timeout = (long)timeout;
	return 0;
}

static int wjob_decode(json_t *o, struct wjob *j, struct err *err)
{
	json_t *a, *x, *rv;
	const char *key;
	long long v;
	size_t i;
	char what[48];

	if (!json_is_object(o))
		return err_set(err, ERR_USAGE, "the job: not an object");
	if (get_int(o, "", "flight", 1, 0x7fffffffffffffffLL, &v, err) < 0)
		return err->code;
	j->flight = (long)v;
	if (get_str(o, "", "job", REQ, &j->job, err) < 0 ||
	    get_str(o, "", "recipe", OPT, &j->recipe, err) < 0 ||
	    get_str(o, "", "arch", OPT, &j->arch, err) < 0 ||
	    get_str(o, "", "intent", OPT, &j->intent, err) < 0 ||
	    get_str(o, "", "branch", OPT, &j->branch, err) < 0 ||
	    get_str(o, "", "primary_tree", OPT, &j->primary_tree, err) < 0 ||
	    get_intv(o, "", "attempt", &j->attempt, err) < 0 ||
	    get_intv(o, "", "lab_retries", &j->lab_retries, err) < 0 ||
	    get_intv(o, "", "last_step", &j->last_step, err) < 0 ||
	    get_bool(o, "", "health_check", &j->health_check, err) < 0 ||
	    get_object(o, "", "runvars", &rv, err) < 0)
		return err->code;
	json_object_foreach(rv, key, x) {
		if (!json_is_string(x) ||
		    strlen(json_string_value(x)) != json_string_length(x))
			return err_set(err, ERR_USAGE,
				       "runvar %s: not a string without NULs", key);
		if (!*key || strchr(key, '='))
			return err_set(err, ERR_USAGE, "runvar '%s': a bad name",
				       key);
		vec_pushf(&j->runvars, "%s=%s", key, json_string_value(x));
	}

	if (get_array(o, "hosts", &a, err) < 0)
		return err->code;
	j->hosts = xcalloc(json_array_size(a) + 1, sizeof(*j->hosts));
	json_array_foreach(a, i, x) {
		snprintf(what, sizeof(what), "hosts[%zu]", i);
		j->nhosts = i + 1;
		if (wjob_host_from_json(x, what, &j->hosts[i], err) < 0)
			return err->code;
	}

	if (get_array(o, "steps", &a, err) < 0)
		return err->code;
	j->steps = xcalloc(json_array_size(a) + 1, sizeof(*j->steps));
	json_array_foreach(a, i, x) {
		snprintf(what, sizeof(what), "steps[%zu]", i);
		j->nsteps = i + 1;
		if (wjob_step_from_json(x, what, &j->steps[i], err) < 0)
			return err->code;
	}

	if (get_array(o, "artifacts", &a, err) < 0)
		return err->code;
	json_array_foreach(a, i, x) {
		if (!json_is_string(x) ||
		    strlen(json_string_value(x)) != json_string_length(x))
			return err_set(err, ERR_USAGE, "artifacts[%zu]: not a "
				       "string without NULs", i);
		vec_push(&j->artifacts, json_string_value(x));
	}

	if (get_array(o, "trees", &a, err) < 0)
		return err->code;
	j->trees = xcalloc(json_array_size(a) + 1, sizeof(*j->trees));
	json_array_foreach(a, i, x) {
		struct wjob_tree *t = &j->trees[i];

		snprintf(what, sizeof(what), "trees[%zu]", i);
		j->ntrees = i + 1;
		if (!json_is_object(x))
			return err_set(err, ERR_USAGE, "%s: not an object", what);
		if (get_str(x, what, "name", REQ, &t->name, err) < 0 ||
		    get_str(x, what, "revision", OPT, &t->revision, err) < 0 ||
		    get_str(x, what, "url", OPT, &t->url, err) < 0)
			return err->code;
	}

	if (get_array(o, "deps", &a, err) < 0)
		return err->code;
	j->deps = xcalloc(json_array_size(a) + 1, sizeof(*j->deps));
	json_array_foreach(a, i, x) {
		struct wjob_dep *d = &j->deps[i];

		snprintf(what, sizeof(what), "deps[%zu]", i);
		j->ndeps = i + 1;
		if (!json_is_object(x))
			return err_set(err, ERR_USAGE, "%s: not an object", what);
		if (get_int(x, what, "flight", 1, 0x7fffffffffffffffLL, &v,
			    err) < 0)
			return err->code;
		d->flight = (long)v;
		if (get_str(x, what, "job", REQ, &d->job, err) < 0 ||
		    get_str(x, what, "status", OPT, &d->status, err) < 0)
			return err->code;
	}
	return 0;
}

int wire_wjob_from_json(json_t *o, struct wjob *j, struct err *err)
{
	memset(j, 0, sizeof(*j));
	if (wjob_decode(o, j, err) < 0) {
		wjob_release(j);
		memset(j, 0, sizeof(*j));
		return err_prefix(err, "job");
	}
	return 0;
}

/* ---- records ---- */

static const char *const wrec_types[] = {
	[WREC_STEP_BEGIN] = "step-begin",
	[WREC_STEP_END] = "step-end",
	[WREC_CASES] = "cases",
	[WREC_RUNVAR] = "runvar",
	[WREC_ARTIFACT] = "artifact",
	[WREC_POWER] = "power",
	[WREC_HOST_BROKEN] = "host-broken",
	[WREC_HOST_HEALTHY] = "host-healthy",
	[WREC_HOST_INSTALLED] = "host-installed",
	[WREC_HOSTKEY_CLEAR] = "hostkey-clear",
	[WREC_INSTALL_BEGIN] = "install-begin",
	[WREC_FIRMWARE] = "firmware",
};

const char *wrec_type_str(enum wrec_type t)
{
	return (unsigned)t <= WREC_TYPE_LAST ? wrec_types[t] : "unknown";
}

int wrec_type_parse(const char *s)
{
	for (int t = 0; s && t <= WREC_TYPE_LAST; t++)
		if (!strcmp(s, wrec_types[t]))
			return t;
	return -1;
}

void wrec_release(struct wrec *r)
{
	if (!r)
		return;
	free(r->kind);
	free(r->name);
	free(r->status);
	free(r->detail);
	free(r->value);
	free(r->path);
	free(r->sha256);
	free(r->host);
	free(r->reason);
	free(r->token);
	free(r->action);
	free(r->state);
	free(r->error);
	vec_clear(&r->names);
	vec_clear(&r->statuses);
	vec_clear(&r->details);
	memset(r, 0, sizeof(*r));
}

static json_t *wire_at(double at)
{
	return at > 0 ? json_real(at) : json_null();
}

json_t *wire_rec_to_json(const struct wrec *r)
{
	json_t *o = json_object(), *a;

	set(o, "type", json_string(wrec_type_str(r->type)));
	switch (r->type) {
	case WREC_STEP_BEGIN:
		set(o, "step", json_integer(r->step));
		set(o, "kind", wire_str(r->kind));
		set(o, "name", wire_str(r->name));
		set(o, "at", wire_at(r->at));
		break;
	case WREC_STEP_END:
		set(o, "step", json_integer(r->step));
		set(o, "status", wire_str(r->status));
		set(o, "detail", wire_str(r->detail));
		set(o, "at", wire_at(r->at));
		break;
	case WREC_CASES:
		set(o, "parent", wire_str(r->name));
		set(o, "parent_step", json_integer(r->step));
		set(o, "first", json_integer(r->first));
		a = json_array();
		for (size_t i = 0; i < r->names.n; i++) {
			json_t *c = json_object();

			set(c, "name", wire_str(r->names.v[i]));
			set(c, "status", wire_str(i < r->statuses.n ?
						  r->statuses.v[i] : NULL));
			set(c, "detail", wire_str(i < r->details.n ?
						  r->details.v[i] : ""));
			json_array_append_new(a, c);
		}
		set(o, "cases", a);
		set(o, "at", wire_at(r->at));
		break;
	case WREC_RUNVAR:
		set(o, "name", wire_str(r->name));
		set(o, "value", wire_str(r->value));
		break;
	case WREC_ARTIFACT:
		set(o, "path", wire_str(r->path));
		set(o, "sha256", wire_str(r->sha256));
		set(o, "size", json_integer(r->size));
		break;
	case WREC_POWER:
		set(o, "host", wire_str(r->host));
		set(o, "action", wire_str(r->action));
		set(o, "state", wire_str(r->state));
		set(o, "attempts", json_integer(r->attempts));
		set(o, "ms", json_integer(r->ms));
		set(o, "detail", wire_str(r->detail));
		set(o, "error", wire_str(r->error));
		set(o, "at", wire_at(r->at));
		break;
	case WREC_HOST_BROKEN:
		set(o, "host", wire_str(r->host));
		set(o, "reason", wire_str(r->reason));
		break;
	case WREC_HOST_HEALTHY:
	case WREC_HOST_INSTALLED:
		set(o, "host", wire_str(r->host));
		break;
	case WREC_HOSTKEY_CLEAR:
		set(o, "host", wire_str(r->host));
		set(o, "reason", wire_str(r->reason));
		break;
	case WREC_INSTALL_BEGIN:
		set(o, "host", wire_str(r->host));
		set(o, "token", wire_str(r->token));
		break;
	case WREC_FIRMWARE:
		set(o, "host", wire_str(r->host));
		set(o, "firmware", wire_str(r->value));
		break;
	}
	return o;
}

static int get_at(json_t *o, double *at, struct err *err)
{
	json_t *v = json_object_get(o, "at");

	*at = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v) || json_number_value(v) < 0)
		return err_set(err, ERR_USAGE, "\"at\": not a time");
	*at = json_number_value(v);
	return 0;
}

static int hex_ok(const char *s, size_t len)
{
	if (strlen(s) != len)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static int rec_step(json_t *o, const char *key, int *out, struct err *err)
{
	long long v;

	if (get_int(o, "", key, 1, 0x7fffffff, &v, err) < 0)
		return err->code;
	*out = (int)v;
	return 0;
}

static int rec_cases(json_t *o, struct wrec *r, struct err *err)
{
	json_t *a, *c;
	size_t i;
	char what[32];

	if (get_str(o, "", "parent", REQ, &r->name, err) < 0 ||
	    rec_step(o, "parent_step", &r->step, err) < 0 ||
	    rec_step(o, "first", &r->first, err) < 0 ||
	    get_array(o, "cases", &a, err) < 0)
		return err->code;
	json_array_foreach(a, i, c) {
		char *name = NULL, *status = NULL, *detail = NULL;

		snprintf(what, sizeof(what), "cases[%zu]", i);
		if (!json_is_object(c))
			return err_set(err, ERR_USAGE, "%s: not an object", what);
		if (get_str(c, what, "name", REQ, &name, err) < 0 ||
		    get_str(c, what, "status", REQ, &status, err) < 0 ||
		    get_str(c, what, "detail", OPT, &detail, err) < 0) {
			free(name);
			free(status);
			return err->code;
		}
		vec_push_take(&r->names, name);
		vec_push_take(&r->statuses, status);
		vec_push_take(&r->details, detail ? detail : xstrdup(""));
	}
	if (a && json_array_size(a) > 0x7fffffff - (size_t)r->first)
		return err_set(err, ERR_USAGE, "\"cases\": too many");
	return 0;
}

static int rec_decode(json_t *o, struct wrec *r, struct err *err)
{
	char *type = NULL;
	long long v;
	int t;

	if (!json_is_object(o))
		return err_set(err, ERR_USAGE, "not an object");
	if (get_str(o, "", "type", REQ, &type, err) < 0)
		return err->code;
	t = wrec_type_parse(type);
	if (t < 0) {
		err_set(err, ERR_USAGE, "unknown type '%s'", type);
		free(type);
		return err->code;
	}
	free(type);
	r->type = (enum wrec_type)t;
	if (get_at(o, &r->at, err) < 0)
		return err->code;
	switch (r->type) {
	case WREC_STEP_BEGIN:
		if (rec_step(o, "step", &r->step, err) < 0 ||
		    get_str(o, "", "kind", REQ, &r->kind, err) < 0 ||
		    get_str(o, "", "name", REQ, &r->name, err) < 0)
			return err->code;
		if (step_kind_parse(r->kind) < 0)
			return err_set(err, ERR_USAGE, "unknown step kind '%s'",
				       r->kind);
		return 0;
	case WREC_STEP_END:
		if (rec_step(o, "step", &r->step, err) < 0 ||
		    get_str(o, "", "status", REQ, &r->status, err) < 0 ||
		    get_str(o, "", "detail", OPT, &r->detail, err) < 0)
			return err->code;
		return 0;
	case WREC_CASES:
		return rec_cases(o, r, err);
	case WREC_RUNVAR:
		if (get_str(o, "", "name", REQ, &r->name, err) < 0 ||
		    get_str(o, "", "value", REQ, &r->value, err) < 0)
			return err->code;
		return 0;
	case WREC_ARTIFACT:
		if (get_str(o, "", "path", REQ, &r->path, err) < 0 ||
		    get_str(o, "", "sha256", REQ, &r->sha256, err) < 0 ||
		    get_int(o, "", "size", 0, 0x7fffffffffffffffLL, &v, err) < 0)
			return err->code;
		if (!hex_ok(r->sha256, 64))
			return err_set(err, ERR_USAGE, "\"sha256\": not 64 "
				       "lower-case hex digits");
		r->size = v;
		return 0;
	case WREC_POWER:
		if (get_str(o, "", "host", REQ, &r->host, err) < 0 ||
		    get_str(o, "", "action", REQ, &r->action, err) < 0 ||
		    get_str(o, "", "state", REQ, &r->state, err) < 0 ||
		    get_int(o, "", "attempts", 0, 0x7fffffff, &v, err) < 0)
			return err->code;
		r->attempts = (int)v;
		if (get_int(o, "", "ms", 0, 0x7fffffff, &v, err) < 0 ||
		    get_str(o, "", "detail", OPT, &r->detail, err) < 0 ||
		    get_str(o, "", "error", OPT, &r->error, err) < 0)
			return err->code;
		r->ms = (long)v;
		return 0;
	case WREC_HOST_BROKEN:
		if (get_str(o, "", "host", REQ, &r->host, err) < 0 ||
		    get_str(o, "", "reason", REQ, &r->reason, err) < 0)
			return err->code;
		return 0;
	case WREC_HOST_HEALTHY:
	case WREC_HOST_INSTALLED:
		return get_str(o, "", "host", REQ, &r->host, err);
	case WREC_HOSTKEY_CLEAR:
		if (get_str(o, "", "host", REQ, &r->host, err) < 0 ||
		    get_str(o, "", "reason", OPT, &r->reason, err) < 0)
			return err->code;
		return 0;
	case WREC_INSTALL_BEGIN:
		if (get_str(o, "", "host", REQ, &r->host, err) < 0 ||
		    get_str(o, "", "token", REQ, &r->token, err) < 0)
			return err->code;
		if (!hex_ok(r->token, 32))
			return err_set(err, ERR_USAGE, "\"token\": not 32 "
				       "lower-case hex digits");
		return 0;
	case WREC_FIRMWARE:
		if (get_str(o, "", "host", REQ, &r->host, err) < 0 ||
		    get_str(o, "", "firmware", REQ, &r->value, err) < 0)
			return err->code;
		if (!r->value[0] || strlen(r->value) > FIRMWARE_MAX)
			return err_set(err, ERR_USAGE, "\"firmware\": 1 to %d "
				       "bytes", FIRMWARE_MAX);
		/* it goes to the record, the mail and terminals as it is:
		 * one line of text, as a worker of ours sends (firmware.h) */
		for (const char *p = r->value; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return err_set(err, ERR_USAGE, "\"firmware\": a "
					       "control character");
		return 0;
	}
	return err_set(err, ERR_USAGE, "unknown type");
}

int wire_rec_from_json(json_t *o, struct wrec *r, struct err *err)
{
	memset(r, 0, sizeof(*r));
	if (rec_decode(o, r, err) < 0) {
		enum wrec_type t = r->type;
		int known = json_is_object(o) &&
			    wrec_type_parse(json_string_value(
				    json_object_get(o, "type"))) >= 0;

		wrec_release(r);
		if (known)
			return err_prefix(err, "record %s", wrec_type_str(t));
		return err_prefix(err, "record");
	}
	return 0;
}
