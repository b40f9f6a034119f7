/*
 * gate-loop.c: the gate daemon's loop (see gate-loop.h).
 */
#include <stdlib.h>

#include "db-gate.h"
#include "gate-loop.h"
#include "log.h"
#include "proc.h"
#include "vec.h"
#include "banned.h"

/* One cycle of every branch; -1 when one of them failed. */
static int gate_loop_branches(struct db *db, const struct gate_loop_conf *conf,
			      int once, volatile sig_atomic_t *stop)
{
	struct err err = ERR_INIT;
	struct vec names = VEC_INIT;
	int rc = 0;

	if (db_gate_branches(db, &names, &err) < 0) {
		if (db_connection_ok(db))
			log_warnx("%s", err.msg);
		err_clear(&err);
	}
	for (size_t i = 0; i < names.n && !*stop; i++) {
		struct gate_result res;

		if (gate_cycle(db, &conf->gate, names.v[i], &res, &err) < 0) {
			/* a lost database is said once, by the caller */
			if (db_connection_ok(db))
				log_warnx("%s: %s", names.v[i], err.msg);
			err_clear(&err);
			rc = -1;
		} else if (once || res.created || res.decided) {
			log_info("%s: %s", names.v[i], res.what);
		}
	}
	vec_clear(&names);
	return rc;
}

int gate_loop(struct db *db, struct gate_loop_conf *conf, int once,
	      volatile sig_atomic_t *stop, volatile sig_atomic_t *reload,
	      void (*reload_fn)(void *arg, struct gate_loop_conf *conf),
	      void *arg, struct err *err)
{
	static const char *const channels[] = { "hangar_gate", "hangar_lab", NULL };
	struct db_keep keep = { .channels = channels };
	struct err e = ERR_INIT;
	int rc = 0;

	if (!once && (db_listen(db, "hangar_gate", err) < 0 ||
		      db_listen(db, "hangar_lab", err) < 0))
		return err->code;
	log_info("watching the branches of %s", db->where);
	while (!*stop) {
		if (*reload) {
			*reload = 0;
			reload_fn(arg, conf);
		}
		db_keep_log(db_keep(db, &keep, &e), &e);
		err_clear(&e);
		if (keep.down) {
			if (once)
				return 1;
			proc_nap_ms(db_keep_wait_ms(&keep));
			continue;
		}
		if (gate_loop_branches(db, conf, once, stop) < 0)
			rc = 1;
		if (!*stop)
			bisector_cycle(db, &conf->bisect);
		if (once)
			break;
		if (db_wait_notify(db, (int)conf->interval_ms, &e) < 0)
			err_clear(&e);
	}
	log_info("stopped");
	return once ? rc : 0;
}
