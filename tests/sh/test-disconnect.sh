#!/bin/bash
# The SAN side of a migration at both ends, with the real binaries: the hook
# records a guest's LUNs (started, release), migkit-cleanup removes them on
# the source after a proven migration and removes on the destination, after
# a failed one, exactly what the hook's scan brought. The fake sysfs trees of
# tests/data/sysfs (source, dest) stand for the host; tests/sh/
# fake-multipathd.py plays multipathd, the kernel (device/delete and scan
# are FIFOs it reads) and udev (the /dev root), and logs every request and
# write in order, so each case asserts exactly what was asked and written.
# libvirt is its test driver (test://<file>): the other domains of the host.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

in_namespaces "SAN disconnect tests (a private abstract socket for the fake multipathd)" -n -- "$@"

build=$(realpath "${MIGKIT_BUILD:-build}")
hook=$build/migkit-hook mc=$build/migkit-cleanup mk=$build/migkit
T=$(mktemp -d /tmp/migkit-test-disconnect.XXXXXX)
MPD=
stop_fake() { [ -n "$MPD" ] && kill "$MPD" 2>/dev/null && wait "$MPD" 2>/dev/null; MPD=; }
trap "stop_fake; [ -n "${KEEP:-}" ] || rm -rf \"\$T\"" EXIT
export MIGKIT_CONFIG=$T/migkit.conf
UA=5b7a1c2e-9f3d-4b8a-a1c2-3d4e5f607182 UB=0f0e0d0c-0b0a-4998-8776-655443322110
W=3600601604d903a00e8e4b3c7b6a6e8

# setup TREE [extra INI]: the tree, an empty /dev, a clean mount table and
# /proc, no other domain, and the fake multipathd/kernel/udev on them.
setup() {
        local tree=$1; shift
        stop_fake
        rm -rf "$T/sys" "$T/sys.hidden" "$T/dev" "$T/inst" "$T/state" "$T/proc" "$T/log"
        cp -a "tests/data/sysfs/$tree" "$T/sys"
        mkdir -p "$T/dev" "$T/inst" "$T/proc/1/fd"
        ln -s /dev/null "$T/proc/1/fd/0"
        printf '22 1 8:1 / / rw - ext4 /dev/sda1 rw\n' > "$T/mountinfo"
        node
        cat > "$T/migkit.conf" <<EOC
[paths]
instances = $T/inst
state = $T/state
sysfs = $T/sys
dev = $T/dev
mountinfo = $T/mountinfo
proc = $T/proc
[cleanup]
libvirt-uri = test://$T/node.xml
settle = 0s
[hook]
deadline = 10s
[fc]
disconnect-wait = ${WAIT:-30s}
$*
EOC
        fake_multipathd ok "$T/log" "$T/dev" "$T/sys"
}
# node [SOURCE...]: this host's other domain, using those block devices
node() {
        local l=pqrstuvw
        { echo "<node><domain type='test'><name>other-guest</name><uuid>11111111-2222-4333-8444-555555555555</uuid>"
          echo "<memory>65536</memory><os><type>hvm</type></os><devices>"
          local i=0; for s in "$@"; do echo "<disk type='block' device='disk'><source dev='$s'/><target dev='vd${l:$i:1}' bus='virtio'/></disk>"; i=$((i + 1)); done
          echo "</devices></domain></node>"; } > "$T/node.xml"
}
# dom FILE NAME UUID SOURCE...: a guest with those block disks (vda, vdb, ...)
dom() {
        local f=$1 name=$2 uuid=$3 i=0 l=abcdefgh; shift 3
        { echo "<domain type='kvm'><name>$name</name><uuid>$uuid</uuid><memory unit='KiB'>65536</memory>"
          echo "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
          for s in "$@"; do echo "<disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='$s'/><target dev='vd${l:$i:1}' bus='virtio'/></disk>"; i=$((i + 1)); done
          echo "</devices></domain>"; } > "$f"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# run PROGRAM ARGS...: stdout, stderr, status, duration in $T/out $T/err $rc $ms
run() { local t0; t0=$(now_ms); "$@" > "$T/out" 2> "$T/err"; rc=$?; ms=$(( $(now_ms) - t0 )); }
# logged: the fake's log, deletes of one LUN sorted (workers run per HBA)
logged() { cat "$T/log" 2>/dev/null; }
absent() { local p; for p in "$@"; do [ ! -e "$p" ] && [ ! -L "$p" ] || return 1; done; }
present() { local p; for p in "$@"; do [ -e "$p" ] || return 1; done; }
json() { python3 -c "import json,sys; d=json.load(open('$T/out')); print($1)"; }
export -f absent present json
export T

dom "$T/a.xml" inst-a "$UA" /dev/mapper/mpatha /dev/disk/by-path/pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-2
dom "$T/a1.xml" inst-a "$UA" /dev/mapper/mpatha

# --- one LUN with four paths and a map (and an unused kpartx partition map) --
setup source
# multipathd holds every path it monitors open: not a use of the LUN
mkdir -p "$T/proc/77/fd" && ln -s /sbin/multipathd "$T/proc/77/exe" && echo multipathd > "$T/proc/77/comm"
for n in 112 128 144 160; do mknod "$T/blk$n" b 8 $n && ln -s "$T/blk$n" "$T/proc/77/fd/$n"; done
run "$hook" inst-a started begin - < "$T/a.xml"
check "started begin: exit 0, nothing said ($(head -c 300 "$T/err"))" bash -c "[ $rc = 0 ] && [ ! -s '$T/err' ]"
check "the guest's LUNs are recorded: WWID, map, sd names with H:C:T:L, by-path, source" bash -c "
        grep -qx 'lun vda ${W}25 mpatha sdh=5:0:1:5,sdi=5:0:2:5,sdj=6:0:0:5,sdk=6:0:1:5 pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-5 /dev/mapper/mpatha' '$T/state/luns/$UA' &&
        grep -qx 'lun vdb ${W}22 - sdd=5:0:1:2 pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-2 /dev/disk/by-path/pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-2' '$T/state/luns/$UA'"
run "$hook" inst-a release end - < "$T/a.xml"
check "release end (libvirt 9.0: '-'): exit 0, the record is kept" bash -c "[ $rc = 0 ] && grep -q '^lun vda ${W}25 ' '$T/state/luns/$UA'"
run "$mc" source "$UA"
check "without a proof: nothing asked, nothing written, nothing pending (a guest that only stopped)" bash -c "
        [ $rc = 0 ] && [ ! -s '$T/log' ] && [ ! -e '$T/state/pending/$UA.disconnect' ] && [ -e '$T/state/luns/$UA' ]"
"$mc" proof "$UA" migrated --by watch --name inst-a > /dev/null 2>&1
run "$mc" source "$UA"
check "with a migrated proof: migkit-cleanup source exits 0 ($(tail -c 300 "$T/err" | tr '\n' ' '))" [ "$rc" = 0 ]
check "multipathd: 'del map mpatha' first, then '1' to each of the four paths' delete, then the single-path LUN's" bash -c "
        [ \"\$(sed -n 1p '$T/log')\" = 'del map mpatha' ] &&
        [ \"\$(sed -n 2,5p '$T/log' | sort | tr '\n' '|')\" = 'write 5:0:1:5 delete 1|write 5:0:2:5 delete 1|write 6:0:0:5 delete 1|write 6:0:1:5 delete 1|' ] &&
        [ \"\$(sed -n '6,\$p' '$T/log' | tr '\n' '|')\" = 'write 5:0:1:2 delete 1|' ]"
check "the map, its partition map, the paths and their /dev nodes are gone" absent "$T/sys/block/dm-8" "$T/sys/block/dm-9" \
        "$T/sys/block/sdh" "$T/sys/block/sdk" "$T/sys/class/scsi_device/5:0:1:5" "$T/dev/mapper/mpatha" "$T/dev/sdh" "$T/dev/sdk" "$T/dev/sdd"
check "nothing else was touched (the other LUNs and maps)" present "$T/sys/block/dm-3" "$T/sys/block/sdc" "$T/dev/sdc" "$T/dev/mapper/vg0-data"
check "the record, the proof and any pending item are gone" absent "$T/state/luns/$UA" "$T/state/proof/$UA" "$T/state/pending/$UA.disconnect"
run "$mk" status --json -c "$T/migkit.conf"
check "migkit status --json: nothing pending" bash -c "[ $rc = 0 ] && [ \"\$(json 'len(d[\"pending\"])')\" = 0 ]"

# --- release refreshes the record; a disk whose device is gone keeps its entry -
setup source
run "$hook" inst-a release end - < "$T/a.xml"
check "release end of a guest that never started here: nothing recorded" bash -c "[ $rc = 0 ] && absent '$T/state/luns/$UA'"
"$hook" inst-a started begin - < "$T/a1.xml"
run "$hook" inst-a release end - < "$T/a.xml"
check "release end with a disk added since the start (vdb): the record gains its LUN" bash -c "[ $rc = 0 ] &&
        grep -q '^lun vda ${W}25 ' '$T/state/luns/$UA' && grep -q '^lun vdb ${W}22 - sdd=5:0:1:2 ' '$T/state/luns/$UA'"
# the kernel removes vdb's only path (the fake kernel reads the write)
echo 1 > "$T/sys/class/scsi_device/5:0:1:2/device/delete"
wait_for 10 absent "$T/sys/block/sdd" "$T/dev/sdd"
run "$hook" inst-a release end - < "$T/a.xml"
check "release end when vdb's device is gone by then: its entry stays, as recorded ($(head -c 300 "$T/err"))" bash -c "[ $rc = 0 ] &&
        grep -q '^lun vda ${W}25 ' '$T/state/luns/$UA' && grep -q '^lun vdb ${W}22 - sdd=5:0:1:2 ' '$T/state/luns/$UA'"

# --- another domain uses the LUN (by another name: compared by WWID) ---------
setup source
node /dev/disk/by-id/wwn-0x600601604d903a00e8e4b3c7b6a6e825
"$hook" inst-a started begin - < "$T/a1.xml"
"$mc" proof "$UA" migrated --by watch --name inst-a > /dev/null 2>&1
run "$mc" source "$UA"
check "a LUN another domain of this host uses: refused, exit 3" [ "$rc" = 3 ]
check "nothing asked of multipathd, nothing written" bash -c "[ ! -s '$T/log' ] && present '$T/sys/block/dm-8' '$T/sys/block/sdh' '$T/dev/mapper/mpatha'"
check "the pending item names the LUN and who uses it" bash -c "grep -qF 'reason WWID ${W}25 (map mpatha dm-8, paths sdh 5:0:1:5, sdi 5:0:2:5, sdj 6:0:0:5, sdk 6:0:1:5) is in use: domain other-guest uses it (disk vdp, /dev/disk/by-id/wwn-0x600601604d903a00e8e4b3c7b6a6e825)' '$T/state/pending/$UA.disconnect'"
run "$mk" status --json -c "$T/migkit.conf"
check "migkit status --json shows it: action disconnect, the reason" bash -c "[ $rc = 3 ] &&
        [ \"\$(json 'd[\"pending\"][0][\"action\"]')\" = disconnect ] && json 'd[\"pending\"][0][\"reasons\"][0]' | grep -qF 'domain other-guest uses it'"
run "$mk" status -c "$T/migkit.conf"
check "and migkit status: one line" grep -q "^pending disconnect $UA inst-a for .*: WWID ${W}25 .* is in use: domain other-guest uses it" "$T/out"
check "the proof stays for a later run (the directory step does not spend it)" present "$T/state/proof/$UA" "$T/state/luns/$UA"
node
run "$mc" source "$UA"
check "once the other domain is gone, the same command removes it and clears the pending item" bash -c "[ $rc = 0 ] &&
        [ \"\$(sed -n 1p '$T/log')\" = 'del map mpatha' ] && absent '$T/state/pending/$UA.disconnect' '$T/state/luns/$UA' '$T/state/proof/$UA' '$T/sys/block/dm-8'"

# --- another domain only defined here (shut off) uses the LUN: its next start -
setup source
node /dev/disk/by-id/wwn-0x600601604d903a00e8e4b3c7b6a6e825
sed -i "s|<domain type='test'>|<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>|; s|</devices>|</devices><test:runstate>5</test:runstate>|" "$T/node.xml"
check "the test driver has other-guest shut off (defined, not running)" bash -c "
        virsh -c 'test://$T/node.xml' list --all 2>/dev/null | grep -qE '^ *- +other-guest +shut off'"
"$hook" inst-a started begin - < "$T/a1.xml"
"$mc" proof "$UA" migrated --by watch --name inst-a > /dev/null 2>&1
run "$mc" source "$UA"
check "a LUN a shut-off domain of this host is defined with: refused, exit 3, nothing asked or written" bash -c "[ $rc = 3 ] &&
        [ ! -s '$T/log' ] && present '$T/sys/block/dm-8' '$T/sys/block/sdh' '$T/dev/mapper/mpatha'"
check "the pending item names the LUN and the shut-off domain" bash -c "grep -qF 'reason WWID ${W}25 (map mpatha dm-8, paths sdh 5:0:1:5, sdi 5:0:2:5, sdj 6:0:0:5, sdk 6:0:1:5) is in use: domain other-guest uses it (disk vdp, /dev/disk/by-id/wwn-0x600601604d903a00e8e4b3c7b6a6e825)' '$T/state/pending/$UA.disconnect'"

# --- libvirt still has the guest, or an incoming migration of it is open -----
setup source
sed -i "s|</node>|<domain type='test'><name>inst-a</name><uuid>$UA</uuid><memory>65536</memory><os><type>hvm</type></os></domain></node>|" "$T/node.xml"
"$hook" inst-a started begin - < "$T/a1.xml"
"$mc" proof "$UA" migrated --by watch > /dev/null 2>&1
run "$mc" source "$UA"
check "libvirt still has the domain here: refused (exit 3), nothing asked or written" bash -c "[ $rc = 3 ] && [ ! -s '$T/log' ] &&
        grep -qF 'libvirt (test://$T/node.xml) still has domain inst-a here' '$T/state/pending/$UA.disconnect'"
node
mkdir -p "$T/state/journal" && printf 'migkit-journal 1\nuuid %s\nstarted 1\n' "$UA" > "$T/state/journal/$UA"
run "$mc" source "$UA"
check "an incoming migration of the guest is unresolved here: refused, nothing asked or written" bash -c "[ $rc = 3 ] && [ ! -s '$T/log' ] &&
        grep -qF 'an incoming migration of this guest to this host is unresolved' '$T/state/pending/$UA.disconnect'"

# --- a mounted, a held, an open map: refused ---------------------------------
for c in mounted held open; do
        setup source
        case $c in
        mounted) printf '22 1 8:1 / / rw - ext4 /dev/sda1 rw\n40 22 254:9 / /srv/data rw - xfs /dev/mapper/mpatha-part1 rw\n' > "$T/mountinfo"
                 want='device 254:9 is mounted on /srv/data' ;;
        held) mkdir -p "$T/sys/devices/virtual/block/dm-20/dm" "$T/sys/devices/virtual/block/dm-20/slaves"
              echo vg1-lv > "$T/sys/devices/virtual/block/dm-20/dm/name"; echo LVM-x > "$T/sys/devices/virtual/block/dm-20/dm/uuid"
              ln -s ../devices/virtual/block/dm-20 "$T/sys/block/dm-20"; mkdir -p "$T/sys/devices/virtual/block/dm-9/holders"; ln -s ../../dm-20 "$T/sys/devices/virtual/block/dm-9/holders/dm-20"
              want='partition map mpatha-part1 (dm-9) is held by dm-20 (vg1-lv)' ;;
        open) mkdir -p "$T/proc/4242/fd" && echo qemu-system-x86 > "$T/proc/4242/comm" && mknod "$T/blk8" b 254 8 &&
              ln -s "$T/blk8" "$T/proc/4242/fd/21"
              want='device 254:8 is open in process 4242 (qemu-system-x86)' ;;
        esac
        "$hook" inst-a started begin - < "$T/a1.xml"
        "$mc" proof "$UA" migrated --by watch > /dev/null 2>&1
        run "$mc" source "$UA"
        check "a $c map: refused (exit 3), nothing asked or written, the pending item says '$want'" bash -c "[ $rc = 3 ] &&
                [ ! -s '$T/log' ] && present '$T/sys/block/dm-8' '$T/sys/block/sdk' && grep -qF '$want' '$T/state/pending/$UA.disconnect'"
done

# --- a path that will not go: bounded by [fc] disconnect-wait ----------------
# (3 s: time enough for the fake kernel to remove the other three on a
# loaded machine)
WAIT=3s FAKE_STUCK=6:0:1:5 setup source
"$hook" inst-a started begin - < "$T/a1.xml"
"$mc" proof "$UA" migrated --by watch > /dev/null 2>&1
run "$mc" source "$UA"
check "one path stays: exit 3 after the 3 s wait, not much later ($ms ms)" bash -c "[ $rc = 3 ] && [ $ms -ge 3000 ] && [ $ms -lt 20000 ]"
check "the map and all four deletes were asked for" bash -c "[ \"\$(sed -n 1p '$T/log')\" = 'del map mpatha' ] && [ \$(grep -c ' delete 1\$' '$T/log') = 4 ]"
check "the three others are gone, the stuck one is named in the pending item" bash -c "absent '$T/sys/block/sdh' '$T/sys/block/sdi' '$T/sys/block/sdj' &&
        present '$T/sys/block/sdk' && grep -qF '1 of 4 paths still there after 3000 ms: sdk (6:0:1:5)' '$T/state/pending/$UA.disconnect'"
check "the LUN stays recorded for the next run" grep -q "^lun vda ${W}25 " "$T/state/luns/$UA"
unset FAKE_STUCK

# --- [fc] disconnect = no ------------------------------------------------------
setup source "disconnect = no"
"$hook" inst-a started begin - < "$T/a1.xml"
"$mc" proof "$UA" migrated --by watch > /dev/null 2>&1
run "$mc" source "$UA"
check "[fc] disconnect = no: nothing recorded, asked or written; exit 0" bash -c "[ $rc = 0 ] && [ ! -s '$T/log' ] && absent '$T/state/luns/$UA'"

# --- the destination: a failed incoming migration --------------------------------
FAKE_HIDDEN="5:0:2:2 5:0:1:3 5:0:2:3 5:0:2:4" setup dest "wildcard-scan = yes"
dom "$T/b.xml" inst-b "$UB" /dev/disk/by-path/pci-0000:05:00.0-fc-0x5006016039a01c4e-lun-2 /dev/disk/by-id/dm-uuid-mpath-${W}33
run "$hook" inst-b migrate begin - < "$T/b.xml"
check "migrate begin: the scans bring the missing paths and the map (rc=$rc: $(head -c 300 "$T/err"))" bash -c "[ $rc = 0 ] &&
        present '$T/dev/sde' '$T/dev/sdf' '$T/dev/sdg' '$T/dev/disk/by-id/dm-uuid-mpath-${W}33'"
check "the journal lists exactly what appeared for this guest: three paths and one map, not sdd (there before), not sdh (another LUN the wildcard scan brought)" bash -c "
        present '$T/sys/block/sdh' &&
        [ \"\$(grep -E '^(scsi|mpath) ' '$T/state/journal/$UB' | sort | tr '\n' '|')\" = 'mpath ${W}33 ${W}33|scsi 5:0:1:3 ${W}33 sdf|scsi 5:0:2:2 ${W}32 sde|scsi 5:0:2:3 ${W}33 sdg|' ]"
run "$mk" status --json -c "$T/migkit.conf"
check "migkit status --json shows them in the journal" bash -c "[ \"\$(json 'sorted(d[\"journals\"][0][\"scsi\"])')\" = \"['5:0:1:3 ${W}33 sdf', '5:0:2:2 ${W}32 sde', '5:0:2:3 ${W}33 sdg']\" ] &&
        [ \"\$(json 'd[\"journals\"][0][\"mpaths\"]')\" = \"['${W}33 ${W}33']\" ]"
: > "$T/log"
"$mc" proof "$UB" incoming-failed --by watch > /dev/null 2>&1
run "$mc" rollback "$UB"
check "rollback: exit 0 ($(tail -c 300 "$T/err" | tr '\n' ' '))" [ "$rc" = 0 ]
check "it removes the map it made and exactly the three paths its scan brought" bash -c "
        [ \"\$(sed -n 1p '$T/log')\" = 'del map ${W}33' ] &&
        [ \"\$(grep ' delete ' '$T/log' | sort | tr '\n' '|')\" = 'write 5:0:1:3 delete 1|write 5:0:2:2 delete 1|write 5:0:2:3 delete 1|' ]"
check "the path that was there before stays (sysfs and /dev)" present "$T/sys/class/scsi_device/5:0:1:2" "$T/sys/block/sdd" "$T/dev/sdd"
check "so does the other LUN the wildcard scan brought" present "$T/sys/block/sdh" "$T/dev/sdh"
check "the others are gone; the journal and the proof too" absent "$T/sys/block/sde" "$T/sys/block/sdf" "$T/sys/block/sdg" \
        "$T/dev/sde" "$T/state/journal/$UB" "$T/state/proof/$UB"

# a map that was there before: the rollback takes its path out of it and
# leaves the map
FAKE_HIDDEN="5:0:2:2 5:0:1:3 5:0:2:3 5:0:2:4" setup dest "wildcard-scan = yes"
multipathd add map ${W}32 > /dev/null
dom "$T/b2.xml" inst-b "$UB" /dev/disk/by-path/pci-0000:05:00.0-fc-0x5006016039a01c4e-lun-2
"$hook" inst-b migrate begin - < "$T/b2.xml" > /dev/null 2>&1
check "the journal lists the new path, not the map that was there before" bash -c "
        [ \"\$(grep -E '^(scsi|mpath) ' '$T/state/journal/$UB' | tr '\n' '|')\" = 'scsi 5:0:2:2 ${W}32 sde|' ]"
: > "$T/log"
"$mc" proof "$UB" incoming-failed --by watch > /dev/null 2>&1
run "$mc" rollback "$UB"
check "rollback: 'del path sde' (out of the map), then its delete; the map stays" bash -c "[ $rc = 0 ] &&
        [ \"\$(tr '\n' '|' < '$T/log')\" = 'del path sde|write 5:0:2:2 delete 1|' ] && present '$T/sys/block/dm-10' '$T/sys/block/sdd'"

# a rollback that finds the LUN in use keeps it in the journal, pending
FAKE_HIDDEN="5:0:2:2 5:0:1:3 5:0:2:3 5:0:2:4" setup dest "wildcard-scan = yes"
run "$hook" inst-b migrate begin - < "$T/b.xml"
# the paths of the other LUN (the map's) the journal lists: the rollback removes those
lun3=$(awk -v w="${W}33" '$1 == "scsi" && $3 == w { print $2 }' "$T/state/journal/$UB" 2>/dev/null | sort | tr '\n' ' ')
check "migrate begin again: rc=$rc, the journal lists LUN 2's path and the map's ($lun3)" bash -c "[ $rc = 0 ] && [ -n '$lun3' ] &&
        grep -qx 'scsi 5:0:2:2 ${W}32 sde' '$T/state/journal/$UB'"
node /dev/disk/by-id/scsi-${W}32
: > "$T/log"
"$mc" proof "$UB" incoming-failed --by watch > /dev/null 2>&1
run "$mc" rollback "$UB"
check "rollback with another domain on one LUN: exit 3; the other LUN's paths are removed, that one is left (rc=$rc: $(tr '\n' '|' < "$T/log"))" bash -c "[ $rc = 3 ] &&
        ! grep -q '5:0:2:2' '$T/log' && for p in $lun3; do grep -q \"write \$p delete 1\" '$T/log' || exit 1; done && present '$T/sys/block/sde'"
check "the journal keeps it, the pending rollback says why" bash -c "grep -qx 'scsi 5:0:2:2 ${W}32 sde' '$T/state/journal/$UB' &&
        ! grep -q '^scsi [^ ]* ${W}33 ' '$T/state/journal/$UB' && grep -qF 'domain other-guest uses it' '$T/state/pending/$UB.rollback'"

# --- swap-volume onto a LUN missing here: the hook's targeted rescan first -------
# libvirt's test driver runs the guest and has no block copy: the copy then
# fails, after the rescan (what is asserted here); the copy and pivot
# themselves: tests/unit/test-swapvol.c and tests/lab/e2e-driver.
swapdom() {
        echo "<node><domain type='test'><name>inst-s</name><uuid>$US</uuid><memory>65536</memory><os><type>hvm</type></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$T/old.img'/><target dev='vdb' bus='virtio'/></disk>
</devices></domain></node>" > "$T/swap.xml"
}
US=2a2b2c2d-3e3f-4a4b-8c8d-9e9f0a0b0c0d
NEWLUN=/dev/disk/by-path/pci-0000:05:00.0-fc-0x5006016039a01c4e-lun-2
FAKE_HIDDEN="5:0:2:2" setup dest
swapdom
run "$mk" swap-volume inst-s vdb "$NEWLUN" -c "$T/migkit.conf" --connect "test://$T/swap.xml"
check "swap-volume onto a missing FC LUN: the rescan first, naming it" \
        grep -qF "inst-s: $NEWLUN is missing here: rescanning for it as the hook does" "$T/out"
check "exactly '0 2 2' to host5's scan (the LUN's target), and the LUN came ($(tr '\n' '|' < "$T/log"))" bash -c "
        [ \"\$(grep ' scan ' '$T/log' | tr '\n' '|')\" = 'write host5 scan 0 2 2|' ] && present '$T/dev/sde' '$T/dev${NEWLUN#/dev}'"
check "then the copy was tried (the test driver has none: exit 1), after the rescan" bash -c "[ $rc = 1 ] &&
        grep -qF 'cannot start copying disk vdb to $NEWLUN' '$T/err'"
FAKE_HIDDEN="" setup dest
swapdom
run "$mk" swap-volume inst-s vdb "${NEWLUN%-2}-7" -c "$T/migkit.conf" --connect "test://$T/swap.xml"
check "a LUN that does not come: exit 3, nothing copied, no definition saved ($(tail -c 300 "$T/err" | tr '\n' ' '))" bash -c "[ $rc = 3 ] &&
        grep -qF 'did not appear on this host; nothing was copied' '$T/err' && ! grep -q 'cannot start copying' '$T/err' && absent '$T/state/swap'"

summary
