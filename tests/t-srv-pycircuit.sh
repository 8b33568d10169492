#!/bin/sh
# impedance.py's circuit strings in the API (issue 15, part 2): a sync fit
# of impedance.py's example answers in its syntax and names (circuit_type,
# element_names R0 ... Wo1_0, element_impedances), constants and bounds by
# those names, GET /eis-data describes them, and a queued circuit longer than the old 47-byte record
# field comes back whole from GET and from impctl, also after the server
# stopped.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-pycircuit 180
IMPCTL=$IMP_BUILDDIR/src/impctl/impctl

srv_start -threads=1 -queue-size=100 -results=200

cat >"$T/py.py" <<'PYEOF'
import json, sys, time
import os, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
import implib
g = vars(implib)
request, wait_batch = g["request"], g["wait_batch"]
url, data = sys.argv[1], sys.argv[3]
fails = 0

def fail(msg):
    global fails
    fails += 1
    print("FAIL: " + msg)

def post(path, body):
    st, h, d = request(url, "POST", path, json.dumps(body))
    try:
        return st, json.loads(d)
    except Exception:
        return st, {"raw": d[:200]}

f, zr, zi = [], [], []
for line in open(data + "/exampleData_ignoreBelowX.3col.txt"):
    if line.startswith("#") or not line.strip():
        continue
    a = [float(x) for x in line.split()]
    f.append(a[0]); zr.append(a[1]); zi.append(a[2])
spec = {"frequencies": f,
        "impedance": [{"real": a, "imag": b} for a, b in zip(zr, zi)]}

# impedance.py's example; impedance.py's own fit reaches 3.408802049e-07
ex = "R0-p(R1,C1)-p(R2-Wo1,C2)"
st, r = post("/eis-data", dict(spec, circuit=" R0 - p(R1,C1) - p(R2-Wo1, C2)",
                               weighting="unity"))
if st != 200:
    fail("example: %d %s" % (st, r))
else:
    want = ["R0", "R1", "C1", "R2", "Wo1_0", "Wo1_1", "C2"]
    if r["circuit_type"] != ex or r["element_names"] != want:
        fail("example: circuit_type %r names %r" % (r["circuit_type"], r["element_names"]))
    elif [e["name"] for e in r["element_impedances"]] != ["R0", "R1", "C1", "R2", "Wo1", "C2"]:
        fail("element_impedances %r" % [e["name"] for e in r["element_impedances"]])
    elif not r["chi_square"] <= 3.408802049e-07:
        fail("example: chi-square %g, impedance.py 3.408802049e-07" % r["chi_square"])
    else:
        print("ok: example: chi-square %g (impedance.py 3.4088e-07)" % r["chi_square"])

# constants and bounds by impedance.py's names
st, r = post("/eis-data", dict(spec, circuit="R0-p(R1,CPE1)-Wo1",
                               constants={"Wo1_1": 100}, bounds={"CPE1_1": [0.5, 0.9]}))
if st != 200 or r["parameters"][5] != 100 or r["std_errors"][5] is not None \
        or not 0.5 <= r["parameters"][3] <= 0.9:
    fail("constants/bounds: %d %s" % (st, {k: r.get(k) for k in ("parameters", "std_errors", "error")}))
else:
    print("ok: Wo1_1 held, CPE1_1 bounded: %s" % r["parameters"])
for body, field in [(dict(spec, circuit="R0-p(R1,CPE1)", bounds={"CPE1.n": [0, 1]}), "bounds.CPE1.n"),
                    (dict(spec, circuit="R0-p(R1,CPE1)", bounds={"CPE1_1": [0, 2]}), "bounds.CPE1_1"),
                    (dict(spec, circuit="R0-p(R1,Q1)"), "circuit"),
                    (dict(spec, circuit="R0-p(R1" + ",C1" * 40 + ")"), "circuit")]:
    st, d = post("/eis-data", body)
    if st != 400 or not (d.get("field") or "").endswith(field):
        fail("%s: %d %s" % (field, st, d))
    else:
        print("ok: 400 %s: %s" % (d["field"], d["error"]))

# the self-description lists impedance.py's elements and the syntax
st, h, d = request(url, "GET", "/eis-data")
try:
    d = json.loads(d)
    names = [e["name"] for e in d["impedance_py_elements"]]
    mb = d["circuit_syntax"]["max_bytes"]
except Exception as ex:
    names, mb = repr(ex), None
if names != ["R", "C", "L", "W", "Wo", "Ws", "CPE", "La", "G", "Gs", "K", "Zarc", "TLMQ", "T"] or mb != 127:
    fail("GET /eis-data: %s %s" % (names, mb))
else:
    print("ok: GET /eis-data: impedance_py_elements, circuit_syntax")

# queued: a canonical code of 56 bytes, stored in the record
long_code = "R0-p(R1000,CPE1000)-p(R2000-Wo1000,C2000)-Zarc1000-K1000"
bid = "py-%d" % int(time.time() * 1000)
st, d = post("/eis-data/batch", {"batch_id": bid, "circuit": long_code,
             "spectra": [{"iteration": 0, "impedance_data": spec}]})
if st != 202:
    fail("batch: %d %s" % (st, d))
else:
    res = wait_batch(url, bid, 120)["results"][0]
    if res.get("status") != "done" or res.get("circuit_type") != long_code \
            or res.get("element_names", [""])[-1] != "K1000_1":
        fail("batch result: %s" % {k: res.get(k) for k in ("status", "circuit_type", "element_names", "error")})
    else:
        print("ok: batch: %s, %d parameters" % (res["circuit_type"], len(res["parameters"])))
print(bid)
sys.exit(1 if fails else 0)
PYEOF
"$PY" "$T/py.py" "$SRV_URL" "$T" "$IMP_SRCDIR/tests/data/impedancepy" > "$T/py.out" ||
    srv_fail "impedance.py circuits"
cat "$T/py.out"
bid=$(tail -1 "$T/py.out")
srv_stop || srv_fail "impsolverd exit status $?"
# impctl reads the record after the server stopped
"$IMPCTL" -d "$STATE" batch "$bid" > "$T/ctl" 2>&1 || srv_fail "impctl batch: exit $?"
if grep -q 'R0-p(R1000,CPE1000)-p(R2000-Wo1000,C2000)-Zarc1000-K1000' "$T/ctl" &&
    grep -q 'Zarc1000_2=' "$T/ctl"; then
	srv_ok "impctl batch: circuit and names"
else
	srv_fail "impctl batch: $(cat "$T/ctl")"
fi
srv_done
