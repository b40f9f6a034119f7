/*
 * tar.c: a ustar writer. Names that do not fit ustar's 100 + 155 bytes
 * (or a link target over 100) get a GNU 'L'/'K' record first, which GNU
 * tar and busybox both read.
 */
#include <stdlib.h>
#include <string.h>

#include "tar.h"
#include "xalloc.h"
#include "banned.h"

#define TAR_BLOCK 512

struct tar_header {
	char name[100], mode[8], uid[8], gid[8], size[12], mtime[12];
	char chksum[8], typeflag, linkname[100], magic[6], version[2];
	char uname[32], gname[32], devmajor[8], devminor[8], prefix[155];
	char pad[12];
};

void tar_init(struct tar *t, FILE *f, time_t mtime)
{
	t->f = f;
	t->mtime = mtime;
	t->bytes = 0;
}

static int tar_write(struct tar *t, const void *data, size_t len,
		     struct err *err)
{
	static const char zeros[TAR_BLOCK];
	size_t pad = (TAR_BLOCK - len % TAR_BLOCK) % TAR_BLOCK;

	if ((len && fwrite(data, 1, len, t->f) != len) ||
	    (pad && fwrite(zeros, 1, pad, t->f) != pad))
		return err_errno(err, ERR_FAIL, "tar: write");
	t->bytes += (long long)(len + pad);
	return 0;
}

/* width - 1 octal digits and a NUL (values that big are not written). */
static void tar_octal(char *field, size_t width, unsigned long long v)
{
	field[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0; v >>= 3)
		field[i] = (char)('0' + (v & 7));
}

static int tar_header_write(struct tar *t, struct tar_header *h,
			    struct err *err)
{
	unsigned sum = 0;
	const unsigned char *p = (const unsigned char *)h;

	memcpy(h->magic, "ustar", 6);
	memcpy(h->version, "00", 2);
	memset(h->chksum, ' ', sizeof(h->chksum));
	for (size_t i = 0; i < sizeof(*h); i++)
		sum += p[i];
	snprintf(h->chksum, sizeof(h->chksum), "%06o", sum);
	return tar_write(t, h, sizeof(*h), err);
}

static void tar_header_init(struct tar *t, struct tar_header *h, char type,
			    int mode, unsigned long long size)
{
	memset(h, 0, sizeof(*h));
	tar_octal(h->mode, sizeof(h->mode), (unsigned)mode);
	tar_octal(h->uid, sizeof(h->uid), 0);
	tar_octal(h->gid, sizeof(h->gid), 0);
	tar_octal(h->size, sizeof(h->size), size);
	tar_octal(h->mtime, sizeof(h->mtime),
		  (unsigned long long)(t->mtime > 0 ? t->mtime : 0));
	h->typeflag = type;
	memcpy(h->uname, "root", 5);
	memcpy(h->gname, "root", 5);
}

/* A GNU long name ('L') or long link ('K') record holding s. */
static int tar_long_record(struct tar *t, char type, const char *s,
			   struct err *err)
{
	struct tar_header h;
	size_t len = strlen(s) + 1;

	tar_header_init(t, &h, type, 0644, len);
	memcpy(h.name, "././@LongLink", 14);
	if (tar_header_write(t, &h, err) < 0)
		return -1;
	return tar_write(t, s, len, err);
}

/* Puts path into name (and prefix), or writes a long-name record. */
static int tar_set_name(struct tar *t, struct tar_header *h, const char *path,
			struct err *err)
{
	size_t len = strlen(path);

	if (len <= sizeof(h->name)) {
		memcpy(h->name, path, len);
		return 0;
	}
	/* split at a slash: prefix (<=155) "/" name (<=100) */
	for (const char *s = path + len - 1; s > path; s--) {
		size_t plen = (size_t)(s - path), nlen = len - plen - 1;

		if (*s != '/' || nlen > sizeof(h->name))
			continue;
		if (nlen == 0 || plen > sizeof(h->prefix))
			break;
		memcpy(h->prefix, path, plen);
		memcpy(h->name, s + 1, nlen);
		return 0;
	}
	if (tar_long_record(t, 'L', path, err) < 0)
		return -1;
	memcpy(h->name, path, sizeof(h->name));
	return 0;
}

static int tar_entry(struct tar *t, const char *path, char type, int mode,
		     const char *link, const void *data, size_t size,
		     struct err *err)
{
	struct tar_header h;

	if (link && strlen(link) > sizeof(h.linkname) &&
	    tar_long_record(t, 'K', link, err) < 0)
		return -1;
	tar_header_init(t, &h, type, mode, size);
	if (link)
		memcpy(h.linkname, link, strnlen(link, sizeof(h.linkname)));
	if (tar_set_name(t, &h, path, err) < 0 ||
	    tar_header_write(t, &h, err) < 0)
		return -1;
	return size ? tar_write(t, data, size, err) : 0;
}

int tar_add_file(struct tar *t, const char *path, int mode,
		 const void *data, size_t size, struct err *err)
{
	return tar_entry(t, path, '0', mode, NULL, data, size, err);
}

int tar_add_dir(struct tar *t, const char *path, struct err *err)
{
	char *dir;
	size_t len = strlen(path);
	int rc;

	if (len && path[len - 1] == '/')
		return tar_entry(t, path, '5', 0755, NULL, NULL, 0, err);
	dir = xasprintf("%s/", path);
	rc = tar_entry(t, dir, '5', 0755, NULL, NULL, 0, err);
	free(dir);
	return rc;
}

int tar_add_symlink(struct tar *t, const char *path, const char *target,
		    struct err *err)
{
	return tar_entry(t, path, '2', 0777, target, NULL, 0, err);
}

int tar_finish(struct tar *t, struct err *err)
{
	static const char zeros[2 * TAR_BLOCK];

	if (tar_write(t, zeros, sizeof(zeros), err) < 0)
		return -1;
	if (fflush(t->f) != 0)
		return err_errno(err, ERR_FAIL, "tar: write");
	return 0;
}
