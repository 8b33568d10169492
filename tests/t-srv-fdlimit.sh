#!/bin/sh
# impsolverd out of file descriptors: a worker (API port) and the profiler
# (debug port) whose accept() fails with EMFILE pause their listener
# (net/lpause.c) instead of calling accept() again at once forever:
# without the pause a worker spun at full CPU and logged a million lines in
# three seconds.  Checked: little CPU and one log line per process while
# the connections are held, the pauses counted, and both ports serve again
# once the connections close.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-fdlimit 120
command -v prlimit >/dev/null || skip "no prlimit (util-linux)"

srv_start -threads=1 -profile -profile-port=0
pport=$(sed -n 's/.*Starting profiling server on port \([0-9]*\).*/\1/p' "$T/log" | tail -n 1)
[ -n "$pport" ] || srv_bail "no debug port in the log"
# the children's open files limit, lowered under them: some 130 descriptors
# are taken already (the wake eventfds, the state file, the log)
for p in $(srv_children); do
	prlimit --pid "$p" --nofile=300:300 || srv_bail "prlimit $p"
done
ticks() {	# utime + stime of the children, in clock ticks
	for p in $(srv_children); do
		awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null
	done | awk '{ s += $1 } END { print s + 0 }'
}

"$PY" - "$SRV_PORT" "$pport" "$T/held" <<'PYEOF' &
import resource, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
held = []
for port in (int(sys.argv[1]), int(sys.argv[2])):
    for i in range(260):
        try:
            held.append(socket.create_connection(("127.0.0.1", port), timeout=0.2))
        except OSError:
            pass
open(sys.argv[3], "w").write("%d\n" % len(held))
time.sleep(6)
PYEOF
py=$!
for i in $(seq 1 300); do [ -s "$T/held" ] && break; sleep 0.1; done
[ -s "$T/held" ] || srv_bail "the client did not connect"
t0=$(ticks)
sleep 3
t1=$(ticks)
hz=$(getconf CLK_TCK)
# a spinning process would take about 3 s of CPU here
[ $((t1 - t0)) -lt $((hz / 2)) ] && srv_ok "$(cat "$T/held") connections held: the children used $((t1 - t0)) ticks in 3 s" ||
    srv_fail "$(cat "$T/held") connections held: the children used $((t1 - t0)) ticks in 3 s (spinning?)"
n=$(grep -c 'accept(): Too many open files: not accepting' "$T/log")
[ "$n" -ge 1 ] && [ "$n" -le 2 ] && srv_ok "logged $n times: $(grep -m1 'accept(): Too many' "$T/log" | cut -c1-160)" ||
    srv_fail "accept() logged $n times"
grep -q 'profiler: error: accept() on the debug port: Too many' "$T/log" && srv_ok "the profiler paused too" ||
    srv_fail "no pause of the profiler in the log"
paused=$("$IMP_BUILDDIR/src/impctl/impctl" -d "$STATE" stats --json |
    "$PY" -c 'import json, sys; print(json.load(sys.stdin)["counters"]["http_accept_paused"])' 2>&1)
[ "${paused:-0}" -gt 0 ] 2>/dev/null && srv_ok "http_accept_paused $paused" || srv_fail "http_accept_paused: $paused"
wait "$py"

# the connections are gone: both ports serve again
for i in $(seq 1 50); do
	$CURL -sf -o /dev/null "$SRV_URL/health" && break
	sleep 0.1
done
$CURL -sf -o /dev/null "$SRV_URL/health" && srv_ok "API serves again" || srv_fail "API does not serve after"
$CURL -sf -o /dev/null "http://127.0.0.1:$pport/debug/info" && srv_ok "debug port serves again" ||
    srv_fail "debug port does not serve after"
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
