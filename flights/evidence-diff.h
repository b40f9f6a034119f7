/*
 * evidence-diff.h: change tracking between two evidence records
 * (docs/evidence.md): which requirements a newer record newly verifies,
 * newly fails, or no longer verifies (a test removed, renamed, or that
 * stopped running), and which it adds or drops. Pure: two records'
 * json_t in (the "hangar-evidence/1" schema), JSON or text out; the gate
 * puts the text in its report mail, the web its branch page.
 */
#ifndef HANGAR_EVIDENCE_DIFF_H
#define HANGAR_EVIDENCE_DIFF_H

#include <jansson.h>

#include "buf.h"

/*
 * The changes from record from (the older pushed one; NULL when there is
 * none: every requirement of to is then new) to record to, as a new
 * reference:
 *   {"from": {"flight": F, "revision": R} or null, "to": {...},
 *    "newly_verified": [ids], "newly_failing": [...],
 *    "no_longer_verified": [...], "added": [...], "removed": [...]}
 * An id is newly verified when verified in to and not in from (or absent
 * from it); newly failing when failed in to and not in from; no longer
 * verified when verified in from and unverified in to or absent from it;
 * added (removed) when only in to (from). Lists of ids present in to are
 * in to's order, the others in from's. A record without requirements (or
 * with members of the wrong type) has none: never an error.
 */
json_t *evidence_diff(json_t *from, json_t *to);

/*
 * The "Requirements" section of a report mail, appended to b: diff
 * (evidence_diff's) with each id's title and status from the records it
 * was made of; one line "no change in N requirements" when nothing
 * changed. A to that could not read its requirements says why.
 */
void evidence_diff_text(struct buf *b, json_t *diff, json_t *from, json_t *to);

#endif
