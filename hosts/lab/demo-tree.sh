#!/bin/bash
# demo-tree.sh — the demo tree of hangar's test lab: a git repository of
# minivisor (hosts/lab/demo-tree/), a toy hypervisor with per-arch tests,
# in which a regression can be introduced on purpose (and fixed).
#
#   demo-tree.sh create DEST
#       DEST/minivisor.git: a bare repository, branches master and staging
#       at the same first commit (HEAD: master); DEST/minivisor: the work
#       clone the commits are made in. Prints the commit id.
#   demo-tree.sh commit DEST good [MSG]
#       a harmless commit (a line in NEWS) on top of staging, pushed there
#   demo-tree.sh commit DEST break ARCH
#       a commit after which the build still succeeds and tests/smoke.sh
#       fails for ARCH (x86_64, arm64 or riscv64) only, pushed to staging
#   demo-tree.sh commit DEST flaky ARCH
#       a commit after which tests/smoke.sh for ARCH fails now and then:
#       on each machine, its 1st and 2nd runs fail, then every other one
#       (a count in $HOME), pushed to staging
#   demo-tree.sh commit DEST panic|hang|case ARCH
#       a commit after which minivisor-boot (boot/, the kernel the QEMU
#       hosts boot) panics at boot, hangs at boot, or fails one of its 20
#       self-tests (arch-regs) on ARCH only, pushed to staging
#   demo-tree.sh commit DEST fix ARCH
#       a commit that undoes that breakage (or flakiness, or boot fault),
#       pushed to staging
#   demo-tree.sh series DEST KIND[:ARCH]...
#       those commits (good, break:ARCH, fix:ARCH, flaky:ARCH, panic:ARCH,
#       hang:ARCH, case:ARCH) one on top of
#       the other, then one push of them all to staging; prints each id
#   demo-tree.sh push-master DEST REV
#       set master of DEST/minivisor.git to REV (a commit id or a ref)
#
# commit and push-master print the new commit id (alone, on stdout).
# Commits have a fixed author (Minivisor Developer) and dates that follow
# from their position in history (2024-01-01 plus one hour per commit), so
# the same sequence of commands makes the same commit ids. The user's and
# the system's git configuration are not read.
# Exit status: 0 success, 1 failure, 2 usage error.
set -eu -o pipefail

ME=demo-tree.sh
HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)
SRC=$HERE/demo-tree

# No ~/.gitconfig, no /etc/gitconfig: identity and settings are local.
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL \
	GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL GIT_AUTHOR_DATE GIT_COMMITTER_DATE

# The registers of each arch in src/arch.c as shipped; "break" takes one away.
declare -A REGS=([x86_64]=16 [arm64]=31 [riscv64]=32)

die() {
	echo "$ME: $*" >&2
	exit 1
}

usage() {
	[ $# -eq 0 ] || echo "$ME: $*" >&2
	sed -n '2,38s/^# \{0,1\}//p' "$HERE/demo-tree.sh" >&2
	exit 2
}

abs() { realpath -m -- "$1"; }

git_q() { git "$@" >&2; }

# commit_all DIR MSG: commit everything in DIR with the next date.
commit_all() {
	local dir=$1 msg=$2 n date
	n=$(git -C "$dir" rev-list --count HEAD 2>/dev/null || echo 0)
	date="@$((1704067200 + n * 3600)) +0000"
	git -C "$dir" add -A
	GIT_AUTHOR_DATE=$date GIT_COMMITTER_DATE=$date \
		git -C "$dir" commit -q -m "$msg" >&2
}

check_arch() {
	[ -n "${REGS[$1]:-}" ] || usage "unknown arch '$1' (x86_64, arm64 or riscv64)"
}

cmd_create() {
	[ $# -eq 1 ] || usage "create: DEST"
	local dest bare work
	dest=$(abs "$1")
	bare=$dest/minivisor.git
	work=$dest/minivisor
	[ ! -e "$bare" ] && [ ! -e "$work" ] || die "$dest already holds a demo tree"
	[ -f "$SRC/src/arch.c" ] || die "$SRC: the demo tree sources are missing"
	command -v git >/dev/null || die "git is needed"
	mkdir -p "$dest"

	git_q init -q --bare "$bare"
	git -C "$bare" symbolic-ref HEAD refs/heads/master

	git_q init -q "$work"
	git -C "$work" config user.name "Minivisor Developer"
	git -C "$work" config user.email "dev@minivisor.example"
	git -C "$work" config commit.gpgsign false
	git -C "$work" config core.hooksPath /dev/null
	git -C "$work" symbolic-ref HEAD refs/heads/staging
	tar -C "$SRC" --exclude=./bin --exclude=./dist -cf - . | tar -C "$work" -xf -
	commit_all "$work" "minivisor 1.0.0: a toy hypervisor for x86_64, arm64 and riscv64"
	git -C "$work" remote add origin "$bare"
	git_q -C "$work" push -q origin HEAD:refs/heads/master HEAD:refs/heads/staging
	git -C "$work" branch -q --set-upstream-to=origin/staging staging 2>/dev/null ||
		git_q -C "$work" fetch -q origin
	git -C "$work" rev-parse HEAD
}

# Bring the work clone to the tip of staging (whoever moved it).
sync_work() {
	git_q -C "$WORK" fetch -q origin
	git_q -C "$WORK" checkout -q -B staging origin/staging
	git_q -C "$WORK" reset -q --hard origin/staging
	git_q -C "$WORK" clean -q -fdx
}

# The boot faults: boot/faults.h has FAULT_PANIC, FAULT_HANG and
# FAULT_CASE, each "" or an arch name.
BOOT_FAULTS=$'panic PANIC\nhang HANG\ncase CASE'

boot_fault_of() { # ARCH: the kind of boot fault ARCH has, if any
	local kind macro
	while read -r kind macro; do
		grep -q "^#define FAULT_$macro \"$1\"" "$WORK/boot/faults.h" && echo "$kind" && return 0
	done <<<"$BOOT_FAULTS"
	return 1
}

set_boot_fault() { # KIND FROM TO
	local macro
	macro=$(awk -v k="$1" '$1 == k { print $2 }' <<<"$BOOT_FAULTS")
	grep -q "^#define FAULT_$macro \"$2\"\$" "$WORK/boot/faults.h" || return 1
	sed -i "s/^#define FAULT_$macro \"$2\"\$/#define FAULT_$macro \"$3\"/" "$WORK/boot/faults.h"
}

set_regs() { # ARCH FROM TO: in src/arch.c
	local arch=$1 from=$2 to=$3 file=$WORK/src/arch.c
	grep -Eq "^[[:space:]]*\{ \"$arch\",[[:space:]]+[0-9]+,[[:space:]]+$from \}" "$file" || return 1
	sed -E -i "s/^([[:space:]]*\{ \"$arch\",[[:space:]]+[0-9]+,[[:space:]]+)$from \}/\1$to }/" "$file"
}

# make_commit KIND [ARG]: one commit in $WORK (not pushed).
make_commit() {
	local kind=$1 msg
	shift
	case $kind in
	good)
		[ $# -le 1 ] || usage "commit: DEST good [MSG]"
		msg=${1:-"minor improvement #$(git -C "$WORK" rev-list --count HEAD)"}
		[ -n "$msg" ] && [[ $msg != *$'\n'* ]] || usage "commit: MSG must be one non-empty line"
		printf -- '- %s\n' "$msg" >>"$WORK/NEWS"
		;;
	break)
		[ $# -eq 1 ] || usage "commit: DEST break ARCH"
		check_arch "$1"
		local top=$((REGS[$1] - 1))
		set_regs "$1" "${REGS[$1]}" "$top" ||
			die "$1 is already broken (or src/arch.c changed): nothing to break"
		msg="$1: keep r$top for the hypervisor"
		;;
	flaky)
		[ $# -eq 1 ] || usage "commit: DEST flaky ARCH"
		check_arch "$1"
		[ ! -e "$WORK/tests/flaky-$1" ] || die "$1 is already flaky"
		echo "the smoke test of $1 races the timer interrupt" >"$WORK/tests/flaky-$1"
		msg="$1: take the timer interrupt during smoke"
		;;
	panic | hang | case)
		[ $# -eq 1 ] || usage "commit: DEST $kind ARCH"
		check_arch "$1"
		set_boot_fault "$kind" "" "$1" ||
			die "boot/faults.h already has a $kind fault: fix it first"
		case $kind in
		panic) msg="$1: map boot memory from the firmware's table" ;;
		hang) msg="$1: wait for the boot CPU's timer at boot" ;;
		case) msg="$1: reserve a register for the boot self-test" ;;
		esac
		;;
	fix)
		[ $# -eq 1 ] || usage "commit: DEST fix ARCH"
		check_arch "$1"
		local bf
		if bf=$(boot_fault_of "$1"); then
			set_boot_fault "$bf" "$1" ""
			msg="$1: undo the boot $bf"
		elif [ -e "$WORK/tests/flaky-$1" ]; then
			rm -f "$WORK/tests/flaky-$1"
			msg="$1: no timer interrupt during smoke"
		else
			set_regs "$1" "$((REGS[$1] - 1))" "${REGS[$1]}" ||
				die "$1 is not broken: nothing to fix"
			msg="$1: give r$((REGS[$1] - 1)) back to guests"
		fi
		;;
	*)
		usage "commit: unknown kind '$kind' (good, break, flaky, panic, hang, case or fix)"
		;;
	esac
	commit_all "$WORK" "$msg"
}

# Finds DEST's work clone and brings it to the tip of staging.
open_work() {
	WORK=$(abs "$1")/minivisor
	[ -d "$WORK/.git" ] || die "$1: no demo tree (create it with: $ME create DEST)"
	sync_work
}

cmd_commit() {
	[ $# -ge 2 ] || usage "commit: DEST good [MSG] | DEST break|flaky|panic|hang|case|fix ARCH"
	open_work "$1"
	shift
	make_commit "$@"
	git_q -C "$WORK" push -q origin HEAD:refs/heads/staging
	git -C "$WORK" rev-parse HEAD
}

cmd_series() {
	[ $# -ge 2 ] || usage "series: DEST KIND[:ARCH]..."
	local spec ids=()
	open_work "$1"
	shift
	for spec in "$@"; do
		if [[ $spec == *:* ]]; then
			make_commit "${spec%%:*}" "${spec#*:}"
		else
			make_commit "$spec"
		fi
		ids+=("$(git -C "$WORK" rev-parse HEAD)")
	done
	git_q -C "$WORK" push -q origin HEAD:refs/heads/staging
	printf '%s\n' "${ids[@]}"
}

cmd_push_master() {
	[ $# -eq 2 ] || usage "push-master: DEST REV"
	local dest bare rev
	dest=$(abs "$1")
	bare=$dest/minivisor.git
	[ -d "$bare" ] || die "$dest: no demo tree (create it with: $ME create DEST)"
	rev=$(git -C "$bare" rev-parse -q --verify "$2^{commit}") ||
		die "$2: no such commit in $bare"
	git -C "$bare" update-ref refs/heads/master "$rev"
	echo "$rev"
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
create) cmd_create "$@" ;;
commit) cmd_commit "$@" ;;
series) cmd_series "$@" ;;
push-master) cmd_push_master "$@" ;;
-h | --help | help) usage ;;
*) usage "unknown command: $cmd" ;;
esac
