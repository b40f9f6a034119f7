#!/bin/bash
# t0600-ssh: hangar host exec (hosts/ssh.c on libssh2) against a simulated
# lab host: exit statuses, stdout and stderr streamed apart, the host key
# pinned in the database on first use and a changed one refused, a time
# limit that kills the remote command and everything it started, SFTP
# uploads and downloads, --count / --json and --ssh-command. Commands go
# through the connection's long-lived remote shell (hosts/rshell.c);
# t0601 runs this script again with exec channels (HANGAR_SSH_SHELL=0).
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"   # sshd on port 22 of 127.61.0.2
test_skip_unless ipmi_sim

export HANGAR_PG_FAST=1
NET=${T0600_NET:-127.61.0}
# shell: one remote shell per session; exec: an exec channel per command
MODE=shell
[ "${HANGAR_SSH_SHELL:-}" != 0 ] || MODE=exec
# the sleeps it looks for are its own: t0601 runs beside it
S1=6171 S2=6172
[ $MODE = shell ] || S1=6181 S2=6182
ADDR=$NET.2
L=$TEST_DIR/lab
HD=$L/hosts/h1
WORK=$HD/work
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
SILENT_PORT=$(free_port)
h() { "$HANGAR" --config "$TEST_DIR/lab.conf" "$@"; }
# ssh-keygen's SHA256:... for a public key file
fingerprint() { ssh-keygen -lf "$1" | cut -d' ' -f2; }
# the processes whose command line is exactly $1
procs() { pgrep -fx -- "$1" || true; }
# is pid $2 an ancestor of pid $1?
descends_from() {
	local p=$1
	while [ -n "$p" ] && [ "$p" -gt 1 ]; do
		[ "$p" = "$2" ] && return 0
		p=$(ps -o ppid= -p "$p" | tr -d ' ')
	done
	return 1
}
test_when_finished '"$LAB" stop "$L" >/dev/null 2>&1; kill_pidfile "$TEST_DIR/silent.pid"; kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $L/id_ed25519
[include]
	path = $L/hosts.conf
[host "dead"]
	arch = x86_64
	address = $NET.99
	workdir = /tmp
[host "silent"]
	arch = x86_64
	address = $NET.1
	port = $SILENT_PORT
	workdir = /tmp
CONF

test_expect_success 'a lab host and the database' '
	"$LAB" create "$L" --net $NET h1:x86_64 >/dev/null &&
	grep -q "SetEnv HOME=$HD/home TMPDIR=$HD/tmp" "$HD/sshd_config" &&
	"$LAB" start "$L" >/dev/null &&
	h lab apply lab.conf >/dev/null &&
	test "$(q "SELECT ssh_host_key IS NULL FROM hosts WHERE name = \$\$h1\$\$")" = t
'

test_expect_success 'a command runs in the workdir, stdout and stderr apart' '
	h host exec h1 -- "pwd; echo to-out; echo to-err >&2" >out 2>err &&
	printf "%s\nto-out\n" "$WORK" >expect && cmp expect out &&
	echo to-err >expect && cmp expect err &&
	h host exec h1 echo two words >out && echo "two words" >expect &&
	cmp expect out
'

test_expect_success 'the exit status is the command'"'"'s, 128+N for signal N' '
	set +e
	h host exec h1 -- "exit 7"; rc1=$?
	h host exec h1 -- "kill -TERM \$\$"; rc2=$?
	# killing the wrapping shell (exec: it leaves its pid file behind)
	# or the remote shell too
	h host exec h1 -- "echo \$PPID; kill -KILL \$PPID" >wrapper.pid; rc3=$?
	set -e
	if [ $MODE = exec ]; then
		grep -lx "$(cat wrapper.pid)" "$HD"/tmp/hangar-exec-*.pid | xargs rm
	fi &&
	test $rc1 = 7 && test $rc2 = 143 && test $rc3 = 137
'

test_expect_success 'the host key is pinned on first use, once' '
	cut -d" " -f1,2 "$HD/ssh_host_ed25519_key.pub" >expect &&
	q "SELECT ssh_host_key FROM hosts WHERE name = \$\$h1\$\$" >pin && cmp expect pin &&
	test "$(q "SELECT ssh_host_key_at IS NOT NULL FROM hosts WHERE name = \$\$h1\$\$")" = t &&
	q "SELECT detail->>\$\$key\$\$ FROM events WHERE kind = \$\$host.key-pinned\$\$ AND host = \$\$h1\$\$" >events &&
	cmp expect events &&
	h -v host exec h1 true 2>err && ! grep -q pinned err &&
	test "$(q "SELECT count(*) FROM events WHERE kind = \$\$host.key-pinned\$\$")" = 1
'

test_expect_success 'output is streamed as it is written' '
	{ h host exec h1 -- "echo first; echo first-err >&2; sleep 3; echo second" >stream.out 2>stream.err &
	  echo $! >exec.pid; } &&
	wait_for "grep -qx first stream.out && grep -qx first-err stream.err" 3 &&
	pid_alive $(cat exec.pid) && ! grep -q second stream.out &&
	wait $(cat exec.pid) && printf "first\nsecond\n" >expect && cmp expect stream.out
'

test_expect_success 'a changed host key is refused, and nothing runs' '
	ssh-keygen -q -t ed25519 -N "" -C other -f other </dev/null &&
	pin=$(q "SELECT ssh_host_key FROM hosts WHERE name = \$\$h1\$\$") &&
	q "UPDATE hosts SET ssh_host_key = \$\$$(cut -d" " -f1,2 other.pub)\$\$ WHERE name = \$\$h1\$\$" &&
	set +e
	h host exec h1 -- touch ran 2>err; rc=$?
	set -e
	cat err && test $rc = 1 &&
	grep -F "host key of $ADDR:22 changed" err &&
	grep -F "pinned ssh-ed25519 $(fingerprint other.pub)" err &&
	grep -F "presented ssh-ed25519 $(fingerprint "$HD/ssh_host_ed25519_key.pub")" err &&
	grep -q "hangar host forget-key h1" err &&
	test ! -e "$WORK/ran" &&
	test "$(q "SELECT ssh_host_key FROM hosts WHERE name = \$\$h1\$\$")" = "$(cut -d" " -f1,2 other.pub)" &&
	h host forget-key h1 | grep -q "pin cleared" &&
	test "$(q "SELECT count(*) FROM events WHERE host = \$\$h1\$\$ AND kind = \$\$host.key-cleared\$\$")" = 1 &&
	h host exec h1 true &&
	test "$(q "SELECT ssh_host_key FROM hosts WHERE name = \$\$h1\$\$")" = "$pin" &&
	! h host forget-key nosuchhost 2>err && grep -q "no host" err
'

test_expect_success 'a time limit kills the remote command and what it started' '
	# 5 s: time for the checks below, on a loaded machine, before it fires
	start=$EPOCHREALTIME &&
	{ h host exec h1 --timeout 5 -- "sleep $S1 & sleep $S1; wait" >to.out 2>to.err &
	  echo $! >exec.pid; } &&
	wait_for "test \$(procs \"sleep $S1\" | wc -l) = 2" 5 &&
	sshd=$(cat "$HD/sshd.pid") &&
	for p in $(procs "sleep $S1"); do
		descends_from $p $sshd || { ps -ef; exit 1; }
		ps -o pgid= -p $p | tr -d " " >>pgids
	done &&
	test $(sort -u pgids | wc -l) = 1 &&
	if [ $MODE = exec ]; then
		grep -lx "$(head -n 1 pgids)" "$HD"/tmp/hangar-exec-*.pid
	else	# the group is the command'"'"'s own, led by its sh -c
		ps -o args= -p "$(head -n 1 pgids)" | grep -q "^sh -c .*sleep $S1 & sleep $S1"
	fi &&
	set +e
	wait $(cat exec.pid); rc=$?
	set -e
	secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" "BEGIN { print b - a }") &&
	cat to.err && echo "$secs s" &&
	test $rc = 1 && grep -q "timed out after 5 s; stopped with SIGTERM" to.err &&
	awk -v s="$secs" "BEGIN { exit !(s >= 4.9 && s < 9) }" &&
	wait_for "test -z \"\$(procs \"sleep $S1\")\"" 2 &&
	! grep -slx "$(head -n 1 pgids)" "$HD"/tmp/hangar-exec-*.pid 2>/dev/null
'

test_expect_success 'a command that ignores SIGTERM gets SIGKILL' '
	set +e
	h host exec h1 --timeout 1 -- "trap \"\" TERM; sleep $S2" 2>err; rc=$?
	set -e
	cat err && test $rc = 1 && grep -q "stopped with SIGKILL" err &&
	wait_for "test -z \"\$(procs \"sleep $S2\")\"" 2
'

test_expect_success 'a host that never answers times out in the handshake' '
	{ python3 -c "
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((\"$NET.1\", $SILENT_PORT))
s.listen()
c = s.accept()
time.sleep(60)
" & echo $! >silent.pid; } &&
	wait_for "ss -Hltn \"src $NET.1:$SILENT_PORT\" | grep -q ." 5 &&
	start=$EPOCHREALTIME &&
	set +e
	h host exec silent --timeout 2 -- true 2>err; rc=$?
	set -e
	cat err && test $rc = 1 &&
	grep -q "ssh $NET.1:$SILENT_PORT: handshake: no answer within 2000 ms" err &&
	awk -v a="$start" -v b="$EPOCHREALTIME" "BEGIN { exit !(b - a < 4) }"
'

test_expect_success 'errors say what went wrong' '
	set +e
	h host exec dead -- true 2>err1; rc1=$?
	h host exec nope -- true 2>err2; rc2=$?
	grep -v identity lab.conf >noid.conf
	"$HANGAR" --config noid.conf host exec h1 -- true 2>err3; rc3=$?
	h host exec h1 2>err4; rc4=$?
	set -e
	cat err1 err2 err3 err4 &&
	test $rc1 = 1 && grep -q "host .dead.: ssh $NET.99:22: connect: Connection refused" err1 &&
	test $rc2 = 1 && grep -q "no host .nope." err2 &&
	test $rc3 = 2 && grep -q "no SSH identity: set \[lab\] identity" err3 &&
	test $rc4 = 2 && grep -q "no command" err4
'

test_expect_success 'a 3 MB file goes up into a new directory and comes back' '
	head -c 3145728 /dev/urandom >big && chmod 640 big &&
	h host exec h1 --put big:new/deep/dir/big.bin --get new/deep/dir/big.bin:back.bin \
		-- "sha256sum <new/deep/dir/big.bin; stat -c %a new/deep/dir/big.bin; ls -A new/deep/dir" >out &&
	{ sha256sum <big; echo 640; echo big.bin; } >expect && cmp expect out &&
	cmp big back.bin && test ! -e back.bin.tmp &&
	test "$(stat -c %a back.bin)" = 644 &&
	# over an existing file (SFTP v3 renames refuse to overwrite)
	head -c 1000 /dev/urandom >small &&
	h host exec h1 --put small:new/deep/dir/big.bin -- "sha256sum <new/deep/dir/big.bin; ls -A new/deep/dir" >out &&
	{ sha256sum <small; echo big.bin; } >expect && cmp expect out &&
	h host exec h1 --put "big:$WORK/abs.bin" -- true && cmp big "$WORK/abs.bin" &&
	set +e
	h host exec h1 --get missing:x 2>err; rc=$?
	set -e
	test $rc = 1 && grep -q "download $WORK/missing to x: .*no such file" err &&
	test ! -e x && test ! -e x.tmp
'

test_expect_success '--count runs commands on one session; --json' '
	h host exec h1 --count 5 -- true 2>err &&
	grep -Eqx "exec: 5 commands in [0-9.]+ ms \(per command [0-9.]+ ms\)" err &&
	h host exec h1 --count 3 --json -- echo hi >out.json 2>err &&
	test "$(grep -cx hi err)" = 3 &&
	set +e
	h host exec h1 --count 5 --json -- "exit 3" >fail.json; rc=$?
	set -e
	test $rc = 3 &&
	python3 - <<-\PY
	import json
	d = json.load(open("out.json"))
	assert set(d) == {"commands", "ms", "per_command_ms", "exit_status"}, d
	assert d["commands"] == 3 and d["exit_status"] == 0, d
	assert d["ms"] > 0 and abs(d["per_command_ms"] * 3 - d["ms"]) < 0.01, d
	f = json.load(open("fail.json"))
	assert f["commands"] == 1 and f["exit_status"] == 3, f
	PY
'

test_expect_success '--ssh-command runs OpenSSH ssh per command' '
	h host exec h1 --ssh-command --count 2 -- pwd >out 2>err &&
	printf "%s\n%s\n" "$WORK" "$WORK" >expect && cmp expect out &&
	grep -Eq "^exec: 2 commands in" err &&
	h host exec h1 --ssh-command --json -- "exit 4" >out.json || rc=$? &&
	test "$rc" = 4 &&
	python3 -c "import json; d = json.load(open(\"out.json\")); assert d[\"commands\"] == 1 and d[\"exit_status\"] == 4, d"
'

test_expect_success 'no pid file is left behind' '
	ls -A "$HD/tmp" >left && test ! -s left
'

test_done
