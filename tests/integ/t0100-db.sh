#!/bin/bash
# The database: the private cluster (created once, on a Unix socket only,
# shared by every process of a state directory, stopped on request), the
# numbered migrations, a configured database, and the tests' own q.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "pg_config --bindir"

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
CONF=$TEST_DIR/hangar.conf
printf '[lab]\n\tstate = state\n' >"$CONF"
export HANGAR_CONFIG=$CONF

pm_pid() { head -n 1 "$1/pg/postmaster.pid" 2>/dev/null; }
test_when_finished 'kill_pid $(pm_pid "$STATE") $(pm_pid "$TEST_DIR/other")'

test_expect_success 'first use creates and starts the private cluster' '
	"$HANGAR" db status >out &&
	grep -q "private cluster $STATE/pg" out &&
	grep -q "0001-initial .*pending" out &&
	test -f "$STATE/pg/PG_VERSION" &&
	pid_alive "$(pm_pid "$STATE")"
'

test_expect_success 'it runs as the unprivileged user when we are root' '
	if [ "$(id -u)" = 0 ]; then
		test "$(stat -c %U "$STATE/pg")" = hangar &&
		test "$(ps -o user= -p "$(pm_pid "$STATE")")" = hangar
	fi
'

test_expect_success 'it listens on a Unix socket inside the state directory only' '
	test -S "$STATE/pg/.s.PGSQL.5432" &&
	psql -X -At "host=$STATE/pg dbname=hangar user=hangar" \
		-c "SHOW listen_addresses" >out &&
	test "$(cat out)" = ""
'

test_expect_success 'db migrate applies each migration once, in order' '
	"$HANGAR" db migrate >out &&
	grep -q "applying 0001-initial" out &&
	"$HANGAR" db migrate >out &&
	grep -q "up to date" out &&
	"$HANGAR" db status --json >st.json &&
	python3 -c "import json,sys; d=json.load(open(\"st.json\")); assert d[\"pending\"]==0 and d[\"migrations\"][0][\"applied_at\"], d"
'

test_expect_success 'the schema has its tables and history indexes' '
	psql -X -At "host=$STATE/pg dbname=hangar user=hangar" -c "
		SELECT string_agg(c.relname, chr(32) ORDER BY c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = '\''public'\''" >rels &&
	for t in trees branches flights flight_revisions jobs job_deps runvars \
		steps hosts host_flags allocations reservations artifacts \
		bisections api_tokens events recipes recipe_steps job_defs \
		flight_revisions_rev_idx steps_history_idx \
		allocations_host_idx allocations_live_idx jobs_history_idx; do
		grep -qw "$t" rels || { echo "missing $t"; exit 1; }
	done
'

test_expect_success 'the database refuses a double allocation of a host' '
	q() { psql -X -v ON_ERROR_STOP=1 -At "host=$STATE/pg dbname=hangar user=hangar" -c "$1"; } &&
	q "INSERT INTO hosts (name, arch, address, workdir) VALUES (\$\$h1\$\$, \$\$x86_64\$\$, \$\$a\$\$, \$\$/w\$\$);
	   INSERT INTO reservations (kind, owner, duration, end_at) VALUES (\$\$reservation\$\$, \$\$me\$\$, 3600, now() + interval \$\$1 hour\$\$);
	   INSERT INTO allocations (host, reservation) VALUES (\$\$h1\$\$, 1)" &&
	! q "INSERT INTO allocations (host, reservation) VALUES (\$\$h1\$\$, 1)" 2>err &&
	grep -q allocations_live_idx err
'

test_expect_success 'every process of the state directory reuses the one cluster' '
	before=$(pm_pid "$STATE") &&
	for i in 1 2 3 4; do "$HANGAR" db status >/dev/null & done; wait &&
	test "$(pm_pid "$STATE")" = "$before"
'

test_expect_success 'processes starting a stopped cluster at once start it once' '
	old=$(pm_pid "$STATE") && pid_alive "$old" &&
	"$HANGAR" db stop >out && grep -q stopped out &&
	! pid_alive "$old" &&
	for i in 1 2 3 4 5; do
		("$HANGAR" host list >"list.$i" 2>&1; echo $? >"rc.$i") &
	done; wait &&
	for i in 1 2 3 4 5; do test "$(cat rc.$i)" = 0 || { cat list.$i; exit 1; }; done &&
	pid_alive "$(pm_pid "$STATE")"
'

test_expect_success 'a schema newer than this hangar is refused' '
	psql -X -At "host=$STATE/pg dbname=hangar user=hangar" \
		-c "INSERT INTO schema_migrations VALUES (9999, \$\$future\$\$)" &&
	! "$HANGAR" host list 2>err &&
	grep -q "9999 is newer than this hangar" err &&
	psql -X -At "host=$STATE/pg dbname=hangar user=hangar" \
		-c "DELETE FROM schema_migrations WHERE version = 9999"
'

test_expect_success 'a configured database must be migrated explicitly' '
	HANGAR_CONFIG=$TEST_DIR/other.conf &&
	printf "[lab]\n\tstate = other\n" >"$HANGAR_CONFIG" &&
	"$HANGAR" db start >/dev/null &&
	other="host=$TEST_DIR/other/pg dbname=hangar user=hangar" &&
	psql -X -q "$other" -c "CREATE DATABASE ext" &&
	printf "[lab]\n\tstate = ext-state\n\tdatabase = host=$TEST_DIR/other/pg dbname=ext user=hangar\n" >ext.conf &&
	set +e &&
	"$HANGAR" --config ext.conf host list 2>err; rc=$? &&
	set -e &&
	test $rc = 1 && grep -q "run .hangar db migrate." err &&
	"$HANGAR" --config ext.conf db migrate | grep -q "applying 0001" &&
	"$HANGAR" --config ext.conf host list >out &&
	! test -e ext-state/pg &&
	set +e &&
	"$HANGAR" --config ext.conf db start 2>err; rc=$? &&
	test $rc = 2
'

test_expect_success 'a state path the database user cannot reach is explained' '
	if [ "$(id -u)" = 0 ]; then
		mkdir -m 0700 closed &&
		printf "[lab]\n\tstate = closed/state\n" >closed.conf &&
		! "$HANGAR" --config closed.conf host list 2>err &&
		grep -q "cannot reach .*closed" err
	fi
'

# same_as_psql SQL: q prints, says and returns what psql -c does
same_as_psql() {
	local rc1=0 rc2=0
	psql -X -q -At -v ON_ERROR_STOP=1 "$CONN" -c "$1" >psql.out 2>psql.err || rc1=$?
	q "$1" >q.out 2>q.err || rc2=$?
	cmp psql.out q.out && cmp psql.err q.err && test $rc1 = $rc2 || {
		echo "q differs from psql -c on: $1 (status $rc1, $rc2)"
		head psql.out psql.err q.out q.err
		return 1
	}
}

test_expect_success 'the tests'"'"' q answers as psql -c does, a fresh session each time' '
	{ test -n "$_test_pq_port" || { echo "no pq-relay: make builds it"; false; }; } &&
	CONN="host=$STATE/pg dbname=hangar user=hangar" &&
	same_as_psql "SELECT 1" &&
	same_as_psql "SELECT 1; SELECT 2, NULL, true, E'\''a\nb|c'\''" &&
	same_as_psql "SELECT 1 WHERE false" &&
	same_as_psql "" &&
	same_as_psql "SELEC 1" &&
	same_as_psql "SELECT 1; SELECT 1/0; SELECT 3" &&
	same_as_psql "DO \$\$BEGIN RAISE NOTICE '\''n'\''; END\$\$; SELECT 2" &&
	# one string, one transaction: the failure undoes the insert
	same_as_psql "CREATE TEMP TABLE t (a int); INSERT INTO t VALUES (1); SELECT * FROM t" &&
	same_as_psql "SELECT * FROM t" &&
	same_as_psql "SELECT pg_advisory_lock(7); BEGIN" &&
	same_as_psql "SELECT pg_try_advisory_lock(7)" &&
	# a session the server ended while it was idle is not used again
	psql -X -q "$CONN" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '\''hangar test q'\''" >/dev/null &&
	same_as_psql "SELECT 4" &&
	CONN="host=$TEST_DIR/nowhere dbname=hangar user=hangar" &&
	same_as_psql "SELECT 5"
'

test_expect_success 'db stop stops it' '
	pid=$(pm_pid "$STATE") &&
	"$HANGAR" db stop >/dev/null &&
	! pid_alive "$pid" &&
	HANGAR_CONFIG=$TEST_DIR/other.conf "$HANGAR" db stop >/dev/null
'

test_done
