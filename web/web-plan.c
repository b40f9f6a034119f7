/*
 * web-plan.c: the scheduler's plan: GET /api/v1/plan (the JSON of `hangar
 * plan --json`) and GET /plan, a timeline drawn as inline SVG (no
 * JavaScript): a row per host, grouped by arch, with a bar for what holds
 * it now and for each booking ahead, then the table of what waits and why.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db-sched-view.h"
#include "labconf.h"
#include "web-internal.h"
#include "xalloc.h"
#include "banned.h"

enum MHD_Result web_plan_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct sched_view v;
	json_t *j;

	if (db_sched_view(r->db, &v, &err) < 0)
		return web_db_error(r, &err);
	j = db_sched_view_json(&v);
	db_sched_view_release(&v);
	return web_json(r, MHD_HTTP_OK, j);
}

/* ---- the timeline ---- */

#define PLAN_SPAN_MIN 3600            /* the axis shows at least an hour */
#define PLAN_SPAN_MAX (7 * 86400)     /* and at most a week */
#define PLAN_LANES_MAX 8              /* overlapping bars in one host row */

/* The SVG's geometry, in its own pixels. */
#define SVG_W 1000
#define SVG_X0 180                    /* where the time axis starts */
#define SVG_X1 (SVG_W - 20)
#define SVG_TOP 56                    /* below the legend and the axis */
#define SVG_LANE 18
#define SVG_GAP 4                     /* above and below each host's lanes */
#define SVG_ARCH 22                   /* an arch's heading row */

/* Colours by kind: the flight's intent for jobs. */
static const struct plan_kind {
	const char *name, *fill, *label;
} plan_kinds[] = {
	{ "gate", "#3b73b9", "gate job" },
	{ "adhoc", "#2e9a6e", "ad-hoc job" },
	{ "bisect", "#c97a1c", "bisect job" },
	{ "retest", "#8457b0", "retest job" },
	{ "reservation", "#8a7300", "reservation" },
	{ "blockage", "#b03a36", "blockage" },
	{ "job", "#607080", "job" },    /* an intent this page does not know */
};

static const struct plan_kind *plan_kind(const char *name)
{
	size_t n = sizeof(plan_kinds) / sizeof(plan_kinds[0]);

	for (size_t i = 0; name && i < n; i++)
		if (!strcmp(plan_kinds[i].name, name))
			return &plan_kinds[i];
	return &plan_kinds[n - 1];
}

struct plan_bar {
	size_t host;
	int64_t start, end;        /* end 0: unknown, to the axis' end */
	int now;                   /* holds the host now; else booked */
	const struct plan_kind *kind;
	long flight;               /* 0: not a job */
	char *what;                /* "F.JOB", "reservation R (OWNER)" */
	const char *status;        /* a holding job's, or NULL */
	int lane;
};

struct plan_host {
	const char *name, *arch, *state;
	int rank;                  /* of its arch, for the grouping */
	int lanes;
	int y;
};

struct plan {
	int64_t now, t0, t1;
	struct plan_host *hosts;
	size_t nhosts, hosts_alloc;
	struct plan_bar *bars;
	size_t nbars, bars_alloc;
	size_t beyond;             /* bookings after t1, not drawn */
};

static int arch_rank(const char *arch)
{
	int i;

	for (i = 0; labconf_archs[i]; i++)
		if (!strcmp(labconf_archs[i], arch))
			return i;
	return i;
}

static size_t plan_find_host(const struct plan *p, const char *name)
{
	for (size_t i = 0; i < p->nhosts; i++)
		if (!strcmp(p->hosts[i].name, name))
			return i;
	return (size_t)-1;
}

static struct plan_bar *plan_add_bar(struct plan *p, size_t host)
{
	struct plan_bar *b;

	XGROW(p->bars, p->bars_alloc, p->nbars + 1);
	b = &p->bars[p->nbars++];
	memset(b, 0, sizeof(*b));
	b->host = host;
	return b;
}

/* Whether host h is held now by reservation id (an active blockage is
 * both a holder and a booking: draw it once). */
static int held_by(const struct sched_view *v, const char *host, int64_t id)
{
	for (size_t r = 0; r < v->nhosts; r++)
		if (!strcmp(v->hosts[r].name, host) &&
		    v->hosts[r].reservation == id)
			return 1;
	return 0;
}

static int cmp_host(const void *a, const void *b)
{
	const struct plan_host *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank - y->rank;
	if (strcmp(x->arch, y->arch))
		return strcmp(x->arch, y->arch);   /* archs we do not know */
	return strcmp(x->name, y->name);
}

/* The hosts, grouped by arch; then what holds each, and the bookings. */
static void plan_collect(struct plan *p, const struct sched_view *v)
{
	for (size_t r = 0; r < v->nhosts; r++) {
		const struct sched_hold_row *h = &v->hosts[r];

		if (r && !strcmp(h->name, v->hosts[r - 1].name))
			continue;
		XGROW(p->hosts, p->hosts_alloc, p->nhosts + 1);
		p->hosts[p->nhosts++] = (struct plan_host){
			.name = h->name,
			.arch = h->arch,
			.state = h->state,
			.rank = arch_rank(h->arch),
		};
	}
	if (p->nhosts)
		qsort(p->hosts, p->nhosts, sizeof(*p->hosts), cmp_host);
	for (size_t r = 0; r < v->nhosts; r++) {
		const struct sched_hold_row *h = &v->hosts[r];
		struct plan_bar *b;

		if (!h->flight && !h->reservation)
			continue;
		b = plan_add_bar(p, plan_find_host(p, h->name));
		b->now = 1;
		b->start = h->since;
		b->end = h->until;
		b->flight = (long)h->flight;
		b->kind = plan_kind(b->flight ? h->intent : h->kind);
		b->what = b->flight ? xasprintf("%ld.%s", b->flight, h->job)
				    : db_sched_view_holder_what(h);
		b->status = h->job_status;
	}
	for (size_t k = 0; k < v->nwaiting; k++) {
		const struct sched_wait_row *w = &v->waiting[k];
		int job = !strcmp(w->kind, "job");
		struct vec hosts = VEC_INIT;

		if (!w->start || !w->hosts)
			continue;
		vec_split(&hosts, w->hosts);
		for (size_t i = 0; i < hosts.n; i++) {
			size_t hi = plan_find_host(p, hosts.v[i]);
			struct plan_bar *b;

			if (hi == (size_t)-1 ||
			    (!job && held_by(v, hosts.v[i], w->reservation)))
				continue;
			b = plan_add_bar(p, hi);
			b->start = w->start;
			b->end = w->end;
			b->flight = job ? (long)w->flight : 0;
			b->kind = plan_kind(job ? w->intent : w->kind);
			b->what = db_sched_view_waiting_what(w);
		}
		vec_clear(&hosts);
	}
}

/* The axis: from now to the end of the last booking, within bounds (a
 * window booked for next month does not squash the next hours). */
static void plan_axis(struct plan *p)
{
	int64_t end = p->now + PLAN_SPAN_MIN;

	for (size_t i = 0; i < p->nbars; i++) {
		const struct plan_bar *b = &p->bars[i];
		int64_t e = b->end > b->start ? b->end : b->start;

		if (e > end && b->start < p->now + PLAN_SPAN_MAX)
			end = e;
	}
	if (end > p->now + PLAN_SPAN_MAX)
		end = p->now + PLAN_SPAN_MAX;
	p->t0 = p->now;
	p->t1 = end;
	for (size_t i = 0; i < p->nbars; i++)
		p->beyond += !p->bars[i].now && p->bars[i].start >= p->t1;
}

static int cmp_bar(const void *a, const void *b)
{
	const struct plan_bar *x = a, *y = b;

	if (x->host != y->host)
		return x->host < y->host ? -1 : 1;
	if (x->now != y->now)
		return y->now - x->now;
	return (x->start > y->start) - (x->start < y->start);
}

/* Bars by host and start, each in the first lane of its host where it
 * overlaps nothing; then the rows' places. */
static void plan_layout(struct plan *p)
{
	int64_t lane_end[PLAN_LANES_MAX];
	int y = SVG_TOP;

	if (p->nbars)   /* qsort wants an array, even of nothing */
		qsort(p->bars, p->nbars, sizeof(*p->bars), cmp_bar);
	for (size_t i = 0; i < p->nbars; i++) {
		struct plan_bar *b = &p->bars[i];
		struct plan_host *h = &p->hosts[b->host];
		int64_t s = b->start < p->t0 ? p->t0 : b->start;
		int64_t e = b->end > s ? b->end : p->t1;
		int l;

		if (!i || b->host != p->bars[i - 1].host)
			h->lanes = 0;
		for (l = 0; l < h->lanes && lane_end[l] > s; l++)
			;
		if (l == PLAN_LANES_MAX)
			l = PLAN_LANES_MAX - 1;     /* overlap in the last */
		if (l == h->lanes)
			h->lanes++;
		lane_end[l] = e;
		b->lane = l;
	}
	for (size_t i = 0; i < p->nhosts; i++) {
		if (!i || strcmp(p->hosts[i].arch, p->hosts[i - 1].arch))
			y += SVG_ARCH;
		p->hosts[i].y = y;
		y += (p->hosts[i].lanes ? p->hosts[i].lanes : 1) * SVG_LANE +
		     2 * SVG_GAP;
	}
}

static void plan_release(struct plan *p)
{
	for (size_t i = 0; i < p->nbars; i++)
		free(p->bars[i].what);
	free(p->bars);
	free(p->hosts);
}

static double plan_x(const struct plan *p, int64_t t)
{
	if (t < p->t0)
		t = p->t0;
	if (t > p->t1)
		t = p->t1;
	return SVG_X0 + (double)(t - p->t0) * (SVG_X1 - SVG_X0) /
				(double)(p->t1 - p->t0);
}

enum utc_fmt { UTC_HM, UTC_DAY, UTC_FULL };

static void fmt_utc(char *buf, size_t len, int64_t t, enum utc_fmt f)
{
	time_t tt = (time_t)t;
	struct tm tm;
	size_t n = 0;

	if (gmtime_r(&tt, &tm)) {
		if (f == UTC_HM)
			n = strftime(buf, len, "%H:%M", &tm);
		else if (f == UTC_DAY)
			n = strftime(buf, len, "%a %d %b", &tm);
		else
			n = strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
	}
	if (!n)
		buf[0] = '\0';
}

/* "in 1h05m", "3m ago" */
static void fmt_rel(char *buf, size_t len, int64_t t, int64_t now)
{
	int64_t d = t > now ? t - now : now - t;
	const char *pre = t > now ? "in " : "", *post = t > now ? "" : " ago";

	if (d < 60)
		snprintf(buf, len, "%s", t > now ? "in <1m" : "now");
	else if (d < 3600)
		snprintf(buf, len, "%s%lldm%s", pre, (long long)(d / 60), post);
	else if (d < 86400)
		snprintf(buf, len, "%s%lldh%02lldm%s", pre, (long long)(d / 3600),
			 (long long)(d % 3600 / 60), post);
	else
		snprintf(buf, len, "%s%lldd%02lldh%s", pre, (long long)(d / 86400),
			 (long long)(d % 86400 / 3600), post);
}

/* Ticks: the smallest step that gives at most a dozen of them. */
static int64_t plan_tick_step(const struct plan *p)
{
	static const int64_t steps[] = { 300, 600, 900, 1800, 3600, 7200,
					 10800, 21600, 43200, 86400 };
	size_t n = sizeof(steps) / sizeof(steps[0]);

	for (size_t i = 0; i < n; i++)
		if ((p->t1 - p->t0) / steps[i] <= 12)
			return steps[i];
	return steps[n - 1];
}

static void svg_axis(struct buf *b, const struct plan *p, int bottom)
{
	int64_t step = plan_tick_step(p), day = -1;
	int days = p->t1 - p->t0 > 86400;
	char hm[16], md[16];

	buf_addf(b, "<g font-size=\"11\" fill=\"#444\">"
		    "<text x=\"%d\" y=\"%d\" text-anchor=\"start\">now</text>\n",
		 SVG_X0 + 2, SVG_TOP - 4);
	for (int64_t t = (p->t0 / step + 1) * step; t <= p->t1; t += step) {
		double x = plan_x(p, t);

		fmt_utc(hm, sizeof(hm), t, UTC_HM);
		buf_addf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			    "stroke=\"#ddd\"/>", x, SVG_TOP - 2, x, bottom);
		if (x - SVG_X0 >= 30)   /* clear of "now" */
			buf_addf(b, "<text x=\"%.1f\" y=\"%d\" "
				    "text-anchor=\"middle\">%s</text>",
				 x, SVG_TOP - 4, hm);
		buf_addch(b, '\n');
		if (days && t / 86400 != day) {
			fmt_utc(md, sizeof(md), t, UTC_DAY);
			buf_addf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" "
				    "font-weight=\"bold\">%s</text>\n",
				 x < SVG_W - 36 ? x : SVG_W - 36, SVG_TOP - 17, md);
			day = t / 86400;
		}
	}
	buf_addf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">UTC</text>"
		    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
		    "stroke=\"#c00\" stroke-width=\"1.5\"/></g>\n",
		 SVG_X0 - 6, SVG_TOP - 4, SVG_X0, SVG_TOP - 2, SVG_X0, bottom);
}

static void svg_legend(struct buf *b)
{
	int x = 0;

	buf_addstr(b, "<g font-size=\"11\" fill=\"#222\">");
	for (size_t i = 0; i + 1 < sizeof(plan_kinds) / sizeof(plan_kinds[0]);
	     i++) {
		buf_addf(b, "<rect x=\"%d\" y=\"4\" width=\"12\" height=\"12\" "
			    "fill=\"%s\"/><text x=\"%d\" y=\"14\">%s</text>",
			 x, plan_kinds[i].fill, x + 16, plan_kinds[i].label);
		x += 30 + 7 * (int)strlen(plan_kinds[i].label);
	}
	buf_addf(b, "<rect x=\"%d\" y=\"4\" width=\"12\" height=\"12\" "
		    "fill=\"#607080\" fill-opacity=\"0.45\" stroke=\"#607080\" "
		    "stroke-dasharray=\"3 2\"/><text x=\"%d\" y=\"14\">booked "
		    "(lighter: not started)</text></g>\n",
		 x, x + 16);
}

static void svg_host(struct buf *b, const struct plan *p, size_t i)
{
	const struct plan_host *h = &p->hosts[i];
	int height = (h->lanes ? h->lanes : 1) * SVG_LANE + 2 * SVG_GAP;
	const char *bg = !strcmp(h->state, "free") ? (i % 2 ? "#f7f7f7" : "#fff")
			 : !strcmp(h->state, "broken") ? "#fbe3e3" : "#fdf6d8";

	if (!i || strcmp(h->arch, p->hosts[i - 1].arch)) {
		buf_addf(b, "<text x=\"4\" y=\"%d\" font-size=\"13\" "
			    "font-weight=\"bold\" class=\"plan-arch\">",
			 h->y - 6);
		html_escape(b, h->arch);
		buf_addstr(b, "</text>\n");
	}
	buf_addf(b, "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\" "
		    "fill=\"%s\"/>\n<a href=\"/hosts/",
		 h->y, SVG_W, height, bg);
	html_escape(b, h->name);
	buf_addf(b, "\" class=\"plan-host\"><text x=\"14\" y=\"%d\" "
		    "font-size=\"12\" fill=\"#124\">",
		 h->y + SVG_GAP + 13);
	html_escape(b, h->name);
	if (strcmp(h->state, "free")) {
		buf_addstr(b, "<tspan fill=\"#666\" font-size=\"10\"> (");
		html_escape(b, h->state);
		buf_addstr(b, ")</tspan>");
	}
	buf_addstr(b, "</text></a>\n");
}

static void svg_bar(struct buf *b, const struct plan *p,
		    const struct plan_bar *bar)
{
	const struct plan_host *h = &p->hosts[bar->host];
	int64_t s = bar->start < p->t0 ? p->t0 : bar->start;
	double x = plan_x(p, s);
	double w = plan_x(p, bar->end > s ? bar->end : p->t1) - x;
	int y = h->y + SVG_GAP + bar->lane * SVG_LANE + 1;
	char t1[40], t2[40];

	if (!bar->now && bar->start >= p->t1)
		return;                        /* beyond the axis */
	if (w < 3)
		w = 3;                         /* overdue or momentary: visible */
	if (bar->flight)
		buf_addf(b, "<a href=\"/flights/%ld\" class=\"plan-bar plan-%s\">",
			 bar->flight, bar->kind->name);
	else
		buf_addf(b, "<g class=\"plan-bar plan-%s\">", bar->kind->name);
	/* the tooltip: what, kind, start, end */
	buf_addstr(b, "<title>");
	html_escape(b, bar->what);
	if (bar->flight) {     /* a reservation's what says what it is */
		buf_addstr(b, " (");
		html_escape(b, bar->kind->label);
		if (bar->status) {
			buf_addstr(b, ", ");
			html_escape(b, bar->status);
		}
		buf_addch(b, ')');
	}
	fmt_utc(t1, sizeof(t1), bar->start, UTC_FULL);
	fmt_utc(t2, sizeof(t2), bar->end, UTC_FULL);
	buf_addf(b, "\n%s %s\nend %s</title>", bar->now ? "since" : "start",
		 t1, bar->end ? t2 : "unknown");
	buf_addf(b, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
		    "rx=\"2\" fill=\"%s\"",
		 x, y, w, SVG_LANE - 2, bar->kind->fill);
	if (!bar->now)   /* booked: lighter, with a dashed outline */
		buf_addf(b, " fill-opacity=\"0.45\" stroke=\"%s\" "
			    "stroke-dasharray=\"3 2\"", bar->kind->fill);
	buf_addstr(b, "/>");
	/* the label, clipped to the bar by its own viewport */
	if (w >= 24) {
		buf_addf(b, "<svg x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\">"
			    "<text x=\"3\" y=\"12\" font-size=\"11\" fill=\"%s\">",
			 x, y, w - 2, SVG_LANE - 2, bar->now ? "#fff" : "#111");
		html_escape(b, bar->what);
		buf_addstr(b, "</text></svg>");
	}
	buf_addstr(b, bar->flight ? "</a>\n" : "</g>\n");
}

static void plan_svg(struct buf *b, const struct plan *p)
{
	int bottom = p->nhosts ? p->hosts[p->nhosts - 1].y +
					 (p->hosts[p->nhosts - 1].lanes
						  ? p->hosts[p->nhosts - 1].lanes : 1) *
						 SVG_LANE + 2 * SVG_GAP
			       : SVG_TOP + SVG_ARCH;

	buf_addf(b, "<svg class=\"plan\" xmlns=\"http://www.w3.org/2000/svg\" "
		    "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		    "role=\"img\" "
		    "aria-labelledby=\"plan-title\" "
		    "font-family=\"system-ui,sans-serif\">\n"
		    "<title id=\"plan-title\">Hosts now and the bookings ahead</title>\n",
		 SVG_W, bottom + 4, SVG_W, bottom + 4);
	svg_legend(b);
	for (size_t i = 0; i < p->nhosts; i++)
		svg_host(b, p, i);
	svg_axis(b, p, bottom);
	for (size_t i = 0; i < p->nbars; i++)
		svg_bar(b, p, &p->bars[i]);
	buf_addstr(b, "</svg>\n");
}

/* ---- the page ---- */

static void plan_state_line(struct buf *b, const struct sched_view *v)
{
	const struct sched_plan_state *s = v->state;

	if (!s) {
		buf_addstr(b, "<p class=\"muted\">No plan yet: is <code>hangar "
			      "scheduler</code> running?</p>\n");
		return;
	}
	buf_addstr(b, "<p class=\"muted\">Computed at ");
	html_escape(b, s->computed_at);
	buf_addf(b, " (%lld s ago) by ", (long long)s->age);
	html_escape(b, s->scheduler);
	buf_addf(b, " in %.1f ms: %d waiting, %d hosts.</p>\n", s->pass_ms,
		 s->queued, s->hosts);
}

/* A planned time (0: none). */
static void td_time(struct buf *b, int64_t when, int64_t now, const char *none)
{
	char t[40], rel[40];

	buf_addstr(b, "<td>");
	if (!when) {
		buf_addf(b, "<span class=\"muted\">%s</span></td>", none);
		return;
	}
	fmt_utc(t, sizeof(t), when, UTC_FULL);
	fmt_rel(rel, sizeof(rel), when, now);
	buf_addf(b, "%s <span class=\"muted\">(%s)</span></td>", t, rel);
}

static void waiting_table(struct buf *b, const struct sched_view *v)
{
	buf_addstr(b, "<h2>Waiting</h2>\n");
	if (!v->nwaiting) {
		buf_addstr(b, "<p class=\"muted\">Nothing waits.</p>\n");
		return;
	}
	buf_addstr(b, "<table class=\"plan-waiting\"><tr><th>What</th><th>Kind</th>"
		      "<th>Estimated start</th><th>Estimated end</th>"
		      "<th>Hosts</th><th>Why it waits</th></tr>\n");
	for (size_t k = 0; k < v->nwaiting; k++) {
		const struct sched_wait_row *w = &v->waiting[k];
		int job = !strcmp(w->kind, "job");
		char *what = db_sched_view_waiting_what(w);

		buf_addstr(b, "<tr><td>");
		if (job)
			buf_addf(b, "<a href=\"/flights/%lld\">",
				 (long long)w->flight);
		html_escape(b, what);
		buf_addstr(b, job ? "</a></td><td>" : "</td><td>");
		html_escape(b, plan_kind(job ? w->intent : w->kind)->label);
		buf_addstr(b, "</td>");
		td_time(b, w->start, v->now, "not planned");
		td_time(b, w->end, v->now, "-");
		buf_addstr(b, "<td>");
		html_escape(b, w->hosts);
		buf_addstr(b, "</td><td>");
		if (w->reason)
			html_escape(b, w->reason);
		else
			buf_addstr(b, "<span class=\"muted\">not planned yet</span>");
		buf_addstr(b, "</td></tr>\n");
		free(what);
	}
	buf_addstr(b, "</table>\n");
}

enum MHD_Result web_plan_page(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	struct sched_view v;
	struct plan p;

	if (db_sched_view(r->db, &v, &err) < 0)
		return web_db_error(r, &err);
	memset(&p, 0, sizeof(p));
	p.now = v.now;
	plan_collect(&p, &v);
	plan_axis(&p);
	plan_layout(&p);
	html_page_begin_for(&b, "Plan", r->user);
	buf_addstr(&b, "<h1>Plan</h1>\n");
	plan_state_line(&b, &v);
	if (p.nhosts)
		plan_svg(&b, &p);
	else
		buf_addstr(&b, "<p class=\"muted\">No hosts.</p>\n");
	if (p.beyond)
		buf_addf(&b, "<p class=\"muted\">%zu booking%s more than a "
			     "week ahead, not drawn: see below.</p>\n",
			 p.beyond, p.beyond == 1 ? " starts" : "s start");
	waiting_table(&b, &v);
	html_page_end(&b);
	plan_release(&p);
	db_sched_view_release(&v);
	return web_html(r, MHD_HTTP_OK, &b);
}
