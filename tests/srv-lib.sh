# impcore - the one shell library of the tests (tests/t-*.sh); sourced.
#
# How to write a test.  A test is a /bin/sh script tests/t-AREA-WHAT.sh that
# prints one line per check ("ok: ..." or "FAIL: ..."), goes on after a
# failed check, and exits 0 (pass), 1 (fail) or 77 (skip).  It drives the
# real programs: a daemon test starts impsolverd on port 0 with a private
# state dir, sends real HTTP, and asserts on what came back.  Register it in
# tests/Makefile.inc (TESTS and EXTRA_DIST).
#
#	. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
#	srv_init t-srv-foo 120		# name, watchdog seconds; makes $T
#	srv_start -threads=2		# impsolverd, flags after the defaults
#	srv_py gen foo-1 10 >"$T/b.json"	# tests/implib.py's commands
#	code=$($CURL -s -o "$T/out" -w '%{http_code}' -d @"$T/b.json" \
#	    "$SRV_URL/eis-data/batch")
#	[ "$code" = 202 ] && ok "batch accepted" || fail "batch: $code"
#	srv_stop || fail "exit status $?"	# SIGTERM, exit status 0 expected
#	srv_done			# the log's sanitizer check, the verdict
#
# A test without a daemon calls tmpdir (or nothing) instead of srv_init and
# ends with done_tests (srv_done is the same).  Everything a test starts
# is killed at exit; $T is removed unless a check failed (then it is kept
# for a look, and named in the output).  The Python parts of tests import
# tests/implib.py (sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")),
# the one Python module: spectra, requests, raw HTTP answers, check/done.
#
# Verdict: fail MSG (counted), ok MSG, skip MSG (exit 77; 1 with IMP_STRICT
# set: CI skips nothing), done_tests / srv_done.  srv_fail, srv_ok and
# srv_log are the same as fail, ok and a "# " note.
# Daemon: srv_init NAME SECONDS; srv_start FLAGS (waits for /health; sets
# SRV_PID, SRV_PORT, SRV_URL; log in $T/log, state in $STATE); srv_stop
# [SIG]; srv_kill9_tree; srv_children; srv_py CMD ARGS.  The families of
# tests keep their short names on top of these: prf_* for the profiler
# tests (go tool pprof, the debug port $pport), ctl_* for impctl's, and
# daemon_*, sink_* for the webhook tests (tests/whk_sink.py, the receiver).
# Waiting: wait_until SECONDS CMD (0.1 s polls), wait_for SECONDS CMD (0.2 s,
# quiet).  Every curl of a test is bounded in time ($CURL, or --max-time).
#
# Sanitizers, one policy for every test: ASAN_OPTIONS defaults to
# abort_on_error=0:detect_leaks=1.  The master's leaks at exit are real and
# fail the test (srv_done greps the log); the children end with _exit
# (DESIGN.md section 9), so LeakSanitizer never runs in them and their exit
# is not mistaken for a crash.  A test that must differ sets ASAN_OPTIONS
# itself, with a comment saying why.
# shellcheck shell=sh disable=SC2317

# make check sets both; a test run by hand from a build dir (or in-tree)
# finds them from its own path and the working directory
if [ -z "${IMP_BUILDDIR:-}" ]; then
	if [ -x "$(pwd)/src/master/impsolverd" ] || [ -f "$(pwd)/config.status" ]; then
		IMP_BUILDDIR=$(pwd)
	else
		IMP_BUILDDIR=$(cd "$(dirname "$0")/.." && pwd)
	fi
fi
: "${IMP_SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${IMP_SHARED:=$IMP_SRCDIR/../shared}"
: "${IMP_REFFIT:=$IMP_SHARED/tools/reffit.py}"
# the Python parts of the tests find implib.py through IMP_SRCDIR; they
# leave no __pycache__ in the source tree (read-only under distcheck)
export IMP_BUILDDIR IMP_SRCDIR IMP_SHARED IMP_REFFIT
PYTHONDONTWRITEBYTECODE=1
export PYTHONDONTWRITEBYTECODE
CURL="curl --max-time 30"
IMPSOLVERD=${IMPSOLVERD:-$IMP_BUILDDIR/src/master/impsolverd}
DAEMON=$IMPSOLVERD
IMPCTL=$IMP_BUILDDIR/src/impctl/impctl
IMPFIT=$IMP_BUILDDIR/src/impfit/impfit
IMPLIB=$IMP_SRCDIR/tests/implib.py
SINK=$IMP_SRCDIR/tests/whk_sink.py
PY=/usr/bin/python3
T=
STATE=
SRV_PID=
SRV_PORT=
SRV_URL=
SRV_PGIDS=
nfail=0

# ---- the verdict

# fail MSG: report a failed check; the test goes on and exits 1 at the end.
fail() { echo "FAIL: $*"; nfail=$((nfail + 1)); }
ok() { echo "ok: $*"; }
srv_fail() { fail "$@"; }
srv_ok() { ok "$@"; }
srv_log() { echo "# $*"; }
# check WHAT CMD...: ok or fail on the command's exit status
check() { what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }
# skip MSG: exit 77, or 1 when IMP_STRICT is set (CI: nothing may be skipped)
skip() {
	if imp_strict; then
		echo "FAIL: $* (a skip is a failure with IMP_STRICT=$IMP_STRICT)"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}
# imp_strict: IMP_STRICT is set (and not 0): skips fail
imp_strict() { [ -n "${IMP_STRICT:-}" ] && [ "$IMP_STRICT" != 0 ]; }
# srv_bail MSG: a failure the test cannot go on after
srv_bail() {
	echo "FAIL: $*"
	nfail=$((nfail + 1))
	[ -f "$T/log" ] && { echo "---- last log lines"; tail -n 40 "$T/log"; }
	exit 1
}

# SAN_RE: the lines of a sanitizer report
SAN_RE='ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: '

# srv_done (done_tests): a sanitizer report in the daemon's log fails the
# test; then exit with the verdict.
srv_done() {
	if [ -n "$T" ] && grep -qsE "$SAN_RE" "$T/log" "$T/log.prev"; then
		grep -nE -A5 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		    "$T/log" "$T/log.prev" 2>/dev/null | head -n 60
		fail "sanitizer report in the log"
	fi
	if [ "$nfail" -ne 0 ]; then
		if [ -s "$T/log" ]; then
			echo "---- last log lines ($T/log)"
			tail -n 30 "$T/log"
		fi
		echo "$nfail failure(s)"
		exit 1
	fi
	echo "PASS"
	exit 0
}
done_tests() { srv_done; }

# no_sanitizer_reports: a check line of its own for the daemon's log
no_sanitizer_reports() {
	if grep -qsE "$SAN_RE" "$T/log" "$T/log.prev"; then
		fail "sanitizer report in the daemon's log"
		grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		    "$T/log" "$T/log.prev" 2>/dev/null | head -n 60
	else
		ok "no sanitizer report"
	fi
}

# ---- the watchdog

# imp_watchdog SECONDS NAME [PIDFILE]: end the test if it runs longer than
# SECONDS.  The daemons listed in PIDFILE (one pid a line, written by the
# test as it starts them) are killed first with SIGKILL, with their process
# groups and children, so that a client blocked on them gets EOF; then the
# test gets SIGTERM (its traps clean up) and, 5 s later, it and everything
# it started still running get SIGKILL (a trap only runs once the
# foreground command ends).  The watchdog is not a job of the test (a bare
# `wait` does not wait for it); it checks the test is still the process it
# watched (start time) before it kills anything.  Sets IMP_WD (stop it at
# exit: imp_watchdog_stop).  srv_init starts one.
imp_watchdog() {
	exec 3>&1
	IMP_WD=$(/bin/sh -c '
	me=$1 secs=$2 name=$3 pids=$4
	# starttime (field 22 of /proc/PID/stat; the name may hold spaces)
	started() { sed "s/.*) //" "/proc/$1/stat" 2>/dev/null | cut -d " " -f 20; }
	st=$(started "$me")
	trap "kill \$sp 2>/dev/null; exit 0" TERM
	sleep "$secs" </dev/null >/dev/null 2>&1 &
	sp=$!
	wait "$sp"
	trap "" TERM
	# the test is gone (its pid may be another process now): nothing to do
	[ -n "$st" ] && [ "$(started "$me")" = "$st" ] || exit 0
	echo "FAIL: watchdog: $name took more than $secs s: killing it"
	# tree PID: the descendants of PID, not this watchdog
	tree() {
		for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
			[ "$c" = $$ ] && continue
			echo "$c"
			tree "$c"
		done
	}
	if [ -n "$pids" ] && [ -s "$pids" ]; then
		for p in $(cat "$pids"); do
			kids=$(tree "$p")
			kill -KILL "-$p" 2>/dev/null
			kill -KILL "$p" 2>/dev/null
			for k in $kids; do kill -KILL "$k" 2>/dev/null; done
		done
	fi
	kids=$(tree "$me")
	kill -TERM "$me" 2>/dev/null
	n=50
	while [ $n -gt 0 ] && [ "$(started "$me")" = "$st" ]; do
		sleep 0.1
		n=$((n - 1))
	done
	[ "$(started "$me")" = "$st" ] && kids="$kids $(tree "$me")" &&
	    kill -KILL "$me" 2>/dev/null
	for k in $kids; do kill -KILL "$k" 2>/dev/null; done
	exit 0' imp-watchdog "$$" "$1" "$2" "${3:-}" >&3 3>&- </dev/null &
	echo $!)
	exec 3>&-
}
imp_watchdog_stop() { [ -n "${IMP_WD:-}" ] && kill "$IMP_WD" 2>/dev/null; IMP_WD=; return 0; }

# ---- the test's directory and the daemon

srv_cleanup() {
	imp_watchdog_stop
	# every daemon this test started (srv_start's, and one a test started
	# itself as $DPID), with its process group: dead or alive, its
	# children may still run
	for p in $SRV_PGIDS ${DPID:-}; do
		kill -KILL "-$p" 2>/dev/null
	done
	# our own background helpers: the sink and the load loop by name
	# ($(jobs -p) is empty in dash: a subshell has no jobs), the rest
	# under bash
	for p in ${SPID:-} ${lpid:-} $(jobs -p); do kill "$p" 2>/dev/null; done
	if [ -n "$T" ]; then
		if [ "$nfail" -eq 0 ] && [ -z "${SRV_KEEP:-}" ]; then
			rm -rf "$T"
		else
			echo "# kept $T"
		fi
	fi
	return 0
}

# tmpdir [NAME]: the test's private directory $T, cleaned up at exit
tmpdir() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/${1:-$(basename "$0" .sh)}.XXXXXX") || exit 1
	STATE="$T/var"
	trap 'srv_cleanup' EXIT
	trap 'echo "FAIL: interrupted"; nfail=$((nfail + 1)); exit 1' INT TERM HUP
}

# srv_init NAME WATCHDOG_SECONDS: $T, $STATE, the watchdog, the sanitizer
# options; skips when the daemon, python3 or curl is missing
srv_init() {
	[ -x "$IMPSOLVERD" ] || skip "$IMPSOLVERD not built"
	[ -x "$PY" ] || skip "no $PY"
	command -v curl >/dev/null || skip "no curl"
	tmpdir "$1"
	: >"$T/empty.conf"	# keep /etc/impsolverd.conf out of the test
	: >>"$T/log"
	export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
	export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
	# the watchdog kills the daemon named in $T/daemon.pid first
	imp_watchdog "$2" "$1" "$T/daemon.pid"
	# tests written before tests/implib.py read its helpers from here
	ln -s "$IMPLIB" "$T/srv.py"
}

# srv_start [flags...]: start and wait (up to 20 s) until /health answers.
# An empty config file, -port=0 -bind=127.0.0.1 and -quiet come first (a
# flag given again wins: the last one does).
srv_start() {
	local i
	rm -f "$STATE/impsolverd.port"
	setsid "$IMPSOLVERD" -config="$T/empty.conf" -state-dir="$STATE" \
	    -port=0 -bind=127.0.0.1 -quiet "$@" >>"$T/log" 2>&1 &
	SRV_PID=$!
	SRV_PGIDS="$SRV_PGIDS $SRV_PID"
	echo "$SRV_PID" >"$T/daemon.pid"
	SRV_PORT= SRV_URL=
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

# srv_stop [signal]: stop the daemon, wait for it; returns its exit status
# (0 expected after SIGTERM).
srv_stop() {
	local sig=${1:-TERM} i rc
	kill -"$sig" "$SRV_PID" 2>/dev/null
	for i in $(seq 1 400); do
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SRV_PID" 2>/dev/null; then
		fail "impsolverd did not stop in 40 s after SIG$sig"
		kill -KILL "-$SRV_PID"
	fi
	wait "$SRV_PID"
	rc=$?
	SRV_PID_LAST=$SRV_PID
	SRV_PID=
	return $rc
}

# srv_kill9_tree: kill -9 the master and all its children at once; waits
# (up to 5 s) until the whole group is gone.
srv_kill9_tree() {
	local n=100
	kill -KILL "-$SRV_PID" 2>/dev/null
	while kill -0 "-$SRV_PID" 2>/dev/null && [ $n -gt 0 ]; do
		sleep 0.05; n=$((n - 1))
	done
	wait "$SRV_PID" 2>/dev/null
	SRV_PID=
}

# Children of the master (workers, webhook, ...).
srv_children() {
	ps -o pid= --ppid "$SRV_PID" 2>/dev/null | tr -d ' '
}

# srv_py CMD ARGS...: a command of tests/implib.py (gen, spectrum, check,
# load, waitall, req, prf-batch, whk-batch, sink-count)
srv_py() {
	"$PY" "$IMPLIB" "$@"
}

# ---- small helpers

# need_reffit: skip unless python3 with numpy and scipy is there.
need_reffit() {
	# reffit.py is not part of the repository (../shared has it, as CI does)
	[ -f "$IMP_REFFIT" ] ||
	    skip "no reference fitter at $IMP_REFFIT (outside the repository; set IMP_REFFIT)"
	/usr/bin/python3 -c 'import numpy, scipy' 2>/dev/null ||
	    skip "python3 numpy/scipy missing"
}

# json_num FIELD: the number of "FIELD": in a JSON line on stdin.
json_num() { sed -n "s/.*\"$1\": *\(-\{0,1\}[0-9.eE+-]*\).*/\1/p" | head -1; }
# le A B TOL: succeed when A <= B * TOL (floating point).
le() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { exit !(a != "" && b != "" && a + 0 <= (b + 0) * t) }'; }
# ge A B: A >= B (integers, possibly empty).
ge() { [ -n "$1" ] && [ "$1" -ge "$2" ]; }

# wait_until SECONDS CMD...: poll CMD every 0.1 s; 0 when it succeeded.
wait_until() {
	_t=$(($1 * 10)); shift
	while ! "$@"; do
		_t=$((_t - 1))
		[ $_t -gt 0 ] || return 1
		sleep 0.1
	done
	return 0
}

# wait_for SECONDS CMD...: until CMD succeeds (polled every 0.2 s, its
# output discarded)
wait_for() {
	_w=$(($1 * 5))
	shift
	while [ $_w -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		_w=$((_w - 1))
		sleep 0.2
	done
	return 1
}

# free_port: a port nobody listens on right now (not for a server to bind:
# only as a port nothing answers on)
free_port() {
	"$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

# gone PID: not running (a zombie nobody reaped is gone too)
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# ---- impctl (t-ctl-*)

# ctl [ARGS...]: impctl on the test's state dir
ctl() { "$IMPCTL" -d "$STATE" "$@"; }

# ctl_init NAME WATCHDOG_SECONDS: srv_init, and impctl must be built
ctl_init() {
	[ -x "$IMPCTL" ] || { echo "FAIL: $IMPCTL not built"; exit 1; }
	srv_init "$@"
}

# ctl_start [FLAGS...]: impsolverd -threads=2 with a small state file (the
# tests hold a few dozen spectra); $dpid and $port are the master and port.
ctl_start() {
	srv_start -threads=2 -queue-size=256 -results=1024 "$@"
	dpid=$SRV_PID
	port=$SRV_PORT
	ok "impsolverd up (pid $dpid, port $port)"
}

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

# counter NAME: the total of a counter over every process, from impctl
# stats -1
counter() { ctl stats -1 | awk -v n="$1" '$1 == n { print $2 }'; }

# batch_done ID: every spectrum of the batch is finished (asked of impctl,
# not of the API: the stats test counts the API's requests)
batch_done() {
	ctl batch --json "$1" | "$PY" -c 'import json,sys
j = json.load(sys.stdin)
sys.exit(0 if j["results"] and all(r["status"] in ("done", "failed", "cancelled") for r in j["results"]) else 1)'
}

# ---- the profiler (t-prf-*): -profile's debug port, go tool pprof

dpid=
lpid=
port=
pport=

# prf_init NAME WATCHDOG_SECONDS: srv_init, and a private go tool pprof
# (nothing under the real $HOME)
prf_init() {
	srv_init "$@"
	export HOME="$T/home" GOCACHE="$T/gocache" PPROF_TMPDIR="$T/pprof" GOFLAGS=
	mkdir -p "$HOME" "$GOCACHE" "$PPROF_TMPDIR"
}

need_go() {
	command -v go >/dev/null 2>&1 || skip "go (golang-go) not installed"
}

# prf_start [FLAGS...]: a fresh state dir, impsolverd -threads=2 (small
# state file, per-request logs on) until /health answers and, with
# -profile, the banner names the debug port (up to 20 s more).  Sets dpid,
# port, pport.
prf_start() {
	rm -rf "$STATE"
	# each daemon's own log, as the profiler tests read it; the ones before
	# stay in log.prev for the sanitizer check
	[ -s "$T/log" ] && cat "$T/log" >>"$T/log.prev"
	: >"$T/log"
	srv_start -quiet=false -threads=2 -queue-size=1024 -results=4096 "$@"
	dpid=$SRV_PID
	port=$SRV_PORT
	pport=
	case " $* " in
	*" -profile "*)
		n=100
		while [ $n -gt 0 ] && kill -0 "$dpid" 2>/dev/null; do
			pport=$(sed -n \
			    's/.*Starting profiling server on port \([0-9]*\).*/\1/p' \
			    "$T/log" | tail -n 1)
			[ -n "$pport" ] && break
			n=$((n - 1))
			sleep 0.2
		done
		[ -n "$pport" ] || srv_bail "impsolverd did not name its debug port"
		;;
	esac
	ok "impsolverd up (pid $dpid, port $port${pport:+, debug port $pport})"
}

# prf_stop: TERM the daemon, wait for the master (srv_stop), then KILL what
# is left of its group
prf_stop() {
	[ -n "$dpid" ] || return 0
	srv_stop
	kill -KILL "-$dpid" 2>/dev/null
	dpid=
}

# api PATH [CURL ARGS]: body of an API answer on stdout
api() { _p=$1; shift; curl -s --max-time 20 "$@" "http://127.0.0.1:$port$_p"; }
# dbg PATH [CURL ARGS]: the same on the debug port
dbg() { _p=$1; shift; curl -s --max-time 90 "$@" "http://127.0.0.1:$pport$_p"; }

# batch_file FILE N: a batch of N spectra alternating R(QR) and R(Q(R(QR)))
# (implib.prf_batch): fits of real cost
batch_file() { srv_py prf-batch "$1" "$2"; }

# load_start SECONDS FILE: post FILE as a batch in a loop (background, $lpid),
# pausing while the queue is deep so the server stays responsive
load_start() {
	(
		end=$(($(date +%s) + $1))
		while [ "$(date +%s)" -lt "$end" ]; do
			curl -s -o /dev/null --max-time 10 --data-binary @"$2" \
			    "http://127.0.0.1:$port/eis-data/batch"
			sleep 0.05
		done
	) &
	lpid=$!
}
load_stop() { [ -n "$lpid" ] && kill "$lpid" 2>/dev/null; wait "$lpid" 2>/dev/null; lpid=; }

# pprof_top NAME ARGS...: go tool pprof -top ARGS into $T/NAME.top (exit in $rc)
pprof_top() {
	_name=$1
	shift
	go tool pprof -top "$@" >"$T/$_name.top" 2>&1
	rc=$?
}

# ---- the webhook tests (t-whk-*): tests/whk_sink.py, the receiver

SPID=
SPORT=
DPID=
DPORT=
API=

# sink_start ARGS...: start whk_sink.py (it binds port 0 itself and writes
# every request it gets to $T/sink.jsonl); sets SPORT and SPID.
sink_start() {
	rm -f "$T/sink.port"
	"$PY" "$SINK" --port-file "$T/sink.port" --log "$T/sink.jsonl" "$@" \
	    >>"$T/sink.err" 2>&1 &
	SPID=$!
	n=100
	while [ ! -s "$T/sink.port" ]; do
		n=$((n - 1))
		[ $n -gt 0 ] || { cat "$T/sink.err"; srv_bail "sink did not start"; }
		sleep 0.05
	done
	SPORT=$(cat "$T/sink.port")
}

sink_stop() {
	[ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=
}

# daemon_start FLAGS...: impsolverd with -threads=2, a small state file and
# per-request logs, plus FLAGS (srv_start).  Sets DPID, DPORT, API.
daemon_start() {
	srv_start -quiet=false -threads=2 -queue-size=2048 -results=4096 "$@"
	DPID=$SRV_PID
	DPORT=$SRV_PORT
	API=$SRV_URL
}

# daemon_term SECONDS: SIGTERM the master and wait for it; 0 when it exited
# with status 0 (DESIGN: exit 0 on SIGTERM; status in DRC) within SECONDS,
# else 1 (the tree is killed when it did not exit in time).
daemon_term() {
	kill -TERM "$DPID"
	# the watchdog must not hold the test's stdout open once killed
	( sleep "$1"; kill -KILL "-$DPID" ) >/dev/null 2>&1 &
	wd=$!
	wait "$DPID"
	DRC=$?
	kill "$wd" 2>/dev/null
	[ "$DRC" -eq 0 ]
}

# daemon_kill9: kill -9 the whole tree at once (srv_kill9_tree).
daemon_kill9() {
	SRV_PID=$DPID
	srv_kill9_tree
	DPID=
}

# batch_body ID N [BATCH_FIELDS_JSON [SPECTRUM_FIELDS_JSON]]: a batch of N
# R(RC) spectra (implib.whk_batch) on stdout.
batch_body() { srv_py whk-batch "$@"; }

# post PATH FILE: POST the JSON in FILE; prints the status, body in $T/resp.
post() {
	curl -s -o "$T/resp" -w '%{http_code}' --max-time 30 -d @"$2" "$API$1"
}

# batch_ids ID: the result ids of a batch, one per line.
batch_ids() {
	curl -s --max-time 30 "$API/eis-data/batch/$1" | "$PY" -c '
import json, sys
for r in json.load(sys.stdin)["results"]:
    print(r["id"])'
}

# webhook_pid: pid of the live webhook process.
webhook_pid() {
	"$IMPCTL" -d "$STATE" stats --json | "$PY" -c '
import json, sys
for p in json.load(sys.stdin)["processes"]:
    if p["role"] == "webhook" and p["state"] in ("running", "starting"):
        print(p["pid"]); break'
}

# sink_count [PYTHON EXPRESSION]: requests in the sink log for which the
# expression over r holds (default: every POST).
sink_count() { srv_py sink-count "$T/sink.jsonl" "${1:-True}"; }

# sink_ge N [FILTER]: the sink has at least N requests (matching FILTER).
sink_ge() {
	ge "$(sink_count "${2:-True}")" "$1"
}
