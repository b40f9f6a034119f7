/*
 * db-token.c: API tokens in api_tokens.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-token.h"
#include "secret.h"
#include "xalloc.h"
#include "banned.h"

static const char *const role_names[] = {
	[ROLE_NONE] = "none", [ROLE_VIEWER] = "viewer",
	[ROLE_DEVELOPER] = "developer", [ROLE_ADMIN] = "admin",
	[ROLE_WORKER] = "worker",
};

int role_parse(const char *s)
{
	for (int r = ROLE_VIEWER; r <= ROLE_WORKER; r++)
		if (s && !strcmp(s, role_names[r]))
			return r;
	return -1;
}

const char *role_name(enum role r)
{
	return role_names[r];
}

/* "hgr_" and 32 random bytes: recognisable in a leaked file or a log. */
#define TOKEN_PREFIX "hgr_"

int db_token_create(struct db *db, const char *user, enum role role,
		    const char *site, const char *created_by, long *id,
		    char **token, struct err *err)
{
	char rnd[65], hash[65];
	char *t;
	PGresult *res;

	if (secret_random_hex(rnd, 32) < 0)
		return err_errno(err, ERR_FAIL, "no random token");
	t = xasprintf(TOKEN_PREFIX "%s", rnd);
	secret_sha256_hex(t, strlen(t), hash);
	res = db_query_one(db, err, "token",
			   "INSERT INTO api_tokens (username, role, token_hash, "
			   "created_by, site) VALUES ($1, $2, $3, $4, $5) "
			   "RETURNING id",
			   5, (const char *[]){ user, role_name(role), hash,
						created_by, site });
	if (!res) {
		free(t);
		return err->code;
	}
	*id = db_long(res, 0, 0);
	PQclear(res);
	*token = t;
	return 0;
}

int db_token_lookup(struct db *db, const char *token, char **user,
		    enum role *role, char **site, struct err *err)
{
	char hash[65];
	PGresult *res;

	secret_sha256_hex(token, strlen(token), hash);
	/* last_used_at is for people auditing tokens: a minute is precise
	 * enough, and spares a write per request */
	res = db_query(db, err,
		       "WITH t AS (SELECT id, username, role, site FROM api_tokens "
		       "WHERE token_hash = $1 AND revoked_at IS NULL), "
		       "u AS (UPDATE api_tokens a SET last_used_at = now() FROM t "
		       "WHERE a.id = t.id AND (a.last_used_at IS NULL OR "
		       "a.last_used_at < now() - interval '1 minute')) "
		       "SELECT username, role, site FROM t",
		       1, (const char *[]){ hash });
	if (!res)
		return err->code;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return err_set(err, ERR_NOTFOUND, "unknown or revoked token");
	}
	*user = xstrdup(PQgetvalue(res, 0, 0));
	*role = (enum role)role_parse(PQgetvalue(res, 0, 1));
	if (site)
		*site = db_dup(res, 0, 2);
	PQclear(res);
	return 0;
}

int db_token_list_json(struct db *db, json_t **ret, struct err *err)
{
	return db_query_json(
		db, err, "token list", ret,
		"SELECT coalesce(json_agg(json_build_object('id', id, 'user', "
		"username, 'role', role, 'site', site, "
		"'created', hangar_iso(created_at), 'created_by', "
		"created_by, 'last_used', hangar_iso(last_used_at), 'revoked', "
		"hangar_iso(revoked_at)) "
		"ORDER BY id), '[]') FROM api_tokens",
		0, NULL);
}

int db_token_revoke(struct db *db, long id, struct err *err)
{
	char num[24];
	PGresult *res;
	long n;

	snprintf(num, sizeof(num), "%ld", id);
	res = db_query(db, err,
		       "UPDATE api_tokens SET revoked_at = now() "
		       "WHERE id = $1 AND revoked_at IS NULL",
		       1, (const char *[]){ num });
	if (!res)
		return err->code;
	n = db_affected(res);
	PQclear(res);
	return n ? 0 : err_set(err, ERR_NOTFOUND, "no live token %ld", id);
}
