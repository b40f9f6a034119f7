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
#include "strmap.h"
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
	*lockfd = -1;
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

/* As gitx_open for reading what the cache has: one that does not exist
 * is ERR_NOTFOUND, and not made. */
static int gitx_open_existing(const char *cache_dir, git_repository **repo,
			      int *lockfd, struct err *err)
{
	*repo = NULL;
	*lockfd = -1;
	if (!fs_exists(cache_dir))
		return err_set(err, ERR_NOTFOUND, "%s: no such cache", cache_dir);
	return gitx_open(cache_dir, repo, lockfd, err);
}

static void gitx_close(git_repository *repo, int lockfd)
{
	git_repository_free(repo);
	if (lockfd >= 0)
		close(lockfd);
}

/*
 * The state of one remote operation's callbacks. For ssh: the private key
 * file (NULL: none). For a push: the ref pushed and the remote's answer.
 */
struct gitx_cb {
	const char *identity;
	int key_tried;
	const char *ref;
	int reported;
	char rejected[256];   /* the remote's refusal, or "" */
};

/*
 * ssh: the key file identity (with its .pub beside it, if any) as the
 * URL's user, else root. https needs nothing from us: libgit2 presents
 * the URL's user:password itself before asking.
 */
static int gitx_credentials(git_credential **out, const char *url,
			    const char *user, unsigned int allowed,
			    void *payload)
{
	struct gitx_cb *cb = payload;
	char *pub;
	int rc;

	(void)url;
	if (!user)
		user = "root";
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user);
	if (!(allowed & GIT_CREDENTIAL_SSH_KEY) || !cb->identity)
		return GIT_PASSTHROUGH;
	/* libgit2 asks again after a refusal, forever: one try */
	if (cb->key_tried++) {
		pub = xasprintf("key %s refused for %s", cb->identity, user);
		git_error_set_str(GIT_ERROR_SSH, pub);
		free(pub);
		return GIT_EAUTH;
	}
	pub = xasprintf("%s.pub", cb->identity);
	rc = git_credential_ssh_key_new(out, user,
					access(pub, R_OK) == 0 ? pub : NULL,
					cb->identity, NULL);
	free(pub);
	return rc;
}

/*
 * Any SSH host key is accepted: the lab trusts the git hosts its admin
 * configured (test hosts' keys are pinned, in hosts/ssh.c, not these).
 * TLS certificates are left to libgit2's own verification.
 */
static int gitx_certificate_check(git_cert *cert, int valid, const char *host,
				  void *payload)
{
	(void)valid;
	(void)host;
	(void)payload;
	return cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2 ? 0 : GIT_PASSTHROUGH;
}

/* Records the remote's answer for the pushed ref (status NULL: taken). */
static int gitx_push_status(const char *refname, const char *status,
			    void *payload)
{
	struct gitx_cb *cb = payload;

	if (cb->ref && strcmp(refname, cb->ref) == 0) {
		cb->reported = 1;
		if (status)
			snprintf(cb->rejected, sizeof(cb->rejected), "%s", status);
	}
	return 0;
}

/* Callbacks for one connection: each gets its own single key try. */
static void gitx_callbacks(git_remote_callbacks *cbs, struct gitx_cb *cb)
{
	git_remote_init_callbacks(cbs, GIT_REMOTE_CALLBACKS_VERSION);
	cb->key_tried = 0;
	cbs->credentials = gitx_credentials;
	cbs->certificate_check = gitx_certificate_check;
	cbs->push_update_reference = gitx_push_status;
	cbs->payload = cb;
}

/* An in-memory remote for url, with no refspecs of its own. */
static int gitx_remote_new(git_repository *repo, const char *url,
			   git_remote **remote, struct err *err)
{
	git_remote_create_options ropts;

	/* skipping url.*.insteadOf also skips a regex libgit2 1.5 leaks */
	git_remote_create_options_init(&ropts, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ropts.repository = repo;
	ropts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
		      GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(remote, url, &ropts) < 0)
		return gitx_err(err, ERR_FAIL, url);
	return 0;
}

static char *gitx_identity;

void gitx_set_identity(const char *identity)
{
	free(gitx_identity);
	gitx_identity = xstrdup_or_null(identity);
}

/* Mirrors url's branches and tags into the cache; cb NULL: the default
 * credentials (gitx_set_identity). */
static int gitx_fetch(git_repository *repo, const char *url,
		      struct gitx_cb *cb, struct err *err)
{
	char heads[] = "+refs/heads/*:refs/heads/*";
	char tags[] = "+refs/tags/*:refs/tags/*";
	char *specs[] = { heads, tags };
	const git_strarray refspecs = { specs, 2 };
	struct gitx_cb defaults = { .identity = gitx_identity };
	git_fetch_options opts;
	git_remote *remote = NULL;
	int rc = 0;

	git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
	gitx_callbacks(&opts.callbacks, cb ? cb : &defaults);
	if (gitx_remote_new(repo, url, &remote, err) < 0)
		return err->code;
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
/* Whether rev may be in the cache: a full id it has, or a name. */
static int gitx_in_cache(git_repository *repo, const char *rev)
{
	git_odb *odb;
	git_oid oid;
	int yes = 1;

	if (!gitx_is_sha(rev) || git_oid_fromstr(&oid, rev) < 0 ||
	    git_repository_odb(&odb, repo) < 0)
		return 1;
	yes = git_odb_exists_ext(odb, &oid, GIT_ODB_LOOKUP_NO_REFRESH);
	git_odb_free(odb);
	return yes;
}

static int gitx_commit(git_repository *repo, const char *url, const char *rev,
		       git_commit **commit, struct err *err)
{
	git_object *obj = NULL;
	int fetched = 0;

	*commit = NULL;
	/* url NULL: what the cache has, nothing fetched (and a missing id
	 * known without rescanning the packs, as a lookup would) */
	if (!url && !gitx_in_cache(repo, rev))
		return err_set(err, ERR_NOTFOUND, "no revision '%s' in the cache",
			       rev);
	if (!url && git_revparse_single(&obj, repo, rev) < 0)
		return err_set(err, ERR_NOTFOUND, "no revision '%s' in the cache",
			       rev);
	/* a name may have moved: always fetch; an id is fetched if missing */
	if (url && !gitx_is_sha(rev)) {
		if (gitx_fetch(repo, url, NULL, err) < 0)
			return err->code;
		fetched = 1;
	}
	while (!obj) {
		if (git_revparse_single(&obj, repo, rev) == 0)
			break;
		if (fetched)
			return err_set(err, ERR_NOTFOUND, "%s: no revision '%s'",
				       url, rev);
		if (gitx_fetch(repo, url, NULL, err) < 0)
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

/* ref as a full branch name: "master" or "refs/heads/master". */
int gitx_read_file(const char *cache_dir, const char *url, const char *sha,
		   const char *path, struct buf *out, struct err *err)
{
	git_repository *repo;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	git_tree_entry *entry = NULL;
	git_blob *blob = NULL;
	git_odb *odb = NULL;
	git_object_t type;
	size_t size = 0;
	int lockfd, rc;

	rc = gitx_open(cache_dir, &repo, &lockfd, err);
	if (rc < 0)
		return rc;
	if ((rc = gitx_commit(repo, url, sha, &commit, err)) < 0)
		goto out;
	if (git_commit_tree(&tree, commit) < 0) {
		rc = gitx_err(err, ERR_FAIL, sha);
		goto out;
	}
	if (git_tree_entry_bypath(&entry, tree, path) < 0 ||
	    git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
		rc = err_set(err, ERR_NOTFOUND, "%.12s: no file '%s'", sha, path);
		goto out;
	}
	/* a blob is untrusted input: its size from its header, before it
	 * is inflated (a few KiB of commit can hold GiBs of zeros) */
	if (git_repository_odb(&odb, repo) < 0 ||
	    git_odb_read_header(&size, &type, odb, git_tree_entry_id(entry)) < 0) {
		rc = gitx_err(err, ERR_FAIL, path);
		goto out;
	}
	if (out->cap && size > out->cap - out->len) {
		out->overflowed = 1;
		rc = err_set(err, ERR_USAGE, "%s: over %zu bytes", path, out->cap);
		goto out;
	}
	if (git_blob_lookup(&blob, repo, git_tree_entry_id(entry)) < 0) {
		rc = gitx_err(err, ERR_FAIL, path);
		goto out;
	}
	/* a blob is untrusted input: out's cap bounds it */
	if (buf_add(out, git_blob_rawcontent(blob),
		    (size_t)git_blob_rawsize(blob)) < 0)
		rc = err_set(err, ERR_USAGE, "%s: over %zu bytes", path, out->cap);
out:
	git_blob_free(blob);
	git_odb_free(odb);
	git_tree_entry_free(entry);
	git_tree_free(tree);
	git_commit_free(commit);
	gitx_close(repo, lockfd);
	return rc;
}

static int gitx_branch(const char *ref, char **full, struct err *err)
{
	int valid = 0;

	pthread_once(&gitx_once, gitx_init_once);
	*full = strncmp(ref, "refs/", 5) ? xasprintf("refs/heads/%s", ref)
					  : xstrdup(ref);
	if (strncmp(*full, "refs/heads/", 11) == 0 &&
	    git_reference_name_is_valid(&valid, *full) == 0 && valid)
		return 0;
	free(*full);
	*full = NULL;
	return err_set(err, ERR_USAGE, "'%s': not a branch name", ref);
}

/* url without its userinfo, as git prints it: a password stays secret. */
static char *gitx_url_public(const char *url)
{
	const char *host = strstr(url, "://");
	const char *at, *slash;

	if (!host)
		return xstrdup(url);
	host += 3;
	at = strchr(host, '@');
	slash = strchr(host, '/');
	if (!at || (slash && slash < at))
		return xstrdup(url);
	return xasprintf("%.*s%s", (int)(host - url), url, at + 1);
}

/* Connects remote for a push and reads ref there (zero: no such ref). */
static int gitx_remote_ref(git_remote *remote, const char *ref,
			   struct gitx_cb *cb, git_oid *oid, struct err *err)
{
	git_remote_callbacks cbs;
	const git_remote_head **heads;
	size_t n;

	gitx_callbacks(&cbs, cb);
	if (git_remote_connect(remote, GIT_DIRECTION_PUSH, &cbs, NULL, NULL) < 0 ||
	    git_remote_ls(&heads, &n, remote) < 0)
		return gitx_err(err, ERR_RETRY, "connect");
	memset(oid, 0, sizeof(*oid));
	for (size_t i = 0; i < n; i++)
		if (strcmp(heads[i]->name, ref) == 0)
			git_oid_cpy(oid, &heads[i]->oid);
	return 0;
}

/*
 * Whether moving ref from old to new is a fast-forward we may push: 0 yes,
 * 1 nothing to do, or an error. Checked here whatever the transport
 * does, since libgit2's local transport would take anything.
 */
static int gitx_push_check(git_repository *repo, const char *ref,
			   const char *expect_old, const git_oid *old,
			   const git_oid *new, struct err *err)
{
	git_commit *commit = NULL;
	char now[41];
	int ff;

	git_oid_tostr(now, sizeof(now), old);
	if (git_oid_is_zero(old))
		return err_set(err, ERR_NOTFOUND, "no branch %s", ref);
	/* before the expected value: a push done once already (by a gate
	 * that died before recording it) is no move */
	if (git_oid_equal(old, new))
		return 1;
	if (expect_old && strcmp(now, expect_old) != 0)
		return err_set(err, ERR_EXISTS, "%s moved: now %s, expected %s",
			       ref, now, expect_old);
	/* pushed by someone else since our fetch: the next try fetches it */
	if (git_commit_lookup(&commit, repo, old) < 0)
		return err_set(err, ERR_RETRY, "%s moved during the push: now %s",
			       ref, now);
	git_commit_free(commit);
	ff = git_graph_descendant_of(repo, new, old);
	if (ff < 0)
		return gitx_err(err, ERR_FAIL, ref);
	if (!ff)
		return err_set(err, ERR_FAIL, "%s: not a fast-forward from %s",
			       ref, now);
	return 0;
}

/*
 * Pushes new to ref, through a temporary ref of the cache: libgit2 pushes
 * refs, not commit ids. The refspec has no '+': never forced.
 */
static int gitx_push_ref(git_repository *repo, git_remote *remote,
			 const char *ref, const git_oid *new,
			 struct gitx_cb *cb, struct err *err)
{
	char *tmp = xasprintf("refs/hangar/push/%s", git_oid_tostr_s(new));
	char *spec = xasprintf("%s:%s", tmp, ref);
	git_strarray refspecs = { &spec, 1 };
	git_reference *tmpref = NULL;
	git_push_options opts;
	int rc = 0;

	git_push_options_init(&opts, GIT_PUSH_OPTIONS_VERSION);
	gitx_callbacks(&opts.callbacks, cb);
	cb->ref = ref;
	if (git_reference_create(&tmpref, repo, tmp, new, 1, "hangar push") < 0) {
		rc = gitx_err(err, ERR_FAIL, tmp);
		goto out;
	}
	/* a refusal comes through push_update_reference; this is transport */
	if (git_remote_push(remote, &refspecs, &opts) < 0)
		rc = gitx_err(err, ERR_RETRY, "push");
	else if (cb->rejected[0])
		rc = err_set(err, ERR_FAIL, "push %s: rejected: %s", ref,
			     cb->rejected);
	else if (!cb->reported)
		rc = err_set(err, ERR_FAIL, "push %s: the remote did not say",
			     ref);
	/* a leftover only pins a commit: the push's outcome stands */
	(void)git_reference_delete(tmpref);
out:
	git_reference_free(tmpref);
	free(spec);
	free(tmp);
	return rc;
}

/*
 * gitx_push_ff once the cache has fetched: *old gets the ref's value
 * before; 1 when it already was new.
 */
static int gitx_push_fetched(git_repository *repo, const char *url,
			     const char *branch, const char *expect_old,
			     const git_oid *new, git_oid *old,
			     struct gitx_cb *cb, struct err *err)
{
	git_remote *remote = NULL;
	git_commit *commit = NULL;
	int rc;

	if (git_commit_lookup(&commit, repo, new) < 0)
		return err_set(err, ERR_NOTFOUND, "no commit %s",
			       git_oid_tostr_s(new));
	git_commit_free(commit);
	if ((rc = gitx_remote_new(repo, url, &remote, err)) < 0 ||
	    (rc = gitx_remote_ref(remote, branch, cb, old, err)) < 0 ||
	    (rc = gitx_push_check(repo, branch, expect_old, old, new, err)) != 0)
		goto out;
	if ((rc = gitx_push_ref(repo, remote, branch, new, cb, err)) < 0)
		goto out;
	/*
	 * So that gitx_resolve sees the push before the next fetch, which
	 * would mirror it anyway: a failure here is no failure of the push.
	 */
	(void)git_reference_create(NULL, repo, branch, new, 1, "hangar push");
out:
	git_remote_free(remote);
	return rc;
}

int gitx_push_ff(const char *cache_dir, const char *url, const char *ref,
		 const char *expect_old, const char *new_sha,
		 const char *identity, struct buf *out, struct err *err)
{
	struct gitx_cb cb = { .identity = identity ? identity : gitx_identity };
	git_repository *repo = NULL;
	char *branch = NULL, *where = gitx_url_public(url);
	char old7[8], new7[8];
	git_oid old, new;
	int lockfd = -1, rc;

	if ((rc = gitx_branch(ref, &branch, err)) < 0)
		goto out;
	if (!gitx_is_sha(new_sha) || git_oid_fromstr(&new, new_sha) < 0) {
		rc = err_set(err, ERR_USAGE, "'%s': not a commit id", new_sha);
		goto out;
	}
	/* the fetch's errors name url already */
	if ((rc = gitx_open(cache_dir, &repo, &lockfd, err)) < 0)
		goto close;
	if (gitx_fetch(repo, url, &cb, err) < 0) {
		rc = err->code = ERR_RETRY;   /* unreachable now, maybe not later */
		goto close;
	}
	rc = gitx_push_fetched(repo, url, branch, expect_old, &new, &old, &cb,
			       err);
	if (rc == 1) {
		buf_addstr(out, "already up to date\n");
		rc = 0;
	} else if (rc == 0) {
		git_oid_tostr(old7, sizeof(old7), &old);
		git_oid_tostr(new7, sizeof(new7), &new);
		buf_addf(out, "To %s\n   %s..%s  %s -> %s\n", where, old7,
			 new7, new_sha, branch + strlen("refs/heads/"));
	}
out:
	if (rc < 0)
		err_prefix(err, "%s", where);
close:
	gitx_close(repo, lockfd);
	free(branch);
	free(where);
	return rc;
}

/* The commits revs a and b name, fetched like gitx_resolve if missing. */
static int gitx_commit_pair(git_repository *repo, const char *url,
			    const char *a, const char *b, git_commit **ca,
			    git_commit **cb, struct err *err)
{
	int rc = gitx_commit(repo, url, a, ca, err);

	*cb = NULL;
	if (rc == 0 && (rc = gitx_commit(repo, url, b, cb, err)) < 0) {
		git_commit_free(*ca);
		*ca = NULL;
	}
	return rc;
}

/* "Wed Jan 3 10:00:00 2024 +0000": git's default date, in the signer's zone. */
static void gitx_log_date(struct buf *out, const git_time *when)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	time_t t = (time_t)(when->time + (git_time_t)when->offset * 60);
	int off = when->offset < 0 ? -when->offset : when->offset;
	char sign = when->sign == '-' || when->offset < 0 ? '-' : '+';
	struct tm tm;

	gmtime_r(&t, &tm);
	buf_addf(out, "%s %s %d %02d:%02d:%02d %d %c%02d%02d",
		 days[tm.tm_wday], months[tm.tm_mon], tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, tm.tm_year + 1900, sign, off / 60,
		 off % 60);
}

/*
 * The message as git log indents it: leading blank lines dropped, each
 * line right-trimmed, indented by 4 with tabs expanded to 8 columns.
 */
static void gitx_log_message(struct buf *out, const char *msg)
{
	size_t start = out->len;

	while (*msg) {
		size_t len = strcspn(msg, "\n"), col = 0;

		while (len && strchr(" \t\r", msg[len - 1]))
			len--;
		if (len || out->len > start) {
			buf_addstr(out, "    ");
			for (size_t i = 0; i < len; i++) {
				if (msg[i] != '\t') {
					buf_addch(out, msg[i]);
					/* UTF-8 continuation bytes take no column */
					col += ((unsigned char)msg[i] & 0xc0) != 0x80;
					continue;
				}
				do
					buf_addch(out, ' ');
				while (++col % 8);
			}
			buf_addch(out, '\n');
		}
		msg += strcspn(msg, "\n");
		if (*msg)
			msg++;
	}
	buf_rtrim(out);
	buf_addch(out, '\n');
}

/* Appends commit c in git log's medium format. */
static void gitx_log_commit(struct buf *out, const git_commit *c)
{
	const git_signature *author = git_commit_author(c);
	unsigned int parents = git_commit_parentcount(c);
	char abbrev[8];

	buf_addf(out, "commit %s\n", git_oid_tostr_s(git_commit_id(c)));
	if (parents > 1) {
		buf_addstr(out, "Merge:");
		for (unsigned int i = 0; i < parents; i++) {
			git_oid_tostr(abbrev, sizeof(abbrev),
				      git_commit_parent_id(c, i));
			buf_addf(out, " %s", abbrev);
		}
		buf_addch(out, '\n');
	}
	buf_addf(out, "Author: %s <%s>\nDate:   ", author->name, author->email);
	gitx_log_date(out, &author->when);
	buf_addstr(out, "\n\n");
	gitx_log_message(out, git_commit_message(c));
}

/* Writes walk's commits; 1 when past max_lines or out's cap. */
static int gitx_log_walk(git_repository *repo, git_revwalk *walk,
			 int max_lines, struct buf *out, struct err *err)
{
	size_t start = out->len, from = start, lines = 0;
	git_commit *c;
	git_oid oid;
	int rc;

	while ((rc = git_revwalk_next(&oid, walk)) == 0) {
		if (git_commit_lookup(&c, repo, &oid) < 0)
			return gitx_err(err, ERR_FAIL, git_oid_tostr_s(&oid));
		if (out->len > start)
			buf_addch(out, '\n');   /* git's blank line between */
		gitx_log_commit(out, c);
		git_commit_free(c);
		for (; from < out->len; from++)
			lines += out->buf[from] == '\n';
		if (out->overflowed || (max_lines > 0 && lines > (size_t)max_lines))
			return 1;
	}
	if (rc != GIT_ITEROVER)
		return gitx_err(err, ERR_FAIL, "revision walk");
	return 0;
}

int gitx_log(const char *cache_dir, const char *url, const char *old_sha,
	     const char *new_sha, int max_lines, struct buf *out,
	     int *truncated, struct err *err)
{
	git_repository *repo;
	git_commit *old = NULL, *new = NULL;
	git_revwalk *walk = NULL;
	size_t start = out->len;
	int overflowed = out->overflowed;
	int lockfd, rc;

	*truncated = 0;
	rc = url ? gitx_open(cache_dir, &repo, &lockfd, err)
		 : gitx_open_existing(cache_dir, &repo, &lockfd, err);
	if (rc < 0)
		return rc;
	rc = gitx_commit_pair(repo, url, old_sha, new_sha, &old, &new, err);
	if (rc < 0)
		goto out;
	if (git_revwalk_new(&walk, repo) < 0 ||
	    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME) < 0 ||
	    git_revwalk_push(walk, git_commit_id(new)) < 0 ||
	    git_revwalk_hide(walk, git_commit_id(old)) < 0) {
		rc = gitx_err(err, ERR_FAIL, "revision walk");
		goto out;
	}
	out->overflowed = 0;
	rc = gitx_log_walk(repo, walk, max_lines, out, err);
	if (rc != 0)
		buf_setlen(out, start);
	if (rc == 1) {
		*truncated = 1;
		rc = 0;
	}
	out->overflowed |= overflowed;
out:
	git_revwalk_free(walk);
	git_commit_free(old);
	git_commit_free(new);
	gitx_close(repo, lockfd);
	return rc;
}

int gitx_is_ancestor(const char *cache_dir, const char *url,
		     const char *ancestor, const char *descendant, int *yes,
		     struct err *err)
{
	git_repository *repo;
	git_commit *a, *d;
	int lockfd, rc;

	rc = gitx_open(cache_dir, &repo, &lockfd, err);
	if (rc < 0)
		return rc;
	rc = gitx_commit_pair(repo, url, ancestor, descendant, &a, &d, err);
	if (rc == 0 && git_oid_equal(git_commit_id(a), git_commit_id(d))) {
		*yes = 1;
	} else if (rc == 0) {
		rc = git_graph_descendant_of(repo, git_commit_id(d),
					     git_commit_id(a));
		if (rc >= 0) {
			*yes = rc;
			rc = 0;
		} else {
			rc = gitx_err(err, ERR_FAIL, "merge base");
		}
	}
	git_commit_free(a);
	git_commit_free(d);
	gitx_close(repo, lockfd);
	return rc;
}

int gitx_ref(const char *cache_dir, const char *url, const char *ref,
	     char sha[41], struct err *err)
{
	char *branch;
	int rc = gitx_branch(ref, &branch, err);

	if (rc == 0)
		rc = gitx_resolve(cache_dir, url, branch, sha, err);
	free(branch);
	return rc;
}

void gitx_history_free(struct gitx_commit *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		free(c[i].author);
		free(c[i].subject);
	}
	free(c);
}

/* The commit's first line, for reports. */
static char *gitx_subject(const git_commit *c)
{
	const char *s = git_commit_summary((git_commit *)c);

	return xstrdup(s ? s : "");
}

int gitx_history(const char *cache_dir, const char *url, const char *basis,
		 const char *failure, size_t max, struct gitx_commit **out,
		 size_t *n, struct err *err)
{
	git_repository *repo;
	git_commit *b = NULL, *f = NULL;
	git_revwalk *walk = NULL;
	struct gitx_commit *list = NULL;
	struct strmap index = STRMAP_INIT;
	size_t alloc = 0, count = 0;
	git_oid oid;
	int lockfd, rc;

	*out = NULL;
	*n = 0;
	rc = gitx_open(cache_dir, &repo, &lockfd, err);
	if (rc < 0)
		return rc;
	rc = gitx_commit_pair(repo, url, basis, failure, &b, &f, err);
	if (rc < 0)
		goto out;
	/* children before parents: what the bisection's graph needs */
	if (git_revwalk_new(&walk, repo) < 0 ||
	    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME) < 0 ||
	    git_revwalk_push(walk, git_commit_id(f)) < 0 ||
	    git_revwalk_hide(walk, git_commit_id(b)) < 0) {
		rc = gitx_err(err, ERR_FAIL, "revision walk");
		goto out;
	}
	for (int last = 0; !rc;) {
		git_commit *c;

		if (!last && (rc = git_revwalk_next(&oid, walk)) == GIT_ITEROVER) {
			/* the basis closes the list */
			git_oid_cpy(&oid, git_commit_id(b));
			last = 1;
			rc = 0;
		} else if (last) {
			break;
		} else if (rc < 0) {
			rc = gitx_err(err, ERR_FAIL, "revision walk");
			break;
		}
		if (count == max) {
			rc = err_set(err, ERR_USAGE, "more than %zu commits between %.12s "
				     "and %.12s", max, basis, failure);
			break;
		}
		if (git_commit_lookup(&c, repo, &oid) < 0) {
			rc = gitx_err(err, ERR_FAIL, "commit");
			break;
		}
		XGROW(list, alloc, count + 1);
		memset(&list[count], 0, sizeof(list[count]));
		git_oid_tostr(list[count].sha, sizeof(list[count].sha), &oid);
		list[count].time = (long)git_commit_time(c);
		list[count].author = xstrdup(git_commit_author(c)->name);
		list[count].subject = gitx_subject(c);
		strmap_put(&index, list[count].sha, (long)count);
		count++;
		git_commit_free(c);
		if (last)
			break;
	}
	/* parents by index, those in the list only (two at most) */
	for (size_t i = 0; !rc && i < count; i++) {
		git_commit *c;

		if (git_oid_fromstr(&oid, list[i].sha) < 0 ||
		    git_commit_lookup(&c, repo, &oid) < 0) {
			rc = gitx_err(err, ERR_FAIL, "commit");
			break;
		}
		for (unsigned k = 0; k < git_commit_parentcount(c) && list[i].nparents < 2;
		     k++) {
			char psha[41];
			long ix;

			git_oid_tostr(psha, sizeof(psha), git_commit_parent_id(c, k));
			ix = strmap_get(&index, psha);
			if (ix >= 0 && (size_t)ix > i)
				list[i].parents[list[i].nparents++] = (size_t)ix;
		}
		git_commit_free(c);
	}
	if (!rc) {
		*out = list;
		*n = count;
		list = NULL;
	}
out:
	gitx_history_free(list, count);
	strmap_clear(&index);
	git_revwalk_free(walk);
	git_commit_free(b);
	git_commit_free(f);
	gitx_close(repo, lockfd);
	return rc;
}
