#!/bin/bash
# The real migkit-watch binary. First against libvirt's test driver in the
# process (--once: the reconciliation done at every connection), then, in
# private mount and network namespaces, against a private libvirtd serving
# the test driver (test+unix:///default): real events over the remote
# protocol, the daemon going away and coming back, SIGTERM. The migration
# events themselves (stopped/migrated, resumed/migrated, an aborted incoming
# migration) need QEMU: tests/lab/e2e covers them.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

in_namespaces "migkit-watch tests" -m -n -- "$@"
mount --make-rprivate /

build=$(realpath "${MIGKIT_BUILD:-build}")
mw=$build/migkit-watch
mc=$build/migkit-cleanup
T=$(mktemp -d /tmp/migkit-test-watch.XXXXXX)
cleanup_tmp() {
        local j
        for j in $(jobs -p); do kill "$j" 2>/dev/null; done
        wait 2>/dev/null
        umount -R /run /var/lib/libvirt /var/cache/libvirt /var/log/libvirt /etc/libvirt 2>/dev/null
        rm -rf "$T"
}
trap cleanup_tmp EXIT
S=$T/state I=$T/instances
mkdir -p "$S" "$I"
U=4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182
U2=0f0e0d0c-0b0a-4998-8776-655443322110
TESTDOM=6695eb01-f6a4-8304-79aa-97f2502e193f # test:///default's own running domain

cat > "$T/fake-cleanup" <<'EOF2'
#!/bin/bash
echo "$*" >> "$(dirname "$0")/cleanup-ran"
EOF2
chmod +x "$T/fake-cleanup"
cat > "$T/migkit.conf" <<EOC
[paths]
instances = $I
state = $S
run = $T/run
[cleanup]
libvirt-uri = test+unix:///default
launcher = direct
program = $T/fake-cleanup
EOC
export MIGKIT_CONFIG=$T/migkit.conf

journal() { # UUID STARTED [STRIPPED-ENTRY]
        mkdir -p "$S/journal"
        { printf 'migkit-journal 1\nuuid %s\nname guest\nstarted %s\ndir %s\n' "$1" "$2" "$I/$1"
          [ -n "${3:-}" ] && printf 'stripped %s\n' "$3"; } > "$S/journal/$1"
}

# --- the command line ---------------------------------------------------------
"$mw" --help > "$T/out" 2>&1
check "--help explains the events and the options" bash -c "[ $? = 0 ] && grep -q 'stopped/migrated' '$T/out' && grep -q -- '--pidfile FILE' '$T/out' && grep -q -- '--once' '$T/out'"
"$mw" --version | grep -q '^migkit-watch [0-9]'
check "--version prints the version" [ $? = 0 ]
"$mw" --bogus > /dev/null 2>&1
check "an unknown option is a usage error (exit 2)" [ $? = 2 ]
"$mw" extra > /dev/null 2>&1
check "an extra argument is a usage error (exit 2)" [ $? = 2 ]
"$mw" --once --uri 'qemu+unix:///system?socket=/nonexistent/sock' > "$T/out" 2>&1
check "--once with libvirt out of reach: exit 1, naming the URI and libvirt's reason" \
        bash -c "[ $? = 1 ] && grep -qF 'cannot connect to libvirt at qemu+unix:///system?socket=/nonexistent/sock' '$T/out'"
MIGKIT_CONFIG=$T/nope.conf "$mw" --once > "$T/out" 2>&1
check "a configuration file that is not there: exit 1 with the path" bash -c "[ $? = 1 ] && grep -qF '$T/nope.conf' '$T/out'"

# --- --once: the reconciliation against the test driver (in process) ---------
cat > "$T/node.xml" <<EOX
<node>
  <domain type='test'>
    <name>arrived</name><uuid>$U</uuid><memory>65536</memory><os><type>hvm</type></os>
    <devices>
      <disk type='file' device='cdrom'><source file='$I/$U/disk.config'/><target dev='hdc' bus='ide'/><readonly/></disk>
    </devices>
  </domain>
</node>
EOX
journal "$U" "$(($(date +%s) - 60))" "hdc $I/$U/disk.config"
journal "$U2" "$(($(date +%s) - 60))"
"$mw" --once --uri "test://$T/node.xml" > "$T/out" 2>&1
rc=$?
check "--once exits 0" [ "$rc" = 0 ]
check "a guest running here with a journal: the stripped source leaves its persistent definition, the journal is committed" \
        grep -qF "domain arrived ($U): at connect, running: removed the stripped config-drive source from the persistent definition (hdc $I/$U/disk.config), committed" "$T/out"
check "its journal is gone" [ ! -e "$S/journal/$U" ]
check "a journal whose guest is not here: no guess, a pending rollback saying so" \
        bash -c "grep -qF 'domain guest ($U2): at connect, not-defined: recorded pending rollback' '$T/out' && [ -e '$S/pending/$U2.rollback' ] && [ ! -e '$S/proof/$U2' ]"
"$mc" status > "$T/status" 2>&1
check "migkit-cleanup status shows it with what to run" \
        grep -qF "outcome of the incoming migration not seen (migkit-watch was not connected); check and run \`migkit-cleanup proof $U2 incoming-failed\` if it failed" "$T/status"
check "no proof recorded, no job started" bash -c "[ -z \"\$(ls -A '$S/proof' 2>/dev/null)\" ] && [ ! -e '$T/cleanup-ran' ]"
"$mw" --once --uri "test://$T/node.xml" > "$T/out" 2>&1
check "a second run keeps the pending item as it is" grep -qF "domain guest ($U2): at connect, not-defined: nothing to do; a pending rollback is on record" "$T/out"
rm -rf "$S/journal" "$S/pending"

# --- an instance directory left by a guest that migrated away unseen ---------
# (libvirt 9.0's release hook passes '-'; migkit-watch was stopped): at the
# next connection it is neither removed nor forgotten: pending, with why.
UL=5b1e2c3d-4e5f-4a6b-9c7d-8e9fa0b1c2d3
mkdir -p "$I/$UL" "$I/$U" && echo x > "$I/$UL/console.log"
"$mw" --once --uri "test://$T/node.xml" > "$T/out" 2>&1
check "a leftover instance directory whose domain libvirt does not know: a pending source item, nothing removed" \
        bash -c "grep -qF '($UL): at connect, not-defined, instance directory left: recorded pending source cleanup' '$T/out' &&
                 [ -e '$S/pending/$UL.source' ] && [ -e '$I/$UL/console.log' ] && [ ! -e '$S/proof/$UL' ] && [ ! -e '$T/cleanup-ran' ]"
check "the directory of a domain libvirt has here is left alone" [ ! -e "$S/pending/$U.source" ]
"${build}/migkit" status > "$T/status" 2>&1
rc=$?
check "migkit status lists it as pending (exit 3), awaiting proof, with what to run" \
        bash -c "[ $rc = 3 ] && grep -qF 'pending source $UL' '$T/status' && grep -qF 'awaiting proof' '$T/status' &&
                 grep -qF 'migkit-cleanup proof $UL migrated' '$T/status'"
rm -r "$I/$UL"
"$mw" --once --uri "test://$T/node.xml" > "$T/out" 2>&1
check "once the directory is gone (removed by hand), the pending item goes too" [ ! -e "$S/pending/$UL.source" ]
rm -rf "$S/journal" "$S/pending" "$I/$U"

# --- a private libvirtd -----------------------------------------------------
if ! [ -x /usr/sbin/libvirtd ] || ! command -v virsh >/dev/null; then
        skip "migkit-watch against a libvirtd: libvirtd or virsh is not installed (apt-get install libvirt-daemon-system)"
        summary; exit $?
fi
mount -t tmpfs tmpfs /run
for d in /var/lib/libvirt /var/cache/libvirt /var/log/libvirt /etc/libvirt; do
        mkdir -p "$T/daemon$d" "$d" && mount --bind "$T/daemon$d" "$d"
done
printf 'log_outputs = "1:file:%s"\n' "$T/libvirtd.log" > /etc/libvirt/libvirtd.conf
# The daemon's test:///default lives while some connection to it is open:
# a virsh event loop keeps it (and shows the events independently).
start_daemon() {
        /usr/sbin/libvirtd -f /etc/libvirt/libvirtd.conf > /dev/null 2>&1 &
        DPID=$!
        for _ in $(seq 100); do
                if virsh -q -c test+unix:///default list > /dev/null 2>&1; then
                        virsh -q -c test+unix:///default event --loop --all >> "$T/events.log" 2>&1 &
                        return 0
                fi
                sleep 0.1
        done
        return 1
}
if ! start_daemon; then
        skip "migkit-watch against a libvirtd: a private libvirtd did not start ($(tail -2 "$T/libvirtd.log" 2>/dev/null))"
        summary; exit $?
fi
V() { virsh -q -c test+unix:///default "$@"; }
logged() { grep -qF -- "$1" "$T/watch.log"; }
wait_log() { for _ in $(seq 100); do logged "$1" && return 0; sleep 0.1; done; return 1; }
count() { grep -cF -- "$1" "$T/watch.log"; }

"$mw" --pidfile "$T/watch.pid" > "$T/watch.log" 2>&1 &
WPID=$!
wait_log "connected to libvirt at test+unix:///default"
check "migkit-watch connects to libvirt ([cleanup] libvirt-uri) and says so" [ $? = 0 ]
check "it writes its pid file" bash -c "[ \"\$(cat '$T/watch.pid' 2>/dev/null)\" = $WPID ]"

cat > "$T/plain.xml" <<EOX
<domain type='test'><name>plain</name><uuid>$U2</uuid><memory>65536</memory><os><type>hvm</type></os></domain>
EOX
V define "$T/plain.xml" > /dev/null && V start plain > /dev/null && V destroy plain > /dev/null && V undefine plain > /dev/null
wait_log "domain plain ($U2): undefined/removed"
check "events of a plain guest arrive over the remote protocol, one line per decision" \
        bash -c "grep -qF 'domain plain ($U2): defined/added: nothing to do' '$T/watch.log' &&
                 grep -qF 'domain plain ($U2): started/booted: nothing to do' '$T/watch.log' &&
                 grep -qF 'domain plain ($U2): stopped/destroyed: nothing to do; no journal here' '$T/watch.log'"
check "a normal start and destroy records nothing and starts nothing" \
        bash -c "[ -z \"\$(find '$S/proof' '$S/pending' -mindepth 1 2>/dev/null)\" ] && [ ! -e '$T/cleanup-ran' ]"

# libvirtd goes away: reconnect with back-off, reconcile on return
journal "$TESTDOM" "$(($(date +%s) - 60))" "hda /nonexistent/disk.config"
kill "$DPID"; wait "$DPID" 2>/dev/null
wait_log "lost the connection to libvirt at test+unix:///default"
check "libvirtd stopping is noticed (close callback)" [ $? = 0 ]
sleep 3.5
check "it retries with back-off while libvirt is gone, logging each attempt" \
        bash -c "grep -qF 'trying libvirt at test+unix:///default again in 1 s' '$T/watch.log' && grep -qF 'again in 2 s' '$T/watch.log'"
check "and keeps running" kill -0 "$WPID"
start_daemon
wait_log "domain test ($TESTDOM): at connect, running"
check "once libvirtd is back it reconnects" [ "$(count 'connected to libvirt at test+unix:///default')" = 2 ]
check "and reconciles the journals: a guest running here arrived, its journal is committed" \
        bash -c "grep -qF 'domain test ($TESTDOM): at connect, running: persistent definition needs no change, committed' '$T/watch.log' && [ ! -e '$S/journal/$TESTDOM' ]"

# the persistent-definition fix-up over the remote protocol, at a (re)start of migkit-watch
cat > "$T/cd.xml" <<EOX
<domain type='test'><name>arrived</name><uuid>$U</uuid><memory>65536</memory><os><type>hvm</type></os><devices>
<disk type='file' device='cdrom'><source file='$I/$U/disk.config'/><target dev='hdc' bus='ide'/><readonly/></disk>
<disk type='file' device='cdrom'><source file='/isos/tools.iso'/><target dev='hdd' bus='ide'/><readonly/></disk>
</devices></domain>
EOX
V define "$T/cd.xml" > /dev/null && V start arrived > /dev/null
journal "$U" "$(($(date +%s) - 60))" "hdc $I/$U/disk.config"
kill "$WPID"; wait "$WPID"
rc=$?
check "SIGTERM: clean exit 0" [ "$rc" = 0 ]
check "the pid file is removed and the exit logged" bash -c "[ ! -e '$T/watch.pid' ] && grep -qF 'received Terminated; exiting' '$T/watch.log'"
# a guest being created meanwhile: its directory is there, its domain not yet
UN=6c2f3d4e-5f60-4b7c-8d9e-0fa1b2c3d4e5
mkdir -p "$I/$UN"
"$mw" --pidfile "$T/watch.pid" >> "$T/watch.log" 2>&1 &
WPID=$!
wait_log "domain arrived ($U): at connect, running"
wait_log "looked at the journals and instance directories after connecting"
check "a directory whose domain is not defined yet at connect: pending, nothing removed" \
        bash -c "grep -qF '($UN): at connect, not-defined, instance directory left: recorded pending source cleanup' '$T/watch.log' && [ -e '$S/pending/$UN.source' ] && [ -d '$I/$UN' ]"
cat > "$T/new.xml" <<EOX
<domain type='test'><name>new</name><uuid>$UN</uuid><memory>65536</memory><os><type>hvm</type></os></domain>
EOX
V define "$T/new.xml" > /dev/null
wait_log "domain new ($UN): defined/added: libvirt has the domain here; cleared its pending source cleanup"
check "its domain defined a moment later: the pending item goes, the directory stays" \
        bash -c "[ ! -e '$S/pending/$UN.source' ] && [ -d '$I/$UN' ]"
V undefine new > /dev/null; rm -r "$I/$UN"
V dumpxml --inactive arrived > "$T/inactive.xml"
V dumpxml arrived > "$T/live.xml"
check "a guest that arrived while migkit-watch was away: the config drive leaves its persistent definition" \
        bash -c "! grep -q 'disk.config' '$T/inactive.xml' && grep -q \"<target dev='hdc'\" '$T/inactive.xml' && grep -qF '/isos/tools.iso' '$T/inactive.xml'"
check "the running definition is untouched" grep -qF "$I/$U/disk.config" "$T/live.xml"
check "the journal is committed" [ ! -e "$S/journal/$U" ]
V shutdown arrived > /dev/null
wait_log "domain arrived ($U): stopped/shutdown"
check "shut down later it is not a failed migration: nothing recorded, nothing started" \
        bash -c "grep -qF 'domain arrived ($U): stopped/shutdown: nothing to do; no journal here' '$T/watch.log' &&
                 [ -z \"\$(find '$S/proof' '$S/pending' -mindepth 1 2>/dev/null)\" ] && [ ! -e '$T/cleanup-ran' ]"
kill -INT "$WPID"; wait "$WPID"
check "SIGINT: clean exit 0" [ $? = 0 ]
WPID=
summary
