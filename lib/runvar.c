/*
 * runvar.c: runvar names, parsing and their shell form.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "runvar.h"
#include "xalloc.h"
#include "banned.h"

int runvar_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || !islower((unsigned char)name[0]))
		return 0;
	for (; *name; name++)
		if (!islower((unsigned char)*name) &&
		    !isdigit((unsigned char)*name) && *name != '_')
			return 0;
	return 1;
}

int runvar_parse(const char *text, char **name, char **value,
		 const char **why)
{
	const char *eq = strchr(text, '=');
	char *n;

	if (!eq) {
		*why = "expected NAME=VALUE";
		return -1;
	}
	n = xstrndup(text, (size_t)(eq - text));
	if (!runvar_name_valid(n)) {
		*why = "runvar names are lower-case letters, digits and _, starting with a letter";
		free(n);
		return -1;
	}
	*name = n;
	*value = xstrdup(eq + 1);
	return 0;
}

char *runvar_env_name(const char *name)
{
	char *env = xasprintf("HANGAR_%s", name);

	for (char *p = env; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return env;
}

int runvar_reserved(const char *name)
{
	static const char *const fixed[] = { "arch", "flight", "job", "host",
					     NULL };

	for (const char *const *f = fixed; *f; f++)
		if (!strcmp(name, *f))
			return 1;
	return !strncmp(name, "revision_", 9) ||
	       !strncmp(name, "built_revision_", 15);
}

void runvar_shell_assign(struct buf *out, const char *name, const char *value)
{
	char *env = runvar_env_name(name);

	buf_addf(out, "%s=", env);
	buf_add_shell_quoted(out, value);
	buf_addch(out, ' ');
	free(env);
}
