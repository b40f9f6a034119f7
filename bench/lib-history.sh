# bench/lib-history.sh: a gate history of xen-unstable in PostgreSQL, for
# the benchmarks that need one (b0300-report, b0400-web). Source it after
# setting dir (the bench's private directory, where lab.conf and gen.awk
# are written) and defining q (psql on the lab's database) and now/since
# (see b0300); then `h lab apply "$dir/lab.conf"` makes the cluster.
#
# The generator (awk into COPY) makes gate flights of one branch, 80 jobs
# (8 builds, 72 tests) of 15 steps, with a realistic mix: runs of 2 to 6
# flights testing one staging tip, the last pushed revision as their
# target, flaky steps, a Windows guest-stop that fails more often than
# not, two support checks that never pass, lab trouble (broken), failed
# builds and the tests they block, an occasional real regression of a
# revision. The history repeats with a period of 1,000 flights.
# `measured N` adds flights N+1 and N+2 of a new revision after a history
# of N, the latter with exactly 10 failures of every class (3 regressions,
# 2 like the baseline, 2 never pass, broken, a blocked job, a heisenbug
# that passed in flight N+1 of the same revision), whose baseline is the 5
# flights of the last pushed revision, 10 to 14 flights back.
#
# load FROM TO sets t_copy and t_passes (seconds since $t0, which the
# caller sets) and adds to nsteps.

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
# bottleneck, and each stream keeps a core busy), then step_passes (after
# an ANALYZE), then VACUUM ANALYZE
load() {
	export PGOPTIONS='-c session_replication_role=replica'
	mid=$((($1 + $2) / 2))
	gen "$1" $mid "$dir/h1" &
	pid=$!
	gen $((mid + 1)) "$2" "$dir/h2"
	wait $pid
	unset PGOPTIONS
	t_copy=$(since "$t0")
	# statistics first: planned before autovacuum has analyzed the new
	# rows, the join below can be a nested loop of steps x flights
	q -v from="$1" -v to="$2" <<'SQL'
ANALYZE flights, steps;
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

