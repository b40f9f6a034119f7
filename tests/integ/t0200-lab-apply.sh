#!/bin/bash
# hangar lab apply: the example configuration against the private cluster,
# idempotence, retiring, validation errors that change nothing.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "pg_config --bindir"

export HANGAR_PG_FAST=1
EXAMPLE=$SRCDIR/etc/hangar.conf.example
H() { "$HANGAR" --state "$TEST_DIR/state" "$@"; }
export -f H
test_when_finished 'kill_pid $(head -n 1 "$TEST_DIR/state/pg/postmaster.pid" 2>/dev/null)'

test_expect_success 'the example configuration applies' '
	H lab apply "$EXAMPLE" >out &&
	grep -q "^+ host ruby" out && grep -q "^+ branch xen-unstable" out &&
	grep -q "hosts: 3 added, 0 changed, 0 retired" out
'

test_expect_success 'host list --json shows the hosts' '
	H --config "$EXAMPLE" host list --json >hosts.json &&
	python3 - <<-\PY
	import json
	hosts = json.load(open("hosts.json"))
	assert [h["name"] for h in hosts] == ["jade", "opal", "ruby"], hosts
	ruby = hosts[2]
	assert ruby == {"name": "ruby", "arch": "x86_64", "site": "local",
	                "state": "free",
	                "flags": ["build", "equiv-r", "hvm", "iommu"],
	                "job": None}, ruby
	assert hosts[0]["arch"] == "riscv64" and hosts[0]["flags"] == []
	PY
'

test_expect_success 'applying twice changes nothing' '
	q() { psql -X -At "host=$TEST_DIR/state/pg dbname=hangar user=hangar" -c "$1"; } &&
	before=$(q "SELECT count(*), max(updated_at) FROM hosts; SELECT count(*) FROM events") &&
	H lab apply "$EXAMPLE" >out &&
	test "$(cat out)" = "no changes" &&
	H lab apply --json "$EXAMPLE" >out.json &&
	python3 -c "import json; d=json.load(open(\"out.json\")); assert d[\"changes\"]==[] and d[\"hosts\"]==dict(added=0,changed=0,removed=0), d" &&
	test "$(q "SELECT count(*), max(updated_at) FROM hosts; SELECT count(*) FROM events")" = "$before"
'

test_expect_success 'host show gives settings and history, never the BMC password' '
	H --config "$EXAMPLE" host show ruby >show &&
	grep -q "^power: *ipmi" show && grep -q "host.added" show &&
	H --config "$EXAMPLE" host show ruby --json >show.json &&
	! grep -q secret show show.json &&
	python3 -c "import json; d=json.load(open(\"show.json\")); assert d[\"boot_timeout\"]==300 and d[\"history\"][0][\"kind\"]==\"host.added\", d"
'

test_expect_success 'a missing host is exit 1' '
	set +e
	H --config "$EXAMPLE" host show nope 2>err; rc=$?
	set -e
	test $rc = 1 && grep -q "no host .nope." err
'

test_expect_success 'a changed host is updated, a removed one retired, a re-added one free' '
	sed -e "s/flags = hvm iommu equiv-r build/flags = hvm equiv-r build/" \
	    -e "/^\[host \"jade\"\]/,/^\$/d" "$EXAMPLE" >changed.conf &&
	H lab apply changed.conf >out &&
	grep -q "^~ host ruby" out && grep -q "^- host jade (retired)" out &&
	H --config changed.conf host list >list &&
	grep -q "^jade .*retired" list &&
	! grep -q "^ruby .*iommu" list &&
	H --config changed.conf host show jade --json >jade.json &&
	python3 -c "import json; d=json.load(open(\"jade.json\")); assert d[\"state\"]==\"retired\" and [e[\"kind\"] for e in d[\"history\"]]==[\"host.retired\",\"host.added\"], d" &&
	H lab apply "$EXAMPLE" >out &&
	grep -q "^+ host jade\|^~ host jade" out &&
	H --config "$EXAMPLE" host list | grep -q "^jade .*free"
'

test_expect_success 'a host takes [lab] site unless it names its own; a bad name is exit 2' '
	sed -e "s/^\tsite = local\$/\tsite = colo-a/" \
	    -e "/^\[host \"jade\"\]/a\\\tsite = colo-b" "$EXAMPLE" >sites.conf &&
	grep -q "site = colo-b" sites.conf &&
	H lab apply sites.conf >out &&
	grep -q "^~ host jade" out && grep -q "^~ host opal" out &&
	! grep -q "^~ host ruby" out &&
	H --config sites.conf host list --json >hosts.json &&
	python3 -c "import json; d={h[\"name\"]: h[\"site\"] for h in json.load(open(\"hosts.json\"))}; assert d == {\"jade\": \"colo-b\", \"opal\": \"colo-a\", \"ruby\": \"local\"}, d" &&
	H --config sites.conf host show jade >show && grep -q "^site: *colo-b" show &&
	sed "s/site = colo-b/site = Colo_B/" sites.conf >badsite.conf &&
	set +e &&
	H lab apply badsite.conf 2>err; rc=$? &&
	set -e &&
	test $rc = 2 && grep -q "badsite.conf:[0-9]*: host .jade.: site: .Colo_B. is not a site name" err &&
	H lab apply "$EXAMPLE" >out && grep -q "^~ host jade" out
'

test_expect_success '--dry-run reports and writes nothing' '
	sed "s/port = 22 /port = 2222 /" "$EXAMPLE" >port.conf &&
	H lab apply --dry-run port.conf >out &&
	grep -q "^~ host ruby" out && grep -q "dry run" out &&
	H lab apply "$EXAMPLE" >out && test "$(cat out)" = "no changes"
'

test_expect_success 'arch = sparc: exit 2, naming the file, line and host; nothing changes' '
	sed "s/arch = riscv64/arch = sparc/" "$EXAMPLE" >sparc.conf &&
	line=$(grep -n "arch = sparc" sparc.conf | cut -d: -f1) &&
	set +e &&
	H lab apply sparc.conf 2>err; rc=$? &&
	set -e &&
	test $rc = 2 &&
	grep -q "sparc.conf:$line: host .jade.: arch: unknown value .sparc." err &&
	H lab apply "$EXAMPLE" >out && test "$(cat out)" = "no changes"
'

test_expect_success 'every validation problem is reported at once, exit 2' '
	cat >bad.conf <<-\EOF &&
	[host "a"]
		arch = x86_64
		address = 127.0.0.9
		colour = blue
	[job "j"]
		recipe = missing
		arch = arm64
		needs = j2
	[job "j2"]
		recipe = r
		arch = arm64
		needs = j
	[recipe "r"]
		step = run smoke
	EOF
	set +e &&
	H lab apply bad.conf 2>err; rc=$? &&
	set -e &&
	test $rc = 2 &&
	grep -q "bad.conf:4: host .a.: colour: unknown key" err &&
	grep -q "bad.conf:6: job .j.: recipe: no recipe .missing." err &&
	grep -q "dependency cycle: j -> j2 -> j" err &&
	grep -q "bad.conf:14: recipe .r.: step: run needs a command" err
'

test_done
