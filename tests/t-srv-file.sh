#!/bin/sh
# POST /eis-data/file (issue 15): the raw file as the body, the
# options as query parameters; 202 like a batch with one spectrum per
# spectrum of the file (its Spectrum_Number as iteration), 415 for bytes
# no reader knows, 400 naming the line of a broken file or the parameter,
# 413 past -max-points; the results are fitted like a batch's.  Every
# format of round 3 (Ivium, PalmSens, .dfr, .P00, .i2b) goes through it.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-file 180

srv_start -threads=1 -queue-size=100 -results=200 -max-points=200

cat >"$T/file.py" <<'PYEOF'
import json, sys, time, urllib.parse
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

def post(query, body):
    st, h, raw = request(url, "POST", "/eis-data/file?" + query, body)
    try:
        return st, json.loads(raw)
    except Exception:
        return st, {"raw": raw[:200]}

def read(path):
    with open(path, "rb") as fp:
        return fp.read()

# three spectra numbered 3, 4, 7 (R0 + R1 || C1: 10, 100, 1e-5; 12, 80,
# 2e-5; 9, 150, 5e-6), a timeout, a method: all three fitted
bid = "file-%d" % int(time.time() * 1000)
st, d = post("circuit=R(RC)&method=lm&timeout=10&max_iterations=2000&batch_id=" + bid,
             read(data + "/variants/multi-number.csv"))
if st != 202 or d.get("spectra") != 3 or d.get("batch_id") != bid:
    fail("multi-number.csv: %d %s" % (st, d))
else:
    res = {r["iteration"]: r for r in wait_batch(url, bid, 120)["results"]}
    want = {3: [10, 100, 1e-5], 4: [12, 80, 2e-5], 7: [9, 150, 5e-6]}
    bad = [i for i in want if res.get(i, {}).get("status") != "done" or
           not all(abs(a - b) <= 1e-3 * b for a, b in zip(res[i]["parameters"], want[i]))]
    if sorted(res) != [3, 4, 7] or bad:
        fail("multi-number.csv results: %s" % {i: (r.get("status"), r.get("parameters")) for i, r in res.items()})
    else:
        print("ok: 202, 3 spectra (iterations 3, 4, 7) fitted: %s" % res[4]["parameters"])

# instrument files, detected by content; a forced format; the name's extension
for q, f, n in (("circuit=R(RC)", "impedancepy/exampleDataBioLogic.mpt", 1),
                ("circuit=R(RC)&format=gamry", "impedancepy/exampleDataGamry.DTA", 1),
                ("circuit=R(RC)&name=x.z", "impedancepy/Circuit1_EIS_1.z", 1),
                ("circuit=R(RC)", "variants/gamry-drift.DTA", 2),
                ("circuit=R%28RC%29&weighting=unity", "variants/semicolon-deccomma.csv", 1)):
    st, d = post(q, read(data + "/" + f))
    if st != 202 or d.get("spectra") != n:
        fail("%s: %d %s" % (f, st, d))
    else:
        done = wait_batch(url, d["batch_id"], 120)
        if done["done"] != n:
            fail("%s: %s" % (f, json.dumps(done)[:300]))
        else:
            print("ok: %s?%s: 202, %d spectra done" % (f, q, n))

# the readers of round 3: a PalmSens session (UTF-16 JSON, a CV measurement
# skipped, two EIS ones), an Ivium sequence, an Autolab .dfr by its name,
# a .P00 by content, an .i2b forced; the session's fits are checked
for q, f, n in (("circuit=R(RC)&method=lm&timeout=10", "variants/palmsens.pssession", 2),
                ("circuit=R(RC)", "variants/ivium-seq.ids", 2),
                ("circuit=R(RC)&name=cell.dfr", "variants/autolab.dfr", 1),
                ("circuit=R(RC)", "variants/parstat.P00", 1),
                ("circuit=R(RC)&format=elchemea", "variants/elchemea.i2b", 1)):
    st, d = post(q, read(data + "/" + f))
    if st != 202 or d.get("spectra") != n:
        fail("%s: %d %s" % (f, st, d))
        continue
    done = wait_batch(url, d["batch_id"], 120)
    if done["done"] != n:
        fail("%s: %s" % (f, json.dumps(done)[:300]))
        continue
    if f.endswith(".pssession"):
        res = {r["iteration"]: r for r in done["results"]}
        want = {0: [10, 100, 1e-5], 1: [9, 150, 5e-6]}
        bad = [i for i in want if res.get(i, {}).get("status") != "done" or
               not all(abs(a - b) <= 1e-3 * b for a, b in zip(res[i]["parameters"], want[i]))]
        if sorted(res) != [0, 1] or bad:
            fail("%s results: %s" % (f, {i: (r.get("status"), r.get("parameters")) for i, r in res.items()}))
            continue
    print("ok: %s?%s: 202, %d spectra done" % (f, q, n))

# refusals
blob = bytes(range(256)) * 20
big = "f,Z',Z''\n" + "".join("%d,10,-1\n" % (k + 1) for k in range(300))
cases = [
    ("circuit=R(RC)", blob, 415, None, "no reader knows"),
    ("circuit=R(RC)", read(data + "/variants/broken-number.csv"), 400, None, "line 3: text: expected a number in column 3"),
    ("circuit=R(RC)", read(data + "/impedancepy/exampleDataBioLogic_MissingFreq.mpt"), 400, None, "line 61: biologic"),
    ("circuit=R(RC)", b"", 400, None, "empty file"),
    ("circuit=R(RC)", read(data + "/variants/broken-dfr.dfr"), 400, None, "line 14: dfr: expected a number (Z' of point 2)"),
    ("circuit=R(RC)", read(data + "/variants/broken-palmsens.pssession"), 400, None, "line 1: palmsens: invalid JSON at column 122"),
    ("circuit=R(RC)&name=x.idf", read(data + "/variants/broken-ivium.idf"), 400, None, "line 6: ivium: primary_data (line 4) counts 3 points, found 2"),
    ("circuit=R(RC)", big, 413, None, "more than the limit 200"),
    ("circuit=R(RC)&format=nosuch", read(data + "/variants/comma-header.csv"), 400, "format", "unknown format"),
    ("circuit=R(RC)&colour=blue", read(data + "/variants/comma-header.csv"), 400, "colour", "unknown query parameter"),
    ("circuit=R(XC)", read(data + "/variants/comma-header.csv"), 400, "circuit", ""),
    ("circuit=R(RC)&max_iterations=abc", read(data + "/variants/comma-header.csv"), 400, "max_iterations", ""),
    ("circuit=R(RC)&initial_values=1,x", read(data + "/variants/comma-header.csv"), 400, "initial_values", ""),
]
for q, body, status, field, msg in cases:
    st, d = post(q, body)
    if st != status or (field and d.get("field") != field) or msg not in d.get("error", ""):
        fail("%s: %d %s, want %d %s '%s'" % (q, st, d, status, field, msg))
    else:
        print("ok: %d%s: %s" % (st, " (%s)" % d["field"] if field else "", d["error"]))
st, h, raw = request(url, "GET", "/eis-data/file")
if st != 405 or h.get("allow") != "POST":
    fail("GET /eis-data/file: %d %s" % (st, h))
else:
    print("ok: GET /eis-data/file: 405, Allow: POST")
sys.exit(1 if fails else 0)
PYEOF
"$PY" "$T/file.py" "$SRV_URL" "$T" "$IMP_SRCDIR/tests/data/readers" || srv_fail "POST /eis-data/file"
srv_stop || srv_fail "impsolverd exit status $?"
srv_done
