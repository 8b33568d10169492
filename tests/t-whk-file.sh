#!/bin/sh
# impcore - t-whk-file: POST /eis-data/file takes webhook_mode (issues 15
# and 18): a file of three spectra posted with ?webhook_mode=batch to a
# server whose default is one POST per spectrum is delivered as one signed
# POST of the batch with its three results in spectrum order; without it,
# as three.  An unknown mode is a 400 naming the field.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
ctl_init t-whk-file 120

SECRET=whsec_$(python3 -c 'import base64,os;print(base64.b64encode(os.urandom(24)).decode())')

# three R(RC) spectra as one CSV file (Spectrum_Number 0..2)
python3 - >"$T/three.csv" <<'PY'
import math
print("Frequency_Hz,Z_real,Z_imag,Spectrum_Number")
for s in range(3):
    for i in range(20):
        f = 10 ** (5 - 6 * i / 19)
        z = 10 + 1 / (1 / (100 + 10 * s) + 2j * math.pi * f * 1e-4)
        print("%r,%r,%r,%d" % (f, z.real, z.imag, s))
PY
postfile() {	# postfile QUERY: POST three.csv; prints the status
	curl -s -o "$T/resp" -w '%{http_code}' --max-time 30 \
	    --data-binary @"$T/three.csv" -H 'Content-Type: text/csv' \
	    "$API/eis-data/file?circuit=R(RC)&$1"
}
delivered() {	# delivered BATCH N: N deliveries done
	curl -s "$API/eis-data/batch/$1?limit=0" | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d.get("webhooks", {}).get("delivered") == int(sys.argv[1]) else 1)' "$2"
}

sink_start
URL="http://127.0.0.1:$SPORT/hook"
daemon_start -webhook-url="$URL" -webhook-secret="$SECRET"
ok "daemon on $API (one POST per spectrum by default), sink on $SPORT"

code=$(postfile "batch_id=f-batch&webhook_mode=batch")
[ "$code" = 202 ] && ok "file of 3 spectra, webhook_mode=batch: 202" ||
    fail "webhook_mode=batch: HTTP $code $(cat "$T/resp")"
wait_until 30 delivered f-batch 1 && ok "its one delivery is done" ||
    fail "not delivered: $(curl -s "$API/eis-data/batch/f-batch?limit=0")"
sleep 0.5	# anything more would be a duplicate
n=$(sink_count); [ "$n" = 1 ] && ok "one POST for the file's batch" ||
    fail "$n POSTs for the file's batch"
python3 - "$T/sink.jsonl" <<'PY' || fail "the batch body"
import json, os, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import check, done
r = [json.loads(l) for l in open(sys.argv[1])][-1]
j = json.loads(r["body"])
check(j.get("batch_id") == "f-batch", "batch_id f-batch")
res = j.get("results", [])
check(len(res) == 3, "3 results, got %d" % len(res))
check([x.get("iteration") for x in res] == [0, 1, 2],
      "results in spectrum order: %r" % [x.get("iteration") for x in res])
r1 = [abs(x["parameters"][1] - (100 + 10 * i)) < 1 for i, x in enumerate(res)]
check(all(r1), "R1 of each spectrum in order: %r" % [x["parameters"][1] for x in res])
check(any(k.lower() == "webhook-signature" for k in r["headers"]), "signed")
done()
PY

code=$(postfile "batch_id=f-each")
[ "$code" = 202 ] && ok "the same file without webhook_mode: 202" ||
    fail "without webhook_mode: HTTP $code $(cat "$T/resp")"
wait_until 30 delivered f-each 3 && ok "three deliveries done" ||
    fail "not delivered: $(curl -s "$API/eis-data/batch/f-each?limit=0")"
sleep 0.5
n=$(sink_count); [ "$n" = 4 ] && ok "one POST per spectrum (4 in all)" ||
    fail "$n POSTs in all, want 4"

code=$(postfile "batch_id=f-bad&webhook_mode=sometimes")
[ "$code" = 400 ] && grep -q webhook_mode "$T/resp" &&
    ok "webhook_mode=sometimes: 400 naming webhook_mode" ||
    fail "webhook_mode=sometimes: HTTP $code $(cat "$T/resp")"

no_sanitizer_reports
done_tests
