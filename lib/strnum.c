/*
 * strnum.c: strict number parsing.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "strnum.h"
#include "banned.h"

static int strnum_prefix(const char *s, long min, long max, long *out,
			 char **end)
{
	long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, end, 10);
	if (errno || *end == s || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int strnum_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (strnum_prefix(s, min, max, &v, &end) < 0 || *end)
		return -1;
	*out = v;
	return 0;
}

int strnum_int(const char *s, int min, int max, int *out)
{
	long v;

	if (strnum_long(s, min, max, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

int strnum_duration(const char *s, long min, long max, long *out)
{
	char *end;
	long v, mult = 1;

	if (strnum_prefix(s, 0, LONG_MAX / 86400, &v, &end) < 0)
		return -1;
	if (*end) {
		if (end[1])
			return -1;
		switch (*end) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		default: return -1;
		}
	}
	v *= mult;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}
