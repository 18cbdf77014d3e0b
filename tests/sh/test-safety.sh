#!/bin/bash
# Smaller safety rules, each with the real binaries in private mount and
# network namespaces, each a case an earlier migkit got wrong:
#  - a rollback deletes only bridges [bridges] allow lets migkit create and
#    that it did create: the ifindex the journal recorded, deleted by that
#    same ifindex;
#  - a rollback moves only the directory the hook created (the dev/inode the
#    journal recorded), never one that replaced it;
#  - with libvirt's four arguments the hook never parses options: a domain
#    named -V is a domain (an option parser printed the version, which
#    libvirt would have taken for the replacement XML);
#  - the configuration names a library the hook loads and programs run as
#    root: a file, or a directory above it, that anyone but root can change
#    is refused;
#  - migkit-watch in a systemd service never starts migkit-cleanup inside
#    its own sandbox (no network there: a rollback would see no bridges and
#    drop them from the journal): when systemctl fails, it says so and
#    leaves a pending item.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

in_namespaces "safety tests" -m -n -- "$@"
mount --make-rprivate /

build=$(realpath "${MIGKIT_BUILD:-build}")
hook=$build/migkit-hook
mc=$build/migkit-cleanup
T=$(mktemp -d /tmp/migkit-test-safety.XXXXXX)
cleanup_tmp() { umount "$T/sys" 2>/dev/null; rm -rf "$T"; }
trap cleanup_tmp EXIT
I=$T/instances S=$T/state
mkdir -p "$I" "$T/sys"
mount -t sysfs sysfs "$T/sys" # this network namespace's bridges
U=4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182
NAME=instance-0000002a
ABSENT="test://$(realpath tests/data/cleanup/other-domain.xml)"
cat > "$T/migkit.conf" <<EOC
[paths]
instances = $I
state = $S
sysfs = $T/sys
[cleanup]
libvirt-uri = $ABSENT
settle = 0s
[limits]
incoming = 0
EOC
export MIGKIT_CONFIG=$T/migkit.conf
run() { "$mc" "$@" > "$T/out" 2> "$T/err"; rc=$?; }
ifindex() { ip -o link show "$1" 2>/dev/null | cut -d: -f1; }
# incoming BR1 BR2: the hook prepares an incoming migration (directory and bridges)
incoming() {
        sed -e "s|@INSTANCES@|$I|g" -e "s|@UUID@|$U|g" -e "s|@NAME@|$NAME|g" -e "s|@BR1@|$1|g" -e "s|@BR2@|$2|g" \
                tests/data/hook/nova.xml.in > "$T/in.xml"
        "$hook" "$NAME" migrate begin - < "$T/in.xml" > /dev/null 2> "$T/hook.err"
}
failed() { run proof "$U" incoming-failed --by hook --detail 'release end failed'; }

# --- bridges: only allowed ones, only the one created ---------------------------
incoming qbrsafe000-01 qbrsafe000-01
check "the hook created bridge qbrsafe000-01 and journaled it" grep -qx 'bridge qbrsafe000-01' "$S/journal/$U"
ip link add vlan77 type bridge # an operator's bridge, outside [bridges] allow
printf 'bridge vlan77\n' >> "$S/journal/$U"
failed
run rollback "$U"
check "a journaled bridge that [bridges] allow does not allow is never deleted" \
        bash -c "ip link show vlan77 > /dev/null 2>&1 && grep -qF 'vlan77, which [bridges] allow (qbr* brq*) does not allow migkit to create' '$T/err'"
check "the allowed bridge migkit created is deleted" bash -c "! ip link show qbrsafe000-01 > /dev/null 2>&1"
ip link del vlan77

incoming qbrsafe000-02 qbrsafe000-02
old=$(ifindex qbrsafe000-02)
ip link del qbrsafe000-02
ip link add qbrsafe000-02 type bridge # someone else's bridge of the same name
new=$(ifindex qbrsafe000-02)
failed
run rollback "$U"
check "a bridge deleted and created again by someone else (ifindex $old, now $new) is left alone" \
        bash -c "ip link show qbrsafe000-02 > /dev/null 2>&1 && [ \"\$(ip -o link show qbrsafe000-02 | cut -d: -f1)\" = '$new' ] &&
                 grep -qF 'bridge qbrsafe000-02 has ifindex $new, not $old as when migkit created it' '$T/err'"
ip link del qbrsafe000-02

incoming qbrsafe000-03 qbrsafe000-03
sed -i '/^bridge-ifindex /d' "$S/journal/$U" # a journal of an older migkit
failed
run rollback "$U"
check "a journaled bridge without its recorded ifindex is kept (exit 3), with the reason on record" \
        bash -c "[ $rc = 3 ] && ip link show qbrsafe000-03 > /dev/null 2>&1 &&
                 grep -qF 'does not record which bridge qbrsafe000-03 was when migkit created it' '$S/pending/$U.rollback'"
ip link del qbrsafe000-03
rm -rf "$S" "$I/$U"

# --- the directory: only the inode the hook created -------------------------------
incoming qbrsafe000-04 qbrsafe000-04
check "the journal records the directory's device and inode" \
        grep -qE "^dir-id $(stat -c %d "$I/$U") $(stat -c %i "$I/$U") [0-9]+\.[0-9]{9} $I/$U\$" "$S/journal/$U"
rm -r "$I/$U"
mkdir "$I/$U" # another directory of that name (someone else's now)
echo theirs > "$I/$U/console.log"
failed
run rollback "$U"
check "a directory that replaced the one the hook created is not moved (exit 3), the reason on record" \
        bash -c "[ $rc = 3 ] && [ \"\$(cat '$I/$U/console.log')\" = theirs ] && ! grep -rqs theirs '$I/.migkit-quarantine' &&
                 grep -qF 'is not the directory expected' '$S/pending/$U.rollback' && grep -qF 'it was replaced since' '$S/pending/$U.rollback'"
ip link del qbrsafe000-04 2>/dev/null
rm -rf "$S" "$I/$U"

# --- a domain name that begins with '-' ----------------------------------------
for dom in -V --version -h --dump-config; do
        printf "<domain type='qemu'><name>%s</name><uuid>5e5e5e5e-0000-4000-8000-000000000001</uuid><memory>65536</memory><os><type>hvm</type></os><devices/></domain>\n" \
                "$dom" > "$T/dash.xml"
        "$hook" "$dom" migrate begin - < "$T/dash.xml" > "$T/out" 2> "$T/err"
        rc=$?
        check "with libvirt's arguments, domain '$dom' is a domain: migrate begin handles it, prints no version or usage (exit $rc)" \
                bash -c "[ $rc = 0 ] && [ ! -s '$T/out' ] && [ ! -s '$T/err' ]"
done
"$hook" -V migrate begin - < /dev/null > "$T/out" 2> "$T/err"
check "and it reads the XML for it: with none on stdin, it says so about that domain (exit 1)" \
        bash -c "[ $? = 1 ] && grep -qF 'domain -V: no domain XML on stdin' '$T/err' && ! grep -q migkit-hook '$T/out'"
"$hook" --version > "$T/out" 2>&1
check "--version alone still prints the version" grep -q '^migkit-hook [0-9]' "$T/out"
"$hook" --dry-run migrate begin -v < "$T/dash.xml" > "$T/out" 2>&1
check "--dry-run OP SUBOP -v (four arguments, the last an option) is still the dry run" \
        grep -qF 'migrate begin for domain --dump-config (uuid 5e5e5e5e-0000-4000-8000-000000000001): done planning' "$T/out"

# --- who may change the configuration -------------------------------------------
C=$T/conf.d
mkdir -m 0755 "$C"
cp "$T/migkit.conf" "$C/migkit.conf"
chmod 0644 "$C/migkit.conf"
trusted() { "$hook" --check-config "$C/migkit.conf" > "$T/out" 2> "$T/err"; }
trusted
check "a root-owned 0644 file in root-owned 0755 directories is accepted" bash -c "[ $? = 0 ] && grep -q ': OK' '$T/out'"
chmod 0664 "$C/migkit.conf"
trusted
check "a file its group can write is refused, with the chmod to run" \
        bash -c "[ $? = 1 ] && grep -qF '$C/migkit.conf: refusing a configuration file its group can write' '$T/err' && grep -qF 'run chmod g-w $C/migkit.conf' '$T/err'"
chmod 0644 "$C/migkit.conf"
chown 65534 "$C/migkit.conf"
trusted
check "a file owned by another user is refused" \
        bash -c "[ $? = 1 ] && grep -qF 'refusing a configuration file owned by uid 65534' '$T/err' && grep -qF 'run chown root $C/migkit.conf' '$T/err'"
chown 0 "$C/migkit.conf"
chmod 0775 "$C"
trusted
check "a file in a directory its group can write is refused (the file could be replaced)" \
        bash -c "[ $? = 1 ] && grep -qF 'its directory $C is writable by its group (mode 0775' '$T/err'"
chmod 1777 "$C"
trusted
check "a sticky directory (as /tmp) holding a root-owned file is accepted" bash -c "[ $? = 0 ]"
chmod 0755 "$C"
chown 65534 "$T"
trusted
check "a directory further up owned by another user is refused" \
        bash -c "[ $? = 1 ] && grep -qF 'its directory $T is owned by uid 65534' '$T/err'"
MIGKIT_CONFIG=$C/migkit.conf "$hook" "$NAME" migrate begin - < "$T/in.xml" > "$T/out" 2> "$T/err"
check "the hook refuses to act on it (migrate begin exit 1, names the file and the fix)" \
        bash -c "[ $? = 1 ] && grep -qF 'its directory $T is owned by uid 65534' '$T/err'"
MIGKIT_CONFIG=$C/migkit.conf "$hook" "$NAME" reconnect begin - < /dev/null > /dev/null 2>&1
check "reconnect still never fails" [ $? = 0 ]
chown 0 "$T"

# --- migkit-watch as a systemd service ------------------------------------------
W=$T/watch
mkdir -p "$W/run/systemd/system" "$W/instances/$U" "$W/state"
printf '#!/bin/sh\necho "$*" >> %s/cleanup-ran\n' "$W" > "$W/fake-cleanup"
printf '#!/bin/sh\necho "Failed to start $3: Unit not found." >&2\nexit 5\n' > "$W/fake-systemctl"
chmod 755 "$W/fake-cleanup" "$W/fake-systemctl"
cat > "$W/migkit.conf" <<EOC
[paths]
instances = $W/instances
state = $W/state
run = $W/run
[cleanup]
libvirt-uri = $ABSENT
launcher = auto
program = $W/fake-cleanup
systemctl = $W/fake-systemctl
EOC
MIGKIT_CONFIG=$W/migkit.conf "$mc" proof "$U" migrated --by watch --name "$NAME" > /dev/null 2>&1
# a leftover directory with a migrated proof: the watcher starts the source job at connect
MIGKIT_CONFIG=$W/migkit.conf INVOCATION_ID=0123456789abcdef "$build/migkit-watch" --once > "$T/out" 2> "$T/err"
check "in a service, with systemctl failing, migkit-watch does not run migkit-cleanup itself" \
        bash -c "! grep -qF 'started cleanup source' '$T/err' && [ ! -e '$W/cleanup-ran' ]"
check "it says why, naming the unit" \
        bash -c "grep -qF 'start --no-block migkit-cleanup@source-$U.service failed' '$T/err' && grep -qF 'could not start cleanup source' '$T/err'"
check "and a pending item says what to run" \
        grep -qF "migkit-watch could not start migkit-cleanup source (see its log); nothing was removed: run \`migkit-cleanup source $U\`" "$W/state/pending/$U.source"
sed -i 's/^launcher = auto/launcher = direct/' "$W/migkit.conf"
MIGKIT_CONFIG=$W/migkit.conf INVOCATION_ID=0123456789abcdef "$build/migkit-watch" --once > "$T/out" 2> "$T/err"
check "launcher = direct in a service: refused, with the setting to change" \
        bash -c "[ ! -e '$W/cleanup-ran' ] && grep -qF 'set [cleanup] launcher = auto or systemd' '$T/err'"
MIGKIT_CONFIG=$W/migkit.conf "$build/migkit-watch" --once > "$T/out" 2> "$T/err"
for ((i = 0; i < 100; i++)); do [ -s "$W/cleanup-ran" ] && break; sleep 0.1; done # it runs detached
check "outside a service (run by hand) launcher = direct still starts it" grep -qx "source $U" "$W/cleanup-ran"

summary
