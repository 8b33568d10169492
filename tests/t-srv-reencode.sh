#!/bin/sh
# impsolverd, the fallback of the body parser: when the tokenizer (jsmn +
# wrk_jtok.c) refuses a text that jansson accepts, the worker parses
# jansson's re-encoding of it instead (wrk_json.c load()).  That path runs
# only on a tokenizer bug, so IMPCORE_TEST_JTOK_REFUSE makes the tokenizer
# refuse every body; the answers must be those of a normal server, number
# for number, and bad JSON still gets jansson's message.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
srv_init t-srv-reencode 120

# a spectrum with numbers that are hard to carry exactly: integers, short
# and 17-digit decimals, exponents, a subnormal-adjacent value, -0.0, and
# a string with escapes
"$PY" - >"$T/one.json" <<'PYEOF'
import json, math
f = [100000, 31622.776601683792, 10000.0, 3162.2776601683795, 1000, 316.22776601683796,
     100.0, 31.622776601683793, 10, 3.1622776601683795, 1.0, 0.31622776601683794, 0.1]
def z(w):
    return 10.0 + 100.0 / complex(1, 2 * math.pi * w * 100.0 * 1e-5)
d = {"circuit": "R(RC)", "timestamp": "2025-01-01T12:00:00Z",
     "note": "caf\u00e9 \"quoted\" \\ tab\t",
     "frequencies": f,
     "impedance": [{"real": z(w).real, "imag": z(w).imag if i else -0.0} for i, w in enumerate(f)]}
d["impedance"][3]["real"] = 38.000000000000004
d["impedance"][4]["imag"] = -1.5e-3
print(json.dumps(d))
PYEOF
# the batch id written with an escape: "b\u0041tch-1" is bAtch-1
srv_py gen bXtch-1 3 | sed 's/bXtch-1/b\\u0041tch-1/' >"$T/batch.json"
grep -q 'b\\u0041tch-1' "$T/batch.json" || srv_bail "no escape in the batch id"

run() {	# NAME: the sync answer and the batch's results
	st=$($CURL -s -o "$T/$1.one" -w '%{http_code}' -d @"$T/one.json" "$SRV_URL/eis-data")
	[ "$st" = 200 ] || srv_fail "$1: POST /eis-data: $st $(head -c 300 "$T/$1.one")"
	st=$($CURL -s -o /dev/null -w '%{http_code}' -d @"$T/batch.json" "$SRV_URL/eis-data/batch")
	[ "$st" = 202 ] || srv_fail "$1: POST /eis-data/batch: $st"
	srv_py check "$SRV_URL" bAtch-1 3 60 >/dev/null || srv_fail "$1: batch bAtch-1"
	$CURL -s -o "$T/$1.batch" "$SRV_URL/eis-data/batch/bAtch-1"
	st=$($CURL -s -o "$T/$1.bad" -w '%{http_code}' -d '{"spectra": [1, 2,]}' "$SRV_URL/eis-data/batch")
	[ "$st" = 400 ] || srv_fail "$1: bad JSON: $st"
}

srv_start -threads=1
run normal
srv_stop || srv_fail "SIGTERM exit status $?"
rm -rf "$STATE"	# a new state file: the batch is new again
IMPCORE_TEST_JTOK_REFUSE=1 srv_start -threads=1
run reencoded
srv_stop || srv_fail "SIGTERM exit status $?"
n=$(grep -c "the tokenizer refused what jansson accepts; re-encoded" "$T/log")
[ "$n" -ge 2 ] && srv_ok "the fallback ran ($n bodies re-encoded)" || srv_fail "the fallback did not run ($n)"

"$PY" - "$T" <<'PYEOF' || srv_fail "re-encoded answers differ"
import json, sys
t = sys.argv[1]
def load(name, ext):
    return json.load(open("%s/%s.%s" % (t, name, ext)))
SAME = ("parameters", "std_errors", "chi_square", "frequencies", "real_impedance",
        "imaginary_impedance", "element_impedances", "iterations", "fit_status", "circuit_type")
bad = 0
a, b = load("normal", "one"), load("reencoded", "one")
for k in SAME:
    if a.get(k) != b.get(k):
        bad += 1
        print("FAIL: POST /eis-data: %s differs: %r vs %r" % (k, a.get(k), b.get(k)))
a, b = load("normal", "batch"), load("reencoded", "batch")
ra = sorted(a["results"], key=lambda r: r["iteration"])
rb = sorted(b["results"], key=lambda r: r["iteration"])
if len(ra) != 3 or len(rb) != 3:
    bad += 1
    print("FAIL: batch results %d and %d" % (len(ra), len(rb)))
for x, y in zip(ra, rb):
    for k in SAME:
        if x.get(k) != y.get(k):
            bad += 1
            print("FAIL: batch iteration %d: %s differs" % (x["iteration"], k))
a, b = load("normal", "bad"), load("reencoded", "bad")
if a != b:
    bad += 1
    print("FAIL: bad JSON answers differ: %r vs %r" % (a, b))
if not bad:
    print("ok: re-encoded answers equal the normal ones (sync fit of 13 points, a batch of 3, a bad body: %s)" % a["error"])
sys.exit(1 if bad else 0)
PYEOF
srv_done
