/* arch.h — what minivisor knows of each architecture it runs guests for. */
#ifndef MINIVISOR_ARCH_H
#define MINIVISOR_ARCH_H

#include <stddef.h>

struct arch {
	const char *name;      /* x86_64, arm64, riscv64 */
	size_t page_size;      /* bytes per guest page */
	int nr_regs;           /* general purpose registers a guest may use */
};

extern const struct arch arch_table[];
extern const size_t arch_count;

/* The arch called NAME, or NULL. */
const struct arch *arch_find(const char *name);

#endif
