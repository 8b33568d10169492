#!/bin/sh
# impcore - t-whk-down: the receiver is down (connections refused) while a
# load of batches is fitted; nothing is lost or dropped: when it comes back
# every result is delivered, exactly once.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
ctl_init t-whk-down 120

# first retry after 100 ms, and never more than 2 s apart: however long
# the receiver stays down on a slow machine (ASan, a busy CI box), the
# backlog is delivered within seconds of its return
IMP_WEBHOOK_TIMEOUT_MS=2000 IMP_WEBHOOK_BACKOFF_MS=100 IMP_WEBHOOK_BACKOFF_MAX_MS=2000
export IMP_WEBHOOK_TIMEOUT_MS IMP_WEBHOOK_BACKOFF_MS IMP_WEBHOOK_BACKOFF_MAX_MS
NB=20 NS=50 TOTAL=1000

sink_start --closed	# bound, not listening: connections refused
# -quiet: thousands of refused attempts would be thousands of log lines
daemon_start -webhook-url="http://127.0.0.1:$SPORT/down" -quiet

i=0
while [ $i -lt $NB ]; do
	batch_body "whk-down-$i" $NS >"$T/b.json"
	code=$(post /eis-data/batch "$T/b.json")
	[ "$code" = 202 ] || fail "batch $i: HTTP $code $(cat "$T/resp")"
	i=$((i + 1))
done
ok "$NB batches of $NS spectra accepted"

all_fitted() {
	n=$(counter spectra_fitted)
	[ "${n:-0}" -ge $TOTAL ]
}
wait_until 60 all_fitted && ok "all $TOTAL spectra fitted" || fail "fitted: $(counter spectra_fitted)"
# let the refused attempts pile up a while: a retry for each (polled)
retried_all() { [ "$(counter webhook_retried)" -ge $TOTAL ] 2>/dev/null; }
wait_until 30 retried_all
c=$(counter webhook_retried)
[ "${c:-0}" -ge $TOTAL ] && ok "attempts refused and retried while down ($c)" || fail "webhook_retried = $c"
# the gauge is refreshed by the webhook process's scan, every 2 s
pending_shown() { [ "$(counter webhook_pending)" -gt 0 ] 2>/dev/null; }
wait_until 10 pending_shown
c=$(counter webhook_pending)
[ "${c:-0}" -gt 0 ] && ok "webhook_pending gauge shows the backlog ($c)" || fail "webhook_pending = $c"
[ "$(sink_count)" = 0 ] && ok "nothing reached the closed receiver" || fail "sink got requests while closed"
[ "$(counter webhook_failed)" = 0 ] || fail "webhooks marked failed"

kill -USR2 "$SPID"	# listen again
t0=$(date +%s)
wait_until 60 sink_ge $TOTAL || true
sleep 1
echo "receiver back: $(sink_count) deliveries after $(( $(date +%s) - t0 )) s"

i=0
: >"$T/ids"
while [ $i -lt $NB ]; do
	batch_ids "whk-down-$i" >>"$T/ids"
	i=$((i + 1))
done
python3 - "$T/sink.jsonl" "$T/ids" $TOTAL <<'EOF'
import collections, json, os, sys
posts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
posts = [r for r in posts if r["method"] == "POST"]
ids = set(l.strip() for l in open(sys.argv[2]) if l.strip())
total = int(sys.argv[3])
got = collections.Counter(r["headers"]["webhook-id"] for r in posts)
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import check, done
check(len(ids) == total, "%d result ids" % len(ids))
check(set(got) == ids, "every result delivered (%d of %d, %d unknown)" %
      (len(ids & set(got)), len(ids), len(set(got) - ids)))
check(max(got.values(), default=0) == 1, "none twice (%d requests)" % len(posts))
check(all(r["action"] == "200" for r in posts), "all answered 200")
done()
EOF
[ $? -eq 0 ] || fail "deliveries (see above)"

c=$(counter webhook_delivered); [ "$c" = $TOTAL ] && ok "webhook_delivered = $TOTAL" || fail "webhook_delivered = $c"
c=$(counter webhook_failed); [ "$c" = 0 ] && ok "webhook_failed = 0" || fail "webhook_failed = $c"
pending0() { [ "$(counter webhook_pending)" = 0 ]; }
wait_until 15 pending0 && ok "webhook_pending back to 0" || fail "webhook_pending = $(counter webhook_pending)"
c=$(counter webhook_inflight); [ "$c" = 0 ] && ok "webhook_inflight = 0" || fail "webhook_inflight = $c"

daemon_term 10 && ok "SIGTERM: daemon exited" || fail "daemon did not exit 0 within 10 s of SIGTERM (status $DRC)"
no_sanitizer_reports
done_tests
