# build.mk: minivisor-boot for riscv64 (paths relative to the demo tree).
# bin/boot-riscv64.img is a RISC-V Linux "Image" (raw binary with the
# Image header), started by U-Boot with booti; it runs at 0x80200000.
RISCV64_CROSS ?= riscv64-linux-gnu-
RISCV64_BOOT_CFLAGS = -Iboot -O2 -std=c11 -Wall -Wextra -ffreestanding -fno-builtin \
	-fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables \
	-march=rv64imac_zicsr -mabi=lp64 -mcmodel=medany -mno-relax
RISCV64_BOOT_LDFLAGS = -nostdlib -nostartfiles -static -no-pie \
	-Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,-T,boot/riscv64/link.ld
RISCV64_BOOT_SRCS = boot/riscv64/start.S boot/riscv64/arch.c boot/kernel.c
RISCV64_BOOT_DEPS = $(RISCV64_BOOT_SRCS) boot/boot.h boot/faults.h \
	boot/riscv64/link.ld boot/riscv64/build.mk

bin/boot-riscv64.img: $(RISCV64_BOOT_DEPS)
	@mkdir -p bin
	$(RISCV64_CROSS)gcc $(RISCV64_BOOT_CPPFLAGS) $(RISCV64_BOOT_CFLAGS) \
		$(RISCV64_BOOT_LDFLAGS) -o bin/boot-riscv64.elf $(RISCV64_BOOT_SRCS)
	$(RISCV64_CROSS)objcopy -O binary bin/boot-riscv64.elf $@
