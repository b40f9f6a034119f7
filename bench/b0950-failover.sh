#!/bin/sh
# Failover and synchronous commit (issue 23). Two private clusters on
# one machine, a primary and its streaming standby; the scheduler, a
# worker, the gate and the web against both ([lab] database names the
# two, target_session_attrs=read-write). Real commits (no HANGAR_PG_FAST:
# fsync on), as a lab runs.
# 1. Failover: the primary stopped with pg_ctl -m immediate and the
#    standby promoted at once; the time from the stop to each daemon's
#    first write on the new primary (its db_reconnects row). Then the old
#    primary is made a standby of the new one, and round again.
# 2. The cost of synchronous commit, beside asynchronous in one run,
#    alternating: the primary restarted with and without
#    db-synchronous-standby (synchronous_commit = remote_apply, or on:
#    the local flush only). Measured: a job of 40 one-line steps (the
#    worker records each step's start and end: 80 commits and more),
#    from the request to its end in the database; and the scheduler's
#    planning pass (hangar scheduler --bench, which writes its plan).
# N rounds each; medians.
set -eu
N=${N:-5}
NET=127.67.0
LAB_BENCH_DIR=$(dirname "$0")
. "$LAB_BENCH_DIR/lib-lab.sh"
unset HANGAR_PG_FAST
PGBIN=${HANGAR_PG_BINDIR:-/usr/lib/postgresql/15/bin}
A=$dir/a
B=$dir/b
now() { date +%s.%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
qa() { psql -X -q -At "host=$dir/$1/pg dbname=hangar user=hangar" -c "$2"; }
q() { psql -X -q -At "host=$A/pg,$B/pg dbname=hangar user=hangar target_session_attrs=read-write" -c "$1"; }
pgctl() { runuser -u "${HANGAR_PG_USER:-hangar}" -- "$PGBIN/pg_ctl" "$@" >/dev/null; }
conf() { # NAME [SYNC]
	printf '[lab]\n\tstate = %s/%s\n' "$dir" "$1" >"$dir/$1.conf"
	[ -z "${2:-}" ] || printf '\tdb-synchronous-standby = %s\n' "$2" >>"$dir/$1.conf"
}
other() { [ "$1" = a ] && echo b || echo a; }

"$LAB" create "$dir/lab" --net $NET b1:x86_64 >/dev/null
"$LAB" start "$dir/lab" >/dev/null
mkdir "$dir/tree"
git -C "$dir/tree" init -q -b master
git -C "$dir/tree" -c user.name=b -c user.email=b@b commit -q --allow-empty -m empty
steps=$(for i in $(seq 40); do printf '\tstep = run s%d true\n' "$i"; done)
cat >"$dir/lab.conf" <<CONF
[lab]
	state = $dir/state
	database = host=$A/pg,$B/pg dbname=hangar user=hangar target_session_attrs=read-write connect_timeout=5
	identity = $dir/lab/id_ed25519
	listen = 127.0.0.1:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
[include]
	path = $dir/lab/hosts.conf
[scheduler]
	interval = 60s
[worker]
	slots = 1
	heartbeat = 1s
	lease = 10s
[tree "t"]
	url = $dir/tree
[job "steps"]
	recipe = steps
	arch = x86_64
[recipe "steps"]
$steps
CONF
conf a
"$HANGAR" --config "$dir/a.conf" db start >/dev/null
h db migrate >/dev/null
conf b
"$HANGAR" --config "$dir/b.conf" db standby --from "host=$A/pg user=hangar application_name=b" >/dev/null
conf a b
"$HANGAR" --config "$dir/a.conf" db stop >/dev/null
"$HANGAR" --config "$dir/a.conf" db start >/dev/null
h lab apply "$dir/lab.conf" >/dev/null
cleanup_clusters() {
	pgctl -D "$A/pg" -m immediate stop 2>/dev/null || true
	pgctl -D "$B/pg" -m immediate stop 2>/dev/null || true
}
trap 'cleanup_clusters; cleanup' EXIT
for d in scheduler worker gate web; do
	setsid "$HANGAR" --config "$dir/lab.conf" $d >>"$dir/$d.log" 2>&1 &
	echo $! >"$dir/$d.pid"
done
sleep 3

# 1. failover
primary=a
echo "failover: the primary stopped (-m immediate), the standby promoted at once"
for r in $(seq "$N"); do
	standby=$(other $primary)
	t0=$(now)
	pgctl -D "$dir/$primary/pg" -m immediate stop
	"$HANGAR" --config "$dir/$standby.conf" db promote >/dev/null
	tp=$(now)
	# every daemon's first write after the stop
	i=0
	while [ "$(qa $standby "SELECT count(*) FROM db_reconnects WHERE extract(epoch FROM last_at) > $t0" 2>/dev/null || echo 0)" -lt 4 ] &&
		[ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo "$tp - $t0" | bc >>"$dir/promote.t"
	qa $standby "SELECT daemon || ' ' || (extract(epoch FROM last_at) - $t0) FROM db_reconnects
		     WHERE extract(epoch FROM last_at) > $t0" >>"$dir/failover.t"
	# the old primary, a standby of the new one (waited for)
	rm -rf "$dir/$primary/pg"
	conf $primary
	"$HANGAR" --config "$dir/$primary.conf" db standby --from "host=$dir/$standby/pg user=hangar application_name=$primary" >/dev/null
	conf $standby $primary
	"$HANGAR" --config "$dir/$standby.conf" db stop >/dev/null
	"$HANGAR" --config "$dir/$standby.conf" db start >/dev/null
	primary=$standby
	sleep 3
done
printf '  %-10s %s\n' promote "$(median <"$dir/promote.t") s (median of $N: pg_promote, waited)"
for d in scheduler worker gate web; do
	printf '  %-10s %s s to its first write on the new primary (median of %s)\n' "$d" \
		"$(awk -v d=$d '$1 == d { print $2 }' "$dir/failover.t" | median)" \
		"$(awk -v d=$d '$1 == d' "$dir/failover.t" | wc -l)"
done

# 2. synchronous against asynchronous commit
standby=$(other $primary)
run_job() {
	f=$(h request --rev t=master --job steps | sed -n 's/^flight //p' | head -n 1)
	t=$(now)
	i=0
	while [ "$(q "SELECT status FROM jobs WHERE flight=$f")" != pass ] && [ $i -lt 1200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	q "SELECT extract(epoch FROM max(finished_at) - min(started_at)) FROM steps WHERE flight=$f"
}
echo "commits: synchronous (remote_apply) beside asynchronous (on, local flush), alternating"
for r in $(seq "$N"); do
	for mode in async sync; do
		if [ $mode = sync ]; then conf $primary $standby; else conf $primary; fi
		"$HANGAR" --config "$dir/$primary.conf" db stop >/dev/null
		"$HANGAR" --config "$dir/$primary.conf" db start >/dev/null
		sleep 2
		run_job >>"$dir/job.$mode"
		h scheduler --bench 20 | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["pass_ms"], d["inc_pass_ms"])' >>"$dir/pass.$mode"
	done
done
for mode in async sync; do
	printf '  %-6s 40 steps recorded in %s s; scheduler pass %s ms full, %s ms incremental (medians of %s)\n' $mode \
		"$(median <"$dir/job.$mode")" "$(cut -d' ' -f1 "$dir/pass.$mode" | median)" \
		"$(cut -d' ' -f2 "$dir/pass.$mode" | median)" "$N"
done
