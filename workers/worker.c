/*
 * worker.c: the worker daemon (see worker.h). Signals are blocked in every
 * thread and taken by the main thread with sigtimedwait, so they only set
 * flags; slot threads wait on LISTEN/NOTIFY with a timeout and re-check
 * those flags, the heartbeat thread waits on a condition variable.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "proc.h"
#include "worker.h"
#include "xalloc.h"
#include "banned.h"

/* How long an idle slot sleeps between looks when no NOTIFY comes. */
#define IDLE_WAIT_MS 5000

struct worker;

struct worker_slot {
	struct worker *w;
	int index;
	pthread_t thread;
	volatile sig_atomic_t cancel;   /* JOB_RUN_* for the job it runs */
	long flight;                    /* 0: idle */
	char job[128];
	int attempt;
};

struct worker {
	const struct worker_conf *conf;
	struct worker_slot *slots;
	volatile sig_atomic_t stopping;
	pthread_mutex_t lock;           /* slots' flight/job, the cond */
	pthread_cond_t wake;
	long heartbeat;                 /* seconds: the links' word, else
					 * the configuration's */
};

/* heartbeat: the interval the link asks for (0: as it is). */
static void slot_set(struct worker_slot *s, long flight, const char *job,
		     int attempt, long heartbeat)
{
	pthread_mutex_lock(&s->w->lock);
	s->flight = flight;
	s->attempt = attempt;
	if (heartbeat > 0 && heartbeat != s->w->heartbeat) {
		s->w->heartbeat = heartbeat;
		pthread_cond_broadcast(&s->w->wake);
	}
	snprintf(s->job, sizeof(s->job), "%s", job ? job : "");
	s->cancel = s->w->stopping ? JOB_RUN_STOP : JOB_RUN_GO;
	pthread_mutex_unlock(&s->w->lock);
}

static int slot_open_link(struct worker_slot *s, struct wlink **l)
{
	struct err err = ERR_INIT;

	while (!s->w->stopping) {
		if (wlink_open(s->w->conf, 1, &s->w->stopping, l, &err) == 0)
			return 0;
		log_warnx("worker slot=%d: %s; retrying in 5 s", s->index, err.msg);
		for (int i = 0; i < 50 && !s->w->stopping; i++) {
			struct timespec ts = { 0, 100 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	*l = NULL;
	return -1;
}

static void slot_run(struct worker_slot *s, struct wlink *l, struct wjob *j)
{
	struct job_run r = { s->w->conf, l, j, &s->cancel };
	struct err err = ERR_INIT;
	long long t0 = proc_now_ms();

	slot_set(s, j->flight, j->job, j->attempt, l->heartbeat);
	log_info("flight=%ld job=%s attempt=%d host=%s: running recipe %s",
		 j->flight, j->job, j->attempt,
		 j->nhosts ? j->hosts[0].name : "-", j->recipe);
	if (job_run(&r, &err) < 0)
		log_warnx("flight=%ld job=%s: %s", j->flight, j->job, err.msg);
	else
		log_info("flight=%ld job=%s: done in %.1f s", j->flight, j->job,
			 (proc_now_ms() - t0) / 1000.0);
	slot_set(s, 0, NULL, 0, 0);
}

/* Sleeps ms, or less when the worker stops. */
static void slot_nap(struct worker_slot *s, int ms)
{
	for (; ms > 0 && !s->w->stopping; ms -= 100)
		proc_nap_ms(100);
}

static void *slot_main(void *arg)
{
	struct worker_slot *s = arg;
	const struct worker_conf *c = s->w->conf;
	struct wlink *l = NULL;

	while (!s->w->stopping) {
		struct err err = ERR_INIT;
		enum wlink_state state;
		struct wjob j;
		int rc;

		if (!l && slot_open_link(s, &l) < 0)
			break;
		/* every slot waits out an outage; the first one says so */
		state = l->ops->keep(l, &err);
		if (s->index == 0)
			l->ops->log_state(l, state, &err);
		if (l->ops->down(l)) {
			slot_nap(s, l->ops->wait_ms(l));
			continue;
		}
		rc = l->ops->claim(l, c->health_check || s->index == 0, &j, &err);
		if (rc == 1) {
			slot_run(s, l, &j);
			wjob_release(&j);
			continue;
		}
		if (rc < 0 && l->ops->ok(l)) {
			log_warnx("worker slot=%d: %s", s->index, err.msg);
			/* a refused token is not fixed by asking again soon */
			slot_nap(s, err.code == ERR_USAGE ? 30000 : 1000);
		}
		if (rc >= 0)
			l->ops->wait_work(l, IDLE_WAIT_MS, &err);   /* a lost
			 * link is keep()'s, next turn */
	}
	wlink_free(l);
	return NULL;
}

/* Renews leases; passes cancellations on to the slots running them. */
static void *heartbeat_main(void *arg)
{
	struct worker *w = arg;
	const struct worker_conf *c = w->conf;
	struct wlink *l = NULL;

	long *flights = xcalloc((size_t)c->slots, sizeof(*flights));
	const char **jobs = xcalloc((size_t)c->slots, sizeof(*jobs));
	int *attempts = xcalloc((size_t)c->slots, sizeof(*attempts));

	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		struct err err = ERR_INIT;
		struct vec cancelled = VEC_INIT, names = VEC_INIT, held = VEC_INIT;
		struct vec sent = VEC_INIT;   /* "FLIGHT.JOB" */
		struct timespec until;
		size_t n = 0;
		int renewed = 0;

		for (int k = 0; k < c->slots; k++)
			if (w->slots[k].flight) {
				flights[n] = w->slots[k].flight;
				attempts[n] = w->slots[k].attempt;
				vec_push(&names, w->slots[k].job);
				vec_pushf(&sent, "%ld.%s", w->slots[k].flight,
					  w->slots[k].job);
				n++;
			}
		for (size_t k = 0; k < n; k++)
			jobs[k] = names.v[k];
		pthread_mutex_unlock(&w->lock);
		if (!l && wlink_open(c, 0, &w->stopping, &l, &err) < 0) {
			log_warnx("worker heartbeat: %s", err.msg);
			l = NULL;
		}
		/* an outage is said by the slots; the lease is renewed as
		 * soon as the link is back. A remote worker says so even
		 * with no job: the controller then ends the leases of any
		 * it holds in this worker's name (a claim whose answer was
		 * lost, this worker's previous life) */
		if (l && l->ops->keep(l, &err) != WLINK_DOWN && !l->ops->down(l) &&
		    (n || c->controller)) {
			renewed = l->ops->heartbeat(l, flights, jobs, attempts, n,
						    &held, &cancelled, &err) == 0;
			if (!renewed && l->ops->ok(l))
				log_warnx("worker heartbeat: %s", err.msg);
		}
		err_clear(&err);
		pthread_mutex_lock(&w->lock);
		for (int k = 0; renewed && k < c->slots; k++) {
			struct worker_slot *s = &w->slots[k];
			char key[160];

			/* taken over (this worker was frozen or cut off past
			 * its lease): stop it; one that has just ended
			 * ignores it */
			snprintf(key, sizeof(key), "%ld.%s", s->flight, s->job);
			if (s->flight && vec_find(&sent, key) >= 0 &&
			    vec_find(&held, key) < 0 && s->cancel == JOB_RUN_GO)
				s->cancel = JOB_RUN_LOST;
		}
		for (size_t i = 0; i < cancelled.n; i++)
			for (int k = 0; k < c->slots; k++) {
				struct worker_slot *s = &w->slots[k];
				char key[160];

				snprintf(key, sizeof(key), "%ld.%s", s->flight, s->job);
				if (s->flight && !strcmp(key, cancelled.v[i]) &&
				    s->cancel == JOB_RUN_GO) {
					log_info("flight=%ld job=%s: cancel requested",
						 s->flight, s->job);
					s->cancel = JOB_RUN_CANCEL;
				}
			}
		vec_clear(&cancelled);
		vec_clear(&names);
		vec_clear(&held);
		vec_clear(&sent);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += w->heartbeat;
		while (!w->stopping &&
		       pthread_cond_timedwait(&w->wake, &w->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&w->lock);
	wlink_free(l);
	free(flights);
	free(jobs);
	free(attempts);
	return NULL;
}

int worker_main(const struct worker_conf *conf, struct err *err)
{
	struct worker w;
	pthread_t heartbeat;
	sigset_t set;
	int sig;

	memset(&w, 0, sizeof(w));
	w.conf = conf;
	w.heartbeat = conf->heartbeat;
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.wake, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (wlink_start(conf, &w.stopping, err) < 0)
		return -1;
	w.slots = xcalloc((size_t)conf->slots, sizeof(*w.slots));
	if (pthread_create(&heartbeat, NULL, heartbeat_main, &w) != 0)
		return err_set(err, ERR_FAIL, "worker: cannot start a thread");
	for (int i = 0; i < conf->slots; i++) {
		w.slots[i].w = &w;
		w.slots[i].index = i;
		if (pthread_create(&w.slots[i].thread, NULL, slot_main,
				   &w.slots[i]) != 0)
			fatalx("worker: cannot start slot thread %d", i);
	}
	log_info("worker %s: %d slot(s), lease %ld s, heartbeat %ld s",
		 conf->owner, conf->slots, conf->lease, conf->heartbeat);
	for (;;) {
		sig = sigwaitinfo(&set, NULL);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (sig == SIGHUP)
			log_info("worker: SIGHUP: its settings take effect when it "
				 "starts again; running jobs go on");
	}
	log_info("worker: stopping; running jobs go back to the queue");
	pthread_mutex_lock(&w.lock);
	w.stopping = 1;
	for (int i = 0; i < conf->slots; i++)
		if (w.slots[i].flight)
			w.slots[i].cancel = JOB_RUN_STOP;
	pthread_cond_broadcast(&w.wake);
	pthread_mutex_unlock(&w.lock);
	wlink_wake_all(conf);
	for (int i = 0; i < conf->slots; i++)
		pthread_join(w.slots[i].thread, NULL);
	pthread_join(heartbeat, NULL);
	free(w.slots);
	pthread_cond_destroy(&w.wake);
	pthread_mutex_destroy(&w.lock);
	return 0;
}
