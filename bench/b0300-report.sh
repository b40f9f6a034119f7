#!/bin/sh
# The gate's judgement of one flight against a long history: a generator
# (awk into COPY) of 1,000, then 5,000, then 20,000 gate flights of one
# branch, 80 jobs (8 builds, 72 tests) of 15 steps, with a realistic mix:
# runs of 2 to 6 flights testing one staging tip, the last pushed
# revision as their target, flaky steps, a Windows guest-stop that fails
# more often than not, two support checks that never pass, lab trouble
# (broken), failed builds and the tests they block, an occasional real
# regression of a revision. At each size a new flight (the newest, N+2) of
# a new revision with exactly 10 failures of every class (3 regressions,
# 2 like the baseline, 2 never pass, broken, a blocked job, a heisenbug
# that passed in flight N+1 of the same revision), judged against the
# same baseline: the 5 flights of the last pushed revision, 10 to 14
# flights back. The history repeats with a period of 1,000 flights, so
# those baseline flights are the same at every size and only the length
# of the history differs; the script checks the classes at each size.
# Prints the median time of the whole report (load, classification, JSON,
# mail) and the ratio of the 20,000 to the 1,000 figure. Goals: under
# 50 ms at 20,000 flights, a ratio under 1.5. Takes about 8 minutes and
# 16 GB under /tmp.
#
# The history is loaded with session_replication_role = replica: no row
# triggers (step_passes is filled afterwards in one statement, as
# migration 0006 does) and no foreign key checks (the rows are consistent
# by construction); every index is kept. The measured flights go in as the
# gate's would, with triggers and checks.
set -eu
HANGAR=${HANGAR:-$(pwd)/hangar}
export HANGAR_PG_FAST=1
RUNS=31
dir=$(mktemp -d /tmp/hangar-bench.XXXXXX)
chmod 755 "$dir"
trap '"$HANGAR" --config "$dir/lab.conf" db stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
h() { "$HANGAR" --config "$dir/lab.conf" "$@"; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 "host=$dir/state/pg dbname=hangar user=hangar" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }

cat >"$dir/lab.conf" <<CONF
[lab]
	state = $dir/state
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
[recipe "test"]
	step = host-power-cycle
	step = run guest-start true
	step = logs-capture /var/log/syslog
CONF
h lab apply "$dir/lab.conf" >/dev/null

# gen.awk: flights from..to of xen-unstable as COPY text. Steps go to
# stdout, flights, revisions, jobs and runvars to files in out, the number
# of steps to out/nsteps. special=1 makes one measured flight instead of
# history: everything passes but the never-pass steps and the failures in
# `fails` ("JOB:STEP:STATUS ..."), at a new revision, after a history of
# `hist` flights.
cat >"$dir/gen.awk" <<'AWK'
function h(a, b, c,   x) {   # a pseudo-random number in [0, P)
	x = ((a * 97 + b) * 31 + c + 1000) % P
	x = (x * x + 7) % P
	x = (x * 48271) % P
	x = (x * x + 13) % P
	return (x * 48271 + 1) % P
}
function hex40(r,   s, i) {
	s = ""
	for (i = 0; i < 8; i++)
		s = s sprintf("%05x", h(r, i, 9) % 1048576)
	return s
}
function ts(t,   z, era, doe, yoe, y, doy, mp, d, m, sod) {   # UTC
	sod = t % 86400
	z = int(t / 86400) + 719468
	era = int(z / 146097)
	doe = z - era * 146097
	yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
	y = yoe + era * 400
	doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
	mp = int((5 * doy + 2) / 153)
	d = doy - int((153 * mp + 2) / 5) + 1
	m = mp < 10 ? mp + 3 : mp - 9
	if (m <= 2)
		y++
	return sprintf("%04d-%02d-%02d %02d:%02d:%02d+00", y, m, d,
		       int(sod / 3600), int(sod % 3600 / 60), sod % 60)
}
# One job's steps: fatal status st at step fs (0: none), the never-pass
# support checks failing on their own, logs-capture always; sets JST.
function steps(f, j, fs, st,   s, n, status, name) {
	n = 0
	JST = "pass"
	for (s = 1; s <= 14; s++) {
		if (fs && s > fs)
			break
		name = BUILD[j] ? BS[s] : TS[s]
		status = s == fs ? st : ((J[j] SUBSEP s) in NEVER) ? "fail" : "pass"
		if (status == "broken")
			JST = "broken"
		else if (status == "fail" && JST == "pass")
			JST = "fail"
		print f, J[j], ++n, (BUILD[j] ? BK[s] : TK[s]), name, status
	}
	print f, J[j], ++n, "logs-capture", "logs-capture", "pass"
	NSTEPS += n
}
BEGIN {
	OFS = "\t"
	P = 94906249          # P * P < 2^53: exact in awk's doubles
	BASE = 1591675200     # flight 20002 starts at 2025-01-01, 2 hours apart
	nb = split("build-amd64 build-amd64-xsm build-amd64-prev build-i386 " \
		   "build-i386-xsm build-i386-prev build-arm64 build-armhf", B, " ")
	np = split("amd64-amd64 amd64-i386 arm64-arm64 armhf-armhf", PR, " ")
	nv = split("xl xl-credit1 xl-credit2 xl-rtds xl-multivcpu xl-shadow " \
		   "xl-xsm xl-pvshim xl-vhd xl-qcow2 xl-qemuu-debianhvm-amd64 " \
		   "xl-qemut-debianhvm-amd64 xl-qemuu-win7-amd64 " \
		   "xl-qemuu-ws16-amd64 libvirt libvirt-pair pair migrupgrade", V, " ")
	split("host-power-cycle host-install host-build-prep xen-checkout " \
	      "xen-configure xen-build-tools xen-build-hypervisor xen-build-docs " \
	      "xen-build-stubdom xen-install xen-dist xen-tarball build-check " \
	      "artifacts-store", BS, " ")
	split("host-power-cycle host-install run build build build build build " \
	      "build build build build run run", BK, " ")
	split("host-power-cycle host-install xen-install xen-boot debian-install " \
	      "debian-fixup guest-start migrate-support-check " \
	      "saverestore-support-check guest-localmigrate guest-saverestore " \
	      "guest-localmigrate/x10 guest-stop leak-check/check", TS, " ")
	split("host-power-cycle host-install install-build reboot run run run " \
	      "run run run run run run run", TK, " ")
	split("5 7 10 11 12 13", FLAKY, " ")
	nx = split("albana0 albana1 chardonnay0 chardonnay1 elbling0 elbling1 " \
		   "fiano0 fiano1 godello0 godello1 huxelrebe0 huxelrebe1 italia0 " \
		   "italia1 nobling0 nobling1 pinot0 pinot1 sabro0 sabro1", HX, " ")
	na = split("rochester0 rochester1 laxton0 laxton1 cubietruck-braque " \
		   "cubietruck-gleizes cubietruck-metzinger cubietruck-picasso", HA, " ")
	nj = 0
	for (i = 1; i <= nb; i++) {
		J[nj] = B[i]
		BUILD[nj] = 1
		ARM[nj] = B[i] ~ /arm/
		BIDX[B[i]] = nj++
	}
	for (p = 1; p <= np; p++)
		for (v = 1; v <= nv; v++) {
			J[nj] = "test-" PR[p] "-" V[v]
			ARM[nj] = PR[p] ~ /^arm/
			b = PR[p] == "amd64-amd64" ? "build-amd64" : \
			    PR[p] == "amd64-i386" ? "build-i386" : \
			    PR[p] == "arm64-arm64" ? "build-arm64" : "build-armhf"
			if (!ARM[nj] && V[v] ~ /xsm/)
				b = b "-xsm"
			if (!ARM[nj] && V[v] == "migrupgrade")
				b = b "-prev"
			DEP[nj] = BIDX[b]
			WIN[nj] = !ARM[nj] && V[v] ~ /win7|ws16/
			JIDX[J[nj]] = nj++
		}
	NEVER["test-arm64-arm64-xl" SUBSEP 8] = 1           # migrate-support-check
	NEVER["test-armhf-armhf-xl-credit2" SUBSEP 9] = 1   # saverestore-support-check
	nf = split(fails, FA, " ")
	for (i = 1; i <= nf; i++) {
		split(FA[i], w, ":")
		for (s = 1; s <= 14; s++)
			if ((w[1] ~ /^build/ ? BS[s] : TS[s]) == w[2])
				OV[w[1]] = s
		OVS[w[1]] = w[3]
	}

	for (f = from; f <= to; f++) {
		fm = f % 1000   # the period of the history
		blk = int((f - 1) / 20)
		p = (f - 1) % 20
		# each 20 flights: runs of 2, 3, 5, 4 and 6 flights of one
		# revision; the third run's revision is pushed and is the target
		# until the next block's third run
		k = p < 2 ? 0 : p < 5 ? 1 : p < 10 ? 2 : p < 14 ? 3 : 4
		r = blk * 5 + k
		tr = k > 2 ? blk * 5 + 2 : (blk - 1) * 5 + 2
		rev = hex40(r)
		target = tr < 0 ? "\\N" : hex40(tr)
		verdict = p == 9 ? "push" : "no-push"
		rj = h(r % 250, 0, 3) % 25 == 0 ? 8 + h(r % 250, 1, 4) % 72 : -1
		if (special) {
			rev = hex40(100000 + hist)
			target = hex40((hist / 20 - 1) * 5 + 2)
			verdict = "no-push"
			rj = -1
		}
		t0 = ts(BASE + f * 7200)
		t1 = ts(BASE + f * 7200 + 5400)
		print f, "xen-unstable", "gate", "finished", verdict,
		      (verdict == "push" ? "t" : "f"), target, t0, t0, t0, t1 >(out "/flights")
		print f, "xen", rev >(out "/revisions")
		for (j = 0; j < nj; j++) {
			fs = 0
			st = "fail"
			u = h(fm, j, 1) / P
			if (BUILD[j]) {
				if (special) {
					if (J[j] in OV) {
						fs = OV[J[j]]
						st = OVS[J[j]]
					}
				} else if (u < 0.008) {
					fs = 7   # xen-build-hypervisor
				} else if (u < 0.012) {
					fs = 2   # host-install: lab trouble
					st = "broken"
				}
				BF[j] = fs > 0
			} else if (BF[DEP[j]]) {
				print f, J[j], "test", (ARM[j] ? "arm64" : "x86_64"),
				      "blocked", "\\N", "\\N" >(out "/jobs")
				print f, J[j], "buildjob", J[DEP[j]] >(out "/runvars")
				continue
			} else if (special) {
				if (J[j] in OV) {
					fs = OV[J[j]]
					st = OVS[J[j]]
				}
			} else if (u < 0.004) {
				fs = 2
				st = "broken"
			} else {
				if (h(fm, j, 6) / P < 0.04)
					fs = FLAKY[1 + h(fm, j, 8) % 6]
				if (j == rj && (!fs || fs > 7))
					fs = 7   # this revision's regression: guest-start
				if (WIN[j] && !fs && h(fm, j, 5) / P < 0.6)
					fs = 13  # guest-stop
			}
			steps(f, j, fs, st)
			print f, J[j], (BUILD[j] ? "build" : "test"),
			      (ARM[j] ? "arm64" : "x86_64"), JST, t0, t1 >(out "/jobs")
			x = h(fm, j, 7)
			print f, J[j], "host", (ARM[j] ? HA[1 + x % na] : HX[1 + x % nx]) >(out "/runvars")
			if (!BUILD[j])
				print f, J[j], "buildjob", J[DEP[j]] >(out "/runvars")
		}
	}
	print NSTEPS >(out "/nsteps")
}
AWK

FCOLS="id, branch, intent, status, verdict, pushed, target_revision, queued_at, created_at, started_at, finished_at"
JCOLS="flight, job, recipe, arch, status, started_at, finished_at"
SCOLS="flight, job, stepno, kind, name, status"

# COPY of the side files in out, after the steps
copy_rest() {
	q <<SQL
\\copy flights ($FCOLS) FROM '$1/flights'
\\copy flight_revisions (flight, tree, revision) FROM '$1/revisions'
\\copy jobs ($JCOLS) FROM '$1/jobs'
\\copy runvars (flight, job, name, val) FROM '$1/runvars'
SQL
}

# gen FROM TO DIR: COPY history flights FROM..TO, the steps as they come
gen() {
	mkdir -p "$3"
	rm -f "$3"/*
	awk -v from="$1" -v to="$2" -v out="$3" -f "$dir/gen.awk" |
		q -c "COPY steps ($SCOLS) FROM STDIN"
	copy_rest "$3"
}

# load FROM TO: history flights FROM..TO in two streams (the COPY is the
# bottleneck, and each stream keeps a core busy), then step_passes, then
# VACUUM ANALYZE
load() {
	export PGOPTIONS='-c session_replication_role=replica'
	mid=$((($1 + $2) / 2))
	gen "$1" $mid "$dir/h1" &
	pid=$!
	gen $((mid + 1)) "$2" "$dir/h2"
	wait $pid
	unset PGOPTIONS
	t_copy=$(since "$t0")
	q -v from="$1" -v to="$2" <<'SQL'
INSERT INTO step_passes AS p (branch, job, step, first_flight, last_flight)
SELECT f.branch, s.job, s.name, min(s.flight), max(s.flight)
FROM steps s JOIN flights f ON f.id = s.flight
WHERE s.status = 'pass' AND f.branch IS NOT NULL
AND f.intent IN ('gate', 'bisect') AND s.flight BETWEEN :from AND :to
GROUP BY f.branch, s.job, s.name
ON CONFLICT (branch, job, step) DO UPDATE
SET first_flight = least(p.first_flight, EXCLUDED.first_flight),
    last_flight = greatest(p.last_flight, EXCLUDED.last_flight);
SQL
	t_passes=$(since "$t0")
	q -c 'VACUUM ANALYZE'   # as autovacuum soon does after a bulk load
	nsteps=$((nsteps + $(cat "$dir/h1/nsteps") + $(cat "$dir/h2/nsteps")))
}

# measured N: flights N+1 and N+2 of a new revision after a history of N;
# the failures of each besides the never-pass steps and the blocked job
M_FAILS="build-i386-prev:xen-build-hypervisor:fail
test-amd64-amd64-xl:guest-start:fail
test-armhf-armhf-xl:guest-localmigrate:fail
test-amd64-amd64-xl-qemuu-ws16-amd64:guest-stop:fail
test-amd64-i386-xl-qemuu-win7-amd64:guest-stop:fail
test-amd64-amd64-pair:host-install:broken
test-amd64-amd64-libvirt:guest-saverestore:fail"
S_FAILS="build-i386-prev:xen-build-hypervisor:fail
test-amd64-amd64-xl:guest-start:fail
test-armhf-armhf-xl:guest-localmigrate:fail
test-amd64-amd64-xl-qemuu-ws16-amd64:guest-stop:fail
test-amd64-amd64-pair:host-install:broken"
measured_one() {   # measured_one ID HIST FAILS
	mkdir -p "$dir/m$1"
	awk -v from="$1" -v to="$1" -v special=1 -v hist="$2" -v fails="$3" \
		-v out="$dir/m$1" -f "$dir/gen.awk" >"$dir/m$1/steps"
	q -1 -f - <<SQL
\\copy flights ($FCOLS) FROM '$dir/m$1/flights'
\\copy flight_revisions (flight, tree, revision) FROM '$dir/m$1/revisions'
\\copy jobs ($JCOLS) FROM '$dir/m$1/jobs'
\\copy runvars (flight, job, name, val) FROM '$dir/m$1/runvars'
\\copy steps ($SCOLS) FROM '$dir/m$1/steps'
SQL
}
measured() {
	measured_one $(($1 + 1)) "$1" "$S_FAILS"
	measured_one $(($1 + 2)) "$1" "$M_FAILS"
}

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
		q -c "DELETE FROM flights WHERE id IN ($((total + 1)), $((total + 2)))"
	fi
	t0=$(now)
	load $((total + 1)) $n
	t_load=$(since "$t0")
	measured $n
	out=$(h flight report $((n + 2)) --bench $RUNS)
	med=$(echo "$out" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
	fast=$(echo "$out" | sed -n 's/.*fastest \([0-9.]*\) ms.*/\1/p')
	eval "med_$n=$med"
	printf "history %5d flights (%sM steps): load %s s (COPY %s s, step_passes %s s, vacuum analyze %s s); report median %s ms (fastest %s)\n" \
		$n "$(awk -v s=$nsteps 'BEGIN { printf "%.1f", s / 1e6 }')" \
		"$t_load" "$t_copy" $((t_passes - t_copy)) $((t_load - t_passes)) "$med" "$fast"
	check $n
	total=$n
done
awk -v a="$med_1000" -v b="$med_20000" 'BEGIN {
	printf "ratio 20000/1000: %.2f (goal < 1.5); 20000: %.1f ms (goal < 50 ms)\n", b / a, b }'
