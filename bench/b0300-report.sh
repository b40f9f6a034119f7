#!/bin/sh
# The gate's judgement of one flight against a long history: a generator
# (awk into COPY, in bench/lib-history.sh) of 1,000, then 5,000, then
# 20,000 gate flights of one branch, 80 jobs (8 builds, 72 tests) of 15
# steps, with a realistic mix: runs of 2 to 6 flights testing one staging
# tip, the last pushed revision as their target, flaky steps, a Windows
# guest-stop that fails more often than not, two support checks that never
# pass, lab trouble (broken), failed builds and the tests they block, an
# occasional real regression of a revision. At each size a new flight (the
# newest, N+2) of a new revision with exactly 10 failures of every class
# (3 regressions, 2 like the baseline, 2 never pass, broken, a blocked
# job, a heisenbug that passed in flight N+1 of the same revision), judged
# against the same baseline: the 5 flights of the last pushed revision, 10
# to 14 flights back. The history repeats with a period of 1,000 flights,
# so those baseline flights are the same at every size and only the length
# of the history differs; the script checks the classes at each size.
# Prints the median time of the whole report (load, classification, JSON,
# mail) and the ratio of the 20,000 to the 1,000 figure. At each size also
# a running flight's live report: flight N+3, another gate flight of N+2's
# revision with the same results, still running (as the dashboard judges
# it at each visit). Goals (issue 21, beside each figure): a decided
# report under 3 ms and a running flight's under 5 ms at 20,000 flights,
# a ratio under 1.5. Then, at 20,000 flights, the whole `hangar flight
# report F --json` process (goal: 15 ms) as it runs beside `hangar web`
# (answered over the web daemon's control socket, STATE/web.sock) and
# with --direct (its own database connection, as without the daemon),
# beside `hangar --version` and psql's SELECT 1. Takes about 9 minutes
# and 16 GB under /tmp.
#
# The history is loaded with session_replication_role = replica: no row
# triggers (step_passes is filled afterwards in one statement, as
# migration 0006 does) and no foreign key checks (the rows are consistent
# by construction); every index is kept. The measured flights go in as the
# gate's would, with triggers and checks.
# HANGAR_BASE=OTHER-HANGAR also times that binary's report of the same
# flight, alternating with this one's, and prints the ratio of the medians,
# and its whole process beside this one's.
set -eu
HANGAR=${HANGAR:-$(pwd)/hangar}
HANGAR_BASE=${HANGAR_BASE:-}
export HANGAR_PG_FAST=1
RUNS=31
dir=$(mktemp -d /tmp/hangar-bench.XXXXXX)
chmod 755 "$dir"
web_pid=
trap '[ -z "$web_pid" ] || { kill $web_pid; wait $web_pid; } 2>/dev/null; "$HANGAR" --config "$dir/lab.conf" db stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
h() { "$HANGAR" --config "$dir/lab.conf" "$@"; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 "host=$dir/state/pg dbname=hangar user=hangar" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }

. "$(dirname "$0")/lib-history.sh"
h lab apply "$dir/lab.conf" >/dev/null

# check N: the measured flight's report has the 10 intended classes
check() {
	m=$(($1 + 2))
	h flight report $m --json >"$dir/report.json"
	nbase=$(q -c "SELECT count(*) FROM flight_revisions fr JOIN flights f ON f.id = fr.flight
		WHERE fr.tree = 'xen' AND f.id < $m
		AND fr.revision = (SELECT target_revision FROM flights WHERE id = $m)")
	python3 - "$dir/report.json" "$1" "$nbase" <<'PY'
import collections, json, sys
d = json.load(open(sys.argv[1]))
n, nbase = int(sys.argv[2]), int(sys.argv[3])
want = {
    ("build-i386-prev", "xen-build-hypervisor"): "regression",
    ("test-amd64-i386-migrupgrade", "<none executed>"): "blocked",
    ("test-amd64-amd64-xl", "guest-start"): "regression",
    ("test-armhf-armhf-xl", "guest-localmigrate"): "regression",
    ("test-amd64-amd64-xl-qemuu-ws16-amd64", "guest-stop"): "fail-like-baseline",
    ("test-amd64-i386-xl-qemuu-win7-amd64", "guest-stop"): "fail-like-baseline",
    ("test-arm64-arm64-xl", "migrate-support-check"): "never-pass",
    ("test-armhf-armhf-xl-credit2", "saverestore-support-check"): "never-pass",
    ("test-amd64-amd64-pair", "host-install"): "broken",
    ("test-amd64-amd64-libvirt", "guest-saverestore"): "heisenbug",
}
got = {(x["job"], x["step"]): x["class"] for x in d["failures"]}
if got != want or d["baseline"]["flight"] != n - 10 or nbase != 5:
    sys.exit("flight %d: unexpected report: baseline %s of %d flights, %s"
             % (n + 2, d["baseline"]["flight"], nbase, json.dumps(d["failures"])))
c = collections.Counter(got.values())
print("  flight %d: %d failures (%s), vs %d baseline flights (newest %d), %s"
      % (n + 2, len(got), ", ".join("%d %s" % (v, k) for k, v in sorted(c.items())),
         nbase, d["baseline"]["flight"], d["outcome"]))
PY
}

total=0
nsteps=0
for n in 1000 5000 20000; do
	if [ $total -gt 0 ]; then
		q -c "DELETE FROM flights WHERE id IN ($((total + 1)), $((total + 2)), $((total + 3)))"
	fi
	t0=$(now)
	load $((total + 1)) $n
	t_load=$(since "$t0")
	measured $n
	out=$(h flight report $((n + 2)) --bench $RUNS)
	med=$(echo "$out" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
	fast=$(echo "$out" | sed -n 's/.*fastest \([0-9.]*\) ms.*/\1/p')
	eval "med_$n=$med"
	# N+3: the same results as N+2, still running
	measured_one $((n + 3)) $n "$M_FAILS"
	q -c "UPDATE flights SET status = 'running', verdict = 'pending', finished_at = NULL WHERE id = $((n + 3))"
	out=$(h flight report $((n + 3)) --bench $RUNS)
	run_med=$(echo "$out" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
	eval "run_$n=$run_med"
	printf "history %5d flights (%sM steps): load %s s (COPY %s s, step_passes %s s, vacuum analyze %s s); report median %s ms (fastest %s); running flight's %s ms\n" \
		$n "$(awk -v s=$nsteps 'BEGIN { printf "%.1f", s / 1e6 }')" \
		"$t_load" "$t_copy" $((t_passes - t_copy)) $((t_load - t_passes)) "$med" "$fast" "$run_med"
	check $n
	if [ -n "$HANGAR_BASE" ]; then
		for who in base this base this; do
			bin=$HANGAR
			[ $who = this ] || bin=$HANGAR_BASE
			"$bin" --config "$dir/lab.conf" flight report $((n + 2)) --bench $RUNS |
				sed -n 's/.*median \([0-9.]*\) ms.*/\1/p' >>"$dir/$who.ms"
		done
		awk -v n=$n 'FNR == 1 { f++ } { v = $1 + 0; if (!(f in m) || v < m[f]) m[f] = v }
			END { printf "  %d: this %.2f ms, base %.2f ms: this/base %.2f\n", n, m[2], m[1], m[2] / m[1] }' \
			"$dir/base.ms" "$dir/this.ms"
		rm -f "$dir/this.ms" "$dir/base.ms"
	fi
	total=$n
done
# The whole command, as a person or a script runs it at 20,000 flights:
# start, configuration, the answer, JSON (goal <= 15 ms): through the web
# daemon (its warm connection) and --direct (a connection and a fresh
# backend of its own, which the daemon's answers must match byte for
# byte), beside `hangar --version` (a process and nothing else) and
# psql's SELECT 1 (a process and a connection), alternated in one run.
# psql is PostgreSQL's own binary: Debian's /usr/bin/psql is pg_wrapper,
# a Perl script that costs some 20 ms before psql even starts.
# (not through h(): $! must be the daemon, not a subshell)
"$HANGAR" --config "$dir/lab.conf" web --listen 127.0.0.1:0 >"$dir/web.log" 2>&1 &
web_pid=$!
i=0
until [ -S "$dir/state/web.sock" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$dir/web.log"; echo "hangar web did not start" >&2; exit 1; }
	sleep 0.1
done
h flight report $((total + 2)) --json >"$dir/ask.json"
h flight report $((total + 2)) --json --direct >"$dir/direct.json"
cmp "$dir/ask.json" "$dir/direct.json"
pg_bindir=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
python3 - "$HANGAR" "$dir/lab.conf" $((total + 2)) "$dir/state/pg" "$pg_bindir/psql" "$HANGAR_BASE" <<'PY'
import statistics, subprocess, sys, time
hangar, conf, flight, sock, psql, base = sys.argv[1:7]
cmds = {
    "flight report --json": [hangar, "--config", conf, "flight", "report", flight, "--json"],
    "flight report --json --direct": [hangar, "--config", conf, "flight", "report", flight, "--json", "--direct"],
    "running flight's": [hangar, "--config", conf, "flight", "report", str(int(flight) + 1), "--json"],
    "hangar --version": [hangar, "--version"],
    "psql SELECT 1": [psql, "-X", "-q", "-At", "host=%s dbname=hangar user=hangar" % sock, "-c", "SELECT 1"],
}
if base:
    cmds["base's flight report --json"] = [base, "--config", conf, "flight", "report", flight, "--json"]
times = {k: [] for k in cmds}
for _ in range(31):
    for k, c in cmds.items():
        t = time.perf_counter()
        subprocess.run(c, stdout=subprocess.DEVNULL, check=True)
        times[k].append((time.perf_counter() - t) * 1000)
med = {k: statistics.median(v) for k, v in times.items()}
print("whole process: flight report --json median %.1f ms through hangar web (goal <= 15 ms, %s), "
      "%.1f ms --direct; hangar --version %.1f ms; psql SELECT 1 %.1f ms"
      % (med["flight report --json"], "met" if med["flight report --json"] <= 15 else "not met",
         med["flight report --json --direct"], med["hangar --version"], med["psql SELECT 1"]))
print("  a running flight's (judged now by the daemon) %.1f ms" % med["running flight's"])
if base:
    print("  base's flight report --json median %.1f ms" % med["base's flight report --json"])
PY
awk -v a="$med_1000" -v b="$med_20000" -v r="$run_20000" 'BEGIN {
	printf "ratio 20000/1000: %.2f (goal < 1.5); 20000: decided %.2f ms (goal <= 3 ms), running %.2f ms (goal <= 5 ms)\n", b / a, b, r }'
