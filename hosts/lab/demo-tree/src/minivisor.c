/*
 * minivisor — a toy hypervisor: it loads a guest program, gives it the
 * registers and memory of the chosen architecture, and runs it.
 *
 *   minivisor --version
 *   minivisor --arch ARCH info        the guest ABI of ARCH
 *   minivisor --arch ARCH selftest    built-in checks of the VM for ARCH
 *   minivisor --arch ARCH run FILE    run a guest program (- for stdin)
 *   minivisor --list-arches
 *
 * A guest program has one instruction per line ('#' starts a comment):
 *   set rD IMM | add rD rA rB | sub rD rA rB | mul rD rA rB
 *   ld rD rA (rD = 64-bit word at address rA) | st rS rA | out rA
 *   jnz rA LABEL | jmp LABEL | halt | LABEL:
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"

#define MINIVISOR_VERSION "1.0.0"
#define GUEST_PAGES 4
#define MAX_INSNS 1024
#define MAX_LABELS 128
#define MAX_STEPS 10000000L

enum op { OP_SET, OP_ADD, OP_SUB, OP_MUL, OP_LD, OP_ST, OP_OUT, OP_JNZ,
	  OP_JMP, OP_HALT };

static const struct { const char *name; enum op op; int regs; int label; }
ops[] = {
	{ "set", OP_SET, 1, 0 }, { "add", OP_ADD, 3, 0 },
	{ "sub", OP_SUB, 3, 0 }, { "mul", OP_MUL, 3, 0 },
	{ "ld", OP_LD, 2, 0 },   { "st", OP_ST, 2, 0 },
	{ "out", OP_OUT, 1, 0 }, { "jnz", OP_JNZ, 1, 1 },
	{ "jmp", OP_JMP, 0, 1 }, { "halt", OP_HALT, 0, 0 },
};

struct insn {
	enum op op;
	int r[3];
	int64_t imm;
	char target[32];
	int line;
};

struct vm {
	const struct arch *arch;
	uint64_t *regs;
	uint8_t *mem;
	size_t mem_size;
	struct insn insns[MAX_INSNS];
	int n;
	struct { char name[32]; int pc; } labels[MAX_LABELS];
	int nlabels;
	const char *file;
};

static int vm_init(struct vm *vm, const struct arch *arch, const char *file)
{
	memset(vm, 0, sizeof(*vm));
	vm->arch = arch;
	vm->file = file;
	vm->mem_size = GUEST_PAGES * arch->page_size;
	vm->regs = calloc((size_t)arch->nr_regs, sizeof(*vm->regs));
	vm->mem = calloc(vm->mem_size, 1);
	if (!vm->regs || !vm->mem) {
		fprintf(stderr, "minivisor: out of memory\n");
		return -1;
	}
	return 0;
}

static void vm_free(struct vm *vm)
{
	free(vm->regs);
	free(vm->mem);
}

static int parse_reg(struct vm *vm, const char *tok, int line)
{
	char *end;
	long r;

	if (!tok || tok[0] != 'r' || !tok[1]) {
		fprintf(stderr, "minivisor: %s:%d: expected a register, got '%s'\n",
			vm->file, line, tok ? tok : "");
		return -1;
	}
	errno = 0;
	r = strtol(tok + 1, &end, 10);
	if (errno || *end || r < 0 || r >= vm->arch->nr_regs) {
		fprintf(stderr, "minivisor: %s:%d: register %s does not exist on %s (r0..r%d)\n",
			vm->file, line, tok, vm->arch->name, vm->arch->nr_regs - 1);
		return -1;
	}
	return (int)r;
}

static int vm_add_insn(struct vm *vm, char *text, int line)
{
	char *tok[5] = { 0 };
	struct insn *in;
	size_t i;
	int n = 0, k;

	for (char *t = strtok(text, " \t\r\n"); t; t = strtok(NULL, " \t\r\n"))
		if (n < 5)
			tok[n++] = t;
	if (n == 0)
		return 0;
	if (n == 1 && tok[0][strlen(tok[0]) - 1] == ':') {
		if (vm->nlabels == MAX_LABELS || strlen(tok[0]) > 31) {
			fprintf(stderr, "minivisor: %s:%d: bad label\n", vm->file, line);
			return -1;
		}
		tok[0][strlen(tok[0]) - 1] = '\0';
		snprintf(vm->labels[vm->nlabels].name, 32, "%s", tok[0]);
		vm->labels[vm->nlabels++].pc = vm->n;
		return 0;
	}
	if (vm->n == MAX_INSNS) {
		fprintf(stderr, "minivisor: %s:%d: program too long\n", vm->file, line);
		return -1;
	}
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, tok[0]) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0])) {
		fprintf(stderr, "minivisor: %s:%d: unknown instruction '%s'\n",
			vm->file, line, tok[0]);
		return -1;
	}
	in = &vm->insns[vm->n];
	in->op = ops[i].op;
	in->line = line;
	if (n != 1 + ops[i].regs + ops[i].label + (ops[i].op == OP_SET)) {
		fprintf(stderr, "minivisor: %s:%d: wrong number of operands for %s\n",
			vm->file, line, tok[0]);
		return -1;
	}
	for (k = 0; k < ops[i].regs; k++)
		if ((in->r[k] = parse_reg(vm, tok[1 + k], line)) < 0)
			return -1;
	if (in->op == OP_SET)
		in->imm = strtoll(tok[2], NULL, 0);
	if (ops[i].label)
		snprintf(in->target, sizeof(in->target), "%s", tok[n - 1]);
	vm->n++;
	return 0;
}

static int vm_load(struct vm *vm, FILE *f)
{
	char buf[256];
	int line = 0;

	while (fgets(buf, sizeof(buf), f)) {
		char *hash = strchr(buf, '#');

		line++;
		if (hash)
			*hash = '\0';
		if (vm_add_insn(vm, buf, line) < 0)
			return -1;
	}
	return 0;
}

static int vm_label(struct vm *vm, const struct insn *in)
{
	for (int i = 0; i < vm->nlabels; i++)
		if (strcmp(vm->labels[i].name, in->target) == 0)
			return vm->labels[i].pc;
	fprintf(stderr, "minivisor: %s:%d: no label '%s'\n", vm->file, in->line,
		in->target);
	return -1;
}

static int vm_check_addr(struct vm *vm, uint64_t addr, int line)
{
	if (addr % 8 || addr > vm->mem_size - 8) {
		fprintf(stderr, "minivisor: %s:%d: guest fault at address %" PRIu64
			" (memory is %zu bytes, 8-byte aligned words)\n",
			vm->file, line, addr, vm->mem_size);
		return -1;
	}
	return 0;
}

/* Runs the loaded program; its "out" lines go to OUT. */
static int vm_run(struct vm *vm, FILE *out)
{
	uint64_t *r = vm->regs;
	long steps = 0;
	int pc = 0;

	while (pc < vm->n) {
		const struct insn *in = &vm->insns[pc++];

		if (++steps > MAX_STEPS) {
			fprintf(stderr, "minivisor: %s: guest runs too long\n", vm->file);
			return -1;
		}
		switch (in->op) {
		case OP_SET: r[in->r[0]] = (uint64_t)in->imm; break;
		case OP_ADD: r[in->r[0]] = r[in->r[1]] + r[in->r[2]]; break;
		case OP_SUB: r[in->r[0]] = r[in->r[1]] - r[in->r[2]]; break;
		case OP_MUL: r[in->r[0]] = r[in->r[1]] * r[in->r[2]]; break;
		case OP_LD:
			if (vm_check_addr(vm, r[in->r[1]], in->line) < 0)
				return -1;
			memcpy(&r[in->r[0]], vm->mem + r[in->r[1]], 8);
			break;
		case OP_ST:
			if (vm_check_addr(vm, r[in->r[1]], in->line) < 0)
				return -1;
			memcpy(vm->mem + r[in->r[1]], &r[in->r[0]], 8);
			break;
		case OP_OUT: fprintf(out, "%" PRId64 "\n", (int64_t)r[in->r[0]]); break;
		case OP_JNZ:
			if (r[in->r[0]] == 0)
				break;
			/* fall through */
		case OP_JMP:
			if ((pc = vm_label(vm, in)) < 0)
				return -1;
			break;
		case OP_HALT: return 0;
		}
	}
	return 0;
}

static int run_text(const struct arch *arch, const char *name, const char *text,
		    char *out, size_t outlen)
{
	struct vm *vm = malloc(sizeof(*vm));
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	FILE *o = fmemopen(out, outlen, "w");
	int rc = -1;

	if (vm && in && o && vm_init(vm, arch, name) == 0) {
		rc = vm_load(vm, in) < 0 ? -1 : vm_run(vm, o);
		vm_free(vm);
	}
	if (in)
		fclose(in);
	if (o)
		fclose(o);
	free(vm);
	return rc;
}

static int selftest(const struct arch *arch)
{
	char prog[8192], out[256], want[64];
	size_t len = 0;
	int i, failed = 0, n = 0;

	/* 1. arithmetic: 10! */
	n++;
	if (run_text(arch, "selftest:fact",
		     "set r0 1\nset r1 10\nset r2 1\nloop:\nmul r0 r0 r1\n"
		     "sub r1 r1 r2\njnz r1 loop\nout r0\n", out, sizeof(out)) < 0 ||
	    strcmp(out, "3628800\n") != 0) {
		fprintf(stderr, "selftest %s: arithmetic: got '%s'\n", arch->name, out);
		failed++;
	}
	/* 2. every register holds its own value */
	n++;
	for (i = 0; i < arch->nr_regs; i++)
		len += (size_t)snprintf(prog + len, sizeof(prog) - len, "set r%d %d\n", i, i + 1);
	for (i = 1; i < arch->nr_regs; i++)
		len += (size_t)snprintf(prog + len, sizeof(prog) - len, "add r0 r0 r%d\n", i);
	snprintf(prog + len, sizeof(prog) - len, "out r0\n");
	snprintf(want, sizeof(want), "%d\n", arch->nr_regs * (arch->nr_regs + 1) / 2);
	if (run_text(arch, "selftest:regs", prog, out, sizeof(out)) < 0 ||
	    strcmp(out, want) != 0) {
		fprintf(stderr, "selftest %s: registers: got '%s'\n", arch->name, out);
		failed++;
	}
	/* 3. the last word of guest memory */
	n++;
	snprintf(prog, sizeof(prog), "set r0 %zu\nset r1 77\nst r1 r0\nld r2 r0\nout r2\n",
		 GUEST_PAGES * arch->page_size - 8);
	if (run_text(arch, "selftest:memory", prog, out, sizeof(out)) < 0 ||
	    strcmp(out, "77\n") != 0) {
		fprintf(stderr, "selftest %s: memory: got '%s'\n", arch->name, out);
		failed++;
	}
	printf("selftest %s: %d of %d checks passed\n", arch->name, n - failed, n);
	return failed ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: minivisor --version | --list-arches |\n"
		"       minivisor --arch ARCH info | selftest | run FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	const struct arch *arch;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("minivisor %s\n", MINIVISOR_VERSION);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--list-arches") == 0) {
		for (size_t i = 0; i < arch_count; i++)
			printf("%s\n", arch_table[i].name);
		return 0;
	}
	if (argc < 4 || strcmp(argv[1], "--arch") != 0)
		return usage();
	if (!(arch = arch_find(argv[2]))) {
		fprintf(stderr, "minivisor: unknown arch '%s'\n", argv[2]);
		return 2;
	}
	if (argc == 4 && strcmp(argv[3], "info") == 0) {
		printf("arch=%s page_size=%zu registers=%d memory=%zu\n", arch->name,
		       arch->page_size, arch->nr_regs, GUEST_PAGES * arch->page_size);
		return 0;
	}
	if (argc == 4 && strcmp(argv[3], "selftest") == 0)
		return selftest(arch);
	if (argc == 5 && strcmp(argv[3], "run") == 0) {
		int stdin_ = strcmp(argv[4], "-") == 0;
		FILE *f = stdin_ ? stdin : fopen(argv[4], "r");
		struct vm *vm = malloc(sizeof(*vm));
		int rc = 1;

		if (!f) {
			fprintf(stderr, "minivisor: %s: %s\n", argv[4], strerror(errno));
			free(vm);
			return 1;
		}
		if (vm && vm_init(vm, arch, argv[4]) == 0) {
			rc = vm_load(vm, f) < 0 || vm_run(vm, stdout) < 0;
			vm_free(vm);
		}
		if (!stdin_)
			fclose(f);
		free(vm);
		return rc;
	}
	return usage();
}
