#!/bin/bash
# Workers when things go wrong: a host that never boots is lab trouble
# (broken, out of the pool, the job passes on another host), a health check
# brings it back; a hanging command hits its time limit and is killed; a
# cancelled job's remote command is killed; kill -9 of a worker recovers
# without anyone's help (re-queued before a test step, broken after one),
# and a worker frozen past its lease finds its job taken over, stops it
# and records nothing more;
# a host whose SSH key changed is broken, never silently accepted.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
T=$TEST_DIR/trees

"$LAB" create "$L" --net "$NET" ruby:x86_64:build opal:arm64 onyx:arm64 \
	jade:riscv64 >/dev/null
"$DEMO_TREE" create "$T" >/dev/null
sed -i 's/^\tboot-timeout = .*/\tboot-timeout = 12\n\tpower-cycle-time = 1/' "$L/hosts.conf"
cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $L/id_ed25519
[include]
	path = $L/hosts.conf
[scheduler]
	interval = 1s
	claim-timeout = 30s
[worker]
	slots = 2
	heartbeat = 1s
	lease = 5s
	health-check = health
	health-check-interval = 10s
[tree "minivisor"]
	url = $T/minivisor.git
[branch "minivisor"]
	tree = minivisor
	jobs = build-amd64 test-arm64
[job "build-amd64"]
	recipe = build
	arch = x86_64
	flags = build
[job "test-arm64"]
	recipe = test
	arch = arm64
	needs = build-amd64
[job "hang-arm64"]
	recipe = hang
	arch = arm64
[job "slow-riscv64"]
	recipe = slow
	arch = riscv64
[job "prep-riscv64"]
	recipe = prep
	arch = riscv64
[recipe "build"]
	step = build make dist
	artifacts = dist/*.tar.gz
[recipe "test"]
	step = host-power-cycle
	step = install-build mkdir -p installed && tar xzf dist/minivisor.tar.gz -C installed
	step = run smoke ./installed/tests/smoke.sh
[recipe "hang"]
	step = run timeout=3 hang sleep 6173
	step = run after true
[recipe "slow"]
	step = run slow sleep 6174
[recipe "prep"]
	step = run timeout=60 prep sleep 6175
[recipe "health"]
	step = host-power-cycle
	step = run alive true
CONF

test_expect_success 'the lab, the database and the daemons start' '
	"$LAB" start "$L" >lab.log &&
	h lab apply lab.conf >/dev/null &&
	start_daemon scheduler && start_daemon worker &&
	wait_for "grep -q \"slot(s)\" worker.log" 20
'

test_expect_success 'a hanging command hits its time limit: fail, and it is killed' '
	h request --branch minivisor --job hang-arm64 >req.out &&
	F=$(flight_of req.out) &&
	! h flight wait $F --timeout 60 >/dev/null &&
	test "$(jstatus $F hang-arm64)" = fail &&
	q "SELECT detail FROM steps WHERE flight=$F AND name=\$\$hang\$\$" | grep -q "timed out after" &&
	test "$(q "SELECT count(*) FROM steps WHERE flight=$F AND name=\$\$after\$\$")" = 0 &&
	test -z "$(remote_procs "sleep 6173")" &&
	test "$(q "SELECT state FROM hosts WHERE name IN (\$\$opal\$\$, \$\$onyx\$\$) AND state <> \$\$free\$\$")" = ""
'

test_expect_success 'a dead host is broken, leaves the pool, and the job passes on another' '
	q "UPDATE hosts SET state = \$\$maintenance\$\$ WHERE name = \$\$onyx\$\$" &&
	"$LAB" fault "$L" opal panic >/dev/null &&
	h request --branch minivisor >req.out &&
	F=$(flight_of req.out) && echo $F >dead.flight &&
	wait_for "test \"\$(q \"SELECT val FROM runvars WHERE flight=$F AND job=\\\$\\\$test-arm64\\\$\\\$ AND name=\\\$\\\$host\\\$\\\$\")\" = opal" 60 &&
	q "UPDATE hosts SET state = \$\$free\$\$ WHERE name = \$\$onyx\$\$" &&
	h flight wait $F --timeout 120 >wait.out || { h flight show $F; exit 1; } &&
	test "$(jstatus $F test-arm64)" = pass &&
	test "$(q "SELECT attempt FROM jobs WHERE flight=$F AND job=\$\$test-arm64\$\$")" = 2 &&
	test "$(q "SELECT val FROM runvars WHERE flight=$F AND job=\$\$test-arm64\$\$ AND name=\$\$host\$\$")" = onyx &&
	test "$(q "SELECT status FROM steps WHERE flight=$F AND job=\$\$test-arm64\$\$ AND attempt=1 AND name=\$\$host-power-cycle\$\$")" = broken &&
	q "SELECT detail FROM steps WHERE flight=$F AND job=\$\$test-arm64\$\$ AND attempt=1" | grep -q "did not answer SSH within 12 s" &&
	q "SELECT detail->>\$\$reason\$\$ FROM events WHERE flight=$F AND kind=\$\$job.requeued\$\$" | grep -q "did not answer SSH" &&
	test "$(q "SELECT state FROM hosts WHERE name=\$\$opal\$\$")" = broken &&
	q "SELECT state_reason FROM hosts WHERE name=\$\$opal\$\$" | grep -q "did not answer SSH" &&
	h host list | grep -E "^opal +arm64 +broken"
'

test_expect_success 'a failing health check keeps it broken; a passing one frees it' '
	wait_for "test \"\$(q \"SELECT count(*) FROM jobs WHERE job=\\\$\\\$health-check\\\$\\\$ AND status <> \\\$\\\$running\\\$\\\$\")\" -ge 1" 60 &&
	test "$(q "SELECT state FROM hosts WHERE name=\$\$opal\$\$")" = broken &&
	"$LAB" fault "$L" opal none >/dev/null &&
	wait_for "test \"\$(q \"SELECT state FROM hosts WHERE name=\\\$\\\$opal\\\$\\\$\")\" = free" 60 &&
	test "$(q "SELECT count(*) FROM events WHERE host=\$\$opal\$\$ AND kind=\$\$host.healthy\$\$")" = 1
'

test_expect_success 'cancelling a flight kills its running command' '
	h request --branch minivisor --job slow-riscv64 >req.out &&
	F=$(flight_of req.out) &&
	wait_for "test -n \"\$(remote_procs \"sleep 6174\")\"" 60 &&
	h flight cancel $F &&
	wait_for "test \"\$(jstatus $F slow-riscv64)\" = cancelled" 20 &&
	wait_for "test -z \"\$(remote_procs \"sleep 6174\")\"" 10 &&
	test "$(q "SELECT status FROM flights WHERE id=$F")" = cancelled &&
	test "$(q "SELECT count(*) FROM allocations WHERE flight=$F AND released_at IS NULL")" = 0
'

test_expect_success 'kill -9 of a worker during a test step: broken, host back in the pool' '
	h request --branch minivisor --job slow-riscv64 >req.out &&
	F=$(flight_of req.out) &&
	wait_for "test -n \"\$(remote_procs \"sleep 6174\")\"" 60 &&
	kill -9 $(cat worker.pid) && rm worker.pid &&
	wait_for "test \"\$(jstatus $F slow-riscv64)\" = broken" 30 &&
	q "SELECT broken_reason FROM jobs WHERE flight=$F" | grep -q "stopped heartbeating" &&
	test "$(q "SELECT count(*) FROM allocations WHERE flight=$F AND released_at IS NULL")" = 0 &&
	test "$(q "SELECT state FROM hosts WHERE name=\$\$jade\$\$")" = free &&
	pkill -f "sleep 6174" || true
'

test_expect_success 'SIGHUP: a broken file keeps the scheduler'"'"'s settings, a good one is read' '
	cp lab.conf lab.conf.good &&
	printf "[scheduler]\n\tbogus = 1\n" >>lab.conf &&
	kill -HUP $(cat scheduler.pid) &&
	wait_for "grep -q \"has errors: keeping the old settings\" scheduler.log" 20 &&
	grep -q "lab.conf:[0-9]*: \[scheduler\]: bogus: unknown key" scheduler.log &&
	kill -0 $(cat scheduler.pid) &&
	sed "s/^\tinterval = 1s$/\tinterval = 60s/" lab.conf.good >lab.conf &&
	kill -HUP $(cat scheduler.pid) &&
	wait_for "grep -q \"\[scheduler\] settings reloaded\" scheduler.log" 20
'

test_expect_success 'a dead worker'"'"'s job is recovered when its lease ends, not an interval later' '
	start_daemon worker &&
	h request --branch minivisor --job slow-riscv64 >req.out &&
	F=$(flight_of req.out) &&
	wait_for "test -n \"\$(remote_procs \"sleep 6174\")\"" 60 &&
	kill -9 $(cat worker.pid) && rm worker.pid &&
	t0=$(date +%s) &&
	wait_for "test \"\$(jstatus $F slow-riscv64)\" = broken" 60 &&
	took=$(( $(date +%s) - t0 )) && echo "recovered in ${took}s (lease 5s, interval 60s)" &&
	test "$took" -le 10 &&
	pkill -f "sleep 6174" || true
'

test_expect_success 'the scheduler back at a 1s interval' '
	cp lab.conf.good lab.conf &&
	n=$(grep -c "\[scheduler\] settings reloaded" scheduler.log) &&
	kill -HUP $(cat scheduler.pid) &&
	wait_for "test \$(grep -c \"\[scheduler\] settings reloaded\" scheduler.log) -gt $n" 20
'

test_expect_success 'kill -9 of a worker before any test step: the job runs again' '
	start_daemon worker &&
	h request --branch minivisor --job test-arm64 >req.out &&
	F=$(flight_of req.out) &&
	wait_for "test \"\$(q \"SELECT count(*) FROM steps WHERE flight=$F AND job=\\\$\\\$test-arm64\\\$\\\$ AND name=\\\$\\\$host-power-cycle\\\$\\\$ AND status=\\\$\\\$running\\\$\\\$\")\" = 1" 60 &&
	kill -9 $(cat worker.pid) && rm worker.pid &&
	wait_for "test \"\$(q \"SELECT attempt FROM jobs WHERE flight=$F AND job=\\\$\\\$test-arm64\\\$\\\$\")\" = 2" 30 &&
	test "$(q "SELECT count(*) FROM events WHERE flight=$F AND kind=\$\$job.requeued\$\$")" = 1 &&
	# the crash did not spend the retry lab trouble gets
	test "$(q "SELECT lab_retries || \$\$/\$\$ || recoveries FROM jobs WHERE flight=$F")" = 0/1 &&
	start_daemon worker &&
	h flight wait $F --timeout 120 >/dev/null &&
	test "$(jstatus $F test-arm64)" = pass
'

test_expect_success 'a worker frozen past its lease loses its job and records nothing after' '
	h request --branch minivisor --job slow-riscv64 >req.out &&
	F=$(flight_of req.out) &&
	wait_for "test -n \"\$(remote_procs \"sleep 6174\")\"" 60 &&
	kill -STOP $(cat worker.pid) &&
	wait_for "test \"\$(jstatus $F slow-riscv64)\" = broken" 30 &&
	kill -CONT $(cat worker.pid) &&
	wait_for "grep -q \"job $F.slow-riscv64: stopped: this worker no longer holds it\" worker.log" 30 &&
	wait_for "test -z \"\$(remote_procs \"sleep 6174\")\"" 20 &&
	test "$(q "SELECT stepno || status || detail FROM steps WHERE flight=$F")" = \
		"1brokenits worker stopped heartbeating" &&
	test "$(jstatus $F slow-riscv64)" = broken &&
	test "$(q "SELECT count(*) FROM events WHERE flight=$F AND kind=\$\$job.finished\$\$")" = 0 &&
	test "$(q "SELECT state FROM hosts WHERE name=\$\$jade\$\$")" = free
'

test_expect_success 'a changed host key is broken, not accepted' '
	q "UPDATE hosts SET ssh_host_key = \$\$ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\$\$ WHERE name = \$\$jade\$\$" &&
	h request --branch minivisor --job prep-riscv64 >req.out &&
	F=$(flight_of req.out) &&
	wait_for "test \"\$(q \"SELECT state FROM hosts WHERE name=\\\$\\\$jade\\\$\\\$\")\" = broken" 60 &&
	q "SELECT state_reason FROM hosts WHERE name=\$\$jade\$\$" | grep -qi "host key" &&
	test "$(q "SELECT status FROM steps WHERE flight=$F AND attempt=1")" = broken &&
	test -z "$(remote_procs "sleep 6175")" &&
	test "$(q "SELECT status FROM jobs WHERE flight=$F")" = queued &&
	h flight cancel $F >/dev/null
'

test_done
