#!/bin/sh
# bench/run.sh: `make bench`. Each benchmark is a bench/bNNNN-*.sh script
# that prints its figures (medians and ratios measured side by side in one
# run: this machine is shared and noisy).
set -eu
dir=$(dirname "$0")
# PostgreSQL's own psql, not Debian's Perl pg_wrapper (20-30 ms a call)
PATH=${HANGAR_PG_BINDIR:-/usr/lib/postgresql/15/bin}:$PATH
export PATH
for b in "$dir"/b[0-9]*.sh; do
	[ -e "$b" ] || continue
	echo "== $(basename "$b" .sh)"
	sh "$b"
done
