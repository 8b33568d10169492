#!/bin/sh
# impcore - what -profile costs: throughput of a server without -profile,
# with -profile idle, and with -profile while a CPU profile runs, side by
# side in one run (target: <= 3 % when idle).
#
#   tools/bench-profile.sh [-r rounds] [-t threads] [BUILDDIR]
#
# Two loads, both with tools/impload: GET /health for 3 s (the request path:
# allocations through the heap sampler's hook, the X- headers) and a fixed
# amount of fitting (600 batches of 12 R(QR) spectra, end-to-end spectra/s:
# CPU-bound, what SIGPROF sampling slows).  Rounds alternate the three
# setups so drift (thermal, other tenants) hits all alike; the table shows
# medians and ratios to the server without -profile.  A fourth setup,
# -profile with the heap sampler off (IMPCORE_HEAP_RATE=off), separates the
# sampler's cost from the rest of -profile (the X- headers on each answer).
set -u
rounds=3
threads=2
while getopts r:t: o; do
	case $o in
	r) rounds=$OPTARG ;;
	t) threads=$OPTARG ;;
	*) echo "usage: $0 [-r rounds] [-t threads] [BUILDDIR]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
B=${1:-.}
D=$B/src/master/impsolverd
L=$B/tools/impload
[ -x "$D" ] && [ -x "$L" ] || { echo "$0: build impsolverd and tools/impload in $B first" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/benchprof.XXXXXX") || exit 1
dpid=
cleanup() {
	[ -n "$dpid" ] && { kill -TERM "-$dpid" 2>/dev/null; sleep 1; kill -KILL "-$dpid" 2>/dev/null; }
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
: >"$T/empty.conf"

# start [FLAGS]: a fresh daemon on port 0; sets port (and pport with -profile)
start() {
	rm -rf "$T/state"
	: >"$T/log"
	setsid "$D" -port=0 -bind=127.0.0.1 -threads="$threads" -quiet \
	    -state-dir="$T/state" -config="$T/empty.conf" "$@" >>"$T/log" 2>&1 &
	dpid=$!
	port= pport=
	n=100
	while [ $n -gt 0 ]; do
		[ -z "$port" ] && [ -s "$T/state/impsolverd.port" ] && port=$(cat "$T/state/impsolverd.port")
		pport=$(sed -n 's/.*Starting profiling server on port \([0-9]*\).*/\1/p' "$T/log" | tail -n 1)
		if [ -n "$port" ] && curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/health"; then
			case "$*" in *-profile*) [ -n "$pport" ] && break ;; *) break ;; esac
		fi
		n=$((n - 1))
		sleep 0.1
	done
	[ $n -gt 0 ] || { echo "$0: impsolverd did not start" >&2; tail "$T/log" >&2; exit 1; }
	sleep 1	# every child up, the profiler's first samples taken
}
stop() {
	kill -TERM "$dpid" 2>/dev/null
	n=100
	while [ $n -gt 0 ] && kill -0 "$dpid" 2>/dev/null; do n=$((n - 1)); sleep 0.1; done
	kill -KILL "-$dpid" 2>/dev/null
	dpid=
}
jnum() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p"; }
# CPU seconds used so far by the daemon's processes (its process group):
# less sensitive than throughput to other tenants of the machine
tck=$(getconf CLK_TCK)
cpu_s() {
	cat /proc/[0-9]*/stat 2>/dev/null |
	    awk -v g="$dpid" -v t="$tck" '$5 == g { s += $14 + $15 } END { printf "%.2f", s / t }'
}

# measure SETUP: one health run and one fit run, appended to $T/SETUP.*
measure() {
	prof=
	if [ "$1" = cpu ]; then
		# one profile over both runs (about 3 s + the fits)
		curl -s -o "$T/cpu.prof" --max-time 60 \
		    "http://127.0.0.1:$pport/debug/pprof/profile?seconds=12" &
		prof=$!
		sleep 0.3
	fi
	c0=$(cpu_s)
	"$L" -u "http://127.0.0.1:$port" -H -d 3 -c 4 --json >"$T/out"
	c1=$(cpu_s)
	jnum requests_per_s <"$T/out" >>"$T/$1.health"
	# server CPU microseconds per request
	awk -v a="$c0" -v b="$c1" -v n="$(jnum requests <"$T/out")" \
	    'BEGIN { print (b - a) * 1e6 / n }' >>"$T/$1.hcpu"
	"$L" -u "http://127.0.0.1:$port" -n 600 -s 12 -c 4 -k 'R(QR)' --no-verify \
	    --json >"$T/out"
	c2=$(cpu_s)
	jnum e2e_spectra_per_s <"$T/out" >>"$T/$1.fit"
	awk -v a="$c1" -v b="$c2" -v n="$(jnum spectra_done <"$T/out")" \
	    'BEGIN { print (b - a) * 1e6 / n }' >>"$T/$1.fcpu"
	[ -n "$prof" ] && wait "$prof"
}

r=1
while [ "$r" -le "$rounds" ]; do
	echo "round $r/$rounds ..." >&2
	start
	measure base
	stop
	start -profile -profile-port=0
	measure idle
	measure cpu
	stop
	export IMPCORE_HEAP_RATE=off
	start -profile -profile-port=0
	unset IMPCORE_HEAP_RATE
	measure noheap
	stop
	r=$((r + 1))
done

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
bh=$(median "$T/base.health") bf=$(median "$T/base.fit")
bhc=$(median "$T/base.hcpu") bfc=$(median "$T/base.fcpu")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { print a / b }'; }
printf '%-28s %12s %6s %14s %6s %12s %6s %12s %6s\n' \
    "setup ($threads workers, $rounds rounds)" "health req/s" ratio \
    "fit spectra/s" ratio "us CPU/req" ratio "us CPU/fit" ratio
for s in base idle cpu noheap; do
	case $s in
	base) name="no -profile" ;;
	idle) name="-profile, idle" ;;
	cpu) name="-profile, CPU profile on" ;;
	noheap) name="-profile, heap sampler off" ;;
	esac
	h=$(median "$T/$s.health") f=$(median "$T/$s.fit")
	hc=$(median "$T/$s.hcpu") fc=$(median "$T/$s.fcpu")
	printf '%-28s %12.0f %6.3f %14.1f %6.3f %12.1f %6.3f %12.1f %6.3f\n' \
	    "$name" "$h" "$(ratio "$h" "$bh")" "$f" "$(ratio "$f" "$bf")" \
	    "$hc" "$(ratio "$hc" "$bhc")" "$fc" "$(ratio "$fc" "$bfc")"
done
echo "(throughput: higher is better; CPU per operation of the server's processes: lower is better)"
