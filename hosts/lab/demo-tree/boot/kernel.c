/*
 * kernel.c: the arch-independent part of minivisor-boot (see boot.h).
 * Console lines, in order: the banner "minivisor-boot ARCH: started",
 * "HANGAR-CASES 20", one "HANGAR-CASE NAME pass|fail [detail]" per
 * self-test, then "minivisor-boot ARCH: done, powering off".
 */
#include "boot.h"
#include "faults.h"

static void put(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			arch_putc('\r');
		arch_putc(*s);
	}
}

static void put_u(unsigned long v)
{
	char b[24];
	int i = 0;

	do
		b[i++] = (char)('0' + v % 10);
	while ((v /= 10) && i < (int)sizeof(b));
	while (i)
		arch_putc(b[--i]);
}

static int same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* Self-tests: each returns 0 on success. volatile keeps the compiler from
 * folding them away. */
static volatile unsigned long seed = 12345;

static unsigned long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static int t_add(void) { return seed + 1 != 12346; }
static int t_mul(void) { return seed * 3 != 37035; }
static int t_div(void) { return seed / 7 != 1763 || seed % 7 != 4; }
static int t_shift(void) { return (seed << 4) >> 4 != seed; }
static int t_fib(void) { return fib(20) != 6765; }
static int t_stack(void) { volatile char b[512]; for (int i = 0; i < 512; i++) b[i] = (char)i; return b[511] != (char)511; }
static int t_strings(void) { return !same(arch_name, arch_name) || same("a", "b"); }
static int t_loop(void) { unsigned long s = 0; for (unsigned i = 1; i <= 1000; i++) s += i; return s != 500500; }
static int t_signed(void) { volatile long a = -7; return a / 2 != -3 || a % 2 != -1; }
static int t_bits(void) { unsigned long v = seed, c = 0; while (v) { c += v & 1; v >>= 1; } return c != 6; }
static int t_bss(void) { static unsigned long zero[16]; for (int i = 0; i < 16; i++) if (zero[i]) return 1; return 0; }
static int t_data(void) { static unsigned long set = 0xfeedULL; return set != 0xfeed; }
static int t_pointer(void) { unsigned long x = 5, *p = &x; *p = 6; return x != 6; }
static int t_array(void) { int a[8] = {5, 3, 8, 1, 9, 2, 7, 4}; for (int i = 0; i < 8; i++) for (int j = i + 1; j < 8; j++) if (a[j] < a[i]) { int t = a[i]; a[i] = a[j]; a[j] = t; } return a[0] != 1 || a[7] != 9; }
static int t_struct(void) { struct { char c; long l; } s = {'x', 42}; return s.c != 'x' || s.l != 42; }
static int t_overflow(void) { volatile unsigned u = 0xffffffffu; return (unsigned)(u + 1) != 0; }
static int t_recurse(void) { return fib(10) != 55; }
static int t_wide(void) { volatile unsigned long long w = 1ULL << 40; return (w >> 40) != 1; }
static int t_char(void) { volatile unsigned char c = 200; return (unsigned char)(c + 100) != 44; }
static int t_arch(void) { return same(FAULT_CASE, arch_name); }

static const struct { const char *name; int (*fn)(void); } tests[] = {
	{"add", t_add}, {"mul", t_mul}, {"div", t_div}, {"shift", t_shift},
	{"fib", t_fib}, {"stack", t_stack}, {"strings", t_strings},
	{"loop", t_loop}, {"signed", t_signed}, {"bits", t_bits},
	{"bss", t_bss}, {"data", t_data}, {"pointer", t_pointer},
	{"array", t_array}, {"struct", t_struct}, {"overflow", t_overflow},
	{"recurse", t_recurse}, {"wide", t_wide}, {"char", t_char},
	{"arch-regs", t_arch},
};

void kmain(void)
{
	unsigned n = sizeof(tests) / sizeof(tests[0]);

	put("minivisor-boot ");
	put(arch_name);
	put(": started\n");
	if (same(FAULT_PANIC, arch_name)) {
		put("PANIC: minivisor-boot: no usable memory map on ");
		put(arch_name);
		put("\n");
		arch_halt();
	}
	if (same(FAULT_HANG, arch_name))
		arch_halt();   /* idle: a hung machine need not spin the lab's CPU */
	put("HANGAR-CASES ");
	put_u(n);
	put("\n");
	for (unsigned i = 0; i < n; i++) {
		put("HANGAR-CASE ");
		put(tests[i].name);
		put(tests[i].fn() ? " fail self-test failed\n" : " pass\n");
	}
	put("minivisor-boot ");
	put(arch_name);
	put(": done, powering off\n");
	arch_poweroff();
}
