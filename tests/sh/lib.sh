# Helpers for shell tests: one line per check, PASS:/FAIL:/SKIP:, and a
# summary line at the end (tests/run-suite counts the lines).
n_pass=0 n_fail=0 n_skip=0
pass() { echo "PASS: $*"; n_pass=$((n_pass + 1)); }
fail() { echo "FAIL: $*"; n_fail=$((n_fail + 1)); }
skip() { echo "SKIP: $*"; n_skip=$((n_skip + 1)); }
# check DESCRIPTION COMMAND...: passes if the command succeeds.
check() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
# contains FILE TEXT: the file contains the fixed string.
contains() { grep -qF -- "$2" "$1"; }
summary() {
        echo "$n_pass passed, $n_fail failed, $n_skip skipped"
        [ "$n_fail" = 0 ]
}
