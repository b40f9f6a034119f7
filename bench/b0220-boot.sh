#!/bin/bash
# Machines that boot (issue 19): one QEMU host per arch (x86_64: SeaBIOS
# and iPXE; arm64: U-Boot; riscv64: OpenSBI and U-Boot), each booting
# minivisor-boot from the network, 3 times per arch. For each boot: the
# time from the power cycle's start (off, then on, through the BMC) to
# the expect pattern, read from the step's log; the boot step's whole wall time; and, beside it,
# the same QEMU machine alone (same firmware, same TFTP files, its serial
# port to a file) from its start to its own power-off. Hangar's overhead
# per boot = the step's wall time minus the machine alone. Medians. When
# make deps unpacked Debian's Xen, also Xen and its dom0 on x86_64 (the
# lab's recipe qemu-xen), up to dom0's "hangar-dom0: up".
set -eu
NET=127.65.2
N=3
LAB_BENCH_DIR=$(dirname "$0")
. "$LAB_BENCH_DIR/lib-lab.sh"
if ! command -v qemu-system-aarch64 >/dev/null 2>&1; then
	echo "skipped: no QEMU (make deps)"
	exit 0
fi

"$LAB" create "$dir/lab" --net $NET qx:x86_64:qemu qa:arm64:qemu qr:riscv64:qemu >/dev/null
"$LAB" start "$dir/lab" >/dev/null
mkdir "$dir/tree"
git -C "$dir/tree" init -q -b master
git -C "$dir/tree" -c user.name=b -c user.email=b@b commit -q --allow-empty -m empty
cat >"$dir/lab.conf" <<CONF
[lab]
	state = $dir/state
	identity = $dir/lab/id_ed25519
	tftp = $dir/lab/tftp
[include]
	path = $dir/lab/hosts.conf
[scheduler]
	interval = 1s
[worker]
	slots = 1
[tree "t"]
	url = $dir/tree
[recipe "boot"]
	step = boot timeout=60 cases=hangar kernel=$dir/lab/health/boot-%arch%.img started=minivisor-boot expect=: done, powering off fail=PANIC
CONF
for a in x86_64 arm64 riscv64; do
	printf '[job "boot-%s"]\n\trecipe = boot\n\tarch = %s\n' $a $a >>"$dir/lab.conf"
done
# Debian's Xen and dom0, when make deps unpacked them (the lab's qemu-xen)
xen=
if grep -q '^\[recipe "qemu-xen"\]' "$dir/lab/hosts.conf"; then
	xen=1
	printf '[job "boot-xen"]\n\trecipe = qemu-xen\n\tarch = x86_64\n' >>"$dir/lab.conf"
fi
h lab apply "$dir/lab.conf" >/dev/null
"$HANGAR" --config "$dir/lab.conf" scheduler >"$dir/sched.log" 2>&1 &
echo $! >"$dir/sched.pid"
"$HANGAR" --config "$dir/lab.conf" worker >"$dir/worker.log" 2>&1 &
echo $! >"$dir/worker.pid"

for a in x86_64 arm64 riscv64 ${xen:+xen}; do
	i=0
	while [ $i -lt $N ]; do
		h request --rev t=master --job boot-$a --wait >/dev/null
		i=$((i + 1))
	done
done

# the machine alone: its own TFTP files, as hangar placed them
alone() { # HOST ARCH
	local hd=$dir/lab/hosts/$1 t=$dir/alone-$1 argv
	mkdir -p "$t"
	cp "$dir/lab/health/boot-$2.img" "$dir/lab/tftp/$1/"
	if [ "$2" = x86_64 ]; then
		printf '#!ipxe\nkernel boot-x86_64.img\nboot\n' >"$dir/lab/tftp/$1/boot.ipxe"
	else
		printf 'tftpboot ${kernel_addr_r} boot-%s.img\nbooti ${kernel_addr_r} - ${fdtcontroladdr}\n' "$2" >"$t/boot.txt"
		python3 - "$t/boot.txt" "$dir/lab/tftp/$1/boot.scr.uimg" <<'PY'
import struct, sys, zlib
text = open(sys.argv[1], "rb").read()
data = struct.pack(">II", len(text), 0) + text
hdr = struct.pack(">IIIIIIIBBBB32s", 0x27051956, 0, 0, len(data), 0, 0,
                  zlib.crc32(data), 5, 0, 6, 0, b"bench")
hdr = hdr[:4] + struct.pack(">I", zlib.crc32(hdr)) + hdr[8:]
open(sys.argv[2], "wb").write(hdr + data)
PY
	fi
	mapfile -t argv < <(cd "$hd" && "$dir/lab/lab-power" "$hd" qemu-argv "file,id=s0,path=$t/serial.log")
	for i in 1 2 3; do
		rm -f "$t/serial.log"
		local t0=$EPOCHREALTIME
		timeout 60 "${argv[@]}" </dev/null >/dev/null 2>&1
		awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", b - a }'
		grep -q "done, powering off" "$t/serial.log" || { echo "alone: $1 did not boot" >&2; exit 1; }
	done
	rm -f "$dir/lab/tftp/$1/"*
}

psql -X -q -At -F ' ' "host=$dir/state/pg dbname=hangar user=hangar" -c "
	SELECT j.job, s.flight, extract(epoch FROM s.finished_at - s.started_at), s.status
	FROM steps s JOIN jobs j ON j.flight = s.flight AND j.job = s.job
	WHERE s.name = 'boot' ORDER BY s.flight" >"$dir/steps.txt"
{
	for h_a in qx:x86_64 qa:arm64 qr:riscv64; do
		echo "alone ${h_a#*:} $(alone "${h_a%%:*}" "${h_a#*:}" | tr '\n' ' ')"
	done
} >"$dir/alone.txt"
python3 - "$dir" <<'PY'
import glob, os, re, statistics, sys
from datetime import datetime
d = sys.argv[1]
def stamp(line):
    return datetime.strptime(line[:23], "%Y-%m-%dT%H:%M:%S.%f").timestamp()
rows = [l.split() for l in open(os.path.join(d, "steps.txt")) if l.strip()]
assert len(rows) in (9, 12) and all(r[3] == "pass" for r in rows), rows
alone = {l.split()[1]: [float(x) for x in l.split()[2:]] for l in open(os.path.join(d, "alone.txt"))}
print("boots of minivisor-boot through the firmware over TFTP, medians of 3:")
print("  %-8s %12s %12s %12s %10s" % ("arch", "power->expect", "boot step", "QEMU alone", "overhead"))
for arch in ("x86_64", "arm64", "riscv64", "xen"):
    mine = [r for r in rows if r[0] == "boot-" + arch]
    if not mine:
        continue
    walls, reach = [], []
    for job, flight, wall, _ in mine:
        walls.append(float(wall))
        log = glob.glob(os.path.join(d, "state", "logs", flight, job, "1.boot.log"))[0]
        lines = open(log).read().splitlines()
        # "NAME: power cycle: on (1 attempt, 0.7 s)" is logged at its end
        pl = next(l for l in lines if re.search(r": power cycle: on \(", l))
        power = stamp(pl) - float(re.search(r", ([0-9.]+) s\)", pl).group(1))
        exp = next(stamp(l) for l in lines if "expected:" in l)
        reach.append(exp - power)
    w, r = statistics.median(walls), statistics.median(reach)
    if arch not in alone:   # Xen: its boot only (goal: about 2 minutes)
        print("  %-8s %10.2f s %10.2f s %12s %10s" % ("xen+dom0", r, w, "-", "-"))
        continue
    a = statistics.median(alone[arch])
    print("  %-8s %10.2f s %10.2f s %10.2f s %7.0f ms" % (arch, r, w, a, (w - a) * 1000))
PY
