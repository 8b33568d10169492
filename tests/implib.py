"""impcore tests: the one Python module of the test suite.

The tests' Python parts import it (sys.path gets $IMP_SRCDIR/tests), and
srv_py (tests/srv-lib.sh) runs it as a program: implib.py COMMAND ARGS...
  - synthetic R(RC) spectra and batches with known parameters (truth(i)),
    HTTP requests, waiting for a batch and checking its results, a load
    generator (gen, spectrum, check, load, waitall, req);
  - the other tests' data: prf-batch (R(QR) and R(Q(R(QR))), fits of real
    cost), whk-batch (R(RC) for the webhook tests), sink-count (requests in
    tests/whk_sink.py's log);
  - HTTP answers read off raw sockets, and a slow client, for the tests
    that send what no client library would (answer, answers, dribble);
  - the verdict of a test's Python part (check, done) in the shell tests'
    "ok: " / "FAIL: " format.
Standard library only.  Importing it has no side effects.  Tests written
before it exec() the text of $T/srv.py (a link to this file that srv_init
makes) up to the commands' table: keep that table below every helper, and
its opening words nowhere above it.
"""
import http.client, json, math, os, random, socket, sys, threading, time, urllib.parse

def rrc(R0, R1, C, f):
    w = 2 * math.pi * f
    return R0 + R1 / complex(1, w * R1 * C)

def truth(i):
    return [10.0 + (i % 7), 100.0 + 13 * (i % 11), 1e-5 * (1 + (i % 4))]

def freqs(n):
    return [10 ** (5 - 7 * k / (n - 1)) for k in range(n)]

def spectrum(i, n=30, form="impedance"):
    f = freqs(n)
    p = truth(i)
    z = [rrc(p[0], p[1], p[2], x) for x in f]
    d = {"timestamp": "2025-01-01T12:00:00Z", "frequencies": f,
         "magnitude": [abs(x) for x in z],
         "phase": [math.degrees(math.atan2(x.imag, x.real)) for x in z]}
    if form == "impedance":
        d["impedance"] = [{"real": x.real, "imag": x.imag} for x in z]
    return d

def batch(bid, count, n=30, first=0):
    b = {"timestamp": "2025-01-01T12:00:00Z",
         "spectra": [{"iteration": first + i, "impedance_data": spectrum(first + i, n)}
                     for i in range(count)]}
    if bid is not None:
        b["batch_id"] = bid
    return b

def request(url, method, path, body=None, headers=None, timeout=30):
    u = urllib.parse.urlparse(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    h = dict(headers or {})
    if body is not None and not isinstance(body, bytes):
        body = body.encode()
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    c.close()
    return r.status, hdrs, data

def close(a, b, rel=1e-3):
    return abs(a - b) <= rel * max(abs(a), abs(b))

def check_result(r, errors):
    i = r["iteration"]
    if r.get("status") != "done":
        errors.append("iteration %d: status %s" % (i, r.get("status")))
        return
    want = truth(i)
    got = r.get("parameters") or []
    if len(got) != 3 or not all(close(a, b) for a, b in zip(got, want)):
        errors.append("iteration %d: parameters %s, want %s" % (i, got, want))
    if r.get("element_names") != ["R0", "R1", "C0"]:
        errors.append("iteration %d: element_names %s" % (i, r.get("element_names")))
    for k in ("id", "time", "batch_id", "fit_status", "circuit_type", "method",
              "chi_square", "std_errors", "frequencies", "real_impedance",
              "imaginary_impedance", "element_impedances", "iterations", "fit_ms"):
        if k not in r:
            errors.append("iteration %d: no %s" % (i, k))

def wait_batch(url, bid, timeout):
    """Poll until nothing is queued or running; returns the status object."""
    end = time.time() + timeout
    while True:
        st, h, data = request(url, "GET", "/eis-data/batch/" + bid)
        if st == 200:
            d = json.loads(data)
            if d["queued"] + d["running"] == 0:
                return d
        elif st != 503:
            raise SystemExit("GET batch %s: %d %s" % (bid, st, data[:200]))
        if time.time() > end:
            raise SystemExit("batch %s not finished in %ds: %s" % (bid, timeout, data[:300]))
        time.sleep(0.1)

def cmd_gen(a):
    bid = a[0] if a[0] != "-" else None
    print(json.dumps(batch(bid, int(a[1]), int(a[2]) if len(a) > 2 else 30)))

def cmd_spectrum(a):
    print(json.dumps(spectrum(int(a[0]), 30, a[1] if len(a) > 1 else "impedance")))

def verify(d, count, errors, exact=True):
    if d["spectra"] != count:
        errors.append("%s: %d spectra, want %d" % (d["batch_id"], d["spectra"], count))
    if d["done"] != count:
        errors.append("%s: %d done of %d (status %s, failed %d, cancelled %d)" % (
            d["batch_id"], d["done"], count, d["status"], d["failed"], d["cancelled"]))
    its = sorted(r["iteration"] for r in d["results"])
    first = its[0] if its else 0
    if its != list(range(first, first + count)):
        errors.append("%s: iterations %s" % (d["batch_id"], its[:10]))
    ids = [r["id"] for r in d["results"]]
    if len(set(ids)) != len(ids):
        errors.append("%s: duplicate result ids" % d["batch_id"])
    for r in d["results"]:
        check_result(r, errors)

def cmd_check(a):
    """check URL BATCH_ID COUNT [TIMEOUT]"""
    url, bid, count = a[0], a[1], int(a[2])
    d = wait_batch(url, bid, float(a[3]) if len(a) > 3 else 60)
    errors = []
    verify(d, count, errors)
    for e in errors[:10]:
        print("  " + e)
    print("batch %s: %d/%d done, %d errors" % (bid, d["done"], count, len(errors)))
    sys.exit(1 if errors else 0)

CONN_ERRORS = (ConnectionError, http.client.RemoteDisconnected,
               http.client.IncompleteRead, http.client.BadStatusLine)

def cmd_load(a):
    """load URL SECONDS CONCURRENCY SPECTRA PREFIX OUTFILE [MODE [PACE]]:
    post batches (fresh connection each, PACE seconds apart in each thread:
    a strict load must not fill the queue), also GET /health; record
    accepted ids.
    Every answer must be JSON: a POST 202 naming its batch, /health 200.
    MODE strict (default): any other answer or a connection error fails.
    MODE kills (children are being killed): connection errors/resets and
    503 are tolerated, nothing else.  Once OUTFILE.stop exists (the server
    is being stopped) connection errors and 503 are tolerated too.
    Exit 1 on any failure."""
    url, secs, conc, spectra, prefix, out = a[0], float(a[1]), int(a[2]), int(a[3]), a[4], a[5]
    mode = a[6] if len(a) > 6 else "strict"
    pace = float(a[7]) if len(a) > 7 else 0.0
    if mode not in ("strict", "kills"):
        raise SystemExit("load: unknown mode %s" % mode)
    stopfile = out + ".stop"
    lock = threading.Lock()
    accepted, fails, counts = [], [], {}
    end = time.time() + secs
    def tolerated(stopped_before):
        return mode == "kills" or stopped_before or os.path.exists(stopfile)
    def judge(what, st, data, want, bid=None):
        """None when the answer is right, else why not (starting with 503:
        for a 503)."""
        try:
            d = json.loads(data)
        except ValueError:
            return "%s: status %d, not JSON: %r" % (what, st, data[:200])
        if st == 503:
            return "503: %s: %r" % (what, data[:200])
        if st != want:
            return "%s: status %d %r" % (what, st, data[:200])
        if bid is not None and (d.get("batch_id") != bid or d.get("success") is not True):
            return "%s: 202 answer %r" % (what, data[:200])
        return None
    def worker(w):
        k = 0
        while time.time() < end and not os.path.exists(out + ".quit"):
            k += 1
            bid = "%s-%d-%d" % (prefix, w, k)
            first = (w * 7 + k) % 50
            body = json.dumps(batch(bid, spectra, 20, first=first))
            stopped_before = os.path.exists(stopfile)
            why = None
            try:
                st, h, data = request(url, "POST", "/eis-data/batch", body, timeout=30)
                why = judge(bid, st, data, 202, bid)
                with lock:
                    counts[st] = counts.get(st, 0) + 1
                    if why is None:
                        accepted.append((bid, spectra, first))
                if why is None:
                    st2, _, data2 = request(url, "GET", "/health", timeout=30)
                    why = judge("health", st2, data2, 200)
            except CONN_ERRORS as e:
                with lock:
                    counts["conn"] = counts.get("conn", 0) + 1
                why = "conn"
                err = "%s: %s: %s" % (bid, type(e).__name__, e)
            except Exception as e:
                # timeouts and the rest: never tolerated
                with lock:
                    counts["error"] = counts.get("error", 0) + 1
                    fails.append("%s: %s: %s" % (bid, type(e).__name__, e))
                return
            if why is None:
                if pace > 0:
                    time.sleep(pace)
                continue
            if (why == "conn" or why.startswith("503:")) and tolerated(stopped_before):
                if why == "conn" and os.path.exists(stopfile):
                    return
                time.sleep(0.05)
                continue
            with lock:
                fails.append(err if why == "conn" else why)
            if why == "conn":
                time.sleep(0.05)
    ts = [threading.Thread(target=worker, args=(w,)) for w in range(conc)]
    for t in ts: t.start()
    for t in ts: t.join()
    with open(out, "w") as f:
        for bid, n, first in accepted:
            f.write("%s %d %d\n" % (bid, n, first))
    print("load (%s): %d accepted, statuses %s, %d failures" % (
        mode, len(accepted), counts, len(fails)))
    for e in fails[:10]:
        print("  " + e)
    sys.exit(1 if fails else 0)

def cmd_waitall(a):
    """waitall URL IDFILE TIMEOUT: every accepted batch ends all done, correct."""
    url, path, timeout = a[0], a[1], float(a[2])
    errors, total = [], 0
    end = time.time() + timeout
    for line in open(path):
        bid, n, first = line.split()
        d = wait_batch(url, bid, max(1, end - time.time()))
        verify(d, int(n), errors)
        for r in d["results"]:
            pass
        total += int(n)
    for e in errors[:10]:
        print("  " + e)
    print("waitall: %d spectra in accepted batches, %d errors" % (total, len(errors)))
    sys.exit(1 if errors else 0)

def cmd_req(a):
    """req URL METHOD PATH [BODYFILE|-] [HEADER:VALUE...]: prints status,
    then the JSON body (one line) and the headers as JSON."""
    url, method, path = a[0], a[1], a[2]
    body = None
    if len(a) > 3 and a[3] != "-":
        body = open(a[3], "rb").read()
    hdrs = dict(x.split(":", 1) for x in a[4:])
    st, h, data = request(url, method, path, body, hdrs)
    print(st)
    print(data.decode(errors="replace").strip().replace("\n", " "))
    print(json.dumps(h))


# ---- HTTP answers read off raw sockets (tests/rawhttp.py re-exports them)


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

# ---- the verdict of a test's Python part (ok: / FAIL: lines)

def dribble(port, head, first=b"", every=0.5, silent=False, limit=40, byte=b" "):
    """A slow client: send head and first, then (unless silent) byte every
    `every` seconds until the server answers and closes, or `limit` s pass.
    Returns (seconds from the head's end, the statuses answered, the bytes)."""
    import select
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(head + first)
    t0 = time.time()
    got = b""
    while time.time() - t0 < limit:
        r, _, _ = select.select([s], [], [], every)
        if r:
            try:
                d = s.recv(65536)
            except OSError:
                d = b""
            if not d:
                break
            got += d
            continue
        if not silent:
            try:
                s.send(byte)
            except OSError:
                pass
    t = time.time() - t0
    s.close()
    try:
        sts = [a[0] for a in answers(got)] if got else []
    except ValueError:
        sts = []
    return t, sts, got


fails = 0


def check(cond, what):
    global fails
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        fails += 1


def done():
    sys.exit(1 if fails else 0)

# ---- the other tests' data

def prf_batch(n):
    """A batch of N spectra alternating R(QR) and R(Q(R(QR))) (40 points,
    known parameters, 0.1 % noise): fits of real cost (profiler tests)."""
    f = [10 ** (5 - 7 * i / 39) for i in range(40)]
    def cpe(y0, a, w):
        return 1 / (y0 * (1j * w) ** a)
    def par(*zs):
        return 1 / sum(1 / z for z in zs)
    spectra = []
    for k in range(n):
        r = random.Random(k)
        z = []
        for x in f:
            w = 2 * math.pi * x
            if k % 2 == 0:
                v = 10 + par(cpe(1e-4, 0.85, w), 100 * (1 + 0.2 * r.random()))
            else:
                v = 10 + par(cpe(1e-5, 0.9, w),
                             50 + par(cpe(1e-3, 0.8, w), 200 * (1 + 0.2 * r.random())))
            z.append(v * (1 + 0.001 * r.gauss(0, 1)))
        spectra.append({"iteration": k,
                        "circuit": "R(QR)" if k % 2 == 0 else "R(Q(R(QR)))",
                        "impedance_data": {"frequencies": f,
                            "impedance": [{"real": v.real, "imag": v.imag} for v in z]}})
    return {"spectra": spectra}

def whk_batch(bid, n, extra=None, sextra=None):
    """A batch of N R(RC) spectra (R0=10, R1=100+iteration, C0=1e-4; 20
    points), EXTRA added to the batch's fields, SEXTRA to each spectrum's
    (webhook tests)."""
    freq = [10 ** (5 - 6 * i / 19) for i in range(20)]
    spectra = []
    for it in range(n):
        z = [10 + 1 / (1 / (100 + it) + 2j * math.pi * f * 1e-4) for f in freq]
        s = {"iteration": it, "impedance_data": {"frequencies": freq,
             "impedance": [{"real": c.real, "imag": c.imag} for c in z]}}
        s.update(sextra or {})
        spectra.append(s)
    b = {"batch_id": bid, "timestamp": "2025-01-01T12:00:00Z", "spectra": spectra}
    b.update(extra or {})
    return b

def cmd_prf_batch(a):
    """prf-batch FILE N: prf_batch(N) written to FILE"""
    json.dump(prf_batch(int(a[1])), open(a[0], "w"))

def cmd_whk_batch(a):
    """whk-batch ID N [BATCH_FIELDS_JSON [SPECTRUM_FIELDS_JSON]]: on stdout"""
    extra = json.loads(a[2]) if len(a) > 2 else {}
    sextra = json.loads(a[3]) if len(a) > 3 else {}
    print(json.dumps(whk_batch(a[0], int(a[1]), extra, sextra)))

def cmd_sink_count(a):
    """sink-count LOG [EXPR]: the POSTs in whk_sink.py's LOG for which the
    Python expression EXPR over r (one logged request) holds"""
    expr = a[1] if len(a) > 1 else "True"
    n = 0
    try:
        for line in open(a[0]):
            r = json.loads(line)
            if r.get("method") == "POST" and eval(expr):
                n += 1
    except FileNotFoundError:
        pass
    print(n)

cmds = {"gen": cmd_gen, "spectrum": cmd_spectrum, "check": cmd_check,
        "load": cmd_load, "waitall": cmd_waitall, "req": cmd_req,
        "prf-batch": cmd_prf_batch, "whk-batch": cmd_whk_batch,
        "sink-count": cmd_sink_count}
if __name__ == "__main__":
    cmds[sys.argv[1]](sys.argv[2:])
