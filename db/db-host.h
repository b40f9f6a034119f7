/*
 * db-host.h: hosts (the model the CLI and the web show, and its JSON
 * form), their history, their power settings and their administrative
 * state. Power actions come in as power.h's words: db/ does not include
 * hosts/.
 */
#ifndef HANGAR_DB_HOST_H
#define HANGAR_DB_HOST_H

#include <jansson.h>

#include "db.h"
#include "vec.h"

/*
 * A lab host as the rest of hangar sees it: its inventory row plus what
 * it is doing now. Its JSON form is part of the contract (`hangar host
 * list --json`, GET /api/v1/hosts).
 */
struct host {
	char *name;
	char *arch;
	char *site;         /* where it is (issue 22) */
	char *state;        /* free, allocated, maintenance, broken, retired */
	char *state_reason; /* NULL when none */
	char *state_since;  /* ISO 8601 UTC */
	char *address;
	int port;
	char *user;
	char *workdir;
	char *power;
	char *console;
	int boot_timeout;
	struct vec flags;
	long job_flight;    /* 0: no job holds it */
	char *job;
	long reservation;   /* 0: no reservation holds it */
};

struct host_event {
	long id;
	char *at;
	char *actor;
	char *kind;
	char *detail;       /* JSON text */
};

void host_release(struct host *h);
void host_event_release(struct host_event *e);

/*
 * {"name", "arch", "site", "state", "flags": [...],
 *  "job": null | {"flight", "name"}}
 * plus, with detail, address, port, user, workdir, power, console,
 * boot_timeout, state_reason, state_since, reservation. New reference.
 */
json_t *host_to_json(const struct host *h, int detail);
json_t *host_event_to_json(const struct host_event *e);

/* Every host, retired ones included, by name. Free with db_host_list_free. */
int db_host_list(struct db *db, struct host **hosts, size_t *n,
		 struct err *err);
void db_host_list_free(struct host *hosts, size_t n);
/* One host; ERR_NOTFOUND when there is none of that name. */
int db_host_get(struct db *db, const char *name, struct host *h,
		struct err *err);
/* Its newest events first, at most limit. */
int db_host_events(struct db *db, const char *name, int limit,
		   struct host_event **events, size_t *n, struct err *err);
void db_host_events_free(struct host_event *events, size_t n);
/* The jobs that held host, newest first: [{"flight", "job", "status",
 * "allocated", "released"}]. */
int db_host_jobs_json(struct db *db, const char *name, int limit,
		      json_t **ret, struct err *err);

/*
 * A host's power method (hosts.power) and its settings (hosts.power_config,
 * which holds the BMC password: never show it). *method and *config are
 * the caller's (free, json_decref). ERR_NOTFOUND for an unknown host.
 */
int db_host_power_get(struct db *db, const char *name, char **method,
		      json_t **config, struct err *err);

/* A power action and its result, in power.h's words. */
struct db_host_power {
	const char *action;        /* on off cycle status (power_action_str) */
	const char *state;         /* after it: on off unknown (power_state_str) */
	int attempts;
	long ms;
	const char *detail;
};

/*
 * Records a power action in the host's history: an events row of kind
 * power.on|off|cycle|status with detail {"result": "ok"|"failed", "state",
 * "attempts", "ms", "detail", "error"} ("error" null on success). failure
 * is NULL on success; flight 0 and job NULL outside a job. ERR_USAGE for
 * another action.
 */
int db_host_power_record(struct db *db, const char *host,
			 const struct db_host_power *p,
			 const struct err *failure, long flight, const char *job,
			 struct err *err);

/*
 * Sets the administrative state (free, maintenance or broken) with its
 * reason (NULL: none; a free host keeps no reason) and state_since = now,
 * and records an events row of kind event_kind with detail {"reason",
 * "from", "to"}, in one transaction. ERR_NOTFOUND for an unknown host,
 * ERR_FAIL for a retired one.
 */
int db_host_set_state(struct db *db, const char *host, const char *state,
		      const char *reason, const char *event_kind,
		      struct err *err);

/* What holds a host now: a job, or a reservation (and who made it). */
struct db_host_holder {
	long flight;         /* 0: no job */
	char *job;
	long reservation;    /* 0: no reservation */
	char *owner;         /* the reservation's */
};

/* Fills *h (all zero when nothing holds the host); release it after. */
int db_host_holder_get(struct db *db, const char *host,
		       struct db_host_holder *h, struct err *err);
void db_host_holder_release(struct db_host_holder *h);

/*
 * An installer reports back with its one-time token (host-install): marks
 * the installation reported (the first report counts; later ones are
 * accepted and change nothing) and records a host.install-reported event.
 * *host gets the host's name (caller frees). ERR_NOTFOUND for an unknown
 * token.
 */
int db_host_install_report(struct db *db, const char *token, const char *from,
			   char **host, struct err *err);

#endif
