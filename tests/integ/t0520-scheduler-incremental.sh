#!/bin/bash
# The scheduler keeps hosts, the queue and the plan in memory and reads
# only the rows that changed (sched_changes, migration 0017). Over a long
# random run (flights queued, jobs claimed, passing, failing and dying,
# hosts broken and back, flags changed, pins, reservations, blockages,
# cancellations, priorities, and writers whose transactions commit after
# a pass began) every pass also reads everything in the same snapshot and
# must plan the very same from both copies, the kept copy's plan made
# again from the last one where the clock allows (`hangar scheduler
# --check-steps`). SEED=N reruns a failing run; STEPS=N sets its length.
# Then a change that escapes the log must be found by the daemon's
# periodic full read ([scheduler] full-read-interval), and counted.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"
test_skip_unless "command -v python3"

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
SEED=${SEED:-$(date +%s)}
STEPS=${STEPS:-300}
h() { "$HANGAR" --config lab.conf "$@"; }
test_when_finished 'kill_pid $(cat "$TEST_DIR"/steps.pid "$TEST_DIR"/scheduler.pid 2>/dev/null); kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'
echo "# seed $SEED, $STEPS steps (SEED=$SEED STEPS=$STEPS reruns this)"

{
	printf '[lab]\n\tstate = %s\n[scheduler]\n\tdefault-duration = 1h\n' "$STATE"
	printf '\tstarvation-wait = 1s\n\tpinned-wait = 20s\n'
	printf '\tinterval = 1s\n\tfull-read-interval = 10s\n'
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		case $((i % 3)) in 0) a=x86_64 ;; 1) a=arm64 ;; 2) a=riscv64 ;; esac
		printf '[host "h%s"]\n\tarch = %s\n\taddress = 127.0.9.%s\n' $i $a $i
		case $i in
		1|4) printf '\tflags = share-build\n\tshare-max-tasks = 2\n\tshare-max-wear = 3\n' ;;
		2|3|5) printf '\tflags = hvm equiv-a\n' ;;
		6|9) printf '\tflags = hvm\n' ;;
		esac
	done
	cat <<-CONF
	[tree "t"]
		url = /nonexistent.git
	[branch "b"]
		tree = t
		jobs = build-amd64 build-arm64 build-riscv test-amd64 test-arm64 test-pair test-riscv
	[branch "c"]
		tree = t
		jobs = build-amd64 build-arm64 test-amd64 test-arm64
	[recipe "build"]
		step = build make
	[recipe "test"]
		step = run smoke true
	[job "build-amd64"]
		recipe = build
		arch = x86_64
		flags = share-build
	[job "build-arm64"]
		recipe = build
		arch = arm64
	[job "build-riscv"]
		recipe = build
		arch = riscv64
	[job "test-amd64"]
		recipe = test
		arch = x86_64
		flags = hvm
		needs = build-amd64
	[job "test-arm64"]
		recipe = test
		arch = arm64
		needs = build-arm64
	[job "test-riscv"]
		recipe = test
		arch = riscv64
		needs = build-riscv
	[job "test-pair"]
		recipe = test
		arch = x86_64
		flags = hvm equiv-pair
		hosts = 2
		needs = build-amd64
	CONF
} >lab.conf

cat >run.py <<'PY'
import os, random, re, socket, subprocess, sys, threading, time

conn, hangar, seed, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
relay = os.environ.get("HANGAR_TEST_PQ_PORT")

def relayed(sql):
    # what psql -c prints, from the test's pq-relay (lib-test.sh's q)
    with socket.create_connection(("127.0.0.1", int(relay))) as s:
        s.sendall(conn.encode() + b"\0" + sql.encode() + b"\0")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    out, err, status = data.split(b"\0")[:3]
    if status != b"0":
        raise RuntimeError("%s: %s" % (sql, err.decode()))
    return out.decode().split("\n")[:-1]

class Background(threading.Thread):
    """psql in the background, as a Popen would be"""
    def __init__(self, sql):
        super().__init__(target=relayed, args=(sql,), daemon=True)
        self.start()
    def poll(self):
        return None if self.is_alive() else 0
    def wait(self):
        self.join()

def psql(sql, bg=False):
    if relay and bg:
        return Background(sql)
    if relay:
        return relayed(sql)
    args = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", conn, "-c", sql]
    if bg:
        return subprocess.Popen(args, stdout=subprocess.DEVNULL)
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.split("\n")[:-1]

def pick(sql):
    rows = psql(sql)
    return rnd.choice(rows).split("|") if rows else None

HOSTS = ["h%d" % i for i in range(1, 13)]
JOBS = ["build-amd64", "build-arm64", "build-riscv", "test-amd64",
        "test-arm64", "test-riscv", "test-pair"]

def queue():
    branch = rnd.choice(["b", "c"])
    intent = rnd.choice(["gate", "adhoc", "bisect", "retest"])
    psql("""WITH f AS (INSERT INTO flights (branch, intent, status, queued_at)
        VALUES ('%s', '%s', 'queued', now() - make_interval(secs => %d)) RETURNING id),
    js AS (SELECT d.* FROM job_defs d JOIN branches b ON d.name = ANY (b.jobs) WHERE b.name = '%s'),
    j AS (INSERT INTO jobs (flight, job, recipe, arch, nhosts, flags)
        SELECT f.id, js.name, js.recipe, js.arch, js.nhosts, js.flags FROM f, js RETURNING flight, job),
    d AS (INSERT INTO job_deps (flight, job, dep_flight, dep_job)
        SELECT f.id, js.name, f.id, n FROM f, js, unnest(js.needs) n WHERE n IN (SELECT name FROM js))
    SELECT id FROM f""" % (branch, intent, rnd.randint(0, 20000), branch))

def queue_across():
    # a retest of tests only, using the builds of another flight: its
    # dependencies carry their status from there
    r = pick("SELECT flight FROM jobs WHERE job = 'build-amd64'")
    if r:
        psql("""WITH f AS (INSERT INTO flights (branch, intent, status)
            VALUES ('b', 'retest', 'queued') RETURNING id),
        j AS (INSERT INTO jobs (flight, job, recipe, arch, nhosts, flags)
            SELECT f.id, d.name, d.recipe, d.arch, d.nhosts, d.flags FROM f, job_defs d
            WHERE d.name IN ('test-amd64', 'test-pair') RETURNING flight, job)
        INSERT INTO job_deps (flight, job, dep_flight, dep_job)
            SELECT j.flight, j.job, %s, 'build-amd64' FROM j""" % r[0])

def claim():
    r = pick("SELECT flight, job FROM jobs WHERE status = 'preparing'")
    if r:
        psql("UPDATE jobs SET status = 'running', lease_owner = 'w', started_at = now(), "
             "lease_until = now() + interval '1 hour' WHERE flight = %s AND job = '%s'" % tuple(r))

def finish():
    r = pick("SELECT flight, job FROM jobs WHERE status = 'running'")
    if r:
        st = rnd.choice(["pass", "pass", "fail", "broken"])
        psql("BEGIN; UPDATE jobs SET status = '%s', finished_at = now(), lease_until = NULL "
             "WHERE flight = %s AND job = '%s'; UPDATE allocations SET released_at = now() "
             "WHERE flight = %s AND job = '%s' AND released_at IS NULL; COMMIT" % (st, r[0], r[1], r[0], r[1]))

def worker_dies():
    r = pick("SELECT flight, job FROM jobs WHERE status IN ('running', 'preparing')")
    if r:   # its lease runs out: the pass takes it back
        psql("UPDATE jobs SET lease_until = now() - interval '1 hour' "
             "WHERE flight = %s AND job = '%s'" % tuple(r))

def host_state():
    h = rnd.choice(HOSTS)
    st = rnd.choice(["free", "free", "broken", "maintenance"])
    psql("UPDATE hosts SET state = '%s', state_reason = %s, state_since = now() WHERE name = '%s'"
         % (st, "NULL" if st == "free" else "'step %d'" % rnd.randint(0, 9), h))

def host_flag():
    h, f = rnd.choice(HOSTS), rnd.choice(["hvm", "iommu", "equiv-a", "equiv-pair"])
    if rnd.random() < 0.5:
        psql("INSERT INTO host_flags VALUES ('%s', '%s') ON CONFLICT DO NOTHING" % (h, f))
    else:
        psql("DELETE FROM host_flags WHERE host = '%s' AND flag = '%s'" % (h, f))

def pin():
    # half the time a job whose dependency is in another flight: a change
    # there re-reads its dependencies, and must leave its pins alone
    r = pick("SELECT j.flight, j.job FROM jobs j WHERE j.status = 'queued' AND j.nhosts = 1"
             + (" AND EXISTS (SELECT 1 FROM job_deps d WHERE d.flight = j.flight "
                "AND d.job = j.job AND d.dep_flight <> d.flight)" if rnd.random() < 0.5 else ""))
    if r:
        val = rnd.choice(HOSTS)
        name = rnd.choice(["host", "host", "starvation"])
        if name == "starvation":
            val = "never"
        psql("INSERT INTO runvars (flight, job, name, val) VALUES (%s, '%s', '%s', '%s') "
             "ON CONFLICT (flight, job, name) DO UPDATE SET val = EXCLUDED.val" % (r[0], r[1], name, val))

def reserve():
    if rnd.random() < 0.5:
        psql("INSERT INTO reservations (kind, owner, host, duration, reason) "
             "VALUES ('reservation', 'p', '%s', %d, 'test')" % (rnd.choice(HOSTS), rnd.randint(60, 7200)))
    else:
        psql("INSERT INTO reservations (kind, owner, arch, nhosts, duration, reason) "
             "VALUES ('reservation', 'p', '%s', %d, %d, 'test')"
             % (rnd.choice(["x86_64", "arm64"]), rnd.randint(1, 2), rnd.randint(60, 7200)))

def block():
    psql("INSERT INTO reservations (kind, owner, host, start_at, end_at, reason) "
         "VALUES ('blockage', 'p', '%s', now() + make_interval(secs => %d), "
         "now() + make_interval(secs => %d), 'test')"
         % (rnd.choice(HOSTS), rnd.randint(0, 3600), rnd.randint(3700, 9000)))

def release():
    r = pick("SELECT id FROM reservations WHERE status IN ('waiting', 'active')")
    if r:
        psql("BEGIN; UPDATE reservations SET status = 'released', released_at = now() WHERE id = %s; "
             "UPDATE allocations SET released_at = now() WHERE reservation = %s "
             "AND released_at IS NULL; COMMIT" % (r[0], r[0]))

def cancel():
    r = pick("SELECT id FROM flights WHERE status IN ('queued', 'running')")
    if r:
        psql("BEGIN; UPDATE jobs SET status = 'cancelled' WHERE flight = %s AND status = 'queued'; "
             "UPDATE flights SET status = 'cancelled' WHERE id = %s; COMMIT" % (r[0], r[0]))

def priority():
    psql("UPDATE branches SET priority = %d WHERE name = '%s'" % (rnd.randint(-50, 50), rnd.choice(["b", "c"])))

def requeue_old():
    r = pick("SELECT id FROM flights WHERE status = 'queued'")
    if r:
        psql("UPDATE flights SET queued_at = queued_at - interval '1 hour' WHERE id = %s" % r[0])

def meddle():
    # another writer sets a waiting job's plan columns (a hand, a
    # restore): logged, read again, and the next pass writes its own back
    r = pick("SELECT flight, job FROM jobs WHERE status = 'queued' AND wait_reason IS NOT NULL")
    if r:
        psql("UPDATE jobs SET wait_reason = 'meddled', planned_hosts = NULL "
             "WHERE flight = %s AND job = '%s'" % tuple(r))

slow = []
def slow_writer():
    # a transaction that takes its xid (and its log entry) now and
    # commits after the next pass began: out of order
    h = rnd.choice(HOSTS)
    slow.append(psql("BEGIN; UPDATE hosts SET share_wear = share_wear + 1, state = '%s' "
                     "WHERE name = '%s'; SELECT pg_sleep(%.2f); COMMIT"
                     % (rnd.choice(["free", "broken"]), h, rnd.uniform(0.05, 0.6)), bg=True))

OPS = [(queue, 6), (queue_across, 2), (claim, 8), (finish, 8), (worker_dies, 2), (host_state, 4),
       (host_flag, 2), (pin, 3), (reserve, 2), (block, 1), (release, 2),
       (cancel, 1), (priority, 1), (requeue_old, 1), (slow_writer, 3), (meddle, 2)]
weights = [w for _, w in OPS]

sched = subprocess.Popen([hangar, "--config", "lab.conf", "scheduler", "--check-steps"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
open("steps.pid", "w").write("%d\n" % sched.pid)
bad = 0
full = 0
again = 0
for step in range(1, steps + 1):
    for _ in range(rnd.randint(1, 3)):
        op = rnd.choices(OPS, weights)[0][0]
        op()
    if slow and rnd.random() < 0.2:
        time.sleep(rnd.uniform(0, 0.3))
    sched.stdin.write("step %d\n" % step)
    sched.stdin.flush()
    line = sched.stdout.readline().strip()
    if not line.startswith("ok"):
        print("# step %d (seed %d): %s" % (step, seed, line or "the scheduler died"))
        bad += 1
        if not line:
            break
    else:
        full += "full read" in line
        # the plan made again from the last one, compared with one
        # made from scratch: count the steps where it kept results
        m = re.search(r"planned again: (\d+) kept", line)
        again += bool(m and int(m.group(1)) > 0)
    slow = [p for p in slow if p.poll() is None]
for p in slow:
    p.wait()
sched.stdin.close()
sched.wait()
# a pass followed every meddling: each such row has its plan back
meddled = int(psql("SELECT count(*) FROM jobs WHERE status = 'queued' AND wait_reason = 'meddled'")[0])
if meddled:
    print("# %d waiting jobs keep a plan another wrote" % meddled)
    bad += 1
counts = psql("SELECT string_agg(status || '=' || n, ' ' ORDER BY status) FROM "
              "(SELECT status, count(*) n FROM jobs GROUP BY status) x")
summary = "# %d steps, %d of them full reads, %d planned again keeping results, %d differ; jobs: %s" % (
    steps, full, again, bad, counts[0])
print(summary)
open("run.summary", "w").write(summary + "\n")
sys.exit(1 if bad or again < steps // 10 else 0)
PY

test_expect_success 'the lab and a first flight' '
	h lab apply lab.conf >/dev/null &&
	"$(dirname "$LAB")/queue-flight.sh" "$CONN" b >/dev/null
'

test_expect_success "a long random run: the kept copy plans as a full read does (seed $SEED)" '
	python3 run.py "$CONN" "$HANGAR" "$SEED" "$STEPS"
'

cat run.summary 2>/dev/null

test_expect_success 'the writers logged their changes, and no check found a difference' '
	test "$(q "SELECT count(*) > 0 FROM sched_changes")" = t &&
	test "$(q "SELECT check_differences FROM plan_state")" = 0
'

# A change that escapes the log (its trigger disabled, as a restore or a
# bug might): the daemon's periodic full read must find it, say so
# loudly, count it for /metrics and plan from the truth.
test_expect_success 'a change that escaped the log: the periodic check finds and counts it' '
	at=$(q "SELECT computed_at FROM plan_state") &&
	before=$(q "SELECT check_differences FROM plan_state") &&
	{ setsid "$HANGAR" --config lab.conf scheduler >scheduler.log 2>&1 & } &&
	echo $! >scheduler.pid &&
	wait_for "test \"\$(q \"SELECT computed_at FROM plan_state\")\" != \"$at\"" 30 &&
	q "BEGIN; ALTER TABLE hosts DISABLE TRIGGER hosts_sched_change_upd;
	   UPDATE hosts SET state_reason = \$\$escaped \$\$ || clock_timestamp() WHERE name = \$\$h11\$\$;
	   ALTER TABLE hosts ENABLE TRIGGER hosts_sched_change_upd; COMMIT" &&
	wait_for "grep -q \"CHECK FAILED.*host h11\" scheduler.log" 30 &&
	wait_for "test \$(q \"SELECT check_differences FROM plan_state\") -gt $before" 10 &&
	kill_pid $(cat scheduler.pid) &&
	grep "CHECK FAILED" scheduler.log
'

test_done
