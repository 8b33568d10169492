#!/bin/sh
# impcore - go tool pprof's default (local) symbolization names every frame
# of our profiles (issue 17, item 7): they come as gzipped profile.proto
# whose locations our own symbolizer named, target_clones variants and
# static functions included, with files and lines (-list, -traces); the
# legacy formats stay behind ?legacy=1.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
need_go
prf_init "$(basename "$0" .sh)" 240

IMPCORE_HEAP_RATE=4096 prf_start -profile -profile-port=0
batch_file "$T/load.json" 100
load_start 20 "$T/load.json"
sleep 1
dbg '/debug/pprof/profile?seconds=3' -o "$T/cpu.pb"
load_stop

# Go's format: gzip around profile.proto
head -c 2 "$T/cpu.pb" | od -A n -t x1 | grep -q '1f 8b' &&
    ok "the CPU profile is gzipped, as Go's" || fail "the CPU profile is not gzipped"
pprof_top cpu -nodecount=200 "$T/cpu.pb"
[ "$rc" -eq 0 ] && grep -q '^Type: cpu' "$T/cpu.top" &&
    ok "go tool pprof -top reads it: Type: cpu" ||
    { fail "go tool pprof: exit $rc"; head -n 20 "$T/cpu.top"; }
sed -n '/flat%/,$p' "$T/cpu.top" | sed 1d >"$T/cpu.rows"
head -n 12 "$T/cpu.rows" | sed 's/^/  top: /'
# what pprof could not name shows as the object's name in brackets or a
# bare address: none of our binary's frames may be left so
# ours: the executable and the engine's shared library (libimpfit.so,
# hidden visibility: only its .symtab names its functions)
unnamed=$(grep -cE '(\[impsolverd\]|\[libimpfit[^]]*\]|^ .* 0x[0-9a-f]+$)' "$T/cpu.rows")
if [ "$unnamed" -eq 0 ]; then
	ok "no unnamed [impsolverd] or [libimpfit.so] frame"
else
	fail "$unnamed unnamed frames"
	grep -E '\[(impsolverd|libimpfit[^]]*)\]|0x[0-9a-f]+$' "$T/cpu.rows" | head
	# the locations without a function, to name them
	go tool pprof -raw "$T/cpu.pb" 2>&1 | sed -n '/^Locations/,/^Mappings/p' |
	    grep -E '^ +[0-9]+: 0x[0-9a-f]+ M=1 *$' | head
fi
# a target_clones variant or a static function of the engine, by its
# own name (the legacy path left both unnamed)
clone=$(awk '$NF ~ /^fit_[a-z_]+\.[a-z0-9_]+$/ { print $NF; exit }' "$T/cpu.rows")
# (a local symbol of the engine: it lives in libimpfit.so, behind libtool's
# wrapper scripts in the build tree; dladdr cannot name it)
engine=$(ls "$IMP_BUILDDIR"/src/fit/.libs/libimpfit.so.*.*.* 2>/dev/null | head -n 1)
static=$(awk '$NF ~ /^(fit|cdc|lm|nm)_[a-z_]+$/ { print $NF }' "$T/cpu.rows" | while read -r f; do
	nm "${engine:-/dev/null}" 2>/dev/null | grep -q " t ${f}$" && { echo "$f"; break; }
done)
if [ -n "$clone" ] || [ -n "$static" ]; then
	ok "named: target_clones variant '${clone:-none}', static function '${static:-none}'"
else
	fail "neither a target_clones variant nor a static function of the engine is named"
	cat "$T/cpu.rows"
fi
# source lines: -traces -lines shows file:line for the frames, -list
# finds the source of impfit_run (the absolute paths of the build), from
# another directory too
go tool pprof -traces -lines "$T/cpu.pb" >"$T/cpu.traces" 2>&1
grep -Eq 'fit_[a-z_.0-9]+ +/[^ ]*src/fit/[a-z_]+\.c:[0-9]+' "$T/cpu.traces" &&
    ok "-traces: $(grep -Eom1 'fit_[a-z_.0-9]+ +/[^ ]*src/fit/[a-z_]+\.c:[0-9]+' "$T/cpu.traces" | tr -s ' ')" ||
    { fail "-traces shows no src/fit/*.c:line"; head -n 30 "$T/cpu.traces"; }
(cd / && go tool pprof -list '^impfit_run$' "$T/cpu.pb") >"$T/cpu.list" 2>&1
grep -q 'ROUTINE ======================== impfit_run in /.*src/fit/fit_run\.c' "$T/cpu.list" &&
    grep -Eq '^ +[.0-9]+[mu]?s? +[0-9.]+[mu]?s +[0-9]+:.*[a-z]' "$T/cpu.list" &&
    ok "-list impfit_run finds $(sed -n 's/.* impfit_run in //p' "$T/cpu.list" | head -1)" ||
    { fail "-list impfit_run"; head -n 20 "$T/cpu.list"; }
# labels: the role and pid of the process each sample comes from
go tool pprof -tags "$T/cpu.pb" >"$T/cpu.tags" 2>&1
grep -q 'worker' "$T/cpu.tags" && ok "-tags: samples labelled by role" ||
    { fail "-tags: no role"; head "$T/cpu.tags"; }

# the heap, allocs, mutex and block profiles: the same, named by us
for p in heap allocs mutex block; do
	dbg "/debug/pprof/$p" -o "$T/$p.pb"
	head -c 2 "$T/$p.pb" | od -A n -t x1 | grep -q '1f 8b' || fail "$p: not gzipped"
	pprof_top "$p" -nodecount=200 "$T/$p.pb"
	if [ "$rc" -ne 0 ]; then
		fail "pprof $p: exit $rc"; head -n 20 "$T/$p.top"
	elif grep -qE '\[(impsolverd|libimpfit[^]]*)\]' "$T/$p.top"; then
		fail "$p: unnamed frames"; grep -E '\[(impsolverd|libimpfit[^]]*)\]' "$T/$p.top" | head -5
	else
		ok "$p: gzipped profile.proto, $(grep -c . "$T/$p.top") lines, no unnamed frame"
	fi
done
grep -q '^Type: alloc_space' "$T/allocs.top" && ok "allocs opens as alloc_space" ||
    fail "allocs: $(grep -m1 '^Type' "$T/allocs.top")"
grep -q '^Type: inuse_space' "$T/heap.top" && ok "heap opens as inuse_space" ||
    fail "heap: $(grep -m1 '^Type' "$T/heap.top")"

# the legacy formats stay reachable with ?legacy=1
dbg '/debug/pprof/profile?seconds=1&legacy=1' -o "$T/cpu.legacy"
od -A n -t u8 -N 40 "$T/cpu.legacy" | tr -s ' \n' ' ' | grep -q '^ *0 3 0 10000 0 *$' &&
    ok "profile?legacy=1: the gperftools binary" || fail "profile?legacy=1"
dbg '/debug/pprof/heap?legacy=1' | head -n 1 | grep -q '^heap profile: .* @ heap_v2/' &&
    ok "heap?legacy=1: heap_v2 text" || fail "heap?legacy=1"
dbg '/debug/pprof/mutex?legacy=1' | head -n 1 | grep -q '^--- contentionz 1 ---$' &&
    ok "mutex?legacy=1: contentionz text" || fail "mutex?legacy=1"
code=$(printf '0x%x' 4096 | dbg /debug/pprof/symbol --data-binary @- -o /dev/null -w '%{http_code}')
[ "$code" = 200 ] && ok "/debug/pprof/symbol still answers" || fail "/debug/pprof/symbol: $code"
no_sanitizer_reports
done_tests
