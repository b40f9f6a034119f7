#!/bin/bash
# tests/run.sh PROGRAM... — run test programs that print TAP and add up.
#
# Each PROGRAM is a unit test binary (cmocka; CMOCKA_MESSAGE_OUTPUT=TAP is
# set for it) or an integration script tests/integ/tNNNN-name.sh. Each runs
# with a timeout of $TEST_TIMEOUT seconds (default 600; a script whose
# first lines say "# test-timeout: SECS" gets SECS if longer), its output shown
# as it comes; with TEST_JOBS=N (default 1) N programs run at once and
# each one's output is shown whole when it ends. At the end one line, exactly "N passed, M failed", counts
# the "ok" / "not ok" TAP lines of all programs ("# SKIP" and "# TODO"
# ones are counted apart, in a "# K skipped" line before it). A program
# that exits non-zero without a "not ok" line, times out, prints fewer
# results than its plan says, or prints no TAP result at all (and no
# "1..0" plan) counts as one failure, and is named.
# Exit status: 0 when nothing failed, 1 otherwise, 2 on usage error.

# Run by bash even when started as "sh tests/run.sh" (dash on Debian).
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u -o pipefail

if [ $# -eq 0 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '2,15s/^# \{0,1\}//p' "$0" >&2
	exit 2
fi

TEST_TIMEOUT=${TEST_TIMEOUT:-600}
TEST_JOBS=${TEST_JOBS:-1}
export CMOCKA_MESSAGE_OUTPUT=TAP
# A test that runs make (the demo tree's build) must not join the jobserver
# of the `make -jN check` that started us.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

if ! [[ $TEST_TIMEOUT =~ ^[0-9]+$ ]] || [ "$TEST_TIMEOUT" -eq 0 ]; then
	echo "run.sh: TEST_TIMEOUT must be a positive number of seconds" >&2
	exit 2
fi
if ! [[ $TEST_JOBS =~ ^[0-9]+$ ]] || [ "$TEST_JOBS" -eq 0 ]; then
	echo "run.sh: TEST_JOBS must be a positive number" >&2
	exit 2
fi

outdir=$(mktemp -d "${TMPDIR:-/tmp}/hangar-run.XXXXXX") || exit 1
declare -A running=()   # pid -> program number
cleanup() {
	for pid in "${!running[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${!running[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$outdir"
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT
trap 'echo "run.sh: terminated" >&2; exit 143' TERM

total_pass=0
total_fail=0
total_skip=0
failed_programs=()
progs=("$@")
declare -A started=() limit=()

fail_program() { # PROG REASON
	echo "# $1: $2"
	total_fail=$((total_fail + 1))
	failed_programs+=("$1 ($2)")
}

# test_timeout PROG: its time limit in seconds. A script that needs more
# than most (a package build beside five other tests on two cores) says
# so in its first lines.
test_timeout() {
	local own
	case $1 in
	*.sh) own=$(sed -n '1,20{s/^# test-timeout: \([0-9][0-9]*\)$/\1/p}' "$1" | head -n 1) ;;
	esac
	if [ -n "${own:-}" ] && [ "$own" -gt "$TEST_TIMEOUT" ]; then
		echo "$own"
	else
		echo "$TEST_TIMEOUT"
	fi
}

# Starts program number N in the background, its output into N.out;
# returns 1 when it cannot run (counted as failed).
start_program() {
	local n=$1 prog=${progs[$1]} cmd
	: >"$outdir/$n.out"
	if [ ! -e "$prog" ]; then
		fail_program "$prog" "no such file"
		return 1
	fi
	cmd=("$prog")
	case $prog in
	*/*) ;;
	*) cmd=("./$prog") ;;
	esac
	if [ ! -x "$prog" ]; then
		case $prog in
		*.sh) cmd=(bash "$prog") ;;
		*)
			fail_program "$prog" "not executable"
			return 1
			;;
		esac
	fi
	[ "$TEST_JOBS" -gt 1 ] || echo "# --- $prog"
	limit[$n]=$(test_timeout "$prog")
	started[$n]=$EPOCHREALTIME
	# The program writes into a file (so that a daemon it leaks cannot
	# hold a pipe open).
	# HANGAR_TEST_RUN marks every process of this program, so that a
	# test's kill_pid never takes another's process for a stale pid of
	# its own (pids wrap within minutes here: pid_max is 32768).
	HANGAR_TEST_RUN=$$.$n timeout -k 10 "${limit[$n]}" "${cmd[@]}" \
		</dev/null >"$outdir/$n.out" 2>&1 &
	running[$!]=$n
	return 0
}

# Counts the TAP results of program number N, which exited with RC.
report_program() {
	local n=$1 rc=$2 prog=${progs[$1]} out=$outdir/$1.out
	local pass fail skip plan reason ran secs
	secs=$(awk -v a="${started[$n]}" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	if [ "$TEST_JOBS" -gt 1 ]; then
		echo "# --- $prog"
		cat "$out"
	fi

	# A line of output is a result only at the start of a line, not
	# indented.
	read -r pass fail skip plan <<<"$(awk '
		/^ok([ \t]|$)/ || /^not ok([ \t]|$)/ {
			if ($0 ~ /#[ \t]*([Ss][Kk][Ii][Pp]|[Tt][Oo][Dd][Oo])/) skip++
			else if ($0 ~ /^ok/) pass++
			else fail++
			next
		}
		/^1\.\.0[ \t]*#[ \t]*[Ss][Kk][Ii][Pp]/ { skip++ }   # the whole script
		/^1\.\.[0-9]+/ { sub(/^1\.\./, ""); plan = $0 + 0; hasplan = 1 }
		END { printf "%d %d %d %s\n", pass, fail, skip, hasplan ? plan : "-" }
	' "$out")"

	reason=
	ran=$((pass + fail + skip))
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		reason="timed out after ${limit[$n]}s"
	elif [ $rc -ne 0 ] && [ "$fail" -eq 0 ]; then
		reason="exit status $rc without a failing test"
	elif [ "$plan" != - ] && [ "$ran" -lt "$plan" ]; then
		reason="planned $plan tests, ran $ran"
	elif [ "$ran" -eq 0 ] && [ "$plan" != 0 ]; then
		reason="no TAP output"
	fi
	if [ -n "$reason" ]; then
		fail=$((fail + 1))
		failed_programs+=("$prog ($reason)")
		echo "# $prog: $reason"
	elif [ "$fail" -gt 0 ]; then
		failed_programs+=("$prog ($fail failed)")
	fi
	echo "# $prog: $pass passed, $fail failed, $skip skipped (exit $rc, ${secs}s)"
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	total_skip=$((total_skip + skip))
}

# Waits for one running program to end and reports it.
reap_one() {
	local pid rc
	wait -n -p pid "${!running[@]}"
	rc=$?
	report_program "${running[$pid]}" "$rc"
	unset "running[$pid]"
}

for ((n = 0; n < ${#progs[@]}; n++)); do
	while [ "${#running[@]}" -ge "$TEST_JOBS" ]; do
		reap_one
	done
	start_program "$n" || continue
	if [ "$TEST_JOBS" -eq 1 ]; then
		# one at a time: its output as it comes
		for pid in "${!running[@]}"; do
			tail -n +1 -s 0.2 -f --pid="$pid" "$outdir/$n.out"
		done
		reap_one
	fi
done
while [ "${#running[@]}" -gt 0 ]; do
	reap_one
done

echo "# ---"
for p in "${failed_programs[@]}"; do
	echo "# FAILED: $p"
done
[ "$total_skip" -eq 0 ] || echo "# $total_skip skipped"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
