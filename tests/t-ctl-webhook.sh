#!/bin/sh
# impcore - t-ctl-webhook: a delivery that fails until -webhook-max-age is
# marked failed and listed by impctl webhooks --failed; impctl webhook-retry
# (by result id, then --all-failed) puts it back and it reaches the sink
# once the sink listens.  Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"

ctl_init t-ctl-webhook 120
# the sink (a background job: srv-lib's cleanup ends it), bound but
# refusing connections until SIGUSR2
python3 "$IMP_SRCDIR/tests/whk_sink.py" --closed --port-file "$T/sink.port" \
    --log "$T/sink.log" >"$T/sink.err" 2>&1 &
spid=$!
wait_for 10 test -s "$T/sink.port" || { fail "sink did not start"; srv_done; }
sport=$(cat "$T/sink.port")
ok "sink on port $sport, refusing connections"

# first retry after 200 ms (the webhook process reads this), give up after 2 s
IMP_WEBHOOK_BACKOFF_MS=200
export IMP_WEBHOOK_BACKOFF_MS
ctl_start -webhook-url="http://127.0.0.1:$sport/hook" -webhook-max-age=2s

srv_py gen wh-batch 2 >"$T/b.json"
c=$(http POST /eis-data/batch "$T/b.json")
[ "$c" = 202 ] || fail "POST batch: HTTP $c"
wait_for 30 batch_done wh-batch || fail "wh-batch not fitted in 30 s"

# failed_count: deliveries impctl webhooks --failed lists
failed_count() { ctl webhooks --failed | grep -cE '^[0-9a-f]{16} +failed '; }
two_failed() { [ "$(failed_count)" -eq 2 ]; }
wait_for 30 two_failed && ok "2 deliveries failed after -webhook-max-age=2s" ||
    { fail "deliveries not failed in 30 s"; ctl webhooks -a; }
expect_rc 0 "webhooks --failed" ctl webhooks --failed
cat "$T/out"
grep -q "connect\|refused\|Couldn't\|Connection" "$T/out" && ok "the last error is listed" ||
    fail "no connection error in webhooks --failed"
grep -q "^0 pending, 0 inflight, 2 failed" "$T/out" && ok "summary: 2 failed" || fail "summary line"
ids=$(grep -oE '^[0-9a-f]{16}' "$T/out")
id1=$(echo "$ids" | head -n 1)
id2=$(echo "$ids" | tail -n 1)
[ -s "$T/sink.log" ] && fail "the sink logged requests while refusing"

# the sink listens now; nothing arrives until retried by hand
kill -USR2 "$spid"
sleep 3
[ "$(grep -c '"method": "POST"' "$T/sink.log" 2>/dev/null)" = 0 ] ||
    fail "a failed delivery was sent without webhook-retry"

# delivered ID: the sink logged a POST with webhook-id ID
delivered() { grep -q "\"id\": \"$1\"" "$T/sink.log" 2>/dev/null; }

expect_rc 0 "webhook-retry $id1" ctl webhook-retry "$id1"
cat "$T/out"
grep -q "re-queued $id1" "$T/out" || fail "webhook-retry output does not name $id1"
wait_for 20 delivered "$id1" && ok "$id1 arrived at the sink" || fail "$id1 did not arrive in 20 s"
delivered "$id2" && fail "$id2 arrived without being retried"
wait_for 10 sh -c "$IMPCTL -d $STATE webhooks -a | grep -q '^$id1 *delivered'" &&
    ok "webhooks -a: $id1 delivered" || fail "webhooks -a does not show $id1 delivered"
expect_rc 1 "webhook-retry of a delivered one" ctl webhook-retry "$id1"
grep -q "webhook delivered" "$T/err" && ok "says: $(cat "$T/err")" || fail "message: $(cat "$T/err")"
expect_rc 1 "webhook-retry of an unknown id" ctl webhook-retry 0123456789abcdef

expect_rc 0 "webhook-retry --all-failed" ctl webhook-retry --all-failed
cat "$T/out"
grep -q "^1 delivery re-queued" "$T/out" || fail "--all-failed did not re-queue 1"
wait_for 20 delivered "$id2" && ok "$id2 arrived at the sink" || fail "$id2 did not arrive in 20 s"
wait_for 10 sh -c "[ \$($IMPCTL -d $STATE webhooks --failed | grep -cE '^[0-9a-f]{16} ') -eq 0 ]" &&
    ok "no failed delivery left" || fail "failed deliveries left"
expect_rc 1 "webhook-retry --all-failed with none failed" ctl webhook-retry --all-failed
# the body is the result object, signed or not, for the right batch
python3 - "$T/sink.log" "$id1" "$id2" <<'PY' && ok "bodies are the results of wh-batch" || fail "bodies"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for i in sys.argv[2:]:
    r = [x for x in recs if x.get("id") == i and x["action"] == "200"]
    b = json.loads(r[0]["body"])
    assert b["id"] == i and b["batch_id"] == "wh-batch" and b["status"] == "done", b
PY
srv_done
