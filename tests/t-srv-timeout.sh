#!/bin/sh
# impsolverd request fields added in round two (issue 12): `timeout`, a
# fit's time budget at batch level or per spectrum (a JSON number of
# seconds > 0 or a duration string), accepted in its good forms and refused
# with a 400 naming the field in its bad ones; batch ids "." and "..",
# path segments with a meaning, are refused (400, field batch_id), while
# ids merely made of dots and more are still taken.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-timeout 120

srv_start -threads=1 -max-points=50 -queue-size=1000 -results=2000

cat >"$T/cases.py" <<'PYEOF'
import json, sys, time
import os, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
import implib
g = vars(implib)
batch, spectrum, request = g["batch"], g["spectrum"], g["request"]
url = sys.argv[1]
fails = 0
seq = [0]

def bid():
    seq[0] += 1
    return "t-%d-%d" % (int(time.time() * 1e3), seq[0])

def case(name, path, body, want, field=None):
    global fails
    st, h, data = request(url, "POST", path, json.dumps(body))
    why = []
    if st != want:
        why.append("status %d, want %d" % (st, want))
    try:
        d = json.loads(data)
    except Exception:
        d = {}
        why.append("body is not JSON: %r" % data[:200])
    if want == 400:
        if d.get("success") is not False or not d.get("error"):
            why.append("not a JSON error")
        if d.get("field") != field:
            why.append("field %r, want %r" % (d.get("field"), field))
    if why:
        fails += 1
        print("FAIL: %s: %s (%s)" % (name, "; ".join(why), data[:200]))
    else:
        print("ok: %s: %d %s" % (name, st, data[:100].decode(errors="replace")))

def top(v):
    b = batch(bid(), 3, 20)
    b["timeout"] = v
    return b

def per(i, v, top_v=None):
    b = batch(bid(), 5, 20)
    if top_v is not None:
        b["timeout"] = top_v
    b["spectra"][i]["timeout"] = v
    return b

for v in (2.5, 1, 0.001, "500ms", "2s", "1m30s", "250us", None):
    case("batch timeout %r" % (v,), "/eis-data/batch", top(v), 202)
case("spectrum timeout over the batch's", "/eis-data/batch", per(3, "100ms", 2), 202)
case("timeout in impedance_data", "/eis-data/batch",
     dict(batch(bid(), 1, 20), spectra=[{"impedance_data": dict(spectrum(0, 20), timeout=3)}]), 202)
case("single: timeout", "/eis-data", dict(spectrum(1, 20), timeout="1.5s"), 200)
bad = [0, -1, -0.5, 0.0, 1e-12, 1e11, "0s", "-1s", "soon", "", "2 s", "1e400s",
       True, [1], {"s": 1}]
for v in bad:
    case("batch timeout %r" % (v,), "/eis-data/batch", top(v), 400, "timeout")
case("spectrum timeout 0", "/eis-data/batch", per(3, 0), 400, "spectra[3].timeout")
case("spectrum timeout 'fast' under a good batch one", "/eis-data/batch",
     per(4, "fast", "2s"), 400, "spectra[4].timeout")
case("single: timeout -2", "/eis-data", dict(spectrum(1, 20), timeout=-2), 400, "timeout")
for v in (".", ".."):
    case("batch id %r" % v, "/eis-data/batch", batch(v, 2, 20), 400, "batch_id")
for v in ("...", ".a", "a..b", "..x"):
    case("batch id %r" % v, "/eis-data/batch", batch(v, 2, 20), 202)
sys.exit(1 if fails else 0)
PYEOF
"$PY" "$T/cases.py" "$SRV_URL" "$T" || srv_fail "timeout and batch id cases"

# the server is still there and well
$CURL -sf -o /dev/null "$SRV_URL/health" || srv_fail "/health after the cases"
srv_stop || srv_fail "impsolverd exit status $?"
srv_done
