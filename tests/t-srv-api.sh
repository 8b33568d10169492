#!/bin/sh
# impsolverd API: a Go-format batch of synthetic R(RC) spectra is fitted to
# the known parameters (1e-3 relative), POST /eis-data answers the fitted
# result, /health and GET /eis-data answer, a re-posted batch_id returns its
# status, DELETE cancels what is not fitted yet, SIGTERM exits 0.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-api 120

# the Go flag forms: -flag value, --flag=value, -bool=false, bare -server
printf '# a config file: flags override it\nthreads = 5\nmax-points = 512\n' >"$T/api.conf"
srv_start -server -config "$T/api.conf" -threads 2 --queue-size=4096 -results 8192 -profile=false
grep -q 'threads=2 profile=false' "$T/log" && grep -q 'max-points=512' "$T/log" \
    && srv_ok "Go flag forms and the config file" || srv_fail "flags: $(grep configuration "$T/log")"

# /health
out=$($CURL -s "$SRV_URL/health")
echo "$out" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert d["status"]=="ok" and d["workers"]==2 and "queue_depth" in d and "uptime_s" in d, d' \
    && srv_ok "GET /health: $out" || srv_fail "GET /health: $out"

# GET /eis-data: a description (the Go clients' liveness probe)
out=$($CURL -s -w '\n%{http_code}' "$SRV_URL/eis-data")
echo "$out" | head -n 1 | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert [e["letter"] for e in d["circuit_elements"]]==list("RCLWQOTGF"), d' \
    && [ "$(echo "$out" | tail -n 1)" = 200 ] && srv_ok "GET /eis-data describes the input" || srv_fail "GET /eis-data: $out"

# a batch in the Go format: 202 with exactly the Go fields, and (no
# webhook: kept for polling) until when its results are kept at least
srv_py gen api-batch-1 40 >"$T/b1.json"
out=$($CURL -s -w '\n%{http_code}' -d @"$T/b1.json" "$SRV_URL/eis-data/batch")
echo "$out" | head -n 1 | "$PY" -c '
import json,sys,time; d=json.load(sys.stdin)
want={"batch_id":"api-batch-1","message":"Batch processing started with worker pool","spectra":40,"success":True,"status_url":"/eis-data/batch/api-batch-1"}
time.strptime(d.pop("expires_at"), "%Y-%m-%dT%H:%M:%SZ")
assert d==want, d' && [ "$(echo "$out" | tail -n 1)" = 202 ] \
    && srv_ok "POST /eis-data/batch: 202 $(echo "$out" | head -n 1)" || srv_fail "POST batch: $out"
srv_py check "$SRV_URL" api-batch-1 40 60 && srv_ok "40 spectra fitted to the known parameters" \
    || srv_fail "batch results"

# re-posting the same batch_id: 200 with its status, no new work
out=$($CURL -s -w '\n%{http_code}' -d @"$T/b1.json" "$SRV_URL/eis-data/batch")
echo "$out" | head -n 1 | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert d["batch_id"]=="api-batch-1" and d["status"]=="completed" and d["spectra"]==40 and len(d["results"])==40, d' \
    && [ "$(echo "$out" | tail -n 1)" = 200 ] && srv_ok "re-post of api-batch-1: 200 with its status" || srv_fail "re-post: $(echo "$out" | tail -c 300)"

# a batch without batch_id gets one
srv_py gen - 3 >"$T/b2.json"
bid=$($CURL -s -d @"$T/b2.json" "$SRV_URL/eis-data/batch" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["batch_id"])')
[ -n "$bid" ] && srv_py check "$SRV_URL" "$bid" 3 30 && srv_ok "generated batch id $bid" || srv_fail "batch without id"

# POST /eis-data: one spectrum, fitted now; impedance form and magnitude/phase form
for form in impedance polar; do
	srv_py spectrum 5 $form >"$T/s.json"
	out=$($CURL -s -w '\n%{http_code}' -d @"$T/s.json" "$SRV_URL/eis-data")
	echo "$out" | head -n 1 | "$PY" -c '
import json,sys; d=json.load(sys.stdin)
want=[10.0+5, 100.0+13*5, 1e-5*(1+1)]
assert d["status"]=="done" and d["fit_status"]=="ok", d
assert all(abs(a-b)<=1e-3*abs(b) for a,b in zip(d["parameters"],want)), d["parameters"]
assert len(d["real_impedance"])==30 and len(d["element_impedances"])==3, d
assert [e["name"] for e in d["element_impedances"]]==["R0","R1","C0"]
assert len(d["id"])==16' && [ "$(echo "$out" | tail -n 1)" = 200 ] \
	    && srv_ok "POST /eis-data ($form): fitted result" || srv_fail "POST /eis-data ($form): $(echo "$out" | head -c 400)"
done
# wrapped form {"impedance_data": {...}} with options
"$PY" -c "
import json; d=json.load(open('$T/s.json')); print(json.dumps({'impedance_data': d, 'circuit': 'R(RC)', 'method': 'nelder-mead', 'weighting': 'unity', 'max_iterations': 5000}))" >"$T/s2.json"
out=$($CURL -s -d @"$T/s2.json" "$SRV_URL/eis-data")
echo "$out" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert d["method"]=="nelder-mead" and d["weighting"]=="unity" and d["status"]=="done", d' \
    && srv_ok "POST /eis-data wrapped, nelder-mead, unity" || srv_fail "wrapped single: $(echo "$out" | head -c 300)"

# /debug/gc and /debug/memory ask every process (loopback client)
out=$($CURL -s "$SRV_URL/debug/gc")
echo "$out" | "$PY" -c '
import json,sys; d=json.load(sys.stdin)
roles=sorted(p["role"] for p in d["processes"])
assert d["success"] and roles.count("worker")==2 and "master" in roles and all(p["answered"] for p in d["processes"]), d' \
    && srv_ok "GET /debug/gc: every process answered" || srv_fail "/debug/gc: $out"
out=$($CURL -s "$SRV_URL/debug/memory")
echo "$out" | grep -q 'Memory: Alloc=.*Goroutines=' && srv_ok "GET /debug/memory: $(echo "$out" | cut -c1-120)" \
    || srv_fail "/debug/memory: $out"

# DELETE cancels what is not fitted yet (fits slowed down by the test knob)
srv_stop || srv_fail "SIGTERM exit status $?"
export IMPCORE_TEST_FIT_DELAY_US=20000
srv_start -threads=1 -queue-size=300 -results=8192 -profile -profile-port=0
unset IMPCORE_TEST_FIT_DELAY_US
# -profile: the Go server's headers on every answer
$CURL -s -D "$T/h" -o /dev/null "$SRV_URL/health"
for h in X-Profiling-Enabled X-Handler-Name X-Start-Time X-Duration-Ms X-Memory-Delta-Bytes \
    X-Start-Goroutines X-End-Goroutines X-Goroutine-Delta X-Status-Code; do
	grep -qi "^$h: " "$T/h" || srv_fail "-profile: no $h header"
done
grep -qi '^X-Handler-Name: health' "$T/h" && srv_ok "-profile headers" || srv_fail "-profile headers: $(cat "$T/h")"
# the values keep the Go server's formats (they are written without printf)
tr -d '\r' <"$T/h" | grep -Eq '^X-Start-Time: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$' &&
    tr -d '\r' <"$T/h" | grep -Eq '^X-Duration-Ms: [0-9]+\.[0-9]{3}$' &&
    tr -d '\r' <"$T/h" | grep -Eq '^X-Memory-Delta-Bytes: -?[0-9]+$' &&
    tr -d '\r' <"$T/h" | grep -Eq '^X-Start-Goroutines: [1-9][0-9]*$' &&
    tr -d '\r' <"$T/h" | grep -Eq '^X-Goroutine-Delta: -?[0-9]+$' &&
    tr -d '\r' <"$T/h" | grep -Eq '^X-Status-Code: 200$' &&
    [ "$(grep -ci '^Content-Type: application/json' "$T/h")" = 1 ] &&
    srv_ok "-profile header values" || srv_fail "-profile header values: $(cat "$T/h")"
srv_py gen api-cancel 200 >"$T/b3.json"
$CURL -s -o /dev/null -d @"$T/b3.json" "$SRV_URL/eis-data/batch"
# the queue is full: 503 with Retry-After, nothing accepted
srv_py gen api-full 200 >"$T/b4.json"
out=$($CURL -s -D "$T/h" -w '\n%{http_code}' -d @"$T/b4.json" "$SRV_URL/eis-data/batch")
[ "$(echo "$out" | tail -n 1)" = 503 ] && grep -qi '^Retry-After: 1' "$T/h" && echo "$out" | grep -q '"success":false' \
    && srv_ok "queue full: 503 $(echo "$out" | head -n 1)" || srv_fail "queue full: $out"
[ "$($CURL -s -o /dev/null -w '%{http_code}' "$SRV_URL/eis-data/batch/api-full")" = 404 ] \
    && srv_ok "refused batch not stored" || srv_fail "refused batch stored"
sleep 0.3
out=$($CURL -s -X DELETE -w '\n%{http_code}' "$SRV_URL/eis-data/batch/api-cancel")
echo "$out" | head -n 1 | "$PY" -c '
import json,sys; d=json.load(sys.stdin)
assert d["cancelled_now"]>100 and d["cancelled"]==d["cancelled_now"] and d["queued"]==0, d' \
    && [ "$(echo "$out" | tail -n 1)" = 200 ] && srv_ok "DELETE: $(echo "$out" | head -n 1 | cut -c1-160)" || srv_fail "DELETE: $out"
# the spectrum running at the DELETE ends (polled: up to 20 s)
for i in $(seq 1 200); do
	out=$($CURL -s "$SRV_URL/eis-data/batch/api-cancel")
	echo "$out" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["queued"]+d["running"]!=0)' 2>/dev/null && break
	sleep 0.1
done
echo "$out" | "$PY" -c '
import json,sys; d=json.load(sys.stdin)
assert d["queued"]+d["running"]==0 and d["done"]+d["cancelled"]==200 and d["status"]=="partial", d["status"]
st=[r["status"] for r in d["results"]]
assert st.count("cancelled")==d["cancelled"] and st.count("done")==d["done"]
assert all("parameters" in r for r in d["results"] if r["status"]=="done")' \
    && srv_ok "after DELETE: done + cancelled = 200" || srv_fail "after DELETE: $(echo "$out" | head -c 300)"
out=$($CURL -s -w '%{http_code}' -o /dev/null -X DELETE "$SRV_URL/eis-data/batch/nope")
[ "$out" = 404 ] && srv_ok "DELETE unknown batch: 404" || srv_fail "DELETE unknown: $out"

srv_stop && srv_ok "SIGTERM: exit 0" || srv_fail "SIGTERM exit status $?"
srv_done
