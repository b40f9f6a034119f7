#!/bin/bash
# The gate judges test cases one by one (issue 19): a suite of twenty
# cases (hangar's own HANGAR-CASE lines) whose results each commit of the
# demo tree sets in its subject ("cases NAME=fail NAME=flaky ..."). One
# newly failing case among twenty is the only regression; a case that
# never passed is "never pass" and does not block; a case that fails and
# then passes on the retest is a heisenbug.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
T=$TEST_DIR/trees
BARE=$T/minivisor.git

"$LAB" create "$L" --net "$NET" tx:x86_64 >/dev/null
"$DEMO_TREE" create "$T" >base.rev
cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $L/id_ed25519
[include]
	path = $L/hosts.conf
[scheduler]
	interval = 1s
[worker]
	slots = 2
	heartbeat = 1s
	lease = 10s
[gate]
	interval = 1s
[tree "minivisor"]
	url = $BARE
[branch "minivisor"]
	tree = minivisor
	jobs = test-cases
[job "test-cases"]
	recipe = cases
	arch = x86_64
[recipe "cases"]
	step = run cases=hangar suite $TEST_DIR/suite.sh
CONF
# case01..case20 pass unless the tested commit's subject says otherwise;
# a flaky case fails on its first run of a revision only
cat >suite.sh <<SUITE
#!/bin/bash
subject=\$(git --git-dir=$BARE log -1 --format=%s "\$HANGAR_REVISION_MINIVISOR")
declare -A st=()
for i in \$(seq -w 1 20); do st[case\$i]=pass; done
for w in \$subject; do [[ \$w == *=* ]] && st[\${w%%=*}]=\${w#*=}; done
echo "HANGAR-CASES \${#st[@]}"
for name in \$(printf '%s\n' "\${!st[@]}" | sort); do
	s=\${st[\$name]}
	if [ "\$s" = flaky ]; then
		runs=$TEST_DIR/runs-\$name-\$HANGAR_REVISION_MINIVISOR
		echo x >>"\$runs"
		[ \$(wc -l <"\$runs") -gt 1 ] && s=pass || s=fail
	fi
	echo "HANGAR-CASE \$name \$s"
done
SUITE
chmod +x suite.sh

classes() { # FLIGHT: "job step class" per failure of its report
	h flight report $1 --json >r.json &&
	python3 -c "import json; d=json.load(open(\"r.json\")); print(\"\n\".join(sorted(f[\"job\"] + \" \" + f[\"step\"] + \" \" + f[\"class\"] for f in d[\"failures\"])))"
}

test_expect_success 'the baseline: twenty cases pass' '
	"$LAB" start "$L" >lab.log &&
	h lab apply lab.conf >/dev/null &&
	start_daemon scheduler && start_daemon worker && start_daemon gate &&
	wait_decided "$(cat base.rev)" base.out && read F V <base.out &&
	test "$(q "SELECT count(*) FROM steps WHERE flight=$F AND name LIKE \$\$suite/%\$\$ AND status=\$\$pass\$\$")" = 20
'

test_expect_success 'one newly failing case among twenty is the only regression' '
	"$DEMO_TREE" commit "$T" good "cases case07=fail" >c1.rev &&
	wait_decided "$(cat c1.rev)" c1.out && cat c1.out &&
	read F V <c1.out && test "$V" = no-push &&
	classes $F >c1.classes && cat c1.classes &&
	test "$(cat c1.classes)" = "test-cases suite/case07 regression" &&
	python3 -c "import json; d=json.load(open(\"r.json\")); assert [(r[\"job\"], r[\"step\"]) for r in d[\"regressions\"]] == [(\"test-cases\", \"suite/case07\")], d"
'

test_expect_success 'a case that never passed is never pass, and does not block' '
	"$DEMO_TREE" commit "$T" good "cases case21=fail" >c2.rev &&
	wait_decided "$(cat c2.rev)" c2.out && cat c2.out &&
	grep -q " push pushed$" c2.out && read F V P <c2.out &&
	classes $F >c2.classes && cat c2.classes &&
	test "$(cat c2.classes)" = "test-cases suite/case21 never-pass"
'

test_expect_success 'a case that passes on its retest is a heisenbug' '
	"$DEMO_TREE" commit "$T" good "cases case21=fail case05=flaky" >c3.rev &&
	wait_decided "$(cat c3.rev)" c3.out && cat c3.out &&
	F=$(q "SELECT min(f.id) FROM flights f JOIN flight_revisions r ON r.flight = f.id WHERE r.revision = \$\$$(cat c3.rev)\$\$") &&
	test "$(q "SELECT status FROM steps WHERE flight=$F AND name = \$\$suite/case05\$\$")" = fail &&
	R=$(q "SELECT id FROM flights WHERE retest_of=$F") && test -n "$R" &&
	test "$(q "SELECT status FROM steps WHERE flight=$R AND name = \$\$suite/case05\$\$")" = pass &&
	classes $F >c3.classes && cat c3.classes &&
	grep -qx "test-cases suite/case05 heisenbug" c3.classes &&
	! grep -q regression c3.classes
'

test_done
