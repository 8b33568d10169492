#!/usr/bin/env python3
"""impcore - compare what `impfit --read` wrote (CSV: Frequency_Hz, Z_real,
Z_imag, Spectrum_Number) with the expected points: a 3-column conversion
made by impedance.py's readers (printed to 10 significant digits: compared
to a relative 1e-9), or a NAME.expect.csv of our own (compared to 1e-12,
the |Z|/phase conversions' rounding; the rest is exact).  Prints the first
differences; exit 0 when all points agree."""
import sys


def load(path):
    rows = []
    with open(path) as fp:
        for line in fp:
            line = line.strip()
            if not line or line.startswith('#') or line.startswith('Frequency_Hz'):
                continue
            rows.append([float(x) for x in line.replace(',', ' ').split()])
    return rows


def main():
    got, want = load(sys.argv[1]), load(sys.argv[2])
    tol = 1e-9 if sys.argv[2].endswith('.3col.txt') else 1e-12
    bad = 0
    if len(got) != len(want):
        print('%d points, expected %d' % (len(got), len(want)))
        return 1
    for i, (g, w) in enumerate(zip(got, want)):
        for k in range(min(len(w), 4)):
            a, b = g[k], w[k]
            if abs(a - b) > tol * max(abs(a), abs(b)):
                bad += 1
                if bad <= 5:
                    print('point %d column %d: %r, expected %r' % (i, k + 1, a, b))
    return 1 if bad else 0


sys.exit(main())
