# impcore - shell helpers for the impsolverd tests (tests/t-srv-*.sh).
#
# Each test gets a private directory ($T) with the state dir, the log and
# the helper script srv.py (python3 stdlib only), starts the real daemon on
# port 0 (it writes the port it got to <state-dir>/impsolverd.port), and
# fails on sanitizer reports in the log.  A watchdog bounds every test.
#
#	. "$IMP_SRCDIR/tests/srv-lib.sh"
#	srv_init t-srv-api 120		# name, watchdog seconds
#	srv_start -threads=2		# extra flags
#	srv_py check ...
#	srv_stop			# SIGTERM, expects exit 0
#	srv_done			# checks the log, exits 0
#
# Every curl of these tests goes through $CURL (bounded in time).

: "${IMP_BUILDDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${IMP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
# skip (IMP_STRICT), imp_watchdog
. "$IMP_SRCDIR/tests/lib.sh"
CURL="curl --max-time 30"
IMPSOLVERD="$IMP_BUILDDIR/src/master/impsolverd"
PY=/usr/bin/python3
SRV_PID=
SRV_PORT=
SRV_URL=
SRV_FAILS=0
SRV_PGIDS=

srv_log() { echo "# $*"; }
srv_fail() { echo "FAIL: $*"; SRV_FAILS=$((SRV_FAILS + 1)); }
srv_ok() { echo "ok: $*"; }
srv_bail() {
	echo "FAIL: $*"
	[ -f "$T/log" ] && { echo "---- last log lines"; tail -n 40 "$T/log"; }
	exit 1
}

srv_cleanup() {
	imp_watchdog_stop
	# every daemon this test started, with its process group: dead or
	# alive, its children may still run
	for p in $SRV_PGIDS; do
		kill -KILL "-$p" 2>/dev/null
	done
	# our own background helpers
	for p in $(jobs -p); do kill "$p" 2>/dev/null; done
	[ -n "$T" ] && [ "$SRV_FAILS" -eq 0 ] && [ -z "$SRV_KEEP" ] && rm -rf "$T"
	return 0
}

# srv_init NAME WATCHDOG_SECONDS
srv_init() {
	[ -x "$IMPSOLVERD" ] || skip "$IMPSOLVERD not built"
	[ -x "$PY" ] || skip "no $PY"
	command -v curl >/dev/null || skip "no curl"
	T=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
	STATE="$T/var"
	: >"$T/empty.conf"	# keep /etc/impsolverd.conf out of the test
	trap 'srv_cleanup' EXIT
	trap 'echo "FAIL: interrupted"; SRV_FAILS=1; exit 1' INT TERM
	# ASan: leaks of the master are real; children _exit and are not checked
	export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
	# the watchdog kills the daemon named in $T/daemon.pid first
	imp_watchdog "$2" "$1" "$T/daemon.pid"
	srv_write_py
}

# srv_start [flags...]: start and wait until /health answers.  An empty
# config file comes first (a -config in the flags wins: the last one does).
srv_start() {
	local i
	rm -f "$STATE/impsolverd.port"
	setsid "$IMPSOLVERD" -config="$T/empty.conf" -state-dir="$STATE" \
	    -port=0 -bind=127.0.0.1 -quiet "$@" >>"$T/log" 2>&1 &
	SRV_PID=$!
	SRV_PGIDS="$SRV_PGIDS $SRV_PID"
	echo "$SRV_PID" >"$T/daemon.pid"
	for i in $(seq 1 400); do
		if [ -s "$STATE/impsolverd.port" ]; then
			SRV_PORT=$(cat "$STATE/impsolverd.port")
			SRV_URL="http://127.0.0.1:$SRV_PORT"
			if curl -sf -o /dev/null --max-time 2 "$SRV_URL/health"; then
				return 0
			fi
		fi
		kill -0 "$SRV_PID" 2>/dev/null || srv_bail "impsolverd died at start"
		sleep 0.05
	done
	srv_bail "impsolverd did not answer /health in 20 s"
}

# srv_stop [signal]: stop the daemon, wait for it; expects exit status 0.
srv_stop() {
	local sig=${1:-TERM} i rc
	kill -"$sig" "$SRV_PID" 2>/dev/null
	for i in $(seq 1 400); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SRV_PID" 2>/dev/null; then
		srv_fail "impsolverd did not stop in 40 s after SIG$sig"
		kill -KILL "-$SRV_PID"
	fi
	wait "$SRV_PID"
	rc=$?
	SRV_PID_LAST=$SRV_PID
	SRV_PID=
	return $rc
}

# srv_kill9_tree: kill -9 the master and all its children at once.
srv_kill9_tree() {
	kill -KILL "-$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
	SRV_PID=
	# children die with their group; give the kernel a moment
	sleep 0.2
}

# Children of the master (workers, webhook, ...).
srv_children() {
	ps -o pid= --ppid "$SRV_PID" 2>/dev/null | tr -d ' '
}

srv_py() {
	"$PY" "$T/srv.py" "$@"
}

# Fail on sanitizer or crash lines in the log; then exit with the verdict.
srv_done() {
	if grep -nE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (Address|Undefined)' "$T/log" >/dev/null 2>&1; then
		grep -nE -A5 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$T/log" | head -n 60
		srv_fail "sanitizer report in the log"
	fi
	if [ "$SRV_FAILS" -ne 0 ]; then
		echo "---- last log lines ($T/log)"
		tail -n 30 "$T/log"
		echo "$SRV_FAILS failure(s)"
		exit 1
	fi
	echo "PASS"
	exit 0
}

# expect_json DESC STATUS_WANTED FILE_WITH_STATUS_LINE... (see srv.py req)
srv_write_py() {
cat >"$T/srv.py" <<'PYEOF'
"""impsolverd test helper: synthetic spectra, requests, load, checks."""
import http.client, json, math, os, random, sys, threading, time, urllib.parse

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

cmds = {"gen": cmd_gen, "spectrum": cmd_spectrum, "check": cmd_check,
        "load": cmd_load, "waitall": cmd_waitall, "req": cmd_req}
cmds[sys.argv[1]](sys.argv[2:])
PYEOF
}
