#!/bin/sh
# impcore - t-whk-batch: -webhook-mode=batch (issue 18).  A batch is one
# signed POST once all its spectra are finished, {batch_id, time, results}
# with every result object in spectrum order; a cancelled batch reports its
# cancelled spectra too; past -webhook-batch-max it goes in numbered parts,
# each a delivery of its own; a spectrum's own webhook_url is refused in
# this mode; GET and impctl show the one delivery; a request's
# "webhook_mode" wins over the flag.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
ctl_init t-whk-batch 120

SECRET=whsec_$(python3 -c 'import base64,os;print(base64.b64encode(os.urandom(24)).decode())')
CHECK=$IMP_SRCDIR/tests/whk_batch_check.py

# ids_json BATCH...: {batch: [result ids in order]} of finished batches
ids_json() {
	for b in "$@"; do
		printf '%s ' "$b"
		batch_ids "$b" | tr '\n' ' '
		echo
	done | python3 -c '
import json, sys
print(json.dumps({l.split()[0]: l.split()[1:] for l in sys.stdin if l.strip()}))'
}
finished() {	# finished BATCH: every spectrum done, failed or cancelled
	curl -s "$API/eis-data/batch/$1?limit=0" | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d["queued"] + d["running"] == 0 else 1)'
}
delivered() {	# delivered BATCH: its one delivery is done
	curl -s "$API/eis-data/batch/$1?limit=0" | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d.get("webhooks", {}).get("delivered") == 1 else 1)'
}

sink_start
URL="http://127.0.0.1:$SPORT/hook"
daemon_start -webhook-url="$URL" -webhook-secret="$SECRET" -webhook-mode=batch
ok "daemon on $API, sink on $SPORT"

# 1. one POST for 12 spectra
batch_body wb-one 12 >"$T/b1.json"
code=$(post /eis-data/batch "$T/b1.json")
[ "$code" = 202 ] && ok "batch of 12 accepted" || fail "batch: HTTP $code $(cat "$T/resp")"
wait_until 30 delivered wb-one && ok "batch delivered (GET says so)" || fail "batch not delivered"
sleep 0.5	# anything more would be a duplicate
n=$(sink_count); [ "$n" = 1 ] && ok "one POST for the batch" || fail "$n POSTs for one batch"
ids_json wb-one >"$T/ids1.json"
python3 "$CHECK" "$T/sink.jsonl" "$T/ids1.json" --secret "$SECRET" --once ||
    fail "the batch body (see above)"
python3 - "$T/sink.jsonl" <<'PY' || fail "result objects in the batch body"
import json, os, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import check, done
r = [json.loads(l) for l in open(sys.argv[1])][-1]
j = json.loads(r["body"])
check(r["path"] == "/hook", "sent to -webhook-url")
check("part" not in j and "parts" not in j, "no part fields when not split")
fields = ["id", "time", "chi_square", "real_impedance", "parameters",
          "element_names", "element_impedances", "batch_id", "iteration",
          "status", "fit_status", "std_errors", "fit_ms"]
for x in j["results"]:
    check(all(f in x for f in fields), "result %s: every field" % x["id"])
    p = x["parameters"]
    check(x["status"] == "done" and abs(p[1] - (100 + x["iteration"])) < 1,
          "result %s: done, fitted" % x["id"])
check([x["iteration"] for x in j["results"]] == list(range(12)), "spectrum order")
check(j["batch_id"] == "wb-one" and j["time"].endswith("Z"), "batch_id and time")
done()
PY
grep -qE '🌐 Webhook\[[0-9a-f]{16}\] ✅: [0-9.]+ms$' "$T/log" &&
    ok "one '🌐 Webhook[id] ✅' line" || fail "no ✅ log line for the batch"
c=$(counter webhook_delivered); [ "$c" = 1 ] && ok "webhook_delivered = 1" || fail "webhook_delivered = $c"
"$IMPCTL" -d "$STATE" webhooks -a >"$T/ctl" 2>&1
grep -qE '^[0-9a-f]{16} +delivered +1 .* batch wb-one ' "$T/ctl" &&
    ok "impctl webhooks -a lists the batch delivery" || fail "impctl webhooks -a: $(cat "$T/ctl")"

# 2. a spectrum's own webhook_url does not go with one POST per batch
batch_body wb-own 2 '{}' "{\"webhook_url\": \"$URL\"}" >"$T/b2.json"
code=$(post /eis-data/batch "$T/b2.json")
[ "$code" = 400 ] && grep -q 'spectra\[0\].webhook_url' "$T/resp" &&
    ok "own webhook_url in batch mode: 400 naming it" || fail "own webhook_url: HTTP $code $(cat "$T/resp")"

# 3. cancelled spectra are reported: the batch goes once none is queued.
# Behind 400 Nelder-Mead fits, its spectra are still queued at the DELETE
# (on a machine fast enough to fit them all first, none is cancelled and
# the counts below still hold).
batch_body wb-block 400 '{"method": "nelder-mead"}' >"$T/b3a.json"
batch_body wb-cancel 20 >"$T/b3.json"
code=$(post /eis-data/batch "$T/b3a.json")
[ "$code" = 202 ] || fail "batch of 400: HTTP $code"
code=$(post /eis-data/batch "$T/b3.json")
[ "$code" = 202 ] || fail "batch of 20: HTTP $code"
curl -s -X DELETE -o "$T/del" "$API/eis-data/batch/wb-cancel"
wait_until 60 finished wb-cancel || fail "cancelled batch not finished"
wait_until 60 delivered wb-cancel && ok "cancelled batch delivered" || fail "cancelled batch not delivered"
wait_until 60 delivered wb-block && ok "400 spectra delivered (in parts)" || fail "batch of 400 not delivered"
sleep 0.5
ids_json wb-one wb-block wb-cancel >"$T/ids3.json"
python3 "$CHECK" "$T/sink.jsonl" "$T/ids3.json" --secret "$SECRET" --once ||
    fail "the cancelled batch's body (see above)"
python3 - "$T/sink.jsonl" "$T/del" <<'PY' || fail "cancelled statuses"
import json, os, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import check, done
bodies = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])]
# 400 results of about 5 KB: two parts under the default 1 MB
big = [j for j in bodies if j["batch_id"] == "wb-block"]
check(len(big) == 2 and [j["part"] for j in big] == [1, 2],
      "2 MB of results: parts 1 and 2 of 2 (%d)" % len(big))
j = [j for j in bodies if j["batch_id"] == "wb-cancel"][0]
n = json.load(open(sys.argv[2])).get("cancelled_now", 0)
st = [x["status"] for x in j["results"]]
check(st.count("cancelled") == n and st.count("done") == 20 - n,
      "%d cancelled (DELETE said %d), the rest done" % (st.count("cancelled"), n))
done()
PY

# 4. parts: the same server with -webhook-batch-max=12K (about two results)
daemon_term 10 || fail "SIGTERM: status $DRC"
: >"$T/sink.jsonl"
daemon_start -webhook-url="$URL" -webhook-secret="$SECRET" -webhook-mode=batch \
    -webhook-batch-max=12K
batch_body wb-parts 12 >"$T/b4.json"
r0=$(counter webhook_rendered) a0=$(counter webhook_attempts)
code=$(post /eis-data/batch "$T/b4.json")
[ "$code" = 202 ] || fail "batch of 12: HTTP $code"
wait_until 30 delivered wb-parts && ok "split batch delivered" || fail "split batch not delivered"
sleep 0.5
ids_json wb-parts >"$T/ids4.json"
python3 "$CHECK" "$T/sink.jsonl" "$T/ids4.json" --secret "$SECRET" --once --max 12288 ||
    fail "the parts (see above)"
np=$(sink_count); [ "$np" -ge 4 ] && ok "$np parts" || fail "$np parts, want at least 4"
n=$(grep -cE '🌐 Webhook\[[0-9a-f]{16}-[0-9]+\] ✅: [0-9.]+ms( \(part [0-9]+ of [0-9]+\))?$' "$T/log")
[ "$n" -ge 4 ] && ok "a ✅ log line per part ($n)" || fail "$n ✅ part lines"
# each part renders its own results: the batch is sized once (12), then
# parts take 12 in all, and a retried part (none, normally) its own again;
# rendering the whole batch per part took 12 a part (48 or more)
r=$(($(counter webhook_rendered) - ${r0:-0})) a=$(($(counter webhook_attempts) - ${a0:-0}))
[ "$r" -ge 12 ] && [ "$r" -le $((24 + 3 * (a - np))) ] &&
    ok "$r results rendered for $np parts in $a attempts" ||
    fail "$r results rendered for $np parts in $a attempts (want 24, +3 a retry)"

# 5. a request's "webhook_mode" wins over -webhook-mode; a bad one is a 400
: >"$T/sink.jsonl"
batch_body wb-spec 3 '{"webhook_mode": "spectrum"}' >"$T/b5.json"
code=$(post /eis-data/batch "$T/b5.json")
[ "$code" = 202 ] || fail "webhook_mode spectrum: HTTP $code $(cat "$T/resp")"
wait_until 30 sink_ge 3 || fail "per-spectrum deliveries did not arrive"
sleep 0.5
batch_ids wb-spec | sort >"$T/ids5"
python3 -c '
import json, sys
for l in open(sys.argv[1]):
    print(json.loads(l)["headers"]["webhook-id"])' "$T/sink.jsonl" | sort >"$T/got5"
cmp -s "$T/ids5" "$T/got5" && [ "$(wc -l <"$T/ids5")" -eq 3 ] &&
    ok "\"webhook_mode\": \"spectrum\": one POST per result" || fail "per-spectrum: $(cat "$T/got5")"
batch_body wb-bad 1 '{"webhook_mode": "all"}' >"$T/b6.json"
code=$(post /eis-data/batch "$T/b6.json")
[ "$code" = 400 ] && grep -q '"webhook_mode"' "$T/resp" &&
    ok "\"webhook_mode\": \"all\": 400 naming it" || fail "bad webhook_mode: HTTP $code $(cat "$T/resp")"

daemon_term 10 && ok "SIGTERM: daemon exited" || fail "daemon did not exit 0 within 10 s of SIGTERM (status $DRC)"
no_sanitizer_reports
done_tests
