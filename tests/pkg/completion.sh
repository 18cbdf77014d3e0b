# tests/pkg/run, part: bash completion (completion/migkit.bash). Sourced;
# uses $stage and $W. Runs the completion function in a clean bash, with a
# stub virsh on PATH for domain names.

mkdir -p "$W/bin"
cat > "$W/bin/virsh" <<'STUB'
#!/bin/sh
# stub: virsh -q list --all --name
case " $* " in *" list "*) printf 'instance-0000002a\ninstance-0000002b\nweb1\n' ;; esac
STUB
chmod +x "$W/bin/virsh"

# complete WORDS...: what the completion offers for the last word.
complete_words() {
	PATH=$W/bin:$PATH bash --norc --noprofile -c '
		. completion/migkit.bash
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_migkit migkit
		[ ${#COMPREPLY[@]} = 0 ] || printf "%s\n" "${COMPREPLY[@]}"' bash "$@" 2>&1 | sort -u
}

what="completion/migkit.bash is valid bash and registers _migkit for migkit"
if out=$(bash --norc -c '. completion/migkit.bash && complete -p migkit' 2>&1) && [ "$out" = "complete -F _migkit migkit" ]; then
	ok "$what"
else
	ko "$what ($out)"
fi

mk=$stage/usr/bin/migkit
verbs=$("$mk" --help 2>&1 | sed -n 's/^ *migkit \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p' | sort -u)
what="migkit <TAB> offers every command of migkit --help"
got=$(complete_words migkit '')
missing=$(comm -23 <(echo "$verbs") <(echo "$got") | tr '\n' ' ')
[ -z "$missing" ] && ok "$what ($(echo $verbs))" || ko "$what (missing: $missing)"

what="migkit COMMAND --<TAB> offers every option of migkit COMMAND --help"
missing=
for v in $verbs; do
	# the options of its Usage: line and those a line of --help describes
	# (it starts with one), not those its prose names (plot's names
	# migrate's --record)
	opts=$("$mk" "$v" --help 2>&1 | grep -E -- '^(Usage: | +(-[a-zA-Z0-9], )?--)' | grep -oE -- '--[a-z][a-z-]*[a-z]' | sort -u)
	got=$(complete_words migkit "$v" --)
	m=$(comm -23 <(echo "$opts") <(echo "$got") | tr '\n' ' ')
	[ -n "$m" ] && missing="$missing $v: $m;"
done
[ -z "$missing" ] && ok "$what" || ko "$what (missing:$missing)"

what="migkit migrate <TAB> offers the domains of virsh list --all --name"
got=$(complete_words migkit migrate inst | tr '\n' ' ')
[ "$got" = "instance-0000002a instance-0000002b " ] && ok "$what" || ko "$what (got: $got)"

what="migkit swap-volume DOMAIN <TAB> does not offer domains again; --config takes a file"
got=$(complete_words migkit swap-volume web1 inst | tr '\n' ' ')
touch "$W/migkit-test.conf"
f=$(complete_words migkit status --config "$W/migkit-te")
[ -z "$got" ] && [ "$f" = "$W/migkit-test.conf" ] && ok "$what" || ko "$what (got: '$got', file: '$f')"

what="migkit migrate without virsh on PATH completes quietly to nothing"
got=$(PATH=/nonexistent /bin/bash --norc --noprofile -c '
	. completion/migkit.bash; COMP_WORDS=(migkit migrate i); COMP_CWORD=2; _migkit migkit
	[ ${#COMPREPLY[@]} = 0 ] || printf "%s\n" "${COMPREPLY[@]}"' 2>&1)
[ -z "$got" ] && ok "$what" || ko "$what (got: $got)"
