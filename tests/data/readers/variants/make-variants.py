#!/usr/bin/env python3
# Writes the variant files of tests/data/readers/variants and, for each,
# NAME.expect.csv: what impfit --read must give (the numbers as written,
# so the comparison is exact but for |Z|/phase, compared to 1e-12).
# The spectrum: R0 + R1 || C1 (10 ohm, 100 ohm, 10 uF), 12 points, with
# a second and third spectrum of other parameters.  Run it here to
# rewrite the files (impcore's own, same licence as the code).
import cmath, math

def spectrum(r0, r1, c1, n=12, fmax=1e5, fmin=0.1):
    out = []
    for i in range(n):
        f = float('%.6g' % (fmax * (fmin / fmax) ** (i / (n - 1))))
        z = r0 + r1 / (1 + 2j * math.pi * f * r1 * c1)
        out.append((f, float('%.8g' % z.real), float('%.8g' % z.imag)))
    return out

S = [spectrum(10, 100, 1e-5), spectrum(12, 80, 2e-5), spectrum(9, 150, 5e-6)]

def expect(name, specs, numbers=None):
    with open(name + '.expect.csv', 'w') as fp:
        fp.write('Frequency_Hz,Z_real,Z_imag,Spectrum_Number\n')
        for k, sp in enumerate(specs):
            for f, re, im in sp:
                fp.write('%r,%r,%r,%d\n' % (f, re, im, numbers[k] if numbers else k))

def g(x):
    return repr(x)

def comma(x):
    return repr(x).replace('.', ',')

def write(name, text):
    with open(name, 'w', newline='') as fp:
        fp.write(text)

s = S[0]
write('comma-header.csv', "f,Z',Z''\n" + ''.join('%s,%s,%s\n' % (g(f), g(a), g(b)) for f, a, b in s))
expect('comma-header.csv', [s])
write('tab-negim.tsv', "# exported by a test\nfreq\tZre\t-Zim\n" + ''.join('%s\t%s\t%s\n' % (g(f), g(a), g(-b)) for f, a, b in s))
expect('tab-negim.tsv', [s])
write('semicolon-deccomma.csv', "Frequency_Hz;Re(Z);-Im(Z)\r\n" + ''.join('%s;%s;%s\r\n' % (comma(f), comma(a), comma(-b)) for f, a, b in s))
expect('semicolon-deccomma.csv', [s])
write('spaces-units.txt', "Measured on a test cell\n\n  f (Hz)     real (Ohm)     imaginary (Ohm)\n" + ''.join('  %s   %s   %s\n' % (g(f), g(a), g(b)) for f, a, b in s))
expect('spaces-units.txt', [s])
write('tab-deccomma.txt', "Frequency\tZ'\tZ''\n" + ''.join('%s\t%s\t%s\n' % (comma(f), comma(a), comma(b)) for f, a, b in s))
expect('tab-deccomma.txt', [s])
# |Z| and phase (degrees), and -phase
mp = [(f, abs(complex(a, b)), math.degrees(cmath.phase(complex(a, b)))) for f, a, b in s]
write('modphase.csv', "Frequency (Hz),|Z| (Ohm),Phase (deg)\n" + ''.join('%r,%r,%r\n' % t for t in mp))
expect('modphase.csv', [s])
write('modphase-neg.csv', "frequency,|Z|,-phase\n" + ''.join('%r,%r,%r\n' % (f, m, -p) for f, m, p in mp))
expect('modphase-neg.csv', [s])
write('quoted-header.csv', '"Freq (Hz)","Z\' (Ohm)","Z\'\' (Ohm)","Time (s)"\n' + ''.join('%s,%s,%s,%d\n' % (g(f), g(a), g(b), i) for i, (f, a, b) in enumerate(s)))
expect('quoted-header.csv', [s])
# several spectra: Spectrum_Number (numbers kept), repeated sweeps,
# repeated headers, interleaved numbers
rows = ''.join('%s,%s,%s,%d\n' % (g(f), g(a), g(b), n) for n, sp in ((3, S[0]), (4, S[1]), (7, S[2])) for f, a, b in sp)
write('multi-number.csv', 'Frequency_Hz,Z_real,Z_imag,Spectrum_Number\n' + rows)
expect('multi-number.csv', S, [3, 4, 7])
write('multi-sweeps.txt', ''.join('%s %s %s\n' % (g(f), g(a), g(b)) for sp in S for f, a, b in sp))
expect('multi-sweeps.txt', S)
write('multi-headers.csv', ''.join("freq,Zre,Zim\n" + ''.join('%s,%s,%s\n' % (g(f), g(a), g(b)) for f, a, b in sp) + '\n' for sp in S))
expect('multi-headers.csv', S)
# a BioLogic file of two loops ("cycle number"), decimal commas, an OCV
# row (frequency 0) first
hdr = ['EC-Lab ASCII FILE', 'Nb header lines : 6', '', 'Potentio Electrochemical Impedance Spectroscopy', '']
cols = 'freq/Hz\tRe(Z)/Ohm\t-Im(Z)/Ohm\t|Z|/Ohm\tPhase(Z)/deg\ttime/s\tcycle number\t'
lines = hdr + [cols, '0,0000000E+000\t0,0000000E+000\t0,0000000E+000\t0\t0\t0,5\t1,000000000000000E+000\t']
for cyc, sp in ((1, S[0]), (2, S[1])):
    for f, a, b in sp:
        lines.append('\t'.join([comma(f), comma(a), comma(-b), '0', '0', '1,5', comma(float(cyc))]) + '\t')
write('biologic-loops.mpt', '\r\n'.join(lines) + '\r\n')
expect('biologic-loops.mpt', S[:2])
# a drift-corrected Gamry table: Zreal/Zimag corrected, then the
# uncorrected pair (ZrealU/ZimagU, our reading of the layout)
g2 = ['EXPLAIN', 'TAG\tEISPOT', 'DRIFTCOR\tTOGGLE\tT\tDrift Correction', 'ZCURVE\tTABLE',
      '\tPt\tTime\tFreq\tZreal\tZimag\tZsig\tZmod\tZphz\tIdc\tVdc\tIERange\tZrealU\tZimagU',
      '\t#\ts\tHz\tohm\tohm\tV\tohm\t\xb0\tA\tV\t#\tohm\tohm']
for i, ((f, a, b), (f2, a2, b2)) in enumerate(zip(S[0], S[1])):
    g2.append('\t%d\t%d\t%s\t%s\t%s\t1\t0\t0\t0\t0\t7\t%s\t%s' % (i, i, g(f), g(a), g(b), g(a2), g(b2)))
g2.append('EXPERIMENTABORTED\tTOGGLE\tF\tExperiment Aborted')
write('gamry-drift.DTA', '\r\n'.join(g2) + '\r\n')
expect('gamry-drift.DTA', [S[0], [(f, a2, b2) for (f, a, b), (f2, a2, b2) in zip(S[0], S[1])]])
# UTF-16 little endian with a byte order mark (as Windows tools save)
text = "Frequency\tZ'\tZ''\r\n" + ''.join('%s\t%s\t%s\r\n' % (g(f), g(a), g(b)) for f, a, b in s)
with open('utf16.txt', 'wb') as fp:
    fp.write(b'\xff\xfe' + text.encode('utf-16-le'))
expect('utf16.txt', [s])

# broken files: NAME.error holds a part of the message
def broken(name, text, msg):
    write(name, text)
    write(name + '.error', msg + '\n')
broken('broken-number.csv', "f,Z',Z''\n1000,10,-5\n100,10,abc\n", ":3: text: expected a number in column 3 (Z''), found 'abc'")
broken('broken-columns.csv', "1000,10,-5\n100,10\n", ":2: text: 2 columns, expected 3")
broken('broken-freq.csv', "f,Z',Z''\n1000,10,-5\n-100,10,-3\n", ":3: text: expected a frequency > 0 in column 1")
broken('broken-gamry.DTA', "EXPLAIN\r\nTAG\tEISPOT\r\nZCURVE\tTABLE\r\n\tPt\tTime\tFreq\tZreal\tZimag\r\n\t#\ts\tHz\tohm\tohm\r\n\t0\t1\t1000\t10\t-5\r\n\t1\t2\t100\t10\r\n", ":7: gamry ZCURVE: 5 columns, expected 6 (Z'' in column 6)")
broken('broken-mpt.mpt', "EC-Lab ASCII FILE\nNb header lines : 40\n\nPEIS\n", "biologic: the file ends inside its 40 header lines")
