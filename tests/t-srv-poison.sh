#!/bin/sh
# impcore - t-srv-poison (issue 12): a spectrum whose fit kills its worker
# is a poison pill.  Its lease is lost to a crashed worker twice (SIGABRT,
# as an assertion in the fit would send, to the holder, then to the next
# holder; a kill -9 from outside blames no job: t-srv-crash kills at random
# and loses nothing): it ends FAILED with "fitting it
# killed a worker twice" instead of being retried for ever, jobs_poisoned
# counts it, the master logs it, its webhook reports the failure, and the
# other spectrum of its batch is still fitted.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
ctl_init t-srv-poison 120

# every fit holds its lease 5 s longer: time to find the holder and kill it
IMPCORE_TEST_FIT_DELAY_US=5000000
export IMPCORE_TEST_FIT_DELAY_US
BID=poison-1

# owner ITER: the pid holding the lease of spectrum ITER (impctl batch,
# OWNER column), empty when it is not running
owner() {
	"$IMPCTL" -d "$STATE" batch "$BID" 2>/dev/null |
	    awk -v it="$1" '$2 == it && $4 == "running" { print $11 }'
}
held_by_other() {	# held_by_other NOT_PID: running under another pid
	o=$(owner 0)
	[ -n "$o" ] && [ "$o" != "$1" ]
}
status_of() {		# status_of: "<batch status> <iteration>=<status> ..."
	curl -s --max-time 30 "$API/eis-data/batch/$BID" | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(j["status"], " ".join("%d=%s" % (r["iteration"], r["status"])
    for r in sorted(j["results"], key=lambda r: r["iteration"])))'
}
finished() { case "$(status_of)" in *running*|*queued*) return 1;; esac; return 0; }

sink_start
daemon_start -webhook-url="http://127.0.0.1:$SPORT/hook" -quiet
batch_body "$BID" 2 >"$T/b.json"
code=$(post /eis-data/batch "$T/b.json")
[ "$code" = 202 ] || { fail "batch: HTTP $code $(cat "$T/resp")"; exit 1; }
ok "batch of 2 spectra accepted"

wait_until 20 held_by_other 0 || { fail "spectrum 0 never running"; exit 1; }
p1=$(owner 0)
kill -ABRT "$p1"
ok "crashed worker $p1 (SIGABRT), which held spectrum 0"
wait_until 30 held_by_other "$p1" || { fail "spectrum 0 not leased again: $(status_of)"; exit 1; }
p2=$(owner 0)
kill -ABRT "$p2"
ok "crashed worker $p2 (SIGABRT), which held spectrum 0 next"

wait_until 30 finished || fail "batch not finished: $(status_of)"
curl -s --max-time 30 "$API/eis-data/batch/$BID" >"$T/batch.json"
python3 - "$T/batch.json" <<'EOF' || fail "batch content"
import json, os, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import check, done
j = json.load(open(sys.argv[1]))
r = {x["iteration"]: x for x in j["results"]}
check(r[0]["status"] == "failed", "spectrum 0 failed (%s)" % r[0]["status"])
check(r[0].get("error") == "fitting it killed a worker twice",
      "its error says why (%r)" % r[0].get("error"))
check(r[1]["status"] == "done", "spectrum 1 still fitted (%s)" % r[1]["status"])
check(j["status"] == "partial" and j["done"] == 1 and j["failed"] == 1,
      "batch finished: %s, done %d, failed %d" % (j["status"], j["done"], j["failed"]))
done()
EOF
c=$(counter jobs_poisoned)
[ "$c" = 1 ] && ok "jobs_poisoned = 1" || fail "jobs_poisoned = $c"
grep -q "batch $BID iteration 0: fitting it killed a worker 2 times" "$T/log" &&
    ok "the master logged it" || fail "no log line for the poisoned job"

# the webhook reports the failure like any failed spectrum
delivered() { ge "$(sink_count 'json.loads(r["body"]).get("status") in ("failed", "done")')" 2; }
wait_until 30 delivered || fail "webhooks not delivered ($(sink_count))"
n=$(sink_count 'json.loads(r["body"]).get("iteration") == 0 and json.loads(r["body"]).get("error") == "fitting it killed a worker twice"')
ge "$n" 1 && ok "webhook delivered the failure of spectrum 0" ||
    fail "no webhook with the failure: $(head -c 600 "$T/sink.jsonl")"

daemon_term 20 && ok "SIGTERM: daemon exited" || fail "daemon did not exit 0 (status $DRC)"
no_sanitizer_reports
done_tests
