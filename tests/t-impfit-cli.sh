#!/bin/sh
# impcore - impfit on the command line: JSON fields, text output, the CSV
# layout with Spectrum_Number, and one-line errors with exit status 2 for
# bad files (naming file and line) and bad codes (naming the column).
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
tmpdir
imp_watchdog 240 t-impfit-cli
[ -x "$IMPFIT" ] || { echo "no $IMPFIT"; exit 1; }

# expect_err STATUS PATTERN CMD...: CMD exits STATUS with PATTERN on stderr.
expect_err() {
	want=$1 pat=$2
	shift 2
	"$@" > "$T/out" 2> "$T/err"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$*: exit $rc, want $want ($(cat "$T/err"))"
	elif ! grep -q -- "$pat" "$T/err"; then
		fail "$*: stderr '$(cat "$T/err")' lacks '$pat'"
	elif [ "$(wc -l < "$T/err")" -ne 1 ]; then
		fail "$*: error is not one line: $(cat "$T/err")"
	else
		ok "$*: $(cat "$T/err")"
	fi
}

"$IMPFIT" --help | grep -q '^usage: impfit' || fail "--help"

# A synthetic spectrum and its fit, as JSON.
"$IMPFIT" --simulate 'R(QR)' -v 10 -v 1e-4 -v 0.85 -v 100 --noise 0.01 \
    --seed 3 > "$T/s.txt" || fail "--simulate"
[ "$(wc -l < "$T/s.txt")" -eq 50 ] || fail "--simulate: not 50 lines"
"$IMPFIT" -c 'r(qr)' -f "$T/s.txt" --json > "$T/j" || fail "fit: exit $?"
[ "$(wc -l < "$T/j")" -eq 1 ] || fail "one JSON line per spectrum"
for f in '"spectrum":0' '"circuit_type":"R(QR)"' \
    '"method":"levenberg-marquardt"' '"weighting":"modulus"' '"points":50' \
    '"element_names":\["R0","Q0.Y0","Q0.n","R1"\]' '"parameters":\[' \
    '"std_errors":\[' '"chi_square":' '"iterations":' '"evaluations":' \
    '"fit_status":"ok"' '"fit_ms":'; do
	grep -q "$f" "$T/j" || fail "JSON lacks $f: $(cat "$T/j")"
done
/usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' \
    < "$T/j" 2>/dev/null || fail "not valid JSON: $(cat "$T/j")"
ok "JSON fields"

# Text output, Nelder-Mead, the other weightings.
"$IMPFIT" -c 'R(QR)' -f "$T/s.txt" > "$T/t" || fail "text: exit $?"
grep -q 'Q0.n' "$T/t" && grep -q 'fit_status ok' "$T/t" &&
    grep -q 'chi_square' "$T/t" || fail "text output: $(cat "$T/t")"
"$IMPFIT" -c 'R(QR)' -f "$T/s.txt" -m nm -w unity --json > "$T/j" &&
    grep -q '"method":"nelder-mead","weighting":"unity"' "$T/j" ||
    fail "-m nm -w unity: $(cat "$T/j")"
"$IMPFIT" -c 'R(QR)' -f "$T/s.txt" -w proportional --max-iterations 1 \
    --json > "$T/j" && grep -q '"fit_status":"max_iterations"' "$T/j" ||
    fail "--max-iterations 1: $(cat "$T/j")"

# A model with a redundant parameter: standard errors undefined -> null,
# never nan or inf in JSON.
"$IMPFIT" -c 'RR(QR)' -f "$T/s.txt" --json > "$T/j"
grep -q 'null' "$T/j" || fail "singular covariance: no null: $(cat "$T/j")"
grep -qiE 'nan|inf' "$T/j" && fail "nan/inf in JSON: $(cat "$T/j")"

# The CSV layout: one fit per Spectrum_Number, in order of appearance.
"$IMPFIT" --simulate 'R(CR)' -v 10,1e-5,100 --points 30 > "$T/a"
"$IMPFIT" --simulate 'R(CR)' -v 20,1e-6,300 --points 40 > "$T/b"
{
	echo "Frequency_Hz,Z_real,Z_imag,Spectrum_Number"
	awk '{ print $1 "," $2 "," $3 ",7" }' "$T/a"
	awk '{ print $1 "," $2 "," $3 ",3" }' "$T/b"
} > "$T/m.csv"
"$IMPFIT" -c 'R(CR)' -f "$T/m.csv" --json > "$T/j" || fail "csv: exit $?"
[ "$(wc -l < "$T/j")" -eq 2 ] || fail "csv: $(cat "$T/j")"
sed -n 1p "$T/j" | grep -q '"spectrum":7,.*"points":30' || fail "csv 1"
sed -n 2p "$T/j" | grep -q '"spectrum":3,.*"points":40' || fail "csv 2"
sed -n 2p "$T/j" | grep -qE '"parameters":\[(19\.9999|20\.0000)' ||
    fail "csv 2 fit: $(sed -n 2p "$T/j")"
ok "CSV layout"
# exampleData.csv has no header: plain 3 columns, separated by commas.
"$IMPFIT" -c 'R(QR)' -f "$IMP_SRCDIR/tests/data/impedancepy/exampleData.csv" \
    --json | grep -q '"points":66' || fail "exampleData.csv: not 66 points"

# Bad files: exit 2, one line naming file and line.
printf '# header\nfreq re im\n1e3 10 -1\n1e2 abc -2\n' > "$T/bad1"
expect_err 2 "$T/bad1:4: text: expected a number in column 2 (Z'), found 'abc'" \
    "$IMPFIT" -c 'R(CR)' -f "$T/bad1"
printf '1e3 10 -1\n1e2 11 nan\n' > "$T/bad2"
expect_err 2 "$T/bad2:2: text: expected a number in column 3 (Z''), found 'nan'" "$IMPFIT" -c 'R(CR)' -f "$T/bad2"
printf '1e3;10;-1\n0;11;-2\n' > "$T/bad3"
expect_err 2 "$T/bad3:2: text: expected a frequency > 0 in column 1, found 0" \
    "$IMPFIT" -c 'R(CR)' -f "$T/bad3"
printf '1e3 10 -1\n-5 11 -2\n' > "$T/bad4"
expect_err 2 "$T/bad4:2: text: expected a frequency > 0 in column 1, found -5" \
    "$IMPFIT" -c 'R(CR)' -f "$T/bad4"
printf '1e3 10 -1\n100 11\n' > "$T/bad5"
expect_err 2 "$T/bad5:2: text: 2 columns, expected 3 (Z'' in column 3)" "$IMPFIT" -c 'R(CR)' -f "$T/bad5"
printf 'Frequency_Hz,Z_real,Z_imag,Spectrum_Number\n1e3,10,-1,1\n1e2,1,-1\n' \
    > "$T/bad6"
expect_err 2 "$T/bad6:3: text: 3 columns, expected 4 (Spectrum_Number in column 4)" "$IMPFIT" -c 'R(CR)' -f "$T/bad6"
printf 'Frequency_Hz,Z_real,Z_imag,Spectrum_Number\n1e3,10,-1,x\n' > "$T/bad7"
expect_err 2 "$T/bad7:2: text: expected a number in column 4 (Spectrum_Number), found 'x'" \
    "$IMPFIT" -c 'R(CR)' -f "$T/bad7"
: > "$T/empty"
expect_err 2 "$T/empty: empty file" "$IMPFIT" -c 'R(CR)' -f "$T/empty"
printf '# only\n# comments\n' > "$T/nodata"
expect_err 2 "$T/nodata: text: expected rows of numbers" "$IMPFIT" -c 'R(CR)' -f "$T/nodata"
expect_err 2 "$T/missing: No such file" "$IMPFIT" -c 'R(CR)' -f "$T/missing"
head -3 "$T/s.txt" > "$T/few"
expect_err 2 "3 points are too few for 4 parameters" \
    "$IMPFIT" -c 'R(QR)' -f "$T/few"

# Bad codes: exit 2, naming the column.
expect_err 2 "missing ')' for '(' at column 2" "$IMPFIT" -c 'R(QR' -f "$T/s.txt"
expect_err 2 "unbalanced ')' at column 6" "$IMPFIT" -c 'R(QR))' -f "$T/s.txt"
expect_err 2 "unknown element 'X' at column 3" "$IMPFIT" -c 'R(X)' -f "$T/s.txt"
expect_err 2 "empty circuit code" "$IMPFIT" -c '' -f "$T/s.txt"

# Bad initial values and options.
expect_err 2 "R(QR) has 4 parameters, -v gave 3" \
    "$IMPFIT" -c 'R(QR)' -f "$T/s.txt" -v 1,2,3
expect_err 2 "initial value 3 (Q0.n) is not in (0, 1]" \
    "$IMPFIT" -c 'R(QR)' -f "$T/s.txt" -v 10,1e-4,2,100
expect_err 2 "initial value 1 (R0) is not positive" \
    "$IMPFIT" -c 'R(QR)' -f "$T/s.txt" -v -10,1e-4,0.5,100
expect_err 2 "unknown weighting 'square'" \
    "$IMPFIT" -c 'R(QR)' -f "$T/s.txt" -w square
done_tests
