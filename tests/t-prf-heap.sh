#!/bin/sh
# impcore - heap profile of all processes (imp_malloc and the library
# hooks): go tool pprof names real allocation sites, -base works; block
# and mutex profiles parse.  Stacks by libunwind here (when installed), by
# libgcc in t-prf-heap-gcc.sh.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
need_go
prf_init "$(basename "$0" .sh)" 120

prf_start -profile -profile-port=0
H=http://127.0.0.1:$pport/debug/pprof
# which unwinder takes the stacks: libunwind when libunwind8 is installed,
# libgcc's when not or with IMPCORE_UNWIND=gcc (t-prf-heap-gcc.sh)
if [ "${IMPCORE_UNWIND:-}" = gcc ] || ! PATH=$PATH:/usr/sbin:/sbin ldconfig -p | grep -q 'libunwind\.so\.8 '; then
	want_unw=libgcc
else
	want_unw=libunwind
fi
unw=$(dbg /debug/info | python3 -c 'import json,sys; print(json.load(sys.stdin)["memory"]["heap_unwinder"])')
[ "$unw" = "$want_unw" ] && ok "stacks by $unw" || fail "heap_unwinder $unw, expected $want_unw"
# the legacy text (?legacy=1) has the totals in its first line
dbg '/debug/pprof/heap?legacy=1' -o "$T/before.heap"
head -n 1 "$T/before.heap" | grep -q '^heap profile: [0-9]*: [0-9]* \[ *[0-9]*: *[0-9]*\] @ heap_v2/[0-9]*$' &&
    ok "legacy heap_v2 header" || { fail "heap header"; head -n 2 "$T/before.heap"; }
grep -q '^MAPPED_LIBRARIES:' "$T/before.heap" && ok "memory map section" ||
    fail "no MAPPED_LIBRARIES"

batch_file "$T/load.json" 60
load_start 4 "$T/load.json"
wait "$lpid" 2>/dev/null
lpid=
dbg '/debug/pprof/heap?legacy=1' -o "$T/after.heap"
# frees are counted against their sites (the hook's filter finds sampled
# blocks): after the load most sampled blocks are free again (objects, not
# bytes: a few big long-lived buffers weigh more than the load's samples)
set -- $(head -n 1 "$T/after.heap" | tr -d '[]:' | awk '{ print $3, $5 }')
[ "${2:-0}" -gt 0 ] && [ "$2" -gt $((2 * ${1:-0})) ] &&
    ok "sampled frees counted: $1 of $2 sampled blocks in use" ||
    fail "sampled frees not counted: $(head -n 1 "$T/after.heap")"

# in use (the default view): the command works on what is live now
pprof_top inuse "$H/heap"
[ "$rc" -eq 0 ] && ok "go tool pprof -top .../heap: exit 0" ||
    { fail "pprof heap: exit $rc"; head -n 20 "$T/inuse.top"; }
# what was allocated: the request path (jansson, evbuffers, our parsers)
pprof_top alloc -sample_index=alloc_space -nodecount=20 "$H/heap"
sed -n '/flat%/,$p' "$T/alloc.top" | sed 1d >"$T/alloc.rows"
if [ "$rc" -eq 0 ] && head -n 12 "$T/alloc.rows" | grep -Eq ' (json_[a-z_]+|wrk_[a-z_]+|evbuffer_[a-z_]+|spectrum_[a-z_]+)$'; then
	ok "alloc_space names allocation sites: $(head -n 5 "$T/alloc.rows" | awk '{ print $NF }' | tr '\n' ' ')"
else
	fail "alloc_space does not name json_*/wrk_*/evbuffer_* sites"
	cat "$T/alloc.top"
fi
# the allocator itself is not a site (as Go drops mallocgc)
head -n 5 "$T/alloc.rows" | grep -Eq ' imp_(malloc|calloc|realloc)$' &&
    fail "imp_malloc is listed as an allocation site" ||
    ok "imp_malloc's frames are dropped from the sites"
pprof_top base -sample_index=alloc_space -base "$T/before.heap" "$T/after.heap"
if [ "$rc" -eq 0 ] && grep -q 'of [0-9.]*[kMG]*B total' "$T/base.top"; then
	ok "-base before after: $(sed -n 's/.*of \(.*\) total.*/\1/p' "$T/base.top") allocated in between"
else
	fail "pprof -base: exit $rc"
	head -n 20 "$T/base.top"
fi
code=$(dbg '/debug/pprof/heap?gc=1' -o "$T/gc.heap" -w '%{http_code}')
[ "$code" = 200 ] && ok "heap?gc=1: 200" || fail "heap?gc=1: $code"
dbg '/debug/pprof/heap?debug=1' -o "$T/d1.heap"
grep -Eq '^#	0x[0-9a-f]+	[a-z_]+\+0x' "$T/d1.heap" &&
    ok "heap?debug=1: frames symbolized in comments" || fail "heap?debug=1"

# block and mutex (contention) profiles: they parse
for p in block mutex; do
	dbg "/debug/pprof/$p?legacy=1" -o "$T/$p.txt"
	head -n 1 "$T/$p.txt" | grep -q '^--- contentionz 1 ---$' ||
	    fail "$p: not a contentionz profile"
	pprof_top "$p" "$H/$p"
	[ "$rc" -eq 0 ] && ok "go tool pprof -top .../$p: exit 0 ($(grep -c ' @ ' "$T/$p.txt") sites)" ||
	    { fail "pprof $p: exit $rc"; head -n 20 "$T/$p.top"; }
done
no_sanitizer_reports
done_tests
