#!/bin/sh
# impsolverd: answers do not amplify memory (issue 13, item 6).  GET of a
# batch of 200 x 1024-point spectra is some 110 MB of JSON; it was built
# whole in the worker for each client, and twelve clients that asked and
# did not read took a worker to 750 MB.  Large answers are now rendered as
# the socket drains (chunked), so such clients cost the worker a few
# hundred KB each; a client that reads gets the whole answer, valid JSON,
# its results byte for byte those of ?offset=&limit= pages put together;
# every page has the totals; bad paging values are 400 naming the
# parameter.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-bigget 400

srv_start -threads=1 -queue-size=256 -results=512 -max-points=1024 -arena-size=16M
srv_py gen big 200 1024 >"$T/big.json"
st=$($CURL --max-time 120 -s -o "$T/o" -w '%{http_code}' --data-binary @"$T/big.json" "$SRV_URL/eis-data/batch")
[ "$st" = 202 ] || srv_bail "POST of 200 x 1024 points: $st $(head -c 300 "$T/o")"
rm -f "$T/big.json"
srv_py check "$SRV_URL" big 200 300 >"$T/check.out" 2>&1 &&
    srv_ok "batch of 200 x 1024 points fitted" || { cat "$T/check.out"; srv_bail "big batch not fitted"; }
wpid=$("$IMP_BUILDDIR/src/impctl/impctl" -d "$STATE" stats --json | "$PY" -c '
import json, sys
print([p["pid"] for p in json.load(sys.stdin)["processes"] if p["role"] == "worker"][0])')
[ -n "$wpid" ] || srv_bail "no worker pid"
srv_log "worker pid $wpid"

"$PY" - "$SRV_PORT" "$wpid" <<'PYEOF' || srv_fail "big answers"
import http.client, json, os, socket, sys, time
port, wpid = int(sys.argv[1]), int(sys.argv[2])
bad = 0

def status_kb(key):
    for line in open("/proc/%d/status" % wpid):
        if line.startswith(key + ":"):
            return int(line.split()[1])

def get(path, ver11=True):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    if not ver11:
        c._http_vsn, c._http_vsn_str = 10, "HTTP/1.0"
    c.request("GET", path)
    r = c.getresponse()
    data = r.read()
    h = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, h, data

def results_raw(data):
    """The text of the results array's elements."""
    a = data.index(b',"results":[') + len(b',"results":[')
    assert data.endswith(b"]}\n"), data[-20:]
    return data[a:-3]

# twelve clients ask for the whole batch and read nothing
rss0 = status_kb("VmRSS")
idle = []
for _ in range(12):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /eis-data/batch/big HTTP/1.1\r\nHost: x\r\n\r\n")
    idle.append(s)
time.sleep(3)
# the worker still serves meanwhile
st, _, _ = get("/health")
time.sleep(2)
rss1, hwm1 = status_kb("VmRSS"), status_kb("VmHWM")
grow = (rss1 - rss0) // 1024
ok = grow < 64 and st == 200
print("%s: 12 clients that do not read: worker RSS %d -> %d MB (+%d MB), peak %d MB; /health %d" % (
    "ok" if ok else "FAIL", rss0 // 1024, rss1 // 1024, grow, hwm1 // 1024, st))
bad += not ok

# a client that reads gets it all, streamed
t0 = time.time()
st, h, full = get("/eis-data/batch/big")
d = json.loads(full)
ok = (st == 200 and h.get("transfer-encoding") == "chunked" and d["spectra"] == 200
      and d["done"] == 200 and len(d["results"]) == 200 and "offset" not in d
      and [r["iteration"] for r in d["results"]] == list(range(200)))
print("%s: a client that reads: %d, %s, %.1f MB of valid JSON, %d results in %.1f s" % (
    "ok" if ok else "FAIL", st, h.get("transfer-encoding"), len(full) / 1e6,
    len(d.get("results", [])), time.time() - t0))
bad += not ok
rss2 = status_kb("VmRSS")
ok = (rss2 - rss0) // 1024 < 64
print("%s: worker RSS after: %d MB" % ("ok" if ok else "FAIL", rss2 // 1024))
bad += not ok
for s in idle:
    s.close()

# pages put together are the whole, byte for byte
parts, off = [], 0
while True:
    st, h, page = get("/eis-data/batch/big?offset=%d&limit=37" % off)
    p = json.loads(page)
    if st != 200 or p["offset"] != off or p["limit"] != 37 or p["spectra"] != 200 \
            or p["done"] != 200 or p["failed"] != 0:
        print("FAIL: page at %d: %d %r" % (off, st, page[:300]))
        bad += 1
        break
    if not p["results"]:
        break
    parts.append(results_raw(page))
    off += 37
ok = b",".join(parts) == results_raw(full) and len(parts) == 6
print("%s: %d pages of 37 put together are the whole answer's results, byte for byte" % (
    "ok" if ok else "FAIL", len(parts)))
bad += not ok

# HTTP/1.0: no chunked; the body ends with the connection
st, h, data = get("/eis-data/batch/big?offset=150", ver11=False)
ok = (st == 200 and "transfer-encoding" not in h and h.get("connection") == "close"
      and [r["iteration"] for r in json.loads(data)["results"]] == list(range(150, 200))
      and results_raw(full).endswith(results_raw(data)))
print("%s: HTTP/1.0, offset 150: %d, %d results" % ("ok" if ok else "FAIL", st,
      len(json.loads(data)["results"]) if st == 200 else -1))
bad += not ok

# a small page is one answer with a Content-Length, limit 0 the totals
st, h, data = get("/eis-data/batch/big?offset=3&limit=0")
p = json.loads(data)
ok = st == 200 and "content-length" in h and p["results"] == [] and p["spectra"] == 200 and p["limit"] == 0
print("%s: limit 0: %d %r" % ("ok" if ok else "FAIL", st, data[:200]))
bad += not ok
st, h, data = get("/eis-data/batch/big?offset=500")
ok = st == 200 and json.loads(data)["results"] == []
print("%s: offset past the end: %d, no results" % ("ok" if ok else "FAIL", st))
bad += not ok
for q, field in (("offset=-1", "offset"), ("limit=abc", "limit"), ("offset=1&limit=1e3", "limit"),
                 ("offset=99999999999", "offset"), ("limit=", "limit"), ("offset=+5", "offset")):
    st, h, data = get("/eis-data/batch/big?" + q)
    e = json.loads(data)
    ok = st == 400 and e.get("field") == field and e.get("success") is False
    print("%s: ?%s: %d %s" % ("ok" if ok else "FAIL", q, st, data.strip()[:120]))
    bad += not ok
sys.exit(1 if bad else 0)
PYEOF
$CURL -sf -o /dev/null "$SRV_URL/health" && srv_ok "still serving" || srv_fail "not serving"
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
