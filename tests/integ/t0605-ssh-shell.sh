#!/bin/bash
# t0605-ssh-shell: the long-lived remote shell that runs a session's
# commands (hosts/rshell.c). One shell serves every command of a session;
# output is passed on byte for byte whatever it holds (binary, no final
# newline, text that looks like the shell's frames); a command's stdin is
# empty and never the shell's requests; multi-line commands arrive intact;
# a shell killed during a command ends it with 137 and the next session
# starts another; a connection lost during a command is an SSH error, as
# with exec channels. On a host whose only shell is busybox (ash, its setsid)
# the same holds, time limits included; on a host whose forced command
# refuses the shell, commands fall back to an exec channel each, quickly.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"   # sshd on port 22 of 127.61.2.x
test_skip_unless ipmi_sim
test_skip_unless busybox

export HANGAR_PG_FAST=1
NET=127.61.2
L=$TEST_DIR/lab
STATE=$TEST_DIR/state
h() { "$HANGAR" --config "$TEST_DIR/lab.conf" "$@"; }
test_when_finished '"$LAB" stop "$L" >/dev/null 2>&1; kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $L/id_ed25519
[include]
	path = $L/hosts.conf
CONF

test_expect_success 'a lab: a plain host, a busybox-only one, a forced command' '
	"$LAB" create "$L" --net $NET plain:x86_64 bb:x86_64 forced:x86_64 >/dev/null &&
	# bb: PATH has busybox alone (its sh, setsid, ps ...), no bash
	mkdir bin && busybox --install -s "$TEST_DIR/bin" &&
	sed -i "s|^SetEnv .*|& PATH=$TEST_DIR/bin|" "$L/hosts/bb/sshd_config" &&
	# forced: a restricted forced command that runs one-line commands only
	cat >"$L/hosts/forced/only-one-line" <<-\EOF &&
	#!/bin/sh
	case $SSH_ORIGINAL_COMMAND in
	*"
	"*) echo "only-one-line: refused" >&2; exit 1 ;;
	esac
	exec sh -c "$SSH_ORIGINAL_COMMAND"
	EOF
	chmod +x "$L/hosts/forced/only-one-line" &&
	sed -i "s|^|command=\"$L/hosts/forced/only-one-line\" |" "$L/hosts/forced/authorized_keys" &&
	"$LAB" start "$L" >/dev/null &&
	h lab apply lab.conf >/dev/null
'

test_expect_success 'one shell runs all the commands of a session' '
	h host exec plain --count 3 -- "echo \$PPID" >ppids &&
	test $(wc -l <ppids) = 3 && test $(sort -u ppids | wc -l) = 1 &&
	# and not on the next session: it ended with its connection
	h host exec plain -- "echo \$PPID" >ppid2 &&
	! cmp ppids ppid2 && ! kill -0 $(head -n 1 ppids) 2>/dev/null
'

test_expect_success 'output comes through byte for byte' '
	head -c 300000 /dev/urandom >blob &&
	h host exec plain --put blob:blob -- "cat blob" >out &&
	cmp blob out &&
	h host exec plain -- "cat blob >&2" 2>err >out &&
	cmp blob err && test ! -s out &&
	# no final newline, on both streams
	h host exec plain -- "printf abc; printf def >&2" >out 2>err &&
	printf abc >expect && cmp expect out && printf def >expect && cmp expect err &&
	# what looks like a frame: a record separator, hex, a status
	h host exec plain -- "printf \"a\\036b\\0360123456789abcdef0123456789abcdefX0\\n\\036\"" >out &&
	printf "a\036b\0360123456789abcdef0123456789abcdefX0\n\036" >expect && cmp expect out &&
	h host exec plain -- "printf \"\\036hangar-rshell-ready\\n\"; exit 5" >out || rc=$? &&
	test "$rc" = 5 && printf "\036hangar-rshell-ready\n" >expect && cmp expect out
'

test_expect_success 'stdin is empty, and the shell keeps its requests' '
	h host exec plain --count 3 -- "cat; read x; echo read=\$?" >out &&
	printf "read=1\nread=1\nread=1\n" >expect && cmp expect out
'

test_expect_success 'SIGINT and SIGQUIT are not ignored, with bash or busybox' '
	set +e
	h host exec plain -- "kill -INT \$\$; echo survived" >out; rc1=$?
	h host exec plain -- "kill -QUIT \$\$; echo survived" >>out; rc2=$?
	# (busybox sh ignores SIGQUIT itself, wherever it runs)
	h host exec bb -- "kill -INT \$\$; echo survived" >>out; rc3=$?
	set -e
	echo "$rc1 $rc2 $rc3" && test ! -s out &&
	test $rc1 = 130 && test $rc2 = 131 && test $rc3 = 130
'

test_expect_success 'output nobody reads stops the command, which is killed' '
	set +e
	h host exec plain -- "yes 6188" 2>err | head -c 10 >out
	rc=${PIPESTATUS[0]}
	set -e
	cat err && test $rc = 1 && grep -q "stopped by its output handler; stopped with SIGTERM" err &&
	wait_for "test -z \"\$(pgrep -fx \"yes 6188\")\"" 2
'

test_expect_success 'a multi-line command arrives as it was written' '
	cat >cmd.sh <<-\EOF &&
	echo "a\\b" "c\d"

	    echo "  two  spaces  "   
	x=$(printf "%s" "no newline")
	echo "$x"; echo last
	EOF
	sh cmd.sh >expect && h host exec plain -- "$(cat cmd.sh)" >out && cmp expect out &&
	test $(wc -l <expect) = 4 &&
	# a long one: 80 kB of arguments
	long=$(head -c 60000 /dev/urandom | base64 -w 0) &&
	h host exec plain -- "echo $long | wc -c" >out && echo $((${#long} + 1)) >expect &&
	cmp expect out
'

test_expect_success 'a shell killed during a command: 137, and another starts' '
	set +e
	h host exec plain --count 2 -- "echo \$PPID; kill -KILL \$PPID; sleep 1" >ppid; rc=$?
	set -e
	test $rc = 137 && test $(wc -l <ppid) = 1 &&
	! kill -0 $(cat ppid) 2>/dev/null &&
	h host exec plain -- "echo ok" >out && echo ok >expect && cmp expect out
'

test_expect_success 'a connection lost during a command is an error, not a status' '
	# (the command outlives its connection, a few seconds)
	{ h host exec plain -- "echo started; exec sleep 5" >lost.out 2>lost.err &
	  echo $! >exec.pid; } &&
	wait_for "grep -q started lost.out" 5 &&
	# the sshd of the session (the listener'"'"'s child) dies
	kill -KILL $(pgrep -P "$(cat "$L/hosts/plain/sshd.pid")") &&
	set +e
	wait $(cat exec.pid); rc=$?
	set -e
	cat lost.err && test $rc = 1 && grep -q "connection lost" lost.err
'

test_expect_success 'busybox: one ash shell, frames, setsid and time limits' '
	bb=$(readlink -f "$(command -v busybox)") &&
	h host exec bb --count 2 -- "echo \$(readlink /proc/\$PPID/exe) \$PPID; printf x" >out &&
	test "$(grep -o "^x\?$bb [0-9]*\$" out | wc -l)" = 2 &&
	test "$(grep -o "$bb [0-9]*\$" out | sort -u | wc -l)" = 1 &&
	test "$(tail -c 1 out)" = x &&
	h host exec bb -- "cat; echo in=\$?" >out && echo in=0 >expect && cmp expect out &&
	set +e
	h host exec bb --timeout 1 -- "sleep 6185 & sleep 6185; wait" 2>err; rc=$?
	set -e
	cat err && test $rc = 1 && grep -q "timed out after 1 s; stopped with SIGTERM" err &&
	wait_for "test -z \"\$(pgrep -fx \"sleep 6185\")\"" 2 &&
	set +e
	h host exec bb --timeout 1 -- "trap \"\" TERM; sleep 6186" 2>err; rc=$?
	set -e
	cat err && test $rc = 1 && grep -q "stopped with SIGKILL\$" err &&
	wait_for "test -z \"\$(pgrep -fx \"sleep 6186\")\"" 2
'

test_expect_success 'a forced command that refuses the shell: exec channels' '
	start=$EPOCHREALTIME &&
	h host exec forced --count 3 -- "echo \$PPID; printf abc" >out &&
	awk -v a="$start" -v b="$EPOCHREALTIME" "BEGIN { exit !(b - a < 5) }" &&
	test "$(grep -c abc out)" = 3 &&
	# an sshd session each: three parents
	test "$(sed "s/abc//" out | sort -u | wc -l)" = 3 &&
	set +e
	h host exec forced -- "exit 9"; rc=$?
	set -e
	test $rc = 9 && ls -A "$L/hosts/forced/tmp" >left && test ! -s left
'

test_done
