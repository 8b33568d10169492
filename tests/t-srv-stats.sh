#!/bin/sh
# Fit statistics in every result (issue 15, part 4): POST /eis-data and
# GET /eis-data/batch/{id} carry residuals_real/imag (relative to |Z|),
# dof, rmse, aic, bic, ci95_low/high; each is checked against its textbook
# formula, recomputed here from the data sent and the model returned, with
# Student's t integrated numerically (no table shared with the server).
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-stats 120

srv_start -threads=1 -queue-size=100 -results=200

cat >"$T/stats.py" <<'PYEOF'
import json, math, random, sys, time
import os, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
import implib
g = vars(implib)
spectrum, request, wait_batch = g["spectrum"], g["request"], g["wait_batch"]
url = sys.argv[1]
fails = 0

def fail(msg):
    global fails
    fails += 1
    print("FAIL: " + msg)

def t95(nu):
    """P(|T| < t) = 0.95 by Simpson's rule on the density and bisection."""
    c = math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(nu * math.pi)
    pdf = lambda x: c * (1 + x * x / nu) ** (-(nu + 1) / 2)
    def central(t, n=4000):
        h = t / n
        s = pdf(0) + pdf(t) + sum((4 if k % 2 else 2) * pdf(k * h) for k in range(1, n))
        return 2 * s * h / 3
    lo, hi = 0.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if central(mid) < 0.95 else (lo, mid)
    return (lo + hi) / 2

def near(a, b, rel=1e-9, absol=1e-12):
    return a is not None and b is not None and abs(a - b) <= rel * max(abs(a), abs(b)) + absol

def check(name, r, d, weighting):
    for k in ("residuals_real", "residuals_imag", "dof", "rmse", "aic", "bic",
              "ci95_low", "ci95_high"):
        if k not in r:
            fail("%s: no %s in %s" % (name, k, sorted(r)))
            return
    n, k = len(d["frequencies"]), len(r["parameters"])
    zo = [complex(x["real"], x["imag"]) for x in d["impedance"]]
    zf = [complex(a, b) for a, b in zip(r["real_impedance"], r["imaginary_impedance"])]
    rr = [(o - f).real / abs(o) for o, f in zip(zo, zf)]
    ri = [(o - f).imag / abs(o) for o, f in zip(zo, zf)]
    if not all(near(a, b, 1e-6, 1e-12) for a, b in zip(rr, r["residuals_real"])) or \
       not all(near(a, b, 1e-6, 1e-12) for a, b in zip(ri, r["residuals_imag"])):
        fail("%s: residuals differ from (Zobs - Zfit) / |Zobs|" % name)
    if r["dof"] != 2 * n - k:
        fail("%s: dof %r, want %d" % (name, r["dof"], 2 * n - k))
    if weighting == "unity":
        ssr = sum(abs(o - f) ** 2 for o, f in zip(zo, zf))
    else:
        ssr = sum(a * a + b * b for a, b in zip(rr, ri))
    m = 2 * n
    aic = m * math.log(ssr / m) + 2 * k
    bic = m * math.log(ssr / m) + k * math.log(m)
    rmse = math.sqrt(sum(abs(o - f) ** 2 for o, f in zip(zo, zf)) / n)
    for key, want in (("aic", aic), ("bic", bic), ("rmse", rmse)):
        if not near(r[key], want, 1e-6):
            fail("%s: %s %r, want %r" % (name, key, r[key], want))
    t = t95(2 * n - k)
    for i, (p, se) in enumerate(zip(r["parameters"], r["std_errors"])):
        if not near(r["ci95_low"][i], p - t * se, 1e-7) or \
           not near(r["ci95_high"][i], p + t * se, 1e-7):
            fail("%s: ci95 of %d: [%r, %r], want [%r, %r]" % (name, i,
                 r["ci95_low"][i], r["ci95_high"][i], p - t * se, p + t * se))
    print("ok: %s: dof %d rmse %.4g aic %.6g bic %.6g t %.6f" % (
        name, r["dof"], r["rmse"], r["aic"], r["bic"], t))

# noisy data, so that residuals and errors are not zero
random.seed(15)
d = spectrum(3, 30)
for z in d["impedance"]:
    z["real"] *= 1 + 0.01 * random.gauss(0, 1)
    z["imag"] *= 1 + 0.01 * random.gauss(0, 1)
for w in ("modulus", "unity"):
    body = dict(d, weighting=w)
    st, h, data = request(url, "POST", "/eis-data", json.dumps(body))
    if st != 200:
        fail("single %s: %d %s" % (w, st, data[:200]))
        continue
    check("single, %s weighting" % w, json.loads(data), d, w)

bid = "stats-%d" % int(time.time() * 1000)
st, h, data = request(url, "POST", "/eis-data/batch", json.dumps(
    {"batch_id": bid, "spectra": [{"iteration": 0, "impedance_data": d}]}))
if st != 202:
    fail("batch: %d %s" % (st, data[:200]))
else:
    b = wait_batch(url, bid, 60)
    check("batch status GET", b["results"][0], d, "modulus")
sys.exit(1 if fails else 0)
PYEOF
"$PY" "$T/stats.py" "$SRV_URL" "$T" || srv_fail "fit statistics"
srv_stop || srv_fail "impsolverd exit status $?"
srv_done
