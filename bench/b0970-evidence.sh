#!/bin/sh
# The evidence record of a 100-job flight (issue 24): building, signing and
# storing it (`hangar evidence record F`: the database read, the
# requirements file, the SHA-256 of every log, ssh-keygen -Y sign, the
# insert), then verifying an exported copy (`hangar evidence verify`:
# ssh-keygen -Y find-principals and -Y verify, every log and artifact
# hashed again). The flights are made in SQL as a gate would leave them:
# 100 jobs (10 builds with an artifact each, 90 tests) of 12 steps, on
# 4 hosts, each step with a 16 KiB log and each job a 64 KiB console
# log (20 MB of logs a flight), and a requirements file of 100
# requirements whose 110 test lines match steps and cases. RUNS flights
# of the same shape, one record each (a record is made once per flight).
# Anchors, measured in the same run: `sha256sum` of the same flight's
# logs (the hashing alone) and `ssh-keygen -Y sign` of the record alone.
# Prints medians.
set -eu
HANGAR=${HANGAR:-$(pwd)/hangar}
export HANGAR_PG_FAST=1
RUNS=${RUNS:-7}
dir=$(mktemp -d /tmp/hangar-bench.XXXXXX)
chmod 755 "$dir"
trap '"$HANGAR" --config "$dir/lab.conf" db stop >/dev/null 2>&1 || true; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
h() { "$HANGAR" --config "$dir/lab.conf" "$@"; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 "host=$dir/state/pg dbname=hangar user=hangar" "$@"; }
now() { date +%s%N; }
ms() { echo $((($(now) - $1) / 1000000)); }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

ssh-keygen -q -t ed25519 -N '' -C evidence@bench -f "$dir/ev_key" </dev/null
cat >"$dir/lab.conf" <<CONF
[lab]
	state = $dir/state
[host "h1"]
	arch = x86_64
	address = 127.0.0.1
	port = 2201
[host "h2"]
	arch = x86_64
	address = 127.0.0.1
	port = 2202
[host "h3"]
	arch = x86_64
	address = 127.0.0.1
	port = 2203
[host "h4"]
	arch = x86_64
	address = 127.0.0.1
	port = 2204
[tree "xen"]
	url = /nonexistent.git
[branch "xen-unstable"]
	tree = xen
	jobs = build-amd64
[job "build-amd64"]
	recipe = build
	arch = x86_64
[recipe "build"]
	step = build make dist
[requirements]
	file = REQUIREMENTS
[evidence]
	key = ev_key
	signer = evidence@bench
CONF
# 100 requirements: one per test job's guest-start, and ten over cases
{
	i=1
	while [ $i -le 90 ]; do
		echo "requirement REQ-$i test job $i starts its guest"
		echo "test test-$i guest-start REQ-$i"
		i=$((i + 1))
	done
	i=1
	while [ $i -le 10 ]; do
		echo "requirement CASE-$i case c$i of every suite"
		echo "test test-* suite/c$i CASE-$i"
		echo "test build-* build CASE-$i"
		i=$((i + 1))
	done
} >"$dir/REQUIREMENTS"
h lab apply "$dir/lab.conf" >/dev/null

# flight N: 100 jobs of 12 steps (test jobs: 8 steps and 4 cases of a
# suite), one host each, an artifact per build, every log on disk
make_flight() {
	q >/dev/null <<SQL
INSERT INTO flights (id, branch, intent, status, verdict, pushed, decided_at,
	started_at, finished_at)
VALUES ($1, 'xen-unstable', 'gate', 'finished', 'push', true, now(), now(), now());
INSERT INTO flight_revisions VALUES ($1, 'xen', md5('xen$1') || 'abcdefgh');
INSERT INTO jobs (flight, job, recipe, arch, status, started_at, finished_at, harness)
SELECT $1, CASE WHEN j <= 10 THEN 'build-' || j ELSE 'test-' || (j - 10) END,
	CASE WHEN j <= 10 THEN 'build' ELSE 'test' END, 'x86_64', 'pass',
	now(), now(), 'bench'
FROM generate_series(1, 100) j;
INSERT INTO runvars (flight, job, name, val)
SELECT $1, job, n, n || '-value' FROM jobs, unnest(ARRAY['arch', 'host', 'flight',
	'revision_xen', 'kernel', 'dom0_mem', 'guest', 'toolstack']) n
WHERE flight = $1;
INSERT INTO allocations (host, flight, job, ident, released_at)
SELECT 'h' || (1 + abs(hashtext(job)) % 4), $1, job, 'host', now()
FROM jobs WHERE flight = $1;
INSERT INTO steps (flight, job, stepno, kind, name, status, started_at,
	finished_at, logfile)
SELECT $1, job, s, 'run',
	CASE WHEN job LIKE 'build-%' THEN
		(ARRAY['host-power-cycle', 'host-install', 'build', 'check-1',
		'check-2', 'check-3', 'check-4', 'check-5', 'check-6',
		'check-7', 'check-8', 'logs-capture'])[s]
	ELSE (ARRAY['host-power-cycle', 'host-install', 'guest-start',
		'suite', 'suite/c1', 'suite/c2', 'suite/c3', 'suite/c4',
		'guest-stop', 'reboot', 'guest-start.2', 'logs-capture'])[s] END,
	'pass', now(), now(), $1 || '/' || job || '/' || s || '.step.log'
FROM jobs, generate_series(1, 12) s WHERE flight = $1;
INSERT INTO artifacts (flight, job, path, sha256, size)
SELECT $1, job, 'dist/xen.tar.gz', '$ART_SHA', $ART_SIZE
FROM jobs WHERE flight = $1 AND job LIKE 'build-%';
SQL
	# the logs: a copy of the first flight's (same sizes, own files)
	if [ "$1" = 1001 ]; then
		mkdir -p "$dir/state/logs/1001"
		j=1
		while [ $j -le 100 ]; do
			if [ $j -le 10 ]; then n=build-$j; else n=test-$((j - 10)); fi
			mkdir -p "$dir/state/logs/1001/$n"
			head -c 65536 /dev/urandom >"$dir/state/logs/1001/$n/console-h1.log"
			s=1
			while [ $s -le 12 ]; do
				head -c 16384 /dev/urandom >"$dir/state/logs/1001/$n/$s.step.log"
				s=$((s + 1))
			done
			j=$((j + 1))
		done
	else
		cp -r "$dir/state/logs/1001" "$dir/state/logs/$1"
	fi
}

# one artifact in the store, named by the builds
head -c 1048576 /dev/urandom >"$dir/art"
ART_SHA=$(sha256sum "$dir/art" | cut -d' ' -f1)
ART_SIZE=$(stat -c %s "$dir/art")
mkdir -p "$dir/state/artifacts/sha256/$(echo "$ART_SHA" | cut -c1-2)"
cp "$dir/art" "$dir/state/artifacts/sha256/$(echo "$ART_SHA" | cut -c1-2)/$ART_SHA"

i=0
while [ $i -lt "$RUNS" ]; do
	make_flight $((1001 + i))
	i=$((i + 1))
done
q -c "SELECT setval('flights_id_seq', 2000)" >/dev/null

: >"$dir/record.ms"; : >"$dir/verify.ms"; : >"$dir/sha.ms"; : >"$dir/sign.ms"
i=0
while [ $i -lt "$RUNS" ]; do
	f=$((1001 + i))
	# alternating with the anchors, so that noise hits them alike
	t=$(now); find "$dir/state/logs/$f" -type f -exec sha256sum {} + >/dev/null
	ms "$t" >>"$dir/sha.ms"
	t=$(now); h evidence record $f >"$dir/record.out"; ms "$t" >>"$dir/record.ms"
	grep -q "signed by evidence@bench" "$dir/record.out"
	h evidence show --flight $f --out "$dir/ev.json" >/dev/null
	t=$(now); ssh-keygen -q -Y sign -f "$dir/ev_key" -n hangar-evidence "$dir/ev.json" </dev/null >/dev/null 2>&1
	ms "$t" >>"$dir/sign.ms"
	t=$(now); h evidence verify "$dir/ev.json" >"$dir/verify.out"; ms "$t" >>"$dir/verify.ms"
	grep -q "files: 1310 checked, 0 bad" "$dir/verify.out"
	i=$((i + 1))
done
python3 - "$dir/ev.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
st = [r["status"] for r in d["requirements"]]
assert len(d["jobs"]) == 100 and len(st) == 100 and st.count("verified") == 100, st
print("  record: %d bytes, %d jobs, %d steps, %d logs, %d requirements (all verified)"
      % (len(open(sys.argv[1]).read()), len(d["jobs"]),
         sum(len(j["steps"]) for j in d["jobs"]),
         sum(len(j["logs"]) for j in d["jobs"]), len(d["requirements"])))
PY
echo "  logs of a flight: $(du -sm "$dir/state/logs/1001" | cut -f1) MB in $(find "$dir/state/logs/1001" -type f | wc -l) files; $RUNS runs, medians:"
echo "  hangar evidence record F (build, sign, store): $(median <"$dir/record.ms") ms"
echo "  hangar evidence verify FILE (signature, 1,300 logs, artifacts): $(median <"$dir/verify.ms") ms"
echo "  anchor: sha256sum of the flight's logs: $(median <"$dir/sha.ms") ms"
echo "  anchor: ssh-keygen -Y sign of the record alone: $(median <"$dir/sign.ms") ms"
