#!/bin/sh
# SSH per command: 200 short commands (true) on a one-host simulated lab,
# on one libssh2 session (hangar host exec --count 200, what the workers
# do) through its long-lived remote shell (hosts/rshell.c) and with an
# exec channel per command (HANGAR_SSH_SHELL=0, the fallback), and with
# one OpenSSH ssh process per command (--ssh-command, what OSSTest does):
# three runs of each, alternating so that machine noise hits all three.
# Prints each run's time per command (connecting included, once per 200),
# the medians and how many times cheaper than OpenSSH each mode is (goal
# for the remote shell: at least 50x).
set -eu
HANGAR=${HANGAR:-$(pwd)/hangar}
LAB=$(cd "$(dirname "$0")/.." && pwd)/hosts/lab/lab.sh
NET=127.62.0
RUNS=3
N=200
export HANGAR_PG_FAST=1

if [ "$(id -u)" != 0 ] || ! command -v ipmi_sim >/dev/null 2>&1; then
	echo "skipped: the simulated lab needs root (sshd on port 22) and ipmi_sim"
	exit 0
fi
dir=$(mktemp -d /tmp/hangar-bench.XXXXXX)
chmod 755 "$dir"
h() { "$HANGAR" --config "$dir/lab.conf" "$@"; }
cleanup() {
	"$LAB" stop "$dir/lab" >/dev/null 2>&1 || true
	h db stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$LAB" create "$dir/lab" --net $NET b1:x86_64 >/dev/null
# (lab.sh gives the host a HOME of its own: root's slow ~/.bashrc on some
# machines stays out of the figures)
"$LAB" start "$dir/lab" >/dev/null
cat >"$dir/lab.conf" <<CONF
[lab]
	state = $dir/state
	identity = $dir/lab/id_ed25519
[include]
	path = $dir/lab/hosts.conf
CONF
h lab apply "$dir/lab.conf" >/dev/null
h host exec b1 true   # pins the host key; warms the caches

i=1
while [ $i -le $RUNS ]; do
	h host exec b1 --count $N --json -- true >"$dir/shell-$i.json"
	HANGAR_SSH_SHELL=0 h host exec b1 --count $N --json -- true >"$dir/exec-$i.json"
	h host exec b1 --ssh-command --count $N --json -- true >"$dir/ssh-$i.json"
	i=$((i + 1))
done

python3 - "$dir" $RUNS $N <<'PY'
import json, statistics, sys
d, runs, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kinds = (("shell", "libssh2, one remote shell"),
         ("exec", "libssh2, exec channel each"),
         ("ssh", "OpenSSH ssh per command"))
res = {}
for kind, _ in kinds:
    per = []
    for i in range(1, runs + 1):
        r = json.load(open("%s/%s-%d.json" % (d, kind, i)))
        assert r["commands"] == n and r["exit_status"] == 0, r
        per.append(r["per_command_ms"])
    res[kind] = statistics.median(per), per
ssh = res["ssh"][0]
print("%-28s %14s %9s   %s" % ("%d x true" % n, "median ms/cmd", "vs ssh",
                               "runs"))
for kind, label in kinds:
    m, per = res[kind]
    print("%-28s %14.2f %8.1fx   %s" % (label, m, ssh / m,
                                       " ".join("%.2f" % x for x in per)))
print("remote shell: %.1fx cheaper than OpenSSH per command (goal: at least "
      "50x), %.1fx cheaper than exec channels"
      % (ssh / res["shell"][0], res["exec"][0] / res["shell"][0]))
PY
