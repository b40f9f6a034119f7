# build.mk: the arm64 boot image of minivisor-boot (QEMU virt, U-Boot booti).
# Included from the demo tree's root; paths are relative to it.
#   make bin/boot-arm64.img [ARM64_CROSS=aarch64-linux-gnu-]
ARM64_CROSS ?= aarch64-linux-gnu-
ARM64_BOOT_SRCS = boot/arm64/start.S boot/arm64/arch.c boot/kernel.c
ARM64_BOOT_DEPS = $(ARM64_BOOT_SRCS) boot/boot.h boot/faults.h \
	boot/arm64/link.ld boot/arm64/build.mk
ARM64_BOOT_CFLAGS = -std=gnu11 -O2 -Wall -Wextra -ffreestanding -nostdlib \
	-nostartfiles -fno-pic -fno-pie -no-pie -static -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-unwind-tables \
	-mgeneral-regs-only -mstrict-align -mcmodel=small \
	-Wl,-T,boot/arm64/link.ld -Wl,--build-id=none -Wl,-z,noexecstack \
	-Wl,--no-warn-rwx-segments

bin/boot-arm64.img: $(ARM64_BOOT_DEPS)
	@mkdir -p bin
	$(ARM64_CROSS)gcc $(ARM64_BOOT_CFLAGS) -o bin/boot-arm64.elf $(ARM64_BOOT_SRCS)
	$(ARM64_CROSS)objcopy -O binary bin/boot-arm64.elf $@
