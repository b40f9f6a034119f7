/*
 * web-metrics.c: GET /metrics, the lab's figures in Prometheus' text
 * exposition format (version 0.0.4): the queue, hosts, flights, how long
 * jobs ran over the last day, the last planning pass, reservations and
 * the daemons' database reconnects.
 * One query (db-metrics.c) per scrape.
 */
#include <string.h>

#include "db-metrics.h"
#include "log.h"
#include "web-internal.h"
#include "banned.h"

/* What db_metrics_read() gives, with what Prometheus needs to know. */
static const struct metric_def {
	const char *name, *type, *help;
	const char *labels[2];
} metric_defs[] = {
	{ "hangar_queue_jobs", "gauge",
	  "Jobs queued, of flights not cancelled.", { "arch", NULL } },
	{ "hangar_hosts", "gauge",
	  "Hosts by administrative state (a free host may be allocated).",
	  { "state", "arch" } },
	{ "hangar_flights", "gauge",
	  "Flights by intent and verdict (a pending flight changes verdict).",
	  { "intent", "verdict" } },
	{ "hangar_job_duration_seconds", "histogram",
	  "Run time of the jobs that passed or failed in the last 24 hours.",
	  { "arch", "le" } },
	{ "hangar_scheduler_pass_seconds", "gauge",
	  "How long the last planning pass took.", { NULL, NULL } },
	{ "hangar_plan_computed_timestamp_seconds", "gauge",
	  "When the last planning pass stored its plan (Unix time).",
	  { NULL, NULL } },
	{ "hangar_reservations", "gauge",
	  "Reservations and blockages by status.", { "status", NULL } },
	{ "hangar_scheduler_check_differences_total", "counter",
	  "Rows the scheduler's periodic full read found its incremental copy had wrong.",
	  { NULL, NULL } },
	{ "hangar_db_reconnects_total", "counter",
	  "Database sessions each daemon got back after losing them (a restart, an outage, a failover).",
	  { "daemon", NULL } },
};

static const struct metric_def *metric_def(const char *name)
{
	for (size_t i = 0; i < sizeof(metric_defs) / sizeof(metric_defs[0]); i++)
		if (!strcmp(metric_defs[i].name, name))
			return &metric_defs[i];
	return NULL;
}

/* A label value: backslash, double quote and newline escaped. */
static void metrics_label_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_addstr(b, "\\\\");
		else if (*s == '"')
			buf_addstr(b, "\\\"");
		else if (*s == '\n')
			buf_addstr(b, "\\n");
		else
			buf_addch(b, *s);
	}
}

static void metrics_sample(struct buf *b, const struct metric_def *d,
			   const struct metric_sample *s)
{
	int n = 0;

	buf_addstr(b, d->name);
	buf_addstr(b, s->suffix);
	for (int l = 0; l < 2; l++) {
		if (!d->labels[l] || !s->label[l])
			continue;
		buf_addf(b, "%c%s=\"", n++ ? ',' : '{', d->labels[l]);
		metrics_label_escape(b, s->label[l]);
		buf_addch(b, '"');
	}
	buf_addf(b, "%s %s\n", n ? "}" : "", s->value);
}

enum MHD_Result web_metrics(struct web_req *r)
{
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	const struct metric_def *d = NULL;
	struct metric_sample *samples;
	size_t n;

	if (db_metrics_read(r->db, &samples, &n, &err) < 0)
		return web_db_error(r, &err);
	for (size_t i = 0; i < n; i++) {
		const char *name = samples[i].metric;

		if (!d || strcmp(d->name, name)) {
			if (!(d = metric_def(name))) {
				log_warnx("metric %s has no definition", name);
				continue;
			}
			buf_addf(&b, "# HELP %s %s\n# TYPE %s %s\n", d->name,
				 d->help, d->name, d->type);
		}
		metrics_sample(&b, d, &samples[i]);
	}
	db_metrics_free(samples, n);
	return web_text(r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &b);
}
