/*
 * cli.c: helpers shared by the subcommands, and by the `hangar` front
 * (front.c): options, usage errors, the configuration path, JSON output.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "banned.h"

int cli_getopt(int argc, char **argv, const struct option *opts,
	       const char *usage)
{
	struct option all[32];
	size_t n = 0;
	char shortopts[64] = "h";
	int c;

	for (; opts && opts[n].name && n < 30; n++)
		all[n] = opts[n];
	all[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	all[n] = (struct option){ NULL, 0, NULL, 0 };
	opterr = 0;
	c = getopt_long(argc, argv, shortopts, all, NULL);
	if (c == 'h') {
		fputs(usage, stdout);
		exit(0);
	}
	if (c == '?') {
		if (optopt)
			fprintf(stderr, "hangar: unknown option '-%c'\n", optopt);
		else
			fprintf(stderr, "hangar: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
		fprintf(stderr, "usage: %.*s", (int)strcspn(usage, "\n") + 1,
			usage);
		exit(2);
	}
	return c;
}

/* "--opt VALUE" or "--opt=VALUE" at argv[*i]: its value, *i advanced
 * past what it used; NULL when argv[*i] is not opt, or opt without one. */
static const char *cli_global_value(int argc, char **argv, int *i,
				    const char *opt)
{
	size_t n = strlen(opt);

	if (strncmp(argv[*i], opt, n))
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0' || *i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

enum cli_global cli_global_options(struct cli *cli, int argc, char **argv,
				   int *i)
{
	for (*i = 1; *i < argc && argv[*i][0] == '-'; ++*i) {
		const char *v;

		if ((v = cli_global_value(argc, argv, i, "--config")))
			cli->config = v;
		else if ((v = cli_global_value(argc, argv, i, "--state")))
			cli->state = v;
		else if (!strcmp(argv[*i], "-v") || !strcmp(argv[*i], "--verbose"))
			cli->verbose++;
		else if (!strcmp(argv[*i], "-h") || !strcmp(argv[*i], "--help"))
			return CLI_GLOBAL_HELP;
		else if (!strcmp(argv[*i], "--version"))
			return CLI_GLOBAL_VERSION;
		else if (!strcmp(argv[*i], "--config") || !strcmp(argv[*i], "--state"))
			return CLI_GLOBAL_NO_VALUE;
		else
			return CLI_GLOBAL_UNKNOWN;
	}
	return CLI_GLOBAL_OK;
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("hangar: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fprintf(stderr, "usage: %.*s", (int)strcspn(usage, "\n") + 1, usage);
	return 2;
}

int cli_fail(const struct err *err)
{
	fprintf(stderr, "hangar: %s\n", err->msg);
	return err_exit_status(err->code);
}

const char *cli_config_path(const struct cli *cli)
{
	const char *env = getenv("HANGAR_CONFIG");

	if (cli->config)
		return cli->config;
	if (env && *env)
		return env;
	return CLI_DEFAULT_CONFIG;
}

void cli_print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(j);
}
