#!/bin/sh
# impcore - what -profile costs, in instructions (valgrind's callgrind):
# the same question as tools/bench-profile.sh, answered with a count that
# other tenants of the machine cannot move.  Throughput on a shared VM
# swings by more than the 3 % target between identical runs; instructions
# per request do not.
#
#   tools/bench-profile-cg.sh [-n health-requests] [-b fit-batches] [BUILDDIR]
#
# For each setup (no -profile; -profile idle; -profile with the heap
# sampler off) and each load (GET /health; batches of 12 R(QR) spectra), a
# daemon runs twice under callgrind, once with the load and once with
# twice the load; the difference of the instructions of all its processes
# (master, workers, webhook and profiler processes), and of the workers
# alone, divided by the extra requests, is the cost of one request:
# start-up and shutdown cancel out.
# What callgrind does not count: the kernel (the X- headers make each
# answer some 300 bytes longer) and cache effects.  Needs valgrind.
set -u
nh=2000 nb=40
while getopts n:b: o; do
	case $o in
	n) nh=$OPTARG ;;
	b) nb=$OPTARG ;;
	*) echo "usage: $0 [-n health-requests] [-b fit-batches] [BUILDDIR]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
B=${1:-.}
D=$B/src/master/impsolverd
L=$B/tools/impload
C=$B/src/impctl/impctl
[ -x "$D" ] && [ -x "$L" ] && [ -x "$C" ] || { echo "$0: build impsolverd, impctl and tools/impload in $B first" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "$0: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/benchprofcg.XXXXXX") || exit 1
dpid=
cleanup() {
	[ -n "$dpid" ] && kill -KILL "-$dpid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
: >"$T/empty.conf"

# run SETUP LOAD N: instructions of a whole daemon's life with N of LOAD
run() {
	rm -rf "$T/state" "$T"/cg.*
	: >"$T/log"
	case $1 in
	base) flags= ;;
	idle) flags="-profile -profile-port=0" ;;
	noheap) flags="-profile -profile-port=0" ;;
	esac
	[ "$1" = noheap ] && export IMPCORE_HEAP_RATE=off
	# -threads=1: one worker, so the load's split between workers does
	# not matter (the sum over processes would be the same anyway)
	# libtool --mode=execute: valgrind on the binary behind libtool's
	# wrapper script (impsolverd links the shared libimpfit)
	setsid "$B/libtool" --mode=execute valgrind -q --tool=callgrind --trace-children=yes \
	    --callgrind-out-file="$T/cg.%p" \
	    "$D" -port=0 -bind=127.0.0.1 -threads=1 -quiet -state-dir="$T/state" \
	    -config="$T/empty.conf" $flags >>"$T/log" 2>&1 &
	dpid=$!
	unset IMPCORE_HEAP_RATE
	n=600
	while [ $n -gt 0 ]; do
		if [ -s "$T/state/impsolverd.port" ]; then
			port=$(cat "$T/state/impsolverd.port")
			curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$port/health" && break
		fi
		n=$((n - 1))
		sleep 0.1
	done
	[ $n -gt 0 ] || { echo "$0: impsolverd did not start" >&2; tail "$T/log" >&2; exit 1; }
	sleep 2	# every child up under valgrind
	if [ "$2" = health ]; then
		"$L" -u "http://127.0.0.1:$port" -H -n "$3" -c 2 -T 600 --json >"$T/out"
	else
		"$L" -u "http://127.0.0.1:$port" -n "$3" -s 12 -c 2 -k 'R(QR)' \
		    --no-verify -i 1000 -T 600 --json >"$T/out"
	fi
	# which pid had which role (the callgrind files are named by pid)
	"$C" -d "$T/state" stats --json | python3 -c '
import json, sys
for p in json.load(sys.stdin)["processes"]:
    print(p["pid"], p["role"])' >"$T/roles"
	kill -TERM "$dpid"
	wait "$dpid"
	dpid=
	# "ALL WORKERS": the totals of every process, and of the workers alone
	for f in "$T"/cg.*; do
		pid=${f##*.}
		role=$(awk -v p="$pid" '$1 == p { print $2 }' "$T/roles")
		echo "${role:-master} $(sed -n 's/^summary: //p' "$f")"
	done | awk '{ a += $2 } $1 == "worker" { w += $2 } END { printf "%.0f %.0f\n", a, w }'
}

# per SETUP LOAD N: instructions of one request, all processes and the
# workers alone, from N and 2N
per() {
	a=$(run "$1" "$2" "$3")
	b=$(run "$1" "$2" $(($3 * 2)))
	echo "$a $b" | awk -v n="$3" '{ printf "%.0f %.0f\n", ($3 - $1) / n, ($4 - $2) / n }'
}

echo "bench-profile-cg: $nh GET /health, $nb batches of 12 R(QR) spectra (and twice as many), -threads=1" >&2
for s in base idle noheap; do
	echo "$s ..." >&2
	per "$s" health "$nh" >"$T/$s.h"
	# a batch: one POST, its spectra, the status polls
	per "$s" fit "$nb" >"$T/$s.f"
done
# columns: the load's instructions a request, all processes / the workers
col() { cut -d' ' -f"$2" "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
printf '%-28s %22s %7s %24s %7s\n' "setup" "GET /health: all/worker" "ratio" \
    "12-fit batch: all/worker" "ratio"
for s in base idle noheap; do
	case $s in
	base) name="no -profile" ;;
	idle) name="-profile, idle" ;;
	noheap) name="-profile, heap sampler off" ;;
	esac
	printf '%-28s %22s %7s %24s %7s\n' "$name" \
	    "$(col "$T/$s.h" 1)/$(col "$T/$s.h" 2)" \
	    "$(ratio "$(col "$T/$s.h" 1)" "$(col "$T/base.h" 1)")/$(ratio "$(col "$T/$s.h" 2)" "$(col "$T/base.h" 2)")" \
	    "$(col "$T/$s.f" 1)/$(col "$T/$s.f" 2)" \
	    "$(ratio "$(col "$T/$s.f" 1)" "$(col "$T/base.f" 1)")/$(ratio "$(col "$T/$s.f" 2)" "$(col "$T/base.f" 2)")"
done
echo "(instructions a request, user space only, lower is better.  \"all\": every process,"
echo " the per-second work of the master and the profiler included, which callgrind's slowness"
echo " inflates per request; \"worker\": the process that serves and fits)"
