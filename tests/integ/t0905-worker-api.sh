#!/bin/bash
# The worker protocol (docs/api.md section 7), driven with curl over HTTPS
# against `hangar web` with a private CA, as a remote site's worker would:
# worker tokens for sites a and b; the long-polled claim (it returns when
# the scheduler makes a job claimable, holding no thread meanwhile);
# heartbeat at the attempt; records, resent harmlessly; log chunks by
# offset; blobs by SHA-256 (a bad hash refused); the artifacts of a job
# it needs; the tree as a tar; finish. Site a's token gets 404 on site
# b's job and 403 everywhere but /api/v1/worker/; a job whose lease ran
# out is recovered (broken) once, and what its worker sends after is
# kept as evidence (409) and changes nothing. A local `hangar worker` of
# site a runs throughout and must never take site b's jobs.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"
test_skip_unless git
test_skip_unless openssl

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
BARE=$TEST_DIR/trees/minivisor.git
PORT=$(free_port)
W=https://127.0.0.1:$PORT
A=$W/api/v1
V=$A/worker
h() { "$HANGAR" --config lab.conf "$@"; }
flight_of() { sed -n "s/^flight //p" "$1" | head -n 1; }
# code TOKEN METHOD URL [curl args...]: the status code; the body in out.json
code() {
	local t=$1 m=$2 u=$3
	shift 3
	if [ "$m" = HEAD ]; then set -- --head "$@"; else set -- -X "$m" "$@"; fi
	curl -sS --cacert ca.pem -o out.json -w "%{http_code}" \
		${t:+-H "Authorization: Bearer $(cat tok.$t)"} "$@" "$u"
}
# beat FLIGHT JOB WORKER: renews its lease every second, in the background
beat() {
	(while :; do
		curl -s --cacert ca.pem -H "Authorization: Bearer $(cat tok.b)" \
			-d "{\"worker\": \"$3\", \"jobs\": [{\"flight\": $1, \"job\": \"$2\", \"attempt\": 1}]}" \
			-o /dev/null $V/heartbeat
		sleep 1
	done) &
	echo $! >beat-$2.pid
}
# post TOKEN URL JSON
post() { code "$1" POST "$2" -H "Content-Type: application/json" -d "$3"; }
# py EXPR: a Python assertion on out.json (as d)
py() { python3 -c "import json,sys; d=json.load(open(\"out.json\")); assert $1, d"; }
start_daemon() {
	setsid "$HANGAR" --config lab.conf "$@" >>"$1.log" 2>&1 &
	echo $! >"$1.pid"
}
test_when_finished 'kill_pid $(cat "$TEST_DIR"/*.pid 2>/dev/null); kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

# a private CA and the controller's certificate for 127.0.0.1
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem \
	-days 2 -subj "/CN=hangar test CA" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -keyout key.pem -out srv.csr \
	-subj "/CN=127.0.0.1" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-out cert.pem -days 2 -extfile san.ext >/dev/null 2>&1

# site b has the x86_64 hosts, so every job is site b's; site a has one
# arm64 host and a worker token of its own
cat >lab.conf <<CONF
[lab]
	state = $STATE
	site = a
[site "b"]
	lease = 12s
[web]
	tls-cert = cert.pem
	tls-key = key.pem
[scheduler]
	interval = 1s
[tree "minivisor"]
	url = $BARE
[branch "mv"]
	tree = minivisor
	jobs = build-amd64 test-amd64
[recipe "build"]
	step = build make dist
	artifacts = dist/*.tar.gz
[recipe "test"]
	step = run smoke ./smoke.sh
[job "build-amd64"]
	recipe = build
	arch = x86_64
[job "test-amd64"]
	recipe = test
	arch = x86_64
	needs = build-amd64
[host "b1"]
	site = b
	arch = x86_64
	address = 127.0.9.1
[host "b2"]
	site = b
	arch = x86_64
	address = 127.0.9.2
[host "a1"]
	arch = arm64
	address = 127.0.9.3
CONF

test_expect_success 'setup: a tree, the lab, tokens; the server over HTTPS only' '
	"$DEMO_TREE" create trees >base.rev &&
	h lab apply lab.conf >/dev/null &&
	test "$(q "SELECT string_agg(name || '\'':'\'' || site, '\'' '\'' ORDER BY name) FROM hosts")" = "a1:a b1:b b2:b" &&
	h token create --user wb --role worker --site b >tok.out &&
	grep -q "(worker, site b)" tok.out && tail -n 1 tok.out >tok.b &&
	h token create --user wa --role worker --site a --json >tok.json &&
	python3 -c "import json; d=json.load(open(\"tok.json\")); assert d[\"site\"] == \"a\"; open(\"tok.a\", \"w\").write(d[\"token\"])" &&
	h token create --user root --role admin >tok.out && tail -n 1 tok.out >tok.root &&
	h token list >list && grep -q "^[0-9]* *wb *worker *b " list &&
	start_daemon web --listen 127.0.0.1:$PORT &&
	wait_for "curl -fsS --cacert ca.pem $A/whoami" 20 &&
	grep -q "listening on https://" web.log &&
	! curl -fsS http://127.0.0.1:$PORT/api/v1/whoami &&
	! curl -fsS $A/whoami 2>err && grep -qi "certificate" err
'

test_expect_success 'a worker token: only with a site, and only for a known one' '
	test_expect_code() { set +e; "$@" 2>err; rc=$?; set -e; test $rc = 2; } &&
	test_expect_code h token create --user x --role worker &&
	grep -q "needs --site" err &&
	test_expect_code h token create --user x --role admin --site b &&
	test_expect_code h token create --user x --role worker --site nosuch &&
	grep -q "no site .nosuch." err &&
	test_expect_code h token create --user x --role worker --site Bad_Site
'

test_expect_success 'a worker token is 403 anywhere else; other tokens are 403 on the worker routes' '
	test $(code b GET $A/flights) = 403 &&
	py "d == {\"error\": \"forbidden\", \"detail\": \"a worker token is for /api/v1/worker/ only\"}" &&
	test $(code a GET $A/hosts) = 403 &&
	test $(code b GET $A/whoami) = 403 &&
	test $(code a POST $A/hosts/a1/maintenance -d "{\"on\": true}") = 403 &&
	test $(code b POST $A/branches/mv/force-push -d "{}") = 403 &&
	test $(code b GET $W/) = 403 &&
	test $(post root $V/claim "{\"worker\": \"x\"}") = 403 &&
	test $(post "" $V/claim "{\"worker\": \"x\"}") = 401 &&
	test $(post b $V/claim "{\"worker\": \"no/slash\"}") = 400 &&
	test $(post b $V/claim "{\"worker\": \"b1\", \"wait\": 61}") = 400
'

test_expect_success 'claim: nothing yet; a wait returns empty when its time is up' '
	test $(post b $V/claim "{\"worker\": \"wb1\"}") = 200 &&
	py "d == {\"job\": None, \"lease\": 12, \"heartbeat\": 2}" &&
	test $(post b $V/claim "{\"worker\": \"wb1\", \"version\": \"0.9 <b>\"}") = 400 &&
	py "\"version\" in d[\"detail\"]" &&
	start=$(date +%s%N) &&
	test $(post b $V/claim "{\"worker\": \"wb1\", \"wait\": 2}") = 200 &&
	end=$(date +%s%N) &&
	py "d[\"job\"] is None" &&
	test $(( (end - start) / 1000000 )) -ge 1500 &&
	test "$(q "SELECT name || '\'' '\'' || running FROM workers WHERE site = '\''b'\''")" = "wb1 0"
'

test_expect_success 'a long poll returns as soon as the scheduler makes a job claimable' '
	(curl -s --cacert ca.pem -H "Authorization: Bearer $(cat tok.b)" \
		-d "{\"worker\": \"wb1\", \"wait\": 40, \"spool\": {\"bytes\": 10, \"files\": 1}, \"version\": \"0.9-3-gabc1234\"}" \
		-o claim.json -w "%{http_code} %{time_total}\n" $V/claim >claim.code) &
	(curl -s --cacert ca.pem -H "Authorization: Bearer $(cat tok.a)" \
		-d "{\"worker\": \"wa1\", \"wait\": 4}" -o claim-a.json $V/claim) &
	sleep 1 &&
	start_daemon scheduler &&
	# a worker beside the database, of [lab] site a: it must leave site
	# b'"'"'s jobs alone
	start_daemon worker &&
	h gate run mv >run.out &&
	flight_of run.out >F &&
	wait_for "test -s claim.code" 30 && cat claim.code &&
	read status took <claim.code &&
	test $status = 200 &&
	python3 -c "import sys; assert float(sys.argv[1]) < 25, sys.argv[1]" $took &&
	F=$(cat F) &&
	# beat at once: on a loaded machine the checks below may outlast a lease
	beat $F build-amd64 wb1 &&
	python3 - $F <<-\PY
	import json, sys
	d = json.load(open("claim.json"))
	j = d["job"]
	assert j["flight"] == int(sys.argv[1]) and j["job"] == "build-amd64", j
	assert j["attempt"] == 1 and j["recipe"] == "build", j
	assert [h["name"] for h in j["hosts"]] in (["b1"], ["b2"]), j
	assert j["steps"] == [{"kind": "build", "name": "build", "command": "make dist",
	                       "timeout": 0, "cases": None}], j
	assert j["artifacts"] == ["dist/*.tar.gz"] and j["trees"][0]["name"] == "minivisor", j
	assert d["lease"] == 12 and d["heartbeat"] == 2, d
	PY
	test "$(q "SELECT lease_owner || '\'' '\'' || status FROM jobs WHERE flight = $F AND job = '\''build-amd64'\''")" = "b/wb1 running" &&
	# the version the worker claimed with runs the job: its harness
	test "$(q "SELECT harness FROM jobs WHERE flight = $F AND job = '\''build-amd64'\''")" = 0.9-3-gabc1234 &&
	test "$(q "SELECT spool_bytes || '\'' '\'' || spool_files FROM workers WHERE name = '\''wb1'\''")" = "10 1" &&
	grep -q "worker" worker.log && kill -0 $(cat worker.pid) &&
	wait_for "test -s claim-a.json" 10 &&
	python3 -c "import json; assert json.load(open(\"claim-a.json\"))[\"job\"] is None"
'
F=$(cat F 2>/dev/null)
J=$V/jobs/$F/build-amd64

test_expect_success 'heartbeat renews the job at its attempt only' '
	post b $V/heartbeat "{\"worker\": \"wb1\", \"jobs\": [{\"flight\": $F, \"job\": \"build-amd64\", \"attempt\": 1}], \"spool\": {\"bytes\": 0, \"files\": 0}}" >c &&
	test $(cat c) = 200 &&
	py "d == {\"held\": [{\"flight\": $F, \"job\": \"build-amd64\"}], \"cancelled\": []}" &&
	test "$(q "SELECT running FROM workers WHERE name = '\''wb1'\''")" = 1 &&
	test $(post b $V/heartbeat "{\"worker\": \"wb1\", \"jobs\": [{\"flight\": $F, \"job\": \"build-amd64\", \"attempt\": 2}]}") = 200 &&
	py "d[\"held\"] == []" &&
	test $(post b $V/heartbeat "{\"worker\": \"other\", \"jobs\": [{\"flight\": $F, \"job\": \"build-amd64\", \"attempt\": 1}]}") = 200 &&
	py "d[\"held\"] == []" &&
	test $(post b $V/heartbeat "{\"worker\": \"wb1\", \"jobs\": [{\"flight\": $F, \"job\": \"build-amd64\", \"attempt\": 1}]}") = 200
'

cat >recs.json <<JSON
{"worker": "wb1", "attempt": 1, "records": [
 {"type": "step-begin", "step": 1, "kind": "build", "name": "build", "at": 1765000000.5},
 {"type": "runvar", "name": "built_revision_minivisor", "value": "$(cat base.rev 2>/dev/null)"},
 {"type": "power", "host": "b1", "action": "status", "state": "on", "attempts": 1, "ms": 12, "detail": "on", "error": null},
 {"type": "step-end", "step": 1, "status": "pass", "detail": null, "at": 1765000060},
 {"type": "step-begin", "step": 2, "kind": "run", "name": "smoke"},
 {"type": "cases", "parent": "smoke", "parent_step": 2, "first": 3,
  "cases": [{"name": "a", "status": "pass", "detail": ""}, {"name": "b", "status": "fail", "detail": "2 != 1"}]},
 {"type": "step-end", "step": 2, "status": "fail", "detail": "1 case failed"},
 {"type": "firmware", "host": "b1", "firmware": "SeaBIOS 1.16.2-debian-1.16.2-1, iPXE 1.21.1+"}
]}
JSON

test_expect_success 'records: applied in order, a resend harmless; another site is 404' '
	test $(post a $J/records @recs.json) = 404 &&
	test $(post b $J/records @recs.json) = 200 && py "d == {\"applied\": 8}" &&
	test $(post b $J/records @recs.json) = 200 &&
	q "SELECT stepno, name, status, coalesce(detail, '\''-'\''), attempt FROM steps WHERE flight = $F AND job = '\''build-amd64'\'' ORDER BY stepno" >steps &&
	cat >want <<-\EOF &&
	1|build|pass|-|1
	2|smoke|fail|1 case failed|1
	3|smoke/a|pass|-|1
	4|smoke/b|fail|2 != 1|1
	EOF
	test_cmp() { diff -u "$@"; } && test_cmp want steps &&
	test "$(q "SELECT extract(epoch FROM started_at)::numeric(12,1) FROM steps WHERE flight = $F AND job = '\''build-amd64'\'' AND stepno = 1")" = 1765000000.5 &&
	test "$(q "SELECT val FROM runvars WHERE flight = $F AND job = '\''build-amd64'\'' AND name = '\''built_revision_minivisor'\''")" = "$(cat base.rev)" &&
	test "$(q "SELECT count(*) > 0 FROM events WHERE host = '\''b1'\'' AND kind = '\''power.status'\'' AND job = '\''build-amd64'\''")" = t &&
	test "$(q "SELECT firmware FROM allocations WHERE flight = $F AND job = '\''build-amd64'\''")" = "SeaBIOS 1.16.2-debian-1.16.2-1, iPXE 1.21.1+"
'

test_expect_success 'records: a bad one refuses the whole batch; a host not the job'"'"'s is 400' '
	test $(post b $J/records "{\"worker\": \"wb1\", \"attempt\": 1, \"records\": [{\"type\": \"runvar\", \"name\": \"x\", \"value\": \"1\"}, {\"type\": \"host-broken\", \"host\": \"a1\", \"reason\": \"no\"}]}") = 400 &&
	py "\"a1\" in d[\"detail\"]" &&
	test "$(q "SELECT count(*) FROM runvars WHERE flight = $F AND name = '\''x'\''")" = 0 &&
	test "$(q "SELECT state FROM hosts WHERE name = '\''a1'\''")" = free &&
	test $(post b $J/records "{\"worker\": \"wb1\", \"attempt\": 1, \"records\": [{\"type\": \"step-end\", \"step\": 9, \"status\": \"pass\"}]}") = 400 &&
	test $(post b $J/records "{\"worker\": \"wb1\", \"attempt\": 1, \"records\": [{\"type\": \"nope\"}]}") = 400 &&
	test $(post b $J/records "{\"worker\": \"wb1\", \"attempt\": 1, \"records\": [{\"type\": \"firmware\", \"host\": \"a1\", \"firmware\": \"U-Boot 2023.01\"}]}") = 400 &&
	test "$(q "SELECT count(*) FROM allocations WHERE firmware LIKE '\''U-Boot%'\''")" = 0 &&
	test $(post b $J/records "{\"worker\": \"wb1\", \"attempt\": 1, \"records\": [{\"type\": \"runvar\", \"name\": \"host\", \"value\": \"a1\"}]}") = 400 &&
	test $(post b $J/records "{\"worker\": \"wb1\", \"attempt\": 1, \"records\": [{\"type\": \"runvar\", \"name\": \"revision_minivisor\", \"value\": \"0\"}]}") = 400 &&
	test "$(q "SELECT val FROM runvars WHERE flight = $F AND job = '\''build-amd64'\'' AND name = '\''host'\''")" != a1 &&
	py "d[\"detail\"].startswith(\"records[0]\")"
'

test_expect_success 'log chunks: by offset, a resend harmless, past the end 409' '
	L="$J/logs/1.build.log?worker=wb1&attempt=1" &&
	printf "hello\n" >c1 && printf "world\n" >c2 &&
	test $(code b PUT "$L&offset=0" --data-binary @c1) = 200 && py "d == {\"size\": 6}" &&
	test $(code b PUT "$L&offset=0" --data-binary @c1) = 200 && py "d == {\"size\": 6}" &&
	test $(code b PUT "$L&offset=6" --data-binary @c2) = 200 && py "d == {\"size\": 12}" &&
	test $(code b PUT "$L&offset=100" --data-binary @c2) = 409 &&
	py "d == {\"error\": \"conflict\", \"detail\": \"offset past the end\", \"size\": 12}" &&
	printf "hello\nworld\n" >want && cmp want "$STATE/logs/$F/build-amd64/1.build.log" &&
	test $(code a PUT "$L&offset=12" --data-binary @c2) = 404 &&
	test $(code b PUT "$J/logs/..?worker=wb1&attempt=1&offset=0" --path-as-is --data-binary @c2) = 400 &&
	test $(code b PUT "$J/logs/late-1?worker=wb1&attempt=1&offset=0" --data-binary @c2) = 400 &&
	head -c 1048577 /dev/zero >big &&
	test $(code b PUT "$L&offset=12" --data-binary @big) = 413 &&
	# refusals of a whole chunk come after it: never a reset instead
	head -c 1048576 /dev/zero >mib &&
	for i in 1 2 3; do
		test $(code b PUT "$L&offset=100" --limit-rate 4M --data-binary @mib) = 409 &&
		test $(code b PUT "$J/logs/late-1?worker=wb1&attempt=1&offset=0" --data-binary @mib) = 400 ||
		return 1
	done &&
	test $(code b PUT "$L&offset=12" -H "Transfer-Encoding: chunked" --data-binary @c2) = 411 &&
	cmp want "$STATE/logs/$F/build-amd64/1.build.log"
'

test_expect_success 'blobs: HEAD, a bad hash refused, PUT once, then an artifact; GET only then' '
	head -c 300000 /dev/urandom >blob &&
	S=$(sha256sum blob | cut -d" " -f1) && echo $S >S &&
	Z=$(printf x | sha256sum | cut -d" " -f1) &&
	test $(code b HEAD $V/blobs/$S) = 404 &&
	test $(code b PUT $V/blobs/$Z --data-binary @blob) = 400 &&
	py "\"not kept\" in d[\"detail\"]" &&
	test ! -e "$STATE/artifacts/sha256/${Z:0:2}/$Z" &&
	wait_for "test -z \"\$(ls \"$STATE/artifacts/tmp\")\"" 5 &&
	test $(code b PUT $V/blobs/NOTAHASH --data-binary @blob) = 400 &&
	head -c 4194304 /dev/zero >blob4 &&
	for i in 1 2 3; do
		test $(code b PUT $V/blobs/NOTAHASH --limit-rate 8M --data-binary @blob4) = 400 || return 1
	done &&
	test $(code b PUT $V/blobs/$S --data-binary @blob) = 201 &&
	test $(code b PUT $V/blobs/$S --data-binary @blob) = 200 &&
	test $(code b HEAD $V/blobs/$S) = 200 &&
	cmp blob "$STATE/artifacts/sha256/${S:0:2}/$S" &&
	test $(code b GET $V/blobs/$S) = 404 &&
	test $(post b $J/records "{\"worker\": \"wb1\", \"attempt\": 1, \"records\": [{\"type\": \"artifact\", \"path\": \"dist/none.tar.gz\", \"sha256\": \"$Z\", \"size\": 1}]}") = 400 &&
	test $(post b $J/records "{\"worker\": \"wb1\", \"attempt\": 1, \"records\": [{\"type\": \"artifact\", \"path\": \"dist/x.tar.gz\", \"sha256\": \"$S\", \"size\": 300000}]}") = 200 &&
	test "$(q "SELECT sha256 FROM artifacts WHERE flight = $F AND path = '\''dist/x.tar.gz'\''")" = $S &&
	curl -fsS --cacert ca.pem -H "Authorization: Bearer $(cat tok.b)" -o got $V/blobs/$S &&
	cmp blob got
'

test_expect_success 'the tree at the flight'"'"'s revision, as a tar' '
	curl -fsS --cacert ca.pem -H "Authorization: Bearer $(cat tok.b)" \
		-o tree.tar "$J/trees/minivisor.tar?worker=wb1&attempt=1" &&
	tar tf tree.tar >files && grep -q "tests/smoke.sh" files &&
	test $(code b GET "$J/trees/nosuch.tar?worker=wb1&attempt=1") = 404 &&
	test $(code b GET "$J/trees/minivisor.tar?worker=wb1&attempt=2") = 409 &&
	test $(code a GET "$J/trees/minivisor.tar?worker=wa1&attempt=1") = 404
'

test_expect_success 'finish: the job passes; later writes are evidence only (409, late-1/)' '
	test $(post b $J/finish "{\"worker\": \"wb1\", \"attempt\": 1, \"status\": \"bogus\"}") = 400 &&
	test $(post b $J/finish "{\"worker\": \"wb1\", \"attempt\": 2, \"status\": \"pass\"}") = 409 &&
	test $(post b $J/finish "{\"worker\": \"wb1\", \"attempt\": 1, \"status\": \"pass\", \"reason\": null}") = 200 &&
	kill_pid $(cat beat-build-amd64.pid) &&
	py "d == {}" &&
	test "$(q "SELECT status || '\'' '\'' || coalesce(lease_owner, '\''-'\'') FROM jobs WHERE flight = $F AND job = '\''build-amd64'\''")" = "pass b/wb1" &&
	test $(post b $J/records "{\"worker\": \"wb1\", \"attempt\": 1, \"records\": [{\"type\": \"runvar\", \"name\": \"late\", \"value\": \"1\"}]}") = 409 &&
	py "d == {\"error\": \"conflict\", \"detail\": \"lease lost\"}" &&
	test "$(q "SELECT count(*) FROM runvars WHERE flight = $F AND name = '\''late'\''")" = 0 &&
	test "$(q "SELECT string_agg(attempt || '\'' '\'' || owner || '\'' '\'' || (record->>'\''type'\''), '\'','\'' ORDER BY id) FROM late_records WHERE flight = $F AND job = '\''build-amd64'\''")" = "2 b/wb1 finish,1 b/wb1 runvar" &&
	test $(code b PUT "$J/logs/1.build.log?worker=wb1&attempt=1&offset=12" --data-binary @c2) = 200 &&
	py "d == {\"size\": 18, \"late\": True}" &&
	tail -c 6 "$STATE/logs/$F/build-amd64/late-1/1.build.log" | cmp c2 - &&
	printf "hello\nworld\n" >want && cmp want "$STATE/logs/$F/build-amd64/1.build.log"
'
T=$V/jobs/$F/test-amd64

test_expect_success 'the next job: the artifacts of the job it needs' '
	test $(post b $V/claim "{\"worker\": \"wb2\", \"wait\": 30}") = 200 &&
	py "d[\"job\"][\"job\"] == \"test-amd64\" and d[\"job\"][\"deps\"] == [{\"flight\": $F, \"job\": \"build-amd64\", \"status\": \"pass\"}]" &&
	test $(code b GET "$T/artifacts?worker=wb2&attempt=1&flight=$F&job=build-amd64") = 200 &&
	py "d == [{\"path\": \"dist/x.tar.gz\", \"sha256\": \"$(cat S)\", \"size\": 300000}]" &&
	test $(code b GET "$T/artifacts?worker=wb2&attempt=1&flight=$F&job=test-amd64") = 404 &&
	test $(code b GET "$T/artifacts?worker=wb1&attempt=1&flight=$F&job=build-amd64") = 409 &&
	test $(post b $T/records "{\"worker\": \"wb2\", \"attempt\": 1, \"records\": [{\"type\": \"step-begin\", \"step\": 1, \"kind\": \"run\", \"name\": \"smoke\"}]}") = 200
'

test_expect_success 'past its lease the job is recovered broken once; what comes after changes nothing' '
	wait_for "test \"\$(q \"SELECT status FROM jobs WHERE flight = $F AND job = '\''test-amd64'\''\")\" = broken" 30 &&
	test "$(q "SELECT count(*) FROM events WHERE flight = $F AND job = '\''test-amd64'\'' AND kind = '\''job.lease-expired'\''")" = 1 &&
	q "SELECT stepno, status FROM steps WHERE flight = $F AND job = '\''test-amd64'\''" >before &&
	test $(post b $V/heartbeat "{\"worker\": \"wb2\", \"jobs\": [{\"flight\": $F, \"job\": \"test-amd64\", \"attempt\": 1}]}") = 200 &&
	py "d[\"held\"] == []" &&
	test $(post b $T/records "{\"worker\": \"wb2\", \"attempt\": 1, \"records\": [{\"type\": \"step-end\", \"step\": 1, \"status\": \"pass\"}, {\"type\": \"runvar\", \"name\": \"after\", \"value\": \"1\"}]}") = 409 &&
	test $(post b $T/finish "{\"worker\": \"wb2\", \"attempt\": 1, \"status\": \"pass\"}") = 409 &&
	q "SELECT stepno, status FROM steps WHERE flight = $F AND job = '\''test-amd64'\''" >after &&
	diff before after &&
	test "$(q "SELECT status FROM jobs WHERE flight = $F AND job = '\''test-amd64'\''")" = broken &&
	test "$(q "SELECT count(*) FROM runvars WHERE flight = $F AND job = '\''test-amd64'\'' AND name = '\''after'\''")" = 0 &&
	test "$(q "SELECT string_agg(coalesce(record->>'\''type'\'', '\''?'\''), '\'' '\'' ORDER BY id) FROM late_records WHERE flight = $F AND job = '\''test-amd64'\''")" = "step-end runvar finish" &&
	sleep 2 &&
	test "$(q "SELECT count(*) FROM events WHERE flight = $F AND job = '\''test-amd64'\'' AND kind = '\''job.lease-expired'\''")" = 1
'

test_expect_success 'the evidence is on the job'"'"'s page; the sites and their workers on the hosts page' '
	curl -fsS --cacert ca.pem -o job.json $A/flights/$F/jobs/test-amd64 &&
	python3 -c "import json; d=json.load(open(\"job.json\"))[\"late\"]; assert [x[\"record\"][\"type\"] for x in d[\"records\"]] == [\"step-end\", \"runvar\", \"finish\"] and d[\"records\"][0][\"owner\"] == \"b/wb2\" and d[\"logs\"] == [], d" &&
	curl -fsS --cacert ca.pem -o job.json $A/flights/$F/jobs/build-amd64 &&
	python3 -c "import json; d=json.load(open(\"job.json\"))[\"late\"]; assert d[\"logs\"] == [{\"attempt\": 1, \"name\": \"1.build.log\", \"size\": 18}], d" &&
	curl -fsS --cacert ca.pem -o job.html $W/flights/$F/jobs/test-amd64 &&
	grep -q "After the lease was lost" job.html && grep -q "b/wb2" job.html &&
	curl -fsS --cacert ca.pem -o hosts.html $W/hosts &&
	grep -q "<h1>Sites</h1>" hosts.html && grep -q "<td>wb1</td>" hosts.html &&
	grep -q "<td>b</td><td>2</td>" hosts.html
'

test_expect_success 'a job its worker does not list in a complete heartbeat is recovered' '
	{ h flight cancel $F >/dev/null 2>&1 || true; } &&
	h request --branch mv --job build-amd64 >req.out &&
	G=$(flight_of req.out) && echo $G >G &&
	test $(post b $V/claim "{\"worker\": \"ghost\", \"wait\": 30}") = 200 &&
	py "d[\"job\"][\"flight\"] == $G" &&
	J="flight = $G AND job = '\''build-amd64'\''" &&
	none="{\"worker\": \"ghost\", \"jobs\": [], \"complete\": true}" &&
	listed="{\"worker\": \"ghost\", \"jobs\": [{\"flight\": $G, \"job\": \"build-amd64\", \"attempt\": 1}], \"complete\": true}" &&
	test $(post b $V/heartbeat "$none") = 200 &&
	test "$(q "SELECT status || '\'' '\'' || (lease_until > now()) FROM jobs WHERE $J")" = "running true" &&
	# as if claimed 100 s ago with a lease of 10 minutes (the grace is
	# 2 beats + 30 s): only a complete list without it from its owner ends it
	q "UPDATE jobs SET lease_secs = 600, lease_until = now() + interval '\''500 s'\'' WHERE $J" &&
	test $(post b $V/heartbeat "{\"worker\": \"ghost\", \"jobs\": []}") = 200 &&
	test $(post b $V/heartbeat "$listed") = 200 &&
	test $(post b $V/heartbeat "{\"worker\": \"other\", \"jobs\": [], \"complete\": true}") = 200 &&
	test "$(q "SELECT status || '\'' '\'' || lease_owner FROM jobs WHERE $J")" = "running b/ghost" &&
	q "UPDATE jobs SET lease_secs = 600, lease_until = now() + interval '\''500 s'\'' WHERE $J" &&
	test $(post b $V/heartbeat "$none") = 200 &&
	grep -q "job $G.build-amd64 is not running there" web.log &&
	wait_for "test \"\$(q \"SELECT count(*) FROM events WHERE $J AND kind = '\''job.requeued'\''\")\" = 1" 20 &&
	test "$(q "SELECT count(*) FROM steps WHERE $J")" = 0 &&
	h flight cancel $G >/dev/null
'

test_expect_success 'the web stops at once with a long poll waiting' '
	(curl -s --cacert ca.pem -H "Authorization: Bearer $(cat tok.b)" \
		-d "{\"worker\": \"wb3\", \"wait\": 60}" -o last.json $V/claim) &
	wait_for "test \"\$(q \"SELECT count(*) FROM workers WHERE name = '\''wb3'\''\")\" = 1" 10 &&
	start=$(date +%s) &&
	kill $(cat web.pid) &&
	wait_for "! kill -0 $(cat web.pid)" 10 &&
	test $(( $(date +%s) - start )) -lt 10 &&
	wait_for "! pgrep -f \"wb3.*wait\"" 5
'

test_done
