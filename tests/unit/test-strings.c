/*
 * test-strings.c: the string helpers of lib/: struct buf (appending,
 * formatting, the cap, detaching, trimming, reading files), struct vec
 * (push, split, find, join, argv), strnum (strict integers and
 * durations) and the build ID that the web daemon and the CLI compare.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "buf.h"
#include "proc.h"
#include "strnum.h"
#include "vec.h"
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- buf ---- */

static void test_buf_empty(void **state)
{
	struct buf b = BUF_INIT;
	char *s;

	(void)state;
	assert_non_null(b.buf);
	assert_string_equal(b.buf, "");
	assert_int_equal(b.len, 0);
	buf_rtrim(&b);
	buf_setlen(&b, 0);
	assert_string_equal(b.buf, "");
	/* detaching an empty buf still gives a string the caller frees */
	s = buf_detach(&b);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_ptr_not_equal(s, buf_slopbuf);
	free(s);
	buf_release(&b);
}

static void test_buf_append(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(buf_addstr(&b, "hello"), 0);
	assert_int_equal(buf_addch(&b, ','), 0);
	assert_int_equal(buf_add(&b, " world!!!", 6), 0);
	assert_int_equal(buf_add(&b, NULL, 0), 0);
	assert_string_equal(b.buf, "hello, world");
	assert_int_equal(b.len, 12);
	assert_true(b.alloc > b.len);
	assert_int_equal(b.overflowed, 0);
	/* binary data with a NUL inside keeps its length */
	assert_int_equal(buf_add(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 15);
	assert_memory_equal(b.buf + 12, "a\0b", 4);
	buf_setlen(&b, 5);
	assert_string_equal(b.buf, "hello");
	buf_reset(&b);
	assert_string_equal(b.buf, "");
	assert_int_equal(b.len, 0);
	buf_release(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
	assert_string_equal(b.buf, "");
}

static void test_buf_grow_large(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	for (int i = 0; i < 10000; i++)
		assert_int_equal(buf_addf(&b, "%04d,", i % 10000), 0);
	assert_int_equal(b.len, 50000);
	assert_int_equal(strlen(b.buf), 50000);
	assert_memory_equal(b.buf, "0000,0001,", 10);
	assert_string_equal(b.buf + 49995, "9999,");
	buf_release(&b);
}

/* buf_addf after a prefix, checked against the expected text. */
#define CHECK_ADDF(want, ...) \
	do { \
		struct buf b_ = BUF_INIT; \
		buf_addstr(&b_, ">"); \
		assert_int_equal(buf_addf(&b_, __VA_ARGS__), 0); \
		assert_string_equal(b_.buf, ">" want); \
		assert_int_equal(b_.len, 1 + strlen(want)); \
		buf_release(&b_); \
	} while (0)

static void test_buf_addf(void **state)
{
	(void)state;
	CHECK_ADDF("", "%s", "");
	CHECK_ADDF("port=22", "%s=%d", "port", 22);
	CHECK_ADDF("[   42]", "[%5d]", 42);
	CHECK_ADDF("two two", "%s %s", "two", "two");
	CHECK_ADDF("100%", "100%%");
	CHECK_ADDF("-1 ffff 3.50", "%ld %x %.2f", -1L, 0xffffu, 3.5);
}

static void test_buf_addf_empty_first(void **state)
{
	struct buf b = BUF_INIT;
	char *s;

	(void)state;
	/* an empty format on a fresh buf still leaves a valid string */
	assert_int_equal(buf_addf(&b, "%s", ""), 0);
	assert_string_equal(b.buf, "");
	assert_int_equal(b.len, 0);
	s = buf_detach(&b);
	assert_string_equal(s, "");
	free(s);
}

static void test_buf_cap(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(b.cap, 8);
	assert_int_equal(buf_addstr(&b, "12345"), 0);
	assert_int_equal(b.overflowed, 0);
	/* would make 9 bytes: refused whole, nothing appended */
	assert_int_equal(buf_addstr(&b, "6789"), -1);
	assert_int_equal(b.overflowed, 1);
	assert_string_equal(b.buf, "12345");
	assert_int_equal(b.len, 5);
	/* exactly the cap is fine */
	assert_int_equal(buf_addstr(&b, "678"), 0);
	assert_string_equal(b.buf, "12345678");
	assert_int_equal(buf_addch(&b, 'x'), -1);
	assert_int_equal(buf_addf(&b, "%d", 1), -1);
	assert_int_equal(buf_add(&b, "y", 1), -1);
	assert_string_equal(b.buf, "12345678");
	assert_int_equal(b.len, 8);
	assert_int_equal(buf_add(&b, "", 0), 0);
	/* reset clears the flag and keeps the cap */
	buf_reset(&b);
	assert_int_equal(b.overflowed, 0);
	assert_int_equal(b.cap, 8);
	assert_int_equal(buf_addf(&b, "%s", "123456789"), -1);
	assert_int_equal(b.overflowed, 1);
	assert_string_equal(b.buf, "");
	buf_release(&b);
	assert_int_equal(b.cap, 8);
}

static void test_buf_detach(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 100);
	buf_addstr(&b, "owned");
	s = buf_detach(&b);
	assert_string_equal(s, "owned");
	/* b is reset and usable again, with its cap */
	assert_int_equal(b.len, 0);
	assert_int_equal(b.alloc, 0);
	assert_int_equal(b.cap, 100);
	assert_string_equal(b.buf, "");
	buf_addstr(&b, "again");
	assert_string_equal(b.buf, "again");
	assert_ptr_not_equal(b.buf, s);
	free(s);
	buf_release(&b);
}

static void test_buf_rtrim(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "", "" },
		{ "abc", "abc" },
		{ "abc   ", "abc" },
		{ "abc \t\r\n\v\f", "abc" },
		{ "  abc  def \n", "  abc  def" },
		{ " \t\n ", "" },
		{ "x\n\n\n", "x" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf b = BUF_INIT;

		buf_addstr(&b, cases[i].in);
		buf_rtrim(&b);
		assert_string_equal(b.buf, cases[i].want);
		assert_int_equal(b.len, strlen(cases[i].want));
		buf_release(&b);
	}
}

static char tmpdir[] = "/tmp/hangar-test-strings.XXXXXX";

static int setup_tmp(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char path[4096];

	(void)state;
	snprintf(path, sizeof(path), "%s/file", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/empty", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void test_buf_read_file(void **state)
{
	char path[4096], empty[4096];
	size_t size = 20000; /* more than one read chunk */
	char *data = malloc(size);
	struct buf b = BUF_INIT;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < size; i++)
		data[i] = (char)('a' + i % 26);
	data[100] = '\0'; /* binary content is kept */
	snprintf(path, sizeof(path), "%s/file", tmpdir);
	snprintf(empty, sizeof(empty), "%s/empty", tmpdir);
	write_file(path, data, size);
	write_file(empty, "", 0);

	/* unbounded: appends the whole file */
	buf_addstr(&b, "<");
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_int_equal(b.len, size + 1);
	assert_memory_equal(b.buf + 1, data, size);
	assert_int_equal(b.buf[b.len], '\0');
	buf_release(&b);

	assert_int_equal(buf_read_file(&b, empty), 0);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.buf, "");
	buf_release(&b);

	/* capped at exactly the size: fits */
	buf_init(&b, size);
	assert_int_equal(buf_read_file(&b, path), 0);
	assert_int_equal(b.len, size);
	assert_memory_equal(b.buf, data, size);
	buf_release(&b);

	/* capped below the size: EFBIG, overflowed */
	buf_init(&b, size - 1);
	errno = 0;
	assert_int_equal(buf_read_file(&b, path), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(b.overflowed, 1);
	assert_true(b.len <= size - 1);
	buf_release(&b);

	buf_init(&b, 10);
	assert_int_equal(buf_read_file(&b, path), -1);
	assert_int_equal(errno, EFBIG);
	assert_true(b.len <= 10);
	buf_release(&b);

	/* a missing file: ENOENT, buf untouched */
	buf_init(&b, 0);
	buf_addstr(&b, "keep");
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	errno = 0;
	assert_int_equal(buf_read_file(&b, path), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(b.buf, "keep");
	buf_release(&b);
	free(data);
}

/* ---- vec ---- */

static void test_vec_push(void **state)
{
	struct vec v = VEC_INIT;
	char word[] = "mutable";
	char **argv;

	(void)state;
	/* empty: v is NULL but argv is a valid empty list */
	assert_null(v.v);
	argv = vec_argv(&v);
	assert_non_null(argv);
	assert_null(argv[0]);

	vec_push(&v, word);
	word[0] = 'X'; /* vec_push copies */
	vec_pushf(&v, "%s-%d", "n", 7);
	vec_push_take(&v, strdup("taken"));
	for (int i = 0; i < 20; i++)
		vec_pushf(&v, "%d", i);
	assert_int_equal(v.n, 23);
	assert_string_equal(v.v[0], "mutable");
	assert_string_equal(v.v[1], "n-7");
	assert_string_equal(v.v[2], "taken");
	assert_string_equal(v.v[22], "19");
	argv = vec_argv(&v);
	assert_ptr_equal(argv, v.v);
	assert_null(argv[v.n]);
	vec_clear(&v);
	assert_int_equal(v.n, 0);
	assert_null(v.v);
	assert_null(vec_argv(&v)[0]);
}

static void test_vec_argv_terminated(void **state)
{
	struct vec v = VEC_INIT;

	(void)state;
	/* NULL-terminated after every push, across reallocations */
	for (size_t i = 0; i < 40; i++) {
		vec_pushf(&v, "a%zu", i);
		assert_int_equal(v.n, i + 1);
		assert_null(vec_argv(&v)[v.n]);
		assert_string_equal(vec_argv(&v)[i], v.v[i]);
	}
	vec_clear(&v);
}

static void test_vec_split(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		const char *want[4];
	} cases[] = {
		{ "", 0, { NULL } },
		{ "   ", 0, { NULL } },
		{ "\t \t", 0, { NULL } },
		{ "one", 1, { "one" } },
		{ "one two", 2, { "one", "two" } },
		{ "  one   two  ", 2, { "one", "two" } },
		{ "a\tb \t c", 3, { "a", "b", "c" } },
		{ "\thvm iommu\tequiv-r\t", 3, { "hvm", "iommu", "equiv-r" } },
		{ "x=1,y=2 *.tar.gz", 2, { "x=1,y=2", "*.tar.gz" } },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vec v = VEC_INIT;

		vec_split(&v, cases[i].in);
		assert_int_equal(v.n, cases[i].n);
		for (size_t k = 0; k < cases[i].n; k++)
			assert_string_equal(v.v[k], cases[i].want[k]);
		assert_null(vec_argv(&v)[v.n]);
		vec_clear(&v);
	}
}

static void test_vec_split_appends(void **state)
{
	struct vec v = VEC_INIT;

	(void)state;
	vec_push(&v, "first");
	vec_split(&v, "second third");
	vec_split(&v, "");
	vec_split(&v, "fourth");
	assert_int_equal(v.n, 4);
	assert_string_equal(v.v[0], "first");
	assert_string_equal(v.v[3], "fourth");
	vec_clear(&v);
}

static void test_vec_find(void **state)
{
	struct vec v = VEC_INIT;

	(void)state;
	assert_int_equal(vec_find(&v, "a"), -1);
	vec_split(&v, "build test test-pair build-arm");
	assert_int_equal(vec_find(&v, "build"), 0);
	assert_int_equal(vec_find(&v, "test"), 1);
	assert_int_equal(vec_find(&v, "test-pair"), 2);
	assert_int_equal(vec_find(&v, "build-arm"), 3);
	assert_int_equal(vec_find(&v, "buil"), -1);
	assert_int_equal(vec_find(&v, "Build"), -1);
	assert_int_equal(vec_find(&v, ""), -1);
	vec_push(&v, "test");
	assert_int_equal(vec_find(&v, "test"), 1); /* the first */
	vec_clear(&v);
}

static void test_vec_join(void **state)
{
	static const struct {
		const char *words, *sep, *want;
	} cases[] = {
		{ "", ", ", "" },
		{ "a", ", ", "a" },
		{ "a b c", ", ", "a, b, c" },
		{ "a b -> c", " -> ", "a -> b -> -> -> c" },
		{ "x y", "", "xy" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vec v = VEC_INIT;
		char *s;

		vec_split(&v, cases[i].words);
		s = vec_join(&v, cases[i].sep);
		assert_string_equal(s, cases[i].want);
		free(s);
		vec_clear(&v);
	}
}

/* ---- strnum ---- */

static void test_strnum_long(void **state)
{
	static const struct {
		const char *s;
		long min, max;
		int rc;
		long want;
	} cases[] = {
		{ "0", 0, 10, 0, 0 },
		{ "10", 0, 10, 0, 10 },
		{ "11", 0, 10, -1, 0 },
		{ "-1", 0, 10, -1, 0 },
		{ "-1", -5, 10, 0, -1 },
		{ "-5", -5, 10, 0, -5 },
		{ "-6", -5, 10, -1, 0 },
		{ "+7", 0, 10, 0, 7 },
		{ "007", 0, 10, 0, 7 },
		{ "65535", 1, 65535, 0, 65535 },
		{ "65536", 1, 65535, -1, 0 },
		{ "9223372036854775807", LONG_MIN, LONG_MAX, 0, LONG_MAX },
		{ "-9223372036854775808", LONG_MIN, LONG_MAX, 0, LONG_MIN },
		{ "9223372036854775808", LONG_MIN, LONG_MAX, -1, 0 },
		{ "99999999999999999999", LONG_MIN, LONG_MAX, -1, 0 },
		{ "", 0, 10, -1, 0 },
		{ " ", 0, 10, -1, 0 },
		{ " 5", 0, 10, -1, 0 },
		{ "\t5", 0, 10, -1, 0 },
		{ "5 ", 0, 10, -1, 0 },
		{ "5\n", 0, 10, -1, 0 },
		{ "5x", 0, 10, -1, 0 },
		{ "x5", 0, 10, -1, 0 },
		{ "0x5", 0, 10, -1, 0 },
		{ "1e3", 0, 10000, -1, 0 },
		{ "1.0", 0, 10, -1, 0 },
		{ "-", 0, 10, -1, 0 },
		{ "+", 0, 10, -1, 0 },
		{ "--1", -10, 10, -1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		long out = 12345;
		int rc = strnum_long(cases[i].s, cases[i].min, cases[i].max,
				     &out);

		if (rc != cases[i].rc)
			fail_msg("strnum_long(\"%s\", %ld, %ld): %d, "
				 "expected %d",
				 cases[i].s, cases[i].min, cases[i].max, rc,
				 cases[i].rc);
		/* on failure, out is left alone */
		assert_int_equal(out, rc == 0 ? cases[i].want : 12345);
	}
	assert_int_equal(strnum_long(NULL, 0, 10, &(long){ 0 }), -1);
}

static void test_strnum_int(void **state)
{
	static const struct {
		const char *s;
		int min, max, rc, want;
	} cases[] = {
		{ "22", 1, 65535, 0, 22 },
		{ "0", 1, 65535, -1, 0 },
		{ "70000", 1, 65535, -1, 0 },
		{ "2147483647", INT_MIN, INT_MAX, 0, INT_MAX },
		{ "-2147483648", INT_MIN, INT_MAX, 0, INT_MIN },
		{ "2147483648", INT_MIN, INT_MAX, -1, 0 },
		{ "-2147483649", INT_MIN, INT_MAX, -1, 0 },
		{ "4294967318", INT_MIN, INT_MAX, -1, 0 },
		{ "12abc", 0, 100, -1, 0 },
		{ "", 0, 100, -1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int out = 777;
		int rc = strnum_int(cases[i].s, cases[i].min, cases[i].max,
				    &out);

		if (rc != cases[i].rc)
			fail_msg("strnum_int(\"%s\", %d, %d): %d, expected %d",
				 cases[i].s, cases[i].min, cases[i].max, rc,
				 cases[i].rc);
		assert_int_equal(out, rc == 0 ? cases[i].want : 777);
	}
}

static void test_strnum_duration(void **state)
{
	static const struct {
		const char *s;
		long min, max;
		int rc;
		long want;
	} cases[] = {
		{ "90", 1, 604800, 0, 90 },
		{ "90s", 1, 604800, 0, 90 },
		{ "15m", 1, 604800, 0, 900 },
		{ "2h", 1, 604800, 0, 7200 },
		{ "1d", 1, 604800, 0, 86400 },
		{ "7d", 1, 604800, 0, 604800 },
		{ "8d", 1, 604800, -1, 0 },
		{ "604801", 1, 604800, -1, 0 },
		{ "0", 1, 604800, -1, 0 },
		{ "0", 0, 10, 0, 0 },
		{ "0m", 0, 10, 0, 0 },
		{ "1m", 0, 59, -1, 0 },
		{ "1x", 1, 604800, -1, 0 },
		{ "1ms", 1, 604800, -1, 0 },
		{ "1S", 1, 604800, -1, 0 },
		{ "1M", 1, 604800, -1, 0 },
		{ "-5", 0, 604800, -1, 0 },
		{ "-5", -10, 604800, -1, 0 },
		{ "-5m", -1000, 604800, -1, 0 },
		{ "", 1, 604800, -1, 0 },
		{ "s", 1, 604800, -1, 0 },
		{ "m5", 1, 604800, -1, 0 },
		{ " 5", 1, 604800, -1, 0 },
		{ "5 ", 1, 604800, -1, 0 },
		{ "5 s", 1, 604800, -1, 0 },
		{ "5s ", 1, 604800, -1, 0 },
		{ "1.5h", 1, 604800, -1, 0 },
		{ "99999999999999999d", 1, LONG_MAX, -1, 0 },
		/* the largest count of days that fits in a long */
		{ "106751991167300d", 1, LONG_MAX, 0,
		  106751991167300L * 86400 },
		{ "106751991167301d", 1, LONG_MAX, -1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		long out = 4242;
		int rc = strnum_duration(cases[i].s, cases[i].min,
					 cases[i].max, &out);

		if (rc != cases[i].rc)
			fail_msg("strnum_duration(\"%s\", %ld, %ld): %d, "
				 "expected %d",
				 cases[i].s, cases[i].min, cases[i].max, rc,
				 cases[i].rc);
		assert_int_equal(out, rc == 0 ? cases[i].want : 4242);
	}
}

/* The running code's build ID is its file's, read without loading it. */
static void test_proc_build_id(void **state)
{
	char own[129], file[129], small[40];

	(void)state;
	assert_int_equal(proc_build_id(own, sizeof(own)), 0);
	assert_int_equal(strspn(own, "0123456789abcdef"), strlen(own));
	assert_true(strlen(own) >= 16);
	assert_int_equal(proc_build_id_file("/proc/self/exe", file,
					    sizeof(file)), 0);
	assert_string_equal(own, file);
	/* 20 bytes do not fit in 39 hex digits and a NUL */
	assert_int_equal(proc_build_id_file("/proc/self/exe", small,
					    sizeof(small)), -1);
	assert_int_equal(proc_build_id_file("/proc/self/cmdline", file,
					    sizeof(file)), -1);
	assert_int_equal(proc_build_id_file("/nonexistent", file,
					    sizeof(file)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_empty),
		cmocka_unit_test(test_buf_append),
		cmocka_unit_test(test_buf_grow_large),
		cmocka_unit_test(test_buf_addf),
		cmocka_unit_test(test_buf_addf_empty_first),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_buf_detach),
		cmocka_unit_test(test_buf_rtrim),
		cmocka_unit_test(test_buf_read_file),
		cmocka_unit_test(test_vec_push),
		cmocka_unit_test(test_vec_argv_terminated),
		cmocka_unit_test(test_vec_split),
		cmocka_unit_test(test_vec_split_appends),
		cmocka_unit_test(test_vec_find),
		cmocka_unit_test(test_vec_join),
		cmocka_unit_test(test_strnum_long),
		cmocka_unit_test(test_proc_build_id),
		cmocka_unit_test(test_strnum_int),
		cmocka_unit_test(test_strnum_duration),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
