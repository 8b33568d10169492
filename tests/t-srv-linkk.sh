#!/bin/sh
# impcore - "validate": "linkk" and "drt": true in requests (issue 16): at
# batch level and overridden per spectrum, a finished result has a "linkk"
# object with impedance.py's M, mu and residuals for the options given
# (tests/linkk-ref.jsonl) and a "drt" object whose area is R_pol; POST
# /eis-data too; bad values are refused with 400 naming the field.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-linkk 300
[ -d "$IMP_SHARED/data" ] || skip "no shared data at $IMP_SHARED/data"

"$PY" - "$IMP_SHARED/data/impedancepy/exampleData.csv" > "$T/batch.json" <<'PYEOF'
import json, sys
rows = [l.split(',') for l in open(sys.argv[1]) if l[0].isdigit()]
imp = {"frequencies": [float(r[0]) for r in rows],
       "impedance": [{"real": float(r[1]), "imag": float(r[2])} for r in rows]}
print(json.dumps({"batch_id": "kk-1", "circuit": "R(QR)(QR)", "validate": "linkk",
    "drt": True, "spectra": [
    {"iteration": 0, "impedance_data": imp},
    {"iteration": 1, "impedance_data": imp, "linkk_fit_type": "complex",
     "linkk_add_cap": True, "drt": False},
    {"iteration": 2, "impedance_data": imp, "validate": "none", "drt_lambda": 0.01}]}))
PYEOF
"$PY" - "$IMP_SHARED/data/impedancepy/exampleData.csv" > "$T/one.json" <<'PYEOF'
import json, sys
rows = [l.split(',') for l in open(sys.argv[1]) if l[0].isdigit()]
d = {"frequencies": [float(r[0]) for r in rows],
     "impedance": [{"real": float(r[1]), "imag": float(r[2])} for r in rows],
     "circuit": "R(QR)(QR)", "validate": "linkk", "linkk_fit_type": "imag",
     "linkk_max_m": 10}
print(json.dumps(d))
PYEOF
srv_start
st=$($CURL -s -o "$T/post" -w '%{http_code}' -d @"$T/batch.json" "$SRV_URL/eis-data/batch")
[ "$st" = 202 ] || srv_bail "POST batch: $st $(cat "$T/post")"
"$PY" - "$SRV_URL/eis-data/batch/kk-1" "$IMP_SRCDIR/tests/linkk-ref.jsonl" <<'PYEOF' || srv_fail "batch kk-1"
import json, math, sys, time, urllib.request
for _ in range(1200):
    d = json.load(urllib.request.urlopen(sys.argv[1], timeout=30))
    if d["done"] + d["failed"] == 3:
        break
    time.sleep(0.1)
ref = {(r["file"], r["fit_type"], r["add_cap"]): r for r in map(json.loads, open(sys.argv[2]))}
res = sorted(d["results"], key=lambda r: r["iteration"])
bad = 0
def want(cond, what):
    global bad
    print(("ok: " if cond else "FAIL: ") + what)
    bad += not cond
want(len(res) == 3 and all(r["status"] == "done" for r in res), "3 spectra done")
for r, ft, cap in ((res[0], "real", False), (res[1], "complex", True)):
    k, w = r.get("linkk"), ref[("impedancepy/exampleData.csv", ft, cap)]
    d = max([abs(k["mu"] - w["mu"])] + [abs(a - b) for a, b in zip(k["residuals_real"] + k["residuals_imag"], w["residuals_real"] + w["residuals_imag"])])
    want(k["M"] == w["M"] and d <= 1e-6 and k["fit_type"] == ft and k["add_cap"] == cap and k["c"] == 0.85 and k["max_m"] == 50,
         "spectrum %d: linkk %s add_cap=%s M %d (impedance.py %d) max|diff| %.2g" % (r["iteration"], ft, cap, k["M"], w["M"], d))
    want(abs(k["pseudo_chi_square"] - sum(a * a for a in k["residuals_real"] + k["residuals_imag"])) < 1e-9, "pseudo_chi_square")
want("linkk" not in res[2], "validate none: no linkk object")
want("drt" not in res[1], "drt false per spectrum: no drt object")
for r, lam in ((res[0], 1e-3), (res[2], 0.01)):
    g = r["drt"]
    t, y = g["tau"], g["gamma"]
    area = sum(0.5 * (y[k] + y[k - 1]) * math.log(t[k] / t[k - 1]) for k in range(1, len(t)))
    want(g["lambda"] == lam and abs(area - g["R_pol"]) < 0.01 * g["R_pol"] and min(y) >= 0 and
         len(g["real_impedance"]) == len(r["frequencies"]) and g["R_inf"] > 0,
         "spectrum %d: drt lambda %g R_inf %.4g R_pol %.4g area %.4g" % (r["iteration"], g["lambda"], g["R_inf"], g["R_pol"], area))
sys.exit(1 if bad else 0)
PYEOF
st=$($CURL -s -o "$T/one" -w '%{http_code}' -d @"$T/one.json" "$SRV_URL/eis-data")
[ "$st" = 200 ] || srv_fail "POST /eis-data: $st $(head -c 300 "$T/one")"
"$PY" -c '
import json, sys; k = json.load(open(sys.argv[1]))["linkk"]
sys.exit(0 if k["fit_type"] == "imag" and k["max_m"] == 10 and k["M"] <= 10 else 1)' "$T/one" ||
    srv_fail "POST /eis-data linkk: $(head -c 300 "$T/one")"
srv_ok "POST /eis-data with validate"
for bad in '"validate": "kk"' '"linkk_c": 2' '"linkk_max_m": 0' \
    '"linkk_fit_type": "both"' '"linkk_add_cap": 1' '"drt": "yes"' '"drt_lambda": -1'; do
	f=$(echo "$bad" | sed 's/"\([a-z_]*\)".*/\1/')
	st=$($CURL -s -o "$T/e" -w '%{http_code}' -d "{\"frequencies\": [1, 2, 3, 4],
	    \"impedance\": [{\"real\": 1, \"imag\": -1}, {\"real\": 1, \"imag\": -1},
	    {\"real\": 1, \"imag\": -1}, {\"real\": 1, \"imag\": -1}], \"circuit\": \"R\", $bad}" \
	    "$SRV_URL/eis-data")
	[ "$st" = 400 ] && grep -q "$f" "$T/e" || srv_fail "$bad: $st $(cat "$T/e")"
done
srv_ok "bad values refused"
$CURL -s "$SRV_URL/eis-data" > "$T/desc"
"$PY" -c '
import json, sys; d = json.load(open(sys.argv[1]))
sys.exit(0 if "validate" in d["input"]["optional"] and "drt" in d["input"] and
         any("plot.svg" in k for k in d["endpoints"]) else 1)' "$T/desc" ||
    srv_fail "GET /eis-data does not describe validate, drt and plot.svg: $(cat "$T/desc")"
srv_done
