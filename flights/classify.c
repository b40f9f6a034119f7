/*
 * classify.c: OSSTest's sg-report-flight judgement (see classify.h and
 * ../shared/reference/osstest.md §4.2), without its 2015 bugs: only
 * allow-list matches are "allowable" (the 2015 code set the flag for
 * every justified failure).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "xalloc.h"
#include "banned.h"

const char *fail_class_name(enum fail_class c)
{
	static const char *const names[] = {
		[FC_REGRESSION] = "regression",
		[FC_LIKE] = "fail-like-baseline",
		[FC_NEVER_PASS] = "never-pass",
		[FC_UNTESTED] = "baseline-untested",
		[FC_HEISENBUG] = "heisenbug",
		[FC_ALLOWED] = "allowed",
		[FC_BROKEN] = "broken",
		[FC_BLOCKED] = "blocked",
		[FC_STARVED] = "starved",
	};
	return names[c];
}

/* ---- allow lists ---- */

void allow_init(struct allow_list *a)
{
	vec_init(&a->jobpat);
	vec_init(&a->steppat);
}

void allow_release(struct allow_list *a)
{
	vec_clear(&a->jobpat);
	vec_clear(&a->steppat);
}

int allow_add(struct allow_list *a, const char *line, struct err *err)
{
	struct vec w = VEC_INIT;
	char *hash, *copy = xstrdup(line);
	int undo = 0, rc = 0;

	if ((hash = strchr(copy, '#')))
		*hash = '\0';
	if (copy[strspn(copy, " \t")] == '!') {
		/* "!LINE" or "! LINE" */
		undo = 1;
		copy[strspn(copy, " \t")] = ' ';
	}
	vec_split(&w, copy);
	if (w.n > 2) {
		rc = err_set(err, ERR_USAGE,
			     "allow '%s': JOBPAT [STEPPAT], not %zu patterns",
			     line, w.n);
	} else if (w.n) {
		const char *step = w.n > 1 ? w.v[1] : "*";

		if (!undo) {
			vec_push(&a->jobpat, w.v[0]);
			vec_push(&a->steppat, step);
		}
		for (size_t i = a->jobpat.n; undo && i-- > 0;)
			if (!strcmp(a->jobpat.v[i], w.v[0]) &&
			    !strcmp(a->steppat.v[i], step)) {
				free(a->jobpat.v[i]);
				free(a->steppat.v[i]);
				/* with the NULL after the last */
				memmove(&a->jobpat.v[i], &a->jobpat.v[i + 1],
					(a->jobpat.n - i) * sizeof(char *));
				memmove(&a->steppat.v[i], &a->steppat.v[i + 1],
					(a->steppat.n - i) * sizeof(char *));
				a->jobpat.n--;
				a->steppat.n--;
				break;
			}
	}
	vec_clear(&w);
	free(copy);
	return rc;
}

/* '@' of OSSTest is the regex class [^ -/]: no character from ' ' to '/'. */
static int allow_at_class(char c)
{
	return c < ' ' || c > '/';
}

int allow_pattern_match(const char *pat, const char *s)
{
	if (!*pat)
		return !*s;
	if (*pat == '*' || (pat[0] == '@' && pat[1] == '@')) {
		const char *rest = pat + (*pat == '*' ? 1 : 2);

		for (;; s++) {
			if (allow_pattern_match(rest, s))
				return 1;
			if (!*s || *s == ' ')
				return 0;
		}
	}
	if (*pat == '@') {
		for (;; s++) {
			if (allow_pattern_match(pat + 1, s))
				return 1;
			if (!*s || !allow_at_class(*s))
				return 0;
		}
	}
	if (*pat == '?')
		return *s && allow_pattern_match(pat + 1, s + 1);
	return *pat == *s && allow_pattern_match(pat + 1, s + 1);
}

int allow_match(const struct allow_list *a, const char *job, const char *step)
{
	for (size_t i = 0; i < a->jobpat.n; i++)
		if (allow_pattern_match(a->jobpat.v[i], job) &&
		    allow_pattern_match(a->steppat.v[i], step))
			return 1;
	return 0;
}

/* ---- one failure ---- */

static void cl_set(struct cl_failure *f, enum fail_class cls,
		   const char *blocker, const char *text)
{
	f->cls = cls;
	f->blocker = blocker;
	snprintf(f->text, sizeof(f->text), "%s", text);
}

/*
 * The baseline search: each baseline flight's status of the step gives a
 * (priority, blocker, text); the highest priority wins, the earliest
 * (most preferred) flight among equals.
 */
static void cl_judge_baselines(struct cl_failure *f)
{
	int broken_now = !strcmp(f->status, "broken");
	const char *blocker = NULL;
	int best = 10;
	long vs = 0;
	char text[64] = "baseline untested";

	for (size_t i = 0; i < f->nobs; i++) {
		const struct cl_obs *o = &f->obs[i];
		const char *b = NULL;
		char t[64];
		int prio;

		if (!o->status) {
			prio = 50;
			snprintf(t, sizeof(t), "blocked in %ld", o->flight);
		} else if (!strcmp(o->status, f->status)) {
			prio = 190;
			snprintf(t, sizeof(t), "like %ld", o->flight);
		} else if (broken_now && !strcmp(o->status, "fail")) {
			prio = 180;
			snprintf(t, sizeof(t), "failed in %ld", o->flight);
		} else if (!strcmp(o->status, "pass")) {
			prio = f->build ? 600 : 100;
			b = broken_now ? "broken" : "regression";
			snprintf(t, sizeof(t), "REGR. vs. %ld", o->flight);
		} else {
			prio = 170;
			snprintf(t, sizeof(t), "%s in %ld", o->status, o->flight);
		}
		if (prio > best) {
			best = prio;
			blocker = b;
			vs = o->flight;
			memcpy(text, t, sizeof(text));
		}
	}
	f->priority = best;
	f->vs = vs;
	if (blocker)
		cl_set(f, broken_now ? FC_BROKEN : FC_REGRESSION, blocker, text);
	else if (broken_now)
		cl_set(f, FC_BROKEN, NULL, text);
	else
		cl_set(f, best > 50 ? FC_LIKE : FC_UNTESTED, NULL, text);
}

void classify_failure(struct cl_failure *f, const struct allow_list *allow)
{
	f->heisen = f->allowable = 0;
	f->priority = 0;
	f->vs = 0;
	if (!strcmp(f->status, "blocked")) {
		cl_set(f, FC_BLOCKED, NULL, "n/a");
		return;
	}
	if (!strcmp(f->status, "starved")) {
		/* lab trouble, not the code: blocking unless the branch
		 * lets flights with starved jobs push (OSSTest's n/a) */
		cl_set(f, FC_STARVED, f->starved_blocks ? "starved" : NULL,
		       f->reason && *f->reason ? f->reason : "n/a");
		return;
	}
	if (f->job_level && strcmp(f->status, "running") &&
	    strcmp(f->status, "preparing") && strcmp(f->status, "queued")) {
		cl_set(f, FC_BROKEN, "broken", "");
		return;
	}
	if (!strcmp(f->status, "running") || !strcmp(f->status, "preparing")) {
		cl_set(f, FC_BROKEN, "unfinished", "unfinished");
		return;
	}
	if (strcmp(f->status, "fail") && strcmp(f->status, "broken")) {
		char t[64];

		snprintf(t, sizeof(t), "[st=%s!]", f->status);
		cl_set(f, FC_BROKEN, "broken", t);
		return;
	}
	if (!f->ever_passed) {
		cl_set(f, FC_NEVER_PASS, NULL, "never pass");
		return;
	}
	if (f->have_baseline)
		cl_judge_baselines(f);
	else
		cl_set(f, !strcmp(f->status, "broken") ? FC_BROKEN : FC_UNTESTED,
		       NULL, "baseline untested");
	if (f->blocker && f->priority < 500 && f->pass_in) {
		char t[64];

		snprintf(t, sizeof(t), "pass in %ld", f->pass_in);
		cl_set(f, FC_HEISENBUG, NULL, t);
		f->heisen = 1;
		f->vs = f->pass_in;
	}
	if (f->blocker && allow && allow_match(allow, f->job, f->step)) {
		f->blocker = NULL;
		f->cls = FC_ALLOWED;
		f->allowable = 1;
	}
}

/* ---- the flight ---- */

enum verdict_kind classify_verdict(const struct cl_failure *f, size_t n)
{
	int blockers = 0;

	for (size_t i = 0; i < n; i++) {
		if (f[i].blocker && !strcmp(f[i].blocker, "regression"))
			return VK_REGRESSIONS;
		blockers += f[i].blocker != NULL;
	}
	if (blockers)
		return VK_PROBLEMS;
	return n ? VK_TOLERABLE : VK_PERFECT;
}

static int verdict_rank(enum verdict_kind v)
{
	switch (v) {
	case VK_PERFECT: return 0;
	case VK_TOLERABLE: return 1;
	case VK_PROBLEMS: return 2;
	case VK_REGRESSIONS: return 3;
	}
	return 3;
}

enum verdict_kind verdict_worse(enum verdict_kind a, enum verdict_kind b)
{
	return verdict_rank(b) > verdict_rank(a) ? b : a;
}

const char *verdict_kind_name(enum verdict_kind v)
{
	static const char *const names[] = {
		[VK_PERFECT] = "perfect",
		[VK_TOLERABLE] = "tolerable",
		[VK_REGRESSIONS] = "regressions",
		[VK_PROBLEMS] = "problems",
	};
	return names[v];
}

int verdict_pushable(enum verdict_kind v)
{
	return v == VK_PERFECT || v == VK_TOLERABLE;
}

static int cl_strcmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void flight_outcome(const char *const *statuses, size_t n, char *out,
		    size_t size)
{
	const char **s = xcalloc(n ? n : 1, sizeof(*s));
	char joined[256] = "";
	size_t k = 0, len = 0;

	memcpy(s, statuses, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cl_strcmp);
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(s[i], s[i - 1]))
			continue;
		len += (size_t)snprintf(joined + len, len < sizeof(joined) ?
					sizeof(joined) - len : 0,
					"%s%s", k++ ? "/" : "", s[i]);
		if (len >= sizeof(joined))
			len = sizeof(joined) - 1;
	}
	free(s);
	if (!strcmp(joined, "pass"))
		snprintf(out, size, "all pass");
	else if (!strcmp(joined, "fail"))
		snprintf(out, size, "ALL FAIL");
	else if (!strcmp(joined, "fail/pass") ||
		 !strcmp(joined, "blocked/pass") ||
		 !strcmp(joined, "blocked/fail/pass"))
		snprintf(out, size, "FAIL");
	else
		snprintf(out, size, "trouble: %s", joined);
}
