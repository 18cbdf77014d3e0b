#!/bin/bash
# The operator command as a new user meets it: `migkit config check|dump`
# and the messages that point there, options a command does not use refused
# by name, one duration syntax for every option, `status` on a host without
# migkit, libvirt's own error lines kept off stderr, this host's libvirt down
# as an error (1) rather than a refusal (3), every exit code documented, and
# getopt's messages naming the whole command. No libvirtd: a socket that
# does not exist stands for a stopped one, and libvirt's test driver for a
# running one.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

build=$(realpath "${MIGKIT_BUILD:-build}")
mk=$build/migkit
T=$(mktemp -d /tmp/migkit-test-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/instances" "$T/state"
DOWN="qemu:///system?socket=$T/no-libvirtd.sock"
write_conf() { # FILE STATE URI
        printf '[paths]\ninstances = %s\nstate = %s\n[cleanup]\nlibvirt-uri = %s\n' "$T/instances" "$2" "$3" > "$1"
}
write_conf "$T/migkit.conf" "$T/state" "$DOWN"
export MIGKIT_CONFIG=$T/migkit.conf
run() { "$mk" "$@" > "$T/out" 2> "$T/err"; rc=$?; }
err_has() { grep -qF -- "$1" "$T/err"; }
out_has() { grep -qF -- "$1" "$T/out"; }

# --- migkit config check | dump -------------------------------------------
run config check
check "config check: the file is OK (exit 0)" bash -c "[ $rc = 0 ] && grep -qx '$T/migkit.conf: OK' '$T/out'"
run config dump
check "config dump: the effective configuration, the file's values and the defaults" \
        bash -c "[ $rc = 0 ] && grep -qx 'state = $T/state' '$T/out' && grep -q '^\[migrate\]' '$T/out' && grep -q '^downtime = ' '$T/out'"
cp "$T/out" "$T/dumped.conf"
run config check "$T/dumped.conf"
check "config check FILE: a dump reads back as valid" bash -c "[ $rc = 0 ] && grep -qx '$T/dumped.conf: OK' '$T/out'"
printf '[bridges]\nalow = qbr*\n' > "$T/bad.conf"
run config check "$T/bad.conf"
check "config check names file, line and key of a mistake (exit 1)" \
        bash -c "[ $rc = 1 ] && grep -qF \"bad.conf:2: unknown key 'alow' in section [bridges]\" '$T/err'"
run config check -c "$T/bad.conf"
check "config check -c FILE is the same" [ "$rc" = 1 ]
run config
check "config without check or dump is a usage error" bash -c "[ $rc = 2 ] && grep -qF 'config takes check or dump' '$T/err'"
run config frob
check "config frob: unknown, named" bash -c "[ $rc = 2 ] && grep -qF \"unknown config command 'frob'\" '$T/err'"
run status -c "$T/bad.conf"
check "a configuration error says: check it with: migkit config check" \
        bash -c "[ $rc = 1 ] && err_has() { grep -qF -- \"\$1\" '$T/err'; }; err_has 'check it with: migkit config check' && ! err_has 'migkit-hook --check-config'"
if grep -rn -- 'migkit-hook --check-config' lib/*.c helpers/*.c conf/migkit.conf > "$T/grep"; then
        fail "no message or comment points to migkit-hook --check-config any more: $(head -1 "$T/grep")"
else
        pass "no message or comment points to migkit-hook --check-config any more"
fi

# --- options a command does not use ----------------------------------------
for c in "check:--postcopy" "check:--bandwidth=5" "check:--tunnelled" "check:--max-downtime=1s" "check:--record=x" \
         "swap-volume:--postcopy" "swap-volume:--copy-storage=vda" "swap-volume:--tunnelled" \
         "swap-volume:--completion-timeout=5" "evacuate:--dest-xml=x" "migrate:--parallel=2"; do
        verb=${c%%:*} opt=${c#*:}
        args=(dom hostb)
        [ "$verb" = swap-volume ] && args=(dom vdb /new)
        [ "$verb" = evacuate ] && args=(hostb)
        run "$verb" "${args[@]}" "$opt"
        check "$verb refuses ${opt%%=*}, naming the option and the command (exit 2)" \
                bash -c "[ $rc = 2 ] && grep -qF -- '${opt%%=*} is an option of ' '$T/err' && grep -qF 'not of $verb' '$T/err'"
done
run check dom hostb --postcopy
check "the refusal says which commands take it" err_has "migkit check: error: --postcopy is an option of migrate and evacuate, not of check"
run swap-volume dom vdb /new --bandwidth 5 --json -q
check "swap-volume keeps the options it uses (--bandwidth, --json, -q)" bash -c "[ $rc != 2 ]"
run check dom hostb --copy-storage vdb --json
check "check keeps the options it uses (--copy-storage, --json)" bash -c "[ $rc != 2 ]"

# --- durations: one syntax, the bare number's documented unit ---------------
for o in "--max-downtime=500" "--max-downtime=2s" "--completion-timeout=90" "--completion-timeout=30s" \
         "--completion-timeout=5m" "--stall-timeout=1m" "--interval=500ms" "--completion-timeout=1h"; do
        run migrate dom hostb "$o"
        check "migrate $o is a duration (not a usage error)" bash -c "[ $rc != 2 ] && ! grep -q 'duration' '$T/err'"
done
for o in "--max-downtime=5x" "--max-downtime=61s" "--completion-timeout=25h" "--interval=0" "--stall-timeout=-1"; do
        run migrate dom hostb "$o"
        check "migrate $o is refused, with the units (exit 2)" bash -c "[ $rc = 2 ] && grep -qF 'units ms, s, m, h' '$T/err'"
done
run migrate dom hostb --max-downtime=5x
check "the refusal says a bare --max-downtime is milliseconds" err_has "a bare number is milliseconds"
run evacuate hostb --stall-timeout 2x
check "evacuate parses durations the same way" bash -c "[ $rc = 2 ] && grep -qF 'a bare number is seconds' '$T/err'"
run migrate --help
check "migrate --help explains TIME" out_has "TIME: a number with a unit, ms, s, m, h"

# --- status on a host without migkit ----------------------------------------
write_conf "$T/none.conf" "$T/no-state" "$DOWN"
run status -c "$T/none.conf"
check "status without a state directory: not installed (exit 4), not 'nothing pending'" \
        bash -c "[ $rc = 4 ] && grep -qF 'migkit is not installed on this host: no state directory $T/no-state' '$T/err' && ! grep -q 'nothing pending' '$T/out'"
run status -c "$T/none.conf" --json
check "status --json without a state directory: exit 4 too" [ "$rc" = 4 ]
run doctor -c "$T/none.conf"
check "doctor agrees: its state check fails saying migkit is not installed" \
        bash -c "grep -E '^FAIL +state' '$T/out' | grep -qF 'migkit is not installed on this host'"
run status
check "status with a state directory: nothing pending (exit 0)" bash -c "[ $rc = 0 ] && grep -q 'nothing pending' '$T/out'"

# --- libvirt down: migkit's message only, and an error (1), not a refusal ---
for c in "check dom hostb" "migrate dom hostb" "evacuate hostb" "swap-volume dom vdb /new" "doctor"; do
        run $c
        check "$c with libvirtd down: no raw libvirt error line on stderr" bash -c "! grep -q '^libvirt: ' '$T/err'"
done
run check dom hostb
check "check with this host's libvirt down: exit 1 (error), saying so" \
        bash -c "[ $rc = 1 ] && grep -qF \"cannot connect to this host's libvirt at $DOWN\" '$T/err' && grep -qF 'start libvirtd here' '$T/err'"
run migrate dom hostb
check "migrate with this host's libvirt down: exit 1 (error), not 3 (refused)" \
        bash -c "[ $rc = 1 ] && grep -qF \"cannot connect to this host's libvirt\" '$T/err'"
run evacuate hostb
check "evacuate with libvirt down: exit 1" [ "$rc" = 1 ]

# --- --version: migkit's and libvirt's ----------------------------------------
run --version
check "--version names migkit and the libvirt library it runs against" \
        bash -c "[ $rc = 0 ] && grep -qx 'migkit [0-9.]*' '$T/out' && grep -qx 'libvirt library [0-9]*\.[0-9]*\.[0-9]*' '$T/out'"
check "--version says the daemon is not reachable when it is not" out_has "libvirt daemon at $DOWN: not reachable"
write_conf "$T/up.conf" "$T/state" "test:///default"
MIGKIT_CONFIG=$T/up.conf run --version
check "--version names the daemon's libvirt when it answers" bash -c "grep -qx 'libvirt daemon [0-9.]* at test:///default' '$T/out'"

# --- exit codes: documented where the user looks, as lib/exitcode.h has them ---
run --help
help=$T/help
cp "$T/out" "$help"
codes=$(sed -n 's/^ *MIGKIT_EXIT_\(OK\|FAILED\|USAGE\|REFUSED\|PENDING\|NOT_INSTALLED\|ABORTED\) = \([0-9]*\),.*/\2/p' lib/exitcode.h | sort -un)
check "lib/exitcode.h has migkit's codes" [ "$(echo $codes)" = "0 1 2 3 4 130" ]
for c in $codes; do
        check "migkit --help documents exit status $c" grep -qE "^  $c +[a-z]" "$help"
        check "migkit(1) documents exit status $c" bash -c "sed -n '/^\.SH EXIT STATUS/,/^\.SH [^E]/p' man/migkit.1 | grep -qE '^\.IP $c\$|^\.B $c\$|^$c\$'"
done
check "--help: 4 is status's not installed" grep -qE '^  4 +status: migkit is not installed' "$help"
check "--help: 1 covers this host's libvirt unreachable" grep -qF "this host's libvirt unreachable" "$help"

# --- getopt's messages name the whole command ---------------------------------
run status --bogus
check "an unknown option: 'migkit status: unrecognized option'" err_has "migkit status: unrecognized option '--bogus'"
run check --config
check "a missing argument: 'migkit check: option ... requires an argument'" err_has "migkit check: option '--config' requires an argument"
run plot -x
check "a bad short option: 'migkit plot: invalid option'" err_has "migkit plot: invalid option -- 'x'"
run status extra
check "migkit's own usage errors carry the command too" err_has "migkit status: error: status takes no arguments"

# --- bash completion: each command's options, exactly what it takes ---------
comp() { # WORDS...: what completing the last word offers
        bash -c '. completion/migkit.bash; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _migkit; echo "${COMPREPLY[*]}"' comp "$@"
}
check "completion offers the config command" bash -c "[[ ' $(comp migkit co) ' == *' config '* ]]"
check "completion offers check and dump after config" [ "$(comp migkit config '')" = "check dump" ]
for verb in migrate check evacuate swap-volume status doctor plot config; do
        offered=$(comp migkit "$verb" --)
        bad=
        for o in $offered; do
                case $verb in
                swap-volume) a=(dom vdb /new) ;; evacuate|config) a=() ;; *) a=(dom hostb) ;;
                esac
                "$mk" "$verb" "$o" x "${a[@]}" > /dev/null 2> "$T/cerr"
                grep -qE "unrecognized option|is an option of|not of $verb" "$T/cerr" && bad="$bad $o"
        done
        check "completion of $verb offers only options it takes${bad:+ (not:$bad)}" [ -z "$bad" ]
        # and every long option its --help names
        missing=
        for o in $("$mk" "$verb" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+'); do
                [[ " $offered " == *" $o "* ]] || missing="$missing $o"
        done
        check "completion of $verb offers every option of its --help${missing:+ (missing:$missing)}" [ -z "$missing" ]
done
check "completion suggests durations with units" bash -c "[[ ' $(comp migkit migrate d h --completion-timeout '') ' == *' 5m '* ]]"

summary
