#!/bin/sh
# impsolverd: a re-posted batch_id (issue 17, item 1).  The guide's load
# test posts one file ten times: the first is 202, the other nine were a
# bare 200 with the old status and nothing said that their spectra were
# not fitted again.  The same body stays idempotent (200, the status,
# "duplicate": true, a log line, nothing queued twice); other spectra
# under a known id are a 409; the Idempotency-Key header names the batch
# when the body does not.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-idempotent 180

srv_start -threads=2
"$PY" - "$SRV_URL" <<'PYEOF' || srv_fail "idempotency"
import json, sys
import os, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
import implib
g = vars(implib)
url, request, batch, wait_batch = sys.argv[1], g["request"], g["batch"], g["wait_batch"]
bad = 0
def expect(ok, what):
    global bad
    print("%s: %s" % ("ok" if ok else "FAIL", what))
    bad += not ok

body = json.dumps(batch("load-1", 6, 20))
sts = []
for k in range(10):
    st, h, data = request(url, "POST", "/eis-data/batch", body)
    sts.append(st)
    d = json.loads(data)
    if k == 0:
        expect(st == 202 and d["batch_id"] == "load-1", "first post: 202 %s" % data[:80])
    else:
        ok = (st == 200 and d.get("duplicate") is True and d["batch_id"] == "load-1"
              and d["spectra"] == 6 and len(d["results"]) == 6)
        if not ok or k == 1:
            expect(ok, "post %d of the same body: %d, duplicate %s" % (k + 1, st, d.get("duplicate")))
d = wait_batch(url, "load-1", 60)
expect(d["spectra"] == 6 and d["done"] == 6 and "duplicate" not in d,
       "GET after ten posts: 6 spectra, 6 done, no duplicate key")

# other spectra under the same id: 409 naming the field
other = json.dumps(batch("load-1", 5, 20))
st, h, data = request(url, "POST", "/eis-data/batch", other)
d = json.loads(data)
expect(st == 409 and d["success"] is False and d.get("field") == "batch_id" and
       d["error"].startswith("batch_id already used for other spectra"),
       "same id, other spectra: %d %s" % (st, data[:120]))
b2 = batch("load-1", 6, 20)
b2["spectra"][3]["impedance_data"]["impedance"][0]["real"] += 1e-9
st, h, data = request(url, "POST", "/eis-data/batch", json.dumps(b2))
expect(st == 409, "same id, one number changed: %d" % st)
b3 = batch("load-1", 6, 20)
b3["circuit"] = "R(QR)"
st, h, data = request(url, "POST", "/eis-data/batch", json.dumps(b3))
expect(st == 409, "same id, another circuit: %d" % st)
d = wait_batch(url, "load-1", 60)
expect(d["spectra"] == 6 and d["done"] == 6, "the batch is unchanged: %d spectra" % d["spectra"])

# Idempotency-Key: the batch id when the body has none
nobid = json.dumps(batch(None, 4, 20))
st, h, data = request(url, "POST", "/eis-data/batch", nobid, {"Idempotency-Key": "key-7f3a"})
d = json.loads(data)
expect(st == 202 and d["batch_id"] == "key-7f3a", "Idempotency-Key names the batch: %d %s" % (st, data[:80]))
st, h, data = request(url, "POST", "/eis-data/batch", nobid, {"Idempotency-Key": "key-7f3a"})
d = json.loads(data)
expect(st == 200 and d.get("duplicate") is True and d["batch_id"] == "key-7f3a",
       "the same key and body again: %d duplicate %s" % (st, d.get("duplicate")))
st, h, data = request(url, "POST", "/eis-data/batch", nobid)
d = json.loads(data)
expect(st == 202 and d["batch_id"] != "key-7f3a", "no key: a new id %s" % d.get("batch_id"))
st, h, data = request(url, "POST", "/eis-data/batch", json.dumps(batch("body-id", 2, 20)),
                      {"Idempotency-Key": "key-other"})
d = json.loads(data)
expect(st == 202 and d["batch_id"] == "body-id", "the body's batch_id wins over the key: %s" % d.get("batch_id"))
st, h, data = request(url, "POST", "/eis-data/batch", nobid, {"Idempotency-Key": "bad key/1"})
d = json.loads(data)
expect(st == 400 and d.get("field") == "Idempotency-Key", "a bad key: %d %s" % (st, data[:120]))
st, h, data = request(url, "GET", "/eis-data/batch/key-7f3a")
expect(st == 200 and json.loads(data)["spectra"] == 4, "GET by the key: %d" % st)
sys.exit(1 if bad else 0)
PYEOF
n=$(grep -c 'batch load-1 posted again with the same spectra' "$T/log")
[ "$n" = 9 ] && srv_ok "9 log lines for the 9 duplicates" || srv_fail "$n duplicate log lines, want 9"
grep -q 'batch load-1 posted again with other spectra: 409' "$T/log" &&
    srv_ok "the 409 is logged" || srv_fail "no log line for the 409"
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
