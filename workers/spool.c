/*
 * spool.c: the rules of a remote worker's spool (see spool.h).
 */
#include <string.h>

#include "spool.h"
#include "banned.h"

int spool_log_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n && n <= 255 && name[0] != '.' &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789._-+@=,") == n;
}

long long spool_log_ack(long long offset, size_t len, long status,
			long long size)
{
	if (offset < 0)
		return -1;
	if (status == 200)
		return size >= offset + (long long)len ? size : -1;
	if (status == 409 && size >= 0 && size < offset)
		return size;
	return -1;
}

int spool_backoff_next(int cur_ms, int max_ms)
{
	int next = cur_ms <= 0 ? 1000 : cur_ms > max_ms / 2 ? max_ms : 2 * cur_ms;

	return next < 1000 ? 1000 : next;
}
