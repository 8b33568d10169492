#!/bin/sh
# impcore - the debug port is served by hsrv, as the API port is (issue 20,
# item 4): a body past the budget is 413 before it is read, a body that
# does not come whole within -body-timeout is 408, a head past 64 KiB is
# 431, all in JSON; any method a route does not serve (one evhttp did not
# know too) is 405 with Allow; HTTP/1.0 closes unless asked to keep alive,
# HTTP/1.1 keeps alive and answers pipelined requests in order.  Under
# evhttp these were HTML refusals, no body deadline (a byte every 0.5 s
# held the connection for its 120 s timeout) and 400 for "FOO".
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
prf_init "$(basename "$0" .sh)" 150

prf_start -profile -profile-port=0 -body-timeout=2s

python3 - "$pport" <<'PYEOF' || fail "the debug port's HTTP"
import json, os, socket, sys, time
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import answer, answers, dribble
port = int(sys.argv[1])
bad = 0

def check(name, ok, what):
    global bad
    print("%s: %s%s" % ("ok" if ok else "FAIL", name, "" if ok else ": %r" % (what,)))
    bad += not ok

def json_error(st, h, body, want):
    """st is want, in JSON with an error message."""
    try:
        d = json.loads(body)
    except ValueError:
        return False
    return (st == want and h.get("content-type", "").startswith("application/json")
            and d.get("success") is False and isinstance(d.get("error"), str))

def exchange(raw, timeout=20):
    """Send raw, read until the server closes (or timeout): the bytes."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(raw)
    got = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return got

SYM = b"POST /debug/pprof/symbol HTTP/1.1\r\nHost: x\r\n"

# 413 from the Content-Length alone: nothing of the body is sent
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(SYM + b"Content-Length: 2000000\r\n\r\n")
st, h, body = answer(s)
s.close()
check("a 2 MB body announced: 413 JSON before it is sent", json_error(st, h, body, 413),
      (st, h, body[:200]))

# 408: a body dribbled a byte every 0.5 s is cut at the 2 s deadline
el, _, got = dribble(port, SYM + b"Content-Length: 100\r\n\r\n", b"0x", byte=b"1")
try:
    a = answers(got)
except ValueError:
    a = []
# never before the deadline; after it, as soon as a loaded machine can
check("a body dribbled a byte every 0.5 s: 408 JSON after the 2 s deadline (%.1f s)" % el,
      len(a) == 1 and json_error(*a[0], want=408) and 1.8 <= el < 30, (el, got[:300]))

# 431: a head past the profiler's 64 KiB
got = exchange(b"GET /debug/pprof/ HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 70000 + b"\r\n\r\n")
try:
    a = answers(got)
except ValueError:
    a = []
check("a 70 KB head: 431 JSON", len(a) == 1 and json_error(*a[0], want=431), got[:300])

# 405 with Allow for methods no route serves, one evhttp knew and one it did not
for m, path, allow in ((b"FOO", b"/debug/pprof/", "GET, HEAD"),
                       (b"DELETE", b"/debug/pprof/heap", "GET, HEAD"),
                       (b"PUT", b"/debug/pprof/symbol", "GET, HEAD, POST")):
    got = exchange(m + b" " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    try:
        a = answers(got)
    except ValueError:
        a = []
    check("%s %s: 405, Allow: %s" % (m.decode(), path.decode(), allow),
          len(a) == 1 and a[0][0] == 405 and a[0][1].get("allow") == allow, got[:300])

# keep-alive: HTTP/1.1 pipelined, in order, on one connection
got = exchange(b"GET /debug/pprof/cmdline HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /debug/pprof/cmdline HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
try:
    a = answers(got)
except ValueError:
    a = []
check("three pipelined HTTP/1.1 requests: 200, 404, 200 on one connection",
      [x[0] for x in a] == [200, 404, 200] and a[0][1].get("connection") == "keep-alive"
      and a[2][1].get("connection") == "close", got[:300])
# HTTP/1.0: closed after the answer unless it asks for keep-alive
got = exchange(b"GET /debug/pprof/cmdline HTTP/1.0\r\n\r\n", timeout=10)
try:
    a = answers(got)
except ValueError:
    a = []
check("HTTP/1.0: one answer, Connection: close", len(a) == 1 and a[0][0] == 200 and
      a[0][1].get("connection") == "close", got[:300])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(b"GET /debug/pprof/cmdline HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
st1, h1, _ = answer(s)
s.sendall(b"GET /debug/pprof/cmdline HTTP/1.0\r\n\r\n")
st2, h2, _ = answer(s)
s.close()
check("HTTP/1.0 with keep-alive: a second request on the connection",
      (st1, h1.get("connection"), st2) == (200, "keep-alive", 200), (st1, h1, st2, h2))
sys.exit(1 if bad else 0)
PYEOF

# and it still serves
code=$(dbg /debug/pprof/ -o /dev/null -w '%{http_code}')
[ "$code" = 200 ] && kill -0 "$dpid" && ok "the profiler still serves" ||
    fail "after the refusals: $code"
prf_stop
no_sanitizer_reports
done_tests
