#!/bin/bash
# hangar import osstest: a database with OSSTest's tables (written here
# from the reference's §2.1) and a small history of branch xen-unstable
# exercising every blessing, job and step status, both *buildjob forms, a
# build reused from an earlier flight, unfinished flights and hosts with
# flags, imported into hangar; counts, the mapping, a second import that
# is a no-op, a late change read again, the report classes of chosen
# flights against reference §4.2, and the gate on the imported branch.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"
test_skip_unless git

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
OSS="host=$STATE/pg dbname=osstest user=hangar"
osq() { psql -X -q -At -v ON_ERROR_STOP=1 "$OSS" -c "$1"; }
h() { "$HANGAR" --config lab.conf "$@"; }
flight_of() { sed -n "s/^flight //p" "$1" | head -n 1; }
test_when_finished 'kill_pid $(cat "$TEST_DIR"/web.pid 2>/dev/null); kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

# xen: commits A..E (A on master at first)
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
git init -q -b master xen
for c in A B C D E; do
	GIT_AUTHOR_DATE="@$((1700000000 + $(printf %d "'$c") * 60)) +0000" \
	GIT_COMMITTER_DATE="@$((1700000000 + $(printf %d "'$c") * 60)) +0000" \
		git -C xen -c user.name=Dev -c user.email=dev@example.org \
		commit -q --allow-empty -m "xen $c"
	git -C xen rev-parse HEAD >rev.$c
done
git clone -q --bare xen xen.git
git --git-dir xen.git update-ref refs/heads/master "$(cat rev.A)"
git --git-dir xen.git update-ref refs/heads/staging "$(cat rev.A)"
A=$(cat rev.A) B=$(cat rev.B) C=$(cat rev.C) D=$(cat rev.D) E=$(cat rev.E)
F=$(printf 'f%.0s' $(seq 40))   # tested, never fetched

cat >lab.conf <<CONF
[lab]
	state = $STATE
[gate]
	retest = false
	bisect = false
[tree "xen"]
	url = $TEST_DIR/xen.git
[branch "xen-unstable"]
	tree = xen
	jobs = build-amd64 test-amd64-amd64-xl test-arm64-arm64-xl
[recipe "build"]
	step = build make
[recipe "test-debian"]
	step = run guest-start true
[job "build-amd64"]
	recipe = build
	arch = x86_64
[job "test-amd64-amd64-xl"]
	recipe = test-debian
	arch = x86_64
	needs = build-amd64
[job "test-arm64-arm64-xl"]
	recipe = test-debian
	arch = arm64
	needs = build-amd64
[host "godello0"]
	arch = x86_64
	address = 127.0.9.1
CONF

# OSSTest's tables, from the reference's §2.1 (2021 schema: steps.logfile)
SCHEMA="
CREATE TABLE flights (flight serial PRIMARY KEY, started integer DEFAULT 0,
	blessing text DEFAULT 'unknown', branch text NOT NULL, intended text);
CREATE TABLE flights_harness_touched (flight integer NOT NULL REFERENCES flights,
	harness text NOT NULL, PRIMARY KEY (flight, harness));
CREATE TABLE jobs (flight integer NOT NULL REFERENCES flights, job varchar NOT NULL,
	recipe text NOT NULL, status text DEFAULT 'stopped' NOT NULL,
	PRIMARY KEY (flight, job));
CREATE TABLE steps (flight integer NOT NULL, job varchar NOT NULL,
	stepno integer NOT NULL, step varchar NOT NULL, status varchar NOT NULL,
	testid text, started integer, finished integer, logfile text,
	PRIMARY KEY (flight, job, stepno), UNIQUE (flight, job, testid),
	FOREIGN KEY (flight, job) REFERENCES jobs);
CREATE TABLE runvars (flight integer NOT NULL, job varchar NOT NULL,
	name varchar NOT NULL, val varchar NOT NULL, synth boolean NOT NULL,
	PRIMARY KEY (flight, job, name), FOREIGN KEY (flight, job) REFERENCES jobs);
CREATE TABLE tasks (taskid serial PRIMARY KEY, type text NOT NULL, refkey text,
	username text, comment text, live boolean NOT NULL DEFAULT true, refinfo text);
CREATE TABLE resources (restype text NOT NULL, resname text NOT NULL,
	shareix integer NOT NULL DEFAULT 0, owntaskid integer NOT NULL REFERENCES tasks,
	subtask text DEFAULT '', PRIMARY KEY (restype, resname, shareix),
	CHECK (shareix = 0 OR restype LIKE 'share-%'));
CREATE TABLE resource_sharing (restype text, resname text, sharetype text,
	wear integer DEFAULT 0, state text, harness varchar,
	PRIMARY KEY (restype, resname));
CREATE TABLE resource_properties (restype text NOT NULL, resname text NOT NULL,
	name text NOT NULL, val text NOT NULL, PRIMARY KEY (restype, resname, name));
CREATE TABLE hostflags (hostname text NOT NULL, hostflag text NOT NULL);
"

T0=1704067200
# flight N BLESSING [BRANCH]
flight() { osq "INSERT INTO flights VALUES ($1, $T0 + $1 * 3600, '$2', '${3:-xen-unstable}', '$2')"; }
# job F JOB RECIPE STATUS
job() { osq "INSERT INTO jobs VALUES ($1, '$2', '$3', '$4')"; }
# rv F JOB NAME VAL [synth]
rv() { osq "INSERT INTO runvars VALUES ($1, '$2', '$3', '$4', ${5:-false})"; }
# step F JOB NO SCRIPT STATUS TESTID
step() {
	local t=${6:+"'$6'"}
	osq "INSERT INTO steps VALUES ($1, '$2', $3, '$4', '$5', ${t:-NULL},
		$T0 + $1 * 3600 + $3 * 60, $T0 + $1 * 3600 + $3 * 60 + 30, '$3.$4.log')"
}
# build F REV: build-amd64 built REV on godello0
build() {
	job $1 build-amd64 build pass
	rv $1 build-amd64 arch amd64
	rv $1 build-amd64 tree_xen git://xenbits.xen.org/xen.git
	rv $1 build-amd64 revision_xen $2
	rv $1 build-amd64 built_revision_xen $2 true
	rv $1 build-amd64 host godello0 true
	step $1 build-amd64 1 ts-hosts-allocate pass hosts-allocate
	step $1 build-amd64 2 ts-xen-build pass xen-build
}
# test F JOB ARCH HOST BUILDJOB GUEST-START-STATUS [REV]
test_job() {
	local st=pass
	[ "$6" = pass ] || st=fail
	job $1 $2 test-debian $st
	rv $1 $2 arch $3
	rv $1 $2 buildjob $5
	[ -z "${7:-}" ] || rv $1 $2 revision_xen $7
	rv $1 $2 host $4 true
	step $1 $2 1 ts-hosts-allocate pass hosts-allocate
	step $1 $2 2 ts-debian-install pass debian-install
	step $1 $2 3 ts-guest-start "$6" guest-start
}
# the rtds job: guest-start fails everywhere (never passed)
rtds() {
	job $1 test-amd64-amd64-xl-rtds test-debian fail
	rv $1 test-amd64-amd64-xl-rtds arch amd64
	rv $1 test-amd64-amd64-xl-rtds buildjob build-amd64
	rv $1 test-amd64-amd64-xl-rtds host huxelrebe1 true
	step $1 test-amd64-amd64-xl-rtds 1 ts-hosts-allocate pass hosts-allocate
	step $1 test-amd64-amd64-xl-rtds 2 ts-guest-start fail guest-start
}

test_expect_success 'an OSSTest database with a history of every kind' '
	h db status >/dev/null 2>&1 || true &&
	h lab apply lab.conf >/dev/null &&
	q "CREATE DATABASE osstest" &&
	osq "$SCHEMA" &&
	osq "INSERT INTO tasks (type, refkey) VALUES (\$\$magic\$\$, \$\$allocatable\$\$)" &&
	for hst in godello0 huxelrebe1 rochester0 cubietruck-picasso; do
		osq "INSERT INTO resources VALUES (\$\$host\$\$, \$\$$hst\$\$, 0, 1, \$\$\$\$)" || return 1
	done &&
	osq "INSERT INTO hostflags VALUES (\$\$godello0\$\$, \$\$arch-amd64\$\$), (\$\$godello0\$\$, \$\$arch-i386\$\$),
		(\$\$godello0\$\$, \$\$blessed-real\$\$), (\$\$huxelrebe1\$\$, \$\$arch-i386\$\$),
		(\$\$huxelrebe1\$\$, \$\$arch-amd64\$\$), (\$\$huxelrebe1\$\$, \$\$equiv-huxelrebe\$\$),
		(\$\$rochester0\$\$, \$\$arch-arm64\$\$), (\$\$cubietruck-picasso\$\$, \$\$arch-armhf\$\$)" &&
	osq "INSERT INTO resource_properties VALUES
		(\$\$host\$\$, \$\$godello0\$\$, \$\$PowerMethod\$\$, \$\$ipmi\$\$),
		(\$\$host\$\$, \$\$huxelrebe1\$\$, \$\$Ether\$\$, \$\$00:16:3e:00:00:01\$\$),
		(\$\$host\$\$, \$\$huxelrebe1\$\$, \$\$PowerMethod\$\$, \$\$ipmi\$\$)" &&

	# 100: A, the first: a baseline test; rtds fails (never passed)
	flight 100 real && build 100 $A &&
	test_job 100 test-amd64-amd64-xl amd64 huxelrebe1 build-amd64 pass &&
	test_job 100 test-arm64-arm64-xl arm64 rochester0 build-amd64 pass &&
	rtds 100 &&
	# 101: B, amd64 guest-start regresses; an armhf job broken with no
	# failing step; a job aborted, another truncated
	flight 101 real && build 101 $B &&
	test_job 101 test-amd64-amd64-xl amd64 huxelrebe1 build-amd64 fail &&
	test_job 101 test-arm64-arm64-xl arm64 rochester0 build-amd64 pass &&
	rtds 101 &&
	job 101 test-armhf-armhf-xl test-debian broken &&
	rv 101 test-armhf-armhf-xl host cubietruck-picasso true &&
	step 101 test-armhf-armhf-xl 1 ts-hosts-allocate pass hosts-allocate &&
	job 101 test-amd64-amd64-pair test-pair aborted &&
	rv 101 test-amd64-amd64-pair src_host godello0 true &&
	rv 101 test-amd64-amd64-pair dst_host huxelrebe1 true &&
	job 101 test-amd64-amd64-xl-shadow test-debian truncated &&
	# 102: its retest (real-retest), of the regressed job, on 101s build
	flight 102 real-retest &&
	test_job 102 test-amd64-amd64-xl amd64 huxelrebe1 101.build-amd64 fail $B &&
	# 103: C; arm64 guest-start fails (a regression vs. 100, which C is
	# judged against: B was not pushed); a step starved, one skipped, a
	# job blocked by its build, a step without a testid
	flight 103 real && build 103 $C &&
	test_job 103 test-amd64-amd64-xl amd64 huxelrebe1 build-amd64 pass &&
	test_job 103 test-arm64-arm64-xl arm64 rochester0 build-amd64 fail &&
	rtds 103 &&
	step 103 test-amd64-amd64-xl 4 ts-logs-capture skip &&
	job 103 test-amd64-i386-xl test-debian starved &&
	step 103 test-amd64-i386-xl 1 ts-hosts-allocate starved hosts-allocate &&
	job 103 test-amd64-amd64-qemuu test-debian blocked &&
	step 103 test-amd64-amd64-qemuu 1 ts-build-check blocked build-check &&
	# 104: C again, no build of its own: it reuses 103s (FLIGHT.JOB) and
	# has no revision runvar; arm64 passes there (103s failure: a
	# heisenbug); tolerable, so C is pushed
	flight 104 real &&
	test_job 104 test-amd64-amd64-xl amd64 huxelrebe1 103.build-amd64 pass &&
	test_job 104 test-arm64-arm64-xl arm64 rochester0 103.build-amd64 pass &&
	rtds 104 && osq "UPDATE runvars SET val = \$\$103.build-amd64\$\$ WHERE flight = 104 AND name = \$\$buildjob\$\$" &&
	# 105: D vs. C: amd64 guest-start regresses (it passed in 103 and
	# 104); arm64 fails like 103 (same status beats a pass)
	flight 105 real && build 105 $D &&
	test_job 105 test-amd64-amd64-xl amd64 huxelrebe1 build-amd64 fail &&
	test_job 105 test-arm64-arm64-xl arm64 rochester0 build-amd64 fail &&
	rtds 105 &&
	# 106 still running, 107 constructing: skipped; other blessings
	flight 106 running && build 106 $E &&
	flight 107 constructing &&
	flight 150 running &&
	flight 108 adhoc && build 108 $B &&
	job 108 build-i386 build pass && rv 108 build-i386 built_revision_xen $A true &&
	flight 109 play && build 109 $B &&
	flight 110 real-bisect && build 110 $B &&
	flight 111 broken && build 111 $B &&
	flight 112 real linux-linus &&
	job 112 build-amd64-pvops build pass &&
	rv 112 build-amd64-pvops tree_linux git://git.kernel.org/linux.git &&
	rv 112 build-amd64-pvops revision_linux 1111111111111111111111111111111111111111 &&
	rv 112 build-amd64-pvops revision_xen $C &&
	step 112 build-amd64-pvops 1 ts-kernel-build pass kernel-build &&
	# 113: the smoke branch, with the build of 106 (still running there,
	# so not imported): its revision from that build all the same
	osq "INSERT INTO flights VALUES (114, $T0, NULL, \$\$xen-unstable\$\$, NULL)" &&
	flight 113 real xen-unstable-smoke &&
	test_job 113 test-amd64-amd64-xl amd64 huxelrebe1 106.build-amd64 pass &&
	# 115, 116: F vs. C; 116 fails debian-install, which passed in 115;
	# but 115 failed the later guest-start, which passed in 104: OSSTest
	# pushed neither (the heisen flight brings its regression)
	flight 115 real && build 115 $F &&
	job 115 test-amd64-amd64-xl test-debian fail &&
	rv 115 test-amd64-amd64-xl buildjob build-amd64 &&
	step 115 test-amd64-amd64-xl 1 ts-hosts-allocate pass hosts-allocate &&
	step 115 test-amd64-amd64-xl 2 ts-debian-install pass debian-install &&
	step 115 test-amd64-amd64-xl 3 ts-guest-start fail guest-start &&
	flight 116 real && build 116 $F &&
	job 116 test-amd64-amd64-xl test-debian fail &&
	rv 116 test-amd64-amd64-xl buildjob build-amd64 &&
	step 116 test-amd64-amd64-xl 1 ts-hosts-allocate pass hosts-allocate &&
	step 116 test-amd64-amd64-xl 2 ts-debian-install fail debian-install &&
	test "$(osq "SELECT count(*) FROM steps")" -gt 40
'

# the indexes of steps and runvars as the migrations made them
indexes() { q "SELECT string_agg(pg_get_indexdef(indexrelid), \$\$;\$\$ ORDER BY indexrelid::regclass::text) FROM pg_index WHERE indrelid IN (\$\$steps\$\$::regclass, \$\$runvars\$\$::regclass)"; }

test_expect_success 'the import brings flights, jobs, steps, runvars and hosts' '
	indexes >indexes.before && grep -q steps_history_idx indexes.before &&
	h -v import osstest --dsn "$OSS" >imp.out 2>imp.err && cat imp.out &&
	grep -q "indexes built again at the end" imp.err && grep -q "indexes dropped" imp.err &&
	indexes | cmp - indexes.before &&
	grep -q "imported 15 flights (15 new, 0 changed)" imp.out &&
	grep -q "skipped 3 unfinished flights (constructing or running): 106 107 150" imp.out &&
	test "$(q "SELECT count(*) FROM flights WHERE imported_from IS NOT NULL")" = 15 &&
	test "$(q "SELECT count(*) FROM jobs WHERE flight BETWEEN 100 AND 116")" = "$(osq "SELECT count(*) FROM jobs WHERE flight NOT IN (106, 107, 150)")" &&
	test "$(q "SELECT count(*) FROM steps WHERE flight BETWEEN 100 AND 116")" = "$(osq "SELECT count(*) FROM steps WHERE flight NOT IN (106, 107, 150)")" &&
	test "$(q "SELECT count(*) FROM runvars WHERE flight BETWEEN 100 AND 116 AND name <> \$\$osstest_status\$\$")" = "$(osq "SELECT count(*) FROM runvars WHERE flight NOT IN (106, 107, 150)")" &&
	test "$(q "SELECT string_agg(id || \$\$:\$\$ || intent || \$\$:\$\$ || coalesce(label, \$\$-\$\$), \$\$ \$\$ ORDER BY id) FROM flights WHERE id BETWEEN 100 AND 114")" = "100:gate:real 101:gate:real 102:retest:real-retest 103:gate:real 104:gate:real 105:gate:real 108:adhoc:adhoc 109:adhoc:play 110:bisect:real-bisect 111:adhoc:broken 112:gate:real 113:gate:real 114:adhoc:-" &&
	test "$(q "SELECT count(*) FROM flights WHERE id BETWEEN 100 AND 114 AND status = \$\$finished\$\$")" = 13 &&
	test "$(q "SELECT string_agg(id || \$\$:\$\$ || verdict || \$\$:\$\$ || pushed, \$\$ \$\$ ORDER BY id) FROM flights WHERE id BETWEEN 100 AND 113")" = "100:no-push:false 101:no-push:false 102:none:false 103:no-push:false 104:push:true 105:no-push:false 108:none:false 109:none:false 110:none:false 111:none:false 112:no-push:false 113:no-push:false" &&
	test "$(q "SELECT to_char(started_at AT TIME ZONE \$\$UTC\$\$, \$\$YYYY-MM-DD HH24:MI\$\$) FROM flights WHERE id = 100")" = "2024-01-05 04:00"
'

test_expect_success 'statuses, step names, dependencies, revisions and hosts are mapped' '
	test "$(q "SELECT status FROM jobs WHERE flight = 101 AND job = \$\$test-amd64-amd64-pair\$\$")" = cancelled &&
	test "$(q "SELECT val FROM runvars WHERE flight = 101 AND job = \$\$test-amd64-amd64-pair\$\$ AND name = \$\$osstest_status\$\$")" = aborted &&
	test "$(q "SELECT status FROM jobs WHERE flight = 101 AND job = \$\$test-amd64-amd64-xl-shadow\$\$")" = broken &&
	test "$(q "SELECT status || \$\$ \$\$ || arch FROM jobs WHERE flight = 103 AND job = \$\$test-amd64-i386-xl\$\$")" = "starved unknown" &&
	test "$(q "SELECT arch FROM jobs WHERE flight = 100 AND job = \$\$build-amd64\$\$")" = x86_64 &&
	test "$(q "SELECT string_agg(stepno || \$\$ \$\$ || kind || \$\$ \$\$ || name || \$\$ \$\$ || status || \$\$ \$\$ || logfile, \$\$,\$\$ ORDER BY stepno) FROM steps WHERE flight = 103 AND job = \$\$test-amd64-amd64-xl\$\$")" = "1 ts-hosts-allocate hosts-allocate pass 1.ts-hosts-allocate.log,2 ts-debian-install debian-install pass 2.ts-debian-install.log,3 ts-guest-start guest-start pass 3.ts-guest-start.log,4 ts-logs-capture ts-logs-capture#4 skip 4.ts-logs-capture.log" &&
	test "$(q "SELECT status FROM steps WHERE flight = 103 AND name = \$\$build-check\$\$")" = blocked &&
	test "$(q "SELECT dep_flight || \$\$.\$\$ || dep_job FROM job_deps WHERE flight = 105 AND job = \$\$test-amd64-amd64-xl\$\$")" = 105.build-amd64 &&
	test "$(q "SELECT dep_flight || \$\$.\$\$ || dep_job FROM job_deps WHERE flight = 104 AND job = \$\$test-arm64-arm64-xl\$\$")" = 103.build-amd64 &&
	test "$(q "SELECT dep_flight || \$\$.\$\$ || dep_job FROM job_deps WHERE flight = 102")" = 101.build-amd64 &&
	test "$(q "SELECT retest_of FROM flights WHERE id = 102")" = 101 &&
	test "$(q "SELECT revision FROM flight_revisions WHERE flight = 104 AND tree = \$\$xen\$\$")" = "$C" &&
	test "$(q "SELECT revision FROM flight_revisions WHERE flight = 102 AND tree = \$\$xen\$\$")" = "$B" &&
	test "$(q "SELECT revision FROM flight_revisions WHERE flight = 105 AND tree = \$\$xen\$\$")" = "$D" &&
	test "$(q "SELECT revision FROM flight_revisions WHERE flight = 113 AND tree = \$\$xen\$\$")" = "$E" &&
	test "$(q "SELECT count(*) FROM job_deps WHERE flight = 113")" = 0 &&
	test "$(q "SELECT count(*) FROM flight_revisions WHERE flight = 108")" = 0 &&
	test "$(q "SELECT revision FROM flight_revisions WHERE flight = 109 AND tree = \$\$xen\$\$")" = "$B" &&
	test "$(q "SELECT tree || \$\$ \$\$ || retired FROM branches WHERE name = \$\$linux-linus\$\$")" = "linux true" &&
	test "$(q "SELECT tree FROM branches WHERE name = \$\$xen-unstable-smoke\$\$")" = xen &&
	test "$(q "SELECT retired FROM branches WHERE name = \$\$xen-unstable\$\$")" = f &&
	test "$(q "SELECT string_agg(host || \$\$/\$\$ || ident, \$\$ \$\$ ORDER BY ident) FROM allocations WHERE flight = 101 AND job = \$\$test-amd64-amd64-pair\$\$")" = "huxelrebe1/dst_host godello0/src_host" &&
	test "$(q "SELECT count(*) FROM allocations WHERE released_at IS NULL")" = 0 &&
	test "$(q "SELECT arch || \$\$ \$\$ || state || \$\$ \$\$ || (properties->>\$\$PowerMethod\$\$) FROM hosts WHERE name = \$\$godello0\$\$")" = "x86_64 free ipmi" &&
	test "$(q "SELECT string_agg(flag, \$\$ \$\$ ORDER BY flag) FROM host_flags WHERE host = \$\$godello0\$\$")" = "" &&
	test "$(q "SELECT arch || \$\$ \$\$ || state || \$\$ \$\$ || (properties->>\$\$Ether\$\$) FROM hosts WHERE name = \$\$huxelrebe1\$\$")" = "x86_64 retired 00:16:3e:00:00:01" &&
	test "$(q "SELECT string_agg(flag, \$\$ \$\$ ORDER BY flag) FROM host_flags WHERE host = \$\$huxelrebe1\$\$")" = "arch-amd64 arch-i386 equiv-huxelrebe" &&
	test "$(q "SELECT arch || \$\$ \$\$ || state FROM hosts WHERE name = \$\$cubietruck-picasso\$\$")" = "armhf retired" &&
	test "$(q "SELECT arch || \$\$ \$\$ || state FROM hosts WHERE name = \$\$rochester0\$\$")" = "arm64 retired"
'

test_expect_success 'new flights of hangar come above the source flights, running ones too' '
	h request --branch xen-unstable --job build-amd64 >req.out &&
	test "$(flight_of req.out)" -gt 150 &&
	h flight cancel "$(flight_of req.out)" >/dev/null
'

# class F JOB STEP: that failure's class and text in hangar's report
class() {
	python3 -c "import json,sys; d=json.load(open(\"r$1.json\")); print(\" \".join(f[\"class\"] + \"=\" + f[\"text\"] for f in d[\"failures\"] if f[\"job\"] == sys.argv[1] and f[\"step\"] == sys.argv[2]))" "$2" "$3"
}
test_expect_success 'reports on imported flights classify as OSSTest (reference 4.2)' '
	for f in 100 101 103 104 105; do h flight report $f --json >r$f.json || return 1; done &&
	test "$(q "SELECT string_agg(id || \$\$ \$\$ || target_revision || \$\$ \$\$ || baseline_test, \$\$,\$\$ ORDER BY id) FROM flights WHERE id IN (100, 101, 103, 104, 105)")" = "100 $A true,101 $A false,103 $A false,104 $A false,105 $C false" &&
	test "$(class 100 test-amd64-amd64-xl-rtds guest-start)" = "never-pass=never pass" &&
	test "$(class 101 test-amd64-amd64-xl guest-start)" = "regression=REGR. vs. 100" &&
	test "$(class 101 test-amd64-amd64-xl-rtds guest-start)" = "never-pass=never pass" &&
	test "$(class 101 test-armhf-armhf-xl "<none executed>")" = "broken=" &&
	test "$(class 103 test-arm64-arm64-xl guest-start)" = "regression=REGR. vs. 100" &&
	test "$(class 103 test-amd64-i386-xl hosts-allocate)" = "starved=n/a" &&
	test "$(class 103 test-amd64-amd64-qemuu build-check)" = "blocked=n/a" &&
	test "$(class 105 test-amd64-amd64-xl guest-start)" = "regression=REGR. vs. 104" &&
	test "$(class 105 test-arm64-arm64-xl guest-start)" = "fail-like-baseline=like 103" &&
	python3 -c "import json; d=json.load(open(\"r104.json\")); assert d[\"regressions\"] == [] and all(not f[\"blocking\"] for f in d[\"failures\"]), d"
'

test_expect_success 'each replayed flight keeps its report as judged then; --now is today' '
	h flight report 103 --now --json >r103now.json &&
	test "$(class 103now test-arm64-arm64-xl guest-start)" = "heisenbug=pass in 104" &&
	python3 -c "import json; d=json.load(open(\"r103now.json\")); assert d[\"decided\"] == {\"verdict\": \"no-push\", \"pushed\": False, \"judgement\": \"regressions\"}, d[\"decided\"]; assert \"test-arm64-arm64-xl guest-start: regression (blocking) REGR. vs. 100 when decided, heisenbug pass in 104 now\" in d[\"differences\"], d[\"differences\"]" &&
	h flight report 103 >r103.txt &&
	grep -E "^ test-arm64-arm64-xl +3 guest-start +fail +REGR\. vs\. 100$" r103.txt &&
	grep -x "Judged today, this flight would differ (hangar flight report --now):" r103.txt &&
	grep -x "  test-arm64-arm64-xl guest-start: regression (blocking) REGR. vs. 100 when decided, heisenbug pass in 104 now" r103.txt &&
	h flight report 103 --now >r103now.txt &&
	grep -E "^ test-arm64-arm64-xl +3 guest-start +fail +pass in 104$" r103now.txt &&
	grep -x "Today.s judgement differs from the decision made when the flight ended:" r103now.txt &&
	h flight report 104 >r104.txt && ! grep -q "would differ" r104.txt &&
	test "$(q "SELECT count(*) FROM flights WHERE imported_from IS NOT NULL AND intent = \$\$gate\$\$ AND report IS NULL")" = 0
'

PORT=$(free_port)
test_expect_success 'the API and the page: the decision, and today with ?now=1' '
	setsid "$HANGAR" --config lab.conf web --listen 127.0.0.1:$PORT >web.log 2>&1 &
	echo $! >web.pid &&
	U=http://127.0.0.1:$PORT &&
	wait_for "curl -fsS $U/api/v1/flights/103/report >a1.json" 20 &&
	curl -fsS $U/api/v1/flights/103/report >a2.json &&
	curl -fsS "$U/api/v1/flights/103/report?now=1" >n1.json &&
	curl -fsS "$U/api/v1/flights/103/report?now=1" >n2.json &&
	curl -fsS $U/api/v1/flights/103/report >a3.json &&
	python3 - <<-\PY &&
	import json
	a = [json.load(open("a%d.json" % i)) for i in (1, 2, 3)]
	n = [json.load(open("n%d.json" % i)) for i in (1, 2)]
	assert a[0] == a[1] == a[2] and "decided" not in a[0], a
	assert n[0] == n[1] and n[0]["decided"]["verdict"] == "no-push", n
	c = {f["class"] for f in a[0]["failures"] if f["job"] == "test-arm64-arm64-xl"}
	assert c == {"regression"}, a[0]["failures"]
	c = {f["class"] for f in n[0]["failures"] if f["job"] == "test-arm64-arm64-xl"}
	assert c == {"heisenbug"}, n[0]["failures"]
	PY
	curl -fsS "$U/flights/103?now=1" >p.html &&
	grep -q "Judged today" p.html && grep -q "heisenbug pass in 104 now" p.html &&
	curl -fsS "$U/flights/103" >d.html &&
	grep -q "The decision made when the flight ended" d.html &&
	! grep -q "Judged today" d.html &&
	# a report stored before failures had "flight": all the flight'"'"'s own
	q "UPDATE flights SET report = jsonb_set(report, \$\${failures}\$\$,
	   (SELECT jsonb_agg(f - \$\$flight\$\$) FROM jsonb_array_elements(report->\$\$failures\$\$) f))
	   WHERE id = 101" &&
	curl -fsS "$U/flights/101" >old.html &&
	grep -q "REGR. vs. 100" old.html && ! grep -q "href=\"/flights/0\"" old.html &&
	code=$(curl -s -o bad.json -w "%{http_code}" "$U/api/v1/flights/103/report?now=maybe") &&
	test "$code" = 400 && grep -q "\"error\"" bad.json &&
	kill_pid $(cat web.pid)
'

test_expect_success 'a heisen flight that regressed a later step: neither pushed (item 1)' '
	test "$(q "SELECT string_agg(id || \$\$:\$\$ || verdict || \$\$:\$\$ || pushed, \$\$ \$\$ ORDER BY id) FROM flights WHERE id IN (115, 116)")" = "115:no-push:false 116:no-push:false" &&
	h flight report 116 --json >r116.json &&
	test "$(class 116 test-amd64-amd64-xl debian-install)" = "heisenbug=pass in 115" &&
	test "$(class 116 test-amd64-amd64-xl guest-start)" = "regression=REGR. vs. 104" &&
	h flight report 116 >r116.txt &&
	grep -E "^ test-amd64-amd64-xl +3 guest-start +fail +in 115 REGR\. vs\. 104$" r116.txt
'

test_expect_success 'a second import is a no-op; a late change is read again, not doubled' '
	h import osstest --dsn "$OSS" >imp2.out && cat imp2.out &&
	grep -q "imported 0 flights (0 new, 0 changed)" imp2.out &&
	osq "UPDATE steps SET status = \$\$pass\$\$ WHERE flight = 105 AND job = \$\$test-arm64-arm64-xl\$\$ AND testid = \$\$guest-start\$\$;
	     UPDATE jobs SET status = \$\$pass\$\$ WHERE flight = 105 AND job = \$\$test-arm64-arm64-xl\$\$;
	     UPDATE flights SET blessing = \$\$real\$\$ WHERE flight = 106" &&
	h import osstest --dsn "$OSS" --json >imp3.json && cat imp3.json &&
	python3 -c "import json; d=json.load(open(\"imp3.json\")); assert (d[\"new\"], d[\"changed\"], d[\"unfinished\"]) == (1, 1, [107, 150]), d" &&
	test "$(q "SELECT count(*) FROM steps WHERE flight = 105")" = "$(osq "SELECT count(*) FROM steps WHERE flight = 105")" &&
	test "$(q "SELECT status FROM jobs WHERE flight = 105 AND job = \$\$test-arm64-arm64-xl\$\$")" = pass &&
	test "$(q "SELECT count(*) FROM flights WHERE id = 106 AND intent = \$\$gate\$\$")" = 1 &&
	h import osstest --dsn "$OSS" --dry-run >dry.out && grep -q "would import 0 flights" dry.out
'

test_expect_success 'a change read again with the indexes built again, or kept' '
	osq "UPDATE steps SET status = \$\$fail\$\$ WHERE flight = 105 AND job = \$\$test-arm64-arm64-xl\$\$ AND testid = \$\$guest-start\$\$;
	     UPDATE jobs SET status = \$\$fail\$\$ WHERE flight = 105 AND job = \$\$test-arm64-arm64-xl\$\$" &&
	h -v import osstest --dsn "$OSS" --rebuild-indexes always --json >imp4.json 2>imp4.err &&
	grep -q "indexes dropped" imp4.err && ! grep -q "indexes kept" imp4.err &&
	python3 -c "import json; d=json.load(open(\"imp4.json\")); assert (d[\"new\"], d[\"changed\"]) == (0, 1), d" &&
	indexes | cmp - indexes.before &&
	test "$(q "SELECT count(*) FROM steps WHERE flight = 105")" = "$(osq "SELECT count(*) FROM steps WHERE flight = 105")" &&
	test "$(q "SELECT status FROM steps WHERE flight = 105 AND job = \$\$test-arm64-arm64-xl\$\$ AND name = \$\$guest-start\$\$")" = fail &&
	osq "UPDATE steps SET status = \$\$pass\$\$ WHERE flight = 105 AND job = \$\$test-arm64-arm64-xl\$\$ AND testid = \$\$guest-start\$\$;
	     UPDATE jobs SET status = \$\$pass\$\$ WHERE flight = 105 AND job = \$\$test-arm64-arm64-xl\$\$" &&
	h -v import osstest --dsn "$OSS" >imp5.out 2>imp5.err &&
	grep -q "imported 1 flights (0 new, 1 changed)" imp5.out && grep -q "indexes kept" imp5.err &&
	! grep -q "indexes dropped" imp5.err &&
	test "$(q "SELECT status FROM steps WHERE flight = 105 AND job = \$\$test-arm64-arm64-xl\$\$ AND name = \$\$guest-start\$\$")" = pass &&
	rc=0 && h import osstest --dsn "$OSS" --rebuild-indexes sometimes 2>e5 || rc=$? &&
	test $rc = 2 && grep -q "auto, always or never" e5
'

test_expect_success 'the source is only read' '
	osq "SELECT count(*) FROM flights" >before &&
	h import osstest --dsn "$OSS" >/dev/null &&
	osq "SELECT count(*) FROM flights" | cmp - before &&
	test "$(osq "SELECT count(*) FROM pg_tables WHERE schemaname = \$\$public\$\$")" = 10
'

test_expect_success 'bad input: clear errors, nothing written' '
	rc=0 && h import osstest 2>e1 || rc=$? && test $rc = 2 && grep -q "give --dsn" e1 &&
	rc=0 && h import bugzilla --dsn x 2>e2 || rc=$? && test $rc = 2 && grep -q "only .osstest." e2 &&
	rc=0 && h import osstest --dsn "$CONN" 2>e3 || rc=$? && test $rc != 0 &&
	grep -q "not an OSSTest database" e3 &&
	n=$(q "SELECT count(*) FROM flights") &&
	q "CREATE DATABASE osstest2" &&
	psql -X -q -v ON_ERROR_STOP=1 "host=$STATE/pg dbname=osstest2 user=hangar" -c "$SCHEMA" &&
	psql -X -q -v ON_ERROR_STOP=1 "host=$STATE/pg dbname=osstest2 user=hangar" \
		-c "INSERT INTO flights VALUES (200, 0, \$\$real\$\$, \$\$xen-unstable\$\$, NULL), ($(flight_of req.out), 0, \$\$real\$\$, \$\$xen-unstable\$\$, NULL)" &&
	rc=0 && h import osstest --dsn "host=$STATE/pg dbname=osstest2 user=hangar" 2>e4 || rc=$? &&
	test $rc != 0 && cat e4 && grep -q "taken in hangar" e4 &&
	test "$(q "SELECT count(*) FROM flights")" = "$n"
'

test_expect_success 'the gate on the imported branch: an old failure is like the baseline' '
	git --git-dir xen.git update-ref refs/heads/master "$C" &&
	git --git-dir xen.git update-ref refs/heads/staging "$E" &&
	h gate run xen-unstable >g.out && cat g.out &&
	F=$(flight_of g.out) && test -n "$F" &&
	test "$(q "SELECT target_revision FROM flights WHERE id = $F")" = "$C" &&
	q "BEGIN;
	   INSERT INTO steps (flight, job, stepno, kind, name, status)
	   SELECT flight, job, 1, CASE WHEN job LIKE \$\$build%\$\$ THEN \$\$build\$\$ ELSE \$\$run\$\$ END,
	          CASE WHEN job LIKE \$\$build%\$\$ THEN \$\$build\$\$ ELSE \$\$guest-start\$\$ END,
	          CASE WHEN job = \$\$test-arm64-arm64-xl\$\$ THEN \$\$fail\$\$ ELSE \$\$pass\$\$ END
	   FROM jobs WHERE flight = $F;
	   UPDATE jobs SET status = CASE WHEN job = \$\$test-arm64-arm64-xl\$\$ THEN \$\$fail\$\$ ELSE \$\$pass\$\$ END,
	          started_at = now(), finished_at = now() WHERE flight = $F;
	   UPDATE flights SET status = \$\$finished\$\$, finished_at = now() WHERE id = $F;
	   COMMIT" &&
	h gate run xen-unstable >g2.out && cat g2.out &&
	h flight report $F --json >rg.json &&
	python3 -c "import json; d=json.load(open(\"rg.json\")); f=[x for x in d[\"failures\"] if x[\"job\"] == \"test-arm64-arm64-xl\"]; assert len(f) == 1 and f[0][\"class\"] == \"fail-like-baseline\" and f[0][\"text\"] == \"like 103\", d[\"failures\"]"
'

# a larger source (branch crash-test, flights 1000 on): long enough an
# import to be stopped in the middle
OSS3="host=$STATE/pg dbname=osstest3 user=hangar"
# steps held by an import; no session of hangar's left but ours
steps_locked() { test "$(q "SELECT count(*) FROM pg_locks WHERE relation = 'steps'::regclass AND mode = 'AccessExclusiveLock' AND granted")" = 1; }
no_session() { test "$(q "SELECT count(*) FROM pg_stat_activity WHERE datname = 'hangar' AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND application_name <> 'hangar test q'")" = 0; }
test_expect_success 'an import killed in the middle leaves nothing, indexes kept' '
	q "CREATE DATABASE osstest3" &&
	psql -X -q -v ON_ERROR_STOP=1 "$OSS3" -c "$SCHEMA" &&
	psql -X -q -v ON_ERROR_STOP=1 "$OSS3" -c "
		INSERT INTO flights SELECT f, $T0 + f * 60, \$\$real\$\$, \$\$crash-test\$\$, NULL
			FROM generate_series(1000, 1399) f;
		INSERT INTO jobs SELECT f, \$\$test-\$\$ || n, \$\$test\$\$, \$\$pass\$\$
			FROM generate_series(1000, 1399) f, generate_series(1, 20) n;
		INSERT INTO steps SELECT f, \$\$test-\$\$ || n, s, \$\$ts-step\$\$, \$\$pass\$\$, \$\$step-\$\$ || s,
			$T0 + f * 60 + s, $T0 + f * 60 + s + 1, NULL
			FROM generate_series(1000, 1399) f, generate_series(1, 20) n, generate_series(1, 15) s;
		INSERT INTO runvars SELECT f, \$\$test-\$\$ || n, \$\$arch\$\$, \$\$amd64\$\$, false
			FROM generate_series(1000, 1399) f, generate_series(1, 20) n" &&
	n=$(q "SELECT count(*) FROM steps") &&
	{ "$HANGAR" --config lab.conf import osstest --dsn "$OSS3" --batch 2 \
		--rebuild-indexes always >kill.out 2>&1 & } &&
	pid=$! &&
	# the import holds steps while it runs: killed then
	wait_for steps_locked 30 &&
	sleep 1 && kill -KILL $pid && { wait $pid; true; } &&
	wait_for no_session 30 &&
	test "$(q "SELECT count(*) FROM steps")" = "$n" &&
	test "$(q "SELECT count(*) FROM flights WHERE branch = \$\$crash-test\$\$")" = 0 &&
	indexes | cmp - indexes.before &&
	h import osstest --dsn "$OSS3" >imp6.out && cat imp6.out &&
	grep -q "imported 400 flights (400 new, 0 changed): 8000 jobs, 120000 steps" imp6.out &&
	test "$(q "SELECT count(*) FROM steps")" = "$((n + 120000))" &&
	indexes | cmp - indexes.before
'

test_done
