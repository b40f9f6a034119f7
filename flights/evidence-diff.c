/*
 * evidence-diff.c: change tracking between two evidence records
 * (evidence-diff.h).
 */
#include <string.h>

#include "evidence-diff.h"
#include "banned.h"

/* The requirements array of record r ([] when it has none). */
static json_t *reqs_of(json_t *r)
{
	json_t *a = json_object_get(r, "requirements");

	return json_is_array(a) ? a : NULL;
}

/* Record r's requirements by id (a new reference; {} for none): a later
 * duplicate id (the parser refuses them) does not replace the first. */
static json_t *index_of(json_t *r)
{
	json_t *idx = json_object(), *a = reqs_of(r), *q;
	size_t i;

	json_array_foreach(a, i, q) {
		const char *id = json_string_value(json_object_get(q, "id"));

		if (id && !json_object_get(idx, id))
			json_object_set(idx, id, q);
	}
	return idx;
}

/* The status of requirement id in idx: NULL when absent. */
static const char *status_in(json_t *idx, const char *id)
{
	json_t *q = json_object_get(idx, id);
	const char *s;

	if (!q)
		return NULL;
	s = json_string_value(json_object_get(q, "status"));
	return s ? s : "unverified";
}

static int is(const char *status, const char *word)
{
	return status && !strcmp(status, word);
}

/* {"flight": F, "revision": R} of record r, or null. */
static json_t *endpoint(json_t *r)
{
	json_t *rev;

	if (!json_is_object(r))
		return json_null();
	rev = json_object_get(r, "revision");
	return json_pack("{s:O, s:O}", "flight",
			 json_object_get(r, "flight") ? json_object_get(r, "flight")
						      : json_null(),
			 "revision", json_is_string(rev) ? rev : json_null());
}

json_t *evidence_diff(json_t *from, json_t *to)
{
	json_t *a = index_of(from), *b = index_of(to), *q;
	json_t *nv = json_array(), *nf = json_array(), *nl = json_array();
	json_t *added = json_array(), *removed = json_array();
	size_t i;

	json_array_foreach(reqs_of(to), i, q) {
		const char *id = json_string_value(json_object_get(q, "id"));
		const char *sa, *sb;

		if (!id || json_object_get(b, id) != q)
			continue;   /* no id, or a duplicate */
		sa = status_in(a, id);
		sb = status_in(b, id);
		if (is(sb, "verified") && !is(sa, "verified"))
			json_array_append_new(nv, json_string(id));
		if (is(sb, "failed") && !is(sa, "failed"))
			json_array_append_new(nf, json_string(id));
		if (!sa)
			json_array_append_new(added, json_string(id));
	}
	json_array_foreach(reqs_of(from), i, q) {
		const char *id = json_string_value(json_object_get(q, "id"));
		const char *sa, *sb;

		if (!id || json_object_get(a, id) != q)
			continue;
		sa = status_in(a, id);
		sb = status_in(b, id);
		/* a verified one that now fails is newly failing instead */
		if (is(sa, "verified") && (!sb || is(sb, "unverified")))
			json_array_append_new(nl, json_string(id));
		if (!sb)
			json_array_append_new(removed, json_string(id));
	}
	json_decref(a);
	json_decref(b);
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "from", endpoint(from), "to", endpoint(to),
			 "newly_verified", nv, "newly_failing", nf,
			 "no_longer_verified", nl, "added", added,
			 "removed", removed);
}

/* "flight 12 (minivisor 0123456789ab)" of an endpoint, or "none". */
static void endpoint_text(struct buf *b, json_t *e, json_t *record)
{
	const char *rev = json_string_value(json_object_get(e, "revision"));
	const char *tree = json_string_value(json_object_get(record, "tree"));

	if (!json_is_object(e)) {
		buf_addstr(b, "none");
		return;
	}
	buf_addf(b, "flight %lld", (long long)json_integer_value(
					   json_object_get(e, "flight")));
	if (rev)
		buf_addf(b, " (%s%s%.12s)", tree ? tree : "", tree ? " " : "",
			 rev);
}

/* One list of ids, a line each: id, its status in the newer record (or
 * "removed"), its title. */
static void list_text(struct buf *b, const char *what, json_t *ids,
		      json_t *ia, json_t *ib)
{
	json_t *v;
	size_t i;

	if (!json_array_size(ids))
		return;
	buf_addf(b, " %s (%zu):\n", what, json_array_size(ids));
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);
		json_t *q = json_object_get(ib, id);
		const char *title;

		if (!id)
			continue;
		if (!q)
			q = json_object_get(ia, id);
		title = json_string_value(json_object_get(q, "title"));
		buf_addf(b, "  %-24s %-10s %s", id,
			 json_object_get(ib, id) ? status_in(ib, id) : "removed",
			 title ? title : "");
		buf_rtrim(b);
		buf_addch(b, '\n');
	}
}

/* The ids of a list on one line ("added (2): A B"). */
static void ids_text(struct buf *b, const char *what, json_t *ids)
{
	json_t *v;
	size_t i;

	if (!json_array_size(ids))
		return;
	buf_addf(b, " %s (%zu):", what, json_array_size(ids));
	json_array_foreach(ids, i, v)
		buf_addf(b, " %s", json_string_value(v) ? json_string_value(v) : "");
	buf_addch(b, '\n');
}

void evidence_diff_text(struct buf *b, json_t *diff, json_t *from, json_t *to)
{
	static const char *const lists[] = { "newly_verified", "newly_failing",
					     "no_longer_verified", "added",
					     "removed" };
	const char *error = json_string_value(json_object_get(to,
							      "requirements_error"));
	json_t *ia, *ib;
	size_t changes = 0;

	buf_addstr(b, "Requirements:\n");
	if (error) {
		buf_addf(b, " not read: %s\n", error);
		return;
	}
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		changes += json_array_size(json_object_get(diff, lists[i]));
	if (!changes) {
		buf_addf(b, " no change in %zu requirements\n",
			 json_array_size(reqs_of(to)));
		return;
	}
	buf_addstr(b, " against the last pushed record: ");
	endpoint_text(b, json_object_get(diff, "from"), from);
	buf_addch(b, '\n');
	ia = index_of(from);
	ib = index_of(to);
	list_text(b, "newly verified", json_object_get(diff, "newly_verified"),
		  ia, ib);
	list_text(b, "newly failing", json_object_get(diff, "newly_failing"),
		  ia, ib);
	list_text(b, "no longer verified",
		  json_object_get(diff, "no_longer_verified"), ia, ib);
	ids_text(b, "added", json_object_get(diff, "added"));
	ids_text(b, "removed", json_object_get(diff, "removed"));
	json_decref(ia);
	json_decref(ib);
}
