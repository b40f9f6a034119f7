/*
 * power.c: the power methods' dispatch (an ops table of backends, one
 * file each), the cycle (off, pause, on) composed here for all of them,
 * and the switch-and-verify loop that the methods able to read the state
 * (ipmi, command with power-status) share.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "power-backend.h"
#include "proc.h"
#include "banned.h"

static const struct power_backend *const power_backends[] = {
	&power_backend_ipmi,
	&power_backend_pdu,
	&power_backend_command,
	&power_backend_none,
	NULL,
};

static const char *const power_action_names[] = {
	[POWER_ON] = "on",
	[POWER_OFF] = "off",
	[POWER_CYCLE] = "cycle",
	[POWER_STATUS] = "status",
};

const char *power_action_str(enum power_action a)
{
	if ((unsigned)a >= sizeof(power_action_names) / sizeof(power_action_names[0]))
		return "unknown";
	return power_action_names[a];
}

const char *power_state_str(int state)
{
	switch (state) {
	case POWER_STATE_ON: return "on";
	case POWER_STATE_OFF: return "off";
	default: return "unknown";
	}
}

int power_action_parse(const char *s)
{
	if (!s)
		return -1;
	for (size_t i = 0;
	     i < sizeof(power_action_names) / sizeof(power_action_names[0]); i++)
		if (!strcmp(s, power_action_names[i]))
			return (int)i;
	return -1;
}

const char *power_config_str(const struct power_host *h, const char *key)
{
	json_t *v = h->config ? json_object_get(h->config, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int power_pause(long ms, const volatile sig_atomic_t *cancel,
		struct err *err)
{
	long long end = proc_now_ms() + ms;

	for (;;) {
		long long left = end - proc_now_ms();

		if (cancel && *cancel)
			return err_set(err, ERR_CANCELLED, "cancelled");
		if (left <= 0)
			return 0;
		/* a signal (the cancel) cuts the poll short */
		poll(NULL, 0, left > 100 ? 100 : (int)left);
	}
}

static double power_secs(long long ms)
{
	return (double)ms / 1000.0;
}

int power_switch(const struct power_prim *p, int want,
		 const struct power_timing *t,
		 const volatile sig_atomic_t *cancel, struct power_result *r,
		 struct err *err)
{
	struct err last = ERR_INIT;
	long long start = proc_now_ms(), sent;
	int state = POWER_STATE_UNKNOWN, rc, read_failed;

	rc = p->get(p->ctx, &state, &last);
	read_failed = rc != 0;
	if (rc == 0) {
		r->state = state;
		if (state == want) {
			snprintf(r->detail, sizeof(r->detail), "already %s",
				 power_state_str(want));
			return 0;
		}
	} else if (rc != ERR_RETRY) {
		goto give_up;
	}
	for (;;) {
		if (cancel && *cancel)
			return err_set(err, ERR_CANCELLED, "cancelled");
		rc = p->set(p->ctx, want, &last);
		r->attempts++;
		sent = proc_now_ms();
		if (rc != 0 && rc != ERR_RETRY)
			goto give_up;
		for (;;) {
			/* no new command or read past the time limit: each
			 * may take a while on a BMC that does not answer */
			if (proc_now_ms() - start >= t->timeout_ms)
				goto timeout;
			rc = power_pause(t->poll_ms, cancel, err);
			if (rc < 0)
				return rc;
			if (proc_now_ms() - start >= t->timeout_ms)
				goto timeout;
			rc = p->get(p->ctx, &state, &last);
			read_failed = rc != 0;
			if (rc == 0) {
				r->state = state;
				if (state == want)
					goto done;
			} else if (rc != ERR_RETRY) {
				goto give_up;
			}
			if (t->resend_ms && proc_now_ms() - sent >= t->resend_ms &&
			    proc_now_ms() - start < t->timeout_ms)
				break;
		}
	}
give_up:
	/* a Ctrl-C also kills the tool we ran: say cancelled, not failed */
	if (cancel && *cancel)
		return err_set(err, ERR_CANCELLED, "cancelled");
	*err = last;
	return err->code;
done:
	if (r->attempts > 1)
		snprintf(r->detail, sizeof(r->detail), "sent '%s %s' %d times",
			 p->set_name, power_state_str(want), r->attempts);
	return 0;
timeout:
	/* the state is not known when the last read failed (or none came
	 * after the last command): say what failed */
	if (read_failed)
		return err_set(err, ERR_FAIL,
			       "still not %s after %.1f s (%d command%s sent); last: %s",
			       power_state_str(want),
			       power_secs(proc_now_ms() - start), r->attempts,
			       r->attempts == 1 ? "" : "s", last.msg);
	return err_set(err, ERR_FAIL,
		       "still %s after %.1f s (%d command%s sent)",
		       power_state_str(state), power_secs(proc_now_ms() - start),
		       r->attempts, r->attempts == 1 ? "" : "s");
}

static const struct power_backend *power_backend_of(const char *method)
{
	for (size_t i = 0; method && power_backends[i]; i++)
		if (!strcmp(power_backends[i]->name, method))
			return power_backends[i];
	return NULL;
}

/* Off, a pause with the power off, on; attempts add up. */
static int power_cycle(const struct power_backend *b, const struct power_host *h,
		       const volatile sig_atomic_t *cancel,
		       struct power_result *r, struct err *err)
{
	struct power_result off = { .state = POWER_STATE_UNKNOWN };
	struct power_result on = { .state = POWER_STATE_UNKNOWN };
	int rc;

	rc = b->off(h, cancel, &off, err);
	r->attempts = off.attempts;
	r->state = off.state;
	if (rc < 0) {
		err_prefix(err, "off");
		return rc;
	}
	rc = power_pause((long)h->cycle_time_s * 1000, cancel, err);
	if (rc < 0)
		return rc;
	rc = b->on(h, cancel, &on, err);
	r->attempts += on.attempts;
	r->state = on.state;
	if (off.detail[0] || on.detail[0])
		snprintf(r->detail, sizeof(r->detail), "off: %.120s; on: %.120s",
			 off.detail[0] ? off.detail : "ok",
			 on.detail[0] ? on.detail : "ok");
	if (rc < 0) {
		err_prefix(err, "on");
		return rc;
	}
	return 0;
}

int power_run(const struct power_host *h, enum power_action a,
	      const volatile sig_atomic_t *cancel, struct power_result *r,
	      struct err *err)
{
	const struct power_backend *b = power_backend_of(h->method);
	long long start = proc_now_ms();
	int rc;

	memset(r, 0, sizeof(*r));
	r->state = POWER_STATE_UNKNOWN;
	if (!b)
		return err_set(err, ERR_USAGE,
			       "host '%s': unknown power method '%s' (expected ipmi, pdudaemon, command or none)",
			       h->name, h->method ? h->method : "");
	switch (a) {
	case POWER_ON:
		rc = b->on(h, cancel, r, err);
		break;
	case POWER_OFF:
		rc = b->off(h, cancel, r, err);
		break;
	case POWER_CYCLE:
		rc = power_cycle(b, h, cancel, r, err);
		break;
	case POWER_STATUS:
		rc = b->status(h, r, err);
		break;
	default:
		rc = err_set(err, ERR_USAGE, "unknown power action %d", (int)a);
		break;
	}
	r->ms = (long)(proc_now_ms() - start);
	if (rc < 0)
		err_prefix(err, "host '%s': power %s", h->name,
			   power_action_str(a));
	return rc;
}
