#!/bin/sh
# impcore - impfit --linkk (issue 16): the Lin-KK test gives the M, mu and
# residuals of impedance.py's linKK (0b302ca) on the shared spectra, for the
# three fit types with and without the series capacitance.  The reference
# numbers in tests/linkk-ref.jsonl were computed by impedance.py itself
# (not at test time: the tests run offline without it); agreement 1e-6.
. "${IMP_SRCDIR:-$(dirname "$0")/..}/tests/srv-lib.sh"
tmpdir
imp_watchdog 240 t-impfit-linkk
[ -x "$IMPFIT" ] || { echo "no $IMPFIT"; exit 1; }
[ -d "$IMP_SHARED/data" ] || skip "no shared data at $IMP_SHARED/data"

/usr/bin/python3 - "$IMPFIT" "$IMP_SHARED/data" \
    "$IMP_SRCDIR/tests/linkk-ref.jsonl" <<'PY' || fail "Lin-KK against impedance.py"
import json, subprocess, sys
impfit, data, ref = sys.argv[1:4]
bad = 0
for line in open(ref):
    r = json.loads(line)
    args = [impfit, '--linkk', '-f', data + '/' + r['file'], '--json',
            '--fit-type', r['fit_type']] + (['--add-cap'] if r['add_cap'] else [])
    o = json.loads(subprocess.check_output(args))
    d = max([abs(o['mu'] - r['mu'])] +
            [abs(a - b) for a, b in zip(o['residuals_real'], r['residuals_real'])] +
            [abs(a - b) for a, b in zip(o['residuals_imag'], r['residuals_imag'])])
    ps = sum(a * a + b * b for a, b in zip(o['residuals_real'], o['residuals_imag']))
    good = (o['M'] == r['M'] and d <= 1e-6 and
            len(o['residuals_real']) == len(r['residuals_real']) and
            abs(o['pseudo_chi_square'] - ps) <= 1e-9 * max(ps, 1e-300))
    print('%s: %s %s add_cap=%s: M %d (want %d) mu %.9f max|diff| %.2g' %
          ('ok' if good else 'FAIL', r['file'], r['fit_type'], r['add_cap'],
           o['M'], r['M'], o['mu'], d))
    bad += not good
sys.exit(1 if bad else 0)
PY

# Options: --c 0 fixes M at --max-m; bad values are refused (exit 2).
f=$IMP_SHARED/data/impedancepy/exampleData.csv
"$IMPFIT" --linkk -f "$f" --c 0 --max-m 7 --json | grep -q '"M":7,' ||
    fail "--c 0 --max-m 7 does not give M 7"
"$IMPFIT" --linkk -f "$f" --max-m 5 --json | grep -q '"M":5,' ||
    fail "--max-m 5 does not cap M"
"$IMPFIT" --linkk -f "$f" | grep -q '^spectrum 0: Lin-KK real, 66 points: M 22' ||
    fail "text output"
"$IMPFIT" --linkk -f "$f" --fit-type both > /dev/null 2>&1; [ $? -eq 2 ] ||
    fail "--fit-type both accepted"
"$IMPFIT" --linkk -f "$f" --max-m 0 > /dev/null 2>&1; [ $? -eq 2 ] ||
    fail "--max-m 0 accepted"
ok "options"
done_tests
