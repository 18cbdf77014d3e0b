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

# in_namespaces "REASON" UNSHARE-FLAGS... "$@": re-runs the calling script in
# fresh namespaces of those kinds (once), or reports SKIP and exits when that
# is impossible (not root, no namespaces). Call it before any other check.
in_namespaces() {
        local why=$1; shift
        local flags=()
        while [ $# -gt 0 ] && [ "$1" != -- ]; do flags+=("$1"); shift; done
        shift
        [ -n "${MIGKIT_IN_NS:-}" ] && return 0
        if [ "$(id -u)" != 0 ] || ! unshare "${flags[@]}" true 2>/dev/null; then
                skip "$why need root and namespaces (unshare ${flags[*]})"
                summary; exit 0
        fi
        MIGKIT_IN_NS=1 exec unshare "${flags[@]}" bash "$0" "$@"
}
