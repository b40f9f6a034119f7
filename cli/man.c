/*
 * man.c: the manual pages, hangar(1) and hangar.conf(5), written from
 * the same texts as `hangar help` (each command's usage) and `hangar help
 * config` (the configuration key table), so that they cannot drift.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "labconf.h"
#include "banned.h"

/* Text as roff: backslashes escaped, no line taken for a request. */
static void roff_text(FILE *out, const char *s)
{
	int bol = 1;

	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", out);
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
		bol = *s == '\n';
	}
}

/* A usage text as it is printed, in a no-fill block. */
static void roff_block(FILE *out, const char *text)
{
	fputs(".PP\n.nf\n", out);
	roff_text(out, text);
	if (*text && text[strlen(text) - 1] != '\n')
		fputc('\n', out);
	fputs(".fi\n", out);
}

static void man_header(FILE *out, const char *name, int section,
		       const char *version, const char *what)
{
	fprintf(out, ".\\\" written by hangar help --man: do not edit\n");
	fprintf(out, ".TH %s %d \"\" \"hangar %s\" \"hangar manual\"\n", name,
		section, version);
	fputs(".SH NAME\n", out);
	roff_text(out, name);
	fputs(" \\- ", out);
	roff_text(out, what);
	fputc('\n', out);
}

void man_hangar(FILE *out, const char *version, const char *main_usage,
		const struct cmd *commands)
{
	man_header(out, "hangar", 1, version,
		   "a gating CI controller for a lab of real machines");
	fputs(".SH SYNOPSIS\n", out);
	roff_block(out, main_usage);
	fputs(".SH DESCRIPTION\n"
	      "hangar watches a tree's staging branch; for each new tip it runs\n"
	      "a flight of build and test jobs on the lab's hosts, compares the\n"
	      "results with the baseline, pushes staging to the target when\n"
	      "nothing regressed, and bisects each regression to its commit.\n"
	      ".SH COMMANDS\n", out);
	for (const struct cmd *c = commands; c->name; c++) {
		fputs(".SS ", out);
		roff_text(out, c->name);
		fputc('\n', out);
		roff_block(out, c->usage);
	}
	fputs(".SH FILES\n"
	      ".TP\n" CLI_DEFAULT_CONFIG "\n"
	      "the lab configuration (see\n.BR hangar.conf (5))\n"
	      ".SH SEE ALSO\n.BR hangar.conf (5)\n", out);
}

void man_hangar_conf(FILE *out, const char *version)
{
	man_header(out, "hangar.conf", 5, version,
		   "the lab configuration of hangar");
	fputs(".SH DESCRIPTION\n"
	      "The lab configuration is in git-config syntax: [section] or\n"
	      "[section \"NAME\"] headers, then KEY = VALUE lines; ; and #\n"
	      "start comments; [include] path = FILE reads another file.\n"
	      "Relative paths are relative to the file that names them.\n"
	      "hangar lab check FILE validates one, naming the file and line\n"
	      "of each problem. The sections and their keys:\n", out);
	for (const struct conf_section_def *sd = labconf_sections; sd->name;
	     sd++) {
		fputs(".SH ", out);
		fprintf(out, "[%s%s]\n", sd->name, sd->named ? " \\(dqNAME\\(dq" : "");
		roff_text(out, sd->help);
		fputc('\n', out);
		for (const struct conf_key *k = sd->keys; k->name; k++) {
			fputs(".TP\n.B ", out);
			roff_text(out, k->name);
			fputc('\n', out);
			roff_text(out, k->help);
			if (k->flags & CONF_REQUIRED) {
				fputs(" (required)", out);
			} else if (k->def) {
				fputs(" (default: ", out);
				roff_text(out, k->def);
				fputc(')', out);
			}
			fputc('\n', out);
		}
	}
	fputs(".SH SEE ALSO\n.BR hangar (1)\n", out);
}
