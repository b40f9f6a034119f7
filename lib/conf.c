/*
 * conf.c: the table-driven configuration reader. libgit2 parses (so the
 * syntax is exactly git's: comments, quoting, continuation lines, includes,
 * multivars); a light scanner of our own finds the line of each entry and
 * section header so that every problem can point at its line.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <git2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "strnum.h"
#include "xalloc.h"
#include "banned.h"

#define CONF_MAX_INCLUDE_DEPTH 10
#define CONF_MAX_FILE (4 << 20)

/* Where the scanner saw an entry ("section.sub.key") or a header. */
struct conf_place {
	char *name;
	char *section;
	char *sub;
	int is_header;
	const char *file;
	int line;
};

struct conf_scan {
	struct conf_place *places;
	size_t n, alloc;
};

void conf_diag_init(struct conf_diag *d)
{
	vec_init(&d->msgs);
}

void conf_diag_release(struct conf_diag *d)
{
	vec_clear(&d->msgs);
}

static void conf_diag_vadd(struct conf_diag *d, const char *file, int line,
			   const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

static void conf_diag_vadd(struct conf_diag *d, const char *file, int line,
			   const char *prefix, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;

	if (file && line > 0)
		buf_addf(&b, "%s:%d: ", file, line);
	else if (file)
		buf_addf(&b, "%s: ", file);
	if (prefix)
		buf_addstr(&b, prefix);
	buf_vaddf(&b, fmt, ap);
	vec_push_take(&d->msgs, buf_detach(&b));
}

void conf_diag_add(struct conf_diag *d, const char *file, int line,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_diag_vadd(d, file, line, NULL, fmt, ap);
	va_end(ap);
}

static char *conf_section_label(const struct conf_section *s)
{
	return s->sub ? xasprintf("%s '%s': ", s->name, s->sub)
		      : xasprintf("[%s]: ", s->name);
}

void conf_diag_section(struct conf_diag *d, const struct conf_section *s,
		       const char *fmt, ...)
{
	char *label = conf_section_label(s);
	va_list ap;

	va_start(ap, fmt);
	conf_diag_vadd(d, s->file, s->line, label, fmt, ap);
	va_end(ap);
	free(label);
}

void conf_diag_entry(struct conf_diag *d, const struct conf_section *s,
		     const struct conf_entry *e, const char *fmt, ...)
{
	char *label = conf_section_label(s);
	char *prefix = xasprintf("%s%s: ", label, e->key);
	va_list ap;

	va_start(ap, fmt);
	conf_diag_vadd(d, e->file, e->line, prefix, fmt, ap);
	va_end(ap);
	free(prefix);
	free(label);
}

/* ---- the scanner: lines of headers and keys ---- */

static void conf_scan_add(struct conf_scan *sc, const char *section,
			  const char *sub, const char *key, const char *file,
			  int line)
{
	struct conf_place *p;

	XGROW(sc->places, sc->alloc, sc->n + 1);
	p = &sc->places[sc->n++];
	p->section = xstrdup(section);
	p->sub = xstrdup_or_null(sub);
	p->is_header = key == NULL;
	p->name = key ? (sub ? xasprintf("%s.%s.%s", section, sub, key)
			     : xasprintf("%s.%s", section, key))
		      : NULL;
	p->file = file;
	p->line = line;
}

static void conf_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/*
 * Parses "[section]" / "[section \"sub\"]" / "[section.sub]" at p;
 * returns what follows the "]" (git allows a key there).
 */
static const char *conf_scan_header(const char *p, char **section, char **sub)
{
	const char *q = ++p;
	struct buf b = BUF_INIT;

	while (*q && *q != ']' && !isspace((unsigned char)*q))
		q++;
	*section = xstrndup(p, (size_t)(q - p));
	*sub = NULL;
	while (isspace((unsigned char)*q))
		q++;
	if (*q == '"') {
		for (q++; *q && *q != '"'; q++) {
			if (*q == '\\' && q[1])
				q++;
			buf_addch(&b, *q);
		}
		*sub = buf_detach(&b);
		if (*q == '"')
			q++;
	} else {
		char *dot = strchr(*section, '.');

		if (dot) {
			*sub = xstrdup(dot + 1);
			*dot = '\0';
			conf_lower(*sub);
		}
	}
	conf_lower(*section);
	q = strchr(q, ']');
	return q ? q + 1 : p + strlen(p);
}

static char *conf_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
}

static void conf_scan_file(struct conf *conf, struct conf_scan *sc,
			   const char *path, int depth);

static void conf_scan_include(struct conf *conf, struct conf_scan *sc,
			      const char *from, const char *value, int depth)
{
	char *path, *dir;
	const char *home = getenv("HOME");

	if (depth >= CONF_MAX_INCLUDE_DEPTH)
		return;
	if (value[0] == '/') {
		path = xstrdup(value);
	} else if (value[0] == '~' && value[1] == '/' && home) {
		path = xasprintf("%s/%s", home, value + 2);
	} else {
		dir = conf_dirname(from);
		path = xasprintf("%s/%s", dir, value);
		free(dir);
	}
	conf_scan_file(conf, sc, path, depth + 1);
	free(path);
}

/* The value text after "=", unquoted enough to follow include paths. */
static char *conf_scan_value(const char *p)
{
	struct buf b = BUF_INIT;
	int quoted = 0;

	while (isspace((unsigned char)*p))
		p++;
	for (; *p && *p != '\n'; p++) {
		if (*p == '"') {
			quoted = !quoted;
			continue;
		}
		if (!quoted && (*p == '#' || *p == ';'))
			break;
		if (*p == '\\' && p[1]) {
			p++;
		}
		buf_addch(&b, *p);
	}
	buf_rtrim(&b);
	return buf_detach(&b);
}

static void conf_scan_file(struct conf *conf, struct conf_scan *sc,
			   const char *path, int depth)
{
	struct buf text;
	char *section = NULL, *sub = NULL;
	const char *file;
	const char *p;
	int line = 0;

	buf_init(&text, CONF_MAX_FILE);
	if (buf_read_file(&text, path) < 0) {
		buf_release(&text);
		return;
	}
	vec_push(&conf->files, path);
	file = conf->files.v[conf->files.n - 1];
	for (p = text.buf; *p;) {
		const char *eol = strchr(p, '\n');
		const char *next = eol ? eol + 1 : p + strlen(p);
		const char *q = p;

		line++;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '[') {
			free(section);
			free(sub);
			q = conf_scan_header(q, &section, &sub);
			conf_scan_add(sc, section, sub, NULL, file, line);
			while (*q == ' ' || *q == '\t')
				q++;
		}
		if (section && isalnum((unsigned char)*q)) {
			const char *k = q;
			char *key;

			while (isalnum((unsigned char)*q) || *q == '-')
				q++;
			key = xstrndup(k, (size_t)(q - k));
			conf_lower(key);
			conf_scan_add(sc, section, sub, key, file, line);
			if (!strcmp(section, "include") && !sub &&
			    !strcmp(key, "path")) {
				const char *eq = strchr(q, '=');

				if (eq && (!eol || eq < eol)) {
					char *v = conf_scan_value(eq + 1);

					conf_scan_include(conf, sc, path, v,
							  depth);
					free(v);
				}
			}
			free(key);
			/* a trailing backslash continues the value */
			while (eol && eol > p && eol[-1] == '\\' && *next) {
				p = next;
				eol = strchr(p, '\n');
				next = eol ? eol + 1 : p + strlen(p);
				line++;
			}
		}
		p = next;
	}
	free(section);
	free(sub);
	buf_release(&text);
}

/* ---- libgit2 entries ---- */

struct conf_collect {
	struct conf *conf;
	struct conf_scan *sc;
};

static const struct conf_place *conf_find_place(const struct conf_scan *sc,
						const char *name, size_t nth)
{
	for (size_t i = 0; i < sc->n; i++) {
		if (sc->places[i].is_header || strcmp(sc->places[i].name, name))
			continue;
		if (nth-- == 0)
			return &sc->places[i];
	}
	return NULL;
}

static int conf_collect_cb(const git_config_entry *ge, void *payload)
{
	struct conf_collect *cc = payload;
	struct conf *conf = cc->conf;
	const char *first = strchr(ge->name, '.');
	const char *last = strrchr(ge->name, '.');
	const struct conf_place *pl;
	struct conf_entry *e;
	size_t nth = 0;

	if (!first)
		return 0;
	for (size_t i = 0; i < conf->n; i++) {
		const struct conf_entry *o = &conf->entries[i];
		char *oname = o->sub ? xasprintf("%s.%s.%s", o->section,
						 o->sub, o->key)
				     : xasprintf("%s.%s", o->section, o->key);

		if (!strcmp(oname, ge->name))
			nth++;
		free(oname);
	}
	XGROW(conf->entries, conf->alloc, conf->n + 1);
	e = &conf->entries[conf->n++];
	e->section = xstrndup(ge->name, (size_t)(first - ge->name));
	e->sub = first == last ? NULL
			       : xstrndup(first + 1, (size_t)(last - first - 1));
	e->key = xstrdup(last + 1);
	e->value = xstrdup(ge->value ? ge->value : "");
	pl = conf_find_place(cc->sc, ge->name, nth);
	e->file = pl ? pl->file : conf->path;
	e->line = pl ? pl->line : 0;
	return 0;
}

/* libgit2 says "... (in FILE:LINE, column C)"; we say "FILE:LINE: ...". */
static void conf_diag_git(struct conf_diag *d, const char *path)
{
	const git_error *ge = git_error_last();
	const char *msg = ge && ge->message ? ge->message : "unknown error";
	const char *in = strstr(msg, " (in ");
	char file[4096];
	int line;

	if (in && sscanf(in, " (in %4095[^:]:%d", file, &line) == 2) {
		conf_diag_add(d, file, line, "%.*s", (int)(in - msg), msg);
		return;
	}
	conf_diag_add(d, path, 0, "%s", msg);
}

/* ---- sections ---- */

static struct conf_section *conf_section_get(struct conf *conf,
					     const char *name, const char *sub)
{
	struct conf_section *s;

	for (size_t i = 0; i < conf->nsections; i++) {
		s = &conf->sections[i];
		if (!strcmp(s->name, name) &&
		    ((!s->sub && !sub) || (s->sub && sub && !strcmp(s->sub, sub))))
			return s;
	}
	XGROW(conf->sections, conf->sections_alloc, conf->nsections + 1);
	s = &conf->sections[conf->nsections++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->sub = xstrdup_or_null(sub);
	return s;
}

static const struct conf_key *conf_key_def(const struct conf_section_def *d,
					   const char *key)
{
	for (const struct conf_key *k = d->keys; k->name; k++)
		if (!strcmp(k->name, key))
			return k;
	return NULL;
}

char *conf_choices_text(const char *const *choices)
{
	struct buf b = BUF_INIT;
	size_t n = 0;

	while (choices[n])
		n++;
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addstr(&b, i + 1 == n ? " or " : ", ");
		buf_addstr(&b, choices[i]);
	}
	return buf_detach(&b);
}

static int conf_in_choices(const char *const *choices, const char *v)
{
	for (; *choices; choices++)
		if (!strcmp(*choices, v))
			return 1;
	return 0;
}

static int conf_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || !isalnum((unsigned char)s[0]))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-+", *s))
			return 0;
	return 1;
}

static void conf_check_value(const struct conf_section *s,
			     const struct conf_entry *e,
			     const struct conf_key *k, struct conf_diag *d)
{
	long v;

	switch (k->type) {
	case CONF_STRING:
		if (!e->value[0])
			conf_diag_entry(d, s, e, "empty value");
		break;
	case CONF_INT: {
		char *end;

		errno = 0;
		v = strtol(e->value, &end, 10);
		if (!e->value[0] || *end || errno)
			conf_diag_entry(d, s, e, "'%s' is not a number",
					e->value);
		else if (v < k->min || v > k->max)
			conf_diag_entry(d, s, e,
					"%ld is out of range (%ld to %ld)", v,
					k->min, k->max);
		break;
	}
	case CONF_ENUM:
		if (!conf_in_choices(k->choices, e->value)) {
			char *c = conf_choices_text(k->choices);

			conf_diag_entry(d, s, e, "unknown value '%s' (expected %s)",
					e->value, c);
			free(c);
		}
		break;
	case CONF_LIST: {
		struct vec words = VEC_INIT;

		vec_split(&words, e->value);
		if (!words.n)
			conf_diag_entry(d, s, e, "empty value");
		for (size_t i = 0; k->choices && i < words.n; i++)
			if (!conf_in_choices(k->choices, words.v[i])) {
				char *c = conf_choices_text(k->choices);

				conf_diag_entry(d, s, e,
						"unknown value '%s' (expected %s)",
						words.v[i], c);
				free(c);
			}
		for (size_t i = 0; i < words.n; i++)
			for (size_t j = 0; j < i; j++)
				if (!strcmp(words.v[i], words.v[j])) {
					conf_diag_entry(d, s, e,
							"'%s' listed twice",
							words.v[i]);
					break;
				}
		vec_clear(&words);
		break;
	}
	case CONF_BOOL:
		if (git_config_parse_bool((int[]){ 0 }, e->value) < 0)
			conf_diag_entry(d, s, e, "'%s' is not a boolean",
					e->value);
		break;
	case CONF_DURATION:
		if (strnum_duration(e->value, k->min, k->max, &v) < 0)
			conf_diag_entry(d, s, e,
					"'%s' is not a duration from %lds to %lds (seconds, or with s, m, h, d)",
					e->value, k->min, k->max);
		break;
	}
}

static void conf_validate(struct conf *conf,
			  const struct conf_section_def *defs,
			  struct conf_diag *d)
{
	for (size_t i = 0; i < conf->nsections; i++) {
		struct conf_section *s = &conf->sections[i];
		const struct conf_section_def *def = NULL;

		if (!strcmp(s->name, "include") || !strcmp(s->name, "includeif"))
			continue;
		for (const struct conf_section_def *sd = defs; sd->name; sd++)
			if (!strcmp(sd->name, s->name))
				def = sd;
		if (!def) {
			conf_diag_add(d, s->file, s->line, "unknown section [%s]",
				      s->name);
			continue;
		}
		if (def->named && !s->sub) {
			conf_diag_add(d, s->file, s->line,
				      "[%s] needs a name: [%s \"NAME\"]",
				      s->name, s->name);
			continue;
		}
		if (!def->named && s->sub) {
			conf_diag_add(d, s->file, s->line,
				      "[%s] takes no name", s->name);
			continue;
		}
		if (s->sub && !conf_valid_name(s->sub)) {
			conf_diag_section(d, s,
					  "invalid name (letters, digits and ._-+, at most 64)");
			continue;
		}
		s->def = def;
		for (size_t j = 0; j < s->n; j++) {
			const struct conf_entry *e = s->entries[j];
			const struct conf_key *k = conf_key_def(def, e->key);

			if (!k) {
				conf_diag_entry(d, s, e, "unknown key");
				continue;
			}
			if (!(k->flags & CONF_MULTIVAR)) {
				const struct conf_entry *prev = NULL;

				for (size_t m = 0; m < j && !prev; m++)
					if (!strcmp(s->entries[m]->key, e->key))
						prev = s->entries[m];
				/* the other file too, when it is another */
				if (prev && prev->file && e->file &&
				    strcmp(prev->file, e->file))
					conf_diag_entry(d, s, e,
							"set twice (first at %s:%d)",
							prev->file, prev->line);
				else if (prev)
					conf_diag_entry(d, s, e,
							"set twice (first at line %d)",
							prev->line);
				if (prev)
					continue;
			}
			conf_check_value(s, e, k, d);
		}
		for (const struct conf_key *k = def->keys; k->name; k++)
			if ((k->flags & CONF_REQUIRED) && !conf_entry_of(s, k->name))
				conf_diag_section(d, s, "missing key '%s'",
						  k->name);
	}
}

int conf_read(const char *path, const struct conf_section_def *defs,
	      struct conf *conf, struct conf_diag *diag)
{
	struct conf_scan sc = { NULL, 0, 0 };
	struct conf_collect cc = { conf, &sc };
	size_t before = diag->msgs.n;
	git_config *cfg = NULL;

	memset(conf, 0, sizeof(*conf));
	conf->path = xstrdup(path);
	git_libgit2_init();
	if (access(path, R_OK) < 0) {
		conf_diag_add(diag, path, 0, "cannot read: %s", strerror(errno));
		goto out;
	}
	conf_scan_file(conf, &sc, path, 0);
	if (git_config_open_ondisk(&cfg, path) < 0 ||
	    git_config_foreach(cfg, conf_collect_cb, &cc) < 0) {
		conf_diag_git(diag, path);
		goto out;
	}
	/* Sections: headers first (so empty sections exist), then entries. */
	for (size_t i = 0; i < sc.n; i++) {
		const struct conf_place *p = &sc.places[i];
		struct conf_section *s;

		if (!p->is_header)
			continue;
		s = conf_section_get(conf, p->section, p->sub);
		if (!s->line) {
			s->file = p->file;
			s->line = p->line;
		} else if (p->sub && strcmp(p->section, "include") &&
			   strcmp(p->section, "includeif")) {
			conf_diag_add(diag, p->file, p->line,
				      "duplicate %s '%s' (first at %s:%d)",
				      p->section, p->sub, s->file, s->line);
		}
	}
	for (size_t i = 0; i < conf->n; i++) {
		struct conf_entry *e = &conf->entries[i];
		struct conf_section *s = conf_section_get(conf, e->section,
							  e->sub);

		if (!s->file)
			s->file = e->file;
		XGROW(s->entries, s->alloc, s->n + 1);
		s->entries[s->n++] = e;
	}
	conf_validate(conf, defs, diag);
out:
	for (size_t i = 0; i < sc.n; i++) {
		free(sc.places[i].name);
		free(sc.places[i].section);
		free(sc.places[i].sub);
	}
	free(sc.places);
	git_config_free(cfg);
	git_libgit2_shutdown();
	return diag->msgs.n == before ? 0 : -1;
}

void conf_release(struct conf *conf)
{
	for (size_t i = 0; i < conf->n; i++) {
		free(conf->entries[i].section);
		free(conf->entries[i].sub);
		free(conf->entries[i].key);
		free(conf->entries[i].value);
	}
	free(conf->entries);
	for (size_t i = 0; i < conf->nsections; i++) {
		free(conf->sections[i].name);
		free(conf->sections[i].sub);
		free(conf->sections[i].entries);
	}
	free(conf->sections);
	vec_clear(&conf->files);
	free(conf->path);
	memset(conf, 0, sizeof(*conf));
}

const struct conf_entry *conf_entry_of(const struct conf_section *s,
				       const char *key)
{
	for (size_t i = s->n; i-- > 0;)
		if (!strcmp(s->entries[i]->key, key))
			return s->entries[i];
	return NULL;
}

const char *conf_get(const struct conf_section *s, const char *key)
{
	const struct conf_entry *e;
	const struct conf_key *k;

	if (!s)
		return NULL;   /* a section the file does not have */
	e = conf_entry_of(s, key);
	if (e)
		return e->value;
	if (!s->def)
		return NULL;
	k = conf_key_def(s->def, key);
	return k ? k->def : NULL;
}

void conf_get_all(const struct conf_section *s, const char *key,
		  struct vec *out)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->entries[i]->key, key))
			vec_push(out, s->entries[i]->value);
}

long conf_get_long(const struct conf_section *s, const char *key, long def)
{
	const char *v = conf_get(s, key);

	return v ? strtol(v, NULL, 10) : def;
}

long conf_get_duration(const struct conf_section *s, const char *key,
		       long def)
{
	const char *v = conf_get(s, key);
	long out;

	if (!v || strnum_duration(v, 0, LONG_MAX, &out) < 0)
		return def;
	return out;
}

int conf_get_bool(const struct conf_section *s, const char *key, int def)
{
	const char *v = conf_get(s, key);
	int b;

	if (!v || git_config_parse_bool(&b, v) < 0)
		return def;
	return b;
}
