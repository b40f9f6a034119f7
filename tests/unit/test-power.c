/*
 * test-power.c: the pure parts of the power methods (action names, the
 * ipmi and pdu specs, pdudaemon's request target, HTTP status lines), the
 * switch-and-verify loop against a fake BMC, the command and none methods
 * with real shells, the pdudaemon client against a one-shot HTTP server
 * in a thread, and console lines (timestamps, 4 KiB splits, the partial
 * last line, a prompt stop).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "buf.h"
#include "console.h"
#include "power-backend.h"
#include "proc.h"
#include "xalloc.h"
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_action_names(void **state)
{
	static const char *const names[] = { "on", "off", "cycle", "status" };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		assert_int_equal(power_action_parse(names[i]), (int)i);
		assert_string_equal(power_action_str((enum power_action)i), names[i]);
	}
	assert_int_equal(power_action_parse("reboot"), -1);
	assert_int_equal(power_action_parse("On"), -1);
	assert_int_equal(power_action_parse(""), -1);
	assert_int_equal(power_action_parse(NULL), -1);
	assert_string_equal(power_state_str(POWER_STATE_ON), "on");
	assert_string_equal(power_state_str(POWER_STATE_OFF), "off");
	assert_string_equal(power_state_str(POWER_STATE_UNKNOWN), "unknown");
	assert_string_equal(power_state_str(7), "unknown");
}

static void test_ipmi_addr(void **state)
{
	static const struct {
		const char *spec;
		const char *host;   /* NULL: an error */
		int port;
	} cases[] = {
		{ "lanplus:127.0.1.1:623", "127.0.1.1", 623 },
		{ "lanplus:127.0.1.1", "127.0.1.1", 623 },
		{ "lanplus:bmc-ruby.lab:6230", "bmc-ruby.lab", 6230 },
		{ "lanplus:[::1]:624", "::1", 624 },
		{ "lanplus:[fe80::1]", "fe80::1", 623 },
		{ "lanplus:host:65535", "host", 65535 },
		{ "lanplus:host:0", NULL, 0 },
		{ "lanplus:host:65536", NULL, 0 },
		{ "lanplus:host:x", NULL, 0 },
		{ "lanplus:host:", NULL, 0 },
		{ "lanplus::623", NULL, 0 },
		{ "lanplus:", NULL, 0 },
		{ "lan:127.0.0.1", NULL, 0 },
		{ "127.0.0.1:623", NULL, 0 },
		{ "lanplus:[::1", NULL, 0 },
		{ "lanplus:[]:623", NULL, 0 },
		{ "", NULL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct power_ipmi_addr a;
		struct err err = ERR_INIT;
		int rc = power_ipmi_parse_addr(cases[i].spec, &a, &err);

		if (!cases[i].host) {
			if (rc != ERR_USAGE || !strstr(err.msg, cases[i].spec))
				fail_msg("'%s' should be refused (rc %d, '%s')",
					 cases[i].spec, rc, err.msg);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s': %s", cases[i].spec, err.msg);
		assert_string_equal(a.host, cases[i].host);
		assert_int_equal(a.port, cases[i].port);
	}
	assert_int_equal(power_ipmi_parse_addr(NULL, &(struct power_ipmi_addr){ 0 },
					       NULL), ERR_USAGE);
}

static void test_ipmi_status(void **state)
{
	(void)state;
	assert_int_equal(power_ipmi_parse_status("Chassis Power is on\n"),
			 POWER_STATE_ON);
	assert_int_equal(power_ipmi_parse_status("Chassis Power is off\n"),
			 POWER_STATE_OFF);
	assert_int_equal(power_ipmi_parse_status(
				 "Error: Unable to establish IPMI v2 / RMCP+ session\n"),
			 -1);
	assert_int_equal(power_ipmi_parse_status(""), -1);
}

static void test_pdu_spec(void **state)
{
	static const struct {
		const char *spec;
		const char *host;   /* NULL: an error, why in prefix */
		int port;
		const char *prefix;
		const char *pdu;
		int outlet;
	} cases[] = {
		{ "http://127.0.0.1:16421 pdu1 3", "127.0.0.1", 16421, "", "pdu1", 3 },
		{ "http://pdu-host pdu1 0", "pdu-host", 80, "", "pdu1", 0 },
		{ "http://pdu-host:8080/ apc 12", "pdu-host", 8080, "", "apc", 12 },
		{ "http://h:1/pdud/ p 1", "h", 1, "/pdud", "p", 1 },
		{ "  http://h:1   p   2  ", "h", 1, "", "p", 2 },
		{ "http://[::1]:16421 pdu1 3", "::1", 16421, "", "pdu1", 3 },
		{ "http://h:1 p&q=x 4", "h", 1, "", "p&q=x", 4 },
		{ "https://h:1 p 1", NULL, 0, "https is not supported", NULL, 0 },
		{ "ftp://h p 1", NULL, 0, "http://", NULL, 0 },
		{ "http://h:1 p", NULL, 0, "PDUNAME PORTNUMBER", NULL, 0 },
		{ "http://h:1 p 1 2", NULL, 0, "PDUNAME PORTNUMBER", NULL, 0 },
		{ "http://h:1 p x", NULL, 0, "0 to 65535", NULL, 0 },
		{ "http://h:1 p 65536", NULL, 0, "0 to 65535", NULL, 0 },
		{ "http://h:0 p 1", NULL, 0, "not http://", NULL, 0 },
		{ "http://h: p 1", NULL, 0, "not http://", NULL, 0 },
		{ "http://:80 p 1", NULL, 0, "not http://", NULL, 0 },
		{ "http://user@h p 1", NULL, 0, "not http://", NULL, 0 },
		{ "http://h/x?y=1 p 1", NULL, 0, "query", NULL, 0 },
		{ "", NULL, 0, "PDUNAME PORTNUMBER", NULL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct power_pdu_spec s;
		struct err err = ERR_INIT;
		int rc = power_pdu_parse_spec(cases[i].spec, &s, &err);

		if (!cases[i].host) {
			if (rc != ERR_USAGE || !strstr(err.msg, cases[i].prefix))
				fail_msg("'%s' should be refused with '%s' (rc %d, '%s')",
					 cases[i].spec, cases[i].prefix, rc, err.msg);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s': %s", cases[i].spec, err.msg);
		assert_string_equal(s.host, cases[i].host);
		assert_int_equal(s.port, cases[i].port);
		assert_string_equal(s.prefix, cases[i].prefix);
		assert_string_equal(s.pdu, cases[i].pdu);
		assert_int_equal(s.outlet, cases[i].outlet);
	}
}

static void test_pdu_target(void **state)
{
	struct power_pdu_spec s;
	char out[256], tiny[16];

	(void)state;
	assert_int_equal(power_pdu_parse_spec("http://h:1 pdu1 3", &s, NULL), 0);
	assert_int_equal(power_pdu_target(&s, "on", out, sizeof(out)), 0);
	assert_string_equal(out, "/power/control/on?hostname=pdu1&port=3");
	assert_int_equal(power_pdu_parse_spec("http://h/pd p&q=x/~y 0", &s, NULL), 0);
	assert_int_equal(power_pdu_target(&s, "off", out, sizeof(out)), 0);
	assert_string_equal(out, "/pd/power/control/off?hostname=p%26q%3Dx%2F~y&port=0");
	assert_int_equal(power_pdu_target(&s, "off", tiny, sizeof(tiny)), -1);
}

static void test_http_status_line(void **state)
{
	static const struct {
		const char *line;
		int code;
	} cases[] = {
		{ "HTTP/1.1 200 OK", 200 },
		{ "HTTP/1.0 500 Internal Server Error", 500 },
		{ "HTTP/1.1 404", 404 },
		{ "HTTP/1.1 204 \r", 204 },
		{ "HTTP/1.1 200\r", 200 },
		{ "HTTP/2 200 OK", -1 },
		{ "HTTP/1.1 20 OK", -1 },
		{ "HTTP/1.1 2000 OK", -1 },
		{ "HTTP/1.1 abc OK", -1 },
		{ "HTTP/1.1  200 OK", -1 },
		{ "HTTP/1.1 099 Odd", -1 },
		{ "http/1.1 200 OK", -1 },
		{ "SSH-2.0-OpenSSH_9.2", -1 },
		{ "", -1 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int got = power_pdu_parse_status_line(cases[i].line,
						      strlen(cases[i].line));

		if (got != cases[i].code)
			fail_msg("'%s': %d, expected %d", cases[i].line, got,
				 cases[i].code);
	}
	/* the length bounds it, not a NUL */
	assert_int_equal(power_pdu_parse_status_line("HTTP/1.1 200 OK", 11), -1);
	assert_int_equal(power_pdu_parse_status_line("HTTP/1.1 2001", 12), 200);
}

/* ---- power_switch against a fake BMC ---- */

struct fake_bmc {
	int state;
	int sets;           /* commands received */
	int ignore;         /* the first N commands are lost */
	int lag;            /* reads after a command before it shows */
	int since;
	int fail_reads;     /* the first N reads fail (ERR_RETRY) */
	int fatal;          /* get gives up at once */
};

static int fake_get(void *ctx, int *st, struct err *err)
{
	struct fake_bmc *b = ctx;

	if (b->fatal)
		return err_set(err, ERR_FAIL, "no such tool");
	if (b->fail_reads > 0) {
		b->fail_reads--;
		return err_set(err, ERR_RETRY, "bmc busy");
	}
	b->since++;
	*st = b->state;
	return 0;
}

static int fake_set(void *ctx, int want, struct err *err)
{
	struct fake_bmc *b = ctx;

	(void)err;
	if (b->sets++ < b->ignore)
		return 0;
	b->since = -b->lag;
	b->state = want;
	return 0;
}

static const struct power_timing fast = { .poll_ms = 5, .resend_ms = 30,
					  .timeout_ms = 400 };

static void test_switch(void **state)
{
	struct fake_bmc b = { .state = POWER_STATE_ON };
	struct power_prim p = { &b, fake_get, fake_set, "power" };
	struct power_result r = { 0 };
	struct err err = ERR_INIT;
	volatile sig_atomic_t cancel = 0;

	(void)state;
	/* already on: nothing sent */
	assert_int_equal(power_switch(&p, POWER_STATE_ON, &fast, NULL, &r, &err), 0);
	assert_int_equal(r.attempts, 0);
	assert_int_equal(b.sets, 0);
	assert_string_equal(r.detail, "already on");

	/* off at the first command */
	memset(&r, 0, sizeof(r));
	assert_int_equal(power_switch(&p, POWER_STATE_OFF, &fast, NULL, &r, &err), 0);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.state, POWER_STATE_OFF);
	assert_string_equal(r.detail, "");

	/* two commands lost: resent until it shows */
	b = (struct fake_bmc){ .state = POWER_STATE_OFF, .ignore = 2 };
	memset(&r, 0, sizeof(r));
	assert_int_equal(power_switch(&p, POWER_STATE_ON, &fast, NULL, &r, &err), 0);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(r.state, POWER_STATE_ON);
	assert_string_equal(r.detail, "sent 'power on' 3 times");

	/* failing reads are retried */
	b = (struct fake_bmc){ .state = POWER_STATE_OFF, .fail_reads = 3 };
	memset(&r, 0, sizeof(r));
	assert_int_equal(power_switch(&p, POWER_STATE_ON, &fast, NULL, &r, &err), 0);
	assert_int_equal(r.state, POWER_STATE_ON);

	/* a BMC that never obeys: ERR_FAIL after the timeout */
	b = (struct fake_bmc){ .state = POWER_STATE_OFF, .ignore = 1000 };
	memset(&r, 0, sizeof(r));
	assert_int_equal(power_switch(&p, POWER_STATE_ON, &fast, NULL, &r, &err),
			 ERR_FAIL);
	assert_non_null(strstr(err.msg, "still off after"));
	assert_true(r.attempts >= 3);

	/* one whose reads always fail: the last failure is in the message */
	b = (struct fake_bmc){ .state = POWER_STATE_OFF, .fail_reads = 100000 };
	assert_int_equal(power_switch(&p, POWER_STATE_ON, &fast, NULL, &r, &err),
			 ERR_FAIL);
	assert_non_null(strstr(err.msg, "still not on after"));
	assert_non_null(strstr(err.msg, "bmc busy"));

	/* a tool that cannot run: at once */
	b = (struct fake_bmc){ .fatal = 1 };
	memset(&r, 0, sizeof(r));
	assert_int_equal(power_switch(&p, POWER_STATE_ON, &fast, NULL, &r, &err),
			 ERR_FAIL);
	assert_string_equal(err.msg, "no such tool");
	assert_int_equal(r.attempts, 0);

	/* cancelled */
	b = (struct fake_bmc){ .state = POWER_STATE_OFF, .ignore = 1000 };
	cancel = 1;
	assert_int_equal(power_switch(&p, POWER_STATE_ON, &fast, &cancel, &r, &err),
			 ERR_CANCELLED);
}

/* ---- the command and none methods, with real shells ---- */

static char tmpdir[64];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-power.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);

	(void)state;
	free(cmd);
	return rc;
}

static json_t *command_config(int with_status)
{
	json_t *o = json_object();

	json_object_set_new(o, "power_on",
			    json_string("echo on >state; echo \"$HANGAR_HOST\" >who"));
	json_object_set_new(o, "power_off", json_string("echo off >state"));
	if (with_status)
		json_object_set_new(o, "power_status",
				    json_string("test -f state || exit 3; "
						"grep -q on state && exit 0; exit 1"));
	return o;
}

static void test_command(void **state)
{
	char cwd[4096];
	json_t *cfg = command_config(1);
	struct power_host h = { "ruby", "command", cfg, 0, NULL };
	struct power_result r;
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpdir), 0);

	/* status exits 3: an error */
	assert_int_equal(power_run(&h, POWER_STATUS, NULL, &r, &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "host 'ruby': power status: "));
	assert_non_null(strstr(err.msg, "exited 3"));

	assert_int_equal(power_run(&h, POWER_ON, NULL, &r, &err), 0);
	assert_int_equal(r.state, POWER_STATE_ON);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(buf_read_file(&b, "who"), 0);
	assert_string_equal(b.buf, "ruby\n");
	assert_int_equal(power_run(&h, POWER_STATUS, NULL, &r, &err), 0);
	assert_int_equal(r.state, POWER_STATE_ON);
	/* already on */
	assert_int_equal(power_run(&h, POWER_ON, NULL, &r, &err), 0);
	assert_int_equal(r.attempts, 0);
	assert_int_equal(power_run(&h, POWER_OFF, NULL, &r, &err), 0);
	assert_int_equal(r.state, POWER_STATE_OFF);
	h.cycle_time_s = 0;
	assert_int_equal(power_run(&h, POWER_CYCLE, NULL, &r, &err), 0);
	assert_int_equal(r.state, POWER_STATE_ON);
	assert_int_equal(r.attempts, 1);   /* it was off already */

	/* a failing power-off command is not retried */
	json_object_set_new(cfg, "power_off", json_string("echo broken relay; exit 4"));
	assert_int_equal(power_run(&h, POWER_OFF, NULL, &r, &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "exited 4: broken relay"));
	assert_int_equal(r.attempts, 1);

	json_decref(cfg);

	/* without power-status: the command's word */
	cfg = command_config(0);
	h.config = cfg;
	assert_int_equal(power_run(&h, POWER_OFF, NULL, &r, &err), 0);
	assert_int_equal(r.state, POWER_STATE_UNKNOWN);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(power_run(&h, POWER_STATUS, NULL, &r, &err), 0);
	assert_int_equal(r.state, POWER_STATE_UNKNOWN);
	json_decref(cfg);

	buf_release(&b);
	assert_int_equal(chdir(cwd), 0);
}

static void test_none_and_unknown(void **state)
{
	json_t *cfg = json_object();
	struct power_host h = { "opal", "none", cfg, 1, NULL };
	struct power_result r;
	struct err err = ERR_INIT;

	(void)state;
	assert_int_equal(power_run(&h, POWER_ON, NULL, &r, &err), ERR_USAGE);
	assert_string_equal(err.msg,
			    "host 'opal': power on: no power control (power = none)");
	assert_int_equal(power_run(&h, POWER_CYCLE, NULL, &r, &err), ERR_USAGE);
	assert_int_equal(power_run(&h, POWER_STATUS, NULL, &r, &err), 0);
	assert_int_equal(r.state, POWER_STATE_UNKNOWN);
	h.method = "telepathy";
	assert_int_equal(power_run(&h, POWER_ON, NULL, &r, &err), ERR_USAGE);
	assert_non_null(strstr(err.msg, "unknown power method 'telepathy'"));
	/* ipmi without its password is a configuration problem */
	h.method = "ipmi";
	json_object_set_new(cfg, "ipmi", json_string("lanplus:127.0.0.1:623"));
	assert_int_equal(power_run(&h, POWER_ON, NULL, &r, &err), ERR_USAGE);
	assert_non_null(strstr(err.msg, "ipmi-password"));
	json_decref(cfg);
}

/* ---- the pdudaemon client against a one-shot server ---- */

struct http_server {
	int lfd;
	int port;
	const char *answer;  /* NULL: close without a word */
	char request[2048];
};

static void *http_server_main(void *arg)
{
	struct http_server *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	size_t n = 0;

	if (fd < 0)
		return NULL;
	/* read the request header */
	while (n < sizeof(s->request) - 1) {
		ssize_t k = read(fd, s->request + n, sizeof(s->request) - 1 - n);

		if (k <= 0)
			break;
		n += (size_t)k;
		s->request[n] = '\0';
		if (strstr(s->request, "\r\n\r\n"))
			break;
	}
	if (s->answer && write(fd, s->answer, strlen(s->answer)) < 0)
		s->answer = NULL;
	/* keep-alive style: no close until the client has read all */
	if (s->answer && strstr(s->answer, "Content-Length"))
		poll(NULL, 0, 200);
	close(fd);
	return NULL;
}

static void http_server_start(struct http_server *s, pthread_t *t)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 1), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(t, NULL, http_server_main, s), 0);
}

static int pdu_request(struct http_server *s, enum power_action a,
		       struct power_result *r, struct err *err)
{
	char spec[128];
	json_t *cfg = json_object();
	struct power_host h = { "jade", "pdudaemon", cfg, 0, NULL };
	pthread_t t;
	int rc;

	http_server_start(s, &t);
	snprintf(spec, sizeof(spec), "http://127.0.0.1:%d pdu-1 7", s->port);
	json_object_set_new(cfg, "pdu", json_string(spec));
	rc = power_run(&h, a, NULL, r, err);
	pthread_join(t, NULL);
	close(s->lfd);
	json_decref(cfg);
	return rc;
}

static void test_pdu_client(void **state)
{
	struct http_server s = { 0 };
	struct power_result r;
	struct err err = ERR_INIT;
	json_t *cfg;

	(void)state;
	s.answer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		   "Content-Length: 22\r\n\r\nOK - accepted request\n";
	assert_int_equal(pdu_request(&s, POWER_OFF, &r, &err), 0);
	assert_non_null(strstr(s.request,
			       "GET /power/control/off?hostname=pdu-1&port=7 HTTP/1.1\r\n"));
	assert_non_null(strstr(s.request, "\r\nHost: 127.0.0.1:"));
	assert_non_null(strstr(s.request, "\r\nConnection: close\r\n"));
	assert_int_equal(r.state, POWER_STATE_UNKNOWN);
	assert_int_equal(r.attempts, 1);
	assert_non_null(strstr(r.detail, "pdudaemon accepted 'off' for pdu-1 port 7"));

	s.answer = "HTTP/1.1 500 Internal Server Error\r\n\r\nInvalid request\n";
	assert_int_equal(pdu_request(&s, POWER_ON, &r, &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "host 'jade': power on: pdudaemon"));
	assert_non_null(strstr(err.msg, "HTTP 500: Invalid request"));

	s.answer = "SSH-2.0-OpenSSH_9.2\r\n";
	assert_int_equal(pdu_request(&s, POWER_ON, &r, &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "not an HTTP answer"));

	s.answer = NULL;
	assert_int_equal(pdu_request(&s, POWER_ON, &r, &err), ERR_FAIL);

	/* status needs no request */
	cfg = json_pack("{s:s}", "pdu", "http://127.0.0.1:1 p 1");
	assert_int_equal(power_run(&(struct power_host){ "jade", "pdudaemon", cfg, 0, NULL },
				   POWER_STATUS, NULL, &r, &err), 0);
	assert_int_equal(r.state, POWER_STATE_UNKNOWN);
	/* nobody listening */
	assert_int_equal(power_run(&(struct power_host){ "jade", "pdudaemon", cfg, 0, NULL },
				   POWER_ON, NULL, &r, &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "Connection refused"));
	json_decref(cfg);
}

/* ---- console lines ---- */

/* "YYYY-MM-DDTHH:MM:SS.mmmZ " */
static int stamped(const char *line)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ ";

	for (size_t i = 0; i < sizeof(pat) - 1; i++) {
		if (pat[i] == 'd' ? (line[i] < '0' || line[i] > '9')
				  : line[i] != pat[i])
			return 0;
	}
	return 1;
}

static void test_console_spec(void **state)
{
	static const struct {
		const char *spec;
		int ok;
	} cases[] = {
		{ "none", 1 },
		{ "tcp:127.0.1.1:7001", 1 },
		{ "tcp:console.lab:2001", 1 },
		{ "tcp:[::1]:7001", 1 },
		{ "command:socat - TCP:x:1", 1 },
		{ "command:", 0 },
		{ "tcp:127.0.1.1", 0 },
		{ "tcp::7001", 0 },
		{ "tcp:h:0", 0 },
		{ "tcp:h:99999", 0 },
		{ "serial:/dev/ttyS0", 0 },
		{ "", 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct err err = ERR_INIT;
		int rc = console_spec_check(cases[i].spec, &err);

		if (cases[i].ok ? rc != 0 : rc != ERR_USAGE)
			fail_msg("'%s': %d %s", cases[i].spec, rc, err.msg);
	}
}

static void test_console_lines(void **state)
{
	char *path = xasprintf("%s/stream.out", tmpdir);
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	char *lines[8];
	size_t n = 0;
	char *p;
	int fd;

	(void)state;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	/* CRLF, an empty line, a 5000-byte line, a partial last line */
	assert_int_equal(console_stream(
				 "command:printf 'one\\r\\n\\ntwo\\n'; "
				 "head -c 5000 /dev/zero | tr '\\0' x; echo; "
				 "printf 'tail'",
				 fd, 0, NULL, &err), 0);
	close(fd);
	assert_int_equal(buf_read_file(&b, path), 0);
	for (p = b.buf; *p && n < ARRAY_SIZE(lines); n++) {
		lines[n] = p;
		p = strchr(p, '\n');
		assert_non_null(p);
		*p++ = '\0';
	}
	assert_int_equal(n, 6);
	for (size_t i = 0; i < n; i++)
		if (!stamped(lines[i]))
			fail_msg("line %zu is not stamped: '%.40s'", i, lines[i]);
	assert_string_equal(lines[0] + 25, "one");
	assert_string_equal(lines[1] + 25, "");
	assert_string_equal(lines[2] + 25, "two");
	assert_int_equal(strlen(lines[3] + 25), 4096);
	assert_int_equal(strlen(lines[4] + 25), 5000 - 4096);
	assert_string_equal(lines[5] + 25, "tail");
	buf_release(&b);
	free(path);

	assert_int_equal(console_stream("none", 1, 0, NULL, &err), ERR_USAGE);
}

static void test_console_capture_stop(void **state)
{
	char *path = xasprintf("%s/capture.log", tmpdir);
	struct console_capture *c;
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	long long t0;

	(void)state;
	/* a partial line, then a command that never ends by itself */
	assert_int_equal(console_capture_start(
				 "command:echo first; printf partial; exec sleep 100",
				 path, &c, &err), 0);
	for (int i = 0; i < 100; i++) {
		struct stat st;

		if (stat(path, &st) == 0 && st.st_size > 0)
			break;
		poll(NULL, 0, 20);
	}
	poll(NULL, 0, 100);
	t0 = proc_now_ms();
	console_capture_stop(c);
	assert_true(proc_now_ms() - t0 < 1000);
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_non_null(strstr(b.buf, "Z first\n"));
	assert_non_null(strstr(b.buf, "Z partial\n"));
	buf_release(&b);

	/* tcp to nowhere: retries quietly, stops at once */
	assert_int_equal(console_capture_start("tcp:127.0.0.1:1", path, &c, &err), 0);
	poll(NULL, 0, 300);
	t0 = proc_now_ms();
	console_capture_stop(c);
	assert_true(proc_now_ms() - t0 < 1000);
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_non_null(strstr(b.buf, "[hangar] console tcp:127.0.0.1:1: connect: Connection refused"));

	/* none: nothing, no error */
	assert_int_equal(console_capture_start("none", path, &c, &err), 0);
	console_capture_stop(c);
	console_capture_stop(NULL);
	assert_int_equal(console_capture_start("bogus", path, &c, &err), ERR_USAGE);
	assert_int_equal(console_capture_start("tcp:127.0.0.1:1", "/nonexistent/x.log",
					       &c, &err), ERR_FAIL);
	assert_null(c);
	buf_release(&b);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_action_names),
		cmocka_unit_test(test_ipmi_addr),
		cmocka_unit_test(test_ipmi_status),
		cmocka_unit_test(test_pdu_spec),
		cmocka_unit_test(test_pdu_target),
		cmocka_unit_test(test_http_status_line),
		cmocka_unit_test(test_switch),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_none_and_unknown),
		cmocka_unit_test(test_pdu_client),
		cmocka_unit_test(test_console_spec),
		cmocka_unit_test(test_console_lines),
		cmocka_unit_test(test_console_capture_stop),
	};

	return cmocka_run_group_tests(tests, setup_tmp,
				      getenv("TEST_KEEP") ? NULL : teardown_tmp);
}
