#!/bin/sh
# impcore - t-srv-master-kill (issue 13, item 8): kill -9 the master alone
# and start a new one on the same state directory and port right away.
# The orphaned children drain (PDEATHSIG) and still hold the listening
# socket; the new master used to bind first and exit on "Address already
# in use".  Now it waits for the state file's lock (which the children
# hold until they are gone), then binds and serves, and every spectrum
# accepted before the kill is fitted.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:?IMP_SRCDIR not set}/tests/srv-lib.sh"
srv_init t-srv-master-kill 180

# each fit holds its worker 2 s: the orphans are busy when the master dies
IMPCORE_TEST_FIT_DELAY_US=2000000 srv_start -threads=2
PORT=$SRV_PORT
srv_py gen mk-1 6 >"$T/b.json"
code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 30 -d @"$T/b.json" "$SRV_URL/eis-data/batch")
[ "$code" = 202 ] || srv_bail "batch: HTTP $code $(cat "$T/body")"
srv_ok "batch of 6 spectra accepted on port $PORT"
sleep 0.5	# the workers are fitting

old=$SRV_PID
kill -KILL "$old"
wait "$old" 2>/dev/null
srv_ok "killed the master ($old) alone"
# right away, on the same port: waits for the orphans, then serves
srv_start -threads=2 -port="$PORT"
[ "$SRV_PORT" = "$PORT" ] && srv_ok "a new master serves on port $PORT" ||
    srv_fail "new master on port $SRV_PORT, not $PORT"
grep -q "Address already in use" "$T/log" && srv_fail "a bind failed on the way"
grep -q "is locked: waiting for the previous processes to exit" "$T/log" &&
    srv_ok "it waited for the orphaned children" ||
    srv_log "the orphans were gone before it looked"

done_all() {
	curl -s --max-time 10 "$SRV_URL/eis-data/batch/mk-1" | python3 -c '
import json, sys
j = json.load(sys.stdin)
sys.exit(0 if j["done"] == 6 else 1)'
}
i=0
until done_all; do
	i=$((i + 1))
	[ $i -lt 300 ] || { srv_fail "not all 6 spectra fitted: $(curl -s "$SRV_URL/eis-data/batch/mk-1" | head -c 300)"; break; }
	sleep 0.1
done
[ $i -lt 300 ] && srv_ok "all 6 spectra accepted before the kill are fitted"
srv_stop || srv_fail "SIGTERM: status $?"
srv_done
