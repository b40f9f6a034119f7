/*
 * secret.h: random tokens and their SHA-256, for API tokens, sessions and
 * one-time install tokens; the SHA-256 of files, for evidence records.
 */
#ifndef HANGAR_SECRET_H
#define HANGAR_SECRET_H

#include <stddef.h>

/* nbytes random bytes as 2*nbytes hex digits into out (2*nbytes+1 long);
 * 0, or -1 with errno. */
int secret_random_hex(char *out, size_t nbytes);
/* The SHA-256 of len bytes of p as 64 hex digits and a NUL. */
void secret_sha256_hex(const void *p, size_t len, char out[65]);
/*
 * The SHA-256 of the regular file at path (hex, as above) and its size;
 * 0, or -1 with errno (ENOENT: no such file; ELOOP: a symbolic link;
 * EINVAL: not a regular file).
 */
int secret_sha256_file(const char *path, char out[65], long long *size);
/* Compares two strings in time independent of where they differ. */
int secret_equal(const char *a, const char *b);

#endif
