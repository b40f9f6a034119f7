/*
 * plan.h: the planner's pure core. Given the hosts, what holds them now,
 * the maintenance windows and the waiting requests (jobs and reservations),
 * it books every request on hosts at its earliest start, in queue order,
 * and says which can start now. No I/O: the scheduler daemon fills the
 * input from PostgreSQL and writes the output back; tests fill it by hand.
 *
 * The algorithm is conservative backfill: requests are taken in queue
 * order (priority, then FIFO by flight, builds before tests), and each is
 * booked at the earliest time its hosts are free for its estimated
 * duration, around every booking made before it. A request further back
 * may so start now only in a hole that delays nothing ahead of it.
 *
 * Times are seconds since the epoch. Every choice breaks ties by input
 * order, so the same input gives the same plan.
 */
#ifndef HANGAR_PLAN_H
#define HANGAR_PLAN_H

#include <stddef.h>
#include <stdint.h>

typedef int64_t plan_time;

/* "Never": the start of a request no usable host can take. */
#define PLAN_NEVER ((plan_time)INT64_MAX / 4)

struct plan_config {
	/* OSSTest's host-choice weights, in seconds of start time */
	plan_time prevfail_bonus;   /* re-run a failure on its host: 7 days */
	plan_time variation_max;    /* spread jobs over hosts: 12 hours */
	/*
	 * Starvation: off when 0. A job gives up (starved) only when no
	 * usable host can take it at all (never while its hosts are merely
	 * busy), after it waited starve_wait and starve_estimates times its
	 * estimated duration, and only while at least as many jobs of its
	 * flight are done as wait (OSSTest: at most half a flight starves).
	 */
	int starvation;
	plan_time starve_wait;      /* 4 hours */
	int starve_estimates;       /* 4 */
	/*
	 * A job pinned to a host that is not usable (broken, maintenance,
	 * retired) waits this long from when the host became unusable (or
	 * from its queued_at, if later), then gives up (PLAN_HOST_GONE).
	 * Off when 0. 1 hour.
	 */
	plan_time pinned_wait;
	/* testing only: evaluate every candidate host at every possible
	 * start, to check the pruned search gives the very same plan */
	int exhaustive;
};

/* OSSTest's defaults. */
void plan_config_default(struct plan_config *cfg);

struct plan_host {
	const char *name;
	const char *arch;
	const char *const *flags;   /* NULL-terminated; may include equiv-*
				     * (its class) and share-* (shareable) */
	int usable;                 /* state free: may take new work */
	/* for the jobs pinned to an unusable host: its state ("broken",
	 * "maintenance", "retired"; a retired host is never a candidate
	 * nor in a blockage), the reason given (or NULL), and since when
	 * it has been unusable without a break (0: unknown) */
	const char *state;
	const char *state_reason;
	plan_time unusable_since;
	int share_slots;            /* a share-* host's share_max_tasks */
	int share_worn;             /* its current sharing is worn out: no
				     * new sharer until it empties */
	const char *site;           /* where it is (NULL: the one site): a
				     * job's hosts are all of one site */
};

/* Something holding a host now, or a window it is booked for. */
struct plan_busy {
	size_t host;                /* index into hosts */
	int slot;                   /* -1: the whole host; else share slot */
	plan_time start, end;       /* end > start; end may be estimated */
	const char *what;           /* "12.build-amd64", "reservation 3" */
};

/* One job's history on one host, for estimates and host choice. */
struct plan_history {
	size_t host;
	plan_time duration;         /* estimated duration there */
	plan_time last_run;         /* start of its latest run there */
	int last_failed;            /* its latest run there failed */
};

enum plan_kind {
	PLAN_JOB,
	PLAN_RESERVATION,           /* a person's request for hosts */
	PLAN_BLOCKAGE,              /* a fixed window on every matching host */
};

struct plan_request {
	enum plan_kind kind;
	const char *what;           /* "12.build-amd64", "reservation 3" */
	int priority;               /* higher first */
	plan_time queued_at;        /* FIFO within a priority; a job's wait
				     * for starvation counts from it */
	int is_build;               /* builds go before tests of a flight */
	long flight;                /* jobs: for starvation and ordering */
	const char *arch;           /* NULL: any */
	const char *const *flags;   /* required; equiv-X asks the hosts to
				     * share a class; share-T lets the job
				     * take a share slot of a share-T host */
	int nhosts;
	const char *const *pinned;  /* NULL, or nhosts entries, each a host
				     * name or NULL */
	plan_time duration;         /* estimate on a host without history */
	const struct plan_history *history;
	size_t nhistory;
	plan_time not_before;       /* e.g. a blockage's start; 0: now */
	const size_t *deps;         /* indices of requests it waits for */
	size_t ndeps;
	plan_time deps_end;         /* dependencies running now end then */
	const char *deps_what;      /* one of those, for the reason */
	int deps_pending;           /* it waits for dependencies: never
				     * allocated now, planned after them */
	int never_starve;           /* runvar starvation=never */
};

/* Per flight: how much of it is done, for starvation. */
struct plan_flight {
	long flight;
	int done;                   /* D: jobs finished pass or fail */
	int waiting;                /* W: jobs queued, preparing, running */
};

struct plan_input {
	plan_time now;
	struct plan_config cfg;
	const struct plan_host *hosts;
	size_t nhosts;
	const struct plan_busy *busy;
	size_t nbusy;
	const struct plan_request *reqs;
	size_t nreqs;
	const struct plan_flight *flights;
	size_t nflights;
	int no_timeline;            /* the caller reads no timeline: out's
				     * stay empty (a copy of every booking
				     * less to make) */
};

enum plan_outcome {
	PLAN_START,                 /* allocate now */
	PLAN_WAIT,                  /* booked for later */
	PLAN_NO_HOST,               /* no usable host can ever take it */
	PLAN_STARVED,               /* gives up: no host for far too long */
	PLAN_HOST_GONE,             /* a job gives up: a host it is pinned
				     * to stayed unusable for pinned_wait */
	PLAN_BLOCKED_WINDOW,        /* a blockage: books its window */
};

struct plan_booking {
	size_t host;
	int slot;                   /* -1 whole host, else share slot */
};

struct plan_result {
	enum plan_outcome outcome;
	plan_time start, end;       /* PLAN_NEVER when no host */
	struct plan_booking *hosts; /* nhosts of the request (blockages:
				     * nbooked) */
	size_t nbooked;
	char reason[256];           /* why it waits, for people; for
				     * PLAN_HOST_GONE why it ended */
	size_t gone_host;           /* PLAN_HOST_GONE: the host it names */
};

/* A booking on a host's timeline, for whoever draws the plan. */
struct plan_slot_entry {
	plan_time start, end;
	int slot;
	long req;                   /* index of the request, or -1 - index of
				     * the busy entry */
};

struct plan_output {
	struct plan_result *results;       /* nreqs, in input order */
	size_t *order;                     /* the queue order (indices) */
	struct plan_slot_entry **timeline; /* per host, sorted by start */
	size_t *ntimeline;
	/* the earliest time after now at which a request's outcome changes
	 * with time alone (a pinned wait ends), for the daemon to plan
	 * again then; PLAN_NEVER when none */
	plan_time next_change;
	struct plan_booking *bookings;     /* every result's hosts point in */
	/* planned again: per request, 1 where its result (outcome, times,
	 * hosts and reason) is the same request's in the last plan; NULL
	 * from plan_compute() */
	unsigned char *same_result;
};

/*
 * Plans in; out is filled (plan_output_release() it). Returns 0, or -1
 * if the input is inconsistent (a busy entry naming no host); a pin
 * naming no usable host makes that request PLAN_NO_HOST (or, for a job
 * pinned to an unusable host for pinned_wait, PLAN_HOST_GONE). With
 * pins, result hosts[k] is the host of pinned[k].
 */
int plan_compute(const struct plan_input *in, struct plan_output *out);
void plan_output_release(const struct plan_input *in, struct plan_output *out);

/*
 * Planning again. A memo keeps what one plan needs to make the next one
 * cheaply: each request's inputs and result, the hosts and their busy
 * time. plan_compute_again() gives exactly plan_compute()'s output, but
 * a request whose inputs are as they were, planned in the same order,
 * whose dependencies kept their results and none of whose candidate
 * hosts changed since the last plan up to its turn, keeps its result
 * without a search; one whose candidates changed only where it did not
 * book is compared with those hosts alone; the rest are searched.
 * Requests are known by their what (of two with one name, only one can
 * be the last plan's). Another clock, configuration or host list, or a
 * request planned out of its last turn's order (say, a dependency ahead
 * of it in the queue), plans everything, and the memo keeps that plan.
 */
struct plan_memo;

struct plan_again_stats {
	int whole;                  /* planned from scratch */
	size_t kept;                /* results kept without a search */
	size_t compared;            /* compared with changed hosts only */
	size_t searched;            /* planned as plan_compute does */
	size_t changed_hosts;       /* hosts that changed along the way */
};

struct plan_memo *plan_memo_new(void);
void plan_memo_free(struct plan_memo *m);
int plan_compute_again(const struct plan_input *in, struct plan_output *out,
		       struct plan_memo *m, struct plan_again_stats *st);

/* "start", "wait", "no-host", "starved", "host-gone", "blockage". */
const char *plan_outcome_str(enum plan_outcome o);

#endif
