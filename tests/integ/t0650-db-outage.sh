#!/bin/bash
# A database outage while the daemons run (issue 18, first part): the
# private cluster stopped by hand stays stopped (no daemon starts it
# again); each daemon says once that it lost the database and once that
# it is back, with nothing in between; once it is started again they
# reconnect by themselves, and a job requested then runs. The web answers
# 503 while it is away and 200 from the first request after. A job whose
# steps run through a database restart and a stop longer than its lease
# passes: the worker held what it could not record (with the times it
# happened) and recorded it once when the database was back.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"

"$LAB" create "$L" --net "$NET" ruby:x86_64 >/dev/null
"$DEMO_TREE" create "$TEST_DIR/trees" >/dev/null
PORT=$(free_port)
cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $L/id_ed25519
	listen = 127.0.0.1:$PORT
[include]
	path = $L/hosts.conf
[scheduler]
	interval = 1s
[worker]
	slots = 2
	heartbeat = 1s
	lease = 8s
[tree "minivisor"]
	url = $TEST_DIR/trees/minivisor.git
[branch "minivisor"]
	tree = minivisor
	jobs = hello
[recipe "hello"]
	step = run hello true
[job "hello"]
	recipe = hello
	arch = x86_64
[recipe "steps"]
	step = run one sleep 2
	step = run two sleep 8
	step = run three echo ran three
	step = run four sleep 1
[job "steps"]
	recipe = steps
	arch = x86_64
CONF
step_status() { q "SELECT status FROM steps WHERE flight=$1 AND name='$2'"; }

test_expect_success 'the lab and the daemons start; a job runs' '
	"$LAB" start "$L" >lab.log &&
	h lab apply lab.conf >/dev/null &&
	start_daemon scheduler && start_daemon worker && start_daemon gate &&
	start_daemon web &&
	wait_for "curl -fsS http://127.0.0.1:$PORT/api/v1/flights >/dev/null" 20 &&
	for i in 1 2 3 4 5 6 7 8; do
		curl -fsS "http://127.0.0.1:$PORT/api/v1/hosts" >/dev/null || return 1
	done &&
	h request --branch minivisor --job hello >r1.out &&
	h flight wait $(flight_of r1.out) --timeout 60 >/dev/null &&
	test "$(jstatus $(flight_of r1.out) hello)" = pass
'

test_expect_success 'a stopped database stays stopped; each daemon says so once' '
	h db stop >/dev/null &&
	! test -f "$STATE/pg/postmaster.pid" &&
	sleep 12 &&
	! test -f "$STATE/pg/postmaster.pid" &&
	for d in scheduler worker gate; do
		test "$(grep -c "lost the database" $d.log)" = 1 ||
			{ echo "$d:"; tail -n 20 $d.log; return 1; }
	done &&
	# nothing else while it is away (the old loop logged thousands)
	test "$(sed -n "/lost the database/,\$p" scheduler.log | wc -l)" -le 3 &&
	test "$(sed -n "/lost the database/,\$p" worker.log | wc -l)" -le 3 &&
	test "$(sed -n "/lost the database/,\$p" gate.log | wc -l)" -le 3 &&
	for d in scheduler worker gate web; do pid_alive $(cat $d.pid) || return 1; done &&
	code=$(curl -s -o away.json -w "%{http_code}" "http://127.0.0.1:$PORT/api/v1/hosts") &&
	test "$code" = 503 && grep -q "\"error\"" away.json &&
	! test -f "$STATE/pg/postmaster.pid"
'

test_expect_success 'started again, the daemons are back by themselves; a job runs' '
	h db start >/dev/null &&
	# every pooled connection died with the server: none gives a 500
	for i in 1 2 3 4 5 6 7 8; do
		code=$(curl -s -o back.json -w "%{http_code}" "http://127.0.0.1:$PORT/api/v1/hosts") &&
		test "$code" = 200 || { echo "request $i: $code"; cat back.json; return 1; }
	done &&
	for d in scheduler worker gate; do
		wait_for "grep -q \"the database is back\" $d.log" 60 ||
			{ echo "$d:"; tail -n 20 $d.log; return 1; }
	done &&
	h request --branch minivisor --job hello >r2.out &&
	h flight wait $(flight_of r2.out) --timeout 60 >/dev/null &&
	test "$(jstatus $(flight_of r2.out) hello)" = pass
'

test_expect_success 'a job running through a restart and an outage longer than its lease passes' '
	h request --branch minivisor --job steps >r3.out &&
	f=$(flight_of r3.out) &&
	wait_for "test \"\$(step_status $f one)\" = running" 30 &&
	h db stop >/dev/null && h db start >/dev/null &&
	h db stop >/dev/null && stopped=$(date +%s.%N) &&
	# steps two, three and four run and the job ends meanwhile (step
	# two outlasts a slow restart: three starts after the stop)
	sleep 15 &&
	! test -f "$STATE/pg/postmaster.pid" &&
	back=$(date +%s.%N) && h db start >/dev/null &&
	h flight wait $f --timeout 60 >/dev/null &&
	test "$(jstatus $f steps)" = pass &&
	test "$(q "SELECT attempt FROM jobs WHERE flight=$f")" = 1 &&
	test "$(q "SELECT string_agg(stepno || name || status, \$\$ \$\$ ORDER BY stepno)
		FROM steps WHERE flight=$f")" = "1onepass 2twopass 3threepass 4fourpass" &&
	# held records carry the times things happened, not the time written
	test "$(q "SELECT count(*) FROM steps WHERE flight=$f AND name IN (\$\$three\$\$, \$\$four\$\$)
		AND started_at > to_timestamp($stopped) AND finished_at < to_timestamp($back)")" = 2 &&
	test "$(q "SELECT count(*) FROM events WHERE flight=$f AND kind IN
		(\$\$job.lease-expired\$\$, \$\$job.requeued\$\$)")" = 0 &&
	test "$(q "SELECT count(*) FROM events WHERE flight=$f AND kind = \$\$job.finished\$\$")" = 1 &&
	grep -q "ran three" "$STATE/logs/$f/steps/3.three.log" &&
	grep -q "flight=$f job=steps: the database is back; [0-9]* held record" worker.log &&
	test "$(q "SELECT count(*) FROM allocations WHERE flight=$f AND released_at IS NULL")" = 0
'

test_done
