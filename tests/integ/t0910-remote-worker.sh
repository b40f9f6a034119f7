#!/bin/bash
# A remote worker on loopback: the controller (`hangar web` over HTTPS,
# the scheduler, the database) and a site "b" holding the lab's hosts,
# served by `hangar worker --site b --controller https://...` with its
# site's worker token and no database of its own. A flight of a build and
# a test passes through it; the step logs, console captures and the
# artifact end up on the controller; the worker's spool empties; a link
# cut shorter than the site's lease loses nothing and changes no result;
# one past it ends the job broken once, what came later kept as evidence.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
test_skip_unless openssl
T=$TEST_DIR/trees
RSTATE=$TEST_DIR/rstate
PORT=$(free_port)
URL=https://127.0.0.1:$PORT

"$LAB" create "$L" --net "$NET" ruby:x86_64:share-build opal:arm64 >/dev/null
"$DEMO_TREE" create "$T" >/dev/null
# every host of the lab is at site b
sed -i 's/^\[host "[^"]*"\]$/&\n\tsite = b/' "$L/hosts.conf"
sed -i 's/^\tboot-timeout = .*/&\n\tpower-cycle-time = 1/' "$L/hosts.conf"

# a private CA and the controller's certificate for 127.0.0.1
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca \
	-keyout ca.key -out ca.pem 2>/dev/null &&
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
	-keyout server.key -out server.csr 2>/dev/null &&
printf 'subjectAltName = IP:127.0.0.1\n' >san.ext &&
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-days 2 -extfile san.ext -out server.pem 2>/dev/null ||
	{ echo "Bail out! openssl could not make the certificates"; exit 1; }

cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $L/id_ed25519
	listen = 127.0.0.1:$PORT
	url = $URL
[include]
	path = $L/hosts.conf
[site "b"]
	lease = 30s
[scheduler]
	interval = 1s
	claim-timeout = 60s
[worker]
	heartbeat = 1s
	lease = 5s
[web]
	tls-cert = $TEST_DIR/server.pem
	tls-key = $TEST_DIR/server.key
[tree "minivisor"]
	url = $T/minivisor.git
[branch "minivisor"]
	tree = minivisor
	jobs = build-amd64 test-arm64
[job "build-amd64"]
	recipe = build
	arch = x86_64
	flags = share-build
[job "test-arm64"]
	recipe = test
	arch = arm64
	needs = build-amd64
[recipe "build"]
	step = build make dist
	artifacts = dist/*.tar.gz
[recipe "test"]
	step = host-power-cycle
	step = install-build rm -rf installed && mkdir -p installed && tar xzf dist/minivisor.tar.gz -C installed
	step = run smoke ./installed/tests/smoke.sh
	step = run slow sleep 10 && echo slow-done
	step = logs-capture installed/tests/smoke.sh
CONF
# the remote worker's own configuration: no database, its own state
cat >remote.conf <<CONF
[lab]
	state = $RSTATE
	identity = $L/id_ed25519
	url = $URL
[worker]
	slots = 2
	site = b
	controller = $URL
	token-file = $TEST_DIR/b.token
	ca = $TEST_DIR/ca.pem
	name = b1
CONF

start_remote() {
	[ ! -f remote.pid ] || mv remote.pid "remote.$RANDOM$RANDOM.pid"
	setsid "$HANGAR" --config remote.conf worker >>remote.log 2>&1 &
	echo $! >remote.pid
}

# a worker of bad.conf (a wrong token, a wrong CA), its log in $1
start_bad() {
	setsid "$HANGAR" --config bad.conf worker >"$1" 2>&1 &
	echo $! >bad.pid
}

test_expect_success 'the controller speaks HTTPS; the remote worker starts with its token' '
	"$LAB" start "$L" >lab.log &&
	h lab apply lab.conf >/dev/null &&
	test "$(q "SELECT string_agg(DISTINCT site, \$\$ \$\$) FROM hosts")" = b &&
	h token create --user b1 --role worker --site b >tok.out &&
	tail -n 1 tok.out >b.token &&
	start_daemon scheduler && start_daemon web &&
	wait_for "curl -s --cacert ca.pem -o /dev/null $URL/api/v1/whoami" 20 &&
	! curl -s -o /dev/null http://127.0.0.1:$PORT/api/v1/whoami &&
	start_remote &&
	wait_for "grep -q \"slot(s)\" remote.log" 20 &&
	grep -q "worker b/b1" remote.log
'

test_expect_success 'a remote worker with a wrong token or CA gets nothing' '
	echo hgr_0000000000000000000000000000000000000000000000000000000000000000 >bad.token &&
	sed "s|b.token|bad.token|; s|name = b1|name = bad|; s|rstate|badstate|" remote.conf >bad.conf &&
	start_bad bad.log &&
	wait_for "grep -q \"POST claim: 401\" bad.log" 20 &&
	kill_pid $(cat bad.pid) && rm -f bad.pid &&
	sed "s|ca = .*|ca = /etc/ssl/certs/ca-certificates.crt|; s|name = b1|name = bad|; s|rstate|badstate|" remote.conf >bad.conf &&
	start_bad bad2.log &&
	wait_for "grep -q \"is away (.*certificate\\|is away (.*issuer\\|is away (.*SSL\" bad2.log" 20 &&
	kill_pid $(cat bad.pid) && rm -f bad.pid
'

test_expect_success 'a flight of a build and a test passes through the remote worker' '
	h request --branch minivisor >req.out &&
	F=$(flight_of req.out) && echo $F >good.flight &&
	h flight wait $F --timeout 240 >wait.out ||
		{ cat wait.out remote.log web.log; h flight show $F; exit 1; } &&
	test "$(jstatus $F build-amd64)" = pass &&
	test "$(jstatus $F test-arm64)" = pass &&
	grep -q "flight=$F job=build-amd64 attempt=1 host=ruby: running" remote.log &&
	# what the remote worker said: its version runs the jobs, and the
	# firmware its host'"'"'s console printed
	test "$(q "SELECT string_agg(DISTINCT coalesce(harness, \$\$-\$\$), \$\$ \$\$) FROM jobs WHERE flight=$F")" = "$("$HANGAR" --version | cut -d" " -f2)" &&
	test "$(q "SELECT firmware FROM allocations WHERE flight=$F AND job=\$\$test-arm64\$\$")" = "U-Boot 2023.01-hangar-lab"
'

test_expect_success 'its step logs, consoles and artifact are on the controller' '
	F=$(cat good.flight) &&
	grep -q "exit status 0" "$STATE/logs/$F/build-amd64/"*.build.log &&
	grep -q "step build: pass" "$STATE/logs/$F/build-amd64/"*.build.log &&
	grep -q "slow-done" "$STATE/logs/$F/test-arm64/"*.slow.log &&
	grep -q "login:" "$STATE/logs/$F/test-arm64/console-opal.log" &&
	ls "$STATE/logs/$F/test-arm64/" | grep -q "^opal--" &&
	for l in $(q "SELECT log FROM steps WHERE flight=$F AND log IS NOT NULL"); do
		test -s "$STATE/logs/$l" || { echo "missing $l"; exit 1; }
	done &&
	sha=$(q "SELECT sha256 FROM artifacts WHERE flight=$F AND job=\$\$build-amd64\$\$") &&
	test -n "$sha" &&
	stored="$STATE/artifacts/sha256/$(echo $sha | cut -c1-2)/$sha" &&
	test "$(sha256sum "$stored" | cut -d" " -f1)" = "$sha" &&
	rev=$(git --git-dir="$T/minivisor.git" rev-parse staging) &&
	test "$(q "SELECT val FROM runvars WHERE flight=$F AND job=\$\$build-amd64\$\$ AND name=\$\$built_revision_minivisor\$\$")" = "$rev"
'

test_expect_success 'the remote worker had no database and keeps no spool once acknowledged' '
	F=$(cat good.flight) &&
	! test -e "$RSTATE/pg" &&
	! grep -qi "database" remote.conf &&
	wait_for "! test -e $RSTATE/logs/$F/build-amd64" 30 &&
	wait_for "! test -e $RSTATE/logs/$F/test-arm64" 30 &&
	test -z "$(find "$RSTATE/artifacts" -type f 2>/dev/null)"
'

# The controller goes away for 15 s (less than site b's lease, 30 s)
# while the slow step runs: its end and what follows are held, and
# delivered in order when it is back.
test_expect_success 'a link cut shorter than the lease loses nothing and changes no result' '
	h request --branch minivisor --job test-arm64 >req.out &&
	F=$(flight_of req.out) &&
	wait_for "test -n \"\$(q \"SELECT 1 FROM steps WHERE flight=$F AND name=\\\$\\\$slow\\\$\\\$\")\"" 120 &&
	kill_pid $(cat web.pid) &&
	sleep 15 &&
	start_daemon web &&
	h flight wait $F --timeout 120 >wait.out || { cat remote.log; exit 1; } &&
	test "$(jstatus $F test-arm64)" = pass &&
	test "$(q "SELECT max(attempt) FROM steps WHERE flight=$F")" = 1 &&
	test "$(q "SELECT string_agg(name || \$\$:\$\$ || status, \$\$ \$\$ ORDER BY stepno) FROM steps WHERE flight=$F")" = \
		"host-power-cycle:pass install-build:pass smoke:pass slow:pass logs-capture:pass" &&
	grep -q "slow-done" "$STATE/logs/$F/test-arm64/"*.slow.log &&
	grep -q "the controller.* is away" remote.log &&
	grep -q "is back" remote.log
'

# Past the lease (30 s), recovery ends the job broken, once; what the
# worker held (the slow step's end, the logs after the cut) reaches the
# controller when it is back as evidence only: late records, late-1/.
test_expect_success 'a link cut past the lease ends the job broken once; the rest is evidence' '
	h request --branch minivisor --job test-arm64 >req.out &&
	F=$(flight_of req.out) &&
	wait_for "test -n \"\$(q \"SELECT 1 FROM steps WHERE flight=$F AND name=\\\$\\\$slow\\\$\\\$\")\"" 120 &&
	kill_pid $(cat web.pid) &&
	wait_for "test \"\$(jstatus $F test-arm64)\" = broken" 60 &&
	start_daemon web &&
	wait_for "grep -q \"flight=$F job=test-arm64: done\\|flight=$F job=test-arm64: .*no longer holds\\|flight=$F job=test-arm64: .*took it over\" remote.log" 60 &&
	wait_for "test \"\$(q \"SELECT count(*) FROM late_records WHERE flight=$F AND record->>\\\$\\\$type\\\$\\\$ = \\\$\\\$step-end\\\$\\\$\")\" -ge 1" 30 &&
	test "$(jstatus $F test-arm64)" = broken &&
	test "$(q "SELECT count(*) FROM steps WHERE flight=$F AND attempt > 1")" = 0 &&
	test "$(q "SELECT count(*) FROM steps WHERE flight=$F AND name=\$\$slow\$\$ AND status=\$\$pass\$\$")" = 0 &&
	test "$(q "SELECT count(*) FROM events WHERE flight=$F AND kind = \$\$job.lease-expired\$\$")" = 1 &&
	test "$(q "SELECT count(*) FROM events WHERE flight=$F AND kind IN (\$\$job.finished\$\$, \$\$job.requeued\$\$)")" = 0 &&
	wait_for "test -d $STATE/logs/$F/test-arm64/late-1" 20 &&
	grep -rq "slow-done" "$STATE/logs/$F/test-arm64/late-1/"
'

test_expect_success 'one remote worker a spool: a second one is refused' '
	rc=0 && { "$HANGAR" --config remote.conf worker >second.log 2>&1 || rc=$?; } &&
	test "$rc" = 2 &&
	grep -q "another remote worker spools there" second.log
'

# A worker killed mid-step leaves its spool; the next one on it delivers
# what is there (by the attempt it was of) and empties it.
test_expect_success 'a remote worker killed mid-step: the next one delivers its spool' '
	h request --branch minivisor --job test-arm64 >req.out &&
	F=$(flight_of req.out) &&
	wait_for "test -n \"\$(q \"SELECT 1 FROM steps WHERE flight=$F AND name=\\\$\\\$slow\\\$\\\$\")\"" 120 &&
	kill -KILL $(cat remote.pid) &&
	wait_for "! pid_alive $(cat remote.pid)" 10 &&
	test "$(cat "$RSTATE/logs/$F/test-arm64/.attempt")" = 1 &&
	ls "$RSTATE/logs/$F/test-arm64/" | grep -q "slow.log" &&
	# a killed process is a zombie before its last thread has let go
	# of its files (slow under ASan): its spool lock a moment after
	wait_for "flock -n $RSTATE/spool.lock true" 20 &&
	start_remote &&
	wait_for "! test -e $RSTATE/logs/$F/test-arm64" 30 &&
	grep -q "flight=$F job=test-arm64: the logs a stopped worker left (attempt 1) are delivered" remote.log &&
	grep -rq "step 4 slow" "$STATE/logs/$F/test-arm64/" &&
	test -z "$(find "$RSTATE/artifacts" -type f 2>/dev/null)" &&
	wait_for "test \"\$(jstatus $F test-arm64)\" = broken" 60
'

test_expect_success 'SIGTERM stops the remote worker' '
	kill -TERM $(cat remote.pid) &&
	wait_for "! pid_alive $(cat remote.pid)" 20 &&
	grep -q "stopping" remote.log
'

test_done
