#!/bin/bash
# The dashboard in a real browser (tests/browser/dashboard.mjs: Debian's
# headless Chromium driven by playwright-core): a user clicks from the
# overview to a flight that is not pushed and reads its regression; a
# developer logs in, requests an ad-hoc flight through the form and sees it
# queued. The gate history is t0700's (lib-gate-history.sh); the ad-hoc
# request needs a real tree (the demo tree, as in t0710). No scheduler or
# worker runs. Needs `make deps` (chromium, tests/browser/node_modules).
. "$(dirname "$0")/lib-test.sh"
test_skip_unless "test $(id -u) = 0"
test_skip_unless git
test_skip_unless node
test_skip_unless "test -x /usr/bin/chromium"
test_skip_unless "test -d '$SRCDIR/tests/browser/node_modules/playwright-core'"

export HANGAR_PG_FAST=1
STATE=$TEST_DIR/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
BARE=$TEST_DIR/trees/minivisor.git
h() { "$HANGAR" --config lab.conf "$@"; }
test_when_finished 'kill_pid $(cat "$TEST_DIR"/web.pid 2>/dev/null); kill_pid $(head -n 1 "$STATE/pg/postmaster.pid" 2>/dev/null)'

. "$SRCDIR/tests/integ/lib-gate-history.sh"

{
	printf '[lab]\n\tstate = %s\n' "$STATE"
	gate_history_conf
	cat <<CONF
[tree "minivisor"]
	url = $BARE
[branch "mv"]
	tree = minivisor
	jobs = build-amd64 test-amd64
[recipe "test"]
	step = run smoke ./smoke.sh
[job "test-amd64"]
	recipe = test
	arch = x86_64
	needs = build-amd64
CONF
} >lab.conf
gate_history_sql >history.sql

PORT=$(free_port)
URL=http://127.0.0.1:$PORT

# browser SCENARIO [VAR=VALUE...]: dashboard.mjs runs SCENARIO on the web
# server; its TAP and diagnostics end up in this test's output. Chromium's
# profile and a failure's screenshot go into $TEST_DIR
# (HANGAR_TEST_KEEP=1 keeps them).
browser() {
	local s=$1
	shift
	env TMPDIR="$TEST_DIR" HANGAR_URL="$URL" HANGAR_BROWSER_OUT="$TEST_DIR" "$@" \
		node "$SRCDIR/tests/browser/dashboard.mjs" "$s"
}

test_expect_success 'a gate history, a real tree and the web server' '
	"$DEMO_TREE" create trees >base.rev &&
	h lab apply lab.conf >/dev/null &&
	psql -X -q -v ON_ERROR_STOP=1 "$CONN" -f history.sql &&
	q "UPDATE flights SET verdict = \$\$no-push\$\$ WHERE id = 101" || exit 1
	setsid "$HANGAR" --config lab.conf web --listen 127.0.0.1:$PORT >web.log 2>&1 &
	echo $! >web.pid
	wait_for "curl -fsS $URL/flights >/dev/null" 20
'

test_expect_success 'browser: from the overview to the flight not pushed, and its regression' '
	browser regression
'

test_expect_success 'browser: a developer logs in and requests an ad-hoc flight' '
	h token create --user alice --role developer >token.out &&
	TOKEN=$(tail -n 1 token.out) && test -n "$TOKEN" &&
	browser request HANGAR_TOKEN="$TOKEN" HANGAR_USER=alice HANGAR_REQ_BRANCH=mv \
		HANGAR_REQ_EXPECT_JOBS="build-amd64 test-amd64" | tee request.out &&
	F=$(sed -n "s/^# requested flight //p" request.out) &&
	test "$(q "SELECT branch || \$\$ \$\$ || intent FROM flights WHERE id = $F")" = "mv adhoc" &&
	test "$(q "SELECT string_agg(job, \$\$ \$\$ ORDER BY job) FROM jobs WHERE flight = $F")" = "build-amd64 test-amd64"
'

# evidence_record FLIGHT REV STATUS: a record of branch mv as the schema
# (docs/evidence.md) says, stored as the gate stores one (unsigned)
evidence_record() {
	python3 - "$@" >rec.json <<-\PY
	import json, sys
	flight, rev, status = int(sys.argv[1]), sys.argv[2], sys.argv[3]
	print(json.dumps({"schema": "hangar-evidence/1", "flight": flight,
	    "branch": "mv", "intent": "gate", "status": "finished",
	    "verdict": "push", "pushed": True, "decided_at": None,
	    "tree": "minivisor", "revision": rev, "revisions": {"minivisor": rev},
	    "harness": [], "requirements_source": None, "requirements_error": None,
	    "requirements": [{"id": "MV-BOOT-1", "title": "Boots <b>fast</b>",
	        "status": status, "tests": [{"job": "test-*", "step": "smoke"}],
	        "evidence": [{"job": "test-amd64", "step": "smoke", "status": "pass"}]}],
	    "jobs": []}, indent=1, sort_keys=True))
	PY
	psql -X -q -v ON_ERROR_STOP=1 -v rec="$(base64 -w0 rec.json)" "$CONN" <<-SQL
	INSERT INTO evidence (flight, branch, tree, revision, pushed, record, sha256)
	VALUES ($1, 'mv', 'minivisor', '$2', true,
	        convert_from(decode(:'rec', 'base64'), 'UTF8'),
	        '$(sha256sum rec.json | cut -d" " -f1)')
	SQL
}

test_expect_success 'browser: the branch page leads to its last evidence record, printable' '
	F1=$(q "INSERT INTO flights (branch, intent, status, verdict, pushed) VALUES (\$\$mv\$\$, \$\$gate\$\$, \$\$finished\$\$, \$\$push\$\$, true) RETURNING id") &&
	F2=$(q "INSERT INTO flights (branch, intent, status, verdict, pushed) VALUES (\$\$mv\$\$, \$\$gate\$\$, \$\$finished\$\$, \$\$push\$\$, true) RETURNING id") &&
	evidence_record $F1 1111111111111111111111111111111111111111 unverified &&
	evidence_record $F2 2222222222222222222222222222222222222222 verified &&
	browser evidence HANGAR_EV_FLIGHT=$F2 HANGAR_EV_REQ=MV-BOOT-1 \
		HANGAR_EV_TITLE="Boots <b>fast</b>"
'

test_done
