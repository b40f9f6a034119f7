#!/bin/sh
# The controller's overhead per job: a one-host simulated lab, a scheduler
# and a worker; 20 jobs one after another, each 5 steps of `sleep 0.1` on
# the host (0.5 s of commands). Overhead = the job's wall time (claimed to
# finished) minus those 0.5 s: SSH session, step rows, logs, console
# capture, artifacts of nothing, the end of the job. Also the time from the
# scheduler giving the job its host to a worker claiming it. Medians.
# Goal: under 200 ms per job.
set -eu
NET=127.65.0
N=20
LAB_BENCH_DIR=$(dirname "$0")
. "$LAB_BENCH_DIR/lib-lab.sh"

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
[job "cases"]
	recipe = cases
	arch = x86_64
[recipe "cases"]
	step = run plain $dir/big.sh
	step = run cases=tap big $dir/big.sh
CONF
# 10,000 TAP cases, printed twice: read as cases, and as mere output
cat >"$dir/big.sh" <<'SH'
#!/bin/sh
seq 10000 | awk '{ print "ok " $1 " - case " $1 } END { print "1..10000" }'
SH
chmod 755 "$dir/big.sh"
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
	WHERE j.job = 'five' ORDER BY j.flight" >"$dir/jobs.txt"

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

# Test cases recorded as steps (issue 19): the step that reads 10,000
# TAP cases beside the same output read as a mere log. Medians of 5.
i=0
while [ $i -lt 5 ]; do
	h request --rev t=master --job cases --wait >/dev/null
	i=$((i + 1))
done
psql -X -q -At -F ' ' "host=$dir/state/pg dbname=hangar user=hangar" -c "
	SELECT extract(epoch FROM p.finished_at - p.started_at),
	       extract(epoch FROM c.finished_at - c.started_at),
	       (SELECT count(*) FROM steps x WHERE x.flight = c.flight
	        AND x.name LIKE 'big/%')
	FROM steps p JOIN steps c ON c.flight = p.flight AND c.job = p.job
	WHERE p.name = 'plain' AND c.name = 'big' ORDER BY p.flight" >"$dir/cases.txt"
python3 - "$dir/cases.txt" <<'PY'
import statistics, sys
rows = [[float(x) for x in l.split()] for l in open(sys.argv[1]) if l.strip()]
assert len(rows) == 5 and all(r[2] == 10000 for r in rows), rows
plain = statistics.median(r[0] for r in rows) * 1000
cases = statistics.median(r[1] for r in rows) * 1000
print("10,000 test cases in one step, medians of 5:")
print("  the step reading them as cases         %7.1f ms" % cases)
print("  the same output as a mere log          %7.1f ms" % plain)
print("  recording them: %.1f ms, %.0f cases/s  (goal: well under a second)"
      % (cases - plain, 10000 / max(cases - plain, 1) * 1000))
PY
