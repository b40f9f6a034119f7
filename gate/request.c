/*
 * request.c: ad-hoc flights from people's requests.
 */
#include <stdlib.h>
#include <string.h>

#include "db-flight.h"
#include "db-gate.h"
#include "db-request.h"
#include "gitx.h"
#include "request.h"
#include "xalloc.h"
#include "banned.h"

/* Resolves rev of tree into spec. */
static int request_resolve(struct db *db, const char *state, const char *tree,
			   const char *rev, struct flight_spec *spec,
			   struct err *err)
{
	char *url = NULL, *cache, sha[41];
	int rc = db_gate_tree_url(db, tree, 0, &url, err);

	if (rc < 0)
		return rc;
	cache = xasprintf("%s/git/%s.git", state, tree);
	rc = gitx_resolve(cache, url, rev, sha, err);
	if (rc == 0) {
		vec_push(&spec->trees, tree);
		vec_push(&spec->revs, sha);
	} else {
		/* a revision the tree does not have is the asker's mistake */
		if (err->code == ERR_NOTFOUND)
			err->code = ERR_USAGE;
		err_prefix(err, "tree %s", tree);
	}
	free(cache);
	free(url);
	return rc;
}

int request_create(struct db *db, const char *state, const struct request *rq,
		   long *id, struct err *err)
{
	struct vec btrees = VEC_INIT, brefs = VEC_INIT, bjobs = VEC_INIT;
	struct flight_spec spec;
	int rc = 0;

	flight_spec_init(&spec);
	spec.intent = "adhoc";
	spec.branch = rq->branch;
	if (rq->host)
		vec_push(&spec.hosts, rq->host);
	spec.reuse_builds = !rq->no_reuse;
	spec.requested_by = rq->requested_by;
	if (!rq->branch && !rq->revs.n) {
		rc = err_set(err, ERR_USAGE, "give a branch or a revision of each tree");
		goto out;
	}
	for (size_t i = 0; i < rq->runvars.n; i++)
		if (!strchr(rq->runvars.v[i], '=') || rq->runvars.v[i][0] == '=') {
			rc = err_set(err, ERR_USAGE, "runvar '%s': expected NAME=VALUE",
				     rq->runvars.v[i]);
			goto out;
		}
	for (size_t i = 0; i < rq->runvars.n; i++)
		vec_push(&spec.runvars, rq->runvars.v[i]);
	if (rq->branch &&
	    (rc = db_request_branch(db, rq->branch, &btrees, &brefs, &bjobs,
				    err)) < 0)
		goto out;
	for (size_t i = 0; i < (rq->jobs.n ? rq->jobs.n : bjobs.n); i++)
		vec_push(&spec.jobs, rq->jobs.n ? rq->jobs.v[i] : bjobs.v[i]);
	if (!spec.jobs.n) {
		rc = err_set(err, ERR_USAGE, "which jobs?");
		goto out;
	}
	/* the revisions asked for first, then the branch's trees they did
	 * not name */
	for (size_t i = 0; i < rq->revs.n; i++) {
		const char *eq = strchr(rq->revs.v[i], '=');
		char *tree;

		if (!eq || eq == rq->revs.v[i] || !eq[1]) {
			rc = err_set(err, ERR_USAGE, "revision '%s': expected TREE=REV",
				     rq->revs.v[i]);
			goto out;
		}
		tree = xstrndup(rq->revs.v[i], (size_t)(eq - rq->revs.v[i]));
		if (vec_find(&spec.trees, tree) >= 0)
			rc = err_set(err, ERR_USAGE, "tree %s given twice", tree);
		else
			rc = request_resolve(db, state, tree, eq + 1, &spec, err);
		free(tree);
		if (rc < 0)
			goto out;
	}
	for (size_t i = 0; i < btrees.n; i++)
		if (vec_find(&spec.trees, btrees.v[i]) < 0 &&
		    (rc = request_resolve(db, state, btrees.v[i], brefs.v[i], &spec,
					  err)) < 0)
			goto out;
	rc = db_flight_create(db, &spec, id, err);
out:
	flight_spec_release(&spec);
	vec_clear(&btrees);
	vec_clear(&brefs);
	vec_clear(&bjobs);
	return rc;
}
