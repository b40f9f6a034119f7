/*
 * test-bisect.c: the bisection search (flights/bisect.h) on constructed
 * histories: one tree, merge commits, two trees changing, a flaky step
 * giving conflicting results, a basis that does not reproduce, and the
 * flail guard. Each test plays the lab: it answers every test the search
 * asks for from a known culprit, and counts the flights.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "bisect.h"
#include "banned.h"

/* The lab: node's result at its nth test. */
typedef enum bisect_result (*oracle_fn)(size_t node, size_t nth, void *ctx);

struct run {
	struct bisect_step step;
	int flights;
};

/* Plays steps until an outcome; the gate's own pass and fail come first. */
static struct run play(struct bisect_graph *g, oracle_fn oracle, void *ctx)
{
	struct run r = { .flights = 0 };
	long flight = 100;

	bisect_test_add(g, g->basis, flight++, BISECT_PASS);
	bisect_test_add(g, g->failure, flight++, BISECT_FAIL);
	for (int i = 0; i < 500; i++) {
		bisect_step(g, &r.step);
		if (r.step.state != BISECT_TEST)
			return r;
		bisect_test_add(g, r.step.node, flight++,
				oracle(r.step.node, g->nodes[r.step.node].ntests, ctx));
		r.flights++;
	}
	fail_msg("no outcome after 500 flights");
	return r;
}

/* A line of n+1 commits, 0 the newest (the failure), n the basis. */
static void line(struct bisect_graph *g, size_t n)
{
	bisect_graph_init(g);
	for (size_t i = 0; i <= n; i++)
		bisect_node_add(g);
	for (size_t i = 0; i < n; i++)
		bisect_parent_add(g, i, i + 1);
	g->failure = 0;
	g->basis = n;
}

/* Fails at the culprit and everything newer (smaller) on a line. */
static enum bisect_result line_oracle(size_t node, size_t nth, void *ctx)
{
	(void)nth;
	return node <= *(size_t *)ctx ? BISECT_FAIL : BISECT_PASS;
}

static void test_line(void **state)
{
	static const size_t sizes[] = { 1, 2, 16, 256, 4096 };

	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
		size_t n = sizes[s];

		for (size_t c = 0; c < n; c += n / 4 + 1) {
			struct bisect_graph g;
			struct run r;
			int bound = (int)ceil(log2((double)n)) + 6;

			line(&g, n);
			r = play(&g, line_oracle, &c);
			assert_int_equal(r.step.state, BISECT_FOUND);
			assert_int_equal(r.step.node, c);
			assert_int_equal(r.step.parent, c + 1);
			/* log2(n) to narrow, the rest reproductions */
			if (r.flights > bound)
				fail_msg("%zu commits, culprit %zu: %d flights (bound %d)",
					 n, c, r.flights, bound);
			bisect_graph_release(&g);
		}
	}
}

/*
 * Merges: the failure is a merge M of a side branch into the main line.
 *   0 = M (parents 1 main, 5 side)   1..4 main   5..8 side   9 = basis
 * (both branches fork from the basis). The culprit is on the side
 * branch, at 6: 5 and 6 fail, everything else but M passes.
 */
static enum bisect_result merge_oracle(size_t node, size_t nth, void *ctx)
{
	(void)nth;
	(void)ctx;
	return node == 0 || node == 5 || node == 6 ? BISECT_FAIL : BISECT_PASS;
}

static void merge_graph(struct bisect_graph *g)
{
	bisect_graph_init(g);
	for (size_t i = 0; i < 10; i++)
		bisect_node_add(g);
	bisect_parent_add(g, 0, 1);
	bisect_parent_add(g, 0, 5);
	for (size_t i = 1; i < 4; i++)
		bisect_parent_add(g, i, i + 1);
	bisect_parent_add(g, 4, 9);
	for (size_t i = 5; i < 8; i++)
		bisect_parent_add(g, i, i + 1);
	bisect_parent_add(g, 8, 9);
	g->failure = 0;
	g->basis = 9;
}

static void test_merge(void **state)
{
	struct bisect_graph g;
	struct run r;

	(void)state;
	merge_graph(&g);
	r = play(&g, merge_oracle, NULL);
	assert_int_equal(r.step.state, BISECT_FOUND);
	assert_int_equal(r.step.node, 6);
	assert_int_equal(r.step.parent, 7);
	bisect_graph_release(&g);
}

/* A merge whose parents both pass is itself the culprit. */
static enum bisect_result merge_itself(size_t node, size_t nth, void *ctx)
{
	(void)nth;
	(void)ctx;
	return node == 0 ? BISECT_FAIL : BISECT_PASS;
}

static void test_merge_itself(void **state)
{
	struct bisect_graph g;
	struct run r;

	(void)state;
	merge_graph(&g);
	r = play(&g, merge_itself, NULL);
	assert_int_equal(r.step.state, BISECT_FOUND);
	assert_int_equal(r.step.node, 0);
	for (size_t k = 0; k < g.nodes[0].nparents; k++)
		assert_true(g.nodes[g.nodes[0].parents[k]].ntests >= 3);
	bisect_graph_release(&g);
}

/*
 * Two trees, xen (6 commits) and qemu (4), both changed between the basis
 * and the failure; the bug is qemu's commit 1 (its commits 0 and 1 are
 * bad). The tuple graph changes one tree per edge; the culprit tuple and
 * its parent differ in qemu only.
 */
struct two {
	size_t *tuples;
	size_t bad_qemu;
};

static enum bisect_result two_oracle(size_t node, size_t nth, void *ctx)
{
	const struct two *t = ctx;

	(void)nth;
	return t->tuples[node * 2 + 1] <= t->bad_qemu ? BISECT_FAIL : BISECT_PASS;
}

static void test_two_trees(void **state)
{
	struct bisect_commit xen[6], qemu[4];
	struct bisect_tree trees[2] = { { xen, 6, 5, 0 }, { qemu, 4, 3, 0 } };
	struct bisect_graph g;
	struct two t = { NULL, 1 };
	struct run r;
	size_t c, p;

	(void)state;
	/* interleaved times: xen every 10s from 1000, qemu every 15s from 1003 */
	for (size_t i = 0; i < 6; i++)
		xen[i] = (struct bisect_commit){ 1050 - 10 * (long)i, { i + 1 }, i < 5 };
	for (size_t i = 0; i < 4; i++)
		qemu[i] = (struct bisect_commit){ 1048 - 15 * (long)i, { i + 1 }, i < 3 };
	bisect_graph_init(&g);
	assert_int_equal(bisect_coalesce(trees, 2, 1000, &g, &t.tuples), 0);
	/* every edge changes one tree by one commit */
	for (size_t i = 0; i < g.n; i++)
		for (size_t k = 0; k < g.nodes[i].nparents; k++) {
			size_t q = g.nodes[i].parents[k];
			int changed = (t.tuples[i * 2] != t.tuples[q * 2]) +
				      (t.tuples[i * 2 + 1] != t.tuples[q * 2 + 1]);

			assert_int_equal(changed, 1);
			assert_true(q > i);
		}
	assert_int_equal(t.tuples[g.failure * 2], 0);
	assert_int_equal(t.tuples[g.basis * 2 + 1], 3);
	/* 5 xen steps + 3 qemu steps: 9 tuples on one path */
	assert_int_equal(g.n, 9);
	r = play(&g, two_oracle, &t);
	assert_int_equal(r.step.state, BISECT_FOUND);
	c = r.step.node;
	p = r.step.parent;
	assert_int_equal(t.tuples[c * 2 + 1], 1);
	assert_int_equal(t.tuples[p * 2 + 1], 2);
	assert_int_equal(t.tuples[c * 2], t.tuples[p * 2]);
	free(t.tuples);
	bisect_graph_release(&g);
}

/* A flaky step: the culprit's parent fails at its second test. */
static enum bisect_result flaky_parent(size_t node, size_t nth, void *ctx)
{
	size_t c = *(size_t *)ctx;

	if (node == c + 1 && nth == 1)
		return BISECT_FAIL;
	return node <= c ? BISECT_FAIL : BISECT_PASS;
}

/* Fails now and then anywhere above the basis: a heisenbug. */
static enum bisect_result coin(size_t node, size_t nth, void *ctx)
{
	(void)ctx;
	if (node == 0)
		return BISECT_FAIL;
	return (node * 7 + nth * 3) % 5 < 2 ? BISECT_FAIL : BISECT_PASS;
}

static void test_flaky(void **state)
{
	size_t c = 5;
	struct bisect_graph g;
	struct run r;

	(void)state;
	line(&g, 16);
	r = play(&g, flaky_parent, &c);
	assert_int_equal(r.step.state, BISECT_INCONSISTENT);
	bisect_graph_release(&g);
	/* never a confident culprit from a coin */
	line(&g, 64);
	r = play(&g, coin, NULL);
	assert_int_not_equal(r.step.state, BISECT_FOUND);
	bisect_graph_release(&g);
}

/* The basis does not pass again: unreproducible, before any search. */
static enum bisect_result basis_fails(size_t node, size_t nth, void *ctx)
{
	(void)nth;
	(void)ctx;
	return node == 16 ? BISECT_FAIL : BISECT_PASS;
}

static enum bisect_result failure_passes(size_t node, size_t nth, void *ctx)
{
	(void)ctx;
	return node == 16 || (node == 0 && nth == 1) ? BISECT_PASS : BISECT_FAIL;
}

static void test_unreproducible(void **state)
{
	struct bisect_graph g;
	struct run r;

	(void)state;
	line(&g, 16);
	r = play(&g, basis_fails, NULL);
	assert_int_equal(r.step.state, BISECT_UNREPRODUCIBLE);
	assert_int_equal(r.step.node, 16);
	assert_int_equal(r.flights, 1);
	bisect_graph_release(&g);
	line(&g, 16);
	r = play(&g, failure_passes, NULL);
	assert_int_equal(r.step.state, BISECT_UNREPRODUCIBLE);
	assert_int_equal(r.step.node, 0);
	bisect_graph_release(&g);
}

/* Blocked tests leave no first failure: inconclusive; a graph out of
 * order or a basis off the failure's history: doubtful; a node tested
 * again and again: doubtful (flailing). */
static enum bisect_result blocked_middle(size_t node, size_t nth, void *ctx)
{
	(void)nth;
	(void)ctx;
	return node == 0 ? BISECT_FAIL : node == 1 ? BISECT_BLOCKED : BISECT_PASS;
}

static enum bisect_result blocked_basis(size_t node, size_t nth, void *ctx)
{
	(void)nth;
	(void)ctx;
	return node == 4 ? BISECT_BLOCKED : BISECT_FAIL;
}

static void test_doubtful_and_inconclusive(void **state)
{
	struct bisect_graph g;
	struct bisect_step s;
	struct run r;

	(void)state;
	line(&g, 2);
	r = play(&g, blocked_middle, NULL);
	assert_int_equal(r.step.state, BISECT_INCONCLUSIVE);
	bisect_graph_release(&g);

	line(&g, 4);
	bisect_parent_add(&g, 3, 1);   /* a parent before its child */
	bisect_step(&g, &s);
	assert_int_equal(s.state, BISECT_DOUBTFUL);
	bisect_graph_release(&g);

	line(&g, 4);
	g.basis = 2;
	g.failure = 3;   /* the basis is newer than the failure */
	bisect_step(&g, &s);
	assert_int_equal(s.state, BISECT_DOUBTFUL);
	bisect_graph_release(&g);

	line(&g, 4);
	for (long f = 0; f < 6; f++)
		bisect_test_add(&g, 4, f, BISECT_PASS);
	bisect_test_add(&g, 0, 10, BISECT_FAIL);
	bisect_step(&g, &s);   /* wants the failure again: fine */
	assert_int_equal(s.state, BISECT_TEST);
	assert_int_equal(s.node, 0);
	for (long f = 11; f < 16; f++)
		bisect_test_add(&g, 0, f, BISECT_FAIL);
	bisect_test_add(&g, 2, 20, BISECT_BLOCKED);
	for (long f = 21; f < 26; f++)
		bisect_test_add(&g, 1, f, BISECT_BLOCKED);
	/* 3 is untested, but under blocked nodes it cannot name a culprit */
	bisect_step(&g, &s);
	assert_int_equal(s.state, BISECT_INCONCLUSIVE);
	bisect_graph_release(&g);
	line(&g, 4);
	r = play(&g, blocked_basis, NULL);
	assert_int_equal(r.step.state, BISECT_DOUBTFUL);
	assert_non_null(strstr(r.step.why, "flailing"));
	assert_int_equal(g.nodes[4].ntests, 6);
	bisect_graph_release(&g);
	assert_string_equal(bisect_state_str(BISECT_FOUND), "found");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_merge_itself),
		cmocka_unit_test(test_two_trees),
		cmocka_unit_test(test_flaky),
		cmocka_unit_test(test_unreproducible),
		cmocka_unit_test(test_doubtful_and_inconclusive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
