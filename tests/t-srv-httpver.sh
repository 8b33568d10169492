#!/bin/sh
# impsolverd and the HTTP version of a request (RFC 9112 2.3): a request of
# HTTP/1.2 to 1.9 is served as 1.1 and answered "HTTP/1.1", never with the
# version it came with (a random seed of t-srv-httpfuzz found "HTTP/1.2 400"
# and "HTTP/1.8 400" answers); HTTP/1.0 is answered as 1.0 and closed.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-httpver 60

srv_start -threads=1
"$PY" - "$SRV_PORT" <<'PYEOF' || srv_fail "HTTP versions"
import socket, sys
port = int(sys.argv[1])

def first_line(req):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(req)
    got = b""
    try:
        while b"\r\n" not in got:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except OSError:
        pass
    s.close()
    return got.split(b"\r\n", 1)[0].decode(errors="replace")

bad = 0
for v, want in (("1.1", "HTTP/1.1 200"), ("1.0", "HTTP/1.0 200"),
                ("1.2", "HTTP/1.1 200"), ("1.9", "HTTP/1.1 200")):
    line = first_line(("GET /health HTTP/%s\r\nHost: x\r\nConnection: close\r\n\r\n" % v).encode())
    if line.startswith(want + " "):
        print("ok: GET /health HTTP/%s: %s" % (v, line))
    else:
        print("FAIL: GET /health HTTP/%s: %r, want %r" % (v, line, want))
        bad += 1
# a bad request of a later minor version: the 400 is a 1.1 answer too
line = first_line(b"GET /health HTTP/1.8\r\nHost: x\r\nContent-Length: x\r\n\r\n")
if line.startswith("HTTP/1.1 400 "):
    print("ok: a bad HTTP/1.8 request: %s" % line)
else:
    print("FAIL: a bad HTTP/1.8 request: %r" % line)
    bad += 1
sys.exit(1 if bad else 0)
PYEOF
srv_stop || srv_fail "impsolverd exit status $?"
srv_done
