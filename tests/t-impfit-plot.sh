#!/bin/sh
# impcore - impfit --plot (issue 16): the SVG of a fitted 100-point spectrum
# is well-formed pure SVG under 100 kB with every panel (Nyquist with equal
# axis scales, Bode magnitude and phase, residuals), the model drawn densely
# (more points than measured), SI tick labels, axis titles with units and a
# legend with the circuit and chi-square; headless Chromium renders it to a
# PNG that is not blank.  Several spectra give one file each.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
tmpdir
imp_watchdog 600 t-impfit-plot
[ -x "$IMPFIT" ] || { echo "no $IMPFIT"; exit 1; }

"$IMPFIT" --simulate 'R(QR)(CR)' -v 10,1e-4,0.85,100,1e-6,50 --points 100 \
    --fmin 0.01 --fmax 1e6 --noise 0.005 --seed 7 > "$T/s.txt" ||
    fail "--simulate"
"$IMPFIT" -c 'R(QR)(CR)' -f "$T/s.txt" --linkk --plot "$T/p.svg" > "$T/out" ||
    fail "--plot: exit $?"
[ -s "$T/p.svg" ] || fail "no SVG written"
for s in '<svg xmlns="http://www.w3.org/2000/svg"' 'Z′ (Ω)' '−Z″ (Ω)' \
    'frequency (Hz)' '|Z| (Ω)' '−phase (°)' 'residual (% of |Z|)' \
    'fit R(QR)(CR)' 'χ² = ' '>1k<' '>100k<' 'Lin-KK' '<polyline'; do
	grep -qF -- "$s" "$T/p.svg" || fail "SVG lacks '$s'"
done
# The model is drawn densely: a polyline with more vertices than points.
/usr/bin/python3 - "$T/p.svg" <<'PY' || fail "model not drawn densely"
import re, sys
t = open(sys.argv[1], encoding='utf-8').read()
n = max(len(m.split()) for m in re.findall(r'points="([^"]*)"', t))
print('ok: longest polyline has %d vertices' % n)
sys.exit(0 if n > 200 else 1)
PY
# Equal scales in the Nyquist plot: one ohm as long on both axes.
/usr/bin/python3 - "$T/p.svg" <<'PY' || fail "Nyquist scales differ"
import re, sys
t = open(sys.argv[1], encoding='utf-8').read()
# first panel: its vertical grid lines (x ticks) and horizontal (y ticks)
first = t.split('<clipPath id="c0"')[0]
xs = [float(a) for a in re.findall(r'd="M([0-9.]+) [0-9.]+V', first)]
ys = [float(a) for a in re.findall(r'd="M[0-9.]+ ([0-9.]+)H', first)]
xl = re.findall(r'<text x="[0-9.]+" y="[0-9.]+" text-anchor="middle" font-size="12">([^<]*)<', first)
yl = re.findall(r'text-anchor="end" font-size="12">([^<]*)<', first)
num = lambda s: float(s.replace('−', '-').replace('k', 'e3').replace('m', 'e-3'))
sx = (xs[1] - xs[0]) / (num(xl[1]) - num(xl[0]))
sy = (ys[0] - ys[1]) / (num(yl[1]) - num(yl[0]))
print('ok: Nyquist px per ohm: x %.4f y %.4f' % (sx, sy))
sys.exit(0 if abs(sx - sy) <= 0.01 * sx else 1)
PY
/usr/bin/python3 "$IMP_SRCDIR/tests/svgcheck.py" "$T/p.svg" 100000
case $? in 0) ok "rendered";; 77) skip "no chromium";; *) fail "svgcheck";; esac

# Without a circuit: the measured spectrum alone; CSV with two spectra: two files.
"$IMPFIT" --plot "$T/m.svg" -f "$T/s.txt" > /dev/null || fail "plot alone"
grep -q 'no fit, no Lin-KK' "$T/m.svg" || fail "plot alone: no residual note"
/usr/bin/python3 "$IMP_SRCDIR/tests/svgcheck.py" "$T/m.svg" 100000 > /dev/null ||
    fail "plot alone: svgcheck"
{ echo "Frequency_Hz,Z_real,Z_imag,Spectrum_Number"
  awk '{print $1 "," $2 "," $3 ",1"}' "$T/s.txt"
  awk '{print $1 "," $2 "," $3 ",2"}' "$T/s.txt"; } > "$T/two.csv"
"$IMPFIT" -c 'R(QR)(CR)' -f "$T/two.csv" --plot "$T/two.svg" > /dev/null ||
    fail "two spectra: exit $?"
[ -s "$T/two-1.svg" ] && [ -s "$T/two-2.svg" ] || fail "two spectra: $(ls "$T")"
ok "one file per spectrum"
done_tests
