#!/bin/bash
# The build is careful too:
#  - `make clean`, `make deb` and `make rpm` with PKGDIR=<any directory>
#    remove only what the build made there (its named files, and its work
#    directories deb/ and rpm/ by their stamp); a deb/ or rpm/ that is not
#    the build's stops the build instead of being deleted;
#  - the hardening the compiler offers is on: -fstack-clash-protection,
#    -fcf-protection (CET notes in the binaries on x86), _FORTIFY_SOURCE=3;
#  - the hook's libraries are listed in the order that loads it fastest.
set -u
cd "$(dirname "$0")/../.."
. tests/sh/lib.sh

build=${MIGKIT_BUILD:-build}
T=$(mktemp -d /tmp/migkit-test-build.XXXXXX)
trap 'rm -rf "$T"' EXIT
P=$T/pkg
mkdir -p "$P/deb" "$P/rpm"
echo mine > "$P/keep"
echo mine > "$P/deb/keep"
echo mine > "$P/rpm/keep"
mk() { make --no-print-directory "$@" > "$T/out" 2>&1; }

mk clean-pkg PKGDIR="$P"
check "make clean with PKGDIR=<absolute dir>: what the build did not make there survives" \
        bash -c "[ -f '$P/keep' ] && [ -f '$P/deb/keep' ] && [ -f '$P/rpm/keep' ]"
check "clean's part for PKGDIR is clean-pkg" bash -c "make -pn clean PKGDIR='$P' 2>/dev/null | grep -q '^clean: .*clean-pkg'"
if command -v dpkg-buildpackage > /dev/null && git rev-parse --git-dir > /dev/null 2>&1; then
        mk deb PKGDIR="$P"
        check "make deb stops at a deb/ that is not the build's, and leaves it" \
                bash -c "[ \$? != 0 ] || true; grep -qF '$P/deb exists and was not made by migkit' '$T/out' && [ -f '$P/deb/keep' ]"
        mk rpm PKGDIR="$P"
        check "make rpm stops at an rpm/ that is not the build's, and leaves it" \
                bash -c "grep -qF '$P/rpm exists and was not made by migkit' '$T/out' && [ -f '$P/rpm/keep' ]"
        check "make dist there wrote only its tarball" \
                bash -c "[ \"\$(cd '$P' && find . -type f | sort | tr '\n' ' ')\" = './deb/keep ./keep ./migkit-0.1.0.tar.gz ./rpm/keep ' ]"
        mkdir -p "$P/deb2" && mv "$P/deb/keep" "$P/deb2/" && rmdir "$P/deb"
        mk clean-pkg PKGDIR="$P"
        check "clean removes the tarball it made, and nothing else" \
                bash -c "[ ! -e '$P/migkit-0.1.0.tar.gz' ] && [ -f '$P/keep' ] && [ -f '$P/deb2/keep' ] && [ -f '$P/rpm/keep' ]"
else
        skip "make deb/rpm with a foreign deb/ and rpm/: no dpkg-buildpackage or not a git work tree"
fi

flags=$(cat "$build/.flags" 2>/dev/null)
cc_ok() { printf 'int main(void) { return 0; }\n' | ${CC:-cc} -Werror "$1" -x c -o /dev/null - > /dev/null 2>&1; }
for f in -fstack-clash-protection -fcf-protection; do
        if cc_ok "$f"; then
                check "the build uses $f" grep -qe " $f " <<< " $flags "
        else
                skip "the compiler has no $f"
        fi
done
if grep -qe '_FORTIFY_SOURCE' <<< "${CFLAGS:-} ${CPPFLAGS:-}"; then
        skip "_FORTIFY_SOURCE comes from CFLAGS/CPPFLAGS here"
else
        check "the build uses _FORTIFY_SOURCE=3 (gcc >= 12)" grep -qe '-D_FORTIFY_SOURCE=3' <<< "$flags"
fi
if [ "$(uname -m)" = x86_64 ] && cc_ok -fcf-protection && command -v readelf > /dev/null; then
        # the linked binary has it only when every object has (the C library's start files may not)
        check "the hook's objects carry the CET property (IBT, SHSTK)" bash -c "readelf -n '$build/hooks/qemu.o' | grep -q 'IBT, SHSTK'"
fi
# The hook's load order (Makefile, HOOK_CXXRT): where libxml2 is built with
# ICU, libstdc++ right after libc, so that the loader finds ICU's C++
# symbols early; libmnl only when a bridge is looked at (dlopen).
if ! command -v readelf > /dev/null; then
        skip "the hook's load order: no readelf"
else
        needed=$(readelf -d "$build/migkit-hook" | awk '/NEEDED/ { print $5 }')
        check "the hook does not load libmnl at start (lib/bridge.c loads it with dlopen)" \
                bash -c "! grep -qF libmnl <<< '$needed'"
        if pkg-config --libs --static libxml-2.0 2>/dev/null | grep -q -- -licu; then
                check "the hook loads libstdc++ right after libc (libxml2 uses ICU, a C++ library)" \
                        bash -c "grep -A1 -Fx '[libc.so.6]' <<< '$needed' | tail -n 1 | grep -qFx '[libstdc++.so.6]'"
        else
                check "the hook does not load libstdc++ (libxml2 is built without ICU)" \
                        bash -c "! grep -qF 'libstdc++' <<< '$needed'"
        fi
fi
# A fresh machine has neither the compiler nor the -dev packages before
# `make demo` or `make check` install them: reading the Makefile must not
# run either (no "Package inih was not found" above the install step). A
# pkg-config and a compiler that say so loudly stand in for the missing ones.
mkdir -p "$T/fake"
printf '#!/bin/sh\necho "$0 RAN $*" >&2\nexit 1\n' > "$T/fake/pkg-config"
cp "$T/fake/pkg-config" "$T/fake/cc"
chmod +x "$T/fake/pkg-config" "$T/fake/cc"
for t in demo check clean; do
        make --no-print-directory -n $t PKG_CONFIG="$T/fake/pkg-config" CC="$T/fake/cc" > "$T/out" 2>&1
        check "make -n $t runs no pkg-config and no compiler while reading the Makefile" bash -c "! grep -q 'RAN' '$T/out'"
done
make --no-print-directory -n all PKG_CONFIG="$T/fake/pkg-config" CC="$T/fake/cc" O="$T/b" > "$T/out" 2>&1
check "a rule that compiles still asks pkg-config (the check above can fail)" grep -qF "pkg-config RAN --cflags" "$T/out"
check "the README's build dependencies name every -dev package of scripts/install-deps" bash -c '
        line=$(sed -n "/^Build dependencies/,/^\$/p" README | tr "\n" " ")
        for p in $(sed -n "/^BUILD_PKGS=\"gcc/,/\"\$/p" scripts/install-deps | grep -o "lib[a-z0-9-]*-dev" | sort -u); do
                case " $line " in *" $p "*|*" $p)"*|*"($p "*) ;; *) echo "missing $p"; exit 1 ;; esac
        done'

summary
