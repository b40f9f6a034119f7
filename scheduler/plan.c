/*
 * plan.c: conservative backfill over per-host timelines.
 *
 * Each host (or each share slot of a shared host) keeps its busy time as
 * sorted, disjoint blocks, with the end of the last block and the longest
 * free gap before it. Most requests of a long queue fit only after every
 * block; the longest gap tells without a walk, so checking one host is
 * usually O(1).
 *
 * A request does not check every candidate host either: the candidates of
 * one (arch, flags) requirement are kept in blocks of CAND_BLOCK hosts
 * with a lower bound of when any of them could start a job of a given
 * length, and a block whose bound cannot beat the best host found so far
 * is skipped whole. Hosts in the request's history (their cost differs)
 * are checked one by one. plan_config.exhaustive turns the pruning off,
 * so tests can check it changes nothing.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "plan.h"
#include "strmap.h"
#include "xalloc.h"
#include "banned.h"

#define HOUR ((plan_time)3600)
#define DAY ((plan_time)86400)

void plan_config_default(struct plan_config *cfg)
{
	cfg->prevfail_bonus = 7 * DAY;
	cfg->variation_max = 12 * HOUR;
	cfg->starvation = 1;
	cfg->starve_wait = 4 * 3600;
	cfg->starve_estimates = 4;
	cfg->pinned_wait = HOUR;
}

const char *plan_outcome_str(enum plan_outcome o)
{
	static const char *const names[] = {
		[PLAN_START] = "start",
		[PLAN_WAIT] = "wait",
		[PLAN_NO_HOST] = "no-host",
		[PLAN_STARVED] = "starved",
		[PLAN_HOST_GONE] = "host-gone",
		[PLAN_BLOCKED_WINDOW] = "blockage",
	};

	return names[o];
}

struct block {
	plan_time s, e;
};

struct slotline {
	struct block *b;
	size_t n, alloc;
	plan_time last_end;   /* end of the last block; 0 when none */
	plan_time maxgap;     /* longest free gap from now to last_end */
};

/* When a host could start something, at the earliest (see host_lb). */
struct hsum {
	plan_time last_end;   /* free for good from here */
	plan_time maxgap;     /* no gap this long before last_end (whole host) */
	plan_time first_free; /* not free before this */
};

/* A candidate block a host belongs to, to refresh when it is booked. */
struct member {
	size_t cls, blk;
};

struct hstate {
	int arch;             /* interned */
	int *flags;           /* interned, sorted */
	size_t nflags;
	int equiv;            /* interned actual equiv-* flag, or -1 */
	int site;             /* interned "site:SITE" */
	int site_equiv;       /* interned "site:SITE:EQUIV", or -1 */
	int share;            /* interned share-* flag, or -1 */
	int usable;
	int retired;          /* not in the lab any more */
	int nslots;           /* 1 unless shared */
	int nshare_busy;      /* busy entries on one slot (current sharers) */
	plan_time share_drain;  /* a worn host: when its sharers are gone */
	struct slotline *sl;
	struct hsum sum;
	struct member *mem;
	size_t nmem, mem_alloc;
};

#define CAND_BLOCK 16

/* Candidate hosts of one (arch, flags) requirement, cached by its key:
 * in index order, with a summary per block of CAND_BLOCK of them. */
struct cands {
	size_t *h;
	size_t n;
	unsigned char *is;    /* per host: 1 if a candidate */
	struct hsum *blk;     /* min last_end, max maxgap, min first_free */
};

#define CLASS_MEMO 512

/* The variation bonuses of one history array (one log() per entry), in
 * an open addressing table by the array's address that grows at half
 * full: a queue of flights repeats a few hundred jobs, and the requests
 * of one job share their history array. */
struct bonus_memo {
	const struct plan_history *hist;
	size_t n;
	plan_time *bonus;     /* n entries */
};

struct bonus_table {
	struct bonus_memo *t;
	size_t n, cap;        /* cap: a power of two, or 0 */
};

struct class_memo {
	int used, equiv, share;
	const char *arch;
	const char *const *flags;
	size_t cls;
};

struct planner {
	const struct plan_input *in;
	struct plan_output *out;
	struct strmap names;  /* arch and flag names -> ids */
	struct strmap hostix; /* host name -> index */
	struct strmap candix; /* requirement key -> index into cands */
	int multi_site;       /* the hosts are of more than one site */
	struct cands *cands;
	size_t ncands, cands_alloc;
	struct class_memo class_memo[CLASS_MEMO];
	struct bonus_table *bonus;       /* by history array, see above */
	/* the request being planned: its history and their bonuses */
	const struct plan_history *cur_hist;
	const plan_time *cur_bonus;
	size_t cur_nhist;
	struct hstate *hs;
	size_t *tl_alloc;     /* per host: timeline capacity */
	/* per host: the history entry of the request being planned */
	const struct plan_history **hist;
	int *state;           /* per request: 0 new, 1 planning, 2 done */
	struct plan_flight *flights;  /* mutable copy: starving lowers W */
	plan_time variation_never;
};

/* ---- timelines ---- */

static void slot_recompute(struct slotline *sl, plan_time now)
{
	plan_time prev = now;

	sl->maxgap = 0;
	for (size_t i = 0; i < sl->n; i++) {
		if (sl->b[i].s - prev > sl->maxgap)
			sl->maxgap = sl->b[i].s - prev;
		prev = sl->b[i].e;
	}
	sl->last_end = sl->n ? sl->b[sl->n - 1].e : 0;
}

/* Adds busy time [s, e) (clipped to now), merging with what it touches. */
static void slot_add(struct slotline *sl, plan_time now, plan_time s,
		     plan_time e)
{
	size_t lo = 0, hi, i;

	if (s < now)
		s = now;
	if (e <= s)
		return;
	/* first block ending at or after s */
	hi = sl->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (sl->b[mid].e < s)
			lo = mid + 1;
		else
			hi = mid;
	}
	i = lo;
	/* absorb every block that starts at or before e */
	hi = i;
	while (hi < sl->n && sl->b[hi].s <= e) {
		if (sl->b[hi].s < s)
			s = sl->b[hi].s;
		if (sl->b[hi].e > e)
			e = sl->b[hi].e;
		hi++;
	}
	if (hi == i) {
		XGROW(sl->b, sl->alloc, sl->n + 1);
		memmove(&sl->b[i + 1], &sl->b[i], (sl->n - i) * sizeof(*sl->b));
		sl->n++;
	} else if (hi > i + 1) {
		memmove(&sl->b[i + 1], &sl->b[hi], (sl->n - hi) * sizeof(*sl->b));
		sl->n -= hi - i - 1;
	}
	sl->b[i].s = s;
	sl->b[i].e = e;
	slot_recompute(sl, now);
}

/* The earliest t >= t0 with [t, t + d) free on this slot. */
static plan_time slot_fit(const struct slotline *sl, plan_time t0,
			  plan_time d)
{
	size_t lo = 0, hi = sl->n;
	plan_time t = t0;

	if (!sl->n || t0 >= sl->last_end)
		return t0;
	if (d > sl->maxgap)
		return sl->last_end;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (sl->b[mid].e <= t0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < sl->n; i++) {
		if (sl->b[i].s >= t + d)
			return t;
		if (sl->b[i].e > t)
			t = sl->b[i].e;
	}
	return t;
}

/* Earliest start of the whole host (every slot free). */
static plan_time host_fit_whole(const struct hstate *h, plan_time t0,
				plan_time d)
{
	plan_time t = t0;
	int moved;

	if (h->nslots == 1)
		return slot_fit(&h->sl[0], t0, d);
	do {
		moved = 0;
		for (int k = 0; k < h->nslots; k++) {
			plan_time u = slot_fit(&h->sl[k], t, d);

			if (u != t) {
				t = u;
				moved = 1;
			}
		}
	} while (moved);
	return t;
}

/* Earliest start on one share slot; *slot gets it. */
static plan_time host_fit_share(const struct hstate *h, plan_time t0,
				plan_time d, int *slot)
{
	plan_time best = PLAN_NEVER;

	for (int k = 0; k < h->nslots; k++) {
		plan_time u = slot_fit(&h->sl[k], t0, d);

		if (u < best) {
			best = u;
			*slot = k;
		}
	}
	return best;
}

static void timeline_add(struct planner *p, size_t host, plan_time s,
			 plan_time e, int slot, long req)
{
	struct plan_output *out = p->out;
	struct plan_slot_entry *te;

	XGROW(out->timeline[host], p->tl_alloc[host], out->ntimeline[host] + 1);
	te = &out->timeline[host][out->ntimeline[host]++];
	te->start = s;
	te->end = e;
	te->slot = slot;
	te->req = req;
}

/*
 * The bounds of host h. A whole single-slot host with no gap of length d
 * starts it at max(t0, last_end) exactly; any other host no earlier than
 * max(t0, first_free). A shared host's slots are not summed up: it
 * keeps maxgap at PLAN_NEVER, so only the weaker bound is used.
 */
static void host_summarize(const struct planner *p, struct hstate *h)
{
	plan_time now = p->in->now;

	h->sum.last_end = 0;
	h->sum.first_free = PLAN_NEVER;
	for (int k = 0; k < h->nslots; k++) {
		const struct slotline *sl = &h->sl[k];
		plan_time ff = !sl->n || sl->b[0].s > now ? now : sl->b[0].e;

		if (sl->last_end > h->sum.last_end)
			h->sum.last_end = sl->last_end;
		if (ff < h->sum.first_free)
			h->sum.first_free = ff;
	}
	h->sum.maxgap = h->nslots == 1 && h->share < 0 ? h->sl[0].maxgap
						       : PLAN_NEVER;
}

/* The earliest start from t0 of a job of length d that sum allows. */
static plan_time host_lb(const struct hsum *sum, plan_time t0, plan_time d)
{
	plan_time t = sum->maxgap >= d ? sum->first_free : sum->last_end;

	return t > t0 ? t : t0;
}

static void block_summarize(const struct planner *p, struct cands *c,
			    size_t b)
{
	struct hsum *s = &c->blk[b];
	size_t end = (b + 1) * CAND_BLOCK < c->n ? (b + 1) * CAND_BLOCK : c->n;

	s->last_end = s->first_free = PLAN_NEVER;
	s->maxgap = 0;
	for (size_t k = b * CAND_BLOCK; k < end; k++) {
		const struct hsum *h = &p->hs[c->h[k]].sum;

		if (h->last_end < s->last_end)
			s->last_end = h->last_end;
		if (h->first_free < s->first_free)
			s->first_free = h->first_free;
		if (h->maxgap > s->maxgap)
			s->maxgap = h->maxgap;
	}
}

/*
 * A block's bound *v, the min (max: the max) over its hosts of a value
 * that went from old to new on one of them: whether *v is right after
 * this updates it. Only when that host held the bound and moved off it
 * must the block be summed again.
 */
static int extreme_kept(plan_time *v, plan_time old, plan_time new, int max)
{
	if (max ? new > *v : new < *v) {
		*v = new;
		return 1;
	}
	return old != *v || new == old;
}

static void host_book(struct planner *p, size_t host, int slot, plan_time s,
		      plan_time e, long req)
{
	struct hstate *h = &p->hs[host];
	struct hsum old = h->sum;

	if (slot < 0)
		for (int k = 0; k < h->nslots; k++)
			slot_add(&h->sl[k], p->in->now, s, e);
	else
		slot_add(&h->sl[slot], p->in->now, s, e);
	timeline_add(p, host, s, e, slot, req);
	host_summarize(p, h);
	for (size_t m = 0; m < h->nmem; m++) {
		struct cands *c = &p->cands[h->mem[m].cls];
		struct hsum *b = &c->blk[h->mem[m].blk];
		/* all three, each may set its value */
		int kept = extreme_kept(&b->last_end, old.last_end,
					h->sum.last_end, 0);

		kept &= extreme_kept(&b->first_free, old.first_free,
				     h->sum.first_free, 0);
		kept &= extreme_kept(&b->maxgap, old.maxgap, h->sum.maxgap, 1);
		if (!kept)
			block_summarize(p, c, h->mem[m].blk);
	}
}

/* ---- hosts and requirements ---- */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static void planner_hosts(struct planner *p)
{
	const struct plan_input *in = p->in;

	p->hs = xcalloc(in->nhosts + 1, sizeof(*p->hs));
	for (size_t i = 0; i < in->nhosts; i++) {
		const struct plan_host *ph = &in->hosts[i];
		struct hstate *h = &p->hs[i];
		size_t n = 0;
		const char *equiv = NULL;
		char *site;

		strmap_put(&p->hostix, ph->name, (long)i);
		h->arch = (int)strmap_intern(&p->names, ph->arch);
		h->equiv = h->share = -1;
		for (const char *const *f = ph->flags; f && *f; f++)
			n++;
		h->flags = xcalloc(n + 1, sizeof(int));
		for (const char *const *f = ph->flags; f && *f; f++) {
			int id = (int)strmap_intern(&p->names, *f);

			h->flags[h->nflags++] = id;
			if (has_prefix(*f, "equiv-") && h->equiv < 0) {
				h->equiv = id;
				equiv = *f;
			}
			if (has_prefix(*f, "share-") && h->share < 0)
				h->share = id;
		}
		qsort(h->flags, h->nflags, sizeof(int), cmp_int);
		site = xasprintf("site:%s", ph->site ? ph->site : "");
		h->site = (int)strmap_intern(&p->names, site);
		if (i && h->site != p->hs[0].site)
			p->multi_site = 1;
		h->site_equiv = -1;
		if (h->equiv >= 0) {
			char *se = xasprintf("%s:%s", site, equiv);

			h->site_equiv = (int)strmap_intern(&p->names, se);
			free(se);
		}
		free(site);
		h->retired = ph->state && !strcmp(ph->state, "retired");
		h->usable = ph->usable && !h->retired;
		h->nslots = h->share >= 0 && ph->share_slots > 1 ? ph->share_slots
								 : 1;
		h->nshare_busy = 0;
		h->sl = xcalloc((size_t)h->nslots, sizeof(*h->sl));
	}
}

static int host_has_flags(const struct hstate *h, const int *req, size_t n)
{
	size_t i = 0;

	for (size_t k = 0; k < n; k++) {
		while (i < h->nflags && h->flags[i] < req[k])
			i++;
		if (i == h->nflags || h->flags[i] != req[k])
			return 0;
	}
	return 1;
}

/*
 * The interned required flags of r (its formal equiv-* classes are not
 * host flags); *equiv says whether it had one, *share its share-* flag.
 * Unknown flags get ids no host has, so nothing matches them.
 */
static size_t req_flags(struct planner *p, const struct plan_request *r,
			int **out, int *equiv, int *share)
{
	size_t n = 0, cap = 0;
	int *ids = NULL;

	*equiv = 0;
	*share = -1;
	for (const char *const *f = r->flags; f && *f; f++) {
		int id;

		if (has_prefix(*f, "equiv-")) {
			*equiv = 1;
			continue;
		}
		id = (int)strmap_intern(&p->names, *f);
		if (has_prefix(*f, "share-") && *share < 0)
			*share = id;
		XGROW(ids, cap, n + 1);
		ids[n++] = id;
	}
	if (n)
		qsort(ids, n, sizeof(int), cmp_int);
	*out = ids;
	return n;
}

/* Usable hosts with r's arch and flags, from the cache: their index in
 * p->cands (which grows, so pointers into it do not last). */
static size_t candidates(struct planner *p, const struct plan_request *r,
			 const int *flags, size_t nflags)
{
	char key[1024];
	size_t len;
	long ix;
	int arch = r->arch ? (int)strmap_intern(&p->names, r->arch) : -1;
	struct cands *c;

	len = (size_t)snprintf(key, sizeof(key), "%d", arch);
	for (size_t k = 0; k < nflags && len < sizeof(key) - 16; k++)
		len += (size_t)snprintf(key + len, sizeof(key) - len, ",%d",
					flags[k]);
	ix = strmap_get(&p->candix, key);
	if (ix >= 0)
		return (size_t)ix;
	XGROW(p->cands, p->cands_alloc, p->ncands + 1);
	c = &p->cands[p->ncands];
	memset(c, 0, sizeof(*c));
	c->h = xcalloc(p->in->nhosts + 1, sizeof(size_t));
	c->is = xcalloc(p->in->nhosts + 1, 1);
	for (size_t i = 0; i < p->in->nhosts; i++) {
		struct hstate *h = &p->hs[i];

		if (h->usable && (arch < 0 || h->arch == arch) &&
		    host_has_flags(h, flags, nflags)) {
			XGROW(h->mem, h->mem_alloc, h->nmem + 1);
			h->mem[h->nmem].cls = p->ncands;
			h->mem[h->nmem++].blk = c->n / CAND_BLOCK;
			c->h[c->n++] = i;
			c->is[i] = 1;
		}
	}
	c->blk = xcalloc(c->n / CAND_BLOCK + 1, sizeof(*c->blk));
	for (size_t b = 0; b * CAND_BLOCK < c->n; b++)
		block_summarize(p, c, b);
	strmap_put(&p->candix, key, (long)p->ncands);
	return p->ncands++;
}

/*
 * The candidates class of r, with its equiv and share (see req_flags).
 * Requests built from one snapshot share their arch and flags strings:
 * a small cache by those pointers skips interning and the key per request.
 */
static size_t req_class(struct planner *p, const struct plan_request *r,
			int *equiv, int *share)
{
	uintptr_t key = (uintptr_t)r->arch * 31 + (uintptr_t)r->flags;
	struct class_memo *m = &p->class_memo[(key >> 4) % CLASS_MEMO];
	int *flags;
	size_t nflags;

	if (m->used && m->arch == r->arch && m->flags == r->flags) {
		*equiv = m->equiv;
		*share = m->share;
		return m->cls;
	}
	nflags = req_flags(p, r, &flags, equiv, share);
	m->used = 1;
	m->arch = r->arch;
	m->flags = r->flags;
	m->equiv = *equiv;
	m->share = *share;
	m->cls = candidates(p, r, flags, nflags);
	free(flags);
	return m->cls;
}

/* ---- host choice ---- */

static plan_time variation_bonus(const struct planner *p, plan_time age)
{
	double b = 2.0 * (double)HOUR * log(1.0 + (double)age / (double)DAY);

	if (b > (double)p->in->cfg.variation_max)
		return p->in->cfg.variation_max;
	return b < 0 ? 0 : (plan_time)b;
}

static size_t bonus_slot(const struct bonus_memo *t, size_t cap,
			 const struct plan_history *hist, size_t n)
{
	size_t i = (size_t)((((uintptr_t)hist >> 3) + n) *
			    0x9e3779b97f4a7c15ull) & (cap - 1);

	while (t[i].hist && (t[i].hist != hist || t[i].n != n))
		i = (i + 1) & (cap - 1);
	return i;
}

/* The variation bonuses of r's history entries, for host_bonus. */
static const plan_time *history_bonuses(struct planner *p,
					const struct plan_request *r)
{
	struct bonus_table *b = p->bonus;
	size_t i;

	if (!r->nhistory)
		return NULL;
	if (2 * (b->n + 1) > b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 256;
		struct bonus_memo *t = xcalloc(cap, sizeof(*t));

		for (size_t k = 0; k < b->cap; k++)
			if (b->t[k].hist)
				t[bonus_slot(t, cap, b->t[k].hist, b->t[k].n)] =
					b->t[k];
		free(b->t);
		b->t = t;
		b->cap = cap;
	}
	i = bonus_slot(b->t, b->cap, r->history, r->nhistory);
	if (!b->t[i].hist) {
		plan_time *v = xcalloc(r->nhistory, sizeof(*v));

		for (size_t k = 0; k < r->nhistory; k++)
			v[k] = variation_bonus(p, p->in->now -
						  r->history[k].last_run);
		b->t[i].hist = r->history;
		b->t[i].n = r->nhistory;
		b->t[i].bonus = v;
		b->n++;
	}
	return b->t[i].bonus;
}

static plan_time host_bonus(const struct planner *p,
			    const struct plan_request *r,
			    const struct plan_history *hist)
{
	if (hist && hist->last_failed)
		return p->in->cfg.prevfail_bonus;
	if (r->is_build || r->kind != PLAN_JOB)
		return 0;
	if (!hist)
		return p->variation_never;
	/* hist is an entry of the request being planned */
	if (hist >= p->cur_hist && hist < p->cur_hist + p->cur_nhist)
		return p->cur_bonus[hist - p->cur_hist];
	return variation_bonus(p, p->in->now - hist->last_run);
}

struct choice {
	size_t host;
	int slot;
	plan_time start, dur, cost;
};

/* A host's cost for r: its start (builds: their finish), less its bonus. */
static plan_time choice_cost(const struct planner *p,
			     const struct plan_request *r,
			     const struct plan_history *hist, plan_time start,
			     plan_time dur)
{
	return start + (r->is_build ? dur : 0) - host_bonus(p, r, hist);
}

/* Evaluates host i for r from t0: its start, duration and cost. */
static void evaluate(const struct planner *p, const struct plan_request *r,
		     int share, size_t i, plan_time t0, struct choice *c)
{
	const struct hstate *h = &p->hs[i];
	const struct plan_history *hist = p->hist[i];

	c->host = i;
	c->slot = -1;
	c->dur = hist && hist->duration > 0 ? hist->duration : r->duration;
	if (c->dur < 1)
		c->dur = 1;
	if (share >= 0 && h->share == share)
		c->start = host_fit_share(h, t0 > h->share_drain ? t0
							   : h->share_drain,
					  c->dur, &c->slot);
	else
		c->start = host_fit_whole(h, t0, c->dur);
	c->cost = choice_cost(p, r, hist, c->start, c->dur);
}

static int choice_better(const struct choice *a, const struct choice *b)
{
	if (a->cost != b->cost)
		return a->cost < b->cost;
	return a->host < b->host;
}

/* Can no host from first on (index order) under sum beat best? Only for
 * hosts without history for r: they all have r's duration and bonus. */
static int cannot_beat(const struct planner *p, const struct plan_request *r,
		       const struct hsum *sum, plan_time t0, plan_time d,
		       size_t first, const struct choice *best)
{
	plan_time cost = choice_cost(p, r, NULL, host_lb(sum, t0, d), d);

	return cost > best->cost || (cost == best->cost && first > best->host);
}

static int is_candidate(const struct cands *c, size_t host)
{
	return c->is[host];
}

/* The best single host for r from t0 among the candidates c. */
static int choose_one(const struct planner *p, const struct plan_request *r,
		      const struct cands *c, int share, plan_time t0,
		      struct choice *best)
{
	plan_time d = r->duration > 0 ? r->duration : 1;
	int found = 0, prune = !p->in->cfg.exhaustive;
	struct choice ch;

	for (size_t b = 0; b * CAND_BLOCK < c->n; b++) {
		size_t first = b * CAND_BLOCK;
		size_t end = first + CAND_BLOCK < c->n ? first + CAND_BLOCK : c->n;

		if (found && prune &&
		    cannot_beat(p, r, &c->blk[b], t0, d, c->h[first], best))
			continue;
		for (size_t k = first; k < end; k++) {
			size_t i = c->h[k];

			if (p->hist[i])
				continue;   /* done above */
			if (found && prune &&
			    cannot_beat(p, r, &p->hs[i].sum, t0, d, i, best))
				continue;
			evaluate(p, r, share, i, t0, &ch);
			if (!found || choice_better(&ch, best))
				*best = ch;
			found = 1;
		}
	}
	/* then the hosts it ran on, each with its own duration and bonus */
	for (size_t k = 0; k < r->nhistory; k++) {
		const struct plan_history *hist = &r->history[k];
		size_t i = hist->host;
		plan_time dh = hist->duration > 0 ? hist->duration : d;

		if (i >= p->in->nhosts || p->hist[i] != hist ||
		    !is_candidate(c, i))
			continue;   /* not a candidate, or listed twice */
		if (found && prune) {
			plan_time cost = choice_cost(
				p, r, hist, host_lb(&p->hs[i].sum, t0, dh), dh);

			if (cost > best->cost ||
			    (cost == best->cost && i > best->host))
				continue;
		}
		evaluate(p, r, share, i, t0, &ch);
		if (!found || choice_better(&ch, best))
			*best = ch;
		found = 1;
	}
	return found;
}

static int cmp_time(const void *a, const void *b)
{
	plan_time x = *(const plan_time *)a, y = *(const plan_time *)b;

	return (x > y) - (x < y);
}

/* What a multi-host search needs, and its scratch space. */
struct group {
	const size_t *cand;
	size_t ncand, n;
	const int *forced;
	size_t nforced;
	int share, equiv;
	int sites;            /* a job: its hosts of one site (group_class) */
	struct choice *at;    /* per candidate: its earliest start from t */
	struct choice *ok;    /* those free at t */
	struct choice *best;
};

/*
 * Each candidate's earliest start from t. A start is the earliest fit at
 * or after its t0, and the timelines do not move during the search: a
 * host whose start from an earlier t is still at or after this t keeps
 * it, so with again only the others are evaluated (not in the exhaustive
 * search, the reference).
 */
static void group_evaluate(const struct planner *p,
			   const struct plan_request *r, struct group *g,
			   plan_time t, int again)
{
	for (size_t k = 0; k < g->ncand; k++)
		if (!again || g->at[k].start < t)
			evaluate(p, r, g->share, g->cand[k], t, &g->at[k]);
}

/*
 * A host's class in a multi-host search, -1 when it has none: a group's
 * hosts are all of one class. For a job, its site, or its site and equiv
 * class when the job asks for one (g->equiv): a job never spans two
 * sites (its worker serves one). A person's reservation may: its equiv
 * class when asked, else one class for all.
 */
static int group_class(const struct planner *p, const struct group *g,
		       size_t host)
{
	const struct hstate *h = &p->hs[host];

	if (!g->sites)
		return g->equiv ? h->equiv : 0;
	return g->equiv ? h->site_equiv : h->site;
}

/*
 * Appends to g->best (which has got) the best of g->ok (nok) not in it
 * yet, of class eq (group_class), until it has n: the order a
 * walk of ok sorted by choice_better would take them in, by selection
 * (n is small; ok may be every candidate).
 */
static size_t group_fill(const struct planner *p, struct group *g,
			 size_t nok, int eq, size_t got)
{
	while (got < g->n) {
		size_t pick = nok;

		for (size_t m = 0; m < nok; m++) {
			int dup = 0;

			if (group_class(p, g, g->ok[m].host) != eq)
				continue;
			for (size_t x = 0; x < got; x++)
				dup |= g->best[x].host == g->ok[m].host;
			if (!dup && (pick == nok ||
				     choice_better(&g->ok[m], &g->ok[pick])))
				pick = m;
		}
		if (pick == nok)
			break;
		g->best[got++] = g->ok[pick];
	}
	return got;
}

/*
 * The group starting at t, if there is one (after group_evaluate at t):
 * the pinned hosts, then the cheapest of those free at t, all of one
 * class (group_class): the class of the cheapest host free at t whose
 * class can make the group.
 */
static int group_pick(const struct planner *p, struct group *g, plan_time t)
{
	size_t nok = 0, ntried = 0;
	int *tried;
	int found = 0;

	for (size_t k = 0; k < g->ncand; k++)
		if (g->at[k].start == t)
			g->ok[nok++] = g->at[k];
	if (nok < g->n)
		return 0;
	tried = xcalloc(nok + 1, sizeof(int));
	for (;;) {
		size_t best = nok, got = 0, nf = 0;
		int eq = -1;

		/* the cheapest host of a class not tried yet */
		for (size_t m = 0; m < nok; m++) {
			int cls = group_class(p, g, g->ok[m].host), seen = 0;

			for (size_t x = 0; x < ntried; x++)
				seen |= tried[x] == cls;
			if (cls >= 0 && !seen &&
			    (best == nok || choice_better(&g->ok[m], &g->ok[best])))
				best = m;
		}
		if (best == nok)
			break;
		eq = tried[ntried++] = group_class(p, g, g->ok[best].host);
		for (size_t f = 0; f < g->nforced; f++)
			for (size_t m = 0; m < nok; m++)
				if (g->ok[m].host == (size_t)g->forced[f] &&
				    group_class(p, g, g->ok[m].host) == eq) {
					g->best[got++] = g->ok[m];
					nf++;
				}
		if (nf == g->nforced)
			found = group_fill(p, g, nok, eq, got) == g->n;
		if (found)
			break;
	}
	free(tried);
	return found;
}

struct class_start {
	int cls;
	plan_time start;
};

static int cmp_class_start(const void *a, const void *b)
{
	const struct class_start *x = a, *y = b;

	if (x->cls != y->cls)
		return (x->cls > y->cls) - (x->cls < y->cls);
	return (x->start > y->start) - (x->start < y->start);
}

/*
 * After group_evaluate at t found no group: the next time one could
 * start. Before it, fewer than n hosts of any one class (or not every
 * pinned host) can have started, so no group fits in between.
 */
static plan_time group_next(const struct planner *p, const struct group *g)
{
	struct class_start *cs = xcalloc(g->ncand + 1, sizeof(*cs));
	plan_time pinned = 0, next = PLAN_NEVER;
	int pin_class = -2;
	size_t ncs = 0;

	for (size_t f = 0; f < g->nforced; f++)
		for (size_t k = 0; k < g->ncand; k++) {
			int cls = group_class(p, g, g->cand[k]);

			if (g->cand[k] != (size_t)g->forced[f])
				continue;
			if (g->at[k].start > pinned)
				pinned = g->at[k].start;
			if (cls < 0 || (pin_class != -2 && cls != pin_class))
				goto out;   /* pins of two classes: never */
			pin_class = cls;
		}
	for (size_t k = 0; k < g->ncand; k++) {
		int cls = group_class(p, g, g->cand[k]);

		if (cls < 0 || (pin_class != -2 && cls != pin_class))
			continue;
		cs[ncs].cls = cls;
		cs[ncs++].start = g->at[k].start;
	}
	qsort(cs, ncs, sizeof(*cs), cmp_class_start);
	for (size_t k = 0; k + g->n - 1 < ncs; k++) {
		const struct class_start *nth = &cs[k + g->n - 1];

		if ((k == 0 || cs[k - 1].cls != cs[k].cls) &&
		    nth->cls == cs[k].cls && nth->start < next)
			next = nth->start;
	}
	if (next < pinned)
		next = pinned;
out:
	free(cs);
	return next;
}

/*
 * Several hosts at once: the earliest time from t0 at which n of the
 * candidates (all of one site, and of one equiv class when asked; see
 * group_class) are free together for
 * the job, and the best n of those by cost. Each step jumps to the next
 * time a group could start; the exhaustive search (for tests) tries t0
 * and every time any candidate's busy block ends.
 */
static int choose_many(struct planner *p, const struct plan_request *r,
		       const size_t *cand, size_t ncand, const int *forced,
		       size_t nforced, int share, int equiv, plan_time t0,
		       struct choice *best)
{
	struct group g = {
		.cand = cand, .ncand = ncand, .n = (size_t)r->nhosts,
		.forced = forced, .nforced = nforced, .share = share,
		.equiv = equiv, .sites = r->kind == PLAN_JOB, .best = best,
	};
	plan_time *times = NULL;
	size_t ntimes = 0, talloc = 0;
	int found = 0;

	g.at = xcalloc(ncand + 1, sizeof(*g.at));
	g.ok = xcalloc(ncand + 1, sizeof(*g.ok));
	if (!p->in->cfg.exhaustive) {
		for (plan_time t = t0; !found && t < PLAN_NEVER;) {
			plan_time next;

			group_evaluate(p, r, &g, t, t != t0);
			found = group_pick(p, &g, t);
			next = found ? t : group_next(p, &g);
			if (next <= t)
				break;   /* enough hosts free at t, yet no group */
			t = next;
		}
		goto out;
	}
	XGROW(times, talloc, 1);
	times[ntimes++] = t0;
	for (size_t k = 0; k < ncand; k++) {
		const struct hstate *h = &p->hs[cand[k]];

		for (int s = 0; s < h->nslots; s++)
			for (size_t b = 0; b < h->sl[s].n; b++) {
				if (h->sl[s].b[b].e <= t0)
					continue;
				XGROW(times, talloc, ntimes + 1);
				times[ntimes++] = h->sl[s].b[b].e;
			}
	}
	qsort(times, ntimes, sizeof(*times), cmp_time);
	for (size_t t = 0; t < ntimes && !found; t++) {
		if (t && times[t] == times[t - 1])
			continue;
		group_evaluate(p, r, &g, times[t], 0);
		found = group_pick(p, &g, times[t]);
	}
	free(times);
out:
	free(g.at);
	free(g.ok);
	return found;
}

/* ---- requests ---- */

static void describe_req(const struct plan_request *r, char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "%s", r->arch ? r->arch : "");

	for (const char *const *f = r->flags; f && *f && off < len; f++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					off ? " " : "", *f);
}

static struct plan_flight *flight_of(struct planner *p, long flight)
{
	for (size_t i = 0; i < p->in->nflights; i++)
		if (p->flights[i].flight == flight)
			return &p->flights[i];
	return NULL;
}

/*
 * Whether a job no usable host can take gives up (plan.h). OSSTest's rule
 * (reference 3.9) also starved jobs whose hosts were busy for longer than
 * the rest of their flight took: here they wait, since the gate must not
 * push a revision no test of theirs has seen for a busy lab.
 */
static int starving(struct planner *p, const struct plan_request *r,
		    plan_time *need)
{
	const struct plan_config *cfg = &p->in->cfg;
	struct plan_flight *f;

	if (!cfg->starvation || r->kind != PLAN_JOB || r->never_starve ||
	    r->deps_pending)
		return 0;
	f = flight_of(p, r->flight);
	if (!f || f->done < 1 || f->done < f->waiting)
		return 0;
	*need = cfg->starve_wait;
	if (r->duration * cfg->starve_estimates > *need)
		*need = r->duration * cfg->starve_estimates;
	if (p->in->now - r->queued_at < *need)
		return 0;
	if (f->waiting > 0)
		f->waiting--;
	return 1;
}

static void plan_request(struct planner *p, size_t ri);

static void plan_blockage(struct planner *p, size_t ri)
{
	const struct plan_request *r = &p->in->reqs[ri];
	struct plan_result *res = &p->out->results[ri];
	int *flags, equiv, share;
	size_t nflags = req_flags(p, r, &flags, &equiv, &share);
	int arch = r->arch ? (int)strmap_intern(&p->names, r->arch) : -1;
	long pin = r->pinned && r->pinned[0]
			   ? strmap_get(&p->hostix, r->pinned[0]) : -1;

	res->outcome = PLAN_BLOCKED_WINDOW;
	res->start = r->not_before;
	res->end = r->not_before + r->duration;
	res->hosts = xcalloc(p->in->nhosts + 1, sizeof(*res->hosts));
	for (size_t i = 0; i < p->in->nhosts; i++) {
		const struct hstate *h = &p->hs[i];

		if ((r->pinned && r->pinned[0] && (long)i != pin) ||
		    h->retired || (arch >= 0 && h->arch != arch) ||
		    !host_has_flags(h, flags, nflags))
			continue;
		res->hosts[res->nbooked].host = i;
		res->hosts[res->nbooked++].slot = -1;
		host_book(p, i, -1, res->start, res->end, (long)ri);
	}
	snprintf(res->reason, sizeof(res->reason), "maintenance window on %zu host%s",
		 res->nbooked, res->nbooked == 1 ? "" : "s");
	free(flags);
}

/* Earliest start allowed by dependencies; plans them first. */
static plan_time deps_start(struct planner *p, size_t ri, const char **wait,
			    int *impossible)
{
	const struct plan_request *r = &p->in->reqs[ri];
	plan_time t0 = p->in->now;

	*wait = NULL;
	*impossible = 0;
	if (r->not_before > t0)
		t0 = r->not_before;
	if (r->deps_end > t0) {
		t0 = r->deps_end;
		*wait = r->deps_what ? r->deps_what : "its dependencies";
	}
	for (size_t k = 0; k < r->ndeps; k++) {
		size_t d = r->deps[k];
		const struct plan_result *dr;

		if (d >= p->in->nreqs || d == ri)
			continue;
		if (p->state[d] == 0)
			plan_request(p, d);
		if (p->state[d] != 2)
			continue;   /* a cycle: ignore that edge */
		dr = &p->out->results[d];
		if (dr->outcome == PLAN_NO_HOST || dr->outcome == PLAN_STARVED ||
		    dr->outcome == PLAN_HOST_GONE) {
			*impossible = 1;
			*wait = p->in->reqs[d].what;
			return PLAN_NEVER;
		}
		if (dr->end > t0) {
			t0 = dr->end;
			*wait = p->in->reqs[d].what;
		}
	}
	return t0;
}

/*
 * Whether host h has r's arch and flags, usable or not: a pin to a host
 * that fits waits for it to come back; one to a host that does not fit
 * can never run.
 */
static int host_fits(struct planner *p, const struct plan_request *r,
		     size_t h)
{
	int *flags, equiv, share, fits;
	size_t nflags = req_flags(p, r, &flags, &equiv, &share);
	int arch = r->arch ? (int)strmap_intern(&p->names, r->arch) : -1;

	fits = (arch < 0 || p->hs[h].arch == arch) &&
	       host_has_flags(&p->hs[h], flags, nflags);
	free(flags);
	return fits;
}

/*
 * When a job pinned to unusable host h gives up: pinned_wait after the
 * host became unusable, or after the job was queued if that is later (a
 * job asked for a host broken for days still gets its wait).
 */
static plan_time pin_deadline(const struct planner *p,
			      const struct plan_request *r, size_t h)
{
	plan_time since = p->in->hosts[h].unusable_since;

	if (since < r->queued_at)
		since = r->queued_at;
	return since + p->in->cfg.pinned_wait;
}

/* "is broken", "is in maintenance", ... */
static const char *host_state_words(const struct plan_host *h)
{
	if (!h->state)
		return "is not usable";
	if (!strcmp(h->state, "broken"))
		return "is broken";
	if (!strcmp(h->state, "maintenance"))
		return "is in maintenance";
	if (!strcmp(h->state, "retired"))
		return "is retired";
	return "is not usable";
}

/* "12:03 UTC" for a time within a day of now, else with its date. */
static void clock_text(plan_time t, plan_time now, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	plan_time d = t > now ? t - now : now - t;

	if (!gmtime_r(&tt, &tm) ||
	    !strftime(buf, len, d < 20 * HOUR ? "%H:%M UTC"
					      : "%Y-%m-%d %H:%M UTC", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

/*
 * The reason of a request pinned to gone host h: why it waits (naming
 * the host's state, its reason, since when, and for a job when it gives
 * up), or, when it gave up, why it ended.
 */
static void pinned_gone_reason(const struct planner *p,
			       const struct plan_request *r, size_t h,
			       int gave_up, char *buf, size_t len)
{
	const struct plan_host *ph = &p->in->hosts[h];
	const struct plan_config *cfg = &p->in->cfg;
	char since[40] = "", until[64] = "", why[96] = "";
	int n;

	if (ph->state_reason && *ph->state_reason)
		snprintf(why, sizeof(why), " (%.80s)", ph->state_reason);
	if (ph->unusable_since > 0) {
		n = snprintf(since, sizeof(since), " since ");
		clock_text(ph->unusable_since, p->in->now, since + n,
			   sizeof(since) - (size_t)n);
	}
	if (gave_up) {
		if (why[0])
			snprintf(buf, len, "pinned host %s %s: %.80s", ph->name,
				 host_state_words(ph), ph->state_reason);
		else
			snprintf(buf, len, "pinned host %s %s%s", ph->name,
				 host_state_words(ph), since);
		return;
	}
	if (r->kind == PLAN_JOB && cfg->pinned_wait > 0) {
		n = snprintf(until, sizeof(until), "; ends broken at ");
		clock_text(pin_deadline(p, r, h), p->in->now, until + n,
			   sizeof(until) - (size_t)n);
		snprintf(until + strlen(until), sizeof(until) - strlen(until),
			 " unless it comes back");
	}
	snprintf(buf, len, "pinned host %s %s%s%s%s", ph->name,
		 host_state_words(ph), why, since, until);
}

/* Puts each pinned host at its pin's position (hostN is the Nth). */
static void order_by_pins(const struct planner *p,
			  const struct plan_request *r, struct choice *best,
			  size_t n)
{
	struct choice *sorted = xcalloc(n + 1, sizeof(*sorted));
	int *used = xcalloc(n + 1, sizeof(int)), *placed = xcalloc(n + 1, sizeof(int));

	for (size_t k = 0; k < n; k++) {
		long h = r->pinned[k] ? strmap_get(&p->hostix, r->pinned[k]) : -1;

		for (size_t m = 0; h >= 0 && m < n; m++)
			if (!used[m] && best[m].host == (size_t)h) {
				sorted[k] = best[m];
				used[m] = placed[k] = 1;
				break;
			}
	}
	for (size_t k = 0, m = 0; k < n; k++) {
		if (placed[k])
			continue;
		while (used[m])
			m++;
		sorted[k] = best[m];
		used[m] = 1;
	}
	memcpy(best, sorted, n * sizeof(*best));
	free(sorted);
	free(used);
	free(placed);
}

static void plan_request(struct planner *p, size_t ri)
{
	const struct plan_input *in = p->in;
	const struct plan_request *r = &in->reqs[ri];
	struct plan_result *res = &p->out->results[ri];
	size_t n = r->nhosts > 0 ? (size_t)r->nhosts : 1;
	int equiv, share, forced[64];
	size_t nforced = 0, ncand = 0, cls;
	const size_t *cand;
	size_t *pinned_cand = NULL;
	struct choice *best;
	const char *wait, *bad_pin = NULL;
	long gone = -1;
	int impossible, found = 0, twice = 0;
	plan_time t0, need;
	char want[96];

	p->state[ri] = 1;
	if (r->kind == PLAN_BLOCKAGE) {
		plan_blockage(p, ri);
		p->state[ri] = 2;
		return;
	}
	res->hosts = xcalloc(n + 1, sizeof(*res->hosts));
	best = xcalloc(n + 1, sizeof(*best));
	t0 = deps_start(p, ri, &wait, &impossible);
	cls = req_class(p, r, &equiv, &share);
	cand = p->cands[cls].h;
	ncand = p->cands[cls].n;
	/*
	 * pins: those hosts, if they qualify, plus candidates for the rest.
	 * A pinned host that has what it needs but is not usable now is
	 * gone, perhaps for a while: the job waits for the one gone the
	 * longest, up to pinned_wait.
	 */
	for (size_t k = 0; r->pinned && k < n && k < 64; k++) {
		long h;
		int ok = 0;

		if (!r->pinned[k])
			continue;
		h = strmap_get(&p->hostix, r->pinned[k]);
		for (size_t m = 0; h >= 0 && m < ncand; m++)
			ok |= cand[m] == (size_t)h;
		for (size_t m = 0; h >= 0 && m < k; m++)
			twice |= r->pinned[m] &&
				 strmap_get(&p->hostix, r->pinned[m]) == h;
		if (!ok && !twice && h >= 0 && host_fits(p, r, (size_t)h)) {
			if (gone < 0 || pin_deadline(p, r, (size_t)h) <
						pin_deadline(p, r, (size_t)gone))
				gone = h;
			continue;
		}
		if (!ok || twice) {
			bad_pin = r->pinned[k];
			break;
		}
		forced[nforced++] = (int)h;
	}
	if (nforced == n) {
		pinned_cand = xcalloc(n + 1, sizeof(size_t));
		for (size_t k = 0; k < n; k++)
			pinned_cand[k] = (size_t)forced[k];
		cand = pinned_cand;
		ncand = n;
	}
	for (size_t k = 0; k < r->nhistory; k++)
		if (r->history[k].host < in->nhosts)
			p->hist[r->history[k].host] = &r->history[k];
	p->cur_hist = r->history;
	p->cur_nhist = r->nhistory;
	p->cur_bonus = history_bonuses(p, r);

	want[0] = '\0';
	if (bad_pin || ncand < n || n > 1)
		describe_req(r, want, sizeof(want));
	if (bad_pin && twice) {
		snprintf(res->reason, sizeof(res->reason),
			 "pinned host %s is named twice", bad_pin);
	} else if (bad_pin) {
		snprintf(res->reason, sizeof(res->reason),
			 "pinned host %s is not usable for %s", bad_pin,
			 want[0] ? want : "it");
	} else if (gone >= 0) {
		pinned_gone_reason(p, r, (size_t)gone, 0, res->reason,
				   sizeof(res->reason));
	} else if (impossible) {
		snprintf(res->reason, sizeof(res->reason),
			 "waits for %s, which cannot run", wait);
	} else if (ncand < n) {
		if (n == 1)
			snprintf(res->reason, sizeof(res->reason),
				 "no usable host for %s", want[0] ? want : "it");
		else
			snprintf(res->reason, sizeof(res->reason),
				 "needs %zu hosts, %zu usable for %s", n, ncand,
				 want[0] ? want : "it");
	} else if (n == 1 && pinned_cand) {
		evaluate(p, r, share, cand[0], t0, &best[0]);
		found = 1;
	} else if (n == 1) {
		found = choose_one(p, r, &p->cands[cls], share, t0, &best[0]);
	} else {
		found = choose_many(p, r, cand, ncand, forced, nforced, share,
				    equiv, t0, best);
		if (!found)
			snprintf(res->reason, sizeof(res->reason),
				 "no %zu usable hosts %sfor %s", n,
				 r->kind == PLAN_JOB && p->multi_site
				 ? (equiv ? "of one site and equiv class "
					  : "of one site ")
				 : equiv ? "of one equiv class " : "",
				 want[0] ? want : "it");
	}

	if (!found) {
		res->outcome = PLAN_NO_HOST;
		res->start = res->end = PLAN_NEVER;
		if (gone >= 0 && r->kind == PLAN_JOB && in->cfg.pinned_wait > 0) {
			/* pinned_wait, not starvation, says how long it waits */
			plan_time end = pin_deadline(p, r, (size_t)gone);

			if (in->now >= end) {
				res->outcome = PLAN_HOST_GONE;
				res->gone_host = (size_t)gone;
				pinned_gone_reason(p, r, (size_t)gone, 1,
						   res->reason,
						   sizeof(res->reason));
			} else if (end < p->out->next_change) {
				p->out->next_change = end;
			}
		} else if (starving(p, r, &need)) {
			plan_time waited = in->now - r->queued_at;

			res->outcome = PLAN_STARVED;
			describe_req(r, want, sizeof(want));
			snprintf(res->reason, sizeof(res->reason),
				 "starved: no usable host for %s in %lldh %02lldm",
				 want[0] ? want : "it", (long long)(waited / 3600),
				 (long long)(waited % 3600 / 60));
		}
	} else {
		plan_time start = best[0].start, end = 0;

		if (r->pinned && n > 1)
			order_by_pins(p, r, best, n);

		for (size_t k = 0; k < n; k++) {
			if (best[k].start > start)
				start = best[k].start;
		}
		for (size_t k = 0; k < n; k++)
			if (start + best[k].dur > end)
				end = start + best[k].dur;
		res->start = start;
		res->end = end;
		res->outcome = start <= in->now && !r->deps_pending
				       ? PLAN_START : PLAN_WAIT;
		res->nbooked = n;
		for (size_t k = 0; k < n; k++) {
			res->hosts[k].host = best[k].host;
			res->hosts[k].slot = best[k].slot;
			host_book(p, best[k].host, best[k].slot, start,
				  start + best[k].dur, (long)ri);
		}
		if (res->outcome == PLAN_START)
			snprintf(res->reason, sizeof(res->reason),
				 "starts now");
		else if (wait)
			snprintf(res->reason, sizeof(res->reason),
				 "waits for %s", wait);
		else if (p->hist[best[0].host] &&
			 p->hist[best[0].host]->last_failed)
			snprintf(res->reason, sizeof(res->reason),
				 "waits for %s, where it last failed",
				 in->hosts[best[0].host].name);
		else
			snprintf(res->reason, sizeof(res->reason),
				 "%zu suitable host%s busy or booked ahead",
				 ncand, ncand == 1 ? "" : "s");
	}
	for (size_t k = 0; k < r->nhistory; k++)
		if (r->history[k].host < in->nhosts)
			p->hist[r->history[k].host] = NULL;
	p->cur_hist = NULL;
	p->cur_nhist = 0;
	p->cur_bonus = NULL;
	free(pinned_cand);
	free(best);
	p->state[ri] = 2;
}

/* ---- the pass ---- */

static const struct plan_request *sort_reqs;

static int cmp_queue(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct plan_request *x = &sort_reqs[i], *y = &sort_reqs[j];
	int bx = x->kind == PLAN_BLOCKAGE, by = y->kind == PLAN_BLOCKAGE;

	if (bx != by)
		return by - bx;
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	if (x->queued_at != y->queued_at)
		return x->queued_at < y->queued_at ? -1 : 1;
	if (x->flight != y->flight)
		return x->flight < y->flight ? -1 : 1;
	if (x->is_build != y->is_build)
		return y->is_build - x->is_build;
	return (i > j) - (i < j);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct plan_slot_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return (x->req > y->req) - (x->req < y->req);
}

int plan_compute(const struct plan_input *in, struct plan_output *out)
{
	struct planner p;
	int rc = 0;

	memset(&p, 0, sizeof(p));
	memset(out, 0, sizeof(*out));
	p.in = in;
	p.out = out;
	out->results = xcalloc(in->nreqs + 1, sizeof(*out->results));
	out->order = xcalloc(in->nreqs + 1, sizeof(*out->order));
	out->timeline = xcalloc(in->nhosts + 1, sizeof(*out->timeline));
	out->ntimeline = xcalloc(in->nhosts + 1, sizeof(*out->ntimeline));
	out->next_change = PLAN_NEVER;
	p.tl_alloc = xcalloc(in->nhosts + 1, sizeof(*p.tl_alloc));
	p.hist = xcalloc(in->nhosts + 1, sizeof(*p.hist));
	p.state = xcalloc(in->nreqs + 1, sizeof(*p.state));
	p.flights = xcalloc(in->nflights + 1, sizeof(*p.flights));
	if (in->nflights)
		memcpy(p.flights, in->flights, in->nflights * sizeof(*p.flights));
	p.variation_never = variation_bonus(&p, 90 * DAY);
	p.bonus = xcalloc(1, sizeof(*p.bonus));
	planner_hosts(&p);

	for (size_t i = 0; i < in->nbusy; i++) {
		const struct plan_busy *b = &in->busy[i];
		struct hstate *h;

		if (b->host >= in->nhosts) {
			rc = -1;
			continue;
		}
		h = &p.hs[b->host];
		if (b->slot < 0 || b->slot >= h->nslots)
			for (int k = 0; k < h->nslots; k++)
				slot_add(&h->sl[k], in->now, b->start, b->end);
		else
			slot_add(&h->sl[b->slot], in->now, b->start, b->end);
		timeline_add(&p, b->host, b->start, b->end,
			     b->slot < h->nslots ? b->slot : -1, -1 - (long)i);
	}
	for (size_t i = 0; i < in->nhosts; i++)
		host_summarize(&p, &p.hs[i]);
	/* a worn shared host takes no new sharer until its sharers are gone */
	for (size_t i = 0; i < in->nbusy; i++) {
		const struct plan_busy *b = &in->busy[i];

		if (b->host < in->nhosts && b->slot >= 0 &&
		    in->hosts[b->host].share_worn &&
		    b->end > p.hs[b->host].share_drain)
			p.hs[b->host].share_drain = b->end;
	}

	for (size_t i = 0; i < in->nreqs; i++)
		out->order[i] = i;
	sort_reqs = in->reqs;
	qsort(out->order, in->nreqs, sizeof(*out->order), cmp_queue);
	sort_reqs = NULL;
	for (size_t k = 0; k < in->nreqs; k++)
		if (p.state[out->order[k]] == 0)
			plan_request(&p, out->order[k]);

	for (size_t i = 0; i < in->nhosts; i++)
		if (out->ntimeline[i])
			qsort(out->timeline[i], out->ntimeline[i],
		      sizeof(*out->timeline[i]), cmp_entry);

	for (size_t i = 0; i < in->nhosts; i++) {
		for (int k = 0; k < p.hs[i].nslots; k++)
			free(p.hs[i].sl[k].b);
		free(p.hs[i].sl);
		free(p.hs[i].flags);
		free(p.hs[i].mem);
	}
	for (size_t i = 0; i < p.ncands; i++) {
		free(p.cands[i].h);
		free(p.cands[i].is);
		free(p.cands[i].blk);
	}
	free(p.cands);
	free(p.hs);
	free(p.tl_alloc);
	free(p.hist);
	for (size_t i = 0; i < p.bonus->cap; i++)
		free(p.bonus->t[i].bonus);
	free(p.bonus->t);
	free(p.bonus);
	free(p.state);
	free(p.flights);
	strmap_clear(&p.names);
	strmap_clear(&p.hostix);
	strmap_clear(&p.candix);
	return rc;
}

void plan_output_release(const struct plan_input *in, struct plan_output *out)
{
	if (out->results)
		for (size_t i = 0; i < in->nreqs; i++)
			free(out->results[i].hosts);
	if (out->timeline)
		for (size_t i = 0; i < in->nhosts; i++)
			free(out->timeline[i]);
	free(out->results);
	free(out->order);
	free(out->timeline);
	free(out->ntimeline);
	memset(out, 0, sizeof(*out));
}
