# impcore - shell helpers for the impsolverd tests (tests/t-srv-*.sh).
#
# Each test gets a private directory ($T) with the state dir, the log and
# a link srv.py to tests/implib.py (python3 stdlib only), starts the real daemon on
# port 0 (it writes the port it got to <state-dir>/impsolverd.port), and
# fails on sanitizer reports in the log.  A watchdog bounds every test.
#
#	. "$IMP_SRCDIR/tests/srv-lib.sh"
#	srv_init t-srv-api 120		# name, watchdog seconds
#	srv_start -threads=2		# extra flags
#	srv_py check ...
#	srv_stop			# SIGTERM, expects exit 0
#	srv_done			# checks the log, exits 0
#
# Every curl of these tests goes through $CURL (bounded in time).

: "${IMP_BUILDDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${IMP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
# skip (IMP_STRICT), imp_watchdog
. "$IMP_SRCDIR/tests/lib.sh"
CURL="curl --max-time 30"
IMPSOLVERD="$IMP_BUILDDIR/src/master/impsolverd"
PY=/usr/bin/python3
SRV_PID=
SRV_PORT=
SRV_URL=
SRV_FAILS=0
SRV_PGIDS=

srv_log() { echo "# $*"; }
srv_fail() { echo "FAIL: $*"; SRV_FAILS=$((SRV_FAILS + 1)); }
srv_ok() { echo "ok: $*"; }
srv_bail() {
	echo "FAIL: $*"
	[ -f "$T/log" ] && { echo "---- last log lines"; tail -n 40 "$T/log"; }
	exit 1
}

srv_cleanup() {
	imp_watchdog_stop
	# every daemon this test started, with its process group: dead or
	# alive, its children may still run
	for p in $SRV_PGIDS; do
		kill -KILL "-$p" 2>/dev/null
	done
	# our own background helpers
	for p in $(jobs -p); do kill "$p" 2>/dev/null; done
	[ -n "$T" ] && [ "$SRV_FAILS" -eq 0 ] && [ -z "$SRV_KEEP" ] && rm -rf "$T"
	return 0
}

# srv_init NAME WATCHDOG_SECONDS
srv_init() {
	[ -x "$IMPSOLVERD" ] || skip "$IMPSOLVERD not built"
	[ -x "$PY" ] || skip "no $PY"
	command -v curl >/dev/null || skip "no curl"
	T=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
	STATE="$T/var"
	: >"$T/empty.conf"	# keep /etc/impsolverd.conf out of the test
	trap 'srv_cleanup' EXIT
	trap 'echo "FAIL: interrupted"; SRV_FAILS=1; exit 1' INT TERM
	# ASan: leaks of the master are real; children _exit and are not checked
	export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
	# the watchdog kills the daemon named in $T/daemon.pid first
	imp_watchdog "$2" "$1" "$T/daemon.pid"
	# tests written before tests/implib.py read its helpers from here
	ln -s "$IMP_SRCDIR/tests/implib.py" "$T/srv.py"
}

# srv_start [flags...]: start and wait until /health answers.  An empty
# config file comes first (a -config in the flags wins: the last one does).
srv_start() {
	local i
	rm -f "$STATE/impsolverd.port"
	setsid "$IMPSOLVERD" -config="$T/empty.conf" -state-dir="$STATE" \
	    -port=0 -bind=127.0.0.1 -quiet "$@" >>"$T/log" 2>&1 &
	SRV_PID=$!
	SRV_PGIDS="$SRV_PGIDS $SRV_PID"
	echo "$SRV_PID" >"$T/daemon.pid"
	for i in $(seq 1 400); do
		if [ -s "$STATE/impsolverd.port" ]; then
			SRV_PORT=$(cat "$STATE/impsolverd.port")
			SRV_URL="http://127.0.0.1:$SRV_PORT"
			if curl -sf -o /dev/null --max-time 2 "$SRV_URL/health"; then
				return 0
			fi
		fi
		kill -0 "$SRV_PID" 2>/dev/null || srv_bail "impsolverd died at start"
		sleep 0.05
	done
	srv_bail "impsolverd did not answer /health in 20 s"
}

# srv_stop [signal]: stop the daemon, wait for it; expects exit status 0.
srv_stop() {
	local sig=${1:-TERM} i rc
	kill -"$sig" "$SRV_PID" 2>/dev/null
	for i in $(seq 1 400); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SRV_PID" 2>/dev/null; then
		srv_fail "impsolverd did not stop in 40 s after SIG$sig"
		kill -KILL "-$SRV_PID"
	fi
	wait "$SRV_PID"
	rc=$?
	SRV_PID_LAST=$SRV_PID
	SRV_PID=
	return $rc
}

# srv_kill9_tree: kill -9 the master and all its children at once.
srv_kill9_tree() {
	kill -KILL "-$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
	SRV_PID=
	# children die with their group; give the kernel a moment
	sleep 0.2
}

# Children of the master (workers, webhook, ...).
srv_children() {
	ps -o pid= --ppid "$SRV_PID" 2>/dev/null | tr -d ' '
}

# srv_py CMD ARGS...: a command of tests/implib.py
srv_py() {
	"$PY" "$IMP_SRCDIR/tests/implib.py" "$@"
}

# Fail on sanitizer or crash lines in the log; then exit with the verdict.
srv_done() {
	if grep -nE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (Address|Undefined)' "$T/log" >/dev/null 2>&1; then
		grep -nE -A5 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$T/log" | head -n 60
		srv_fail "sanitizer report in the log"
	fi
	if [ "$SRV_FAILS" -ne 0 ]; then
		echo "---- last log lines ($T/log)"
		tail -n 30 "$T/log"
		echo "$SRV_FAILS failure(s)"
		exit 1
	fi
	echo "PASS"
	exit 0
}
