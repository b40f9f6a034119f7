/*
 * power-none.c: hosts nobody can switch (power = none): the state is
 * unknown, and switching is a configuration problem (ERR_USAGE), not lab
 * trouble: a recipe that power-cycles such a host cannot work.
 */
#include <stdio.h>

#include "power-backend.h"
#include "banned.h"

static int power_none_switch(const struct power_host *h,
			     const volatile sig_atomic_t *cancel,
			     struct power_result *r, struct err *err)
{
	(void)h;
	(void)cancel;
	r->state = POWER_STATE_UNKNOWN;
	return err_set(err, ERR_USAGE, "no power control (power = none)");
}

static int power_none_status(const struct power_host *h,
			     struct power_result *r, struct err *err)
{
	(void)h;
	(void)err;
	r->state = POWER_STATE_UNKNOWN;
	snprintf(r->detail, sizeof(r->detail), "no power control (power = none)");
	return 0;
}

const struct power_backend power_backend_none = {
	.name = "none",
	.on = power_none_switch,
	.off = power_none_switch,
	.status = power_none_status,
};
