#!/bin/sh
# impcore - impedance.py's circuit strings in impfit (issue 15, part 2):
# impedance.py's documented example fitted from the automatic start at least
# as well as impedance.py fits it from its documented initial guess,
# --simulate in both syntaxes, parameters named as impedance.py names them,
# and every new element recovered from noiseless data by an automatic start.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
tmpdir
imp_watchdog 300 t-impfit-pycircuit
[ -x "$IMPFIT" ] || { echo "no $IMPFIT"; exit 1; }
D=$IMP_SRCDIR/tests/data/impedancepy

# impedance.py's getting-started fit: exampleData.csv without the points
# above the x axis (preprocessing.ignoreBelowX), CustomCircuit(...,
# initial_guess=[.01, .01, 100, .01, .05, 100, 1]).fit(f, Z), unity
# weighting.  impedance.py 0b302ca9 (scipy 1.10.1) ends at chi-square
# sum |Z - Zfit|^2 / N = 3.408802049e-07 (DESIGN section 5, unity).
PY_CHI2=3.408802049e-07
EX='R0-p(R1,C1)-p(R2-Wo1,C2)'
"$IMPFIT" -c "$EX" -f "$D/exampleData_ignoreBelowX.3col.txt" -w unity \
    --json > "$T/ex" || fail "example fit: exit $?"
for f in "\"circuit_type\":\"$EX\"" '"points":57' '"fit_status":"ok"' \
    '"element_names":\["R0","R1","C1","R2","Wo1_0","Wo1_1","C2"\]'; do
	grep -q "$f" "$T/ex" || fail "example: lacks $f: $(cat "$T/ex")"
done
chi=$(json_num chi_square < "$T/ex")
if le "$chi" "$PY_CHI2" 1; then
	ok "example: chi-square $chi, impedance.py $PY_CHI2"
else
	fail "example: chi-square $chi worse than impedance.py's $PY_CHI2"
fi

# Blanks are not part of the canonical form; impedance.py's names work
# for --fix and --bound as for constants.
"$IMPFIT" -c " R0 - p(R1, C1) - p(R2 - Wo1, C2) " -f \
    "$D/exampleData_ignoreBelowX.3col.txt" -w unity --fix Wo1_1=100 \
    --bound C2=0.5:5 --json > "$T/fx" || fail "--fix Wo1_1: exit $?"
grep -q "\"circuit_type\":\"$EX\"" "$T/fx" || fail "canonical: $(cat "$T/fx")"
grep -q '"parameters":\[[^]]*,100,[^],]*\]' "$T/fx" ||
    fail "Wo1_1 not held at 100: $(cat "$T/fx")"

# One circuit in both syntaxes: the same spectrum, to the last digit.
"$IMPFIT" --simulate 'R0-p(R1,C1)-p(R2-CPE1,C2)' -v 10,100,1e-5,20,1e-3,0.8,1e-4 \
    > "$T/py" || fail "--simulate impedance.py syntax"
"$IMPFIT" --simulate 'R(RC)((RQ)C)' -v 10,100,1e-5,20,1e-3,0.8,1e-4 \
    > "$T/cdc" || fail "--simulate CDC"
[ -s "$T/py" ] && cmp -s "$T/py" "$T/cdc" && ok "--simulate: both syntaxes" ||
    fail "--simulate: the syntaxes differ"

# Each new element, recovered by a fit from the automatic start.
while read -r code vals; do
	"$IMPFIT" --simulate "$code" -v "$vals" --points 40 --fmin 0.01 \
	    --fmax 1e5 > "$T/s" || { fail "--simulate $code"; continue; }
	"$IMPFIT" -c "$code" -f "$T/s" --json > "$T/j" ||
	    { fail "fit $code: exit $?"; continue; }
	got=$(sed -n 's/.*"parameters":\[\([^]]*\)\].*/\1/p' "$T/j")
	if echo "$vals $got" | awk '{ n = split($1, a, ","); split($2, b, ",");
	    for (i = 1; i <= n; i++) { d = (b[i] - a[i]) / a[i];
	    if (d > 1e-4 || d < -1e-4) exit 1 } }'; then
		ok "$code: recovered"
	else
		fail "$code: true $vals, fitted $got"
	fi
done <<'CASES'
R0-p(R1,C1)-W1 10,100,1e-5,30
R0-p(R1,CPE1)-Wo1 10,100,1e-5,0.85,50,10
R0-p(R1,CPE1)-Ws1 10,100,1e-5,0.85,50,10
L1-R0-p(R1,C1) 1e-6,10,100,1e-5
La1-R0-p(R1,C1) 1e-6,0.8,10,100,1e-5
R0-G1 10,100,1e-3
R0-Gs1 10,100,1e-3,0.5
R0-K1-K2 10,100,1e-3,50,1e-5
R0-Zarc1 10,100,1e-3,0.8
R0-TLMQ1 10,100,1e-3,0.8
R0-T1 10,100,50,2,1e-3
R0-p(R1,C1)-p(R2-Wo1,C2) .01,.01,100,.01,.05,100,1
CASES

# Errors name the column, in impedance.py's syntax too.
"$IMPFIT" -c 'R0-p(R1,X1)' -f "$T/s" > /dev/null 2> "$T/err"
[ $? -eq 2 ] && grep -q "unknown element 'X1' at column 9" "$T/err" &&
    ok "bad element: $(cat "$T/err")" || fail "bad element: $(cat "$T/err")"
done_tests
