/*
 * host.h: a lab host as the rest of hangar sees it (inventory row plus
 * what it is doing now), and its JSON form, which is part of the contract
 * (`hangar host list --json`, GET /api/v1/hosts).
 */
#ifndef HANGAR_HOST_H
#define HANGAR_HOST_H

#include <jansson.h>

#include "vec.h"

struct host {
	char *name;
	char *arch;
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
 * {"name", "arch", "state", "flags": [...], "job": null | {"flight", "name"}}
 * plus, with detail, address, port, user, workdir, power, console,
 * boot_timeout, state_reason, state_since, reservation. New reference.
 */
json_t *host_to_json(const struct host *h, int detail);
json_t *host_event_to_json(const struct host_event *e);

#endif
