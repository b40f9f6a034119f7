/*
 * gate.h: the push gate, OSSTest's cr-daily-branch (reference §1.4, §4.1)
 * as one cycle of a branch: decide the flights that ended (report,
 * immediate retest, push with libgit2, mail), then start the next flight
 * when staging moved. The daemon and `hangar gate run` both run cycles;
 * a branch's cycles take turns on a database lock.
 */
#ifndef HANGAR_GATE_H
#define HANGAR_GATE_H

#include <jansson.h>

#include "db.h"
#include "err.h"
#include "labconf.h"

struct gate_conf {
	const char *state;        /* git caches under STATE/git, mails in logs */
	const char *identity;     /* SSH key for ssh:// pushes, or NULL */
	const char *url;          /* the dashboard, for mails, or NULL */
	const char *sendmail;     /* command reading a mail on stdin, or NULL */
	const char *mail_to, *mail_from;
	int retest;               /* immediate retest of regressed test jobs */
	int bisect;               /* start a bisection of each regression */
	const char *actor;        /* requested_by of the flights it makes */
	int decide_only;          /* decide ended flights, start none */
	int always;               /* test staging even if tested already
				   * (unless this cycle decided a flight) */
	long again;               /* else after this many seconds (0: never) */
	/* the evidence records of pushes (gate/evidence.h) */
	const struct lab_requirements *requirements;   /* NULL: none */
	const char *evidence_key;     /* NULL: records unsigned */
	const char *evidence_signer;
};

struct gate_result {
	long flight;              /* the flight made, or the one still open */
	int created;              /* flight is new */
	int decided;              /* flights decided in this cycle */
	char what[512];           /* what happened, one line */
};

/* One cycle of branch. */
int gate_cycle(struct db *db, const struct gate_conf *c, const char *branch,
	       struct gate_result *res, struct err *err);

/*
 * The report of a flight, judged now: JSON (*json, a new reference) and,
 * when text is not NULL, the mail (with the revision log from the tree's
 * cache when it can be had).
 */
struct buf;
int gate_report(struct db *db, const struct gate_conf *c, long flight,
		json_t **json, struct buf *text, struct err *err);

/*
 * The report of a flight as people read it: a decided flight's is the one
 * stored when it was decided (the decision made, and why), unless now asks
 * for today's judgement; a flight with no stored report is judged now.
 * *json a new reference; text (may be NULL) gets the mail. Judged now,
 * *json also has "decided" ({"verdict", "pushed", "judgement"} of the
 * stored decision) and "differences", as diff gets them when not NULL:
 * where today's judgement differs from the decision (report.h's
 * report_json_differences; nothing when no decision is stored). *stored
 * (may be NULL): the report given is the stored one.
 */
struct vec;
int gate_report_view(struct db *db, const struct gate_conf *c, long flight,
		     int now, json_t **json, struct buf *text, struct vec *diff,
		     int *stored, struct err *err);

#endif
