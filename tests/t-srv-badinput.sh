#!/bin/sh
# impsolverd bad input: each bad request gets its status and a JSON error
# {"success": false, "error": ..., "field": ...} naming the culprit, also
# for what the HTTP layer refuses (413 before reading the body, 405 for any
# method, 431, garbage); the server keeps serving a valid batch meanwhile.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-badinput 120

srv_start -threads=2 -max-points=50 -max-body=1M -queue-size=1000 -results=2000 \
    -webhook-allow=http://127.0.0.1:9/hooks,https://hooks.example.com
srv_py gen good-1 100 20 >"$T/good.json"
out=$($CURL -s -w '%{http_code}' -o /dev/null -d @"$T/good.json" "$SRV_URL/eis-data/batch")
[ "$out" = 202 ] || srv_fail "valid batch: $out"

cat >"$T/cases.py" <<'PYEOF'
import json, os, socket, sys, copy, time
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import answer
import implib
g = vars(implib)
url = sys.argv[1]
host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
batch, spectrum, request = g["batch"], g["spectrum"], g["request"]

def B(mut=None, n=3, pts=20):
    b = batch("bad-%d" % int(time.time() * 1e6), n, pts)
    if mut: mut(b)
    return json.dumps(b)

def imp0(b):
    return b["spectra"][0]["impedance_data"]

def raw(data, timeout=5):
    s = socket.create_connection((host, port), timeout=timeout)
    s.sendall(data)
    r = answer(s)
    s.close()
    return r

def setk(path, value):
    def f(b):
        o = b
        for k in path[:-1]: o = o[k]
        o[path[-1]] = value
    return f

big = b'{"spectra": [' + b" " * (2 << 20) + b"]}"
cases = [
  # (name, method, path, body, status, field or None, extra check)
  ("invalid JSON", "POST", "/eis-data/batch", '{"spectra": [ {"iteration": 0,', 400, "spectra[0].iteration", None),
  ("empty body", "POST", "/eis-data/batch", "", 400, None, None),
  ("body is an array", "POST", "/eis-data/batch", "[1,2]", 400, None, None),
  ("spectra wrong type", "POST", "/eis-data/batch", '{"spectra": "x"}', 400, "spectra", None),
  ("no spectra", "POST", "/eis-data/batch", '{"spectra": []}', 400, "spectra", None),
  ("frequencies a string", "POST", "/eis-data/batch", B(setk(["spectra", 0, "impedance_data", "frequencies"], "1,2,3")), 400, "spectra[0].impedance_data.frequencies", None),
  ("mismatched lengths", "POST", "/eis-data/batch", B(lambda b: b["spectra"][1]["impedance_data"]["impedance"].pop()), 400, "spectra[1].impedance_data.impedance", None),
  ("NaN as a string", "POST", "/eis-data/batch", B(setk(["spectra", 0, "impedance_data", "frequencies", 2], "NaN")), 400, "spectra[0].impedance_data.frequencies[2]", None),
  ("1e999", "POST", "/eis-data/batch", B(setk(["spectra", 2, "impedance_data", "frequencies", 2], 12345.5)).replace("12345.5", "1e999"), 400, "spectra[2].impedance_data.frequencies[2]", None),
  ("negative frequency", "POST", "/eis-data/batch", B(setk(["spectra", 0, "impedance_data", "frequencies", 3], -5.0)), 400, "spectra[0].impedance_data.frequencies[3]", None),
  ("imag not a number", "POST", "/eis-data/batch", B(setk(["spectra", 0, "impedance_data", "impedance", 4, "imag"], None)), 400, "spectra[0].impedance_data.impedance[4].imag", None),
  ("unknown circuit letter", "POST", "/eis-data/batch", B(setk(["circuit"], "R(XC)")), 400, "circuit", None),
  ("unbalanced parentheses", "POST", "/eis-data/batch", B(setk(["spectra", 1, "circuit"], "R(RC")), 400, "spectra[1].circuit", None),
  ("too many points", "POST", "/eis-data/batch", B(pts=60), 413, "spectra[0].impedance_data.frequencies", None),
  ("fewer points than parameters", "POST", "/eis-data/batch", B(setk(["circuit"], "R(QR)(QR)(QR)"), pts=8), 400, "spectra[0].impedance_data.frequencies", None),
  ("no impedance, no magnitude", "POST", "/eis-data/batch", B(lambda b: [imp0(b).pop(k) for k in ("impedance", "magnitude")]), 400, "spectra[0].impedance_data.impedance", None),
  ("bad method name", "POST", "/eis-data/batch", B(setk(["method"], "gradient-descent")), 400, "method", None),
  ("bad weighting", "POST", "/eis-data/batch", B(setk(["spectra", 1, "weighting"], "square")), 400, "spectra[1].weighting", None),
  ("initial_values count", "POST", "/eis-data/batch", B(setk(["initial_values"], [1, 2])), 400, "initial_values", None),
  ("max_iterations 0", "POST", "/eis-data/batch", B(setk(["max_iterations"], 0)), 400, "max_iterations", None),
  ("webhook_url not allowed", "POST", "/eis-data/batch", B(setk(["webhook_url"], "http://evil.example/hooks")), 400, "webhook_url", None),
  ("webhook_url userinfo trick", "POST", "/eis-data/batch", B(setk(["spectra", 0, "webhook_url"], "http://127.0.0.1:9@evil.example/hooks/x")), 400, "spectra[0].webhook_url", None),
  ("webhook_url path prefix", "POST", "/eis-data/batch", B(setk(["webhook_url"], "http://127.0.0.1:9/hooksevil")), 400, "webhook_url", None),
  ("too-long batch id", "POST", "/eis-data/batch", B(setk(["batch_id"], "a" * 65)), 400, "batch_id", None),
  ("bad batch id char", "POST", "/eis-data/batch", B(setk(["batch_id"], "a/b")), 400, "batch_id", None),
  ("single: bad frequency", "POST", "/eis-data", json.dumps(dict(spectrum(1), frequencies=[1.0, 0.0] + spectrum(1)["frequencies"][2:])), 400, "frequencies[1]", None),
  ("single: wrapped, phase wrong type", "POST", "/eis-data", json.dumps({"impedance_data": {"frequencies": [1.0, 2.0, 3.0, 4.0], "magnitude": [1, 2, 3, 4], "phase": {"a": 1}}}), 400, "impedance_data.phase", None),
  ("oversize body", "POST", "/eis-data/batch", big, 413, None, None),
  ("unknown path", "GET", "/nope", None, 404, None, None),
  ("unknown batch", "GET", "/eis-data/batch/none-such", None, 404, None, None),
  ("GET on the batch endpoint", "GET", "/eis-data/batch", None, 405, None, lambda h: h.get("allow") == "POST"),
  ("PATCH /health", "PATCH", "/health", None, 405, None, lambda h: h.get("allow") == "GET, HEAD"),
  ("OPTIONS /eis-data", "OPTIONS", "/eis-data", None, 405, None, lambda h: "POST" in h.get("allow", "")),
  ("PUT a batch", "PUT", "/eis-data/batch/x", "{}", 405, None, lambda h: "DELETE" in h.get("allow", "")),
]
raws = [
  ("unknown method FOO", b"FOO /health HTTP/1.1\r\nHost: x\r\n\r\n", 405, lambda h: h.get("allow") == "GET, HEAD"),
  ("garbage request line", b"\x01\x02 nonsense\r\n\r\n", 400, None),
  ("huge Content-Length, no body sent", b"POST /eis-data/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\n", 413, None),
  ("chunked body over the limit", b"POST /eis-data/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n" + b"x" * (1 << 21), 413, None),
  ("header too large", b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", 431, None),
  ("bad Content-Length", b"POST /eis-data HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", 400, None),
]
fails = 0
def judge(name, st, hdrs, body, want, field, extra):
    global fails
    why = []
    if st != want: why.append("status %d, want %d" % (st, want))
    try:
        d = json.loads(body)
        if d.get("success") is not False or not isinstance(d.get("error"), str) or not d["error"]:
            why.append("not a JSON error: %s" % body[:200])
        if field is not None and d.get("field") != field:
            why.append("field %r, want %r" % (d.get("field"), field))
    except Exception:
        why.append("body is not JSON: %r" % body[:200])
    if "json" not in hdrs.get("content-type", ""):
        why.append("content-type %s" % hdrs.get("content-type"))
    if extra and not extra(hdrs): why.append("headers %s" % hdrs)
    if why:
        fails += 1
        print("FAIL: %s: %s" % (name, "; ".join(why)))
    else:
        print("ok: %s: %d %s" % (name, st, body[:110].decode(errors="replace") if isinstance(body, bytes) else body[:110]))
for name, m, p, body, want, field, extra in cases:
    try:
        st, h, data = request(url, m, p, body)
    except Exception as e:
        # the 413 for an oversize body may close before we finish sending
        st, h, data = raw(("%s %s HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % (m, p, len(body))).encode())
    judge(name, st, h, data, want, field, extra)
for name, data, want, extra in raws:
    st, h, body = raw(data)
    judge(name, st, h, body, want, None, extra)
sys.exit(1 if fails else 0)
PYEOF
"$PY" "$T/cases.py" "$SRV_URL" "$T" || srv_fail "bad input cases"

# a quick fuzz: random mutations of valid bodies never get a 5xx or a crash
cat >"$T/fuzz.py" <<'PYEOF'
import json, random, sys, time
import os, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
import implib
g = vars(implib)
url = sys.argv[1]
random.seed(int(sys.argv[3]))
base = json.dumps(g["batch"](None, 2, 12))
single = json.dumps(g["spectrum"](3, 12))
tokens = ['null', 'true', '"x"', '-1', '0', '1e308', '-1e-320', '[]', '{}', '"NaN"',
          '9' * 40, '"\\u0000"', '[[[[', ']]', ',', ':', '"\\ud800"', '\xff', '{"a":']
bad = 0
for i in range(int(sys.argv[4])):
    b = random.choice([base, single])
    path = "/eis-data/batch" if b is base else "/eis-data"
    for _ in range(random.randint(1, 4)):
        if not b:
            break
        k = random.randrange(len(b))
        op = random.randrange(4)
        if op == 0: b = b[:k] + random.choice(tokens) + b[k:]
        elif op == 1: b = b[:k] + b[k + random.randint(1, 20):]
        elif op == 2: b = b[:k]
        else: b = b[:k] + chr(random.randrange(1, 256)) + b[k + 1:]
    try:
        st, h, data = g["request"](url, "POST", path, b.encode("utf-8", "surrogatepass"))
        json.loads(data)
    except Exception as e:
        print("FAIL: fuzz %d: %s" % (i, e)); bad += 1; continue
    if st not in (200, 202, 400, 413, 503):
        print("FAIL: fuzz %d: status %d for %r" % (i, st, b[:200])); bad += 1
print("fuzz: %d requests, %d bad" % (int(sys.argv[4]), bad))
sys.exit(1 if bad else 0)
PYEOF
"$PY" "$T/fuzz.py" "$SRV_URL" "$T" "$$" 400 && srv_ok "fuzzed bodies: no 5xx, always JSON" || srv_fail "fuzz"

# the valid batch was not disturbed
srv_py check "$SRV_URL" good-1 100 60 && srv_ok "concurrent valid batch fitted" || srv_fail "valid batch"
$CURL -sf -o /dev/null "$SRV_URL/health" && srv_ok "still serving" || srv_fail "not serving after bad input"
[ "$(srv_children | wc -l)" -ge 3 ] || srv_fail "children died"
grep -q "died\|killed by signal" "$T/log" && srv_fail "a child died: $(grep 'died\|killed by' "$T/log" | head -3)"
srv_stop || srv_fail "SIGTERM exit status $?"

# -api-token: 401 in JSON without or with a wrong token; /health stays open
srv_start -threads=1 -queue-size=1000 -results=2000 -api-token=s3cret
st=$($CURL -s -o "$T/o" -w '%{http_code}' "$SRV_URL/eis-data")
[ "$st" = 401 ] && grep -q '"success":false' "$T/o" && srv_ok "no token: 401 $(cat "$T/o")" || srv_fail "no token: $st $(cat "$T/o")"
st=$($CURL -s -o "$T/o" -w '%{http_code}' -H 'Authorization: Bearer wrong' "$SRV_URL/eis-data")
[ "$st" = 401 ] && srv_ok "wrong token: 401" || srv_fail "wrong token: $st"
st=$($CURL -s -o "$T/o" -w '%{http_code}' -H 'Authorization: Bearer s3cret' "$SRV_URL/eis-data")
[ "$st" = 200 ] && srv_ok "right token: 200" || srv_fail "right token: $st"
st=$($CURL -s -o "$T/o" -w '%{http_code}' "$SRV_URL/health")
[ "$st" = 200 ] && srv_ok "/health without token: 200" || srv_fail "/health: $st"
grep -q s3cret "$T/log" && srv_fail "the token appears in the log"
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
