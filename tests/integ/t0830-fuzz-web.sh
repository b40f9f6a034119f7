#!/bin/bash
# The web server's request parsing (web/web-route.c) under libFuzzer: a
# bounded run of tests/fuzz/fuzz-web.c from a copy of its seed corpus
# (tests/fuzz/corpus-web, so the tree is not written) must find no crash,
# no broken invariant and no leak.
#
# The binary: $HANGAR_FUZZ_WEB (set by the Makefile's check-run; set but
# empty when it was not built), else fuzz-web next to $HANGAR. Without
# one the test is a TAP "# SKIP". HANGAR_FUZZ_TIME (seconds, default 20)
# bounds the run.
. "$(dirname "$0")/lib-test.sh"

FUZZ_WEB=${HANGAR_FUZZ_WEB-$(dirname "$(readlink -f "$HANGAR")")/fuzz-web}
FUZZ_TIME=${HANGAR_FUZZ_TIME:-20}

if [ -z "$FUZZ_WEB" ] || [ ! -x "$FUZZ_WEB" ]; then
	echo "ok 1 - fuzz-web over its corpus # SKIP no fuzz binary (${FUZZ_WEB:-not built}; clang builds it)"
	echo "1..1"
	exit 0
fi

test_expect_success "fuzz-web runs ${FUZZ_TIME}s from its corpus and finds nothing" '
	mkdir corpus artifacts &&
	cp "$SRCDIR"/tests/fuzz/corpus-web/* corpus/ &&
	rc=0 &&
	"$FUZZ_WEB" -max_total_time="$FUZZ_TIME" -rss_limit_mb=1024 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$TEST_DIR/artifacts/" \
		corpus >fuzz.log 2>&1 || rc=$? &&
	if [ "$rc" != 0 ]; then
		grep -E -A 12 "ERROR: |invariant broken|deadly signal" fuzz.log | head -n 20
		for a in artifacts/*; do
			[ -f "$a" ] || continue
			echo "input ${a##*/}, base64 (echo ... | base64 -d >crash; fuzz-web crash):"
			base64 -w 0 "$a"
			echo
		done
		echo "fuzz-web exited $rc"
		exit 1
	fi &&
	grep -E "^#[0-9]+[[:space:]]+DONE" fuzz.log &&
	grep "stat::average_exec_per_sec" fuzz.log
'

test_done
