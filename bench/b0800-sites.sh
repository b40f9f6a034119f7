#!/bin/bash
# A remote site's worker against one beside the database, on the same
# host, in one run (issue 22). The site's host and both workers live in a
# network namespace of their own, joined to the controller's (database,
# scheduler, `hangar web` over HTTPS) by a veth pair (tests/integ/
# lib-netns.sh); the worker beside the database reaches it through its
# Unix socket and writes the state directory itself, the remote one goes
# through the controller's HTTPS API. Alternating, RUNS times each:
#   - a job that writes a LOG_MB MiB step log: its run time, remote and
#     local; the difference is what shipping the log cost;
#   - a build whose artifact is ART_MB MiB: the same;
#   - the upload alone: a PUT of the artifact's bytes to the controller's
#     blob store from the site (curl: libcurl and GnuTLS, as the worker),
#     each run's bytes made unique, against scp of the same bytes from the
#     site to the controller over the same veth (OpenSSH, the anchor);
#   - claim to first step: from the job's allocation to its first step's
#     start, remote and local;
# and the controller's CPU (the web server's) per idle remote worker, over
# IDLE_SECS with IDLE_WORKERS idle workers against none.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -eu -o pipefail
HANGAR=${HANGAR:-$(pwd)/hangar}
SRC=$(cd "$(dirname "$0")/.." && pwd)
LAB=$SRC/hosts/lab/lab.sh
RUNS=${RUNS:-3}
LOG_MB=${LOG_MB:-32}   # under [worker] max-log (64 MiB), which caps a step log
ART_MB=${ART_MB:-128}
IDLE_WORKERS=${IDLE_WORKERS:-8}
IDLE_SECS=${IDLE_SECS:-20}
export HANGAR_PG_FAST=1

if [ "$(id -u)" != 0 ] || ! command -v ipmi_sim >/dev/null 2>&1 ||
	! command -v ip >/dev/null 2>&1 || ! command -v openssl >/dev/null 2>&1; then
	echo "skipped: needs root (namespaces, sshd on port 22), ip, openssl and ipmi_sim"
	exit 0
fi
. "$SRC/tests/integ/lib-netns.sh"
dir=$(mktemp -d /tmp/hangar-bench.XXXXXX)
chmod 755 "$dir"
cd "$dir"
STATE=$dir/state
CONN="host=$STATE/pg dbname=hangar user=hangar"
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$CONN" -c "$1"; }
h() { "$HANGAR" --config "$dir/lab.conf" "$@"; }
pids=
cleanup() {
	[ ! -f "$dir/sshd.pid" ] || pids="$pids $(cat "$dir/sshd.pid")"
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	sleep 0.5
	for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
	"$LAB" stop "$dir/lab" >/dev/null 2>&1 || true
	h db stop >/dev/null 2>&1 || true
	netns_delete >/dev/null 2>&1 || true
	cd /
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

netns_create b >/dev/null
URL=https://$CTL_ADDR:8443
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=bench-ca \
	-keyout ca.key -out ca.pem >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=$CTL_ADDR" \
	-keyout web.key -out web.csr >/dev/null 2>&1
printf 'subjectAltName=IP:%s\n' "$CTL_ADDR" >web.ext
openssl x509 -req -in web.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-days 2 -extfile web.ext -out web.pem >/dev/null 2>&1

# what the jobs write, made beforehand (the host shares this file
# system), so that the figures are the shipping's, not the writing's;
# each artifact ends with its flight's number, or the store (content
# addressed) would have it after the first run and nothing would travel
head -c $((LOG_MB * 3 / 4))M /dev/urandom | base64 -w 100 >log.bytes
head -c "${ART_MB}M" /dev/urandom >art.bytes
"$LAB" create "$dir/lab" --net 127.63.0 b1:x86_64 >/dev/null
sed -e 's/^\[host .*/&\n\tsite = b/' \
	-e 's/^\tboot-timeout = .*/&\n\tpower-cycle-time = 1/' \
	"$dir/lab/hosts.conf" >hosts-b.conf
in_ns "$NS_b" "$LAB" start "$dir/lab" >/dev/null
cat >lab.conf <<CONF
[lab]
	state = $STATE
	identity = $dir/lab/id_ed25519
	listen = $CTL_ADDR:8443
[web]
	tls-cert = $dir/web.pem
	tls-key = $dir/web.key
[include]
	path = $dir/hosts-b.conf
[scheduler]
	interval = 1s
[worker]
	slots = 1
	site = b
[job "log"]
	recipe = log
	arch = x86_64
[job "art"]
	recipe = art
	arch = x86_64
[job "tiny"]
	recipe = tiny
	arch = x86_64
[recipe "log"]
	step = run log cat $dir/log.bytes
[recipe "art"]
	step = build mkdir -p dist && cp $dir/art.bytes dist/big.bin && echo \$HANGAR_FLIGHT >>dist/big.bin
	artifacts = dist/big.bin
[recipe "tiny"]
	step = run tiny true
CONF
cat >site.conf <<CONF
[lab]
	state = $dir/site
	identity = $dir/lab/id_ed25519
[worker]
	site = b
	controller = $URL
	token-file = $dir/b.token
	ca = $dir/ca.pem
	slots = 1
CONF
# the adhoc flights below need a branch with a tree
git init -q --bare tree.git
git clone -q tree.git tree-wc 2>/dev/null
(cd tree-wc && echo x >x && git add x && git -c user.name=b -c user.email=b@b commit -qm x &&
	git push -q origin HEAD:master HEAD:staging)
cat >>lab.conf <<CONF
[tree "t"]
	url = $dir/tree.git
[branch "b"]
	tree = t
	jobs = log art tiny
CONF

h db start >/dev/null
h lab apply lab.conf >/dev/null
h token create --user site-b --role worker --site b | tail -n 1 >b.token
in_ns "$NS_CTL" setsid "$HANGAR" --config lab.conf scheduler >>scheduler.log 2>&1 &
pids="$pids $!"
in_ns "$NS_CTL" setsid "$HANGAR" --config lab.conf web >>web.log 2>&1 &
web_pid=$!
pids="$pids $web_pid"
for _ in $(seq 100); do
	in_ns "$NS_b" curl -sf --cacert ca.pem "$URL/api/v1/whoami" >/dev/null && break
	sleep 0.2
done

worker_pid=
start_worker() { # remote | local
	if [ "$1" = remote ]; then
		in_ns "$NS_b" setsid "$HANGAR" --config site.conf worker --name bench \
			>>worker-remote.log 2>&1 &
	else
		in_ns "$NS_b" setsid "$HANGAR" --config lab.conf worker \
			>>worker-local.log 2>&1 &
	fi
	worker_pid=$!
	pids="$pids $worker_pid"
	sleep 1
}
stop_worker() {
	kill "$worker_pid" 2>/dev/null || true
	wait "$worker_pid" 2>/dev/null || true
}
# runs JOB once with a MODE worker: "seconds claim_to_first_step_ms"
run_job() { # MODE JOB
	local f
	start_worker "$1"
	f=$(h request --branch b --job "$2" | sed -n 's/^flight //p')
	h flight wait "$f" --timeout 600 >/dev/null || {
		echo "flight $f failed ($1, $2)" >&2
		h flight show "$f" >&2
		tail -n 20 "worker-$1.log" >&2
		exit 1
	}
	stop_worker
	# the figures count only if everything arrived, when the job ended
	case $2 in
	log) [ "$(cat "$STATE"/logs/"$f"/log/*.log | wc -c)" -gt "$(stat -c %s log.bytes)" ] ||
		{ echo "flight $f ($1): the log did not all arrive" >&2; exit 1; } ;;
	art) sha=$(q "SELECT sha256 FROM artifacts WHERE flight = $f")
		[ "$(sha256sum <"$STATE/artifacts/sha256/${sha:0:2}/$sha" | cut -d" " -f1)" = "$sha" ] ||
		{ echo "flight $f ($1): the artifact did not arrive" >&2; exit 1; } ;;
	esac
	q "SELECT round(extract(epoch FROM j.finished_at - j.started_at)::numeric, 2)
	          || ' ' || round(extract(epoch FROM
	             (SELECT min(s.started_at) FROM steps s WHERE s.flight = j.flight AND s.job = j.job)
	             - (SELECT min(a.allocated_at) FROM allocations a WHERE a.flight = j.flight AND a.job = j.job)) * 1000)
	   FROM jobs j WHERE j.flight = $f AND j.job = '$2'"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# scp of the same bytes from the site to the controller: an sshd of the
# lab's in the controller's namespace
ssh-keygen -q -t ed25519 -N "" -f scp_host_key
cat >sshd_config <<CONF
ListenAddress $CTL_ADDR:2222
HostKey $dir/scp_host_key
AuthorizedKeysFile $dir/lab/id_ed25519.pub
StrictModes no
UsePAM no
PermitRootLogin yes
Subsystem sftp internal-sftp
PidFile $dir/sshd.pid
CONF
in_ns "$NS_CTL" /usr/sbin/sshd -f "$dir/sshd_config"
scp_secs() { # FILE
	local t0 t1
	t0=$EPOCHREALTIME
	in_ns "$NS_b" scp -q -P 2222 -i "$dir/lab/id_ed25519" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null "$1" "root@$CTL_ADDR:$dir/scp.out"
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

# a PUT of FILE's bytes (made unique by RUN) to the blob store
put_secs() { # FILE RUN
	local t0 t1 sha
	cp "$1" put.bytes && echo "$2" >>put.bytes
	sha=$(sha256sum put.bytes | cut -d" " -f1)
	t0=$EPOCHREALTIME
	in_ns "$NS_b" curl -sf --cacert ca.pem -X PUT -T put.bytes \
		-H "Authorization: Bearer $(cat b.token)" \
		-H "Content-Type: application/octet-stream" \
		"$URL/api/v1/worker/blobs/$sha" >/dev/null
	t1=$EPOCHREALTIME
	[ -f "$STATE/artifacts/sha256/${sha:0:2}/$sha" ] ||
		{ echo "PUT of $sha: not in the store" >&2; exit 1; }
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

for i in $(seq "$RUNS"); do
	for mode in remote local; do
		for job in log art tiny; do
			run_job $mode $job >"$mode-$job-$i.out"
		done
	done
	scp_secs log.bytes >"scp-log-$i.out"
	scp_secs art.bytes >"scp-art-$i.out"
	put_secs art.bytes "$i" >"put-art-$i.out"
done
kill "$(cat sshd.pid)" 2>/dev/null || true
rm -f sshd.pid

col() { # MODE JOB COLUMN: the median over the runs
	for i in $(seq "$RUNS"); do cut -d" " -f"$3" "$1-$2-$i.out"; done | median
}
runs() { for i in $(seq "$RUNS"); do cat "$1-$i.out"; echo; done | median; }
log_mb=$(stat -c %s log.bytes | awk '{ printf "%.1f", $1 / 1048576 }')
for job in log art; do
	mb=$([ $job = log ] && echo "$log_mb" || echo "$ART_MB")
	awk -v j=$job -v r="$(col remote $job 1)" -v l="$(col local $job 1)" \
		-v s="$(runs scp-$job)" -v mb="$mb" 'BEGIN {
		printf "a job writing a %s MiB %s: remote %.2f s, local %.2f s (remote/local %.2f); scp of the bytes %.2f s\n",
			mb, (j == "log" ? "step log" : "artifact"), r, l, r / l, s }'
done
awk -v p="$(runs put-art)" -v s="$(runs scp-art)" -v mb="$ART_MB" 'BEGIN {
	printf "upload of %d MiB: PUT to the controller %.2f s = %.0f MiB/s; scp %.2f s = %.0f MiB/s; PUT/scp throughput %.2f\n",
		mb, p, mb / p, s, mb / s, s / p }'
echo "claim to first step (median ms): remote $(col remote tiny 2), local $(col local tiny 2)"

# idle: the web server's CPU over IDLE_SECS, with no worker, then with
# IDLE_WORKERS idle remote workers (each long-polling for a claim)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$web_pid/stat"; }
idle_ticks() {
	local a b
	a=$(cpu_ticks)
	sleep "$IDLE_SECS"
	b=$(cpu_ticks)
	echo $((b - a))
}
base=$(idle_ticks)
for k in $(seq "$IDLE_WORKERS"); do
	# one remote worker a state directory (its spool)
	sed "s|state = $dir/site|state = $dir/idle$k|" site.conf >idle$k.conf
	in_ns "$NS_b" setsid "$HANGAR" --config idle$k.conf worker --name idle$k \
		>>worker-idle.log 2>&1 &
	pids="$pids $!"
done
sleep 3
busy=$(idle_ticks)
hz=$(getconf CLK_TCK)
seen=$(q "SELECT count(*) FROM workers WHERE name LIKE 'idle%' AND last_seen > now() - interval '1 minute'")
awk -v b="$base" -v w="$busy" -v n="$IDLE_WORKERS" -v s="$IDLE_SECS" -v hz="$hz" -v seen="$seen" 'BEGIN {
	printf "controller CPU while idle, over %d s: %.2f%% of a core with no worker, %.2f%% with %d idle remote workers (%d heard from): %.3f%% per worker\n",
		s, 100 * b / hz / s, 100 * w / hz / s, n, seen, 100 * (w - b) / hz / s / n }'
