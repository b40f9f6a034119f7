/*
 * tar.h: writing tar archives (POSIX ustar, with GNU long-name records for
 * paths ustar cannot hold), for shipping a tree's exact sources to a build
 * host in one upload. Write-only; readers are GNU tar and busybox tar.
 */
#ifndef HANGAR_TAR_H
#define HANGAR_TAR_H

#include <stdio.h>
#include <time.h>

#include "err.h"

struct tar {
	FILE *f;
	time_t mtime;   /* for every entry: the commit's time */
	long long bytes;
};

/* Starts an archive on f (not owned). */
void tar_init(struct tar *t, FILE *f, time_t mtime);
/* A regular file of size bytes (mode 0644 or 0755). */
int tar_add_file(struct tar *t, const char *path, int mode,
		 const void *data, size_t size, struct err *err);
int tar_add_dir(struct tar *t, const char *path, struct err *err);
int tar_add_symlink(struct tar *t, const char *path, const char *target,
		    struct err *err);
/* The two zero blocks that end an archive; flushes f. */
int tar_finish(struct tar *t, struct err *err);

#endif
