#!/bin/sh
# impsolverd: honest refusals (issue 13, item 7).  A batch the state file
# cannot hold even when empty (more points than its data arena, more
# spectra than -queue-size) is a 413 naming the limit, not a 503 asking
# for a retry that can never succeed, and it does not hold back the
# batches after it.  Results of a batch without webhook (polling) are
# kept -retention: when they fill the table, a new batch gets 503 with
# Retry-After, and no polled batch is evicted to make room (21 of 59 were
# 404 after 15 s under -retention 24h); the 202 says until when the
# results are kept at least (expires_at); a sync fit without webhook is
# still answered.  After -retention they go, and batches are taken again.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-refusals 240

post() {	# post FILE: prints the status, the answer in $T/o
	$CURL -s -o "$T/o" -w '%{http_code}' --data-binary @"$1" "$SRV_URL/eis-data/batch"
}

# a derived data arena of some 1.7 MB: 100 spectra of 1024 points need 2.5 MB
srv_start -threads=1 -queue-size=256 -results=512 -max-points=1024
srv_py gen huge 100 1024 >"$T/huge.json"
st=$(post "$T/huge.json")
[ "$st" = 413 ] && grep -q '"error":"batch of 102400 points can never fit in the state file.s data arena, [0-9]* bytes even when empty (-arena-size); split it","field":"spectra"' "$T/o" &&
    srv_ok "more points than the arena holds: 413 $(cat "$T/o")" || srv_fail "huge batch: $st $(cat "$T/o")"
srv_py gen many 300 5 >"$T/many.json"
st=$(post "$T/many.json")
[ "$st" = 413 ] && grep -q '"error":"[^"]*256 (-queue-size)' "$T/o" &&
    srv_ok "more spectra than -queue-size: 413 $(cat "$T/o")" || srv_fail "300 spectra: $st $(cat "$T/o")"
srv_py gen fits 20 30 >"$T/fits.json"
st=$(post "$T/fits.json")
[ "$st" = 202 ] && srv_ok "a batch that fits, after them: 202" || srv_fail "a batch after them: $st $(cat "$T/o")"
srv_stop || srv_fail "SIGTERM exit status $?"

# polling: 16 + 32 records, batches of 8 spectra
rm -rf "$STATE"
srv_start -threads=1 -queue-size=16 -results=32 -retention=1h
"$PY" - "$SRV_URL" <<'PYEOF' || srv_fail "polled results kept"
import calendar, json, sys, time
import os, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
import implib
g = vars(implib)
url, request, batch, wait_batch = sys.argv[1], g["request"], g["batch"], g["wait_batch"]
bad, taken = 0, []
for k in range(12):
    bid = "poll-%d" % k
    t0 = time.time()
    st, h, data = request(url, "POST", "/eis-data/batch", json.dumps(batch(bid, 8, 20)))
    d = json.loads(data)
    if st == 202:
        try:
            exp = calendar.timegm(time.strptime(d["expires_at"], "%Y-%m-%dT%H:%M:%SZ"))
        except (KeyError, ValueError):
            exp = 0
        if not t0 + 3600 - 2 <= exp <= time.time() + 3600 + 2:
            print("FAIL: %s: expires_at %s, want now + 1h" % (bid, d.get("expires_at")))
            bad += 1
        taken.append(bid)
        wait_batch(url, bid, 60)
        continue
    ok = st == 503 and h.get("retry-after") == "1" and "retention" in d["error"] and len(taken) == 6
    print("%s: batch %d, after %d batches of 8 spectra fill the table: %d %s" % (
        "ok" if ok else "FAIL", k, len(taken), st, data[:160]))
    bad += not ok
    break
else:
    print("FAIL: 12 batches of 8 taken by a table of 48 records: polled results evicted")
    bad += 1
gone = [b for b in taken if request(url, "GET", "/eis-data/batch/" + b)[0] != 200]
ok = not gone
print("%s: %d polled batches readable, %d gone %s" % ("ok" if ok else "FAIL", len(taken) - len(gone), len(gone), gone))
bad += not ok
if taken and not bad:
    print("ok: each 202 says expires_at now + -retention")
# a sync fit without webhook is answered, though no result can be kept
st, h, data = request(url, "POST", "/eis-data", json.dumps(g["spectrum"](3)))
ok = st == 200 and json.loads(data)["status"] == "done"
print("%s: a sync fit without webhook while the table is full: %d %s" % ("ok" if ok else "FAIL", st, data[:100]))
bad += not ok
sys.exit(1 if bad else 0)
PYEOF
srv_stop || srv_fail "SIGTERM exit status $?"

# and after -retention they go: batches are taken again
rm -rf "$STATE"
srv_start -threads=1 -queue-size=16 -results=32 -retention=2s
"$PY" - "$SRV_URL" <<'PYEOF' || srv_fail "polled results after -retention"
import json, sys, time
import os, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
import implib
g = vars(implib)
url, request, batch, wait_batch = sys.argv[1], g["request"], g["batch"], g["wait_batch"]
for k in range(6):
    st, _, data = request(url, "POST", "/eis-data/batch", json.dumps(batch("r-%d" % k, 8, 20)))
    if st != 202:
        sys.exit("FAIL: batch %d: %d %s" % (k, st, data[:200]))
    wait_batch(url, "r-%d" % k, 60)
t0 = time.time()
while time.time() - t0 < 30:
    st, _, data = request(url, "POST", "/eis-data/batch", json.dumps(batch("r-late", 8, 20)))
    if st == 202:
        break
    time.sleep(0.2)
ok = st == 202
print("%s: a batch taken %.1f s after the table filled (-retention 2s): %d" % (
    "ok" if ok else "FAIL", time.time() - t0, st))
sys.exit(0 if ok else 1)
PYEOF
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
