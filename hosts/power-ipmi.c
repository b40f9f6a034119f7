/*
 * power-ipmi.c: power through the host's BMC with ipmitool over IPMI
 * v2.0 (lanplus). The password travels in the environment (ipmitool -E),
 * never on a command line that ps would show. Real BMCs drop commands and
 * answer late, so on/off go through power_switch(): read the state, send,
 * poll, resend, give up after 30 s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "power-backend.h"
#include "proc.h"
#include "strnum.h"
#include "xalloc.h"
#include "banned.h"

static const struct power_timing power_ipmi_timing = {
	.poll_ms = 500,
	.resend_ms = 3000,
	.timeout_ms = 30000,
};

int power_ipmi_parse_addr(const char *spec, struct power_ipmi_addr *a,
			  struct err *err)
{
	const char *v, *colon, *hend;
	size_t hlen;

	memset(a, 0, sizeof(*a));
	a->port = 623;
	if (!spec || strncmp(spec, "lanplus:", 8))
		return err_set(err, ERR_USAGE, "ipmi '%s' is not lanplus:HOST[:PORT]",
			       spec ? spec : "");
	v = spec + 8;
	if (*v == '[') {
		/* [v6addr] or [v6addr]:PORT */
		const char *close = strchr(v, ']');

		if (!close || close == v + 1 || (close[1] && close[1] != ':'))
			return err_set(err, ERR_USAGE,
				       "ipmi '%s' is not lanplus:HOST[:PORT]", spec);
		v++;
		hend = close;
		colon = close[1] ? close + 1 : NULL;
	} else {
		/* as lib/labconf.c reads it: the last colon starts the port */
		colon = strrchr(v, ':');
		hend = colon ? colon : v + strlen(v);
	}
	hlen = (size_t)(hend - v);
	if (hlen == 0 || hlen >= sizeof(a->host))
		return err_set(err, ERR_USAGE, "ipmi '%s' is not lanplus:HOST[:PORT]",
			       spec);
	if (colon && strnum_int(colon + 1, 1, 65535, &a->port) < 0)
		return err_set(err, ERR_USAGE,
			       "ipmi '%s': the port must be 1 to 65535", spec);
	memcpy(a->host, v, hlen);
	a->host[hlen] = '\0';
	return 0;
}

int power_ipmi_parse_status(const char *out)
{
	if (strstr(out, "Chassis Power is on"))
		return POWER_STATE_ON;
	if (strstr(out, "Chassis Power is off"))
		return POWER_STATE_OFF;
	return -1;
}

struct power_ipmi {
	const struct power_host *h;
	struct power_ipmi_addr addr;
	const char *user;
	int cipher;
	char *env[4];          /* IPMI_PASSWORD=..., IPMITOOL_PASSWORD=...,
				* HOME=... */
	struct buf out;
};

/*
 * ipmitool reads the IANA registry of enterprise numbers (4.7 MB) at every
 * start, some 40 ms of CPU, to name OEMs in output that a power command
 * never prints. It reads $HOME/.local/usr/share/misc/enterprise-numbers.txt
 * first, so a registry of one entry in STATE/ipmitool spares it that (an
 * empty one it refuses). "HOME=...", or NULL (no state directory, or the
 * file cannot be made there: then ipmitool reads the registry as usual).
 */
static const char power_ipmi_registry[] =
	"0\n  Reserved\n    Internet Assigned Numbers Authority\n      iana&iana.org\n";

static char *power_ipmi_home_env(const char *state)
{
	struct err err = ERR_INIT;
	struct stat st;
	char *home, *dir, *file, *env = NULL;

	if (!state)
		return NULL;
	home = xasprintf("%s/ipmitool", state);
	dir = xasprintf("%s/.local/usr/share/misc", home);
	file = xasprintf("%s/enterprise-numbers.txt", dir);
	if ((stat(file, &st) < 0 || st.st_size == 0) &&
	    fs_mkdir_p(dir, 0755, &err) == 0)
		fs_write_file(file, power_ipmi_registry,
			      sizeof(power_ipmi_registry) - 1, 0644, &err);
	if (stat(file, &st) == 0 && st.st_size > 0)
		env = xasprintf("HOME=%s", home);
	free(home);
	free(dir);
	free(file);
	return env;
}

static int power_ipmi_init(struct power_ipmi *c, const struct power_host *h,
			   struct err *err)
{
	const char *password = power_config_str(h, "ipmi_password");
	json_t *cipher = h->config ? json_object_get(h->config, "ipmi_cipher")
				   : NULL;

	memset(c, 0, sizeof(*c));
	c->h = h;
	buf_init(&c->out, POWER_OUTPUT_CAP);
	if (power_ipmi_parse_addr(power_config_str(h, "ipmi"), &c->addr, err) < 0)
		return err->code;
	if (!password)
		return err_set(err, ERR_USAGE, "no ipmi-password configured");
	c->user = power_config_str(h, "ipmi_user");
	c->cipher = 3;
	if (json_is_integer(cipher)) {
		json_int_t n = json_integer_value(cipher);

		if (n < 0 || n > 17)
			return err_set(err, ERR_USAGE,
				       "ipmi-cipher %lld is not 0 to 17", (long long)n);
		c->cipher = (int)n;
	}
	/* ipmitool -E reads IPMI_PASSWORD, but IPMITOOL_PASSWORD wins if set:
	 * set both so that nothing inherited overrides ours */
	c->env[0] = xasprintf("IPMI_PASSWORD=%s", password);
	c->env[1] = xasprintf("IPMITOOL_PASSWORD=%s", password);
	c->env[2] = power_ipmi_home_env(h->state);
	return 0;
}

static void power_ipmi_release(struct power_ipmi *c)
{
	for (size_t i = 0; i < 3; i++) {
		if (c->env[i])
			memset(c->env[i], 0, strlen(c->env[i]));
		free(c->env[i]);
		c->env[i] = NULL;
	}
	buf_release(&c->out);
}

/* Output on one line, for messages. */
static const char *power_ipmi_output(struct power_ipmi *c)
{
	buf_rtrim(&c->out);
	for (size_t i = 0; i < c->out.len; i++)
		if (c->out.buf[i] == '\n' || c->out.buf[i] == '\r')
			c->out.buf[i] = ' ';
	return c->out.len ? c->out.buf : "(no output)";
}

/* Runs ipmitool ... power WHAT; 0 when it exited 0, output in c->out. */
static int power_ipmi_run(struct power_ipmi *c, const char *what,
			  struct err *err)
{
	struct proc_opts opts = { .env_add = c->env };
	char cipher[16], port[16];
	const char *argv[20];
	size_t n = 0;
	int rc;

	snprintf(cipher, sizeof(cipher), "%d", c->cipher);
	snprintf(port, sizeof(port), "%d", c->addr.port);
	argv[n++] = "ipmitool";
	argv[n++] = "-I";
	argv[n++] = "lanplus";
	argv[n++] = "-C";
	argv[n++] = cipher;
	argv[n++] = "-H";
	argv[n++] = c->addr.host;
	argv[n++] = "-p";
	argv[n++] = port;
	if (c->user) {
		argv[n++] = "-U";
		argv[n++] = c->user;
	}
	/* ipmitool's own retries back off to ~20 s on a dead BMC; keep each
	 * run short (~6 s at worst: cancel is seen between runs), our loop
	 * resends anyway */
	argv[n++] = "-N";
	argv[n++] = "1";
	argv[n++] = "-R";
	argv[n++] = "2";
	argv[n++] = "-E";
	argv[n++] = "power";
	argv[n++] = what;
	argv[n] = NULL;
	buf_reset(&c->out);
	rc = proc_run((char *const *)argv, &opts, &c->out, err);
	if (rc < 0) {
		/* not installed, or killed: no point in trying again */
		char why[sizeof(err->msg)];

		snprintf(why, sizeof(why), "%s", err->msg);
		return err_set(err, ERR_FAIL,
			       "%.900s (is ipmitool installed? Debian package ipmitool)",
			       why);
	}
	if (rc != 0)
		return err_set(err, ERR_RETRY, "ipmitool power %s: exit %d: %s",
			       what, rc, power_ipmi_output(c));
	return 0;
}

static int power_ipmi_get(void *ctx, int *state, struct err *err)
{
	struct power_ipmi *c = ctx;
	int rc = power_ipmi_run(c, "status", err);

	if (rc < 0)
		return rc;
	*state = power_ipmi_parse_status(c->out.buf);
	if (*state < 0) {
		*state = POWER_STATE_UNKNOWN;
		return err_set(err, ERR_RETRY,
			       "ipmitool power status: unexpected output: %s",
			       power_ipmi_output(c));
	}
	return 0;
}

static int power_ipmi_set(void *ctx, int want, struct err *err)
{
	return power_ipmi_run(ctx, want == POWER_STATE_ON ? "on" : "off", err);
}

static int power_ipmi_switch(const struct power_host *h, int want,
			     const volatile sig_atomic_t *cancel,
			     struct power_result *r, struct err *err)
{
	struct power_ipmi c;
	struct power_prim p = { &c, power_ipmi_get, power_ipmi_set, "ipmitool power" };
	int rc = power_ipmi_init(&c, h, err);

	if (rc == 0)
		rc = power_switch(&p, want, &power_ipmi_timing, cancel, r, err);
	power_ipmi_release(&c);
	return rc;
}

static int power_ipmi_on(const struct power_host *h,
			 const volatile sig_atomic_t *cancel,
			 struct power_result *r, struct err *err)
{
	return power_ipmi_switch(h, POWER_STATE_ON, cancel, r, err);
}

static int power_ipmi_off(const struct power_host *h,
			  const volatile sig_atomic_t *cancel,
			  struct power_result *r, struct err *err)
{
	return power_ipmi_switch(h, POWER_STATE_OFF, cancel, r, err);
}

static int power_ipmi_status(const struct power_host *h,
			     struct power_result *r, struct err *err)
{
	struct power_ipmi c;
	int rc = power_ipmi_init(&c, h, err);

	if (rc == 0) {
		r->attempts = 1;
		rc = power_ipmi_get(&c, &r->state, err);
		if (rc == ERR_RETRY)
			err->code = rc = ERR_FAIL;
	}
	power_ipmi_release(&c);
	return rc;
}

const struct power_backend power_backend_ipmi = {
	.name = "ipmi",
	.on = power_ipmi_on,
	.off = power_ipmi_off,
	.status = power_ipmi_status,
};
