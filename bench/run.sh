#!/bin/sh
# bench/run.sh: `make bench`. Each benchmark is a bench/bNNNN-*.sh script
# that prints its figures (medians and ratios measured side by side in one
# run: this machine is shared and noisy).
set -eu
dir=$(dirname "$0")
for b in "$dir"/b[0-9]*.sh; do
	[ -e "$b" ] || continue
	echo "== $(basename "$b" .sh)"
	sh "$b"
done
