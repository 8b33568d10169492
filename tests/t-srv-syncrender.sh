#!/bin/sh
# impsolverd: the Lin-KK and DRT of a POST /eis-data run in the fitting
# thread, not the HTTP thread (issue 12; the XXX of wrk_api.c's
# single_done).  Two sync POSTs of 4000 points asking for "validate":
# "linkk" (linkk_max_m 200) and "drt": true on the only worker; /health is
# probed all along and every probe is answered within 1 s, and both answers
# carry their "linkk" and "drt" objects.  (Before, the answer was rendered
# in the HTTP thread: a second or more of Lin-KK and DRT per POST during
# which /health waited.)
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-syncrender 300

srv_start -threads=1 -max-points=4000
pids0=$(srv_children | sort | tr '\n' ' ')
"$PY" - "$SRV_URL" <<'PYEOF' || srv_fail "sync Lin-KK/DRT beside /health"
import http.client, json, math, sys, threading, time
host, port = sys.argv[1].split("//")[1].split(":")
N = 4000
fr = [10 ** (6 - 8 * k / (N - 1)) for k in range(N)]
def z(f):
    w = 2 * math.pi * f
    return 10 + 100 / (1 + 1j * w * 1e-2) + 50 / (1 + 1j * w * 0.5)
body = json.dumps({"frequencies": fr,
    "impedance": [{"real": z(f).real, "imag": z(f).imag} for f in fr],
    "circuit": "R(RC)(RC)", "validate": "linkk", "linkk_max_m": 200, "drt": True})
bad = 0
def check(desc, ok, detail=""):
    global bad
    print(("ok: " if ok else "FAIL: ") + desc + (" " + detail if detail else ""))
    bad += not ok
answers = []
def post():
    try:
        c = http.client.HTTPConnection(host, int(port), timeout=240)
        c.request("POST", "/eis-data", body=body)
        r = c.getresponse()
        answers.append((r.status, json.loads(r.read())))
        c.close()
    except Exception as e:
        answers.append((0, {"error": str(e)}))
th = [threading.Thread(target=post) for _ in range(2)]
for t in th:
    t.start()
time.sleep(0.1)
worst, n = 0.0, 0
while any(t.is_alive() for t in th):
    t0 = time.time()
    try:
        c = http.client.HTTPConnection(host, int(port), timeout=30)
        c.request("GET", "/health")
        st = c.getresponse().status
        c.close()
    except OSError as e:
        st = str(e)
    dt = time.time() - t0
    worst = max(worst, dt)
    n += 1
    if st != 200 or dt > 1.0:
        check("/health while Lin-KK/DRT are computed", False, "%s after %.3f s" % (st, dt))
    time.sleep(0.02)
for t in th:
    t.join()
check("%d /health probes beside two sync Lin-KK/DRT POSTs, slowest %.1f ms" % (n, worst * 1e3),
      n >= 2 and worst < 1.0)
for st, a in answers:
    k, d = a.get("linkk", {}), a.get("drt", {})
    check("sync answer 200 with linkk and drt", st == 200 and a.get("fit_status") == "ok" and
          isinstance(k.get("M"), int) and 1 <= k["M"] <= 200 and len(k.get("residuals_real", [])) == N and
          len(d.get("gamma", [])) > 0 and math.isfinite(d.get("R_pol", float("nan"))),
          "%s %s" % (st, {x: a.get(x) for x in ("error", "fit_status")}))
sys.exit(bad != 0)
PYEOF
pids1=$(srv_children | sort | tr '\n' ' ')
[ "$pids0" = "$pids1" ] && srv_ok "no process replaced" ||
    srv_fail "children changed: $pids0 -> $pids1"
srv_stop || srv_fail "stop"
srv_done
