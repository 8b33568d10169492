#!/bin/sh
# impsolverd: a request body has a deadline (issue 13, item 4).  The read
# timeout restarts with every byte, so a body dribbled a byte at a time
# held its connection for ever, and four such bodies of nearly -max-body
# filled the worker's 4 x -max-body budget: every other POST got 503.  With
# -body-timeout the whole body must come within it from the end of the
# head, else 408 and the connection closes; a client that sends no body
# byte at all is cut off the same way.  A slow body inside the deadline is
# served as usual.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-bodytimeout 180

srv_start -threads=1 -max-body=1M -body-timeout=2s
$CURL -s "$SRV_URL/eis-data" | grep -q '"body_timeout_s":2[,}]' &&
    srv_ok "GET /eis-data names the body timeout" || srv_fail "GET /eis-data: no body_timeout_s 2"

"$PY" - "$SRV_PORT" <<'PYEOF' || srv_fail "body deadline"
import json, os, socket, sys, threading, time
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
import implib
from implib import answers
port = int(sys.argv[1])
TIMEOUT = 2.0
bad = 0

def dribble(head, first=b"", every=0.5, silent=False, limit=40):
    return implib.dribble(port, head, first, every, silent, limit)

def judge(name, r):
    global bad
    t, sts, got = r
    sts = [x for x in sts if x != 100]
    # never before the deadline; after it, as soon as a loaded machine can
    ok = sts == [408] and TIMEOUT - 0.2 <= t < 30 and b"body" in got
    print("%s: %s: %s after %.1f s %r" % ("ok" if ok else "FAIL", name, sts, t, got[-120:]))
    bad += not ok

POST = b"POST /eis-data/batch HTTP/1.1\r\nHost: x\r\n"
judge("a body dribbled a byte every 0.5 s",
      dribble(POST + b"Content-Length: 100\r\n\r\n", b"{"))
judge("a head and not one body byte", dribble(POST + b"Content-Length: 100\r\n\r\n", silent=True))
judge("a chunked body dribbled", dribble(POST + b"Transfer-Encoding: chunked\r\n\r\n", b"64\r\n{"))
judge("with Expect: 100-continue, nothing after the 100",
      dribble(POST + b"Expect: 100-continue\r\nContent-Length: 100\r\n\r\n", silent=True))

# four bodies of 900 KB, then dribbled: 3.6 MB of the 4 MB budget.  They
# are cut at the deadline, and a 1 MB body is then read (a 400 for its
# bad JSON), not refused 503 as while they held the budget.
res = [None] * 4
def slow(i):
    res[i] = dribble(POST + b"Content-Length: 1000000\r\n\r\n", b"[" + b" " * 899999)
ts = [threading.Thread(target=slow, args=(i,)) for i in range(4)]
for t in ts: t.start()
for t in ts: t.join()
for i in range(4):
    judge("900 KB and then a byte every 0.5 s (%d of 4)" % i, res[i])
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(POST + b"Content-Length: 1000000\r\nConnection: close\r\n\r\n" + b"x" * 1000000)
got = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
sts = [a[0] for a in answers(got)]
ok = sts == [400]
print("%s: a 1 MB body after them: %s" % ("ok" if ok else "FAIL", sts))
bad += not ok

# a body that takes 1 s, in pieces, is within the deadline: served
spec = {"iteration": 0, "impedance_data": {"frequencies": [1000.0, 100.0, 10.0, 1.0],
        "impedance": [{"real": 10.0, "imag": -1.0}, {"real": 12.0, "imag": -5.0},
                      {"real": 30.0, "imag": -20.0}, {"real": 60.0, "imag": -10.0}]}}
body = json.dumps({"batch_id": "slow-ok", "spectra": [spec] * 3}).encode()
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(POST + b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
for k in range(0, len(body), len(body) // 5 + 1):
    s.sendall(body[k:k + len(body) // 5 + 1])
    time.sleep(0.2)
got = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
sts = [a[0] for a in answers(got)]
ok = sts == [202]
print("%s: a body sent in five pieces over 1 s: %s" % ("ok" if ok else "FAIL", sts))
bad += not ok
sys.exit(1 if bad else 0)
PYEOF
$CURL -sf -o /dev/null "$SRV_URL/health" && srv_ok "still serving" || srv_fail "not serving"
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
