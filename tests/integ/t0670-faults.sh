#!/bin/bash
# Faults lose nothing (issue 18): gate flights on the simulated lab under
# `hangar up` (the scheduler, a worker, the gate and the web as its
# children), each with a fault in turn: the database restarted during a
# step; the database stopped 30 s; kill -9 of the scheduler, of the worker
# (during host-power-cycle), of the gate (after the flight ended, before
# its verdict) and of the web; a host that dies mid-step (and a request
# pinned to it); a SIGHUP with a broken configuration file, then a
# daemon's death. After each the flight ends, no step is lost or doubled,
# its verdict and push are recorded exactly once, no host is left
# allocated to a job that ended, and the good commit is pushed.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
T=$TEST_DIR/trees
BARE=$T/minivisor.git
PORT=$(free_port)

"$LAB" create "$L" --net "$NET" ruby:x86_64:build opal:arm64 onyx:arm64 >/dev/null
"$DEMO_TREE" create "$T" >base.rev
sed -i 's/^\tboot-timeout = .*/\tboot-timeout = 30\n\tpower-cycle-time = 1/' "$L/hosts.conf"
cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $L/id_ed25519
	listen = 127.0.0.1:$PORT
[include]
	path = $L/hosts.conf
[scheduler]
	interval = 1s
	claim-timeout = 20s
	pinned-wait = 3s
[worker]
	slots = 2
	heartbeat = 1s
	lease = 8s
[gate]
	interval = 1s
[tree "minivisor"]
	url = $BARE
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
[recipe "build"]
	# a build of an unchanged tree is quick: the pause lets the test see
	# it running (and kill the scheduler while the test job waits on it)
	step = build sleep 2 && make dist
	artifacts = dist/*.tar.gz
[recipe "test"]
	step = host-power-cycle
	step = install-build rm -rf installed && mkdir -p installed && tar xzf dist/minivisor.tar.gz -C installed
	step = run boot ./installed/bin/check-boot
	step = run pause sleep \$(cat $TEST_DIR/pause.secs 2>/dev/null || echo 4)
	step = run smoke ./installed/tests/smoke.sh
CONF
cp lab.conf good.conf

"$LAB" start "$L" >lab.log
setsid "$HANGAR" --config lab.conf up >up.log 2>&1 &
echo $! >up.pid

master() { git --git-dir "$BARE" rev-parse master; }
# the gate flight of REV
flight_of_rev() {
	q "SELECT f.id FROM flights f JOIN flight_revisions r ON r.flight = f.id
	   WHERE r.revision = '$1' AND f.intent = 'gate' ORDER BY f.id DESC LIMIT 1"
}
# the pid of up's daemon NAME (its last argument)
child() {
	local p
	for p in $(pgrep -P "$(cat up.pid)"); do
		if [ "$(tr '\0' '\n' <"/proc/$p/cmdline" 2>/dev/null | tail -n 1)" = "$1" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}
# step_is FLIGHT JOB STEP STATUS
step_is() {
	test "$(q "SELECT status FROM steps WHERE flight=$1 AND job='$2' AND name='$3'
		   ORDER BY stepno DESC LIMIT 1" 2>/dev/null)" = "$4"
}
# a good commit on staging; its flight's id in F (once the gate made it)
new_flight() {
	"$DEMO_TREE" commit "$T" good >rev &&
	wait_for "test -n \"\$(flight_of_rev $(cat rev))\"" 60 &&
	F=$(flight_of_rev "$(cat rev)") && echo "flight $F of $(cat rev)"
}
# the flight of rev ended, sound: see the top
sound() {
	wait_for "test \"\$(q \"SELECT verdict FROM flights WHERE id=$F\" 2>/dev/null)\" = push" 180 || {
		h flight show $F; tail -n 30 up.log; return 1
	}
	test "$(q "SELECT status || ' ' || pushed FROM flights WHERE id=$F")" = "finished true" &&
	test "$(master)" = "$(cat rev)" &&
	# the verdict and the push, once
	test "$(q "SELECT count(*) FROM events WHERE flight=$F AND kind IN
		   ('flight.decided', 'branch.pushed')")" = 1 &&
	# every job's last attempt: its recipe's steps, once each, all passed
	test "$(q "SELECT string_agg(s.name || ':' || s.status, ' ' ORDER BY s.stepno)
		   FROM steps s JOIN jobs j USING (flight, job)
		   WHERE s.flight = $F AND s.attempt = j.attempt AND j.job = 'test-arm64'")" = \
		"host-power-cycle:pass install-build:pass boot:pass pause:pass smoke:pass" &&
	test "$(q "SELECT string_agg(s.name || ':' || s.status, ' ' ORDER BY s.stepno)
		   FROM steps s JOIN jobs j USING (flight, job)
		   WHERE s.flight = $F AND s.attempt = j.attempt AND j.job = 'build-amd64'")" = \
		"build:pass" &&
	test "$(q "SELECT count(*) FROM steps WHERE flight=$F AND status IN ('running', 'queued')")" = 0 &&
	test "$(q "SELECT count(*) FROM (SELECT 1 FROM steps WHERE flight=$F
		   GROUP BY job, attempt, name HAVING count(*) > 1) d")" = 0 &&
	test "$(q "SELECT count(*) FROM artifacts WHERE flight=$F AND job='build-amd64'")" = 1 &&
	# no host held for a job that ended
	test "$(q "SELECT count(*) FROM allocations a JOIN jobs j USING (flight, job)
		   WHERE a.released_at IS NULL AND j.status NOT IN ('preparing', 'running')")" = 0
}

test_expect_success 'up starts; master is tested first' '
	wait_for "grep -q \"hangar is up\" up.log" 60 || { cat up.log; exit 1; } &&
	h lab apply lab.conf >/dev/null &&
	wait_for "test \"\$(q \"SELECT count(*) FROM flights WHERE intent=\\\$\\\$gate\\\$\\\$ AND verdict <> \\\$\\\$pending\\\$\\\$\")\" = 1" 120 &&
	for d in scheduler worker gate web; do child $d >/dev/null || return 1; done
'

test_expect_success 'the database restarted during a step' '
	new_flight &&
	wait_for "step_is $F test-arm64 pause running" 120 &&
	h db stop >/dev/null && h db start >/dev/null &&
	sound
'

test_expect_success 'the database stopped 30 s during a step' '
	new_flight &&
	wait_for "step_is $F test-arm64 pause running" 120 &&
	h db stop >/dev/null && sleep 30 && h db start >/dev/null &&
	sound &&
	test "$(q "SELECT attempt FROM jobs WHERE flight=$F AND job=\$\$test-arm64\$\$")" = 1
'

test_expect_success 'kill -9 of the scheduler while a job waits for its dependency' '
	new_flight &&
	wait_for "step_is $F build-amd64 build running" 60 &&
	kill -9 $(child scheduler) &&
	sound &&
	grep -q "scheduler killed by signal 9" up.log
'

test_expect_success 'kill -9 of the worker during host-power-cycle' '
	new_flight &&
	wait_for "step_is $F test-arm64 host-power-cycle running" 120 &&
	kill -9 $(child worker) &&
	sound &&
	test "$(q "SELECT attempt || \$\$/\$\$ || lab_retries || \$\$/\$\$ || recoveries
		   FROM jobs WHERE flight=$F AND job=\$\$test-arm64\$\$")" = 2/0/1
'

test_expect_success 'kill -9 of the gate after the flight ended, before its verdict' '
	new_flight &&
	kill -STOP $(child gate) &&
	wait_for "test \"\$(q \"SELECT count(*) FROM jobs WHERE flight=$F AND status <> \\\$\\\$pass\\\$\\\$\")\" = 0" 180 &&
	test "$(q "SELECT verdict FROM flights WHERE id=$F")" = pending &&
	kill -9 $(child gate) &&
	sound
'

test_expect_success 'kill -9 of the web during a flight' '
	new_flight &&
	wait_for "step_is $F test-arm64 pause running" 120 &&
	kill -9 $(child web) &&
	wait_for "curl -fsS http://127.0.0.1:$PORT/api/v1/flights/$F >/dev/null" 30 &&
	sound
'

test_expect_success 'a host that dies mid-step: broken, the job passes on the other one' '
	# the step outlasts the power off on a loaded machine; the retry
	# on the other host pauses as usual
	echo 120 >pause.secs &&
	new_flight &&
	wait_for "step_is $F test-arm64 pause running" 120 &&
	H=$(q "SELECT val FROM runvars WHERE flight=$F AND job=\$\$test-arm64\$\$ AND name=\$\$host\$\$") &&
	echo $H >dead.host &&
	"$LAB" fault "$L" $H panic >/dev/null && "$LAB" power "$L" $H off >/dev/null &&
	rm pause.secs &&
	sound &&
	test "$(q "SELECT state FROM hosts WHERE name=\$\$$H\$\$")" = broken &&
	test "$(q "SELECT val FROM runvars WHERE flight=$F AND job=\$\$test-arm64\$\$ AND name=\$\$host\$\$")" != $H
'

test_expect_success 'a request pinned to the dead host ends broken with its reason, once' '
	H=$(cat dead.host) &&
	h request --branch minivisor --job test-arm64 --host $H >pin.out &&
	P=$(flight_of pin.out) &&
	! h flight wait $P --timeout 60 >/dev/null &&
	test "$(jstatus $P test-arm64)" = broken &&
	q "SELECT broken_reason FROM jobs WHERE flight=$P" | grep "pinned host $H is broken" &&
	test "$(q "SELECT status FROM flights WHERE id=$P")" = finished &&
	test "$(q "SELECT count(*) FROM steps WHERE flight=$P")" = 0 &&
	test "$(q "SELECT count(*) FROM events WHERE flight=$P AND kind LIKE \$\$job.%\$\$
		AND kind NOT IN (\$\$job.created\$\$)")" = 1 &&
	"$LAB" fault "$L" $H none >/dev/null && "$LAB" power "$L" $H on >/dev/null &&
	h host maintenance $H off >/dev/null &&
	test "$(q "SELECT state FROM hosts WHERE name=\$\$$H\$\$")" = free
'

test_expect_success 'SIGHUP with a broken file, then a daemon dies: it runs on the last good one' '
	printf "[scheduler]\n\tinterval = soon\n" >>lab.conf &&
	kill -HUP $(cat up.pid) &&
	wait_for "grep -q \"lab.conf:[0-9]*:.*interval\" up.log" 20 &&
	new_flight &&
	kill -9 $(child scheduler) &&
	sound &&
	grep -q "scheduler: .*lab.conf had errors at the last SIGHUP: it starts with the last good configuration" up.log &&
	pid_alive $(cat up.pid) &&
	cp good.conf lab.conf && kill -HUP $(cat up.pid)
'

test_expect_success 'Ctrl-C stops everything' '
	kill -INT $(cat up.pid) &&
	wait_for "! pid_alive $(cat up.pid)" 60 &&
	! test -f "$STATE/pg/postmaster.pid"
'

test_done
