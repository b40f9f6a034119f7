#!/bin/bash
# lab.sh — a simulated hangar test lab, made of real parts, on one machine.
#
# Every host is a real OpenSSH sshd on its own loopback address 127.A.B.N
# (port 22) with its own host key and work directory; its power is driven
# through its own OpenIPMI ipmi_sim BMC (IPMI over LAN, ADDR:623/udp) whose
# chassis_control script (lab-power) starts and kills that sshd; its serial
# console is a live TCP stream on ADDR:7001 (socat, like a ser2net port).
# A host with the flag qemu is a QEMU machine instead (TCG: x86_64 with
# SeaBIOS and iPXE, arm64 with U-Boot, riscv64 with OpenSBI and U-Boot,
# all Debian's), which its BMC starts and stops, which boots from the
# network (QEMU's own TFTP server serving tftp/NAME, see hangar's netboot
# keys in hosts.conf) and whose serial port is that console, both ways.
# It stays off until a job powers it on, and powers itself off.
# Nothing listens on anything but the hosts' loopback addresses.
#
# Usage:
#   lab.sh create DIR --net 127.A.B [--boot-delay SECS] NAME:ARCH[:FLAG,FLAG...]...
#   lab.sh start DIR [--no-power]    start consoles and BMCs, power hosts on
#   lab.sh stop DIR                  power off, stop everything (by pid)
#   lab.sh status DIR                one line per host
#   lab.sh power DIR NAME on|off|cycle|reset|soft|status   (ipmitool)
#   lab.sh ipmi DIR NAME ARGS...     any ipmitool command against NAME's BMC
#   lab.sh ssh DIR NAME [CMD...]     ssh to NAME with the lab identity
#   lab.sh console DIR NAME          print NAME's console stream (until ^C)
#   lab.sh fault DIR NAME panic|tftp|slow-sshd|none  make NAME's next
#                                    boots fail (or not): an sshd host
#                                    panics; a QEMU host's TFTP server
#                                    serves none of its files; slow-sshd:
#                                    sshd starts 3 s after the console
#                                    says the host booted
#
# create writes, in DIR (mode 0755):
#   id_ed25519{,.pub}  the lab identity (authorized on every host, as root)
#   known_hosts        every host's key, for strict host key checking
#   tftp/              the lab's TFTP tree: a host whose entry NAME/pxelinux.cfg
#                      has hangar.report=URL boots an "installer" that wipes
#                      its work directory and reports to URL (host-install)
#   hosts.conf         a hangar lab configuration fragment: [host "NAME"]...
#   lab.env            shell variables: LAB_DIR LAB_NET LAB_IDENTITY
#                      LAB_HOSTS_CONF LAB_KNOWN_HOSTS LAB_TFTP LAB_HOSTS="n1 n2 ..." and,
#                      per host (V = NAME with - turned into _), LAB_ADDR_V
#                      LAB_ARCH_V LAB_FLAGS_V LAB_WORKDIR_V LAB_HOSTDIR_V
#                      LAB_IPMI_V (lanplus:ADDR:623) LAB_CONSOLE_V (tcp:ADDR:7001)
#   lab-power          the chassis_control script (a copy)
#   hosts/NAME/        sshd_config, host key, authorized_keys, work/, home/ and
#                      tmp/ (the host's HOME and TMPDIR), lan.conf,
#                      host.emu, bmc-state/, console.log, power, *.pid, *.log
# Host i (from 1) has address 127.A.B.(i+1); 127.A.B.1 is the controller's.
# ARCH is a label: x86_64, arm64 or riscv64. BMC user admin, password secret,
# cipher suite 3. --boot-delay makes each boot take SECS longer before sshd
# starts (default 0).
#
# status prints: NAME ADDRESS bmc up|down power on|off ssh up|down console up|down
# Exit status: 0 success, 1 failure, 2 usage error.
set -eu -o pipefail

ME=lab.sh
TAB=$'\t'
HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd -P)

IPMI_USER="admin"
IPMI_PASSWORD=secret
IPMI_CIPHER=3
IPMI_PORT=623
CONSOLE_PORT=7001
SSH_PORT=22
BOOT_TIMEOUT=30

die() {
	echo "$ME: $*" >&2
	exit 1
}

usage() {
	[ $# -eq 0 ] || echo "$ME: $*" >&2
	sed -n '17,28s/^#//p' "$HERE/lab.sh" >&2
	exit 2
}

say() {
	echo "lab: $*"
}

need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			die "'$c' is needed (Debian packages: openssh-server openssh-client openipmi ipmitool socat util-linux procps)"
	done
}

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# --- processes ----------------------------------------------------------------

# (in bash, without a process: the lab's stop and start call these often)
pid_alive() {
	local stat
	[[ ${1:-} =~ ^[0-9]+$ ]] || return 1
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# pid_of FILE MARK: the pid in FILE, if that process lives and its command
# line contains MARK (a pid may have been reused since the file was written).
pid_of() {
	local pid='' args cmdline mark
	[ -f "$1" ] || return 1
	read -r pid 2>/dev/null <"$1" || [ -n "$pid" ] || return 1
	pid=${pid//[[:space:]]/}
	pid_alive "$pid" || return 1
	mapfile -d '' args 2>/dev/null <"/proc/$pid/cmdline" || return 1
	cmdline="${args[*]}"
	while IFS= read -r mark; do
		if [ -n "$mark" ] && [[ $cmdline == *"$mark"* ]]; then
			echo "$pid"
			return 0
		fi
	done <<<"$2"
	return 1
}

# pid_mark HOSTDIR NAME: what the command line of the host's process
# NAME.pid contains: a file in HOSTDIR, or for the boot process (run as
# "lab-power HOSTDIR boot", unless it became a QEMU host's machine) that
# too (pid_of takes one string a line).
pid_mark() {
	if [ "$2" = boot ]; then
		printf '%s/\n%s boot\n' "$1" "$1"
	else
		echo "$1/"
	fi
}

# group_members PGID: live processes of that process group.
group_members() {
	local f stat pid
	# none at all, the common case: no need to read every process
	kill -0 -- "-$PGID_WANTED" 2>/dev/null || return 0
	for f in /proc/[0-9]*/stat; do
		read -r stat 2>/dev/null <"$f" || continue
		pid=${stat%% *}
		stat=${stat##*) }
		set -- $stat
		[ "$3" = "$PGID_WANTED" ] && [ "$1" != Z ] && echo "$pid"
	done 2>/dev/null
	return 0
}

# stop_group PIDFILE MARK: TERM the process of PIDFILE and its process
# group (it was started with setsid), wait up to 5s, then KILL; remove FILE.
stop_group() {
	local pidfile=$1 mark=$2 pid i left
	pid=$(pid_of "$pidfile" "$mark") || {
		rm -f "$pidfile"
		return 0
	}
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		left=$(PGID_WANTED=$pid group_members)
		[ -z "$left" ] && ! pid_alive "$pid" && break
		sleep 0.1
	done
	left=$(PGID_WANTED=$pid group_members)
	if [ -n "$left" ] || pid_alive "$pid"; then
		echo "$ME: $pidfile: pid $pid (group: $left) ignored SIGTERM, killing" >&2
		kill -KILL -- "-$pid" 2>/dev/null || true
		kill -KILL "$pid" $left 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			pid_alive "$pid" || break
			sleep 0.1
		done
	fi
	pid_alive "$pid" && die "pid $pid ($pidfile) survived SIGKILL"
	rm -f "$pidfile"
}

close_fds() {
	local fd
	for fd in /proc/$BASHPID/fd/*; do
		fd=${fd##*/}
		case $fd in 0 | 1 | 2 | 255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
	done
}

# spawn PIDFILE LOG CMD...: start CMD detached, in its own session (so its
# process group id is its pid), with no inherited descriptor but stdout and
# stderr into LOG; its pid goes into PIDFILE.
spawn() {
	local pidfile=$1 logf=$2 i
	shift 2
	rm -f "$pidfile"
	(
		close_fds
		exec setsid bash -c 'echo $$ >"$0.tmp" && mv -f "$0.tmp" "$0" && exec "$@"' "$pidfile" "$@"
	) </dev/null >>"$logf" 2>&1 &
	for ((i = 0; i < 100; i++)); do
		[ -s "$pidfile" ] && return 0
		sleep 0.02
	done
	die "could not start $* (see $logf)"
}

# --- probes -------------------------------------------------------------------

ssh_up() { # ADDR: sshd answers with its banner
	(
		exec 3<>"/dev/tcp/$1/$SSH_PORT" || exit 1
		IFS= read -r -t 2 line <&3 || exit 1
		[[ $line == SSH-* ]]
	) 2>/dev/null
}

tcp_listening() { # ADDR PORT
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Hltn "src $1:$2" 2>/dev/null)" ]
	else
		(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
	fi
}

udp_bound() { # ADDR PORT (unknown without ss: say no)
	command -v ss >/dev/null 2>&1 && [ -n "$(ss -Hlun "src $1:$2" 2>/dev/null)" ]
}

# ipmitool reads the 4.7 MB IANA registry of enterprise numbers at every
# start (40 ms of CPU) unless $HOME/.local/usr/share/misc/enterprise-
# numbers.txt exists: one of a single entry in the lab spares it that (an
# empty one it refuses), as hangar's power-ipmi.c does in its state
ipmi() { # ADDR ARGS... (after load_lab)
	local addr=$1 home=$LAB_DIR/ipmitool
	local misc=$home/.local/usr/share/misc
	shift
	[ -s "$misc/enterprise-numbers.txt" ] ||
		{ mkdir -p "$misc" && printf '0\n  Reserved\n' >"$misc/enterprise-numbers.txt"; } 2>/dev/null
	HOME=$home ipmitool -I lanplus -C "$IPMI_CIPHER" -H "$addr" -p "$IPMI_PORT" \
		-U "$IPMI_USER" -P "$IPMI_PASSWORD" "$@"
}

# --- lab files ----------------------------------------------------------------

lab_dir() { # DIR -> absolute path, checked
	local d
	d=$(realpath -m -- "$1")
	[[ $d =~ ^/[A-Za-z0-9_./+-]*$ ]] ||
		die "$1: a lab directory path may hold only letters, digits and _ . / + - (it ends up in ipmi_sim's config and in shell commands)"
	echo "$d"
}

var_of() { echo "${1//-/_}"; }

# kv KEY VALUE: a KEY="VALUE" line for a file that shells source (values
# come from checked names, flags and paths: no quote, $, ` or backslash).
kv() {
	case $2 in *[\"\$\`\\]*) die "bad character in $1=$2" ;; esac
	printf '%s="%s"\n' "$1" "$2"
}

load_lab() { # DIR
	LAB_DIR=$(lab_dir "$1")
	[ -f "$LAB_DIR/lab.env" ] || die "$LAB_DIR: not a lab (no lab.env; create it with: $ME create DIR ...)"
	# shellcheck source=/dev/null
	. "$LAB_DIR/lab.env"
	[ -n "${LAB_HOSTS:-}" ] || die "$LAB_DIR/lab.env: no LAB_HOSTS"
}

host_addr() {
	local v
	v="LAB_ADDR_$(var_of "$1")"
	echo "${!v}"
}
host_dir() { echo "$LAB_DIR/hosts/$1"; }

is_qemu_host() { # NAME: a QEMU machine (flag qemu), not an sshd
	local v
	v=LAB_FLAGS_$(var_of "$1")
	[[ " ${!v:-} " == *" qemu "* ]]
}

check_host() { # NAME
	local h
	for h in $LAB_HOSTS; do
		[ "$h" = "$1" ] && return 0
	done
	die "$1: no such host in $LAB_DIR (hosts: $LAB_HOSTS)"
}

# --- create -------------------------------------------------------------------

cmd_create() {
	local dir='' net='' delay=0 specs=()
	while [ $# -gt 0 ]; do
		case $1 in
		--net) [ $# -ge 2 ] || usage "--net needs a value"; net=$2; shift 2 ;;
		--net=*) net=${1#--net=}; shift ;;
		--boot-delay) [ $# -ge 2 ] || usage "--boot-delay needs a value"; delay=$2; shift 2 ;;
		--boot-delay=*) delay=${1#--boot-delay=}; shift ;;
		-*) usage "create: unknown option $1" ;;
		*) if [ -z "$dir" ]; then dir=$1; else specs+=("$1"); fi; shift ;;
		esac
	done
	[ -n "$dir" ] || usage "create: no DIR"
	[ -n "$net" ] || usage "create: no --net 127.A.B"
	[ ${#specs[@]} -gt 0 ] || usage "create: no host (NAME:ARCH[:FLAGS])"
	[[ $net =~ ^127\.([0-9]{1,3})\.([0-9]{1,3})$ ]] &&
		[ "${BASH_REMATCH[1]}" -le 255 ] && [ "${BASH_REMATCH[2]}" -le 255 ] ||
		usage "--net $net: expected 127.A.B with A and B in 0..255"
	[[ $delay =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage "--boot-delay $delay: expected seconds"
	[ ${#specs[@]} -le 253 ] || usage "at most 253 hosts on a /24"
	need ssh-keygen md5sum realpath

	local names=() archs=() flagss=() vars=" " spec name arch flags rest
	for spec in "${specs[@]}"; do
		IFS=: read -r name arch flags rest <<<"$spec"
		[ -z "${rest:-}" ] || usage "$spec: expected NAME:ARCH[:FLAG,FLAG...]"
		[[ $name =~ ^[A-Za-z][A-Za-z0-9_-]{0,30}$ ]] ||
			usage "$spec: host name must be a letter then letters, digits, _ or - (at most 31)"
		case ${arch:-} in
		x86_64 | arm64 | riscv64) ;;
		*) usage "$spec: arch must be x86_64, arm64 or riscv64" ;;
		esac
		flags=${flags:-}
		[[ $flags =~ ^[A-Za-z0-9_,=.-]*$ ]] || usage "$spec: bad flags '$flags'"
		flags=$(echo "$flags" | tr ',' ' ' | xargs)
		[[ $vars != *" $(var_of "$name") "* ]] || usage "$spec: host name used twice (- and _ count as the same)"
		vars+="$(var_of "$name") "
		names+=("$name")
		archs+=("$arch")
		flagss+=("$flags")
	done

	local d
	d=$(lab_dir "$dir")
	[ ! -e "$d/lab.env" ] && [ ! -e "$d/hosts" ] || die "$d: already holds a lab (lab.sh stop it, remove it, or pick another DIR)"
	mkdir -p "$d"
	chmod 0755 "$d"
	mkdir -p "$d/hosts" "$d/tftp"
	cp "$HERE/lab-power" "$d/lab-power"
	chmod 0755 "$d/lab-power"
	ssh-keygen -q -t ed25519 -N '' -C "hangar-lab@$(hostname)" -f "$d/id_ed25519" </dev/null
	: >"$d/known_hosts"

	# The QEMU hosts' boot entries (hangar's netboot templates): each
	# machine's TFTP root is its own directory, so names are bare.
	mkdir -p "$d/netboot"
	cat >"$d/netboot/uboot.txt" <<-'EOF'
		echo hangar: %job% of flight %flight% boots %kernel% on %name%
		if tftpboot ${kernel_addr_r} %kernel%; then booti ${kernel_addr_r} - ${fdtcontroladdr}; fi
		echo hangar: could not load or start %kernel%
	EOF
	cat >"$d/netboot/ipxe.txt" <<-'EOF'
		#!ipxe
		echo hangar: %job% of flight %flight% boots %kernel% on %name%
		kernel %kernel%
		boot
	EOF
	{
		echo "# hangar lab configuration fragment for the simulated lab in $d"
		echo "# (written by hosts/lab/lab.sh create; include it from a hangar.conf)"
	} >"$d/hosts.conf"
	{
		echo "# simulated lab, written by hosts/lab/lab.sh create"
		kv LAB_DIR "$d"
		kv LAB_NET "$net"
		kv LAB_IDENTITY "$d/id_ed25519"
		kv LAB_HOSTS_CONF "$d/hosts.conf"
		kv LAB_KNOWN_HOSTS "$d/known_hosts"
		kv LAB_TFTP "$d/tftp"
		kv LAB_HOSTS "${names[*]}"
		kv LAB_BOOT_DELAY "$delay"
	} >"$d/lab.env"

	local i addr hd v guid
	for i in "${!names[@]}"; do
		name=${names[i]}
		arch=${archs[i]}
		flags=${flagss[i]}
		addr=$net.$((i + 2))
		hd=$d/hosts/$name
		v=$(var_of "$name")
		mkdir -p "$hd/work" "$hd/bmc-state" "$hd/home" "$hd/tmp"
		chmod 0755 "$hd" "$hd/work"
		ssh-keygen -q -t ed25519 -N '' -C "root@$name" -f "$hd/ssh_host_ed25519_key" </dev/null
		cp "$d/id_ed25519.pub" "$hd/authorized_keys"
		echo "$addr $(cut -d' ' -f1,2 "$hd/ssh_host_ed25519_key.pub")" >>"$d/known_hosts"
		cat >"$hd/sshd_config" <<-EOF
			# sshd of simulated lab host $name ($arch)
			ListenAddress $addr:$SSH_PORT
			PidFile $hd/sshd.pid
			HostKey $hd/ssh_host_ed25519_key
			AuthorizedKeysFile $hd/authorized_keys
			StrictModes no
			UsePAM no
			PermitRootLogin yes
			PasswordAuthentication no
			KbdInteractiveAuthentication no
			PubkeyAuthentication yes
			X11Forwarding no
			PrintMotd no
			Subsystem sftp internal-sftp
			LogLevel VERBOSE
			# a home and a temporary directory of the host's own: root's
			# dotfiles on the machine running the lab stay out of it
			SetEnv HOME=$hd/home TMPDIR=$hd/tmp
		EOF
		{
			kv HOST_NAME "$name"
			kv HOST_ARCH "$arch"
			kv HOST_ADDR "$addr"
			kv HOST_FLAGS "$flags"
			kv HOST_DIR "$hd"
			kv LAB_DIR "$d"
			kv BOOT_DELAY "$delay"
		} >"$hd/host.env"
		guid=$(printf '%s' "$hd" | md5sum | cut -c1-32)
		cat >"$hd/lan.conf" <<-EOF
			# ipmi_sim BMC of simulated lab host $name
			name "$name"
			set_working_mc 0x20
			  startlan 1
			    addr $addr $IPMI_PORT
			    priv_limit admin
			    allowed_auths_callback none md2 md5 straight
			    allowed_auths_user none md2 md5 straight
			    allowed_auths_operator none md2 md5 straight
			    allowed_auths_admin none md2 md5 straight
			    guid $guid
			  endlan
			  chassis_control "$d/lab-power $hd"
			  user 2 true "$IPMI_USER" "$IPMI_PASSWORD" admin 10 none md2 md5 straight
		EOF
		cat >"$hd/host.emu" <<-EOF
			mc_setbmc 0x20
			mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
			mc_enable 0x20
		EOF
		: >"$hd/console.log"
		echo off >"$hd/power"
		echo default >"$hd/bootdev"
		if [[ " $flags " == *" qemu "* ]]; then
			mkfifo "$hd/serial.in" "$hd/serial.out"
			mkdir -p "$d/tftp/$name"
		fi
		{
			echo
			echo "[host \"$name\"]"
			printf '\tarch = %s\n' "$arch"
			printf '\taddress = %s\n' "$addr"
			printf '\tport = %s\n' "$SSH_PORT"
			printf '\tuser = root\n'
			printf '\tworkdir = %s\n' "$hd/work"
			[ -z "$flags" ] || printf '\tflags = %s\n' "$flags"
			printf '\tpower = ipmi\n'
			printf '\tipmi = lanplus:%s:%s\n' "$addr" "$IPMI_PORT"
			printf '\tipmi-user = %s\n' "$IPMI_USER"
			printf '\tipmi-password = %s\n' "$IPMI_PASSWORD"
			printf '\tipmi-cipher = %s\n' "$IPMI_CIPHER"
			printf '\tconsole = tcp:%s:%s\n' "$addr" "$CONSOLE_PORT"
			printf '\tboot-timeout = %s\n' "$BOOT_TIMEOUT"
			if [[ " $flags " == *" qemu "* ]]; then
				printf '\tpower-cycle-time = 0\n'
				printf '\thealth-check = qemu-health\n'
				if [ "$arch" = x86_64 ]; then
					printf '\tnetboot-file = %%name%%/boot.ipxe\n'
					printf '\tnetboot = %s\n' "$d/netboot/ipxe.txt"
				else
					printf '\tnetboot-file = %%name%%/boot.scr.uimg\n'
					printf '\tnetboot = %s\n' "$d/netboot/uboot.txt"
				fi
			fi
		} >>"$d/hosts.conf"
		{
			kv "LAB_ADDR_$v" "$addr"
			kv "LAB_ARCH_$v" "$arch"
			kv "LAB_FLAGS_$v" "$flags"
			kv "LAB_WORKDIR_$v" "$hd/work"
			kv "LAB_HOSTDIR_$v" "$hd"
			kv "LAB_IPMI_$v" "lanplus:$addr:$IPMI_PORT"
			kv "LAB_CONSOLE_$v" "tcp:$addr:$CONSOLE_PORT"
		} >>"$d/lab.env"
		say "created $name ($arch${flags:+, $flags}) at $addr"
	done
	if [[ " ${flagss[*]} " == *" qemu "* ]]; then
		qemu_health "$d"
		qemu_xen "$d"
	fi
	say "lab in $d: configuration fragment $d/hosts.conf, identity $d/id_ed25519"
}

# The QEMU hosts' health check: a known-good minivisor-boot (built from
# the demo tree's boot/ into DIR/health/boot-ARCH.img) boots and finishes.
qemu_health() { # DIR
	local d=$1 src=$1/health/src a
	need make gcc aarch64-linux-gnu-gcc riscv64-linux-gnu-gcc
	mkdir -p "$src"
	tar -C "$HERE/demo-tree" -cf - Makefile boot | tar -C "$src" -xf -
	make -s -C "$src" boot >"$d/health/build.log" 2>&1 ||
		die "building the QEMU hosts' health-check kernels failed: $(tail -n 5 "$d/health/build.log")"
	for a in x86_64 arm64 riscv64; do
		cp "$src/bin/boot-$a.img" "$d/health/boot-$a.img"
	done
	rm -rf "$src"
	cat >>"$d/hosts.conf" <<-EOF

		# A QEMU host is healthy when a known-good kernel boots through its
		# firmware and finishes.
		[recipe "qemu-health"]
		${TAB}step = boot timeout=60 kernel=$d/health/boot-%arch%.img started=minivisor-boot expect=: done, powering off
	EOF
}

# Xen on the x86_64 QEMU hosts, when make deps unpacked Debian's hypervisor
# and a dom0 kernel (in $HANGAR_XEN_DIR, default /var/cache/hangar/xen): a
# busybox initramfs whose init says "hangar-dom0: up" on dom0's console and
# powers off, the iPXE entry (Xen, then dom0's kernel and initramfs as
# Multiboot modules) and the recipe qemu-xen that boots them.
qemu_xen() { # DIR
	local d=$1 xen=${HANGAR_XEN_DIR:-/var/cache/hangar/xen} ir=$1/xen/initramfs
	[ -f "$xen/xen" ] && [ -f "$xen/vmlinuz" ] || return 0
	command -v busybox >/dev/null && command -v cpio >/dev/null || return 0
	mkdir -p "$ir/bin" "$ir/dev" "$ir/proc" "$ir/sys"
	cp "$(command -v busybox)" "$ir/bin/busybox"
	ln -sf busybox "$ir/bin/sh"
	cat >"$ir/init" <<-'INIT'
		#!/bin/busybox sh
		/bin/busybox mount -t proc proc /proc
		/bin/busybox mount -t sysfs sysfs /sys
		/bin/busybox mount -t devtmpfs devtmpfs /dev
		echo "hangar-dom0: up on $(/bin/busybox uname -r)" >/dev/hvc0
		/bin/busybox poweroff -f
	INIT
	chmod 755 "$ir/init"
	(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -9) >"$d/xen/initrd.gz"
	rm -rf "$ir"
	cat >"$d/xen/xen.ipxe" <<-'IPXE'
		#!ipxe
		echo hangar: %job% of flight %flight% boots Xen on %name%
		kernel %kernel% console=com1 com1=115200,8n1 dom0_mem=512M,max:512M
		module %file1% console=hvc0 earlyprintk=xen
		module %initrd%
		boot
	IPXE
	cat >>"$d/hosts.conf" <<-EOF

		# Debian's Xen with a Debian dom0 on an x86_64 QEMU host, judged from
		# Xen's console (make deps unpacked them into $xen).
		[recipe "qemu-xen"]
		${TAB}step = boot timeout=180 entry=$d/xen/xen.ipxe kernel=$xen/xen file=$xen/vmlinuz initrd=$d/xen/initrd.gz started=Xen version [0-9] expect=hangar-dom0: up fail=Panic on CPU fail=Kernel panic
	EOF
}

# --- start --------------------------------------------------------------------

# Is anything of this lab running? Prints what.
lab_running() {
	local h hd f found=1
	for h in $LAB_HOSTS; do
		hd=$(host_dir "$h")
		for f in bmc console boot sshd; do
			if pid_of "$hd/$f.pid" "$(pid_mark "$hd" $f)" >/dev/null; then
				echo "$h: $f (pid $(cat "$hd/$f.pid"))"
				found=0
			fi
		done
	done
	return $found
}

cmd_start() {
	local dir='' power=1
	while [ $# -gt 0 ]; do
		case $1 in
		--no-power) power=; shift ;;
		-*) usage "start: unknown option $1" ;;
		*) [ -z "$dir" ] || usage "start: one DIR only"; dir=$1; shift ;;
		esac
	done
	[ -n "$dir" ] || usage "start: no DIR"
	load_lab "$dir"
	need socat ipmi_sim ipmitool setsid flock tail /usr/sbin/sshd
	local running
	if running=$(lab_running); then
		die "the lab in $LAB_DIR is already started ($(echo $running | tr '\n' ' ')); run: $ME stop $LAB_DIR"
	fi
	mkdir -p /run/sshd

	local h hd addr port
	for h in $LAB_HOSTS; do
		addr=$(host_addr "$h")
		for port in $SSH_PORT $CONSOLE_PORT; do
			! tcp_listening "$addr" "$port" ||
				die "$addr:$port ($h) is already in use: another lab on net $LAB_NET? (pick another --net)"
		done
		! udp_bound "$addr" "$IPMI_PORT" ||
			die "$addr:$IPMI_PORT/udp ($h) is already in use: another lab on net $LAB_NET?"
	done

	# From here on, a failure stops what was started.
	trap 'echo "$ME: start failed; stopping what was started" >&2; do_stop >&2 || true' EXIT

	for h in $LAB_HOSTS; do
		hd=$(host_dir "$h")
		addr=$(host_addr "$h")
		rm -f "$hd"/{bmc,console,boot,sshd}.pid
		echo off >"$hd/power"
		touch "$hd/console.log"
		# A QEMU host's console takes input too: what a client types goes
		# to its serial port (a FIFO the machine reads while it runs).
		local serve="exec tail -n0 -F $hd/console.log"
		if is_qemu_host "$h"; then
			serve="tail -n0 -F $hd/console.log & cat 1<>$hd/serial.in; kill \$!"
		fi
		spawn "$hd/console.pid" "$hd/console-server.log" \
			socat "TCP-LISTEN:$CONSOLE_PORT,bind=$addr,reuseaddr,fork" \
			"SYSTEM:$serve"
		(cd "$hd" && spawn "$hd/bmc.pid" "$hd/bmc.log" \
			ipmi_sim -c "$hd/lan.conf" -f "$hd/host.emu" -n -s "$hd/bmc-state")
	done

	local t0 ok
	for h in $LAB_HOSTS; do
		hd=$(host_dir "$h")
		addr=$(host_addr "$h")
		t0=$(now)
		ok=
		for ((i = 0; i < 100; i++)); do
			pid_of "$hd/console.pid" "$hd/" >/dev/null ||
				die "$h: the console server died: $(tail -n 5 "$hd/console-server.log")"
			if tcp_listening "$addr" $CONSOLE_PORT; then ok=1; break; fi
			sleep 0.05
		done
		[ -n "$ok" ] || die "$h: console server not listening on $addr:$CONSOLE_PORT: $(tail -n 5 "$hd/console-server.log")"
		ok=
		for ((i = 0; i < 40; i++)); do
			pid_of "$hd/bmc.pid" "$hd/" >/dev/null ||
				die "$h: the BMC (ipmi_sim) died: $(tail -n 5 "$hd/bmc.log")"
			if ipmi "$addr" -N 1 -R 1 power status >/dev/null 2>&1; then ok=1; break; fi
			sleep 0.1
		done
		[ -n "$ok" ] || die "$h: the BMC at $addr:$IPMI_PORT does not answer: $(tail -n 5 "$hd/bmc.log")"
		say "$h: console tcp:$addr:$CONSOLE_PORT, bmc lanplus:$addr:$IPMI_PORT up ($(elapsed "$t0")s)"
	done

	if [ -n "$power" ]; then
		# QEMU hosts stay off: their jobs power them on (an idle
		# firmware prompt would spin a CPU)
		for h in $LAB_HOSTS; do
			is_qemu_host "$h" && continue
			addr=$(host_addr "$h")
			ipmi "$addr" power on >/dev/null || die "$h: ipmitool power on failed"
			say "$h: power on (ipmitool)"
		done
		local timeout
		timeout=$(awk -v d="${LAB_BOOT_DELAY:-0}" -v t=$BOOT_TIMEOUT 'BEGIN { print int(t + d) }')
		for h in $LAB_HOSTS; do
			is_qemu_host "$h" && continue
			hd=$(host_dir "$h")
			addr=$(host_addr "$h")
			t0=$(now)
			ok=
			for ((i = 0; i < timeout * 20; i++)); do
				if ssh_up "$addr"; then ok=1; break; fi
				sleep 0.05
			done
			[ -n "$ok" ] || die "$h: sshd at $addr:$SSH_PORT did not answer within ${timeout}s: $(tail -n 5 "$hd/console.log" "$hd/sshd.log" "$hd/power.log" 2>&1)"
			say "$h: ssh up at root@$addr ($(elapsed "$t0")s)"
		done
	fi
	trap - EXIT
	say "started $LAB_DIR ($LAB_HOSTS)"
}

# --- stop ---------------------------------------------------------------------

stop_host() {
	local h=$1 hd f rc=0
	hd=$(host_dir "$h")
	[ -d "$hd" ] || return 0
	# Power off directly (the BMC may be gone): kills sshd and the boot.
	"$LAB_DIR/lab-power" "$hd" set power 0 >/dev/null || rc=1
	stop_group "$hd/bmc.pid" "$hd/" || rc=1
	stop_group "$hd/console.pid" "$hd/" || rc=1
	for f in boot sshd; do
		if pid_of "$hd/$f.pid" "$(pid_mark "$hd" $f)" >/dev/null; then
			echo "$ME: $h: $f still running after power off" >&2
			stop_group "$hd/$f.pid" "$(pid_mark "$hd" $f)" || rc=1
		fi
		rm -f "$hd/$f.pid"
	done
	return $rc
}

# The hosts at once: each stop mostly waits for its processes to go.
do_stop() {
	local h p pids=() rc=0
	for h in $LAB_HOSTS; do
		stop_host "$h" &
		pids+=("$!")
	done
	for p in "${pids[@]}"; do
		wait "$p" || rc=1
	done
	return $rc
}

cmd_stop() {
	[ $# -eq 1 ] || usage "stop: DIR"
	load_lab "$1"
	do_stop || die "could not stop everything in $LAB_DIR"
	local left
	if left=$(lab_running); then
		die "still running in $LAB_DIR: $left"
	fi
	say "stopped $LAB_DIR"
}

# --- status -------------------------------------------------------------------

cmd_status() {
	[ $# -eq 1 ] || usage "status: DIR"
	load_lab "$1"
	local h hd addr bmc power ssh console out
	for h in $LAB_HOSTS; do
		hd=$(host_dir "$h")
		addr=$(host_addr "$h")
		bmc=down
		power=$(cat "$hd/power" 2>/dev/null || echo off)
		[ "$power" = on ] || power=off
		if pid_of "$hd/bmc.pid" "$hd/" >/dev/null; then
			if out=$(ipmi "$addr" -N 1 -R 2 power status 2>/dev/null); then
				bmc=up
				case $out in
				*" is on"*) power=on ;;
				*) power=off ;;
				esac
			fi
		fi
		ssh=down
		ssh_up "$addr" && ssh=up
		console=down
		pid_of "$hd/console.pid" "$hd/" >/dev/null && tcp_listening "$addr" $CONSOLE_PORT && console=up
		printf '%-16s %-15s bmc %-4s power %-3s ssh %-4s console %s\n' \
			"$h" "$addr" "$bmc" "$power" "$ssh" "$console"
	done
}

# --- per-host commands ----------------------------------------------------------

cmd_power() {
	[ $# -eq 3 ] || usage "power: DIR NAME on|off|cycle|reset|soft|status"
	load_lab "$1"
	check_host "$2"
	case $3 in
	on | off | cycle | reset | soft | status) ;;
	*) usage "power: $3: expected on|off|cycle|reset|soft|status" ;;
	esac
	need ipmitool
	ipmi "$(host_addr "$2")" power "$3"
}

cmd_ipmi() {
	[ $# -ge 3 ] || usage "ipmi: DIR NAME ARGS..."
	load_lab "$1"
	check_host "$2"
	local addr
	addr=$(host_addr "$2")
	shift 2
	need ipmitool
	ipmi "$addr" "$@"
}

cmd_ssh() {
	[ $# -ge 2 ] || usage "ssh: DIR NAME [CMD...]"
	load_lab "$1"
	check_host "$2"
	local addr
	addr=$(host_addr "$2")
	shift 2
	need ssh
	exec ssh -i "$LAB_IDENTITY" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=yes -o UserKnownHostsFile="$LAB_KNOWN_HOSTS" \
		-o ConnectTimeout=10 -o LogLevel=ERROR -p "$SSH_PORT" "root@$addr" "$@"
}

cmd_console() {
	[ $# -eq 2 ] || usage "console: DIR NAME"
	load_lab "$1"
	check_host "$2"
	need socat
	exec socat -u "TCP:$(host_addr "$2"):$CONSOLE_PORT" STDOUT
}

cmd_fault() {
	[ $# -eq 3 ] || usage "fault: DIR NAME panic|tftp|slow-sshd|none"
	load_lab "$1"
	check_host "$2"
	case $3 in
	panic | tftp | slow-sshd) echo "$3" >"$(host_dir "$2")/fault" ;;
	none) rm -f "$(host_dir "$2")/fault" ;;
	*) usage "fault: $3: expected panic, tftp, slow-sshd or none" ;;
	esac
	say "$2: fault $3 (from the next boot on)"
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
create) cmd_create "$@" ;;
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
status) cmd_status "$@" ;;
power) cmd_power "$@" ;;
ipmi) cmd_ipmi "$@" ;;
ssh) cmd_ssh "$@" ;;
console) cmd_console "$@" ;;
fault) cmd_fault "$@" ;;
-h | --help | help) usage ;;
*) usage "unknown command: $cmd" ;;
esac
