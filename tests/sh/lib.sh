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

# wait_for SECONDS CMD...: true as soon as CMD is (polled every 50 ms), false
# after SECONDS. For waiting on the event that proves something happened,
# never as a delay.
wait_for() {
        local i n=$(($1 * 20)); shift
        for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.05; done
        "$@"
}

# hold_lock FILE: a process holds flock(FILE) until release_lock; returns once
# it does (HOLDER is its pid).
hold_lock() {
        local d
        d=$(mktemp -d /tmp/migkit-hold.XXXXXX)
        mkfifo "$d/release"
        flock "$1" sh -c 'touch "$1/held"; read x < "$1/release"' sh "$d" &
        HOLDER=$! HOLDER_DIR=$d
        wait_for 10 test -e "$d/held"
}
release_lock() {
        echo > "$HOLDER_DIR/release"
        wait "$HOLDER" 2>/dev/null
        rm -rf "$HOLDER_DIR"
}
# has_open PID PATH: process PID has PATH open
has_open() { ls -l "/proc/$1/fd" 2>/dev/null | grep -qF -- " -> $2"; }
# ASAN_OPTIONS without the leak check at exit, for a program LeakSanitizer
# cannot check there: one run under strace (its own tracer cannot attach
# under ptrace, it would report just that), or one killed at a random moment
# (a SIGKILL during the exit check leaves its tracer reporting "Unable to
# get registers from thread N"). The same code is leak-checked where it is
# not killed.
#   ASAN_OPTIONS=$(no_leak_check) strace ... PROGRAM ...
no_leak_check() { echo "${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"; }

# fake_multipathd MODE LOG DEV [SYSFS]: starts tests/sh/fake-multipathd.py
# (MODE ok, fail-then-ok or hang; commands appended to LOG; map links made
# below DEV; with SYSFS it also plays the kernel and udev for that tree:
# FAKE_HIDDEN, FAKE_STUCK, see the script) in this network namespace and
# returns once it listens; MPD is its pid.
fake_multipathd() {
        local ready
        ready=$(mktemp -u /tmp/migkit-mpd-ready.XXXXXX)
        python3 "$(dirname "${BASH_SOURCE[0]}")/fake-multipathd.py" "$1" "$2" "$3" "$ready" ${4:+"$4"} &
        MPD=$!
        wait_for 10 test -e "$ready"
        rm -f "$ready"
}
# has_libmpathcmd: the real libmpathcmd.so.0 is installed (multipath-tools)
has_libmpathcmd() { python3 -c 'import ctypes; ctypes.CDLL("libmpathcmd.so.0")' 2>/dev/null; }

# no_sanitizer_reports WHAT FILE...: a FAIL for each file that holds an ASan,
# LeakSanitizer or UBSan report, for logs of programs tests/run-suite cannot
# see (started by another init, their stderr in files the test removes)
no_sanitizer_reports() {
        local what=$1 f; shift
        for f in "$@"; do
                [ -f "$f" ] && grep -qE '^==[0-9]+==(ERROR|WARNING): |runtime error: |LeakSanitizer' "$f" || continue
                fail "$what: a sanitizer report in $f: $(grep -m3 -E '==[0-9]+==|runtime error' "$f" | tr '\n' ' ')"
        done
}
