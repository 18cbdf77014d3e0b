# Line coverage of the unit and hook tests (not part of make check).
#
#   make coverage    builds with gcov instrumentation into $(COV_O), runs
#                    tests/run-suite against it (the lab is not run) and
#                    prints the line coverage of each lib/ and helpers/
#                    file, the lowest first, and the totals; the full
#                    report is left in $(COV_O)/coverage.json.
#   make coverage COV_MIN=85   also fails when lib/ is below 85%.
#
# -O0 for exact line counts; _FORTIFY_SOURCE off, as it needs -O1 or more
# (CPPFLAGS tells tests/sh/test-build.sh so, which then skips its check).

COV_O   ?= build-cov
COV_MIN ?= 0
GCOVR   ?= gcovr

coverage:
	@command -v $(GCOVR) >/dev/null || { echo "make coverage: $(GCOVR) not found; run scripts/install-deps (Debian: apt-get install gcovr)" >&2; exit 1; }
	@$(MAKE) --no-print-directory O=$(COV_O) SANITIZE=0 CFLAGS='-O0 -g --coverage' \
		CPPFLAGS='-U_FORTIFY_SOURCE' LDFLAGS='--coverage' all tests
	@find $(COV_O) -name '*.gcda' -delete
	@st=0; CPPFLAGS=-U_FORTIFY_SOURCE tests/run-suite $(COV_O) || st=$$?; \
	$(GCOVR) --root . --object-directory $(COV_O) --filter 'lib/' --filter 'helpers/' \
		--json-summary $(COV_O)/coverage.json >/dev/null && \
	tests/coverage-report $(COV_O)/coverage.json $(COV_MIN) || st=1; \
	exit $$st

ifeq ($(origin O),file)
clean: clean-coverage
endif
clean-coverage:
	rm -rf $(COV_O)

.PHONY: coverage clean-coverage
