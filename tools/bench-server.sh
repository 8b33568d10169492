#!/bin/sh
# impcore - server benchmark: batch throughput, GET /health against nginx,
# and memory per process, side by side in one run.
#
#   tools/bench-server.sh [-r rounds] [-d seconds] [-c "4 16 64"] [-t threads]
#                         [-T batch-timeout] [-w wrk-seconds] [-W wrk-conns]
#                         [BUILDDIR]
#
# 1. tools/impload posts the Go clients' batch (12 spectra x 23 points,
#    R(RC)) for -d seconds at each concurrency, then polls until every
#    accepted spectrum is done: accepted spectra/s, end-to-end spectra/s
#    (accepted spectra / time until the last one is done), 503s.
#    Target: >= 10000 spectra/s on 2 cores.
# 2. wrk -t2 -c64 GET /health on impsolverd, and the same wrk against nginx
#    (worker_processes = -threads, access_log off, keep-alive, `return 200`
#    with a body of the same size) on another port.  Target: impsolverd
#    >= 0.5 x nginx.
# 3. VmRSS, RssAnon and PSS of every impsolverd process (and of nginx) after
#    the load.
# 4. Time of a ~54 KB keep-alive response (a finished batch) on a reused
#    connection: about 40 ms more than on a fresh one means Nagle + delayed
#    ACK (no TCP_NODELAY on the server's sockets).
#
# One impsolverd (-threads=N -quiet, temporary -state-dir, no webhook, an
# empty -config) and one nginx serve the whole run; rounds interleave every
# measurement (the wrk order alternates) so drift and noisy neighbours hit
# all alike, and the table shows medians.  After each batch run the script
# waits until the queue is empty, so no run inherits the previous one's work.
# A batch run that is not finished within -T seconds (default 2 x -d + 2)
# is cut there; its end-to-end figure is then spectra done / -T, marked '*'.
# Runs as root or not; with the defaults it takes about 1.5 to 3 minutes.
# Needs: impsolverd and tools/impload built in BUILDDIR (default: the
# current directory if it is a build directory, else ../build-bench),
# curl, wrk and nginx (Debian: apt-get install -y wrk nginx-light).
set -u
rounds=3
dur=5
conns="4 16 64"
threads=2
tmax=
wdur=5
wconns=64

usage() {
	echo "usage: $0 [-r rounds] [-d seconds] [-c \"conns ...\"] [-t threads]" >&2
	echo "       [-T batch-timeout] [-w wrk-seconds] [-W wrk-conns] [BUILDDIR]" >&2
	exit 2
}
while getopts r:d:c:t:T:w:W:h o; do
	case $o in
	r) rounds=$OPTARG ;;
	d) dur=$OPTARG ;;
	c) conns=$OPTARG ;;
	t) threads=$OPTARG ;;
	T) tmax=$OPTARG ;;
	w) wdur=$OPTARG ;;
	W) wconns=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || usage
for v in "$rounds" "$dur" "$threads" "$wdur" "$wconns" ${tmax:+"$tmax"} $conns; do
	case $v in ''|*[!0-9]*|0) echo "$0: not a positive integer: '$v'" >&2; usage ;; esac
done
[ -n "$tmax" ] || tmax=$((2 * dur + 2))

top=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -eq 1 ]; then
	B=$1
elif [ -x ./src/master/impsolverd ]; then
	B=.
else
	B=$top/build-bench
fi
B=$(cd "$B" 2>/dev/null && pwd) || { echo "$0: no build directory ${1:-$top/build-bench}" >&2; exit 2; }
D=$B/src/master/impsolverd
L=$B/tools/impload
C=$B/src/impctl/impctl

# ---- prerequisites
missing=0
need() {
	echo "$0: $1" >&2
	missing=1
}
[ -x "$D" ] || need "$D is not built (cd $B && make)"
[ -x "$L" ] || need "$L is not built (cd $B && make tools/impload)"
command -v curl >/dev/null 2>&1 || need "curl not found (apt-get install -y curl)"
command -v wrk >/dev/null 2>&1 || need "wrk not found (apt-get install -y wrk)"
NGINX=$(command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; })
[ -n "$NGINX" ] || need "nginx not found (apt-get install -y nginx-light)"
command -v awk >/dev/null 2>&1 || need "awk not found"
[ $missing -eq 0 ] || exit 2
[ -x "$C" ] || { echo "$0: note: $C not built; process roles from the process tree" >&2; C=; }
case "$(uname -s)" in Linux) ;; *) echo "$0: needs Linux (/proc)" >&2; exit 2 ;; esac

T=$(mktemp -d "${TMPDIR:-/tmp}/benchsrv.XXXXXX") || exit 1
dpid=
npid=
lpid=
qw=
cleanup() {
	if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
		kill -TERM "$dpid" 2>/dev/null
		n=50
		while [ $n -gt 0 ] && kill -0 "$dpid" 2>/dev/null; do n=$((n - 1)); sleep 0.1; done
		kill -KILL "-$dpid" 2>/dev/null
	fi
	if [ -n "$npid" ] && kill -0 "$npid" 2>/dev/null; then
		kill -QUIT "$npid" 2>/dev/null	# graceful: the workers go too
		n=50
		while [ $n -gt 0 ] && kill -0 "$npid" 2>/dev/null; do n=$((n - 1)); sleep 0.1; done
		kill -KILL "-$npid" 2>/dev/null
	fi
	# our load generators and the queue watcher
	for p in $lpid $qw; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'echo "$0: interrupted" >&2; exit 1' INT TERM HUP
say() { echo "$*" >&2; }

# ---- impsolverd: a fresh state dir, port 0; started in its own session.
# -results holds every run's results until impload has polled them (the
# default 65536 is ~5 s at the target rate: older results would be evicted
# unread and counted as lost).
: >"$T/empty.conf"
setsid "$D" -port=0 -bind=127.0.0.1 -threads="$threads" -quiet \
    -results=262144 -state-dir="$T/state" -config="$T/empty.conf" \
    >>"$T/imp.log" 2>&1 &
dpid=$!
port=
n=150
while [ $n -gt 0 ]; do
	[ -z "$port" ] && [ -s "$T/state/impsolverd.port" ] && port=$(cat "$T/state/impsolverd.port")
	[ -n "$port" ] && curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/health" && break
	kill -0 "$dpid" 2>/dev/null || { say "$0: impsolverd died at start:"; tail -n 20 "$T/imp.log" >&2; exit 1; }
	n=$((n - 1))
	sleep 0.1
done
[ $n -gt 0 ] || { say "$0: impsolverd did not answer /health in 15 s"; tail -n 20 "$T/imp.log" >&2; exit 1; }
IURL=http://127.0.0.1:$port

# ---- nginx: temporary prefix and config, same body size as /health
freeport() {
	# a port nobody listens on (the small race with other programs is retried)
	ns=$(date +%N | sed 's/^0*//')
	echo $(( (${ns:-0} / 1000 + $$ * 7919 + try * 104729) % 40000 + 20000 ))
}
hbody=$(curl -s --max-time 2 "$IURL/health")
[ -n "$hbody" ] || { say "$0: GET /health gave no body"; exit 1; }
# nginx's body: that many bytes of JSON, no quote or backslash issues
nbody=$(printf '%s' "$hbody" | tr -c 'A-Za-z0-9{}:,._"\n' '_' | tr -d "'")
mkdir -p "$T/nginx/logs"
try=0
while :; do
	nport=$(freeport)
	cat >"$T/nginx/nginx.conf" <<EOF
# generated by tools/bench-server.sh
worker_processes $threads;
daemon off;
pid $T/nginx/nginx.pid;
error_log $T/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_timeout 65;
	keepalive_requests 100000000;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	server {
		listen 127.0.0.1:$nport;
		location / {
			default_type application/json;
			return 200 '$nbody';
		}
	}
}
EOF
	setsid "$NGINX" -c "$T/nginx/nginx.conf" -p "$T/nginx" \
	    -e "$T/nginx/logs/error.log" >>"$T/nginx/logs/stderr" 2>&1 &
	npid=$!
	n=50
	while [ $n -gt 0 ] && kill -0 "$npid" 2>/dev/null; do
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$nport/health" && break
		n=$((n - 1))
		sleep 0.1
	done
	kill -0 "$npid" 2>/dev/null && [ $n -gt 0 ] && break
	wait "$npid" 2>/dev/null
	npid=
	try=$((try + 1))
	if [ $try -ge 5 ]; then
		say "$0: nginx did not start:"
		cat "$T/nginx/logs/stderr" "$T/nginx/logs/error.log" >&2 2>/dev/null
		exit 1
	fi
done
NURL=http://127.0.0.1:$nport

# ---- helpers
# runbg CMD...: run a long command in the background and wait for it, so that a
# signal ends the script at once (cleanup kills the command)
runbg() {
	"$@" &
	lpid=$!
	wait "$lpid"
	rc=$?
	lpid=
	return $rc
}
jnum() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p" "$2"; }
median() {
	[ -s "$1" ] || { echo nan; return; }
	sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
sum() { [ -s "$1" ] && awk '{ s += $1 } END { print s }' "$1" || echo 0; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0 || a == "nan") print "nan"; else printf "%.3f\n", a / b }'; }
qdepth() { curl -s --max-time 2 "$IURL/health" | sed -n 's/.*"queue_depth":\([0-9]*\).*/\1/p'; }

# wait until the queue is empty (at most 60 s); prints the seconds waited
wait_idle() {
	t0=$(date +%s.%N)
	n=600
	while [ $n -gt 0 ]; do
		q=$(qdepth)
		[ "$q" = 0 ] && break
		n=$((n - 1))
		sleep 0.1
	done
	[ $n -gt 0 ] || say "  warning: queue not empty after 60 s (queue_depth ${q:-?})"
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }'
}

# qwatch: "seconds queue_depth" every 50 ms, until killed
qwatch() {
	while :; do
		echo "$(date +%s.%N) $(qdepth)"
		sleep 0.05
	done
}

# batch CONNS: one impload run, appended to $T/b.CONNS.*
batch() {
	c=$1
	t0=$(date +%s.%N)
	qwatch >"$T/q.log" &
	qw=$!
	runbg "$L" -u "$IURL" -c "$c" -d "$dur" -T "$tmax" --json >"$T/out.json" 2>"$T/out.err"
	kill "$qw" 2>/dev/null
	wait "$qw" 2>/dev/null
	qw=
	t1=$(date +%s.%N)
	if ! grep -q '"mode":"batch"' "$T/out.json"; then
		say "  impload -c $c failed:"; cat "$T/out.err" >&2
		wait_idle >/dev/null
		return
	fi
	acc=$(jnum accepted_spectra_per_s "$T/out.json")
	e2e=$(jnum e2e_spectra_per_s "$T/out.json")
	done_=$(jnum spectra_done "$T/out.json")
	nacc=$(jnum spectra_accepted "$T/out.json")
	post=$(jnum seconds "$T/out.json")
	if grep -q '"all_done":true' "$T/out.json"; then
		cut=
	else
		e2e=$(awk -v d="$done_" -v t="$tmax" 'BEGIN { print d / t }')
		cut=1
		echo 1 >>"$T/b.$c.cut"
	fi
	w=$(wait_idle)
	# server side: when the queue was first empty after the posting ended
	# (all accepted spectra fitted), whatever the client knew by then
	emp=$(awk -v t0="$t0" -v p="$post" '$2 == "0" && $1 - t0 >= p { print $1 - t0; exit }' "$T/q.log")
	[ -n "$emp" ] || emp=$(awk -v a="$t0" -v b="$t1" -v w="$w" 'BEGIN { print b - a + w }')
	fit=$(awk -v n="$nacc" -v t="$emp" 'BEGIN { print (t > 0) ? n / t : 0 }')
	echo "$acc" >>"$T/b.$c.acc"
	echo "$e2e" >>"$T/b.$c.e2e"
	echo "$fit" >>"$T/b.$c.fit"
	jnum http_503 "$T/out.json" >>"$T/b.$c.503"
	echo "$nacc" >>"$T/b.$c.spectra"
	jnum mismatched "$T/out.json" >>"$T/b.$c.bad"
	jnum spectra_failed "$T/out.json" >>"$T/b.$c.bad"
	jnum spectra_lost "$T/out.json" >>"$T/b.$c.bad"
	jnum errors "$T/out.json" >>"$T/b.$c.err"
	say "  impload -c $c: accepted $acc spectra/s, end to end $e2e${cut:+ (cut at ${tmax} s)}, all fitted after $emp s ($fit/s), 503s $(jnum http_503 "$T/out.json")"
}

# health NAME URL: one wrk run, appended to $T/h.NAME.*
health() {
	runbg wrk -t2 -c"$wconns" -d"${wdur}s" --latency "$2/health" >"$T/wrk.out" 2>&1
	rps=$(awk '/^Requests\/sec:/ { print $2 }' "$T/wrk.out")
	[ -n "$rps" ] || { say "  wrk against $1 failed:"; cat "$T/wrk.out" >&2; return; }
	echo "$rps" >>"$T/h.$1.rps"
	# p99 latency in ms (wrk prints us, ms or s)
	awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
	    m = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v; print m }' "$T/wrk.out" >>"$T/h.$1.p99"
	awk '/Non-2xx/ { print $NF } /Socket errors/ { print "e" }' "$T/wrk.out" >>"$T/h.$1.bad"
	say "  wrk $1: $rps requests/s"
}

# ---- warm-up (not measured)
say "impsolverd $IURL ($threads workers, pid $dpid), nginx $NURL (pid $npid), tmp $T"
runbg "$L" -u "$IURL" -c 4 -n 20 -T 30 --json >/dev/null 2>&1
runbg wrk -t2 -c"$wconns" -d1s "$IURL/health" >/dev/null 2>&1
runbg wrk -t2 -c"$wconns" -d1s "$NURL/health" >/dev/null 2>&1
wait_idle >/dev/null

# ---- rounds
r=1
while [ "$r" -le "$rounds" ]; do
	say "round $r/$rounds"
	for c in $conns; do
		batch "$c"
	done
	if [ $((r % 2)) -eq 1 ]; then
		health impsolverd "$IURL"; health nginx "$NURL"
	else
		health nginx "$NURL"; health impsolverd "$IURL"
	fi
	r=$((r + 1))
done

# ---- 4. large keep-alive responses: a finished batch, 5 GETs on one connection
kaline=
bid=
[ -n "$C" ] && bid=$("$C" -d "$T/state" batches -n 1 2>/dev/null | awk 'NF >= 10 && $8 == "completed" { print $NF; exit }')
if [ -n "$bid" ]; then
	u="$IURL/eis-data/batch/$bid"
	curl -s -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
	    -w '%{size_download} %{time_total} %{num_connects}\n' "$u" "$u" "$u" "$u" "$u" >"$T/ka.out" 2>/dev/null
	awk 'NR > 1 { print $2 * 1000 }' "$T/ka.out" >"$T/ka.reused"
	kaline=$(awk -v med="$(median "$T/ka.reused")" 'NR == 1 { sz = $1; first = $2 * 1000 }
	    END { if (NR < 2) exit; printf "%d bytes: fresh connection %.1f ms, reused (median of %d) %.1f ms%s", sz, first, NR - 1, med,
	    (med - first > 30) ? "  <- ~40 ms stall: Nagle + delayed ACK (TCP_NODELAY not set?)" : "" }' "$T/ka.out")
fi

# ---- 3. memory per process, after the load
mem_line() {	# ROLE PID
	[ -r "/proc/$2/status" ] || return
	awk -v role="$1" -v pid="$2" -v pss="$(awk '/^Pss:/ { print $2 }' "/proc/$2/smaps_rollup" 2>/dev/null)" '
	    /^VmRSS:/ { rss = $2 } /^RssAnon:/ { anon = $2 } /^RssFile:/ { file = $2 }
	    /^RssShmem:/ { shm = $2 } /^VmHWM:/ { hwm = $2 }
	    END { printf "  %-14s %7d %9.1f %9.1f %9.1f %9s %9.1f\n", role, pid, rss / 1024, anon / 1024,
		(file + shm) / 1024, (pss == "") ? "-" : sprintf("%.1f", pss / 1024), hwm / 1024 }' "/proc/$2/status"
}
{
	if [ -n "$C" ] && "$C" -d "$T/state" status >"$T/status.out" 2>/dev/null; then
		awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ { print $3, $2 }' "$T/status.out"
	else
		echo master "$dpid"
		for p in $(ps -o pid= --ppid "$dpid"); do echo child "$p"; done
	fi
	echo nginx-master "$npid"
	i=0
	for p in $(ps -o pid= --ppid "$npid"); do echo "nginx-worker.$i" "$p"; i=$((i + 1)); done
} >"$T/procs"

# ---- counters of the server over the whole run
ctrs=
if [ -n "$C" ] && "$C" -d "$T/state" stats -1 >"$T/stats.out" 2>/dev/null; then
	ctrs=$(awk '$1 == "spectra_fitted" { f = $2 } $1 == "fit_ns" { ns = $2 }
	    $1 == "fit_time.p50" { p50 = $2 } $1 == "http_rejected_full" { r = $2 }
	    $1 == "request_time.p99" { rq = $2 } $1 == "results_evicted" { ev = $2 }
	    END { printf "server: %d spectra fitted, mean fit %.1f us (p50 %.1f us) = %.0f fits/s per core; request p99 %.2f ms; 503s %d; results evicted %d",
		f, f ? ns / f / 1000 : 0, p50 / 1000, ns ? f / (ns / 1e9) : 0, rq / 1e6, r, ev }' "$T/stats.out")
fi

# ---- the table
# row FMT VALUES...: printf through awk, "nan" where a value is missing
row() {
	f=$1
	shift
	awk -v f="$f" 'BEGIN { for (i = 1; i < ARGC; i++) a[i] = ARGV[i]; ARGC = 1
	    printf f, a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12] }' "$@"
}
echo
echo "impsolverd bench: $threads workers, $(nproc 2>/dev/null || echo ?) CPUs, $rounds rounds interleaved, medians; $(date -u +%Y-%m-%dT%H:%MZ) $(uname -r)"
echo
echo "1. POST /eis-data/batch, 12 spectra x 23 points R(RC), impload -d $dur (cut at $tmax s)"
printf '  %-6s %11s %13s %9s %10s %9s %6s %8s  %s\n' conns "accepted/s" "end-to-end/s" "e2e/10k" "fitted/s" "fit/10k" "503s" "spectra" "failed+lost+off, errors"
for c in $conns; do
	e=$(median "$T/b.$c.e2e") f=$(median "$T/b.$c.fit")
	cut=$(sum "$T/b.$c.cut")
	row '  %-6s %11.0f %12.0f%s %9s %10.0f %9s %6.0f %8.0f  %d, %d\n' "$c" "$(median "$T/b.$c.acc")" "$e" \
	    "$([ "$cut" -gt 0 ] && echo '*' || echo ' ')" "$(div "$e" 10000)" "$f" "$(div "$f" 10000)" \
	    "$(median "$T/b.$c.503")" "$(median "$T/b.$c.spectra")" "$(sum "$T/b.$c.bad")" "$(sum "$T/b.$c.err")"
done
echo "  accepted/s: spectra accepted / posting time; end-to-end/s: / time until the client saw all done;"
echo "  fitted/s: / time until the server's queue was empty (all fitted; /health queue_depth every 50 ms)"
grep -q . "$T"/b.*.cut 2>/dev/null && echo "  * not all done within $tmax s in some round: end-to-end = spectra done / $tmax s (a lower bound)"
[ -n "$ctrs" ] && echo "  $ctrs"
echo
echo "2. GET /health, wrk -t2 -c$wconns -d${wdur}s"
hi=$(median "$T/h.impsolverd.rps") hn=$(median "$T/h.nginx.rps")
printf '  %-12s %12s %10s %8s\n' server "requests/s" "p99 ms" "non-2xx"
row '  %-12s %12.0f %10.2f %8d\n' impsolverd "$hi" "$(median "$T/h.impsolverd.p99")" "$(sum "$T/h.impsolverd.bad")"
row '  %-12s %12.0f %10.2f %8d\n' nginx "$hn" "$(median "$T/h.nginx.p99")" "$(sum "$T/h.nginx.bad")"
echo "  ratio impsolverd/nginx: $(div "$hi" "$hn") (target >= 0.5)"
echo
echo "3. memory after the load (MB; file+shm: pages of the shared state file and libraries)"
printf '  %-14s %7s %9s %9s %9s %9s %9s\n' process pid VmRSS anon file+shm PSS VmHWM
while read -r role pid; do mem_line "$role" "$pid"; done <"$T/procs"
echo
echo "4. keep-alive response of a finished batch (GET /eis-data/batch/ID x 5, one connection)"
echo "  ${kaline:-(skipped: no impctl or no finished batch)}"
