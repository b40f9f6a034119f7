#!/bin/bash
# The gate's judgement of a flight, against OSSTest's sg-report-flight
# (reference §4.2 and scenarios 1-11 of §11(b)): a history built in a real
# PostgreSQL by hand, then `hangar flight report F [--json]`.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
h() { "$HANGAR" --config lab.conf "$@"; }
test_when_finished 'kill_pid $(cat "$TEST_DIR"/web.pid 2>/dev/null); kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

. "$SRCDIR/tests/integ/lib-gate-history.sh"

{
	printf '[lab]\n\tstate = %s\n' "$STATE"
	gate_history_conf
} >lab.conf
gate_history_sql >history.sql

# class F JOB STEP: "CLASS BLOCKING TEXT" of that failure in report.F.json
class() {
	python3 - "$@" <<'PY'
import json, sys
f, job, step = sys.argv[1:4]
d = json.load(open("report.%s.json" % f))
for x in d["failures"]:
    if x["job"] == job and x["step"] == step:
        print(x["class"], "blocking" if x["blocking"] else "nonblocking", x["text"])
        break
else:
    print("absent")
PY
}
expect_class() {
	local got
	got=$(class "$1" "$2" "$3")
	[ "$got" = "$4" ] || { echo "flight $1 $2 $3: got '$got', want '$4'"; return 1; }
}

test_expect_success 'a history of flights, and their reports' '
	h lab apply lab.conf >/dev/null &&
	psql -X -q -v ON_ERROR_STOP=1 "$CONN" -f history.sql &&
	for f in 101 103 104 105 106 108 110 113 116 118; do
		h flight report $f --json >report.$f.json &&
		h flight report $f >report.$f.txt || return 1
	done &&
	cat report.101.txt
'

test_expect_success '1: a step that passed in the baseline and fails now is a regression' '
	expect_class 101 test-amd64-amd64-xl guest-start "regression blocking REGR. vs. 100" &&
	grep -E "^ test-amd64-amd64-xl +[0-9]+ guest-start +fail +REGR\. vs\. 100$" report.101.txt &&
	grep -x "    xen-unstable:test-amd64-amd64-xl:guest-start:fail:regression" report.101.txt &&
	grep -x "Subject: \[xen-unstable test\] 101: regressions - trouble: blocked/broken/fail/pass/starved" report.101.txt &&
	python3 -c "import json; d=json.load(open(\"report.101.json\")); assert {\"job\": \"test-amd64-amd64-xl\", \"step\": \"guest-start\", \"baseline_flight\": 100, \"flight\": 101} in d[\"regressions\"], d[\"regressions\"]; assert d[\"baseline\"] == {\"flight\": 102, \"revisions\": {\"xen\": \"$OLD\"}}, d[\"baseline\"]; assert d[\"tested\"] == {\"xen\": \"$NEW\"}"
'

test_expect_success '2: a failure like the baseline does not block; tolerable' '
	expect_class 101 test-like guest-start "fail-like-baseline nonblocking like 100" &&
	expect_class 104 test-like guest-start "fail-like-baseline nonblocking like 100" &&
	grep -x "Subject: \[xen-unstable test\] 104: tolerable FAIL" report.104.txt &&
	grep -x "Failures :-/ but no regressions." report.104.txt &&
	grep -x "    xen-unstable:test-like:guest-start:fail:nonblocking" report.104.txt &&
	sed -n "/^Tests which did not succeed, but are not blocking:/,/^$/p" report.104.txt | grep -E "^ test-like +1 guest-start +fail +like 100$"
'

test_expect_success '3: the same failure in any baseline flight wins over a pass' '
	expect_class 101 test-three guest-start "fail-like-baseline nonblocking like 102"
'

test_expect_success '4: for a build, any baseline pass is a regression' '
	expect_class 101 build-arm64 build "regression blocking REGR. vs. 100"
'

test_expect_success '5: a step that never passed on the branch is "never pass"' '
	expect_class 101 test-never migrate-support-check "never-pass nonblocking never pass"
'

test_expect_success '6: no baseline flight ran the job: "baseline untested"' '
	expect_class 101 test-untested guest-start "baseline-untested nonblocking baseline untested" &&
	expect_class 101 test-notrun guest-start "baseline-untested nonblocking blocked in 100"
'

test_expect_success '7: a blocked job is n/a; its build carries the regression' '
	expect_class 101 test-armhf-armhf-xl "<none executed>" "blocked nonblocking n/a" &&
	expect_class 101 build-armhf build "regression blocking REGR. vs. 100" &&
	grep -E "^ test-armhf-armhf-xl +<none executed> +blocked +n/a$" report.101.txt &&
	expect_class 101 test-starved "<none executed>" "starved blocking n/a"
'

test_expect_success '8: broken where the baseline passed blocks' '
	expect_class 101 test-broken guest-start "broken blocking REGR. vs. 100" &&
	expect_class 106 test-broken guest-start "broken blocking REGR. vs. 100" &&
	grep -x "Failures and problems with tests :-(" report.106.txt &&
	python3 -c "import json; d=json.load(open(\"report.106.json\")); assert d[\"regressions\"] == [], d"
'

test_expect_success '9: a job broken without a failing step is a blocker' '
	expect_class 101 test-nostep "<none executed>" "broken blocking "
'

test_expect_success '10: passed in another flight of the same revisions: heisenbug' '
	expect_class 101 test-heisen guest-start "heisenbug nonblocking pass in 103" &&
	sed -n "/^Tests which are failing intermittently (not blocking):/,/^$/p" report.101.txt |
		grep -E "^ test-heisen +1 guest-start +fail +pass in 103$" &&
	grep -x "    xen-unstable:test-heisen:guest-start:fail:heisenbug" report.101.txt &&
	# 103 failed test-like as 101 did: listed once (OSSTest lists a job
	# and step once per category)
	test $(grep -c "^ test-like .* guest-start " report.101.txt) = 1
'

test_expect_success 'a heisenbug flight brings its own regression: no push' '
	expect_class 108 test-seq boot "heisenbug nonblocking pass in 107" &&
	python3 - <<-\PY &&
	import json
	d = json.load(open("report.108.json"))
	assert d["judgement"] == "regressions", d
	m = [x for x in d["failures"] if x["step"] == "migrate"]
	assert m == [{"job": "test-seq", "step": "migrate", "stepno": 2, "status": "fail",
	              "class": "regression", "blocking": True, "text": "REGR. vs. 100",
	              "flight": 107}], m
	assert {"job": "test-seq", "step": "migrate", "baseline_flight": 100,
	        "flight": 107} in d["regressions"], d["regressions"]
	PY
	grep -x "Subject: \[xen-unstable test\] 108: regressions - ALL FAIL" report.108.txt &&
	sed -n "/^Tests which did not succeed and are blocking,/,/^$/p" report.108.txt |
		grep -E "^ test-seq +2 migrate +fail +in 107 REGR\. vs\. 100$" &&
	grep -x "    xen-unstable:test-seq:migrate:fail:regression" report.108.txt &&
	grep -x "Regressions :-(" report.108.txt
'

test_expect_success 'a heisenbug flight whose later failure is like the baseline: tolerable' '
	expect_class 110 test-seq2 boot "heisenbug nonblocking pass in 109" &&
	grep -x "Subject: \[xen-unstable test\] 110: tolerable ALL FAIL" report.110.txt &&
	sed -n "/^Tests which did not succeed, but are not blocking:/,/^$/p" report.110.txt |
		grep -E "^ test-seq2 +2 migrate +fail +in 109 like 100$" &&
	python3 -c "import json; d=json.load(open(\"report.110.json\")); assert d[\"judgement\"] == \"tolerable\", d"
'

test_expect_success 'heisen flights of heisen flights are searched, each once' '
	expect_class 113 test-seq boot "heisenbug nonblocking pass in 112" &&
	sed -n "/^Tests which are failing intermittently (not blocking):/,/^$/p" report.113.txt >heisen.113 &&
	grep -E "^ test-seq +1 boot +fail +pass in 112$" heisen.113 &&
	grep -E "^ test-seq +2 migrate +fail +in 112 pass in 111$" heisen.113 &&
	grep -E "^ test-seq +3 reboot +fail +in 111 never pass$" report.113.txt &&
	grep -x "Subject: \[xen-unstable test\] 113: tolerable ALL FAIL" report.113.txt &&
	python3 -c "import json; d=json.load(open(\"report.113.json\")); assert sorted(x[\"flight\"] for x in d[\"failures\"]) == [111, 112, 113], d"
'

test_expect_success 'heisen flights that justify each other: each judged once' '
	expect_class 116 test-seq boot "heisenbug nonblocking pass in 115" &&
	expect_class 116 test-seq2 boot "heisenbug nonblocking pass in 115" &&
	grep -E "^ test-seq +2 migrate +fail +in 115 pass in 114$" report.116.txt &&
	grep -E "^ test-t +1 boot +fail +in 115 pass in 116$" report.116.txt &&
	grep -E "^ test-cyc +1 reboot +fail +in 114 pass in 115$" report.116.txt &&
	grep -x "Subject: \[xen-unstable test\] 116: tolerable FAIL" report.116.txt &&
	python3 -c "import json; d=json.load(open(\"report.116.json\")); fl=[x[\"flight\"] for x in d[\"failures\"]]; assert sorted(fl) == [114, 115, 115, 116, 116], fl"
'

test_expect_success 'a pass in a flight still running justifies nothing' '
	expect_class 118 test-seq boot "regression blocking REGR. vs. 100" &&
	grep -x "Subject: \[xen-unstable test\] 118: regressions - ALL FAIL" report.118.txt
'

test_expect_success '11: the allow list makes a regression allowable; ! takes a line back' '
	expect_class 101 test-amd64-amd64-xl-rtds guest-start "allowed nonblocking REGR. vs. 100" &&
	sed -n "/^Regressions which are regarded as allowable (not blocking):/,/^$/p" report.101.txt |
		grep -E "^ test-amd64-amd64-xl-rtds +1 guest-start +fail +REGR\. vs\. 100$" &&
	grep -x "    xen-unstable:test-amd64-amd64-xl-rtds:guest-start:fail:allowable" report.101.txt &&
	expect_class 101 test-amd64-amd64-xl-credit2 guest-start "regression blocking REGR. vs. 100"
'

test_expect_success 'a flight where everything passed is perfect' '
	grep -x "Subject: \[xen-unstable test\] 105: all pass" report.105.txt &&
	grep -x "Perfect :-)" report.105.txt &&
	python3 -c "import json; d=json.load(open(\"report.105.json\")); assert d[\"failures\"] == [] and d[\"outcome\"] == \"all pass\", d"
'

test_expect_success 'the mail has the versions, the basis and the job list' '
	grep -x "version targeted for testing:" report.101.txt &&
	grep -E "^ xen +$NEW$" report.101.txt &&
	grep -x "baseline version:" report.101.txt &&
	grep -E "^ xen +$OLD$" report.101.txt &&
	grep -E "^Last test of basis +102  [0-9-]+ [0-9:]+ Z +1 days$" report.101.txt &&
	grep -E "^Testing same since +101  [0-9-]+ [0-9:]+ Z +1 days +1 attempts$" report.101.txt &&
	grep -E "^ test-never +fail$" report.101.txt &&
	grep -x "X-Hangar-Versions-That:" report.101.txt
'

test_expect_success 'a missing flight is an error; the report needs no scan of history' '
	rc=0 && h flight report 99999 2>err || rc=$? &&
	test $rc = 1 &&
	grep "no flight 99999" err &&
	q "EXPLAIN SELECT f.id FROM flight_revisions fr JOIN flights f ON f.id = fr.flight WHERE fr.tree = \$\$xen\$\$ AND fr.revision = \$\$$OLD\$\$" >plan.txt &&
	grep -q "flight_revisions_rev_idx\|flight_revisions_pkey" plan.txt || { cat plan.txt; false; }
'

PORT=$(free_port)
test_expect_success 'the API serves the same report, the flights and the branches' '
	setsid "$HANGAR" --config lab.conf web --listen 127.0.0.1:$PORT >web.log 2>&1 &
	echo $! >web.pid
	wait_for "curl -fsS http://127.0.0.1:$PORT/api/v1/flights >flights.json" 20 &&
	U=http://127.0.0.1:$PORT/api/v1 &&
	curl -fsS $U/flights/101/report >api.101.json &&
	python3 -c "import json; a=json.load(open(\"api.101.json\")); c=json.load(open(\"report.101.json\")); assert a == c, (a, c)" &&
	curl -fsS $U/flights/101 >f.json &&
	python3 -c "import json; d=json.load(open(\"f.json\")); assert d[\"flight\"] == 101 and len(d[\"jobs\"]) == 16, d" &&
	python3 -c "import json; d=json.load(open(\"flights.json\")); assert [x[\"flight\"] for x in d][:3] == [118, 117, 116], d" &&
	curl -fsS $U/branches >b.json &&
	python3 -c "import json; d=json.load(open(\"b.json\")); assert d[0][\"name\"] == \"xen-unstable\" and d[0][\"last_flight\"][\"flight\"] == 118, d" &&
	curl -fsS http://127.0.0.1:$PORT/flights/101 >f101.html &&
	grep -q "REGR. vs. 100" f101.html && grep -q "regression (blocking)" f101.html &&
	grep -q "&lt;none executed&gt;" f101.html && ! grep -q "<none executed>" f101.html &&
	grep -Eq "class=\"st-fail\"[^>]*>(<a [^>]*>)?guest-start" f101.html &&
	curl -fsS http://127.0.0.1:$PORT/flights >fl.html &&
	grep -q "href=\"/flights/106\"" fl.html &&
	code=$(curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:$PORT/flights/77777) &&
	test "$code" = 404 &&
	for path in flights/99999/report flights/99999 flights/abc flights/101/nope flights/1x; do
		code=$(curl -s -o nf.json -w "%{http_code}" "$U/$path") &&
		test "$code" = 404 && grep -q "\"error\"" nf.json || { echo "$path: $code"; return 1; }
	done &&
	kill_pidfile web.pid
'

test_done
