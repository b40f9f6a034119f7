/*
 * requirements.c: the "hangar" requirements format (requirements.h). The
 * file comes from a tree under test, so it is untrusted input: every size
 * is bounded and every problem names its line.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "requirements.h"
#include "xalloc.h"
#include "banned.h"

static int req_fail(char *why, size_t whylen, const char *name, int line,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int req_fail(char *why, size_t whylen, const char *name, int line,
		    const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(why, whylen, "%s:%d: %s", name, line, msg);
	else
		snprintf(why, whylen, "%s: %s", name, msg);
	return -1;
}

static int req_id_valid(const char *s, size_t n)
{
	if (!n || n > REQ_ID_MAX || !isalnum((unsigned char)s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._:-", s[i]))
			return 0;
	return 1;
}

static int req_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next word of *p (moved past it and the blanks after it). */
static char *req_word(const char **p, const char *end)
{
	const char *s = *p, *e = s;
	char *w;

	while (e < end && !req_space(*e))
		e++;
	w = xstrndup(s, (size_t)(e - s));
	while (e < end && req_space(*e))
		e++;
	*p = e;
	return w;
}

void requirements_release(struct requirements *r)
{
	for (size_t i = 0; i < r->nreqs; i++) {
		free(r->reqs[i].id);
		free(r->reqs[i].title);
	}
	free(r->reqs);
	for (size_t i = 0; i < r->ntests; i++) {
		free(r->tests[i].jobpat);
		free(r->tests[i].steppat);
		vec_clear(&r->tests[i].ids);
	}
	free(r->tests);
	memset(r, 0, sizeof(*r));
}

long requirements_find(const struct requirements *r, const char *id)
{
	for (size_t i = 0; i < r->nreqs; i++)
		if (!strcmp(r->reqs[i].id, id))
			return (long)i;
	return -1;
}

static int req_parse_requirement(const char *name, int line, const char *p,
				 const char *end, struct requirements *r,
				 char *why, size_t whylen)
{
	const char *id = p, *t;
	struct requirement *q;
	size_t n;

	while (p < end && !req_space(*p))
		p++;
	n = (size_t)(p - id);
	if (!n)
		return req_fail(why, whylen, name, line,
				"requirement needs an id: requirement ID TITLE");
	if (!req_id_valid(id, n))
		return req_fail(why, whylen, name, line,
				"bad id '%.*s' ([A-Za-z0-9][A-Za-z0-9._:-]*, at "
				"most %d bytes)", (int)(n > 80 ? 80 : n), id,
				REQ_ID_MAX);
	while (p < end && req_space(*p))
		p++;
	t = end;
	while (t > p && req_space(t[-1]))
		t--;
	if ((size_t)(t - p) > REQ_TITLE_MAX)
		return req_fail(why, whylen, name, line,
				"title over %d bytes", REQ_TITLE_MAX);
	if (r->nreqs >= REQ_MAX)
		return req_fail(why, whylen, name, line,
				"more than %d requirements", REQ_MAX);
	for (size_t i = 0; i < r->nreqs; i++)
		if (strlen(r->reqs[i].id) == n && !memcmp(r->reqs[i].id, id, n))
			return req_fail(why, whylen, name, line,
					"requirement '%.*s' again (line %d)",
					(int)n, id, r->reqs[i].line);
	r->reqs = xrealloc(r->reqs, (r->nreqs + 1) * sizeof(*r->reqs));
	q = &r->reqs[r->nreqs++];
	q->id = xstrndup(id, n);
	q->title = xstrndup(p, (size_t)(t - p));
	q->line = line;
	return 0;
}

static int req_parse_test(const char *name, int line, const char *p,
			  const char *end, struct requirements *r, char *why,
			  size_t whylen)
{
	struct req_test t;

	memset(&t, 0, sizeof(t));
	vec_init(&t.ids);
	t.line = line;
	if (p < end)
		t.jobpat = req_word(&p, end);
	if (p < end)
		t.steppat = req_word(&p, end);
	while (p < end) {
		char *id = req_word(&p, end);

		if (!req_id_valid(id, strlen(id))) {
			req_fail(why, whylen, name, line,
				 "bad id '%.80s' ([A-Za-z0-9][A-Za-z0-9._:-]*, "
				 "at most %d bytes)", id, REQ_ID_MAX);
			free(id);
			goto fail;
		}
		vec_push_take(&t.ids, id);
	}
	if (!t.ids.n) {
		req_fail(why, whylen, name, line,
			 "test needs a job pattern, a step pattern and ids: "
			 "test JOBPAT STEPPAT ID [ID...]");
		goto fail;
	}
	if (r->ntests >= REQ_TESTS_MAX) {
		req_fail(why, whylen, name, line, "more than %d test lines",
			 REQ_TESTS_MAX);
		goto fail;
	}
	r->tests = xrealloc(r->tests, (r->ntests + 1) * sizeof(*r->tests));
	r->tests[r->ntests++] = t;
	return 0;
fail:
	free(t.jobpat);
	free(t.steppat);
	vec_clear(&t.ids);
	return -1;
}

int requirements_parse(const char *name, const char *text, size_t len,
		       struct requirements *r, char *why, size_t whylen)
{
	const char *p = text, *end = text + len;
	int line = 0;

	memset(r, 0, sizeof(*r));
	if (len > REQ_FILE_MAX)
		return req_fail(why, whylen, name, 0, "over %d bytes",
				REQ_FILE_MAX);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *w;
		size_t n;

		line++;
		if ((size_t)(e - p) + 1 > REQ_LINE_MAX) {
			req_fail(why, whylen, name, line, "line over %d bytes",
				 REQ_LINE_MAX);
			goto fail;
		}
		if (memchr(p, '\0', (size_t)(e - p))) {
			req_fail(why, whylen, name, line, "a NUL byte");
			goto fail;
		}
		/* titles and patterns go to mails, terminals and pages as
		 * they are: a tab is a blank, a CR only ends a CRLF line */
		for (const char *c = p; c < e; c++)
			if (((unsigned char)*c < 0x20 && *c != '\t' &&
			     !(*c == '\r' && c + 1 == e)) || *c == 0x7f) {
				req_fail(why, whylen, name, line,
					 "a control character (byte %d)",
					 (unsigned char)*c);
				goto fail;
			}
		while (p < e && req_space(*p))
			p++;
		if (p == e || *p == '#')
			goto next;
		w = p;
		while (p < e && !req_space(*p))
			p++;
		n = (size_t)(p - w);
		while (p < e && req_space(*p))
			p++;
		if (n == 11 && !memcmp(w, "requirement", 11)) {
			if (req_parse_requirement(name, line, p, e, r, why,
						  whylen) < 0)
				goto fail;
		} else if (n == 4 && !memcmp(w, "test", 4)) {
			if (req_parse_test(name, line, p, e, r, why, whylen) < 0)
				goto fail;
		} else {
			req_fail(why, whylen, name, line,
				 "unknown keyword '%.*s' (requirement or test)",
				 (int)(n > 40 ? 40 : n), w);
			goto fail;
		}
next:
		p = nl ? nl + 1 : end;
	}
	return 0;
fail:
	requirements_release(r);
	return -1;
}

int req_test_matches(const struct req_test *t, const char *job,
		     const char *step)
{
	return !fnmatch(t->jobpat, job, 0) && !fnmatch(t->steppat, step, 0);
}

/* Whether test line t names requirement id. */
static int req_test_names(const struct req_test *t, const char *id)
{
	return vec_find(&t->ids, id) >= 0;
}

const char *requirements_status(const struct requirements *r, size_t i,
				const struct req_step *steps, size_t n,
				unsigned char *match)
{
	const char *id = r->reqs[i].id;
	size_t *mine = xcalloc(r->ntests + 1, sizeof(*mine)), nmine = 0;
	int failed = 0, passed = 0;

	/* its test lines first: a flight has a thousand steps, a file
	 * thousands of lines, and each requirement few of them */
	for (size_t t = 0; t < r->ntests; t++)
		if (req_test_names(&r->tests[t], id))
			mine[nmine++] = t;
	for (size_t k = 0; k < n; k++) {
		int m = 0;

		for (size_t t = 0; !m && t < nmine; t++)
			m = req_test_matches(&r->tests[mine[t]], steps[k].job,
					     steps[k].step);
		if (match)
			match[k] = (unsigned char)m;
		if (!m)
			continue;
		if (!strcmp(steps[k].status, "fail"))
			failed = 1;
		else if (!strcmp(steps[k].status, "pass"))
			passed = 1;
	}
	free(mine);
	return failed ? "failed" : passed ? "verified" : "unverified";
}

const char *req_finding_kind_str(enum req_finding_kind k)
{
	static const char *const names[] = {
		[REQ_UNVERIFIED] = "unverified",
		[REQ_UNKNOWN_ID] = "unknown-id",
		[REQ_NO_JOB] = "no-job",
	};

	return names[k];
}

/* Whether test line t matches a step of a configured job (in_branch: of
 * a job a branch runs). A case (STEP/CASE) exists only when it runs: its
 * step pattern is checked by the part before the first '/'. */
static int req_test_configured(const struct req_test *t,
			       const struct req_job *jobs, size_t njobs,
			       int in_branch)
{
	const char *slash = strchr(t->steppat, '/');
	char *head = slash ? xstrndup(t->steppat, (size_t)(slash - t->steppat))
			   : xstrdup(t->steppat);
	int yes = 0;

	for (size_t j = 0; !yes && j < njobs; j++) {
		if ((in_branch && !jobs[j].in_branch) ||
		    fnmatch(t->jobpat, jobs[j].name, 0))
			continue;
		if (in_branch)
			yes = 1;
		for (size_t s = 0; !yes && s < jobs[j].nsteps; s++)
			yes = !fnmatch(head, jobs[j].steps[s], 0);
	}
	free(head);
	return yes;
}

static void req_add_finding(struct req_finding **out, size_t *n,
			    enum req_finding_kind kind, int line,
			    const char *id, char *msg)
{
	*out = xrealloc(*out, (*n + 1) * sizeof(**out));
	(*out)[*n].kind = kind;
	(*out)[*n].line = line;
	(*out)[*n].id = xstrdup_or_null(id);
	(*out)[*n].msg = msg;
	(*n)++;
}

void requirements_check(const struct requirements *r, const struct req_job *jobs,
			size_t njobs, struct req_finding **out, size_t *n)
{
	unsigned char *configured = xcalloc(r->ntests + 1, 1);

	*out = NULL;
	*n = 0;
	for (size_t t = 0; t < r->ntests; t++)
		configured[t] = (unsigned char)req_test_configured(
			&r->tests[t], jobs, njobs, 0);
	for (size_t i = 0; i < r->nreqs; i++) {
		const struct requirement *q = &r->reqs[i];
		int named = 0, ok = 0;

		for (size_t t = 0; t < r->ntests; t++) {
			if (!req_test_names(&r->tests[t], q->id))
				continue;
			named = 1;
			ok |= configured[t];
		}
		if (!ok)
			req_add_finding(out, n, REQ_UNVERIFIED, q->line, q->id,
					xasprintf("%s (line %d): not verified by "
						  "any test (%s)", q->id, q->line,
						  named ? "its test lines match "
						  "no step of a job"
						  : "no test line names it"));
	}
	for (size_t t = 0; t < r->ntests; t++) {
		const struct req_test *rt = &r->tests[t];

		for (size_t k = 0; k < rt->ids.n; k++)
			if (requirements_find(r, rt->ids.v[k]) < 0)
				req_add_finding(out, n, REQ_UNKNOWN_ID, rt->line,
						rt->ids.v[k],
						xasprintf("line %d: test names an "
							  "unknown id '%s'",
							  rt->line, rt->ids.v[k]));
		if (!req_test_configured(rt, jobs, njobs, 1))
			req_add_finding(out, n, REQ_NO_JOB, rt->line, NULL,
					xasprintf("line %d: test '%s %s' matches "
						  "no job of any branch",
						  rt->line, rt->jobpat,
						  rt->steppat));
	}
	free(configured);
}

void req_findings_free(struct req_finding *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++) {
		free(f[i].id);
		free(f[i].msg);
	}
	free(f);
}
