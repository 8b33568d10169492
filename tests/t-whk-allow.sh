#!/bin/sh
# impcore - t-whk-allow: a request's own webhook_url (batch or spectrum
# level, or POST /eis-data) outside -webhook-allow is refused with 400 and
# an error naming the field; the allow-list is matched on the parsed URL
# (scheme, host, port, path prefix), not as a string.  Allowed ones are
# delivered to exactly that URL; without -webhook-allow none is accepted.
# (The validation is the worker's; this test checks the contract.)
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
ctl_init t-whk-allow 120

sink_start
other=$(free_port)
ALLOW="http://127.0.0.1:$SPORT/allowed/"
daemon_start -webhook-url="http://127.0.0.1:$SPORT/default" -webhook-allow="$ALLOW"

# refused URL [LEVEL]: a batch (LEVEL batch, default) or spectrum (LEVEL
# spectrum) webhook_url is refused with 400 naming webhook_url
refused() {
	if [ "${2:-batch}" = batch ]; then
		batch_body whk-allow-x 1 "{\"webhook_url\": \"$1\"}" >"$T/b.json"
	else
		batch_body whk-allow-x 1 '{}' "{\"webhook_url\": \"$1\"}" >"$T/b.json"
	fi
	code=$(post /eis-data/batch "$T/b.json")
	if [ "$code" = 400 ] && python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if j.get("success") is False and "webhook_url" in j.get("field", "")
         and "webhook_url" in j.get("error", "") else 1)' "$T/resp"; then
		ok "$2 webhook_url $1: 400 $(cat "$T/resp")"
	else
		fail "$2 webhook_url $1: HTTP $code $(cat "$T/resp")"
	fi
}
refused "http://evil.example.com/allowed/x" batch
refused "http://127.0.0.1:$SPORT@evil.example.com/allowed/x" batch
refused "http://127.0.0.1:$other/allowed/x" batch
refused "https://127.0.0.1:$SPORT/allowed/x" batch
refused "ftp://127.0.0.1:$SPORT/allowed/x" batch
refused "http://127.0.0.1:$SPORT/allowedX" batch
refused "http://127.0.0.1:$SPORT/other/allowed/" batch
refused "http://127.0.0.1:$SPORT/allowed/../secret" batch
refused "not a url" batch
refused "http://evil.example.com/allowed/x" spectrum

python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
s = b["spectra"][0]["impedance_data"]
s["webhook_url"] = "http://evil.example.com/hook"
print(json.dumps(s))' "$T/b.json" >"$T/single.json"
code=$(post /eis-data "$T/single.json")
[ "$code" = 400 ] && grep -q webhook_url "$T/resp" &&
    ok "POST /eis-data with a foreign webhook_url: 400 $(cat "$T/resp")" ||
    fail "POST /eis-data foreign webhook_url: HTTP $code $(cat "$T/resp")"
[ "$(sink_count)" = 0 ] && ok "nothing delivered for refused requests" || fail "refused requests delivered"

# allowed: batch level, and one spectrum's own URL over the default
batch_body whk-allow-a 2 "{\"webhook_url\": \"${ALLOW}hook?x=1\"}" >"$T/a.json"
code=$(post /eis-data/batch "$T/a.json")
[ "$code" = 202 ] && ok "allowed batch webhook_url accepted" || fail "allowed batch: HTTP $code $(cat "$T/resp")"
batch_body whk-allow-b 2 >"$T/b.json"
python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
b["spectra"][1]["webhook_url"] = sys.argv[2]
print(json.dumps(b))' "$T/b.json" "${ALLOW}spec" >"$T/b2.json"
code=$(post /eis-data/batch "$T/b2.json")
[ "$code" = 202 ] && ok "allowed spectrum webhook_url accepted" || fail "allowed spectrum: HTTP $code $(cat "$T/resp")"
wait_until 20 sink_ge 4 || true
sleep 0.5
python3 - "$T/sink.jsonl" <<'EOF2'
import collections, json, sys
posts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
paths = collections.Counter(r["path"] for r in posts if r["method"] == "POST")
print("paths:", dict(paths))
want = {"/allowed/hook?x=1": 2, "/default": 1, "/allowed/spec": 1}
sys.exit(0 if paths == want else 1)
EOF2
[ $? -eq 0 ] && ok "delivered to exactly the URLs given (batch, spectrum, default)" ||
    fail "delivery targets"

# no -webhook-allow: no request may name its own webhook
daemon_term 10 || fail "daemon did not exit 0 on SIGTERM (status $DRC)"
daemon_start -webhook-url="http://127.0.0.1:$SPORT/default"
batch_body whk-allow-n 1 "{\"webhook_url\": \"${ALLOW}x\"}" >"$T/n.json"
code=$(post /eis-data/batch "$T/n.json")
[ "$code" = 400 ] && grep -q webhook_url "$T/resp" &&
    ok "without -webhook-allow: 400 $(cat "$T/resp")" ||
    fail "without -webhook-allow: HTTP $code $(cat "$T/resp")"

daemon_term 10 && ok "SIGTERM: daemon exited" || fail "daemon did not exit 0 within 10 s of SIGTERM (status $DRC)"
no_sanitizer_reports
done_tests
