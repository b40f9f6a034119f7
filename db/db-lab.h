/*
 * db-lab.h: `hangar lab apply`: loading a validated lab configuration into
 * the database, idempotently. Only what differs is written; a host, tree
 * or branch that left the file is retired (its history stays), job and
 * recipe definitions that left it are deleted (flights keep their copies).
 */
#ifndef HANGAR_DB_LAB_H
#define HANGAR_DB_LAB_H

#include "db.h"
#include "labconf.h"
#include "vec.h"

enum lab_kind { LAB_HOSTS, LAB_TREES, LAB_BRANCHES, LAB_JOBS, LAB_RECIPES,
		LAB_KINDS };

struct lab_apply_result {
	int added[LAB_KINDS];
	int changed[LAB_KINDS];
	int removed[LAB_KINDS];     /* retired or deleted */
	struct vec lines;           /* "+ host ruby", "~ job x", "- tree y" */
};

extern const char *const lab_kind_names[LAB_KINDS];

/*
 * Applies lab in one transaction (rolled back when dry_run). result is
 * filled either way; release it with lab_apply_result_release().
 */
int db_lab_apply(struct db *db, const struct lab *lab, int dry_run,
		 struct lab_apply_result *result, struct err *err);
void lab_apply_result_release(struct lab_apply_result *result);

#endif
