#!/bin/bash
# [graphics] listen: the real migkit-hook, at `migrate begin` in a private
# network namespace whose only addresses are 198.51.100.22 and 2001:db8::22,
# rewrites the graphics listen addresses this host lacks to [graphics]
# listen, leaves present, wildcard and loopback ones alone, and refuses the
# migration when the key is unset (or names an address this host lacks
# too), then with nothing created and nothing printed.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

in_namespaces "graphics listen hook tests" -n -- "$@"

build=$(realpath "${MIGKIT_BUILD:-build}")
hook=$build/migkit-hook
T=$(mktemp -d /tmp/migkit-test-hook-graphics.XXXXXX)
trap 'rm -rf "$T"' EXIT
I=$T/instances S=$T/state
mkdir -p "$I"
UUID=4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182
NAME=instance-0000002a
export MIGKIT_CONFIG=$T/migkit.conf

ip link set lo up
ip link add mk-gfx0 type bridge
ip addr add 198.51.100.22/24 dev mk-gfx0
ip addr add 2001:db8::22/64 dev mk-gfx0 nodad
ip link set mk-gfx0 up

write_conf() { # [graphics] listen value
        cat > "$T/migkit.conf" <<EOC
[paths]
instances = $I
state = $S
run = $T/run
[graphics]
listen = $1
[limits]
incoming = 0
EOC
}
# xml OUT ADDR: the Nova guest with a VNC listening on ADDR (attribute and
# <listen> child) and a SPICE listening on 127.0.0.1
xml() {
        sed -e "s|@INSTANCES@|$I|g" -e "s|@UUID@|$UUID|g" -e "s|@NAME@|$NAME|g" \
            -e "s|@BR1@|qbr1234abcd-ef|g" -e "s|@BR2@|qbr5678abcd-ef|g" \
            -e "s|  </devices>|    <graphics type='vnc' port='-1' autoport='yes' listen='$2'>\n      <listen type='address' address='$2'/>\n    </graphics>\n    <graphics type='spice' autoport='yes' listen='127.0.0.1'/>\n  </devices>|" \
            tests/data/hook/nova.xml.in > "$1"
}
run_hook() { # XML
        "$hook" "$NAME" migrate begin - < "$1" > "$T/out" 2> "$T/err"
        rc=$?
}
links() { ip -o link show | awk -F': ' '{print $2}' | sort | tr '\n' ' '; }
snapshot() { (cd "$T" && find instances state run -printf '%p %m %s\n' 2>/dev/null | sort; links); }
reset() { rm -rf "$I" "$S" "$T/run"; mkdir -p "$I"; ip link del qbr1234abcd-ef 2>/dev/null; ip link del qbr5678abcd-ef 2>/dev/null; true; }

# --- refused: the address is missing here and [graphics] listen is unset --
write_conf ""
xml "$T/missing.xml" 198.51.100.11
before=$(snapshot)
run_hook "$T/missing.xml"
check "migrate begin fails for a VNC on 198.51.100.11, missing here, with [graphics] listen unset (rc=$rc)" [ "$rc" != 0 ]
check "the message names the domain, the address and the key to set ($(head -c 400 "$T/err"))" bash -c "
        grep -qF 'domain $NAME' '$T/err' && grep -qF 198.51.100.11 '$T/err' &&
        grep -qF '[graphics] listen' '$T/err' && grep -qF '$T/migkit.conf' '$T/err'"
check "nothing is printed on stdout (libvirt keeps its XML)" [ ! -s "$T/out" ]
check "nothing was created: no directory, no bridge, no journal, no state" [ "$(snapshot)" = "$before" ]

xml "$T/missing6.xml" 2001:db8::99
run_hook "$T/missing6.xml"
check "an IPv6 address missing here is refused too (rc=$rc)" bash -c "[ $rc != 0 ] && grep -qF 2001:db8::99 '$T/err'"
check "nothing was created by the IPv6 refusal" [ "$(snapshot)" = "$before" ]

# --- refused: [graphics] listen names an address this host lacks as well --
write_conf 203.0.113.99
run_hook "$T/missing.xml"
check "a [graphics] listen this host lacks is refused, naming it (rc=$rc: $(head -c 300 "$T/err"))" bash -c "
        [ $rc != 0 ] && grep -qF 203.0.113.99 '$T/err' && grep -qF 'domain $NAME' '$T/err'"
check "nothing was created by that refusal" [ "$(snapshot)" = "$before" ]
check "nothing is printed on stdout by that refusal" [ ! -s "$T/out" ]

# --- rewritten ---------------------------------------------------------
write_conf 198.51.100.22
run_hook "$T/missing.xml"
check "with [graphics] listen = 198.51.100.22 migrate begin succeeds (rc=$rc: $(head -c 300 "$T/err"))" [ "$rc" = 0 ]
check "the VNC's listen attribute and <listen> address are rewritten" bash -c "
        grep -qF \"<graphics type='vnc' port='-1' autoport='yes' listen='198.51.100.22'>\" '$T/out' &&
        grep -qF \"<listen type='address' address='198.51.100.22'/>\" '$T/out'"
check "the loopback SPICE is left alone" contains "$T/out" "<graphics type='spice' autoport='yes' listen='127.0.0.1'/>"
check "only the graphics addresses and the config drive changed" bash -c "
        diff <(grep -v -e disk.config -e 198.51.100 '$T/missing.xml') <(grep -v -e 198.51.100 '$T/out') >/dev/null"
reset

# --- left alone -----------------------------------------------------------
write_conf ""
for a in 198.51.100.22 2001:db8::22 0.0.0.0 :: 127.0.0.1; do
        xml "$T/kept.xml" "$a"
        run_hook "$T/kept.xml"
        check "a VNC on $a is accepted with [graphics] listen unset (rc=$rc: $(head -c 300 "$T/err"))" [ "$rc" = 0 ]
        check "and its address is kept" bash -c "grep -qF \"listen='$a'\" '$T/out' && grep -qF \"address='$a'\" '$T/out'"
        reset
done

# --- a dry run says what it would do ------------------------------------------
write_conf 198.51.100.22
"$hook" --dry-run migrate begin < "$T/missing.xml" > "$T/dry" 2>&1
check "--dry-run reports the rewrite" grep -qF 'would set the graphics listen address 198.51.100.11 (missing on this host) to 198.51.100.22' "$T/dry"
check "--dry-run creates nothing" [ ! -e "$I/$UUID" ]

summary
