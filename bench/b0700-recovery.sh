#!/bin/sh
# Recovery after faults (issue 18). A one-host simulated lab with the
# scheduler, a worker (lease 5 s), the gate and the web as daemons.
# 1. A worker's death: a job runs a long step, the worker is killed with
#    kill -9 and started again; the time from the kill to the job's host
#    being free (its allocation released), and that less the lease.
#    Goal: within a few seconds of the lease's expiry.
# 2. The database's return: the private cluster stopped for 5 s, then
#    started; the time from its start to each daemon's first new session
#    (pg_stat_activity, by application_name). The back-off after 5 s
#    down is 4 s (+25 % jitter) at most; the worker's stays under a
#    quarter of its lease.
# 5 rounds each; medians.
set -eu
NET=127.66.0
N=5
LEASE=5
LAB_BENCH_DIR=$(dirname "$0")
. "$LAB_BENCH_DIR/lib-lab.sh"
q() { psql -X -q -At "host=$dir/state/pg dbname=hangar user=hangar" -c "$1"; }
now() { date +%s.%N; }

"$LAB" create "$dir/lab" --net $NET b1:x86_64 >/dev/null
"$LAB" start "$dir/lab" >/dev/null
mkdir "$dir/tree"
git -C "$dir/tree" init -q -b master
git -C "$dir/tree" -c user.name=b -c user.email=b@b commit -q --allow-empty -m empty
cat >"$dir/lab.conf" <<CONF
[lab]
	state = $dir/state
	identity = $dir/lab/id_ed25519
	listen = 127.0.0.1:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
[include]
	path = $dir/lab/hosts.conf
[scheduler]
	interval = 60s
[worker]
	slots = 1
	heartbeat = 1s
	lease = ${LEASE}s
[tree "t"]
	url = $dir/tree
[job "long"]
	recipe = long
	arch = x86_64
[recipe "long"]
	step = run long sleep 6177
CONF
h lab apply "$dir/lab.conf" >/dev/null
start() { # DAEMON
	"$HANGAR" --config "$dir/lab.conf" "$1" >>"$dir/$1.log" 2>&1 &
	echo $! >"$dir/$1.pid"
}
for d in scheduler worker gate web; do
	start $d
done
# until: COMMAND succeeds, polled every 20 ms (at most 60 s)
until_ok() {
	i=0
	until eval "$1" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 3000 ] || { echo "timed out: $1" >&2; return 1; }
		sleep 0.02
	done
}
median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: >"$dir/free.txt"
i=0
while [ $i -lt $N ]; do
	f=$(h request --rev t=master --job long | sed -n 's/^flight //p')
	until_ok "test \"\$(q \"SELECT status FROM steps WHERE flight=$f\")\" = running"
	t0=$(now)
	kill -9 "$(cat "$dir/worker.pid")"
	until_ok "test \"\$(q \"SELECT count(*) FROM allocations WHERE flight=$f AND released_at IS NULL\")\" = 0"
	t1=$(now)
	echo "$t0 $t1" | awk '{ printf "%.3f\n", $2 - $1 }' >>"$dir/free.txt"
	pkill -f "sleep 6177" || true
	start worker
	i=$((i + 1))
done
free=$(median <"$dir/free.txt")
echo "worker killed -> its host free: median $free s (lease $LEASE s; $(echo "$free $LEASE" | awk '{ printf "%.2f", $1 - $2 }') s after it expired), $N rounds"

for d in scheduler worker gate web; do
	: >"$dir/back-$d.txt"
done
i=0
while [ $i -lt $N ]; do
	h db stop >/dev/null
	sleep 5
	h db start >/dev/null
	# each daemon's first session since the start, from the server's clock
	sleep 12
	q "SELECT split_part(application_name, ' ', 2),
	          extract(epoch FROM min(backend_start) - pg_postmaster_start_time())
	   FROM pg_stat_activity WHERE application_name ~ '^hangar (scheduler|worker|gate|web) '
	   GROUP BY 1" | while IFS='|' read -r d secs; do
		echo "$secs" >>"$dir/back-$d.txt"
	done
	i=$((i + 1))
done
for d in scheduler worker gate web; do
	if [ -s "$dir/back-$d.txt" ]; then
		echo "database back -> $d's first session: median $(median <"$dir/back-$d.txt") s, $(wc -l <"$dir/back-$d.txt") rounds (down 5 s)"
	else
		echo "database back -> $d: no session seen"
	fi
done
