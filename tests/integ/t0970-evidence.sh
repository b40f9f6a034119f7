#!/bin/bash
# Safety evidence (issue 24, docs/evidence.md) on a real lab: each pushed
# revision gets a signed record that `hangar evidence verify` and plain
# ssh-keygen accept, that one altered byte (of the record or of a log it
# names) makes fail, and that a rebuild from the database gives again
# byte for byte. A commit removing a test case leaves its requirement
# unverified in the next record, the previous one unchanged; the evidence
# table refuses changes; a push whose record could not be made gets it on
# a later cycle, once. lab check reports the requirements file's findings.
. "$(dirname "$0")/lib-test.sh"
. "$SRCDIR/tests/integ/lib-lab.sh"
T=$TEST_DIR/trees
BARE=$T/minivisor.git
WORK=$T/minivisor
KEY=$TEST_DIR/evidence_ed25519

"$LAB" create "$L" --net "$NET" tx:x86_64 >/dev/null
"$DEMO_TREE" create "$T" >base.rev
ssh-keygen -q -t ed25519 -N '' -C evidence@test -f "$KEY" </dev/null
cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $L/id_ed25519
[include]
	path = $L/hosts.conf
[scheduler]
	interval = 1s
[worker]
	slots = 2
	heartbeat = 1s
	lease = 10s
[gate]
	interval = 1s
	retest = false
	bisect = false
[tree "minivisor"]
	url = $BARE
[branch "minivisor"]
	tree = minivisor
	jobs = build-amd64 test-cases
[job "build-amd64"]
	recipe = build
	arch = x86_64
[job "test-cases"]
	recipe = cases
	arch = x86_64
[recipe "build"]
	step = build make dist
	artifacts = dist/*.tar.gz
[recipe "cases"]
	step = run cases=hangar suite $TEST_DIR/suite.sh
[requirements]
	tree = minivisor
	file = REQUIREMENTS
[evidence]
	key = $KEY
	signer = evidence@test
CONF
# the cases are those the tested revision's tests/cases lists (add and
# mul before it has one): a commit removes a case by removing its line
cat >suite.sh <<SUITE
#!/bin/bash
cases=\$(git --git-dir=$BARE show "\$HANGAR_REVISION_MINIVISOR:tests/cases" 2>/dev/null || echo add mul)
echo "HANGAR-CASES \$(echo \$cases | wc -w)"
for c in \$cases; do echo "HANGAR-CASE \$c pass"; done
SUITE
chmod +x suite.sh

commit() { # MSG: commits the work clone's changes to staging, prints the id
	git -C "$WORK" add -A &&
	git -C "$WORK" -c user.name=t -c user.email=t@example.org commit -q -m "$1" &&
	git -C "$WORK" push -q origin HEAD:refs/heads/staging &&
	git -C "$WORK" rev-parse HEAD
}
status_of() { # FILE ID: the requirement's status in the record FILE
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print([r[\"status\"] for r in d[\"requirements\"] if r[\"id\"] == sys.argv[2]][0])" "$1" "$2"
}
ev_count() { q "SELECT count(*) FROM evidence WHERE flight = $1"; }

test_expect_success 'a pushed revision has a signed record' '
	"$LAB" start "$L" >lab.log &&
	h lab apply lab.conf >/dev/null &&
	start_daemon scheduler && start_daemon worker && start_daemon gate &&
	wait_decided "$(cat base.rev)" base.out && cat base.out &&
	cat >"$WORK/REQUIREMENTS" <<-REQS &&
	# the requirements of this test
	requirement MV-ADD     minivisor adds
	requirement MV-MUL     minivisor multiplies
	requirement MV-BUILD   the tree builds
	requirement MV-NONE    nothing runs a test of this
	test test-cases suite/add MV-ADD
	test test-cases suite/mul MV-MUL
	test build-* build MV-BUILD
	test test-cases suite/div MV-TYPO
	test nosuch-* smoke MV-NONE
	REQS
	mkdir -p "$WORK/tests" && printf "add\nmul\n" >"$WORK/tests/cases" &&
	commit "requirements and their cases" >c1.rev &&
	wait_decided "$(cat c1.rev)" c1.out && cat c1.out &&
	grep -q " push pushed$" c1.out && read F1 V <c1.out && echo $F1 >f1 &&
	wait_for "test \"\$(ev_count $F1)\" = 1" 30 &&
	test "$(q "SELECT signer || (signature IS NOT NULL) FROM evidence WHERE flight = $F1")" = "evidence@testtrue" &&
	h evidence show "$(cut -c1-10 c1.rev)" --out ev1.json >out1 && cat out1 &&
	test -s ev1.json.sig && test -s ev1.json.allowed_signers &&
	test "$(status_of ev1.json MV-ADD)" = verified &&
	test "$(status_of ev1.json MV-MUL)" = verified &&
	test "$(status_of ev1.json MV-BUILD)" = verified &&
	test "$(status_of ev1.json MV-NONE)" = unverified &&
	python3 - "$(cat c1.rev)" <<-PY
	import json, sys
	d = json.load(open("ev1.json"))
	assert d["schema"] == "hangar-evidence/1" and d["pushed"] and d["verdict"] == "push", d
	assert d["revision"] == sys.argv[1] and d["revisions"] == {"minivisor": sys.argv[1]}, d
	assert d["requirements_error"] is None and d["requirements_source"]["revision"] == sys.argv[1]
	assert [j["job"] for j in d["jobs"]] == ["build-amd64", "test-cases"]
	b, t = d["jobs"]
	assert b["artifacts"] and b["artifacts"][0]["path"] == "dist/minivisor.tar.gz", b
	assert t["hosts"][0]["name"] == "tx" and t["hosts"][0]["role"] == "host", t
	steps = [s["step"] for s in t["steps"]]
	assert "suite/add" in steps and "suite/mul" in steps, steps
	assert all(s["log"] is None or len(s["log"]["sha256"]) == 64 for s in t["steps"])
	assert t["logs"] and [l["path"] for l in t["logs"]] == sorted(l["path"] for l in t["logs"])
	add = [r for r in d["requirements"] if r["id"] == "MV-ADD"][0]
	assert add["evidence"] == [{"job": "test-cases", "step": "suite/add", "status": "pass"}], add
	PY
'

test_expect_success 'evidence verify and plain ssh-keygen accept it' '
	h evidence verify ev1.json >v1.out && cat v1.out &&
	grep -q "^signature: good" v1.out && grep -q " 0 bad" v1.out &&
	ssh-keygen -Y verify -f ev1.json.allowed_signers -I evidence@test \
		-n hangar-evidence -s ev1.json.sig <ev1.json &&
	h evidence show --flight "$(cat f1)" --json | cmp - ev1.json &&
	cp -r "$STATE/logs" logs.copy &&
	"$HANGAR" --config "$TEST_DIR/none.conf" evidence verify ev1.json \
		--logs logs.copy >v1n.out 2>v1n.err && cat v1n.out v1n.err &&
	grep -q " 0 bad (artifacts not checked: no lab configuration)" v1n.out &&
	test ! -s v1n.err
'

test_expect_success 'one byte altered in the record: both fail' '
	cp ev1.json bad.json && cp ev1.json.sig bad.json.sig &&
	cp ev1.json.allowed_signers bad.json.allowed_signers &&
	sed -i "0,/verified/s//verifieD/" bad.json && ! cmp -s bad.json ev1.json &&
	{ h evidence verify bad.json >vb.out; test $? = 1; } && cat vb.out &&
	grep -q "^signature: FAILED" vb.out &&
	! ssh-keygen -Y verify -f bad.json.allowed_signers -I evidence@test \
		-n hangar-evidence -s bad.json.sig <bad.json
'

test_expect_success 'a record altered and signed again with another key: verify fails' '
	ssh-keygen -q -t ed25519 -N "" -C forger -f forger </dev/null &&
	cp ev1.json forged.json &&
	sed -i "0,/verified/s//verifieD/" forged.json &&
	ssh-keygen -q -Y sign -f forger -n hangar-evidence forged.json </dev/null &&
	echo "evidence@test namespaces=\"hangar-evidence\" $(cut -d" " -f1,2 forger.pub)" \
		>forged.json.allowed_signers &&
	{ h evidence verify forged.json >vf.out; test $? = 1; } && cat vf.out &&
	grep -q "^signature: FAILED" vf.out &&
	h evidence verify forged.json --allowed-signers forged.json.allowed_signers \
		--no-files >vf2.out && grep -q "^signature: good" vf2.out
'

test_expect_success 'one byte altered in a log: verify names it' '
	LOG=$(python3 -c "import json; d=json.load(open(\"ev1.json\")); print([s for s in d[\"jobs\"][1][\"steps\"] if s[\"step\"] == \"suite\"][0][\"log\"][\"path\"])") &&
	test -f "$STATE/logs/$LOG" && cp "$STATE/logs/$LOG" log.orig &&
	printf X | dd of="$STATE/logs/$LOG" bs=1 seek=3 conv=notrunc 2>/dev/null &&
	! cmp -s log.orig "$STATE/logs/$LOG" &&
	{ h evidence verify ev1.json >vl.out; test $? = 1; } && cat vl.out &&
	grep -q "^signature: good" vl.out &&
	grep -q "^file: FAILED: log $LOG: sha256" vl.out &&
	cp log.orig "$STATE/logs/$LOG" &&
	h evidence verify ev1.json >/dev/null
'

test_expect_success 'a rebuild from the database is identical' '
	h evidence rebuild "$(cat c1.rev)" >rb.out && cat rb.out &&
	grep -q "^identical" rb.out &&
	h evidence rebuild "$(cat c1.rev)" --json | cmp - ev1.json
'

test_expect_success 'late-A/ bytes of a lost job come after the record: left out' '
	LATE="$STATE/logs/$(cat f1)/test-cases/late-1" &&
	mkdir -p "$LATE" && echo "a late chunk" >"$LATE/1.suite.log" &&
	h evidence rebuild "$(cat c1.rev)" >rbl.out && cat rbl.out &&
	grep -q "^identical" rbl.out &&
	h evidence verify ev1.json >vlate.out && grep -q " 0 bad" vlate.out &&
	rm -r "$LATE"
'

test_expect_success 'the evidence table refuses UPDATE and DELETE' '
	! q "UPDATE evidence SET pushed = false WHERE flight = $(cat f1)" 2>upd.err &&
	grep -q immutable upd.err &&
	! q "DELETE FROM evidence WHERE flight = $(cat f1)" 2>del.err &&
	grep -q immutable del.err && test "$(ev_count $(cat f1))" = 1
'

test_expect_success 'lab check: the findings of the requirements file' '
	h lab check lab.conf >lc.out && cat lc.out &&
	grep -q "4 requirements, 5 test lines, 3 warnings" lc.out &&
	grep -q "warning: MV-NONE (line 5): not verified by any test" lc.out &&
	grep -q "unknown id .MV-TYPO." lc.out &&
	grep -q "line 10: test .nosuch-\* smoke. matches no job of any branch" lc.out &&
	h lab check lab.conf --json >lc.json &&
	python3 -c "import json; d=json.load(open(\"lc.json\")); k=sorted(f[\"kind\"] for f in d[\"requirements\"][\"findings\"]); assert k == [\"no-job\", \"unknown-id\", \"unverified\"], k" &&
	printf "[lab]\n\tstate = %s\n[requirements]\n\tfile = bad.req\n" "$STATE" >bad.conf &&
	printf "requirement A one\ntset x y A\n" >bad.req &&
	{ "$HANGAR" lab check bad.conf >bc.out 2>bc.err; test $? = 2; } &&
	cat bc.err && grep -q "bad.req:2: unknown keyword .tset." bc.err
'

test_expect_success 'a removed test case: unverified in the next record only, and the report says so' '
	printf "add\n" >"$WORK/tests/cases" &&
	commit "drop the mul case" >c2.rev &&
	wait_decided "$(cat c2.rev)" c2.out && cat c2.out &&
	grep -q " push pushed$" c2.out && read F2 V <c2.out &&
	wait_for "test \"\$(ev_count $F2)\" = 1" 30 &&
	h evidence show "$(cat c2.rev)" --json >ev2.json &&
	test "$(status_of ev2.json MV-MUL)" = unverified &&
	test "$(status_of ev2.json MV-ADD)" = verified &&
	h evidence show --flight "$(cat f1)" --json >ev1again.json &&
	cmp ev1.json ev1again.json && test "$(status_of ev1again.json MV-MUL)" = verified &&
	h flight report $F2 >rep2.out && sed -n "/^Requirements:/,\$p" rep2.out >req2.out &&
	cat req2.out && grep -A2 "no longer verified" req2.out | grep -q MV-MUL &&
	! grep -A2 "no longer verified" req2.out | grep -q MV-ADD &&
	h evidence diff "$(cat c2.rev)" --json >diff2.json &&
	python3 -c "import json; d=json.load(open(\"diff2.json\")); assert d[\"no_longer_verified\"] == [\"MV-MUL\"] and d[\"from\"][\"flight\"] == $(cat f1), d" &&
	h evidence diff "$(cat c1.rev)" "$(cat c2.rev)" >diff2.txt && grep -q MV-MUL diff2.txt &&
	h evidence show "$(cat c2.rev)" --html >ev2.html &&
	grep -q "<html" ev2.html && grep -q MV-MUL ev2.html
'

test_expect_success 'a push whose record failed gets it on a later cycle, once' '
	mv "$KEY" "$KEY.away" &&
	echo more >>"$WORK/NEWS" && commit "news" >c3.rev &&
	wait_decided "$(cat c3.rev)" c3.out && cat c3.out &&
	grep -q " push pushed$" c3.out && read F3 V <c3.out &&
	wait_for "grep -q \"flight=$F3: no evidence record yet\" gate.log" 30 &&
	test "$(ev_count $F3)" = 0 &&
	mv "$KEY.away" "$KEY" &&
	wait_for "test \"\$(ev_count $F3)\" = 1" 30 &&
	sleep 3 &&
	test "$(grep -c "flight=$F3: evidence record stored" gate.log)" = 1 &&
	h evidence show "$(cat c3.rev)" --out ev3.json >/dev/null &&
	h evidence verify ev3.json >v3.out && cat v3.out &&
	grep -q "^signature: good" v3.out &&
	h evidence rebuild --flight $F3 | grep -q ^identical
'

test_expect_success 'evidence record on demand: an existing record is left as it is' '
	h evidence record "$(cat f1)" >rec.out 2>rec.err && cat rec.err &&
	grep -q "has a record already" rec.err && cmp rec.out ev1.json &&
	B=$(sed -n 1p base.out | cut -d" " -f1) &&
	h evidence record $B >recb.out && cat recb.out &&
	grep -q "evidence record stored" recb.out &&
	h evidence show --flight $B --json >evb.json &&
	python3 -c "import json; d=json.load(open(\"evb.json\")); assert d[\"pushed\"] is False and d[\"verdict\"] == \"no-push\", d"
'

test_done
