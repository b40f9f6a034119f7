#!/bin/bash
# The Debian package: built from a copy of the tree with dpkg-buildpackage,
# installed on this machine, its units verified, its man pages opened,
# then `hangar up --demo` from /usr/bin, with the copy removed, gates the
# demo tree to a push. Purged at the end. The sanitizer run skips it: it
# tests the package, not the code.
# test-timeout: 1200
# (CI runs it beside the heaviest tests: its build took up to 450 s there)
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"
test_skip_unless dpkg-buildpackage
test_skip_unless dh
test_skip_unless ipmi_sim
if ldd "$HANGAR" | grep -q libasan; then
	test_skip_all "the sanitizer build tests the code, not the package"
fi
if dpkg-query -W -f='${Status}' hangar 2>/dev/null | grep -q 'ok installed'; then
	test_skip_all "a hangar package is installed here already; not replacing it"
fi

export HANGAR_PG_FAST=1
export HANGAR_DEMO_PAUSE=1
STATE=$TEST_DIR/demo
PORT=$(free_port)
NET=127.$((100 + $$ % 100)).$((RANDOM % 250 + 1))
URL=http://127.0.0.1:$PORT
test_when_finished 'kill_pid $(cat "$TEST_DIR"/up.pid 2>/dev/null); kill_pid $(head -n 1 /var/lib/hangar/pg/postmaster.pid 2>/dev/null); /usr/share/hangar/lab/lab.sh stop "$STATE/lab" >/dev/null 2>&1; kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null); dpkg --purge hangar >/dev/null 2>&1'

test_expect_success 'dpkg-buildpackage builds the package from the tree' '
	mkdir src &&
	(cd "$SRCDIR" && git ls-files -co --exclude-standard | grep -v "^tests/browser/node_modules/" |
		tar -cf - -T -) | tar -C src -xf - &&
	(cd src && dpkg-buildpackage -b -us -uc -j2) >build.log 2>&1 ||
		{ tail -n 30 build.log; exit 1; } &&
	ls hangar_*.deb >debs && test "$(wc -l <debs)" = 1
'

test_expect_success 'it installs; the binary, its core, lab, units, man pages and conffile are there' '
	dpkg -i "$(cat debs)" >install.log 2>&1 || { cat install.log; exit 1; } &&
	test -x /usr/bin/hangar && test -f /usr/lib/hangar/hangar-core.so &&
	test -x /usr/share/hangar/lab/lab.sh &&
	test -f /etc/hangar/hangar.conf && test -f /usr/share/doc/hangar/hangar.conf.example &&
	getent passwd hangar >/dev/null && test -d /var/lib/hangar &&
	/usr/bin/hangar --version >version && grep -q "0\\." version &&
	/usr/bin/hangar --config /etc/hangar/hangar.conf lab check /etc/hangar/hangar.conf &&
	/usr/bin/hangar lab check /usr/share/doc/hangar/hangar.conf.example
'

test_expect_success 'systemd-analyze verify passes for every unit, as installed' '
	ls /lib/systemd/system/hangar*.service /lib/systemd/system/hangar.target >units &&
	test "$(wc -l <units)" = 7 &&
	grep -q "^ExecStart=/usr/bin/hangar worker$" /lib/systemd/system/hangar-worker@.service &&
	systemd-analyze verify $(sed "s/@.service$/@1.service/" units) >verify.log 2>&1 ||
		{ cat verify.log; exit 1; } &&
	! grep -i "hangar" verify.log
'

test_expect_success 'man hangar and man hangar.conf open' '
	MANPAGER=cat MANWIDTH=80 man hangar >man1.txt 2>&1 &&
	grep -q "gate run" man1.txt &&
	MANPAGER=cat MANWIDTH=80 man hangar.conf >man5.txt 2>&1 &&
	grep -q "netboot-file" man5.txt
'

# What the units run, as their user, on the installed configuration:
# root touching the state first must not lock the daemons out.
as_hangar() {
	runuser -u hangar -- env HANGAR_CONFIG=/etc/hangar/hangar.conf HANGAR_PG_FAST=1 "$@"
}
test_expect_success 'the units commands run as user hangar on /etc/hangar' '
	HANGAR_CONFIG=/etc/hangar/hangar.conf /usr/bin/hangar db migrate >migrate.log 2>&1 ||
		{ cat migrate.log; exit 1; } &&
	test "$(stat -c %U /var/lib/hangar/pg.lock)" = hangar &&
	as_hangar /usr/bin/hangar db start &&
	as_hangar /usr/bin/hangar db status &&
	as_hangar /usr/bin/hangar scheduler --once &&
	as_hangar /usr/bin/hangar gate --once &&
	as_hangar /usr/bin/hangar db stop
'

# From here the tree the package was built from is gone, and hangar runs
# from /usr/bin, in a directory that is not the source tree (started here,
# not in a test body, so that up.pid is up's own pid).
rm -rf src
mkdir run
if [ -x /usr/bin/hangar ]; then
	(cd run && exec setsid /usr/bin/hangar --state "$STATE" up --demo \
		--listen "127.0.0.1:$PORT" --lab-net "$NET") >up.log 2>&1 &
	echo $! >up.pid
fi

test_expect_success 'up --demo from /usr/bin, the source copy removed, pushes' '
	test -s up.pid &&
	wait_for "grep -q \"hangar is up: dashboard $URL/\" up.log" 120 ||
		{ cat up.log; exit 1; } &&
	grep -q "creating the simulated lab in $STATE/lab (from /usr/share/hangar/lab)" up.log &&
	CONN="host=$STATE/pg dbname=hangar user=hangar" &&
	wait_for "test -n \"\$(psql -X -At \"$CONN\" -c \"SELECT id FROM flights WHERE pushed\")\"" 400 ||
		{ tail -n 30 up.log; /usr/bin/hangar --config "$STATE/hangar.conf" flight list; exit 1; } &&
	test "$(git --git-dir="$STATE/trees/minivisor.git" rev-parse master)" = \
		"$(psql -X -At "$CONN" -c "SELECT r.revision FROM flights f JOIN flight_revisions r ON r.flight = f.id WHERE f.pushed ORDER BY f.id DESC LIMIT 1")" &&
	! grep -q "$SRCDIR" up.log
'

test_expect_success 'Ctrl-C stops it; purge removes the package and its state' '
	kill -INT "$(cat up.pid)" &&
	wait_for "! pid_alive $(cat up.pid)" 60 &&
	{ dpkg --purge hangar >purge.log 2>&1 || { cat purge.log; exit 1; }; } &&
	test ! -e /usr/bin/hangar && test ! -e /etc/hangar/hangar.conf &&
	test ! -e /var/lib/hangar && test ! -e /lib/systemd/system/hangar.target
'

test_done
