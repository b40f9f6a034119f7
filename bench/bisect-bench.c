/*
 * bisect-bench.c: the bisection search's cost (bench/b0500-bisect.sh):
 * for lines of 16, 256 and 4,096 commits, each with one culprit at several
 * places, the flights a bisection needs and the time bisect_step() takes
 * to choose each next revision (median and worst), beside log2(n).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bisect.h"
#include "banned.h"

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	static const size_t sizes[] = { 16, 256, 4096 };

	printf("%-8s %-8s %-9s %-9s %-12s %-12s %s\n", "commits", "runs", "flights",
	       "log2(n)", "choose_med", "choose_max", "found");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
		size_t n = sizes[s], runs = 0, found = 0, nt = 0, at = 0;
		double *times = malloc(64 * 200 * sizeof(double)), worst = 0;
		int flights_max = 0;

		for (size_t c = 1; c < n; c += n / 16 + 1, runs++) {
			struct bisect_graph g;
			struct bisect_step st;
			int flights = 0;
			long flight = 1;

			bisect_graph_init(&g);
			for (size_t i = 0; i <= n; i++)
				bisect_node_add(&g);
			for (size_t i = 0; i < n; i++)
				bisect_parent_add(&g, i, i + 1);
			g.failure = 0;
			g.basis = n;
			bisect_test_add(&g, g.basis, flight++, BISECT_PASS);
			bisect_test_add(&g, g.failure, flight++, BISECT_FAIL);
			for (;;) {
				double t0 = now_ms();

				bisect_step(&g, &st);
				times[nt++] = now_ms() - t0;
				if (st.state != BISECT_TEST)
					break;
				bisect_test_add(&g, st.node, flight++,
						st.node <= c ? BISECT_FAIL : BISECT_PASS);
				flights++;
			}
			found += st.state == BISECT_FOUND && st.node == c;
			if (flights > flights_max)
				flights_max = flights;
			bisect_graph_release(&g);
		}
		qsort(times, nt, sizeof(double), cmp_double);
		worst = times[nt - 1];
		at = nt / 2;
		printf("%-8zu %-8zu %-9d %-9.0f %-12.3f %-12.3f %zu/%zu\n", n, runs,
		       flights_max, ceil(log2((double)n)), times[at], worst, found, runs);
		free(times);
	}
	printf("flights: the most any run needed, 2 + 4 of them reproductions "
	       "(basis and failure again, culprit and parent to three each)\n");
	printf("goal: flights <= log2(n) + reproductions; choose under 10 ms at 4096\n");
	return 0;
}
