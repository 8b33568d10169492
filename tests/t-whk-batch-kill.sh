#!/bin/sh
# impcore - t-whk-batch-kill: kill -9 the webhook process in the middle of
# batch deliveries sent in parts to a slow receiver (the master respawns it
# and reclaims the batches it held), then kill -9 the whole tree and start
# again on the same state directory: every batch arrives whole, every part
# under one webhook-id; the only repeats are parts in flight at a kill.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
ctl_init t-whk-batch-kill 120

IMP_WEBHOOK_TIMEOUT_MS=10000 IMP_WEBHOOK_BACKOFF_MS=200
export IMP_WEBHOOK_TIMEOUT_MS IMP_WEBHOOK_BACKOFF_MS
NB=8 NS=30

# 1 s per answer; 30 results of about 5 KB in parts of 40 KB: 4 or 5 parts
# a batch, one after the other, so each kill finds batches half-delivered
sink_start --delay 1
flags="-webhook-url=http://127.0.0.1:$SPORT/slow -webhook-mode=batch -webhook-batch-max=40K -quiet"
i=0
while [ $i -lt $NB ]; do
	batch_body "wbk-$i" $NS >"$T/b$i.json"
	i=$((i + 1))
done
# shellcheck disable=SC2086
daemon_start $flags
i=0
while [ $i -lt $NB ]; do
	code=$(post /eis-data/batch "$T/b$i.json")
	[ "$code" = 202 ] || fail "batch $i: HTTP $code $(cat "$T/resp")"
	i=$((i + 1))
done
ok "$NB batches of $NS spectra accepted"

# 1. kill -9 the webhook process once every batch is under way
wait_until 60 sink_ge $((NB + 2)) || fail "deliveries did not start"
wpid=$(webhook_pid)
[ -n "$wpid" ] || fail "no webhook process found"
kill -KILL "$wpid"
ok "killed webhook process $wpid after $(sink_count) requests"
respawned() { p=$(webhook_pid); [ -n "$p" ] && [ "$p" != "$wpid" ]; }
wait_until 10 respawned && ok "master respawned it ($(webhook_pid))" || fail "webhook process not respawned"

# 2. kill -9 the whole tree mid-delivery, start again on the same state dir
n1=$(sink_count)
wait_until 60 sink_ge $((n1 + NB)) || fail "deliveries did not resume"
daemon_kill9
ok "killed the whole tree after $(sink_count) requests"
sleep 1.2	# the slow receiver finishes answering the dead connections
# shellcheck disable=SC2086
daemon_start $flags
ok "restarted on the same state dir"

all_delivered() {
	i=0
	while [ $i -lt $NB ]; do
		curl -s "$API/eis-data/batch/wbk-$i?limit=0" | grep -q '"delivered":1' || return 1
		i=$((i + 1))
	done
}
wait_until 90 all_delivered && ok "every batch delivered" || fail "not all delivered"
sleep 0.5

i=0
{
	printf '{'
	while [ $i -lt $NB ]; do
		[ $i -gt 0 ] && printf ','
		printf '"wbk-%d": [' $i
		batch_ids "wbk-$i" | sed 's/.*/"&"/' | paste -sd, -
		printf ']'
		i=$((i + 1))
	done
	printf '}\n'
} >"$T/ids.json"
python3 "$IMP_SRCDIR/tests/whk_batch_check.py" "$T/sink.jsonl" "$T/ids.json" \
    --max 40960 >"$T/check.out" || { grep -v '^ok' "$T/check.out"; fail "deliveries (see above)"; }
grep -v '^ok' "$T/check.out"
python3 - "$T/sink.jsonl" $NB <<'PY' || fail "repeats"
import collections, json, os, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import check, done
posts = [json.loads(l) for l in open(sys.argv[1])]
c = collections.Counter(r["headers"]["webhook-id"] for r in posts if r["method"] == "POST")
rep = sum(n - 1 for n in c.values())
# at most one part of each batch is in flight at a time: NB per kill
check(rep <= 2 * int(sys.argv[2]), "repeats (%d) <= parts in flight at the two kills" % rep)
check(max(c.values()) <= 3, "no part more than 3 times")
done()
PY
c=$(counter webhook_failed); [ "$c" = 0 ] && ok "webhook_failed = 0" || fail "webhook_failed = $c"
"$IMPCTL" -d "$STATE" webhooks >"$T/open" 2>&1
grep -q '^0 pending, 0 inflight, 0 failed' "$T/open" &&
    ok "impctl webhooks: nothing open" || fail "open: $(cat "$T/open")"

daemon_term 10 && ok "SIGTERM: daemon exited" || fail "daemon did not exit 0 within 10 s of SIGTERM (status $DRC)"
no_sanitizer_reports
done_tests
