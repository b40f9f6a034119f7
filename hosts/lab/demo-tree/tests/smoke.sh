#!/bin/sh
# smoke.sh — minivisor's tests for one architecture: $HANGAR_ARCH, else the
# machine's (uname -m). Runs the built-in selftest, then every guest in
# tests/guests/ (abi-ARCH.mv only for its own ARCH) and compares its output
# with the .out file beside it. Exit 0 when all pass. A file
# tests/flaky-ARCH makes ARCH's run fail now and then: on each machine
# (a count of runs in $HOME) the 1st and 2nd fail, then every other one.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${HANGAR_ARCH:-}" ]; then
	arch=$HANGAR_ARCH
else
	case $(uname -m) in
	x86_64 | amd64) arch=x86_64 ;;
	aarch64 | arm64) arch=arm64 ;;
	riscv64) arch=riscv64 ;;
	*) echo "smoke: unknown machine $(uname -m); set HANGAR_ARCH" >&2; exit 1 ;;
	esac
fi
mv=$root/bin/minivisor
failed=0
total=0

"$mv" --version
"$mv" --arch "$arch" info

total=$((total + 1))
if "$mv" --arch "$arch" selftest; then
	echo "PASS: $arch selftest"
else
	echo "FAIL: $arch selftest"
	failed=$((failed + 1))
fi

for guest in "$root"/tests/guests/*.mv; do
	name=$(basename "$guest" .mv)
	case $name in
	abi-*) [ "$name" = "abi-$arch" ] || continue ;;
	esac
	total=$((total + 1))
	want=$(cat "${guest%.mv}.out")
	if got=$("$mv" --arch "$arch" run "$guest" 2>&1) && [ "$got" = "$want" ]; then
		echo "PASS: $arch $name"
	else
		echo "FAIL: $arch $name"
		echo "  expected: $(echo "$want" | tr '\n' ' ')"
		echo "  got:      $(echo "$got" | tr '\n' ' ')"
		failed=$((failed + 1))
	fi
done

if [ -e "$root/tests/flaky-$arch" ]; then
	count=${HOME:-/tmp}/.minivisor-flaky-$arch
	runs=$(( $(cat "$count" 2>/dev/null || echo 0) + 1 ))
	echo "$runs" >"$count"
	total=$((total + 1))
	if [ "$runs" -gt 2 ] && [ $((runs % 2)) -eq 1 ]; then
		echo "PASS: $arch timer (run $runs)"
	else
		echo "FAIL: $arch timer (run $runs): $(cat "$root/tests/flaky-$arch")"
		failed=$((failed + 1))
	fi
fi

echo "smoke $arch: $((total - failed)) of $total passed"
[ "$failed" -eq 0 ]
