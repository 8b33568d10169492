#!/bin/sh
# impcore - one figure, one meaning (issue 17, item 8): on an idle server
# the heap in use agrees between GET /debug/gc (heap_before), /debug/stats
# (heap_inuse_bytes), /debug/info and the 📊 Alloc of /debug/memory; the
# task count ("goroutines") between the pprof index, X-Start-Goroutines,
# /debug/memory, /debug/info and /debug/stats; and tasks.inflight_requests
# counts HTTP requests, not the webhook deliveries hanging meanwhile.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
prf_init "$(basename "$0" .sh)" 180

# a receiver that never answers: deliveries stay in flight
SPID=
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; srv_cleanup' EXIT
python3 "$IMP_SRCDIR/tests/whk_sink.py" --port-file "$T/sink.port" \
    --log "$T/sink.jsonl" --mode hang --hang 120 >>"$T/sink.err" 2>&1 &
SPID=$!
n=100
while [ ! -s "$T/sink.port" ] && [ $n -gt 0 ]; do n=$((n - 1)); sleep 0.05; done
[ -s "$T/sink.port" ] || { echo "FAIL: sink did not start"; cat "$T/sink.err"; exit 1; }
# (a long -webhook-timeout: no delivery ends while the test looks)
prf_start -profile -profile-port=0 -webhook-timeout=150s \
    -webhook-url="http://127.0.0.1:$(cat "$T/sink.port")/hook"

# idle: the profiler has sampled every process at least twice since
sleep 3
dbg /debug/info >"$T/info0.json"

# --- the heap in use ---------------------------------------------------------
# Sampled and asked at slightly different moments, and the worker that
# answers /debug/gc holds that request's buffers meanwhile: per process
# they agree within 64 KiB.  mallinfo's view, the old heap_before, was
# megabytes apart.
api /debug/gc >"$T/gc.json"
api /debug/memory >"$T/mem.json"
dbg /debug/info >"$T/info.json"
dbg '/debug/stats?seconds=1' >"$T/stats.json"
python3 - "$T" <<'PYEOF' && ok "heap in use agrees: /debug/gc, /debug/memory, /debug/info, /debug/stats" || fail "heap figures disagree"
import json, re, sys
T = sys.argv[1]
gc = json.load(open(T + "/gc.json"))
mem = json.load(open(T + "/mem.json"))
info = json.load(open(T + "/info.json"))
stats = json.loads(open(T + "/stats.json").readline())
tol = 64 << 10
src = {
    "gc heap_before": {p["pid"]: p["heap_before"] for p in gc["processes"] if p["answered"]},
    "info heap_inuse_bytes": {p["pid"]: p["heap_inuse_bytes"] for p in info["processes"]},
    "stats heap_inuse_bytes": {p["pid"]: p["heap_inuse_bytes"] for p in stats["per_process"]},
}
# "worker[0] pid 123: 📊 Memory: Alloc=1.23MB, ..." (MB with 2 decimals)
src["memory Alloc"] = {}
for l in mem["lines"]:
    m = re.search(r"pid (\d+): .*Memory: Alloc=([0-9.]+)MB", l)
    if m:
        src["memory Alloc"][int(m.group(1))] = float(m.group(2)) * 1048576
for l in mem["lines"]:
    print("#   /debug/memory:", l)
pids = set(src["stats heap_inuse_bytes"])
bad = 0
for name, d in src.items():
    if set(d) != pids:
        print("# %s: processes %s, /debug/stats has %s" % (name, sorted(d), sorted(pids)))
        bad += 1
        continue
for pid in sorted(pids):
    v = {name: d.get(pid) for name, d in src.items()}
    ref = v["stats heap_inuse_bytes"]
    t = tol + 0.006 * 1048576	# Alloc is in MB with 2 decimals
    off = {k: x for k, x in v.items() if x is None or abs(x - ref) > t}
    print("#   pid %d: %s" % (pid, ", ".join("%s %d" % (k, x) for k, x in v.items() if x is not None)))
    if off:
        bad += 1
tot = {"gc heap_before": gc["heap_before"], "info memory.alloc_bytes": info["memory"]["alloc_bytes"],
       "stats heap_inuse_bytes": stats["heap_inuse_bytes"], "info memory_alloc": info["memory_alloc"]}
print("# totals: " + ", ".join("%s %d" % kv for kv in tot.items()))
if max(tot.values()) - min(tot.values()) > tol * len(pids):
    bad += 1
sys.exit(bad != 0)
PYEOF

# --- the task count ------------------------------------------------------------
# Each place counts the tasks now, the request asking included (as a Go
# handler's goroutine counts itself): processes + 1 when idle.
nproc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tasks"]["processes"])' "$T/info0.json")
idx=$(dbg /debug/pprof/ | sed -n "s|.*<tr><td>\([0-9]*\)</td><td><a href='goroutine?debug=1'>goroutine</a>.*|\1|p")
xs=$(api /health -D - -o /dev/null | tr -d '\r' | sed -n 's/^X-Start-Goroutines: //p')
mem=$(api /debug/memory | grep -o 'Goroutines=[0-9]*' | sort -u | sed 's/Goroutines=//' | tr '\n' ' ' | sed 's/ $//')
inf=$(dbg /debug/info | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["goroutines"], d["tasks"]["total"])')
st=$(dbg '/debug/stats?seconds=1' | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["tasks"])')
want=$((nproc + 1))
echo "# processes $nproc: index $idx, X-Start-Goroutines $xs, /debug/memory $mem, /debug/info $inf, /debug/stats $st"
[ "$idx" = "$want" ] && [ "$xs" = "$want" ] && [ "$mem" = "$want" ] &&
    [ "$inf" = "$want $want" ] && [ "$st" = "$want" ] &&
    ok "goroutines: $want everywhere ($nproc processes + the request asking)" ||
    fail "goroutines disagree (want $want)"

# --- webhook deliveries are not requests ---------------------------------------
batch_file "$T/b.json" 3
api /eis-data/batch --data-binary @"$T/b.json" >/dev/null
n=100
while [ $n -gt 0 ]; do
	dbg /debug/info >"$T/info2.json"
	python3 - "$T/info2.json" <<-'PYEOF' && break
	import json, sys
	d = json.load(open(sys.argv[1]))
	sys.exit(0 if d["counters"]["webhook_inflight"] >= 2 else 1)
	PYEOF
	n=$((n - 1)); sleep 0.1
done
[ $n -gt 0 ] || fail "no two deliveries in flight after 10 s"
sleep 1.5	# a sample of the profiler's with the deliveries in it
dbg /debug/info >"$T/info2.json"
xs=$(api /health -D - -o /dev/null | tr -d '\r' | sed -n 's/^X-Start-Goroutines: //p')
python3 - "$T/info2.json" "$want" "$xs" <<'PYEOF' && ok "tasks.inflight_requests counts requests, not the deliveries in flight" || fail "deliveries counted as requests"
import json, sys
d = json.load(open(sys.argv[1]))
want, xs = int(sys.argv[2]), int(sys.argv[3])
t = d["tasks"]
print("# tasks:", json.dumps(t), "counters.webhook_inflight:", d["counters"]["webhook_inflight"],
      "X-Start-Goroutines:", xs)
wh = [p for p in d["processes"] if p["role"] == "webhook"]
ok = (t["inflight_requests"] == 1 and t["webhook_deliveries"] >= 2 and
      t["webhook_deliveries"] == d["counters"]["webhook_inflight"] and
      t["total"] == want and d["goroutines"] == want and xs == want and
      all(p["inflight"] == 0 for p in wh))
sys.exit(not ok)
PYEOF
prf_stop
no_sanitizer_reports
done_tests
