/*
 * log.h: the daemon log, OpenBSD style. Library folders (lib, db, flights,
 * hosts) return errors instead of logging; daemons and commands log once,
 * at the boundary, with key=value context.
 */
#ifndef HANGAR_LOG_H
#define HANGAR_LOG_H

enum log_level { LOG_LEVEL_WARN = 0, LOG_LEVEL_INFO = 1, LOG_LEVEL_DEBUG = 2 };

/* name prefixes every line; timestamps for daemons, not for commands. */
void log_init(const char *name, enum log_level level, int timestamps);
void log_set_level(enum log_level level);
/* That name ("hangar" until log_init). */
const char *log_name(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Log and exit(1); fatal adds strerror(errno). */
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* Always-on invariant checks: a failure is a bug in hangar. */
#define BUG(...) log_bug(__FILE__, __LINE__, __VA_ARGS__)
#define ASSERT(cond) \
	do { \
		if (!(cond)) \
			log_bug(__FILE__, __LINE__, "assertion failed: %s", #cond); \
	} while (0)
void log_bug(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#endif
