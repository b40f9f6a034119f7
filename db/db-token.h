/*
 * db-token.h: API tokens. A token is shown once, when it is made; the
 * database keeps only its SHA-256.
 */
#ifndef HANGAR_DB_TOKEN_H
#define HANGAR_DB_TOKEN_H

#include <jansson.h>

#include "db.h"

/*
 * The roles of the dashboard and API, each allowed what the one before
 * is (compare with <, >=), and apart from them ROLE_WORKER: a remote
 * worker's token, for /api/v1/worker/ only and nothing else (never
 * compare it with the others: web_route keeps it apart first).
 */
enum role { ROLE_NONE, ROLE_VIEWER, ROLE_DEVELOPER, ROLE_ADMIN, ROLE_WORKER };

/* "viewer" -> ROLE_VIEWER; -1 for anything else. */
int role_parse(const char *s);
const char *role_name(enum role r);

/* A new token for user with role (site: a worker's, else NULL); *token
 * (caller frees) is the secret. */
int db_token_create(struct db *db, const char *user, enum role role,
		    const char *site, const char *created_by, long *id,
		    char **token, struct err *err);
/* Who holds token: ERR_NOTFOUND when unknown or revoked. *site (when
 * site is not NULL; the caller frees it) is a worker token's site, else
 * NULL. */
int db_token_lookup(struct db *db, const char *token, char **user,
		    enum role *role, char **site, struct err *err);
/* Every token (never the secret): id, user, role, site (null but for a
 * worker's), created, last used, revoked. */
int db_token_list_json(struct db *db, json_t **ret, struct err *err);
/* ERR_NOTFOUND when there is no such live token. */
int db_token_revoke(struct db *db, long id, struct err *err);

#endif
