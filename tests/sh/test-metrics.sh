#!/bin/bash
# [metrics] textfile as node_exporter reads it: the real migkit-cleanup
# quarantines one guest, refuses another (no proof) and a rollback (no
# journal), purges; after each run the textfile holds the counts and the
# gauges, and Prometheus's own parser (promtool check metrics, Debian's
# prometheus package) accepts it: names, HELP/TYPE, no lint problem.
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

# a guest without a proof: refused, pending
make_instance "$U2"
"$mc" -q source "$U2" > /dev/null 2>&1
check "source cleanups refused: 1" is 'migkit_source_cleanups_total{result="refused"}' 1
check "refusals by reason: source, no_proof: 1" is 'migkit_refusals_total{action="source",reason="no_proof"}' 1
check "pending items: 1 source" is 'migkit_pending_items{action="source"}' 1
"$mc" -q source "$U2" > /dev/null 2>&1
check "a second refusal counts again: 2" is 'migkit_refusals_total{action="source",reason="no_proof"}' 2
check "and is still one pending item" is 'migkit_pending_items{action="source"}' 1

# a rollback with no journal: nothing to undo, not counted as a rollback
"$mc" -q rollback "$U2" > /dev/null 2>&1
check "a rollback with nothing to do is no rollback" is 'migkit_rollbacks_total{result="done"}' 0

# the purge: its time
before=$(date +%s)
"$mc" -q purge > /dev/null 2>&1
check "last purge time: now" bash -c "[ \"\$(awk '\$1 == \"migkit_last_purge_timestamp_seconds\" { print \$2 }' '$P')\" -ge $before ]"
check "nothing old enough: the quarantine keeps its entry" is migkit_quarantine_entries 1

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

# Prometheus's own parser
if command -v promtool > /dev/null; then
        promtool check metrics < "$P" > "$T/lint" 2>&1
        check "promtool check metrics accepts the textfile (no lint problem)" bash -c "[ $? = 0 ] && [ ! -s '$T/lint' ]" || cat "$T/lint"
        # and it can fail: a counter without _total is a lint problem
        sed 's/migkit_rollbacks_total/migkit_rollbacks/g' "$P" | promtool check metrics > "$T/lint" 2>&1
        check "promtool flags a counter not named _total (the check can fail)" grep -q 'counter metrics should have "_total" suffix' "$T/lint"
else
        skip "promtool check metrics: promtool is missing (scripts/install-deps installs Debian's prometheus)"
fi
check "every family has HELP and TYPE" bash -c "
        for m in \$(grep -v '^#' '$P' | sed 's/[{ ].*//' | sort -u); do
                grep -q \"^# HELP \$m \" '$P' && grep -q \"^# TYPE \$m \" '$P' || { echo \"\$m\"; exit 1; }
        done"

summary
