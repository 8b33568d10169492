#!/bin/sh
# impsolverd: a refusal before the body reads little (issue 12, the CPU a
# refusal costs).  The only worker's queue is full of slow fits and
# -queue-wait=0: 200 POSTs of a 40 KB batch on one kept-alive connection
# are each answered with a JSON 503 and Retry-After, and the worker copies
# at most 8 KiB of each refused body into its memory (/proc/PID/io rchar:
# its head and what came with it; the rest is dropped off the socket with
# recv(MSG_TRUNC)), in at most 2 read system calls a refusal.  (Before: a
# 16 KiB read-ahead for the head in 4 KiB reads, and more 4 KiB reads while
# the answer waited for the next loop turn: 5 reads and 20 KiB or more.)
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-refusecost 300
IMPCTL=$IMP_BUILDDIR/src/impctl/impctl

srv_start -threads=1 -queue-size=64 -queue-wait=0 -fit-timeout=60s
wpid=$("$IMPCTL" -d "$STATE" status | awk '$3 ~ /^worker\./ { print $2; exit }')
[ -n "$wpid" ] && [ -r "/proc/$wpid/io" ] || srv_bail "no worker pid (or no /proc/PID/io)"
"$PY" - "$SRV_PORT" "$wpid" <<'PYEOF' || srv_fail "refusals read little"
import json, math, socket, sys, time, urllib.request
port, wpid = int(sys.argv[1]), int(sys.argv[2])
url = "http://127.0.0.1:%d" % port
fr = [10 ** (5 - 6 * k / 22) for k in range(23)]
def z(f):
    a = 2 * math.pi * f * 1e-2
    return 10 + 100 / (1 + 1j * a)
imp = [{"real": z(f).real, "imag": z(f).imag} for f in fr]
slow = {"circuit": "R(QR)(QR)(QR)", "method": "nelder-mead", "max_iterations": 100000,
        "spectra": [{"iteration": i, "impedance_data": {"frequencies": fr * 40,
                     "impedance": imp * 40}} for i in range(64)]}
r = urllib.request.urlopen(urllib.request.Request(url + "/eis-data/batch",
    data=json.dumps(slow).encode()), timeout=60)
assert r.status == 202, r.status
body = json.dumps({"spectra": [{"iteration": i, "impedance_data": {
    "timestamp": "2025-01-01T12:00:00Z", "frequencies": fr,
    "magnitude": [abs(z(f)) for f in fr],
    "phase": [math.degrees(math.atan2(z(f).imag, z(f).real)) for f in fr],
    "impedance": imp}} for i in range(12)]}).encode()
body += b" " * max(0, 40000 - len(body))
req = b"POST /eis-data/batch HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
def io():
    d = dict(l.split(": ") for l in open("/proc/%d/io" % wpid).read().splitlines())
    return int(d["rchar"]), int(d["syscr"])
bad = 0
def check(desc, ok):
    global bad
    print(("ok: " if ok else "FAIL: ") + desc)
    bad += not ok
s = socket.create_connection(("127.0.0.1", port), timeout=30)
f = s.makefile("rb")
N = 200
answers = 0
c0, r0 = io()
for i in range(N):
    s.sendall(req)
    st = f.readline()
    hdr = {}
    while True:
        l = f.readline()
        if l in (b"\r\n", b""):
            break
        k, v = l.decode().split(":", 1)
        hdr[k.strip().lower()] = v.strip()
    a = json.loads(f.read(int(hdr["content-length"])))
    answers += st.split()[1] == b"503" and "retry-after" in hdr and a.get("success") is False
c1, r1 = io()
check("%d of %d POSTs on one connection answered a JSON 503 with Retry-After" % (answers, N),
      answers == N)
check("%.0f bytes read into the worker a refusal (limit 8192)" % ((c1 - c0) / N), (c1 - c0) / N <= 8192)
check("%.2f read system calls a refusal (limit 2)" % ((r1 - r0) / N), (r1 - r0) / N <= 2)
sys.exit(bad != 0)
PYEOF
srv_kill9_tree
srv_done
