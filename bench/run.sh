#!/bin/sh
# bench/run.sh: `make bench`. Each benchmark is a bench/bNNNN-*.sh script
# that prints its figures (medians and ratios measured side by side in one
# run: this machine is shared and noisy).
set -eu
dir=$(dirname "$0")
# PostgreSQL's own psql, not Debian's Perl pg_wrapper (20-30 ms a call)
PATH=${HANGAR_PG_BINDIR:-/usr/lib/postgresql/15/bin}:$PATH
export PATH
failed=
for b in "$dir"/b[0-9]*.sh; do
	[ -e "$b" ] || continue
	echo "== $(basename "$b" .sh)"
	# by its own interpreter (b0220 and b0800 are bash); one that fails
	# is named at the end, and the others still run
	"$(sed -n '1s/^#! *//p' "$b")" "$b" || failed="$failed $(basename "$b" .sh)"
done
if [ -n "$failed" ]; then
	echo "bench: failed:$failed" >&2
	exit 1
fi
