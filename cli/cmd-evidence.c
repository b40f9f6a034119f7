/*
 * cmd-evidence.c: `hangar evidence show|record|rebuild|verify`: the
 * signed evidence records of flights (docs/evidence.md).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "db-evidence.h"
#include "evidence.h"
#include "evidence-diff.h"
#include "evidence-html.h"
#include "fsutil.h"
#include "strnum.h"
#include "xalloc.h"
#include "banned.h"

#define EVIDENCE_FILE_MAX (256L << 20)   /* bytes of a record to verify */

const char cmd_evidence_usage[] =
	"hangar evidence show REV|--flight F [--branch B] [--json|--html]\n"
	"                          [--out FILE]\n"
	"       evidence record F | rebuild REV|--flight F [--json]\n"
	"       evidence diff [REV1] REV2 [--branch B] [--json]\n"
	"       evidence verify FILE [--sig SIG] [--allowed-signers FILE]\n"
	"                            [--logs DIR] [--no-files]\n"
	"\n"
	"The evidence record of a flight (docs/evidence.md): its requirements\n"
	"and their status, every job with its hosts, steps, logs and artifacts\n"
	"(SHA-256 of each), the revisions of every tree; signed with the key of\n"
	"[evidence], stored once and never changed. The gate records each push.\n"
	"\n"
	"  show      the record of revision REV (a full id or a prefix of at least\n"
	"            7 hex digits: the flight that pushed it, else the newest\n"
	"            record of it), or of flight F: a summary; --json: the stored\n"
	"            bytes exactly; --html: a page for people, print-ready (the\n"
	"            dashboard's /evidence/REV, self-contained); --out FILE: the\n"
	"            bytes to FILE, the signature\n"
	"            to FILE.sig, the signer to FILE.allowed_signers, and the\n"
	"            ssh-keygen command that checks them\n"
	"  record    build, sign and store the record of finished flight F (a\n"
	"            record that exists is left as it is, and printed)\n"
	"  rebuild   build the record again from the database, the logs and the\n"
	"            requirements file it names, and compare: \"identical\" (exit\n"
	"            0) or the first difference (exit 1); --json: the rebuilt one\n"
	"  diff      the requirements newly verified, newly failing, no longer\n"
	"            verified, added and removed from REV1's record to REV2's\n"
	"            (without REV1: the push of REV2's branch before it)\n"
	"  verify    check FILE's signature (ssh-keygen -Y verify against\n"
	"            --allowed-signers, else the lab's [evidence] key, else\n"
	"            FILE.allowed_signers), then hash again every log (under\n"
	"            --logs DIR, else STATE/logs) and artifact it names; each\n"
	"            difference is printed. Exit 0: all good; 1: a failure\n"
	"\n"
	"  --flight F          the record of flight F\n"
	"  --branch B          of REV: only records of branch B\n"
	"  --json              JSON output\n"
	"  --html              show: the record as an HTML page\n"
	"  --out FILE          show: write the record, its signature and signer\n"
	"  --sig SIG           verify: the signature (default FILE.sig)\n"
	"  --allowed-signers F verify: the allowed_signers file\n"
	"  --logs DIR          verify: where the logs are\n"
	"  --no-files          verify: the signature only\n";

struct ev_opts {
	long flight;
	const char *branch, *out, *sig, *allowed, *logs;
	int json, html, no_files;
};

/* The stored record that REV or --flight names. */
static int ev_find(struct db *db, const struct ev_opts *o, const char *rev,
		   struct evidence *e, struct err *err)
{
	if (o->flight)
		return db_evidence_by_flight(db, o->flight, e, err);
	return db_evidence_by_rev(db, rev, o->branch, e, err);
}

static void ev_print_text(const struct evidence *e, const json_t *rec)
{
	const json_t *reqs = json_object_get(rec, "requirements");
	const char *rerr = json_string_value(json_object_get(rec,
							     "requirements_error"));
	size_t i, k;
	json_t *r, *j, *h;

	printf("Flight %ld", e->flight);
	if (e->branch)
		printf(" of %s", e->branch);
	printf(": %s flight, %s, verdict %s%s\n",
	       json_string_value(json_object_get(rec, "intent")),
	       json_string_value(json_object_get(rec, "status")),
	       json_string_value(json_object_get(rec, "verdict")),
	       e->pushed ? " (pushed)" : "");
	if (e->tree && e->revision)
		printf("Revision: %s %s\n", e->tree, e->revision);
	printf("Record: sha256 %s, %s, stored %s\n", e->sha256,
	       e->signature ? "signed" : "unsigned", e->created_at);
	if (e->signer)
		printf("Signer: %s %s\n", e->signer, e->signer_key);
	printf("\nRequirements:\n");
	if (rerr)
		printf("  (none: %s)\n", rerr);
	else if (!json_array_size(reqs))
		printf("  (none configured)\n");
	json_array_foreach(reqs, i, r) {
		printf("  %-24s %-10s %s\n",
		       json_string_value(json_object_get(r, "id")),
		       json_string_value(json_object_get(r, "status")),
		       json_string_value(json_object_get(r, "title")));
		json_array_foreach(json_object_get(r, "evidence"), k, j)
			printf("  %-24s   %s %s: %s\n", "",
			       json_string_value(json_object_get(j, "job")),
			       json_string_value(json_object_get(j, "step")),
			       json_string_value(json_object_get(j, "status")));
	}
	printf("\nJobs:\n");
	json_array_foreach(json_object_get(rec, "jobs"), i, j) {
		struct buf hosts = BUF_INIT;

		json_array_foreach(json_object_get(j, "hosts"), k, h) {
			const char *fw = json_string_value(json_object_get(h, "firmware"));

			buf_addf(&hosts, "%s%s (%s, %s%s%s)", k ? ", " : "",
				 json_string_value(json_object_get(h, "name")),
				 json_string_value(json_object_get(h, "arch")),
				 json_string_value(json_object_get(h, "site")),
				 fw ? ", " : "", fw ? fw : "");
		}
		printf("  %-28s %-9s %zu steps, %zu logs, %zu artifacts%s%s\n",
		       json_string_value(json_object_get(j, "job")),
		       json_string_value(json_object_get(j, "status")),
		       json_array_size(json_object_get(j, "steps")),
		       json_array_size(json_object_get(j, "logs")),
		       json_array_size(json_object_get(j, "artifacts")),
		       hosts.len ? " on " : "", hosts.buf);
		buf_release(&hosts);
	}
}

/* show --out FILE: the three files and the command that checks them. */
static int ev_write_out(const struct evidence *e, const char *out,
			struct err *err)
{
	char *sig = xasprintf("%s.sig", out);
	char *as = xasprintf("%s.allowed_signers", out);
	int rc;

	if ((rc = fs_write_file(out, e->record, strlen(e->record), 0644, err)) < 0)
		goto out;
	if (!e->signature) {
		printf("%s: written; the record is unsigned (no [evidence] key "
		       "when it was made)\n", out);
		goto out;
	}
	{
		char *line = evidence_allowed_signers(e->signer, e->signer_key);

		rc = fs_write_file(sig, e->signature, strlen(e->signature), 0644,
				   err);
		if (rc == 0)
			rc = fs_write_file(as, line, strlen(line), 0644, err);
		free(line);
	}
	if (rc < 0)
		goto out;
	printf("%s, %s and %s written. Check them with:\n"
	       "  ssh-keygen -Y verify -f %s -I %s -n %s -s %s < %s\n",
	       out, sig, as, as, e->signer, EVIDENCE_NAMESPACE, sig, out);
out:
	free(sig);
	free(as);
	return rc;
}

static int ev_show(struct cli *cli, const struct ev_opts *o, const char *rev)
{
	struct err err = ERR_INIT;
	struct evidence e;
	struct db *db;
	json_t *rec;
	int rc;

	if ((rc = cli_open_db(cli, &db)))
		return rc;
	rc = ev_find(db, o, rev, &e, &err);
	db_close(db);
	if (rc < 0)
		return cli_fail(&err);
	if (o->out) {
		rc = ev_write_out(&e, o->out, &err);
		if (rc < 0)
			rc = cli_fail(&err);
	} else if (o->json) {
		fputs(e.record, stdout);
	} else if (!(rec = json_loads(e.record, 0, NULL))) {
		fprintf(stderr, "hangar: flight %ld: the stored record is not JSON\n",
			e.flight);
		rc = 1;
	} else if (o->html) {
		struct buf page = BUF_INIT;

		evidence_html(&page, rec, &e, NULL);
		fwrite(page.buf, 1, page.len, stdout);
		buf_release(&page);
		json_decref(rec);
	} else {
		ev_print_text(&e, rec);
		json_decref(rec);
	}
	db_evidence_release(&e);
	return rc;
}

static void ev_conf_of(struct cli *cli, struct evidence_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->state = cli->lab.state;
	c->requirements = &cli->lab.requirements;
	c->key = cli->lab.evidence.key;
	c->signer = cli->lab.evidence.signer;
}

static int ev_record(struct cli *cli, const struct ev_opts *o, const char *arg)
{
	struct err err = ERR_INIT;
	struct evidence_conf c;
	struct evidence e;
	struct db *db;
	long flight;
	int rc, inserted = 0;

	if (strnum_long(arg, 1, 1L << 62, &flight) < 0)
		return cli_usage_error(cmd_evidence_usage,
				       "evidence record: '%s' is not a flight", arg);
	if ((rc = cli_open_db(cli, &db)))
		return rc;
	ev_conf_of(cli, &c);
	memset(&e, 0, sizeof(e));
	if (evidence_record(db, &c, flight, &inserted, &err) < 0 ||
	    db_evidence_by_flight(db, flight, &e, &err) < 0) {
		db_close(db);
		return cli_fail(&err);
	}
	db_close(db);
	if (!inserted)
		fprintf(stderr, "hangar: flight %ld has a record already (stored "
			"%s): unchanged\n", flight, e.created_at);
	if (!inserted || o->json)
		fputs(e.record, stdout);
	else
		printf("flight %ld: evidence record stored (sha256 %s, %s%s)\n",
		       flight, e.sha256, e.signature ? "signed by " : "unsigned",
		       e.signature ? e.signer : "");
	db_evidence_release(&e);
	return 0;
}

/* The first line where a and b differ, for rebuild's message. */
static void ev_first_difference(const char *a, const char *b)
{
	int line = 1;

	while (*a && *a == *b) {
		if (*a == '\n')
			line++;
		a++;
		b++;
	}
	while (line > 1 && a[-1] != '\n') {
		a--;
		b--;
	}
	printf("differs at line %d:\n  stored:  %.*s\n  rebuilt: %.*s\n", line,
	       (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
}

static int ev_rebuild(struct cli *cli, const struct ev_opts *o, const char *rev)
{
	struct err err = ERR_INIT;
	struct evidence e;
	struct db *db;
	json_t *rec = NULL;
	char *bytes;
	int rc;

	if ((rc = cli_open_db(cli, &db)))
		return rc;
	if (ev_find(db, o, rev, &e, &err) < 0 ||
	    evidence_rebuild(db, cli->lab.state, e.flight, e.record, &rec,
			     &err) < 0) {
		db_close(db);
		db_evidence_release(&e);
		return cli_fail(&err);
	}
	db_close(db);
	bytes = evidence_dump(rec);
	json_decref(rec);
	if (o->json)
		fputs(bytes, stdout);
	else if (!strcmp(bytes, e.record))
		printf("identical: flight %ld's record (%zu bytes, sha256 %s)\n",
		       e.flight, strlen(bytes), e.sha256);
	else
		ev_first_difference(e.record, bytes);
	rc = strcmp(bytes, e.record) ? 1 : 0;
	free(bytes);
	db_evidence_release(&e);
	return rc;
}

/*
 * The allowed_signers text for verify; NULL (and a message) when none.
 * --allowed-signers, else the lab's [evidence] key when this machine has
 * the lab's configuration, else FILE.allowed_signers. The lab's key comes
 * before the file beside the record: whoever can change a record can
 * change that file too (sign the change with a key of their own and name
 * it there), so on the lab only the lab's key makes a signature good.
 */
static char *ev_allowed(struct cli *cli, const struct ev_opts *o,
			const char *file, int *rc)
{
	char *path = o->allowed ? xstrdup(o->allowed)
				: xasprintf("%s.allowed_signers", file);
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	char *pub = NULL, *line;

	if (!o->allowed && fs_exists(cli_config_path(cli)) &&
	    (*rc = cli_load_lab(cli, NULL)) == 0 && cli->lab.evidence.key) {
		free(path);
		if (evidence_public_key(cli->lab.evidence.key, &pub, &err) < 0) {
			*rc = cli_fail(&err);
			return NULL;
		}
		line = evidence_allowed_signers(cli->lab.evidence.signer, pub);
		free(pub);
		return line;
	}
	if (*rc) {
		free(path);
		return NULL;
	}
	buf_init(&b, 1 << 20);
	if (buf_read_file(&b, path) == 0) {
		free(path);
		return buf_detach(&b);
	}
	buf_release(&b);
	if (o->allowed)
		fprintf(stderr, "hangar: %s: %s\n", path, strerror(errno));
	else
		fprintf(stderr, "hangar: no allowed signers: no [evidence] key, "
			"no --allowed-signers and no %s\n", path);
	free(path);
	*rc = 2;
	return NULL;
}

static int ev_verify(struct cli *cli, const struct ev_opts *o, const char *file)
{
	char *sigpath = o->sig ? xstrdup(o->sig) : xasprintf("%s.sig", file);
	struct buf data = BUF_INIT, sig = BUF_INIT;
	struct err err = ERR_INIT;
	struct vec bad = VEC_INIT;
	char *allowed = NULL, *logs = NULL;
	const char *state = NULL;
	json_t *rec = NULL;
	int rc = 0, failed = 0;
	long checked;

	buf_init(&data, EVIDENCE_FILE_MAX);
	buf_init(&sig, 1 << 20);
	if (buf_read_file(&data, file) < 0) {
		fprintf(stderr, "hangar: %s: %s\n", file,
			data.overflowed ? "too large" : strerror(errno));
		rc = 2;
		goto out;
	}
	if (buf_read_file(&sig, sigpath) < 0) {
		printf("signature: FAILED: unsigned (%s: %s)\n", sigpath,
		       strerror(errno));
		failed = 1;
	} else {
		if (!(allowed = ev_allowed(cli, o, file, &rc)))
			goto out;
		if (evidence_verify_signature(data.buf, data.len, sig.buf, allowed,
					      &err) < 0) {
			printf("signature: FAILED: %s\n", err.msg);
			failed = 1;
		} else {
			printf("signature: good\n");
		}
	}
	rec = json_loadb(data.buf, data.len, 0, NULL);
	if (!rec || strcmp(json_string_value(json_object_get(rec, "schema")) ?
			   json_string_value(json_object_get(rec, "schema")) : "",
			   EVIDENCE_SCHEMA)) {
		printf("record: FAILED: not a %s record\n", EVIDENCE_SCHEMA);
		failed = 1;
		goto out;
	}
	if (o->no_files)
		goto out;
	if (o->logs) {
		/* an assessor's machine has no lab: the logs alone, quietly */
		logs = xstrdup(o->logs);
		if (fs_exists(cli_config_path(cli)) && cli_load_lab(cli, NULL) == 0)
			state = cli->lab.state;
	} else {
		if ((rc = cli_load_lab(cli, NULL)))
			goto out;
		state = cli->lab.state;
		logs = xasprintf("%s/logs", state);
	}
	checked = evidence_verify_files(rec, logs, state, &bad);
	for (size_t i = 0; i < bad.n; i++)
		printf("file: FAILED: %s\n", bad.v[i]);
	printf("files: %ld checked, %zu bad%s\n", checked, bad.n,
	       state ? "" : " (artifacts not checked: no lab configuration)");
	if (bad.n)
		failed = 1;
out:
	if (rc == 0 && failed)
		rc = 1;
	json_decref(rec);
	vec_clear(&bad);
	free(allowed);
	free(logs);
	free(sigpath);
	buf_release(&data);
	buf_release(&sig);
	return rc;
}

/* A stored record's JSON; NULL (and said on stderr) when it is not. */
static json_t *ev_parse(const struct evidence *e)
{
	json_t *rec = json_loads(e->record, 0, NULL);

	if (!rec)
		fprintf(stderr, "hangar: flight %ld: the stored record is not JSON\n",
			e->flight);
	return rec;
}

/* diff [REV1] REV2: the change tracking of docs/evidence.md. */
static int ev_diff(struct cli *cli, const struct ev_opts *o, const char *rev1,
		   const char *rev2)
{
	struct err err = ERR_INIT;
	struct evidence from, to;
	json_t *jfrom = NULL, *jto = NULL, *diff = NULL;
	struct db *db;
	int rc;

	memset(&from, 0, sizeof(from));
	memset(&to, 0, sizeof(to));
	if ((rc = cli_open_db(cli, &db)))
		return rc;
	rc = db_evidence_by_rev(db, rev2, o->branch, &to, &err);
	if (rc == 0 && rev1)
		rc = db_evidence_by_rev(db, rev1, o->branch, &from, &err);
	else if (rc == 0 && to.branch &&
		 (rc = db_evidence_pushed_before(db, to.branch, to.flight, &from,
						 &err)) == ERR_NOTFOUND)
		rc = 0;    /* the first push: every requirement is new */
	db_close(db);
	if (rc < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	rc = 1;
	if (!(jto = ev_parse(&to)) || (from.record && !(jfrom = ev_parse(&from))))
		goto out;
	diff = evidence_diff(jfrom, jto);
	if (o->json) {
		char *s = json_dumps(diff, JSON_INDENT(2) | JSON_SORT_KEYS);

		puts(s);
		free(s);
	} else {
		struct buf b = BUF_INIT;

		evidence_diff_text(&b, diff, jfrom, jto);
		fwrite(b.buf, 1, b.len, stdout);
		buf_release(&b);
	}
	rc = 0;
out:
	json_decref(diff);
	json_decref(jfrom);
	json_decref(jto);
	db_evidence_release(&from);
	db_evidence_release(&to);
	return rc;
}

int cmd_evidence(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "flight", required_argument, NULL, 'f' },
		{ "branch", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "html", no_argument, NULL, 'H' },
		{ "out", required_argument, NULL, 'o' },
		{ "sig", required_argument, NULL, 's' },
		{ "allowed-signers", required_argument, NULL, 'a' },
		{ "logs", required_argument, NULL, 'l' },
		{ "no-files", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct ev_opts o;
	const char *sub, *arg;
	int c, nargs;

	memset(&o, 0, sizeof(o));
	optind = 0;
	while ((c = cli_getopt(argc, argv, opts, cmd_evidence_usage)) != -1) {
		switch (c) {
		case 'f':
			if (strnum_long(optarg, 1, 1L << 62, &o.flight) < 0)
				return cli_usage_error(cmd_evidence_usage,
						       "evidence: '%s' is not a "
						       "flight", optarg);
			break;
		case 'b': o.branch = optarg; break;
		case 'j': o.json = 1; break;
		case 'H': o.html = 1; break;
		case 'o': o.out = optarg; break;
		case 's': o.sig = optarg; break;
		case 'a': o.allowed = optarg; break;
		case 'l': o.logs = optarg; break;
		case 'n': o.no_files = 1; break;
		}
	}
	if (optind >= argc)
		return cli_usage_error(cmd_evidence_usage,
				       "evidence: expected show, record, "
				       "rebuild, diff or verify");
	sub = argv[optind];
	nargs = argc - optind - 1;
	arg = nargs ? argv[optind + 1] : NULL;
	if (!strcmp(sub, "diff")) {
		if (nargs < 1 || nargs > 2)
			return cli_usage_error(cmd_evidence_usage,
					       "evidence diff: expected [REV1] REV2");
		return ev_diff(cli, &o, nargs == 2 ? arg : NULL,
			       argv[optind + nargs]);
	}
	if (nargs > 1)
		return cli_usage_error(cmd_evidence_usage,
				       "evidence %s: too many arguments", sub);
	if (o.json && o.html)
		return cli_usage_error(cmd_evidence_usage,
				       "evidence: --json or --html, not both");
	if (!strcmp(sub, "show") || !strcmp(sub, "rebuild")) {
		if (!arg == !o.flight)
			return cli_usage_error(cmd_evidence_usage,
					       "evidence %s: expected REV or "
					       "--flight F", sub);
		return !strcmp(sub, "show") ? ev_show(cli, &o, arg)
					    : ev_rebuild(cli, &o, arg);
	}
	if (!strcmp(sub, "record")) {
		if (!arg)
			return cli_usage_error(cmd_evidence_usage,
					       "evidence record: expected a flight");
		return ev_record(cli, &o, arg);
	}
	if (!strcmp(sub, "verify")) {
		if (!arg)
			return cli_usage_error(cmd_evidence_usage,
					       "evidence verify: expected FILE");
		return ev_verify(cli, &o, arg);
	}
	return cli_usage_error(cmd_evidence_usage,
			       "evidence: unknown action '%s'", sub);
}
