/*
 * bootcfg.c: boot entries in the TFTP tree (see bootcfg.h).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootcfg.h"
#include "buf.h"
#include "fsutil.h"
#include "xalloc.h"
#include "banned.h"

const char bootcfg_local_default[] =
	"# written by hangar: boot from the local disk\n"
	"default local\n"
	"label local\n"
	"\tlocalboot 0\n";

static void bootcfg_ipaddrhex(struct buf *b, const char *address)
{
	struct in_addr a;

	if (address && inet_pton(AF_INET, address, &a) == 1) {
		const unsigned char *p = (const unsigned char *)&a.s_addr;

		buf_addf(b, "%02X%02X%02X%02X", p[0], p[1], p[2], p[3]);
	} else {
		buf_addstr(b, "%ipaddrhex%");
	}
}

char *bootcfg_expand(const char *tmpl, const struct bootcfg_vars *v)
{
	struct buf b = BUF_INIT;

	for (const char *p = tmpl; *p; p++) {
		const char *end;
		size_t n;

		if (*p != '%' || !(end = strchr(p + 1, '%'))) {
			buf_addch(&b, *p);
			continue;
		}
		n = (size_t)(end - p - 1);
#define IS(word) (n == strlen(word) && !strncmp(p + 1, word, n))
		if (n == 0)
			buf_addch(&b, '%');
		else if (IS("name"))
			buf_addstr(&b, v->name ? v->name : "");
		else if (IS("arch"))
			buf_addstr(&b, v->arch ? v->arch : "");
		else if (IS("address"))
			buf_addstr(&b, v->address ? v->address : "");
		else if (IS("ipaddrhex"))
			bootcfg_ipaddrhex(&b, v->address);
		else if (IS("report_url"))
			buf_addstr(&b, v->report_url ? v->report_url : "");
		else if (IS("token"))
			buf_addstr(&b, v->token ? v->token : "");
		else if (IS("flight"))
			buf_addf(&b, "%ld", v->flight);
		else if (IS("job"))
			buf_addstr(&b, v->job ? v->job : "");
		else if (IS("dir"))
			buf_addstr(&b, v->dir ? v->dir : "");
		else if (IS("kernel"))
			buf_addstr(&b, v->kernel ? v->kernel : "");
		else if (IS("initrd"))
			buf_addstr(&b, v->initrd ? v->initrd : "");
		else if (IS("dtb"))
			buf_addstr(&b, v->dtb ? v->dtb : "");
		else if (n == 5 && !strncmp(p + 1, "file", 4) && p[5] >= '1' &&
			 p[5] <= '9')
			buf_addstr(&b, (size_t)(p[5] - '1') < v->nfiles
				       ? v->files[p[5] - '1'] : "");
		else
			buf_add(&b, p, n + 2);   /* not ours: kept as it is */
#undef IS
		p = end;
	}
	return buf_detach(&b);
}

int bootcfg_write(const char *tftp_root, const char *rel, const char *text,
		  struct err *err)
{
	return bootcfg_write_data(tftp_root, rel, text, strlen(text), err);
}

int bootcfg_write_data(const char *tftp_root, const char *rel,
		       const void *data, size_t len, struct err *err)
{
	char *path, *dir;
	int rc;

	if (!*rel || rel[0] == '/' || !strcmp(rel, "..") ||
	    !strncmp(rel, "../", 3) || strstr(rel, "/../") ||
	    (strlen(rel) >= 3 && !strcmp(rel + strlen(rel) - 3, "/..")))
		return err_set(err, ERR_USAGE,
			       "boot entry '%s' is not a path inside the TFTP tree",
			       rel);
	path = xasprintf("%s/%s", tftp_root, rel);
	dir = xstrndup(path, (size_t)(strrchr(path, '/') - path));
	rc = fs_mkdir_p(dir, 0755, err);
	if (rc == 0)
		rc = fs_write_file(path, data, len, 0644, err);
	free(dir);
	free(path);
	return rc;
}

int bootcfg_is_uboot_script(const char *rel)
{
	size_t n = strlen(rel);

	return (n > 5 && !strcmp(rel + n - 5, ".uimg")) ||
	       (n > 4 && !strcmp(rel + n - 4, ".scr"));
}

/* CRC-32 (IEEE 802.3, as zlib's crc32()), which U-Boot checks. */
static uint32_t bootcfg_crc32(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xffffffffu;

	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void bootcfg_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/*
 * U-Boot's struct legacy_img_hdr (include/image.h), 64 bytes, big
 * endian: magic, header CRC, time, data size, load, entry, data CRC, then
 * os, arch, type and compression bytes and a 32-byte name. A script's
 * data is a list of lengths ending in 0, then the script.
 */
#define UIMAGE_HDR 64
#define UIMAGE_MAGIC 0x27051956u
#define UIMAGE_OS_LINUX 5
#define UIMAGE_TYPE_SCRIPT 6

unsigned char *bootcfg_uboot_script(const char *script, const char *arch,
				    size_t *len)
{
	size_t n = strlen(script), data = 8 + n;
	unsigned char *img = xcalloc(1, UIMAGE_HDR + data), *d = img + UIMAGE_HDR;
	unsigned char uarch = 0;

	if (arch && !strcmp(arch, "arm64"))
		uarch = 22;
	else if (arch && !strcmp(arch, "x86_64"))
		uarch = 24;
	else if (arch && !strcmp(arch, "riscv64"))
		uarch = 26;
	bootcfg_be32(d, (uint32_t)n);
	memcpy(d + 8, script, n);
	bootcfg_be32(img, UIMAGE_MAGIC);
	bootcfg_be32(img + 12, (uint32_t)data);
	bootcfg_be32(img + 24, bootcfg_crc32(d, data));
	img[28] = UIMAGE_OS_LINUX;
	img[29] = uarch;
	img[30] = UIMAGE_TYPE_SCRIPT;
	memcpy(img + 32, "hangar boot script", 18);
	bootcfg_be32(img + 4, bootcfg_crc32(img, UIMAGE_HDR));
	*len = UIMAGE_HDR + data;
	return img;
}
