/*
 * bisector.c: one step of a bisection, around the pure search of
 * bisect.c: git (the graph), the database (results, flights, outcome).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bisect.h"
#include "bisector.h"
#include "buf.h"
#include "db-bisect.h"
#include "db-flight.h"
#include "db-gate.h"
#include "fsutil.h"
#include "gitx.h"
#include "log.h"
#include "mail.h"
#include "proc.h"
#include "strmap.h"
#include "strnum.h"
#include "xalloc.h"
#include "banned.h"

/* What one step works with. */
struct bstep {
	struct db *db;
	const struct bisector_conf *c;
	struct bisection b;
	struct vec trees, revs;          /* the failure's revisions */
	struct vec dims;                 /* trees that changed: the graph's */
	struct vec urls;
	struct gitx_commit **commits;    /* per dim */
	size_t *ncommits;
	struct bisect_graph g;
	size_t *tuples;                  /* g.n * dims.n commit indexes */
	struct strmap nodes;             /* "sha sha" -> node */
	struct err *err;
};

static void bstep_release(struct bstep *s)
{
	for (size_t t = 0; t < s->dims.n; t++)
		gitx_history_free(s->commits ? s->commits[t] : NULL,
				  s->ncommits ? s->ncommits[t] : 0);
	free(s->commits);
	free(s->ncommits);
	bisection_release(&s->b);
	vec_clear(&s->trees);
	vec_clear(&s->revs);
	vec_clear(&s->dims);
	vec_clear(&s->urls);
	bisect_graph_release(&s->g);
	free(s->tuples);
	strmap_clear(&s->nodes);
}

/* The revision of dim t at node k. */
static const char *node_rev(const struct bstep *s, size_t k, size_t t)
{
	return s->commits[t][s->tuples[k * s->dims.n + t]].sha;
}

static void node_key(const struct bstep *s, size_t k, struct buf *key)
{
	buf_reset(key);
	for (size_t t = 0; t < s->dims.n; t++)
		buf_addf(key, "%s ", node_rev(s, k, t));
}

/* The trees that changed between basis and failure, and their histories. */
static int build_graph(struct bstep *s)
{
	struct vec btrees = VEC_INIT, brevs = VEC_INIT;
	struct bisect_tree *trees = NULL;
	struct bisect_commit **bc = NULL;
	struct buf key = BUF_INIT;
	size_t max = s->c->max_commits ? s->c->max_commits : 5000;
	int rc;

	if ((rc = db_bisect_revisions(s->db, s->b.basis_flight, &btrees, &brevs,
				      s->err)) < 0 ||
	    (rc = db_bisect_revisions(s->db, s->b.failure_flight, &s->trees,
				      &s->revs, s->err)) < 0)
		goto out;
	for (size_t i = 0; i < s->trees.n; i++) {
		int at = vec_find(&btrees, s->trees.v[i]);

		if (at >= 0 && strcmp(brevs.v[at], s->revs.v[i]))
			vec_push(&s->dims, s->trees.v[i]);
	}
	if (!s->dims.n) {
		rc = err_set(s->err, ERR_USAGE, "the basis and the failure tested "
			     "the same revisions");
		goto out;
	}
	s->commits = xcalloc(s->dims.n, sizeof(*s->commits));
	s->ncommits = xcalloc(s->dims.n, sizeof(*s->ncommits));
	trees = xcalloc(s->dims.n, sizeof(*trees));
	bc = xcalloc(s->dims.n, sizeof(*bc));
	for (size_t t = 0; t < s->dims.n; t++) {
		const char *tree = s->dims.v[t];
		char *url = NULL, *cache = xasprintf("%s/git/%s.git", s->c->state, tree);
		int bi = vec_find(&btrees, tree), fi = vec_find(&s->trees, tree);

		rc = db_gate_tree_url(s->db, tree, 1, &url, s->err);
		if (rc == 0)
			rc = gitx_history(cache, url, brevs.v[bi], s->revs.v[fi], max,
					  &s->commits[t], &s->ncommits[t], s->err);
		vec_push(&s->urls, url ? url : "");
		free(url);
		free(cache);
		if (rc < 0) {
			err_prefix(s->err, "tree %s", tree);
			goto out;
		}
		bc[t] = xcalloc(s->ncommits[t], sizeof(**bc));
		for (size_t i = 0; i < s->ncommits[t]; i++) {
			bc[t][i].time = s->commits[t][i].time;
			bc[t][i].nparents = s->commits[t][i].nparents;
			memcpy(bc[t][i].parents, s->commits[t][i].parents,
			       sizeof(bc[t][i].parents));
		}
		trees[t] = (struct bisect_tree){ bc[t], s->ncommits[t],
						 s->ncommits[t] - 1, 0 };
	}
	bisect_graph_init(&s->g);
	if (bisect_coalesce(trees, s->dims.n, 20000, &s->g, &s->tuples) < 0) {
		rc = err_set(s->err, ERR_USAGE,
			     "the basis is not an ancestor of the failure, or the "
			     "graph is too big");
		goto out;
	}
	for (size_t k = 0; k < s->g.n; k++) {
		node_key(s, k, &key);
		strmap_put(&s->nodes, key.buf, (long)k);
	}
out:
	for (size_t t = 0; bc && t < s->dims.n; t++)
		free(bc[t]);
	free(bc);
	free(trees);
	buf_release(&key);
	vec_clear(&btrees);
	vec_clear(&brevs);
	return rc;
}

/* The results of the flights on the bisection's hosts, at their nodes. */
static int scan_results(struct bstep *s)
{
	struct buf key = BUF_INIT;
	struct bisection_result *res;
	size_t n;
	int rc = db_bisect_results(s->db, &s->b, &s->trees, &res, &n, s->err);

	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const char *status = res[i].status;
		const struct vec *revs = &res[i].revs;
		int other = 0;
		long node;

		buf_reset(&key);
		for (size_t t = 0; t < s->trees.n && !other; t++) {
			const char *rev = t < revs->n ? revs->v[t] : "";

			if (vec_find(&s->dims, s->trees.v[t]) < 0)
				other = strcmp(rev, s->revs.v[t]) != 0;
		}
		for (size_t d = 0; d < s->dims.n && !other; d++) {
			int t = vec_find(&s->trees, s->dims.v[d]);

			buf_addf(&key, "%s ", (size_t)t < revs->n ? revs->v[t] : "");
		}
		/* other revisions of the fixed trees: not this graph's */
		if (other || (node = strmap_get(&s->nodes, key.buf)) < 0)
			continue;
		bisect_test_add(&s->g, (size_t)node, res[i].flight,
				!strcmp(status, "pass")   ? BISECT_PASS
				: !strcmp(status, "fail") ? BISECT_FAIL
							  : BISECT_BLOCKED);
	}
	db_bisect_results_free(res, n);
	buf_release(&key);
	return 0;
}

static const char *result_word(enum bisect_result r)
{
	return r == BISECT_PASS ? "pass" : r == BISECT_FAIL ? "fail" : "blocked";
}

/*
 * The graph for the API: its size, and the nodes that were tested or are
 * at either end or named by the step (a history of thousands of commits
 * is mostly untested: the SVG draws those as lines).
 */
static char *detail_json(const struct bstep *s, const struct bisect_step *st,
			 long flight)
{
	json_t *o = json_object(), *nodes = json_array(), *dims = json_array();
	size_t relevant = 0;
	char *text;

	for (size_t t = 0; t < s->dims.n; t++)
		json_array_append_new(dims, json_string(s->dims.v[t]));
	for (size_t k = 0; k < s->g.n; k++) {
		const struct bisect_node *x = &s->g.nodes[k];
		json_t *revs, *parents, *results;

		relevant += x->relevant != 0;
		if (!x->ntests && k != s->g.basis && k != s->g.failure &&
		    !((st->state == BISECT_TEST || st->state == BISECT_FOUND) &&
		      k == st->node) &&
		    !(st->state == BISECT_FOUND && k == st->parent))
			continue;
		revs = json_array();
		parents = json_array();
		results = json_array();

		for (size_t t = 0; t < s->dims.n; t++)
			json_array_append_new(revs, json_string(node_rev(s, k, t)));
		for (size_t p = 0; p < x->nparents; p++)
			json_array_append_new(parents, json_integer((json_int_t)x->parents[p]));
		for (size_t r = 0; r < x->ntests; r++)
			json_array_append_new(
				results, json_pack("{s:I, s:s}", "flight",
						   (json_int_t)x->tests[r].flight, "result",
						   result_word(x->tests[r].result)));
		json_array_append_new(nodes, json_pack("{s:I, s:o, s:o, s:o, s:b}", "node",
						       (json_int_t)k, "revisions", revs,
						       "parents", parents, "results", results,
						       "relevant", x->relevant));
	}
	json_object_set_new(o, "trees", dims);
	json_object_set_new(o, "size", json_integer((json_int_t)s->g.n));
	json_object_set_new(o, "relevant", json_integer((json_int_t)relevant));
	json_object_set_new(o, "nodes", nodes);
	json_object_set_new(o, "basis", json_integer((json_int_t)s->g.basis));
	json_object_set_new(o, "failure", json_integer((json_int_t)s->g.failure));
	json_object_set_new(o, "step", json_string(bisect_state_str(st->state)));
	json_object_set_new(o, "why", json_string(st->why));
	if (st->state == BISECT_TEST) {
		json_object_set_new(o, "testing", json_integer((json_int_t)st->node));
		json_object_set_new(o, "flight", json_integer(flight));
	}
	if (st->state == BISECT_FOUND) {
		json_object_set_new(o, "culprit", json_integer((json_int_t)st->node));
		json_object_set_new(o, "parent", json_integer((json_int_t)st->parent));
	}
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/*
 * Which relevant nodes are drawn as part of an untested line: untested,
 * neither end, one relevant parent and one relevant child. A line of them
 * is one box ("N untested"), named by its newest node in rep[]; count[]
 * is its length there. Thousands of white boxes say nothing, and cost
 * dot seconds.
 */
static void graph_lines(const struct bstep *s, size_t *rep, size_t *count)
{
	size_t *nchild = xcalloc(s->g.n, sizeof(*nchild));
	size_t *child = xcalloc(s->g.n, sizeof(*child));

	for (size_t k = 0; k < s->g.n; k++)
		for (size_t p = 0; s->g.nodes[k].relevant && p < s->g.nodes[k].nparents; p++) {
			nchild[s->g.nodes[k].parents[p]]++;
			child[s->g.nodes[k].parents[p]] = k;
		}
	/* children come before their parents: a line's newest node first */
	for (size_t k = 0; k < s->g.n; k++) {
		const struct bisect_node *x = &s->g.nodes[k];
		size_t rel = 0;

		rep[k] = SIZE_MAX;
		for (size_t p = 0; p < x->nparents; p++)
			rel += s->g.nodes[x->parents[p]].relevant;
		if (!x->relevant || x->ntests || k == s->g.basis || k == s->g.failure ||
		    rel != 1 || nchild[k] != 1)
			continue;
		rep[k] = rep[child[k]] != SIZE_MAX ? rep[child[k]] : k;
		count[rep[k]]++;
	}
	free(nchild);
	free(child);
}

/*
 * The tested graph as SVG (STATE/logs/bisect-N.svg) with Graphviz's dot,
 * for the dashboard: OSSTest's colours (red fail, green pass, blue
 * blocked, yellow conflicting), the basis a hexagon, the culprit doubled,
 * each node linked to its newest flight, untested lines as one dashed
 * box. Without dot, no picture.
 */
static void write_graph(const struct bstep *s, const struct bisect_step *st)
{
	struct err err = ERR_INIT;
	struct buf dot = BUF_INIT, out = BUF_INIT;
	char *src = xasprintf("%s/logs/bisect-%ld.dot", s->c->state, s->b.id);
	char *svg = xasprintf("%s/logs/bisect-%ld.svg", s->c->state, s->b.id);
	char *cmd = xasprintf("dot -Tsvg -o \"$2.tmp\" \"$1\" && mv \"$2.tmp\" \"$2\"");
	const char *argv[] = { "/bin/sh", "-c", cmd, "sh", src, svg, NULL };
	size_t *rep = xcalloc(s->g.n, sizeof(*rep));
	size_t *count = xcalloc(s->g.n, sizeof(*count));

	graph_lines(s, rep, count);
	buf_addstr(&dot, "digraph bisection {\n  node [shape=box, style=filled, "
			 "fontname=\"monospace\", fontsize=10];\n");
	for (size_t k = 0; k < s->g.n; k++) {
		const struct bisect_node *x = &s->g.nodes[k];
		int pass = 0, fail = 0, blocked = 0;
		long last = 0;

		if (!x->relevant)
			continue;
		if (rep[k] != SIZE_MAX) {
			if (rep[k] == k)
				buf_addf(&dot, "  n%zu [label=\"%zu untested\", "
					       "style=dashed];\n", k, count[k]);
			for (size_t p = 0; p < x->nparents; p++)
				if (s->g.nodes[x->parents[p]].relevant &&
				    rep[x->parents[p]] == SIZE_MAX)
					buf_addf(&dot, "  n%zu -> n%zu;\n", rep[k],
						 x->parents[p]);
			continue;
		}
		for (size_t r = 0; r < x->ntests; r++) {
			pass += x->tests[r].result == BISECT_PASS;
			fail += x->tests[r].result == BISECT_FAIL;
			blocked += x->tests[r].result == BISECT_BLOCKED;
			last = x->tests[r].flight;
		}
		buf_addf(&dot, "  n%zu [label=\"", k);
		for (size_t t = 0; t < s->dims.n; t++)
			buf_addf(&dot, "%s%s %.12s", t ? "\\n" : "", s->dims.v[t],
				 node_rev(s, k, t));
		for (size_t r = 0; r < x->ntests; r++)
			buf_addf(&dot, "%s%ld:%s", r ? " " : "\\n", x->tests[r].flight,
				 result_word(x->tests[r].result));
		buf_addf(&dot, "\", fillcolor=\"%s\"%s%s",
			 pass && fail ? "yellow" : fail ? "#ee6666" : pass ? "#88dd88"
			 : blocked ? "#9999ff" : "white",
			 k == s->g.basis ? ", shape=hexagon" : "",
			 st->state == BISECT_FOUND && k == st->node ? ", peripheries=2" : "");
		if (last)
			buf_addf(&dot, ", URL=\"/flights/%ld\"", last);
		buf_addstr(&dot, "];\n");
		for (size_t p = 0; p < x->nparents; p++) {
			size_t to = x->parents[p];

			if (s->g.nodes[to].relevant)
				buf_addf(&dot, "  n%zu -> n%zu;\n", k,
					 rep[to] != SIZE_MAX ? rep[to] : to);
		}
	}
	buf_addstr(&dot, "}\n");
	if (fs_write_file(src, dot.buf, dot.len, 0644, &err) < 0 ||
	    proc_run((char *const *)argv, NULL, &out, &err) != 0)
		log_debug("bisection %ld: no graph: %s", s->b.id,
			  err.code ? err.msg : out.buf ? out.buf : "dot failed");
	buf_release(&dot);
	buf_release(&out);
	free(rep);
	free(count);
	free(src);
	free(svg);
	free(cmd);
}

/* The revision of every tree of the failure at node k. */
static void node_revisions(const struct bstep *s, size_t k, struct vec *revs)
{
	for (size_t t = 0; t < s->trees.n; t++) {
		int d = vec_find(&s->dims, s->trees.v[t]);

		vec_push(revs, d >= 0 ? node_rev(s, k, (size_t)d) : s->revs.v[t]);
	}
}

/* Queues the bisect flight of node k, on the bisection's hosts. */
static int queue_flight(struct bstep *s, size_t k, long *flight)
{
	struct flight_spec spec;
	int rc;

	flight_spec_init(&spec);
	spec.intent = "bisect";
	spec.branch = s->b.branch;
	spec.requested_by = s->c->actor;
	spec.reuse_builds = 1;   /* a build of the same revisions is reused */
	spec.bisection = s->b.id;
	/* the same physical host(s) as the failure, in the same roles:
	 * OSSTest's rule */
	for (size_t h = 0; h < s->b.hosts.n; h++)
		vec_push(&spec.hosts, s->b.hosts.v[h]);
	vec_push(&spec.jobs, s->b.job);
	for (size_t t = 0; t < s->trees.n; t++)
		vec_push(&spec.trees, s->trees.v[t]);
	node_revisions(s, k, &spec.revs);
	rc = db_flight_create(s->db, &spec, flight, s->err);
	flight_spec_release(&spec);
	return rc;
}

/*
 * OSSTest's anti-flail check: a bisection that already made more than
 * BISECT_MAX_IDENTICAL flights of node k (cancelled, broken, on hosts
 * that changed: whatever kept them from counting) stops, doubtful.
 */
#define BISECT_MAX_IDENTICAL 4

static int check_flailing(struct bstep *s, struct bisect_step *st)
{
	struct vec revs = VEC_INIT;
	long n = 0;
	int rc;

	node_revisions(s, st->node, &revs);
	rc = db_bisect_identical(s->db, s->b.id, &s->trees, &revs, &n, s->err);
	vec_clear(&revs);
	if (rc == 0 && n > BISECT_MAX_IDENTICAL) {
		st->state = BISECT_DOUBTFUL;
		snprintf(st->why, sizeof(st->why), "flailing: %ld identical flights "
			 "of one revision tuple already", n);
	}
	return rc;
}

/*
 * A bisection's flights are pinned to the failure's hosts: when the last
 * one gave up on a host that stayed broken, in maintenance or retired
 * ([scheduler] pinned-wait), the next would only wait for it again, and
 * flights that never ran would keep it going until it flails. It ends
 * inconclusive, naming the host and why.
 */
static int check_host_gone(struct bstep *s, struct bisect_step *st)
{
	char *reason = NULL;
	int rc = db_bisect_host_gone(s->db, s->b.id, &reason, s->err);

	if (rc == 0 && reason) {
		st->state = BISECT_INCONCLUSIVE;
		snprintf(st->why, sizeof(st->why), "%s", reason);
	}
	free(reason);
	return rc;
}

/* OSSTest's bisection report. */
static void report(const struct bstep *s, const struct bisect_step *st,
		   struct buf *out, const char **tree, const char **commit,
		   const char **parent)
{
	buf_addf(out, "branch %s\njob %s\ntestid %s\n\n", s->b.branch, s->b.job,
		 s->b.step);
	for (size_t t = 0; t < s->dims.n; t++)
		buf_addf(out, "Tree: %s %s\n", s->dims.v[t], s->urls.v[t]);
	buf_addch(out, '\n');
	if (st->state == BISECT_FOUND) {
		const struct bisect_node *x = &s->g.nodes[st->node];
		long last = 0;
		size_t t = 0;

		while (t + 1 < s->dims.n &&
		       !strcmp(node_rev(s, st->node, t), node_rev(s, st->parent, t)))
			t++;
		for (size_t r = 0; r < x->ntests; r++)
			if (x->tests[r].result == BISECT_FAIL)
				last = x->tests[r].flight;
		*tree = s->dims.v[t];
		*commit = node_rev(s, st->node, t);
		*parent = node_rev(s, st->parent, t);
		buf_addf(out, "*** Found and reproduced problem changeset ***\n\n"
			      "  Bug is in tree:  %s %s\n  Bug introduced:  %s\n"
			      "  Bug not present: %s\n  Last fail repro: %s/flights/%ld\n\n",
			 *tree, s->urls.v[t], *commit, *parent,
			 s->c->url ? s->c->url : "", last);
		for (size_t i = 0; i < s->ncommits[t]; i++)
			if (!strcmp(s->commits[t][i].sha, *commit))
				buf_addf(out, "  commit %s\n  Author: %s\n\n      %s\n",
					 *commit, s->commits[t][i].author,
					 s->commits[t][i].subject);
	} else if (st->state == BISECT_INCONSISTENT) {
		buf_addf(out, "HOWEVER - WARNING - INCONSISTENT TEST RESULTS\n%s\n",
			 st->why);
	} else if (st->state == BISECT_UNREPRODUCIBLE) {
		buf_addf(out, "Not reproducible - %s\n", st->why);
	} else {
		buf_addf(out, "Exact problem changeset not identified (%s): %s\n",
			 bisect_state_str(st->state), st->why);
	}
}

/*
 * The report as a mail (STATE/logs/bisect-N.mail), handed to sendmail
 * when there is one: OSSTest's subject "[BRANCH bisection] complete JOB"
 * for a culprit, the outcome instead of "complete" otherwise.
 */
static void mail_report(const struct bstep *s, const char *status,
			const struct buf *text)
{
	struct err err = ERR_INIT;
	struct buf mail = BUF_INIT;
	char *path = xasprintf("%s/logs/bisect-%ld.mail", s->c->state, s->b.id);

	if (s->c->mail_from)
		buf_addf(&mail, "From: %s\n", s->c->mail_from);
	if (s->c->mail_to)
		buf_addf(&mail, "To: %s\n", s->c->mail_to);
	buf_addf(&mail, "Message-ID: <hangar-bisect-%ld@%s>\n", s->b.id,
		 mail_hostname());
	buf_addf(&mail, "Subject: [%s bisection] %s %s\n", s->b.branch,
		 strcmp(status, "found") ? status : "complete", s->b.job);
	buf_addf(&mail, "X-Hangar-Bisection: %ld %s\n\n", s->b.id, status);
	buf_add(&mail, text->buf, text->len);
	if (fs_write_file(path, mail.buf, mail.len, 0644, &err) < 0 ||
	    (s->c->sendmail && mail_send(s->c->sendmail, path, &err) < 0))
		log_warnx("bisection %ld: report mail: %s", s->b.id, err.msg);
	buf_release(&mail);
	free(path);
}

int bisector_step(struct db *db, const struct bisector_conf *c, long id,
		  struct bisector_result *res, struct err *err)
{
	struct bstep s;
	struct bisect_step st;
	struct buf text = BUF_INIT;
	char *detail = NULL;
	long open = 0;
	int rc;

	memset(&s, 0, sizeof(s));
	memset(res, 0, sizeof(*res));
	s.db = db;
	s.c = c;
	s.err = err;
	bisect_graph_init(&s.g);
	if ((rc = db_bisect_get(db, id, &s.b, err)) < 0)
		goto out;
	res->status = "running";
	{
		char *logs = xasprintf("%s/logs", c->state);

		rc = fs_mkdir_p(logs, 0755, err);
		free(logs);
		if (rc < 0)
			goto out;
	}
	if (strcmp(s.b.status, "running")) {
		snprintf(res->what, sizeof(res->what), "bisection %ld: %s", id,
			 s.b.status);
		goto out;
	}
	if ((rc = db_bisect_open_flight(db, id, &open, err)) < 0)
		goto out;
	if (open) {
		res->flight = open;
		snprintf(res->what, sizeof(res->what),
			 "bisection %ld: flight %ld still running", id, open);
		goto out;
	}
	rc = build_graph(&s);
	if (rc == 0)
		rc = scan_results(&s);
	if (rc < 0 && err->code != ERR_USAGE)
		goto out;
	if (rc < 0) {
		/* a bisection that cannot run is doubtful, not stuck */
		memset(&st, 0, sizeof(st));
		st.state = BISECT_DOUBTFUL;
		snprintf(st.why, sizeof(st.why), "%.150s", err->msg);
		*err = (struct err)ERR_INIT;
		rc = 0;
	} else {
		bisect_step(&s.g, &st);
		if (st.state == BISECT_TEST && (rc = check_host_gone(&s, &st)) < 0)
			goto out;
		if (st.state == BISECT_TEST && (rc = check_flailing(&s, &st)) < 0)
			goto out;
	}
	if (s.g.n)
		write_graph(&s, &st);
	if (st.state == BISECT_TEST) {
		if ((rc = queue_flight(&s, st.node, &res->flight)) < 0)
			goto out;
		res->created = 1;
		detail = detail_json(&s, &st, res->flight);
		rc = db_bisect_progress(db, id, detail, err);
		snprintf(res->what, sizeof(res->what), "bisection %ld: flight %ld (%s)",
			 id, res->flight, st.why);
	} else {
		const char *tree = NULL, *commit = NULL, *parent = NULL;
		char *path = xasprintf("%s/logs/bisect-%ld.txt", c->state, id);

		res->status = bisect_state_str(st.state);
		report(&s, &st, &text, &tree, &commit, &parent);
		detail = detail_json(&s, &st, 0);
		rc = db_bisect_finish(db, id, res->status, tree, commit, parent, detail,
				      text.buf ? text.buf : "", err);
		/* the files and the mail once, by whoever ended it */
		if (rc == 1) {
			rc = 0;
			if (fs_write_file(path, text.buf ? text.buf : "", text.len, 0644,
					  err) < 0) {
				log_warnx("bisection %ld: %s", id, err->msg);
				*err = (struct err)ERR_INIT;
			}
			mail_report(&s, res->status, &text);
		}
		free(path);
		snprintf(res->what, sizeof(res->what), "bisection %ld: %s%s%.12s (%s)",
			 id, res->status, commit ? " " : "", commit ? commit : "",
			 st.why);
	}
out:
	free(detail);
	buf_release(&text);
	bstep_release(&s);
	return rc;
}

void bisector_cycle(struct db *db, const struct bisector_conf *c)
{
	struct err err = ERR_INIT;
	struct vec ids = VEC_INIT;

	if (db_bisect_running(db, &ids, &err) < 0) {
		log_warnx("bisections: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < ids.n; i++) {
		struct bisector_result res;
		long id = 0;

		strnum_long(ids.v[i], 1, 1L << 62, &id);

		err = (struct err)ERR_INIT;
		if (bisector_step(db, c, id, &res, &err) < 0)
			log_warnx("bisection %ld: %s", id, err.msg);
		else if (res.created || strcmp(res.status, "running"))
			log_info("%s", res.what);
	}
	vec_clear(&ids);
}
