/*
 * testcases.h: per-test-case results read from a test suite's output, so
 * that a step running a suite records each case as its own step
 * `STEP/CASE`. Pure parsing: no I/O, no database; all input is untrusted
 * (bounded lines, bounded names and details, a bounded number of cases).
 *
 * Formats:
 *
 * - tap: TAP 12/13. `ok N - description`, `not ok N - description`; the
 *   number and the " - " are optional; the description is the name (no
 *   description: the number, or the implied one). `# SKIP reason` makes a
 *   skip (detail: the reason), `# TODO reason` a pass whether ok or not
 *   (a TODO is expected to fail; detail "TODO: reason"). A "not ok"'s
 *   detail is the `message:` of its indented YAML block, if any. Indented
 *   lines (subtests, YAML) are otherwise ignored, as are comments and
 *   `TAP version`. A plan `1..N` at the start or the end; `1..0` (with or
 *   without `# skip`) means no cases and complete. Incomplete: no case
 *   (without a 1..0 plan), a plan larger than the number of cases that
 *   ran, or `Bail out! reason` (nothing after it is read).
 *
 * - xtf: the Xen Test Framework's console output. Each test prints
 *       --- Xen Test Framework ---
 *       Environment: <environment>
 *       <test title>
 *       ... its own messages ("Fail: ...", "Error: ...", "Skip: ...") ...
 *       Test result: SUCCESS|SUCCESS with warnings|SKIP|ERROR|FAILURE
 *   (common/setup.c and common/report.c of XTF). The markers may appear
 *   anywhere in a line, after console noise such as "(XEN) ", "(d1) " or
 *   "[    1.234] ". The case name is the test instance xtf-runner
 *   announced before it ("Executing 'xl create ... test-hvm64-foo.cfg'")
 *   when there is one, else the title line. SUCCESS is a pass, SKIP a
 *   skip, anything else a fail; the detail is the rest of the result line,
 *   else the test's "Fail"/"Error"/"PANIC" lines (for a skip its "Skip"
 *   lines) joined by "; ", else its last line. A test that started and
 *   never reported a result (crashed, cut off) is recorded as a fail and
 *   makes the output incomplete. Several tests may follow one another.
 *
 * - hangar: our own protocol, for suites that print whatever they like:
 *       HANGAR-CASE <name> <pass|fail|skip> [detail...]
 *       HANGAR-CASES <N>
 *   anywhere in a line (what comes before HANGAR-CASE is ignored; the
 *   first of a line's first 8 markers that parses counts). The
 *   name is one word (no blanks); a line with another status word is
 *   ignored. The optional plan HANGAR-CASES <N> (the first one counts)
 *   makes the output complete only when exactly N cases were seen;
 *   HANGAR-CASES 0 with no case is complete.
 *
 * - junit: JUnit XML as a whole document (case_junit_parse).
 *
 * Names (all formats): a case name becomes part of a step name, and step
 * names become parts of log file paths. Bytes other than [A-Za-z0-9._+()-]
 * and '/' become '_'; runs of '_' collapse, as do runs of '/'; a path
 * component made only of dots ("..") becomes "_"; leading and trailing '_'
 * and '/' are stripped; at most CASE_NAME_MAX bytes (cut); empty becomes
 * "case-N" (N the 1-based position). A name seen again gets "~2", "~3"...
 * (the later ones), so names are unique within one output; the result is
 * still at most CASE_NAME_MAX bytes, the name cut before the suffix (long
 * names that differ only past that cut share one count of suffixes).
 *
 * Details: one line of valid UTF-8 (control characters become spaces,
 * invalid bytes '?'), at most CASE_DETAIL_MAX bytes, NULL when empty.
 *
 * Not thread-safe per reader; readers are independent.
 */
#ifndef HANGAR_TESTCASES_H
#define HANGAR_TESTCASES_H

#include <stddef.h>

#define CASE_NAME_MAX 100
#define CASE_DETAIL_MAX 200
/* Longer lines are cut to this (the rest of the line is dropped). */
#define CASE_LINE_MAX 4096
/* Cases beyond this are counted and dropped, and the output incomplete. */
#define CASES_MAX 100000
#define CASE_JUNIT_MAX (64u << 20)

enum case_format { CASES_TAP, CASES_XTF, CASES_HANGAR, CASES_JUNIT };

/* "tap", "xtf", "hangar", "junit": 0, or -1 for an unknown word. */
int case_format_parse(const char *word, enum case_format *f);
/* The word for f (static). */
const char *case_format_str(enum case_format f);

struct case_result {
	char *name;          /* owned; see the naming rules above */
	const char *status;  /* static: "pass", "fail" or "skip" */
	char *detail;        /* owned, or NULL; at most 200 bytes, one line */
};

/* A streaming reader for the line formats (tap, xtf, hangar). */
struct case_reader;

/*
 * Returns a new reader (free with case_reader_free), or NULL for
 * CASES_JUNIT, which is a whole document: use case_junit_parse.
 */
struct case_reader *case_reader_new(enum case_format f);

/*
 * Feeds output as it arrives, in chunks of any size: lines split across
 * chunks, \r\n line ends, NUL bytes and invalid UTF-8 are fine; a line
 * longer than CASE_LINE_MAX bytes is cut, not an error. Ignored after
 * case_reader_finish.
 */
void case_reader_feed(struct case_reader *r, const char *data, size_t len);

/*
 * Ends the stream (a last line without \n counts) and hands over the cases
 * in order of appearance: *out (NULL when *n is 0) is the caller's, to
 * free with case_results_free. Returns 0 when the output was complete, or
 * -1 with a one-line reason in why (if why is not NULL; cut to whylen)
 * when it was not: no case at all; a TAP plan saying more than ran, or a
 * Bail out!; an xtf test that never reported its result; a hangar plan
 * not met; more than CASES_MAX cases. The cases read so far are handed
 * over either way. Call it once; the reader is then only good for
 * case_reader_free.
 */
int case_reader_finish(struct case_reader *r, struct case_result **out,
		       size_t *n, char *why, size_t whylen);

/* Frees r (NULL is fine), with any cases not handed over. */
void case_reader_free(struct case_reader *r);

/*
 * JUnit XML from a whole document of len bytes (at most CASE_JUNIT_MAX;
 * need not be NUL-terminated). Each <testcase name=".." classname="..">
 * is a case, named "classname.name" when classname is set; a fail when it
 * holds <failure> or <error> (detail: its message attribute, else the
 * first line of its text), a skip with <skipped> (detail: its message),
 * else a pass. Handles nested <testsuites>/<testsuite>, self-closing
 * elements, single or double quotes, the five predefined entities and
 * &#N;/&#xN;, CDATA, comments, processing instructions and a DOCTYPE.
 * Element names are compared without a namespace prefix.
 *
 * Returns 0, or -1 with why for a document that is not JUnit-like (no
 * testcase), is malformed (unterminated markup, mismatched or unclosed
 * elements, nesting deeper than 256) or too big, or has more than
 * CASES_MAX cases. *out and *n are set either way, as for
 * case_reader_finish (the cases before the problem).
 */
int case_junit_parse(const char *xml, size_t len, struct case_result **out,
		     size_t *n, char *why, size_t whylen);

/* Frees n results and the array (NULL is fine). */
void case_results_free(struct case_result *c, size_t n);

#endif
