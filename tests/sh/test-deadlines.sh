#!/bin/bash
# The hook never runs past its deadline ([hook] deadline = 2s here), whatever
# it waits on: a multipathd library whose calls never return (a stub
# libmpathcmd.so that ignores its timeout and sleeps forever, where
# [fc] libmpathcmd points), a LUN for which udev never announces anything,
# and rtnetlink never answering a bridge creation (an LD_PRELOAD stub in
# front of libc's sendto(); the kernel itself cannot be made to hang on
# purpose).
# Each case: wall-clock <= deadline + 2 s, exit status 1 and a message
# libvirt can show, and nothing left half-done: either nothing was created
# or everything created is listed in a journal whose rollback was handed
# over. tests/sh/test-hook-fc.sh covers a multipathd that accepts and never
# answers (the real libmpathcmd honours its timeout) and a scan write that
# blocks in the kernel.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

in_namespaces "deadline tests (bridges in a private network namespace)" -n -- "$@"

build=$(realpath "${MIGKIT_BUILD:-build}")
hook=$build/migkit-hook
T=$(mktemp -d /tmp/migkit-test-deadlines.XXXXXX)
trap 'rm -rf "$T"' EXIT
CC=${CC:-cc}
if ! command -v "$CC" >/dev/null; then
        skip "deadline tests: no C compiler ($CC) to build the stubs"
        summary; exit 0
fi
UUID=de4d1111-9f3d-4b8a-a1c2-3d4e5f607182
NAME=inst-deadline
WWID1=3600601604d903a00e8e4b3c7b6a6e811
TGT_A=0x5006016839a01c4e
DEADLINE_MS=2000
LIMIT_MS=$((DEADLINE_MS + 2000))
export MIGKIT_CONFIG=$T/migkit.conf

# --- stubs -------------------------------------------------------------------
# libmpathcmd whose connect works and whose command never returns
cat > "$T/mpathstub.c" <<'EOC'
#include <unistd.h>
#include <sys/socket.h>
int mpath_connect(void) { return socket(AF_UNIX, SOCK_STREAM, 0); }
int __mpath_connect(int nonblocking) { (void)nonblocking; return mpath_connect(); }
int mpath_disconnect(int fd) { return close(fd); }
int mpath_process_cmd(int fd, const char *cmd, char **reply, unsigned int timeout)
{
        (void)fd; (void)cmd; (void)reply; (void)timeout;
        for (;;)
                pause();
}
EOC
# rtnetlink that never acknowledges the Nth RTM_NEWLINK (STUB_HANG_AT, 1 =
# first): libc's sendto() for libmnl, which the hook loads with dlopen()
cat > "$T/nlhang.c" <<'EOC'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
static int newlinks;
ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen)
{
        static ssize_t (*real)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
        const struct nlmsghdr *nlh = buf;
        const char *at = getenv("STUB_HANG_AT");
        if (!real)
                *(void **)&real = dlsym(RTLD_NEXT, "sendto");
        if (to && to->sa_family == AF_NETLINK && len >= sizeof(*nlh) && nlh->nlmsg_type == RTM_NEWLINK && at &&
            ++newlinks == atoi(at))
                for (;;)
                        pause();
        return real(fd, buf, len, flags, to, tolen);
}
EOC
if ! "$CC" -shared -fPIC -o "$T/libmpathcmd-hang.so" "$T/mpathstub.c" 2> "$T/cc.err" ||
   ! "$CC" -shared -fPIC -o "$T/nlhang.so" "$T/nlhang.c" -ldl 2>> "$T/cc.err"; then
        skip "deadline tests: cannot build the stubs: $(head -c 300 "$T/cc.err")"
        summary; exit 0
fi

# --- fixtures ----------------------------------------------------------------
setup() { # [extra INI]
        rm -rf "$T/sys" "$T/dev" "$T/inst" "$T/state"
        cp -a tests/data/sysfs/two-hbas "$T/sys"
        mkdir -p "$T/dev" "$T/inst"
        cat > "$T/migkit.conf" <<EOC
[paths]
instances = $T/inst
state = $T/state
sysfs = $T/sys
dev = $T/dev
[hook]
deadline = ${DEADLINE_MS}ms
[cleanup]
launcher = direct
program = $T/cleanup-stub
$*
EOC
}
# a stub migkit-cleanup: records that a rollback was handed over
cat > "$T/cleanup-stub" <<EOF2
#!/bin/sh
echo "\$*" >> "$T/cleanup-ran"
EOF2
chmod +x "$T/cleanup-stub"

# xml OUT DISK-SOURCE|- BRIDGE...: a Nova-shaped guest, console in the instances path
xml() {
        local out=$1 src=$2; shift 2
        { echo "<domain type='kvm'><name>$NAME</name><uuid>$UUID</uuid><memory unit='KiB'>65536</memory>"
          echo "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
          [ "$src" != - ] && echo "<disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='$src'/><target dev='vda' bus='virtio'/></disk>"
          for b in "$@"; do
                echo "<interface type='bridge'><source bridge='$b'/><model type='virtio'/></interface>"
          done
          echo "<serial type='file'><source path='$T/inst/$UUID/console.log'/><target port='0'/></serial>"
          echo "</devices></domain>"; } > "$out"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# run_hook XML [ENV=VAL...]: output in $T/out $T/err, $rc, $ms; the clock
# stops when the hook's stderr closes (every holder of libvirt's pipe gone)
# An ASan build refuses to start with another library preloaded before its
# runtime; the stub only wraps libc calls, so the order does not matter here.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
run_hook() {
        local x=$1 t0; shift
        rm -f "$T/cleanup-ran"
        t0=$(now_ms)
        env "$@" "$hook" "$NAME" migrate begin - < "$x" 2>&1 > "$T/out" | timeout 30 cat > "$T/err"
        rc=${PIPESTATUS[0]}
        ms=$(( $(now_ms) - t0 ))
}
links() { ip -o link show | awk -F': ' '{print $2}' | sort | tr '\n' ' '; }
# nothing_half_done BRIDGE...: either nothing of the guest's exists, or a
# journal lists every bridge and directory that exists and a rollback was
# handed over
nothing_half_done() {
        local made=() b
        for b in "$@"; do ip link show "$b" >/dev/null 2>&1 && made+=("bridge $b"); done
        [ -e "$T/inst/$UUID" ] && made+=("dir $T/inst/$UUID")
        if [ ${#made[@]} = 0 ]; then
                # a journal listing nothing created is harmless, but none is expected
                [ ! -s "$T/state/journal/$UUID" ] || ! grep -qE '^(dir|bridge) ' "$T/state/journal/$UUID"
                return
        fi
        for m in "${made[@]}"; do
                grep -qxF "$m" "$T/state/journal/$UUID" 2>/dev/null || { echo "    left behind, listed in no journal: $m"; return 1; }
        done
        sleep 0.3
        grep -qx "rollback $UUID" "$T/cleanup-ran" 2>/dev/null || { echo "    created (${made[*]}) but no rollback handed over"; return 1; }
}
cleanup_links() { for b in "$@"; do ip link del "$b" 2>/dev/null; done; }

# --- multipathd library that never returns -----------------------------------
setup "[fc]
multipath = yes
libmpathcmd = $T/libmpathcmd-hang.so"
xml "$T/mp.xml" "/dev/disk/by-id/dm-uuid-mpath-$WWID1" qbrdead0001-aa
run_hook "$T/mp.xml"
check "multipathd hangs (stub libmpathcmd ignores its timeout): the hook ends in ${ms} ms <= ${LIMIT_MS} ms" [ "$ms" -le "$LIMIT_MS" ]
check "  and fails the migration (rc=$rc) saying the deadline was exceeded: $(head -c 200 "$T/err")" \
        bash -c "[ $rc = 1 ] && grep -qF 'deadline ([hook] deadline) exceeded' '$T/err'"
check "  and nothing is left half-done (FC comes before anything is created)" nothing_half_done qbrdead0001-aa
cleanup_links qbrdead0001-aa

# --- udev never answers: the LUN never appears -----------------------------------
setup
xml "$T/lun.xml" "/dev/disk/by-path/pci-0000:05:00.0-fc-$TGT_A-lun-2" qbrdead0002-aa
before=$(links)
run_hook "$T/lun.xml"
check "udev never announces the LUN: the hook ends in ${ms} ms <= ${LIMIT_MS} ms" [ "$ms" -le "$LIMIT_MS" ]
check "  and fails (rc=$rc) naming the disk, WWPN and LUN, before the watchdog" \
        bash -c "[ $rc = 1 ] && grep -qF 'WWPN $TGT_A LUN 2' '$T/err' && ! grep -qF 'deadline ([hook] deadline) exceeded' '$T/err'"
check "  and nothing is created: no bridge, no directory, no journal" \
        bash -c "[ '$before' = '$(links)' ] && [ ! -e '$T/inst/$UUID' ] && [ ! -e '$T/state/journal/$UUID' ]"
cleanup_links qbrdead0002-aa

# --- rtnetlink never answers: the first bridge --------------------------------------
setup
xml "$T/br.xml" - qbrdead0003-aa qbrdead0003-bb
run_hook "$T/br.xml" LD_PRELOAD="$T/nlhang.so" STUB_HANG_AT=1
check "the first bridge creation never returns: the hook ends in ${ms} ms <= ${LIMIT_MS} ms" [ "$ms" -le "$LIMIT_MS" ]
check "  and fails the migration (rc=$rc) saying the deadline was exceeded: $(head -c 200 "$T/err")" \
        bash -c "[ $rc = 1 ] && grep -qF 'deadline ([hook] deadline) exceeded' '$T/err'"
check "  and nothing is left half-done" nothing_half_done qbrdead0003-aa qbrdead0003-bb
cleanup_links qbrdead0003-aa qbrdead0003-bb
rm -rf "$T/inst/$UUID"

# --- rtnetlink never answers: the second bridge, after the first was created -------
setup
run_hook "$T/br.xml" LD_PRELOAD="$T/nlhang.so" STUB_HANG_AT=2
check "the second bridge creation never returns: the hook ends in ${ms} ms <= ${LIMIT_MS} ms" [ "$ms" -le "$LIMIT_MS" ]
check "  and fails the migration (rc=$rc): $(head -c 200 "$T/err")" [ "$rc" = 1 ]
check "  and the first bridge, already created, is not left half-done (journaled and rolled back)" \
        nothing_half_done qbrdead0003-aa qbrdead0003-bb
cleanup_links qbrdead0003-aa qbrdead0003-bb

# --- controls: the stubs really hang, so the cases above can fail ------------------
cat > "$T/probe.c" <<'EOC'
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <string.h>
int main(void)
{
        char buf[256] = { 0 };
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
        nlh->nlmsg_type = RTM_NEWLINK;
        mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
        return nl && mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) >= 0 ? 0 : 1;
}
EOC
if "$CC" -o "$T/probe" "$T/probe.c" -lmnl 2>/dev/null; then
        LD_PRELOAD="$T/nlhang.so" STUB_HANG_AT=1 timeout 3 "$T/probe"; st=$?
        check "control: the rtnetlink stub really blocks a RTM_NEWLINK forever (timeout killed the probe: status $st)" [ "$st" = 124 ]
else
        skip "control of the rtnetlink stub: cannot build a probe against libmnl"
fi
cat > "$T/mprobe.c" <<'EOC'
#include <dlfcn.h>
int main(int argc, char **argv)
{
        void *dl = dlopen(argv[1], RTLD_NOW);
        int (*cmd)(int, const char *, char **, unsigned) = dl ? (int (*)(int, const char *, char **, unsigned))dlsym(dl, "mpath_process_cmd") : 0;
        char *reply;
        (void)argc;
        return cmd ? cmd(0, "add map x", &reply, 100) : 2;
}
EOC
if "$CC" -o "$T/mprobe" "$T/mprobe.c" -ldl 2>/dev/null; then
        timeout 3 "$T/mprobe" "$T/libmpathcmd-hang.so"; st=$?
        check "control: the libmpathcmd stub ignores a 100 ms timeout and never returns (status $st)" [ "$st" = 124 ]
else
        skip "control of the libmpathcmd stub: cannot build a probe"
fi

summary
