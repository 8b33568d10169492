#!/bin/sh
# impcore - t-srv-corrupt (issue 13, items 2 and 3): a corrupted state file
# crashes nothing, and a truncated one is never silently replaced.
#
# A file holding work (finished results with undelivered webhooks, queued
# and running spectra; the tree killed -9) is copied, and random bytes are
# written over its head, its records or its batches (fixed seeds, plus one
# random seed printed as IMP_FUZZ_SEED=N: rerun with it to reproduce), or
# one record's weighting byte.  On each copy impctl reads everything, the
# server starts and either refuses with a clear message (keeping the file)
# or serves: workers fit what is queued, the webhook process delivers what
# it can, the API renders every batch.  No process may die of a signal.
# Then the file truncated by 4 KB: its queued spectra and undelivered
# webhooks survive (salvaged), the original is kept aside.
# Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
ctl_init t-srv-corrupt 300

: "${IMP_FUZZ_SEED:=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
echo "# IMP_FUZZ_SEED=$IMP_FUZZ_SEED (random seed of this run)"
SEEDS="1 2 3 4 5 6 7 $IMP_FUZZ_SEED"
S=$STATE

# start_any FLAGS: start the daemon; 0 when it serves /health, 1 when it
# exited (status in DRC).  Never bails.
start_any() {
	rm -f "$S/impsolverd.port"
	DPORT= API=
	setsid "$DAEMON" -port=0 -bind=127.0.0.1 -threads=2 \
	    -queue-size=64 -results=128 -state-dir="$S" \
	    -config="$T/empty.conf" "$@" >>"$T/log" 2>&1 &
	DPID=$!
	echo "$DPID" >"$T/daemon.pid"
	n=400
	while [ $n -gt 0 ]; do
		if ! kill -0 "$DPID" 2>/dev/null; then
			wait "$DPID"; DRC=$?; DPID=
			return 1
		fi
		if [ -s "$S/impsolverd.port" ]; then
			API=http://127.0.0.1:$(cat "$S/impsolverd.port")
			[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
			    "$API/health")" = 200 ] && return 0
		fi
		n=$((n - 1))
		sleep 0.05
	done
	fail "daemon neither served nor exited in 20 s"
	return 1
}

# ctl_all LABEL: every impctl reader over the file; none may die of a signal
ctl_all() {
	for c in status "stats -1" "stats --json" batches "batches -a" \
	    "batch fz-a" "batch --json fz-a" "batch fz-b" "batch --json fz-b" \
	    webhooks "webhooks --failed" "history -n 3" "history --json"; do
		# shellcheck disable=SC2086
		"$IMPCTL" -d "$S" $c >"$T/ctl.out" 2>&1
		rc=$?
		if [ $rc -ge 128 ] || grep -qE 'Sanitizer|runtime error' "$T/ctl.out"; then
			fail "$1: impctl $c died (status $rc): $(tail -3 "$T/ctl.out")"
		fi
	done
}

# corrupt FILE SEED MODE: random bytes over a region of the file
corrupt() {
	python3 - "$@" <<'EOF'
import random, struct, sys
path, seed, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rnd = random.Random(seed)
f = open(path, "r+b")
head = f.read(256)
nrec, = struct.unpack_from("<I", head, 60)
nbat, = struct.unpack_from("<I", head, 64)
rec_size, batch_size = struct.unpack_from("<II", head, 84)
off_records, off_batches = struct.unpack_from("<QQ", head, 128)
def scribble(lo, hi, k):
    for _ in range(k):
        o = rnd.randrange(lo, hi)
        f.seek(o)
        f.write(bytes(rnd.randrange(256) for _ in range(rnd.choice((1, 1, 2, 4, 8)))))
if mode == "head":
    scribble(32, 256, rnd.randrange(1, 4))	# past the magic: that one is refused plainly
elif mode == "records":
    # the records in use are the first ones (low indexes first)
    scribble(off_records, off_records + 64 * rec_size, rnd.randrange(4, 40))
elif mode == "batches":
    scribble(off_batches, off_batches + 8 * batch_size, rnd.randrange(2, 12))
elif mode == "weighting":
    f.seek(off_records + 57)		# record 0's weighting byte
    f.write(bytes([200 + rnd.randrange(50)]))
f.close()
EOF
}

# 1. a file holding work: results whose webhooks fail (500), then spectra
#    queued and running when the whole tree is killed
sink_start --mode-file "$T/sink.mode"
echo 500 >"$T/sink.mode"
HOOK="-webhook-url=http://127.0.0.1:$SPORT/hook"
start_any "$HOOK" -quiet || { fail "first start (status $DRC)"; exit 1; }
batch_body fz-a 6 >"$T/a.json"
batch_body fz-b 10 >"$T/b.json"
[ "$(post /eis-data/batch "$T/a.json")" = 202 ] || { fail "batch a"; exit 1; }
a_done() { "$IMPCTL" -d "$S" batch fz-a | grep -q '^batch fz-a: completed'; }
wait_until 30 a_done || { fail "batch a not fitted"; exit 1; }
daemon_term 20 || fail "first stop"
IMPCORE_TEST_FIT_DELAY_US=4000000 start_any "$HOOK" -quiet || { fail "second start"; exit 1; }
[ "$(post /eis-data/batch "$T/b.json")" = 202 ] || { fail "batch b"; exit 1; }
running() { "$IMPCTL" -d "$S" batch fz-b | grep -q ' running '; }
wait_until 20 running || fail "batch b never running"
daemon_kill9
cp "$S/impsolverd.state" "$T/pristine"
ok "a file holding work: $("$IMPCTL" -d "$S" batches | tail -n 2 | tr '\n' ' ')"
echo 200 >"$T/sink.mode"

# 2. corrupted copies
for seed in $SEEDS; do
	for mode in head records batches weighting; do
		[ "$mode" = weighting ] && [ "$seed" != 1 ] && continue
		rm -rf "$S"; mkdir -p "$S"; chmod 750 "$S"
		cp "$T/pristine" "$S/impsolverd.state"
		corrupt "$S/impsolverd.state" "$seed" "$mode"
		label="seed $seed, $mode"
		ctl_all "$label (before)"
		rm -f "$T/log"
		if start_any "$HOOK" -quiet; then
			# fits, deliveries, and every batch rendered
			for b in fz-a fz-b; do
				curl -s -o "$T/b.out" -w '%{http_code}' --max-time 30 \
				    "$API/eis-data/batch/$b" >"$T/b.code"
				case $(cat "$T/b.code") in
				200) python3 -c 'import json,sys; json.load(open(sys.argv[1]))' \
				    "$T/b.out" || fail "$label: batch $b: not JSON";;
				404) [ "$mode" = weighting ] && fail "$label: batch $b lost";;
				*) fail "$label: GET batch $b: HTTP $(cat "$T/b.code")";;
				esac
			done
			if [ "$mode" = weighting ]; then
				curl -s --max-time 30 "$API/eis-data/batch/fz-a" |
				    grep -q '"error":"corrupt record quarantined"' &&
				    ok "$label: that spectrum is failed: corrupt record quarantined" ||
				    fail "$label: the corrupt spectrum is not shown quarantined"
			fi
			settled() { [ "$(curl -s --max-time 5 "$API/health" |
			    python3 -c 'import json,sys; print(json.load(sys.stdin)["queue_depth"])')" = 0 ]; }
			wait_until 30 settled || fail "$label: queue not drained"
			sleep 0.5	# the webhook process renders and delivers
			ctl_all "$label (serving)"
			daemon_term 20 || fail "$label: SIGTERM: status $DRC"
			what="served"
		else
			if [ "$DRC" -ge 128 ]; then
				fail "$label: master died of a signal ($DRC)"
			elif grep -q 'state file' "$T/log"; then
				what="refused: $(grep -m1 'state file' "$T/log" | sed 's/.*master: //' | cut -c1-150)"
			else
				fail "$label: exited $DRC without saying why"
			fi
			ls "$S" | grep -q '^impsolverd.state' ||
			    fail "$label: the state file is gone"
		fi
		if grep -E 'killed by signal|Sanitizer|runtime error' "$T/log"; then
			fail "$label: a process died"
		fi
		ok "$label: $what"
	done
done

# 3. truncated by 4 KB: salvaged, the original kept aside
rm -rf "$S"; mkdir -p "$S"; chmod 750 "$S"
cp "$T/pristine" "$S/impsolverd.state"
size=$(stat -c %s "$S/impsolverd.state")
truncate -s $((size - 4096)) "$S/impsolverd.state"
echo 500 >"$T/sink.mode"	# keep the webhooks undelivered, to count them
start_any "$HOOK" -quiet || { fail "truncated file: not started (status $DRC)"; cat "$T/log"; exit 1; }
aside=$(ls "$S" | grep '^impsolverd.state.corrupt-')
[ -n "$aside" ] && [ "$(stat -c %s "$S/$aside")" = $((size - 4096)) ] &&
    ok "the truncated file kept as $aside" || fail "no truncated file aside: $(ls "$S")"
grep -q "truncated ($((size - 4096)) of $size bytes): salvaging" "$T/log" &&
    ok "the log says so" || fail "no log line about the truncation"
python3 - "$API" <<'EOF' || fail "salvaged content"
import json, os, sys, urllib.request
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import check, done
def get(b):
    return json.load(urllib.request.urlopen(sys.argv[1] + "/eis-data/batch/" + b, timeout=30))
a, b = get("fz-a"), get("fz-b")
check(a["spectra"] == 6 and a["done"] == 6, "batch a: 6 results kept (%d done)" % a["done"])
check(b["spectra"] == 10, "batch b: 10 spectra kept (%d)" % b["spectra"])
done()
EOF
c=$("$IMPCTL" -d "$S" webhooks | grep -E '^[0-9]+ pending')
case $c in [1-9]*" pending"*) ok "undelivered webhooks kept: $c";; *) fail "webhooks: $c";; esac
daemon_term 20 || fail "truncated: SIGTERM: status $DRC"

# 4. a layout mismatch with pending work is refused, without it set aside
rm -rf "$S"; mkdir -p "$S"; chmod 750 "$S"
cp "$T/pristine" "$S/impsolverd.state"
printf '\004' | dd of="$S/impsolverd.state" bs=1 seek=8 conv=notrunc 2>/dev/null
if start_any "$HOOK" -quiet; then
	fail "layout 4 file with pending work: started"
	daemon_term 20
else
	grep -q "layout version 4 (this program: 5), and it holds [0-9]* pending" "$T/log" &&
	    ok "layout 4 with pending work: refused" || fail "layout 4: $(tail -2 "$T/log")"
	cmp -s "$T/pristine" "$S/impsolverd.state" ||
	    [ "$(od -An -tu1 -j8 -N1 "$S/impsolverd.state" | tr -d ' ')" = 4 ] &&
	    ok "and left untouched" || fail "layout 4 file changed"
fi
# the same without pending work (the prefix's count zeroed): set aside
dd if=/dev/zero of="$S/impsolverd.state" bs=1 seek=24 count=8 conv=notrunc 2>/dev/null
rm -f "$T/log"
if start_any "$HOOK" -quiet; then
	ls "$S" | grep -q '^impsolverd.state.layout4-' && ok "layout 4 without pending work: set aside, started afresh" ||
	    fail "layout 4 without pending work: not set aside: $(ls "$S")"
	daemon_term 20
else
	fail "layout 4 without pending work: refused: $(tail -2 "$T/log")"
fi

no_sanitizer_reports
done_tests
