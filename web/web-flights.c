/*
 * web-flights.c: the flights and branches under /api/v1/: the newest
 * flights, one flight with its jobs and steps, its report (DESIGN.md's
 * JSON: the one stored when the gate decided it, else judged now), and
 * the branches with their controls.
 */
#include <stdlib.h>
#include <string.h>

#include "db-flight.h"
#include "db-gate.h"
#include "db-report.h"
#include "report.h"
#include "strnum.h"
#include "web-internal.h"
#include "banned.h"

#define FLIGHTS_LIST_MAX 100

enum MHD_Result web_flights_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	json_t *list;

	if (db_flight_list_json(r->db, FLIGHTS_LIST_MAX, &list, &err) < 0)
		return web_db_error(r, &err);
	return web_json(r, MHD_HTTP_OK, list);
}

static enum MHD_Result web_report_api(struct web_req *r, long id)
{
	struct err err = ERR_INIT;
	char *stored = NULL, *text = NULL;
	struct report rep;
	json_t *j;

	if (db_gate_stored_report(r->db, id, &stored, &text, &err) < 0)
		return web_db_error(r, &err);
	free(text);
	if (stored && (j = json_loads(stored, 0, NULL))) {
		free(stored);
		return web_json(r, MHD_HTTP_OK, j);
	}
	free(stored);
	report_init(&rep);
	if (db_report_load(r->db, id, &rep, &err) < 0) {
		report_release(&rep);
		return web_db_error(r, &err);
	}
	report_classify(&rep);
	j = report_json(&rep);
	report_release(&rep);
	return web_json(r, MHD_HTTP_OK, j);
}

enum MHD_Result web_flight_api(struct web_req *r, const char *rest)
{
	struct err err = ERR_INIT;
	const char *slash = strchr(rest, '/');
	size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
	char num[24];
	json_t *f;
	long id;

	if (len >= sizeof(num))
		return web_not_found(r, r->url);
	memcpy(num, rest, len);
	num[len] = '\0';
	if (strnum_long(num, 1, 1L << 62, &id) < 0)
		return web_not_found(r, r->url);
	if (slash && !strcmp(slash, "/report"))
		return web_report_api(r, id);
	if (slash)
		return web_not_found(r, r->url);
	if (db_flight_json(r->db, id, &f, &err) < 0)
		return web_db_error(r, &err);
	return web_json(r, MHD_HTTP_OK, f);
}

enum MHD_Result web_branches_api(struct web_req *r)
{
	struct err err = ERR_INIT;
	json_t *list;

	if (db_branch_list_json(r->db, &list, &err) < 0)
		return web_db_error(r, &err);
	return web_json(r, MHD_HTTP_OK, list);
}
