#!/bin/bash
# Never remove what another host uses, with the real migkit-hook and
# migkit-cleanup in private mount, network and UTS namespaces:
#  - two "hosts" (a configuration each: own state, own libvirt host_uuid,
#    the same machine id, as the lab's overlaid /etc gives them) binding ONE
#    instances directory on ext4, which the filesystem type alone calls
#    local: the destination's hook marks the guest's directory at migrate
#    begin, so the source's cleanup refuses (exit 3, a pending item naming
#    the other host), both ways, a purge refuses there too, and so does the
#    destination's rollback of a failed incoming migration (the mark in the
#    guest's directory or in the instances path), which without the marks
#    moves the directory;
#  - a symlinked parent of [paths] instances into a filesystem of another
#    kind (a tmpfs stands in for NFS): decided from the open directory,
#    refused; an unknown filesystem type (ramfs): refused, and the hook does
#    not create a missing instance directory there;
#  - a kernel without statx's STATX_MNT_ID (an LD_PRELOAD shim): the mount
#    id comes from name_to_handle_at, and a purge never crosses a bind mount
#    of the same filesystem; with neither source, it removes nothing.
# Every case also fails on a migkit that decided from path strings and a
# deny-list of shared types (the build of a tree before this test).
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

in_namespaces "shared-storage tests" -m -n -u -- "$@"
mount --make-rprivate /
hostname hostA

build=$(realpath "${MIGKIT_BUILD:-build}")
hook=$build/migkit-hook
mc=$build/migkit-cleanup
T=$(mktemp -d /tmp/migkit-test-shared.XXXXXX)
cleanup_tmp() { umount -R "$T/srv" "$T/ram" "$T/local/.migkit-quarantine" 2>/dev/null; umount -R "$T/local" 2>/dev/null; rm -rf "$T"; }
trap cleanup_tmp EXIT
U=4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182
NAME=instance-0000002a
ABSENT="test://$(realpath tests/data/cleanup/other-domain.xml)"
HOST_A=aaaaaaaa-0000-4000-8000-00000000000a
HOST_B=bbbbbbbb-0000-4000-8000-00000000000b
SHARED=$T/shared
mkdir -p "$SHARED"

# host NAME INSTANCES HOST_UUID [extra INI]: a configuration of its own
host() {
        mkdir -p "$T/$1/libvirt"
        printf 'listen_tcp = 1\nhost_uuid = "%s"\n' "$3" > "$T/$1/libvirt/libvirtd.conf"
        echo 0123456789abcdef0123456789abcdef > "$T/$1/machine-id"
        cat > "$T/$1.conf" <<EOC
[paths]
instances = $2
state = $T/$1/state
libvirt-config = $T/$1/libvirt
machine-id = $T/$1/machine-id
[cleanup]
libvirt-uri = $ABSENT
settle = 0s
launcher = direct
program = /bin/true
[limits]
incoming = 0
${4:-}
EOC
}
host hostA "$SHARED" "$HOST_A"
host hostB "$SHARED" "$HOST_B"
sed -e "s|@INSTANCES@|$SHARED|g" -e "s|@UUID@|$U|g" -e "s|@NAME@|$NAME|g" -e "s|@BR1@|qbrshared0-01|g" -e "s|@BR2@|qbrshared0-02|g" \
        tests/data/hook/nova.xml.in > "$T/guest.xml"
guest_files() { # DIR
        mkdir -p "$1"
        echo console > "$1/console.log"
        echo iso > "$1/disk.config"
}

# as HOST: the hook or migkit-cleanup with its configuration and hostname
on() { # HOST hook|cleanup ARGS...
        local h=$1 what=$2
        shift 2
        local bin=$mc
        [ "$what" = hook ] && bin=$hook
        MIGKIT_CONFIG=$T/$h.conf unshare -u sh -c 'hostname "$0"; exec "$@"' "$h" "$bin" "$@" > "$T/out" 2> "$T/err"
        rc=$?
}

# --- two hosts, one instances directory --------------------------------------
guest_files "$SHARED/$U"
on hostA hook "$NAME" prepare begin - < "$T/guest.xml"
check "hostA's hook marks the instances path as used by it (its libvirt host_uuid, not the shared machine id)" \
        bash -c "[ $rc = 0 ] && grep -qx 'id $HOST_A' '$SHARED/.migkit-host-$HOST_A' && grep -qx 'hostname hostA' '$SHARED/.migkit-host-$HOST_A'"
# a migration A -> B: hostB's hook at migrate begin (the directory exists: it creates nothing)
on hostB hook "$NAME" migrate begin - < "$T/guest.xml"
check "hostB's hook, destination of the migration, marks the guest's directory though it creates nothing" \
        bash -c "[ $rc = 0 ] && [ -f '$SHARED/$U/.migkit-host-$HOST_B' ] && [ ! -e '$T/hostB/state/journal/$U' ]"
on hostA cleanup proof "$U" migrated --by watch --name "$NAME"
on hostA cleanup source "$U"
check "hostA's source cleanup refuses (exit 3): the guest's directory carries hostB's mark" \
        bash -c "[ $rc = 3 ] && grep -qF 'carries the mark of another host, hostB (id $HOST_B, marked ' '$T/err'"
check "every file of the guest is still there for hostB, nothing quarantined" \
        bash -c "[ \"\$(cat '$SHARED/$U/console.log' '$SHARED/$U/disk.config')\" = \"\$(printf 'console\\niso')\" ] && [ ! -e '$SHARED/.migkit-quarantine' ]"
on hostA cleanup status
check "hostA's status shows the refusal and its reason" \
        bash -c "grep -q '^pending source $U $NAME for .*: $SHARED/$U carries the mark of another host, hostB' '$T/out'"
# and back B -> A: hostA's hook marks it, hostB's cleanup refuses
on hostA hook "$NAME" migrate begin - < "$T/guest.xml"
on hostB cleanup proof "$U" migrated --by watch
on hostB cleanup source "$U"
check "back to hostA: hostB's source cleanup refuses too, naming hostA" \
        bash -c "[ $rc = 3 ] && grep -qF 'carries the mark of another host, hostA (id $HOST_A' '$T/err' && [ -f '$SHARED/$U/console.log' ]"
# hostB's mark only in the instances path (no guest directory mark): still refused
rm "$SHARED/$U/.migkit-host-$HOST_A" "$SHARED/$U/.migkit-host-$HOST_B"
on hostB hook "$NAME" prepare begin - < "$T/guest.xml"
on hostA cleanup proof "$U" migrated --by watch
on hostA cleanup source "$U"
check "another host's mark in the instances path alone refuses too" \
        bash -c "[ $rc = 3 ] && grep -qF '$SHARED carries the mark of another host, hostB' '$T/err' && [ -d '$SHARED/$U' ]"
mkdir -m 0700 "$SHARED/.migkit-quarantine"
mkdir "$SHARED/.migkit-quarantine/$U.1000"
echo hostB-entry > "$SHARED/.migkit-quarantine/$U.1000/f"
on hostA cleanup purge --retention 0
check "no purge in an instances path another host marked (exit 3)" \
        bash -c "[ $rc = 3 ] && [ -f '$SHARED/.migkit-quarantine/$U.1000/f' ]"
rm -rf "$SHARED/.migkit-quarantine"

# the destination's rollback: hostB's hook creates the guest's directory for
# an incoming migration that then fails, but hostA uses the directory too
rm -rf "${SHARED:?}/$U" "$SHARED"/.migkit-host-*
on hostB hook "$NAME" migrate begin - < "$T/guest.xml"
check "hostB's hook, destination of the migration, creates the guest's directory and journals it" \
        bash -c "[ $rc = 0 ] && grep -qx 'dir $SHARED/$U' '$T/hostB/state/journal/$U'"
guest_files "$SHARED/$U"
on hostA hook "$NAME" migrate begin - < "$T/guest.xml" # hostA's mark in the guest's directory
on hostB cleanup proof "$U" incoming-failed --by hook --name "$NAME"
on hostB cleanup rollback "$U"
check "hostB's rollback refuses (exit 3): the guest's directory carries hostA's mark" \
        bash -c "[ $rc = 3 ] && grep -qF '$SHARED/$U carries the mark of another host, hostA (id $HOST_A, marked ' '$T/err'"
check "the rollback moved nothing: every file of the guest is still there for hostA, nothing quarantined" \
        bash -c "[ \"\$(cat '$SHARED/$U/console.log' '$SHARED/$U/disk.config')\" = \"\$(printf 'console\\niso')\" ] &&
                 [ ! -e '$SHARED/.migkit-quarantine' ] && grep -qx 'dir $SHARED/$U' '$T/hostB/state/journal/$U'"
on hostB cleanup status
check "hostB's status shows the pending rollback, naming hostA" \
        bash -c "grep -q '^pending rollback $U $NAME for .*: $SHARED/$U carries the mark of another host, hostA' '$T/out'"
# hostA's mark only in the instances path: still refused
rm "$SHARED/$U/.migkit-host-$HOST_A"
on hostA hook "$NAME" prepare begin - < "$T/guest.xml"
on hostB cleanup rollback "$U"
check "hostB's rollback refuses with hostA's mark in the instances path alone (exit 3)" \
        bash -c "[ $rc = 3 ] && grep -qF '$SHARED carries the mark of another host, hostA (id $HOST_A' '$T/err' &&
                 [ -f '$SHARED/$U/console.log' ] && [ ! -e '$SHARED/.migkit-quarantine' ]"
# without hostA's marks the same rollback moves the directory: the marks
# alone made it refuse
rm "$SHARED/.migkit-host-$HOST_A"
on hostB cleanup rollback "$U"
check "without another host's mark the rollback quarantines the directory (exit 0)" \
        bash -c "[ $rc = 0 ] && [ ! -e '$SHARED/$U' ] && [ -n \"\$(ls -d '$SHARED/.migkit-quarantine/$U'.* 2>/dev/null)\" ] &&
                 [ ! -e '$T/hostB/state/journal/$U' ]"
rm -rf "$SHARED/.migkit-quarantine"

# the same on a directory only hostA uses: moved (the marks only add refusals)
LOCAL=$T/local
mkdir -p "$LOCAL"
host hostA "$LOCAL" "$HOST_A"
guest_files "$LOCAL/$U"
on hostA hook "$NAME" prepare begin - < "$T/guest.xml"
on hostA cleanup proof "$U" migrated --by watch
on hostA cleanup source "$U"
check "a directory with only this host's marks is quarantined as before (exit 0)" \
        bash -c "[ $rc = 0 ] && [ ! -e '$LOCAL/$U' ] && [ -n \"\$(ls -d '$LOCAL/.migkit-quarantine/$U'.* 2>/dev/null)\" ]"

# --- a symlinked parent into another filesystem -------------------------------
# /srv/nova is "NFS" (a tmpfs, taken off the local list), reached through
# a symlink: nova -> srv
mkdir -p "$T/srv"
mount -t tmpfs -o size=8m migkit-nfs "$T/srv"
mkdir -p "$T/srv/instances"
ln -s srv "$T/nova"
host hostA "$T/nova/instances" "$HOST_A" "[filesystems]
shared = nfs nfs4 tmpfs"
guest_files "$T/srv/instances/$U"
on hostA cleanup proof "$U" migrated --by watch
on hostA cleanup source "$U"
check "a symlinked parent into another filesystem: decided from the open directory, refused (exit 3)" \
        bash -c "[ $rc = 3 ] && grep -qF '$T/srv/instances is on tmpfs (migkit-nfs mounted at $T/srv), not a type listed in [filesystems] local' '$T/err' &&
                 [ -f '$T/srv/instances/$U/console.log' ]"
on hostA hook --check-config
check "the deprecated key 'shared' is still read, with a note" \
        bash -c "[ $rc = 0 ] && grep -qF '[filesystems] shared is deprecated' '$T/err'"
umount "$T/srv"

# --- an unknown filesystem type ------------------------------------------------
mkdir -p "$T/ram"
mount -t ramfs migkit-ram "$T/ram"
host hostA "$T/ram" "$HOST_A"
guest_files "$T/ram/$U"
on hostA cleanup proof "$U" migrated --by watch
on hostA cleanup source "$U"
check "an unknown filesystem type (ramfs) is treated as shared: refused (exit 3)" \
        bash -c "[ $rc = 3 ] && grep -qF 'is on ramfs (migkit-ram mounted at $T/ram), not a type listed in [filesystems] local' '$T/err' &&
                 [ -f '$T/ram/$U/console.log' ]"
rm -rf "${T:?}/ram/$U"
sed "s|$SHARED|$T/ram|g" "$T/guest.xml" > "$T/guest-ram.xml"
on hostA hook "$NAME" migrate begin - < "$T/guest-ram.xml"
check "and the hook does not create a missing instance directory there (exit 1, says why)" \
        bash -c "[ $rc = 1 ] && grep -qF 'is on ramfs' '$T/err' && grep -qF 'on shared storage it must already exist' '$T/err' && [ ! -e '$T/ram/$U' ]"
umount "$T/ram"

# --- a kernel without STATX_MNT_ID ----------------------------------------------
CC=${CC:-cc}
cat > "$T/nomntid.c" <<'EOC'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
/* statx as before Linux 5.8: no STATX_MNT_ID; and, with
 * SHIM_NO_HANDLES, no file handles either */
int statx(int dfd, const char *path, int flags, unsigned int mask, struct statx *sx)
{
        static int (*real)(int, const char *, int, unsigned int, struct statx *);
        if (!real)
                *(void **)&real = dlsym(RTLD_NEXT, "statx");
        int r = real(dfd, path, flags, mask & ~STATX_MNT_ID, sx);
        if (r == 0) {
                sx->stx_mask &= ~STATX_MNT_ID;
                sx->stx_mnt_id = 0;
        }
        return r;
}
int name_to_handle_at(int dfd, const char *path, struct file_handle *fh, int *mnt_id, int flags)
{
        static int (*real)(int, const char *, struct file_handle *, int *, int);
        if (getenv("SHIM_NO_HANDLES")) {
                errno = EOPNOTSUPP;
                return -1;
        }
        if (!real)
                *(void **)&real = dlsym(RTLD_NEXT, "name_to_handle_at");
        return real(dfd, path, fh, mnt_id, flags);
}
EOC
if ! "$CC" -shared -fPIC -o "$T/nomntid.so" "$T/nomntid.c" -ldl 2> "$T/cc.err"; then
        skip "a kernel without STATX_MNT_ID: cannot build the shim: $(head -c 300 "$T/cc.err")"
        summary
        exit $?
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
host hostA "$LOCAL" "$HOST_A"
Q=$(ls -d "$LOCAL/.migkit-quarantine/$U".* | grep -v '\.info$' | head -1)
mkdir -p "$Q/sub/mnt" "$T/victim"
echo must-survive > "$T/victim/data"
mount --bind "$T/victim" "$Q/sub/mnt" # the same filesystem: the same st_dev
MIGKIT_CONFIG=$T/hostA.conf LD_PRELOAD=$T/nomntid.so "$mc" purge --retention 0 > "$T/out" 2> "$T/err"
rc=$?
check "without STATX_MNT_ID the purge never crosses a bind mount of the same filesystem (mount id from name_to_handle_at; exit 3)" \
        bash -c "[ $rc = 3 ] && [ \"\$(cat '$T/victim/data')\" = must-survive ] && grep -qF 'left $Q/sub/mnt in place: it is a mount point' '$T/err' &&
                 [ ! -e '$Q/console.log' ]"
touch "$Q/more"
MIGKIT_CONFIG=$T/hostA.conf LD_PRELOAD=$T/nomntid.so SHIM_NO_HANDLES=1 "$mc" purge --retention 0 > "$T/out" 2> "$T/err"
rc=$?
check "with no mount id from the kernel at all, the purge removes nothing (exit 3, says why)" \
        bash -c "[ $rc = 3 ] && [ -e '$Q/more' ] && [ \"\$(cat '$T/victim/data')\" = must-survive ] && grep -qF 'the kernel tells no mount id' '$T/err'"
umount "$Q/sub/mnt"
MIGKIT_CONFIG=$T/hostA.conf LD_PRELOAD=$T/nomntid.so "$mc" purge --retention 0 > "$T/out" 2> "$T/err"
rc=$?
check "once unmounted, the purge (mount ids from name_to_handle_at) finishes" bash -c "[ $rc = 0 ] && [ ! -e '$Q' ]"
summary
