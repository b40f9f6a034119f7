/*
 * fsutil.h: small file-system helpers.
 */
#ifndef HANGAR_FSUTIL_H
#define HANGAR_FSUTIL_H

#include <sys/types.h>

#include "err.h"

/* mkdir -p with mode for the directories it creates. */
int fs_mkdir_p(const char *path, mode_t mode, struct err *err);
/*
 * Takes an exclusive flock on path (created if needed). Blocking or not;
 * returns the fd (kept open to hold the lock), ERR_EXISTS when held
 * elsewhere and nonblocking, or another negative error.
 */
int fs_lock(const char *path, int nonblocking, struct err *err);
/* Writes a whole file atomically (temp file + rename). */
int fs_write_file(const char *path, const char *data, size_t len,
		  mode_t mode, struct err *err);
/* Copies the file src to dst atomically (temp file + rename), as mode. */
int fs_copy_file(const char *src, const char *dst, mode_t mode,
		 struct err *err);
/*
 * Copies the tree src into dst (made if needed): directories, regular
 * files with their modes, symbolic links as links. For a tree being
 * written to: a file is copied as it stands when read, one that vanished
 * meanwhile is left out, and *files (if not NULL) counts those copied.
 */
int fs_copy_tree(const char *src, const char *dst, long *files,
		 struct err *err);
int fs_exists(const char *path);
/* Absolute form of path (which need not exist); caller frees. */
char *fs_absolute(const char *path);

#endif
