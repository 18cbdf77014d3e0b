#!/bin/bash
# The systemd units as `make install DESTDIR=...` lays them out: the install
# paths substituted and pointing at installed files, `systemd-analyze verify`
# silent about every unit (a warning is a failure, not only its exit status),
# the hardening this project relies on present, and systemd's own exposure
# rating of it. systemd need not run here: verify and `security --offline`
# read the files under --root.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh
build=${MIGKIT_BUILD:-build}
U=4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182
UNITS="migkit-watch.service migkit-cleanup@.service migkit-purge.service migkit-purge.timer"

if ! command -v systemd-analyze > /dev/null; then
        skip "systemd-analyze is missing (Debian package systemd; scripts/install-deps installs it)"
        summary
        exit 0
fi
T=$(mktemp -d /tmp/migkit-test-systemd.XXXXXX)
trap 'rm -rf "$T"' EXIT
D=$T/dest UD=$T/dest/lib/systemd/system

san=0; grep -q fsanitize "$build/.flags" 2>/dev/null && san=1
make -s O="$build" SANITIZE=$san install DESTDIR="$D" > "$T/log" 2>&1
check "make install DESTDIR=... succeeds ($(tail -3 "$T/log" | tr '\n' ' '))" [ $? = 0 ]
for u in $UNITS; do
        [ "$(stat -c %a "$UD/$u" 2>/dev/null)" = 644 ] || { fail "$u is not installed in /lib/systemd/system with mode 0644"; continue; }
        if grep -n '@[A-Z_]*@' "$UD/$u"; then fail "$u has an unsubstituted @VARIABLE@"; else pass "$u is installed (0644) with every @VARIABLE@ substituted"; fi
done

# key UNIT KEY: the values of KEY= in the installed UNIT, one per line.
key() { sed -n "s/^$2=//p" "$UD/$1"; }
# has UNIT KEY=VALUE: that exact line is in the unit.
has() { grep -qxF -- "$2" "$UD/$1"; }

# --- paths point at installed files -----------------------------------------
for u in migkit-watch.service migkit-cleanup@.service migkit-purge.service; do
        exe=$(key "$u" ExecStart | awk '{print $1}')
        case $exe in
        /usr/libexec/migkit/*) ;;
        *) fail "$u: ExecStart= runs '$exe', not a program in /usr/libexec/migkit"; continue ;;
        esac
        if [ -x "$D$exe" ]; then
                pass "$u: ExecStart= runs $exe, which make install installed"
        elif [ "$exe" = /usr/libexec/migkit/migkit-watch ] && [ ! -e helpers/migkit-watch.c ]; then
                skip "$u: $exe is not built yet (helpers/migkit-watch.c is missing); verified below with a stand-in"
        else
                fail "$u: ExecStart= runs $exe, which is not installed"
        fi
done
check "the cleanup template runs exactly 'migkit-cleanup --wait run %i'" has migkit-cleanup@.service 'ExecStart=/usr/libexec/migkit/migkit-cleanup --wait run %i'
check "the purge service runs 'migkit-cleanup purge'" has migkit-purge.service 'ExecStart=/usr/libexec/migkit/migkit-cleanup purge'
check "migkit-watch may write the installed state directory /var/lib/migkit, and only it" \
        bash -c "[ \"\$(sed -n 's/^ReadWritePaths=//p' '$UD/migkit-watch.service')\" = /var/lib/migkit ] && [ -d '$D/var/lib/migkit' ]"

# --- systemd-analyze verify -------------------------------------------------
# A root holding the installed tree plus the stock targets the units pull in
# (sysinit.target, timers.target, ...), so that verify resolves ExecStart=
# inside the DESTDIR, not on this host.
V=$T/root
stock=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null); stock=${stock:-/lib/systemd/system}
mkdir -p "$V/usr/lib/systemd/system"
cp -a "$D/." "$V/"
cp "$stock"/*.target "$V/usr/lib/systemd/system/" 2> /dev/null
[ -x "$V/usr/libexec/migkit/migkit-watch" ] || install -m 0755 /dev/null "$V/usr/libexec/migkit/migkit-watch"
INSTANCES="migkit-watch.service migkit-cleanup@source-$U.service migkit-cleanup@rollback-$U.service migkit-purge.service migkit-purge.timer"
# verify_quiet ROOT UNIT...: exit 0 and not a word of output.
verify_quiet() {
        local root=$1; shift
        (cd / && systemd-analyze verify --root="$root" "$@") > "$T/verify.out" 2>&1
        local rc=$?
        [ "$rc" = 0 ] && [ ! -s "$T/verify.out" ]
}
for u in $INSTANCES; do
        if verify_quiet "$V" "$u"; then
                pass "systemd-analyze verify $u: no error, no warning"
        else
                fail "systemd-analyze verify $u: $(tr '\n' ' ' < "$T/verify.out")"
        fi
done
# The check itself must catch what matters: a misspelt directive (only a
# warning, exit status 0), a bad value, a program that is not installed.
cp -a "$V" "$T/broken"
B=$T/broken/lib/systemd/system
sed -i 's/^ProtectSystem=full/ProtectSytem=full/' "$B/migkit-purge.service"
sed -i 's/^PrivateTmp=yes/PrivateTmp=perhaps/' "$B/migkit-watch.service"
sed -i 's|migkit-cleanup --wait|migkit-cleanupp --wait|' "$B/migkit-cleanup@.service"
for u in migkit-purge.service migkit-watch.service "migkit-cleanup@source-$U.service"; do
        if verify_quiet "$T/broken" "$u"; then
                fail "the verify check misses a broken $u"
        else
                pass "the verify check catches a broken $u: $(head -1 "$T/verify.out")"
        fi
done

# --- hardening ---------------------------------------------------------------
common=(NoNewPrivileges=yes ProtectHome=yes PrivateTmp=yes PrivateDevices=yes PrivateMounts=yes PrivateIPC=yes
        ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes ProtectControlGroups=yes ProtectClock=yes
        ProtectHostname=yes ProtectProc=invisible ProcSubset=pid RestrictNamespaces=yes RestrictRealtime=yes RestrictSUIDSGID=yes
        LockPersonality=yes MemoryDenyWriteExecute=yes SystemCallArchitectures=native SystemCallFilter=@system-service
        "SystemCallFilter=~@privileged @resources" SystemCallErrorNumber=EPERM IPAddressDeny=any UMask=0077)
for u in migkit-watch.service migkit-cleanup@.service migkit-purge.service; do
        missing=
        for kv in "${common[@]}"; do
                has "$u" "$kv" || missing="$missing $kv"
        done
        check "$u has the common hardening${missing:+ (missing:$missing)}" [ -z "$missing" ]
done
check "migkit-watch: no capability at all, read-only system but its state directory, no network namespace of the host, AF_UNIX only" \
        bash -c "grep -qx 'CapabilityBoundingSet=' '$UD/migkit-watch.service' && grep -qx 'ProtectSystem=strict' '$UD/migkit-watch.service' &&
                 grep -qx 'PrivateNetwork=yes' '$UD/migkit-watch.service' && grep -qx 'RestrictAddressFamilies=AF_UNIX' '$UD/migkit-watch.service'"
check "migkit-cleanup@: only CAP_DAC_OVERRIDE CAP_FOWNER CAP_NET_ADMIN, ProtectSystem=full, AF_UNIX and AF_NETLINK" \
        bash -c "grep -qx 'CapabilityBoundingSet=CAP_DAC_OVERRIDE CAP_FOWNER CAP_NET_ADMIN' '$UD/migkit-cleanup@.service' &&
                 grep -qx 'ProtectSystem=full' '$UD/migkit-cleanup@.service' && grep -qx 'RestrictAddressFamilies=AF_UNIX AF_NETLINK' '$UD/migkit-cleanup@.service'"
check "migkit-purge: only CAP_DAC_OVERRIDE CAP_FOWNER, ProtectSystem=full, no network" \
        bash -c "grep -qx 'CapabilityBoundingSet=CAP_DAC_OVERRIDE CAP_FOWNER' '$UD/migkit-purge.service' &&
                 grep -qx 'ProtectSystem=full' '$UD/migkit-purge.service' && grep -qx 'PrivateNetwork=yes' '$UD/migkit-purge.service' &&
                 grep -qx 'RestrictAddressFamilies=AF_UNIX' '$UD/migkit-purge.service'"
check "no unit uses capabilities or paths it would not need: no AmbientCapabilities, User=, ReadWritePaths in the cleanup units" \
        bash -c "! grep -q '^AmbientCapabilities=\|^User=' '$UD'/migkit-*.service && ! grep -q '^ReadWritePaths=' '$UD/migkit-cleanup@.service' '$UD/migkit-purge.service'"
check "migkit-watch is ordered after both libvirtd and virqemud, requires neither, restarts on failure, starts with multi-user.target" \
        bash -c "a=\$(sed -n 's/^After=//p' '$UD/migkit-watch.service'); case \" \$a \" in *' libvirtd.service '*) ;; *) exit 1;; esac
                 case \" \$a \" in *' virtqemud.service '*) ;; *) exit 1;; esac
                 ! grep -q '^Requires=\|^Requisite=\|^BindsTo=\|^Wants=' '$UD/migkit-watch.service' &&
                 grep -qx 'Restart=on-failure' '$UD/migkit-watch.service' && grep -qx 'WantedBy=multi-user.target' '$UD/migkit-watch.service'"
check "the cleanup template and the purge are oneshot services" \
        bash -c "grep -qx 'Type=oneshot' '$UD/migkit-cleanup@.service' && grep -qx 'Type=oneshot' '$UD/migkit-purge.service'"
check "the purge timer: hourly, persistent, randomized, enabled by timers.target" \
        bash -c "grep -qx 'OnCalendar=hourly' '$UD/migkit-purge.timer' && grep -qx 'Persistent=true' '$UD/migkit-purge.timer' &&
                 grep -q '^RandomizedDelaySec=' '$UD/migkit-purge.timer' && grep -qx 'WantedBy=timers.target' '$UD/migkit-purge.timer'"
# systemd's own reading of the same settings: 0 is locked down, 10 is
# unprotected; these run as root with few capabilities.
for u in migkit-watch.service "migkit-cleanup@source-$U.service" migkit-purge.service; do
        (cd / && systemd-analyze security --offline=true --root="$V" --threshold=20 "$u") > "$T/sec.out" 2>&1
        rc=$?
        level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$T/sec.out")
        check "systemd-analyze security rates $u ${level:-?} (at most 2.0)" [ "$rc" = 0 -a -n "$level" ]
done

# --- other install paths, and uninstall -------------------------------------
make -s O="$T/o" PREFIX=/usr/local "$T/o/systemd/migkit-purge.service" "$T/o/systemd/migkit-watch.service" > "$T/log" 2>&1
check "with PREFIX=/usr/local the units run /usr/local/libexec/migkit/* and use /usr/local/var/lib/migkit" \
        bash -c "grep -qx 'ExecStart=/usr/local/libexec/migkit/migkit-cleanup purge' '$T/o/systemd/migkit-purge.service' &&
                 grep -qx 'ReadWritePaths=/usr/local/var/lib/migkit' '$T/o/systemd/migkit-watch.service'"
check "and are installed in /usr/local/lib/systemd/system" \
        [ "$(make -s --no-print-directory PREFIX=/usr/local -f Makefile -f - <<< 'print-unitdir: ; @echo $(UNITDIR)' print-unitdir)" = /usr/local/lib/systemd/system ]
make -s O="$build" SANITIZE=$san uninstall DESTDIR="$D" > "$T/log" 2>&1
left=$(cd "$D" && find . \( -type f -o -type l \) ! -path ./etc/migkit/migkit.conf | sort | tr '\n' ' ')
check "make uninstall removes the units and the binaries, keeps the configuration and state${left:+ (left: $left)}" \
        bash -c "[ -z '$left' ] && [ -f '$D/etc/migkit/migkit.conf' ] && [ -d '$D/var/lib/migkit' ]"
summary
