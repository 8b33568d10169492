# impcore - helpers for the profiler tests (tests/t-prf-*.sh), sourced after
# tests/lib.sh: a private impsolverd with -profile (temp state dir, port 0
# for the API and the debug port: the API port is read from
# <state-dir>/impsolverd.port, the debug port from the profiler's banner),
# its own process group so nothing outlives the test, a bounded fitting
# load, and go tool pprof with private HOME/GOCACHE/PPROF_TMPDIR.
# shellcheck shell=sh disable=SC2317

DAEMON=${IMPSOLVERD:-$IMP_BUILDDIR/src/master/impsolverd}
dpid=
lpid=
port=
pport=

[ -x "$DAEMON" ] || { echo "FAIL: $DAEMON not built"; exit 1; }
tmpdir
STATE=$T/state
# a children's ASan report must show in the log; leaks are the master's to
# report at its exit (children _exit: DESIGN.md section 9)
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
# the test's own go tool pprof: nothing under the real $HOME
export HOME="$T/home" GOCACHE="$T/gocache" PPROF_TMPDIR="$T/pprof" GOFLAGS=
mkdir -p "$HOME" "$GOCACHE" "$PPROF_TMPDIR"

prf_cleanup() {
	imp_watchdog_stop
	[ -n "$lpid" ] && kill "$lpid" 2>/dev/null
	if [ -n "$dpid" ]; then
		# "-pid": the whole group (kill -- is not portable to dash)
		kill -TERM "-$dpid" 2>/dev/null && sleep 1
		kill -KILL "-$dpid" 2>/dev/null
	fi
	rm -rf "$T"
}
trap prf_cleanup EXIT
trap 'exit 1' INT TERM HUP

# watchdog SECONDS: end the test (and so everything it started) after that
# (tests/lib.sh: the daemon in $T/daemon.pid is killed first)
watchdog() {
	imp_watchdog "$1" "$(basename "$0")" "$T/daemon.pid"
}

need_go() {
	command -v go >/dev/null 2>&1 || skip "go (golang-go) not installed"
}

# prf_start [FLAGS...]: impsolverd -threads=2 (small state file) on port 0,
# up to 20 s until /health answers and, with -profile, the banner names the
# debug port
prf_start() {
	: >"$T/empty.conf"	# keep /etc/impsolverd.conf out of the test
	rm -rf "$STATE"
	: >"$T/daemon.log"
	setsid "$DAEMON" -port=0 -bind=127.0.0.1 -threads=2 -state-dir="$STATE" \
	    -queue-size=1024 -results=4096 \
	    -config="$T/empty.conf" "$@" >>"$T/daemon.log" 2>&1 &
	dpid=$!
	echo "$dpid" >"$T/daemon.pid"
	n=100
	port= pport=
	while [ $n -gt 0 ] && kill -0 "$dpid" 2>/dev/null; do
		[ -z "$port" ] && [ -s "$STATE/impsolverd.port" ] &&
		    port=$(cat "$STATE/impsolverd.port")
		[ -z "$pport" ] && pport=$(sed -n \
		    's/.*Starting profiling server on port \([0-9]*\).*/\1/p' \
		    "$T/daemon.log" | tail -n 1)
		if [ -n "$port" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' \
		    --max-time 2 "http://127.0.0.1:$port/health")" = 200 ]; then
			case " $* " in
			*" -profile "*) [ -n "$pport" ] && break ;;
			*) break ;;
			esac
		fi
		n=$((n - 1))
		sleep 0.2
	done
	if [ $n -le 0 ] || ! kill -0 "$dpid" 2>/dev/null; then
		echo "FAIL: impsolverd did not serve"; tail -n 30 "$T/daemon.log"
		exit 1
	fi
	ok "impsolverd up (pid $dpid, port $port${pport:+, debug port $pport})"
}

# prf_stop: TERM the daemon's group and wait for the master (<= 10 s)
prf_stop() {
	[ -n "$dpid" ] || return 0
	kill -TERM "$dpid" 2>/dev/null
	n=50
	while [ $n -gt 0 ] && kill -0 "$dpid" 2>/dev/null; do
		n=$((n - 1))
		sleep 0.2
	done
	kill -KILL "-$dpid" 2>/dev/null
	dpid=
}

# api PATH [CURL ARGS]: body of an API answer on stdout
api() { _p=$1; shift; curl -s --max-time 20 "$@" "http://127.0.0.1:$port$_p"; }
# dbg PATH [CURL ARGS]: the same on the debug port
dbg() { _p=$1; shift; curl -s --max-time 90 "$@" "http://127.0.0.1:$pport$_p"; }

# batch_file FILE N: a batch of N spectra alternating R(QR) and R(Q(R(QR)))
# (40 points, known parameters, 0.1 % noise): fits of real cost
batch_file() {
	python3 - "$1" "$2" <<-'EOF'
	import json, math, random, sys
	path, n = sys.argv[1], int(sys.argv[2])
	f = [10 ** (5 - 7 * i / 39) for i in range(40)]
	def cpe(y0, a, w):
	    return 1 / (y0 * (1j * w) ** a)
	def par(*zs):
	    return 1 / sum(1 / z for z in zs)
	spectra = []
	for k in range(n):
	    r = random.Random(k)
	    z = []
	    for x in f:
	        w = 2 * math.pi * x
	        if k % 2 == 0:
	            v = 10 + par(cpe(1e-4, 0.85, w), 100 * (1 + 0.2 * r.random()))
	        else:
	            v = 10 + par(cpe(1e-5, 0.9, w),
	                         50 + par(cpe(1e-3, 0.8, w), 200 * (1 + 0.2 * r.random())))
	        z.append(v * (1 + 0.001 * r.gauss(0, 1)))
	    spectra.append({"iteration": k,
	                    "circuit": "R(QR)" if k % 2 == 0 else "R(Q(R(QR)))",
	                    "impedance_data": {"frequencies": f,
	                        "impedance": [{"real": v.real, "imag": v.imag} for v in z]}})
	json.dump({"spectra": spectra}, open(path, "w"))
	EOF
}

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

# no_sanitizer_reports: nothing from ASan/UBSan in the daemon's log
no_sanitizer_reports() {
	if grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
	    "$T/daemon.log" >/dev/null 2>&1; then
		fail "sanitizer report in the daemon's log"
		grep -E -A12 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		    "$T/daemon.log" | head -n 60
	else
		ok "no sanitizer report"
	fi
}

# pprof_top NAME ARGS...: go tool pprof -top ARGS into $T/NAME.top (exit in $rc)
pprof_top() {
	_name=$1
	shift
	go tool pprof -top "$@" >"$T/$_name.top" 2>&1
	rc=$?
}
