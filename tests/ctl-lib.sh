# impcore - helpers for the impctl tests (tests/t-ctl-*.sh), on top of
# tests/srv-lib.sh (private daemon on port 0 in its own process group,
# watchdog, sanitizer check of the log, srv.py for spectra):
#
#	. "$IMP_SRCDIR/tests/ctl-lib.sh"
#	ctl_init t-ctl-foo 120		# name, watchdog seconds
#	ctl_start [flags...]		# impsolverd -threads=2, small state file
#	expect_rc 0 "what" ctl stats	# impctl on the test's state dir
#	srv_done
# shellcheck shell=sh disable=SC2317

. "$IMP_SRCDIR/tests/srv-lib.sh"
IMPCTL=$IMP_BUILDDIR/src/impctl/impctl
dpid=
port=

fail() { srv_fail "$@"; }
ok() { srv_ok "$@"; }

# ctl_init NAME WATCHDOG_SECONDS
ctl_init() {
	[ -x "$IMPCTL" ] || { echo "FAIL: $IMPCTL not built"; exit 1; }
	srv_init "$@"	# also $T/empty.conf, given to every srv_start
}

# ctl_start [FLAGS...]: impsolverd -threads=2 with a small state file (the
# tests hold a few dozen spectra); $dpid and $port are the master and port.
ctl_start() {
	srv_start -threads=2 -queue-size=256 -results=1024 "$@"
	dpid=$SRV_PID
	port=$SRV_PORT
	ok "impsolverd up (pid $dpid, port $port)"
}

# ctl [ARGS...]: impctl on the test's state dir
ctl() { "$IMPCTL" -d "$STATE" "$@"; }

# expect_rc WANT WHAT CMD...: run CMD (output in $T/out, stderr in $T/err)
# and check its exit status, and that no sanitizer spoke
expect_rc() {
	want=$1 what=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$what (exit $got)"
	else
		fail "$what: exit $got, want $want"
		sed 's/^/    | /' "$T/out" "$T/err" | head -n 20
	fi
	if grep -E 'Sanitizer|runtime error:' "$T/err" >/dev/null; then
		fail "$what: sanitizer report"
		head -n 30 "$T/err"
	fi
}

# http METHOD PATH [BODY-FILE]: the status code; the body goes to $T/body
http() {
	if [ -n "${3:-}" ]; then
		curl -s -o "$T/body" -w '%{http_code}' --max-time 20 -X "$1" \
		    --data-binary @"$3" "http://127.0.0.1:$port$2"
	else
		curl -s -o "$T/body" -w '%{http_code}' --max-time 20 -X "$1" \
		    "http://127.0.0.1:$port$2"
	fi
}

# counter NAME: the total of a counter, from impctl stats -1
counter() { ctl stats -1 | awk -v n="$1" '$1 == n { print $2 }'; }

# wait_for SECONDS CMD...: until CMD succeeds (polled every 0.2 s)
wait_for() {
	w=$(($1 * 5))
	shift
	while [ $w -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		w=$((w - 1))
		sleep 0.2
	done
	return 1
}

# batch_done ID: every spectrum of the batch is finished (asked of impctl,
# not of the API: the stats test counts the API's requests)
batch_done() {
	ctl batch --json "$1" | python3 -c 'import json,sys
j = json.load(sys.stdin)
sys.exit(0 if j["results"] and all(r["status"] in ("done", "failed", "cancelled") for r in j["results"]) else 1)'
}

# gone PID: not running (a zombie nobody reaped is gone too)
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
