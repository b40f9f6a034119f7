/*
 * db-request.h: what an ad-hoc request (gate/request.c) reads of a branch
 * to fill in what the asker left out; the flight itself is made by
 * db_flight_create(), the URL of a tree is db_gate_tree_url().
 */
#ifndef HANGAR_DB_REQUEST_H
#define HANGAR_DB_REQUEST_H

#include "db.h"
#include "vec.h"

/*
 * The trees of branch with the ref each is tested at by default, pushed
 * to trees and refs in step: its own tree at its staging ref first, then
 * its pins at HEAD, by name; its job set to jobs. ERR_NOTFOUND for no
 * such (or a retired) branch.
 */
int db_request_branch(struct db *db, const char *branch, struct vec *trees,
		      struct vec *refs, struct vec *jobs, struct err *err);

#endif
