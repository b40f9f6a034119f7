#!/bin/bash
# t0610-power-console: hangar host power against real power controls (the
# lab's ipmi_sim BMCs through ipmitool, a real pdudaemon with its local
# command driver, LAVA-style commands, none), hangar host console while a
# host boots, hangar host maintenance, and the refusal to power off a
# host that someone else holds. Every check looks at the host itself: its
# sshd stops and comes back.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0" # sshd on port 22, ipmi_sim on 623
test_skip_unless ipmi_sim
test_skip_unless pdudaemon

export HANGAR_PG_FAST=1
NET=127.63.0
L=$TEST_DIR/lab
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
PDUPORT=$(free_port)
# (a function: run "$HANGAR" itself where a pid is needed)
h() { "$HANGAR" --config "$TEST_DIR/lab.conf" "$@"; }
export -f h
export CONN
test_when_finished 'kill_pidfile "$TEST_DIR"/console*.pid "$TEST_DIR/pdu.pid"; "$LAB" stop "$L" >/dev/null 2>&1; kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

ssh_answers() { # ADDR: an SSH banner comes back from port 22
	(
		exec 3<>"/dev/tcp/$1/22" || exit 1
		IFS= read -r -t 2 line <&3 || exit 1
		[[ $line == SSH-* ]]
	) 2>/dev/null
}
export -f ssh_answers

sshd_pid() { cat "$L/hosts/$1/sshd.pid" 2>/dev/null; }

# The lab's PDU: outlet 3 feeds host pdu1 (pdudaemon's localcmdline driver
# runs this with the outlet number).
cat >outlet <<EOF
#!/bin/sh
echo "outlet \$1 \$2" >>"$TEST_DIR/outlets.log"
case \$1 in 3) host=pdu1 ;; *) echo "nothing on outlet \$1"; exit 1 ;; esac
case \$2 in on) v=1 ;; off) v=0 ;; *) exit 1 ;; esac
exec "$L/lab-power" "$L/hosts/\$host" set power \$v
EOF
chmod +x outlet

cat >pdudaemon.conf <<EOF
{
	"daemon": { "hostname": "127.0.0.1", "port": $PDUPORT,
		    "listener": "http", "logging_level": "DEBUG" },
	"pdus": {
		"lab-pdu": { "driver": "localcmdline",
			     "cmd_on": "$TEST_DIR/outlet %s on",
			     "cmd_off": "$TEST_DIR/outlet %s off" }
	}
}
EOF

cat >lab.conf <<EOF
[lab]
	state = $STATE
[host "ipmi1"]
	arch = x86_64
	address = $NET.2
	power = ipmi
	ipmi = lanplus:$NET.2:623
	ipmi-user = admin
	ipmi-password = secret
	ipmi-cipher = 3
	console = tcp:$NET.2:7001
[host "pdu1"]
	arch = x86_64
	address = $NET.3
	power = pdudaemon
	pdu = http://127.0.0.1:$PDUPORT lab-pdu 3
	console = tcp:$NET.3:7001
[host "pdubad"]
	arch = x86_64
	address = $NET.51
	power = pdudaemon
	pdu = http://127.0.0.1:$PDUPORT no-such-pdu 3
[host "cmd1"]
	arch = arm64
	address = $NET.4
	power = command
	power-on = $L/lab-power $L/hosts/cmd1 set power 1
	power-off = $L/lab-power $L/hosts/cmd1 set power 0
	power-status = $L/lab-power $L/hosts/cmd1 get power | grep -qx power:1
	console = command:exec tail -n0 -F $L/hosts/cmd1/console.log
[host "dumb"]
	arch = riscv64
	address = $NET.50
	power = none
EOF

test_expect_success 'the lab, the database and pdudaemon start' '
	"$LAB" create "$L" --net $NET ipmi1:x86_64 pdu1:x86_64 cmd1:arm64 >/dev/null &&
	"$LAB" start "$L" >/dev/null &&
	ssh_answers $NET.2 && ssh_answers $NET.3 && ssh_answers $NET.4 &&
	h lab apply lab.conf >/dev/null &&
	{ setsid pdudaemon --conf pdudaemon.conf --logfile pdu.log >pdu.out 2>&1 &
	  echo $! >pdu.pid; } &&
	wait_for "grep -q \"Listening on 127.0.0.1:$PDUPORT\" pdu.log" 20
'

test_expect_success 'ipmi: status reads the BMC' '
	h host power ipmi1 status >out && cat out &&
	test "$(cat out)" = "ipmi1: power is on" &&
	h host power ipmi1 status --json >st.json &&
	python3 -c "import json; d=json.load(open(\"st.json\")); assert d[\"state\"]==\"on\" and d[\"result\"]==\"ok\" and d[\"action\"]==\"status\" and d[\"error\"] is None, d"
'

test_expect_success 'ipmi: off kills the host, and a second off does nothing' '
	old=$(sshd_pid ipmi1) && pid_alive $old &&
	h host power ipmi1 off >out && cat out &&
	grep -E "^ipmi1: power off \(1 attempt, [0-9.]+ s\)$" out &&
	! pid_alive $old &&
	! ssh_answers $NET.2 &&
	"$LAB" status "$L" | grep -E "^ipmi1 .* power off ssh down" &&
	test "$(h host power ipmi1 status)" = "ipmi1: power is off" &&
	h host power ipmi1 off >out && cat out &&
	grep -E "^ipmi1: power off \(0 attempts, [0-9.]+ s; already off\)$" out
'

test_expect_success 'ipmi: on boots it: sshd answers again' '
	h host power ipmi1 on >out && cat out &&
	grep -E "^ipmi1: power on \(1 attempt" out &&
	wait_for "ssh_answers $NET.2" 10 &&
	test "$(h host power ipmi1 status)" = "ipmi1: power is on"
'

test_expect_success 'ipmi: cycle gives a new sshd' '
	old=$(sshd_pid ipmi1) &&
	wc -l <"$L/hosts/ipmi1/power.log" >lines &&
	h host power ipmi1 cycle --pause 1 >out && cat out &&
	grep -E "^ipmi1: power cycle \(2 attempts, [0-9.]+ s\)$" out &&
	! pid_alive $old &&
	wait_for "test -n \"\$(sshd_pid ipmi1)\" && test \$(sshd_pid ipmi1) != $old && ssh_answers $NET.2" 30 &&
	# (ipmitool may send it twice on a loaded machine: "was off" then)
	tail -n +$(($(cat lines) + 1)) "$L/hosts/ipmi1/power.log" | grep -q "power off .*, was on"
'

test_expect_success 'ipmi: the password goes in the environment, never in argv' '
	mkdir -p fakebin &&
	cat >fakebin/ipmitool <<-EOF &&
	#!/bin/sh
	echo "\$*" >>"$TEST_DIR/ipmitool.args"
	echo "\$IPMI_PASSWORD" >>"$TEST_DIR/ipmitool.env"
	echo "\$HOME" >>"$TEST_DIR/ipmitool.home"
	echo "Chassis Power is on"
	EOF
	chmod +x fakebin/ipmitool &&
	PATH=$TEST_DIR/fakebin:$PATH h host power ipmi1 status &&
	cat ipmitool.args &&
	grep -Fx -- "-I lanplus -C 3 -H $NET.2 -p 623 -U admin -N 1 -R 2 -E power status" ipmitool.args &&
	grep -Fx secret ipmitool.env
'

test_expect_success 'ipmi: its HOME has an IANA registry of one entry, read first' '
	grep -Fx "$STATE/ipmitool" ipmitool.home &&
	registry=$STATE/ipmitool/.local/usr/share/misc/enterprise-numbers.txt &&
	test "$(head -n 1 "$registry")" = 0 && test $(wc -l <"$registry") = 4
'

test_expect_success 'ipmi: every action is in the history, the password nowhere' '
	h host show ipmi1 --json >show.json &&
	! grep -q secret show.json &&
	python3 - <<-\PY
	import json
	hist = json.load(open("show.json"))["history"]
	kinds = [e["kind"] for e in hist if e["kind"].startswith("power.")]
	# newest first
	assert kinds[:6] == ["power.status", "power.cycle", "power.status",
	                     "power.on", "power.off", "power.status"], kinds
	cyc = [e for e in hist if e["kind"] == "power.cycle"][0]
	d = cyc["detail"]
	assert d["result"] == "ok" and d["state"] == "on" and d["attempts"] == 2, d
	assert d["ms"] >= 1000 and d["error"] is None, d
	assert cyc["actor"].endswith("@cli"), cyc
	offs = [e["detail"] for e in hist if e["kind"] == "power.off"]
	assert offs[0]["attempts"] == 0 and offs[0]["detail"] == "already off", offs
	PY
'

test_expect_success 'pdudaemon: off and on switch the host through its outlet' '
	old=$(sshd_pid pdu1) && pid_alive $old &&
	h host power pdu1 off >out && cat out &&
	grep -F "pdu1: power off (1 attempt" out &&
	grep -F "pdudaemon accepted '"'"'off'"'"' for lab-pdu port 3" out &&
	wait_for "! ssh_answers $NET.3" 10 &&
	! pid_alive $old &&
	grep -Fx "outlet 3 off" outlets.log &&
	grep "Handling HTTP request from 127.0.0.1: /power/control/off?hostname=lab-pdu&port=3" pdu.log &&
	h host power pdu1 status >out && cat out &&
	grep -F "pdu1: power is unknown (pdudaemon reports no power state)" out &&
	h host power pdu1 on >out && cat out &&
	wait_for "ssh_answers $NET.3" 10 &&
	grep -Fx "outlet 3 on" outlets.log
'

test_expect_success 'pdudaemon: an unknown PDU is a clear failure' '
	set +e
	h host power pdubad on >out 2>err; rc=$?
	set -e
	cat err && test $rc = 1 &&
	grep -F "host '"'"'pdubad'"'"': power on: pdudaemon http://127.0.0.1:$PDUPORT/power/control/on?hostname=no-such-pdu&port=3: HTTP 500: Invalid request" err &&
	h host show pdubad --json >show.json &&
	python3 -c "import json; e=json.load(open(\"show.json\"))[\"history\"][0]; assert e[\"kind\"]==\"power.on\" and e[\"detail\"][\"result\"]==\"failed\" and \"HTTP 500\" in e[\"detail\"][\"error\"], e"
'

test_expect_success 'command: power-off, power-on and power-status' '
	old=$(sshd_pid cmd1) && pid_alive $old &&
	test "$(h host power cmd1 status)" = "cmd1: power is on" &&
	h host power cmd1 off >out && cat out &&
	grep -E "^cmd1: power off \(1 attempt, [0-9.]+ s\)$" out &&
	! pid_alive $old && ! ssh_answers $NET.4 &&
	test "$(h host power cmd1 status)" = "cmd1: power is off" &&
	h host power cmd1 on >/dev/null &&
	wait_for "ssh_answers $NET.4" 10 &&
	test "$(h host power cmd1 status)" = "cmd1: power is on"
'

test_expect_success 'none: switching fails clearly, status is unknown' '
	set +e
	h host power dumb on >out 2>err; rc=$?
	set -e
	cat err && test $rc = 1 &&
	grep -Fx "hangar: host '"'"'dumb'"'"': power on: no power control (power = none)" err &&
	test "$(h host power dumb status)" = "dumb: power is unknown (no power control (power = none))" &&
	test "$(q "SELECT string_agg(kind || \$\$ \$\$ || (detail->>\$\$result\$\$), \$\$,\$\$ ORDER BY id) FROM events WHERE host = \$\$dumb\$\$ AND kind LIKE \$\$power.%\$\$")" = "power.on failed,power.status ok"
'

test_expect_success 'usage errors' '
	set +e
	h host power ipmi1 reboot 2>err; rc1=$?
	h host power nosuch on 2>err2; rc2=$?
	h host console dumb 2>err3; rc3=$?
	set -e
	test $rc1 = 2 && grep -q "not on, off, cycle or status" err &&
	test $rc2 = 1 && grep -q "no host .nosuch." err2 &&
	test $rc3 = 1 && grep -q "no console (console = none)" err3
'

test_expect_success 'console: the boot of a cycled host, timestamped' '
	{ "$HANGAR" --config lab.conf host console ipmi1 --for 60 >console.out 2>console.err &
	  echo $! >console.pid; } &&
	# the stream is live only: make sure it is attached before cycling
	wait_for "echo attach-marker >>\"$L/hosts/ipmi1/console.log\" && grep -q attach-marker console.out" 5 &&
	h host power ipmi1 cycle --pause 1 >/dev/null &&
	# a loaded machine may take several seconds for the cycle and the boot
	wait_for "grep -q \"Z ipmi1 login: \\\$\" console.out" 30 &&
	kill -INT $(cat console.pid) &&
	wait_for "! pid_alive \$(cat console.pid)" 5 && rm console.pid &&
	cat console.out &&
	grep -E "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z \[ *[0-9.]+\] reboot: Power down$" console.out &&
	grep -E "^[0-9-]{10}T[0-9:.]{12}Z lab-bmc: ipmi1: power on$" console.out &&
	grep -E "Z \[ *[0-9.]+\] Linux version 6.1.0-lab" console.out &&
	grep -E "Z ipmi1 login: $" console.out &&
	! grep -vE "^[0-9-]{10}T[0-9:.]{12}Z " console.out &&
	wait_for "ssh_answers $NET.2" 10
'

test_expect_success 'console: a command console, stopped by SIGINT' '
	{ "$HANGAR" --config lab.conf host console cmd1 >console2.out 2>&1 &
	  echo $! >console2.pid; } &&
	wait_for "echo marker2 >>\"$L/hosts/cmd1/console.log\" && grep -q marker2 console2.out" 5 &&
	kill -INT $(cat console2.pid) &&
	wait_for "! pid_alive \$(cat console2.pid)" 2 && rm console2.pid &&
	# its tail went with it
	! pgrep -fx "tail -n0 -F $L/hosts/cmd1/console.log" &&
	# --for ends it by itself
	{ "$HANGAR" --config lab.conf host console cmd1 --for 1 >console3.out 2>&1 &
	  echo $! >console3.pid; } &&
	wait_for "! pid_alive \$(cat console3.pid)" 10 && rm console3.pid
'

test_expect_success 'maintenance on and off, with the reason in the history' '
	h host maintenance cmd1 on --reason "relay swap" >out && cat out &&
	test "$(cat out)" = "cmd1: maintenance (relay swap)" &&
	h host show cmd1 --json >show.json &&
	python3 -c "import json; d=json.load(open(\"show.json\")); assert d[\"state\"]==\"maintenance\" and d[\"state_reason\"]==\"relay swap\", d" &&
	h host maintenance cmd1 on | grep -Fx "cmd1: maintenance (already: relay swap)" &&
	h host maintenance cmd1 off --reason "swapped" >out && cat out &&
	test "$(cat out)" = "cmd1: free" &&
	set +e
	h host maintenance cmd1 off 2>err; rc=$?
	set -e
	test $rc = 1 && grep -F "is not in maintenance or broken (it is free)" err &&
	# lab trouble marked it broken: off brings it back too
	q "UPDATE hosts SET state = \$\$broken\$\$ WHERE name = \$\$cmd1\$\$" &&
	h host maintenance cmd1 off | grep -Fx "cmd1: free" &&
	h host show cmd1 --json >show.json &&
	python3 - <<-\PY
	import json
	d = json.load(open("show.json"))
	assert d["state"] == "free" and d["state_reason"] is None, d
	ev = [(e["kind"], e["detail"]) for e in d["history"]
	      if e["kind"] in ("host.maintenance", "host.free")]
	assert ev[0] == ("host.free", {"reason": None, "from": "broken", "to": "free"}), ev
	assert ev[1] == ("host.free", {"reason": "swapped", "from": "maintenance", "to": "free"}), ev
	assert ev[2] == ("host.maintenance", {"reason": "relay swap", "from": "free", "to": "maintenance"}), ev
	PY
'

test_expect_success 'a host that a job holds is not powered off without --force' '
	F=$(q "INSERT INTO flights (intent) VALUES (\$\$adhoc\$\$) RETURNING id") &&
	q "INSERT INTO jobs (flight, job, recipe, arch) VALUES ($F, \$\$test-x\$\$, \$\$test\$\$, \$\$x86_64\$\$)" &&
	q "INSERT INTO allocations (host, flight, job, ident) VALUES (\$\$ipmi1\$\$, $F, \$\$test-x\$\$, \$\$host\$\$)" &&
	old=$(sshd_pid ipmi1) &&
	for a in off cycle; do
		set +e
		h host power ipmi1 $a 2>err; rc=$?
		set -e
		cat err && test $rc = 1 &&
		grep -F "host '"'"'ipmi1'"'"' is held by job $F.test-x: not powering it off (--force does it anyway)" err || exit 1
	done &&
	pid_alive $old && ssh_answers $NET.2 &&
	h host power ipmi1 status | grep -Fx "ipmi1: power is on" &&
	h host power ipmi1 on | grep -F "already on" &&
	h host power ipmi1 off --force --json >off.json &&
	python3 -c "import json; d=json.load(open(\"off.json\")); assert d[\"result\"]==\"ok\" and d[\"state\"]==\"off\" and \"forced while job $F.test-x held it\" in d[\"detail\"], d" &&
	! ssh_answers $NET.2 &&
	test "$(q "SELECT detail->>\$\$detail\$\$ FROM events WHERE host = \$\$ipmi1\$\$ ORDER BY id DESC LIMIT 1")" = "forced while job $F.test-x held it" &&
	h host power ipmi1 on >/dev/null &&
	q "UPDATE allocations SET released_at = now() WHERE flight = $F" &&
	q "UPDATE jobs SET status = \$\$cancelled\$\$ WHERE flight = $F" &&
	wait_for "ssh_answers $NET.2" 10
'

test_expect_success 'a reservation: its owner may power off, someone else may not' '
	h reserve --host cmd1 --for 1h --no-wait >res.out && cat res.out &&
	h scheduler --once >/dev/null &&
	test "$(q "SELECT count(*) FROM allocations WHERE host = \$\$cmd1\$\$ AND released_at IS NULL")" = 1 &&
	h host power cmd1 cycle --pause 0 >out && cat out &&
	grep -E "^cmd1: power cycle \(2 attempts" out &&
	q "UPDATE reservations SET owner = \$\$alice\$\$" &&
	set +e
	h host power cmd1 off 2>err; rc=$?
	set -e
	cat err && test $rc = 1 &&
	grep -E "is held by reservation [0-9]+ of alice" err &&
	wait_for "ssh_answers $NET.4" 10
'

test_done
