#!/bin/sh
# impcore - t-tools: the client tools against a real impsolverd: impload
# posts batches and sees every spectrum done (and fitted right), and a CSV
# goes through csv_to_batch.py and send_csv_batch.sh --wait.
# Exit 0 pass, 1 fail.

# functions run through check() look unreachable to shellcheck
# shellcheck disable=SC2317
B=${IMP_BUILDDIR:?IMP_BUILDDIR not set}
S=${IMP_SRCDIR:?IMP_SRCDIR not set}
. "$S/tests/srv-lib.sh"	# imp_watchdog, fail, ok, check
DAEMON=${IMPSOLVERD:-$B/src/master/impsolverd}
IMPLOAD=$B/tools/impload

for f in "$DAEMON" "$IMPLOAD"; do
	[ -x "$f" ] || { echo "FAIL: $f not built"; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/t-tools.XXXXXX") || exit 1
dpid=
# the watchdog kills the daemon named in $tmp/daemon.pid first
imp_watchdog 150 t-tools "$tmp/daemon.pid"
# The daemon never outlives the test: TERM, then KILL it and its children.
cleanup() {
	imp_watchdog_stop
	if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
		kids=$(ps -o pid= --ppid "$dpid" 2>/dev/null)
		kill -TERM "$dpid" 2>/dev/null
		sleep 2
		# shellcheck disable=SC2086
		kill -KILL "$dpid" $kids 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

: >"$tmp/empty.conf"	# keep /etc/impsolverd.conf out of the test
# port 0: the daemon binds any free port and writes it to
# <state-dir>/impsolverd.port (no race between picking and binding)
"$DAEMON" -port=0 -bind=127.0.0.1 -threads=2 -state-dir="$tmp/state" \
    -queue-size=1024 -results=4096 \
    -config="$tmp/empty.conf" -quiet >"$tmp/log" 2>&1 &
dpid=$!
echo "$dpid" >"$tmp/daemon.pid"
n=150
url=
until [ -n "$url" ] &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/health")" = 200 ]; do
	port=$(cat "$tmp/state/impsolverd.port" 2>/dev/null)
	[ -n "$port" ] && url=http://127.0.0.1:$port
	n=$((n - 1))
	if [ $n -le 0 ] || ! kill -0 "$dpid" 2>/dev/null; then
		echo "FAIL: daemon not serving on $url"; tail -n 20 "$tmp/log"; exit 1
	fi
	sleep 0.1
done
ok "impsolverd up on $url"

# json_check FILE EXPR: EXPR (python, over the dict j) holds for the JSON
# line in FILE
json_check() {
	python3 -c 'import json,sys
j = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}

## impload: 20 batches of 12 spectra over 4 connections, then the same in
## human form (short) and the /health mode
echo "== impload -n 20 -c 4"
timeout 90 "$IMPLOAD" -u "$url" -n 20 -c 4 -T 80 --json >"$tmp/load.json"
rc=$?
cat "$tmp/load.json"
check "impload exit 0" test $rc -eq 0
check "20 batches, 240 spectra accepted" json_check "$tmp/load.json" \
    'j["batches_accepted"] == 20 and j["spectra_accepted"] == 240'
check "all 240 spectra done, none failed or lost" json_check "$tmp/load.json" \
    'j["all_done"] and j["spectra_done"] == 240 and j["spectra_failed"] == 0 and j["spectra_lost"] == 0'
check "zero errors" json_check "$tmp/load.json" 'j["errors"] == 0'
check "every fit recovers R0=10 R1=100 C0=1e-4 within 1%" json_check "$tmp/load.json" \
    'j["verified"] == 240 and j["mismatched"] == 0'
check "POST latency percentiles reported" json_check "$tmp/load.json" \
    '0 < j["latency_ms"]["p50"] <= j["latency_ms"]["p99"] <= j["latency_ms"]["max"]'

timeout 60 "$IMPLOAD" -u "$url/" -n 3 -c 2 -s 2 -p 30 -k 'R(RC)' -T 50 >"$tmp/load.txt"
rc=$?
sed 's/^/    | /' "$tmp/load.txt"
check "human report, trailing slash, -s/-p/-k: exit 0" test $rc -eq 0
check "human report says all done" grep -q 'all done after' "$tmp/load.txt"

timeout 60 "$IMPLOAD" -H -u "$url" -n 300 -c 4 -T 50 --json >"$tmp/health.json"
rc=$?
cat "$tmp/health.json"
check "impload -H: exit 0" test $rc -eq 0
check "impload -H: 300 requests, all 200" json_check "$tmp/health.json" \
    'j["requests"] == 300 and j["codes"] == {"200": 300} and j["ok"]'

timeout 30 "$IMPLOAD" -u "http://127.0.0.1:1" -n 2 -c 1 -T 20 --json >"$tmp/refused.json"
rc=$?
check "a refused connection is an error (exit 1), not a hang" test $rc -eq 1
check "refused connections counted" json_check "$tmp/refused.json" 'j["errors"] == 2'

## CSV: 5 spectra of R(RC) with known parameters, 2 per batch
echo "== csv_to_batch.py + send_csv_batch.sh"
python3 - "$tmp/spectra.csv" <<'EOF'
import math, sys
with open(sys.argv[1], "w") as f:
    f.write("Frequency_Hz,Z_real,Z_imag,Spectrum_Number\n")
    for s in range(5):
        r1 = 100.0 * (1 + 0.1 * s)
        for k in range(25):
            fr = 10 ** (5 - 6 * k / 24)
            a = 2 * math.pi * fr * r1 * 1e-4
            f.write("%.9g,%.9g,%.9g,%d\n" % (fr, 10 + r1 / (1 + a * a), -r1 * a / (1 + a * a), s + 1))
EOF
python3 "$S/tools/csv_to_batch.py" --batch-id t-tools-csv "$tmp/spectra.csv" "$tmp/batch.json" >/dev/null
check "csv_to_batch.py: the Go batch format" python3 - "$tmp/batch.json" <<'EOF'
import json, math, sys
j = json.load(open(sys.argv[1]))
assert j["batch_id"] == "t-tools-csv" and "timestamp" in j, j.keys()
assert [s["iteration"] for s in j["spectra"]] == [0, 1, 2, 3, 4]
for s in j["spectra"]:
    d = s["impedance_data"]
    assert set(d) == {"timestamp", "frequencies", "magnitude", "phase", "impedance"}
    assert len(d["frequencies"]) == len(d["magnitude"]) == len(d["phase"]) == len(d["impedance"]) == 25
    for m, p, z in zip(d["magnitude"], d["phase"], d["impedance"]):
        assert abs(m * math.cos(math.radians(p)) - z["real"]) < 1e-9 * m
        assert abs(m * math.sin(math.radians(p)) - z["imag"]) < 1e-9 * m
EOF

id=t-tools-$$
timeout 120 sh "$S/tools/send_csv_batch.sh" --wait --timeout 60 "$url" \
    "$tmp/spectra.csv" --batch-id "$id" --chunk 2 --circuit 'R(RC)' >"$tmp/send.out" 2>&1
rc=$?
sed 's/^/    | /' "$tmp/send.out"
check "send_csv_batch.sh --wait: exit 0" test $rc -eq 0
check "three batches posted (202)" test "$(grep -c "^batch $id-[123]: HTTP 202, status $url/eis-data/batch/$id-[123]\$" "$tmp/send.out")" -eq 3
done=$(awk -v id="$id" 'index($2, id "-") == 1 && / done, 0 failed$/ {
	for (i = 2; i < NF; i++) if ($(i + 1) == "done,") s += $i } END { print s + 0 }' "$tmp/send.out")
check "all five spectra done ($done)" test "$done" -eq 5
# the last chunk holds spectrum 5 alone: R1 = 140 there
last_fit_ok() {
	curl -s --max-time 10 "$url/eis-data/batch/$id-3" | python3 -c '
import json, sys
r = json.load(sys.stdin)["results"][0]
assert r["status"] == "done" and r["iteration"] == 4, r
p = r["parameters"]
assert abs(p[0] - 10) < 0.1 and abs(p[1] - 140) < 1.4 and abs(p[2] - 1e-4) < 1e-6, p
'
}
check "results carry the fitted parameters of the CSV spectra" last_fit_ok

## the daemon drains and exits 0 on SIGTERM
kill -TERM "$dpid"
n=150
while kill -0 "$dpid" 2>/dev/null && [ $n -gt 0 ]; do n=$((n - 1)); sleep 0.1; done
if kill -0 "$dpid" 2>/dev/null; then
	fail "daemon still running 15 s after SIGTERM"
else
	wait "$dpid"
	rc=$?
	dpid=
	check "daemon exits 0 on SIGTERM (got $rc)" test $rc -eq 0
fi
if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$tmp/log" >/dev/null; then
	fail "sanitizer report in the daemon log"
	grep -E -A5 'Sanitizer|runtime error' "$tmp/log" | head -n 20
fi

if [ $nfail -ne 0 ]; then
	echo "== daemon log"; tail -n 30 "$tmp/log"
	echo "t-tools: $nfail failure(s)"
	exit 1
fi
echo "t-tools: all passed"
exit 0
