#!/bin/bash
# Bisection on a real git tree, with each bisect flight's results written
# by the test (no lab): a gate regression over six staging commits whose
# 4th breaks arm64 starts a bisection by itself, and `hangar bisect run`
# steps it to `found`, naming exactly that commit, with every flight on the
# failure's host; a flaky step gives no confident culprit; a basis that
# fails again is unreproducible; a job on two hosts keeps them, in their
# roles; a bisection whose flights never count stops, flailing; one whose
# host is gone ends, inconclusive; each outcome is mailed; the dashboard
# and the API show them.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"
test_skip_unless git

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
BARE=$TEST_DIR/trees/minivisor.git
h() { "$HANGAR" --config lab.conf "$@"; }
flight_of() { sed -n "s/^flight //p" "$1" | head -n 1; }
test_when_finished 'kill_pid $(cat "$TEST_DIR"/*.pid 2>/dev/null); kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

cat >lab.conf <<CONF
[lab]
	state = $STATE
[gate]
	retest = false
	sendmail = tee -a $TEST_DIR/sent.mbox
	mail-to = devel@example.org
[tree "minivisor"]
	url = $BARE
[branch "mv"]
	tree = minivisor
	jobs = build-amd64 test-arm64
[recipe "build"]
	step = build make dist
	artifacts = dist/*.tar.gz
[recipe "test"]
	step = run smoke ./smoke.sh
[job "build-amd64"]
	recipe = build
	arch = x86_64
[job "test-arm64"]
	recipe = test
	arch = arm64
	needs = build-amd64
[host "b1"]
	arch = x86_64
	address = 127.0.9.1
[host "a1"]
	arch = arm64
	address = 127.0.9.2
[host "a2"]
	arch = arm64
	address = 127.0.9.3
[host "a3"]
	arch = arm64
	address = 127.0.9.4
[host "a4"]
	arch = arm64
	address = 127.0.9.5
CONF

# finish F VERDICT: the flight's jobs end, test-arm64 on HOST (a1 unless
# the flight pinned another) passing or failing its smoke step
finish() {
	local f=$1 smoke=$2 host=${3:-a1}
	q "BEGIN;
	   INSERT INTO steps (flight, job, stepno, kind, name, status)
	   SELECT flight, job, 1, CASE WHEN job LIKE 'build%' THEN 'build' ELSE 'run' END,
	          CASE WHEN job LIKE 'build%' THEN 'build' ELSE 'smoke' END,
	          CASE WHEN job = 'test-arm64' THEN '$smoke' ELSE 'pass' END
	   FROM jobs WHERE flight = $f;
	   INSERT INTO allocations (host, flight, job, ident, released_at)
	   SELECT CASE WHEN job = 'test-arm64' THEN '$host' ELSE 'b1' END, flight, job,
	          'host', now() FROM jobs WHERE flight = $f;
	   UPDATE jobs SET status = CASE WHEN job = 'test-arm64' THEN '$smoke' ELSE 'pass' END,
	          started_at = now(), finished_at = now() WHERE flight = $f;
	   UPDATE flights SET status = 'finished', finished_at = now() WHERE id = $f;
	   COMMIT"
}
rev_of() { q "SELECT revision FROM flight_revisions WHERE flight = $1"; }
# bad REV: whether REV contains the breaking commit
bad() { git --git-dir "$BARE" merge-base --is-ancestor "$(cat c4.rev)" "$1"; }
# play N ORACLE: steps bisection N, answering each flight with ORACLE
# (a function of the flight's revision and how often it was tested)
play() {
	local n=$1 oracle=$2 i f r host
	host=$(q "SELECT hosts[1] FROM bisections WHERE id = $n")
	: >tested
	for i in $(seq 1 40); do
		h bisect run "$n" >step.out || return 1
		f=$(sed -n "s/^bisection $n: flight \([0-9]*\).*/\1/p" step.out)
		[ -n "$f" ] || { cat step.out; return 0; }
		test "$(q "SELECT bisection || intent FROM flights WHERE id = $f")" = "${n}bisect" || return 1
		r=$(rev_of "$f")
		echo "$r" >>tested
		finish "$f" "$($oracle "$r" "$(grep -c "^$r\$" tested)")" "$host" || return 1
	done
	echo "no outcome after 40 flights"
	return 1
}
truth() { if bad "$1"; then echo fail; else echo pass; fi; }

test_expect_success 'a regression over six commits starts a bisection by itself' '
	"$DEMO_TREE" create trees >base.rev &&
	h lab apply lab.conf >/dev/null &&
	h gate run mv >b.out && B=$(flight_of b.out) && echo $B >B &&
	finish $B pass && h gate run mv >/dev/null &&
	"$DEMO_TREE" commit trees good >c1.rev &&
	"$DEMO_TREE" commit trees good >c2.rev &&
	"$DEMO_TREE" commit trees good >c3.rev &&
	"$DEMO_TREE" commit trees break arm64 >c4.rev &&
	"$DEMO_TREE" commit trees good >c5.rev &&
	"$DEMO_TREE" commit trees good >c6.rev &&
	h gate run mv >f.out && F=$(flight_of f.out) && echo $F >F &&
	test "$(rev_of $F)" = "$(cat c6.rev)" &&
	finish $F fail &&
	h gate run mv >d.out && cat d.out &&
	test "$(q "SELECT verdict FROM flights WHERE id = $F")" = no-push &&
	h bisect list >list.out && cat list.out &&
	grep -q "^bisection 1  running  test-arm64 smoke on mv" list.out &&
	test "$(q "SELECT basis_flight || '"'"' '"'"' || failure_flight || '"'"' '"'"' || array_to_string(hosts, '"'"','"'"') FROM bisections WHERE id = 1")" = "$B $F a1"
'

test_expect_success 'found: exactly the breaking commit, reproduced, on the same host' '
	play 1 truth && cat step.out &&
	grep -q "^bisection 1: found $(cut -c1-12 c4.rev)" step.out &&
	h bisect show 1 --json >show.json &&
	python3 -c "import json; d=json.load(open(\"show.json\")); c=d[\"culprit\"]; assert d[\"status\"] == \"found\" and c == {\"tree\": \"minivisor\", \"commit\": \"$(cat c4.rev)\", \"parent\": \"$(cat c3.rev)\"}, d" &&
	test "$(q "SELECT count(*) FROM flights f WHERE f.bisection = 1 AND NOT EXISTS (SELECT 1 FROM allocations a WHERE a.flight = f.id AND a.job = '"'"'test-arm64'"'"' AND a.host = '"'"'a1'"'"')")" = 0 &&
	test "$(q "SELECT count(*) FROM jobs j JOIN flights f ON f.id = j.flight WHERE f.bisection = 1 AND j.job = '"'"'test-arm64'"'"'")" = "$(wc -l <tested)" &&
	n=$(wc -l <tested) && echo "$n bisect flights" && test "$n" -le 9 &&
	test "$(grep -c "^$(cat c4.rev)\$" tested)" -ge 2 &&
	test "$(grep -c "^$(cat c3.rev)\$" tested)" -ge 2 &&
	grep -q "Bug introduced:  $(cat c4.rev)" "$STATE/logs/bisect-1.txt" &&
	grep -q "Bug not present: $(cat c3.rev)" "$STATE/logs/bisect-1.txt" &&
	grep -q "^\*\*\* Found and reproduced problem changeset \*\*\*" "$STATE/logs/bisect-1.txt"
'

test_expect_success 'the outcome is mailed, once' '
	grep -x "Subject: \[mv bisection\] complete test-arm64" sent.mbox &&
	grep -x "To: devel@example.org" "$STATE/logs/bisect-1.mail" &&
	grep -q "^  Bug introduced:  $(cat c4.rev)" sent.mbox &&
	grep -q "^  Author: Minivisor Developer" sent.mbox &&
	python3 -c "import sys; assert open(sys.argv[1]).read() in open(\"sent.mbox\").read()" "$STATE/logs/bisect-1.mail" &&
	h bisect run 1 >again.out && grep -q "^bisection 1: found" again.out &&
	test "$(grep -c "^Subject: \[mv bisection\]" sent.mbox)" = 1
'

# The culprit's parent fails once (a flaky step): a confident answer would
# be wrong somewhere, so there must be none.
flaky() {
	if [ "$1" = "$(cat c3.rev)" ] && [ "$2" = 1 ]; then echo fail; else truth "$1"; fi
}
# refail HOST: the failure again, on another host (results of one host
# are never used for another: the new bisection starts from nothing)
refail() {
	h flight rerun "$(cat F)" >rerun.out &&
	F2=$(flight_of rerun.out) &&
	finish "$F2" fail "$1" &&
	echo "$F2"
}
test_expect_success 'a flaky step gives no confident culprit' '
	F2=$(refail a2) && test -n "$F2" &&
	h bisect start --branch mv --job test-arm64 --step smoke \
		--basis $(cat B) --failure $F2 >start.out &&
	grep -q "^bisection 2: test-arm64 smoke on mv" start.out &&
	! h bisect start --branch mv --job test-arm64 --step smoke 2>dup.err &&
	grep -q "already runs" dup.err &&
	play 2 flaky && cat step.out &&
	! grep -q "found" step.out &&
	test "$(q "SELECT status FROM bisections WHERE id = 2")" != found
'

basis_fails() {
	if [ "$1" = "$(cat base.rev)" ]; then echo fail; else truth "$1"; fi
}
test_expect_success 'a basis that fails again: unreproducible' '
	F3=$(refail a3) && test -n "$F3" &&
	h bisect start --branch mv --job test-arm64 --step smoke \
		--basis $(cat B) --failure $F3 >start.out &&
	N=$(sed -n "s/^bisection \([0-9]*\):.*/\1/p" start.out) &&
	play $N basis_fails && cat step.out &&
	grep -q "^bisection $N: unreproducible" step.out &&
	grep -q "^Not reproducible" "$STATE/logs/bisect-$N.txt"
'

# The failure of a job on two hosts (roles host and host2, not in name
# order); its flights are cancelled, so nothing ever counts.
test_expect_success 'two hosts stay pinned in their roles; flailing ends doubtful' '
	h flight rerun "$(cat F)" >rerun.out && F4=$(flight_of rerun.out) &&
	finish "$F4" fail a4 &&
	q "INSERT INTO allocations (host, flight, job, ident, released_at)
	   VALUES (\$\$a3\$\$, $F4, \$\$test-arm64\$\$, \$\$host2\$\$, now())" &&
	h bisect start --branch mv --job test-arm64 --step smoke \
		--basis $(cat B) --failure $F4 >start.out &&
	N=$(sed -n "s/^bisection \([0-9]*\):.*/\1/p" start.out) &&
	test "$(q "SELECT array_to_string(hosts, \$\$ \$\$) FROM bisections WHERE id = $N")" = "a4 a3" &&
	for i in 1 2 3 4 5; do
		h bisect run $N >step.out &&
		f=$(sed -n "s/^bisection $N: flight \([0-9]*\).*/\1/p" step.out) &&
		test -n "$f" &&
		test "$(q "SELECT string_agg(name || \$\$=\$\$ || val, \$\$ \$\$ ORDER BY name) FROM runvars WHERE flight = $f AND job = \$\$test-arm64\$\$ AND name LIKE \$\$host%\$\$")" = "host=a4 host2=a3" &&
		h flight cancel $f >/dev/null || return 1
	done &&
	h bisect run $N >step.out && cat step.out &&
	grep -q "^bisection $N: doubtful .*flailing: 5 identical flights" step.out &&
	test "$(q "SELECT count(*) FROM flights WHERE bisection = $N")" = 5 &&
	grep -q "label=\"5 untested\", style=dashed" "$STATE/logs/bisect-$N.dot" &&
	grep -q "<svg" "$STATE/logs/bisect-$N.svg" &&
	grep -x "Subject: \[mv bisection\] doubtful test-arm64" sent.mbox
'

# A failure on a new host, a5, so its flights are pinned to a5, which
# goes into maintenance for good: the first bisect flight's test gives up
# on it after [scheduler] pinned-wait (the scheduler ends it broken), and
# the bisection ends, inconclusive, naming the host and why, instead of
# queueing flight after flight.
test_expect_success 'a bisection whose pinned host is gone ends inconclusive' '
	printf "[host \"a5\"]\n\tarch = arm64\n\taddress = 127.0.9.6\n[scheduler]\n\tpinned-wait = 1s\n" >>lab.conf &&
	h lab apply lab.conf >/dev/null &&
	F5=$(refail a5) && test -n "$F5" &&
	h bisect start --branch mv --job test-arm64 --step smoke \
		--basis $(cat B) --failure $F5 >start.out &&
	N=$(sed -n "s/^bisection \([0-9]*\):.*/\1/p" start.out) &&
	h host maintenance a5 on --reason "gone for good" >/dev/null &&
	h host maintenance b1 on --reason "no builds either" >/dev/null &&
	h bisect run $N >step.out && cat step.out &&
	f=$(sed -n "s/^bisection $N: flight \([0-9]*\).*/\1/p" step.out) &&
	test -n "$f" && sleep 2 &&
	h scheduler --once >sched.out && cat sched.out &&
	test "$(q "SELECT status || \$\$ \$\$ || broken_reason FROM jobs WHERE flight = $f AND job = \$\$test-arm64\$\$")" = \
		"broken pinned host a5 is in maintenance: gone for good" &&
	q "UPDATE jobs SET status = \$\$cancelled\$\$, finished_at = now()
	   WHERE flight = $f AND status = \$\$queued\$\$" &&
	test "$(q "SELECT status FROM flights WHERE id = $f")" = finished &&
	h bisect run $N >step.out && cat step.out &&
	grep -qx "bisection $N: inconclusive (pinned host a5 is in maintenance: gone for good)" step.out &&
	test "$(q "SELECT count(*) FROM flights WHERE bisection = $N")" = 1 &&
	h bisect show $N --json >gone.json &&
	python3 -c "import json; d=json.load(open(\"gone.json\")); assert d[\"status\"] == \"inconclusive\" and d[\"detail\"][\"why\"] == \"pinned host a5 is in maintenance: gone for good\", d" &&
	grep -q "^Exact problem changeset not identified (inconclusive): pinned host a5 is in maintenance: gone for good" "$STATE/logs/bisect-$N.txt" &&
	grep -x "Subject: \[mv bisection\] inconclusive test-arm64" sent.mbox &&
	h host maintenance a5 off >/dev/null && h host maintenance b1 off >/dev/null
'

PORT=$(free_port)
test_expect_success 'the dashboard and the API show the bisections' '
	setsid "$HANGAR" --config lab.conf web --listen 127.0.0.1:$PORT >web.log 2>&1 &
	echo $! >web.pid
	wait_for "curl -fsS http://127.0.0.1:$PORT/api/v1/bisections >b.json" 20 &&
	python3 -c "import json; d=json.load(open(\"b.json\")); assert d[-1][\"status\"] == \"found\" and len(d[-1][\"flights\"]) >= 5, d" &&
	curl -fsS http://127.0.0.1:$PORT/bisections/1 >b1.html &&
	grep -q "$(cat c4.rev)" b1.html && grep -q ">found<" b1.html &&
	grep -q "<svg" b1.html && grep -q "xlink:href=\"/flights/[0-9]*\"" b1.html &&
	grep -q "fill=\"#ee6666\"" b1.html &&
	curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:$PORT/bisections/9 | grep -qx 404 &&
	rc=0 && h bisect show 9 2>nf.err || rc=$? &&
	test $rc = 1 && grep -q "no bisection 9" nf.err
'

test_done
