#!/bin/sh
# impcore - t-srv-logfail (issue 13 item 10): small start-up and log faults.
#  1. a log write that fails (ENOSPC: -log is a symlink to /dev/full) is
#     counted (log_write_errors, impctl stats), and once the log works
#     again (the link points to a file, SIGUSR1 reopens it) every process
#     that lost lines says how many, in the log;
#  2. a -webhook-url nobody can deliver to (not http/https, unparsable by
#     libcurl, no host) stops the start-up with exit 2 and a message naming
#     the flag; a reload to one keeps the running configuration.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-logfail 150
IMPCTL="$IMP_BUILDDIR/src/impctl/impctl"
[ -x "$IMPCTL" ] || skip "$IMPCTL not built"
[ -c /dev/full ] || skip "no /dev/full"

# --- 1. ENOSPC ----------------------------------------------------------------
ln -s /dev/full "$T/log.link"
srv_start -threads=2 -quiet=false -log="$T/log.link"
for i in 1 2 3 4 5; do
	$CURL -s -o /dev/null "$SRV_URL/health"
done
lost=0
i=0
while [ $i -lt 100 ]; do
	lost=$("$IMPCTL" -d "$STATE" stats -1 2>/dev/null |
	    awk '$1 == "log_write_errors" { print $2 }')
	[ "${lost:-0}" -ge 5 ] && break
	sleep 0.1; i=$((i + 1))
done
[ "${lost:-0}" -ge 5 ] && srv_ok "log on /dev/full: log_write_errors = $lost" ||
    srv_fail "log on /dev/full: log_write_errors = '${lost}', want >= 5"
# the log works again: point the link to a file, reopen
ln -sf "$T/log.real" "$T/log.link"
kill -USR1 "$SRV_PID"
i=0
until [ "$(grep -c 'log line(s) could not be written since' "$T/log.real" 2>/dev/null)" -ge 3 ] ||
    [ $i -ge 100 ]; do
	sleep 0.1; i=$((i + 1))
done
n=$(grep -c 'log line(s) could not be written since' "$T/log.real" 2>/dev/null)
# the master and both workers lost lines (start-up lines, request lines)
[ "${n:-0}" -ge 3 ] &&
    srv_ok "after SIGUSR1, $n processes report what they lost: $(grep -m1 'could not be written' "$T/log.real" | sed 's/.*: warning: //')" ||
    { srv_fail "after SIGUSR1: $n reports, want >= 3"; cat "$T/log.real"; }
$CURL -s -o /dev/null "$SRV_URL/health"
i=0
until grep -q 'GET /health 200' "$T/log.real" || [ $i -ge 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -q 'GET /health 200' "$T/log.real" && srv_ok "request lines are logged again" ||
    srv_fail "no request line after the reopen"
srv_stop || srv_fail "stop: exit $?"
cat "$T/log.real" >>"$T/log"

# --- 2. -webhook-url ------------------------------------------------------------
# bad WANT URL: impsolverd -webhook-url=URL exits 2 naming the flag
bad() {
	flag=${3:-webhook-url}
	"$IMPSOLVERD" -config="$T/empty.conf" -state-dir="$STATE" -port=0 \
	    -bind=127.0.0.1 -$flag="$2" >"$T/bad.out" 2>&1 &
	pid=$!
	echo "$pid" >>"$T/daemon.pid"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"; wait "$pid"
		srv_fail "-$flag=$2: started"
		return
	fi
	wait "$pid"
	rc=$?
	[ "$rc" -eq 2 ] && grep -q -- "-$flag.*$1" "$T/bad.out" &&
	    srv_ok "-$flag=$2: exit $rc, $(cat "$T/bad.out")" ||
	    srv_fail "-$flag=$2: exit $rc, '$(cat "$T/bad.out")'"
}
bad "scheme must be http or https" "ftp://127.0.0.1/h"
bad "scheme must be http or https" "file:///etc/passwd"
bad "libcurl can parse" "hook.example.com/h"
bad "libcurl can parse" "http://"
bad "libcurl can parse" "http://[::1/h"
# the message shows the URL without its secrets
bad "libcurl can parse" "htp://u:pw$$@x/h?t=q$$"
grep -q "pw$$\|q$$" "$T/bad.out" && srv_fail "the start-up error shows a secret: $(cat "$T/bad.out")"
# an -webhook-allow entry that can never match is refused too (issue 13, 11f)
bad "entry 2: the scheme must be http or https" "http://127.0.0.1:9/ok/,ftp://x/" webhook-allow
bad "entry 1: not a URL libcurl can parse" "http://[::1/h" webhook-allow
# a reload to an unusable URL keeps the running one
printf 'webhook-url = http://127.0.0.1:9/h\n' >"$T/conf"
srv_start -threads=1 -config="$T/conf"
printf 'webhook-url = gopher://127.0.0.1:9/h\n' >"$T/conf"
kill -HUP "$SRV_PID"
i=0
until grep -q 'reload: -webhook-url' "$T/log" || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
grep -q "reload: -webhook-url 'gopher://127.0.0.1:9/h' is not usable.*keeping the running" "$T/log" &&
    srv_ok "SIGHUP to an unusable -webhook-url: refused, configuration kept" ||
    srv_fail "SIGHUP to gopher://: $(grep reload "$T/log" | tail -n 2)"
srv_stop || srv_fail "stop: exit $?"
srv_done
