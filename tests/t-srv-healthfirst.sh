#!/bin/sh
# impsolverd: a short GET is not queued behind every ready batch body
# (issue 12, /health under overload).  40 connections post a 200-spectrum
# batch each to the only worker, all at once; once the first 202 is back
# (the worker is parsing the others), GET /health is sent on a new
# connection.  It must come back before a quarter of the batches are answered:
# bodies are read and parsed at the loop's lowest priority and the loop
# polls for new connections between them.  (Before, one loop turn parsed
# every ready body, and /health came after all of them.)  Order, not time:
# a slow machine slows both alike.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-healthfirst 300

srv_start -threads=1 -queue-size=16384
"$PY" - "$SRV_PORT" <<'PYEOF' || srv_fail "/health before the batches"
import json, math, select, socket, sys, time
port = int(sys.argv[1])
N, S, P = 40, 200, 23
fr = [10 ** (5 - 6 * k / (P - 1)) for k in range(P)]
def z(f, i):
    a = 2 * math.pi * f * 100 * (1 + 0.001 * i) * 1e-4
    return 10 + 100 / (1 + 1j * a)
def batch(b):
    return json.dumps({"spectra": [{"iteration": i, "impedance_data": {
        "frequencies": fr, "impedance": [{"real": z(f, i).real, "imag": z(f, i).imag}
                                         for f in fr]}} for i in range(S)]}).encode()
reqs = []
for b in range(N):
    body = batch(b)
    reqs.append(b"POST /eis-data/batch HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                % len(body) + body)
socks = []
for r in reqs:
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    socks.append(s)
for s, r in zip(socks, reqs):
    s.sendall(r)
order, got, health = [], {}, None
pending = set(socks)
t0 = time.time()
while pending and time.time() - t0 < 240:
    rd, _, _ = select.select(list(pending), [], [], 1.0)
    for s in rd:
        d = s.recv(65536)
        got[s] = got.get(s, b"") + d
        if b"\r\n\r\n" in got[s]:
            head, rest = got[s].split(b"\r\n\r\n", 1)
            cl = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
                  if l.lower().startswith(b"content-length:")]
            if (cl and len(rest) >= cl[0]) or not d:
                pending.discard(s)
                order.append("health" if s is health else head.split(b" ")[1].decode())
                if len(order) == 1 and health is None:
                    health = socket.create_connection(("127.0.0.1", port), timeout=120)
                    health.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                    pending.add(health)
    if health is None and not pending:
        break
bad = 0
def check(desc, ok):
    global bad
    print(("ok: " if ok else "FAIL: ") + desc)
    bad += not ok
posts = [o for o in order if o != "health"]
check("%d batch answers, all 202" % len(posts), len(posts) == N and all(o == "202" for o in posts))
at = order.index("health") if "health" in order else -1
check("/health answered after %d of %d batch answers (limit %d)" % (at - 1 if at > 0 else at, N, N // 4),
      0 < at and at - 1 < N // 4)
print("# order: " + " ".join(order))
sys.exit(bad != 0)
PYEOF
srv_stop || srv_fail "stop"
srv_done
