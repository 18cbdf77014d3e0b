#!/bin/bash
# The real migkit-hook binary, called as libvirt calls it, in a private
# network namespace against a temporary instances path and state directory.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

in_namespaces "hook tests" -n -- "$@"

build=$(realpath "${MIGKIT_BUILD:-build}")
hook=$build/migkit-hook
T=$(mktemp -d /tmp/migkit-test-hook.XXXXXX)
trap 'rm -rf "$T"' EXIT
I=$T/instances S=$T/state
mkdir -p "$I"
UUID=4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182
NAME=instance-0000002a

write_conf() { # extra INI text
        cat > "$T/migkit.conf" <<EOC
[paths]
instances = $I
state = $S
[bridges]
mtu = ${MTU:-1400}
$*
[paths]
run = ${RUN:-$T/run}
[limits]
incoming = 0
EOC
}
write_conf
export MIGKIT_CONFIG=$T/migkit.conf

# domain XML from the template: xml OUT [UUID NAME BR1 BR2]
xml() {
        sed -e "s|@INSTANCES@|$I|g" -e "s|@UUID@|${2:-$UUID}|g" -e "s|@NAME@|${3:-$NAME}|g" \
            -e "s|@BR1@|${4:-qbr1234abcd-ef}|g" -e "s|@BR2@|${5:-qbr5678abcd-ef}|g" tests/data/hook/nova.xml.in > "$1"
}
# run_hook XML DOMAIN OP SUBOP: stdout/stderr/status in $T/out $T/err $rc
run_hook() {
        local in=$1; shift
        "$hook" "$@" < "$in" > "$T/out" 2> "$T/err"
        rc=$?
}
links() { ip -o link show | awk -F': ' '{print $2}' | sort | tr '\n' ' '; }
state_snapshot() { (cd "$T" && find instances state -printf '%p %m %s\n' 2>/dev/null | sort; links); }

# --- the main path: everything missing -----------------------------------
xml "$T/in.xml"
run_hook "$T/in.xml" "$NAME" migrate begin -
check "migrate begin succeeds when dir, bridges and config drive are missing (rc=$rc: $(head -c 300 "$T/err"))" [ "$rc" = 0 ]
check "the instance directory is created" [ -d "$I/$UUID" ]
check "the instance directory has mode 0755 and owner root" [ "$(stat -c '%a %U' "$I/$UUID")" = "755 root" ]
br1=$(ip -d -o link show qbr1234abcd-ef 2>/dev/null)
br2=$(ip -d -o link show qbr5678abcd-ef 2>/dev/null)
check "bridge qbr1234abcd-ef exists as a bridge with the interface's MTU 1450" bash -c "grep -q 'mtu 1450 ' <<<'$br1' && grep -q ' bridge ' <<<'$br1'"
check "bridge qbr5678abcd-ef (no <mtu>) gets the configured default MTU 1400" bash -c "grep -q 'mtu 1400 ' <<<'$br2'"
check "both bridges are up" bash -c "grep -q '<.*UP.*>' <<<'$br1' && grep -q '<.*UP.*>' <<<'$br2'"
check "the rewritten XML is printed" contains "$T/out" "<uuid>$UUID</uuid>"
check "the config-drive <source> is gone" bash -c "! grep -q disk.config '$T/out'"
check "the cdrom device itself is kept (guest ABI)" bash -c "grep -q \"device='cdrom'\" '$T/out' && grep -q \"<target dev='sda' bus='sata'/>\" '$T/out'"
check "only the config drive changed" bash -c "diff <(grep -v disk.config '$T/in.xml') <(sed 's/^<?xml.*?>$//' '$T/out' | grep -v '^$') >/dev/null"
cp "$T/out" "$T/rewritten.xml"
J=$S/journal/$UUID
check "a journal records the directory, both bridges and the stripped cdrom" bash -c "
        grep -qx 'dir $I/$UUID' '$J' && grep -qx 'bridge qbr1234abcd-ef' '$J' && grep -qx 'bridge qbr5678abcd-ef' '$J' &&
        grep -qx 'stripped sda $I/$UUID/disk.config' '$J' && grep -qx 'name $NAME' '$J'"
check "the journal records which directory it created (device and inode) and each bridge's ifindex" bash -c "
        grep -qE \"^dir-id \$(stat -c %d '$I/$UUID') \$(stat -c %i '$I/$UUID') [0-9]+\\.[0-9]{9} $I/$UUID\\\$\" '$J' &&
        grep -qx \"bridge-ifindex \$(ip -o link show qbr1234abcd-ef | cut -d: -f1) qbr1234abcd-ef\" '$J' &&
        grep -qx \"bridge-ifindex \$(ip -o link show qbr5678abcd-ef | cut -d: -f1) qbr5678abcd-ef\" '$J'"
cp "$J" "$T/journal.1"

# --- idempotence: the hook on its own output ------------------------------
LD_DEBUG=files run_hook "$T/rewritten.xml" "$NAME" migrate begin -
check "running migrate begin again on the output succeeds and prints nothing" bash -c "[ $rc = 0 ] && [ ! -s '$T/out' ]"
check "and leaves the journal as it was" cmp -s "$J" "$T/journal.1"
check "bridges that exist are found without loading libmnl (an ethtool ioctl each)" bash -c "! grep -q 'file=libmnl' '$T/err'"

# --- prepare begin ---------------------------------------------------------
ip link del qbr5678abcd-ef
LD_DEBUG=files run_hook "$T/rewritten.xml" "$NAME" prepare begin -
check "prepare begin recreates a missing allowed bridge and prints no XML" bash -c "[ $rc = 0 ] && [ ! -s '$T/out' ] && ip link show qbr5678abcd-ef >/dev/null 2>&1"
check "creating it loaded libmnl" grep -q 'file=libmnl' "$T/err"
check "and the journal now records the new bridge's ifindex" \
        grep -qx "bridge-ifindex $(ip -o link show qbr5678abcd-ef | cut -d: -f1) qbr5678abcd-ef" "$J"
cp "$J" "$T/journal.1"
check "prepare begin adds to the journal of an incoming migration" grep -qx 'bridge qbr5678abcd-ef' "$J"
U2=0f0e0d0c-0b0a-4998-8776-655443322110
xml "$T/p2.xml" "$U2" inst-p2 qbr0000aaaa-01 qbr0000aaaa-01
run_hook "$T/p2.xml" inst-p2 prepare begin -
check "prepare begin for a plain start creates the bridge but starts no journal" bash -c "[ $rc = 0 ] && ip link show qbr0000aaaa-01 >/dev/null 2>&1 && [ ! -e '$S/journal/$U2' ]"
check "prepare begin does not create instance directories" [ ! -e "$I/$U2" ]

# --- config drive present: unchanged --------------------------------------
U3=11111111-2222-4333-8444-555555555555
mkdir -p "$I/$U3" && echo iso > "$I/$U3/disk.config"
xml "$T/present.xml" "$U3" inst-present
run_hook "$T/present.xml" inst-present migrate begin -
check "with the config drive present the hook prints nothing (XML unchanged)" bash -c "[ $rc = 0 ] && [ ! -s '$T/out' ]"
check "and keeps its existing directory untouched" [ "$(cat "$I/$U3/disk.config")" = iso ]

# --- refusals: message, non-zero, nothing touched --------------------------
refuse() { # description needle xmlfile domain
        local d=$1 needle=$2 in=$3 dom=$4 before after
        before=$(state_snapshot)
        run_hook "$in" "$dom" migrate begin -
        after=$(state_snapshot)
        if [ "$rc" != 1 ]; then fail "$d: exit status $rc, expected 1"; return; fi
        if ! grep -qF -- "$needle" "$T/err"; then fail "$d: stderr lacks '$needle': $(cat "$T/err")"; return; fi
        if [ "$(wc -l < "$T/err")" != 1 ]; then fail "$d: expected one line on stderr: $(cat "$T/err")"; return; fi
        if [ -s "$T/out" ]; then fail "$d: printed XML on refusal"; return; fi
        if [ "$before" != "$after" ]; then fail "$d: something changed: $(diff <(echo "$before") <(echo "$after"))"; return; fi
        pass "$d"
}
U4=99999999-8888-4777-8666-555555555555
xml "$T/evil.xml" "$U4" inst-evil qbr4444aaaa-01 evil0
refuse "a missing bridge outside the allow-list is refused before anything is created" \
        "bridge 'evil0' does not exist and is not in the allow-list ([bridges] allow = qbr* brq*)" "$T/evil.xml" inst-evil
xml "$T/slash.xml" "$U4" inst-evil "qbr/../x"
refuse "a bridge name with '/' is refused" "bridge name 'qbr/../x' has characters other than" "$T/slash.xml" inst-evil
xml "$T/long.xml" "$U4" inst-evil qbr0123456789abcdef
refuse "a bridge name longer than 15 characters is refused" "is longer than 15 characters" "$T/long.xml" inst-evil
xml "$T/space.xml" "$U4" inst-evil "qbr a"
refuse "a bridge name with a space is refused" "bridge name 'qbr a' has characters" "$T/space.xml" inst-evil
xml "$T/uni.xml" "$U4" inst-evil "qbré1"
refuse "a bridge name with unicode is refused" "has characters other than" "$T/uni.xml" inst-evil
xml "$T/baduuid.xml" "../../etc" inst-evil
refuse "a UUID of ../../etc is refused" "UUID" "$T/baduuid.xml" inst-evil
sed "s|<source path='$I/$U4/console.log'/>|<source path='$I/$U4/../../../etc/cron.d/x'/>|" <(xml /dev/stdout "$U4" inst-evil) > "$T/escape.xml"
refuse "a path escaping the instances path is refused" "would escape $I; refusing" "$T/escape.xml" inst-evil
sed "s|<source path='$I/$U4/console.log'/>|<source path='$I/$U3/console.log'/>|" <(xml /dev/stdout "$U4" inst-evil) > "$T/other.xml"
refuse "a path in another instance's directory is refused" "is in another instance's directory; refusing" "$T/other.xml" inst-evil
printf '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>\n<domain><name>&lol2;</name></domain>\n' > "$T/lol.xml"
refuse "XML with a DTD and entities (billion laughs) is refused" "DOCTYPE" "$T/lol.xml" inst-evil
printf '<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/shadow">]><domain><name>&x;</name></domain>' > "$T/xxe.xml"
refuse "XML with an external entity is refused" "DOCTYPE" "$T/xxe.xml" inst-evil
xml "$T/mismatch.xml" "$U4" inst-other
refuse "a domain name that differs from libvirt's argument is refused" "the XML on stdin names domain 'inst-other'" "$T/mismatch.xml" inst-evil
: > "$T/empty.xml"
refuse "empty stdin is refused" "no domain XML on stdin" "$T/empty.xml" inst-evil
head -c 200000 /dev/zero | tr '\0' ' ' > "$T/big.xml"
write_conf "[hook]
max-xml-size = 64K"
refuse "XML larger than max-xml-size is refused" "larger than [hook] max-xml-size (65536 bytes)" "$T/big.xml" inst-evil
MTU=12 write_conf
xml "$T/ok.xml" "$U4" inst-evil
refuse "a broken configuration fails migrate with file, line and what is allowed" "migkit.conf:5: [bridges] mtu = '12' is not valid; allowed: an MTU from 68 to 65535" "$T/ok.xml" inst-evil
run_hook "$T/ok.xml" inst-evil reconnect begin -
check "reconnect never fails, even with a broken configuration" bash -c "[ $rc = 0 ] && [ ! -s '$T/out' ]"
write_conf "[instance]
owner = no-such-user-mk"
refuse "an unknown instance owner is refused before anything is created" "[instance] owner 'no-such-user-mk' or group 'root' does not exist" "$T/ok.xml" inst-evil
# shared filesystem: instances on nfs4 per the mount table (the line of the
# instances path's real mount id)
printf '%s 1 0:46 / %s rw - nfs4 203.0.113.5:/inst rw\n' "$(findmnt -n -o ID -T "$I")" "$I" > "$T/mountinfo"
echo 0123456789abcdef0123456789abcdef > "$T/machine-id"
write_conf "[paths]
mountinfo = $T/mountinfo
libvirt-config = $T/no-libvirt
machine-id = $T/machine-id"
refuse "a missing instance directory on a shared filesystem is not created" "is on nfs4 (203.0.113.5:/inst mounted at $I), not a type listed in [filesystems] local: treated as shared; on shared storage it must already exist" "$T/ok.xml" inst-evil
# that mount table needs libmount: without it the hook says what to install
# and creates nothing (libmount.so.1 hidden under /dev/null in a mount
# namespace of its own)
libmount=$(ldconfig -p | awk '$1 == "libmount.so.1" { print $NF; exit }')
if [ -n "$libmount" ] && unshare -m true 2>/dev/null; then
        real_hook=$hook
        printf '#!/bin/sh\nexec unshare -m sh -c '\''mount --bind /dev/null "$0" && exec "$@"'\'' %s %s "$@"\n' \
                "$(realpath "$libmount")" "$real_hook" > "$T/hook-no-libmount"
        chmod +x "$T/hook-no-libmount"
        hook=$T/hook-no-libmount
        refuse "without libmount the hook names it and the package to install, and creates nothing" \
                "libmount (libmount.so.1, from util-linux) cannot be loaded: install libmount1 (Debian, Ubuntu) or libmount (Fedora, RHEL)" \
                "$T/ok.xml" inst-evil
        hook=$real_hook
else
        skip "without libmount: no libmount.so.1 in the loader's cache, or no mount namespace"
fi
mkdir "$I/$U4"
run_hook "$T/ok.xml" inst-evil migrate begin -
check "an existing instance directory on a shared filesystem is fine, and gets this host's mark" \
        bash -c "[ $rc = 0 ] && [ \"\$(ls -A '$I/$U4')\" = .migkit-host-0123456789abcdef0123456789abcdef ]"
rm -r "$I/$U4"
write_conf

# --- plain virsh domain: no instance dir under auto --------------------------
cat > "$T/plain.xml" <<EOX
<domain type='qemu'><name>plain</name><uuid>aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee</uuid><memory>65536</memory>
<os><type>hvm</type></os><devices><disk type='file' device='disk'><source file='/var/lib/libvirt/images/plain.qcow2'/><target dev='vda'/></disk></devices></domain>
EOX
run_hook "$T/plain.xml" plain migrate begin -
check "a domain with no files under the instances path gets no instance directory (create = auto)" \
        bash -c "[ $rc = 0 ] && [ ! -e '$I/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' ] && [ ! -s '$T/out' ]"

# --- other operations: exit 0 at once, without reading stdin ---------------
for op in "stopped end" "start begin" "restore begin" "attach begin" "reconnect begin"; do
        set -- $op
        start=$(date +%s%N)
        timeout 4 "$hook" "$NAME" "$1" "$2" - < <(sleep 5) > "$T/out" 2> "$T/err"
        rc=$?
        ms=$(( ($(date +%s%N) - start) / 1000000 ))
        check "$op exits 0 at once without waiting for stdin (${ms} ms)" bash -c "[ $rc = 0 ] && [ $ms -lt 3000 ] && [ ! -s '$T/out' ] && [ ! -s '$T/err' ]"
done

# --- started begin: the qemu-started mark of the current attempt ------------
run_hook "$T/p2.xml" inst-p2 started begin -
check "started begin without a journal (not an incoming migration of ours) does nothing" \
        bash -c "[ $rc = 0 ] && [ ! -s '$T/out' ] && [ ! -s '$T/err' ] && [ ! -e '$S/journal/$U2' ]"
run_hook "$T/rewritten.xml" "$NAME" started begin -
check "started begin notes in the journal that the incoming QEMU started" \
        bash -c "[ $rc = 0 ] && [ ! -s '$T/out' ] && grep -qE '^qemu-started [0-9]+$' '$J'"
check "and keeps everything else of the journal" cmp -s <(grep -v '^qemu-started ' "$J") "$T/journal.1"
run_hook "$T/rewritten.xml" "$NAME" migrate begin -
check "migrate begin (a new attempt) clears the mark of the earlier one" \
        bash -c "[ $rc = 0 ] && ! grep -q '^qemu-started ' '$J' && cmp -s '$J' '$T/journal.1'"
chattr +i "$S/journal"
run_hook "$T/rewritten.xml" "$NAME" started begin -
chattr -i "$S/journal"
check "started begin fails (aborting the start) when the mark cannot be written, and says why" \
        bash -c "[ $rc = 1 ] && grep -qF 'cannot note in the journal' '$T/err' && grep -qF 'refusing the start' '$T/err'"
"$hook" --dry-run started < "$T/rewritten.xml" > "$T/out" 2> "$T/err"; rc=$?
check "--dry-run started says what it would note and changes nothing" \
        bash -c "[ $rc = 0 ] && grep -qF 'would note in the journal of $UUID' '$T/out' && cmp -s '$J' '$T/journal.1'"

# --- release: proof and a fully detached migkit-cleanup ---------------------
cat > "$T/fake-cleanup" <<'EOF2'
#!/bin/bash
# the redirections apply to the child commands, so /proc/$$/fd is bash's own
out=$(dirname "$0")/cleanup-ran.$$ tmp=$(dirname "$0")/scratch.$$
find /proc/$$/fd -mindepth 1 -printf 'fd %f %l\n' > "$tmp.fds"
ps -o sid= -p $$ > "$tmp.sid"
{ echo "args $*"; echo "sid $(tr -d ' ' < "$tmp.sid") ppid $PPID pid $$"; cat "$tmp.fds"; } > "$tmp.all"
rm -f "$tmp.fds" "$tmp.sid"
mv "$tmp.all" "$out"
sleep 3
EOF2
chmod +x "$T/fake-cleanup"
# (the [cleanup] section last: cases below append keys of it)
CLEANUP_CONF="[metrics]
textfile = $T/migkit.prom
[cleanup]
program = $T/fake-cleanup"
write_conf "$CLEANUP_CONF"
# failed_in: migrations_in_total{result="failed"} in the textfile (0: none yet)
failed_in() { awk '$1 == "migkit_migrations_in_total{result=\"failed\"}" { n = $2 } END { print n + 0 }' "$T/migkit.prom" 2>/dev/null || echo 0; }
ran_wait() { for _ in $(seq 50); do ls "$T"/cleanup-ran.* >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
nothing_ran() { sleep 0.5; ! ls "$T"/cleanup-ran.* >/dev/null 2>&1; }
export T
export -f ran_wait nothing_ran
rm -f "$T"/cleanup-ran.*
run_hook "$T/rewritten.xml" "$NAME" started begin -
run_hook "$T/rewritten.xml" "$NAME" release end -
check "release end - after QEMU started (success and failure look alike: migkit-watch decides) records no proof and starts nothing" \
        bash -c "[ $rc = 0 ] && [ ! -e '$S/proof/$UUID' ] && nothing_ran"
start=$(date +%s%N)
# with a descriptor open that is not close-on-exec (fd 7), as the hook may
# inherit one of libvirt's: the detached cleanup must not hold it
run_hook "$T/rewritten.xml" "$NAME" release end migrated 7> "$T/inherited-fd"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "release end migrated returns at once (${ms} ms) while the cleanup still runs" bash -c "[ $rc = 0 ] && [ $ms -lt 2500 ]"
check "and records a proof 'migrated by hook'" bash -c "grep -qx 'kind migrated' '$S/proof/$UUID' && grep -qx 'by hook' '$S/proof/$UUID' && grep -qx 'detail release end migrated' '$S/proof/$UUID'"
ran_wait
ran=$(cat "$T"/cleanup-ran.* 2>/dev/null)
check "migkit-cleanup source <uuid> was started" grep -qx "args source $UUID" <<<"$ran"
check "it holds no descriptor of the hook's, not even one the hook inherited: only 0-2, all /dev/null (plus its own script)" \
        bash -c "[ \"\$(grep '^fd [0-2] ' <<<'$ran' | grep -vc '/dev/null')\" = 0 ] && [ \"\$(grep '^fd ' <<<'$ran' | grep -v '/dev/null' | grep -vc 'fake-cleanup')\" = 0 ]"
# the hook runs in this script's session: the cleanup must not, and must not
# lead its own either (a session leader can acquire a controlling terminal)
mysid=$(ps -o sid= -p $$ | tr -d ' ')
csid=$(sed -n 's/^sid \([0-9]*\) .*/\1/p' <<<"$ran") cpid=$(sed -n 's/^sid .* pid \([0-9]*\)$/\1/p' <<<"$ran")
check "it runs in a session of its own (sid $csid, the hook's $mysid), not as its leader (pid $cpid)" \
        bash -c "[ -n '$csid' ] && [ '$csid' != '$mysid' ] && [ '$csid' != '$cpid' ]"
check "and writes nothing on stderr (its log goes to syslog)" [ ! -s "$T/err" ]
rm -f "$T"/cleanup-ran.* "$S/proof/$UUID"
mv "$J" "$T/journal.saved"
for why in - failed; do
        run_hook "$T/rewritten.xml" "$NAME" release end $why
        check "release end $why without a journal (not an incoming migration of ours) does nothing" \
                bash -c "[ $rc = 0 ] && [ ! -e '$S/proof/$UUID' ] && nothing_ran"
done
mv "$T/journal.saved" "$J"
run_hook "$T/rewritten.xml" "$NAME" release end failed
check "release end failed (libvirt >= 10.5) after QEMU started does nothing either: migkit-watch decides" \
        bash -c "[ $rc = 0 ] && [ ! -e '$S/proof/$UUID' ] && nothing_ran"
# a new attempt that fails before its QEMU starts (a disk or bridge missing
# here): libvirt 9.0 calls migrate, prepare, stopped, release - and nothing else
run_hook "$T/rewritten.xml" "$NAME" migrate begin -
run_hook "$T/rewritten.xml" "$NAME" prepare begin -
run_hook "$T/rewritten.xml" "$NAME" stopped end -
check "stopped end records nothing" bash -c "[ $rc = 0 ] && [ ! -e '$S/proof/$UUID' ]"
run_hook "$T/rewritten.xml" "$NAME" release end -
ran_wait
check "release end - with a journal and no qemu-started mark: the incoming QEMU never started, so incoming-failed by hook" \
        bash -c "[ $rc = 0 ] && grep -qx 'kind incoming-failed' '$S/proof/$UUID' && grep -qx 'by hook' '$S/proof/$UUID' &&
                 grep -qx 'detail release end - before the incoming QEMU started' '$S/proof/$UUID'"
check "and starts migkit-cleanup rollback <uuid>" grep -qx "args rollback $UUID" "$T"/cleanup-ran.*
check "and counts a failed incoming migration in the metrics textfile (migkit-watch sees no event of it): $(failed_in)" [ "$(failed_in)" = 1 ]
rm -f "$T"/cleanup-ran.* "$S/proof/$UUID"
run_hook "$T/rewritten.xml" "$NAME" release end failed
ran_wait
check "release end failed with a journal and no mark: the same" \
        bash -c "[ $rc = 0 ] && grep -qx 'kind incoming-failed' '$S/proof/$UUID' && grep -qx 'args rollback $UUID' '$T'/cleanup-ran.* && [ $(failed_in) = 2 ]"
rm -f "$T"/cleanup-ran.* "$S/proof/$UUID"

# migrate begin fails after creating something: libvirt aborts and calls no
# other hook, so the hook hands the rollback over itself
U6=66666666-5555-4444-8333-222222222222
xml "$T/u6.xml" "$U6" inst-u6 qbr6666aaaa-01 qbr6666aaaa-01
chattr +i "$I"
run_hook "$T/u6.xml" inst-u6 migrate begin -
chattr -i "$I"
ran_wait
check "migrate begin failing after it created a bridge exits 1 and names the directory" \
        bash -c "[ $rc = 1 ] && grep -qF 'cannot create instance directory $I/$U6' '$T/err' && ip link show qbr6666aaaa-01 >/dev/null 2>&1"
check "and hands over a rollback of what it created (proof incoming-failed by hook)" \
        bash -c "grep -qx 'bridge qbr6666aaaa-01' '$S/journal/$U6' && grep -qx 'kind incoming-failed' '$S/proof/$U6' &&
                 grep -qx 'detail migrate begin failed in migkit-hook' '$S/proof/$U6' && grep -qx 'args rollback $U6' '$T'/cleanup-ran.*"
rm -f "$T"/cleanup-ran.*
run_hook "$T/evil.xml" inst-evil migrate begin -
check "a migrate begin refused before creating anything hands nothing over" bash -c "[ $rc = 1 ] && nothing_ran && [ ! -e '$S/proof/$U4' ]"

# --- dispatch through systemd (a stub systemctl and a fake /run) -------------
mkdir -p "$T/root/run/systemd/system"
cat > "$T/systemctl" <<'EOF2'
#!/bin/bash
# simple commands only: their redirections apply to the child, so
# /proc/$$/fd is what systemctl itself was given
d=$(dirname "$0")
find /proc/$$/fd -mindepth 1 -printf 'fd %f %l\n' > "$d/systemctl-fds.tmp"
echo "argv $*" > "$d/systemctl-argv.tmp"
cat "$d/systemctl-argv.tmp" "$d/systemctl-fds.tmp" > "$d/systemctl-ran.tmp"
mv "$d/systemctl-ran.tmp" "$d/systemctl-ran"
case "${STUB_MODE:-ok}" in
fail) echo "Failed to start migkit-cleanup@x.service: Unit migkit-cleanup@.service not found." >&2; exit 5 ;;
hang) sleep 30 ;;
esac
exit 0
EOF2
chmod +x "$T/systemctl"
export STUB_MODE=ok RUN=$T/root/run
write_conf "$CLEANUP_CONF
systemctl = $T/systemctl"
rm -f "$T/systemctl-ran" "$T"/cleanup-ran.*
run_hook "$T/rewritten.xml" "$NAME" release end migrated
check "with systemd running (<run>/systemd/system), the hook runs systemctl start --no-block migkit-cleanup@source-<uuid>.service" \
        bash -c "[ $rc = 0 ] && grep -qx 'argv start --no-block migkit-cleanup@source-$UUID.service' '$T/systemctl-ran'"
check "systemctl gets /dev/null on stdin and none of libvirt's descriptors" \
        bash -c "grep -q '^fd 0 /dev/null' '$T/systemctl-ran' && [ \"\$(grep '^fd ' '$T/systemctl-ran' | grep -v '^fd [012] ' | grep -vc systemctl)\" = 0 ] && ! grep -q '^fd 1 /dev/null' '$T/systemctl-ran'"
check "and starts no migkit-cleanup of its own" nothing_ran
export STUB_MODE=fail
rm -f "$T/systemctl-ran" "$S/proof/$UUID"
run_hook "$T/rewritten.xml" "$NAME" release end migrated
ran_wait
check "launcher = auto: when systemctl fails, the hook warns with its message and starts migkit-cleanup directly" \
        bash -c "[ $rc = 0 ] && grep -qF 'Unit migkit-cleanup@.service not found' '$T/err' && grep -qx 'args source $UUID' '$T'/cleanup-ran.*"
rm -f "$T"/cleanup-ran.* "$S/proof/$UUID"
write_conf "$CLEANUP_CONF
launcher = systemd
systemctl = $T/systemctl"
run_hook "$T/rewritten.xml" "$NAME" release end migrated
check "launcher = systemd: a failing systemctl is an error naming the unit, with no direct start, and release still exits 0" \
        bash -c "[ $rc = 0 ] && grep -qF 'migkit-cleanup@source-$UUID.service failed' '$T/err' && grep -qF 'run \`migkit-cleanup source $UUID\` by hand' '$T/err' && nothing_ran"
export STUB_MODE=hang
write_conf "$CLEANUP_CONF
systemctl = $T/systemctl"
start=$(date +%s%N)
run_hook "$T/rewritten.xml" "$NAME" release end migrated
ms=$(( ($(date +%s%N) - start) / 1000000 ))
ran_wait
check "a systemctl that hangs is given up after 5 s (${ms} ms) and the job started directly" \
        bash -c "[ $rc = 0 ] && [ $ms -lt 8000 ] && grep -qF 'did not answer within 5 s' '$T/err' && grep -qx 'args source $UUID' '$T'/cleanup-ran.*"
unset STUB_MODE
rm -f "$T"/cleanup-ran.* "$S/proof/$UUID" "$T/systemctl-ran"
write_conf "$CLEANUP_CONF
launcher = direct
systemctl = $T/systemctl"
run_hook "$T/rewritten.xml" "$NAME" release end migrated
ran_wait
check "launcher = direct never asks systemd" bash -c "[ $rc = 0 ] && [ ! -e '$T/systemctl-ran' ] && grep -qx 'args source $UUID' '$T'/cleanup-ran.*"
rm -f "$T"/cleanup-ran.* "$S/proof/$UUID"
unset RUN
write_conf "[cleanup]
program = $T/no-such-program"
run_hook "$T/rewritten.xml" "$NAME" release end migrated
check "release never fails, even when the cleanup program is missing" [ "$rc" = 0 ]
write_conf

# --- concurrency: two domains sharing a new bridge, hooks at once ----------
pids=()
for k in 1 2 3 4 5 6; do
        u=$(printf 'cccccccc-0000-4000-8000-%012d' $k)
        xml "$T/c$k.xml" "$u" "inst-c$k" qbrshared000-01 "qbrown0000$k-01"
        ( "$hook" "inst-c$k" migrate begin - < "$T/c$k.xml" > "$T/c$k.out" 2> "$T/c$k.err"; echo $? > "$T/c$k.rc" ) &
        pids+=($!)
done
wait "${pids[@]}"
okc=0; owners=0
for k in 1 2 3 4 5 6; do
        [ "$(cat "$T/c$k.rc")" = 0 ] && okc=$((okc + 1))
        u=$(printf 'cccccccc-0000-4000-8000-%012d' $k)
        grep -qx 'bridge qbrshared000-01' "$S/journal/$u" && owners=$((owners + 1))
done
check "6 concurrent hooks sharing a new bridge all succeed ($okc/6)" [ "$okc" = 6 ]
check "exactly one journal claims the shared bridge ($owners)" [ "$owners" = 1 ]

# --- dry-run and --check-config ---------------------------------------------
U5=abcdefab-cdef-4abc-8def-abcdefabcdef
xml "$T/dry.xml" "$U5" inst-dry qbrdry00000-01 qbrdry00000-02
before=$(state_snapshot)
"$hook" --dry-run migrate < "$T/dry.xml" > "$T/out" 2> "$T/err"; rc=$?
after=$(state_snapshot)
check "--dry-run migrate succeeds and touches nothing" bash -c "[ $rc = 0 ] && [ '$before' = '$after' ]"
check "--dry-run reports the bridges, the directory and the cdrom it would handle" bash -c "
        grep -qF 'would create bridge qbrdry00000-01 with MTU 1450 and bring it up' '$T/out' &&
        grep -qF 'would create bridge qbrdry00000-02 with MTU 1400' '$T/out' &&
        grep -qF 'would create instance directory $I/$U5 (owner root:root, mode 0755)' '$T/out' &&
        grep -qF 'would remove the <source> of cdrom sda $I/$U5/disk.config' '$T/out'"
"$hook" --check-config > "$T/out" 2>&1
check "--check-config accepts the test configuration" bash -c "[ $? = 0 ] && grep -qF '$T/migkit.conf: OK' '$T/out'"
"$hook" --check-config conf/migkit.conf > "$T/out" 2>&1
check "--check-config accepts the shipped configuration" [ $? = 0 ]
printf '[bridges]\nallow = qbr*\nalow = x\n' > "$T/bad.conf"
"$hook" --check-config "$T/bad.conf" > "$T/out" 2>&1; rc=$?
check "--check-config names file, line and key of a mistake" bash -c "[ $rc = 1 ] && grep -qF \"bad.conf:3: unknown key 'alow' in section [bridges]\" '$T/out'"
"$hook" --version | grep -q '^migkit-hook [0-9]'
check "--version prints the version" [ $? = 0 ]
"$hook" --bogus > /dev/null 2>&1
check "an unknown option is a usage error (exit 2)" [ $? = 2 ]

summary
