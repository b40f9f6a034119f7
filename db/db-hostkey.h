/*
 * db-hostkey.h: the SSH host key pinned per host (hosts.ssh_host_key,
 * "TYPE BASE64" as in known_hosts). A key is pinned on first use, in the
 * database so that every worker on every machine trusts the same one; a
 * different key later is refused (ERR_HOSTKEY), never silently accepted.
 */
#ifndef HANGAR_DB_HOSTKEY_H
#define HANGAR_DB_HOSTKEY_H

#include "db.h"

/*
 * The pinned key of host into *key (the caller frees it), or NULL when
 * none is pinned yet. ERR_NOTFOUND when there is no such host.
 */
int db_hostkey_get(struct db *db, const char *host, char **key,
		   struct err *err);

/*
 * Pins key for host if none is pinned yet (setting ssh_host_key_at and
 * recording a host.key-pinned event, in one statement). When a key was
 * pinned meanwhile (another worker got there first): 0 if it is the same
 * key, ERR_HOSTKEY if it differs. ERR_NOTFOUND when there is no such host.
 */
int db_hostkey_pin(struct db *db, const char *host, const char *key,
		   struct err *err);

/*
 * Forgets the pinned key (a reinstalled host has a new one; the next
 * connection pins it), with a host.key-cleared event saying why.
 * ERR_NOTFOUND when there is no such host.
 */
int db_hostkey_clear(struct db *db, const char *host, const char *why,
		     struct err *err);

#endif
