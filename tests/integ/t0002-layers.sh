#!/bin/bash
# The walls between the folders stay straight (tests/check-layers.sh):
# the tree passes, and each kind of breach, made on purpose in a copy,
# is caught and named.
. "$(dirname "$0")/lib-test.sh"

CHECK=$SRCDIR/tests/check-layers.sh

test_expect_success 'the tree keeps its layers' '
	"$CHECK" "$SRCDIR" >out 2>&1 || { cat out; exit 1; }
	test ! -s out
'

# A copy of the sources to break.
copy() {
	rm -rf tree && mkdir tree &&
	(cd "$SRCDIR" && tar -cf - lib db hosts flights gate scheduler workers web cli) |
		tar -C tree -xf -
}

# breach FILE LINE: adds LINE after FILE's first #include; the check must
# fail and name FILE.
breach() {
	copy &&
	sed -i "0,/^#include/s//$2\n&/" "tree/$1" &&
	! "$CHECK" tree >out 2>&1 &&
	grep "^$1:" out
}

test_expect_success 'db/ including a domain header fails' '
	breach db/db-flight.c "#include \"report.h\"" &&
	grep -q "db/ includes flights/report.h" out &&
	breach db/db-host.c "#include \"gate.h\""
'

test_expect_success 'flights/ including db/ or gate/ fails' '
	breach flights/classify.c "#include \"db.h\"" &&
	breach flights/report.c "#include \"gate.h\""
'

test_expect_success 'libpq outside db/ fails' '
	breach web/web-hosts.c "static void x(PGresult *r) { PQclear(r); }" &&
	grep -q "libpq outside db/" out &&
	breach scheduler/plan.c "#include <libpq-fe.h>"
'

test_expect_success 'SQL outside db/ fails' '
	breach workers/job-run.c "static const char *q = \"SELECT 1 FROM jobs\";" &&
	grep -q "SQL outside db/" out &&
	breach cli/cmd-host.c "static const char *q = \"UPDATE hosts SET state = 1\";"
'

test_expect_success 'libssh2 outside hosts/, libmicrohttpd outside web/ fail' '
	breach workers/worker.c "#include <libssh2.h>" &&
	breach gate/gate.c "#include <microhttpd.h>"
'

test_done
