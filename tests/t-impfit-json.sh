#!/bin/sh
# impcore - impfit --json writes numbers as the server does (issue 17,
# item 11): the shortest text that reads back as the same double
# (0.9938937775257921, not %.17g's 0.99389377752579211), so that impfit's
# and the server's answers for one spectrum compare as text.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
tmpdir
imp_watchdog 120 t-impfit-json
[ -x "$IMPFIT" ] || { echo "no $IMPFIT"; exit 1; }

"$IMPFIT" --simulate 'R(QR)' -v 10 -v 1e-4 -v 0.85 -v 100 --noise 0.01 \
    --seed 3 > "$T/s.txt" || fail "--simulate"
for c in 'R(QR)' 'R(RC)' 'R(Q(RW))'; do
	"$IMPFIT" -c "$c" -f "$T/s.txt" --json >>"$T/j" || fail "$c: exit $?"
done
"$IMPFIT" -c 'R(QR)' -f "$T/s.txt" --linkk --drt --json >>"$T/j" ||
    fail "--linkk --drt: exit $?"
/usr/bin/python3 - "$T/j" <<'PYEOF' && ok "every number of impfit --json is the shortest round trip" || fail "impfit --json numbers"
import json, re, sys
num = re.compile(r'-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?')
def digits(t):
    """significant digits of a number's text"""
    m = t.lstrip("-").lower().split("e")[0].replace(".", "")
    return len(m.strip("0")) or 1
bad, n = [], 0
for line in open(sys.argv[1]):
    json.loads(line)
    # numbers outside strings: drop the strings first
    for tok in num.findall(re.sub(r'"(?:[^"\\]|\\.)*"', '""', line)):
        x = float(tok)
        n += 1
        if float(repr(x)) != x or digits(tok) > digits(repr(x)):
            bad.append("%s (shortest %r)" % (tok, x))
print("# %d numbers, %d longer than needed %s" % (n, len(bad), bad[:5]))
sys.exit(1 if bad or n < 50 else 0)
PYEOF
done_tests
