/*
 * scheduler.h: the planning pass (snapshot -> plan -> allocations and
 * plan rows) and the daemon around it (leader lock, LISTEN/NOTIFY, timer).
 */
#ifndef HANGAR_SCHEDULER_H
#define HANGAR_SCHEDULER_H

#include "db.h"
#include "estimate.h"
#include "labconf.h"

struct scheduler {
	struct db *db;
	struct lab_sched cfg;
	const char *name;          /* "scheduler pid@host", for plan_state */
	struct estimates est;
	plan_time watermark;       /* runs finished before this are known */
	int no_leader;             /* testing only: act without the lock */
};

struct sched_stats {
	double read_ms, plan_ms, write_ms, total_ms;
	int queued;                /* jobs and reservations waiting */
	int hosts;
	int allocated;             /* allocations made by this pass */
	int ended;                 /* jobs blocked or starved */
	int reclaimed;             /* owners found dead, shares reset */
	int rows_written;          /* plan rows that changed */
};

void scheduler_init(struct scheduler *s, struct db *db,
		    const struct lab_sched *cfg, const char *name);
void scheduler_release(struct scheduler *s);

/* One pass. Returns 0, or an error code with err set. */
int scheduler_pass(struct scheduler *s, struct sched_stats *st,
		   struct err *err);

/*
 * The daemon: passes whenever something changes (NOTIFY) and at least
 * every cfg.interval, while it holds the leader lock; a standby retries
 * the lock. Returns when *stop becomes non-zero (a signal handler sets
 * it); *reload asks it to take new settings from reload_cfg.
 */
int scheduler_loop(struct scheduler *s, volatile int *stop,
		   volatile int *reload, const struct lab_sched *reload_cfg,
		   struct err *err);

#endif
