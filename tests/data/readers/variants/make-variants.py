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
# a drift-corrected Gamry table as Framework 7.9 writes it (checked
# against a public example file, pyimpspec's tests/drift-corrected-data.dta,
# not copied): DRIFTCOR SELECTOR 1, an OCVCURVE table first, Zreal/Zimag
# measured and ZrealDrCor/ZimagDrCor corrected, decimal commas, Latin-1;
# the corrected spectrum comes first
g2 = ['EXPLAIN', 'TAG\tEISPOT', 'DRIFTCOR\tSELECTOR\t1\t&Drift Correction',
      'OCVCURVE\tTABLE\t2', '\tPt\tT\tVf\tVm\tAch\tOver\tTemp', '\t#\ts\tV vs. Ref.\tV\tV\tbits\tdeg C',
      '\t0\t0,1\t0,36\t0,36\t0\t...........\t0', '\t1\t0,2\t0,36\t0,36\t0\t...........\t0',
      'ZCURVE\tTABLE',
      '\tPt\tTime\tFreq\tZreal\tZimag\tZsig\tZmod\tZphz\tZrealDrCor\tZimagDrCor\tZmodDrCor\tZphzDrCor\tIdc\tVdc\tIERange',
      '\t#\ts\tHz\tohm\tohm\tV\tohm\t\xb0\tohm\tohm\tohm\t\xb0\tA\tV\t#']
for i, ((f, a, b), (f2, a2, b2)) in enumerate(zip(S[0], S[1])):
    g2.append('\t%d\t%d\t%s\t%s\t%s\t1\t0\t0\t%s\t%s\t0\t0\t1,848949E-009\t0,3692144\t7' % (i, 2 * i, comma(f), comma(a2), comma(b2), comma(a), comma(b)))
g2.append('EXPERIMENTABORTED\tTOGGLE\tF\tExperiment Aborted')
with open('gamry-drift.DTA', 'wb') as fp:
    fp.write(('\r\n'.join(g2) + '\r\n').encode('latin-1'))
expect('gamry-drift.DTA', [S[0], [(f, a2, b2) for (f, a, b), (f2, a2, b2) in zip(S[0], S[1])]])
# UTF-16 little endian with a byte order mark (as Windows tools save)
text = "Frequency\tZ'\tZ''\r\n" + ''.join('%s\t%s\t%s\r\n' % (g(f), g(a), g(b)) for f, a, b in s)
with open('utf16.txt', 'wb') as fp:
    fp.write(b'\xff\xfe' + text.encode('utf-16-le'))
expect('utf16.txt', [s])

# Ivium .idf: a binary preamble, key=value lines, the data object
# primary_data (column count, point count, rows "Z' Z'' f")
def ivium_obj(sp):
    return ['primary_data    ', '3         ', '%-10d' % len(sp)] + ['%s  %s\t%s ' % (g(a), g(b), g(f)) for f, a, b in sp]
iv = ['Peaks=false', 'Corrosion=false', 'Solarcell=false', 'Title=Test', 'E start=0', 'Mconfig=0',
      '2         ', 'Data Objects    ', '0         '] + ivium_obj(S[0])
with open('ivium.idf', 'wb') as fp:
    fp.write(b'\x00' * 16 + b'H\x00\x00\x00\r\n' + ('\r\n'.join(iv) + '\r\n').encode('latin-1') + b'\x00\x00\x00\x00\r\n')
expect('ivium.idf', [S[0]])
# Ivium .ids: two measurements, each with an osc_data object of 3-column
# rows after its primary_data (not impedance: must not be read)
ids = []
for k, sp in enumerate((S[1], S[2])):
    ids += ['Title=Sequence %d' % (k + 1), 'Mconfig=0', '2         ', 'Data Objects    ', '0         '] + ivium_obj(sp)
    ids += ['7         ', 'osc_data        ', '2         ', '3         ', '3         ',
            '1.00000E+05  4.11584E-05  3.71661E-04 ', '0.00000E+00  1.04066E-04  6.38828E-03 ', '-1.64831E-03 1.73638E-04  1.35711E-02 ']
with open('ivium-seq.ids', 'wb') as fp:
    fp.write(b'\x00' * 8 + ('\n'.join(ids) + '\n').encode('latin-1') + b'\x00\x00\x00\x00\n')
expect('ivium-seq.ids', [S[1], S[2]])
# PalmSens .pssession: UTF-16 LE JSON with a byte order mark (and another
# after the object, as PSTrace writes it); a cyclic voltammetry measurement
# (skipped), then two EIS ones; ZIm holds -Z''; the keys of one data array
# in another order
def pss_arr(unit, q, vals, values_first=False):
    u = '"Unit":{"Type":"PalmSens.Units.%s","S":"x","Q":"%s","A":"Z"}' % (unit, q)
    dv = '"DataValues":[%s]' % ','.join('{"V":%s}' % g(v) for v in vals)
    parts = [dv, u] if values_first else [u, dv]
    return '{"Type":"PalmSens.Data.DataArray","ArrayType":5,"Description":"%s",%s}' % (unit, ','.join(parts))
def pss_eis(title, sp, swap=False):
    arrs = [pss_arr('Time', 't', [0.0] * len(sp)),
            pss_arr('Hertz', 'Frequency', [f for f, a, b in sp], swap),
            pss_arr('ZRe', "Z'", [a for f, a, b in sp]),
            pss_arr('ZIm', "-Z''", [-b for f, a, b in sp], swap),
            pss_arr('Z', 'Z', [abs(complex(a, b)) for f, a, b in sp])]
    return '{"Title":"%s","TimeStamp":638283198250000000,"DataSet":{"Type":"PalmSens.Data.DataSetEIS","Values":[%s]},"Curves":[]}' % (title, ','.join(arrs))
cv = '{"Title":"CV","DataSet":{"Type":"PalmSens.Data.DataSet","Values":[%s]}}' % pss_arr('Volt', 'E', [0.1, 0.2])
js = '{"Type":"PalmSens.DataFiles.SessionFile","CoreVersion":"5.9.4515.26368","MethodForMeasurement":"#PSTrace\\r\\nMETHOD_ID=eis\\r\\n","Measurements":[%s,%s,%s]}' % (cv, pss_eis('EIS 1', S[0]), pss_eis('EIS 2 \\"quoted\\" \u03a9', S[2], True))
with open('palmsens.pssession', 'wb') as fp:
    fp.write(b'\xff\xfe' + js.encode('utf-16-le') + '\ufeff'.encode('utf-16-le'))
expect('palmsens.pssession', [S[0], S[2]])
# Autolab .dfr: VERSION, the point count, 1, then nine lines a point:
# f, Z', -Z'', Edc, Idc, time and three more
dfr = ['VERSION8.0', ' %d' % len(S[1]), ' 1']
for f, a, b in S[1]:
    dfr += [' ' + g(f), ' ' + g(a), ' ' + g(-b)] + [' 0.0'] * 6
write('autolab.dfr', '\r\n'.join(dfr) + '\r\n')
expect('autolab.dfr', [S[1]])
# .P00: free text, tab-separated names, the point count, rows
p00 = ['Procedure : a test cell', 'DD.MM.YYYY HH:MM:SS - DD.MM.YYYY HH:MM:SS i(init)= 183.1nA - i(end)= 7.88nA',
       'Description', 't =  736.4 s', " f/Hz       \t Z'/Ohm     \t -Z''/Ohm   \t time/s    \t Edc/V     \t Idc/A     \t",
       ' %d ' % len(S[2])]
p00 += [' %s\t %s\t %s\t 59.3\t 0.30981\t 1.8311e-07\t' % (g(f), g(a), g(-b)) for f, a, b in S[2]]
write('parstat.P00', '\r\n'.join(p00) + '\r\n')
expect('parstat.P00', [S[2]])
# Elchemea .i2b: metadata lines, a blank line, the point count, rows f Z' Z''
i2b = ['Some metadata', 'of the cell', 'in the first', 'few lines', '', '%d' % len(S[0])]
i2b += ['%s %s %s' % (g(f), g(a), g(b)) for f, a, b in S[0]]
write('elchemea.i2b', '\n'.join(i2b) + '\n')
expect('elchemea.i2b', [S[0]])

# broken files: NAME.error holds a part of the message
def broken(name, text, msg):
    write(name, text)
    write(name + '.error', msg + '\n')
broken('broken-number.csv', "f,Z',Z''\n1000,10,-5\n100,10,abc\n", ":3: text: expected a number in column 3 (Z''), found 'abc'")
broken('broken-columns.csv', "1000,10,-5\n100,10\n", ":2: text: 2 columns, expected 3")
broken('broken-freq.csv', "f,Z',Z''\n1000,10,-5\n-100,10,-3\n", ":3: text: expected a frequency > 0 in column 1")
broken('broken-gamry.DTA', "EXPLAIN\r\nTAG\tEISPOT\r\nZCURVE\tTABLE\r\n\tPt\tTime\tFreq\tZreal\tZimag\r\n\t#\ts\tHz\tohm\tohm\r\n\t0\t1\t1000\t10\t-5\r\n\t1\t2\t100\t10\r\n", ":7: gamry ZCURVE: 5 columns, expected 6 (Z'' in column 6)")
broken('broken-mpt.mpt', "EC-Lab ASCII FILE\nNb header lines : 40\n\nPEIS\n", "biologic: the file ends inside its 40 header lines")
broken('broken-ivium.idf', "Title=x\r\nprimary_data\r\n3\r\n3\r\n10 -1\t1000\r\n11 -2\t100\r\n", ":6: ivium: primary_data (line 4) counts 3 points, found 2")
broken('broken-dfr.dfr', "VERSION8.0\n2\n1\n1000\n10\n5\n0\n0\n0\n0\n0\n0\n100\n1O\n", ":14: dfr: expected a number (Z' of point 2)")
broken('broken-palmsens.pssession', '{"Type":"PalmSens.DataFiles.SessionFile","Measurements":[{"DataSet":{"Type":"PalmSens.Data.DataSetEIS","Values":[{"Unit":', ":1: palmsens: invalid JSON at column 122: expected a value")
broken('broken-p00.P00', "Procedure\n f/Hz\t Z'/Ohm\t -Z''/Ohm\t\n 3\n 1000\t 10\t 5\t\n 100\t 10\t x\t\n 10\t 10\t 1\t\n", ":5: p00: expected a number in column 3 (-Z''), found 'x'")
broken('broken-elchemea.i2b', "metadata\n\n4\n1000 10 -5\n100 10 -6\n", "i2b: the count (line 3) says 4 points, found 2")
