#!/bin/bash
# The hangar command line: help, usage errors and exit statuses, and the
# configuration key table against etc/hangar.conf.example.
. "$(dirname "$0")/lib-test.sh"

test_expect_success 'hangar --help lists the commands' '
	"$HANGAR" --help >out &&
	grep -q "^  up" out && grep -q "^  db migrate" out &&
	grep -q "^  lab apply" out && grep -q "^  host list" out
'

test_expect_success 'every command has --help, exit 0, and is listed' '
	"$HANGAR" --help >main.out &&
	for c in db lab host up web bisect token import flight gate branch evidence; do
		"$HANGAR" $c --help >out || exit 1
		grep -q "^hangar $c" out || exit 1
		grep -q "^  $c" main.out || exit 1
	done
'

test_expect_success 'no command, unknown command or option: exit 2' '
	set +e
	"$HANGAR" >/dev/null 2>&1; test $? = 2 || exit 1
	"$HANGAR" frobnicate 2>err; test $? = 2 || exit 1
	grep -q "no command .frobnicate." err || exit 1
	"$HANGAR" --frob 2>/dev/null; test $? = 2 || exit 1
	"$HANGAR" host list --frob 2>err; test $? = 2 || exit 1
	grep -q "usage: hangar host" err || exit 1
	"$HANGAR" host 2>/dev/null; test $? = 2 || exit 1
	"$HANGAR" lab apply 2>/dev/null; test $? = 2
'

test_expect_success 'a missing configuration is exit 2, naming the file' '
	set +e
	"$HANGAR" --config "$TEST_DIR/nope.conf" host list 2>err
	test $? = 2 || exit 1
	grep -q "$TEST_DIR/nope.conf: cannot read" err || exit 1
	HANGAR_CONFIG=$TEST_DIR/env.conf "$HANGAR" host list 2>err
	test $? = 2 || exit 1
	grep -q "env.conf" err
'

test_expect_success 'version' '
	"$HANGAR" version | grep -q "^hangar " &&
	"$HANGAR" --version | grep -q "^hangar "
'

test_expect_success 'help config lists every key, and the example documents each' '
	"$HANGAR" help config >keys &&
	sect= &&
	while read -r first rest; do
		case $first in
		"[lab]") sect=lab ;;
		\[*) sect=${first#[} ;;
		"") continue ;;
		Lab) continue ;;
		*)
			grep -Eq "^[[:space:]]*;?[[:space:]]*$first[[:space:]]*=" \
				"$SRCDIR/etc/hangar.conf.example" ||
				{ echo "key $sect.$first not in the example"; exit 1; }
			;;
		esac
	done <keys &&
	grep -q "boot-timeout" keys && grep -q "ipmi-password" keys
'

test_expect_success 'the example configuration is valid' '
	"$HANGAR" lab check "$SRCDIR/etc/hangar.conf.example" >out &&
	grep -q "ok (3 hosts, 2 trees, 1 branches, 4 jobs, 3 recipes)" out
'

test_expect_success 'systemd units for every daemon pass systemd-analyze verify' '
	mkdir units && cp "$SRCDIR"/etc/systemd/* units/ &&
	for u in hangar-db.service hangar-scheduler.service hangar-gate.service \
		hangar-web.service hangar-worker@.service hangar-site-worker.service \
		hangar.target; do
		test -f units/$u || { echo "no $u"; return 1; }
	done &&
	sed -i "s|/usr/bin/hangar|$HANGAR|" units/* &&
	(cd units && systemd-analyze verify --man=no ./*.service \
		./hangar-worker@1.service ./hangar.target) >verify.out 2>&1 &&
	cat verify.out && test ! -s verify.out
'

test_expect_success 'the manual pages render, with every command and every key' '
	"$HANGAR" help --man >hangar.1 && "$HANGAR" help config --man >hangar.conf.5 &&
	MANWIDTH=200 man --warnings -l hangar.1 >hangar.txt 2>man.err &&
	MANWIDTH=200 man --warnings -l hangar.conf.5 >conf.txt 2>>man.err &&
	test ! -s man.err &&
	for c in up db lab host scheduler worker plan reserve release request \
		flight gate branch bisect web token import; do
		grep -Eq "^   $c\$" hangar.txt || { echo "no command $c"; return 1; }
	done &&
	"$HANGAR" help config | sed -n "s/^    \([a-z0-9-]*\) .*/\1/p" | sort -u >keys &&
	test $(wc -l <keys) -gt 50 &&
	while read -r k; do
		grep -Eq "^       $k( |\$)" conf.txt || { echo "no key $k"; return 1; }
	done <keys
'

test_done
