#!/bin/sh
# The controller's overhead per job: a one-host simulated lab, a scheduler
# and a worker; 20 jobs one after another, each 5 steps of `sleep 0.1` on
# the host (0.5 s of commands). Overhead = the job's wall time (claimed to
# finished) minus those 0.5 s: SSH session, step rows, logs, console
# capture, artifacts of nothing, the end of the job. Also the time from the
# scheduler giving the job its host to a worker claiming it. Medians.
# Goal: under 200 ms per job.
set -eu
HANGAR=${HANGAR:-$(pwd)/hangar}
LAB=$(cd "$(dirname "$0")/.." && pwd)/tests/lab/lab.sh
NET=127.65.0
N=20
export HANGAR_PG_FAST=1

if [ "$(id -u)" != 0 ] || ! command -v ipmi_sim >/dev/null 2>&1; then
	echo "skipped: the simulated lab needs root (sshd on port 22) and ipmi_sim"
	exit 0
fi
dir=$(mktemp -d /tmp/hangar-bench.XXXXXX)
chmod 755 "$dir"
h() { "$HANGAR" --config "$dir/lab.conf" "$@"; }
cleanup() {
	# the daemons first, and wait for them: one still running would start
	# the private cluster again after it is stopped
	for p in "$dir"/*.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
	for p in "$dir"/*.pid; do
		[ -f "$p" ] || continue
		i=0
		while kill -0 "$(cat "$p")" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$(cat "$p")" 2>/dev/null || true
	done
	"$LAB" stop "$dir/lab" >/dev/null 2>&1 || true
	h db stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$LAB" create "$dir/lab" --net $NET b1:x86_64 >/dev/null
"$LAB" start "$dir/lab" >/dev/null
mkdir "$dir/tree"
git -C "$dir/tree" init -q -b master
git -C "$dir/tree" -c user.name=b -c user.email=b@b commit -q --allow-empty -m empty
cat >"$dir/lab.conf" <<CONF
[lab]
	state = $dir/state
	identity = $dir/lab/id_ed25519
[include]
	path = $dir/lab/hosts.conf
[scheduler]
	interval = 1s
[worker]
	slots = 1
[tree "t"]
	url = $dir/tree
[job "five"]
	recipe = five
	arch = x86_64
[recipe "five"]
	step = run s1 sleep 0.1
	step = run s2 sleep 0.1
	step = run s3 sleep 0.1
	step = run s4 sleep 0.1
	step = run s5 sleep 0.1
CONF
h lab apply "$dir/lab.conf" >/dev/null
# started directly (not through h, a subshell), so that $! is hangar's pid
"$HANGAR" --config "$dir/lab.conf" scheduler >"$dir/sched.log" 2>&1 &
echo $! >"$dir/sched.pid"
"$HANGAR" --config "$dir/lab.conf" worker >"$dir/worker.log" 2>&1 &
echo $! >"$dir/worker.pid"

i=0
while [ $i -lt $N ]; do
	h request --rev t=master --job five --wait >/dev/null
	i=$((i + 1))
done

psql -X -q -At -F ' ' "host=$dir/state/pg dbname=hangar user=hangar" -c "
	SELECT extract(epoch FROM j.finished_at - j.started_at),
	       extract(epoch FROM j.started_at - a.allocated_at),
	       (SELECT sum(extract(epoch FROM s.finished_at - s.started_at))
	        FROM steps s WHERE s.flight = j.flight AND s.job = j.job),
	       j.status
	FROM jobs j JOIN allocations a ON a.flight = j.flight AND a.job = j.job
	ORDER BY j.flight" >"$dir/jobs.txt"

python3 - "$dir/jobs.txt" $N <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
assert len(rows) == n and all(r[3] == "pass" for r in rows), rows
wall = [float(r[0]) * 1000 for r in rows]
claim = [float(r[1]) * 1000 for r in rows]
steps = [float(r[2]) * 1000 for r in rows]
over = [w - 500 for w in wall]
between = [w - s for w, s in zip(wall, steps)]
print("%d jobs of 5 x sleep 0.1 (500 ms of commands), medians:" % n)
print("  job wall time (claimed to finished)   %7.1f ms" % statistics.median(wall))
print("  controller overhead per job           %7.1f ms  (goal: under 200)" % statistics.median(over))
print("    of which outside the steps          %7.1f ms" % statistics.median(between))
print("    per step, inside it                 %7.1f ms" % ((statistics.median(steps) - 500) / 5))
print("  host allocated -> worker claimed      %7.1f ms" % statistics.median(claim))
PY
