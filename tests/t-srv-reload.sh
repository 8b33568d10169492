#!/bin/sh
# impsolverd reload: SIGHUP under load replaces the workers one at a time
# with no refused or failed request, and applies the new config file;
# SIGTERM under load exits 0, and no accepted spectrum is lost (a restart
# on the same state dir fits what was still queued).
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-reload 150

export IMPCORE_TEST_FIT_DELAY_US=1000
printf '# test config\nthreads = 2\nquiet = true\n' >"$T/conf"
srv_start -config="$T/conf" -queue-size=3000 -results=20000

# paced (50 ms between requests in each thread): the queue never fills,
# so that a 503 is a reload's fault
srv_py load "$SRV_URL" 7 3 10 hup "$T/acceptedH" strict 0.05 >"$T/loadH.out" 2>&1 &
LOAD=$!
sleep 1
kill -HUP "$SRV_PID"
sleep 2
printf 'threads = 3\nquiet = true\n' >"$T/conf"
kill -HUP "$SRV_PID"
sleep 2
kill -HUP "$SRV_PID"
wait $LOAD && srv_ok "no refused or failed request across 3 reloads: $(tail -n 1 "$T/loadH.out")" \
    || { cat "$T/loadH.out"; srv_fail "requests failed during reloads"; }
[ "$(grep -c 'reloaded' "$T/log")" -eq 3 ] && srv_ok "3 reloads logged" || srv_fail "reloads: $(grep -c reloaded "$T/log")"
for i in $(seq 1 200); do
	$CURL -s "$SRV_URL/health" | grep -q '"workers":3' && break
	sleep 0.1
done
$CURL -s "$SRV_URL/health" | grep -q '"workers":3' && srv_ok "threads = 3 applied" \
    || srv_fail "new config not applied: $($CURL -s "$SRV_URL/health")"
srv_py waitall "$SRV_URL" "$T/acceptedH" 60 && srv_ok "accepted spectra all done" || srv_fail "spectra lost across reloads"
grep -E "killed by signal|exited with status [1-9]" "$T/log" && srv_fail "a child died during reloads"

# SIGTERM under load
srv_py load "$SRV_URL" 4 3 20 term "$T/acceptedT" strict 0.05 >"$T/loadT.out" 2>&1 &
LOAD=$!
sleep 1.5
touch "$T/acceptedT.stop"
srv_stop && srv_ok "SIGTERM under load: exit 0" || srv_fail "SIGTERM under load: exit status $?"
wait $LOAD
rc=$?
cat "$T/loadT.out"
[ $rc -eq 0 ] && srv_ok "load until SIGTERM: no failed request before it" ||
    srv_fail "load generator until SIGTERM: exit $rc"
srv_start -config="$T/conf" -queue-size=3000 -results=20000
srv_py waitall "$SRV_URL" "$T/acceptedT" 60 && srv_ok "no accepted spectrum lost across SIGTERM" \
    || srv_fail "spectra lost across SIGTERM"
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
