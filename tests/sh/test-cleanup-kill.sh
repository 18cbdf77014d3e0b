#!/bin/bash
# migkit-cleanup under kill -9 and under concurrency, with the real binary:
# whatever moment it dies, the instance directory is either where it was,
# whole, or whole in the quarantine (purge only ever works inside the
# quarantine), nothing outside is touched, and a rerun finishes the job.
# Concurrent runs for the same guest: one does it, the others find nothing
# to do. libvirt is its test driver (test:///<file>), no daemon needed.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

in_namespaces "kill/concurrency tests" -m -- "$@"

build=$(realpath "${MIGKIT_BUILD:-build}")
mc=$build/migkit-cleanup
T=$(mktemp -d /tmp/migkit-test-cleanup-kill.XXXXXX)
trap 'rm -rf "$T"' EXIT
I=$T/instances S=$T/state O=$T/outside Q=$T/instances/.migkit-quarantine
mkdir -p "$I" "$O/dir"
U=4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182
cat > "$T/migkit.conf" <<EOC
[paths]
instances = $I
state = $S
[cleanup]
libvirt-uri = test://$(realpath tests/data/cleanup/other-domain.xml)
settle = 0s
EOC
export MIGKIT_CONFIG=$T/migkit.conf

# A template instance directory: 20 000 files in 200 subdirectories (a
# large one; MIGKIT_KILL_DIRS=N for N*100), plus symlinks to a file and
# a directory outside. Instances are hard-linked copies (cp -al: fast), so
# the template is one more thing outside that must survive every purge.
NDIRS=${MIGKIT_KILL_DIRS:-200}
NFILES=$((NDIRS * 100))
echo precious > "$O/precious"; echo keep > "$O/dir/keep"
mkdir -p "$T/template"
for d in $(seq 1 "$NDIRS"); do
        mkdir "$T/template/d$d"
        (cd "$T/template/d$d" && touch $(seq -f 'f%03g' 1 100))
done
ln -s "$O/precious" "$T/template/link-to-file"
ln -s "$O/dir" "$T/template/d1/link-to-dir"
outside_ok() {
        [ "$(cat "$O/precious")" = precious ] && [ "$(cat "$O/dir/keep")" = keep ] && [ "$(ls "$O" | wc -l)" = 2 ] &&
                [ "$(find "$T/template" -type f | wc -l)" = $NFILES ]
}
files_in() { find "$1" -type f | wc -l; }
qdirs() { find "$Q" -mindepth 1 -maxdepth 1 -type d 2>/dev/null; }
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
# kill_after MS CMD...: runs it, kills it with SIGKILL after MS ms; $killed=1 if it was still running
kill_after() {
        local ms=$1; shift
        ASAN_OPTIONS=$(no_leak_check) "$@" > /dev/null 2>&1 &
        local pid=$!
        sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
        kill -9 "$pid" 2>/dev/null
        { wait "$pid"; } 2>/dev/null
        [ $? = 137 ] && killed=1 || killed=0
}

# How long one full run takes here, to aim the kills inside it.
cp -al "$T/template" "$I/$U"
"$mc" proof "$U" migrated --by driver 2>/dev/null
t0=$(ms_now); "$mc" source "$U" 2>/dev/null; t1=$(ms_now)
"$mc" purge --retention 0 2>/dev/null; t2=$(ms_now)
"$mc" --version > /dev/null; t3=$(ms_now)
src_ms=$(( t1 - t0 + 1 )) purge_ms=$(( t2 - t1 + 1 )) start_ms=$(( t3 - t2 ))
# a delay in [start-up, whole run]: most kills land while it works
aim() { echo $(( $2 + RANDOM % ($1 - $2 > 0 ? $1 - $2 + 5 : 5) )); }
check "a full source run ($src_ms ms) and purge of $NFILES files ($purge_ms ms) leave nothing" bash -c "[ -z \"\$(ls -A '$Q')\" ] && [ ! -e '$I/$U' ]"

bad=0 mid_source=0 mid_purge=0 partial=0
for i in $(seq 1 20); do
        cp -al "$T/template" "$I/$U"
        "$mc" proof "$U" migrated --by driver 2>/dev/null
        kill_after "$(aim $src_ms $start_ms)" "$mc" source "$U"
        mid_source=$((mid_source + killed))
        # invariant: the original, whole, and nothing in quarantine; or the
        # original gone and exactly one whole copy in quarantine
        q=$(qdirs)
        if [ -d "$I/$U" ]; then
                [ "$(files_in "$I/$U")" = $NFILES ] && [ -z "$q" ] || { fail "iteration $i: after kill -9 during source: original has $(files_in "$I/$U") files, quarantine: $q"; bad=1; }
        else
                [ "$(echo "$q" | grep -c .)" = 1 ] && [ "$(files_in "$q")" = $NFILES ] || { fail "iteration $i: after kill -9 during source: original gone, quarantine: $q"; bad=1; }
        fi
        outside_ok || { fail "iteration $i: something outside changed after kill -9 during source"; bad=1; }
        "$mc" source "$U" 2>/dev/null || { fail "iteration $i: the rerun of source failed"; bad=1; }
        q=$(qdirs)
        [ ! -e "$I/$U" ] && [ "$(echo "$q" | grep -c .)" = 1 ] && [ "$(files_in "$q")" = $NFILES ] || { fail "iteration $i: after the rerun: quarantine: $q"; bad=1; }

        kill_after "$(aim $purge_ms $start_ms)" "$mc" purge --retention 0
        mid_purge=$((mid_purge + killed))
        q=$(qdirs)
        [ -n "$q" ] && [ "$(files_in "$q")" -lt $NFILES ] && partial=$((partial + 1))
        { [ ! -e "$I/$U" ] && outside_ok && [ "$(echo "$q" | grep -c .)" -le 1 ]; } || { fail "iteration $i: after kill -9 during purge: $(ls -A "$I") / $q"; bad=1; }
        "$mc" purge --retention 0 2>/dev/null || { fail "iteration $i: the rerun of purge failed"; bad=1; }
        [ -z "$(ls -A "$Q")" ] || { fail "iteration $i: the quarantine is not empty after the rerun: $(ls -A "$Q")"; bad=1; }
        [ $bad = 0 ] || break
done
check "20 kill -9 at random moments during source and purge of $NFILES files ($mid_source killed mid-source, $mid_purge mid-purge, $partial left half-purged): always original-or-quarantined, outside untouched, reruns finish" [ $bad = 0 ]
echo "info: start-up $start_ms ms, source $src_ms ms, purge $purge_ms ms; kills that hit a running process: $mid_source during source, $mid_purge during purge ($partial left a half-purged entry)"

# stop_tracer STRACE-PID VICTIM-PID: once the victim (killed) is dead, ends
# its strace, which would otherwise sit out the injected delay (and does not
# heed SIGTERM while it does)
stop_tracer() {
        wait_for 10 eval '! grep -qsE "^State:[[:space:]]+[RSDtT]" /proc/$2/status'
        kill -KILL "$1" 2>/dev/null
        wait "$1" 2>/dev/null
}

# The source run is a rename: random kills seldom land in it. These do,
# every time: strace holds the rename into the quarantine (before it, then
# after it) and the cleanup is killed while it waits there.
# held_at WHEN PRED: runs `source` with its first renameat2() held for 60 s
# (WHEN: delay_enter or delay_exit), kills it once PRED is true (it is in
# there), then checks the invariant and that a rerun finishes the job.
held_at() {
        local when=$1 pred=$2 tracer victim q
        cp -al "$T/template" "$I/$U"
        "$mc" proof "$U" migrated --by driver 2>/dev/null
        ASAN_OPTIONS=$(no_leak_check) strace -f -o /dev/null -e trace=renameat2 -e inject=renameat2:$when=60000000:when=1 "$mc" source "$U" > /dev/null 2>&1 &
        tracer=$!
        wait_for 30 eval "victim=\$(pgrep -P $tracer -x migkit-cleanup) && [ -n \"\$victim\" ] && $pred"
        victim=$(pgrep -P "$tracer" -x migkit-cleanup)
        if [ -z "$victim" ] || ! $pred || ! kill -9 "$victim"; then
                kill -9 "$tracer" $victim 2>/dev/null
                wait "$tracer" 2>/dev/null
                fail "kill -9 $when rename: source was not caught at its rename (pid ${victim:-none})"
                return 1
        fi
        mid_source=$((mid_source + 1))
        stop_tracer "$tracer" "$victim"
        q=$(qdirs)
        if [ -d "$I/$U" ]; then
                [ "$(files_in "$I/$U")" = $NFILES ] && [ -z "$q" ] || { fail "kill -9 $when rename: original has $(files_in "$I/$U") files, quarantine: $q"; return 1; }
        else
                [ "$(echo "$q" | grep -c .)" = 1 ] && [ "$(files_in "$q")" = $NFILES ] || { fail "kill -9 $when rename: original gone, quarantine: $q"; return 1; }
        fi
        outside_ok || { fail "kill -9 $when rename: something outside changed"; return 1; }
        "$mc" source "$U" 2>/dev/null || { fail "kill -9 $when rename: the rerun of source failed"; return 1; }
        q=$(qdirs)
        [ ! -e "$I/$U" ] && [ "$(echo "$q" | grep -c .)" = 1 ] && [ "$(files_in "$q")" = $NFILES ] || { fail "kill -9 $when rename: after the rerun: quarantine: $q"; return 1; }
        "$mc" purge --retention 0 2>/dev/null
        [ -z "$(ls -A "$Q")" ] || { fail "kill -9 $when rename: the quarantine is not empty after a purge: $(ls -A "$Q")"; return 1; }
}
info_files() { ls "$Q"/*.info >/dev/null 2>&1; }
mid_source=0
held_at delay_enter info_files
ra=$?
check "kill -9 of source just before its rename into the quarantine (the entry's name reserved): the original stays whole, a rerun moves it, the purge leaves nothing" [ $ra = 0 ]
held_at delay_exit "[ ! -e $I/$U ]"
rb=$?
check "kill -9 of source right after its rename: the copy in the quarantine is whole, a rerun finds nothing to do and succeeds" [ $rb = 0 ]
check "both kills hit source in the middle ($mid_source of 2)" [ $mid_source = 2 ]
# The random kills above may or may not land mid-purge on a busy machine;
# this one does, every time: strace holds the 500th unlinkat() for 10 s and
# the purge is killed while it waits there, half done.
cp -al "$T/template" "$I/$U"
"$mc" proof "$U" migrated --by driver 2>/dev/null
"$mc" source "$U" 2>/dev/null
ASAN_OPTIONS=$(no_leak_check) strace -f -o /dev/null -e trace=unlinkat -e inject=unlinkat:delay_exit=10000000:when=500 "$mc" purge --retention 0 > /dev/null 2>&1 &
tracer=$!
for _ in $(seq 100); do
        victim=$(pgrep -P "$tracer" -x migkit-cleanup)
        [ -n "$victim" ] && [ "$(files_in "$(qdirs)")" -le $((NFILES - 400)) ] && break
        sleep 0.1
done
kill -9 "$victim" 2>/dev/null
stop_tracer "$tracer" "$victim"
q=$(qdirs)
left=$(files_in "$q")
check "kill -9 in the middle of a purge ($left of $NFILES files left) leaves a half-purged entry only inside the quarantine" \
        bash -c "[ -n '$q' ] && [ $left -gt 0 ] && [ $left -lt $NFILES ] && [ ! -e '$I/$U' ]"
outside_ok
check "and nothing outside the quarantine changed" [ $? = 0 ]
"$mc" purge --retention 0 2>/dev/null
check "the rerun of purge finishes the half-purged entry" bash -c "[ -z \"\$(ls -A '$Q')\" ]"
check "nothing but the instances path, the state directory and the outside files exists in the test root" bash -c "
        [ \"\$(ls '$T' | sort | tr '\n' ' ')\" = 'instances migkit.conf outside state template ' ] && [ \"\$(ls -A '$I')\" = .migkit-quarantine ]"

# --- two cleanups of the same guest at once -------------------------------
# The lock decides who acts: A is held by strace just before its rename (it
# holds the guest's lock there) for 5 s; B, started then, must wait for the
# lock and find nothing to do. Without the lock B would move the directory
# while A waits, and A would find it gone.
cp -al "$T/template" "$I/$U"
"$mc" proof "$U" migrated --by driver 2>/dev/null
ASAN_OPTIONS=$(no_leak_check) strace -f -o /dev/null -e trace=renameat2 -e inject=renameat2:delay_enter=5000000:when=1 "$mc" source "$U" > /dev/null 2> "$T/a.err" &
pa=$!
wait_for 30 info_files
"$mc" source "$U" > /dev/null 2> "$T/b.err"; rb=$?
wait $pa; ra=$?
check "two cleanups at once, the first held inside its lock: the first moves the directory, the second waited and found nothing to do" \
        bash -c "[ $ra = 0 ] && [ $rb = 0 ] && grep -qF ': moved ' '$T/a.err' && grep -qF 'nothing to do' '$T/b.err' && [ \$(find '$Q' -mindepth 1 -maxdepth 1 -type d | wc -l) = 1 ]"
"$mc" purge --retention 0 2>/dev/null
ok=1
for round in $(seq 1 10); do
        cp -al "$T/template" "$I/$U"
        "$mc" proof "$U" migrated --by driver 2>/dev/null
        "$mc" source "$U" > /dev/null 2> "$T/a.err" & pa=$!
        "$mc" source "$U" > /dev/null 2> "$T/b.err" & pb=$!
        wait $pa; ra=$?; wait $pb; rb=$?
        moved=$(cat "$T/a.err" "$T/b.err" | grep -c ': moved ')
        nothing=$(cat "$T/a.err" "$T/b.err" | grep -c 'nothing to do')
        if [ $ra != 0 ] || [ $rb != 0 ] || [ "$moved" != 1 ] || [ "$nothing" != 1 ] || [ "$(qdirs | wc -l)" != "$round" ]; then
                fail "round $round: rc $ra/$rb, moved $moved, nothing $nothing: $(cat "$T/a.err" "$T/b.err")"
                ok=0; break
        fi
done
check "two cleanups of the same guest at once, 10 times: one moves it, the other reports nothing to do" [ $ok = 1 ]
"$mc" purge --retention 0 2>/dev/null

# --- many guests at once, each twice, plus two purges ---------------------
uuids=()
for k in $(seq 1 8); do
        u=$(printf 'cccccccc-0000-4000-8000-%012d' "$k")
        uuids+=("$u")
        cp -al "$T/template" "$I/$u"
        "$mc" proof "$u" migrated --by driver 2>/dev/null
done
pids=()
for u in "${uuids[@]}" "${uuids[@]}"; do
        "$mc" source "$u" > /dev/null 2>> "$T/many.err" & pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
check "8 guests cleaned up concurrently, each by two processes: all exit 0, each moved exactly once" bash -c "
        [ $fails = 0 ] && [ \$(grep -c ': moved ' '$T/many.err') = 8 ] && [ \$(find '$Q' -mindepth 1 -maxdepth 1 -type d | wc -l) = 8 ]"
"$mc" purge --retention 0 2> "$T/p1.err" & p1=$!
"$mc" purge --retention 0 2> "$T/p2.err" & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
check "two purges at once: both exit 0 and the quarantine ends empty" bash -c "[ $r1 = 0 ] && [ $r2 = 0 ] && [ -z \"\$(ls -A '$Q')\" ]"
check "outside files survived everything" outside_ok

summary
