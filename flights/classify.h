/*
 * classify.h: the gate's judgement of a flight, as OSSTest's
 * sg-report-flight makes it (its justifyfailures and verdict), as pure
 * functions of plain structs: no database, no I/O. The caller gathers, for
 * each step that did not pass, what the baseline flights and the history
 * say; these functions decide what it is and whether it blocks the push.
 */
#ifndef HANGAR_CLASSIFY_H
#define HANGAR_CLASSIFY_H

#include <stddef.h>

#include "err.h"
#include "vec.h"

/* The report's "class" of a failure (DESIGN.md's report JSON). */
enum fail_class {
	FC_REGRESSION,
	FC_LIKE,          /* fail-like-baseline */
	FC_NEVER_PASS,
	FC_UNTESTED,      /* baseline-untested */
	FC_HEISENBUG,
	FC_ALLOWED,
	FC_BROKEN,
	FC_BLOCKED,
	FC_STARVED,
};
const char *fail_class_name(enum fail_class c);

/* The failing step in one baseline flight. */
struct cl_obs {
	long flight;
	const char *status;   /* NULL: not executed there */
};

#define CL_NONE_EXECUTED "<none executed>"

struct cl_failure {
	/* what happened in the flight */
	const char *job;
	const char *step;     /* CL_NONE_EXECUTED for a job-level failure */
	const char *status;   /* the step's status, or the job's when job-level */
	int stepno;           /* 0 for a job-level failure */
	int job_level;
	int build;            /* a build job: any baseline pass is a regression */
	const char *reason;   /* why a starved job gave up, or NULL */
	int starved_blocks;   /* the branch does not push with starved jobs */
	/* what the history says */
	int ever_passed;      /* this job/step passed on the branch (gate, bisect) */
	int have_baseline;    /* a baseline revision is known (OSSTest's "that") */
	const struct cl_obs *obs;   /* baseline flights, most preferred first */
	size_t nobs;
	long pass_in;         /* a flight of the same new revisions where it passed */

	/* the judgement, filled by classify_failure() */
	enum fail_class cls;
	const char *blocker;  /* "regression", "broken", "unfinished",
			       * "starved", or NULL */
	int heisen, allowable;
	int priority;         /* of the winning baseline observation, 0 if none */
	long vs;              /* the baseline flight the text names, or 0 */
	char text[96];        /* "REGR. vs. 120", "like 118", "never pass", ... */
};

/*
 * The allow list of a branch: lines "JOBPAT [STEPPAT]" (STEPPAT defaults
 * to any step). In a pattern, '*' and OSSTest's '@@' match any run of
 * characters but a space, '@' one without ' ' to '/' (so not across a
 * '-'), '?' one character; the rest is literal. A line "!LINE" takes an
 * earlier identical LINE back out; '#' starts a comment.
 */
struct allow_list {
	struct vec jobpat, steppat;
};

void allow_init(struct allow_list *a);
/* ERR_USAGE for a line with more than two patterns. */
int allow_add(struct allow_list *a, const char *line, struct err *err);
void allow_release(struct allow_list *a);
int allow_match(const struct allow_list *a, const char *job, const char *step);
/* The pattern language alone (exposed for the tests). */
int allow_pattern_match(const char *pat, const char *s);

/* Judges one failure (sets cls, blocker, text ...). allow may be NULL. */
void classify_failure(struct cl_failure *f, const struct allow_list *allow);

enum verdict_kind {
	VK_PERFECT,       /* nothing failed: push */
	VK_TOLERABLE,     /* failures, none blocking: push */
	VK_REGRESSIONS,   /* a regression blocks */
	VK_PROBLEMS,      /* only broken or unfinished things block */
};
enum verdict_kind classify_verdict(const struct cl_failure *f, size_t n);
/* The verdict of a flight and the flights that justified its heisenbugs
 * together: the worse of a and b (a regression anywhere wins). */
enum verdict_kind verdict_worse(enum verdict_kind a, enum verdict_kind b);
int verdict_pushable(enum verdict_kind v);
/* "perfect", "tolerable", "regressions", "problems" */
const char *verdict_kind_name(enum verdict_kind v);

/*
 * OSSTest's outcome summary from the flight's job statuses: "all pass",
 * "ALL FAIL", "FAIL", or "trouble: a/b/c"; into out (size >= 64).
 */
void flight_outcome(const char *const *statuses, size_t n, char *out,
		    size_t size);

#endif
