#!/bin/sh
# impcore - t-ctl-stats: impctl stats counts exactly what a known load did
# (3 batches of 4 spectra, 2 GET /health, 1 POST /eis-data) in its three
# forms (table, -1, --json), with every counter of counters.def and
# per-process values adding up to the totals; impctl batch shows each
# spectrum's result; impctl stop -w stops the server.  Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"

ctl_init t-ctl-stats 120
ctl_start

# json_eval EXPR: EXPR (python over the dict j = impctl stats --json) holds
json_eval() {
	ctl stats --json | python3 -c 'import json,sys
j = json.load(sys.stdin)
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"
}

# Start counting after the start-up /health polls.
base=$(counter http_requests)
[ -n "$base" ] || { fail "no http_requests in impctl stats -1"; srv_done; }
ok "before the load: http_requests=$base"

for b in 1 2 3; do
	srv_py gen "ctl-batch-$b" 4 >"$T/b$b.json"
	c=$(http POST /eis-data/batch "$T/b$b.json")
	[ "$c" = 202 ] || fail "POST batch $b: HTTP $c $(cat "$T/body")"
done
for _ in 1 2; do
	c=$(http GET /health)
	[ "$c" = 200 ] || fail "GET /health: HTTP $c"
done
srv_py spectrum 0 >"$T/one.json"
c=$(http POST /eis-data "$T/one.json")
[ "$c" = 200 ] || fail "POST /eis-data: HTTP $c $(cat "$T/body")"
sync_id=$(sed -n 's/.*"id": *"\([0-9a-f]*\)".*/\1/p' "$T/body")
ok "load sent: 3 batches x 4 spectra, 2 health, 1 sync spectrum ($sync_id)"

# impctl alone tells when the work is done: no more HTTP requests to count
for b in 1 2 3; do
	wait_for 30 batch_done "ctl-batch-$b" || fail "batch ctl-batch-$b not done in 30 s"
done
# a worker counts a request once its answer is queued: give it a moment
wait_for 5 json_eval "j['counters']['http_requests'] == $base + 6"

expect_rc 0 "stats --json" ctl stats --json
cp "$T/out" "$T/stats.json"
python3 - "$T/stats.json" "$base" <<'EOF' || fail "stats --json counts (see above)"
import json, sys
j = json.load(open(sys.argv[1]))
base = int(sys.argv[2])
c = j["counters"]
want = {"batches_accepted": 3, "spectra_accepted": 12, "spectra_sync": 1,
        "spectra_fitted": 13, "spectra_failed": 0, "spectra_cancelled": 0,
        "http_requests": base + 6, "http_4xx": 0, "http_5xx": 0}
bad = 0
for k, v in want.items():
    if c.get(k) != v:
        print("FAIL: %s = %s, want %s" % (k, c.get(k), v))
        bad += 1
    else:
        print("ok: %s = %s" % (k, v))
h = j["histograms"]["fit_time"]
if h["count"] != 13 or not (0 < h["p50"] <= h["p90"] <= h["p99"]):
    print("FAIL: fit_time histogram: %s" % {k: h[k] for k in ("count", "p50", "p90", "p99")})
    bad += 1
else:
    print("ok: fit_time count 13, p50 %d ns <= p90 <= p99" % h["p50"])
# per-process values add up to the totals, for every counter
for k in c:
    s = sum(p["counters"][k] for p in j["processes"])
    if s != c[k]:
        print("FAIL: %s: processes sum to %d, total %d" % (k, s, c[k]))
        bad += 1
live = ("starting", "running", "draining")
roles = sorted(p["role"] for p in j["processes"] if p["state"] in live)
if roles.count("worker") != 2 or "master" not in roles:
    print("FAIL: running processes: %s" % roles)
    bad += 1
else:
    print("ok: processes %s, sums match totals" % roles)
w = [p for p in j["processes"] if p["role"] == "worker"]
if sum(p["counters"]["spectra_fitted"] for p in w) != 13:
    print("FAIL: workers' spectra_fitted do not sum to 13")
    bad += 1
sys.exit(1 if bad else 0)
EOF

# every counter of the table, by its name, in -1, --json and the table
names=$(sed -n -e 's/^C(\([a-z0-9_]*\),.*/\1/p' \
    -e 's/CS(\([0-9]*\))/http_status_\1\n/gp' "$IMP_SRCDIR/src/lib/counters.def" |
    sed -n 's/^ *\([a-z0-9_]*\).*/\1/p' | grep .)
hists=$(sed -n 's/^H(\([a-z0-9_]*\),.*/\1/p' "$IMP_SRCDIR/src/lib/counters.def")
ctl stats -1 >"$T/one" || fail "stats -1 exit status"
ctl stats >"$T/table" || fail "stats exit status"
missing=
for n in $names; do
	grep -q "^$n [0-9][0-9]* ." "$T/one" || missing="$missing -1:$n"
	grep -q "^$n " "$T/table" || missing="$missing table:$n"
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if sys.argv[2] in j["counters"] and sys.argv[2] in j["help"] else 1)' \
	    "$T/stats.json" "$n" || missing="$missing json:$n"
done
for n in $hists; do
	grep -q "^$n.p99 " "$T/one" || missing="$missing -1:$n.p99"
done
if [ -z "$missing" ]; then
	ok "all $(echo "$names" | wc -w) counters and $(echo "$hists" | wc -w) histograms of counters.def in stats -1, --json and the table"
else
	fail "missing from impctl stats:$missing"
fi
# the description printed is the table's
help=$(sed -n 's/^C(spectra_fitted,.*"\(.*\)")$/\1/p' "$IMP_SRCDIR/src/lib/counters.def")
grep -qF "spectra_fitted 13 $help" "$T/one" && ok "-1 line: spectra_fitted 13 $help" ||
    fail "-1 has no 'spectra_fitted 13 $help'"
grep -q '^worker\.[01]\.[0-9]*\.spectra_fitted [0-9]' "$T/one" &&
    ok "-1 has per-process lines (worker.N.PID.name)" || fail "-1 has no per-process worker lines"
grep -q '^PER PROCESS' "$T/table" && ok "table has the per-process section" ||
    fail "table has no per-process section"

# impctl batch: every spectrum done, with its parameters by name
expect_rc 0 "batch ctl-batch-2" ctl batch ctl-batch-2
cat "$T/out"
n=$(grep -cE '^ +[0-9]+ +[0-9]+ [0-9a-f]{16} +done +ok .* R0=[0-9.e+-]+ R1=[0-9.e+-]+ C0=[0-9.e+-]+' "$T/out")
[ "$n" -eq 4 ] && ok "batch lists 4 spectra done with R0, R1, C0" ||
    fail "batch lists $n spectra done with parameters, want 4"
expect_rc 0 "batch --json ctl-batch-2" ctl batch --json ctl-batch-2
python3 - "$T/out" <<'EOF' || fail "batch --json content"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["batch_id"] == "ctl-batch-2" and j["spectra"] == 4 and j["done"] == 4, j
assert sorted(r["iteration"] for r in j["results"]) == [0, 1, 2, 3]
for r in j["results"]:
    assert r["status"] == "done" and r["element_names"] == ["R0", "R1", "C0"], r
    p, i = r["parameters"], r["iteration"]
    # implib's synthetic spectrum i (noiseless R(RC))
    want = [10.0 + (i % 7), 100.0 + 13 * (i % 11), 1e-5 * (1 + (i % 4))]
    assert all(abs(a - b) <= 1e-3 * b for a, b in zip(p, want)), (p, want)
print("ok: batch --json: 4 results done, parameters recovered")
EOF
expect_rc 1 "batch of an unknown id" ctl batch no-such-batch
grep -q "no batch no-such-batch" "$T/err" && ok "says: $(cat "$T/err")" ||
    fail "unknown batch message: $(cat "$T/err")"
expect_rc 0 "batches" ctl batches
[ "$(grep -c ' completed .* ctl-batch-[123]$' "$T/out")" -eq 3 ] &&
    ok "batches lists the 3 batches completed" || { fail "batches output"; cat "$T/out"; }

expect_rc 0 "status" ctl status
grep -q '^server up: master pid '"$dpid" "$T/out" && ok "status: server up, master $dpid" ||
    fail "status: $(head -n 1 "$T/out")"

expect_rc 0 "stop -w" ctl stop -w -t 30
gone "$dpid" || fail "master $dpid still running after stop -w"
wait "$dpid"
rc=$?
SRV_PID=
[ $rc -eq 0 ] && ok "impsolverd exited 0 after impctl stop" || fail "impsolverd exit status $rc"
expect_rc 3 "status after stop" ctl status
grep -q "^server down (master pid $dpid not running)" "$T/out" &&
    ok "status: $(head -n 1 "$T/out")" || fail "status after stop: $(head -n 1 "$T/out")"
srv_done
