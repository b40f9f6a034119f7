#!/bin/bash
# Jobs pinned to a host that is not usable (issue 18): a request pinned
# with --host to a host in maintenance waits, and the plan and the flight
# say why and until when; a host back in time is used; once the host has
# been unusable for [scheduler] pinned-wait the job ends broken with the
# host's reason, once, and its flight ends; the scheduler acts when the
# wait ends, not at its next interval. Unpinned jobs run on as before.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
T=$TEST_DIR/trees

"$LAB" create "$L" --net "$NET" ruby:x86_64 opal:x86_64 jade:x86_64 >/dev/null
"$DEMO_TREE" create "$T" >/dev/null
# interval 60s: only the end of a pinned wait can wake it on time
conf() {
	cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $L/id_ed25519
[include]
	path = $L/hosts.conf
[scheduler]
	interval = 60s
	claim-timeout = 30s
	pinned-wait = $1
[worker]
	slots = 2
	heartbeat = 1s
	lease = 10s
[tree "minivisor"]
	url = $T/minivisor.git
[branch "minivisor"]
	tree = minivisor
	jobs = hello
[job "hello"]
	recipe = hello
	arch = x86_64
[recipe "hello"]
	step = run hello true
CONF
}
conf 1h

reason() { q "SELECT wait_reason FROM jobs WHERE flight=$1 AND job='hello'"; }
broken_events() {
	q "SELECT count(*) FROM events WHERE flight=$1 AND job='hello'
	   AND kind='job.broken'"
}

test_expect_success 'the lab, the database and the daemons start' '
	"$LAB" start "$L" >lab.log &&
	h lab apply lab.conf >/dev/null &&
	start_daemon scheduler && start_daemon worker &&
	wait_for "grep -q \"slot(s)\" worker.log" 20
'

test_expect_success 'a job pinned to a host in maintenance waits, saying why' '
	h host maintenance ruby on --reason "new disk" >/dev/null &&
	h host maintenance opal on --reason "firmware" >/dev/null &&
	h request --branch minivisor --job hello --host ruby >r1.out &&
	F1=$(flight_of r1.out) && echo $F1 >f1 &&
	h request --branch minivisor --job hello --host opal >r3.out &&
	F3=$(flight_of r3.out) && echo $F3 >f3 &&
	wait_for "reason $F1 | grep -q \"^pinned host ruby\"" 10 &&
	reason $F1 >why && cat why &&
	grep -Ex "pinned host ruby is in maintenance \(new disk\) since [0-9]{2}:[0-9]{2} UTC; ends broken at [0-9]{2}:[0-9]{2} UTC unless it comes back" why &&
	test "$(jstatus $F1 hello)" = queued &&
	h plan --json >plan.json &&
	python3 -c "import json; d=json.load(open(\"plan.json\")); w=[x for x in d[\"waiting\"] if x[\"flight\"] == $F1]; assert len(w) == 1 and w[0][\"reason\"] == open(\"why\").read().strip(), w" &&
	h flight show $F1 >show1 &&
	grep -F "  waiting: $(cat why)" show1 &&
	# an unpinned job is not held up: jade takes it
	h request --branch minivisor --job hello --wait >r2.out &&
	F2=$(flight_of r2.out) &&
	test "$(jstatus $F2 hello)" = pass &&
	test "$(q "SELECT host FROM allocations WHERE flight=$F2")" = jade
'

test_expect_success 'a pinned host back within the wait is used' '
	F3=$(cat f3) &&
	h host maintenance opal off >/dev/null &&
	wait_for "test \"\$(jstatus $F3 hello)\" = pass" 30 &&
	test "$(q "SELECT host FROM allocations WHERE flight=$F3")" = opal &&
	test "$(broken_events $F3)" = 0
'

test_expect_success 'after pinned-wait the job ends broken with the reason, once' '
	F1=$(cat f1) &&
	kill_pid $(cat scheduler.pid) && conf 3s && start_daemon scheduler &&
	wait_for "test \"\$(jstatus $F1 hello)\" = broken" 15 &&
	test "$(q "SELECT broken_reason FROM jobs WHERE flight=$F1")" = \
		"pinned host ruby is in maintenance: new disk" &&
	wait_for "test \"\$(q \"SELECT status FROM flights WHERE id=$F1\")\" = finished" 10 &&
	test "$(broken_events $F1)" = 1 &&
	test "$(q "SELECT host || \$\$ \$\$ || (detail->>\$\$reason\$\$) FROM events
		   WHERE flight=$F1 AND kind=\$\$job.broken\$\$")" = \
		"ruby pinned host ruby is in maintenance: new disk" &&
	test "$(q "SELECT count(*) FROM allocations WHERE flight=$F1")" = 0 &&
	h flight show $F1 >show2 &&
	grep -Fx "  broken: pinned host ruby is in maintenance: new disk" show2 &&
	# later passes do not end it again
	sleep 2 && h scheduler --once >/dev/null &&
	test "$(broken_events $F1)" = 1
'

test_expect_success 'the scheduler ends it when the wait is over, not at its interval' '
	h host maintenance opal on --reason "firmware again" >/dev/null &&
	h request --branch minivisor --job hello --host opal >r4.out &&
	F4=$(flight_of r4.out) &&
	wait_for "test \"\$(jstatus $F4 hello)\" = broken" 20 &&
	q "SELECT extract(epoch FROM j.finished_at - f.queued_at)
	   FROM jobs j JOIN flights f ON f.id = j.flight WHERE f.id = $F4" >took &&
	cat took &&
	python3 -c "import sys; t=float(open(\"took\").read()); sys.exit(not 2 <= t < 10)" &&
	test "$(q "SELECT broken_reason FROM jobs WHERE flight=$F4")" = \
		"pinned host opal is in maintenance: firmware again" &&
	wait_for "test \"\$(q \"SELECT status FROM flights WHERE id=$F4\")\" = finished" 10 &&
	test "$(broken_events $F4)" = 1
'

test_done
