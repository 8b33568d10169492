#!/bin/sh
# impcore - t-ctl-top: impctl top under a pseudo-terminal (script(1)) draws
# its frames while the server works, quits on 'q' with status 0 and puts
# the terminal back; SIGTERM does the same; without a terminal, -n N
# prints N plain frames.  Exit 0 pass, 1 fail.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
command -v script >/dev/null || skip "script(1) not installed (bsdutils)"

ctl_init t-ctl-top 120
ctl_start

# some work to watch: a few batches while top runs
srv_py gen - 8 >"$T/b.json"
load() {
	i=0
	while [ $i -lt 6 ]; do
		curl -s -o /dev/null --max-time 10 --data-binary @"$T/b.json" \
		    "http://127.0.0.1:$port/eis-data/batch"
		i=$((i + 1))
		sleep 0.3
	done
}
load &
lpid=$!

# script(1) gives top a terminal; its stdin feeds the keys: 'q' after 3 s
# (script keeps running when its stdin ends)
(sleep 3; printf q) | timeout 30 script -qfec "$IMPCTL -d $STATE top -i 0.5" /dev/null >"$T/tty" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "top quit on 'q' with status 0" || fail "top under script: status $rc"
frames=$(grep -o 'impctl top - ' "$T/tty" | wc -l)
[ "$frames" -ge 4 ] && ok "top drew $frames frames in 3 s at -i 0.5" || fail "top drew $frames frames"
for h in 'requests ' 'spectra ' 'fit time ' 'queue ' 'webhooks ' 'PROCESS' 'CPU%' 'REQ/s' 'worker.0' 'worker.1' 'master ' 'server up'; do
	grep -q "$h" "$T/tty" || fail "top output has no '$h'"
done
grep -q 'FITS/s' "$T/tty" && ok "top output has its headings and processes" ||
    fail "top output has no 'FITS/s'"
grep -qE 'fit time  p50 [0-9.]+(ns|us|ms|s) ' "$T/tty" && ok "top shows fit time percentiles" ||
    fail "no fit time percentiles in top's output"
# the last thing written puts the terminal back: cursor on, main screen
tail -c 64 "$T/tty" | od -c | tr -d ' \n' | grep -q '033\[?25h033\[?1049l' &&
    ok "terminal restored on exit" || fail "top did not restore the terminal"
wait $lpid

# SIGTERM: the same clean exit
timeout 30 script -qfec "$IMPCTL -d $STATE top -i 0.2" /dev/null </dev/null >"$T/tty2" 2>&1 &
spid=$!
wait_for 10 pgrep -f "$IMPCTL -d $STATE top -i 0.2" || fail "top did not start"
sleep 1
# impctl itself, not script(1) running it: in the build tree $IMPCTL is
# libtool's wrapper, which execs .../.libs/impctl (libimpfit is shared)
pkill -TERM -f "^[^ ]*/impctl -d $STATE top -i 0.2"
wait $spid
rc=$?
[ $rc -eq 0 ] && ok "top exits 0 on SIGTERM" || fail "top on SIGTERM: status $rc"
tail -c 64 "$T/tty2" | od -c | tr -d ' \n' | grep -q '033\[?25h033\[?1049l' &&
    ok "terminal restored after SIGTERM" || fail "terminal not restored after SIGTERM"

# no terminal: -n frames, plain text
expect_rc 0 "top -n 3 into a pipe" ctl top -n 3 -i 0.2
n=$(grep -c '^impctl top - ' "$T/out")
[ "$n" -eq 3 ] && ok "3 frames" || fail "$n frames, want 3"
if grep -q "$(printf '\033')" "$T/out"; then fail "escape codes without a terminal"; else ok "no escape codes in a pipe"; fi
expect_rc 2 "top -i 0 is refused" ctl top -i 0
srv_done
