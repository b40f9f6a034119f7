#!/bin/bash
# The gate on machines that really boot: QEMU hosts of all three archs
# (SeaBIOS and iPXE, U-Boot, OpenSBI and U-Boot), powered by their BMCs,
# booting the demo tree's minivisor-boot from the network and judged from
# the serial console, its self-tests recorded case by case. A commit that
# makes arm64 panic at boot is not pushed, the regression is named with
# the panic line and bisected to that commit; its fix is pushed; a case
# that newly fails is the only regression; a host whose TFTP files are
# missing is broken (the job runs on another) until its health check
# passes; console-send and expect drive U-Boot's prompt, its console
# on the dashboard, firmware first, while it boots.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
test_skip_unless qemu-system-aarch64
T=$TEST_DIR/trees
BARE=$T/minivisor.git
PORT=$(free_port)

"$LAB" create "$L" --net "$NET" ruby:x86_64:share-build bx:x86_64:qemu \
	ba:arm64:qemu ba2:arm64:qemu br:riscv64:qemu >/dev/null
"$DEMO_TREE" create "$T" >base.rev
cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $L/id_ed25519
	listen = 127.0.0.1:$PORT
	tftp = $L/tftp
[include]
	path = $L/hosts.conf
[scheduler]
	interval = 1s
	claim-timeout = 30s
[worker]
	slots = 4
	heartbeat = 1s
	lease = 10s
	health-check-interval = 10s
[gate]
	interval = 2s
[tree "minivisor"]
	url = $BARE
[branch "minivisor"]
	tree = minivisor
	jobs = build-amd64 test-amd64-boot test-arm64-boot test-riscv64-boot
[job "build-amd64"]
	recipe = build
	arch = x86_64
	flags = share-build
	runvar = make_flags=-j2
[recipe "build"]
	step = build make \$HANGAR_MAKE_FLAGS dist boot
	artifacts = dist/*.tar.gz bin/boot-*.img
[recipe "boot"]
	step = boot timeout=60 cases=hangar kernel=boot-%arch%.img started=minivisor-boot .*: started expect=: done, powering off fail=PANIC fail=TFTP error|No such file
CONF
# (in the configuration, as in git's, a backslash is written twice)
cat >>lab.conf <<'CONF'
[job "uboot-prompt"]
	recipe = uboot-prompt
	arch = riscv64
	flags = qemu
[recipe "uboot-prompt"]
	step = boot timeout=30 expect=Hit any key to stop autoboot
	step = console-send \\r\\c
	step = expect timeout=10 ^=>
	step = console-send sleep 3 && echo hangar-at-${board}
	step = expect timeout=15 ^hangar-at-qemu
CONF
for a in amd64:x86_64 arm64:arm64 riscv64:riscv64; do
	printf '[job "test-%s-boot"]\n\trecipe = boot\n\tarch = %s\n\tflags = qemu\n\tneeds = build-amd64\n' \
		"${a%%:*}" "${a#*:}" >>lab.conf
done

master() { git --git-dir "$BARE" rev-parse master; }
step_of() { # FLIGHT JOB STEP: "status detail"
	q "SELECT s.status || ' ' || coalesce(s.detail, '') FROM steps s
	   WHERE s.flight = $1 AND s.job = '$2' AND s.name = '$3'
	   ORDER BY s.stepno DESC LIMIT 1"
}

test_expect_success 'the lab and the daemons start; master boots on all three archs' '
	"$LAB" start "$L" >lab.log &&
	h lab apply lab.conf >/dev/null &&
	start_daemon scheduler && start_daemon worker && start_daemon gate &&
	start_daemon web &&
	wait_decided "$(cat base.rev)" base.out && cat base.out &&
	read F V <base.out && echo $F >base.flight &&
	test "$(q "SELECT count(*) FROM jobs WHERE flight=$F AND status=\$\$pass\$\$")" = 4 &&
	for j in test-amd64-boot test-arm64-boot test-riscv64-boot; do
		test "$(step_of $F $j boot)" = "pass " || return 1
		test "$(q "SELECT count(*) FROM steps WHERE flight=$F AND job=\$\$$j\$\$ AND name LIKE \$\$boot/%\$\$ AND status=\$\$pass\$\$")" = 20 || return 1
	done
'

test_expect_success 'the console log starts with the firmware, each line timestamped' '
	F=$(cat base.flight) &&
	for j in test-amd64-boot:bx:iPXE test-arm64-boot:ba:U-Boot test-riscv64-boot:br:OpenSBI; do
		IFS=: read -r job host fw <<<"$j"
		log=$(ls "$STATE"/logs/$F/$job/console-*.log) || return 1
		grep -n -m1 "$fw" $log >fw.line &&
		grep -n -m1 "minivisor-boot .*: started" $log >banner.line &&
		test $(cut -d: -f1 fw.line) -lt $(cut -d: -f1 banner.line) &&
		grep -Eq "^20[0-9-]{8}T[0-9:.]{12}Z HANGAR-CASE add pass" $log || return 1
	done &&
	curl -fsS "http://127.0.0.1:$PORT/flights/$F/jobs/test-arm64-boot" >job.html &&
	grep -q "console-ba" job.html
'

test_expect_success 'the firmware each host booted is recorded, as its console said it' '
	F=$(cat base.flight) &&
	fw() { q "SELECT coalesce(firmware, \$\$-\$\$) FROM allocations WHERE flight = $F AND job = \$\$$1\$\$ ORDER BY id DESC LIMIT 1"; } &&
	fw test-amd64-boot | tee fw.amd64 && fw test-arm64-boot | tee fw.arm64 &&
	fw test-riscv64-boot | tee fw.riscv64 &&
	grep -Eq "^SeaBIOS [^ ,]+, iPXE [0-9][^ ,]*$" fw.amd64 &&
	grep -Eq "^U-Boot 20[0-9][0-9]\.[^ ,]+$" fw.arm64 &&
	grep -Eq "^OpenSBI v[0-9][^ ,]*, U-Boot 20[0-9][0-9]\.[^ ,]+$" fw.riscv64 &&
	# each as the console printed it
	grep -q "SeaBIOS (version $(sed "s/^SeaBIOS \([^,]*\),.*/\1/" fw.amd64))" "$STATE"/logs/$F/test-amd64-boot/console-bx.log
'

test_expect_success 'an arm64 panic at boot is not pushed; the regression has the panic line' '
	"$DEMO_TREE" series "$T" good panic:arm64 good >series.revs &&
	sed -n 2p series.revs >panic.rev && sed -n 1p series.revs >before.rev &&
	sed -n 3p series.revs >tip.rev &&
	wait_decided "$(cat tip.rev)" panic.out && cat panic.out &&
	read F V <panic.out && test "$V" = no-push &&
	test "$(master)" = "$(cat base.rev)" &&
	h flight report $F --json >r.json &&
	B=$(cat base.flight) &&
	python3 -c "import json; d=json.load(open(\"r.json\")); assert [(r[\"job\"], r[\"step\"]) for r in d[\"regressions\"]] == [(\"test-arm64-boot\", \"boot\")], d" &&
	step_of $F test-arm64-boot boot | grep -q "^fail ba.*: PANIC: minivisor-boot: no usable memory map on arm64" &&
	test "$(jstatus $F test-amd64-boot)" = pass &&
	test "$(jstatus $F test-riscv64-boot)" = pass
'

test_expect_success 'its fix is pushed' '
	"$DEMO_TREE" commit "$T" fix arm64 >fix.rev &&
	wait_decided "$(cat fix.rev)" fix.out && cat fix.out &&
	grep -q " push pushed$" fix.out &&
	test "$(master)" = "$(cat fix.rev)"
'

test_expect_success 'the panic is bisected to its commit' '
	wait_for "test -n \"\$(q \"SELECT id FROM bisections WHERE job = \\\$\\\$test-arm64-boot\\\$\\\$\")\"" 60 &&
	N=$(q "SELECT id FROM bisections WHERE job = \$\$test-arm64-boot\$\$ ORDER BY id LIMIT 1") &&
	wait_for "test \"\$(q \"SELECT status FROM bisections WHERE id = $N\")\" != running" 300 &&
	h bisect show $N --json >bis.json && head -c 300 bis.json && echo &&
	python3 -c "import json; d=json.load(open(\"bis.json\")); assert d[\"status\"] == \"found\" and d[\"culprit\"][\"commit\"] == \"$(cat panic.rev)\", d"
'

test_expect_success 'one newly failing self-test is the only regression' '
	"$DEMO_TREE" commit "$T" case riscv64 >case.rev &&
	wait_decided "$(cat case.rev)" case.out && cat case.out &&
	read F V <case.out && test "$V" = no-push &&
	h flight report $F --json >r.json &&
	python3 -c "import json; d=json.load(open(\"r.json\")); assert [(r[\"job\"], r[\"step\"]) for r in d[\"regressions\"]] == [(\"test-riscv64-boot\", \"boot/arch-regs\")], d" &&
	test "$(step_of $F test-riscv64-boot boot)" = "pass " &&
	"$DEMO_TREE" commit "$T" fix riscv64 >fix2.rev &&
	wait_decided "$(cat fix2.rev)" fix2.out && grep -q " push pushed$" fix2.out
'

test_expect_success 'missing TFTP files are broken, not fail: the job runs on another host' '
	"$LAB" fault "$L" ba tftp >/dev/null &&
	h host maintenance ba2 on --reason "test: ba first" >/dev/null &&
	"$DEMO_TREE" commit "$T" good >g.rev &&
	wait_for "test \"\$(q \"SELECT state FROM hosts WHERE name = \\\$\\\$ba\\\$\\\$\")\" = broken" 120 &&
	q "SELECT state_reason FROM hosts WHERE name = \$\$ba\$\$" | tee reason &&
	grep -Eq "TFTP error|never started|before it started" reason &&
	h host maintenance ba2 off >/dev/null &&
	wait_decided "$(cat g.rev)" g.out && cat g.out &&
	grep -q " push pushed$" g.out &&
	F=$(cut -d" " -f1 g.out) &&
	test "$(q "SELECT host FROM allocations WHERE flight = $F AND job = \$\$test-arm64-boot\$\$ ORDER BY id DESC LIMIT 1")" = ba2
'

test_expect_success 'the health check brings the host back once its files are there' '
	test "$(q "SELECT state FROM hosts WHERE name = \$\$ba\$\$")" = broken &&
	"$LAB" fault "$L" ba none >/dev/null &&
	wait_for "test \"\$(q \"SELECT state FROM hosts WHERE name = \\\$\\\$ba\\\$\\\$\")\" = free" 120
'

# live: while JOB of flight F runs, its page links the console capture
# and the capture (as the dashboard serves it) has firmware lines
seen_live() { # F JOB HOST PATTERN
	local i
	for i in $(seq 1 600); do
		test "$(jstatus $1 $2)" = running &&
		curl -fsS "http://127.0.0.1:$PORT/flights/$1/jobs/$2" 2>/dev/null | grep -q "console-$3.log" &&
		curl -fsS "http://127.0.0.1:$PORT/logs/$1/$2/console-$3.log" >live.log 2>/dev/null &&
		grep -q "$4" live.log &&
		test "$(jstatus $1 $2)" = running && return 0
		case $(jstatus $1 $2) in pass | fail | broken) return 1 ;; esac
		sleep 0.1
	done
	return 1
}

# The job sleeps 3 s at the prompt: the console is seen live while it
# runs even when a loaded machine polls slowly (it ran in 5 s, and the
# full suite's polls missed it).
test_expect_success 'console-send and expect drive U-Boot at its prompt; the console is live' '
	h request --branch minivisor --job uboot-prompt >adhoc.out && cat adhoc.out &&
	F=$(flight_of adhoc.out) && test -n "$F" &&
	seen_live $F uboot-prompt br "U-Boot" &&
	test $(grep -n -m1 OpenSBI live.log | cut -d: -f1) -lt \
		$(grep -n -m1 U-Boot live.log | cut -d: -f1) &&
	wait_for "test \"\$(jstatus $F uboot-prompt)\" = pass" 120 ||
	{ q "SELECT stepno, name, status, detail FROM steps WHERE flight=$F"; false; }
'

test_done
