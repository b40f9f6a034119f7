/*
 * tmpfiles.h: files in a unit test's own temporary directory, for the
 * tests that read configuration files. The test fills tmpdir (mkdtemp)
 * before it calls these.
 */
#ifndef HANGAR_TEST_TMPFILES_H
#define HANGAR_TEST_TMPFILES_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

static char tmpdir[PATH_MAX];

/* NAME in tmpdir, a new string */
static char *path_of(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", tmpdir, name) < 0)
		fail_msg("out of memory");
	return p;
}

/* NAME in tmpdir holds TEXT, exactly */
static void write_file(const char *name, const char *text)
{
	char *path = path_of(name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0 || !*text, 1);
	assert_int_equal(fclose(f), 0);
	free(path);
}

#endif
