#!/bin/bash
# `migkit status` against a temporary instances path and state directory
# populated by the real migkit-cleanup (a quarantined guest, refused source
# cleanups, a proof) plus a journal of an incoming migration: the lines, the
# ages, the counts, the exit codes, and the same in --json. libvirt is its
# test driver (test:///<file>), so no libvirtd is needed.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

build=$(realpath "${MIGKIT_BUILD:-build}")
mk=$build/migkit
mc=$build/migkit-cleanup
T=$(mktemp -d /tmp/migkit-test-status.XXXXXX)
trap 'rm -rf "$T"' EXIT
I=$T/instances S=$T/state
mkdir -p "$I"
U=4a6b2c1e-9f3d-4b8a-a1c2-3d4e5f607182  # the domain tests/data/cleanup/defined.xml defines
U1=11111111-2222-4333-8444-555555555555
U2=0f0e0d0c-0b0a-4998-8776-655443322110
U4=44444444-5555-4666-8777-888888888888
DATA=$(realpath tests/data/cleanup)
write_conf() { # FILE URI [STATE]
        printf '[paths]\ninstances = %s\nstate = %s\n[cleanup]\nlibvirt-uri = %s\nsettle = 0s\nretention = 1d\n' \
                "$I" "${3:-$S}" "$2" > "$1"
}
write_conf "$T/migkit.conf" "test://$DATA/other-domain.xml"
write_conf "$T/defined.conf" "test://$DATA/defined.xml"
export MIGKIT_CONFIG=$T/migkit.conf

# run ARGS...: migkit's stdout, stderr, status in $T/out $T/err $rc
run() { "$mk" "$@" > "$T/out" 2> "$T/err"; rc=$?; }
line() { grep -qE -- "$1" "$T/out"; }
make_instance() { mkdir -p "$I/$1/sub"; echo log > "$I/$1/console.log"; echo x > "$I/$1/sub/disk.info"; }
# json PYTHON-EXPRESSION: true if it holds for d, the parsed output
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$T/out" 2> "$T/pyerr"; }

# --- the command line -------------------------------------------------------
run --help
check "--help lists the status command and the exit codes (exit 0)" bash -c "[ $rc = 0 ] && grep -q '^  status ' '$T/out' && grep -q 'Exit status' '$T/out'"
run --version
check "--version prints the version" bash -c "[ $rc = 0 ] && grep -qx 'migkit [0-9][0-9.]*' '$T/out'"
run
check "no command is a usage error (exit 2)" [ "$rc" = 2 ]
run frobnicate
check "an unknown command is a usage error naming it" bash -c "[ $rc = 2 ] && grep -qF \"unknown command 'frobnicate'\" '$T/err'"
run status --config
check "--config without a file is a usage error" [ "$rc" = 2 ]
run status --bogus
check "an unknown option is a usage error" [ "$rc" = 2 ]
run status extra
check "status takes no arguments (exit 2)" bash -c "[ $rc = 2 ] && grep -qF \"got 'extra'\" '$T/err'"
run status --help
check "status --help documents each kind of line and the exit codes" bash -c "
        [ $rc = 0 ] && grep -q '^  pending source|rollback|disconnect' '$T/out' && grep -q '^  quarantined UUID' '$T/out' && grep -q '3 something pending' '$T/out'"
run status --config "$T/nonexistent.conf"
check "a missing --config file is an error naming it (exit 1)" bash -c "[ $rc = 1 ] && grep -qF '$T/nonexistent.conf' '$T/err'"

# --- nothing yet ------------------------------------------------------------
run status
check "no state directory: migkit is not installed here (exit 4), not nothing pending" \
        bash -c "[ $rc = 4 ] && grep -qF 'migkit is not installed on this host' '$T/err' && ! grep -q 'nothing pending' '$T/out'"
mkdir -p -m 0700 "$S"
run status
check "an empty host: exit 0 and one line saying so" bash -c "[ $rc = 0 ] && [ \"\$(cat '$T/out')\" = 'nothing pending, no journals, no proofs, nothing quarantined' ]"
run status --json
check "an empty host in JSON: every list empty, no errors" json "d['pending'] == d['journals'] == d['proofs'] == d['quarantined'] == d['errors'] == [] and d['instances'] == '$I' and d['retention'] == 86400"

# --- populate it with the real migkit-cleanup -------------------------------
# inst-a migrated away: quarantined, then made to look 3h30min old
make_instance "$U1"
"$mc" -q proof "$U1" migrated --by watch --name inst-a --detail "stopped/migrated event" &&
        "$mc" -q source "$U1" > /dev/null 2>&1
check "migkit-cleanup quarantined inst-a" [ -d "$I/.migkit-quarantine" -a ! -e "$I/$U1" ]
q=$(cd "$I/.migkit-quarantine" && ls -d "$U1".* | grep -v '\.info$')
old=$(( ${q#"$U1".} - 12600 ))
mv "$I/.migkit-quarantine/$q" "$I/.migkit-quarantine/$U1.$old"
mv "$I/.migkit-quarantine/$q.info" "$I/.migkit-quarantine/$U1.$old.info"
# a guest with no proof: refused, pending; made to look 2h old
make_instance "$U2"
"$mc" -q source "$U2" > /dev/null 2>&1
check "migkit-cleanup refused the source cleanup without a proof (exit 3)" [ $? = 3 ]
sed -i "s/^since .*/since $(( $(date +%s) - 7300 ))/" "$S/pending/$U2.source"
# a proof, but libvirt still has the domain: refused, pending, the proof stays
make_instance "$U"
"$mc" -q proof "$U" migrated --by hook --detail "release end migrated"
"$mc" -q -c "$T/defined.conf" source "$U" > /dev/null 2>&1
check "migkit-cleanup refused while libvirt has the domain (exit 3)" [ $? = 3 ]
# an incoming migration in progress (the hook's journal)
mkdir -p "$S/journal"
printf 'migkit-journal 1\nuuid %s\nname inst-d\nstarted %s\ndir %s\nbridge qbr44444444-55\n' \
        "$U4" $(( $(date +%s) - 300 )) "$I/$U4" > "$S/journal/$U4"

run status
check "something pending: exit 3" [ "$rc" = 3 ]
check "the refusal without proof, its age (2h) and its reason" \
        line "^pending source $U2 - for 2h: no proof that the guest runs elsewhere \(nothing in $S/proof/$U2 "
check "the refusal while libvirt has the domain, named, with its reason" \
        line "^pending source $U instance-0000002a for [0-9]+s: libvirt \(test://$DATA/defined.xml\) still has domain instance-0000002a here, defined and running; it must be undefined first$"
check "the journal of the incoming migration with what it created and its age" \
        line "^journal $U4 inst-d started 5min ago: dir $I/$U4, bridge qbr44444444-55$"
check "the proof not acted on yet, by whom and its detail" \
        line "^proof $U - migrated by hook [0-9]+s ago: release end migrated$"
check "the quarantined directory: its domain, age 3h, purge in 20h, path and reason" \
        line "^quarantined $U1 inst-a 3h ago, purged in 20h: $I/.migkit-quarantine/$U1.$old \(source cleanup: the guest migrated away \(proof by watch at [0-9]+: stopped/migrated event\)\)$"
check "the counts last" bash -c "[ \"\$(tail -1 '$T/out')\" = '2 pending, 1 journal, 1 proof, 1 quarantined' ]"
check "the pending lines come first, then journals, proofs, quarantine" \
        bash -c "[ \"\$(cut -d' ' -f1 '$T/out' | uniq | tr '\n' ' ')\" = 'pending journal proof quarantined 2 ' ]"
"$mc" status > "$T/mc.out" 2>&1
# (ages in seconds may have ticked between the two runs)
check "the lines are migkit-cleanup status's, item for item" \
        bash -c "cmp -s <(head -n -1 '$T/out' | sed -E 's/ [0-9]+s( ago)?/ Ns\\1/') <(sed -E 's/ [0-9]+s( ago)?/ Ns\\1/' '$T/mc.out')"
cp "$T/out" "$T/text.out"

run status --json
check "--json: valid JSON, exit 3 as in text" bash -c "[ $rc = 3 ] && python3 -m json.tool '$T/out' > /dev/null"
check "--json: now, instances, state and retention" \
        json "abs(d['now'] - $(date +%s)) < 60 and d['instances'] == '$I' and d['state'] == '$S' and d['retention'] == 86400"
check "--json: the refusal without proof with its age in seconds and its reasons as a list" \
        json "[(p['action'], p['name'], 7300 <= p['age'] < 7360, p['reasons'][0].startswith('no proof that the guest')) for p in d['pending'] if p['uuid'] == '$U2'] == [('source', None, True, True)]"
check "--json: the refusal while libvirt has the domain, named" \
        json "[p['name'] for p in d['pending'] if p['uuid'] == '$U' and 'still has domain' in p['reasons'][0]] == ['instance-0000002a']"
check "--json: the journal with its dirs, bridges and age" \
        json "d['journals'] == [dict(uuid='$U4', name='inst-d', started=d['journals'][0]['started'], age=d['journals'][0]['age'], dirs=['$I/$U4'], bridges=['qbr44444444-55'], stripped=[], scsi=[], mpaths=[])] and 300 <= d['journals'][0]['age'] < 360"
check "--json: the proof" json "[(p['uuid'], p['kind'], p['by'], p['detail']) for p in d['proofs']] == [('$U', 'migrated', 'hook', 'release end migrated')]"
check "--json: the quarantined directory with age, time to purge, path, origin and reason" \
        json "len(d['quarantined']) == 1 and (lambda q: q['uuid'] == '$U1' and q['name'] == 'inst-a' and q['time'] == $old and 12600 <= q['age'] < 12660 and 73740 < q['purge_in'] <= 73800 and q['path'] == '$I/.migkit-quarantine/$U1.$old' and q['from'] == '$I/$U1' and q['reason'].startswith('source cleanup: the guest migrated away'))(d['quarantined'][0])"
check "--json: no errors" json "d['errors'] == []"

# names and reasons are arbitrary bytes: the JSON stays valid
"$mc" -q proof "$U4" incoming-failed --name $'evil"\\name\xff\xc3\xa9' --detail 'back\slash'
run status --json
check "--json escapes quotes and backslashes and replaces invalid UTF-8 in names" \
        json "[(p['name'], p['detail']) for p in d['proofs'] if p['uuid'] == '$U4'] == [('evil\"\\\\name\ufffd\u00e9', 'back\\slash')]"
"$mc" -q commit "$U4" > /dev/null 2>&1

# only quarantined (another state directory, the same instances path): exit 0
write_conf "$T/quiet.conf" "test://$DATA/other-domain.xml" "$T/state2"
mkdir -p -m 0700 "$T/state2"
run status --config "$T/quiet.conf"
check "--config is used; nothing pending, only quarantined: exit 0" bash -c "
        [ $rc = 0 ] && grep -q '^quarantined $U1 inst-a 3h ago' '$T/out' && [ \"\$(tail -1 '$T/out')\" = '0 pending, 0 journals, 0 proofs, 1 quarantined' ]"

# a state directory that cannot be read: exit 1, the rest is still listed
touch "$T/notadir"
write_conf "$T/broken.conf" "test://$DATA/other-domain.xml" "$T/notadir"
run status --config "$T/broken.conf"
check "an unreadable state directory: exit 1, a message naming it, the quarantine still listed" bash -c "
        [ $rc = 1 ] && grep -qF 'cannot read all of the state in $T/notadir' '$T/err' && grep -q '^quarantined $U1' '$T/out'"
run status --config "$T/broken.conf" --json
check "... and in JSON: still a complete document, the parts that failed named in errors" \
        json "len(d['quarantined']) == 1 and sorted(e['part'] for e in d['errors']) == ['journals', 'pending', 'proofs', 'swaps'] and d['errors'][0]['error'] == 'Not a directory'"
check "... exit 1" [ "$rc" = 1 ]
# --- a swap-volume that did not finish ---------------------------------------
S5=55555555-6666-4777-8888-999999999999
mkdir -p "$T/swapstate/swap"
printf 'migkit-swap 1\nuuid %s\nname inst-s\ndisk vdb\nfrom /dev/mapper/old\nto /dev/mapper/new\ntime %s\n' "$S5" $(( $(date +%s) - 600 )) > "$T/swapstate/swap/$S5.swap"
echo '<domain/>' > "$T/swapstate/swap/$S5.xml"
write_conf "$T/swap.conf" "test://$DATA/other-domain.xml" "$T/swapstate"
run status --config "$T/swap.conf"
check "an unfinished swap-volume: its line names the saved definition, exit 3 (something to do)" bash -c "[ $rc = 3 ] &&
        grep -q '^swap $S5 inst-s disk vdb /dev/mapper/old -> /dev/mapper/new 10min ago: its persistent definition is saved in $T/swapstate/swap/$S5.xml' '$T/out' &&
        grep -q 'quarantined, 1 unfinished swap-volume\$' '$T/out'"
run status --config "$T/swap.conf" --json
check "... and in JSON" json "[(w['uuid'], w['disk'], w['to'], w['saved'], 600 <= w['age'] < 660) for w in d['swaps']] == [('$S5', 'vdb', '/dev/mapper/new', '$T/swapstate/swap/$S5.xml', True)]"

summary
