#!/bin/bash
# [limits] incoming: the real migkit-hook refuses `migrate begin` past the
# limit, before creating anything, and counts only the incoming migrations
# still in flight (records against fake libvirt status files), in a private
# network namespace against temporary roots.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

in_namespaces "hook limit tests" -n -- "$@"

build=$(realpath "${MIGKIT_BUILD:-build}")
hook=$build/migkit-hook
T=$(mktemp -d /tmp/migkit-test-hook-limit.XXXXXX)
trap 'rm -rf "$T"' EXIT
I=$T/instances S=$T/state R=$T/run
mkdir -p "$I" "$R/libvirt/qemu"

write_conf() { # LIMIT [extra INI text]
        cat > "$T/migkit.conf" <<EOC
[paths]
instances = $I
state = $S
run = $R
[cleanup]
launcher = direct
program = /bin/true
[limits]
incoming = $1
${2:-}
EOC
}
write_conf 1
export MIGKIT_CONFIG=$T/migkit.conf

uuid() { printf 'aaaaaaaa-0000-4000-8000-%012d' "$1"; }
# xml N: domain inst-N with uuid(N) and its own two bridges, in $T/N.xml
xml() {
        sed -e "s|@INSTANCES@|$I|g" -e "s|@UUID@|$(uuid "$1")|g" -e "s|@NAME@|inst-$1|g" \
            -e "s|@BR1@|qbrlim$(printf %05d "$1")-a|g" -e "s|@BR2@|qbrlim$(printf %05d "$1")-b|g" \
            tests/data/hook/nova.xml.in > "$T/$1.xml"
}
begin() { # N: migrate begin of inst-N; $rc, $T/err
        xml "$1"
        "$hook" "inst-$1" migrate begin - < "$T/$1.xml" > "$T/out" 2> "$T/err"
        rc=$?
}
release() { "$hook" "inst-$1" release end - < "$T/$1.xml" > /dev/null 2>&1; }
record() { # N AGE_SECONDS [BOOT]: a record written by hand
        mkdir -p "$S/incoming"
        printf 'migkit-incoming 1\nuuid %s\nname inst-%s\nstarted %s\nboot %s\n' "$(uuid "$1")" "$1" \
                "$(($(date +%s) - $2))" "${3:-$(cat /proc/sys/kernel/random/boot_id)}" > "$S/incoming/$(uuid "$1")"
}
status_file() { # N JOB: libvirt's status file of inst-N, JOB = 'migration in' or none
        printf "<domstatus state='paused' reason='migration' pid='1'>\n  <job type='none' async='%s' phase='prepare'/>\n  <domain type='qemu'>\n    <name>inst-%s</name>\n    <uuid>%s</uuid>\n  </domain>\n</domstatus>\n" \
                "$2" "$1" "$(uuid "$1")" > "$R/libvirt/qemu/inst-$1.xml"
}
nothing_of() { # N: no instance directory, journal or bridge of inst-N
        [ ! -e "$I/$(uuid "$1")" ] && [ ! -e "$S/journal/$(uuid "$1")" ] &&
                ! ip link show "qbrlim$(printf %05d "$1")-a" > /dev/null 2>&1
}

# --- limit 1 ------------------------------------------------------------------
begin 1
check "limit 1: the first migrate begin is admitted (rc=$rc: $(head -c 200 "$T/err"))" [ "$rc" = 0 ]
check "  and recorded as in flight in <state>/incoming/<uuid>" grep -qx "name inst-1" "$S/incoming/$(uuid 1)"
begin 2
check "limit 1: a second one is refused (rc=$rc)" [ "$rc" = 1 ]
check "  with one line naming the domain, the limit and the one in flight: $(head -c 300 "$T/err")" \
        bash -c "[ \$(wc -l < '$T/err') = 1 ] && grep -q \"domain inst-2: refusing the incoming migration: this host already has 1 incoming migration in flight, its limit (\[limits\] incoming = 1 in $T/migkit.conf): inst-1 (since [0-9:]*, [0-9]* s); retry when one has finished\" '$T/err'"
check "  and nothing of it was created (no directory, journal, bridge or record)" \
        bash -c "$(declare -f nothing_of uuid); I='$I' S='$S' nothing_of 2 && [ ! -e '$S/incoming/$(uuid 2)' ]"
begin 1
check "a new attempt of the domain in flight is admitted (it replaces its own record) (rc=$rc)" [ "$rc" = 0 ]
release 1
check "release end drops the record (the incoming migration failed)" [ ! -e "$S/incoming/$(uuid 1)" ]
begin 2
check "  and then the other one is admitted (rc=$rc: $(head -c 200 "$T/err"))" [ "$rc" = 0 ]
release 2

# --- what counts as in flight ---------------------------------------------------
rm -rf "$S/incoming"
record 3 600
status_file 3 'migration in'
begin 4
check "a record whose status file shows the 'migration in' job counts (rc=$rc)" [ "$rc" = 1 ]
status_file 3 none
begin 4
check "one whose status file shows no incoming job (it arrived) does not, and is removed (rc=$rc)" \
        bash -c "[ $rc = 0 ] && [ ! -e '$S/incoming/$(uuid 3)' ]"
release 4; rm -f "$R/libvirt/qemu/inst-3.xml"

record 5 10
begin 6
check "a fresh record without a status file (libvirt has not started QEMU yet) counts (rc=$rc)" [ "$rc" = 1 ]
record 5 200
begin 6
check "one without a status file after 2 x [hook] deadline + 60 s (another hook refused) does not (rc=$rc)" \
        bash -c "[ $rc = 0 ] && [ ! -e '$S/incoming/$(uuid 5)' ]"
release 6

record 7 30 00000000-0000-4000-8000-000000000000
status_file 7 'migration in'
begin 8
check "a record of an earlier boot does not count (rc=$rc)" bash -c "[ $rc = 0 ] && [ ! -e '$S/incoming/$(uuid 7)' ]"
release 8

write_conf 1 "stale = 1min"
record 9 120
status_file 9 'migration in'
begin 10
check "a record older than [limits] stale does not count, whatever the status file says (rc=$rc)" \
        bash -c "[ $rc = 0 ] && [ ! -e '$S/incoming/$(uuid 9)' ]"
release 10
printf 'garbage\n' > "$S/incoming/$(uuid 11)"
begin 12
check "a malformed record does not count and is removed (rc=$rc)" bash -c "[ $rc = 0 ] && [ ! -e '$S/incoming/$(uuid 11)' ]"
release 12

# --- dry run, unlimited --------------------------------------------------------
write_conf 1
begin 13
before=$(cd "$T" && find state -printf '%p %s\n' | sort)
xml 14
"$hook" --dry-run migrate < "$T/14.xml" > "$T/out" 2> "$T/err"; rc=$?
after=$(cd "$T" && find state -printf '%p %s\n' | sort)
check "--dry-run migrate past the limit fails with the same message and writes nothing (rc=$rc)" \
        bash -c "[ $rc = 1 ] && grep -q 'domain inst-14: refusing the incoming migration' '$T/err' && [ '$before' = '$after' ]"
write_conf 0
begin 14
check "incoming = 0: unlimited (rc=$rc), and no record is written" \
        bash -c "[ $rc = 0 ] && [ ! -e '$S/incoming/$(uuid 14)' ]"
release 13; release 14

# --- concurrency: count + record are atomic -----------------------------------
write_conf 3
rm -rf "$S/incoming"
for k in $(seq 20 39); do xml "$k"; done
for k in $(seq 20 39); do
        ("$hook" "inst-$k" migrate begin - < "$T/$k.xml" > /dev/null 2> "$T/err.$k"; echo $? > "$T/rc.$k") &
done
wait
ok=0 refused=0 msg=0
for k in $(seq 20 39); do
        case $(cat "$T/rc.$k") in
        0) ok=$((ok + 1)) ;;
        1) refused=$((refused + 1)); grep -q "incoming = 3" "$T/err.$k" && msg=$((msg + 1)) ;;
        esac
done
check "20 concurrent migrate begins with incoming = 3: exactly 3 admitted, 17 refused with the message ($ok/$refused/$msg)" \
        [ "$ok/$refused/$msg" = "3/17/17" ]
check "  and exactly 3 records" [ "$(ls "$S/incoming" | wc -l)" = 3 ]

summary
