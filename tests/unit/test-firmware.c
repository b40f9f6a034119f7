/*
 * test-firmware.c: firmware banners of serial consoles (hosts/firmware.h)
 * as QEMU's SeaBIOS, iPXE, U-Boot, OpenSBI and EDK II print them, lines
 * that only look like one, the scan of a boot (distinct, in order,
 * bounded) and DMI's BIOS words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "firmware.h"
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_banner(void **state)
{
	static const struct {
		const char *line, *want;   /* want NULL: not a banner */
	} cases[] = {
		{ "SeaBIOS (version 1.16.2-debian-1.16.2-1)",
		  "SeaBIOS 1.16.2-debian-1.16.2-1" },
		/* as the capture writes it: a timestamp, escape codes */
		{ "2026-12-07T06:21:34.123Z \x1b[2J\x1b[01;01HSeaBIOS (version "
		  "rel-1.16.3-0-ga6ed6b701f0a-prebuilt.qemu.org)\r",
		  "SeaBIOS rel-1.16.3-0-ga6ed6b701f0a-prebuilt.qemu.org" },
		{ "U-Boot 2023.01+dfsg-2 (Jan 01 2023 - 00:00:00 +0000)",
		  "U-Boot 2023.01+dfsg-2" },
		{ "U-Boot SPL 2023.01 (Jan 01 2023 - 00:00:00 +0000)",
		  "U-Boot SPL 2023.01" },
		{ "OpenSBI v1.3", "OpenSBI v1.3" },
		{ "OpenSBI v1.2-80-g4b28afc98bbe-dirty", "OpenSBI v1.2-80-g4b28afc98bbe-dirty" },
		{ "iPXE 1.21.1+ (g4bd064de) -- Open Source Network Boot Firmware -- "
		  "https://ipxe.org", "iPXE 1.21.1+" },
		{ "iPXE 1.0.0+git-20190125.36a4c85-5.1 -- Open Source Network Boot "
		  "Firmware -- http://ipxe.org",
		  "iPXE 1.0.0+git-20190125.36a4c85-5.1" },
		{ "UEFI firmware (version edk2-stable202302 built at 12:00:00 on "
		  "Mar  1 2023)", "EDK II edk2-stable202302" },
		/* a version ending a sentence */
		{ "booted by U-Boot 2024.01.", "U-Boot 2024.01" },
		/* lines that only look like one */
		{ "iPXE (http://ipxe.org) 00:03.0 CA00 PCI2.10 PnP PMM+7EFCB0A0+7EECB0A0 CA00",
		  NULL },
		{ "Hit any key to stop autoboot:  2", NULL },
		{ "U-Boot SPL", NULL },
		{ "OpenSBI version: none", NULL },
		{ "SeaBIOS (version )", NULL },
		{ "Booting from ROM...", NULL },
		{ "", NULL },
		{ "minivisor-boot 1.0 (riscv64): started", NULL },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char out[FIRMWARE_MAX + 1] = "untouched";
		int got = firmware_banner(cases[i].line, out, sizeof(out));

		if (!cases[i].want) {
			if (got)
				fail_msg("case %zu: '%s' is no banner, got '%s'", i,
					 cases[i].line, out);
			assert_string_equal(out, "untouched");
			continue;
		}
		if (!got)
			fail_msg("case %zu: '%s' not seen", i, cases[i].line);
		assert_string_equal(out, cases[i].want);
	}
}

static void test_banner_bounds(void **state)
{
	char line[4096], out[16];

	(void)state;
	/* a version word is cut at its bound, out at its size */
	snprintf(line, sizeof(line), "OpenSBI v1");
	memset(line + 10, '1', 200);
	line[210] = '\0';
	{
		char big[FIRMWARE_MAX + 1];

		assert_int_equal(firmware_banner(line, big, sizeof(big)), 1);
		assert_int_equal(strlen(big),
				 strlen("OpenSBI v") + FIRMWARE_VERSION_MAX);
	}
	assert_int_equal(firmware_banner("U-Boot 2023.01+dfsg-2", out, sizeof(out)), 1);
	assert_string_equal(out, "U-Boot 2023.01+");
	assert_int_equal(firmware_banner("iPXE 1.21", NULL, 0), 1);
}

static void test_scan(void **state)
{
	static const char *const boot[] = {
		"OpenSBI v1.3",
		"   ____                    _____ ____ _____",
		"Platform Name             : riscv-virtio,qemu",
		"U-Boot 2023.01+dfsg-2 (Jan 01 2023 - 00:00:00 +0000)",
		"Hit any key to stop autoboot:  0",
		/* a reboot later in the job: the same again */
		"OpenSBI v1.3",
		"U-Boot 2023.01+dfsg-2 (Jan 01 2023 - 00:00:00 +0000)",
	};
	struct firmware_scan s;
	char line[128];

	(void)state;
	firmware_scan_init(&s);
	assert_string_equal(s.text, "");
	for (size_t i = 0; i < ARRAY_SIZE(boot); i++)
		firmware_scan_line(&s, boot[i]);
	assert_string_equal(s.text, "OpenSBI v1.3, U-Boot 2023.01+dfsg-2");
	assert_int_equal(s.n, 2);

	/* a prefix of one already there is another */
	firmware_scan_init(&s);
	firmware_scan_line(&s, "U-Boot 2023.01-rc1");
	firmware_scan_line(&s, "U-Boot 2023.01");
	assert_string_equal(s.text, "U-Boot 2023.01-rc1, U-Boot 2023.01");

	/* endless distinct banners: the text stays within its bound */
	firmware_scan_init(&s);
	for (int i = 0; i < 1000; i++) {
		snprintf(line, sizeof(line), "iPXE 1.%d.%d", i, i * 7);
		firmware_scan_line(&s, line);
	}
	assert_true(strlen(s.text) <= FIRMWARE_MAX);
	assert_true(s.n > 5);
	assert_int_equal(strncmp(s.text, "iPXE 1.0.0, iPXE 1.1.7, ", 24), 0);
}

static void test_dmi(void **state)
{
	char out[FIRMWARE_MAX + 1] = "untouched";

	(void)state;
	assert_int_equal(firmware_dmi("SeaBIOS\n", "1.16.2-debian-1.16.2-1\n",
				      out, sizeof(out)), 1);
	assert_string_equal(out, "SeaBIOS 1.16.2-debian-1.16.2-1");
	assert_int_equal(firmware_dmi("  American Megatrends\tInc.\n", "F.21\n",
				      out, sizeof(out)), 1);
	assert_string_equal(out, "American Megatrends Inc. F.21");
	assert_int_equal(firmware_dmi(NULL, "2.3\n", out, sizeof(out)), 1);
	assert_string_equal(out, "2.3");
	assert_int_equal(firmware_dmi("EFI Development Kit II / OVMF\n", "",
				      out, sizeof(out)), 1);
	assert_string_equal(out, "EFI Development Kit II / OVMF");
	/* control bytes and non-ASCII are not kept */
	assert_int_equal(firmware_dmi("Ven\x01" "dor\xff", "1\x1b[0m", out,
				      sizeof(out)), 1);
	assert_string_equal(out, "Ven dor 1 [0m");
	snprintf(out, sizeof(out), "untouched");
	assert_int_equal(firmware_dmi(NULL, NULL, out, sizeof(out)), 0);
	assert_int_equal(firmware_dmi(" \n", "\n", out, sizeof(out)), 0);
	assert_string_equal(out, "untouched");
	{
		char longer[1000];

		memset(longer, 'x', sizeof(longer) - 1);
		longer[sizeof(longer) - 1] = '\0';
		assert_int_equal(firmware_dmi(longer, "1.0", out, sizeof(out)), 1);
		assert_int_equal(strlen(out), FIRMWARE_MAX);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_banner),
		cmocka_unit_test(test_banner_bounds),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_dmi),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
