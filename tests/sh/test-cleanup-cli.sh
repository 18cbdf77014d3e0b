#!/bin/bash
# The real migkit-cleanup binary (and the real migkit-hook for the journal)
# in a private mount and network namespace, against temporary roots: the
# safety matrix of doc/design.md ("Proofs and what each job may do"). libvirt is its test driver (test:///<file>), so
# no libvirtd is needed; an unreachable one is a socket that does not exist.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

in_namespaces "cleanup tests" -m -n -- "$@"
mount --make-rprivate /

build=$(realpath "${MIGKIT_BUILD:-build}")
mc=$build/migkit-cleanup
hook=$build/migkit-hook
T=$(mktemp -d /tmp/migkit-test-cleanup.XXXXXX)
cleanup_tmp() { chattr -R -i "$T" 2>/dev/null; umount -R "$T/sys" 2>/dev/null; rm -rf "$T"; }
trap cleanup_tmp EXIT
I=$T/instances S=$T/state O=$T/outside
mkdir -p "$I" "$O"
U=4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182
U2=0f0e0d0c-0b0a-4998-8776-655443322110
NAME=instance-0000002a
DATA=$(realpath tests/data/cleanup)
ABSENT="test://$DATA/other-domain.xml"
DEFINED="test://$DATA/defined.xml"

write_conf() { # URI [extra INI text]
        cat > "$T/migkit.conf" <<EOC
[paths]
instances = $I
state = $S
sysfs = $T/sys
[cleanup]
libvirt-uri = $1
settle = 0s
${2:-}
EOC
}
write_conf "$ABSENT"
export MIGKIT_CONFIG=$T/migkit.conf

# run ARGS...: stdout, stderr, status in $T/out $T/err $rc
run() { "$mc" "$@" > "$T/out" 2> "$T/err"; rc=$?; }
snapshot() { (cd "$T" && find instances state outside -path state/lock -prune -o -printf '%p %y %s %m\n' 2>/dev/null | sort); }
# an instance directory with files and symlinks to things outside that must survive
make_instance() { # uuid
        local d=$I/$1
        mkdir -p "$d/sub/deeper" "$O/dir"
        echo log > "$d/console.log"; echo info > "$d/sub/disk.info"; echo x > "$d/sub/deeper/x"
        echo precious > "$O/precious"; echo keep > "$O/dir/keep"
        ln -sfn "$O/precious" "$d/link-to-file"; ln -sfn "$O/dir" "$d/sub/link-to-dir"
}
outside_intact() { [ "$(cat "$O/precious")" = precious ] && [ "$(cat "$O/dir/keep")" = keep ]; }
qcount() { find "$I/.migkit-quarantine" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l; }

# --- the command line -------------------------------------------------------
run --help
check "--help names the subcommands and the exit codes" bash -c "[ $rc = 0 ] && grep -q 'source UUID' '$T/out' && grep -q 'rollback UUID' '$T/out' && grep -q '3 refused' '$T/out'"
run --version
check "--version prints the version" bash -c "[ $rc = 0 ] && grep -q '^migkit-cleanup [0-9]' '$T/out'"
run
check "no command is a usage error (exit 2)" [ "$rc" = 2 ]
run frobnicate
check "an unknown command is a usage error naming it" bash -c "[ $rc = 2 ] && grep -qF \"unknown command 'frobnicate'\" '$T/err'"
run source
check "source without a UUID is a usage error" [ "$rc" = 2 ]
run source --retention 0 "$U"
check "--retention outside purge is a usage error" [ "$rc" = 2 ]
make_instance "$U"
before=$(snapshot)
for bad in "../etc" ".." "$U/.." "../$U" "" "not-a-uuid" "$U/" "/etc/passwd" ".migkit-quarantine"; do
        for cmd in source rollback commit; do
                run "$cmd" "$bad"
                if [ "$rc" != 2 ] || ! grep -qF "is not a domain UUID" "$T/err"; then
                        fail "$cmd '$bad': expected exit 2 and 'is not a domain UUID' (rc=$rc: $(cat "$T/err"))"
                        continue 2
                fi
        done
        pass "'$bad' is refused as a UUID by source, rollback and commit"
done
run proof "../../etc/x" migrated
check "proof refuses an invalid UUID" [ "$rc" = 2 ]
run proof "$U" moved
check "proof refuses an unknown kind" [ "$rc" = 2 ]
run proof "$U" migrated --by someone
check "proof refuses an unknown recorder" [ "$rc" = 2 ]
check "none of the refused commands touched anything" [ "$before" = "$(snapshot)" ]

# --- source: proof, libvirt, then quarantine --------------------------------
run source "$U"
check "source without a proof refuses (exit 3) and names the uuid and the reason" bash -c "
        [ $rc = 3 ] && grep -qF 'uuid $U: refusing the source cleanup: no proof that the guest runs elsewhere' '$T/err'"
check "the directory is intact" [ "$(cat "$I/$U/console.log")" = log ]
run status
check "status lists the refusal with its reason" bash -c "grep -q '^pending source $U - for [0-9]*s: no proof that the guest runs elsewhere' '$T/out'"
run proof "$U" migrated --by watch --name "$NAME" --detail "stopped/migrated event"
check "proof records a migrated proof" bash -c "[ $rc = 0 ] && grep -qx 'kind migrated' '$S/proof/$U' && grep -qx 'by watch' '$S/proof/$U'"
write_conf "$DEFINED"
run source "$U"
check "source refuses while libvirt still has the domain (exit 3), naming it" bash -c "
        [ $rc = 3 ] && grep -qF 'domain $NAME (uuid $U): refusing the source cleanup: libvirt ($DEFINED) still has domain $NAME here, defined and running' '$T/err'"
write_conf "qemu+unix:///system?socket=$T/no-libvirtd.sock"
run source "$U"
check "source refuses when libvirt cannot be reached (exit 3)" bash -c "[ $rc = 3 ] && grep -qF 'cannot ask libvirt' '$T/err' && grep -qF 'no-libvirtd.sock' '$T/err'"
run status
check "status shows the latest reason" bash -c "grep -q '^pending source $U $NAME for .*cannot ask libvirt' '$T/out'"
check "the directory is still intact after three refusals" bash -c "[ \"\$(cat '$I/$U/console.log')\" = log ] && [ ! -e '$I/.migkit-quarantine' ]"
write_conf "$ABSENT"
before=$(snapshot)
run --dry-run source "$U"
check "--dry-run source says what it would do and changes nothing" bash -c "
        [ $rc = 0 ] && grep -qF 'would move $I/$U to $I/.migkit-quarantine/' '$T/out' && [ '$before' = \"\$(cd '$T' && find instances state outside -path state/lock -prune -o -printf '%p %y %s %m\n' | sort)\" ]"
run source "$U"
q=$(ls -d "$I/.migkit-quarantine/$U".* 2>/dev/null | grep -v '\.info$')
check "source with proof, libvirt saying no such domain: moved to quarantine (exit 0)" bash -c "
        [ $rc = 0 ] && [ ! -e '$I/$U' ] && [ -n '$q' ] && [ \"\$(cat '$q/console.log')\" = log ] && grep -qF 'undo with: mv $q $I/$U' '$T/err'"
check "the quarantine is a private directory (0700)" [ "$(stat -c %a "$I/.migkit-quarantine")" = 700 ]
check "the .info file records reason, time and host" bash -c "grep -q '^reason source cleanup: the guest migrated away (proof by watch' '$q.info' && grep -q '^host ' '$q.info' && grep -q '^time [0-9]' '$q.info'"
check "the proof is consumed and the pending item gone" bash -c "[ ! -e '$S/proof/$U' ] && [ ! -e '$S/pending/$U.source' ]"
check "symlinked files outside are untouched, the links moved as links" bash -c "outside_intact() { [ \"\$(cat '$O/precious')\" = precious ]; }; outside_intact && [ -L '$q/link-to-file' ]"
run status
check "status lists the quarantined directory with its age and purge time" bash -c "grep -qE '^quarantined $U $NAME [0-9]+s ago, purged in 2[34]h: $q [(]source cleanup' '$T/out'"
run source "$U"
check "source again: nothing to do (exit 0)" bash -c "[ $rc = 0 ] && [ \$(find '$I/.migkit-quarantine' -mindepth 1 -maxdepth 1 -type d | wc -l) = 1 ]"
mv "$q" "$I/$U"
check "a mistake is undone with one mv" [ "$(cat "$I/$U/console.log")" = log ]

# another migkit-cleanup holds this guest's lock: wait, then exit 4 (busy)
mkdir -p "$I/$U2" "$S/lock" && run proof "$U2" migrated --by operator
hold_lock "$S/lock/$U2"
start=$(date +%s%N)
run --wait 500ms source "$U2"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "while another holds the guest's lock: exit 4 (busy) after --wait 500ms ($ms ms), nothing moved" bash -c "
        [ $rc = 4 ] && [ $ms -ge 500 ] && grep -qF 'another migkit-cleanup holds the lock' '$T/err' && [ -d '$I/$U2' ]"
release_lock
run source "$U2"
check "once the lock is free the same command succeeds" bash -c "[ $rc = 0 ] && [ ! -e '$I/$U2' ]"
run --wait soon source "$U2"
check "--wait with a bad duration is a usage error" [ "$rc" = 2 ]

# run ACTION-UUID: the instance name of migkit-cleanup@.service, whose unit
# runs `migkit-cleanup --wait run %i` (a bare --wait: as long as it takes)
mkdir -p "$I/$U2" && run proof "$U2" migrated --by watch
hold_lock "$S/lock/$U2"
ASAN_OPTIONS=$(no_leak_check) strace -qq -f -e trace=flock -o "$T/flock.trace" "$mc" --wait run "source-$U2" > "$T/out" 2> "$T/err" &
waiter=$!
# it waits: it tries the lock again and again while the holder has it
# (--wait 0 would try once and exit 4)
tries() { grep -cE 'LOCK_EX\|LOCK_NB\) += -1 EAGAIN' "$T/flock.trace" 2>/dev/null; }
wait_for 20 eval '[ "$(tries)" -ge 5 ]'
n=$(tries)
check "a bare --wait (run source-UUID) keeps waiting while another holds the guest's lock ($n tries)" \
        bash -c "[ $n -ge 5 ] && kill -0 $waiter 2>/dev/null && [ -d '$I/$U2' ]"
release_lock
wait $waiter; rc=$?
check "and does the source cleanup once the lock is free" \
        bash -c "[ $rc = 0 ] && [ ! -e '$I/$U2' ] && grep -qF 'moved $I/$U2 to' '$T/err'"
for bad in "bogus-$U2" "source" "source-" "source-../etc" "$U2"; do
        run run "$bad"
        check "run '$bad' is a usage error (exit 2)" [ "$rc" = 2 ]
done
run run "commit-$U2" extra
check "run takes exactly one argument" [ "$rc" = 2 ]

# --- unsafe paths -----------------------------------------------------------
run proof "$U" migrated --by operator
mv "$I/$U" "$O/moved-instance"
ln -s "$O/moved-instance" "$I/$U"
run source "$U"
check "an instance directory that is a symlink is refused (exit 3), the target intact" bash -c "
        [ $rc = 3 ] && grep -qF 'is a symlink' '$T/err' && [ -L '$I/$U' ] && [ \"\$(cat '$O/moved-instance/console.log')\" = log ]"
rm "$I/$U"; mv "$O/moved-instance" "$I/$U"
mv "$I" "$T/real-instances"; ln -s "$T/real-instances" "$I"
run source "$U"
check "an instances path that is a symlink is refused (exit 3)" bash -c "[ $rc = 3 ] && [ -d '$T/real-instances/$U' ] && grep -qF 'symlink' '$T/err'"
rm "$I"; mv "$T/real-instances" "$I"

mkdir -p "$O/victim" "$I/$U/sub/mnt"; echo 'must survive' > "$O/victim/data"
mount --bind "$O/victim" "$I/$U/sub/mnt"
run source "$U"
check "a bind mount inside the directory: refused (exit 3), nothing moved or removed" bash -c "
        [ $rc = 3 ] && grep -qF '$I/$U/sub/mnt is a mount point; unmount it first' '$T/err' && [ -d '$I/$U' ] &&
        [ \"\$(cat '$O/victim/data')\" = 'must survive' ] && [ -z \"\$(find '$I/.migkit-quarantine' -mindepth 1 -maxdepth 1 -type d -name '$U.*')\" ]"
umount "$I/$U/sub/mnt"
mount -t tmpfs -o size=1m t "$I/$U"
run source "$U"
check "an instance directory that is a mount point: refused (exit 3)" bash -c "[ $rc = 3 ] && grep -qF 'is a mount point' '$T/err'"
umount "$I/$U"

# quarantined first, then something bind-mounted inside: purge leaves it
run source "$U"
q=$(ls -d "$I/.migkit-quarantine/$U".* | grep -v '\.info$')
check "the directory goes to quarantine once nothing is mounted inside" bash -c "[ $rc = 0 ] && [ -d '$q' ]"
mount --bind "$O/victim" "$q/sub/mnt"
run purge --retention 0
check "purge with a bind mount inside an entry: exit 3, the mount reported" bash -c "[ $rc = 3 ] && grep -qF 'left $q/sub/mnt in place: it is a mount point' '$T/err'"
check "nothing under the bind mount was removed; the rest of the entry was" bash -c "
        [ \"\$(cat '$O/victim/data')\" = 'must survive' ] && [ ! -e '$q/console.log' ] && [ ! -e '$q/sub/deeper' ] && [ -d '$q/sub/mnt' ]"
check "symlink targets outside survived the purge" outside_intact
umount "$q/sub/mnt"
run purge --retention 0
check "once unmounted the next purge finishes (exit 0)" bash -c "[ $rc = 0 ] && [ ! -e '$q' ] && [ ! -e '$q.info' ] && [ \"\$(cat '$O/victim/data')\" = 'must survive' ]"
make_instance "$U"
run proof "$U" migrated --by driver
run source "$U"
run purge
check "purge keeps entries within [cleanup] retention" bash -c "[ $rc = 0 ] && [ \$(find '$I/.migkit-quarantine' -mindepth 1 -maxdepth 1 -type d | wc -l) = 1 ]"
run --dry-run purge --retention 0
check "--dry-run purge counts, removes nothing" bash -c "[ $rc = 0 ] && grep -qF 'would purge 1 quarantined directory' '$T/out' && [ \$(find '$I/.migkit-quarantine' -mindepth 1 -maxdepth 1 -type d | wc -l) = 1 ]"
run purge --retention 0
check "purge --retention 0 empties the quarantine, outside intact" bash -c "[ $rc = 0 ] && [ -z \"\$(ls -A '$I/.migkit-quarantine')\" ]" 
check "... and the files the symlinks pointed to are still there" outside_intact

# shared filesystem: tmpfs over the instances path, taken off the local list
# (by the deprecated key 'shared', still read)
mount -t tmpfs -o size=4m t "$I"
make_instance "$U"
run proof "$U" migrated --by hook
write_conf "$ABSENT" "[filesystems]
shared = nfs4 tmpfs"
run source "$U"
check "on a shared filesystem the directory is left in place: refused (exit 3), says why" bash -c "
        [ $rc = 3 ] && [ \"\$(cat '$I/$U/console.log')\" = log ] && grep -qF 'refusing the source cleanup' '$T/err' &&
        grep -qF 'is on tmpfs (t mounted at $I), not a type listed in [filesystems] local: treated as shared' '$T/err'"
mkdir -m 0700 "$I/.migkit-quarantine"; mkdir "$I/.migkit-quarantine/$U.1000"; echo x > "$I/.migkit-quarantine/$U.1000/f"
run purge --retention 0
check "purge refuses on a shared filesystem (exit 3), removes nothing" bash -c "[ $rc = 3 ] && [ -e '$I/.migkit-quarantine/$U.1000/f' ] && grep -qF 'not proven to be this host' '$T/err'"
rm -f "$S/pending/$U.source"
umount "$I"
write_conf "$ABSENT"

# --- destination rollback with the real hook's journal and real bridges -----
mkdir -p "$T/sys"
mount -t sysfs sysfs "$T/sys"
rm -rf "$I/$U" "$S"
sed -e "s|@INSTANCES@|$I|g" -e "s|@UUID@|$U|g" -e "s|@NAME@|$NAME|g" -e "s|@BR1@|qbrnew00000-01|g" -e "s|@BR2@|qbrold00000-02|g" \
        tests/data/hook/nova.xml.in > "$T/in.xml"
ip link add qbrold00000-02 type bridge            # existed before: never touched
mkdir -p "$I/$U2"; echo keep > "$I/$U2/console.log" # another guest's directory
"$hook" "$NAME" migrate begin - < "$T/in.xml" > /dev/null 2> "$T/err"
check "the hook created the directory and one bridge, and journaled exactly those" bash -c "
        [ -d '$I/$U' ] && ip link show qbrnew00000-01 >/dev/null 2>&1 && grep -qx 'dir $I/$U' '$S/journal/$U' &&
        grep -qx 'bridge qbrnew00000-01' '$S/journal/$U' && ! grep -q qbrold '$S/journal/$U'"
echo 'left by the failed qemu' > "$I/$U/console.log"
ip link add qbrnew00000-03 type bridge
ip link add tap-test0 type veth peer name tap-test0p
ip link set tap-test0 master qbrnew00000-03
printf 'bridge qbrnew00000-03\nbridge-ifindex %s qbrnew00000-03\nbridge qbrgone0000-04\nbridge-ifindex 99999 qbrgone0000-04\n' \
        "$(ip -o link show qbrnew00000-03 | cut -d: -f1)" >> "$S/journal/$U"   # one in use, one gone
run rollback "$U"
check "rollback without proof refuses (exit 3); everything stays" bash -c "
        [ $rc = 3 ] && grep -qF 'no proof that the incoming migration failed' '$T/err' && [ -d '$I/$U' ] && ip link show qbrnew00000-01 >/dev/null 2>&1"
run proof "$U" migrated --by hook
run rollback "$U"
check "rollback with a proof of the wrong kind refuses (exit 3)" bash -c "[ $rc = 3 ] && grep -qF 'says migrated, not incoming-failed' '$T/err' && [ -d '$I/$U' ]"
run proof "$U" incoming-failed --by hook --detail 'release end failed'
write_conf "$DEFINED"
run rollback "$U"
check "rollback refuses while libvirt has the domain (exit 3)" bash -c "[ $rc = 3 ] && grep -qF 'still has domain' '$T/err' && [ -d '$I/$U' ]"
write_conf "$ABSENT"
before_links=$(ip -o link show | awk -F': ' '{print $2}' | sort | tr '\n' ' ')
run --dry-run rollback "$U"
check "--dry-run rollback lists what it would do and does nothing" bash -c "
        [ $rc = 0 ] && grep -qF 'would delete bridge qbrnew00000-01' '$T/out' && grep -qF 'would move $I/$U' '$T/out' &&
        [ -d '$I/$U' ] && [ \"$before_links\" = \"\$(ip -o link show | awk -F': ' '{print \$2}' | sort | tr '\n' ' ')\" ]"
run rollback "$U"
check "rollback removes the journaled bridge without ports and quarantines the journaled directory" bash -c "
        ! ip link show qbrnew00000-01 >/dev/null 2>&1 && [ ! -e '$I/$U' ] && [ -n \"\$(ls -d '$I/.migkit-quarantine/$U'.* 2>/dev/null)\" ]"
check "a journaled bridge that still has a port is kept: exit 3, named with its port" bash -c "
        [ $rc = 3 ] && ip link show qbrnew00000-03 >/dev/null 2>&1 && grep -qF 'bridge qbrnew00000-03 still has ports (tap-test0)' '$T/err'"
check "what existed before is untouched (bridge, other guest's directory)" bash -c "
        ip link show qbrold00000-02 >/dev/null 2>&1 && [ \"\$(cat '$I/$U2/console.log')\" = keep ] && ip link show tap-test0 >/dev/null 2>&1"
check "the journal now lists only what is left" bash -c "[ \"\$(grep -E '^(dir|bridge|stripped) ' '$S/journal/$U')\" = 'bridge qbrnew00000-03' ]"
run status
check "status shows the pending rollback with its reason" bash -c "grep -q '^pending rollback $U $NAME for .*still has ports (tap-test0)' '$T/out'"
ip link del tap-test0
run rollback "$U"
check "with the port gone the rollback finishes (exit 0): bridge deleted, journal and proof gone" bash -c "
        [ $rc = 0 ] && ! ip link show qbrnew00000-03 >/dev/null 2>&1 && [ ! -e '$S/journal/$U' ] && [ ! -e '$S/proof/$U' ] && [ ! -e '$S/pending/$U.rollback' ]"
check "the pre-existing bridge survived the whole rollback" bash -c "ip link show qbrold00000-02 >/dev/null 2>&1"

# a guest that migrated in successfully and was shut down later: committed
"$hook" "$NAME" migrate begin - < "$T/in.xml" > /dev/null 2> "$T/err"
run commit "$U"
check "commit drops the journal of a successful incoming migration" bash -c "[ $rc = 0 ] && [ ! -e '$S/journal/$U' ]"
run proof "$U" incoming-failed --by watch
run rollback "$U"
check "a guest that migrated in successfully is never rolled back (exit 0, nothing removed)" bash -c "
        [ $rc = 0 ] && [ -d '$I/$U' ] && ip link show qbrnew00000-01 >/dev/null 2>&1 && grep -qF 'nothing to do' '$T/err'"
ip link del qbrnew00000-01; ip link del qbrold00000-02

# the sysfs root shows another network namespace: unsure, so the bridge stays
"$hook" "$NAME" migrate begin - < "$T/in.xml" > /dev/null 2> "$T/err"
umount "$T/sys"
mkdir -p "$T/fakesys/class/net/qbrnew00000-01/brif"; echo 99999 > "$T/fakesys/class/net/qbrnew00000-01/ifindex"
write_conf "$ABSENT" "" ; sed -i "s|^sysfs = .*|sysfs = $T/fakesys|" "$T/migkit.conf"
run proof "$U" incoming-failed --by driver
run rollback "$U"
check "a sysfs that shows another namespace's bridge: the bridge is kept (exit 3)" bash -c "
        [ $rc = 3 ] && ip link show qbrnew00000-01 >/dev/null 2>&1 && grep -qF 'does not show this network namespace' '$T/err'"

summary
