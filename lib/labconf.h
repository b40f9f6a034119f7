/*
 * labconf.h: the lab configuration (DESIGN.md "Lab configuration"): the
 * table of its sections and keys, and the validated model built from a
 * file: lab settings, hosts, trees, branches, jobs and recipes.
 */
#ifndef HANGAR_LABCONF_H
#define HANGAR_LABCONF_H

#include <stdio.h>

#include "conf.h"
#include "vec.h"

extern const char *const labconf_archs[];   /* x86_64 arm64 riscv64 */
extern const char *const labconf_powers[];  /* ipmi pdudaemon command none */
extern const struct conf_section_def labconf_sections[];

enum step_kind {
	STEP_HOST_POWER_CYCLE,
	STEP_HOST_INSTALL,
	STEP_REBOOT,
	STEP_BUILD,
	STEP_INSTALL_BUILD,
	STEP_RUN,
	STEP_LOGS_CAPTURE,
	STEP_BOOT,
	STEP_CONSOLE_SEND,
	STEP_EXPECT,
};
#define STEP_KIND_LAST STEP_EXPECT

const char *step_kind_str(enum step_kind kind);
/* Parses a step kind's name; -1 if none. */
int step_kind_parse(const char *s);

/*
 * A boot step's options (its "command" in the recipe): expect=PATTERN
 * (required), fail=PATTERN (any number), started=PATTERN, each a POSIX
 * extended regular expression matched against each console line after
 * power-on; a value runs to the next " KEY=" of these, so patterns keep
 * their spaces without quotes: "expect=login: fail=Kernel panic".
 * kernel=, initrd=, dtb= and file= (any number: a Xen's dom0 kernel,
 * modules) name the boot files (a glob matched against the names of the
 * artifacts of the jobs it needs, or an absolute path on the controller)
 * placed in the host's TFTP directory before power-on; entry= is a
 * template (a path on the controller) for the boot entry instead of the
 * host's netboot one.
 */
#define LAB_BOOT_FILES_MAX 9
struct lab_boot {
	char *expect, *started;  /* started may be NULL */
	struct vec fail;
	char *kernel, *initrd, *dtb;  /* NULL: none */
	struct vec files;             /* file=, in order */
	char *entry;                  /* NULL: the host's netboot template */
};

/* Parses and checks (regcomp) the options; -1 with a reason in why. */
int lab_boot_parse(const char *opts, struct lab_boot *b, char *why,
		   size_t whylen);
void lab_boot_release(struct lab_boot *b);

struct lab_step {
	enum step_kind kind;
	char *name;       /* the testid: "build", "smoke", "reboot.2" */
	char *command;    /* NULL for steps that take none */
	long timeout;     /* seconds; 0: the kind's default */
	char *cases;      /* run, boot: how its output (a boot's console)
			   * gives test cases ("tap", "xtf", "hangar",
			   * "junit:PATH": run only), or NULL */
};

/*
 * Parses one `step = ...` value: KIND [timeout=SECONDS] [cases=FORMAT]
 * [NAME] [COMMAND], the options in any order.
 * Returns 0, or -1 with a reason in why (static or in whybuf).
 */
int lab_step_parse(const char *text, struct lab_step *step, char *whybuf,
		   size_t whylen);
void lab_step_release(struct lab_step *step);

struct lab_host {
	char *name;
	char *site;           /* never NULL: [lab] site when it says none */
	char *arch;
	char *address;
	int port;
	char *user;
	char *workdir;
	struct vec flags;
	char *power;
	char *ipmi;           /* lanplus:HOST[:PORT] */
	char *ipmi_user;
	char *ipmi_password;
	int ipmi_cipher;
	char *power_on, *power_off, *power_status;
	char *pdu;            /* URL NAME PORT */
	char *console;        /* tcp:HOST:PORT | command:CMD | none */
	int boot_timeout;
	int share_max_tasks;
	int share_max_wear;
	int power_cycle_time;
	char *health_check;   /* recipe, or NULL: the [worker] one */
	char *pxe_file;       /* boot entry path template under [lab] tftp */
	char *pxe_install;    /* template contents, or NULL */
	char *pxe_local;      /* template contents, or NULL: pxelinux localboot */
	char *netboot_dir;    /* boot files' directory under [lab] tftp */
	char *netboot_file;   /* boot step's entry path under [lab] tftp */
	char *netboot;        /* its template contents, or NULL: none */
	int install_timeout;
};

struct lab_tree {
	char *name;
	char *url;
};

struct lab_branch {
	char *name;
	char *tree;
	char *staging;
	char *target;
	struct vec pins;
	struct vec jobs;
	struct vec allow;     /* "JOBPAT [STEPPAT]" each */
	int priority;
	int push_starved;     /* starved jobs do not stop a push */
};

struct lab_job {
	char *name;
	char *recipe;
	char *arch;
	struct vec runvars;   /* "name=value" each, names unique */
	struct vec needs;
	struct vec flags;
	int hosts;
};

struct lab_recipe {
	char *name;
	struct lab_step *steps;
	size_t nsteps;
	struct vec artifacts;
};

/* [scheduler]: durations in seconds, priorities higher first. */
struct lab_sched {
	long interval;
	long claim_timeout;
	long default_duration;
	long estimate_window;
	long prefer_failed_host;
	long spread_bonus;
	int prio_reservation, prio_gate, prio_bisect, prio_retest, prio_adhoc;
	int starvation;
	long starvation_wait;       /* seconds */
	int starvation_estimates;
	long pinned_wait;           /* seconds */
	long full_read_interval;    /* seconds */
};

/* [worker]: durations in seconds. */
struct lab_worker {
	int slots;
	long heartbeat;
	long lease;
	char *health_check;   /* recipe name, or NULL */
	long health_check_interval;
	struct vec logs;      /* default files of logs-capture */
	long max_log;         /* bytes */
	/* NULL when unset; paths absolute */
	char *site;           /* the site it serves (NULL: [lab] site) */
	char *controller;     /* a remote worker: the controller's URL */
	char *token_file, *ca, *name;
};

/* [gate]: durations in seconds; strings NULL when unset. */
struct lab_gate {
	long interval;
	int retest;
	int bisect;
	long bisect_max_commits;
	long again;
	char *sendmail;
	char *mail_to, *mail_from;
};

/* [web] */
struct lab_web {
	int read_viewer;      /* reading needs a viewer token */
	int threads;
	int max_connections;
	long timeout;         /* seconds */
	char *tls_cert, *tls_key; /* absolute paths, both or neither: HTTPS */
	long max_upload;      /* bytes of one uploaded artifact */
};

/* [requirements] (docs/evidence.md); set: the section sets tree or file. */
struct lab_requirements {
	int set;
	char *tree;           /* NULL: file is a path on disk */
	char *file;           /* in the tree; else absolute */
	char *format;         /* "hangar" */
};

/* [evidence] */
struct lab_evidence {
	char *key;            /* absolute, or NULL: records unsigned */
	char *signer;         /* never NULL after a load ("hangar") */
};

/* [site "NAME"] */
struct lab_site {
	char *name;
	long lease;           /* seconds; 0: [worker] lease */
};

struct lab {
	char *path;           /* absolute path of the file read */
	char *state;          /* absolute */
	char *database;       /* NULL: the private cluster under state */
	char *db_listen;      /* the private cluster's TCP addresses, or NULL */
	char *db_sync_standby; /* its synchronous_standby_names, or NULL */
	char *listen;
	char *identity;       /* absolute, or NULL */
	char *url;            /* the dashboard as hosts reach it */
	char *tftp;           /* absolute, or NULL */
	char *site;           /* the controller's own site, never NULL */
	struct lab_site *sites; /* the [site] sections */
	size_t nsites;
	struct lab_host *hosts;
	size_t nhosts;
	struct lab_tree *trees;
	size_t ntrees;
	struct lab_branch *branches;
	size_t nbranches;
	struct lab_job *jobs;
	size_t njobs;
	struct lab_recipe *recipes;
	size_t nrecipes;
	struct lab_sched sched;
	struct lab_worker worker;
	struct lab_gate gate;
	struct lab_web web;
	struct lab_requirements requirements;
	struct lab_evidence evidence;
};

/*
 * Reads and validates path. Every problem goes to diag; returns 0 when
 * there were none, else -1 (lab is then released).
 */
int labconf_load(const char *path, struct lab *lab, struct conf_diag *diag);
void labconf_release(struct lab *lab);

/* Whether s is a site name: [a-z0-9][a-z0-9-]*, at most 63 bytes. */
int lab_site_name_valid(const char *s);
/* The lease (seconds) of jobs claimed for site: its [site] lease, else
 * [worker] lease. */
long lab_site_lease(const struct lab *lab, const char *site);
/* Whether site is [lab] site, a [site] section's or a host's. */
int lab_site_known(const struct lab *lab, const char *site);

/* Writes the key reference (for `hangar help config`). */
void labconf_print_reference(FILE *out);

#endif
