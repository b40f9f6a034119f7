/*
 * conf.h: reading git-config syntax files (as libgit2 reads them),
 * checked against a table of known sections and keys (type, bounds, help),
 * with every error naming the file and line.
 */
#ifndef HANGAR_CONF_H
#define HANGAR_CONF_H

#include <stddef.h>

#include "vec.h"

enum conf_type {
	CONF_STRING,
	CONF_INT,     /* within [min, max] */
	CONF_ENUM,    /* one of choices */
	CONF_LIST,    /* space-separated words, each in choices if set */
	CONF_BOOL,
	CONF_DURATION, /* seconds, or with s, m, h, d; within [min, max] */
};

enum conf_flags {
	CONF_REQUIRED = 1 << 0,
	CONF_MULTIVAR = 1 << 1, /* may be given several times */
	CONF_SECRET = 1 << 2,   /* never printed back */
};

struct conf_key {
	const char *name;
	enum conf_type type;
	unsigned flags;
	long min, max;
	const char *const *choices; /* NULL-terminated */
	const char *def;            /* default, as text; NULL: none */
	const char *example;        /* value shown in the example file */
	const char *help;
};

struct conf_section_def {
	const char *name;
	int named;                  /* [name "sub"] rather than [name] */
	const struct conf_key *keys; /* terminated by a NULL name */
	const char *help;
};

struct conf_entry {
	char *section;   /* lower case */
	char *sub;       /* NULL for [section] */
	char *key;       /* lower case */
	char *value;     /* "" for a key with no "=" */
	const char *file;
	int line;        /* 0: not placed */
};

struct conf_section {
	char *name;
	char *sub;
	const char *file;
	int line;        /* of its first header; 0: not placed */
	const struct conf_section_def *def;
	struct conf_entry **entries;
	size_t n, alloc;
};

struct conf {
	char *path;
	struct vec files;    /* every file read, owning the strings */
	struct conf_entry *entries;
	size_t n, alloc;
	struct conf_section *sections;
	size_t nsections, sections_alloc;
};

struct conf_diag {
	struct vec msgs;     /* "file:line: message" each */
};

void conf_diag_init(struct conf_diag *d);
void conf_diag_release(struct conf_diag *d);
/* Adds a message placed at file:line (line 0: file only). */
void conf_diag_add(struct conf_diag *d, const char *file, int line,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Adds a message about a section ("host 'ruby': ...") or one of its keys. */
void conf_diag_section(struct conf_diag *d, const struct conf_section *s,
		       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void conf_diag_entry(struct conf_diag *d, const struct conf_section *s,
		     const struct conf_entry *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Reads path against the section table defs (terminated by a NULL name).
 * Problems are added to diag; returns 0 when there were none, else -1.
 * conf is filled as far as possible either way; release it.
 */
int conf_read(const char *path, const struct conf_section_def *defs,
	      struct conf *conf, struct conf_diag *diag);
/*
 * conf_read without the table: only the syntax, includes and sections.
 * Returns -1 when the file could not be read or parsed (conf then holds
 * what came before the error), else 0 (diag may hold other problems).
 */
int conf_parse(const char *path, struct conf *conf, struct conf_diag *diag);
/* A git boolean (true/yes/on, false/no/off/"", a number): 0, or -1. */
int conf_parse_bool(const char *v, int *out);
void conf_release(struct conf *conf);

/* The last value of key in s, or its default, or NULL. */
const char *conf_get(const struct conf_section *s, const char *key);
/* The entry of the last value of key, or NULL. */
const struct conf_entry *conf_entry_of(const struct conf_section *s,
				       const char *key);
/* Every value of a multivar, in order, pushed to out. */
void conf_get_all(const struct conf_section *s, const char *key,
		  struct vec *out);
/* An int key that conf_read validated; def when absent. */
long conf_get_long(const struct conf_section *s, const char *key, long def);
int conf_get_bool(const struct conf_section *s, const char *key, int def);
/* A CONF_DURATION value in seconds. */
long conf_get_duration(const struct conf_section *s, const char *key,
		       long def);

/* "one, two or three" for a choices list; caller frees. */
char *conf_choices_text(const char *const *choices);

#endif
