# bench/lib-lab.sh: the start of a benchmark on the simulated lab, sourced
# with LAB_BENCH_DIR set to bench/: skips when the lab cannot run here,
# makes $dir (lab.conf, the lab, the state go there), h (hangar on that
# configuration), and a cleanup at exit that stops the daemons started
# with a pid file in $dir (and waits for them: one still running would
# start the private cluster again after it is stopped), the lab and the
# private cluster.
HANGAR=${HANGAR:-$(pwd)/hangar}
LAB=$(cd "$LAB_BENCH_DIR/.." && pwd)/hosts/lab/lab.sh
export HANGAR_PG_FAST=1

if [ "$(id -u)" != 0 ] || ! command -v ipmi_sim >/dev/null 2>&1; then
	echo "skipped: the simulated lab needs root (sshd on port 22) and ipmi_sim"
	exit 0
fi
dir=$(mktemp -d /tmp/hangar-bench.XXXXXX)
chmod 755 "$dir"
h() { "$HANGAR" --config "$dir/lab.conf" "$@"; }
cleanup() {
	for p in "$dir"/*.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
	for p in "$dir"/*.pid; do
		[ -f "$p" ] || continue
		i=0
		while kill -0 "$(cat "$p")" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$(cat "$p")" 2>/dev/null || true
	done
	"$LAB" stop "$dir/lab" >/dev/null 2>&1 || true
	h db stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
