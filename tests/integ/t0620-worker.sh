#!/bin/bash
# Workers on the simulated lab: a build job compiles the demo tree on a
# shared x86_64 build host (in its share's own directory) and stores its
# artifact; test jobs on arm64 and riscv64 install it and pass; a commit
# that breaks one arch fails exactly that job; a later flight reuses the
# build; consoles and logs are captured.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
T=$TEST_DIR/trees

"$LAB" create "$L" --net "$NET" ruby:x86_64:share-build garnet:x86_64 \
	opal:arm64 jade:riscv64 >/dev/null
"$DEMO_TREE" create "$T" >/dev/null
cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $L/id_ed25519
[include]
	path = $L/hosts.conf
[scheduler]
	interval = 1s
	claim-timeout = 30s
[worker]
	slots = 3
	heartbeat = 1s
	lease = 5s
[tree "minivisor"]
	url = $T/minivisor.git
[branch "minivisor"]
	tree = minivisor
	jobs = build-amd64 test-amd64 test-arm64 test-riscv64
[job "build-amd64"]
	recipe = build
	arch = x86_64
	flags = share-build
	runvar = make_flags=-j2
[job "test-amd64"]
	recipe = test
	arch = x86_64
	needs = build-amd64
[job "test-arm64"]
	recipe = test
	arch = arm64
	needs = build-amd64
[job "test-riscv64"]
	recipe = test
	arch = riscv64
	needs = build-amd64
[recipe "build"]
	step = build make \$HANGAR_MAKE_FLAGS dist
	artifacts = dist/*.tar.gz
[recipe "test"]
	step = host-power-cycle
	step = install-build rm -rf installed && mkdir -p installed && tar xzf dist/minivisor.tar.gz -C installed
	step = run boot ./installed/bin/check-boot
	step = run smoke ./installed/tests/smoke.sh
	step = run env-seen test -n \"\$HANGAR_REVISION_MINIVISOR\" && test \"\$HANGAR_FLIGHT\" -gt 0 && test \"\$HANGAR_HOST\" = \"\$HANGAR_THIS_HOST\" && echo odd >\"odd name \$(printf \"\\\\377\").log\"
	step = logs-capture installed/tests/smoke.sh odd*.log
[job "cases"]
	recipe = cases
	arch = riscv64
[recipe "cases"]
	step = run cases=tap suite $TEST_DIR/tap-suite.sh
	step = run cases=junit:out/results.xml junit $TEST_DIR/junit-suite.sh
	step = run cases=tap big $TEST_DIR/big-suite.sh
	step = run cases=hangar short $TEST_DIR/hangar-suite.sh
[job "boot-arm64"]
	recipe = boot
	arch = arm64
[recipe "boot"]
	step = boot timeout=30 expect=Hostname set to fail=Kernel panic started=Linux version
	step = run up true
[job "boot-never"]
	recipe = boot-never
	arch = riscv64
[recipe "boot-never"]
	step = boot timeout=5 expect=login: started=Run /sbin/init
CONF
# suites the lab's hosts (sshd on this machine) run from here
cat >tap-suite.sh <<'SUITE'
#!/bin/sh
echo "1..4"
echo "ok 1 - boots"
echo "not ok 2 - grant table"
echo "ok 3 - event channels # SKIP no evtchn here"
echo "ok 4 - boots"
exit 1   # as prove does when a case failed
SUITE
cat >junit-suite.sh <<'SUITE'
#!/bin/sh
mkdir -p out
cat >out/results.xml <<XML
<?xml version="1.0"?>
<testsuites><testsuite name="s">
  <testcase classname="mm" name="p2m"/>
  <testcase classname="mm" name="ept"><failure message="EPT misconfig &amp; panic"/></testcase>
</testsuite></testsuites>
XML
SUITE
cat >big-suite.sh <<'SUITE'
#!/bin/sh
seq 10000 | awk '{ print "ok " $1 " - case " $1 } END { print "1..10000" }'
SUITE
cat >hangar-suite.sh <<'SUITE'
#!/bin/sh
echo "HANGAR-CASES 3"
echo "boot: HANGAR-CASE one pass"
echo "HANGAR-CASE two fail oops"
SUITE
chmod +x tap-suite.sh junit-suite.sh big-suite.sh hangar-suite.sh
# quick power cycles: the simulated hosts boot in a moment
sed -i 's/^\tboot-timeout = .*/&\n\tpower-cycle-time = 1/' "$L/hosts.conf"

test_expect_success 'the lab, the database and the daemons start' '
	"$LAB" start "$L" >lab.log &&
	h lab apply lab.conf >/dev/null &&
	start_daemon scheduler && start_daemon worker &&
	wait_for "grep -q \"slot(s)\" worker.log" 20
'

test_expect_success 'test cases become steps: TAP, JUnit, 10,000 at once, an incomplete suite' '
	h request --branch minivisor --job cases >req.out &&
	F=$(flight_of req.out) &&
	! h flight wait $F --timeout 120 >/dev/null &&
	test "$(jstatus $F cases)" = fail &&
	test "$(q "SELECT string_agg(name || \$\$:\$\$ || status, \$\$ \$\$ ORDER BY stepno)
		FROM steps WHERE flight=$F AND name NOT LIKE \$\$big/%\$\$")" = \
		"suite:pass suite/boots:pass suite/grant_table:fail suite/event_channels:skip suite/boots~2:pass junit:pass junit/mm.p2m:pass junit/mm.ept:fail big:pass short:fail short/one:pass short/two:fail" &&
	test "$(q "SELECT detail FROM steps WHERE flight=$F AND name=\$\$junit/mm.ept\$\$")" = "EPT misconfig & panic" &&
	test "$(q "SELECT detail FROM steps WHERE flight=$F AND name=\$\$short/two\$\$")" = oops &&
	q "SELECT detail FROM steps WHERE flight=$F AND name=\$\$short\$\$" | grep -q "incomplete" &&
	test "$(q "SELECT count(*) FROM steps WHERE flight=$F AND name LIKE \$\$big/%\$\$ AND status = \$\$pass\$\$")" = 10000 &&
	secs=$(q "SELECT extract(epoch FROM finished_at - started_at) FROM steps WHERE flight=$F AND name=\$\$big\$\$") &&
	echo "the step of 10,000 cases took $secs s" &&
	grep -q "10000 test case(s) (tap): 10000 pass, 0 fail, 0 skip" "$STATE/logs/$F/cases/"*.big.log
'

test_expect_success 'boot: judged from the console; a panic is fail, the host stays' '
	# its sshd starts late: the step after the boot waits for it
	"$LAB" fault "$L" opal slow-sshd >/dev/null &&
	h request --branch minivisor --job boot-arm64 >req.out &&
	F=$(flight_of req.out) &&
	h flight wait $F --timeout 90 >/dev/null &&
	test "$(jstatus $F boot-arm64)" = pass &&
	grep -q "opal: ssh up after .* tries" "$STATE/logs/$F/boot-arm64/"*.up.log &&
	grep -q "Linux version" "$STATE/logs/$F/boot-arm64/console-opal.log" &&
	grep -q "expected: .*Hostname set to" "$STATE/logs/$F/boot-arm64/"*.boot.log &&
	"$LAB" fault "$L" opal panic >/dev/null &&
	h request --branch minivisor --job boot-arm64 >req.out &&
	F=$(flight_of req.out) &&
	! h flight wait $F --timeout 90 >/dev/null &&
	"$LAB" fault "$L" opal none >/dev/null &&
	test "$(jstatus $F boot-arm64)" = fail &&
	q "SELECT detail FROM steps WHERE flight=$F AND name=\$\$boot\$\$" | grep "opal: .*Kernel panic - not syncing" &&
	test "$(q "SELECT state FROM hosts WHERE name=\$\$opal\$\$")" = free
'

test_expect_success 'boot: a thing under test that never started is the lab'"'"'s: broken' '
	"$LAB" fault "$L" jade panic >/dev/null &&
	h request --branch minivisor --job boot-never >req.out &&
	F=$(flight_of req.out) &&
	wait_for "test \"\$(q \"SELECT state FROM hosts WHERE name=\\\$\\\$jade\\\$\\\$\")\" = broken" 60 &&
	q "SELECT detail FROM steps WHERE flight=$F AND name=\$\$boot\$\$ AND attempt=1" | grep "jade: never started (no line matched started=Run /sbin/init)" &&
	h flight cancel $F >/dev/null &&
	"$LAB" fault "$L" jade none >/dev/null &&
	h host maintenance jade off >/dev/null &&
	test "$(q "SELECT state FROM hosts WHERE name=\$\$jade\$\$")" = free
'

test_expect_success 'a flight of a build and three tests passes unattended' '
	h request --branch minivisor >req.out &&
	F=$(flight_of req.out) && echo $F >good.flight &&
	h flight wait $F --timeout 240 >wait.out || { cat wait.out worker.log; h flight show $F; exit 1; } &&
	for j in build-amd64 test-amd64 test-arm64 test-riscv64; do
		test "$(jstatus $F $j)" = pass || { h flight show $F; exit 1; }
	done &&
	test "$(q "SELECT status FROM flights WHERE id=$F")" = finished &&
	grep -q "test-arm64 pass" wait.out &&
	# the harness of each job: the version of the worker that claimed it
	test "$(q "SELECT string_agg(DISTINCT coalesce(harness, \$\$-\$\$), \$\$ \$\$) FROM jobs WHERE flight=$F")" = "$("$HANGAR" --version | cut -d" " -f2)" &&
	# the firmware the console said (the simulated hosts print a banner)
	test "$(q "SELECT firmware FROM allocations WHERE flight=$F AND job=\$\$test-arm64\$\$")" = "U-Boot 2023.01-hangar-lab" &&
	test "$(q "SELECT firmware FROM allocations WHERE flight=$F AND job=\$\$test-amd64\$\$")" = "SeaBIOS 1.16.2-hangar-lab"
'

test_expect_success 'the build ran on the shared x86_64 build host and its artifact is in the store' '
	F=$(cat good.flight) &&
	test "$(q "SELECT host || \$\$ \$\$ || shareix FROM allocations WHERE flight=$F AND job=\$\$build-amd64\$\$")" = "ruby 1" &&
	test -f "$L/hosts/ruby/work/share1/src/Makefile" &&
	test -f "$L/hosts/ruby/work/share1/src/dist/minivisor.tar.gz" &&
	sha=$(q "SELECT sha256 FROM artifacts WHERE flight=$F AND job=\$\$build-amd64\$\$ AND path=\$\$dist/minivisor.tar.gz\$\$") &&
	test -n "$sha" &&
	stored="$STATE/artifacts/sha256/$(echo $sha | cut -c1-2)/$sha" &&
	test "$(sha256sum "$stored" | cut -d" " -f1)" = "$sha" &&
	test "$(stat -c %s "$stored")" = "$(q "SELECT size FROM artifacts WHERE flight=$F AND job=\$\$build-amd64\$\$")" &&
	tar tzf "$stored" >contents && grep -q "bin/minivisor" contents &&
	rev=$(git --git-dir="$T/minivisor.git" rev-parse staging) &&
	test "$(q "SELECT val FROM runvars WHERE flight=$F AND job=\$\$build-amd64\$\$ AND name=\$\$built_revision_minivisor\$\$")" = "$rev" &&
	test "$(q "SELECT val FROM runvars WHERE flight=$F AND job=\$\$test-arm64\$\$ AND name=\$\$host\$\$")" = opal
'

test_expect_success 'steps, logs and console captures are visible through the CLI' '
	F=$(cat good.flight) &&
	h flight show $F >show.out && cat show.out &&
	grep -q "artifact dist/minivisor.tar.gz" show.out &&
	grep -q "console $STATE/logs/$F/test-arm64/console-opal.log" show.out &&
	grep -Eq "^20[0-9-]+T[0-9:.]+Z .*login:" "$STATE/logs/$F/test-arm64/console-opal.log" &&
	h flight log $F test-arm64 smoke >smoke.log &&
	grep -q "PASS: arm64 selftest" smoke.log &&
	grep -q "exit status 0" smoke.log &&
	h flight log $F test-arm64 host-power-cycle | grep -q "opal: power cycle" &&
	h flight log $F build-amd64 build | grep -q "cc " &&
	test -s "$STATE/logs/$F/test-arm64/opal--installed-tests-smoke.sh" &&
	# a name with a space and a byte that is not UTF-8: as the dashboard
	# serves it and an evidence record names it
	test "$(cat "$STATE/logs/$F/test-arm64/opal--odd_name__.log")" = odd &&
	h flight show $F --json >show.json &&
	python3 - <<-PY
	import json
	f = json.load(open("show.json"))
	jobs = {j["job"]: j for j in f["jobs"]}
	steps = [s["step"] for s in jobs["test-riscv64"]["steps"]]
	assert steps == ["host-power-cycle", "install-build", "boot", "smoke", "env-seen", "logs-capture"], steps
	assert all(s["status"] == "pass" for s in jobs["test-riscv64"]["steps"])
	assert jobs["build-amd64"]["artifacts"][0]["path"] == "dist/minivisor.tar.gz"
	assert jobs["test-riscv64"]["hosts"] == ["jade"], jobs["test-riscv64"]
	PY
'

test_expect_success 'the host keys were pinned on first use' '
	test "$(q "SELECT count(*) FROM hosts WHERE ssh_host_key IS NOT NULL")" = 4 &&
	test "$(q "SELECT ssh_host_key FROM hosts WHERE name=\$\$opal\$\$")" = "$(cut -d" " -f1,2 "$L/hosts/opal/ssh_host_ed25519_key.pub")"
'

test_expect_success 'power actions are in the hosts history' '
	h host show opal --json >opal.json &&
	python3 -c "import json; h=json.load(open(\"opal.json\")); assert any(e[\"kind\"] == \"power.cycle\" for e in h[\"history\"]), h[\"history\"]"
'

test_expect_success 'a commit that breaks arm64 fails exactly test-arm64' '
	"$DEMO_TREE" commit "$T" break arm64 >/dev/null &&
	h request --branch minivisor >req.out &&
	F=$(flight_of req.out) && echo $F >bad.flight &&
	! h flight wait $F --timeout 240 >wait.out &&
	test "$(jstatus $F build-amd64)" = pass &&
	test "$(jstatus $F test-amd64)" = pass &&
	test "$(jstatus $F test-riscv64)" = pass &&
	test "$(jstatus $F test-arm64)" = fail &&
	test "$(q "SELECT name || \$\$ \$\$ || status FROM steps WHERE flight=$F AND job=\$\$test-arm64\$\$ AND status <> \$\$pass\$\$ ORDER BY stepno")" = "smoke fail" &&
	test "$(q "SELECT status FROM steps WHERE flight=$F AND job=\$\$test-arm64\$\$ AND name=\$\$logs-capture\$\$")" = pass &&
	test "$(q "SELECT count(*) FROM steps WHERE flight=$F AND job=\$\$test-arm64\$\$ AND name=\$\$env-seen\$\$")" = 0 &&
	test "$(q "SELECT state FROM hosts WHERE name=\$\$opal\$\$")" = free
'

test_expect_success 'a later flight at the same revision reuses the build' '
	F=$(cat bad.flight) &&
	h request --branch minivisor --job test-riscv64 --wait >req.out &&
	N=$(flight_of req.out) &&
	test "$(q "SELECT count(*) FROM jobs WHERE flight=$N")" = 1 &&
	test "$(q "SELECT dep_flight || dep_job FROM job_deps WHERE flight=$N")" = "${F}build-amd64" &&
	test "$(jstatus $N test-riscv64)" = pass &&
	h flight log $N test-riscv64 install-build | grep -q "of $F.build-amd64"
'

test_expect_success 'a request for an unknown job or a host of another arch is refused' '
	! h request --branch minivisor --job nope 2>err && grep -q "no job .nope." err &&
	rc=0 && h request --branch nobranch 2>err || rc=$? &&
	test $rc = 2 && grep -q "no branch .nobranch." err &&
	! h request --branch minivisor --job test-arm64 --host jade 2>err && grep -q "needs an arm64 host" err
'

test_done
