#!/bin/sh
# impcore - t-whk-stop: SIGTERM while attempts are in flight to a slow
# receiver: the webhook process starts nothing new, waits a bounded grace
# (2 s), leaves the unfinished ones PENDING in the state file and exits;
# the next start delivers them.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
ctl_init t-whk-stop 120

IMP_WEBHOOK_TIMEOUT_MS=20000 IMP_WEBHOOK_BACKOFF_MS=200
export IMP_WEBHOOK_TIMEOUT_MS IMP_WEBHOOK_BACKOFF_MS

echo slow=10 >"$T/mode"	# answers after 10 s: longer than any grace
sink_start --mode-file "$T/mode"
daemon_start -webhook-url="http://127.0.0.1:$SPORT/s"

batch_body whk-stop-1 3 >"$T/batch.json"
code=$(post /eis-data/batch "$T/batch.json")
[ "$code" = 202 ] && ok "batch of 3 accepted" || fail "batch: HTTP $code"
wait_until 15 sink_ge 3 && ok "3 attempts in flight" || fail "attempts did not start"

t0=$(date +%s.%N)
daemon_term 15 && ok "SIGTERM: daemon exited ($DRC)" || fail "daemon did not exit 0 within 15 s of SIGTERM (status $DRC)"
el=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
le "$el" 6 1 && ok "stopped in ${el} s (2 s grace, not the receiver's 10 s)" ||
    fail "stop took ${el} s"
grep -q "webhook: info: stopped with 3 attempt(s) in flight, left pending" "$T/log" &&
    ok "webhook process left 3 attempts pending" || fail "no 'left pending' line"
"$IMPCTL" -d "$STATE" webhooks >"$T/open" 2>&1
[ "$(awk '$2 == "pending"' "$T/open" | wc -l)" -eq 3 ] && ok "impctl webhooks: 3 pending in the file" ||
    { fail "impctl webhooks"; cat "$T/open"; }

echo ok >"$T/mode"
daemon_start -webhook-url="http://127.0.0.1:$SPORT/s"
wait_until 15 sink_ge 3 'r["action"] == "200"' && ok "delivered after the restart" ||
    fail "not delivered after the restart"
python3 - "$T/sink.jsonl" <<'EOF2'
import collections, json, sys
posts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = collections.Counter(r["headers"]["webhook-id"] for r in posts if r["action"] == "200")
sys.exit(0 if len(ok) == 3 and max(ok.values()) == 1 else 1)
EOF2
[ $? -eq 0 ] && ok "each of the 3 delivered once" || fail "deliveries after restart"

daemon_term 10 && ok "SIGTERM: daemon exited" || fail "daemon did not exit 0 within 10 s of SIGTERM (status $DRC)"
no_sanitizer_reports
done_tests
