/*
 * request.h: an ad-hoc flight as people ask for it (`hangar request`,
 * POST /api/v1/requests, the dashboard's form): a branch and/or tree
 * revisions by any name, resolved to commits now, and jobs.
 */
#ifndef HANGAR_REQUEST_H
#define HANGAR_REQUEST_H

#include <string.h>

#include "db.h"
#include "vec.h"

struct request {
	const char *branch;        /* or NULL: then revs name every tree */
	struct vec revs;           /* "TREE=REV" */
	struct vec jobs;           /* empty: the branch's job set */
	const char *host;          /* pins the requested jobs, or NULL */
	struct vec runvars;        /* "NAME=VALUE" for every job */
	int no_reuse;              /* build again even when a build exists */
	const char *requested_by;
};

/* Inline: the web's parsers (and their fuzzer) fill one without linking
 * the rest of flights/. */
static inline void request_init(struct request *rq)
{
	memset(rq, 0, sizeof(*rq));
}

static inline void request_release(struct request *rq)
{
	vec_clear(&rq->revs);
	vec_clear(&rq->jobs);
	vec_clear(&rq->runvars);
}

/*
 * Resolves the revisions (fetching into STATE/git as needed) and queues
 * the flight; *id gets its number. ERR_USAGE for a request that cannot
 * be a flight (no branch and no revision, a tree given twice, an unknown
 * tree, job or revision), ERR_NOTFOUND for an unknown branch.
 */
int request_create(struct db *db, const char *state, const struct request *rq,
		   long *id, struct err *err);

#endif
