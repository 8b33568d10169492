#!/bin/sh
# impcore - bench-webhook: webhook delivery rate, and end-to-end spectra/s
# with webhooks on and off, in one run, on this machine.
#
#   tools/bench-webhook.sh [-r rounds] [-t threads] [-n batches]
#                          [-s spectra-per-batch] [-c connections]
#                          [-p points-per-spectrum] [-k circuit]
#                          [-x "extra daemon flags"]
#
# Run from a build directory (or set IMP_BUILDDIR).  Receiver: tools/whk-sink
# (raw keep-alive HTTP/1.1, ~6 us CPU a POST), so it is not what is measured.
# tools/impload posts the batches (polling their status only once a second,
# so its polls do not compete with the fits); completion is read from the
# state file (impctl counters) and from the receiver's count.
#  1. webhooks off: spectra/s from the first POST until all are fitted
#  2. webhooks on (same load, fresh state dir): spectra/s until all are
#     fitted, and until the last webhook arrived at the receiver
#  3. delivery alone: the webhook process is stopped (SIGSTOP) while the
#     load is fitted, then continued: webhooks/s draining that backlog
# Rounds (default 3) repeat 1-3 in turn, so drift and noisy neighbours hit
# all alike; one line per figure and round, then the medians, their
# ratio, and a JSON line.
threads=2 nb=200 ns=12 np=23 circ= conns=4 rounds=3 xflags=
while getopts r:t:n:s:p:k:c:x: o; do
	case $o in
	r) rounds=$OPTARG ;;
	t) threads=$OPTARG ;;
	n) nb=$OPTARG ;;
	s) ns=$OPTARG ;;
	c) conns=$OPTARG ;;
	p) np=$OPTARG ;;
	k) circ=$OPTARG ;;
	x) xflags=$OPTARG ;;
	*) sed -n '2,23p' "$0"; exit 2 ;;
	esac
done
B=${IMP_BUILDDIR:-$(pwd)}
DAEMON=$B/src/master/impsolverd
IMPLOAD=$B/tools/impload
SINK=$B/tools/whk-sink
IMPCTL=$B/src/impctl/impctl
for f in "$DAEMON" "$IMPLOAD" "$SINK" "$IMPCTL"; do
	[ -x "$f" ] || { echo "bench-webhook: $f not built (make in $B)" >&2; exit 1; }
done
total=$((nb * ns))

T=$(mktemp -d "${TMPDIR:-/tmp}/bench-webhook.XXXXXX") || exit 1
DPID='' SPID=''
cleanup() {
	[ -n "$DPID" ] && kill -KILL "-$DPID" 2>/dev/null
	[ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
: >"$T/empty.conf"

"$SINK" -f "$T/sink.port" &
SPID=$!
while [ ! -s "$T/sink.port" ]; do sleep 0.05; done
SINK_URL=http://127.0.0.1:$(cat "$T/sink.port")
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.0f\", $1 }"; }
sink_field() { curl -s "$SINK_URL/count" | sed "s/.*\"$1\": \([0-9.]*\).*/\1/"; }
posts() { sink_field posts; }
counter() {	# counter STATE-DIR NAME
	"$IMPCTL" -d "$1" stats --json | sed -n "1s/.*\"$2\": \([0-9]*\).*/\1/p"
}

# start STATE-DIR FLAGS...: a quiet daemon on a free port, in its own session
start() {
	dir=$1; shift
	port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
	API=http://127.0.0.1:$port
	setsid "$DAEMON" -port="$port" -bind=127.0.0.1 -threads="$threads" \
	    -state-dir="$dir" -config="$T/empty.conf" -quiet $xflags "$@" \
	    >>"$T/daemon.log" 2>&1 &
	DPID=$!
	until curl -s -o /dev/null --max-time 1 "$API/health"; do sleep 0.05; done
}
stop() {
	kill -TERM "$DPID"; wait "$DPID" 2>/dev/null; DPID=
}
load() {
	"$IMPLOAD" -u "$API" -n "$nb" -s "$ns" -p "$np" ${circ:+-k "$circ"} \
	    -c "$conns" -i 1000 -T 600 --no-verify --json >"$T/load.json" ||
	    echo "impload failed" >&2
}
wait_fitted() {	# until state dir $1 has $2 fitted spectra (20 ms resolution)
	while [ "$(counter "$1" spectra_fitted)" -lt "$2" ]; do sleep 0.02; done
}
wait_posts() {	# until the receiver has $1 POSTs (its own clock says when)
	while [ "$(posts)" -lt "$1" ]; do sleep 0.2; done
}

echo "bench-webhook: $nb batches x $ns spectra of $np points${circ:+ ($circ)} = $total, -threads=$threads, $conns connections, $(nproc) CPUs, $rounds rounds${xflags:+, flags: $xflags}"

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: >"$T/off" ; : >"$T/on" ; : >"$T/on_dlv" ; : >"$T/rate" ; : >"$T/wcpu" ; : >"$T/scpu" ; : >"$T/cpur"
hz=$(getconf CLK_TCK)
# cputicks PID: its utime + stime so far (fields 14 and 15 of /proc/PID/stat,
# counted after the ")" that ends the command name)
cputicks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# treeticks: the same summed over the daemon's session (master, workers,
# webhook process: all started by start() under setsid)
treeticks() {
	cat /proc/[0-9]*/stat 2>/dev/null | sed 's/.*) //' |
	    awk -v s="$DPID" '$4 == s { t += $12 + $13 } END { print t + 0 }'
}
r=1
while [ $r -le "$rounds" ]; do
	# 1. webhooks off
	rm -rf "$T/s-off" "$T/s-on" "$T/s-drain"
	start "$T/s-off"
	t0=$(now)
	load &
	wait_fitted "$T/s-off" "$total"
	t1=$(now)
	wait $!
	off=$(calc "$total / ($t1 - $t0)")
	cpu_off=$(treeticks)
	stop

	# 2. webhooks on
	base=$(posts)
	sc0=$(cputicks "$SPID")
	start "$T/s-on" -webhook-url="$SINK_URL/hook"
	t0=$(now)
	load &
	wait_fitted "$T/s-on" "$total"
	t1=$(now)
	wait_posts $((base + total))
	t2=$(sink_field last)
	wait $!
	on=$(calc "$total / ($t1 - $t0)")
	on_dlv=$(calc "$total / ($t2 - $t0)")
	cpu_on=$(($(treeticks) + $(cputicks "$SPID") - sc0))
	# what the throughput ratio would be with every core kept busy: CPU
	# a spectrum, off / on (daemon tree, plus the receiver when on)
	cpu_ratio=$(awk "BEGIN { printf \"%.2f\", $cpu_off / $cpu_on }")
	stop

	# 3. delivery alone: a backlog of $total, then the webhook process runs
	base=$(posts)
	start "$T/s-drain" -webhook-url="$SINK_URL/hook"
	wpid=
	while [ -z "$wpid" ]; do
		wpid=$("$IMPCTL" -d "$T/s-drain" stats --json | python3 -c '
import json, sys
for p in json.load(sys.stdin)["processes"]:
    if p["role"] == "webhook" and p["state"] == "running":
        print(p["pid"]); break')
		[ -n "$wpid" ] || sleep 0.05
	done
	kill -STOP "$wpid" || exit 1
	load
	wait_fitted "$T/s-drain" "$total"
	[ "$(posts)" = "$base" ] || { echo "bench-webhook: webhooks left while stopped" >&2; exit 1; }
	wc0=$(cputicks "$wpid"); sc0=$(cputicks "$SPID")
	t0=$(now)
	kill -CONT "$wpid"
	wait_posts $((base + total))
	t1=$(sink_field last)
	wc1=$(cputicks "$wpid"); sc1=$(cputicks "$SPID")
	rate=$(calc "$total / ($t1 - $t0)")
	# CPU a delivery (utime + stime, kernel's TCP work included), us
	wcpu=$(calc "($wc1 - $wc0) * 1e6 / $hz / $total")
	scpu=$(calc "($sc1 - $sc0) * 1e6 / $hz / $total")
	stop
	echo "round $r: off $off/s; on $on/s (all fitted), $on_dlv/s (last webhook arrived); delivery $rate webhooks/s, CPU a webhook: webhook process $wcpu us, receiver $scpu us; CPU a spectrum off/on $cpu_ratio"
	echo "$off" >>"$T/off"; echo "$on" >>"$T/on"; echo "$on_dlv" >>"$T/on_dlv"; echo "$rate" >>"$T/rate"
	echo "$wcpu" >>"$T/wcpu"; echo "$scpu" >>"$T/scpu"; echo "$cpu_ratio" >>"$T/cpur"
	r=$((r + 1))
done
off=$(median <"$T/off"); on=$(median <"$T/on"); on_dlv=$(median <"$T/on_dlv"); rate=$(median <"$T/rate")
wcpu=$(median <"$T/wcpu"); scpu=$(median <"$T/scpu"); cpur=$(median <"$T/cpur")
echo "medians of $rounds rounds:"
echo "webhooks off: $off spectra/s end to end (all fitted)"
echo "webhooks on:  $on spectra/s end to end (all fitted): $(awk "BEGIN { printf \"%.2f\", $on / $off }") x off (target >= 0.8)"
echo "              $on_dlv spectra/s until the last webhook arrived: $(awk "BEGIN { printf \"%.2f\", $on_dlv / $off }") x off"
echo "delivery:     $rate webhooks/s draining a backlog of $total (one target, kept-alive connections)"
echo "              CPU a webhook: $wcpu us in the webhook process, $scpu us in the receiver"
echo "CPU a spectrum, webhooks off / on (daemon + receiver): $cpur (the on/off ratio if every core were busy)"
echo "{\"spectra\": $total, \"threads\": $threads, \"rounds\": $rounds, \"e2e_off_spectra_per_s\": $off," \
    "\"e2e_on_spectra_per_s\": $on, \"e2e_on_delivered_per_s\": $on_dlv," \
    "\"deliveries_per_s\": $rate, \"webhook_cpu_us\": $wcpu, \"receiver_cpu_us\": $scpu, \"cpu_ratio\": $cpur}"
