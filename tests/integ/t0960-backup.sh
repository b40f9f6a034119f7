#!/bin/bash
# A lab moved by backup and restore (issue 23): `hangar backup` taken
# while a gate flight's step runs, then that lab stopped; `hangar restore`
# into a new state directory with a configuration that differs (applied
# as `lab apply` does); its `hangar up` recovers the flight that was
# running as after a crash (its job had started a test step: broken, the
# verdict recorded once, no host left allocated), keeps the history, logs
# and artifacts, and goes on gating: the next commit is pushed.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
T=$TEST_DIR/trees
BARE=$T/minivisor.git
PORT=$(free_port)
PORT2=$(free_port)
STATE2=$TEST_DIR/state2
BK=$TEST_DIR/backup
test_when_finished 'kill_pid $(head -n 1 "$STATE2/pg/postmaster.pid" 2>/dev/null)'

"$LAB" create "$L" --net "$NET" ruby:x86_64:build opal:arm64 >/dev/null
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
[worker]
	slots = 2
	heartbeat = 1s
	lease = 5s
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
	step = build make dist
	artifacts = dist/*.tar.gz
[recipe "test"]
	step = host-power-cycle
	step = install-build rm -rf installed && mkdir -p installed && tar xzf dist/minivisor.tar.gz -C installed
	step = run boot ./installed/bin/check-boot
	step = run pause sleep \$(cat $TEST_DIR/pause.secs 2>/dev/null || echo 4)
	step = run smoke ./installed/tests/smoke.sh
CONF
# the new machine's configuration: its own state and port, and a job more
sed -e "s|^\tstate = .*|\tstate = $STATE2|" -e "s|^\tlisten = .*|\tlisten = 127.0.0.1:$PORT2|" \
	lab.conf >lab2.conf
printf '[recipe "hello"]\n\tstep = run hello true\n[job "hello"]\n\trecipe = hello\n\tarch = x86_64\n' >>lab2.conf

q2() { psql -X -q -At -v ON_ERROR_STOP=1 "host=$STATE2/pg dbname=hangar user=hangar" -c "$1"; }
master() { git --git-dir "$BARE" rev-parse master; }
flight_of_rev() {
	q "SELECT f.id FROM flights f JOIN flight_revisions r ON r.flight = f.id
	   WHERE r.revision = '$1' AND f.intent = 'gate' ORDER BY f.id DESC LIMIT 1"
}
step_is() {
	test "$(q "SELECT status FROM steps WHERE flight=$1 AND job='$2' AND name='$3'
		   ORDER BY stepno DESC LIMIT 1" 2>/dev/null)" = "$4"
}

"$LAB" start "$L" >lab.log
setsid "$HANGAR" --config lab.conf up >up.log 2>&1 &
echo $! >up.pid

test_expect_success 'the first lab gates: master is tested first' '
	wait_for "grep -q \"hangar is up\" up.log" 60 || { cat up.log; exit 1; }
	h lab apply lab.conf >/dev/null &&
	wait_for "test \"\$(q \"SELECT count(*) FROM flights WHERE intent=\\\$\\\$gate\\\$\\\$ AND verdict <> \\\$\\\$pending\\\$\\\$\")\" = 1" 120
'

test_expect_success 'a backup taken during a step, then that lab stops' '
	# the step outlasts a backup and a stop on a loaded machine
	echo 120 >pause.secs &&
	"$DEMO_TREE" commit "$T" good >rev &&
	wait_for "test -n \"\$(flight_of_rev $(cat rev))\"" 60 &&
	F=$(flight_of_rev "$(cat rev)") && echo $F >flight &&
	wait_for "step_is $F test-arm64 pause running" 120 &&
	"$HANGAR" --config lab.conf backup "$BK" >backup.out && cat backup.out &&
	grep -q "^backup of $STATE in $BK: the database, [0-9]* log file(s), 1 artifact(s)$" backup.out &&
	test -s "$BK/database.dump" && test -s "$BK/backup.json" &&
	python3 -c "import json; d = json.load(open(\"$BK/backup.json\")); assert d[\"database\"] == \"database.dump\" and d[\"artifacts\"] == 1, d" &&
	test -f "$BK/logs/$F/test-arm64/3.boot.log" &&
	# a second backup into the same place is refused
	! "$HANGAR" --config lab.conf backup "$BK" 2>err && grep -q "is not empty" err &&
	kill -INT $(cat up.pid) && wait_for "! pid_alive $(cat up.pid)" 60 &&
	rm pause.secs &&
	"$HANGAR" --config lab.conf db stop >/dev/null &&
	test "$(master)" = "$(cat base.rev)"
'

test_expect_success 'restored into a new state directory, the new configuration applied' '
	"$HANGAR" --config lab2.conf restore "$BK" >restore.out && cat restore.out &&
	grep -q "^restored $BK (taken .*) into private cluster $STATE2/pg" restore.out &&
	grep -q "job hello" restore.out &&
	F=$(cat flight) &&
	test "$(q2 "SELECT count(*) FROM jobs WHERE flight=$F")" = 2 &&
	test "$(q2 "SELECT count(*) FROM flights WHERE intent = \$\$gate\$\$ AND verdict <> \$\$pending\$\$")" = 1 &&
	test "$(q2 "SELECT string_agg(name || \$\$:\$\$ || status, \$\$ \$\$ ORDER BY stepno) FROM steps
		    WHERE flight=$F AND job = \$\$test-arm64\$\$ AND stepno <= 3")" = \
		"host-power-cycle:pass install-build:pass boot:pass" &&
	test "$(q2 "SELECT count(*) FROM job_defs WHERE name = \$\$hello\$\$")" = 1 &&
	cmp "$STATE/logs/$F/test-arm64/3.boot.log" "$STATE2/logs/$F/test-arm64/3.boot.log" &&
	test "$(find "$STATE2/artifacts" -type f | wc -l)" = 1 &&
	# a second restore finds the lab there and refuses
	! "$HANGAR" --config lab2.conf restore "$BK" 2>err && cat err &&
	grep -q "has logs or artifacts already\|already holds a lab" err
'

# the restored lab's `hangar up`, started here (a test's subshell would
# take it along)
setsid "$HANGAR" --config lab2.conf up >up2.log 2>&1 &
echo $! >up2.pid
wait_for "grep -q \"hangar is up\" up2.log" 60

test_expect_success 'its hangar up ends the flight that ran (once) and goes on gating' '
	F=$(cat flight) &&
	wait_for "test \"\$(q2 \"SELECT verdict FROM flights WHERE id=$F\")\" = no-push" 180 || {
		tail -n 40 up2.log; exit 1; }
	test "$(q2 "SELECT status || \$\$ \$\$ || broken_reason FROM jobs WHERE flight=$F AND job=\$\$test-arm64\$\$")" = \
		"broken its worker ($(q2 "SELECT lease_owner FROM jobs WHERE flight=$F AND job=\$\$test-arm64\$\$")) stopped heartbeating" &&
	test "$(q2 "SELECT count(*) FROM events WHERE flight=$F AND kind IN
		   (\$\$flight.decided\$\$, \$\$branch.pushed\$\$)")" = 1 &&
	test "$(master)" = "$(cat base.rev)" &&
	test "$(q2 "SELECT count(*) FROM allocations a JOIN jobs j USING (flight, job)
		   WHERE a.released_at IS NULL AND j.status NOT IN (\$\$preparing\$\$, \$\$running\$\$)")" = 0 &&
	"$DEMO_TREE" commit "$T" good >rev2 &&
	wait_for "test \"\$(q2 \"SELECT f.verdict FROM flights f JOIN flight_revisions r ON r.flight = f.id WHERE r.revision = \\\$\\\$$(cat rev2)\\\$\\\$ AND f.intent = \\\$\\\$gate\\\$\\\$\")\" = push" 180 &&
	test "$(master)" = "$(cat rev2)" &&
	kill -INT $(cat up2.pid) && wait_for "! pid_alive $(cat up2.pid)" 60
'

test_done
