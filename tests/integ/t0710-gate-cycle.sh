#!/bin/bash
# Gate cycles (`hangar gate run`) on a real git tree, with the jobs' results
# written into the database by the test (no lab): the baseline test of an
# untested target, "up to date", a push (libgit2, fast-forward) with its
# mail, a regression that is not pushed after its retest, a heisenbug the
# retest clears, too many regressions for a retest, block and force-push,
# and a target that moved meanwhile (scenarios 12-15 of reference §11(b)).
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"
test_skip_unless git

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
BARE=$TEST_DIR/trees/minivisor.git
h() { "$HANGAR" --config lab.conf "$@"; }
master() { git --git-dir "$BARE" rev-parse master; }
flight_of() { sed -n "s/^flight //p" "$1" | head -n 1; }
test_when_finished 'kill_pid $(cat "$TEST_DIR"/*.pid 2>/dev/null); kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

cat >lab.conf <<CONF
[lab]
	state = $STATE
[gate]
	sendmail = tee -a $TEST_DIR/sent.mbox
	mail-to = devel@example.org
[tree "minivisor"]
	url = $BARE
[branch "mv"]
	tree = minivisor
	jobs = build-amd64 test-amd64 test-arm64 test-riscv64
[recipe "build"]
	step = build make dist
	artifacts = dist/*.tar.gz
[recipe "test"]
	step = run smoke ./smoke.sh
[job "build-amd64"]
	recipe = build
	arch = x86_64
CONF
for a in amd64:x86_64 arm64:arm64 riscv64:riscv64; do
	printf '[job "test-%s"]\n\trecipe = test\n\tarch = %s\n\tneeds = build-amd64\n' \
		"${a%%:*}" "${a#*:}" >>lab.conf
done

# finish F [JOB...]: every job of F ends, the JOBs failing their step
finish() {
	local f=$1 fails
	shift
	fails=$(printf "'%s'," "$@")
	fails="ARRAY[${fails%,}]::text[]"
	[ $# -gt 0 ] || fails="'{}'::text[]"
	q "BEGIN;
	   INSERT INTO steps (flight, job, stepno, kind, name, status)
	   SELECT flight, job, 1, CASE WHEN job LIKE 'build%' THEN 'build' ELSE 'run' END,
	          CASE WHEN job LIKE 'build%' THEN 'build' ELSE 'smoke' END,
	          CASE WHEN job = ANY($fails) THEN 'fail' ELSE 'pass' END
	   FROM jobs WHERE flight = $f;
	   UPDATE jobs SET status = CASE WHEN job = ANY($fails) THEN 'fail' ELSE 'pass' END
	   WHERE flight = $f;
	   COMMIT"
}
flight_at() { q "SELECT flight FROM flight_revisions WHERE revision = '$1'"; }
verdict() { q "SELECT verdict || CASE WHEN pushed THEN ' t' ELSE ' f' END FROM flights WHERE id = $1"; }

test_expect_success 'an untested target is tested first, as a baseline test' '
	"$DEMO_TREE" create trees >base.rev &&
	"$DEMO_TREE" create qemu >/dev/null &&
	h lab apply lab.conf >/dev/null &&
	h gate run mv >run.out && cat run.out &&
	F=$(flight_of run.out) && echo $F >baseline.flight &&
	grep -q "baseline test of $(cut -c1-12 base.rev)" run.out &&
	test "$(q "SELECT baseline_test::text || (target_revision IS NULL)::text FROM flights WHERE id=$F")" = truetrue &&
	test "$(q "SELECT count(*) FROM jobs WHERE flight=$F")" = 4 &&
	test "$(q "SELECT revision FROM flight_revisions WHERE flight=$F")" = "$(cat base.rev)" &&
	h gate run mv >again.out &&
	grep -q "flight $F still running" again.out &&
	test "$(q "SELECT count(*) FROM flights")" = 1
'

test_expect_success 'its verdict is no push; then staging = target is up to date' '
	F=$(cat baseline.flight) &&
	finish $F &&
	h gate run mv >run.out && cat run.out &&
	test "$(verdict $F)" = "no-push f" &&
	h flight report $F >report.txt &&
	grep -x "Subject: \[mv baseline test\] $F: all pass" report.txt &&
	grep -q "^This is a baseline test of minivisor" report.txt &&
	grep -x "Push not applicable." report.txt &&
	grep -q "^up to date" run.out &&
	test "$(q "SELECT count(*) FROM flights")" = 1 &&
	grep -q "^Subject: \[mv baseline test\] $F: all pass" sent.mbox &&
	test -s "$STATE/logs/$F/report.txt"
'

test_expect_success 'a good staging commit is tested and pushed' '
	"$DEMO_TREE" commit trees good >good.rev &&
	h gate run mv >run.out && F=$(flight_of run.out) && echo $F >good.flight &&
	test "$(q "SELECT target_revision FROM flights WHERE id=$F")" = "$(cat base.rev)" &&
	test "$(q "SELECT revision FROM flight_revisions WHERE flight=$F")" = "$(cat good.rev)" &&
	test "$(q "SELECT val FROM runvars WHERE flight=$F AND job=\$\$test-arm64\$\$ AND name=\$\$revision_minivisor\$\$")" = "$(cat good.rev)" &&
	finish $F &&
	h gate run mv >decide.out && cat decide.out &&
	test "$(verdict $F)" = "push t" &&
	test "$(master)" = "$(cat good.rev)" &&
	h flight report $F --json >r.json &&
	python3 -c "import json; d=json.load(open(\"r.json\")); assert d[\"verdict\"] == \"push\" and d[\"pushed\"] and d[\"failures\"] == [] and d[\"baseline\"][\"flight\"] == $(cat baseline.flight), d" &&
	h flight report $F >report.txt &&
	grep -x "Subject: \[mv test\] $F: all pass - PUSHED" report.txt &&
	grep -x "Pushing revision $(cat good.rev):" report.txt &&
	grep -q "^   $(cut -c1-7 base.rev)\.\.$(cut -c1-7 good.rev)  $(cat good.rev) -> master" report.txt &&
	grep -q "^commit $(cat good.rev)$" report.txt &&
	grep -q "^To: devel@example.org" sent.mbox &&
	q "SELECT kind FROM events WHERE flight=$F" | grep -qx branch.pushed
'

test_expect_success 'a regression is retested once, then not pushed' '
	"$DEMO_TREE" commit trees break arm64 >break.rev &&
	h gate run mv >run.out && F=$(flight_of run.out) && echo $F >break.flight &&
	finish $F test-arm64 &&
	h gate run mv >retest.out && cat retest.out &&
	grep -q "retest flight" retest.out &&
	R=$(q "SELECT id FROM flights WHERE retest_of=$F") && echo $R >retest.flight &&
	test "$(q "SELECT intent || string_agg(job, \$\$,\$\$) FROM flights f JOIN jobs j ON j.flight=f.id WHERE f.id=$R GROUP BY intent")" = retesttest-arm64 &&
	test "$(q "SELECT dep_flight || dep_job FROM job_deps WHERE flight=$R")" = "${F}build-amd64" &&
	test "$(q "SELECT (SELECT queued_at FROM flights WHERE id=$R) = (SELECT queued_at FROM flights WHERE id=$F)")" = t &&
	test "$(verdict $F)" = "pending f" &&
	finish $R test-arm64 &&
	h gate run mv >decide.out && cat decide.out &&
	test "$(verdict $F)" = "no-push f" &&
	test "$(verdict $R)" = "none f" &&
	test "$(master)" = "$(cat good.rev)" &&
	h flight report $F >report.txt &&
	grep -x "Subject: \[mv test\] $F: regressions - FAIL" report.txt &&
	grep -E "^ test-arm64 +1 smoke +fail +REGR\. vs\. $(cat good.flight)$" report.txt &&
	grep -x "flight $R mv retest" report.txt &&
	grep -x "Not pushing." report.txt &&
	h gate --once 2>idle.out &&
	grep -q "staging $(cut -c1-12 break.rev) was tested in flight $F (no-push)" idle.out
'

test_expect_success 'force-push pushes a tested revision despite its regressions' '
	F=$(cat break.flight) &&
	h branch force-push mv "$(cat break.rev)" --reason "known issue" >force.out &&
	test "$(q "SELECT force_rev FROM branches WHERE name=\$\$mv\$\$")" = "$(cat break.rev)" &&
	h gate run mv >run.out && cat run.out &&
	test "$(verdict $F)" = "push t" &&
	test "$(master)" = "$(cat break.rev)" &&
	test -z "$(q "SELECT force_rev FROM branches WHERE name=\$\$mv\$\$")" &&
	q "SELECT detail->>\$\$reason\$\$ FROM events WHERE kind=\$\$branch.force-push\$\$" | grep -qx "known issue"
'

test_expect_success 'a failure that the retest does not repeat is a heisenbug: pushed' '
	"$DEMO_TREE" commit trees fix arm64 >fix.rev &&
	h gate run mv >run.out && F=$(flight_of run.out) &&
	finish $F test-amd64 &&
	h gate run mv >/dev/null &&
	R=$(q "SELECT id FROM flights WHERE retest_of=$F") &&
	finish $R &&
	h gate run mv >decide.out && cat decide.out &&
	test "$(verdict $F)" = "push t" &&
	test "$(master)" = "$(cat fix.rev)" &&
	h flight report $F >report.txt &&
	grep -E "^ test-amd64 +1 smoke +fail +pass in $R-retest$" report.txt &&
	grep -x "Subject: \[mv test\] $F: tolerable FAIL - PUSHED" report.txt
'

test_expect_success 'too many regressions: no retest; a blocked branch never pushes' '
	h branch block mv --reason "release freeze" &&
	"$DEMO_TREE" commit trees good >g2.rev &&
	h gate run mv >run.out && F=$(flight_of run.out) &&
	finish $F test-arm64 test-riscv64 &&
	h gate run mv >decide.out && cat decide.out &&
	test -z "$(q "SELECT id FROM flights WHERE retest_of=$F")" &&
	test "$(verdict $F)" = "no-push f" &&
	"$DEMO_TREE" commit trees good >g3.rev &&
	h gate run mv >run.out && F=$(flight_of run.out) &&
	finish $F &&
	h gate run mv >decide.out &&
	test "$(verdict $F)" = "no-push f" &&
	test "$(master)" = "$(cat fix.rev)" &&
	h flight report $F | grep -x "Not pushing: the branch is blocked: release freeze (.*)." &&
	h branch list >list.txt && grep -E "^mv .* blocked " list.txt &&
	h branch unblock mv &&
	q "SELECT kind FROM events WHERE branch=\$\$mv\$\$ AND kind LIKE \$\$branch.%block%\$\$ ORDER BY id" >ev &&
	test "$(cat ev | tr "\n" " ")" = "branch.blocked branch.unblocked "
'

test_expect_success 'a target that moved meanwhile is not overwritten; the next cycle tests it' '
	"$DEMO_TREE" commit trees good >g4.rev &&
	h gate run mv >run.out && F=$(flight_of run.out) &&
	finish $F &&
	"$DEMO_TREE" push-master trees "$(cat g3.rev)" >/dev/null &&
	h gate run mv >decide.out && cat decide.out &&
	test "$(verdict $F)" = "no-push f" &&
	test "$(master)" = "$(cat g3.rev)" &&
	h flight report $F | grep -q "^Not pushing: master moved meanwhile" &&
	G=$(flight_of decide.out) && test "$G" != "$F" &&
	grep -q "testing $(cut -c1-12 g4.rev)" decide.out &&
	test "$(q "SELECT target_revision FROM flights WHERE id=$G")" = "$(cat g3.rev)"
'

test_expect_success 'gate run --wait follows the flight to its verdict' '
	G=$(q "SELECT max(id) FROM flights") &&
	finish $G && h gate run mv >/dev/null &&
	test "$(master)" = "$(cat g4.rev)" &&
	"$DEMO_TREE" commit trees good >g5.rev
	(h gate run mv --wait --json --timeout 60 >wait.json 2>wait.err; echo $? >wait.rc) &
	echo $! >wait.pid
	wait_for "test -n \"\$(flight_at $(cat g5.rev))\"" 20 &&
	F=$(flight_at "$(cat g5.rev)") &&
	finish $F &&
	wait_for "test -s wait.rc" 30 &&
	cat wait.err &&
	test "$(cat wait.rc)" = 0 &&
	grep -q "flight $F queued: 4 queued, 0 running, 0 done" wait.err &&
	head -n 1 wait.json | grep -x "flight $F" &&
	sed 1d wait.json | python3 -c "import json,sys; d=json.load(sys.stdin); assert d[\"flight\"] == $F and d[\"verdict\"] == \"push\" and d[\"pushed\"], d" &&
	test "$(master)" = "$(cat g5.rev)"
'

test_expect_success 'a push done before a crash of the gate is recorded as pushed' '
	"$DEMO_TREE" commit trees good >g6.rev &&
	h gate run mv >run.out && F=$(flight_of run.out) &&
	finish $F &&
	"$DEMO_TREE" push-master trees "$(cat g6.rev)" >/dev/null &&
	h gate run mv >decide.out && cat decide.out &&
	test "$(verdict $F)" = "push t" &&
	h flight report $F | grep -q "^master is there already (pushed by an earlier cycle"
'

test_expect_success 'flight rerun: the same revisions again, all jobs or one' '
	F=$(flight_at "$(cat g6.rev)") &&
	h flight rerun $F test-arm64 >rerun.out && N=$(flight_of rerun.out) &&
	test "$(q "SELECT intent || branch || string_agg(job, \$\$,\$\$) FROM flights f JOIN jobs j ON j.flight = f.id WHERE f.id = $N GROUP BY intent, branch")" = adhocmvtest-arm64 &&
	test "$(q "SELECT dep_flight FROM job_deps WHERE flight=$N")" = $F &&
	test "$(q "SELECT revision FROM flight_revisions WHERE flight=$N")" = "$(cat g6.rev)" &&
	h flight rerun $F >rerun2.out && N2=$(flight_of rerun2.out) &&
	test "$(q "SELECT count(*) FROM jobs WHERE flight=$N2")" = 4 &&
	rc=0 && h flight rerun $F nosuch 2>err || rc=$? &&
	test $rc = 1 && grep -q "no job .nosuch." err &&
	h flight cancel $N >/dev/null && h flight cancel $N2 >/dev/null
'

test_expect_success 'an unreachable tree leaves the decision to the next cycle' '
	"$DEMO_TREE" commit trees good >g7.rev &&
	h gate run mv >run.out && F=$(flight_of run.out) &&
	test "$(q "SELECT revision FROM flight_revisions WHERE flight=$F")" = "$(cat g7.rev)" &&
	finish $F &&
	mv trees/minivisor.git trees/away.git &&
	rc=0 && h gate run mv >down.out 2>down.err || rc=$? &&
	mv trees/away.git trees/minivisor.git &&
	cat down.err && test $rc = 1 &&
	test "$(verdict $F)" = "pending f" &&
	h gate run mv >decide.out &&
	test "$(verdict $F)" = "push t" &&
	test "$(master)" = "$(cat g7.rev)"
'

test_expect_success 'a force on a blocked branch waits for the unblock, and is used once' '
	"$DEMO_TREE" commit trees break riscv64 >b2.rev &&
	h gate run mv >run.out && F=$(flight_of run.out) &&
	finish $F test-riscv64 && h gate run mv >/dev/null &&
	R=$(q "SELECT id FROM flights WHERE retest_of=$F") &&
	finish $R test-riscv64 && h gate run mv >/dev/null &&
	test "$(verdict $F)" = "no-push f" &&
	h branch block mv --reason "hold" &&
	h branch force-push mv "$(cat b2.rev)" &&
	h gate --once 2>/dev/null && h gate --once 2>/dev/null &&
	test "$(q "SELECT count(*) FROM events WHERE flight=$F AND kind=\$\$flight.decided\$\$")" = 1 &&
	test "$(verdict $F)" = "no-push f" &&
	h branch unblock mv &&
	h gate --once 2>/dev/null &&
	test "$(verdict $F)" = "push t" &&
	test "$(master)" = "$(cat b2.rev)" &&
	test -z "$(q "SELECT force_rev FROM branches WHERE name=\$\$mv\$\$")"
'

test_expect_success 'gate run tests a tip again; the daemon does after [gate] again' '
	h branch block mv &&
	"$DEMO_TREE" commit trees good >g8.rev &&
	h gate run mv >run.out && F=$(flight_of run.out) &&
	finish $F && h gate run mv >/dev/null &&
	test "$(verdict $F)" = "no-push f" &&
	h gate --once 2>once.err && grep -q "was tested in flight $F" once.err &&
	h gate run mv >again.out && F2=$(flight_of again.out) &&
	test "$F2" -gt "$F" &&
	test "$(q "SELECT revision FROM flight_revisions WHERE flight=$F2")" = "$(cat g8.rev)" &&
	finish $F2 && h gate run mv >/dev/null && test "$(verdict $F2)" = "no-push f" &&
	q "UPDATE flights SET decided_at = now() - interval \$\$7 hours\$\$ WHERE id = $F2" &&
	h gate --once 2>once.err && cat once.err &&
	F3=$(q "SELECT max(id) FROM flights WHERE branch=\$\$mv\$\$") &&
	test "$F3" -gt "$F2" &&
	test "$(q "SELECT revision FROM flight_revisions WHERE flight=$F3")" = "$(cat g8.rev)" &&
	h flight cancel $F3 >/dev/null && h gate run mv >/dev/null && h branch unblock mv
'

test_expect_success 'a pinned tree is tested at the tested output of its own gate' '
	cat >>lab.conf <<-CONF &&
	[tree "qemu"]
		url = $TEST_DIR/qemu/minivisor.git
	[branch "qemu"]
		tree = qemu
		jobs = build-amd64
	[branch "mvp"]
		tree = minivisor
		pin = qemu
		jobs = build-amd64
	CONF
	h lab apply lab.conf >/dev/null &&
	h gate run mvp >run.out && F=$(flight_of run.out) &&
	test "$(q "SELECT revision FROM flight_revisions WHERE flight=$F AND tree=\$\$qemu\$\$")" = \
		"$(git --git-dir qemu/minivisor.git rev-parse master)" &&
	test "$(q "SELECT val FROM runvars WHERE flight=$F AND job=\$\$build-amd64\$\$ AND name=\$\$revision_qemu\$\$")" = \
		"$(git --git-dir qemu/minivisor.git rev-parse master)" &&
	"$DEMO_TREE" commit qemu good >q2.rev &&
	"$DEMO_TREE" push-master qemu "$(cat q2.rev)" >/dev/null &&
	finish $F &&
	h gate run mvp >run.out && cat run.out && G=$(flight_of run.out) &&
	test "$G" != "$F" &&
	test "$(q "SELECT revision FROM flight_revisions WHERE flight=$G AND tree=\$\$minivisor\$\$")" = \
		"$(git --git-dir "$BARE" rev-parse staging)" &&
	test "$(q "SELECT revision FROM flight_revisions WHERE flight=$G AND tree=\$\$qemu\$\$")" = "$(cat q2.rev)"
'

# how many sessions hold (t) or wait for (f) a lock on branches
branches_locks() {
	q "SELECT count(*) FROM pg_locks WHERE relation = 'branches'::regclass AND granted = '$1'"
}

test_expect_success 'SIGTERM during a cycle stops the daemon then, not after its interval' '
	{ "$HANGAR" --config lab.conf gate >gated.log 2>&1 & echo $! >gated.pid; } &&
	wait_for "grep -q watching gated.log" 10 &&
	# its cycle waits for a lock; the signal comes meanwhile, then the
	# lock goes, and nothing would wake the 60 s wait after the cycle
	psql -X -q "$CONN application_name=locker" \
		-c "BEGIN; LOCK TABLE branches; SELECT pg_sleep(60)" >/dev/null 2>&1 &
	locker=$! &&
	wait_for "test \$(branches_locks t) = 1" 10 &&
	q "NOTIFY hangar_gate" &&
	wait_for "test \$(branches_locks f) = 1" 20 ||
		{ cat gated.log; show_sessions; false; } &&
	kill -TERM $(cat gated.pid) &&
	q "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	   WHERE application_name = '\''locker'\''" >/dev/null &&
	! wait $locker &&
	wait_for "! pid_alive $(cat gated.pid)" 10 &&
	grep -q "stopped" gated.log
'

test_expect_success 'usage errors and unknown branches' '
	rc=0 && h gate run nosuch 2>err || rc=$? &&
	test $rc = 1 && grep -q "no branch .nosuch." err &&
	rc=0 && h gate run 2>err || rc=$? && test $rc = 2 &&
	rc=0 && h branch force-push mv 2>err || rc=$? && test $rc = 2 &&
	rc=0 && h branch block nosuch 2>err || rc=$? && test $rc = 1
'

test_done
