#!/bin/bash
# t0310-demo-tree: the demo tree (minivisor) builds, ships a tarball whose
# tests pass on every arch, and can be broken for one arch (or made flaky)
# and fixed; a series of commits goes to staging in one push.
. "$(dirname "$0")/lib-test.sh"

DT=$TEST_DIR/dt
BARE=$DT/minivisor.git
ARCHES="x86_64 arm64 riscv64"

# build REF DIR: a fresh clone of REF, built with make dist (no warning).
build() {
	git clone -q -b "$1" "$BARE" "$2" &&
	make -C "$2" dist >"$2.log" 2>&1 || { cat "$2.log"; return 1; }
	if grep -i "warning" "$2.log"; then
		echo "the build has warnings"
		return 1
	fi
}

# smoke_results DIR: "arch:pass|fail" for each arch, after unpacking the
# tarball of DIR in DIR.installed (a fresh HOME for each: a flaky arch
# counts its runs there).
smoke_results() {
	local a
	rm -rf "$1.installed" "$1.home"
	mkdir "$1.installed" "$1.home"
	tar xzf "$1/dist/minivisor.tar.gz" -C "$1.installed"
	for a in $ARCHES; do
		if HOME=$TEST_DIR/$1.home HANGAR_ARCH=$a "$1.installed/tests/smoke.sh" >"$1.smoke-$a" 2>&1; then
			echo "$a:pass"
		else
			echo "$a:fail"
		fi
	done | tr '\n' ' '
}

test_expect_success 'create the demo tree: master and staging at one commit' '
	"$DEMO_TREE" create "$DT" >created &&
	test -d "$BARE" &&
	test -d "$DT/minivisor/.git" &&
	test "$(git -C "$BARE" rev-parse --is-bare-repository)" = true &&
	master=$(git -C "$BARE" rev-parse refs/heads/master) &&
	staging=$(git -C "$BARE" rev-parse refs/heads/staging) &&
	test "$master" = "$staging" &&
	test "$(cat created)" = "$master" &&
	test "$(git -C "$BARE" symbolic-ref HEAD)" = refs/heads/master &&
	git -C "$DT/minivisor" config user.name &&
	git -C "$BARE" rev-parse master >base
'

test_expect_success 'make dist builds minivisor.tar.gz, warning-free' '
	build master b1 &&
	test -x b1/bin/minivisor &&
	tar tzf b1/dist/minivisor.tar.gz >list &&
	cat list &&
	grep -x bin/minivisor list &&
	grep -x bin/check-boot list &&
	grep -x tests/smoke.sh list &&
	! grep -v -E "^(bin|tests)/" list
'

test_expect_success 'the installed tarball boots and passes smoke on every arch' '
	mkdir installed &&
	tar xzf b1/dist/minivisor.tar.gz -C installed &&
	test -x installed/bin/check-boot &&
	test -x installed/tests/smoke.sh &&
	./installed/bin/check-boot &&
	for a in $ARCHES; do
		HANGAR_ARCH=$a ./installed/bin/check-boot &&
		HANGAR_ARCH=$a ./installed/tests/smoke.sh || exit 1
	done &&
	test "$(smoke_results b1)" = "x86_64:pass arm64:pass riscv64:pass " &&
	make -C b1 check
'

test_expect_success 'a good commit moves staging only' '
	id=$("$DEMO_TREE" commit "$DT" good "documentation") &&
	test "$(git -C "$BARE" rev-parse staging)" = "$id" &&
	test "$(git -C "$BARE" rev-parse master)" = "$(cat base)" &&
	test "$(git -C "$BARE" rev-parse staging^)" = "$(cat base)" &&
	git -C "$BARE" log -1 --format=%s staging | grep -x documentation &&
	id2=$("$DEMO_TREE" commit "$DT" good) &&
	test "$(git -C "$BARE" rev-parse staging^)" = "$id"
'

test_expect_success 'break arm64: the build passes, smoke fails on arm64 only' '
	id=$("$DEMO_TREE" commit "$DT" break arm64) &&
	test "$(git -C "$BARE" rev-parse staging)" = "$id" &&
	echo $id >broken &&
	build staging b2 &&
	test "$(smoke_results b2)" = "x86_64:pass arm64:fail riscv64:pass " &&
	cat b2.smoke-arm64 &&
	grep "FAIL: arm64" b2.smoke-arm64 &&
	if "$DEMO_TREE" commit "$DT" break arm64 2>err; then exit 1; fi &&
	grep "already broken" err &&
	test "$(git -C "$BARE" rev-parse staging)" = "$id"
'

test_expect_success 'fix arm64: smoke passes everywhere again' '
	id=$("$DEMO_TREE" commit "$DT" fix arm64) &&
	test "$(git -C "$BARE" rev-parse staging^)" = "$(cat broken)" &&
	build staging b3 &&
	test "$(smoke_results b3)" = "x86_64:pass arm64:pass riscv64:pass " &&
	if "$DEMO_TREE" commit "$DT" fix arm64 2>err; then exit 1; fi &&
	grep "not broken" err
'

test_expect_success 'break and fix work for the other arches too' '
	"$DEMO_TREE" commit "$DT" break riscv64 >/dev/null &&
	build staging b4 &&
	test "$(smoke_results b4)" = "x86_64:pass arm64:pass riscv64:fail " &&
	"$DEMO_TREE" commit "$DT" break x86_64 >/dev/null &&
	build staging b5 &&
	test "$(smoke_results b5)" = "x86_64:fail arm64:pass riscv64:fail " &&
	"$DEMO_TREE" commit "$DT" fix riscv64 >/dev/null &&
	"$DEMO_TREE" commit "$DT" fix x86_64 >/dev/null
'

test_expect_success 'flaky riscv64: fails twice on a machine, then every other run' '
	"$DEMO_TREE" commit "$DT" flaky riscv64 >/dev/null &&
	build staging b6 &&
	test "$(smoke_results b6)" = "x86_64:pass arm64:pass riscv64:fail " &&
	mkdir home2 &&
	runs="" &&
	for i in 1 2 3 4 5; do
		if HOME=$TEST_DIR/home2 HANGAR_ARCH=riscv64 b6.installed/tests/smoke.sh >run.out 2>&1
		then runs="$runs pass"; else runs="$runs fail"; fi
	done &&
	test "$runs" = " fail fail pass fail pass" &&
	grep -q "^FAIL: riscv64 timer (run 1)" b6.smoke-riscv64 &&
	if "$DEMO_TREE" commit "$DT" flaky riscv64 2>err; then exit 1; fi &&
	grep "already flaky" err &&
	"$DEMO_TREE" commit "$DT" fix riscv64 >/dev/null &&
	build staging b7 &&
	test "$(smoke_results b7)" = "x86_64:pass arm64:pass riscv64:pass "
'

test_expect_success 'series: several commits, one push, each id printed' '
	before=$(git -C "$BARE" rev-parse staging) &&
	"$DEMO_TREE" series "$DT" good break:arm64 good fix:arm64 >ids &&
	test $(wc -l <ids) = 4 &&
	test "$(git -C "$BARE" rev-parse staging)" = "$(sed -n 4p ids)" &&
	test "$(git -C "$BARE" rev-parse staging~3)" = "$(sed -n 1p ids)" &&
	test "$(git -C "$BARE" rev-parse staging~4)" = "$before" &&
	test "$(git -C "$BARE" log -1 --format=%s "$(sed -n 2p ids)")" = "arm64: keep r30 for the hypervisor" &&
	rc=0 && "$DEMO_TREE" series "$DT" good bogus 2>err || rc=$? &&
	test $rc = 2 &&
	test "$(git -C "$BARE" rev-parse staging)" = "$(sed -n 4p ids)"
'

test_expect_success 'push-master sets master' '
	id=$("$DEMO_TREE" push-master "$DT" staging~2) &&
	test "$(git -C "$BARE" rev-parse master)" = "$id" &&
	test "$(git -C "$BARE" rev-parse staging~2)" = "$id" &&
	if "$DEMO_TREE" push-master "$DT" no-such-rev 2>err; then exit 1; fi &&
	grep "no such commit" err
'

test_expect_success 'usage errors exit 2' '
	set +e
	"$DEMO_TREE" commit "$DT" break sparc 2>err; rc=$?
	test $rc = 2 || exit 1
	"$DEMO_TREE" frobnicate 2>err; rc=$?
	test $rc = 2
'

test_expect_success 'the same commands make the same commit ids' '
	"$DEMO_TREE" create again >c1 &&
	test "$(cat c1)" = "$(cat base)"
'

test_done
