/*
 * strnum.h: number parsing with range checks, in place of atoi.
 */
#ifndef HANGAR_STRNUM_H
#define HANGAR_STRNUM_H

/* Parses all of s as a base-10 integer in [min, max]; 0 or -1. */
int strnum_long(const char *s, long min, long max, long *out);
int strnum_int(const char *s, int min, int max, int *out);
/*
 * Parses a duration: "90", "90s", "15m", "2h", "1d" (seconds result) in
 * [min, max] seconds; 0 or -1.
 */
int strnum_duration(const char *s, long min, long max, long *out);

#endif
