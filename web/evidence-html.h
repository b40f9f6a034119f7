/*
 * evidence-html.h: an evidence record (docs/evidence.md, schema
 * "hangar-evidence/1") as a human page for an assessor: which
 * requirements were verified, by which steps, on which hosts (arch,
 * site, firmware), with which harness, at which revisions, and the
 * SHA-256 of every log and artifact. One self-contained document (its
 * stylesheet inline, print-ready: a PDF through the browser's print), so
 * that the web's /evidence/REV and `hangar evidence show --html` give
 * the same page. Pure: a record in, HTML out; every value escaped.
 */
#ifndef HANGAR_EVIDENCE_HTML_H
#define HANGAR_EVIDENCE_HTML_H

#include <jansson.h>

#include "buf.h"
#include "db-evidence.h"

/* The page's stylesheet (screen and print). */
extern const char evidence_stylesheet[];

/*
 * Appends the page of record (the parsed JSON of e->record) to b. e (may
 * be NULL) says how the record is kept: its SHA-256, signer, when it was
 * written. url is where the dashboard is ("" for links relative to the
 * server's root, as the web serves it: the stylesheet is then
 * /static/evidence.css, as the server's policy takes no inline style;
 * NULL: no links, paths only, the stylesheet inline, for a file read
 * without the server). A record missing members, or holding
 * others of the wrong type, is shown as far as it goes: never an error.
 */
void evidence_html(struct buf *b, json_t *record, const struct evidence *e,
		   const char *url);

#endif
