/*
 * cli.h: what the `hangar` subcommands share: global options, loading the
 * lab configuration, opening the database, usage errors and JSON output.
 */
#ifndef HANGAR_CLI_H
#define HANGAR_CLI_H

#include <jansson.h>

#include "buf.h"
#include "db.h"
#include "labconf.h"

struct cli {
	const char *argv0;       /* path of this binary, to re-run itself */
	const char *config;      /* --config, else $HANGAR_CONFIG, else default */
	const char *state;       /* --state: overrides [lab] state */
	int verbose;
	struct lab lab;
	int lab_loaded;
	int report_asked;        /* the front asked the web daemon in vain */
};

struct cmd {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *usage;       /* first line: synopsis; then details */
};

#define CLI_DEFAULT_CONFIG "/etc/hangar/hangar.conf"

/*
 * The `hangar` executable is a small front (front.c) that answers
 * `--version` and, from the web daemon, `flight report`, and loads
 * hangar-core.so (everything else, main.c) for the rest: the libraries
 * the core links take longer to load than a report takes to serve.
 */
#define CLI_CORE_SO "hangar-core.so"
#define CLI_CORE_MAIN "hangar_core_main"
#define CLI_CORE_REPORT_ASKED 1u   /* the front asked the daemon in vain */
typedef int cli_core_main_fn(int argc, char **argv, unsigned flags);
int hangar_core_main(int argc, char **argv, unsigned flags);

/* The manual pages in roff (man.c): hangar(1) from the commands' usage
 * texts, hangar.conf(5) from the configuration key table. */
void man_hangar(FILE *out, const char *version, const char *main_usage,
		const struct cmd *commands);
void man_hangar_conf(FILE *out, const char *version);

/*
 * Parses a subcommand's options. opts is a getopt_long table; "help" is
 * handled here (prints usage, exit 0), an unknown option prints usage and
 * exits 2. Returns the next option like getopt_long, -1 at the end.
 */
struct option;
int cli_getopt(int argc, char **argv, const struct option *opts,
	       const char *usage);

/*
 * The global options before the command (--config, --state, -v) into cli;
 * *i is then the command's index, or the option's that stopped the parse:
 * --help, --version, --config or --state without a value, or another.
 */
enum cli_global { CLI_GLOBAL_OK, CLI_GLOBAL_HELP, CLI_GLOBAL_VERSION,
		  CLI_GLOBAL_NO_VALUE, CLI_GLOBAL_UNKNOWN };
enum cli_global cli_global_options(struct cli *cli, int argc, char **argv,
				   int *i);
/* Prints "hangar: message" and the usage hint; returns 2. */
int cli_usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prints "hangar: error" and returns the exit status for err. */
int cli_fail(const struct err *err);

/* The configuration path in force (argument, --config, env or default). */
const char *cli_config_path(const struct cli *cli);
/* Loads and validates the lab configuration (path may be NULL for the one
 * in force); on problems prints them all and returns 2. */
int cli_load_lab(struct cli *cli, const char *path);
/* Reads the configuration again (SIGHUP; path NULL: the one in force): on
 * success it replaces cli->lab; a file with errors keeps the old one and
 * logs each error with its file and line. 0 or -1. */
int cli_reload_lab(struct cli *cli, const char *path);
/*
 * `hangar up`'s last good configuration: path (and what it includes) read
 * again and written to out as one file with absolute paths, which must
 * load cleanly; an error leaves out as it was.
 */
int up_conf_snapshot(const char *path, const char *out, struct err *err);
/* Opens the lab's database (loading the configuration first if needed). */
int cli_open_db(struct cli *cli, struct db **db);
/* The database target of the loaded lab. */
struct db_target cli_db_target(const struct cli *cli);

/* Prints j (stealing the reference) as indented JSON on stdout. */
void cli_print_json(json_t *j);

int cmd_db(struct cli *cli, int argc, char **argv);
int cmd_lab(struct cli *cli, int argc, char **argv);
int cmd_host(struct cli *cli, int argc, char **argv);
int cmd_up(struct cli *cli, int argc, char **argv);
int cmd_web(struct cli *cli, int argc, char **argv);
int cmd_scheduler(struct cli *cli, int argc, char **argv);
int cmd_plan(struct cli *cli, int argc, char **argv);
int cmd_reserve(struct cli *cli, int argc, char **argv);
int cmd_release(struct cli *cli, int argc, char **argv);
int cmd_host_block(struct cli *cli, int argc, char **argv);
int cmd_host_power(struct cli *cli, int argc, char **argv);
int cmd_host_console(struct cli *cli, int argc, char **argv);
int cmd_host_maintenance(struct cli *cli, int argc, char **argv);
int cmd_host_exec(struct cli *cli, int argc, char **argv);
int cmd_worker(struct cli *cli, int argc, char **argv);
int cmd_flight(struct cli *cli, int argc, char **argv);
int cmd_request(struct cli *cli, int argc, char **argv);
int cmd_gate(struct cli *cli, int argc, char **argv);
int cmd_demo_drive(struct cli *cli, int argc, char **argv);
int cmd_branch(struct cli *cli, int argc, char **argv);
int cmd_token(struct cli *cli, int argc, char **argv);
int cmd_bisect(struct cli *cli, int argc, char **argv);
int cmd_import(struct cli *cli, int argc, char **argv);
int cmd_backup(struct cli *cli, int argc, char **argv);
int cmd_restore(struct cli *cli, int argc, char **argv);
int cmd_evidence(struct cli *cli, int argc, char **argv);
/* `hangar flight report`: the stored report of a decided flight, else
 * the flight judged now. */
int cli_flight_report(struct cli *cli, struct db *db, long flight, int json,
		      int now);
/*
 * The web daemon's control socket (ctl-client.c): GET path over
 * STATE/web.sock (HTTP/1.0) within timeout_ms; the body of a 200 answer
 * of Content-Type type from a daemon of build (NULL: of this very code,
 * proc_build_id) is appended to body and 0 returned. Anything else (no
 * daemon, a stale socket, a timeout, another status, type or build, an
 * answer cut short) is -1, and the caller does the work itself.
 */
int ctl_client_get(const char *state, const char *build, const char *path,
		   const char *type, int timeout_ms, struct buf *body);
/*
 * `hangar flight report` through that socket: the same bytes as the
 * database path prints (the JSON as the daemon sends it, indented as
 * cli_print_json does; the mail with lab's own mail settings). 0 when
 * printed; -1 when the daemon gave no answer, and nothing was printed.
 */
int ctl_client_report(const struct lab *lab, const char *build, long id,
		      int json, int now);

/* Judges the flight n times (load, classify, JSON and mail); prints the
 * median and fastest times, for the benchmarks. */
int cli_flight_report_bench(struct cli *cli, struct db *db, long flight, int n);

extern const char cmd_db_usage[];
extern const char cmd_lab_usage[];
extern const char cmd_host_usage[];
extern const char cmd_up_usage[];
extern const char cmd_web_usage[];
extern const char cmd_gate_usage[];
extern const char cmd_demo_drive_usage[];
extern const char cmd_branch_usage[];
extern const char cmd_token_usage[];
extern const char cmd_bisect_usage[];
extern const char cmd_import_usage[];
extern const char cmd_backup_usage[];
extern const char cmd_restore_usage[];
extern const char cmd_evidence_usage[];
extern const char cmd_scheduler_usage[];
extern const char cmd_plan_usage[];
extern const char cmd_reserve_usage[];
extern const char cmd_release_usage[];
extern const char cmd_host_block_usage[];
extern const char cmd_host_power_usage[];
extern const char cmd_host_console_usage[];
extern const char cmd_host_maintenance_usage[];
extern const char cmd_host_exec_usage[];
extern const char cmd_worker_usage[];
extern const char cmd_flight_usage[];
extern const char cmd_request_usage[];

#endif
