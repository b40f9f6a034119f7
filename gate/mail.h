/*
 * mail.h: report mails handed to the local mail system, as OSSTest does:
 * the whole mail, headers first, on the standard input of a shell
 * command such as "/usr/sbin/sendmail -t" ([gate] sendmail).
 */
#ifndef HANGAR_MAIL_H
#define HANGAR_MAIL_H

#include "err.h"

/* Runs sendmail with the file at path on its standard input. ERR_FAIL when
 * it could not run or failed, with its exit status and output. */
int mail_send(const char *sendmail, const char *path, struct err *err);

/* This machine's name, for Message-IDs ("hangar" when it has none). */
const char *mail_hostname(void);

#endif
