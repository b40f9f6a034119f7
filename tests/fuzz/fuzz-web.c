/*
 * fuzz-web.c: a libFuzzer target for the pure parts of the web server's
 * request handling (web/web-route.c): route finding, URL patterns, form
 * bodies, log names, cookies and the JSON bodies of requests and
 * reservations.
 *
 * The first byte of an input chooses the entry point (its value modulo 8,
 * so the seeds start with a digit); the rest is split at '\n' into fields:
 *
 *   '0' METHOD \n URL            web_route_find
 *   '1' PATTERN \n URL           web_match
 *   '2' BODY                     web_form_parse, web_form_get
 *   '3' NAME                     web_log_name_ok, web_utf8_ok
 *   '4' OUTLEN-BYTE HEADER \n NAME   web_cookie_get
 *   '5' BODY                     web_parse_request
 *   '6' BODY                     web_parse_reservation
 *   '7' DATA                     all of them on the same bytes
 *
 * Each result is checked against what web-route.h promises, mostly with a
 * small reference implementation written here the slow and obvious way;
 * a broken promise is a __builtin_trap(), which libFuzzer reports as a
 * crash. Memory errors and leaks are ASan's.
 *
 * Build (the Makefile's $(O)/fuzz-web does the same):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Ilib -Idb -Iflights -Iweb $(pkg-config --cflags libpq jansson) \
 *     -o fuzz-web tests/fuzz/fuzz-web.c web/web-route.c lib/buf.c \
 *     lib/vec.c lib/xalloc.c lib/strnum.c lib/log.c -ljansson
 * Run: ./fuzz-web -max_total_time=60 CORPUS-COPY/ tests/fuzz/corpus-web/
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-sched.h"
#include "request.h"
#include "vec.h"
#include "web-route.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz-web.c:%d: invariant broken: %s\n", \
				__LINE__, #cond); \
			__builtin_trap(); \
		} \
	} while (0)

#define NFIELDS 3
#define FILL 0x5a                /* what args and out buffers start as */

/* A NUL-terminated copy of data[0..len) (an embedded NUL ends the string
 * early, which is what a C caller would see too). */
static char *strcopy(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		abort();
	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

/*
 * Splits data into at most n fields at '\n' (the last takes the rest),
 * each a malloc'ed NUL-terminated copy; fields not present are "".
 */
static void split_fields(const uint8_t *data, size_t size, char **f, int n)
{
	size_t start = 0;

	for (int i = 0; i < n; i++) {
		size_t end = start;

		if (i < n - 1)
			while (end < size && data[end] != '\n')
				end++;
		else
			end = size;
		if (start > size)
			start = end = size;
		f[i] = strcopy(data + start, end - start);
		start = end + 1;
	}
}

static void free_fields(char **f, int n)
{
	for (int i = 0; i < n; i++)
		free(f[i]);
}

/* --- URL patterns and routes --- */

/*
 * The reference matcher: "{}" takes all of the URL up to the next '/' or
 * its end, which must be 1 to WEB_ARG_MAX - 1 bytes, at most WEB_MAX_ARGS
 * times; anything else in the pattern must be in the URL as it is. Fills
 * off[] and len[] (where each argument is in url) and returns the number
 * of arguments, or -1.
 */
static int ref_match(const char *pat, const char *url, size_t *off,
		     size_t *len)
{
	size_t p = 0, u = 0, plen = strlen(pat), ulen = strlen(url);
	int n = 0;

	while (p < plen) {
		if (p + 1 < plen && pat[p] == '{' && pat[p + 1] == '}') {
			size_t l = 0;

			while (u + l < ulen && url[u + l] != '/')
				l++;
			if (n == WEB_MAX_ARGS || l == 0 || l > WEB_ARG_MAX - 1)
				return -1;
			off[n] = u;
			len[n] = l;
			n++;
			u += l;
			p += 2;
		} else {
			if (u >= ulen || pat[p] != url[u])
				return -1;
			p++;
			u++;
		}
	}
	return u == ulen ? n : -1;
}

/* The arguments are proper C strings inside their slots, as promised. */
static void check_args(char args[WEB_MAX_ARGS][WEB_ARG_MAX], int n)
{
	for (int k = 0; k < n; k++) {
		const char *nul = memchr(args[k], '\0', WEB_ARG_MAX);

		CHECK(nul != NULL);
		CHECK(nul > args[k]);                       /* non-empty */
		CHECK((size_t)(nul - args[k]) < WEB_ARG_MAX);
		CHECK(memchr(args[k], '/', (size_t)(nul - args[k])) == NULL);
	}
}

/*
 * Putting the arguments back into the pattern gives the URL back, and
 * they are the reference matcher's.
 */
static void check_rebuild(const char *pat, const char *url,
			  char args[WEB_MAX_ARGS][WEB_ARG_MAX], int n)
{
	size_t off[WEB_MAX_ARGS], len[WEB_MAX_ARGS];
	size_t u = 0, ulen = strlen(url);
	int k = 0;

	CHECK(ref_match(pat, url, off, len) == n);
	for (int i = 0; i < n; i++) {
		CHECK(strlen(args[i]) == len[i]);
		CHECK(!memcmp(args[i], url + off[i], len[i]));
	}
	for (size_t p = 0; pat[p];) {
		if (pat[p] == '{' && pat[p + 1] == '}') {
			size_t l;

			CHECK(k < n);
			l = strlen(args[k]);
			CHECK(u + l <= ulen && !memcmp(url + u, args[k], l));
			u += l;
			k++;
			p += 2;
		} else {
			CHECK(u < ulen && url[u] == pat[p]);
			u++;
			p++;
		}
	}
	CHECK(k == n);
	CHECK(u == ulen);
}

static void fuzz_match(const char *pat, const char *url)
{
	char args[WEB_MAX_ARGS][WEB_ARG_MAX];
	size_t off[WEB_MAX_ARGS], len[WEB_MAX_ARGS];
	int n;

	memset(args, FILL, sizeof(args));
	n = web_match(pat, url, args);
	CHECK(n >= -1 && n <= WEB_MAX_ARGS);
	if (n < 0) {
		CHECK(ref_match(pat, url, off, len) == -1);
		return;
	}
	check_args(args, n);
	check_rebuild(pat, url, args, n);
}

/* Once: the table has every route id once, each with a method and a
 * pattern (a missing entry would be zeros). */
static void check_table(void)
{
	static int done;
	int seen[R_COUNT] = { 0 };

	if (done)
		return;
	for (int i = 0; i < R_COUNT; i++) {
		CHECK(web_routes[i].method && web_routes[i].pattern);
		CHECK(web_routes[i].pattern[0] == '/');
		CHECK((int)web_routes[i].id >= 0 && web_routes[i].id < R_COUNT);
		CHECK(!seen[web_routes[i].id]);
		seen[web_routes[i].id] = 1;
	}
	done = 1;
}

static void fuzz_route(const char *method, const char *url)
{
	char args[WEB_MAX_ARGS][WEB_ARG_MAX], again[WEB_MAX_ARGS][WEB_ARG_MAX];
	size_t off[WEB_MAX_ARGS], len[WEB_MAX_ARGS];
	const char *m = strcmp(method, "HEAD") ? method : "GET";
	int r, n, same = 0, other = 0;

	check_table();
	memset(args, FILL, sizeof(args));
	r = web_route_find(method, url, args);
	CHECK(r >= -2 && r < R_COUNT);

	/* The first route of this method whose pattern matches, if any. */
	for (int i = 0; i < R_COUNT; i++) {
		int hit = ref_match(web_routes[i].pattern, url, off, len) >= 0;

		if (!strcmp(web_routes[i].method, m)) {
			if (hit && !same) {
				CHECK(r == i);
				same = 1;
			}
		} else {
			other |= hit;
		}
	}
	if (r == -1)
		CHECK(!same && !other);
	if (r == -2)
		CHECK(!same && other);
	if (r < 0)
		return;
	CHECK(same);
	CHECK(!strcmp(web_routes[r].method, m));

	/* Its pattern matches the URL again, with the same arguments. */
	memset(again, FILL, sizeof(again));
	n = web_match(web_routes[r].pattern, url, again);
	CHECK(n >= 0 && n <= WEB_MAX_ARGS);
	check_args(args, n);
	for (int k = 0; k < n; k++)
		CHECK(!strcmp(args[k], again[k]));
	check_rebuild(web_routes[r].pattern, url, args, n);

	/* The server's next step for a log file: names checked one by one. */
	if (web_routes[r].id == R_LOG_FILE)
		for (int k = 1; k < n; k++)
			(void)web_log_name_ok(args[k]);
}

/* --- form bodies --- */

static int ref_hex(int c)
{
	const char *digits = "0123456789abcdef";
	const char *p;

	if (c >= 'A' && c <= 'F')
		c += 'a' - 'A';
	p = c ? strchr(digits, c) : NULL;
	return p ? (int)(p - digits) : -1;
}

/* Decodes s[0..len) into out (len + 1 bytes); its length, or -1 for a
 * bad escape or a NUL, raw or decoded. */
static long ref_decode(const char *s, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			if (len - i < 3 || ref_hex((unsigned char)s[i + 1]) < 0 ||
			    ref_hex((unsigned char)s[i + 2]) < 0)
				return -1;
			c = ref_hex((unsigned char)s[i + 1]) * 16 +
			    ref_hex((unsigned char)s[i + 2]);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (!c)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (long)o;
}

static void fuzz_form(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct vec out = VEC_INIT;
	char *name = malloc(size + 1), *value = malloc(size + 1);
	size_t i = 0, pairs = 0;
	int rc, ref_rc = 0;

	if (!name || !value)
		abort();
	rc = web_form_parse(body, size, &out);
	CHECK(rc == 0 || rc == -1);
	CHECK(out.n % 2 == 0);                   /* names and values, in pairs */
	CHECK(out.n == 0 || out.v[out.n] == NULL);

	/* The same walk, by the reference decoder. */
	while (i < size) {
		const char *piece = body + i, *eq;
		size_t end = i, plen;
		long nl, vl = 0;

		while (end < size && body[end] != '&')
			end++;
		plen = end - i;
		eq = memchr(piece, '=', plen);
		nl = ref_decode(piece, eq ? (size_t)(eq - piece) : plen, name);
		if (nl >= 0 && eq)
			vl = ref_decode(eq + 1, plen - (size_t)(eq - piece) - 1,
					value);
		else
			value[0] = '\0';
		if (nl < 0 || vl < 0) {
			ref_rc = -1;
			break;
		}
		if (nl > 0) {
			CHECK(2 * pairs + 1 < out.n);
			CHECK(strlen(out.v[2 * pairs]) == (size_t)nl);
			CHECK(!strcmp(out.v[2 * pairs], name));
			CHECK(strlen(out.v[2 * pairs + 1]) == (size_t)vl);
			CHECK(!strcmp(out.v[2 * pairs + 1], value));
			pairs++;
		}
		i = end + 1;
	}
	CHECK(rc == ref_rc);
	CHECK(out.n == 2 * pairs);

	/* Every name is non-empty, and web_form_get finds its first value. */
	for (size_t k = 0; k < out.n; k += 2) {
		const char *got = web_form_get(&out, out.v[k]);
		size_t first = k;

		CHECK(out.v[k][0] != '\0');
		CHECK(out.v[k + 1] != NULL);
		for (size_t j = 0; j < k; j += 2)
			if (!strcmp(out.v[j], out.v[k])) {
				first = j;
				break;
			}
		CHECK(got == out.v[first + 1]);
	}
	CHECK(web_form_get(&out, "") == NULL);
	vec_clear(&out);
	free(name);
	free(value);
}

/* --- log names --- */

static void fuzz_log_name(const char *s)
{
	int ok = web_log_name_ok(s);
	size_t n = strlen(s);
	json_t *j = json_string(s);

	/* UTF-8 as Jansson, the JSON answers' encoder, judges it */
	CHECK(web_utf8_ok(s) == (j != NULL));
	json_decref(j);
	if (!ok)
		return;
	CHECK(ok == 1);
	CHECK(n >= 1 && n <= 255);
	CHECK(s[0] != '.');
	CHECK(strcmp(s, ".") && strcmp(s, ".."));
	CHECK(strchr(s, '/') == NULL);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || (c && strchr("._-+@=,", c)));
	}
}

/* --- cookies --- */

/*
 * The reference: the header's pieces between ';', without their leading
 * spaces; the first one that is NAME=... gives the value (up to the next
 * ';'), which must fit. Only for names without ';' nor a leading space,
 * where "piece" means something. Returns the value's length or -1, and
 * where it is.
 */
static long ref_cookie(const char *header, const char *name, size_t outlen,
		       const char **val)
{
	size_t nlen = strlen(name);
	const char *p = header;

	for (;;) {
		const char *end = strchr(p, ';');
		size_t plen = end ? (size_t)(end - p) : strlen(p);

		while (plen && *p == ' ') {
			p++;
			plen--;
		}
		if (plen > nlen && !memcmp(p, name, nlen) && p[nlen] == '=') {
			size_t vlen = plen - nlen - 1;

			if (vlen + 1 > outlen)
				return -1;
			*val = p + nlen + 1;
			return (long)vlen;
		}
		if (!end)
			return -1;
		p = end + 1;
	}
}

static void fuzz_cookie(const char *header, const char *name, size_t outlen)
{
	char *out = malloc(outlen);       /* exactly outlen, for ASan to watch */
	const char *val = NULL;
	int rc;

	if (!out && outlen)
		abort();
	if (outlen)
		memset(out, FILL, outlen);
	rc = web_cookie_get(header, name, out, outlen);
	CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		const char *nul = memchr(out, '\0', outlen);

		CHECK(outlen > 0);
		CHECK(nul != NULL);
		CHECK(memchr(out, ';', (size_t)(nul - out)) == NULL);
	}
	if (!strchr(name, ';') && name[0] != ' ') {
		long l = ref_cookie(header, name, outlen, &val);

		CHECK((rc == 0) == (l >= 0));
		if (rc == 0) {
			CHECK(strlen(out) == (size_t)l);
			CHECK(!memcmp(out, val, (size_t)l));
		}
	}
	free(out);
}

/* --- JSON bodies --- */

/* A why buffer of whylen bytes; a failure says something, within it. */
static void check_why(const char *why, size_t whylen)
{
	const char *nul = memchr(why, '\0', whylen);

	CHECK(nul != NULL);
	CHECK(whylen == 1 || nul > why);
}

static void check_assignments(const struct vec *v)
{
	for (size_t i = 0; i < v->n; i++) {
		const char *eq = strchr(v->v[i], '=');

		CHECK(eq != NULL && eq > v->v[i]);
	}
}

static void fuzz_request(const uint8_t *data, size_t size, size_t whylen)
{
	struct request rq;
	json_t *root = (json_t *)(uintptr_t)1;   /* must be set, even on errors */
	char *why = malloc(whylen);
	int rc;

	if (!why)
		abort();
	memset(why, FILL, whylen);
	why[0] = '\0';
	request_init(&rq);
	rc = web_parse_request((const char *)data, size, &rq, &root, why, whylen);
	CHECK(rc == 0 || rc == -1);
	CHECK(root != (json_t *)(uintptr_t)1);
	if (rc < 0) {
		check_why(why, whylen);
	} else {
		CHECK(json_is_object(root));
		CHECK(rq.branch || rq.revs.n);
		CHECK(!rq.branch || rq.branch[0]);
		CHECK(!rq.host || rq.host[0]);
		CHECK(rq.no_reuse == 0 || rq.no_reuse == 1);
		check_assignments(&rq.revs);
		check_assignments(&rq.runvars);
		for (size_t i = 0; i < rq.jobs.n; i++)
			CHECK(rq.jobs.v[i][0] != '\0');
	}
	request_release(&rq);
	json_decref(root);
	free(why);
}

static void fuzz_reservation(const uint8_t *data, size_t size, size_t whylen)
{
	struct sched_reserve rs;
	json_t *root = (json_t *)(uintptr_t)1;
	char *why = malloc(whylen);
	int rc;

	if (!why)
		abort();
	memset(why, FILL, whylen);
	why[0] = '\0';
	memset(&rs, 0, sizeof(rs));
	rc = web_parse_reservation((const char *)data, size, &rs, &root, why,
				   whylen);
	CHECK(rc == 0 || rc == -1);
	CHECK(root != (json_t *)(uintptr_t)1);
	if (rc < 0) {
		check_why(why, whylen);
	} else {
		CHECK(json_is_object(root));
		CHECK(!rs.host != !rs.arch);
		CHECK(!rs.host || (rs.host[0] && rs.nhosts == 1));
		CHECK(!rs.arch || rs.arch[0]);
		CHECK(!rs.flags || rs.flags[0]);
		CHECK(!rs.reason || rs.reason[0]);
		CHECK(rs.nhosts >= 1 && rs.nhosts <= 64);
		CHECK(rs.duration >= 60 && rs.duration <= 30 * 86400);
	}
	json_decref(root);
	free(why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *f[NFIELDS];
	const uint8_t *rest;
	size_t nrest, whylen;
	int sel;

	if (!size)
		return 0;
	sel = data[0] % 8;
	whylen = 1 + (size_t)(data[0] >> 3) * 8;   /* 1 to 249 bytes */
	rest = data + 1;
	nrest = size - 1;

	switch (sel) {
	case 0:
		split_fields(rest, nrest, f, 2);
		fuzz_route(f[0], f[1]);
		free_fields(f, 2);
		break;
	case 1:
		split_fields(rest, nrest, f, 2);
		fuzz_match(f[0], f[1]);
		free_fields(f, 2);
		break;
	case 2:
		fuzz_form(rest, nrest);
		break;
	case 3:
		f[0] = strcopy(rest, nrest);
		fuzz_log_name(f[0]);
		free(f[0]);
		break;
	case 4:
		if (!nrest)
			break;
		split_fields(rest + 1, nrest - 1, f, 2);
		fuzz_cookie(f[0], f[1], rest[0]);
		free_fields(f, 2);
		break;
	case 5:
		fuzz_request(rest, nrest, whylen);
		break;
	case 6:
		fuzz_reservation(rest, nrest, whylen);
		break;
	default:
		f[0] = strcopy(rest, nrest);
		fuzz_route("GET", f[0]);
		fuzz_route("POST", f[0]);
		fuzz_form(rest, nrest);
		fuzz_log_name(f[0]);
		fuzz_cookie(f[0], "hangar_session", 65);
		fuzz_request(rest, nrest, 256);
		fuzz_reservation(rest, nrest, 256);
		free(f[0]);
		break;
	}
	return 0;
}
