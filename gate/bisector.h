/*
 * bisector.h: bisections run by the gate daemon (or `hangar bisect run`):
 * each step builds the graph of revision tuples between the basis and
 * the failure from git, reads the results of the flights on the
 * bisection's hosts, asks the search (bisect.h) what next, and queues
 * that bisect flight, pinned to the hosts, or records the outcome.
 */
#ifndef HANGAR_BISECTOR_H
#define HANGAR_BISECTOR_H

#include "db.h"

struct bisector_conf {
	const char *state;        /* git caches under STATE/git, reports in logs */
	const char *url;          /* the dashboard, for reports, or NULL */
	const char *actor;        /* requested_by of its flights */
	const char *sendmail;     /* gets each outcome's mail, or NULL */
	const char *mail_to, *mail_from;
	size_t max_commits;       /* per tree; 0: 5000 */
};

struct bisector_result {
	long flight;              /* the flight made or still running, or 0 */
	int created;
	const char *status;       /* "running" or the outcome */
	char what[256];           /* one line */
};

/* One step of bisection id. */
int bisector_step(struct db *db, const struct bisector_conf *c, long id,
		  struct bisector_result *res, struct err *err);
/* One step of every running bisection; errors are logged. */
void bisector_cycle(struct db *db, const struct bisector_conf *c);

#endif
