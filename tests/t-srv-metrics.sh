#!/bin/sh
# impcore - t-srv-metrics: GET /metrics on the API port without -profile
# (issue 17, item 9).  From loopback it answers the Prometheus text format
# (every sample under a TYPE, no series twice, promtool clean); a 404 and
# a 202 show in impcore_http_responses_total{code=...}; per-process series
# are labelled by role and index, not pid (one series each, across a
# reload too), and the start times keep their nanoseconds.  Then with -api-token and a non-loopback address: 403 is
# gone, the token decides (401 / 200), and the profiler's /metrics (the
# same renderer) has the same families.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-metrics 180
IMPCTL="$IMP_BUILDDIR/src/impctl/impctl"

# check_expo FILE: the exposition parses, and says what item 9 asks
check_expo() {
	"$PY" - "$1" <<'EOF'
import re, sys, time
types, seen, bad = {}, set(), []
line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')
for ln in open(sys.argv[1]):
    ln = ln.rstrip("\n")
    if ln == "":
        continue
    if ln.startswith("# TYPE "):
        _, _, name, typ = ln.split(" ", 3)
        if name in types:
            bad.append("TYPE twice: " + name)
        types[name] = typ
        continue
    if ln.startswith("#"):
        continue
    m = line_re.match(ln)
    if not m:
        bad.append("unparsable: " + ln)
        continue
    name, labels, value = m.group(1), m.group(3) or "", m.group(4)
    base = re.sub(r'_(bucket|sum|count)$', '', name)
    if name not in types and base not in types:
        bad.append("no TYPE for " + name)
    float(value)
    key = (name, labels)
    if key in seen:
        bad.append("series twice: %s{%s}" % key)
    seen.add(key)
    lab = dict(kv.split("=", 1) for kv in re.findall(r'[a-z_]+="[^"]*"', labels))
    if name.startswith("impcore_process_") and name != "impcore_process_info":
        if sorted(lab) != ["index", "role"]:
            bad.append("per-process labels not {role,index}: " + ln)
    if name == "impcore_process_start_time_seconds" or name == "impcore_start_time_seconds":
        if not re.match(r'^\d+\.\d{9}$', value):
            bad.append("start time without its nanoseconds: " + ln)
        elif not time.time() - 600 < float(value) <= time.time() + 1:
            bad.append("start time not recent: " + ln)
need = ['impcore_process_start_time_seconds{role="worker",index="0"}',
        'impcore_process_start_time_seconds{role="worker",index="1"}',
        'impcore_process_resident_memory_bytes{role="master",index="0"}',
        'impcore_process_cpu_seconds_total{role="webhook",index="0"}']
have = set("%s{%s}" % k for k in seen)
bad += ["missing " + n for n in need if n not in have]
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
EOF
}

# code_count FILE CODE
code_count() {
	sed -n "s/^impcore_http_responses_total{code=\"$2\"} \([0-9]*\)$/\1/p" "$1"
}

# an address of this host that is not loopback, to be a remote client from
addr=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub("/.*", "", $4); print $4; exit }')
srv_start -threads=2 -bind=0.0.0.0
if [ -n "$addr" ]; then
	c=$($CURL -s -o "$T/body" -w '%{http_code}' "http://$addr:$SRV_PORT/metrics")
	[ "$c" = 403 ] && srv_ok "from $addr (not loopback), no -api-token: 403" ||
	    srv_fail "from $addr without -api-token: HTTP $c $(cat "$T/body")"
else
	echo "SKIP (part): no global IPv4 address to be a non-loopback client from"
fi
c=$($CURL -s -o "$T/m0" -D "$T/h0" -w '%{http_code}' "$SRV_URL/metrics")
[ "$c" = 200 ] && srv_ok "GET /metrics without -profile, from loopback: 200" ||
    srv_fail "GET /metrics without -profile: HTTP $c $(head -c 200 "$T/m0")"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/h0" &&
    srv_ok "Content-Type: text/plain; version=0.0.4" ||
    srv_fail "Content-Type: $(grep -i '^Content-Type' "$T/h0")"
check_expo "$T/m0" && srv_ok "exposition: every sample typed, no series twice, per-process series by role and index, start times to the ns" ||
    srv_fail "exposition (see above)"
if promtool=$(command -v promtool); then
	"$promtool" check metrics <"$T/m0" >"$T/promtool.out" 2>&1 &&
	    srv_ok "promtool check metrics: clean" ||
	    { srv_fail "promtool check metrics"; head -n 20 "$T/promtool.out"; }
elif imp_strict; then
	srv_fail "no promtool (Debian package prometheus)"
else
	echo "SKIP (check): no promtool"
fi

# a 404 and a 202, counted by code
c=$($CURL -s -o /dev/null -w '%{http_code}' "$SRV_URL/no-such-thing")
[ "$c" = 404 ] || srv_fail "GET /no-such-thing: HTTP $c"
srv_py gen metrics-1 2 >"$T/b.json"
c=$($CURL -s -o "$T/body" -w '%{http_code}' --data-binary @"$T/b.json" "$SRV_URL/eis-data/batch")
[ "$c" = 202 ] || srv_fail "POST batch: HTTP $c $(cat "$T/body")"
$CURL -s -o "$T/m1" "$SRV_URL/metrics"
for code in 404 202; do
	a=$(code_count "$T/m0" $code)
	b=$(code_count "$T/m1" $code)
	[ -n "$a" ] && [ -n "$b" ] && [ $((b - a)) -eq 1 ] &&
	    srv_ok "impcore_http_responses_total{code=\"$code\"}: $a -> $b" ||
	    srv_fail "impcore_http_responses_total{code=\"$code\"}: '$a' -> '$b', want +1"
done
a=$(code_count "$T/m0" 200)
b=$(code_count "$T/m1" 200)
[ -n "$a" ] && [ $((b - a)) -eq 1 ] && srv_ok "the first scrape counted as a 200 ($a -> $b)" ||
    srv_fail "code 200: '$a' -> '$b', want +1 (the first scrape)"
$CURL -s "$SRV_URL/eis-data" | grep -q '"GET /metrics"' &&
    srv_ok "GET /eis-data lists GET /metrics" || srv_fail "GET /eis-data does not list GET /metrics"
# impctl names the same rows
"$IMPCTL" -d "$STATE" stats -1 >"$T/ctl" 2>&1
grep -q "^http_status_404 [1-9]" "$T/ctl" && grep -q "^http_status_202 [1-9]" "$T/ctl" &&
    srv_ok "impctl stats: http_status_404 and http_status_202" ||
    srv_fail "impctl stats lacks http_status_404/202: $(grep http_status "$T/ctl" | head -n 3)"
# a reload replaces the workers one at a time: while the old and the new
# worker 0 overlap, still one series per role and index (the newest)
kill -HUP "$SRV_PID"
i=0
while [ $i -lt 40 ]; do
	$CURL -s -o "$T/r$i" "$SRV_URL/metrics"
	i=$((i + 1))
	sleep 0.05
done
"$PY" - "$T"/r* <<'EOF' && srv_ok "40 scrapes across a reload: no series twice" || srv_fail "a scrape during the reload had a series twice"
import sys
bad = 0
for f in sys.argv[1:]:
    seen = set()
    for ln in open(f):
        if ln.startswith("#") or not ln.strip():
            continue
        k = ln.rsplit(" ", 1)[0]
        if k in seen:
            print("FAIL: %s: %s twice" % (f, k))
            bad += 1
        seen.add(k)
sys.exit(1 if bad else 0)
EOF
srv_stop || srv_fail "stop: exit $?"

# -api-token: from anywhere with it
srv_start -threads=2 -bind=0.0.0.0 -api-token=metrics-token -profile -profile-port=0
if [ -n "$addr" ]; then
	c=$($CURL -s -o /dev/null -w '%{http_code}' "http://$addr:$SRV_PORT/metrics")
	[ "$c" = 401 ] && srv_ok "from $addr without the token: 401" ||
	    srv_fail "from $addr without the token: HTTP $c"
	c=$($CURL -s -o "$T/m2" -w '%{http_code}' -H "Authorization: Bearer metrics-token" \
	    "http://$addr:$SRV_PORT/metrics")
	[ "$c" = 200 ] && srv_ok "from $addr with the token: 200" ||
	    srv_fail "from $addr with the token: HTTP $c"
else
	$CURL -s -o "$T/m2" -H "Authorization: Bearer metrics-token" "$SRV_URL/metrics"
fi
pport=$(sed -n 's/.*Starting profiling server on port \([0-9]*\).*/\1/p' "$T/log" | tail -n 1)
$CURL -s -o "$T/m3" -H "Authorization: Bearer metrics-token" "http://127.0.0.1:$pport/metrics"
fams() { sed -n 's/^# TYPE \([^ ]*\) .*/\1/p' "$1" | sort; }
fams "$T/m2" >"$T/f2"
fams "$T/m3" >"$T/f3"
[ -s "$T/f2" ] && cmp -s "$T/f2" "$T/f3" &&
    srv_ok "the profiler's /metrics has the API port's $(wc -l <"$T/f2") families" ||
    { srv_fail "families differ between the API port and -profile-port"; diff "$T/f2" "$T/f3" | head; }
check_expo "$T/m3" && srv_ok "the profiler's exposition checks too" || srv_fail "profiler exposition"
srv_stop || srv_fail "stop: exit $?"
srv_done
