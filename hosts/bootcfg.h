/*
 * bootcfg.h: a host's network boot entry (pxelinux, GRUB, U-Boot: the
 * template decides) in the TFTP tree: the install entry during
 * host-install, the local-boot one otherwise. Templates are text with
 * %name%-style variables.
 */
#ifndef HANGAR_BOOTCFG_H
#define HANGAR_BOOTCFG_H

#include "err.h"

/* The pxelinux entry that boots the local disk, when a host has none. */
extern const char bootcfg_local_default[];

struct bootcfg_vars {
	const char *name, *arch, *address;
	const char *report_url;   /* where the installer reports back */
	const char *token;
	long flight;
	const char *job;
	/* a boot step's: the host's directory under the TFTP root and the
	 * names of the boot files placed there */
	const char *dir, *kernel, *initrd, *dtb;
	const char *const *files;  /* %file1%..%file9% */
	size_t nfiles;
};

/*
 * Expands %name% %arch% %address% %ipaddrhex% (pxelinux's C0A80001 form
 * of an IPv4 address) %report_url% %token% %flight% %job% %dir% %kernel%
 * %initrd% %dtb% %file1%..%file9% and %% in tmpl.
 * An unknown %word% is left as it is. Returns a new string.
 */
char *bootcfg_expand(const char *tmpl, const struct bootcfg_vars *v);

/*
 * Writes text as the file rel (expanded from the host's pxe-file) under
 * the TFTP root, atomically, creating directories. ERR_USAGE when rel is
 * absolute or climbs out with "..".
 */
int bootcfg_write(const char *tftp_root, const char *rel, const char *text,
		  struct err *err);

/*
 * Writes len bytes of data as the file rel under the TFTP root, like
 * bootcfg_write.
 */
int bootcfg_write_data(const char *tftp_root, const char *rel,
		       const void *data, size_t len, struct err *err);

/*
 * Whether the boot entry rel is a U-Boot script image (its name ends in
 * .uimg or .scr): `source` runs only a script wrapped in a legacy image.
 */
int bootcfg_is_uboot_script(const char *rel);

/*
 * The U-Boot legacy image (what `mkimage -T script -C none` makes) of
 * script, for arch (x86_64, arm64, riscv64; else 0); *len gets its size.
 */
unsigned char *bootcfg_uboot_script(const char *script, const char *arch,
				    size_t *len);

#endif
