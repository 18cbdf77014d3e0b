#!/bin/bash
# Hostile and broken input at the hook, with the real migkit-hook
# binary as libvirt calls it, in private network and mount namespaces: each
# case must fail with one clear line that names the object and says what to
# do, exit 1 (0 for reconnect), and leave the instances path, the state
# directory and the host's links exactly as they were. What test-hook.sh
# already covers (bridge names, UUID ../../etc, DTD/entities, escaping
# paths, max-xml-size) is not repeated here; tests/unit/test-domxml.c and
# test-config.c cover the same rules at the library level.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

in_namespaces "hostile-input hook tests" -n -m -- "$@"

build=$(realpath "${MIGKIT_BUILD:-build}")
hook=$build/migkit-hook
T=$(mktemp -d /tmp/migkit-test-hostile.XXXXXX)
trap 'umount -l "$T/state" 2>/dev/null; rm -rf "$T"' EXIT
I=$T/instances S=$T/state
mkdir -p "$I" "$S"
UUID=4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182
NAME=instance-0000002a

write_conf() { # extra INI text, then the mode of the file (default 0644)
        cat > "$T/migkit.conf" <<EOC
[paths]
instances = $I
state = $S
run = $T/run
[bridges]
mtu = 1400
$1
EOC
        chmod "${2:-0644}" "$T/migkit.conf"
}
write_conf ""
export MIGKIT_CONFIG=$T/migkit.conf

xml() { # OUT [UUID NAME BR1 BR2]
        sed -e "s|@INSTANCES@|$I|g" -e "s|@UUID@|${2:-$UUID}|g" -e "s|@NAME@|${3:-$NAME}|g" \
            -e "s|@BR1@|${4:-qbr1234abcd-ef}|g" -e "s|@BR2@|${5:-qbr5678abcd-ef}|g" tests/data/hook/nova.xml.in > "$1"
}
links() { ip -o link show | awk -F': ' '{print $2}' | sort | tr '\n' ' '; }
snapshot() { (cd "$T" && find instances state elsewhere -printf '%p %m %s %l\n' 2>/dev/null | sort; links); }

# refuse DESCRIPTION NEEDLE XMLFILE DOMAIN [OP SUBOP]: exit 1, one line on
# stderr with NEEDLE, nothing on stdout, nothing changed.
refuse() {
        local d=$1 needle=$2 in=$3 dom=$4 op=${5:-migrate} subop=${6:-begin} before after
        before=$(snapshot)
        "$hook" "$dom" "$op" "$subop" - < "$in" > "$T/out" 2> "$T/err"
        rc=$?
        after=$(snapshot)
        if [ "$rc" != 1 ]; then fail "$d: exit status $rc, expected 1 ($(head -c 300 "$T/err"))"; return; fi
        if ! grep -qF -- "$needle" "$T/err"; then fail "$d: stderr lacks '$needle': $(head -c 400 "$T/err")"; return; fi
        if [ "$(wc -l < "$T/err")" != 1 ]; then fail "$d: expected one line on stderr: $(head -c 600 "$T/err")"; return; fi
        if [ -s "$T/out" ]; then fail "$d: printed XML on refusal"; return; fi
        if [ "$before" != "$after" ]; then fail "$d: something changed: $(diff <(echo "$before") <(echo "$after") | head -5)"; return; fi
        pass "$d"
}
xml "$T/ok.xml"

# --- domain XML -------------------------------------------------------------
# 64 MiB on stdin: refused at [hook] max-xml-size without reading it all
# (the writer gets EPIPE), quickly and in little memory.
timer=
[ -x /usr/bin/time ] && timer="/usr/bin/time -f %M -o $T/rss"
start=$(date +%s%N)
before=$(snapshot)
( { cat "$T/ok.xml" | head -n -1; head -c $((64 << 20)) /dev/zero | tr '\0' ' '; echo '</domain>'; } 2>/dev/null ) |
        $timer "$hook" "$NAME" migrate begin - > "$T/out" 2> "$T/err"
rc=${PIPESTATUS[1]}
ms=$(( ($(date +%s%N) - start) / 1000000 ))
rss=$(tail -1 "$T/rss" 2>/dev/null)
err=$(grep -v '^Command exited' "$T/err")
if [ "$rc" = 1 ] && grep -qF "domain $NAME: domain XML on stdin is larger than [hook] max-xml-size (4194304 bytes); refusing it, nothing was changed" <<<"$err" &&
   [ "$(grep -c . <<<"$err")" = 1 ] && [ ! -s "$T/out" ] && [ "$before" = "$(snapshot)" ] && [ "$ms" -lt 10000 ]; then
        pass "a 64 MiB domain XML on stdin is refused at max-xml-size in ${ms} ms (peak RSS ${rss:-?} KiB), nothing changed"
else
        fail "64 MiB domain XML: rc=$rc ${ms} ms: $(head -c 300 <<<"$err")"
fi
if [ -n "$rss" ] && [ "$rss" -gt $((64 * 1024)) ] && [ -z "${ASAN_OPTIONS:-}" ] && ! grep -q asan <<<"$build"; then
        fail "the hook's peak RSS for a 64 MiB input is ${rss} KiB: it must stop reading at max-xml-size, not buffer it all"
fi

refuse "XML with two <uuid> is refused" "domain XML has 2 <uuid> elements under <domain>; expected exactly one; nothing was changed" \
        tests/data/xml/hostile/two-uuids.xml "$(sed -n 's|.*<name>\(.*\)</name>.*|\1|p' tests/data/xml/hostile/two-uuids.xml | head -1)"
refuse "XML with no <uuid> is refused" "domain XML has no <uuid> under <domain>" tests/data/xml/hostile/no-uuid.xml \
        "$(sed -n 's|.*<name>\(.*\)</name>.*|\1|p' tests/data/xml/hostile/no-uuid.xml | head -1)"
xml "$T/trav.xml" "../../etc" "$NAME"
refuse "a UUID of ../../etc is refused at prepare begin too" "invalid <uuid> '../../etc'" "$T/trav.xml" "$NAME" prepare begin
for br in "qbr/../x" "qbr a" "qbr0123456789abcdef" "qbré1"; do
        xml "$T/br.xml" "$UUID" "$NAME" "$br"
        refuse "prepare begin (any guest start) refuses the bridge name '$br' too" "bridge name '$br'" "$T/br.xml" "$NAME" prepare begin
done
printf '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>\n<domain><name>&c;</name><uuid>%s</uuid></domain>\n' "$UUID" > "$T/lol.xml"
refuse "billion laughs at prepare begin is refused before libxml2 sees it" "contains a <!DOCTYPE> (at offset 22)" "$T/lol.xml" "$NAME" prepare begin
# libxml2 compares an element's attributes pairwise: 50 000 of them cost
# seconds (4 MiB of them the whole deadline) before any check of ours ran.
python3 -c "import sys; sys.stdout.write('<domain><name>$NAME</name><uuid>$UUID</uuid><metadata><x ' +
        ' '.join('a%d=\"1\"' % i for i in range(50000)) + '/></metadata></domain>')" > "$T/attrs.xml"
# "At once" is relative to libxml2 itself on the same file, measured here
# (a loaded machine slows both alike): a quarter of its time at most.
start=$(date +%s%N)
xmllint --noout "$T/attrs.xml"
xml_ms=$(( ($(date +%s%N) - start) / 1000000 ))
start=$(date +%s%N)
refuse "an element with 50 000 attributes is refused before libxml2 parses it" \
        "domain XML has an element with more than 1000 attributes (at offset 97); refusing it; nothing was changed" "$T/attrs.xml" "$NAME"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "and at once (${ms} ms; xmllint on the same file: ${xml_ms} ms)" [ $((ms * 4)) -lt "$xml_ms" ]
python3 -c "import sys; sys.stdout.write('<domain><name>$NAME</name><uuid>$UUID</uuid><metadata>' + '<a>' * 100000 + '</a>' * 100000 + '</metadata></domain>')" > "$T/deep.xml"
refuse "100 000 nested elements are refused at libxml2's depth limit (no XML_PARSE_HUGE)" "Excessive depth in document: 256" "$T/deep.xml" "$NAME"
# An XInclude of a FIFO no one writes to: opening it would block, so a hook
# that processed XIncludes would not finish; the config drive to strip makes
# the hook print the XML, which must keep the xi:include as it came.
mkfifo "$T/xinc.fifo"
U9=99999999-1111-4222-8333-444444444444
printf '<domain xmlns:xi="http://www.w3.org/2001/XInclude"><name>%s</name><uuid>%s</uuid><xi:include href="file://%s" parse="text"/><devices><disk type="file" device="cdrom"><source file="%s/%s/disk.config"/><target dev="sda" bus="sata"/></disk></devices></domain>' \
        inst-xinc "$U9" "$T/xinc.fifo" "$I" "$U9" > "$T/xinc.xml"
timeout 10 "$hook" inst-xinc migrate begin - < "$T/xinc.xml" > "$T/out" 2> "$T/err"; rc=$?
check "an XInclude is not processed: the included file (a FIFO) is never opened, the hook finishes (rc=$rc) and prints the XML with the xi:include as it came and the cdrom stripped" \
        bash -c "[ $rc = 0 ] && grep -qF '<xi:include href=\"file://$T/xinc.fifo\" parse=\"text\"/>' '$T/out' && ! grep -q disk.config '$T/out' && [ ! -s '$T/err' ]"
rm -rf "${I:?}/$U9"
# A cdrom whose source is a URL: only a string. The hook fetches nothing
# (no network here anyway): a config drive not on this host, its <source>
# goes, the rest of the XML is printed as it came.
net='<domain><name>%s</name><uuid>%s</uuid><devices><disk type="file" device="cdrom">%s</disk></devices></domain>'
printf "$net" "$NAME" "$UUID" '<source file="http://203.0.113.9/disk.config"/>' > "$T/net.xml"
printf "$net" "$NAME" "$UUID" '' > "$T/net-want.xml"
start=$(date +%s%N)
timeout 5 "$hook" "$NAME" migrate begin - < "$T/net.xml" > "$T/out" 2> "$T/err"; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "a network URL as a cdrom source is only a string: exit 0 in $ms ms, the XML printed with only that <source> gone" \
        bash -c "[ $rc = 0 ] && cmp -s '$T/out' '$T/net-want.xml' && [ ! -s '$T/err' ]"
rm -rf "${S:?}/journal" "${S:?}/incoming"

# --- the configuration file ---------------------------------------------------
long=$(head -c 10000 /dev/zero | tr '\0' a)
printf '[paths]\ninstances = /%s\n' "$long" > "$T/migkit.conf"
refuse "a configuration line of 10 000 characters is refused with file and line" \
        "$T/migkit.conf:2: line is 10013 characters long; at most 199 allowed; check it with: migkit config check" "$T/ok.xml" "$NAME"
"$hook" "$NAME" reconnect begin - < "$T/ok.xml" > "$T/out" 2> "$T/err"
check "reconnect still exits 0 with that configuration" [ $? = 0 ]
printf 'instances = %s\n[bridges]\nmtu = 1400\n' "$I" > "$T/migkit.conf"
refuse "a key before any [section] is refused, saying where to put it" \
        "$T/migkit.conf:1: key 'instances' is outside any section; put it under its [section]" "$T/ok.xml" "$NAME"
printf '[paths]\ninstances = %s\nstate = %s\n[bridge]\nmtu = 1400\n' "$I" "$S" > "$T/migkit.conf"
refuse "a misspelt section is refused, naming it" "$T/migkit.conf:5: unknown section [bridge] (key 'mtu')" "$T/ok.xml" "$NAME"
printf '[paths]\ninstances = %s\nstate = %s\nrun = %s\n[bridges]\n' "$I" "$S" "$T/run" > "$T/migkit.conf"
"$hook" --dump-config > "$T/out" 2> "$T/err"
check "a file without a section (no [hook], no [fc], ...) is fine: those keys keep their defaults" \
        bash -c "[ $? = 0 ] && grep -qx 'deadline = 30000ms' '$T/out' && grep -qx 'allow = qbr\* brq\*' '$T/out'"
write_conf "mtu = 1500"
refuse "a duplicate key is refused, naming file, line and key" "$T/migkit.conf:7: duplicate key 'mtu' in section [bridges]; keep one" "$T/ok.xml" "$NAME"
write_conf "" 0666
refuse "a world-writable configuration file is refused (anyone could point the hook elsewhere)" \
        "$T/migkit.conf: refusing a world-writable configuration file; run chmod o-w $T/migkit.conf" "$T/ok.xml" "$NAME"
"$hook" --check-config > "$T/out" 2>&1
check "--check-config says the same" bash -c "[ $? = 1 ] && grep -qF 'refusing a world-writable configuration file' '$T/out'"
write_conf ""
rm -f "$T/fifo"; mkfifo -m 0644 "$T/fifo"
start=$(date +%s%N)
MIGKIT_CONFIG=$T/fifo timeout 10 "$hook" "$NAME" migrate begin - < "$T/ok.xml" > "$T/out" 2> "$T/err"; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "a configuration path that is a FIFO is refused at once, not waited on (rc=$rc, ${ms} ms: $(head -c 200 "$T/err"))" \
        bash -c "[ $rc = 1 ] && grep -qF '$T/fifo: not a regular file' '$T/err'"
MIGKIT_CONFIG=/dev/zero "$hook" "$NAME" migrate begin - < "$T/ok.xml" > "$T/out" 2> "$T/err"; rc=$?
check "a configuration path that is a device is refused" bash -c "[ $rc = 1 ] && grep -qF '/dev/zero: not a regular file' '$T/err'"

# --- the instances path --------------------------------------------------------
mkdir -p "$T/elsewhere"
mv "$I" "$T/real-instances" && ln -s "$T/elsewhere" "$I"
refuse "an instances path that is a symlink is not followed: nothing is created where it points" \
        "$I or $I/$UUID is a symlink; refusing to follow it (set [paths] instances to the directory itself" "$T/ok.xml" "$NAME"
rm "$I" && mv "$T/real-instances" "$I"
ln -s "$T/elsewhere" "$I/$UUID"
refuse "an instance directory that is a symlink is not followed" "is a symlink; refusing to follow it" "$T/ok.xml" "$NAME"
rm "$I/$UUID"

# --- a full state directory -------------------------------------------------------
# A tiny tmpfs over the state directory, filled up: the journal cannot be
# written, so the hook must refuse before it creates anything it could not
# record (a bridge or directory that no journal lists is debris that no
# rollback would ever remove).
if mount -t tmpfs -o size=64k,mode=0700 migkit-full "$S" 2>/dev/null; then
        mkdir -p "$S/journal" "$S/proof"
        dd if=/dev/zero of="$S/filler" bs=4k 2>/dev/null
        # (state/lock/<uuid>, an empty lock file, is migkit's own, not debris;
        # so is the size of state/ that it changes)
        before=$(snapshot | grep -v -e '^state/lock' -e '^state ')
        "$hook" "$NAME" migrate begin - < "$T/ok.xml" > "$T/out" 2> "$T/err"; rc=$?
        after=$(snapshot | grep -v -e '^state/lock' -e '^state ')
        if [ "$rc" = 1 ] && grep -qF -e "cannot write a journal in $S/journal: No space left on device; refusing before creating anything" \
                   -e "cannot record the incoming migration in $S/incoming ([limits] incoming): No space left on device; refusing before creating anything" "$T/err" &&
           [ ! -s "$T/out" ] &&
           [ "$before" = "$after" ]; then
                pass "a full state directory: migrate begin refuses before creating anything, naming $S and ENOSPC"
        else
                fail "a full state directory: rc=$rc, changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -4 | tr '\n' ' ') stderr: $(head -c 400 "$T/err")"
        fi
        check "and its message is one line" [ "$(wc -l < "$T/err")" = 1 ]
        "$hook" "$NAME" reconnect begin - < "$T/ok.xml" > /dev/null 2>&1
        check "reconnect still exits 0 on a full state directory" [ $? = 0 ]
        rm -f "$S/filler"
        "$hook" "$NAME" migrate begin - < "$T/ok.xml" > "$T/out" 2> "$T/err"; rc=$?
        check "once space is freed the same migrate begin succeeds and journals what it created" \
                bash -c "[ $rc = 0 ] && grep -qx 'bridge qbr1234abcd-ef' '$S/journal/$UUID' && [ -d '$I/$UUID' ]"
        umount -l "$S"
else
        skip "a full state directory: cannot mount a tmpfs in this mount namespace"
fi

summary
