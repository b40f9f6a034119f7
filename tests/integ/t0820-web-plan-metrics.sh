#!/bin/bash
# The plan and the figures on the web: GET /api/v1/plan is `hangar plan
# --json`; GET /plan draws a bar per holder and booking, each job's linked
# to its flight, and escapes what people typed; GET /metrics is valid
# Prometheus text with the counts of the database, from an index scan.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"
test_skip_unless python3
test_skip_unless curl

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
QUEUE=$(dirname "$LAB")/queue-flight.sh
PORT=$(free_port)
W=http://127.0.0.1:$PORT
h() { "$HANGAR" --config lab.conf "$@"; }
# index scans of jobs_finished_idx so far (the statistics lag a little)
idx_scans() {
	q "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 'jobs_finished_idx'"
}
test_when_finished 'kill_pid $(cat "$TEST_DIR"/web.pid 2>/dev/null); kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

cat >lab.conf <<CONF
[lab]
	state = $STATE
[scheduler]
	default-duration = 1h
[host "h1"]
	arch = x86_64
	address = 127.0.9.1
	flags = share-build
[host "h2"]
	arch = x86_64
	address = 127.0.9.2
	flags = hvm
[host "h4"]
	arch = arm64
	address = 127.0.9.4
[host "h5"]
	arch = riscv64
	address = 127.0.9.5
[tree "t"]
	url = /nonexistent.git
[branch "b"]
	tree = t
	jobs = build-amd64 build-arm64 test-amd64
[recipe "build"]
	step = build make
[recipe "test"]
	step = run smoke true
[job "build-amd64"]
	recipe = build
	arch = x86_64
	flags = share-build
[job "build-arm64"]
	recipe = build
	arch = arm64
[job "test-amd64"]
	recipe = test
	arch = x86_64
	flags = hvm
	needs = build-amd64
CONF

# An arch with every character a label value must escape; what a person
# types (here, who owns a reservation) with every one HTML must.
ODD_ARCH='odd"arch\x
y'
OWNER='<b>"o&'"'"'wner'

# Finished jobs for the histogram: flight 90 (pushed) ran within the day,
# flight 80 long ago, with 20000 more old runs so that only an index
# keeps the last day cheap.
cat >history.sql <<'SQL'
INSERT INTO flights (id, branch, intent, status, verdict, started_at, finished_at)
VALUES (80, 'b', 'gate', 'finished', 'no-push', now() - interval '40 days', now() - interval '40 days'),
       (90, 'b', 'gate', 'finished', 'push', now() - interval '3 hours', now() - interval '1 hour'),
       (91, 'b', 'bisect', 'finished', 'none', now() - interval '3 hours', now() - interval '2 hours');
INSERT INTO jobs (flight, job, recipe, arch, status, started_at, finished_at)
SELECT 80, 'old-' || i, 'build', 'x86_64', 'pass',
       now() - interval '40 days', now() - interval '40 days' + interval '1 minute'
FROM generate_series(1, 20000) i;
INSERT INTO jobs (flight, job, recipe, arch, status, started_at, finished_at) VALUES
 (90, 'a', 'build', 'x86_64', 'pass', now() - interval '2 hours', now() - interval '2 hours' + interval '5 s'),
 (90, 'b', 'build', 'x86_64', 'fail', now() - interval '2 hours', now() - interval '2 hours' + interval '45 s'),
 (90, 'c', 'build', 'x86_64', 'pass', now() - interval '2 hours', now() - interval '2 hours' + interval '60 s'),
 (90, 'd', 'build', 'x86_64', 'pass', now() - interval '2 hours', now() - interval '2 hours' + interval '1000 s'),
 (90, 'e', 'build', 'x86_64', 'broken', now() - interval '2 hours', now() - interval '1 hour'),
 (90, 'f', 'build', 'x86_64', 'pass', now() - interval '30 hours', now() - interval '25 hours'),
 (91, 'g', 'build', 'arm64', 'fail', now() - interval '3 hours', now() - interval '1 hour');
SELECT setval('flights_id_seq', 100);
ANALYZE jobs;
SQL

test_expect_success 'a lab with a history, a queue, a reservation, a blockage and a plan' '
	h lab apply lab.conf >/dev/null &&
	psql -X -q -v ON_ERROR_STOP=1 "$CONN" -f history.sql &&
	h host maintenance h5 on --reason "firmware" >/dev/null &&
	G=$("$QUEUE" "$CONN" b gate) && echo $G >gate.flight &&
	A=$("$QUEUE" "$CONN" b adhoc build-arm64) && echo $A >adhoc.flight &&
	# a job nothing can run: its arch is odd
	q "INSERT INTO flights (intent, status) VALUES (\$\$retest\$\$, \$\$queued\$\$)" &&
	R=$(q "SELECT max(id) FROM flights") && echo $R >retest.flight &&
	psql -X -q -v ON_ERROR_STOP=1 -v arch="$ODD_ARCH" -v f=$R "$CONN" \
		<<<"INSERT INTO jobs (flight, job, recipe, arch) VALUES (:f, \$\$odd\$\$, \$\$build\$\$, :'"'"'arch'"'"')" &&
	SUDO_USER= USER=$OWNER h reserve --host h4 --for 2h --no-wait >res.out &&
	h host block --host h2 --from +2h --to +3h --reason fw >/dev/null &&
	h scheduler --once >pass.out && cat pass.out &&
	h plan && h plan --json >plan.json &&
	python3 - <<-"PY"
	import json
	p = json.load(open("plan.json"))
	held = [n for x in p["hosts"] for n in x["now"]]
	assert any(n["job"] == "build-amd64" for n in held), held
	assert any(n["reservation"] for n in held), held       # the reservation has h4
	kinds = {w["kind"] for w in p["waiting"]}
	assert kinds >= {"job", "blockage"}, kinds
	assert any(w["job"] == "build-arm64" and w["start"] for w in p["waiting"]), p["waiting"]
	PY
'

test_expect_success 'the web server starts; /metrics reads finished jobs through jobs_finished_idx' '
	# the scheduler pass also read that index: wait for its count to settle
	before=$(idx_scans) && sleep 1.5 &&
	while [ "$(idx_scans)" != "$before" ]; do before=$(idx_scans); sleep 1.5; done
	echo "$before" >idx.before
	setsid "$HANGAR" --config lab.conf web --listen 127.0.0.1:$PORT >web.log 2>&1 &
	echo $! >web.pid
	wait_for "curl -fsS $W/metrics -D metrics.headers -o metrics.txt" 20 &&
	wait_for "test \$(idx_scans) -gt $before" 15
'

test_expect_success 'GET /api/v1/plan is hangar plan --json' '
	curl -fsS $W/api/v1/plan >api.json &&
	h plan --json >cli.json &&
	python3 - <<-"PY"
	import json
	a, c = json.load(open("api.json")), json.load(open("cli.json"))
	assert abs(a.pop("now") - c.pop("now")) <= 5
	assert a == c, (a, c)
	assert a["computed_at"] and a["scheduler"] and a["pass_ms"] is not None
	PY
'

test_expect_success 'GET /plan: an SVG timeline with a bar per holder and booking' '
	curl -fsS $W/plan -D plan.headers -o plan.html &&
	grep -qi "^content-type: text/html" plan.headers &&
	python3 - "$(cat gate.flight)" "$(cat adhoc.flight)" <<-"PY"
	import json, re, sys
	import xml.etree.ElementTree as ET
	page = open("plan.html").read()
	p = json.load(open("cli.json"))
	m = re.search(r"<svg class=\"plan\".*?</svg>\n", page, re.S)
	assert m, "no svg"
	# well-formed XML: every name and text escaped
	svg = ET.fromstring(m.group(0).replace("&#39;", "&apos;"))
	ns = "{http://www.w3.org/2000/svg}"
	bars = {}
	for a in svg.iter(ns + "a"):
	    href = a.get("href")
	    if not href.startswith("/flights/"):
	        continue
	    title = a.find(ns + "title").text
	    bars.setdefault(href, []).append(title)
	want = set()
	for host in p["hosts"]:
	    for n in host["now"]:
	        if n["flight"]:
	            want.add((n["flight"], n["job"]))
	for w in p["waiting"]:
	    if w["kind"] == "job" and w["start"] is not None and w["hosts"]:
	        want.add((w["flight"], w["job"]))
	assert want, p
	for f, j in want:
	    titles = bars.get("/flights/%d" % f, [])
	    assert any(t.startswith("%d.%s (" % (f, j)) for t in titles), (f, j, bars)
	    assert all(re.search(r"\n(since|start) \d{4}-\d\d-\d\d \d\d:\d\d UTC\nend ", t)
	               for t in titles), titles
	# colours by kind: the gate and the ad-hoc flight
	gate, adhoc = sys.argv[1], sys.argv[2]
	assert re.search(r"<a href=\"/flights/%s\" class=\"plan-bar plan-gate\">" % gate, page)
	assert re.search(r"<a href=\"/flights/%s\" class=\"plan-bar plan-adhoc\">" % adhoc, page)
	# the reservation and the blockage are bars too, without a link
	assert re.search(r"<g class=\"plan-bar plan-reservation\"><title>reservation 1 ", page)
	assert re.search(r"<g class=\"plan-bar plan-blockage\"><title>blockage 2 ", page)
	# one row per host, under its arch, archs in the configuration order
	texts = ["".join(t.itertext()) for t in svg.iter(ns + "text")]
	archs = [t for t in texts if t in ("x86_64", "arm64", "riscv64")]
	assert archs == ["x86_64", "arm64", "riscv64"], archs
	for host in ("h1", "h2", "h4"):
	    assert host in texts, (host, texts)
	assert "h5 (maintenance)" in texts, texts
	# the axis: HH:MM ticks
	assert sum(1 for t in texts if re.fullmatch(r"\d\d:\d\d", t)) >= 3, texts
	# what waits, with its estimated start and its reason
	table = page[page.index("<h2>Waiting</h2>"):]
	for w in p["waiting"]:
	    if w["kind"] == "job":
	        assert "<a href=\"/flights/%d\">%d.%s</a>" % (w["flight"], w["flight"],
	               w["job"].replace("&", "&amp;")) in table, w
	assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d UTC <span class=\"muted\">\(in ", table)
	PY
'

test_expect_success 'GET /plan escapes what people and the database typed' '
	! grep -F "<b>" plan.html &&
	grep -qF "reservation 1 (&lt;b&gt;&quot;o&amp;&#39;wner)" plan.html &&
	reason=$(q "SELECT wait_reason FROM jobs WHERE job = \$\$odd\$\$") &&
	test -n "$reason" &&
	python3 - "$reason" <<-"PY"
	import html, sys
	page = open("plan.html").read()
	assert html.escape(sys.argv[1], quote=True).replace("&#x27;", "&#39;") in page
	PY
'

# The exposition format, checked line by line; prints the samples as JSON.
cat >prom.py <<'PY'
import json, re, sys
name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
label = r"[a-zA-Z_][a-zA-Z0-9_]*=\"(?:\\[\\\"n]|[^\"\\\n])*\""
sample = re.compile(r"(%s)(?:\{(%s(?:,%s)*)\})? (-?[0-9.eE+-]+|[+-]Inf|NaN)$" % (name, label, label))
types, helps, seen, out = {}, {}, [], []
def unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)
text = open(sys.argv[1]).read()
assert text.endswith("\n"), "no final newline"
for line in text.splitlines():
    if line.startswith("# HELP "):
        n = line.split(" ")[2]; assert n not in helps, n; helps[n] = line
    elif line.startswith("# TYPE "):
        _, _, n, t = line.split(" ")
        assert t in ("gauge", "counter", "histogram", "summary", "untyped"), line
        assert n not in types, "family %s twice" % n
        types[n] = t; seen.append(n)
    else:
        m = sample.match(line)
        assert m, "bad line: %r" % line
        n = m.group(1)
        base = re.sub(r"_(bucket|sum|count)$", "", n) if n not in types else n
        assert base == seen[-1], "%s outside its family %s" % (n, seen[-1])
        labels = dict((k, unescape(v)) for k, v in
                      re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:\\.|[^\"\\])*)\"", m.group(2) or ""))
        out.append({"name": n, "labels": labels, "value": float(m.group(3))})
assert set(helps) == set(types), (helps, types)
json.dump({"types": types, "samples": out}, open(sys.argv[2], "w"))
PY

# value NAME [LABEL=VALUE...]: the one sample of that name and labels
value() {
	python3 - "$@" <<-"PY"
	import json, sys
	d = json.load(open("metrics.json"))
	want = dict(a.split("=", 1) for a in sys.argv[2:])
	got = [s["value"] for s in d["samples"] if s["name"] == sys.argv[1] and s["labels"] == want]
	assert len(got) == 1, (sys.argv[1:], got)
	v = got[0]
	print(int(v) if v == int(v) else v)
	PY
}

test_expect_success 'GET /metrics is Prometheus text' '
	grep -qix "content-type: text/plain; version=0.0.4; charset=utf-8.\?" metrics.headers &&
	curl -fsS $W/metrics >metrics.txt && cat metrics.txt &&
	python3 prom.py metrics.txt metrics.json &&
	python3 - <<-"PY"
	import json
	d = json.load(open("metrics.json"))
	assert d["types"] == {
	    "hangar_queue_jobs": "gauge", "hangar_hosts": "gauge",
	    "hangar_flights": "gauge", "hangar_job_duration_seconds": "histogram",
	    "hangar_scheduler_pass_seconds": "gauge",
	    "hangar_plan_computed_timestamp_seconds": "gauge",
	    "hangar_reservations": "gauge",
	    "hangar_scheduler_check_differences_total": "counter"}, d["types"]
	PY
'

test_expect_success '/metrics: the queue, hosts, flights and reservations as the database counts them' '
	for arch in x86_64 arm64 riscv64; do
		test "$(value hangar_queue_jobs arch=$arch)" = \
		     "$(q "SELECT count(*) FROM jobs j JOIN flights f ON f.id = j.flight WHERE j.status = \$\$queued\$\$ AND f.status <> \$\$cancelled\$\$ AND j.arch = \$\$$arch\$\$")" ||
			return 1
	done &&
	test "$(value hangar_queue_jobs arch=riscv64)" = 0 &&
	test "$(value hangar_queue_jobs "arch=$ODD_ARCH")" = 1 &&
	grep -qF "hangar_queue_jobs{arch=\"odd\\\"arch\\\\x\\ny\"} 1" metrics.txt &&
	# every state of the CHECK constraint, for every arch, zeros too
	states=$(q "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = \$\$hosts\$\$::regclass AND conname = \$\$hosts_state_check\$\$" |
		grep -o "'"'"'[a-z]*'"'"'" | tr -d "'"'"'" | sort | tr "\n" " ") &&
	test "$states" = "broken free maintenance retired " &&
	for s in $states; do
		for arch in x86_64 arm64 riscv64; do
			test "$(value hangar_hosts state=$s arch=$arch)" = \
			     "$(q "SELECT count(*) FROM hosts WHERE state = \$\$$s\$\$ AND arch = \$\$$arch\$\$")" ||
				return 1
		done
	done &&
	test "$(value hangar_hosts state=free arch=x86_64)" = 2 &&
	test "$(value hangar_hosts state=maintenance arch=riscv64)" = 1 &&
	test "$(value hangar_flights intent=gate verdict=push)" = 1 &&
	test "$(value hangar_flights intent=gate verdict=no-push)" = 1 &&
	test "$(value hangar_flights intent=gate verdict=pending)" = 1 &&
	test "$(value hangar_flights intent=bisect verdict=none)" = 1 &&
	test "$(value hangar_flights intent=retest verdict=push)" = 0 &&
	test "$(grep -c "^hangar_flights{" metrics.txt)" = 16 &&
	test "$(value hangar_reservations status=active)" = "$(q "SELECT count(*) FROM reservations WHERE status = \$\$active\$\$")" &&
	test "$(value hangar_reservations status=waiting)" = "$(q "SELECT count(*) FROM reservations WHERE status = \$\$waiting\$\$")" &&
	test "$(value hangar_reservations status=expired)" = 0 &&
	test "$(value hangar_reservations status=released)" = 0
'

test_expect_success '/metrics: the durations of the last day, per arch' '
	python3 - <<-"PY"
	import json
	d = json.load(open("metrics.json"))
	def h(arch):
	    b = {s["labels"]["le"]: s["value"] for s in d["samples"]
	         if s["name"] == "hangar_job_duration_seconds_bucket" and s["labels"]["arch"] == arch}
	    one = lambda n: [s["value"] for s in d["samples"] if s["name"] == n and s["labels"] == {"arch": arch}]
	    return b, one("hangar_job_duration_seconds_sum"), one("hangar_job_duration_seconds_count")
	b, s, c = h("x86_64")   # 5 s, 45 s, 60 s, 1000 s (not broken, not older)
	assert b == {"10": 1, "30": 1, "60": 3, "300": 3, "900": 3, "1800": 4,
	             "3600": 4, "+Inf": 4}, b
	assert s == [1110] and c == [4], (s, c)
	b, s, c = h("arm64")    # 2 h
	assert b["3600"] == 0 and b["+Inf"] == 1 and s == [7200] and c == [1], (b, s, c)
	b, s, c = h("riscv64")
	assert set(b.values()) == {0} and s == [0] and c == [0], (b, s, c)
	les = [s["labels"]["le"] for s in d["samples"]
	       if s["name"] == "hangar_job_duration_seconds_bucket" and s["labels"]["arch"] == "x86_64"]
	assert les == ["10", "30", "60", "300", "900", "1800", "3600", "+Inf"], les
	PY
'

test_expect_success '/metrics: the last planning pass; none before the first' '
	test "$(value hangar_plan_computed_timestamp_seconds | cut -d. -f1)" = \
	     "$(q "SELECT floor(extract(epoch FROM computed_at))::bigint FROM plan_state")" &&
	python3 -c "
import json
d = json.load(open(\"metrics.json\"))
ms = float(\"$(q "SELECT pass_ms FROM plan_state")\")
v = [s[\"value\"] for s in d[\"samples\"] if s[\"name\"] == \"hangar_scheduler_pass_seconds\"]
assert len(v) == 1 and abs(v[0] - ms / 1000) < 1e-5, (v, ms)" &&
	q "DELETE FROM plan_state" &&
	curl -fsS $W/metrics >metrics2.txt &&
	python3 prom.py metrics2.txt metrics2.json &&
	! grep -q "^hangar_scheduler_pass_seconds \|^hangar_plan_computed_timestamp_seconds " metrics2.txt &&
	grep -q "^hangar_hosts{" metrics2.txt &&
	curl -fsS $W/plan >noplan.html && grep -q "No plan yet" noplan.html &&
	curl -fsS $W/api/v1/plan | python3 -c "import json, sys; d = json.load(sys.stdin); assert d[\"computed_at\"] is None and d[\"pass_ms\"] is None, d"
'

test_expect_success 'an empty lab: the pages still render' '
	q "UPDATE jobs SET status = \$\$cancelled\$\$ WHERE status IN (\$\$queued\$\$, \$\$preparing\$\$)" &&
	q "UPDATE allocations SET released_at = now() WHERE released_at IS NULL" &&
	q "UPDATE reservations SET status = \$\$released\$\$, released_at = now() WHERE status IN (\$\$waiting\$\$, \$\$active\$\$)" &&
	curl -fsS $W/plan >empty.html &&
	grep -q "<svg class=\"plan\"" empty.html && grep -q "Nothing waits" empty.html &&
	! grep -q "class=\"plan-bar" empty.html &&
	curl -fsS $W/metrics >metrics3.txt && python3 prom.py metrics3.txt metrics3.json &&
	grep -qx "hangar_queue_jobs{arch=\"x86_64\"} 0" metrics3.txt &&
	kill_pidfile web.pid
'

test_done
