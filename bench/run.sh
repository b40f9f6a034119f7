#!/bin/sh
# bench/run.sh: `make bench`. Each benchmark is a bench/bNNNN-*.sh script
# that prints its figures (medians and ratios measured side by side in one
# run: this machine is shared and noisy). None exist yet: the scheduler,
# worker, gate and web issues each add theirs.
set -eu
dir=$(dirname "$0")
found=0
for b in "$dir"/b[0-9]*.sh; do
	[ -e "$b" ] || continue
	found=1
	echo "== $(basename "$b" .sh)"
	sh "$b"
done
if [ "$found" = 0 ]; then
	echo "bench: no benchmarks yet (they arrive with the scheduler, worker, gate and web)"
fi
