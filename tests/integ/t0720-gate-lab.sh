#!/bin/bash
# The gate end to end on the simulated lab, unattended: the scheduler, a
# worker and the gate daemon, and commits to the demo tree's staging. The
# untested master is tested first; a good commit is pushed; a commit that
# breaks arm64 is not (after its retest), with the regression named; its
# fix is pushed; a failure master already had does not block; dead hosts
# give broken, not a regression. Regressions are bisected: a series of six
# commits whose 4th breaks arm64 ends with that commit found, on the
# failure's host, and shown on the dashboard; a flaky test gets no culprit.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
T=$TEST_DIR/trees
BARE=$T/minivisor.git
PORT=$(free_port)

"$LAB" create "$L" --net "$NET" ruby:x86_64:share-build opal:arm64 onyx:arm64 \
	jade:riscv64 >/dev/null
"$DEMO_TREE" create "$T" >base.rev
sed -i 's/^\tboot-timeout = .*/\tboot-timeout = 12\n\tpower-cycle-time = 1/' "$L/hosts.conf"
cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $L/id_ed25519
	listen = 127.0.0.1:$PORT
[include]
	path = $L/hosts.conf
[scheduler]
	interval = 1s
	claim-timeout = 30s
[worker]
	slots = 4
	heartbeat = 1s
	lease = 10s
[gate]
	interval = 2s
[tree "minivisor"]
	url = $BARE
[branch "minivisor"]
	tree = minivisor
	jobs = build-amd64 test-amd64 test-arm64 test-riscv64
[job "build-amd64"]
	recipe = build
	arch = x86_64
	flags = share-build
	runvar = make_flags=-j2
[recipe "build"]
	step = build make \$HANGAR_MAKE_FLAGS dist
	artifacts = dist/*.tar.gz
[recipe "test"]
	step = host-power-cycle
	step = install-build rm -rf installed && mkdir -p installed && tar xzf dist/minivisor.tar.gz -C installed
	step = run boot ./installed/bin/check-boot
	step = run smoke ./installed/tests/smoke.sh
CONF
for a in amd64:x86_64 arm64:arm64 riscv64:riscv64; do
	printf '[job "test-%s"]\n\trecipe = test\n\tarch = %s\n\tneeds = build-amd64\n' \
		"${a%%:*}" "${a#*:}" >>lab.conf
done

master() { git --git-dir "$BARE" rev-parse master; }

test_expect_success 'the lab and the daemons start; master is tested first' '
	"$LAB" start "$L" >lab.log &&
	h lab apply lab.conf >/dev/null &&
	start_daemon scheduler && start_daemon worker && start_daemon gate &&
	start_daemon web &&
	wait_decided "$(cat base.rev)" base.out &&
	read F V <base.out && test "$V" = no-push &&
	test "$(q "SELECT baseline_test FROM flights WHERE id=$F")" = t &&
	test "$(q "SELECT count(*) FROM jobs WHERE flight=$F AND status=\$\$pass\$\$")" = 4 &&
	h flight report $F | grep -x "Subject: \[minivisor baseline test\] $F: all pass"
'

test_expect_success 'the baseline test reads as one: not a failed push, no empty failures' '
	F=$(cut -d" " -f1 base.out) &&
	curl -fsS http://127.0.0.1:$PORT/flights/$F >base.html &&
	grep -q "BASELINE TEST &mdash; all pass" base.html &&
	! grep -q "NO PUSH" base.html && ! grep -q "<h2>Failures" base.html &&
	curl -fsS http://127.0.0.1:$PORT/ >front.html &&
	grep -q "$F</a> baseline test" front.html && ! grep -q "NO PUSH" front.html &&
	h flight list >list.txt && cat list.txt &&
	grep -Eq "^$F +minivisor +gate +finished +baseline +4 pass$" list.txt
'

test_expect_success 'a good staging commit is pushed' '
	"$DEMO_TREE" commit "$T" good >good.rev &&
	wait_decided "$(cat good.rev)" good.out && cat good.out &&
	test "$(cat good.out)" = "$(cut -d" " -f1 good.out) push pushed" &&
	test "$(master)" = "$(cat good.rev)"
'

test_expect_success 'six commits whose 4th breaks arm64 are not pushed; the regression is named' '
	"$DEMO_TREE" series "$T" good good good break:arm64 good good >series.revs &&
	test $(wc -l <series.revs) = 6 &&
	sed -n 4p series.revs >break.rev && sed -n 3p series.revs >before.rev &&
	sed -n 6p series.revs >tip.rev &&
	wait_decided "$(cat tip.rev)" break.out && cat break.out &&
	read F V <break.out && test "$V" = no-push &&
	test "$(master)" = "$(cat good.rev)" &&
	R=$(q "SELECT id FROM flights WHERE retest_of=$F") && test -n "$R" &&
	test "$(jstatus $R test-arm64)" = fail &&
	h flight report $F --json >r.json &&
	G=$(cut -d" " -f1 good.out) &&
	python3 -c "import json; d=json.load(open(\"r.json\")); assert d[\"regressions\"] == [{\"job\": \"test-arm64\", \"step\": \"smoke\", \"baseline_flight\": $G, \"flight\": $F}], d; assert [f[\"class\"] for f in d[\"failures\"]] == [\"regression\"], d" &&
	h flight report $F >r.txt &&
	grep -E "^ test-arm64 +[0-9]+ smoke +fail +REGR\. vs\. $G$" r.txt &&
	grep -x "Subject: \[minivisor test\] $F: regressions - FAIL" r.txt
'

test_expect_success 'its fix is pushed' '
	"$DEMO_TREE" commit "$T" fix arm64 >fix.rev &&
	wait_decided "$(cat fix.rev)" fix.out && cat fix.out &&
	grep -q " push pushed$" fix.out &&
	test "$(master)" = "$(cat fix.rev)"
'

# wait_bisected N: until bisection N is no longer running (5 minutes)
wait_bisected() {
	wait_for "test \"\$(q \"SELECT status FROM bisections WHERE id = $1\")\" != running" 300 ||
		{ h bisect show $1; h flight list; tail -n 20 gate.log; return 1; }
}

test_expect_success 'the regression is bisected, unattended, to the 4th commit, on one host' '
	N=$(q "SELECT id FROM bisections WHERE job = \$\$test-arm64\$\$ ORDER BY id LIMIT 1") &&
	test -n "$N" && echo $N >bisection.n &&
	wait_bisected $N &&
	h bisect show $N --json >bis.json && head -c 300 bis.json && echo &&
	python3 -c "import json; d=json.load(open(\"bis.json\")); assert d[\"status\"] == \"found\" and d[\"culprit\"] == {\"tree\": \"minivisor\", \"commit\": \"$(cat break.rev)\", \"parent\": \"$(cat before.rev)\"}, d" &&
	host=$(q "SELECT hosts[1] FROM bisections WHERE id = $N") &&
	test "$(q "SELECT count(DISTINCT a.host) FROM flights f JOIN allocations a ON a.flight = f.id AND a.job = \$\$test-arm64\$\$ WHERE f.bisection = $N")" = 1 &&
	test "$(q "SELECT DISTINCT a.host FROM flights f JOIN allocations a ON a.flight = f.id AND a.job = \$\$test-arm64\$\$ WHERE f.bisection = $N")" = "$host" &&
	grep -q "Bug introduced:  $(cat break.rev)" "$STATE/logs/bisect-$N.txt" &&
	grep -q "Bug not present: $(cat before.rev)" "$STATE/logs/bisect-$N.txt" &&
	nf=$(q "SELECT count(*) FROM flights WHERE bisection = $N") && echo "$nf bisect flights" &&
	test "$nf" -le 10
'

test_expect_success 'the dashboard shows the found bisection with its graph' '
	N=$(cat bisection.n) &&
	curl -fsS http://127.0.0.1:$PORT/bisections/$N >page.html &&
	grep -q "found" page.html && grep -q "<svg" page.html &&
	grep -q "$(cut -c1-12 break.rev)" page.html &&
	F=$(q "SELECT max(id) FROM flights WHERE bisection = $N") &&
	grep -q "href=\"/flights/$F\"" page.html &&
	curl -fsS http://127.0.0.1:$PORT/api/v1/bisections/$N >api.json &&
	python3 -c "import json; d=json.load(open(\"api.json\")); assert d[\"status\"] == \"found\" and d[\"culprit\"][\"commit\"] == \"$(cat break.rev)\", d"
'

test_expect_success 'a flaky test is bisected to no culprit; its fix is pushed' '
	"$DEMO_TREE" commit "$T" flaky arm64 >flaky.rev &&
	wait_decided "$(cat flaky.rev)" flaky.out && cat flaky.out &&
	read F V <flaky.out && test "$V" = no-push &&
	wait_for "test -n \"\$(q \"SELECT id FROM bisections WHERE failure_flight = $F\")\"" 30 &&
	N=$(q "SELECT id FROM bisections WHERE failure_flight = $F") &&
	wait_bisected $N &&
	h bisect show $N --json >bis.json && head -c 300 bis.json && echo &&
	python3 -c "import json; d=json.load(open(\"bis.json\")); assert d[\"status\"] in (\"inconsistent\", \"unreproducible\") and d[\"culprit\"] is None, d" &&
	"$DEMO_TREE" commit "$T" fix arm64 >fix2.rev &&
	wait_decided "$(cat fix2.rev)" fix2.out && cat fix2.out &&
	grep -q " push pushed$" fix2.out
'

test_expect_success 'a failure already on master does not block' '
	# someone pushes to master directly (the gate stopped meanwhile, so
	# that it sees both refs move at once)
	kill_pid $(cat gate.pid) &&
	"$DEMO_TREE" commit "$T" break riscv64 >rv.rev &&
	"$DEMO_TREE" push-master "$T" "$(cat rv.rev)" >/dev/null &&
	start_daemon gate &&
	wait_decided "$(cat rv.rev)" rv.out && cat rv.out &&
	read B V <rv.out &&
	test "$(q "SELECT baseline_test FROM flights WHERE id=$B")" = t &&
	test "$(jstatus $B test-riscv64)" = fail &&
	"$DEMO_TREE" commit "$T" good >g2.rev &&
	wait_decided "$(cat g2.rev)" g2.out && cat g2.out &&
	read F V P <g2.out && test "$V $P" = "push pushed" &&
	test "$(master)" = "$(cat g2.rev)" &&
	h flight report $F --json >r.json &&
	python3 -c "import json; d=json.load(open(\"r.json\")); f=d[\"failures\"]; assert len(f) == 1 and f[0][\"job\"] == \"test-riscv64\" and f[0][\"class\"] == \"fail-like-baseline\" and f[0][\"text\"] == \"like $B\", f"
'

test_expect_success 'dead hosts give broken, not a regression' '
	"$LAB" fault "$L" opal panic >/dev/null &&
	"$LAB" fault "$L" onyx panic >/dev/null &&
	"$DEMO_TREE" commit "$T" good >g3.rev &&
	wait_decided "$(cat g3.rev)" g3.out && cat g3.out &&
	read F V <g3.out && test "$V" = no-push &&
	test "$(jstatus $F test-arm64)" = broken &&
	test "$(master)" = "$(cat g2.rev)" &&
	h flight report $F --json >r.json &&
	python3 -c "import json; d=json.load(open(\"r.json\")); assert d[\"regressions\"] == [], d; c={(f[\"job\"], f[\"class\"], f[\"blocking\"]) for f in d[\"failures\"]}; assert (\"test-arm64\", \"broken\", True) in c, c; assert all(x[1] != \"regression\" for x in c), c" &&
	test -z "$(q "SELECT id FROM flights WHERE retest_of=$F")" &&
	h flight report $F | grep -x "Failures and problems with tests :-("
'

test_expect_success 'a tree reached over ssh:// is fetched, built and pushed over SSH' '
	addr=$(sed -n "/^\[host \"ruby\"\]/,/^\[/s/^\taddress = //p" "$L/hosts.conf") &&
	test -n "$addr" &&
	"$DEMO_TREE" create "$TEST_DIR/t2" >t2.rev &&
	cat >>lab.conf <<-CONF &&
	[tree "remote"]
		url = ssh://root@$addr/$TEST_DIR/t2/minivisor.git
	[branch "remote"]
		tree = remote
		jobs = build-amd64 test-amd64
	CONF
	h lab apply lab.conf >/dev/null &&
	wait_decided "$(cat t2.rev)" t2.out remote && cat t2.out &&
	"$DEMO_TREE" commit "$TEST_DIR/t2" good >t2g.rev &&
	wait_decided "$(cat t2g.rev)" t2g.out remote && cat t2g.out &&
	grep -q " push pushed$" t2g.out &&
	test "$(git --git-dir "$TEST_DIR/t2/minivisor.git" rev-parse master)" = "$(cat t2g.rev)" &&
	F=$(cut -d" " -f1 t2g.out) &&
	h flight report $F | grep -q "^To ssh://$addr/"
'

test_done
