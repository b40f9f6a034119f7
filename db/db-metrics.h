/*
 * db-metrics.h: the figures GET /metrics exposes, read in one statement.
 */
#ifndef HANGAR_DB_METRICS_H
#define HANGAR_DB_METRICS_H

#include "db.h"

/* One sample of the exposition. */
struct metric_sample {
	char *metric;     /* the metric's name ("hangar_hosts") */
	char *suffix;     /* "", or "_bucket", "_sum", "_count" (histogram) */
	char *label[2];   /* label values, NULL for none (the histogram's
			   * "le" is NULL on _sum and _count) */
	char *value;      /* a decimal number */
};

/*
 * One sample per row, grouped by metric and in exposition order.
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
 * The archs are those of the schema plus any a job names. *samples is the
 * caller's: free it with db_metrics_free.
 */
int db_metrics_read(struct db *db, struct metric_sample **samples, size_t *n,
		    struct err *err);
void db_metrics_free(struct metric_sample *samples, size_t n);

#endif
