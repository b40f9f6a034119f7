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
	int sum_stale;        /* booked without summing: host_sum sums */
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
	unsigned char *stale; /* per block: to sum again before reading */
	size_t *dirty;        /* planning again: the candidates that changed */
	size_t ndirty;
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
	plan_time best_cost;  /* of the last request booked (book_found) */
	struct again *again;  /* planning again: what the last plan kept */
	struct host_setup *setup;  /* where the hosts' set-up is kept, or
				    * NULL: the planner's own */
	int from_setup;       /* its hosts came from there */
};

/*
 * The hosts as a plan set them up (names interned, flags sorted, sites,
 * share slots), kept for the next plan if its hosts are the same: the
 * busy time and candidate blocks are made afresh.
 */
struct host_setup {
	int valid;
	struct strmap names, hostix;
	struct hstate *hs;          /* no slots nor memberships */
	size_t nhosts;
	int multi_site;
};

static void again_booked(struct planner *p, size_t host, int slot,
			 plan_time end);
static void again_class(struct planner *p, struct cands *c);

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

	if (p->in->no_timeline)
		return;
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

/* h's bounds, summed again if it was booked lazily (host_book_kept). */
static const struct hsum *host_sum(const struct planner *p, size_t i)
{
	struct hstate *h = &p->hs[i];

	if (h->sum_stale) {
		host_summarize(p, h);
		h->sum_stale = 0;
	}
	return &h->sum;
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
		const struct hsum *h = host_sum(p, c->h[k]);

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

/* [s, e) busy on host's slot (every slot if -1), and on its timeline. */
static void host_add(struct planner *p, size_t host, int slot, plan_time s,
		     plan_time e, long req)
{
	struct hstate *h = &p->hs[host];

	if (slot < 0)
		for (int k = 0; k < h->nslots; k++)
			slot_add(&h->sl[k], p->in->now, s, e);
	else
		slot_add(&h->sl[slot], p->in->now, s, e);
	timeline_add(p, host, s, e, slot, req);
}

static void host_book(struct planner *p, size_t host, int slot, plan_time s,
		      plan_time e, long req)
{
	struct hstate *h = &p->hs[host];
	struct hsum old = *host_sum(p, host);

	host_add(p, host, slot, s, e, req);
	if (p->again)
		again_booked(p, host, slot, e);
	host_summarize(p, h);
	for (size_t m = 0; m < h->nmem; m++) {
		struct cands *c = &p->cands[h->mem[m].cls];
		struct hsum *b = &c->blk[h->mem[m].blk];
		int kept;

		if (c->stale[h->mem[m].blk])
			continue;
		/* all three, each may set its value */
		kept = extreme_kept(&b->last_end, old.last_end,
				    h->sum.last_end, 0);
		kept &= extreme_kept(&b->first_free, old.first_free,
				     h->sum.first_free, 0);
		kept &= extreme_kept(&b->maxgap, old.maxgap, h->sum.maxgap, 1);
		/* summed again when next read: a plan made again reads few */
		if (!kept)
			c->stale[h->mem[m].blk] = 1;
	}
}

/*
 * host_book for a result kept from the last plan: its bounds and its
 * blocks' are summed when next read (host_sum, choose_one), as few are
 * read when most requests keep theirs. Till then they are too low, which
 * prunes less but never wrongly.
 */
static void host_book_kept(struct planner *p, size_t host, int slot,
			   plan_time s, plan_time e, long req)
{
	struct hstate *h = &p->hs[host];

	host_add(p, host, slot, s, e, req);
	again_booked(p, host, slot, e);
	if (h->sum_stale)
		return;
	h->sum_stale = 1;
	for (size_t m = 0; m < h->nmem; m++)
		p->cands[h->mem[m].cls].stale[h->mem[m].blk] = 1;
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
	c->stale = xcalloc(c->n / CAND_BLOCK + 1, 1);
	if (p->again)
		again_class(p, c);
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
		      struct cands *c, int share, plan_time t0,
		      struct choice *best)
{
	plan_time d = r->duration > 0 ? r->duration : 1;
	int found = 0, prune = !p->in->cfg.exhaustive;
	struct choice ch;

	for (size_t b = 0; b * CAND_BLOCK < c->n; b++) {
		size_t first = b * CAND_BLOCK;
		size_t end = first + CAND_BLOCK < c->n ? first + CAND_BLOCK : c->n;

		if (c->stale[b]) {
			block_summarize(p, c, b);
			c->stale[b] = 0;
		}
		if (found && prune &&
		    cannot_beat(p, r, &c->blk[b], t0, d, c->h[first], best))
			continue;
		for (size_t k = first; k < end; k++) {
			size_t i = c->h[k];

			if (p->hist[i])
				continue;   /* done above */
			if (found && prune &&
			    cannot_beat(p, r, host_sum(p, i), t0, d, i, best))
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
				p, r, hist, host_lb(host_sum(p, i), t0, dh), dh);

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

static struct plan_flight *flight_of(const struct planner *p, long flight)
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
static int starve_due(const struct planner *p, const struct plan_request *r,
		      struct plan_flight **fp, plan_time *need)
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
	*fp = f;
	return 1;
}

/* starve_due, and if so one fewer of its flight waits. */
static int starving(struct planner *p, const struct plan_request *r,
		    plan_time *need)
{
	struct plan_flight *f;

	if (!starve_due(p, r, &f, need))
		return 0;
	if (f->waiting > 0)
		f->waiting--;
	return 1;
}

static void plan_request(struct planner *p, size_t ri);
static void plan_one(struct planner *p, size_t ri);

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
			plan_one(p, d);
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

/* Points each host r ran on at its history there (the last entry for a
 * host listed twice), for evaluate and host_bonus; hist_leave undoes. */
static void hist_enter(struct planner *p, const struct plan_request *r)
{
	for (size_t k = 0; k < r->nhistory; k++)
		if (r->history[k].host < p->in->nhosts)
			p->hist[r->history[k].host] = &r->history[k];
	p->cur_hist = r->history;
	p->cur_nhist = r->nhistory;
	p->cur_bonus = history_bonuses(p, r);
}

static void hist_leave(struct planner *p, const struct plan_request *r)
{
	for (size_t k = 0; k < r->nhistory; k++)
		if (r->history[k].host < p->in->nhosts)
			p->hist[r->history[k].host] = NULL;
	p->cur_hist = NULL;
	p->cur_nhist = 0;
	p->cur_bonus = NULL;
}

/*
 * Books request ri on best[0..n) at their common start and says why it
 * starts or waits; wait names what it waits for, if anything.
 */
static void book_found(struct planner *p, size_t ri, struct choice *best,
		       size_t n, const char *wait, size_t ncand)
{
	const struct plan_input *in = p->in;
	const struct plan_request *r = &in->reqs[ri];
	struct plan_result *res = &p->out->results[ri];
	plan_time start = best[0].start, end = 0;

	if (r->pinned && n > 1)
		order_by_pins(p, r, best, n);
	for (size_t k = 0; k < n; k++)
		if (best[k].start > start)
			start = best[k].start;
	for (size_t k = 0; k < n; k++)
		if (start + best[k].dur > end)
			end = start + best[k].dur;
	res->start = start;
	res->end = end;
	res->outcome = start <= in->now && !r->deps_pending ? PLAN_START
							    : PLAN_WAIT;
	res->nbooked = n;
	p->best_cost = best[0].cost;
	for (size_t k = 0; k < n; k++) {
		res->hosts[k].host = best[k].host;
		res->hosts[k].slot = best[k].slot;
		host_book(p, best[k].host, best[k].slot, start,
			  start + best[k].dur, (long)ri);
	}
	if (res->outcome == PLAN_START)
		snprintf(res->reason, sizeof(res->reason), "starts now");
	else if (wait)
		snprintf(res->reason, sizeof(res->reason), "waits for %s", wait);
	else if (p->hist[best[0].host] && p->hist[best[0].host]->last_failed)
		snprintf(res->reason, sizeof(res->reason),
			 "waits for %s, where it last failed",
			 in->hosts[best[0].host].name);
	else
		snprintf(res->reason, sizeof(res->reason),
			 "%zu suitable host%s busy or booked ahead", ncand,
			 ncand == 1 ? "" : "s");
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
	hist_enter(p, r);

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
		book_found(p, ri, best, n, wait, ncand);
	}
	hist_leave(p, r);
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

static void setup_clear(struct host_setup *k)
{
	for (size_t i = 0; k->hs && i < k->nhosts; i++)
		free(k->hs[i].flags);
	free(k->hs);
	k->hs = NULL;
	strmap_clear(&k->names);
	strmap_clear(&k->hostix);
	k->valid = 0;
}

/* The hosts of p from its kept set-up, with empty timelines. */
static void hosts_from_setup(struct planner *p)
{
	struct host_setup *k = p->setup;

	p->from_setup = 1;
	p->names = k->names;
	p->hostix = k->hostix;
	p->multi_site = k->multi_site;
	p->hs = xcalloc(k->nhosts + 1, sizeof(*p->hs));
	for (size_t i = 0; i < k->nhosts; i++) {
		struct hstate *h = &p->hs[i];
		const struct hstate *x = &k->hs[i];

		h->arch = x->arch;
		h->flags = x->flags;
		h->nflags = x->nflags;
		h->equiv = x->equiv;
		h->site = x->site;
		h->site_equiv = x->site_equiv;
		h->share = x->share;
		h->usable = x->usable;
		h->retired = x->retired;
		h->nslots = x->nslots;
		h->sl = xcalloc((size_t)h->nslots, sizeof(*h->sl));
	}
}

/* Keeps p's hosts' set-up for the next plan: the kept one it used
 * (whose names it may have added to), or its own instead. */
static void keep_setup(struct planner *p)
{
	struct host_setup *k = p->setup;

	if (p->from_setup) {
		k->names = p->names;
		return;
	}
	setup_clear(k);
	k->names = p->names;
	k->hostix = p->hostix;
	k->multi_site = p->multi_site;
	k->nhosts = p->in->nhosts;
	k->hs = xcalloc(k->nhosts + 1, sizeof(*k->hs));
	memcpy(k->hs, p->hs, k->nhosts * sizeof(*k->hs));
	k->valid = 1;
}

/* The hosts request i may book: a blockage every host. */
static size_t result_room(const struct plan_input *in, size_t i)
{
	const struct plan_request *r = &in->reqs[i];

	if (r->kind == PLAN_BLOCKAGE)
		return in->nhosts + 1;
	return (r->nhosts > 0 ? (size_t)r->nhosts : 1) + 1;
}

/* Sets up p to plan in into out: hosts and busy time (the caller sets
 * the queue order). Returns 0, or -1 for a busy entry naming no host. */
static int planner_start(struct planner *p, const struct plan_input *in,
			 struct plan_output *out, struct host_setup *setup,
			 int same_hosts)
{
	size_t nbook = 0, at = 0;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	memset(out, 0, sizeof(*out));
	p->in = in;
	p->out = out;
	/* not zeroed whole: 10,000 reasons are 2.5 MB a pass */
	out->results = xmalloc((in->nreqs + 1) * sizeof(*out->results));
	out->order = xcalloc(in->nreqs + 1, sizeof(*out->order));
	out->timeline = xcalloc(in->nhosts + 1, sizeof(*out->timeline));
	out->ntimeline = xcalloc(in->nhosts + 1, sizeof(*out->ntimeline));
	out->next_change = PLAN_NEVER;
	/* every result's hosts from one array: a blockage may book every
	 * host, a request its nhosts */
	for (size_t i = 0; i < in->nreqs; i++)
		nbook += result_room(in, i);
	out->bookings = xcalloc(nbook + 1, sizeof(*out->bookings));
	for (size_t i = 0; i < in->nreqs; i++) {
		struct plan_result *res = &out->results[i];

		res->outcome = PLAN_START;
		res->start = res->end = 0;
		res->hosts = out->bookings + at;
		res->nbooked = 0;
		res->reason[0] = '\0';
		res->gone_host = 0;
		at += result_room(in, i);
	}
	p->tl_alloc = xcalloc(in->nhosts + 1, sizeof(*p->tl_alloc));
	p->hist = xcalloc(in->nhosts + 1, sizeof(*p->hist));
	p->state = xcalloc(in->nreqs + 1, sizeof(*p->state));
	p->flights = xcalloc(in->nflights + 1, sizeof(*p->flights));
	if (in->nflights)
		memcpy(p->flights, in->flights, in->nflights * sizeof(*p->flights));
	p->variation_never = variation_bonus(p, 90 * DAY);
	p->bonus = xcalloc(1, sizeof(*p->bonus));
	p->setup = setup;
	if (setup && setup->valid && same_hosts && setup->nhosts == in->nhosts)
		hosts_from_setup(p);
	else
		planner_hosts(p);

	for (size_t i = 0; i < in->nbusy; i++) {
		const struct plan_busy *b = &in->busy[i];
		struct hstate *h;

		if (b->host >= in->nhosts) {
			rc = -1;
			continue;
		}
		h = &p->hs[b->host];
		if (b->slot < 0 || b->slot >= h->nslots)
			for (int k = 0; k < h->nslots; k++)
				slot_add(&h->sl[k], in->now, b->start, b->end);
		else
			slot_add(&h->sl[b->slot], in->now, b->start, b->end);
		timeline_add(p, b->host, b->start, b->end,
			     b->slot < h->nslots ? b->slot : -1, -1 - (long)i);
	}
	for (size_t i = 0; i < in->nhosts; i++)
		host_summarize(p, &p->hs[i]);
	/* a worn shared host takes no new sharer until its sharers are gone */
	for (size_t i = 0; i < in->nbusy; i++) {
		const struct plan_busy *b = &in->busy[i];

		if (b->host < in->nhosts && b->slot >= 0 &&
		    in->hosts[b->host].share_worn &&
		    b->end > p->hs[b->host].share_drain)
			p->hs[b->host].share_drain = b->end;
	}

	return rc;
}

/* The queue order of in's requests into order. */
static void queue_sort(const struct plan_input *in, size_t *order)
{
	for (size_t i = 0; i < in->nreqs; i++)
		order[i] = i;
	sort_reqs = in->reqs;
	qsort(order, in->nreqs, sizeof(*order), cmp_queue);
	sort_reqs = NULL;
}

/* Sorts the timelines and frees the planner's own state. */
static void planner_finish(struct planner *p)
{
	const struct plan_input *in = p->in;
	struct plan_output *out = p->out;

	for (size_t i = 0; i < in->nhosts; i++)
		if (out->ntimeline[i])
			qsort(out->timeline[i], out->ntimeline[i],
			      sizeof(*out->timeline[i]), cmp_entry);

	for (size_t i = 0; i < in->nhosts; i++) {
		for (int k = 0; k < p->hs[i].nslots; k++)
			free(p->hs[i].sl[k].b);
		free(p->hs[i].sl);
		free(p->hs[i].mem);
		p->hs[i].sl = NULL;
		p->hs[i].mem = NULL;
		p->hs[i].nmem = p->hs[i].mem_alloc = 0;
	}
	if (p->setup)
		keep_setup(p);
	else
		for (size_t i = 0; i < in->nhosts; i++)
			free(p->hs[i].flags);
	for (size_t i = 0; i < p->ncands; i++) {
		free(p->cands[i].h);
		free(p->cands[i].is);
		free(p->cands[i].blk);
		free(p->cands[i].stale);
		free(p->cands[i].dirty);
	}
	free(p->cands);
	free(p->hs);
	free(p->tl_alloc);
	free(p->hist);
	for (size_t i = 0; i < p->bonus->cap; i++)
		free(p->bonus->t[i].bonus);
	free(p->bonus->t);
	free(p->bonus);
	free(p->state);
	free(p->flights);
	if (!p->setup) {
		strmap_clear(&p->names);
		strmap_clear(&p->hostix);
	}
	strmap_clear(&p->candix);
}

int plan_compute(const struct plan_input *in, struct plan_output *out)
{
	struct planner p;
	int rc = planner_start(&p, in, out, NULL, 0);

	queue_sort(in, out->order);
	for (size_t k = 0; k < in->nreqs; k++)
		if (p.state[out->order[k]] == 0)
			plan_request(&p, out->order[k]);
	planner_finish(&p);
	return rc;
}

void plan_output_release(const struct plan_input *in, struct plan_output *out)
{
	free(out->bookings);
	if (out->timeline)
		for (size_t i = 0; i < in->nhosts; i++)
			free(out->timeline[i]);
	free(out->results);
	free(out->order);
	free(out->timeline);
	free(out->ntimeline);
	free(out->same_result);
	memset(out, 0, sizeof(*out));
}

/* ---- planning again ---- */

/* One request as the last plan saw and planned it. */
struct memo_req {
	uint64_t hash;              /* of its what, once indexed */
	size_t what;                /* offsets into the memo's bytes */
	size_t in, nin;             /* its inputs, as bytes */
	size_t hist, nhist;         /* its history, as bytes: shared by the
				     * requests that share the array */
	size_t reason, nreason;     /* with its NUL */
	size_t seq;                 /* its turn in that plan */
	enum plan_outcome outcome;
	plan_time start, end, cost; /* cost: of its (first) host */
	size_t book, nbook;         /* its bookings in books */
};

struct memo_book {
	size_t host;
	int slot;
	plan_time end;
};

/* What one plan keeps for the next. */
struct memo_gen {
	int valid;
	plan_time now;
	struct plan_config cfg;
	char *bytes;                /* hosts, inputs, whats and reasons */
	size_t nbytes, abytes;
	size_t hosts, nhosts_bytes; /* the hosts, as bytes */
	size_t nhosts;
	plan_time *busy;            /* (slot, start, end) by host */
	size_t *busy_first;         /* per host, and one past the last */
	size_t busy_alloc, first_alloc;
	struct memo_req *reqs;      /* by input index */
	size_t nreqs, reqs_alloc;
	size_t *table;              /* by hash, open addressing: index + 1;
				     * made when first needed */
	size_t cap;
	int indexed;
	struct memo_book *books;
	size_t nbooks, books_alloc;
	size_t *order;              /* the queue order */
	size_t order_alloc;
};

struct plan_memo {
	struct host_setup setup;
	struct memo_gen gen[2];
	int last;                   /* gen[last]: what the last plan kept */
};

/* A plan made again, while it is being made. */
struct again {
	const struct memo_gen *prev;   /* NULL: plan every request */
	struct memo_gen *next;
	size_t *match;              /* per request: its prev index + 1, or 0 */
	unsigned char *dirty;       /* per host: it differs from the last plan
				     * at the same turn */
	size_t *dirty_list, ndirty;
	struct planner *p;          /* once planning: its classes learn of
				     * each host that changes */
	unsigned char *changed;     /* per request: its result differs */
	size_t seq;                 /* turns taken */
	size_t prev_seq;            /* the last kept one's prev turn + 1 */
	int out_of_order;           /* plan every request instead */
	struct plan_again_stats *st;
	struct hist_seen *seen;     /* history arrays by address */
	size_t nseen, seen_cap;     /* cap: a power of two, grown at half */
};

/* A history array of this plan (many requests share one): where its
 * bytes are, and the last comparison with the last plan's. */
struct hist_seen {
	const struct plan_history *v;
	size_t n;
	size_t off, len;
	size_t old_off;             /* compared with these bytes of prev */
	int compared, equal;
};

struct plan_memo *plan_memo_new(void)
{
	struct plan_memo *m = xcalloc(1, sizeof(*m));

	return m;
}

void plan_memo_free(struct plan_memo *m)
{
	if (!m)
		return;
	for (int g = 0; g < 2; g++) {
		struct memo_gen *x = &m->gen[g];

		free(x->bytes);
		free(x->busy);
		free(x->busy_first);
		free(x->reqs);
		free(x->table);
		free(x->books);
		free(x->order);
	}
	setup_clear(&m->setup);
	free(m);
}

static uint64_t hash_text(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;   /* FNV-1a */

	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* Appends n bytes to g's: a few at a time, many times a pass. */
static inline void put_bytes(struct memo_gen *g, const void *v, size_t n)
{
	if (g->nbytes + n + 1 > g->abytes)
		XGROW(g->bytes, g->abytes, g->nbytes + n + 1);
	memcpy(g->bytes + g->nbytes, v, n);
	g->nbytes += n;
}

static inline void put_num(struct memo_gen *b, int64_t v)
{
	put_bytes(b, &v, sizeof(v));
}

/* A string or NULL, told apart by its length. */
static void put_text(struct memo_gen *b, const char *s)
{
	if (!s) {
		put_num(b, -1);
		return;
	}
	size_t n = strlen(s);

	put_num(b, (int64_t)n);
	put_bytes(b, s, n);
}

static void put_list(struct memo_gen *b, const char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	put_num(b, (int64_t)n);
	for (size_t k = 0; k < n; k++)
		put_text(b, v[k]);
}

static void put_hosts(struct memo_gen *b, const struct plan_input *in)
{
	for (size_t i = 0; i < in->nhosts; i++) {
		const struct plan_host *h = &in->hosts[i];

		put_text(b, h->name);
		put_text(b, h->arch);
		put_list(b, h->flags);
		put_num(b, h->usable);
		put_text(b, h->state);
		put_text(b, h->state_reason);
		put_num(b, h->unusable_since);
		put_num(b, h->share_slots);
		put_num(b, h->share_worn);
		put_text(b, h->site);
	}
}

/* Where history array v of n entries is in a->seen, or would go. */
static size_t seen_slot(const struct again *a, const struct plan_history *v,
			size_t n)
{
	size_t i = (size_t)((((uintptr_t)v >> 3) + n) * 0x9e3779b97f4a7c15ull) &
		   (a->seen_cap - 1);

	while (a->seen[i].v && (a->seen[i].v != v || a->seen[i].n != n))
		i = (i + 1) & (a->seen_cap - 1);
	return i;
}

/*
 * Request r's history, as bytes, once per array: the requests of one job
 * share theirs. Sets q's place of them.
 */
static struct hist_seen *put_history(struct again *a,
				     const struct plan_request *r,
				     struct memo_req *q)
{
	struct memo_gen *g = a->next;
	struct hist_seen *x;
	size_t i;

	if (2 * (a->nseen + 1) > a->seen_cap) {
		struct hist_seen *old = a->seen;
		size_t cap = a->seen_cap;

		a->seen_cap = cap ? 2 * cap : 256;
		a->seen = xcalloc(a->seen_cap, sizeof(*a->seen));
		for (size_t k = 0; k < cap; k++)
			if (old[k].v)
				a->seen[seen_slot(a, old[k].v, old[k].n)] = old[k];
		free(old);
	}
	i = seen_slot(a, r->history, r->nhistory);
	x = &a->seen[i];
	if (!x->v) {
		a->nseen++;
		x->v = r->history;
		x->n = r->nhistory;
		x->off = g->nbytes;
		for (size_t k = 0; k < r->nhistory; k++) {
			put_num(g, (int64_t)r->history[k].host);
			put_num(g, r->history[k].duration);
			put_num(g, r->history[k].last_run);
			put_num(g, r->history[k].last_failed);
		}
		x->len = g->nbytes - x->off;
	}
	q->hist = x->off;
	q->nhist = x->len;
	return x;
}

/* Whether old's history (in prev) is the history x of this plan. */
static int same_history(const struct memo_gen *prev, const struct memo_req *old,
			const struct memo_gen *next, struct hist_seen *x)
{
	if (old->nhist != x->len)
		return 0;
	if (!x->compared || x->old_off != old->hist) {
		x->compared = 1;
		x->old_off = old->hist;
		x->equal = !memcmp(prev->bytes + old->hist, next->bytes + x->off,
				   x->len);
	}
	return x->equal;
}

/* Everything of request ri that its result depends on, but the hosts
 * and its history. */
static void put_request(struct memo_gen *b, const struct plan_input *in,
			size_t ri)
{
	const struct plan_request *r = &in->reqs[ri];
	size_t n = r->nhosts > 0 ? (size_t)r->nhosts : 1;
	/* the numbers in one piece: most of a request, in one copy */
	const int64_t num[] = { r->kind, r->priority, r->queued_at,
				r->is_build, r->flight, r->nhosts, !!r->pinned,
				r->duration, r->not_before, (int64_t)r->ndeps,
				r->deps_end, r->deps_pending, r->never_starve };

	put_bytes(b, num, sizeof(num));
	put_text(b, r->arch);
	put_list(b, r->flags);
	for (size_t k = 0; r->pinned && k < n; k++)
		put_text(b, r->pinned[k]);
	for (size_t k = 0; k < r->ndeps; k++) {
		size_t d = r->deps[k];

		put_num(b, d >= in->nreqs ? -1 : d == ri ? -2 : 0);
		if (d < in->nreqs && d != ri)
			put_text(b, in->reqs[d].what);
	}
	put_text(b, r->deps_what);
}

static int same_config(const struct plan_config *a,
		       const struct plan_config *b)
{
	return a->prevfail_bonus == b->prevfail_bonus &&
	       a->variation_max == b->variation_max &&
	       a->starvation == b->starvation &&
	       a->starve_wait == b->starve_wait &&
	       a->starve_estimates == b->starve_estimates &&
	       a->pinned_wait == b->pinned_wait &&
	       a->exhaustive == b->exhaustive;
}

/* Starts next over for in: its hosts, their busy time, its requests. */
static void gen_start(struct memo_gen *g, const struct plan_input *in)
{
	size_t nb = 0;

	g->valid = 0;
	g->now = in->now;
	g->cfg = in->cfg;
	g->nbytes = 0;
	g->hosts = g->nbytes;
	put_hosts(g, in);
	g->nhosts_bytes = g->nbytes - g->hosts;
	g->nhosts = in->nhosts;
	XGROW(g->busy_first, g->first_alloc, in->nhosts + 2);
	memset(g->busy_first, 0, (in->nhosts + 2) * sizeof(size_t));
	for (size_t i = 0; i < in->nbusy; i++)
		if (in->busy[i].host < in->nhosts) {
			g->busy_first[in->busy[i].host + 2]++;
			nb++;
		}
	for (size_t h = 0; h < in->nhosts; h++)
		g->busy_first[h + 2] += g->busy_first[h + 1];
	XGROW(g->busy, g->busy_alloc, 3 * nb + 1);
	for (size_t i = 0; i < in->nbusy; i++) {
		const struct plan_busy *b = &in->busy[i];
		plan_time *v;

		if (b->host >= in->nhosts)
			continue;
		v = &g->busy[3 * g->busy_first[b->host + 1]++];
		v[0] = b->slot;
		v[1] = b->start;
		v[2] = b->end;
	}
	g->nreqs = in->nreqs;
	/* each request's record is written whole at its turn */
	XGROW(g->reqs, g->reqs_alloc, in->nreqs + 1);
	g->indexed = 0;
	g->nbooks = 0;
}

static const char *gen_text(const struct memo_gen *g, size_t off)
{
	return g->bytes + off;
}

/* Indexes g's requests by the hash of their what, once. */
static void gen_index(struct memo_gen *g)
{
	if (g->indexed)
		return;
	g->cap = 16;
	while (g->cap < 2 * g->nreqs + 2)
		g->cap *= 2;
	free(g->table);
	g->table = xcalloc(g->cap, sizeof(size_t));
	for (size_t j = 0; j < g->nreqs; j++) {
		size_t i;

		g->reqs[j].hash = hash_text(gen_text(g, g->reqs[j].what));
		for (i = g->reqs[j].hash & (g->cap - 1); g->table[i];
		     i = (i + 1) & (g->cap - 1))
			;
		g->table[i] = j + 1;
	}
	g->indexed = 1;
}

/* The index of the request named what in g (indexed), or -1. */
static long gen_find(const struct memo_gen *g, uint64_t hash,
		     const char *what)
{
	for (size_t i = hash & (g->cap - 1); g->table[i];
	     i = (i + 1) & (g->cap - 1)) {
		const struct memo_req *q = &g->reqs[g->table[i] - 1];

		if (q->hash == hash &&
		    !strcmp(gen_text(g, q->what), what))
			return (long)(g->table[i] - 1);
	}
	return -1;
}

static void mark_dirty(struct again *a, size_t host)
{
	if (a->dirty[host])
		return;
	a->dirty[host] = 1;
	a->dirty_list[a->ndirty++] = host;
	if (a->p) {
		const struct hstate *h = &a->p->hs[host];

		for (size_t m = 0; m < h->nmem; m++) {
			struct cands *c = &a->p->cands[h->mem[m].cls];

			c->dirty[c->ndirty++] = host;
		}
	}
}

/* A class made while planning again: its candidates that changed. */
static void again_class(struct planner *p, struct cands *c)
{
	const struct again *a = p->again;

	c->dirty = xcalloc(c->n + 1, sizeof(size_t));
	for (size_t k = 0; k < a->ndirty; k++)
		if (c->is[a->dirty_list[k]])
			c->dirty[c->ndirty++] = a->dirty_list[k];
}

static void mark_books_dirty(struct again *a, const struct memo_gen *g,
			     const struct memo_req *q)
{
	for (size_t k = 0; k < q->nbook; k++)
		if (g->books[q->book + k].host < g->nhosts)
			mark_dirty(a, g->books[q->book + k].host);
}

/*
 * Names the requests in next, finds each in the last plan, and marks
 * dirty from the start the hosts the last plan booked for requests
 * gone since and the hosts whose busy time changed.
 */
static void again_match(struct again *a, const struct plan_input *in,
			struct memo_gen *prev_gen)
{
	struct memo_gen *next = a->next;
	const struct memo_gen *prev = a->prev;
	unsigned char *hit;
	long shift = 0;

	for (size_t ri = 0; ri < in->nreqs; ri++) {
		const char *what = in->reqs[ri].what ? in->reqs[ri].what : "";

		next->reqs[ri].what = next->nbytes;
		put_bytes(next, what, strlen(what) + 1);
	}
	if (!prev)
		return;
	hit = xcalloc(prev->nreqs + 1, 1);
	for (size_t ri = 0; ri < in->nreqs; ri++) {
		const char *what = gen_text(next, next->reqs[ri].what);
		long j = -1;

		/* where the last plan had it, give or take the few that
		 * started since; else by its name */
		for (long k = 0; k < 4 && j < 0; k++) {
			long c = (long)ri + shift + k;

			if (c >= 0 && (size_t)c < prev->nreqs && !hit[c] &&
			    !strcmp(gen_text(prev, prev->reqs[c].what), what))
				j = c;
		}
		if (j < 0) {
			gen_index(prev_gen);
			j = gen_find(prev, hash_text(what), what);
			if (j >= 0 && hit[j])
				j = -1;   /* named twice: the first has it */
		}
		if (j >= 0) {
			a->match[ri] = (size_t)j + 1;
			hit[j] = 1;
			shift = j - (long)ri;
		}
	}
	for (size_t j = 0; j < prev->nreqs; j++)
		if (!hit[j])
			mark_books_dirty(a, prev, &prev->reqs[j]);
	free(hit);
	for (size_t h = 0; h < in->nhosts; h++) {
		size_t n = next->busy_first[h + 1] - next->busy_first[h];

		if (n != prev->busy_first[h + 1] - prev->busy_first[h] ||
		    memcmp(&next->busy[3 * next->busy_first[h]],
			   &prev->busy[3 * prev->busy_first[h]],
			   3 * n * sizeof(plan_time)))
			mark_dirty(a, h);
	}
}

/*
 * The queue order, from the last plan's: its requests still here keep
 * their order if the queue's comparison agrees (checked, pair by pair),
 * and the new ones are sorted and merged in. Else sorted afresh.
 */
static void again_order(const struct again *a, const struct plan_input *in,
			size_t *order)
{
	const struct memo_gen *prev = a->prev;
	size_t *was, *kept, *fresh, nkept = 0, nfresh = 0, k = 0, i = 0, j = 0;
	int sorted = 1;

	if (!prev) {
		queue_sort(in, order);
		return;
	}
	was = xcalloc(prev->nreqs + 1, sizeof(size_t));
	kept = xcalloc(in->nreqs + 1, sizeof(size_t));
	fresh = xcalloc(in->nreqs + 1, sizeof(size_t));
	for (size_t ri = 0; ri < in->nreqs; ri++)
		if (a->match[ri])
			was[a->match[ri] - 1] = ri + 1;
		else
			fresh[nfresh++] = ri;
	sort_reqs = in->reqs;
	for (size_t o = 0; o < prev->nreqs; o++) {
		size_t ri = was[prev->order[o]];

		if (!ri)
			continue;
		kept[nkept] = ri - 1;
		if (nkept && cmp_queue(&kept[nkept - 1], &kept[nkept]) >= 0)
			sorted = 0;
		nkept++;
	}
	if (sorted) {
		qsort(fresh, nfresh, sizeof(size_t), cmp_queue);
		while (i < nkept || j < nfresh)
			order[k++] = j == nfresh ||
				     (i < nkept && cmp_queue(&kept[i], &fresh[j]) < 0)
				? kept[i++] : fresh[j++];
	}
	sort_reqs = NULL;
	free(was);
	free(kept);
	free(fresh);
	if (!sorted)
		queue_sort(in, order);
}

static void again_booked(struct planner *p, size_t host, int slot,
			 plan_time end)
{
	struct memo_gen *g = p->again->next;

	XGROW(g->books, g->books_alloc, g->nbooks + 1);
	g->books[g->nbooks].host = host;
	g->books[g->nbooks].slot = slot;
	g->books[g->nbooks++].end = end;
}

/* Whether a host r could take changed since the last plan. */
static int touches_dirty(struct planner *p, const struct plan_request *r)
{
	int equiv, share;
	size_t cls;

	if (!p->again->ndirty)
		return 0;
	cls = req_class(p, r, &equiv, &share);   /* may grow p->cands */
	return p->cands[cls].ndirty > 0;
}

/* Gives request ri the result old had, booking what it booked. */
static void keep_result(struct planner *p, size_t ri,
			const struct memo_req *old)
{
	const struct memo_gen *prev = p->again->prev;
	const struct plan_request *r = &p->in->reqs[ri];
	struct plan_result *res = &p->out->results[ri];
	size_t n = r->nhosts > 0 ? (size_t)r->nhosts : 1;

	res->outcome = old->outcome;
	res->start = old->start;
	res->end = old->end;
	res->nbooked = old->nbook;
	memcpy(res->reason, gen_text(prev, old->reason), old->nreason);
	p->best_cost = old->cost;
	for (size_t k = 0; k < old->nbook && k < n; k++) {
		const struct memo_book *b = &prev->books[old->book + k];

		res->hosts[k].host = b->host;
		res->hosts[k].slot = b->slot;
		host_book_kept(p, b->host, b->slot, old->start, b->end,
			       (long)ri);
	}
}

/*
 * A single-host request whose host did not change, some of whose other
 * candidates did: those alone can beat it now. Returns 1 with the
 * request planned, or 0 if its old result stands.
 */
static int compare_changed(struct planner *p, size_t ri,
			   const struct memo_req *old)
{
	struct again *a = p->again;
	const struct plan_request *r = &p->in->reqs[ri];
	const struct memo_book *ob = &a->prev->books[old->book];
	struct choice best = { .host = ob->host, .cost = old->cost }, ch;
	plan_time d = r->duration > 0 ? r->duration : 1;
	const struct cands *c;
	const char *wait;
	int equiv, share, impossible, better = 0;
	size_t cls = req_class(p, r, &equiv, &share);
	plan_time t0 = deps_start(p, ri, &wait, &impossible);

	c = &p->cands[cls];
	hist_enter(p, r);
	for (size_t k = 0; k < c->ndirty; k++) {
		size_t h = c->dirty[k];
		const struct plan_history *hh = p->hist[h];
		plan_time dh = hh && hh->duration > 0 ? hh->duration : d;
		plan_time lb = choice_cost(p, r, hh,
					   host_lb(host_sum(p, h), t0, dh), dh);

		/* as choose_one prunes: it cannot beat the best */
		if (lb > best.cost || (lb == best.cost && h > best.host))
			continue;
		evaluate(p, r, share, h, t0, &ch);
		if (choice_better(&ch, &best)) {
			best = ch;
			better = 1;
		}
	}
	if (better)
		book_found(p, ri, &best, 1, wait, c->n);
	hist_leave(p, r);
	return better;
}

static int same_books(const struct memo_gen *a, const struct memo_req *x,
		      const struct memo_gen *b, const struct memo_req *y)
{
	if (x->nbook != y->nbook)
		return 0;
	for (size_t k = 0; k < x->nbook; k++) {
		const struct memo_book *u = &a->books[x->book + k];
		const struct memo_book *v = &b->books[y->book + k];

		if (u->host != v->host || u->slot != v->slot || u->end != v->end)
			return 0;
	}
	return 1;
}

static void plan_one(struct planner *p, size_t ri);

/* Plans request ri again: keeps, compares or searches (plan.h). */
static void plan_request_again(struct planner *p, size_t ri)
{
	struct again *a = p->again;
	const struct plan_input *in = p->in;
	const struct plan_request *r = &in->reqs[ri];
	const struct memo_gen *prev = a->prev;
	const struct memo_req *old = prev && a->match[ri]
		? &prev->reqs[a->match[ri] - 1] : NULL;
	struct memo_gen *next = a->next;
	struct memo_req *q = &next->reqs[ri];
	const struct plan_result *res = &p->out->results[ri];
	struct hist_seen *seen;
	struct plan_flight *f;
	plan_time need;
	int same, kept = 0;

	p->state[ri] = 1;
	for (size_t k = 0; k < r->ndeps; k++) {
		size_t d = r->deps[k];

		if (d < in->nreqs && d != ri && p->state[d] == 0)
			plan_one(p, d);
	}
	seen = r->nhistory ? put_history(a, r, q) : NULL;
	if (!seen)
		q->hist = q->nhist = 0;
	q->in = next->nbytes;
	put_request(next, in, ri);
	q->nin = next->nbytes - q->in;
	q->book = next->nbooks;
	p->best_cost = 0;
	if (old && old->seq < a->prev_seq)
		a->out_of_order = 1;
	else if (old)
		a->prev_seq = old->seq + 1;
	same = old && !a->out_of_order && r->kind != PLAN_BLOCKAGE &&
	       (old->outcome == PLAN_START || old->outcome == PLAN_WAIT ||
		(old->outcome == PLAN_NO_HOST && !r->pinned &&
		 !starve_due(p, r, &f, &need))) &&
	       old->nin == q->nin &&
	       !memcmp(gen_text(prev, old->in), gen_text(next, q->in), q->nin) &&
	       (seen ? same_history(prev, old, next, seen) : !old->nhist);
	for (size_t k = 0; same && k < r->ndeps; k++) {
		size_t d = r->deps[k];

		same = d >= in->nreqs || d == ri || !a->changed[d];
	}
	if (same && !touches_dirty(p, r)) {
		keep_result(p, ri, old);
		kept = 1;
		a->st->kept++;
	} else if (same && r->nhosts <= 1 && !r->pinned && old->nbook == 1 &&
		   !a->dirty[prev->books[old->book].host]) {
		if (!compare_changed(p, ri, old)) {
			keep_result(p, ri, old);
			kept = 1;
		}
		a->st->compared++;
	} else {
		plan_request(p, ri);
		a->st->searched++;
	}
	q->seq = a->seq++;
	q->outcome = res->outcome;
	q->start = res->start;
	q->end = res->end;
	q->cost = p->best_cost;
	q->nbook = next->nbooks - q->book;
	q->reason = next->nbytes;
	if (kept) {   /* old's result, to the byte: nothing to compare */
		q->nreason = old->nreason;
		put_bytes(next, gen_text(prev, old->reason), old->nreason);
		p->out->same_result[ri] = 1;
		p->state[ri] = 2;
		return;
	}
	q->nreason = strnlen(res->reason, sizeof(res->reason) - 1) + 1;
	put_bytes(next, res->reason, q->nreason - 1);
	put_bytes(next, "", 1);
	if (!old || old->outcome != q->outcome || old->start != q->start ||
	    old->end != q->end || !same_books(prev, old, next, q)) {
		a->changed[ri] = 1;
		if (old)
			mark_books_dirty(a, prev, old);
		mark_books_dirty(a, next, q);
	} else if (old->nreason == q->nreason &&
		   !memcmp(gen_text(prev, old->reason),
			   gen_text(next, q->reason), q->nreason)) {
		p->out->same_result[ri] = 1;
	}
	p->state[ri] = 2;
}

/* Plans ri and what it waits for, again if there is a memo. */
static void plan_one(struct planner *p, size_t ri)
{
	if (p->again)
		plan_request_again(p, ri);
	else
		plan_request(p, ri);
}

int plan_compute_again(const struct plan_input *in, struct plan_output *out,
		       struct plan_memo *m, struct plan_again_stats *st)
{
	struct memo_gen *prev = &m->gen[m->last], *next = &m->gen[!m->last];
	int same_hosts, use_prev, rc = 0;

	memset(st, 0, sizeof(*st));
	gen_start(next, in);
	same_hosts = prev->valid && prev->nhosts_bytes == next->nhosts_bytes &&
		     !memcmp(gen_text(prev, prev->hosts),
			     gen_text(next, next->hosts), next->nhosts_bytes);
	use_prev = same_hosts && prev->now == in->now &&
		   same_config(&prev->cfg, &in->cfg);
	for (int attempt = 0; attempt < 2; attempt++) {
		struct planner p;
		struct again a;

		memset(&a, 0, sizeof(a));
		a.prev = use_prev ? prev : NULL;
		a.next = next;
		a.st = st;
		a.match = xcalloc(in->nreqs + 1, sizeof(size_t));
		a.dirty = xcalloc(in->nhosts + 1, 1);
		a.dirty_list = xcalloc(in->nhosts + 1, sizeof(size_t));
		a.changed = xcalloc(in->nreqs + 1, 1);
		if (attempt)
			gen_start(next, in);
		again_match(&a, in, prev);
		rc = planner_start(&p, in, out, &m->setup, same_hosts);
		out->same_result = xcalloc(in->nreqs + 1, 1);
		again_order(&a, in, out->order);
		p.again = &a;
		a.p = &p;
		for (size_t k = 0; k < in->nreqs && !a.out_of_order; k++)
			if (p.state[out->order[k]] == 0)
				plan_one(&p, out->order[k]);
		p.again = NULL;
		planner_finish(&p);
		st->changed_hosts = a.ndirty;
		free(a.match);
		free(a.dirty);
		free(a.dirty_list);
		free(a.changed);
		free(a.seen);
		if (!a.out_of_order)
			break;
		/* a request's turn moved: its neighbours' may have too */
		plan_output_release(in, out);
		memset(st, 0, sizeof(*st));
		use_prev = 0;
	}
	st->whole = !use_prev;
	XGROW(next->order, next->order_alloc, in->nreqs + 1);
	memcpy(next->order, out->order, in->nreqs * sizeof(size_t));
	next->valid = 1;
	m->last = !m->last;
	return rc;
}
