# libFuzzer targets: tests/fuzz/fuzz-<target>.c, built with clang and
# -fsanitize=fuzzer,address,undefined in a build directory of their own.
#   make fuzz                  each target for FUZZ_SECONDS (default 60)
#   make fuzz FUZZ_TARGETS=hook FUZZ_SECONDS=600
#   make fuzz-build            just build them
# Seeds: tests/fuzz/seeds/<target>/ (tests/fuzz/make-seeds builds them from
# tests/data); crash reproducers kept as regressions in
# tests/fuzz/regressions/<target>/. The growing corpus lives in
# $(FUZZ_O)/corpus/<target>/, new crashes land in $(FUZZ_O)/crashes/.
# tests/fuzz/smoke replays every seed and regression and fuzzes briefly.

FUZZ_CC      ?= clang
FUZZ_O       ?= $(O)-fuzz
FUZZ_SECONDS ?= 60
FUZZ_ALL     := $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  ?= -O1 -g
# -Wno-unused-command-line-argument: pkg-config's flags meant for gcc.
FUZZ_ALL_CFLAGS = $(BASE_CFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
                  -Wno-unused-command-line-argument -DFUZZ_SRCDIR='"$(CURDIR)"'
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_O)/%.o)
FUZZ_BINS    := $(FUZZ_ALL:%=$(FUZZ_O)/fuzz-%)
# libFuzzer options per target: the hook's inputs are whole domain XMLs.
FUZZ_OPTS_hook     := -max_len=65536 -close_fd_mask=3
FUZZ_OPTS_config   := -max_len=16384 -close_fd_mask=3
FUZZ_OPTS_validate := -max_len=512
FUZZ_OPTS_fc       := -max_len=512
fuzz_case    = $(1)) opts="$(FUZZ_OPTS_$(1))";;
FUZZ_ENV     := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

FUZZ_FLAGS_STR = $(FUZZ_CC) $(FUZZ_ALL_CFLAGS) $(LIBS)
$(FUZZ_O)/.flags: FORCE
	@mkdir -p $(FUZZ_O)
	@echo '$(FUZZ_FLAGS_STR)' | cmp -s - $@ || echo '$(FUZZ_FLAGS_STR)' > $@

# The library under clang: its warnings are shown but not fatal here (the
# gcc build is the -Werror gate for lib/; clang warns about a few things gcc
# does not, such as unused _cleanup_ variables in work in progress, and the
# fuzzers must still build). tests/fuzz/*.c keep -Werror.
$(FUZZ_O)/lib/%.o: lib/%.c $(FUZZ_O)/.flags
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -Wno-error -c -o $@ $<

$(FUZZ_O)/tests/fuzz/%.o: tests/fuzz/%.c $(FUZZ_O)/.flags
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)$(FUZZ_CC) $(FUZZ_ALL_CFLAGS) -Ihooks -c -o $@ $<

$(FUZZ_O)/libmigkit.a: $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)rm -f $@ && ar rcs $@ $^

$(FUZZ_O)/fuzz-%: $(FUZZ_O)/tests/fuzz/fuzz-%.o $(FUZZ_O)/libmigkit.a
	$(call msg,LINK,$@)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LIBS)

fuzz-build: $(FUZZ_BINS)

# Each target for FUZZ_SECONDS on a corpus seeded from tests/fuzz/seeds;
# prints the executions per target; fails on the first crash, leak or
# sanitizer report (the reproducer is in $(FUZZ_O)/crashes/).
fuzz: fuzz-build
	@rc=0; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_O)/corpus/$$t $(FUZZ_O)/crashes; \
		seeds=; for d in tests/fuzz/seeds/$$t tests/fuzz/regressions/$$t; do [ -d $$d ] && seeds="$$seeds $$d"; done; \
		log=$(FUZZ_O)/fuzz-$$t.log; \
		echo "  FUZZ     $$t for $(FUZZ_SECONDS) s (log: $$log)"; \
		case $$t in $(foreach x,$(FUZZ_ALL),$(call fuzz_case,$(x))) *) opts=;; esac; \
		$(FUZZ_ENV) $(FUZZ_O)/fuzz-$$t $$opts -timeout=30 -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_O)/crashes/$$t- $(FUZZ_O)/corpus/$$t $$seeds > $$log 2>&1; st=$$?; \
		runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -1); \
		secs=$$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' $$log | tail -1); \
		cov=$$(grep -o 'cov: [0-9]*' $$log | tail -1); \
		if [ $$st = 0 ]; then echo "fuzz-$$t: $${runs:-?} executions in $${secs:-?} s, $$cov, no crash"; \
		else rc=1; echo "fuzz-$$t: FAILED after $${runs:-?} executions (exit $$st); see $$log and $(FUZZ_O)/crashes/"; \
			grep -E 'ERROR: |SUMMARY: |runtime error|fuzz-[a-z]*: ' $$log | head -5 | sed 's/^/    /'; fi; \
	done; exit $$rc

# The seeds, rebuilt from tests/data (commit the result, review the diff).
fuzz-seeds:
	@tests/fuzz/make-seeds

.PHONY: fuzz fuzz-build fuzz-seeds

-include $(shell find $(FUZZ_O) -name '*.d' 2>/dev/null)
