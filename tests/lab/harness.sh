# The harness every lab suite sources (e2e, e2e-driver, e2e-faults,
# e2e-limits, e2e-shared, e2e-converge; the demo uses its lab helpers):
# result lines, a watchdog that bounds the run, the teardown, and the
# helpers that drive the lab's hosts.
#
#   . "$(dirname "$(readlink -f "$0")")/harness.sh"
#   harness_start NAME LAB-DIR-PREFIX TIMEOUT [LAB-DIR]  # e2e-driver /tmp/migkit-drv 900
#   harness_lab_up BINARY [UP-OPTION...]  # root, build, packages, images (harness_prepare),
#                                         # lab up UP-OPTION...
#
# Output: "PASS: what", "FAIL: what (detail)", "SKIP: what (reason)";
# informational lines start with two spaces; the last line is
# "N passed, N failed, N skipped"; the exit status is 1 if anything failed.
# MIGKIT_E2E_TIMEOUT overrides TIMEOUT; MIGKIT_LAB_KEEP=1 leaves the lab up
# at the end to look at (the line says how to tear it down).
# A suite adds its own steps to the end with harness_at_exit CMD (run in
# order before the lab goes down) and harness_after_down CMD (after).
# Sourcing has no side effect: only harness_start sets traps and the watchdog.

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
L=$HERE/lab
export MIGKIT_BUILD=${MIGKIT_BUILD:-build}

# ------------------------------------------------------------ results
npass=0 nfail=0 nskip=0
pass() { echo "PASS: $1"; npass=$((npass + 1)); }
fail() { echo "FAIL: $1 ($2)"; nfail=$((nfail + 1)); }
skip() { echo "SKIP: $1 ($2)"; nskip=$((nskip + 1)); }
info() { echo "  $*"; }
ck() { # DESCRIPTION DETAIL-IF-FAILED CMD...: PASS if CMD succeeds
	local d=$1 f=$2
	shift 2
	if "$@"; then pass "$d"; else fail "$d" "$f"; fi
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
oneline() { tr '\n' ' ' | sed 's/  */ /g; s/ $//' | cut -c1-500; }

# ------------------------------------------------------------ lifecycle
HARNESS_NAME="" HARNESS_T0="" HARNESS_UP="" HARNESS_WATCHDOG="" TMP=""
HARNESS_AT_EXIT=() HARNESS_AFTER_DOWN=()
harness_at_exit() { HARNESS_AT_EXIT+=("$*"); }
harness_after_down() { HARNESS_AFTER_DOWN+=("$*"); }

harness_finish() {
	local rc=$? c
	trap - EXIT INT TERM
	[ -n "$HARNESS_WATCHDOG" ] && kill "$HARNESS_WATCHDOG" 2>/dev/null
	for c in "${HARNESS_AT_EXIT[@]}"; do eval "$c"; done
	if [ -n "$HARNESS_UP" ] && [ "${MIGKIT_LAB_KEEP:-0}" = 1 ]; then
		info "lab kept up (MIGKIT_LAB_KEEP=1): MIGKIT_LAB_DIR=$MIGKIT_LAB_DIR MIGKIT_LAB_NET=${MIGKIT_LAB_NET:-} tests/lab/lab down"
	elif [ -n "$HARNESS_UP" ]; then
		info "tearing the lab down"
		timeout 120 "$L" down >/dev/null 2>&1 || fail "lab down" "tests/lab/lab down failed"
		HARNESS_UP=""
		for c in "${HARNESS_AFTER_DOWN[@]}"; do eval "$c"; done
		ck "lab down: lab dir removed" "$MIGKIT_LAB_DIR still exists" test ! -e "$MIGKIT_LAB_DIR"
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
	info "$HARNESS_NAME wall time: $(secs "$HARNESS_T0" "$(now)") s"
	if [ "$nfail" = 0 ] && [ "$rc" != 0 ]; then echo "FAIL: $HARNESS_NAME stopped early (exit $rc)"; nfail=1; fi
	echo "$npass passed, $nfail failed, $nskip skipped"
	[ "$nfail" = 0 ]
	exit $?
}

# harness_start NAME LAB-DIR-PREFIX TIMEOUT [LAB-DIR]: a lab dir of its own
# (LAB-DIR, else a new PREFIX.XXXXXX: never a developer's MIGKIT_LAB_DIR), a
# scratch dir $TMP, traps and the watchdog.
harness_start() {
	HARNESS_NAME=$1
	local limit=${MIGKIT_E2E_TIMEOUT:-$3}
	MIGKIT_LAB_DIR=${4:-$(mktemp -u "$2.XXXXXX")}
	export MIGKIT_LAB_DIR
	HARNESS_T0=$(now)
	TMP=$(mktemp -d "$2-tmp.XXXXXX")
	cd "$ROOT" || exit 1
	trap harness_finish EXIT
	trap 'fail "$HARNESS_NAME" "interrupted"; exit 1' INT
	trap 'fail "$HARNESS_NAME" "timed out after ${limit}s (MIGKIT_E2E_TIMEOUT)"; exit 1' TERM
	# the watchdog: TERM to this script, then to its children (the
	# foreground command would otherwise delay the trap until it ends)
	(
		sleep "$limit" &
		s=$!
		trap 'kill $s 2>/dev/null; exit 0' TERM
		wait $s || exit 0
		kill -TERM $$
		sleep 1
		pkill -TERM -P $$
	) >/dev/null 2>&1 </dev/null &
	HARNESS_WATCHDOG=$!
}

# harness_prepare [BINARY]: SKIP and exit without root; FAIL and exit
# without $MIGKIT_BUILD/BINARY, the lab's packages or the guest images.
harness_prepare() {
	local out
	if [ "$(id -u)" != 0 ]; then
		skip "$HARNESS_NAME lab tests" "need root"
		exit 0
	fi
	if [ -n "${1:-}" ] && [ ! -x "$MIGKIT_BUILD/$1" ]; then
		fail "$HARNESS_NAME lab tests" "no $MIGKIT_BUILD/$1: run make first"
		exit 1
	fi
	out=$(scripts/install-deps --lab 2>&1) || { fail "lab packages installed" "$(echo "$out" | tail -3 | oneline)"; exit 1; }
	out=$(lab images 2>&1) || { fail "guest images (Debian kernel + busybox initramfs)" "$(echo "$out" | tail -3 | oneline)"; exit 1; }
	info "$(echo "$out" | head -1)"
}

# harness_up [UP-OPTION...]: `lab up UP-OPTION...`, or FAIL and exit.
harness_up() {
	local out t
	t=$(now)
	HARNESS_UP=1
	if out=$(lab up "$@" 2>&1); then
		pass "lab up${*:+ $*} in $MIGKIT_LAB_DIR on ${MIGKIT_LAB_NET:-198.51.100}.0/24 ($(secs "$t" "$(now)") s)"
	else
		fail "lab up${*:+ $*}" "$(echo "$out" | tail -5 | oneline)"
		exit 1
	fi
}
harness_lab_up() { # [BINARY [UP-OPTION...]]
	harness_prepare "${1:-}" || return
	shift $(($# > 0))
	harness_up "$@"
}

# harness_install_migkit HOST...: `lab install-migkit` on each, or FAIL and exit
harness_install_migkit() {
	local h out
	for h; do
		out=$(lab install-migkit "$h" 2>&1) || { fail "migkit installed on $h" "$(echo "$out" | tail -3 | oneline)"; exit 1; }
	done
}

# ------------------------------------------------------------ the lab's hosts
lab() { timeout 300 "$L" "$@"; }
hvirsh() { local h=$1; shift; timeout 120 "$L" virsh "$h" "$@"; }
hx() { timeout 60 "$L" exec "$@"; }
domstate() { hvirsh "$1" domstate "$2" 2>/dev/null | head -1; }
defined_on() { hvirsh "$1" list --all --name 2>/dev/null | grep -qxF "$2"; }
guest_var() { lab guest-info "$1" | sed -n "s/^$2=//p"; }
has_dir() { hx "$1" test -d "/var/lib/nova/instances/$2"; } # HOST UUID
hb() { lab heartbeat "$1" "$2" 2>/dev/null || true; }       # HOST NAME -> last counter
wait_hb() { # HOST NAME MIN SECONDS -> the counter once it is >= MIN (status 1 and the last one on timeout)
	local i c
	for ((i = 0; i < $4 * 2; i++)); do
		c=$(hb "$1" "$2")
		if [ -n "$c" ] && [ "$c" -ge "$3" ]; then
			echo "$c"
			return 0
		fi
		sleep 0.5
	done
	echo "${c:-none}"
	return 1
}
beats() { wait_hb "$@" >/dev/null; } # HOST NAME MIN SECONDS, quietly
# HOST NAME: what a failed heartbeat check needs to be diagnosed, as info
# lines: the domain's state and reason, the console's last lines (the
# heartbeat's up= is the guest's monotonic clock) and QEMU's log there
guest_diag() {
	info "$1: $2 is $(hvirsh "$1" domstate --reason "$2" 2>&1 | head -1)"
	info "$1: console: $(lab console "$1" "$2" 2>&1 | tail -4 | oneline)"
	info "$1: QEMU log: $(hx "$1" tail -6 "/var/log/libvirt/qemu/$2.log" 2>&1 | oneline)"
}
last_beat() { lab console "$1" "$2" 2>/dev/null | grep '^migkit-heartbeat' | tail -1; } # HOST NAME -> the line
WAITED=""
wait_for() { # SECONDS CMD...: until CMD succeeds (status 1 on timeout); WAITED = seconds it took
	local t=$1 i t0
	shift
	t0=$(now)
	for ((i = 0; i < t * 4; i++)); do
		if "$@"; then
			WAITED=$(secs "$t0" "$(now)")
			return 0
		fi
		sleep 0.25
	done
	WAITED=$(secs "$t0" "$(now)")
	return 1
}
start_guest() { # NAME [guest-start options]: starts on hostA and waits for its heartbeat
	local n=$1 out
	shift
	if ! out=$(lab guest-start --host hostA --name "$n" "$@" 2>&1); then
		fail "guest $n starts on hostA" "$(echo "$out" | oneline)"
		return 1
	fi
	if ! beats hostA "$n" 2 90; then
		fail "guest $n boots on hostA" "no heartbeat after 90 s"
		return 1
	fi
	return 0
}
# The watcher's decision is the positive event a "nothing happened" check
# waits for: migkit-watch logs one line per lifecycle event it handled,
# "domain NAME (UUID): EVENT/DETAIL: what it did".
watch_says() { lab watch-log "$1" | grep -F -- "$2" | grep -qF -- "$3"; } # HOST UUID WORDS
watch_count() { lab watch-log "$1" | grep -cF -- "($2): $3:"; } # HOST UUID EVENT/DETAIL
# watch_decided HOST UUID EVENT/DETAIL [SEEN-BEFORE] [SECONDS]: wait until
# the watcher has logged more than SEEN-BEFORE (default 0) decisions about
# that event of that guest
watch_decided() {
	local wd_h=$1 wd_u=$2 wd_e=$3 wd_n=${4:-0}
	wait_for "${5:-30}" eval '[ "$(watch_count "$wd_h" "$wd_u" "$wd_e")" -gt "$wd_n" ]'
}
# watch_reconnected HOST: its migkit-watch lost libvirt, connected again and
# looked at what it has, both after the last loss (a watcher restarted
# earlier has connected twice without having lost anything)
watch_reconnected() {
	lab watch-log "$1" | awk '/lost the connection to libvirt/ { lost = 1; again = 0; looked = 0 }
		lost && /connected to libvirt at/ { again = 1 }
		again && /looked at the journals and instance directories after connecting/ { looked = 1 }
		END { exit !looked }'
}
# watch_nothing_done HOST UUID EVENT/DETAIL SEEN-BEFORE WHAT: one check that
# the watcher decided on that event and that its decision was to do nothing
watch_nothing_done() {
	local line
	if ! watch_decided "$1" "$2" "$3" "$4"; then
		fail "$5: $1's migkit-watch decided on $3" "no line about it after 30 s: $(lab watch-log "$1" | tail -3 | oneline)"
		return 1
	fi
	line=$(watch_line "$1" "$2" "$3")
	ck "$5: $1's migkit-watch saw $3 and did nothing ($line)" "$line" grep -q ": $3: nothing to do" <<<"$line"
}
watch_line() { lab watch-log "$1" | grep -F -- "($2): $3:" | tail -1 | oneline; } # HOST UUID EVENT/DETAIL
# migrating HOST NAME: a migration job of NAME runs on HOST
migrating() { hvirsh "$1" domjobinfo "$2" 2>/dev/null | grep -q 'Data processed'; }
