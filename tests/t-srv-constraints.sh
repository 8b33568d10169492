#!/bin/sh
# Constraints (issue 15, part 3): "constants" and "bounds" at batch or
# spectrum level.  A held parameter comes back exactly at its value with
# std_error null (sync, and queued: the constraints are stored with the
# job); a bound is respected; a name the circuit lacks or a bound outside
# the parameter's domain is a 400 naming it.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-constraints 120

srv_start -threads=1 -queue-size=100 -results=200

cat >"$T/cons.py" <<'PYEOF'
import json, sys, time
import os, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
import implib
g = vars(implib)
spectrum, batch, request, wait_batch = g["spectrum"], g["batch"], g["request"], g["wait_batch"]
url = sys.argv[1]
fails = 0

def fail(msg):
    global fails
    fails += 1
    print("FAIL: " + msg)

def post(path, body):
    body.setdefault("circuit", "R(RC)")   # R0, R1, C0
    st, h, data = request(url, "POST", path, json.dumps(body))
    try:
        return st, json.loads(data)
    except Exception:
        return st, {"raw": data[:200]}

# spectrum 0 is R(RC) at R0 = 10, R1 = 100, C0 = 1e-5
st, r = post("/eis-data", dict(spectrum(0, 30), constants={"R0": 12.5}))
if st != 200 or r["parameters"][0] != 12.5 or r["std_errors"][0] is not None:
    fail("sync constant: %d %s" % (st, {k: r.get(k) for k in ("parameters", "std_errors", "error")}))
elif r["dof"] != 2 * 30 - 2 or r["ci95_low"][0] is not None:
    fail("sync constant: dof %r ci95_low %r" % (r["dof"], r["ci95_low"]))
else:
    print("ok: sync constant R0 = 12.5: %s" % r["parameters"])
st, r = post("/eis-data", dict(spectrum(0, 30), bounds={"R1": [0, 50]}))
if st != 200 or not 0 <= r["parameters"][1] <= 50:
    fail("sync bound: %d %s" % (st, r.get("parameters")))
else:
    print("ok: sync bound R1 in [0, 50]: %s" % r["parameters"])

# queued: batch-level constants, one spectrum overriding them
bid = "cons-%d" % int(time.time() * 1000)
b = batch(bid, 3, 30)
b["constants"] = {"R0": 11}
b["spectra"][2]["constants"] = {"C0": 2e-5}
b["spectra"][1]["bounds"] = {"R1": [0, 80]}
st, d = post("/eis-data/batch", b)
if st != 202:
    fail("batch: %d %s" % (st, d))
else:
    res = {x["iteration"]: x for x in wait_batch(url, bid, 60)["results"]}
    p = [res[i].get("parameters") for i in range(3)]
    e = [res[i].get("std_errors") for i in range(3)]
    if p[0][0] != 11 or e[0][0] is not None:
        fail("batch constant R0 = 11: %s %s" % (p[0], e[0]))
    if p[1][0] != 11 or not p[1][1] <= 80:
        fail("batch constant and spectrum bound: %s" % p[1])
    if res[2].get("element_names") != ["R0", "R1", "C0"]:
        fail("element names %s" % res[2].get("element_names"))
    if p[2][2] != 2e-5 or e[2][2] is not None or e[2][0] is None:
        fail("spectrum constants replace the batch's: %s %s" % (p[2], e[2]))
    print("ok: queued: %s" % p)

# refusals name the parameter
cases = [
    ("/eis-data", dict(spectrum(0, 30), constants={"X9": 1}), "constants.X9"),
    ("/eis-data", dict(spectrum(0, 30), bounds={"R0": [-1, 5]}), "bounds.R0"),
    ("/eis-data", dict(spectrum(0, 30), bounds={"R0": [5, 4]}), "bounds.R0"),
    ("/eis-data", dict(spectrum(0, 30), constants={"R0": 0}), "constants.R0"),
    ("/eis-data", dict(spectrum(0, 30), constants={"R0": "1"}), "constants.R0"),
    ("/eis-data", dict(spectrum(0, 30), bounds={"R0": [1]}), "bounds.R0"),
    ("/eis-data", dict(spectrum(0, 30), constants=[1]), "constants"),
    ("/eis-data", dict(spectrum(0, 30), circuit="R(QR)", bounds={"Q0.n": [0.5, 2]}), "bounds.Q0.n"),
    ("/eis-data/batch", dict(batch(None, 2, 30), bounds={"C9": [0, 1]}), "bounds.C9"),
]
for path, body, field in cases:
    st, d = post(path, body)
    if st != 400 or not (d.get("field") or "").endswith(field):
        fail("%s: %d %s, want 400 naming %s" % (field, st, d, field))
    else:
        print("ok: 400 %s: %s" % (d["field"], d["error"]))
sys.exit(1 if fails else 0)
PYEOF
"$PY" "$T/cons.py" "$SRV_URL" "$T" || srv_fail "constants and bounds"
srv_stop || srv_fail "impsolverd exit status $?"
srv_done
