#!/bin/bash
# The evidence records over HTTP (docs/api.md, docs/evidence.md), against
# records written as the schema says into a real database: the record's
# bytes by revision, by prefix and by flight, exactly as stored; the
# signature and the allowed_signers line that let the plain ssh-keygen
# verify what the server gave; an unsigned record said so; the human page
# (every value escaped, a title holding <script>, hosts with firmware,
# logs with their SHA-256 and links, print-ready); the branch page's
# change lists between the last two pushed records, with links to both;
# 404 and 400 as JSON under /api/ and as pages elsewhere.
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"
test_skip_unless git
test_skip_unless ssh-keygen

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
BARE=$TEST_DIR/trees/minivisor.git
PORT=$(free_port)
W=http://127.0.0.1:$PORT
A=$W/api/v1
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$CONN" "$@"; }
h() { "$HANGAR" --config lab.conf "$@"; }
# code URL [curl args...]: prints the status code, the body in out
code() {
	local u=$1
	shift
	curl -s -o out -w "%{http_code}" "$@" "$u"
}
# py EXPR: a Python assertion on out as JSON (as d)
py() { python3 -c "import json,sys; d=json.load(open(\"out\")); assert $1, d"; }
test_when_finished 'kill_pid $(cat "$TEST_DIR"/*.pid 2>/dev/null); kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

cat >lab.conf <<CONF
[lab]
	state = $STATE
[tree "minivisor"]
	url = $BARE
[branch "mv"]
	tree = minivisor
	jobs = test-amd64
[recipe "test"]
	step = run smoke ./smoke.sh
[job "test-amd64"]
	recipe = test
	arch = x86_64
[host "h1"]
	arch = x86_64
	address = 127.0.9.1
CONF

REV1=1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
REV2=abcdef01bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
REV3=abcdef02cccccccccccccccccccccccccccccccc

# record FILE FLIGHT BRANCH REV PUSHED REQS: a record as the schema says
# (docs/evidence.md), REQS "ID=STATUS=TITLE;..."; its log file written
record() {
	python3 - "$@" "$STATE/logs" <<-\PY
	import hashlib, json, os, sys
	out, flight, branch, rev, pushed, reqs, logs = sys.argv[1:]
	flight = int(flight)
	d = os.path.join(logs, str(flight), "test-amd64")
	os.makedirs(d, exist_ok=True)
	log = b"smoke: ok\n" * flight
	open(os.path.join(d, "1-smoke.log"), "wb").write(log)
	sha = hashlib.sha256(log).hexdigest()
	path = "%d/test-amd64/1-smoke.log" % flight
	requirements = []
	for r in filter(None, reqs.split(";")):
	    rid, status, title = r.split("=", 2)
	    requirements.append({"id": rid, "title": title, "status": status,
	        "tests": [{"job": "test-*", "step": "smoke/" + rid.lower()}],
	        "evidence": [{"job": "test-amd64", "step": "smoke/" + rid.lower(),
	                      "status": {"verified": "pass", "failed": "fail"}.get(status, "broken")}]})
	rec = {"schema": "hangar-evidence/1", "flight": flight,
	    "branch": branch or None, "intent": "gate" if branch else "adhoc",
	    "status": "finished", "verdict": "push" if pushed == "t" else "none",
	    "pushed": pushed == "t", "decided_at": "2026-12-07T06:21:34Z",
	    "tree": "minivisor", "revision": rev, "revisions": {"minivisor": rev},
	    "harness": ["0a7214c"],
	    "requirements_source": {"source": "tree", "tree": "minivisor",
	        "file": "REQUIREMENTS", "revision": rev, "sha256": "0" * 64},
	    "requirements_error": None, "requirements": requirements,
	    "jobs": [{"job": "test-amd64", "status": "pass", "recipe": "test",
	        "arch": "x86_64", "attempt": 1, "harness": "0a7214c",
	        "started_at": "2026-12-07T06:20:00Z", "finished_at": "2026-12-07T06:21:00Z",
	        "runvars": {"arch": "x86_64", "note": "a<b&c"},
	        "hosts": [{"role": "host", "name": "h1", "arch": "x86_64", "site": "local",
	                   "firmware": "SeaBIOS 1.16.2-debian-1.16.2-1, iPXE 1.21.1+"}],
	        "steps": [{"stepno": 1, "step": "smoke", "status": "pass",
	                   "started_at": "2026-12-07T06:20:00Z",
	                   "finished_at": "2026-12-07T06:21:00Z",
	                   "log": {"path": path, "sha256": sha, "size": len(log)}}],
	        "logs": [{"path": path, "sha256": sha, "size": len(log)}],
	        "artifacts": [{"path": "dist/minivisor.tar.gz", "sha256": "e" * 64, "size": 9}]}]}
	open(out, "w").write(json.dumps(rec, indent=1, sort_keys=True) + "\n")
	PY
}
# store FILE FLIGHT BRANCH REV PUSHED [SIG]: the row, as the gate writes it
store() {
	local sig=NULL signer=NULL key=NULL branch=NULL
	[ -z "$3" ] || branch="'$3'"
	if [ -n "$6" ]; then
		sig="convert_from(decode(:'sig', 'base64'), 'UTF8')"
		signer="'evidence@t0975'" key=":'key'"
	fi
	# byte for byte (base64: "$(cat)" would drop the last newline); psql
	# expands :'var' in its input only, not in -c
	q -v rec="$(base64 -w0 "$1")" -v sig="$(base64 -w0 "$6" 2>/dev/null)" \
	  -v key="$(cut -d" " -f1,2 key.pub 2>/dev/null)" <<<"INSERT INTO evidence
	   (flight, branch, tree, revision, pushed, record, sha256, signature,
	    signer, signer_key) VALUES ($2, $branch, 'minivisor',
	   '$4', '$5', convert_from(decode(:'rec', 'base64'), 'UTF8'), '$(sha256sum "$1" | cut -d" " -f1)', $sig,
	   $signer, $key)"
}

test_expect_success 'setup: three flights with records (two pushed, one signed), the server' '
	"$DEMO_TREE" create trees >/dev/null &&
	h lab apply lab.conf >/dev/null &&
	F1=$(q -c "INSERT INTO flights (branch, intent, status, verdict, pushed) VALUES (\$\$mv\$\$, \$\$gate\$\$, \$\$finished\$\$, \$\$push\$\$, true) RETURNING id") &&
	F2=$(q -c "INSERT INTO flights (branch, intent, status, verdict, pushed) VALUES (\$\$mv\$\$, \$\$gate\$\$, \$\$finished\$\$, \$\$push\$\$, true) RETURNING id") &&
	F3=$(q -c "INSERT INTO flights (intent, status, verdict) VALUES (\$\$adhoc\$\$, \$\$finished\$\$, \$\$none\$\$) RETURNING id") &&
	echo "$F1 $F2 $F3" >flights &&
	record r1.json $F1 mv $REV1 t "A=verified=Boots;B=verified=Counts;C=unverified=Waits;OLD=verified=Gone soon" &&
	record r2.json $F2 mv $REV2 t "A=verified=Boots;B=failed=Counts;C=verified=Waits;NEW=verified=<script>alert(1)</script> & more" &&
	record r3.json $F3 "" $REV3 f "A=unverified=Boots" &&
	ssh-keygen -q -t ed25519 -N "" -C evidence@t0975 -f key &&
	ssh-keygen -q -Y sign -f key -n hangar-evidence r2.json &&
	store r1.json $F1 mv $REV1 t &&
	store r2.json $F2 mv $REV2 t r2.json.sig &&
	store r3.json $F3 "" $REV3 f || exit 1
	# (alone: "A && B &" would put the whole list in the background)
	setsid "$HANGAR" --config lab.conf web --listen 127.0.0.1:$PORT >>web.log 2>&1 &
	echo $! >web.pid
	wait_for "curl -fsS $A/whoami >/dev/null" 20
'
read F1 F2 F3 <flights 2>/dev/null

test_expect_success 'the record by revision: the stored bytes exactly, as JSON' '
	test $(code $A/evidence/$REV2 -D headers) = 200 &&
	cmp out r2.json &&
	grep -qi "^content-type: application/json" headers &&
	test $(code $A/evidence/abcdef01) = 200 && cmp out r2.json &&
	test $(code $A/evidence/ABCDEF01) = 200 && cmp out r2.json &&
	test $(code $A/evidence/$REV1) = 200 && cmp out r1.json &&
	test $(code "$A/evidence/$REV1?branch=mv") = 200 && cmp out r1.json &&
	test $(code "$A/evidence/$REV1?branch=other") = 404
'

test_expect_success 'the record by flight; an unpushed one too' '
	test $(code $A/flights/$F3/evidence) = 200 && cmp out r3.json &&
	test $(code $A/flights/$F2/evidence) = 200 && cmp out r2.json
'

test_expect_success 'the signature and allowed_signers: the plain ssh-keygen verifies what the server gave' '
	test $(code $A/evidence/$REV2/signature -D headers) = 200 &&
	cmp out r2.json.sig && mv out got.sig &&
	grep -qi "^content-type: text/plain" headers &&
	test $(code $A/evidence/abcdef01/allowed_signers) = 200 && mv out got.signers &&
	test "$(cat got.signers)" = "evidence@t0975 namespaces=\"hangar-evidence\" $(cut -d" " -f1,2 key.pub)" &&
	curl -fsS $A/evidence/$REV2 >got.json &&
	ssh-keygen -Y verify -f got.signers -I evidence@t0975 -n hangar-evidence \
		-s got.sig <got.json >verify.out && grep -q "^Good" verify.out &&
	# one byte changed: no longer
	sed "s/\"Counts\"/\"Countz\"/" got.json >bad.json && ! cmp -s got.json bad.json &&
	! ssh-keygen -Y verify -f got.signers -I evidence@t0975 -n hangar-evidence \
		-s got.sig <bad.json >/dev/null 2>&1
'

test_expect_success 'an unsigned record has no signature: 404, saying so' '
	test $(code $A/evidence/$REV1/signature) = 404 &&
	py "d[\"error\"] == \"unsigned\" and \"unsigned\" in d[\"detail\"]" &&
	test $(code $A/evidence/$REV3/allowed_signers) = 404 &&
	py "d[\"error\"] == \"unsigned\""
'

test_expect_success 'none: 404; a malformed or ambiguous revision, a bad flight: 400 (JSON under /api/)' '
	test $(code $A/evidence/0123456789abcdef0123456789abcdef01234567) = 404 &&
	py "d[\"error\"] == \"not found\"" &&
	test $(code $A/evidence/0123456789abcdef0123456789abcdef01234567/signature) = 404 &&
	test $(code $A/flights/999999/evidence) = 404 && py "d[\"error\"] == \"not found\"" &&
	test $(code $A/flights/abc/evidence) = 400 && py "d[\"error\"] == \"bad request\"" &&
	test $(code $A/evidence/abcdef) = 400 && py "\"7 to 64\" in d[\"detail\"]" &&
	test $(code $A/evidence/zzzzzzzz) = 400 &&
	test $(code $A/evidence/abcdef0) = 400 && py "\"ambiguous\" in d[\"detail\"]" &&
	test $(code $A/evidence/$REV2 -X POST) = 405 &&
	test $(code $W/evidence/zzzzzzzz) = 400 && grep -q "<html" out &&
	test $(code $W/evidence/0123456789abcdef0123456789abcdef01234567) = 404 && grep -q "<html" out
'

test_expect_success 'the page: requirements, steps, hosts with firmware, logs with links; all escaped; print-ready' '
	test $(code $W/evidence/$REV2 -D headers) = 200 && mv out page.html &&
	grep -qi "^content-type: text/html" headers &&
	grep -q "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" page.html &&
	! grep -q "<script" page.html &&
	grep -q "a&lt;b&amp;c" page.html &&
	grep -q "SeaBIOS 1.16.2-debian-1.16.2-1, iPXE 1.21.1+" page.html &&
	sha=$(sha256sum "$STATE/logs/$F2/test-amd64/1-smoke.log" | cut -d" " -f1) &&
	grep -q "$sha" page.html &&
	grep -q "href=\"/logs/$F2/test-amd64/1-smoke.log\"" page.html &&
	curl -fsS "$W/logs/$F2/test-amd64/1-smoke.log" | sha256sum | grep -q "^$sha " &&
	grep -q "class=\"st-failed\">failed" page.html &&
	grep -q "4 requirements: 3 verified, 1 failed, 0 unverified" page.html &&
	grep -q "evidence@t0975" page.html &&
	grep -q "$(sha256sum r2.json | cut -d" " -f1)" page.html &&
	grep -q "href=\"/api/v1/evidence/$REV2/signature?branch=mv\"" page.html &&
	grep -q "<link rel=\"stylesheet\" href=\"/static/evidence.css\">" page.html &&
	! grep -q "<style" page.html &&
	curl -fsS $W/static/evidence.css | grep -q "@media print" &&
	grep -q "0a7214c" page.html &&
	test $(code $W/evidence/$REV1) = 200 && grep -q "<strong>unsigned</strong>" out
'

test_expect_success 'the branch page: the last pushed record against the one before, with links to both' '
	test $(code $W/branches/mv) = 200 && mv out branch.html &&
	grep -q "href=\"/evidence/$REV2?branch=mv\">flight $F2</a>" branch.html &&
	grep -q "href=\"/evidence/$REV1?branch=mv\">flight $F1</a>" branch.html &&
	! grep -q "<script>" branch.html &&
	python3 - <<-\PY
	import re
	html = open("branch.html").read()
	got = {}
	for title, items in re.findall(r"<h3>([^<]*) \(\d+\)</h3>\s*<ul class=\"changes\">(.*?)</ul>", html, re.S):
	    got[title] = re.findall(r"<li><span class=\"mono\">([^<]*)</span>", items)
	want = {"Newly verified": ["C", "NEW"], "Newly failing": ["B"],
	        "No longer verified": ["OLD"], "Added": ["NEW"], "Removed": ["OLD"]}
	assert got == want, got
	assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
	PY
'

test_expect_success 'a branch with one pushed record: all of it is new; one without any: no section' '
	q -c "INSERT INTO branches (name, tree) VALUES (\$\$other\$\$, \$\$minivisor\$\$) ON CONFLICT DO NOTHING" &&
	test $(code $W/branches/other) = 200 && ! grep -q "<h2>Evidence</h2>" out &&
	F4=$(q -c "INSERT INTO flights (branch, intent, status, verdict, pushed) VALUES (\$\$other\$\$, \$\$gate\$\$, \$\$finished\$\$, \$\$push\$\$, true) RETURNING id") &&
	record r4.json $F4 other $REV1 t "A=verified=Boots" &&
	store r4.json $F4 other $REV1 t &&
	test $(code $W/branches/other) = 200 &&
	grep -q "the one before it: none" out &&
	grep -q "<h3>Added (1)</h3>" out &&
	# two records of one revision: the branch narrows it
	test $(code "$A/evidence/$REV1?branch=other") = 200 && cmp out r4.json &&
	test $(code "$A/evidence/$REV1?branch=mv") = 200 && cmp out r1.json
'

test_done
