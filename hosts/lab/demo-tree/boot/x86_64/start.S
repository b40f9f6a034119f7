/*
 * start.S (x86_64): entry of minivisor-boot as a Multiboot (v1) kernel.
 *
 * iPXE (or any Multiboot loader) loads the ELF32 image at its link
 * address (1 MiB, see link.ld) and jumps to _start in 32-bit flat
 * protected mode, paging off, interrupts off, no stack. We clear .bss,
 * identity-map the first 1 GiB with 2 MiB pages, enter long mode and
 * call kmain() as 64-bit code.
 */
#define MB_MAGIC	0x1BADB002
#define MB_FLAGS	0x00000000	/* ELF image: no extra requests */

#define CR0_PE		0x00000001
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define EFER_MSR	0xC0000080
#define EFER_LME	0x00000100

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	movl	$stack_top, %esp

	/* clear .bss (page tables and stack live there too) */
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb

	/* PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] -> 2 MiB page i */
	movl	$pdpt, %eax
	orl	$0x3, %eax			/* present | writable */
	movl	%eax, pml4
	movl	$pd, %eax
	orl	$0x3, %eax
	movl	%eax, pdpt
	movl	$pd, %edi
	movl	$0x83, %eax			/* present | writable | 2 MiB */
	movl	$512, %ecx
1:	movl	%eax, (%edi)
	movl	$0, 4(%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	loop	1b

	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$EFER_MSR, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_PE), %eax
	movl	%eax, %cr0

	lgdt	gdt_desc
	ljmp	$0x08, $long_entry

	.code64
long_entry:
	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	xorw	%ax, %ax
	movw	%ax, %fs
	movw	%ax, %gs
	movq	$stack_top, %rsp
	xorl	%ebp, %ebp
	call	kmain
2:	cli
	hlt
	jmp	2b

	.section .rodata
	.balign 8
gdt:
	.quad	0				/* null */
	.quad	0x00AF9A000000FFFF		/* 0x08: 64-bit code */
	.quad	0x00CF92000000FFFF		/* 0x10: data */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt

	.section .bss
	.balign 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4096
	.balign 16
	.skip 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
