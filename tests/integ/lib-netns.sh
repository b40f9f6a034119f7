# lib-netns.sh — separate networks for the tests of a lab spread over
# sites. Source it after lib-test.sh: it skips the script unless it can
# make network namespaces (root, ip), and deletes them at the end. The
# benchmarks source it alone (and call netns_delete themselves).
#
#   netns_create SITE...  the controller's namespace and one per site. The
#                         controller's has a bridge with 169.254.N.1/24; a
#                         site's namespace is joined to it by a veth pair
#                         (169.254.N.2, .3, ... in the order given). The
#                         sites' ports are isolated: a site reaches the
#                         controller, never another site. No namespace has
#                         any other address or a default route, so nothing
#                         is sent anywhere else. Every one has its loopback
#                         up (a site's simulated hosts live on 127.x there).
#                         Sets NS_CTL, CTL_ADDR, and per site NS_<SITE> and
#                         ADDR_<SITE> (SITE with - turned into _).
#   in_ns NS CMD...       CMD in namespace NS
#   netns_cut SITE        the site's link goes dark: its packets are
#                         dropped, both ways, without a word (as a WAN link
#                         that fails); the site's own side stays up
#   netns_join SITE       the link is back
#   netns_delete          stops what still runs in them and deletes them
#                         (also done at the end of the test)
#
# Every link lives inside the namespaces: nothing is added to the
# machine's own network. Processes started in a namespace are the test's
# to stop, by pid, as anywhere else.
if command -v test_skip_unless >/dev/null 2>&1; then
	test_skip_unless "test $(id -u) = 0"
	test_skip_unless ip
fi

_netns_prefix=hg$$
_netns_sites=
NS_CTL=$_netns_prefix-ctl
CTL_ADDR=169.254.$((1 + $$ % 254)).1

in_ns() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

_netns_var() { # SITE -> the SITE part of a variable name
	printf '%s' "$1" | tr -- '-' '_'
}

_netns_port() { # SITE -> its port on the controller's bridge
	local i=0 s
	for s in $_netns_sites; do
		i=$((i + 1))
		[ "$s" != "$1" ] || { echo "s$i"; return 0; }
	done
	echo "netns: no site $1" >&2
	return 1
}

netns_create() {
	local net=${CTL_ADDR%.1} i=1 site ns v
	! command -v test_when_finished >/dev/null 2>&1 ||
		test_when_finished netns_delete
	ip netns add "$NS_CTL" || return 1
	ip -n "$NS_CTL" link set lo up &&
		ip -n "$NS_CTL" link add br0 type bridge &&
		ip -n "$NS_CTL" addr add "$CTL_ADDR/24" dev br0 &&
		ip -n "$NS_CTL" link set br0 up || return 1
	for site in "$@"; do
		i=$((i + 1))
		ns=$_netns_prefix-$site
		v=$(_netns_var "$site")
		_netns_sites="$_netns_sites $site"
		ip netns add "$ns" &&
			ip -n "$ns" link set lo up &&
			ip link add "s$((i - 1))" netns "$NS_CTL" type veth \
				peer name eth0 netns "$ns" &&
			ip -n "$NS_CTL" link set "s$((i - 1))" master br0 &&
			bridge -n "$NS_CTL" link set dev "s$((i - 1))" isolated on &&
			ip -n "$NS_CTL" link set "s$((i - 1))" up &&
			ip -n "$ns" addr add "$net.$i/24" dev eth0 &&
			ip -n "$ns" link set eth0 up || return 1
		eval "NS_$v=\$ns ADDR_$v=\$net.\$i"
	done
}

netns_cut() {
	local port
	port=$(_netns_port "$1") || return 1
	ip -n "$NS_CTL" link set "$port" nomaster
}

netns_join() {
	local port
	port=$(_netns_port "$1") || return 1
	ip -n "$NS_CTL" link set "$port" master br0 &&
		bridge -n "$NS_CTL" link set dev "$port" isolated on
}

netns_delete() {
	local ns rc=0 i pids
	for ns in $(ip netns list | awk -v p="$_netns_prefix-" \
		'index($1, p) == 1 { print $1 }'); do
		# whatever still runs in it is the test's (a setsid that forked
		# leaves a pid no file has): TERM, then KILL
		for i in 1 2 3 4 5 6 7 8 9 10 11; do
			pids=$(ip netns pids "$ns" 2>/dev/null)
			[ -n "$pids" ] || break
			# shellcheck disable=SC2086
			if [ $i -lt 11 ]; then kill $pids; else kill -9 $pids; fi 2>/dev/null
			sleep 0.3
		done
		ip netns delete "$ns" || rc=1
	done
	return $rc
}
