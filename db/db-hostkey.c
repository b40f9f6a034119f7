/*
 * db-hostkey.c: pinning hosts' SSH host keys. The pin is written only
 * where none is (UPDATE ... WHERE ssh_host_key IS NULL), so of two workers
 * meeting a fresh host at once exactly one pins, and the other compares.
 */
#include <stdlib.h>
#include <string.h>

#include "db-hostkey.h"
#include "xalloc.h"
#include "banned.h"

int db_hostkey_get(struct db *db, const char *host, char **key,
		   struct err *err)
{
	const char *params[1] = { host };
	PGresult *res;

	*key = NULL;
	res = db_query(db, err, "SELECT ssh_host_key FROM hosts WHERE name = $1",
		       1, params);
	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return err_set(err, ERR_NOTFOUND, "no host '%s'", host);
	}
	if (!PQgetisnull(res, 0, 0))
		*key = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int db_hostkey_pin(struct db *db, const char *host, const char *key,
		   struct err *err)
{
	const char *params[3] = { host, key, db_actor() };
	PGresult *res;
	char *pinned;
	long n;
	int rc;

	res = db_query(db, err,
		       "WITH pinned AS ("
		       "UPDATE hosts SET ssh_host_key = $2, ssh_host_key_at = now() "
		       "WHERE name = $1 AND ssh_host_key IS NULL RETURNING name) "
		       "INSERT INTO events (actor, kind, host, detail) "
		       "SELECT $3, 'host.key-pinned', name, "
		       "jsonb_build_object('key', $2::text) FROM pinned",
		       3, params);
	if (!res)
		return err_prefix(err, "host '%s': pin its ssh host key", host);
	n = db_affected(res);
	PQclear(res);
	if (n == 1)
		return 0;
	/* pinned already (or no such host): by someone else, just now? */
	rc = db_hostkey_get(db, host, &pinned, err);
	if (rc)
		return rc;
	if (!pinned)   /* cannot be: it was not NULL a moment ago */
		return err_set(err, ERR_DB,
			       "host '%s': its ssh host key pin vanished", host);
	if (strcmp(pinned, key) != 0)
		rc = err_set(err, ERR_HOSTKEY,
			     "host '%s': another ssh host key was pinned meanwhile (%.60s...), not the one it presented (%.60s...)",
			     host, pinned, key);
	free(pinned);
	return rc;
}

int db_hostkey_clear(struct db *db, const char *host, const char *why,
		     struct err *err)
{
	PGresult *res = db_query(db, err,
				 "WITH h AS (UPDATE hosts SET ssh_host_key = NULL, "
				 "ssh_host_key_at = NULL WHERE name = $1 "
				 "RETURNING name), "
				 "e AS (INSERT INTO events (actor, kind, host, detail) "
				 "SELECT $2, 'host.key-cleared', name, "
				 "jsonb_build_object('reason', $3::text) FROM h) "
				 "SELECT count(*) FROM h",
				 3, (const char *[]){ host, db_actor(), why });
	long n;

	if (!res)
		return err->code;
	n = db_long(res, 0, 0);
	PQclear(res);
	if (!n)
		return err_set(err, ERR_NOTFOUND, "no host '%s'", host);
	return 0;
}
