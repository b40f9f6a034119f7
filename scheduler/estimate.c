/*
 * estimate.c: per job, a ring of its last runs anywhere and one per host.
 */
#include <stdlib.h>
#include <string.h>

#include "estimate.h"
#include "xalloc.h"
#include "banned.h"

void est_init(struct estimates *e, plan_time window, plan_time default_dur)
{
	memset(e, 0, sizeof(*e));
	e->window = window;
	e->default_dur = default_dur;
}

void est_release(struct estimates *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].hosts);
		free(e->v[i].last);
	}
	free(e->v);
	strmap_clear(&e->jobs);
	strmap_clear(&e->hostnames);
	memset(e, 0, sizeof(*e));
}

static int ring_has(const struct est_ring *ring, int64_t flight, int host)
{
	for (int i = 0; i < ring->n; i++)
		if (ring->r[i].flight == flight && ring->r[i].host == host)
			return 1;
	return 0;
}

static void ring_add(struct est_ring *ring, const struct est_run *run)
{
	ring->r[ring->next] = *run;
	ring->next = (ring->next + 1) % EST_KEEP;
	if (ring->n < EST_KEEP)
		ring->n++;
}

/* The longest run within the window, the newest run and its outcome. */
static plan_time ring_max(const struct est_ring *ring, plan_time since,
			  const struct est_run **newest)
{
	plan_time max = 0;

	*newest = NULL;
	for (int i = 0; i < ring->n; i++) {
		const struct est_run *r = &ring->r[i];

		if (r->start < since)
			continue;
		if (r->dur > max)
			max = r->dur;
		if (!*newest || r->start > (*newest)->start)
			*newest = r;
	}
	return max;
}

void est_add(struct estimates *e, int64_t flight, const char *job,
	     const char *host, int failed, plan_time start, plan_time finished)
{
	long ix = strmap_intern(&e->jobs, job);
	struct est_run run = { flight, start, finished - start, failed,
			       (int)strmap_intern(&e->hostnames, host) };
	struct est_job *j;
	struct est_host *h = NULL;

	if (run.dur < 1)
		run.dur = 1;
	if ((size_t)ix >= e->n) {
		XGROW(e->v, e->alloc, (size_t)ix + 1);
		memset(&e->v[ix], 0, sizeof(e->v[ix]));
		e->n = (size_t)ix + 1;
	}
	j = &e->v[ix];
	if (ring_has(&j->all, flight, run.host))
		return;
	j->last_valid = 0;
	ring_add(&j->all, &run);
	for (size_t i = 0; i < j->nhosts; i++)
		if (j->hosts[i].host == run.host)
			h = &j->hosts[i];
	if (!h) {
		XGROW(j->hosts, j->alloc, j->nhosts + 1);
		h = &j->hosts[j->nhosts++];
		memset(h, 0, sizeof(*h));
		h->host = run.host;
	}
	ring_add(&h->ring, &run);
}

/* j's estimate at now, all of its hosts' history, into j->last. */
static void job_estimate(struct est_job *j, plan_time now, plan_time window,
			 plan_time default_dur)
{
	plan_time since = now - window;
	const struct est_run *newest;

	j->last_dur = default_dur;
	if (ring_max(&j->all, since, &newest) > 0)
		j->last_dur = ring_max(&j->all, since, &newest);
	XGROW(j->last, j->last_alloc, j->nhosts + 1);
	j->nlast = 0;
	for (size_t i = 0; i < j->nhosts; i++) {
		struct plan_history *h = &j->last[j->nlast];
		plan_time d = ring_max(&j->hosts[i].ring, since, &newest);

		if (!newest)
			continue;
		h->host = (size_t)j->hosts[i].host;
		h->duration = d;
		h->last_run = newest->start;
		h->last_failed = newest->failed;
		j->nlast++;
	}
	j->last_now = now;
	j->last_valid = 1;
}

size_t est_lookup(struct estimates *e, const char *job, plan_time now,
		  plan_time *duration, struct plan_history *hist, size_t max)
{
	long ix = strmap_get(&e->jobs, job);
	struct est_job *j;
	size_t n;

	*duration = e->default_dur;
	if (ix < 0)
		return 0;
	j = &e->v[ix];
	if (!j->last_valid || j->last_now != now)
		job_estimate(j, now, e->window, e->default_dur);
	*duration = j->last_dur;
	n = j->nlast < max ? j->nlast : max;
	if (n)
		memcpy(hist, j->last, n * sizeof(*hist));
	return n;
}
