# lib-test.sh — a small Git-t/-style harness for hangar's integration tests.
#
# Source it from a numbered test script, tests/integ/tNNNN-name.sh:
#
#   #!/bin/bash
#   . "$(dirname "$0")/lib-test.sh"
#   test_expect_success 'the lab starts' '
#       "$LAB" start "$TEST_DIR/lab"
#       test_when_finished "\"$LAB\" stop \"$TEST_DIR/lab\""
#   '
#   test_done
#
# API
#   test_expect_success DESC BODY
#       Runs BODY (shell code) in a subshell with `set -e -o pipefail`, in
#       $TEST_DIR, with stdout and stderr captured in
#       $TEST_DIR/.test-N.out. A command that fails anywhere in BODY fails
#       the test. Prints "ok N - DESC" or "not ok N - DESC" followed by
#       "# " diagnostics (the body and the last 30 lines of its output).
#       As BODY runs in a subshell, variables it sets do not reach later
#       tests: pass state through files in $TEST_DIR (or set variables
#       outside of any test).
#   test_when_finished CMD
#       Registers CMD (shell code) to be run when the test script ends,
#       normally or not (EXIT, INT, TERM), last registered first. Works at
#       top level and inside a test body.
#   test_skip_unless CMD
#       Skips the whole script ("1..0 # SKIP") unless CMD is available (a
#       single word is looked up with `command -v`; anything else is eval'd
#       and must succeed). Call it before the first test. With CI=true a
#       missing CMD fails the script instead.
#   test_skip_all REASON
#       Skips the whole script, saying why.
#   test_done
#       Prints the plan and a summary; exits 1 if any test failed, else 0.
#
# Helpers (usable in and out of test bodies)
#   wait_for CMD [SECONDS]   poll CMD (eval'd, output hidden) every 0.1s until
#                            it succeeds; return 1 after SECONDS (default 10),
#                            showing the output of one last try
#   free_port                print a TCP port free on 127.0.0.1
#   pid_alive PID            true if PID exists and is not a zombie
#   kill_pid PID...          TERM (the process, and its group when it leads
#                            one), wait up to 5s, then KILL
#   kill_pidfile FILE...     kill_pid the pid in FILE, then remove FILE
#   q SQL                    psql -X -q -At -v ON_ERROR_STOP=1 "$CONN" -c SQL:
#                            its output, errors and status, without the
#                            processes (through a pq-relay of this script)
#
# Variables
#   SRCDIR     the repository root (from this file's location)
#   HANGAR     the hangar binary (env HANGAR, default $SRCDIR/hangar)
#   LAB        $SRCDIR/hosts/lab/lab.sh
#   DEMO_TREE  $SRCDIR/hosts/lab/demo-tree.sh
#   TEST_DIR   a fresh private directory (mode 0755) under ${TMPDIR:-/tmp},
#              removed at the end unless HANGAR_TEST_KEEP=1
#   TEST_NAME  the test script's name, without .sh
#
# Environment
#   HANGAR_TEST_KEEP=1      keep $TEST_DIR
#   HANGAR_TEST_VERBOSE=1   (or -v on the command line) print every test's
#                           output, not only a failing one's
#   HANGAR_TEST_TRACE=1     run the test bodies under `set -x`
#   HANGAR_TEST_PQ_RELAY=0  q runs psql itself
#   HANGAR_PQ_RELAY         the pq-relay (default: tests/pq-relay beside
#                           $HANGAR, as make builds it)

if [ -z "${BASH_VERSION:-}" ]; then
	echo "lib-test.sh: needs bash" >&2
	exit 2
fi

case " $* " in
*" -v "*|*" --verbose "*) HANGAR_TEST_VERBOSE=1 ;;
esac

SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
HANGAR=${HANGAR:-$SRCDIR/hangar}
LAB=$SRCDIR/hosts/lab/lab.sh
DEMO_TREE=$SRCDIR/hosts/lab/demo-tree.sh
TEST_NAME=$(basename "$0" .sh)
export SRCDIR HANGAR LAB DEMO_TREE TEST_NAME
# PostgreSQL's own psql, not Debian's pg_wrapper: the wrapper is a Perl
# script that costs 20-30 ms of CPU a call, most of what the tests spent.
PATH=${HANGAR_PG_BINDIR:-/usr/lib/postgresql/15/bin}:$PATH
export PATH

# q SQL: what `psql -X -q -At -v ON_ERROR_STOP=1 "$CONN" -c SQL` prints
# and returns, through this script's pq-relay (tests/tools/pq-relay.c): a
# psql and a backend for each call were most of the suite's CPU. Without
# the relay (not built, or HANGAR_TEST_PQ_RELAY=0) and for COPY, psql.
_test_pq_port=
q() {
	local fd out err status
	if [ -z "$_test_pq_port" ] || [[ ${1,,} == *copy* ]] ||
		! { exec {fd}<>"/dev/tcp/127.0.0.1/$_test_pq_port"; } 2>/dev/null; then
		psql -X -q -At -v ON_ERROR_STOP=1 "$CONN" -c "$1"
		return
	fi
	printf '%s\0%s\0' "$CONN" "$1" >&"$fd"
	IFS= read -r -d '' -u "$fd" out || true
	IFS= read -r -d '' -u "$fd" err || true
	IFS= read -r -d '' -u "$fd" status || true
	exec {fd}>&-
	printf '%s' "$out"
	printf '%s' "$err" >&2
	[[ $status =~ ^[0-9]+$ ]] || status=2
	return "$status"
}

# For a failure's output: $CONN's sessions, what each waits for, and the
# locks on tables they hold or want.
show_sessions() {
	q "SELECT pid, application_name, state, wait_event_type, wait_event,
		  left(query, 100) FROM pg_stat_activity
	   WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
	q "SELECT l.pid, c.relname, l.mode, l.granted FROM pg_locks l
	   JOIN pg_class c ON c.oid = l.relation
	   WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1, 2"
}

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hangar-$TEST_NAME.XXXXXX") || {
	echo "Bail out! cannot create a temporary directory"
	exit 1
}
chmod 0755 "$TEST_DIR"
export TEST_DIR

_test_count=0
_test_failed=0
_test_cleanup_file=$TEST_DIR/.cleanup
_test_cleaned=
: >"$_test_cleanup_file"

# Keep the original stdout for TAP lines; tests write into their own files.
exec 7>&1

_test_say() {
	printf '%s\n' "$*" >&7
}

_test_diag_file() { # FILE [LINES]
	local file=$1 lines=${2:-30}
	[ -s "$file" ] || return 0
	local total
	total=$(wc -l <"$file")
	if [ "$total" -gt "$lines" ]; then
		_test_say "# ... ($((total - lines)) earlier lines in $file)"
	fi
	tail -n "$lines" "$file" | sed 's/^/#   /' >&7
}

_test_run_cleanup() {
	[ -z "$_test_cleaned" ] || return 0
	_test_cleaned=1
	trap - INT TERM
	local cmds=() line i
	if [ -s "$_test_cleanup_file" ]; then
		# One command per record, NUL separated; run last registered first.
		while IFS= read -r -d '' line; do
			cmds+=("$line")
		done <"$_test_cleanup_file"
	fi
	for ((i = ${#cmds[@]} - 1; i >= 0; i--)); do
		if ! (cd "$TEST_DIR" 2>/dev/null || cd /; eval "${cmds[i]}") \
			>>"$TEST_DIR/.cleanup.out" 2>&1; then
			_test_say "# cleanup failed: ${cmds[i]}"
			_test_diag_file "$TEST_DIR/.cleanup.out" 10
		fi
	done
	cd /
	if [ "${HANGAR_TEST_KEEP:-0}" = 1 ]; then
		_test_say "# kept $TEST_DIR"
	else
		rm -rf "$TEST_DIR"
	fi
}

_test_on_signal() {
	_test_say "# interrupted by SIG$1"
	_test_run_cleanup
	trap - EXIT
	case $1 in
	INT) exit 130 ;;
	*) exit 143 ;;
	esac
}

trap '_test_run_cleanup' EXIT
trap '_test_on_signal INT' INT
trap '_test_on_signal TERM' TERM

cd "$TEST_DIR"

test_when_finished() {
	[ $# -ge 1 ] || { echo "usage: test_when_finished CMD" >&2; return 2; }
	printf '%s\0' "$*" >>"$_test_cleanup_file"
}

# this script's pq-relay, for q (see above)
_test_pq_relay=${HANGAR_PQ_RELAY:-$(dirname "$HANGAR")/tests/pq-relay}
if [ "${HANGAR_TEST_PQ_RELAY:-1}" != 0 ] && [ -x "$_test_pq_relay" ]; then
	exec {_test_fd}< <(exec "$_test_pq_relay" 2>>"$TEST_DIR/.pq-relay.err" 7>&-)
	_test_pq_pid=$!
	read -r -u "$_test_fd" _test_pq_port || _test_pq_port=
	exec {_test_fd}<&-
	[[ $_test_pq_port =~ ^[0-9]+$ ]] || _test_pq_port=
	# for a test's own programs (t0520's Python)
	export HANGAR_TEST_PQ_PORT=$_test_pq_port
	test_when_finished "kill $_test_pq_pid 2>/dev/null || :"
fi

test_skip_unless() {
	local ok=
	if [ $# -eq 1 ] && [[ $1 != *[[:space:]]* ]]; then
		command -v "$1" >/dev/null 2>&1 && ok=1
	else
		(eval "$*") >/dev/null 2>&1 && ok=1
	fi
	if [ -z "$ok" ]; then
		# CI has every tool (make deps): there a missing one is a
		# failure, not a test quietly left out
		if [ "${CI:-}" = true ]; then
			_test_say "not ok 1 - missing: $* (CI=true: make deps should have installed it)"
			_test_say "1..1"
			exit 1
		fi
		_test_say "1..0 # SKIP missing: $*"
		exit 0
	fi
}

# test_skip_all REASON: skips the whole script.
test_skip_all() {
	_test_say "1..0 # SKIP $*"
	exit 0
}

test_expect_success() {
	if [ $# -ne 2 ]; then
		echo "bug in the test script: test_expect_success DESC BODY" >&2
		exit 2
	fi
	local desc=$1 body=$2 out rc start
	_test_count=$((_test_count + 1))
	out=$TEST_DIR/.test-$_test_count.out
	start=$EPOCHREALTIME
	(
		set -e -o pipefail
		cd "$TEST_DIR"
		[ "${HANGAR_TEST_TRACE:-0}" != 1 ] || set -x
		eval "$body"
	) </dev/null >"$out" 2>&1 7>&-
	rc=$?
	local secs
	secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	if [ $rc -eq 0 ]; then
		# its time, to see where a slow script spends it
		_test_say "ok $_test_count - $desc ($secs s)"
		if [ "${HANGAR_TEST_VERBOSE:-0}" = 1 ]; then
			_test_diag_file "$out" 100000
		fi
	else
		_test_failed=$((_test_failed + 1))
		_test_say "not ok $_test_count - $desc"
		_test_say "# exit status $rc after ${secs}s; the test was:"
		printf '%s\n' "$body" | sed -e '/^[[:space:]]*$/d' -e 's/^/#   /' >&7
		if [ -s "$out" ]; then
			_test_say "# its output (last 30 lines):"
			_test_diag_file "$out" 30
		else
			_test_say "# no output"
		fi
	fi
	return 0
}

test_done() {
	_test_say "1..$_test_count"
	if [ "$_test_failed" -eq 0 ]; then
		_test_say "# passed all $_test_count test(s)"
		exit 0
	fi
	_test_say "# failed $_test_failed among $_test_count test(s)"
	[ "${HANGAR_TEST_KEEP:-0}" = 1 ] ||
		_test_say "# (HANGAR_TEST_KEEP=1 keeps the test directory)"
	exit 1
}

wait_for() {
	local cmd=$1 secs=${2:-10}
	local start now limit pause=0.1
	# microseconds, in bash: a poll should cost what its command costs
	start=${EPOCHREALTIME//[!0-9]/}
	if [[ $secs =~ ^[0-9]+$ ]]; then
		limit=$((secs * 1000000))
	else
		limit=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 1e6 }')
	fi
	while :; do
		if (eval "$cmd") >/dev/null 2>&1; then
			return 0
		fi
		now=${EPOCHREALTIME//[!0-9]/}
		[ $((now - start)) -le "$limit" ] || break
		# a long wait polls less often: its command (psql, curl) is
		# a process, and the lanes beside it want the CPU
		if [ $((now - start)) -gt 20000000 ]; then
			pause=0.5
		elif [ $((now - start)) -gt 3000000 ]; then
			pause=0.25
		fi
		sleep $pause
	done
	echo "wait_for: still failing after ${secs}s: $cmd" >&2
	{ (eval "$cmd") 2>&1 | tail -n 5 | sed 's/^/wait_for:   /' >&2; } || true
	return 1
}

free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' && return 0
	fi
	local port i
	for ((i = 0; i < 200; i++)); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if ! (exec 2>/dev/null; : <>"/dev/tcp/127.0.0.1/$port"); then
			echo "$port"
			return 0
		fi
	done
	echo "free_port: no free port found" >&2
	return 1
}

pid_alive() {
	local pid=$1 stat
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

_test_pgid_of() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# fields after the name: state ppid pgrp ...
	set -- $stat
	echo "$3"
}

# Whether pid is now a process of another test program of tests/run.sh
# (a stale pid of ours, reused): its environment says which it is. A
# process that cleared its environment (a postgres) cannot say: it is
# taken for ours, as before.
_test_pid_foreign() {
	local run
	run=$(tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null |
		sed -n 's/^HANGAR_TEST_RUN=//p' | head -n 1)
	[ -n "$run" ] && [ "$run" != "${HANGAR_TEST_RUN:-}" ]
}

kill_pid() {
	local pid sig group i rc=0
	for pid in "$@"; do
		[[ $pid =~ ^[0-9]+$ ]] && [ "$pid" -gt 1 ] || {
			echo "kill_pid: bad pid '$pid'" >&2
			rc=1
			continue
		}
		if _test_pid_foreign "$pid"; then
			echo "kill_pid: $pid is another test's process now: left alone" >&2
			continue
		fi
		group=
		[ "$(_test_pgid_of "$pid")" = "$pid" ] && group=1
		for sig in TERM KILL; do
			kill -s "$sig" "$pid" 2>/dev/null || true
			[ -z "$group" ] || kill -s "$sig" -- "-$pid" 2>/dev/null || true
			for ((i = 0; i < 50; i++)); do
				pid_alive "$pid" || break
				sleep 0.1
			done
			pid_alive "$pid" || break
		done
		if [ -n "$group" ]; then
			# The leader is gone; take any member left with it.
			kill -s KILL -- "-$pid" 2>/dev/null || true
		fi
		# Reap it quietly when it is our child.
		wait "$pid" 2>/dev/null || true
		if pid_alive "$pid"; then
			echo "kill_pid: $pid survived SIGKILL" >&2
			rc=1
		fi
	done
	return $rc
}

kill_pidfile() {
	local f pid rc=0
	for f in "$@"; do
		[ -f "$f" ] || continue
		pid=$(head -n 1 "$f" | tr -d '[:space:]')
		if [ -n "$pid" ]; then
			kill_pid "$pid" || rc=1
		fi
		rm -f "$f"
	done
	return $rc
}
