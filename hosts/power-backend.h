/*
 * power-backend.h: what power.c dispatches to, one struct per method
 * (power-ipmi.c, power-pdu.c, power-command.c, power-none.c), and the
 * helpers the backends share. Internal to hosts/: the rest of hangar uses
 * power.h.
 */
#ifndef HANGAR_POWER_BACKEND_H
#define HANGAR_POWER_BACKEND_H

#include <signal.h>
#include <stddef.h>

#include "buf.h"
#include "power.h"

/*
 * The ops of one method. on and off switch (verifying where the method
 * can tell the state) and fill r->state, r->attempts and r->detail;
 * status reads the state into r->state (POWER_STATE_UNKNOWN when the
 * method cannot tell). power.c measures r->ms and composes a cycle.
 * Errors as for power_run().
 */
struct power_backend {
	const char *name;          /* hosts.power: ipmi, pdudaemon, ... */
	int (*on)(const struct power_host *h, const volatile sig_atomic_t *cancel,
		  struct power_result *r, struct err *err);
	int (*off)(const struct power_host *h, const volatile sig_atomic_t *cancel,
		   struct power_result *r, struct err *err);
	int (*status)(const struct power_host *h, struct power_result *r,
		      struct err *err);
};

extern const struct power_backend power_backend_ipmi;
extern const struct power_backend power_backend_pdu;
extern const struct power_backend power_backend_command;
extern const struct power_backend power_backend_none;

/* ---- shared by the backends (power.c) ---- */

/* Output kept of a power command: enough for an error message. */
#define POWER_OUTPUT_CAP 4096

/*
 * A method's two primitives, for power_switch(): get reads the state,
 * set sends the command for want. Both return 0, ERR_FAIL for a failure
 * worth retrying (a BMC that did not answer), or another negative code
 * to give up at once (ERR_USAGE: the tool is missing or misconfigured).
 * The message of a failure should carry the tool's output.
 */
struct power_prim {
	void *ctx;
	int (*get)(void *ctx, int *state, struct err *err);
	int (*set)(void *ctx, int want, struct err *err);
	const char *set_name;      /* for messages: "power on" is set_name + want */
};

struct power_timing {
	long poll_ms;      /* read the state this often while waiting */
	long resend_ms;    /* send the command again this often (0: never) */
	long timeout_ms;   /* give up (ERR_FAIL) after this long */
};

/*
 * OSSTest's lesson with real BMCs: read the state first and do nothing
 * when it is already want; else send, then poll the state, resending now
 * and then, until it reads want. ERR_FAIL with the last failure's message
 * at the timeout, ERR_CANCELLED as soon as *cancel is set (cancel may be
 * NULL).
 */
int power_switch(const struct power_prim *p, int want,
		 const struct power_timing *t,
		 const volatile sig_atomic_t *cancel, struct power_result *r,
		 struct err *err);

/*
 * Sleeps ms, waking every 100 ms to look at *cancel; returns
 * ERR_CANCELLED (with err set) if it was set, else 0.
 */
int power_pause(long ms, const volatile sig_atomic_t *cancel,
		struct err *err);

/* The string value of key in h->config, or NULL (missing or not a string). */
const char *power_config_str(const struct power_host *h, const char *key);

/* ---- parsing, exposed for the unit tests ---- */

/*
 * "lanplus:HOST[:PORT]" (the port defaults to 623; "[v6addr]:PORT" is
 * accepted too). 0, or ERR_USAGE with the reason.
 */
struct power_ipmi_addr {
	char host[256];
	int port;
};
int power_ipmi_parse_addr(const char *spec, struct power_ipmi_addr *a,
			  struct err *err);
/* Reads "Chassis Power is on|off" in ipmitool's output; -1 if neither. */
int power_ipmi_parse_status(const char *out);

/*
 * "http://HOST[:PORT][/PREFIX] PDUNAME PORTNUMBER" (hosts.pdu). https is
 * refused (hangar has no TLS client): ERR_USAGE with the reason.
 */
struct power_pdu_spec {
	char host[256];
	int port;              /* of the pdudaemon listener; default 80 */
	char prefix[256];      /* path before /power/control, "" or "/x" */
	char pdu[128];         /* the PDU's name in pdudaemon's config */
	int outlet;            /* the port number on that PDU */
};
int power_pdu_parse_spec(const char *spec, struct power_pdu_spec *s,
			 struct err *err);
/*
 * The request target for action "on"|"off"|"reboot":
 * PREFIX/power/control/ACTION?hostname=PDU&port=N, PDU percent-encoded.
 * Returns 0, or -1 when it does not fit len.
 */
int power_pdu_target(const struct power_pdu_spec *s, const char *action,
		     char *out, size_t len);
/*
 * An HTTP/1.x status line ("HTTP/1.1 200 OK", len bytes, no CRLF needed):
 * the status code, or -1 when it is not one.
 */
int power_pdu_parse_status_line(const char *line, size_t len);

#endif
