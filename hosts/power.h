/*
 * power.h: switching lab hosts on and off. One backend per method (ipmi
 * through ipmitool, pdudaemon over its HTTP interface, LAVA-style
 * commands, none), behind one ops table; no database here: callers record
 * every action in the host's history (db_host_power_record).
 */
#ifndef HANGAR_POWER_H
#define HANGAR_POWER_H

#include <jansson.h>
#include <signal.h>

#include "err.h"

enum power_action { POWER_ON, POWER_OFF, POWER_CYCLE, POWER_STATUS };
enum power_state { POWER_STATE_UNKNOWN = -1, POWER_STATE_OFF = 0,
		   POWER_STATE_ON = 1 };

const char *power_action_str(enum power_action a);   /* "on", "off", ... */
const char *power_state_str(int state);              /* "on", "off", "unknown" */
/* Parses "on|off|cycle|status"; -1 if none of them. */
int power_action_parse(const char *s);

/* What a backend needs of a host: hosts.power and hosts.power_config. */
struct power_host {
	const char *name;
	const char *method;        /* ipmi | pdudaemon | command | none */
	json_t *config;            /* borrowed: hosts.power_config */
	int cycle_time_s;          /* off..on pause of a cycle */
	const char *state;         /* the lab's state directory, where
				    * ipmitool gets a HOME (power-ipmi.c);
				    * NULL: none */
};

struct power_result {
	int state;                 /* enum power_state after the action;
				    * UNKNOWN where the method cannot tell
				    * (pdudaemon, command without
				    * power-status, none) */
	int attempts;              /* commands or requests sent (0: it was
				    * already in the wanted state) */
	long ms;                   /* time taken */
	char detail[256];          /* e.g. "sent 'ipmitool power on' 3 times" */
};

/*
 * Does the action (on/off resend until the reported state changes, where
 * the method reports a state; cycle = off, pause cycle_time_s, on). *r is
 * filled in every case, failures included, for the history. ERR_FAIL with
 * a message when the power control did not do it (lab trouble: the caller
 * marks steps broken), ERR_CANCELLED when cancel (may be NULL) was set,
 * ERR_USAGE for a method or configuration that cannot do it (none cannot
 * switch). Messages start "host 'NAME': power ACTION: ". Blocks (up to
 * ~30 s per switch for ipmi, 60 s for a pdudaemon request); no global
 * state, so threads may run it for different hosts at once.
 */
int power_run(const struct power_host *h, enum power_action a,
	      const volatile sig_atomic_t *cancel, struct power_result *r,
	      struct err *err);

#endif
