/*
 * gitx.h: the trees under test through libgit2: a local cache of each
 * tree (a bare repository under STATE/git), resolving revisions to exact
 * commits, and exporting a commit's files as a tar archive. Safe to call
 * from several threads and processes at once (a lock per tree cache).
 */
#ifndef HANGAR_GITX_H
#define HANGAR_GITX_H

#include "err.h"

/*
 * Resolves rev (a commit id, a branch or tag name, anything git rev-parse
 * takes) of the tree at url to the full id of its commit, in sha (41
 * bytes). Fetches from url into cache_dir (created as needed) first when
 * rev is a name, or an id the cache does not have. ERR_NOTFOUND when the
 * tree has no such revision.
 */
int gitx_resolve(const char *cache_dir, const char *url, const char *rev,
		 char sha[41], struct err *err);

/*
 * Writes the files of commit sha (fetched like gitx_resolve if missing)
 * to a tar archive at tar_path, every entry dated with the commit time;
 * submodules are left out. *files gets the number of files when not NULL.
 */
int gitx_export_tar(const char *cache_dir, const char *url, const char *sha,
		    const char *tar_path, long *files, struct err *err);

#endif
