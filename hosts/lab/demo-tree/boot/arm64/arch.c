/*
 * arch.c: arm64 part of minivisor-boot on QEMU virt: PL011 console at
 * 0x09000000 and PSCI SYSTEM_OFF.
 */
#include "../boot.h"

const char arch_name[] = "arm64";

#define PL011_BASE 0x09000000UL
#define UARTDR 0x00
#define UARTFR 0x18
#define UARTIBRD 0x24
#define UARTFBRD 0x28
#define UARTLCR_H 0x2c
#define UARTCR 0x30
#define UARTIMSC 0x38
#define UARTICR 0x44

#define FR_BUSY (1u << 3)
#define FR_TXFF (1u << 5)
#define LCR_H_FEN (1u << 4)
#define LCR_H_WLEN8 (3u << 5)
#define CR_UARTEN (1u << 0)
#define CR_TXE (1u << 8)
#define CR_RXE (1u << 9)

#define PSCI_SYSTEM_OFF 0x84000008UL

static inline unsigned rd(unsigned long off)
{
	return *(volatile unsigned *)(PL011_BASE + off);
}

static inline void wr(unsigned long off, unsigned v)
{
	*(volatile unsigned *)(PL011_BASE + off) = v;
}

static int uart_ready;

/* What Linux's pl011 startup does: U-Boot may have left the UART disabled
 * when it removed its devices. 115200 8N1 from the 24 MHz clock of virt. */
static void uart_init(void)
{
	wr(UARTCR, 0);
	while (rd(UARTFR) & FR_BUSY)
		;
	wr(UARTIMSC, 0);
	wr(UARTICR, 0x7ff);
	wr(UARTIBRD, 13);
	wr(UARTFBRD, 1);
	wr(UARTLCR_H, LCR_H_WLEN8 | LCR_H_FEN);
	wr(UARTCR, CR_UARTEN | CR_TXE | CR_RXE);
	uart_ready = 1;
}

void arch_putc(char c)
{
	if (!uart_ready)
		uart_init();
	while (rd(UARTFR) & FR_TXFF)
		;
	wr(UARTDR, (unsigned char)c);
}

static unsigned long current_el(void)
{
	unsigned long v;

	__asm__ volatile("mrs %0, CurrentEL" : "=r"(v));
	return (v >> 2) & 3;
}

/* PSCI conduit: QEMU virt's DT says hvc when the guest has no EL2 (entered
 * at EL1) and smc when it has (entered at EL2, no EL3). */
void arch_poweroff(void)
{
	unsigned long el = current_el();
	register unsigned long x0 __asm__("x0") = PSCI_SYSTEM_OFF;

	if (uart_ready)
		while (rd(UARTFR) & FR_BUSY)
			;
	if (el == 1)
		__asm__ volatile("hvc #0" : "+r"(x0) : : "x1", "x2", "x3", "memory");
	else if (el == 2)
		__asm__ volatile("smc #0" : "+r"(x0) : : "x1", "x2", "x3", "memory");
	for (;;)
		__asm__ volatile("wfi");
}

static void put_s(const char *s)
{
	while (*s)
		arch_putc(*s++);
}

static void put_x(unsigned long v)
{
	put_s("0x");
	for (int i = 60; i >= 0; i -= 4)
		arch_putc("0123456789abcdef"[(v >> i) & 15]);
}

void arch_trap(unsigned long vec);

/* Called from the vector table in start.S; never returns. */
void arch_trap(unsigned long vec)
{
	unsigned long esr, elr, far;

	if (current_el() == 2) {
		__asm__ volatile("mrs %0, esr_el2" : "=r"(esr));
		__asm__ volatile("mrs %0, elr_el2" : "=r"(elr));
		__asm__ volatile("mrs %0, far_el2" : "=r"(far));
	} else {
		__asm__ volatile("mrs %0, esr_el1" : "=r"(esr));
		__asm__ volatile("mrs %0, elr_el1" : "=r"(elr));
		__asm__ volatile("mrs %0, far_el1" : "=r"(far));
	}
	put_s("\r\nminivisor-boot arm64: exception vector ");
	put_x(vec);
	put_s(" ESR ");
	put_x(esr);
	put_s(" ELR ");
	put_x(elr);
	put_s(" FAR ");
	put_x(far);
	put_s("\r\n");
	for (;;)
		__asm__ volatile("wfi");
}

void arch_halt(void)
{
	__asm__ volatile("msr daifset, #0xf");
	for (;;)
		__asm__ volatile("wfi");
}
