/*
 * requirements.h: the "hangar" requirements format (docs/evidence.md):
 * requirement ids with their titles, and the test lines that tie jobs,
 * steps and test cases to them; a requirement's status from the steps of
 * a flight; and the findings of `hangar lab check`. Pure: text in, plain
 * structs out, no I/O.
 */
#ifndef HANGAR_REQUIREMENTS_H
#define HANGAR_REQUIREMENTS_H

#include <stddef.h>

#include "vec.h"

#define REQ_FILE_MAX (1 << 20)   /* bytes */
#define REQ_LINE_MAX 4096        /* bytes of one line, its newline included */
#define REQ_MAX 10000            /* requirement lines */
#define REQ_TESTS_MAX 10000      /* test lines */
#define REQ_ID_MAX 64
#define REQ_TITLE_MAX 200

struct requirement {
	char *id, *title;        /* title may be "" */
	int line;
};

struct req_test {
	char *jobpat, *steppat;  /* fnmatch(3) globs, flags 0 */
	struct vec ids;          /* as written, in order; may name unknown ids */
	int line;
};

struct requirements {
	struct requirement *reqs;   /* file order */
	size_t nreqs;
	struct req_test *tests;     /* file order */
	size_t ntests;
};

/*
 * Parses len bytes of text, read from name (for messages). Returns 0, or
 * -1 with "NAME:LINE: reason" (or "NAME: reason" for the whole file) in
 * why; r is then empty. r is the caller's, to requirements_release.
 */
int requirements_parse(const char *name, const char *text, size_t len,
		       struct requirements *r, char *why, size_t whylen);
void requirements_release(struct requirements *r);

/* The index of requirement id, or -1. */
long requirements_find(const struct requirements *r, const char *id);

/* Whether test line t names step of job (step: a testid, or STEP/CASE). */
int req_test_matches(const struct req_test *t, const char *job,
		     const char *step);

/* One step of a flight, as the requirement statuses see it. */
struct req_step {
	const char *job, *step;
	const char *status;      /* pass, fail, broken, blocked, skip ... */
};

/*
 * The status of requirement i against steps: "failed" when a step one of
 * its test lines matches failed, else "verified" when one passed, else
 * "unverified" (none matched, or only lab trouble: broken, blocked,
 * skipped or cancelled steps verify and fail nothing). When match is not
 * NULL (n entries), match[k] says whether steps[k] is its evidence.
 */
const char *requirements_status(const struct requirements *r, size_t i,
				const struct req_step *steps, size_t n,
				unsigned char *match);

/* A job of the configuration, for the findings: its name, whether a
 * branch runs it, and its recipe's step names. */
struct req_job {
	const char *name;
	int in_branch;
	const char *const *steps;
	size_t nsteps;
};

enum req_finding_kind {
	REQ_UNVERIFIED,      /* no test line, or none matching a job's step */
	REQ_UNKNOWN_ID,      /* a test line names an id no requirement has */
	REQ_NO_JOB,          /* a test line matches no job of any branch */
};
const char *req_finding_kind_str(enum req_finding_kind k);

struct req_finding {
	enum req_finding_kind kind;
	int line;
	char *id;            /* the requirement or the unknown id; NULL for NO_JOB */
	char *msg;           /* "REQ-1 (line 3): not verified by any test" */
};

/*
 * The findings of r against the configured jobs: first, in file order,
 * requirements no test line names or whose test lines
 * match no step of a job (a STEPPAT with '/' checked by its part before
 * the first '/', a case being known only when it runs); then, in file
 * order, test lines naming unknown ids and test lines matching no job of
 * any branch. *out (caller
 * frees with req_findings_free) of *n.
 */
void requirements_check(const struct requirements *r, const struct req_job *jobs,
			size_t njobs, struct req_finding **out, size_t *n);
void req_findings_free(struct req_finding *f, size_t n);

#endif
