#!/bin/bash
# The dashboard's HTTP interface, end to end against `hangar web` on a real
# database and a real git tree: every read endpoint (status, JSON shape),
# the pages, logs (tails, and no way out of the logs directory), tokens and
# roles on every action, ad-hoc requests and reservations with their
# owners, admin actions, the browser's login and forms (CSRF), bad input
# (413, 400, 404, 405, never a 5xx), reading behind a viewer token, and the
# cache of ended flights forgetting a flight that changed.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"
test_skip_unless git

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
BARE=$TEST_DIR/trees/minivisor.git
PORT=$(free_port)
W=http://127.0.0.1:$PORT
A=$W/api/v1
h() { "$HANGAR" --config lab.conf "$@"; }
flight_of() { sed -n "s/^flight //p" "$1" | head -n 1; }
# code METHOD URL [curl args...]: prints the status code, the body in out.json
code() {
	local m=$1 u=$2
	shift 2
	curl -s -o out.json -w "%{http_code}" -X "$m" "$@" "$u"
}
# py EXPR: a Python assertion on out.json (as d)
py() { python3 -c "import json,sys; d=json.load(open(\"out.json\")); assert $1, d"; }
start_web() {
	setsid "$HANGAR" --config lab.conf web --listen 127.0.0.1:$PORT >>web.log 2>&1 &
	echo $! >web.pid
	wait_for "curl -fsS $A/whoami >/dev/null" 20
}
test_when_finished 'kill_pid $(cat "$TEST_DIR"/*.pid 2>/dev/null); kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

cat >lab.conf <<CONF
[lab]
	state = $STATE
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
[host "h1"]
	arch = x86_64
	address = 127.0.9.1
[host "h2"]
	arch = arm64
	address = 127.0.9.2
CONF

test_expect_success 'setup: a tree, a decided gate flight with a log, tokens, the server' '
	"$DEMO_TREE" create trees >base.rev &&
	h lab apply lab.conf >/dev/null &&
	h gate run mv >run.out &&
	F=$(flight_of run.out) && echo $F >F &&
	q "INSERT INTO steps (flight, job, stepno, kind, name, status, logfile)
	   VALUES ($F, '\''build-amd64'\'', 1, '\''build'\'', '\''build'\'', '\''pass'\'', '\''$F/build-amd64/1-build.log'\''),
	          ($F, '\''test-amd64'\'', 1, '\''run'\'', '\''smoke'\'', '\''fail'\'', NULL);
	   UPDATE jobs SET status = CASE job WHEN '\''build-amd64'\'' THEN '\''pass'\'' ELSE '\''fail'\'' END,
	          started_at = now() - interval '\''1 min'\'', finished_at = now() WHERE flight = $F;
	   UPDATE flights SET status = '\''finished'\'', finished_at = now() WHERE id = $F" &&
	mkdir -p "$STATE/logs/$F/build-amd64" &&
	seq 1 1000 >"$STATE/logs/$F/build-amd64/1-build.log" &&
	ln -s /etc/passwd "$STATE/logs/$F/build-amd64/passwd.log" &&
	h gate run mv >decide.out && cat decide.out &&
	test "$(q "SELECT verdict FROM flights WHERE id = $F")" != pending &&
	for u in viewer:viewer alice:developer bob:developer root:admin; do
		h token create --user ${u%%:*} --role ${u#*:} >tok.out &&
		tail -n 1 tok.out >tok.${u%%:*} || return 1
	done &&
	grep -q "^hgr_[0-9a-f]\{64\}$" tok.alice &&
	test "$(q "SELECT count(*) FROM api_tokens WHERE token_hash = encode(sha256(convert_to('\''$(cat tok.alice)'\'', '\''UTF8'\'')), '\''hex'\'')")" = 1 &&
	! q "SELECT * FROM api_tokens" | grep -q "$(cat tok.alice)" &&
	start_web
'
F=$(cat F 2>/dev/null)
bearer() { echo "Authorization: Bearer $(cat tok.$1)"; }

test_expect_success 'flights: list, filters, pagination, one flight, its report, a job' '
	test $(code GET $A/flights) = 200 && py "d[0][\"flight\"] == $F and d[0][\"branch\"] == \"mv\"" &&
	test $(code GET "$A/flights?branch=mv&intent=gate&status=finished") = 200 && py "len(d) == 1" &&
	test $(code GET "$A/flights?branch=nope") = 200 && py "d == []" &&
	test $(code GET "$A/flights?revision=$(cut -c1-8 base.rev)") = 200 && py "len(d) == 1" &&
	test $(code GET "$A/flights?before=$F") = 200 && py "d == []" &&
	test $(code GET "$A/flights?limit=0") = 400 && py "d[\"error\"] == \"bad request\"" &&
	test $(code GET "$A/flights?revision=zz") = 400 &&
	test $(code GET $A/flights/$F) = 200 && py "d[\"flight\"] == $F and len(d[\"jobs\"]) == 2" &&
	test $(code GET $A/flights/$F/report) = 200 &&
	py "set(d) >= {\"flight\", \"verdict\", \"tested\", \"baseline\", \"regressions\", \"failures\", \"pushed\"}" &&
	test $(code GET $A/flights/$F/jobs/build-amd64) = 200 &&
	py "d[\"job\"] == \"build-amd64\" and d[\"logs\"][0][\"name\"] == \"1-build.log\" and d[\"logs\"][0][\"url\"] == \"/logs/$F/build-amd64/1-build.log\" and len(d[\"logs\"]) == 1" &&
	test $(code GET $A/flights/$F/jobs/nope) = 404 &&
	test $(code GET $A/jobs/test-amd64) = 200 && py "d[0][\"flight\"] == $F and d[0][\"failed_step\"] == \"smoke\""
'

test_expect_success 'hosts, plan, branches, reservations, bisections, whoami, metrics' '
	test $(code GET $A/hosts) = 200 && py "[x[\"name\"] for x in d] == [\"h1\", \"h2\"]" &&
	test $(code GET $A/hosts/h1) = 200 && py "d[\"name\"] == \"h1\" and d[\"jobs\"] == []" &&
	test $(code GET $A/hosts/nope) = 404 && py "\"error\" in d" &&
	test $(code GET $A/plan) = 200 && py "\"hosts\" in d" &&
	test $(code GET $A/branches) = 200 && py "d[0][\"name\"] == \"mv\" and d[0][\"last_verdict\"][\"flight\"] == $F" &&
	py "d[0][\"target_revision\"] == \"$(cat base.rev)\" and d[0][\"seen_at\"].endswith(\"Z\")" &&
	test $(code GET $A/branches/mv) = 200 && py "d[\"flights\"][0][\"flight\"] == $F and isinstance(d[\"events\"], list)" &&
	test $(code GET $A/branches/nope) = 404 &&
	test $(code GET $A/reservations) = 200 && py "d == []" &&
	test $(code GET $A/bisections) = 200 && py "d == []" &&
	test $(code GET $A/bisections/1) = 404 &&
	test $(code GET $A/whoami) = 200 && py "d[\"user\"] is None and d[\"role\"] == \"none\"" &&
	test $(code GET $A/whoami -H "$(bearer alice)") = 200 && py "d == {\"user\": \"alice\", \"role\": \"developer\"}" &&
	curl -fsS $W/metrics >metrics.txt &&
	grep -q "^# TYPE hangar_hosts gauge" metrics.txt &&
	grep -q "^hangar_hosts{.*state=\"free\".*} " metrics.txt
'

test_expect_success 'every page renders, escaped; unknown ones are 404 pages' '
	for p in / /flights "/flights?branch=mv&status=finished" /flights/$F \
		/flights/$F/jobs/build-amd64 /flights/$F/jobs/build-amd64/logs/1-build.log \
		/jobs/build-amd64 /hosts /hosts/h1 /plan /branches/mv /bisections /login; do
		c=$(curl -s -o page.html -w "%{http_code}" "$W$p") &&
		test "$c" = 200 && grep -q "</html>" page.html || { echo "$p: $c"; return 1; }
	done &&
	curl -fsS $W/ >o.html && grep -q "href=\"/branches/mv\"" o.html && grep -q "Lab health" o.html &&
	curl -fsS $W/flights/$F >f.html && grep -q "href=\"/logs/$F/build-amd64/1-build.log\"" f.html &&
	grep -q "href=\"/flights/$F/jobs/test-amd64\"" f.html &&
	# sections with something in them are shown, empty ones left out
	curl -fsS $W/hosts/h1 >h.html && ! grep -q "<h2>Jobs</h2>" h.html &&
	curl -fsS $W/flights/$F/jobs/build-amd64 >j.html &&
	grep -q "<h2>Steps</h2>" j.html && grep -q "<h2>Logs and console</h2>" j.html &&
	curl -fsS "$W/flights?branch=%3Cscript%3E" >x.html && grep -q "&lt;script&gt;" x.html && ! grep -q "<script>" x.html &&
	for p in /nope /flights/0 /flights/x /flights/99999 /hosts/nope /branches/nope /bisections/9; do
		c=$(curl -s -o page.html -w "%{http_code}" "$W$p") &&
		test "$c" = 404 || { echo "$p: $c"; return 1; }
	done
'

test_expect_success 'logs: whole, from an offset, never outside the logs' '
	curl -fsS $W/logs/$F/build-amd64/1-build.log >log.txt &&
	cmp log.txt "$STATE/logs/$F/build-amd64/1-build.log" &&
	size=$(wc -c <log.txt) &&
	curl -sS -D hdr.txt "$W/logs/$F/build-amd64/1-build.log?offset=$((size - 5))" >tail.txt &&
	test "$(cat tail.txt)" = 1000 && grep -qi "^X-Log-Size: $size" hdr.txt &&
	test $(code GET "$W/logs/$F/build-amd64/1-build.log?offset=x") = 400 &&
	for p in "/logs/$F/build-amd64/passwd.log" "/logs/$F/build-amd64/..%2f..%2f..%2fetc%2fpasswd" \
		"/logs/$F/../../../etc/passwd" "/logs/$F/build-amd64/.hidden" "/logs/$F/%2e%2e/1-build.log" \
		"/logs/../logs/$F/build-amd64/1-build.log" "/logs/$F/build-amd64/" "/logs/x/y/z"; do
		c=$(curl -s --path-as-is -o page.txt -w "%{http_code}" "$W$p") &&
		test "$c" = 404 && ! grep -q "root:" page.txt || { echo "$p: $c"; return 1; }
	done
'

test_expect_success 'requests: 401 without a token, 403 for a viewer, 201 for a developer, their own to delete' '
	body="{\"branch\": \"mv\", \"jobs\": [\"test-amd64\"], \"runvars\": {\"debug\": \"1\"}}" &&
	test $(code POST $A/requests -d "$body") = 401 && py "d[\"error\"] == \"unauthorized\"" &&
	test $(code POST $A/requests -d "$body" -H "Authorization: Bearer hgr_nope") = 401 &&
	test $(code POST $A/requests -d "$body" -H "Authorization: Basic eDp5") = 401 &&
	test $(code POST $A/requests -d "$body" -H "$(bearer viewer)") = 403 && py "d[\"error\"] == \"forbidden\"" &&
	test $(code POST $A/requests -d "$body" -H "$(bearer alice)") = 201 &&
	N=$(python3 -c "import json; print(json.load(open(\"out.json\"))[\"flight\"])") && echo $N >N &&
	py "d[\"url\"] == \"/flights/$N\"" &&
	test "$(q "SELECT intent || requested_by FROM flights WHERE id = $N")" = adhocalice &&
	test "$(q "SELECT val FROM runvars WHERE flight = $N AND job = '\''test-amd64'\'' AND name = '\''debug'\''")" = 1 &&
	test "$(q "SELECT actor FROM events WHERE flight = $N ORDER BY id LIMIT 1")" = alice@web &&
	test $(code POST $A/requests -d "{\"revisions\": {\"minivisor\": \"$(cat base.rev)\"}, \"jobs\": [\"build-amd64\"]}" -H "$(bearer bob)") = 201 &&
	test $(code POST $A/requests -d "{\"branch\": \"nope\"}" -H "$(bearer alice)") = 404 &&
	test $(code POST $A/requests -d "{\"branch\": \"mv\", \"jobs\": [\"nope\"]}" -H "$(bearer alice)") = 400 &&
	test $(code POST $A/requests -d "{\"revisions\": {\"minivisor\": \"no-such-ref\"}, \"jobs\": [\"build-amd64\"]}" -H "$(bearer alice)") = 400 &&
	test $(code POST $A/requests -d "{\"jobs\": [\"test-amd64\"]}" -H "$(bearer alice)") = 400 &&
	test $(code POST $A/requests -d "{\"branch\": 3}" -H "$(bearer alice)") = 400 &&
	test $(code POST $A/requests -d "{\"branch\": \"mv\", \"color\": 1}" -H "$(bearer alice)") = 400 &&
	test $(code DELETE $A/requests/$N -H "$(bearer bob)") = 403 &&
	test $(code DELETE $A/requests/$N -H "$(bearer alice)") = 200 && py "d[\"status\"] == \"cancelled\"" &&
	test "$(q "SELECT status FROM flights WHERE id = $N")" = cancelled &&
	test $(code DELETE $A/requests/$N -H "$(bearer alice)") = 409 &&
	test $(code DELETE $A/requests/$F -H "$(bearer alice)") = 403 &&
	test $(code DELETE $A/requests/99999 -H "$(bearer alice)") = 404
'

test_expect_success 'reservations: made by a developer, released by the owner or an admin' '
	test $(code POST $A/reservations -d "{\"host\": \"h1\", \"duration\": \"2h\"}") = 401 &&
	test $(code POST $A/reservations -d "{\"host\": \"h1\"}" -H "$(bearer alice)") = 400 &&
	test $(code POST $A/reservations -d "{\"host\": \"h1\", \"arch\": \"x86_64\", \"duration\": 3600}" -H "$(bearer alice)") = 400 &&
	test $(code POST $A/reservations -d "{\"arch\": \"arm64\", \"count\": 1, \"duration\": \"1h\", \"reason\": \"debugging\"}" -H "$(bearer alice)") = 201 &&
	R=$(python3 -c "import json; print(json.load(open(\"out.json\"))[\"reservation\"])") &&
	test "$(q "SELECT owner || status FROM reservations WHERE id = $R")" = alicewaiting &&
	test $(code GET $A/reservations) = 200 && py "d[0][\"id\"] == $R and d[0][\"owner\"] == \"alice\"" &&
	test $(code GET $A/reservations/$R) = 200 && py "d[\"id\"] == $R and d[\"status\"] == \"waiting\"" &&
	test $(code DELETE $A/reservations/$R -H "$(bearer bob)") = 403 &&
	test $(code DELETE $A/reservations/$R -H "$(bearer root)") = 200 &&
	test "$(q "SELECT status FROM reservations WHERE id = $R")" = released &&
	test $(code DELETE $A/reservations/$R -H "$(bearer root)") = 404 &&
	test $(code GET $A/reservations/$R) = 404
'

test_expect_success 'admin: host maintenance, branch block and force-push; cancel' '
	m="{\"on\": true, \"reason\": \"new disk\"}" &&
	test $(code POST $A/hosts/h1/maintenance -d "$m" -H "$(bearer alice)") = 403 &&
	test $(code POST $A/hosts/h1/maintenance -d "$m" -H "$(bearer root)") = 200 &&
	test "$(q "SELECT state || state_reason FROM hosts WHERE name = '\''h1'\''")" = "maintenancenew disk" &&
	test "$(q "SELECT actor FROM events WHERE host = '\''h1'\'' ORDER BY id DESC LIMIT 1")" = root@web &&
	test $(code POST $A/hosts/h1/maintenance -d "{\"on\": false}" -H "$(bearer root)") = 200 &&
	test "$(q "SELECT state FROM hosts WHERE name = '\''h1'\''")" = free &&
	test $(code POST $A/hosts/h1/maintenance -d "{\"on\": false}" -H "$(bearer root)") = 409 &&
	test $(code POST $A/hosts/h1/maintenance -d "{\"on\": 1}" -H "$(bearer root)") = 400 &&
	test $(code POST $A/hosts/nope/maintenance -d "$m" -H "$(bearer root)") = 404 &&
	test $(code POST $A/branches/mv/block -d "{\"reason\": \"release\"}" -H "$(bearer bob)") = 403 &&
	test $(code POST $A/branches/mv/block -d "{\"reason\": \"release\"}" -H "$(bearer root)") = 200 &&
	test "$(q "SELECT blocked FROM branches WHERE name = '\''mv'\''")" = t &&
	test $(code POST $A/branches/mv/unblock -H "$(bearer root)") = 200 &&
	test "$(q "SELECT blocked FROM branches WHERE name = '\''mv'\''")" = f &&
	test $(code POST $A/branches/mv/force-push -d "{\"revision\": \"no-such\"}" -H "$(bearer root)") = 400 &&
	test $(code POST $A/branches/mv/force-push -d "{\"revision\": \"master\", \"reason\": \"x\"}" -H "$(bearer root)") = 200 &&
	test "$(q "SELECT force_rev FROM branches WHERE name = '\''mv'\''")" = "$(cat base.rev)" &&
	test $(code POST $A/branches/mv/force-push -d "{\"revision\": null}" -H "$(bearer root)") = 200 &&
	test $(code POST $A/branches/nope/block -H "$(bearer root)") = 404 &&
	test $(code POST $A/requests -d "{\"branch\": \"mv\"}" -H "$(bearer bob)") = 201 &&
	B=$(python3 -c "import json; print(json.load(open(\"out.json\"))[\"flight\"])") &&
	test $(code POST $A/flights/$B/cancel -H "$(bearer alice)") = 403 &&
	test $(code POST $A/flights/$B/cancel -H "$(bearer bob)") = 200 &&
	test $(code POST $A/flights/$B/cancel -H "$(bearer root)") = 409
'

test_expect_success 'bad input: 413, malformed JSON, 405, and never a 5xx' '
	head -c 70000 /dev/zero | tr "\0" x >big.txt &&
	test $(code POST $A/requests --data-binary @big.txt -H "$(bearer alice)") = 413 && py "\"error\" in d" &&
	test $(code POST $A/requests --data-binary @big.txt -H "Transfer-Encoding: chunked" -H "$(bearer alice)") = 413 &&
	test $(code POST $A/requests -d "{\"branch\": " -H "$(bearer alice)") = 400 &&
	py "d[\"error\"] == \"bad request\" and \"malformed JSON\" in d[\"detail\"]" &&
	test $(code POST $A/requests -d "[1]" -H "$(bearer alice)") = 400 &&
	test $(code PUT $A/flights) = 405 && py "d[\"error\"] == \"method not allowed\"" &&
	test $(code DELETE $A/flights/$F) = 405 &&
	test $(code POST $A/flights) = 405 &&
	for u in "/api/v1/flights/$F/report/x" "/api/v1/flights/%00" "/api/v1/flights/-1" \
		"/api/v1/flights/99999999999999999999" "/api/v1/flights?limit=99999999999999999999" \
		"/api/v1/flights?before=-3" "/api/v1/jobs/%27%22" "/flights/$F/jobs/%3Cb%3E" \
		"/logs/99999999999999999999/a/b" "/api/v1/hosts/$(head -c 300 /dev/zero | tr "\0" a)" \
		"/api/v1/%FF" "/api/v1/hosts/%FF" "/api/v1/hosts/%C0%80" "/api/v1/flights?branch=%FF" \
		"/api/v1/jobs/%ED%A0%80" "/flights/%FF" "/api/v1/bisections/%FF"; do
		c=$(curl -s --path-as-is -o /dev/null -w "%{http_code}" "$W$u") &&
		test "$c" -ge 400 && test "$c" -lt 500 || { echo "$u: $c"; return 1; }
	done &&
	test $(code POST $A/reservations -d "{\"host\": \"h1\", \"duration\": \"forever\"}" -H "$(bearer alice)") = 400
'

test_expect_success 'the browser: login, a request through the form with its CSRF token, logout' '
	test $(code GET $W/request) = 303 &&
	curl -s -o /dev/null -D hdr.txt $W/request && grep -qi "^Location: /login?next=/request" hdr.txt &&
	test $(code POST $W/login -d "token=hgr_wrong") = 401 &&
	curl -s -c jar -o /dev/null -D hdr.txt --data-urlencode "token=$(cat tok.alice)" -d next=/request $W/login &&
	grep -qi "^Location: /request" hdr.txt && grep -qi "^Set-Cookie: hangar_session=.*HttpOnly; SameSite=Strict" hdr.txt &&
	curl -fsS -b jar $W/request >form.html && grep -q "id=\"request-form\"" form.html &&
	grep -q ">alice<" form.html &&
	csrf=$(sed -n "s/.*name=\"csrf\" value=\"\([0-9a-f]*\)\".*/\1/p" form.html | head -n 1) && test -n "$csrf" &&
	test $(code POST $W/request -b jar -d branch=mv -d jobs=test-amd64) = 403 &&
	test $(code POST $W/request -b jar -d csrf=0123 -d branch=mv) = 403 &&
	test $(code POST $W/request -b jar -d csrf=$csrf -d branch=mv -d jobs=nope) = 400 &&
	test $(code POST $W/request -b jar -d csrf=$csrf -d branch=%FF) = 400 &&
	test $(code POST $W/request -b jar -d csrf=$csrf -d branch=mv -H "Origin: http://evil.example") = 403 &&
	test $(code POST $W/request -b jar -d csrf=$csrf -d branch=mv -H "Sec-Fetch-Site: cross-site") = 403 &&
	test $(code POST $W/login -d "token=$(cat tok.alice)" -H "Sec-Fetch-Site: cross-site") = 403 &&
	curl -s -o /dev/null -D hdr.txt --data-urlencode "token=$(cat tok.alice)" --data-urlencode "next=/	/evil.example" $W/login &&
	tr -d "\r" <hdr.txt | grep -qix "Location: /" &&
	curl -s -b jar -o /dev/null -D hdr.txt -d csrf=$csrf -d branch=mv -d jobs=test-amd64 \
		--data-urlencode "runvars=a=1 2" $W/request &&
	N=$(sed -n "s|^Location: /flights/\([0-9]*\).*|\1|ip" hdr.txt | tr -d "\r") && test -n "$N" &&
	test "$(q "SELECT requested_by FROM flights WHERE id = $N")" = alice &&
	test "$(q "SELECT DISTINCT val FROM runvars WHERE flight = $N AND name = '\''a'\''")" = "1 2" &&
	curl -fsS -b jar $W/flights/$N >n.html && grep -q "requested by alice" n.html &&
	grep -q "Cancel this flight" n.html && grep -q "data-refresh" n.html &&
	test $(code POST $A/requests -b jar -d "{\"branch\": \"mv\"}") = 401 &&
	test $(code POST $W/flights/$N/cancel -b jar -d csrf=$csrf) = 303 &&
	test "$(q "SELECT status FROM flights WHERE id = $N")" = cancelled &&
	test $(code POST $W/logout -b jar -c jar -d csrf=$csrf) = 303 &&
	test $(code GET $W/request -b jar) = 303
'

test_expect_success 'the cache of an ended flight forgets it when it changes' '
	curl -fsS $A/flights/$F/report >r1.json && curl -fsS $A/flights/$F/report >r2.json &&
	cmp r1.json r2.json &&
	q "UPDATE flights SET report = jsonb_set(report, '\''{outcome}'\'', '\''\"changed by the test\"'\'') WHERE id = $F" &&
	wait_for "curl -fsS $A/flights/$F/report >r3.json && grep -q \"changed by the test\" r3.json" 5
'

test_expect_success 'with [web] read-role = viewer, reading needs a token' '
	kill_pidfile web.pid &&
	printf "[web]\n\tread-role = viewer\n" >>lab.conf &&
	start_web &&
	test $(code GET $A/flights) = 401 &&
	test $(code GET $A/flights -H "$(bearer viewer)") = 200 &&
	test $(code GET $W/flights) = 303 &&
	test $(code GET $W/login) = 200 &&
	test $(code GET $W/static/style.css) = 200 &&
	test $(code GET $W/metrics) = 401
'

test_expect_success 'slow clients: idle half-requests neither block others nor stay' '
	kill_pidfile web.pid &&
	printf "\ttimeout = 2s\n" >>lab.conf &&
	start_web &&
	cat >slow.py <<PY &&
import socket, subprocess, sys, time
conns = []
for i in range(200):
    s = socket.create_connection(("127.0.0.1", $PORT))
    s.sendall(b"GET /api/v1/flights HTTP/1.1\\r\\nHost: x\\r\\n")   # never ends
    conns.append(s)
t = time.time()
code = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                       "-H", "Authorization: Bearer " + open("tok.viewer").read().strip(),
                       "http://127.0.0.1:$PORT/api/v1/flights"],
                      capture_output=True, text=True, timeout=10).stdout
assert code == "200", code
assert time.time() - t < 5, time.time() - t
time.sleep(4)
closed = 0
for s in conns:
    s.settimeout(1)
    try:
        closed += s.recv(1) == b""
    except OSError:
        closed += 1
assert closed == len(conns), closed
PY
	python3 slow.py
'

test_done
