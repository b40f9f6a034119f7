#!/bin/sh
# The dashboard under load, against nginx serving the same bytes. A history
# of 5,000 gate flights (bench/lib-history.sh, b0300's generator at full
# shape: 80 jobs of 15 steps, 5.8M steps; it loads in 2 to 3 minutes),
# then flight 5002, decided: its report (JSON) and its mail stored as the
# gate's db_gate_record stores them. `hangar web` serves it; nginx
# (Debian's, a private instance) serves static copies of exactly the bytes
# hangar gave for GET /api/v1/flights/5002/report and GET /flights/5002,
# with the same content types, at the same paths. Each server runs as it
# would on this 2-core machine: hangar web with its defaults (2 HTTP
# threads that answer from the cache, 4 database workers with a
# PostgreSQL connection each), nginx with 2 worker processes (one a core,
# its usual setting). wrk -t2 -c64 -d10s --latency against one
# server at a time, both URLs, hangar then nginx, in 3 rounds; then 3
# times, hangar only, the report of flight 5003, another of 5002's
# revision, still running: no stored report and nothing to cache, it is
# judged at each request. Then 3 rounds of cached answers beside slow
# ones (issue 21): wrk -t1 -c32 hammers the running report for 12 s, and
# meanwhile a paced probe (wrk -t1 -c4, 5 ms between a connection's
# requests) asks for the decided report, 4 s from hangar, then 4 s from
# nginx; the p99 of each is measured in the same run as the hammering.
# Prints per URL the medians of requests/sec and of the 99th percentile
# latency and the hangar/nginx ratio of requests/sec, and the probes'
# median p99s. Goals: the decided JSON report at 10,000 req/s or more, a
# p99 under 20 ms and a ratio of 0.3 or more for both URLs, the cached
# p99 under the hammering 10 ms or less; "met" or "not met", which does
# not fail the bench. Takes about 6 minutes and 5 GB under /tmp.
set -eu
HANGAR=${HANGAR:-$(pwd)/build/hangar}
export HANGAR_PG_FAST=1
N=5000
ROUNDS=3
WRK="wrk -t2 -c64 -d10s --latency"
dir=$(mktemp -d /tmp/hangar-bench.XXXXXX)
chmod 755 "$dir"
web_pid=
nginx_pid=

# alive PID: it exists and is not a zombie
alive() {
	[ -r "/proc/$1/stat" ] && ! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'
}
# stop_pid SIG PID: SIG, up to 5 s to go, then KILL
stop_pid() {
	[ -n "$2" ] || return 0
	kill -s "$1" "$2" 2>/dev/null || return 0
	i=0
	while alive "$2" && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	! alive "$2" || kill -s KILL "$2" 2>/dev/null || true
	wait "$2" 2>/dev/null || true
}
# what this script started, by pid: the web server first (it holds
# connections to PostgreSQL), nginx, then the postmaster (SIGINT: fast
# shutdown)
cleanup() {
	stop_pid TERM "$web_pid"
	stop_pid TERM "$nginx_pid"
	stop_pid INT "$(head -n 1 "$dir/state/pg/postmaster.pid" 2>/dev/null || true)"
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
h() { "$HANGAR" --config "$dir/lab.conf" "$@"; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 "host=$dir/state/pg dbname=hangar user=hangar" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
# wait_for URL: up to 20 s for a 200
wait_for() {
	i=0
	until curl -fsS -o /dev/null "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			echo "b0400: no answer from $1" >&2
			return 1
		fi
		sleep 0.1
	done
}

. "$(dirname "$0")/lib-history.sh"
h lab apply "$dir/lab.conf" >/dev/null

nsteps=0
t0=$(now)
load 1 $N
t_load=$(since "$t0")
measured $N
F=$((N + 2))
U=$((N + 3))
# decide F as the gate does (db_gate_record): verdict, baseline, the
# report JSON and the mail
h flight report $F --json >"$dir/report.json"
h flight report $F >"$dir/report.txt"
q -v id=$F -v j="$(cat "$dir/report.json")" -v t="$(cat "$dir/report.txt")" <<'SQL'
UPDATE flights SET verdict = 'no-push', pushed = false,
	baseline_flight = (:'j'::jsonb #>> '{baseline,flight}')::bigint,
	report = :'j'::jsonb, report_text = :'t', decided_at = finished_at
WHERE id = :id;
SQL
[ "$(q -c "SELECT count(*) FROM flights WHERE report IS NOT NULL AND decided_at IS NOT NULL")" = 1 ]
# U: another gate flight of F's revision with the same results, still
# running: no stored report and nothing to cache, it is judged at each
# request
measured_one $U $N "$M_FAILS"
q -c "UPDATE flights SET status = 'running', verdict = 'pending', finished_at = NULL WHERE id = $U"

P1=$(free_port)
P2=$(free_port)
"$HANGAR" --config "$dir/lab.conf" web --listen 127.0.0.1:$P1 >"$dir/web.log" 2>&1 &
web_pid=$!
HW=http://127.0.0.1:$P1
wait_for $HW/api/v1/flights/$F/report || { cat "$dir/web.log" >&2; exit 1; }

# the bytes and content types hangar serves, as nginx's static files at
# the same paths
path_report=/api/v1/flights/$F/report
path_page=/flights/$F
# ctype URL: the content type of URL's answer
ctype() {
	curl -fsS -D - -o /dev/null "$1" | tr -d '\r' |
		sed -n 's/^content-type: *//ip'
}
mkdir -p "$dir/nginx/logs" "$dir/www/api/v1/flights/$F" "$dir/www/flights"
curl -fsS -o "$dir/www$path_report" $HW$path_report
curl -fsS -o "$dir/www$path_page" $HW$path_page
cat >"$dir/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/logs/error.log warn;
events {
	worker_connections 1024;
}
http {
	access_log off;
	types {}
	sendfile on;
	tcp_nopush on;
	# wrk keeps its 64 connections; nginx would close each after 1,000
	# requests by default, hangar (libmicrohttpd) never does
	keepalive_requests 1000000;
	client_body_temp_path $dir/nginx/body;
	proxy_temp_path $dir/nginx/proxy;
	fastcgi_temp_path $dir/nginx/fastcgi;
	uwsgi_temp_path $dir/nginx/uwsgi;
	scgi_temp_path $dir/nginx/scgi;
	server {
		listen 127.0.0.1:$P2;
		root $dir/www;
		add_header X-Content-Type-Options nosniff;
		location = $path_report {
			default_type "$(ctype $HW$path_report)";
		}
		location = $path_page {
			default_type "$(ctype $HW$path_page)";
		}
	}
}
CONF
nginx -p "$dir/nginx" -e "$dir/nginx/logs/error.log" -c "$dir/nginx/nginx.conf" &
nginx_pid=$!
NW=http://127.0.0.1:$P2
for p in $path_report $path_page; do
	wait_for $NW$p || { cat "$dir/nginx/logs/error.log" >&2; exit 1; }
	curl -fsS $NW$p | cmp -s "$dir/www$p" - ||
		{ echo "b0400: $p: nginx serves other bytes" >&2; exit 1; }
	[ "$(ctype $NW$p)" = "$(ctype $HW$p)" ] ||
		{ echo "b0400: $p: content types differ" >&2; exit 1; }
done
curl -fsS -o "$dir/running.json" $HW/api/v1/flights/$U/report

# parse NAME WRK-OUTPUT: appends "NAME req/s p99-ms socket-errors
# non-2xx" to results
parse() {
	awk -v name="$1" '
	function ms(v) {
		if (v ~ /us$/) return v / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /m$/) return v * 60000
		return v * 1000   # s
	}
	$1 == "99%" { p99 = ms($2) }
	$1 == "Requests/sec:" { rps = $2 }
	/Socket errors:/ { gsub(/[^0-9 ]/, ""); for (i = 1; i <= NF; i++) sock += $i }
	/Non-2xx/ { non2xx = $NF }
	END { print name, rps, p99, sock + 0, non2xx + 0 }' \
		"$2" >>"$dir/results"
}
# run NAME URL: one wrk run into results
run() {
	$WRK "$2" >"$dir/wrk.out" 2>&1 ||
		{ cat "$dir/wrk.out" >&2; return 1; }
	parse "$1" "$dir/wrk.out"
}
# a probe that asks at a steady pace rather than as fast as it can: it
# measures the answers' latency, not the server's capacity
cat >"$dir/paced.lua" <<'LUA'
function delay()
	return 5
end
LUA
# probe NAME URL: 4 s of paced requests into results
probe() {
	wrk -t1 -c4 -d4s --latency -s "$dir/paced.lua" "$2" >"$dir/probe.out" 2>&1 ||
		{ cat "$dir/probe.out" >&2; return 1; }
	parse "$1" "$dir/probe.out"
}
: >"$dir/results"
t1=$(now)
r=1
while [ $r -le $ROUNDS ]; do
	run hangar-report $HW/api/v1/flights/$F/report
	run nginx-report $NW/api/v1/flights/$F/report
	run hangar-page $HW/flights/$F
	run nginx-page $NW/flights/$F
	r=$((r + 1))
done
# the running flight's report last: its slow requests (a thread waits on
# the database) would still be draining when the next measure began
r=1
while [ $r -le $ROUNDS ]; do
	run hangar-running $HW/api/v1/flights/$U/report
	r=$((r + 1))
done
# cached answers while 32 connections hammer the running report
r=1
while [ $r -le $ROUNDS ]; do
	wrk -t1 -c32 -d12s --latency $HW/api/v1/flights/$U/report >"$dir/hammer.out" 2>&1 &
	hammer=$!
	sleep 1
	probe hangar-cached-hammered $HW$path_report
	probe nginx-hammered $NW$path_report
	wait $hammer || { cat "$dir/hammer.out" >&2; exit 1; }
	parse hammer "$dir/hammer.out"
	# the hammer's queue drains before the next round
	sleep 2
	r=$((r + 1))
done
t_wrk=$(since "$t1")

# med NAME FIELD: the median of FIELD (2: req/s, 3: p99 ms) over the rounds
med() {
	awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$dir/results" | sort -g |
		awk '{ a[NR] = $1 } END { print NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# errs NAME: wrk's socket errors (timeouts included) and non-2xx answers
# over the rounds, if any
errs() {
	awk -v n="$1" '$1 == n { s += $4; x += $5 }
	END { if (s + x) printf " (%d socket errors, %d non-2xx)", s, x }' "$dir/results"
}
printf "history %d flights (%sM steps): load %s s (COPY %s s, step_passes %s s, vacuum analyze %s s); decided flight %d (stored report), running %d; wrk -t2 -c64 -d10s, %d rounds, %s s\n" \
	$N "$(awk -v s=$nsteps 'BEGIN { printf "%.1f", s / 1e6 }')" "$t_load" "$t_copy" \
	$((t_passes - t_copy)) $((t_load - t_passes)) $F $U $ROUNDS "$t_wrk"
echo "  hangar web: 2 HTTP threads, 4 database workers (its defaults, one PostgreSQL connection each); nginx $(nginx -v 2>&1 | sed 's,.*/,,'): 2 workers, static files"
for u in report page; do
	eval "p=\$path_$u"
	hr=$(med hangar-$u 2)
	hp=$(med hangar-$u 3)
	nr=$(med nginx-$u 2)
	np=$(med nginx-$u 3)
	ratio=$(awk -v a="$hr" -v b="$nr" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	printf "GET %s (%d bytes): hangar %.0f req/s, p99 %.2f ms%s; nginx %.0f req/s, p99 %.2f ms%s; ratio %s\n" \
		"$p" "$(wc -c <"$dir/www$p")" "$hr" "$hp" "$(errs hangar-$u)" "$nr" "$np" "$(errs nginx-$u)" "$ratio"
	eval "hr_$u=$hr hp_$u=$hp ratio_$u=$ratio"
done
printf "GET /api/v1/flights/%d/report (running, judged at each request, %d bytes): hangar %.0f req/s, p99 %.2f ms%s\n" \
	$U "$(wc -c <"$dir/running.json")" "$(med hangar-running 2)" "$(med hangar-running 3)" "$(errs hangar-running)"
hc=$(med hangar-cached-hammered 3)
printf "GET %s (cached) while wrk -c32 hammers the running report (%.0f req/s%s): hangar p99 %.2f ms%s; nginx p99 %.2f ms%s (paced probes, 4 s each, the same rounds)\n" \
	"$path_report" "$(med hammer 2)" "$(errs hammer)" "$hc" "$(errs hangar-cached-hammered)" \
	"$(med nginx-hammered 3)" "$(errs nginx-hammered)"
# goal TEXT CONDITION: "TEXT: met" when the awk CONDITION holds
goal() {
	if awk "BEGIN { exit !($2) }"; then echo "$1: met"; else echo "$1: not met"; fi
}
echo "goals: $(goal "report >= 10000 req/s ($(printf %.0f "$hr_report"))" "$hr_report >= 10000");" \
	"$(goal "report p99 < 20 ms ($(printf %.2f "$hp_report"))" "$hp_report < 20");" \
	"$(goal "report ratio >= 0.3 ($ratio_report)" "$ratio_report >= 0.3");" \
	"$(goal "page p99 < 20 ms ($(printf %.2f "$hp_page"))" "$hp_page < 20");" \
	"$(goal "page ratio >= 0.3 ($ratio_page)" "$ratio_page >= 0.3");" \
	"$(goal "cached p99 under the hammering <= 10 ms ($(printf %.2f "$hc"))" "$hc <= 10")"
