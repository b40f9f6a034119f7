/*
 * testcases.c: per-test-case results from a suite's output (TAP, XTF's
 * console, our HANGAR-CASE lines, JUnit XML), see testcases.h. The line
 * formats share one streaming reader: bytes are cut into bounded lines,
 * each line goes to its format's handler, and every case goes through
 * case_list_add, which applies the naming rules and keeps names unique.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strmap.h"
#include "testcases.h"
#include "xalloc.h"
#include "banned.h"

#define JUNIT_DEPTH_MAX 256

/* ---- names, details, the list of cases ---- */

struct case_list {
	struct case_result *v;
	size_t n, alloc;
	size_t dropped;       /* cases beyond CASES_MAX */
	struct strmap names;  /* name -> next "~K" suffix to try */
};

static int name_byte_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
	       c == '(' || c == ')' || c == '-' || c == '/';
}

/* Whether s[0..n) is a path component made only of dots ("." or ".."). */
static int dots_only(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != '.')
			return 0;
	return n > 0;
}

/*
 * The tidying rules over s[0..n) in place (bytes already mapped): empty
 * components dropped ("//"), dot-only components ("..", which would climb
 * out of the log directory) made "_", '_' runs collapsed, '_' and '/'
 * stripped at both ends, where a component left made of dots ("_.." ->
 * "..") goes too. Linear: names come from untrusted output of any length.
 * Returns the new length.
 */
static size_t name_tidy(char *s, size_t n)
{
	size_t i = 0, o = 0, lo, hi;

	while (i < n) {
		size_t start;

		if (s[i] == '/') {
			/* a separator is written before each kept component */
			i++;
			continue;
		}
		start = i;
		while (i < n && s[i] != '/')
			i++;
		if (o > 0)
			s[o++] = '/';
		if (dots_only(s + start, i - start)) {
			s[o++] = '_';
			continue;
		}
		for (size_t k = start; k < i; k++)
			if (!(s[k] == '_' && o > 0 && s[o - 1] == '_'))
				s[o++] = s[k];
	}
	/* only the first and last components can still change */
	lo = 0;
	hi = o;
	for (;;) {
		size_t end;

		while (lo < hi && (s[lo] == '_' || s[lo] == '/'))
			lo++;
		end = lo;
		while (end < hi && s[end] != '/')
			end++;
		if (lo < hi && dots_only(s + lo, end - lo)) {
			lo = end;
			continue;
		}
		break;
	}
	for (;;) {
		size_t start;

		while (hi > lo && (s[hi - 1] == '_' || s[hi - 1] == '/'))
			hi--;
		start = hi;
		while (start > lo && s[start - 1] != '/')
			start--;
		if (hi > lo && dots_only(s + start, hi - start)) {
			hi = start;
			continue;
		}
		break;
	}
	memmove(s, s + lo, hi - lo);
	return hi - lo;
}

/*
 * The naming rules, without the position and uniqueness ones: raw[0..len)
 * into out (CASE_NAME_MAX + 1 bytes), possibly "".
 */
static void name_clean(const char *raw, size_t len, char *out)
{
	char *tmp = xmalloc(len + 1);
	size_t n;

	for (size_t i = 0; i < len; i++)
		tmp[i] = name_byte_ok((unsigned char)raw[i]) ? raw[i] : '_';
	n = name_tidy(tmp, len);
	if (n > CASE_NAME_MAX)
		n = name_tidy(tmp, CASE_NAME_MAX);
	memcpy(out, tmp, n);
	out[n] = '\0';
	free(tmp);
}

/* Length of a valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * A detail from untrusted bytes: one line of valid UTF-8 (it goes into the
 * database and onto web pages), at most CASE_DETAIL_MAX bytes cut at a
 * character boundary, blanks trimmed; NULL when nothing is left.
 */
static char *detail_make(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	char out[CASE_DETAIL_MAX + 1];
	size_t i = 0, o = 0;

	while (i < len && (u[i] == ' ' || u[i] == '\t'))
		i++;
	while (i < len && o < CASE_DETAIL_MAX) {
		size_t k = utf8_seq(u + i, len - i);

		if (k == 0) {
			out[o++] = '?';
			i++;
		} else if (k == 1) {
			out[o++] = (u[i] < 0x20 || u[i] == 0x7f) ? ' ' :
								   (char)u[i];
			i++;
		} else {
			if (o + k > CASE_DETAIL_MAX)
				break;
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
		}
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	if (o == 0)
		return NULL;
	return xstrndup(out, o);
}

static const char *const status_pass = "pass";
static const char *const status_fail = "fail";
static const char *const status_skip = "skip";

static int digits(long k)
{
	int d = 1;

	while (k >= 10) {
		k /= 10;
		d++;
	}
	return d;
}

/*
 * Appends a case whose name went through name_clean; takes detail (owned,
 * from detail_make). Returns the case, or NULL when over CASES_MAX.
 *
 * A repeated name becomes STEM~K, STEM the name cut so that the whole
 * fits CASE_NAME_MAX. Each stem keeps its next K in the map under
 * "STEM~" (no name ends in '~'), so there is no probing: '~' never
 * survives name_clean, so STEM~K can only be made from this stem, with
 * this K. Long names that differ only past the cut share a stem and its
 * numbers.
 */
static struct case_result *case_list_add(struct case_list *cl,
					 const char *clean, const char *status,
					 char *detail)
{
	char base[CASE_NAME_MAX + 1], cand[CASE_NAME_MAX + 1];
	char stemkey[CASE_NAME_MAX + 2];
	struct case_result *c;

	if (cl->n >= CASES_MAX) {
		cl->dropped++;
		free(detail);
		return NULL;
	}
	if (*clean)
		snprintf(base, sizeof(base), "%s", clean);
	else
		snprintf(base, sizeof(base), "case-%zu", cl->n + 1);
	if (strmap_get(&cl->names, base) < 0) {
		strmap_put(&cl->names, base, 1);
		snprintf(cand, sizeof(cand), "%s", base);
	} else {
		long k = 2, next;
		size_t bl;

		for (;;) {
			int d = digits(k);

			bl = strlen(base);
			if (bl + 1 + (size_t)d > CASE_NAME_MAX)
				bl = CASE_NAME_MAX - 1 - (size_t)d;
			while (bl > 1 && (base[bl - 1] == '_' ||
					  base[bl - 1] == '/'))
				bl--;
			snprintf(stemkey, sizeof(stemkey), "%.*s~", (int)bl,
				 base);
			next = strmap_get(&cl->names, stemkey);
			if (next > k)
				k = next;
			/* more digits: a shorter stem, with its own count */
			if (digits(k) == d)
				break;
		}
		snprintf(cand, sizeof(cand), "%.*s~%ld", (int)bl, base, k);
		strmap_put(&cl->names, stemkey, k + 1);
	}
	XGROW(cl->v, cl->alloc, cl->n + 1);
	c = &cl->v[cl->n++];
	c->name = xstrdup(cand);
	c->status = status;
	c->detail = detail;
	return c;
}

static void case_list_release(struct case_list *cl)
{
	case_results_free(cl->v, cl->n);
	strmap_clear(&cl->names);
	memset(cl, 0, sizeof(*cl));
}

/* Hands the cases over to the caller; cl keeps nothing. */
static void case_list_take(struct case_list *cl, struct case_result **out,
			   size_t *n)
{
	*out = cl->n ? cl->v : NULL;
	*n = cl->n;
	if (!cl->n)
		free(cl->v);
	cl->v = NULL;
	cl->n = cl->alloc = 0;
	strmap_clear(&cl->names);
}

void case_results_free(struct case_result *c, size_t n)
{
	if (!c)
		return;
	for (size_t i = 0; i < n; i++) {
		free(c[i].name);
		free(c[i].detail);
	}
	free(c);
}

static void why_set(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* ---- formats ---- */

static const char *const format_words[] = {
	[CASES_TAP] = "tap",
	[CASES_XTF] = "xtf",
	[CASES_HANGAR] = "hangar",
	[CASES_JUNIT] = "junit",
};

int case_format_parse(const char *word, enum case_format *f)
{
	if (!word)
		return -1;
	for (size_t i = 0; i < sizeof(format_words) / sizeof(*format_words);
	     i++) {
		if (!strcmp(word, format_words[i])) {
			*f = (enum case_format)i;
			return 0;
		}
	}
	return -1;
}

const char *case_format_str(enum case_format f)
{
	if ((size_t)f >= sizeof(format_words) / sizeof(*format_words))
		return "unknown";
	return format_words[f];
}

/* ---- small helpers on (pointer, length) text ---- */

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t pl = strlen(prefix);

	return len >= pl && !memcmp(s, prefix, pl);
}

static const char *find(const char *s, size_t len, const char *needle)
{
	return memmem(s, len, needle, strlen(needle));
}

static void skip_blanks(const char **s, size_t *len)
{
	while (*len && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
}

static void trim_blanks_end(const char *s, size_t *len)
{
	while (*len && (is_blank(s[*len - 1]) || s[*len - 1] == '\r'))
		(*len)--;
}

/*
 * A count of decimal digits at *s; -1 when there are none. Values past
 * a billion are held at a billion and one: more than any output has.
 */
static long parse_count(const char **s, size_t *len)
{
	long v = 0;
	int any = 0;

	while (*len && **s >= '0' && **s <= '9') {
		if (v < 100000000L)
			v = v * 10 + (**s - '0');
		else
			v = 1000000001L;
		any = 1;
		(*s)++;
		(*len)--;
	}
	return any ? v : -1;
}

/* ---- the streaming reader ---- */

enum xtf_state { XTF_IDLE, XTF_ENV, XTF_TITLE, XTF_RUN };

struct case_reader {
	enum case_format fmt;
	int finished;
	char line[CASE_LINE_MAX];
	size_t linelen;
	int cutting;          /* dropping the rest of an over-long line */
	struct case_list cl;

	/* tap */
	long plan;            /* -1: none */
	int bailed;
	char *bail_reason;
	int yaml;             /* inside the YAML block of yaml_case */
	long yaml_case;       /* index of the last "not ok", or -1 */

	/* xtf */
	enum xtf_state xstate;
	char title[CASE_NAME_MAX + 1];
	char instance[CASE_NAME_MAX + 1];
	char fails[CASE_DETAIL_MAX + 1];
	char skips[CASE_DETAIL_MAX + 1];
	char lastline[CASE_DETAIL_MAX + 1];
	char unfinished[CASE_NAME_MAX + 1];
	int has_unfinished;

	/* hangar (plan shared with tap) */
	long cases_seen;      /* including dropped ones */
};

/* -- tap -- */

static void tap_yaml_line(struct case_reader *r, const char *s, size_t len)
{
	struct case_result *c;

	skip_blanks(&s, &len);
	trim_blanks_end(s, &len);
	if (r->yaml_case < 0)
		return;
	if (len == 3 && !memcmp(s, "---", 3)) {
		r->yaml = 1;
		return;
	}
	if (len == 3 && !memcmp(s, "...", 3)) {
		r->yaml = 0;
		r->yaml_case = -1;
		return;
	}
	if (!r->yaml || !has_prefix(s, len, "message:"))
		return;
	s += 8;
	len -= 8;
	skip_blanks(&s, &len);
	if (len >= 2 && (s[0] == '\'' || s[0] == '"') && s[len - 1] == s[0]) {
		s++;
		len -= 2;
	}
	c = &r->cl.v[r->yaml_case];
	if (!c->detail)
		c->detail = detail_make(s, len);
}

static void tap_case(struct case_reader *r, int ok, const char *s, size_t len)
{
	char name[CASE_NAME_MAX + 1], num[24];
	const char *status = ok ? status_pass : status_fail;
	const char *desc, *hash = NULL;
	size_t desclen, i;
	char *detail = NULL;
	long number;
	struct case_result *c;

	skip_blanks(&s, &len);
	number = parse_count(&s, &len);
	if (number < 0)
		number = r->cases_seen + 1;
	skip_blanks(&s, &len);
	if (len && s[0] == '-' && (len == 1 || is_blank(s[1]))) {
		s++;
		len--;
		skip_blanks(&s, &len);
	}
	/* the description ends at the first unescaped '#' */
	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len) {
			i++;
			continue;
		}
		if (s[i] == '#') {
			hash = s + i;
			break;
		}
	}
	desc = s;
	desclen = hash ? (size_t)(hash - s) : len;
	trim_blanks_end(desc, &desclen);
	if (hash) {
		const char *d = hash + 1;
		size_t dl = len - (size_t)(d - s);
		int skip = 0, todo = 0;

		skip_blanks(&d, &dl);
		if (dl >= 4 && !strncasecmp(d, "skip", 4))
			skip = 1;
		else if (dl >= 4 && !strncasecmp(d, "todo", 4))
			todo = 1;
		if (skip || todo) {
			/* "SKIP", "skipped:", "TODO:" then the reason */
			while (dl && ((*d >= 'a' && *d <= 'z') ||
				      (*d >= 'A' && *d <= 'Z'))) {
				d++;
				dl--;
			}
			if (dl && *d == ':') {
				d++;
				dl--;
			}
			skip_blanks(&d, &dl);
			trim_blanks_end(d, &dl);
		}
		if (skip) {
			status = status_skip;
			detail = detail_make(d, dl);
		} else if (todo) {
			char buf[CASE_DETAIL_MAX + 8];
			int bl = snprintf(buf, sizeof(buf), "TODO%s%.*s",
					  dl ? ": " : "",
					  (int)(dl > CASE_DETAIL_MAX ?
						CASE_DETAIL_MAX : dl), d);

			status = status_pass;
			detail = detail_make(buf, (size_t)bl < sizeof(buf) ?
					     (size_t)bl : sizeof(buf) - 1);
		}
	}
	if (desclen) {
		name_clean(desc, desclen, name);
	} else {
		snprintf(num, sizeof(num), "%ld", number);
		name_clean(num, strlen(num), name);
	}
	r->cases_seen++;
	c = case_list_add(&r->cl, name, status, detail);
	r->yaml = 0;
	r->yaml_case = (c && !ok) ? (long)(c - r->cl.v) : -1;
}

static void tap_line(struct case_reader *r, const char *s, size_t len)
{
	if (r->bailed)
		return;
	if (len && is_blank(s[0])) {
		tap_yaml_line(r, s, len);
		return;
	}
	r->yaml = 0;
	r->yaml_case = -1;
	if (has_prefix(s, len, "ok") && (len == 2 || is_blank(s[2]))) {
		tap_case(r, 1, s + 2, len - 2);
	} else if (has_prefix(s, len, "not ok") &&
		   (len == 6 || is_blank(s[6]))) {
		tap_case(r, 0, s + 6, len - 6);
	} else if (has_prefix(s, len, "1..")) {
		const char *p = s + 3;
		size_t pl = len - 3;
		long n = parse_count(&p, &pl);

		skip_blanks(&p, &pl);
		if (n >= 0 && (!pl || *p == '#') && r->plan < 0)
			r->plan = n;
	} else if (has_prefix(s, len, "Bail out!")) {
		const char *p = s + 9;
		size_t pl = len - 9;

		skip_blanks(&p, &pl);
		trim_blanks_end(p, &pl);
		r->bailed = 1;
		r->bail_reason = detail_make(p, pl);
	}
}

/* -- xtf -- */

/*
 * Console noise before the text: "(XEN) ", "(d1) ", "[    1.234] ",
 * "[2024-05-01 10:00:00.123] ", any number of them.
 */
static void xtf_strip_noise(const char **s, size_t *len)
{
	for (;;) {
		const char *p = *s;
		size_t l = *len, k;

		skip_blanks(&p, &l);
		if (l && (p[0] == '(' || p[0] == '[')) {
			char close = p[0] == '(' ? ')' : ']';
			int ok = 1;

			for (k = 1; k < l && k < 40 && p[k] != close; k++) {
				char c = p[k];

				if (close == ')' &&
				    !((c >= 'a' && c <= 'z') ||
				      (c >= 'A' && c <= 'Z') ||
				      (c >= '0' && c <= '9')))
					ok = 0;
				if (close == ']' &&
				    !((c >= '0' && c <= '9') || c == ' ' ||
				      c == '.' || c == ':' || c == '-' ||
				      c == 'T' || c == '+' || c == 'Z' ||
				      c == ','))
					ok = 0;
			}
			if (ok && k > 1 && k < l && p[k] == close) {
				*s = p + k + 1;
				*len = l - k - 1;
				continue;
			}
		}
		*s = p;
		*len = l;
		return;
	}
}

/* Appends s to acc (a detail buffer), "; "-separated, bounded. */
static void xtf_collect(char *acc, const char *s, size_t len)
{
	size_t al = strlen(acc);

	if (al && al + 2 < CASE_DETAIL_MAX) {
		memcpy(acc + al, "; ", 2);
		al += 2;
	}
	if (al >= CASE_DETAIL_MAX)
		return;
	if (len > CASE_DETAIL_MAX - al)
		len = CASE_DETAIL_MAX - al;
	memcpy(acc + al, s, len);
	acc[al + len] = '\0';
}

static void xtf_reset(struct case_reader *r, enum xtf_state st)
{
	r->xstate = st;
	r->title[0] = r->fails[0] = r->skips[0] = r->lastline[0] = '\0';
}

static const char *xtf_name(struct case_reader *r)
{
	return r->instance[0] ? r->instance : r->title;
}

static void xtf_end(struct case_reader *r, const char *status, char *detail)
{
	r->cases_seen++;
	case_list_add(&r->cl, xtf_name(r), status, detail);
	r->instance[0] = '\0';
	xtf_reset(r, XTF_IDLE);
}

static void xtf_unfinished(struct case_reader *r)
{
	static const char msg[] = "no test result (crashed or cut off)";

	if (!r->has_unfinished) {
		r->has_unfinished = 1;
		snprintf(r->unfinished, sizeof(r->unfinished), "%s",
			 *xtf_name(r) ? xtf_name(r) : "(untitled)");
	}
	xtf_end(r, status_fail, detail_make(msg, sizeof(msg) - 1));
}

static void xtf_result(struct case_reader *r, const char *s, size_t len)
{
	const char *word, *status, *coll;
	size_t wl = 0;
	char *detail;

	skip_blanks(&s, &len);
	word = s;
	while (wl < len && s[wl] >= 'A' && s[wl] <= 'Z')
		wl++;
	s += wl;
	len -= wl;
	trim_blanks_end(s, &len);
	if (wl == 7 && !memcmp(word, "SUCCESS", 7)) {
		status = status_pass;
		coll = "";
	} else if (wl == 4 && !memcmp(word, "SKIP", 4)) {
		status = status_skip;
		coll = r->skips;
	} else if ((wl == 5 && !memcmp(word, "ERROR", 5)) ||
		   (wl == 7 && !memcmp(word, "FAILURE", 7))) {
		status = status_fail;
		coll = r->fails;
	} else {
		char buf[64];
		int bl = snprintf(buf, sizeof(buf), "unknown test result '%.*s'",
				  (int)(wl > 20 ? 20 : wl), word);

		xtf_end(r, status_fail, detail_make(buf, (size_t)bl));
		return;
	}
	detail = detail_make(s, len);
	if (!detail && *coll)
		detail = detail_make(coll, strlen(coll));
	if (!detail && status != status_pass)
		detail = detail_make(r->lastline, strlen(r->lastline));
	xtf_end(r, status, detail);
}

/* xtf-runner's "Executing 'xl create -p tests/foo/test-hvm64-foo.cfg'" */
static void xtf_runner_line(struct case_reader *r, const char *s, size_t len)
{
	const char *cfg, *start;

	if (!find(s, len, "xl create") || !(cfg = find(s, len, ".cfg")))
		return;
	start = cfg;
	while (start > s && !is_blank(start[-1]) && start[-1] != '/' &&
	       start[-1] != '\'' && start[-1] != '"')
		start--;
	name_clean(start, (size_t)(cfg - start), r->instance);
}

static void xtf_line(struct case_reader *r, const char *s, size_t len)
{
	const char *p;

	if (find(s, len, "--- Xen Test Framework ---")) {
		if (r->xstate != XTF_IDLE)
			xtf_unfinished(r);
		xtf_reset(r, XTF_ENV);
		return;
	}
	if ((p = find(s, len, "Test result:"))) {
		xtf_result(r, p + 12, len - (size_t)(p + 12 - s));
		return;
	}
	if (r->xstate == XTF_IDLE) {
		if (find(s, len, "Executing '"))
			xtf_runner_line(r, s, len);
		return;
	}
	xtf_strip_noise(&s, &len);
	trim_blanks_end(s, &len);
	if (!len)
		return;
	switch (r->xstate) {
	case XTF_ENV:
		if (has_prefix(s, len, "Environment:")) {
			r->xstate = XTF_TITLE;
			return;
		}
		/* an XTF without the Environment line: this is the title */
		/* fall through */
	case XTF_TITLE:
		name_clean(s, len, r->title);
		r->xstate = XTF_RUN;
		return;
	case XTF_RUN:
		if (has_prefix(s, len, "Fail") || has_prefix(s, len, "Error") ||
		    has_prefix(s, len, "PANIC") ||
		    has_prefix(s, len, "Test did not report"))
			xtf_collect(r->fails, s, len);
		else if (has_prefix(s, len, "Skip"))
			xtf_collect(r->skips, s, len);
		if (len > CASE_DETAIL_MAX)
			len = CASE_DETAIL_MAX;
		memcpy(r->lastline, s, len);
		r->lastline[len] = '\0';
		return;
	case XTF_IDLE:
		return;
	}
}

/* -- hangar -- */

static int hangar_try(struct case_reader *r, const char *s, size_t len)
{
	if (len && s[0] == 'S' && (len == 1 || is_blank(s[1]))) {
		long n;

		s++;
		len--;
		skip_blanks(&s, &len);
		trim_blanks_end(s, &len);
		n = parse_count(&s, &len);
		if (n < 0 || len)
			return -1;
		if (r->plan < 0)
			r->plan = n;
		return 0;
	}
	if (len && is_blank(s[0])) {
		const char *name, *word, *status;
		size_t nl = 0, wl = 0;
		char clean[CASE_NAME_MAX + 1];

		skip_blanks(&s, &len);
		name = s;
		while (nl < len && !is_blank(name[nl]))
			nl++;
		s += nl;
		len -= nl;
		skip_blanks(&s, &len);
		word = s;
		while (wl < len && !is_blank(word[wl]))
			wl++;
		s += wl;
		len -= wl;
		if (!nl)
			return -1;
		if (wl == 4 && !memcmp(word, "pass", 4))
			status = status_pass;
		else if (wl == 4 && !memcmp(word, "fail", 4))
			status = status_fail;
		else if (wl == 4 && !memcmp(word, "skip", 4))
			status = status_skip;
		else
			return -1;
		trim_blanks_end(s, &len);
		name_clean(name, nl, clean);
		r->cases_seen++;
		case_list_add(&r->cl, clean, status, detail_make(s, len));
		return 0;
	}
	return -1;
}

static void hangar_line(struct case_reader *r, const char *s, size_t len)
{
	const char *p;
	int tries = 0;

	/*
	 * The first marker that parses counts; a few tries only, so that a
	 * line made of markers costs a bounded multiple of its length.
	 */
	while (tries++ < 8 && (p = find(s, len, "HANGAR-CASE"))) {
		size_t off = (size_t)(p - s) + 11;

		if (hangar_try(r, s + off, len - off) == 0)
			return;
		s += off;
		len -= off;
	}
}

/* -- the reader -- */

struct case_reader *case_reader_new(enum case_format f)
{
	struct case_reader *r;

	if (f != CASES_TAP && f != CASES_XTF && f != CASES_HANGAR)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->fmt = f;
	r->plan = -1;
	r->yaml_case = -1;
	return r;
}

static void reader_line(struct case_reader *r, const char *s, size_t len)
{
	/* \r\n, and the \r\r\n of some consoles */
	while (len && s[len - 1] == '\r')
		len--;
	switch (r->fmt) {
	case CASES_TAP:
		tap_line(r, s, len);
		break;
	case CASES_XTF:
		xtf_line(r, s, len);
		break;
	case CASES_HANGAR:
		hangar_line(r, s, len);
		break;
	case CASES_JUNIT:
		break;
	}
}

void case_reader_feed(struct case_reader *r, const char *data, size_t len)
{
	if (!r || r->finished)
		return;
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t chunk = nl ? (size_t)(nl - data) : len;

		if (nl && r->linelen == 0 && !r->cutting) {
			/* the common case: a whole line, no copy */
			reader_line(r, data, chunk < CASE_LINE_MAX ?
					     chunk : CASE_LINE_MAX);
		} else {
			if (!r->cutting) {
				size_t room = CASE_LINE_MAX - r->linelen;
				size_t take = chunk < room ? chunk : room;

				memcpy(r->line + r->linelen, data, take);
				r->linelen += take;
				if (take < chunk)
					r->cutting = 1;
			}
			if (nl) {
				reader_line(r, r->line, r->linelen);
				r->linelen = 0;
				r->cutting = 0;
			}
		}
		if (!nl)
			break;
		data = nl + 1;
		len -= chunk + 1;
	}
}

int case_reader_finish(struct case_reader *r, struct case_result **out,
		       size_t *n, char *why, size_t whylen)
{
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (why && whylen)
		why[0] = '\0';
	if (!r || r->finished) {
		why_set(why, whylen, "case reader already finished");
		return -1;
	}
	if (r->linelen || r->cutting)
		reader_line(r, r->line, r->linelen);
	r->linelen = 0;
	r->finished = 1;
	if (r->fmt == CASES_XTF && r->xstate != XTF_IDLE)
		xtf_unfinished(r);

	if (r->bailed) {
		why_set(why, whylen, "bail out%s%s",
			r->bail_reason ? ": " : "",
			r->bail_reason ? r->bail_reason : "");
		rc = -1;
	} else if (r->has_unfinished) {
		why_set(why, whylen,
			"test '%s' started but reported no result",
			r->unfinished);
		rc = -1;
	} else if (r->fmt == CASES_TAP && r->plan > r->cases_seen) {
		why_set(why, whylen, "plan 1..%ld but %ld test case%s ran",
			r->plan, r->cases_seen, r->cases_seen == 1 ? "" : "s");
		rc = -1;
	} else if (r->fmt == CASES_HANGAR && r->plan >= 0 &&
		   r->plan != r->cases_seen) {
		why_set(why, whylen, "HANGAR-CASES %ld but %ld case%s seen",
			r->plan, r->cases_seen, r->cases_seen == 1 ? "" : "s");
		rc = -1;
	} else if (r->cases_seen == 0 && r->plan != 0) {
		why_set(why, whylen, "no test case in the output");
		rc = -1;
	} else if (r->cl.dropped) {
		why_set(why, whylen,
			"more than %d test cases (%zu dropped)", CASES_MAX,
			r->cl.dropped);
		rc = -1;
	}
	case_list_take(&r->cl, out, n);
	return rc;
}

void case_reader_free(struct case_reader *r)
{
	if (!r)
		return;
	case_list_release(&r->cl);
	free(r->bail_reason);
	free(r);
}

/* ---- JUnit XML ---- */

struct span {
	const char *s;
	size_t len;
};

/* Appends code point cp as UTF-8 at o; returns bytes written, or 0. */
static size_t utf8_put(char *o, unsigned long cp)
{
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decodes the predefined entities and character references of s into a
 * new buffer (never longer than s: "&#N;" is at least as long as N's
 * UTF-8); *olen is its length. An entity we do not know stays as it is.
 */
static char *xml_decode(const char *s, size_t len, size_t *olen)
{
	static const struct {
		const char *name;
		char c;
	} ents[] = {
		{ "lt;", '<' }, { "gt;", '>' }, { "amp;", '&' },
		{ "quot;", '"' }, { "apos;", '\'' },
	};
	char *out = xmalloc(len + 1);
	size_t i = 0, o = 0;

	while (i < len) {
		const char *amp = memchr(s + i, '&', len - i);
		size_t k, plain = amp ? (size_t)(amp - s) - i : len - i;
		int done = 0;

		memcpy(out + o, s + i, plain);
		o += plain;
		i += plain;
		if (!amp)
			break;
		for (k = 0; k < sizeof(ents) / sizeof(*ents); k++) {
			size_t el = strlen(ents[k].name);

			if (len - i - 1 >= el &&
			    !memcmp(s + i + 1, ents[k].name, el)) {
				out[o++] = ents[k].c;
				i += 1 + el;
				done = 1;
				break;
			}
		}
		if (!done && len - i > 2 && s[i + 1] == '#') {
			size_t j = i + 2, digits = 0;
			int hex = 0;
			unsigned long cp = 0;

			if (s[j] == 'x' || s[j] == 'X') {
				hex = 1;
				j++;
			}
			for (; j < len && digits < 8; j++, digits++) {
				char c = s[j];
				int d;

				if (c >= '0' && c <= '9')
					d = c - '0';
				else if (hex && c >= 'a' && c <= 'f')
					d = c - 'a' + 10;
				else if (hex && c >= 'A' && c <= 'F')
					d = c - 'A' + 10;
				else
					break;
				cp = cp * (hex ? 16 : 10) + (unsigned long)d;
			}
			if (digits && j < len && s[j] == ';') {
				size_t w = utf8_put(out + o, cp);

				if (w) {
					o += w;
					i = j + 1;
					done = 1;
				}
			}
		}
		if (!done)
			out[o++] = s[i++];
	}
	out[o] = '\0';
	*olen = o;
	return out;
}

/* The first line of s with something other than blanks in it. */
static char *first_line_detail(const char *s, size_t len)
{
	while (len) {
		const char *nl = memchr(s, '\n', len);
		size_t ll = nl ? (size_t)(nl - s) : len;
		char *d = detail_make(s, ll);

		if (d)
			return d;
		if (!nl)
			break;
		s += ll + 1;
		len -= ll + 1;
	}
	return NULL;
}

static char *decoded_detail(struct span v, int first_line)
{
	size_t dl;
	char *dec = xml_decode(v.s, v.len, &dl);
	char *d = first_line ? first_line_detail(dec, dl) : detail_make(dec, dl);

	free(dec);
	return d;
}

/* The element name without a namespace prefix. */
static struct span local_name(struct span n)
{
	const char *colon = memchr(n.s, ':', n.len);

	if (colon) {
		n.len -= (size_t)(colon + 1 - n.s);
		n.s = colon + 1;
	}
	return n;
}

static int span_is(struct span a, const char *s)
{
	return a.len == strlen(s) && !memcmp(a.s, s, a.len);
}

static int xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int xml_name_end(char c)
{
	return xml_space(c) || c == '/' || c == '>' || c == '=' || c == '<';
}

struct junit {
	const char *x;
	size_t len, i;
	struct case_list cl;
	struct span stack[JUNIT_DEPTH_MAX];
	size_t depth;
	/* the open <testcase>, if any */
	int in_case;
	size_t case_depth;      /* depth with the testcase pushed */
	char case_name[CASE_NAME_MAX + 1];
	const char *case_status;
	char *case_detail;
	size_t text_depth;      /* nonzero: a message-less failure's text */
	char why[160];
};

/* A start tag's attributes we care about. */
struct tag {
	struct span name;
	struct span a_name, a_classname, a_message;
	int has_name, has_classname, has_message;
	int self_closing;
};

static int junit_bad(struct junit *j, const char *what)
{
	snprintf(j->why, sizeof(j->why), "malformed junit xml at byte %zu: %s",
		 j->i, what);
	return -1;
}

/* Parses a start tag at j->i (just after '<'); j->i ends after '>'. */
static int junit_start_tag(struct junit *j, struct tag *t)
{
	const char *x = j->x;
	size_t i = j->i, len = j->len;

	memset(t, 0, sizeof(*t));
	t->name.s = x + i;
	while (i < len && !xml_name_end(x[i]))
		i++;
	t->name.len = (size_t)(x + i - t->name.s);
	if (!t->name.len)
		return junit_bad(j, "a '<' without an element name");
	for (;;) {
		struct span an, av = { NULL, 0 };

		while (i < len && xml_space(x[i]))
			i++;
		if (i >= len)
			return junit_bad(j, "unterminated tag");
		if (x[i] == '>') {
			i++;
			break;
		}
		if (x[i] == '/' && i + 1 < len && x[i + 1] == '>') {
			t->self_closing = 1;
			i += 2;
			break;
		}
		if (x[i] == '<' || x[i] == '/' || x[i] == '=')
			return junit_bad(j, "unterminated tag");
		an.s = x + i;
		while (i < len && !xml_name_end(x[i]))
			i++;
		an.len = (size_t)(x + i - an.s);
		while (i < len && xml_space(x[i]))
			i++;
		if (i < len && x[i] == '=') {
			i++;
			while (i < len && xml_space(x[i]))
				i++;
			if (i < len && (x[i] == '"' || x[i] == '\'')) {
				const char *q = memchr(x + i + 1, x[i],
						       len - i - 1);

				if (!q)
					return junit_bad(
						j, "unterminated attribute value");
				av.s = x + i + 1;
				av.len = (size_t)(q - av.s);
				i = (size_t)(q - x) + 1;
			} else {
				/* tolerated: an unquoted value */
				av.s = x + i;
				while (i < len && !xml_space(x[i]) &&
				       x[i] != '>' && x[i] != '<')
					i++;
				av.len = (size_t)(x + i - av.s);
			}
		}
		if (span_is(an, "name")) {
			t->a_name = av;
			t->has_name = 1;
		} else if (span_is(an, "classname")) {
			t->a_classname = av;
			t->has_classname = 1;
		} else if (span_is(an, "message")) {
			t->a_message = av;
			t->has_message = 1;
		}
	}
	j->i = i;
	return 0;
}

static void junit_case_end(struct junit *j)
{
	case_list_add(&j->cl, j->case_name, j->case_status, j->case_detail);
	j->case_detail = NULL;
	j->in_case = 0;
	j->text_depth = 0;
}

static void junit_case_start(struct junit *j, const struct tag *t)
{
	size_t nl, cl;
	char *dn = NULL, *dc = NULL, *raw;

	dn = t->has_name ? xml_decode(t->a_name.s, t->a_name.len, &nl) : NULL;
	dc = t->has_classname ?
		     xml_decode(t->a_classname.s, t->a_classname.len, &cl) :
		     NULL;
	if (!dn)
		nl = 0;
	if (!dc)
		cl = 0;
	raw = xmalloc(cl + nl + 2);
	if (cl) {
		memcpy(raw, dc, cl);
		raw[cl] = '.';
		memcpy(raw + cl + 1, dn ? dn : "", nl);
		name_clean(raw, cl + 1 + nl, j->case_name);
	} else {
		name_clean(dn ? dn : "", nl, j->case_name);
	}
	free(raw);
	free(dn);
	free(dc);
	j->in_case = 1;
	j->case_status = status_pass;
	j->case_detail = NULL;
	j->text_depth = 0;
}

static void junit_element(struct junit *j, const struct tag *t)
{
	struct span ln = local_name(t->name);

	if (span_is(ln, "testcase")) {
		if (j->in_case)
			return; /* a testcase in a testcase: not a case */
		junit_case_start(j, t);
		if (t->self_closing)
			junit_case_end(j);
		else
			j->case_depth = j->depth + 1;
		return;
	}
	if (!j->in_case)
		return;
	if (span_is(ln, "failure") || span_is(ln, "error")) {
		if (j->case_status == status_fail)
			return; /* the first failure says the most */
		j->case_status = status_fail;
		free(j->case_detail);
		j->case_detail = NULL;
		if (t->has_message)
			j->case_detail = decoded_detail(t->a_message, 0);
		if (!j->case_detail && !t->self_closing)
			j->text_depth = j->depth + 1;
	} else if (span_is(ln, "skipped")) {
		if (j->case_status != status_pass)
			return;
		j->case_status = status_skip;
		if (t->has_message)
			j->case_detail = decoded_detail(t->a_message, 0);
	}
}

/* Text (or CDATA) in the document; only a failure's text is kept. */
static void junit_text(struct junit *j, const char *s, size_t len, int cdata)
{
	struct span v = { s, len };

	if (!j->text_depth || j->depth != j->text_depth || j->case_detail ||
	    !len)
		return;
	if (cdata)
		j->case_detail = first_line_detail(s, len);
	else
		j->case_detail = decoded_detail(v, 1);
}

/* Skips to just after end (from j->i); -1 when it is missing. */
static int junit_skip_past(struct junit *j, const char *end, size_t from)
{
	const char *p = memmem(j->x + from, j->len - from, end, strlen(end));

	if (!p)
		return -1;
	j->i = (size_t)(p - j->x) + strlen(end);
	return 0;
}

static int junit_scan(struct junit *j)
{
	const char *x = j->x;

	while (j->i < j->len) {
		const char *lt = memchr(x + j->i, '<', j->len - j->i);
		size_t at = lt ? (size_t)(lt - x) : j->len;
		size_t rest;

		junit_text(j, x + j->i, at - j->i, 0);
		if (!lt)
			break;
		j->i = at;
		rest = j->len - at;
		if (rest >= 4 && !memcmp(lt, "<!--", 4)) {
			if (junit_skip_past(j, "-->", at + 4) < 0)
				return junit_bad(j, "unterminated comment");
		} else if (rest >= 9 && !memcmp(lt, "<![CDATA[", 9)) {
			const char *end = memmem(lt + 9, rest - 9, "]]>", 3);

			if (!end)
				return junit_bad(j, "unterminated CDATA");
			junit_text(j, lt + 9, (size_t)(end - lt - 9), 1);
			j->i = (size_t)(end - x) + 3;
		} else if (rest >= 2 && !memcmp(lt, "<?", 2)) {
			if (junit_skip_past(j, "?>", at + 2) < 0)
				return junit_bad(j, "unterminated <?");
		} else if (rest >= 2 && lt[1] == '!') {
			/* <!DOCTYPE ...>, perhaps with an internal [subset] */
			size_t k = at + 2;
			int brackets = 0;
			char quote = 0;

			for (; k < j->len; k++) {
				char c = x[k];

				if (quote) {
					if (c == quote)
						quote = 0;
				} else if (c == '"' || c == '\'') {
					quote = c;
				} else if (c == '[') {
					brackets++;
				} else if (c == ']' && brackets) {
					brackets--;
				} else if (c == '>' && !brackets) {
					break;
				}
			}
			if (k >= j->len)
				return junit_bad(j, "unterminated <!");
			j->i = k + 1;
		} else if (rest >= 2 && lt[1] == '/') {
			struct span n = { lt + 2, 0 };
			size_t k = at + 2;

			while (k < j->len && !xml_name_end(x[k]))
				k++;
			n.len = (size_t)(x + k - n.s);
			while (k < j->len && xml_space(x[k]))
				k++;
			if (k >= j->len || x[k] != '>')
				return junit_bad(j, "unterminated end tag");
			if (!j->depth)
				return junit_bad(j, "an end tag with no element open");
			if (n.len != j->stack[j->depth - 1].len ||
			    memcmp(n.s, j->stack[j->depth - 1].s, n.len))
				return junit_bad(j, "mismatched end tag");
			if (j->text_depth == j->depth)
				j->text_depth = 0;
			if (j->in_case && j->case_depth == j->depth)
				junit_case_end(j);
			j->depth--;
			j->i = k + 1;
		} else {
			struct tag t;

			j->i = at + 1;
			if (junit_start_tag(j, &t) < 0)
				return -1;
			junit_element(j, &t);
			if (!t.self_closing) {
				if (j->depth >= JUNIT_DEPTH_MAX)
					return junit_bad(j, "nested too deep");
				j->stack[j->depth++] = t.name;
			}
		}
	}
	if (j->depth) {
		struct span top = j->stack[j->depth - 1];

		snprintf(j->why, sizeof(j->why),
			 "malformed junit xml: <%.*s> not closed at the end",
			 (int)(top.len > 40 ? 40 : top.len), top.s);
		return -1;
	}
	return 0;
}

int case_junit_parse(const char *xml, size_t len, struct case_result **out,
		     size_t *n, char *why, size_t whylen)
{
	struct junit *j;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (why && whylen)
		why[0] = '\0';
	if (len > CASE_JUNIT_MAX) {
		why_set(why, whylen, "junit xml too big (%zu bytes, at most %u)",
			len, CASE_JUNIT_MAX);
		return -1;
	}
	/* on the heap: the element stack is a few KiB */
	j = xcalloc(1, sizeof(*j));
	j->x = xml ? xml : "";
	j->len = xml ? len : 0;
	if (junit_scan(j) < 0) {
		why_set(why, whylen, "%s", j->why);
		rc = -1;
	} else if (!j->cl.n && !j->cl.dropped) {
		why_set(why, whylen, "not junit xml: no <testcase>");
		rc = -1;
	} else if (j->cl.dropped) {
		why_set(why, whylen, "more than %d test cases (%zu dropped)",
			CASES_MAX, j->cl.dropped);
		rc = -1;
	}
	free(j->case_detail);
	case_list_take(&j->cl, out, n);
	free(j);
	return rc;
}
