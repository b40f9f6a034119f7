/*
 * db-report.h: what a flight's report needs from the database: its jobs
 * and failures, and for each failure what the history says (did it ever
 * pass on the branch, the step in each baseline flight, a flight of the
 * same new revisions where it passed). Every question is an index probe
 * keyed by the flight's revisions or by (branch, job, step), so the cost
 * does not grow with the number of flights in the database.
 */
#ifndef HANGAR_DB_REPORT_H
#define HANGAR_DB_REPORT_H

#include "db.h"
#include "report.h"

/*
 * Fills r (report_init()ed) for flight; the caller then report_classify()s
 * it. ERR_NOTFOUND when there is no such flight.
 */
int db_report_load(struct db *db, long flight, struct report *r,
		   struct err *err);
/*
 * As db_report_load, as the flight was judged when it ended: only the
 * flights before it count (as baselines, for "ever passed" and as
 * heisenbug passes), and its retest. The import replays OSSTest's pushes
 * with it.
 */
int db_report_load_before(struct db *db, long flight, struct report *r,
			  struct err *err);

#endif
