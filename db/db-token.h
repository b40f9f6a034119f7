/*
 * db-token.h: API tokens. A token is shown once, when it is made; the
 * database keeps only its SHA-256.
 */
#ifndef HANGAR_DB_TOKEN_H
#define HANGAR_DB_TOKEN_H

#include <jansson.h>

#include "db.h"

enum role { ROLE_NONE, ROLE_VIEWER, ROLE_DEVELOPER, ROLE_ADMIN };

/* "viewer" -> ROLE_VIEWER; -1 for anything else. */
int role_parse(const char *s);
const char *role_name(enum role r);

/* A new token for user with role; *token (caller frees) is the secret. */
int db_token_create(struct db *db, const char *user, enum role role,
		    const char *created_by, long *id, char **token,
		    struct err *err);
/* Who holds token: ERR_NOTFOUND when unknown or revoked. */
int db_token_lookup(struct db *db, const char *token, char **user,
		    enum role *role, struct err *err);
/* Every token (never the secret): id, user, role, created, last used,
 * revoked. */
int db_token_list_json(struct db *db, json_t **ret, struct err *err);
/* ERR_NOTFOUND when there is no such live token. */
int db_token_revoke(struct db *db, long id, struct err *err);

#endif
