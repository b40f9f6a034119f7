#!/bin/bash
# Xen itself (issue 19): Debian's own hypervisor (xen-hypervisor-4.17-amd64)
# with Debian's kernel as dom0 and a tiny busybox initramfs, booted on the
# lab's x86_64 QEMU machine through SeaBIOS and iPXE (Multiboot, the dom0
# kernel and initramfs as modules, fetched over TFTP), judged from Xen's
# serial console: Xen's banner starts it, dom0's own line passes it. A
# dom0 kernel that panics, after Xen started, is fail, not broken.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
XEN=${HANGAR_XEN_DIR:-/var/cache/hangar/xen}
test_skip_unless qemu-system-x86_64
test_skip_unless "test -f $XEN/xen -a -f $XEN/vmlinuz"
test_skip_unless busybox
test_skip_unless cpio

"$LAB" create "$L" --net "$NET" qx:x86_64:qemu >/dev/null
# the lab's recipe qemu-xen boots Xen (its entry: $L/xen/xen.ipxe); here
# a second entry makes dom0's kernel look for an init that is not there
sed 's|earlyprintk=xen$|earlyprintk=xen rdinit=/nope|' "$L/xen/xen.ipxe" >xen-panic.ipxe
grep -q rdinit=/nope xen-panic.ipxe
mkdir tree && git -C tree init -q -b master &&
	git -C tree -c user.name=t -c user.email=t@t commit -q --allow-empty -m xen
cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $L/id_ed25519
	tftp = $L/tftp
[include]
	path = $L/hosts.conf
[scheduler]
	interval = 1s
[worker]
	slots = 1
	heartbeat = 1s
[tree "xen"]
	url = $TEST_DIR/tree
[job "xen-good"]
	recipe = qemu-xen
	arch = x86_64
	flags = qemu
[job "xen-panic"]
	recipe = xen-panic
	arch = x86_64
	flags = qemu
[recipe "xen-panic"]
CONF
grep "^	step = " "$L/hosts.conf" | grep "entry=$L/xen/xen.ipxe" |
	sed "s|entry=$L/xen/xen.ipxe|entry=$TEST_DIR/xen-panic.ipxe|" >>lab.conf

test_expect_success 'the lab and the daemons start' '
	"$LAB" start "$L" >lab.log &&
	h lab apply lab.conf >/dev/null &&
	start_daemon scheduler && start_daemon worker &&
	wait_for "grep -q \"slot(s)\" worker.log" 20
'

test_expect_success 'Xen boots through the firmware, and its dom0 comes up' '
	h request --rev xen=master --job xen-good --wait >req.out && cat req.out &&
	F=$(flight_of req.out) && test -n "$F" &&
	test "$(jstatus $F xen-good)" = pass &&
	log="$STATE/logs/$F/xen-good/console-qx.log" &&
	grep -n -m1 "iPXE" $log >ipxe.line &&
	grep -n -m1 "(XEN) Xen version 4.17" $log >xen.line &&
	grep -n -m1 "Linux version" $log >linux.line &&
	grep -n -m1 "hangar-dom0: up" $log >dom0.line &&
	test $(cut -d: -f1 ipxe.line) -lt $(cut -d: -f1 xen.line) &&
	test $(cut -d: -f1 xen.line) -lt $(cut -d: -f1 linux.line) &&
	test $(cut -d: -f1 linux.line) -lt $(cut -d: -f1 dom0.line) &&
	secs=$(q "SELECT round(extract(epoch FROM finished_at - started_at)::numeric, 1) FROM steps WHERE flight=$F AND name=\$\$boot\$\$") &&
	echo "# the boot of Xen and dom0: $secs s" &&
	ls "$L/tftp/qx" >left && test ! -s left
'

test_expect_success 'a dom0 that panics once Xen started is fail, not broken' '
	! h request --rev xen=master --job xen-panic --wait >req2.out && cat req2.out &&
	F=$(flight_of req2.out) && test -n "$F" &&
	test "$(jstatus $F xen-panic)" = fail &&
	q "SELECT detail FROM steps WHERE flight=$F AND name=\$\$boot\$\$" >detail &&
	grep -q "Kernel panic" detail &&
	test "$(q "SELECT state FROM hosts WHERE name=\$\$qx\$\$")" = free
'

test_done
