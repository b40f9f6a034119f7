/*
 * fsutil.c: directories, lock files and atomic writes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "xalloc.h"
#include "banned.h"

int fs_mkdir_p(const char *path, mode_t mode, struct err *err)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1;; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			rc = err_errno(err, ERR_FAIL, "mkdir %s", p);
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return rc;
}

int fs_lock(const char *path, int nonblocking, struct err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return err_errno(err, ERR_FAIL, "open %s", path);
	while (flock(fd, LOCK_EX | (nonblocking ? LOCK_NB : 0)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK) {
			close(fd);
			return err_set(err, ERR_EXISTS, "%s: locked", path);
		}
		close(fd);
		return err_errno(err, ERR_FAIL, "flock %s", path);
	}
	return fd;
}

int fs_write_file(const char *path, const char *data, size_t len,
		  mode_t mode, struct err *err)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	int rc = 0;

	if (fd < 0) {
		rc = err_errno(err, ERR_FAIL, "create %s", tmp);
		goto out;
	}
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_errno(err, ERR_FAIL, "write %s", tmp);
			close(fd);
			unlink(tmp);
			goto out;
		}
		data += n;
		len -= (size_t)n;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		rc = err_errno(err, ERR_FAIL, "write %s", path);
		unlink(tmp);
	}
out:
	free(tmp);
	return rc;
}

int fs_copy_file(const char *src, const char *dst, mode_t mode,
		 struct err *err)
{
	char *tmp = xasprintf("%s.tmp.%ld", dst, (long)getpid());
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
	char chunk[65536];
	ssize_t n;

	if (in < 0) {
		rc = err_errno(err, ERR_FAIL, "open %s", src);
		goto out;
	}
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0) {
		rc = err_errno(err, ERR_FAIL, "create %s", tmp);
		goto out;
	}
	while ((n = read(in, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_errno(err, ERR_FAIL, "read %s", src);
			goto out;
		}
		for (ssize_t done = 0, w; done < n; done += w) {
			w = write(out, chunk + done, (size_t)(n - done));
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0) {
				rc = err_errno(err, ERR_FAIL, "write %s", tmp);
				goto out;
			}
		}
	}
	if (close(out) < 0 || rename(tmp, dst) < 0)
		rc = err_errno(err, ERR_FAIL, "write %s", dst);
	out = -1;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (rc < 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int fs_copy_tree(const char *src, const char *dst, long *files,
		 struct err *err)
{
	DIR *d = NULL;
	struct dirent *e;
	int rc;

	rc = fs_mkdir_p(dst, 0755, err);
	if (rc < 0)
		return rc;
	d = opendir(src);
	if (!d)
		return errno == ENOENT ? 0 : err_errno(err, ERR_FAIL, "opendir %s", src);
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		char *from, *to;
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		from = xasprintf("%s/%s", src, e->d_name);
		to = xasprintf("%s/%s", dst, e->d_name);
		if (lstat(from, &st) < 0) {
			if (errno != ENOENT)
				rc = err_errno(err, ERR_FAIL, "stat %s", from);
		} else if (S_ISDIR(st.st_mode)) {
			rc = fs_copy_tree(from, to, files, err);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlink(from, target, sizeof(target) - 1);

			if (n >= 0) {
				target[n] = '\0';
				if (symlink(target, to) < 0 && errno != EEXIST)
					rc = err_errno(err, ERR_FAIL, "symlink %s", to);
			} else if (errno != ENOENT) {
				rc = err_errno(err, ERR_FAIL, "readlink %s", from);
			}
		} else if (S_ISREG(st.st_mode)) {
			struct err e2 = ERR_INIT;

			if (fs_copy_file(from, to, st.st_mode & 07777, &e2) == 0) {
				if (files)
					(*files)++;
			} else if (fs_exists(from)) {
				*err = e2;
				rc = e2.code;
			}
		}
		free(from);
		free(to);
	}
	if (rc == 0 && errno)
		rc = err_errno(err, ERR_FAIL, "readdir %s", src);
	closedir(d);
	return rc;
}

int fs_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

char *fs_absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	if (path[0] == '.' && path[1] == '/')
		path += 2;
	return xasprintf("%s/%s", cwd, path);
}
