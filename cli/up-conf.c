/*
 * up-conf.c: the last good configuration of `hangar up`. After each clean
 * load it writes the file, with the files it includes flattened into it
 * and its relative paths made absolute, to STATE/up/hangar.conf: a daemon
 * restarted after a SIGHUP whose file had errors starts from it, on the
 * settings hangar up kept, instead of failing on the broken file at every
 * restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "fsutil.h"
#include "labconf.h"
#include "xalloc.h"
#include "banned.h"

/*
 * The keys whose relative values lib/labconf.c resolves against the
 * directory of the file it was given (labconf_path, labconf_url), whichever
 * file of the includes sets them. The snapshot lives in another directory,
 * so it carries them absolute. A new key of that kind belongs here too.
 */
static const struct {
	const char *section, *key;
	int url;       /* a URL: only a local path is made absolute */
	int untreed;   /* only when the section sets no tree (else a path
			* inside that tree) */
} up_conf_paths[] = {
	{ "lab", "state", 0, 0 },
	{ "lab", "identity", 0, 0 },
	{ "lab", "tftp", 0, 0 },
	{ "host", "pxe-install", 0, 0 },
	{ "host", "pxe-local", 0, 0 },
	{ "host", "netboot", 0, 0 },
	{ "arch", "netboot", 0, 0 },
	{ "tree", "url", 1, 0 },
	{ "requirements", "file", 0, 1 },
	{ "evidence", "key", 0, 0 },
};

/* As labconf_url(): scheme://... and user@host:path stay as they are. */
static int up_conf_is_remote(const char *v)
{
	const char *colon = strchr(v, ':'), *slash = strchr(v, '/');

	return strstr(v, "://") || (colon && (!slash || colon < slash));
}

/* The value to write for e of section s: a relative path made absolute
 * against dir. */
static char *up_conf_value(const struct conf_section *s,
			   const struct conf_entry *e, const char *dir)
{
	for (size_t i = 0; i < sizeof(up_conf_paths) / sizeof(up_conf_paths[0]);
	     i++) {
		if (strcmp(up_conf_paths[i].section, e->section) ||
		    strcmp(up_conf_paths[i].key, e->key))
			continue;
		if (!e->value[0] || e->value[0] == '/' ||
		    (up_conf_paths[i].url && up_conf_is_remote(e->value)) ||
		    (up_conf_paths[i].untreed && conf_get(s, "tree")))
			break;
		return xasprintf("%s/%s", dir, e->value);
	}
	return xstrdup(e->value);
}

/* A git-config quoted string: the parser gives back exactly s. */
static void up_conf_add_quoted(struct buf *b, const char *s)
{
	buf_addch(b, '"');
	for (; *s; s++) {
		switch (*s) {
		case '"': buf_addstr(b, "\\\""); break;
		case '\\': buf_addstr(b, "\\\\"); break;
		case '\n': buf_addstr(b, "\\n"); break;
		case '\t': buf_addstr(b, "\\t"); break;
		case '\b': buf_addstr(b, "\\b"); break;
		default: buf_addch(b, *s); break;
		}
	}
	buf_addch(b, '"');
}

/* The flattened text of conf, read from the file at path. */
static void up_conf_flatten(const struct conf *conf, const char *path,
			    struct buf *out)
{
	char *abs = fs_absolute(path);
	char *dir = xstrndup(abs, (size_t)(strrchr(abs, '/') - abs));

	buf_addf(out,
		 "# Written by 'hangar up' from\n"
		 "#   %s\n"
		 "# as it last loaded cleanly, its includes flattened and its paths\n"
		 "# made absolute. The daemons it restarts while that file has errors\n"
		 "# start from this one. Do not edit: each clean load writes it again.\n",
		 abs);
	for (size_t i = 0; i < conf->nsections; i++) {
		const struct conf_section *s = &conf->sections[i];

		/* what the includes brought is in the other sections already */
		if (!strcmp(s->name, "include") || !strcmp(s->name, "includeif"))
			continue;
		buf_addf(out, "\n[%s", s->name);
		if (s->sub) {
			buf_addch(out, ' ');
			up_conf_add_quoted(out, s->sub);
		}
		buf_addstr(out, "]\n");
		for (size_t j = 0; j < s->n; j++) {
			char *v = up_conf_value(s, s->entries[j], dir);

			buf_addf(out, "\t%s = ", s->entries[j]->key);
			up_conf_add_quoted(out, v);
			buf_addch(out, '\n');
			free(v);
		}
	}
	free(dir);
	free(abs);
}

int up_conf_snapshot(const char *path, const char *out, struct err *err)
{
	struct conf_diag diag;
	struct conf conf;
	struct buf text = BUF_INIT;
	struct lab check;
	char *fresh = xasprintf("%s.new", out);
	int rc;

	conf_diag_init(&diag);
	if (conf_read(path, labconf_sections, &conf, &diag) < 0) {
		rc = err_set(err, ERR_USAGE, "%s", diag.msgs.n ? diag.msgs.v[0]
							       : path);
		goto out;
	}
	up_conf_flatten(&conf, path, &text);
	rc = fs_write_file(fresh, text.buf, text.len, 0600, err);
	if (rc < 0)
		goto out;
	/* it must load as the original did, or no restart may use it */
	if (labconf_load(fresh, &check, &diag) < 0) {
		rc = err_set(err, ERR_USAGE, "%s does not load: %s", fresh,
			     diag.msgs.n ? diag.msgs.v[0] : "?");
		goto out;
	}
	labconf_release(&check);
	if (rename(fresh, out) < 0)
		rc = err_errno(err, ERR_FAIL, "rename %s", fresh);
out:
	if (rc < 0)
		unlink(fresh);
	free(fresh);
	buf_release(&text);
	conf_release(&conf);
	conf_diag_release(&diag);
	return rc;
}
