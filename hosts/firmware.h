/*
 * firmware.h: what a host says its firmware is, for the evidence records
 * (allocations.firmware, docs/evidence.md): the banners its serial
 * console prints while it boots (SeaBIOS, U-Boot, OpenSBI, iPXE, EDK II)
 * and the BIOS that Linux reads from DMI. Pure: text in, text out; the
 * worker reads the console capture and the host's /sys.
 */
#ifndef HANGAR_FIRMWARE_H
#define HANGAR_FIRMWARE_H

#include <stddef.h>

/* The most bytes of a firmware text (what allocations.firmware holds). */
#define FIRMWARE_MAX 200
/* The most bytes of a version word kept from a banner. */
#define FIRMWARE_VERSION_MAX 64

/*
 * The firmware that console line (NUL-terminated, any bytes, a capture
 * timestamp or escape codes before it alike) announces, as "SeaBIOS
 * 1.16.2-debian-1.16.2-1", "U-Boot 2023.01+dfsg-2", "U-Boot SPL
 * 2023.01", "OpenSBI v1.3", "iPXE 1.21.1+" or "EDK II edk2-stable202302",
 * into out (NUL-terminated, truncated to outlen - 1): 1 when the line is
 * such a banner, else 0 (out untouched).
 */
int firmware_banner(const char *line, char *out, size_t outlen);

/*
 * The banners of one host's boots, distinct and in the order they came
 * (OpenSBI, then U-Boot), joined by ", "; a banner that would not fit in
 * FIRMWARE_MAX bytes is left out. Zero it (or firmware_scan_init) first.
 */
struct firmware_scan {
	char text[FIRMWARE_MAX + 1];   /* "" while none */
	int n;                         /* banners in text */
};

void firmware_scan_init(struct firmware_scan *s);
/* Adds the banner of line (firmware_banner), if any and new. */
void firmware_scan_line(struct firmware_scan *s, const char *line);

/*
 * The BIOS from DMI (/sys/class/dmi/id/bios_vendor and bios_version,
 * either NULL or empty when unreadable): "VENDOR VERSION", either alone,
 * whitespace trimmed, control bytes dropped, into out: 1, or 0 when
 * there is nothing (out untouched).
 */
int firmware_dmi(const char *vendor, const char *version, char *out,
		 size_t outlen);

#endif
