# Distribution packages, man pages and bash completion.
#
#   make deb     build-pkg/migkit_<version>-1_<arch>.deb   (+ build-pkg/migkit.deb)
#   make rpm     build-pkg/migkit-<version>-1.<arch>.rpm   (+ build-pkg/migkit.rpm)
#   make dist    build-pkg/migkit-<version>.tar.gz: the files of the work tree
#                that git tracks or would (not ignored), so a package can be
#                tried before a commit; DIST_REF=HEAD uses `git archive` instead
#   make install-man, install-completion   (make install runs both)
#
# Both packages are built from that tarball, never from this tree, with
# `make install DESTDIR=... PREFIX=/usr` (the rpm adds UNITDIR=%{_unitdir}).
# The package directory is fixed (not under $(O), whose *.d files the
# Makefile includes) so that other scripts (the lab) find the .deb at a
# known path: build-pkg/migkit.deb.

PKGDIR       ?= build-pkg
DIST_REF     ?=
COMPLETIONDIR ?= $(DATADIR)/bash-completion/completions
MAN_PAGES    := $(sort $(wildcard man/*.[1-8]))
DEB_ARCH     := $(shell dpkg-architecture -qDEB_HOST_ARCH 2>/dev/null || echo amd64)
RPM_ARCH     := $(shell uname -m)
DEB_REVISION := 1
PACKAGER     ?= migkit maintainers <maintainers@users.noreply.h-seed-f58677b5.example>
DIST_NAME    := migkit-$(VERSION)
DIST_TARBALL := $(PKGDIR)/$(DIST_NAME).tar.gz
DEB_FILE     := $(PKGDIR)/migkit_$(VERSION)-$(DEB_REVISION)_$(DEB_ARCH).deb
RPM_FILE     := $(PKGDIR)/migkit-$(VERSION)-1.$(RPM_ARCH).rpm
# The sub-builds must not see this make's variables (O=, PREFIX=, -j...).
CLEAN_ENV    := env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u DESTDIR -u O

install: install-man install-completion
uninstall: uninstall-man
clean: clean-pkg

# PKGDIR may be any directory (an absolute one too): the build removes there
# only what it made, the files it names and its work directories deb/ and
# rpm/, which carry a stamp file from the moment it made them. A deb/ or
# rpm/ without the stamp is someone else's: the build stops instead.
PKG_STAMP    := .made-by-migkit-build
clean-pkg:
	rm -f $(DIST_TARBALL) $(DEB_FILE) $(RPM_FILE) $(PKGDIR)/migkit.deb $(PKGDIR)/migkit.rpm
	@for d in "$(PKGDIR)/deb" "$(PKGDIR)/rpm"; do \
		if [ -e "$$d/$(PKG_STAMP)" ] || { [ -n "$(PKG_IN_TREE)" ] && [ -d "$$d" ]; }; then echo "rm -rf $$d"; rm -rf "$$d"; fi; \
	done
	@rmdir "$(PKGDIR)" 2>/dev/null || true

# $(call pkg_workdir,DIR): DIR emptied for a build, or the build stops when
# DIR exists without the stamp. A PKGDIR of the tree's own build-* kind
# (build-pkg, build-pkg-e2e: git ignores them) is the build's whatever is in
# it, as earlier versions left it without stamps.
PKG_IN_TREE  := $(if $(and $(filter build-%,$(PKGDIR)),$(if $(findstring /,$(PKGDIR)),,1)),1)
pkg_workdir = if [ -z "$(PKG_IN_TREE)" ] && [ -e "$(1)" ] && [ ! -e "$(1)/$(PKG_STAMP)" ]; then \
		echo "$(1) exists and was not made by migkit's build: not touching it (use another PKGDIR)" >&2; exit 1; fi && \
	rm -rf "$(1)" && mkdir -p "$(1)" && touch "$(1)/$(PKG_STAMP)"

install-man:
	install -d $(sort $(foreach p,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))))
	$(foreach p,$(MAN_PAGES),install -m 0644 $(p) $(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/ &&) true

install-completion:
	install -d $(DESTDIR)$(COMPLETIONDIR)
	install -m 0644 completion/migkit.bash $(DESTDIR)$(COMPLETIONDIR)/migkit

uninstall-man:
	rm -f $(foreach p,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p)))
	rm -f $(DESTDIR)$(COMPLETIONDIR)/migkit

# Every man page through mandoc's linter and man-db's (groff warnings).
lint-man:
	@rc=0; for p in $(MAN_PAGES); do \
		mandoc -Tlint -Wwarning $$p || rc=1; \
		out=$$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l $$p 2>&1 >/dev/null); \
		if [ -n "$$out" ]; then echo "$$p: man --warnings:"; echo "$$out"; rc=1; fi; \
	done; exit $$rc

# Packaging files carry the version too: refuse to build a mismatch.
check-versions:
	@v=$$(dpkg-parsechangelog -l packaging/deb/debian/changelog -S Version) && \
	[ "$$v" = "$(VERSION)-$(DEB_REVISION)" ] || { echo "packaging/deb/debian/changelog is at $$v, the Makefile at $(VERSION)-$(DEB_REVISION)" >&2; exit 1; }
	@v=$$(sed -n 's/^Version:[[:space:]]*//p' packaging/rpm/migkit.spec) && \
	[ "$$v" = "$(VERSION)" ] || { echo "packaging/rpm/migkit.spec is at $$v, the Makefile at $(VERSION)" >&2; exit 1; }

dist: check-versions
	@mkdir -p $(PKGDIR)
	$(call msg,DIST,$(DIST_TARBALL))rm -f $(DIST_TARBALL) && \
	if [ -n "$(DIST_REF)" ]; then \
		git archive --format=tar.gz --prefix=$(DIST_NAME)/ -o $(DIST_TARBALL) $(DIST_REF); \
	else \
		git ls-files -z --cached --others --exclude-standard | xargs -0 sh -c 'for f; do [ -e "$$f" ] || [ -L "$$f" ] && printf "%s\0" "$$f"; done; true' sh | \
		tar --no-recursion --null --sort=name --owner=0 --group=0 --numeric-owner \
			--mtime="@$$(git log -1 --format=%ct 2>/dev/null || echo 0)" \
			--transform='s|^|$(DIST_NAME)/|' -czf $(DIST_TARBALL) -T -; \
	fi

# dpkg-buildpackage in a copy of the tarball's tree, with packaging/deb/debian
# put at its top (that is where dpkg-buildpackage wants it).
deb: dist
	@$(call pkg_workdir,$(PKGDIR)/deb)
	tar -xzf $(DIST_TARBALL) -C $(PKGDIR)/deb
	cp -a $(PKGDIR)/deb/$(DIST_NAME)/packaging/deb/debian $(PKGDIR)/deb/$(DIST_NAME)/debian
	cp $(DIST_TARBALL) $(PKGDIR)/deb/migkit_$(VERSION).orig.tar.gz
	cd $(PKGDIR)/deb/$(DIST_NAME) && $(CLEAN_ENV) DEB_BUILD_OPTIONS="parallel=$(or $(PKG_JOBS),2) $(DEB_BUILD_OPTIONS)" \
		dpkg-buildpackage -us -uc -b > ../build.log 2>&1 || { tail -40 ../build.log >&2; exit 1; }
	cp $(PKGDIR)/deb/$(notdir $(DEB_FILE)) $(DEB_FILE)
	ln -sfn $(notdir $(DEB_FILE)) $(PKGDIR)/migkit.deb
	@echo "  DEB      $(DEB_FILE)"

# rpmbuild --nodeps: the spec's BuildRequires are Fedora/RHEL names
# (libxml2-devel, ...) and Debian's rpm has an empty package database; the
# Debian names are what scripts/install-deps installs.
rpm: dist
	@$(call pkg_workdir,$(PKGDIR)/rpm) && mkdir -p $(PKGDIR)/rpm/SOURCES
	cp $(DIST_TARBALL) $(PKGDIR)/rpm/SOURCES/
	$(CLEAN_ENV) rpmbuild -bb --nodeps --define "_topdir $(abspath $(PKGDIR)/rpm)" \
		--define "_smp_mflags -j$(or $(PKG_JOBS),2)" --define "packager $(PACKAGER)" \
		packaging/rpm/migkit.spec > $(PKGDIR)/rpm/build.log 2>&1 || { tail -40 $(PKGDIR)/rpm/build.log >&2; exit 1; }
	cp $(PKGDIR)/rpm/RPMS/$(RPM_ARCH)/$(notdir $(RPM_FILE)) $(RPM_FILE)
	ln -sfn $(notdir $(RPM_FILE)) $(PKGDIR)/migkit.rpm
	@echo "  RPM      $(RPM_FILE)"

# The package tests (also run by tests/run-all, hence make check).
check-pkg:
	@tests/pkg/run

.PHONY: clean-pkg install-man install-completion uninstall-man lint-man check-versions dist deb rpm check-pkg
