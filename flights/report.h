/*
 * report.h: a flight's report: its results judged against the baseline
 * (classify.h), as the JSON of DESIGN.md and as OSSTest's mail. Pure: the
 * gate (gate/report-load.h) fills the struct, these functions judge and
 * format it.
 */
#ifndef HANGAR_REPORT_H
#define HANGAR_REPORT_H

#include <jansson.h>

#include "buf.h"
#include "classify.h"
#include "vec.h"

struct rep_job {
	char *job, *status, *hosts;   /* hosts: space separated, maybe "" */
	int build;
};

/* A flight named in "Last test of basis" and the like. */
struct rep_age {
	long flight;              /* 0: none */
	char *started;            /* "2024-05-21 01:42:42 Z" */
	long age_days;
	long attempts;
};

struct report {
	long flight;
	char *branch, *intent, *status, *verdict;   /* branch may be NULL */
	int pushed, baseline_test;
	long retest_of, retest_flight;   /* 0: none */
	char *tree;                 /* the branch's gated tree, or NULL */
	struct vec trees, revs;     /* the revisions tested */
	char *that;                 /* the baseline revision of tree, or NULL */
	long baseline_flight;       /* the newest baseline flight, or 0 */
	struct rep_job *jobs;
	size_t njobs;
	struct cl_failure *fails;   /* each obs array is owned */
	size_t nfails;
	struct allow_list allow;
	/*
	 * Other flights of the same revisions where a failure passed, each
	 * with its own failures, flat (a heisen flight's own heisen flights
	 * are here too). Loaded for every pass; report_classify() marks
	 * the ones that justified a heisenbug (heisen_flight): as in
	 * OSSTest, their failures are listed and their blockers block.
	 */
	struct report *subs;
	size_t nsubs;
	int heisen_flight;          /* set on a sub by report_classify() */
	struct rep_age basis, failing_since, same_since;
	char *push_log;             /* what the push did, or NULL */
	struct vec pool;            /* the strings the failures point to */
	/* set by report_classify() */
	enum verdict_kind vk;
	char outcome[64];
};

void report_init(struct report *r);
void report_release(struct report *r);
/* A copy of s that lives as long as r. */
const char *report_str(struct report *r, const char *s);

/*
 * Judges every failure of r and of its subs, then the flight: its own
 * failures and those of the flights that justified its heisenbugs
 * (OSSTest's recursion through justifyfailures).
 */
void report_classify(struct report *r);
/*
 * The retest decision of OSSTest (reference §4.3): the test jobs that
 * regressed, in *jobs, when a retest is worth it; else 0 and why in
 * *why ("other blockers", "too many regressions", "no regressions").
 */
size_t report_retest_jobs(const struct report *r, struct vec *jobs,
			  const char **why);

/* DESIGN.md's report JSON; *ret a new reference. */
json_t *report_json(const struct report *r);

/*
 * Where today's judgement of a flight (now, report_json()) differs from
 * the report stored when it was decided: a line each into out, "the
 * verdict: ..." first, then "JOB STEP[ in F]: ..."; none when they agree.
 * Reports stored before "judgement" was kept are judged by their
 * failures' blocking.
 */
void report_json_differences(json_t *decided, json_t *now, struct vec *out);
/* A report JSON's "judgement" ("perfect", "tolerable", "regressions",
 * "problems"), or for one stored before it was kept "perfect",
 * "tolerable" or "not tolerable" from its failures' blocking. */
const char *report_json_judgement(json_t *rep);

struct report_mail {
	const char *from, *to;      /* or NULL: no such header */
	const char *url;            /* the dashboard as people reach it, or NULL */
	const char *revlog;         /* "git log OLD..NEW", or NULL */
	const char *hostname;       /* for Message-ID */
};
/* The mail in OSSTest's format (reference §4.4), headers first. */
void report_text(const struct report *r, const struct report_mail *m,
		 struct buf *out);
/* Its subject line alone. */
void report_subject(const struct report *r, struct buf *out);

#endif
