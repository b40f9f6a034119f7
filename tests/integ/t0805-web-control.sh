#!/bin/bash
# `hangar flight report` through the web daemon's control socket
# (STATE/web.sock): owner-only, serving the report route and nothing else;
# the CLI's answer through it is byte for byte the database path's
# (--direct), text and JSON, for a decided gate flight, a running gate
# flight whose report changes between two calls, an ad-hoc flight and a
# missing one (the same message and exit status); a web killed -9 leaves a
# stale socket that the CLI passes over at once; the daemon's answer
# needs no hangar-core.so (the front answers); an answer of another
# build, type or status, or cut short, is not taken (a fake daemon); a
# stopped web removes its socket.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"
test_skip_unless git

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
SOCK=$STATE/web.sock
CONN="host=$STATE/pg dbname=hangar user=hangar"
BARE=$TEST_DIR/trees/minivisor.git
PORT=$(free_port)
A=http://127.0.0.1:$PORT/api/v1
h() { "$HANGAR" --config lab.conf "$@"; }
flight_of() { sed -n "s/^flight //p" "$1" | head -n 1; }
start_web() {
	setsid "$HANGAR" --config lab.conf web --listen 127.0.0.1:$PORT >>web.log 2>&1 &
	echo $! >web.pid
	wait_for "curl -fsS $A/whoami >/dev/null && test -S $SOCK" 20
}
# same F [ARGS...]: the report through the daemon equals --direct's, both
# ways (stdout, stderr, exit status); the daemon's answer left in F.out
same() {
	local f=$1 rc1=0 rc2=0
	shift
	h flight report $f "$@" >ask.out 2>ask.err || rc1=$?
	h flight report $f "$@" --direct >direct.out 2>direct.err || rc2=$?
	test $rc1 = $rc2 && cmp ask.out direct.out && cmp ask.err direct.err &&
	cp ask.out $f.out
}
# via F [ARGS...]: answered by the daemon: the configuration lab-nodb.conf
# has the same state (and socket) but a database that cannot be reached
via() {
	"$HANGAR" --config lab-nodb.conf flight report "$@"
}
test_when_finished 'kill_pid $(cat "$TEST_DIR"/*.pid 2>/dev/null); kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

cat >lab.conf <<CONF
[lab]
	state = $STATE
	url = http://dashboard.example/
[gate]
	mail-to = xen-devel@example.org
	mail-from = hangar <hangar@example.org>
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
CONF
sed "s|^\tstate = .*|&\n\tdatabase = host=$TEST_DIR/nowhere dbname=hangar connect_timeout=2|" \
	lab.conf >lab-nodb.conf

test_expect_success 'setup: a decided gate flight, a running one, an ad-hoc one, the server' '
	"$DEMO_TREE" create trees >base.rev &&
	h lab apply lab.conf >/dev/null &&
	h gate run mv >run.out &&
	F=$(flight_of run.out) && echo $F >F &&
	q "INSERT INTO steps (flight, job, stepno, kind, name, status)
	   VALUES ($F, '\''build-amd64'\'', 1, '\''build'\'', '\''build'\'', '\''pass'\''),
	          ($F, '\''test-amd64'\'', 1, '\''run'\'', '\''smoke'\'', '\''fail'\'');
	   UPDATE jobs SET status = CASE job WHEN '\''build-amd64'\'' THEN '\''pass'\'' ELSE '\''fail'\'' END,
	          started_at = now() - interval '\''1 min'\'', finished_at = now() WHERE flight = $F;
	   UPDATE flights SET status = '\''finished'\'', finished_at = now() WHERE id = $F" &&
	h gate run mv >decide.out &&
	test "$(q "SELECT verdict FROM flights WHERE id = $F")" != pending &&
	"$DEMO_TREE" commit trees good "a second commit" >/dev/null &&
	h gate run mv >g.out &&
	G=$(flight_of g.out) && test -n "$G" && test $G != $F && echo $G >G &&
	q "INSERT INTO steps (flight, job, stepno, kind, name, status)
	   VALUES ($G, '\''build-amd64'\'', 1, '\''build'\'', '\''build'\'', '\''pass'\'');
	   UPDATE jobs SET status = '\''pass'\'', started_at = now(), finished_at = now()
	          WHERE flight = $G AND job = '\''build-amd64'\'';
	   UPDATE jobs SET status = '\''running'\'', started_at = now()
	          WHERE flight = $G AND job = '\''test-amd64'\'';
	   UPDATE flights SET status = '\''running'\'' WHERE id = $G" &&
	h request --branch mv --job test-amd64 >req.out &&
	flight_of req.out >R && test -s R &&
	h flight report $F --direct >/dev/null &&
	start_web
'
F=$(cat F 2>/dev/null)
G=$(cat G 2>/dev/null)
R=$(cat R 2>/dev/null)

test_expect_success 'the socket is the owner'\''s alone and serves only the report' '
	test "$(stat -c %a "$SOCK")" = 600 &&
	curl -fsS --unix-socket "$SOCK" http://x/api/v1/flights/$F/report >r.json &&
	curl -fsS $A/flights/$F/report >t.json && cmp r.json t.json &&
	test "$(curl -s -o /dev/null -w %{http_code} --unix-socket "$SOCK" http://x/api/v1/flights)" = 404 &&
	test "$(curl -s -o /dev/null -w %{http_code} --unix-socket "$SOCK" http://x/api/v1/flights/$F)" = 404 &&
	test "$(curl -s -o /dev/null -w %{http_code} --unix-socket "$SOCK" -X POST http://x/api/v1/flights/$F/cancel)" = 404 &&
	blob=http://x/api/v1/worker/blobs/$(printf %064d 0) &&
	test "$(curl -s -o /dev/null -w %{http_code} --unix-socket "$SOCK" -X PUT --data-binary x $blob)" = 404 &&
	test "$(curl -s -o /dev/null -w %{http_code} -X PUT --data-binary x ${blob/x/127.0.0.1:$PORT})" = 401 &&
	test "$(curl -s -o /dev/null -w %{http_code} "$A/flights/$F/report?format=mail")" = 200 &&
	curl -fsS "$A/flights/$F/report?format=mail" | python3 -c "import json,sys; json.load(sys.stdin)"
'

test_expect_success 'the daemon answers the CLI: a decided flight, text and JSON, judged now too' '
	via $F --json >via.json && h flight report $F --json --direct >direct.json &&
	cmp via.json direct.json &&
	via $F >via.txt && h flight report $F --direct >direct.txt &&
	cmp via.txt direct.txt && grep -q "^To: xen-devel@example.org" via.txt &&
	grep -q "dashboard.example" via.txt &&
	! "$HANGAR" --config lab-nodb.conf flight report $F --json --direct >/dev/null 2>&1 &&
	for args in "--json" "" "--now" "--json --now"; do
		same $F $args || return 1
	done &&
	python3 -c "import json; d = json.load(open(\"$F.out\")); assert \"differences\" in d, d"
'

test_expect_success 'the daemon'\''s answers need no hangar-core.so; the rest loads it' '
	LD_DEBUG=files via $F --json >via.json 2>ld.err && cmp via.json direct.json &&
	! grep -q hangar-core ld.err &&
	LD_DEBUG=files via $F --now >/dev/null 2>ld.err && ! grep -q hangar-core ld.err &&
	LD_DEBUG=files h flight report $F --json --direct >/dev/null 2>ld.err &&
	grep -q "file=.*hangar-core.so" ld.err &&
	! LD_DEBUG=files h flight --json report 99999 >/dev/null 2>ld.err &&
	grep -q "file=.*hangar-core.so" ld.err
'

test_expect_success 'a running flight: the same answer both ways, changing with the flight' '
	same $G --json && cp $G.out before.json &&
	same $G && cp $G.out before.txt &&
	via $G --json >via1.json && cmp via1.json before.json &&
	q "INSERT INTO steps (flight, job, stepno, kind, name, status)
	   VALUES ($G, '\''test-amd64'\'', 1, '\''run'\'', '\''smoke'\'', '\''fail'\'');
	   UPDATE jobs SET status = '\''fail'\'', finished_at = now()
	          WHERE flight = $G AND job = '\''test-amd64'\''" &&
	via $G --json >via2.json && ! cmp -s via1.json via2.json &&
	grep -q smoke via2.json &&
	same $G --json && cmp $G.out via2.json &&
	same $G && ! cmp -s $G.out before.txt
'

test_expect_success 'an ad-hoc flight and a missing one: the same both ways' '
	same $R --json && same $R &&
	! h flight report 99999 --json >out 2>err &&
	same 99999 --json && same 99999 && test -s direct.err &&
	! via 99999 >/dev/null 2>&1
'

test_expect_success 'a web killed -9: a stale socket, passed over at once' '
	kill -9 $(cat web.pid) && rm -f web.pid &&
	test -S "$SOCK" &&
	! via $F --json >/dev/null 2>&1 &&
	same $F --json && same $G &&
	python3 - "$HANGAR" <<-PY
	import subprocess, sys, time
	def t(*a):
	    best = 1e9
	    for _ in range(7):
	        s = time.perf_counter()
	        subprocess.run([sys.argv[1], "--config", "lab.conf", "flight", "report", "$F", "--json", *a],
	                       stdout=subprocess.DEVNULL, check=True)
	        best = min(best, time.perf_counter() - s)
	    return best
	stale, direct = t(), t("--direct")
	# a stale socket costs a refused connect; a wait would be its 2 s
	# timeout (a loaded machine adds tens of ms to either)
	assert stale < direct + 0.5, (stale, direct)
	PY
'

test_expect_success 'an answer of another build, type or status is not taken (a fake daemon)' '
	# the daemon names the build of hangar-core.so, which judges
	ver=$(python3 -c "
import struct, sys
b = open(sys.argv[1], \"rb\").read()
i = b.index(struct.pack(\"<III\", 4, 20, 3) + b\"GNU\\0\")
print(b[i + 16:i + 36].hex())" "${HANGAR%/*}/hangar-core.so") &&
	test ${#ver} = 40 &&
	cat >fake.py <<-PY &&
	import os, socket, sys
	path, ver = sys.argv[1], sys.argv[2]
	answers = [
	    ("200 OK", "X-Hangar-Build: other\\r\\nContent-Type: application/json", "{\\"fake\\": 1}"),
	    ("200 OK", "X-Hangar-Build: %s\\r\\nContent-Type: application/json" % ver, "{\\"fake\\": 2}"),
	    ("500 Internal Server Error", "X-Hangar-Build: %s\\r\\nContent-Type: application/json" % ver, "{}"),
	    ("200 OK", "X-Hangar-Build: %s\\r\\nContent-Type: application/json\\r\\nContent-Length: 99" % ver, "{}"),
	    ("200 OK", "X-Hangar-Build: %s\\r\\nContent-Type: application/json" % ver, "{\\"fake\\": 5}"),
	]
	os.unlink(path)
	s = socket.socket(socket.AF_UNIX)
	s.bind(path)
	s.listen(8)
	open("fake.ready", "w").close()
	for status, headers, body in answers:
	    c, _ = s.accept()
	    c.recv(65536)
	    c.sendall(("HTTP/1.1 %s\\r\\n%s\\r\\n\\r\\n%s" % (status, headers, body)).encode())
	    c.close()
	PY
	python3 fake.py "$SOCK" "$ver" &
	echo $! >fake.pid &&
	wait_for "test -e fake.ready" 10 &&
	h flight report $F --json >f1.json && cmp f1.json direct.json &&
	h flight report $F >f2.txt && h flight report $F --direct >d2.txt && cmp f2.txt d2.txt &&
	h flight report $F --json >f3.json && cmp f3.json direct.json &&
	h flight report $F --json >f4.json && cmp f4.json direct.json &&
	h flight report $F --json >f5.json && grep -x "  \"fake\": 5" f5.json &&
	wait $(cat fake.pid) && rm -f fake.pid
'

test_expect_success 'started again it replaces the stale socket; stopped, it removes it' '
	start_web &&
	via $F --json >via.json && cmp via.json direct.json &&
	kill_pidfile web.pid &&
	! test -e "$SOCK" &&
	same $F --json
'

test_done
