#!/bin/sh
# A whole bisection step, as the gate daemon runs it, on real git trees of
# 256 and 4,096 commits (one culprit, 5/8 of the way up) and a private
# cluster: `hangar bisect run N` from start to exit (configuration, the
# database, the history walked with libgit2 from the gate's cache, the
# results scanned, the search, the Graphviz graph, the next flight queued
# or the outcome recorded). Each bisect flight's result is written by the
# script (no lab) from the truth: whether its revision contains the
# culprit. The regression comes from the gate as in production (a baseline
# flight that passed, a flight of the staging tip that failed), so the
# bisection starts by itself. Prints per size the flights the bisection
# needed beside log2(n), the first step (it opens the cache) and the
# median and worst of the others, and the culprit found. Takes about a
# minute.
set -eu
HANGAR=${HANGAR:-$(pwd)/build/hangar}
export HANGAR_PG_FAST=1
dir=$(mktemp -d /tmp/hangar-bench.XXXXXX)
chmod 755 "$dir"
trap '"$HANGAR" --config "$dir/lab.conf" db stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
h() { "$HANGAR" --config "$dir/lab.conf" "$@"; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 "host=$dir/state/pg dbname=hangar user=hangar" -c "$1"; }
ms() { date +%s%N | cut -c1-13; }

# tree N: DIR/tN.git, commits 0..N in a line ("change I"), master at 0,
# staging at N; DIR/tN.map maps each commit to I
tree() {
	git init -q --bare "$dir/t$1.git"
	i=0
	while [ "$i" -le "$1" ]; do
		echo "commit refs/heads/staging"
		echo "mark :$((i + 1))"
		echo "committer Bench <bench@example.org> $((1700000000 + i * 60)) +0000"
		m="change $i"
		echo "data ${#m}"
		echo "$m"
		[ "$i" -eq 0 ] || echo "from :$i"
		echo "M 644 inline f"
		echo "data ${#i}"
		echo "$i"
		i=$((i + 1))
	done | git --git-dir "$dir/t$1.git" fast-import --quiet
	git --git-dir "$dir/t$1.git" log --format='%H %s' staging |
		sed 's/ change / /' >"$dir/t$1.map"
	git --git-dir "$dir/t$1.git" update-ref refs/heads/master \
		"$(awk '$2 == 0 { print $1 }' "$dir/t$1.map")"
}

# finish F pass|fail: the flight's one job ran on h1 with that result
finish() {
	q "BEGIN;
	   INSERT INTO steps (flight, job, stepno, kind, name, status)
	   SELECT flight, job, 1, 'run', 'smoke', '$2' FROM jobs WHERE flight = $1;
	   INSERT INTO allocations (host, flight, job, ident, released_at)
	   SELECT 'h1', flight, job, 'host', now() FROM jobs WHERE flight = $1;
	   UPDATE jobs SET status = '$2', started_at = now(), finished_at = now()
	   WHERE flight = $1;
	   UPDATE flights SET status = 'finished', finished_at = now() WHERE id = $1;
	   COMMIT" >/dev/null
}

SIZES="256 4096"
{
	printf '[lab]\n\tstate = %s\n[gate]\n\tretest = false\n' "$dir/state"
	printf '[recipe "test"]\n\tstep = run smoke true\n'
	printf '[job "test"]\n\trecipe = test\n\tarch = x86_64\n'
	printf '[host "h1"]\n\tarch = x86_64\n\taddress = 127.0.9.1\n'
	for n in $SIZES; do
		printf '[tree "t%s"]\n\turl = %s\n' "$n" "$dir/t$n.git"
		printf '[branch "b%s"]\n\ttree = t%s\n\tjobs = test\n' "$n" "$n"
	done
} >"$dir/lab.conf"
for n in $SIZES; do
	tree "$n"
done
h lab apply "$dir/lab.conf" >/dev/null

printf '%-8s %-8s %-8s %-12s %-12s %-12s %s\n' commits flights log2n first_ms \
	median_ms max_ms culprit
for n in $SIZES; do
	culprit=$((n * 5 / 8))
	# the untested master, then the staging tip, which fails
	f=$(h gate run "b$n" 2>/dev/null | sed -n 's/.*flight \([0-9]*\).*/\1/p' | head -n 1)
	finish "$f" pass
	h gate run "b$n" >/dev/null 2>&1
	f=$(h gate run "b$n" 2>/dev/null | sed -n 's/.*flight \([0-9]*\).*/\1/p' | head -n 1)
	finish "$f" fail
	h gate run "b$n" >/dev/null 2>&1
	b=$(q "SELECT id FROM bisections WHERE branch = 'b$n'")
	[ -n "$b" ] || { echo "b$n: no bisection started" >&2; exit 1; }
	: >"$dir/times"
	flights=0
	while :; do
		t0=$(ms)
		h bisect run "$b" >"$dir/step.out"
		echo $(($(ms) - t0)) >>"$dir/times"
		f=$(sed -n "s/^bisection $b: flight \([0-9]*\).*/\1/p" "$dir/step.out")
		[ -n "$f" ] || break
		flights=$((flights + 1))
		[ "$flights" -le 100 ] || { echo "b$n: no outcome" >&2; exit 1; }
		rev=$(q "SELECT revision FROM flight_revisions WHERE flight = $f")
		i=$(awk -v r="$rev" '$1 == r { print $2 }' "$dir/t$n.map")
		if [ "$i" -ge "$culprit" ]; then finish "$f" fail; else finish "$f" pass; fi
	done
	found=$(q "SELECT culprit_commit FROM bisections WHERE id = $b")
	at=$(awk -v r="$found" '$1 == r { print $2 }' "$dir/t$n.map")
	first=$(head -n 1 "$dir/times")
	rest=$(tail -n +2 "$dir/times" | sort -n)
	cnt=$(echo "$rest" | wc -l)
	med=$(echo "$rest" | sed -n "$(((cnt + 1) / 2))p")
	max=$(echo "$rest" | tail -n 1)
	printf '%-8s %-8s %-8s %-12s %-12s %-12s %s\n' "$n" "$flights" \
		"$(awk -v n="$n" 'BEGIN { printf "%.0f", log(n) / log(2) }')" \
		"$first" "$med" "$max" \
		"$( [ "${at:-x}" = "$culprit" ] && echo "change $at (right)" || echo "WRONG: ${at:-none}")"
done
