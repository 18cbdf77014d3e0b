#!/bin/bash
# [metrics] textfile as node_exporter reads it: the real migkit-cleanup
# quarantines one guest, refuses another (no proof) and a rollback (no
# journal), purges; after each run the textfile holds the counts and the
# gauges, and Prometheus's own parser (promtool check metrics, Debian's
# prometheus package, through tests/prom-check) accepts it: names, HELP/TYPE,
# no lint problem, no series twice; and refuses each kind of broken file.
# libvirt is its test driver (test:///<file>), so no libvirtd is needed.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

build=$(realpath "${MIGKIT_BUILD:-build}")
mk=$build/migkit
mc=$build/migkit-cleanup
T=$(mktemp -d /tmp/migkit-test-metrics.XXXXXX)
trap 'rm -rf "$T"' EXIT
I=$T/instances S=$T/state P=$T/textfile/migkit.prom
mkdir -p "$I" "$T/textfile"
mkdir -m 0700 "$S"
U1=11111111-2222-4333-8444-555555555555
U2=0f0e0d0c-0b0a-4998-8776-655443322110
DATA=$(realpath tests/data/cleanup)
printf '[paths]\ninstances = %s\nstate = %s\n[cleanup]\nlibvirt-uri = test://%s/other-domain.xml\nsettle = 0s\nretention = 1d\n[metrics]\ntextfile = %s\n' \
        "$I" "$S" "$DATA" "$P" > "$T/migkit.conf"
export MIGKIT_CONFIG=$T/migkit.conf
make_instance() { mkdir -p "$I/$1"; head -c 300000 /dev/urandom > "$I/$1/disk"; }
# v SERIES: its value in the textfile
v() { awk -v s="$1" '$1 == s { print $2 }' "$P"; }
is() { [ "$(v "$1")" = "$2" ]; }

"$mk" config check > "$T/out" 2>&1
check "config check accepts [metrics] textfile" [ $? = 0 ]
printf '[metrics]\ntextfile = relative.prom\n' > "$T/bad.conf"
"$mk" config check "$T/bad.conf" > "$T/out" 2>&1
check "a relative textfile path is refused, naming the key (exit 1)" \
        bash -c "[ $? = 1 ] && grep -qF \"bad.conf:2: [metrics] textfile = 'relative.prom' is not valid; allowed: an absolute file path\" '$T/out'"

# a guest migrated away: proof, source cleanup done, directory quarantined
make_instance "$U1"
"$mc" -q proof "$U1" migrated --by watch --name inst-a --detail "stopped/migrated event" && "$mc" -q source "$U1" > /dev/null 2>&1
check "migkit-cleanup source quarantined inst-a" [ -d "$I/.migkit-quarantine" -a ! -e "$I/$U1" ]
check "the textfile exists after the first cleanup" [ -f "$P" ]
check "source cleanups done: 1" is 'migkit_source_cleanups_total{result="done"}' 1
check "quarantine entries: 1" is migkit_quarantine_entries 1
check "quarantine bytes: at least the 300000 of its disk" bash -c "[ \"\$(awk '\$1 == \"migkit_quarantine_bytes\" { print \$2 }' '$P')\" -ge 300000 ]"
check "the textfile is readable by node_exporter (0644)" [ "$(stat -c %a "$P")" = 644 ]
cp "$P" "$T/checked-source-done.prom"

# a guest without a proof: refused, pending
make_instance "$U2"
"$mc" -q source "$U2" > /dev/null 2>&1
check "source cleanups refused: 1" is 'migkit_source_cleanups_total{result="refused"}' 1
check "refusals by reason: source, no_proof: 1" is 'migkit_refusals_total{action="source",reason="no_proof"}' 1
check "pending items: 1 source" is 'migkit_pending_items{action="source"}' 1
"$mc" -q source "$U2" > /dev/null 2>&1
check "a second refusal counts again: 2" is 'migkit_refusals_total{action="source",reason="no_proof"}' 2
check "and is still one pending item" is 'migkit_pending_items{action="source"}' 1
cp "$P" "$T/checked-refused.prom"

# a rollback with no journal: nothing to undo, not counted as a rollback
"$mc" -q rollback "$U2" > /dev/null 2>&1
check "a rollback with nothing to do is no rollback" is 'migkit_rollbacks_total{result="done"}' 0

# the purge: its time
before=$(date +%s)
"$mc" -q purge > /dev/null 2>&1
check "last purge time: now" bash -c "[ \"\$(awk '\$1 == \"migkit_last_purge_timestamp_seconds\" { print \$2 }' '$P')\" -ge $before ]"
check "nothing old enough: the quarantine keeps its entry" is migkit_quarantine_entries 1
cp "$P" "$T/checked-purge.prom"

# a dry run counts nothing
cp "$P" "$T/before.prom"
"$mc" -q -n source "$U2" > /dev/null 2>&1
check "a dry run changes no count" bash -c "diff <(grep -v updated_timestamp '$T/before.prom') <(grep -v updated_timestamp '$P')"

# the counters survive the textfile (node_exporter's directory wiped)
rm -f "$P"
"$mc" -q status > /dev/null 2>&1
"$mc" -q source "$U2" > /dev/null 2>&1
check "the counts live in the state directory: refusals 3 after the textfile was removed" \
        is 'migkit_refusals_total{action="source",reason="no_proof"}' 3
check "no temporary file is left next to the textfile" bash -c "[ \"\$(ls '$T/textfile')\" = migkit.prom ]"

# Prometheus's own parser: tests/prom-check runs promtool check metrics
# (the text format parser and its lint) and finds what promtool lets
# through (a series written twice, a family without TYPE). The textfile
# is checked after each kind of run above and once more here.
pc() { tests/prom-check "$1" > "$T/lint" 2>&1; rc=$?; }
if command -v promtool > /dev/null; then
        for f in "$T"/checked-*.prom "$P"; do
                pc "$f"
                check "prom-check accepts the textfile ${f##*/} (parsed, no lint problem, no series twice)" [ $rc = 0 ]
                [ $rc = 0 ] || sed 's/^/  /' "$T/lint"
        done
        # and it can fail, naming what is wrong: each of these is one edit of
        # the file migkit wrote
        bad() { # NAME SED-EXPRESSION TEXT-OF-THE-COMPLAINT
                sed "$2" "$P" > "$T/$1.prom"
                pc "$T/$1.prom"
                if [ $rc = 1 ] && grep -qF -- "$3" "$T/lint"; then
                        pass "prom-check refuses $1 (exit 1, saying: $3)"
                else
                        fail "prom-check refuses $1 (exit 1, saying: $3)"
                        sed "s/^/  (exit $rc) /" "$T/lint"
                fi
        }
        bad counter-without-total 's/migkit_rollbacks_total/migkit_rollbacks/g' 'migkit_rollbacks counter metrics should have "_total" suffix'
        bad gauge-named-total 's/migkit_quarantine_entries/migkit_quarantine_entries_total/g' 'non-counter metrics should not have "_total" suffix'
        bad malformed-line 's/^migkit_pending_items{action="source"}/migkit_pending_items{action="source"/' 'text format parsing error in line'
        bad series-twice 's/^migkit_pending_items{action="rollback"}/migkit_pending_items{action="source"}/' 'series migkit_pending_items{action="source"} written twice'
        bad unit-not-base 's/migkit_quarantine_bytes/migkit_quarantine_kilobytes/g' 'use base unit "bytes" instead of "kilobytes"'
        bad no-help '/^# HELP migkit_quarantine_entries /d' 'migkit_quarantine_entries no help text'
        bad no-type '/^# TYPE migkit_quarantine_entries /d' 'family migkit_quarantine_entries has no TYPE line'
else
        skip "prom-check: promtool is missing (scripts/install-deps installs Debian's prometheus)"
fi
check "every family has HELP and TYPE" bash -c "
        for m in \$(grep -v '^#' '$P' | sed 's/[{ ].*//' | sort -u); do
                grep -q \"^# HELP \$m \" '$P' && grep -q \"^# TYPE \$m \" '$P' || { echo \"\$m\"; exit 1; }
        done"

summary
