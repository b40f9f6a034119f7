/*
 * boot.h: minivisor-boot, a freestanding kernel that boots on the lab's
 * QEMU machines through their firmware, says it started, runs its
 * self-tests (reported as HANGAR-CASE lines, hangar's own protocol) and
 * powers the machine off. Each arch gives the four functions below and
 * an entry point that sets up a stack and calls kmain().
 */
#ifndef MINIVISOR_BOOT_H
#define MINIVISOR_BOOT_H

/* what the banner calls this arch: x86_64, arm64 or riscv64 */
extern const char arch_name[];

/* one byte to the serial console (blocking) */
void arch_putc(char c);

/* power off; never returns (halts if the machine stays on) */
__attribute__((noreturn)) void arch_poweroff(void);

/* stop this CPU for good, idle (interrupts off, wait for one) */
__attribute__((noreturn)) void arch_halt(void);

__attribute__((noreturn)) void kmain(void);

#endif
