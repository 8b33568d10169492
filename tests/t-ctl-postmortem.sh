#!/bin/sh
# impcore - t-ctl-postmortem: impctl reads a live server (status, reload),
# then the state file of a server killed with kill -9 (status says down,
# exit 3; stats, batch and webhooks still work), and refuses a missing
# directory, a foreign, an empty and a truncated file, and a FIFO, with
# exit 2 and a clear message.  Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"

ctl_init t-ctl-postmortem 120
ctl_start

expect_rc 0 "status while up" ctl status
cat "$T/out"
grep -q "^server up: master pid $dpid" "$T/out" && ok "status: server up" ||
    fail "status first line: $(head -n 1 "$T/out")"
[ "$(grep -cE ' worker\.[01] +running ' "$T/out")" -eq 2 ] &&
    ok "status lists 2 running workers" || fail "status does not list 2 running workers"
grep -qE "^ +[0-9]+ +$dpid master +(starting|running) .*[0-9.]+[KMG] " "$T/out" &&
    ok "status shows the master with its RSS" || fail "status: no master line with RSS"

srv_py gen pm-batch 3 >"$T/b.json"
c=$(http POST /eis-data/batch "$T/b.json")
[ "$c" = 202 ] || fail "POST batch: HTTP $c"
wait_for 30 batch_done pm-batch || fail "pm-batch not done in 30 s"

expect_rc 0 "reload" ctl reload
grep -q "sent SIGHUP to impsolverd master pid $dpid" "$T/out" && ok "$(cat "$T/out")" ||
    fail "reload output: $(cat "$T/out")"
wait_for 10 sh -c "[ \"\$($IMPCTL -d $STATE stats -1 | awk '\$1 == \"reloads\" { print \$2 }')\" = 1 ]" &&
    ok "the master counted the reload (reloads 1)" || fail "reloads counter is not 1 after impctl reload"
wait_for 20 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:$port/health)\" = 200 ]" ||
    fail "not serving after the reload"
ctl stats -1 >"$T/before" || fail "stats -1 before the kill"

# kill -9 of the whole tree: nothing gets to clean up
pids=$(ctl stats --json | python3 -c 'import json,sys
print(" ".join(str(p["pid"]) for p in json.load(sys.stdin)["processes"] if p["pid"] > 0 and p["state"] in ("running", "starting", "draining")))')
srv_kill9_tree
for p in $pids; do
	wait_for 10 gone "$p" || fail "pid $p still alive after kill -9"
done
ok "killed the tree with kill -9 ($pids)"

expect_rc 3 "status after kill -9 (3: not running)" ctl status
cat "$T/out"
grep -q "^server down (master pid $dpid not running)" "$T/out" &&
    ok "status: $(head -n 1 "$T/out")" || fail "status: $(head -n 1 "$T/out")"
grep -qE ' worker\.[01] +gone ' "$T/out" && ok "status shows the workers gone" ||
    fail "status does not show the workers gone"

expect_rc 0 "stats after kill -9" ctl stats
expect_rc 0 "stats -1 after kill -9" ctl stats -1
for n in batches_accepted spectra_accepted spectra_fitted http_requests reloads; do
	a=$(awk -v n=$n '$1 == n { print $2 }' "$T/before")
	b=$(awk -v n=$n '$1 == n { print $2 }' "$T/out")
	[ -n "$a" ] && [ "$a" = "$b" ] && ok "post-mortem $n = $b, as before the kill" ||
	    fail "post-mortem $n = '$b', before the kill '$a'"
done
grep -q '^batches_accepted 1 ' "$T/out" || fail "batches_accepted is not 1"
expect_rc 0 "stats --json after kill -9" ctl stats --json
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" &&
    ok "stats --json parses" || fail "stats --json is not JSON"
expect_rc 0 "batch after kill -9" ctl batch pm-batch
[ "$(grep -cE '^ +[0-9]+ +[0-9]+ [0-9a-f]{16} +done ' "$T/out")" -eq 3 ] && ok "batch: 3 spectra done" || fail "batch output"
expect_rc 0 "webhooks after kill -9" ctl webhooks
expect_rc 3 "reload when down" ctl reload
grep -q "server not running" "$T/err" && ok "says: $(cat "$T/err")" || fail "reload when down: $(cat "$T/err")"
expect_rc 3 "stop when down" ctl stop

# files impctl must refuse, each with a clear message and exit 2
expect_rc 2 "missing state dir" "$IMPCTL" -d "$T/nowhere" status
grep -q "no state file" "$T/err" && ok "says: $(cat "$T/err")" || fail "missing dir: $(cat "$T/err")"
mkdir -p "$T/foreign" "$T/empty" "$T/short"
head -c 1048576 /dev/urandom >"$T/foreign/impsolverd.state"
expect_rc 2 "foreign file (random bytes)" "$IMPCTL" -d "$T/foreign" stats
grep -q "not an impcore state file" "$T/err" && ok "says: $(cat "$T/err")" || fail "foreign: $(cat "$T/err")"
: >"$T/empty/impsolverd.state"
expect_rc 2 "empty file" "$IMPCTL" -d "$T/empty" stats
grep -q "truncated" "$T/err" && ok "says: $(cat "$T/err")" || fail "empty: $(cat "$T/err")"
head -c 65536 "$STATE/impsolverd.state" >"$T/short/impsolverd.state"
expect_rc 2 "truncated file" "$IMPCTL" -d "$T/short" status
grep -q "truncated" "$T/err" && ok "says: $(cat "$T/err")" || fail "truncated: $(cat "$T/err")"
# a FIFO in place of the file: opening it blocked impctl for ever (issue 13
# item 10); bounded here so the old behaviour fails instead of hanging
mkdir -p "$T/fifo"
mkfifo "$T/fifo/impsolverd.state"
expect_rc 2 "a FIFO as the state file" timeout 10 "$IMPCTL" -d "$T/fifo" stats
grep -q "not a regular file" "$T/err" && ok "says: $(cat "$T/err")" || fail "FIFO: $(cat "$T/err")"
# a state file of another layout version (the 32-bit word after the magic)
mkdir -p "$T/other"
cp "$STATE/impsolverd.state" "$T/other/"
printf '\377\377\0\0' | dd of="$T/other/impsolverd.state" bs=1 seek=8 conv=notrunc 2>/dev/null
expect_rc 2 "another layout version" "$IMPCTL" -d "$T/other" stats
grep -q "layout version 65535" "$T/err" && ok "says: $(cat "$T/err")" || fail "version: $(cat "$T/err")"

# usage errors
expect_rc 2 "unknown command" ctl frobnicate
grep -q "unknown command: frobnicate" "$T/err" || fail "unknown command message"
expect_rc 2 "unknown option" ctl stats --frobnicate
expect_rc 2 "batch without an id" ctl batch
expect_rc 2 "no command" "$IMPCTL"
expect_rc 0 "--help" "$IMPCTL" --help
for c in status stats top history batches batch webhooks webhook-retry reload stop; do
	grep -q "^  $c" "$T/out" || fail "--help does not list $c"
done
srv_done
