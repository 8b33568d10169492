#!/bin/sh
# impsolverd, a large bad body: the worker answers 400 in bounded memory.
# jtok refuses the text; json_loadb, asked where the error is, builds a
# tree of everything before it (an object "{}" costs jansson some 200
# bytes, its token 20), so a 30 MB body of "{}," took the worker past 2 GB
# until jansson got a memory budget (wrk_json.c, jb_malloc).  A bad body
# under the budget still gets jansson's message with its line and column.
# Then the budget of bodies received at once (4 x -max-body a worker).
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-bigbody 180

srv_start -threads=1 -max-body=40M
"$PY" -c '
import sys
open(sys.argv[1], "w").write("{\"spectra\":[" + "{}," * 10000000 + "]}")
open(sys.argv[2], "w").write("{\"spectra\":[" + "{}," * 1000 + "]}")' \
    "$T/big.json" "$T/small.json"

# the largest peak RSS (VmHWM) of the children, in kB: the worker's
hwm() {
	for p in $(srv_children); do
		awk '/^VmHWM/ { print $2 }' /proc/$p/status 2>/dev/null
	done | sort -n | tail -1
}

st=$($CURL --max-time 120 -s -o "$T/o" -w '%{http_code}' --data-binary @"$T/big.json" "$SRV_URL/eis-data/batch")
[ "$st" = 400 ] && grep -q '"error":"invalid JSON (the body is too large to tell where' "$T/o" &&
    srv_ok "30 MB bad body: 400 $(cat "$T/o")" || srv_fail "30 MB bad body: $st $(head -c 300 "$T/o")"
kb=$(hwm)
# the token array (16.7M tokens of 20 bytes after doubling) and the body
# are some 400 MB; the tree jansson built was over 2 GB
[ -n "$kb" ] && [ "$kb" -lt 1200000 ] && srv_ok "peak RSS of the children: $((kb / 1024)) MB" ||
    srv_fail "peak RSS of the children: ${kb:-?} kB (over 1.2 GB)"

st=$($CURL -s -o "$T/o" -w '%{http_code}' --data-binary @"$T/small.json" "$SRV_URL/eis-data/batch")
[ "$st" = 400 ] && grep -q '"error":"invalid JSON: .*(line 1, column 3013)","field":"spectra\[1000\]"' "$T/o" &&
    srv_ok "small bad body: jansson's message: $(cat "$T/o")" || srv_fail "small bad body: $st $(cat "$T/o")"

srv_py gen after-big 4 >"$T/good.json"
st=$($CURL -s -o /dev/null -w '%{http_code}' -d @"$T/good.json" "$SRV_URL/eis-data/batch")
[ "$st" = 202 ] || srv_fail "valid batch after: $st"
srv_py check "$SRV_URL" after-big 4 60 && srv_ok "a valid batch is fitted after" || srv_fail "valid batch after"
srv_stop || srv_fail "SIGTERM exit status $?"

# Many large bodies at once: a worker receives at most 4 x -max-body of
# them together; the request whose bytes pass that gets 503 with
# Retry-After (hsrv_body.c, body_add), the others go on, and once they are gone
# the next large body is taken again.
srv_start -threads=1 -max-body=1M
"$PY" - "$SRV_PORT" <<'PYEOF' || srv_fail "bodies over the budget"
import json, os, socket, sys, time
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import answer
port = int(sys.argv[1])
def send(n, body_bytes):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST /eis-data/batch HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % n + b"x" * body_bytes)
    return s
held = [send(1000000, 900000) for _ in range(4)]	# 3.6 MB of 4 MB
time.sleep(1)
s = send(1000000, 1000000)
st, hdrs, body = answer(s)
ok = st == 503 and hdrs.get("retry-after") == "1" and json.loads(body)["success"] is False
print("%s: fifth 1 MB body while 3.6 MB are being received: %d %s" % ("ok" if ok else "FAIL", st, body[:120]))
for h in held: h.close()
time.sleep(0.5)
st2, _, body2 = answer(send(1000000, 1000000))
ok2 = st2 == 400
print("%s: the same body once the others are gone: %d %s" % ("ok" if ok2 else "FAIL", st2, body2[:100]))
sys.exit(0 if ok and ok2 else 1)
PYEOF
$CURL -sf -o /dev/null "$SRV_URL/health" && srv_ok "still serving" || srv_fail "not serving"
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
