#!/bin/bash
# The web's database workers (issue 21): its statements are prepared once
# per connection and prepared again after a database restart, with the
# same answers; and a cached answer is served while every worker waits on
# a slow query (a table lock held from psql), which the old server, whose
# request threads waited on the database, could not do.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
PORT=$(free_port)
A=http://127.0.0.1:$PORT/api/v1
h() { "$HANGAR" --config lab.conf "$@"; }
start_web() {
	setsid "$HANGAR" --config lab.conf web --listen 127.0.0.1:$PORT >>web.log 2>&1 &
	echo $! >web.pid
	wait_for "curl -fsS $A/whoami >/dev/null" 20
}
# the server log's lines from the web's sessions, from line $1 on
web_statements() {
	sed -n "$1,\$p" "$STATE/pg/server.log" | grep "^hangar web "
}
test_when_finished 'kill_pid $(cat "$TEST_DIR"/*.pid 2>/dev/null); kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

. "$SRCDIR/tests/integ/lib-gate-history.sh"
{
	printf '[lab]\n\tstate = %s\n' "$STATE"
	# two workers: two slow requests hold them all
	printf '[web]\n\tthreads = 2\n'
	gate_history_conf
} >lab.conf
gate_history_sql >history.sql

test_expect_success 'a history; flight 101 decided (its report stored), 117 running' '
	h lab apply lab.conf >/dev/null &&
	psql -X -q -v ON_ERROR_STOP=1 "$CONN" -f history.sql &&
	h flight report 101 --json >stored.json &&
	psql -X -q -v ON_ERROR_STOP=1 "$CONN" -v j="$(cat stored.json)" <<-\SQL &&
	UPDATE flights SET verdict = '\''no-push'\'', report = :'\''j'\''::jsonb,
		report_text = '\''(mail)'\'', decided_at = now() WHERE id = 101;
	SQL
	test "$(q "SELECT status FROM flights WHERE id = 117")" = running &&
	# every statement in the server log, with the session it came from
	q "ALTER SYSTEM SET log_statement = '\''all'\''" &&
	q "ALTER SYSTEM SET log_line_prefix = '\''%a: '\''" &&
	q "SELECT pg_reload_conf()" >/dev/null &&
	start_web
'

test_expect_success 'the web prepares its statements and executes them by name' '
	from=$(wc -l <"$STATE/pg/server.log") &&
	for i in 1 2 3; do
		curl -fsS -o live.$i.json $A/flights/117/report || return 1
	done &&
	cmp live.1.json live.3.json &&
	web_statements $from >before.log &&
	# by name at each request (a Parse is not logged; an unprepared
	# statement is "execute <unnamed>")
	test "$(grep -c "execute hangar_[0-9]*: SELECT f.branch, f.intent" before.log)" = 3
'

test_expect_success 'after a database restart the statements are prepared again, same answers' '
	h db stop >/dev/null &&
	h db start >/dev/null &&
	from=$(wc -l <"$STATE/pg/server.log") &&
	# the first request after notices the restart and reconnects
	wait_for "curl -fsS -o live.after.json $A/flights/117/report" 20 &&
	curl -fsS -o live.after2.json $A/flights/117/report &&
	cmp live.1.json live.after.json &&
	cmp live.1.json live.after2.json &&
	web_statements $from >after.log &&
	grep -q "execute hangar_[0-9]*: SELECT f.branch, f.intent" after.log &&
	! grep -i "prepared statement .* does not exist" "$STATE/pg/server.log" &&
	! grep -i "error" web.log &&
	# the cache keeps answers again once its listener is back
	wait_for "grep -q \"the database is back\" web.log" 40
'

test_expect_success 'a cached answer is served while every worker waits on a lock' '
	curl -fsS -o cached.1.json $A/flights/101/report &&
	curl -fsS -o cached.2.json $A/flights/101/report &&
	cmp cached.1.json cached.2.json &&
	# hold a lock that the live report of 117 waits on (it reads flights)
	psql -X -q "$CONN" -c "BEGIN; LOCK TABLE flights IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(6); COMMIT" >/dev/null &
	echo $! >lock.pid &&
	wait_for "test \"\$(q \"SELECT count(*) FROM pg_locks WHERE relation = '\''flights'\''::regclass AND mode = '\''AccessExclusiveLock'\'' AND granted\")\" = 1" 10 &&
	for i in 1 2 3; do
		curl -sS -o slow.$i.json -w "%{http_code}\n" --max-time 30 $A/flights/117/report >slow.$i.code &
		echo $! >slow.$i.pid
	done &&
	# both workers are waiting on the lock
	wait_for "test \"\$(q \"SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '\''hangar web %'\'' AND wait_event_type = '\''Lock'\''\")\" = 2" 10 &&
	t0=$EPOCHREALTIME &&
	curl -fsS --max-time 1 -o cached.3.json $A/flights/101/report &&
	t1=$EPOCHREALTIME &&
	echo "cached answer in $(awk -v a=$t0 -v b=$t1 "BEGIN { printf \"%.1f\", (b - a) * 1000 }") ms while the workers wait" &&
	cmp cached.1.json cached.3.json &&
	# the slow ones were still waiting then, and answer once the lock goes
	for i in 1 2 3; do pid_alive $(cat slow.$i.pid) || return 1; done &&
	for i in 1 2 3; do wait $(cat slow.$i.pid); test "$(cat slow.$i.code)" = 200 || return 1; done &&
	cmp live.1.json slow.1.json && cmp live.1.json slow.3.json
'

test_expect_success 'SIGTERM stops it cleanly' '
	kill -TERM $(cat web.pid) &&
	wait_for "! pid_alive $(cat web.pid)" 10 &&
	grep -q "stopping (signal 15)" web.log
'

test_done
