#!/bin/sh
# impcore - t-srv-sdnotify: readiness for systemd (Type=notify).  A real
# unix datagram socket is $NOTIFY_SOCKET: impsolverd sends READY=1 only
# once the workers answer (the listener asks /health the moment READY=1
# arrives), RELOADING=1 then READY=1 around a SIGHUP, and STOPPING=1 on
# SIGTERM.  Without $NOTIFY_SOCKET nothing changes (every other test).
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-sdnotify 120

# the listener: each datagram on a line, READY=1 followed by the status
# /health gave at that moment; ends at STOPPING=1 (or after 90 s)
sock=$T/notify
"$PY" - "$sock" "$STATE/impsolverd.port" >"$T/msgs" 2>&1 <<'PYEOF' &
import os, socket, sys, time, urllib.request
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(90)
open(sys.argv[1] + ".up", "w").close()
while True:
    try:
        m = s.recv(4096).decode()
    except socket.timeout:
        print("timeout"); break
    line = m.replace("\n", " ")
    if "READY=1" in m:
        try:
            port = open(sys.argv[2]).read().strip()
            st = urllib.request.urlopen("http://127.0.0.1:%s/health" % port, timeout=5).status
        except Exception as e:
            st = "error %s" % e
        line += " health=%s" % st
    print(line, flush=True)
    if "STOPPING=1" in m:
        break
PYEOF
lpid=$!
for i in $(seq 1 100); do [ -e "$sock.up" ] && break; sleep 0.1; done

# msgs_have N: the listener has printed N lines
msgs_have() {
	for i in $(seq 1 300); do
		[ "$(wc -l <"$T/msgs")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

export NOTIFY_SOCKET="$sock"
srv_start -threads=2
unset NOTIFY_SOCKET
msgs_have 1 || srv_fail "no READY=1 in 30 s"
[ "$(sed -n 1p "$T/msgs")" = "READY=1 health=200" ] &&
    srv_ok "READY=1 once the workers answer: $(sed -n 1p "$T/msgs")" ||
    srv_fail "first message: $(sed -n 1p "$T/msgs")"

kill -HUP "$SRV_PID"
msgs_have 3 || srv_fail "no RELOADING=1 and READY=1 after SIGHUP in 30 s: $(cat "$T/msgs")"
sed -n 2p "$T/msgs" | grep -qE '^RELOADING=1 MONOTONIC_USEC=[0-9]+ ?$' &&
    [ "$(sed -n 3p "$T/msgs")" = "READY=1 health=200" ] &&
    srv_ok "SIGHUP: $(sed -n 2p "$T/msgs"), then $(sed -n 3p "$T/msgs")" ||
    srv_fail "around SIGHUP: $(sed -n 2,3p "$T/msgs")"

srv_stop || srv_fail "SIGTERM exit status $?"
msgs_have 4 || true
[ "$(sed -n 4p "$T/msgs")" = "STOPPING=1" ] && srv_ok "STOPPING=1 on SIGTERM" ||
    srv_fail "on SIGTERM: $(sed -n 4p "$T/msgs")"
[ "$(wc -l <"$T/msgs")" -eq 4 ] || srv_fail "messages: $(cat "$T/msgs")"
wait "$lpid"
srv_done
