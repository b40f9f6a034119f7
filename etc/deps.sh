#!/bin/sh
# deps.sh PACKAGE...: installs the Debian packages hangar's build, tests and
# demo need, the unprivileged system user its private PostgreSQL cluster
# runs as when hangar runs as root, and the browser tests' node modules
# (tests/browser: `npm ci` of its package-lock.json). Idempotent: does
# nothing when all is there.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd -P)
browser=$top/tests/browser

missing=
for p in "$@"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing Debian packages:$missing" >&2
		echo "deps: run 'make deps' as root to install them" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	# Packages with a daemon (nginx, for the web benchmark) must not start
	# it: everything hangar runs listens on loopback, started by its tests.
	norc=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		norc=1
	fi
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
	[ -z "$norc" ] || rm -f /usr/sbin/policy-rc.d
fi

if [ "$(id -u)" = 0 ] && ! getent passwd hangar >/dev/null; then
	echo "deps: creating system user 'hangar' (runs the private PostgreSQL cluster)"
	useradd --system --user-group --home-dir /nonexistent \
		--shell /usr/sbin/nologin --comment "hangar private database" hangar
fi

# The browser tests drive Debian's chromium with playwright-core, which
# never downloads a browser of its own. Node.js comes from the machine when
# it has one (a nodesource build provides npm itself and conflicts with
# Debian's npm package, so neither is in the list above), else from Debian.
if [ -f "$browser/package-lock.json" ]; then
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		if [ "$(id -u)" != 0 ]; then
			echo "deps: node and npm are needed for tests/browser" >&2
			echo "deps: run 'make deps' as root to install them" >&2
			exit 1
		fi
		echo "deps: installing nodejs npm"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends nodejs npm
	fi
	# the version the lock file pins, and the one installed (if any)
	want=$(cd "$browser" && node -p "require('./package-lock.json').packages['node_modules/playwright-core'].version")
	have=$(cd "$browser" && node -p "require('./node_modules/playwright-core/package.json').version" 2>/dev/null) || have=
	if [ "$have" != "$want" ]; then
		echo "deps: npm ci in tests/browser (playwright-core $want)"
		(cd "$browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
	fi
	major=$(node -p 'process.versions.node.split(".")[0]')
	if [ "$major" -lt 20 ]; then
		echo "deps: warning: node $(node --version) is older than playwright-core $want wants (>= 20)" >&2
	fi
fi

# Xen on the test lab's x86_64 QEMU machine (tests/integ/t0770-xen-boot.sh,
# the demo's optional test-amd64-xen job): Debian's hypervisor and a
# dom0-capable Debian kernel, unpacked (not installed: no bootloader
# hooks on this machine) into $XEN_DIR as xen (the ELF32 image iPXE's
# Multiboot loader takes) and vmlinuz.
XEN_DIR=${HANGAR_XEN_DIR:-/var/cache/hangar/xen}
if [ ! -f "$XEN_DIR/xen" ] || [ ! -f "$XEN_DIR/vmlinuz" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: the Xen boot files are missing in $XEN_DIR; run 'make deps' as root" >&2
		exit 1
	fi
	kernel=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
	[ -n "$kernel" ] || { echo "deps: no kernel behind linux-image-amd64" >&2; exit 1; }
	echo "deps: unpacking xen-hypervisor-4.17-amd64 and $kernel into $XEN_DIR"
	tmp=$(mktemp -d)
	chmod 755 "$tmp"   # apt-get download runs as _apt
	(cd "$tmp" && apt-get download -qq xen-hypervisor-4.17-amd64 "$kernel")
	for deb in "$tmp"/*.deb; do
		dpkg -x "$deb" "$tmp/root"
	done
	mkdir -p "$XEN_DIR"
	zcat "$tmp"/root/boot/xen-4.17-amd64.gz >"$XEN_DIR/xen.tmp"
	cp "$tmp"/root/boot/vmlinuz-*-amd64 "$XEN_DIR/vmlinuz.tmp"
	mv "$XEN_DIR/xen.tmp" "$XEN_DIR/xen"
	mv "$XEN_DIR/vmlinuz.tmp" "$XEN_DIR/vmlinuz"
	rm -rf "$tmp"
fi
