#!/bin/sh
# impsolverd -log-spectra: the 🔍 worker line can watch a worker's memory
# (issue 17, item 5).  Its delta was +0 bytes on every line (the engine
# allocates nothing while fitting, and it was measured around the fit
# alone); now it spans the spectrum's whole handling, and the line adds
# the process's heap in use and RSS.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-wrkline 120

srv_start -threads=1 -profile -profile-port=0 -quiet=false -log-spectra
srv_py spectrum 3 >"$T/one.json"
for i in 1 2 3 4 5 6 7 8; do
	$CURL -s -o /dev/null --data-binary @"$T/one.json" "$SRV_URL/eis-data"
done
srv_py gen wl 10 30 >"$T/b.json"
$CURL -s -o /dev/null --data-binary @"$T/b.json" "$SRV_URL/eis-data/batch"
srv_py check "$SRV_URL" wl 10 60 >/dev/null || srv_fail "batch wl not fitted"
"$PY" - "$T/log" <<'PYEOF' || srv_fail "the worker lines"
import re, sys
pat = re.compile(r"\U0001F50D Worker\[0\] eis-processing: [0-9.]+ms, memory: ([+-]\d+) bytes, "
                 r"goroutines: \d+, heap: (\d+) bytes, rss: (\d+) bytes$")
lines = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8") if "eis-processing" in l]
m = [pat.search(l) for l in lines]
bad = [l for l, x in zip(lines, m) if x is None]
ok = len(lines) == 18 and not bad
print("%s: %d worker lines (want 18), %d not in the new shape %s" % (
    "ok" if ok else "FAIL", len(lines), len(bad), bad[:2]))
m = [x for x in m if x]
nonzero = sum(1 for x in m if int(x.group(1)) != 0)
ok2 = nonzero >= 8 and all(int(x.group(2)) > 0 and int(x.group(3)) > 1 << 20 for x in m)
print("%s: %d lines with a non-zero delta (the 8 sync spectra at least), heap > 0, rss > 1 MB" % (
    "ok" if ok2 else "FAIL", nonzero))
sys.exit(0 if ok and ok2 else 1)
PYEOF
srv_stop || srv_fail "SIGTERM exit status $?"
srv_done
