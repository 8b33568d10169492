#!/bin/sh
# impcore - t-whk-retry: a receiver that answers 500, then hangs past the
# timeout, then refuses connections (its listener closed for a moment):
# the webhook is retried with the same webhook-id, each attempt signed with
# its own timestamp (raw secret, no whsec_ prefix), the waits between
# attempts grow (exponential backoff), and it is delivered in the end.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
ctl_init t-whk-retry 120

# short knobs (documented in src/webhook/whk_main.c): 800 ms per attempt,
# first retry after 300 ms, then 600 ms, 1.2 s ... (+-20%)
IMP_WEBHOOK_TIMEOUT_MS=800 IMP_WEBHOOK_BACKOFF_MS=300
export IMP_WEBHOOK_TIMEOUT_MS IMP_WEBHOOK_BACKOFF_MS
SECRET="raw secret, not whsec"

# attempt 1: 500; attempt 2: no answer, and the listener closes for 2.2 s,
# which refuses attempt 3 (0.8 s timeout + 0.6 s +-20% backoff: ~1.3-1.5 s
# after attempt 2 began); later ones: 200 (attempt 4 comes ~2.2-3 s after
# attempt 2: should it find the listener still closed, it is refused too
# and attempt 5 delivers)
sink_start --script "500,hang+close=2.2" --hang 3
daemon_start -webhook-url="http://127.0.0.1:$SPORT/r" -webhook-secret="$SECRET"

batch_body whk-retry-1 1 >"$T/batch.json"
code=$(post /eis-data/batch "$T/batch.json")
[ "$code" = 202 ] && ok "batch accepted" || fail "batch: HTTP $code"

wait_until 30 sink_ge 1 'r["action"] == "200"' &&
    ok "delivered in the end" || fail "never delivered"
rid=$(batch_ids whk-retry-1)
# the daemon logs the attempt once the answer is in: wait for the line
logged_ok() { grep -q "Webhook\[$rid\] ✅" "$T/log"; }
wait_until 10 logged_ok || fail "no ✅ line for $rid in the log"

python3 - "$T/sink.jsonl" "$T/log" "$rid" "$SECRET" <<'EOF'
import base64, datetime, hashlib, hmac, json, os, re, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rid, secret = sys.argv[3], sys.argv[4].encode()
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import check, done

posts = [r for r in reqs if r["method"] == "POST"]
print("sink saw:", [(r["seq"], r["action"]) for r in posts])
check(len(rid) == 16, "result id known (%s)" % rid)
check(all(r["headers"].get("webhook-id") == rid for r in posts), "same webhook-id on every attempt")
check([r["action"] for r in posts[:2]] == ["500", "hang"], "attempt 1 got 500, attempt 2 hung")
check(posts[-1]["action"] == "200" and sum(r["action"] == "200" for r in posts) == 1,
      "delivered once, on the last attempt")
tss = [r["headers"].get("webhook-timestamp") for r in posts]
check(len(set(tss)) >= 2, "each attempt has its own timestamp %s" % tss)
for r in posts:
    h = r["headers"]
    mac = hmac.new(secret, ("%s.%s.%s" % (rid, h["webhook-timestamp"], r["body"])).encode(),
                   hashlib.sha256).digest()
    check(h.get("webhook-signature") == "v1," + base64.b64encode(mac).decode(),
          "attempt %d signed with its timestamp (raw secret)" % r["seq"])

# the daemon's log: one line per attempt, in the Go shape
pat = re.compile(r'^(\S+) .*🌐 Webhook\[' + rid + r'\] (✅|❌): ([0-9.]+)ms(?:: (.*))?$')
att = []
for line in open(sys.argv[2], encoding="utf-8", errors="replace"):
    m = pat.match(line.rstrip("\n"))
    if m:
        end = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
        dur = float(m.group(3)) / 1000
        att.append((end - dur, end, m.group(2), m.group(4) or ""))
for a in att:
    print("attempt at %.3f, %.3fs: %s %s" % (a[0] - att[0][0], a[1] - a[0], a[2], a[3]))
check(len(att) >= 4, "at least 4 attempts logged: %d" % len(att))
check(att and att[-1][2] == "✅" and all(a[2] == "❌" for a in att[:-1]), "❌ ... ❌ then ✅")
check(len(att) > 1 and att[0][3] == "HTTP 500", "attempt 1 failed with 'HTTP 500'")
check(len(att) > 1 and "timed out" in att[1][3].lower(), "attempt 2 timed out")
check(any("connect" in a[3].lower() for a in att[2:-1]), "a later attempt was refused (could not connect)")
gaps = [att[i + 1][0] - att[i][1] for i in range(len(att) - 1)]
# the wait after attempt k (k = 1, 2, ...) is 300 ms x 2^(k-1), +-20%
# jitter: it grows.  Each measured wait must be at least 0.8 x its
# expected backoff (50 ms for the log's timestamps), and at most 1.2 x it
# plus 1.5 s (a loaded machine, ASan: timers and logging run late)
want = [0.3 * 2 ** k for k in range(len(gaps))]
print("waits between attempts:", ["%.3f" % g for g in gaps],
      "expected:", ["%.3f" % e for e in want])
check(len(gaps) > 0 and all(g >= 0.8 * e - 0.05 for g, e in zip(gaps, want)),
      "each wait >= 0.8 x its backoff (300 ms doubled each time): the waits grow")
check(all(g <= 1.2 * e + 1.5 for g, e in zip(gaps, want)),
      "no wait much longer than its backoff")
print("attempts=%d" % len(att))
open(sys.argv[1] + ".n", "w").write(str(len(att)))
done()
EOF
[ $? -eq 0 ] || fail "attempts (see above)"
n=$(cat "$T/sink.jsonl.n" 2>/dev/null)

c=$(counter webhook_attempts); [ "$c" = "$n" ] && ok "webhook_attempts = $n" || fail "webhook_attempts = $c, $n logged"
c=$(counter webhook_retried); [ "$c" = "$((n - 1))" ] && ok "webhook_retried = $((n - 1))" || fail "webhook_retried = $c"
c=$(counter webhook_delivered); [ "$c" = 1 ] && ok "webhook_delivered = 1" || fail "webhook_delivered = $c"
c=$(counter webhook_failed); [ "$c" = 0 ] && ok "webhook_failed = 0" || fail "webhook_failed = $c"

daemon_term 10 && ok "SIGTERM: daemon exited" || fail "daemon did not exit 0 within 10 s of SIGTERM (status $DRC)"
no_sanitizer_reports
done_tests
