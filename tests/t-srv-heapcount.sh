#!/bin/sh
# impsolverd: the lines hsrv reads with evbuffer_readln (chunk sizes, the
# CRLF after each chunk, trailers) come from libevent's allocator, which
# is imp_malloc (mem_install_lib_hooks); they were released with free(), so
# heap_freed_bytes never saw them: the worker's heap in use (allocated -
# freed) grew by every chunk line, and a sampled line stayed "live" in the
# heap profile for ever (issue 13, item 11b).  After many chunked requests
# the worker's count of heap in use comes back to where it was.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-heapcount 120
IMPCTL=$IMP_BUILDDIR/src/impctl/impctl

srv_start -threads=1 -queue-size=64 -results=128
# heap in use by the worker, as its own counters say
inuse() {
	"$IMPCTL" -d "$STATE" stats --json | "$PY" -c '
import json, sys
for p in json.load(sys.stdin)["processes"]:
    if p["role"] == "worker":
        c = p["counters"]
        print(c["heap_alloc_bytes"] - c["heap_freed_bytes"])'
}
chunked() {
	"$PY" - "$SRV_PORT" <<'PYEOF'
import os, socket, sys
sys.path.insert(0, os.environ["IMP_SRCDIR"] + "/tests")
from implib import answer
port = int(sys.argv[1])
# 20 requests of 2000 one-byte chunks: 80000 lines read
body = b"".join(b"1\r\n \r\n" for _ in range(2000)) + b"0\r\nX-Trailer: 1\r\n\r\n"
for _ in range(20):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(b"POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
              b"Connection: close\r\n\r\n" + body)
    st, _, _ = answer(s)
    s.close()
    if st != 405:
        sys.exit("chunked POST /health: %d, want 405" % st)
PYEOF
}
chunked || srv_fail "chunked requests"	# warm up: caches, pools
sleep 0.5
a=$(inuse)
chunked || srv_fail "chunked requests"
sleep 0.5
b=$(inuse)
d=$((b - a))
srv_log "worker heap in use: $a before, $b after 80000 chunk lines"
# a line is 24 bytes or more (malloc_usable_size): 1.9 MB if none is counted freed
[ -n "$a" ] && [ -n "$b" ] && [ "$d" -lt 262144 ] &&
    srv_ok "worker heap in use after 80000 chunk lines: $d bytes more" ||
    srv_fail "worker heap in use grew by $d bytes over 80000 chunk lines"
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
