#!/bin/sh
# impsolverd's HTTP server (net/hsrv*.c; its head parser alone:
# test-hsrv-parse-fuzz) under random requests on raw sockets: mutated
# request lines and headers, odd Content-Lengths, chunked
# bodies with bad sizes and extensions, pipelined requests, writes split at
# random places, connections closed early.  Every answer must be HTTP/1.x
# with a known status and, but for HEAD and 100 Continue, a JSON body (and
# valid requests, split into writes anywhere, are never refused; a head
# dribbled byte by byte is cut off with 408 after -idle-timeout); no
# process may die (the ASan build of CI checks memory on the way); a valid
# request works after.  A connection the server closes while we still send
# is a pass when the last answer said Connection: close.  The seeds are
# printed: a failure can be replayed with IMP_FUZZ_SEED.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-httpfuzz 300

srv_start -threads=2 -max-body=64K -queue-size=2000 -results=4000 -idle-timeout=2s
children0=$(srv_children | sort | tr '\n' ' ')
# Fixed seeds (each once failed a correct server: 2 met an EPIPE, 10064 an
# ENOTCONN after the server rightly closed) plus one random seed, printed;
# IMP_FUZZ_SEED=S replays one seed alone.  The seeds run side by side (the
# time goes in 0.25 s read timeouts, not CPU).
seeds=${IMP_FUZZ_SEED:-"2 10064 $(od -An -N3 -tu4 /dev/urandom | tr -d ' ')"}
srv_log "seeds $seeds"

"$PY" - "$SRV_PORT" "${IMP_FUZZ_N:-500}" $seeds <<'PYEOF' || srv_fail "fuzzed HTTP (seeds $seeds)"
import errno, json, os, random, socket, sys, threading, time
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import answers
port, n, seeds = int(sys.argv[1]), int(sys.argv[2]), [int(a) for a in sys.argv[3:]]
OK = {100, 200, 202, 400, 401, 404, 405, 408, 413, 414, 431, 503, 505}

spec = {"iteration": 0, "impedance_data": {"frequencies": [1000.0, 100.0, 10.0, 1.0],
        "impedance": [{"real": 10.0, "imag": -1.0}, {"real": 12.0, "imag": -5.0},
                      {"real": 30.0, "imag": -20.0}, {"real": 60.0, "imag": -10.0}]}}
def body(rnd):
    return json.dumps({"batch_id": "fz-%d" % rnd.randrange(1 << 30),
                       "spectra": [spec] * rnd.randint(1, 3)}).encode()

def chunked(rnd, b):
    out, i = b"", 0
    while i < len(b):
        k = rnd.randint(1, 40)
        out += b"%x\r\n" % len(b[i:i + k]) + b[i:i + k] + b"\r\n"
        i += k
    return out + b"0\r\n\r\n"

def base(rnd):
    k = rnd.randrange(7)
    if k == 0:
        return b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    if k == 1:
        return b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"
    if k == 2:
        b = body(rnd)
        return b"POST /eis-data/batch HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(b) + b
    if k == 3:
        return (b"POST /eis-data/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                b"\r\n" + chunked(rnd, body(rnd)))
    if k == 4:
        b = body(rnd)
        return (b"POST /eis-data/batch HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                b"Content-Length: %d\r\n\r\n" % len(b) + b)
    if k == 5:
        return b"GET /eis-data/batch/nope?x=1&y=%20 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    return b"DELETE /eis-data/batch/fz-1 HTTP/1.1\r\nHost: x\r\n\r\n"

TOKENS = [b"\r\n", b"\n", b" ", b"\t", b":", b"\x00", b"\xff", b"0", b"-1", b"ffffffffffffffffff",
          b"Content-Length: 5\r\n", b"Content-Length: 99999999999999999999\r\n",
          b"Transfer-Encoding: chunked\r\n", b"Transfer-Encoding: gzip, chunked\r\n",
          b"Content-Length: +3\r\n", b"Content-Length: 0x10\r\n", b";ext=1", b"HTTP/1.1",
          b"HTTP/2.0", b"/../", b"%00", b"Connection: close\r\n", b" folded\r\n",
          b"X-A: " + b"a" * 3000 + b"\r\n", b"{", b"}"]

def mutate(rnd, m):
    for _ in range(rnd.randint(1, 4)):
        if not m:
            break
        i = rnd.randrange(len(m) + 1)
        op = rnd.randrange(5)
        if op == 0:
            m = m[:i] + rnd.choice(TOKENS) + m[i:]
        elif op == 1:
            m = m[:i] + m[i + rnd.randint(1, 8):]
        elif op == 2:
            m = m[:i] + bytes([rnd.randrange(256)]) + m[i + 1:]
        elif op == 3:
            m = m[:i]
        else:
            m = m[:i] + m[i:i + rnd.randint(1, 30)] * rnd.randint(2, 5) + m[i:]
    return m

bad = 0

# first, a head that comes in two segments, byte by byte, and a slow body
rnd = random.Random(seeds[0])
s = socket.create_connection(("127.0.0.1", port), timeout=5)
for part in (b"G", b"ET /health HTTP/1.1\r\nHost: x\r\n", b"\r", b"\n"):
    s.sendall(part)
    time.sleep(0.1)
b = body(rnd)
s.sendall(b"POST /eis-data/batch HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(b))
for k in range(0, len(b), 97):
    s.sendall(b[k:k + 97])
    time.sleep(0.01)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
sts = [r[0] for r in answers(got)]
if sts != [200, 202]:
    bad += 1
    print("FAIL: requests sent in pieces: answers %s: %r" % (sts, got[:300]))
else:
    print("ok: requests sent in pieces: answers %s" % sts)

# a head dribbled a byte every 0.3 s (slowloris): each byte restarts the
# read timeout, but the whole head must come within -idle-timeout (2 s)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.settimeout(0.3)
t0, got = time.time(), b""
for ch in b"GET /health HTTP/1.1\r\nX-Slow: " + b"a" * 60:
    try:
        s.send(bytes([ch]))
        got += s.recv(65536)
    except socket.timeout:
        continue
    except OSError:
        pass
    break
try:
    s.settimeout(2)
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
except OSError:
    pass
t = time.time() - t0
sts = [r[0] for r in answers(got)] if got else []
if sts == [408] and t < 4.5:
    print("ok: a dribbled head: 408 after %.1f s" % t)
else:
    bad += 1
    print("FAIL: a dribbled head: answers %s after %.1f s: %r" % (sts, t, got[:200]))

# a request after one that closes the connection (HTTP/1.0): the close
# is a lingering one, never a reset that could cost the client its answer
resets = 0
for k in range(50):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /health HTTP/1.0\r\n\r\n")
    time.sleep((k % 10) * 0.0005)
    try:
        s.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        time.sleep(0.02)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
        if [a[0] for a in answers(got)] != [200]:
            resets += 1
    except OSError:
        resets += 1
    s.close()
if resets:
    bad += 1
    print("FAIL: a request after an HTTP/1.0 one: %d of 50 connections reset or not answered once" % resets)
else:
    print("ok: a request after an HTTP/1.0 one: 50 connections closed cleanly, each answered once")

def one(rnd, i):
    """Case i of a seed: the number of answers, or ValueError/OSError."""
    clean = rnd.random() < 0.25
    msgs = [base(rnd) if clean else mutate(rnd, base(rnd))
            for _ in range(rnd.choice([1, 1, 1, 2, 3]))]
    data = b"".join(msgs)
    head_sent = b"HEAD" in data
    # the plan is drawn before any I/O, so that a replayed seed sends the
    # same bytes whatever the server did to the connections before
    pieces, j = [], 0
    while j < len(data):
        k = rnd.choice([len(data), rnd.randint(1, 64)])
        pieces.append((data[j:j + k], rnd.random() < 0.1))
        j += k
    shut = rnd.random() < 0.5
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(0.25)
    # cut: the server ended the connection before we were done with it
    # (EPIPE or ECONNRESET on a send, ENOTCONN on the shutdown after a
    # reset, ECONNRESET on a read): judged below, not an error in itself
    cut = None
    try:
        for p, pause in pieces:
            s.sendall(p)
            if pause:
                time.sleep(0.005)
        if shut:
            s.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError, socket.timeout) as e:
        cut = e
    except OSError as e:
        if e.errno != errno.ENOTCONN:
            raise
        cut = e
    got = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    except socket.timeout:
        pass
    except ConnectionResetError as e:
        cut = cut or e
    s.close()
    got = answers(got, head_sent)
    # A server may close once it has answered a request it need not keep
    # the connection open after (HTTP/1.0 without keep-alive, Connection:
    # close, an error): it says so with Connection: close on that answer.
    # Having the rest of our bytes refused then is a pass; a close after
    # an answer that promised keep-alive, or before any answer, is not.
    if cut is not None:
        last = got[-1][1].get("connection", "") if got else ""
        if last.lower() != "close":
            raise ValueError("connection cut (%s) after %d answers, the last with "
                             "Connection: %r" % (cut, len(got), last))
    for st, h, b in got:
        if st not in OK:
            raise ValueError("status %d" % st)
        # valid requests, however split into writes: never refused
        if clean and st not in (100, 200, 202, 404):
            raise ValueError("valid request answered %d: %r" % (st, b[:100]))
        if st != 100 and b and not head_sent:
            d = json.loads(b)
            if not isinstance(d, dict):
                raise ValueError("body not an object: %r" % b[:100])
        if st >= 400 and b:
            if json.loads(b).get("success") is not False:
                raise ValueError("error without success false: %r" % b[:100])
    return len(got), cut is not None

def run(seed, out):
    rnd = random.Random(seed)
    nbad = nans = ncut = 0
    for i in range(n):
        try:
            a, c = one(rnd, i)
            nans += a
            ncut += c
        except (ValueError, OSError) as e:
            nbad += 1
            if nbad <= 10:
                out.append("FAIL: seed %d case %d: %s" % (seed, i, e))
    out.append("fuzz seed %d: %d connections, %d answers, %d closed by the server "
               "before all was sent, %d bad" % (seed, n, nans, ncut, nbad))
    out.append(nbad)

outs = {sd: [] for sd in seeds}
ths = [threading.Thread(target=run, args=(sd, outs[sd])) for sd in seeds]
for t in ths:
    t.start()
for t in ths:
    t.join()
for sd in seeds:
    o = outs[sd]
    if not o or not isinstance(o[-1], int):
        bad += 1
        print("FAIL: seed %d: the fuzz thread died: %r" % (sd, o))
        continue
    print("\n".join(o[:-1]))
    bad += o[-1]
sys.exit(1 if bad else 0)
PYEOF
[ "$(srv_children | sort | tr '\n' ' ')" = "$children0" ] && srv_ok "no child died or was replaced" ||
    srv_fail "children changed: $children0 -> $(srv_children | sort | tr '\n' ' ')"
$CURL -sf -o /dev/null "$SRV_URL/health" && srv_ok "still serving" || srv_fail "not serving after the fuzz"
srv_py gen after-fuzz 3 >"$T/good.json"
st=$($CURL -s -o /dev/null -w '%{http_code}' -d @"$T/good.json" "$SRV_URL/eis-data/batch")
[ "$st" = 202 ] && srv_py check "$SRV_URL" after-fuzz 3 60 && srv_ok "a valid batch is fitted after" ||
    srv_fail "valid batch after the fuzz: $st"
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
