#!/bin/sh
# hangar import osstest against a generated OSSTest database of 2,000
# flights of xen-unstable, 80 jobs each (8 builds, 72 tests on 20 hosts)
# of 15 steps: 2.4M steps and 656,000 runvars, a new xen revision every
# third flight, a test failing now and then (a flight in three with a
# failure). Generated in SQL inside the same private cluster (database
# osstest), then imported in two runs, the first 500 flights (--since
# makes the second take the rest) so that memory can be compared between
# runs of 500 and 1,500 flights (the first into an empty hangar, the
# second three times larger than what is there: both drop and build again
# the indexes of steps). Prints per run the import rate in steps per
# second, end to end (planning, reading, mapping, writing, building the
# indexes again; the replay of OSSTest's pushes for the baselines apart)
# and the maximum resident size of the hangar process; then, beside the
# rates, the anchor PostgreSQL sets, measured in the same run: a plain
# COPY of the same steps into a table without indexes (and into one like
# hangar's steps, with its 5 indexes); then the first report on an
# imported flight (a cold process) and the median of 21 more. Goals:
# 100,000 steps/s or more for both runs, memory the same for both. Takes
# about 3 minutes and 3 GB under /tmp.
# HANGAR_BASE=OTHER-HANGAR (say, the main branch's build) imports the same
# source into a second private cluster of its own, each run right after
# (or before: they take turns going first, so that neither always finds
# the source in the cache) this binary's, and prints the ratio of the two
# rates: a change's effect measured side by side, on a busy machine too.
# Twice the time and the space.
set -eu
HANGAR=${HANGAR:-$(pwd)/build/hangar}
HANGAR_BASE=${HANGAR_BASE:-}
export HANGAR_PG_FAST=1
N=2000
dir=$(mktemp -d /tmp/hangar-bench.XXXXXX)
chmod 755 "$dir"
trap '"$HANGAR" --config "$dir/lab.conf" db stop >/dev/null 2>&1 || true
	[ -z "$HANGAR_BASE" ] || "$HANGAR_BASE" --config "$dir/base.conf" db stop >/dev/null 2>&1 || true
	rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
h() { "$HANGAR" --config "$dir/lab.conf" "$@"; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 "host=$dir/state/pg dbname=$1 user=hangar" -c "$2"; }
OSS="host=$dir/state/pg dbname=osstest user=hangar"

printf '[lab]\n\tstate = %s\n' "$dir/state" >"$dir/lab.conf"
h lab apply "$dir/lab.conf" >/dev/null
if [ -n "$HANGAR_BASE" ]; then
	printf '[lab]\n\tstate = %s\n' "$dir/base" >"$dir/base.conf"
	"$HANGAR_BASE" --config "$dir/base.conf" lab apply "$dir/base.conf" >/dev/null
fi
q hangar "CREATE DATABASE osstest"
q osstest "
CREATE TABLE flights (flight serial PRIMARY KEY, started integer DEFAULT 0,
	blessing text DEFAULT 'unknown', branch text NOT NULL, intended text);
CREATE TABLE jobs (flight integer NOT NULL, job varchar NOT NULL, recipe text NOT NULL,
	status text NOT NULL, PRIMARY KEY (flight, job));
CREATE TABLE steps (flight integer NOT NULL, job varchar NOT NULL, stepno integer NOT NULL,
	step varchar NOT NULL, status varchar NOT NULL, testid text, started integer,
	finished integer, logfile text, PRIMARY KEY (flight, job, stepno));
CREATE TABLE runvars (flight integer NOT NULL, job varchar NOT NULL, name varchar NOT NULL,
	val varchar NOT NULL, synth boolean NOT NULL, PRIMARY KEY (flight, job, name));
CREATE TABLE resources (restype text, resname text, shareix integer DEFAULT 0,
	owntaskid integer, subtask text DEFAULT '', PRIMARY KEY (restype, resname, shareix));
CREATE TABLE resource_properties (restype text, resname text, name text, val text,
	PRIMARY KEY (restype, resname, name));
CREATE TABLE hostflags (hostname text, hostflag text);"
t0=$(date +%s)
q osstest "
INSERT INTO resources SELECT 'host', 'host' || i, 0, 1, '' FROM generate_series(0, 19) i;
INSERT INTO hostflags SELECT 'host' || i, 'arch-amd64' FROM generate_series(0, 19) i;
INSERT INTO resource_properties SELECT 'host', 'host' || i, 'PowerMethod', 'ipmi'
	FROM generate_series(0, 19) i;
INSERT INTO flights SELECT f, 1704067200 + f * 3600, 'real', 'xen-unstable', 'real'
	FROM generate_series(1, $N) f;
CREATE TEMP TABLE j AS SELECT f, n,
	CASE WHEN n <= 8 THEN 'build-amd64-' || n ELSE 'test-amd64-' || n END AS job,
	md5((f / 3)::text) || substr(md5((f / 3)::text), 1, 8) AS rev,
	n > 8 AND (f * 7 + n) % 211 = 0 AS bad
	FROM generate_series(1, $N) f, generate_series(1, 80) n;
INSERT INTO jobs SELECT f, job, CASE WHEN n <= 8 THEN 'build' ELSE 'test' END,
	CASE WHEN bad THEN 'fail' ELSE 'pass' END FROM j;
INSERT INTO steps SELECT f, job, s, 'ts-step-' || s,
	CASE WHEN bad AND s = 15 THEN 'fail' ELSE 'pass' END, 'step-' || s,
	1704067200 + f * 3600 + s * 60, 1704067200 + f * 3600 + s * 60 + 50,
	s || '.ts-step-' || s || '.log' FROM j, generate_series(1, 15) s;
INSERT INTO runvars SELECT f, job, 'arch', 'amd64', false FROM j;
INSERT INTO runvars SELECT f, job, 'host', 'host' || (n % 20), true FROM j;
INSERT INTO runvars SELECT f, job, 'revision_xen', rev, false FROM j;
INSERT INTO runvars SELECT f, job, 'tree_xen', 'git://xenbits.xen.org/xen.git', false
	FROM j WHERE n <= 8;
INSERT INTO runvars SELECT f, job, 'built_revision_xen', rev, true FROM j WHERE n <= 8;
INSERT INTO runvars SELECT f, job, 'buildjob', 'build-amd64-' || (n % 8 + 1), false
	FROM j WHERE n > 8;"
steps=$(q osstest "SELECT count(*) FROM steps")
echo "generated $N flights, $steps steps, $(q osstest "SELECT count(*) FROM runvars") runvars in $(($(date +%s) - t0)) s"

# one LABEL BINARY CONFIG: one import; prints its rate and peak memory
one() {
	label=$1 bin=$2 conf=$3
	/usr/bin/time -f "%M" -o "$dir/rss" "$bin" --config "$conf" import osstest \
		--dsn "$OSS" --json >"$dir/imp.json"
	python3 - "$dir/imp.json" "$(cat "$dir/rss")" "$label" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rate = d["steps"] / d["seconds"] if d["seconds"] else 0
print("%-22s %5d flights %8d steps in %6.1f s: %8.0f steps/s; baselines %5.1f s; max RSS %6.1f MB"
      % (sys.argv[3], d["flights"], d["steps"], d["seconds"], rate, d["judge_seconds"],
         int(sys.argv[2]) / 1024))
open(sys.argv[1] + ".rate", "w").write("%.0f %s\n" % (rate, sys.argv[2]))
PY
	cp "$dir/imp.json.rate" "$dir/$label.rate"
}
# run LABEL [base-first]: this binary's import, and the base's if any
run() {
	if [ -z "$HANGAR_BASE" ]; then
		one "$1" "$HANGAR" "$dir/lab.conf"
		return
	fi
	if [ "${2:-}" = base-first ]; then
		one "base-$1" "$HANGAR_BASE" "$dir/base.conf"
		one "$1" "$HANGAR" "$dir/lab.conf"
	else
		one "$1" "$HANGAR" "$dir/lab.conf"
		one "base-$1" "$HANGAR_BASE" "$dir/base.conf"
	fi
	read r m <"$dir/$1.rate"
	read rb mb <"$dir/base-$1.rate"
	awk -v r="$r" -v rb="$rb" -v l="$1" 'BEGIN {
		if (rb > 0) printf "%-22s this/base %.2f\n", l, r / rb }'
}
# the first 500: the source's flights from 1501 on are left for later
q osstest "UPDATE flights SET blessing = 'running' WHERE flight > 500"
run first-500
q osstest "UPDATE flights SET blessing = 'real' WHERE flight > 500"
run next-1500 base-first
run again-nothing-new

read r1 m1 <"$dir/first-500.rate"
read r2 m2 <"$dir/next-1500.rate"
awk -v m1="$m1" -v m2="$m2" 'BEGIN {
	printf "memory %.2f MB vs %.2f MB, ratio %.2f (flat: %s)\n",
		m1 / 1024, m2 / 1024, m2 / m1, (m2 / m1 < 1.2) ? "yes" : "no" }'
if [ -n "$HANGAR_BASE" ]; then
	"$HANGAR_BASE" --config "$dir/base.conf" db stop >/dev/null
fi

# PostgreSQL's own ceiling, side by side: the steps of 100 flights COPYed
# from a file into an empty table like hangar's steps (its 5 indexes),
# and into one without indexes
q osstest "\\copy (SELECT flight, job, stepno, step, testid, status, to_timestamp(started), to_timestamp(finished), logfile FROM steps WHERE flight <= 100) TO '$dir/steps.tsv'"
q hangar "CREATE TABLE bench_steps (LIKE steps INCLUDING ALL);
	CREATE TABLE bench_steps_bare (LIKE steps INCLUDING DEFAULTS)"
for t in bench_steps bench_steps_bare; do
	s=$(date +%s%N)
	q hangar "\\copy $t (flight, job, stepno, kind, name, status, started_at, finished_at, logfile) FROM '$dir/steps.tsv'"
	echo $(( ($(date +%s%N) - s) / 1000000 )) >"$dir/$t.ms"
done
awk -v a="$(cat "$dir/bench_steps.ms")" -v b="$(cat "$dir/bench_steps_bare.ms")" -v r1="$r1" -v r2="$r2" 'BEGIN {
	bare = 120000 / (b / 1000)
	printf "anchor: COPY of 120000 steps into a table without indexes: %.0f rows/s (like steps, with its indexes: %.0f)\n",
		bare, 120000 / (a / 1000)
	printf "import: %.0f and %.0f steps/s end to end, %.2f and %.2f of the bare COPY; goal 100,000 steps/s: %s\n",
		r1, r2, r1 / bare, r2 / bare, (r1 >= 100000 && r2 >= 100000) ? "met" : "not met" }'
q hangar "DROP TABLE bench_steps, bench_steps_bare"

F=$(q osstest "SELECT max(flight) FROM jobs WHERE status = 'fail'")
s=$(date +%s%N)
h flight report "$F" --json >/dev/null
e=$(date +%s%N)
echo "first report on imported flight $F (a new process): $(( (e - s) / 1000000 )) ms"
h flight report "$F" --bench 21
