#!/bin/sh
# impcore - t-whk-redirect: redirects and timeouts of webhook deliveries.
#  A. without -webhook-redirects a 307 is a failed attempt: retried, never
#     followed (the settings come from the config file here:
#     webhook-timeout = 2s, webhook_connect_timeout = 10s, clamped to 2s);
#  B. with -webhook-redirects=2: 307/308 and 301/302/303 chains on the
#     target itself, or to a -webhook-allow prefix on another port, are
#     followed, and the POST arrives at the final URL with its body, the
#     same webhook-id and a valid signature; a redirect to a target that is
#     not allowed (another port, or a path outside the prefix) is not
#     followed (that receiver is not even connected to), the attempt fails
#     with the reason in the log and goes the retry/failed way; a chain
#     longer than 2 fails;
#     and (same daemon) -webhook-timeout=1s, no IMP_WEBHOOK_TIMEOUT_MS, ends
#     a hanging attempt after about 1 s, not 30;
#  C. bad values of the flags are refused at start.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
ctl_init t-whk-redirect 120

# the timeout must come from the flag or the file, never the test knob
unset IMP_WEBHOOK_TIMEOUT_MS
IMP_WEBHOOK_BACKOFF_MS=300
export IMP_WEBHOOK_BACKOFF_MS
SECRET=whsec_$(printf 'redirect test secret 123' | base64)
S2PID='' S3PID=''

cleanup2() {
	[ -n "$S2PID" ] && kill -KILL "$S2PID" 2>/dev/null
	[ -n "$S3PID" ] && kill -KILL "$S3PID" 2>/dev/null
	srv_cleanup
}
trap cleanup2 EXIT

# extra_sink NAME ARGS...: another whk_sink.py logging to $T/NAME.jsonl;
# prints its port; its pid is in $T/NAME.pid
extra_sink() {
	name=$1; shift
	python3 "$SINK" --port-file "$T/$name.port" --log "$T/$name.jsonl" "$@" \
	    >>"$T/$name.err" 2>&1 &
	echo $! >"$T/$name.pid"
	n=100
	while [ ! -s "$T/$name.port" ]; do
		n=$((n - 1))
		[ $n -gt 0 ] || { echo "FAIL: sink $name did not start" >&2; return 1; }
		sleep 0.05
	done
	cat "$T/$name.port"
}

# count FILE EXPR: records of the JSON-lines FILE for which EXPR (python, over r) holds
count() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
n = 0
try:
    for line in open(sys.argv[1]):
        if line.strip():
            r = json.loads(line)
            if eval(sys.argv[2]):
                n += 1
except FileNotFoundError:
    pass
print(n)
EOF
}
count_ge() { ge "$(count "$1" "$2")" "$3"; }

# submit ID URL: a batch of one spectrum whose webhook goes to URL
submit() {
	batch_body "$1" 1 "{\"webhook_url\": \"$2\"}" >"$T/b.json"
	code=$(post /eis-data/batch "$T/b.json")
	[ "$code" = 202 ] || fail "batch $1 ($2): HTTP $code $(cat "$T/resp")"
}

# attempts RID: the webhook log lines of result RID
attempts() { grep -F "Webhook[$1]" "$T/log"; }

#----------------------------------------------------------------------
# A. -webhook-redirects not given (0): a 307 is a failed attempt
cat >"$T/empty.conf" <<'EOF'
# written by t-whk-redirect: keys work in the file like flags
webhook-timeout = 2s
webhook_connect_timeout = 10s
EOF
sink_start --script "redirect=307:/a/final,redirect=307:/a/final"
daemon_start -webhook-url="http://127.0.0.1:$SPORT/a/start"
grep -q "Webhook delivery to http://127.0.0.1:$SPORT, signing off, timeout 2s (connect 2s), redirects not followed" "$T/log" &&
    ok "start-up line: timeout 2s (connect clamped to 2s), redirects not followed (from the config file)" ||
    fail "start-up line: $(grep 'Webhook delivery' "$T/log")"
batch_body whk-redir-a 1 >"$T/a.json"
code=$(post /eis-data/batch "$T/a.json")
[ "$code" = 202 ] && ok "batch A accepted" || fail "batch A: HTTP $code"
wait_until 20 sink_ge 1 'r["path"] == "/a/start" and r["action"] == "200"' &&
    ok "A: delivered in the end (third attempt)" || fail "A: never delivered"
rid=$(batch_ids whk-redir-a)
logged_ok() { grep -q "Webhook\[$rid\] ✅" "$T/log"; }
wait_until 10 logged_ok || fail "A: no ✅ line for $rid"
n=$(sink_count 'r["path"] == "/a/start"')
[ "$n" = 3 ] && ok "A: 3 attempts, all to /a/start (307 twice, then 200)" ||
    fail "A: $n POSTs to /a/start"
n=$(sink_count 'r["path"] != "/a/start"')
[ "$n" = 0 ] && ok "A: the Location (/a/final) was never requested" ||
    fail "A: $n POSTs elsewhere than /a/start"
n=$(attempts "$rid" | grep -c "❌: [0-9.]*ms: HTTP 307$")
[ "$n" = 2 ] && ok "A: two attempts logged '❌ ... HTTP 307'" ||
    fail "A: $n '❌ HTTP 307' lines: $(attempts "$rid")"
c=$(counter webhook_retried); [ "$c" = 2 ] && ok "A: webhook_retried = 2" || fail "A: webhook_retried = $c"
daemon_term 10 || fail "A: daemon did not exit 0 on SIGTERM (status $DRC)"
sink_stop
mv "$T/sink.jsonl" "$T/sink-a.jsonl"
: >"$T/empty.conf"

#----------------------------------------------------------------------
# B. -webhook-redirects=2, a secret, -webhook-timeout=1s, allow-list: /h/ on
# the main sink and /ok/ on sink 2; sink 3 is allowed nowhere.  Sinks 2 and
# 3 log every connection they accept.
S2PORT=$(extra_sink s2 --log-connections) || exit 1
S2PID=$(cat "$T/s2.pid")
S3PORT=$(extra_sink s3 --log-connections) || exit 1
S3PID=$(cat "$T/s3.pid")
H=http://127.0.0.1
# /elsewhere/mid (same origin, outside the /h/ prefix) gets the default
# step from the mode file, written once the sink's port is known: a 308
# to its own absolute URL /h/final
sink_start --mode-file "$T/mode" \
    --path-mode "/h/start=redirect=307:/elsewhere/mid" \
    --path-mode "/h/final=ok" \
    --path-mode "/h/p303=redirect=303:/h/p302" \
    --path-mode "/h/p302=redirect=302:/h/final2" \
    --path-mode "/h/final2=ok" \
    --path-mode "/h/cross=redirect=301:$H:$S2PORT/ok/x?y=1" \
    --path-mode "/h/foreign=redirect=307:$H:$S3PORT/ok/x" \
    --path-mode "/h/outside=redirect=302:$H:$S2PORT/no/x" \
    --path-mode "/h/loop1=redirect=307:/h/loop2" \
    --path-mode "/h/loop2=redirect=307:/h/loop3" \
    --path-mode "/h/loop3=redirect=307:/h/loop4" \
    --path-mode "/h/loop4=ok" \
    --path-mode "/h/hang=hang" --hang 8
echo "redirect=308:$H:$SPORT/h/final" >"$T/mode"
daemon_start -webhook-url="$H:$SPORT/h/start" -webhook-secret="$SECRET" \
    -webhook-allow="$H:$SPORT/h/,$H:$S2PORT/ok/" -webhook-redirects=2 \
    -webhook-timeout=1s -webhook-max-age=3s
grep -q "Webhook delivery to http://127.0.0.1:$SPORT, signing on, timeout 1s (connect 1s), redirects up to 2 followed" "$T/log" &&
    ok "B: start-up line: timeout 1s (connect 1s), redirects up to 2 followed" ||
    fail "B: start-up line: $(grep 'Webhook delivery' "$T/log" | tail -1)"

D0=$(counter webhook_delivered) F0=$(counter webhook_failed)
batch_body whk-redir-chain 1 >"$T/c.json"
code=$(post /eis-data/batch "$T/c.json")
[ "$code" = 202 ] || fail "batch whk-redir-chain: HTTP $code $(cat "$T/resp")"
submit whk-redir-post "$H:$SPORT/h/p303"
# with credentials in the URL: they must not follow to another receiver
submit whk-redir-cross "http://user:pw@127.0.0.1:$SPORT/h/cross"
submit whk-redir-foreign "$H:$SPORT/h/foreign"
submit whk-redir-outside "$H:$SPORT/h/outside"
submit whk-redir-loop "$H:$SPORT/h/loop1"
submit whk-redir-hang "$H:$SPORT/h/hang"

# all 7 settled (delivered or failed), then which way each went (the
# counters live in the state file: A's delivery counts too)
settled() {
	[ $(($(counter webhook_delivered) + $(counter webhook_failed))) -ge $((D0 + F0 + 7)) ]
}
wait_until 30 settled || fail "B: not all 7 deliveries settled"
c=$(counter webhook_delivered)
[ "$c" = $((D0 + 3)) ] && ok "B: 3 deliveries through redirects" ||
    fail "B: webhook_delivered = $c, was $D0 (3 more expected)"
c=$(counter webhook_failed)
[ "$c" = $((F0 + 4)) ] && ok "B: 4 deliveries failed after -webhook-max-age=3s" ||
    fail "B: webhook_failed = $c, was $F0 (4 more expected)"
sleep 0.3
for b in chain post cross foreign outside loop hang; do
	echo "$b $(batch_ids "whk-redir-$b")"
done >"$T/ids"

python3 - "$T" "$SECRET" "$S2PORT" "$S3PORT" "$SPORT" <<'EOF'
import base64, hashlib, hmac, json, os, re, sys
W, secret, s2, s3, sport = sys.argv[1:6]
key = base64.b64decode(secret[len("whsec_"):])
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import check, done
def load(name):
    try:
        return [json.loads(l) for l in open("%s/%s.jsonl" % (W, name)) if l.strip()]
    except FileNotFoundError:
        return []
ids = dict(l.split() for l in open(W + "/ids") if len(l.split()) == 2)
main, sink2, sink3 = load("sink"), load("s2"), load("s3")
posts = [r for r in main + sink2 if r["method"] == "POST"]
posts.sort(key=lambda r: r["t"])
def of(b):
    return [r for r in posts if r["id"] == ids.get(b)]
def signed(r):
    h = r["headers"]
    mac = hmac.new(key, ("%s.%s.%s" % (h["webhook-id"], h["webhook-timestamp"],
                   r["body"])).encode(), hashlib.sha256).digest()
    return h.get("webhook-signature") == "v1," + base64.b64encode(mac).decode()
log = open(W + "/log", encoding="utf-8", errors="replace").read().splitlines()
def lines(b):
    return [l for l in log if "Webhook[%s]" % ids.get(b, "?") in l]
check(len(ids) == 7 and all(len(v) == 16 for v in ids.values()), "B: 7 result ids: %s" % ids)

# chain: 307 relative to the same origin, 308 absolute, then 200
c = of("chain")
check([r["path"] for r in c] == ["/h/start", "/elsewhere/mid", "/h/final"],
      "chain: POST /h/start -> 307 /elsewhere/mid -> 308 /h/final: %s" % [r["path"] for r in c])
check(len(c) == 3 and c[-1]["action"] == "200", "chain: /h/final answered 200")
check(len(c) == 3 and len({r["body"] for r in c}) == 1 and json.loads(c[-1]["body"])["id"] == ids["chain"],
      "chain: the same body at every hop, the result's")
check(len(c) == 3 and len({(r["headers"]["webhook-id"], r["headers"]["webhook-timestamp"],
                            r["headers"].get("webhook-signature")) for r in c}) == 1,
      "chain: same webhook-id, timestamp and signature at every hop")
check(len(c) == 3 and all(signed(r) for r in c), "chain: the signature is valid (whsec_ secret)")
l = lines("chain")
check(sum("✅" in x for x in l) == 1 and not any("❌" in x for x in l),
      "chain: one attempt, ✅")
check(sum(bool(re.search(r"↪: HTTP 30[78], redirect [12]/2 to http://127\.0\.0\.1:%s/" % sport, x)) for x in l) == 2,
      "chain: 2 hops logged (↪)")

# 303 and 302 keep the POST and its body
c = of("post")
check([(r["path"], r["method"]) for r in c] == [("/h/p303", "POST"), ("/h/p302", "POST"), ("/h/final2", "POST")],
      "303 then 302: still POST, at /h/final2: %s" % [(r["path"], r["method"]) for r in c])
check(len(c) == 3 and json.loads(c[-1]["body"]).get("id") == ids["post"] and signed(c[-1]),
      "303/302: the body and a valid signature arrive")

# 301 to another port under a -webhook-allow prefix
c = of("cross")
check([r["path"] for r in c] == ["/h/cross", "/ok/x?y=1"] and c[-1] in sink2,
      "301 to sink 2's /ok/ (allowed): followed, query kept: %s" % [r["path"] for r in c])
check(len(c) == 2 and signed(c[-1]), "cross: valid signature at the other receiver")
check(len(c) == 2 and c[0]["headers"].get("authorization", "").startswith("Basic ")
      and "authorization" not in c[1]["headers"],
      "cross: the URL's credentials went to the target only, not to the redirect's")

# not allowed: another port (sink 3), or outside the prefix on sink 2
check(sink3 == [], "foreign: sink 3 (allowed nowhere) was not even connected to: %d records" % len(sink3))
check(not any(r["path"].startswith("/no/") for r in sink2 if r["method"] == "POST"),
      "outside: nothing arrived at sink 2's /no/")
for b, port, path in (("foreign", s3, "/ok/x"), ("outside", s2, "/no/x")):
    l = lines(b)
    pat = re.compile(r"🌐 Webhook\[%s\] ❌: [0-9.]+ms: redirect to http://127\.0\.0\.1:%s%s not allowed: "
                     r"not the delivery target \(http://127\.0\.0\.1:%s\) and matches no -webhook-allow prefix$"
                     % (ids[b], port, re.escape(path), sport))
    n = sum(bool(pat.search(x)) for x in l)
    check(n >= 2, "%s: %d attempts failed with 'redirect to ...:%s%s not allowed' (retried)" % (b, n, port, path))
    check(any("given up" in x for x in log if ids[b] in x), "%s: given up after -webhook-max-age" % b)
    check(len([r for r in of(b) if r["path"] == "/h/" + b]) == n, "%s: one POST to /h/%s per attempt" % (b, b))

# longer than 2 redirects
c = of("loop")
paths = [r["path"] for r in c]
check(len(c) >= 6 and "/h/loop4" not in paths and paths[:3] == ["/h/loop1", "/h/loop2", "/h/loop3"],
      "loop: 2 redirects followed per attempt, the 3rd not (no /h/loop4): %s" % paths[:6])
n = sum(bool(re.search(r"❌: [0-9.]+ms: HTTP 307: too many redirects \(2 followed, -webhook-redirects=2\)$", x))
        for x in lines("loop"))
check(n >= 2, "loop: %d attempts failed with 'too many redirects'" % n)

# -webhook-timeout=1s: a hanging receiver costs about 1 s per attempt
durs = [float(m.group(1)) for m in (re.search(r"❌: ([0-9.]+)ms: (.*)", x) for x in lines("hang"))
        if m and "timed out" in m.group(2).lower()]
print("hang: attempt durations (ms):", durs)
check(len(durs) >= 2, "hang: %d attempts timed out" % len(durs))
check(len(durs) > 0 and all(900 <= d <= 5000 for d in durs), "hang: each took about 1 s (not 30)")
done()
EOF
[ $? -eq 0 ] || fail "redirects (see above)"

daemon_term 10 && ok "SIGTERM: daemon exited" || fail "daemon did not exit 0 within 10 s of SIGTERM (status $DRC)"

#----------------------------------------------------------------------
# C. bad values are refused at start
for f in -webhook-redirects=11 -webhook-timeout=0s -webhook-connect-timeout=0ms; do
	if "$DAEMON" -config="$T/empty.conf" -state-dir="$STATE-bad" "$f" >"$T/bad.out" 2>&1; then
		fail "$f accepted"
	elif grep -q -- "${f%%=*}" "$T/bad.out"; then
		ok "$f refused: $(head -1 "$T/bad.out")"
	else
		fail "$f: $(cat "$T/bad.out")"
	fi
done
no_sanitizer_reports
done_tests
