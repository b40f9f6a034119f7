/*
 * start.S: arm64 entry of minivisor-boot.
 *
 * U-Boot's `booti` wants an arm64 Linux Image header. With flags bit 3
 * clear it moves the image to (start of RAM, 2 MiB aligned) + text_offset
 * = 0x40000000 + 0x80000 on QEMU virt, which is where link.ld links it.
 * At entry: MMU and D-cache off, x0 = DTB, EL1 (QEMU virt without
 * virtualization=on) or EL2.
 */
	.section .text.head, "ax"
	.globl	_head
_head:
	b	primary_entry			/* code0 */
	.long	0				/* code1 */
	.quad	0x80000				/* text_offset */
	.quad	_end - _head			/* image_size, .bss included */
	.quad	0				/* flags: LE, page size unspecified, placed at RAM base */
	.quad	0				/* res2 */
	.quad	0				/* res3 */
	.quad	0				/* res4 */
	.ascii	"ARM\x64"			/* magic */
	.long	0				/* res5: no PE/COFF header */

primary_entry:
	msr	daifset, #0xf			/* no interrupts */
	ldr	x1, =vectors
	mrs	x2, CurrentEL
	cmp	x2, #(2 << 2)
	b.ne	1f
	msr	vbar_el2, x1
	b	2f
1:	msr	vbar_el1, x1
2:	isb
	ldr	x1, =__bss_start		/* clear .bss (stack included) */
	ldr	x2, =__bss_end
3:	cmp	x1, x2
	b.hs	4f
	str	xzr, [x1], #8
	b	3b
4:	ldr	x1, =stack_top
	mov	sp, x1
	mov	x29, xzr
	mov	x30, xzr
	bl	kmain
5:	wfi
	b	5b

/* Any exception: report it (arch_trap prints ESR/ELR and spins). */
	.macro	vec n
	.balign	0x80
	mov	x0, #\n
	b	trap
	.endm

	.balign	0x800
vectors:
	vec 0
	vec 1
	vec 2
	vec 3
	vec 4
	vec 5
	vec 6
	vec 7
	vec 8
	vec 9
	vec 10
	vec 11
	vec 12
	vec 13
	vec 14
	vec 15

trap:
	ldr	x1, =stack_top			/* fresh stack: the old one may be the cause */
	mov	sp, x1
	bl	arch_trap
6:	wfi
	b	6b

	.section .bss.stack, "aw", %nobits
	.balign	16
	.space	16384
stack_top:
