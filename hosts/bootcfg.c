/*
 * bootcfg.c: boot entries in the TFTP tree (see bootcfg.h).
 */
#include <arpa/inet.h>
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
		rc = fs_write_file(path, text, strlen(text), 0644, err);
	free(dir);
	free(path);
	return rc;
}
