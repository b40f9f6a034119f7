/*
 * bisect.h: the bisection search, OSSTest's cs-bisection-step (reference
 * §5), as pure code: a graph of revision tuples with the results tested at
 * each, in; the next tuple to test or the outcome, out. No I/O: the
 * bisection daemon builds the graph from git and the flights.
 *
 * Guarantees (README.bisection): a culprit is named only after the pass
 * at its parent(s) and the fail at it were each seen found_repro times,
 * and the basis pass and the failure end_repro times; results that
 * contradict each other at one node never give a confident answer.
 */
#ifndef HANGAR_BISECT_H
#define HANGAR_BISECT_H

#include <stddef.h>

enum bisect_result { BISECT_PASS, BISECT_FAIL, BISECT_BLOCKED };

/* One flight's result at a node, in flight order. */
struct bisect_test {
	long flight;
	enum bisect_result result;
};

struct bisect_node {
	size_t *parents;             /* indexes into the graph's nodes */
	size_t nparents;
	struct bisect_test *tests;
	size_t ntests, atests;
	/* filled by bisect_step() */
	int relevant;                /* a descendant of the basis and an ancestor
					* of the failure (both included) */
	size_t below;                /* untested relevant nodes under it, on its
					* longest untested path */
};

struct bisect_graph {
	struct bisect_node *nodes;
	size_t n, alloc;
	size_t basis, failure;       /* the pass and the fail bisected between */
	int end_repro;               /* basis and failure seen this often: 2 */
	int found_repro;             /* culprit and parents seen this often: 3 */
	int max_tests;               /* more tests of one node is flailing: 6 */
};

enum bisect_state {
	BISECT_TEST,                 /* test node next */
	BISECT_FOUND,                /* node is the culprit, parent its pass */
	BISECT_INCONCLUSIVE,         /* no single first failing node */
	BISECT_INCONSISTENT,         /* a node passed and failed */
	BISECT_UNREPRODUCIBLE,       /* the basis failed or the failure passed */
	BISECT_DOUBTFUL,             /* a bad graph, or a node tested again and again */
};

struct bisect_step {
	enum bisect_state state;
	size_t node;                 /* BISECT_TEST: to test; FOUND: the culprit */
	size_t parent;               /* FOUND: a parent where it passes */
	char why[160];
};

void bisect_graph_init(struct bisect_graph *g);
void bisect_graph_release(struct bisect_graph *g);
/* A new node with no parents; returns its index. */
size_t bisect_node_add(struct bisect_graph *g);
void bisect_parent_add(struct bisect_graph *g, size_t node, size_t parent);
void bisect_test_add(struct bisect_graph *g, size_t node, long flight,
		     enum bisect_result result);

/* The next step. The nodes must be in an order where parents come after
 * their children (newest first, as git log gives them). */
void bisect_step(struct bisect_graph *g, struct bisect_step *out);
const char *bisect_state_str(enum bisect_state s);

/*
 * Combining trees (OSSTest's coalesce): each tree's commits between its
 * basis and failure revisions, newest first, with parents; the tuple
 * graph starts at the tuple of failures and, at each tuple, goes back in
 * the tree whose commit is the newest (time), so that each edge changes
 * one tree, down to the tuple of bases.
 */
struct bisect_commit {
	long time;                   /* commit time, seconds */
	size_t parents[2];           /* indexes in the tree's commits */
	size_t nparents;
};

struct bisect_tree {
	const struct bisect_commit *commits;
	size_t n;
	size_t basis, failure;       /* indexes into commits */
};

/*
 * Builds g (freshly initialised by the caller) from ntrees trees: node k's
 * tuple goes into tuples[k * ntrees + t] (commit index of tree t), which
 * is allocated (caller frees). Sets g->basis and g->failure. 0, or -1
 * when a tree's basis is not an ancestor of its failure or the graph
 * would pass max_nodes.
 */
int bisect_coalesce(const struct bisect_tree *trees, size_t ntrees,
		    size_t max_nodes, struct bisect_graph *g, size_t **tuples);

#endif
