#!/bin/sh
# The scheduler's planning pass over a generated lab: 1,000 hosts (three
# archs, flags, equiv classes, shared build hosts, 5% in maintenance, 60%
# busy with running jobs), 14 days of history for duration estimates, and
# queues of 1,000, 10,000 and 50,000 waiting jobs (flights of 10 builds and
# 90 tests that need them). For each it prints, measured side by side in
# rounds of the three: the median full pass (one that reads everything),
# the median pass after one running job ended (it reads only what
# changed), the median bare read of hosts and queue (the floor) and the
# full pass's ratio to it; the plan's share of each pass, and the read
# (reclaim, runs, changes) of the pass after a job ended; and the first
# pass, which allocates the free hosts; and how the last pass after a job
# ended made its plan (requests kept from the last plan, compared with
# the changed hosts only, searched), and the same for a pass a second
# later, whose clock moved (it plans whole). Then whether the goals are met.
# HANGAR_BASE=OTHER-HANGAR (say, a build of the last release) measures that
# binary's pass too, alternating with this one's on the same database, and
# prints the ratio of the two medians: a change's cost, measured side by
# side.
set -eu
HANGAR=${HANGAR:-$(pwd)/hangar}
HANGAR_BASE=${HANGAR_BASE:-}
export HANGAR_PG_FAST=1
dir=$(mktemp -d /tmp/hangar-bench.XXXXXX)
chmod 755 "$dir"
trap '"$HANGAR" --config "$dir/lab.conf" db stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
printf '[lab]\n\tstate = %s/state\n' "$dir" >"$dir/lab.conf"
"$HANGAR" --config "$dir/lab.conf" db migrate >/dev/null
q() { psql -X -q -At -v ON_ERROR_STOP=1 "host=$dir/state/pg dbname=hangar user=hangar" "$@"; }

q <<'SQL'
INSERT INTO recipes (name) VALUES ('build'), ('test');
INSERT INTO recipe_steps (recipe, idx, kind, name, command)
VALUES ('build', 0, 'build', 'build', 'make'), ('test', 0, 'run', 'smoke', 'true');
INSERT INTO hosts (name, arch, address, workdir, state)
SELECT format('h%s', lpad(i::text, 4, '0')),
	(ARRAY['x86_64', 'x86_64', 'x86_64', 'x86_64', 'x86_64', 'arm64', 'arm64',
	       'arm64', 'riscv64', 'riscv64'])[i % 10 + 1],
	format('10.0.%s.%s', i / 250, i % 250 + 1), '/w',
	CASE WHEN i % 20 = 7 THEN 'maintenance' ELSE 'free' END
FROM generate_series(1, 1000) i;
INSERT INTO host_flags (host, flag)
SELECT name, f FROM (SELECT name, row_number() OVER (ORDER BY name) i FROM hosts) h,
LATERAL unnest(ARRAY[
	CASE WHEN i % 5 < 3 THEN 'hvm' END,
	CASE WHEN i % 3 = 0 THEN 'iommu' END,
	'equiv-c' || (i % 7),
	CASE WHEN i % 40 = 1 THEN 'share-build' END]) f
WHERE f IS NOT NULL;
-- history: 14 days of finished runs of 200 job names
INSERT INTO flights (id, intent, status, created_at, queued_at, started_at, finished_at)
SELECT i, 'gate', 'finished', now() - make_interval(hours => 300 - i),
	now() - make_interval(hours => 300 - i), now() - make_interval(hours => 300 - i),
	now() - make_interval(hours => 299 - i)
FROM generate_series(1, 290) i;
INSERT INTO jobs (flight, job, recipe, arch, status, started_at, finished_at)
SELECT f, format('%s-%s', CASE WHEN k % 10 = 0 THEN 'build' ELSE 'test' END, k),
	CASE WHEN k % 10 = 0 THEN 'build' ELSE 'test' END,
	(ARRAY['x86_64', 'arm64', 'riscv64'])[k % 3 + 1],
	CASE WHEN (f + k) % 9 = 0 THEN 'fail' ELSE 'pass' END,
	fl.started_at, fl.started_at + make_interval(secs => 600 + (f * k) % 3000)
FROM flights fl, generate_series(1, 290) f, generate_series(0, 199) k
WHERE fl.id = f AND (f + k) % 4 = 0;
INSERT INTO allocations (host, flight, job, ident, allocated_at, released_at)
SELECT (SELECT name FROM hosts WHERE arch = j.arch ORDER BY name
	OFFSET (j.flight * 7 + length(j.job)) % 200 LIMIT 1),
	j.flight, j.job, 'host', j.started_at, j.finished_at
FROM jobs j;
SELECT setval('flights_id_seq', 1000) \gset
-- a running flight holds 60% of the usable hosts
INSERT INTO flights (id, intent, status, started_at) VALUES (1000, 'gate', 'running', now() - interval '20 minutes');
INSERT INTO jobs (flight, job, recipe, arch, status, started_at, lease_owner, lease_until)
SELECT 1000, 'run-' || name, 'test', arch, 'running', now() - interval '20 minutes', 'bench', now() + interval '1 day'
FROM (SELECT name, arch, row_number() OVER (ORDER BY name) i FROM hosts WHERE state = 'free') h
WHERE i % 5 < 3;
INSERT INTO allocations (host, flight, job, ident, allocated_at, planned_end)
SELECT substr(job, 5), 1000, job, 'host', now() - interval '20 minutes',
	now() + make_interval(mins => (length(job) * 13) % 90)
FROM jobs WHERE flight = 1000;
SQL

queue() {   # queue N more waiting jobs, in flights of 100
	q -v n="$1" <<'SQL'
WITH f AS (
	INSERT INTO flights (intent, status, queued_at)
	SELECT (ARRAY['gate', 'adhoc', 'bisect'])[i % 3 + 1], 'queued',
		now() - make_interval(secs => i)
	FROM generate_series(1, :n / 100) i RETURNING id),
j AS (
	INSERT INTO jobs (flight, job, recipe, arch, flags, nhosts)
	SELECT f.id, format('%s-%s', CASE WHEN k % 10 = 0 THEN 'build' ELSE 'test' END, k),
		CASE WHEN k % 10 = 0 THEN 'build' ELSE 'test' END,
		(ARRAY['x86_64', 'arm64', 'riscv64'])[k % 3 + 1],
		CASE WHEN k % 10 = 0 AND k % 3 = 0 AND k % 20 = 0 THEN '{share-build}'
		     WHEN k % 7 = 1 THEN '{hvm}' WHEN k % 11 = 2 THEN '{hvm,iommu}'
		     WHEN k % 50 = 5 THEN '{equiv-pair}' ELSE '{}' END::text[],
		CASE WHEN k % 50 = 5 THEN 2 ELSE 1 END
	FROM f, generate_series(0, 99) k RETURNING flight, job)
INSERT INTO job_deps (flight, job, dep_flight, dep_job)
SELECT flight, job, flight, format('build-%s', (substr(job, 6)::int / 30) * 30)
FROM j WHERE job LIKE 'test-%' AND substr(job, 6)::int % 10 <> 0
	AND substr(job, 6)::int / 30 * 30 <> substr(job, 6)::int;
SQL
}

printf "%-8s %12s %12s %12s %8s %12s %12s %12s %14s\n" jobs full_pass_ms after_end_ms floor_ms ratio full_plan_ms end_plan_ms end_read_ms first_pass_ms
total=0
for n in 1000 10000 50000; do
	queue $((n - total))
	total=$n
	q -c ANALYZE   # as autovacuum soon does after a bulk load
	"$HANGAR" --config "$dir/lab.conf" scheduler --bench 7 >"$dir/out.json" 2>"$dir/log"
	cp "$dir/out.json" "$dir/out-$n.json"
	python3 - "$dir/out.json" "$n" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("%-8s %12.1f %12.1f %12.1f %8.2f %12.1f %12.1f %12.1f %14.1f" % (sys.argv[2], r["pass_ms"],
      r["inc_pass_ms"], r["floor_ms"], r["ratio"], r["plan_ms"], r["inc_plan_ms"],
      r["inc_read_ms"], r["first_pass_ms"]))
for what, key in (("after a job ended", "inc_planned"), ("a second later", "later_planned")):
    a = r[key]
    print("#        %s, planned %s: %d kept, %d compared, %d searched, %d hosts changed"
          % (what, "whole" if a["whole"] else "again", a["kept"], a["compared"],
             a["searched"], a["changed_hosts"]))
print("#        a pass after a job ended a second after the last pass (a new clock): %.1f ms"
      % r["later_pass_ms"])
PY
	if [ -n "$HANGAR_BASE" ]; then
		for who in base this base this; do
			bin=$HANGAR
			[ $who = this ] || bin=$HANGAR_BASE
			"$bin" --config "$dir/lab.conf" scheduler --bench 7 >"$dir/$who.json" 2>>"$dir/log"
			python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pass_ms"])' \
				"$dir/$who.json" >>"$dir/$who.ms"
		done
		python3 - "$dir/this.ms" "$dir/base.ms" "$n" <<'PY'
import sys
this = min(float(x) for x in open(sys.argv[1]))
base = min(float(x) for x in open(sys.argv[2]))
print("%-8s this %.1f ms, base %.1f ms: this/base %.2f" % (sys.argv[3], this, base, this / base))
PY
		rm -f "$dir/this.ms" "$dir/base.ms"
	fi
done
python3 - "$dir/out-10000.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
def goal(what, ok):
    print("goal (10000 jobs): %-44s %s" % (what, "met" if ok else "NOT met"))
goal("a pass after one job ends <= 5 ms: %.1f" % r["inc_pass_ms"], r["inc_pass_ms"] <= 5)
goal("a full pass <= 50 ms: %.1f" % r["pass_ms"], r["pass_ms"] <= 50)
goal("a full pass <= 2x the floor: %.2fx" % r["ratio"], r["ratio"] <= 2)
PY
