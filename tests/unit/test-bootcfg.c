/*
 * test-bootcfg.c: boot entry templates (hosts/bootcfg.h): variables,
 * pxelinux's hex form of an address, unknown words left alone, and entry
 * paths that cannot leave the TFTP tree, U-Boot script images byte for
 * byte as mkimage makes them; plus tar archives (lib/tar.h) read back by
 * GNU tar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "bootcfg.h"
#include "buf.h"
#include "tar.h"
#include "xalloc.h"
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_expand(void **state)
{
	static const struct {
		const char *tmpl, *want;
	} cases[] = {
		{ "%name%/pxelinux.cfg", "ruby/pxelinux.cfg" },
		{ "pxelinux.cfg/%ipaddrhex%", "pxelinux.cfg/C0A8010A" },
		{ "append hostname=%name% hangar.report=%report_url%",
		  "append hostname=ruby hangar.report=http://h:8080/api/v1/install/t0" },
		{ "%arch% %address% %token% %flight% %job%",
		  "x86_64 192.168.1.10 t0 42 test-amd64" },
		{ "100%% sure", "100% sure" },
		{ "keep %unknown% and %name%", "keep %unknown% and ruby" },
		{ "a lone % stays", "a lone % stays" },
		{ "", "" },
	};
	struct bootcfg_vars v = { .name = "ruby", .arch = "x86_64",
				  .address = "192.168.1.10",
				  .report_url = "http://h:8080/api/v1/install/t0",
				  .token = "t0", .flight = 42, .job = "test-amd64" };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *got = bootcfg_expand(cases[i].tmpl, &v);

		if (strcmp(got, cases[i].want))
			fail_msg("'%s': got '%s', want '%s'", cases[i].tmpl, got,
				 cases[i].want);
		free(got);
	}
	v.dir = "ruby";
	v.kernel = "boot-x86_64.img";
	{
		static const char *const files[] = { "vmlinuz", "xsm" };
		char *got = bootcfg_expand("%dir%/%kernel% %initrd%%dtb%", &v);

		assert_string_equal(got, "ruby/boot-x86_64.img ");
		free(got);
		v.files = files;
		v.nfiles = 2;
		got = bootcfg_expand("%file1% %file2% [%file3%] %file0% %file10%", &v);
		assert_string_equal(got, "vmlinuz xsm [] %file0% %file10%");
		free(got);
		v.files = NULL;
		v.nfiles = 0;
	}
	v.address = "ruby.lab.example.org";   /* no IPv4: left for the eye */
	{
		char *got = bootcfg_expand("%ipaddrhex%", &v);

		assert_string_equal(got, "%ipaddrhex%");
		free(got);
	}
}

static void test_write_paths(void **state)
{
	static const char *const bad[] = { "", "/etc/passwd", "..", "../x",
					   "a/../../x", "a/..", "ruby/../.." };
	char dir[] = "/tmp/hangar-test-bootcfg.XXXXXX";
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	char *path;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&err);
		if (bootcfg_write(dir, bad[i], "x", &err) != ERR_USAGE)
			fail_msg("'%s' was accepted", bad[i]);
	}
	assert_int_equal(bootcfg_write(dir, "ruby/pxelinux.cfg",
				       bootcfg_local_default, &err), 0);
	path = xasprintf("%s/ruby/pxelinux.cfg", dir);
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_string_equal(b.buf, bootcfg_local_default);
	assert_non_null(strstr(b.buf, "localboot"));
	unlink(path);
	free(path);
	path = xasprintf("%s/ruby", dir);
	rmdir(path);
	free(path);
	rmdir(dir);
	buf_release(&b);
}

/* An archive with a long path, a symlink and modes, listed by tar. */
static void test_tar_roundtrip(void **state)
{
	char dir[] = "/tmp/hangar-test-tar.XXXXXX";
	struct err err = ERR_INIT;
	struct buf out = BUF_INIT, lng = BUF_INIT;
	struct tar t;
	char *path, *cmd;
	FILE *f, *p;
	char line[1024];

	(void)state;
	setenv("TZ", "UTC", 1);   /* tar lists times in local time */
	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/a.tar", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 30; i++)
		buf_addstr(&lng, "dir-part/");
	buf_addstr(&lng, "leaf.c");   /* 276 bytes: a GNU long name */
	tar_init(&t, f, 1704067200);
	assert_int_equal(tar_add_dir(&t, "src", &err), 0);
	assert_int_equal(tar_add_file(&t, "src/a.c", 0644, "int a;\n", 7, &err), 0);
	assert_int_equal(tar_add_file(&t, "run.sh", 0755, "#!/bin/sh\n", 10, &err), 0);
	assert_int_equal(tar_add_symlink(&t, "link", "src/a.c", &err), 0);
	assert_int_equal(tar_add_file(&t, lng.buf, 0644, "x", 1, &err), 0);
	assert_int_equal(tar_finish(&t, &err), 0);
	fclose(f);
	cmd = xasprintf("tar tvf %s 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p))
		buf_addstr(&out, line);
	assert_int_equal(pclose(p), 0);
	assert_non_null(strstr(out.buf, "src/a.c"));
	assert_non_null(strstr(out.buf, "-rwxr-xr-x"));
	assert_non_null(strstr(out.buf, "link -> src/a.c"));
	assert_non_null(strstr(out.buf, lng.buf));
	assert_non_null(strstr(out.buf, "2024-01-01"));
	free(cmd);
	unlink(path);
	rmdir(dir);
	free(path);
	buf_release(&out);
	buf_release(&lng);
}

/*
 * What `SOURCE_DATE_EPOCH=0 mkimage -A arm64 -O linux -T script -C none
 * -n "hangar boot script" -d s.txt s.uimg` (u-boot-tools 2023.01) made of
 * "echo hi\nboot\n".
 */
static void test_uboot_script(void **state)
{
	static const unsigned char want[] = {
		0x27, 0x05, 0x19, 0x56, 0x37, 0x87, 0x83, 0x89, 0, 0, 0, 0,
		0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0x62, 0xb4, 0xfc, 0x21,
		0x05, 0x16, 0x06, 0x00,
		'h', 'a', 'n', 'g', 'a', 'r', ' ', 'b', 'o', 'o', 't', ' ',
		's', 'c', 'r', 'i', 'p', 't', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0,
		0, 0, 0, 0x0d, 0, 0, 0, 0,
		'e', 'c', 'h', 'o', ' ', 'h', 'i', '\n', 'b', 'o', 'o', 't', '\n',
	};
	size_t len;
	unsigned char *img = bootcfg_uboot_script("echo hi\nboot\n", "arm64", &len);

	(void)state;
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(img, want, sizeof(want));
	free(img);
	assert_true(bootcfg_is_uboot_script("ruby/boot.scr.uimg"));
	assert_true(bootcfg_is_uboot_script("boot.scr"));
	assert_false(bootcfg_is_uboot_script("ruby/boot.ipxe"));
	assert_false(bootcfg_is_uboot_script(".scr.txt"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_write_paths),
		cmocka_unit_test(test_uboot_script),
		cmocka_unit_test(test_tar_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
