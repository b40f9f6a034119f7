/*
 * secret.c: random tokens and SHA-256 (libcrypto).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"
#include "banned.h"

static void to_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int secret_random_hex(char *out, size_t nbytes)
{
	unsigned char rnd[64];

	if (nbytes > sizeof(rnd) ||
	    getrandom(rnd, nbytes, 0) != (ssize_t)nbytes)
		return -1;
	to_hex(rnd, nbytes, out);
	return 0;
}

void secret_sha256_hex(const void *p, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_Digest(p, len, md, &n, EVP_sha256(), NULL);
	to_hex(md, n, out);
}

int secret_sha256_file(const char *path, char out[65], long long *size)
{
	unsigned char md[EVP_MAX_MD_SIZE], chunk[65536];
	unsigned int n = 0;
	long long total = 0;
	EVP_MD_CTX *ctx = NULL;
	ssize_t got;
	/* a regular file only: a FIFO would block the read, a symbolic
	 * link lead anywhere */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	int rc = 0, saved;
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		rc = -1;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		rc = -1;
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		errno = ENOMEM;
		rc = -1;
		goto out;
	}
	while ((got = read(fd, chunk, sizeof(chunk))) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = -1;
			goto out;
		}
		EVP_DigestUpdate(ctx, chunk, (size_t)got);
		total += got;
	}
	EVP_DigestFinal_ex(ctx, md, &n);
	to_hex(md, n, out);
	*size = total;
out:
	saved = errno;
	EVP_MD_CTX_free(ctx);
	close(fd);
	errno = saved;
	return rc;
}

int secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return !diff;
}
