# tests/pkg/run, part: man pages. Sourced; uses $stage (make install root)
# and $W. Every page lints clean; every installed binary has its page; every
# long option a binary's --help (and each migkit command's --help) lists is
# in its page; migkit.conf(5) names every key with the default the code has.

for p in man/*.[1-8]; do
	what="$p lints clean (mandoc -Tlint, man --warnings)"
	command -v mandoc >/dev/null 2>&1 || { sk "$what (mandoc missing; run scripts/install-deps)"; continue; }
	out=$(mandoc -Tlint -Wwarning "$p" 2>&1; LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$p" 2>&1 >/dev/null)
	[ -z "$out" ] && ok "$what" || ko "$what ($(echo "$out" | head -5 | tr '\n' ';'))"
done

# The page of a binary: migkit(1), the others in section 8.
page_of() { case $1 in migkit) echo man/migkit.1 ;; *) echo "man/$1.8" ;; esac; }
# A page's text with roff escapes of '-' undone.
page_text() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$1"; }
long_opts() { grep -oE -- '--[a-z][a-z-]*[a-z]' | sort -u; }

for b in "$stage"/usr/bin/* "$stage"/usr/sbin/* "$stage"/usr/libexec/migkit/*; do
	name=${b##*/}
	page=$(page_of "$name")
	what="$name has a man page ($page) that lists every option of its --help"
	[ -f "$page" ] || { ko "$what (no $page)"; continue; }
	helps=$("$b" --help 2>&1)
	if [ "$name" = migkit ]; then
		# and every command's own --help
		for verb in $(echo "$helps" | sed -n 's/^ *migkit \([a-z][a-z-]*\) .*/\1/p; s/^ *migkit \([a-z][a-z-]*\)$/\1/p' | sort -u); do
			helps="$helps
$("$b" "$verb" --help 2>&1)"
			page_text "$page" | grep -qE "^\.B[RI]? $verb( |$)" || ko "migkit(1) describes the command $verb (no '.B $verb' in $page)"
		done
	fi
	missing=
	for o in $(echo "$helps" | long_opts); do
		page_text "$page" | grep -qe "$o\b" || missing="$missing $o"
	done
	[ -z "$missing" ] && ok "$what" || ko "$what (not in $page:$missing)"
done

# migkit.conf(5): every [section] and key of `migkit-hook --dump-config`, and
# its documented default, which must load to the code's own default.
hook=$stage/usr/libexec/migkit/migkit-hook
printf '[hook]\n' > "$W/defaults.conf"
what="migkit.conf(5) documents every section and key"
if MIGKIT_CONFIG=$W/defaults.conf "$hook" --dump-config > "$W/dump" 2>&1; then
	missing=
	sect=
	: > "$W/mandefaults.conf"
	while IFS= read -r line; do
		case $line in
		'') continue ;;
		'['*) sect=$line
		      page_text man/migkit.conf.5 | grep -qxF ".SH $sect" || missing="$missing $sect"
		      echo "$sect" >> "$W/mandefaults.conf"
		      continue ;;
		esac
		key=${line%% = *}
		# the key's entry: from ".TP" ".B key" to the next .TP or .SH, in its section
		entry=$(page_text man/migkit.conf.5 | awk -v s=".SH $sect" -v k=".B $key" '
			$0 == s {ins=1; next} /^\.SH / {ins=0; ine=0}
			ins && $0 == k && prev == ".TP" {ine=1; next} ins && ine && /^\.(TP|SH)/ {ine=0}
			ine {print} {prev=$0}')
		[ -n "$entry" ] || { missing="$missing $sect$key"; continue; }
		# "Default:" then the value on the next line (.B/.I/.BR/.IR value[.])
		def=$(echo "$entry" | awk 'f {print; exit} /^Default:$/ {f=1}' |
		      sed -E -e 's/^\.(B|I|BR|IR) //' -e 's/^"(.*)"( \.)?$/\1/' -e 's/ \.$//' -e 's/\.$//')
		echo "$key = $def" >> "$W/mandefaults.conf"
	done < "$W/dump"
	[ -z "$missing" ] && ok "$what" || ko "$what (missing:$missing)"
	what="migkit.conf(5)'s defaults are the code's (a file of them loads to --dump-config's defaults)"
	if MIGKIT_CONFIG=$W/mandefaults.conf "$hook" --dump-config > "$W/dump2" 2>"$W/dump2.err" &&
	   d=$(diff "$W/dump" "$W/dump2"); then
		ok "$what"
	else
		ko "$what ($(cat "$W/dump2.err") $(echo "${d:-}" | grep '^[<>]' | tr '\n' ' '))"
	fi
else
	ko "$what (migkit-hook --dump-config failed: $(head -2 "$W/dump"))"
fi
