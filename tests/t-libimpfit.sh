#!/bin/sh
# impcore - t-libimpfit: the engine as a library (issue 14, item 4).  make
# install DESTDIR=... installs libimpfit.so with a versioned SONAME, impfit.h
# and impfit.pc; every symbol it exports is an IMPFIT_API function of the
# installed header, under the one prefix impfit_; a program built with only
# `pkg-config --cflags --libs impfit` against the installed files fits a
# spectrum through it; impfit and impsolverd as installed load that library.
# Exit 0 pass, 1 fail, 77 skip.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
tmpdir
imp_watchdog 300 t-libimpfit
[ -f "$IMP_BUILDDIR/Makefile" ] || skip "no Makefile in $IMP_BUILDDIR"
command -v pkg-config >/dev/null || skip "no pkg-config (Debian package pkg-config)"
D=$T/root
# a make of its own, not a part of the make check running this test
unset MAKEFLAGS MFLAGS MAKELEVEL
var() { make -s --no-print-directory -C "$IMP_BUILDDIR" -f Makefile -f - print-var V="$1" <<'MK'
print-var: ; @echo $($(V))
MK
}
libdir=$(var libdir) includedir=$(var includedir) bindir=$(var bindir)
sbindir=$(var sbindir) cc=$(var CC)
make -s -C "$IMP_BUILDDIR" DESTDIR="$D" IMP_ADDUSER=no install >"$T/make.log" 2>&1 ||
    { fail "make install: $(tail -n 20 "$T/make.log")"; done_tests; }
ok "make install DESTDIR=..."

# --- what is installed ----------------------------------------------------------
L=$D$libdir
so=$(readelf -d "$L/libimpfit.so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
case $so in
libimpfit.so.[0-9]*) ok "SONAME $so" ;;
*) fail "SONAME of $L/libimpfit.so: '$so', want libimpfit.so.N" ;;
esac
[ -n "$so" ] && [ -e "$L/$so" ] && ok "$libdir/$so installed" || fail "no $libdir/$so"
[ -f "$D$includedir/impfit.h" ] && ok "impfit.h installed" || fail "no $includedir/impfit.h"
# the header alone: what it uses of the project stays in the project
hdrs=$(cd "$D$includedir" && ls)
[ "$hdrs" = impfit.h ] && ok "only impfit.h in $includedir" || fail "headers installed: $hdrs"
[ -f "$L/pkgconfig/impfit.pc" ] && ok "impfit.pc installed" || fail "no $libdir/pkgconfig/impfit.pc"

# --- what the library exports ----------------------------------------------------
nm -D --defined-only "$L/libimpfit.so" | awk '{ print $NF }' | sort >"$T/exported"
n=$(wc -l <"$T/exported")
[ "$n" -ge 30 ] && ok "$n symbols exported" || fail "only $n symbols exported"
bad=$(grep -v '^impfit_' "$T/exported" | tr '\n' ' ')
[ -z "$bad" ] && ok "every exported symbol is impfit_*" || fail "exported outside impfit_: $bad"
# each is a function the header declares IMPFIT_API, and each of those is exported
sed -n 's/^IMPFIT_API[^(]*[^A-Za-z0-9_]\([A-Za-z_][A-Za-z0-9_]*\)(.*/\1/p' \
    "$D$includedir/impfit.h" | sort >"$T/declared"
d=$(diff "$T/declared" "$T/exported") && ok "exported = the IMPFIT_API functions of impfit.h" ||
    fail "exported and declared differ: $d"
# fit_priv.h's FIT_HOT functions (target_clones) keep their ifunc, inside
if [ "$(uname -m)" = x86_64 ]; then
	ni=$(readelf -rW "$L/libimpfit.so" | grep -c IRELATIV)
	[ "$ni" -ge 1 ] && ok "target_clones: $ni ifunc (IRELATIVE) relocations in the library" ||
	    fail "no IRELATIVE relocation: target_clones lost in the shared library"
	nm -D "$L/libimpfit.so" | grep -q ' i ' && fail "an ifunc is exported" ||
	    ok "no ifunc exported"
fi

# --- a program built against the installed files -----------------------------------
# (PKG_CONFIG_SYSROOT_DIR: impfit.pc names the configured paths, DESTDIR holds them)
export PKG_CONFIG_PATH="$L/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D" PKG_CONFIG_LIBDIR="$L/pkgconfig"
flags=$(pkg-config --cflags --libs impfit) && ok "pkg-config --cflags --libs impfit: $flags" ||
    fail "pkg-config impfit failed"
[ "$(pkg-config --modversion impfit)" = "$(var PACKAGE_VERSION)" ] &&
    ok "impfit.pc version $(var PACKAGE_VERSION)" || fail "impfit.pc version $(pkg-config --modversion impfit)"
# a sanitised library wants the program sanitised too (the runtime first)
san=$(var IMP_LDFLAGS | tr ' ' '\n' | grep -- '^-fsanitize' | tr '\n' ' ')
# shellcheck disable=SC2086
$cc -std=c99 -Wall -Wextra -Werror -pedantic $san -o "$T/prog" \
    "$IMP_SRCDIR/tests/libimpfit-prog.c" $flags -lm 2>"$T/cc.log" &&
    ok "a program compiles and links with them" || fail "cc: $(cat "$T/cc.log")"
ldd_of() { LD_LIBRARY_PATH=$L ldd "$1" | sed -n 's/.*libimpfit\.so[.0-9]* => \([^ ]*\).*/\1/p'; }
[ "$(ldd_of "$T/prog")" = "$L/$so" ] && ok "the program loads $libdir/$so" ||
    fail "the program loads libimpfit from '$(ldd_of "$T/prog")'"
LD_LIBRARY_PATH=$L "$T/prog" >"$T/out" 2>&1 && ok "it fits R(RC) through the library" ||
    fail "the program failed: $(cat "$T/out")"
sed 's/^/  /' "$T/out"
grep -q '^status ok ' "$T/out" && grep -q '^R1 ' "$T/out" || fail "unexpected output"

# --- impfit and impsolverd use the same library -----------------------------------
for p in "$D$bindir/impfit" "$D$sbindir/impsolverd"; do
	[ "$(ldd_of "$p")" = "$L/$so" ] && ok "${p#"$D"} loads $libdir/$so" ||
	    fail "${p#"$D"} loads libimpfit from '$(ldd_of "$p")'"
done
LD_LIBRARY_PATH=$L "$D$bindir/impfit" -c 'R(RC)' -f "$IMP_SRCDIR/tests/data/impedancepy/exampleData.csv" \
    >"$T/impfit.out" 2>&1 && ok "the installed impfit fits" || fail "installed impfit: $(head -5 "$T/impfit.out")"
done_tests
