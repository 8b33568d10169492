#!/bin/sh
# impcore - t-cfg-table: every row of src/daemon/cfg.def is a flag of
# impsolverd -help (with its help text), accepted in the Go forms
# (-key=v, --key=v, -key v; a boolean bare, or -key=false) and as a config file key
# (also with '_' for '-'), and documented: README.md's flag table,
# doc/impsolverd.8.in and a line of etc/impsolverd.conf.in.  Adding a flag
# is one row of cfg.def (HACKING); this test says what else it needs.
# Exit 0 pass, 1 fail.
: "${IMP_BUILDDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${IMP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$IMP_SRCDIR/tests/srv-lib.sh"
D=$IMP_BUILDDIR/src/master/impsolverd
[ -x "$D" ] || skip "$D not built"
tmpdir t-cfg-table
S=$IMP_SRCDIR

"$D" -help >"$T/help" 2>&1
# key|type|help, from the rows
sed -n 's/^CFG_OPT("\([a-z0-9-]*\)", \(T_[A-Z0-9]*\), .*, Z_[A-Z]*, "\(.*\)")\(\t.*\)\{0,1\}$/\1|\2|\3/p' \
    "$S/src/daemon/cfg.def" >"$T/rows"
nrows=$(grep -c '^CFG_OPT(' "$S/src/daemon/cfg.def")
[ "$(wc -l <"$T/rows")" -eq "$nrows" ] && [ "$nrows" -gt 40 ] &&
    ok "$nrows rows in cfg.def" || fail "read $(wc -l <"$T/rows") of $nrows rows of cfg.def"

# a value each type accepts, and where -help and the dump would say it
val() {
	case $1 in
	T_BOOL) echo true ;; T_INT|T_U32) echo 1 ;; T_DUR) echo 2s ;;
	T_SIZE) echo 1M ;; *) echo x ;;
	esac
}
nbad=0
while IFS='|' read -r key type help; do
	grep -qF -- "  -$(printf '%-20s' "$key") $help" "$T/help" ||
	    { fail "-help lacks '-$key  $help'"; nbad=$((nbad + 1)); }
	grep -qF -- "\`-$key" "$S/README.md" ||
	    { fail "README.md lacks -$key"; nbad=$((nbad + 1)); }
	grep -qF -- "\\-$(echo "$key" | sed 's/-/\\-/g')" "$S/doc/impsolverd.8.in" ||
	    { fail "doc/impsolverd.8.in lacks -$key"; nbad=$((nbad + 1)); }
	[ "$key" = config ] || grep -qE "^#? ?$key( |=)" "$S/etc/impsolverd.conf.in" ||
	    { fail "etc/impsolverd.conf.in lacks $key"; nbad=$((nbad + 1)); }
done <"$T/rows"
[ "$nbad" -eq 0 ] && ok "every row: in -help with its text, README.md, the man page, the config example"

# The parser.  cfg_load refuses an empty -state-dir after it has read the
# file and every flag, and before the daemon does anything: so "may not be
# empty" and nothing else says the rest parsed.
echo "first line" >"$T/secret"
parses() {	# parses [args...]: cfg_load got to the -state-dir check
	out=$("$D" "$@" -state-dir= 2>&1)
	[ "$out" = "impsolverd: -state-dir may not be empty" ]
}
nbad=0
while IFS='|' read -r key type help; do
	case $key in config|state-dir) continue ;; esac
	v=$(val "$type")
	case $key in *-file) v=$T/secret ;; esac
	forms="-$key=$v --$key=$v"
	# as in Go, a boolean takes no separate word: "-quiet true" is an
	# argument after the flags
	[ "$type" = T_BOOL ] || forms="$forms -$key@$v"
	for form in $forms; do
		form=$(echo "$form" | tr @ ' ')
		# shellcheck disable=SC2086
		parses -config=/dev/null $form ||
		    { fail "'$form': $out"; nbad=$((nbad + 1)); }
	done
	if [ "$type" = T_BOOL ]; then
		parses -config=/dev/null "-$key" ||
		    { fail "bare -$key: $out"; nbad=$((nbad + 1)); }
	fi
	case $key in *-file) ;; *) echo "$(echo "$key" | tr - _) = $v" >>"$T/all.conf" ;; esac
done <"$T/rows"
[ "$nbad" -eq 0 ] && ok "every flag in the forms -k=v, --k=v, -k v (booleans: bare, not -k v)"
parses -config="$T/all.conf" &&
    ok "a config file with $(wc -l <"$T/all.conf") keys, '_' for '-'" ||
    fail "config file keys: $out"
parses -config=/dev/null -no-such-flag=1 &&
    fail "an unknown flag parsed" || ok "an unknown flag is refused: $out"
printf 'no_such_key = 1\n' >"$T/bad.conf"
parses -config="$T/bad.conf" && fail "an unknown key parsed" ||
    { echo "$out" | grep -q "bad.conf:1: unknown key 'no_such_key'" &&
    ok "an unknown key is refused: $out" || fail "unknown key: $out"; }
done_tests
