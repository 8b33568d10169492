#!/bin/sh
# impcore - impfit --drt (issue 16): on synthetic spectra of known RC and
# ZARC elements the DRT's peaks sit at their time constants (within 0.05
# decade), its area (the integral of gamma over ln tau) equals their
# resistance and R_inf the series resistance (within 1.5 %); gamma >= 0; the
# DRT's own impedance reproduces the spectrum; --lambda is used.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
tmpdir
imp_watchdog 240 t-impfit-drt
[ -x "$IMPFIT" ] || { echo "no $IMPFIT"; exit 1; }

# check FILE R_INF R_POL TAU...: peaks at TAU..., areas and R_inf.
check() {
	"$IMPFIT" --drt -f "$1" --json > "$T/j" || { fail "$1: exit $?"; return; }
	/usr/bin/python3 - "$T/j" "$@" <<'PY' || fail "DRT of $*"
import json, math, sys
o = json.load(open(sys.argv[1]))
rinf, rpol, taus = float(sys.argv[3]), float(sys.argv[4]), [float(t) for t in sys.argv[5:]]
t, g = o['tau'], o['gamma']
area = sum(0.5 * (g[k] + g[k - 1]) * math.log(t[k] / t[k - 1]) for k in range(1, len(t)))
peaks = [t[k] for k in range(1, len(t) - 1) if g[k] > g[k - 1] and g[k] >= g[k + 1] and g[k] > 0.05 * max(g)]
zr, zi = o['real_impedance'], o['imaginary_impedance']
print('R_inf %.4g (want %g) R_pol %.5g area %.5g (want %g) peaks %s (want %s) %.2f ms'
      % (o['R_inf'], rinf, o['R_pol'], area, rpol, ['%.4g' % p for p in peaks], taus, o['drt_ms']))
ok = (abs(o['R_inf'] - rinf) <= 0.015 * rinf and abs(area - rpol) <= 0.015 * rpol and
      abs(o['R_pol'] - rpol) <= 0.015 * rpol and min(g) >= 0 and len(peaks) == len(taus) and
      all(abs(math.log10(p / w)) <= 0.05 for p, w in zip(sorted(peaks), sorted(taus))) and
      len(zr) == o['points'] and o['drt_ms'] < 1000)
sys.exit(0 if ok else 1)
PY
}

# Two RC elements: tau = RC = 1e-3 s and 0.5 s, 150 ohm in all.
"$IMPFIT" --simulate 'R(RC)(RC)' -v 10,100,1e-5,50,1e-2 --points 100 \
    --fmin 0.01 --fmax 1e6 > "$T/rc.txt" || fail "--simulate"
check "$T/rc.txt" 10 150 1e-3 0.5
# A ZARC (R || CPE): tau = (R Y0)^(1/n) = 3.162e-3 s.
"$IMPFIT" --simulate 'R(RQ)' -v 5,100,1e-4,0.8 --points 100 --fmin 0.01 \
    --fmax 1e6 > "$T/zarc.txt" || fail "--simulate"
check "$T/zarc.txt" 5 100 3.1623e-3
# An RC and a ZARC with 0.5 % noise.
"$IMPFIT" --simulate 'R(RC)(RQ)' -v 20,40,1e-6,80,1e-2,0.9 --points 80 \
    --fmin 0.001 --fmax 1e6 --noise 0.005 --seed 5 > "$T/mix.txt" ||
    fail "--simulate"
"$IMPFIT" --drt -f "$T/mix.txt" --json > "$T/j" && /usr/bin/python3 -c '
import json, sys; o = json.load(open(sys.argv[1]))
print("noisy: R_inf %.4g R_pol %.4g" % (o["R_inf"], o["R_pol"]))
sys.exit(0 if abs(o["R_pol"] - 120) < 3.6 and abs(o["R_inf"] - 20) < 1 else 1)' "$T/j" ||
    fail "noisy RC + ZARC: $(head -c 300 "$T/j")"
"$IMPFIT" --drt -f "$T/rc.txt" --lambda 0.5 --json | grep -q '"lambda":0.5,' ||
    fail "--lambda 0.5 not used"
"$IMPFIT" --drt -f "$T/rc.txt" --lambda -1 > /dev/null 2>&1; [ $? -eq 2 ] ||
    fail "--lambda -1 accepted"
"$IMPFIT" --drt -f "$T/rc.txt" | grep -q '^spectrum 0: DRT, 100 points' ||
    fail "text output"
# With --plot the picture gets its DRT panel.
"$IMPFIT" -c 'R(RC)(RC)' -f "$T/rc.txt" --drt --plot "$T/p.svg" > /dev/null &&
    grep -qF 'τ (s)' "$T/p.svg" || fail "--drt --plot: no DRT panel"
ok "options"
done_tests
