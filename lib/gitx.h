/*
 * gitx.h: the trees under test through libgit2: a local cache of each
 * tree (a bare repository under STATE/git), resolving revisions to exact
 * commits, exporting a commit's files as a tar archive, the revision log
 * between two commits, and fast-forwarding a branch (the gate's push).
 * Safe to call from several threads and processes at once (a lock per
 * tree cache).
 */
#ifndef HANGAR_GITX_H
#define HANGAR_GITX_H

#include "err.h"

struct buf;

/*
 * The private key file that fetches and pushes of ssh:// URLs log in with
 * when the caller gives none (the lab's [lab] identity), or NULL. Set it
 * once, before any other gitx call.
 */
void gitx_set_identity(const char *identity);

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

/*
 * Appends to out the bytes of the file at path (relative to the tree's
 * root) in commit sha, fetched like gitx_resolve if missing (url NULL:
 * from the cache alone). ERR_NOTFOUND: no such commit or file; ERR_USAGE:
 * the file is larger than out's cap.
 */
int gitx_read_file(const char *cache_dir, const char *url, const char *sha,
		   const char *path, struct buf *out, struct err *err);

/*
 * The fresh value of branch ref ("master" or "refs/heads/master") of the
 * tree at url: always fetches first. Unlike gitx_resolve("master"), a tag
 * of the same name is never taken. ERR_NOTFOUND when there is no such
 * branch, ERR_USAGE when ref is not a branch name.
 */
int gitx_ref(const char *cache_dir, const char *url, const char *ref,
	     char sha[41], struct err *err);

/*
 * *yes = 1 when commit ancestor is descendant or one of its ancestors,
 * else 0; both revisions fetched like gitx_resolve if missing.
 * ERR_NOTFOUND when the tree lacks either revision.
 */
int gitx_is_ancestor(const char *cache_dir, const char *url,
		     const char *ancestor, const char *descendant, int *yes,
		     struct err *err);

/*
 * Appends to out the log of old_sha..new_sha (the commits reachable from
 * new and not from old, merges included, newest first in topological and
 * time order) exactly as `git log` prints it in its medium format, for the
 * gate's mail. The revisions are fetched like gitx_resolve if missing;
 * url NULL: from the cache alone, nothing fetched and no cache made
 * (ERR_NOTFOUND when it has not both).
 * A listing longer than max_lines (<= 0: no limit) or than out's cap is
 * not worth reading in a mail (OSSTest drops it too): out keeps none of
 * it, *truncated = 1 and 0 is returned. ERR_NOTFOUND: no such revision.
 */
int gitx_log(const char *cache_dir, const char *url, const char *old_sha,
	     const char *new_sha, int max_lines, struct buf *out,
	     int *truncated, struct err *err);

/*
 * Moves branch ref ("master" or "refs/heads/master") of the tree at url
 * to commit new_sha (a full id, which a fetch of url must provide), only
 * as a fast-forward: checked here before pushing, and pushed without
 * force, so the remote refuses too if the branch moved meanwhile (except
 * a local path url: libgit2 updates that one without comparing). The
 * branch's value comes from the remote at connection time.
 * ssh:// URLs log in with the private key file identity (and its .pub,
 * if any) as the URL's user, else root, accepting any host key; https
 * takes the URL's user:password, if any.
 * Appends git push's summary ("To URL\n   OLD..NEW  NEW_SHA -> BRANCH\n",
 * no password) to out, or "already up to date\n" when the branch is
 * new_sha already (0 is returned, whatever expect_old). Errors:
 *  ERR_EXISTS   expect_old is not NULL and the branch is elsewhere, not
 *               at new_sha (the caller starts a new cycle from it);
 *  ERR_FAIL     new_sha does not descend from the branch, the remote
 *               refused the push (its reason in the message), or another
 *               failure;
 *  ERR_RETRY    the remote could not be reached (fetch, connect, the
 *               push's transport), or the branch moved between fetch
 *               and push: try again later;
 *  ERR_NOTFOUND no such branch (a push never creates one) or commit;
 *  ERR_USAGE    ref is not a branch name or new_sha not a full id.
 * The cache's copy of the branch is updated too, for gitx_resolve.
 */
int gitx_push_ff(const char *cache_dir, const char *url, const char *ref,
		 const char *expect_old, const char *new_sha,
		 const char *identity, struct buf *out, struct err *err);

/* A commit of a history, with its parents as indexes into the list. */
struct gitx_commit {
	char sha[41];
	long time;                 /* committer time, seconds */
	size_t parents[2];         /* the first two parents that are listed */
	size_t nparents;
	char *author, *subject;
};

/*
 * The commits reachable from failure and not from basis, children before
 * parents, then basis itself last (fetching them as gitx_resolve does).
 * ERR_USAGE when there are more than max; ERR_NOTFOUND for an unknown
 * revision. Free with gitx_history_free.
 */
int gitx_history(const char *cache_dir, const char *url, const char *basis,
		 const char *failure, size_t max, struct gitx_commit **out,
		 size_t *n, struct err *err);
void gitx_history_free(struct gitx_commit *c, size_t n);

#endif
