/*
 * test-step.c: parsing one recipe `step = ...` value with lab_step_parse
 * (lib/labconf.h): KIND [timeout=SECONDS] [NAME] [COMMAND] for every kind,
 * the default testids, commands kept verbatim, and the error reasons.
 */
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "labconf.h"
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define KINDS \
	" (expected host-power-cycle, host-install, reboot, build, " \
	"install-build, run, logs-capture, boot, console-send or expect)"
#define TIMEOUT_UNITS " (seconds, or with s, m, h, d; at most 7d)"

static void test_kind_names(void **state)
{
	static const struct {
		enum step_kind kind;
		const char *name;
	} cases[] = {
		{ STEP_HOST_POWER_CYCLE, "host-power-cycle" },
		{ STEP_HOST_INSTALL, "host-install" },
		{ STEP_REBOOT, "reboot" },
		{ STEP_BUILD, "build" },
		{ STEP_INSTALL_BUILD, "install-build" },
		{ STEP_RUN, "run" },
		{ STEP_LOGS_CAPTURE, "logs-capture" },
		{ STEP_BOOT, "boot" },
		{ STEP_CONSOLE_SEND, "console-send" },
		{ STEP_EXPECT, "expect" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_string_equal(step_kind_str(cases[i].kind),
				    cases[i].name);
}

static void test_parse_valid(void **state)
{
	static const struct {
		const char *text;
		enum step_kind kind;
		const char *name;
		const char *command; /* NULL: none */
		long timeout;
	} cases[] = {
		{ "host-power-cycle", STEP_HOST_POWER_CYCLE, "host-power-cycle",
		  NULL, 0 },
		{ "host-install", STEP_HOST_INSTALL, "host-install", NULL, 0 },
		{ "reboot", STEP_REBOOT, "reboot", NULL, 0 },
		{ "build make -j2", STEP_BUILD, "build", "make -j2", 0 },
		{ "install-build make install DESTDIR=/x", STEP_INSTALL_BUILD,
		  "install-build", "make install DESTDIR=/x", 0 },
		{ "run smoke ./installed/tests/smoke.sh", STEP_RUN, "smoke",
		  "./installed/tests/smoke.sh", 0 },
		{ "logs-capture", STEP_LOGS_CAPTURE, "logs-capture", NULL, 0 },
		{ "logs-capture dmesg; cat /var/log/xen/*.log",
		  STEP_LOGS_CAPTURE, "logs-capture",
		  "dmesg; cat /var/log/xen/*.log", 0 },
		/* timeout=, in every unit */
		{ "reboot timeout=600", STEP_REBOOT, "reboot", NULL, 600 },
		{ "reboot timeout=90s", STEP_REBOOT, "reboot", NULL, 90 },
		{ "host-install timeout=45m", STEP_HOST_INSTALL, "host-install",
		  NULL, 2700 },
		{ "build timeout=2h make", STEP_BUILD, "build", "make", 7200 },
		{ "run timeout=1d soak ./soak.sh --long", STEP_RUN, "soak",
		  "./soak.sh --long", 86400 },
		{ "run timeout=7d week ./w", STEP_RUN, "week", "./w", 604800 },
		{ "run timeout=1 quick true", STEP_RUN, "quick", "true", 1 },
		{ "logs-capture timeout=5m", STEP_LOGS_CAPTURE, "logs-capture",
		  NULL, 300 },
		/* commands verbatim: inner spacing, quotes, globs */
		{ "run pair ./t.sh  --a   'b  c' \"d\" *.log ?x [ab]", STEP_RUN,
		  "pair", "./t.sh  --a   'b  c' \"d\" *.log ?x [ab]", 0 },
		{ "build make -C src V=1 && cp dist/*.tar.gz out/", STEP_BUILD,
		  "build", "make -C src V=1 && cp dist/*.tar.gz out/", 0 },
		/* timeout= after the name belongs to the command */
		{ "run smoke timeout=5 ./x", STEP_RUN, "smoke", "timeout=5 ./x",
		  0 },
		/* blanks around the words, trailing ones trimmed */
		{ "  reboot  ", STEP_REBOOT, "reboot", NULL, 0 },
		{ "\treboot\ttimeout=10\t", STEP_REBOOT, "reboot", NULL, 10 },
		{ "run  \t smoke \t ./s.sh arg   \t ", STEP_RUN, "smoke",
		  "./s.sh arg", 0 },
		{ "build make   ", STEP_BUILD, "build", "make", 0 },
		{ "logs-capture   ", STEP_LOGS_CAPTURE, "logs-capture", NULL,
		  0 },
		/* run names: letters, digits and ._-+()/ */
		{ "run xen-4.19_b+c(1)/x ./t", STEP_RUN, "xen-4.19_b+c(1)/x",
		  "./t", 0 },
		{ "run reboot ./r", STEP_RUN, "reboot", "./r", 0 },
		/* console steps: the text verbatim, expect's timeout either side */
		{ "console-send  setenv bootargs console=ttyS0  ", STEP_CONSOLE_SEND,
		  "console-send", "setenv bootargs console=ttyS0", 0 },
		{ "expect => ", STEP_EXPECT, "expect", "=>", 0 },
		{ "expect login: timeout=2m", STEP_EXPECT, "expect", "login:", 120 },
		{ "expect timeout=30 Hit any key", STEP_EXPECT, "expect",
		  "Hit any key", 30 },
		{ "expect a timeout=5 b", STEP_EXPECT, "expect", "a timeout=5 b", 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lab_step step;
		char why[256] = "";

		if (lab_step_parse(cases[i].text, &step, why, sizeof(why)) < 0)
			fail_msg("lab_step_parse(\"%s\"): %s", cases[i].text,
				 why);
		if (step.kind != cases[i].kind)
			fail_msg("\"%s\": kind %d, expected %d", cases[i].text,
				 (int)step.kind, (int)cases[i].kind);
		assert_string_equal(step.name, cases[i].name);
		if (cases[i].command)
			assert_string_equal(step.command, cases[i].command);
		else if (step.command)
			fail_msg("\"%s\": command '%s', expected none",
				 cases[i].text, step.command);
		if (step.timeout != cases[i].timeout)
			fail_msg("\"%s\": timeout %ld, expected %ld",
				 cases[i].text, step.timeout, cases[i].timeout);
		lab_step_release(&step);
		assert_null(step.name);
		assert_null(step.command);
	}
}

static void test_parse_cases(void **state)
{
	static const struct {
		const char *text, *cases, *name, *command;
		long timeout;
	} cases[] = {
		{ "run cases=tap selftest ./t.sh", "tap", "selftest", "./t.sh", 0 },
		{ "run cases=xtf xtf ./xtf-runner", "xtf", "xtf", "./xtf-runner",
		  0 },
		{ "run timeout=5m cases=hangar s ./s", "hangar", "s", "./s", 300 },
		{ "run cases=junit:out/r.xml timeout=1h s ./s", "junit:out/r.xml",
		  "s", "./s", 3600 },
		{ "run smoke ./s", NULL, "smoke", "./s", 0 },
		/* after the name it is the command's */
		{ "run smoke cases=tap ./s", NULL, "smoke", "cases=tap ./s", 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lab_step step;
		char why[256] = "";

		if (lab_step_parse(cases[i].text, &step, why, sizeof(why)) < 0)
			fail_msg("lab_step_parse(\"%s\"): %s", cases[i].text,
				 why);
		if (cases[i].cases)
			assert_string_equal(step.cases, cases[i].cases);
		else
			assert_null(step.cases);
		assert_string_equal(step.name, cases[i].name);
		assert_string_equal(step.command, cases[i].command);
		assert_int_equal(step.timeout, cases[i].timeout);
		lab_step_release(&step);
		assert_null(step.cases);
	}
}

static void test_boot_options(void **state)
{
	struct lab_boot b;
	char why[256] = "";

	(void)state;
	assert_int_equal(lab_boot_parse("expect=Test result: SUCCESS "
					"fail=Kernel panic  fail=BUG: .* "
					"started=Xen version [0-9.]+", &b, why,
					sizeof(why)), 0);
	assert_string_equal(b.expect, "Test result: SUCCESS");
	assert_string_equal(b.started, "Xen version [0-9.]+");
	assert_int_equal(b.fail.n, 2);
	assert_string_equal(b.fail.v[0], "Kernel panic");
	assert_string_equal(b.fail.v[1], "BUG: .*");
	lab_boot_release(&b);
	assert_null(b.expect);
	/* a word that is not a key is part of the value before it */
	assert_int_equal(lab_boot_parse("expect=a failed=b", &b, why,
					sizeof(why)), 0);
	assert_string_equal(b.expect, "a failed=b");
	assert_null(b.started);
	assert_null(b.kernel);
	lab_boot_release(&b);
	/* boot files: one word each */
	assert_int_equal(lab_boot_parse("kernel=boot-*.img expect=done "
					"dtb=/srv/virt.dtb initrd=x.cpio", &b, why,
					sizeof(why)), 0);
	assert_string_equal(b.kernel, "boot-*.img");
	assert_string_equal(b.initrd, "x.cpio");
	assert_string_equal(b.dtb, "/srv/virt.dtb");
	assert_string_equal(b.expect, "done");
	lab_boot_release(&b);
	assert_null(b.kernel);
	assert_int_equal(lab_boot_parse("kernel=a b expect=x", &b, why,
					sizeof(why)), -1);
	assert_string_equal(why, "boot: kernel='a b': expected one file name");
	/* a Xen: its own entry, the dom0 kernel as file= (in order) */
	assert_int_equal(lab_boot_parse("entry=/srv/xen.ipxe kernel=xen "
					"file=vmlinuz file=xsm.bin fail=x "
					"expect=dom0", &b, why, sizeof(why)), 0);
	assert_string_equal(b.entry, "/srv/xen.ipxe");
	assert_int_equal(b.files.n, 2);
	assert_string_equal(b.files.v[0], "vmlinuz");
	assert_string_equal(b.files.v[1], "xsm.bin");
	assert_int_equal(b.fail.n, 1);
	lab_boot_release(&b);
	assert_null(b.entry);
	assert_int_equal(lab_boot_parse("expect=x file=1 file=2 file=3 file=4 "
					"file=5 file=6 file=7 file=8 file=9 "
					"file=10", &b, why, sizeof(why)), -1);
	assert_string_equal(why, "boot: at most 9 file=");
}

static void test_parse_invalid(void **state)
{
	static const struct {
		const char *text;
		const char *why; /* the whole reason */
	} cases[] = {
		{ "", "unknown step ''" KINDS },
		{ "   ", "unknown step ''" KINDS },
		{ "frobnicate", "unknown step 'frobnicate'" KINDS },
		{ "Reboot", "unknown step 'Reboot'" KINDS },
		{ "rebootx", "unknown step 'rebootx'" KINDS },
		{ "reboo", "unknown step 'reboo'" KINDS },
		{ "build-x make", "unknown step 'build-x'" KINDS },
		{ "timeout=5 reboot", "unknown step 'timeout=5'" KINDS },
		/* run needs NAME COMMAND */
		{ "run", "run needs a step name: run NAME COMMAND" },
		{ "run   ", "run needs a step name: run NAME COMMAND" },
		{ "run timeout=5m", "run needs a step name: run NAME COMMAND" },
		{ "run sm*ke ./x", "run needs a step name: run NAME COMMAND" },
		{ "run a;b ./x", "run needs a step name: run NAME COMMAND" },
		{ "run smoke", "run needs a command" },
		{ "run smoke   ", "run needs a command" },
		{ "run timeout=5 smoke", "run needs a command" },
		/* commands required */
		{ "build", "build needs a command" },
		{ "build   ", "build needs a command" },
		{ "build timeout=1h", "build needs a command" },
		{ "install-build", "install-build needs a command" },
		/* commands refused */
		{ "reboot now", "reboot takes no command" },
		{ "reboot timeout=5 now", "reboot takes no command" },
		{ "host-install debian", "host-install takes no command" },
		{ "host-power-cycle x", "host-power-cycle takes no command" },
		/* timeouts */
		{ "reboot timeout=", "bad timeout ''" TIMEOUT_UNITS },
		{ "reboot timeout=0", "bad timeout '0'" TIMEOUT_UNITS },
		{ "reboot timeout=-5", "bad timeout '-5'" TIMEOUT_UNITS },
		{ "reboot timeout=8d", "bad timeout '8d'" TIMEOUT_UNITS },
		{ "reboot timeout=604801",
		  "bad timeout '604801'" TIMEOUT_UNITS },
		{ "reboot timeout=1x", "bad timeout '1x'" TIMEOUT_UNITS },
		{ "reboot timeout=abc", "bad timeout 'abc'" TIMEOUT_UNITS },
		{ "run timeout=5q smoke ./x",
		  "bad timeout '5q'" TIMEOUT_UNITS },
		{ "build timeout=1.5h make",
		  "bad timeout '1.5h'" TIMEOUT_UNITS },
		/* boot */
		{ "boot", "boot needs a command" },
		{ "boot fail=panic", "boot needs expect=PATTERN" },
		{ "boot expect=", "boot: expect='': empty" },
		{ "boot login:", "boot: 'login:': expected expect=, fail=, started=, kernel=, initrd=, dtb=, file= or entry=" },
		{ "boot cases=junit:r.xml expect=x",
		  "bad cases 'junit:r.xml' (tap, xtf or hangar: a console has no files)" },
		{ "console-send", "console-send needs a command" },
		{ "expect", "expect needs a command" },
		{ "expect (x", "expect '(x': Unmatched ( or \\(" },
		{ "expect x timeout=0", "bad timeout '0'" TIMEOUT_UNITS },
		{ "boot expect=ok fail=(unclosed",
		  "boot: fail='(unclosed': Unmatched ( or \\(" },
		/* cases= */
		{ "run cases=junit smoke ./x",
		  "bad cases 'junit' (tap, xtf, hangar or junit:PATH)" },
		{ "run cases=junit:/abs.xml smoke ./x",
		  "bad cases 'junit:/abs.xml' (tap, xtf, hangar or junit:PATH)" },
		{ "run cases=junit:../up.xml smoke ./x",
		  "bad cases 'junit:../up.xml' (tap, xtf, hangar or junit:PATH)" },
		{ "run cases=subunit smoke ./x",
		  "bad cases 'subunit' (tap, xtf, hangar or junit:PATH)" },
		{ "build cases=tap make", "cases= goes with run and boot steps only" },
		{ "run cases=tap smoke", "run needs a command" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lab_step step;
		char why[256] = "";

		if (lab_step_parse(cases[i].text, &step, why, sizeof(why)) == 0)
			fail_msg("lab_step_parse(\"%s\") should fail",
				 cases[i].text);
		if (strcmp(why, cases[i].why))
			fail_msg("lab_step_parse(\"%s\"): '%s', expected '%s'",
				 cases[i].text, why, cases[i].why);
		/* nothing is left allocated on failure */
		assert_null(step.name);
		assert_null(step.command);
		assert_null(step.cases);
	}
}

static void test_parse_small_whybuf(void **state)
{
	struct lab_step step;
	char why[12];

	(void)state;
	memset(why, 'x', sizeof(why));
	assert_int_equal(lab_step_parse("frobnicate", &step, why, sizeof(why)),
			 -1);
	assert_string_equal(why, "unknown ste");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_cases),
		cmocka_unit_test(test_boot_options),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_small_whybuf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
