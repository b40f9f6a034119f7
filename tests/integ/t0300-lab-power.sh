#!/bin/bash
# t0300-lab-power: the simulated lab's hosts obey real IPMI (ipmitool
# against ipmi_sim BMCs), answer real SSH, and stream their console.
. "$(dirname "$0")/lib-test.sh"

test_skip_unless '[ "$(id -u)" = 0 ]' # sshd on port 22, ipmi_sim on 623

NET=127.$((100 + $$ % 100)).$((RANDOM % 250))
A1=$NET.2
A2=$NET.3
L=$TEST_DIR/lab
H1=$L/hosts/host1
H2=$L/hosts/host2

ipmi() { # ADDR ARGS...
	ipmitool -I lanplus -C 3 -H "$1" -p 623 -U admin -P secret "${@:2}"
}

lab_ssh() { # ADDR CMD
	ssh -i "$L/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR "root@$1" "$2"
}

ssh_answers() { # ADDR: an SSH banner comes back from port 22
	(
		exec 3<>"/dev/tcp/$1/22" || exit 1
		IFS= read -r -t 2 line <&3 || exit 1
		[[ $line == SSH-* ]]
	) 2>/dev/null
}

# lab_processes: live processes whose command line names the lab directory.
lab_processes() {
	local p
	for p in /proc/[0-9]*; do
		pid_alive "${p#/proc/}" || continue
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF "$L/" &&
			echo "${p#/proc/}: $(tr '\0' ' ' <"$p/cmdline")"
	done
	return 0
}

test_expect_success 'the lab tools are installed' '
	for c in ipmi_sim ipmitool socat ssh ssh-keygen setsid flock; do
		command -v $c || { echo "missing: $c"; exit 1; }
	done
	test -x /usr/sbin/sshd
'

test_expect_success 'create a lab of two hosts' '
	"$LAB" create "$L" --net $NET host1:x86_64:hvm,iommu host2:arm64 &&
	test -f "$L/id_ed25519" && test -f "$L/id_ed25519.pub" &&
	test "$(stat -c %a "$L")" = 755 &&
	grep -Fx "[host \"host1\"]" "$L/hosts.conf" &&
	grep -Fx "	address = $A1" "$L/hosts.conf" &&
	grep -Fx "	flags = hvm iommu" "$L/hosts.conf" &&
	grep -Fx "	ipmi = lanplus:$A2:623" "$L/hosts.conf" &&
	grep -Fx "	console = tcp:$A2:7001" "$L/hosts.conf" &&
	grep -Fx "	workdir = $H2/work" "$L/hosts.conf" &&
	test $(grep -c "flags = " "$L/hosts.conf") = 1 &&
	git config -f "$L/hosts.conf" host.host2.arch >arch &&
	echo arm64 >expect && cmp expect arch &&
	(. "$L/lab.env" && test "$LAB_HOSTS" = "host1 host2" &&
	 test "$LAB_ADDR_host2" = $A2 && test "$LAB_ARCH_host1" = x86_64) &&
	test -d "$H1/work" && test -f "$H1/sshd_config" && test -f "$H2/lan.conf"
'

test_expect_success 'start the lab' '
	test_when_finished "\"$LAB\" stop \"$L\"" &&
	"$LAB" start "$L" &&
	ssh_answers $A1 &&
	ssh_answers $A2 &&
	if "$LAB" start "$L" >out 2>&1; then exit 1; fi &&
	grep "already started" out
'

test_expect_success 'the BMCs say the power is on' '
	ipmi $A1 power status | grep -x "Chassis Power is on" &&
	ipmi $A2 power status | grep -x "Chassis Power is on"
'

test_expect_success 'ssh with the lab identity runs commands on host1' '
	lab_ssh $A1 "echo hello" >out &&
	echo hello >expect &&
	cmp expect out &&
	cat "$H2/sshd.pid" >host2-sshd.pid &&
	pid_alive $(cat host2-sshd.pid)
'

test_expect_success 'power off: the power is off and sshd stops answering' '
	old=$(cat "$H1/sshd.pid") &&
	ipmi $A1 power off &&
	ipmi $A1 power status | grep -x "Chassis Power is off" &&
	wait_for "! ssh_answers $A1" 5 &&
	! pid_alive $old &&
	! lab_ssh $A1 true
'

test_expect_success 'power on: sshd answers again' '
	ipmi $A1 power on &&
	ipmi $A1 power status | grep -x "Chassis Power is on" &&
	wait_for "ssh_answers $A1" 10 &&
	test "$(lab_ssh $A1 "echo back")" = back
'

test_expect_success 'power cycle: a new sshd; the console streams the boot' '
	socat -u TCP:$A1:7001 OPEN:console.cap,creat,append &
	echo $! >capture.pid &&
	# the stream is live only: make sure it is attached before cycling
	wait_for "echo attach-marker >>\"$H1/console.log\" && grep -q attach-marker console.cap" 5 &&
	old=$(cat "$H1/sshd.pid") &&
	ipmi $A1 power cycle | grep -x "Chassis Power Control: Cycle" &&
	wait_for "test -s \"$H1/sshd.pid\" && test \$(cat \"$H1/sshd.pid\") != $old && ssh_answers $A1" 15 &&
	! pid_alive $old &&
	test "$(lab_ssh $A1 "echo cycled")" = cycled &&
	wait_for "grep -q \"host1 login:\" console.cap" 5 &&
	kill_pidfile capture.pid &&
	cat console.cap &&
	grep "reboot: Power down" console.cap &&
	grep "power on" console.cap &&
	grep "Linux version" console.cap &&
	grep "Started ssh.service" console.cap &&
	test $(grep -c "host1 login:" console.cap) = 1
'

test_expect_success 'power reset and soft off through the BMC' '
	old=$(cat "$H1/sshd.pid") &&
	ipmi $A1 power reset &&
	wait_for "test -s \"$H1/sshd.pid\" && test \$(cat \"$H1/sshd.pid\") != $old && ssh_answers $A1" 10 &&
	ipmi $A1 power soft &&
	ipmi $A1 power status | grep -x "Chassis Power is off" &&
	wait_for "! ssh_answers $A1" 5 &&
	"$LAB" power "$L" host1 on &&
	wait_for "ssh_answers $A1" 10
'

# ipmitool resends a command whose answer is late, so a busy BMC may run
# a reset twice: the second must stop the first boot, or that boot's sshd
# outlives every later power off (CI saw it answer after a soft off).
test_expect_success 'a reset during a boot stops that boot' '
	echo slow-sshd >"$H1/fault" &&
	ipmi $A1 power reset &&
	boot1=$(cat "$H1/boot.pid") &&
	pid_alive $boot1 &&
	ipmi $A1 power reset &&
	! pid_alive $boot1 &&
	rm "$H1/fault" &&
	wait_for "ssh_answers $A1" 15 &&
	ipmi $A1 power soft &&
	wait_for "! ssh_answers $A1" 5 &&
	lab_processes >left &&
	! grep -F "$H1/sshd_config" left &&
	"$LAB" power "$L" host1 on &&
	wait_for "ssh_answers $A1" 10
'

test_expect_success 'boot device through the BMC' '
	ipmi $A1 chassis bootdev pxe &&
	ipmi $A1 chassis bootparam get 5 | grep "Force PXE" &&
	ipmi $A1 chassis bootdev disk &&
	ipmi $A1 chassis bootparam get 5 | grep "Force Boot from default Hard-Drive"
'

test_expect_success 'host2 was not disturbed' '
	test "$(cat "$H2/sshd.pid")" = "$(cat host2-sshd.pid)" &&
	pid_alive $(cat host2-sshd.pid) &&
	ipmi $A2 power status | grep -x "Chassis Power is on" &&
	test "$(lab_ssh $A2 "echo still here")" = "still here" &&
	test $(grep -c "login:" "$H2/console.log") = 1 &&
	! grep "Power down" "$H2/console.log"
'

test_expect_success 'lab.sh status and lab.sh ssh' '
	"$LAB" status "$L" >status &&
	cat status &&
	grep -E "^host1 +$A1 +bmc up +power on +ssh up +console up$" status &&
	grep -E "^host2 +$A2 +bmc up +power on +ssh up +console up$" status &&
	test "$("$LAB" ssh "$L" host2 "cat /proc/sys/kernel/hostname")" = host2
'

test_expect_success 'lab.sh stop leaves nothing running' '
	pids=$(cat "$L"/hosts/*/*.pid) &&
	test -n "$pids" &&
	"$LAB" stop "$L" &&
	for p in $pids; do ! pid_alive $p || { echo "$p still alive"; exit 1; }; done &&
	lab_processes >left &&
	{ ! test -s left || { cat left; exit 1; }; } &&
	! ssh_answers $A1 && ! ssh_answers $A2 &&
	! ls "$L"/hosts/*/*.pid 2>/dev/null &&
	"$LAB" status "$L" >status &&
	cat status &&
	test $(grep -c "bmc down power off ssh down console down" status) = 2
'

test_done
