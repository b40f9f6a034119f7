#!/bin/bash
# Several schedulers against one database never double-allocate: three
# that skip the leader lock (HANGAR_SCHED_NO_LEADER, so only the row locks
# stand between them) and one leader race over 2,000 jobs while a fake
# worker claims and finishes whatever gets hosts, and a checker samples
# the live allocations for any host or job held twice.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
h() { "$HANGAR" --config lab.conf "$@"; }
test_when_finished 'kill_pid $(cat "$TEST_DIR"/*.pid 2>/dev/null); kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

# 24 hosts: 16 x86_64 (4 shared build hosts, 12 test hosts in two equiv
# classes) and 8 arm64, one of them in maintenance
{
	printf '[lab]\n\tstate = %s\n' "$STATE"
	# jobs end in milliseconds here: starvation would end most of them
	printf '[scheduler]\n\tinterval = 1s\n\tclaim-timeout = 10m\n\tstarvation = false\n'
	for i in 1 2 3 4; do
		printf '[host "b%s"]\n\tarch = x86_64\n\taddress = 127.0.8.%s\n' $i $i
		printf '\tflags = share-build\n\tshare-max-tasks = 3\n\tshare-max-wear = 10\n'
	done
	for i in $(seq 1 12); do
		printf '[host "x%02d"]\n\tarch = x86_64\n\taddress = 127.0.8.%s\n' $i $((10 + i))
		printf '\tflags = hvm equiv-%s\n' $((i % 2))
	done
	for i in $(seq 1 8); do
		printf '[host "a%s"]\n\tarch = arm64\n\taddress = 127.0.8.%s\n' $i $((30 + i))
	done
	printf '[recipe "r"]\n\tstep = run smoke true\n'
} >lab.conf

test_expect_success 'a lab and 2,000 queued jobs with dependencies' '
	h lab apply lab.conf >/dev/null &&
	q "UPDATE hosts SET state = \$\$maintenance\$\$ WHERE name = \$\$a8\$\$" &&
	psql -X -q -At -v ON_ERROR_STOP=1 "$CONN" <<-\SQL &&
	WITH f AS (INSERT INTO flights (intent, status, queued_at)
		SELECT (ARRAY[$$gate$$, $$adhoc$$, $$bisect$$])[i % 3 + 1], $$queued$$,
			now() + make_interval(secs => i)
		FROM generate_series(1, 20) i RETURNING id)
	INSERT INTO jobs (flight, job, recipe, arch, flags, nhosts)
	SELECT f.id, format($$%s-%s$$, CASE WHEN k < 4 THEN $$build$$ ELSE $$test$$ END, k),
		$$r$$,
		CASE WHEN k % 4 = 3 THEN $$arm64$$ ELSE $$x86_64$$ END,
		CASE WHEN k < 3 THEN $${share-build}$$
		     WHEN k = 3 THEN $${}$$
		     WHEN k % 4 = 3 THEN $${}$$
		     WHEN k % 10 = 0 THEN $${hvm,equiv-pair}$$
		     ELSE $${hvm}$$ END::text[],
		CASE WHEN k % 10 = 0 AND k >= 4 THEN 2 ELSE 1 END
	FROM f, generate_series(0, 99) k;
	INSERT INTO job_deps (flight, job, dep_flight, dep_job)
	SELECT flight, job, flight,
		CASE WHEN arch = $$arm64$$ THEN $$build-3$$ ELSE format($$build-%s$$, (length(job) + flight) % 3) END
	FROM jobs WHERE job LIKE $$test-%$$;
	SQL
	test "$(q "SELECT count(*) FROM jobs WHERE status = \$\$queued\$\$")" = 2000
'

test_expect_success 'four schedulers, a fake worker and a checker run them all' '
	for i in 1 2 3; do
		{ HANGAR_SCHED_NO_LEADER=1 "$HANGAR" --config lab.conf scheduler \
			>sched$i.log 2>&1 & echo $! >sched$i.pid; }
	done &&
	{ "$HANGAR" --config lab.conf scheduler >sched4.log 2>&1 &
	  echo $! >sched4.pid; } &&
	# the worker: claim what got hosts, finish what it claimed; like the
	# real one it skips rows others hold (bulk updates that wait on rows
	# deadlock with the scheduler writing plan rows)
	{ while :; do
		echo "UPDATE jobs SET status = \$\$pass\$\$, finished_at = now(), lease_until = NULL WHERE (flight, job) IN (SELECT flight, job FROM jobs WHERE status = \$\$running\$\$ AND lease_owner = \$\$fake\$\$ FOR UPDATE SKIP LOCKED);"
		echo "UPDATE allocations SET released_at = now() WHERE id IN (SELECT a.id FROM allocations a JOIN jobs j ON a.flight = j.flight AND a.job = j.job WHERE a.released_at IS NULL AND j.status = \$\$pass\$\$ FOR UPDATE OF a SKIP LOCKED);"
		echo "UPDATE jobs SET status = \$\$running\$\$, lease_owner = \$\$fake\$\$, started_at = now(), lease_until = now() + interval \$\$10 min\$\$ WHERE (flight, job) IN (SELECT flight, job FROM jobs WHERE status = \$\$preparing\$\$ FOR UPDATE SKIP LOCKED);"
		echo "DO \$\$ BEGIN PERFORM pg_sleep(0.05); END \$\$;"
	  done | psql -X -q -At -v ON_ERROR_STOP=1 "$CONN" >worker.out 2>&1 &
	  echo $! >worker.pid; } &&
	# the checker: any host held whole and shared, or over its share
	# slots, or any job holding more hosts than it needs
	{ while :; do
		echo "SELECT \$\$mixed \$\$ || host FROM allocations WHERE released_at IS NULL GROUP BY host HAVING count(*) > 1 AND bool_or(shareix = 0)
		UNION ALL SELECT \$\$slots \$\$ || a.host FROM allocations a JOIN hosts h ON h.name = a.host WHERE a.released_at IS NULL AND a.shareix > 0 GROUP BY a.host, h.share_max_tasks HAVING count(*) > h.share_max_tasks
		UNION ALL SELECT \$\$job \$\$ || a.flight || \$\$.\$\$ || a.job FROM allocations a JOIN jobs j USING (flight, job) WHERE a.released_at IS NULL GROUP BY a.flight, a.job, j.nhosts HAVING count(*) > j.nhosts
		UNION ALL SELECT \$\$state \$\$ || a.host FROM allocations a JOIN hosts h ON h.name = a.host WHERE a.released_at IS NULL AND h.state <> \$\$free\$\$;"
		echo "DO \$\$ BEGIN PERFORM pg_sleep(0.02); END \$\$;"
	  done | psql -X -q -At "$CONN" >violations 2>checker.err &
	  echo $! >checker.pid; } &&
	wait_for "test \"\$(q \"SELECT count(*) FROM jobs WHERE status <> \\\$\\\$pass\\\$\\\$\")\" = 0" 300 &&
	kill_pidfile checker.pid worker.pid sched1.pid sched2.pid sched3.pid sched4.pid
'

test_expect_success 'no host and no job was ever held twice' '
	cat checker.err violations &&
	! test -s checker.err &&
	! test -s violations &&
	! grep -q "duplicate key" sched*.log
'

test_expect_success 'every job ran once, on hosts that suit it' '
	test "$(q "SELECT count(*) FROM jobs j WHERE (SELECT count(*) FROM allocations a WHERE a.flight = j.flight AND a.job = j.job) <> j.nhosts")" = 0 &&
	test "$(q "SELECT count(*) FROM allocations a JOIN jobs j USING (flight, job) JOIN hosts h ON h.name = a.host WHERE h.arch <> j.arch OR h.name = \$\$a8\$\$")" = 0 &&
	test "$(q "SELECT count(*) FROM allocations a JOIN jobs j USING (flight, job) WHERE \$\$share-build\$\$ = ANY (j.flags) AND a.shareix = 0")" = 0 &&
	test "$(q "SELECT count(DISTINCT h.name) FROM allocations a JOIN jobs j USING (flight, job) JOIN host_flags h ON h.host = a.host AND h.flag LIKE \$\$equiv-%\$\$ WHERE j.nhosts = 2 GROUP BY a.flight, a.job HAVING count(DISTINCT h.flag) > 1")" = "" &&
	test "$(q "SELECT count(*) FROM events WHERE kind = \$\$job.allocated\$\$")" = 2000
'

test_expect_success 'the schedulers really raced: several of them allocated' '
	q "SELECT actor, count(*) FROM events WHERE kind = \$\$job.allocated\$\$ GROUP BY actor" &&
	test "$(q "SELECT count(DISTINCT actor) FROM events WHERE kind = \$\$job.allocated\$\$")" -ge 2 &&
	grep -q "is taken\|no longer waiting" sched[123].log
'

test_done
