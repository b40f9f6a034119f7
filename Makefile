# hangar: one GNU Makefile. `make` builds ./hangar; `make check` runs every
# test; `make asan` runs them again under AddressSanitizer and UBSan;
# `make bench` prints the benchmarks; `make deps` installs what all of that
# needs on Debian 12 (as root, idempotently).

O ?= build
CC ?= cc
PKGS := libgit2 libssh2 libmicrohttpd jansson libpq libcrypto libcurl

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)
# Where `hangar up --demo` finds lab/ (the simulated lab, the demo tree)
# when no PREFIX/share/hangar sits beside the binary: the source tree's.
DATADIR ?= $(CURDIR)/hosts
# make install [PREFIX=/usr/local] [DESTDIR=]: the binary and its core
# (hangar-core.so, in PKGLIBDIR), lab/ in
# share/hangar (found beside the binary: the install is relocatable),
# the manual pages, the systemd units (naming BINDIR), the documentation
# and the example configuration.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SHAREDIR ?= $(PREFIX)/share/hangar
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/hangar
UNITDIR ?= $(PREFIX)/lib/systemd/system
# hangar-core.so, which the `hangar` front loads (cli/front.c): found
# beside it, in ../lib/hangar from it, else here.
PKGLIBDIR ?= $(PREFIX)/lib/hangar
PG_BINDIR ?= $(shell pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)

WARNINGS := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Wwrite-strings -Werror
OPT ?= -O2 -g
SANITIZE ?=
CPPFLAGS_ALL := -D_GNU_SOURCE -Ilib -Idb -Ihosts -Iflights -Igate -Ischeduler \
	-Iworkers -Iweb -Icli -I$(O)/gen \
	-DHANGAR_DATADIR='"$(DATADIR)"' \
	-DHANGAR_PG_BINDIR='"$(PG_BINDIR)"'
# Every object may go into hangar-core.so, which exports only its entry.
CFLAGS_ALL := -std=c17 $(WARNINGS) $(OPT) $(SANITIZE) -fPIC -fvisibility=hidden $(CFLAGS) \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS_ALL := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm $(LDLIBS)

LIB_SRC := $(wildcard lib/*.c)
CORE_SRC := $(wildcard db/*.c hosts/*.c flights/*.c gate/*.c scheduler/*.c \
	workers/*.c web/*.c)
CLI_SRC := $(filter-out cli/main.c cli/front.c,$(wildcard cli/*.c))
MIGRATIONS := $(sort $(wildcard db/migrations/*.sql))
GEN_SRC := $(O)/gen/db-migrations-data.c

OBJS := $(patsubst %.c,$(O)/obj/%.o,$(LIB_SRC) $(CORE_SRC) $(CLI_SRC)) \
	$(O)/obj/gen/db-migrations-data.o
MAIN_OBJ := $(O)/obj/cli/main.o
# The `hangar` executable: what it answers itself needs none of the
# libraries the core links but Jansson.
CORE_SO := $(O)/hangar-core.so
FRONT_OBJS := $(O)/obj/cli/front.o $(O)/obj/cli/ctl-client.o $(O)/obj/cli/cli.o \
	$(patsubst %,$(O)/obj/lib/%.o,buf conf err fsutil labconf log net proc \
	strmap strnum vec xalloc runvar)

UNIT_SRC := $(wildcard tests/unit/test-*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))
# The longest first, so that the others fill the lanes beside them.
INTEG_LONG := tests/integ/t0670-faults.sh tests/integ/t0920-sites.sh \
	tests/integ/t0720-gate-lab.sh \
	tests/integ/t0410-deb-package.sh tests/integ/t0760-qemu-boot.sh \
	tests/integ/t0400-up-demo.sh tests/integ/t0520-scheduler-incremental.sh \
	tests/integ/t0740-gate-starved.sh tests/integ/t0630-worker-faults.sh \
	tests/integ/t0770-xen-boot.sh tests/integ/t0910-remote-worker.sh
INTEG_TESTS := $(INTEG_LONG) \
	$(filter-out $(INTEG_LONG),$(sort $(wildcard tests/integ/t[0-9]*.sh)))
# Tests mostly wait on daemons, hosts and timeouts, not on the CPU (the
# whole suite is about 8 minutes of CPU for 22 of waiting): six run at
# once on two cores (TEST_JOBS=1: one, its output as it comes).
TEST_JOBS ?= 6

DEBS := gcc make pkg-config git libgit2-dev libssh2-1-dev libmicrohttpd-dev \
	libjansson-dev libpq-dev libssl-dev libcurl4-gnutls-dev libcmocka-dev \
	postgresql postgresql-client \
	openssh-server openssh-client openipmi ipmitool pdudaemon socat curl python3 \
	procps util-linux iproute2 chromium clang libclang-rt-14-dev wrk nginx graphviz \
	qemu-system-x86 qemu-system-arm qemu-system-misc u-boot-qemu opensbi \
	ipxe-qemu gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu busybox-static cpio \
	systemd man-db debhelper fakeroot dpkg-dev

.PHONY: all check check-run unit integ asan bench deps clean demo tidy cppcheck fuzz man install
.DELETE_ON_ERROR:

all: hangar

hangar: $(O)/hangar
	@if [ "$(O)" = build ]; then ln -sf $(O)/hangar hangar; fi

# Linked beside and renamed into place: the linker writes into the file
# it finds there, under every daemon that has it mapped.
$(CORE_SO): $(OBJS) $(MAIN_OBJ)
	$(CC) $(CFLAGS_ALL) -shared -o $@.tmp $^ $(LDLIBS_ALL)
	@mv -f $@.tmp $@

$(O)/hangar: $(FRONT_OBJS) $(CORE_SO)
	$(CC) $(CFLAGS_ALL) -o $@.tmp $(FRONT_OBJS) \
		$(shell pkg-config --libs jansson 2>/dev/null) $(LDLIBS)
	@mv -f $@.tmp $@

$(O)/obj/cli/front.o: CPPFLAGS_ALL += -DHANGAR_PKGLIBDIR='"$(PKGLIBDIR)"'

$(O)/obj/%.o: %.c $(wildcard lib/*.h db/*.h hosts/*.h flights/*.h gate/*.h scheduler/*.h \
	workers/*.h web/*.h cli/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -c -o $@ $<

$(O)/obj/gen/%.o: $(O)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -Wno-overlength-strings -c -o $@ $<

# The version in one generated header, rewritten only when it changes, and
# every object that says it rebuilt then: `hangar --version` and the
# harness a worker records with each job (the evidence records) never
# disagree after an incremental build.
VERSION_H := $(O)/gen/version.h
$(VERSION_H): FORCE
	@mkdir -p $(dir $@)
	@printf '#define HANGAR_VERSION "%s"\n' '$(VERSION)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi
$(O)/obj/cli/main.o $(O)/obj/cli/front.o $(O)/obj/cli/cmd-backup.o $(O)/obj/workers/wlink-db.o \
	$(O)/obj/workers/wlink-http.o: $(VERSION_H)
.PHONY: FORCE
FORCE:

$(GEN_SRC): $(MIGRATIONS) db/embed-migrations.sh
	@mkdir -p $(dir $@)
	sh db/embed-migrations.sh $(MIGRATIONS) > $@

$(O)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $(filter-out %.h,$^) $(LDLIBS_ALL) -lcmocka

# The tests' `q` (tests/integ/lib-test.sh): psql's answers, one process.
PQ_RELAY := $(O)/tests/pq-relay
$(PQ_RELAY): tests/tools/pq-relay.c $(O)/obj/lib/buf.o $(O)/obj/lib/xalloc.o \
		$(O)/obj/lib/log.o
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

# libFuzzer targets (tests/fuzz/). clang only; they carry their own ASan
# and UBSan whatever SANITIZE says, so only the plain `make check` builds
# and runs them (under `make asan` t0830 says SKIP). Defined before the
# rules that name FUZZ_BINS as a prerequisite: make expands those at once.
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=c17 $(WARNINGS) -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_WEB_SRC := tests/fuzz/fuzz-web.c web/web-route.c lib/buf.c lib/vec.c \
	lib/xalloc.c lib/strnum.c lib/log.c
FUZZ_BINS := $(if $(SANITIZE),,$(if $(shell command -v $(FUZZ_CC)),$(O)/fuzz-web))

# The tests need the Debian packages: `check` makes sure they are there
# first, then builds and runs everything.
check: deps
	@$(MAKE) --no-print-directory check-run

check-run: $(O)/hangar $(PQ_RELAY) $(UNIT_BINS) $(FUZZ_BINS)
	@HANGAR=$(CURDIR)/$(O)/hangar HANGAR_FUZZ_WEB=$(if $(FUZZ_BINS),$(CURDIR)/$(O)/fuzz-web) \
		TEST_JOBS=$(TEST_JOBS) CMOCKA_MESSAGE_OUTPUT=TAP sh tests/run.sh \
		$(UNIT_BINS) $(INTEG_TESTS)

unit: $(UNIT_BINS)
	@CMOCKA_MESSAGE_OUTPUT=TAP sh tests/run.sh $(UNIT_BINS)

integ: $(O)/hangar $(PQ_RELAY) $(FUZZ_BINS)
	@HANGAR=$(CURDIR)/$(O)/hangar HANGAR_FUZZ_WEB=$(if $(FUZZ_BINS),$(CURDIR)/$(O)/fuzz-web) \
		TEST_JOBS=$(TEST_JOBS) sh tests/run.sh $(INTEG_TESTS)


$(O)/fuzz-web: $(FUZZ_WEB_SRC) $(wildcard lib/*.h db/*.h flights/*.h web/*.h)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@$(FUZZ_CC) $(CPPFLAGS_ALL) $(FUZZ_CFLAGS) \
		$(shell pkg-config --cflags libpq jansson 2>/dev/null) \
		-o $@ $(FUZZ_WEB_SRC) -ljansson

# A longer run by hand: make fuzz FUZZ_TIME=600
fuzz: $(O)/fuzz-web
	@mkdir -p $(O)/fuzz-corpus-web
	$(O)/fuzz-web -max_total_time=$(or $(FUZZ_TIME),300) -rss_limit_mb=1024 \
		$(O)/fuzz-corpus-web tests/fuzz/corpus-web

asan:
	$(MAKE) O=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
		SANITIZE='-fsanitize=address,undefined -fno-sanitize-recover=all' \
		check

bench: $(O)/hangar $(O)/bench/bisect-bench
	@HANGAR=$(CURDIR)/$(O)/hangar sh bench/run.sh

$(O)/bench/%: bench/%.c $(OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -o $@ $^ $(LDLIBS_ALL)

deps:
	@sh etc/deps.sh $(DEBS)

# The manual pages, written by hangar itself from its help texts and its
# configuration key table (hangar help --man, hangar help config --man).
man: $(O)/man/hangar.1 $(O)/man/hangar.conf.5

$(O)/man/hangar.1: $(O)/hangar
	@mkdir -p $(@D)
	$(O)/hangar help --man >$@

$(O)/man/hangar.conf.5: $(O)/hangar
	@mkdir -p $(@D)
	$(O)/hangar help config --man >$@

install: $(O)/hangar man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR)
	install -d $(DESTDIR)$(PKGLIBDIR)
	install -m 755 $(O)/hangar $(DESTDIR)$(BINDIR)/hangar
	install -m 644 $(CORE_SO) $(DESTDIR)$(PKGLIBDIR)/hangar-core.so
	rm -rf $(DESTDIR)$(SHAREDIR)/lab
	tar -C hosts --exclude=./lab/demo-tree/bin --exclude=./lab/demo-tree/dist \
		-cf - ./lab | tar -C $(DESTDIR)$(SHAREDIR) -xf -
	install -m 644 $(O)/man/hangar.1 $(DESTDIR)$(MANDIR)/man1/hangar.1
	install -m 644 $(O)/man/hangar.conf.5 $(DESTDIR)$(MANDIR)/man5/hangar.conf.5
	install -m 644 README.md NEWS.md docs/*.md etc/hangar.conf.example $(DESTDIR)$(DOCDIR)/
	for u in etc/systemd/*; do \
		sed 's|/usr/bin/hangar|$(BINDIR)/hangar|' $$u >$(DESTDIR)$(UNITDIR)/$${u##*/} && \
		chmod 644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; \
	done

demo: deps
	@$(MAKE) --no-print-directory hangar
	./hangar up --demo

# Static analysis (not part of check: slow, and advisory).
tidy: $(GEN_SRC) $(VERSION_H)
	clang-tidy --quiet -checks='-*,bugprone-*,clang-analyzer-*,cert-err33-c,-bugprone-easily-swappable-parameters,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling' \
		$(LIB_SRC) $(CORE_SRC) $(wildcard cli/*.c) -- $(CPPFLAGS_ALL) -std=c17 \
		$(shell pkg-config --cflags $(PKGS) 2>/dev/null)

cppcheck:
	cppcheck --quiet --enable=warning,performance,portability --std=c11 \
		--inline-suppr -Ilib -Idb -Ihosts -Ischeduler -Iweb -Icli $(LIB_SRC) $(CORE_SRC) $(wildcard cli/*.c)

clean:
	rm -rf build build-asan hangar
