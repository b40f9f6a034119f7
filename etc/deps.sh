#!/bin/sh
# deps.sh PACKAGE...: installs the Debian packages hangar's build, tests and
# demo need, and the unprivileged system user its private PostgreSQL cluster
# runs as when hangar runs as root. Idempotent: does nothing when all is there.
set -eu

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
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi

if [ "$(id -u)" = 0 ] && ! getent passwd hangar >/dev/null; then
	echo "deps: creating system user 'hangar' (runs the private PostgreSQL cluster)"
	useradd --system --user-group --home-dir /nonexistent \
		--shell /usr/sbin/nologin --comment "hangar private database" hangar
fi
