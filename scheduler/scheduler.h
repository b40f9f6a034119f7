/*
 * scheduler.h: the planning pass (snapshot -> plan -> allocations and
 * plan rows) and the daemon around it (leader lock, LISTEN/NOTIFY, timer).
 */
#ifndef HANGAR_SCHEDULER_H
#define HANGAR_SCHEDULER_H

#include <signal.h>

#include "db.h"
#include "db-sched.h"
#include "estimate.h"
#include "labconf.h"
#include "plan.h"

struct pass_keep;

struct scheduler {
	struct db *db;
	struct lab_sched cfg;
	const char *name;          /* "scheduler pid@host", for plan_state */
	struct estimates est;
	plan_time watermark;       /* runs finished before this are known */
	struct plan_memo *memo;    /* the last plan, to plan again from */
	uint64_t plan_stored;      /* snap.read_no of the last pass, if it
				    * wrote every plan row it had to and
				    * memo holds its plan; else 0 */
	int no_leader;             /* testing only: act without the lock */
	int leader;                /* it holds the leader lock */
	double next_change_ms;     /* monotonic ms at which the last plan
				    * changes with time alone (a pinned
				    * wait ends); 0: never */
	/* hosts, the queue, allocations and reservations, kept between
	 * passes: a pass reads only the rows that changed */
	struct sched_state *state;
	struct sched_state *check; /* a full read to compare it with */
	double last_full_ms;       /* monotonic ms of the last full read */
	double last_read_ms;       /* and of the last read of any kind */
	long differences;          /* rows checks found wrong, all told */
	int verify;                /* testing: every pass also reads all and
				    * wants the same plan from both */
	long next_expiry;          /* db_sched_next_expiry() as the last
				    * pass's state write asked it (-1:
				    * nothing leased or reserved) ... */
	int expiry_known;          /* ... if that pass got that far */
	struct pass_keep *keep[2]; /* what passes build the planner's input
				    * in, kept for the next (scheduler.c) */
};

struct sched_stats {
	double read_ms, plan_ms, write_ms, total_ms;
	double input_ms;           /* of plan_ms: building the planner's input */
	int queued;                /* jobs and reservations waiting */
	int hosts;
	int allocated;             /* allocations made by this pass */
	int ended;                 /* jobs blocked, starved or that gave
				    * up on a pinned host */
	int reclaimed;             /* owners found dead, shares reset */
	int rows_written;          /* plan rows that changed */
	struct plan_again_stats again;   /* how the plan was made */
	int full;                  /* it read everything (start, reconnect,
				    * a check) */
	long differences;          /* a check's: rows the kept copy had
				    * wrong (it plans from the full read) */
};

void scheduler_init(struct scheduler *s, struct db *db,
		    const struct lab_sched *cfg, const char *name);
void scheduler_release(struct scheduler *s);
/* New settings (a SIGHUP's), from the next pass on. */
void scheduler_set_config(struct scheduler *s, const struct lab_sched *cfg);

/*
 * One pass. Reads everything the first time, after an error (a lost
 * connection), when it becomes the leader, and every [scheduler]
 * full-read-interval (then also the changes, in the same snapshot, and
 * compares); else only what changed. With s->verify every pass is such a
 * check, and also plans from both copies: ERR_INVALID if the plans differ
 * (err says where). Returns 0, or an error code with err set.
 */
int scheduler_pass(struct scheduler *s, struct sched_stats *st,
		   struct err *err);

/*
 * The daemon: passes whenever something changes (NOTIFY), when the next
 * lease or reservation expires, when a pinned job's wait for its host
 * ends, and at least every cfg.interval, while it
 * holds the leader lock; a standby retries the lock. Returns 0 when *stop
 * or *hup becomes non-zero (signal handlers set them; the caller re-reads
 * its settings on hup and calls it again).
 */
int scheduler_loop(struct scheduler *s, volatile sig_atomic_t *stop,
		   volatile sig_atomic_t *hup, struct err *err);

#endif
