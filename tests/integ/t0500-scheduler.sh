#!/bin/bash
# The scheduler against PostgreSQL: allocation, the plan, reservations,
# blockages, a killed owner's hosts coming back, a killed scheduler.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
QUEUE=$(dirname "$LAB")/queue-flight.sh
h() { "$HANGAR" --config lab.conf "$@"; }
test_when_finished 'kill_pid $(cat "$TEST_DIR"/sched*.pid 2>/dev/null); kill_pid $(cat "$TEST_DIR"/beat.pid 2>/dev/null); kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

cat >lab.conf <<CONF
[lab]
	state = $STATE
[scheduler]
	interval = 1s
	claim-timeout = 60s
	default-duration = 1h
[host "h1"]
	arch = x86_64
	address = 127.0.9.1
	flags = share-build
	share-max-tasks = 2
	share-max-wear = 3
[host "h2"]
	arch = x86_64
	address = 127.0.9.2
	flags = hvm equiv-a
[host "h3"]
	arch = x86_64
	address = 127.0.9.3
	flags = hvm equiv-a
[host "h4"]
	arch = arm64
	address = 127.0.9.4
[tree "t"]
	url = /nonexistent.git
[branch "b"]
	tree = t
	jobs = build-amd64 build-arm64 test-amd64 test-pair
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
[job "test-amd64"]
	recipe = test
	arch = x86_64
	flags = hvm
	needs = build-amd64
[job "test-pair"]
	recipe = test
	arch = x86_64
	flags = hvm equiv-pair
	hosts = 2
	needs = build-amd64
CONF

test_expect_success 'a pass gives runnable jobs hosts and plans the rest' '
	h lab apply lab.conf >/dev/null &&
	F=$("$QUEUE" "$CONN" b) && echo $F >flight &&
	h scheduler --once >pass.out &&
	grep -q "2 allocated" pass.out &&
	test "$(q "SELECT status FROM jobs WHERE flight=$F AND job=\$\$build-amd64\$\$")" = preparing &&
	test "$(q "SELECT host || shareix FROM allocations WHERE flight=$F AND job=\$\$build-amd64\$\$")" = h11 &&
	test "$(q "SELECT val FROM runvars WHERE flight=$F AND job=\$\$build-arm64\$\$ AND name=\$\$host\$\$")" = h4 &&
	test "$(q "SELECT status FROM jobs WHERE flight=$F AND job=\$\$test-amd64\$\$")" = queued
'

test_expect_success 'hangar plan shows holders, bookings and why jobs wait' '
	h plan >plan.txt && cat plan.txt &&
	grep -q "^h1 .*build-amd64 (preparing)" plan.txt &&
	grep -q "test-amd64 .*waits for .*build-amd64" plan.txt &&
	h plan --json >plan.json &&
	python3 - <<PY
import json
p = json.load(open("plan.json"))
w = {x["job"]: x for x in p["waiting"] if x["kind"] == "job"}
assert set(w) == {"test-amd64", "test-pair"}, w
pair = w["test-pair"]
assert sorted(pair["hosts"]) == ["h2", "h3"], pair      # same equiv class
assert w["test-amd64"]["start"] >= p["now"] + 3000, w  # after the build
h1 = [x for x in p["hosts"] if x["name"] == "h1"][0]
assert h1["now"][0]["job"] == "build-amd64" and h1["now"][0]["share"] == 1, h1
PY
'

test_expect_success 'a claimed job whose worker dies in a test step ends broken and frees its host' '
	F=$(cat flight) &&
	q "UPDATE jobs SET status=\$\$running\$\$, lease_owner=\$\$w1\$\$, started_at=now(), lease_until=now() + interval \$\$2 s\$\$ WHERE flight=$F AND job=\$\$build-arm64\$\$" &&
	q "INSERT INTO steps (flight, job, stepno, kind, name, status, started_at) VALUES ($F, \$\$build-arm64\$\$, 1, \$\$build\$\$, \$\$build\$\$, \$\$running\$\$, now())" &&
	{ ( while :; do q "UPDATE jobs SET lease_until=now() + interval \$\$2 s\$\$ WHERE flight=$F AND job=\$\$build-arm64\$\$" || exit; sleep 0.3; done ) &
	  echo $! >beat.pid; } &&
	sleep 3 && h scheduler --once >/dev/null &&
	test "$(q "SELECT status FROM jobs WHERE flight=$F AND job=\$\$build-arm64\$\$")" = running &&
	kill -9 $(cat beat.pid) && rm beat.pid &&
	wait_for "h scheduler --once >/dev/null; test \"\$(q \"SELECT status FROM jobs WHERE flight=$F AND job=\\\$\\\$build-arm64\\\$\\\$\")\" = broken" 10 &&
	test "$(q "SELECT count(*) FROM allocations WHERE host=\$\$h4\$\$ AND released_at IS NULL")" = 0 &&
	test "$(q "SELECT count(*) FROM events WHERE kind=\$\$job.lease-expired\$\$")" = 1 &&
	test "$(q "SELECT status FROM steps WHERE flight=$F AND job=\$\$build-arm64\$\$")" = broken
'

test_expect_success 'an unclaimed job goes back to the queue' '
	F=$(cat flight) &&
	q "UPDATE jobs SET lease_until=now() - interval \$\$1 s\$\$ WHERE flight=$F AND job=\$\$build-amd64\$\$" &&
	h scheduler --once >pass.out &&
	test "$(q "SELECT count(*) FROM events WHERE kind=\$\$job.unclaimed\$\$")" = 1 &&
	test "$(q "SELECT status FROM jobs WHERE flight=$F AND job=\$\$build-amd64\$\$")" = preparing
'

test_expect_success 'the daemon: a reservation gets a host, release gives it back' '
	{ "$HANGAR" --config lab.conf scheduler >sched.log 2>&1 &
	  echo $! >sched.pid; } &&
	timeout 20 "$HANGAR" --config lab.conf reserve --arch arm64 --for 1h --reason test >res.out &&
	grep -q "^reservation 1: h4 until" res.out &&
	h host list | grep -q "^h4 .*allocated" &&
	h plan | grep -q "reservation 1 (" &&
	h release 1 | grep -q "released 1" &&
	test "$(q "SELECT count(*) FROM allocations WHERE reservation=1 AND released_at IS NULL")" = 0 &&
	! h release 1
'

test_expect_success 'a blockage window: jobs that would overlap it wait until after it' '
	h host block --host h4 --from +30m --to +3h --reason firmware >blk.out &&
	grep -q "blockage 2 booked" blk.out &&
	F=$("$QUEUE" "$CONN" b adhoc build-arm64) &&
	wait_for "test -n \"\$(q \"SELECT planned_start FROM jobs WHERE flight=$F\")\"" 10 &&
	test "$(q "SELECT planned_start >= now() + interval \$\$2 h 59 min\$\$ FROM jobs WHERE flight=$F")" = t &&
	h release 2 >/dev/null &&
	wait_for "test \"\$(q \"SELECT status FROM jobs WHERE flight=$F\")\" = preparing" 10
'

test_expect_success 'usage and lookup errors are clear' '
	! h reserve --for 2h 2>err && grep -q "give --host or --arch" err &&
	! h reserve --arch arm64 --for soon 2>err && grep -q "takes a duration" err &&
	! h reserve --arch riscv64 --for 1h 2>err && grep -q "hosts match" err &&
	! h host block --host h1 --from now 2>err && grep -q "give --from, --to" err
'

test_expect_success 'a killed scheduler restarts and loses nothing' '
	# a worker holds what was allocated, with a lease well past this test
	q "UPDATE jobs SET status=\$\$running\$\$, lease_owner=\$\$w2\$\$, lease_until=now() + interval \$\$10 min\$\$ WHERE status=\$\$preparing\$\$" &&
	q "SELECT id, host, flight, job FROM allocations WHERE released_at IS NULL ORDER BY id" >held.before &&
	test -s held.before &&
	kill -9 $(cat sched.pid) &&
	# work queued while no scheduler runs is picked up by the next one
	F=$("$QUEUE" "$CONN" b adhoc build-amd64 test-amd64) && echo $F >flight2 &&
	{ "$HANGAR" --config lab.conf scheduler >sched2.log 2>&1 &
	  echo $! >sched.pid; } &&
	wait_for "grep -q leads sched2.log" 10 &&
	wait_for "test \"\$(q \"SELECT status FROM jobs WHERE flight=$F AND job=\\\$\\\$build-amd64\\\$\\\$\")\" = preparing" 10 &&
	wait_for "test -n \"\$(q \"SELECT planned_start FROM jobs WHERE flight=$F AND job=\\\$\\\$test-amd64\\\$\\\$\")\"" 10 &&
	# what was held before is still held, by the same owners
	q "SELECT id, host, flight, job FROM allocations WHERE released_at IS NULL ORDER BY id" >held.after &&
	test "$(sort held.before | comm -23 - <(sort held.after))" = "" &&
	test "$(q "SELECT count(*) FROM jobs WHERE status IN (\$\$preparing\$\$, \$\$running\$\$) AND NOT EXISTS (SELECT 1 FROM allocations a WHERE a.flight = jobs.flight AND a.job = jobs.job AND a.released_at IS NULL)")" = 0
'

test_expect_success 'the daemon rests until another session changes something' '
	kill_pidfile sched.pid &&
	sed "s/interval = 1s/interval = 60s/" lab.conf >slow.conf &&
	{ "$HANGAR" --config slow.conf scheduler >sched3.log 2>&1 &
	  echo $! >sched.pid; } &&
	wait_for "grep -q leads sched3.log" 10 &&
	sleep 0.5 &&
	# its own writes (reclaim, plan rows) must not wake it again
	for i in $(seq 30); do
		q "SELECT computed_at FROM plan_state"; sleep 0.1
	done | sort -u >passes &&
	test "$(wc -l <passes)" -le 2 &&
	# a job queued by someone else wakes it long before its 60s timer
	F=$("$QUEUE" "$CONN" b adhoc build-arm64) &&
	wait_for "test -n \"\$(q \"SELECT wait_reason FROM jobs WHERE flight=$F\")\"" 5 &&
	test "$(q "SELECT computed_at FROM plan_state")" != "$(tail -n 1 passes)"
'

# how many sessions hold (t) or wait for (f) a lock on plan_state
plan_state_locks() {
	q "SELECT count(*) FROM pg_locks WHERE relation = 'plan_state'::regclass AND granted = '$1'"
}

test_expect_success 'SIGTERM during a pass stops the daemon then, not after its interval' '
	# the pass waits for a lock; the signal comes meanwhile, then the lock
	# goes, and no notification would wake the 60 s wait after the pass
	psql -X -q "$CONN application_name=locker" \
		-c "BEGIN; LOCK TABLE plan_state; SELECT pg_sleep(60)" >/dev/null 2>&1 &
	locker=$! &&
	wait_for "test \$(plan_state_locks t) = 1" 10 &&
	"$QUEUE" "$CONN" b adhoc build-arm64 >/dev/null &&
	wait_for "test \$(plan_state_locks f) = 1" 20 ||
		{ cat sched3.log; show_sessions; false; } &&
	kill -TERM $(cat sched.pid) &&
	q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	   WHERE application_name = '\''locker'\''" >/dev/null &&
	! wait $locker &&
	wait_for "! pid_alive $(cat sched.pid)" 10 &&
	grep -q "stopped" sched3.log
'

test_done
