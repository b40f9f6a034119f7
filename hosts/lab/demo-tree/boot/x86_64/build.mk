# build.mk (x86_64): bin/boot-x86_64.img, a Multiboot (v1) ELF32 image
# that iPXE (Debian's ipxe-qemu option ROM on QEMU's pc machine) boots
# with `kernel` + `boot`. The code is 64-bit (start.S enters long mode);
# the linked ELF64 is rewrapped as ELF32 because iPXE's Multiboot loader
# only reads ELF32. Paths are relative to the demo tree root.
# The native x86_64 gcc/binutils are enough: X86_64_CROSS is empty unless
# the host is not x86_64 (then e.g. x86_64-linux-gnu-).
X86_64_CROSS ?=
X86_64_BOOT_CC = $(X86_64_CROSS)gcc
X86_64_BOOT_LD = $(X86_64_CROSS)ld
X86_64_BOOT_OBJCOPY = $(X86_64_CROSS)objcopy
X86_64_BOOT_CFLAGS = -std=c11 -O2 -Wall -Wextra -ffreestanding -fno-pic -fno-pie \
	-fno-stack-protector -fno-asynchronous-unwind-tables -m64 \
	-mcmodel=small -mno-red-zone -mgeneral-regs-only -Iboot
X86_64_BOOT_SRCS = boot/kernel.c boot/x86_64/arch.c boot/x86_64/start.S
X86_64_BOOT_DEPS = $(X86_64_BOOT_SRCS) boot/boot.h boot/faults.h \
	boot/x86_64/link.ld boot/x86_64/build.mk

bin/boot-x86_64.img: $(X86_64_BOOT_DEPS)
	@mkdir -p bin/boot-x86_64.d
	$(X86_64_BOOT_CC) $(X86_64_BOOT_CFLAGS) -c -o bin/boot-x86_64.d/kernel.o boot/kernel.c
	$(X86_64_BOOT_CC) $(X86_64_BOOT_CFLAGS) -c -o bin/boot-x86_64.d/arch.o boot/x86_64/arch.c
	$(X86_64_BOOT_CC) $(X86_64_BOOT_CFLAGS) -c -o bin/boot-x86_64.d/start.o boot/x86_64/start.S
	$(X86_64_BOOT_LD) -m elf_x86_64 -nostdlib -static -z max-page-size=4096 --no-warn-rwx-segments \
		-T boot/x86_64/link.ld -o bin/boot-x86_64.d/kernel64.elf \
		bin/boot-x86_64.d/start.o bin/boot-x86_64.d/kernel.o bin/boot-x86_64.d/arch.o
	$(X86_64_BOOT_OBJCOPY) -O elf32-i386 bin/boot-x86_64.d/kernel64.elf $@
