#!/bin/sh
# impcore - t-srv-secrets (issue 13 item 9): no secret in any output.
#  1. -api-token, -webhook-secret and the webhook URL's password and query
#     value given on the command line: ps shows none of them (the master
#     overwrites them in argv), in the master nor in any child;
#  2. a query-string token in a request: the request log shows ?token=***;
#  3. impctl batch and impctl webhooks show a request's webhook URL as
#     user:***@host/...?k=***; /debug/info and /debug/pprof/cmdline hold
#     no password nor query value;
#  4. -api-token-file and -webhook-secret-file: the secret is the file's
#     first line, re-read on SIGHUP; an empty or unreadable file, or a file
#     beside the secret itself, is a start-up error naming the flag.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-secrets 180
IMPCTL="$IMP_BUILDDIR/src/impctl/impctl"
[ -x "$IMPCTL" ] || skip "$IMPCTL not built"

TOK="tok$$SeKrEtA"
WHSEC="whsec_c2VjcmV0LSQkLXRlc3QtdmFsdWU="
URLPW="pw$$UrLpAsS"
URLQS="qs$$QuErYsEcReT"
REQPW="rq$$UsErPaSs"
REQQS="rq$$QuErYvAl"
QTOK="qt$$ReQuEsTtOk"
AUTH="Authorization: Bearer $TOK"
# a receiver nobody listens on: deliveries fail and stay listed
HOOK="127.0.0.1:9"

# secrets_absent WHAT FILE: none of the secrets is in FILE
secrets_absent() {
	for s in "$TOK" "$WHSEC" c2VjcmV0LSQkLXRlc3QtdmFsdWU "$URLPW" "$URLQS" \
	    "$REQPW" "$REQQS" "$QTOK"; do
		if grep -q -- "$s" "$2"; then
			srv_fail "$1 shows a secret ($s): $(grep -m1 -- "$s" "$2")"
			return
		fi
	done
	srv_ok "$1 shows no secret"
}

srv_start -threads=2 -quiet=false -profile -profile-port=0 \
    -api-token="$TOK" -webhook-secret "$WHSEC" \
    -webhook-url="http://hook:$URLPW@$HOOK/h?sig=$URLQS" \
    -webhook-allow="http://$HOOK/"
PPORT=$(sed -n 's/.*Starting profiling server on port \([0-9]*\).*/\1/p' "$T/log" | tail -n 1)
i=0
while [ -z "$PPORT" ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
	PPORT=$(sed -n 's/.*Starting profiling server on port \([0-9]*\).*/\1/p' "$T/log" | tail -n 1)
done
[ -n "$PPORT" ] || srv_bail "no profiler port in the log"

# --- 1. ps ------------------------------------------------------------------
: >"$T/ps"
for p in $SRV_PID $(srv_children); do
	ps -o args= -p "$p" >>"$T/ps"
	tr '\0' ' ' <"/proc/$p/cmdline" >>"$T/ps"; echo >>"$T/ps"
done
[ "$(grep -c . "$T/ps")" -ge 10 ] || srv_fail "ps: fewer processes than expected: $(cat "$T/ps")"
grep -q -- "-api-token=\*\*\*\*" "$T/ps" && grep -q -- "hook:\*\*\*" "$T/ps" &&
    srv_ok "ps: the secrets are overwritten with '*'" ||
    srv_fail "ps: $(head -n 1 "$T/ps")"
secrets_absent "ps (master, workers, webhook, profiler)" "$T/ps"

# --- 2. the request log -------------------------------------------------------
# (the worker logs the path without its query today; log.c masks every
# line anyway, so a query that reaches a log line shows as ?token=***)
st=$($CURL -s -o /dev/null -w '%{http_code}' -H "$AUTH" \
    "$SRV_URL/health?token=$QTOK&x=1")
[ "$st" = 200 ] || srv_fail "GET /health?token=...: $st"
i=0
until grep -q 'GET /health[?].* 200 \|GET /health 200 ' "$T/log" || [ $i -ge 50 ]; do
	sleep 0.1; i=$((i + 1))
done
grep 'GET /health' "$T/log" >"$T/reqlog"
grep -q 'GET /health?token=\*\*\*&x=\*\*\* 200\|GET /health 200' "$T/reqlog" &&
    srv_ok "request log: $(sed 's/.*: GET/GET/' "$T/reqlog" | tail -n 1)" ||
    srv_fail "request log: $(tail -n 1 "$T/reqlog")"
secrets_absent "the request log" "$T/reqlog"

# --- 3. impctl, /debug/info, cmdline -------------------------------------------
srv_py gen sec-b1 2 >"$T/b.json"
"$PY" - "$T/b.json" "http://user:$REQPW@$HOOK/h/x?k=$REQQS" <<'PYEOF'
import json, sys
b = json.load(open(sys.argv[1]))
b["webhook_url"] = sys.argv[2]
json.dump(b, open(sys.argv[1], "w"))
PYEOF
st=$($CURL -s -o "$T/b.out" -w '%{http_code}' -H "$AUTH" --data-binary @"$T/b.json" \
    "$SRV_URL/eis-data/batch")
[ "$st" = 202 ] || srv_fail "batch with its own webhook_url: $st $(cat "$T/b.out")"
i=0
until "$IMPCTL" -d "$STATE" webhooks --all 2>&1 | grep -q 'sec-b1' || [ $i -ge 100 ]; do
	sleep 0.1; i=$((i + 1))
done
"$IMPCTL" -d "$STATE" batch sec-b1 >"$T/ctl" 2>&1
"$IMPCTL" -d "$STATE" webhooks --all >>"$T/ctl" 2>&1
"$IMPCTL" -d "$STATE" batches >>"$T/ctl" 2>&1
grep -q "webhook http://user:\*\*\*@$HOOK/h/x?k=\*\*\*:" "$T/ctl" &&
    grep -q "sec-b1 http://user:\*\*\*@$HOOK/h/x?k=\*\*\*" "$T/ctl" &&
    srv_ok "impctl batch and webhooks: http://user:***@$HOOK/h/x?k=***" ||
    { srv_fail "impctl: no masked URL"; cat "$T/ctl"; }
secrets_absent "impctl batch, webhooks, batches" "$T/ctl"

$CURL -s -H "$AUTH" "http://127.0.0.1:$PPORT/debug/info" >"$T/info.json"
grep -q '"webhook-url": *"http://hook:\*\*\*@127.0.0.1:9/h?sig=\*\*\*"' "$T/info.json" &&
    srv_ok "/debug/info: webhook-url http://hook:***@$HOOK/h?sig=***" ||
    srv_fail "/debug/info: $(grep -o '"webhook-url": *"[^"]*"' "$T/info.json")"
secrets_absent "/debug/info" "$T/info.json"
$CURL -s -H "$AUTH" "http://127.0.0.1:$PPORT/debug/pprof/cmdline" | tr '\0' '\n' >"$T/cmdline"
grep -qx -- "-api-token=(set)" "$T/cmdline" && grep -qx -- "(set)" "$T/cmdline" &&
    srv_ok "/debug/pprof/cmdline: -api-token=(set), -webhook-secret (set)" ||
    srv_fail "/debug/pprof/cmdline: $(cat "$T/cmdline")"
secrets_absent "/debug/pprof/cmdline" "$T/cmdline"
srv_stop || srv_fail "stop: exit $?"
secrets_absent "the log" "$T/log"

# --- 4. the -file flags ----------------------------------------------------------
printf '%s\n' "$TOK" >"$T/token"
printf '%s\r\n' "$WHSEC" >"$T/whsec"
chmod 600 "$T/token" "$T/whsec"
srv_start -threads=1 -api-token-file="$T/token" -webhook-secret-file="$T/whsec" \
    -webhook-url="http://$HOOK/h"
st=$($CURL -s -o /dev/null -w '%{http_code}' "$SRV_URL/eis-data/batch/x")
st2=$($CURL -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$SRV_URL/eis-data/batch/x")
[ "$st" = 401 ] && [ "$st2" = 404 ] &&
    srv_ok "-api-token-file: 401 without the token, 404 with it" ||
    srv_fail "-api-token-file: $st without, $st2 with the token"
grep -q 'signing on' "$T/log" && srv_ok "-webhook-secret-file: signing on" ||
    srv_fail "-webhook-secret-file: $(grep 'Webhook delivery' "$T/log" | tail -n 1)"
# SIGHUP re-reads the file: the old token is refused once the old worker
# is gone (until then either may answer)
printf 'new-%s\n' "$TOK" >"$T/token"
kill -HUP "$SRV_PID"
i=0
while [ $i -lt 300 ]; do
	st=$($CURL -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer new-$TOK" \
	    "$SRV_URL/eis-data/batch/x")
	st2=$($CURL -s -o /dev/null -w '%{http_code}' -H "$AUTH" "$SRV_URL/eis-data/batch/x")
	[ "$st" = 404 ] && [ "$st2" = 401 ] && break
	sleep 0.1; i=$((i + 1))
done
[ "$st" = 404 ] && [ "$st2" = 401 ] &&
    srv_ok "SIGHUP: the token file re-read (new token 404, old one 401)" ||
    srv_fail "SIGHUP: new token $st, old token $st2"
# a reload with an empty file keeps the running configuration
: >"$T/token"
kill -HUP "$SRV_PID"
i=0
until grep -q 'reload: -api-token-file: .*empty' "$T/log" || [ $i -ge 100 ]; do
	sleep 0.1; i=$((i + 1))
done
grep -q 'reload: -api-token-file: .*empty' "$T/log" &&
    srv_ok "SIGHUP with an empty token file: refused, configuration kept" ||
    srv_fail "SIGHUP with an empty token file: $(tail -n 3 "$T/log")"
srv_stop || srv_fail "stop: exit $?"

# bad WANT FLAGS...: a start-up error, exit non-zero, the output matches WANT
bad() {
	want=$1
	shift
	"$IMPSOLVERD" -config="$T/empty.conf" -state-dir="$STATE" -port=0 \
	    -bind=127.0.0.1 "$@" >"$T/bad.out" 2>&1 &
	pid=$!
	echo "$pid" >>"$T/daemon.pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"; wait "$pid"
		srv_fail "$1: started"
		return
	fi
	wait "$pid"
	rc=$?
	[ "$rc" -ne 0 ] && grep -q -- "$want" "$T/bad.out" &&
	    srv_ok "$1: exit $rc, '$(cat "$T/bad.out")'" ||
	    srv_fail "$1: exit $rc, '$(cat "$T/bad.out")'"
}
: >"$T/empty-token"
bad "-api-token-file: .*empty" -api-token-file="$T/empty-token"
bad "-api-token-file: .*No such file" -api-token-file="$T/no-such-file"
bad "-webhook-secret-file: .*No such file" -webhook-secret-file="$T/no-such-file"
bad "-api-token and -api-token-file" -api-token-file="$T/whsec" -api-token=x
srv_done
