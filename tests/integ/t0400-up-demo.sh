#!/bin/bash
# hangar up --demo, as installed (make install into a PREFIX of its own:
# the lab and the demo tree come from PREFIX/share/hangar, not the
# source tree): private database, simulated lab, demo tree and the
# dashboard in one process tree; the demo drives itself (pushes, then a
# regression that is not pushed); a dead daemon is restarted; Ctrl-C stops
# everything it started.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"
test_skip_unless ipmi_sim

# the build under test, installed (-o: never rebuilt here)
O=$(dirname "$(readlink -f "$HANGAR")")
make -s -C "$SRCDIR" --no-print-directory O="$O" -o "$O/hangar" install \
	PREFIX="$TEST_DIR/prefix" >install.log 2>&1 || { cat install.log; exit 1; }
HANGAR=$TEST_DIR/prefix/bin/hangar

export HANGAR_PG_FAST=1
export HANGAR_DEMO_PAUSE=1
STATE=$TEST_DIR/demo
PORT=$(free_port)
NET=127.$((100 + $$ % 100)).$((RANDOM % 250 + 1))
URL=http://127.0.0.1:$PORT

# up runs in its own session so that we can send it the Ctrl-C a terminal
# would, and so that cleanup can kill whatever is left by process group.
setsid "$HANGAR" --state "$STATE" up --demo --listen "127.0.0.1:$PORT" \
	--lab-net "$NET" >up.log 2>&1 &
echo $! >up.pid
test_when_finished 'kill_pid $(cat "$TEST_DIR"/up*.pid); "$LAB" stop "$STATE/lab" >/dev/null 2>&1; kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

test_expect_success 'up --demo prints the dashboard URL' '
	wait_for "grep -q \"hangar is up: dashboard $URL/\" up.log" 120 ||
		{ cat up.log; exit 1; }
'

test_expect_success 'the installed hangar runs its lab from PREFIX/share/hangar' '
	grep -q "creating the simulated lab in $STATE/lab (from $TEST_DIR/prefix/share/hangar/lab)" up.log &&
	cmp "$STATE/lab/lab-power" "$TEST_DIR/prefix/share/hangar/lab/lab-power" &&
	test -f "$TEST_DIR/prefix/share/man/man5/hangar.conf.5" &&
	test -f "$TEST_DIR/prefix/lib/systemd/system/hangar-worker@.service" &&
	grep -q "^ExecStart=$TEST_DIR/prefix/bin/hangar worker$" \
		"$TEST_DIR/prefix/lib/systemd/system/hangar-worker@.service"
'

test_expect_success 'the demo lab, tree and configuration exist' '
	test -f "$STATE/hangar.conf" &&
	git --git-dir="$STATE/trees/minivisor.git" rev-parse --verify master &&
	git --git-dir="$STATE/trees/minivisor.git" rev-parse --verify staging &&
	# the demo power-cycles its four sshd hosts meanwhile: each answers
	# in its turn
	wait_for "\"\$LAB\" status \"\$STATE/lab\" >>status.all && test \$(grep \"ssh up\" status.all | cut -d\" \" -f1 | sort -u | wc -l) = 4" 60
'

test_expect_success 'the dashboard serves the hosts' '
	curl -fsS "$URL/" >index.html &&
	grep -q "Lab health" index.html && grep -q ">opal<" index.html &&
	curl -fsS "$URL/api/v1/hosts" >hosts.json &&
	python3 -c "import json; h=json.load(open(\"hosts.json\")); assert sorted(x[\"name\"] for x in h)==[\"beryl\",\"garnet\",\"jade\",\"opal\",\"quartz\",\"ruby\",\"topaz\"], h" &&
	curl -fsS "$URL/hosts/ruby" >ruby.html && grep -q "host.added" ruby.html &&
	code=$(curl -s -o nf.json -w "%{http_code}" "$URL/api/v1/hosts/nope") &&
	test "$code" = 404 && grep -q "\"error\"" nf.json
'

test_expect_success 'up --demo prints a token to log in with; it is an admin' '
	grep -q "^demo: log in at $URL/login as .demo. (admin) with the token hgr_" up.log &&
	tok=$(sed -n "s/^demo: log in at .* with the token //p" up.log) &&
	test "$tok" = "$(cat "$STATE/demo-token")" &&
	test "$(stat -c %a "$STATE/demo-token")" = 600 &&
	curl -fsS -H "Authorization: Bearer $tok" "$URL/api/v1/whoami" >who.json &&
	python3 -c "import json; assert json.load(open(\"who.json\")) == {\"user\": \"demo\", \"role\": \"admin\"}"
'

test_expect_success 'the CLI sees the same database' '
	"$HANGAR" --config "$STATE/hangar.conf" host list --json >cli.json &&
	python3 -c "import json; assert len(json.load(open(\"cli.json\")))==7"
'

CONN="host=$STATE/pg dbname=hangar user=hangar"
test_expect_success 'the demo drives itself: a push, then a regression not pushed' '
	wait_for "test -n \"\$(q \"SELECT id FROM flights WHERE pushed\")\"" 300 ||
		{ tail -n 30 up.log; "$HANGAR" --config "$STATE/hangar.conf" flight list; exit 1; } &&
	test "$(git --git-dir="$STATE/trees/minivisor.git" rev-parse master)" = \
		"$(q "SELECT r.revision FROM flights f JOIN flight_revisions r ON r.flight = f.id WHERE f.pushed ORDER BY f.id DESC LIMIT 1")" &&
	wait_for "test -n \"\$(q \"SELECT id FROM flights WHERE verdict = \\\$\\\$no-push\\\$\\\$ AND NOT baseline_test\")\"" 300 ||
		{ tail -n 30 up.log; exit 1; } &&
	F=$(q "SELECT id FROM flights WHERE verdict = \$\$no-push\$\$ AND NOT baseline_test") &&
	"$HANGAR" --config "$STATE/hangar.conf" flight report $F >report.txt &&
	grep -E "^ test-arm64 +[0-9]+ smoke +fail +REGR\. vs\. [0-9]+$" report.txt &&
	curl -fsS "$URL/flights/$F" >flight.html &&
	grep -q "NO PUSH" flight.html && grep -q "regression (blocking)" flight.html &&
	grep -q "demo: committed to staging: a change that breaks the smoke test on arm64" up.log
'

test_expect_success 'the demo push has a signed evidence record of REQUIREMENTS' '
	REV=$(git --git-dir="$STATE/trees/minivisor.git" rev-parse master) &&
	"$HANGAR" --config "$STATE/hangar.conf" evidence show $REV --out ev.json >ev.out &&
	ssh-keygen -Y verify -f ev.json.allowed_signers -I evidence@minivisor-lab \
		-n hangar-evidence -s ev.json.sig <ev.json &&
	"$HANGAR" --config "$STATE/hangar.conf" evidence verify ev.json >verify.out &&
	grep -q "^signature: good" verify.out &&
	python3 -c "import json; d=json.load(open(\"ev.json\")); s={r[\"id\"]: r[\"status\"] for r in d[\"requirements\"]}; assert s and all(v == \"verified\" for v in s.values()), s"
'

test_expect_success 'a second up on the same state directory is refused' '
	set +e
	"$HANGAR" --state "$STATE" up --demo --listen "127.0.0.1:$PORT" \
		--lab-net "$NET" >second.log 2>&1; rc=$?
	set -e
	test $rc = 1 && grep -q "another .hangar up. runs" second.log
'

test_expect_success 'a killed daemon is restarted' '
	web=$(pgrep -f -- "--state $STATE web" | head -n 1) && test -n "$web" &&
	kill -9 "$web" &&
	wait_for "grep -q \"web killed by signal 9; restarting\" up.log" 10 &&
	wait_for "curl -fsS $URL/api/v1/hosts >/dev/null" 20 &&
	new=$(pgrep -f -- "--state $STATE web" | head -n 1) &&
	test -n "$new" && test "$new" != "$web"
'

test_expect_success 'SIGHUP with a broken file: the old settings, here and in the daemons' '
	cp "$STATE/hangar.conf" good.conf &&
	pids=$(pgrep -f -- "--state $STATE (scheduler|worker|gate|web)" | sort) &&
	test $(echo "$pids" | wc -l) = 4 &&
	printf "[web]\n\tread-role = nobody\n" >>"$STATE/hangar.conf" &&
	kill -HUP "$(cat up.pid)" &&
	wait_for "grep -q \"has errors: keeping the old settings\" up.log" 20 &&
	grep -q "hangar.conf:[0-9]*: \[web\]: read-role" up.log &&
	sleep 2 && pid_alive "$(cat up.pid)" &&
	test "$(pgrep -f -- "--state $STATE (scheduler|worker|gate|web)" | sort)" = "$pids" &&
	! grep -q "worker: SIGHUP" up.log &&
	curl -fsS "$URL/api/v1/hosts" >/dev/null &&
	cp good.conf "$STATE/hangar.conf"
'

test_expect_success 'SIGHUP with a good file: the web takes its read-role' '
	cp good.conf "$STATE/hangar.conf" &&
	printf "[web]\n\tread-role = viewer\n" >>"$STATE/hangar.conf" &&
	kill -HUP "$(cat up.pid)" &&
	wait_for "grep -q \"\[web\] read-role is now viewer\" up.log" 20 &&
	code=$(curl -s -o ro.json -w "%{http_code}" "$URL/api/v1/hosts") &&
	test "$code" = 401 &&
	# each daemon takes its SIGHUP in its own time
	wait_for "grep -q \"worker: SIGHUP\" up.log" 20 &&
	wait_for "grep -q \"\[scheduler\] settings reloaded\" up.log" 20 &&
	cp good.conf "$STATE/hangar.conf" &&
	kill -HUP "$(cat up.pid)" &&
	wait_for "grep -q \"\[web\] read-role is now none\" up.log" 20 &&
	curl -fsS "$URL/api/v1/hosts" >/dev/null
'

test_expect_success 'Ctrl-C stops the daemons, the lab and the private cluster' '
	pg=$(head -n 1 "$STATE/pg/postmaster.pid") && pid_alive "$pg" &&
	bmcs=$(cat "$STATE"/lab/hosts/*/*.pid 2>/dev/null | sort -u) &&
	test -n "$bmcs" &&
	kill -INT "$(cat up.pid)" &&
	wait_for "! pid_alive $(cat up.pid)" 60 &&
	{
		grep -q "stopping (interrupt)" up.log &&
		# each daemon stopped by itself on SIGTERM, none had to be killed
		! grep "did not stop" up.log &&
		grep -q "scheduler: .*stopped" up.log &&
		grep -q "worker: stopping" up.log &&
		grep -q "web: stopping" up.log &&
		grep -q "gate: stopped" up.log &&
		! pid_alive "$pg" &&
		alive=$(for p in $bmcs; do ! pid_alive "$p" || echo "$p"; done) &&
		test -z "$alive" &&
		! curl -fsS "$URL/" >/dev/null 2>&1 &&
		! pgrep -a -f -- "--state $STATE"
	} || { echo "lab pids alive: $alive; up.log ends:"; tail -n 30 up.log; false; }
'

test_expect_success 'up --demo again reuses what the first run created' '
	setsid "$HANGAR" --state "$STATE" up --demo --listen "127.0.0.1:$PORT" \
		--lab-net "$NET" >up2.log 2>&1 &
	echo $! >up2.pid &&
	wait_for "grep -q \"hangar is up\" up2.log" 120 &&
	! grep -q "creating" up2.log &&
	grep -q "lab: 0 change(s) applied" up2.log &&
	kill -INT "$(cat up2.pid)" &&
	wait_for "! pid_alive $(cat up2.pid)" 60
'

test_done
