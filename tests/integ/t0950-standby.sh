#!/bin/bash
# A standby that takes over with no result lost (issue 23): two private
# clusters on one machine, a primary and its streaming standby made by
# `hangar db standby`; `hangar db status` shows their roles, the lag and
# the standby the primary feeds. `hangar up` runs the daemons against
# both ([lab] database lists the two, target_session_attrs=read-write).
# The primary waits for the standby at each commit (db-synchronous-standby).
# During a gate flight's step the primary dies (pg_ctl -m immediate) and
# the standby is promoted: the flight finishes, every step acknowledged
# before is there once, its verdict and push are recorded once, no host
# is left allocated, and every daemon says once that it lost the
# database and once that it is back.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
T=$TEST_DIR/trees
BARE=$T/minivisor.git
PORT=$(free_port)
P=$TEST_DIR/primary
S=$TEST_DIR/standby
PGBIN=${HANGAR_PG_BINDIR:-/usr/lib/postgresql/15/bin}
# the queries of the test follow the primary too
CONN="host=$P/pg,$S/pg dbname=hangar user=hangar target_session_attrs=read-write"
test_when_finished 'kill_pid $(head -n 1 "$P/pg/postmaster.pid" 2>/dev/null) $(head -n 1 "$S/pg/postmaster.pid" 2>/dev/null)'

"$LAB" create "$L" --net "$NET" ruby:x86_64:build opal:arm64 >/dev/null
"$DEMO_TREE" create "$T" >base.rev
sed -i 's/^\tboot-timeout = .*/\tboot-timeout = 30\n\tpower-cycle-time = 1/' "$L/hosts.conf"
printf '[lab]\n\tstate = %s\n' "$P" >primary.conf
printf '[lab]\n\tstate = %s\n' "$S" >standby.conf
cat >lab.conf <<CONF
[lab]
	state = $STATE
	database = $CONN connect_timeout=5
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
	step = build make dist
	artifacts = dist/*.tar.gz
[recipe "test"]
	step = host-power-cycle
	step = install-build rm -rf installed && mkdir -p installed && tar xzf dist/minivisor.tar.gz -C installed
	step = run boot ./installed/bin/check-boot
	step = run pause sleep 4
	step = run smoke ./installed/tests/smoke.sh
CONF

master() { git --git-dir "$BARE" rev-parse master; }
flight_of_rev() {
	q "SELECT f.id FROM flights f JOIN flight_revisions r ON r.flight = f.id
	   WHERE r.revision = '$1' AND f.intent = 'gate' ORDER BY f.id DESC LIMIT 1"
}
step_is() {
	test "$(q "SELECT status FROM steps WHERE flight=$1 AND job='$2' AND name='$3'
		   ORDER BY stepno DESC LIMIT 1" 2>/dev/null)" = "$4"
}
pyjson() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $2" "$1"; }

# the primary, migrated, its standby, the primary restarted to wait for
# it at each commit, and `hangar up` using both (started here, not in a
# test's body: the test's subshell would take it along)
"$HANGAR" --config primary.conf db start >/dev/null
h db migrate >/dev/null
"$HANGAR" --config standby.conf db standby \
	--from "host=$P/pg dbname=hangar user=hangar application_name=standby" >standby.out 2>&1
printf '\tdb-synchronous-standby = standby\n' >>primary.conf
"$HANGAR" --config primary.conf db stop >/dev/null
"$HANGAR" --config primary.conf db start >/dev/null
"$LAB" start "$L" >lab.log
setsid "$HANGAR" --config lab.conf up >up.log 2>&1 &
echo $! >up.pid

test_expect_success 'a primary and its streaming standby' '
	cat standby.out &&
	grep -q "a standby of host=$P/pg" standby.out &&
	test -f "$S/pg/standby.signal" &&
	# it refuses a state directory that has a cluster
	! "$HANGAR" --config primary.conf db standby --from "host=$S/pg user=hangar" 2>err &&
	grep -q "already holds a cluster" err
'

test_expect_success 'db status: the roles, the lag, the standby the primary feeds' '
	wait_for "\"$HANGAR\" --config primary.conf db status | grep -q \"^standby: standby from local, streaming\"" 20 &&
	"$HANGAR" --config primary.conf db status >p.txt &&
	grep -qx "role: primary" p.txt &&
	"$HANGAR" --config primary.conf db status --json >p.json &&
	pyjson p.json "r = d[\"replication\"]; assert r[\"role\"] == \"primary\" and r[\"synchronous_standby_names\"] == \"standby\", r; s = r[\"standbys\"]; assert len(s) == 1 and s[0][\"name\"] == \"standby\" and s[0][\"state\"] == \"streaming\" and s[0][\"sync_state\"] == \"sync\" and s[0][\"lag_bytes\"] >= 0, s" &&
	grep -qx "synchronous standbys: standby" p.txt &&
	test "$(psql -X -At "host=$P/pg dbname=hangar user=hangar" -c "SHOW synchronous_commit")" = remote_apply &&
	h db status --json >l.json &&
	pyjson l.json "assert d[\"replication\"][\"role\"] == \"primary\" and d[\"pending\"] == 0, d" &&
	"$HANGAR" --config standby.conf db status >s.txt &&
	grep -qx "role: standby of $P/pg (receiver streaming)" s.txt &&
	grep -q "^lag: [0-9]* bytes to replay" s.txt &&
	"$HANGAR" --config standby.conf db status --json >s.json &&
	pyjson s.json "r = d[\"replication\"]; assert r[\"role\"] == \"standby\" and r[\"receiver\"] == \"streaming\" and r[\"lag_bytes\"] >= 0 and r[\"standbys\"] == [], r; assert d[\"pending\"] == 0, d" &&
	# a promotion while the primary lives is refused
	! "$HANGAR" --config standby.conf db promote 2>err && grep -q "still streams from its primary" err &&
	test -f "$S/pg/standby.signal"
'

test_expect_success 'hangar up against both; master is tested first' '
	wait_for "grep -q \"hangar is up\" up.log" 60 || { cat up.log; exit 1; }
	h lab apply lab.conf >/dev/null &&
	wait_for "test \"\$(q \"SELECT count(*) FROM flights WHERE intent=\\\$\\\$gate\\\$\\\$ AND verdict <> \\\$\\\$pending\\\$\\\$\")\" = 1" 120 &&
	# what the primary wrote, the standby has
	wait_for "test \"\$(psql -X -At \"host=$S/pg dbname=hangar user=hangar\" -c \"SELECT count(*) FROM flights WHERE verdict <> \\\$\\\$pending\\\$\\\$\")\" = 1" 20
'

test_expect_success 'the primary dies during a step; the standby promoted, the flight ends sound' '
	"$DEMO_TREE" commit "$T" good >rev &&
	wait_for "test -n \"\$(flight_of_rev $(cat rev))\"" 60 &&
	F=$(flight_of_rev "$(cat rev)") && echo "flight $F" &&
	wait_for "step_is $F test-arm64 pause running" 120 &&
	acked=$(q "SELECT string_agg(job || \$\$/\$\$ || name || \$\$:\$\$ || status, \$\$ \$\$ ORDER BY job, stepno)
		   FROM steps WHERE flight=$F AND status = \$\$pass\$\$") && echo "acknowledged: $acked" &&
	runuser -u "${HANGAR_PG_USER:-hangar}" -- "$PGBIN/pg_ctl" -D "$P/pg" -m immediate stop >/dev/null &&
	sleep 2 &&
	"$HANGAR" --config standby.conf db promote &&
	! test -f "$S/pg/standby.signal" &&
	"$HANGAR" --config standby.conf db status | grep -qx "role: primary" &&
	wait_for "test \"\$(q \"SELECT verdict FROM flights WHERE id=$F\" 2>/dev/null)\" = push" 180 || {
		h flight show $F; tail -n 40 up.log; exit 1
	}
	test "$(q "SELECT status || \$\$ \$\$ || pushed FROM flights WHERE id=$F")" = "finished true" &&
	test "$(master)" = "$(cat rev)" &&
	# the verdict and the push, once
	test "$(q "SELECT count(*) FROM events WHERE flight=$F AND kind IN
		   (\$\$flight.decided\$\$, \$\$branch.pushed\$\$)")" = 1 &&
	# every step acknowledged before the failover is there, passed
	for s in $acked; do
		test "$(q "SELECT count(*) FROM steps WHERE flight=$F AND job || \$\$/\$\$ || name || \$\$:\$\$ || status = \$\$$s\$\$")" -ge 1 ||
			{ echo "lost: $s"; exit 1; }
	done &&
	test "$(q "SELECT string_agg(s.name || \$\$:\$\$ || s.status, \$\$ \$\$ ORDER BY s.stepno)
		   FROM steps s JOIN jobs j USING (flight, job)
		   WHERE s.flight = $F AND s.attempt = j.attempt AND j.job = \$\$test-arm64\$\$")" = \
		"host-power-cycle:pass install-build:pass boot:pass pause:pass smoke:pass" &&
	test "$(q "SELECT count(*) FROM (SELECT 1 FROM steps WHERE flight=$F
		   GROUP BY job, attempt, name HAVING count(*) > 1) d")" = 0 &&
	# the worker kept its job through the failover: not taken over, not run again
	test "$(q "SELECT max(attempt) FROM jobs WHERE flight=$F")" = 1 &&
	test "$(q "SELECT count(*) FROM events WHERE flight=$F AND kind IN
		   (\$\$job.lease-expired\$\$, \$\$job.requeued\$\$)")" = 0 &&
	test "$(q "SELECT count(*) FROM steps WHERE flight=$F AND status IN (\$\$running\$\$, \$\$queued\$\$)")" = 0 &&
	# no host held for a job that ended
	test "$(q "SELECT count(*) FROM allocations a JOIN jobs j USING (flight, job)
		   WHERE a.released_at IS NULL AND j.status NOT IN (\$\$preparing\$\$, \$\$running\$\$)")" = 0
'

test_expect_success 'each daemon said once that it lost the database, once that it is back' '
	# (the worker also says it for each job it runs: its records held;
	# so each message once, not each daemon one message)
	for d in scheduler worker gate web; do
		grep "$d.*\(lost the database\|the database is away\|the database is back\)" up.log |
			cut -d" " -f2- >said &&
		grep -q "lost the database\|the database is away" said &&
		grep -q "the database is back" said &&
		test -z "$(sed "s/ ([^)]*)//" said | sort | uniq -d)" ||
			{ echo "$d:"; grep "$d" up.log | tail -n 20; exit 1; }
	done &&
	curl -fsS "http://127.0.0.1:$PORT/api/v1/hosts" >/dev/null &&
	# each counted it where /metrics shows it
	curl -fsS "http://127.0.0.1:$PORT/metrics" >metrics.txt &&
	grep -x "# TYPE hangar_db_reconnects_total counter" metrics.txt &&
	for d in scheduler worker gate web; do
		grep -Eq "^hangar_db_reconnects_total\{daemon=\"$d\"\} [1-9][0-9]*$" metrics.txt ||
			{ grep hangar_db_reconnects metrics.txt; exit 1; }
	done
'

test_expect_success 'the next commit is gated on the new primary' '
	"$DEMO_TREE" commit "$T" good >rev2 &&
	wait_for "test \"\$(q \"SELECT f.verdict FROM flights f JOIN flight_revisions r ON r.flight = f.id WHERE r.revision = \\\$\\\$$(cat rev2)\\\$\\\$ AND f.intent = \\\$\\\$gate\\\$\\\$\")\" = push" 180 &&
	test "$(master)" = "$(cat rev2)"
'

test_expect_success 'hangar up stops cleanly' '
	kill -INT $(cat up.pid) &&
	wait_for "! pid_alive $(cat up.pid)" 60
'

test_done
