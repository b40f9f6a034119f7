/*
 * worker.h: the worker daemon (`hangar worker`): slots threads that claim
 * and run jobs (each with its own database connection, woken by NOTIFY
 * when the scheduler gives a job hosts), one heartbeat thread that keeps
 * the leases of its jobs alive and notices cancellations, and health
 * checks of broken hosts when a slot is idle. Any number of workers, on
 * any machines that reach the database and the state directory.
 */
#ifndef HANGAR_WORKER_H
#define HANGAR_WORKER_H

#include "job-run.h"

/*
 * Runs until SIGTERM or SIGINT (the jobs it runs are then stopped and
 * handed back to the queue). SIGHUP is ignored here (the configuration
 * in conf is the caller's). Returns 0, or an error when it could not
 * start.
 */
int worker_main(const struct worker_conf *conf, struct err *err);

#endif
