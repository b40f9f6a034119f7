#!/bin/bash
# Starvation on the simulated lab, one host per arch (issue 17): a gate
# flight whose arm64 test waits while an ad-hoc job holds the only arm64
# host, for longer than the flight's other jobs took, is not starved: it
# waits, tests arm64, and does not push the commit that breaks it. A job
# no usable host can take (its only host in maintenance) starves, and
# blocks the push unless the branch has push-starved (then it pushes).
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
T=$TEST_DIR/trees
BARE=$T/minivisor.git

"$LAB" create "$L" --net "$NET" ruby:x86_64:share-build opal:arm64 >/dev/null
"$DEMO_TREE" create "$T" >base.rev
sed -i 's/^\tboot-timeout = .*/\tboot-timeout = 30\n\tpower-cycle-time = 1/' "$L/hosts.conf"
# starvation as quick as it may be: a busy host must still never starve
cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $L/id_ed25519
[include]
	path = $L/hosts.conf
[scheduler]
	interval = 1s
	claim-timeout = 30s
	starvation-wait = 3s
	starvation-estimates = 1
[worker]
	slots = 4
	heartbeat = 1s
	lease = 10s
[gate]
	interval = 2s
	retest = false
	bisect = false
[tree "minivisor"]
	url = $BARE
[branch "minivisor"]
	tree = minivisor
	jobs = build-amd64 test-amd64 test-arm64
[job "build-amd64"]
	recipe = build
	arch = x86_64
	flags = share-build
[recipe "build"]
	step = build make dist
	artifacts = dist/*.tar.gz
[recipe "test"]
	step = install-build rm -rf installed && mkdir -p installed && tar xzf dist/minivisor.tar.gz -C installed
	step = run boot ./installed/bin/check-boot
	step = run smoke ./installed/tests/smoke.sh
[job "test-amd64"]
	recipe = test
	arch = x86_64
	needs = build-amd64
[job "test-arm64"]
	recipe = test
	arch = arm64
	needs = build-amd64
[recipe "hold"]
	step = run hold sleep 60
[job "hold-arm64"]
	recipe = hold
	arch = arm64
CONF

master() { git --git-dir "$BARE" rev-parse master; }
decided() {
	q "SELECT f.id || ' ' || f.verdict FROM flights f
	   JOIN flight_revisions r ON r.flight = f.id
	   WHERE r.revision = '$1' AND f.intent = 'gate' AND f.verdict <> 'pending'
	   ORDER BY f.id DESC LIMIT 1"
}
wait_decided() {
	wait_for "test -n \"\$(decided $1)\"" 300 || {
		h flight list; tail -n 20 gate.log; return 1
	}
	decided "$1" >"$2"
}

test_expect_success 'the lab and the daemons start; master is tested first' '
	"$LAB" start "$L" >lab.log &&
	h lab apply lab.conf >/dev/null &&
	start_daemon scheduler && start_daemon worker && start_daemon gate &&
	wait_decided "$(cat base.rev)" base.out &&
	read F V <base.out && test "$V" = no-push &&
	test "$(q "SELECT count(*) FROM jobs WHERE flight=$F AND status=\$\$pass\$\$")" = 3
'

test_expect_success 'an arm64 test waiting for the only arm64 host is not starved' '
	h request --branch minivisor --job hold-arm64 >hold.out &&
	H=$(flight_of hold.out) &&
	wait_for "test \"\$(jstatus $H hold-arm64)\" = running" 60 &&
	"$DEMO_TREE" commit "$T" break arm64 >break.rev &&
	wait_decided "$(cat break.rev)" break.out && cat break.out &&
	read F V <break.out && test "$V" = no-push &&
	test "$(jstatus $F test-arm64)" = fail &&
	test "$(master)" = "$(cat base.rev)" &&
	# it started on opal only once the ad-hoc job had let go of it, and
	# the other jobs of its flight had ended long before
	q "SELECT (SELECT min(a.allocated_at) FROM allocations a WHERE a.flight = $F
	           AND a.job = \$\$test-arm64\$\$) >= (SELECT finished_at FROM jobs
	           WHERE flight = $H AND job = \$\$hold-arm64\$\$)" >order &&
	test "$(cat order)" = t &&
	q "SELECT extract(epoch FROM (SELECT finished_at FROM jobs WHERE flight = $H)
	           - (SELECT max(finished_at) FROM jobs WHERE flight = $F
	              AND job <> \$\$test-arm64\$\$))::int" >gap && cat gap &&
	test "$(cat gap)" -gt 10 &&
	h flight report $F --json >r.json &&
	python3 -c "import json; d=json.load(open(\"r.json\")); assert [(x[\"job\"], x[\"step\"]) for x in d[\"regressions\"]] == [(\"test-arm64\", \"smoke\")], d; assert all(x[\"class\"] != \"starved\" for x in d[\"failures\"]), d"
'

test_expect_success 'a job no usable host can take starves and blocks the push' '
	h host maintenance opal on --reason "starvation test" >/dev/null &&
	"$DEMO_TREE" commit "$T" fix arm64 >fix.rev &&
	wait_decided "$(cat fix.rev)" fix.out && cat fix.out &&
	read F V <fix.out && test "$V" = no-push &&
	test "$(jstatus $F test-arm64)" = starved &&
	test "$(jstatus $F test-amd64)" = pass &&
	test "$(master)" = "$(cat base.rev)" &&
	h flight report $F --json >s.json &&
	python3 -c "import json; d=json.load(open(\"s.json\")); f=[x for x in d[\"failures\"] if x[\"job\"] == \"test-arm64\"]; assert len(f) == 1 and f[0][\"class\"] == \"starved\" and f[0][\"blocking\"] and f[0][\"text\"].startswith(\"starved: no usable host for arm64 in \"), f; assert d[\"judgement\"] == \"problems\", d" &&
	h flight report $F >s.txt &&
	grep -x "Failures and problems with tests :-(" s.txt &&
	grep -E "^ test-arm64 +<none executed> +starved +starved: no usable host for arm64 in [0-9]+h [0-9]+m$" s.txt
'

test_expect_success 'with push-starved, today it would push; the decision stays' '
	sed -i "s/^\tjobs = build-amd64 test-amd64 test-arm64$/&\n\tpush-starved = true/" lab.conf &&
	h lab apply lab.conf >/dev/null &&
	F=$(cut -d" " -f1 fix.out) &&
	h flight report $F --now --json >n.json &&
	python3 -c "import json; d=json.load(open(\"n.json\")); assert d[\"judgement\"] == \"tolerable\" and d[\"decided\"][\"verdict\"] == \"no-push\", d; assert any(l.startswith(\"the verdict: problems when decided (no-push), tolerable now\") for l in d[\"differences\"]), d[\"differences\"]" &&
	h flight report $F >s2.txt &&
	grep -x "Failures and problems with tests :-(" s2.txt &&
	grep -q "^  the verdict: problems when decided (no-push), tolerable now$" s2.txt
'

test_expect_success 'with push-starved, a flight whose arm64 test starved is pushed' '
	"$DEMO_TREE" commit "$T" good >good.rev &&
	wait_decided "$(cat good.rev)" good.out && cat good.out &&
	read F V <good.out && test "$V" = push &&
	test "$(jstatus $F test-arm64)" = starved &&
	test "$(master)" = "$(cat good.rev)" &&
	h flight report $F --json >p.json &&
	python3 -c "import json; d=json.load(open(\"p.json\")); f=[x for x in d[\"failures\"] if x[\"job\"] == \"test-arm64\"]; assert len(f) == 1 and f[0][\"class\"] == \"starved\" and not f[0][\"blocking\"], f; assert d[\"pushed\"] and d[\"judgement\"] == \"tolerable\", d"
'

test_done
