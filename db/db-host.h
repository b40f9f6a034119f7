/*
 * db-host.h: reading hosts and their history.
 */
#ifndef HANGAR_DB_HOST_H
#define HANGAR_DB_HOST_H

#include "db.h"
#include "host.h"

/* Every host, retired ones included, by name. Free with db_host_list_free. */
int db_host_list(struct db *db, struct host **hosts, size_t *n,
		 struct err *err);
void db_host_list_free(struct host *hosts, size_t n);
/* One host; ERR_NOTFOUND when there is none of that name. */
int db_host_get(struct db *db, const char *name, struct host *h,
		struct err *err);
/* Its newest events first, at most limit. */
int db_host_events(struct db *db, const char *name, int limit,
		   struct host_event **events, size_t *n, struct err *err);
void db_host_events_free(struct host_event *events, size_t n);

#endif
