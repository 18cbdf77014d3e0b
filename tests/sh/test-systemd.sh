#!/bin/bash
# The systemd units as `make install DESTDIR=...` lays them out: the install
# paths substituted and pointing at installed files, `systemd-analyze verify`
# silent about every unit (a warning is a failure, not only its exit status),
# the hardening this project relies on present, and systemd's own exposure
# rating of it (systemd need not run here: verify and `security --offline`
# read the files under --root); then, as root, the units at work under a real
# systemd booted in namespaces of its own: each does its job in its sandbox,
# and what the sandbox forbids fails.
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
check "migkit-watch may write the installed state directory /var/lib/migkit and node_exporter's textfile directory, and only them (missing ones tolerated: -)" \
        bash -c "[ \"\$(sed -n 's/^ReadWritePaths=//p' '$UD/migkit-watch.service' | tr '\n' ' ')\" = '-/var/lib/migkit -/var/lib/prometheus/node-exporter ' ] && [ -d '$D/var/lib/migkit' ]"

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

# --- the units at work, under a real systemd ---------------------------------
# systemd as PID 1 of fresh pid, mount, network, UTS and cgroup namespaces
# (its cgroup a child of ours), seeing the installed tree through overlays:
# DESTDIR's /usr/libexec over the host's, /etc and /var with a scratch upper
# layer. Each unit is started with systemctl and must do its job inside its
# sandbox: files owned by others, a sticky directory, bridges over rtnetlink,
# libvirt over its socket (when libvirtd is installed), systemctl from the
# watcher's sandbox; and what the sandbox forbids must fail.
sd_skip=
if [ "$(id -u)" != 0 ]; then
        sd_skip="not root"
elif [ ! -x /lib/systemd/systemd ]; then
        sd_skip="no /lib/systemd/systemd"
elif ! grep -qw overlay /proc/filesystems && ! modprobe overlay 2> /dev/null; then
        sd_skip="no overlayfs"
elif ! cg=$(findmnt -t cgroup2 -n -o TARGET | head -1) || [ -z "$cg" ]; then
        sd_skip="no cgroup2 hierarchy mounted"
elif ! unshare --pid --mount --net --uts --cgroup --fork true 2> /dev/null; then
        sd_skip="cannot create namespaces"
fi
if [ -n "$sd_skip" ]; then
        skip "the units under a real systemd: $sd_skip"
else
        W=$(mktemp -d /tmp/migkit-test-systemd-run.XXXXXX)
        cgsub=$cg$(sed -n 's/^0:://p' /proc/self/cgroup | sed 's|/$||')/${W##*/}
        SDPID="" SDUNSHARE=""
        sd_down() {
                # unshare is our child, not yet reaped (so its PID is still
                # its own): killing it kills PID 1 of the namespaces
                # (--kill-child), and with it everything in there
                if [ -n "$SDUNSHARE" ]; then
                        kill -KILL "$SDUNSHARE" 2> /dev/null
                        wait "$SDUNSHARE" 2> /dev/null
                        SDUNSHARE=""
                fi
                for ((i = 0; i < 50; i++)); do
                        [ -d "$cgsub" ] || break
                        find "$cgsub" -depth -type d -exec rmdir {} + 2> /dev/null
                        sleep 0.1
                done
                [ -d "$W/logs" ] && no_sanitizer_reports "the units under systemd" "$W"/logs/*
                rm -rf "$W"
        }
        trap 'sd_down; rm -rf "$T"' EXIT
        U1=11111111-2222-4333-8444-555555555555 U2=22222222-3333-4444-8555-666666666666 U4=44444444-5555-4666-8777-888888888888
        mkdir -p "$W/units" "$W/logs" "$W/etc-up/migkit" "$W/etc-work" "$W/var-work" "$W/var-up/lib/mk-test" \
                "$W/var-up/lib/nova/instances" "$cgsub"
        install -d -m 0700 "$W/var-up/lib/migkit"
        cp "$UD"/migkit-* "$W/units/"
        cp "$stock"/*.target "$W/units/" 2> /dev/null
        printf '[Unit]\nDescription=migkit test\n' > "$W/units/mk-test.target"
        for u in migkit-cleanup@.service migkit-purge.service migkit-watch.service; do
                mkdir -p "$W/units/$u.d"
                printf '[Service]\nStandardOutput=append:%s/logs/%%n.log\nStandardError=append:%s/logs/%%n.log\n' "$W" "$W" \
                        > "$W/units/$u.d/log.conf"
                # LeakSanitizer stops the world with ptrace, which the system
                # call filter refuses (the other tests look for leaks)
                [ "$san" = 1 ] && printf 'Environment=ASAN_OPTIONS=detect_leaks=0\n' >> "$W/units/$u.d/log.conf"
        done
        # probes: the watcher's and the cleanup's sandboxes, running a shell
        sed -e 's|^ExecStart=.*|ExecStart=/var/lib/mk-test/probe-watch|' -e 's/^Type=.*/Type=oneshot/' -e '/^Restart/d' \
                "$UD/migkit-watch.service" > "$W/units/mk-probe-watch.service"
        sed -e 's|^ExecStart=.*|ExecStart=/var/lib/mk-test/probe-cleanup|' "$UD/migkit-cleanup@.service" \
                > "$W/units/mk-probe-cleanup.service"
        {
                echo '#!/bin/sh'
                echo 'exec > /var/lib/migkit/probe-watch.out 2>&1'
                echo 'grep CapBnd /proc/self/status'
                echo 'virsh -q -r -c qemu:///system uri > /dev/null 2>&1 && echo "libvirt: ok"'
                echo 'echo ok > /var/lib/migkit/probe && echo "state: ok"'
                echo 'touch /var/lib/mk-test/probe 2>&1 | grep -q "Read-only" && echo "elsewhere: read-only"'
                echo 'systemctl start --no-block migkit-purge.service && echo "systemctl: ok"'
        } > "$W/var-up/lib/mk-test/probe-watch"
        {
                echo '#!/bin/sh'
                echo 'exec > /var/lib/migkit/probe-cleanup.out 2>&1'
                echo 'grep CapBnd /proc/self/status'
                echo 'touch /etc/migkit/probe 2>&1 | grep -q "Read-only" && echo "etc: read-only"'
                echo 'touch /usr/libexec/migkit/probe 2>&1 | grep -q "Read-only" && echo "usr: read-only"'
                echo "[ -e '$W' ] || echo 'tmp: private'"
                echo '[ -z "$(ls -A /home 2>&1)" ] && echo "home: hidden"'
                echo '[ ! -e /dev/vda ] && [ ! -e /dev/sda ] && [ -e /dev/null ] && echo "dev: private"'
                echo 'echo ok > /var/lib/nova/instances/probe && rm /var/lib/nova/instances/probe && echo "instances: writable"'
        } > "$W/var-up/lib/mk-test/probe-cleanup"
        chmod 755 "$W/var-up/lib/mk-test/probe-watch" "$W/var-up/lib/mk-test/probe-cleanup"
        cp tests/data/cleanup/other-domain.xml "$W/var-up/lib/mk-test/"
        conf() {
                printf '[paths]\ninstances = /var/lib/nova/instances\nstate = /var/lib/migkit\n'
                printf '[cleanup]\nlibvirt-uri = %s\nsettle = 0s\nretention = 0s\n' "$1"
        }
        conf test:///var/lib/mk-test/other-domain.xml > "$W/etc-up/migkit/migkit.conf"
        {
                echo '#!/bin/bash'
                echo 'set -e'
                echo 'mount --make-rprivate /'
                echo 'mount -t tmpfs tmpfs /run'
                echo 'mount -t sysfs sysfs /sys'
                echo 'mount -t proc proc /proc'
                echo 'mount -t cgroup2 cgroup2 /sys/fs/cgroup'
                echo "mount -t overlay overlay -o lowerdir=$D/usr/libexec:/usr/libexec /usr/libexec"
                echo "mount -t overlay overlay -o lowerdir=/etc,upperdir=$W/etc-up,workdir=$W/etc-work /etc"
                echo "mount -t overlay overlay -o lowerdir=/var,upperdir=$W/var-up,workdir=$W/var-work /var"
                # a /tmp of its own (PrivateTmp= directories die with the
                # namespace), with this test's directory still at its path
                echo "mkdir /run/mk-w && mount --bind $W /run/mk-w"
                echo 'mount -t tmpfs tmpfs /tmp'
                echo "mkdir -p $W && mount --bind /run/mk-w $W"
                echo 'ip link set lo up'
                echo "export SYSTEMD_UNIT_PATH=$W/units container=migkit-test"
                echo "exec /lib/systemd/systemd --system --unit=mk-test.target --log-target=console --log-level=notice < /dev/null > $W/pid1.log 2>&1"
        } > "$W/boot.sh"
        # in a cgroup of its own, a child of ours, which its cgroup namespace
        # makes its root
        bash -c 'echo $$ > "$1/cgroup.procs" && exec unshare --pid --mount --net --uts --cgroup --fork --kill-child bash "$2/boot.sh"' \
                _ "$cgsub" "$W" 2> "$W/unshare.err" &
        SDUNSHARE=$!
        in_sd() { nsenter -t "$SDPID" -m -n -p -u -- "$@"; }
        sctl() { in_sd timeout 60 systemctl "$@"; }
        st=""
        for ((i = 0; i < 200; i++)); do
                SDPID=$(pgrep -P "$SDUNSHARE" | head -1)
                if [ -n "$SDPID" ]; then
                        st=$(in_sd systemctl is-system-running 2> /dev/null)
                        [ "$st" = running ] || [ "$st" = degraded ] && break
                fi
                sleep 0.1
        done
        check "systemd runs as PID 1 of the test namespaces (${st:-no answer}; $(tail -2 "$W/pid1.log" "$W/unshare.err" 2> /dev/null | tr '\n' ' '))" \
                [ "$st" = running -o "$st" = degraded ]
        if [ "$st" != running ] && [ "$st" != degraded ]; then
                skip "the units at work: systemd did not come up (see the failure above)"
        else
                log() { tr '\n' ' ' < "$W/logs/$1.log" 2> /dev/null | cut -c1-400; }
                ok_unit() { [ "$(sctl show -P ExecMainStatus "$1")" = 0 ] && [ "$(sctl show -P Result "$1")" = success ]; }
                exists() { in_sd test -e "$1"; }
                mc() { in_sd /usr/libexec/migkit/migkit-cleanup -q "$@"; }
                I=/var/lib/nova/instances

                # a guest's directory owned by qemu, unreadable to others, a read-only
                # subdirectory and a sticky one holding somebody else's file
                in_sd sh -c "mkdir -p $I/$U1/ro $I/$U1/sticky && echo log > $I/$U1/console.log && echo x > $I/$U1/ro/f &&
                        echo y > $I/$U1/sticky/g && chown -R 64055:64055 $I/$U1 && chown 1000 $I/$U1/sticky/g &&
                        chmod 0700 $I/$U1 && chmod 0500 $I/$U1/ro && chmod 1777 $I/$U1/sticky"
                mc proof "$U1" migrated --by watch
                sctl start "migkit-cleanup@source-$U1.service"
                n=$(in_sd sh -c "ls -d $I/.migkit-quarantine/$U1.* | grep -vc info")
                if ok_unit "migkit-cleanup@source-$U1.service" && ! exists "$I/$U1" && [ "$n" = 1 ]; then
                        pass "migkit-cleanup@source-UUID quarantines a qemu-owned 0700 directory from its sandbox"
                else
                        fail "migkit-cleanup@source-UUID did not quarantine the directory: $(log "migkit-cleanup@source-$U1.service")"
                fi
                sctl start migkit-purge.service
                if ok_unit migkit-purge.service && [ -z "$(in_sd ls -A "$I/.migkit-quarantine")" ]; then
                        pass "migkit-purge.service deletes it, read-only and sticky subdirectories included"
                else
                        fail "migkit-purge.service did not purge: $(log migkit-purge.service)"
                fi

                sed -e "s|@INSTANCES@|$I|g" -e "s|@UUID@|$U2|g" -e "s|@NAME@|inst-b|g" -e "s|@BR1@|qbrtest000-01|g" \
                        -e "s|@BR2@|qbrtest000-02|g" tests/data/hook/nova.xml.in > "$W/in.xml"
                in_sd /usr/libexec/migkit/migkit-hook inst-b migrate begin - < "$W/in.xml" > /dev/null 2> "$W/hook.err"
                mc proof "$U2" incoming-failed --by watch
                if in_sd ip link show qbrtest000-01 > /dev/null 2>&1 && in_sd ip link show qbrtest000-02 > /dev/null 2>&1 && exists "$I/$U2"; then
                        pass "the hook created two bridges and the directory for an incoming guest"
                else
                        fail "the hook did not create the bridges and the directory: $(cat "$W/hook.err")"
                fi
                sctl start "migkit-cleanup@rollback-$U2.service"
                if ok_unit "migkit-cleanup@rollback-$U2.service" && ! in_sd ip link show qbrtest000-01 > /dev/null 2>&1 &&
                   ! in_sd ip link show qbrtest000-02 > /dev/null 2>&1 && ! exists "$I/$U2" && ! exists "/var/lib/migkit/journal/$U2"; then
                        pass "migkit-cleanup@rollback-UUID deletes the bridges over rtnetlink and quarantines the directory"
                else
                        fail "migkit-cleanup@rollback-UUID did not roll back: $(log "migkit-cleanup@rollback-$U2.service")"
                fi

                in_sd sh -c "printf 'migkit-journal 1\nuuid $U4\nname inst-d\nstarted 1\n' > /var/lib/migkit/journal/$U4"
                sctl start "migkit-cleanup@commit-$U4.service"
                if ok_unit "migkit-cleanup@commit-$U4.service" && ! exists "/var/lib/migkit/journal/$U4"; then
                        pass "migkit-cleanup@commit-UUID drops the journal"
                else
                        fail "migkit-cleanup@commit-UUID did not commit: $(log "migkit-cleanup@commit-$U4.service")"
                fi

                sctl start mk-probe-cleanup.service
                out=$(in_sd cat /var/lib/migkit/probe-cleanup.out 2> /dev/null)
                check "the cleanup's sandbox: bounding set exactly DAC_OVERRIDE, FOWNER, NET_ADMIN ($(head -1 <<< "$out"))" \
                        grep -qx 'CapBnd:.*000000000000100a' <<< "$out"
                for want in "etc: read-only" "usr: read-only" "tmp: private" "home: hidden" "dev: private" "instances: writable"; do
                        check "the cleanup's sandbox: $want" grep -qx "$want" <<< "$out"
                done
                sctl start migkit-purge.timer
                check "migkit-purge.timer is scheduled" [ -n "$(sctl show -P NextElapseUSecRealtime migkit-purge.timer)" ]

                if ! command -v libvirtd > /dev/null; then
                        skip "libvirt over its socket from the sandboxes: libvirtd is not installed (scripts/install-deps --lab)"
                else
                        in_sd libvirtd -d
                        for ((i = 0; i < 100; i++)); do
                                in_sd test -S /run/libvirt/libvirt-sock && break
                                sleep 0.1
                        done
                        conf qemu:///system | in_sd sh -c 'cat > /etc/migkit/migkit.conf'
                        in_sd sh -c "mkdir -p $I/$U1 && echo log > $I/$U1/console.log"
                        printf "<domain type='qemu'><name>inst-a</name><uuid>%s</uuid><memory>65536</memory><os><type arch='x86_64'>hvm</type></os></domain>\n" \
                                "$U1" > "$W/dom.xml"
                        in_sd virsh -q -c qemu:///system define "$W/dom.xml" > /dev/null 2>&1
                        mc proof "$U1" migrated --by watch
                        sctl start "migkit-cleanup@source-$U1.service" 2> /dev/null
                        if [ "$(sctl show -P ExecMainStatus "migkit-cleanup@source-$U1.service")" = 3 ] && exists "$I/$U1" &&
                           grep -q 'still has domain inst-a' "$W/logs/migkit-cleanup@source-$U1.service.log"; then
                                pass "through libvirt's socket, migkit-cleanup@source-UUID refuses while libvirtd has the domain (exit 3, unit failed)"
                        else
                                fail "migkit-cleanup@source-UUID did not refuse while libvirtd has the domain: $(log "migkit-cleanup@source-$U1.service")"
                        fi
                        in_sd virsh -q -c qemu:///system undefine inst-a > /dev/null 2>&1
                        sctl start "migkit-cleanup@source-$U1.service"
                        if ok_unit "migkit-cleanup@source-$U1.service" && ! exists "$I/$U1"; then
                                pass "and once libvirtd forgot it, quarantines the directory"
                        else
                                fail "migkit-cleanup@source-UUID did not quarantine after the undefine: $(log "migkit-cleanup@source-$U1.service")"
                        fi
                        sctl start mk-probe-watch.service
                        out=$(in_sd cat /var/lib/migkit/probe-watch.out 2> /dev/null)
                        check "the watcher's sandbox: no capability ($(head -1 <<< "$out"))" grep -qx 'CapBnd:.*0000000000000000' <<< "$out"
                        for want in "libvirt: ok" "state: ok" "elsewhere: read-only" "systemctl: ok"; do
                                check "the watcher's sandbox: $want" grep -qx "$want" <<< "$out"
                        done
                        for ((i = 0; i < 50; i++)); do
                                [ -z "$(in_sd ls -A "$I/.migkit-quarantine")" ] && break
                                sleep 0.1
                        done
                        check "the purge started from the watcher's sandbox ran" [ -z "$(in_sd ls -A "$I/.migkit-quarantine")" ]
                        if [ -x "$D/usr/libexec/migkit/migkit-watch" ]; then
                                sctl start migkit-watch.service
                                sleep 2
                                check "migkit-watch.service keeps running in its sandbox ($(log migkit-watch.service))" \
                                        [ "$(sctl is-active migkit-watch.service)" = active ]
                                sctl stop migkit-watch.service
                                in_sd mv /var/lib/migkit /var/lib/migkit.away
                                sctl start migkit-watch.service 2> /dev/null
                                sleep 2
                                check "migkit-watch.service starts with its state directory missing (ReadWritePaths=-...; $(sctl show -P ExecMainStatus migkit-watch.service))" \
                                        [ "$(sctl is-active migkit-watch.service)" = active ]
                                sctl stop migkit-watch.service
                                in_sd mv /var/lib/migkit.away /var/lib/migkit
                        else
                                skip "migkit-watch.service itself: migkit-watch is not built yet"
                        fi
                fi
        fi
        sd_down
        trap 'rm -rf "$T"' EXIT
fi

# --- other install paths, and uninstall -------------------------------------
make -s O="$T/o" PREFIX=/usr/local "$T/o/systemd/migkit-purge.service" "$T/o/systemd/migkit-watch.service" > "$T/log" 2>&1
check "with PREFIX=/usr/local the units run /usr/local/libexec/migkit/* and use /usr/local/var/lib/migkit" \
        bash -c "grep -qx 'ExecStart=/usr/local/libexec/migkit/migkit-cleanup purge' '$T/o/systemd/migkit-purge.service' &&
                 grep -qx 'ReadWritePaths=-/usr/local/var/lib/migkit' '$T/o/systemd/migkit-watch.service'"
check "and are installed in /usr/local/lib/systemd/system" \
        [ "$(make -s --no-print-directory PREFIX=/usr/local -f Makefile -f - <<< 'print-unitdir: ; @echo $(UNITDIR)' print-unitdir)" = /usr/local/lib/systemd/system ]
make -s O="$build" SANITIZE=$san uninstall DESTDIR="$D" > "$T/log" 2>&1
left=$(cd "$D" && find . \( -type f -o -type l \) ! -path ./etc/migkit/migkit.conf | sort | tr '\n' ' ')
check "make uninstall removes the units and the binaries, keeps the configuration and state${left:+ (left: $left)}" \
        bash -c "[ -z '$left' ] && [ -f '$D/etc/migkit/migkit.conf' ] && [ -d '$D/var/lib/migkit' ]"
summary
