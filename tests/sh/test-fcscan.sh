#!/bin/bash
# migkit-fcscan, the real binary, against copies of the fake sysfs trees in
# tests/data/sysfs and a temporary /dev root; standard output is compared with
# tests/data/fcscan/<case>.out (@T@ stands for the temporary directory).
# VIR_TEST_REGENERATE_OUTPUT=1 rewrites the expected files (as it does
# tests/data/xml/*.out.xml): review the diff line by line.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

# a private network namespace: no multipathd of the host is ever asked
in_namespaces "migkit-fcscan tests" -n -- "$@"

build=$(realpath "${MIGKIT_BUILD:-build}")
fcscan=$build/migkit-fcscan
T=$(mktemp -d /tmp/migkit-test-fcscan.XXXXXX)
bg=()
trap 'for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
export MIGKIT_CONFIG=$T/migkit.conf
E=tests/data/fcscan
P5=devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5
P6=devices/pci0000:00/0000:00:03.0/0000:05:00.1/host6
WWID1=3600601604d903a00e8e4b3c7b6a6e811

setup() { # TREE [extra INI]
        rm -rf "$T/sys" "$T/dev"
        cp -a "tests/data/sysfs/$1" "$T/sys"
        mkdir -p "$T/dev"
        shift
        printf '[paths]\nsysfs = %s\ndev = %s\n%s\n' "$T/sys" "$T/dev" "$*" > "$T/migkit.conf"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
run() { # ARGS...: stdout/stderr/status/duration in $T/out $T/err $rc $ms
        local t0; t0=$(now_ms)
        "$fcscan" "$@" > "$T/out" 2> "$T/err"
        rc=$?
        ms=$(( $(now_ms) - t0 ))
}
written() {
        (cd "$T/sys" && find . \( -name scan -o -name issue_lip -o -name delete \) -type f -size +0 | sort |
         while read -r f; do printf '%s=%s|' "${f#./}" "$(tr '\n' '/' < "$f")"; done)
}
# golden CASE DESCRIPTION: stdout matches tests/data/fcscan/CASE.out
golden() {
        local got; got=$(sed "s|$T|@T@|g" "$T/out")
        if [ "${VIR_TEST_REGENERATE_OUTPUT:-}" = 1 ]; then printf '%s\n' "$got" > "$E/$1.out"; fi
        if diff -u "$E/$1.out" <(printf '%s\n' "$got") > "$T/diff"; then pass "$2"; else fail "$2: $(cat "$T/diff")"; fi
}

# --- usage ------------------------------------------------------------------------
run --help
check "--help exits 0 and documents the exit codes" bash -c "[ $rc = 0 ] && grep -q '^Exit status: 0 every device is there' '$T/out'"
run --version
check "--version prints the version" bash -c "[ $rc = 0 ] && grep -q '^migkit-fcscan [0-9]' '$T/out'"
for args in "" "--wwpn 0x5006016839a01c4e" "--lun 1" "--wwid $WWID1 --wwpn 0x5006016839a01c4e --lun 1" \
            "--wwpn 0x5006016839a01c4 --lun 1" "--wwpn 0x5006016839a01c4e --lun 08" "--wwid 3600;reboot" \
            "--wwid $WWID1 --wait soon" "--wwid $WWID1 extra"; do
        run $args
        check "usage error exits 2: '$args' ($(head -1 "$T/err"))" [ "$rc" = 2 ]
done

# --- dry runs: exactly the plan --------------------------------------------------
setup two-hbas
run --dry-run --wwpn 0X5006016839A01C4E --lun 3
check "--dry-run --wwpn (uppercase) exits 0" [ "$rc" = 0 ]
golden dry-wwpn "--dry-run --wwpn prints a targeted write per HBA (target ids from the rports) and the wait"
check "--dry-run writes nothing" [ -z "$(written)" ]
run --dry-run --wwpn 50:06:01:68:39:a0:1c:4e --lun 0x4100000000000000
golden dry-wwpn-flat "--dry-run with a colon WWPN and udev's form of flat LUN 256 (kernel LUN 16640)"

cat > "$T/dom.xml" <<EOX
<domain type='kvm'><name>inst-fc</name><uuid>5b7a1c2e-9f3d-4b8a-a1c2-3d4e5f607182</uuid><memory>65536</memory>
<os><type>hvm</type></os><devices>
<disk type='block' device='disk'><source dev='/dev/disk/by-path/pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-2'/><target dev='vda' bus='virtio'/></disk>
<disk type='block' device='disk'><source dev='/dev/disk/by-path/pci-0000:05:00.1-fc-0x5006016039a01c4e-lun-7'/><target dev='vdb' bus='virtio'/></disk>
<disk type='block' device='disk'><source dev='/dev/disk/by-id/dm-uuid-mpath-$WWID1'/><target dev='vdc' bus='virtio'/></disk>
<disk type='file' device='disk'><source file='/var/lib/libvirt/images/x.qcow2'/><target dev='vdd' bus='virtio'/></disk>
</devices></domain>
EOX
run --dry-run --domain-xml "$T/dom.xml"
check "--dry-run --domain-xml exits 0 ($(head -c 200 "$T/err"))" [ "$rc" = 0 ]
golden dry-domain "--dry-run --domain-xml: each missing block disk, each HBA and target once, the map request"
run --dry-run --domain-xml - < "$T/dom.xml"
golden dry-domain "--domain-xml - reads standard input"

setup two-hbas "[fc]
multipath = no"
run --dry-run --wwid $WWID1
golden dry-wwid-paths "--dry-run --wwid whose SCSI paths exist, multipath = no: only a wait for the by-id link"
run --dry-run --wwid 3600601604d903a00e8e4b3c7b6a6e8ff
check "--dry-run --wwid with no path and wildcard-scan = no exits 4 (nothing can be scanned)" \
        bash -c "[ $rc = 4 ] && grep -qF 'no target WWPN is known for it and [fc] wildcard-scan is off' '$T/out'"
setup offline "[fc]
wildcard-scan = yes
issue-lip = yes
multipath = no"
run --dry-run --wwid 3600601604d903a00e8e4b3c7b6a6e8ff
golden dry-wwid-wildcard "--dry-run --wwid with wildcard-scan and issue-lip: LIP then '- - -' on the online HBA only"

# --- real runs -----------------------------------------------------------------------
setup two-hbas
run --wwpn 0x5006016839a01c4e --lun 3
check "--wwpn without --wait: scans written, exit 0, no error for a device not there yet" bash -c "[ $rc = 0 ] && [ ! -s '$T/err' ]"
golden wwpn "stdout: one line per write and the device's state"
check "the writes are exactly the plan" [ "$(written)" = "$P5/scsi_host/host5/scan=0 0 3/|$P6/scsi_host/host6/scan=0 1 3/|" ]

setup two-hbas
( sleep 0.3; mkdir -p "$T/dev/disk/by-path"; : > "$T/dev/sdx"
  ln -s ../../sdx "$T/dev/disk/by-path/pci-0000:05:00.1-fc-0x5006016839a01c4e-lun-3"; now_ms > "$T/appeared" ) &
bg+=($!)
run --wwpn 0x5006016839a01c4e --lun 3 --wait 20
end=$(now_ms)
check "--wait: exit 0 once a by-path link of that WWPN and LUN appears (any HBA) ($ms ms)" \
        bash -c "[ $rc = 0 ] && grep -qx 'present $T/dev/disk/by-path/\*-fc-0x5006016839a01c4e-lun-3 (wwpn)' '$T/out'"
check "and returns $(( end - $(cat "$T/appeared") )) ms after the link appeared (woken by it: < 5000 ms of its 20 s, on a loaded machine too)" [ $(( end - $(cat "$T/appeared") )) -lt 5000 ]

setup two-hbas
run --wwpn 0x5006016839a01c4e --lun 4 --wait 500ms
check "--wait takes the configuration's units: 500ms, exit 3 after about 0.5 s ($ms ms)" bash -c "[ $rc = 3 ] && [ $ms -ge 400 ] && [ $ms -lt 5000 ]"
run --wwpn 0x5006016839a01c4e --lun 4 --wait 1
check "--wait 1 and nothing appears: exit 3 after about 1 s ($ms ms)" bash -c "[ $rc = 3 ] && [ $ms -ge 900 ] && [ $ms -lt 5000 ]"
check "stdout says missing, stderr names WWPN, LUN and the HBAs scanned" bash -c "
        grep -qx 'missing $T/dev/disk/by-path/\*-fc-0x5006016839a01c4e-lun-4 (wwpn)' '$T/out' &&
        grep -qF 'WWPN 0x5006016839a01c4e LUN 4: $T/dev/disk/by-path/*-fc-0x5006016839a01c4e-lun-4 did not appear within' '$T/err' &&
        grep -qF 'scanned: host5 (target 0:0 via rport-5:0-0), host6 (target 0:1 via rport-6:0-2)' '$T/err'"

setup no-fc
run --wwpn 0x5006016839a01c4e --lun 1 --wait 20
check "no FC HBA: exit 4 at once, not after its 20 s wait (rc=$rc, $ms ms: $(head -c 300 "$T/err"))" bash -c "[ $rc = 4 ] && [ $ms -lt 5000 ] && grep -qF 'this host has no FC HBA' '$T/err'"
check "not even to the SCSI host's scan" [ -z "$(written)" ]

setup offline "[fc]
wildcard-scan = yes"
run --wwpn 0x5006016839a01c4e --lun 1
check "offline ports skipped: the fallback scans the online HBA only ($(written))" [ "$(written)" = "$P5/scsi_host/host5/scan=- - 1/|" ]

setup two-hbas
rm "$T/sys/$P6/scsi_host/host6/scan" && mkdir "$T/sys/$P6/scsi_host/host6/scan"
run --wwpn 0x5006016839a01c4e --lun 3
check "a scan write that fails: exit 1, said on stdout and stderr, the other HBA still scanned" bash -c "
        [ $rc = 1 ] && grep -qx \"failed to write '0 1 3' to $T/sys/class/scsi_host/host6/scan: Is a directory\" '$T/out' &&
        grep -qF \"cannot write '0 1 3' to $T/sys/class/scsi_host/host6/scan: Is a directory\" '$T/err' &&
        [ \"\$(cat '$T/sys/$P5/scsi_host/host5/scan')\" = '0 0 3' ]"

setup one-target
rm "$T/sys/$P5/scsi_host/host5/scan" && mkdir "$T/sys/$P5/scsi_host/host5/scan"
run --wwpn 0x5006016839a01c4e --lun 3 --wait 20
check "every scan write refused: exit 1 at once ($ms ms), not after --wait" bash -c \
        "[ $rc = 1 ] && [ $ms -lt 10000 ] && grep -qF 'cannot appear: every scan write failed (Is a directory)' '$T/err'"

setup two-hbas "[fc]
wildcard-scan = perhaps"
run --wwpn 0x5006016839a01c4e --lun 3
check "a bad configuration: exit 1 naming the key" bash -c "[ $rc = 1 ] && grep -qF \"[fc] wildcard-scan = 'perhaps' is not valid\" '$T/err'"

setup two-hbas
mkdir -p "$T/dev/disk/by-path" && : > "$T/dev/sdq"
for s in pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-2 pci-0000:05:00.1-fc-0x5006016039a01c4e-lun-7; do ln -s ../../sdq "$T/dev/disk/by-path/$s"; done
mkdir -p "$T/dev/disk/by-id" && ln -s ../../sdq "$T/dev/disk/by-id/dm-uuid-mpath-$WWID1"
run --domain-xml "$T/dom.xml"
check "--domain-xml with every disk there: exit 0, nothing written" bash -c \
        "[ $rc = 0 ] && grep -qx 'no block disk of domain inst-fc is missing' '$T/out' && [ -z '$(written)' ]"

# --- --remove: source side, opt-in, refused while anything uses the LUN --------------
W=3600601604d903a00e8e4b3c7b6a6e8
SRC5=devices/pci0000:00/0000:00:03.0/0000:05:00.0/host5/rport-5:0-2/target5:0:1
SRC6=devices/pci0000:00/0000:00:03.0/0000:05:00.1/host6/rport-6:0-0/target6:0:0
node() { # FILE SOURCE...: a libvirt test-driver host whose one domain uses the sources
        local f=$1; shift
        { echo "<node><domain type='test'><name>other-guest</name><uuid>11111111-2222-4333-8444-555555555555</uuid>"
          echo "<memory>65536</memory><os><type>hvm</type></os><devices>"
          local i=0; for s in "$@"; do echo "<disk type='block' device='disk'><source dev='$s'/><target dev='vd$(printf "\\x$(printf %x $((97 + i)))")' bus='virtio'/></disk>"; i=$((i + 1)); done
          echo "</devices></domain></node>"; } > "$f"
}
rsetup() { # [extra INI]: the source tree, a clean mount table, a libvirt test host
        setup source
        printf '[paths]\nsysfs = %s\ndev = %s\nmountinfo = %s\nproc = %s\n[cleanup]\nlibvirt-uri = test://%s/node.xml\n%s\n' \
                "$T/sys" "$T/dev" "$T/mountinfo" "$T/proc" "$T" "$*" > "$T/migkit.conf"
        printf '22 1 8:1 / / rw - ext4 /dev/sda1 rw\n' > "$T/mountinfo"
        rm -rf "$T/proc"; mkdir -p "$T/proc/1/fd"; ln -s /dev/null "$T/proc/1/fd/0"
        node "$T/node.xml" /dev/disk/by-id/wwn-0x600601604d903a00e8e4b3c7b6a6e899
}
if ! "$fcscan" --help | grep -q -- --remove; then
        fail "--remove is not documented in --help"
fi
rsetup
run --remove --dry-run --wwid ${W}21
check "--remove --dry-run of an unused LUN with a map exits 0 ($(head -c 200 "$T/err"))" [ "$rc" = 0 ]
golden remove-dry-map "--remove --dry-run: the map through multipathd first, then '1' to each path's delete"
check "--remove --dry-run writes nothing" [ -z "$(written)" ]

cat > "$T/gone.xml" <<EOX
<domain type='kvm'><name>migrated</name><uuid>5b7a1c2e-9f3d-4b8a-a1c2-3d4e5f607182</uuid><memory>65536</memory>
<os><type>hvm</type></os><devices>
<disk type='block' device='disk'><source dev='/dev/disk/by-path/pci-0000:05:00.0-fc-0x5006016839a01c4e-lun-2'/><target dev='vda' bus='virtio'/></disk>
<disk type='block' device='disk'><source dev='/dev/mapper/${W}21'/><target dev='vdb' bus='virtio'/></disk>
<disk type='block' device='disk'><source dev='/dev/disk/by-id/wwn-0x600601604d903a00e8e4b3c7b6a6e8ff'/><target dev='vdc' bus='virtio'/></disk>
</devices></domain>
EOX
run --remove --dry-run --domain-xml "$T/gone.xml"
golden remove-dry-domain "--remove --domain-xml: the LUNs of a migrated-away guest's block disks (by-path and mapper names)"

node "$T/node.xml" "/dev/disk/by-id/dm-uuid-mpath-${W}22"
run --remove --wwid ${W}22
check "a LUN a local domain uses: refused, exit 5, nothing written" bash -c "[ $rc = 5 ] && [ -z '$(written)' ] &&
        grep -qx 'refused WWID ${W}22: domain other-guest uses it (disk vda, /dev/disk/by-id/dm-uuid-mpath-${W}22)' '$T/out'"
mkdir -p "$T/dev" && mknod "$T/dev/sdd" b 8 48
node "$T/node.xml" /dev/sdd
run --remove --wwid ${W}22
check "a domain that names the LUN's device by its kernel name (/dev/sdd): refused" bash -c "[ $rc = 5 ] &&
        grep -qF 'domain other-guest uses it (disk vda, /dev/sdd)' '$T/out'"
rsetup
printf '22 1 8:1 / / rw - ext4 /dev/sda1 rw\n31 22 8:49 / /var/lib/data rw - ext4 /dev/sdd1 rw\n' > "$T/mountinfo"
run --remove --wwid ${W}22
check "a LUN whose partition is mounted: refused naming the mount" bash -c "[ $rc = 5 ] && grep -qF 'device 8:49 is mounted on /var/lib/data' '$T/out'"
rsetup
mkdir -p "$T/proc/4242/fd" && echo qemu-system-x86 > "$T/proc/4242/comm" && mknod "$T/blk" b 8 48 && ln -s "$T/blk" "$T/proc/4242/fd/21"
run --remove --wwid ${W}22
check "a LUN that a process has open (as QEMU does): refused naming the process" bash -c "[ $rc = 5 ] &&
        grep -qF 'device 8:48 is open in process 4242 (qemu-system-x86)' '$T/out'"
rsetup
run --remove --wwpn 0x5006016839a01c4e --lun 3
check "a LUN under LVM: refused" bash -c "[ $rc = 5 ] && grep -qF 'sde is held by dm-5 (vg0-data)' '$T/out'"
run --remove --dry-run --wwid ${W}24
check "a map with a kpartx partition map nothing uses: not refused, the map goes through multipathd (which removes the partition map with it)" \
        bash -c "[ $rc = 0 ] && grep -qx 'would ask multipathd: del map ${W}24' '$T/out' && grep -qF \"would write '1' to $T/sys/class/scsi_device/5:0:1:4/device/delete\" '$T/out'"
rsetup
sed -i "s|test://$T/node.xml|test://$T/no-such-node.xml|" "$T/migkit.conf"
run --remove --wwid ${W}22
check "libvirt cannot be asked: refused (no proof that no domain uses it)" bash -c "[ $rc = 5 ] && [ -z '$(written)' ] &&
        grep -qF 'cannot list the domains of this host through test://$T/no-such-node.xml' '$T/out'"
rsetup
run --remove --wwid ${W}21
check "a map but no multipathd to remove it: exit 1 and its paths are left alone" bash -c "[ $rc = 1 ] && [ -z '$(written)' ] &&
        grep -qF 'multipathd did not remove map ${W}21' '$T/err'"
run --remove --wwid ${W}ee
check "a WWID with no path here: nothing to do, exit 0" bash -c "[ $rc = 0 ] && grep -qx 'WWID ${W}ee: no SCSI path on this host; nothing to remove' '$T/out'"
if has_libmpathcmd; then
        # the FAKE multipathd also plays the kernel (device/delete is a FIFO it
        # reads, logged) and udev for the tree: what is written, in order
        rsetup
        fake_multipathd ok "$T/mpd.log" "$T/dev" "$T/sys"
        run --remove --wwid ${W}22
        check "an unused LUN without a map: exit 0, exactly '1' to its one path's delete, and it is gone ($(head -c 200 "$T/err"))" \
                bash -c "[ $rc = 0 ] && [ \"\$(cat '$T/mpd.log')\" = 'write 5:0:1:2 delete 1' ] && grep -qx 'gone sdd (5:0:1:2)' '$T/out' &&
                [ ! -e '$T/sys/class/scsi_device/5:0:1:2' ]"
        : > "$T/mpd.log"
        run --remove --wwid ${W}21
        # the fake logs each path's delete from a thread of its own: the
        # two may be logged in either order, but both after the map
        check "an unused map: 'del map' first, then '1' to the delete of each of its two paths (rc=$rc)" bash -c "[ $rc = 0 ] &&
                [ \"\$(head -1 '$T/mpd.log')\" = 'del map ${W}21' ] &&
                [ \"\$(tail -n +2 '$T/mpd.log' | sort | tr '\n' '|')\" = 'write 5:0:1:1 delete 1|write 6:0:0:1 delete 1|' ] &&
                head -1 '$T/out' | grep -qx 'multipathd: del map ${W}21: ok'"
        : > "$T/mpd.log"
        run --remove --wwid ${W}24
        check "a map with an unused kpartx partition map: both maps go, then its path" bash -c "[ $rc = 0 ] &&
                [ \"\$(tr '\n' '|' < '$T/mpd.log')\" = 'del map ${W}24|write 5:0:1:4 delete 1|' ] &&
                [ ! -e '$T/sys/block/dm-7' ] && [ ! -e '$T/sys/block/dm-6' ]"
        kill "$MPD"; wait "$MPD" 2>/dev/null
else
        skip "--remove with a map: libmpathcmd.so.0 is not installed (package multipath-tools)"
fi

summary
