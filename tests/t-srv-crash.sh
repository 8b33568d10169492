#!/bin/sh
# impsolverd crashes: under load, kill -9 random children repeatedly: every
# accepted spectrum ends done exactly once with the right parameters.  Then
# kill -9 the whole process tree mid-load and restart on the same state
# directory: every accepted spectrum ends done.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-crash 170

# fits slowed to 3 ms so that kills land on running jobs
export IMPCORE_TEST_FIT_DELAY_US=3000
srv_start -threads=3 -queue-size=3000 -results=20000 -respawn-max-delay=200ms

# 1. kill -9 random children under load
srv_py load "$SRV_URL" 6 3 20 crashA "$T/acceptedA" kills >"$T/loadA.out" 2>&1 &
LOAD=$!
sleep 0.5
kills=0
while kill -0 $LOAD 2>/dev/null && [ $kills -lt 12 ]; do
	victim=$(srv_children | shuf -n 1)
	[ -n "$victim" ] && kill -KILL "$victim" 2>/dev/null && kills=$((kills + 1))
	sleep 0.4
done
wait $LOAD
rc=$?
cat "$T/loadA.out"
# connections cut by a kill and 503s are tolerated (mode kills); any other
# status, a timeout or an answer that is not JSON fails
[ $rc -eq 0 ] && srv_ok "load under kills: only connection errors and 503s" ||
    srv_fail "load generator under kills: exit $rc"
[ -s "$T/acceptedA" ] || srv_fail "no batch accepted under load"
srv_log "$kills children killed; $(grep -c 'requeued' "$T/log") requeue events"
srv_py waitall "$SRV_URL" "$T/acceptedA" 90 && srv_ok "every accepted spectrum done exactly once after $kills kills" \
    || srv_fail "accepted spectra lost or wrong after kills"
grep -q "killed by signal 9" "$T/log" || srv_fail "no obituary in the log"
# the queue depth settles at 0 (a kill between a job's CAS and its count
# is corrected by the master within a few seconds)
for i in $(seq 1 200); do
	$CURL -s "$SRV_URL/health" | grep -q '"queue_depth":0,' && break
	sleep 0.1
done
$CURL -s "$SRV_URL/health" | grep -q '"queue_depth":0,' && srv_ok "queue depth back to 0" \
    || srv_fail "queue depth: $($CURL -s "$SRV_URL/health")"
for i in $(seq 1 200); do
	$CURL -sf "$SRV_URL/health" | grep -q '"workers":3' && break
	sleep 0.1
done
$CURL -sf "$SRV_URL/health" | grep -q '"workers":3' && srv_ok "3 workers again" || srv_fail "workers not respawned: $($CURL -s "$SRV_URL/health")"

# 2. kill -9 the whole tree mid-load, restart on the same state dir
# strict until the stop file, paced so that the queue does not fill
srv_py load "$SRV_URL" 4 3 20 crashB "$T/acceptedB" strict 0.05 >"$T/loadB.out" 2>&1 &
LOAD=$!
sleep 1.5
touch "$T/acceptedB.stop"
srv_kill9_tree
wait $LOAD
rc=$?
cat "$T/loadB.out"
# before the stop file: strict; after it: connection errors tolerated
[ $rc -eq 0 ] && srv_ok "load until kill -9 of the tree: no failed request before it" ||
    srv_fail "load generator before the kill of the tree: exit $rc"
[ -s "$T/acceptedB" ] || srv_fail "no batch accepted before the kill"
queued=$("$PY" - "$T/acceptedB" <<'PYEOF'
import sys
print(sum(int(l.split()[1]) for l in open(sys.argv[1])))
PYEOF
)
srv_log "$queued spectra accepted before kill -9 of the tree"
srv_start -threads=3 -queue-size=3000 -results=20000
grep -E "recovered|queued spectra" "$T/log" | tail -n 2
srv_py waitall "$SRV_URL" "$T/acceptedB" 90 && srv_ok "every spectrum accepted before kill -9 of the tree is done" \
    || srv_fail "accepted spectra lost across kill -9 of the tree"
srv_py waitall "$SRV_URL" "$T/acceptedA" 30 >/dev/null && srv_ok "earlier results kept" \
    || srv_fail "earlier results lost"
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
