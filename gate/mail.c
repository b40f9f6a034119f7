/*
 * mail.c: report mails handed to the local mail system.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"
#include "mail.h"
#include "proc.h"
#include "xalloc.h"
#include "banned.h"

int mail_send(const char *sendmail, const char *path, struct err *err)
{
	/* the path is an argument, never part of the command's text */
	char *cmd = xasprintf("exec %s < \"$1\"", sendmail);
	const char *argv[] = { "/bin/sh", "-c", cmd, "sh", path, NULL };
	struct buf out = BUF_INIT;
	int st = proc_run((char *const *)argv, NULL, &out, err);

	if (st > 0 || (st < 0 && !err->code))
		err_set(err, ERR_FAIL, "sendmail (%s) failed: exit status %d%s%s",
			sendmail, st, out.len ? ": " : "", out.len ? out.buf : "");
	else if (st < 0)
		err_prefix(err, "sendmail (%s)", sendmail);
	buf_release(&out);
	free(cmd);
	return st == 0 ? 0 : err->code;
}

const char *mail_hostname(void)
{
	static char host[256];

	if (!host[0] && gethostname(host, sizeof(host) - 1) < 0)
		snprintf(host, sizeof(host), "hangar");
	return host;
}
