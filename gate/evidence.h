/*
 * evidence.h: the safety evidence record of a flight (issue 24,
 * docs/evidence.md, schema hangar-evidence/1): built from the database,
 * the flight's logs and the requirements file, in canonical bytes that a
 * rebuild gives again; signed with ssh-keygen -Y sign; stored once; and
 * verified (the signature, then every log and artifact it names).
 */
#ifndef HANGAR_EVIDENCE_H
#define HANGAR_EVIDENCE_H

#include <jansson.h>

#include "db.h"
#include "err.h"
#include "labconf.h"
#include "vec.h"

#define EVIDENCE_SCHEMA "hangar-evidence/1"
#define EVIDENCE_NAMESPACE "hangar-evidence"   /* ssh-keygen -n */

struct evidence_conf {
	const char *state;        /* logs under STATE/logs, git caches under
				   * STATE/git, artifacts under STATE/artifacts */
	const struct lab_requirements *requirements;  /* NULL or !set: none */
	const char *key;          /* private key that signs, or NULL: unsigned */
	const char *signer;       /* the principal ("hangar" when NULL) */
	int statuses_only;        /* evidence_build: no log hashed (what
				   * change tracking reads is the same) */
};

/*
 * The record of flight built now (*record a new reference), stored
 * nowhere: what the mail compares, and what a rebuild compares with the
 * stored bytes. A requirements file that does not parse gives a record
 * with "requirements_error" (never an error here); one that cannot be read
 * (a tree that cannot be fetched) is an error, to be tried again.
 */
int evidence_build(struct db *db, const struct evidence_conf *c, long flight,
		   json_t **record, struct err *err);

/*
 * The record of flight built again, with the requirements source the
 * stored record says (not today's configuration), for `hangar evidence
 * rebuild`: equal bytes show the stored record says what the database,
 * the logs and the requirements file say. *record a new reference.
 */
int evidence_rebuild(struct db *db, const char *state, long flight,
		     const char *stored, json_t **record, struct err *err);

/* The public line "TYPE BASE64" of the private key file key (its .pub,
 * else ssh-keygen -y); caller frees *pubkey. */
int evidence_public_key(const char *key, char **pubkey, struct err *err);

/* The canonical bytes of a record (caller frees): sorted keys, indent 1,
 * a final newline. */
char *evidence_dump(const json_t *record);

/*
 * Signs bytes with the private key file key (ssh-keygen -Y sign, namespace
 * hangar-evidence): *signature the armored signature, *pubkey the key's
 * public line "TYPE BASE64" (caller frees both).
 */
int evidence_sign(const char *key, const char *bytes, size_t len,
		  char **signature, char **pubkey, struct err *err);

/*
 * Builds, signs (when c->key) and stores the record of flight unless it
 * has one: *inserted 1 when this call stored it, 0 when one was there
 * (left as it is). The flight must be finished or cancelled.
 */
int evidence_record(struct db *db, const struct evidence_conf *c, long flight,
		    int *inserted, struct err *err);

/*
 * The allowed_signers line of a signer and key: `SIGNER
 * namespaces="hangar-evidence" TYPE BASE64` and a newline (caller frees).
 */
char *evidence_allowed_signers(const char *signer, const char *pubkey);

/*
 * Checks signature over the len bytes of data against the allowed_signers
 * text with ssh-keygen -Y find-principals and -Y verify. 0 when good;
 * ERR_FAIL with ssh-keygen's reason when not; other codes when it could
 * not be checked.
 */
int evidence_verify_signature(const char *data, size_t len,
			      const char *signature, const char *allowed,
			      struct err *err);

/*
 * Hashes again every log (under logs_dir) and artifact (in the store
 * under state; NULL: artifacts not checked) that record names, and
 * appends each difference to bad ("log 12/job/1.boot.log: sha256 differs",
 * "... missing"). Returns the number of files checked.
 */
long evidence_verify_files(const json_t *record, const char *logs_dir,
			   const char *state, struct vec *bad);

#endif
