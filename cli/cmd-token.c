/*
 * cmd-token.c: `hangar token create|list|revoke`, the API tokens of the
 * dashboard and the JSON API.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db-token.h"
#include "strnum.h"
#include "banned.h"

const char cmd_token_usage[] =
	"hangar token create --user U --role viewer|developer|admin [--json]\n"
	"hangar token create --user U --role worker --site SITE [--json]\n"
	"hangar token list [--json]\n"
	"hangar token revoke ID\n"
	"\n"
	"API tokens for the dashboard (log in with one) and the JSON API\n"
	"(Authorization: Bearer TOKEN). create prints the new token alone on\n"
	"its last line; it is shown only this once: only its SHA-256 is kept.\n"
	"viewer reads (when [web] read-role = viewer), developer also requests\n"
	"flights and reserves hosts, admin also runs hosts and branches.\n"
	"worker is a remote worker's, for the site SITE (a host's or a\n"
	"[site] section's, or [lab] site): it may use /api/v1/worker/ for\n"
	"that site's jobs and nothing else.\n"
	"Every action done with a token is recorded under its user.\n";

int cmd_token(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "role", required_argument, NULL, 'r' },
		{ "site", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct err err = ERR_INIT;
	const char *user = NULL, *rolestr = NULL, *site = NULL, *sub;
	int c, json = 0, rc, role = -1;
	struct db *db;

	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_token_usage)) != -1) {
		if (c == 'u')
			user = optarg;
		else if (c == 'r')
			rolestr = optarg;
		else if (c == 's')
			site = optarg;
		else if (c == 'j')
			json = 1;
	}
	if (optind >= argc)
		return cli_usage_error(cmd_token_usage, "token: which action?");
	sub = argv[optind++];
	if (!strcmp(sub, "create")) {
		if (optind != argc || !user || !user[0] || !rolestr)
			return cli_usage_error(cmd_token_usage,
					       "token create: give --user and --role");
		if ((role = role_parse(rolestr)) < 0)
			return cli_usage_error(cmd_token_usage,
					       "token create: role '%s' is not viewer, "
					       "developer, admin or worker", rolestr);
		if ((role == ROLE_WORKER) != (site != NULL))
			return cli_usage_error(cmd_token_usage,
					       role == ROLE_WORKER
						       ? "token create: a worker token needs --site"
						       : "token create: --site is only for --role worker");
	} else if (!strcmp(sub, "list") ? optind != argc :
		   !strcmp(sub, "revoke") ? optind + 1 != argc : 1) {
		return cli_usage_error(cmd_token_usage, "token %s: wrong arguments",
				       sub);
	}
	if ((rc = cli_open_db(cli, &db)))
		return rc;
	if (site && !lab_site_known(&cli->lab, site)) {
		db_close(db);
		return cli_usage_error(cmd_token_usage,
				       "token create: no site '%s' (not [lab] site, "
				       "a host's or a [site] section's)", site);
	}
	if (!strcmp(sub, "create")) {
		char *token = NULL;
		long id;

		if (db_token_create(db, user, (enum role)role, site, db_actor(),
				    &id, &token, &err) < 0) {
			rc = cli_fail(&err);
		} else if (json) {
			cli_print_json(json_pack("{s:I, s:s, s:s, s:s?, s:s}", "id",
						 (json_int_t)id, "user", user, "role",
						 rolestr, "site", site, "token", token));
		} else {
			printf("token %ld for %s (%s%s%s); it is not shown again:\n%s\n",
			       id, user, rolestr, site ? ", site " : "",
			       site ? site : "", token);
		}
		free(token);
	} else if (!strcmp(sub, "list")) {
		json_t *list;

		if (db_token_list_json(db, &list, &err) < 0) {
			rc = cli_fail(&err);
		} else if (json) {
			cli_print_json(list);
		} else {
			json_t *t;
			size_t i;

			printf("%-5s %-16s %-10s %-12s %-8s %s\n", "ID", "USER",
			       "ROLE", "SITE", "STATE", "CREATED");
			json_array_foreach(list, i, t)
				printf("%-5lld %-16s %-10s %-12s %-8s %s\n",
				       (long long)json_integer_value(json_object_get(t, "id")),
				       json_string_value(json_object_get(t, "user")),
				       json_string_value(json_object_get(t, "role")),
				       json_is_string(json_object_get(t, "site"))
					       ? json_string_value(json_object_get(t, "site"))
					       : "-",
				       json_is_null(json_object_get(t, "revoked")) ? "live"
										: "revoked",
				       json_string_value(json_object_get(t, "created")));
			json_decref(list);
		}
	} else {
		long id;

		if (strnum_long(argv[optind], 1, 1L << 62, &id) < 0)
			rc = cli_usage_error(cmd_token_usage, "token revoke: bad id '%s'",
					     argv[optind]);
		else if (db_token_revoke(db, id, &err) < 0)
			rc = cli_fail(&err);
		else
			printf("token %ld revoked\n", id);
	}
	db_close(db);
	return rc;
}
