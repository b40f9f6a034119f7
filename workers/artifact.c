/*
 * artifact.c: the content-addressed artifact store (see artifact.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact.h"
#include "fsutil.h"
#include "proc.h"
#include "xalloc.h"
#include "banned.h"

char *artifact_path(const char *state, const char *sha256)
{
	return xasprintf("%s/artifacts/sha256/%.2s/%s", state, sha256, sha256);
}

char *artifact_tmp_path(const char *state, struct err *err)
{
	static unsigned seq;
	char *dir = xasprintf("%s/artifacts/tmp", state);
	char *path;

	if (fs_mkdir_p(dir, 0755, err) < 0) {
		free(dir);
		return NULL;
	}
	path = xasprintf("%s/%d.%u.%lld", dir, (int)getpid(),
			 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED),
			 proc_now_ms());
	free(dir);
	return path;
}

int artifact_hash_file(const char *path, char sha256[65], long long *size,
		       struct err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE], chunk[65536];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	long long total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return err_errno(err, ERR_FAIL, "%s", path);
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = err_set(err, ERR_FAIL, "sha256: cannot start a digest");
		goto out;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = err_errno(err, ERR_FAIL, "%s", path);
			goto out;
		}
		EVP_DigestUpdate(ctx, chunk, (size_t)n);
		total += n;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(sha256 + 2 * i, 3, "%02x", md[i]);
	sha256[64] = '\0';
	if (size)
		*size = total;
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return rc;
}

int artifact_store(const char *state, const char *tmp, char sha256[65],
		   long long *size, struct err *err)
{
	char *dest, *dir;
	int rc;

	rc = artifact_hash_file(tmp, sha256, size, err);
	if (rc < 0)
		return rc;
	dest = artifact_path(state, sha256);
	dir = xstrndup(dest, (size_t)(strrchr(dest, '/') - dest));
	rc = fs_mkdir_p(dir, 0755, err);
	if (rc == 0) {
		if (fs_exists(dest)) {
			unlink(tmp);
		} else {
			chmod(tmp, 0444);
			if (rename(tmp, dest) < 0)
				rc = err_errno(err, ERR_FAIL, "store %s", dest);
		}
	}
	free(dir);
	free(dest);
	return rc;
}
