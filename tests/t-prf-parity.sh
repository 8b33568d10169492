#!/bin/sh
# impcore - GoImpCore parity on the debug port (issue 17): the master
# runs once its children are up (item 4); a CPU profile whose client
# left stops, and seconds=abc is a 400 (item 3); /debug/info has Go's
# top-level keys (item 2); allocs opens as alloc_space, threadcreate is
# served, trace is a JSON 501 (item 6).
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
prf_init "$(basename "$0" .sh)" 240
IMPCTL=$IMP_BUILDDIR/src/impctl/impctl

# sample every 4 KiB, so that a short test has allocations to show
IMPCORE_HEAP_RATE=4096 prf_start -profile -profile-port=0

# --- item 4: the master is running, everywhere it is shown -------------------
# (prf_start waited for /health: the workers serve, so the master runs)
n=50
while [ $n -gt 0 ] && ! "$IMPCTL" -d "$STATE" status | grep -q '^ *[0-9]* *[0-9]* master *running'; do
	n=$((n - 1)); sleep 0.2
done
"$IMPCTL" -d "$STATE" status >"$T/status"
grep -q '^ *[0-9]* *[0-9]* master *running' "$T/status" &&
    ok "impctl status: the master is running" ||
    { fail "impctl status: master not running"; grep master "$T/status"; }
# /debug/info shows the profiler's once-a-second sample: a second late
n=25
while :; do
	dbg /debug/info >"$T/info.json"
	python3 - "$T/info.json" <<-'PYEOF' && break
	import json, sys
	d = json.load(open(sys.argv[1]))
	m = [p for p in d["processes"] if p["role"] == "master"]
	sys.exit(0 if m[0]["state"] == "running" else 1)
	PYEOF
	n=$((n - 1))
	[ $n -gt 0 ] || break
	sleep 0.2
done
[ $n -gt 0 ] && ok "/debug/info: the master is running" ||
    fail "/debug/info: the master is not running after 5 s"

dbg '/debug/pprof/goroutine?debug=1' >"$T/g1"
grep -q '"role":"master".*"state":"running"' "$T/g1" &&
    ok "goroutine labels: the master is running" ||
    { fail "goroutine labels: master"; grep '"role":"master"' "$T/g1"; }

# --- item 2: a Go server's top-level runtime keys -----------------------------
python3 - "$T/info.json" <<-'PYEOF' && ok "/debug/info: goroutines, num_cpu, memory_*, gc_cycles" || fail "/debug/info: Go keys"
	import json, sys
	d = json.load(open(sys.argv[1]))
	bad = [k for k in ("goroutines", "num_cpu", "memory_alloc", "memory_total",
	                   "memory_sys", "gc_cycles") if not isinstance(d.get(k), int)]
	if bad:
	    print("# missing or not integers:", bad)
	    sys.exit(1)
	# the same figures as the richer keys
	ok = (d["goroutines"] == d["tasks"]["total"] and d["goroutines"] >= 5 and
	      d["memory_alloc"] == d["memory"]["alloc_bytes"] and
	      d["memory_total"] == d["memory"]["total_alloc_bytes"] and
	      d["memory_sys"] == d["memory"]["sys_bytes"] and d["gc_cycles"] == d["memory"]["gc"] and
	      0 < d["memory_alloc"] <= d["memory_total"])
	print("# goroutines %d, memory_alloc %d, memory_total %d, memory_sys %d, gc_cycles %d" % (
	    d["goroutines"], d["memory_alloc"], d["memory_total"], d["memory_sys"], d["gc_cycles"]))
	sys.exit(0 if ok else 1)
	PYEOF
api /debug/gc >"$T/gc.json"
n=$(dbg /debug/info | python3 -c 'import json,sys; print(json.load(sys.stdin).get("gc_cycles", -1))')
[ "$n" -ge 1 ] 2>/dev/null && ok "gc_cycles $n after GET /debug/gc" ||
    fail "gc_cycles $n after GET /debug/gc"

# --- item 3: a client that leaves ends its CPU profile -------------------------
code=$(dbg '/debug/pprof/profile?seconds=abc' -o "$T/abc" -w '%{http_code}')
[ "$code" = 400 ] && ok "profile?seconds=abc: 400 $(head -c 100 "$T/abc")" ||
    fail "profile?seconds=abc: $code $(head -c 100 "$T/abc" | tr -cd "[:print:]")"
# Ctrl-C on go tool pprof after 2 s of a 20 s profile
curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$pport/debug/pprof/profile?seconds=20"
t0=$(date +%s)
# the next profile may wait for the first to stop (a dump round, < 5 s),
# never for the 18 s it had left
code=000
while [ "$(date +%s)" -lt $((t0 + 12)) ]; do
	code=$(dbg '/debug/pprof/profile?seconds=1' -o "$T/p2" -w '%{http_code}')
	[ "$code" = 500 ] || break
	sleep 0.5
done
el=$(($(date +%s) - t0))
[ "$code" = 200 ] && [ "$el" -lt 12 ] &&
    ok "a new profile after the client of a 20 s one left at 2 s: 200 after ${el}s" ||
    fail "a new profile after the client left: $code after ${el}s ($(head -c 200 "$T/p2"))"
grep -q 'CPU profile of 20 s:.*(client left)' "$T/log" &&
    ok "the abandoned profile is logged as such" || fail "no '(client left)' log line"

# --- item 6: pprof conventions ---------------------------------------------------
if command -v go >/dev/null 2>&1; then
	batch_file "$T/b.json" 20
	api /eis-data/batch --data-binary @"$T/b.json" >/dev/null
	sleep 1
	pprof_top allocs "http://127.0.0.1:$pport/debug/pprof/allocs"
	[ $rc = 0 ] && grep -q '^Type: alloc_space' "$T/allocs.top" &&
	    ok "go tool pprof opens allocs as alloc_space" ||
	    { fail "allocs: rc $rc"; head -n 8 "$T/allocs.top"; }
	pprof_top allocs2 -sample_index=inuse_space "http://127.0.0.1:$pport/debug/pprof/allocs"
	[ $rc = 0 ] && grep -q '^Type: inuse_space' "$T/allocs2.top" &&
	    ok "... and has inuse_space too" || { fail "allocs inuse_space: rc $rc"; head -n 5 "$T/allocs2.top"; }
	pprof_top heap "http://127.0.0.1:$pport/debug/pprof/heap"
	[ $rc = 0 ] && grep -q '^Type: inuse_space' "$T/heap.top" &&
	    ok "heap still opens as inuse_space" || { fail "heap: rc $rc"; head -n 5 "$T/heap.top"; }
	pprof_top tc "http://127.0.0.1:$pport/debug/pprof/threadcreate"
	# 2 workers of 2 threads, master, webhook, profiler (libcurl's resolver may add one)
	[ $rc = 0 ] && grep -q '^Type: threadcreate' "$T/tc.top" &&
	    grep -Eq 'accounting for ([7-9]|1[0-9]),' "$T/tc.top" &&
	    grep -q ' wrk_main$' "$T/tc.top" &&
	    ok "threadcreate: $(sed -n 's/.*accounting for \([0-9]*\),.*/\1/p' "$T/tc.top") threads, by process kind" ||
	    { fail "threadcreate: rc $rc"; head -n 12 "$T/tc.top"; }
else
	echo "# no go: the pprof checks of item 6 skipped"
fi
dbg '/debug/pprof/threadcreate?debug=1' >"$T/tc1"
head -n 1 "$T/tc1" | grep -q '^threadcreate profile: total [0-9]' &&
    grep -q '"role":"worker"' "$T/tc1" && ok "threadcreate?debug=1: per process" ||
    { fail "threadcreate?debug=1"; head -n 5 "$T/tc1"; }
code=$(dbg /debug/pprof/trace -o "$T/trace" -w '%{http_code} %{content_type}')
case "$code" in
"501 application/json"*) grep -q '"error": *"[^"]*Go-only' "$T/trace" &&
    ok "trace: 501 JSON, Go-only" || fail "trace: $(cat "$T/trace")" ;;
*) fail "trace: $code $(head -c 200 "$T/trace")" ;;
esac

prf_stop
no_sanitizer_reports
done_tests
