/*
 * db-backup.h: the database of a lab to a file and back, with
 * PostgreSQL's pg_dump and pg_restore, for `hangar backup` and `hangar
 * restore` (moving a lab to another machine).
 */
#ifndef HANGAR_DB_BACKUP_H
#define HANGAR_DB_BACKUP_H

#include "db.h"

/*
 * Dumps the lab's database into file (pg_dump's custom format). pg_dump
 * reads it all in one transaction, one snapshot: what the daemons commit
 * meanwhile is either wholly in it or not at all.
 */
int db_backup_dump(const struct db_target *target, const char *file,
		   struct err *err);
/*
 * Loads file (from db_backup_dump) into the lab's database, which must
 * have no hangar schema yet (ERR_EXISTS): a private cluster is created
 * for it. One transaction: it is all there or not at all. Apply the
 * migrations after it (a backup of an older hangar).
 */
int db_backup_restore(const struct db_target *target, const char *file,
		      struct err *err);

#endif
