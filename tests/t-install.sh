#!/bin/sh
# impcore - t-install: make install and uninstall as a Debian package build
# runs them (DESTDIR): the config 0640, the unit in systemd's directory,
# the man pages; a reinstall keeps the admin's config, and an uninstall
# removes the files as shipped but keeps a config the admin changed.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
tmpdir
imp_watchdog 240 t-install
[ -f "$IMP_BUILDDIR/Makefile" ] || skip "no Makefile in $IMP_BUILDDIR"
D=$T/root
# a make of its own, not a part of the make check running this test
unset MAKEFLAGS MFLAGS MAKELEVEL
mk() { make -s -C "$IMP_BUILDDIR" DESTDIR="$D" IMP_ADDUSER=no "$@" >>"$T/make.log" 2>&1; }
var() { make -s --no-print-directory -C "$IMP_BUILDDIR" -f Makefile -f - print-var V="$1" <<'MK'
print-var: ; @echo $($(V))
MK
}
sysconfdir=$(var sysconfdir) sbindir=$(var sbindir) unitdir=$(var systemdsystemunitdir)
mandir=$(var mandir)

mk install || { fail "make install: $(tail -n 20 "$T/make.log")"; done_tests; }
ok "make install DESTDIR=..."
for f in "$sbindir/impsolverd" "$(var bindir)/impctl" "$sysconfdir/init.d/impsolverd" \
    "$sysconfdir/default/impsolverd" "$unitdir/impsolverd.service" \
    "$mandir/man8/impsolverd.8" "$mandir/man1/impctl.1"; do
	[ -e "$D$f" ] && ok "installed $f" || fail "not installed: $f"
done
m=$(stat -c %a "$D$sysconfdir/impsolverd.conf" 2>/dev/null)
[ "$m" = 640 ] && ok "impsolverd.conf is 0640" || fail "impsolverd.conf mode $m, want 640"
grep -q '^Type=notify' "$D$unitdir/impsolverd.service" &&
    grep -q '^DynamicUser=yes' "$D$unitdir/impsolverd.service" &&
    ok "unit: Type=notify, DynamicUser" || fail "unit lacks Type=notify or DynamicUser"
grep -q '^DAEMON_USER=${DAEMON_USER:-impsolverd}' "$D$sysconfdir/init.d/impsolverd" &&
    ok "init script: default user impsolverd" || fail "init script's default user"

# the admin edits the config; a reinstall keeps it, an uninstall too
echo "threads = 3" >>"$D$sysconfdir/impsolverd.conf"
mk install || fail "second make install"
grep -q '^threads = 3' "$D$sysconfdir/impsolverd.conf" && ok "reinstall keeps the config" ||
    fail "reinstall overwrote the config"
mk uninstall || fail "make uninstall: $(tail -n 20 "$T/make.log")"
grep -q '^threads = 3' "$D$sysconfdir/impsolverd.conf" 2>/dev/null &&
    ok "uninstall keeps the changed config" || fail "uninstall removed the changed config"
[ ! -e "$D$sysconfdir/default/impsolverd" ] && [ ! -e "$D$sbindir/impsolverd" ] &&
    [ ! -e "$D$unitdir/impsolverd.service" ] && ok "uninstall removes the rest" ||
    fail "uninstall left: $(find "$D" -type f | grep -v impsolverd.conf)"
left=$(find "$D" -type f | sed "s|^$D||")
[ "$left" = "$sysconfdir/impsolverd.conf" ] && ok "only the changed config is left" ||
    fail "left after uninstall: $left"
done_tests
