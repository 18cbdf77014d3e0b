#!/bin/bash
# 50 migrate begin hooks at once, for 50 different domains whose NICs share
# 5 new bridges, in a private network namespace: all succeed, each journal
# is whole and lists its own directory, each bridge is recorded by exactly
# one journal (the hook whose RTM_NEWLINK made it; the others get EEXIST,
# which is "already there", recorded by nobody), no error on any stderr,
# and each bridge exists once, as a bridge, up.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

in_namespaces "concurrent hook tests" -n -- "$@"

build=$(realpath "${MIGKIT_BUILD:-build}")
hook=$build/migkit-hook
T=$(mktemp -d /tmp/migkit-test-concurrency.XXXXXX)
trap 'rm -rf "$T"' EXIT
I=$T/instances S=$T/state
N=${MIGKIT_CONCURRENCY:-50} NB=5
mkdir -p "$I"
cat > "$T/migkit.conf" <<EOC
[paths]
instances = $I
state = $S
run = $T/run
[limits]
incoming = 0
EOC
export MIGKIT_CONFIG=$T/migkit.conf
uuid() { printf 'c0c0c0c0-0000-4000-8000-%012d' "$1"; }
br() { printf 'qbrconc%04d-0' "$1"; }

for k in $(seq 1 "$N"); do
        b=$(br $((k % NB)))
        sed -e "s|@INSTANCES@|$I|g" -e "s|@UUID@|$(uuid "$k")|g" -e "s|@NAME@|inst-conc$k|g" \
            -e "s|@BR1@|$b|g" -e "s|@BR2@|$b|g" tests/data/hook/nova.xml.in > "$T/d$k.xml"
done
before=$(ip -o link show | wc -l)

# all started together: each opens the same FIFO for reading, which blocks
# until a writer opens it, then exec's the hook
mkfifo "$T/go"
pids=()
for k in $(seq 1 "$N"); do
        ( : < "$T/go"; exec "$hook" "inst-conc$k" migrate begin - < "$T/d$k.xml" > "$T/d$k.out" 2> "$T/d$k.err" ) &
        pids+=($!)
done
sleep 0.5
t0=$(date +%s%N)
sleep 1 > "$T/go" & # holds the FIFO open for writing: every reader goes at once, EOF after 1 s
okc=0 bad_rc=""
for i in "${!pids[@]}"; do
        if wait "${pids[$i]}"; then okc=$((okc + 1)); else bad_rc+=" inst-conc$((i + 1))"; fi
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait
echo "$N hooks ran in $ms ms"

check "$N concurrent migrate begin hooks all exit 0 ($okc/$N in $ms ms)${bad_rc:+; failed:$bad_rc}" [ "$okc" = "$N" ]
errs=$(cat "$T"/d*.err)
check "no hook wrote anything on stderr (no duplicate-creation error)${errs:+: $(head -c 300 <<<"$errs")}" [ -z "$errs" ]
printed=0
for k in $(seq 1 "$N"); do grep -q "<uuid>$(uuid "$k")</uuid>" "$T/d$k.out" && printed=$((printed + 1)); done
check "each hook printed its own rewritten XML ($printed/$N)" [ "$printed" = "$N" ]

# journals: whole, their own uuid and directory, at most their own bridge
whole=0 badj=""
for k in $(seq 1 "$N"); do
        j=$S/journal/$(uuid "$k")
        if [ "$(head -1 "$j" 2>/dev/null)" = "migkit-journal 1" ] && grep -qx "uuid $(uuid "$k")" "$j" &&
           grep -qx "name inst-conc$k" "$j" && grep -qx "dir $I/$(uuid "$k")" "$j" && [ -d "$I/$(uuid "$k")" ] &&
           ! grep '^bridge ' "$j" | grep -qvx "bridge $(br $((k % NB)))" &&
           ! grep '^bridge-ifindex ' "$j" | grep -qvE "^bridge-ifindex [0-9]+ $(br $((k % NB)))\$" &&
           grep -qE "^dir-id [0-9]+ [0-9]+ [0-9]+\.[0-9]{9} $I/$(uuid "$k")\$" "$j" &&
           [ "$(grep -c '^dir ' "$j")" = 1 ] && ! grep -qvE '^(migkit-journal|uuid|name|started|dir|dir-id|bridge|bridge-ifindex|stripped) ' "$j"; then
                whole=$((whole + 1))
        else
                badj+=" $(uuid "$k")"
        fi
done
check "each of the $N journals is whole and lists its directory and nothing of another domain ($whole/$N)${badj:+; bad:$badj}" [ "$whole" = "$N" ]
check "no temporary journal file is left behind" bash -c "[ -z \"\$(find '$S/journal' -name '.*' -o -name '*.tmp*' | head -1)\" ]"

for b in $(seq 0 $((NB - 1))); do
        name=$(br "$b")
        owners=$(grep -lx "bridge $name" "$S"/journal/* 2>/dev/null | wc -l)
        check "bridge $name: recorded by exactly one journal ($owners)" [ "$owners" = 1 ]
        n=$(ip -o link show | grep -c ": $name[:@]")
        check "bridge $name: exists once, as a bridge, up ($n)" \
                bash -c "[ $n = 1 ] && ip -d -o link show '$name' | grep -q ' bridge ' && ip -o link show '$name' | grep -q '<.*UP.*>'"
done
after=$(ip -o link show | wc -l)
check "nothing but the $NB bridges appeared ($before links before, $after after)" [ "$after" = $((before + NB)) ]

summary
