/*
 * gitx.c: libgit2 for the trees under test. Every libgit2 error is turned
 * into a struct err here (gitx_err), nowhere else.
 */
#include <git2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "gitx.h"
#include "tar.h"
#include "xalloc.h"
#include "banned.h"

static pthread_once_t gitx_once = PTHREAD_ONCE_INIT;

static void gitx_init_once(void)
{
	git_libgit2_init();
}

static int gitx_err(struct err *err, int code, const char *what)
{
	const git_error *e = git_error_last();

	return err_set(err, code, "%s: %s", what,
		       e && e->message ? e->message : "unknown libgit2 error");
}

/* Opens (creating) the bare cache; holds its lock in *lockfd. */
static int gitx_open(const char *cache_dir, git_repository **repo,
		     int *lockfd, struct err *err)
{
	char *lock = xasprintf("%s.lock", cache_dir);
	char *parent = xstrdup(cache_dir);
	char *slash = strrchr(parent, '/');
	int rc = 0;

	pthread_once(&gitx_once, gitx_init_once);
	*repo = NULL;
	if (slash && slash != parent) {
		*slash = '\0';
		if (fs_mkdir_p(parent, 0755, err) < 0) {
			rc = err->code;
			goto out;
		}
	}
	*lockfd = fs_lock(lock, 0, err);
	if (*lockfd < 0) {
		rc = *lockfd;
		goto out;
	}
	if (git_repository_open_bare(repo, cache_dir) < 0 &&
	    git_repository_init(repo, cache_dir, 1) < 0) {
		rc = gitx_err(err, ERR_FAIL, cache_dir);
		close(*lockfd);
		*lockfd = -1;
	}
out:
	free(lock);
	free(parent);
	return rc;
}

static void gitx_close(git_repository *repo, int lockfd)
{
	git_repository_free(repo);
	if (lockfd >= 0)
		close(lockfd);
}

/* Mirrors url's branches and tags into the cache. */
static int gitx_fetch(git_repository *repo, const char *url, struct err *err)
{
	char heads[] = "+refs/heads/*:refs/heads/*";
	char tags[] = "+refs/tags/*:refs/tags/*";
	char *specs[] = { heads, tags };
	const git_strarray refspecs = { specs, 2 };
	git_fetch_options opts;
	git_remote *remote = NULL;
	int rc = 0;

	git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
	git_remote_create_options ropts;

	/* skipping url.*.insteadOf also skips a regex libgit2 1.5 leaks */
	git_remote_create_options_init(&ropts, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ropts.repository = repo;
	ropts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
		      GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(&remote, url, &ropts) < 0)
		return gitx_err(err, ERR_FAIL, url);
	opts.prune = GIT_FETCH_PRUNE;
	opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if (git_remote_fetch(remote, &refspecs, &opts, NULL) < 0)
		rc = gitx_err(err, ERR_FAIL, "fetch");
	git_remote_free(remote);
	if (rc < 0)
		err_prefix(err, "%s", url);
	return rc;
}

static int gitx_is_sha(const char *rev)
{
	return strlen(rev) == 40 && strspn(rev, "0123456789abcdef") == 40;
}

/* The commit rev names in the cache, fetching first if needed. */
static int gitx_commit(git_repository *repo, const char *url, const char *rev,
		       git_commit **commit, struct err *err)
{
	git_object *obj = NULL;
	int fetched = 0;

	*commit = NULL;
	/* a name may have moved: always fetch; an id is fetched if missing */
	if (!gitx_is_sha(rev)) {
		if (gitx_fetch(repo, url, err) < 0)
			return err->code;
		fetched = 1;
	}
	for (;;) {
		if (git_revparse_single(&obj, repo, rev) == 0)
			break;
		if (fetched)
			return err_set(err, ERR_NOTFOUND, "%s: no revision '%s'",
				       url, rev);
		if (gitx_fetch(repo, url, err) < 0)
			return err->code;
		fetched = 1;
	}
	if (git_object_peel((git_object **)commit, obj, GIT_OBJECT_COMMIT) < 0) {
		git_object_free(obj);
		return gitx_err(err, ERR_NOTFOUND, rev);
	}
	git_object_free(obj);
	return 0;
}

int gitx_resolve(const char *cache_dir, const char *url, const char *rev,
		 char sha[41], struct err *err)
{
	git_repository *repo;
	git_commit *commit;
	int lockfd, rc;

	rc = gitx_open(cache_dir, &repo, &lockfd, err);
	if (rc < 0)
		return rc;
	rc = gitx_commit(repo, url, rev, &commit, err);
	if (rc == 0) {
		git_oid_tostr(sha, 41, git_commit_id(commit));
		git_commit_free(commit);
	}
	gitx_close(repo, lockfd);
	return rc;
}

struct gitx_walk {
	git_repository *repo;
	struct tar *tar;
	struct err *err;
	long files;
	int rc;
};

static int gitx_walk_entry(const char *root, const git_tree_entry *entry,
			   void *payload)
{
	struct gitx_walk *w = payload;
	git_filemode_t mode = git_tree_entry_filemode(entry);
	char *path = xasprintf("%s%s", root, git_tree_entry_name(entry));
	git_blob *blob = NULL;
	int rc = 0;

	switch (mode) {
	case GIT_FILEMODE_TREE:
		rc = tar_add_dir(w->tar, path, w->err);
		break;
	case GIT_FILEMODE_BLOB:
	case GIT_FILEMODE_BLOB_EXECUTABLE:
	case GIT_FILEMODE_LINK:
		if (git_blob_lookup(&blob, w->repo, git_tree_entry_id(entry)) < 0) {
			rc = gitx_err(w->err, ERR_FAIL, path);
			break;
		}
		if (mode == GIT_FILEMODE_LINK) {
			char *target = xstrndup(git_blob_rawcontent(blob),
						(size_t)git_blob_rawsize(blob));

			rc = tar_add_symlink(w->tar, path, target, w->err);
			free(target);
		} else {
			rc = tar_add_file(w->tar, path,
					  mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644,
					  git_blob_rawcontent(blob),
					  (size_t)git_blob_rawsize(blob), w->err);
			w->files++;
		}
		git_blob_free(blob);
		break;
	default:
		break;   /* submodules: not part of this tree's sources */
	}
	free(path);
	if (rc < 0) {
		w->rc = rc;
		return -1;
	}
	return 0;
}

int gitx_export_tar(const char *cache_dir, const char *url, const char *sha,
		    const char *tar_path, long *files, struct err *err)
{
	git_repository *repo;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	struct gitx_walk w = { 0 };
	struct tar tar;
	char *tmp = xasprintf("%s.tmp", tar_path);
	FILE *f = NULL;
	int lockfd, rc;

	rc = gitx_open(cache_dir, &repo, &lockfd, err);
	if (rc < 0)
		goto out;
	rc = gitx_commit(repo, url, sha, &commit, err);
	if (rc < 0)
		goto close;
	if (git_commit_tree(&tree, commit) < 0) {
		rc = gitx_err(err, ERR_FAIL, sha);
		goto close;
	}
	f = fopen(tmp, "wbe");
	if (!f) {
		rc = err_errno(err, ERR_FAIL, "%s", tmp);
		goto close;
	}
	tar_init(&tar, f, (time_t)git_commit_time(commit));
	w.repo = repo;
	w.tar = &tar;
	w.err = err;
	if (git_tree_walk(tree, GIT_TREEWALK_PRE, gitx_walk_entry, &w) < 0) {
		rc = w.rc ? w.rc : gitx_err(err, ERR_FAIL, "tree walk");
		goto close;
	}
	if (tar_finish(&tar, err) < 0) {
		rc = err->code;
		goto close;
	}
	if (fclose(f) != 0) {
		f = NULL;
		rc = err_errno(err, ERR_FAIL, "%s", tmp);
		goto close;
	}
	f = NULL;
	if (rename(tmp, tar_path) < 0) {
		rc = err_errno(err, ERR_FAIL, "rename %s", tmp);
		goto close;
	}
	if (files)
		*files = w.files;
close:
	if (f) {
		fclose(f);
		unlink(tmp);
	}
	git_tree_free(tree);
	git_commit_free(commit);
	gitx_close(repo, lockfd);
out:
	free(tmp);
	return rc;
}
