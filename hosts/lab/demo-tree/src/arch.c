/* arch.c — the per-architecture parameters of the guests. */
#include <string.h>

#include "arch.h"

const struct arch arch_table[] = {
	/* name          page size  registers */
	{ "x86_64",      4096,      16 },
	{ "arm64",       65536,     31 },
	{ "riscv64",     4096,      32 },
};

const size_t arch_count = sizeof(arch_table) / sizeof(arch_table[0]);

const struct arch *arch_find(const char *name)
{
	size_t i;

	for (i = 0; i < arch_count; i++)
		if (strcmp(arch_table[i].name, name) == 0)
			return &arch_table[i];
	return NULL;
}
