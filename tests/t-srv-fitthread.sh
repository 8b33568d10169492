#!/bin/sh
# impsolverd, fitting apart from serving (issue 12).
# 1. A slow fit (1024 points, R(QR)(WC)(LO)(TG)F, Nelder-Mead, 100000
#    iterations: about a minute unbounded) on the only worker: /health is
#    answered within 1 s all along, no worker is replaced, and the fit ends
#    at -fit-timeout with fit_status "timeout" and finite parameters; a sync
#    POST with "timeout" ends then, and a request's timeout is capped by the
#    flag.  (Before, the fit ran inside the HTTP loop: /health timed out
#    and the watchdog killed the worker.)
# 2. Overload: 16 clients post batches at a queue of 24 spectra with slow
#    fits; every answer is a 202 or a JSON 503 with Retry-After, requests
#    waited unread for room (http_held), some were refused unread after
#    -queue-wait, and every accepted spectrum is fitted.
# 3. The token comes first: no "100 Continue" and no body read for a
#    request without it; a refused body is skipped and the connection
#    serves the next request.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-fitthread 300
IMPFIT=$IMP_BUILDDIR/src/impfit/impfit
IMPCTL=$IMP_BUILDDIR/src/impctl/impctl

counter() {	# counter NAME: its total
	"$IMPCTL" -d "$STATE" stats --json | "$PY" -c \
	    'import json,sys; print(json.load(sys.stdin)["counters"]["'"$1"'"])'
}

# the slow spectrum: 1024 points of a 16-parameter circuit
"$IMPFIT" --simulate 'R(QR)(WC)(LO)(TG)F' -v 10 -v 1e-5 -v 0.9 -v 100 -v 1e-3 \
    -v 1e-6 -v 1e-7 -v 1e-2 -v 1 -v 1e-2 -v 1 -v 1e-2 -v 10 -v 1e-2 -v 10 -v 0.8 \
    --fmin 0.01 --fmax 1e6 --points 1024 --noise 0.01 --seed 7 >"$T/slow.txt" ||
    srv_bail "impfit --simulate"

# ---- 1. a slow fit beside /health
srv_start -threads=1 -fit-timeout=3s
pids0=$(srv_children | sort | tr '\n' ' ')
"$PY" - "$SRV_URL" "$T/slow.txt" <<'PYEOF' || srv_fail "slow fit beside /health"
import http.client, json, math, sys, time
url, slow = sys.argv[1], sys.argv[2]
host, port = url.split("//")[1].split(":")
pts = [list(map(float, l.split())) for l in open(slow) if l.strip()]
spec = {"frequencies": [p[0] for p in pts],
        "impedance": [{"real": p[1], "imag": p[2]} for p in pts]}
opts = {"circuit": "R(QR)(WC)(LO)(TG)F", "method": "nelder-mead", "max_iterations": 100000}
bad = 0
def req(method, path, body=None, timeout=30):
    c = http.client.HTTPConnection(host, int(port), timeout=timeout)
    c.request(method, path, body=json.dumps(body) if body is not None else None)
    r = c.getresponse()
    d = r.read()
    c.close()
    return r.status, json.loads(d)
def check(desc, ok, detail=""):
    global bad
    print(("ok: " if ok else "FAIL: ") + desc + (" " + detail if detail else ""))
    bad += not ok
def finite_result(res, n):
    return (len(res.get("parameters", [])) == n and
            all(math.isfinite(v) for v in res["parameters"]) and
            math.isfinite(res.get("chi_square", float("nan"))))

st, a = req("POST", "/eis-data/batch", dict(opts, batch_id="slow-1",
        spectra=[{"iteration": 0, "impedance_data": spec}]))
check("slow batch accepted", st == 202, str(st))
t0 = time.time()
time.sleep(0.3)
worst, n = 0.0, 0
while time.time() - t0 < 2.5:
    t = time.time()
    try:
        st, h = req("GET", "/health", timeout=5)
    except OSError as e:
        st, h = 0, {"error": str(e)}
    dt = time.time() - t
    worst = max(worst, dt)
    n += 1
    if st != 200 or dt > 1.0:
        check("/health while fitting", False, "%s after %.3f s: %s" % (st, dt, h))
    time.sleep(0.1)
check("%d /health probes while the only worker fits, slowest %.1f ms" % (n, worst * 1e3), worst < 1.0)
while time.time() - t0 < 30:
    st, b = req("GET", "/eis-data/batch/slow-1")
    if b.get("done", 0) + b.get("failed", 0) == 1:
        break
    time.sleep(0.2)
res = b["results"][0]
el = time.time() - t0
check("the slow fit ends at -fit-timeout 3s with fit_status timeout (%.1f s, fit_ms %s)" %
      (el, res.get("fit_ms")), res.get("status") == "done" and
      res.get("fit_status") == "timeout" and 2.5 < res.get("fit_ms", 0) / 1e3 < 6.0, json.dumps(res)[:300])
check("its parameters and chi-square are finite (the best found)", finite_result(res, 16))

# a sync fit asks for less than the flag
t = time.time()
st, r = req("POST", "/eis-data", dict(spec, timeout=1.5, **opts))
dt = time.time() - t
check("sync POST with timeout 1.5: 200 fit_status timeout after %.1f s (fit_ms %s)" % (dt, r.get("fit_ms")),
      st == 200 and r.get("fit_status") == "timeout" and 1.2 < r.get("fit_ms", 0) / 1e3 < 2.9 and
      finite_result(r, 16), json.dumps(r)[:300])
# ... and for more: the flag caps it
st, r = req("POST", "/eis-data", dict(spec, timeout="1m", **opts))
check("sync POST with timeout 1m is capped at -fit-timeout 3s (fit_ms %s)" % r.get("fit_ms"),
      st == 200 and r.get("fit_status") == "timeout" and 2.5 < r.get("fit_ms", 0) / 1e3 < 6.0)
# a queued spectrum's own timeout is kept with it (the record's timeout_ms)
st, a = req("POST", "/eis-data/batch", dict(opts, batch_id="slow-2", timeout="1s",
        spectra=[{"iteration": 0, "impedance_data": spec}]))
t0 = time.time()
while time.time() - t0 < 30:
    st, b = req("GET", "/eis-data/batch/slow-2")
    if b.get("done", 0) + b.get("failed", 0) == 1:
        break
    time.sleep(0.2)
res = b["results"][0]
check("a queued spectrum with timeout 1s ends then (fit_ms %s)" % res.get("fit_ms"),
      res.get("fit_status") == "timeout" and 0.8 < res.get("fit_ms", 0) / 1e3 < 2.5)
# a bad timeout is a 400 naming the field
st, r = req("POST", "/eis-data", dict(spec, timeout=-1, **opts))
check("timeout -1: 400 naming the field", st == 400 and r.get("field") == "timeout", json.dumps(r))
sys.exit(1 if bad else 0)
PYEOF
pids1=$(srv_children | sort | tr '\n' ' ')
[ "$pids0" = "$pids1" ] && srv_ok "no child was replaced ($pids1)" ||
    srv_fail "children changed: $pids0 -> $pids1"
[ "$(counter child_restarts)" = 0 ] && srv_ok "child_restarts 0" || srv_fail "child_restarts $(counter child_restarts)"
[ "$(counter fit_timeouts)" = 4 ] && srv_ok "fit_timeouts 4" || srv_fail "fit_timeouts $(counter fit_timeouts)"
srv_stop || srv_fail "SIGTERM exit status $?"

# ---- 2. overload: a queue of 24 spectra, fits of 20 ms, 16 clients
IMPCORE_TEST_FIT_DELAY_US=20000 srv_start -threads=1 -queue-size=24 -queue-wait=300ms
"$PY" - "$SRV_URL" <<'PYEOF' || srv_fail "overload"
import http.client, json, sys, threading, time
url = sys.argv[1]
host, port = url.split("//")[1].split(":")
spec = {"frequencies": [1000, 100, 10, 1, 0.1],
        "impedance": [{"real": 10.0, "imag": -0.6}, {"real": 14.9, "imag": -19.6},
                      {"real": 72.6, "imag": -44.6}, {"real": 108.1, "imag": -6.2},
                      {"real": 109.96, "imag": -0.6}]}
lock = threading.Lock()
accepted, statuses, bad = [], {}, []
def client(k):
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    i = 0
    end = time.time() + 3
    while time.time() < end:
        bid = "ov-%d-%d" % (k, i)
        i += 1
        body = json.dumps({"batch_id": bid, "circuit": "R(RC)",
                           "spectra": [{"iteration": j, "impedance_data": spec} for j in range(12)]})
        try:
            c.request("POST", "/eis-data/batch", body=body)
            r = c.getresponse()
            d = r.read()
        except OSError as e:
            with lock:
                bad.append("%s: %s" % (bid, e))
            c.close()
            c = http.client.HTTPConnection(host, int(port), timeout=30)
            continue
        with lock:
            statuses[r.status] = statuses.get(r.status, 0) + 1
        try:
            j = json.loads(d)
        except ValueError:
            j = None
        if r.status == 202 and j and j.get("spectra") == 12:
            with lock:
                accepted.append(bid)
        elif r.status == 503 and j and j.get("success") is False and j.get("error") \
                and r.getheader("Retry-After"):
            pass
        else:
            with lock:
                bad.append("%s: %d %r %s" % (bid, r.status, d[:200], r.getheaders()))
        if r.getheader("Connection", "").lower() == "close":
            c.close()
            c = http.client.HTTPConnection(host, int(port), timeout=30)
ts = [threading.Thread(target=client, args=(k,)) for k in range(16)]
for t in ts: t.start()
for t in ts: t.join()
print("# answers: %s, accepted %d batches" % (statuses, len(accepted)))
ok = True
if bad:
    print("FAIL: answers that are neither 202 nor a JSON 503 with Retry-After:", bad[:5]); ok = False
if not accepted or not statuses.get(503):
    print("FAIL: want both 202s and 503s under overload: %s" % statuses); ok = False
# every accepted spectrum gets fitted
c = http.client.HTTPConnection(host, int(port), timeout=30)
end = time.time() + 120
left = list(accepted)
while left and time.time() < end:
    c.request("GET", "/eis-data/batch/" + left[0])
    r = c.getresponse()
    b = json.loads(r.read())
    if b.get("done") == 12:
        left.pop(0)
    else:
        time.sleep(0.1)
if left:
    print("FAIL: %d accepted batches not fitted, e.g. %s" % (len(left), left[0])); ok = False
else:
    print("ok: all %d accepted batches (%d spectra) fitted" % (len(accepted), 12 * len(accepted)))
sys.exit(0 if ok else 1)
PYEOF
h=$(counter http_held); e=$(counter http_refused_early)
[ "$h" -gt 0 ] && srv_ok "http_held $h: batch POSTs waited unread for room" || srv_fail "http_held $h"
[ "$e" -gt 0 ] && srv_ok "http_refused_early $e: 503s after -queue-wait, bodies unread" || srv_fail "http_refused_early $e"
srv_stop || srv_fail "SIGTERM exit status $?"

# ---- 3. the token before 100 Continue and before the body
srv_start -threads=1 -api-token=sekrit
"$PY" - "$SRV_PORT" <<'PYEOF' || srv_fail "token first"
import os, socket, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import answers
port = int(sys.argv[1])
ok = True
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"POST /eis-data/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
          b"Expect: 100-continue\r\n\r\n")
first = s.recv(12)
if first != b"HTTP/1.1 401":
    print("FAIL: Expect: 100-continue without the token got %r first" % first); ok = False
else:
    print("ok: 401 before 100 Continue")
s.close()
# no token, a body sent at once: 401, the body skipped, the connection kept
s = socket.create_connection(("127.0.0.1", port), timeout=10)
body = b"x" * 50000
s.sendall(b"POST /eis-data/batch HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body +
          b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
s.settimeout(5)
data = b""
try:
    while data.count(b"HTTP/1.1 ") < 2 or not data.rstrip().endswith(b"}"):
        d = s.recv(65536)
        if not d:
            break
        data += d
except socket.timeout:
    pass
try:
    (st1, h1, b1), (st2, h2, b2) = answers(data)
except ValueError as e:
    st1 = st2 = 0; b1 = b2 = repr(data[:300]).encode()
if st1 != 401 or st2 != 200 or b'"status":"ok"' not in b2.replace(b" ", b""):
    print("FAIL: 401 then /health on one connection: %s %s / %s %s" % (st1, b1[:100], st2, b2[:100])); ok = False
else:
    print("ok: 401, the refused body skipped unread, then /health on the same connection")
sys.exit(0 if ok else 1)
PYEOF
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
