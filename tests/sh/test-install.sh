#!/bin/bash
# `make install DESTDIR=...` lays out the files where libvirt and operators
# expect them, and the installed hook works from there.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh
build=${MIGKIT_BUILD:-build}
D=$(mktemp -d /tmp/migkit-test-install.XXXXXX)
trap 'rm -rf "$D"' EXIT

san=0; grep -q fsanitize "$build/.flags" 2>/dev/null && san=1
make -s O="$build" SANITIZE=$san install DESTDIR="$D" > "$D.log" 2>&1
check "make install DESTDIR=... succeeds ($(tail -3 "$D.log" | tr '\n' ' '))" [ $? = 0 ]
rm -f "$D.log"
check "the hook binary is in /usr/libexec/migkit, mode 0755" [ "$(stat -c %a "$D/usr/libexec/migkit/migkit-hook" 2>/dev/null)" = 755 ]
check "migkit-cleanup is in /usr/libexec/migkit, mode 0755" [ "$(stat -c %a "$D/usr/libexec/migkit/migkit-cleanup" 2>/dev/null)" = 755 ]
check "libvirt's qemu.d entry points at it" [ "$(readlink "$D/etc/libvirt/hooks/qemu.d/50-migkit")" = /usr/libexec/migkit/migkit-hook ]
check "migkit, the operator command, is in /usr/bin, mode 0755" [ "$(stat -c %a "$D/usr/bin/migkit" 2>/dev/null)" = 755 ]
check "the configuration is installed as /etc/migkit/migkit.conf, 0644" [ "$(stat -c %a "$D/etc/migkit/migkit.conf" 2>/dev/null)" = 644 ]
check "the installed configuration is the documented one" cmp -s conf/migkit.conf "$D/etc/migkit/migkit.conf"
check "the state directory exists with mode 0700" [ "$(stat -c %a "$D/var/lib/migkit" 2>/dev/null)" = 700 ]
MIGKIT_CONFIG="$D/etc/migkit/migkit.conf" "$D/usr/libexec/migkit/migkit-hook" --check-config > /dev/null 2>&1
check "the installed hook accepts the installed configuration" [ $? = 0 ]
strings "$D/usr/libexec/migkit/migkit-hook" | grep -qx /etc/migkit/migkit.conf
check "the hook has /etc/migkit/migkit.conf compiled in (PREFIX=/usr)" [ $? = 0 ]
readelf -d "$D/usr/libexec/migkit/migkit-hook" | grep -q 'FLAGS.*BIND_NOW' && readelf -l "$D/usr/libexec/migkit/migkit-hook" | grep -q GNU_RELRO && readelf -h "$D/usr/libexec/migkit/migkit-hook" | grep -q 'DYN'
check "the hook is PIE with full RELRO (relro + bind now)" [ $? = 0 ]
readelf -d "$D/usr/libexec/migkit/migkit-hook" | grep NEEDED > "$D/needed"
check "the hook does not link libmount or libvirt at start-up (kept off its path)" bash -c "! grep -qE 'libmount|libvirt' '$D/needed'"
summary
