#!/bin/bash
# The walls between hangar's folders (docs/ARCHITECTURE.md, "Layers"):
# which folder's headers each folder may include, and that libpq and SQL
# stay in db/, libgit2 in lib/, libssh2 in hosts/, libmicrohttpd in web/,
# libcurl in workers/ (the remote worker's link).
# Usage: check-layers.sh [SRCDIR]; prints each breach, exits 1 if any.
cd "${1:-$(dirname "$0")/..}" || exit 2

# folder: the folders it may include from (itself always)
declare -A may=(
	[lib]=""
	[flights]="lib"
	[hosts]="lib"
	[db]="lib"
	[scheduler]="lib db"
	[workers]="lib db hosts flights"
	[gate]="lib db flights"
	[web]="lib db flights gate workers"
	[cli]="lib db flights hosts scheduler workers gate web"
)
# libraries: the folders whose files may include their header
declare -A lib_home=(
	[libpq-fe.h]="db" [git2.h]="lib" [libssh2.h]="hosts"
	[libssh2_sftp.h]="hosts" [microhttpd.h]="web" [curl/curl.h]="workers"
)

declare -A home   # header name -> folder
for dir in "${!may[@]}"; do
	for h in "$dir"/*.h; do
		[ -e "$h" ] && home[${h#"$dir"/}]=$dir
	done
done

bad=0
breach() {
	echo "$1"
	bad=1
}

# One grep over every file (a process per file made this slow).
files=()
for dir in "${!may[@]}"; do
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -e "$f" ] && files+=("$f")
	done
done
while IFS=: read -r f line inc; do
	dir=${f%%/*}
	h=${inc#*[\"<]}
	h=${h%%[\">]*}
	if [ -n "${lib_home[$h]}" ]; then
		[ "$dir" = "${lib_home[$h]}" ] ||
			breach "$f:$line: includes <$h>, which only ${lib_home[$h]}/ may"
		continue
	fi
	to=${home[$h]}
	[ -z "$to" ] || [ "$to" = "$dir" ] && continue
	case " ${may[$dir]} " in
	*" $to "*) ;;
	*) breach "$f:$line: $dir/ includes $to/$h (allowed: ${may[$dir]:-none})" ;;
	esac
done < <(grep -nH '^[[:space:]]*#[[:space:]]*include' "${files[@]}" |
	 sed 's/^\([^:]*:[0-9]*\):.*include[[:space:]]*/\1:/')

# libpq and SQL outside db/. A call is PQname( ; SQL is a string literal
# that starts a statement.
sql='"[[:space:]]*(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|WITH [a-z_]+ AS|LISTEN|NOTIFY|BEGIN|COMMIT|LOCK TABLE)\b'
outside=$(ls */*.c */*.h | grep -Ev '^(db|tests|bench|build[^/]*)/')
while IFS=: read -r f line _; do
	breach "$f:$line: libpq outside db/"
done < <(grep -nHE '\bPQ[a-zA-Z]+[[:space:]]*\(|\bPG(result|conn)\b' $outside)
while IFS=: read -r f line _; do
	breach "$f:$line: SQL outside db/"
done < <(grep -nHE "$sql" $outside)
exit $bad
