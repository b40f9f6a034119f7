/*
 * test-evidence.c: the parts of gate/evidence.h that need no database:
 * the canonical bytes, signing and verifying with ssh-keygen (a key made
 * here), and the files check of a record (logs and artifacts hashed
 * again, each difference named, paths a record may not name refused).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "evidence.h"
#include "proc.h"
#include "secret.h"
#include "tmpfiles.h"
#include "xalloc.h"
#include "banned.h"

static void mkdir_in(const char *name)
{
	char *d = path_of(name);

	assert_int_equal(mkdir(d, 0755), 0);
	free(d);
}

static void test_dump_is_canonical(void **state)
{
	json_t *a = json_pack("{s:i, s:[s, s], s:n, s:{s:s}}", "z", 1, "b", "x",
			      "y", "a", "m", "k", "v");
	json_t *b = json_pack("{s:n, s:{s:s}, s:[s, s], s:i}", "a", "m", "k", "v",
			      "b", "x", "y", "z", 1);
	char *da = evidence_dump(a), *db = evidence_dump(b);

	(void)state;
	/* sorted keys, one space a level, a final newline: the same bytes
	 * whatever order the object was built in */
	assert_string_equal(da, db);
	assert_string_equal(da, "{\n \"a\": null,\n \"b\": [\n  \"x\",\n  \"y\"\n ],\n"
			    " \"m\": {\n  \"k\": \"v\"\n },\n \"z\": 1\n}\n");
	free(da);
	free(db);
	json_decref(a);
	json_decref(b);
}

static void test_sign_and_verify(void **state)
{
	char *key = path_of("ev_key"), *sig = NULL, *pub = NULL, *allowed;
	char *other = path_of("other_key"), *opub = NULL, *oallowed;
	static const char data[] = "{\n \"schema\": \"hangar-evidence/1\"\n}\n";
	struct err err = ERR_INIT;
	struct vec argv = VEC_INIT;

	(void)state;
	for (int i = 0; i < 2; i++) {
		vec_clear(&argv);
		vec_push(&argv, "ssh-keygen");
		vec_push(&argv, "-q");
		vec_push(&argv, "-t");
		vec_push(&argv, "ed25519");
		vec_push(&argv, "-N");
		vec_push(&argv, "");
		vec_push(&argv, "-f");
		vec_push(&argv, i ? other : key);
		assert_int_equal(proc_run(vec_argv(&argv), &(struct proc_opts){
				.stdin_path = "/dev/null", .quiet = 1 }, NULL, &err), 0);
	}
	vec_clear(&argv);
	assert_int_equal(evidence_sign(key, data, strlen(data), &sig, &pub, &err), 0);
	assert_non_null(strstr(sig, "-----BEGIN SSH SIGNATURE-----"));
	assert_int_equal(strncmp(pub, "ssh-ed25519 ", 12), 0);
	assert_null(strchr(pub + 12, ' '));   /* the comment dropped */
	allowed = evidence_allowed_signers("ev@test", pub);
	assert_int_equal(strncmp(allowed, "ev@test namespaces=\"hangar-evidence\" ssh-ed25519 ", 49), 0);
	assert_int_equal(evidence_verify_signature(data, strlen(data), sig, allowed,
						   &err), 0);
	/* one byte changed */
	{
		char *bad = xstrdup(data);

		bad[5] = 'S';
		assert_int_equal(evidence_verify_signature(bad, strlen(bad), sig,
							   allowed, &err), ERR_FAIL);
		free(bad);
	}
	/* another key is not the signer */
	assert_int_equal(evidence_public_key(other, &opub, &err), 0);
	oallowed = evidence_allowed_signers("ev@test", opub);
	assert_int_equal(evidence_verify_signature(data, strlen(data), sig,
						   oallowed, &err), ERR_FAIL);
	assert_non_null(strstr(err.msg, "no allowed signer"));
	free(sig);
	free(pub);
	free(opub);
	free(allowed);
	free(oallowed);
	free(key);
	free(other);
}

/* {"path", "sha256", "size"} of a file written in tmpdir/logs. */
static json_t *log_entry(const char *path, const char *text)
{
	char *rel = xasprintf("logs/%s", path), *full = path_of(rel);
	char sha[65];
	long long size;

	write_file(rel, text);
	assert_int_equal(secret_sha256_file(full, sha, &size), 0);
	free(rel);
	free(full);
	return json_pack("{s:s, s:s, s:I}", "path", path, "sha256", sha, "size",
			 (json_int_t)size);
}

static void test_verify_files(void **state)
{
	char *logs, *st;
	json_t *a = log_entry("7/j/1.boot.log", "booted\n");
	json_t *b = log_entry("7/j/console-h.log", "serial\n");
	json_t *art, *rec;
	struct vec bad = VEC_INIT;
	char sha[65];

	(void)state;
	mkdir_in("state");
	mkdir_in("state/artifacts");
	mkdir_in("state/artifacts/sha256");
	secret_sha256_hex("tarball", 7, sha);
	{
		char *dir = xasprintf("state/artifacts/sha256/%.2s", sha);
		char *file = xasprintf("%s/%s", dir, sha);

		mkdir_in(dir);
		write_file(file, "tarball");
		free(dir);
		free(file);
	}
	art = json_pack("{s:s, s:s, s:i}", "path", "dist/x.tar.gz", "sha256", sha,
			"size", 7);
	rec = json_pack("{s:s, s:[{s:s, s:[{s:s, s:O}], s:[O, O], s:[O]}]}",
			"schema", "hangar-evidence/1", "jobs", "job", "j",
			"steps", "step", "boot", "log", a, "logs", a, b,
			"artifacts", art);
	logs = path_of("logs");
	st = path_of("state");
	assert_int_equal(evidence_verify_files(rec, logs, st, &bad), 3);
	assert_int_equal(bad.n, 0);

	/* one byte of a log, a missing log, a wrong artifact size */
	write_file("logs/7/j/1.boot.log", "bootEd\n");
	{
		char *p = path_of("logs/7/j/console-h.log");

		unlink(p);
		free(p);
	}
	json_object_set_new(art, "size", json_integer(8));
	assert_int_equal(evidence_verify_files(rec, logs, st, &bad), 3);
	assert_int_equal(bad.n, 3);
	assert_non_null(strstr(bad.v[0], "log 7/j/1.boot.log: sha256 "));
	assert_non_null(strstr(bad.v[1], "log 7/j/console-h.log: No such file"));
	assert_non_null(strstr(bad.v[2], "artifact dist/x.tar.gz of j as "));
	assert_non_null(strstr(bad.v[2], "7 bytes, the record says 8"));
	vec_clear(&bad);

	/* a record may not send verify out of the logs */
	json_object_set_new(a, "path", json_string("../../etc/passwd"));
	json_object_set_new(b, "path", json_string("/etc/passwd"));
	json_object_set_new(art, "sha256", json_string("../x"));
	evidence_verify_files(rec, logs, NULL, &bad);
	assert_int_equal(bad.n, 2);
	assert_non_null(strstr(bad.v[0], "../../etc/passwd: not a path"));
	assert_non_null(strstr(bad.v[1], "/etc/passwd: not a path"));
	vec_clear(&bad);
	evidence_verify_files(rec, logs, st, &bad);
	assert_int_equal(bad.n, 3);
	assert_non_null(strstr(bad.v[2], "a bad sha256"));
	vec_clear(&bad);

	/* nor out through a symbolic link, nor into a FIFO that no one
	 * writes (a record that is not hangar's, its signature refused,
	 * still has its files checked) */
	{
		char *target = path_of("logs/7/j/1.boot.log");
		char *link = path_of("logs/7/j/link.log");
		char *fifo = path_of("logs/7/j/fifo.log");
		json_t *l = log_entry("7/j/same.log", "bootEd\n");

		assert_int_equal(symlink(target, link), 0);
		assert_int_equal(mkfifo(fifo, 0644), 0);
		json_object_set_new(a, "path", json_string("7/j/link.log"));
		json_object_set(a, "sha256", json_object_get(l, "sha256"));
		json_object_set_new(b, "path", json_string("7/j/fifo.log"));
		evidence_verify_files(rec, logs, NULL, &bad);
		assert_int_equal(bad.n, 2);
		assert_non_null(strstr(bad.v[0], "7/j/link.log: not a regular file"));
		assert_non_null(strstr(bad.v[1], "7/j/fifo.log: not a regular file"));
		vec_clear(&bad);
		json_decref(l);
		free(target);
		free(link);
		free(fifo);
	}

	json_decref(a);
	json_decref(b);
	json_decref(art);
	json_decref(rec);
	free(logs);
	free(st);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup_tmp(void **state)
{
	char templ[] = "/tmp/hangar-test-evidence.XXXXXX";

	(void)state;
	if (!mkdtemp(templ) || !realpath(templ, tmpdir))
		return -1;
	mkdir_in("logs");
	mkdir_in("logs/7");
	mkdir_in("logs/7/j");
	return 0;
}

static int teardown_tmp(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump_is_canonical),
		cmocka_unit_test(test_sign_and_verify),
		cmocka_unit_test(test_verify_files),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
