#!/bin/bash
# host-install on the simulated lab: the host's boot entry in the TFTP
# tree becomes the install template, the host is power cycled, its
# installer reports back to the dashboard with a one-time token, the entry
# goes back to local boot, and the fresh system answers SSH. An installer
# that never reports is lab trouble: broken, the host out of the pool.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
PORT=$(free_port)

"$LAB" create "$L" --net "$NET" ruby:x86_64 garnet:x86_64 >/dev/null
mkdir tree && git -C tree init -q -b master &&
	git -C tree -c user.name=t -c user.email=t@t commit -q --allow-empty -m t
cat >install.cfg <<'EOF'
# pxelinux: the Debian installer, preseeded; it reports back when done
default install
label install
	kernel debian-installer/%arch%/linux
	append initrd=debian-installer/%arch%/initrd.gz auto=true priority=critical hostname=%name% hangar.report=%report_url%
EOF
cat >silent.cfg <<'EOF'
default install
label install
	kernel debian-installer/%arch%/linux
	append auto=true hostname=%name%
EOF
sed -i 's/^\tboot-timeout = .*/\tboot-timeout = 10\n\tpower-cycle-time = 1\n\tinstall-timeout = 20/' "$L/hosts.conf"
sed -i "/^\[host \"ruby\"\]/a\\\tpxe-install = $TEST_DIR/install.cfg" "$L/hosts.conf"
sed -i "/^\[host \"garnet\"\]/a\\\tpxe-install = $TEST_DIR/silent.cfg" "$L/hosts.conf"
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
[worker]
	heartbeat = 1s
	lease = 5s
[tree "t"]
	url = $TEST_DIR/tree
[job "install"]
	recipe = install
	arch = x86_64
[recipe "install"]
	step = host-install
	step = run fresh test ! -e old-marker
CONF

test_expect_success 'the lab, the database and the daemons start' '
	"$LAB" start "$L" >lab.log &&
	h lab apply lab.conf >/dev/null &&
	start_daemon web && start_daemon scheduler && start_daemon worker &&
	wait_for "curl -fsS http://127.0.0.1:$PORT/api/v1/hosts" 20
'

test_expect_success 'an unknown install token is a JSON 404' '
	code=$(curl -s -o nf.json -w "%{http_code}" -X POST http://127.0.0.1:$PORT/api/v1/install/0123456789abcdef0123456789abcdef) &&
	test "$code" = 404 && grep -q "\"error\"" nf.json &&
	code=$(curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:$PORT/api/v1/install/..%2f..%2fetc) &&
	test "$code" = 404
'

test_expect_success 'host-install installs the host afresh and boots it locally' '
	h host exec ruby -- touch old-marker >/dev/null &&
	test -e "$L/hosts/ruby/work/old-marker" &&
	old_pin=$(q "SELECT ssh_host_key FROM hosts WHERE name=\$\$ruby\$\$") && test -n "$old_pin" &&
	h request --rev t=master --job install --host ruby >req.out &&
	F=$(flight_of req.out) &&
	h flight wait $F --timeout 90 >wait.out || { h flight show $F; h flight log $F install host-install; exit 1; } &&
	test "$(q "SELECT status FROM jobs WHERE flight=$F")" = pass &&
	test ! -e "$L/hosts/ruby/work/old-marker" &&
	grep -q "localboot" "$L/tftp/ruby/pxelinux.cfg" &&
	! grep -q "hangar.report" "$L/tftp/ruby/pxelinux.cfg" &&
	test "$(q "SELECT count(*) FROM host_installs WHERE host=\$\$ruby\$\$ AND reported_at IS NOT NULL AND reported_by = \$\$127.0.0.1\$\$")" = 1 &&
	test "$(q "SELECT count(*) FROM events WHERE host=\$\$ruby\$\$ AND kind=\$\$host.install-reported\$\$")" = 1 &&
	test "$(q "SELECT count(*) FROM events WHERE host=\$\$ruby\$\$ AND kind=\$\$host.key-cleared\$\$")" = 1 &&
	test "$(q "SELECT ssh_host_key FROM hosts WHERE name=\$\$ruby\$\$")" = "$old_pin" &&
	h flight log $F install host-install >install.log &&
	grep -q "boot entry $L/tftp/ruby/pxelinux.cfg: install" install.log &&
	grep -q "the installer reported after" install.log &&
	grep -q "boot entry $L/tftp/ruby/pxelinux.cfg: local boot" install.log &&
	grep -q "Debian GNU/Linux installer on ruby" "$STATE/logs/$F/install/console-ruby.log"
'

test_expect_success 'an installer that never reports is broken, and the host leaves the pool' '
	h request --rev t=master --job install --host garnet >req.out &&
	F=$(flight_of req.out) && echo $F >silent.flight &&
	wait_for "test \"\$(q \"SELECT state FROM hosts WHERE name=\\\$\\\$garnet\\\$\\\$\")\" = broken" 90 &&
	test "$(q "SELECT status FROM steps WHERE flight=$F AND attempt=1 AND name=\$\$host-install\$\$")" = broken &&
	q "SELECT detail FROM steps WHERE flight=$F AND attempt=1" | grep -q "did not report back within 20 s" &&
	grep -q "localboot" "$L/tftp/garnet/pxelinux.cfg" &&
	test "$(q "SELECT status FROM jobs WHERE flight=$F")" = queued &&
	h flight cancel $F >/dev/null
'

test_done
