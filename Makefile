# migkit — libvirt live-migration hook and helpers.
# Plain make: all paths in one place, DESTDIR only at install time, V=1 for
# verbose output, O=<dir> for a separate build directory, SANITIZE=1 for an
# ASan+UBSan build.

VERSION      := 0.1.0
PREFIX       ?= /usr
ifeq ($(PREFIX),/usr)
SYSCONFDIR   ?= /etc
LOCALSTATEDIR ?= /var
else
SYSCONFDIR   ?= $(PREFIX)/etc
LOCALSTATEDIR ?= $(PREFIX)/var
endif
BINDIR       ?= $(PREFIX)/bin
SBINDIR      ?= $(PREFIX)/sbin
LIBEXECDIR   ?= $(PREFIX)/libexec
DATADIR      ?= $(PREFIX)/share
MANDIR       ?= $(DATADIR)/man
# systemd units: with PREFIX=/usr, /lib/systemd/system, what Debian 12's
# systemd.pc says (systemdsystemunitdir) and where dh_installsystemd looks;
# on merged-/usr systems it is the same directory as /usr/lib/systemd/system.
# Other prefixes: $(PREFIX)/lib/systemd/system (/usr/local/lib/systemd/system
# is in systemd's search path too). RPM builds pass UNITDIR=%{_unitdir}.
ifeq ($(PREFIX),/usr)
UNITDIR      ?= /lib/systemd/system
else
UNITDIR      ?= $(PREFIX)/lib/systemd/system
endif
HOOKSDIR     ?= $(SYSCONFDIR)/libvirt/hooks
CONFDIR      ?= $(SYSCONFDIR)/migkit
STATEDIR     ?= $(LOCALSTATEDIR)/lib/migkit
PKGLIBEXECDIR = $(LIBEXECDIR)/migkit

O            ?= build
SANITIZE     ?= 0
WERROR       ?= 1

CC           ?= cc
PKG_CONFIG   ?= pkg-config
# libmount, libudev and libmnl are only needed for their headers: they are
# loaded with dlopen() when used, so that the hook does not load them at
# every call.
PKGS         := libxml-2.0 inih mount libmnl libudev

WARNINGS := -Wall -Wextra -Wformat=2 -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
            -Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
CFLAGS   ?= -O2 -g
ifeq ($(SANITIZE),1)
CFLAGS   += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
endif
# Hardening, where the compiler has it (each flag probed once per make run):
# stack clash protection, control-flow protection (CET on x86), and
# _FORTIFY_SOURCE=3 where __builtin_dynamic_object_size exists (gcc >= 12,
# clang >= 9), else 2; left to CFLAGS/CPPFLAGS when they set it (a
# package build's), as defining it twice differently is an error.
#
# Nothing here runs the compiler or pkg-config while make reads this file:
# `make demo` and `make check` on a fresh machine install the compiler and
# the -dev packages first (scripts/install-deps), and only a rule that runs
# later needs their answers. Each such variable is computed at its first use
# and kept: VAR = $(eval VAR := $$(shell ...))$(VAR).
cc_has = $(shell printf 'int main(void) { return 0; }\n' | $(CC) -Werror $(1) -x c -o /dev/null - >/dev/null 2>&1 && echo '$(1)')
ifeq ($(findstring _FORTIFY_SOURCE,$(CFLAGS) $(CPPFLAGS)),)
FORTIFY = -D_FORTIFY_SOURCE=$(shell printf 'int main(void) { char b[4]; return (int)__builtin_dynamic_object_size(b, 0); }\n' | \
            $(CC) -Werror -O2 -D_FORTIFY_SOURCE=3 -x c -o /dev/null - >/dev/null 2>&1 && echo 3 || echo 2)
endif
HARDENING    = $(eval HARDENING := $$(call cc_has,-fstack-clash-protection) $$(call cc_has,-fcf-protection) $$(FORTIFY))$(HARDENING)
PKG_CFLAGS   = $(eval PKG_CFLAGS := $$(shell $$(PKG_CONFIG) --cflags $$(PKGS)))$(PKG_CFLAGS)
BASE_CFLAGS  = -std=gnu11 $(WARNINGS) -fPIE -D_GNU_SOURCE $(HARDENING) -fstack-protector-strong \
               -MMD -MP -Ilib \
               -DMIGKIT_VERSION='"$(VERSION)"' \
               -DMIGKIT_CONFIG_PATH='"$(CONFDIR)/migkit.conf"' \
               -DMIGKIT_STATE_DIR='"$(STATEDIR)"' \
               -DMIGKIT_LIBEXECDIR='"$(PKGLIBEXECDIR)"' \
               $(PKG_CFLAGS)
BASE_LDFLAGS := -pie -Wl,-z,relro -Wl,-z,now -Wl,--as-needed
LIBS         = $(eval LIBS := $$(shell $$(PKG_CONFIG) --libs $$(filter-out mount libudev libmnl,$$(PKGS))))$(LIBS)
# The hook runs for every guest at every libvirt operation: inih, small,
# is linked into it (one library less to load and relocate per call).
# Most of its start is the dynamic loader binding the symbols of libxml2's
# dependencies, ICU's above all, which is C++: each lookup walks the
# libraries in load order, where libstdc++ comes last. Listed right after
# libc it is found early, and the loader's work drops by a sixth
# (LD_DEBUG=bindings: every symbol still binds to the same library). Only
# where libxml2 is built with ICU: elsewhere nothing loads libstdc++.
HOOK_CXXRT   = $(eval HOOK_CXXRT := $$(if $$(filter -licu%,$$(shell $$(PKG_CONFIG) --libs --static libxml-2.0)),-lstdc++))$(HOOK_CXXRT)
HOOK_LIBS    = -Wl,--push-state,--no-as-needed -lc $(HOOK_CXXRT) -Wl,--pop-state $(patsubst -linih,-l:libinih.a,$(LIBS))
TEST_LIBS    = $(eval TEST_LIBS := $$(shell $$(PKG_CONFIG) --libs cmocka 2>/dev/null))$(TEST_LIBS)
# libvirt only for the binaries that talk to libvirtd, never the hook.
LIBVIRT_LIBS = $(eval LIBVIRT_LIBS := $$(shell $$(PKG_CONFIG) --libs libvirt 2>/dev/null))$(LIBVIRT_LIBS)
LIBS_migkit-cleanup   = $(LIBVIRT_LIBS)
LIBS_migkit-watch     = $(LIBVIRT_LIBS)
LIBS_migkit           = $(LIBVIRT_LIBS)
LIBS_migkit-fcscan    = $(LIBVIRT_LIBS)
TEST_LDFLAGS_test-cleanup = $(LIBVIRT_LIBS)
TEST_LDFLAGS_test-watch = $(LIBVIRT_LIBS)
TEST_LDFLAGS_test-virt = $(LIBVIRT_LIBS)
TEST_LDFLAGS_test-preflight = $(LIBVIRT_LIBS)
TEST_LDFLAGS_test-migrate = $(LIBVIRT_LIBS)
TEST_LDFLAGS_test-doctor = $(LIBVIRT_LIBS)
# seams: the test replaces these calls of the library's with its own
TEST_LDFLAGS_test-quarantine = -Wl,--wrap=renameat2
TEST_LDFLAGS_test-dest = -Wl,--wrap=journal_save -Wl,--wrap=bridge_create
TEST_LDFLAGS_test-sharetest = $(LIBVIRT_LIBS)
TEST_LDFLAGS_test-upload = $(LIBVIRT_LIBS)
# libmount itself, to pin down what it does with malformed mountinfo lines
TEST_LDFLAGS_test-mountinfo = -lmount
TEST_LDFLAGS_test-migcheck = $(LIBVIRT_LIBS)
TEST_LDFLAGS_test-watchact = $(LIBVIRT_LIBS)
TEST_LDFLAGS_test-virt-fixup = $(LIBVIRT_LIBS) -Wl,--wrap=virDomainGetXMLDesc
TEST_LDFLAGS_test-preflight-guests = $(LIBVIRT_LIBS)
TEST_LDFLAGS_test-dispatch = -Wl,--wrap=spawn_detached
# the volume streams (the test driver's volumes hold no bytes)
FAKESTREAM_WRAPS = -Wl,--wrap=virStorageVolUpload -Wl,--wrap=virStorageVolDownload -Wl,--wrap=virStreamSend \
        -Wl,--wrap=virStreamRecv -Wl,--wrap=virStreamFinish -Wl,--wrap=virStreamAbort
TEST_LDFLAGS_test-upload-bytes = $(LIBVIRT_LIBS) $(FAKESTREAM_WRAPS)
TEST_LDFLAGS_test-migaround = $(LIBVIRT_LIBS) $(FAKESTREAM_WRAPS)
# and the disks' sizes (the test driver reports 1 TiB for each) and a
# volume's physical size (it has no virStorageVolGetInfoFlags)
TEST_LDFLAGS_test-blockprep = $(LIBVIRT_LIBS) $(FAKESTREAM_WRAPS) -Wl,--wrap=virDomainGetBlockInfo \
        -Wl,--wrap=virStorageVolGetInfoFlags
# the migration job itself (the test driver cannot migrate)
FAKEJOB_WRAPS = -Wl,--wrap=virDomainMigrateToURI3 -Wl,--wrap=virDomainGetJobStats -Wl,--wrap=virDomainAbortJob \
        -Wl,--wrap=virDomainMigrateSetMaxDowntime -Wl,--wrap=virDomainMigrateStartPostCopy \
        -Wl,--wrap=virDomainAbortJobFlags -Wl,--wrap=virDomainGetState
# the block jobs of a disk swap (the test driver has none)
TEST_LDFLAGS_test-swapvol = $(LIBVIRT_LIBS) -Wl,--wrap=virDomainBlockCopy -Wl,--wrap=virDomainGetBlockJobInfo \
        -Wl,--wrap=virDomainBlockJobAbort -Wl,--wrap=virDomainGetXMLDesc
TEST_LDFLAGS_test-migrun = $(LIBVIRT_LIBS) $(FAKEJOB_WRAPS)
TEST_LDFLAGS_test-evacuate = $(LIBVIRT_LIBS) $(FAKEJOB_WRAPS)
TEST_LDFLAGS_test-secrets = $(LIBVIRT_LIBS)
TEST_LDFLAGS_test-swapsave = $(LIBVIRT_LIBS) -Wl,--wrap=virDomainBlockCopy -Wl,--wrap=virDomainGetBlockJobInfo \
	-Wl,--wrap=virDomainBlockJobAbort -Wl,--wrap=virDomainGetXMLDesc

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2);
endif

LIB_SRCS   := $(wildcard lib/*.c)
LIB_OBJS   := $(LIB_SRCS:%.c=$(O)/%.o)
HELPER_SRCS := $(wildcard helpers/*.c)
HELPERS    := $(HELPER_SRCS:helpers/%.c=$(O)/%)
BINS       := $(O)/migkit-hook $(HELPERS)
# Where each binary goes: migkit, the operator command, in BINDIR (next to
# virsh; most of what it does needs root, but it is a user-facing command,
# doc/design.md); migkit-fcscan in SBINDIR; the hook and every other helper
# (migkit-cleanup, migkit-watch, ...) in PKGLIBEXECDIR, run by libvirt,
# systemd or each other, not by hand.
BIN_BINS     := $(filter $(O)/migkit,$(HELPERS))
SBIN_BINS    := $(filter $(O)/migkit-fcscan,$(HELPERS))
LIBEXEC_BINS := $(filter-out $(BIN_BINS) $(SBIN_BINS),$(BINS))
# systemd/*.in are generated with the install paths substituted (@VAR@);
# the other units are installed as they are.
UNIT_INS   := $(wildcard systemd/*.in)
UNITS      := $(UNIT_INS:systemd/%.in=$(O)/systemd/%) $(filter-out %.in,$(wildcard systemd/*.service systemd/*.timer))
TEST_SRCS  := $(wildcard tests/unit/test-*.c)
TESTS      := $(TEST_SRCS:tests/unit/%.c=$(O)/tests/%)
# SANITIZE=1: every program also gets tests/san/sanlog.c (UBSan's reports
# to files, for tests/run-suite), and the sanitizers' self-check is built.
ifeq ($(SANITIZE),1)
SAN_OBJS   := $(O)/tests/san/sanlog.o
TESTS      += $(O)/tests/san-selfcheck
endif
BENCH_SRCS := $(wildcard bench/*.c)
BENCHES    := $(BENCH_SRCS:bench/%.c=$(O)/bench/%)

all: $(BINS) $(UNITS)

# Rebuild everything when flags or install paths change (as git does).
FLAGS_STR = $(CC) $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(BASE_LDFLAGS) $(LDFLAGS) $(LIBS) $(HOOK_LIBS)
$(O)/.flags: FORCE
	@mkdir -p $(O)
	@echo '$(FLAGS_STR)' | cmp -s - $@ || echo '$(FLAGS_STR)' > $@

$(O)/%.o: %.c $(O)/.flags
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(CC) $(BASE_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(O)/libmigkit.a: $(LIB_OBJS)
	$(call msg,AR,$@)rm -f $@ && ar rcs $@ $^

$(O)/migkit-hook: $(O)/hooks/qemu.o $(O)/libmigkit.a $(SAN_OBJS)
	$(call msg,LINK,$@)$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(HOOK_LIBS)

$(O)/%: $(O)/helpers/%.o $(O)/libmigkit.a $(SAN_OBJS)
	$(call msg,LINK,$@)$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(LIBS_$*)

$(O)/tests/%: $(O)/tests/unit/%.o $(O)/libmigkit.a $(SAN_OBJS)
	@mkdir -p $(dir $@)
	$(call msg,LINK,$@)$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS) $(TEST_LDFLAGS_$*)

$(O)/tests/san-selfcheck: $(O)/tests/san/san-selfcheck.o $(SAN_OBJS)
	$(call msg,LINK,$@)$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $^

$(O)/bench/%: $(O)/bench/%.o
	$(call msg,LINK,$@)$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(BENCH_LIBS_$*)

BENCH_LIBS_empty-xml2 = $(shell $(PKG_CONFIG) --libs libxml-2.0)
# rmtree times the library's quarantine and purge directly.
$(O)/bench/rmtree: $(O)/libmigkit.a
BENCH_LIBS_rmtree = $(LIBS)

# Units and other files with install paths in them (multipath-tools style).
# A @VAR@ left over is an error, not a unit that points nowhere.
SUBST := -e 's|@PKGLIBEXECDIR@|$(PKGLIBEXECDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
         -e 's|@CONFDIR@|$(CONFDIR)|g' -e 's|@STATEDIR@|$(STATEDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
         -e 's|@VERSION@|$(VERSION)|g'
$(O)/systemd/%: systemd/%.in $(O)/.flags
	@mkdir -p $(dir $@)
	$(call msg,GEN,$@)sed $(SUBST) $< > $@.tmp && \
	if grep -n '@[A-Z_]*@' $@.tmp; then echo "$<: unknown @VARIABLE@ (see SUBST in Makefile)" >&2; rm -f $@.tmp; exit 1; fi && \
	mv $@.tmp $@

tests: $(BINS) $(TESTS)

# The README's test command. Installs what is missing first, the lab's
# packages too: the systemd and watch tests need libvirtd before the lab runs.
check:
	@scripts/install-deps --lab
	@tests/run-all

# Unit and hook tests against one build directory (no lab, no deps step).
check-quick: tests
	@tests/run-suite $(O)

# Every mutant of tests/mutate/mutants, each built and run against the tests
# that must catch it; fails on any that survives (make check runs the smoke
# set). MUTANTS="id ..." runs those only.
mutate:
	@tests/mutate/run $(MUTANTS)

# The committed reliability report, from the logs of the last make check
# (make check itself writes only build/RELIABILITY.md).
reliability:
	@OUT=tests/RELIABILITY.md tests/reliability-report build/test-logs

bench: $(BINS) $(BENCHES)
	@bench/run $(O)
	@bench/converge $(O)

demo:
	@scripts/install-deps --lab
	@tests/lab/demo

install: all
	install -d $(DESTDIR)$(PKGLIBEXECDIR) $(DESTDIR)$(HOOKSDIR)/qemu.d $(DESTDIR)$(CONFDIR) $(DESTDIR)$(UNITDIR)
	install -d -m 0700 $(DESTDIR)$(STATEDIR)
	install -m 0755 $(LIBEXEC_BINS) $(DESTDIR)$(PKGLIBEXECDIR)/
	$(if $(BIN_BINS),install -d $(DESTDIR)$(BINDIR) && install -m 0755 $(BIN_BINS) $(DESTDIR)$(BINDIR)/)
	$(if $(SBIN_BINS),install -d $(DESTDIR)$(SBINDIR) && install -m 0755 $(SBIN_BINS) $(DESTDIR)$(SBINDIR)/)
	ln -sfn $(PKGLIBEXECDIR)/migkit-hook $(DESTDIR)$(HOOKSDIR)/qemu.d/50-migkit
	install -m 0644 conf/migkit.conf $(DESTDIR)$(CONFDIR)/migkit.conf
	install -m 0644 $(UNITS) $(DESTDIR)$(UNITDIR)/

# Leaves the configuration, the state directory and the quarantine alone.
uninstall:
	rm -f $(DESTDIR)$(HOOKSDIR)/qemu.d/50-migkit
	rm -f $(addprefix $(DESTDIR)$(PKGLIBEXECDIR)/,$(notdir $(LIBEXEC_BINS)))
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(BIN_BINS))) $(addprefix $(DESTDIR)$(SBINDIR)/,$(notdir $(SBIN_BINS)))
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS)))
	-rmdir $(DESTDIR)$(PKGLIBEXECDIR)

# O=DIR cleans that build (and its DIR-fuzz); without O=, build/ and the
# other directories make check makes (build-asan/, build-fuzz/, the lab's
# build-pkg-e2e/; mk/packaging.mk adds build-pkg/, mk/coverage.mk build-cov/).
clean:
	rm -rf $(O) $(O)-fuzz
ifeq ($(origin O),file)
	rm -rf build-asan build-asan-fuzz build-pkg-e2e
endif

.PHONY: all tests check check-quick mutate reliability bench demo install uninstall clean FORCE
.SECONDARY:

# Feature fragments (packages; fuzzing lives in tests/fuzz/): each adds its
# own targets.
include $(wildcard mk/*.mk)
include tests/fuzz/fuzz.mk

-include $(shell find $(O) -name '*.d' -type f 2>/dev/null)
