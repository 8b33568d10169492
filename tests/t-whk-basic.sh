#!/bin/sh
# impcore - t-whk-basic: every result of a batch (and of a synchronous
# POST /eis-data) reaches a healthy receiver exactly once, with the result
# object of DESIGN section 5 as body and Standard Webhooks headers whose
# signature this test checks on its own (python hmac, whsec_ secret).
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
ctl_init t-whk-basic 120

# a whsec_ secret: base64 of 24 random bytes
SECRET=whsec_$(python3 -c 'import base64,os;print(base64.b64encode(os.urandom(24)).decode())')

sink_start
daemon_start -webhook-url="http://127.0.0.1:$SPORT/hook?src=impcore" \
    -webhook-secret="$SECRET"
ok "daemon on $API, sink on $SPORT"

batch_body whk-basic-1 12 >"$T/batch.json"
code=$(post /eis-data/batch "$T/batch.json")
[ "$code" = 202 ] && ok "batch of 12 accepted" || fail "batch: HTTP $code $(cat "$T/resp")"

# one synchronous fit with a webhook too
python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); print(json.dumps(b["spectra"][0]["impedance_data"]))' \
    "$T/batch.json" >"$T/single.json"
code=$(post /eis-data "$T/single.json")
[ "$code" = 200 ] && ok "POST /eis-data answered" || fail "POST /eis-data: HTTP $code $(cat "$T/resp")"
single_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/resp")

wait_until 30 sink_ge 13 || true
sleep 1	# anything more would be a duplicate
batch_ids whk-basic-1 >"$T/ids"
echo "$single_id" >>"$T/ids"

python3 - "$T/sink.jsonl" "$T/ids" "$SECRET" <<'EOF'
import base64, hashlib, hmac, json, os, sys, time
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ids = [l.strip() for l in open(sys.argv[2]) if l.strip()]
secret = sys.argv[3]
key = base64.b64decode(secret[len("whsec_"):])
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import check, done

posts = [r for r in reqs if r["method"] == "POST"]
got = [r["id"] for r in posts]
check(len(ids) == 13, "13 result ids known (12 batch + 1 sync): %d" % len(ids))
check(len(posts) == 13, "13 deliveries received: %d" % len(posts))
check(sorted(got) == sorted(ids), "exactly once per result, ids are the result ids")
check(all(r["path"] == "/hook?src=impcore" for r in posts), "sent to -webhook-url, query kept")
fields = ["id", "time", "chi_square", "real_impedance", "imaginary_impedance",
          "frequencies", "parameters", "element_names", "element_impedances",
          "circuit_type", "batch_id", "iteration", "status", "fit_status",
          "method", "std_errors", "iterations", "fit_ms"]
now = time.time()
iters = set()
for r in posts:
    h, body = r["headers"], r["body"]
    wid, ts, sig = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature", "")
    check(h.get("content-type") == "application/json", "%s: Content-Type application/json" % wid)
    check(ts is not None and ts.isdigit() and abs(int(ts) - now) < 120, "%s: webhook-timestamp is now (%s)" % (wid, ts))
    mac = hmac.new(key, ("%s.%s.%s" % (wid, ts, body)).encode(), hashlib.sha256).digest()
    want = "v1," + base64.b64encode(mac).decode()
    check(sig == want, "%s: signature verifies (%s)" % (wid, sig))
    j = json.loads(body)
    missing = [f for f in fields if f not in j]
    check(not missing, "%s: body has every field (missing %s)" % (wid, missing))
    check(j.get("id") == wid, "%s: body id = webhook-id" % wid)
    check(j.get("status") == "done" and j.get("circuit_type") == "R(RC)", "%s: done, R(RC)" % wid)
    n = len(j.get("frequencies", []))
    check(n == 20 and len(j["real_impedance"]) == n and len(j["imaginary_impedance"]) == n,
          "%s: 20 points of model impedance" % wid)
    check(j.get("element_names") == ["R0", "R1", "C0"] and len(j.get("parameters", [])) == 3,
          "%s: element_names R0 R1 C0, 3 parameters" % wid)
    check([e["name"] for e in j.get("element_impedances", [])] == ["R0", "R1", "C0"],
          "%s: element_impedances per element" % wid)
    if j.get("batch_id") == "whk-basic-1":
        it = j["iteration"]
        iters.add(it)
        p = j["parameters"]
        check(abs(p[0] - 10) < 0.1 and abs(p[1] - (100 + it)) < 1 and abs(p[2] - 1e-4) < 1e-6,
              "%s: fitted parameters right (%s)" % (wid, p))
check(iters == set(range(12)), "every iteration 0..11 delivered")
done()
EOF
[ $? -eq 0 ] || fail "delivered bodies/headers (see above)"

# the Go server's log shape, one line per delivery
n=$(grep -cE '🌐 Webhook\[[0-9a-f]{16}\] ✅: [0-9]+\.[0-9]{3}ms$' "$T/log")
[ "$n" -eq 13 ] && ok "13 '🌐 Webhook[id] ✅: N.NNNms' log lines" || fail "$n ✅ log lines, want 13"

c=$(counter webhook_delivered); [ "$c" = 13 ] && ok "webhook_delivered = 13" || fail "webhook_delivered = $c"
c=$(counter webhook_attempts); [ "$c" = 13 ] && ok "webhook_attempts = 13" || fail "webhook_attempts = $c"
c=$(counter webhook_retried); [ "$c" = 0 ] && ok "webhook_retried = 0" || fail "webhook_retried = $c"
c=$(counter webhook_inflight); [ "$c" = 0 ] && ok "webhook_inflight = 0" || fail "webhook_inflight = $c"
c=$(counter webhook_rendered); [ "$c" = 13 ] && ok "webhook_rendered = 13" || fail "webhook_rendered = $c"
c=$(counter webhook_latency_ns); [ "${c:-0}" -gt 0 ] && ok "webhook_latency_ns counted" || fail "webhook_latency_ns = $c"
grep -q -- "$SECRET" "$T/log" && fail "the secret appears in the log" || ok "secret not logged"

# graceful stop: nothing in flight, exits promptly
daemon_term 10 && ok "SIGTERM: daemon exited ($DRC)" || fail "daemon did not exit 0 within 10 s of SIGTERM (status $DRC)"
no_sanitizer_reports
done_tests
