"""impcore tests: HTTP answers read off raw sockets, for the tests that send
what no HTTP client library would (bad heads, pipelines, partial bodies).

answer(sock) reads one answer; answers(data) splits what a connection got
into its answers.  The shell tests import it from $IMP_SRCDIR/tests.
"""
import socket


def _head(raw):
    lines = raw.decode(errors="replace").split("\r\n")
    st = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    hdrs = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip()
            for l in lines[1:] if ":" in l}
    return st, hdrs


def answer(sock):
    """Read until one answer is whole (its Content-Length is in), the peer
    closes or the socket times out: (status, {lower-case name: value},
    body); status 0 when no answer came."""
    buf = b""
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                break
            buf += d
            he = buf.find(b"\r\n\r\n")
            if he >= 0:
                cl = _head(buf[:he])[1].get("content-length")
                if cl is not None and len(buf) - he - 4 >= int(cl):
                    break
    except (socket.timeout, ConnectionResetError):
        pass
    head, _, body = buf.partition(b"\r\n\r\n")
    st, hdrs = _head(head)
    return st, hdrs, body


def answers(data, head_sent=False):
    """Split what came back on a connection into (status, headers, body),
    in order; ValueError when it is not a sequence of HTTP/1.x answers.
    head_sent: a HEAD was among the requests (its answer has a
    Content-Length but no body; which answer it is cannot be told)."""
    out = []
    while data:
        if not (data.startswith(b"HTTP/1.1 ") or data.startswith(b"HTTP/1.0 ")):
            raise ValueError("not an HTTP/1.x answer: %r" % data[:80])
        he = data.find(b"\r\n\r\n")
        if he < 0:
            raise ValueError("answer head cut: %r" % data[:200])
        st, h = _head(data[:he])
        data = data[he + 4:]
        if st == 100:
            out.append((st, h, b""))
            continue
        cl = int(h.get("content-length", "0"))
        if head_sent and (len(data) < cl or not data[:1] == b"{"):
            b = b""
        else:
            b, data = data[:cl], data[cl:]
            if len(b) < cl:
                raise ValueError("body cut: %d of %d bytes" % (len(b), cl))
        out.append((st, h, b))
    return out
