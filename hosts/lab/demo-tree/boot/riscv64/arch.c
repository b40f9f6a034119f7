/*
 * arch.c: riscv64 part of minivisor-boot. Console and power off go
 * through the SBI (OpenSBI in M-mode underneath U-Boot): legacy
 * console_putchar (EID 0x01) for output, System Reset (SRST) for power
 * off with the legacy shutdown call (EID 0x08) as a fallback.
 */
#include "boot.h"

const char arch_name[] = "riscv64";

#define SBI_EXT_0_1_CONSOLE_PUTCHAR 0x01
#define SBI_EXT_0_1_SHUTDOWN 0x08
#define SBI_EXT_SRST 0x53525354
#define SBI_SRST_SHUTDOWN 0
#define SBI_SRST_NO_REASON 0

static long sbi_call(long eid, long fid, long arg0, long arg1)
{
	register long a0 __asm__("a0") = arg0;
	register long a1 __asm__("a1") = arg1;
	register long a6 __asm__("a6") = fid;
	register long a7 __asm__("a7") = eid;

	__asm__ volatile("ecall"
			 : "+r"(a0), "+r"(a1)
			 : "r"(a6), "r"(a7)
			 : "memory");
	return a0;
}

void arch_putc(char c)
{
	sbi_call(SBI_EXT_0_1_CONSOLE_PUTCHAR, 0, (unsigned char)c, 0);
}

void arch_poweroff(void)
{
	sbi_call(SBI_EXT_SRST, 0, SBI_SRST_SHUTDOWN, SBI_SRST_NO_REASON);
	sbi_call(SBI_EXT_0_1_SHUTDOWN, 0, 0, 0);
	for (;;)
		__asm__ volatile("wfi");
}

void arch_halt(void)
{
	__asm__ volatile("csrw sie, zero");
	for (;;)
		__asm__ volatile("wfi");
}
