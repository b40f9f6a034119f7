/*
 * db-gate.h: the rows the gate works with: branches (with their block and
 * force-push controls), the gate flights of a branch and what they
 * tested, and recording a decision.
 */
#ifndef HANGAR_DB_GATE_H
#define HANGAR_DB_GATE_H

#include <jansson.h>

#include "db.h"
#include "vec.h"

struct gate_branch {
	char *name, *tree, *url, *staging, *target;
	struct vec pins, jobs;
	int blocked;
	char *block_reason;       /* or NULL */
	char *force_rev;          /* or NULL */
};

void gate_branch_release(struct gate_branch *b);
/* ERR_NOTFOUND for no such (or a retired) branch. */
int db_gate_branch(struct db *db, const char *name, struct gate_branch *b,
		   struct err *err);
/* Wakes the gate daemon to look at its branches now, as a push hook
 * would (it also looks every [gate] interval). */
int db_gate_poke(struct db *db, struct err *err);
/*
 * The URL of a tree (caller frees); ERR_USAGE when there is none. A
 * retired tree counts only with retired_too: the gate and the bisector
 * still reach the trees of the flights they judge, a new request does
 * not start on one.
 */
int db_gate_tree_url(struct db *db, const char *tree, int retired_too,
		     char **url, struct err *err);
/* The target ref of a branch gating tree (caller frees), or NULL. */
int db_gate_tree_target(struct db *db, const char *tree, char **ref,
			struct err *err);
/* The names of the branches in use. */
int db_gate_branches(struct db *db, struct vec *names, struct err *err);

/*
 * The branch's gate lock (a session advisory lock): one cycle of a branch
 * at a time, whether the daemon or `hangar gate run` runs it.
 */
int db_gate_lock(struct db *db, const char *branch, struct err *err);
void db_gate_unlock(struct db *db, const char *branch);

/* The branch's ended gate and retest flights still to decide, oldest first. */
int db_gate_to_decide(struct db *db, const char *branch, struct vec *ids,
		      struct err *err);
/* The branch's gate flight still running or undecided, or 0. */
int db_gate_open_flight(struct db *db, const char *branch, long *id,
			struct err *err);
/* A flight's status and verdict (caller frees), its newest retest flight
 * (or 0); ERR_NOTFOUND. */
int db_gate_flight_state(struct db *db, long id, char **status,
			 char **verdict, long *retest, struct err *err);
/* The report stored when the flight was decided (caller frees; NULL when
 * not decided yet). */
int db_gate_stored_report(struct db *db, long id, char **json, char **text,
			  struct err *err);
/* The branches with their controls and last decision, as JSON. */
int db_branch_list_json(struct db *db, json_t **ret, struct err *err);

/*
 * The newest gate flight of branch that tested rev of tree, compared
 * with target (NULL: with anything), or 0; *verdict (caller frees) its
 * verdict and *age the seconds since it was decided (or made), when not
 * NULL.
 */
int db_gate_tested(struct db *db, const char *branch, const char *tree,
		   const char *rev, const char *target, long *flight,
		   char **verdict, long *age, struct err *err);
/* The revision of tree in the branch's newest gate flight that pushed
 * (else that tested it at all), or NULL in *rev. */
int db_gate_last_rev(struct db *db, const char *branch, const char *tree,
		     int pushed_only, char **rev, struct err *err);

struct gate_decision {
	long flight;
	const char *branch;
	const char *verdict;      /* push | no-push | none */
	int pushed;
	long baseline_flight;
	const char *report_json, *report_text, *push_log;
	const char *pushed_rev;   /* for the event, or NULL */
	int clear_force;          /* the forced revision was pushed */
};
int db_gate_record(struct db *db, const struct gate_decision *d,
		   struct err *err);
/* Reopens the branch's newest decided, unpushed gate flight that tested
 * rev, so that a force-push of rev is decided again; *flight or 0. */
int db_gate_reopen(struct db *db, const char *branch, const char *tree,
		   const char *rev, long *flight, struct err *err);

/* `hangar branch block|unblock|force-push`, each an event with who and why.
 * rev NULL clears a force. */
int db_branch_block(struct db *db, const char *branch, int on,
		    const char *reason, struct err *err);
int db_branch_force(struct db *db, const char *branch, const char *rev,
		    const char *reason, struct err *err);

/* The branch's events (pushes, blocks, forces, decisions), newest first:
 * [{"at", "actor", "kind", "flight", "detail"}]. */
int db_branch_events_json(struct db *db, const char *branch, int limit,
			  json_t **ret, struct err *err);
/* Records the staging and target revisions the gate just saw. */
int db_gate_seen(struct db *db, const char *branch, const char *staging,
		 const char *target, struct err *err);

#endif
