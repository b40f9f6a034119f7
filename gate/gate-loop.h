/*
 * gate-loop.h: the gate daemon (`hangar gate`): every branch's cycle
 * (gate.h), then a step of every running bisection (bisector.h), woken
 * when a flight ends or the lab changes (NOTIFY) and at least every
 * interval; a database outage is waited out.
 */
#ifndef HANGAR_GATE_LOOP_H
#define HANGAR_GATE_LOOP_H

#include <signal.h>

#include "bisector.h"
#include "db.h"
#include "gate.h"

struct gate_loop_conf {
	struct gate_conf gate;
	struct bisector_conf bisect;
	long interval_ms;
};

/*
 * Cycles until *stop. When *reload is set it is cleared and reload(arg,
 * conf) asked for new settings (a SIGHUP's). once: one cycle of every
 * branch, then returns 1 if any failed (or the database was down), else 0.
 */
int gate_loop(struct db *db, struct gate_loop_conf *conf, int once,
	      volatile sig_atomic_t *stop, volatile sig_atomic_t *reload,
	      void (*reload_fn)(void *arg, struct gate_loop_conf *conf),
	      void *arg, struct err *err);

#endif
