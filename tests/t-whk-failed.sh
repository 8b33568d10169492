#!/bin/sh
# impcore - t-whk-failed: a receiver that always answers 500 is retried
# until the first attempt is -webhook-max-age old (one last attempt at the
# deadline), then the webhook is FAILED: kept, counted, listed by
# `impctl webhooks --failed`, and `impctl webhook-retry` delivers it once
# the receiver is healthy again.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
ctl_init t-whk-failed 120

IMP_WEBHOOK_TIMEOUT_MS=1000 IMP_WEBHOOK_BACKOFF_MS=200
export IMP_WEBHOOK_TIMEOUT_MS IMP_WEBHOOK_BACKOFF_MS

echo 500 >"$T/mode"
sink_start --mode-file "$T/mode"
daemon_start -webhook-url="http://127.0.0.1:$SPORT/f" -webhook-max-age=2s

batch_body whk-failed-1 1 >"$T/batch.json"
code=$(post /eis-data/batch "$T/batch.json")
[ "$code" = 202 ] && ok "batch accepted" || fail "batch: HTTP $code"
failed1() { [ "$(counter webhook_failed)" = 1 ]; }
wait_until 15 failed1 && ok "given up after -webhook-max-age=2s" || fail "webhook_failed = $(counter webhook_failed)"
rid=$(batch_ids whk-failed-1)
sleep 0.5

python3 - "$T/sink.jsonl" "$rid" <<'EOF2'
import json, os, sys
posts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
posts = [r for r in posts if r["method"] == "POST"]
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import check, done
check(all(r["headers"]["webhook-id"] == sys.argv[2] for r in posts), "one webhook-id throughout")
check(all(r["action"] == "500" for r in posts), "every attempt answered 500 (%d)" % len(posts))
span = posts[-1]["t"] - posts[0]["t"]
# 200 ms, 400 ms, 800 ms ... then one last attempt at first + 2 s (late
# by up to 2 s on a loaded machine: ASan, make -j2)
check(1.8 <= span <= 4.0, "last attempt at the deadline: %.3f s after the first" % span)
open(sys.argv[1] + ".n", "w").write(str(len(posts)))
done()
EOF2
[ $? -eq 0 ] || fail "attempts (see above)"
n=$(cat "$T/sink.jsonl.n")
c=$(counter webhook_attempts); [ "$c" = "$n" ] && ok "webhook_attempts = $n" || fail "webhook_attempts = $c, sink saw $n"
c=$(counter webhook_retried); [ "$c" = $((n - 1)) ] && ok "webhook_retried = $((n - 1))" || fail "webhook_retried = $c"
pending0() { [ "$(counter webhook_pending)" = 0 ]; }
wait_until 15 pending0
c=$(counter webhook_pending); [ "$c" = 0 ] && ok "webhook_pending = 0 (failed is not pending)" || fail "webhook_pending = $c"
grep -q "webhook $rid given up after $n attempts" "$T/log" &&
    ok "'given up' logged" || fail "no 'given up' line"
[ "$(grep -c "🌐 Webhook\[$rid\] ❌: .*: HTTP 500" "$T/log")" = "$n" ] &&
    ok "$n '❌ ... HTTP 500' lines" || fail "❌ lines"

"$IMPCTL" -d "$STATE" webhooks --failed >"$T/failed" 2>&1
grep -q "$rid" "$T/failed" && ok "impctl webhooks --failed lists it" ||
    { fail "impctl webhooks --failed"; cat "$T/failed"; }

# healthy again, and retried by hand
echo ok >"$T/mode"
"$IMPCTL" -d "$STATE" webhook-retry "$rid" >"$T/retry" 2>&1 &&
    ok "impctl webhook-retry $rid" || { fail "impctl webhook-retry"; cat "$T/retry"; }
wait_until 10 sink_ge 1 'r["action"] == "200"' && ok "delivered after the retry by hand" ||
    fail "not delivered after webhook-retry"
delivered1() { [ "$(counter webhook_delivered)" = 1 ]; }
wait_until 10 delivered1
c=$(counter webhook_delivered); [ "$c" = 1 ] && ok "webhook_delivered = 1" || fail "webhook_delivered = $c"
"$IMPCTL" -d "$STATE" webhooks --failed >"$T/failed" 2>&1
grep -q "$rid" "$T/failed" && fail "still listed as failed" || ok "no longer failed"

daemon_term 10 && ok "SIGTERM: daemon exited" || fail "daemon did not exit 0 within 10 s of SIGTERM (status $DRC)"
no_sanitizer_reports
done_tests
