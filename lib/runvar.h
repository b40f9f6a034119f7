/*
 * runvar.h: runvars, OSSTest's name=value settings of a job. They are the
 * job's whole input; remote commands see them as HANGAR_<NAME>.
 */
#ifndef HANGAR_RUNVAR_H
#define HANGAR_RUNVAR_H

#include <stddef.h>

/* Names: [a-z0-9_], starting with a letter, at most 64 characters. */
int runvar_name_valid(const char *name);
/*
 * Splits "name=value" into newly allocated *name and *value; returns 0, or
 * -1 with *why set to a static reason.
 */
int runvar_parse(const char *text, char **name, char **value,
		 const char **why);
/* "HANGAR_" + upper-cased name; caller frees. */
char *runvar_env_name(const char *name);
/*
 * Whether a runvar is set by hangar itself for every job (arch, flight,
 * job, host, revision_<tree>, built_revision_<tree>), so a configuration
 * may not set it.
 */
int runvar_reserved(const char *name);
/*
 * Appends to out (a shell command prefix) "HANGAR_NAME='value' " with
 * single-quote escaping, so the runvar reaches a remote command through
 * `sh -c` without relying on sshd's AcceptEnv.
 */
struct buf;
void runvar_shell_assign(struct buf *out, const char *name, const char *value);

#endif
