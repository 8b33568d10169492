#!/bin/sh
# impcore - GET /eis-data/batch/{id}/plot.svg (issue 16): image/svg+xml of
# spectrum N of a batch with the fit once it is done (every kind, default
# all with the DRT), rendered by headless Chromium; bad kind 400, a
# spectrum or batch that does not exist 404, POST 405.  Then impctl batch
# ID --plot DIR writes the same pictures from the state file of the
# stopped server (post-mortem).
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-plot 600
IMPCTL=$IMP_BUILDDIR/src/impctl/impctl

"$PY" - > "$T/batch.json" <<'PYEOF'
import json, math
def z(f):  # R(RC)(RC): 10 + 100 || 1e-5 F + 50 || 1e-2 F
    w = 2 * math.pi * f
    return 10 + 100 / complex(1, w * 100 * 1e-5) + 50 / complex(1, w * 50 * 1e-2)
fs = [10 ** (6 - 8 * i / 99) for i in range(100)]
sp = lambda it: {"iteration": it, "impedance_data": {"frequencies": fs,
    "impedance": [{"real": z(f).real, "imag": z(f).imag} for f in fs]}}
print(json.dumps({"batch_id": "plot-1", "circuit": "R(RC)(RC)",
                  "spectra": [sp(0), sp(1)]}))
PYEOF
srv_start
st=$($CURL -s -o "$T/post" -w '%{http_code}' -d @"$T/batch.json" "$SRV_URL/eis-data/batch")
[ "$st" = 202 ] || srv_bail "POST batch: $st $(cat "$T/post")"
"$PY" - "$SRV_URL/eis-data/batch/plot-1" <<'PYEOF' || srv_fail "batch plot-1 not done"
import json, sys, time, urllib.request
for _ in range(1200):	# 120 s: a loaded machine is slow, a correct server gets there
    d = json.load(urllib.request.urlopen(sys.argv[1], timeout=30))
    if d["done"] + d["failed"] == 2:
        sys.exit(0 if d["done"] == 2 else 1)
    time.sleep(0.1)
sys.exit(1)
PYEOF

U="$SRV_URL/eis-data/batch/plot-1/plot.svg"
$CURL -s -D "$T/h" -o "$T/all.svg" "$U?spectrum=1"
grep -qi '^content-type: image/svg+xml' "$T/h" || srv_fail "content type: $(cat "$T/h")"
head -c 5 "$T/all.svg" | grep -q '<?xml' || srv_fail "not SVG: $(head -c 200 "$T/all.svg")"
for s in 'fit R(RC)(RC)' 'χ² = ' 'τ (s)' 'Z′ (Ω)' '|Z| (Ω)' 'residual'; do
	grep -qF -- "$s" "$T/all.svg" || srv_fail "plot.svg lacks '$s'"
done
"$PY" "$IMP_SRCDIR/tests/svgcheck.py" "$T/all.svg" 100000
case $? in 0) srv_ok "plot.svg renders";; 77) skip "no chromium";; *) srv_fail "svgcheck";; esac
for k in nyquist bode residuals drt; do
	st=$($CURL -s -o "$T/$k.svg" -w '%{http_code}' "$U?kind=$k")
	[ "$st" = 200 ] || srv_fail "kind=$k: $st"
	"$PY" -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' \
	    "$T/$k.svg" || srv_fail "kind=$k: not XML"
done
grep -qF 'τ (s)' "$T/nyquist.svg" && srv_fail "kind=nyquist has the DRT"
grep -qF 'τ (s)' "$T/drt.svg" || srv_fail "kind=drt lacks the DRT"
grep -qF 'Z′ (Ω)' "$T/drt.svg" && srv_fail "kind=drt has the Nyquist plot"
srv_ok "kinds"
for c in "?kind=pie 400" "?spectrum=2 404" "?spectrum=-1 400" "?spectrum=x 400"; do
	set -- $c
	st=$($CURL -s -o "$T/e" -w '%{http_code}' "$U$1")
	[ "$st" = "$2" ] || srv_fail "$1: $st, want $2 ($(cat "$T/e"))"
	grep -q '"error"' "$T/e" || srv_fail "$1: no JSON error: $(cat "$T/e")"
done
st=$($CURL -s -o /dev/null -w '%{http_code}' "$SRV_URL/eis-data/batch/nope/plot.svg")
[ "$st" = 404 ] || srv_fail "unknown batch: $st"
st=$($CURL -s -o /dev/null -w '%{http_code}' -X POST "$U")
[ "$st" = 405 ] || srv_fail "POST plot.svg: $st"
srv_ok "errors"
srv_stop

# Post-mortem: the server is gone, the state file stays.
"$IMPCTL" -d "$STATE" batch plot-1 --plot "$T/pm" > "$T/pm.out" ||
    srv_fail "impctl --plot: exit $? $(cat "$T/pm.out")"
[ -s "$T/pm/plot-1-0.svg" ] && [ -s "$T/pm/plot-1-1.svg" ] ||
    srv_fail "impctl --plot wrote $(ls "$T/pm" 2>&1)"
grep -qF 'fit R(RC)(RC)' "$T/pm/plot-1-1.svg" || srv_fail "impctl --plot: no fit"
"$PY" "$IMP_SRCDIR/tests/svgcheck.py" "$T/pm/plot-1-0.svg" 100000 > /dev/null ||
    srv_fail "impctl --plot: svgcheck"
srv_ok "impctl --plot post-mortem"
srv_done
