# lib-gate-history.sh — a hand-made gate history of the branch xen-unstable,
# shared by the tests that judge or show it (t0700 reports, t0810 browser).
#
# Source it after lib-test.sh:
#
#   . "$(dirname "$0")/lib-gate-history.sh"
#   { printf '[lab]\n\tstate = %s\n' "$STATE"; gate_history_conf; } >lab.conf
#   gate_history_sql >history.sql
#   h lab apply lab.conf && psql ... -f history.sql
#
#   gate_history_conf   prints the lab.conf sections of the history: tree
#                       "xen" (url /nonexistent.git: nothing is fetched),
#                       branch "xen-unstable" with its allow list, the job
#                       build-amd64 and its recipe
#   gate_history_sql    prints the SQL that inserts the finished gate flights
#                       90 and 100-106 with their jobs and steps, and moves
#                       flights_id_seq to 1000 (new flights are 1001, ...)
#
# The flights (all intent gate, status finished, verdict none, a day old):
#   90         $OTHER, where test-untested, test-like, test-notrun passed
#   100, 102   two baseline flights of $OLD
#   101        $NEW against $OLD: the flight under test, with a regression
#              of each kind (test-amd64-amd64-xl guest-start is
#              "REGR. vs. 100"), see t0700
#   103        $NEW again, where test-heisen passed
#   104        $NEW2: only failures like the baseline's
#   105        $NEW2: all pass
#   106        $NEW3: a job broken where the baseline passed, nothing else
#   107, 108   $NEW4: 108 fails test-seq boot, which passed in 107; 107
#              failed the later step migrate, which passed in the baseline
#              (a heisenbug whose flight brings a regression: no push)
#   109, 110   $NEW5: the same with 109's later failure like the baseline's
#              (tolerable)
#   111-113    $NEW6: 113 fails boot, which passed in 112; 112 failed
#              migrate, which passed in 111; 111 failed reboot, which
#              never passed (OSSTest's recursion through heisen flights)
#   114-116    $NEW7: 116 fails boot of test-seq and test-seq2, both passed
#              in 115; 115 failed migrate (passed in 114) and test-t boot
#              (passed in 116 itself); 114 failed test-cyc reboot (passed
#              in 115): every flight is judged once, the cycle ends
#   117, 118   $NEW8: 118 fails test-seq boot, which passed only in 117,
#              a flight still running: no heisenbug

OLD=$(printf 'a%.0s' $(seq 40))
NEW=$(printf 'b%.0s' $(seq 40))
OTHER=$(printf 'c%.0s' $(seq 40))
NEW2=$(printf 'd%.0s' $(seq 40))
NEW3=$(printf 'e%.0s' $(seq 40))
NEW4=$(printf 'f%.0s' $(seq 40))
NEW5=$(printf '1%.0s' $(seq 40))
NEW6=$(printf '2%.0s' $(seq 40))
NEW7=$(printf '3%.0s' $(seq 40))
NEW8=$(printf '4%.0s' $(seq 40))

gate_history_conf() {
	cat <<'CONF'
[tree "xen"]
	url = /nonexistent.git
[branch "xen-unstable"]
	tree = xen
	jobs = build-amd64
	allow = test-@@-rtds@@
	allow = test-@@-credit2
	allow = !test-@@-credit2
[recipe "build"]
	step = build make
[job "build-amd64"]
	recipe = build
	arch = x86_64
CONF
}

# SQL for a finished gate flight of xen-unstable: flight ID REV [TARGET]
_gate_history_flight() {
	local target=NULL
	[ -z "${3:-}" ] || target="'$3'"
	echo "INSERT INTO flights (id, branch, intent, status, verdict, target_revision, started_at)
	      VALUES ($1, 'xen-unstable', 'gate', 'finished', 'none', $target, now() - interval '1 day');
	      INSERT INTO flight_revisions VALUES ($1, 'xen', '$2');"
}

# a job with its steps: job FLIGHT JOB STATUS [STEP=STATUS]...
_gate_history_job() {
	local f=$1 j=$2 st=$3 n=1 s
	shift 3
	echo "INSERT INTO jobs (flight, job, recipe, arch, status) VALUES ($f, '$j', 'test', 'x86_64', '$st');"
	for s in "$@"; do
		echo "INSERT INTO steps (flight, job, stepno, kind, name, status)
		      VALUES ($f, '$j', $n, 'run', '${s%%=*}', '${s#*=}');"
		n=$((n + 1))
	done
}

gate_history_sql() {
	local flight=_gate_history_flight job=_gate_history_job
	# 90: an older revision, where these passed once
	$flight 90 "$OTHER"
	$job 90 test-untested pass guest-start=pass
	$job 90 test-like pass guest-start=pass
	$job 90 test-notrun pass guest-start=pass
	$job 90 test-seq2 pass boot=pass migrate=pass
	# 100 and 102: two baseline flights of OLD
	$flight 100 "$OLD"
	$job 100 build-amd64 pass build=pass
	$job 100 build-armhf pass build=pass
	$job 100 build-arm64 pass build=pass
	$job 100 test-amd64-amd64-xl pass host-install=pass guest-start=pass
	$job 100 test-like fail guest-start=fail
	$job 100 test-three pass guest-start=pass
	$job 100 test-broken pass guest-start=pass
	$job 100 test-heisen pass guest-start=pass
	$job 100 test-amd64-amd64-xl-rtds pass guest-start=pass
	$job 100 test-amd64-amd64-xl-credit2 pass guest-start=pass
	$job 100 test-nostep pass guest-start=pass
	$job 100 test-notrun blocked
	$job 100 test-seq pass boot=pass migrate=pass
	$job 100 test-seq2 fail boot=pass migrate=fail
	$job 100 test-cyc pass reboot=pass
	$job 100 test-t pass boot=pass
	$flight 102 "$OLD"
	$job 102 test-three fail guest-start=fail
	$job 102 build-arm64 fail build=fail
	# 101: the flight under test (NEW, compared with OLD)
	$flight 101 "$NEW" "$OLD"
	$job 101 build-amd64 pass build=pass
	$job 101 build-armhf fail build=fail
	$job 101 build-arm64 fail build=fail
	$job 101 test-amd64-amd64-xl fail host-install=pass guest-start=fail
	$job 101 test-like fail guest-start=fail
	$job 101 test-three fail guest-start=fail
	$job 101 test-never fail migrate-support-check=fail
	$job 101 test-untested fail guest-start=fail
	$job 101 test-armhf-armhf-xl blocked
	$job 101 test-broken broken guest-start=broken
	$job 101 test-nostep broken
	$job 101 test-heisen fail guest-start=fail
	$job 101 test-amd64-amd64-xl-rtds fail guest-start=fail
	$job 101 test-amd64-amd64-xl-credit2 fail guest-start=fail
	$job 101 test-starved starved
	$job 101 test-notrun fail guest-start=fail
	# 103: the same NEW again, where test-heisen passed
	$flight 103 "$NEW" "$OLD"
	$job 103 test-heisen pass guest-start=pass
	$job 103 test-like fail guest-start=fail
	# 104: only failures like the baseline's
	$flight 104 "$NEW2" "$OLD"
	$job 104 build-amd64 pass build=pass
	$job 104 test-like fail guest-start=fail
	# 105: all pass
	$flight 105 "$NEW2" "$OLD"
	$job 105 build-amd64 pass build=pass
	# 106: lab trouble where the baseline passed, nothing else
	$flight 106 "$NEW3" "$OLD"
	$job 106 build-amd64 pass build=pass
	$job 106 test-broken broken guest-start=broken
	# 107, 108: a heisenbug whose other flight regressed a later step
	$flight 107 "$NEW4" "$OLD"
	$job 107 test-seq fail boot=pass migrate=fail
	$flight 108 "$NEW4" "$OLD"
	$job 108 test-seq fail boot=fail
	# 109, 110: the same, the later step failing like the baseline
	$flight 109 "$NEW5" "$OLD"
	$job 109 test-seq2 fail boot=pass migrate=fail
	$flight 110 "$NEW5" "$OLD"
	$job 110 test-seq2 fail boot=fail
	# 111-113: heisen flights of heisen flights
	$flight 111 "$NEW6" "$OLD"
	$job 111 test-seq fail boot=pass migrate=pass reboot=fail
	$flight 112 "$NEW6" "$OLD"
	$job 112 test-seq fail boot=pass migrate=fail
	$flight 113 "$NEW6" "$OLD"
	$job 113 test-seq fail boot=fail
	# 114-116: heisen flights that justify each other
	$flight 114 "$NEW7" "$OLD"
	$job 114 test-seq pass boot=pass migrate=pass
	$job 114 test-cyc fail reboot=fail
	$flight 115 "$NEW7" "$OLD"
	$job 115 test-seq fail boot=pass migrate=fail
	$job 115 test-seq2 pass boot=pass migrate=pass
	$job 115 test-cyc pass reboot=pass
	$job 115 test-t fail boot=fail
	$flight 116 "$NEW7" "$OLD"
	$job 116 test-seq fail boot=fail
	$job 116 test-seq2 fail boot=fail
	$job 116 test-t pass boot=pass
	# 117, 118: the only pass is in a flight still running
	$flight 117 "$NEW8" "$OLD"
	$job 117 test-seq running boot=pass migrate=running
	echo "UPDATE flights SET status = 'running' WHERE id = 117;"
	$flight 118 "$NEW8" "$OLD"
	$job 118 test-seq fail boot=fail
	echo "SELECT setval('flights_id_seq', 1000);"
}
