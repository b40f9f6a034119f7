/*
 * db-sched.h: what the scheduler reads and writes: a consistent snapshot
 * of hosts, the queue, allocations and reservations; lease and ownership
 * clean-up; allocating hosts with row locks; the plan columns; and the
 * reservations and blockages people ask for. The plan as people see it is
 * db-sched-view.h.
 */
#ifndef HANGAR_DB_SCHED_H
#define HANGAR_DB_SCHED_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"

/*
 * A snapshot: each query's rows as an array of typed rows, converted once,
 * each array sorted by its key in the C collation. Strings point into
 * query results kept by the struct sched_state that holds the snapshot.
 * Times are seconds since the epoch, 0 for NULL; a string is NULL for
 * NULL only where it says so.
 */
struct sched_results;

/* A status word as the scheduler sorts it, found once when its row is
 * read: a pass looks at every row's, and the texts lie scattered. */
enum sched_status {
	SCHED_ST_NONE,              /* NULL: no such job */
	SCHED_ST_OTHER,             /* blocked, broken, starved, ... */
	SCHED_ST_QUEUED,
	SCHED_ST_PREPARING,
	SCHED_ST_RUNNING,
	SCHED_ST_PASS,
	SCHED_ST_FAIL,
};
/* A job's intent, for its priority. */
enum sched_intent {
	SCHED_INTENT_OTHER,         /* adhoc, and any other */
	SCHED_INTENT_GATE,
	SCHED_INTENT_BISECT,
	SCHED_INTENT_RETEST,
};

/* A host, retired ones too, by name. */
struct sched_host_row {
	const char *name, *arch, *state;
	const char *flags;          /* space separated, "" for none */
	const char *share_type;     /* NULL: not shared now */
	const char *state_reason;   /* or NULL */
	int share_max_tasks, share_max_wear, share_wear;
	int64_t unusable_since;     /* since when it has not been free */
	const char *site;           /* where it is (a job's hosts share one) */
};

/* A job of an unfinished flight; the array is in (flight, job) order
 * (job in the C collation). */
struct sched_job_row {
	int64_t flight;
	const char *job, *status, *arch, *recipe, *intent;
	const char *flags;          /* space separated, "" for none */
	/* arch and flags: rows with the same text have the same pointer
	 * (until the next read of everything) */
	int nhosts;
	int branch_prio;            /* its flight's branch's, 0 for none */
	int is_build;               /* its recipe has a build step */
	int64_t queued_at;          /* its flight's */
	int64_t planned_start, planned_end;
	const char *planned_hosts;  /* space separated, or NULL */
	const char *wait_reason;    /* or NULL */
	enum sched_status status_kind;   /* status's */
	enum sched_intent intent_kind;   /* intent's */
	size_t job_len;             /* strlen(job) */
	uint64_t read_no;           /* the read that brought it (as
				     * snap.read_no), whatever its plan
				     * columns' own writes since */
};

/* A dependency of a job of an unfinished flight, in no order. */
struct sched_dep_row {
	int64_t flight, dep_flight;
	const char *job, *dep_job;
	const char *dep_status;     /* the dependency's status when it is in
				     * another flight; NULL in the same one
				     * (the jobs have it) or if it is not */
	enum sched_status dep_status_kind;   /* dep_status's */
};

/* A runvar of a queued job that matters here: host, hostN pins (what a
 * request set, not the scheduler's own) and starvation; in (flight, job,
 * name) order. */
struct sched_pin_row {
	int64_t flight;
	const char *job, *name, *val;
};

/* A live allocation, by host and share slot. */
struct sched_alloc_row {
	const char *host;
	int shareix;                /* 0 whole, else 1..N */
	int64_t flight;             /* a job's */
	const char *job;            /* NULL: a reservation's */
	int64_t reservation;        /* a reservation's */
	int64_t since;
	int64_t planned_end;
	int64_t res_end;            /* the reservation's end */
};

/* A live reservation or blockage, by id. */
struct sched_res_row {
	int64_t id;
	const char *kind;           /* "reservation" or "blockage" */
	const char *owner, *status;
	const char *arch;           /* or NULL */
	const char *flags;          /* space separated, "" for none */
	const char *host;           /* the one it asks for, or NULL */
	int nhosts;
	int64_t duration;           /* seconds */
	int64_t start, end, created, planned_start;
	const char *planned_hosts;  /* space separated, or NULL */
	const char *wait_reason;    /* or NULL */
};

struct sched_snapshot {
	int64_t now;
	struct sched_host_row *hosts;
	size_t nhosts;
	struct sched_job_row *jobs;
	size_t njobs;
	struct sched_dep_row *deps;
	size_t ndeps;
	struct sched_pin_row *pins;
	size_t npins;
	struct sched_alloc_row *allocs;
	size_t nallocs;
	struct sched_res_row *res;
	size_t nres;
	/* moves whenever a job or dependency row comes or goes (and on a
	 * read of everything), and is never the same for two copies: while
	 * it stays, jobs and deps hold the same keys at the same places,
	 * only their other fields may have changed */
	uint64_t job_keys;
	/* counts the reads of every copy: a job row with a read_no up to
	 * a snapshot's came before it, and was not read again since */
	uint64_t read_no;
};

/*
 * One scheduler acts at a time: the holder of a session advisory lock on
 * its connection (released by PostgreSQL when that connection ends).
 * Returns 1 when this connection holds it, 0 when another does.
 */
int db_sched_try_leader(struct db *db, struct err *err);

/*
 * Opens a read-only repeatable-read transaction: what it reads is one
 * snapshot. *now gets the database's time (whole seconds). The caller ends
 * it (db_commit(), db_rollback()); on error it is over.
 */
int db_sched_begin_read(struct db *db, int64_t *now, struct err *err);

/*
 * The scheduler's copy of what a pass reads, kept between passes (the
 * rows of a snapshot and the results they point into). Not thread-safe.
 */
struct sched_state;
struct sched_state *db_sched_state_new(void);
void db_sched_state_free(struct sched_state *st);
/* The rows as of the last read (owned by st, valid until its next read
 * or free). */
const struct sched_snapshot *db_sched_state_snapshot(
	const struct sched_state *st);
/* Whether st holds a complete read (it does not after a failed one). */
int db_sched_state_valid(const struct sched_state *st);
/* The next read of st is a full one (a reconnection, a leader change). */
void db_sched_state_invalidate(struct sched_state *st);
/* The database's time of st's last read, 0 if none. */
int64_t db_sched_state_read_at(const struct sched_state *st);

/* What a read also asks, in its first round trip and its snapshot. */
struct sched_read_more {
	int64_t runs_since;         /* in: the runs finished after this
				     * (seconds), 0 for none */
	struct sched_runs *runs;    /* out: them (db_sched_runs_release()) */
	int expired;                /* out: a lease or a reservation
				     * db_sched_reclaim() takes back by time
				     * had ended (db_sched_reclaim_due()) */
	int verify;                 /* in: also ask db_sched_reclaim_held_sql */
	int held;                   /* out: its answer */
};

/*
 * One read-only repeatable-read snapshot. inc (may be NULL): when it is
 * valid, only the rows that changed since its last read are read again
 * and merged in (sched_changes, migration 0017); when it is not, or the
 * log says everything may have changed, all is read and *all set. full
 * (may be NULL): every row, read in the same snapshot, for a check that
 * inc holds the same. more (may be NULL): the finished runs and whether
 * something expired, in the same snapshot. On error both are invalid
 * (the next read is full) and more->runs is empty.
 */
int db_sched_state_read(struct db *db, struct sched_state *inc,
			struct sched_state *full, int *all,
			struct sched_read_more *more, struct err *err);
/* The plan rows of jobs just stored (db_sched_write_plan(), whose
 * writes are not logged), as the copy's rows now have them in the
 * database. */
struct sched_planned;
void db_sched_state_note_plan(struct sched_state *st,
			      const struct sched_planned *rows, size_t n);
/*
 * Rows of a and b that differ, or only one has; the first is described
 * in what (len bytes). 0: the same.
 */
long db_sched_state_diff(const struct sched_state *a,
			 const struct sched_state *b, char *what, size_t len);
/*
 * Deletes the change log entries st has read (older than its snapshot's
 * xmin) that are also older than keep_s seconds: another scheduler that
 * reads the log at least that often loses none.
 */
int db_sched_state_trim(struct db *db, const struct sched_state *st,
			  long keep_s, struct err *err);
/* Just the hosts and the queue: the floor a pass cannot beat. */
int db_sched_state_read_floor(struct db *db, struct err *err);
/*
 * For the benchmark: the first running job (by flight and name) that
 * b0100's fake worker holds (lease owner "bench") passes and gives back
 * its hosts, as a worker would finish it. Returns 1, or 0 when none runs.
 */
int db_sched_bench_end_job(struct db *db, struct err *err);

/* A finished run, for duration estimates and host choice. */
struct sched_run {
	const char *job, *host;
	int64_t flight;
	int failed;
	int64_t started, finished;
};
struct sched_runs {
	struct sched_run *v;        /* in finished order */
	size_t n;
	struct sched_results *results;   /* the strings' */
};
/* The rows of a query of runs (db_sched_state_read()'s) as runs; ret
 * takes res. */
void db_sched_runs_take(PGresult *res, struct sched_runs *ret);
void db_sched_runs_release(struct sched_runs *r);

/*
 * Gives back what dead owners hold (reference 3.1, without the manual
 * cleanup): allocations of jobs that ended, of reservations that ended or
 * expired; unclaimed jobs whose claim lease expired go back to the queue,
 * claimed jobs whose worker stopped heartbeating end broken. Unshares
 * empty worn hosts. Returns how many things it changed, or -1.
 */
int db_sched_reclaim(struct db *db, struct err *err);
/*
 * Whether db_sched_reclaim() could change anything in the database snap
 * was read from: expired (db_sched_reclaim_due_sql's answer in the same
 * snapshot: a lease or a reservation that ends with time has), or snap
 * has a live allocation of a job not preparing or running (or of a job
 * it has not), or a worn shared host without a live allocation. 0: at
 * that snapshot every statement of it would change nothing, so a
 * scheduler whose copy is exact need not run it.
 */
extern const char db_sched_reclaim_due_sql[];
int db_sched_reclaim_due(const struct sched_snapshot *snap, int expired);
/* Whether the database has what db_sched_reclaim_due() looks for in a
 * copy (an allocation or a shared host to give back): for a test. */
extern const char db_sched_reclaim_held_sql[];
/*
 * Milliseconds until the next thing db_sched_reclaim() takes back: a
 * lease of a claimed or allocated job, a reservation's end (0 when one is
 * due already); -1 when nothing is leased or reserved. Or an error code.
 */
long db_sched_next_expiry(struct db *db, struct err *err);

/* Marks queued jobs blocked (a dependency did not pass) or starved. */
int db_sched_end_jobs(struct db *db, const long *flights, const char **jobs,
		      const char **reasons, size_t n, const char *status,
		      struct err *err);

/*
 * Ends queued jobs broken that gave up on a pinned host (hosts[i], which
 * stayed broken, in maintenance or retired for [scheduler] pinned-wait),
 * with broken_reason reasons[i]: each only while it is still queued and
 * its host still not free, with one job.broken event naming the host
 * (detail: reason, "pinned": true). Returns how many it ended, or an
 * error code.
 */
int db_sched_end_pinned(struct db *db, const long *flights,
			const char **jobs, const char **hosts,
			const char **reasons, size_t n, struct err *err);

/* One host of an allocation: name and share slot (0 whole, else 1..N). */
struct sched_pick {
	const char *host;
	int shareix;
	const char *share_type;   /* for shareix > 0 */
	int64_t end;              /* planned end */
};

/*
 * Allocates hosts to a queued job: locks the job (SKIP LOCKED) and the
 * hosts, checks they are still free (and the share still open), records
 * the allocations, sets the job preparing with a claim lease and its host
 * runvars. ERR_EXISTS: someone else got there first (nothing changed).
 */
int db_sched_allocate_job(struct db *db, long flight, const char *job,
			  const struct sched_pick *picks, size_t n,
			  int claim_timeout, struct err *err);
/* The same for a waiting reservation: it becomes active for its
 * duration. */
int db_sched_allocate_reservation(struct db *db, long id,
				  const struct sched_pick *picks, size_t n,
				  struct err *err);
/* A blockage whose window began takes each free host it covers. */
int db_sched_allocate_blockage(struct db *db, long id, const char *host,
			       struct err *err);

/* One row of the plan to store (only rows that changed are passed). */
struct sched_planned {
	long flight;            /* jobs; 0 for a reservation */
	const char *job;
	long reservation;
	int64_t start, end;     /* 0: unknown */
	const char *hosts;      /* space separated, or NULL */
	const char *reason;
};
int db_sched_write_plan(struct db *db, const struct sched_planned *rows,
			size_t n, struct err *err);
/* The pass's figures for `hangar plan` and /metrics; differences (rows a
 * full read found the kept copy had wrong) adds to a running count.
 * next_ms (may be NULL): db_sched_next_expiry()'s answer, asked in the
 * same round trip. */
int db_sched_write_state(struct db *db, const char *scheduler, double ms,
			 int queued, int hosts, int allocated,
			 long differences, long *next_ms, struct err *err);

/* ---- people's requests ---- */

struct sched_reserve {
	const char *owner;
	const char *host;       /* or arch + flags */
	const char *arch;
	const char *flags;      /* space separated, or NULL */
	int nhosts;
	long duration;          /* seconds */
	const char *reason;
};
/* Queues a reservation; *id gets its number. */
int db_sched_reserve(struct db *db, const struct sched_reserve *r, long *id,
		     struct err *err);
/* A blockage of hosts (host, or arch/flags) from start to end (any
 * timestamp PostgreSQL understands). */
int db_sched_block(struct db *db, const struct sched_reserve *r,
		   const char *from, const char *to, long *id,
		   struct err *err);
/* Ends a reservation or blockage and frees its hosts. ERR_NOTFOUND if it
 * is not live. */
int db_sched_release(struct db *db, long id, struct err *err);

/* Where a reservation or blockage is, for whoever waits on it. */
struct sched_res_state {
	char *status;          /* "waiting", "active", "released", "expired" */
	char *hosts;           /* planned or held, space separated; "" */
	char *until;           /* its end, ISO 8601 UTC */
	char *wait_reason;     /* or NULL: not planned yet */
};
/* Reads reservation id into *ret (the caller's, to
 * db_sched_res_state_release()); ERR_NOTFOUND if there is none. */
int db_sched_res_state(struct db *db, long id, struct sched_res_state *ret,
		       struct err *err);
void db_sched_res_state_release(struct sched_res_state *s);

#endif
