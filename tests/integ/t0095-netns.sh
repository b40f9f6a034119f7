#!/bin/bash
# The separate networks of the multi-site tests (lib-netns.sh): each site
# reaches the controller and nothing else, a cut link drops everything
# until it is joined again, and nothing outside 169.254.0.0/16 and the
# namespaces' own loopback is addressed.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-netns.sh"
test_skip_unless socat

# one line from a listener on ADDR:PORT, from namespace NS, or fail
hello_from() { # NS ADDR PORT
	in_ns "$1" timeout 3 socat -T 2 - "TCP:$2:$3,connect-timeout=2" </dev/null
}
listen_hello() { # NS ADDR PORT WORD NAME
	in_ns "$1" socat "TCP-LISTEN:$3,bind=$2,fork,reuseaddr" "SYSTEM:echo $4" &
	echo $! >"$5.pid"
	test_when_finished "kill_pidfile $TEST_DIR/$5.pid"
	wait_for "hello_from $1 $2 $3 | grep -qx $4" 10
}

netns_create a b >create.out 2>&1 || echo failed >>create.out

test_expect_success 'a controller and two sites, joined by one bridge' '
	! grep -q failed create.out &&
	test -n "$NS_a" && test -n "$NS_b" &&
	test "$ADDR_a" != "$ADDR_b" &&
	ip netns list | grep -q "^$NS_CTL" &&
	! ip link show | grep -q "$NS_CTL"
'

test_expect_success 'no address outside loopback and 169.254.0.0/16, no default route' '
	for ns in "$NS_CTL" "$NS_a" "$NS_b"; do
		in_ns "$ns" ip -o addr show >addrs
		grep -q "127.0.0.1" addrs || exit 1
		! awk "{ print \$4 }" addrs | grep -v -e "^127\\." -e "^::1/" \
			-e "^169\\.254\\." -e "^fe80:" || exit 1
		! in_ns "$ns" ip route show default | grep -q . || exit 1
	done
'

test_expect_success 'each site reaches the controller' '
	listen_hello "$NS_CTL" "$CTL_ADDR" 7100 controller ctl &&
	hello_from "$NS_a" "$CTL_ADDR" 7100 | grep -qx controller &&
	hello_from "$NS_b" "$CTL_ADDR" 7100 | grep -qx controller
'

test_expect_success 'a site does not reach another site' '
	listen_hello "$NS_b" "$ADDR_b" 7101 site-b b &&
	! hello_from "$NS_a" "$ADDR_b" 7101
'

test_expect_success 'a cut link drops everything, the other site goes on' '
	netns_cut b &&
	! hello_from "$NS_b" "$CTL_ADDR" 7100 &&
	hello_from "$NS_a" "$CTL_ADDR" 7100 | grep -qx controller &&
	in_ns "$NS_b" ip -o link show eth0 | grep -q "state UP"
'

test_expect_success 'joined again, the site reaches the controller' '
	netns_join b &&
	wait_for "hello_from $NS_b $CTL_ADDR 7100 | grep -qx controller" 10
'

test_expect_success 'the namespaces are gone when deleted' '
	kill_pidfile ctl.pid b.pid &&
	netns_delete &&
	! ip netns list | grep -q "^hg$$-"
'

test_done
