/*
 * wlink.c: what the two link backends share (see wlink.h): choosing one
 * from the worker's configuration, and the records' memory.
 */
#include <stdlib.h>

#include "job-run.h"
#include "wlink.h"
#include "banned.h"

int wlink_open(const struct worker_conf *conf, int waits,
	       const volatile sig_atomic_t *stop, struct wlink **ret,
	       struct err *err)
{
	if (conf->controller)
		return wlink_http_open(conf, stop, ret, err);
	return wlink_db_open(conf, waits, ret, err);
}

void wlink_free(struct wlink *l)
{
	if (l)
		l->ops->free(l);
}

/* A remote worker's slots wait in their claim, which the stop cuts
 * short. */
void wlink_wake_all(const struct worker_conf *conf)
{
	if (!conf->controller)
		wlink_db_wake_all(conf);
}

int wlink_start(const struct worker_conf *conf,
		const volatile sig_atomic_t *stop, struct err *err)
{
	return conf->controller ? wlink_http_start(conf, stop, err) : 0;
}
