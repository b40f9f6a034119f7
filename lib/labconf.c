/*
 * labconf.c: the lab configuration's table of keys (which also drives
 * `hangar help config` and is checked against etc/hangar.conf.example by
 * the tests) and the model built from it, with the checks that need more
 * than one key: references between sections, dependency cycles, power and
 * console settings.
 */
#include <errno.h>
#include <ctype.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fsutil.h"
#include "labconf.h"
#include "runvar.h"
#include "strnum.h"
#include "xalloc.h"
#include "banned.h"

const char *const labconf_archs[] = { "x86_64", "arm64", "riscv64", NULL };
const char *const labconf_powers[] = { "ipmi", "pdudaemon", "command", "none",
				       NULL };

static const struct conf_key lab_keys[] = {
	{ "state", CONF_STRING, 0, 0, 0, NULL, "/var/lib/hangar",
	  "/var/lib/hangar",
	  "state directory: logs, artifacts and the private database" },
	{ "database", CONF_STRING, 0, 0, 0, NULL, NULL,
	  "postgresql:///hangar",
	  "PostgreSQL connection string (several hosts for a standby: host=a,b target_session_attrs=read-write); omit it for the private cluster under STATE/pg" },
	{ "listen", CONF_STRING, 0, 0, 0, NULL, "127.0.0.1:8080",
	  "127.0.0.1:8080", "address:port of the web dashboard and API" },
	{ "db-listen", CONF_STRING, 0, 0, 0, NULL, NULL, "10.0.0.5",
	  "TCP addresses the private cluster listens on (port 5432) besides its Unix socket, for a standby on another machine; default: none" },
	{ "db-synchronous-standby", CONF_STRING, 0, 0, 0, NULL, NULL, "standby",
	  "the private cluster's synchronous standbys (their application_name; PostgreSQL's synchronous_standby_names): each commit waits until one applied it; default: none (asynchronous)" },
	{ "identity", CONF_STRING, 0, 0, 0, NULL, NULL,
	  "/etc/hangar/id_ed25519", "SSH private key the workers log in with" },
	{ "url", CONF_STRING, 0, 0, 0, NULL, NULL, "http://hangar.example.org:8080",
	  "the dashboard's URL as hosts reach it (installers report back there; default http://LISTEN)" },
	{ "tftp", CONF_STRING, 0, 0, 0, NULL, NULL, "/srv/tftp",
	  "root of the TFTP tree host-install writes boot entries into" },
	{ "site", CONF_STRING, 0, 0, 0, NULL, "local", "local",
	  "the controller's own site: where hosts are unless they say" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

static const struct conf_key host_keys[] = {
	{ "site", CONF_STRING, 0, 0, 0, NULL, NULL, "local",
	  "the site it is at, whose workers run its jobs (default: [lab] site)" },
	{ "arch", CONF_ENUM, CONF_REQUIRED, 0, 0, labconf_archs, NULL, "x86_64",
	  "x86_64, arm64 or riscv64" },
	{ "address", CONF_STRING, CONF_REQUIRED, 0, 0, NULL, NULL, "127.0.1.1",
	  "SSH address (name or IP)" },
	{ "port", CONF_INT, 0, 1, 65535, NULL, "22", "22", "SSH port" },
	{ "user", CONF_STRING, 0, 0, 0, NULL, "root", "root", "SSH user" },
	{ "workdir", CONF_STRING, 0, 0, 0, NULL, "/var/lib/hangar-host",
	  "/var/lib/hangar-host", "where builds and installs live on the host" },
	{ "flags", CONF_LIST, 0, 0, 0, NULL, NULL, "hvm iommu equiv-r",
	  "space-separated capability flags (equiv-CLASS: interchangeable hosts)" },
	{ "power", CONF_ENUM, 0, 0, 0, labconf_powers, "none", "ipmi",
	  "ipmi, pdudaemon, command or none" },
	{ "ipmi", CONF_STRING, 0, 0, 0, NULL, NULL, "lanplus:127.0.1.1:623",
	  "BMC as lanplus:HOST[:PORT] (power = ipmi)" },
	{ "ipmi-user", CONF_STRING, 0, 0, 0, NULL, "admin", "admin",
	  "BMC user" },
	{ "ipmi-password", CONF_STRING, CONF_SECRET, 0, 0, NULL, NULL, "secret",
	  "BMC password" },
	{ "ipmi-cipher", CONF_INT, 0, 0, 17, NULL, "3", "3",
	  "IPMI cipher suite (ipmitool -C)" },
	{ "power-on", CONF_STRING, 0, 0, 0, NULL, NULL, "CMD",
	  "command that powers the host on (power = command)" },
	{ "power-off", CONF_STRING, 0, 0, 0, NULL, NULL, "CMD",
	  "command that powers the host off (power = command)" },
	{ "power-status", CONF_STRING, 0, 0, 0, NULL, NULL, "CMD",
	  "command whose exit status says the state: 0 on, 1 off, else unknown (power = command)" },
	{ "pdu", CONF_STRING, 0, 0, 0, NULL, NULL,
	  "http://127.0.0.1:16421 pdu1 3",
	  "pdudaemon URL, PDU name and port (power = pdudaemon)" },
	{ "console", CONF_STRING, 0, 0, 0, NULL, "none", "tcp:127.0.1.1:7001",
	  "serial console: tcp:HOST:PORT, command:CMD or none" },
	{ "share-max-tasks", CONF_INT, 0, 1, 64, NULL, "3", "3",
	  "with a share-TYPE flag: build jobs of that type it runs at once" },
	{ "share-max-wear", CONF_INT, 0, 1, 10000, NULL, "10", "10",
	  "with a share-TYPE flag: jobs it takes before a reinstall" },
	{ "boot-timeout", CONF_INT, 0, 1, 86400, NULL, "300", "300",
	  "seconds for SSH to answer after power on" },
	{ "power-cycle-time", CONF_INT, 0, 0, 600, NULL, "5", "5",
	  "seconds between power off and on in a power cycle" },
	{ "health-check", CONF_STRING, 0, 0, 0, NULL, NULL, "health",
	  "recipe that brings the host back from broken when it passes (default: [worker] health-check)" },
	{ "pxe-file", CONF_STRING, 0, 0, 0, NULL, "%name%/pxelinux.cfg",
	  "%name%/pxelinux.cfg",
	  "its boot entry under [lab] tftp (%name%, %address%, %ipaddrhex%)" },
	{ "pxe-install", CONF_STRING, 0, 0, 0, NULL, NULL, "pxe/install.cfg",
	  "template of the boot entry that installs it (host-install)" },
	{ "pxe-local", CONF_STRING, 0, 0, 0, NULL, NULL, "pxe/local.cfg",
	  "template of the entry that boots it from its disk (default: pxelinux localboot)" },
	{ "install-timeout", CONF_INT, 0, 10, 86400, NULL, "1800", "1800",
	  "seconds for its installer to report back" },
#define NETBOOT_KEYS(where)						\
	{ "netboot-dir", CONF_STRING, 0, 0, 0, NULL, "%name%", "%name%",	\
	  "where a boot step places the boot files, under [lab] tftp" where }, \
	{ "netboot-file", CONF_STRING, 0, 0, 0, NULL, NULL,		\
	  "%name%/boot.scr.uimg",					\
	  "the boot entry a boot step writes under [lab] tftp (.uimg, .scr: as a U-Boot script image)" where }, \
	{ "netboot", CONF_STRING, 0, 0, 0, NULL, NULL, "boot/uboot.txt",	\
	  "template of that entry (%kernel% %initrd% %dtb% %file1%.. %dir% %name% ...)" where }
	NETBOOT_KEYS(" (default: its [arch] section's)"),
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

/* [arch "NAME"]: what the hosts of an arch share, unless they say */
static const struct conf_key arch_keys[] = {
	NETBOOT_KEYS(""),
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

static const struct conf_key tree_keys[] = {
	{ "url", CONF_STRING, CONF_REQUIRED, 0, 0, NULL, NULL,
	  "/srv/git/xen.git", "any URL libgit2 can fetch and push" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

static const struct conf_key branch_keys[] = {
	{ "tree", CONF_STRING, CONF_REQUIRED, 0, 0, NULL, NULL, "xen",
	  "the gated tree" },
	{ "staging", CONF_STRING, 0, 0, 0, NULL, "staging", "staging",
	  "candidate ref" },
	{ "target", CONF_STRING, 0, 0, 0, NULL, "master", "master",
	  "ref pushed when the flight is tolerable" },
	{ "pin", CONF_LIST, 0, 0, 0, NULL, NULL, "qemu",
	  "other trees, pinned at the revisions that last passed" },
	{ "jobs", CONF_LIST, CONF_REQUIRED, 0, 0, NULL, NULL,
	  "build-amd64 test-amd64-xl", "the job set of each flight" },
	{ "allow", CONF_STRING, CONF_MULTIVAR, 0, 0, NULL, NULL,
	  "test-*-rtds *",
	  "JOBPAT [STEPPAT]: regressions that do not block (multivar)" },
	{ "priority", CONF_INT, 0, -1000000, 1000000, NULL, "0", "0",
	  "scheduling priority of its flights (higher first)" },
	{ "push-starved", CONF_BOOL, 0, 0, 0, NULL, "false", "false",
	  "a flight whose jobs starved (no host could run them) may still push" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

static const struct conf_key job_keys[] = {
	{ "recipe", CONF_STRING, CONF_REQUIRED, 0, 0, NULL, NULL, "build",
	  "the recipe section it runs" },
	{ "arch", CONF_ENUM, CONF_REQUIRED, 0, 0, labconf_archs, NULL, "x86_64",
	  "architecture of its hosts" },
	{ "runvar", CONF_STRING, CONF_MULTIVAR, 0, 0, NULL, NULL,
	  "make_flags=-j2", "NAME=VALUE setting (multivar)" },
	{ "needs", CONF_LIST, 0, 0, 0, NULL, NULL, "build-amd64",
	  "jobs whose artifacts it uses" },
	{ "flags", CONF_LIST, 0, 0, 0, NULL, NULL, "hvm",
	  "host flags it requires" },
	{ "hosts", CONF_INT, 0, 1, 16, NULL, "1", "1",
	  "number of hosts (a pair test says 2)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

#define PRIO(name, def, what) \
	{ "priority-" name, CONF_INT, 0, -1000000, 1000000, NULL, def, def, \
	  "queue priority of " what " (higher first)" }

static const struct conf_key scheduler_keys[] = {
	{ "interval", CONF_DURATION, 0, 1, 3600, NULL, "60s", "60s",
	  "re-plan at least this often (it also wakes on every change)" },
	{ "claim-timeout", CONF_DURATION, 0, 10, 86400, NULL, "10m", "10m",
	  "hosts go back to the pool if no worker claims the job in this time" },
	{ "default-duration", CONF_DURATION, 0, 60, 7 * 86400, NULL, "1h", "1h",
	  "duration estimate of a job with no history" },
	{ "estimate-window", CONF_DURATION, 0, 3600, 365 * 86400, NULL, "14d",
	  "14d", "history that duration estimates and host choice look at" },
	{ "prefer-failed-host", CONF_DURATION, 0, 0, 365 * 86400, NULL, "7d",
	  "7d", "how much later a job that just failed may start to re-run on its host" },
	{ "spread-bonus", CONF_DURATION, 0, 0, 30 * 86400, NULL, "12h", "12h",
	  "most a test waits for a host that has not run it lately" },
	PRIO("reservation", "400", "people's reservations"),
	PRIO("gate", "300", "gate flights"),
	PRIO("bisect", "200", "bisection flights"),
	PRIO("retest", "100", "retest flights"),
	PRIO("adhoc", "0", "ad-hoc flights"),
	{ "starvation", CONF_BOOL, 0, 0, 0, NULL, "true", "true",
	  "give up (starved) on jobs no usable host could take for a long wait" },
	{ "starvation-wait", CONF_DURATION, 0, 1, 365 * 86400, NULL, "4h", "4h",
	  "the shortest wait (since its flight was queued) before a job with no usable host starves" },
	{ "starvation-estimates", CONF_INT, 0, 1, 1000, NULL, "4", "4",
	  "and at least this many times the job's estimated duration" },
	{ "pinned-wait", CONF_DURATION, 0, 1, 365 * 86400, NULL, "1h", "1h",
	  "how long a job pinned to a broken, maintenance or retired host waits for it before it ends broken" },
	{ "full-read-interval", CONF_DURATION, 0, 10, 86400, NULL, "10m", "10m",
	  "a pass reads only what changed; this often it also reads everything, a check that must find no difference" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

static const struct conf_key worker_keys[] = {
	{ "slots", CONF_INT, 0, 1, 64, NULL, "2", "2",
	  "jobs one worker process runs at once" },
	{ "heartbeat", CONF_DURATION, 0, 1, 600, NULL, "10s", "10s",
	  "how often a worker renews the leases of its jobs" },
	{ "lease", CONF_DURATION, 0, 5, 3600, NULL, "60s", "60s",
	  "a job whose worker did not renew its lease in this time is recovered" },
	{ "health-check", CONF_STRING, 0, 0, 0, NULL, NULL, "health",
	  "recipe run on a broken host to bring it back to free when it passes" },
	{ "health-check-interval", CONF_DURATION, 0, 10, 7 * 86400, NULL, "10m",
	  "10m", "how often a broken host's health check is retried" },
	{ "logs", CONF_LIST, 0, 0, 0, NULL, "/var/log/syslog /var/log/messages /var/log/kern.log",
	  "/var/log/syslog /var/log/messages /var/log/kern.log",
	  "files logs-capture fetches when its step names none (absolute, or relative to workdir)" },
	{ "max-log", CONF_INT, 0, 1024, 1L << 30, NULL, "67108864", "67108864",
	  "most bytes kept of one step log or fetched log file" },
	{ "site", CONF_STRING, 0, 0, 0, NULL, NULL, "b",
	  "the site whose hosts' jobs it runs (default: [lab] site)" },
	{ "controller", CONF_STRING, 0, 0, 0, NULL, NULL,
	  "https://hangar.example.org:8443",
	  "a remote worker: the controller's URL (no database connection; "
	  "everything goes through /api/v1/worker/)" },
	{ "token-file", CONF_STRING, 0, 0, 0, NULL, NULL,
	  "/etc/hangar/worker-token",
	  "a remote worker: the file holding its site's worker token" },
	{ "ca", CONF_STRING, 0, 0, 0, NULL, NULL, "/etc/hangar/tls/ca.pem",
	  "a remote worker: the CA (PEM) the controller's certificate is "
	  "checked against (default: the system's)" },
	{ "name", CONF_STRING, 0, 0, 0, NULL, NULL, "b1",
	  "a remote worker: its name within its site, [A-Za-z0-9._-] (default: "
	  "the machine's host name)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

static const struct conf_key gate_keys[] = {
	{ "interval", CONF_DURATION, 0, 1, 86400, NULL, "60s", "60s",
	  "how often the gate looks at each branch's staging ref (it also wakes when a flight ends)" },
	{ "retest", CONF_BOOL, 0, 0, 0, NULL, "true", "true",
	  "re-run regressed test jobs once in a retest flight before deciding" },
	{ "bisect", CONF_BOOL, 0, 0, 0, NULL, "true", "true",
	  "bisect each new regression of a gate flight to its commit" },
	{ "bisect-max-commits", CONF_INT, 0, 2, 100000, NULL, "5000", "5000",
	  "most commits of one tree between a bisection's basis and failure (more: doubtful)" },
	{ "again", CONF_DURATION, 0, 0, 365 * 86400, NULL, "6h", "6h",
	  "a staging tip that was not pushed is tested again after this long (0: only a new tip)" },
	{ "sendmail", CONF_STRING, 0, 0, 0, NULL, NULL, "/usr/sbin/sendmail -t",
	  "command that gets each report mail on its standard input (unset: no mail)" },
	{ "mail-to", CONF_STRING, 0, 0, 0, NULL, NULL, "xen-devel@example.org",
	  "To: of the report mails" },
	{ "mail-from", CONF_STRING, 0, 0, 0, NULL, NULL, "hangar@example.org",
	  "From: of the report mails" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

static const char *const web_read_roles[] = { "none", "viewer", NULL };

static const struct conf_key web_keys[] = {
	{ "read-role", CONF_ENUM, 0, 0, 0, web_read_roles, "none", "viewer",
	  "who may read the dashboard and API: none (anyone) or viewer (a token)" },
	{ "threads", CONF_INT, 0, 1, 64, NULL, "4", "4",
	  "workers answering the requests that need the database, one "
	  "connection each (two more threads parse, answer from the cache "
	  "and send)" },
	{ "max-connections", CONF_INT, 0, 8, 65536, NULL, "512", "512",
	  "connections served at once; more wait in the listen queue" },
	{ "timeout", CONF_DURATION, 0, 1, 3600, NULL, "30s", "30s",
	  "an idle or slow connection is closed after this long" },
	{ "tls-cert", CONF_STRING, 0, 0, 0, NULL, NULL, "/etc/hangar/tls/cert.pem",
	  "certificate chain (PEM): with tls-key, the server speaks HTTPS only" },
	{ "tls-key", CONF_STRING, 0, 0, 0, NULL, NULL, "/etc/hangar/tls/key.pem",
	  "the certificate's private key (PEM)" },
	{ "max-upload", CONF_INT, 0, 1024, 1L << 40, NULL, "4294967296",
	  "4294967296", "most bytes of one artifact a remote worker uploads" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

static const struct conf_key recipe_keys[] = {
	{ "step", CONF_STRING, CONF_MULTIVAR | CONF_REQUIRED, 0, 0, NULL, NULL,
	  "run smoke ./installed/tests/smoke.sh",
	  "KIND [timeout=SECONDS] [cases=tap|xtf|hangar|junit:PATH] [NAME] [COMMAND] (multivar, in order); "
	  "KIND: host-power-cycle, host-install, reboot, build, install-build, run, logs-capture, "
	  "boot (expect= fail= started= kernel= initrd= dtb= file= entry=), console-send TEXT, expect PATTERN" },
	{ "artifacts", CONF_LIST, 0, 0, 0, NULL, NULL, "dist/*.tar.gz",
	  "globs collected after a build step, relative to workdir/src" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

/* [site "NAME"]: the settings of a site (hosts and their worker) */
static const struct conf_key site_keys[] = {
	{ "lease", CONF_DURATION, 0, 5, 86400, NULL, NULL, "10m",
	  "the lease of a job its worker claims (default: [worker] lease); "
	  "longer for a remote site, so that a short link drop costs no job" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

static const char *const requirements_formats[] = { "hangar", NULL };

/* [requirements]: the requirements the evidence records (docs/evidence.md) */
static const struct conf_key requirements_keys[] = {
	{ "tree", CONF_STRING, 0, 0, 0, NULL, NULL, "minivisor",
	  "the tree holding the file, read at the flight's revision of it (unset: file is a path beside this file)" },
	{ "file", CONF_STRING, 0, 0, 0, NULL, "REQUIREMENTS", "REQUIREMENTS",
	  "the requirements file: its path in the tree, else on disk (relative to this file)" },
	{ "format", CONF_ENUM, 0, 0, 0, requirements_formats, "hangar", "hangar",
	  "its format: hangar (requirement ID TITLE / test JOBPAT STEPPAT ID...)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

/* [evidence]: how the evidence records are signed */
static const struct conf_key evidence_keys[] = {
	{ "key", CONF_STRING, 0, 0, 0, NULL, NULL, "/etc/hangar/evidence_ed25519",
	  "the SSH private key that signs each record (ssh-keygen -Y sign); unset: records are stored unsigned" },
	{ "signer", CONF_STRING, 0, 0, 0, NULL, "hangar", "evidence@example.org",
	  "the signer's principal, as in an allowed_signers file (letters, digits, ._@+=-)" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL },
};

const struct conf_section_def labconf_sections[] = {
	{ "lab", 0, lab_keys, "settings of this hangar installation" },
	{ "host", 1, host_keys, "a machine of the lab" },
	{ "site", 1, site_keys, "a place hosts are at, with a worker of its own" },
	{ "arch", 1, arch_keys, "defaults for the hosts of an arch (x86_64, arm64, riscv64)" },
	{ "tree", 1, tree_keys, "a git repository under test" },
	{ "branch", 1, branch_keys, "a gate: staging -> target of a tree" },
	{ "job", 1, job_keys, "a unit of work that needs hosts" },
	{ "recipe", 1, recipe_keys, "the steps a job runs" },
	{ "scheduler", 0, scheduler_keys, "how the scheduler plans the lab" },
	{ "worker", 0, worker_keys, "how workers run jobs" },
	{ "gate", 0, gate_keys, "how the gate tests, decides and reports" },
	{ "web", 0, web_keys, "the dashboard and API server" },
	{ "requirements", 0, requirements_keys,
	  "the requirements each evidence record reports on" },
	{ "evidence", 0, evidence_keys, "the signing of evidence records" },
	{ NULL, 0, NULL, NULL },
};

static const char *const step_kinds[] = {
	[STEP_HOST_POWER_CYCLE] = "host-power-cycle",
	[STEP_HOST_INSTALL] = "host-install",
	[STEP_REBOOT] = "reboot",
	[STEP_BUILD] = "build",
	[STEP_INSTALL_BUILD] = "install-build",
	[STEP_RUN] = "run",
	[STEP_LOGS_CAPTURE] = "logs-capture",
	[STEP_BOOT] = "boot",
	[STEP_CONSOLE_SEND] = "console-send",
	[STEP_EXPECT] = "expect",
};

const char *step_kind_str(enum step_kind kind)
{
	return step_kinds[kind];
}

int step_kind_parse(const char *s)
{
	for (size_t i = 0; s && i < sizeof(step_kinds) / sizeof(step_kinds[0]); i++)
		if (!strcmp(s, step_kinds[i]))
			return (int)i;
	return -1;
}

/* Whether a step kind takes a command, and whether it requires one. */
static int step_takes_command(enum step_kind kind, int *required)
{
	*required = kind == STEP_BUILD || kind == STEP_INSTALL_BUILD ||
		    kind == STEP_RUN || kind == STEP_BOOT ||
		    kind == STEP_CONSOLE_SEND || kind == STEP_EXPECT;
	return *required || kind == STEP_LOGS_CAPTURE;
}

static int lab_word_valid(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-+()/", *s))
			return 0;
	return 1;
}

/* A step's cases=: a line format, or junit: and a relative path (the
 * file the command leaves in its work directory). */
static int lab_cases_valid(const char *s)
{
	if (!strcmp(s, "tap") || !strcmp(s, "xtf") || !strcmp(s, "hangar"))
		return 1;
	return !strncmp(s, "junit:", 6) && s[6] && s[6] != '/' &&
	       !strstr(s, "..") && lab_word_valid(s + 6);
}

/*
 * expect PATTERN [timeout=S]: the time limit may also follow the pattern,
 * as people write it; the pattern must compile.
 */
static int lab_expect_split(struct lab_step *step, char *whybuf, size_t whylen)
{
	char *t = strstr(step->command, " timeout=");
	regex_t re;
	int rc;

	if (t && !strchr(t + 1, ' ')) {
		if (strnum_duration(t + 9, 1, 7 * 86400, &step->timeout) < 0) {
			snprintf(whybuf, whylen, "bad timeout '%s' (seconds, or with "
				 "s, m, h, d; at most 7d)", t + 9);
			return -1;
		}
		*t = '\0';
	}
	if ((rc = regcomp(&re, step->command, REG_EXTENDED | REG_NOSUB))) {
		char msg[128];

		regerror(rc, &re, msg, sizeof(msg));
		snprintf(whybuf, whylen, "expect '%.60s': %s", step->command, msg);
		return -1;
	}
	regfree(&re);
	return 0;
}

int lab_step_parse(const char *text, struct lab_step *step, char *whybuf,
		   size_t whylen)
{
	const char *p = text + strspn(text, " \t");
	size_t n = strcspn(p, " \t");
	int kind = -1, required;

	memset(step, 0, sizeof(*step));
	for (size_t i = 0; i < sizeof(step_kinds) / sizeof(step_kinds[0]); i++)
		if (strlen(step_kinds[i]) == n && !strncmp(p, step_kinds[i], n))
			kind = (int)i;
	if (kind < 0) {
		snprintf(whybuf, whylen,
			 "unknown step '%.*s' (expected host-power-cycle, host-install, reboot, build, install-build, run, logs-capture, boot, console-send or expect)",
			 (int)n, p);
		return -1;
	}
	step->kind = kind;
	p += n;
	p += strspn(p, " \t");
	for (;;) {
		char *word;

		n = strcspn(p, " \t");
		if (!strncmp(p, "timeout=", 8)) {
			word = xstrndup(p + 8, n - 8);
			if (strnum_duration(word, 1, 7 * 86400, &step->timeout) < 0) {
				snprintf(whybuf, whylen,
					 "bad timeout '%s' (seconds, or with s, m, h, d; at most 7d)",
					 word);
				free(word);
				lab_step_release(step);
				return -1;
			}
			free(word);
		} else if (!strncmp(p, "cases=", 6)) {
			int boot = kind == STEP_BOOT;

			word = xstrndup(p + 6, n - 6);
			if (!lab_cases_valid(word) || (kind != STEP_RUN && !boot) ||
			    (boot && !strncmp(word, "junit:", 6))) {
				snprintf(whybuf, whylen, kind != STEP_RUN && !boot
					 ? "cases= goes with run and boot steps only"
					 : boot ? "bad cases '%s' (tap, xtf or hangar: a console has no files)"
					 : "bad cases '%s' (tap, xtf, hangar or junit:PATH)",
					 word);
				free(word);
				lab_step_release(step);
				return -1;
			}
			free(step->cases);
			step->cases = word;
		} else {
			break;
		}
		p += n;
		p += strspn(p, " \t");
	}
	if (kind == STEP_RUN) {
		n = strcspn(p, " \t");
		step->name = xstrndup(p, n);
		if (!lab_word_valid(step->name)) {
			snprintf(whybuf, whylen,
				 "run needs a step name: run NAME COMMAND");
			lab_step_release(step);
			return -1;
		}
		p += n;
		p += strspn(p, " \t");
	} else {
		step->name = xstrdup(step_kinds[kind]);
	}
	if (!step_takes_command(step->kind, &required) && *p) {
		snprintf(whybuf, whylen, "%s takes no command", step_kinds[kind]);
		lab_step_release(step);
		return -1;
	}
	if (required && !*p) {
		snprintf(whybuf, whylen, "%s needs a command", step_kinds[kind]);
		lab_step_release(step);
		return -1;
	}
	if (*p) {
		struct buf b = BUF_INIT;

		buf_addstr(&b, p);
		buf_rtrim(&b);
		step->command = buf_detach(&b);
	}
	if (kind == STEP_EXPECT && lab_expect_split(step, whybuf, whylen) < 0) {
		lab_step_release(step);
		return -1;
	}
	if (kind == STEP_BOOT) {
		struct lab_boot boot;

		if (lab_boot_parse(step->command, &boot, whybuf, whylen) < 0) {
			lab_step_release(step);
			return -1;
		}
		lab_boot_release(&boot);
	}
	return 0;
}

/* The option KEY= at p, if p starts one: its length, else 0. */
static size_t boot_key(const char *p)
{
	static const char *const keys[] = { "expect=", "fail=", "started=",
					    "kernel=", "initrd=", "dtb=",
					    "file=", "entry=" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strncmp(p, keys[i], strlen(keys[i])))
			return strlen(keys[i]);
	return 0;
}

int lab_boot_parse(const char *opts, struct lab_boot *b, char *why,
		   size_t whylen)
{
	const char *p = opts ? opts + strspn(opts, " \t") : "";

	memset(b, 0, sizeof(*b));
	while (*p) {
		size_t k = boot_key(p), n;
		const char *v, *end;
		char *value;
		regex_t re;
		int rc;

		if (!k) {
			snprintf(why, whylen, "boot: '%.40s': expected expect=, "
				 "fail=, started=, kernel=, initrd=, dtb=, file= "
				 "or entry=", p);
			goto fail;
		}
		v = p + k;
		/* the value runs to the next " KEY=" */
		for (end = v; *end; end++)
			if ((*end == ' ' || *end == '\t') &&
			    boot_key(end + strspn(end, " \t")))
				break;
		n = (size_t)(end - v);
		while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		value = xstrndup(v, n);
		if (!strncmp(p, "kernel=", k) || !strncmp(p, "initrd=", k) ||
		    !strncmp(p, "dtb=", k) || !strncmp(p, "file=", k) ||
		    !strncmp(p, "entry=", k)) {
			char **file = p[0] == 'k' ? &b->kernel
				      : p[0] == 'i' ? &b->initrd
				      : p[0] == 'd' ? &b->dtb
				      : p[0] == 'e' ? &b->entry : NULL;

			if (!*value || strchr(value, ' ') || strchr(value, '\t')) {
				snprintf(why, whylen, "boot: %.*s'%.60s': expected "
					 "one file name", (int)k, p, value);
				free(value);
				goto fail;
			}
			if (file) {
				free(*file);
				*file = value;
			} else if (b->files.n >= LAB_BOOT_FILES_MAX) {
				snprintf(why, whylen, "boot: at most %d file=",
					 LAB_BOOT_FILES_MAX);
				free(value);
				goto fail;
			} else {
				vec_push_take(&b->files, value);
			}
			p = end + strspn(end, " \t");
			continue;
		}
		if (!*value || (rc = regcomp(&re, value, REG_EXTENDED | REG_NOSUB))) {
			char msg[128] = "empty";

			if (*value)
				regerror(rc, &re, msg, sizeof(msg));
			snprintf(why, whylen, "boot: %.*s'%.60s': %s", (int)k, p,
				 value, msg);
			free(value);
			goto fail;
		}
		regfree(&re);
		if (p[0] == 'e') {
			free(b->expect);
			b->expect = value;
		} else if (p[0] == 's') {
			free(b->started);
			b->started = value;
		} else {
			vec_push_take(&b->fail, value);
		}
		p = end + strspn(end, " \t");
	}
	if (!b->expect) {
		snprintf(why, whylen, "boot needs expect=PATTERN");
		goto fail;
	}
	return 0;
fail:
	lab_boot_release(b);
	return -1;
}

void lab_boot_release(struct lab_boot *b)
{
	free(b->expect);
	free(b->started);
	vec_clear(&b->fail);
	free(b->kernel);
	free(b->initrd);
	free(b->dtb);
	vec_clear(&b->files);
	free(b->entry);
	memset(b, 0, sizeof(*b));
}

void lab_step_release(struct lab_step *step)
{
	free(step->name);
	free(step->command);
	free(step->cases);
	memset(step, 0, sizeof(*step));
}

/* ---- model building ---- */

struct labconf_ctx {
	struct conf conf;
	struct conf_diag *diag;
	char *dir;            /* of the configuration file */
};

static char *labconf_dup(const struct conf_section *s, const char *key)
{
	return xstrdup_or_null(conf_get(s, key));
}

static char *labconf_path(const struct labconf_ctx *c, const char *v)
{
	if (!v)
		return NULL;
	if (v[0] == '/')
		return xstrdup(v);
	return xasprintf("%s/%s", c->dir, v);
}

/* A local path URL (not scheme:// nor user@host:path) made absolute. */
static char *labconf_url(const struct labconf_ctx *c, const char *v)
{
	const char *colon, *slash;

	if (!v)
		return NULL;   /* reported as a missing key */
	colon = strchr(v, ':');
	slash = strchr(v, '/');
	if (strstr(v, "://") || (colon && (!slash || colon < slash)))
		return xstrdup(v);
	return labconf_path(c, v);
}

/* The contents of the template file a key names (relative to the file). */
static char *labconf_template(const struct labconf_ctx *c,
			      const struct conf_section *s, const char *key)
{
	char *path = labconf_path(c, conf_get(s, key));
	struct buf b = BUF_INIT;

	if (!path)
		return NULL;
	buf_init(&b, 1 << 20);
	if (buf_read_file(&b, path) < 0) {
		conf_diag_entry(c->diag, s, conf_entry_of(s, key), "%s: %s", path,
				b.overflowed ? "over 1 MiB" : strerror(errno));
		buf_release(&b);
		free(path);
		return NULL;
	}
	free(path);
	return buf_detach(&b);
}

static void labconf_list(const struct conf_section *s, const char *key,
			 struct vec *out)
{
	const char *v = conf_get(s, key);

	vec_init(out);
	if (v)
		vec_split(out, v);
}

static int labconf_flag_valid(const char *f)
{
	for (const char *p = f; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
		    !strchr("._-:", *p))
			return 0;
	return *f != '\0';
}

static void labconf_check_flags(struct labconf_ctx *c,
				const struct conf_section *s,
				const struct vec *flags)
{
	const struct conf_entry *e = conf_entry_of(s, "flags");

	for (size_t i = 0; i < flags->n; i++)
		if (!labconf_flag_valid(flags->v[i]))
			conf_diag_entry(c->diag, s, e,
					"invalid flag '%s' (lower-case letters, digits and ._-:)",
					flags->v[i]);
}

/* A host is in at most one equiv-* class and one share-* kind: the
 * scheduler matches on the one it has. */
static void labconf_check_host_classes(struct labconf_ctx *c,
				       const struct conf_section *s,
				       const struct vec *flags)
{
	static const char *const prefixes[] = { "equiv-", "share-" };

	for (size_t p = 0; p < 2; p++) {
		const char *first = NULL;

		for (size_t i = 0; i < flags->n; i++) {
			if (strncmp(flags->v[i], prefixes[p], 6))
				continue;
			if (first)
				conf_diag_entry(c->diag, s,
						conf_entry_of(s, "flags"),
						"'%s' and '%s': a host has at most one %s* flag",
						first, flags->v[i], prefixes[p]);
			first = flags->v[i];
		}
	}
}

static void labconf_worker_defaults(struct lab_worker *w,
				    const struct conf_section *s)
{
	w->slots = (int)conf_get_long(s, "slots", 2);
	w->heartbeat = conf_get_duration(s, "heartbeat", 10);
	w->lease = conf_get_duration(s, "lease", 60);
	free(w->health_check);
	w->health_check = s ? labconf_dup(s, "health-check") : NULL;
	w->health_check_interval = conf_get_duration(s, "health-check-interval",
						     600);
	vec_clear(&w->logs);
	if (s)
		labconf_list(s, "logs", &w->logs);
	else
		vec_split(&w->logs, "/var/log/syslog /var/log/messages /var/log/kern.log");
	w->max_log = conf_get_long(s, "max-log", 64L << 20);
}

static char *labconf_site(struct labconf_ctx *c, const struct conf_section *s,
			  const char *key);

/* The keys of a remote worker: paths relative to the file. */
static void labconf_worker_remote(struct labconf_ctx *c, struct lab_worker *w,
				  const struct conf_section *s)
{
	const char *name = conf_get(s, "name");

	w->site = labconf_site(c, s, "site");
	w->controller = labconf_dup(s, "controller");
	w->token_file = labconf_path(c, conf_get(s, "token-file"));
	w->ca = labconf_path(c, conf_get(s, "ca"));
	w->name = labconf_dup(s, "name");
	if (w->controller && strncmp(w->controller, "https://", 8) != 0 &&
	    strncmp(w->controller, "http://", 7) != 0)
		conf_diag_entry(c->diag, s, conf_entry_of(s, "controller"),
				"'%s' is not an http:// or https:// URL",
				w->controller);
	if (name && (!*name || strlen(name) > 63 ||
		     strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
			    "qrstuvwxyz0123456789._-") != strlen(name)))
		conf_diag_entry(c->diag, s, conf_entry_of(s, "name"),
				"'%s': a worker's name is 1 to 63 of "
				"[A-Za-z0-9._-]", name);
}

static void labconf_gate_defaults(struct lab_gate *g,
				  const struct conf_section *s)
{
	g->interval = conf_get_duration(s, "interval", 60);
	g->retest = conf_get_bool(s, "retest", 1);
	g->bisect = conf_get_bool(s, "bisect", 1);
	g->bisect_max_commits = conf_get_long(s, "bisect-max-commits", 5000);
	g->again = conf_get_duration(s, "again", 6 * 3600);
	free(g->sendmail);
	free(g->mail_to);
	free(g->mail_from);
	g->sendmail = s ? labconf_dup(s, "sendmail") : NULL;
	g->mail_to = s ? labconf_dup(s, "mail-to") : NULL;
	g->mail_from = s ? labconf_dup(s, "mail-from") : NULL;
}

static void labconf_web_defaults(struct lab_web *w, const struct conf_section *s)
{
	const char *role = s ? conf_get(s, "read-role") : NULL;

	w->read_viewer = role && !strcmp(role, "viewer");
	w->threads = (int)conf_get_long(s, "threads", 4);
	w->max_connections = (int)conf_get_long(s, "max-connections", 512);
	w->timeout = conf_get_duration(s, "timeout", 30);
	w->max_upload = conf_get_long(s, "max-upload", 4L << 30);
}

static void labconf_sched_defaults(struct lab_sched *sc,
				   const struct conf_section *s)
{
	sc->interval = conf_get_duration(s, "interval", 60);
	sc->claim_timeout = conf_get_duration(s, "claim-timeout", 600);
	sc->default_duration = conf_get_duration(s, "default-duration", 3600);
	sc->estimate_window = conf_get_duration(s, "estimate-window",
						14 * 86400);
	sc->prefer_failed_host = conf_get_duration(s, "prefer-failed-host",
						   7 * 86400);
	sc->spread_bonus = conf_get_duration(s, "spread-bonus", 12 * 3600);
	sc->prio_reservation = (int)conf_get_long(s, "priority-reservation", 400);
	sc->prio_gate = (int)conf_get_long(s, "priority-gate", 300);
	sc->prio_bisect = (int)conf_get_long(s, "priority-bisect", 200);
	sc->prio_retest = (int)conf_get_long(s, "priority-retest", 100);
	sc->prio_adhoc = (int)conf_get_long(s, "priority-adhoc", 0);
	sc->starvation = conf_get_bool(s, "starvation", 1);
	sc->starvation_wait = conf_get_duration(s, "starvation-wait", 4 * 3600);
	sc->starvation_estimates = (int)conf_get_long(s, "starvation-estimates", 4);
	sc->pinned_wait = conf_get_duration(s, "pinned-wait", 3600);
	sc->full_read_interval = conf_get_duration(s, "full-read-interval", 600);
}

/* "HOST:PORT" with a valid port; *host newly allocated. */
static int labconf_hostport(const char *v, char **host, int *port, int defport)
{
	const char *colon = strrchr(v, ':');

	if (!*v)
		return -1;
	if (!colon) {
		*port = defport;
		*host = xstrdup(v);
		return defport ? 0 : -1;
	}
	if (colon == v || strnum_int(colon + 1, 1, 65535, port) < 0)
		return -1;
	*host = xstrndup(v, (size_t)(colon - v));
	return 0;
}

static void labconf_check_power(struct labconf_ctx *c,
				const struct conf_section *s,
				const struct lab_host *h)
{
	const struct conf_entry *pe = conf_entry_of(s, "power");

	if (!strcmp(h->power, "ipmi")) {
		const struct conf_entry *e = conf_entry_of(s, "ipmi");
		char *host = NULL;
		int port;

		if (!h->ipmi) {
			conf_diag_section(c->diag, s,
					  "power = ipmi needs the key 'ipmi' (lanplus:HOST[:PORT])");
			return;
		}
		if (strncmp(h->ipmi, "lanplus:", 8) ||
		    labconf_hostport(h->ipmi + 8, &host, &port, 623) < 0)
			conf_diag_entry(c->diag, s, e,
					"'%s' is not lanplus:HOST[:PORT]", h->ipmi);
		free(host);
		if (!h->ipmi_password)
			conf_diag_section(c->diag, s,
					  "power = ipmi needs the key 'ipmi-password'");
	} else if (!strcmp(h->power, "command")) {
		if (!h->power_on || !h->power_off)
			conf_diag_entry(c->diag, s, pe,
					"power = command needs 'power-on' and 'power-off'");
	} else if (!strcmp(h->power, "pdudaemon")) {
		const struct conf_entry *e = conf_entry_of(s, "pdu");
		struct vec w = VEC_INIT;
		int port;

		if (!h->pdu) {
			conf_diag_entry(c->diag, s, pe,
					"power = pdudaemon needs the key 'pdu' (URL NAME PORT)");
			return;
		}
		vec_split(&w, h->pdu);
		/* pdudaemon speaks plain HTTP (hangar has no TLS client) */
		if (w.n != 3 || strncmp(w.v[0], "http://", 7) ||
		    strnum_int(w.v[2], 0, 65535, &port) < 0)
			conf_diag_entry(c->diag, s, e,
					"'%s' is not 'http://HOST:PORT PDUNAME PORTNUMBER'",
					h->pdu);
		vec_clear(&w);
	}
}

static void labconf_check_console(struct labconf_ctx *c,
				  const struct conf_section *s,
				  const struct lab_host *h)
{
	const struct conf_entry *e = conf_entry_of(s, "console");
	char *host = NULL;
	int port;

	if (!strcmp(h->console, "none"))
		return;
	if (!strncmp(h->console, "command:", 8) && h->console[8])
		return;
	if (!strncmp(h->console, "tcp:", 4) &&
	    labconf_hostport(h->console + 4, &host, &port, 0) == 0) {
		free(host);
		return;
	}
	free(host);
	conf_diag_entry(c->diag, s, e,
			"'%s' is not tcp:HOST:PORT, command:CMD or none",
			h->console);
}

/* The [arch "NAME"] section, or NULL. */
static const struct conf_section *labconf_arch_section(const struct labconf_ctx *c,
							const char *arch)
{
	for (size_t i = 0; arch && i < c->conf.nsections; i++) {
		const struct conf_section *s = &c->conf.sections[i];

		if (s->def && !strcmp(s->name, "arch") && s->sub &&
		    !strcmp(s->sub, arch))
			return s;
	}
	return NULL;
}

int lab_site_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 63 || s[0] == '-')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* A site name from key of s (NULL when unset), checked. */
static char *labconf_site(struct labconf_ctx *c, const struct conf_section *s,
			  const char *key)
{
	const char *v = conf_get(s, key);

	if (v && !lab_site_name_valid(v)) {
		conf_diag_entry(c->diag, s, conf_entry_of(s, key),
				"'%s' is not a site name ([a-z0-9][a-z0-9-]*, "
				"at most 63 bytes)", v);
		return NULL;
	}
	return xstrdup_or_null(v);
}

static void labconf_add_site(struct labconf_ctx *c, struct lab *lab,
			     const struct conf_section *s)
{
	struct lab_site *st;

	if (!lab_site_name_valid(s->sub)) {
		conf_diag_section(c->diag, s, "'%s' is not a site name "
				  "([a-z0-9][a-z0-9-]*, at most 63 bytes)", s->sub);
		return;
	}
	lab->sites = xrealloc(lab->sites, (lab->nsites + 1) * sizeof(*st));
	st = &lab->sites[lab->nsites++];
	st->name = xstrdup(s->sub);
	st->lease = conf_get(s, "lease") ? conf_get_duration(s, "lease", 0) : 0;
}

static void labconf_add_host(struct labconf_ctx *c, struct lab *lab,
			     const struct conf_section *s)
{
	const struct conf_section *as, *ns;
	struct lab_host *h;

	lab->hosts = xrealloc(lab->hosts, (lab->nhosts + 1) * sizeof(*h));
	h = &lab->hosts[lab->nhosts++];
	memset(h, 0, sizeof(*h));
	h->name = xstrdup(s->sub);
	h->site = labconf_site(c, s, "site");
	h->arch = labconf_dup(s, "arch");
	h->address = labconf_dup(s, "address");
	h->port = (int)conf_get_long(s, "port", 22);
	h->user = labconf_dup(s, "user");
	h->workdir = labconf_dup(s, "workdir");
	labconf_list(s, "flags", &h->flags);
	h->power = labconf_dup(s, "power");
	h->ipmi = labconf_dup(s, "ipmi");
	h->ipmi_user = labconf_dup(s, "ipmi-user");
	h->ipmi_password = labconf_dup(s, "ipmi-password");
	h->ipmi_cipher = (int)conf_get_long(s, "ipmi-cipher", 3);
	h->power_on = labconf_dup(s, "power-on");
	h->power_off = labconf_dup(s, "power-off");
	h->power_status = labconf_dup(s, "power-status");
	h->pdu = labconf_dup(s, "pdu");
	h->console = labconf_dup(s, "console");
	h->boot_timeout = (int)conf_get_long(s, "boot-timeout", 300);
	h->power_cycle_time = (int)conf_get_long(s, "power-cycle-time", 5);
	h->health_check = labconf_dup(s, "health-check");
	h->pxe_file = labconf_dup(s, "pxe-file");
	h->pxe_install = labconf_template(c, s, "pxe-install");
	h->pxe_local = labconf_template(c, s, "pxe-local");
	h->install_timeout = (int)conf_get_long(s, "install-timeout", 1800);
	as = labconf_arch_section(c, h->arch);
	/* the host's own entry, or its arch's (set, not defaults) */
	ns = conf_entry_of(s, "netboot-file") || conf_entry_of(s, "netboot") ||
	     !as ? s : as;
	h->netboot_dir = labconf_dup(conf_entry_of(s, "netboot-dir") || !as
				     ? s : as, "netboot-dir");
	h->netboot_file = labconf_dup(ns, "netboot-file");
	h->netboot = labconf_template(c, ns, "netboot");
	h->share_max_tasks = (int)conf_get_long(s, "share-max-tasks", 3);
	h->share_max_wear = (int)conf_get_long(s, "share-max-wear", 10);
	labconf_check_flags(c, s, &h->flags);
	labconf_check_host_classes(c, s, &h->flags);
	if (h->workdir && h->workdir[0] != '/')
		conf_diag_entry(c->diag, s, conf_entry_of(s, "workdir"),
				"must be an absolute path");
	labconf_check_power(c, s, h);
	labconf_check_console(c, s, h);
}

static void labconf_add_tree(struct labconf_ctx *c, struct lab *lab,
			     const struct conf_section *s)
{
	struct lab_tree *t;

	lab->trees = xrealloc(lab->trees, (lab->ntrees + 1) * sizeof(*t));
	t = &lab->trees[lab->ntrees++];
	t->name = xstrdup(s->sub);
	t->url = labconf_url(c, conf_get(s, "url"));
}

static void labconf_add_branch(struct lab *lab, const struct conf_section *s)
{
	struct lab_branch *b;

	lab->branches = xrealloc(lab->branches,
				 (lab->nbranches + 1) * sizeof(*b));
	b = &lab->branches[lab->nbranches++];
	memset(b, 0, sizeof(*b));
	b->name = xstrdup(s->sub);
	b->tree = labconf_dup(s, "tree");
	b->staging = labconf_dup(s, "staging");
	b->target = labconf_dup(s, "target");
	labconf_list(s, "pin", &b->pins);
	labconf_list(s, "jobs", &b->jobs);
	vec_init(&b->allow);
	conf_get_all(s, "allow", &b->allow);
	b->priority = (int)conf_get_long(s, "priority", 0);
	b->push_starved = conf_get_bool(s, "push-starved", 0);
}

/*
 * [requirements]: a file in a tree (a relative path in it, read at each
 * flight's revision), or without tree a file on disk beside this one.
 */
static void labconf_requirements(struct labconf_ctx *c, struct lab *lab,
				 const struct conf_section *s)
{
	struct lab_requirements *r = &lab->requirements;
	const char *file = conf_get(s, "file");

	free(r->tree);
	free(r->file);
	free(r->format);
	/* a section that names no file (the example's) configures none */
	r->set = conf_entry_of(s, "file") || conf_entry_of(s, "tree");
	r->tree = labconf_dup(s, "tree");
	r->format = xstrdup(conf_get(s, "format") ? conf_get(s, "format")
						  : "hangar");
	if (!file)
		file = "REQUIREMENTS";
	if (!r->tree) {
		r->file = labconf_path(c, file);
		return;
	}
	r->file = xstrdup(file);
	if (!*file || file[0] == '/' || !strcmp(file, "..") ||
	    !strncmp(file, "../", 3) || strstr(file, "/../") ||
	    (strlen(file) >= 3 && !strcmp(file + strlen(file) - 3, "/..")))
		conf_diag_entry(c->diag, s, conf_entry_of(s, "file"),
				"'%s': a path inside the tree (relative, no "
				"'..')", file);
}

/*
 * [evidence]. The signer is written unquoted into allowed_signers lines
 * (principal, then options) and given to `ssh-keygen -Y verify -I`: a
 * space, a quote, a comma (a list of principals) or a pattern character
 * there makes a line that no record verifies against, so the signer is
 * a word of letters, digits and ._@+=- (a user@host or a mail address).
 */
static void labconf_evidence(struct labconf_ctx *c, struct lab *lab,
			     const struct conf_section *s)
{
	const char *signer = conf_get(s, "signer");

	free(lab->evidence.key);
	free(lab->evidence.signer);
	lab->evidence.key = labconf_path(c, conf_get(s, "key"));
	lab->evidence.signer = labconf_dup(s, "signer");
	if (signer && (!*signer || strlen(signer) > 256 ||
		       strspn(signer, "abcdefghijklmnopqrstuvwxyz"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@+=-") !=
		       strlen(signer)))
		conf_diag_entry(c->diag, s, conf_entry_of(s, "signer"),
				"'%s': a principal of letters, digits and "
				"._@+=- (1 to 256 bytes)", signer);
}

static void labconf_add_job(struct labconf_ctx *c, struct lab *lab,
			    const struct conf_section *s)
{
	struct lab_job *j;
	struct vec names = VEC_INIT;

	lab->jobs = xrealloc(lab->jobs, (lab->njobs + 1) * sizeof(*j));
	j = &lab->jobs[lab->njobs++];
	memset(j, 0, sizeof(*j));
	j->name = xstrdup(s->sub);
	j->recipe = labconf_dup(s, "recipe");
	j->arch = labconf_dup(s, "arch");
	labconf_list(s, "needs", &j->needs);
	labconf_list(s, "flags", &j->flags);
	j->hosts = (int)conf_get_long(s, "hosts", 1);
	vec_init(&j->runvars);
	labconf_check_flags(c, s, &j->flags);
	for (size_t i = 0; i < s->n; i++) {
		const struct conf_entry *e = s->entries[i];
		const char *why;
		char *name, *value;

		if (strcmp(e->key, "runvar"))
			continue;
		if (runvar_parse(e->value, &name, &value, &why) < 0) {
			conf_diag_entry(c->diag, s, e, "'%s': %s", e->value, why);
			continue;
		}
		if (runvar_reserved(name))
			conf_diag_entry(c->diag, s, e,
					"'%s' is set by hangar for every job", name);
		else if (vec_find(&names, name) >= 0)
			conf_diag_entry(c->diag, s, e, "'%s' set twice", name);
		else
			vec_push(&j->runvars, e->value);
		vec_push(&names, name);
		free(name);
		free(value);
	}
	vec_clear(&names);
}

static void labconf_add_recipe(struct labconf_ctx *c, struct lab *lab,
			       const struct conf_section *s)
{
	struct lab_recipe *r;

	lab->recipes = xrealloc(lab->recipes, (lab->nrecipes + 1) * sizeof(*r));
	r = &lab->recipes[lab->nrecipes++];
	memset(r, 0, sizeof(*r));
	r->name = xstrdup(s->sub);
	labconf_list(s, "artifacts", &r->artifacts);
	for (size_t i = 0; i < s->n; i++) {
		const struct conf_entry *e = s->entries[i];
		struct lab_step step;
		char why[256];
		int repeat = 1;

		if (strcmp(e->key, "step"))
			continue;
		if (lab_step_parse(e->value, &step, why, sizeof(why)) < 0) {
			conf_diag_entry(c->diag, s, e, "%s", why);
			continue;
		}
		for (size_t k = 0; k < r->nsteps; k++) {
			const char *other = r->steps[k].name;
			size_t n = strlen(step.name);

			if (strncmp(other, step.name, n) ||
			    (other[n] && other[n] != '.'))
				continue;
			if (step.kind == STEP_RUN) {
				conf_diag_entry(c->diag, s, e,
						"step name '%s' used twice",
						step.name);
				repeat = 0;
				break;
			}
			repeat++;
		}
		if (!repeat) {
			lab_step_release(&step);
			continue;
		}
		/* OSSTest's testid rule: a repeated step gets ".2", ".3"... */
		if (repeat > 1) {
			char *named = xasprintf("%s.%d", step.name, repeat);

			free(step.name);
			step.name = named;
		}
		r->steps = xrealloc(r->steps, (r->nsteps + 1) * sizeof(step));
		r->steps[r->nsteps++] = step;
	}
}

static struct lab_job *lab_job_find(struct lab *lab, const char *name)
{
	for (size_t i = 0; i < lab->njobs; i++)
		if (!strcmp(lab->jobs[i].name, name))
			return &lab->jobs[i];
	return NULL;
}

static int lab_has_recipe(const struct lab *lab, const char *name)
{
	for (size_t i = 0; i < lab->nrecipes; i++)
		if (!strcmp(lab->recipes[i].name, name))
			return 1;
	return 0;
}

static int lab_has_tree(const struct lab *lab, const char *name)
{
	for (size_t i = 0; i < lab->ntrees; i++)
		if (!strcmp(lab->trees[i].name, name))
			return 1;
	return 0;
}

static const struct conf_section *labconf_section(const struct labconf_ctx *c,
						  const char *name,
						  const char *sub)
{
	for (size_t i = 0; i < c->conf.nsections; i++) {
		const struct conf_section *s = &c->conf.sections[i];

		if (strcmp(s->name, name))
			continue;
		if (sub ? s->sub && !strcmp(s->sub, sub) : !s->sub)
			return s;
	}
	return NULL;
}

/* Depth-first search for a cycle through needs; marks: 0 new, 1 on path, 2 done. */
static int labconf_cycle(struct lab *lab, size_t i, int *mark, struct vec *path)
{
	struct lab_job *j = &lab->jobs[i];

	if (mark[i] == 2)
		return 0;
	vec_push(path, j->name);
	if (mark[i] == 1)
		return 1;
	mark[i] = 1;
	for (size_t k = 0; k < j->needs.n; k++) {
		struct lab_job *d = lab_job_find(lab, j->needs.v[k]);

		if (d && labconf_cycle(lab, (size_t)(d - lab->jobs), mark, path))
			return 1;
	}
	mark[i] = 2;
	free(path->v[--path->n]);
	path->v[path->n] = NULL;
	return 0;
}

static void labconf_cross_check(struct labconf_ctx *c, struct lab *lab)
{
	struct conf_diag *d = c->diag;
	int *mark;

	for (size_t i = 0; i < lab->nhosts; i++) {
		const struct lab_host *h = &lab->hosts[i];

		for (size_t k = 0; k < i; k++) {
			const struct lab_host *o = &lab->hosts[k];

			if (h->address && o->address &&
			    !strcmp(h->address, o->address) && h->port == o->port) {
				const struct conf_section *s =
					labconf_section(c, "host", h->name);

				conf_diag_entry(d, s, conf_entry_of(s, "address"),
						"%s port %d is already host '%s'",
						h->address, h->port, o->name);
			}
		}
	}
	for (size_t i = 0; i < lab->nhosts; i++) {
		const struct lab_host *h = &lab->hosts[i];
		const struct conf_section *s = labconf_section(c, "host", h->name);

		if (h->health_check && !lab_has_recipe(lab, h->health_check))
			conf_diag_entry(d, s, conf_entry_of(s, "health-check"),
					"no recipe '%s'", h->health_check);
	}
	if (lab->worker.health_check &&
	    !lab_has_recipe(lab, lab->worker.health_check)) {
		const struct conf_section *s = labconf_section(c, "worker", NULL);

		conf_diag_entry(d, s, conf_entry_of(s, "health-check"),
				"no recipe '%s'", lab->worker.health_check);
	}
	for (size_t i = 0; i < lab->njobs; i++) {
		const struct lab_job *j = &lab->jobs[i];
		const struct conf_section *s = labconf_section(c, "job", j->name);

		if (j->recipe && !lab_has_recipe(lab, j->recipe))
			conf_diag_entry(d, s, conf_entry_of(s, "recipe"),
					"no recipe '%s'", j->recipe);
		for (size_t k = 0; k < j->needs.n; k++) {
			if (!lab_job_find(lab, j->needs.v[k]))
				conf_diag_entry(d, s, conf_entry_of(s, "needs"),
						"no job '%s'", j->needs.v[k]);
			else if (!strcmp(j->needs.v[k], j->name))
				conf_diag_entry(d, s, conf_entry_of(s, "needs"),
						"a job cannot need itself");
		}
	}
	mark = xcalloc(lab->njobs, sizeof(*mark));
	for (size_t i = 0; i < lab->njobs; i++) {
		struct vec path = VEC_INIT;

		if (mark[i] == 0 && labconf_cycle(lab, i, mark, &path)) {
			const char *last = path.v[path.n - 1];
			const struct conf_section *s =
				labconf_section(c, "job", last);
			struct vec cycle = VEC_INIT;
			size_t start = 0;
			char *text;

			while (strcmp(path.v[start], last))
				start++;
			for (size_t k = start; k < path.n; k++)
				vec_push(&cycle, path.v[k]);
			text = vec_join(&cycle, " -> ");
			/* a job needing itself was reported above */
			if (cycle.n > 2)
				conf_diag_entry(d, s, conf_entry_of(s, "needs"),
						"dependency cycle: %s", text);
			free(text);
			vec_clear(&cycle);
			/* report each cycle once */
			for (size_t k = 0; k < lab->njobs; k++)
				if (mark[k] == 1)
					mark[k] = 2;
		}
		vec_clear(&path);
	}
	free(mark);
	for (size_t i = 0; i < lab->nbranches; i++) {
		const struct lab_branch *b = &lab->branches[i];
		const struct conf_section *s =
			labconf_section(c, "branch", b->name);

		if (b->tree && !lab_has_tree(lab, b->tree))
			conf_diag_entry(d, s, conf_entry_of(s, "tree"),
					"no tree '%s'", b->tree);
		for (size_t k = 0; k < b->pins.n; k++) {
			if (!lab_has_tree(lab, b->pins.v[k]))
				conf_diag_entry(d, s, conf_entry_of(s, "pin"),
						"no tree '%s'", b->pins.v[k]);
			else if (b->tree && !strcmp(b->pins.v[k], b->tree))
				conf_diag_entry(d, s, conf_entry_of(s, "pin"),
						"'%s' is the gated tree", b->tree);
		}
		for (size_t k = 0; k < b->jobs.n; k++) {
			const struct lab_job *j = lab_job_find(lab, b->jobs.v[k]);

			if (!j) {
				conf_diag_entry(d, s, conf_entry_of(s, "jobs"),
						"no job '%s'", b->jobs.v[k]);
				continue;
			}
			for (size_t m = 0; m < j->needs.n; m++)
				if (vec_find(&b->jobs, j->needs.v[m]) < 0)
					conf_diag_entry(d, s,
							conf_entry_of(s, "jobs"),
							"'%s' needs '%s', which is not in the list",
							j->name, j->needs.v[m]);
		}
		for (size_t k = 0; k < s->n; k++) {
			const struct conf_entry *e = s->entries[k];
			struct vec w = VEC_INIT;

			if (strcmp(e->key, "allow"))
				continue;
			vec_split(&w, e->value);
			if (w.n < 1 || w.n > 2)
				conf_diag_entry(d, s, e, "'%s' is not JOBPAT [STEPPAT]",
						e->value);
			vec_clear(&w);
		}
	}
}

/* The checks that need the whole file: [requirements] tree is a tree. */
static void labconf_check_requirements(struct labconf_ctx *c, struct lab *lab)
{
	const struct conf_section *s = labconf_section(c, "requirements", NULL);

	if (s && lab->requirements.tree &&
	    !lab_has_tree(lab, lab->requirements.tree))
		conf_diag_entry(c->diag, s, conf_entry_of(s, "tree"),
				"no tree '%s'", lab->requirements.tree);
}

int labconf_load(const char *path, struct lab *lab, struct conf_diag *diag)
{
	struct labconf_ctx c;
	size_t before = diag->msgs.n;
	const char *slash;
	char *abs = fs_absolute(path);

	memset(lab, 0, sizeof(*lab));
	memset(&c, 0, sizeof(c));
	c.diag = diag;
	slash = strrchr(abs, '/');
	c.dir = xstrndup(abs, (size_t)(slash - abs));
	lab->path = abs;
	conf_read(path, labconf_sections, &c.conf, diag);
	labconf_sched_defaults(&lab->sched, NULL);
	labconf_worker_defaults(&lab->worker, NULL);
	labconf_gate_defaults(&lab->gate, NULL);
	labconf_web_defaults(&lab->web, NULL);
	for (size_t i = 0; i < c.conf.nsections; i++) {
		const struct conf_section *s = &c.conf.sections[i];

		if (!s->def)
			continue;
		if (!strcmp(s->name, "lab")) {
			lab->state = labconf_path(&c, conf_get(s, "state"));
			lab->database = labconf_dup(s, "database");
			lab->db_listen = labconf_dup(s, "db-listen");
			lab->db_sync_standby = labconf_dup(s, "db-synchronous-standby");
			lab->listen = labconf_dup(s, "listen");
			lab->identity = labconf_path(&c, conf_get(s, "identity"));
			lab->url = labconf_dup(s, "url");
			lab->tftp = labconf_path(&c, conf_get(s, "tftp"));
			free(lab->site);
			lab->site = labconf_site(&c, s, "site");
		} else if (!strcmp(s->name, "host")) {
			labconf_add_host(&c, lab, s);
		} else if (!strcmp(s->name, "site")) {
			labconf_add_site(&c, lab, s);
		} else if (!strcmp(s->name, "arch")) {
			if (strcmp(s->sub, "x86_64") && strcmp(s->sub, "arm64") &&
			    strcmp(s->sub, "riscv64"))
				conf_diag_section(diag, s, "unknown arch '%s' "
						  "(x86_64, arm64 or riscv64)", s->sub);
		} else if (!strcmp(s->name, "tree")) {
			labconf_add_tree(&c, lab, s);
		} else if (!strcmp(s->name, "branch")) {
			labconf_add_branch(lab, s);
		} else if (!strcmp(s->name, "job")) {
			labconf_add_job(&c, lab, s);
		} else if (!strcmp(s->name, "recipe")) {
			labconf_add_recipe(&c, lab, s);
		} else if (!strcmp(s->name, "scheduler")) {
			labconf_sched_defaults(&lab->sched, s);
		} else if (!strcmp(s->name, "worker")) {
			labconf_worker_defaults(&lab->worker, s);
			labconf_worker_remote(&c, &lab->worker, s);
		} else if (!strcmp(s->name, "gate")) {
			labconf_gate_defaults(&lab->gate, s);
		} else if (!strcmp(s->name, "requirements")) {
			labconf_requirements(&c, lab, s);
		} else if (!strcmp(s->name, "evidence")) {
			labconf_evidence(&c, lab, s);
		} else if (!strcmp(s->name, "web")) {
			labconf_web_defaults(&lab->web, s);
			lab->web.tls_cert = labconf_path(&c, conf_get(s, "tls-cert"));
			lab->web.tls_key = labconf_path(&c, conf_get(s, "tls-key"));
			if (!lab->web.tls_cert != !lab->web.tls_key)
				conf_diag_section(diag, s, "tls-cert and tls-key go "
						  "together (both or neither)");
		}
	}
	if (!lab->site)
		lab->site = xstrdup("local");
	if (!lab->evidence.signer)
		lab->evidence.signer = xstrdup("hangar");
	for (size_t i = 0; i < lab->nhosts; i++)
		if (!lab->hosts[i].site)
			lab->hosts[i].site = xstrdup(lab->site);
	if (!lab->state)
		lab->state = xstrdup(lab_keys[0].def);
	if (!lab->listen)
		lab->listen = xstrdup(lab_keys[2].def);
	if (!lab->url)
		lab->url = xasprintf("http://%s", lab->listen);
	labconf_cross_check(&c, lab);
	labconf_check_requirements(&c, lab);
	conf_release(&c.conf);
	free(c.dir);
	if (diag->msgs.n != before) {
		labconf_release(lab);
		return -1;
	}
	return 0;
}

void labconf_release(struct lab *lab)
{
	for (size_t i = 0; i < lab->nhosts; i++) {
		struct lab_host *h = &lab->hosts[i];

		free(h->name);
		free(h->site);
		free(h->arch);
		free(h->address);
		free(h->user);
		free(h->workdir);
		vec_clear(&h->flags);
		free(h->power);
		free(h->ipmi);
		free(h->ipmi_user);
		free(h->ipmi_password);
		free(h->power_on);
		free(h->power_off);
		free(h->power_status);
		free(h->pdu);
		free(h->console);
		free(h->health_check);
		free(h->pxe_file);
		free(h->pxe_install);
		free(h->pxe_local);
		free(h->netboot_dir);
		free(h->netboot_file);
		free(h->netboot);
	}
	free(lab->hosts);
	for (size_t i = 0; i < lab->ntrees; i++) {
		free(lab->trees[i].name);
		free(lab->trees[i].url);
	}
	free(lab->trees);
	for (size_t i = 0; i < lab->nbranches; i++) {
		struct lab_branch *b = &lab->branches[i];

		free(b->name);
		free(b->tree);
		free(b->staging);
		free(b->target);
		vec_clear(&b->pins);
		vec_clear(&b->jobs);
		vec_clear(&b->allow);
	}
	free(lab->branches);
	for (size_t i = 0; i < lab->njobs; i++) {
		struct lab_job *j = &lab->jobs[i];

		free(j->name);
		free(j->recipe);
		free(j->arch);
		vec_clear(&j->runvars);
		vec_clear(&j->needs);
		vec_clear(&j->flags);
	}
	free(lab->jobs);
	for (size_t i = 0; i < lab->nrecipes; i++) {
		struct lab_recipe *r = &lab->recipes[i];

		for (size_t k = 0; k < r->nsteps; k++)
			lab_step_release(&r->steps[k]);
		free(r->steps);
		free(r->name);
		vec_clear(&r->artifacts);
	}
	free(lab->recipes);
	for (size_t i = 0; i < lab->nsites; i++)
		free(lab->sites[i].name);
	free(lab->sites);
	free(lab->site);
	free(lab->web.tls_cert);
	free(lab->web.tls_key);
	free(lab->requirements.tree);
	free(lab->requirements.file);
	free(lab->requirements.format);
	free(lab->evidence.key);
	free(lab->evidence.signer);
	free(lab->path);
	free(lab->state);
	free(lab->database);
	free(lab->db_listen);
	free(lab->db_sync_standby);
	free(lab->listen);
	free(lab->identity);
	free(lab->url);
	free(lab->tftp);
	free(lab->worker.health_check);
	free(lab->worker.site);
	free(lab->worker.controller);
	free(lab->worker.token_file);
	free(lab->worker.ca);
	free(lab->worker.name);
	free(lab->gate.sendmail);
	free(lab->gate.mail_to);
	free(lab->gate.mail_from);
	vec_clear(&lab->worker.logs);
	memset(lab, 0, sizeof(*lab));
}

void labconf_print_reference(FILE *out)
{
	for (const struct conf_section_def *sd = labconf_sections; sd->name;
	     sd++) {
		fprintf(out, "[%s%s]  %s\n", sd->name,
			sd->named ? " \"NAME\"" : "", sd->help);
		for (const struct conf_key *k = sd->keys; k->name; k++) {
			fprintf(out, "    %-14s %s", k->name, k->help);
			if (k->flags & CONF_REQUIRED)
				fprintf(out, " (required)");
			else if (k->def)
				fprintf(out, " (default: %s)", k->def);
			fputc('\n', out);
		}
		fputc('\n', out);
	}
}

long lab_site_lease(const struct lab *lab, const char *site)
{
	for (size_t i = 0; site && i < lab->nsites; i++)
		if (!strcmp(lab->sites[i].name, site) && lab->sites[i].lease > 0)
			return lab->sites[i].lease;
	return lab->worker.lease;
}

int lab_site_known(const struct lab *lab, const char *site)
{
	if (!strcmp(site, lab->site))
		return 1;
	for (size_t i = 0; i < lab->nsites; i++)
		if (!strcmp(lab->sites[i].name, site))
			return 1;
	for (size_t i = 0; i < lab->nhosts; i++)
		if (!strcmp(lab->hosts[i].site, site))
			return 1;
	return 0;
}
