/*
 * conf.c: the table-driven configuration reader. Its parser reads the
 * syntax exactly as libgit2 does (comments, quoting, continuation lines,
 * includes, multivars), and keeps the line of every entry and section
 * header so that every problem can point at its line.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "strnum.h"
#include "xalloc.h"
#include "banned.h"

#define CONF_MAX_INCLUDE_DEPTH 10
#define CONF_MAX_FILE (4 << 20)

/* Where a section header is. */
struct conf_place {
	char *section;
	char *sub;
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

/* ---- section headers, in the order seen ---- */

static void conf_scan_add(struct conf_scan *sc, const char *section,
			  const char *sub, const char *file, int line)
{
	struct conf_place *p;

	XGROW(sc->places, sc->alloc, sc->n + 1);
	p = &sc->places[sc->n++];
	p->section = xstrdup(section);
	p->sub = xstrdup_or_null(sub);
	p->file = file;
	p->line = line;
}

static void conf_lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* ---- the parser: git-config syntax, read as libgit2 reads it ---- */

/*
 * Ours rather than libgit2's because git_libgit2_init() loads every CA
 * certificate (10-20 ms) and every command reads its configuration. It
 * reads a line at a time as libgit2 1.5 does, quirks included (a comment
 * is cut before the value is unescaped; an unclosed quote ends with the
 * line; a blank line inside a continued value is skipped): test-conf
 * compares the two on fixed and random files.
 */
struct conf_reader {
	struct conf *conf;
	struct conf_diag *diag;
	struct conf_scan *headers;
	const char *file;    /* owned by conf->files */
	const char *p;       /* the rest of the text */
	int line;
	char *section;       /* "name" or "name.sub"; NULL before the first */
};

static int conf_isspace(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' ||
	       c == '\v';
}

static int conf_keychar(int c)
{
	return isalnum((unsigned char)c) || c == '-';
}

/* The next line with its '\n' (a copy), or NULL at the end. */
static char *conf_next_line(struct conf_reader *r)
{
	const char *eol;
	char *line;

	if (!*r->p)
		return NULL;
	eol = strchr(r->p, '\n');
	eol = eol ? eol + 1 : r->p + strlen(r->p);
	line = xstrndup(r->p, (size_t)(eol - r->p));
	r->p = eol;
	r->line++;
	return line;
}

static int conf_syntax(struct conf_reader *r, const char *what)
{
	conf_diag_add(r->diag, r->file, r->line, "syntax error: %s", what);
	return -1;
}

/* Cuts an unquoted comment and trailing space; returns the quotes seen. */
static int conf_strip_comment(char *line, int quotes)
{
	int backslashes = 0;
	char *p;

	for (p = line; *p; p++) {
		if (*p == '"' && p > line && p[-1] != '\\')
			quotes++;
		if ((*p == ';' || *p == '#') && quotes % 2 == 0 &&
		    backslashes % 2 == 0)
			break;
		backslashes = *p == '\\' ? backslashes + 1 : 0;
	}
	while (p > line && conf_isspace(p[-1]))
		p--;
	*p = '\0';
	return quotes;
}

/* Appends s unescaped to b; *more when it ends in a lone backslash. */
static int conf_unescape(struct conf_reader *r, struct buf *b, const char *s,
			 int *more)
{
	static const char from[] = "ntb\"\\", to[] = "\n\t\b\"\\";

	*more = 0;
	for (; *s; s++) {
		const char *esc;

		if (*s == '"')
			continue;
		if (*s != '\\') {
			buf_addch(b, *s);
			continue;
		}
		if (!*++s) {
			*more = 1;
			return 0;
		}
		esc = strchr(from, *s);
		if (!esc)
			return conf_syntax(r, "invalid escape in a value");
		buf_addch(b, to[esc - from]);
	}
	return 0;
}

static int conf_read_file(struct conf_reader *r, const char *path, int depth);

static int conf_include(struct conf_reader *r, const char *value, int depth)
{
	const char *home = getenv("HOME");
	char *path;
	int rc;

	if (!*value)
		return 0;
	if (value[0] == '~' && value[1] == '/' && home) {
		path = xasprintf("%s/%s", home, value + 2);
	} else if (value[0] == '/') {
		path = xstrdup(value);
	} else {
		const char *slash = strrchr(r->file, '/');

		path = slash ? xasprintf("%.*s/%s", (int)(slash - r->file),
					 r->file, value)
			     : xstrdup(value);
	}
	rc = conf_read_file(r, path, depth + 1);
	free(path);
	return rc;
}

static void conf_add_entry(struct conf_reader *r, const char *key,
			   const char *value, int line)
{
	char *name = xasprintf("%s.%s", r->section, key);
	const char *first = strchr(name, '.');
	const char *last = strrchr(name, '.');
	struct conf_entry *e;

	conf_lower(name + strlen(r->section) + 1);
	XGROW(r->conf->entries, r->conf->alloc, r->conf->n + 1);
	e = &r->conf->entries[r->conf->n++];
	e->section = xstrndup(name, (size_t)(first - name));
	e->sub = first == last ? NULL
			       : xstrndup(first + 1, (size_t)(last - first - 1));
	e->key = xstrdup(last + 1);
	e->value = xstrdup(value ? value : "");
	e->file = r->file;
	e->line = line;
	free(name);
}

/* "key", "key = value" and its continuation lines, from line. */
static int conf_variable(struct conf_reader *r, const char *text, int depth)
{
	char *line = xstrdup(text);
	struct buf value = BUF_INIT;
	int quotes = conf_strip_comment(line, 0), in_quotes;
	const char *name_end = line, *v;
	int has_value = 0, more = 0, start = r->line, rc = -1;
	char *key = NULL;

	while (conf_keychar(*name_end))
		name_end++;
	if (name_end == line) {
		conf_syntax(r, "invalid configuration key");
		goto out;
	}
	for (v = name_end; conf_isspace(*v); v++)
		;
	if (*v == '=') {
		has_value = 1;
		for (v++; conf_isspace(*v); v++)
			;
		if (conf_unescape(r, &value, v, &more) < 0)
			goto out;
	} else if (*v) {
		conf_syntax(r, "invalid configuration key");
		goto out;
	}
	/* libgit2 carries the quotes seen from line to line */
	in_quotes = quotes % 2;
	while (more) {
		char *next = conf_next_line(r);

		if (!next)
			break;
		in_quotes = conf_strip_comment(next, in_quotes);
		if (*next && conf_unescape(r, &value, next, &more) < 0) {
			free(next);
			goto out;
		}
		free(next);
	}
	if (!r->section) {
		conf_syntax(r, "a key before any [section]");
		goto out;
	}
	key = xstrndup(line, (size_t)(name_end - line));
	conf_add_entry(r, key, has_value ? value.buf : NULL, start);
	rc = 0;
	conf_lower(key);
	if (has_value && !strcmp(r->section, "include") && !strcmp(key, "path"))
		rc = conf_include(r, value.buf, depth);
out:
	free(key);
	free(line);
	buf_release(&value);
	return rc;
}

/* Parses "[name]", "[name.sub]" or "[name \"sub\"]" at s into r->section;
 * returns the length read, or -1. */
static int conf_header(struct conf_reader *r, const char *s)
{
	struct buf name = BUF_INIT;
	const char *p = s + 1;
	int rc = -1;

	if (!strrchr(s, ']'))
		return conf_syntax(r, "missing ']' in section header");
	for (;; p++) {
		if (conf_isspace(*p)) {
			const char *last;

			while (conf_isspace(*p))
				p++;
			if (*p != '"') {
				conf_syntax(r, "missing quotation marks in section header");
				goto out;
			}
			last = strrchr(s, '"');
			if (last == p) {
				conf_syntax(r, "missing closing quotation mark in section header");
				goto out;
			}
			buf_addch(&name, '.');
			for (p++; p < last && *p != '"'; p++) {
				if (*p == '\\')
					p++;
				if (!*p || *p == '\n') {
					conf_syntax(r, "unexpected end of line in section header");
					goto out;
				}
				buf_addch(&name, *p);
			}
			if (p[0] != '"' || p[1] != ']') {
				conf_syntax(r, "unexpected character after the closing quotation mark");
				goto out;
			}
			p++;
			break;
		}
		if (*p == ']' && p > s + 1)
			break;
		if (!conf_keychar(*p) && *p != '.') {
			conf_syntax(r, "unexpected character in section header");
			goto out;
		}
		buf_addch(&name, tolower((unsigned char)*p));
	}
	free(r->section);
	r->section = buf_detach(&name);
	rc = (int)(p + 1 - s);
out:
	buf_release(&name);
	return rc;
}

static void conf_add_header(struct conf_reader *r)
{
	const char *dot = strchr(r->section, '.');
	char *section = dot ? xstrndup(r->section, (size_t)(dot - r->section))
			    : xstrdup(r->section);

	conf_scan_add(r->headers, section, dot ? dot + 1 : NULL, r->file,
		      r->line);
	free(section);
}

static int conf_parse_text(struct conf_reader *r, int depth)
{
	char *line;
	int rc = 0;

	if (!strncmp(r->p, "\xef\xbb\xbf", 3))
		r->p += 3;
	while (rc == 0 && (line = conf_next_line(r))) {
		const char *q = line;
		int after_header = 0;

		for (;;) {
			int n;

			while (*q != '\n' && conf_isspace(*q))
				q++;
			/* libgit2 takes a blank line for a key unless it
			 * starts with a space, tab, CR or LF */
			if ((!*q || *q == '\n') && !after_header &&
			    (*line == '\v' || *line == '\f')) {
				rc = conf_syntax(r, "invalid configuration key");
				break;
			}
			if (*q != '[') {
				if (*q && !strchr("\n;#", *q))
					rc = conf_variable(r, q, depth);
				break;
			}
			n = conf_header(r, q);
			if (n < 0) {
				rc = -1;
				break;
			}
			conf_add_header(r);
			q += n;
			after_header = 1;
		}
		free(line);
	}
	return rc;
}

/* Reads path into r->conf; a missing include is no error, as for git. */
static int conf_read_file(struct conf_reader *r, const char *path, int depth)
{
	struct conf_reader sub = *r;
	struct buf text;
	int rc = 0;

	if (depth >= CONF_MAX_INCLUDE_DEPTH)
		return conf_syntax(r, "includes nested too deep");
	buf_init(&text, CONF_MAX_FILE);
	if (buf_read_file(&text, path) < 0) {
		if (depth == 0 || errno != ENOENT) {
			conf_diag_add(r->diag, path, 0, "cannot read: %s",
				      strerror(errno));
			rc = -1;
		}
		goto out;
	}
	if (strlen(text.buf) != text.len) {
		conf_diag_add(r->diag, path, 0, "contains a NUL byte");
		rc = -1;
		goto out;
	}
	vec_push(&r->conf->files, path);
	sub.file = r->conf->files.v[r->conf->files.n - 1];
	sub.p = text.buf;
	sub.line = 0;
	sub.section = NULL;
	rc = conf_parse_text(&sub, depth);
	free(sub.section);
out:
	buf_release(&text);
	return rc;
}

int conf_parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off", "" };
	long long n;
	char *end;

	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		if (!strcasecmp(v, yes[i]))
			return *out = 1, 0;
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		if (!strcasecmp(v, no[i]))
			return *out = 0, 0;
	/* a number, as git takes it: base prefixes, a k, m or g factor */
	errno = 0;
	n = strtoll(v, &end, 0);
	if (end == v || errno)
		return -1;
	if (*end && strchr("kKmMgG", *end) && n != 0) {
		int shift = strchr("kK", *end) ? 10 : strchr("mM", *end) ? 20 : 30;

		if (llabs(n) > (INT_MAX >> shift))
			return -1;
		n *= 1LL << shift;
		end++;
	} else if (*end && strchr("kKmMgG", *end)) {
		end++;
	}
	if (*end || n < INT_MIN || n > INT_MAX)
		return -1;
	*out = n != 0;
	return 0;
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
		if (conf_parse_bool(e->value, (int[]){ 0 }) < 0)
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

int conf_parse(const char *path, struct conf *conf, struct conf_diag *diag)
{
	struct conf_scan sc = { NULL, 0, 0 };
	struct conf_reader r = { .conf = conf, .diag = diag, .headers = &sc };
	int rc = 0;

	memset(conf, 0, sizeof(*conf));
	conf->path = xstrdup(path);
	if (conf_read_file(&r, path, 0) < 0) {
		rc = -1;
		goto out;
	}
	/* Sections: headers first (so empty sections exist), then entries. */
	for (size_t i = 0; i < sc.n; i++) {
		const struct conf_place *p = &sc.places[i];
		struct conf_section *s = conf_section_get(conf, p->section,
							  p->sub);

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
out:
	for (size_t i = 0; i < sc.n; i++) {
		free(sc.places[i].section);
		free(sc.places[i].sub);
	}
	free(sc.places);
	return rc;
}

int conf_read(const char *path, const struct conf_section_def *defs,
	      struct conf *conf, struct conf_diag *diag)
{
	size_t before = diag->msgs.n;

	if (conf_parse(path, conf, diag) == 0)
		conf_validate(conf, defs, diag);
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

	if (!v || conf_parse_bool(v, &b) < 0)
		return def;
	return b;
}
