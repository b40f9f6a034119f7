/*
 * bisect.c: the bisection search over a graph of revision tuples, and the
 * tuple graph of several trees (reference §5, steps 3, 4 and 6).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bisect.h"
#include "buf.h"
#include "strmap.h"
#include "xalloc.h"
#include "banned.h"

static const char *const bisect_states[] = {
	[BISECT_TEST] = "running", [BISECT_FOUND] = "found",
	[BISECT_INCONCLUSIVE] = "inconclusive",
	[BISECT_INCONSISTENT] = "inconsistent",
	[BISECT_UNREPRODUCIBLE] = "unreproducible",
	[BISECT_DOUBTFUL] = "doubtful",
};

const char *bisect_state_str(enum bisect_state s)
{
	return bisect_states[s];
}

void bisect_graph_init(struct bisect_graph *g)
{
	memset(g, 0, sizeof(*g));
	g->end_repro = 2;
	g->found_repro = 3;
	g->max_tests = 6;
}

void bisect_graph_release(struct bisect_graph *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->nodes[i].parents);
		free(g->nodes[i].tests);
	}
	free(g->nodes);
	memset(g, 0, sizeof(*g));
}

size_t bisect_node_add(struct bisect_graph *g)
{
	XGROW(g->nodes, g->alloc, g->n + 1);
	memset(&g->nodes[g->n], 0, sizeof(g->nodes[g->n]));
	return g->n++;
}

void bisect_parent_add(struct bisect_graph *g, size_t node, size_t parent)
{
	struct bisect_node *x = &g->nodes[node];

	x->parents = xrealloc(x->parents, (x->nparents + 1) * sizeof(size_t));
	x->parents[x->nparents++] = parent;
}

void bisect_test_add(struct bisect_graph *g, size_t node, long flight,
		     enum bisect_result result)
{
	struct bisect_node *x = &g->nodes[node];

	XGROW(x->tests, x->atests, x->ntests + 1);
	x->tests[x->ntests].flight = flight;
	x->tests[x->ntests].result = result;
	x->ntests++;
}

/* How often node x gave result r. */
static int count(const struct bisect_node *x, enum bisect_result r)
{
	int n = 0;

	for (size_t i = 0; i < x->ntests; i++)
		n += x->tests[i].result == r;
	return n;
}

/* The first flight where x gave r (for the reasons given). */
static long first_flight(const struct bisect_node *x, enum bisect_result r)
{
	for (size_t i = 0; i < x->ntests; i++)
		if (x->tests[i].result == r)
			return x->tests[i].flight;
	return 0;
}

static int untested(const struct bisect_node *x)
{
	return x->ntests == 0;
}

static int passed(const struct bisect_node *x)
{
	return count(x, BISECT_PASS) && !count(x, BISECT_FAIL);
}

static int failed(const struct bisect_node *x)
{
	return count(x, BISECT_FAIL) && !count(x, BISECT_PASS);
}

static void outcome(struct bisect_step *out, enum bisect_state state,
		    size_t node, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void outcome(struct bisect_step *out, enum bisect_state state,
		    size_t node, const char *fmt, ...)
{
	va_list ap;

	out->state = state;
	out->node = node;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

/* Test node next, unless it was tested too often already (flailing). */
static void test_next(const struct bisect_graph *g, struct bisect_step *out,
		      size_t node, const char *why)
{
	if (g->nodes[node].ntests >= (size_t)g->max_tests)
		outcome(out, BISECT_DOUBTFUL, node,
			"flailing: node %zu was tested %zu times and would be again",
			node, g->nodes[node].ntests);
	else
		outcome(out, BISECT_TEST, node, "%s", why);
}

/* Marks the relevant nodes; 0, or -1 when the graph is not usable. */
static int mark_relevant(struct bisect_graph *g, struct bisect_step *out)
{
	unsigned char *anc = xcalloc(g->n, 1), *desc = xcalloc(g->n, 1);
	int rc = 0;

	/* parents come after children: one pass each way suffices */
	anc[g->failure] = 1;
	for (size_t i = 0; i < g->n && !rc; i++)
		for (size_t k = 0; k < g->nodes[i].nparents; k++) {
			size_t p = g->nodes[i].parents[k];

			if (p <= i || p >= g->n) {
				outcome(out, BISECT_DOUBTFUL, i,
					"the graph is not ordered: node %zu has parent %zu",
					i, p);
				rc = -1;
				break;
			}
			anc[p] |= anc[i];
		}
	for (size_t i = g->n; i-- > 0 && !rc;) {
		desc[i] = i == g->basis;
		for (size_t k = 0; k < g->nodes[i].nparents; k++)
			desc[i] |= desc[g->nodes[i].parents[k]];
	}
	for (size_t i = 0; i < g->n; i++)
		g->nodes[i].relevant = !rc && anc[i] && desc[i];
	free(anc);
	free(desc);
	return rc;
}

/*
 * The untested relevant run under each node, on its longest path; and
 * which failing nodes have a failing ancestor (their runs are not worth
 * testing: the first failure is further down).
 */
static void compute_below(struct bisect_graph *g, unsigned char *fail_below)
{
	for (size_t i = g->n; i-- > 0;) {
		const struct bisect_node *x = &g->nodes[i];

		fail_below[i] = 0;
		for (size_t k = 0; k < x->nparents; k++) {
			size_t p = x->parents[k];

			if (g->nodes[p].relevant)
				fail_below[i] |= fail_below[p] || failed(&g->nodes[p]);
		}
	}
	for (size_t i = g->n; i-- > 0;) {
		struct bisect_node *x = &g->nodes[i];
		size_t best = 0;

		x->below = 0;
		if (!x->relevant || !untested(x))
			continue;
		for (size_t k = 0; k < x->nparents; k++) {
			const struct bisect_node *p = &g->nodes[x->parents[k]];

			if (p->relevant && p->below > best)
				best = p->below;
		}
		x->below = 1 + best;
	}
}

/* The relevant parent of x with the longest untested run under it. */
static size_t longest_parent(const struct bisect_graph *g, size_t x,
			     size_t *run)
{
	const struct bisect_node *n = &g->nodes[x];
	size_t best = 0, at = x;

	for (size_t k = 0; k < n->nparents; k++) {
		const struct bisect_node *p = &g->nodes[n->parents[k]];

		if (p->relevant && p->below > best) {
			best = p->below;
			at = n->parents[k];
		}
	}
	*run = best;
	return at;
}

/* Reproduce the pair (culprit c, its relevant parents) found_repro times. */
static void reproduce(const struct bisect_graph *g, struct bisect_step *out,
		      size_t c)
{
	const struct bisect_node *x = &g->nodes[c];
	size_t want = c, parent = c;
	int least = count(x, BISECT_FAIL);

	/* the parents first when equal: pass, fail, pass, fail ... */
	for (size_t k = x->nparents; k-- > 0;) {
		const struct bisect_node *p = &g->nodes[x->parents[k]];

		if (!p->relevant)
			continue;
		parent = x->parents[k];
		if (count(p, BISECT_PASS) <= least) {
			least = count(p, BISECT_PASS);
			want = x->parents[k];
		}
	}
	if (least < g->found_repro) {
		test_next(g, out, want,
			  want == c ? "reproduce the failure at the suspect"
				    : "reproduce the pass at the suspect's parent");
		return;
	}
	outcome(out, BISECT_FOUND, c,
		"fails at node %zu, passes at its parent%s, %d times each", c,
		x->nparents > 1 ? "s" : "", g->found_repro);
	out->parent = parent;
}

void bisect_step(struct bisect_graph *g, struct bisect_step *out)
{
	struct bisect_node *basis, *fail;
	size_t best_run = 0, best = 0, suspects = 0, suspect = 0;
	unsigned char *fail_below;

	memset(out, 0, sizeof(*out));
	if (g->basis >= g->n || g->failure >= g->n || g->basis == g->failure) {
		outcome(out, BISECT_DOUBTFUL, 0, "no basis and failure to bisect between");
		return;
	}
	if (mark_relevant(g, out) < 0)
		return;
	basis = &g->nodes[g->basis];
	fail = &g->nodes[g->failure];
	if (!basis->relevant) {
		outcome(out, BISECT_DOUBTFUL, g->basis,
			"the basis is not an ancestor of the failure");
		return;
	}
	/* 1. the two ends reproduce, in turn, before anything else */
	if (count(basis, BISECT_FAIL)) {
		outcome(out, BISECT_UNREPRODUCIBLE, g->basis,
			"the basis failed too (flight %ld)",
			first_flight(basis, BISECT_FAIL));
		return;
	}
	if (count(fail, BISECT_PASS)) {
		outcome(out, BISECT_UNREPRODUCIBLE, g->failure,
			"the failure passed (flight %ld)", first_flight(fail, BISECT_PASS));
		return;
	}
	if (count(basis, BISECT_PASS) < g->end_repro ||
	    count(fail, BISECT_FAIL) < g->end_repro) {
		if (count(basis, BISECT_PASS) <= count(fail, BISECT_FAIL))
			test_next(g, out, g->basis, "reproduce the basis pass");
		else
			test_next(g, out, g->failure, "reproduce the failure");
		return;
	}
	/* 2. contradictions anywhere make any answer unsafe */
	for (size_t i = 0; i < g->n; i++)
		if (g->nodes[i].relevant && count(&g->nodes[i], BISECT_PASS) &&
		    count(&g->nodes[i], BISECT_FAIL)) {
			outcome(out, BISECT_INCONSISTENT, i,
				"node %zu passed (flight %ld) and failed (flight %ld)", i,
				first_flight(&g->nodes[i], BISECT_PASS),
				first_flight(&g->nodes[i], BISECT_FAIL));
			return;
		}
	/* 3. the longest untested stretch under a first failing node: its
	 * middle */
	fail_below = xcalloc(g->n, 1);
	compute_below(g, fail_below);
	for (size_t i = 0; i < g->n; i++) {
		size_t run;

		if (!g->nodes[i].relevant || !failed(&g->nodes[i]) || fail_below[i])
			continue;
		longest_parent(g, i, &run);
		if (run > best_run) {
			best_run = run;
			best = i;
		}
	}
	free(fail_below);
	if (best_run) {
		size_t at = best;

		for (size_t step = 0; step < (best_run + 1) / 2; step++) {
			size_t run;

			at = longest_parent(g, at, &run);
		}
		test_next(g, out, at, "the middle of the longest untested stretch");
		return;
	}
	/* 4. a failing node whose relevant parents all passed */
	for (size_t i = 0; i < g->n; i++) {
		const struct bisect_node *x = &g->nodes[i];
		int parents = 0, ok = 1;

		if (!x->relevant || !failed(x))
			continue;
		for (size_t k = 0; k < x->nparents; k++) {
			const struct bisect_node *p = &g->nodes[x->parents[k]];

			if (!p->relevant)
				continue;
			parents++;
			ok &= passed(p);
		}
		if (parents && ok) {
			suspects++;
			suspect = i;
		}
	}
	if (suspects > 1) {
		outcome(out, BISECT_INCONCLUSIVE, 0,
			"%zu nodes fail where their parents pass", suspects);
		return;
	}
	if (!suspects) {
		outcome(out, BISECT_INCONCLUSIVE, 0,
			"no node fails where its parents pass (blocked tests?)");
		return;
	}
	reproduce(g, out, suspect);
}

/* ---- the tuple graph of several trees ---- */

/* Marks the commits of one tree between its basis and failure. */
static unsigned char *tree_relevant(const struct bisect_tree *t)
{
	unsigned char *anc = xcalloc(t->n, 1), *desc = xcalloc(t->n, 1);

	anc[t->failure] = 1;
	for (size_t i = 0; i < t->n; i++)
		for (size_t k = 0; k < t->commits[i].nparents; k++)
			if (t->commits[i].parents[k] > i && t->commits[i].parents[k] < t->n)
				anc[t->commits[i].parents[k]] |= anc[i];
	for (size_t i = t->n; i-- > 0;) {
		desc[i] = i == t->basis;
		for (size_t k = 0; k < t->commits[i].nparents; k++)
			if (t->commits[i].parents[k] > i && t->commits[i].parents[k] < t->n)
				desc[i] |= desc[t->commits[i].parents[k]];
	}
	for (size_t i = 0; i < t->n; i++)
		anc[i] &= desc[i];
	free(desc);
	return anc;
}

static void tuple_key(struct buf *b, const size_t *tuple, size_t ntrees)
{
	buf_reset(b);
	for (size_t t = 0; t < ntrees; t++)
		buf_addf(b, "%zu,", tuple[t]);
}

int bisect_coalesce(const struct bisect_tree *trees, size_t ntrees,
		    size_t max_nodes, struct bisect_graph *g, size_t **tuples_out)
{
	unsigned char **rel = xcalloc(ntrees, sizeof(*rel));
	struct strmap seen = STRMAP_INIT;
	struct buf key = BUF_INIT;
	size_t *tuples = NULL, atuples = 0, n = 0, *edges = NULL, nedges = 0,
	       aedges = 0, *order = NULL, *children = NULL, *newix = NULL;
	int rc = 0;

	for (size_t t = 0; t < ntrees && !rc; t++) {
		rel[t] = tree_relevant(&trees[t]);
		if (!rel[t][trees[t].basis])
			rc = -1;
	}
	/* breadth first from the tuple of failures */
	XGROW(tuples, atuples, ntrees);
	for (size_t t = 0; t < ntrees; t++)
		tuples[t] = trees[t].failure;
	tuple_key(&key, tuples, ntrees);
	strmap_put(&seen, key.buf, 0);
	n = 1;
	for (size_t at = 0; at < n && !rc; at++) {
		size_t pick = ntrees;
		long newest = 0;

		for (size_t t = 0; t < ntrees; t++) {
			size_t c = tuples[at * ntrees + t];

			if (c != trees[t].basis &&
			    (pick == ntrees || trees[t].commits[c].time > newest)) {
				pick = t;
				newest = trees[t].commits[c].time;
			}
		}
		if (pick == ntrees)
			continue;   /* the tuple of bases */
		for (size_t k = 0; k < trees[pick].commits[tuples[at * ntrees + pick]].nparents; k++) {
			size_t p = trees[pick].commits[tuples[at * ntrees + pick]].parents[k];
			long ix;

			if (p >= trees[pick].n || !rel[pick][p])
				continue;
			XGROW(tuples, atuples, (n + 1) * ntrees);
			memcpy(&tuples[n * ntrees], &tuples[at * ntrees],
			       ntrees * sizeof(*tuples));
			tuples[n * ntrees + pick] = p;
			tuple_key(&key, &tuples[n * ntrees], ntrees);
			ix = strmap_get(&seen, key.buf);
			if (ix < 0) {
				if (n == max_nodes) {
					rc = -1;
					break;
				}
				strmap_put(&seen, key.buf, (long)n);
				ix = (long)n++;
			}
			XGROW(edges, aedges, 2 * nedges + 2);
			edges[2 * nedges] = at;
			edges[2 * nedges + 1] = (size_t)ix;
			nedges++;
		}
	}
	if (!rc) {
		/* renumber so that parents come after children (Kahn's order) */
		size_t head = 0, tail = 0, *first = xcalloc(n + 1, sizeof(*first));

		children = xcalloc(n, sizeof(*children));
		order = xcalloc(n, sizeof(*order));
		newix = xcalloc(n, sizeof(*newix));
		/* the edges come grouped by child, in the order of the walk */
		for (size_t e = 0; e < nedges; e++) {
			children[edges[2 * e + 1]]++;
			first[edges[2 * e] + 1] = e + 1;
		}
		for (size_t i = 1; i <= n; i++)
			if (first[i] < first[i - 1])
				first[i] = first[i - 1];
		for (size_t i = 0; i < n; i++)
			if (!children[i])
				order[tail++] = i;
		while (head < tail) {
			size_t x = order[head++];

			for (size_t e = first[x]; e < first[x + 1]; e++)
				if (!--children[edges[2 * e + 1]])
					order[tail++] = edges[2 * e + 1];
		}
		free(first);
		for (size_t i = 0; i < n; i++) {
			newix[order[i]] = i;
			bisect_node_add(g);
		}
		for (size_t e = 0; e < nedges; e++)
			bisect_parent_add(g, newix[edges[2 * e]], newix[edges[2 * e + 1]]);
		*tuples_out = xcalloc(n * ntrees, sizeof(size_t));
		for (size_t i = 0; i < n; i++)
			memcpy(&(*tuples_out)[newix[i] * ntrees], &tuples[i * ntrees],
			       ntrees * sizeof(size_t));
		g->failure = newix[0];
		g->basis = g->n;
		for (size_t i = 0; i < n; i++) {
			int is_basis = 1;

			for (size_t t = 0; t < ntrees; t++)
				is_basis &= tuples[i * ntrees + t] == trees[t].basis;
			if (is_basis)
				g->basis = newix[i];
		}
		if (g->basis == g->n)
			rc = -1;
	}
	for (size_t t = 0; t < ntrees; t++)
		free(rel[t]);
	free(rel);
	strmap_clear(&seen);
	buf_release(&key);
	free(tuples);
	free(edges);
	free(order);
	free(children);
	free(newix);
	return rc;
}
