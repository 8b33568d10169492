#!/bin/sh
# impcore - t-whk-batch-retry: batch deliveries (-webhook-mode=batch, in
# parts) to a receiver that fails (503) and then recovers: every batch
# arrives whole, each part answered 2xx exactly once, under the same
# webhook-id on every attempt; the failures were retried, none given up.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
ctl_init t-whk-batch-retry 120

# quick retries, capped, so the recovery is seen soon however slow the machine
IMP_WEBHOOK_BACKOFF_MS=200 IMP_WEBHOOK_BACKOFF_MAX_MS=500
export IMP_WEBHOOK_BACKOFF_MS IMP_WEBHOOK_BACKOFF_MAX_MS
NB=4

echo 503 >"$T/mode"
sink_start --mode-file "$T/mode"
daemon_start -webhook-url="http://127.0.0.1:$SPORT/hook" -webhook-mode=batch \
    -webhook-batch-max=16K -quiet
i=0
while [ $i -lt $NB ]; do
	batch_body "wbr-$i" 12 >"$T/b.json"
	code=$(post /eis-data/batch "$T/b.json")
	[ "$code" = 202 ] || fail "batch $i: HTTP $code $(cat "$T/resp")"
	i=$((i + 1))
done
ok "$NB batches of 12 accepted"

# each batch's first part failed at least twice before the receiver recovers
failed_twice() {
	python3 - "$T/sink.jsonl" $NB <<'PY'
import collections, json, sys
c = collections.Counter()
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["method"] == "POST" and r["action"] == "503":
        c[json.loads(r["body"])["batch_id"]] += 1
sys.exit(0 if len(c) == int(sys.argv[2]) and min(c.values()) >= 2 else 1)
PY
}
wait_until 60 failed_twice && ok "every batch failed twice (503)" || fail "not every batch was attempted twice"
: >"$T/mode"	# the receiver recovers

all_delivered() {
	i=0
	while [ $i -lt $NB ]; do
		curl -s "$API/eis-data/batch/wbr-$i?limit=0" | grep -q '"delivered":1' || return 1
		i=$((i + 1))
	done
}
wait_until 60 all_delivered && ok "every batch delivered after the recovery" || fail "not all delivered"
sleep 1	# anything more would be a duplicate

i=0
{
	printf '{'
	while [ $i -lt $NB ]; do
		[ $i -gt 0 ] && printf ','
		printf '"wbr-%d": [' $i
		batch_ids "wbr-$i" | sed 's/.*/"&"/' | paste -sd, -
		printf ']'
		i=$((i + 1))
	done
	printf '}\n'
} >"$T/ids.json"
python3 "$IMP_SRCDIR/tests/whk_batch_check.py" "$T/sink.jsonl" "$T/ids.json" \
    --once --max 16384 >"$T/check.out" || { cat "$T/check.out"; fail "deliveries (see above)"; }
grep -v '^ok' "$T/check.out"
python3 - "$T/sink.jsonl" <<'PY' || fail "retries"
import collections, json, os, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import check, done
posts = [json.loads(l) for l in open(sys.argv[1])]
posts = [r for r in posts if r["method"] == "POST"]
byid = collections.defaultdict(list)
for r in posts:
    byid[r["headers"]["webhook-id"]].append(r["action"])
# a failed attempt is followed by another under the same webhook-id
first = [w for w in byid if w.endswith("-1")]
check(all(a[0] == "503" and a[-1] == "200" for a in (byid[w] for w in first)),
      "each first part: 503 first, 200 last, one webhook-id (%d)" % len(first))
check(all(a.count("200") == 1 for a in byid.values()), "each part answered 200 once")
done()
PY
c=$(counter webhook_failed); [ "$c" = 0 ] && ok "webhook_failed = 0" || fail "webhook_failed = $c"
c=$(counter webhook_retried); [ "${c:-0}" -ge $((2 * NB)) ] && ok "webhook_retried = $c" || fail "webhook_retried = $c"
"$IMPCTL" -d "$STATE" webhooks >"$T/open" 2>&1
grep -q '^0 pending, 0 inflight, 0 failed' "$T/open" &&
    ok "impctl webhooks: nothing open" || fail "open: $(cat "$T/open")"

daemon_term 10 && ok "SIGTERM: daemon exited" || fail "daemon did not exit 0 within 10 s of SIGTERM (status $DRC)"
no_sanitizer_reports
done_tests
