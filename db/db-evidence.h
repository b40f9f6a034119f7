/*
 * db-evidence.h: the evidence records of migration 0022 (docs/evidence.md):
 * one per flight at most, written once and never changed (the table's
 * trigger refuses it), read by revision, by flight, and as the branch's
 * pushed ones for change tracking.
 */
#ifndef HANGAR_DB_EVIDENCE_H
#define HANGAR_DB_EVIDENCE_H

#include <jansson.h>

#include "db.h"

struct evidence {
	long flight;
	char *branch, *tree, *revision;   /* each may be NULL */
	int pushed;
	char *record;                     /* the canonical JSON bytes */
	char *sha256;                     /* of record */
	char *signature, *signer, *signer_key;  /* NULL: unsigned */
	char *created_at;                 /* set by reads, ignored by insert */
};

/* Frees e's strings (e itself is the caller's); e may be zeroed. */
void db_evidence_release(struct evidence *e);

/*
 * Stores e unless the flight has a record already: *inserted says which
 * (an existing record is left as it is, whatever e holds).
 */
int db_evidence_insert(struct db *db, const struct evidence *e, int *inserted,
		       struct err *err);
/* The record of flight; ERR_NOTFOUND when it has none. */
int db_evidence_by_flight(struct db *db, long flight, struct evidence *e,
			  struct err *err);
/*
 * The record of revision rev (a full id or a prefix of at least 7 hex
 * digits) on branch (NULL: any): the pushed one if there is one, else the
 * newest. ERR_NOTFOUND when none; ERR_USAGE for a malformed rev; ERR_FAIL
 * when a prefix names records of several revisions.
 */
int db_evidence_by_rev(struct db *db, const char *rev, const char *branch,
		       struct evidence *e, struct err *err);
/*
 * The newest pushed record of branch from a flight before flight (0: the
 * newest of all); ERR_NOTFOUND when none.
 */
int db_evidence_pushed_before(struct db *db, const char *branch, long flight,
			      struct evidence *e, struct err *err);
/*
 * The pushed flights of branch decided since migration 0022 that have no
 * record (a gate stopped between its push and the record), oldest first;
 * not those imported from OSSTest (their logs are not here):
 * *flights (caller frees) of *n.
 */
int db_evidence_missing(struct db *db, const char *branch, long **flights,
			size_t *n, struct err *err);

/*
 * What the database says of flight for its evidence record (docs/
 * evidence.md, schema hangar-evidence/1), in the record's shapes and
 * orders (jobs by name, steps of each job's last attempt by stepno, hosts
 * in role order, artifacts by path, runvars all): flight, branch, intent,
 * status, verdict, pushed, decided_at, tree, revision, revisions, harness
 * and jobs. Each step has "logfile" (its log's path under STATE/logs, or
 * null) where the record has "log"; the caller hashes the files. *ret a
 * new reference; ERR_NOTFOUND when there is no such flight.
 */
int db_evidence_flight(struct db *db, long flight, json_t **ret,
		       struct err *err);

#endif
