#!/bin/sh
# impcore - t-initscript: the LSB init script (etc/init.d/impsolverd) starts
# impsolverd with temp paths, reports status with LSB codes, reloads it
# (SIGHUP) without an outage, and stops it; once with start-stop-daemon and
# once with plain kill(1).  Exit 0 pass, 1 fail.

# functions run through check() look unreachable to shellcheck
# shellcheck disable=SC2317
B=${IMP_BUILDDIR:?IMP_BUILDDIR not set}
given=${IMPSOLVERD:-}	# srv-lib.sh sets IMPSOLVERD
. "${IMP_SRCDIR:?IMP_SRCDIR not set}/tests/srv-lib.sh"	# imp_watchdog, fail, ok, check
DAEMON=${given:-$B/src/master/impsolverd}
# In the build tree impsolverd is libtool's wrapper script (it links the
# shared libimpfit), while the init script matches /proc/PID/exe against
# DAEMON as for an installed daemon: give it the real binary and the path
# of the library instead.
if [ -z "$given" ] && [ -x "$B/src/master/.libs/impsolverd" ]; then
	DAEMON=$B/src/master/.libs/impsolverd
	LD_LIBRARY_PATH=$B/src/fit/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	export LD_LIBRARY_PATH
fi
script=$B/etc/init.d/impsolverd

live() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null &&
    ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
gone() { ! live "$1"; }	# a zombie is gone: pid 1 may never reap it
[ -x "$DAEMON" ] || { echo "FAIL: $DAEMON not built"; exit 1; }
[ -x "$script" ] || { echo "FAIL: $script not built"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/t-initscript.XXXXXX") || exit 1
# As root the script runs the daemon as DAEMON_USER (default impsolverd,
# which a test machine may lack): nobody here, who must reach $tmp.
duser=
if [ "$(id -u)" -eq 0 ]; then
	duser=nobody
	chmod 0755 "$tmp"
fi
# the watchdog kills the daemons listed in $tmp/daemon.pids first
imp_watchdog 150 t-initscript "$tmp/daemon.pids"
# Whatever happens, no daemon outlives the test: TERM the master, then KILL
# it and any child it left.
# shellcheck disable=SC2317
cleanup() {
	imp_watchdog_stop
	for pf in "$tmp"/*/pid; do
		[ -f "$pf" ] || continue
		p=$(cat "$pf" 2>/dev/null)
		[ -n "$p" ] || continue
		kids=$(ps -o pid= --ppid "$p" 2>/dev/null)
		kill -TERM "$p" 2>/dev/null || continue
		sleep 1
		# shellcheck disable=SC2086
		kill -KILL "$p" $kids 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# health PORT: HTTP code of GET /health
health() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$1/health"
}

# wait_health PORT: up to 15 s for a 200
wait_health() {
	n=150
	while [ "$n" -gt 0 ]; do
		[ "$(health "$1")" = 200 ] && return 0
		n=$((n - 1))
		sleep 0.1
	done
	return 1
}

# initd ACTION: run the script with this run's environment, bounded in time
initd() {
	timeout 60 env IMPSOLVERD_DEFAULTS="$d/defaults" DAEMON="$DAEMON" \
	    ${duser:+DAEMON_USER="$duser"} \
	    PIDFILE="$d/pid" LOGFILE="$d/log" STATE_DIR="$d/state" \
	    CONFIG="$d/impsolverd.conf" STOP_TIMEOUT=20 \
	    ${ssd+START_STOP_DAEMON="$ssd"} "$script" "$@" >"$d/out" 2>&1
	rc=$?
	sed 's/^/    | /' "$d/out"
	return $rc
}

# expect_rc WANT DESCRIPTION ACTION...
expect_rc() {
	want=$1 what=$2
	shift 2
	initd "$@"
	got=$?
	if [ "$got" -eq "$want" ]; then ok "$what (exit $got)"; else fail "$what: exit $got, want $want"; fi
}

run() {	# run NAME: one full cycle; $ssd unset = script's choice
	d=$tmp/$1
	mkdir -p "$d"
	# an empty config: without one the daemon would read /etc/impsolverd.conf
	: >"$d/impsolverd.conf"
	# port 0: the daemon binds any free port and writes it to
	# <state-dir>/impsolverd.port (no race between picking and binding)
	cat >"$d/defaults" <<-EOF
	ENABLED=yes
	DAEMON_OPTS="-port=0 -bind=127.0.0.1 -threads=2 -quiet -queue-size=1024 -results=4096"
	EOF
	echo "== $1"

	expect_rc 3 "status before start says not running" status
	if [ -n "$duser" ]; then
		duser=root
		expect_rc 1 "DAEMON_USER=root is refused" start
		duser=nobody
	fi
	expect_rc 0 "start" start
	pid=$(cat "$d/pid" 2>/dev/null)
	[ -n "$pid" ] && echo "$pid" >>"$tmp/daemon.pids"
	if [ -n "$duser" ]; then
		# as root: the master drops to DAEMON_USER, never stays root
		u=$(ps -o user= -p "$pid" 2>/dev/null | tr -d ' ')
		[ "$u" = "$duser" ] && ok "runs as $duser, not root" ||
		    fail "master runs as '$u', want $duser"
	fi
	port=$(cat "$d/state/impsolverd.port" 2>/dev/null)
	check "port file written (port $port)" test -n "$port"
	check "pidfile names a live process ($pid)" live "$pid"
	check "state file in the temp state dir" test -f "$d/state/impsolverd.state"
	expect_rc 0 "status says running" status
	grep -q running "$d/out" || fail "status output does not say running"
	check "GET /health answers 200" wait_health "$port"
	expect_rc 0 "second start is a no-op" start
	[ "$(cat "$d/pid" 2>/dev/null)" = "$pid" ] || fail "second start changed the pid"

	# logrotate's move: after SIGUSR1 the daemon writes to a new file
	mv "$d/log" "$d/log.1"
	# logrotate's "create 0640" (same owner): the daemon, no longer root,
	# cannot create files in the log directory
	if [ -n "$duser" ]; then
		install -m 0640 -o "$duser" /dev/null "$d/log"
	fi
	kill -USR1 "$pid"
	kids=$(ps -o pid= --ppid "$pid" | sort)
	expect_rc 0 "reload" reload
	# the workers are replaced one by one: /health must never fail
	bad=0 i=0
	while [ $i -lt 30 ]; do
		c=$(health "$port")
		[ "$c" = 200 ] || { bad=$((bad + 1)); echo "    /health during reload: $c"; }
		i=$((i + 1))
		sleep 0.1
	done
	check "served through the reload ($bad of 30 /health failed)" test $bad -eq 0
	check "same master after reload" test "$(cat "$d/pid" 2>/dev/null)" = "$pid"
	check "master alive after reload" live "$pid"
	check "workers replaced by the reload" test "$(ps -o pid= --ppid "$pid" | sort)" != "$kids"
	check "log reopened on SIGUSR1 (reload logged to the new file)" test -s "$d/log"
	expect_rc 0 "force-reload" force-reload

	expect_rc 0 "stop" stop
	check "master gone" gone "$pid"
	check "pidfile removed" test ! -e "$d/pid"
	check "nothing answers after stop" test "$(health "$port")" != 200
	expect_rc 3 "status after stop says not running" status
	expect_rc 0 "stop when stopped succeeds" stop
	expect_rc 7 "reload when stopped" reload

	# a pidfile naming a dead process: LSB status 1, and stop cleans up
	sh -c 'echo $$' >"$d/pid"
	expect_rc 1 "status with a stale pidfile" status
	expect_rc 0 "stop with a stale pidfile" stop
	check "stale pidfile removed" test ! -e "$d/pid"
	expect_rc 3 "status after cleanup" status

	# sanitizer builds: nothing may have been reported
	if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$d/log" >/dev/null 2>&1; then
		fail "sanitizer report in $d/log"
		grep -E -A5 'Sanitizer|runtime error' "$d/log" | head -n 20
	fi
}

run ssd				# start-stop-daemon where installed
ssd='' run kill			# forced fallback to kill(1)

d=$tmp/disabled
mkdir -p "$d"
printf 'ENABLED=no\n' >"$d/defaults"
: >"$d/impsolverd.conf"
echo "== disabled"
expect_rc 0 "start with ENABLED=no" start
check "not started" test ! -e "$d/pid"
expect_rc 2 "unknown action" frobnicate

if [ $nfail -ne 0 ]; then
	echo "== daemon logs"
	for l in "$tmp"/*/log; do [ -f "$l" ] && { echo "-- $l"; tail -n 20 "$l"; }; done
	echo "t-initscript: $nfail failure(s)"
	exit 1
fi
echo "t-initscript: all passed"
exit 0
