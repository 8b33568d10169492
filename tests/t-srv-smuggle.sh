#!/bin/sh
# impsolverd and request smuggling (issue 13, item 5; RFC 9112 6.1, 6.3).
# Where a proxy and the server disagree on where a body ends, what follows
# is a request the proxy never saw.  Two Transfer-Encoding headers, one
# with a Content-Length, or a coding other than a lone "chunked" are a 400
# that closes the connection: the request hidden behind the head is never
# answered.  Only the first Transfer-Encoding header used to be read, and
# "identity" was taken for none, so the hidden request was served.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-smuggle 120

srv_start -threads=1
"$PY" - "$SRV_PORT" <<'PYEOF' || srv_fail "smuggling"
import json, os, socket, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import answers
port = int(sys.argv[1])
HIDDEN = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

def run(head, body):
    """Send head, body and the hidden request at once; read to EOF."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST /health HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n" + body + HIDDEN)
    got = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except OSError:
        pass
    s.close()
    return answers(got)

bad = 0
cases = [
    ("two TE headers, chunked first", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", b"0\r\n\r\n"),
    ("two TE headers, chunked last, and a Content-Length",
     b"Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n"),
    ("two TE headers, both chunked", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
    ("TE identity with a Content-Length", b"Transfer-Encoding: identity\r\nContent-Length: 5\r\n", b"0\r\n\r\n"),
    ("TE chunked with a Content-Length", b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n"),
    ("TE list gzip, chunked", b"Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"),
    ("TE list chunked, chunked", b"Transfer-Encoding: chunked, chunked\r\n", b"0\r\n\r\n"),
    ("TE identity alone", b"Transfer-Encoding: identity\r\n", b""),
]
for name, head, body in cases:
    a = run(head, body)
    sts = [x[0] for x in a]
    ok = sts == [400]
    if ok:
        d = json.loads(a[0][2])
        ok = (d.get("success") is False and "Transfer-Encoding" in d.get("error", "")
              and a[0][1].get("connection") == "close")
    print("%s: %s: answers %s %s" % ("ok" if ok else "FAIL", name, sts,
                                     a[0][2][:100] if a else b""))
    bad += not ok
# the control: one "chunked" (any case) frames the body, and the request
# after it is an honest pipelined one
a = run(b"Transfer-Encoding: Chunked\r\n", b"0\r\n\r\n")
sts = [x[0] for x in a]
ok = sts == [405, 200]
print("%s: a lone chunked, then a pipelined request: answers %s" % ("ok" if ok else "FAIL", sts))
bad += not ok
sys.exit(1 if bad else 0)
PYEOF
$CURL -sf -o /dev/null "$SRV_URL/health" && srv_ok "still serving" || srv_fail "not serving"
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
