#!/bin/bash
# The real migkit-hook on `migrate begin` for guests with FC block disks,
# against a copy of a committed fake sysfs tree (tests/data/sysfs) and a
# temporary /dev root where the test itself makes the expected link appear
# (what the kernel and udev do on a real host), or not. Multipath steps talk
# to a fake multipathd (python3) on multipathd's abstract socket, in a
# private network namespace: the real one needs device-mapper (see
# tests/unit/test-mpath.c, which tries it).
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

in_namespaces "FC hook tests (a private abstract socket namespace for multipathd)" -n -- "$@"

build=$(realpath "${MIGKIT_BUILD:-build}")
hook=$build/migkit-hook
T=$(mktemp -d /tmp/migkit-test-hook-fc.XXXXXX)
bg=()
cleanup() { for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
UUID=5b7a1c2e-9f3d-4b8a-a1c2-3d4e5f607182
NAME=inst-fc
TGT_A=0x5006016839a01c4e
WWID1=3600601604d903a00e8e4b3c7b6a6e811
P5=devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5
P6=devices/pci0000:00/0000:00:03.0/0000:05:00.1/host6
export MIGKIT_CONFIG=$T/migkit.conf

# setup TREE [extra INI]: fresh sysfs copy, empty /dev root, configuration.
# The hook's deadline is 2 s where a case waits it out; a case that must end
# "at once" gets 20 s (AT_ONCE) and has to end well within it (FAST_MS): a
# wait would sit out the deadline, a loaded machine does not come near it.
AT_ONCE=20s FAST_MS=10000
setup() {
        rm -rf "$T/sys" "$T/dev" "$T/inst" "$T/state"
        cp -a "tests/data/sysfs/$1" "$T/sys"
        mkdir -p "$T/dev" "$T/inst"
        shift
        cat > "$T/migkit.conf" <<EOC
[paths]
instances = $T/inst
state = $T/state
sysfs = $T/sys
dev = $T/dev
[hook]
deadline = ${DEADLINE:-2s}
$*
EOC
}
# domain XML with block disks: xml OUT SOURCE...  (targets vda, vdb, ...)
xml() {
        local out=$1 i=0 letters=abcdefgh; shift
        { echo "<domain type='kvm'>"
          echo "  <name>$NAME</name>"
          echo "  <uuid>$UUID</uuid>"
          echo "  <memory unit='KiB'>65536</memory>"
          echo "  <os><type arch='x86_64' machine='pc'>hvm</type></os>"
          echo "  <devices>"
          for s in "$@"; do
                echo "    <disk type='block' device='disk'>"
                echo "      <driver name='qemu' type='raw' cache='none' io='native'/>"
                echo "      <source dev='$s'/>"
                echo "      <target dev='vd${letters:$i:1}' bus='virtio'/>"
                echo "    </disk>"
                i=$((i + 1))
          done
          echo "  </devices>"
          echo "</domain>"; } > "$out"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# run_hook XML: stdout/stderr/status/duration in $T/out $T/err $rc $ms
run_hook() {
        local t0; t0=$(now_ms)
        "$hook" "$NAME" migrate begin - < "$1" > "$T/out" 2> "$T/err"
        rc=$?
        ms=$(( $(now_ms) - t0 ))
}
# every write-only sysfs file that is not empty, as "path=content|"
written() {
        (cd "$T/sys" && find . \( -name scan -o -name issue_lip -o -name delete -o -name rescan \) -type f -size +0 | sort |
         while read -r f; do printf '%s=%s|' "${f#./}" "$(tr '\n' '/' < "$f")"; done)
}
# appear_after DELAY LINK [TARGET]: the "kernel + udev" of this test
appear_after() {
        local link=$T/dev/$2 target=${3:-../../sdq}
        ( sleep "$1"; mkdir -p "$(dirname "$link")"; : > "$T/dev/$(basename "$target")"; ln -s "$target" "$link"
          now_ms > "$T/appeared" ) &
        bg+=($!)
}

BYPATH_A2=/dev/disk/by-path/pci-0000:05:00.0-fc-$TGT_A-lun-2
BYPATH_A3=/dev/disk/by-path/pci-0000:05:00.0-fc-$TGT_A-lun-3

# --- the LUN appears after the scan: the wait returns at once ---------------
DEADLINE=$AT_ONCE setup two-hbas
xml "$T/a.xml" "$BYPATH_A2"
rm -f "$T/appeared"
appear_after 0.4 "disk/by-path/pci-0000:05:00.0-fc-$TGT_A-lun-2"
run_hook "$T/a.xml"
end=$(now_ms)
check "migrate begin succeeds once the LUN appears (rc=$rc, $ms ms: $(head -c 300 "$T/err"))" [ "$rc" = 0 ]
check "it prints no XML (nothing to rewrite)" [ ! -s "$T/out" ]
check "exactly '0 0 2' to host5's scan and '0 1 2' to host6's (target ids from the rports)" \
        [ "$(written)" = "$P5/scsi_host/host5/scan=0 0 2/|$P6/scsi_host/host6/scan=0 1 2/|" ]
lat=$(( end - $(cat "$T/appeared" 2>/dev/null || echo 0) ))
# woken by the link, not by its deadline; how few wake-ups the wait takes is
# tests/unit/test-udevwait.c's to prove, without the process start-up and
# scheduling a loaded machine adds here
check "the hook returned ${lat} ms after the link appeared (woken by it: < $FAST_MS ms, the deadline is $AT_ONCE)" [ "$lat" -lt $FAST_MS ]

# --- the LUN never appears: fail at the deadline, with the facts ---------------
setup two-hbas
run_hook "$T/a.xml"
check "a LUN that never appears fails migrate begin (rc=$rc)" [ "$rc" = 1 ]
# it gave up itself, at the end of its wait budget, not the watchdog at the
# deadline: the message says which (the time only bounds it)
check "after waiting, within the deadline (2 s), not ended by the watchdog ($ms ms)" bash -c "[ $ms -ge 1500 ] && [ $ms -lt 10000 ] && ! grep -q 'deadline (\[hook\] deadline) exceeded' '$T/err'"
check "the message names the disk, WWPN and LUN" contains "$T/err" "disk vda ($BYPATH_A2, WWPN $TGT_A LUN 2)"
check "the message names the HBAs scanned and their targets" \
        contains "$T/err" "scanned: host5 (target 0:0 via rport-5:0-0), host6 (target 0:1 via rport-6:0-2)"
check "the message lists this host's HBA WWPNs and says what to check" bash -c \
        "grep -qF 'FC HBAs: host5 0x10000090fa1b2c3d Online, host6 0x10000090fa1b2c3e Online; check the zoning and the LUN masking' '$T/err'"
check "one line on stderr, no XML on stdout" bash -c "[ \$(wc -l < '$T/err') = 1 ] && [ ! -s '$T/out' ]"
check "and nothing was created (no journal)" [ ! -e "$T/state/journal/$UUID" ]

setup two-hbas "[fc]
on-missing = warn"
run_hook "$T/a.xml"
check "with on-missing = warn the hook succeeds and warns (rc=$rc)" bash -c "[ $rc = 0 ] && grep -q 'warning: .*did not appear.*continuing' '$T/err'"

# --- a scan that blocks in the kernel: the hook still ends, and lets go of libvirt's pipes
setup two-hbas
rm "$T/sys/$P6/scsi_host/host6/scan" && mkfifo "$T/sys/$P6/scsi_host/host6/scan"
t0=$(now_ms)
# through a pipe: it closes only when every holder of the hook's stderr is gone
"$hook" "$NAME" migrate begin - < "$T/a.xml" 2>&1 | timeout 30 cat > "$T/err"
ms=$(( $(now_ms) - t0 ))
# closed by the hook's exit: held by the blocked worker, it would stay open
# until cat's timeout (30 s)
check "a scan write blocked past the deadline: the hook's output is closed when it exits ($ms ms, not cat's 30 s timeout)" \
        bash -c "[ $ms -lt 20000 ] && grep -qF \"writing '0 1 2' to $T/sys/class/scsi_host/host6/scan did not return within\" '$T/err'"
check "host5 was scanned meanwhile" [ "$(cat "$T/sys/$P5/scsi_host/host5/scan")" = "0 0 2" ]
# the scan 'finishes': the detached worker writes and exits
timeout 5 cat "$T/sys/$P6/scsi_host/host6/scan" > "$T/fifo.out"
check "the worker finished the write afterwards ('$(tr '\n' '/' < "$T/fifo.out")')" [ "$(cat "$T/fifo.out")" = "0 1 2" ]

# --- nothing to do -------------------------------------------------------------
DEADLINE=$AT_ONCE setup two-hbas
mkdir -p "$T/dev/disk/by-path" && : > "$T/dev/sdq" && ln -s ../../sdq "$T/dev${BYPATH_A2#/dev}"
run_hook "$T/a.xml"
check "a present source: no scan at all, at once (rc=$rc, $ms ms)" bash -c "[ $rc = 0 ] && [ -z '$(written)' ] && [ $ms -lt $FAST_MS ]"
setup two-hbas "[fc]
rescan = no"
run_hook "$T/a.xml"
check "rescan = no: nothing written, left to libvirt (rc=$rc)" bash -c "[ $rc = 0 ] && [ -z '$(written)' ] && [ ! -s '$T/err' ]"

# --- no FC HBA: fail at once, no useless wait -------------------------------------
DEADLINE=$AT_ONCE setup no-fc
run_hook "$T/a.xml"
check "no FC HBA: fails at once ($ms ms) with the reason" bash -c "[ $rc = 1 ] && [ $ms -lt $FAST_MS ] && grep -qF 'this host has no FC HBA' '$T/err'"
check "and writes nothing, not even to the SCSI host's scan" [ -z "$(written)" ]

# --- unknown target: fallback only when configured ----------------------------------
DEADLINE=$AT_ONCE setup two-hbas
xml "$T/u.xml" "/dev/disk/by-path/pci-0000:05:00.0-fc-0x500601603ea01c4e-lun-5"
run_hook "$T/u.xml"
check "unknown target, wildcard-scan = no: fails at once without scanning" bash -c \
        "[ $rc = 1 ] && [ $ms -lt $FAST_MS ] && [ -z '$(written)' ] && grep -qF 'is not an online FCP target of any online FC HBA and [fc] wildcard-scan is off' '$T/err'"
setup two-hbas "[fc]
wildcard-scan = yes
on-missing = warn"
run_hook "$T/u.xml"
check "unknown target, wildcard-scan = yes: '- - 5' on each HBA once" \
        [ "$(written)" = "$P5/scsi_host/host5/scan=- - 5/|$P6/scsi_host/host6/scan=- - 5/|" ]

# --- several disks, one target: one scan per HBA -------------------------------------
DEADLINE=$AT_ONCE setup two-hbas
xml "$T/two.xml" "$BYPATH_A2" "$BYPATH_A3" "/dev/disk/by-path/pci-0000:05:00.0-fc-$TGT_A-lun-2-part1"
appear_after 0.2 "disk/by-path/pci-0000:05:00.0-fc-$TGT_A-lun-2"
appear_after 0.3 "disk/by-path/pci-0000:05:00.0-fc-$TGT_A-lun-3"
appear_after 0.4 "disk/by-path/pci-0000:05:00.0-fc-$TGT_A-lun-2-part1"
run_hook "$T/two.xml"
check "three disks on one target: success once all appear (rc=$rc, $ms ms)" bash -c "[ $rc = 0 ] && [ $ms -lt $FAST_MS ]"
check "each HBA gets one REPORT LUNS scan of the target" \
        [ "$(written)" = "$P5/scsi_host/host5/scan=0 0 -/|$P6/scsi_host/host6/scan=0 1 -/|" ]

# --- dry-run prints the plan exactly ------------------------------------------------
setup two-hbas
xml "$T/d.xml" "$BYPATH_A2" "/dev/disk/by-id/dm-uuid-mpath-$WWID1" "/dev/sdz"
"$hook" --dry-run migrate < "$T/d.xml" > "$T/out" 2> "$T/err"; rc=$?
cat > "$T/expected" <<EOE
would write '0 0 2' to @T@/sys/class/scsi_host/host5/scan
would write '0 1 2' to @T@/sys/class/scsi_host/host6/scan
would wait for @T@/dev/disk/by-path/pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-2 (vda)
would ask multipathd: add map 3600601604d903a00e8e4b3c7b6a6e811
would wait for @T@/dev/disk/by-id/dm-uuid-mpath-3600601604d903a00e8e4b3c7b6a6e811 (vdb)
domain inst-fc: disk vdc (/dev/sdz, an unscannable name): cannot be made to appear: its name says nothing migkit can scan for (use a /dev/disk/by-path FC name, a by-id wwn-/scsi-/dm-uuid-mpath- name or /dev/mapper/<wwid>)
EOE
check "--dry-run prints the sysfs writes, waits and multipathd requests, and fails for an unscannable disk (rc=$rc)" \
        bash -c "[ $rc = 1 ] && diff -u '$T/expected' <(sed 's|$T|@T@|g' '$T/out')"
check "--dry-run writes nothing" [ -z "$(written)" ]

# --- multipath --------------------------------------------------------------------------
MAPSRC=/dev/disk/by-id/dm-uuid-mpath-$WWID1
xml "$T/m.xml" "$MAPSRC"
DEADLINE=$AT_ONCE setup two-hbas "[fc]
libmpathcmd = $T/no/libmpathcmd.so.0"
run_hook "$T/m.xml"
check "a map needed without libmpathcmd: the step is skipped with a log line and the disk fails at once (rc=$rc, $ms ms)" bash -c \
        "[ $rc = 1 ] && [ $ms -lt $FAST_MS ] && grep -qF 'multipath step skipped: $T/no/libmpathcmd.so.0 cannot be loaded' '$T/err' &&
         grep -qF 'disk vda ($MAPSRC, multipath map of WWID $WWID1): cannot appear: it needs multipath map $WWID1' '$T/err'"
setup two-hbas "[fc]
multipath = no
libmpathcmd = $T/no/libmpathcmd.so.0"
appear_after 0.3 "disk/by-id/dm-uuid-mpath-$WWID1" ../../dm-3
run_hook "$T/m.xml"
check "multipath = no: no multipathd, the map made by someone else is waited for (rc=$rc)" bash -c "[ $rc = 0 ] && [ ! -s '$T/err' ]"

if ! has_libmpathcmd; then
        skip "multipathd steps: libmpathcmd.so.0 is not installed (package multipath-tools)"
else
        fake_mpd() { # MODE
                rm -f "$T/mpd.log"
                fake_multipathd "$1" "$T/mpd.log" "$T/dev"
                mpd=$MPD
                bg+=($mpd)
        }
        echo "multipathd steps below run against a FAKE multipathd (python3, abstract socket, private network namespace)"
        DEADLINE=$AT_ONCE setup two-hbas
        fake_mpd ok
        run_hook "$T/m.xml"
        check "dm-uuid-mpath source with its paths present: the hook asks multipathd for the map and succeeds (rc=$rc, $ms ms: $(head -c 200 "$T/err"))" \
                bash -c "[ $rc = 0 ] && [ $ms -lt $FAST_MS ]"
        check "the request was exactly 'add map $WWID1', correctly framed" [ "$(cat "$T/mpd.log")" = "add map $WWID1" ]
        check "no scan when the LUN's SCSI paths are already there" [ -z "$(written)" ]
        kill $mpd; wait $mpd 2>/dev/null

        # the paths come first (after a wildcard scan), then the map
        setup one-target "[fc]
wildcard-scan = yes"
        W2=3600601604d903a00e8e4b3c7b6a6e8ff
        xml "$T/m2.xml" "/dev/mapper/$W2"
        fake_mpd fail-then-ok
        appear_after 0.3 "disk/by-id/scsi-$W2"
        run_hook "$T/m2.xml"
        check "a map whose paths are not there: wildcard scan, wait for the path link, 'add map' (fail, asked again), map (rc=$rc: $(head -c 300 "$T/err"))" \
                bash -c "[ $rc = 0 ] && [ -L '$T/dev/disk/by-id/dm-uuid-mpath-$W2' ]"
        check "multipathd was asked only after the path appeared" bash -c "[ \"\$(sort -u '$T/mpd.log')\" = 'add map $W2' ]"
        check "the wildcard scan: '- - -' on the only online HBA" [ "$(written)" = "$P5/scsi_host/host5/scan=- - -/|" ]
        kill $mpd; wait $mpd 2>/dev/null

        # multipath = yes: a wwn- source's path first, then its map
        setup two-hbas "[fc]
multipath = yes"
        xml "$T/wwn.xml" "/dev/disk/by-id/wwn-0x600601604d903a00e8e4b3c7b6a6e811"
        fake_mpd ok
        appear_after 0.3 "disk/by-id/wwn-0x600601604d903a00e8e4b3c7b6a6e811"
        run_hook "$T/wwn.xml"
        check "multipath = yes and a wwn- source: its link, then 'add map', then the map's link (rc=$rc, $ms ms: $(head -c 200 "$T/err"))" \
                bash -c "[ $rc = 0 ] && [ \"\$(cat '$T/mpd.log')\" = 'add map $WWID1' ] && [ -L '$T/dev/disk/by-id/dm-uuid-mpath-$WWID1' ]"
        kill $mpd; wait $mpd 2>/dev/null

        setup two-hbas
        fake_mpd hang
        run_hook "$T/m.xml"
        # the watchdog's message is what says the deadline was overrun; the
        # time only bounds it (a loaded machine adds to it)
        check "a hanging multipathd: the hook still ends within its deadline ($ms ms) with rc=1" bash -c \
                "[ $rc = 1 ] && [ $ms -lt 10000 ] && ! grep -q 'deadline (\[hook\] deadline) exceeded' '$T/err'"
        check "and says multipathd did not answer" contains "$T/err" "multipathd did not answer 'add map $WWID1'"
        kill $mpd; wait $mpd 2>/dev/null

        DEADLINE=$AT_ONCE setup two-hbas
        run_hook "$T/m.xml"
        check "no multipathd listening: fails at once ($ms ms) saying so" bash -c \
                "[ $rc = 1 ] && [ $ms -lt $FAST_MS ] && grep -qF 'multipathd is not running' '$T/err'"
fi

# --- overhead on a guest without block disks ------------------------------------
setup two-hbas
cat > "$T/plain.xml" <<EOX
<domain type='qemu'><name>$NAME</name><uuid>$UUID</uuid><memory>65536</memory>
<os><type>hvm</type></os><devices><disk type='file' device='disk'><source file='/var/lib/libvirt/images/plain.qcow2'/><target dev='vda'/></disk></devices></domain>
EOX
t0=$(now_ms)
for _ in $(seq 20); do "$hook" "$NAME" migrate begin - < "$T/plain.xml" > /dev/null 2>&1 || break; done
per=$(( ($(now_ms) - t0) / 20 ))
check "a guest without block disks: migrate begin takes ${per} ms per call (20 calls; no FC work, no wait)" [ "$per" -lt 1000 ]

summary
