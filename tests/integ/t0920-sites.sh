#!/bin/bash
# A lab over three networks: the controller (database, scheduler, the web
# server over HTTPS) in one namespace, sites a and b in others, each with
# its own simulated hosts and a worker that reaches the controller only
# over HTTPS with its site's token, joined by veth pairs addressed from
# 169.254.0.0/16 (lib-netns.sh). A flight spanning both sites passes, its
# build's artifact fetched across sites; site b's link cut for 30 s in the
# middle of a step loses no step, log line or artifact and changes no
# result; cut past its lease, the job ends broken once and what the
# worker sends afterwards is kept as evidence only; site b's token opens
# nothing of site a's and no admin action.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
. "$SRCDIR/tests/integ/lib-netns.sh"
test_skip_unless openssl
test_skip_unless curl
T=$TEST_DIR/trees
LEASE=40

netns_create a b >netns.out 2>&1 || echo failed >>netns.out
PORT=8443
URL=https://$CTL_ADDR:$PORT

# a private CA and the controller's certificate, for its veth address
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=hangar-test-ca \
	-keyout ca.key -out ca.pem >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=$CTL_ADDR" \
	-keyout web.key -out web.csr >/dev/null 2>&1
printf 'subjectAltName=IP:%s\n' "$CTL_ADDR" >web.ext
openssl x509 -req -in web.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-days 2 -extfile web.ext -out web.pem >/dev/null 2>&1

# the sites' hosts: each lab on loopback addresses inside its namespace
"$LAB" create "$TEST_DIR/la" --net "$NET" ra:x86_64 >/dev/null
"$LAB" create "$TEST_DIR/lb" --net "${NET%.*}.$(((${NET##*.} + 1) % 250 + 1))" \
	rb:arm64 >/dev/null
test_when_finished "\"$LAB\" stop \"$TEST_DIR/la\" >/dev/null 2>&1; \"$LAB\" stop \"$TEST_DIR/lb\" >/dev/null 2>&1"
for s in a b; do
	sed -e "s/^\\[host .*/&\\n\\tsite = $s/" \
		-e 's/^\tboot-timeout = .*/&\n\tpower-cycle-time = 1/' \
		"$TEST_DIR/l$s/hosts.conf" >"hosts-$s.conf"
done
"$DEMO_TREE" create "$T" >/dev/null

cat >lab.conf <<CONF
[lab]
	state = $STATE
	site = ctl
	listen = $CTL_ADDR:$PORT
	url = $URL
[web]
	tls-cert = $TEST_DIR/web.pem
	tls-key = $TEST_DIR/web.key
[include]
	path = $TEST_DIR/hosts-a.conf
[include]
	path = $TEST_DIR/hosts-b.conf
[site "a"]
	lease = ${LEASE}s
[site "b"]
	lease = ${LEASE}s
[scheduler]
	interval = 1s
	claim-timeout = 60s
[tree "minivisor"]
	url = $T/minivisor.git
[branch "minivisor"]
	tree = minivisor
	jobs = build-amd64 test-arm64
[job "build-amd64"]
	recipe = build
	arch = x86_64
[job "test-arm64"]
	recipe = test
	arch = arm64
	needs = build-amd64
[job "build-arm64-slow"]
	recipe = build-slow
	arch = arm64
[recipe "build"]
	step = build make dist
	artifacts = dist/*.tar.gz
[recipe "test"]
	step = host-power-cycle
	step = install-build rm -rf installed && mkdir -p installed && tar xzf dist/minivisor.tar.gz -C installed
	step = run smoke ./installed/tests/smoke.sh
[recipe "build-slow"]
	step = build $TEST_DIR/slow-build.sh
	step = run after echo after
	artifacts = dist/*.tar.gz
CONF
# a build that takes 40 s, a line a second (a script: ";" starts a
# comment in the configuration)
cat >slow-build.sh <<'SCRIPT'
#!/bin/sh
for i in $(seq 1 40); do echo "line $i"; sleep 1; done
make dist
SCRIPT
chmod +x slow-build.sh
for s in a b; do
	cat >"site-$s.conf" <<CONF
[lab]
	state = $TEST_DIR/site-$s
	identity = $TEST_DIR/l$s/id_ed25519
[worker]
	site = $s
	controller = $URL
	token-file = $TEST_DIR/$s.token
	ca = $TEST_DIR/ca.pem
	slots = 2
CONF
done

# a daemon of the controller, in its namespace (pid in NAME.pid)
start_ctl() {
	[ ! -f "$1.pid" ] || mv "$1.pid" "$1.$RANDOM$RANDOM.pid"
	in_ns "$NS_CTL" setsid "$HANGAR" --config lab.conf "$1" >>"$1.log" 2>&1 &
	echo $! >"$1.pid"
}
# site S's worker, in its namespace: no database, no state of the controller's
start_site_worker() {
	[ ! -f "worker-$1.pid" ] || mv "worker-$1.pid" "worker-$1.$RANDOM$RANDOM.pid"
	eval "ns=\$NS_$1"
	in_ns "$ns" setsid env -u PGHOST "$HANGAR" --config "site-$1.conf" worker \
		--name w$1 >>"worker-$1.log" 2>&1 &
	echo $! >"worker-$1.pid"
}
# STATUS TOKENFILE METHOD PATH [BODY]: the answer is STATUS, else say
# what it was
answers() {
	local code
	code=$(in_ns "$NS_a" curl -s --cacert ca.pem -o api.out -w '%{http_code}' \
		-X "$3" -H "Authorization: Bearer $(cat "$2")" \
		${5:+-H "Content-Type: application/json" --data "$5"} "$URL$4")
	[ "$code" = "$1" ] || { echo "$3 $4: $code, not $1: $(cat api.out)"; return 1; }
}
# the step NAME of job J in flight F: "status attempt"
step_of() { q "SELECT status || ' ' || attempt FROM steps WHERE flight=$1 AND job='$2' AND name='$3' ORDER BY stepno DESC LIMIT 1"; }

test_expect_success 'three networks, two sites, the controller over HTTPS' '
	! grep -q failed netns.out &&
	in_ns "$NS_a" "$LAB" start "$TEST_DIR/la" >lab-a.log &&
	in_ns "$NS_b" "$LAB" start "$TEST_DIR/lb" >lab-b.log &&
	h lab apply lab.conf >/dev/null &&
	test "$(q "SELECT string_agg(name || \$\$:\$\$ || site, \$\$ \$\$ ORDER BY name) FROM hosts")" = "ra:a rb:b" &&
	h token create --user site-a --role worker --site a | tail -n 1 >a.token &&
	h token create --user site-b --role worker --site b | tail -n 1 >b.token &&
	start_ctl scheduler && start_ctl web &&
	wait_for "in_ns $NS_a curl -sf --cacert ca.pem $URL/api/v1/whoami" 20 &&
	start_site_worker a && start_site_worker b &&
	wait_for "grep -q \"slot(s)\" worker-a.log && grep -q \"slot(s)\" worker-b.log" 20
'

test_expect_success 'nothing but the veth links: the sites see no host of the other' '
	! in_ns "$NS_a" "$LAB" ssh "$TEST_DIR/lb" rb true 2>/dev/null &&
	! curl -s --max-time 2 --cacert ca.pem "$URL/api/v1/whoami" >/dev/null
'

test_expect_success 'a flight spanning both sites passes' '
	h request --branch minivisor --job build-amd64 --job test-arm64 >req.out &&
	F=$(flight_of req.out) && echo $F >span.flight &&
	h flight wait $F --timeout 240 >wait.out || {
		cat wait.out; h flight show $F; tail -n 30 worker-a.log worker-b.log web.log; exit 1; } &&
	test "$(jstatus $F build-amd64)" = pass &&
	test "$(jstatus $F test-arm64)" = pass &&
	test "$(q "SELECT lease_owner FROM jobs WHERE flight=$F AND job=\$\$test-arm64\$\$")" = b/wb
'

test_expect_success 'its logs and artifacts are on the controller, served as any' '
	F=$(cat span.flight) &&
	sha=$(q "SELECT sha256 FROM artifacts WHERE flight=$F AND job=\$\$build-amd64\$\$") &&
	stored="$STATE/artifacts/sha256/$(echo $sha | cut -c1-2)/$sha" &&
	test "$(sha256sum "$stored" | cut -d" " -f1)" = "$sha" &&
	ls "$STATE/logs/$F/test-arm64/" >logs &&
	grep -q "smoke.log" logs && grep -q "console-rb.log" logs &&
	grep -q "pass" "$STATE/logs/$F/test-arm64/"*smoke.log
'

test_expect_success 'site b'"'"'s token opens nothing of site a'"'"'s and no admin action' '
	F=$(cat span.flight) &&
	answers 404 b.token POST /api/v1/worker/jobs/$F/build-amd64/records \
		"{\"worker\": \"wb\", \"attempt\": 1, \"records\": []}" &&
	answers 404 b.token GET "/api/v1/worker/jobs/$F/build-amd64/trees/minivisor.tar?worker=wb&attempt=1" &&
	answers 403 b.token POST /api/v1/hosts/ra/maintenance "{\"on\": true}" &&
	answers 403 b.token POST /api/v1/branches/minivisor/block "{}" &&
	answers 403 b.token POST /api/v1/requests "{\"branch\": \"minivisor\"}" &&
	answers 403 b.token GET /api/v1/flights &&
	test "$(q "SELECT state FROM hosts WHERE name=\$\$ra\$\$")" = free
'

# a job that is in its 40-second step on site b
start_slow() {
	h request --branch minivisor --job build-arm64-slow >req.out &&
	F=$(flight_of req.out) && echo $F >"$1" &&
	wait_for "grep -q \"line 8\" $STATE/logs/$F/build-arm64-slow/*build.log" 60
}

test_expect_success 'site b cut for 30 s mid-step: nothing lost, nothing changed' '
	start_slow short.flight && F=$(cat short.flight) &&
	netns_cut b && sleep 30 && netns_join b &&
	h flight wait $F --timeout 120 >wait.out || {
		cat wait.out; h flight show $F; tail -n 30 worker-b.log; exit 1; } &&
	test "$(jstatus $F build-arm64-slow)" = pass &&
	test "$(step_of $F build-arm64-slow build)" = "pass 1" &&
	test "$(step_of $F build-arm64-slow after)" = "pass 1" &&
	for i in $(seq 1 40); do
		grep -qx "line $i" "$STATE/logs/$F/build-arm64-slow/"*build.log || exit 1
	done &&
	sha=$(q "SELECT sha256 FROM artifacts WHERE flight=$F AND job=\$\$build-arm64-slow\$\$") &&
	test -f "$STATE/artifacts/sha256/$(echo $sha | cut -c1-2)/$sha" &&
	test "$(q "SELECT count(*) FROM late_records WHERE flight=$F")" = 0
'

test_expect_success 'site b cut past its lease: broken once, the late results only kept' '
	start_slow long.flight && F=$(cat long.flight) &&
	netns_cut b &&
	wait_for "test \"\$(jstatus $F build-arm64-slow)\" = broken" $((LEASE + 30)) &&
	netns_join b &&
	wait_for "test \"\$(q \"SELECT count(*) FROM late_records WHERE flight=$F\")\" -gt 0" 90 &&
	test "$(jstatus $F build-arm64-slow)" = broken &&
	test "$(q "SELECT count(*) FROM events WHERE flight=$F AND kind = \$\$job.lease-expired\$\$")" = 1 &&
	test "$(q "SELECT count(*) FROM events WHERE flight=$F AND kind IN (\$\$job.broken\$\$, \$\$job.requeued\$\$, \$\$job.unclaimed\$\$)")" = 0 &&
	test "$(q "SELECT attempt FROM jobs WHERE flight=$F")" = 1 &&
	test "$(q "SELECT count(*) FROM artifacts WHERE flight=$F")" = 0 &&
	test "$(q "SELECT count(*) FROM steps WHERE flight=$F AND status = \$\$pass\$\$ AND name = \$\$after\$\$")" = 0 &&
	q "SELECT state FROM hosts WHERE name=\$\$rb\$\$" | grep -Eq "free|broken"
'

test_expect_success 'site b works again after the cut' '
	h request --branch minivisor --job test-arm64 >req.out &&
	F=$(flight_of req.out) &&
	h flight wait $F --timeout 120 >/dev/null &&
	test "$(jstatus $F test-arm64)" = pass
'

test_done
