# lib-lab.sh — what the tests that run jobs on a simulated lab share.
# Source it after lib-test.sh. It skips the script unless the lab can run
# (root, ipmi_sim), and sets:
#   STATE  the state directory ($TEST_DIR/state; the private cluster in it)
#   L      the lab directory ($TEST_DIR/lab), for "$LAB" create "$L" ...
#   NET    a loopback /24 of its own (127.A.B)
#   CONN   the conninfo of the private cluster
# and defines:
#   q SQL              one query, unaligned, no header
#   h ARGS...          hangar with ./lab.conf
#   jstatus F JOB      that job's status
#   flight_of FILE     the flight number in FILE ("flight N" output)
#   start_daemon NAME  hangar NAME (scheduler, worker, web) in the
#                      background, log in NAME.log, pid in NAME.pid (an
#                      earlier NAME.pid is kept, renamed, for the cleanup)
#   remote_procs PAT   pids of processes whose command line has PAT
#   decided REV [TREE] the newest gate flight of REV (of TREE, default
#                      minivisor), once decided: "FLIGHT VERDICT [pushed]"
#   wait_decided REV FILE [TREE]  waits for it (5 minutes), into FILE
# and registers the cleanup: every *.pid, the lab, the cluster.
test_skip_unless "test $(id -u) = 0"   # sshd on port 22, BMCs on 623
test_skip_unless ipmi_sim

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
L=$TEST_DIR/lab
NET=127.$((100 + $$ % 100)).$((RANDOM % 250 + 1))
CONN="host=$STATE/pg dbname=hangar user=hangar"

h() { "$HANGAR" --config lab.conf "$@"; }
jstatus() { q "SELECT status FROM jobs WHERE flight=$1 AND job='$2'"; }
flight_of() { sed -n "s/^flight //p" "$1" | head -n 1; }
start_daemon() {
	# an earlier one's pid file stays for the cleanup under another name
	[ ! -f "$1.pid" ] || mv "$1.pid" "$1.$RANDOM$RANDOM.pid"
	setsid "$HANGAR" --config lab.conf "$1" >>"$1.log" 2>&1 &
	echo $! >"$1.pid"
}
remote_procs() { pgrep -f -- "$1" || true; }
decided() {
	q "SELECT f.id || ' ' || f.verdict || CASE WHEN f.pushed THEN ' pushed' ELSE '' END
	   FROM flights f JOIN flight_revisions r ON r.flight = f.id
	   WHERE r.revision = '$1' AND r.tree = '${2:-minivisor}'
	   AND f.intent = 'gate' AND f.verdict <> 'pending'
	   ORDER BY f.id DESC LIMIT 1"
}
wait_decided() {
	wait_for "test -n \"\$(decided $1 ${3:-})\"" 300 || {
		h flight list; tail -n 20 gate.log; return 1
	}
	decided "$1" ${3:-} >"$2"
}

test_when_finished 'kill_pid $(cat "$TEST_DIR"/*.pid 2>/dev/null); "$LAB" stop "$L" >/dev/null 2>&1; kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'
