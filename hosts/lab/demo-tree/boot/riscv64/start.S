/*
 * start.S: minivisor-boot entry for riscv64. The image starts with the
 * RISC-V Linux "Image" header (Documentation/riscv/boot-image-header.rst)
 * so U-Boot's booti accepts it; booti copies it to start of RAM +
 * text_offset (0x80000000 + 0x200000 on QEMU virt, OpenSBI lives below)
 * and enters it in S-mode with a0 = hart id, a1 = device tree.
 * link.ld links it at that address.
 */
	.section .text.head, "ax"
	.option push
	.option norvc
	.globl _start
_start:
	j	entry			/* code0 */
	.word	0			/* code1 */
	.dword	0x200000		/* text_offset from start of RAM */
	.dword	_image_size		/* image_size, incl. bss and stack (link.ld) */
	.dword	0			/* flags: little endian */
	.word	2			/* version 0.2 */
	.word	0			/* res1 */
	.dword	0			/* res2 */
	.ascii	"RISCV\0\0\0"		/* magic (deprecated) */
	.ascii	"RSC\x05"		/* magic2 */
	.word	0			/* res3: no PE header */
	.option pop

entry:
	csrw	sie, zero		/* no interrupts */
	la	sp, _stack_top
	la	t0, __bss_start
	la	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:	call	kmain
3:	wfi
	j	3b
