/*
 * power-command.c: power through the lab's own commands, LAVA style
 * (power-on, power-off, optionally power-status), each run with `sh -c`
 * and HANGAR_HOST=NAME in its environment. Exit 0 is success; power-status
 * exits 0 for on, 1 for off, anything else means it could not tell. With
 * a power-status the state is read first (nothing is done when it is
 * already right) and verified afterwards; a failing power-on/off command
 * is not run again: it said it failed, and it may not be idempotent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "power-backend.h"
#include "proc.h"
#include "xalloc.h"
#include "banned.h"

static const struct power_timing power_command_timing = {
	.poll_ms = 500,
	.resend_ms = 0,
	.timeout_ms = 10000,
};

struct power_command {
	const struct power_host *h;
	const char *on, *off, *status;
	char *env[2];
	struct buf out;
};

static const char *power_command_output(struct power_command *c)
{
	buf_rtrim(&c->out);
	for (size_t i = 0; i < c->out.len; i++)
		if (c->out.buf[i] == '\n' || c->out.buf[i] == '\r')
			c->out.buf[i] = ' ';
	return c->out.len ? c->out.buf : "(no output)";
}

static void power_command_init(struct power_command *c,
			       const struct power_host *h)
{
	memset(c, 0, sizeof(*c));
	c->h = h;
	c->on = power_config_str(h, "power_on");
	c->off = power_config_str(h, "power_off");
	c->status = power_config_str(h, "power_status");
	c->env[0] = xasprintf("HANGAR_HOST=%s", h->name);
	buf_init(&c->out, POWER_OUTPUT_CAP);
}

static void power_command_release(struct power_command *c)
{
	free(c->env[0]);
	buf_release(&c->out);
}

/* Runs cmd; its exit status (0-255) or a negative error. */
static int power_command_run(struct power_command *c, const char *cmd,
			     struct err *err)
{
	struct proc_opts opts = { .env_add = c->env };
	const char *argv[] = { "sh", "-c", cmd, NULL };

	buf_reset(&c->out);
	return proc_run((char *const *)argv, &opts, &c->out, err);
}

static int power_command_get(void *ctx, int *state, struct err *err)
{
	struct power_command *c = ctx;
	int rc = power_command_run(c, c->status, err);

	*state = POWER_STATE_UNKNOWN;
	if (rc < 0)
		return err_prefix(err, "power-status");
	if (rc == 0 || rc == 1) {
		*state = rc == 0 ? POWER_STATE_ON : POWER_STATE_OFF;
		return 0;
	}
	return err_set(err, ERR_RETRY,
		       "power-status '%s' exited %d (0 on, 1 off): %s", c->status,
		       rc, power_command_output(c));
}

static int power_command_set(void *ctx, int want, struct err *err)
{
	struct power_command *c = ctx;
	const char *what = want == POWER_STATE_ON ? "power-on" : "power-off";
	const char *cmd = want == POWER_STATE_ON ? c->on : c->off;
	int rc = power_command_run(c, cmd, err);

	if (rc < 0)
		return err_prefix(err, "%s", what);
	if (rc != 0)
		return err_set(err, ERR_FAIL, "%s '%s' exited %d: %s", what, cmd,
			       rc, power_command_output(c));
	return 0;
}

static int power_command_switch(const struct power_host *h, int want,
				const volatile sig_atomic_t *cancel,
				struct power_result *r, struct err *err)
{
	struct power_command c;
	struct power_prim p = { &c, power_command_get, power_command_set,
				"power" };
	int rc;

	power_command_init(&c, h);
	if (!(want == POWER_STATE_ON ? c.on : c.off)) {
		rc = err_set(err, ERR_USAGE, "no %s command configured",
			     want == POWER_STATE_ON ? "power-on" : "power-off");
	} else if (cancel && *cancel) {
		rc = err_set(err, ERR_CANCELLED, "cancelled");
	} else if (c.status) {
		rc = power_switch(&p, want, &power_command_timing, cancel, r, err);
	} else {
		/* no way to read the state: the command's word is all we have */
		r->attempts = 1;
		rc = power_command_set(&c, want, err);
		if (rc == 0)
			snprintf(r->detail, sizeof(r->detail),
				 "no power-status to verify it");
	}
	power_command_release(&c);
	return rc;
}

static int power_command_on(const struct power_host *h,
			    const volatile sig_atomic_t *cancel,
			    struct power_result *r, struct err *err)
{
	return power_command_switch(h, POWER_STATE_ON, cancel, r, err);
}

static int power_command_off(const struct power_host *h,
			     const volatile sig_atomic_t *cancel,
			     struct power_result *r, struct err *err)
{
	return power_command_switch(h, POWER_STATE_OFF, cancel, r, err);
}

static int power_command_status(const struct power_host *h,
				struct power_result *r, struct err *err)
{
	struct power_command c;
	int rc = 0;

	power_command_init(&c, h);
	if (c.status) {
		r->attempts = 1;
		rc = power_command_get(&c, &r->state, err);
		if (rc == ERR_RETRY)
			err->code = rc = ERR_FAIL;
	} else {
		r->state = POWER_STATE_UNKNOWN;
		snprintf(r->detail, sizeof(r->detail),
			 "no power-status command configured");
	}
	power_command_release(&c);
	return rc;
}

const struct power_backend power_backend_command = {
	.name = "command",
	.on = power_command_on,
	.off = power_command_off,
	.status = power_command_status,
};
