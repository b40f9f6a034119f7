/*
 * wire.h: the worker protocol's wire format (docs/api.md, "The worker
 * protocol"): a claimed job (struct wjob) and one of a job's records to
 * and from JSON. Both directions live here and nowhere else: the
 * controller's web server encodes a job and decodes records, the remote
 * worker decodes the job and encodes its records, so the two cannot
 * drift apart.
 *
 * Decoding is strict about what it reads (a missing field or a wrong
 * type is an error naming the field) and ignores fields it does not know,
 * so that a newer peer may add some. Strings holding a NUL are refused.
 */
#ifndef HANGAR_WIRE_H
#define HANGAR_WIRE_H

#include <jansson.h>

#include "db-worker.h"
#include "err.h"
#include "vec.h"

/* A claimed job as JSON (a new reference): every field of struct wjob. */
json_t *wire_wjob_to_json(const struct wjob *j);

/*
 * Fills j (zeroed first) from o. On failure j is released (wjob_release)
 * and the error names the field: ERR_USAGE.
 */
int wire_wjob_from_json(json_t *o, struct wjob *j, struct err *err);

/* What a running job records (jobrec.c's records, and the host actions
 * of a host-install step), by their "type" on the wire. */
enum wrec_type {
	WREC_STEP_BEGIN,
	WREC_STEP_END,
	WREC_CASES,
	WREC_RUNVAR,
	WREC_ARTIFACT,
	WREC_POWER,
	WREC_HOST_BROKEN,
	WREC_HOST_HEALTHY,
	WREC_HOST_INSTALLED,
	WREC_HOSTKEY_CLEAR,
	WREC_INSTALL_BEGIN,
	WREC_FIRMWARE,
};
#define WREC_TYPE_LAST WREC_FIRMWARE

const char *wrec_type_str(enum wrec_type t);  /* "step-begin", ... */
/* Parses a type's name; -1 if none. */
int wrec_type_parse(const char *s);

/*
 * One record; strings owned (wrec_release). Which fields a type uses, as
 * on the wire (docs/api.md):
 *   step-begin      step, kind, name, at
 *   step-end        step, status, detail (may be NULL), at
 *   cases           name (the parent step's), step (its number), first
 *                   (the first case's step number), names, statuses,
 *                   details (one each per case, "" for no detail), at
 *   runvar          name, value
 *   artifact        path, sha256, size
 *   power           host, action, state, attempts, ms, detail (may be
 *                   NULL), error (NULL: it worked), at
 *   host-broken     host, reason
 *   host-healthy    host
 *   host-installed  host
 *   hostkey-clear   host, reason (why; may be NULL)
 *   install-begin   host, token (32 hex digits)
 *   firmware        host, value (what it said its firmware was, 1 to
 *                   FIRMWARE_MAX bytes: hosts/firmware.h)
 * at is when it happened, in epoch seconds; 0 for none (the controller
 * takes its own time).
 */
struct wrec {
	enum wrec_type type;
	double at;
	int step, first;
	char *kind, *name, *status, *detail, *value;
	char *path, *sha256;
	long long size;
	char *host, *reason, *token;
	char *action, *state, *error;
	int attempts;
	long ms;
	struct vec names, statuses, details;
};

void wrec_release(struct wrec *r);

/* A record as JSON (a new reference), with its "type". */
json_t *wire_rec_to_json(const struct wrec *r);

/*
 * Fills r (zeroed first) from o, checking each field the type uses (a
 * step number is positive, a size not negative, a token 32 hex digits, a
 * SHA-256 64 lower-case hex digits). On failure r is released and the
 * error names the field: ERR_USAGE.
 */
int wire_rec_from_json(json_t *o, struct wrec *r, struct err *err);

#endif
