/*
 * report-load.h: a flight's report (flights/report.h) filled from the
 * rows db/db-report.h returns: its jobs and failures, what the history
 * says of each failure, and the flights that justified its heisenbugs.
 */
#ifndef HANGAR_REPORT_LOAD_H
#define HANGAR_REPORT_LOAD_H

#include "db.h"
#include "report.h"

/*
 * Fills r (report_init()ed) for flight; the caller then report_classify()s
 * it. ERR_NOTFOUND when there is no such flight.
 */
int report_load(struct db *db, long flight, struct report *r,
		struct err *err);
/*
 * As report_load, as the flight was judged when it ended: only the
 * flights before it count (as baselines, for "ever passed" and as
 * heisenbug passes), and its retest. The import replays OSSTest's pushes
 * with it.
 */
int report_load_before(struct db *db, long flight, struct report *r,
		       struct err *err);

#endif
