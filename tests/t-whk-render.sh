#!/bin/sh
# impcore - t-whk-render: what the render caches (issue 18) must not change.
# The webhook process and the workers keep the last circuit, Student's t
# of the last dof and the last frequencies' text between results, and
# copy a number that repeats: a batch mixing frequencies, sizes and
# circuits is delivered (-webhook-mode=batch) with every result object
# equal to GET's, its frequencies the ones posted, and its 95 % intervals
# params -/+ t95(dof) se with t95 of its own dof.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
ctl_init t-whk-render 120

sink_start
daemon_start -webhook-url="http://127.0.0.1:$SPORT/hook" -webhook-mode=batch
# A, B: the same size, other frequencies; C: fewer points; D: another
# circuit on A's frequencies; E: A again (the caches hold D's by then)
python3 - >"$T/b.json" <<'PY'
import json, math
def spec(it, n, f0, cdc=None, r1=100.0):
    freq = [f0 * 10 ** (-6 * i / (n - 1)) for i in range(n)]
    # 1 % of "noise" (fixed): exact data would give standard errors so
    # small that p -/+ t95 se is p whatever t95
    z = [(10 + 1 / (1 / r1 + 2j * math.pi * f * 1e-4)) *
         (1 + 0.01 * math.sin(7 * i + it)) for i, f in enumerate(freq)]
    s = {"iteration": it, "impedance_data": {"frequencies": freq,
         "impedance": [{"real": c.real, "imag": c.imag} for c in z]}}
    if cdc:
        s["circuit"] = cdc
    return s
print(json.dumps({"batch_id": "wrender", "spectra": [
    spec(0, 23, 1e5), spec(1, 23, 3e5), spec(2, 10, 1e5),
    spec(3, 23, 1e5, "R(QR)"), spec(4, 23, 1e5, r1=120.0)]}))
PY
code=$(post /eis-data/batch "$T/b.json")
[ "$code" = 202 ] || fail "batch: HTTP $code $(cat "$T/resp")"
wait_until 30 sink_ge 1 && ok "batch delivered" || fail "batch not delivered"
curl -s --max-time 30 "$API/eis-data/batch/wrender" >"$T/get.json"
python3 - "$T/sink.jsonl" "$T/get.json" "$T/b.json" <<'PY' || fail "results (see above)"
import json, sys
# Student's t, P(|T| < t) = 0.95, of the dofs here (2 n - parameters), as
# impfit_t95 gives them (SciPy's t.ppf(0.975) agrees to 1e-13): the server's
# lo = p - t95 se is then the same double here
T95 = {43: 2.0166921992278222, 42: 2.0180817028184426, 17: 2.1098155778333183}
sent = [json.loads(l) for l in open(sys.argv[1])]
body = json.loads(sent[0]["body"])
get = json.load(open(sys.argv[2]))["results"]
posted = json.load(open(sys.argv[3]))["spectra"]
bad = 0
def check(c, what):
    global bad
    print(("ok: " if c else "FAIL: ") + what)
    bad += not c
check(len(sent) == 1 and len(body["results"]) == 5, "one POST with 5 results")
for r, g, p in zip(body["results"], get, posted):
    it = r["iteration"]
    check(r == g, "%d: the delivered object is GET's" % it)
    check(r["frequencies"] == p["impedance_data"]["frequencies"],
          "%d: its frequencies are the ones posted" % it)
    n, k = len(r["frequencies"]), len(r["parameters"])
    check(r["dof"] == 2 * n - k, "%d: dof %d" % (it, r["dof"]))
    t = T95[r["dof"]]
    check(r["ci95_low"] == [p_ - t * se for p_, se in
                            zip(r["parameters"], r["std_errors"])] and
          r["ci95_high"] == [p_ + t * se for p_, se in
                             zip(r["parameters"], r["std_errors"])],
          "%d: ci95 with t95(%d)" % (it, r["dof"]))
    check(len(r["element_impedances"][0]["impedances"]) == n and
          all(z == {"real": r["parameters"][0], "imag": 0}
              for z in r["element_impedances"][0]["impedances"]),
          "%d: R0's impedance R0 at every frequency" % it)
sys.exit(1 if bad else 0)
PY
daemon_term 10 && ok "SIGTERM: daemon exited" || fail "daemon did not exit 0 within 10 s of SIGTERM (status $DRC)"
no_sanitizer_reports
done_tests
