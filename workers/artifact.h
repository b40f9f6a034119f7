/*
 * artifact.h: the artifact store: build outputs kept by content (sha256)
 * under STATE/artifacts, so identical files are stored once and any later
 * flight (a test of another flight, a bisection) can use an earlier build.
 * Files in the store are never modified: written to a temporary file in
 * the store's own directory, hashed, then renamed into place.
 */
#ifndef HANGAR_ARTIFACT_H
#define HANGAR_ARTIFACT_H

#include "err.h"

/* STATE/artifacts/sha256/ab/abcdef... (caller frees). */
char *artifact_path(const char *state, const char *sha256);
/* A new temporary file name inside the store (caller frees); its
 * directory exists. */
char *artifact_tmp_path(const char *state, struct err *err);
/* The sha256 (hex, 65 bytes with NUL) and size of a file. */
int artifact_hash_file(const char *path, char sha256[65], long long *size,
		       struct err *err);
/* Moves tmp into the store (dropping it when the content is already
 * there); gives its digest and size. */
int artifact_store(const char *state, const char *tmp, char sha256[65],
		   long long *size, struct err *err);

#endif
