/*
 * log.c: one line per message on stderr, "name: message", with a UTC
 * timestamp in daemons so that logs of several processes can be merged.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "banned.h"

static const char *log_prefix = "hangar";
static enum log_level log_level = LOG_LEVEL_INFO;
static int log_timestamps;

void log_init(const char *name, enum log_level level, int timestamps)
{
	log_prefix = name;
	log_level = level;
	log_timestamps = timestamps;
}

const char *log_name(void)
{
	return log_prefix;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

static void log_vwrite(const char *fmt, va_list ap, const char *suffix)
	__attribute__((format(printf, 1, 0)));

static void log_vwrite(const char *fmt, va_list ap, const char *suffix)
{
	char line[2048];
	size_t len = 0;

	if (log_timestamps) {
		struct tm tm;
		time_t now = time(NULL);

		gmtime_r(&now, &tm);
		len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%SZ ", &tm);
	}
	len += (size_t)snprintf(line + len, sizeof(line) - len, "%s: ",
				log_prefix);
	if (len < sizeof(line))
		vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	if (suffix)
		fprintf(stderr, "%s: %s\n", line, suffix);
	else
		fprintf(stderr, "%s\n", line);
}

#define LOG_BODY(level, suffix) \
	do { \
		va_list ap; \
		if (log_level < (level)) \
			return; \
		va_start(ap, fmt); \
		log_vwrite(fmt, ap, (suffix)); \
		va_end(ap); \
	} while (0)

void log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(LOG_LEVEL_WARN, e);
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, NULL);
}

void log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, NULL);
}

void log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, NULL);
}

void fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, e);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

void log_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: BUG: %s:%d: ", log_prefix, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
