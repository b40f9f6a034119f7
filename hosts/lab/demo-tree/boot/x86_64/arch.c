/*
 * arch.c (x86_64): console on COM1 (16550 at 0x3f8) and power off
 * through the ACPI PM1a control register of QEMU's pc machine (PIIX4).
 */
#include "../boot.h"

const char arch_name[] = "x86_64";

#define COM1 0x3f8

static inline void outb(unsigned short port, unsigned char v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline unsigned char inb(unsigned short port)
{
	unsigned char v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outw(unsigned short port, unsigned short v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(unsigned short port, unsigned v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline unsigned inl(unsigned short port)
{
	unsigned v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static int uart_ready;

static void uart_init(void)
{
	/* let the firmware's last bytes (iPXE's "ok") leave the FIFO first:
	 * the FIFO reset below would drop them */
	while (!(inb(COM1 + 5) & 0x40))
		;
	outb(COM1 + 1, 0x00);	/* no interrupts */
	outb(COM1 + 3, 0x80);	/* DLAB */
	outb(COM1 + 0, 0x01);	/* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);	/* 8N1 */
	outb(COM1 + 2, 0xc7);	/* FIFO on, cleared */
	outb(COM1 + 4, 0x03);	/* DTR, RTS */
	uart_ready = 1;
	/* SeaBIOS's serial console (sercon) holds back iPXE's last chars
	 * ("k\r\n" of "... ok") and never flushes them once the kernel
	 * runs: start on a fresh line so the banner is a line of its own */
	arch_putc('\r');
	arch_putc('\n');
}

void arch_putc(char c)
{
	if (!uart_ready)
		uart_init();
	while (!(inb(COM1 + 5) & 0x20))	/* THR empty */
		;
	outb(COM1, (unsigned char)c);
}

/* PCI config space, mechanism #1 */
static unsigned pci_read(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	outl(0xcf8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc));
	return inl(0xcfc);
}

void arch_poweroff(void)
{
	/* drain the UART so the last line is not lost */
	while (!(inb(COM1 + 5) & 0x40))
		;
	/* PIIX4 PM function (00:01.3, 8086:7113): PMBA at 0x40. SeaBIOS
	 * programs it (0x600 on QEMU's pc machine). PM1a_CNT = PMBA + 4;
	 * SLP_TYP 0 | SLP_EN (0x2000) is S5 on QEMU. */
	if (pci_read(0, 1, 3, 0x00) == 0x71138086u) {
		unsigned base = pci_read(0, 1, 3, 0x40) & 0xffc0;

		if (base)
			outw((unsigned short)(base + 4), 0x2000);
	}
	outw(0x604, 0x2000);	/* QEMU pc/q35 default PM base 0x600 */
	outw(0xb004, 0x2000);	/* older QEMU/Bochs */
	for (;;)
		__asm__ volatile("cli; hlt");
}

void arch_halt(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}
