/*
 * db-metrics.c: the figures of GET /metrics in one statement, so that a
 * scrape is one round trip and one snapshot. Each family is a branch of a
 * UNION ALL; the lists of states, intents, verdicts and statuses are the
 * schema's CHECK constraints, so that a series at zero is there rather
 * than missing.
 */
#include <stdlib.h>

#include "db-metrics.h"
#include "xalloc.h"
#include "banned.h"

/*
 * The big tables are reached through
 * their partial indexes only: queued jobs through jobs_active_idx,
 * finished ones through jobs_finished_idx (the predicate is written as
 * the index's, so that the planner can use it). Only flights are counted
 * whole: one narrow aggregate over a table that grows by a few hundred
 * rows a day.
 */
static const char metrics_sql[] =
	"WITH archs (arch) AS (VALUES ('x86_64'), ('arm64'), ('riscv64')), "
	"queue AS (SELECT j.arch, count(*) AS n FROM jobs j "
	"JOIN flights f ON f.id = j.flight "
	"WHERE j.status = 'queued' AND f.status <> 'cancelled' "
	"GROUP BY j.arch), "
	"runs AS (SELECT arch, "
	"extract(epoch FROM finished_at - started_at)::numeric AS d "
	"FROM jobs WHERE status IN ('pass', 'fail') "
	"AND finished_at >= now() - interval '24 hours' "
	"AND started_at IS NOT NULL), "
	/* one pass over the day's runs; the buckets are cumulative */
	"hist AS (SELECT arch, "
	"count(*) FILTER (WHERE d <= 10) AS b10, "
	"count(*) FILTER (WHERE d <= 30) AS b30, "
	"count(*) FILTER (WHERE d <= 60) AS b60, "
	"count(*) FILTER (WHERE d <= 300) AS b300, "
	"count(*) FILTER (WHERE d <= 900) AS b900, "
	"count(*) FILTER (WHERE d <= 1800) AS b1800, "
	"count(*) FILTER (WHERE d <= 3600) AS b3600, "
	"count(*) AS n, sum(d) AS s FROM runs GROUP BY arch), "
	"job_archs AS (SELECT arch FROM archs UNION SELECT arch FROM queue "
	"UNION SELECT arch FROM hist) "
	"SELECT m, sfx, l1, l2, v FROM ("
	/* 1: the queue */
	"SELECT 1 AS o, 0 AS k, 'hangar_queue_jobs'::text AS m, "
	"''::text AS sfx, a.arch AS l1, NULL::text AS l2, "
	"coalesce(q.n, 0)::text AS v "
	"FROM job_archs a LEFT JOIN queue q ON q.arch = a.arch "
	/* 2: hosts (hosts.state's CHECK) */
	"UNION ALL SELECT 2, 0, 'hangar_hosts', '', s.state, a.arch, "
	"count(h.name)::text "
	"FROM (VALUES ('free'), ('maintenance'), ('broken'), ('retired')) "
	"AS s (state) CROSS JOIN archs a "
	"LEFT JOIN hosts h ON h.state = s.state AND h.arch = a.arch "
	"GROUP BY s.state, a.arch "
	/* 3: flights (flights.intent's and flights.verdict's CHECKs) */
	"UNION ALL SELECT 3, 0, 'hangar_flights', '', i.intent, "
	"v.verdict, coalesce(fl.n, 0)::text "
	"FROM (VALUES ('gate'), ('adhoc'), ('bisect'), ('retest')) "
	"AS i (intent) "
	"CROSS JOIN (VALUES ('pending'), ('push'), ('no-push'), ('none')) "
	"AS v (verdict) "
	"LEFT JOIN (SELECT intent, verdict, count(*) AS n FROM flights "
	"GROUP BY intent, verdict) fl "
	"ON fl.intent = i.intent AND fl.verdict = v.verdict "
	/* 4: the histogram: buckets in order, +Inf, _sum, _count */
	"UNION ALL SELECT 4, x.k, 'hangar_job_duration_seconds', x.sfx, "
	"a.arch, x.le, x.v::text "
	"FROM job_archs a LEFT JOIN hist h ON h.arch = a.arch "
	"CROSS JOIN LATERAL (VALUES "
	"(1, '_bucket', '10', coalesce(h.b10, 0)), "
	"(2, '_bucket', '30', coalesce(h.b30, 0)), "
	"(3, '_bucket', '60', coalesce(h.b60, 0)), "
	"(4, '_bucket', '300', coalesce(h.b300, 0)), "
	"(5, '_bucket', '900', coalesce(h.b900, 0)), "
	"(6, '_bucket', '1800', coalesce(h.b1800, 0)), "
	"(7, '_bucket', '3600', coalesce(h.b3600, 0)), "
	"(8, '_bucket', '+Inf', coalesce(h.n, 0)), "
	"(9, '_sum', NULL, coalesce(round(h.s, 3), 0)), "
	"(10, '_count', NULL, coalesce(h.n, 0))) AS x (k, sfx, le, v) "
	/* 5, 6: the last planning pass, if any */
	"UNION ALL SELECT 5, 0, 'hangar_scheduler_pass_seconds', '', NULL, "
	"NULL, round((pass_ms / 1000)::numeric, 6)::text FROM plan_state "
	"UNION ALL SELECT 6, 0, 'hangar_plan_computed_timestamp_seconds', '', "
	"NULL, NULL, round(extract(epoch FROM computed_at)::numeric, 3)::text "
	"FROM plan_state "
	/* 7: reservations and blockages (reservations.status's CHECK) */
	"UNION ALL SELECT 7, 0, 'hangar_reservations', '', s.status, NULL, "
	"count(r.id)::text "
	"FROM (VALUES ('waiting'), ('active'), ('released'), ('expired')) "
	"AS s (status) LEFT JOIN reservations r ON r.status = s.status "
	"GROUP BY s.status "
	/* 8: the scheduler's full reads that found its copy wrong */
	"UNION ALL SELECT 8, 0, 'hangar_scheduler_check_differences_total', "
	"'', NULL, NULL, check_differences::text FROM plan_state "
	/* 9: sessions each daemon got back after losing the database */
	"UNION ALL SELECT 9, 0, 'hangar_db_reconnects_total', '', daemon, "
	"NULL, count::text FROM db_reconnects"
	") x ORDER BY o, l1 COLLATE \"C\", k, l2 COLLATE \"C\"";

int db_metrics_read(struct db *db, struct metric_sample **samples, size_t *n,
		    struct err *err)
{
	PGresult *res = db_query(db, err, metrics_sql, 0, NULL);

	*samples = NULL;
	*n = 0;
	if (!res)
		return err->code;
	*n = (size_t)PQntuples(res);
	*samples = xcalloc(*n + 1, sizeof(**samples));
	for (size_t i = 0; i < *n; i++) {
		struct metric_sample *s = &(*samples)[i];
		int row = (int)i;

		/* never NULL but for the labels (an SQL NULL would be "") */
		s->metric = xstrdup(PQgetvalue(res, row, 0));
		s->suffix = xstrdup(PQgetvalue(res, row, 1));
		s->label[0] = db_dup(res, row, 2);
		s->label[1] = db_dup(res, row, 3);
		s->value = xstrdup(PQgetvalue(res, row, 4));
	}
	PQclear(res);
	return 0;
}

void db_metrics_free(struct metric_sample *samples, size_t n)
{
	if (!samples)
		return;
	for (size_t i = 0; i < n; i++) {
		free(samples[i].metric);
		free(samples[i].suffix);
		free(samples[i].label[0]);
		free(samples[i].label[1]);
		free(samples[i].value);
	}
	free(samples);
}
