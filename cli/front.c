/*
 * front.c: the `hangar` executable. It answers `--version` and `flight
 * report F [--json] [--now]` (from the web daemon's control socket)
 * itself, and loads hangar-core.so for everything else, as it is: the
 * core links libpq, libgit2, libssh2, libmicrohttpd and libcurl, and
 * loading them costs a command more than a report costs the daemon.
 * Anything here it does not fully understand goes to the core, which
 * parses the whole command line again and says what is wrong.
 */
#include <dlfcn.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "proc.h"
#include "strnum.h"
#include "version.h"
#include "xalloc.h"
#include "banned.h"

/*
 * hangar-core.so: beside the executable (the build tree), in ../lib/hangar
 * from it (an install, moved or not), else where `make install` put it.
 * NULL, with the places named on stderr, when it is in none.
 */
static char *front_core_path(void)
{
	char exe[PATH_MAX], *dir, *path;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *tried[3];

	if (n <= 0)
		n = 0;
	exe[n] = '\0';
	dir = strrchr(exe, '/');
	if (dir)
		*dir = '\0';
	tried[0] = xasprintf("%s/%s", exe, CLI_CORE_SO);
	tried[1] = xasprintf("%s/../lib/hangar/%s", exe, CLI_CORE_SO);
	tried[2] = xasprintf("%s/%s", HANGAR_PKGLIBDIR, CLI_CORE_SO);
	path = NULL;
	for (int k = 0; k < 3 && !path; k++)
		if (access(tried[k], R_OK) == 0)
			path = xstrdup(tried[k]);
	if (!path)
		fprintf(stderr, "hangar: cannot find its core: none of %s, %s, "
			"%s exists\n", tried[0], tried[1], tried[2]);
	for (int k = 0; k < 3; k++)
		free((char *)tried[k]);
	return path;
}

/*
 * `flight report F [--json] [--now]` (options anywhere, as getopt takes
 * them; argv[0] is "flight") from the web daemon of the core's very
 * build: 0 when printed, 1 when the daemon gave no answer (the core
 * reads the database), -1 when the command is not one of those forms.
 */
static int front_report(const struct cli *cli, const char *core, int argc,
			char **argv)
{
	const char *pos[2];
	int npos = 0, json = 0, now = 0, rc = 1;
	char build[129];
	struct lab lab;
	struct conf_diag diag;
	long id;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--now"))
			now = 1;
		else if (argv[i][0] != '-' && npos < 2)
			pos[npos++] = argv[i];
		else
			return -1;
	}
	if (npos != 2 || strcmp(pos[0], "report") ||
	    strnum_long(pos[1], 1, 1L << 62, &id) < 0)
		return -1;
	if (proc_build_id_file(core, build, sizeof(build)) < 0)
		return 1;
	conf_diag_init(&diag);
	/* a configuration with errors: the core prints them */
	if (labconf_load(cli_config_path(cli), &lab, &diag) == 0) {
		if (cli->state) {
			free(lab.state);
			lab.state = fs_absolute(cli->state);
		}
		if (ctl_client_report(&lab, build, id, json, now) == 0)
			rc = 0;
		labconf_release(&lab);
	}
	conf_diag_release(&diag);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli cli;
	cli_core_main_fn *core_main;
	char *core;
	void *so;
	enum cli_global g;
	unsigned flags = 0;
	int i;

	memset(&cli, 0, sizeof(cli));
	signal(SIGPIPE, SIG_IGN);
	/* anything but --version and a command: the core says what */
	g = cli_global_options(&cli, argc, argv, &i);
	if (g == CLI_GLOBAL_VERSION) {
		printf("hangar %s\n", HANGAR_VERSION);
		return 0;
	}
	core = front_core_path();
	if (!core)
		return 1;
	if (g == CLI_GLOBAL_OK && i + 1 < argc && !strcmp(argv[i], "flight")) {
		int rc = front_report(&cli, core, argc - i, argv + i);

		if (rc == 0) {
			free(core);
			return 0;
		}
		if (rc > 0)
			flags |= CLI_CORE_REPORT_ASKED;
	}
	so = dlopen(core, RTLD_LAZY | RTLD_LOCAL);
	if (!so) {
		fprintf(stderr, "hangar: cannot load its core: %s\n", dlerror());
		free(core);
		return 1;
	}
	free(core);
	core_main = (cli_core_main_fn *)dlsym(so, CLI_CORE_MAIN);
	if (!core_main) {
		fprintf(stderr, "hangar: %s\n", dlerror());
		return 1;
	}
	return core_main(argc, argv, flags);
}
