/*
 * db-metrics.h: the figures GET /metrics exposes, read in one statement.
 */
#ifndef HANGAR_DB_METRICS_H
#define HANGAR_DB_METRICS_H

#include "db.h"

/*
 * One row per sample, grouped by metric and in exposition order:
 *   DM_METRIC  the metric's name ("hangar_hosts")
 *   DM_SUFFIX  "", or "_bucket", "_sum", "_count" for the histogram
 *   DM_L1      first label value, or NULL for a sample without labels
 *   DM_L2      second label value, or NULL (the histogram's "le" is
 *              NULL on _sum and _count)
 *   DM_VALUE   the value as a decimal number
 * The metrics, with their labels:
 *   hangar_queue_jobs {arch}                 queued jobs of flights not
 *                                            cancelled
 *   hangar_hosts {state, arch}               every state of the hosts
 *                                            CHECK constraint, zeros too
 *   hangar_flights_total {intent, verdict}   every pair, zeros too
 *   hangar_job_duration_seconds {arch, le}   jobs that passed or failed
 *                                            in the last 24 hours (through
 *                                            jobs_finished_idx); buckets
 *                                            10 30 60 300 900 1800 3600
 *                                            +Inf seconds
 *   hangar_scheduler_pass_seconds            } no row before the first
 *   hangar_plan_computed_timestamp_seconds   } planning pass
 *   hangar_reservations {status}             every status, zeros too
 * The archs are those of the schema plus any a job names. *res is the
 * caller's (PQclear).
 */
enum { DM_METRIC, DM_SUFFIX, DM_L1, DM_L2, DM_VALUE };
int db_metrics_read(struct db *db, PGresult **res, struct err *err);

#endif
