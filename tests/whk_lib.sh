# impcore - helpers for the webhook tests (t-whk-*.sh); sourced.
#
# Each test gets a private directory $W, one impsolverd (its own session, so
# the whole tree can be killed with one signal) on port 0 (the port it got
# is read from <state-dir>/impsolverd.port), and the scriptable receiver
# tests/whk_sink.py (it binds port 0 itself and writes its port to a file),
# which writes every request it gets to $W/sink.jsonl.  Everything started
# here is killed at exit; a watchdog (WHK_WATCHDOG seconds, default 120)
# bounds the test.
. "${IMP_SRCDIR:?IMP_SRCDIR not set}/tests/lib.sh"

DAEMON=${IMPSOLVERD:-$IMP_BUILDDIR/src/master/impsolverd}
IMPCTL=$IMP_BUILDDIR/src/impctl/impctl
SINK=$IMP_SRCDIR/tests/whk_sink.py
DPID=
SPID=

for f in "$DAEMON" "$IMPCTL"; do
	[ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }
done
command -v curl >/dev/null || skip "curl missing"

W=$(mktemp -d "${TMPDIR:-/tmp}/t-whk.XXXXXX") || exit 1
: >"$W/empty.conf"	# keep /etc/impsolverd.conf out of the test
# the watchdog kills the daemon named in $W/daemon.pid first
imp_watchdog "${WHK_WATCHDOG:-120}" "$(basename "$0")" "$W/daemon.pid"
# Children of an ASan build must not report leaks as crashes (DESIGN 9).
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export ASAN_OPTIONS

whk_cleanup() {
	imp_watchdog_stop
	# the daemon's session: master, workers, webhook, profiler
	if [ -n "$DPID" ]; then
		kill -TERM "-$DPID" 2>/dev/null
		n=30
		while [ $n -gt 0 ] && kill -0 "-$DPID" 2>/dev/null; do
			sleep 0.1; n=$((n - 1))
		done
		kill -KILL "-$DPID" 2>/dev/null
	fi
	[ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null
	if [ "$nfail" -ne 0 ] && [ -f "$W/daemon.log" ]; then
		echo "--- daemon log (tail)"; tail -n 40 "$W/daemon.log"
	fi
	rm -rf "$W"
}
trap whk_cleanup EXIT
trap 'exit 1' INT TERM HUP

# free_port: a port nobody listens on right now (not for a server to bind:
# only as a port nothing answers on)
free_port() {
	python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# sink_start [--port P] ARGS...: start whk_sink.py; sets SPORT and SPID.
sink_start() {
	rm -f "$W/sink.port"
	python3 "$SINK" --port-file "$W/sink.port" --log "$W/sink.jsonl" "$@" \
	    >>"$W/sink.err" 2>&1 &
	SPID=$!
	n=100
	while [ ! -s "$W/sink.port" ]; do
		n=$((n - 1))
		[ $n -gt 0 ] || { echo "FAIL: sink did not start"; cat "$W/sink.err"; exit 1; }
		sleep 0.05
	done
	# shellcheck disable=SC2034 # for the tests
	SPORT=$(cat "$W/sink.port")
}

sink_stop() {
	[ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=
}

# daemon_start FLAGS...: impsolverd on port 0 with a private state dir,
# -threads=2 and a small state file, plus FLAGS; waits (up to 20 s) for
# /health.  Sets DPID, DPORT, API.
daemon_start() {
	rm -f "$W/state/impsolverd.port"
	DPORT= API=
	setsid "$DAEMON" -port=0 -bind=127.0.0.1 -threads=2 \
	    -queue-size=2048 -results=4096 \
	    -state-dir="$W/state" -config="$W/empty.conf" "$@" \
	    >>"$W/daemon.log" 2>&1 &
	DPID=$!
	echo "$DPID" >"$W/daemon.pid"
	n=400
	until [ -n "$API" ] &&
	    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$API/health")" = 200 ]; do
		if [ -z "$API" ] && [ -s "$W/state/impsolverd.port" ]; then
			DPORT=$(cat "$W/state/impsolverd.port")
			API=http://127.0.0.1:$DPORT
		fi
		n=$((n - 1))
		if [ $n -le 0 ] || ! kill -0 "$DPID" 2>/dev/null; then
			fail "daemon not serving (port file: ${DPORT:-none})"; exit 1
		fi
		sleep 0.05
	done
}

# daemon_term SECONDS: SIGTERM the master and wait for it; 0 when it exited
# with status 0 (DESIGN: exit 0 on SIGTERM; status in DRC) within SECONDS,
# else 1 (the tree is killed when it did not exit in time).
daemon_term() {
	kill -TERM "$DPID"
	# the watchdog must not hold the test's stdout open once killed
	( sleep "$1"; kill -KILL "-$DPID" ) >/dev/null 2>&1 &
	wd=$!
	wait "$DPID"
	DRC=$?
	kill "$wd" 2>/dev/null
	[ "$DRC" -eq 0 ]
}

# daemon_kill9: kill -9 the whole tree at once.
daemon_kill9() {
	kill -KILL "-$DPID" 2>/dev/null
	n=100
	while kill -0 "-$DPID" 2>/dev/null && [ $n -gt 0 ]; do
		sleep 0.05; n=$((n - 1))
	done
	wait "$DPID" 2>/dev/null
	DPID=
}

# batch_body ID N [BATCH_FIELDS_JSON [SPECTRUM_FIELDS_JSON]]: a batch of N
# R(RC) spectra (R0=10, R1=100+iteration, C0=1e-4; 20 points) on stdout.
batch_body() {
	python3 - "$@" <<'EOF'
import cmath, json, math, sys
bid, n = sys.argv[1], int(sys.argv[2])
extra = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
sextra = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
freq = [10 ** (5 - 6 * i / 19) for i in range(20)]
spectra = []
for it in range(n):
    z = [10 + 1 / (1 / (100 + it) + 2j * math.pi * f * 1e-4) for f in freq]
    s = {"iteration": it, "impedance_data": {"frequencies": freq,
         "impedance": [{"real": c.real, "imag": c.imag} for c in z]}}
    s.update(sextra)
    spectra.append(s)
b = {"batch_id": bid, "timestamp": "2025-01-01T12:00:00Z", "spectra": spectra}
b.update(extra)
print(json.dumps(b))
EOF
}

# post PATH FILE: POST the JSON in FILE; prints the status, body in $W/resp.
post() {
	curl -s -o "$W/resp" -w '%{http_code}' --max-time 30 -d @"$2" "$API$1"
}

# batch_ids ID: the result ids of a batch, one per line.
batch_ids() {
	curl -s --max-time 30 "$API/eis-data/batch/$1" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["results"]:
    print(r["id"])'
}

# counter NAME: a counter summed over every process (impctl stats --json).
counter() {
	"$IMPCTL" -d "$W/state" stats --json | python3 -c '
import json, sys
print(json.load(sys.stdin)["counters"][sys.argv[1]])' "$1"
}

# webhook_pid: pid of the live webhook process.
webhook_pid() {
	"$IMPCTL" -d "$W/state" stats --json | python3 -c '
import json, sys
for p in json.load(sys.stdin)["processes"]:
    if p["role"] == "webhook" and p["state"] in ("running", "starting"):
        print(p["pid"]); break'
}

# sink_count [JQ-LIKE PYTHON FILTER]: requests in the sink log matching
# the python expression over r (default: every POST).
sink_count() {
	python3 - "$W/sink.jsonl" "${1:-True}" <<'EOF'
import json, sys
n = 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line)
        if r.get("method") == "POST" and eval(sys.argv[2]):
            n += 1
except FileNotFoundError:
    pass
print(n)
EOF
}

# sink_ge N [FILTER]: the sink has at least N requests (matching FILTER).
sink_ge() {
	ge "$(sink_count "${2:-True}")" "$1"
}

# wait_until SECONDS CMD...: poll CMD every 0.1 s; 0 when it succeeded.
wait_until() {
	t=$(($1 * 10)); shift
	while ! "$@"; do
		t=$((t - 1))
		[ $t -gt 0 ] || return 1
		sleep 0.1
	done
	return 0
}

# ge A B: A >= B (integers, possibly empty).
ge() { [ -n "$1" ] && [ "$1" -ge "$2" ]; }

# no_sanitizer_reports: no ASan/UBSan/LSan lines in the daemon log.
no_sanitizer_reports() {
	if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: ' "$W/daemon.log"; then
		fail "sanitizer report in the daemon log"
	else
		ok "no sanitizer report in the daemon log"
	fi
}
