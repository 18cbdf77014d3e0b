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
# libmount and libudev are only needed for their headers: they are loaded with
# dlopen() when used, so that the hook does not load them at every call.
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
BASE_CFLAGS := -std=gnu11 $(WARNINGS) -fPIE -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -fstack-protector-strong \
               -MMD -MP -Ilib \
               -DMIGKIT_VERSION='"$(VERSION)"' \
               -DMIGKIT_CONFIG_PATH='"$(CONFDIR)/migkit.conf"' \
               -DMIGKIT_STATE_DIR='"$(STATEDIR)"' \
               -DMIGKIT_LIBEXECDIR='"$(PKGLIBEXECDIR)"' \
               $(shell $(PKG_CONFIG) --cflags $(PKGS))
BASE_LDFLAGS := -pie -Wl,-z,relro -Wl,-z,now -Wl,--as-needed
LIBS         := $(shell $(PKG_CONFIG) --libs $(filter-out mount libudev,$(PKGS)))
# The hook runs for every guest at every libvirt operation: inih, small,
# is linked into it (one library less to load and relocate per call).
HOOK_LIBS    := $(patsubst -linih,-l:libinih.a,$(LIBS))
TEST_LIBS    := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
# libvirt only for the binaries that talk to libvirtd, never the hook.
LIBVIRT_LIBS := $(shell $(PKG_CONFIG) --libs libvirt 2>/dev/null)
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
BENCH_SRCS := $(wildcard bench/*.c)
BENCHES    := $(BENCH_SRCS:bench/%.c=$(O)/bench/%)

all: $(BINS) $(UNITS)

# Rebuild everything when flags or install paths change (as git does).
FLAGS_STR := $(CC) $(BASE_CFLAGS) $(CFLAGS) $(BASE_LDFLAGS) $(LDFLAGS) $(LIBS)
$(O)/.flags: FORCE
	@mkdir -p $(O)
	@echo '$(FLAGS_STR)' | cmp -s - $@ || echo '$(FLAGS_STR)' > $@

$(O)/%.o: %.c $(O)/.flags
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(CC) $(BASE_CFLAGS) $(CFLAGS) -c -o $@ $<

$(O)/libmigkit.a: $(LIB_OBJS)
	$(call msg,AR,$@)rm -f $@ && ar rcs $@ $^

$(O)/migkit-hook: $(O)/hooks/qemu.o $(O)/libmigkit.a
	$(call msg,LINK,$@)$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(HOOK_LIBS)

$(O)/%: $(O)/helpers/%.o $(O)/libmigkit.a
	$(call msg,LINK,$@)$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(LIBS_$*)

$(O)/tests/%: $(O)/tests/unit/%.o $(O)/libmigkit.a
	@mkdir -p $(dir $@)
	$(call msg,LINK,$@)$(CC) $(BASE_LDFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS) $(TEST_LDFLAGS_$*)

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

clean:
	rm -rf build build-asan

.PHONY: all tests check check-quick bench demo install uninstall clean FORCE
.SECONDARY:

# Feature fragments (packages, fuzzing): each adds its own targets.
include $(wildcard mk/*.mk)

-include $(shell find $(O) -name '*.d' -type f 2>/dev/null)
